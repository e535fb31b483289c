//! `slogate mark`: deployment, configuration and info events for the services of a release.

use std::time::Duration as StdDuration;

use futures_util::future::join_all;
use serde_json::Value;

use crate::ci;
use crate::cli::{EventTypeArg, MarkArgs, ReportFormat};
use crate::clock::{Clock, SystemClock};
use crate::diag::Problem;
use crate::event::{self, EventKind, Mark};
use crate::plan;
use crate::shell::{ci_kind, client_for, environment, runtime, selectors, settings_of};
use crate::source::entities;
use crate::source::events::{self, EventError, IngestResult, Landed};
use crate::source::http::SendError;
use crate::ui::{Exit, Ui, stderr, stdout};
use crate::window;

fn usage(message: impl Into<String>, help: &str) -> Vec<Problem> {
    vec![Problem::file("slogate::usage", "command line", message).help(help.to_string())]
}

/// `--flag a=b` / `--property a=b` pairs.
fn pairs(raw: &[String], what: &str) -> Result<Vec<(String, String)>, Vec<Problem>> {
    raw.iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(usage(
                format!("`--{what} {p}` is not NAME=VALUE"),
                &format!("write it as --{what} name=value"),
            )),
        })
        .collect()
}

pub fn run(args: &MarkArgs, ui: &Ui) -> Exit {
    match mark(args) {
        Ok(exit) => exit,
        Err(problems) => {
            ui.problems(&problems);
            Exit::Invalid
        }
    }
}

