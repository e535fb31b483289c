use super::*;
use crate::diag::SourceFile;
use crate::model::layout::merge_sli;
use crate::model::load::{parse_sli, parse_slo};

fn slo(text: &str) -> Slo {
    let l = parse_slo(SourceFile::new("slo.yaml", text), vec![]);
    assert!(l.problems.iter().all(|p| !p.is_error()), "{:?}", l.problems);
    l.value
}

fn codes(problems: &[Problem]) -> Vec<&'static str> {
    let mut c: Vec<_> = problems.iter().map(|p| p.code).collect();
    c.sort_unstable();
    c
}

#[test]
fn clean_file_has_no_findings() {
    let s = slo(
        "comparison: {compare_with: several_results, number_of_comparison_results: 3}\nobjectives:\n  - sli: rt\n    pass: [{criteria: [\"<=+10%\", \"<600\"]}]\n    warning: [{criteria: [\"<=800\"]}]\ntotal_score: {pass: \"90%\", warning: \"75%\"}\n",
    );
    assert!(check_slo(&s).is_empty(), "{:?}", check_slo(&s));
}

#[test]
fn bad_criteria_name_keptns_error() {
    let s = slo("objectives:\n  - sli: rt\n    pass: [{criteria: [\"600\", \"=<5\"]}]\n");
    let p = check_slo(&s);
    assert_eq!(
        codes(&p),
        ["slogate::bad-criteria", "slogate::bad-criteria"]
    );
    assert!(p[0].message.starts_with("invalid criteria string"));
    assert!(
        p[1].message
            .starts_with("could not parse criteria target value")
    );
    assert!(p[1].help.as_deref().unwrap().contains("`<=`"));
}

#[test]
fn total_score_checks() {
    let p = check_slo(&slo(
        "objectives: [{sli: a}]\ntotal_score: {pass: \"80%\", warning: \"90%\"}\n",
    ));
    assert_eq!(codes(&p), ["slogate::warning-above-pass"]);
    let p = check_slo(&slo(
        "objectives: [{sli: a}]\ntotal_score: {pass: \"abc\", warning: \"120%\"}\n",
    ));
    assert_eq!(
        codes(&p),
        ["slogate::bad-percentage", "slogate::bad-percentage"]
    );
    // a plain number is a percentage too, as in Keptn
    assert!(
        check_slo(&slo(
            "objectives: [{sli: a}]\ntotal_score: {pass: 90, warning: 75}\n"
        ))
        .is_empty()
    );
}

#[test]
fn comparison_values() {
    let p = check_slo(&slo(
        "comparison: {compare_with: several_result, include_result_with_score: PASS, aggregate_function: P90}\nobjectives: [{sli: a}]\n",
    ));
    // include_result_with_score is lower-cased by Keptn, so PASS is fine; the rest are case-sensitive
    assert_eq!(
        codes(&p),
        ["slogate::unknown-value", "slogate::unknown-value"]
    );
    let p = check_slo(&slo(
        "comparison: {compare_with: single_result, number_of_comparison_results: 5}\nobjectives: [{sli: a}]\n",
    ));
    assert_eq!(codes(&p), ["slogate::ignored-setting"]);
    assert!(
        p[0].message.contains("compares with 1 previous result"),
        "{}",
        p[0].message
    );
    // A count equal to the one Keptn uses changes nothing and is not worth a warning.
    for (comparison, warned) in [
        (
            "{compare_with: single_result, number_of_comparison_results: 1}",
            false,
        ),
        ("{number_of_comparison_results: 3}", false),
        ("{number_of_comparison_results: 2}", true),
        (
            "{compare_with: several_results, number_of_comparison_results: 7}",
            false,
        ),
    ] {
        let p = check_slo(&slo(&format!(
            "comparison: {comparison}\nobjectives: [{{sli: a}}]\n"
        )));
        let want: &[&str] = if warned {
            &["slogate::ignored-setting"]
        } else {
            &[]
        };
        assert_eq!(codes(&p), want, "{comparison}");
    }
}

