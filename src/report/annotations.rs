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

/// What a whole run (one or several services) tells the pipeline's variables: the worst
/// outcome, set once, whatever the number of services.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub result: Verdict,
    /// The score of the report that decided the outcome; none when there was no verdict.
    pub score: Option<f64>,
    /// The SLIs of the objectives that failed (not those that could not be fetched), each once;
    /// `service:sli` when several services were evaluated.
    pub failed: String,
    /// Why there is no verdict (`error` / `invalid`).
    pub cause: Option<String>,
}

impl RunSummary {
    /// The worst outcome of `reports` decides ([`Verdict::severity`]).
    pub fn of(reports: &[Report]) -> RunSummary {
        let worst = reports
            .iter()
            .max_by_key(|r| r.evaluation.result.severity());
        let several = reports.len() > 1;
        let mut names: Vec<String> = Vec::new();
        for r in reports {
            for name in failed_names(r) {
                let name = match (several, &r.service) {
                    (true, Some(s)) => format!("{}:{name}", clean(s)),
                    _ => name,
                };
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        match worst {
            Some(w) => RunSummary {
                result: w.evaluation.result,
                score: matches!(
                    w.evaluation.result,
                    Verdict::Pass | Verdict::Warning | Verdict::Fail
                )
                .then_some(w.evaluation.score),
                failed: names.join(","),
                cause: w
                    .evaluation
                    .error
                    .clone()
                    .or_else(|| w.evaluation.invalid_input.clone())
                    .map(|c| match (several, &w.service) {
                        (true, Some(s)) => format!("{s}: {c}"),
                        _ => c,
                    }),
            },
            None => RunSummary::no_verdict(Verdict::Error, "no service was evaluated"),
        }
        .sanitised()
    }

    /// A run that stopped before any report: invalid input, or nothing could be evaluated.
    pub fn no_verdict(result: Verdict, cause: &str) -> RunSummary {
        RunSummary {
            result,
            score: None,
            failed: String::new(),
            cause: Some(crate::report::sanitize::text(cause).into_owned()),
        }
    }

    /// Names and cause as foreign text: they reach variables, outputs and annotations.
    fn sanitised(mut self) -> Self {
        use crate::report::sanitize::text;
        self.failed = text(&self.failed).into_owned();
        self.cause = self.cause.map(|c| text(&c).into_owned());
        self
    }
}

/// The annotations of one service's report for `ci`, one per line (empty for GitLab and none).
/// Each names its service, so a run over several services stays readable.
///
/// Azure DevOps: one `task.logissue` per failing (`error`) and warning (`warning`) objective,
/// and an overall `error` when the outcome is fail or error. GitHub: one `::error` /
/// `::warning` per failing / warning objective and one for the outcome when it is not pass.
/// An objective whose data could not be fetched is no "failed objective": the outcome's one
/// error annotation names the cause instead.
pub fn render(report: &Report, ci: Ci) -> String {
    // Foreign text made safe, long decimals rounded: once, here.
    let report = &crate::report::for_people(report);
    let e = &report.evaluation;
    let flagged = e
        .indicator_results
        .iter()
        .filter(|r| r.error.is_none() && matches!(r.status, Status::Fail | Status::Warning));
    let service = service_tag(report);
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
                    azure(&format!("slogate{service}: {}", describe(r)))
                ));
            }
            if matches!(e.result, Verdict::Fail | Verdict::Error | Verdict::Invalid) {
                lines.push(format!(
                    "##vso[task.logissue type=error]{}",
                    azure(&format!("slogate{service}: {}", verdict_line(report)))
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
                    github_property(&format!("slogate{service} {}", objective_name(r))),
                    github_data(&describe(r))
                ));
            }
            let kind = match e.result {
                Verdict::Pass => None,
                Verdict::Warning => Some("warning"),
                Verdict::Fail | Verdict::Error | Verdict::Invalid => Some("error"),
            };
            if let Some(kind) = kind {
                lines.push(format!(
                    "::{kind} title={}::{}",
                    github_property(&format!("slogate{service}")),
                    github_data(&verdict_line(report))
                ));
            }
        }
        Ci::GitLab | Ci::None => {}
    }
    lines.extend(context_annotations(report, ci, &service));
    lines.into_iter().map(|l| l + "\n").collect()
}

