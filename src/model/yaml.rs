//! A YAML reader that keeps the byte span of every node.
//!
//! serde-based readers stop at the first error and forget where values were; slogate needs both
//! every problem of a file and the exact place of each value, so it builds its own small tree from
//! the parser's events. Limits guard against hostile input: a size cap (applied by the loader), a
//! nesting depth cap and a cap on nodes produced by alias expansion ("billion laughs").

use std::collections::HashMap;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::diag::{Origin, Problem, SourceFile};

/// Deepest nesting accepted; SLO files need about six levels.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to, aliases included.
pub const MAX_NODES: usize = 100_000;

#[derive(Clone, Debug)]
pub enum Value {
    Scalar { text: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub origin: Origin,
}

impl Node {
    /// YAML core-schema null: `~`, `null`, `Null`, `NULL` or nothing, unquoted.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A short name of the node's kind for "expected X, found Y" messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Scalar { .. } if self.is_null() => "nothing (null)",
            Value::Scalar { text, plain } => {
                if !plain {
                    "a string"
                } else if parse_bool(text).is_some() {
                    "a boolean"
                } else if text.parse::<i64>().is_ok() {
                    "an integer"
                } else if text.parse::<f64>().is_ok() {
                    "a number"
                } else {
                    "a string"
                }
            }
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a non-null scalar.
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// Looks a key up in a mapping (first match).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v)
    }
}

/// Booleans as YAML 1.2 writes them, plus YAML 1.1's yes/no/on/off that Keptn's Go reader took.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Maps the parser's character offsets to byte offsets (identity for ASCII files).
struct Offsets {
    bytes: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let bytes = (!text.is_ascii()).then(|| {
            let mut v: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            v.push(text.len());
            v
        });
        Offsets {
            bytes,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.bytes {
            None => char_index.min(self.len),
            Some(v) => v.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

/// The result of reading one file: its first document (if any) and every problem met on the way.
pub struct Parsed {
    pub root: Option<Node>,
    pub problems: Vec<Problem>,
}

enum Frame {
    Seq {
        start: usize,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        start: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Parses `file` into a spanned tree. Syntax errors end the parse (the parser cannot recover);
/// duplicate keys are reported and parsing goes on.
pub fn parse(file: &Arc<SourceFile>) -> Parsed {
    let (roots, problems) = parse_inner(file, false);
    Parsed {
        root: roots.into_iter().next(),
        problems,
    }
}

/// Every document of a `---`-separated stream (Kubernetes-style files of other tools), each a
/// spanned tree into the same file; an empty document is left out.
pub fn parse_documents(file: &Arc<SourceFile>) -> (Vec<Node>, Vec<Problem>) {
    parse_inner(file, true)
}

fn parse_inner(file: &Arc<SourceFile>, multi: bool) -> (Vec<Node>, Vec<Problem>) {
    let offsets = Offsets::new(&file.text);
    let mut problems = Vec::new();
    let mut parser = Parser::new_from_str(&file.text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut roots: Vec<Node> = Vec::new();
    let mut nodes = 0usize;
    let mut documents = 0usize;

    let origin = |span: &Span| -> Origin {
        let s = offsets.byte(span.start.index());
        let e = offsets.byte(span.end.index()).max(s);
        Origin::new(file, s..e)
    };

    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(err)) => {
                let at = offsets.byte(err.marker().index());
                let end = file.text[at..]
                    .chars()
                    .next()
                    .map(|c| at + c.len_utf8())
                    .unwrap_or(at);
                problems.push(syntax_problem(file, at..end, err.info()));
                return (Vec::new(), problems);
            }
        };
        // Values added by this event: one, or a whole subtree for an alias.
        let mut added = 1usize;
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => continue,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 && !multi {
                    let o = origin(&span);
                    problems.push(
                        Problem::error(
                            "slogate::yaml-multiple-documents",
                            &o,
                            "this file holds more than one YAML document",
                        )
                        .label("a second document starts here")
                        .help("keep one document per file: remove this `---` and what follows, or move it into its own file"),
                    );
                    break;
                }
                continue;
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    problems.push(
                        Problem::error(
                            "slogate::yaml-too-deep",
                            &origin(&span),
                            format!("nesting deeper than {MAX_DEPTH} levels"),
                        )
                        .label("too deep")
                        .help(
                            "SLO files need only a few levels of nesting; flatten this structure",
                        ),
                    );
                    return (Vec::new(), problems);
                }
                let start = offsets.byte(span.start.index());
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        start,
                        anchor,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        start,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                    }
                });
                continue;
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq {
                    start,
                    anchor,
                    items,
                }) = stack.pop()
                else {
                    continue;
                };
                let end = items
                    .last()
                    .map(|n| n.origin.span.end)
                    .unwrap_or_else(|| offsets.byte(span.end.index()))
                    .max(start);
                let node = Node {
                    value: Value::Seq(items),
                    origin: Origin::new(file, start..end),
                };
                remember(&mut anchors, anchor, &node);
                node
            }
            Event::MappingEnd => {
                let Some(Frame::Map {
                    start,
                    anchor,
                    entries,
                    ..
                }) = stack.pop()
                else {
                    continue;
                };
                check_duplicate_keys(&entries, &mut problems);
                let end = entries
                    .last()
                    .map(|(_, v)| v.origin.span.end)
                    .unwrap_or_else(|| offsets.byte(span.end.index()))
                    .max(start);
                let node = Node {
                    value: Value::Map(entries),
                    origin: Origin::new(file, start..end),
                };
                remember(&mut anchors, anchor, &node);
                node
            }
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node {
                    value: Value::Scalar {
                        text: text.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    origin: origin(&span),
                };
                remember(&mut anchors, anchor, &node);
                node
            }
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    problems.push(
                        Problem::error(
                            "slogate::yaml-syntax",
                            &origin(&span),
                            "alias to an unknown anchor",
                        )
                        .help("define the anchor (`&name`) before using it (`*name`)"),
                    );
                    return (Vec::new(), problems);
                };
                // The copy keeps the anchor's spans: errors inside point at the original text.
                let mut copy = target.clone();
                copy.origin = origin(&span);
                added = count(&copy);
                copy
            }
        };
        nodes += added;
        if nodes > MAX_NODES {
            problems.push(
                Problem::error(
                    "slogate::yaml-too-large",
                    &node.origin,
                    format!("the document expands to more than {MAX_NODES} values"),
                )
                .label("expansion passes the limit here")
                .help("aliases (`*name`) that repeat large anchors multiply the document; write the values out or remove the aliases"),
            );
            return (Vec::new(), problems);
        }
        match stack.last_mut() {
            None => roots.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    (roots, problems)
}

