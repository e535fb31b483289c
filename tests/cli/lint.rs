//! `slogate lint`: one fixture per check, the rendered diagnostics snapshotted.
//!
//! Each case lives in `tests/fixtures/lint/<case>/`; the command runs in `tests/fixtures/lint`
//! with the case's path, so diagnostics read `<case>/<file>:line:col`.

use std::process::Stdio;

use crate::support::{Output, Slogate, examples, fixtures};

/// `slogate lint <path> [extra...]` from `tests/fixtures/lint`.
fn lint(path: &str, extra: &[&str]) -> Output {
    Slogate::new()
        .arg("lint")
        .arg(path)
        .args(extra)
        .current_dir(fixtures("lint"))
        .run()
}

/// Lints a case that must fail (exit 2) and snapshots its diagnostics; returns the output.
fn lint_error_case(name: &str, path: &str) -> Output {
    let out = lint(path, &[]);
    out.assert_no_panic().assert_code(2);
    assert!(
        out.stdout.is_empty(),
        "text diagnostics go to stderr\n{out:?}"
    );
    insta::assert_snapshot!(name, out.stderr);
    out
}

#[track_caller]
fn assert_codes(out: &Output, expected: &[&str]) {
    let codes = out.codes();
    assert_eq!(codes, expected, "diagnostic codes\n{out:?}");
}

// ---------------------------------------------------------------------------------------------
// YAML-level problems

#[test]
fn yaml_syntax_error_points_at_the_colon() {
    let out = lint_error_case("yaml_syntax", "yaml-syntax/syntax.bad.slo.yaml");
    assert_codes(&out, &["slogate::yaml-syntax"]);
    out.assert_stderr_contains("yaml-syntax/syntax.bad.slo.yaml:4:31")
        .assert_stderr_contains("must be quoted");
}

#[test]
fn yaml_unclosed_flow_list_says_what_is_unclosed() {
    let out = lint("yaml-unclosed-flow/unclosed.bad.slo.yaml", &[]);
    out.assert_code(2);
    assert_codes(&out, &["slogate::yaml-syntax"]);
    // The help must lead to the real cause: the `[` opened on line 4 is never closed.
    let help = out.stderr.split("help:").nth(1).unwrap_or_default();
    assert!(
        help.contains("closed") && help.contains("`[`"),
        "help should mention the unclosed `[`\n{out:?}"
    );
}

#[test]
fn tabs_in_indentation() {
    let out = lint_error_case("tabs", "tabs/tabs.bad.slo.yaml");
    assert_codes(&out, &["slogate::yaml-syntax"]);
    out.assert_stderr_contains("tab character")
        .assert_stderr_contains("indent with spaces");
    // The parser notices this tab at the end of the line before; the report points at the tab.
    let out = lint("tabs/after-spaces.bad.slo.yaml", &["--format", "json"]);
    out.assert_no_panic().assert_code(2);
    let p = &out.json()["problems"][0];
    assert_eq!(p["code"], "slogate::yaml-syntax");
    assert_eq!(p["label"], "tab character");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(4), Some(3))
    );
}

#[test]
fn duplicate_keys_show_both_places() {
    let out = lint_error_case("duplicate_keys", "duplicate-keys/keys.bad.slo.yaml");
    assert_codes(&out, &["slogate::duplicate-key", "slogate::duplicate-key"]);
    out.assert_stderr_contains("first defined here");
}

#[test]
fn empty_file() {
    let out = lint_error_case("empty_file", "empty-file/empty.bad.slo.yaml");
    // One problem, not also `no-objectives` for the same cause (as it once was).
    assert_codes(&out, &["slogate::empty-file"]);
    out.assert_stderr_contains("the SLO file is empty")
        .assert_stderr_contains("1 file checked: 1 error, 0 warnings");
}

#[test]
fn alias_bomb_is_refused() {
    let out = lint_error_case("alias_bomb", "alias-bomb/bomb.bad.slo.yaml");
    assert_codes(&out, &["slogate::yaml-too-large"]);
}

