//! Events API v2: sending events and finding the latest deployment.

use serde_json::Value;

use crate::query::{Method, Request};
use crate::source::http::{Client, SendError, error_message};

/// One result of an ingest: Dynatrace answers one per matched entity.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestResult {
    pub correlation_id: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventError {
    /// The token was refused or is missing (exit 3 / 2).
    Send(SendError),
    /// Dynatrace answered with an error status.
    Api { status: u16, message: String },
    /// The answer could not be read.
    Malformed(String),
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventError::Send(SendError::Auth { status, message }) => {
                write!(f, "the token was refused ({status}): {message}")
            }
            EventError::Send(SendError::Transport { message, url }) => {
                write!(f, "{message} - URL: {url}")
            }
            EventError::Send(SendError::MissingToken { message }) => f.write_str(message),
            EventError::Api { status, message } => {
                write!(f, "Dynatrace answered {status}: {message}")
            }
            EventError::Malformed(m) => f.write_str(m),
        }
    }
}

/// `POST /api/v2/events/ingest`; 201 with one result per matched entity (none when nothing matched).
pub async fn ingest(client: &Client, body: &Value) -> Result<Vec<IngestResult>, EventError> {
    let req = Request {
        method: Method::Post,
        path: "/api/v2/events/ingest".into(),
        query: Vec::new(),
        body: Some(body.clone()),
    };
    let resp = client.send(&req).await.map_err(EventError::Send)?;
    if !resp.is_success() {
        return Err(EventError::Api {
            status: resp.status,
            message: error_message(&resp.body),
        });
    }
    let v: Value = serde_json::from_str(&resp.body).map_err(|_| {
        EventError::Malformed(format!("the ingest answer is not JSON - URL: {}", resp.url))
    })?;
    let results = v
        .get("eventIngestResults")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            EventError::Malformed("the ingest answer has no eventIngestResults".into())
        })?;
    Ok(results
        .iter()
        .map(|r| IngestResult {
            correlation_id: r
                .get("correlationId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            status: r
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("UNKNOWN")
                .to_string(),
        })
        .collect())
}

/// One entity an ingested event landed on, read back by its correlation id.
#[derive(Clone, Debug, PartialEq)]
pub struct Landed {
    pub event_id: String,
    pub entity_id: String,
    pub entity_name: String,
}