fn remember(anchors: &mut HashMap<usize, Node>, anchor: usize, node: &Node) {
    if anchor != 0 {
        anchors.insert(anchor, node.clone());
    }
}

/// Counts the values in a subtree, aliases included; bounded because a subtree never exceeds
/// the budget that was checked when it was built.
fn count(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
}

/// Each key after the first of its name is reported; one pass with a map of first places, so a
/// mapping of 50 000 keys costs no more than reading it.
fn check_duplicate_keys(entries: &[(Node, Node)], problems: &mut Vec<Problem>) {
    let mut firsts: std::collections::HashMap<&str, &Node> =
        std::collections::HashMap::with_capacity(entries.len());
    for (key, _) in entries {
        let Some(name) = key.as_scalar() else {
            continue;
        };
        let first = *firsts.entry(name).or_insert(key);
        if !std::ptr::eq(first, key) {
            problems.push(
                Problem::error(
                    "slogate::duplicate-key",
                    &key.origin,
                    format!("duplicate key `{name}`"),
                )
                .label("defined again here")
                .note(&first.origin, "first defined here")
                .help(format!(
                    "a mapping may hold `{name}` once; remove one of the two or merge their values"
                )),
            );
        }
    }
}

/// The offset of the first tab in the leading whitespace of up to `lines` lines from `line_start`.
fn indent_tab(text: &str, line_start: usize, lines: usize) -> Option<usize> {
    let mut start = line_start;
    for line in text[line_start..].split_inclusive('\n').take(lines) {
        let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(i) = line[..lead].find('\t') {
            return Some(start + i);
        }
        start += line.len();
    }
    None
}

fn syntax_problem(file: &Arc<SourceFile>, span: std::ops::Range<usize>, info: &str) -> Problem {
    let origin = Origin::new(file, span.clone());
    let line_start = file.text[..span.start]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    // The tab in the indentation of this line or, when the parser stopped at the end of the
    // previous token ("found a tab"), of one of the next lines.
    let lines_to_scan = if info.contains("tab") { 3 } else { 1 };
    let indent_tab = indent_tab(&file.text, line_start, lines_to_scan);
    let tab_in_indent = indent_tab.is_some() || file.text[span.start..].starts_with('\t');
    let unclosed = unclosed_bracket(&file.text[..span.start]);
    let help = if tab_in_indent {
        "YAML does not allow tab characters for indentation; indent with spaces".to_string()
    } else if let Some((open, at)) = unclosed {
        let (line, _) = file.line_col(at);
        let close = if open == '[' { ']' } else { '}' };
        format!(
            "the `{open}` opened on line {line} is not closed; add `{close}` where the list or mapping ends"
        )
    } else if info.contains("mapping values are not allowed") {
        "a value that contains `: ` must be quoted, e.g. `key: \"a: b\"`; or check the indentation of this line".to_string()
    } else if info.contains("did not find expected") || info.contains("while parsing") {
        "check the indentation and that every `[`, `{` and quote is closed".to_string()
    } else {
        "fix the YAML syntax at this position".to_string()
    };
    // Point at the tab itself rather than where the parser noticed it.
    let origin = match indent_tab {
        Some(at) => Origin::new(file, at..at + 1),
        None if tab_in_indent => Origin::new(file, span.start..span.start + 1),
        None => origin,
    };
    let p = Problem::error(
        "slogate::yaml-syntax",
        &origin,
        format!("invalid YAML: {info}"),
    )
    .label(if tab_in_indent {
        "tab character"
    } else {
        "here"
    })
    .help(help);
    match unclosed {
        Some((open, at)) => p.note(
            &Origin::new(file, at..at + 1),
            format!("`{open}` opened here"),
        ),
        None => p,
    }
}

