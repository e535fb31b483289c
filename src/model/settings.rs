//! `slogate.yaml`: connection settings and defaults that are not part of Keptn's files.

use std::sync::Arc;

use crate::diag::{Problem, SourceFile, Sourced};
use crate::model::read::Reader;
use crate::model::yaml::Node;

pub const SETTINGS_KEYS: &[&str] = &[
    "spec_version",
    "dynatrace",
    "prometheus",
    "source",
    "defaults",
    "history",
    "judge",
    "comparison",
    "context",
    "dashboard",
    "environments",
    "stages",
];
/// `dashboard:` — the release comparison dashboard (docs/release-dashboard.md).
pub const RELEASE_DASHBOARD_KEYS: &[&str] = &["keep_releases", "shared", "owner"];
/// One entry of `environments:` (docs/fleets.md). `token` is listed only to refuse it.
pub const ENVIRONMENT_KEYS: &[&str] = &[
    "url",
    "token_env",
    "request_timeout",
    "concurrency",
    "proxy",
    "token",
];
/// One entry of `stages:`.
pub const STAGE_KEYS: &[&str] = &["environment"];
/// `context:` — what else happened in the windows (docs/context.md).
pub const CONTEXT_KEYS: &[&str] = &["problems", "changes", "maintenance"];
pub const JUDGE_KEYS: &[&str] = &[
    "mode",
    "confidence",
    "min_events",
    "min_minutes",
    "warm_up_minutes",
];
pub const JUDGE_MODES: &[&str] = &["keptn", "statistical"];
pub const DYNATRACE_KEYS: &[&str] = &[
    "url",
    "token_env",
    "platform_token_env",
    "entity_selector",
    "dashboard",
    "ui_url",
];
pub const PROMETHEUS_KEYS: &[&str] = &["url"];
pub const DEFAULTS_KEYS: &[&str] = &[
    "project",
    "stage",
    "service",
    "on_missing_baseline",
    "strict_data",
];

/// The values of `comparison:`: Keptn's selection of previous evaluations, or the pinned one.
pub const COMPARISONS: &[&str] = &["previous", "pinned"];

pub const MISSING_BASELINE_POLICIES: &[&str] = &["pass", "warn", "fail"];

/// The values of `source:`.
pub const SOURCES: &[&str] = &["dynatrace", "prometheus"];

#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub spec_version: Option<Sourced<String>>,
    pub dynatrace: Option<Dynatrace>,
    pub prometheus_url: Option<Sourced<String>>,
    /// The source of the SLIs in plain `sli.yaml` files and of names no file defines.
    pub source: Option<Sourced<String>>,
    pub project: Option<Sourced<String>>,
    pub stage: Option<Sourced<String>>,
    pub service: Option<Sourced<String>>,
    pub on_missing_baseline: Option<Sourced<String>>,
    /// `defaults.strict_data`: a value the source flagged with warnings (partial data) is an
    /// error, not a note.
    pub strict_data: Option<Sourced<bool>>,
    /// An SQLite path relative to the config root, or `dynatrace`.
    pub history: Option<Sourced<String>>,
    /// `judge:` — who decides relative criteria against a window baseline, and its knobs.
    pub judge: Judge,
    /// `comparison: pinned`: relative criteria with `compare_with: single_result` compare with
    /// the evaluation pinned by `slogate history pin` instead of Keptn's selection.
    pub comparison: Option<Sourced<String>>,
    /// `context:` — the problem policy and whether changes in the windows are listed.
    pub context: ContextSettings,
    /// `dashboard:` — how `--publish-dashboard` keeps and shares the release dashboard.
    pub release_dashboard: ReleaseDashboardSettings,
    /// `environments:` — named Dynatrace environments (tenants), in name order (docs/fleets.md).
    /// Shared: a fleet's plans are cloned once per environment, and there may be thousands.
    pub environments: Arc<std::collections::BTreeMap<String, Environment>>,
    /// `stages: {production: {environment: prod-eu}}` — the environment each stage talks to.
    pub stage_environments: std::collections::BTreeMap<String, Sourced<String>>,
    /// The entry of `environments:` this run talks to (`--environment`, or the stage's), once
    /// [`Settings::select_environment`] has put its URL and token variable into `dynatrace`.
    pub selected_environment: Option<Environment>,
}

/// `dashboard: {keep_releases: 5, shared: true, owner: release-team}`.
#[derive(Clone, Debug, Default)]
pub struct ReleaseDashboardSettings {
    pub keep_releases: Option<Sourced<i64>>,
    pub shared: Option<Sourced<bool>>,
    pub owner: Option<Sourced<String>>,
}

