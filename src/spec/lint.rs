//! Checks beyond the file format: criteria, thresholds, references between files, placeholders.
//!
//! Pure: every check takes parsed (or merged) values and returns problems.

use crate::diag::{Problem, Sourced};
use crate::eval::parse_percentage;
use crate::spec::criteria::{Criterion, Target};
use crate::spec::layout::MergedSli;
use crate::spec::placeholder;
use crate::spec::read::did_you_mean;
use crate::spec::sli::Sli;
use crate::spec::slo::{
    AGGREGATE_FUNCTIONS, COMPARE_WITH_VALUES, Group, INCLUDE_RESULT_VALUES, Objective, Slo,
};

/// Keptn's dynatrace-service SLIs that exist when no sli.yaml defines any (reference §5).
pub const DEFAULT_SLIS: &[&str] = &[
    "throughput",
    "error_rate",
    "response_time_p50",
    "response_time_p90",
    "response_time_p95",
];

const CRITERIA_HELP: &str = "a criterion is an operator (<, <=, =, >=, >) and a number: `<600` (absolute), `<=+10%` or `<=-5` (relative to the baseline)";

/// Checks of one slo.yaml on its own.
pub fn check_slo(slo: &Slo) -> Vec<Problem> {
    let mut out = Vec::new();
    check_comparison(slo, &mut out);
    check_total_score(slo, &mut out);
    // First objective per SLI in one pass (not a scan of the earlier ones: 33 000 objectives).
    let mut firsts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, o) in slo.objectives.iter().enumerate() {
        let first_at = *firsts.entry(o.sli.value.as_str()).or_insert(i);
        if let Some(first) = (first_at != i).then(|| &slo.objectives[first_at]) {
            out.push(
                Problem::error("slogate::duplicate-objective", &o.sli.origin, format!("a second objective on SLI `{}`", o.sli.value))
                    .label("second objective")
                    .note(&first.sli.origin, "first objective on this SLI")
                    .help("Keptn gives each SLI value to one objective only, so this one would always fail for lack of a value; merge the two objectives (use several `criteria:` lists for OR)"),
            );
        }
        check_objective(o, &mut out);
    }
    let relative = slo
        .objectives
        .iter()
        .flat_map(|o| o.pass.iter().chain(&o.warning))
        .flat_map(|g| &g.criteria)
        .find(|c| Criterion::parse(&c.value).is_ok_and(|c| c.is_relative()));
    if let Some(c) = relative {
        let eff = slo.effective_comparison();
        if eff.previous_count() == 0 {
            let at = slo
                .comparison
                .as_ref()
                .and_then(|c| c.number_of_comparison_results.as_ref())
                .map(|n| n.origin.clone())
                .unwrap_or_else(|| c.origin.clone());
            out.push(
                Problem::error("slogate::no-baseline-possible", &at, "relative criteria can never get a baseline: no previous evaluation is compared")
                    .label("compares with 0 previous results")
                    .note(&c.origin, "relative criterion")
                    .help("set `number_of_comparison_results` to 1 or more, or write absolute criteria"),
            );
        }
    }
    out
}

