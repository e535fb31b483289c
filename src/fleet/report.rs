//! The fleet report: one summary row per environment and service, rendered as text, Markdown,
//! HTML, JUnit (one test suite per environment), JSON and JSON lines. Pure: rows in, text out.
//!
//! Only the rows are kept, never the environments' full reports, so memory grows by a few hundred
//! bytes per environment. The JSON is deterministic — rows sorted by environment then service, no
//! run time — so the merged JSON of `--shard` runs equals, byte for byte, that of one run.

use serde::{Deserialize, Serialize};

use crate::eval::{Status, Verdict};
use crate::report::Report;
use crate::report::sanitize;

/// What one environment said about one service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub result: Verdict,
    /// Keptn's total score; none when nothing was scored (`error`, `invalid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The SLIs of the objectives that failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
    /// Why there is no verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

fn clean(s: &str) -> String {
    crate::source::secret::redact(&sanitize::text(s))
}

impl Row {
    /// The row of one service's report; every foreign string passes the sanitiser.
    pub fn of(environment: &str, r: &Report) -> Row {
        let e = &r.evaluation;
        let scored = !matches!(e.result, Verdict::Error | Verdict::Invalid);
        let mut failed: Vec<String> = Vec::new();
        for i in &e.indicator_results {
            let name = clean(&i.value.metric);
            if i.status == Status::Fail && i.error.is_none() && !failed.contains(&name) {
                failed.push(name);
            }
        }
        Row {
            environment: environment.to_string(),
            service: r.service.as_deref().map(clean),
            result: e.result,
            score: scored.then_some(e.score),
            failed,
            cause: match e.result {
                Verdict::Error => e.error.as_deref().map(clean),
                Verdict::Invalid => e.invalid_input.as_deref().or(e.error.as_deref()).map(clean),
                _ => None,
            },
        }
    }

    /// An environment that could not be evaluated at all (token, URL, unreachable).
    pub fn error(environment: &str, service: Option<&str>, cause: &str) -> Row {
        Row {
            environment: environment.to_string(),
            service: service.map(clean),
            result: Verdict::Error,
            score: None,
            failed: Vec::new(),
            cause: Some(clean(cause.trim_end())),
        }
    }
}

/// How many rows had each outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub pass: usize,
    pub warning: usize,
    pub fail: usize,
    pub error: usize,
    pub invalid: usize,
}

impl Counts {
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Warning => self.warning += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Error => self.error += 1,
            Verdict::Invalid => self.invalid += 1,
        }
    }
}

/// Which part of the fleet a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u32,
    pub total: u32,
}

pub const KIND: &str = "slogate-fleet";
pub const VERSION: u32 = 1;

/// The whole fleet, or one shard of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetReport {
    pub kind: String,
    pub report_version: u32,
    pub tool: crate::report::json::Tool,
    /// The `--environments` pattern.
    pub selection: String,
    /// Set on a shard's partial report; a merged or single run has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    pub result: Verdict,
    /// Environments evaluated.
    pub environments: usize,
    pub counts: Counts,
    pub rows: Vec<Row>,
}

impl FleetReport {
    /// Rows in any order → the report, rows sorted by environment then service.
    pub fn new(selection: &str, shard: Option<ShardInfo>, mut rows: Vec<Row>) -> FleetReport {
        rows.sort_by(|a, b| (&a.environment, &a.service).cmp(&(&b.environment, &b.service)));
        let mut counts = Counts::default();
        for r in &rows {
            counts.add(r.result);
        }
        let mut names: Vec<&str> = rows.iter().map(|r| r.environment.as_str()).collect();
        names.dedup();
        FleetReport {
            kind: KIND.into(),
            report_version: VERSION,
            tool: crate::report::json::Tool::current(),
            selection: selection.to_string(),
            shard,
            // An empty fleet evaluated nothing: that is no pass.
            result: Verdict::worst(rows.iter().map(|r| r.result)).unwrap_or(Verdict::Error),
            environments: names.len(),
            counts,
            rows,
        }
    }

