//! Many environments behind one simulator, the way a Dynatrace Managed cluster serves its
//! tenants under `/e/<env-id>/api/...`: each environment has its own tokens, its own mutable
//! state (events, dashboards, DQL, OAuth tokens), optionally its own data, and optional
//! behaviour (a concurrency limit answered with 429 + `Retry-After`, added latency, "down").
//!
//! Generated environments (`generate`) are not stored one by one: an id is recognised by its
//! shape and its token derived from it, and the data is the root scenario's, shared. Only the
//! environments that receive requests get a (small) state, created on first use.

use serde::Deserialize;

use crate::scenario::{Scenario, TokenDef};

/// The read and write scopes slogate uses; the default of generated environments' tokens.
pub const DEFAULT_SCOPES: &[&str] = &[
    "metrics.read",
    "entities.read",
    "events.read",
    "events.ingest",
    "slo.read",
    "problems.read",
    "securityProblems.read",
    "settings.read",
    "ReadConfig",
    "DTAQLAccess",
];

/// `environments` in a scenario. Absent or empty: one environment at the root, as always.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Environments {
    pub list: Vec<EnvDef>,
    pub generate: Option<Generate>,
}

/// How an environment behaves, apart from its tokens and data.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Behaviour {
    /// Requests in flight at once; more are answered 429 with `Retry-After`. None: no limit.
    pub concurrency: Option<usize>,
    /// `Retry-After` seconds of those 429s (default 1).
    pub retry_after_s: Option<u64>,
    /// Added to every response of this environment.
    pub latency_ms: u64,
    /// Every request answers 503 (the tenant is down).
    pub down: bool,
}

impl Behaviour {
    pub fn retry_after(&self) -> u64 {
        self.retry_after_s.unwrap_or(1)
    }
}

/// One listed environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EnvDef {
    pub id: String,
    /// This environment's tokens (the root's `tokens` do not work here).
    pub tokens: Vec<TokenDef>,
    #[serde(flatten)]
    pub behaviour: Behaviour,
    /// Own data (a scenario without `tokens` or `environments`); absent: the root's data.
    pub data: Option<Box<Scenario>>,
}

/// `count` environments `<prefix><n>` (n = 1..=count, zero-padded to the width of `count`),
/// each with the one classic token `<token_prefix><id>`, sharing the root scenario's data.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Generate {
    pub count: usize,
    pub prefix: String,
    pub token_prefix: String,
    /// Scopes of the generated tokens; default [`DEFAULT_SCOPES`].
    pub scopes: Vec<String>,
    #[serde(flatten)]
    pub behaviour: Behaviour,
}

impl Default for Generate {
    fn default() -> Generate {
        Generate {
            count: 0,
            prefix: "env".into(),
            token_prefix: "dt0c01.FLEET.".into(),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            behaviour: Behaviour::default(),
        }
    }
}

impl Generate {
    fn width(&self) -> usize {
        self.count.max(1).to_string().len()
    }

    /// The id of the n-th environment (1-based).
    pub fn id(&self, n: usize) -> String {
        format!("{}{:0w$}", self.prefix, n, w = self.width())
    }

    /// The token of environment `id`.
    pub fn token(&self, id: &str) -> String {
        format!("{}{id}", self.token_prefix)
    }

    /// Whether `id` names one of the generated environments.
    pub fn contains(&self, id: &str) -> bool {
        let Some(num) = id.strip_prefix(&self.prefix) else {
            return false;
        };
        num.len() == self.width()
            && num.bytes().all(|b| b.is_ascii_digit())
            && num
                .parse::<usize>()
                .is_ok_and(|n| n >= 1 && n <= self.count)
    }
}

/// What serving one environment needs to know about it.
#[derive(Debug, Clone)]
pub struct EnvSpec {
    pub tokens: Vec<TokenDef>,
    pub behaviour: Behaviour,
    /// Index into `Environments::list` when that environment has its own data.
    pub own_data: Option<usize>,
}