fn check_comparison(slo: &Slo, out: &mut Vec<Problem>) {
    let Some(c) = &slo.comparison else { return };
    let mut value =
        |v: &Option<Sourced<String>>, allowed: &[&str], what: &str, keptn: &str, lower: bool| {
            let Some(v) = v else { return };
            let text = if lower {
                v.value.to_lowercase()
            } else {
                v.value.clone()
            };
            if !allowed.contains(&text.as_str()) {
                let mut p = Problem::error(
                    "slogate::unknown-value",
                    &v.origin,
                    format!("unknown {what} `{}`", v.value),
                )
                .label(format!("Keptn {keptn}"));
                p = match did_you_mean(&v.value, allowed) {
                    Some(s) => p.help(format!(
                        "did you mean `{s}`? Valid values: {}",
                        allowed.join(", ")
                    )),
                    None => p.help(format!("valid values: {}", allowed.join(", "))),
                };
                out.push(p);
            }
        };
    value(
        &c.compare_with,
        COMPARE_WITH_VALUES,
        "compare_with",
        "compares with 3 previous results for any other value",
        false,
    );
    value(
        &c.include_result_with_score,
        INCLUDE_RESULT_VALUES,
        "include_result_with_score",
        "treats any other value as `all`",
        true,
    );
    value(
        &c.aggregate_function,
        AGGREGATE_FUNCTIONS,
        "aggregate_function",
        "uses a baseline of 0 for any other value",
        false,
    );
    if let Some(n) = &c.number_of_comparison_results {
        if n.value < 0 {
            out.push(
                Problem::error(
                    "slogate::bad-number",
                    &n.origin,
                    "number_of_comparison_results cannot be negative",
                )
                .label("negative")
                .help("write how many previous evaluations to compare with, e.g. 3"),
            );
        } else if n.value > 0
            && c.compare_with
                .as_ref()
                .is_none_or(|w| w.value != "several_results")
        {
            out.push(
                Problem::warning(
                    "slogate::ignored-setting",
                    &n.origin,
                    "number_of_comparison_results only counts with `compare_with: several_results`",
                )
                .label("ignored")
                .help("add `compare_with: several_results`, or remove this line"),
            );
        }
    }
}

fn check_total_score(slo: &Slo, out: &mut Vec<Problem>) {
    let Some(t) = &slo.total_score else { return };
    fn parsed<'a>(
        v: &'a Option<Sourced<String>>,
        what: &str,
        out: &mut Vec<Problem>,
    ) -> Option<(f64, &'a Sourced<String>)> {
        let v = v.as_ref()?;
        match parse_percentage(&v.value) {
            None => {
                out.push(
                    Problem::error(
                        "slogate::bad-percentage",
                        &v.origin,
                        format!("total_score.{what} is not a percentage"),
                    )
                    .label("not a number with an optional %")
                    .help(format!(
                        "write a number from 0 to 100 with an optional `%`, e.g. `{what}: \"90%\"`"
                    )),
                );
                None
            }
            Some(x) if !(0.0..=100.0).contains(&x) => {
                out.push(
                    Problem::error("slogate::bad-percentage", &v.origin, format!("total_score.{what} is {x}%, outside 0–100%"))
                        .label("out of range")
                        .help("the score is a percentage of the achievable weight; use a value from 0 to 100"),
                );
                None
            }
            Some(x) => Some((x, v)),
        }
    }
    let pass = parsed(&t.pass, "pass", out);
    let warning = parsed(&t.warning, "warning", out);
    if let (Some((p, pv)), Some((w, wv))) = (pass, warning)
        && w > p
    {
        out.push(
            Problem::error("slogate::warning-above-pass", &wv.origin, format!("the warning threshold {w}% is above the pass threshold {p}%"))
                .label("warning threshold")
                .note(&pv.origin, "pass threshold")
                .help("a warning is a score below pass; make `warning` lower than `pass` (e.g. pass: \"90%\", warning: \"75%\")"),
        );
    }
}

fn check_objective(o: &Objective, out: &mut Vec<Problem>) {
    for (groups, what) in [(&o.pass, "pass"), (&o.warning, "warning")] {
        for g in groups.iter() {
            check_group(g, what, out);
        }
    }
    if let Some(w) = &o.weight
        && w.value < 0
    {
        out.push(
            Problem::error(
                "slogate::bad-weight",
                &w.origin,
                "a weight cannot be negative",
            )
            .label("negative weight")
            .help("write a positive whole number; 0 means 1 in Keptn"),
        );
    }
    if o.pass.is_empty() {
        if let Some(k) = o.key_sli.as_ref().filter(|k| k.value) {
            out.push(
                Problem::error("slogate::key-sli-without-pass", &k.origin, format!("key SLI `{}` has no pass criteria", o.sli.value))
                    .label("key_sli: true")
                    .help("an objective without `pass` is informational and can never fail the gate; add `pass:` criteria or remove `key_sli`"),
            );
        }
        if !o.warning.is_empty() {
            out.push(
                Problem::warning("slogate::warning-without-pass", &o.sli.origin, format!("objective `{}` has warning criteria but no pass criteria", o.sli.value))
                    .label("informational objective")
                    .help("without `pass` the objective is not scored and `warning` has no effect (Keptn #2231); add `pass:` criteria"),
            );
        }
    }
    check_pass_looser_than_warning(o, out);
}

