//! Keptn Lifecycle Toolkit analyses (`metrics.keptn.sh`): `AnalysisDefinition` (objectives,
//! total score), `AnalysisValueTemplate` (a query and its provider) and `KeptnMetricsProvider`
//! (the provider's type).
//!
//! KLT states when an objective *fails* (`failure`) or *warns* (`warning`); Keptn files state when
//! it *passes*. A condition converts by its negation (`failure: {greaterThan: 600}` is
//! `pass: <=600`). KLT has no baseline: a relative criterion (`<=+10%`) cannot be written there,
//! so export keeps it as a comment above the objective and lists it as a loss, never silently.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Exported, Imported, Indicator, Loss, Model, Objective, Source, number, refused};
use super::{absolute, dns_name, scalar};
use crate::diag::SourceFile;
use crate::model::criteria::Operator;
use crate::model::yaml::{self, Node};

const GROUP: &str = "metrics.keptn.sh/";
pub const API_VERSION: &str = "metrics.keptn.sh/v1";

fn text<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get(key).and_then(Node::as_scalar)
}

fn name_of(n: &Node) -> Option<&str> {
    n.get("metadata").and_then(|m| text(m, "name"))
}

/// KLT operator → (Keptn operator of the condition itself).
fn op_of(key: &str) -> Option<Operator> {
    Some(match key {
        "lessThan" => Operator::Lt,
        "lessThanOrEqual" => Operator::Le,
        "greaterThan" => Operator::Gt,
        "greaterThanOrEqual" => Operator::Ge,
        "equalTo" => Operator::Eq,
        _ => return None,
    })
}

fn negate(op: Operator) -> Option<Operator> {
    Some(match op {
        Operator::Lt => Operator::Ge,
        Operator::Le => Operator::Gt,
        Operator::Gt => Operator::Le,
        Operator::Ge => Operator::Lt,
        Operator::Eq => return None,
    })
}

fn klt_key(op: Operator) -> &'static str {
    match op {
        Operator::Lt => "lessThan",
        Operator::Le => "lessThanOrEqual",
        Operator::Gt => "greaterThan",
        Operator::Ge => "greaterThanOrEqual",
        Operator::Eq => "equalTo",
    }
}

/// A quantity as KLT writes it (`600`, `0.5`, `500m`): plain numbers and the milli suffix.
fn quantity(n: &Node) -> Option<f64> {
    let s = n.get("fixedValue").and_then(Node::as_scalar)?.trim();
    match s.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|v| v / 1000.0),
        None => s.parse().ok(),
    }
}

/// The criteria lists under which a KLT condition does *not* hold (what passes it).
fn passing(cond: &Node) -> Result<Vec<Vec<String>>, String> {
    let (key, arg) = cond
        .as_map()
        .and_then(|m| m.first())
        .and_then(|(k, v)| Some((k.as_scalar()?, v)))
        .ok_or("an empty condition")?;
    if let Some(op) = op_of(key) {
        let v = quantity(arg).ok_or(format!("{key} without a fixedValue number"))?;
        let neg = negate(op).ok_or("equalTo: Keptn criteria have no `!=`")?;
        return Ok(vec![vec![format!("{}{}", neg.as_str(), number(v))]]);
    }
    let bound = |k: &str| {
        arg.get(k)
            .and_then(Node::as_scalar)
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or(format!("{key} without {k}"))
    };
    match key {
        // Fails inside [low, high]: passes below or above (two lists: OR).
        "inRange" => Ok(vec![
            vec![format!("<{}", number(bound("lowBound")?))],
            vec![format!(">{}", number(bound("highBound")?))],
        ]),
        "notInRange" => Ok(vec![vec![
            format!(">={}", number(bound("lowBound")?)),
            format!("<={}", number(bound("highBound")?)),
        ]]),
        other => Err(format!("unknown operator `{other}`")),
    }
}

