//! Diagnostics that point into the user's files.
//!
//! Every problem slogate finds in an input file becomes a [`Problem`]: a miette diagnostic with the
//! file, the span to underline and a `help:` line. Problems are collected, never thrown, so one run
//! can report all of them.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

/// One input file, kept whole so diagnostics found late can still show its lines.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it (or a synthetic name such as `<stdin>`).
    pub name: String,
    pub text: String,
    /// Byte offsets where lines start, built on first use: with it, locating one of 50 000
    /// problems costs a binary search instead of a scan of the file (lint stays linear).
    lines: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(SourceFile {
            name: name.into(),
            text: text.into(),
            lines: OnceLock::new(),
        })
    }

    fn line_starts(&self) -> &[usize] {
        self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// 0-based index of the line holding byte `offset`.
    fn line_index(&self, offset: usize) -> usize {
        let starts = self.line_starts();
        starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let line = self.line_index(offset);
        let line_start = self.line_starts()[line];
        let col = self.text[line_start..offset].chars().count() + 1;
        (line + 1, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl SourceCode for SourceFile {
    /// miette's reader for `str` scans from the file's start for every snippet; here only the
    /// lines around the span are handed to it (found with the line index), then its positions
    /// are shifted back. Same output, linear time over many diagnostics.
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let len = self.text.len();
        if span.offset() > len || span.offset() + span.len() > len {
            return Err(MietteError::OutOfBounds);
        }
        let starts = self.line_starts();
        // One line more on each side than miette shows: its scan looks at the byte before an
        // empty span and at the newline after the last context line.
        let first = self
            .line_index(span.offset())
            .saturating_sub(context_lines_before + 1);
        let last = self.line_index(span.offset() + span.len()) + context_lines_after + 2;
        let from = starts[first];
        let to = starts.get(last + 1).copied().unwrap_or(len);
        let window = &self.text[from..to];
        let local = SourceSpan::new((span.offset() - from).into(), span.len());
        let inner = window.read_span(&local, context_lines_before, context_lines_after)?;
        let shifted = SourceSpan::new((inner.span().offset() + from).into(), inner.span().len());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            shifted,
            inner.line() + first,
            inner.column(),
            // miette counts the line breaks it scanned, from the start of the text.
            inner.line_count() + first,
        )))
    }
}

/// Where a value came from: a file and a byte range in it.
#[derive(Clone)]
pub struct Origin {
    pub file: Arc<SourceFile>,
    pub span: Range<usize>,
}

impl Origin {
    pub fn new(file: &Arc<SourceFile>, span: Range<usize>) -> Self {
        Origin {
            file: Arc::clone(file),
            span,
        }
    }

    /// `path:line:col`, the form editors and CI logs turn into links.
    pub fn location(&self) -> String {
        let (line, col) = self.file.line_col(self.span.start);
        format!("{}:{}:{}", self.file.name, line, col)
    }

    /// The exact source text of the span.
    pub fn snippet(&self) -> &str {
        self.file.text.get(self.span.clone()).unwrap_or("")
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.location())
    }
}

