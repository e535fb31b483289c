//! Events v2 (§5, §6): `POST /api/v2/events/ingest`, `GET /api/v2/events`,
//! `GET /api/v2/events/{id}`.

use serde_json::{Map, Value, json};

use crate::common::{
    ApiError, ApiResult, Hash, Params, Reply, encode_cursor, page_size, resolve_page,
};
use crate::entities::{self, mz_json, tag_json};
use crate::scenario::Scenario;
use crate::selector;
use crate::time::{DAY, HOUR, MINUTE};

pub const EVENT_TYPES: &[&str] = &[
    "AVAILABILITY_EVENT",
    "CUSTOM_ALERT",
    "CUSTOM_ANNOTATION",
    "CUSTOM_CONFIGURATION",
    "CUSTOM_DEPLOYMENT",
    "CUSTOM_INFO",
    "ERROR_EVENT",
    "MARKED_FOR_TERMINATION",
    "PERFORMANCE_EVENT",
    "RESOURCE_CONTENTION_EVENT",
    "WARNING",
];

/// Info events (`CUSTOM_*`, `MARKED_FOR_TERMINATION`) do not open problems.
pub fn is_info(event_type: &str) -> bool {
    event_type.starts_with("CUSTOM_") && event_type != "CUSTOM_ALERT"
        || event_type == "MARKED_FOR_TERMINATION"
}

/// A validated ingest body.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestRequest {
    pub event_type: String,
    pub title: String,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub timeout_min: Option<i64>,
    pub entity_selector: Option<String>,
    pub properties: Vec<(String, String)>,
}

fn body_err(path: &str, msg: impl Into<String>) -> ApiError {
    ApiError::violation(path, msg, "PAYLOAD_BODY")
}

fn opt_int(o: &Map<String, Value>, k: &str) -> Result<Option<i64>, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| body_err(k, "must be an integer")),
    }
}

/// Validates the body; unknown fields are ignored.
pub fn parse_ingest(body: &Value) -> Result<IngestRequest, ApiError> {
    let Some(o) = body.as_object() else {
        return Err(body_err("", "The request body must be a JSON object."));
    };
    let event_type = match o.get("eventType") {
        None | Some(Value::Null) => return Err(body_err("eventType", "must not be null")),
        Some(Value::String(s)) if EVENT_TYPES.contains(&s.as_str()) => s.clone(),
        Some(v) => {
            return Err(body_err(
                "eventType",
                format!(
                    "Invalid event type {v}. Use one of: {}",
                    EVENT_TYPES.join(", ")
                ),
            ));
        }
    };
    let title = match o.get("title") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(body_err("title", "must not be blank")),
    };
    let start = opt_int(o, "startTime")?;
    let end = opt_int(o, "endTime")?;
    let timeout_min = opt_int(o, "timeout")?;
    if timeout_min.is_some_and(|t| t < 1) {
        return Err(body_err("timeout", "must be at least 1"));
    }
    let entity_selector = match o.get("entitySelector") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => {
            selector::parse(s)
                .map_err(|e| body_err("entitySelector", format!("Invalid entity selector: {e}")))?;
            Some(s.clone())
        }
        Some(_) => return Err(body_err("entitySelector", "must be a string")),
    };
    let mut properties = Vec::new();
    match o.get("properties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(p)) => {
            if p.len() > 100 {
                return Err(body_err(
                    "properties",
                    "must not have more than 100 entries",
                ));
            }
            for (k, v) in p {
                if k.is_empty() || k.chars().count() > 100 {
                    return Err(body_err(
                        &format!("properties.{k}"),
                        "keys must have 1 to 100 characters",
                    ));
                }
                let s = match v {
                    Value::Null => continue,
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(body_err(
                            &format!("properties.{k}"),
                            "values must be strings, numbers or booleans",
                        ));
                    }
                };
                if s.chars().count() > 4096 {
                    return Err(body_err(
                        &format!("properties.{k}"),
                        "values must not be longer than 4096 characters",
                    ));
                }
                properties.push((k.clone(), s));
            }
        }
        Some(_) => return Err(body_err("properties", "must be an object")),
    }
    Ok(IngestRequest {
        event_type,
        title,
        start,
        end,
        timeout_min,
        entity_selector,
        properties,
    })
}

/// What an event is attached to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub tags: Vec<String>,
    pub zones: Vec<String>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: String,
    pub event_type: String,
    pub title: String,
    pub start: i64,
    pub end: i64,
    pub correlation_id: String,
    pub target: Target,
    pub properties: Vec<(String, String)>,
    /// Ingested through the API (not from the scenario).
    pub ingested: bool,
    /// Real wall-clock ms from which the events API shows it (the scenario's ingest delay).
    pub visible_from: i64,
}

impl StoredEvent {
    pub fn is_open(&self, now: i64) -> bool {
        now < self.end
    }

