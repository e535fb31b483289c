//! `slogate lint`: every problem of SLO files and config roots in one run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::cli::{LintArgs, LintFormat};
use crate::diag::{self, Problem, Severity};
use crate::model::layout::{self, Level, LevelKind};
use crate::model::load;
use crate::model::settings::Settings;
use crate::model::{lint, slo::Slo, sources};
use crate::source::{SourceKind, prometheus};
use crate::ui::{Exit, Ui, stderr, stdout};

pub fn run(args: &LintArgs, ui: &Ui) -> Exit {
    let paths = if args.paths.is_empty() && args.dashboard.is_some() {
        Vec::new()
    } else if args.paths.is_empty() {
        let default = PathBuf::from("slo");
        if !default.is_dir() {
            ui.problems(&[Problem::file(
                "slogate::no-config",
                "slo",
                "no path given, and there is no ./slo folder to check by default",
            )
            .help("pass the files or config roots to check: `slogate lint path/to/slo`")]);
            return Exit::Invalid;
        }
        vec![default]
    } else {
        args.paths.clone()
    };
    let mut problems = Vec::new();
    let mut files = 0usize;
    if let Some(d) = &args.dashboard {
        match dashboard_text(d) {
            Ok((name, text)) => {
                files += 1;
                problems.extend(crate::dashboard::lint::check(&name, &text));
            }
            Err(p) => {
                ui.problems(&[p]);
                return Exit::Invalid;
            }
        }
    }
    let mut origins: Vec<SliOrigins> = Vec::new();
    for path in &paths {
        if path.is_dir() {
            lint_tree(path, &mut problems, &mut files, &mut origins);
        } else {
            lint_file(path, &mut problems, &mut files);
        }
    }
    dedupe(&mut problems);
    diag::sort(&mut problems);
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    match args.format {
        LintFormat::Json => {
            let doc = serde_json::json!({
                "files": files,
                "errors": errors,
                "warnings": warnings,
                "problems": problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
                "sources": origins.iter().map(|o| serde_json::json!({
                    "root": o.root,
                    "stage": o.stage,
                    "service": o.service,
                    "slis": o.slis.iter().map(|(name, source, from)| serde_json::json!({
                        "name": name, "source": source.as_str(), "from": from,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        LintFormat::Text => {
            ui.problems(&problems);
            // Where SLIs come from is news only when they come from several sources (a clean
            // single-source run stays one line; JSON always lists them).
            let mut kinds: Vec<SourceKind> = origins
                .iter()
                .flat_map(|o| &o.slis)
                .map(|(_, k, _)| *k)
                .collect();
            kinds.sort();
            kinds.dedup();
            if kinds.len() > 1 {
                let mut text = String::new();
                for o in &origins {
                    text.push_str(&format!("SLI sources{}:\n", o.context));
                    for (name, source, from) in &o.slis {
                        text.push_str(&format!("  {name}: {source} ({from})\n"));
                    }
                }
                stderr(&text);
            }
            let summary = format!(
                "{files} file{} checked: {errors} error{}, {warnings} warning{}\n",
                if files == 1 { "" } else { "s" },
                if errors == 1 { "" } else { "s" },
                if warnings == 1 { "" } else { "s" },
            );
            stderr(&summary);
        }
    }
    if errors > 0 || (args.deny_warnings && warnings > 0) {
        Exit::Invalid
    } else {
        Exit::Pass
    }
}

/// Problems found through several services' merged views are reported once.
fn dedupe(problems: &mut Vec<Problem>) {
    let mut seen = HashSet::new();
    problems.retain(|p| {
        seen.insert((
            p.code,
            p.file_name.clone(),
            p.origin.as_ref().map(|o| (o.span.start, o.span.end)),
            p.message.clone(),
        ))
    });
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Sli,
    Slo,
    Settings,
}

fn kind_of(path: &Path, text: &str) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?.to_lowercase();
    if name.starts_with("slogate") {
        return Some(FileKind::Settings);
    }
    if name.contains("sli") {
        return Some(FileKind::Sli);
    }
    if name.contains("slo") {
        return Some(FileKind::Slo);
    }
    // Otherwise guess from a top-level key, written at the start of a line.
    let has = |k: &str| text.lines().any(|l| l.starts_with(k));
    if has("indicators:") {
        Some(FileKind::Sli)
    } else if has("objectives:") || has("total_score:") {
        Some(FileKind::Slo)
    } else if has("dynatrace:") || has("defaults:") || has("prometheus:") {
        Some(FileKind::Settings)
    } else {
        None
    }
}

fn lint_file(path: &Path, problems: &mut Vec<Problem>, files: &mut usize) {
    *files += 1;
    let (file, read_problems) = match load::read_text(path) {
        Ok(x) => x,
        Err(p) => {
            problems.push(p);
            return;
        }
    };
    match kind_of(path, &file.text) {
        Some(FileKind::Settings) => {
            problems.extend(load::parse_settings(file, read_problems).problems)
        }
        Some(FileKind::Sli) if in_prometheus_folder(path) => {
            let l = prometheus::files::parse(file, read_problems);
            problems.extend(lint::prometheus::check(
                l.value.indicators.as_deref().unwrap_or(&[]),
                &[],
            ));
            problems.extend(l.problems);
        }
        Some(FileKind::Sli) => {
            let l = load::parse_sli(file, read_problems);
            problems.extend(lint::check_sli(&l.value, &[]));
            problems.extend(lint::check_queries(&l.value));
            problems.extend(l.problems);
        }
        Some(FileKind::Slo) => {
            let l = load::parse_slo(file, read_problems);
            // An empty file already says so; "no objectives" would repeat it.
            let clean = l.complete && !l.problems.iter().any(|p| p.code == "slogate::empty-file");
            problems.extend(lint::check_slo(&l.value));
            problems.extend(l.problems);
            if clean {
                // SLIs next to it, as a one-level config root would have them.
                let dir = path.parent().unwrap_or(Path::new("."));
                let mut read = Vec::new();
                let level = layout::load_level(dir, LevelKind::Service, &mut read);
                problems.extend(read);
                let sli = layout::merge_sli(level.sli.iter().map(|s| &s.value));
                problems.extend(lint::check_merged(&l.value, &sli, ""));
            }
        }
        None => problems.push(
            Problem::file(
                "slogate::unknown-file-kind",
                &path.display().to_string(),
                "cannot tell whether this is an sli.yaml, slo.yaml or slogate.yaml",
            )
            .help("name the file sli.yaml, slo.yaml or slogate.yaml (or *.sli.yaml, *.slo.yaml)"),
        ),
    }
}

/// Keptn's `<level>/prometheus/sli.yaml`.
fn in_prometheus_folder(path: &Path) -> bool {
    path.parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "prometheus")
}

/// Lints a config root: every file on its own, then the merged view of every service.
/// Where each objective's SLI of one service comes from: name, source, file and line (or
/// "built-in").
struct SliOrigins {
    root: String,
    stage: Option<String>,
    service: Option<String>,
    context: String,
    slis: Vec<(String, SourceKind, String)>,
}

fn lint_tree(
    root: &Path,
    problems: &mut Vec<Problem>,
    files: &mut usize,
    origins: &mut Vec<SliOrigins>,
) {
    let settings_path = root.join(layout::SETTINGS_FILE);
    let mut settings = Settings::default();
    if settings_path.is_file() {
        lint_file(&settings_path, problems, files);
        if let Ok(l) = load::settings_file(&settings_path) {
            settings = l.value;
        }
    }
    let project = layout::load_level(root, LevelKind::Project, problems);
    let mut stages = Vec::new();
    for sdir in layout::child_levels(root) {
        let stage = layout::load_level(&sdir, LevelKind::Stage, problems);
        let services: Vec<Level> = layout::child_levels(&sdir)
            .iter()
            .map(|d| layout::load_level(d, LevelKind::Service, problems))
            .collect();
        stages.push((stage, services));
    }
    let all_levels = std::iter::once(&project).chain(
        stages
            .iter()
            .flat_map(|(s, svcs)| std::iter::once(s).chain(svcs)),
    );
    let levels: Vec<&Level> = all_levels.collect();
    // Dashboard mode: the SLIs and objectives live in the dashboard (`lint --dashboard`).
    let dashboard = crate::dashboard::engine::configured(root, &settings);
    if !dashboard
        && levels
            .iter()
            .all(|l| l.sli.is_empty() && l.prometheus.is_none() && l.slo.is_none())
    {
        problems.push(
            Problem::file("slogate::empty-config", &root.display().to_string(), "no sli.yaml or slo.yaml found in this folder or its stage/service sub-folders")
                .help("a config root holds slo.yaml and sli.yaml, optionally under <stage>/ and <stage>/<service>/"),
        );
        return;
    }
    // `$key` placeholders may come from any SLO's filter.
    let filter_keys: Vec<String> = levels
        .iter()
        .filter_map(|l| l.slo.as_ref())
        .flat_map(|s| s.value.filter.iter().map(|(k, _)| k.value.clone()))
        .collect();
    // Lint does not read the environment: the default source follows slogate.yaml and the files.
    let configured = sources::Configured {
        dynatrace: settings.dynatrace.as_ref().is_some_and(|d| d.url.is_some()),
        prometheus: settings.prometheus_url.is_some(),
    };
    let default = sources::default_source(&settings, &levels, configured);
    let mut broken = false;
    for level in &levels {
        *files += level.sli.len()
            + usize::from(level.slo.is_some())
            + usize::from(level.prometheus.is_some());
        broken |= level.sli.iter().any(|l| !l.complete)
            || level.prometheus.as_ref().is_some_and(|l| !l.complete)
            || level.slo.as_ref().is_some_and(|l| !l.complete);
        problems.extend(level.problems().cloned());
        for sli in &level.sli {
            let dynatrace_file = sli
                .file
                .name
                .replace('\\', "/")
                .ends_with("dynatrace/sli.yaml");
            if default == SourceKind::Prometheus && !dynatrace_file {
                problems.extend(lint::prometheus::check(&sli.value.indicators, &filter_keys));
            } else {
                problems.extend(lint::check_sli(&sli.value, &filter_keys));
                problems.extend(lint::check_queries(&sli.value));
            }
        }
        if let Some(p) = &level.prometheus {
            problems.extend(lint::prometheus::check(
                p.value.indicators.as_deref().unwrap_or(&[]),
                &filter_keys,
            ));
        }
        if let Some(slo) = &level.slo {
            problems.extend(lint::check_slo(&slo.value));
        }
    }
    if broken {
        // Cross-file checks on files that did not parse would only repeat their errors.
        return;
    }
    type Chain<'a> = (Vec<&'a Level>, String, Option<String>, Option<String>);
    let mut chains: Vec<Chain> = Vec::new();
    if stages.is_empty() {
        chains.push((vec![&project], String::new(), None, None));
    }
    for (stage, services) in &stages {
        let sname = dir_name(&stage.dir);
        if services.is_empty() {
            chains.push((
                vec![&project, stage],
                format!(" for stage `{sname}`"),
                Some(sname.clone()),
                None,
            ));
        }
        for svc in services {
            chains.push((
                vec![&project, stage, svc],
                format!(" for service `{}` in stage `{sname}`", dir_name(&svc.dir)),
                Some(sname.clone()),
                Some(dir_name(&svc.dir)),
            ));
        }
    }
    for (chain, context, stage, service) in chains {
        let assigned = match sources::assign(&chain, default) {
            Ok(a) => a,
            Err(p) => {
                problems.push(p);
                continue;
            }
        };
        let slos: Vec<&Slo> = chain
            .iter()
            .filter_map(|l| l.slo.as_ref().map(|s| &s.value))
            .collect();
        if let Some(slo) = layout::merge_slo(slos) {
            problems.extend(lint::check_merged_in(&slo, &assigned, &context));
            let mut slis: Vec<(String, SourceKind, String)> = Vec::new();
            for o in &slo.objectives {
                let name = &o.sli.value;
                if slis.iter().any(|(n, _, _)| n == name) {
                    continue;
                }
                let source = assigned.source_of(name);
                let defined = match source {
                    SourceKind::Prometheus => assigned.prometheus.get(name),
                    SourceKind::Dynatrace => assigned.dynatrace.indicators.get(name),
                };
                let from = match defined {
                    Some(i) if !i.query.value.is_empty() => i.query.origin.location(),
                    _ if assigned.defines(name) => "built-in".to_string(),
                    _ => "not defined".to_string(),
                };
                slis.push((name.clone(), source, from));
            }
            origins.push(SliOrigins {
                root: root.display().to_string(),
                stage,
                service,
                context: context.clone(),
                slis,
            });
        }
    }
}

fn dir_name(p: &Path) -> String {
    p.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string()
}

/// A saved dashboard file, or the dashboard with this ID from the environment in `DT_URL`.
fn dashboard_text(arg: &str) -> Result<(String, String), Problem> {
    let path = Path::new(arg);
    if path.is_file() {
        let (file, problems) = load::read_text(path)?;
        if let Some(p) = problems.into_iter().find(Problem::is_error) {
            return Err(p);
        }
        return Ok((file.name.clone(), file.text.clone()));
    }
    if arg.ends_with(".json") {
        return Err(
            Problem::file("slogate::no-config", arg, "no such dashboard file")
                .help("give the path of a saved dashboard JSON, or a dashboard ID"),
        );
    }
    let env = crate::shell::environment();
    let conn = crate::plan::connection(&crate::model::settings::Settings::default(), &env)?;
    if conn.token.is_none() {
        return Err(crate::plan::missing_token(
            &conn.token_env,
            &format!(
                "lint reads dashboard {arg} with it: the token needs ReadConfig (docs/token-scopes.md); or lint a saved dashboard file"
            ),
        ));
    }
    let client = crate::shell::client_for(&conn, std::time::Duration::from_secs(30), 2)
        .map_err(crate::source::http::SetupError::problem)?;
    let rt = crate::shell::runtime().map_err(|mut p| p.remove(0))?;
    let selection = crate::dashboard::Selection::Id(arg.to_string());
    let json = rt
        .block_on(crate::dashboard::process::fetch(
            &client, &selection, "", "", "",
        ))
        .map_err(|e| {
            Problem::file("slogate::dashboard", arg, e.message())
                .help("check the ID and that the token has ReadConfig")
        })?;
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    Ok((format!("dashboard {arg}"), text))
}
