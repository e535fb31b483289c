//! `slogate import` and `slogate export`: objectives between Keptn files and OpenSLO, Sloth and
//! Keptn Lifecycle Toolkit documents (docs/interop.md). The conversions are in `crate::interop`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::diag::{Problem, SourceFile};
use crate::interop::{self, Imported, Loss, keptn};
use crate::ui::{Exit, Ui, stdout};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// OpenSLO v1: SLO, SLI, DataSource (AlertPolicy and Service are read and set aside).
    Openslo,
    /// Sloth specs (prometheus/v1).
    Sloth,
    /// Keptn Lifecycle Toolkit: AnalysisDefinition, AnalysisValueTemplate, KeptnMetricsProvider.
    Klt,
    /// Dynatrace Site Reliability Guardian (the guardian's settings object, JSON or YAML).
    Guardian,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  slogate import openslo slos/*.yaml --out slo
  slogate import sloth sloth/checkout.yaml --out slo --strict
  slogate import klt analysis.yaml templates.yaml provider.yaml --out slo")]
pub struct ImportArgs {
    /// The format of the files.
    #[arg(value_enum)]
    pub format: Format,
    /// The documents (several per file with `---`; references resolve across the files).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The folder to write slo.yaml, dynatrace/sli.yaml and prometheus/sli.yaml into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Exit 2 without writing when anything could not be converted.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
#[command(after_help = "Examples:
  slogate export openslo --config slo --out openslo.yaml --timeframe 30m
  slogate export sloth --config slo --service checkout --out sloth.yaml
  slogate export klt --config slo --stage production --service checkout --out analysis.yaml")]
pub struct ExportArgs {
    /// The format to write.
    #[arg(value_enum)]
    pub format: Format,
    /// The config root to read.
    #[arg(long, value_name = "DIR", default_value = "slo")]
    pub config: PathBuf,
    /// A stage folder, to export the merged view of a stage (and service).
    #[arg(long)]
    pub stage: Option<String>,
    /// A service folder within the stage; also the Sloth `service`, the KLT definition's and the
    /// guardian's name.
    #[arg(long)]
    pub service: Option<String>,
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// OpenSLO: the window each objective is evaluated over (the gate's --timeframe).
    #[arg(long, default_value = "30m")]
    pub timeframe: String,
    /// Exit 2 without writing when anything could not be converted.
    #[arg(long)]
    pub strict: bool,
}

fn losses(ui: &Ui, l: &[Loss]) {
    if !l.is_empty() {
        ui.problems(&l.iter().map(Loss::problem).collect::<Vec<_>>());
    }
}

/// Writes `text` to `path` (parents created), through the output guard.
fn write(path: &Path, text: &str) -> Result<(), Problem> {
    let name = path.display().to_string();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| {
            Problem::file(
                "slogate::io",
                &name,
                format!("cannot create the folder: {e}"),
            )
        })?;
    }
    std::fs::write(path, &*crate::report::sanitize::guard(text))
        .map_err(|e| Problem::file("slogate::io", &name, format!("cannot write: {e}")))
}

/// Converts pure texts: the files as read, the model, the losses and the refusals.
pub fn convert(format: Format, files: &[Arc<SourceFile>]) -> Imported {
    let mut got = match format {
        Format::Openslo => interop::openslo::import(files),
        Format::Sloth => interop::sloth::import(files),
        Format::Klt => interop::klt::import(files),
        Format::Guardian => interop::guardian::import(files),
    };
    interop::informational(&mut got.model);
    got
}

pub fn import(args: &ImportArgs, ui: &Ui) -> Exit {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for f in &args.files {
        match crate::model::load::read_text(f) {
            Ok((file, p)) => {
                problems.extend(p);
                files.push(file);
            }
            Err(p) => problems.push(p),
        }
    }
    let got = convert(args.format, &files);
    problems.extend(got.problems);
    losses(ui, &got.losses);
    if !problems.is_empty() {
        ui.problems(&problems);
    }
    if problems.iter().any(Problem::is_error) {
        return Exit::Invalid;
    }
    if args.strict && !got.losses.is_empty() {
        crate::ui::stderr(&format!(
            "nothing written: {} thing(s) could not be converted (--strict)\n",
            got.losses.len()
        ));
        return Exit::Invalid;
    }
    if got.model.indicators.is_empty() {
        ui.problems(&[Problem::file(
            "slogate::nothing-to-import",
            "command line",
            "the files hold no SLO or SLI to convert",
        )]);
        return Exit::Invalid;
    }
    for (rel, text) in keptn::files(&got.model) {
        let path = args.out.join(&rel);
        if let Err(p) = write(&path, &text) {
            ui.problems(&[p]);
            return Exit::Invalid;
        }
        stdout(&format!("wrote {}\n", path.display()));
    }
    stdout(&format!(
        "{} SLI(s), {} objective(s); {} thing(s) not converted{}\n",
        got.model.indicators.len(),
        got.model.objectives.len(),
        got.losses.len(),
        if got.losses.is_empty() {
            ""
        } else {
            " (listed above)"
        }
    ));
    Exit::Pass
}

pub fn export(args: &ExportArgs, ui: &Ui) -> Exit {
    if args.format == Format::Openslo && crate::window::parse_duration(&args.timeframe).is_err() {
        ui.problems(&[Problem::usage(format!(
            "--timeframe {} is not a duration (e.g. 30m, 1h, 28d)",
            args.timeframe
        ))]);
        return Exit::Invalid;
    }
    let read = match keptn::read(&args.config, args.stage.as_deref(), args.service.as_deref()) {
        Ok(r) => r,
        Err(p) => {
            ui.problems(&p);
            return Exit::Invalid;
        }
    };
    let service = args.service.as_deref().unwrap_or("service");
    let out = match args.format {
        Format::Openslo => interop::openslo::export(&read, args.timeframe.trim()),
        Format::Sloth => interop::sloth::export(&read, service),
        Format::Klt => interop::klt::export(&read, service),
        Format::Guardian => interop::guardian::export(&read, service),
    };
    losses(ui, &out.losses);
    if args.strict && !out.losses.is_empty() {
        crate::ui::stderr(&format!(
            "nothing written: {} thing(s) could not be converted (--strict)\n",
            out.losses.len()
        ));
        return Exit::Invalid;
    }
    if out.text.is_empty() {
        ui.problems(&[Problem::file(
            "slogate::nothing-to-export",
            &args.config.display().to_string(),
            "no objective of this config root can be written in this format (see above)",
        )]);
        return Exit::Invalid;
    }
    if let Err(p) = write(&args.out, &out.text) {
        ui.problems(&[p]);
        return Exit::Invalid;
    }
    stdout(&format!(
        "wrote {}; {} thing(s) not converted{}\n",
        args.out.display(),
        out.losses.len(),
        if out.losses.is_empty() {
            ""
        } else {
            " (listed above)"
        }
    ));
    Exit::Pass
}