/// The innermost `[` or `{` left open in `text` (outside quotes and comments), with its offset.
fn unclosed_bracket(text: &str) -> Option<(char, usize)> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut prev = '\n';
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if comment {
            comment = c != '\n';
        } else if let Some(q) = quote {
            if q == '"' && c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                '#' if prev.is_whitespace() => comment = true,
                '"' | '\'' if prev.is_whitespace() || matches!(prev, '[' | '{' | ',' | ':') => {
                    quote = Some(c)
                }
                '[' | '{' => stack.push((c, i)),
                ']' | '}' => {
                    stack.pop();
                }
                _ => {}
            }
        }
        prev = c;
    }
    stack.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Parsed {
        parse(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn spans_point_at_values() {
        let p = parse_str("a: 1\nb:\n  - x\n  - \"y z\"\n");
        assert!(p.problems.is_empty());
        let root = p.root.unwrap();
        let b = root.get("b").unwrap().as_seq().unwrap();
        assert_eq!(b[0].origin.snippet(), "x");
        assert_eq!(b[1].origin.snippet(), "\"y z\"");
        assert_eq!(b[1].origin.location(), "t.yaml:4:5");
    }

    #[test]
    fn spans_are_bytes_in_non_ascii_files() {
        let p = parse_str("name: \"äöü\"\nnext: value\n");
        let root = p.root.unwrap();
        assert_eq!(root.get("next").unwrap().origin.snippet(), "value");
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_places() {
        let p = parse_str("a: 1\nb: 2\na: 3\n");
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].code, "slogate::duplicate-key");
        assert_eq!(p.problems[0].line_col(), Some((3, 1)));
        assert_eq!(p.problems[0].notes[0].origin.location(), "t.yaml:1:1");
    }

    #[test]
    fn every_repeat_points_at_the_first_place() {
        let p = parse_str("a: 1\nb: 2\na: 3\nb: 4\na: 5\n");
        let found: Vec<(String, String)> = p
            .problems
            .iter()
            .map(|p| {
                (
                    p.origin.as_ref().map(|o| o.location()).unwrap_or_default(),
                    p.notes[0].origin.location(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("t.yaml:3:1".to_string(), "t.yaml:1:1".to_string()),
                ("t.yaml:4:1".to_string(), "t.yaml:2:1".to_string()),
                ("t.yaml:5:1".to_string(), "t.yaml:1:1".to_string()),
            ]
        );
    }

    #[test]
    fn tabs_get_a_helpful_message() {
        let p = parse_str("a:\n\t- b\n");
        assert!(p.root.is_none());
        assert!(p.problems[0].help.as_deref().unwrap().contains("tab"));
    }

    #[test]
    fn a_tab_in_indentation_is_reported_where_it_is() {
        for (text, at) in [
            ("a:\n\t- b\n", (2, 1)),
            ("a:\n  - b: c\n  \td: e\n", (3, 3)),
            ("a:\n  - b: c\n    d:\n\t- e\n", (4, 1)),
            ("a:\n  b: [\n\t\"x\"]\n", (3, 1)),
        ] {
            let p = parse_str(text);
            let tab = p
                .problems
                .iter()
                .find(|p| p.code == "slogate::yaml-syntax")
                .unwrap_or_else(|| panic!("{text:?}: {:?}", p.problems));
            assert_eq!(tab.line_col(), Some(at), "{text:?}: {}", tab.message);
            assert_eq!(tab.label, "tab character", "{text:?}");
        }
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let p = parse_str(&text);
        assert!(p.root.is_none());
        assert_eq!(p.problems[0].code, "slogate::yaml-too-large");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(10_000);
        let p = parse_str(&text);
        assert!(p.root.is_none());
        assert!(!p.problems.is_empty());
    }

    #[test]
    fn empty_and_comment_only_files_have_no_root() {
        assert!(parse_str("").root.is_none());
        assert!(parse_str("# nothing\n").root.is_none());
    }

    #[test]
    fn second_document_is_an_error() {
        let p = parse_str("a: 1\n---\nb: 2\n");
        assert_eq!(p.problems[0].code, "slogate::yaml-multiple-documents");
    }

    #[test]
    fn nulls_and_kinds() {
        let root = parse_str("a: ~\nb:\nc: 'null'\nd: 1.5\ne: yes\n")
            .root
            .unwrap();
        assert!(root.get("a").unwrap().is_null());
        assert!(root.get("b").unwrap().is_null());
        assert!(!root.get("c").unwrap().is_null());
        assert_eq!(root.get("d").unwrap().kind_name(), "a number");
        assert_eq!(root.get("e").unwrap().kind_name(), "a boolean");
    }
}
