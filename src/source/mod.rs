//! Data sources behind one seam: each SLI names its [`SourceKind`], and [`fetch`] sends every SLI
//! of a window to its source and hands the values back in the plan's order, in one result type
//! ([`Fetched`]) whatever the source. The HTTP layer (retries, timeouts, concurrency, secrets) is
//! shared. Why an enum and not a trait: docs/decisions.md, "Source seam".

pub mod context;
pub mod dynatrace;
pub mod entities;
pub mod events;
pub mod http;
pub mod limit;
pub mod preflight;
pub mod prometheus;
pub mod retry;
pub mod secret;

use futures_util::future::join_all;

use crate::eval::SliValue;
use crate::query::SliQuery;
use crate::report::json::Series;
use crate::window::TimeWindow;
use http::Client;

/// The data source an SLI's query is sent to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    #[default]
    Dynatrace,
    Prometheus,
}

impl SourceKind {
    pub const ALL: [SourceKind; 2] = [SourceKind::Dynatrace, SourceKind::Prometheus];

    /// The name used in reports, `slogate.yaml` and lint output.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Dynatrace => "dynatrace",
            SourceKind::Prometheus => "prometheus",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The connected sources of one run (Prometheus only when configured).
pub struct Sources<'a> {
    pub dynatrace: &'a Client,
    pub prometheus: Option<&'a Client>,
}

/// The Prometheus SLIs of a source group, in the Prometheus source's terms.
fn promql(own: &[Sli]) -> Vec<prometheus::PromSli> {
    own.iter()
        .map(|s| prometheus::PromSli {
            name: s.name.clone(),
            query: match &s.parsed {
                Ok(SliQuery::Promql { query }) => Ok(query.clone()),
                Ok(_) => Err("internal error: a Dynatrace query for the Prometheus source".into()),
                Err(m) => Err(m.clone()),
            },
        })
        .collect()
}

/// Every SLI failed the same way: the source is not configured.
fn unconfigured(own: &[Sli], message: &str) -> Vec<Fetched> {
    own.iter()
        .map(|s| Fetched {
            value: SliValue {
                metric: s.name.clone(),
                value: Some(0.0),
                success: false,
                message: message.to_string(),
            },
            failure: Some(Failure::Unavailable),
            query: None,
        })
        .collect()
}

const NO_PROMETHEUS: &str = "no Prometheus server configured: set PROMETHEUS_URL or `prometheus: {url: ...}` in slogate.yaml";

/// One indicator to fetch: its name, the query after placeholder substitution, and its parse.
#[derive(Clone, Debug)]
pub struct Sli {
    pub name: String,
    pub text: String,
    /// Where the query goes; its text and parse are in that source's language.
    pub source: SourceKind,
    pub parsed: Result<SliQuery, String>,
}

/// Why an indicator has no value, in Keptn's two classes plus the one slogate adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The API answered, but not with exactly one value (Keptn: a "warning" result).
    NoData,
    /// The API could not turn the answer into a value for this SLI (an SLO that reports an
    /// error, a descriptor without aggregations, a 4xx other than 400 and 404) (Keptn: "fail").
    Query,
    /// The SLI is wrong in the configuration: it is defined nowhere, does not parse, or the
    /// source rejected the query as malformed (HTTP 400, a PromQL parse error) (Keptn: "fail").
    /// A typo is no verdict about the release: the outcome is `invalid` (exit 2).
    Invalid,
    /// The source could not be reached, or kept failing (5xx, 429) past the retries: the
    /// evaluation itself could not be done (exit 3).
    Unavailable,
    /// The API answered 404: the metric, SLO or entity the SLI names does not exist (Keptn:
    /// "fail"). A wrong selection is no verdict about the release: could not evaluate.
    Missing,
}

/// The value of one indicator and the request behind it.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched {
    pub value: SliValue,
    pub failure: Option<Failure>,
    /// `GET /api/v2/...?...`: the final request on success, the first one on failure; `None`
    /// when the SLI could not even be parsed.
    pub query: Option<String>,
}

/// Problems that stop the whole evaluation (exit 3): the token was refused or is missing.
#[derive(Clone, Debug, PartialEq)]
pub enum Fatal {
    Auth { status: u16, message: String },
    MissingToken(String),
}

/// A value every source reports the same way.
pub(crate) fn succeeded(name: &str, value: f64, message: String) -> SliValue {
    SliValue {
        metric: name.to_string(),
        value: Some(value),
        success: true,
        message,
    }
}

/// How a value the source answered with warnings says so in its message, in every source:
/// Keptn's dynatrace-service form, `Warnings: a, b` (empty without warnings).
pub(crate) fn warnings_message(warnings: &[String]) -> String {
    if warnings.is_empty() {
        String::new()
    } else {
        format!("{WARNINGS}{}", warnings.join(", "))
    }
}

const WARNINGS: &str = "Warnings: ";

/// The warnings a successful value came with (partial data, a truncated answer), if any.
pub fn warnings_of(v: &SliValue) -> Option<&str> {
    v.message
        .strip_prefix(WARNINGS)
        .filter(|w| v.success && !w.is_empty())
}

/// A failed value: 0 with the reason, as Keptn reported it.
pub(crate) fn failed(name: &str, message: String) -> SliValue {
    SliValue {
        metric: name.to_string(),
        value: Some(0.0),
        success: false,
        message,
    }
}

