//! From flags and files to a resolved plan: the merged configuration of one service, the SLIs to
//! fetch with placeholders filled, and the connection to use. Reads files; takes the process
//! environment as an argument.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::Problem;
use crate::eval::MissingBaseline;
use crate::model::layout::{self, Level};
use crate::model::settings::Settings;
use crate::model::slo::Slo;
use crate::model::{lint, load, sources};
use crate::query::{SliQuery, Vars, defaults, parse, placeholder};
use crate::source::prometheus;
use crate::source::secret::Secret;
use crate::source::{Sli, SourceKind};

#[derive(Clone)]
pub struct Plan {
    pub root: PathBuf,
    pub settings: Settings,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub service: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub slo: Slo,
    /// The slo.yaml files merged, least specific first.
    pub slo_files: Vec<String>,
    pub slis: Vec<Sli>,
    pub vars: Vars,
    /// Lint findings worth showing; an error among them stops the run before anything is
    /// fetched (see [`lint::for_scoring`], [`lint::stops`]), except an undefined SLI, which
    /// makes the outcome `invalid` once the report is scored.
    pub findings: Vec<Problem>,
    /// Dashboard mode: the SLIs and objectives come from this dashboard (docs/dashboards.md);
    /// `slo` and `slis` are filled in once the connection and the window are known.
    pub dashboard: Option<crate::dashboard::engine::DashboardPlan>,
    /// A canary gate's control (`--control-service`, `--control-label`): the same SLIs with the
    /// placeholders filled for the control side.
    pub control: Option<ControlSide>,
}

/// Who the control of a canary gate is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Another service (`--control-service checkout`): `$SERVICE` is filled with it.
    Service(String),
    /// The same service split by a label (`--control-label version=stable`): `$LABEL.version` is
    /// filled with the control's value.
    Label(String, String),
}

impl Control {
    /// The control in reports: `checkout`, `version=stable`.
    pub fn name(&self) -> String {
        match self {
            Control::Service(s) => s.clone(),
            Control::Label(k, v) => format!("{k}={v}"),
        }
    }
}

/// The control side of a canary gate: its name and its SLIs.
#[derive(Clone, Debug)]
pub struct ControlSide {
    pub name: String,
    pub slis: Vec<Sli>,
}

fn usage(message: impl Into<String>, help: &str) -> Problem {
    Problem::file("slogate::usage", "command line", message).help(help.to_string())
}

/// Parses `--label k=v` flags.
pub fn labels(raw: &[String]) -> Result<BTreeMap<String, String>, Problem> {
    let mut out = BTreeMap::new();
    for l in raw {
        match l.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.to_string());
            }
            _ => {
                return Err(usage(
                    format!("`--label {l}` is not KEY=VALUE"),
                    "write labels as --label team=payments",
                ));
            }
        }
    }
    Ok(out)
}

/// What a command selected: the config root and Keptn's coordinates. Commands fill it from their
/// flags (`cli::SelectArgs`); the core never sees clap's types.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    /// The config root (ROOT/, ROOT/<stage>/, ROOT/<stage>/<service>/).
    pub config: std::path::PathBuf,
    pub project: Option<String>,
    pub stage: Option<String>,
    pub services: Vec<String>,
    pub deployment: Option<String>,
    pub context: Option<String>,
    /// `KEY=VALUE` as the user wrote them (checked by `resolve`).
    pub labels: Vec<String>,
    /// A dashboard id or `query` (dashboard mode).
    pub dashboard: Option<String>,
    /// `--environment NAME`: an entry of slogate.yaml's `environments:` (docs/fleets.md).
    pub environment: Option<String>,
}

/// Loads and merges the configuration for the selected service and prepares its SLIs.
pub fn resolve(
    select: &Scope,
    service: Option<&str>,
    env: &BTreeMap<String, String>,
) -> Result<Plan, Vec<Problem>> {
    let root = select.config.clone();
    if !root.is_dir() {
        return Err(vec![
            Problem::file(
                "slogate::no-config",
                &root.display().to_string(),
                "config root not found",
            )
            .help("pass the folder holding slo.yaml / sli.yaml with --config DIR"),
        ]);
    }
    resolve_in(select, service, env)
}

