//! `slogate score`: golden reports of the examples and Keptn's scoring rules end to end.
//!
//! Example runs happen in `slo-examples/`, fixture runs in `tests/fixtures/score/<case>/`, with
//! relative paths, so the file names inside reports are stable.

use serde_json::{Value, json};

use crate::support::{Output, Slogate, examples, fixtures};

/// `slogate score <args>` from `slo-examples/`.
fn score_example(args: &[&str]) -> Output {
    Slogate::new()
        .arg("score")
        .args(args)
        .current_dir(examples())
        .run()
}

/// `slogate score <args>` from `tests/fixtures/score/<case>/`.
fn score_case(case: &str, args: &[&str]) -> Output {
    Slogate::new()
        .arg("score")
        .args(args)
        .current_dir(fixtures("score").join(case))
        .run()
}

fn web_service(extra: &[&str]) -> Output {
    let mut args = vec![
        "--slo",
        "web-service/slo.yaml",
        "--values",
        "web-service/values.json",
        "--previous",
        "web-service/previous.json",
    ];
    args.extend_from_slice(extra);
    score_example(&args)
}

fn api_key_slis(extra: &[&str]) -> Output {
    let mut args = vec![
        "--slo",
        "api-key-slis/slo.yaml",
        "--values",
        "api-key-slis/values.json",
        "--previous",
        "api-key-slis/previous.json",
    ];
    args.extend_from_slice(extra);
    score_example(&args)
}

/// `(status, score)` of every indicator result, in order.
fn statuses(report: &Value) -> Vec<(String, f64)> {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["score"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn st(list: &[(&str, f64)]) -> Vec<(String, f64)> {
    list.iter().map(|(s, v)| (s.to_string(), *v)).collect()
}

// ---------------------------------------------------------------------------------------------
// Golden reports of slo-examples/

#[test]
fn web_service_report_is_a_warning() {
    let out = web_service(&["--format", "json"]);
    out.assert_no_panic().assert_code(0);
    assert!(
        out.stderr.is_empty(),
        "a clean SLO prints nothing on stderr\n{out:?}"
    );
    let r = out.json();
    // slo-examples/web-service/README.md: WARNING, score 80.
    assert_eq!(r["result"], "warning");
    assert_eq!(r["score"], 80.0);
    assert_eq!(
        r["message"],
        "Evaluation returned a warning: the calculated score of 80 is close to the warning target value of 75"
    );
    assert_eq!(
        statuses(&r),
        st(&[
            ("warning", 1.0),
            ("pass", 2.0),
            ("pass", 1.0),
            ("info", 0.0)
        ])
    );
    // p95: baseline 400, `<=+10%` → 440, violated by 455.
    let p95 = &r["indicatorResults"][0];
    assert_eq!(p95["value"]["comparedValue"], 400.0);
    assert_eq!(
        p95["passTargets"][0],
        json!({"criteria": "<=+10%", "targetValue": 440.0, "violated": true})
    );
    assert_eq!(r["comparedEvents"], json!(["web-service/previous.json"]));
    insta::assert_snapshot!("web_service_json", out.stdout);
}

#[test]
fn web_service_text_report() {
    let out = web_service(&[]);
    out.assert_no_panic().assert_code(0);
    assert!(
        out.stdout
            .starts_with("WARNING  score 80  (pass ≥ 90%, warning ≥ 75%)\n"),
        "{out:?}"
    );
    insta::assert_snapshot!("web_service_text", out.stdout);
}

#[test]
fn web_service_without_previous_passes() {
    // README: without a baseline the relative criteria are satisfied: PASS, score 100.
    let out = score_example(&[
        "--slo",
        "web-service/slo.yaml",
        "--values",
        "web-service/values.json",
        "--format",
        "json",
    ]);
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("pass"), Some(100.0))
    );
    assert_eq!(r["comparedEvents"], json!([]));
}

