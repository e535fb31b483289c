//! "No such service" or "no traffic"? When a metric query returns no series, the entities API
//! tells whether its entity selector matched any entity at all. No entity means the selection
//! is wrong (a misspelled `--service`, a missing tag): that is no verdict about the release.

use serde_json::Value;

use crate::query::{Method, Request};
use crate::source::http::{Client, SendError};

/// What the entities API said about one selector.
#[derive(Clone, Debug, PartialEq)]
pub enum Matched {
    /// At least one entity matches: the entity exists, it sent no data in the window.
    Some,
    /// Nothing matches; the names of entities of the same type that come closest.
    None { closest: Vec<String> },
    /// The question could not be answered (no scope, an error): keep Keptn's message.
    Unknown,
}

/// The entity type a selector asks for (`type(SERVICE)` → `SERVICE`).
pub fn selector_type(selector: &str) -> Option<String> {
    let start = selector.find("type(")? + "type(".len();
    let rest = &selector[start..];
    let end = rest.find(')')?;
    let t = rest[..end].trim().trim_matches('"');
    (!t.is_empty()).then(|| t.to_string())
}

/// Up to three names closest to `wanted` (Jaro-Winkler ≥ 0.7), best first.
pub fn closest(wanted: &str, names: &[String]) -> Vec<String> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(f64, &String)> = names
        .iter()
        .map(|n| (strsim::jaro_winkler(&w, &n.to_lowercase()), n))
        .filter(|(s, _)| *s >= 0.7)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, n) in scored {
        if !out.contains(n) {
            out.push(n.clone());
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}

/// Entities matching `selector` seen between `from_ms` and `to_ms`: how many, and their names
/// (first page only).
async fn entities(
    client: &Client,
    selector: &str,
    from_ms: i64,
    to_ms: i64,
    page_size: u32,
) -> Result<(u64, Vec<String>), ()> {
    let req = Request {
        method: Method::Get,
        path: "/api/v2/entities".into(),
        query: vec![
            ("entitySelector".into(), selector.to_string()),
            ("from".into(), from_ms.to_string()),
            ("to".into(), to_ms.to_string()),
            ("pageSize".into(), page_size.to_string()),
        ],
        body: None,
    };
    let resp = match client.send(&req).await {
        Ok(r) if r.is_success() => r,
        Ok(_) | Err(SendError::Auth { .. }) | Err(_) => return Err(()),
    };
    let v: Value = serde_json::from_str(&resp.body).map_err(|_| ())?;
    let total = v.get("totalCount").and_then(Value::as_u64).unwrap_or(0);
    let names = v
        .get("entities")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("displayName").or_else(|| e.get("name")))
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok((total, names))
}

/// Whether `selector` matches any entity in the window (widened by the entities API's own
/// default of three days, so a service that was quiet for the window still counts as existing),
/// and if not, which entities of its type come closest to `wanted` (the service name).
pub async fn matched(
    client: &Client,
    selector: &str,
    wanted: Option<&str>,
    from_ms: i64,
    to_ms: i64,
) -> Matched {
    const THREE_DAYS_MS: i64 = 3 * 24 * 3600 * 1000;
    let from = from_ms.saturating_sub(THREE_DAYS_MS);
    match entities(client, selector, from, to_ms, 1).await {
        Ok((n, _)) if n > 0 => Matched::Some,
        Ok(_) => {
            let names = match (selector_type(selector), wanted) {
                (Some(t), Some(_)) => entities(client, &format!("type({t})"), from, to_ms, 500)
                    .await
                    .map(|(_, names)| names)
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            Matched::None {
                closest: wanted.map(|w| closest(w, &names)).unwrap_or_default(),
            }
        }
        Err(()) => Matched::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_of_a_selector() {
        assert_eq!(
            selector_type("type(SERVICE),tag(keptn_service:checkout)").as_deref(),
            Some("SERVICE")
        );
        assert_eq!(
            selector_type("tag(x),type(\"PROCESS_GROUP_INSTANCE\")").as_deref(),
            Some("PROCESS_GROUP_INSTANCE")
        );
        assert_eq!(selector_type("entityId(SERVICE-1)"), None);
    }

    #[test]
    fn closest_names_first_and_nothing_far_off() {
        let names: Vec<String> = ["checkout-service", "cart", "payment", "checkout"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("chekout", &names), ["checkout", "checkout-service"]);
        assert!(closest("zzz", &names).is_empty());
    }
}