/// [`resolve`] without the check that the config root exists: a missing root is one without
/// files (for `dashboard export`, whose SLIs and objectives come from the dashboard).
pub fn resolve_in(
    select: &Scope,
    service: Option<&str>,
    env: &BTreeMap<String, String>,
) -> Result<Plan, Vec<Problem>> {
    resolve_filled(select, service, env, None)
}

/// The control side of a canary gate on the selected service: its SLO files and SLIs, with the
/// placeholders filled for the control (`$SERVICE` or `$LABEL.<key>`).
pub fn control(
    select: &Scope,
    service: Option<&str>,
    env: &BTreeMap<String, String>,
    control: &Control,
) -> Result<ControlSide, Vec<Problem>> {
    let p = resolve_filled(select, service, env, Some(control))?;
    Ok(ControlSide {
        name: control.name(),
        slis: p.slis,
    })
}

fn resolve_filled(
    select: &Scope,
    service: Option<&str>,
    env: &BTreeMap<String, String>,
    control: Option<&Control>,
) -> Result<Plan, Vec<Problem>> {
    let root = select.config.clone();
    let mut problems = Vec::new();
    let mut settings = load_settings(&root, &mut problems);
    let project = select
        .project
        .clone()
        .or_else(|| settings.project.as_ref().map(|s| s.value.clone()));
    let stage = select
        .stage
        .clone()
        .or_else(|| settings.stage.as_ref().map(|s| s.value.clone()));
    let service = service
        .map(str::to_string)
        .or_else(|| settings.service.as_ref().map(|s| s.value.clone()));
    if service.is_some() && stage.is_none() {
        return Err(vec![usage(
            "--service needs --stage: services live under ROOT/<stage>/<service>/",
            "add --stage <stage>",
        )]);
    }
    let labels = labels(&select.labels).map_err(|p| vec![p])?;
    choose_environment(
        &mut settings,
        select.environment.as_deref(),
        stage.as_deref(),
    )
    .map_err(|p| vec![p])?;
    let chain = layout::load_chain(&root, stage.as_deref(), service.as_deref(), &mut problems);
    problems.extend(
        chain
            .iter()
            .flat_map(Level::problems)
            .cloned()
            .map(load::keptn_reading),
    );
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    let merged = layout::merge(&chain);
    // Dashboard mode: Keptn's placeholders of dynatrace.conf.yaml are filled from these.
    let dashboard_vars = Vars {
        project: project.clone().unwrap_or_default(),
        stage: stage.clone().unwrap_or_default(),
        service: service.clone().unwrap_or_default(),
        deployment: select.deployment.clone().unwrap_or_default(),
        context: select.context.clone().unwrap_or_default(),
        labels: labels.clone(),
        env: std::sync::Arc::new(without_tokens(env, &settings)),
        filters: Vec::new(),
    };
    let dashboard = crate::dashboard::engine::selection(
        select.dashboard.as_deref(),
        &root,
        stage.as_deref(),
        service.as_deref(),
        &settings,
        &dashboard_vars,
    )
    .map_err(|p| vec![p])?;
    if let Some(d) = dashboard {
        let vars = dashboard_vars;
        return Ok(Plan {
            root,
            settings,
            project,
            stage,
            service,
            labels,
            slo: Slo::default(),
            slo_files: vec![d.origin.clone()],
            slis: Vec::new(),
            vars,
            findings: Vec::new(),
            dashboard: Some(d),
            control: None,
        });
    }
    let refs: Vec<&Level> = chain.iter().collect();
    let default = sources::default_source(&settings, &refs, configured(&settings, env));
    let assigned = sources::assign(&refs, default).map_err(|p| vec![p])?;
    let Some(slo) = merged.slo else {
        return Err(vec![Problem::file("slogate::no-slo", &root.display().to_string(), "no slo.yaml at any level for this service")
            .help("add slo.yaml to the config root, the stage folder or the service folder; slogate never passes a gate without objectives")]);
    };
    let mut findings = problems;
    for l in chain.iter().filter_map(|l| l.slo.as_ref()) {
        findings.extend(lint::check_slo(&l.value));
    }
    findings.extend(lint::check_scorable(&slo, ""));
    // A typo in an objective's SLI name, said where it is written, before any request.
    findings.extend(lint::check_references_in(&slo, &assigned, ""));
    findings.extend(assigned.conflicts(""));
    let findings = lint::for_scoring(findings);
    let slo_files = chain
        .iter()
        .filter_map(|l| l.slo.as_ref())
        .map(|s| s.file.name.clone())
        .collect();

    let mut vars = Vars {
        project: project.clone().unwrap_or_default(),
        stage: stage.clone().unwrap_or_default(),
        service: service.clone().unwrap_or_default(),
        deployment: select.deployment.clone().unwrap_or_default(),
        context: select.context.clone().unwrap_or_default(),
        labels: labels.clone(),
        env: std::sync::Arc::new(without_tokens(env, &settings)),
        filters: slo
            .filter
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect(),
    };
    match control {
        Some(Control::Service(s)) => vars.service = s.clone(),
        Some(Control::Label(k, v)) => {
            vars.labels.insert(k.clone(), v.clone());
        }
        None => {}
    }
    let withheld: Vec<String> = env
        .keys()
        .filter(|k| !vars.env.contains_key(*k))
        .cloned()
        .collect();
    let slis = slis_for(&slo, &assigned, &vars, &withheld);
    Ok(Plan {
        root,
        settings,
        project,
        stage,
        service,
        labels,
        slo,
        slo_files,
        slis,
        vars,
        findings,
        dashboard: None,
        control: None,
    })
}

