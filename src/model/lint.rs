//! Checks beyond the file format: criteria, thresholds, references between files, placeholders.
//!
//! Pure: every check takes parsed (or merged) values and returns problems.

use crate::diag::{Problem, Sourced};
use crate::eval::parse_percentage;
use crate::model::criteria::{Criterion, Operator, Target};
use crate::model::layout::MergedSli;
use crate::model::placeholder;
use crate::model::read::did_you_mean;
use crate::model::sli::Sli;
use crate::model::slo::{
    AGGREGATE_FUNCTIONS, COMPARE_WITH_VALUES, Group, INCLUDE_RESULT_VALUES, Objective, Slo,
};
use crate::model::sources::Assigned;
use crate::source::SourceKind;

/// Keptn's dynatrace-service SLIs that exist when no sli.yaml defines any (reference §5).
pub const DEFAULT_SLIS: &[&str] = &[
    "throughput",
    "error_rate",
    "response_time_p50",
    "response_time_p90",
    "response_time_p95",
];

const CRITERIA_HELP: &str = "a criterion is an operator (<, <=, =, >=, >) and a number: `<600` (absolute), `<=+10%` or `<=-5` (relative to the baseline)";

/// Lint errors in files that Keptn still scored, its own way: `slogate lint` keeps them errors
/// (CI should fix them), but `score`, `eval` and `gate` evaluate such files as Keptn did and
/// show them as warnings. Every other error stops scoring (e.g. `bad-weight`: a negative weight
/// would score 300 %).
const KEPTN_SCORED: &[&str] = &[
    "slogate::bad-query",
    "slogate::no-baseline-possible",
    "slogate::unknown-value",
    "slogate::bad-number",
    "slogate::warning-above-pass",
    "slogate::key-sli-without-pass",
    "slogate::bad-percentage",
    "slogate::unknown-placeholder",
];

/// Errors that make the outcome `invalid` (exit 2) without stopping the evaluation before it
/// fetches: the report still shows the other SLIs' values and what Keptn would have said (its
/// view stays in the JSON report, so Keptn tooling keeps agreeing).
const INVALID_BUT_EVALUATED: &[&str] = &["slogate::undefined-sli"];

/// Whether a finding stops `eval` and `gate` before anything is fetched.
pub fn stops(p: &Problem) -> bool {
    p.is_error() && !INVALID_BUT_EVALUATED.contains(&p.code)
}

/// The findings as `score`, `eval` and `gate` see them: errors that Keptn scored anyway become
/// warnings; the rest stay errors and stop the run before any verdict.
pub fn for_scoring(findings: Vec<Problem>) -> Vec<Problem> {
    findings
        .into_iter()
        .map(|mut p| {
            if p.is_error() && KEPTN_SCORED.contains(&p.code) {
                p.severity = crate::diag::Severity::Warning;
            }
            p
        })
        .collect()
}