#[test]
fn api_key_slis_report_fails_on_a_key_sli() {
    let out = api_key_slis(&["--format", "json"]);
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    // README: FAIL with score 87.5, above the pass threshold, because a key SLI failed.
    assert_eq!(r["result"], "fail");
    assert_eq!(r["score"], 87.5);
    assert_eq!(
        r["message"],
        "Evaluation failed due to key_sli objective 'Availability': failed evaluation with score 0.000000"
    );
    assert_eq!(
        statuses(&r),
        st(&[("fail", 0.0), ("pass", 2.0), ("pass", 5.0), ("info", 0.0)])
    );
    // p90 of the single previous value 205 is 205; `<=+10%` → 225.5.
    let p90 = &r["indicatorResults"][2];
    assert_eq!(p90["value"]["comparedValue"], 205.0);
    assert_eq!(p90["passTargets"][0]["targetValue"], 225.5);
    insta::assert_snapshot!("api_key_slis_json", out.stdout);
}

#[test]
fn api_key_slis_text_report() {
    let out = api_key_slis(&[]);
    out.assert_no_panic().assert_code(1);
    assert!(
        out.stdout
            .starts_with("FAIL  score 87.5  (pass ≥ 85%, warning ≥ 70%)\n"),
        "{out:?}"
    );
    insta::assert_snapshot!("api_key_slis_text", out.stdout);
}

#[test]
fn api_key_slis_without_previous_fails_the_same() {
    let out = score_example(&[
        "--slo",
        "api-key-slis/slo.yaml",
        "--values",
        "api-key-slis/values.json",
        "--format",
        "json",
    ]);
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("fail"), Some(87.5))
    );
    assert_eq!(
        statuses(&r),
        st(&[("fail", 0.0), ("pass", 2.0), ("pass", 5.0), ("info", 0.0)])
    );
}

// ---------------------------------------------------------------------------------------------
// Inputs

#[test]
fn values_in_object_form() {
    let out = score_case(
        "object-values",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("pass"), Some(100.0))
    );
    let rt = &r["indicatorResults"][0]["value"];
    assert_eq!(rt["metric"], "response_time_p95");
    assert_eq!(rt["value"], 512.3);
    assert_eq!(rt["success"], true);
    // `null` is a value that did not arrive; throughput is informational anyway.
    let tp = &r["indicatorResults"][2];
    assert_eq!(
        (tp["status"].as_str(), tp["value"]["success"].as_bool()),
        (Some("info"), Some(false))
    );
    assert_eq!(tp["value"]["value"], Value::Null);
    // A value no objective uses is reported the Keptn way.
    assert_eq!(
        r["message"],
        "Lighthouse received additional SLIs, which are not specified as SLO: cpu . Please consider using them as an SLO."
    );
    insta::assert_snapshot!("object_values_json", out.stdout);
}

/// `score` on `tests/fixtures/score/several-objectives` with this values file, as JSON.
fn several_objectives(values: &str) -> Output {
    score_case(
        "several-objectives",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            values,
            "--previous",
            "previous.json",
            "--format",
            "json",
        ],
    )
}

#[test]
fn every_objective_on_an_sli_gets_its_value() {
    // The object form carries one value per SLI: it feeds every objective on that SLI.
    let out = several_objectives("values.json");
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(
        statuses(&r),
        st(&[("pass", 1.0), ("warning", 0.5), ("pass", 1.0)])
    );
    for i in [0, 1] {
        let v = &r["indicatorResults"][i]["value"];
        assert_eq!(
            (v["metric"].as_str(), v["value"].as_f64()),
            (Some("response_time_p95"), Some(512.3))
        );
    }
    assert_eq!(r["indicatorResults"][1]["value"]["comparedValue"], 450.0);
    assert_eq!(
        r["message"],
        "Evaluation returned a warning: the calculated score of 83.33333333333334 is close to the warning target value of 75"
    );
}

#[test]
fn a_list_of_sli_results_is_consumed_as_keptn_did() {
    // A list is Keptn's SLI results as sent: each entry feeds one objective, so with one entry
    // for two objectives the second gets no value (reference §4.1).
    let out = several_objectives("values-list.json");
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    assert_eq!(
        statuses(&r),
        st(&[("pass", 1.0), ("fail", 0.0), ("pass", 1.0)])
    );
    let second = &r["indicatorResults"][1]["value"];
    assert_eq!(second["message"], "no value received from SLI provider");
    assert_eq!(second["comparedValue"], 0.0);
}