/// The run's variables and closing commands for `ci`, written once per run: Azure's
/// `SLOGATE_RESULT` / `SLOGATE_SCORE` variables (and `task.complete SucceededWithIssues` on a
/// warning, when `warning_completes`); nothing for the others (they get [`github_output`] and
/// [`dotenv`] files).
pub fn variables(summary: &RunSummary, ci: Ci, warning_completes: bool) -> String {
    let mut lines = Vec::new();
    if ci == Ci::Azure {
        lines.push(format!(
            "##vso[task.setvariable variable=SLOGATE_RESULT]{}",
            summary.result.as_str()
        ));
        lines.push(format!(
            "##vso[task.setvariable variable=SLOGATE_SCORE]{}",
            summary.score.map(num).unwrap_or_default()
        ));
        if summary.result == Verdict::Warning && warning_completes {
            lines.push(
                "##vso[task.complete result=SucceededWithIssues;]slogate: WARNING".to_string(),
            );
        }
    }
    lines.into_iter().map(|l| l + "\n").collect()
}

/// The one annotation of a run that stopped before any report (invalid input, or nothing could
/// be evaluated), so the run's summary shows why and not just an exit code.
pub fn stopped(summary: &RunSummary, ci: Ci) -> String {
    let cause = summary.cause.as_deref().unwrap_or("");
    let line = format!("{}: {cause}", verdict_word(summary.result));
    match ci {
        Ci::Azure => format!(
            "##vso[task.logissue type=error]{}\n",
            azure(&format!("slogate: {line}"))
        ),
        Ci::GitHub => format!("::error title=slogate::{}\n", github_data(&line)),
        Ci::GitLab | Ci::None => String::new(),
    }
}

/// A warning about something beside the verdict (a push or history write that failed).
pub fn warning(message: &str, ci: Ci) -> String {
    let message = &*crate::report::sanitize::text(message);
    match ci {
        Ci::Azure => format!(
            "##vso[task.logissue type=warning]{}\n",
            azure(&format!("slogate: {message}"))
        ),
        Ci::GitHub => format!("::warning title=slogate::{}\n", github_data(message)),
        Ci::GitLab | Ci::None => String::new(),
    }
}

/// `result=…`, `score=…` and `failed_objectives=…` (SLI names, comma-separated) for
/// `$GITHUB_OUTPUT`.
pub fn github_output(summary: &RunSummary) -> String {
    format!(
        "result={}\nscore={}\nfailed_objectives={}\n",
        summary.result.as_str(),
        summary.score.map(num).unwrap_or_default(),
        summary.failed
    )
}

/// `SLOGATE_RESULT`, `SLOGATE_SCORE` and `SLOGATE_FAILED` for GitLab's
/// `artifacts:reports:dotenv` (which allows neither quotes nor multi-line values).
pub fn dotenv(summary: &RunSummary) -> String {
    format!(
        "SLOGATE_RESULT={}\nSLOGATE_SCORE={}\nSLOGATE_FAILED={}\n",
        summary.result.as_str(),
        summary.score.map(num).unwrap_or_default(),
        summary.failed
    )
}

/// ` (checkout)` when the report names its service, else nothing. (Not brackets: Azure
/// escapes `]` in messages.)
fn service_tag(report: &Report) -> String {
    report
        .service
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default()
}

/// A comma or line break inside a name becomes a space so the list and the line stay intact.
fn clean(s: &str) -> String {
    s.replace([',', '\r', '\n'], " ")
}

/// The SLIs of the objectives that failed (not those without data), each once, in SLO order.
fn failed_names(report: &Report) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in &report.evaluation.indicator_results {
        let name = clean(&r.value.metric);
        if r.status == Status::Fail && r.error.is_none() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
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
    if let Some(t) = &r.tile {
        s.push_str(&format!("; from {}", t.describe()));
    }
    s
}

