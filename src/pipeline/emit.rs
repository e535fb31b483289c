//! Where reports go: stdout in the chosen format, a report folder with every format, and the
//! CI's own places (Azure DevOps logging commands and summary, GitHub annotations, step summary
//! and outputs, GitLab dotenv). The renderers are pure; this is the IO around them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::ci::CiKind;
use crate::cli::{FailOn, OutputArgs, OutputFormat};
use crate::diag::Problem;
use crate::eval::Verdict;
use crate::report::annotations::{self, Ci, RunSummary};
use crate::report::{self, Report};
use crate::ui::{ci_commands, stdout};

/// Formats that need one report: with several services they go to `--report-dir` instead.
pub fn check_format(output: &OutputArgs, services: usize) -> Result<(), Vec<Problem>> {
    if output.format == OutputFormat::Jsonl {
        return Err(vec![
            Problem::file(
                "slogate::usage",
                "command line",
                "--format jsonl streams one line per environment of a fleet",
            )
            .help("add --environments PATTERN|all, or use --format json for one run"),
        ]);
    }
    let single_only = matches!(output.format, OutputFormat::Junit | OutputFormat::Html);
    if single_only && services > 1 {
        return Err(vec![
            Problem::file(
                "slogate::usage",
                "command line",
                "--format junit/html shows one service; several were selected",
            )
            .help("use --report-dir DIR: it holds one folder of reports per service"),
        ]);
    }
    Ok(())
}

/// Charts need the SLIs' time series, fetched only when an HTML report is wanted.
pub fn wants_charts(output: &OutputArgs) -> bool {
    output.format == OutputFormat::Html || output.report_dir.is_some()
}

fn io_problem(path: &Path, e: &std::io::Error) -> Problem {
    Problem::file(
        "slogate::io",
        &path.display().to_string(),
        format!("cannot write: {e}"),
    )
    .help("check that the folder exists and is writable")
}

pub(crate) fn write(path: &Path, text: &str) -> Result<(), Problem> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| io_problem(dir, &e))?;
    }
    let text = crate::source::secret::redact(text);
    std::fs::write(path, &*crate::report::sanitize::guard(&text)).map_err(|e| io_problem(path, &e))
}

pub(crate) fn append(path: &Path, text: &str) -> Result<(), Problem> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_problem(path, &e))?;
    let text = crate::source::secret::redact(text);
    f.write_all(crate::report::sanitize::guard(&text).as_bytes())
        .map_err(|e| io_problem(path, &e))
}

/// Several reports as JSON: one object for one service, a list for several.
pub fn json(reports: &[Report]) -> String {
    if reports.len() == 1 {
        report::json::render(&reports[0])
    } else {
        format!(
            "{}\n",
            serde_json::to_string_pretty(reports).unwrap_or_default()
        )
    }
}

fn text(reports: &[Report]) -> String {
    let mut t = reports
        .iter()
        .map(report::text::render)
        .collect::<Vec<_>>()
        .join("\n");
    if reports.len() > 1 {
        let count = |v: Verdict| reports.iter().filter(|r| r.evaluation.result == v).count();
        t.push_str(&format!(
            "\n{} services: {} pass, {} warning, {} fail, {} could not be evaluated\n",
            reports.len(),
            count(Verdict::Pass),
            count(Verdict::Warning),
            count(Verdict::Fail),
            count(Verdict::Error),
        ));
    }
    t
}

fn markdown(reports: &[Report]) -> String {
    reports
        .iter()
        .map(report::markdown::render)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes every format of one report into `dir`.
fn write_all(dir: &Path, r: &Report) -> Result<(), Problem> {
    write(&dir.join("report.json"), &report::json::render(r))?;
    write(&dir.join("report.txt"), &report::text::render(r))?;
    write(&dir.join("junit.xml"), &report::junit::render(r))?;
    write(&dir.join("summary.md"), &report::markdown::render(r))?;
    write(&dir.join("report.html"), &report::html::render(r))?;
    write(
        &dir.join("slogate.env"),
        &annotations::dotenv(&RunSummary::of(std::slice::from_ref(r))),
    )
}

fn ci_of(ci: Option<CiKind>) -> Ci {
    match ci {
        Some(CiKind::Azure) => Ci::Azure,
        Some(CiKind::GitHub) => Ci::GitHub,
        Some(CiKind::GitLab) => Ci::GitLab,
        None => Ci::None,
    }
}

/// Where GitLab's artifacts go: the report folder, else `slogate-report`.
fn gitlab_dir(output: &OutputArgs) -> PathBuf {
    output
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("slogate-report"))
}