#[test]
fn keys_keptn_ignored_do_not_stop_scoring_but_are_named() {
    let out = several_objectives("values.json");
    out.assert_no_panic().assert_code(0);
    for (key, line) in [("fail", 8), ("fail", 22)] {
        out.assert_stderr_contains(&format!("unknown key `{key}`"))
            .assert_stderr_contains(&format!("slo.yaml:{line}:"));
    }
    out.assert_stderr_contains("⚠");
    // A near miss of a known key is an error for lint, but score still evaluates as Keptn did.
    let dir = tempfile::tempdir().unwrap();
    let slo = dir.path().join("slo.yaml");
    std::fs::write(
        &slo,
        "objectives:\n  - sli: rt\n    weigth: 3\n    pass: [{criteria: [\"<600\"]}]\ntotal_score: {pass: \"90%\"}\n",
    )
    .unwrap();
    let values = dir.path().join("values.json");
    std::fs::write(&values, r#"{"rt": 100}"#).unwrap();
    let out = Slogate::new()
        .arg("score")
        .arg("--slo")
        .arg(&slo)
        .arg("--values")
        .arg(&values)
        .run();
    out.assert_no_panic().assert_code(0);
    out.assert_stderr_contains("did you mean `weight`?");
    let lint = Slogate::new().arg("lint").arg(&slo).run();
    lint.assert_no_panic().assert_code(2);
    lint.assert_stderr_contains("unknown key `weigth`");
}

#[test]
fn previous_keptn_event_id_is_a_compared_event() {
    let out = score_case(
        "keptn-event",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--previous",
            "previous.json",
            "--format",
            "json",
        ],
    );
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(
        r["comparedEvents"],
        json!(["3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13"])
    );
    let ind = &r["indicatorResults"][0];
    assert_eq!(ind["value"]["comparedValue"], 480.0);
    assert_eq!(ind["baseline"], "history");
    assert_eq!(
        ind["passTargets"][0],
        json!({"criteria": "<=+10%", "targetValue": 528.0, "violated": false})
    );
    assert_eq!(r["result"], "pass");
}

#[test]
fn several_previous_files_are_selected_like_keptn() {
    let mut args = vec![
        "--slo",
        "slo.yaml",
        "--values",
        "values.json",
        "--format",
        "json",
    ];
    // Newest first: fail 900, pass 400, warning 700, pass 600, pass 100.
    let files = [
        "previous-1.json",
        "previous-2.json",
        "previous-3.json",
        "previous-4.json",
        "previous-5.json",
    ];
    for f in &files {
        args.extend_from_slice(&["--previous", f]);
    }
    let out = score_case("several-results", &args);
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    // include_result_with_score: pass, number_of_comparison_results: 2 → the two newest passes.
    assert_eq!(
        r["comparedEvents"],
        json!(["previous-2.json", "previous-4.json"])
    );
    let ind = &r["indicatorResults"][0];
    assert_eq!(ind["value"]["comparedValue"], 500.0);
    assert_eq!(ind["baselineCount"], 2);
    assert_eq!(
        ind["passTargets"][0],
        json!({"criteria": "<=+10%", "targetValue": 550.0, "violated": false})
    );
    assert_eq!(
        r["slo"]["comparison"],
        json!({
            "compare_with": "several_results",
            "include_result_with_score": "pass",
            "number_of_comparison_results": 2,
            "aggregate_function": "avg"
        })
    );
    insta::assert_snapshot!("several_results_json", out.stdout);
}

#[test]
fn empty_previous_file_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("previous.json"), "").unwrap();
    let case = fixtures("score").join("keptn-event");
    let out = Slogate::new()
        .arg("score")
        .arg("--slo")
        .arg(case.join("slo.yaml"))
        .arg("--values")
        .arg(case.join("values.json"))
        .args(["--previous", "previous.json"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(2);
    out.assert_stderr_contains("previous.json");
}

#[test]
fn key_sli_without_value_fails_the_gate() {
    let out = score_case(
        "key-sli-no-value",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    // 9 of 10 is above the pass threshold, but the key SLI had no value.
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("fail"), Some(90.0))
    );
    assert_eq!(
        r["message"],
        "Evaluation failed due to key_sli objective 'Availability': no value received from SLI provider"
    );
    let a = &r["indicatorResults"][0];
    assert_eq!(a["status"], "fail");
    // Keptn reports keySli false for an objective without value, and value 0 with success false.
    assert_eq!(a["keySli"], false);
    assert_eq!(
        a["value"],
        json!({"metric": "availability", "value": 0.0, "comparedValue": 0.0, "success": false,
               "message": "no value received from SLI provider"})
    );
    assert_eq!(
        a["passTargets"],
        json!([{"criteria": ">=99.5", "targetValue": 99.5, "violated": true}])
    );
    assert_eq!(a["warningTargets"], json!([]));
}