fn mark(args: &MarkArgs) -> Result<Exit, Vec<Problem>> {
    let env = environment();
    let mut settings = settings_of(&args.config)?;
    let project = args
        .project
        .clone()
        .or_else(|| settings.project.as_ref().map(|s| s.value.clone()));
    let stage = args
        .stage
        .clone()
        .or_else(|| settings.stage.as_ref().map(|s| s.value.clone()));
    // The deployment is marked in the environment the gate will read: the flag's, or the stage's.
    plan::choose_environment(&mut settings, args.environment.as_deref(), stage.as_deref())
        .map_err(|p| vec![p])?;
    let services: Vec<Option<String>> = if args.service.is_empty() {
        vec![settings.service.as_ref().map(|s| s.value.clone())]
    } else {
        args.service.iter().cloned().map(Some).collect()
    };
    let kind = match args.event_type {
        EventTypeArg::Deployment => EventKind::Deployment,
        EventTypeArg::Configuration => EventKind::Configuration,
        EventTypeArg::Info => EventKind::Info,
        EventTypeArg::Annotation => EventKind::Annotation,
    };
    let flags = pairs(&args.flags, "flag")?;
    let properties = pairs(&args.properties, "property")?;
    let clock = SystemClock;
    let start_ms = match &args.time {
        Some(t) => Some(
            window::parse_time(t, clock.now())
                .map_err(|m| usage(m, "e.g. --time 2026-11-17T10:00:00Z or --time now-5m"))?
                .timestamp_millis(),
        ),
        None => None,
    };
    let ci = ci_kind(args.ci, &env);
    let targets = selectors(
        &settings,
        args.entity_selector.as_deref(),
        project.as_deref(),
        stage.as_deref(),
        &services,
    )?;
    let bodies: Vec<(String, Value)> = targets
        .iter()
        .map(|(service, selector)| {
            let mut m = Mark {
                title: String::new(),
                version: args.version.clone(),
                project: project.clone(),
                stage: stage.clone(),
                service: service.clone(),
                flags: flags.clone(),
                properties: properties.clone(),
                ci: ci.map(|k| ci::properties(k, &env)).unwrap_or_default(),
                run_url: ci.and_then(|k| ci::run_url(k, &env)),
                start_ms,
            };
            m.title = args
                .title
                .clone()
                .unwrap_or_else(|| event::default_title(kind, &m));
            (selector.clone(), event::payload(kind, selector, &m))
        })
        .collect();

    if args.dry_run {
        let list: Vec<&Value> = bodies.iter().map(|(_, b)| b).collect();
        stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ));
        return Ok(Exit::Pass);
    }

    let conn = plan::connection(&settings, &env).map_err(|p| vec![p])?;
    if conn.token.is_none() {
        return Err(vec![plan::missing_token(
            &conn.token_env,
            "the token needs the scope events.ingest; see docs/token-scopes.md",
        )]);
    }
    let timeout = window::parse_duration(&args.request_timeout)
        .map_err(|m| usage(m, "e.g. --request-timeout 30s"))?
        .to_std()
        .unwrap_or(StdDuration::from_secs(30));
    let client = client_for(&conn, timeout, 4).map_err(|e| vec![e.problem()])?;
    let runtime = runtime()?;
    let results = runtime.block_on(join_all(
        bodies.iter().map(|(_, b)| events::ingest(&client, b)),
    ));

    // An event that reached no entity: a misspelled --service or --stage is the usual cause.
    let now_ms = clock.now().timestamp_millis();
    let hints: Vec<String> = runtime.block_on(join_all(targets.iter().zip(&results).map(
        |((service, selector), result)| {
            let (client, settings) = (&client, &settings);
            let (root, stage) = (&args.config, stage.as_deref());
            async move {
                match (result, service) {
                    (Ok(rs), Some(service)) if rs.is_empty() => {
                        unmatched_hint(client, root, settings, stage, service, selector, now_ms)
                            .await
                    }
                    _ => String::new(),
                }
            }
        },
    )));
    let event_wait =
        window::parse_duration(&args.event_wait).map_err(|m| usage(m, "e.g. --event-wait 3m"))?;
    let read_back = read_back(&client, &runtime, &clock, &results, start_ms, event_wait);
    let mut exit = Exit::Pass;
    let mut shown = Vec::new();
    let mut unverified = Vec::new();
    for ((((selector, body), result), hint), back) in
        bodies.iter().zip(results).zip(hints).zip(read_back)
    {
        let (mut line, ok) = describe(body, selector, &result, &conn.token_env, &hint);
        if !ok {
            exit = Exit::CouldNotEvaluate;
        }
        line.push_str(&back.text(event_wait, &conn.token_env));
        if let Some(why) = back.problem(event_wait) {
            unverified.push(format!(
                "{} \"{}\": {why}",
                body["eventType"].as_str().unwrap_or(""),
                body["title"].as_str().unwrap_or("")
            ));
        }
        shown.push((line, body, result, back));
    }
    match args.format {
        ReportFormat::Json => {
            let doc: Vec<Value> = shown
                .iter()
                .map(|(_, body, r, back)| {
                    serde_json::json!({
                        "event": body,
                        "results": r.as_ref().ok().map(|rs| rs.iter().map(|x| serde_json::json!({"correlationId": x.correlation_id, "status": x.status})).collect::<Vec<_>>()),
                        "error": r.as_ref().err().map(|e| e.to_string()),
                        "readBack": back.json(),
                    })
                })
                .collect();
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ReportFormat::Text => {
            let text: String = shown.iter().map(|(l, _, _, _)| l.as_str()).collect();
            stdout(&text);
        }
    }
    if exit != Exit::Pass {
        stderr("could not mark every event; see above\n");
    }
    for why in &unverified {
        if args.verify {
            stderr(&format!("error: mark --verify: {why}\n"));
        } else {
            stderr(&format!("warning: {why}\n"));
        }
    }
    if args.verify && !unverified.is_empty() {
        exit = Exit::CouldNotEvaluate;
    }
    Ok(exit)
}

/// What reading an event back (by its correlation id) found.
#[derive(Clone, Debug, PartialEq)]
enum ReadBack {
    /// Nothing to read: the event was not sent, or no entity took it.
    Skipped,
    /// Visible on these entities (fewer than were sent to when the wait ran out).
    Landed { on: Vec<Landed>, sent: usize },
    /// Not visible within the wait.
    NotVisible,
    /// The events API refused or failed.
    Failed(EventError),
}