/// Reads AnalysisDefinitions with their AnalysisValueTemplates and providers (all documents of
/// all files; references resolve by name).
pub fn import(files: &[Arc<SourceFile>]) -> Imported {
    let mut out = Imported::default();
    let mut nodes = Vec::new();
    for f in files {
        let (roots, p) = yaml::parse_documents(f);
        out.problems.extend(p);
        nodes.extend(roots.into_iter().filter(|n| !n.is_null()));
    }
    let mut by_kind: BTreeMap<&str, Vec<&Node>> = BTreeMap::new();
    for n in &nodes {
        match (text(n, "apiVersion"), text(n, "kind")) {
            (Some(v), Some(k)) if v.starts_with(GROUP) => by_kind.entry(k).or_default().push(n),
            (v, k) => out.problems.push(refused(
                &n.origin,
                format!("`{}` `{}` is not a Keptn Lifecycle Toolkit metrics resource", v.unwrap_or(""), k.unwrap_or("")),
                "give AnalysisDefinition, AnalysisValueTemplate and KeptnMetricsProvider documents (apiVersion metrics.keptn.sh/…)",
            )),
        }
    }
    let find = |kind: &str, name: &str| -> Option<&Node> {
        by_kind
            .get(kind)?
            .iter()
            .copied()
            .find(|n| name_of(n) == Some(name))
    };
    for def in by_kind
        .get("AnalysisDefinition")
        .cloned()
        .unwrap_or_default()
    {
        let spec = def.get("spec").unwrap_or(def);
        for o in spec.get("objectives").and_then(Node::as_seq).unwrap_or(&[]) {
            let Some(tname) = o
                .get("analysisValueTemplateRef")
                .and_then(|r| text(r, "name"))
            else {
                out.problems.push(refused(
                    &o.origin,
                    "objective without analysisValueTemplateRef.name",
                    "name its AnalysisValueTemplate",
                ));
                continue;
            };
            let Some(t) = find("AnalysisValueTemplate", tname) else {
                out.problems.push(refused(
                    &o.origin,
                    format!("AnalysisValueTemplate `{tname}` is not among the files given"),
                    "pass its file too",
                ));
                continue;
            };
            let tspec = t.get("spec").unwrap_or(t);
            let query = text(tspec, "query").unwrap_or("").trim().to_string();
            let pname = tspec
                .get("provider")
                .and_then(|p| text(p, "name"))
                .unwrap_or("");
            let ptype = find("KeptnMetricsProvider", pname)
                .and_then(|p| p.get("spec"))
                .and_then(|s| text(s, "type"))
                .map(str::to_ascii_lowercase);
            let (source, query) = match ptype.as_deref() {
                Some("prometheus") | Some("thanos") | Some("cortex") => (Source::Prometheus, query),
                Some("dynatrace") if query.contains("metricSelector=") => {
                    (Source::Dynatrace, query)
                }
                Some("dynatrace") => (Source::Dynatrace, format!("metricSelector={query}")),
                Some("dql") => (Source::Dynatrace, format!("DQL;{query}")),
                Some(other) => {
                    out.problems.push(refused(&t.origin, format!("provider type `{other}`: slogate reads Dynatrace (dynatrace, dql) and Prometheus only"), "convert analyses on Dynatrace or Prometheus metrics"));
                    continue;
                }
                None => {
                    out.problems.push(refused(
                        &t.origin,
                        format!("KeptnMetricsProvider `{pname}` is not among the files given"),
                        "pass the provider's file too (its type says where the query goes)",
                    ));
                    continue;
                }
            };
            if query.contains("{{") {
                out.losses.push(Loss::new(&t.origin, format!("template variables in `{tname}`"), "KLT fills {{.name}} from the Analysis' args; replace them with slogate placeholders ($SERVICE, $LABEL.<key>, $ENV.<NAME>)"));
            }
            let target = o.get("target");
            let fail = target.and_then(|t| t.get("failure"));
            let warn = target.and_then(|t| t.get("warning"));
            let (pass, warning) = match (fail, warn) {
                (None, None) => (Vec::new(), Vec::new()),
                (Some(f), None) => match passing(f) {
                    Ok(p) => (p, Vec::new()),
                    Err(e) => {
                        out.problems.push(refused(&f.origin, format!("objective `{tname}`: {e}"), "use lessThan, lessThanOrEqual, greaterThan, greaterThanOrEqual, inRange or notInRange"));
                        continue;
                    }
                },
                // Keptn: pass unless the warning condition holds; warning unless failure holds.
                (f, Some(w)) => match (passing(w), f.map(passing).transpose()) {
                    (Ok(p), Ok(wr)) => (p, wr.unwrap_or_default()),
                    (Err(e), _) | (_, Err(e)) => {
                        out.problems.push(refused(
                            &w.origin,
                            format!("objective `{tname}`: {e}"),
                            "use lessThan, lessThanOrEqual, greaterThan or greaterThanOrEqual",
                        ));
                        continue;
                    }
                },
            };
            if out.model.indicator(tname).is_none() {
                out.model.indicators.push(Indicator {
                    name: tname.to_string(),
                    source,
                    query,
                });
            }
            let weight = text(o, "weight")
                .and_then(|w| w.parse::<i64>().ok())
                .filter(|&w| w > 1);
            out.model.objectives.push(Objective {
                sli: tname.to_string(),
                display_name: None,
                key_sli: text(o, "keyObjective")
                    .and_then(yaml::parse_bool)
                    .unwrap_or(false)
                    && !pass.is_empty(),
                weight,
                pass,
                warning,
                comments: Vec::new(),
            });
        }
        if let Some(ts) = spec.get("totalScore") {
            out.model.total_pass = text(ts, "passPercentage").map(|p| format!("{p}%"));
            out.model.total_warning = text(ts, "warningPercentage").map(|p| format!("{p}%"));
        }
    }
    out
}