/// A run that stopped before any report (invalid input, or nothing could be evaluated) still
/// tells the pipeline: the outcome variables, set once, and one error annotation with the cause.
/// Reports are not written: there is no verdict to show.
pub fn stopped(
    result: Verdict,
    cause: &str,
    report_dir: Option<&Path>,
    ci: Option<CiKind>,
    env: &BTreeMap<String, String>,
) -> Result<(), Problem> {
    let summary = RunSummary::no_verdict(result, cause);
    let gitlab = report_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("slogate-report"));
    // The test tab shows why: a JUnit file with one error where the pipeline expects one.
    let junit_dir = match (report_dir, ci) {
        (Some(dir), _) => Some(dir.to_path_buf()),
        (None, Some(CiKind::GitLab)) => Some(gitlab.clone()),
        _ => None,
    };
    if let Some(dir) = junit_dir {
        write(
            &dir.join("junit.xml"),
            &report::junit::stopped(result, cause),
        )?;
    }
    let mut lines = String::new();
    match ci {
        Some(CiKind::Azure) => {
            lines.push_str(&annotations::stopped(&summary, Ci::Azure));
            lines.push_str(&annotations::variables(&summary, Ci::Azure, false));
        }
        Some(CiKind::GitHub) => {
            lines.push_str(&annotations::stopped(&summary, Ci::GitHub));
            if let Some(path) = env.get("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
                append(Path::new(path), &annotations::github_output(&summary))?;
            }
        }
        Some(CiKind::GitLab) => {
            write(&gitlab.join("slogate.env"), &annotations::dotenv(&summary))?;
        }
        None => {}
    }
    ci_commands(&lines);
    Ok(())
}

/// The folder of one service's reports: the folder itself for one service, a sub-folder each
/// for several.
fn service_dir(base: &Path, r: &Report, several: bool) -> PathBuf {
    if several {
        base.join(r.service.as_deref().unwrap_or("service"))
    } else {
        base.to_path_buf()
    }
}

/// Writes the reports where `output` asks, and tells the CI. `side_effects`: what went wrong
/// beside the verdict (a push or history write that failed), shown as CI warnings.
pub fn emit(
    reports: &[Report],
    output: &OutputArgs,
    ci: Option<CiKind>,
    env: &BTreeMap<String, String>,
    side_effects: &[String],
) -> Result<(), Problem> {
    let several = reports.len() > 1;
    if let Some(path) = &output.output {
        write(path, &json(reports))?;
    }
    if let Some(dir) = &output.report_dir {
        for r in reports {
            write_all(&service_dir(dir, r, several), r)?;
        }
        if several {
            write(&dir.join("reports.json"), &json(reports))?;
            write(&dir.join("summary.md"), &markdown(reports))?;
        }
    }

    // CI commands go to stdout, the stream the agents read them from, after the report. For a
    // machine-readable report in CI, use --output / --report-dir, or --ci none.
    let summary = RunSummary::of(reports);
    let mut ci_lines = String::new();
    for s in side_effects {
        ci_lines.push_str(&annotations::warning(s, ci_of(ci)));
    }
    match ci {
        Some(CiKind::Azure) => {
            for r in reports {
                ci_lines.push_str(&annotations::render(r, Ci::Azure));
            }
            // With --fail-on warning a warning fails the step: "succeeded with issues" would
            // contradict the exit code.
            ci_lines.push_str(&annotations::variables(
                &summary,
                Ci::Azure,
                output.fail_on != FailOn::Warning,
            ));
            // The summary tab wants a file: the report folder's, else one in the agent's temp dir.
            let summary_file = match &output.report_dir {
                Some(dir) => dir.join("summary.md"),
                None => {
                    let tmp = env
                        .get("AGENT_TEMPDIRECTORY")
                        .map(PathBuf::from)
                        .unwrap_or_else(std::env::temp_dir);
                    let p = tmp.join(format!("slogate-summary-{}.md", std::process::id()));
                    write(&p, &markdown(reports))?;
                    p
                }
            };
            let summary_file = std::fs::canonicalize(&summary_file).unwrap_or(summary_file);
            ci_lines.push_str(&format!(
                "##vso[task.uploadsummary]{}\n",
                summary_file.display()
            ));
        }
        Some(CiKind::GitHub) => {
            for r in reports {
                ci_lines.push_str(&annotations::render(r, Ci::GitHub));
            }
            if let Some(path) = env.get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
                append(Path::new(path), &markdown(reports))?;
            }
            if let Some(path) = env.get("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
                append(Path::new(path), &annotations::github_output(&summary))?;
            }
        }
        Some(CiKind::GitLab) => {
            // GitLab reads JUnit and dotenv from artifacts: make sure both exist.
            let dir = gitlab_dir(output);
            if output.report_dir.is_none() {
                for r in reports {
                    let d = service_dir(&dir, r, several);
                    write(&d.join("junit.xml"), &report::junit::render(r))?;
                }
            }
            write(&dir.join("slogate.env"), &annotations::dotenv(&summary))?;
        }
        None => {}
    }

    let main = match output.format {
        OutputFormat::Text => text(reports),
        OutputFormat::Json | OutputFormat::Jsonl => json(reports),
        OutputFormat::Markdown => markdown(reports),
        OutputFormat::Junit => report::junit::render(&reports[0]),
        OutputFormat::Html => report::html::render(&reports[0]),
    };
    stdout(&main);
    ci_commands(&ci_lines);
    Ok(())
}