fn check_group(g: &Group, what: &str, out: &mut Vec<Problem>) {
    if g.criteria.is_empty() {
        out.push(
            Problem::warning(
                "slogate::empty-criteria",
                &g.origin,
                format!("a `{what}` entry without criteria is always satisfied"),
            )
            .label("no criteria")
            .help("add criteria, e.g. `criteria: [\"<600\"]`, or remove this entry"),
        );
    }
    for c in &g.criteria {
        if let Err(e) = Criterion::parse(&c.value) {
            let hint = if c.value.trim_start().starts_with("=<")
                || c.value.trim_start().starts_with("=>")
            {
                format!(
                    "write the operator as `{}` (`<=` or `>=`, in that order)",
                    if c.value.contains('<') { "<=" } else { ">=" }
                )
            } else {
                CRITERIA_HELP.to_string()
            };
            out.push(
                Problem::error(
                    "slogate::bad-criteria",
                    &c.origin,
                    format!("{e}: `{}`", c.value),
                )
                .label(e.to_string())
                .help(hint),
            );
        }
    }
}

/// Absolute upper bounds (`<`, `<=`) or lower bounds of a list of groups.
fn bounds(groups: &[Group], lower: bool) -> Vec<(f64, &Sourced<String>)> {
    groups
        .iter()
        .flat_map(|g| &g.criteria)
        .filter_map(|raw| {
            let c = Criterion::parse(&raw.value).ok()?;
            match c.target {
                Target::Absolute(v)
                    if c.op.is_lower_bound() == lower
                        && c.op != crate::spec::criteria::Operator::Eq =>
                {
                    Some((v, raw))
                }
                _ => None,
            }
        })
        .collect()
}

/// A warning threshold that is stricter than the pass threshold can only help values that fail
/// pass for another reason; usually the two were swapped.
fn check_pass_looser_than_warning(o: &Objective, out: &mut Vec<Problem>) {
    for lower in [false, true] {
        let pass = bounds(&o.pass, lower);
        let warn = bounds(&o.warning, lower);
        let (Some(p), Some(w)) = (
            if lower {
                pass.iter().min_by(|a, b| a.0.total_cmp(&b.0))
            } else {
                pass.iter().max_by(|a, b| a.0.total_cmp(&b.0))
            },
            if lower {
                warn.iter().min_by(|a, b| a.0.total_cmp(&b.0))
            } else {
                warn.iter().max_by(|a, b| a.0.total_cmp(&b.0))
            },
        ) else {
            continue;
        };
        let looser = if lower { p.0 < w.0 } else { p.0 > w.0 };
        if looser {
            out.push(
                Problem::warning(
                    "slogate::pass-looser-than-warning",
                    &w.1.origin,
                    format!("pass `{}` is looser than warning `{}`", p.1.value, w.1.value),
                )
                .label("stricter than the pass criterion")
                .note(&p.1.origin, "pass criterion")
                .help("a warning is meant for values that miss pass but are still acceptable; the warning threshold should be looser than pass (did you swap them?)"),
            );
        }
    }
}