/// The failure class of an HTTP status met while fetching (`None`: no answer at all): the
/// source out of reach is no verdict, a 404 is a wrong selection, a 400 a malformed query,
/// other 4xx a query the source could not answer.
pub(crate) fn classify(status: Option<u16>) -> Failure {
    match status {
        None | Some(429) | Some(500..=599) => Failure::Unavailable,
        Some(404) => Failure::Missing,
        Some(400) => Failure::Invalid,
        Some(_) => Failure::Query,
    }
}

/// The SLIs of each source, with their positions in `slis`.
fn by_source(slis: &[Sli]) -> Vec<(SourceKind, Vec<usize>, Vec<Sli>)> {
    SourceKind::ALL
        .iter()
        .filter_map(|&kind| {
            let idx: Vec<usize> = (0..slis.len())
                .filter(|&i| slis[i].source == kind)
                .collect();
            let own: Vec<Sli> = idx.iter().map(|&i| slis[i].clone()).collect();
            (!idx.is_empty()).then_some((kind, idx, own))
        })
        .collect()
}

/// Puts each source's answers back at their SLIs' positions.
fn in_plan_order<T: Clone>(len: usize, parts: Vec<(Vec<usize>, Vec<T>)>, empty: T) -> Vec<T> {
    let mut out = vec![empty; len];
    for (idx, values) in parts {
        for (i, v) in idx.into_iter().zip(values) {
            out[i] = v;
        }
    }
    out
}

/// The value of every SLI for one window, each from its own source (concurrently), in the
/// order of `slis`.
/// Dynatrace is asked in whole seconds, Prometheus to the millisecond (as upstream each).
pub async fn fetch(
    sources: &Sources<'_>,
    slis: &[Sli],
    window: TimeWindow,
) -> Result<Vec<Fetched>, Fatal> {
    let groups = by_source(slis);
    let answers = join_all(groups.iter().map(|(kind, _, own)| async move {
        match kind {
            SourceKind::Dynatrace => {
                dynatrace::fetch(sources.dynatrace, own, window.as_query_window()).await
            }
            SourceKind::Prometheus => Ok(match sources.prometheus {
                Some(c) => prometheus::fetch(c, &promql(own), window.as_precise_window()).await,
                None => unconfigured(own, NO_PROMETHEUS),
            }),
        }
    }))
    .await;
    let mut parts = Vec::new();
    for ((_, idx, _), a) in groups.into_iter().zip(answers) {
        parts.push((idx, a?));
    }
    let empty = Fetched {
        value: SliValue {
            metric: String::new(),
            value: None,
            success: false,
            message: String::new(),
        },
        failure: None,
        query: None,
    };
    Ok(in_plan_order(slis.len(), parts, empty))
}

/// Chart series of every SLI over `span`, each from its own source; `None` where a source
/// has no series for it. Failures only leave a chart out. `eval` is the evaluation window
/// (Prometheus fills `$DURATION_SECONDS` with its length, so each point is comparable to the
/// value).
pub async fn fetch_series(
    sources: &Sources<'_>,
    slis: &[Sli],
    span: TimeWindow,
    eval: TimeWindow,
) -> Result<Vec<Option<Series>>, Fatal> {
    let groups = by_source(slis);
    let answers = join_all(groups.iter().map(|(kind, _, own)| async move {
        match kind {
            SourceKind::Dynatrace => {
                let window = span.as_query_window();
                let resolution = dynatrace::chart_resolution(window);
                dynatrace::fetch_series(sources.dynatrace, own, window, &resolution).await
            }
            SourceKind::Prometheus => {
                let Some(c) = sources.prometheus else {
                    return Ok(vec![None; own.len()]);
                };
                let got = prometheus::fetch_series(
                    c,
                    &promql(own),
                    eval.as_precise_window(),
                    span.as_precise_window(),
                )
                .await;
                Ok(own
                    .iter()
                    .map(|s| got.iter().find(|g| g.metric == s.name).cloned())
                    .collect())
            }
        }
    }))
    .await;
    let mut parts = Vec::new();
    for ((_, idx, _), a) in groups.into_iter().zip(answers) {
        parts.push((idx, a?));
    }
    Ok(in_plan_order(slis.len(), parts, None))
}

/// An SLI's name and the request it sends (or why it cannot be sent).
pub type Explained = (String, Result<String, String>);

/// The request each SLI would send for `window`, without sending anything (`Err` where the
/// SLI cannot be sent), and how many requests they make after batching.
///
/// Dynatrace in whole seconds, Prometheus to the millisecond, as each is asked.
pub fn explain(slis: &[Sli], window: TimeWindow) -> (Vec<Explained>, usize) {
    let mut requests = 0;
    let mut parts = Vec::new();
    for (kind, idx, own) in by_source(slis) {
        let rows = match kind {
            SourceKind::Dynatrace => {
                let window = window.as_query_window();
                requests += dynatrace::group(&own, window).requests();
                dynatrace::plan(&own, window)
            }
            SourceKind::Prometheus => {
                let rows = prometheus::plan(&promql(&own), window.as_precise_window());
                let mut distinct: Vec<&String> =
                    rows.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
                distinct.sort();
                distinct.dedup();
                requests += distinct.len();
                rows
            }
        };
        parts.push((idx, rows));
    }
    let rows = in_plan_order(slis.len(), parts, (String::new(), Err(String::new())));
    (rows, requests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_back_in_plan_order() {
        let parts = vec![(vec![2, 0], vec!["c", "a"]), (vec![1], vec!["b"])];
        assert_eq!(in_plan_order(3, parts, "-"), vec!["a", "b", "c"]);
    }
}