/// A named Dynatrace environment: where it is and which variable holds its token.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: Sourced<String>,
    pub url: Option<Sourced<String>>,
    /// Name of the environment variable holding its API token (never the token itself).
    pub token_env: Option<Sourced<String>>,
    /// The settings few entries have, apart: a fleet's slogate.yaml holds thousands of entries,
    /// and three empty fields each would be a megabyte per 10,000 of them.
    pub tuning: Option<Box<EnvironmentTuning>>,
}

/// An environment's own request settings.
#[derive(Clone, Debug, Default)]
pub struct EnvironmentTuning {
    /// Per-request timeout (e.g. `30s`), over `--request-timeout`.
    pub request_timeout: Option<Sourced<String>>,
    /// Most requests in flight to this environment (below `--concurrency`).
    pub concurrency: Option<Sourced<i64>>,
    /// An HTTP(S) proxy for this environment's requests.
    pub proxy: Option<Sourced<String>>,
}

impl Environment {
    pub fn request_timeout(&self) -> Option<&Sourced<String>> {
        self.tuning
            .as_ref()
            .and_then(|t| t.request_timeout.as_ref())
    }
    pub fn concurrency(&self) -> Option<&Sourced<i64>> {
        self.tuning.as_ref().and_then(|t| t.concurrency.as_ref())
    }
    pub fn proxy(&self) -> Option<&Sourced<String>> {
        self.tuning.as_ref().and_then(|t| t.proxy.as_ref())
    }
}

/// `context: {problems: note, changes: note}`.
#[derive(Clone, Debug, Default)]
pub struct ContextSettings {
    /// `ignore`, `note` (default), `warning` or `fail`.
    pub problems: Option<Sourced<String>>,
    /// `ignore` or `note` (default).
    pub changes: Option<Sourced<String>>,
    /// `ignore` (default) or `note`: maintenance windows need `settings.read`, a broad scope,
    /// so they are asked for only when chosen.
    pub maintenance: Option<Sourced<String>>,
}

impl Settings {
    /// Talks to the named environment: its URL and token variable replace `dynatrace.url` and
    /// `dynatrace.token_env` (the rest of `dynatrace:` — entity selector, dashboard — stays).
    /// `Err` lists the known names.
    pub fn select_environment(&mut self, name: &str) -> Result<(), String> {
        let Some(e) = self.environments.get(name).cloned() else {
            let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            return Err(if known.is_empty() {
                format!("unknown environment `{name}`: slogate.yaml has no `environments:`")
            } else {
                format!(
                    "unknown environment `{name}`; known environments: {}",
                    known.join(", ")
                )
            });
        };
        let mut dt = self.dynatrace.clone().unwrap_or_default();
        dt.url = e.url.clone();
        dt.token_env = e.token_env.clone();
        // Links into another tenant's UI would be wrong: they follow `url` again.
        dt.ui_url = None;
        self.dynatrace = Some(dt);
        self.selected_environment = Some(e);
        Ok(())
    }
}

impl ContextSettings {
    pub fn problem_policy(&self) -> crate::context::ProblemPolicy {
        self.problems
            .as_ref()
            .and_then(|p| crate::context::ProblemPolicy::parse(&p.value))
            .unwrap_or_default()
    }

    /// Whether the changes in the windows are looked up and listed.
    pub fn lists_changes(&self) -> bool {
        self.changes.as_ref().is_none_or(|c| c.value != "ignore")
    }

    /// Whether the maintenance windows are looked up and listed among the changes.
    pub fn lists_maintenance(&self) -> bool {
        self.maintenance.as_ref().is_some_and(|c| c.value == "note")
    }
}

/// `judge: {mode: statistical, confidence: 0.95, min_events: 10, min_minutes: 10}`.
#[derive(Clone, Debug, Default)]
pub struct Judge {
    pub mode: Option<Sourced<String>>,
    pub confidence: Option<f64>,
    pub min_events: Option<i64>,
    pub min_minutes: Option<i64>,
    pub warm_up_minutes: Option<i64>,
}

