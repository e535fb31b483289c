//! CI logging commands: the verdict where a pipeline run shows problems (Azure DevOps issues,
//! GitHub annotations), and the result as variables for later steps (`$GITHUB_OUTPUT`, GitLab
//! `artifacts:reports:dotenv`). Every command is exactly one line: whatever a name, message or
//! query holds is escaped by the CI's own rules.

use crate::eval::{IndicatorResult, Status, Verdict};
use crate::report::Report;
use crate::report::markdown::{
    Reason, baseline_text, change_text, num, objective_name, reasons, status_word, value_text,
    verdict_word,
};

/// Which CI the commands are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ci {
    /// `##vso[...]` logging commands.
    Azure,
    /// `::error` / `::warning` workflow commands.
    GitHub,
    /// Nothing: GitLab shows failures from the JUnit report.
    GitLab,
    /// Nothing.
    None,
}

/// The logging commands for `ci`, one per line (empty for GitLab and none).
///
/// Azure DevOps: one `task.logissue` per failing (`error`) and warning (`warning`) objective, an
/// overall `error` when the verdict is fail, the variables `SLOGATE_RESULT` and `SLOGATE_SCORE`,
/// and `task.complete result=SucceededWithIssues` only when the verdict is warning.
/// GitHub: one `::error` / `::warning` per failing / warning objective and one for the verdict
/// when it is not pass.
pub fn render(report: &Report, ci: Ci) -> String {
    let e = &report.evaluation;
    let flagged = e
        .indicator_results
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Warning));
    let mut lines = Vec::new();
    match ci {
        Ci::Azure => {
            for r in flagged {
                let kind = if r.status == Status::Fail {
                    "error"
                } else {
                    "warning"
                };
                lines.push(format!(
                    "##vso[task.logissue type={kind}]{}",
                    azure(&format!("slogate: {}", describe(r)))
                ));
            }
            if e.result == Verdict::Fail {
                lines.push(format!(
                    "##vso[task.logissue type=error]{}",
                    azure(&format!("slogate: {}", verdict_line(report)))
                ));
            }
            lines.push(format!(
                "##vso[task.setvariable variable=SLOGATE_RESULT]{}",
                e.result.as_str()
            ));
            lines.push(format!(
                "##vso[task.setvariable variable=SLOGATE_SCORE]{}",
                num(e.score)
            ));
            if e.result == Verdict::Warning {
                lines.push(format!(
                    "##vso[task.complete result=SucceededWithIssues;]{}",
                    azure(&verdict_line(report))
                ));
            }
        }
        Ci::GitHub => {
            for r in flagged {
                let kind = if r.status == Status::Fail {
                    "error"
                } else {
                    "warning"
                };
                lines.push(format!(
                    "::{kind} title={}::{}",
                    github_property(&format!("slogate {}", objective_name(r))),
                    github_data(&describe(r))
                ));
            }
            let kind = match e.result {
                Verdict::Pass => None,
                Verdict::Warning => Some("warning"),
                Verdict::Fail => Some("error"),
            };
            if let Some(kind) = kind {
                lines.push(format!(
                    "::{kind} title=slogate::{}",
                    github_data(&verdict_line(report))
                ));
            }
        }
        Ci::GitLab | Ci::None => {}
    }
    lines.into_iter().map(|l| l + "\n").collect()
}

/// `result=…`, `score=…` and `failed_objectives=…` (SLI names, comma-separated) for
/// `$GITHUB_OUTPUT`.
pub fn github_output(report: &Report) -> String {
    format!(
        "result={}\nscore={}\nfailed_objectives={}\n",
        report.evaluation.result.as_str(),
        num(report.evaluation.score),
        failed(report)
    )
}

/// `SLOGATE_RESULT`, `SLOGATE_SCORE` and `SLOGATE_FAILED` for GitLab's
/// `artifacts:reports:dotenv` (which allows neither quotes nor multi-line values).
pub fn dotenv(report: &Report) -> String {
    format!(
        "SLOGATE_RESULT={}\nSLOGATE_SCORE={}\nSLOGATE_FAILED={}\n",
        report.evaluation.result.as_str(),
        num(report.evaluation.score),
        failed(report)
    )
}

