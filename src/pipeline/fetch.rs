//! Step 4: values, baseline values and chart series of every service from its sources, and the
//! diagnosis of empty answers (no such entity vs no traffic).

use super::emit;
use super::inputs::{Inputs, check_token, fatal_message};
use super::windows::Windows;
use super::{Job, Stop, usage};
use crate::plan::Plan;
use crate::report::json::Series;
use crate::source::dynatrace;
use crate::source::http::Client;
use crate::source::preflight;
use crate::source::{self, Failure, Fatal, Fetched, Sources};
use crate::ui::stderr;
use crate::window::TimeWindow;
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::time::Instant;

/// What a service's evaluation fetched.
pub(crate) struct Fetch {
    pub(crate) values: Vec<Fetched>,
    pub(crate) baseline: Option<Vec<Fetched>>,
    pub(crate) series: Vec<Series>,
    /// Per-minute data for the statistical judge (empty unless it judges this service).
    pub(crate) minutes: super::minutes::Judged,
}

/// Values, baseline values and chart series of every service, all at once.
pub(crate) async fn fetch_all(
    sources: &Sources<'_>,
    plans: &[Plan],
    windows: &[Windows],
    charts: bool,
    judged: &[bool],
) -> Result<Vec<Fetch>, Fatal> {
    let jobs = plans
        .iter()
        .zip(windows)
        .zip(judged)
        .map(|((plan, w), judged)| async move {
            // A dashboard's SLIs come from its tiles, processed for each window.
            let values_for = |window: crate::window::TimeWindow| async move {
                match crate::dashboard::engine::values(
                    sources.dynatrace,
                    plan,
                    window.as_query_window(),
                )
                .await
                {
                    Some(v) => v,
                    None => source::fetch(sources, &plan.slis, window).await,
                }
            };
            let values = values_for(w.eval);
            let baseline = async {
                match (&w.baseline, &plan.control) {
                    // A canary gate: the control's SLIs over the same window.
                    (Some(b), Some(c)) => source::fetch(sources, &c.slis, *b).await.map(Some),
                    (Some(b), None) => values_for(*b).await.map(Some),
                    (None, _) => Ok(None),
                }
            };
            let series = async {
                if !charts {
                    return Ok(Vec::new());
                }
                let from = w.baseline.map(|b| b.from).unwrap_or(w.eval.from);
                let span = TimeWindow {
                    from,
                    to: w.eval.to,
                };
                Ok(source::fetch_series(sources, &plan.slis, span, w.eval)
                    .await?
                    .into_iter()
                    .flatten()
                    .collect())
            };
            let minutes = async {
                match (&w.baseline, judged, &plan.control) {
                    (Some(_), true, Some(c)) => {
                        super::minutes::fetch_paired(sources.dynatrace, plan, c, &w.eval).await
                    }
                    (Some(b), true, None) => {
                        super::minutes::fetch(sources.dynatrace, plan, b, &w.eval).await
                    }
                    _ => Ok(Default::default()),
                }
            };
            let (values, baseline, series, minutes) =
                tokio::join!(values, baseline, series, minutes);
            Ok::<Fetch, Fatal>(Fetch {
                values: values?,
                baseline: baseline?,
                series: series?,
                minutes: minutes?,
            })
        });
    join_all(jobs).await.into_iter().collect()
}

/// The metric selector of a metrics query (the plain, MV2 and legacy forms).
pub(crate) fn metric_selector_of(q: &crate::query::SliQuery) -> Option<String> {
    use crate::query::SliQuery;
    match q {
        SliQuery::Metrics(m) | SliQuery::Mv2 { metrics: m, .. } => Some(m.metric_selector.clone()),
        _ => None,
    }
}

/// What the entities API said about an SLI whose query returned no series.
pub(crate) enum Diagnosis {
    /// Nothing matches the selector: a wrong selection, not a verdict.
    NoEntity {
        selector: String,
        closest: Vec<String>,
    },
    /// The entity exists; it sent no data in the window.
    NoData,
}

/// For each plan, the SLIs whose metric query returned no series, with what the entities API
/// says about their entity selector (one request per distinct selector, concurrently).
pub(crate) async fn diagnose_empty(
    client: &Client,
    plans: &[Plan],
    windows: &[Windows],
    fetched: &[Fetch],
) -> Vec<BTreeMap<String, Diagnosis>> {
    use crate::query::SliQuery;
    use crate::source::entities::{self, Matched};
    let jobs = plans
        .iter()
        .zip(windows)
        .zip(fetched)
        .map(|((plan, w), f)| async move {
            let mut asked: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for v in &f.values {
                let empty = v.failure == Some(Failure::NoData)
                    && v.value.message.contains("returned zero metric series");
                let sli = plan.slis.iter().find(|s| s.name == v.value.metric);
                let selector = sli.and_then(|s| match &s.parsed {
                    Ok(SliQuery::Metrics(m) | SliQuery::Mv2 { metrics: m, .. }) => {
                        m.entity_selector.clone()
                    }
                    _ => None,
                });
                if let (true, Some(sel)) = (empty, selector) {
                    asked.entry(sel).or_default().push(v.value.metric.clone());
                }
            }
            let q = w.eval.as_query_window();
            let answers = join_all(asked.keys().map(|sel| {
                entities::matched(client, sel, plan.service.as_deref(), q.from_ms, q.to_ms)
            }))
            .await;
            let mut out = BTreeMap::new();
            for ((sel, names), answer) in asked.iter().zip(answers) {
                for name in names {
                    let d = match &answer {
                        Matched::Some => Diagnosis::NoData,
                        Matched::None { closest } => Diagnosis::NoEntity {
                            selector: sel.clone(),
                            closest: closest.clone(),
                        },
                        Matched::Unknown => continue,
                    };
                    out.insert(name.clone(), d);
                }
            }
            out
        });
    join_all(jobs).await
}