/// Checks of one sli.yaml: unknown placeholders in queries.
pub fn check_sli(sli: &Sli, filter_keys: &[String]) -> Vec<Problem> {
    let mut out = Vec::new();
    for ind in &sli.indicators {
        let q = &ind.query;
        let snippet = q.origin.snippet();
        for occ in placeholder::scan(&q.value) {
            if placeholder::is_known(&occ.name, filter_keys) {
                continue;
            }
            let token = &q.value[occ.start..occ.end];
            // Point at the placeholder itself when the source spells it the same way.
            let origin = match snippet.find(token) {
                Some(at) => {
                    let start = q.origin.span.start + at;
                    crate::diag::Origin::new(&q.origin.file, start..start + token.len())
                }
                None => q.origin.clone(),
            };
            let help = match placeholder::prefix_match(&occ.name) {
                Some(k) => format!(
                    "Keptn would replace the `${k}` prefix and leave the rest (`${}` becomes `<{}>{}`); write `${k}` alone, `$LABEL.<key>` or `$ENV.<NAME>`",
                    occ.name,
                    k.to_lowercase(),
                    &occ.name[k.len()..]
                ),
                None => {
                    let head = occ.name.split('.').next().unwrap_or(&occ.name);
                    let mut candidates: Vec<&str> = placeholder::KNOWN.to_vec();
                    candidates.extend(["LABEL", "ENV"]);
                    let known = format!(
                        "known placeholders: ${}, $LABEL.<key>, $ENV.<NAME>, and `$<key>` for keys of the SLO's `filter`",
                        placeholder::KNOWN.join(", $")
                    );
                    match did_you_mean(head, &candidates) {
                        Some(s) => format!("did you mean `${s}`? {known}"),
                        None => known,
                    }
                }
            };
            out.push(
                Problem::error(
                    "slogate::unknown-placeholder",
                    &origin,
                    format!("unknown placeholder `{token}` in SLI `{}`", ind.name.value),
                )
                .label("not replaced by anything")
                .help(help),
            );
        }
    }
    out
}

/// Checks of a merged service view: objectives must name defined SLIs; the SLO must be scorable.
pub fn check_merged(slo: &Slo, sli: &MergedSli, context: &str) -> Vec<Problem> {
    let mut out = check_scorable(slo, context);
    out.extend(check_references(slo, sli, context));
    out
}

/// Whether Keptn can score this SLO at all: objectives exist and a pass threshold is set
/// wherever an objective is scored.
pub fn check_scorable(slo: &Slo, context: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    if let Some(at) = slo.anchor() {
        if slo.objectives.is_empty() {
            out.push(
                Problem::error("slogate::no-objectives", &at, format!("no objectives{context}"))
                    .help("Keptn fails an evaluation without objectives; add `objectives:` with at least one `- sli: <name>`"),
            );
        } else if slo.total_score.as_ref().is_none_or(|t| t.pass.is_none())
            && slo.objectives.iter().any(|o| !o.pass.is_empty())
        {
            out.push(
                Problem::error("slogate::missing-total-score", &at, format!("no `total_score.pass` threshold{context}"))
                    .help("Keptn fails the evaluation with \"no target score defined\"; add `total_score: {pass: \"90%\", warning: \"75%\"}`"),
            );
        }
    }
    out
}

/// Objectives must name SLIs that the merged sli.yaml files (or Keptn's defaults) define.
pub fn check_references(slo: &Slo, sli: &MergedSli, context: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    for o in &slo.objectives {
        let defined = if sli.any_file {
            sli.indicators.contains_key(&o.sli.value)
        } else {
            DEFAULT_SLIS.contains(&o.sli.value.as_str())
        };
        if defined {
            continue;
        }
        let names: Vec<&str> = if sli.any_file {
            sli.indicators.keys().map(String::as_str).collect()
        } else {
            DEFAULT_SLIS.to_vec()
        };
        let mut p = Problem::error(
            "slogate::undefined-sli",
            &o.sli.origin,
            format!(
                "objective names SLI `{}`, which no sli.yaml defines{context}",
                o.sli.value
            ),
        )
        .label("not defined");
        p = match did_you_mean(&o.sli.value, &names) {
            Some(s) if sli.any_file => p.help(format!("did you mean `{s}`?")),
            Some(s) => p.help(format!(
                "did you mean `{s}`? (no sli.yaml was found, so only Keptn's default SLIs exist: {}; add an sli.yaml defining `{}` if you meant a new SLI)",
                names.join(", "),
                o.sli.value
            )),
            None if sli.any_file => p.help(format!("define `{}` under `indicators:` in an sli.yaml, or use one of: {}", o.sli.value, names.join(", "))),
            None => p.help(format!(
                "no sli.yaml was found, so only Keptn's default SLIs exist ({}); add an sli.yaml defining `{}`",
                names.join(", "),
                o.sli.value
            )),
        };
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests;
