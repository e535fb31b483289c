//! The one sanitiser for foreign text: what servers say (error messages, entity names, units, tile
//! titles, series labels) and what config files say (SLI names, `displayName`, queries) on its
//! way to any output. A CI agent reads logging commands from a job's output: Azure DevOps finds
//! `##vso[` anywhere in a line (stdout and stderr, a bare `\r` counts as a line break), GitHub
//! reads `::cmd` at the start of a line and its legacy `##[cmd]`, GitLab renders ESC sequences.
//! slogate's own logging commands must stay the only ones a pipeline can see, whatever `--ci`
//! says (a pipeline may run without the CI being detected).
//!
//! Two layers, both pure:
//! - [`text`] for one foreign string in a human-readable report: control characters and line
//!   breaks become visible escapes (`\n`, `\u{1b}`), so a value cannot start a line of its own,
//!   and command markers are neutralised. [`report`] applies it to every string of a report.
//! - [`guard`] for whole outputs (stdout, stderr, report files): whatever a renderer produced,
//!   no line is left that an agent reads as a command. Its escapes are valid inside JSON strings,
//!   YAML double-quoted scalars, XML, HTML and Markdown alike (`[` → `\u005b`), so JSON and YAML
//!   stay parseable and decode to the original text.

use std::borrow::Cow;

use crate::report::Report;

/// The replacement of a command marker's `[`: a JSON/YAML escape that decodes back to `[`, and
/// reads as an escape everywhere else.
const BRACKET: &str = "\\u005b";
/// The replacement of the first `:` of a line-leading `::`.
const COLON: &str = "\\u003a";

/// One foreign string made safe for a human-readable line: line breaks, tabs, ESC and every other
/// control character (C0, DEL, C1), Unicode line/paragraph separators and bidirectional overrides
/// are shown as escapes; `##vso[`, `##[` and a leading `::` are neutralised.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) && !has_marker(s) && !leading_colons(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(neutralise_line(&out).into_owned())
}

/// Characters a foreign string never carries into a report as they are.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
}

/// `##vso[` (any case) or `##[` somewhere in `s`.
fn has_marker(s: &str) -> bool {
    s.contains("##") && (s.contains("##[") || s.to_ascii_lowercase().contains("##vso["))
}

/// `s` starts, after blanks, with `::`.
fn leading_colons(s: &str) -> bool {
    s.trim_start().starts_with("::")
}

/// One line without its command markers: `##vso[` and `##[` lose their `[`, a leading `::`
/// its first `:`.
fn neutralise_line(line: &str) -> Cow<'_, str> {
    if !has_marker(line) && !leading_colons(line) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let lower = line.to_ascii_lowercase();
    let mut i = 0;
    let bytes = line.as_bytes();
    let trimmed = line.len() - line.trim_start().len();
    if leading_colons(line) {
        out.push_str(&line[..trimmed]);
        out.push_str(COLON);
        i = trimmed + 1;
    }
    while i < line.len() {
        if bytes[i] == b'#' {
            if lower[i..].starts_with("##vso[") {
                out.push_str(&line[i..i + 5]);
                out.push_str(BRACKET);
                i += 6;
                continue;
            }
            if line[i..].starts_with("##[") {
                out.push_str("##");
                out.push_str(BRACKET);
                i += 3;
                continue;
            }
        }
        // `i` is always at a char boundary: markers are ASCII.
        let c = line[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    Cow::Owned(out)
}

/// A whole output (stdout, stderr, a report file) made safe to be read by any CI agent: no line
/// holds `##vso[` or `##[`, none starts with `::`, a bare `\r` (not part of `\r\n`) and every
/// ESC are shown as escapes. slogate's own logging commands are written past this guard
/// ([`crate::ui::ci_commands`]).
pub fn guard(output: &str) -> Cow<'_, str> {
    guard_inner(output, false)
}

/// [`guard`] that keeps colour sequences (`ESC [ digits ; m`): for diagnostics slogate colours
/// itself on a terminal (`--color`).
pub fn guard_keeping_colour(output: &str) -> Cow<'_, str> {
    guard_inner(output, true)
}