impl Judge {
    /// The judge's settings, defaults where unset.
    pub fn settings(&self) -> crate::judge::Settings {
        let d = crate::judge::Settings::default();
        crate::judge::Settings {
            confidence: self.confidence.unwrap_or(d.confidence),
            min_events: self.min_events.map_or(d.min_events, |v| v as f64),
            min_minutes: self
                .min_minutes
                .map_or(d.min_minutes, |v| v.max(0) as usize),
            warm_up_minutes: self
                .warm_up_minutes
                .map_or(d.warm_up_minutes, |v| v.max(0) as usize),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Dynatrace {
    pub url: Option<Sourced<String>>,
    /// Name of the environment variable holding the API token (never the token itself).
    pub token_env: Option<Sourced<String>>,
    pub platform_token_env: Option<Sourced<String>>,
    /// Template of a service's entity selector (`{project}`, `{stage}`, `{service}`).
    pub entity_selector: Option<Sourced<String>>,
    /// Dashboard mode: a dashboard ID or `query` (docs/dashboards.md).
    pub dashboard: Option<Sourced<String>>,
    /// The web UI's base URL when it differs from `url` (links in the reports).
    pub ui_url: Option<Sourced<String>>,
}

const EXAMPLE: &str =
    "`dynatrace: {url: \"https://abc12345.live.dynatrace.com\", token_env: DT_API_TOKEN}`";

pub fn read(_file: &Arc<SourceFile>, root: Option<&Node>, r: &mut Reader) -> Settings {
    let mut s = Settings::default();
    // An empty slogate.yaml is allowed: every setting has a default or an environment variable.
    let Some(root) = root else { return s };
    let Some(f) = r.fields(root, "slogate.yaml", SETTINGS_KEYS, EXAMPLE) else {
        return s;
    };
    if let Some(n) = f.get("spec_version") {
        s.spec_version = r.string(n, "spec_version", "`spec_version: \"1\"`");
    }
    if let Some(n) = f.get("dynatrace")
        && let Some(d) = r.fields(n, "dynatrace", DYNATRACE_KEYS, EXAMPLE)
    {
        let mut dt = Dynatrace {
            url: d
                .get("url")
                .and_then(|v| r.string(v, "url", "`url: https://abc12345.live.dynatrace.com`")),
            token_env: d
                .get("token_env")
                .and_then(|v| r.string(v, "token_env", "`token_env: DT_API_TOKEN`")),
            platform_token_env: d.get("platform_token_env").and_then(|v| {
                r.string(
                    v,
                    "platform_token_env",
                    "`platform_token_env: DT_PLATFORM_TOKEN`",
                )
            }),
            entity_selector: d.get("entity_selector").and_then(|v| {
                r.string(
                    v,
                    "entity_selector",
                    "`entity_selector: \"type(SERVICE),tag(app:{service})\"`",
                )
            }),
            dashboard: d
                .get("dashboard")
                .and_then(|v| r.string(v, "dashboard", "`dashboard: query`")),
            ui_url: d.get("ui_url").and_then(|v| {
                r.string(
                    v,
                    "ui_url",
                    "`ui_url: https://dynatrace.example.com/e/abc12345`",
                )
            }),
        };
        for env in [&mut dt.token_env, &mut dt.platform_token_env]
            .into_iter()
            .flatten()
        {
            check_env_name(env, r);
        }
        s.dynatrace = Some(dt);
    }
    if let Some(n) = f.get("environments") {
        s.environments = Arc::new(read_environments(n, r));
    }
    if let Some(n) = f.get("stages") {
        s.stage_environments = read_stages(n, r);
    }
    for (stage, env) in &s.stage_environments {
        if !s.environments.contains_key(&env.value) {
            let known: Vec<&str> = s.environments.keys().map(String::as_str).collect();
            r.push(
                Problem::error(
                    "slogate::bad-environment",
                    &env.origin,
                    format!(
                        "stage `{stage}` names the unknown environment `{}`",
                        env.value
                    ),
                )
                .label("not in `environments:`")
                .help(if known.is_empty() {
                    "add it under `environments:` with its url and token_env".to_string()
                } else {
                    format!("known environments: {}", known.join(", "))
                }),
            );
        }
    }
    if let Some(n) = f.get("history") {
        s.history = r.string(
            n,
            "history",
            "`history: .slogate/history.sqlite` or `history: dynatrace`",
        );
    }
    if let Some(n) = f.get("prometheus")
        && let Some(p) = r.fields(
            n,
            "prometheus",
            PROMETHEUS_KEYS,
            "`prometheus: {url: http://127.0.0.1:9090}`",
        )
    {
        s.prometheus_url = p
            .get("url")
            .and_then(|v| r.string(v, "url", "`url: http://127.0.0.1:9090`"));
    }
    if let Some(n) = f.get("judge") {
        s.judge = read_judge(n, r);
    }
    if let Some(n) = f.get("comparison") {
        s.comparison = r.string(n, "comparison", "`comparison: pinned`");
        if let Some(v) = &s.comparison
            && !COMPARISONS.contains(&v.value.as_str())
        {
            r.push(
                Problem::error(
                    "slogate::bad-comparison",
                    &v.origin,
                    format!("unknown comparison `{}`", v.value),
                )
                .label("not a comparison")
                .help(format!(
                    "write one of: {} (Keptn's previous results, or the evaluation pinned with `slogate history pin`)",
                    COMPARISONS.join(", ")
                )),
            );
            s.comparison = None;
        }
    }
    if let Some(n) = f.get("context") {
        s.context = read_context(n, r);
    }
    if let Some(n) = f.get("dashboard")
        && let Some(d) = r.fields(
            n,
            "dashboard",
            RELEASE_DASHBOARD_KEYS,
            "`dashboard: {keep_releases: 5, shared: true}`",
        )
    {
        let rd = &mut s.release_dashboard;
        rd.keep_releases = d
            .get("keep_releases")
            .and_then(|v| r.integer(v, "keep_releases", "`keep_releases: 5`"));
        if let Some(k) = &rd.keep_releases
            && !(1..=50).contains(&k.value)
        {
            r.push(
                Problem::error(
                    "slogate::bad-keep-releases",
                    &k.origin,
                    format!("keep_releases must be between 1 and 50, not {}", k.value),
                )
                .label("out of range")
                .help("e.g. `keep_releases: 5`: the newest release and four before it"),
            );
            rd.keep_releases = None;
        }
        rd.shared = d.get("shared").and_then(|v| r.boolean(v, "shared"));
        rd.owner = d
            .get("owner")
            .and_then(|v| r.string(v, "owner", "`owner: release-team`"));
    }
    if let Some(n) = f.get("source") {
        s.source = r.string(n, "source", "`source: prometheus`");
        if let Some(v) = &s.source
            && !SOURCES.contains(&v.value.as_str())
        {
            r.push(
                Problem::error(
                    "slogate::bad-source",
                    &v.origin,
                    format!("unknown source `{}`", v.value),
                )
                .label("not a source")
                .help(format!("write one of: {}", SOURCES.join(", "))),
            );
        }
    }
    if let Some(n) = f.get("defaults")
        && let Some(d) = r.fields(
            n,
            "defaults",
            DEFAULTS_KEYS,
            "`defaults: {project: shop, stage: production}`",
        )
    {
        s.project = d
            .get("project")
            .and_then(|v| r.string(v, "project", "`project: shop`"));
        s.stage = d
            .get("stage")
            .and_then(|v| r.string(v, "stage", "`stage: production`"));
        s.service = d
            .get("service")
            .and_then(|v| r.string(v, "service", "`service: checkout`"));
        s.strict_data = d
            .get("strict_data")
            .and_then(|v| r.boolean(v, "strict_data"));
        s.on_missing_baseline = d
            .get("on_missing_baseline")
            .and_then(|v| r.string(v, "on_missing_baseline", "`on_missing_baseline: fail`"));
        if let Some(p) = &s.on_missing_baseline
            && !MISSING_BASELINE_POLICIES.contains(&p.value.as_str())
        {
            r.push(
                Problem::error(
                    "slogate::bad-policy",
                    &p.origin,
                    format!("unknown missing-baseline policy `{}`", p.value),
                )
                .label("not a policy")
                .help("write one of: pass (Keptn), warn, fail"),
            );
        }
    }
    s
}

/// A token variable's name; a literal token is refused (and never echoed) and cleared.
fn check_env_name(env: &mut Sourced<String>, r: &mut Reader) {
    if looks_like_token(&env.value) {
        r.push(
            Problem::error("slogate::bad-env-name", &env.origin, "this looks like an API token, not the name of an environment variable")
                .help("remove the token from this file and revoke it (it may be in version control); store it in a secret variable such as DT_API_TOKEN and write that NAME here")
                .redact(),
        );
        env.value.clear();
    } else if !is_env_name(&env.value) {
        r.push(
            Problem::error(
                "slogate::bad-env-name",
                &env.origin,
                format!("`{}` is not an environment variable name", env.value),
            )
            .label("expected a variable name such as DT_API_TOKEN")
            .help("put the NAME of the variable that holds the token here, never the token itself"),
        );
    }
}

/// Environment names appear in paths of shards, JUnit suites and CI variables: keep them plain.
pub fn is_environment_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn read_environments(n: &Node, r: &mut Reader) -> std::collections::BTreeMap<String, Environment> {
    // Collected, then built at once: a map filled by inserts in name order leaves its nodes
    // half empty, which for a fleet's thousands of entries is megabytes (docs/performance.md).
    let mut out: Vec<(String, Environment)> = Vec::new();
    let example = "`environments: {prod-eu: {url: https://abc12345.live.dynatrace.com, token_env: DT_TOKEN_EU}}`";
    let Some(entries) = n.as_map() else {
        if !n.is_null() {
            r.type_error(
                n,
                "environments",
                "a mapping of names to environments",
                example,
            );
        }
        return std::collections::BTreeMap::new();
    };
    for (k, v) in entries {
        let Some(name) = r.string(k, "environment name", example) else {
            continue;
        };
        if !is_environment_name(&name.value) {
            r.push(
                Problem::error(
                    "slogate::bad-environment",
                    &name.origin,
                    format!("`{}` is not a usable environment name", name.value),
                )
                .label("letters, digits, `-`, `_` and `.` only")
                .help("name environments like `prod-eu` or `tenant_0042`"),
            );
            continue;
        }
        let Some(f) = r.fields(v, "an environment", ENVIRONMENT_KEYS, example) else {
            continue;
        };
        if let Some(t) = f.get("token") {
            // Never echo it: the value may be a real token.
            r.push(
                Problem::error(
                    "slogate::literal-token",
                    &t.origin,
                    "a token is written in slogate.yaml",
                )
                .help("remove the token from this file and revoke it (it may be in version control); store it in a secret variable and write `token_env: THAT_VARIABLE` instead")
                .redact(),
            );
        }
        let mut e = Environment {
            name: name.clone(),
            url: f
                .get("url")
                .and_then(|v| r.string(v, "url", "`url: https://abc12345.live.dynatrace.com`")),
            token_env: f
                .get("token_env")
                .and_then(|v| r.string(v, "token_env", "`token_env: DT_TOKEN_EU`")),
            tuning: None,
        };
        let mut t = EnvironmentTuning {
            request_timeout: f
                .get("request_timeout")
                .and_then(|v| r.string(v, "request_timeout", "`request_timeout: 30s`")),
            concurrency: f
                .get("concurrency")
                .and_then(|v| r.integer(v, "concurrency", "`concurrency: 4`")),
            proxy: f
                .get("proxy")
                .and_then(|v| r.string(v, "proxy", "`proxy: http://proxy.example:3128`")),
        };
        if let Some(t) = e.token_env.as_mut() {
            check_env_name(t, r);
        }
        if e.url.is_none() {
            r.push(
                Problem::error(
                    "slogate::bad-environment",
                    &name.origin,
                    format!("environment `{}` has no url", name.value),
                )
                .label("no `url:`")
                .help("add `url: https://<env>.live.dynatrace.com` (or the Managed cluster's /e/<id> URL)"),
            );
        }
        if let Some(rt) = &t.request_timeout
            && crate::window::parse_duration_in(&rt.value, "request_timeout", 1, 600).is_err()
        {
            r.push(
                Problem::error(
                    "slogate::bad-environment",
                    &rt.origin,
                    format!(
                        "request_timeout `{}` is not a duration from 1s to 10m",
                        rt.value
                    ),
                )
                .label("not a timeout")
                .help("write e.g. `request_timeout: 30s`"),
            );
            t.request_timeout = None;
        }
        if let Some(c) = &t.concurrency
            && !(1..=crate::cli::MAX_CONCURRENCY as i64).contains(&c.value)
        {
            r.push(
                Problem::error(
                    "slogate::bad-environment",
                    &c.origin,
                    format!(
                        "concurrency {} is out of range: allowed 1 to {}",
                        c.value,
                        crate::cli::MAX_CONCURRENCY
                    ),
                )
                .label("out of range")
                .help("write e.g. `concurrency: 4`"),
            );
            t.concurrency = None;
        }
        if t.request_timeout.is_some() || t.concurrency.is_some() || t.proxy.is_some() {
            e.tuning = Some(Box::new(t));
        }
        out.push((name.value.clone(), e));
    }
    // Equal names: the last one stands, as with inserts.
    out.into_iter().collect()
}

fn read_stages(n: &Node, r: &mut Reader) -> std::collections::BTreeMap<String, Sourced<String>> {
    let mut out = std::collections::BTreeMap::new();
    let example = "`stages: {production: {environment: prod-eu}}`";
    let Some(entries) = n.as_map() else {
        if !n.is_null() {
            r.type_error(n, "stages", "a mapping of stage names to settings", example);
        }
        return out;
    };
    for (k, v) in entries {
        let Some(stage) = r.string(k, "stage name", example) else {
            continue;
        };
        let Some(f) = r.fields(v, "a stage", STAGE_KEYS, example) else {
            continue;
        };
        if let Some(e) = f
            .get("environment")
            .and_then(|v| r.string(v, "environment", "`environment: prod-eu`"))
        {
            out.insert(stage.value, e);
        }
    }
    out
}

fn read_context(n: &Node, r: &mut Reader) -> ContextSettings {
    let mut c = ContextSettings::default();
    let example = "`context: {problems: warning, changes: note}`";
    let Some(f) = r.fields(n, "context", CONTEXT_KEYS, example) else {
        return c;
    };
    for (key, slot, allowed, help) in [
        (
            "problems",
            &mut c.problems,
            crate::context::PROBLEM_POLICIES,
            "write one of: ignore, note (the default: listed, verdict unchanged), warning, fail",
        ),
        (
            "changes",
            &mut c.changes,
            crate::context::CHANGE_POLICIES,
            "write one of: ignore, note (the default)",
        ),
        (
            "maintenance",
            &mut c.maintenance,
            crate::context::CHANGE_POLICIES,
            "write one of: ignore (the default), note (needs the token scope settings.read)",
        ),
    ] {
        let v = f
            .get(key)
            .and_then(|v| r.string(v, key, &format!("`{key}: note`")));
        if let Some(v) = &v
            && !allowed.contains(&v.value.as_str())
        {
            r.push(
                Problem::error(
                    "slogate::bad-policy",
                    &v.origin,
                    format!("unknown {key} policy `{}`", v.value),
                )
                .label("not a policy")
                .help(help),
            );
            continue;
        }
        *slot = v;
    }
    c
}

fn read_judge(n: &Node, r: &mut Reader) -> Judge {
    let mut j = Judge::default();
    let example = "`judge: {mode: statistical, confidence: 0.95, min_events: 10, min_minutes: 10}`";
    let Some(f) = r.fields(n, "judge", JUDGE_KEYS, example) else {
        return j;
    };
    j.mode = f
        .get("mode")
        .and_then(|v| r.string(v, "mode", "`mode: statistical`"));
    if let Some(m) = &j.mode
        && crate::judge::JudgeMode::parse(&m.value).is_none()
    {
        r.push(
            Problem::error(
                "slogate::bad-judge",
                &m.origin,
                format!("unknown judge `{}`", m.value),
            )
            .label("not a judge")
            .help("write one of: keptn (the default), statistical"),
        );
    }
    if let Some(c) = f
        .get("confidence")
        .and_then(|v| r.string(v, "confidence", "`confidence: 0.95`"))
    {
        match c.value.parse::<f64>() {
            Ok(v) if v > 0.5 && v < 1.0 => j.confidence = Some(v),
            _ => r.push(
                Problem::error(
                    "slogate::bad-judge",
                    &c.origin,
                    format!("confidence `{}` is not between 0.5 and 1", c.value),
                )
                .label("not a confidence")
                .help("write e.g. `confidence: 0.95` (a two-sided 95 % interval)"),
            ),
        }
    }
    for (key, slot) in [
        ("min_events", &mut j.min_events),
        ("min_minutes", &mut j.min_minutes),
        ("warm_up_minutes", &mut j.warm_up_minutes),
    ] {
        if let Some(v) = f
            .get(key)
            .and_then(|v| r.integer(v, key, &format!("`{key}: 10`")))
        {
            if v.value < 0 {
                r.push(
                    Problem::error(
                        "slogate::bad-judge",
                        &v.origin,
                        format!("{key} must not be negative"),
                    )
                    .label("negative")
                    .help(format!("write e.g. `{key}: 10`")),
                );
            } else {
                *slot = Some(v.value);
            }
        }
    }
    j
}

/// Dynatrace tokens look like `dt0c01.<public>.<secret>` (also `dt0s..`); anything long with
/// dots is treated as a secret too, so it is never echoed.
fn looks_like_token(s: &str) -> bool {
    s.starts_with("dt0") || (s.len() >= 32 && s.contains('.'))
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