/// A KLT condition that fails exactly where the criteria list does not hold; `None` for what KLT
/// cannot say (relative criteria, `=`, more than a range).
fn condition(list: &[String]) -> Option<String> {
    let abs: Option<Vec<(Operator, f64)>> = list.iter().map(|c| absolute(c)).collect();
    match abs?.as_slice() {
        [(op, v)] => Some(format!(
            "{}: {{fixedValue: {}}}",
            klt_key(negate(*op)?),
            number(*v)
        )),
        [(Operator::Ge, lo), (Operator::Le, hi)] | [(Operator::Le, hi), (Operator::Ge, lo)] => {
            Some(format!(
                "notInRange: {{lowBound: {}, highBound: {}}}",
                number(*lo),
                number(*hi)
            ))
        }
        _ => None,
    }
}

/// Writes providers, value templates and one AnalysisDefinition named `name`.
pub fn export(read: &super::keptn::Read, name: &str) -> Exported {
    let m: &Model = &read.model;
    let mut losses = Vec::new();
    let mut docs: Vec<String> = Vec::new();
    let mut sources: Vec<Source> = m.indicators.iter().map(|i| i.source).collect();
    sources.sort();
    sources.dedup();
    let mut dql = false;
    let mut templates = String::new();
    for i in &m.indicators {
        let (provider, query) = match i.source {
            Source::Prometheus => ("prometheus", i.query.clone()),
            Source::Dynatrace => match crate::query::parse::parse(&i.query) {
                Ok(crate::query::SliQuery::Metrics(q)) => {
                    let mut s = q.metric_selector;
                    if let Some(e) = q.entity_selector {
                        s.push_str(&format!("&entitySelector={e}"));
                    }
                    ("dynatrace", s)
                }
                Ok(crate::query::SliQuery::Dql { query }) => {
                    dql = true;
                    ("dql", query)
                }
                _ => {
                    let at = &read.sli_origins[&i.name];
                    losses.push(Loss::new(at, format!("SLI `{}`", i.name), "KLT's Dynatrace providers read metric selectors and DQL; this query form has no KLT equivalent"));
                    continue;
                }
            },
        };
        if query.contains('$') {
            let at = &read.sli_origins[&i.name];
            losses.push(Loss::new(at, format!("placeholders in SLI `{}`", i.name), "KLT fills {{.name}} templates from the Analysis' args, not $SERVICE and the like: replace them there"));
        }
        templates.push_str(&format!(
            "---\napiVersion: {API_VERSION}\nkind: AnalysisValueTemplate\nmetadata:\n  name: {}\nspec:\n  provider:\n    name: {provider}\n  query: {}\n",
            dns_name(&i.name),
            scalar(&query)
        ));
    }
    for s in &sources {
        docs.push(format!(
            "apiVersion: {API_VERSION}\nkind: KeptnMetricsProvider\nmetadata:\n  name: {}\nspec:\n  type: {}\n  targetServer: \"\"\n",
            s.as_str(),
            s.as_str()
        ));
    }
    if dql {
        docs.push(format!("apiVersion: {API_VERSION}\nkind: KeptnMetricsProvider\nmetadata:\n  name: dql\nspec:\n  type: dql\n  targetServer: \"\"\n"));
    }
    let mut objectives = String::new();
    for (k, o) in m.objectives.iter().enumerate() {
        let at = &read.objective_origins[k];
        if !m.indicators.iter().any(|i| i.name == o.sli)
            || (templates
                .find(&format!("name: {}\n", dns_name(&o.sli)))
                .is_none())
        {
            continue;
        }
        let mut notes = Vec::new();
        // pass lists: KLT has one failure condition (and one warning condition).
        let (fail_from, warn_from) = if o.warning.is_empty() {
            (o.pass.as_slice(), &[][..])
        } else {
            (o.warning.as_slice(), o.pass.as_slice())
        };
        let cond = |lists: &[Vec<String>],
                    what: &str,
                    notes: &mut Vec<String>,
                    losses: &mut Vec<Loss>|
         -> Option<String> {
            match lists {
                [] => None,
                [list] => {
                    // Relative criteria stay behind as comments; the fixed ones still convert.
                    let (rel, abs): (Vec<&String>, Vec<&String>) = list.iter().partition(|c| {
                        absolute(c).is_none() && crate::model::criteria::Criterion::parse(c).is_ok()
                    });
                    for c in &rel {
                        notes.push(format!("relative {what} criterion {c} (compared with a baseline) kept as a comment: KLT has no baseline"));
                        losses.push(Loss::new(at, format!("objective `{}`: relative {what} criterion `{c}`", o.sli), "KLT compares with fixed values only; a relative criterion needs a baseline"));
                    }
                    let abs: Vec<String> = abs.into_iter().cloned().collect();
                    if abs.is_empty() {
                        return None;
                    }
                    let c = condition(&abs);
                    if c.is_none() {
                        notes.push(format!("{what} criteria {} kept as a comment: KLT has one condition (no `=`, one range)", abs.join(" and ")));
                        losses.push(Loss::new(
                            at,
                            format!("objective `{}`: {what} criteria {}", o.sli, abs.join(", ")),
                            "a KLT target holds one comparison or one range",
                        ));
                    }
                    c
                }
                _ => {
                    let msg = format!(
                        "{what} criteria lists (any one passes): {}",
                        lists
                            .iter()
                            .map(|l| l.join(" and "))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    );
                    losses.push(Loss::new(
                        at,
                        format!("objective `{}`: several {what} lists", o.sli),
                        "a KLT target holds one condition",
                    ));
                    notes.push(msg);
                    None
                }
            }
        };
        let failure = cond(
            fail_from,
            if o.warning.is_empty() {
                "pass"
            } else {
                "warning"
            },
            &mut notes,
            &mut losses,
        );
        let warning = cond(warn_from, "pass", &mut notes, &mut losses);
        for n in &notes {
            objectives.push_str(&format!(
                "    # slogate: {}\n",
                crate::report::sanitize::text(n).replace(['\n', '\r'], " ")
            ));
        }
        objectives.push_str(&format!(
            "    - analysisValueTemplateRef:\n        name: {}\n",
            dns_name(&o.sli)
        ));
        if failure.is_some() || warning.is_some() {
            objectives.push_str("      target:\n");
            if let Some(f) = failure {
                objectives.push_str(&format!("        failure:\n          {f}\n"));
            }
            if let Some(w) = warning {
                objectives.push_str(&format!("        warning:\n          {w}\n"));
            }
        }
        objectives.push_str(&format!("      weight: {}\n", o.weight.unwrap_or(1)));
        if o.key_sli {
            objectives.push_str("      keyObjective: true\n");
        }
    }
    let pct = |s: &Option<String>| {
        s.as_ref()
            .map(|p| p.trim().trim_end_matches('%').to_string())
    };
    let mut total = String::new();
    if let Some(p) = pct(&m.total_pass) {
        total.push_str(&format!("  totalScore:\n    passPercentage: {p}\n"));
        if let Some(w) = pct(&m.total_warning) {
            total.push_str(&format!("    warningPercentage: {w}\n"));
        }
    }
    let objectives = if objectives.is_empty() {
        "  objectives: []\n".to_string()
    } else {
        format!("  objectives:\n{objectives}")
    };
    docs.push(format!("apiVersion: {API_VERSION}\nkind: AnalysisDefinition\nmetadata:\n  name: {}\nspec:\n{objectives}{total}", dns_name(name)));
    let text = format!("{}{templates}", docs.join("---\n"));
    Exported { text, losses }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_negated_both_ways() {
        let cond = |y: &str| {
            let f = SourceFile::new("c.yaml", y);
            let (roots, _) = yaml::parse_documents(&f);
            passing(&roots[0])
        };
        assert_eq!(
            cond("greaterThan: {fixedValue: 600}"),
            Ok(vec![vec!["<=600".to_string()]])
        );
        assert_eq!(
            cond("lessThan: {fixedValue: 500m}"),
            Ok(vec![vec![">=0.5".to_string()]])
        );
        assert_eq!(
            cond("inRange: {lowBound: 1, highBound: 5}"),
            Ok(vec![vec!["<1".to_string()], vec![">5".to_string()]])
        );
        assert!(cond("equalTo: {fixedValue: 1}").unwrap_err().contains("!="));
        assert_eq!(
            condition(&["<=600".into()]).as_deref(),
            Some("greaterThan: {fixedValue: 600}")
        );
        assert_eq!(
            condition(&[">=1".into(), "<=5".into()]).as_deref(),
            Some("notInRange: {lowBound: 1, highBound: 5}")
        );
        assert_eq!(condition(&["<=+10%".into()]), None);
    }
}
