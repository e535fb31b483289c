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
use crate::source::events::{self, EventError, IngestResult};
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
    let mut exit = Exit::Pass;
    let mut shown = Vec::new();
    for (((selector, body), result), hint) in bodies.iter().zip(results).zip(hints) {
        let (line, ok) = describe(body, selector, &result, &conn.token_env, &hint);
        if !ok {
            exit = Exit::CouldNotEvaluate;
        }
        shown.push((line, body, result));
    }
    match args.format {
        ReportFormat::Json => {
            let doc: Vec<Value> = shown
                .iter()
                .map(|(_, body, r)| {
                    serde_json::json!({
                        "event": body,
                        "results": r.as_ref().ok().map(|rs| rs.iter().map(|x| serde_json::json!({"correlationId": x.correlation_id, "status": x.status})).collect::<Vec<_>>()),
                        "error": r.as_ref().err().map(|e| e.to_string()),
                    })
                })
                .collect();
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ReportFormat::Text => {
            let text: String = shown.iter().map(|(l, _, _)| l.as_str()).collect();
            stdout(&text);
        }
    }
    if exit != Exit::Pass {
        stderr("could not mark every event; see above\n");
    }
    Ok(exit)
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
