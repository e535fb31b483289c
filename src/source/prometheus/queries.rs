//! Which PromQL an SLI name stands for, as Keptn's prometheus-service 0.9.1 decided
//! (reference §1–§3): a non-empty entry of the merged `prometheus/sli.yaml`, else one of the five
//! built-in SLIs, else nothing; and the placeholders of a custom query.
//!
//! `$DURATION_SECONDS` is filled last, per window, when the request is built (see
//! [`super::api::fill_duration`]): the same SLI is asked for the evaluation window and the
//! baseline window.

use std::collections::BTreeMap;

/// The names prometheus-service answered without any `sli.yaml`.
pub const BUILT_IN: &[&str] = &[
    "throughput",
    "error_rate",
    "response_time_p50",
    "response_time_p90",
    "response_time_p95",
];

/// The placeholder of the window length, filled per window.
pub use crate::query::promql::DURATION;

/// What the placeholders are filled with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub project: String,
    pub stage: String,
    pub service: String,
    /// `--deployment` (Keptn: the first deployment name of the evaluation event).
    pub deployment: String,
    pub labels: BTreeMap<String, String>,
    /// The SLO's `filter:` map (Keptn's customFilters), in file order.
    pub filters: Vec<(String, String)>,
}

impl Context {
    /// `$DEPLOYMENT`: the label `deployment` if there is one, else the deployment, else
    /// `primary` (prometheus-service since 0.8.5).
    pub fn deployment(&self) -> &str {
        if let Some(d) = self.labels.get("deployment") {
            return d;
        }
        if self.deployment.is_empty() {
            "primary"
        } else {
            &self.deployment
        }
    }
}

/// Where an SLI's query comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A `prometheus/sli.yaml` entry (the query as written).
    File,
    /// One of the five built-in SLIs.
    BuiltIn,
}

/// The query of one SLI with every placeholder but `$DURATION_SECONDS` filled, or why there is
/// none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    pub query: Result<(String, Origin), String>,
}

/// The message of an SLI that is neither defined nor built in (upstream: "unable to get metriy
/// query: unsupported SLI").
pub fn unsupported(name: &str) -> String {
    format!(
        "unsupported SLI: `{name}` is not defined in any prometheus/sli.yaml and is not one of the built-in SLIs ({})",
        BUILT_IN.join(", ")
    )
}

/// Upstream's lookup: a non-empty definition wins, an empty or missing one falls back to the
/// built-in query of that name (even beside a custom file), else the SLI is unsupported.
pub fn resolve(name: &str, defined: Option<&str>, ctx: &Context) -> Resolved {
    let query = match defined.filter(|q| !q.is_empty()) {
        Some(q) => Ok((substitute(q, ctx), Origin::File)),
        None => match built_in(name, ctx) {
            Some(q) => Ok((q, Origin::BuiltIn)),
            None => Err(unsupported(name)),
        },
    };
    Resolved {
        name: name.to_string(),
        query,
    }
}

/// The label matchers of the built-in queries: `job='<service>-<project>-<stage>-canary'`
/// (always `-canary`), then each filter; a filter `job` replaces the job matcher.
pub fn matchers(ctx: &Context) -> String {
    let mut job = Some(format!(
        "job='{}-{}-{}-canary'",
        ctx.service, ctx.project, ctx.stage
    ));
    let mut rest = Vec::new();
    for (key, value) in &ctx.filters {
        let m = matcher(key, value);
        if key == "job" {
            job = Some(m);
        } else {
            rest.push(m);
        }
    }
    job.into_iter().chain(rest).collect::<Vec<_>>().join(",")
}

/// One filter as a matcher: a value starting with an operator keeps it (`"` becoming `'`),
/// any other value loses its quotes and is compared with `=`.
fn matcher(key: &str, value: &str) -> String {
    const OPERATORS: &[&str] = &["!=", "=~", "!~", "="];
    if OPERATORS.iter().any(|op| value.starts_with(op)) {
        format!("{key}{}", value.replace('"', "'"))
    } else {
        format!("{key}='{}'", value.replace(['\'', '"'], ""))
    }
}

/// The built-in query of `name`, with `$DURATION_SECONDS` for the range.
pub fn built_in(name: &str, ctx: &Context) -> Option<String> {
    let f = matchers(ctx);
    let rate = |extra: &str| format!("sum(rate(http_requests_total{{{f}{extra}}}[{DURATION}]))");
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q},sum(rate(http_response_time_milliseconds_bucket{{{f}}}[{DURATION}]))by(le))"
        )
    };
    Some(match name {
        "throughput" => rate(""),
        "error_rate" => format!("{}/{}", rate(",status!~'2..'"), rate("")),
        "response_time_p50" => quantile("0.50"),
        "response_time_p90" => quantile("0.90"),
        "response_time_p95" => quantile("0.95"),
        _ => return None,
    })
}

