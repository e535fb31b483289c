//! The Prometheus source, as Keptn's prometheus-service 0.9.1 (reference
//! `keptn-prometheus-sli.md`): `prometheus/sli.yaml` files ([`files`]), the five built-in SLIs and
//! the placeholders ([`queries`]), one instant query per SLI at the window's end and what its
//! answer means ([`api`]), a PromQL check for lint ([`promql`]). This module is the IO part:
//! sending the requests through the shared HTTP layer.
//!
//! What it produces is what the Dynatrace source produces ([`Fetched`]), so scoring, reports and
//! the before/after comparison treat both alike.

pub mod api;
pub mod connection;
pub mod files;
pub mod promql;
pub mod queries;

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::query::{Method, Window};
use crate::report::json::Series;
use crate::source::http::{Client, Response, SendError};
use crate::source::{Failure, Fetched, failed, succeeded};

use api::Answer;

/// One SLI to ask Prometheus for: its name and its query with every placeholder but
/// `$DURATION_SECONDS` filled (that one depends on the window), or why it has none.
#[derive(Clone, Debug, PartialEq)]
pub struct PromSli {
    pub name: String,
    pub query: Result<String, String>,
}

/// The environment variables of the connection (Keptn's secret keys).
pub const URL_ENV: &str = "PROMETHEUS_URL";
pub const USER_ENV: &str = "PROMETHEUS_USER";
pub const PASSWORD_ENV: &str = "PROMETHEUS_PASSWORD";

/// The request `explain` and reports show for one SLI and window.
pub fn request_text(query: &str, window: Window) -> String {
    api::display(
        "POST",
        api::QUERY_PATH,
        &api::instant_form(&api::fill_duration(query, window), window),
    )
}

/// What `explain` shows: per SLI its request, or why there is none.
pub fn plan(slis: &[PromSli], window: Window) -> Vec<(String, Result<String, String>)> {
    slis.iter()
        .map(|s| {
            (
                s.name.clone(),
                s.query
                    .as_ref()
                    .map(|q| request_text(q, window))
                    .map_err(Clone::clone),
            )
        })
        .collect()
}

/// POST, and once more as GET when the server does not take POST (405, 501), as upstream's
/// client did. The request shown is the one that was answered.
async fn send(
    client: &Client,
    path: &str,
    form: &[(String, String)],
) -> (Result<Response, SendError>, String) {
    let post = client.send_form(Method::Post, path, form).await;
    match post {
        Ok(r) if r.status == 405 || r.status == 501 => (
            client.send_form(Method::Get, path, form).await,
            api::display("GET", path, form),
        ),
        other => (other, api::display("POST", path, form)),
    }
}

/// A transport problem or a refused login, as the SLI's message: the source could not be asked.
fn unreachable(e: &SendError) -> String {
    match e {
        SendError::Transport { message, .. } => {
            format!("unable to query prometheus api: {message}")
        }
        SendError::Auth { status, .. } => format!(
            "unable to query prometheus api: client_error: client error: {status} (the server refused the credentials: check {USER_ENV} and {PASSWORD_ENV})"
        ),
        SendError::MissingToken { message } => message.clone(),
    }
}

/// Asks for every SLI's value over `window`: one instant query at the window's end per distinct
/// query (an SLI's failure stays that SLI's), concurrently within the client's limit.
pub async fn fetch(client: &Client, slis: &[PromSli], window: Window) -> Vec<Fetched> {
    let mut distinct: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut out: Vec<Option<Fetched>> = vec![None; slis.len()];
    for (i, s) in slis.iter().enumerate() {
        match &s.query {
            Ok(q) => distinct
                .entry(api::fill_duration(q, window))
                .or_default()
                .push(i),
            Err(m) => {
                out[i] = Some(Fetched {
                    value: failed(&s.name, m.clone()),
                    failure: Some(Failure::Invalid),
                    query: None,
                });
            }
        }
    }
    let answers = join_all(distinct.keys().map(|q| async move {
        let form = api::instant_form(q, window);
        let (resp, shown) = send(client, api::QUERY_PATH, &form).await;
        let answer = match resp {
            Ok(r) => api::reduce(r.status, &r.body),
            Err(e) => Answer::Failed {
                message: unreachable(&e),
                failure: Failure::Unavailable,
            },
        };
        (answer, shown)
    }))
    .await;
    for ((_, users), (answer, shown)) in distinct.iter().zip(answers) {
        for &i in users {
            let name = &slis[i].name;
            out[i] = Some(match &answer {
                Answer::Value(v, warnings) => Fetched {
                    value: succeeded(name, *v, crate::source::warnings_message(warnings)),
                    failure: None,
                    query: Some(shown.clone()),
                },
                Answer::Failed { message, failure } => Fetched {
                    value: failed(name, message.clone()),
                    failure: Some(*failure),
                    query: Some(shown.clone()),
                },
            });
        }
    }
    out.into_iter()
        .zip(slis)
        .map(|(f, s)| {
            f.unwrap_or_else(|| Fetched {
                value: failed(&s.name, "internal error: the SLI was not fetched".into()),
                failure: Some(Failure::Unavailable),
                query: None,
            })
        })
        .collect()
}

/// Chart series over `span` for the SLIs: each point is the SLI's query at that time with the
/// evaluation window's `$DURATION_SECONDS`, so the last point of the evaluation window is its
/// value. A query that fails or does not give one series leaves its chart out.
pub async fn fetch_series(
    client: &Client,
    slis: &[PromSli],
    window: Window,
    span: Window,
) -> Vec<Series> {
    let jobs = slis.iter().filter_map(|s| {
        let q = api::fill_duration(s.query.as_ref().ok()?, window);
        Some(async move {
            let form = api::range_form(&q, span);
            let (resp, _) = send(client, api::RANGE_PATH, &form).await;
            let r = resp.ok()?;
            let (timestamps, values) = api::series(r.status, &r.body)?;
            Some(Series {
                metric: s.name.clone(),
                total: false,
                timestamps,
                values,
            })
        })
    });
    join_all(jobs).await.into_iter().flatten().collect()
}
