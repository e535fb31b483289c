//! `slo.yaml`: Keptn's objectives file, read with the span of every value.
//!
//! Values are kept as the user wrote them (strings stay strings) so that the evaluation can apply
//! Keptn's defaults and quirks itself and lint can point at the exact text.

use std::sync::Arc;

use crate::diag::{Origin, Problem, SourceFile, Sourced};
use crate::model::read::{Fields, Reader};
use crate::model::yaml::Node;

pub const SLO_KEYS: &[&str] = &[
    "spec_version",
    "filter",
    "comparison",
    "objectives",
    "total_score",
];
pub const COMPARISON_KEYS: &[&str] = &[
    "compare_with",
    "include_result_with_score",
    "number_of_comparison_results",
    "aggregate_function",
];
pub const OBJECTIVE_KEYS: &[&str] = &["sli", "displayName", "key_sli", "weight", "pass", "warning"];
pub const CRITERIA_KEYS: &[&str] = &["criteria"];
pub const TOTAL_SCORE_KEYS: &[&str] = &["pass", "warning"];

pub const COMPARE_WITH_VALUES: &[&str] = &["single_result", "several_results"];
pub const INCLUDE_RESULT_VALUES: &[&str] = &["all", "pass", "pass_or_warn"];
pub const AGGREGATE_FUNCTIONS: &[&str] = &["avg", "p50", "p90", "p95"];

#[derive(Clone, Debug, Default)]
pub struct Slo {
    pub spec_version: Option<Sourced<String>>,
    pub filter: Vec<(Sourced<String>, Sourced<String>)>,
    pub comparison: Option<Comparison>,
    pub objectives: Vec<Objective>,
    pub total_score: Option<TotalScore>,
    /// The file this SLO came from (the most specific one after a merge).
    pub file: Option<Arc<SourceFile>>,
    /// Where a problem of the file as a whole is shown: the `objectives:` key if written, else
    /// the first key of the file (never a comment above it).
    pub anchor: Option<Origin>,
}

impl Slo {
    /// The place to point at for problems of the SLO as a whole.
    pub fn anchor(&self) -> Option<Origin> {
        self.anchor
            .clone()
            .or_else(|| self.file.as_ref().map(|f| Origin::new(f, 0..0)))
    }
}

/// The `comparison:` block as written; [`Comparison::effective`] applies Keptn's defaults.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub compare_with: Option<Sourced<String>>,
    pub include_result_with_score: Option<Sourced<String>>,
    pub number_of_comparison_results: Option<Sourced<i64>>,
    pub aggregate_function: Option<Sourced<String>>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct Objective {
    pub sli: Sourced<String>,
    pub display_name: Option<Sourced<String>>,
    pub key_sli: Option<Sourced<bool>>,
    pub weight: Option<Sourced<i64>>,
    pub pass: Vec<Group>,
    pub warning: Vec<Group>,
    pub origin: Origin,
}

/// One `criteria:` list: all of its criteria must hold (AND).
#[derive(Clone, Debug)]
pub struct Group {
    pub criteria: Vec<Sourced<String>>,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct TotalScore {
    pub pass: Option<Sourced<String>>,
    pub warning: Option<Sourced<String>>,
    pub origin: Origin,
}

/// The comparison settings after Keptn's defaults (reference §1 and §8).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct EffectiveComparison {
    pub compare_with: String,
    pub include_result_with_score: String,
    pub number_of_comparison_results: i64,
    pub aggregate_function: String,
}

impl EffectiveComparison {
    /// How many previous evaluations are read: 1 for `single_result`, the configured number for
    /// `several_results`, 3 for anything else (a block without `compare_with` included).
    pub fn previous_count(&self) -> usize {
        match self.compare_with.as_str() {
            "single_result" => 1,
            "several_results" => usize::try_from(self.number_of_comparison_results).unwrap_or(0),
            _ => 3,
        }
    }
}

