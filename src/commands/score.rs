//! `slogate score`: Keptn lighthouse scoring of given values, no network.

use std::path::Path;

use crate::cli::{FailOn, OnMissingBaseline, ReportFormat, ScoreArgs};
use crate::diag::Problem;
use crate::eval::{self, MissingBaseline, Retrieval, previous};
use crate::input;
use crate::model::slo::Slo;
use crate::model::{layout, lint, load};
use crate::report::{self, Report, json};
use crate::ui::{Exit, Ui, stdout};

pub fn run(args: &ScoreArgs, ui: &Ui) -> Exit {
    match score(args, ui) {
        Ok(exit) => exit,
        Err(problems) => {
            ui.problems(&problems);
            Exit::Invalid
        }
    }
}

fn read_json_input(path: &Path) -> Result<std::sync::Arc<crate::diag::SourceFile>, Vec<Problem>> {
    let (file, problems) = load::read_text(path).map_err(|p| vec![p])?;
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    Ok(file)
}

/// The SLO to score: one file, or the merge of a config root's levels; with its file names.
fn load_slo(args: &ScoreArgs) -> Result<(Slo, Vec<String>, Vec<Problem>), Vec<Problem>> {
    if let Some(path) = &args.slo {
        let mut loaded = load::slo_file(path).map_err(|p| vec![p])?;
        loaded.problems = loaded
            .problems
            .into_iter()
            .map(load::keptn_reading)
            .collect();
        if loaded.has_errors() {
            return Err(loaded.problems);
        }
        let mut findings = loaded.problems;
        findings.extend(lint::check_slo(&loaded.value));
        return Ok((loaded.value, vec![path.display().to_string()], findings));
    }
    let root = args.config.as_deref().unwrap_or(Path::new("slo"));
    if !root.is_dir() {
        return Err(vec![
            Problem::file(
                "slogate::no-config",
                &root.display().to_string(),
                "config root not found",
            )
            .help(
                "pass the folder holding slo.yaml with --config DIR, or one file with --slo FILE",
            ),
        ]);
    }
    let mut problems = Vec::new();
    let chain = layout::load_chain(
        root,
        args.stage.as_deref(),
        args.service.as_deref(),
        &mut problems,
    );
    problems.extend(
        chain
            .iter()
            .flat_map(layout::Level::problems)
            .cloned()
            .map(load::keptn_reading),
    );
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    let files: Vec<String> = chain
        .iter()
        .filter_map(|l| l.slo.as_ref())
        .map(|s| s.file.name.clone())
        .collect();
    for slo in chain.iter().filter_map(|l| l.slo.as_ref()) {
        problems.extend(lint::check_slo(&slo.value));
    }
    let Some(slo) = layout::merge(&chain).slo else {
        return Err(vec![
            Problem::file(
                "slogate::no-slo",
                &root.display().to_string(),
                "no slo.yaml at any level of this config root",
            )
            .help("add slo.yaml to the config root, its stage folder or its service folder"),
        ]);
    };
    Ok((slo, files, problems))
}

fn score(args: &ScoreArgs, ui: &Ui) -> Result<Exit, Vec<Problem>> {
    let (slo, files, mut findings) = load_slo(args)?;
    findings.extend(lint::check_scorable(&slo, ""));
    let findings = lint::for_scoring(findings);
    // An error stops here: no verdict is computed from a file that has one (a negative weight
    // would otherwise score 300 %). Warnings are shown and scoring goes on.
    if findings.iter().any(Problem::is_error) {
        return Err(findings);
    }
    ui.problems(&findings);

    let values = input::values(&read_json_input(&args.values)?)
        .map_err(|p| vec![p])?
        .for_slo(&slo);
    let mut all_previous = Vec::new();
    for path in &args.previous {
        all_previous.extend(input::previous(&read_json_input(path)?).map_err(|p| vec![p])?);
    }
    let comparison = slo.effective_comparison();
    let selected = previous::select(&all_previous, &comparison);
    let policy = match args.on_missing_baseline {
        Some(OnMissingBaseline::Pass) => MissingBaseline::Pass,
        Some(OnMissingBaseline::Warn) => MissingBaseline::Warn,
        Some(OnMissingBaseline::Fail) => MissingBaseline::Fail,
        None => settings_policy(args)?,
    };
    let evaluation = eval::evaluate(&slo, &Retrieval::Ok, &values, &selected, policy);
    // Keptn's scoring refused the SLO (e.g. a `total_score` that does not parse): no verdict.
    if evaluation.result == eval::Verdict::Invalid {
        return Err(vec![
            Problem::file(
                "slogate::not-scorable",
                &files.join(", "),
                evaluation
                    .invalid_input
                    .clone()
                    .unwrap_or_else(|| evaluation.message.clone()),
            )
            .help("fix the SLO file; `slogate lint` shows where"),
        ]);
    }
    let report = Report {
        id: None,
        report_version: json::REPORT_VERSION,
        tool: json::Tool::current(),
        project: None,
        stage: args.stage.clone(),
        service: args.service.clone(),
        labels: Default::default(),
        time_start: None,
        time_end: None,
        slo: json::SloInfo::of(&slo, files),
        policy: json::Policy {
            on_missing_baseline: policy,
        },
        source: None,
        settle: None,
        deployment: None,
        baseline_window: None,
        pipeline: None,
        series: Vec::new(),
        result_event: None,
        baseline_selection: None,
        context: None,
        release_dashboard: None,
        evaluation,
    };
    let json_text = report::json::render(&report);
    if let Some(path) = &args.output
        && let Err(e) = std::fs::write(path, &json_text)
    {
        return Err(vec![
            Problem::file(
                "slogate::io",
                &path.display().to_string(),
                format!("cannot write the report: {e}"),
            )
            .help("check that the directory exists and is writable"),
        ]);
    }
    match args.format {
        ReportFormat::Json => stdout(&json_text),
        ReportFormat::Text => stdout(&report::text::render(&report)),
    }
    Ok(Exit::of(report.evaluation.result, FailOn::Fail))
}

/// The missing-baseline policy from the config root's slogate.yaml, if it sets one.
fn settings_policy(args: &ScoreArgs) -> Result<MissingBaseline, Vec<Problem>> {
    let Some(root) = &args.config else {
        return Ok(MissingBaseline::Pass);
    };
    let path = root.join(layout::SETTINGS_FILE);
    if !path.is_file() {
        return Ok(MissingBaseline::Pass);
    }
    let loaded = load::settings_file(&path).map_err(|p| vec![p])?;
    if loaded.has_errors() {
        return Err(loaded.problems);
    }
    Ok(loaded
        .value
        .on_missing_baseline
        .and_then(|p| MissingBaseline::parse(&p.value))
        .unwrap_or(MissingBaseline::Pass))
}