/// A value together with where it was written.
#[derive(Clone, Debug)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Sourced<T> {
    pub fn new(value: T, origin: Origin) -> Self {
        Sourced { value, origin }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A secondary label: another place that explains the problem (e.g. the first of two duplicates).
#[derive(Clone, Debug)]
pub struct Note {
    pub origin: Origin,
    pub label: String,
}

/// What `file_name` says for problems with the flags.
pub const COMMAND_LINE: &str = "command line";

/// One problem in one input file.
#[derive(Clone, Debug)]
pub struct Problem {
    pub severity: Severity,
    /// Stable identifier, e.g. `slogate::unknown-key`; documented in `docs/lint.md`.
    pub code: &'static str,
    pub message: String,
    /// `None` only for problems that concern no file content (e.g. a file that cannot be read).
    pub origin: Option<Origin>,
    pub file_name: String,
    pub label: String,
    pub help: Option<String>,
    pub notes: Vec<Note>,
    /// The span holds a secret: show its position, never its text.
    pub redacted: bool,
}

impl Problem {
    pub fn error(code: &'static str, origin: &Origin, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            file_name: origin.file.name.clone(),
            origin: Some(origin.clone()),
            label: String::new(),
            help: None,
            notes: Vec::new(),
            redacted: false,
        }
    }

    pub fn warning(code: &'static str, origin: &Origin, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, origin, message)
        }
    }

    /// A problem with a whole file (unreadable, too large, not UTF-8 before any line exists).
    pub fn file(code: &'static str, file_name: &str, message: impl Into<String>) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            origin: None,
            file_name: file_name.to_string(),
            label: String::new(),
            help: None,
            notes: Vec::new(),
            redacted: false,
        }
    }

    /// A problem with a flag or its combination with others (no file to point at).
    pub fn usage(message: impl Into<String>) -> Self {
        Problem::file("slogate::usage", COMMAND_LINE, message)
    }

    /// A problem with the value of the environment variable `var` (`environment DT_URL: …`).
    pub fn env(var: &str, message: impl Into<String>) -> Self {
        Problem::file(
            "slogate::environment",
            &format!("environment {var}"),
            message,
        )
    }

    /// Whether the problem is about the command line or the environment rather than a file:
    /// its code then says nothing the label does not (the codes name kinds of file problems,
    /// docs/lint.md), so diagnostics leave it out.
    pub fn is_about_invocation(&self) -> bool {
        self.origin.is_none()
            && (self.file_name == COMMAND_LINE || self.file_name.starts_with("environment "))
    }

    /// Hides the source text of this problem (a pasted secret); the location is kept and put
    /// into the message instead.
    pub fn redact(mut self) -> Self {
        if let Some(o) = &self.origin {
            self.message = format!("{}: {}", o.location(), self.message);
        }
        self.redacted = true;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn note(mut self, origin: &Origin, label: impl Into<String>) -> Self {
        self.notes.push(Note {
            origin: origin.clone(),
            label: label.into(),
        });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// A copy whose texts are safe to print: messages often quote a server or a file
    /// (`report::sanitize::text`).
    pub fn sanitised(&self) -> Problem {
        use crate::report::sanitize::text;
        let mut p = self.clone();
        p.message = text(&p.message).into_owned();
        p.file_name = text(&p.file_name).into_owned();
        p.label = text(&p.label).into_owned();
        p.help = p.help.map(|h| text(&h).into_owned());
        for n in &mut p.notes {
            n.label = text(&n.label).into_owned();
        }
        p
    }

    /// `(line, column)`, 1-based, of the start of the primary span.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        self.origin.as_ref().map(|o| o.file.line_col(o.span.start))
    }

    /// The machine-readable form used by `lint --format json`.
    pub fn to_json(&self) -> serde_json::Value {
        let (line, column) = self.line_col().unwrap_or((0, 0));
        serde_json::json!({
            "file": self.file_name,
            "line": line,
            "column": column,
            "span": self.origin.as_ref().filter(|_| !self.redacted).map(|o| serde_json::json!({"offset": o.span.start, "length": o.span.len()})),
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "label": if self.label.is_empty() { None } else { Some(&self.label) },
            "help": self.help,
            "notes": self.notes.iter().map(|n| {
                let (line, column) = n.origin.file.line_col(n.origin.span.start);
                serde_json::json!({"file": n.origin.file.name, "line": line, "column": column, "label": n.label})
            }).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        if self.is_about_invocation() {
            return None;
        }
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.redacted {
            return None;
        }
        self.origin.as_ref().map(|o| &*o.file as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.redacted {
            return None;
        }
        let origin = self.origin.as_ref()?;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            (!self.label.is_empty()).then(|| self.label.clone()),
            origin.span.clone(),
        )];
        // Notes in another file cannot share this snippet; they are rendered as related diagnostics.
        for note in &self.notes {
            if Arc::ptr_eq(&note.origin.file, &origin.file) {
                labels.push(LabeledSpan::new_with_span(
                    Some(note.label.clone()),
                    note.origin.span.clone(),
                ));
            }
        }
        Some(Box::new(labels.into_iter()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        None
    }
}

/// Renders problems the way a terminal shows them: graphical, with the source lines.
pub fn render(problems: &[Problem], color: bool, width: usize) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let safe: Vec<Problem> = problems.iter().map(Problem::sanitised).collect();
    let problems = &safe[..];
    let mut out = String::new();
    // Past the first FULL_PER_KIND problems of one kind in one file (a file with 50 000 duplicate
    // keys), each further one is a single `code: file:line:col: message` line: every problem is
    // still listed, without megabytes of snippets.
    const FULL_PER_KIND: usize = 100;
    let mut seen: std::collections::HashMap<(&str, &str), usize> = std::collections::HashMap::new();
    for p in problems {
        let n = seen.entry((p.file_name.as_str(), p.code)).or_insert(0);
        *n += 1;
        if *n > FULL_PER_KIND {
            let at = p
                .origin
                .as_ref()
                .map_or_else(|| p.file_name.clone(), Origin::location);
            out.push_str(&format!("{}: {at}: {}\n", p.code, p.message));
            continue;
        }
        let mut one = String::new();
        // miette shows no file for span-less diagnostics; say which file (or `command line`,
        // `environment DT_URL`) it is, before miette wraps the message.
        let named;
        let shown = if p.origin.is_none() && !p.redacted {
            named = Problem {
                message: format!("{}: {}", p.file_name, p.message),
                ..p.clone()
            };
            &named
        } else {
            p
        };
        if handler.render_report(&mut one, shown).is_err() {
            one = format!("{}: {}\n", p.file_name, p.message);
        }
        out.push_str(&one);
        // Notes pointing into other files, e.g. "first defined here" in a parent level.
        for note in &p.notes {
            if p.origin
                .as_ref()
                .is_some_and(|o| Arc::ptr_eq(&o.file, &note.origin.file))
            {
                continue;
            }
            out.push_str(&format!(
                "  note: {} at {}\n",
                note.label,
                note.origin.location()
            ));
        }
        out.push('\n');
    }
    out
}

/// Sorts problems by file, position and code so output is deterministic.
pub fn sort(problems: &mut [Problem]) {
    problems.sort_by(|a, b| {
        let ka = (
            a.file_name.as_str(),
            a.origin.as_ref().map(|o| o.span.start),
            a.code,
        );
        let kb = (
            b.file_name.as_str(),
            b.origin.as_ref().map(|o| o.span.start),
            b.code,
        );
        ka.cmp(&kb)
    });
}

#[cfg(test)]
mod line_index_tests {
    use super::*;

    #[test]
    fn line_col_matches_a_scan() {
        let text = "a: 1\nbé: [x,\n\n  y]\r\nlast";
        let f = SourceFile::new("t.yaml", text);
        for offset in 0..=text.len() + 3 {
            let o = floor_char_boundary(text, offset.min(text.len()));
            let before = &text[..o];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
            let col = before[start..].chars().count() + 1;
            assert_eq!(f.line_col(offset), (line, col), "offset {offset}");
        }
    }

    #[test]
    fn read_span_shows_what_miette_shows_for_the_whole_text() {
        let text = "one\ntwo: x\n  three: é\n\nfive\r\nsix\nseven: [a,\n  b]\neight\n";
        let f = SourceFile::new("t.yaml", text);
        for start in 0..=text.len() {
            for len in [0, 1, 3, 9] {
                if !text.is_char_boundary(start)
                    || start + len > text.len()
                    || !text.is_char_boundary(start + len)
                {
                    continue;
                }
                for (before, after) in [(0, 0), (1, 1), (2, 3)] {
                    let span = SourceSpan::new(start.into(), len);
                    let want = text.read_span(&span, before, after).expect("whole");
                    let got = f.read_span(&span, before, after).expect("window");
                    let at = format!("{start}+{len} ({before},{after})");
                    assert_eq!(got.data(), want.data(), "{at}");
                    assert_eq!(got.span(), want.span(), "{at}");
                    assert_eq!(got.line(), want.line(), "{at}");
                    assert_eq!(got.column(), want.column(), "{at}");
                    assert_eq!(got.line_count(), want.line_count(), "{at}");
                }
            }
        }
        let outside = SourceSpan::new((text.len() + 1).into(), 0);
        assert!(f.read_span(&outside, 0, 0).is_err());
    }
}

#[cfg(test)]
mod render_tests {
    use super::*;

    #[test]
    fn many_problems_of_one_kind_are_listed_in_one_line_each_after_the_first_hundred() {
        let text = "k: 1\n".repeat(150);
        let f = SourceFile::new("d.yaml", text);
        let problems: Vec<Problem> = (0..150)
            .map(|i| {
                Problem::error(
                    "slogate::duplicate-key",
                    &Origin::new(&f, i * 5..i * 5 + 1),
                    "duplicate key `k`",
                )
                .label("defined again here")
            })
            .collect();
        let out = render(&problems, false, 80);
        assert_eq!(out.matches("defined again here").count(), 100);
        assert!(
            out.contains("slogate::duplicate-key: d.yaml:150:1: duplicate key `k`\n"),
            "{out}"
        );
        assert_eq!(out.matches("duplicate key `k`").count(), 150);
    }
}