impl Slo {
    pub fn effective_comparison(&self) -> EffectiveComparison {
        match &self.comparison {
            None => EffectiveComparison {
                compare_with: "single_result".into(),
                include_result_with_score: "all".into(),
                number_of_comparison_results: 1,
                aggregate_function: "avg".into(),
            },
            Some(c) => EffectiveComparison {
                // Keptn never defaults compare_with.
                compare_with: c
                    .compare_with
                    .as_ref()
                    .map(|s| s.value.clone())
                    .unwrap_or_default(),
                include_result_with_score: c
                    .include_result_with_score
                    .as_ref()
                    .map(|s| s.value.to_lowercase())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "all".into()),
                number_of_comparison_results: c
                    .number_of_comparison_results
                    .as_ref()
                    .map(|s| s.value)
                    .filter(|n| *n != 0)
                    .unwrap_or(3),
                aggregate_function: c
                    .aggregate_function
                    .as_ref()
                    .map(|s| s.value.clone())
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "avg".into()),
            },
        }
    }
}

impl Objective {
    /// Keptn: a weight of 0 or none counts as 1.
    pub fn effective_weight(&self) -> i64 {
        match self.weight.as_ref().map(|w| w.value) {
            None | Some(0) => 1,
            Some(w) => w,
        }
    }

    pub fn is_key(&self) -> bool {
        self.key_sli.as_ref().is_some_and(|k| k.value)
    }

    pub fn display_name(&self) -> &str {
        self.display_name
            .as_ref()
            .map(|d| d.value.as_str())
            .unwrap_or("")
    }

    /// The name used in messages: the display name, else the SLI.
    pub fn label(&self) -> &str {
        match self.display_name() {
            "" => &self.sli.value,
            d => d,
        }
    }
}

const EXAMPLE_OBJECTIVE: &str =
    "`objectives: [{sli: response_time_p95, pass: [{criteria: [\"<600\"]}]}]`";

/// Reads an `slo.yaml` tree. `root` is `None` for an empty file.
pub fn read(file: &Arc<SourceFile>, root: Option<&Node>, r: &mut Reader) -> Slo {
    let mut slo = Slo {
        file: Some(Arc::clone(file)),
        ..Slo::default()
    };
    let Some(root) = root else {
        r.push(
            Problem::error("slogate::empty-file", &Origin::new(file, 0..0), "the SLO file is empty")
                .help(format!("an slo.yaml needs at least {EXAMPLE_OBJECTIVE} and `total_score: {{pass: \"90%\"}}`")),
        );
        return slo;
    };
    let Some(f) = r.fields(
        root,
        "slo.yaml",
        SLO_KEYS,
        "`spec_version: \"1.0\"` followed by `objectives:`",
    ) else {
        return slo;
    };
    slo.anchor = f
        .key_node("objectives")
        .or_else(|| root.as_map().and_then(|m| m.first()).map(|(k, _)| k))
        .map(|k| k.origin.clone());
    if let Some(n) = f.get("spec_version") {
        slo.spec_version = r.string(n, "spec_version", "`spec_version: \"1.0\"`");
    }
    if let Some(n) = f.get("filter")
        && let Some(ff) = n.as_map()
    {
        for (k, v) in ff {
            let key = r.string(k, "filter key", "`filter: {handler: \"ItemsController\"}`");
            let val = if v.is_null() {
                Some(Sourced::new(String::new(), v.origin.clone()))
            } else {
                r.string(
                    v,
                    "filter value",
                    "`filter: {handler: \"ItemsController\"}`",
                )
            };
            if let (Some(k), Some(v)) = (key, val) {
                slo.filter.push((k, v));
            }
        }
    } else if let Some(n) = f.get("filter") {
        r.type_error(
            n,
            "filter",
            "a mapping",
            "`filter: {handler: \"ItemsController\"}`",
        );
    }
    if let Some(n) = f.get("comparison") {
        slo.comparison = read_comparison(n, r);
    } else if f.has("comparison") {
        // `comparison:` with nothing after it is a present but empty block for Keptn's Go reader?
        // No: a null pointer stays nil, so Keptn's no-block defaults apply. Nothing to do.
    }
    if let Some(n) = f.get("objectives") {
        for item in r.list(n, "objectives", EXAMPLE_OBJECTIVE) {
            if item.is_null() {
                // Keptn drops null objectives; say so, since it is usually a stray `-`.
                r.push(
                    Problem::warning(
                        "slogate::null-objective",
                        &item.origin,
                        "empty objective is ignored",
                    )
                    .label("nothing here")
                    .help("remove this `-` or write an objective under it"),
                );
                continue;
            }
            if let Some(o) = read_objective(item, r) {
                slo.objectives.push(o);
            }
        }
    }
    if let Some(n) = f.get("total_score") {
        slo.total_score = read_total_score(n, r);
    }
    slo
}

