//! Checks that schemas/*.schema.json match the key tables of the readers.
//!
//! The schemas serve editors (completion and validation while typing); the readers in `spec` are
//! the truth. These tests keep the two in step: each object's keys and each enum equal the
//! readers' tables, and every example file and every `examples` entry validates. No JSON Schema
//! crate is a dependency, so a small validator below supports exactly the keywords the schemas
//! use, and stops the test on any other keyword rather than ignore it.

use std::path::Path;

use serde_json::Value;

use crate::diag::SourceFile;
use crate::model::criteria::Criterion;
use crate::model::yaml::{self, Node};
use crate::model::{settings, sli, slo};

const SCHEMAS: &[(&str, &str)] = &[
    ("sli", include_str!("../../schemas/sli.schema.json")),
    ("slo", include_str!("../../schemas/slo.schema.json")),
    ("slogate", include_str!("../../schemas/slogate.schema.json")),
];

/// Each object of each schema (by JSON pointer) and the keys its reader accepts.
const OBJECTS: &[(&str, &str, &[&str])] = &[
    ("sli", "", sli::SLI_KEYS),
    ("slo", "", slo::SLO_KEYS),
    ("slo", "/properties/comparison", slo::COMPARISON_KEYS),
    ("slo", "/$defs/objective", slo::OBJECTIVE_KEYS),
    ("slo", "/$defs/criteriaGroup", slo::CRITERIA_KEYS),
    ("slo", "/properties/total_score", slo::TOTAL_SCORE_KEYS),
    ("slogate", "", settings::SETTINGS_KEYS),
    ("slogate", "/properties/dynatrace", settings::DYNATRACE_KEYS),
    (
        "slogate",
        "/properties/prometheus",
        settings::PROMETHEUS_KEYS,
    ),
    ("slogate", "/properties/defaults", settings::DEFAULTS_KEYS),
    ("slogate", "/properties/judge", settings::JUDGE_KEYS),
    ("slogate", "/properties/context", settings::CONTEXT_KEYS),
    (
        "slogate",
        "/properties/dashboard",
        settings::RELEASE_DASHBOARD_KEYS,
    ),
    // `token` is read only to be refused; the schema leaves it out so editors flag it too.
    (
        "slogate",
        "/$defs/environment",
        &[
            "url",
            "token_env",
            "request_timeout",
            "concurrency",
            "proxy",
        ],
    ),
    ("slogate", "/$defs/stage", settings::STAGE_KEYS),
];

/// Each enum of each schema and the values its reader (or lint) accepts.
const ENUMS: &[(&str, &str, &[&str])] = &[
    (
        "slo",
        "/properties/comparison/properties/compare_with",
        slo::COMPARE_WITH_VALUES,
    ),
    (
        "slo",
        "/properties/comparison/properties/include_result_with_score",
        slo::INCLUDE_RESULT_VALUES,
    ),
    (
        "slo",
        "/properties/comparison/properties/aggregate_function",
        slo::AGGREGATE_FUNCTIONS,
    ),
    (
        "slogate",
        "/properties/defaults/properties/on_missing_baseline",
        settings::MISSING_BASELINE_POLICIES,
    ),
    (
        "slogate",
        "/properties/judge/properties/mode",
        settings::JUDGE_MODES,
    ),
    ("slogate", "/properties/source", settings::SOURCES),
    ("slogate", "/properties/comparison", settings::COMPARISONS),
    (
        "slogate",
        "/properties/context/properties/problems",
        crate::context::PROBLEM_POLICIES,
    ),
    (
        "slogate",
        "/properties/context/properties/changes",
        crate::context::CHANGE_POLICIES,
    ),
    (
        "slogate",
        "/properties/context/properties/maintenance",
        crate::context::CHANGE_POLICIES,
    ),
];

/// The patterns of the schemas, each checked here by the Rust code it stands for (no regex crate).
/// The Rust side accepts a little more (`<inf`, `1e2%`): the patterns cover normal use only.
const CRITERION_PATTERN: &str = r"^ *(< *=|> *=|<|>|=) *([+-]? *([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)? *%?|\( *[+-]? *([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)? *\)) *$";
const PERCENTAGE_PATTERN: &str = r"^([0-9]+\.?[0-9]*|\.[0-9]+)%?$";
const ENV_NAME_PATTERN: &str = "^[A-Za-z_][A-Za-z0-9_]*$";