/// Everything the scoring step reads.
pub(crate) struct Gathered {
    pub(crate) per_plan: Vec<Fetch>,
    /// Units of metric selectors whose query states none, from the descriptors.
    pub(crate) units: BTreeMap<String, String>,
    /// Per plan, what the entities API said about SLIs that returned no series.
    pub(crate) diagnoses: Vec<BTreeMap<String, Diagnosis>>,
    pub(crate) millis: u64,
    /// Per plan, the problems and change events in its windows.
    pub(crate) context: super::context::Found,
}

/// Values, baselines, series and units of every service at once, with the token check beside
/// them when it has not run yet (its verdict on URL and token comes first).
pub(crate) fn everything(
    job: &Job<'_>,
    inputs: &Inputs,
    windows: &[Windows],
    scopes: &[&'static str],
    checked: Option<preflight::Checked>,
    pushes: bool,
    rt: &tokio::runtime::Runtime,
) -> Result<Gathered, Stop> {
    let (plans, client, conn) = (&inputs.plans, &inputs.client, &inputs.conn);
    let charts = emit::wants_charts(job.output);
    if !charts {
        crate::verbose::skipped(
            "the chart series",
            "only the HTML report draws them (--report-dir or --format html)",
        );
    }
    let sources = Sources {
        dynatrace: client,
        prometheus: inputs.prometheus.as_ref().map(|(_, c)| c),
    };
    let started = Instant::now();
    // What the token check found, for the context requests still waiting to be sent.
    let known = std::sync::OnceLock::new();
    let (fetched, units, checked, context) = rt.block_on(async {
        let check = async {
            let c = match checked {
                Some(c) => Ok(c),
                None => check_token(inputs, scopes).await,
            };
            if let Ok(c) = &c {
                let _ = known.set(c.clone());
            }
            c
        };
        // Units where the query does not state them, from the descriptors: asked beside the
        // values in the same concurrent step, whatever the output, so the same gate prints the
        // same thing with or without a report folder.
        let units = async {
            if conn.token.is_none() {
                return BTreeMap::new();
            }
            let selectors: Vec<String> = plans
                .iter()
                .flat_map(|p| &p.slis)
                .filter_map(|s| s.parsed.as_ref().ok())
                .filter(|q| crate::query::stated_unit(q).is_none())
                .filter_map(metric_selector_of)
                .collect();
            dynatrace::units(client, &selectors).await
        };
        // The statistical judge's per-minute data, for the services it judges.
        let judged: Vec<bool> = plans
            .iter()
            .map(|p| job.judge_of(p) == crate::judge::JudgeMode::Statistical)
            .collect();
        tokio::join!(
            fetch_all(&sources, plans, windows, charts, &judged),
            units,
            check,
            super::context::fetch(inputs, windows, &known, job.source.concurrency)
        )
    });
    let checked = checked?;
    super::context::preflight_notes(&checked, plans, &conn.token_env);
    if pushes && !checked.allows(preflight::EVENTS_INGEST) {
        stderr(&format!(
            "warning: the token in {} lacks events.ingest: the verdict will be evaluated but cannot be sent to Dynatrace\n",
            conn.token_env
        ));
    }
    let per_plan = match fetched {
        Ok(f) => f,
        Err(fatal @ Fatal::Auth { .. }) => {
            return Err(Stop::CouldNot(fatal_message(&fatal, conn)));
        }
        Err(Fatal::MissingToken(m)) => {
            return Err(Stop::Invalid(usage(m, "see docs/token-scopes.md")));
        }
    };
    let millis = started.elapsed().as_millis() as u64;
    // "No such service" or "no traffic"? Asked only when a query returned no series at all.
    let diagnoses = if conn.token.is_some() && checked.allows(preflight::ENTITIES) {
        rt.block_on(diagnose_empty(client, plans, windows, &per_plan))
    } else {
        if conn.token.is_some() {
            crate::verbose::skipped(
                "the entity lookup behind empty answers",
                "the token lacks entities.read",
            );
        }
        plans.iter().map(|_| BTreeMap::new()).collect()
    };
    Ok(Gathered {
        per_plan,
        units,
        diagnoses,
        millis,
        context,
    })
}