fn read_comparison(n: &Node, r: &mut Reader) -> Option<Comparison> {
    let f = r.fields(
        n,
        "comparison",
        COMPARISON_KEYS,
        "`comparison: {compare_with: single_result, aggregate_function: avg}`",
    )?;
    let s = |r: &mut Reader, f: &Fields, key: &str, ex: &str| {
        f.get(key).and_then(|v| r.string(v, key, ex))
    };
    Some(Comparison {
        compare_with: s(r, &f, "compare_with", "`compare_with: several_results`"),
        include_result_with_score: s(
            r,
            &f,
            "include_result_with_score",
            "`include_result_with_score: pass`",
        ),
        number_of_comparison_results: f.get("number_of_comparison_results").and_then(|v| {
            r.integer(
                v,
                "number_of_comparison_results",
                "`number_of_comparison_results: 3`",
            )
        }),
        aggregate_function: s(r, &f, "aggregate_function", "`aggregate_function: avg`"),
        origin: n.origin.clone(),
    })
}

fn read_objective(n: &Node, r: &mut Reader) -> Option<Objective> {
    let f = r.fields(n, "an objective", OBJECTIVE_KEYS, EXAMPLE_OBJECTIVE)?;
    let sli = match f.get("sli") {
        Some(v) => r.string(v, "sli", "`sli: response_time_p95`")?,
        None => {
            r.push(
                Problem::error(
                    "slogate::missing-sli",
                    &n.origin,
                    "this objective names no `sli`",
                )
                .label("objective without `sli`")
                .help("add `sli: <name>` naming an indicator of sli.yaml"),
            );
            return None;
        }
    };
    Some(Objective {
        sli,
        display_name: f
            .get("displayName")
            .and_then(|v| r.string(v, "displayName", "`displayName: \"Response time P95\"`")),
        key_sli: f.get("key_sli").and_then(|v| r.boolean(v, "key_sli")),
        weight: f
            .get("weight")
            .and_then(|v| r.integer(v, "weight", "`weight: 2`")),
        pass: f
            .get("pass")
            .map(|v| read_groups(v, "pass", r))
            .unwrap_or_default(),
        warning: f
            .get("warning")
            .map(|v| read_groups(v, "warning", r))
            .unwrap_or_default(),
        origin: n.origin.clone(),
    })
}

fn read_groups(n: &Node, what: &str, r: &mut Reader) -> Vec<Group> {
    let example = format!("`{what}: [{{criteria: [\"<=+10%\", \"<600\"]}}]`");
    let mut groups = Vec::new();
    for item in r.list(n, what, &example) {
        if item.is_null() {
            continue;
        }
        let Some(f) = r.fields(item, &format!("a `{what}` entry"), CRITERIA_KEYS, &example) else {
            continue;
        };
        let mut criteria = Vec::new();
        if let Some(list) = f.get("criteria") {
            for c in r.list(list, "criteria", "`criteria: [\"<600\"]`") {
                if c.is_null() {
                    continue;
                }
                if let Some(s) = r.string(c, "a criterion", "`\"<=+10%\"` or `\"<600\"`") {
                    criteria.push(s);
                }
            }
        }
        groups.push(Group {
            criteria,
            origin: item.origin.clone(),
        });
    }
    groups
}

fn read_total_score(n: &Node, r: &mut Reader) -> Option<TotalScore> {
    let f = r.fields(
        n,
        "total_score",
        TOTAL_SCORE_KEYS,
        "`total_score: {pass: \"90%\", warning: \"75%\"}`",
    )?;
    Some(TotalScore {
        pass: f
            .get("pass")
            .and_then(|v| r.string(v, "total_score.pass", "`pass: \"90%\"`")),
        warning: f
            .get("warning")
            .and_then(|v| r.string(v, "total_score.warning", "`warning: \"75%\"`")),
        origin: n.origin.clone(),
    })
}