fn pattern_holds(pattern: &str, s: &str) -> bool {
    match pattern {
        CRITERION_PATTERN => Criterion::parse(s).is_ok(),
        PERCENTAGE_PATTERN => crate::eval::parse_percentage(s).is_some(),
        ENV_NAME_PATTERN => {
            s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        _ => panic!("the test validator has no Rust equivalent of pattern {pattern}"),
    }
}

fn schema(name: &str) -> Value {
    let (_, text) = SCHEMAS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("known schema");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("schemas/{name}.schema.json: {e}"))
}

/// Every subschema of `s` with its JSON pointer: the root, `properties/*`, `$defs/*`, `items`
/// and `additionalProperties`.
fn subschemas<'a>(s: &'a Value, pointer: String, out: &mut Vec<(String, &'a Value)>) {
    for kw in ["properties", "$defs"] {
        for (k, v) in s.get(kw).and_then(Value::as_object).into_iter().flatten() {
            subschemas(v, format!("{pointer}/{kw}/{k}"), out);
        }
    }
    for kw in ["items", "additionalProperties"] {
        if let Some(v) = s.get(kw).filter(|v| v.is_object()) {
            subschemas(v, format!("{pointer}/{kw}"), out);
        }
    }
    out.push((pointer, s));
}

fn all_subschemas(s: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    subschemas(s, String::new(), &mut out);
    out
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => panic!("unknown type {t}"),
    }
}

/// Validates `v` against `s`, pushing `path: message` for each failure; `root` resolves `$ref`.
fn validate(root: &Value, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let s = s
        .as_object()
        .unwrap_or_else(|| panic!("schema for {path} is not an object"));
    for (kw, arg) in s {
        match kw.as_str() {
            "$schema" | "$id" | "$defs" | "title" | "description" | "default" | "examples" => {}
            "$ref" => {
                let target = arg
                    .as_str()
                    .and_then(|r| r.strip_prefix('#'))
                    .and_then(|p| root.pointer(p));
                validate(
                    root,
                    target.unwrap_or_else(|| panic!("bad $ref {arg}")),
                    v,
                    path,
                    errors,
                );
            }
            "type" => {
                let types: Vec<&str> = match arg {
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    t => vec![t.as_str().expect("type is a string")],
                };
                if !types.iter().any(|t| has_type(v, t)) {
                    errors.push(format!(
                        "{path}: expected {}, found {v}",
                        types.join(" or ")
                    ));
                }
            }
            "enum" => {
                if !arg.as_array().is_some_and(|a| a.contains(v)) {
                    errors.push(format!("{path}: {v} is not one of {arg}"));
                }
            }
            "pattern" => {
                if let Some(text) = v.as_str()
                    && !pattern_holds(arg.as_str().expect("pattern is a string"), text)
                {
                    errors.push(format!("{path}: {v} does not match {arg}"));
                }
            }
            "minimum" | "maximum" => {
                let bound = arg.as_f64().expect("bound is a number");
                let outside = |n: f64| {
                    if kw == "minimum" {
                        n < bound
                    } else {
                        n > bound
                    }
                };
                if let Some(n) = v.as_f64().filter(|n| outside(*n)) {
                    errors.push(format!("{path}: {n} is outside the {kw} {bound}"));
                }
            }
            "required" => {
                for key in arg
                    .as_array()
                    .expect("required is a list")
                    .iter()
                    .filter_map(Value::as_str)
                {
                    if v.as_object().is_some_and(|o| !o.contains_key(key)) {
                        errors.push(format!("{path}: `{key}` is missing"));
                    }
                }
            }
            "properties" => {
                for (key, x) in v.as_object().into_iter().flatten() {
                    if let Some(sub) = arg.get(key) {
                        validate(root, sub, x, &format!("{path}/{key}"), errors);
                    }
                }
            }
            "additionalProperties" => {
                let known = |key: &str| s.get("properties").is_some_and(|p| p.get(key).is_some());
                for (key, x) in v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| !known(k.as_str()))
                {
                    match arg {
                        Value::Bool(false) => errors.push(format!("{path}: unknown key `{key}`")),
                        sub => validate(root, sub, x, &format!("{path}/{key}"), errors),
                    }
                }
            }
            "items" => {
                for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                    validate(root, arg, x, &format!("{path}/{i}"), errors);
                }
            }
            other => panic!(
                "the test validator does not support `{other}`; add it or leave it out of the schema"
            ),
        }
    }
}

fn errors_of(schema: &Value, v: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(schema, schema, v, "", &mut errors);
    errors
}

