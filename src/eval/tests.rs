//! Table-driven tests of the lighthouse scoring, one test per rule of
//! `shared/reference/keptn-lighthouse.md` (the `sN_` prefix names its section), plus slogate's own
//! missing-baseline policy. Each test asserts the reference's behaviour.

// Case tables are tuples of inputs and expectations; naming each tuple type would hide the table.
#![allow(clippy::type_complexity)]

use super::previous::{PreviousEvaluation, select};
use super::*;
use crate::diag::SourceFile;
use crate::model::load::parse_slo;
use crate::model::slo::{EffectiveComparison, Slo};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const NO_VALUE: &str = "no value received from SLI provider";
/// The usual thresholds: pass at 90%, warning at 75%.
const TS: &str = "total_score: {pass: \"90%\", warning: \"75%\"}\n";

/// Builds an `Slo` from YAML text the way the CLI does; the text must load without errors.
fn slo(yaml: &str) -> Slo {
    let loaded = parse_slo(SourceFile::new("slo.yaml", yaml), vec![]);
    let errors: Vec<&str> = loaded
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.message.as_str())
        .collect();
    assert!(
        errors.is_empty(),
        "slo.yaml does not load: {errors:?}\n{yaml}"
    );
    loaded.value
}

/// One objective, written out as a YAML flow mapping.
#[derive(Clone, Default)]
struct Obj {
    sli: String,
    display_name: Option<String>,
    key_sli: bool,
    weight: Option<i64>,
    pass: Option<Vec<Vec<String>>>,
    warning: Option<Vec<Vec<String>>>,
}

fn obj(sli: &str) -> Obj {
    Obj {
        sli: sli.into(),
        ..Obj::default()
    }
}

fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
    g.iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect()
}

impl Obj {
    fn pass(mut self, g: &[&[&str]]) -> Self {
        self.pass = Some(groups(g));
        self
    }
    fn warning(mut self, g: &[&[&str]]) -> Self {
        self.warning = Some(groups(g));
        self
    }
    fn weight(mut self, w: i64) -> Self {
        self.weight = Some(w);
        self
    }
    fn key(mut self) -> Self {
        self.key_sli = true;
        self
    }
    fn named(mut self, display_name: &str) -> Self {
        self.display_name = Some(display_name.into());
        self
    }

    fn yaml(&self) -> String {
        let q = |s: &str| format!("{s:?}"); // a YAML double-quoted scalar for ASCII text
        let g = |gs: &[Vec<String>]| {
            let items: Vec<String> = gs
                .iter()
                .map(|c| {
                    let cs: Vec<String> = c.iter().map(|s| q(s)).collect();
                    format!("{{criteria: [{}]}}", cs.join(", "))
                })
                .collect();
            format!("[{}]", items.join(", "))
        };
        let mut fields = vec![format!("sli: {}", q(&self.sli))];
        if let Some(d) = &self.display_name {
            fields.push(format!("displayName: {}", q(d)));
        }
        if self.key_sli {
            fields.push("key_sli: true".into());
        }
        if let Some(w) = self.weight {
            fields.push(format!("weight: {w}"));
        }
        if let Some(p) = &self.pass {
            fields.push(format!("pass: {}", g(p)));
        }
        if let Some(w) = &self.warning {
            fields.push(format!("warning: {}", g(w)));
        }
        format!("  - {{{}}}\n", fields.join(", "))
    }
}

/// An slo.yaml with these objectives; `rest` adds top-level keys (comparison, total_score).
fn slo_of(objectives: &[Obj], rest: &str) -> Slo {
    let mut yaml = String::from("spec_version: \"1.0\"\nobjectives:\n");
    for o in objectives {
        yaml.push_str(&o.yaml());
    }
    yaml.push_str(rest);
    slo(&yaml)
}

/// An slo.yaml with these objectives and `total_score: {pass: 90%, warning: 75%}`.
fn gate(objectives: &[Obj]) -> Slo {
    slo_of(objectives, TS)
}

fn ok(metric: &str, value: f64) -> SliValue {
    SliValue {
        metric: metric.into(),
        value: Some(value),
        success: true,
        message: String::new(),
    }
}

fn unsuccessful(metric: &str, value: Option<f64>, message: &str) -> SliValue {
    SliValue {
        metric: metric.into(),
        value,
        success: false,
        message: message.into(),
    }
}

fn prev(id: &str, result: &str, indicators: Vec<SliValue>) -> PreviousEvaluation {
    PreviousEvaluation {
        id: id.into(),
        result: result.into(),
        score: None,
        indicators,
        invalidated: false,
    }
}

/// One passed previous evaluation per value, all of `metric`, ids `h1`, `h2`, ...
fn history(metric: &str, values: &[f64]) -> Vec<PreviousEvaluation> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| prev(&format!("h{}", i + 1), "pass", vec![ok(metric, *v)]))
        .collect()
}

fn target(criteria: &str, target_value: f64, violated: bool) -> TargetResult {
    TargetResult {
        criteria: criteria.into(),
        target_value,
        violated,
    }
}

fn cmp(compare_with: &str, include: &str, n: i64, aggregate: &str) -> EffectiveComparison {
    EffectiveComparison {
        compare_with: compare_with.into(),
        include_result_with_score: include.into(),
        number_of_comparison_results: n,
        aggregate_function: aggregate.into(),
    }
}

/// Scores with Keptn's policy and a successful retrieval.
fn run(slo: &Slo, values: &[SliValue], previous: &[PreviousEvaluation]) -> Evaluation {
    run_with(slo, &Retrieval::Ok, values, previous, MissingBaseline::Pass)
}

fn run_with(
    slo: &Slo,
    retrieval: &Retrieval,
    values: &[SliValue],
    previous: &[PreviousEvaluation],
    policy: MissingBaseline,
) -> Evaluation {
    let refs: Vec<&PreviousEvaluation> = previous.iter().collect();
    evaluate(slo, retrieval, values, &refs, policy)
}

/// The only indicator result of an evaluation.
fn single(e: &Evaluation) -> &IndicatorResult {
    assert_eq!(e.indicator_results.len(), 1, "{e:#?}");
    &e.indicator_results[0]
}

/// An evaluation that ran to the end (no abort, no threshold error).
fn assert_scored(e: &Evaluation) {
    assert_eq!(e.status, "succeeded", "{e:#?}");
    assert_eq!(e.invalid_input, None, "{e:#?}");
}

// ---------------------------------------------------------------------------------------------
// §1 slo.yaml and defaults
// ---------------------------------------------------------------------------------------------

#[test]
fn s1_no_comparison_block_defaults_to_single_result_all_1_avg() {
    for yaml in [
        "objectives: []\n",
        "comparison:\nobjectives: []\n",
        "comparison: ~\nobjectives: []\n",
    ] {
        let c = slo(yaml).effective_comparison();
        assert_eq!(c, cmp("single_result", "all", 1, "avg"), "{yaml}");
        assert_eq!(c.previous_count(), 1, "{yaml}");
    }
}

#[test]
fn s1_present_comparison_block_gets_defaults_but_compare_with_is_never_defaulted() {
    let cases: &[(&str, EffectiveComparison)] = &[
        ("{}", cmp("", "all", 3, "avg")),
        (
            "{compare_with: several_results}",
            cmp("several_results", "all", 3, "avg"),
        ),
        (
            "{compare_with: single_result}",
            cmp("single_result", "all", 3, "avg"),
        ),
        (
            "{number_of_comparison_results: 0}",
            cmp("", "all", 3, "avg"),
        ),
        (
            "{number_of_comparison_results: 7}",
            cmp("", "all", 7, "avg"),
        ),
        (
            "{include_result_with_score: \"\"}",
            cmp("", "all", 3, "avg"),
        ),
        ("{aggregate_function: \"\"}", cmp("", "all", 3, "avg")),
        ("{aggregate_function: p95}", cmp("", "all", 3, "p95")),
        (
            "{compare_with: several_results, include_result_with_score: pass, \
              number_of_comparison_results: 5, aggregate_function: p90}",
            cmp("several_results", "pass", 5, "p90"),
        ),
    ];
    for (block, expected) in cases {
        let yaml = format!("comparison: {block}\nobjectives: []\n");
        assert_eq!(&slo(&yaml).effective_comparison(), expected, "{block}");
    }
}

#[test]
fn s1_only_include_result_with_score_is_lower_cased() {
    let cases: &[(&str, EffectiveComparison)] = &[
        (
            "{include_result_with_score: PASS}",
            cmp("", "pass", 3, "avg"),
        ),
        (
            "{include_result_with_score: Pass_Or_Warn}",
            cmp("", "pass_or_warn", 3, "avg"),
        ),
        // every other keyword is case-sensitive
        (
            "{compare_with: SINGLE_RESULT}",
            cmp("SINGLE_RESULT", "all", 3, "avg"),
        ),
        ("{aggregate_function: AVG}", cmp("", "all", 3, "AVG")),
        ("{aggregate_function: P90}", cmp("", "all", 3, "P90")),
    ];
    for (block, expected) in cases {
        let yaml = format!("comparison: {block}\nobjectives: []\n");
        assert_eq!(&slo(&yaml).effective_comparison(), expected, "{block}");
    }
    // A case-mismatched compare_with is not single_result: N = 3.
    let c =
        slo("comparison: {compare_with: SINGLE_RESULT}\nobjectives: []\n").effective_comparison();
    assert_eq!(c.previous_count(), 3);
}

#[test]
fn s1_weight_zero_or_missing_counts_as_one() {
    let cases: &[(Option<i64>, i64)] = &[(None, 1), (Some(0), 1), (Some(1), 1), (Some(3), 3)];
    for (weight, effective) in cases {
        let mut o = obj("rt").pass(&[&["<600"]]);
        o.weight = *weight;
        let s = gate(&[o]);
        assert_eq!(s.objectives[0].effective_weight(), *effective, "{weight:?}");
        let e = run(&s, &[ok("rt", 100.0)], &[]);
        let r = single(&e);
        assert_eq!(
            (r.status, r.weight, r.score),
            (Status::Pass, *effective, *effective as f64),
            "{weight:?}"
        );
    }
    // The defaulted weight counts in the maximum too: 1 of 2 achieved.
    let s = gate(&[
        obj("rt").weight(0).pass(&[&["<600"]]),
        obj("err").pass(&[&["<1"]]),
    ]);
    let e = run(&s, &[ok("rt", 100.0), ok("err", 5.0)], &[]);
    assert_eq!(e.score, 50.0);
}

#[test]
fn s1_null_objectives_are_dropped() {
    let yaml =
        "objectives:\n  -\n  - sli: rt\n    pass: [{criteria: [\"<600\"]}]\n  - ~\n  - null\n"
            .to_string()
            + TS;
    let s = slo(&yaml);
    assert_eq!(s.objectives.len(), 1);
    let e = run(&s, &[ok("rt", 100.0)], &[]);
    assert_scored(&e);
    assert_eq!(single(&e).status, Status::Pass);
    assert_eq!((e.result, e.score), (Verdict::Pass, 100.0));
}

// ---------------------------------------------------------------------------------------------
// §2 Criteria strings
// ---------------------------------------------------------------------------------------------

/// Scores one objective with one pass criterion and returns (passed, its target).
fn one_criterion(
    criteria: &str,
    measured: f64,
    previous: &[PreviousEvaluation],
) -> (Status, Vec<TargetResult>) {
    let s = gate(&[obj("rt").pass(&[&[criteria]])]);
    let e = run(&s, &[ok("rt", measured)], previous);
    assert_scored(&e);
    let r = single(&e);
    (
        r.status,
        r.pass_targets
            .clone()
            .expect("evaluated objectives list passTargets"),
    )
}

