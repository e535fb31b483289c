//! `slogate score`: Keptn lighthouse scoring of given values, no network.

use std::path::Path;

use crate::cli::{OnMissingBaseline, ReportFormat, ScoreArgs};
use crate::commands::{Exit, Ui, stdout};
use crate::diag::Problem;
use crate::eval::{self, MissingBaseline, Retrieval, Verdict, previous};
use crate::input;
use crate::report::{self, Report, json};
use crate::spec::{lint, load};

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

fn score(args: &ScoreArgs, ui: &Ui) -> Result<Exit, Vec<Problem>> {
    let loaded = load::slo_file(&args.slo).map_err(|p| vec![p])?;
    if loaded.has_errors() {
        return Err(loaded.problems);
    }
    let slo = loaded.value;
    // Lint findings do not stop scoring (Keptn scores such files its own way) but are shown.
    let mut findings = loaded.problems;
    findings.extend(lint::check_slo(&slo));
    ui.problems(&findings);

    let values = input::values(&read_json_input(&args.values)?).map_err(|p| vec![p])?;
    let mut all_previous = Vec::new();
    for path in &args.previous {
        all_previous.extend(input::previous(&read_json_input(path)?).map_err(|p| vec![p])?);
    }
    let comparison = slo.effective_comparison();
    let selected = previous::select(&all_previous, &comparison);
    let policy = match args.on_missing_baseline {
        OnMissingBaseline::Pass => MissingBaseline::Pass,
        OnMissingBaseline::Warn => MissingBaseline::Warn,
        OnMissingBaseline::Fail => MissingBaseline::Fail,
    };
    let evaluation = eval::evaluate(&slo, &Retrieval::Ok, &values, &selected, policy);
    let report = Report {
        report_version: json::REPORT_VERSION,
        tool: json::Tool::current(),
        project: None,
        stage: None,
        service: None,
        labels: Default::default(),
        time_start: None,
        time_end: None,
        slo: json::SloInfo {
            files: vec![args.slo.display().to_string()],
            hash: slo.hash(),
            comparison,
            pass_threshold: slo.total_score.as_ref().and_then(|t| t.pass.as_ref()).map(|p| p.value.clone()),
            warning_threshold: slo.total_score.as_ref().and_then(|t| t.warning.as_ref()).map(|w| w.value.clone()),
        },
        policy: json::Policy { on_missing_baseline: policy },
        evaluation,
    };
    let json_text = report::json::render(&report);
    if let Some(path) = &args.output
        && let Err(e) = std::fs::write(path, &json_text)
    {
        return Err(vec![Problem::file("slogate::io", &path.display().to_string(), format!("cannot write the report: {e}"))
            .help("check that the directory exists and is writable")]);
    }
    match args.format {
        ReportFormat::Json => stdout(&json_text),
        ReportFormat::Text => stdout(&report::text::render(&report)),
    }
    Ok(exit_for(&report.evaluation))
}

/// 2 when the SLO made scoring impossible, else 1 for fail and 0 for pass or warning.
pub fn exit_for(e: &eval::Evaluation) -> Exit {
    if e.invalid_input.is_some() {
        return Exit::Invalid;
    }
    match e.result {
        Verdict::Pass | Verdict::Warning => Exit::Pass,
        Verdict::Fail => Exit::Fail,
    }
}
