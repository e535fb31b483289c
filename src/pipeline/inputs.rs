//! Step 1: flags and files → one plan per service, the earlier verdicts given as files, the
//! scopes the token needs.

use super::emit;
use super::{BaselineMode, Job, Stop, When, usage};
use crate::ci::CiKind;
use crate::diag::Problem;
use crate::eval::previous;
use crate::input;
use crate::model::load;
use crate::plan::{self, Plan};
use crate::shell::{ci_kind, client_for, environment};
use crate::source::dynatrace::Fatal;
use crate::source::http::{Client, ClientConfig, Credentials};
use crate::source::preflight;
use crate::source::retry::RetryPolicy;
use crate::source::{SourceKind, prometheus};
use crate::ui::{Ui, stderr};
use crate::window;
use chrono::Duration;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

/// One plan per selected service (`--service` repeated), or one for the default.
pub(crate) fn resolve_all(
    select: &plan::Scope,
    env: &BTreeMap<String, String>,
) -> Result<Vec<Plan>, Vec<Problem>> {
    if select.services.is_empty() {
        return Ok(vec![plan::resolve(select, None, env)?]);
    }
    let mut plans = Vec::new();
    let mut problems = Vec::new();
    for service in &select.services {
        match plan::resolve(select, Some(service), env) {
            Ok(p) => plans.push(p),
            Err(p) => problems.extend(p),
        }
    }
    if problems.iter().any(Problem::is_error) {
        dedupe(&mut problems);
        return Err(problems);
    }
    Ok(plans)
}

/// A canary gate: each plan gets its control side, the same SLIs with the placeholders filled
/// for the control. SLIs that come out the same on both sides would compare the canary with
/// itself: a configuration error, said before anything is fetched.
fn attach_control(
    select: &plan::Scope,
    env: &BTreeMap<String, String>,
    control: &plan::Control,
    plans: &mut [Plan],
) -> Result<(), Stop> {
    for p in plans.iter_mut() {
        if p.dashboard.is_some() {
            return Err(Stop::Invalid(usage(
                "a canary gate (--control-service, --control-label) needs sli.yaml queries; a dashboard's tiles cannot be filled for a control",
                "drop --dashboard, or drop the control flag",
            )));
        }
        let side =
            plan::control(select, p.service.as_deref(), env, control).map_err(Stop::Invalid)?;
        let same = p.slis.iter().zip(&side.slis).all(|(a, b)| a.text == b.text);
        if same {
            let (flag, placeholder) = match control {
                plan::Control::Service(_) => ("--control-service", "$SERVICE".to_string()),
                plan::Control::Label(k, _) => ("--control-label", format!("$LABEL.{k}")),
            };
            return Err(Stop::Invalid(usage(
                format!(
                    "{flag} {} changes none of the SLI queries: they do not use {placeholder}, so the canary would be compared with itself",
                    control.name()
                ),
                &format!(
                    "select the service or label in sli.yaml with {placeholder} (e.g. entitySelector=type(SERVICE),tag(keptn_service:$SERVICE))"
                ),
            )));
        }
        p.control = Some(side);
    }
    Ok(())
}

/// Files shared by several services would report the same finding once per service.
pub(crate) fn dedupe(problems: &mut Vec<Problem>) {
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| {
        seen.insert((
            p.code,
            p.file_name.clone(),
            p.origin.as_ref().map(|o| o.span.clone()),
            p.message.clone(),
        ))
    });
}

pub(crate) fn read_previous(
    paths: &[std::path::PathBuf],
) -> Result<Vec<previous::PreviousEvaluation>, Vec<Problem>> {
    let mut all = Vec::new();
    for path in paths {
        let (file, problems) = load::read_text(path).map_err(|p| vec![p])?;
        if problems.iter().any(Problem::is_error) {
            return Err(problems);
        }
        all.extend(input::previous(&file).map_err(|p| vec![p])?);
    }
    Ok(all)
}

/// The classic token scopes this run will use (none when it sends no classic request).
pub(crate) fn needed_scopes(
    job: &Job,
    plans: &[Plan],
    dynatrace_history: bool,
) -> Vec<&'static str> {
    use crate::query::SliQuery;
    let mut out: Vec<&'static str> = Vec::new();
    let mut add = |s: &'static str| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for q in plans
        .iter()
        .flat_map(|p| &p.slis)
        .filter_map(|s| s.parsed.as_ref().ok())
    {
        match q {
            SliQuery::Metrics(_) | SliQuery::Mv2 { .. } | SliQuery::Burn(_) => {
                add(preflight::METRICS)
            }
            SliQuery::Slo { .. } => add("slo.read"),
            SliQuery::Problems { .. } => add("problems.read"),
            SliQuery::SecurityProblems { .. } => add("securityProblems.read"),
            SliQuery::Usql { .. } => add("DTAQLAccess"),
            SliQuery::Dql { .. } | SliQuery::Promql { .. } => {}
        }
    }
    let finds_deployment = matches!(
        job.when,
        When::Anchored {
            deployment: None,
            ..
        }
    );
    let reads_verdicts = dynatrace_history && job.baseline == BaselineMode::History;
    if finds_deployment || reads_verdicts {
        add(preflight::EVENTS_READ);
    }
    // A problem policy that decides the outcome cannot do without the problems.
    if let Some(s) = super::context::needed(plans) {
        add(s);
    }
    // Asked for in so many words: a token that cannot publish stops the run before the fetch.
    if job.dashboard.is_some() {
        super::release_dashboard::SCOPES
            .into_iter()
            .for_each(&mut add);
    }
    // Pushing the verdict is a side effect: a token without events.ingest is warned about
    // (see `evaluate`), never a reason to withhold the verdict.
    out
}