#[test]
fn s2_reference_example_previous_10_10_avg() {
    let previous = history("rt", &[10.0, 10.0]);
    // (criteria, measured, targetValue, violated)
    let cases: &[(&str, f64, f64, bool)] = &[
        ("<=+10%", 11.0, 11.0, false),
        ("<=+10%", 11.01, 11.0, true),
        ("=-1", 9.0, 9.0, false),
        ("=-1", 9.5, 9.0, true),
    ];
    for (c, measured, t, violated) in cases {
        let (status, targets) = one_criterion(c, *measured, &previous);
        assert_eq!(
            targets,
            vec![target(c, *t, *violated)],
            "{c} with {measured}"
        );
        let expected = if *violated {
            Status::Fail
        } else {
            Status::Pass
        };
        assert_eq!(status, expected, "{c} with {measured}");
    }
}

#[test]
fn s2_criteria_grammar_and_target_arithmetic() {
    // Baseline A = 10 throughout.
    let previous = history("rt", &[10.0, 10.0]);
    // (criteria, measured, targetValue, violated)
    let cases: &[(&str, f64, f64, bool)] = &[
        // a trailing % alone is a relative increase (#1498)
        ("<=10%", 11.0, 11.0, false),
        ("<=10%", 11.5, 11.0, true),
        ("<=+10%", 11.0, 11.0, false),
        // -x% is a relative decrease
        (">=-10%", 9.0, 9.0, false),
        (">=-10%", 8.9, 9.0, true),
        // +x / -x are offsets from the baseline; `<-5` is A − 5, not an absolute −5
        ("<+5", 14.0, 15.0, false),
        ("<+5", 15.0, 15.0, true),
        ("<-5", 4.0, 5.0, false),
        ("<-5", 5.0, 5.0, true),
        ("=+0", 10.0, 10.0, false),
        // spaces are removed; the criterion is reported as written
        ("< = 600", 599.0, 600.0, false),
        ("<= +10 %", 11.0, 11.0, false),
        // absolute thresholds, Go ParseFloat forms
        ("<600", 599.0, 600.0, false),
        ("<1e3", 999.0, 1000.0, false),
        ("<1e3", 1000.0, 1000.0, true),
        ("<=.5", 0.5, 0.5, false),
        ("<inf", 1e300, f64::INFINITY, false),
        // every operator, at and around its target
        ("<5", 5.0, 5.0, true),
        ("<=5", 5.0, 5.0, false),
        ("<=5", 5.5, 5.0, true),
        ("=5", 5.0, 5.0, false),
        ("=5", 5.000001, 5.0, true), // exact float equality
        (">=5", 5.0, 5.0, false),
        (">=5", 4.9, 5.0, true),
        (">5", 5.0, 5.0, true),
        (">5", 5.1, 5.0, false),
        (">0", 0.0, 0.0, true),
    ];
    for (c, measured, t, violated) in cases {
        let (_, targets) = one_criterion(c, *measured, &previous);
        assert_eq!(
            targets,
            vec![target(c, *t, *violated)],
            "{c} with {measured}"
        );
    }
}

#[test]
fn s2_relative_criterion_without_baseline_is_satisfied_with_target_0() {
    let baselines: Vec<(&str, Vec<PreviousEvaluation>)> = vec![
        ("no previous evaluation", vec![]),
        (
            "previous evaluations without indicator results",
            vec![prev("e1", "fail", vec![])],
        ),
        (
            "only unsuccessful previous values",
            vec![prev(
                "e1",
                "pass",
                vec![
                    unsuccessful("rt", Some(10.0), "timeout"),
                    unsuccessful("rt", None, "x"),
                ],
            )],
        ),
        (
            "previous values of another metric",
            history("other", &[10.0]),
        ),
    ];
    for (what, previous) in &baselines {
        for c in ["<=+10%", "<=10%", ">=-10%", "<+5", "<-5", "=+0", "=-1"] {
            let (status, targets) = one_criterion(c, 1000.0, previous);
            assert_eq!(targets, vec![target(c, 0.0, false)], "{c}, {what}");
            assert_eq!(status, Status::Pass, "{c}, {what}");
        }
    }
}

#[test]
fn s2_baseline_zero_has_no_special_case() {
    let previous = history("rt", &[0.0]);
    let cases: &[(&str, f64, f64, bool)] = &[
        // dynatrace-service#818: every percentage target is 0
        ("<+101%", 0.0, 0.0, true),
        ("<=+10%", 0.0, 0.0, false),
        ("<=+10%", 0.1, 0.0, true),
        (">=-50%", 0.0, 0.0, false),
        // offsets still move the target
        ("<+5", 4.0, 5.0, false),
    ];
    for (c, measured, t, violated) in cases {
        let (status, targets) = one_criterion(c, *measured, &previous);
        assert_eq!(
            targets,
            vec![target(c, *t, *violated)],
            "{c} with {measured}"
        );
        assert_eq!(status == Status::Fail, *violated, "{c} with {measured}");
    }
}

#[test]
fn s2_and_within_a_list_or_across_lists() {
    let s = gate(&[obj("rt").pass(&[&[">=100", "<600"], &["=1000"]])]);
    let cases: &[(f64, Status)] = &[
        (300.0, Status::Pass),  // first list
        (100.0, Status::Pass),  // first list, at its bound
        (1000.0, Status::Pass), // second list only
        (50.0, Status::Fail),   // half of the first list
        (600.0, Status::Fail),
        (700.0, Status::Fail),
    ];
    for (measured, status) in cases {
        let e = run(&s, &[ok("rt", *measured)], &[]);
        assert_eq!(single(&e).status, *status, "{measured}");
    }
    // Mixed relative and absolute lists, as in the reference's sample slo.yaml (A = 500).
    let s = gate(&[obj("rt").pass(&[&["<=+10%", "<600"], &["<=800"]])]);
    let previous = history("rt", &[500.0]);
    for (measured, status) in [
        (540.0, Status::Pass),
        (560.0, Status::Pass),
        (801.0, Status::Fail),
    ] {
        let e = run(&s, &[ok("rt", measured)], &previous);
        assert_eq!(single(&e).status, status, "{measured}");
    }
}

