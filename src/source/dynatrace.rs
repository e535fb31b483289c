//! Fetching SLI values from Dynatrace the way Keptn's dynatrace-service did, only faster:
//! identical queries are sent once, metric queries that share entity selector, management zone,
//! resolution and window go out together (up to 10 selectors a request) and are split back, and
//! everything runs concurrently within the client's limit.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde_json::Value;

use crate::query::{self, MetricsQuery, SliQuery, Window, reduce, request};
use crate::source::http::{Client, Response, SendError};

pub use super::{Failure, Fatal, Fetched, Sli};
use super::{classify, failed, succeeded as ok};

const METRICS_API: &str = "Metrics API v2";

fn fatal(e: &SendError) -> Option<Fatal> {
    match e {
        SendError::Auth { status, message } => Some(Fatal::Auth {
            status: *status,
            message: message.clone(),
        }),
        SendError::MissingToken { message } => Some(Fatal::MissingToken(message.clone())),
        SendError::Transport { .. } => None,
    }
}

fn transport_message(api: &str, e: &SendError) -> String {
    match e {
        SendError::Transport { message, url } => {
            format!("error querying {api}: {message} - URL: {url}")
        }
        SendError::Auth { message, .. } | SendError::MissingToken { message } => message.clone(),
    }
}

/// The metrics part of a query, and whether the value is scaled afterwards (MV2).
fn metrics_of(q: &SliQuery) -> Option<(&MetricsQuery, Option<query::Mv2Unit>)> {
    match q {
        SliQuery::Metrics(m) => Some((m, None)),
        SliQuery::Mv2 { unit, metrics } => Some((metrics, Some(*unit))),
        _ => None,
    }
}

/// The query as sent first: without a resolution, slogate asks for `resolution=Inf` right away,
/// which is what Keptn's retry would have asked for (one round trip instead of three).
fn first_form(m: &MetricsQuery) -> (MetricsQuery, bool) {
    match m.resolution {
        Some(_) => (m.clone(), false),
        None => (request::with_resolution_inf(m), true),
    }
}

/// How the SLIs are sent: batches of metric selectors (each selector with the SLIs using it),
/// single requests shared by identical queries, and SLIs that did not parse.
#[derive(Debug, Default, PartialEq)]
pub struct Groups {
    pub batches: Vec<Vec<Vec<usize>>>,
    pub singles: Vec<Vec<usize>>,
    pub unparsed: Vec<usize>,
    /// `BURN;` SLIs: two windows of two metrics queries each, sent on their own.
    pub burns: Vec<usize>,
    /// Their requests: per window one, or two when the queries cannot share a batch.
    pub burn_requests: usize,
}

impl Groups {
    /// Requests on the first round trip.
    pub fn requests(&self) -> usize {
        self.batches.len() + self.singles.len() + self.burn_requests
    }
}

/// Groups SLIs into requests: metric queries by (entity selector, management zone, resolution),
/// each distinct selector once and at most `MAX_BATCH` per request; other queries by their
/// exact request.
pub fn group(slis: &[Sli], window: Window) -> Groups {
    type Key = (
        (Option<String>, Option<String>, Option<String>),
        Option<String>,
    );
    let mut metric_groups: BTreeMap<Key, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    let mut singles: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut out = Groups::default();
    for (i, sli) in slis.iter().enumerate() {
        match &sli.parsed {
            Err(_) => out.unparsed.push(i),
            Ok(SliQuery::Burn(b)) => {
                out.burns.push(i);
                let key = |m: &MetricsQuery| request::batch_key(&first_form(m).0);
                out.burn_requests += if key(&b.events) == key(&b.total) {
                    2
                } else {
                    4
                };
            }
            Ok(q) => match metrics_of(q) {
                Some((m, _)) => {
                    let (first, _) = first_form(m);
                    // A selector with a top-level comma is several expressions: never batched.
                    let alone =
                        (!request::batchable(&first)).then(|| first.metric_selector.clone());
                    metric_groups
                        .entry((request::batch_key(&first), alone))
                        .or_default()
                        .entry(first.metric_selector.clone())
                        .or_default()
                        .push(i);
                }
                None => singles
                    .entry(request::build(q, window).display())
                    .or_default()
                    .push(i),
            },
        }
    }
    for selectors in metric_groups.into_values() {
        let users: Vec<Vec<usize>> = selectors.into_values().collect();
        for chunk in users.chunks(request::MAX_BATCH) {
            out.batches.push(chunk.to_vec());
        }
    }
    out.singles = singles.into_values().collect();
    out
}

