//! The statistical judge's data: per-minute series of both windows for every metric SLI with a
//! relative criterion, plus the request and error counts behind built-in service metrics, in
//! one batched round of `resolution=1m` requests over the span from three window lengths before
//! the baseline window (how windows move against each other when nothing changed) to the
//! evaluation window's end.

use std::collections::BTreeMap;

use crate::judge::{Minutes, Statistic, companion};
use crate::plan::Plan;
use crate::query::{MetricsQuery, SliQuery};
use crate::report::json::Series;
use crate::source::http::Client;
use crate::source::{Fatal, Sli, SourceKind, dynatrace};
use crate::spec::criteria::Criterion;
use crate::window::TimeWindow;

/// What the judge gets for one SLI.
pub(crate) struct SliMinutes {
    pub(crate) statistic: Statistic,
    pub(crate) before: Minutes,
    pub(crate) after: Minutes,
    /// The stretch before the deployment, ending with the baseline window.
    pub(crate) history: Minutes,
}

/// Per SLI name.
pub(crate) type Judged = BTreeMap<String, SliMinutes>;

/// Window lengths of history before the baseline window.
const HISTORY_WINDOWS: i32 = 3;

const REQUESTS: &str = "\u{1f}requests";
const EVENTS: &str = "\u{1f}events";

/// The SLIs whose objectives have a relative criterion, as metric queries.
fn judged_slis(plan: &Plan) -> Vec<(&Sli, &MetricsQuery)> {
    let relative = |name: &str| {
        plan.slo.objectives.iter().any(|o| {
            o.sli.value == name
                && o.pass
                    .iter()
                    .chain(&o.warning)
                    .flat_map(|g| &g.criteria)
                    .any(|c| Criterion::parse(&c.value).is_ok_and(|c| c.is_relative()))
        })
    };
    plan.slis
        .iter()
        .filter(|s| s.source == SourceKind::Dynatrace && relative(&s.name))
        .filter_map(|s| match &s.parsed {
            Ok(SliQuery::Metrics(m) | SliQuery::Mv2 { metrics: m, .. }) => Some((s, m)),
            _ => None,
        })
        .collect()
}

/// The SLIs to ask for at one-minute resolution: each judged SLI and its count companions.
fn requests(plan: &Plan) -> Vec<Sli> {
    let mut out = Vec::new();
    for (sli, m) in judged_slis(plan) {
        out.push(sli.clone());
        let c = companion::companions(&m.metric_selector);
        for (suffix, selector) in [(REQUESTS, c.requests), (EVENTS, c.events)] {
            if let Some(selector) = selector {
                let q = MetricsQuery {
                    metric_selector: selector,
                    resolution: None,
                    ..m.clone()
                };
                out.push(Sli {
                    name: format!("{}{suffix}", sli.name),
                    text: String::new(),
                    source: SourceKind::Dynatrace,
                    parsed: Ok(SliQuery::Metrics(q)),
                });
            }
        }
    }
    out
}

/// A resolution of whole minutes keeping the span within Dynatrace's 10,080 points a series.
fn resolution(span: &TimeWindow) -> String {
    let minutes = ((span.to - span.from).num_minutes()).max(1);
    format!("{}m", (minutes + 9_999) / 10_000)
}

/// Fetches the minutes of every judged SLI of `plan`. SLIs whose series did not come back are
/// left out: their objectives are scored by Keptn alone.
pub(crate) async fn fetch(
    client: &Client,
    plan: &Plan,
    baseline: &TimeWindow,
    eval: &TimeWindow,
) -> Result<Judged, Fatal> {
    let slis = requests(plan);
    if slis.is_empty() {
        return Ok(Judged::new());
    }
    let span = TimeWindow {
        from: history_start(baseline),
        to: eval.to,
    };
    let series =
        dynatrace::fetch_series(client, &slis, span.as_query_window(), &resolution(&span)).await?;
    let by_name: BTreeMap<&str, &Series> = slis
        .iter()
        .zip(&series)
        .filter_map(|(s, x)| x.as_ref().map(|x| (s.name.as_str(), x)))
        .collect();
    Ok(assemble(plan, &by_name, baseline, eval))
}

fn history_start(baseline: &TimeWindow) -> chrono::DateTime<chrono::Utc> {
    baseline.from - (baseline.to - baseline.from) * HISTORY_WINDOWS
}

/// Splits fetched series into the two windows (a point stamped t covers the minute before t).
fn assemble(
    plan: &Plan,
    by_name: &BTreeMap<&str, &Series>,
    baseline: &TimeWindow,
    eval: &TimeWindow,
) -> Judged {
    let mut out = Judged::new();
    for (sli, m) in judged_slis(plan) {
        let Some(own) = by_name.get(sli.name.as_str()) else {
            crate::verbose::skipped(
                &format!("the statistical judge for {}", sli.name),
                "its per-minute series did not come back (see the request above); Keptn's comparison decides",
            );
            continue;
        };
        let req = by_name.get(format!("{}{REQUESTS}", sli.name).as_str());
        let ev = by_name.get(format!("{}{EVENTS}", sli.name).as_str());
        let window = |w: &TimeWindow| Minutes {
            values: split(own, w),
            requests: req.map(|s| split(s, w)),
            events: ev.map(|s| split(s, w)),
        };
        let history = TimeWindow {
            from: history_start(baseline),
            to: baseline.to,
        };
        out.insert(
            sli.name.clone(),
            SliMinutes {
                statistic: companion::statistic(&m.metric_selector),
                before: window(baseline),
                after: window(eval),
                history: window(&history),
            },
        );
    }
    out
}

/// The values of `s` stamped within (from, to], one per minute of the window.
fn split(s: &Series, w: &TimeWindow) -> Vec<Option<f64>> {
    let (from, to) = (w.from.timestamp_millis(), w.to.timestamp_millis());
    s.timestamps
        .iter()
        .zip(&s.values)
        .filter(|(t, _)| **t > from && **t <= to)
        .map(|(_, v)| *v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn points_fall_into_their_window() {
        let t0 = Utc.timestamp_millis_opt(0).unwrap();
        let min = chrono::Duration::minutes(1);
        let baseline = TimeWindow {
            from: t0,
            to: t0 + min * 3,
        };
        let eval = TimeWindow {
            from: t0 + min * 3,
            to: t0 + min * 6,
        };
        let s = Series {
            metric: "x".into(),
            total: false,
            timestamps: (1..=6).map(|i| i * 60_000).collect(),
            values: (1..=6).map(|i| Some(i as f64)).collect(),
        };
        assert_eq!(split(&s, &baseline), [Some(1.0), Some(2.0), Some(3.0)]);
        assert_eq!(split(&s, &eval), [Some(4.0), Some(5.0), Some(6.0)]);
        assert_eq!(resolution(&baseline), "1m");
    }
}
