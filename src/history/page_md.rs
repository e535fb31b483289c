//! The history page in Markdown (`history report --format markdown`): per service, the last
//! evaluations as one compact table, newest first, for a GitHub step summary or a pull-request
//! comment.

use std::fmt::Write as _;

use super::page::{Outcome, Page, ServicePage};
use crate::report::markdown::{cell, code, text};

/// How many evaluations per service the table shows when `--last` does not say.
pub const DEFAULT_ROWS: usize = 10;

fn mark(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "✅ pass",
        Outcome::Warning => "⚠️ warning",
        Outcome::Fail => "❌ fail",
        Outcome::Error => "⛔ error",
        Outcome::None => "–",
    }
}

/// Renders the page; ends with a newline.
pub fn render(page: &Page) -> String {
    let mut out = String::from("## slogate: evaluation history\n\n");
    if page.services.is_empty() {
        out.push_str("No stored evaluations match.\n");
        return out;
    }
    if page.services.len() > 1 {
        out.push_str(
            "| Service | Evaluations | Newest | Score | Pass / warning / fail | Pinned |\n",
        );
        out.push_str("| --- | ---: | --- | ---: | --- | --- |\n");
        for s in &page.services {
            let newest = s.newest();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} / {} / {} | {} |",
                cell(&text(&s.title())),
                s.columns.len(),
                newest.map(|c| mark(c.result)).unwrap_or("–"),
                newest
                    .and_then(|c| c.score)
                    .map(super::page::num)
                    .unwrap_or_else(|| "–".into()),
                s.count(Outcome::Pass),
                s.count(Outcome::Warning),
                s.count(Outcome::Fail),
                s.pinned()
                    .map(|c| cell(&code(c.short_id())))
                    .unwrap_or_else(|| "–".into())
            );
        }
        out.push('\n');
    }
    for s in &page.services {
        section(&mut out, s);
    }
    out
}

fn section(out: &mut String, s: &ServicePage) {
    let _ = writeln!(out, "### {}\n", text(&s.title()));
    let shown = s.columns.len();
    let mut facts = vec![if s.total > shown {
        format!("the newest {shown} of {} evaluations", s.total)
    } else {
        format!("{shown} evaluation{}", if shown == 1 { "" } else { "s" })
    }];
    match s.pinned() {
        Some(c) => facts.push(format!(
            "📌 pinned baseline {} ({}){}",
            code(c.short_id()),
            text(&c.when()),
            c.pinned
                .as_deref()
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {}", text(r)))
                .unwrap_or_default()
        )),
        None => facts.push("no pinned baseline".into()),
    }
    let _ = writeln!(out, "{}\n", facts.join(" · "));
    if s.columns.is_empty() {
        return;
    }
    out.push_str("| Window end | Release | Result | Score | Not passing | Id |\n");
    out.push_str("| --- | --- | --- | ---: | --- | --- |\n");
    for (i, c) in s.columns.iter().enumerate().rev() {
        let not_passing: Vec<String> = s
            .rows
            .iter()
            .filter_map(|r| {
                let cl = &r.cells[i];
                match cl.outcome() {
                    Outcome::Warning | Outcome::Fail | Outcome::Error => {
                        Some(format!("{} ({})", text(&r.name), cl.outcome().label()))
                    }
                    _ => None,
                }
            })
            .collect();
        let mut result = mark(c.result).to_string();
        if let Some(r) = &c.invalidated {
            result = format!("~~{result}~~ invalidated");
            if !r.is_empty() {
                result.push_str(&format!(": {}", text(r)));
            }
        }
        if c.pinned.is_some() {
            result.push_str(" 📌 pinned");
        }
        let when = match &c.report_link {
            Some(l) if crate::report::markdown::is_web_url(l) || !l.contains(':') => {
                format!(
                    "[{}](<{}>)",
                    text(&c.when()),
                    l.replace(['<', '>', ' '], "")
                )
            }
            _ => text(&c.when()),
        };
        let mut id = code(c.short_id());
        if let Some(l) = &c.pipeline_link {
            id.push_str(&format!(" [run](<{}>)", l.replace(['<', '>', ' '], "")));
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(&when),
            cell(&c.label.as_deref().map(text).unwrap_or_else(|| "–".into())),
            cell(&result),
            c.score.map(super::page::num).unwrap_or_else(|| "–".into()),
            cell(&if not_passing.is_empty() {
                "–".to_string()
            } else {
                not_passing.join(", ")
            }),
            cell(&id)
        );
    }
    out.push('\n');
}
