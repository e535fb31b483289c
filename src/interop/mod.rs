//! Objectives kept in other tools' formats ↔ Keptn `sli.yaml`/`slo.yaml` (docs/interop.md).
//!
//! Each format reads its documents into one neutral [`Model`] (what Keptn files can hold) and
//! writes a model back where the format can hold it. Whatever does not survive a conversion is a
//! [`Loss`]: where it was written, what was left out, and why; the commands list every loss and
//! refuse with `--strict`. Pure: texts in, texts out; the command reads and writes the files.

pub mod guardian;
pub mod keptn;
pub mod klt;
pub mod openslo;
pub mod sloth;

use crate::diag::{Origin, Problem};

/// Where an indicator is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Dynatrace,
    Prometheus,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Dynatrace => "dynatrace",
            Source::Prometheus => "prometheus",
        }
    }
}

/// One SLI: its name, source and query (in that source's `sli.yaml` syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indicator {
    pub name: String,
    pub source: Source,
    pub query: String,
}

/// One Keptn objective. `pass`/`warning` are criteria lists (OR of ANDs), as in slo.yaml.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objective {
    pub sli: String,
    pub display_name: Option<String>,
    pub key_sli: bool,
    pub weight: Option<i64>,
    pub pass: Vec<Vec<String>>,
    pub warning: Vec<Vec<String>>,
    /// Written as comments above the objective (what another format said that Keptn files
    /// cannot hold as values). Not part of the objective's meaning.
    pub comments: Vec<String>,
}

/// What Keptn files can hold: SLIs, objectives and the total score.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    pub indicators: Vec<Indicator>,
    pub objectives: Vec<Objective>,
    pub total_pass: Option<String>,
    pub total_warning: Option<String>,
}

impl Model {
    /// The model without comments: what round trips compare.
    pub fn meaning(&self) -> Model {
        let mut m = self.clone();
        for o in &mut m.objectives {
            o.comments.clear();
        }
        m.indicators.sort_by(|a, b| a.name.cmp(&b.name));
        m
    }

    pub fn indicator(&self, name: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.name == name)
    }
}

/// Gives every SLI that no objective uses an informational objective (no criteria): Keptn files
/// need at least one objective, and an informational one reports the value without scoring it.
pub fn informational(model: &mut Model) {
    for i in &model.indicators {
        if !model.objectives.iter().any(|o| o.sli == i.name) {
            model.objectives.push(Objective {
                sli: i.name.clone(),
                comments: vec![
                    "informational: no objective in the files converted gives this SLI a target"
                        .into(),
                ],
                ..Objective::default()
            });
        }
    }
}

/// Something a conversion left out.
#[derive(Clone, Debug)]
pub struct Loss {
    pub origin: Origin,
    pub what: String,
    pub why: String,
}

impl Loss {
    pub fn new(origin: &Origin, what: impl Into<String>, why: impl Into<String>) -> Loss {
        Loss {
            origin: origin.clone(),
            what: what.into(),
            why: why.into(),
        }
    }

    /// As a diagnostic (warning `not-converted`) at its place.
    pub fn problem(&self) -> Problem {
        Problem::warning("slogate::not-converted", &self.origin, self.what.clone())
            .label("not converted")
            .help(self.why.clone())
    }
}

/// A document that cannot be converted at all, with the reason (an error).
pub fn refused(origin: &Origin, message: impl Into<String>, help: impl Into<String>) -> Problem {
    Problem::error("slogate::cannot-convert", origin, message.into())
        .label("cannot convert")
        .help(help.into())
}

/// The result of reading a foreign format.
#[derive(Debug, Default)]
pub struct Imported {
    pub model: Model,
    pub losses: Vec<Loss>,
    /// Documents refused, and syntax errors.
    pub problems: Vec<Problem>,
}

/// A foreign text written from a model.
#[derive(Debug, Default)]
pub struct Exported {
    pub text: String,
    pub losses: Vec<Loss>,
}

/// A string as a YAML scalar: JSON's quoting is valid YAML, and the guard keeps command markers
/// out of the file.
pub fn scalar(s: &str) -> String {
    crate::report::sanitize::guard(&serde_json::to_string(s).unwrap_or_default()).into_owned()
}

/// A name other tools accept (DNS label: lower case, digits, `-`, at most 63).
pub fn dns_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out = out.trim_matches('-').to_string();
    out.truncate(63);
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "sli".into() } else { out }
}

/// A number as criteria and YAML write it: `98`, `99.5`, never `98.0`.
pub fn number(v: f64) -> String {
    let r = (v * 1e9).round() / 1e9;
    if r == r.trunc() && r.abs() < 1e15 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

/// An absolute criterion `op value`; `None` for a relative one (`+10%`, `-5`, `10%`).
pub fn absolute(criterion: &str) -> Option<(crate::model::criteria::Operator, f64)> {
    use crate::model::criteria::Target;
    let c = crate::model::criteria::Criterion::parse(criterion).ok()?;
    match c.target {
        Target::Absolute(v) => Some((c.op, v)),
        Target::Relative { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_criteria() {
        assert_eq!(dns_name("response_time_p95"), "response-time-p95");
        assert_eq!(dns_name("__"), "sli");
        assert_eq!(number(98.0), "98");
        assert_eq!(number(0.98 * 100.0), "98");
        assert_eq!(number(99.95), "99.95");
        assert!(absolute("<=600").is_some());
        assert!(absolute("<=+10%").is_none());
        assert!(absolute("<-5").is_none());
        assert_eq!(scalar("a\"b"), "\"a\\\"b\"");
    }
}
