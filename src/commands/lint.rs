//! `slogate lint`: every problem of SLO files and config roots in one run.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::cli::{LintArgs, LintFormat};
use crate::diag::{self, Problem, Severity};
use crate::spec::layout::{self, Level, LevelKind};
use crate::spec::load;
use crate::spec::{lint, slo::Slo};
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
    for path in &paths {
        if path.is_dir() {
            lint_tree(path, &mut problems, &mut files);
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
            });
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        LintFormat::Text => {
            ui.problems(&problems);
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

/// Lints a config root: every file on its own, then the merged view of every service.
fn lint_tree(root: &Path, problems: &mut Vec<Problem>, files: &mut usize) {
    let settings = root.join(layout::SETTINGS_FILE);
    if settings.is_file() {
        lint_file(&settings, problems, files);
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
    let settings_value = settings
        .is_file()
        .then(|| load::settings_file(&settings).ok().map(|l| l.value))
        .flatten()
        .unwrap_or_default();
    // Dashboard mode: the SLIs and objectives live in the dashboard (`lint --dashboard`).
    let dashboard = crate::dashboard::engine::configured(root, &settings_value);
    if !dashboard && levels.iter().all(|l| l.sli.is_empty() && l.slo.is_none()) {
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
    let mut broken = false;
    for level in &levels {
        *files += level.sli.len() + usize::from(level.slo.is_some());
        broken |= level.sli.iter().any(|l| !l.complete)
            || level.slo.as_ref().is_some_and(|l| !l.complete);
        problems.extend(level.problems().cloned());
        for sli in &level.sli {
            problems.extend(lint::check_sli(&sli.value, &filter_keys));
            problems.extend(lint::check_queries(&sli.value));
        }
        if let Some(slo) = &level.slo {
            problems.extend(lint::check_slo(&slo.value));
        }
    }
    if broken {
        // Cross-file checks on files that did not parse would only repeat their errors.
        return;
    }
    let mut chains: Vec<(Vec<&Level>, String)> = Vec::new();
    if stages.is_empty() {
        chains.push((vec![&project], String::new()));
    }
    for (stage, services) in &stages {
        let sname = dir_name(&stage.dir);
        if services.is_empty() {
            chains.push((vec![&project, stage], format!(" for stage `{sname}`")));
        }
        for svc in services {
            chains.push((
                vec![&project, stage, svc],
                format!(" for service `{}` in stage `{sname}`", dir_name(&svc.dir)),
            ));
        }
    }
    for (chain, context) in chains {
        let sli = layout::merge_sli(chain.iter().flat_map(|l| l.sli.iter().map(|s| &s.value)));
        let slos: Vec<&Slo> = chain
            .iter()
            .filter_map(|l| l.slo.as_ref().map(|s| &s.value))
            .collect();
        if let Some(slo) = layout::merge_slo(slos) {
            problems.extend(lint::check_merged(&slo, &sli, &context));
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
    let conn = crate::plan::connection(&crate::spec::settings::Settings::default(), &env)?;
    if conn.token.is_none() {
        return Err(Problem::file(
            "slogate::usage",
            "command line",
            format!(
                "no Dynatrace API token in {} to read dashboard {arg}",
                conn.token_env
            ),
        )
        .help(
            "the token needs ReadConfig (docs/token-scopes.md); or lint a saved dashboard file",
        ));
    }
    let client = crate::shell::client_for(&conn, std::time::Duration::from_secs(30), 2)
        .map_err(|m| Problem::file("slogate::usage", "command line", m))?;
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