#[test]
fn messages_print_scores_like_go() {
    let out = score_case(
        "go-float-message",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    // Keptn: 100.0 * (2 / 3), printed with %v.
    assert_eq!(r["score"], 100.0 * (2.0 / 3.0));
    assert_eq!(
        r["message"],
        "Evaluation failed since the calculated score of 66.66666666666666 is below the warning value of 75"
    );
}

// ---------------------------------------------------------------------------------------------
// --on-missing-baseline

fn missing_baseline(policy: &str, format: &str) -> Output {
    score_case(
        "missing-baseline",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--on-missing-baseline",
            policy,
            "--format",
            format,
        ],
    )
}

#[test]
fn on_missing_baseline_pass_is_keptn() {
    let out = missing_baseline("pass", "json");
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("pass"), Some(100.0))
    );
    assert_eq!(r["policy"]["onMissingBaseline"], "pass");
    let ind = &r["indicatorResults"][0];
    assert_eq!(ind["baseline"], "none");
    // Keptn: a relative criterion without baseline is satisfied with targetValue 0.
    assert_eq!(
        ind["passTargets"][0],
        json!({"criteria": "<=+10%", "targetValue": 0.0, "violated": false})
    );
    let text = missing_baseline("pass", "text");
    text.assert_code(0);
    insta::assert_snapshot!("missing_baseline_pass_text", text.stdout);
}

#[test]
fn on_missing_baseline_is_pass_by_default() {
    let default = score_case(
        "missing-baseline",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    default.assert_code(0);
    assert_eq!(default.stdout, missing_baseline("pass", "json").stdout);
}

#[test]
fn on_missing_baseline_warn_downgrades() {
    let out = missing_baseline("warn", "json");
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    // The objective passed only for lack of a baseline: warning, half its weight.
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("warning"), Some(50.0))
    );
    assert_eq!(r["policy"]["onMissingBaseline"], "warn");
    assert_eq!(statuses(&r), st(&[("warning", 0.5)]));
    let text = missing_baseline("warn", "text");
    text.assert_code(0);
    insta::assert_snapshot!("missing_baseline_warn_text", text.stdout);
}

#[test]
fn on_missing_baseline_fail_fails() {
    let out = missing_baseline("fail", "json");
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    assert_eq!(
        (r["result"].as_str(), r["score"].as_f64()),
        (Some("fail"), Some(0.0))
    );
    assert_eq!(r["policy"]["onMissingBaseline"], "fail");
    let ind = &r["indicatorResults"][0];
    assert_eq!(ind["status"], "fail");
    assert_eq!(ind["passTargets"][0]["violated"], true);
    assert_eq!(ind["passTargets"][1]["violated"], false);
    // No snapshot here: the text report's `vs target 0` is a known bug (see below).
    let text = missing_baseline("fail", "text");
    text.assert_code(1);
    assert!(
        text.stdout
            .starts_with("FAIL  score 0  (pass ≥ 90%, warning ≥ 50%)\n"),
        "{text:?}"
    );
    text.assert_stdout_contains(
        "  note: a relative criterion has no baseline: not passed (--on-missing-baseline fail)\n",
    );
}

#[test]
fn on_missing_baseline_fail_text_does_not_invent_a_target() {
    let out = missing_baseline("fail", "text");
    out.assert_code(1);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("<=+10% violated"))
        .unwrap_or_default()
        .to_string();
    assert!(!line.contains("target 0"), "{line:?}\n{out:?}");
    assert!(line.contains("baseline"), "{line:?}\n{out:?}");
}

