//! Authentication and scopes (§1).
//!
//! Classic paths (`/api/...`, `/e/{env}/api/...`) take a classic token as
//! `Authorization: Api-Token <t>` (scheme in any case) or the query parameter `api-token`
//! (name in any case). `/platform/...` paths take `Authorization: Bearer <t>` with a platform
//! token (or one issued by the simulated OAuth endpoint).

use serde_json::json;

use crate::common::{ApiError, Params, is_token_param};
use crate::scenario::TokenDef;

/// Which family of API a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Classic,
    Platform,
}

/// The scope an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Metrics,
    EventsRead,
    EventsIngest,
    Slo,
    Entities,
    Problems,
    SecurityProblems,
    UserSessions,
    /// Config API v1 (dashboards).
    Config,
    /// Settings API 2.0 (maintenance windows).
    Settings,
    /// Config API v1, writing (dashboards).
    WriteConfig,
}

impl Area {
    pub fn classic_scope(self) -> &'static str {
        match self {
            Area::Metrics => "metrics.read",
            Area::EventsRead => "events.read",
            Area::EventsIngest => "events.ingest",
            Area::Slo => "slo.read",
            Area::Entities => "entities.read",
            Area::Problems => "problems.read",
            Area::SecurityProblems => "securityProblems.read",
            Area::UserSessions => "DTAQLAccess",
            Area::Config => "ReadConfig",
            Area::Settings => "settings.read",
            Area::WriteConfig => "WriteConfig",
        }
    }

    pub fn platform_scope(self) -> &'static str {
        match self {
            Area::Metrics => "environment-api:metrics:read",
            Area::EventsRead => "environment-api:events:read",
            Area::EventsIngest => "environment-api:events:write",
            Area::Slo => "environment-api:slo:read",
            Area::Entities => "environment-api:entities:read",
            Area::Problems => "environment-api:problems:read",
            Area::SecurityProblems => "environment-api:security-problems:read",
            Area::UserSessions => "environment-api:usql:read",
            Area::Config => "environment-api:config:read",
            Area::Settings => "environment-api:settings:read",
            Area::WriteConfig => "environment-api:config:write",
        }
    }
}

/// The display name Dynatrace shows next to a classic scope.
pub fn scope_display(scope: &str) -> &'static str {
    match scope {
        "metrics.read" => "Read metrics",
        "events.read" => "Read events",
        "events.ingest" => "Ingest events",
        "slo.read" => "Read SLO",
        "entities.read" => "Read entities",
        "problems.read" => "Read problems",
        "securityProblems.read" => "Read security problems",
        "DTAQLAccess" => "User sessions",
        "ReadConfig" => "Read configuration",
        _ => "",
    }
}

pub fn missing_auth() -> ApiError {
    ApiError::new(401, "Missing authorization parameter.")
}

pub fn bad_token() -> ApiError {
    ApiError::new(401, "Token Authentication failed")
}

/// The credential a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    ApiToken(String),
    Bearer(String),
    Other,
    None,
}

/// Reads the `Authorization` header, then the `api-token` query parameter.
pub fn credential(headers: &[(String, String)], params: &Params) -> Credential {
    if let Some((_, v)) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    {
        let v = v.trim();
        let (scheme, rest) = match v.find(char::is_whitespace) {
            Some(i) => (&v[..i], v[i..].trim()),
            None => (v, ""),
        };
        if rest.is_empty() {
            return Credential::Other;
        }
        if scheme.eq_ignore_ascii_case("api-token") {
            return Credential::ApiToken(rest.to_string());
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            return Credential::Bearer(rest.to_string());
        }
        return Credential::Other;
    }
    if let Some((_, v)) = params.pairs.iter().find(|(k, _)| is_token_param(k))
        && !v.trim().is_empty()
    {
        return Credential::ApiToken(v.trim().to_string());
    }
    Credential::None
}

