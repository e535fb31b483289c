//! Keptn's `prometheus/sli.yaml`, read as prometheus-service 0.9.1 read it (reference §1):
//! `indicators` is a map of name to PromQL text; numbers are taken as written, null is the empty
//! text (which falls back to a built-in SLI); other keys are ignored; a name written twice keeps
//! its later value. Levels merge key by key, and the first file found must define indicators.
//!
//! Pure: the caller reads the files ([`crate::model::load::read_text`]).

use std::path::Path;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::diag::{Problem, Severity, SourceFile, Sourced};
use crate::model::load::{self, Loaded};
use crate::model::read::Reader;
use crate::model::sli::{Indicator, SLI_KEYS};
use crate::model::yaml::{self, Node, Value};

/// Where the file sits in each level folder.
pub const FILE: &str = "prometheus/sli.yaml";

const EXAMPLE: &str = "`indicators: {throughput: \"sum(rate(http_requests_total{job='$SERVICE'}[$DURATION_SECONDS]))\"}`";

/// One `prometheus/sli.yaml`.
#[derive(Clone, Debug, Default)]
pub struct PromSli {
    /// `None` when the file has no `indicators` (or null).
    pub indicators: Option<Vec<Indicator>>,
}

/// Reads `dir/prometheus/sli.yaml` if it exists.
pub fn load(dir: &Path) -> Option<Result<Loaded<PromSli>, Problem>> {
    let path = dir.join(FILE);
    if !path.is_file() {
        return None;
    }
    Some(load::read_text(&path).map(|(file, problems)| parse(file, problems)))
}

/// Parses the text of one file.
pub fn parse(file: Arc<SourceFile>, mut problems: Vec<Problem>) -> Loaded<PromSli> {
    if problems.iter().any(Problem::is_error) {
        return Loaded {
            value: PromSli::default(),
            file,
            problems,
            complete: false,
        };
    }
    let parsed = yaml::parse(&file);
    let syntax_failed = parsed.root.is_none() && parsed.problems.iter().any(Problem::is_error);
    let mut r = Reader::default();
    let value = match parsed.root.as_ref() {
        Some(root) if !syntax_failed => read(root, &mut r),
        _ => PromSli::default(),
    };
    // prometheus-service's YAML reader kept the later of two equal names: a warning, not an
    // error, inside `indicators`.
    let inside = parsed
        .root
        .as_ref()
        .and_then(|root| root.get("indicators"))
        .map(|n| n.origin.span.clone());
    for mut p in parsed.problems {
        let in_indicators = inside
            .as_ref()
            .zip(p.origin.as_ref())
            .is_some_and(|(s, o)| s.start <= o.span.start && o.span.end <= s.end);
        if p.code == "slogate::duplicate-key" && in_indicators {
            p.severity = Severity::Warning;
            p = p
                .label("this later definition is the one used, as prometheus-service did")
                .help("remove one of the two definitions");
        }
        problems.push(p);
    }
    problems.extend(r.problems);
    Loaded {
        value,
        file,
        problems,
        complete: !syntax_failed,
    }
}

fn read(root: &Node, r: &mut Reader) -> PromSli {
    let mut out = PromSli::default();
    let Some(f) = r.fields(root, "prometheus/sli.yaml", SLI_KEYS, EXAMPLE) else {
        return out;
    };
    let Some(n) = f.get("indicators") else {
        return out;
    };
    let Some(entries) = n.as_map() else {
        r.type_error(n, "indicators", "a mapping of name to PromQL", EXAMPLE);
        return out;
    };
    let mut list: Vec<Indicator> = Vec::new();
    for (k, v) in entries {
        let Some(name) = r.string(k, "an indicator name", EXAMPLE) else {
            continue;
        };
        let query = match &v.value {
            _ if v.is_null() => Sourced::new(String::new(), v.origin.clone()),
            Value::Scalar { text, .. } => Sourced::new(text.clone(), v.origin.clone()),
            _ => {
                r.type_error(
                    v,
                    &format!("indicator `{}`", name.value),
                    "a PromQL query as text",
                    EXAMPLE,
                );
                continue;
            }
        };
        // A later equal name replaces the earlier one in its place.
        match list.iter_mut().find(|i| i.name.value == name.value) {
            Some(i) => i.query = query,
            None => list.push(Indicator { name, query }),
        }
    }
    out.indicators = Some(list);
    out
}

