//! JUnit XML for CI test tabs: Azure DevOps "Publish Test Results" (JUnit format) and GitLab
//! `artifacts:reports:junit`. One test suite per evaluation, one test case per objective and one
//! `total score` case carrying the verdict, so a failed gate shows up where failed tests do.
//!
//! Written by hand (no XML dependency): the document is small and its shape fixed; every text and
//! attribute goes through [`escape`].

use crate::eval::{IndicatorResult, Status, Verdict};
use crate::report::Report;
use crate::report::markdown::{
    baseline_text, change_text, num, objective_name, reasons, thresholds, value_text, verdict_word,
};

/// Renders the JUnit document. Deterministic; ends with a newline.
pub fn render(report: &Report) -> String {
    // Foreign text made safe, long decimals rounded: once, here.
    let report = &crate::report::for_people(report);
    let e = &report.evaluation;
    let suite = format!("slogate: {}", subject(report));
    let classname = classname(report);
    let tests = e.indicator_results.len() + 1;
    // An objective whose data could not be fetched is an <error>, never a <failure>: pipelines
    // treat failures as "the release is worse".
    let failures = e
        .indicator_results
        .iter()
        .filter(|r| r.status == Status::Fail && r.error.is_none())
        .count()
        + usize::from(e.result == Verdict::Fail);
    let errors = e
        .indicator_results
        .iter()
        .filter(|r| r.error.is_some())
        .count()
        + usize::from(matches!(e.result, Verdict::Error | Verdict::Invalid));

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"slogate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n"
    ));
    out.push_str(&format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n",
        attr(&suite)
    ));
    out.push_str("    <properties>\n");
    for (name, value) in suite_properties(report) {
        out.push_str(&format!(
            "      <property name=\"{}\" value=\"{}\"/>\n",
            attr(name),
            attr(&value)
        ));
    }
    out.push_str("    </properties>\n");
    for r in &e.indicator_results {
        out.push_str(&objective_case(&classname, r));
    }
    out.push_str(&total_case(&classname, report));
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// The JUnit document of a run that stopped before any report (invalid input, or nothing could
/// be evaluated): one test case carrying the outcome as an `<error>`, so the CI's test tab says
/// why instead of showing nothing.
pub fn stopped(result: Verdict, cause: &str) -> String {
    let cause = crate::report::sanitize::text(cause);
    let message = format!("{}: {cause}", verdict_word(result));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"slogate\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n  <testsuite name=\"slogate\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n    <properties>\n      <property name=\"result\" value=\"{}\"/>\n    </properties>\n    <testcase classname=\"slogate\" name=\"total score\">\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>\n  </testsuite>\n</testsuites>\n",
        result.as_str(),
        attr(&message),
        result.as_str(),
        text(&message)
    )
}

/// What the suite is named after: the service, else the most specific SLO file.
fn subject(report: &Report) -> String {
    report
        .service
        .clone()
        .or_else(|| report.slo.files.last().cloned())
        .unwrap_or_else(|| "evaluation".into())
}

/// `project.stage.service`, with the parts that are known.
fn classname(report: &Report) -> String {
    let parts: Vec<&str> = [&report.project, &report.stage, &report.service]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        "slogate".into()
    } else {
        parts.join(".")
    }
}

fn suite_properties(report: &Report) -> Vec<(&'static str, String)> {
    let e = &report.evaluation;
    let mut p = vec![
        ("result", e.result.as_str().to_string()),
        ("score", num(e.score)),
    ];
    if let Some(t) = &report.slo.pass_threshold {
        p.push(("pass_threshold", t.clone()));
    }
    if let Some(t) = &report.slo.warning_threshold {
        p.push(("warning_threshold", t.clone()));
    }
    if let Some(t) = &report.time_start {
        p.push(("time_start", t.clone()));
    }
    if let Some(t) = &report.time_end {
        p.push(("time_end", t.clone()));
    }
    if let Some(d) = &report.deployment {
        p.push(("deployment_time", d.time.clone()));
        if let Some(v) = &d.version {
            p.push(("deployment_version", v.clone()));
        }
    }
    if let Some(w) = &report.baseline_window {
        p.push(("baseline_start", w.time_start.clone()));
        p.push(("baseline_end", w.time_end.clone()));
    }
    if let Some(b) = report
        .baseline_selection
        .as_ref()
        .filter(|b| b.mode == "control")
    {
        p.push(("baseline", b.reason.clone()));
    }
    if crate::report::judge_heading(&e.indicator_results).is_some() {
        p.push(("judge", "statistical".into()));
        p.push((
            "inconclusive",
            crate::report::inconclusive(&e.indicator_results).to_string(),
        ));
    }
    p.push(("slo", report.slo.files.join(", ")));
    p.push(("slo_hash", report.slo.hash.clone()));
    p
}