/// Checks of one slo.yaml on its own.
pub fn check_slo(slo: &Slo) -> Vec<Problem> {
    let mut out = Vec::new();
    check_comparison(slo, &mut out);
    check_total_score(slo, &mut out);
    let mut firsts_by_sli: std::collections::HashMap<&str, Vec<usize>> =
        std::collections::HashMap::new();
    for (i, o) in slo.objectives.iter().enumerate() {
        // Several objectives on one SLI are fine (each gets the value, as in Keptn); only flag
        // pairs that no value can pass together. Earlier objectives per SLI come from a map
        // (bounded), so 33 000 objectives stay linear.
        let earlier = firsts_by_sli.entry(o.sli.value.as_str()).or_default();
        let contradicted = earlier
            .iter()
            .map(|&k| &slo.objectives[k])
            .find(|f| never_both_pass(f, o));
        // A real file has a handful per SLI; past 16 the pairs are not worth quadratic time.
        if earlier.len() < 16 {
            earlier.push(i);
        }
        if let Some(first) = contradicted {
            out.push(
                Problem::warning("slogate::contradicting-objectives", &o.sli.origin, format!("no value of SLI `{}` can pass both of its objectives", o.sli.value))
                    .label("this objective")
                    .note(&first.sli.origin, "contradicts this one")
                    .help("every objective on an SLI is scored with the same value, so one of the two always misses pass; check the thresholds (use several `criteria:` lists in one objective for OR)"),
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

/// Whether no value can satisfy the pass criteria of both objectives, judged by their absolute
/// criteria only (a relative criterion may hold for any value, depending on the baseline).
fn never_both_pass(a: &Objective, b: &Objective) -> bool {
    fn absolute(g: &Group) -> Option<Vec<(Operator, f64)>> {
        g.criteria
            .iter()
            .filter_map(|raw| match Criterion::parse(&raw.value) {
                Ok(c) => match c.target {
                    Target::Absolute(t) => Some(Ok((c.op, t))),
                    Target::Relative { .. } => None,
                },
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()
            .ok()
    }
    /// Some value meets every criterion: one of the thresholds, a point between two, or beyond.
    fn satisfiable(criteria: &[(Operator, f64)]) -> bool {
        let mut points: Vec<f64> = criteria.iter().map(|c| c.1).collect();
        points.sort_by(f64::total_cmp);
        let mut candidates = points.clone();
        candidates.extend(points.windows(2).map(|w| w[0] / 2.0 + w[1] / 2.0));
        if let (Some(lo), Some(hi)) = (points.first(), points.last()) {
            candidates.extend([lo - 1.0, hi + 1.0]);
        }
        candidates.is_empty()
            || candidates
                .iter()
                .any(|v| criteria.iter().all(|(op, t)| op.holds(*v, *t)))
    }
    if a.pass.is_empty() || b.pass.is_empty() {
        return false;
    }
    let (Some(ga), Some(gb)) = (
        a.pass.iter().map(absolute).collect::<Option<Vec<_>>>(),
        b.pass.iter().map(absolute).collect::<Option<Vec<_>>>(),
    ) else {
        return false; // a bad criterion is reported on its own
    };
    !ga.iter().any(|x| {
        gb.iter().any(|y| {
            let both: Vec<(Operator, f64)> = x.iter().chain(y).copied().collect();
            satisfiable(&both)
        })
    })
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
        } else if let Some(used) = match c.compare_with.as_ref().map(|w| w.value.as_str()) {
            Some("several_results") => None,
            Some("single_result") => Some(1),
            // §8: without `several_results` Keptn compares with 3 (an unknown value is reported
            // on its own).
            _ => Some(3),
        } && n.value > 0
            && n.value != used
        {
            // Only a count that differs from the one Keptn uses is worth a word: the tutorial's
            // `single_result` with 1 changes nothing.
            out.push(
                Problem::warning(
                    "slogate::ignored-setting",
                    &n.origin,
                    format!(
                        "number_of_comparison_results: {} is ignored; Keptn compares with {used} previous result{}",
                        n.value,
                        if used == 1 { "" } else { "s" }
                    ),
                )
                .label("ignored")
                .help(format!(
                    "to compare with {} results write `compare_with: several_results`; else write {used} or remove this line",
                    n.value
                )),
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
                        && c.op != crate::model::criteria::Operator::Eq =>
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

/// Checks of the queries of a Dynatrace sli.yaml: each must parse with the parser `eval` uses (an
/// SLI that cannot be turned into a request never gets a value), and an `MV2;` unit that only
/// older dynatrace-service versions read gets a word on the modern form. Queries are read as
/// written: placeholders only fill in selector values, they do not change the form.
pub fn check_queries(sli: &Sli) -> Vec<Problem> {
    let mut out = Vec::new();
    for ind in &sli.indicators {
        let q = &ind.query;
        match crate::query::parse::parse(&q.value) {
            Err(reason) => out.push(
                Problem::error(
                    "slogate::bad-query",
                    &q.origin,
                    format!(
                        "SLI `{}` cannot be turned into a request: {reason}",
                        ind.name.value
                    ),
                )
                .label("dynatrace-service and slogate cannot read this query")
                .help(query_help(&q.value)),
            ),
            Ok(crate::query::SliQuery::Mv2 {
                unit: crate::query::Mv2Unit::Unscaled,
                metrics: m,
                ..
            }) => {
                check_selector(&ind.name.value, q, &m.metric_selector, &mut out);
                // The parser accepted `MV2;<unit>;<rest>`: three pieces.
                let parts: Vec<&str> = q.value.trim().splitn(3, ';').collect();
                let prefix = format!("{};{};", parts[0], parts.get(1).unwrap_or(&""));
                let rest = parts.get(2).copied().unwrap_or("");
                // Point at the prefix when the source spells it the same way.
                let origin = match q.origin.snippet().find(&prefix) {
                    Some(at) => {
                        let start = q.origin.span.start + at;
                        crate::diag::Origin::new(&q.origin.file, start..start + prefix.len())
                    }
                    None => q.origin.clone(),
                };
                out.push(
                    Problem::warning(
                        "slogate::old-mv2-unit",
                        &origin,
                        format!("SLI `{}` uses `{prefix}`, written by older dashboard exports", ind.name.value),
                    )
                    .label("read as older dynatrace-service versions did: value unscaled")
                    .help(format!(
                        "dynatrace-service 0.27 refused this unit; MV2 only scales MicroSecond and Byte. For the same value write the query without the prefix: `{}`; to convert, add `:toUnit(<from>,<to>)` to the metric selector",
                        shorten(rest)
                    )),
                );
            }
            Ok(
                crate::query::SliQuery::Metrics(m) | crate::query::SliQuery::Mv2 { metrics: m, .. },
            ) => check_selector(&ind.name.value, q, &m.metric_selector, &mut out),
            Ok(_) => {}
        }
    }
    out
}

/// The metric selector read with Dynatrace's grammar ([`crate::query::selector`]): a near miss
/// of a transformation, aggregation or unit is an error that names the valid one; a name that
/// is merely unknown is a warning. Each finding underlines its text in the sli.yaml.
fn check_selector(name: &str, q: &Sourced<String>, selector: &str, out: &mut Vec<Problem>) {
    for f in crate::query::selector::check(selector) {
        let origin =
            locate(&q.origin, selector, f.span.clone()).unwrap_or_else(|| q.origin.clone());
        let found = &selector[f.span.clone()];
        let p = if f.certain {
            Problem::error(
                "slogate::bad-selector",
                &origin,
                format!("SLI `{name}`: {} in the metric selector", f.message),
            )
            .label("Dynatrace refuses this (400 Metric selector parse error)")
        } else {
            Problem::warning(
                "slogate::unknown-transformation",
                &origin,
                format!("SLI `{name}`: {} in the metric selector", f.message),
            )
            .label("not checked")
        };
        out.push(match f.suggestion {
            Some(s) => p.help(format!("did you mean `{s}`? (write `{s}` instead of `{found}`)")),
            None if f.certain => p.help("see Dynatrace's \"Metric selector transformations\" for the syntax"),
            None => p.help("if Dynatrace knows it, ignore this; otherwise check the spelling against Dynatrace's \"Metric selector transformations\""),
        });
    }
}

/// Where `span` of `selector` is in the file: the selector as written, or (in a double-quoted
/// YAML string) with its quotes escaped as `\"`. `None` when the source spells it otherwise.
fn locate(
    origin: &crate::diag::Origin,
    selector: &str,
    span: std::ops::Range<usize>,
) -> Option<crate::diag::Origin> {
    let source = origin.snippet();
    let at = |offset: usize, escaped: bool| {
        let before = if escaped {
            selector[..offset].matches('"').count()
        } else {
            0
        };
        offset + before
    };
    let (start, escaped) = match source.find(selector) {
        Some(i) => (i, false),
        None => (source.find(&selector.replace('"', "\\\""))?, true),
    };
    let from = origin.span.start + start + at(span.start, escaped);
    let to = origin.span.start + start + at(span.end, escaped);
    Some(crate::diag::Origin::new(&origin.file, from..to.max(from)))
}

/// What to write instead of a query the parser refused.
fn query_help(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        return "write the query, e.g. `metricSelector=builtin:service.response.time:avg&entitySelector=type(SERVICE),tag(keptn_service:$SERVICE)`".into();
    }
    if t.to_lowercase().starts_with("select ") {
        return format!(
            "a user-session query needs the USQL prefix: `USQL;<SINGLE_VALUE|PIE_CHART|COLUMN_CHART|LINE_CHART|TABLE>;<dimension>;{}`",
            shorten(t)
        );
    }
    "the query forms are `metricSelector=…[&entitySelector=…]`, `MV2;<MicroSecond|Byte>;…`, `SLO;<id>`, `PV2;…`, `SECPV2;…`, `USQL;<TYPE>;<dimension>;<query>` and `DQL;<query>` (docs/dynatrace.md)".into()
}

/// A long query cut for a help text.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Checks of a merged service view: objectives must name defined SLIs; the SLO must be scorable.
pub fn check_merged_in(slo: &Slo, assigned: &Assigned, context: &str) -> Vec<Problem> {
    let mut out = check_scorable(slo, context);
    out.extend(check_references_in(slo, assigned, context));
    out.extend(assigned.conflicts(context));
    out
}

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

/// [`check_references`] across sources: each objective's SLI must be defined for the source it
/// is asked from ([`Assigned::source_of`]).
pub fn check_references_in(slo: &Slo, assigned: &Assigned, context: &str) -> Vec<Problem> {
    let mut dynatrace = slo.clone();
    dynatrace.objectives.retain(|o| {
        assigned.source_of(&o.sli.value) == SourceKind::Dynatrace && !assigned.defines(&o.sli.value)
    });
    let mut out = check_references(&dynatrace, &assigned.dynatrace, context);
    for o in &slo.objectives {
        let name = o.sli.value.as_str();
        if assigned.source_of(name) != SourceKind::Prometheus || assigned.defines(name) {
            continue;
        }
        let mut names: Vec<&str> = assigned.prometheus.keys().map(String::as_str).collect();
        names.extend(crate::source::prometheus::queries::BUILT_IN);
        let p = Problem::error(
            "slogate::undefined-sli",
            &o.sli.origin,
            format!(
                "objective names SLI `{name}`, which no prometheus/sli.yaml defines and which is not a built-in Prometheus SLI{context}"
            ),
        )
        .label("not defined");
        out.push(match did_you_mean(name, &names) {
            Some(s) => p.help(format!("did you mean `{s}`?")),
            None => p.help(format!(
                "define `{name}` under `indicators:` in prometheus/sli.yaml, or use one of: {}",
                names.join(", ")
            )),
        });
    }
    out
}

pub mod prometheus;

#[cfg(test)]
mod tests;