fn guard_inner(output: &str, colour: bool) -> Cow<'_, str> {
    let risky = has_marker(output)
        || output.contains("::")
        || output.contains('\r')
        || output.contains('\u{1b}');
    if !risky {
        return Cow::Borrowed(output);
    }
    let mut out = String::with_capacity(output.len() + 16);
    for piece in output.split_inclusive('\n') {
        let (line, end) = match piece.strip_suffix("\r\n") {
            Some(l) => (l, "\r\n"),
            None => match piece.strip_suffix('\n') {
                Some(l) => (l, "\n"),
                None => (piece, ""),
            },
        };
        let line = controls_visible(line, colour);
        out.push_str(&neutralise_line(&line));
        out.push_str(end);
    }
    Cow::Owned(out)
}

/// A bare `\r` and an ESC (but a colour sequence, when `colour`), as visible escapes.
fn controls_visible(line: &str, colour: bool) -> Cow<'_, str> {
    if !line.contains('\r') && !line.contains('\u{1b}') {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        match c {
            '\r' => out.push_str("\\r"),
            '\u{1b}' => match sgr_len(rest).filter(|_| colour) {
                Some(n) => {
                    out.push_str(&rest[..n]);
                    rest = &rest[n..];
                    continue;
                }
                None => out.push_str("\\u001b"),
            },
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of a colour sequence at the start of `s` (`ESC [ 0-9;* m`), if there is one.
fn sgr_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 3 || b[0] != 0x1b || b[1] != b'[' {
        return None;
    }
    let mut i = 2;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b';') && i < 32 {
        i += 1;
    }
    (i < b.len() && b[i] == b'm').then_some(i + 1)
}

fn fix(s: &mut String) {
    if let Cow::Owned(o) = text(s) {
        *s = o;
    }
}

fn fix_opt(s: &mut Option<String>) {
    if let Some(s) = s {
        fix(s);
    }
}