/// The Dynatrace environment of this run: `--environment NAME`, else the one `stages:` names for
/// the stage, else none (`dynatrace:` or DT_URL, as before environments existed).
pub fn choose_environment(
    settings: &mut Settings,
    flag: Option<&str>,
    stage: Option<&str>,
) -> Result<(), Problem> {
    let name = match (flag, stage) {
        (Some(n), _) => n.to_string(),
        (None, Some(s)) => match settings.stage_environments.get(s) {
            Some(e) => e.value.clone(),
            None => return Ok(()),
        },
        (None, None) => return Ok(()),
    };
    settings.select_environment(&name).map_err(|m| {
        usage(
            m,
            "pass one of the names under `environments:` in slogate.yaml (docs/fleets.md)",
        )
    })
}

/// The environment for `$ENV.` placeholders, without the token variables and without any other
/// variable holding a token's value: a token must never end up in a query, a report or a log,
/// whatever name it is exposed under.
fn without_tokens(env: &BTreeMap<String, String>, settings: &Settings) -> BTreeMap<String, String> {
    let dt = settings.dynatrace.clone().unwrap_or_default();
    let secret: Vec<String> = [
        dt.token_env
            .map(|t| t.value)
            .unwrap_or_else(|| "DT_API_TOKEN".into()),
        dt.platform_token_env
            .map(|t| t.value)
            .unwrap_or_else(|| "DT_PLATFORM_TOKEN".into()),
        "DT_API_TOKEN".into(),
        "DT_PLATFORM_TOKEN".into(),
    ]
    .into();
    let values: Vec<&String> = secret
        .iter()
        .filter_map(|k| env.get(k))
        .filter(|v| v.len() >= 8)
        .collect();
    // Every environment's token variable too (a fleet's thousands): by name, and any other
    // variable holding one of their values exactly.
    let fleet: std::collections::HashSet<&str> = settings
        .environments
        .values()
        .filter_map(|e| e.token_env.as_ref().map(|t| t.value.as_str()))
        .collect();
    let fleet_values: std::collections::HashSet<&str> = fleet
        .iter()
        .filter_map(|k| env.get(*k))
        .filter(|v| v.len() >= 8)
        .map(String::as_str)
        .collect();
    env.iter()
        .filter(|(k, v)| {
            !secret.contains(k)
                && !fleet.contains(k.as_str())
                && !fleet_values.contains(v.as_str())
                && !values.iter().any(|t| v.contains(t.as_str()))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn load_settings(root: &Path, problems: &mut Vec<Problem>) -> Settings {
    let path = root.join(layout::SETTINGS_FILE);
    if !path.is_file() {
        return Settings::default();
    }
    match load::settings_file(&path) {
        Ok(l) => {
            problems.extend(l.problems);
            l.value
        }
        Err(p) => {
            problems.push(p);
            Settings::default()
        }
    }
}

/// Which sources are configured, in slogate.yaml or the environment.
pub fn configured(settings: &Settings, env: &BTreeMap<String, String>) -> sources::Configured {
    let set = |k: &str| env.get(k).is_some_and(|v| !v.trim().is_empty());
    sources::Configured {
        dynatrace: settings.dynatrace.as_ref().is_some_and(|d| d.url.is_some())
            || set("DT_URL")
            || set("DT_TENANT"),
        prometheus: settings.prometheus_url.is_some() || set(prometheus::URL_ENV),
    }
}

/// A Prometheus SLI: its query with the placeholders filled as prometheus-service did.
fn prometheus_sli(name: &str, defined: Option<&str>, vars: &Vars) -> Sli {
    let ctx = prometheus::queries::Context {
        project: vars.project.clone(),
        stage: vars.stage.clone(),
        service: vars.service.clone(),
        deployment: vars.deployment.clone(),
        labels: vars.labels.clone(),
        filters: vars.filters.clone(),
    };
    let resolved = prometheus::queries::resolve(name, defined, &ctx);
    let (text, parsed) = match resolved.query {
        // `BURN;` is one PromQL query over both windows.
        Ok((q, _)) => {
            let parsed =
                crate::query::burn::expand_promql(&q).map(|query| SliQuery::Promql { query });
            (q, parsed)
        }
        Err(m) => (String::new(), Err(m)),
    };
    Sli {
        name: name.to_string(),
        text,
        source: SourceKind::Prometheus,
        parsed,
    }
}

/// The SLIs the objectives need, in objective order, each once, each from its source
/// ([`sources::Assigned::source_of`]). Dynatrace's lookup rules: a merged definition, else (only
/// when no sli.yaml defines anything) a default SLI; Prometheus': a non-empty definition, else a
/// built-in SLI.
///
/// `withheld` are environment variables that exist but hold a token (`$ENV.` never reads them).
pub fn slis_for(
    slo: &Slo,
    assigned: &sources::Assigned,
    vars: &Vars,
    withheld: &[String],
) -> Vec<Sli> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let sli = &assigned.dynatrace;
    for o in &slo.objectives {
        let name = &o.sli.value;
        if !seen.insert(name.clone()) {
            continue;
        }
        if assigned.source_of(name) == SourceKind::Prometheus {
            let defined = assigned
                .prometheus
                .get(name)
                .map(|i| i.query.value.as_str());
            out.push(prometheus_sli(name, defined, vars));
            continue;
        }
        let raw = if sli.any_file {
            sli.indicators
                .get(name)
                .map(|i| i.query.value.clone())
                .ok_or_else(|| format!("SLI definition for '{name}' was not found"))
        } else {
            defaults::query(name).ok_or_else(|| format!("unsupported SLI {name}"))
        };
        let (text, parsed) = match raw {
            Err(msg) => (String::new(), Err(msg)),
            Ok(raw) => {
                let sub = placeholder::substitute(&raw, vars);
                let tokens: Vec<&String> = sub
                    .unresolved_env
                    .iter()
                    .filter(|n| withheld.contains(n))
                    .collect();
                let parsed = if sub.unresolved_env.is_empty() {
                    parse::parse(&sub.text)
                } else if !tokens.is_empty() {
                    Err(format!(
                        "$ENV.{} holds a Dynatrace token; slogate never puts a token into a query (use a variable with the value the query needs)",
                        tokens[0]
                    ))
                } else {
                    Err(format!(
                        "environment variable{} {} used by the query {} not set",
                        if sub.unresolved_env.len() == 1 {
                            ""
                        } else {
                            "s"
                        },
                        sub.unresolved_env.join(", "),
                        if sub.unresolved_env.len() == 1 {
                            "is"
                        } else {
                            "are"
                        }
                    ))
                };
                (sub.text, parsed)
            }
        };
        out.push(Sli {
            name: name.clone(),
            text,
            source: SourceKind::Dynatrace,
            parsed,
        });
    }
    out
}

/// The policy: the flag, else slogate.yaml, else Keptn's `pass`.
/// The missing-baseline policy: the flag, else slogate.yaml, else `default` (Keptn's `pass` for
/// history baselines; `warn` for a before-window, where "I could not see before" must not read
/// as "nothing got worse").
pub fn policy(
    flag: Option<MissingBaseline>,
    settings: &Settings,
    default: MissingBaseline,
) -> MissingBaseline {
    match flag {
        Some(p) => p,
        None => settings
            .on_missing_baseline
            .as_ref()
            .and_then(|p| MissingBaseline::parse(&p.value))
            .unwrap_or(default),
    }
}

/// Where Dynatrace is and which tokens to use.
#[derive(Clone, Debug)]
pub struct Connection {
    pub url: String,
    pub token_env: String,
    pub token: Option<Secret>,
    pub platform_token_env: String,
    pub platform_token: Option<Secret>,
    /// The `environments:` entry this connection came from, with its own limits.
    pub environment: Option<EnvironmentLimits>,
}

/// Per-environment settings of `environments:` that shape the HTTP client.
#[derive(Clone, Debug, Default)]
pub struct EnvironmentLimits {
    pub name: String,
    pub request_timeout: Option<std::time::Duration>,
    pub concurrency: Option<usize>,
    pub proxy: Option<String>,
    /// Where the adaptive limit starts (a fleet's environments start modestly).
    pub start: Option<usize>,
}

impl Connection {
    /// No Dynatrace environment: for runs that ask Dynatrace nothing (Prometheus SLIs only).
    pub fn unconfigured() -> Self {
        Connection {
            url: String::new(),
            token_env: "DT_API_TOKEN".into(),
            token: None,
            platform_token_env: "DT_PLATFORM_TOKEN".into(),
            platform_token: None,
            environment: None,
        }
    }
}

/// URL from slogate.yaml or `DT_URL` (`DT_TENANT` as Keptn's alias); tokens from the variables
/// slogate.yaml names, by default `DT_API_TOKEN` and `DT_PLATFORM_TOKEN`.
pub fn connection(
    settings: &Settings,
    env: &BTreeMap<String, String>,
) -> Result<Connection, Problem> {
    let dt = settings.dynatrace.clone().unwrap_or_default();
    let (url, from) = match (&dt.url, env.get("DT_URL"), env.get("DT_TENANT")) {
        (Some(u), _, _) if settings.selected_environment.is_some() => {
            (u.value.clone(), "slogate.yaml `environments`")
        }
        (Some(u), _, _) => (u.value.clone(), "slogate.yaml `dynatrace.url`"),
        (None, Some(u), _) => (u.clone(), "DT_URL"),
        (None, None, Some(u)) => (u.clone(), "DT_TENANT"),
        (None, None, None) => {
            return Err(Problem::env(
                "DT_URL",
                "not set: no Dynatrace environment configured",
            )
            .help("set DT_URL=https://<env>.live.dynatrace.com, or `dynatrace: {url: ...}` in slogate.yaml"));
        }
    };
    let url = check_url(&url).map_err(|m| {
        url_problem(dt.url.as_ref(), from, m)
            .help("use https://<env>.live.dynatrace.com (plain http only for 127.0.0.1/localhost)")
    })?;
    let token_env = dt
        .token_env
        .map(|t| t.value)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "DT_API_TOKEN".into());
    let platform_token_env = dt
        .platform_token_env
        .map(|t| t.value)
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "DT_PLATFORM_TOKEN".into());
    let conn = Connection {
        url,
        token: env
            .get(&token_env)
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        platform_token: env
            .get(&platform_token_env)
            .filter(|t| !t.is_empty())
            .map(Secret::new),
        token_env,
        platform_token_env,
        environment: settings
            .selected_environment
            .as_ref()
            .map(|e| EnvironmentLimits {
                name: e.name.value.clone(),
                request_timeout: e.request_timeout().and_then(|t| {
                    crate::window::parse_duration(&t.value)
                        .ok()
                        .and_then(|d| d.to_std().ok())
                }),
                concurrency: e.concurrency().map(|c| c.value.max(1) as usize),
                proxy: e.proxy().map(|p| p.value.clone()),
                start: None,
            }),
    };
    // From here on every output hides the tokens by value (`secret::redact`).
    for t in [&conn.token, &conn.platform_token].into_iter().flatten() {
        crate::source::secret::register(t);
    }
    Ok(conn)
}