/// Fetches every SLI. Per-SLI failures become unsuccessful values with Keptn's messages; only a
/// refused or missing token is fatal.
pub async fn fetch(client: &Client, slis: &[Sli], window: Window) -> Result<Vec<Fetched>, Fatal> {
    let mut results: Vec<Option<Fetched>> = vec![None; slis.len()];
    let groups = group(slis, window);
    for &i in &groups.unparsed {
        let msg = slis[i].parsed.as_ref().err().cloned().unwrap_or_default();
        results[i] = Some(Fetched {
            value: failed(&slis[i].name, msg),
            failure: Some(Failure::Invalid),
            query: None,
        });
    }
    let batch_jobs: Vec<_> = groups
        .batches
        .into_iter()
        .map(|users| fetch_batch(client, slis, users, window))
        .collect();
    let single_jobs: Vec<_> = groups
        .singles
        .into_iter()
        .map(|idx| fetch_single(client, slis, idx, window))
        .collect();
    let burn_jobs: Vec<_> = groups
        .burns
        .iter()
        .map(|&i| fetch_burn(client, slis, i, window))
        .collect();
    let (batches, singles_done, burns) = tokio::join!(
        join_all(batch_jobs),
        join_all(single_jobs),
        join_all(burn_jobs)
    );
    for done in batches.into_iter().chain(singles_done).chain(burns) {
        for (i, f) in done? {
            results[i] = Some(f);
        }
    }
    Ok(results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| Fetched {
                value: failed(
                    &slis[i].name,
                    "internal error: the SLI was not fetched".into(),
                ),
                failure: Some(Failure::Unavailable),
                query: None,
            })
        })
        .collect())
}

/// A `BURN;` SLI: its event and total queries over the short and the long window, each fetched
/// like any metrics SLI (same batching, retries and failure classes), then combined
/// ([`query::burn`]). The first failure of the four is the SLI's failure.
async fn fetch_burn(
    client: &Client,
    slis: &[Sli],
    i: usize,
    window: Window,
) -> Result<Vec<(usize, Fetched)>, Fatal> {
    let Ok(SliQuery::Burn(b)) = &slis[i].parsed else {
        return Ok(Vec::new());
    };
    let name = &slis[i].name;
    let shown = request::burn_requests(b, window)
        .iter()
        .map(query::Request::display)
        .collect::<Vec<_>>()
        .join(" ; ");
    let part = |label: &str, m: &MetricsQuery| Sli {
        name: label.to_string(),
        text: String::new(),
        source: slis[i].source,
        parsed: Ok(SliQuery::Metrics(m.clone())),
    };
    let events_label = b.burn.counts.key();
    let parts = [part(events_label, &b.events), part("total", &b.total)];
    let mut rates = Vec::new();
    for (w, (label, _)) in request::burn_windows(b, window)
        .into_iter()
        .zip([&b.burn.short, &b.burn.long].map(|s| (s.0.clone(), s.1)))
    {
        // Boxed: this is `fetch` inside `fetch`.
        let got = Box::pin(fetch(client, &parts, w)).await?;
        if let Some(f) = got.iter().find(|f| f.failure.is_some()) {
            let msg = format!(
                "burn rate over {label}, {} query: {}",
                f.value.metric, f.value.message
            );
            return Ok(vec![(
                i,
                Fetched {
                    value: failed(name, msg),
                    failure: f.failure,
                    query: Some(shown),
                },
            )]);
        }
        let v = |k: usize| got[k].value.value.unwrap_or(f64::NAN);
        rates.push(query::burn::window_rate(
            b.burn.counts,
            v(0),
            v(1),
            b.burn.target,
        ));
    }
    let fetched = match query::burn::combine(rates[0], rates[1]) {
        Some(rate) => Fetched {
            value: ok(name, rate, String::new()),
            failure: None,
            query: Some(shown),
        },
        None => Fetched {
            value: failed(
                name,
                format!(
                    "no events in either burn-rate window ({} and {}): no burn rate",
                    b.burn.short.0, b.burn.long.0
                ),
            ),
            failure: Some(Failure::NoData),
            query: Some(shown),
        },
    };
    Ok(vec![(i, fetched)])
}

