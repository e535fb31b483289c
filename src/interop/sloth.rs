//! Sloth specs (`version: prometheus/v1`): Prometheus SLOs as an error query over a total query
//! (or a raw error ratio), with `{{.window}}` for the range.
//!
//! An SLO becomes a Prometheus SLI that gives the good share in percent over the evaluated window
//! (`100 * (1 - (errors) / (total))`, `{{.window}}` → `$DURATION_SECONDS`) and an objective
//! `>=<objective>`. Export recognises that form (and the raw form) and writes it back.

use std::sync::Arc;

use super::{Exported, Imported, Indicator, Loss, Model, Objective, Source, number, refused};
use super::{absolute, scalar};
use crate::diag::SourceFile;
use crate::model::criteria::Operator;
use crate::model::yaml::{self, Node};

pub const VERSION: &str = "prometheus/v1";
const WINDOW: &str = "{{.window}}";
const DURATION: &str = crate::query::promql::DURATION;

fn text<'a>(n: &'a Node, key: &str) -> Option<&'a str> {
    n.get(key).and_then(Node::as_scalar)
}

fn events_query(errors: &str, total: &str) -> String {
    format!("100 * (1 - ({errors}) / ({total}))")
}

fn raw_query(ratio: &str) -> String {
    format!("100 * (1 - ({ratio}))")
}

/// Reads Sloth specs (one or more documents per file).
pub fn import(files: &[Arc<SourceFile>]) -> Imported {
    let mut out = Imported::default();
    for f in files {
        let (roots, p) = yaml::parse_documents(f);
        out.problems.extend(p);
        for root in roots.iter().filter(|n| !n.is_null()) {
            spec(root, &mut out);
        }
    }
    if !out.model.objectives.is_empty() {
        out.model.total_pass = Some("100%".into());
    }
    out
}

fn spec(root: &Node, out: &mut Imported) {
    match text(root, "version") {
        Some(VERSION) => {}
        other => {
            out.problems.push(refused(
                &root.get("version").unwrap_or(root).origin,
                format!("version `{}` is not {VERSION}", other.unwrap_or("")),
                "slogate reads Sloth's prometheus/v1 specs (the Kubernetes PrometheusServiceLevel form: take its spec)",
            ));
            return;
        }
    }
    if let Some(l) = root.get("labels") {
        out.losses.push(Loss::new(
            &l.origin,
            "labels",
            "Keptn objectives carry no labels",
        ));
    }
    let Some(slos) = root.get("slos").and_then(Node::as_seq) else {
        out.problems.push(refused(
            &root.origin,
            "no slos",
            "a Sloth spec lists its SLOs under slos:",
        ));
        return;
    };
    for s in slos {
        let Some(name) = text(s, "name") else {
            out.problems.push(refused(
                &s.origin,
                "an SLO without name",
                "give each SLO a name",
            ));
            continue;
        };
        let Some(objective) = text(s, "objective")
            .and_then(|o| o.parse::<f64>().ok())
            .filter(|o| (0.0..=100.0).contains(o))
        else {
            out.problems.push(refused(
                &s.origin,
                format!("SLO `{name}`: objective must be a percentage (0 to 100)"),
                "e.g. objective: 99.9",
            ));
            continue;
        };
        let sli = s.get("sli");
        let events = sli.and_then(|x| x.get("events"));
        let raw = sli.and_then(|x| x.get("raw"));
        let query = match (events, raw) {
            (Some(e), _) => match (text(e, "error_query"), text(e, "total_query")) {
                (Some(err), Some(total)) => events_query(
                    &err.trim().replace(WINDOW, DURATION),
                    &total.trim().replace(WINDOW, DURATION),
                ),
                _ => {
                    out.problems.push(refused(
                        &e.origin,
                        format!("SLO `{name}`: events need error_query and total_query"),
                        "give both queries",
                    ));
                    continue;
                }
            },
            (None, Some(r)) => match text(r, "error_ratio_query") {
                Some(q) => raw_query(&q.trim().replace(WINDOW, DURATION)),
                None => {
                    out.problems.push(refused(
                        &r.origin,
                        format!("SLO `{name}`: raw needs error_ratio_query"),
                        "give the error ratio query",
                    ));
                    continue;
                }
            },
            _ => {
                out.problems.push(refused(&s.origin, format!("SLO `{name}`: only events and raw SLIs convert (a plugin SLI's query lives in the plugin)"), "write the SLI as events (error_query, total_query) or raw"));
                continue;
            }
        };
        if let Some(a) = s.get("alerting") {
            out.losses.push(Loss::new(
                &a.origin,
                format!("alerting of SLO `{name}`"),
                "alerts are not objectives; Sloth's page alert is the multi-window burn rate, which a gate can check with a BURN; SLI and `<14.4` (docs/slo-reference.md#error-budgets-and-burn-rates)",
            ));
        }
        if out.model.indicator(name).is_some() {
            out.problems.push(refused(
                &s.origin,
                format!("SLO `{name}` is defined twice"),
                "SLO names are unique within a service",
            ));
            continue;
        }
        out.model.indicators.push(Indicator {
            name: name.to_string(),
            source: Source::Prometheus,
            query,
        });
        out.model.objectives.push(Objective {
            sli: name.to_string(),
            display_name: text(s, "description").map(str::to_string),
            pass: vec![vec![format!(">={}", number(objective))]],
            ..Objective::default()
        });
    }
}