/// The SLIs of the failing objectives, each once, in SLO order, comma-separated. A comma or
/// line break inside a name becomes a space so the list and the line stay intact.
fn failed(report: &Report) -> String {
    let mut names: Vec<String> = Vec::new();
    for r in &report.evaluation.indicator_results {
        let name = r.value.metric.replace([',', '\r', '\n'], " ");
        if r.status == Status::Fail && !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(",")
}

/// One line about a failing or warning objective: what it measured, against what, what it
/// violated, and the query to reproduce it.
fn describe(r: &IndicatorResult) -> String {
    let mut s = format!(
        "{} ({}{}) {}",
        objective_name(r),
        r.value.metric,
        if r.key_sli { ", key SLI" } else { "" },
        match r.status {
            Status::Fail => "failed",
            s => status_word(s),
        }
    );
    let why = reasons(r);
    if let [Reason::NoValue(_)] = why.as_slice() {
        s.push_str(&format!(": {}", why[0].plain(r)));
    } else {
        s.push_str(&format!(
            ": value {}, baseline {}",
            value_text(r),
            baseline_text(r)
        ));
        if let Some(c) = change_text(r) {
            s.push_str(&format!(", change {c}"));
        }
        let violated: Vec<String> = why
            .iter()
            .filter_map(|w| match w {
                Reason::Violated {
                    kind,
                    criteria,
                    target: Some(t),
                } => Some(format!("{kind} {criteria} (target {})", num(*t))),
                Reason::Violated { kind, criteria, .. } => {
                    Some(format!("{kind} {criteria} (no baseline)"))
                }
                Reason::NoValue(_) => None,
            })
            .collect();
        if !violated.is_empty() {
            s.push_str(&format!("; violated: {}", violated.join(", ")));
        }
    }
    for n in &r.notes {
        s.push_str(&format!("; note: {n}"));
    }
    if let Some(q) = &r.query {
        s.push_str(&format!("; query: {q}"));
    }
    s
}

/// `FAIL, score 50 / 100: <evaluation message>`.
fn verdict_line(report: &Report) -> String {
    let e = &report.evaluation;
    let mut s = format!("{}, score {} / 100", verdict_word(e.result), num(e.score));
    if !e.message.is_empty() {
        s.push_str(&format!(": {}", e.message));
    }
    s
}

/// Azure DevOps logging-command escaping (the agent's `CommandStringConvertor`): `%` first, then
/// `;`, `\r`, `\n` and `]`.
fn azure(s: &str) -> String {
    s.replace('%', "%AZP25")
        .replace(';', "%3B")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
}

/// GitHub workflow-command message escaping (`@actions/core`'s `escapeData`).
fn github_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow-command property escaping (`escapeProperty`): also `:` and `,`.
fn github_property(s: &str) -> String {
    github_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn snapshots() {
        for (name, report) in fixtures::all() {
            let out = format!(
                "--- azure\n{}--- github\n{}--- gitlab\n{}--- github_output\n{}--- dotenv\n{}",
                render(&report, Ci::Azure),
                render(&report, Ci::GitHub),
                render(&report, Ci::GitLab),
                github_output(&report),
                dotenv(&report)
            );
            insta::assert_snapshot!(format!("annotations_{name}"), out);
        }
    }

    #[test]
    fn every_command_is_exactly_one_line() {
        for (name, report) in fixtures::all() {
            for (ci, prefix) in [(Ci::Azure, "##vso["), (Ci::GitHub, "::")] {
                let out = render(&report, ci);
                assert!(out.is_empty() || out.ends_with('\n'), "{name}");
                assert!(!out.contains('\r'), "{name}");
                for line in out.lines() {
                    assert!(line.starts_with(prefix), "{name}: {line}");
                    if ci == Ci::Azure {
                        // one command per line: no `##vso[` smuggled into a message
                        assert_eq!(line.matches(prefix).count(), 1, "{name}: {line}");
                    } else {
                        assert!(
                            line.starts_with("::error title=")
                                || line.starts_with("::warning title="),
                            "{name}: {line}"
                        );
                    }
                }
                let flagged = report
                    .evaluation
                    .indicator_results
                    .iter()
                    .filter(|r| matches!(r.status, Status::Fail | Status::Warning))
                    .count();
                let issues = out
                    .lines()
                    .filter(|l| l.contains("logissue") || !l.starts_with("##vso["))
                    .count();
                let verdict = usize::from(match ci {
                    Ci::Azure => report.evaluation.result == Verdict::Fail,
                    _ => report.evaluation.result != Verdict::Pass,
                });
                assert_eq!(issues, flagged + verdict, "{name} {ci:?}");
            }
            assert_eq!(render(&report, Ci::GitLab), "");
            assert_eq!(render(&report, Ci::None), "");
        }
    }

    #[test]
    fn message_with_line_break_and_specials_stays_on_its_line() {
        let report = fixtures::no_value();
        let azure_out = render(&report, Ci::Azure);
        let line = azure_out.lines().next().unwrap();
        assert!(line.starts_with("##vso[task.logissue type=error]slogate: Error rate (error_rate) failed: no value: Metrics API v2 returned zero metric series.%0AWarnings: selector matched 0 entities%3B check tag [app:checkout%5D (100%AZP25 of the window)"), "{line}");
        let gh = render(&report, Ci::GitHub);
        let line = gh.lines().next().unwrap();
        assert!(line.starts_with("::error title=slogate Error rate::Error rate (error_rate) failed: no value: Metrics API v2 returned zero metric series.%0AWarnings: selector matched 0 entities; check tag [app:checkout] (100%25 of the window)"), "{line}");
    }

    #[test]
    fn escaping_rules() {
        assert_eq!(azure("50%;a]\r\nb"), "50%AZP25%3Ba%5D%0D%0Ab");
        assert_eq!(github_data("50%\r\nb:c,d"), "50%25%0D%0Ab:c,d");
        assert_eq!(github_property("a:b,c%"), "a%3Ab%2Cc%25");
    }

    #[test]
    fn complete_with_issues_only_on_warning() {
        for (name, report) in fixtures::all() {
            let out = render(&report, Ci::Azure);
            assert_eq!(
                out.contains("##vso[task.complete result=SucceededWithIssues;]"),
                report.evaluation.result == Verdict::Warning,
                "{name}"
            );
        }
    }

    #[test]
    fn variables_are_single_line_values() {
        let mut report = fixtures::failing_key();
        report.evaluation.indicator_results[0].value.metric = "rt,\np95".into();
        for out in [github_output(&report), dotenv(&report)] {
            assert_eq!(out.lines().count(), 3, "{out}");
            for line in out.lines() {
                let (key, _) = line.split_once('=').expect("key=value");
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            }
        }
        assert!(dotenv(&report).contains("SLOGATE_FAILED=rt  p95\n"));
    }
}
