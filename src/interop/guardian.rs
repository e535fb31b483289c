//! Dynatrace Site Reliability Guardian objectives, as the guardian's settings value (the
//! `app:dynatrace.site.reliability.guardian:guardians` object, JSON or YAML, bare or under
//! `value`): DQL objectives with a comparison operator, a target and a warning.
//!
//! A guardian passes when every objective passes, fails when one fails, and warns otherwise.
//! Keptn files say exactly that with every objective a key SLI, `total_score: {pass: "100%",
//! warning: "0%"}`: a failed key SLI fails the evaluation, a warning costs half a weight.

use std::sync::Arc;

use super::absolute;
use super::{Exported, Imported, Indicator, Loss, Model, Objective, Source, number, refused};
use crate::diag::SourceFile;
use crate::model::criteria::Operator;
use crate::model::yaml::{self, Node};

const LTE: &str = "LESS_THAN_OR_EQUAL";
const GTE: &str = "GREATER_THAN_OR_EQUAL";

fn text<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get(key).and_then(Node::as_scalar)
}

fn sli_name(objective: &str) -> String {
    let s: String = objective
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('_').to_string();
    if s.is_empty() { "objective".into() } else { s }
}

/// Reads guardians (one per document; a list of them works too).
pub fn import(files: &[Arc<SourceFile>]) -> Imported {
    let mut out = Imported::default();
    for f in files {
        let (roots, p) = yaml::parse_documents(f);
        out.problems.extend(p);
        for root in roots.iter().filter(|n| !n.is_null()) {
            match root.as_seq() {
                Some(items) => items.iter().for_each(|g| guardian(g, &mut out)),
                None => guardian(root, &mut out),
            }
        }
    }
    if !out.model.objectives.is_empty() {
        out.model.total_pass = Some("100%".into());
        out.model.total_warning = Some("0%".into());
    }
    out
}

fn guardian(root: &Node, out: &mut Imported) {
    let g = root.get("value").unwrap_or(root);
    let Some(objectives) = g.get("objectives").and_then(Node::as_seq) else {
        out.problems.push(refused(
            &g.origin,
            "no objectives: this is not a Site Reliability Guardian",
            "export the guardian's settings object (name, objectives, variables)",
        ));
        return;
    };
    if let Some(v) = g
        .get("variables")
        .and_then(Node::as_seq)
        .filter(|v| !v.is_empty())
    {
        out.losses.push(Loss::new(&v[0].origin, "guardian variables", "a guardian fills $variables from its own definitions; replace them in the DQL with slogate placeholders ($SERVICE, $LABEL.<key>, $ENV.<NAME>)"));
    }
    for o in objectives {
        let name = text(o, "name").unwrap_or("objective");
        match text(o, "objectiveType").unwrap_or("DQL") {
            "DQL" => {}
            other => {
                out.problems.push(refused(&o.origin, format!("objective `{name}` of type {other}"), "only DQL objectives convert; for a reference SLO write an SLI `SLO;<id>` by hand"));
                continue;
            }
        }
        let Some(query) = text(o, "dqlQuery").map(str::trim).filter(|q| !q.is_empty()) else {
            out.problems.push(refused(
                &o.origin,
                format!("objective `{name}` without dqlQuery"),
                "a DQL objective needs its query",
            ));
            continue;
        };
        let op = match text(o, "comparisonOperator") {
            Some(LTE) => "<=",
            Some(GTE) => ">=",
            other => {
                out.problems.push(refused(
                    &o.origin,
                    format!(
                        "objective `{name}`: comparisonOperator `{}`",
                        other.unwrap_or("")
                    ),
                    format!("use {LTE} or {GTE}"),
                ));
                continue;
            }
        };
        let num = |k: &str| text(o, k).and_then(|v| v.parse::<f64>().ok());
        let Some(target) = num("target") else {
            out.problems.push(refused(
                &o.origin,
                format!("objective `{name}` without a numeric target"),
                "give target (the failure threshold)",
            ));
            continue;
        };
        if text(o, "autoAdaptiveThresholdEnabled").and_then(yaml::parse_bool) == Some(true) {
            out.losses.push(Loss::new(
                &o.origin,
                format!("auto-adaptive thresholds of `{name}`"),
                "the guardian learns its thresholds; the fixed target and warning are used",
            ));
        }
        // Pass at the warning threshold, warning up to the target; without warning, the target.
        let (pass, warning) = match num("warning") {
            Some(w) => (
                vec![vec![format!("{op}{}", number(w))]],
                vec![vec![format!("{op}{}", number(target))]],
            ),
            None => (vec![vec![format!("{op}{}", number(target))]], Vec::new()),
        };
        let mut sli = sli_name(name);
        while out.model.indicator(&sli).is_some() {
            sli.push('_');
        }
        out.model.indicators.push(Indicator {
            name: sli.clone(),
            source: Source::Dynatrace,
            query: format!("DQL;{query}"),
        });
        out.model.objectives.push(Objective {
            sli,
            display_name: Some(name.to_string()),
            key_sli: true,
            weight: None,
            pass,
            warning,
            comments: Vec::new(),
        });
    }
}