impl Environments {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.generate.as_ref().is_none_or(|g| g.count == 0)
    }

    /// The environment `id`, if the scenario defines it (listed ones first).
    pub fn find(&self, id: &str) -> Option<EnvSpec> {
        if let Some((i, e)) = self.list.iter().enumerate().find(|(_, e)| e.id == id) {
            return Some(EnvSpec {
                tokens: e.tokens.clone(),
                behaviour: e.behaviour.clone(),
                own_data: e.data.as_ref().map(|_| i),
            });
        }
        let g = self.generate.as_ref().filter(|g| g.contains(id))?;
        Some(EnvSpec {
            tokens: vec![TokenDef {
                token: g.token(id),
                scopes: g.scopes.clone(),
                platform: false,
            }],
            behaviour: g.behaviour.clone(),
            own_data: None,
        })
    }

    /// Every environment id (listed, then generated).
    pub fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.list.iter().map(|e| e.id.clone()).collect();
        if let Some(g) = &self.generate {
            ids.extend((1..=g.count).map(|n| g.id(n)));
        }
        ids
    }

    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, e) in self.list.iter().enumerate() {
            let ok = !e.id.is_empty()
                && e.id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
            if !ok {
                return Err(format!(
                    "environments.list[{i}]: id '{}' must be non-empty letters, digits, - _ .",
                    e.id
                ));
            }
            if !seen.insert(e.id.as_str()) {
                return Err(format!("environments.list[{i}]: duplicate id '{}'", e.id));
            }
            if e.tokens.iter().any(|t| t.token.is_empty()) {
                return Err(format!("environments.list[{i}]: empty token"));
            }
            if e.behaviour.concurrency == Some(0) {
                return Err(format!("environments.list[{i}]: concurrency must be >= 1"));
            }
            if let Some(d) = &e.data {
                if !d.environments.is_empty() {
                    return Err(format!(
                        "environments.list[{i}].data: environments do not nest"
                    ));
                }
                d.validate()
                    .map_err(|m| format!("environments.list[{i}].data: {m}"))?;
            }
        }
        if let Some(g) = &self.generate {
            if g.prefix.is_empty() || g.token_prefix.is_empty() {
                return Err("environments.generate: prefix and token_prefix must be set".into());
            }
            if g.behaviour.concurrency == Some(0) {
                return Err("environments.generate: concurrency must be >= 1".into());
            }
            if let Some(e) = self.list.iter().find(|e| g.contains(&e.id)) {
                return Err(format!(
                    "environments: '{}' is both listed and generated",
                    e.id
                ));
            }
        }
        Ok(())
    }
}

/// Splits `/e/<id>/rest` into (`id`, `/rest`).
pub fn split_env_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/e/")?;
    let i = rest.find('/')?;
    Some((&rest[..i], &rest[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envs(json: &str) -> Environments {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn generated_ids_and_tokens() {
        let e = envs(r#"{"generate":{"count":2000,"prefix":"env","token_prefix":"dt0c01.F."}}"#);
        let g = e.generate.as_ref().unwrap();
        assert_eq!(g.id(1), "env0001");
        assert_eq!(g.id(2000), "env2000");
        assert!(g.contains("env0001") && g.contains("env2000"));
        for no in [
            "env0000", "env2001", "env1", "env00001", "xyz0001", "env00a1", "env",
        ] {
            assert!(!g.contains(no), "{no}");
        }
        let s = e.find("env0042").unwrap();
        assert_eq!(s.tokens[0].token, "dt0c01.F.env0042");
        assert!(s.tokens[0].scopes.iter().any(|x| x == "metrics.read"));
        assert!(e.find("env9999").is_none());
        assert_eq!(e.ids().len(), 2000);
        assert!(e.validate().is_ok());
    }

    #[test]
    fn listed_environments_and_behaviour() {
        let e = envs(
            r#"{"list":[{"id":"eu","tokens":[{"token":"a","scopes":["slo.read"]}],
                         "concurrency":4,"retry_after_s":2,"latency_ms":50},
                        {"id":"down","down":true}]}"#,
        );
        let s = e.find("eu").unwrap();
        assert_eq!(s.behaviour.concurrency, Some(4));
        assert_eq!(s.behaviour.retry_after(), 2);
        assert_eq!(s.behaviour.latency_ms, 50);
        assert!(e.find("down").unwrap().behaviour.down);
        assert_eq!(e.find("down").unwrap().behaviour.retry_after(), 1);
        assert!(e.validate().is_ok());
    }

    #[test]
    fn invalid_definitions() {
        let bad = [
            r#"{"list":[{"id":""}]}"#,
            r#"{"list":[{"id":"a/b"}]}"#,
            r#"{"list":[{"id":"a"},{"id":"a"}]}"#,
            r#"{"list":[{"id":"a","concurrency":0}]}"#,
            r#"{"list":[{"id":"env1"}],"generate":{"count":5}}"#,
            r#"{"generate":{"count":5,"prefix":""}}"#,
        ];
        for b in bad {
            assert!(envs(b).validate().is_err(), "{b}");
        }
        assert!(serde_json::from_str::<Environments>(r#"{"lst":[]}"#).is_err());
    }

    #[test]
    fn env_paths() {
        assert_eq!(
            split_env_path("/e/abc/api/v2/slo"),
            Some(("abc", "/api/v2/slo"))
        );
        assert_eq!(split_env_path("/api/v2/slo"), None);
        assert_eq!(split_env_path("/e/abc"), None);
    }
}
