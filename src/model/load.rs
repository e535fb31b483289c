//! Reading input files from disk: size cap, UTF-8 check, then the pure parse.
//!
//! This is the only part of `spec` that touches the file system.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use crate::diag::{Origin, Problem, Severity, SourceFile};
use crate::model::read::Reader;
use crate::model::{settings, sli, slo, yaml};

/// Larger files are refused: real SLO files are a few kilobytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Reads a file as text. Problems that prevent reading come back as `Err`; a file that is not
/// UTF-8 is returned lossily with an error pointing at the first bad byte, so it can be shown.
pub fn read_text(path: &Path) -> Result<(Arc<SourceFile>, Vec<Problem>), Problem> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| io_problem(&name, &e))?;
    if meta.is_dir() {
        return Err(Problem::file(
            "slogate::not-a-file",
            &name,
            "this is a directory, not a file",
        )
        .help("pass a file, or the directory as --config"));
    }
    let too_large = |what: String| {
        Problem::file(
            "slogate::file-too-large",
            &name,
            format!("{what}, more than the limit of {MAX_FILE_BYTES} bytes"),
        )
        .help("SLO files are small; check that this is the right file")
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(format!("file is {} bytes", meta.len())));
    }
    // The length on disk is not trusted: /dev/zero, a pipe or a growing file report another one.
    // At most one byte more than the limit is read.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| io_problem(&name, &e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large("the file holds more".into()));
    }
    Ok(text_from_bytes(&name, bytes))
}

/// Pure half of [`read_text`]: strips a UTF-8 BOM, and reports invalid UTF-8 at its position.
pub fn text_from_bytes(name: &str, bytes: Vec<u8>) -> (Arc<SourceFile>, Vec<Problem>) {
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    match String::from_utf8(bytes) {
        Ok(text) => {
            let file = SourceFile::new(name, text);
            let problems = if name.ends_with(".json") {
                Vec::new()
            } else {
                not_printable(&file).into_iter().collect()
            };
            (file, problems)
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let file = SourceFile::new(name, text);
            // The lossy text is identical up to `at`; the replacement char is 3 bytes long.
            let end = (at + 3).min(file.text.len());
            let p = Problem::error(
                "slogate::not-utf8",
                &Origin::new(&file, at..end),
                "the file is not valid UTF-8",
            )
            .label("invalid byte here")
            .help("save the file as UTF-8 (YAML files must be UTF-8)");
            (file, vec![p])
        }
    }
}

/// The first character YAML does not allow in a stream (its `c-printable`: no control
/// characters but tab and line breaks, no DEL, no C1 but NEL, no surrogates or U+FFFE/FFFF),
/// raw ESC in a comment included: strict YAML parsers, Keptn's among them, refuse the file.
fn not_printable(file: &Arc<SourceFile>) -> Option<Problem> {
    let (at, c) = file.text.char_indices().find(|(_, c)| {
        !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    })?;
    Some(
        Problem::error(
            "slogate::control-character",
            &Origin::new(file, at..at + c.len_utf8()),
            format!(
                "the file holds the character U+{:04X}, which YAML does not allow",
                c as u32
            ),
        )
        .label("here")
        .help("remove it; inside a double-quoted string write it as an escape (\\u001b)"),
    )
}

fn io_problem(name: &str, e: &std::io::Error) -> Problem {
    let help = match e.kind() {
        std::io::ErrorKind::NotFound => {
            "check the path; paths are relative to the current directory"
        }
        std::io::ErrorKind::PermissionDenied => "make the file readable for this user",
        _ => "check that the file exists and can be read",
    };
    Problem::file("slogate::io", name, format!("cannot read file: {e}")).help(help)
}

/// A parsed file of one kind, with the problems met while reading it.
pub struct Loaded<T> {
    pub value: T,
    pub file: Arc<SourceFile>,
    pub problems: Vec<Problem>,
    /// Whether the file was read and parsed into a model at all (false after a syntax error,
    /// invalid UTF-8 and the like; unknown keys or wrong types still leave it complete).
    pub complete: bool,
}