/// One batch: `users[k]` are the SLIs that use the k-th selector of the batch.
async fn fetch_batch(
    client: &Client,
    slis: &[Sli],
    users: Vec<Vec<usize>>,
    window: Window,
) -> Result<Vec<(usize, Fetched)>, Fatal> {
    let firsts: Vec<MetricsQuery> = users
        .iter()
        .filter_map(|idx| {
            slis[idx[0]]
                .parsed
                .as_ref()
                .ok()
                .and_then(metrics_of)
                .map(|(m, _)| first_form(m).0)
        })
        .collect();
    if firsts.len() != users.len() {
        return Ok(Vec::new());
    }
    if firsts.len() == 1 {
        return fetch_metrics_alone(client, slis, &users[0], window).await;
    }
    let refs: Vec<&MetricsQuery> = firsts.iter().collect();
    let req = request::build_batch(&refs, window);
    let resp = match client.send(&req).await {
        Ok(r) => r,
        Err(e) => {
            if let Some(f) = fatal(&e) {
                return Err(f);
            }
            let msg = transport_message(METRICS_API, &e);
            return Ok(users
                .iter()
                .zip(&firsts)
                .flat_map(|(idx, first)| {
                    let q = request::build(&SliQuery::Metrics(first.clone()), window).display();
                    idx.iter().map(move |&i| (i, q.clone()))
                })
                .map(|(i, q)| {
                    (
                        i,
                        Fetched {
                            value: failed(&slis[i].name, msg.clone()),
                            failure: Some(Failure::Unavailable),
                            query: Some(q),
                        },
                    )
                })
                .collect());
        }
    };
    let split = resp
        .is_success()
        .then(|| serde_json::from_str::<Value>(&resp.body).ok())
        .flatten()
        .and_then(|body| request::split_batch(&body, &selectors_of(&firsts)));
    if resp.status == 429 || resp.status >= 500 {
        // The environment is unavailable: asking one by one would only multiply the load.
        let msg = reduce::api_error(METRICS_API, resp.status, &resp.body, &resp.url);
        return Ok(users
            .iter()
            .zip(&firsts)
            .flat_map(|(idx, first)| {
                let q = request::build(&SliQuery::Metrics(first.clone()), window).display();
                idx.iter().map(move |&i| (i, q.clone()))
            })
            .map(|(i, q)| {
                (
                    i,
                    Fetched {
                        value: failed(&slis[i].name, msg.clone()),
                        failure: Some(Failure::Unavailable),
                        query: Some(q),
                    },
                )
            })
            .collect());
    }
    let Some(bodies) = split else {
        // A 4xx on a batch may come from one bad selector: ask one by one to tell which.
        let mut out = Vec::new();
        let jobs = users
            .iter()
            .map(|idx| fetch_metrics_alone(client, slis, idx, window));
        for r in join_all(jobs).await {
            out.extend(r?);
        }
        return Ok(out);
    };
    let mut out = Vec::new();
    let mut unmatched = Vec::new();
    for ((idx, body), first) in users.iter().zip(bodies).zip(&firsts) {
        match body {
            Some(body) => {
                let outcome = interpret_metrics(&body, &resp, false);
                out.extend(finish_metrics(client, slis, idx, first, outcome, window).await?);
            }
            // No result carries this selector's metricId: ask for it alone, where the answer
            // can only be its own (never take a neighbour's result by position).
            None => unmatched.push(idx),
        }
    }
    let jobs = unmatched
        .into_iter()
        .map(|idx| fetch_metrics_alone(client, slis, idx, window));
    for r in join_all(jobs).await {
        out.extend(r?);
    }
    Ok(out)
}

fn selectors_of(ms: &[MetricsQuery]) -> Vec<&str> {
    ms.iter().map(|m| m.metric_selector.as_str()).collect()
}

/// What a metrics response says, before Keptn's multi-value retry.
enum MetricsOutcome {
    Value(f64, Vec<String>),
    Several,
    Problem(String),
    Error(String, Failure),
}