#[test]
fn s2_every_criterion_is_evaluated_and_reported_in_order() {
    let previous = history("rt", &[10.0]);
    // The first list passes; the second is evaluated anyway (no short cut).
    let s = gate(&[obj("rt").pass(&[&[">=100", "<600"], &["=1000", "<=+10%"]])]);
    let e = run(&s, &[ok("rt", 300.0)], &previous);
    let r = single(&e);
    assert_eq!(r.status, Status::Pass);
    assert_eq!(
        r.pass_targets,
        Some(vec![
            target(">=100", 100.0, false),
            target("<600", 600.0, false),
            target("=1000", 1000.0, true),
            target("<=+10%", 11.0, true),
        ])
    );
    // A violated criterion early in a list does not stop the rest of the list.
    let s = gate(&[obj("rt")
        .pass(&[&["<100", "<600", "<=+10%"]])
        .warning(&[&["<=800"], &["<=+50%", "<2000"]])]);
    let e = run(&s, &[ok("rt", 700.0)], &previous);
    let r = single(&e);
    assert_eq!(r.status, Status::Warning);
    assert_eq!(
        r.pass_targets,
        Some(vec![
            target("<100", 100.0, true),
            target("<600", 600.0, true),
            target("<=+10%", 11.0, true),
        ])
    );
    assert_eq!(
        r.warning_targets,
        Some(vec![
            target("<=800", 800.0, false),
            target("<=+50%", 15.0, true),
            target("<2000", 2000.0, false),
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// §3 Baseline aggregation
// ---------------------------------------------------------------------------------------------

#[test]
fn s3_pool_holds_successful_non_null_values_of_the_objectives_sli() {
    let previous = vec![
        prev(
            "e1",
            "pass",
            vec![
                ok("rt", 10.0),
                unsuccessful("rt", Some(1000.0), "timeout"), // success:false does not count (#1263)
                SliValue {
                    metric: "rt".into(),
                    value: None, // null is skipped
                    success: true,
                    message: String::new(),
                },
                ok("other", 500.0), // another metric
                ok("rt", 20.0),     // several values of one evaluation all count
            ],
        ),
        // the overall result of a selected evaluation does not matter here, and metric names are
        // case-sensitive
        prev("e2", "fail", vec![ok("rt", 30.0), ok("RT", 4000.0)]),
    ];
    let s = gate(&[obj("rt").pass(&[&["<=+10%"]])]);
    let e = run(&s, &[ok("rt", 22.0)], &previous);
    let r = single(&e);
    assert_eq!(r.value.compared_value, 20.0);
    assert_eq!(r.baseline_count, 3);
    assert_eq!(r.baseline, BaselineKind::History);
    assert_eq!(r.pass_targets, Some(vec![target("<=+10%", 22.0, false)]));
}

#[test]
fn s3_aggregate_functions() {
    let zero_to_ten: Vec<f64> = (0..=10).map(f64::from).collect();
    let cases: Vec<(&str, Vec<f64>, f64)> = vec![
        ("avg", vec![10.0, 10.0], 10.0),
        ("avg", vec![1.0, 2.0, 6.0], 3.0),
        ("p50", vec![5.0, 15.0], 10.0),
        ("p50", vec![15.0, 5.0], 10.0), // sorted first
        ("p90", zero_to_ten.clone(), 9.8),
        ("p95", zero_to_ten.clone(), 10.0),
        ("p50", vec![7.0], 7.0),                // pos 1 → the only value
        ("p50", vec![1.0, 2.0, 3.0, 4.0], 2.5), // pos 2.5 → interpolated
        ("p50", vec![3.0, 1.0, 2.0], 2.0),      // pos 2 → second value
        ("p90", vec![3.0, 1.0, 2.0], 3.0),      // pos 3.6 ≥ n → max
        ("p95", vec![1.0, 2.0], 2.0),
        ("p50", zero_to_ten.clone(), 5.0),
    ];
    for (function, values, expected) in &cases {
        let s = slo_of(
            &[obj("rt").pass(&[&["<=+0%"]])],
            &format!(
                "comparison: {{compare_with: several_results, number_of_comparison_results: 50, \
                 aggregate_function: {function}}}\n{TS}"
            ),
        );
        // The values come from separate evaluations and are pooled.
        let e = run(&s, &[ok("rt", 0.0)], &history("rt", values));
        let r = single(&e);
        assert!(
            (r.value.compared_value - expected).abs() < 1e-9,
            "{function} of {values:?}: {} ≠ {expected}",
            r.value.compared_value
        );
        assert_eq!(r.baseline_count, values.len());
        assert_eq!(r.baseline_aggregate, *function);
    }
}

#[test]
fn s3_unknown_aggregate_function_gives_baseline_0() {
    let previous = history("rt", &[10.0, 20.0]);
    for function in ["max", "P90", "AVG", "median", "p99"] {
        let s = slo_of(
            &[
                obj("inc").pass(&[&["<=+10%"]]),
                obj("dec").pass(&[&[">=-10%"]]),
                obj("abs").pass(&[&["<600"]]),
            ],
            &format!(
                "comparison: {{compare_with: several_results, aggregate_function: {function}}}\n{TS}"
            ),
        );
        let previous: Vec<PreviousEvaluation> = previous
            .iter()
            .map(|p| {
                let mut p = p.clone();
                p.indicators = ["inc", "dec", "abs"]
                    .iter()
                    .map(|m| ok(m, p.indicators[0].value.unwrap()))
                    .collect();
                p
            })
            .collect();
        let e = run(
            &s,
            &[ok("inc", 5.0), ok("dec", 5.0), ok("abs", 5.0)],
            &previous,
        );
        let r = &e.indicator_results;
        // relative criteria compare against 0 instead of passing for lack of a baseline
        assert_eq!(
            r[0].pass_targets,
            Some(vec![target("<=+10%", 0.0, true)]),
            "{function}"
        );
        assert_eq!(r[0].status, Status::Fail, "{function}");
        assert_eq!(
            r[1].pass_targets,
            Some(vec![target(">=-10%", 0.0, false)]),
            "{function}"
        );
        assert_eq!(r[1].status, Status::Pass, "{function}");
        for r in r {
            assert_eq!(r.value.compared_value, 0.0, "{function}");
        }
    }
}

#[test]
fn s3_compared_value_is_the_baseline_also_for_absolute_only_objectives() {
    let cases: Vec<(&str, Vec<PreviousEvaluation>, f64)> = vec![
        ("pool [10, 20]", history("rt", &[10.0, 20.0]), 15.0),
        ("no previous evaluation", vec![], 0.0),
        (
            "pool of another metric only",
            history("other", &[10.0]),
            0.0,
        ),
    ];
    for (what, previous, a) in &cases {
        let s = gate(&[obj("rt").pass(&[&["<600"]]).warning(&[&["<800"]])]);
        for measured in [100.0, 700.0, 900.0] {
            let e = run(&s, &[ok("rt", measured)], previous);
            assert_eq!(single(&e).value.compared_value, *a, "{what}, {measured}");
        }
    }
}

#[test]
fn s4_objectives_that_were_not_evaluated_report_compared_value_0() {
    // Cases 069 and 070: the value is reported as received, so comparedValue stays 0, while the
    // relative targets still show the baseline.
    let previous = history("rt", &[10.0, 20.0]);
    let s = gate(&[obj("rt").pass(&[&["<600", "<=+10%"]])]);
    for values in [vec![], vec![unsuccessful("rt", Some(5.0), "boom")]] {
        let e = run(&s, &values, &previous);
        let r = single(&e);
        assert_eq!(r.value.compared_value, 0.0, "{values:?}");
        assert_eq!(
            r.pass_targets,
            Some(vec![
                target("<600", 600.0, true),
                target("<=+10%", 15.0, true)
            ]),
            "{values:?}"
        );
    }
    let info = gate(&[obj("rt").warning(&[&["<800"]])]);
    let e = run(&info, &[ok("rt", 1.0)], &previous);
    assert_eq!(single(&e).value.compared_value, 0.0, "info");
}

// ---------------------------------------------------------------------------------------------
// §4 Per-objective evaluation
// ---------------------------------------------------------------------------------------------

#[test]
fn s4_each_value_is_consumed_by_the_first_objective_on_its_sli() {
    let s = gate(&[
        obj("rt").named("first").pass(&[&["<600"]]),
        obj("rt").named("second").pass(&[&["<600"]]),
    ]);
    // (values, first status + value, second status + value)
    let cases: Vec<(Vec<SliValue>, (Status, Option<f64>), (Status, Option<f64>))> = vec![
        (
            vec![ok("rt", 100.0)],
            (Status::Pass, Some(100.0)),
            (Status::Fail, Some(0.0)),
        ),
        (
            vec![ok("rt", 100.0), ok("rt", 700.0)],
            (Status::Pass, Some(100.0)),
            (Status::Fail, Some(700.0)),
        ),
        (
            vec![ok("rt", 700.0), ok("rt", 100.0)],
            (Status::Fail, Some(700.0)),
            (Status::Pass, Some(100.0)),
        ),
    ];
    for (values, first, second) in &cases {
        let e = run(&s, values, &[]);
        let r = &e.indicator_results;
        assert_eq!((r[0].status, r[0].value.value), *first, "{values:?}");
        assert_eq!((r[1].status, r[1].value.value), *second, "{values:?}");
    }
    // With a single value the second objective got none.
    let e = run(&s, &[ok("rt", 100.0)], &[]);
    let second = &e.indicator_results[1];
    assert_eq!(second.value.message, NO_VALUE);
    assert!(!second.value.success);
    assert_eq!(e.score, 50.0);
}

#[test]
fn values_fetched_once_per_sli_feed_every_objective_on_it() {
    let s = gate(&[
        obj("rt").named("absolute").pass(&[&["<600"]]),
        obj("err").pass(&[&["<1"]]),
        obj("rt").named("relative").pass(&[&["<=+10%"]]),
        obj("rt").named("info"),
        obj("none").pass(&[&["<1"]]),
    ]);
    let once = vec![ok("rt", 100.0), ok("extra", 1.0), ok("err", 0.5)];
    let values = per_objective(&s, &once);
    let metrics: Vec<&str> = values.iter().map(|v| v.metric.as_str()).collect();
    assert_eq!(metrics, ["rt", "err", "rt", "rt", "extra"]);
    let e = run(&s, &values, &history("rt", &[100.0]));
    let r = &e.indicator_results;
    let got: Vec<(Status, Option<f64>)> = r.iter().map(|r| (r.status, r.value.value)).collect();
    assert_eq!(
        got,
        [
            (Status::Pass, Some(100.0)),
            (Status::Pass, Some(0.5)),
            (Status::Pass, Some(100.0)),
            (Status::Info, Some(100.0)),
            (Status::Fail, Some(0.0)),
        ]
    );
    assert_eq!(e.score, 75.0);
    // An empty SLO keeps every value as an extra one.
    assert_eq!(per_objective(&slo_of(&[], TS), &once), once);
}

#[test]
fn s4_an_info_objective_consumes_its_value_too() {
    let s = gate(&[
        obj("rt").named("info"),
        obj("rt").named("scored").pass(&[&["<600"]]),
    ]);
    let e = run(&s, &[ok("rt", 100.0)], &[]);
    let r = &e.indicator_results;
    assert_eq!((r[0].status, r[0].value.value), (Status::Info, Some(100.0)));
    assert_eq!(r[1].status, Status::Fail);
    assert_eq!(r[1].value.message, NO_VALUE);
}

#[test]
fn s4_objective_without_pass_criteria_is_info_and_not_scored() {
    let previous = history("rt", &[10.0]);
    // (objective, expected warningTargets: empty targets of the warning criteria)
    let cases: Vec<(Obj, Vec<TargetResult>)> = vec![
        (obj("rt"), vec![]),
        (obj("rt").pass(&[]), vec![]),
        (obj("rt").key(), vec![]),
        // warning criteria alone do not make an objective scored (#2231)
        (
            obj("rt").warning(&[&["<=800"]]),
            vec![target("<=800", 800.0, true)],
        ),
        (
            obj("rt")
                .key()
                .weight(5)
                .warning(&[&["<=+10%", "<=800"], &[">1"]]),
            vec![
                target("<=+10%", 10.0, true),
                target("<=800", 800.0, true),
                target(">1", 1.0, true),
            ],
        ),
    ];
    for (o, warning_targets) in cases {
        let yaml = o.yaml();
        // A scored objective next to it: the info objective is excluded from the maximum.
        let s = gate(&[o, obj("err").pass(&[&["<1"]])]);
        for value in [ok("rt", 5.0), ok("rt", 5000.0)] {
            let e = run(&s, &[value.clone(), ok("err", 0.5)], &previous);
            assert_scored(&e);
            let r = &e.indicator_results[0];
            assert_eq!(r.status, Status::Info, "{yaml}");
            assert_eq!(r.score, 0.0, "{yaml}");
            assert!(
                !r.key_sli,
                "{yaml}: keySli is reported false for info objectives"
            );
            assert_eq!(r.pass_targets, Some(vec![]), "{yaml}");
            assert_eq!(r.warning_targets, Some(warning_targets.clone()), "{yaml}");
            // value as received
            assert_eq!(r.value.value, value.value, "{yaml}");
            assert!(r.value.success, "{yaml}");
            assert_eq!((e.result, e.score), (Verdict::Pass, 100.0), "{yaml}");
        }
        // The other objective failing gives 0 %, not 0 of 2 objectives' weight.
        let e = run(&s, &[ok("rt", 5.0), ok("err", 5.0)], &previous);
        assert_eq!((e.result, e.score), (Verdict::Fail, 0.0), "{yaml}");
    }
}

#[test]
fn s4_info_objective_keeps_an_unsuccessful_value_as_received() {
    let s = gate(&[
        obj("rt").key().warning(&[&["<800"]]),
        obj("err").pass(&[&["<1"]]),
    ]);
    let e = run(
        &s,
        &[
            unsuccessful("rt", Some(3.0), "query timed out"),
            ok("err", 0.5),
        ],
        &[],
    );
    let r = &e.indicator_results[0];
    assert_eq!(r.status, Status::Info);
    assert_eq!(r.score, 0.0);
    assert_eq!((r.value.value, r.value.success), (Some(3.0), false));
    assert_eq!(r.value.message, "query timed out");
    // a key_sli info objective never fails the gate
    assert_eq!((e.result, e.score), (Verdict::Pass, 100.0));
}

#[test]
fn s4_info_objective_without_value_reports_the_value_as_received() {
    let s = gate(&[obj("rt").warning(&[&["<800"]]), obj("err").pass(&[&["<1"]])]);
    let e = run(&s, &[ok("err", 0.5)], &[]);
    let r = &e.indicator_results[0];
    assert_eq!(r.status, Status::Info);
    assert_eq!(r.warning_targets, Some(vec![target("<800", 800.0, true)]));
    // Keptn reports `value: null`; the closest this model can say is "no number, no message".
    assert_eq!(r.value.value, None, "{r:#?}");
    assert_eq!(r.value.message, "", "{r:#?}");
}

#[test]
fn s4_missing_or_unsuccessful_value_fails_the_objective() {
    let placeholder = (Some(0.0), false, NO_VALUE.to_string());
    let cases: Vec<(&str, Vec<SliValue>, (Option<f64>, bool, String))> = vec![
        ("no values", vec![], placeholder.clone()),
        (
            "only another metric",
            vec![ok("other", 1.0)],
            placeholder.clone(),
        ),
        (
            "success false with a value",
            vec![unsuccessful("rt", Some(3.0), "query timed out")],
            (Some(3.0), false, "query timed out".into()),
        ),
        (
            "success false without a value",
            vec![unsuccessful("rt", None, "query timed out")],
            (None, false, "query timed out".into()),
        ),
    ];
    for (what, values, (value, success, message)) in &cases {
        // passes on any value: only the missing value can fail it
        let s = gate(&[obj("rt").pass(&[&["<1e9"]])]);
        let e = run(&s, values, &[]);
        assert_scored(&e);
        let r = single(&e);
        assert_eq!((r.status, r.score), (Status::Fail, 0.0), "{what}");
        assert_eq!(r.value.metric, "rt", "{what}");
        assert_eq!(
            (r.value.value, r.value.success, r.value.message.as_str()),
            (*value, *success, message.as_str()),
            "{what}"
        );
        assert_eq!(
            r.pass_targets,
            Some(vec![target("<1e9", 1e9, true)]),
            "{what}"
        );
        // no-value objectives always carry a warningTargets list
        assert_eq!(r.warning_targets, Some(vec![]), "{what}");
        assert_eq!((e.result, e.score), (Verdict::Fail, 0.0), "{what}");
    }
}

#[test]
fn s4_unevaluated_objectives_list_every_parseable_criterion_as_violated() {
    let o = obj("rt")
        .pass(&[&["<=+10%", "<600"], &["<=800", "bogus"]])
        .warning(&[&["<=-5", ">=1e3"], &["<abc"]]);
    // (baseline, A)
    let cases: Vec<(&str, Vec<PreviousEvaluation>, f64)> = vec![
        ("pool [10, 10]", history("rt", &[10.0, 10.0]), 10.0),
        ("no pool", vec![], 0.0),
    ];
    for (what, previous, a) in &cases {
        for values in [vec![], vec![unsuccessful("rt", Some(1.0), "x")]] {
            let e = run(&gate(std::slice::from_ref(&o)), &values, previous);
            // unparseable criteria are left out, and do not abort: they are never evaluated
            assert_scored(&e);
            let r = single(&e);
            assert_eq!(r.status, Status::Fail, "{what}");
            assert_eq!(
                r.pass_targets,
                Some(vec![
                    target("<=+10%", *a, true), // the baseline itself, without the +10%
                    target("<600", 600.0, true),
                    target("<=800", 800.0, true),
                ]),
                "{what}"
            );
            assert_eq!(
                r.warning_targets,
                Some(vec![
                    target("<=-5", *a, true),
                    target(">=1e3", 1000.0, true)
                ]),
                "{what}"
            );
        }
    }
}

#[test]
fn s4_no_value_objective_reports_key_sli_false_but_fails_the_gate_with_the_value_message() {
    let cases: Vec<(Obj, Vec<SliValue>, &str)> = vec![
        (
            obj("rt").key().named("Response time"),
            vec![],
            "Evaluation failed due to key_sli objective 'Response time': no value received from SLI provider",
        ),
        (
            obj("rt").key(),
            vec![],
            "Evaluation failed due to key_sli objective '': no value received from SLI provider",
        ),
        (
            obj("rt").key().named("Response time"),
            vec![unsuccessful("rt", Some(3.0), "query timed out")],
            "Evaluation failed due to key_sli objective 'Response time': query timed out",
        ),
    ];
    for (o, mut values, message) in cases {
        // The other objective carries 9 of 10 weight: the score alone would pass.
        let s = gate(&[o.pass(&[&["<600"]]), obj("err").weight(9).pass(&[&["<1"]])]);
        values.push(ok("err", 0.5));
        let e = run(&s, &values, &[]);
        assert_scored(&e);
        let r = &e.indicator_results[0];
        assert_eq!(r.status, Status::Fail, "{message}");
        assert!(
            !r.key_sli,
            "{message}: keySli is reported false for no-value objectives"
        );
        assert_eq!(e.score, 90.0, "{message}");
        assert_eq!(
            (e.result, e.evaluation_result),
            (Verdict::Fail, Verdict::Fail),
            "{message}"
        );
        assert_eq!(e.message, message);
    }
}

#[test]
fn s4_pass_scores_the_weight() {
    for (weight, score) in [(1, 1.0), (4, 4.0)] {
        let s = gate(&[obj("rt")
            .weight(weight)
            .pass(&[&["<600"]])
            .warning(&[&["<800"]])]);
        let e = run(&s, &[ok("rt", 100.0)], &[]);
        let r = single(&e);
        assert_eq!((r.status, r.score), (Status::Pass, score));
        assert_eq!(r.pass_targets, Some(vec![target("<600", 600.0, false)]));
        assert_eq!(r.value.value, Some(100.0));
        assert!(r.value.success);
    }
}

#[test]
fn s4_warning_scores_half_the_weight() {
    let cases: &[(Option<i64>, f64)] = &[
        (None, 0.5),
        (Some(0), 0.5),
        (Some(1), 0.5),
        (Some(3), 1.5),
        (Some(10), 5.0),
    ];
    for (weight, score) in cases {
        let mut o = obj("rt").pass(&[&["<600"]]).warning(&[&["<=800"]]);
        o.weight = *weight;
        let e = run(&gate(&[o]), &[ok("rt", 700.0)], &[]);
        let r = single(&e);
        assert_eq!((r.status, r.score), (Status::Warning, *score), "{weight:?}");
        assert_eq!(r.pass_targets, Some(vec![target("<600", 600.0, true)]));
        assert_eq!(r.warning_targets, Some(vec![target("<=800", 800.0, false)]));
        assert_eq!(e.score, 50.0, "{weight:?}");
    }
}

#[test]
fn s4_warning_criteria_are_evaluated_and_listed_also_when_the_objective_passed() {
    // Case 061: a passed objective still reports how its warning criteria fared.
    let s = slo_of(
        &[obj("rt")
            .pass(&[&["<=15.0"], &["<=+10%"]])
            .warning(&[&["<=20.0"], &["<=+15%"]])],
        &format!(
            "comparison: {{compare_with: several_results, number_of_comparison_results: 2}}\n{TS}"
        ),
    );
    let e = run(&s, &[ok("rt", 10.0)], &history("rt", &[10.0]));
    let r = single(&e);
    assert_eq!((r.status, r.score), (Status::Pass, 1.0));
    assert_eq!(
        r.warning_targets,
        Some(vec![
            target("<=20.0", 20.0, false),
            target("<=+15%", 11.5, false)
        ])
    );
    // A violated warning criterion is listed too, without changing the status.
    let s = gate(&[obj("rt").pass(&[&["<600"]]).warning(&[&["<50"]])]);
    let e = run(&s, &[ok("rt", 100.0)], &[]);
    let r = single(&e);
    assert_eq!(r.status, Status::Pass);
    assert_eq!(r.warning_targets, Some(vec![target("<50", 50.0, true)]));
}

#[test]
fn s4_neither_pass_nor_warning_fails_with_score_0() {
    let s = gate(&[obj("rt")
        .weight(2)
        .pass(&[&["<600"]])
        .warning(&[&["<=800"]])]);
    let e = run(&s, &[ok("rt", 900.0)], &[]);
    let r = single(&e);
    assert_eq!((r.status, r.score), (Status::Fail, 0.0));
    assert_eq!(r.warning_targets, Some(vec![target("<=800", 800.0, true)]));
    assert!(!r.key_sli);
}

#[test]
fn s4_warning_targets_are_null_for_an_evaluated_objective_without_warning_criteria() {
    for (measured, status) in [(100.0, Status::Pass), (700.0, Status::Fail)] {
        for o in [
            obj("rt").pass(&[&["<600"]]),
            obj("rt").pass(&[&["<600"]]).warning(&[]),
        ] {
            let e = run(&gate(&[o]), &[ok("rt", measured)], &[]);
            let r = single(&e);
            assert_eq!(r.status, status);
            assert_eq!(r.warning_targets, None, "{measured}");
        }
    }
}

#[test]
fn s4_a_bad_warning_criterion_means_not_warning_and_no_warning_targets() {
    let cases: &[&[&[&str]]] = &[
        &[&["bogus"]],
        &[&["<=800", "<abc"]],   // the valid criterion would hold
        &[&["<=800"], &["=<5"]], // the first list would hold
        &[&["600"], &["<=800"]],
    ];
    for warning in cases {
        let s = gate(&[obj("rt").pass(&[&["<600"]]).warning(warning)]);
        let e = run(&s, &[ok("rt", 700.0)], &[]);
        assert_scored(&e);
        let r = single(&e);
        assert_eq!((r.status, r.score), (Status::Fail, 0.0), "{warning:?}");
        assert_eq!(r.warning_targets, Some(vec![]), "{warning:?}");
        assert_eq!(
            r.pass_targets,
            Some(vec![target("<600", 600.0, true)]),
            "{warning:?}"
        );
        // A key SLI failing this way fails the gate like any failed key SLI.
        let s = gate(&[obj("rt")
            .key()
            .named("RT")
            .pass(&[&["<600"]])
            .warning(warning)]);
        let e = run(&s, &[ok("rt", 700.0)], &[]);
        assert_eq!(
            e.message,
            "Evaluation failed due to key_sli objective 'RT': failed evaluation with score 0.000000"
        );
    }
    // Not evaluated at all when the pass criteria hold.
    let s = gate(&[obj("rt").pass(&[&["<600"]]).warning(&[&["bogus"]])]);
    let e = run(&s, &[ok("rt", 100.0)], &[]);
    assert_eq!((single(&e).status, e.result), (Status::Pass, Verdict::Pass));
}

#[test]
fn s4_a_bad_pass_criterion_aborts_the_whole_evaluation() {
    let cases: Vec<(Obj, &str)> = vec![
        (
            obj("rt").named("Response time").pass(&[&["bogus"]]),
            "error with Response time: invalid criteria string",
        ),
        (
            obj("rt").pass(&[&["bogus"]]),
            "error with rt: invalid criteria string",
        ),
        (
            obj("rt").named("").pass(&[&["600"]]),
            "error with rt: invalid criteria string",
        ),
        (
            obj("rt").pass(&[&["<600", ""]]),
            "error with rt: invalid criteria string",
        ),
        // the first list holds, the bad criterion is in the second: still an abort
        (
            obj("rt").pass(&[&["<600"], &["≤600"]]),
            "error with rt: invalid criteria string",
        ),
        (
            obj("rt").pass(&[&["<abc"]]),
            "error with rt: could not parse criteria target value",
        ),
        (
            obj("rt").pass(&[&["=<5"]]),
            "error with rt: could not parse criteria target value",
        ),
        (
            obj("rt").pass(&[&["<=10ms"]]),
            "error with rt: could not parse criteria target value",
        ),
        (
            obj("rt").key().pass(&[&["<600", "<%"]]),
            "error with rt: could not parse criteria target value",
        ),
        // only spaces are removed, not tabs
        (
            obj("rt").pass(&[&["<\t5"]]),
            "error with rt: could not parse criteria target value",
        ),
    ];
    for (o, message) in cases {
        let yaml = o.yaml();
        // Good objectives before and after it do not help.
        let s = gate(&[
            obj("err").pass(&[&["<1"]]),
            o.warning(&[&["<800"]]),
            obj("tp").pass(&[&[">1"]]),
        ]);
        let e = run(&s, &[ok("err", 0.0), ok("rt", 100.0), ok("tp", 5.0)], &[]);
        assert_eq!(e.message, message, "{yaml}");
        assert_eq!(
            (e.result, e.evaluation_result),
            (Verdict::Invalid, Verdict::Fail),
            "{yaml}"
        );
        assert_eq!(e.status, "succeeded", "{yaml}");
        assert_eq!(e.score, 0.0, "{yaml}");
        assert!(e.indicator_results.is_empty(), "{yaml}");
        assert_eq!(e.invalid_input.as_deref(), Some(message), "{yaml}");
    }
}

#[test]
fn s4_failed_key_sli_fails_the_gate() {
    let cases: Vec<(Obj, &str)> = vec![
        (
            obj("rt").key().named("Response time"),
            "Evaluation failed due to key_sli objective 'Response time': failed evaluation with score 0.000000",
        ),
        // the name is empty without displayName
        (
            obj("rt").key(),
            "Evaluation failed due to key_sli objective '': failed evaluation with score 0.000000",
        ),
    ];
    for (o, message) in cases {
        for rest in [TS, "total_score: {pass: \"90%\"}\n"] {
            // 9 of 10 weight pass: the score alone would pass the gate.
            let s = slo_of(
                &[
                    o.clone().pass(&[&["<600"]]).warning(&[&["<800"]]),
                    obj("err").weight(9).pass(&[&["<1"]]),
                ],
                rest,
            );
            let e = run(&s, &[ok("rt", 900.0), ok("err", 0.5)], &[]);
            assert_scored(&e);
            let r = &e.indicator_results[0];
            assert_eq!(r.status, Status::Fail);
            assert!(r.key_sli, "an evaluated key SLI is reported as such");
            assert_eq!(e.score, 90.0);
            assert_eq!(
                (e.result, e.evaluation_result),
                (Verdict::Fail, Verdict::Fail),
                "{rest}"
            );
            assert_eq!(e.message, message, "{rest}");
        }
    }
}

#[test]
fn s4_key_sli_at_warning_does_not_fail_the_gate() {
    let s = gate(&[
        obj("rt")
            .key()
            .named("RT")
            .pass(&[&["<600"]])
            .warning(&[&["<=800"]]),
        obj("err").weight(9).pass(&[&["<1"]]),
    ]);
    let e = run(&s, &[ok("rt", 700.0), ok("err", 0.5)], &[]);
    assert_eq!(e.indicator_results[0].status, Status::Warning);
    assert!(e.indicator_results[0].key_sli);
    assert_eq!((e.result, e.score), (Verdict::Pass, 95.0));
    assert_eq!(e.message, "");
}

#[test]
fn s4_values_no_objective_consumed_are_reported_as_additional_slis() {
    let s = gate(&[obj("rt").pass(&[&["<600"]])]);
    let cases: Vec<(Vec<SliValue>, &str)> = vec![
        (vec![ok("rt", 100.0)], ""),
        (
            vec![ok("a", 1.0), ok("rt", 100.0), ok("b", 2.0)],
            "Lighthouse received additional SLIs, which are not specified as SLO: a, b . Please consider using them as an SLO.",
        ),
        (
            vec![ok("rt", 100.0), ok("rt", 200.0)],
            "Lighthouse received additional SLIs, which are not specified as SLO: rt . Please consider using them as an SLO.",
        ),
        (
            vec![ok("rt", 100.0), unsuccessful("c", None, "x")],
            "Lighthouse received additional SLIs, which are not specified as SLO: c . Please consider using them as an SLO.",
        ),
    ];
    for (values, message) in &cases {
        let e = run(&s, values, &[]);
        assert_scored(&e);
        assert_eq!(e.result, Verdict::Pass, "{values:?}");
        assert_eq!(e.message, *message, "{values:?}");
    }
    // Also when nothing is scored (max = 0 → pass 100).
    let e = run(&gate(&[obj("rt")]), &[ok("rt", 1.0), ok("a", 1.0)], &[]);
    assert_eq!((e.result, e.score), (Verdict::Pass, 100.0));
    assert_eq!(
        e.message,
        "Lighthouse received additional SLIs, which are not specified as SLO: a . Please consider using them as an SLO."
    );
}

#[test]
fn s4_a_later_message_replaces_the_additional_slis_message() {
    let s = gate(&[
        obj("rt").pass(&[&["<600"]]).warning(&[&["<=800"]]),
        obj("err").weight(3).pass(&[&["<1"]]),
    ]);
    let extra = ok("extra", 1.0);
    // (values, retrieval, message)
    let cases: Vec<(Vec<SliValue>, Retrieval, &str)> = vec![
        (
            vec![ok("rt", 700.0), ok("err", 0.0), extra.clone()],
            Retrieval::Ok,
            "Evaluation returned a warning: the calculated score of 87.5 is close to the warning target value of 75",
        ),
        (
            vec![ok("rt", 900.0), ok("err", 5.0), extra.clone()],
            Retrieval::Ok,
            "Evaluation failed since the calculated score of 0 is below the warning value of 75",
        ),
        (
            vec![ok("rt", 100.0), ok("err", 0.0), extra.clone()],
            Retrieval::Failed("provider said no".into()),
            "lighthouse failed because SLI failed with message provider said no",
        ),
    ];
    for (values, retrieval, message) in &cases {
        let e = run_with(&s, retrieval, values, &[], MissingBaseline::Pass);
        assert_eq!(e.message, *message);
    }
    // A failed key SLI's message replaces it too.
    let s = gate(&[obj("rt").key().named("RT").pass(&[&["<600"]])]);
    let e = run(&s, &[ok("rt", 700.0), ok("extra", 1.0)], &[]);
    assert_eq!(
        e.message,
        "Evaluation failed due to key_sli objective 'RT': failed evaluation with score 0.000000"
    );
}

// ---------------------------------------------------------------------------------------------
// §5 Total score
// ---------------------------------------------------------------------------------------------

#[test]
fn s5_no_scored_objective_passes_with_score_100() {
    let cases: Vec<(Vec<Obj>, &str)> = vec![
        (vec![obj("rt")], TS),
        (vec![obj("rt").key().warning(&[&["<1"]])], TS),
        (
            vec![obj("rt"), obj("err").pass(&[])],
            "total_score: {pass: \"90%\"}\n",
        ),
        // max = 0 is decided before the thresholds are read (#1213)
        (vec![obj("rt")], ""),
        (vec![obj("rt")], "total_score: {pass: \"bogus\"}\n"),
    ];
    for (objectives, rest) in &cases {
        let s = slo_of(objectives, rest);
        for values in [vec![], vec![ok("rt", 5.0)]] {
            let e = run(&s, &values, &[]);
            assert_scored(&e);
            assert_eq!(
                (e.result, e.evaluation_result, e.score),
                (Verdict::Pass, Verdict::Pass, 100.0),
                "{rest}"
            );
        }
    }
}

/// What one objective of a threshold case does: pass, warning or fail.
#[derive(Clone, Copy)]
enum Outcome {
    P,
    W,
    F,
}

#[test]
fn s5_thresholds_and_messages() {
    use Outcome::*;
    // (objectives as (weight, outcome), total_score, verdict, score as %v, message)
    let cases: Vec<(Vec<(i64, Outcome)>, &str, Verdict, &str, &str)> = vec![
        (
            vec![(1, P), (1, P), (1, P), (1, P)],
            TS,
            Verdict::Pass,
            "100",
            "",
        ),
        (
            vec![(1, P), (1, P), (1, P), (1, W)],
            TS,
            Verdict::Warning,
            "87.5",
            "Evaluation returned a warning: the calculated score of 87.5 is close to the warning target value of 75",
        ),
        (
            vec![(1, P), (1, P), (1, F), (1, F)],
            TS,
            Verdict::Fail,
            "50",
            "Evaluation failed since the calculated score of 50 is below the warning value of 75",
        ),
        // without a warning threshold
        (
            vec![(1, P), (1, P), (1, P), (1, F)],
            "total_score: {pass: \"90%\"}\n",
            Verdict::Fail,
            "75",
            "Evaluation failed since the calculated score of 75 is below the target value of 90",
        ),
        (
            vec![(1, P), (1, P), (1, P), (1, F)],
            "total_score: {pass: \"90%\", warning: \"\"}\n",
            Verdict::Fail,
            "75",
            "Evaluation failed since the calculated score of 75 is below the target value of 90",
        ),
        // boundaries are inclusive
        (
            vec![(1, P), (1, P), (1, P), (1, F)],
            "total_score: {pass: \"75%\"}\n",
            Verdict::Pass,
            "75",
            "",
        ),
        (
            vec![(1, P), (1, P), (1, P), (1, F)],
            TS,
            Verdict::Warning,
            "75",
            "Evaluation returned a warning: the calculated score of 75 is close to the warning target value of 75",
        ),
        // Go %v floats. Keptn computes 100·(achieved/max), so 2 of 3 is 66.66666666666666, one
        // ulp below 200/3 (whose %v, the reference's 66.66666666666667, is checked below).
        (
            vec![(753, P), (247, F)],
            TS,
            Verdict::Warning,
            "75.3",
            "Evaluation returned a warning: the calculated score of 75.3 is close to the warning target value of 75",
        ),
        (
            vec![(2, P), (1, F)],
            TS,
            Verdict::Fail,
            "66.66666666666666",
            "Evaluation failed since the calculated score of 66.66666666666666 is below the warning value of 75",
        ),
        (
            vec![(2, P), (1, F)],
            "total_score: {pass: \"90%\"}\n",
            Verdict::Fail,
            "66.66666666666666",
            "Evaluation failed since the calculated score of 66.66666666666666 is below the target value of 90",
        ),
        (
            vec![(2, P), (1, F)],
            "total_score: {pass: \"90%\", warning: \"66.5%\"}\n",
            Verdict::Warning,
            "66.66666666666666",
            "Evaluation returned a warning: the calculated score of 66.66666666666666 is close to the warning target value of 66.5",
        ),
        // thresholds without %, or written as YAML numbers
        (
            vec![(1, P), (1, P), (1, P), (1, W)],
            "total_score: {pass: \"90\", warning: \"75\"}\n",
            Verdict::Warning,
            "87.5",
            "Evaluation returned a warning: the calculated score of 87.5 is close to the warning target value of 75",
        ),
        (
            vec![(1, P), (1, P), (1, P), (1, W)],
            "total_score: {pass: 95, warning: 80.5}\n",
            Verdict::Warning,
            "87.5",
            "Evaluation returned a warning: the calculated score of 87.5 is close to the warning target value of 80.5",
        ),
        (
            vec![(1, P), (1, P), (1, P), (1, W)],
            "total_score: {pass: \"87.5%\", warning: \"75%\"}\n",
            Verdict::Pass,
            "87.5",
            "",
        ),
        (
            vec![(1, F), (1, F)],
            "total_score: {pass: \"100%\", warning: \"0%\"}\n",
            Verdict::Warning,
            "0",
            "Evaluation returned a warning: the calculated score of 0 is close to the warning target value of 0",
        ),
        (
            vec![(1, F)],
            "total_score: {pass: \"0%\"}\n",
            Verdict::Pass,
            "0",
            "",
        ),
        (
            vec![(1, P), (2, F)],
            TS,
            Verdict::Fail,
            "33.33333333333333",
            "Evaluation failed since the calculated score of 33.33333333333333 is below the warning value of 75",
        ),
    ];
    // The reference's own %v example: 200/3.
    assert_eq!(gofmt::go_v(200.0 / 3.0), "66.66666666666667");
    for (outcomes, rest, verdict, score, message) in &cases {
        let mut objectives = Vec::new();
        let mut values = Vec::new();
        for (i, (weight, outcome)) in outcomes.iter().enumerate() {
            let m = format!("m{i}");
            objectives.push(
                obj(&m)
                    .weight(*weight)
                    .pass(&[&["<=10"]])
                    .warning(&[&["<=20"]]),
            );
            let v = match outcome {
                P => 5.0,
                W => 15.0,
                F => 25.0,
            };
            values.push(ok(&m, v));
        }
        let e = run(&slo_of(&objectives, rest), &values, &[]);
        let what = format!("{} objectives, {rest}", outcomes.len());
        assert_scored(&e);
        assert_eq!(gofmt::go_v(e.score), *score, "{what}");
        assert_eq!(
            (e.result, e.evaluation_result),
            (*verdict, *verdict),
            "{what}"
        );
        assert_eq!(e.message, *message, "{what}");
    }
}

#[test]
fn s5_case_062_single_objective_at_warning_fails() {
    let s = gate(&[obj("rt").pass(&[&["<600"]]).warning(&[&["<=800"]])]);
    let e = run(&s, &[ok("rt", 700.0)], &[]);
    assert_eq!(single(&e).status, Status::Warning);
    assert_eq!(e.score, 50.0);
    assert_eq!(
        (e.result, e.evaluation_result),
        (Verdict::Fail, Verdict::Fail)
    );
    assert_eq!(
        e.message,
        "Evaluation failed since the calculated score of 50 is below the warning value of 75"
    );
}

#[test]
fn s5_only_objectives_with_pass_targets_add_to_the_score() {
    // `pass: [{criteria: []}]` is a non-empty pass list (it counts in the maximum) whose one
    // empty AND holds, but it lists no passTargets, so its score is not summed.
    let s = gate(&[obj("rt").pass(&[&[]]), obj("err").pass(&[&["<1"]])]);
    let e = run(&s, &[ok("rt", 100.0), ok("err", 0.0)], &[]);
    let r = &e.indicator_results[0];
    assert_eq!((r.status, r.score), (Status::Pass, 1.0));
    assert_eq!(r.pass_targets, Some(vec![]));
    assert_eq!(e.score, 50.0);
    assert_eq!(e.result, Verdict::Fail);
}

#[test]
fn s5_a_score_of_nothing_is_0_not_minus_0() {
    // A pass entry without criteria has no pass targets, so it adds nothing to the score.
    let s = slo_of(&[obj("rt").pass(&[&[]])], "total_score: {pass: \"90%\"}\n");
    let e = run(&s, &[ok("rt", 1.0)], &[]);
    assert_eq!(single(&e).status, Status::Pass);
    assert!(e.score == 0.0 && e.score.is_sign_positive(), "{}", e.score);
    assert_eq!(
        e.message,
        "Evaluation failed since the calculated score of 0 is below the target value of 90"
    );
}

#[test]
fn s5_missing_pass_threshold_errors_with_no_target_score_defined() {
    for rest in [
        "",
        "total_score:\n",
        "total_score: {}\n",
        "total_score: {warning: \"75%\"}\n",
        "total_score: {pass: \"\"}\n",
        "total_score: {pass: \"\", warning: \"75%\"}\n",
    ] {
        let s = slo_of(&[obj("rt").pass(&[&["<600"]])], rest);
        for measured in [100.0, 700.0] {
            let e = run(&s, &[ok("rt", measured)], &[]);
            assert_eq!(e.status, "errored", "{rest}");
            assert_eq!(
                (e.result, e.evaluation_result),
                (Verdict::Invalid, Verdict::Fail),
                "{rest}"
            );
            assert_eq!(e.score, 0.0, "{rest}");
            assert_eq!(e.message, "no target score defined", "{rest}");
            assert_eq!(
                e.invalid_input.as_deref(),
                Some("no target score defined"),
                "{rest}"
            );
        }
    }
}

#[test]
fn s5_unparsable_thresholds() {
    // (total_score, measured value of the one objective, message); 700 scores 50, 100 scores 100.
    let cases: &[(&str, f64, &str)] = &[
        (
            "{pass: \"abc\"}",
            100.0,
            "could not parse pass target percentage",
        ),
        (
            "{pass: \"90%%\"}",
            100.0,
            "could not parse pass target percentage",
        ), // one % removed
        (
            "{pass: \"%90\"}",
            100.0,
            "could not parse pass target percentage",
        ),
        (
            "{pass: \"90 %\"}",
            100.0,
            "could not parse pass target percentage",
        ),
        (
            "{pass: \"ninety%\", warning: \"75%\"}",
            700.0,
            "could not parse pass target percentage",
        ),
        (
            "{pass: \"90%\", warning: \"x\"}",
            700.0,
            "could not parse warning target percentage",
        ),
        (
            "{pass: \"90%\", warning: \"75%%\"}",
            700.0,
            "could not parse warning target percentage",
        ),
    ];
    for (ts, measured, message) in cases {
        let s = slo_of(
            &[obj("rt").pass(&[&["<600"]]).warning(&[&["<=800"]])],
            &format!("total_score: {ts}\n"),
        );
        let e = run(&s, &[ok("rt", *measured)], &[]);
        assert_eq!(e.status, "errored", "{ts}");
        assert_eq!(
            (e.result, e.evaluation_result),
            (Verdict::Invalid, Verdict::Fail),
            "{ts}"
        );
        assert_eq!(e.score, 0.0, "{ts}");
        assert_eq!(e.message, *message, "{ts}");
        assert_eq!(e.invalid_input.as_deref(), Some(*message), "{ts}");
    }
}

#[test]
fn s5_warning_threshold_is_read_only_when_the_pass_threshold_is_missed_without_key_failure() {
    let ts = "total_score: {pass: \"90%\", warning: \"bogus\"}\n";
    // score 100: pass before the warning threshold is looked at
    let s = slo_of(&[obj("rt").pass(&[&["<600"]])], ts);
    let e = run(&s, &[ok("rt", 100.0)], &[]);
    assert_scored(&e);
    assert_eq!((e.result, e.score), (Verdict::Pass, 100.0));
    // key failure: the warning branch is skipped, the key message wins
    let s = slo_of(&[obj("rt").key().named("RT").pass(&[&["<600"]])], ts);
    let e = run(&s, &[ok("rt", 700.0)], &[]);
    assert_scored(&e);
    assert_eq!(e.result, Verdict::Fail);
    assert_eq!(
        e.message,
        "Evaluation failed due to key_sli objective 'RT': failed evaluation with score 0.000000"
    );
}

// ---------------------------------------------------------------------------------------------
// §6 Outcomes of one get-sli.finished event
// ---------------------------------------------------------------------------------------------

#[test]
fn s6_retrieval_outcomes() {
    let s = gate(&[obj("rt").pass(&[&["<600"]])]);
    struct Row {
        retrieval: Retrieval,
        measured: f64,
        status: &'static str,
        result: Verdict,
        evaluation_result: Verdict,
        score: f64,
        scored: bool,
    }
    let rows = vec![
        Row {
            retrieval: Retrieval::Aborted,
            measured: 100.0,
            status: "errored",
            // Nothing was scored: could not evaluate, never a fail.
            result: Verdict::Error,
            evaluation_result: Verdict::Pass,
            score: 0.0,
            scored: false,
        },
        Row {
            retrieval: Retrieval::Errored("connection refused".into()),
            measured: 100.0,
            status: "errored",
            // Nothing was scored: could not evaluate, never a fail.
            result: Verdict::Error,
            evaluation_result: Verdict::Pass,
            score: 0.0,
            scored: false,
        },
        // #6096: the verdict fails, evaluation.result is the computed one
        Row {
            retrieval: Retrieval::Failed("query failed".into()),
            measured: 100.0,
            status: "succeeded",
            result: Verdict::Fail,
            evaluation_result: Verdict::Pass,
            score: 100.0,
            scored: true,
        },
        Row {
            retrieval: Retrieval::Failed("query failed".into()),
            measured: 700.0,
            status: "succeeded",
            result: Verdict::Fail,
            evaluation_result: Verdict::Fail,
            score: 0.0,
            scored: true,
        },
        Row {
            retrieval: Retrieval::Ok,
            measured: 100.0,
            status: "succeeded",
            result: Verdict::Pass,
            evaluation_result: Verdict::Pass,
            score: 100.0,
            scored: true,
        },
    ];
    for row in rows {
        let what = format!("{:?} with {}", row.retrieval, row.measured);
        let e = run_with(
            &s,
            &row.retrieval,
            &[ok("rt", row.measured)],
            &[],
            MissingBaseline::Pass,
        );
        assert_eq!(e.status, row.status, "{what}");
        assert_eq!(
            (e.result, e.evaluation_result),
            (row.result, row.evaluation_result),
            "{what}"
        );
        assert_eq!(e.score, row.score, "{what}");
        assert_eq!(e.indicator_results.len(), usize::from(row.scored), "{what}");
        match &row.retrieval {
            Retrieval::Aborted => {
                assert_eq!(e.message, "evaluation performed by lighthouse was aborted")
            }
            Retrieval::Errored(msg) => {
                assert!(
                    e.message
                        .ends_with(&format!("received an unexpected error: {msg}")),
                    "{what}: {}",
                    e.message
                );
            }
            Retrieval::Failed(msg) => {
                assert_eq!(
                    e.message,
                    format!("lighthouse failed because SLI failed with message {msg}")
                )
            }
            Retrieval::Ok => assert_eq!(e.message, ""),
        }
    }
}

#[test]
fn s6_no_objectives_fails_9198() {
    for yaml in [
        format!("objectives: []\n{TS}"),
        TS.to_string(),
        format!("objectives:\n  -\n  - ~\n{TS}"),
        "objectives: []\n".to_string(),
    ] {
        let s = slo(&yaml);
        for values in [vec![], vec![ok("rt", 1.0)]] {
            let e = run(&s, &values, &[]);
            assert_eq!(e.status, "succeeded", "{yaml}");
            assert_eq!(
                (e.result, e.evaluation_result),
                (Verdict::Invalid, Verdict::Fail),
                "{yaml}"
            );
            assert_eq!(e.score, 0.0, "{yaml}");
            assert_eq!(
                e.message, "lighthouse failed because no SLO objective was provided",
                "{yaml}"
            );
            assert!(e.indicator_results.is_empty(), "{yaml}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// §8 Choosing previous evaluations
// ---------------------------------------------------------------------------------------------

/// Newest first: e1 fail, e2 warning, e3 pass (invalidated), e4 pass, e5 warning, e6 pass,
/// e7 fail, e8 pass. Each holds one `rt` value: 100 × its number.
fn stored_evaluations() -> Vec<PreviousEvaluation> {
    let results = [
        "fail", "warning", "pass", "pass", "warning", "pass", "fail", "pass",
    ];
    results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let n = i + 1;
            let mut p = prev(&format!("e{n}"), r, vec![ok("rt", 100.0 * n as f64)]);
            p.invalidated = n == 3;
            p
        })
        .collect()
}

#[test]
fn s8_selection() {
    let all = stored_evaluations();
    // (comparison block, or none; selected ids)
    let cases: &[(Option<&str>, &[&str])] = &[
        (None, &["e1"]),
        (Some("{compare_with: single_result}"), &["e1"]),
        (
            Some("{compare_with: single_result, number_of_comparison_results: 5}"),
            &["e1"],
        ),
        (
            Some("{compare_with: single_result, include_result_with_score: pass}"),
            &["e4"],
        ),
        (
            Some("{compare_with: single_result, include_result_with_score: pass_or_warn}"),
            &["e2"],
        ),
        (
            Some("{compare_with: several_results, number_of_comparison_results: 2}"),
            &["e1", "e2"],
        ),
        // invalidated e3 does not use up a place
        (Some("{compare_with: several_results}"), &["e1", "e2", "e4"]),
        (
            Some("{compare_with: several_results, number_of_comparison_results: 0}"),
            &["e1", "e2", "e4"],
        ),
        (
            Some("{compare_with: several_results, number_of_comparison_results: 10}"),
            &["e1", "e2", "e4", "e5", "e6", "e7", "e8"],
        ),
        (
            Some(
                "{compare_with: several_results, number_of_comparison_results: 4, include_result_with_score: pass}",
            ),
            &["e4", "e6", "e8"],
        ),
        (
            Some(
                "{compare_with: several_results, number_of_comparison_results: 2, include_result_with_score: PASS}",
            ),
            &["e4", "e6"],
        ),
        (
            Some(
                "{compare_with: several_results, number_of_comparison_results: 3, include_result_with_score: pass_or_warn}",
            ),
            &["e2", "e4", "e5"],
        ),
        // anything else means all
        (
            Some(
                "{compare_with: several_results, number_of_comparison_results: 2, include_result_with_score: pass_or_warning}",
            ),
            &["e1", "e2"],
        ),
        (
            Some("{compare_with: single_result, include_result_with_score: warning}"),
            &["e1"],
        ),
        // N = 3 without compare_with (number_of_comparison_results ignored) or with an unknown one
        (
            Some("{number_of_comparison_results: 5}"),
            &["e1", "e2", "e4"],
        ),
        (
            Some("{number_of_comparison_results: 1}"),
            &["e1", "e2", "e4"],
        ),
        (Some("{compare_with: SINGLE_RESULT}"), &["e1", "e2", "e4"]),
        (
            Some("{compare_with: last_result, number_of_comparison_results: 7}"),
            &["e1", "e2", "e4"],
        ),
        (
            Some("{include_result_with_score: pass}"),
            &["e4", "e6", "e8"],
        ),
    ];
    for (block, expected) in cases {
        let yaml = match block {
            Some(b) => format!("comparison: {b}\nobjectives: []\n"),
            None => "objectives: []\n".into(),
        };
        let selected: Vec<&str> = select(&all, &slo(&yaml).effective_comparison())
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(selected, *expected, "{block:?}");
    }
}

#[test]
fn s8_compared_events_are_the_selected_ids_in_order_and_only_they_form_the_baseline() {
    let all = stored_evaluations();
    let s = slo_of(
        &[obj("rt").pass(&[&["<=+0%"]])],
        &format!(
            "comparison: {{compare_with: several_results, number_of_comparison_results: 3, \
             include_result_with_score: pass}}\n{TS}"
        ),
    );
    let selected = select(&all, &s.effective_comparison());
    let e = evaluate(
        &s,
        &Retrieval::Ok,
        &[ok("rt", 600.0)],
        &selected,
        MissingBaseline::Pass,
    );
    assert_eq!(e.compared_events, ["e4", "e6", "e8"]);
    // (400 + 600 + 800) / 3
    assert_eq!(single(&e).value.compared_value, 600.0);
    assert_eq!(single(&e).status, Status::Pass);
    // Nothing selected: no compared events, no baseline.
    let e = evaluate(
        &s,
        &Retrieval::Ok,
        &[ok("rt", 600.0)],
        &[],
        MissingBaseline::Pass,
    );
    assert!(e.compared_events.is_empty());
    assert_eq!(single(&e).value.compared_value, 0.0);
}

#[test]
fn s8_errored_previous_evaluations_use_up_places() {
    // Newest first: an errored evaluation (no indicatorResults), then a passed one.
    let all = vec![
        prev("errored", "fail", vec![]),
        prev("good", "pass", vec![ok("rt", 10.0)]),
    ];
    // (comparison block, selected ids, targetValue, status for value 1000)
    let cases: &[(&str, &[&str], f64, Status)] = &[
        (
            "{compare_with: single_result}",
            &["errored"],
            0.0,
            Status::Pass,
        ),
        (
            "{compare_with: several_results, number_of_comparison_results: 2}",
            &["errored", "good"],
            11.0,
            Status::Fail,
        ),
        (
            "{compare_with: single_result, include_result_with_score: pass}",
            &["good"],
            11.0,
            Status::Fail,
        ),
    ];
    for (block, ids, t, status) in cases {
        let s = slo_of(
            &[obj("rt").pass(&[&["<=+10%"]])],
            &format!("comparison: {block}\n{TS}"),
        );
        let selected = select(&all, &s.effective_comparison());
        let e = evaluate(
            &s,
            &Retrieval::Ok,
            &[ok("rt", 1000.0)],
            &selected,
            MissingBaseline::Pass,
        );
        assert_eq!(e.compared_events, *ids, "{block}");
        let r = single(&e);
        assert_eq!(r.status, *status, "{block}");
        assert_eq!(
            r.pass_targets,
            Some(vec![target("<=+10%", *t, *status == Status::Fail)]),
            "{block}"
        );
    }
    // The same without the comparison block: single_result, all.
    let s = gate(&[obj("rt").pass(&[&["<=+10%"]])]);
    let selected = select(&all, &s.effective_comparison());
    let e = evaluate(
        &s,
        &Retrieval::Ok,
        &[ok("rt", 1000.0)],
        &selected,
        MissingBaseline::Pass,
    );
    assert_eq!(e.compared_events, ["errored"]);
    assert_eq!(single(&e).status, Status::Pass);
}

// ---------------------------------------------------------------------------------------------
// slogate's missing-baseline policy (--on-missing-baseline)
// ---------------------------------------------------------------------------------------------

#[test]
fn policy_missing_baseline() {
    use MissingBaseline::{Fail, Pass, Warn};
    let none: Vec<PreviousEvaluation> = vec![];
    let unusable = vec![prev(
        "e1",
        "pass",
        vec![unsuccessful("rt", Some(500.0), "x")],
    )];
    let pool = history("rt", &[500.0]);
    struct Case<'a> {
        what: &'a str,
        objective: Obj,
        measured: f64,
        previous: &'a [PreviousEvaluation],
        policy: MissingBaseline,
        status: Status,
        score: f64,
        pass_targets: Vec<TargetResult>,
    }
    let and = || obj("rt").weight(2).pass(&[&["<=+10%", "<600"]]);
    let or = || obj("rt").weight(2).pass(&[&["<=+10%"], &["<600"]]);
    let rel_ok = || vec![target("<=+10%", 0.0, false), target("<600", 600.0, false)];
    let rel_violated = || vec![target("<=+10%", 0.0, true), target("<600", 600.0, false)];
    let cases = vec![
        // Pass is Keptn: satisfied, target 0
        Case {
            what: "and, pass",
            objective: and(),
            measured: 500.0,
            previous: &none,
            policy: Pass,
            status: Status::Pass,
            score: 2.0,
            pass_targets: rel_ok(),
        },
        Case {
            what: "and, pass, unusable pool",
            objective: and(),
            measured: 500.0,
            previous: &unusable,
            policy: Pass,
            status: Status::Pass,
            score: 2.0,
            pass_targets: rel_ok(),
        },
        // Warn: passed only for lack of a baseline → warning, weight/2
        Case {
            what: "and, warn",
            objective: and(),
            measured: 500.0,
            previous: &none,
            policy: Warn,
            status: Status::Warning,
            score: 1.0,
            pass_targets: rel_ok(),
        },
        Case {
            what: "and, warn, unusable pool",
            objective: and(),
            measured: 500.0,
            previous: &unusable,
            policy: Warn,
            status: Status::Warning,
            score: 1.0,
            pass_targets: rel_ok(),
        },
        // Fail: the relative criterion is violated
        Case {
            what: "and, fail",
            objective: and(),
            measured: 500.0,
            previous: &none,
            policy: Fail,
            status: Status::Fail,
            score: 0.0,
            pass_targets: rel_violated(),
        },
        Case {
            what: "and, fail, unusable pool",
            objective: and(),
            measured: 500.0,
            previous: &unusable,
            policy: Fail,
            status: Status::Fail,
            score: 0.0,
            pass_targets: rel_violated(),
        },
        // With a baseline the policy changes nothing.
        Case {
            what: "and, warn, pool",
            objective: and(),
            measured: 500.0,
            previous: &pool,
            policy: Warn,
            status: Status::Pass,
            score: 2.0,
            pass_targets: vec![target("<=+10%", 550.0, false), target("<600", 600.0, false)],
        },
        Case {
            what: "and, fail, pool",
            objective: and(),
            measured: 500.0,
            previous: &pool,
            policy: Fail,
            status: Status::Pass,
            score: 2.0,
            pass_targets: vec![target("<=+10%", 550.0, false), target("<600", 600.0, false)],
        },
        Case {
            what: "and, fail, pool, violated",
            objective: and(),
            measured: 560.0,
            previous: &pool,
            policy: Fail,
            status: Status::Fail,
            score: 0.0,
            pass_targets: vec![target("<=+10%", 550.0, true), target("<600", 600.0, false)],
        },
        // An objective that fails anyway fails under every policy.
        Case {
            what: "and, pass, 700",
            objective: and(),
            measured: 700.0,
            previous: &none,
            policy: Pass,
            status: Status::Fail,
            score: 0.0,
            pass_targets: vec![target("<=+10%", 0.0, false), target("<600", 600.0, true)],
        },
        Case {
            what: "and, warn, 700",
            objective: and(),
            measured: 700.0,
            previous: &none,
            policy: Warn,
            status: Status::Fail,
            score: 0.0,
            pass_targets: vec![target("<=+10%", 0.0, false), target("<600", 600.0, true)],
        },
        // OR: passing through an absolute list is passing on its own.
        Case {
            what: "or, warn, 500",
            objective: or(),
            measured: 500.0,
            previous: &none,
            policy: Warn,
            status: Status::Pass,
            score: 2.0,
            pass_targets: rel_ok(),
        },
        Case {
            what: "or, fail, 500",
            objective: or(),
            measured: 500.0,
            previous: &none,
            policy: Fail,
            status: Status::Pass,
            score: 2.0,
            pass_targets: rel_violated(),
        },
        Case {
            what: "or, pass, 700",
            objective: or(),
            measured: 700.0,
            previous: &none,
            policy: Pass,
            status: Status::Pass,
            score: 2.0,
            pass_targets: vec![target("<=+10%", 0.0, false), target("<600", 600.0, true)],
        },
        Case {
            what: "or, warn, 700",
            objective: or(),
            measured: 700.0,
            previous: &none,
            policy: Warn,
            status: Status::Warning,
            score: 1.0,
            pass_targets: vec![target("<=+10%", 0.0, false), target("<600", 600.0, true)],
        },
        Case {
            what: "or, fail, 700",
            objective: or(),
            measured: 700.0,
            previous: &none,
            policy: Fail,
            status: Status::Fail,
            score: 0.0,
            pass_targets: vec![target("<=+10%", 0.0, true), target("<600", 600.0, true)],
        },
        // Fail: absolute warning criteria still apply after the relative pass criterion is violated.
        Case {
            what: "warning, fail",
            objective: obj("rt").pass(&[&["<=+10%"]]).warning(&[&["<=800"]]),
            measured: 500.0,
            previous: &none,
            policy: Fail,
            status: Status::Warning,
            score: 0.5,
            pass_targets: vec![target("<=+10%", 0.0, true)],
        },
    ];
    for c in cases {
        let e = run_with(
            &gate(&[c.objective]),
            &Retrieval::Ok,
            &[ok("rt", c.measured)],
            c.previous,
            c.policy,
        );
        assert_scored(&e);
        let r = single(&e);
        assert_eq!((r.status, r.score), (c.status, c.score), "{}", c.what);
        assert_eq!(r.pass_targets.as_ref(), Some(&c.pass_targets), "{}", c.what);
    }
}

#[test]
fn policy_missing_baseline_on_relative_warning_criteria() {
    // Pass criteria fail on their own; the warning criterion is relative without a baseline.
    let o = obj("rt").pass(&[&["<600"]]).warning(&[&["<=+20%"]]);
    let cases = [
        (MissingBaseline::Pass, Status::Warning, false),
        (MissingBaseline::Warn, Status::Warning, false),
        (MissingBaseline::Fail, Status::Fail, true),
    ];
    for (policy, status, violated) in cases {
        let e = run_with(
            &gate(std::slice::from_ref(&o)),
            &Retrieval::Ok,
            &[ok("rt", 700.0)],
            &[],
            policy,
        );
        let r = single(&e);
        assert_eq!(r.status, status, "{policy:?}");
        assert_eq!(
            r.warning_targets,
            Some(vec![target("<=+20%", 0.0, violated)]),
            "{policy:?}"
        );
    }
}

#[test]
fn policy_missing_baseline_and_key_slis() {
    let s = gate(&[obj("rt").key().named("RT").pass(&[&["<=+10%"]])]);
    // (policy, verdict, score, message)
    let cases = [
        (MissingBaseline::Pass, Verdict::Pass, 100.0, ""),
        // a key SLI downgraded to warning does not fail the gate; its half score does
        (
            MissingBaseline::Warn,
            Verdict::Fail,
            50.0,
            "Evaluation failed since the calculated score of 50 is below the warning value of 75",
        ),
        (
            MissingBaseline::Fail,
            Verdict::Fail,
            0.0,
            "Evaluation failed due to key_sli objective 'RT': failed evaluation with score 0.000000",
        ),
    ];
    for (policy, verdict, score, message) in cases {
        let e = run_with(&s, &Retrieval::Ok, &[ok("rt", 5.0)], &[], policy);
        assert_eq!((e.result, e.score), (verdict, score), "{policy:?}");
        assert_eq!(e.message, message, "{policy:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// slogate's statistical judge (`--judge statistical`): how its decisions enter the scoring
// ---------------------------------------------------------------------------------------------

/// A comparison whose change interval is `low … high` percent around the values' own change.
fn interval(low: f64, high: f64) -> crate::judge::Comparison {
    use crate::judge::{Comparison, Interval, Statistic};
    Comparison {
        statistic: Statistic::Percentile(95.0),
        method: String::new(),
        confidence: 0.95,
        change_percent: Some(Interval {
            point: (low + high) / 2.0,
            low,
            high,
        }),
        difference: None,
        minutes_before: 30,
        minutes_after: 30,
        effective_minutes_before: 10.0,
        effective_minutes_after: 10.0,
        autocorrelation: 0.5,
        between_windows_percent: None,
        events_before: None,
        events_after: None,
        events_name: None,
        too_little: None,
        decision: None,
        summary: String::new(),
        resolvable_percent: None,
        criteria: Vec::new(),
        baseline: None,
        left_out: Vec::new(),
        load_adjusted_percent: None,
        load_slope: None,
        log_se: None,
        combined: None,
    }
}

fn judged_run(
    slo: &Slo,
    values: &[SliValue],
    baseline: Vec<SliValue>,
    by_sli: &[(&str, (f64, f64))],
) -> Evaluation {
    let pseudo = prev("baseline window", "pass", baseline);
    let hook = |o: &crate::model::slo::Objective, _a: f64, _v: f64| {
        by_sli
            .iter()
            .find(|(s, _)| *s == o.sli.value)
            .map(|(_, (l, h))| interval(*l, *h))
    };
    evaluate_judged(
        slo,
        &Retrieval::Ok,
        values,
        &[&pseudo],
        MissingBaseline::Warn,
        BaselineKind::Window,
        Some(&hook),
    )
}

#[test]
fn judge_inconclusive_objectives_keep_their_score_and_warn() {
    // Two objectives 15 % and 30 % over their +10 % margin, both intervals reaching back inside:
    // Keptn fails the gate (2 failures of 3). p95's interval holds no change (−8 … +32 %, and
    // its one-sided 95 % bound is below 0 too): the judge passes it; avg's (+5 … +55 %) shows it
    // worse but not beyond the margin: a warning with full score.
    let s = gate(&[
        obj("p95").pass(&[&["<=+10%"]]),
        obj("avg").pass(&[&["<=+10%"]]),
        obj("errors").pass(&[&["<=+50%"]]),
    ]);
    let values = [ok("p95", 115.0), ok("avg", 130.0), ok("errors", 1.0)];
    let base = vec![ok("p95", 100.0), ok("avg", 100.0), ok("errors", 1.0)];
    let keptn = evaluate_with(
        &s,
        &Retrieval::Ok,
        &values,
        &[&prev("b", "pass", base.clone())],
        MissingBaseline::Warn,
        BaselineKind::Window,
    );
    assert_eq!(keptn.result, Verdict::Fail);
    let e = judged_run(
        &s,
        &values,
        base.clone(),
        &[
            ("p95", (-8.0, 32.0)),
            ("avg", (5.0, 55.0)),
            ("errors", (-30.0, 40.0)),
        ],
    );
    assert_eq!(e.result, Verdict::Warning, "{e:#?}");
    assert_eq!(e.score, 100.0);
    assert!(
        e.message.contains("1 objective is inconclusive"),
        "{}",
        e.message
    );
    let st: Vec<Status> = e.indicator_results.iter().map(|r| r.status).collect();
    assert_eq!(st, [Status::Pass, Status::Warning, Status::Pass]);
    assert!(e.indicator_results[1].is_inconclusive());
    assert!(
        e.indicator_results[0].notes.iter().any(
            |n| n.ends_with("a pass by the statistical judge, a failure by Keptn's comparison")
        ),
        "{:?}",
        e.indicator_results[0].notes
    );
    // Keptn's targets stay as Keptn reports them.
    assert!(e.indicator_results[0].pass_targets.as_ref().unwrap()[0].violated);
    // An interval wholly beyond the margin is a violation: Keptn's failure stands.
    let e = judged_run(
        &s,
        &values,
        base,
        &[
            ("p95", (-8.0, 32.0)),
            ("avg", (15.0, 45.0)),
            ("errors", (-30.0, 40.0)),
        ],
    );
    assert_eq!(e.result, Verdict::Fail);
    assert_eq!(e.indicator_results[1].status, Status::Fail);
    assert_eq!(
        e.indicator_results[1].judge.as_ref().unwrap().decision,
        Some(crate::judge::Decision::Violated)
    );
}

/// [`interval`] with the standard error of the log change the intervals imply (for the
/// combination of objectives).
fn interval_se(low: f64, high: f64) -> crate::judge::Comparison {
    let mut c = interval(low, high);
    let q = crate::judge::estimate::normal_quantile(0.975);
    let (l, h) = ((1.0 + low / 100.0).ln(), (1.0 + high / 100.0).ln());
    c.change_percent.as_mut().unwrap().point = (((l + h) / 2.0).exp() - 1.0) * 100.0;
    c.log_se = Some((h - l) / (2.0 * q));
    c
}

#[test]
fn judge_objectives_moving_together_add_up() {
    // Latency +22 % (interval +6 … +40 %) and errors +150 % (+25 … +400 %): alone, each is
    // worse but not shown beyond its margin (+10 %, +50 %). Together (Stouffer over the latency
    // and the error group) they are beyond their margins: both fail.
    let s = gate(&[
        obj("p95").pass(&[&["<=+10%"]]),
        obj("errors").pass(&[&["<=+50%"]]),
    ]);
    let run = |lat: (f64, f64), err: (f64, f64)| {
        let pseudo = prev(
            "baseline window",
            "pass",
            vec![ok("p95", 100.0), ok("errors", 1.0)],
        );
        let hook = move |o: &crate::model::slo::Objective, _: f64, _: f64| {
            Some(if o.sli.value == "p95" {
                interval_se(lat.0, lat.1)
            } else {
                let mut c = interval_se(err.0, err.1);
                c.statistic = crate::judge::Statistic::Rate;
                c
            })
        };
        evaluate_judged(
            &s,
            &Retrieval::Ok,
            &[ok("p95", 121.0), ok("errors", 1.6)],
            &[&pseudo],
            MissingBaseline::Warn,
            BaselineKind::Window,
            Some(&hook),
        )
    };
    let e = run((6.0, 40.0), (25.0, 400.0));
    let z = |c: &crate::judge::Comparison, m: f64| {
        ((1.0 + c.change_percent.unwrap().point / 100.0).ln() - (1.0 + m / 100.0).ln())
            / c.log_se.unwrap()
    };
    let (zl, ze) = (
        z(e.indicator_results[0].judge.as_ref().unwrap(), 10.0),
        z(e.indicator_results[1].judge.as_ref().unwrap(), 50.0),
    );
    // Known answer: (z₁ + z₂)/√2 against 1.96.
    assert!((zl + ze) / 2f64.sqrt() >= 1.96, "{zl} {ze}");
    assert!(zl < 1.96 && ze < 1.96);
    assert_eq!(e.result, Verdict::Fail, "{e:#?}");
    for r in &e.indicator_results {
        let j = r.judge.as_ref().unwrap();
        assert_eq!(j.combined, Some(crate::judge::Decision::Violated));
        assert!(
            j.summary
                .contains("together with the objectives moving the same way"),
            "{}",
            j.summary
        );
    }
    // Errors that fell do not add up with latency: latency alone is inconclusive.
    let e = run((6.0, 40.0), (-60.0, 5.0));
    assert_eq!(e.result, Verdict::Warning, "{e:#?}");
    assert_eq!(
        e.indicator_results[0].judge.as_ref().unwrap().combined,
        None
    );
}

#[test]
fn judge_uncertain_warning_criterion_scores_half() {
    // +25 %: the pass criterion is clearly missed (interval +12 … +38 %), the warning one
    // (<=+20 %) is uncertain: a warning at half score, as Keptn scores warnings.
    let s = gate(&[obj("p95").pass(&[&["<=+10%"]]).warning(&[&["<=+20%"]])]);
    let e = judged_run(
        &s,
        &[ok("p95", 125.0)],
        vec![ok("p95", 100.0)],
        &[("p95", (12.0, 38.0))],
    );
    let r = single(&e);
    assert_eq!(r.status, Status::Warning);
    assert_eq!(r.score, 0.5);
    assert!(r.is_inconclusive());
}

#[test]
fn judge_leaves_passes_absolute_criteria_and_history_alone() {
    let s = gate(&[obj("p95").pass(&[&["<=+10%", "<600"]])]);
    // Within the margin: Keptn's pass, with the judge's line for the report.
    let e = judged_run(
        &s,
        &[ok("p95", 105.0)],
        vec![ok("p95", 100.0)],
        &[("p95", (-5.0, 15.0))],
    );
    assert_eq!(e.result, Verdict::Pass);
    assert_eq!(
        single(&e).judge.as_ref().unwrap().decision,
        Some(crate::judge::Decision::Satisfied)
    );
    // An absolute criterion missed is missed, whatever the interval.
    let e = judged_run(
        &s,
        &[ok("p95", 700.0)],
        vec![ok("p95", 680.0)],
        &[("p95", (-5.0, 15.0))],
    );
    assert_eq!(e.result, Verdict::Fail);
    // A history baseline is never judged.
    let hook = |_: &crate::model::slo::Objective, _: f64, _: f64| Some(interval(-50.0, 90.0));
    let h = history("p95", &[100.0]);
    let refs: Vec<&PreviousEvaluation> = h.iter().collect();
    let e = evaluate_judged(
        &s,
        &Retrieval::Ok,
        &[ok("p95", 130.0)],
        &refs,
        MissingBaseline::Pass,
        BaselineKind::History,
        Some(&hook),
    );
    assert_eq!(e.result, Verdict::Fail);
    assert!(single(&e).judge.is_none());
}

#[test]
fn a_change_beyond_the_range_of_numbers_is_never_satisfied() {
    // `<=+10%` of 1e307 is +Inf in floating point: Keptn compared 1.7e308 with +Inf and passed.
    let s = gate(&[obj("rt").pass(&[&["<=+10%"]]).warning(&[&["<=+50%"]])]);
    let values = [ok("rt", 1.7e308)];
    let base = vec![ok("rt", 1e307)];
    let e = evaluate_with(
        &s,
        &Retrieval::Ok,
        &values,
        &[&prev("b", "pass", base.clone())],
        MissingBaseline::Warn,
        BaselineKind::Window,
    );
    assert_eq!(e.result, Verdict::Fail, "{e:#?}");
    let r = single(&e);
    assert_eq!(r.status, Status::Fail);
    let targets = r.pass_targets.as_ref().unwrap();
    assert!(targets[0].violated && targets[0].target_value == 0.0);
    assert!(
        r.notes.iter().any(|n| n.contains("cannot be computed")),
        "{:?}",
        r.notes
    );
    // The change itself is a number (1600 %), and reported.
    assert_eq!(r.change_percent, Some(1600.0));
    // Every number of the report is finite, so it serialises (and the history stores it).
    let json = serde_json::to_string(&e).unwrap();
    for field in ["targetValue", "comparedValue", "baselineValue", "score"] {
        assert!(!json.contains(&format!("\"{field}\":null")), "{json}");
    }
    // The judge cannot make it inconclusive either.
    let e = judged_run(&s, &values, base, &[("rt", (-5.0, 1e9))]);
    assert_eq!(e.result, Verdict::Fail, "{e:#?}");
    // A baseline that itself overflows (the mean of two values near the maximum).
    let h = history("rt", &[1.7e308, 1.7e308]);
    let refs: Vec<&PreviousEvaluation> = h.iter().collect();
    let s = gate(&[obj("rt").pass(&[&["<=+10%"]])]);
    let e = evaluate(
        &s,
        &Retrieval::Ok,
        &[ok("rt", 1.0)],
        &refs,
        MissingBaseline::Pass,
    );
    assert_eq!(e.result, Verdict::Fail, "{e:#?}");
    let r = single(&e);
    assert_eq!(r.value.compared_value, 0.0);
    assert_eq!(r.baseline_value, None);
    let json = serde_json::to_string(&e).unwrap();
    for field in ["targetValue", "comparedValue", "baselineValue"] {
        assert!(!json.contains(&format!("\"{field}\":null")), "{json}");
    }
}
