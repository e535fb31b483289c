//! Links into the Dynatrace web UI (docs/dynatrace.md, "Links into Dynatrace").
//!
//! Only these URL forms are built, all of the classic UI that SaaS and Managed share. They are
//! the forms Dynatrace uses in its own notifications and pages, not verified against a
//! reference (Dynatrace publishes none for UI URLs):
//! - a problem: `<ui>/#problems/problemdetails;pid=<problemId>`, the form of the problem URL
//!   Dynatrace itself puts into problem notifications;
//! - an entity over a timeframe: `<ui>/#newservices/serviceOverview;id=<entityId>;gtf=c_<from>_<to>;gf=all`,
//!   the service page with a custom global timeframe (epoch ms), where Dynatrace draws response
//!   time, failure rate and throughput with deployment events on the timeline;
//! - a classic dashboard: `<ui>/#dashboard;id=<id>`.
//!
//! Data Explorer and Notebook URLs carry an undocumented encoded state, so none is built.

/// The UI base of an environment: `ui_url` when set, else the API URL (the same host serves
/// the UI for SaaS `*.live.dynatrace.com` and Managed `https://<host>/e/<env-id>`); a platform
/// `*.apps.dynatrace.com` URL maps to its `*.live.dynatrace.com` classic host. No trailing `/`.
pub fn ui_base(api_url: &str, ui_url: Option<&str>) -> Option<String> {
    let base = ui_url.unwrap_or(api_url).trim().trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return None;
    }
    let base = base.strip_suffix("/api/v2").unwrap_or(base);
    if ui_url.is_none()
        && let Some((scheme_host, rest)) = split_host(base)
        && let Some(env) = scheme_host.strip_suffix(".apps.dynatrace.com")
    {
        return Some(format!("{env}.live.dynatrace.com{rest}"));
    }
    Some(base.to_string())
}

/// `https://host` and the path after it.
fn split_host(url: &str) -> Option<(&str, &str)> {
    let after = url.find("://")? + 3;
    match url[after..].find('/') {
        Some(i) => Some((&url[..after + i], &url[after + i..])),
        None => Some((url, "")),
    }
}

/// Characters of an id that would end or break the `;`-separated UI state.
fn safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect()
}

pub fn problem(ui: &str, problem_id: &str) -> String {
    format!("{ui}/#problems/problemdetails;pid={}", safe_id(problem_id))
}

/// A classic dashboard: `<ui>/#dashboard;id=<id>`.
pub fn dashboard(ui: &str, id: &str) -> String {
    format!("{ui}/#dashboard;id={}", safe_id(id))
}

pub fn entity(ui: &str, entity_id: &str, from_ms: i64, to_ms: i64) -> String {
    format!(
        "{ui}/#newservices/serviceOverview;id={};gtf=c_{from_ms}_{to_ms};gf=all",
        safe_id(entity_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saas_managed_platform_and_override() {
        assert_eq!(
            ui_base("https://abc12345.live.dynatrace.com/", None).as_deref(),
            Some("https://abc12345.live.dynatrace.com")
        );
        assert_eq!(
            ui_base("https://dt.example.com/e/1234-abcd", None).as_deref(),
            Some("https://dt.example.com/e/1234-abcd")
        );
        assert_eq!(
            ui_base("https://abc12345.apps.dynatrace.com", None).as_deref(),
            Some("https://abc12345.live.dynatrace.com")
        );
        assert_eq!(
            ui_base(
                "https://activegate:9999/e/env",
                Some("https://dt.example.com/e/env/")
            )
            .as_deref(),
            Some("https://dt.example.com/e/env")
        );
        assert_eq!(ui_base("not a url", None), None);
    }

    #[test]
    fn ids_cannot_break_out_of_the_link() {
        assert_eq!(
            problem("https://x", "-123_456V2;evil=1\"><"),
            "https://x/#problems/problemdetails;pid=-123_456V2evil1"
        );
        assert_eq!(
            entity("https://x", "SERVICE-1", 1, 2),
            "https://x/#newservices/serviceOverview;id=SERVICE-1;gtf=c_1_2;gf=all"
        );
    }
}