#[test]
fn non_utf8_file() {
    let dir = tempfile::tempdir().unwrap();
    // "Réponse" in Latin-1: 0xE9 is not valid UTF-8.
    let mut bytes = b"objectives:\n  - sli: response_time_p95\n    displayName: \"R".to_vec();
    bytes.push(0xE9);
    bytes.extend_from_slice(
        b"ponse\"\n    pass:\n      - criteria: [\"<600\"]\ntotal_score:\n  pass: \"90%\"\n",
    );
    std::fs::write(dir.path().join("latin1.bad.slo.yaml"), bytes).unwrap();
    let out = Slogate::new()
        .args(["lint", "latin1.bad.slo.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(2);
    assert_codes(&out, &["slogate::not-utf8"]);
    out.assert_stderr_contains("latin1.bad.slo.yaml:3:20");
    insta::assert_snapshot!("non_utf8", out.stderr);
}

#[test]
fn file_over_one_mib_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let size = 1024 * 1024 + 1;
    let mut text = String::from(
        "objectives:\n  - sli: response_time_p95\n    pass:\n      - criteria: [\"<600\"]\n",
    );
    text.push_str(&"#".repeat(size - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), size);
    std::fs::write(dir.path().join("huge.bad.slo.yaml"), text).unwrap();
    let out = Slogate::new()
        .args(["lint", "huge.bad.slo.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(2);
    assert_codes(&out, &["slogate::file-too-large"]);
    insta::assert_snapshot!("file_too_large", out.stderr);
}

#[test]
fn file_of_exactly_one_mib_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let size = 1024 * 1024;
    let mut text = String::from(
        "objectives:\n  - sli: response_time_p95\n    pass:\n      - criteria: [\"<600\"]\ntotal_score:\n  pass: \"90%\"\n",
    );
    text.push_str(&"#".repeat(size - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), size);
    std::fs::write(dir.path().join("large.slo.yaml"), text).unwrap();
    let out = Slogate::new()
        .args(["lint", "large.slo.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(0);
    out.assert_stderr_contains("1 file checked: 0 errors, 0 warnings");
}

#[test]
fn deep_nesting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // 100 levels of block mappings: `k0:\n  k1:\n    k2: ...`.
    let text: String = (0..100)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    std::fs::write(dir.path().join("deep.bad.slo.yaml"), text).unwrap();
    let out = Slogate::new()
        .args(["lint", "deep.bad.slo.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(2);
    assert_codes(&out, &["slogate::yaml-too-deep"]);
    out.assert_stderr_contains("nesting deeper than 64 levels");
}

#[test]
fn deep_flow_nesting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deep.bad.slo.yaml"),
        "objectives: ".to_string() + &"[".repeat(10_000),
    )
    .unwrap();
    let out = Slogate::new()
        .args(["lint", "deep.bad.slo.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(2);
    // The YAML parser's own recursion limit may trip before slogate's depth check.
    let codes = out.codes();
    assert!(
        codes == ["slogate::yaml-too-deep"] || codes == ["slogate::yaml-syntax"],
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The model: types, keys, values

#[test]
fn wrong_types() {
    let out = lint_error_case("wrong_types", "wrong-types/types.bad.slo.yaml");
    assert_eq!(out.codes(), vec!["slogate::wrong-type"; 6], "{out:?}");
    out.assert_stderr_contains("`weight` must be a whole number, found a string")
        .assert_stderr_contains("`key_sli` must be true or false")
        .assert_stderr_contains("`total_score` must be a mapping, found a list");
}

#[test]
fn unknown_keys_with_did_you_mean() {
    let out = lint_error_case("unknown_keys", "unknown-keys/keys.bad.slo.yaml");
    for suggestion in [
        "`aggregate_function`",
        "`displayName`",
        "`key_sli`",
        "`criteria`",
    ] {
        out.assert_stderr_contains(&format!("did you mean {suggestion}?"));
    }
    // A key that resembles nothing is only a warning (Keptn ignored it) listing the valid keys.
    out.assert_stderr_contains(
        "valid keys here are: sli, displayName, key_sli, weight, pass, warning",
    )
    .assert_stderr_contains("1 file checked: 4 errors, 2 warnings");
}

#[test]
fn bad_criteria_strings() {
    let out = lint_error_case("bad_criteria", "bad-criteria/criteria.bad.slo.yaml");
    assert_eq!(out.codes(), vec!["slogate::bad-criteria"; 3], "{out:?}");
    // Keptn's two error texts, and the swapped-operator hint.
    out.assert_stderr_contains("could not parse criteria target value: `=<600`")
        .assert_stderr_contains("write the operator as `<=`")
        .assert_stderr_contains("invalid criteria string: `600`")
        .assert_stderr_contains("could not parse criteria target value: `<10ms`");
}

#[test]
fn bad_total_score_percentages() {
    let out = lint_error_case(
        "bad_total_score",
        "bad-total-score/total-score.bad.slo.yaml",
    );
    assert_codes(
        &out,
        &["slogate::bad-percentage", "slogate::bad-percentage"],
    );
    out.assert_stderr_contains("total_score.pass is not a percentage")
        .assert_stderr_contains("total_score.warning is 120%, outside 0–100%");
}

#[test]
fn warning_threshold_above_pass() {
    let out = lint_error_case(
        "warning_above_pass",
        "warning-above-pass/thresholds.bad.slo.yaml",
    );
    assert_codes(&out, &["slogate::warning-above-pass"]);
}

#[test]
fn unknown_comparison_values() {
    let out = lint_error_case("unknown_values", "unknown-values/comparison.bad.slo.yaml");
    assert_eq!(out.codes(), vec!["slogate::unknown-value"; 3], "{out:?}");
    out.assert_stderr_contains("unknown compare_with `last_result`")
        .assert_stderr_contains("did you mean `pass_or_warn`?")
        .assert_stderr_contains("unknown aggregate_function `max`");
}

// ---------------------------------------------------------------------------------------------
// Objectives

#[test]
fn undefined_sli_single_level() {
    let out = lint_error_case("undefined_sli_single", "undefined-sli-single");
    assert_codes(&out, &["slogate::undefined-sli"]);
    out.assert_stderr_contains("objective names SLI `eror_rate`, which no sli.yaml defines")
        .assert_stderr_contains("did you mean `error_rate`?")
        .assert_stderr_contains("2 files checked: 1 error, 0 warnings");
}

#[test]
fn undefined_sli_three_levels_names_the_service() {
    let out = lint_error_case("undefined_sli_three_levels", "undefined-sli-three-levels");
    // checkout defines open_problems in dynatrace/sli.yaml; cart does not.
    assert_codes(&out, &["slogate::undefined-sli"]);
    out.assert_stderr_contains("undefined-sli-three-levels/production/slo.yaml:3:10")
        .assert_stderr_contains("for service `cart` in stage")
        .assert_stderr_contains("5 files checked: 1 error, 0 warnings");
    assert!(
        !out.stderr.contains("`checkout`"),
        "checkout has the SLI\n{out:?}"
    );
}

#[test]
fn undefined_sli_without_any_sli_file_uses_keptn_defaults() {
    let out = lint_error_case("undefined_sli_default_slis", "undefined-sli-default-slis");
    // response_time_p95 and throughput are Keptn defaults; availability is not.
    assert_codes(&out, &["slogate::undefined-sli"]);
    out.assert_stderr_contains("SLI `availability`")
        .assert_stderr_contains("no sli.yaml was found, so only Keptn's default SLIs exist");
}

#[test]
fn undefined_sli_without_sli_file_always_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slo.yaml"),
        "objectives:\n  - sli: response_time_p99\n    pass:\n      - criteria: [\"<900\"]\ntotal_score:\n  pass: \"90%\"\n",
    )
    .unwrap();
    let out = Slogate::new()
        .args(["lint", "slo.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_code(2);
    assert_codes(&out, &["slogate::undefined-sli"]);
    out.assert_stderr_contains("no sli.yaml was found");
}

#[test]
fn several_objectives_on_the_same_sli() {
    let out = lint("several-objectives/objectives.good.slo.yaml", &[]);
    out.assert_no_panic().assert_code(0);
    assert_codes(&out, &[]);
    // Only objectives that no value can pass together are worth a warning.
    let out = lint("several-objectives/contradicting.bad.slo.yaml", &[]);
    out.assert_no_panic().assert_code(0);
    assert_codes(&out, &["slogate::contradicting-objectives"]);
    out.assert_stderr_contains("contradicts this one")
        .assert_stderr_contains("1 file checked: 0 errors, 1 warning");
    insta::assert_snapshot!("contradicting_objectives", out.stderr);
}

#[test]
fn every_query_is_read_with_the_parser_eval_uses() {
    let out = lint_error_case("bad_queries", "bad-queries/queries.bad.sli.yaml");
    assert_codes(
        &out,
        &[
            "slogate::bad-query",
            "slogate::bad-query",
            "slogate::old-mv2-unit",
        ],
    );
    out.assert_stderr_contains("query must include a metric selector")
        .assert_stderr_contains("USQL;<SINGLE_VALUE")
        .assert_stderr_contains("1 file checked: 2 errors, 1 warning");
}

#[test]
fn key_sli_without_pass_criteria() {
    let out = lint_error_case(
        "key_sli_without_pass",
        "key-sli-without-pass/key.bad.slo.yaml",
    );
    assert_codes(&out, &["slogate::key-sli-without-pass"]);
}

#[test]
fn relative_criteria_without_possible_baseline() {
    let out = lint_error_case(
        "no_baseline_possible",
        "no-baseline-possible/baseline.bad.slo.yaml",
    );
    assert_codes(
        &out,
        &["slogate::bad-number", "slogate::no-baseline-possible"],
    );
    out.assert_stderr_contains("relative criterion");
}

#[test]
fn pass_looser_than_warning_is_a_warning() {
    let out = lint("pass-looser-than-warning/swapped.bad.slo.yaml", &[]);
    out.assert_no_panic().assert_code(0);
    assert_codes(&out, &["slogate::pass-looser-than-warning"]);
    out.assert_stderr_contains("⚠ pass `<=1000` is looser than warning `<=800`")
        .assert_stderr_contains("1 file checked: 0 errors, 1 warning");
    insta::assert_snapshot!("pass_looser_than_warning", out.stderr);
}

#[test]
fn deny_warnings_turns_a_warning_into_exit_2() {
    let out = lint(
        "pass-looser-than-warning/swapped.bad.slo.yaml",
        &["--deny-warnings"],
    );
    out.assert_no_panic().assert_code(2);
    out.assert_stderr_contains("1 file checked: 0 errors, 1 warning");
}

#[test]
fn null_objectives_list() {
    // `objectives:` with nothing after it: an empty list, which Keptn fails.
    let out = lint_error_case(
        "null_objectives_list",
        "null-objectives-list/null.bad.slo.yaml",
    );
    assert_codes(&out, &["slogate::no-objectives"]);
}

#[test]
fn null_objectives_list_points_at_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slo.yaml"),
        "# yaml-language-server: $schema=../schemas/slo.schema.json\nobjectives:\ntotal_score:\n  pass: \"90%\"\n",
    )
    .unwrap();
    let out = Slogate::new()
        .args(["lint", "slo.yaml", "--format", "json"])
        .current_dir(dir.path())
        .run();
    out.assert_code(2);
    let doc = out.json();
    let p = &doc["problems"][0];
    assert_eq!(p["code"], "slogate::no-objectives");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(2), Some(1)),
        "{out:?}"
    );
}

#[test]
fn null_objective_items_are_warnings() {
    let out = lint("null-objective-items/stray-dashes.slo.yaml", &[]);
    out.assert_no_panic().assert_code(0);
    assert_codes(
        &out,
        &["slogate::null-objective", "slogate::null-objective"],
    );
    insta::assert_snapshot!("null_objective_items", out.stderr);
    lint(
        "null-objective-items/stray-dashes.slo.yaml",
        &["--deny-warnings"],
    )
    .assert_code(2);
}

// ---------------------------------------------------------------------------------------------
// sli.yaml and slogate.yaml

#[test]
fn unknown_placeholders() {
    let out = lint_error_case(
        "unknown_placeholders",
        "unknown-placeholders/placeholders.bad.sli.yaml",
    );
    assert_codes(
        &out,
        &[
            "slogate::unknown-placeholder",
            "slogate::unknown-placeholder",
        ],
    );
    out.assert_stderr_contains("unknown placeholder `$SERVICE_NAME`")
        .assert_stderr_contains("(`$SERVICE_NAME` becomes")
        .assert_stderr_contains("unknown placeholder `$LABLE`");
    // $SERVICE, $LABEL.owner and $ENV.DT_ENV on the throughput line are fine.
    assert!(!out.stderr.contains("in SLI `throughput`"), "{out:?}");
}

#[test]
fn placeholders_from_the_slo_filter_are_known() {
    let out = lint("placeholders-from-filter", &[]);
    out.assert_no_panic().assert_code(0);
    assert_eq!(out.stderr, "2 files checked: 0 errors, 0 warnings\n");
}

#[test]
fn settings_unknown_key_and_bad_token_env() {
    let out = lint_error_case("settings", "settings/slogate.yaml");
    assert_codes(&out, &["slogate::bad-env-name", "slogate::unknown-key"]);
    out.assert_stderr_contains("did you mean `service`?");
}

#[test]
fn settings_never_print_a_pasted_token() {
    let dir = tempfile::tempdir().unwrap();
    // A token of Dynatrace's shape (dt0c01.<public part>.<secret part>), built at run time.
    let public = "ST2EY72KQINMH574WMNVI7YN";
    let secret = [
        "G3DFPBEJYMODIDAEX454M7YW",
        "BUVEFOWKPRVMWFASS64NFH52",
        "PX6BNDVFFM572RZM",
    ]
    .concat();
    let token = format!("dt0c01.{public}.{secret}");
    std::fs::write(
        dir.path().join("slogate.yaml"),
        format!("dynatrace:\n  url: https://abc12345.live.dynatrace.com\n  token_env: {token}\n"),
    )
    .unwrap();
    let text = Slogate::new()
        .args(["lint", "slogate.yaml"])
        .current_dir(dir.path())
        .run();
    text.assert_code(2);
    text.assert_stderr_contains("slogate::bad-env-name");
    assert!(
        !text.stderr.contains(&secret),
        "the token is printed\n{text:?}"
    );
    let json = Slogate::new()
        .args(["lint", "slogate.yaml", "--format", "json"])
        .current_dir(dir.path())
        .run();
    json.assert_code(2);
    assert!(
        !json.stdout.contains(&secret),
        "the token is printed\n{json:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Whole runs

#[test]
fn all_problems_of_a_file_in_one_run() {
    let out = lint_error_case("five_problems", "five-problems");
    assert_codes(
        &out,
        &[
            "slogate::unknown-key",
            "slogate::wrong-type",
            "slogate::bad-criteria",
            "slogate::contradicting-objectives",
            "slogate::warning-above-pass",
        ],
    );
    out.assert_stderr_contains("2 files checked: 4 errors, 1 warning");
}

#[test]
fn json_format_shape() {
    let out = lint("five-problems", &["--format", "json"]);
    out.assert_no_panic().assert_code(2);
    assert!(
        out.stderr.is_empty(),
        "JSON mode prints nothing on stderr\n{out:?}"
    );
    let doc = out.json();
    assert_eq!(doc["files"], 2);
    assert_eq!(doc["errors"], 4);
    assert_eq!(doc["warnings"], 1);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 5);
    for p in problems {
        for key in [
            "file", "line", "column", "severity", "code", "message", "help",
        ] {
            assert!(
                p.get(key).is_some_and(|v| !v.is_null()),
                "problem without `{key}`: {p}"
            );
        }
        assert_eq!(p["file"], "five-problems/slo.yaml");
        assert!(
            p["line"].as_u64().unwrap() >= 1 && p["column"].as_u64().unwrap() >= 1,
            "{p}"
        );
    }
    insta::assert_snapshot!("json_format", out.stdout);
}

#[test]
fn json_format_of_a_warning() {
    let out = lint(
        "pass-looser-than-warning/swapped.bad.slo.yaml",
        &["--format", "json"],
    );
    out.assert_no_panic().assert_code(0);
    let doc = out.json();
    assert_eq!(
        (doc["errors"].as_u64(), doc["warnings"].as_u64()),
        (Some(0), Some(1))
    );
    let p = &doc["problems"][0];
    assert_eq!(p["severity"], "warning");
    assert_eq!(p["code"], "slogate::pass-looser-than-warning");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(7), Some(20))
    );
}

#[test]
fn every_example_lints_clean() {
    let entries = std::fs::read_dir(examples()).unwrap();
    let mut dirs: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 3,
        "slo-examples/ should hold the example folders: {dirs:?}"
    );
    for dir in dirs {
        let out = Slogate::new()
            .args(["lint", &dir])
            .current_dir(examples())
            .run();
        out.assert_no_panic().assert_code(0);
        assert!(
            out.stderr.ends_with(": 0 errors, 0 warnings\n"),
            "{dir} is not clean\n{out:?}"
        );
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "{dir}: only the summary line\n{out:?}"
        );
        let json = Slogate::new()
            .args(["lint", &dir, "--format", "json"])
            .current_dir(examples())
            .run();
        json.assert_code(0);
        assert_eq!(json.json()["problems"], serde_json::json!([]), "{dir}");
    }
}