/// The index just past the `)` that closes a `(` whose content starts at `s[0]`; quoted strings
/// are skipped.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 1;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The Sloth SLI of a query written by [`import`]: `events` (errors, total) or `raw` (ratio).
fn recognise(query: &str) -> Option<(String, Option<String>)> {
    let inner = query.strip_prefix("100 * (1 - (")?;
    let end = closing(inner)?;
    let first = &inner[..end];
    let rest = &inner[end..];
    if rest == "))" {
        return Some((first.to_string(), None));
    }
    let second = rest.strip_prefix(") / (")?;
    let end2 = closing(second)?;
    (&second[end2..] == "))").then(|| (first.to_string(), Some(second[..end2].to_string())))
}

/// Writes the model's Prometheus SLIs as one Sloth spec for `service`.
pub fn export(read: &super::keptn::Read, service: &str) -> Exported {
    let m: &Model = &read.model;
    let mut losses = Vec::new();
    let mut slos = String::new();
    for (k, o) in m.objectives.iter().enumerate() {
        let at = &read.objective_origins[k];
        let Some(ind) = m.indicator(&o.sli) else {
            continue;
        };
        if ind.source != Source::Prometheus {
            losses.push(Loss::new(
                at,
                format!("objective `{}` on a Dynatrace SLI", o.sli),
                "Sloth specs are Prometheus only",
            ));
            continue;
        }
        let Some((a, b)) = recognise(&ind.query) else {
            losses.push(Loss::new(at, format!("objective `{}`", o.sli), "its query is not a good share in percent as `100 * (1 - (<errors>) / (<total>))` or `100 * (1 - (<error ratio>))`: Sloth needs the error and total queries"));
            continue;
        };
        let target = match o.pass.as_slice() {
            [list] => match list.as_slice() {
                [c] => absolute(c)
                    .filter(|(op, _)| *op == Operator::Ge)
                    .map(|(_, v)| v),
                _ => None,
            },
            _ => None,
        };
        let Some(target) = target else {
            losses.push(Loss::new(
                at,
                format!("objective `{}`", o.sli),
                "a Sloth objective is one `>=` percentage; this one's criteria are different",
            ));
            continue;
        };
        if !o.warning.is_empty() || o.key_sli || o.weight.is_some() {
            losses.push(Loss::new(
                at,
                format!("objective `{}`: warning, key_sli or weight", o.sli),
                "Sloth SLOs have an objective only",
            ));
        }
        let w = |q: &str| q.replace(DURATION, WINDOW);
        slos.push_str(&format!(
            "  - name: {}\n    objective: {}\n",
            scalar(&o.sli),
            number(target)
        ));
        if let Some(d) = &o.display_name {
            slos.push_str(&format!("    description: {}\n", scalar(d)));
        }
        match b {
            Some(total) => slos.push_str(&format!(
                "    sli:\n      events:\n        error_query: {}\n        total_query: {}\n",
                scalar(&w(&a)),
                scalar(&w(&total))
            )),
            None => slos.push_str(&format!(
                "    sli:\n      raw:\n        error_ratio_query: {}\n",
                scalar(&w(&a))
            )),
        }
        slos.push_str("    alerting:\n      page_alert:\n        disable: true\n      ticket_alert:\n        disable: true\n");
    }
    let text = if slos.is_empty() {
        String::new()
    } else {
        format!(
            "version: {}\nservice: {}\nslos:\n{slos}",
            scalar(VERSION),
            scalar(service)
        )
    };
    Exported { text, losses }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_import_and_are_recognised_back() {
        let spec = "version: \"prometheus/v1\"\nservice: checkout\nslos:\n  - name: requests-availability\n    objective: 99.9\n    sli:\n      events:\n        error_query: sum(rate(http_requests_total{code=~\"(5..|429)\"}[{{.window}}]))\n        total_query: sum(rate(http_requests_total[{{.window}}]))\n    alerting:\n      page_alert: {labels: {severity: page}}\n";
        let got = import(&[SourceFile::new("s.yaml", spec)]);
        assert!(got.problems.is_empty(), "{:?}", got.problems);
        let q = &got.model.indicators[0].query;
        assert_eq!(
            q,
            "100 * (1 - (sum(rate(http_requests_total{code=~\"(5..|429)\"}[$DURATION_SECONDS]))) / (sum(rate(http_requests_total[$DURATION_SECONDS]))))"
        );
        assert_eq!(
            got.model.objectives[0].pass,
            vec![vec![">=99.9".to_string()]]
        );
        assert_eq!(got.losses.len(), 1);
        let (e, t) = recognise(q).unwrap();
        assert!(e.contains("(5..|429)") && t.unwrap().starts_with("sum(rate("));
        assert_eq!(recognise("100 * (1 - (x))"), Some(("x".into(), None)));
        assert_eq!(recognise("sum(x)"), None);
        assert_eq!(crate::source::prometheus::promql::check(q), None);
    }
}