/// The details every objective's case carries: SLI, value, baseline, change, the violated
/// targets (when `reasons`), notes, query.
fn details(r: &IndicatorResult, with_reasons: bool) -> Vec<String> {
    let mut lines = vec![format!(
        "SLI: {}{}",
        r.value.metric,
        if r.key_sli {
            " (key SLI: failing it fails the evaluation)"
        } else {
            ""
        }
    )];
    lines.push(format!("value: {}", value_text(r)));
    lines.push(format!("baseline: {}", baseline_text(r)));
    if let Some(c) = change_text(r) {
        lines.push(format!("change: {c}"));
    }
    if let Some(j) = r.judge.as_ref().filter(|j| !j.summary.is_empty()) {
        lines.push(format!("judge: {}", j.summary));
    }
    if let Some(why) = &r.not_judged {
        lines.push(format!("judge: not judged: {why}"));
    }
    if with_reasons {
        lines.extend(reasons(r).iter().map(|x| x.plain(r)));
    }
    lines.extend(r.notes.iter().map(|n| format!("note: {n}")));
    if let Some(q) = &r.query {
        lines.push(format!("{}: {q}", r.query_label()));
    }
    if let Some(t) = &r.tile {
        lines.push(format!("from {}", t.describe()));
    }
    lines
}

fn objective_case(classname: &str, r: &IndicatorResult) -> String {
    let mut out = format!(
        "    <testcase classname=\"{}\" name=\"{}\">\n",
        attr(classname),
        attr(objective_name(r))
    );
    let why: Vec<String> = reasons(r).iter().map(|x| x.plain(r)).collect();
    if let Some((word, lead, error)) = crate::report::markdown::no_verdict(r) {
        out.push_str(&format!(
            "      <error message=\"{}\" type=\"{word}\">{}</error>\n",
            attr(&format!("{lead}: {error}")),
            text(&details(r, false).join("\n"))
        ));
        out.push_str("    </testcase>\n");
        return out;
    }
    match r.status {
        Status::Fail => {
            let message = if why.is_empty() {
                format!("failed with value {}", value_text(r))
            } else {
                why.join("; ")
            };
            out.push_str(&format!(
                "      <failure message=\"{}\" type=\"fail\">{}</failure>\n",
                attr(&message),
                text(&details(r, true).join("\n"))
            ));
        }
        Status::Warning => {
            let why = if why.is_empty() {
                r.notes.first().cloned().unwrap_or_else(|| "warning".into())
            } else {
                why.join("; ")
            };
            let mut lines = vec![format!("WARNING: {why}")];
            lines.extend(details(r, false));
            out.push_str(WARNING_PROPERTY);
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                text(&lines.join("\n"))
            ));
        }
        Status::Pass | Status::Info => {
            let mut lines = Vec::new();
            if r.status == Status::Info {
                lines.push("INFO: informational, not scored".to_string());
            }
            lines.extend(details(r, false));
            out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                text(&lines.join("\n"))
            ));
        }
    }
    out.push_str("    </testcase>\n");
    out
}

const WARNING_PROPERTY: &str = "      <properties>\n        <property name=\"status\" value=\"warning\"/>\n      </properties>\n";