#[test]
fn several_objectives_on_one_sli_and_key_sli_without_pass() {
    // The same SLI once absolute, once relative, and an info objective: all fine.
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    pass: [{criteria: [\"<600\"]}]\n  - sli: a\n    pass: [{criteria: [\"<=+10%\"]}]\n  - sli: a\n",
    ));
    assert_eq!(codes(&p), [] as [&str; 0]);
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    key_sli: true\n  - sli: a\n    pass: [{criteria: [\"<1\"]}]\n",
    ));
    assert_eq!(codes(&p), ["slogate::key-sli-without-pass"]);
    // Pass criteria that no single value meets together: a warning on the later objective.
    let cases: &[(&str, &str, bool)] = &[
        ("[\"<100\"]", "[\">200\"]", true),
        ("[\"<100\"]", "[\">=100\"]", true),
        ("[\"<=100\"]", "[\">=100\"]", false),
        ("[\"=5\"]", "[\">4\", \"<6\"]", false),
        ("[\"=5\"]", "[\">5\"]", true),
        ("[\"<100\"]", "[\">200\", \"<=+10%\"]", true),
        ("[\"<100\"]", "[\"<=+10%\"]", false),
        ("[\">0\", \"<10\"]", "[\">20\"]", true),
    ];
    for (first, second, contradicts) in cases {
        let p = check_slo(&slo(&format!(
            "objectives:\n  - sli: a\n    pass: [{{criteria: {first}}}]\n  - sli: a\n    pass: [{{criteria: {second}}}]\n"
        )));
        let want: &[&str] = if *contradicts {
            &["slogate::contradicting-objectives"]
        } else {
            &[]
        };
        assert_eq!(codes(&p), want, "{first} / {second}");
        if let Some(w) = p.first() {
            assert!(!w.is_error());
            assert_eq!(w.line_col(), Some((4, 10)));
            assert_eq!(w.notes[0].origin.location(), "slo.yaml:2:10");
        }
    }
    // Either list of an objective may give the common value (OR).
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    pass: [{criteria: [\"<1\"]}, {criteria: [\">50\"]}]\n  - sli: a\n    pass: [{criteria: [\">40\", \"<60\"]}]\n",
    ));
    assert_eq!(codes(&p), [] as [&str; 0]);
}

#[test]
fn relative_criteria_without_any_baseline() {
    let p = check_slo(&slo(
        "comparison: {compare_with: several_results, number_of_comparison_results: -1}\nobjectives:\n  - sli: a\n    pass: [{criteria: [\"<=+10%\"]}]\n",
    ));
    assert_eq!(
        codes(&p),
        ["slogate::bad-number", "slogate::no-baseline-possible"]
    );
}

#[test]
fn pass_looser_than_warning() {
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    pass: [{criteria: [\"<=600\"]}]\n    warning: [{criteria: [\"<=500\"]}]\n",
    ));
    assert_eq!(codes(&p), ["slogate::pass-looser-than-warning"]);
    assert!(!p[0].is_error());
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    pass: [{criteria: [\">=99\"]}]\n    warning: [{criteria: [\">=99.5\"]}]\n",
    ));
    assert_eq!(codes(&p), ["slogate::pass-looser-than-warning"]);
    // the usual shape is fine
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    pass: [{criteria: [\">=99.5\"]}]\n    warning: [{criteria: [\">=99\"]}]\n",
    ));
    assert!(p.is_empty());
}

#[test]
fn warnings_for_unscored_and_empty() {
    let p = check_slo(&slo(
        "objectives:\n  - sli: a\n    warning: [{criteria: [\"<1\"]}]\n  - sli: b\n    pass: [{criteria: []}]\n    weight: -2\n",
    ));
    assert_eq!(
        codes(&p),
        [
            "slogate::bad-weight",
            "slogate::empty-criteria",
            "slogate::warning-without-pass"
        ]
    );
}

#[test]
fn placeholders() {
    let l = parse_sli(
        SourceFile::new(
            "sli.yaml",
            "indicators:\n  a: \"tag(keptn_service:$SERVICE_NAME),$STAGE,$LABEL.x,$ENV.Y,$HANDLER,$NOPE\"\n",
        ),
        vec![],
    );
    let p = check_sli(&l.value, &["handler".to_string()]);
    assert_eq!(p.len(), 2);
    assert!(p[0].message.contains("$SERVICE_NAME"));
    assert!(p[0].help.as_deref().unwrap().contains("prefix"));
    assert_eq!(p[0].origin.as_ref().unwrap().snippet(), "$SERVICE_NAME");
    assert!(p[1].message.contains("$NOPE"));
}

#[test]
fn merged_references() {
    let s = slo(
        "objectives:\n  - sli: rt\n    pass: [{criteria: [\"<1\"]}]\n  - sli: throughputt\ntotal_score: {pass: \"90%\"}\n",
    );
    let sli = parse_sli(
        SourceFile::new("sli.yaml", "indicators: {rt: q, throughput: q}\n"),
        vec![],
    )
    .value;
    let p = check_merged(&s, &merge_sli([&sli]), "");
    assert_eq!(codes(&p), ["slogate::undefined-sli"]);
    assert_eq!(p[0].help.as_deref(), Some("did you mean `throughput`?"));
    // without any sli.yaml Keptn's defaults apply
    let p = check_merged(&s, &merge_sli([]), "");
    assert_eq!(
        codes(&p),
        ["slogate::undefined-sli", "slogate::undefined-sli"]
    );
    let d = slo(
        "objectives:\n  - sli: response_time_p95\n    pass: [{criteria: [\"<1\"]}]\ntotal_score: {pass: \"90%\"}\n",
    );
    assert!(check_merged(&d, &merge_sli([]), "").is_empty());
}

#[test]
fn merged_needs_objectives_and_total_score() {
    let sli = merge_sli([]);
    assert_eq!(
        codes(&check_merged(&slo("spec_version: '1.0'\n"), &sli, "")),
        ["slogate::no-objectives"]
    );
    assert_eq!(
        codes(&check_merged(
            &slo("objectives:\n  - sli: error_rate\n    pass: [{criteria: [\"<1\"]}]\n"),
            &sli,
            ""
        )),
        ["slogate::missing-total-score"]
    );
    // informational objectives alone need no threshold (Keptn passes them with 100)
    assert!(check_merged(&slo("objectives:\n  - sli: error_rate\n"), &sli, "").is_empty());
}

#[test]
fn every_query_is_checked_with_the_parser_eval_uses() {
    let text = concat!(
        "indicators:\n",
        "  rt: \"metricSelector=builtin:service.response.time:avg&entitySelector=type(SERVICE)\"\n",
        "  empty: \"\"\n",
        "  usql_without_prefix: \"select count(*) FROM usersession where city='Linz'\"\n",
        "  bad_key: \"metricsSelector=builtin:x\"\n",
        "  cpu: \"MV2;Percent;metricSelector=builtin:host.cpu.usage:avg\"\n",
        "  typo: \"MV2;MicroSeconds;metricSelector=builtin:x\"\n",
        "  slo: \"SLO;\"\n",
    );
    let l = parse_sli(SourceFile::new("sli.yaml", text), vec![]);
    let p = check_queries(&l.value);
    let got: Vec<(&str, bool, (usize, usize))> = p
        .iter()
        .map(|p| (p.code, p.is_error(), p.line_col().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("slogate::bad-query", true, (3, 10)),
            ("slogate::bad-query", true, (4, 24)),
            ("slogate::bad-query", true, (5, 12)),
            ("slogate::old-mv2-unit", false, (6, 9)),
            ("slogate::bad-query", true, (7, 9)),
            ("slogate::bad-query", true, (8, 8)),
        ]
    );
    // The parser's reason, as explain and eval report it.
    assert!(
        p[0].message
            .ends_with("metrics query must include a metric selector"),
        "{}",
        p[0].message
    );
    assert!(p[1].help.as_deref().unwrap().contains("USQL;<SINGLE_VALUE"));
    assert!(p[2].message.ends_with("unknown key: metricsSelector"));
    assert!(p[4].message.ends_with("invalid unit: MicroSeconds"));
    assert!(p[5].message.ends_with("SLO ID should not be empty"));
    // The old unit: pointed at, and the modern form named.
    assert_eq!(p[3].origin.as_ref().unwrap().snippet(), "MV2;Percent;");
    assert!(
        p[3].help
            .as_deref()
            .unwrap()
            .contains("`metricSelector=builtin:host.cpu.usage:avg`"),
        "{:?}",
        p[3].help
    );
}