fn interpret_metrics(body: &Value, resp: &Response, retried: bool) -> MetricsOutcome {
    if !resp.is_success() {
        return MetricsOutcome::Error(
            reduce::api_error(METRICS_API, resp.status, &resp.body, &resp.url),
            classify(Some(resp.status)),
        );
    }
    let reduced = if retried {
        reduce::metrics_retried(body)
    } else {
        reduce::metrics(body)
    };
    match reduced {
        reduce::Metrics::Value { value, warnings } => MetricsOutcome::Value(value, warnings),
        reduce::Metrics::Several => MetricsOutcome::Several,
        reduce::Metrics::Problem(msg) => MetricsOutcome::Problem(msg),
    }
}

/// Sends one metrics query (as first sent) and finishes it.
async fn fetch_metrics_alone(
    client: &Client,
    slis: &[Sli],
    idx: &[usize],
    window: Window,
) -> Result<Vec<(usize, Fetched)>, Fatal> {
    let Some((m, _)) = slis[idx[0]].parsed.as_ref().ok().and_then(metrics_of) else {
        return Ok(Vec::new());
    };
    let (first, added_inf) = first_form(m);
    let (outcome, _) = send_metrics(client, &first, window, false).await?;
    // Dynatrace refuses `resolution=Inf` for a few metrics; then follow Keptn's exact sequence.
    if added_inf
        && matches!(
            outcome,
            MetricsOutcome::Error(_, Failure::Query | Failure::Invalid | Failure::Missing)
        )
    {
        let (outcome, _) = send_metrics(client, m, window, false).await?;
        return finish_metrics(client, slis, idx, m, outcome, window).await;
    }
    finish_metrics(client, slis, idx, &first, outcome, window).await
}

async fn send_metrics(
    client: &Client,
    m: &MetricsQuery,
    window: Window,
    retried: bool,
) -> Result<(MetricsOutcome, String), Fatal> {
    let req = request::build(&SliQuery::Metrics(m.clone()), window);
    let shown = req.display();
    match client.send(&req).await {
        Ok(resp) => {
            let body = serde_json::from_str::<Value>(&resp.body).unwrap_or(Value::Null);
            if resp.is_success() && body.is_null() {
                return Ok((
                    MetricsOutcome::Error(
                        format!(
                            "error querying {METRICS_API}: the response is not valid JSON - URL: {}",
                            resp.url
                        ),
                        Failure::Unavailable,
                    ),
                    shown,
                ));
            }
            Ok((interpret_metrics(&body, &resp, retried), shown))
        }
        Err(e) => match fatal(&e) {
            Some(f) => Err(f),
            None => Ok((
                MetricsOutcome::Error(transport_message(METRICS_API, &e), Failure::Unavailable),
                shown,
            )),
        },
    }
}

/// Turns an outcome into values for every SLI using the selector; runs Keptn's retry when the
/// series held several values (§3): descriptor, then `resolution=Inf` or `:fold`.
async fn finish_metrics(
    client: &Client,
    slis: &[Sli],
    idx: &[usize],
    sent: &MetricsQuery,
    outcome: MetricsOutcome,
    window: Window,
) -> Result<Vec<(usize, Fetched)>, Fatal> {
    let first_query = request::build(&SliQuery::Metrics(sent.clone()), window).display();
    let (outcome, final_query) = match outcome {
        MetricsOutcome::Several => retry_several(client, sent, window).await?,
        other => (other, first_query.clone()),
    };
    Ok(idx
        .iter()
        .map(|&i| {
            let name = &slis[i].name;
            let unit = slis[i]
                .parsed
                .as_ref()
                .ok()
                .and_then(metrics_of)
                .and_then(|(_, u)| u);
            let fetched = match &outcome {
                MetricsOutcome::Value(v, warnings) => {
                    let v = unit.map_or(*v, |u| reduce::mv2(*v, u));
                    let msg = crate::source::warnings_message(warnings);
                    Fetched {
                        value: ok(name, v, msg),
                        failure: None,
                        query: Some(final_query.clone()),
                    }
                }
                MetricsOutcome::Problem(msg) => Fetched {
                    value: failed(name, format!("could not process metrics query: {msg}")),
                    failure: Some(Failure::NoData),
                    query: Some(first_query.clone()),
                },
                MetricsOutcome::Error(msg, kind) => Fetched {
                    value: failed(name, msg.clone()),
                    failure: Some(*kind),
                    query: Some(first_query.clone()),
                },
                MetricsOutcome::Several => Fetched {
                    value: failed(
                        name,
                        "could not process metrics query: Metrics API v2 returned several values"
                            .into(),
                    ),
                    failure: Some(Failure::NoData),
                    query: Some(first_query.clone()),
                },
            };
            (i, fetched)
        })
        .collect())
}