impl ReadBack {
    /// Lines under the event's line in the text output.
    fn text(&self, wait: chrono::Duration, token_env: &str) -> String {
        match self {
            ReadBack::Skipped => String::new(),
            ReadBack::Landed { on, sent } => {
                let names: Vec<String> = on
                    .iter()
                    .map(|l| match l.entity_name.as_str() {
                        "" => l.entity_id.clone(),
                        name => format!("{name} ({})", l.entity_id),
                    })
                    .collect();
                let mut s = format!("  landed on: {}\n", names.join(", "));
                if on.len() < *sent {
                    s.push_str(&format!(
                        "  {} of {sent} visible after {} (--event-wait)\n",
                        on.len(),
                        crate::pipeline::human(wait)
                    ));
                }
                s
            }
            ReadBack::NotVisible => format!(
                "  not visible in Dynatrace after {} (--event-wait)\n",
                crate::pipeline::human(wait)
            ),
            ReadBack::Failed(EventError::Send(SendError::Auth { status, message })) => format!(
                "  could not read it back ({status}): {message}. The token in {token_env} needs the scope events.read for that.\n"
            ),
            ReadBack::Failed(e) => format!("  could not read it back: {e}\n"),
        }
    }

    /// Why the event is not verified, if it is not.
    fn problem(&self, wait: chrono::Duration) -> Option<String> {
        match self {
            ReadBack::Skipped => None,
            ReadBack::Landed { on, sent } if on.len() >= *sent => None,
            ReadBack::Landed { on, sent } => Some(format!(
                "only {} of the {sent} events are visible in Dynatrace after {}",
                on.len(),
                crate::pipeline::human(wait)
            )),
            ReadBack::NotVisible => Some(format!(
                "the event is not visible in Dynatrace after {}; raise --event-wait, or check the events API",
                crate::pipeline::human(wait)
            )),
            ReadBack::Failed(e) => Some(format!("the event could not be read back: {e}")),
        }
    }

    fn json(&self) -> Value {
        let entities = |on: &[Landed]| {
            on.iter()
                .map(|l| {
                    serde_json::json!({"entityId": l.entity_id, "name": l.entity_name, "eventId": l.event_id})
                })
                .collect::<Vec<_>>()
        };
        match self {
            ReadBack::Skipped => serde_json::json!({"status": "skipped"}),
            ReadBack::Landed { on, sent } => serde_json::json!({
                "status": if on.len() >= *sent { "visible" } else { "partly_visible" },
                "entities": entities(on),
            }),
            ReadBack::NotVisible => serde_json::json!({"status": "not_visible", "entities": []}),
            ReadBack::Failed(e) => {
                serde_json::json!({"status": "failed", "error": e.to_string()})
            }
        }
    }
}

/// Reads each sent event back by its correlation id until every one is visible on as many
/// entities as took it, or `wait` is over (Dynatrace shows events only after an ingest delay).
/// Bounded by the number of polls too, whatever the clock does.
fn read_back(
    client: &crate::source::http::Client,
    runtime: &tokio::runtime::Runtime,
    clock: &dyn Clock,
    results: &[Result<Vec<IngestResult>, EventError>],
    start_ms: Option<i64>,
    wait: chrono::Duration,
) -> Vec<ReadBack> {
    const MINUTE_MS: i64 = 60_000;
    // (correlation id, entities it was sent to) of each event that reached any.
    let wanted: Vec<Option<(String, usize)>> = results
        .iter()
        .map(|r| {
            let ok: Vec<&IngestResult> = r
                .as_ref()
                .ok()?
                .iter()
                .filter(|x| x.status == "OK")
                .collect();
            let id = ok.first()?.correlation_id.clone();
            events::plain_correlation_id(&id).then_some((id, ok.len()))
        })
        .collect();
    let mut out: Vec<ReadBack> = wanted
        .iter()
        .map(|w| match w {
            Some(_) => ReadBack::NotVisible,
            None => ReadBack::Skipped,
        })
        .collect();
    let started = clock.now();
    let poll = crate::pipeline::poll_interval(wait);
    let max_polls = wait.num_milliseconds().max(0) / poll.num_milliseconds() + 1;
    for round in 0..=max_polls {
        let pending: Vec<usize> = (0..out.len())
            .filter(|&i| match (&out[i], &wanted[i]) {
                (ReadBack::NotVisible, Some(_)) => true,
                (ReadBack::Landed { on, sent }, Some(_)) => on.len() < *sent,
                _ => false,
            })
            .collect();
        if pending.is_empty() {
            break;
        }
        let waited = clock.now() - started;
        if round > 0 {
            if waited >= wait {
                break;
            }
            stderr(&format!(
                "waiting for the event to become visible in Dynatrace… {} of {} (--event-wait)\n",
                crate::pipeline::human(waited),
                crate::pipeline::human(wait)
            ));
            clock.sleep((poll.min(wait - waited)).to_std().unwrap_or_default());
        }
        let now_ms = clock.now().timestamp_millis();
        // The event starts at --time (or now): a window around it and now finds it.
        let from = start_ms.unwrap_or(now_ms).min(now_ms) - 10 * MINUTE_MS;
        let to = start_ms.unwrap_or(now_ms).max(now_ms) + 10 * MINUTE_MS;
        let found = runtime.block_on(join_all(pending.iter().map(|&i| {
            let (id, _) = wanted[i]
                .as_ref()
                .expect("pending events have a correlation id");
            events::by_correlation(client, id, from, to)
        })));
        for (i, r) in pending.into_iter().zip(found) {
            let sent = wanted[i].as_ref().map(|w| w.1).unwrap_or(0);
            out[i] = match r {
                Ok(on) if on.is_empty() => ReadBack::NotVisible,
                Ok(on) => ReadBack::Landed { on, sent },
                Err(e) => ReadBack::Failed(e),
            };
        }
        if wait <= chrono::Duration::zero() {
            break;
        }
    }
    out
}