/// Upstream's `replaceQueryParameters` without the last step: plain replace-all in its order.
/// 1. each filter: its value without `'` and `"` replaces `$<key>` and `$<KEY>`;
/// 2. `$PROJECT`, `$STAGE`, `$SERVICE`, `$DEPLOYMENT`;
/// 3. `$LABEL.<key>` for each label (in key order; a key that is a prefix of another rewrites
///    the start of the longer placeholder, as upstream did).
///
/// Lower-case `$project`, `$CONTEXT`, `$ENV.*` and unknown labels stay as written.
pub fn substitute(query: &str, ctx: &Context) -> String {
    let mut s = query.to_string();
    for (key, value) in &ctx.filters {
        let value = value.replace(['\'', '"'], "");
        s = s.replace(&format!("${key}"), &value);
        s = s.replace(&format!("${}", key.to_uppercase()), &value);
    }
    for (placeholder, value) in [
        ("$PROJECT", ctx.project.as_str()),
        ("$STAGE", ctx.stage.as_str()),
        ("$SERVICE", ctx.service.as_str()),
        ("$DEPLOYMENT", ctx.deployment()),
    ] {
        s = s.replace(placeholder, value);
    }
    for (key, value) in &ctx.labels {
        s = s.replace(&format!("$LABEL.{key}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            project: "sockshop".into(),
            stage: "staging".into(),
            service: "carts".into(),
            ..Default::default()
        }
    }

    #[test]
    fn built_in_queries_are_upstreams_text() {
        let c = ctx();
        assert_eq!(
            built_in("throughput", &c).unwrap(),
            "sum(rate(http_requests_total{job='carts-sockshop-staging-canary'}[$DURATION_SECONDS]))"
        );
        assert_eq!(
            built_in("error_rate", &c).unwrap(),
            "sum(rate(http_requests_total{job='carts-sockshop-staging-canary',status!~'2..'}[$DURATION_SECONDS]))/sum(rate(http_requests_total{job='carts-sockshop-staging-canary'}[$DURATION_SECONDS]))"
        );
        assert_eq!(
            built_in("response_time_p90", &c).unwrap(),
            "histogram_quantile(0.90,sum(rate(http_response_time_milliseconds_bucket{job='carts-sockshop-staging-canary'}[$DURATION_SECONDS]))by(le))"
        );
        assert_eq!(built_in("availability", &c), None);
    }

    #[test]
    fn filters_become_matchers() {
        let mut c = ctx();
        c.filters = vec![
            ("handler".into(), "\"ItemsController.addToCart\"".into()),
            ("method".into(), "!=\"GET\"".into()),
            ("path".into(), "=~'.+Items|.+Version'".into()),
        ];
        assert_eq!(
            matchers(&c),
            "job='carts-sockshop-staging-canary',handler='ItemsController.addToCart',method!='GET',path=~'.+Items|.+Version'"
        );
        c.filters = vec![("job".into(), "carts-primary".into())];
        assert_eq!(matchers(&c), "job='carts-primary'");
    }

    #[test]
    fn placeholders_in_upstreams_order() {
        let mut c = ctx();
        c.filters = vec![("stage".into(), "'prod-eu'".into())];
        c.labels.insert("app".into(), "carts".into());
        assert_eq!(
            substitute(
                "up{s=\"$STAGE\",a=\"$LABEL.app\",v=\"$LABEL.app_version\",p=\"$project\",d=\"$DEPLOYMENT\",x=\"$LABEL.missing\"}[$DURATION_SECONDS]",
                &c
            ),
            "up{s=\"prod-eu\",a=\"carts\",v=\"carts_version\",p=\"$project\",d=\"primary\",x=\"$LABEL.missing\"}[$DURATION_SECONDS]"
        );
    }

    #[test]
    fn deployment_label_wins_then_deployment_then_primary() {
        let mut c = ctx();
        assert_eq!(c.deployment(), "primary");
        c.deployment = "canary".into();
        assert_eq!(c.deployment(), "canary");
        c.labels.insert("deployment".into(), "blue".into());
        assert_eq!(c.deployment(), "blue");
    }

    #[test]
    fn lookup_falls_back_to_built_in_only_for_empty_definitions() {
        let c = ctx();
        assert_eq!(
            resolve("throughput", Some(""), &c).query.unwrap().1,
            Origin::BuiltIn
        );
        assert_eq!(
            resolve("throughput", Some("up"), &c).query.unwrap(),
            ("up".to_string(), Origin::File)
        );
        let e = resolve("availability", None, &c).query.unwrap_err();
        assert!(e.starts_with("unsupported SLI: `availability`"), "{e}");
    }
}
