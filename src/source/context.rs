//! The Problems and Events APIs v2, read for the verdict's context: what else happened on the
//! service's entities during the windows. A refusal or failure here is never fatal: it comes
//! back as the reason the section was not checked.

use serde_json::Value;

use crate::context::{MaintenanceFilter, RawEvent, RawMaintenance, RawProblem};
use crate::query::{Method, Request};
use crate::source::http::{Client, SendError, error_message};

/// At most this many pages are read (problems: 500 a page, events: 1000 a page).
const MAX_PAGES: usize = 10;

fn get(path: &str, query: &[(&str, String)]) -> Request {
    Request {
        method: Method::Get,
        path: path.into(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        body: None,
    }
}

/// The first page of the problems of the entities of `selector` over `[from, to]`.
pub fn problems_request(selector: &str, from_ms: i64, to_ms: i64) -> Request {
    get(
        "/api/v2/problems",
        &[
            ("entitySelector", selector.to_string()),
            ("from", from_ms.to_string()),
            ("to", to_ms.to_string()),
            ("pageSize", "500".to_string()),
        ],
    )
}

/// The first page of the events of the entities of `selector` over `[from, to]`.
pub fn events_request(selector: &str, from_ms: i64, to_ms: i64) -> Request {
    get(
        "/api/v2/events",
        &[
            ("entitySelector", selector.to_string()),
            ("from", from_ms.to_string()),
            ("to", to_ms.to_string()),
            ("pageSize", "1000".to_string()),
        ],
    )
}

/// The first page of the environment's maintenance windows.
pub fn maintenance_request() -> Request {
    get(
        "/api/v2/settings/objects",
        &[
            (
                "schemaIds",
                "builtin:alerting.maintenance-window".to_string(),
            ),
            ("scopes", "environment".to_string()),
            ("fields", "objectId,value".to_string()),
            ("pageSize", "500".to_string()),
        ],
    )
}

/// Why a list could not be read, for "not checked: …".
fn refused(e: SendError, scope: &str) -> String {
    match e {
        SendError::Auth { status: 403, .. } => {
            format!("the token lacks the scope {scope} (docs/token-scopes.md)")
        }
        SendError::Auth { status, message } => {
            format!("the token was refused ({status}): {message}")
        }
        SendError::Transport { message, .. } => message,
        SendError::MissingToken { message } => message,
    }
}

/// Every page of a list, each answer's `key` array, bounded.
async fn pages(
    client: &Client,
    path: &str,
    mut query: Vec<(String, String)>,
    key: &str,
    scope: &str,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for _ in 0..MAX_PAGES {
        let req = Request {
            method: Method::Get,
            path: path.into(),
            query: query.clone(),
            body: None,
        };
        let resp = client.send(&req).await.map_err(|e| refused(e, scope))?;
        if !resp.is_success() {
            return Err(format!(
                "Dynatrace answered {}: {}",
                resp.status,
                error_message(&resp.body)
            ));
        }
        let v: Value = serde_json::from_str(&resp.body)
            .map_err(|_| format!("the answer of {path} is not JSON"))?;
        out.extend(
            v.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .cloned(),
        );
        match v.get("nextPageKey").and_then(Value::as_str) {
            Some(k) if !k.is_empty() => query = vec![("nextPageKey".into(), k.into())],
            _ => return Ok(out),
        }
    }
    Ok(out)
}

fn string(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An entity reference's name, else its id.
fn entity_name(v: &Value) -> Option<String> {
    v.get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| v.pointer("/entityId/id").and_then(Value::as_str))
        .map(str::to_string)
}

/// `GET /api/v2/problems` for the entities of `selector` whose lifetime overlaps `[from, to]`.
pub async fn problems(
    client: &Client,
    selector: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<RawProblem>, String> {
    let req = problems_request(selector, from_ms, to_ms);
    let list = pages(client, &req.path, req.query, "problems", "problems.read").await?;
    Ok(list
        .iter()
        .filter_map(|p| {
            let start_ms = p.get("startTime").and_then(Value::as_i64)?;
            Some(RawProblem {
                problem_id: string(p, "problemId"),
                display_id: string(p, "displayId"),
                title: string(p, "title"),
                severity: string(p, "severityLevel"),
                status: string(p, "status"),
                start_ms,
                end_ms: p
                    .get("endTime")
                    .and_then(Value::as_i64)
                    .filter(|e| *e >= start_ms),
                root_cause: p.get("rootCauseEntity").and_then(entity_name),
                affected: p
                    .get("affectedEntities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.pointer("/entityId/id").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect(),
                on_related: None,
            })
        })
        .collect())
}

/// The problems of the service's entities and of the process groups and hosts it runs on
/// ([`crate::context::related_selectors`]), all requests at once. The service's own come
/// first (a problem on both is the service's); a refused related request is the second
/// value's reason, and the service's problems stand.
pub async fn problems_with_related(
    client: &Client,
    selector: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<(Vec<RawProblem>, Option<String>), String> {
    let [(pg_kind, pg), (host_kind, host)] = crate::context::related_selectors(selector);
    let (own, pgs, hosts) = tokio::join!(
        problems(client, selector, from_ms, to_ms),
        problems(client, &pg, from_ms, to_ms),
        problems(client, &host, from_ms, to_ms)
    );
    let mut out = own?;
    let mut not_checked = None;
    for (kind, found) in [(pg_kind, pgs), (host_kind, hosts)] {
        match found {
            Ok(list) => out.extend(list.into_iter().map(|mut p| {
                p.on_related = Some(kind.to_string());
                p
            })),
            Err(why) => {
                not_checked.get_or_insert(format!("the problems of its {kind}s: {why}"));
            }
        }
    }
    Ok((out, not_checked))
}

/// `GET /api/v2/events` of every type for the entities of `selector` in `[from, to]`; the
/// caller keeps the change events (the API takes one event type per request).
pub async fn events(
    client: &Client,
    selector: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<RawEvent>, String> {
    let req = events_request(selector, from_ms, to_ms);
    let list = pages(client, &req.path, req.query, "events", "events.read").await?;
    Ok(list
        .iter()
        .filter_map(|e| {
            Some(RawEvent {
                event_id: string(e, "eventId"),
                event_type: string(e, "eventType"),
                title: string(e, "title"),
                start_ms: e.get("startTime").and_then(Value::as_i64)?,
                entity_id: e
                    .pointer("/entityId/entityId/id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                entity_name: e.get("entityId").and_then(entity_name),
                properties: e
                    .get("properties")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        let k = p.get("key")?.as_str()?.to_string();
                        let v = match p.get("value")? {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        Some((k, v))
                    })
                    .collect(),
            })
        })
        .collect())
}

/// The maintenance windows of the environment: `GET /api/v2/settings/objects` of the schema
/// `builtin:alerting.maintenance-window` (scope `settings.read`). Enabled windows only; their
/// schedules (one-time, daily, weekly, monthly, in their time zones) are placed in time later,
/// over the windows of each service.
pub async fn maintenance(client: &Client) -> Result<Vec<RawMaintenance>, String> {
    let req = maintenance_request();
    let list = pages(client, &req.path, req.query, "items", "settings.read").await?;
    Ok(list
        .iter()
        .filter_map(|o| o.get("value"))
        .filter(|v| v.get("enabled").and_then(Value::as_bool) != Some(false))
        .map(|v| RawMaintenance {
            name: v
                .pointer("/generalProperties/name")
                .and_then(Value::as_str)
                .unwrap_or("maintenance window")
                .to_string(),
            schedule: crate::context::schedule::parse(v),
            filters: v
                .get("filters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| {
                    let strings = |k: &str| -> Vec<String> {
                        f.get(k)
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    };
                    let one = |k: &str| {
                        f.get(k)
                            .and_then(Value::as_str)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                    };
                    MaintenanceFilter {
                        entity_type: one("entityType"),
                        entity_id: one("entityId"),
                        entity_tags: strings("entityTags"),
                        management_zones: strings("managementZones"),
                    }
                })
                .collect(),
        })
        .collect())
}
