//! Checks of Prometheus SLIs (`prometheus/sli.yaml`, or a plain `sli.yaml` whose source is
//! Prometheus): PromQL that Prometheus would reject, and placeholders prometheus-service never
//! replaced. Warnings: prometheus-service read such files, and the SLI fails at evaluation.

use crate::diag::{Origin, Problem};
use crate::model::placeholder;
use crate::model::sli::Indicator;
use crate::source::prometheus::{promql, queries};

/// What prometheus-service replaced (reference §3), besides `$LABEL.<key>` and filter keys.
const KNOWN: &[&str] = &[
    "PROJECT",
    "STAGE",
    "SERVICE",
    "DEPLOYMENT",
    "DURATION_SECONDS",
];

fn known(name: &str, filter_keys: &[String]) -> bool {
    KNOWN.contains(&name)
        || name.strip_prefix("LABEL.").is_some_and(|k| !k.is_empty())
        || filter_keys
            .iter()
            .any(|k| k == name || k.to_uppercase() == name)
}

/// The part of the query's origin that spells `token`, else the whole query.
fn pointing_at(origin: &Origin, token: &str) -> Origin {
    match origin.snippet().find(token) {
        Some(at) => {
            let start = origin.span.start + at;
            Origin::new(&origin.file, start..start + token.len())
        }
        None => origin.clone(),
    }
}

/// Checks the Prometheus SLIs of one file.
pub fn check(indicators: &[Indicator], filter_keys: &[String]) -> Vec<Problem> {
    let mut out = Vec::new();
    for ind in indicators {
        let q = &ind.query;
        let name = &ind.name.value;
        if q.value.trim().is_empty() {
            if !queries::BUILT_IN.contains(&name.as_str()) {
                out.push(
                    Problem::warning(
                        "slogate::empty-query",
                        &ind.name.origin,
                        format!("SLI `{name}` has no query and is not a built-in SLI"),
                    )
                    .label("no query")
                    .help(format!(
                        "write its PromQL after the colon; only {} fall back to a built-in query",
                        queries::BUILT_IN.join(", ")
                    )),
                );
            }
            continue;
        }
        for occ in placeholder::scan(&q.value) {
            if known(&occ.name, filter_keys) {
                continue;
            }
            let token = &q.value[occ.start..occ.end];
            let upper = occ.name.to_uppercase();
            let help = if KNOWN.contains(&upper.as_str()) {
                format!(
                    "prometheus-service replaces only upper-case placeholders (since 0.7.3); write `${upper}`"
                )
            } else {
                format!(
                    "prometheus-service replaces ${}, $LABEL.<key> and `$<key>` for keys of the SLO's `filter`; `{token}` is sent as written",
                    KNOWN.join(", $")
                )
            };
            out.push(
                Problem::warning(
                    "slogate::unknown-placeholder",
                    &pointing_at(&q.origin, token),
                    format!("placeholder `{token}` in SLI `{name}` is not replaced"),
                )
                .label("sent to Prometheus as written")
                .help(help),
            );
        }
        // `BURN;` becomes one PromQL query: check that query.
        let text = match crate::query::burn::expand_promql(&q.value) {
            Ok(t) => t,
            Err(reason) => {
                out.push(
                    Problem::error(
                        "slogate::bad-query",
                        &q.origin,
                        format!("SLI `{name}` cannot be turned into a request: {reason}"),
                    )
                    .label("slogate cannot read this query")
                    .help("write BURN;target=99.9;short=5m;long=1h;bad=<PromQL>;total=<PromQL> (docs/slo-reference.md#burn-rates)"),
                );
                continue;
            }
        };
        if let Some(reason) = promql::check(&text) {
            out.push(
                Problem::warning(
                    "slogate::bad-promql",
                    &q.origin,
                    format!("Prometheus rejects the query of SLI `{name}`: {reason}"),
                )
                .label("this SLI fails at every evaluation")
                .help("fix the PromQL; try it in Prometheus' expression browser with $DURATION_SECONDS replaced by a range such as 30m"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;
    use crate::source::prometheus::files;

    fn problems(text: &str, keys: &[&str]) -> Vec<Problem> {
        let f = files::parse(SourceFile::new("prometheus/sli.yaml", text), vec![]);
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        check(f.value.indicators.as_deref().unwrap_or(&[]), &keys)
    }

    #[test]
    fn good_files_are_quiet() {
        let p = problems(
            "indicators:\n  a: sum(rate(x{job=\"$SERVICE-$PROJECT-$STAGE-$DEPLOYMENT\",h=\"$handler\",l=\"$LABEL.v\"}[$DURATION_SECONDS]))\n  throughput: ''\n",
            &["handler"],
        );
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn rejected_promql_is_a_warning_at_its_line() {
        let p = problems(
            "indicators:\n  ok: sum(up)\n  bad: sum(irate(x{a=\"b\"}))\n",
            &[],
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].code, "slogate::bad-promql");
        assert!(!p[0].is_error());
        assert_eq!(
            p[0].origin.as_ref().unwrap().location(),
            "prometheus/sli.yaml:3:8"
        );
        assert!(p[0].message.contains("irate"), "{}", p[0].message);
    }

    #[test]
    fn lower_case_and_unknown_placeholders() {
        let p = problems(
            "indicators:\n  a: up{s=\"$service\",c=\"$CONTEXT\"}\n  b: ''\n",
            &[],
        );
        let codes: Vec<&str> = p.iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "slogate::unknown-placeholder",
                "slogate::unknown-placeholder",
                "slogate::empty-query"
            ]
        );
        assert!(p[0].help.as_deref().unwrap().contains("`$SERVICE`"));
    }
}