/// A server URL that cannot be used, labelled where it was set: the line of slogate.yaml, or
/// the environment variable `var`.
pub fn url_problem(
    set_in: Option<&crate::diag::Sourced<String>>,
    var: &str,
    message: String,
) -> Problem {
    match set_in {
        Some(s) => Problem::error("slogate::bad-url", &s.origin, message).label("this URL"),
        None => Problem::env(var, message),
    }
}

/// The problem of a missing token variable.
pub fn missing_token(var: &str, help: &str) -> Problem {
    Problem::env(
        var,
        "not set; slogate needs the Dynatrace API token from it",
    )
    .help(help.to_string())
}

/// Normalises an environment URL: adds `https://` to a bare host (Keptn's DT_TENANT form),
/// strips trailing slashes, and refuses plain http except on loopback addresses, a user name or
/// password in the URL (the token goes in its own variable) and an API path (`/api/v2`: slogate
/// adds it; the message gives the URL to write instead).
pub fn check_url(raw: &str) -> Result<String, String> {
    // Every message shows the URL without its userinfo.
    let (url, with_scheme, shown) = crate::source::http::base_url(
        raw,
        "give the environment URL only and the token in its own variable (DT_API_TOKEN)",
    )?;
    let host = url.host_str().unwrap_or("");
    match url.scheme() {
        "https" => {}
        "http" => {
            if !crate::source::http::is_loopback(host) {
                return Err(format!(
                    "`{shown}` uses plain http; the token would travel unencrypted"
                ));
            }
        }
        other => return Err(format!("`{shown}` has scheme `{other}`; use https")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{shown}` has a query string; give the environment URL only"
        ));
    }
    let trimmed = with_scheme.trim_end_matches('/');
    let path = url.path().trim_end_matches('/');
    for api in [
        "/platform/classic/environment-api/v2",
        "/api/v2",
        "/api/v1",
        "/api",
    ] {
        if let Some(base) = path.strip_suffix(api) {
            // Built from the parsed URL, not the raw text: the parser normalises the path
            // (`..`, percent-encoding), so the raw text need not end with `api` at all.
            let mut u = url.clone();
            u.set_path(base);
            let fixed = u
                .as_str()
                .trim_end_matches('/')
                // The platform's classic API lives under a path slogate does not add: give the
                // environment's classic URL.
                .replace(".apps.dynatrace.com", ".live.dynatrace.com");
            let fixed = fixed.as_str();
            return Err(format!(
                "`{shown}` ends with the API path `{api}`; write {fixed} (slogate adds the API paths itself)"
            ));
        }
    }
    Ok(trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_path_reached_through_dots_and_non_ascii_text_does_not_panic() {
        // Found by the `times` fuzz target: the parsed path ends with /api, the raw text not.
        let e = check_url("n./_x/api/v\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}/..").unwrap_err();
        assert!(e.contains("write https://n./_x"), "{e}");
    }

    #[test]
    fn urls() {
        assert_eq!(
            check_url("abc.live.dynatrace.com/").unwrap(),
            "https://abc.live.dynatrace.com"
        );
        assert_eq!(
            check_url("https://x.example/e/env1").unwrap(),
            "https://x.example/e/env1"
        );
        assert_eq!(
            check_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_url("http://localhost:1").unwrap(),
            "http://localhost:1"
        );
        assert!(check_url("http://[::1]:9").is_ok());
        assert!(check_url("http://abc.live.dynatrace.com").is_err());
        assert!(check_url("http://10.0.0.1").is_err());
        assert!(check_url("ftp://x").is_err());
        assert!(check_url("https://x?api-token=1").is_err());
    }

    #[test]
    fn urls_with_userinfo_are_refused_without_echoing_it() {
        for raw in [
            "https://user:dt0c01.ABC.SECRET@abc.live.dynatrace.com",
            "https://dt0c01.ABC.SECRET@abc.live.dynatrace.com",
            "http://u:dt0c01.ABC.SECRET@10.0.0.1",
            "ftp://u:dt0c01.ABC.SECRET@x",
        ] {
            let e = check_url(raw).unwrap_err();
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn api_paths_are_refused_with_the_fix() {
        let e = check_url("https://abc.live.dynatrace.com/api/v2/").unwrap_err();
        assert!(e.contains("write https://abc.live.dynatrace.com "), "{e}");
        let e = check_url("https://x.example/e/env1/api/v2").unwrap_err();
        assert!(e.contains("write https://x.example/e/env1 "), "{e}");
        let e = check_url("x.example/e/env1/api").unwrap_err();
        assert!(e.contains("write https://x.example/e/env1 "), "{e}");
        assert!(check_url("https://x.example/e/env1/").is_ok());
        let e = check_url("https://abc.apps.dynatrace.com/platform/classic/environment-api/v2")
            .unwrap_err();
        assert!(e.contains("write https://abc.live.dynatrace.com "), "{e}");
    }

    #[test]
    fn env_values_equal_to_a_token_are_withheld() {
        let env: BTreeMap<String, String> = [
            ("DT_API_TOKEN", "dt0c01.ABC.SECRET"),
            ("OTHER", "dt0c01.ABC.SECRET"),
            ("WRAPPED", "Api-Token dt0c01.ABC.SECRET"),
            ("SERVICE_TAG", "checkout"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let kept = without_tokens(&env, &Settings::default());
        assert_eq!(kept.keys().collect::<Vec<_>>(), vec!["SERVICE_TAG"]);
    }

    #[test]
    fn no_tenants_token_reaches_the_placeholders() {
        let env: BTreeMap<String, String> = [
            ("DT_TOKEN_EU", "dt0c01.EU.SECRETVALUE"),
            ("COPY", "dt0c01.EU.SECRETVALUE"),
            ("SERVICE_TAG", "checkout"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let file = crate::diag::SourceFile::new(
            "slogate.yaml",
            "environments:\n  eu: {url: https://eu.example.com, token_env: DT_TOKEN_EU}\n",
        );
        let settings = crate::model::load::parse_settings(file, Vec::new()).value;
        let kept = without_tokens(&env, &settings);
        assert_eq!(kept.keys().collect::<Vec<_>>(), vec!["SERVICE_TAG"]);
    }

    #[test]
    fn label_flags() {
        let l = labels(&["team=pay".into(), "a=b=c".into()]).unwrap();
        assert_eq!(l["a"], "b=c");
        assert!(labels(&["nokey".into()]).is_err());
        assert!(labels(&["=v".into()]).is_err());
    }

    #[test]
    fn connection_sources() {
        let mut env = BTreeMap::new();
        assert!(connection(&Settings::default(), &env).is_err());
        env.insert(
            "DT_TENANT".to_string(),
            "abc.live.dynatrace.com".to_string(),
        );
        env.insert("DT_API_TOKEN".to_string(), "dt0c01.x.y".to_string());
        let c = connection(&Settings::default(), &env).unwrap();
        assert_eq!(c.url, "https://abc.live.dynatrace.com");
        assert_eq!(c.token.unwrap().expose(), "dt0c01.x.y");
        assert!(c.platform_token.is_none());
        env.insert("DT_URL".to_string(), "http://127.0.0.1:1".to_string());
        assert_eq!(
            connection(&Settings::default(), &env).unwrap().url,
            "http://127.0.0.1:1"
        );
    }
}