impl<T> Loaded<T> {
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }
}

fn parse_with<T>(
    file: Arc<SourceFile>,
    mut problems: Vec<Problem>,
    f: impl FnOnce(&Arc<SourceFile>, Option<&yaml::Node>, &mut Reader) -> T,
    empty: T,
) -> Loaded<T> {
    if problems.iter().any(Problem::is_error) {
        return Loaded {
            value: empty,
            file,
            problems,
            complete: false,
        };
    }
    let parsed = yaml::parse(&file);
    problems.extend(parsed.problems);
    let syntax_failed = parsed.root.is_none() && problems.iter().any(Problem::is_error);
    let mut r = Reader::default();
    let value = if syntax_failed {
        empty
    } else {
        f(&file, parsed.root.as_ref(), &mut r)
    };
    problems.extend(r.problems);
    Loaded {
        value,
        file,
        problems,
        complete: !syntax_failed,
    }
}

pub fn parse_slo(file: Arc<SourceFile>, problems: Vec<Problem>) -> Loaded<slo::Slo> {
    let empty = slo::Slo {
        file: Some(Arc::clone(&file)),
        ..Default::default()
    };
    parse_with(file, problems, slo::read, empty)
}

pub fn parse_sli(file: Arc<SourceFile>, problems: Vec<Problem>) -> Loaded<sli::Sli> {
    parse_with(file, problems, sli::read, sli::Sli::default())
}

pub fn parse_settings(file: Arc<SourceFile>, problems: Vec<Problem>) -> Loaded<settings::Settings> {
    let mut loaded = parse_with(
        file,
        problems,
        settings::read,
        settings::Settings::default(),
    );
    // slogate.yaml is slogate's own file, not one Keptn read: every unknown key is an error.
    for p in &mut loaded.problems {
        if p.code == UNKNOWN_KEY {
            p.severity = Severity::Error;
        }
    }
    loaded
}

const UNKNOWN_KEY: &str = "slogate::unknown-key";

/// A problem as `score`, `eval` and `gate` see it in Keptn's files (sli.yaml, slo.yaml): an
/// unknown key, which Keptn ignored, is a warning that does not stop the evaluation, even
/// where `lint` calls it an error (a near miss of a known key).
pub fn keptn_reading(mut p: Problem) -> Problem {
    if p.code == UNKNOWN_KEY {
        p.severity = Severity::Warning;
        p = p.label("ignored, as Keptn did");
    }
    p
}

/// Reads and parses an slo.yaml from disk.
pub fn slo_file(path: &Path) -> Result<Loaded<slo::Slo>, Problem> {
    let (file, problems) = read_text(path)?;
    Ok(parse_slo(file, problems))
}

pub fn sli_file(path: &Path) -> Result<Loaded<sli::Sli>, Problem> {
    let (file, problems) = read_text(path)?;
    Ok(parse_sli(file, problems))
}

pub fn settings_file(path: &Path) -> Result<Loaded<settings::Settings>, Problem> {
    let (file, problems) = read_text(path)?;
    Ok(parse_settings(file, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_yaml_does_not_allow_are_an_error_where_they_are() {
        let (_, p) = text_from_bytes("slo.yaml", b"a: 1\n# x \x1b[2J\n".to_vec());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, "slogate::control-character");
        assert_eq!(p[0].line_col(), Some((2, 5)));
        for fine in ["a: \"\\u001b\"\t# tab\r\n", "name: caf\u{e9} \u{1F600}\n"] {
            assert!(
                text_from_bytes("slo.yaml", fine.as_bytes().to_vec())
                    .1
                    .is_empty(),
                "{fine:?}"
            );
        }
        // JSON files have their own rules (a DEL is fine there).
        assert!(
            text_from_bytes("d.json", b"{\"a\": \"\x7f\"}".to_vec())
                .1
                .is_empty()
        );
    }
}