/// 401/403: say which token, and which scope it lacks when Dynatrace says so.
pub(crate) fn fatal_message(f: &Fatal, conn: &plan::Connection) -> String {
    match f {
        Fatal::Auth { status, message } => {
            let scope = message
                .split("Use one of:")
                .nth(1)
                .map(|s| format!(" Give the token the scope{}.", s.trim_end_matches('.')))
                .unwrap_or_default();
            format!(
                "could not evaluate: Dynatrace at {} refused the token in {} ({status}): {message}.{scope} See docs/token-scopes.md.\n",
                conn.url, conn.token_env
            )
        }
        Fatal::MissingToken(m) => format!("{m}\n"),
    }
}

/// What the later steps need from flags, files and the environment.
pub(crate) struct Inputs {
    pub(crate) plans: Vec<Plan>,
    /// Earlier verdicts given as `--previous` files.
    pub(crate) previous_files: Vec<previous::PreviousEvaluation>,
    /// The process environment as read once (shared by a fleet's environments).
    pub(crate) env: std::sync::Arc<BTreeMap<String, String>>,
    pub(crate) ci: Option<CiKind>,
    pub(crate) conn: plan::Connection,
    pub(crate) client: Client,
    /// The Prometheus server, when an SLI comes from it.
    pub(crate) prometheus: Option<(prometheus::connection::Connection, Client)>,
    pub(crate) settle: Duration,
}

/// The HTTP client for Prometheus: the shared layer, basic auth when user and password are set.
fn prometheus_client(
    c: &prometheus::connection::Connection,
    timeout: StdDuration,
    concurrency: usize,
) -> Result<Client, crate::source::http::SetupError> {
    Client::new(ClientConfig {
        base_url: c.url.clone(),
        credentials: match &c.basic {
            Some((user, password)) => Credentials::Basic {
                user: user.clone(),
                password: password.clone(),
            },
            None => Credentials::None,
        },
        url_name: prometheus::URL_ENV.into(),
        request_timeout: timeout,
        retry: RetryPolicy::default(),
        concurrency,
        proxy: None,
        initial_concurrency: None,
    })
}

/// The plans of a fleet, read and checked once before any environment is asked: an error in the
/// files stops the run (`invalid`); findings worth showing are shown once here.
pub(crate) fn resolve_checked(
    job: &Job,
    ui: &Ui,
    env: &BTreeMap<String, String>,
) -> Result<Vec<Plan>, Stop> {
    let mut select = job.select.clone();
    select.environment = None;
    let plans = resolve_all(&select, env)?;
    let mut findings: Vec<Problem> = plans
        .iter()
        .flat_map(|p| p.findings.iter().cloned())
        .collect();
    dedupe(&mut findings);
    if findings.iter().any(crate::model::lint::stops) {
        return Err(Stop::Invalid(findings));
    }
    ui.problems(&findings);
    read_previous(&job.output.previous)?;
    Ok(plans)
}