#[test]
fn missing_path_is_reported() {
    let out = lint("does-not-exist/slo.yaml", &[]);
    out.assert_no_panic().assert_code(2);
    assert_codes(&out, &["slogate::io"]);
    out.assert_stderr_contains("does-not-exist/slo.yaml: cannot read file");
}

#[test]
fn lint_without_path_and_without_slo_folder_explains_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let out = Slogate::new().arg("lint").current_dir(dir.path()).run();
    out.assert_code(2);
    assert!(!out.stderr.contains("cannot read file"), "{out:?}");
    assert!(!out.stderr.contains("1 file checked"), "{out:?}");
    out.assert_stderr_contains("slo");
}

#[test]
fn unknown_file_kind() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), "foo: 1\n").unwrap();
    let out = Slogate::new()
        .args(["lint", "config.yaml"])
        .current_dir(dir.path())
        .run();
    out.assert_no_panic().assert_code(2);
    assert_codes(&out, &["slogate::unknown-file-kind"]);
}

#[test]
fn closed_stderr_is_not_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // nobody reads: every write fails with EPIPE
    let out = Slogate::new()
        .args(["lint", "pass-looser-than-warning/swapped.bad.slo.yaml"])
        .current_dir(fixtures("lint"))
        .stderr_to(Stdio::from(writer))
        .run();
    // Same exit code as with a working stderr (a warning only: 0).
    out.assert_code(0);
}

#[test]
fn closed_stdout_is_not_a_panic() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Slogate::new()
        .args(["lint", "five-problems", "--format", "json"])
        .current_dir(fixtures("lint"))
        .stdout_to(Stdio::from(writer))
        .run();
    out.assert_no_panic().assert_code(2);
}