/// A plain scalar as YAML 1.2's core schema resolves it (`.inf` and `.nan` stay strings: JSON
/// cannot hold them).
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let radix = |prefix: &str, radix: u32| {
        let digits = text.strip_prefix(prefix)?;
        digits
            .chars()
            .all(|c| c.is_digit(radix))
            .then(|| i64::from_str_radix(digits, radix).ok())
            .flatten()
    };
    let int = if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().ok()
    } else {
        radix("0x", 16).or_else(|| radix("0o", 8))
    };
    if let Some(i) = int {
        return Value::from(i);
    }
    let float_chars = unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if float_chars
        && unsigned.bytes().any(|b| b.is_ascii_digit())
        && let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn to_json(n: &Node) -> Value {
    match &n.value {
        yaml::Value::Scalar { text, plain: true } => resolve_plain(text),
        yaml::Value::Scalar { text, plain: false } => Value::String(text.clone()),
        yaml::Value::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        yaml::Value::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| match &k.value {
                    yaml::Value::Scalar { text, .. } => (text.clone(), to_json(v)),
                    _ => panic!("{}: a key that is not a scalar", k.origin.location()),
                })
                .collect(),
        ),
    }
}

fn yaml_to_json(name: &str, text: &str) -> Value {
    let parsed = yaml::parse(&SourceFile::new(name, text));
    let problems: Vec<String> = parsed.problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{name}: {problems:?}");
    parsed.root.as_ref().map_or(Value::Null, to_json)
}