    /// The `GET /api/v2/events` shape.
    pub fn to_json(&self, now: i64) -> Value {
        json!({
            "eventId": self.id,
            "eventType": self.event_type,
            "title": self.title,
            "startTime": self.start,
            "endTime": self.end,
            "status": if self.is_open(now) { "OPEN" } else { "CLOSED" },
            "correlationId": self.correlation_id,
            "entityId": {"entityId": {"id": self.target.id, "type": self.target.kind},
                         "name": self.target.name},
            "properties": self.properties.iter()
                .map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
            "entityTags": self.target.tags.iter().map(|t| tag_json(t)).collect::<Vec<_>>(),
            "managementZones": self.target.zones.iter().map(|z| mz_json(z)).collect::<Vec<_>>(),
            "underMaintenance": false,
            "suppressAlert": false,
            "suppressProblem": false,
            "frequentEvent": false,
        })
    }
}

/// The event store and the id counter.
#[derive(Debug, Default)]
pub struct EventStore {
    pub events: Vec<StoredEvent>,
    pub counter: u64,
}

fn reserved_ok(key: &str) -> bool {
    !key.starts_with("dt.")
        || key.starts_with("dt.event.")
        || key.starts_with("dt.davis.")
        || key.starts_with("dt.entity.")
}

/// Ingests a validated request; returns the 201 body. `check_times` applies the accepted
/// start-time windows relative to `now`.
pub fn ingest(
    sc: &Scenario,
    store: &mut EventStore,
    req: &IngestRequest,
    now: i64,
    check_times: bool,
    from_api: bool,
) -> Value {
    let targets: Vec<Target> = match &req.entity_selector {
        Some(sel) => entities::select(sc, sel)
            .unwrap_or_default()
            .into_iter()
            .map(|s| Target {
                id: s.id.clone(),
                kind: "SERVICE".into(),
                name: s.name.clone(),
                tags: s.tags.clone(),
                zones: s.management_zones.clone(),
            })
            .collect(),
        None => vec![Target {
            id: "environment".into(),
            kind: "ENVIRONMENT".into(),
            name: "environment".into(),
            tags: Vec::new(),
            zones: Vec::new(),
        }],
    };
    store.counter += 1;
    let correlation = format!(
        "{:016x}",
        Hash::new(sc.seed)
            .str("correlation")
            .num(store.counter)
            .value()
    );
    let start = req.start.unwrap_or(now);
    let timeout = req.timeout_min.unwrap_or(15).min(360);
    let end = req.end.unwrap_or(start + timeout * MINUTE);
    let meta_ok = req.properties.iter().all(|(k, _)| reserved_ok(k));
    let times_ok = end >= start
        && (!check_times || {
            let (past, future) = if is_info(&req.event_type) {
                (30 * DAY, 7 * DAY)
            } else {
                (6 * HOUR, 5 * MINUTE)
            };
            start >= now - past && start <= now + future
        });
    // Measured on the real clock: the delay is about when a client asks, not about the scenario's "now".
    let visible_from = if from_api && sc.event_visibility_delay_ms > 0 {
        crate::time::real_now() + sc.event_visibility_delay_ms
    } else {
        0
    };
    let mut results = Vec::new();
    for t in targets {
        let status = if !meta_ok {
            "INVALID_METADATA"
        } else if !times_ok {
            "INVALID_TIMESTAMPS"
        } else {
            "OK"
        };
        if status == "OK" {
            let n = Hash::new(sc.seed)
                .str("event")
                .num(store.counter)
                .str(&t.id)
                .value()
                >> 1;
            store.events.push(StoredEvent {
                id: format!("{n}_{start}"),
                event_type: req.event_type.clone(),
                title: req.title.clone(),
                start,
                end,
                correlation_id: correlation.clone(),
                target: t,
                properties: req.properties.clone(),
                ingested: from_api,
                visible_from,
            });
        }
        results.push(json!({"correlationId": correlation, "status": status}));
    }
    json!({"reportCount": results.len(), "eventIngestResults": results})
}

fn matches_selector(e: &StoredEvent, crit: &[selector::Criterion], now: i64) -> bool {
    crit.iter().all(|c| {
        let a = &c.args;
        match c.name.as_str() {
            "eventType" => a.contains(&e.event_type),
            "eventId" => a.contains(&e.id),
            "entityId" => a.contains(&e.target.id),
            "correlationId" => a.contains(&e.correlation_id),
            "status" => {
                let st = if e.is_open(now) { "OPEN" } else { "CLOSED" };
                a.iter().any(|x| x.eq_ignore_ascii_case(st))
            }
            "managementZone" => a.iter().any(|x| e.target.zones.contains(x)),
            name => match name.strip_prefix("property.") {
                Some(key) => e
                    .properties
                    .iter()
                    .any(|(k, v)| k == key && a.iter().any(|x| x == v)),
                None => false,
            },
        }
    })
}

