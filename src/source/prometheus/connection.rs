//! Where Prometheus is and how to log in: `prometheus.url` in slogate.yaml or `PROMETHEUS_URL`,
//! basic auth from `PROMETHEUS_USER` / `PROMETHEUS_PASSWORD` (the keys of Keptn's
//! `prometheus-credentials-<project>` secret). Pure: the environment is an argument.

use std::collections::BTreeMap;

use crate::model::settings::Settings;
use crate::source::secret::{self, Secret};

use super::{PASSWORD_ENV, URL_ENV, USER_ENV};

#[derive(Clone, Debug)]
pub struct Connection {
    /// Without a trailing slash; a path (reverse proxy) is kept.
    pub url: String,
    /// Where the URL came from, for messages.
    pub url_from: String,
    /// User and password, both non-empty (upstream sent no credentials otherwise).
    pub basic: Option<(String, Secret)>,
}

/// The configured Prometheus, `Ok(None)` when there is none, `Err` with what to change.
pub fn connection(
    settings: &Settings,
    env: &BTreeMap<String, String>,
) -> Result<Option<Connection>, String> {
    let (raw, from) = match (&settings.prometheus_url, env.get(URL_ENV)) {
        (Some(u), _) => (u.value.clone(), "slogate.yaml `prometheus.url`".to_string()),
        (None, Some(u)) if !u.trim().is_empty() => (u.clone(), URL_ENV.to_string()),
        _ => return Ok(None),
    };
    let user = env.get(USER_ENV).filter(|u| !u.is_empty());
    let password = env.get(PASSWORD_ENV).filter(|p| !p.is_empty());
    let basic = match (user, password) {
        (Some(u), Some(p)) => {
            let p = Secret::new(p.clone());
            secret::register_basic(u, &p, &format!("the password in {PASSWORD_ENV}"));
            Some((u.clone(), p))
        }
        _ => None,
    };
    let url = check_url(&raw, basic.is_some()).map_err(|m| format!("{from}: {m}"))?;
    Ok(Some(Connection {
        url,
        url_from: from,
        basic,
    }))
}

/// A bare host gets `https://` (as upstream); plain http is fine for a Prometheus in the same
/// network, but not with a password unless on loopback; no user or password in the URL; no API
/// path (slogate adds `/api/v1/query`).
pub fn check_url(raw: &str, with_password: bool) -> Result<String, String> {
    let (url, with_scheme, shown) =
        crate::source::http::base_url(raw, &format!("give them in {USER_ENV} and {PASSWORD_ENV}"))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let host = url.host_str().unwrap_or("");
            if with_password && !crate::source::http::is_loopback(host) {
                return Err(format!(
                    "`{shown}` uses plain http; {PASSWORD_ENV} would travel unencrypted (use https)"
                ));
            }
        }
        other => return Err(format!("`{shown}` has scheme `{other}`; use http or https")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{shown}` has a query string; give the server's URL only"
        ));
    }
    let trimmed = with_scheme.trim_end_matches('/').to_string();
    for api in ["/api/v1/query", "/api/v1"] {
        if let Some(base) = trimmed.strip_suffix(api) {
            return Err(format!(
                "`{shown}` ends with the API path `{api}`; write {base} (slogate adds {} itself)",
                super::api::QUERY_PATH
            ));
        }
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_url("http://127.0.0.1:9090/prometheus/", false).unwrap(),
            "http://127.0.0.1:9090/prometheus"
        );
        assert_eq!(
            check_url("prom.example:9090", true).unwrap(),
            "https://prom.example:9090"
        );
        assert_eq!(
            check_url("http://prometheus.monitoring.svc:9090", false).unwrap(),
            "http://prometheus.monitoring.svc:9090"
        );
        assert!(check_url("http://prometheus.monitoring.svc:9090", true).is_err());
        assert!(check_url("http://127.0.0.1:9090", true).is_ok());
        let e = check_url("http://u:p@prom.example", false).unwrap_err();
        assert!(!e.contains("u:p"), "{e}");
        let e = check_url("http://127.0.0.1:9090/api/v1", false).unwrap_err();
        assert!(e.contains("write http://127.0.0.1:9090 "), "{e}");
    }

    #[test]
    fn credentials_only_as_a_pair() {
        let s = Settings::default();
        assert!(connection(&s, &env(&[])).unwrap().is_none());
        let c = connection(
            &s,
            &env(&[
                (URL_ENV, "http://127.0.0.1:9090"),
                (USER_ENV, "keptn"),
                (PASSWORD_ENV, "pa ss"),
            ]),
        )
        .unwrap()
        .unwrap();
        let (u, p) = c.basic.unwrap();
        assert_eq!((u.as_str(), p.expose()), ("keptn", "pa ss"));
        let c = connection(
            &s,
            &env(&[(URL_ENV, "http://127.0.0.1:9090"), (USER_ENV, "keptn")]),
        )
        .unwrap()
        .unwrap();
        assert!(c.basic.is_none());
    }
}
