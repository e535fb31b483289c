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
];
/// `dashboard:` — the release comparison dashboard (docs/release-dashboard.md).
pub const RELEASE_DASHBOARD_KEYS: &[&str] = &["keep_releases", "shared", "owner"];
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
}

/// `dashboard: {keep_releases: 5, shared: true, owner: release-team}`.
#[derive(Clone, Debug, Default)]
pub struct ReleaseDashboardSettings {
    pub keep_releases: Option<Sourced<i64>>,
    pub shared: Option<Sourced<bool>>,
    pub owner: Option<Sourced<String>>,
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
            if looks_like_token(&env.value) {
                r.push(
                    Problem::error("slogate::bad-env-name", &env.origin, "this looks like an API token, not the name of an environment variable")
                        .help("remove the token from this file and revoke it (it may be in version control); store it in a secret variable such as DT_API_TOKEN and write that NAME here")
                        .redact(),
                );
                env.value.clear();
            } else if !is_env_name(&env.value) {
                r.push(
                    Problem::error("slogate::bad-env-name", &env.origin, format!("`{}` is not an environment variable name", env.value))
                        .label("expected a variable name such as DT_API_TOKEN")
                        .help("put the NAME of the variable that holds the token here, never the token itself"),
                );
            }
        }
        s.dynatrace = Some(dt);
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