async fn retry_several(
    client: &Client,
    m: &MetricsQuery,
    window: Window,
) -> Result<(MetricsOutcome, String), Fatal> {
    let req = request::descriptor(&m.metric_selector);
    let descriptor = match client.send(&req).await {
        Ok(resp) if resp.is_success() => serde_json::from_str::<Value>(&resp.body)
            .map_err(|_| {
                (
                    format!("error querying {METRICS_API}: the metric descriptor is not valid JSON - URL: {}", resp.url),
                    Failure::Unavailable,
                )
            })
            .and_then(|b| reduce::descriptor(&b).map_err(|m| (m, Failure::Query))),
        Ok(resp) => Err((reduce::api_error(METRICS_API, resp.status, &resp.body, &resp.url), classify(Some(resp.status)))),
        Err(e) => match fatal(&e) {
            Some(f) => return Err(f),
            None => Err((transport_message(METRICS_API, &e), Failure::Unavailable)),
        },
    };
    let first = request::build(&SliQuery::Metrics(m.clone()), window).display();
    let d = match descriptor {
        Ok(d) => d,
        Err((msg, kind)) => return Ok((MetricsOutcome::Error(msg, kind), first)),
    };
    let next = match request::single_value_retry(m, &d) {
        Ok(next) => next,
        Err(msg) => return Ok((MetricsOutcome::Error(msg, Failure::Query), first)),
    };
    let (outcome, shown) = send_metrics(client, &next, window, true).await?;
    Ok(match outcome {
        MetricsOutcome::Value(..) => (outcome, shown),
        other => (other, first),
    })
}

/// One non-metrics request shared by the SLIs in `idx`.
async fn fetch_single(
    client: &Client,
    slis: &[Sli],
    idx: Vec<usize>,
    window: Window,
) -> Result<Vec<(usize, Fetched)>, Fatal> {
    let Some(q) = slis[idx[0]].parsed.as_ref().ok() else {
        return Ok(Vec::new());
    };
    let req = request::build(q, window);
    let shown = req.display();
    let api = match q {
        SliQuery::Slo { .. } => "Service level objectives API",
        SliQuery::Problems { .. } => "Problems API v2",
        SliQuery::SecurityProblems { .. } => "Security problems API",
        SliQuery::Usql { .. } => "User sessions API",
        SliQuery::Dql { .. } => "Grail query API",
        _ => METRICS_API,
    };
    // The response as a whole: an error for every SLI, or the body to reduce.
    let body: Result<Value, (String, Failure)> = match client.send(&req).await {
        Err(e) => match fatal(&e) {
            Some(f) => return Err(f),
            None => Err((transport_message(api, &e), Failure::Unavailable)),
        },
        Ok(resp) if !resp.is_success() => Err((
            reduce::api_error(api, resp.status, &resp.body, &resp.url),
            classify(Some(resp.status)),
        )),
        Ok(resp) => match serde_json::from_str::<Value>(&resp.body) {
            Err(_) => Err((
                format!(
                    "error querying {api}: the response is not valid JSON - URL: {}",
                    resp.url
                ),
                Failure::Unavailable,
            )),
            // DQL may need polling before the body holds the records.
            Ok(body) if matches!(q, SliQuery::Dql { .. }) => {
                match dql_result(client, body, resp.status).await? {
                    Ok(b) => Ok(b),
                    Err(e) => Err(e),
                }
            }
            Ok(body) => Ok(body),
        },
    };
    // One response may serve several SLIs (the same USQL query with other dimensions): each is
    // reduced with its own query.
    Ok(idx
        .iter()
        .map(|&i| {
            let name = &slis[i].name;
            let value =
                body.as_ref()
                    .map_err(Clone::clone)
                    .and_then(|body| match &slis[i].parsed {
                        // Keptn fails an SLO whose evaluation reports an error.
                        // slogate's fields: an SLO Dynatrace did not evaluate, or one without
                        // burn rates, tells nothing about the release (could not evaluate).
                        Ok(SliQuery::Slo { field, .. }) => {
                            let kind = match field {
                                query::SloField::EvaluatedPercentage => Failure::Query,
                                _ => Failure::Missing,
                            };
                            reduce::slo(body, *field).map_err(|m| (m, kind))
                        }
                        Ok(SliQuery::Problems { .. } | SliQuery::SecurityProblems { .. }) => {
                            reduce::total_count(body).map_err(|m| (m, Failure::NoData))
                        }
                        Ok(SliQuery::Usql {
                            result_type,
                            dimension,
                            ..
                        }) => reduce::usql(body, *result_type, dimension)
                            .map_err(|m| (m, Failure::NoData)),
                        Ok(SliQuery::Dql { .. }) => {
                            reduce::dql(body).map_err(|m| (m, Failure::NoData))
                        }
                        _ => Err((
                            "internal error: not a single-request query".into(),
                            Failure::Query,
                        )),
                    });
            let (value, failure) = match value {
                Ok(v) => (ok(name, v, String::new()), None),
                Err((msg, kind)) => (failed(name, msg), Some(kind)),
            };
            (
                i,
                Fetched {
                    value,
                    failure,
                    query: Some(shown.clone()),
                },
            )
        })
        .collect())
}