#[test]
fn schemas_are_draft_2020_12_and_describe_every_property() {
    for (name, _) in SCHEMAS {
        let s = schema(name);
        assert_eq!(
            s["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{name}"
        );
        assert_eq!(
            s["$id"],
            format!("https://slogate.dev/schemas/{name}.schema.json")
        );
        assert!(s["title"].is_string(), "{name}: title");
        for (pointer, sub) in all_subschemas(&s) {
            let only_ref = sub
                .as_object()
                .is_some_and(|o| o.len() == 1 && o.contains_key("$ref"));
            assert!(
                only_ref || sub["description"].is_string(),
                "{name}#{pointer} has no description"
            );
        }
    }
}

#[test]
fn object_keys_match_the_readers() {
    for (name, _) in SCHEMAS {
        let s = schema(name);
        let with_properties: Vec<String> = all_subschemas(&s)
            .into_iter()
            .filter(|(_, sub)| sub.get("properties").is_some())
            .map(|(p, _)| p)
            .collect();
        let mut listed: Vec<&str> = OBJECTS
            .iter()
            .filter(|(n, ..)| n == name)
            .map(|(_, p, _)| *p)
            .collect();
        let mut found: Vec<&str> = with_properties.iter().map(String::as_str).collect();
        listed.sort_unstable();
        found.sort_unstable();
        assert_eq!(
            found, listed,
            "{name}: objects with `properties` vs the OBJECTS table"
        );
    }
    for (name, pointer, keys) in OBJECTS {
        let s = schema(name);
        let object = s
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{name}#{pointer} not found"));
        let mut in_schema: Vec<&str> = object["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        let mut in_rust = keys.to_vec();
        in_schema.sort_unstable();
        in_rust.sort_unstable();
        assert_eq!(in_schema, in_rust, "{name}#{pointer}");
        assert_eq!(object["additionalProperties"], false, "{name}#{pointer}");
    }
}

#[test]
fn enums_match_the_readers() {
    for (name, _) in SCHEMAS {
        let s = schema(name);
        let found: Vec<String> = all_subschemas(&s)
            .into_iter()
            .filter(|(_, sub)| sub.get("enum").is_some())
            .map(|(p, _)| p)
            .collect();
        let listed: Vec<&str> = ENUMS
            .iter()
            .filter(|(n, ..)| n == name)
            .map(|(_, p, _)| *p)
            .collect();
        assert_eq!(
            found.len(),
            listed.len(),
            "{name}: enums {found:?} vs the ENUMS table"
        );
        assert!(
            found.iter().all(|p| listed.contains(&p.as_str())),
            "{name}: enums {found:?} vs the ENUMS table"
        );
    }
    for (name, pointer, values) in ENUMS {
        let s = schema(name);
        let mut in_schema: Vec<&str> = s
            .pointer(&format!("{pointer}/enum"))
            .and_then(Value::as_array)
            .expect("enum")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut in_rust = values.to_vec();
        in_schema.sort_unstable();
        in_rust.sort_unstable();
        assert_eq!(in_schema, in_rust, "{name}#{pointer}");
    }
}

#[test]
fn schema_examples_validate() {
    for (name, _) in SCHEMAS {
        let s = schema(name);
        for (pointer, sub) in all_subschemas(&s) {
            for example in sub
                .get("examples")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let mut errors = Vec::new();
                validate(&s, sub, example, &pointer, &mut errors);
                assert!(
                    errors.is_empty(),
                    "{name}#{pointer} example {example}: {errors:?}"
                );
            }
        }
    }
}

#[test]
fn example_files_validate() {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir)
            .expect("readable dir")
            .map(|e| e.expect("dir entry").path())
        {
            if entry.is_dir() {
                walk(&entry, out);
            } else {
                out.push(entry);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("slo-examples"),
        &mut files,
    );
    files.sort();
    let mut checked = Vec::new();
    for path in &files {
        let name = match path.file_name().and_then(|n| n.to_str()) {
            Some("sli.yaml") => "sli",
            Some("slo.yaml") => "slo",
            Some("slogate.yaml") => "slogate",
            _ => continue,
        };
        let text = std::fs::read_to_string(path).expect("readable file");
        let shown = path.display().to_string();
        let errors = errors_of(&schema(name), &yaml_to_json(&shown, &text));
        assert!(
            errors.is_empty(),
            "{shown} against {name}.schema.json: {errors:?}"
        );
        checked.push(shown);
    }
    assert!(
        checked.iter().any(|f| f.ends_with("/slo.yaml")),
        "no slo.yaml found: {checked:?}"
    );
    assert!(
        checked.iter().any(|f| f.ends_with("/dynatrace/sli.yaml")),
        "no dynatrace/sli.yaml found: {checked:?}"
    );
}

#[test]
fn validator_accepts_and_rejects_like_the_readers() {
    let slo_with = |objective: &str| format!("objectives:\n  - sli: rt\n    {objective}\n");
    let cases: &[(&str, String, bool)] = &[
        ("slo", slo_with("pass: [{criteria: [\"<=+10%\", \"< = 600\", \">=-5%\", \"<=.5\", \"<1e3\"]}]"), true),
        ("slo", "objectives:\n  -\n  - sli: rt\n".into(), true),
        ("slo", "total_score: {pass: 90, warning: \"75.5%\"}\n".into(), true),
        ("slo", "comparison: {compare_with: several_results, number_of_comparison_results: 5}\n".into(), true),
        ("slo", slo_with("weigth: 2"), false),
        ("slo", slo_with("weight: \"2\""), false),
        ("slo", slo_with("key_sli: maybe"), false),
        ("slo", slo_with("pass: [{criteria: [\"=<5\"]}]"), false),
        ("slo", slo_with("pass: [{criteria: [\"600\"]}]"), false),
        ("slo", slo_with("pass: [{}]"), false),
        ("slo", "objectives:\n  - displayName: no sli\n".into(), false),
        ("slo", "comparison: {include_result_with_score: pass_or_warning}\n".into(), false),
        ("slo", "comparison: {aggregate_function: max}\n".into(), false),
        ("slo", "total_score: {pass: \" 90%\"}\n".into(), false),
        ("slo", "total_score: {pass: 120}\n".into(), false),
        ("sli", "indicators: {rt: \"metricSelector=x\"}\n".into(), true),
        ("sli", "spec_version: \"1.0\"\n".into(), false),
        ("sli", "indicators: {rt: }\n".into(), false),
        ("slogate", "dynatrace: {url: \"https://x.live.dynatrace.com\", token_env: DT_API_TOKEN}\ndefaults: {on_missing_baseline: warn}\n".into(), true),
        ("slogate", "dynatrace: {token_env: \"dt0c01.ABC.DEF\"}\n".into(), false),
        ("slogate", "defaults: {on_missing_baseline: skip}\n".into(), false),
    ];
    for (name, text, ok) in cases {
        let errors = errors_of(&schema(name), &yaml_to_json("case.yaml", text));
        assert_eq!(errors.is_empty(), *ok, "{name}: {text:?} gave {errors:?}");
    }
}

#[test]
fn plain_scalars_resolve_like_yaml_1_2_core() {
    let cases: &[(&str, Value)] = &[
        ("~", Value::Null),
        ("", Value::Null),
        ("True", Value::Bool(true)),
        ("yes", Value::from("yes")),
        ("-12", Value::from(-12)),
        ("0x1F", Value::from(31)),
        ("0o17", Value::from(15)),
        ("1.5e3", Value::from(1500.0)),
        ("1.0", Value::from(1.0)),
        (".5", Value::from(0.5)),
        ("1_000", Value::from("1_000")),
        (".inf", Value::from(".inf")),
        ("<600", Value::from("<600")),
    ];
    for (text, want) in cases {
        assert_eq!(&resolve_plain(text), want, "{text:?}");
    }
}