/// Lines naming what the user may have meant by a service whose event reached no entity: a
/// stage or service of the config root, and services in Dynatrace with a close name.
async fn unmatched_hint(
    client: &crate::source::http::Client,
    root: &std::path::Path,
    settings: &crate::model::settings::Settings,
    stage: Option<&str>,
    service: &str,
    selector: &str,
    now_ms: i64,
) -> String {
    const DAY_MS: i64 = 24 * 3600 * 1000;
    let mut out = String::new();
    if let Some(h) = crate::hint::selection(root, settings, stage, Some(service)) {
        out.push_str(&format!("  {h}\n"));
    }
    let matched = entities::matched(client, selector, Some(service), now_ms - DAY_MS, now_ms);
    if let entities::Matched::None { closest } = matched.await {
        let close: Vec<&String> = closest.iter().filter(|n| n.as_str() != service).collect();
        if !close.is_empty() {
            let names: Vec<&str> = close.iter().map(|n| n.as_str()).collect();
            out.push_str(&format!(
                "  services in Dynatrace with a close name: {}\n",
                names.join(", ")
            ));
        }
    }
    out
}

/// One event's outcome in words; `false` when it did not reach any entity.
fn describe(
    body: &Value,
    selector: &str,
    result: &Result<Vec<IngestResult>, EventError>,
    token_env: &str,
    hint: &str,
) -> (String, bool) {
    let head = format!(
        "{} \"{}\"\n  entities: {selector}\n",
        body["eventType"].as_str().unwrap_or(""),
        body["title"].as_str().unwrap_or("")
    );
    match result {
        Err(EventError::Send(SendError::Auth { status, message })) => (
            format!(
                "{head}  refused ({status}): {message}. The token in {token_env} needs the scope events.ingest.\n"
            ),
            false,
        ),
        Err(e) => (format!("{head}  not sent: {e}\n"), false),
        Ok(rs) if rs.is_empty() => (
            format!(
                "{head}  no entity matched: check the tags of the services (Dynatrace matches only entities seen in the last 24 hours), or select them with entityId(\"SERVICE-...\") or --entity-selector\n{hint}"
            ),
            false,
        ),
        Ok(rs) => {
            let bad: Vec<&IngestResult> = rs.iter().filter(|r| r.status != "OK").collect();
            let ids: Vec<String> = rs
                .iter()
                .map(|r| format!("{} ({})", r.correlation_id, r.status))
                .collect();
            let mut s = format!(
                "{head}  sent to {} entit{}: {}\n",
                rs.len(),
                if rs.len() == 1 { "y" } else { "ies" },
                ids.join(", ")
            );
            if !bad.is_empty() {
                s.push_str("  Dynatrace did not accept the event for every entity (INVALID_TIMESTAMPS: --time is too far in the past or future; INVALID_METADATA: a reserved dt.* property)\n");
            }
            (s, bad.is_empty())
        }
    }
}