    /// What the CI variables and annotations say: the worst row decides.
    pub fn summary(&self) -> crate::report::annotations::RunSummary {
        let worst = self.rows.iter().max_by_key(|r| r.result.severity());
        let mut failed: Vec<String> = Vec::new();
        for r in &self.rows {
            for f in &r.failed {
                let name = format!("{}:{f}", r.environment);
                if !failed.contains(&name) {
                    failed.push(name);
                }
            }
        }
        crate::report::annotations::RunSummary {
            result: self.result,
            score: worst.and_then(|w| w.score),
            failed: failed.join(","),
            cause: worst.and_then(|w| w.cause.as_ref().map(|c| format!("{}: {c}", w.environment))),
        }
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|s| {
        let t = format!("{s:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    })
    .unwrap_or_default()
}

fn service(r: &Row) -> &str {
    r.service.as_deref().unwrap_or("-")
}

/// The headline every human-readable format ends or starts with.
pub fn headline(f: &FleetReport) -> String {
    let c = &f.counts;
    format!(
        "fleet {}: {} environment{} ({} pass, {} warning, {} fail, {} error, {} invalid)",
        f.result.as_str().to_uppercase(),
        f.environments,
        if f.environments == 1 { "" } else { "s" },
        c.pass,
        c.warning,
        c.fail,
        c.error,
        c.invalid
    )
}

pub fn json(f: &FleetReport) -> String {
    let mut s = serde_json::to_string_pretty(f).unwrap_or_default();
    s.push('\n');
    s
}

/// One line of `--format jsonl`.
pub fn jsonl(row: &Row) -> String {
    let mut s = serde_json::to_string(row).unwrap_or_default();
    s.push('\n');
    s
}

/// The closing line of a `--format jsonl` stream.
pub fn jsonl_end(f: &FleetReport) -> String {
    let v = serde_json::json!({
        "kind": KIND,
        "end": true,
        "result": f.result,
        "environments": f.environments,
        "counts": f.counts,
    });
    format!("{v}\n")
}

pub fn text(f: &FleetReport) -> String {
    let mut widths = [11usize, 7, 7, 5];
    for r in &f.rows {
        widths[0] = widths[0].max(r.environment.chars().count());
        widths[1] = widths[1].max(service(r).chars().count());
    }
    let mut out = format!(
        "{:w0$}  {:w1$}  {:7}  {:>5}  details\n",
        "environment",
        "service",
        "outcome",
        "score",
        w0 = widths[0],
        w1 = widths[1]
    );
    for r in &f.rows {
        let details = match (&r.cause, r.failed.is_empty()) {
            (Some(c), _) => c.clone(),
            (None, false) => format!("failed: {}", r.failed.join(", ")),
            (None, true) => String::new(),
        };
        let line = format!(
            "{:w0$}  {:w1$}  {:7}  {:>5}  {}",
            r.environment,
            service(r),
            r.result.as_str(),
            num(r.score),
            details,
            w0 = widths[0],
            w1 = widths[1]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&headline(f));
    out.push('\n');
    out
}

pub fn markdown(f: &FleetReport) -> String {
    use crate::report::markdown::cell;
    let mut out = format!("## slogate {}\n\n", headline(f));
    out.push_str("| environment | service | outcome | score | failed objectives | error cause |\n");
    out.push_str("|---|---|---|---:|---|---|\n");
    for r in &f.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(&r.environment),
            cell(service(r)),
            r.result.as_str(),
            num(r.score),
            cell(&r.failed.join(", ")),
            cell(r.cause.as_deref().unwrap_or(""))
        ));
    }
    out
}

pub fn html(f: &FleetReport) -> String {
    use crate::report::html::esc;
    let mut rows = String::new();
    for r in &f.rows {
        rows.push_str(&format!(
            "<tr class=\"{o}\"><td>{}</td><td>{}</td><td><b>{o}</b></td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&r.environment),
            esc(service(r)),
            num(r.score),
            esc(&r.failed.join(", ")),
            esc(r.cause.as_deref().unwrap_or("")),
            o = r.result.as_str(),
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>slogate fleet: {result}</title>\n\
<style>body{{font-family:system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.n{{text-align:right}}\
.pass b{{color:#1a7f37}}.warning b{{color:#9a6700}}.fail b{{color:#cf222e}}.error b,.invalid b{{color:#6e7781}}</style></head>\n\
<body><h1>{headline}</h1>\n<table><thead><tr><th>environment</th><th>service</th><th>outcome</th><th>score</th><th>failed objectives</th><th>error cause</th></tr></thead>\n<tbody>\n{rows}</tbody></table></body></html>\n",
        result = f.result.as_str(),
        headline = esc(&headline(f)),
    )
}

/// One test suite per environment, one test case per service: `<failure>` for a fail (naming the
/// objectives), `<error>` for what could not be evaluated, nothing for pass and warning.
pub fn junit(f: &FleetReport) -> String {
    use crate::report::junit::{attr, text};
    let mut suites = String::new();
    let mut i = 0;
    while i < f.rows.len() {
        let env = &f.rows[i].environment;
        let end = f.rows[i..]
            .iter()
            .position(|r| &r.environment != env)
            .map_or(f.rows.len(), |p| i + p);
        let rows = &f.rows[i..end];
        let failures = rows.iter().filter(|r| r.result == Verdict::Fail).count();
        let errors = rows
            .iter()
            .filter(|r| matches!(r.result, Verdict::Error | Verdict::Invalid))
            .count();
        suites.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
            attr(env),
            rows.len()
        ));
        for r in rows {
            suites.push_str(&format!(
                "    <testcase classname=\"slogate.{}\" name=\"{}\">",
                attr(env),
                attr(service(r))
            ));
            match r.result {
                Verdict::Fail => suites.push_str(&format!(
                    "<failure message=\"fail: {}\">{}</failure>",
                    attr(&r.failed.join(", ")),
                    text(&format!("score {}", num(r.score)))
                )),
                Verdict::Error | Verdict::Invalid => suites.push_str(&format!(
                    "<error message=\"{}: {}\"/>",
                    r.result.as_str(),
                    attr(r.cause.as_deref().unwrap_or(""))
                )),
                Verdict::Pass | Verdict::Warning => suites.push_str(&format!(
                    "<system-out>{}</system-out>",
                    text(&format!("{} score {}", r.result.as_str(), num(r.score)))
                )),
            }
            suites.push_str("</testcase>\n");
        }
        suites.push_str("  </testsuite>\n");
        i = end;
    }
    let c = &f.counts;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"slogate fleet\" tests=\"{}\" failures=\"{}\" errors=\"{}\">\n{suites}</testsuites>\n",
        f.rows.len(),
        c.fail,
        c.error + c.invalid
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(env: &str, result: Verdict, score: Option<f64>) -> Row {
        Row {
            environment: env.into(),
            service: Some("checkout".into()),
            result,
            score,
            failed: if result == Verdict::Fail {
                vec!["response_time_p95".into()]
            } else {
                vec![]
            },
            cause: (result == Verdict::Error).then(|| "Dynatrace refused the token".into()),
        }
    }

    fn fleet() -> FleetReport {
        FleetReport::new(
            "all",
            None,
            vec![
                row("b", Verdict::Fail, Some(50.0)),
                row("a", Verdict::Pass, Some(100.0)),
                row("c", Verdict::Error, None),
            ],
        )
    }

    #[test]
    fn rows_are_sorted_and_the_worst_decides() {
        let f = fleet();
        let names: Vec<&str> = f.rows.iter().map(|r| r.environment.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        // fail outranks error (docs/outcomes.md).
        assert_eq!(f.result, Verdict::Fail);
        assert_eq!(f.counts.error, 1);
        assert_eq!(f.summary().failed, "b:response_time_p95");
        assert_eq!(
            FleetReport::new("x", None, vec![]).result,
            Verdict::Error,
            "an empty fleet is no pass"
        );
    }

    #[test]
    fn json_round_trips() {
        let f = fleet();
        let back: FleetReport = serde_json::from_str(&json(&f)).unwrap();
        assert_eq!(back, f);
        assert!(!json(&f).contains("shard"));
    }

    #[test]
    fn junit_has_one_suite_per_environment() {
        let x = junit(&fleet());
        assert_eq!(x.matches("<testsuite ").count(), 3);
        assert!(x.contains("<failure message=\"fail: response_time_p95\">"));
        assert!(x.contains("<error message=\"error: Dynatrace refused the token\"/>"));
    }

    #[test]
    fn text_and_markdown_show_every_column() {
        let t = text(&fleet());
        assert!(t.contains("failed: response_time_p95"), "{t}");
        assert!(
            t.ends_with(
                "fleet FAIL: 3 environments (1 pass, 0 warning, 1 fail, 1 error, 0 invalid)\n"
            ),
            "{t}"
        );
        let m = markdown(&fleet());
        assert!(
            m.contains("| c | checkout | error |  |  | Dynatrace refused the token |"),
            "{m}"
        );
        assert!(html(&fleet()).contains("<tr class=\"fail\">"));
    }

    #[test]
    fn foreign_text_is_sanitised_in_rows() {
        let r = Row::error("a", None, "bad\n##vso[task.complete result=Succeeded]");
        let c = r.cause.unwrap();
        assert!(!c.contains('\n') && !c.contains("##vso["), "{c}");
    }
}