/// How `to_json` attaches provenance.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Plain values, as Keptn's file would hold them (used for the hash).
    None,
    /// Each value as `{"value": v, "from": "file:line:col"}`.
    Inline,
}

fn sourced_json<T: serde::Serialize>(v: &Sourced<T>, p: Provenance) -> serde_json::Value {
    let value = serde_json::to_value(&v.value).unwrap_or(serde_json::Value::Null);
    match p {
        Provenance::None => value,
        Provenance::Inline => serde_json::json!({"value": value, "from": v.origin.location()}),
    }
}

impl Slo {
    /// The SLO as JSON in Keptn's shape; with `Inline`, every value says where it was written.
    pub fn to_json(&self, p: Provenance) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let mut root = Map::new();
        let opt = |m: &mut Map<String, Value>, k: &str, v: &Option<Sourced<String>>| {
            if let Some(v) = v {
                m.insert(k.into(), sourced_json(v, p));
            }
        };
        opt(&mut root, "spec_version", &self.spec_version);
        if !self.filter.is_empty() {
            let f: Map<String, Value> = self
                .filter
                .iter()
                .map(|(k, v)| (k.value.clone(), sourced_json(v, p)))
                .collect();
            root.insert("filter".into(), Value::Object(f));
        }
        if let Some(c) = &self.comparison {
            let mut m = Map::new();
            opt(&mut m, "compare_with", &c.compare_with);
            opt(
                &mut m,
                "include_result_with_score",
                &c.include_result_with_score,
            );
            if let Some(n) = &c.number_of_comparison_results {
                m.insert("number_of_comparison_results".into(), sourced_json(n, p));
            }
            opt(&mut m, "aggregate_function", &c.aggregate_function);
            root.insert("comparison".into(), Value::Object(m));
        }
        let groups = |gs: &[Group]| -> Value {
            Value::Array(
                gs.iter()
                    .map(|g| json!({"criteria": g.criteria.iter().map(|c| sourced_json(c, p)).collect::<Vec<_>>()}))
                    .collect(),
            )
        };
        let objectives: Vec<Value> = self
            .objectives
            .iter()
            .map(|o| {
                let mut m = Map::new();
                m.insert("sli".into(), sourced_json(&o.sli, p));
                opt(&mut m, "displayName", &o.display_name);
                if let Some(k) = &o.key_sli {
                    m.insert("key_sli".into(), sourced_json(k, p));
                }
                if let Some(w) = &o.weight {
                    m.insert("weight".into(), sourced_json(w, p));
                }
                if !o.pass.is_empty() {
                    m.insert("pass".into(), groups(&o.pass));
                }
                if !o.warning.is_empty() {
                    m.insert("warning".into(), groups(&o.warning));
                }
                Value::Object(m)
            })
            .collect();
        root.insert("objectives".into(), Value::Array(objectives));
        if let Some(t) = &self.total_score {
            let mut m = Map::new();
            opt(&mut m, "pass", &t.pass);
            opt(&mut m, "warning", &t.warning);
            root.insert("total_score".into(), Value::Object(m));
        }
        Value::Object(root)
    }

    /// `sha256:<hex>` of the canonical JSON of this SLO: equal for equal content, whatever the
    /// formatting or the level each value came from.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = self.to_json(Provenance::None).to_string();
        let digest = Sha256::digest(canonical.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::SourceFile;
    use crate::model::load::parse_slo;

    fn problems(text: &str) -> Vec<(String, (usize, usize))> {
        parse_slo(SourceFile::new("slo.yaml", text), vec![])
            .problems
            .iter()
            .map(|p| (p.code.to_string(), p.line_col().unwrap_or((0, 0))))
            .collect()
    }

    #[test]
    fn every_problem_of_a_file_at_once() {
        let text = "spec_versoin: 1\ncomparison:\n  compare: x\nobjectives:\n  - sli: a\n    weight: x\n    pass:\n      - criterias: []\n  - displayName: no sli\ntotal_score:\n  pas: 90\n";
        let got = problems(text);
        let codes: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            codes,
            [
                "slogate::unknown-key",
                "slogate::unknown-key",
                "slogate::wrong-type",
                "slogate::unknown-key",
                "slogate::missing-sli",
                "slogate::unknown-key"
            ]
        );
        assert_eq!(got[0].1, (1, 1));
        assert_eq!(got[5].1, (11, 3));
    }

    #[test]
    fn unknown_keys_are_ignored_as_keptn_did_errors_only_when_they_look_like_typos() {
        let text = "objectives:\n  - sli: a\n    weigth: 3\n    fail: [{criteria: [\">1\"]}]\n    pass: [{criteria: [\"<1\"]}]\ntotal_score: {pass: \"90%\", fail: \"50%\"}\n";
        let l = parse_slo(SourceFile::new("slo.yaml", text), vec![]);
        let got: Vec<(&str, bool, (usize, usize), &str)> = l
            .problems
            .iter()
            .map(|p| {
                (
                    p.code,
                    p.is_error(),
                    p.line_col().unwrap(),
                    p.help.as_deref().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|g| g.0 == "slogate::unknown-key"), "{got:?}");
        assert_eq!((got[0].1, got[0].2), (true, (3, 5)));
        assert!(got[0].3.contains("did you mean `weight`?"), "{}", got[0].3);
        assert_eq!((got[1].1, got[1].2), (false, (4, 5)));
        assert_eq!((got[2].1, got[2].2), (false, (6, 28)));
        // The objective is read without the ignored keys, as Keptn did.
        assert_eq!(l.value.objectives[0].effective_weight(), 1);
        assert_eq!(l.value.objectives[0].pass.len(), 1);
        // score / eval / gate read the file as Keptn did: nothing stops them.
        let read: Vec<bool> = l
            .problems
            .into_iter()
            .map(crate::model::load::keptn_reading)
            .map(|p| p.is_error())
            .collect();
        assert_eq!(read, [false, false, false]);
    }

    #[test]
    fn keptn_defaults() {
        let l = parse_slo(
            SourceFile::new(
                "slo.yaml",
                "objectives:\n  - sli: a\n    weight: 0\n  -\n  - sli: b\n",
            ),
            vec![],
        );
        let slo = l.value;
        assert_eq!(slo.objectives.len(), 2, "null objectives are dropped");
        assert_eq!(slo.objectives[0].effective_weight(), 1);
        assert_eq!(slo.objectives[1].effective_weight(), 1);
        let c = slo.effective_comparison();
        assert_eq!(
            (c.compare_with.as_str(), c.previous_count()),
            ("single_result", 1)
        );
        let l = parse_slo(
            SourceFile::new(
                "slo.yaml",
                "comparison:\n  include_result_with_score: Pass_Or_Warn\nobjectives: []\n",
            ),
            vec![],
        );
        let c = l.value.effective_comparison();
        assert_eq!(
            c.compare_with, "",
            "compare_with is never defaulted in a present block"
        );
        assert_eq!(c.include_result_with_score, "pass_or_warn");
        assert_eq!(c.number_of_comparison_results, 3);
        assert_eq!(c.aggregate_function, "avg");
        assert_eq!(c.previous_count(), 3);
    }

    #[test]
    fn hash_ignores_formatting() {
        let a = parse_slo(
            SourceFile::new("a", "objectives: [{sli: a, pass: [{criteria: ['<1']}]}]\n"),
            vec![],
        )
        .value;
        let b = parse_slo(
            SourceFile::new(
                "b",
                "objectives:\n  - sli: a\n    pass:\n      - criteria:\n          - \"<1\"\n",
            ),
            vec![],
        )
        .value;
        let c = parse_slo(
            SourceFile::new("c", "objectives: [{sli: a, pass: [{criteria: ['<2']}]}]\n"),
            vec![],
        )
        .value;
        assert_eq!(a.hash(), b.hash());
        assert_ne!(a.hash(), c.hash());
    }
}