/// The files of a chain of levels merged key by key (later wins). prometheus-service stopped
/// before any query when the merged map was still empty after a file: that file is an error.
pub fn merge<'a>(
    files: impl IntoIterator<Item = &'a Loaded<PromSli>>,
) -> Result<IndexMap<String, Indicator>, Problem> {
    let mut merged: IndexMap<String, Indicator> = IndexMap::new();
    for f in files {
        for i in f.value.indicators.iter().flatten() {
            merged.insert(i.name.value.clone(), i.clone());
        }
        if merged.is_empty() {
            return Err(Problem::file(
                "slogate::missing-indicators",
                &f.file.name,
                "this prometheus/sli.yaml defines no `indicators`, and no less specific level did",
            )
            .help(format!(
                "prometheus-service stopped the whole evaluation on such a file; add {EXAMPLE}"
            )));
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> Loaded<PromSli> {
        parse(SourceFile::new(name, text), vec![])
    }

    fn queries(m: &IndexMap<String, Indicator>) -> Vec<(&str, &str)> {
        m.iter()
            .map(|(k, v)| (k.as_str(), v.query.value.as_str()))
            .collect()
    }

    #[test]
    fn reads_like_yaml_v2() {
        let f = file(
            "prometheus/sli.yaml",
            "spec_version: '1.0'\nother: ignored\nindicators:\n  a: sum(up)\n  n: 42\n  e:\n  a: max(up)\n",
        );
        assert!(
            !f.problems.iter().any(Problem::is_error),
            "{:?}",
            f.problems
        );
        assert!(
            f.problems
                .iter()
                .any(|p| p.code == "slogate::duplicate-key" && !p.is_error())
        );
        let m = merge([&f]).unwrap();
        assert_eq!(queries(&m), [("a", "max(up)"), ("n", "42"), ("e", "")]);
    }

    #[test]
    fn levels_merge_key_by_key() {
        let p = file("prometheus/sli.yaml", "indicators:\n  a: p-a\n  b: p-b\n");
        let s = file(
            "st/prometheus/sli.yaml",
            "indicators:\n  b: s-b\n  c: s-c\n",
        );
        let v = file("st/sv/prometheus/sli.yaml", "spec_version: '1.0'\n");
        let m = merge([&p, &s, &v]).unwrap();
        assert_eq!(queries(&m), [("a", "p-a"), ("b", "s-b"), ("c", "s-c")]);
        assert_eq!(m["b"].query.origin.location(), "st/prometheus/sli.yaml:2:6");
    }

    #[test]
    fn a_first_file_without_indicators_stops_everything() {
        let p = file("prometheus/sli.yaml", "spec_version: '1.0'\n");
        let s = file("st/prometheus/sli.yaml", "indicators:\n  b: s-b\n");
        let e = merge([&p, &s]).unwrap_err();
        assert_eq!(e.file_name, "prometheus/sli.yaml");
        assert!(e.message.contains("no `indicators`"), "{}", e.message);
    }

    #[test]
    fn a_list_of_indicators_is_an_error_with_its_line() {
        let f = file("prometheus/sli.yaml", "indicators:\n  - a: sum(up)\n");
        let e = f.problems.iter().find(|p| p.is_error()).expect("an error");
        assert_eq!(
            e.origin.as_ref().unwrap().location(),
            "prometheus/sli.yaml:2:3"
        );
    }
}