fn total_case(classname: &str, report: &Report) -> String {
    let e = &report.evaluation;
    let mut lines = vec![match e.result {
        Verdict::Error | Verdict::Invalid => verdict_word(e.result).to_string(),
        _ => format!("{}: score {} / 100", verdict_word(e.result), num(e.score)),
    }];
    if let Some(cause) = &e.error {
        lines.push(format!("cause: {cause}"));
    }
    let t = thresholds(report);
    if !t.is_empty() {
        lines.push(format!("thresholds: {}", t.join(", ")));
    }
    // Keptn's message scores data that was not there: kept in the JSON only.
    if !e.message.is_empty() && e.result != Verdict::Error {
        lines.push(e.message.clone());
    }
    if let Some(i) = &e.invalid_input
        && i != &e.message
    {
        lines.push(format!("invalid input: {i}"));
    }
    if let Some(c) = &report.context {
        lines.extend(crate::report::context::plain_lines(c));
    }
    let body = text(&lines.join("\n"));
    let mut out = format!(
        "    <testcase classname=\"{}\" name=\"total score\">\n",
        attr(classname)
    );
    match e.result {
        Verdict::Fail => {
            let policy = report
                .context
                .as_ref()
                .and_then(crate::report::context::policy_line);
            let message = match policy {
                Some(p) => p,
                None if e.message.is_empty() => {
                    format!("evaluation failed with score {}", num(e.score))
                }
                None => e.message.clone(),
            };
            out.push_str(&format!(
                "      <failure message=\"{}\" type=\"fail\">{body}</failure>\n",
                attr(&message)
            ));
        }
        Verdict::Warning => {
            out.push_str(WARNING_PROPERTY);
            out.push_str(&format!("      <system-out>{body}</system-out>\n"));
        }
        Verdict::Pass => out.push_str(&format!("      <system-out>{body}</system-out>\n")),
        Verdict::Error | Verdict::Invalid => {
            let message = e
                .error
                .clone()
                .or_else(|| e.invalid_input.clone())
                .unwrap_or_else(|| e.message.clone());
            out.push_str(&format!(
                "      <error message=\"{}\" type=\"{}\">{body}</error>\n",
                attr(&format!("{}: {message}", verdict_word(e.result))),
                e.result.as_str()
            ));
        }
    }
    out.push_str("    </testcase>\n");
    out
}

/// Escapes an attribute value (double-quoted). Line breaks and tabs become character
/// references, or a parser would normalize them to spaces.
pub(crate) fn attr(s: &str) -> String {
    escape(s, true)
}

/// Escapes element content; line breaks stay as they are, except `\r` (parsers turn a bare one
/// into `\n`).
pub(crate) fn text(s: &str) -> String {
    escape(s, false)
}