/// Whether a correlation id can go into an event selector as it is: Dynatrace's are hex; anything
/// else from a server is not quoted into a query.
pub fn plain_correlation_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The events of one ingest (`correlationId`) in `[from, to]`, one page: an ingest lands on at
/// most as many entities as its selector matched. An answer without an `events` list is
/// malformed, never "not visible yet".
pub async fn by_correlation(
    client: &Client,
    correlation_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Landed>, EventError> {
    let req = Request {
        method: Method::Get,
        path: "/api/v2/events".into(),
        query: vec![
            (
                "eventSelector".to_string(),
                format!("correlationId(\"{correlation_id}\")"),
            ),
            ("from".to_string(), from_ms.to_string()),
            ("to".to_string(), to_ms.to_string()),
            ("pageSize".to_string(), "1000".to_string()),
        ],
        body: None,
    };
    let resp = client.send(&req).await.map_err(EventError::Send)?;
    if !resp.is_success() {
        return Err(EventError::Api {
            status: resp.status,
            message: error_message(&resp.body),
        });
    }
    let v: Value = serde_json::from_str(&resp.body).map_err(|_| {
        EventError::Malformed(format!("the events answer is not JSON - URL: {}", resp.url))
    })?;
    let events = v.get("events").and_then(Value::as_array).ok_or_else(|| {
        EventError::Malformed(format!(
            "the events answer has no events list - URL: {}",
            resp.url
        ))
    })?;
    Ok(landed(events, correlation_id))
}

/// The entities of the events of `correlation_id` (the others are ignored: a server that does not
/// filter must not make foreign events look like ours).
pub fn landed(events: &[Value], correlation_id: &str) -> Vec<Landed> {
    let str_at = |e: &Value, path: &[&str]| {
        path.iter()
            .try_fold(e, |v, k| v.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    events
        .iter()
        .filter(|e| e.get("correlationId").and_then(Value::as_str) == Some(correlation_id))
        .map(|e| Landed {
            event_id: str_at(e, &["eventId"]),
            entity_id: str_at(e, &["entityId", "entityId", "id"]),
            entity_name: str_at(e, &["entityId", "name"]),
        })
        .collect()
}

/// An event as `GET /api/v2/events` returns it, reduced to what slogate reads.
#[derive(Clone, Debug, PartialEq)]
pub struct FoundEvent {
    pub event_id: String,
    pub title: String,
    /// `startTime` in epoch ms; `None` when the event has none that is usable (missing, not an
    /// integer, or outside 2000-01-01 … 9999-12-31): such an event anchors no window.
    pub start_ms: Option<i64>,
    pub properties: Vec<(String, String)>,
}

impl FoundEvent {
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Events of one type for the selected entities in `[from, to]`, all pages (bounded).
pub async fn find(
    client: &Client,
    event_type: &str,
    entity_selector: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<FoundEvent>, EventError> {
    const MAX_PAGES: usize = 20;
    let mut out = Vec::new();
    let mut query = vec![
        (
            "eventSelector".to_string(),
            format!("eventType(\"{event_type}\")"),
        ),
        ("from".to_string(), from_ms.to_string()),
        ("to".to_string(), to_ms.to_string()),
        ("pageSize".to_string(), "1000".to_string()),
    ];
    // An empty selector asks for the events of every entity (`slogate history`).
    if !entity_selector.is_empty() {
        query.push(("entitySelector".to_string(), entity_selector.to_string()));
    }
    for _ in 0..MAX_PAGES {
        let req = Request {
            method: Method::Get,
            path: "/api/v2/events".into(),
            query: query.clone(),
            body: None,
        };
        let resp = client.send(&req).await.map_err(EventError::Send)?;
        if !resp.is_success() {
            return Err(EventError::Api {
                status: resp.status,
                message: error_message(&resp.body),
            });
        }
        let v: Value = serde_json::from_str(&resp.body).map_err(|_| {
            EventError::Malformed(format!("the events answer is not JSON - URL: {}", resp.url))
        })?;
        for e in v
            .get("events")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let properties = e
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
                .collect();
            out.push(FoundEvent {
                event_id: e
                    .get("eventId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                title: e
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                start_ms: e
                    .get("startTime")
                    .and_then(Value::as_i64)
                    .filter(|ms| (USABLE_FROM_MS..=USABLE_TO_MS).contains(ms)),
                properties,
            });
        }
        match v.get("nextPageKey").and_then(Value::as_str) {
            Some(key) if !key.is_empty() => {
                query = vec![("nextPageKey".to_string(), key.to_string())]
            }
            _ => return Ok(out),
        }
    }
    Ok(out)
}

/// 2000-01-01T00:00:00Z: no Dynatrace event is older; an earlier `startTime` is garbage.
const USABLE_FROM_MS: i64 = 946_684_800_000;
/// 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
const USABLE_TO_MS: i64 = 253_402_300_799_000;

/// The newest event of `events` that has a usable start time (ties: the later id).
pub fn latest(events: &[FoundEvent]) -> Option<&FoundEvent> {
    events
        .iter()
        .filter(|e| e.start_ms.is_some())
        .max_by(|a, b| {
            a.start_ms
                .cmp(&b.start_ms)
                .then_with(|| a.event_id.cmp(&b.event_id))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn landed_reads_the_entities_of_its_own_correlation_id_only() {
        let events = [
            json!({"eventId": "1_1", "correlationId": "abc",
                   "entityId": {"entityId": {"id": "SERVICE-1", "type": "SERVICE"}, "name": "checkout"}}),
            json!({"eventId": "2_1", "correlationId": "other",
                   "entityId": {"entityId": {"id": "SERVICE-2", "type": "SERVICE"}, "name": "cart"}}),
            json!({"eventId": "3_1", "correlationId": "abc"}),
        ];
        assert_eq!(
            landed(&events, "abc"),
            [
                Landed {
                    event_id: "1_1".into(),
                    entity_id: "SERVICE-1".into(),
                    entity_name: "checkout".into()
                },
                Landed {
                    event_id: "3_1".into(),
                    entity_id: String::new(),
                    entity_name: String::new()
                }
            ]
        );
    }

    #[test]
    fn only_plain_correlation_ids_go_into_a_selector() {
        assert!(plain_correlation_id("bc7e2e3ed951aa6c"));
        assert!(!plain_correlation_id(""));
        assert!(!plain_correlation_id("a\"),eventType(\"X"));
    }
}