/// A copy of `r` whose every foreign string went through [`text`], for the human-readable
/// renderers (text, Markdown, HTML, JUnit, annotations). The JSON report keeps the exact values:
/// its escaping and [`guard`] make it safe.
pub fn report(r: &Report) -> Report {
    let mut r = r.clone();
    fix(&mut r.tool.name);
    fix(&mut r.tool.version);
    fix_opt(&mut r.id);
    fix_opt(&mut r.project);
    fix_opt(&mut r.stage);
    fix_opt(&mut r.service);
    r.labels = std::mem::take(&mut r.labels)
        .into_iter()
        .map(|(k, v)| (text(&k).into_owned(), text(&v).into_owned()))
        .collect();
    fix_opt(&mut r.time_start);
    fix_opt(&mut r.time_end);
    if let Some(b) = &mut r.baseline_selection {
        fix(&mut b.reason);
        b.evaluations.iter_mut().for_each(fix);
    }
    r.slo.files.iter_mut().for_each(fix);
    fix(&mut r.slo.hash);
    fix_opt(&mut r.slo.pass_threshold);
    fix_opt(&mut r.slo.warning_threshold);
    if let Some(s) = &mut r.source {
        fix(&mut s.kind);
        fix(&mut s.url);
    }
    if let Some(d) = &mut r.deployment {
        fix(&mut d.time);
        fix(&mut d.source);
        fix_opt(&mut d.event_id);
        fix_opt(&mut d.title);
        fix_opt(&mut d.version);
        fix_opt(&mut d.event_type);
    }
    if let Some(w) = &mut r.baseline_window {
        fix(&mut w.time_start);
        fix(&mut w.time_end);
    }
    if let Some(p) = &mut r.pipeline {
        fix(&mut p.ci);
        fix_opt(&mut p.url);
        fix_opt(&mut p.name);
        fix_opt(&mut p.commit);
    }
    for s in &mut r.series {
        fix(&mut s.metric);
    }
    fix_opt(&mut r.result_event);
    if let Some(d) = &mut r.release_dashboard {
        fix(&mut d.id);
        fix(&mut d.name);
        fix_opt(&mut d.link);
    }
    if let Some(c) = &mut r.context {
        fix_opt(&mut c.problems_not_checked);
        fix_opt(&mut c.related_not_checked);
        fix_opt(&mut c.changes_not_checked);
        fix_opt(&mut c.maintenance_not_checked);
        fix_opt(&mut c.service_link);
        if let Some(p) = &mut c.policy_changed {
            fix(&mut p.reason);
        }
        for p in &mut c.problems {
            fix(&mut p.problem_id);
            fix(&mut p.display_id);
            fix(&mut p.title);
            fix_opt(&mut p.on_related);
            fix(&mut p.severity);
            fix(&mut p.status);
            fix(&mut p.start);
            fix_opt(&mut p.end);
            fix_opt(&mut p.root_cause);
            p.windows.iter_mut().for_each(fix);
            fix_opt(&mut p.link);
        }
        for ch in &mut c.changes {
            fix(&mut ch.kind);
            fix(&mut ch.event_type);
            fix(&mut ch.what);
            fix(&mut ch.time);
            fix(&mut ch.window);
            fix_opt(&mut ch.entity);
            fix_opt(&mut ch.link);
        }
    }
    let e = &mut r.evaluation;
    fix(&mut e.status);
    fix(&mut e.message);
    e.compared_events.iter_mut().for_each(fix);
    fix_opt(&mut e.invalid_input);
    fix_opt(&mut e.error);
    for i in &mut e.indicator_results {
        fix(&mut i.display_name);
        fix(&mut i.value.metric);
        fix(&mut i.value.message);
        fix_opt(&mut i.value.query);
        for t in i
            .pass_targets
            .iter_mut()
            .chain(i.warning_targets.iter_mut())
            .flatten()
        {
            fix(&mut t.criteria);
        }
        fix(&mut i.baseline_aggregate);
        i.notes.iter_mut().for_each(fix);
        fix_opt(&mut i.unit);
        fix_opt(&mut i.error);
        fix_opt(&mut i.query);
        fix_opt(&mut i.source);
        if let Some(j) = &mut i.judge {
            fix(&mut j.summary);
            fix(&mut j.method);
            fix_opt(&mut j.events_name);
            fix_opt(&mut j.too_little);
            // The control's name comes from a flag; left-out minutes are the judge's words.
            fix_opt(&mut j.baseline);
            j.left_out.iter_mut().for_each(fix);
            for c in &mut j.criteria {
                fix(&mut c.criteria);
            }
        }
        if let Some(t) = &mut i.tile {
            fix(&mut t.title);
            fix(&mut t.kind);
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_text_cannot_start_a_line_or_a_command() {
        for (input, want) in [
            ("checkout", "checkout"),
            (
                "bad\n##vso[task.setvariable variable=SLOGATE_RESULT]pass",
                "bad\\n##vso\\u005btask.setvariable variable=SLOGATE_RESULT]pass",
            ),
            (
                "x\r##VSO[task.prependpath]/tmp",
                "x\\r##VSO\\u005btask.prependpath]/tmp",
            ),
            ("::add-mask::x", "\\u003a:add-mask::x"),
            ("  ::stop-commands::t", "  \\u003a:stop-commands::t"),
            ("##[error]boom", "##\\u005berror]boom"),
            ("a::b builtin:service", "a::b builtin:service"),
            ("\u{1b}[2Jgone", "\\u{1b}[2Jgone"),
            ("tab\there", "tab\\there"),
            ("rtl\u{202e}txt", "rtl\\u{202e}txt"),
            ("nel\u{85}x", "nel\\u{85}x"),
            ("µs ✓ 日本", "µs ✓ 日本"),
        ] {
            assert_eq!(text(input), want, "{input:?}");
            // Idempotent: a second pass changes nothing.
            assert_eq!(text(&text(input)), want, "{input:?}");
        }
    }

    #[test]
    fn guarded_output_holds_no_command_for_any_agent() {
        let hostile = "ok\n##vso[task.complete result=Succeeded]\n::error::x\n  ::warning::y\r::set-output name=a::b\n\
                       ##[group]g\nfine :: here\n\u{1b}]0;title\u{7}\u{1b}[31mred\u{1b}[0m\r\nend";
        let out = guard_keeping_colour(hostile);
        assert!(!guard(hostile).contains('\u{1b}'));
        for line in out.split('\n') {
            let l = line.trim_end_matches('\r');
            assert!(!l.to_ascii_lowercase().contains("##vso["), "{l}");
            assert!(!l.contains("##["), "{l}");
            assert!(!l.trim_start().starts_with("::"), "{l}");
            assert!(!l.contains('\r'), "{l}");
        }
        // Colours survive, other escape sequences are shown.
        assert!(out.contains("\u{1b}[31mred\u{1b}[0m"));
        assert!(out.contains("\\u001b]0;title"));
        assert!(out.contains("fine :: here"));
        assert!(out.ends_with("\r\nend"));
    }

    #[test]
    fn guarded_json_and_yaml_still_parse_to_the_original() {
        let value = serde_json::json!({"message": "##vso[task.setvariable variable=X]y", "m2": "##[error]e"});
        let json = serde_json::to_string_pretty(&value).unwrap();
        let safe = guard(&json);
        assert!(!safe.contains("##vso["));
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value);
        // A YAML double-quoted scalar (JSON string syntax) decodes `\u005b` too.
        let yaml = format!("sli: {}\n", serde_json::to_string("##vso[x]").unwrap());
        let safe = guard(&yaml).into_owned();
        assert!(!safe.contains("##vso["));
        let mut parser = saphyr_parser::Parser::new_from_str(&safe);
        let mut scalars = Vec::new();
        while let Some(Ok((ev, _))) = parser.next() {
            if let saphyr_parser::Event::Scalar(s, ..) = ev {
                scalars.push(s.to_string());
            }
        }
        assert_eq!(scalars, ["sli", "##vso[x]"]);
    }

    #[test]
    fn clean_output_is_not_copied() {
        assert!(matches!(guard("PASS score 100\n"), Cow::Borrowed(_)));
        assert!(matches!(text("Response time p95"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_string_of_a_report_is_sanitised() {
        // Every string in every fixture turned hostile, then sanitised: no string is left that
        // holds a line break or a marker. A new string field that `report` forgets fails here.
        for (name, r) in crate::report::fixtures::all() {
            let mut v = serde_json::to_value(&r).unwrap();
            poison(&mut v);
            let hostile: Report = serde_json::from_value(v).unwrap();
            let safe = serde_json::to_value(report(&hostile)).unwrap();
            check(&safe, name);
        }
    }

    fn poison(v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) if !is_enum_word(s) => s.push_str("\n##vso[x]\u{1b}[2J"),
            Value::Array(a) => a.iter_mut().for_each(poison),
            Value::Object(o) => {
                let keys: Vec<String> = o.keys().cloned().collect();
                for k in keys {
                    if let Some(x) = o.get_mut(&k) {
                        poison(x);
                    }
                }
            }
            _ => {}
        }
    }

    /// Strings that deserialise into enums (`pass`, `fail`, `window`, …) must stay as they are.
    fn is_enum_word(s: &str) -> bool {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
            && s.len() < 24
    }

    fn check(v: &serde_json::Value, name: &str) {
        use serde_json::Value;
        match v {
            Value::String(s) => {
                assert!(!s.contains('\n'), "{name}: {s:?}");
                assert!(!s.contains('\u{1b}'), "{name}: {s:?}");
                assert!(!s.contains("##vso["), "{name}: {s:?}");
            }
            Value::Array(a) => a.iter().for_each(|x| check(x, name)),
            Value::Object(o) => o.values().for_each(|x| check(x, name)),
            _ => {}
        }
    }
}