/// Used to print `<600 violated: value no value vs target 600`.
#[test]
fn objective_without_value_reads_well_in_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("values.json"), "{\"error_rate\": 0.4}").unwrap();
    let slo = fixtures("score").join("object-values").join("slo.yaml");
    std::fs::copy(slo, dir.path().join("slo.yaml")).unwrap();
    let out = Slogate::new()
        .args(["score", "--slo", "slo.yaml", "--values", "values.json"])
        .current_dir(dir.path())
        .run();
    out.assert_code(1);
    out.assert_stdout_contains("no value received from SLI provider");
    assert!(!out.stdout.contains("value no value"), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Inputs that make scoring impossible: exit 2

#[test]
fn bad_pass_criterion_aborts_the_evaluation() {
    let out = score_case(
        "bad-pass-criterion",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    // An error diagnostic stops scoring: no verdict, no report, the reason on stderr.
    out.assert_no_panic().assert_code(2);
    assert_eq!(out.stdout, "");
    out.assert_stderr_contains("slogate::bad-criteria")
        .assert_stderr_contains("slo.yaml:6:20");
    let text = score_case(
        "bad-pass-criterion",
        &["--slo", "slo.yaml", "--values", "values.json"],
    );
    text.assert_code(2);
    assert_eq!(text.stdout, "");
}

#[test]
fn missing_total_score() {
    let out = score_case(
        "missing-total-score",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    out.assert_no_panic().assert_code(2);
    assert_eq!(out.stdout, "");
    out.assert_stderr_contains("slogate::missing-total-score");
    let text = score_case(
        "missing-total-score",
        &["--slo", "slo.yaml", "--values", "values.json"],
    );
    text.assert_code(2)
        .assert_stderr_contains("Keptn fails the evaluation with \"no target score defined\"");
}

#[test]
fn missing_total_score_explains_on_stderr() {
    let out = score_case(
        "missing-total-score",
        &[
            "--slo",
            "slo.yaml",
            "--values",
            "values.json",
            "--format",
            "json",
        ],
    );
    out.assert_code(2);
    out.assert_stderr_contains("slogate::missing-total-score")
        .assert_stderr_contains("slo.yaml");
}

#[test]
fn broken_values_json_names_file_and_line() {
    let out = score_case(
        "broken-values",
        &["--slo", "slo.yaml", "--values", "values.json"],
    );
    out.assert_no_panic().assert_code(2);
    assert!(
        out.stdout.is_empty(),
        "no report for invalid input\n{out:?}"
    );
    assert_eq!(out.codes(), ["slogate::bad-json"]);
    out.assert_stderr_contains("values.json:3:27")
        .assert_stderr_contains("expected `,` or `}`");
    insta::assert_snapshot!("broken_values", out.stderr);
}

#[test]
fn missing_slo_file_names_the_path() {
    let out = score_case(
        "object-values",
        &["--slo", "nowhere/slo.yaml", "--values", "values.json"],
    );
    out.assert_no_panic().assert_code(2);
    assert!(out.stdout.is_empty(), "{out:?}");
    out.assert_stderr_contains("slogate::io")
        .assert_stderr_contains("nowhere/slo.yaml: cannot read file");
}

#[test]
fn missing_values_file_names_the_path() {
    let out = score_case(
        "object-values",
        &["--slo", "slo.yaml", "--values", "nowhere.json"],
    );
    out.assert_no_panic().assert_code(2);
    out.assert_stderr_contains("nowhere.json: cannot read file");
}

// ---------------------------------------------------------------------------------------------
// --output

#[test]
fn output_writes_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.json");
    let target_arg = target.to_str().unwrap();
    let out = web_service(&["--output", target_arg]);
    out.assert_no_panic().assert_code(0);
    // stdout keeps the text report; the file holds exactly the JSON report.
    assert!(out.stdout.starts_with("WARNING  score 80"), "{out:?}");
    let written = std::fs::read_to_string(&target).unwrap();
    assert_eq!(written, web_service(&["--format", "json"]).stdout);
    let r: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(r["result"], "warning");
}

#[test]
fn output_to_a_missing_folder_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-dir").join("report.json");
    let out = web_service(&["--output", target.to_str().unwrap()]);
    out.assert_no_panic().assert_code(2);
    out.assert_stderr_contains("cannot write the report");
    assert!(!target.exists());
}