/// One `<=`/`>=` criterion: its operator and value.
fn single(lists: &[Vec<String>]) -> Option<(Operator, f64)> {
    match lists {
        [list] => match list.as_slice() {
            [c] => absolute(c).filter(|(op, _)| matches!(op, Operator::Le | Operator::Ge)),
            _ => None,
        },
        _ => None,
    }
}

/// Writes the DQL objectives as one guardian named `name` (JSON, the settings value).
pub fn export(read: &super::keptn::Read, name: &str) -> Exported {
    let m: &Model = &read.model;
    let mut losses = Vec::new();
    let mut objectives = Vec::new();
    for (k, o) in m.objectives.iter().enumerate() {
        let at = &read.objective_origins[k];
        let Some(ind) = m.indicator(&o.sli) else {
            continue;
        };
        let Some(query) = ind
            .query
            .trim()
            .strip_prefix("DQL;")
            .filter(|_| ind.source == Source::Dynatrace)
        else {
            losses.push(Loss::new(
                at,
                format!("objective `{}`", o.sli),
                "a guardian's objectives are DQL queries; this SLI is not `DQL;`",
            ));
            continue;
        };
        let (Some((op, pass)), warn) = (single(&o.pass), single(&o.warning)) else {
            losses.push(Loss::new(at, format!("objective `{}`", o.sli), "a guardian objective is one `<=` or `>=` threshold (and one warning threshold); these criteria are not"));
            continue;
        };
        if !o.warning.is_empty() && warn.is_none_or(|(w, _)| w != op) {
            losses.push(Loss::new(
                at,
                format!("objective `{}`: warning criteria", o.sli),
                "the warning must be one threshold in the same direction",
            ));
            continue;
        }
        if !o.key_sli {
            losses.push(Loss::new(
                at,
                format!("objective `{}`: not a key SLI", o.sli),
                "in a guardian every failed objective fails the validation",
            ));
        }
        if o.weight.is_some() {
            losses.push(Loss::new(
                at,
                format!("objective `{}`: weight", o.sli),
                "guardian objectives are not weighted",
            ));
        }
        let (target, warning) = match warn {
            Some((_, w)) => (w, Some(pass)),
            None => (pass, None),
        };
        let mut obj = serde_json::json!({
            "name": o.display_name.clone().unwrap_or_else(|| o.sli.clone()),
            "objectiveType": "DQL",
            "dqlQuery": query,
            "comparisonOperator": if op == Operator::Le { LTE } else { GTE },
            "target": target,
        });
        if let Some(w) = warning {
            obj["warning"] = serde_json::json!(w);
        }
        objectives.push(obj);
    }
    let totals = (
        m.total_pass.as_deref().map(|p| p.trim_end_matches('%')),
        m.total_warning.as_deref().map(|w| w.trim_end_matches('%')),
    );
    if !matches!(totals, (Some("100"), Some("0") | None))
        && let Some(at) = &read.total_origin
    {
        losses.push(Loss::new(at, "total_score", "a guardian passes when every objective passes and fails when one fails; there is no score threshold"));
    }
    if objectives.is_empty() {
        return Exported {
            text: String::new(),
            losses,
        };
    }
    let g = serde_json::json!({"name": name, "objectives": objectives, "variables": []});
    let text = serde_json::to_string_pretty(&g).unwrap_or_default() + "\n";
    Exported { text, losses }
}