/// `&`, `<`, `>` and quotes as entities; characters XML 1.0 cannot carry at all become U+FFFD.
fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// XML 1.0's `Char` production (tab, newline and carriage return handled by the caller).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn snapshots() {
        for (name, report) in fixtures::all() {
            insta::assert_snapshot!(format!("junit_{name}"), render(&report));
        }
    }

    #[test]
    fn every_fixture_is_well_formed_with_right_counts() {
        for (name, report) in fixtures::all() {
            let xml = render(&report);
            let elements = check_well_formed(&xml).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
            let cases = elements.iter().filter(|(n, _)| n == "testcase").count();
            let failures: Vec<&Vec<(String, String)>> = elements
                .iter()
                .filter(|(n, _)| n == "failure")
                .map(|(_, a)| a)
                .collect();
            let suite = &elements
                .iter()
                .find(|(n, _)| n == "testsuite")
                .expect("a testsuite")
                .1;
            let attr = |k: &str| {
                suite
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            assert_eq!(attr("tests"), cases.to_string(), "{name}");
            assert_eq!(attr("failures"), failures.len().to_string(), "{name}");
            assert_eq!(
                cases,
                report.evaluation.indicator_results.len() + 1,
                "{name}"
            );
            // What could not be fetched is an <error>, never a <failure>.
            let objective_failures = report
                .evaluation
                .indicator_results
                .iter()
                .filter(|r| r.status == Status::Fail && r.error.is_none())
                .count();
            let total_fails = usize::from(report.evaluation.result == Verdict::Fail);
            assert_eq!(failures.len(), objective_failures + total_fails, "{name}");
            for f in failures {
                assert!(f.iter().any(|(k, v)| k == "type" && v == "fail"), "{name}");
            }
            let errors = elements.iter().filter(|(n, _)| n == "error").count();
            let objective_errors = report
                .evaluation
                .indicator_results
                .iter()
                .filter(|r| r.error.is_some())
                .count();
            let total_errors = usize::from(matches!(
                report.evaluation.result,
                Verdict::Error | Verdict::Invalid
            ));
            assert_eq!(errors, objective_errors + total_errors, "{name}");
            assert_eq!(attr("errors"), errors.to_string(), "{name}");
        }
    }

    #[test]
    fn a_stopped_run_is_one_error() {
        let xml = stopped(Verdict::Invalid, "criterion `<=banana` & co");
        let elements = check_well_formed(&xml).unwrap();
        assert_eq!(elements.iter().filter(|(n, _)| n == "error").count(), 1);
        assert_eq!(elements.iter().filter(|(n, _)| n == "failure").count(), 0);
        assert!(
            xml.contains("INVALID INPUT: criterion `&lt;=banana` &amp; co"),
            "{xml}"
        );
    }

    #[test]
    fn names_and_messages_are_escaped() {
        let xml = render(&fixtures::failing_key());
        check_well_formed(&xml).unwrap();
        assert!(
            xml.contains(
                "name=\"Errors &lt;5xx&gt; &amp; &quot;timeouts&quot; | &apos;all&apos;\""
            )
        );
        // criteria start with `<`, queries carry `&`
        assert!(xml.contains("pass criterion &lt;=600 violated"));
        assert!(xml.contains("&amp;from=1763373600000"));
        assert!(!xml.contains("<=600"));
        // the key SLI message of Keptn, quotes and all, as the total score's failure message
        assert!(xml.contains(
            "<failure message=\"Evaluation failed due to key_sli objective &apos;Response time p95&apos;: failed evaluation with score 0\" type=\"fail\">"
        ));
    }

    #[test]
    fn escape_covers_markup_breaks_and_invalid_characters() {
        assert_eq!(
            attr("a<b & \"c\" 'd'>\n\r\t\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;&#10;&#13;&#9;\u{FFFD}"
        );
        assert_eq!(text("x]]>\n\r\ty\u{FFFF}"), "x]]&gt;\n&#13;\ty\u{FFFD}");
    }

    #[test]
    fn warning_is_a_passing_case_that_says_why() {
        let xml = render(&fixtures::warning());
        let case = xml
            .split("<testcase ")
            .find(|c| c.contains("name=\"Error rate\""))
            .unwrap();
        assert!(!case.contains("<failure"));
        assert!(case.contains("<property name=\"status\" value=\"warning\"/>"));
        assert!(case.contains(
            "<system-out>WARNING: pass criterion &lt;=1 violated: value 1.3 vs target 1"
        ));
    }

    type Element = (String, Vec<(String, String)>);

    /// A small XML checker: matched tags, quoted attributes, only known entities, a single root.
    /// Returns the elements in document order with their (unescaped) attributes.
    fn check_well_formed(xml: &str) -> Result<Vec<Element>, String> {
        let mut rest = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
            .ok_or("no XML declaration")?;
        let mut stack: Vec<String> = Vec::new();
        let mut elements = Vec::new();
        let mut roots = 0;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('<') {
                let end = after.find('>').ok_or("unterminated tag")?;
                let tag = &after[..end];
                rest = &after[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    let open = stack.pop().ok_or("close without open")?;
                    if open != name {
                        return Err(format!("</{name}> closes <{open}>"));
                    }
                    continue;
                }
                let (tag, empty) = match tag.strip_suffix('/') {
                    Some(t) => (t, true),
                    None => (tag, false),
                };
                let (name, mut attrs) = tag.split_once(' ').unwrap_or((tag, ""));
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(format!("bad element name {name:?}"));
                }
                let mut parsed = Vec::new();
                while !attrs.trim().is_empty() {
                    let (key, after) = attrs.trim_start().split_once("=\"").ok_or("attribute")?;
                    let close = after.find('"').ok_or("unquoted attribute")?;
                    let raw = &after[..close];
                    if raw.contains('<') {
                        return Err(format!("raw < in attribute {key}"));
                    }
                    parsed.push((key.to_string(), unescape(raw)?));
                    attrs = &after[close + 1..];
                }
                if stack.is_empty() {
                    roots += 1;
                }
                elements.push((name.to_string(), parsed));
                if !empty {
                    stack.push(name.to_string());
                }
            } else {
                let end = rest.find('<').unwrap_or(rest.len());
                unescape(&rest[..end])?;
                if stack.is_empty() && !rest[..end].trim().is_empty() {
                    return Err("text outside the root".into());
                }
                rest = &rest[end..];
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(elements)
    }

    fn unescape(s: &str) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            out.push_str(&rest[..i]);
            let end = rest[i..].find(';').ok_or("unterminated entity")? + i;
            let entity = &rest[i + 1..end];
            out.push(match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "#10" => '\n',
                "#13" => '\r',
                "#9" => '\t',
                other => return Err(format!("unknown entity &{other};")),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