/// DQL answers 200 with the result, or 202 with a token to poll (bounded).
async fn dql_result(
    client: &Client,
    mut body: Value,
    mut status: u16,
) -> Result<Result<Value, (String, Failure)>, Fatal> {
    const MAX_POLLS: usize = 30;
    let mut polls = 0;
    while status == 202 {
        let Some(token) = body
            .get("requestToken")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return Ok(Err((
                "Grail query API answered 202 without a requestToken".into(),
                Failure::Unavailable,
            )));
        };
        polls += 1;
        if polls > MAX_POLLS {
            return Ok(Err((
                format!("the DQL query did not finish after {MAX_POLLS} polls"),
                Failure::Unavailable,
            )));
        }
        let resp = match client.send(&request::dql_poll(&token)).await {
            Ok(r) => r,
            Err(e) => {
                return match fatal(&e) {
                    Some(f) => Err(f),
                    None => Ok(Err((
                        transport_message("Grail query API", &e),
                        Failure::Unavailable,
                    ))),
                };
            }
        };
        if !resp.is_success() {
            return Ok(Err((
                reduce::api_error("Grail query API", resp.status, &resp.body, &resp.url),
                classify(Some(resp.status)),
            )));
        }
        status = resp.status;
        body = match serde_json::from_str(&resp.body) {
            Ok(b) => b,
            Err(_) => {
                return Ok(Err((
                    format!(
                        "Grail query API: the poll response is not valid JSON - URL: {}",
                        resp.url
                    ),
                    Failure::Unavailable,
                )));
            }
        };
        // A 200 poll may still say RUNNING: keep polling.
        if body.get("state").and_then(Value::as_str) == Some("RUNNING") {
            status = 202;
            if body.get("requestToken").is_none() {
                body["requestToken"] = Value::String(token);
            }
        }
    }
    Ok(Ok(body))
}

/// Requests the SLIs would need, without sending anything: the `explain` command.
pub fn plan(slis: &[Sli], window: Window) -> Vec<(String, Result<String, String>)> {
    slis.iter()
        .map(|s| {
            let shown = s.parsed.as_ref().map(|q| match metrics_of(q) {
                Some((m, unit)) => {
                    let (first, _) = first_form(m);
                    let _ = unit;
                    request::build(&SliQuery::Metrics(first), window).display()
                }
                None => match q {
                    SliQuery::Burn(b) => request::burn_requests(b, window)
                        .iter()
                        .map(query::Request::display)
                        .collect::<Vec<_>>()
                        .join(" ; "),
                    _ => request::build(q, window).display(),
                },
            });
            (s.name.clone(), shown.map_err(Clone::clone))
        })
        .collect()
}

/// Time series of the metric SLIs over `window` at `resolution`, for charts: one entry per SLI,
/// `None` for non-metric SLIs and for queries that did not return exactly one series. Batched
/// like values; failures only leave a chart out.
pub async fn fetch_series(
    client: &Client,
    slis: &[Sli],
    window: Window,
    resolution: &str,
) -> Result<Vec<Option<crate::report::json::Series>>, Fatal> {
    Ok(fetch_series_explained(client, slis, window, resolution)
        .await?
        .into_iter()
        .map(Result::ok)
        .collect())
}

