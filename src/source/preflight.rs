//! One cheap request before anything else (before a wait, before a deployment lookup): is the
//! URL a Dynatrace environment, is the token accepted, and does it hold every scope this run
//! will use? A wrong URL or token with `--wait 45m` then ends in seconds, and all missing scopes
//! are named at once instead of one per run.
//!
//! Classic tokens are checked with `POST /api/v2/apiTokens/lookup`, which any valid token may
//! call and which answers with the token's scopes. Platform tokens have no such call; their
//! first real request tells.

use serde_json::{Value, json};

use crate::query::{Method, Request};
use crate::source::http::{Client, SendError, error_message};
use crate::source::secret::Secret;

/// What the run will ask Dynatrace for, as classic token scopes.
pub const METRICS: &str = "metrics.read";
pub const EVENTS_READ: &str = "events.read";
pub const EVENTS_INGEST: &str = "events.ingest";
pub const ENTITIES: &str = "entities.read";

/// Why the run cannot go on.
#[derive(Clone, Debug, PartialEq)]
pub enum Refusal {
    /// The URL is not reachable, or does not answer like Dynatrace.
    Url(String),
    /// The token is refused, disabled, or lacks scopes.
    Token(String),
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::Url(m) | Refusal::Token(m) => m,
        }
    }
}

/// What the check found out beyond "go on".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    /// The token's scopes, when Dynatrace told them.
    pub scopes: Option<Vec<String>>,
}

impl Checked {
    /// Whether the token has `scope`; `true` when the scopes are not known.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == scope))
    }
}

/// Checks URL, token and `needed` scopes with one request. `url` and `token_env` are for the
/// messages only. Scopes only a side effect needs (pushing the verdict) are not `needed`: ask
/// [`Checked::allows`] for them and warn.
pub async fn check(
    client: &Client,
    token: &Secret,
    token_env: &str,
    url: &str,
    needed: &[&str],
) -> Result<Checked, Refusal> {
    let req = Request {
        method: Method::Post,
        path: "/api/v2/apiTokens/lookup".into(),
        query: Vec::new(),
        body: Some(json!({ "token": token.expose() })),
    };
    let resp = match client.send(&req).await {
        Ok(r) => r,
        Err(SendError::Auth { status, message }) => {
            return Err(Refusal::Token(format!(
                "Dynatrace at {url} refused the token in {token_env} ({status}): {message}; check that it is the environment's token and not expired or revoked (docs/token-scopes.md)"
            )));
        }
        Err(SendError::Transport { message, .. }) => {
            return Err(Refusal::Url(format!(
                "Dynatrace at {url} cannot be reached: {message}; check DT_URL (or `dynatrace.url` in slogate.yaml) and the network"
            )));
        }
        Err(SendError::MissingToken { message }) => return Err(Refusal::Token(message)),
    };
    match resp.status {
        200 => {}
        404 if error_message(&resp.body).contains("token") => {
            // Answered like Dynatrace, but does not know the token.
            return Err(Refusal::Token(format!(
                "Dynatrace at {url} does not know the token in {token_env}; check that it belongs to this environment (docs/token-scopes.md)"
            )));
        }
        // A 404 page that is not Dynatrace's JSON error envelope: the URL points elsewhere.
        404 if serde_json::from_str::<Value>(&resp.body).is_err() => {
            return Err(Refusal::Url(format!(
                "{url} answered 404 for the Dynatrace API: the URL is not an environment's address; write https://<env-id>.live.dynatrace.com (SaaS) or https://<host>/e/<env-id> (Managed), without /api/v2"
            )));
        }
        // Older Managed versions, proxies that allow GET only: the first real request tells.
        _ => return Ok(Checked::default()),
    }
    // Not JSON: leave the verdict on the URL to the data requests, which say what came back.
    let Ok(v) = serde_json::from_str::<Value>(&resp.body) else {
        return Ok(Checked::default());
    };
    if v.get("enabled").and_then(Value::as_bool) == Some(false) {
        return Err(Refusal::Token(format!(
            "the token in {token_env} is disabled in Dynatrace; enable it or create a new one"
        )));
    }
    let scopes: Option<Vec<String>> = v.get("scopes").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    });
    let checked = Checked { scopes };
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|s| !checked.allows(s))
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::Token(format!(
            "the token in {token_env} lacks the scope{} {} that this run needs; add {} to the token (docs/token-scopes.md)",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    Ok(checked)
}

/// A token as pasted into a CI secret often ends with a line break. Returns the token without
/// surrounding whitespace and whether anything was removed.
pub fn trimmed(token: &Secret) -> (Secret, bool) {
    let raw = token.expose();
    let t = raw.trim();
    (Secret::new(t), t.len() != raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_scopes_allow_everything() {
        assert!(Checked::default().allows(METRICS));
        let c = Checked {
            scopes: Some(vec![METRICS.into()]),
        };
        assert!(c.allows(METRICS));
        assert!(!c.allows(EVENTS_READ));
    }

    #[test]
    fn trims_line_breaks_and_says_so() {
        let (t, changed) = trimmed(&Secret::new("dt0c01.ABC.DEF\n"));
        assert_eq!(t.expose(), "dt0c01.ABC.DEF");
        assert!(changed);
        let (t, changed) = trimmed(&Secret::new("dt0c01.ABC.DEF"));
        assert_eq!(t.expose(), "dt0c01.ABC.DEF");
        assert!(!changed);
    }
}