fn parse_event_selector(s: &str) -> Result<Vec<selector::Criterion>, ApiError> {
    let crit = selector::parse(s)
        .map_err(|e| ApiError::query("eventSelector", format!("Invalid event selector: {e}")))?;
    for c in &crit {
        let known = matches!(
            c.name.as_str(),
            "eventType" | "eventId" | "entityId" | "correlationId" | "status" | "managementZone"
        ) || c.name.starts_with("property.");
        if !known {
            return Err(ApiError::query(
                "eventSelector",
                format!("Unknown event selector criterion '{}'.", c.name),
            ));
        }
        if c.name == "eventType" && c.args.len() != 1 {
            return Err(ApiError::query(
                "eventSelector",
                "eventType takes exactly one event type.",
            ));
        }
        if c.args.is_empty() {
            return Err(ApiError::query(
                "eventSelector",
                format!("'{}' needs a value.", c.name),
            ));
        }
    }
    Ok(crit)
}

/// `GET /api/v2/events`.
pub fn list(sc: &Scenario, store: &EventStore, params: &Params, now: i64) -> ApiResult {
    let (params, offset, size) = resolve_page("events", params, &[])?;
    let (from, to) = crate::time::window(&params, now, "now-2h")?;
    let size = match size {
        Some(s) => s,
        None => page_size(&params, 100, 1000)?,
    };
    let crit = match params.get_nonblank("eventSelector") {
        Some(s) => parse_event_selector(s)?,
        None => Vec::new(),
    };
    let ids: Option<Vec<String>> = match params.get_nonblank("entitySelector") {
        Some(s) => Some(
            entities::select_param(sc, "entitySelector", s)?
                .iter()
                .map(|x| x.id.clone())
                .collect(),
        ),
        None => None,
    };
    let real_now = crate::time::real_now();
    let mut found: Vec<&StoredEvent> = store
        .events
        .iter()
        .filter(|e| e.visible_from <= real_now)
        .filter(|e| e.start <= to && e.end >= from)
        .filter(|e| ids.as_ref().is_none_or(|ids| ids.contains(&e.target.id)))
        .filter(|e| matches_selector(e, &crit, now))
        .collect();
    found.sort_by_key(|e| std::cmp::Reverse(e.start));
    let total = found.len();
    let next = if offset + size < total {
        let mut p = params.clone();
        p.set("from", from.to_string());
        p.set("to", to.to_string());
        json!(encode_cursor("events", &p, offset + size, size))
    } else {
        Value::Null
    };
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(size)
        .map(|e| e.to_json(now))
        .collect();
    Ok(Reply::ok(json!({
        "totalCount": total, "pageSize": size, "nextPageKey": next, "warnings": [], "events": page
    })))
}

/// `GET /api/v2/events/{id}`.
pub fn get(store: &EventStore, id: &str, now: i64) -> ApiResult {
    store
        .events
        .iter()
        .find(|e| e.id == id && e.visible_from <= crate::time::real_now())
        .map(|e| Reply::ok(e.to_json(now)))
        .ok_or_else(|| ApiError::not_found(format!("Event with ID '{id}' not found.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(parse_ingest(&json!([])).is_err());
        assert_eq!(
            parse_ingest(&json!({"title": "x"})).unwrap_err().violations[0].path,
            "eventType"
        );
        assert!(parse_ingest(&json!({"eventType": "NOPE", "title": "x"})).is_err());
        assert!(parse_ingest(&json!({"eventType": "CUSTOM_INFO"})).is_err());
        assert!(
            parse_ingest(
                &json!({"eventType": "CUSTOM_INFO", "title": "x", "properties": {"a": {"b": 1}}})
            )
            .is_err()
        );
        let r = parse_ingest(
            &json!({"eventType": "CUSTOM_INFO", "title": "x", "unknown": 1,
            "properties": {"a": true, "n": 5, "s": "t"}}),
        )
        .unwrap();
        assert_eq!(
            r.properties,
            [
                ("a".into(), "true".into()),
                ("n".into(), "5".into()),
                ("s".into(), "t".into())
            ]
        );
        assert!(is_info("CUSTOM_DEPLOYMENT"));
        assert!(!is_info("CUSTOM_ALERT"));
        assert!(!is_info("ERROR_EVENT"));
    }

    #[test]
    fn ingested_events_stay_invisible_for_the_scenario_delay() {
        let now = crate::time::real_now();
        let req = parse_ingest(&json!({"eventType": "CUSTOM_DEPLOYMENT", "title": "v2"})).unwrap();
        let count = |sc: &Scenario| {
            let mut store = EventStore::default();
            ingest(sc, &mut store, &req, now, true, true);
            let id = store.events[0].id.clone();
            let listed = list(sc, &store, &Params::parse(None), now)
                .unwrap()
                .body
                .unwrap()["totalCount"]
                .as_u64()
                .unwrap();
            (listed, get(&store, &id, now).is_ok())
        };
        assert_eq!(count(&Scenario::default()), (1, true));
        let delayed = Scenario {
            event_visibility_delay_ms: 60_000,
            ..Scenario::default()
        };
        assert_eq!(count(&delayed), (0, false));
    }
}