/// [`fetch_series`] saying why each missing series is missing (the statistical judge reports it
/// per objective). A batch Dynatrace refuses with a 4xx (one unknown metric is enough) is asked
/// again one selector at a time, so one bad selector costs only its own series.
pub async fn fetch_series_explained(
    client: &Client,
    slis: &[Sli],
    window: Window,
    resolution: &str,
) -> Result<Vec<Result<crate::report::json::Series, String>>, Fatal> {
    // The same SLIs with the chart's resolution, so grouping and batching apply unchanged.
    let charted: Vec<Sli> = slis
        .iter()
        .map(|s| Sli {
            name: s.name.clone(),
            text: s.text.clone(),
            source: s.source,
            parsed: match &s.parsed {
                Ok(SliQuery::Metrics(m)) => Ok(SliQuery::Metrics(MetricsQuery {
                    resolution: Some(resolution.to_string()),
                    ..m.clone()
                })),
                Ok(SliQuery::Mv2 { unit, metrics }) => Ok(SliQuery::Mv2 {
                    unit: *unit,
                    metrics: MetricsQuery {
                        resolution: Some(resolution.to_string()),
                        ..metrics.clone()
                    },
                }),
                _ => Err(String::new()),
            },
        })
        .collect();
    let groups = group(&charted, window);
    let jobs = groups.batches.into_iter().map(|users| {
        let charted = &charted;
        async move {
            let ms: Vec<MetricsQuery> = users
                .iter()
                .filter_map(|idx| {
                    charted[idx[0]]
                        .parsed
                        .as_ref()
                        .ok()
                        .and_then(metrics_of)
                        .map(|(m, _)| m.clone())
                })
                .collect();
            let bodies = match series_bodies(client, &ms, window).await? {
                Err((status, _))
                    if ms.len() > 1 && (400..500).contains(&status) && status != 429 =>
                {
                    let alone = ms
                        .iter()
                        .map(|m| series_bodies(client, std::slice::from_ref(m), window));
                    let mut each = Vec::new();
                    for r in join_all(alone).await {
                        each.push(match r? {
                            Ok(mut b) => b.pop().unwrap_or_else(|| Err("no answer".into())),
                            Err((_, why)) => Err(why),
                        });
                    }
                    each
                }
                Err((_, why)) => vec![Err(why); ms.len()],
                Ok(b) => b,
            };
            Ok::<_, Fatal>((users, bodies))
        }
    });
    let mut out: Vec<Result<crate::report::json::Series, String>> = slis
        .iter()
        .map(|_| Err("not a metric query".to_string()))
        .collect();
    for done in join_all(jobs).await {
        let (users, bodies) = done?;
        for (idx, body) in users.iter().zip(bodies) {
            let series = body.and_then(|b| one_series(&b).ok_or_else(|| series_count(&b)));
            for &i in idx {
                let metrics = charted[i].parsed.as_ref().ok().and_then(metrics_of);
                let unit = metrics.and_then(|(_, u)| u);
                out[i] = series.clone().map(|series| crate::report::json::Series {
                    metric: slis[i].name.clone(),
                    total: metrics.is_some_and(|(m, _)| crate::query::is_total(&m.metric_selector)),
                    timestamps: series.0.clone(),
                    values: series
                        .1
                        .iter()
                        .map(|v| v.map(|v| unit.map_or(v, |u| reduce::mv2(v, u))))
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

/// One series request (a single selector or a batch) and its answer per selector, or the HTTP
/// status (0 without one) and why nothing came back.
#[allow(clippy::type_complexity)]
async fn series_bodies(
    client: &Client,
    ms: &[MetricsQuery],
    window: Window,
) -> Result<Result<Vec<Result<Value, String>>, (u16, String)>, Fatal> {
    let refs: Vec<&MetricsQuery> = ms.iter().collect();
    let req = if refs.len() == 1 {
        request::build(&SliQuery::Metrics(ms[0].clone()), window)
    } else {
        request::build_batch(&refs, window)
    };
    let resp = match client.send(&req).await {
        Ok(resp) => resp,
        Err(e) => {
            return match fatal(&e) {
                Some(f) => Err(f),
                None => Ok(Err((0, without_url(&transport_message(METRICS_API, &e))))),
            };
        }
    };
    if !resp.is_success() {
        let why = reduce::dynatrace_error(resp.status, &resp.body, &resp.url);
        return Ok(Err((resp.status, without_url(&why))));
    }
    let Ok(body) = serde_json::from_str::<Value>(&resp.body) else {
        return Ok(Err((resp.status, "the answer is not JSON".into())));
    };
    if refs.len() == 1 {
        // Sent alone: the one result is this selector's.
        return Ok(Ok(vec![Ok(body)]));
    }
    Ok(Ok(match request::split_batch(&body, &selectors_of(ms)) {
        Some(parts) => parts
            .into_iter()
            .map(|b| b.ok_or_else(|| "the batched answer held no result for it".to_string()))
            .collect(),
        None => vec![Err("the batched answer could not be split".into()); ms.len()],
    }))
}

/// A message without its trailing ` - URL: …` (the request is in the report already).
fn without_url(message: &str) -> String {
    match message.find(" - URL: ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// Why an answer is not one series: none (no data) or several.
fn series_count(body: &Value) -> String {
    let n = body
        .get("result")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("data"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    match n {
        0 => "Dynatrace returned no series (no data in the span)".into(),
        n => format!("Dynatrace returned {n} series, not one"),
    }
}

/// Timestamps and values of the single series of a single-expression metrics response.
fn one_series(body: &Value) -> Option<(Vec<i64>, Vec<Option<f64>>)> {
    let data = body
        .get("result")?
        .as_array()?
        .first()?
        .get("data")?
        .as_array()?;
    if data.len() != 1 {
        return None;
    }
    let ts: Vec<i64> = data[0]
        .get("timestamps")?
        .as_array()?
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    let vs: Vec<Option<f64>> = data[0]
        .get("values")?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect();
    (ts.len() == vs.len()).then_some((ts, vs))
}

/// A chart resolution giving about 60 points over `window` (whole minutes, at least 1).
pub fn chart_resolution(window: Window) -> String {
    let minutes = ((window.to_ms - window.from_ms) / 60_000).max(1);
    format!("{}m", ((minutes + 59) / 60).max(1))
}

/// The unit of each metric selector, from its descriptor (`GET /api/v2/metrics/{selector}` with
/// `fields=unit`; transformations such as `:count` change it). One request per distinct
/// selector, concurrently; a selector whose descriptor cannot be read is left out.
pub async fn units(
    client: &Client,
    selectors: &[String],
) -> std::collections::BTreeMap<String, String> {
    let mut distinct: Vec<&String> = selectors.iter().collect();
    distinct.sort();
    distinct.dedup();
    // Selectors whose unit is their metric's: one list request per MAX_BATCH keys, beside the
    // values. The others (`:count`, `:rate`, expressions) ask their own descriptor.
    let (by_key, alone): (Vec<&String>, Vec<&String>) = distinct
        .into_iter()
        .partition(|s| crate::query::selector::unit_key(s).is_some());
    let mut keys: Vec<&str> = by_key
        .iter()
        .filter_map(|s| crate::query::selector::unit_key(s))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let lists = join_all(keys.chunks(request::MAX_BATCH).map(|chunk| async move {
        let resp = client
            .send(&request::units(chunk))
            .await
            .ok()
            .filter(|r| r.is_success())?;
        let v: Value = serde_json::from_str(&resp.body).ok()?;
        let found: Vec<(String, String)> = v
            .get("metrics")?
            .as_array()?
            .iter()
            .filter_map(|m| {
                Some((
                    m.get("metricId")?.as_str()?.to_string(),
                    m.get("unit")?.as_str()?.to_string(),
                ))
            })
            .collect();
        Some(found)
    }));
    let singles = join_all(alone.iter().map(|sel| async move {
        let mut req = request::descriptor(sel);
        req.query.push(("fields".into(), "unit".into()));
        let resp = client.send(&req).await.ok().filter(|r| r.is_success())?;
        let v: Value = serde_json::from_str(&resp.body).ok()?;
        let unit = v.get("unit")?.as_str()?.to_string();
        Some(((*sel).clone(), unit))
    }));
    let (lists, singles) = futures_util::join!(lists, singles);
    let of_key: std::collections::BTreeMap<String, String> =
        lists.into_iter().flatten().flatten().collect();
    let mut out: std::collections::BTreeMap<String, String> =
        singles.into_iter().flatten().collect();
    for sel in by_key {
        if let Some(u) = crate::query::selector::unit_key(sel).and_then(|k| of_key.get(k)) {
            out.insert(sel.clone(), u.clone());
        }
    }
    out
}