/// Flags, files and environment → plans and a connection. An error in a file stops here, before
/// anything is fetched: no verdict from a broken SLO.
pub(crate) fn gather(job: &Job, ui: &Ui) -> Result<Inputs, Stop> {
    let source = job.source;
    let output = job.output;
    let settle =
        window::parse_duration(&source.settle).map_err(|m| usage(m, "e.g. --settle 120s"))?;
    let request_timeout = window::parse_duration(&source.request_timeout)
        .map_err(|m| usage(m, "e.g. --request-timeout 30s"))?
        .to_std()
        .unwrap_or(StdDuration::from_secs(30));
    if source.concurrency == 0 {
        return Err(Stop::Invalid(usage(
            "--concurrency must be at least 1",
            "e.g. --concurrency 8",
        )));
    }
    let (env, mut plans) = match &job.fleet {
        Some(f) => (f.env.clone(), f.plans.clone()),
        None => {
            let env = std::sync::Arc::new(environment());
            let plans = resolve_all(&job.select, &env)?;
            (env, plans)
        }
    };
    if let Some(c) = &job.control {
        attach_control(&job.select, &env, c, &mut plans)?;
    }
    let mut findings: Vec<Problem> = plans
        .iter()
        .flat_map(|p| p.findings.iter().cloned())
        .collect();
    dedupe(&mut findings);
    if findings.iter().any(crate::model::lint::stops) {
        return Err(Stop::Invalid(findings));
    }
    ui.problems(&findings);
    let previous_files = read_previous(&output.previous)?;
    let ci = ci_kind(output.ci, &env);
    emit::check_format(output, plans.len())?;
    let dynatrace_slis = plans
        .iter()
        .flat_map(|p| &p.slis)
        .any(|s| s.source == SourceKind::Dynatrace);
    let finds_deployment = matches!(
        job.when,
        When::Anchored {
            deployment: None,
            ..
        }
    );
    // A run that asks Dynatrace nothing (Prometheus SLIs only, no deployment lookup, no push)
    // needs no Dynatrace environment.
    let needs_dynatrace =
        dynatrace_slis || finds_deployment || output.push_result || job.dashboard.is_some();
    let mut conn = match plan::connection(&plans[0].settings, &env) {
        Ok(c) => c,
        Err(_) if !needs_dynatrace => plan::Connection::unconfigured(),
        Err(p) if !dynatrace_slis && finds_deployment => {
            return Err(Stop::Invalid(vec![p.help(
                "--since-deployment looks the deployment event up in Dynatrace; with Prometheus SLIs only, give the time instead: --deployment-time 2026-11-17T11:00:00Z",
            )]));
        }
        Err(p) => return Err(Stop::Invalid(vec![p])),
    };
    if job.fleet.is_some()
        && let Some(e) = conn.environment.as_mut()
    {
        e.start = Some(crate::fleet::START_CONCURRENCY);
    }
    // A fleet's shared map of the environment leaves the tenants' tokens out: this tenant's
    // is read from the process here (and hidden from every output, as `connection` does).
    if job.fleet.is_some()
        && conn.token.is_none()
        && let Ok(v) = std::env::var(&conn.token_env)
        && !v.is_empty()
    {
        let t = crate::source::secret::Secret::new(v);
        crate::source::secret::register(&t);
        conn.token = Some(t);
    }
    if let Some(t) = &conn.token {
        let (t, changed) = preflight::trimmed(t);
        if changed {
            stderr(&format!(
                "warning: the token in {} has spaces or a line break around it; slogate ignores them (store the secret without them)\n",
                conn.token_env
            ));
        }
        conn.token = Some(t);
    }
    let needs_api_token = finds_deployment
        || output.push_result
        || job.dashboard.is_some()
        || plans.iter().any(|p| p.dashboard.is_some())
        || plans.iter().flat_map(|p| &p.slis).any(|s| {
            s.source == SourceKind::Dynatrace
                && s.parsed
                    .as_ref()
                    .is_ok_and(|q| !matches!(q, crate::query::SliQuery::Dql { .. }))
        });
    if conn.token.is_none() && needs_api_token {
        return Err(Stop::Invalid(vec![plan::missing_token(
            &conn.token_env,
            "store the token as a secret and expose it as that variable; see docs/token-scopes.md for the scopes",
        )]));
    }
    let prometheus_slis = plans
        .iter()
        .flat_map(|p| &p.slis)
        .any(|s| s.source == SourceKind::Prometheus);
    let prometheus = if prometheus_slis {
        let set_in = plans[0].settings.prometheus_url.as_ref();
        let c = prometheus::connection::connection(&plans[0].settings, &env)
            .map_err(|m| {
                // The message starts with where the URL was set; the label says that now.
                let m = m.split_once(": ").map_or(m.clone(), |(_, rest)| rest.to_string());
                vec![plan::url_problem(set_in, prometheus::URL_ENV, m).help(
                    "e.g. PROMETHEUS_URL=http://prometheus.monitoring:9090, or `prometheus: {url: ...}` in slogate.yaml",
                )]
            })?
            .ok_or_else(|| {
                usage(
                    "the SLIs come from Prometheus, but no Prometheus server is configured",
                    "set PROMETHEUS_URL, or `prometheus: {url: http://prometheus.monitoring:9090}` in slogate.yaml",
                )
            })?;
        for w in crate::source::secret::unprotected() {
            stderr(&format!("warning: {w}\n"));
        }
        let client = prometheus_client(&c, request_timeout, source.concurrency)
            .map_err(|e| Stop::Invalid(vec![e.problem()]))?;
        Some((c, client))
    } else {
        None
    };
    let client = client_for(&conn, request_timeout, source.concurrency)
        .map_err(|e| Stop::Invalid(vec![e.problem()]))?;
    Ok(Inputs {
        plans,
        previous_files,
        env,
        ci,
        conn,
        client,
        prometheus,
        settle,
    })
}

/// URL, token and every needed scope at once, before any wait: a wrong one ends the run in
/// seconds.
pub(crate) async fn check_token(
    inputs: &Inputs,
    scopes: &[&'static str],
) -> Result<preflight::Checked, Stop> {
    let conn = &inputs.conn;
    match &conn.token {
        Some(token) if !scopes.is_empty() => {
            preflight::check(&inputs.client, token, &conn.token_env, &conn.url, scopes)
                .await
                .map_err(|r| Stop::CouldNot(r.message().to_string()))
        }
        _ => Ok(preflight::Checked::default()),
    }
}