/// Finds the token for the API family; 401 when absent or unknown.
pub fn authenticate(
    tokens: &[TokenDef],
    api: Api,
    headers: &[(String, String)],
    params: &Params,
) -> Result<TokenDef, ApiError> {
    let cred = credential(headers, params);
    let (value, want_platform) = match (&cred, api) {
        (Credential::None, _) => return Err(missing_auth()),
        (Credential::Other, _) => return Err(bad_token()),
        (Credential::ApiToken(t), Api::Classic) => (t, false),
        (Credential::Bearer(t), Api::Platform) => (t, true),
        // Classic tokens do not work on platform paths and vice versa.
        (Credential::ApiToken(_), Api::Platform) => {
            // A token in the query string is not looked at on platform paths.
            if headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            {
                return Err(bad_token());
            }
            return Err(missing_auth());
        }
        (Credential::Bearer(_), Api::Classic) => return Err(bad_token()),
    };
    tokens
        .iter()
        .find(|t| &t.token == value && t.platform == want_platform)
        .cloned()
        .ok_or_else(bad_token)
}

/// 403 unless the token has the area's scope.
pub fn require(token: &TokenDef, api: Api, area: Area) -> Result<(), ApiError> {
    match api {
        Api::Classic => {
            let s = area.classic_scope();
            if token.scopes.iter().any(|x| x == s) {
                Ok(())
            } else {
                Err(ApiError::new(
                    403,
                    format!(
                        "Token is missing required scope. Use one of: {s} ({})",
                        scope_display(s)
                    ),
                ))
            }
        }
        Api::Platform => require_platform(token, &[area.platform_scope()]),
    }
}

/// 403 with `details.missingScopes` unless the platform token has every scope listed.
pub fn require_platform(token: &TokenDef, scopes: &[&str]) -> Result<(), ApiError> {
    let missing: Vec<&str> = scopes
        .iter()
        .copied()
        .filter(|s| !token.scopes.iter().any(|x| x == s))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        403,
        format!(
            "Token is missing required scope. Use one of: {}",
            missing.join(", ")
        ),
    )
    .with_details(json!({"missingScopes": missing})))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<TokenDef> {
        vec![
            TokenDef {
                token: "classic".into(),
                scopes: vec!["metrics.read".into()],
                platform: false,
            },
            TokenDef {
                token: "plat".into(),
                scopes: vec!["storage:buckets:read".into()],
                platform: true,
            },
        ]
    }

    fn h(v: &str) -> Vec<(String, String)> {
        vec![("authorization".into(), v.into())]
    }

    #[test]
    fn token_forms() {
        let t = tokens();
        let none = Params::default();
        assert!(authenticate(&t, Api::Classic, &h("Api-Token classic"), &none).is_ok());
        assert!(authenticate(&t, Api::Classic, &h("api-token classic"), &none).is_ok());
        assert!(authenticate(&t, Api::Classic, &h("API-TOKEN   classic"), &none).is_ok());
        let q = Params::parse(Some("Api-Token=classic"));
        assert!(authenticate(&t, Api::Classic, &[], &q).is_ok());
        let q = Params::parse(Some("api-token=classic"));
        assert!(authenticate(&t, Api::Classic, &[], &q).is_ok());
        assert!(authenticate(&t, Api::Platform, &h("Bearer plat"), &none).is_ok());
        assert!(authenticate(&t, Api::Platform, &h("bearer plat"), &none).is_ok());
    }

    #[test]
    fn failures() {
        let t = tokens();
        let none = Params::default();
        let e = authenticate(&t, Api::Classic, &[], &none).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (401, "Missing authorization parameter.")
        );
        let e = authenticate(&t, Api::Classic, &h("Api-Token nope"), &none).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (401, "Token Authentication failed")
        );
        // A platform token on a classic path and a classic one on a platform path.
        assert_eq!(
            authenticate(&t, Api::Classic, &h("Bearer plat"), &none)
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            authenticate(&t, Api::Platform, &h("Bearer classic"), &none)
                .unwrap_err()
                .status,
            401
        );
        assert_eq!(
            authenticate(&t, Api::Classic, &h("Api-Token plat"), &none)
                .unwrap_err()
                .status,
            401
        );
        let tok = &t[0];
        let e = require(tok, Api::Classic, Area::Problems).unwrap_err();
        assert_eq!(e.status, 403);
        assert_eq!(
            e.message,
            "Token is missing required scope. Use one of: problems.read (Read problems)"
        );
        assert!(require(tok, Api::Classic, Area::Metrics).is_ok());
        let e = require(&t[1], Api::Platform, Area::Metrics).unwrap_err();
        assert_eq!(
            e.details.unwrap()["missingScopes"][0],
            "environment-api:metrics:read"
        );
    }
}