/// `FAIL, score 50 / 100: <evaluation message>`, or `COULD NOT EVALUATE: <cause>`.
fn verdict_line(report: &Report) -> String {
    let e = &report.evaluation;
    if let Some(cause) = e.error.as_ref().or(e.invalid_input.as_ref())
        && matches!(e.result, Verdict::Error | Verdict::Invalid)
    {
        return format!("{}: {cause}", verdict_word(e.result));
    }
    let mut s = format!("{}, score {} / 100", verdict_word(e.result), num(e.score));
    if !e.message.is_empty() {
        s.push_str(&format!(": {}", e.message));
    }
    if let Some(p) = report
        .context
        .as_ref()
        .and_then(crate::report::context::policy_line)
    {
        s.push_str(&format!("; {p}"));
    }
    // A canary gate says what the canary was compared with.
    if let Some(b) = report
        .baseline_selection
        .as_ref()
        .filter(|b| b.mode == "control")
    {
        s.push_str(&format!("; {}", b.reason));
    }
    s
}

/// One annotation per problem that started after the deployment (a warning; an error when the
/// policy failed the release) and, on GitHub, a notice per other change in the windows.
fn context_annotations(report: &Report, ci: Ci, service: &str) -> Vec<String> {
    let Some(c) = &report.context else {
        return Vec::new();
    };
    let failed = c
        .policy_changed
        .as_ref()
        .is_some_and(|p| p.to == Verdict::Fail);
    let mut out = Vec::new();
    for s in crate::report::context::sections(c) {
        for i in s.items {
            let line = crate::report::context::plain(&i);
            let kind = match (i.new, i.what.is_some(), failed) {
                (true, _, true) => "error",
                (true, _, false) => "warning",
                (false, true, _) => "notice",
                _ => continue,
            };
            match ci {
                Ci::Azure if kind != "notice" => out.push(format!(
                    "##vso[task.logissue type={kind}]{}",
                    azure(&format!("slogate{service}: problem {line}"))
                )),
                Ci::GitHub => out.push(format!(
                    "::{kind} title={}::{}",
                    github_property(&format!(
                        "slogate{service} {}",
                        if i.new {
                            "problem"
                        } else {
                            "change in the windows"
                        }
                    )),
                    github_data(&line)
                )),
                _ => {}
            }
        }
    }
    out
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
                github_output(&RunSummary::of(std::slice::from_ref(&report))),
                dotenv(&RunSummary::of(std::slice::from_ref(&report)))
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
                                || line.starts_with("::warning title=")
                                || line.starts_with("::notice title="),
                            "{name}: {line}"
                        );
                    }
                }
                // Objectives without data are no "failed objective": only the outcome names them.
                let flagged = report
                    .evaluation
                    .indicator_results
                    .iter()
                    .filter(|r| {
                        r.error.is_none() && matches!(r.status, Status::Fail | Status::Warning)
                    })
                    .count();
                let issues = out
                    .lines()
                    .filter(|l| l.contains("logissue") || !l.starts_with("##vso["))
                    .count();
                let verdict = usize::from(match ci {
                    Ci::Azure => {
                        report.evaluation.result != Verdict::Pass
                            && report.evaluation.result != Verdict::Warning
                    }
                    _ => report.evaluation.result != Verdict::Pass,
                });
                // Problems opened after the deployment, and on GitHub other changes.
                let context = report.context.as_ref().map_or(0, |c| {
                    c.problems
                        .iter()
                        .filter(|p| p.started_after_deployment)
                        .count()
                        + if ci == Ci::GitHub { c.changes.len() } else { 0 }
                });
                assert_eq!(issues, flagged + verdict + context, "{name} {ci:?}");
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
        assert!(line.starts_with("##vso[task.logissue type=error]slogate (checkout): Error rate (error_rate) failed: no value: Metrics API v2 returned zero metric series.\\nWarnings: selector matched 0 entities%3B check tag [app:checkout%5D (100%AZP25 of the window)"), "{line}");
        let gh = render(&report, Ci::GitHub);
        let line = gh.lines().next().unwrap();
        assert!(line.starts_with("::error title=slogate (checkout) Error rate::Error rate (error_rate) failed: no value: Metrics API v2 returned zero metric series.\\nWarnings: selector matched 0 entities; check tag [app:checkout] (100%25 of the window)"), "{line}");
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
            let summary = RunSummary::of(std::slice::from_ref(&report));
            let out = variables(&summary, Ci::Azure, true);
            assert_eq!(
                out.contains("##vso[task.complete result=SucceededWithIssues;]"),
                report.evaluation.result == Verdict::Warning,
                "{name}"
            );
            assert!(!variables(&summary, Ci::Azure, false).contains("task.complete"));
            assert!(
                !render(&report, Ci::Azure).contains("setvariable"),
                "{name}"
            );
        }
    }

    #[test]
    fn the_worst_outcome_is_set_once_and_fail_beats_error() {
        let mut pass = fixtures::passing();
        pass.service = Some("cart".into());
        let fail = fixtures::failing_key();
        let mut error = fixtures::unavailable();
        error.service = Some("search".into());
        let all = [pass.clone(), fail.clone(), error.clone()];
        let summary = RunSummary::of(&all);
        assert_eq!(summary.result, Verdict::Fail);
        let vars = variables(&summary, Ci::Azure, true);
        assert_eq!(vars.matches("variable=SLOGATE_RESULT]").count(), 1);
        assert!(vars.contains("variable=SLOGATE_RESULT]fail\n"), "{vars}");
        assert!(dotenv(&summary).starts_with("SLOGATE_RESULT=fail\n"));
        // Failed objectives name their service; the unavailable ones are not "failed".
        assert!(
            summary.failed.starts_with("checkout:"),
            "{}",
            summary.failed
        );
        assert!(!summary.failed.contains("search:"), "{}", summary.failed);
        let summary = RunSummary::of(&[pass, error]);
        assert_eq!(summary.result, Verdict::Error);
        assert_eq!(summary.score, None);
        assert!(
            summary
                .cause
                .as_deref()
                .unwrap()
                .starts_with("search: 2 of 2")
        );
    }

    #[test]
    fn an_outage_is_one_error_naming_the_cause_and_the_service() {
        let report = fixtures::unavailable();
        let azure_out = render(&report, Ci::Azure);
        assert_eq!(azure_out.lines().count(), 1, "{azure_out}");
        assert!(azure_out.starts_with(
            "##vso[task.logissue type=error]slogate (checkout): COULD NOT EVALUATE: 2 of 2 objectives"
        ));
        assert!(!azure_out.contains("failed"), "{azure_out}");
        let gh = render(&report, Ci::GitHub);
        assert_eq!(gh.lines().count(), 1, "{gh}");
        assert!(gh.starts_with("::error title=slogate (checkout)::COULD NOT EVALUATE"));
        let summary = RunSummary::of(std::slice::from_ref(&report));
        assert_eq!(
            dotenv(&summary),
            "SLOGATE_RESULT=error\nSLOGATE_SCORE=\nSLOGATE_FAILED=\n"
        );
    }

    #[test]
    fn a_run_that_stopped_still_sets_the_outcome() {
        let s = RunSummary::no_verdict(Verdict::Invalid, "criterion `<=+10 %` does not parse");
        assert_eq!(
            stopped(&s, Ci::Azure),
            "##vso[task.logissue type=error]slogate: INVALID INPUT: criterion `<=+10 %AZP25` does not parse\n"
        );
        assert!(variables(&s, Ci::Azure, true).contains("variable=SLOGATE_RESULT]invalid\n"));
        assert_eq!(
            github_output(&s),
            "result=invalid\nscore=\nfailed_objectives=\n"
        );
    }

    #[test]
    fn variables_are_single_line_values() {
        let mut report = fixtures::failing_key();
        report.evaluation.indicator_results[0].value.metric = "rt,\np95".into();
        let summary = RunSummary::of(std::slice::from_ref(&report));
        for out in [github_output(&summary), dotenv(&summary)] {
            assert_eq!(out.lines().count(), 3, "{out}");
            for line in out.lines() {
                let (key, _) = line.split_once('=').expect("key=value");
                assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            }
        }
        assert!(dotenv(&summary).contains("SLOGATE_FAILED=rt  p95\n"));
    }
}
