//! Malformed input never panics: every broken file fed to `score` gives a diagnostic and exit 2.
//!
//! The SLO files are the lint fixtures (`tests/fixtures/lint/`), plus files generated here that
//! should not be committed (invalid UTF-8, over 1 MiB, thousands of brackets).

use std::path::{Path, PathBuf};

use crate::support::{Output, Slogate, examples, fixtures};

/// A values file that fits every fixture (absolute path: it is never shown in diagnostics).
fn values() -> PathBuf {
    fixtures("bad_input").join("values.json")
}

fn score_slo(dir: &Path, slo: &str) -> Output {
    Slogate::new()
        .args(["score", "--slo", slo, "--values"])
        .arg(values())
        .current_dir(dir)
        .run()
}

/// SLO files Keptn could not score or slogate refuses to read, with the diagnostic expected.
const MALFORMED: &[(&str, &str)] = &[
    ("yaml-syntax/syntax.bad.slo.yaml", "slogate::yaml-syntax"),
    (
        "yaml-unclosed-flow/unclosed.bad.slo.yaml",
        "slogate::yaml-syntax",
    ),
    ("tabs/tabs.bad.slo.yaml", "slogate::yaml-syntax"),
    ("duplicate-keys/keys.bad.slo.yaml", "slogate::duplicate-key"),
    ("empty-file/empty.bad.slo.yaml", "slogate::empty-file"),
    ("alias-bomb/bomb.bad.slo.yaml", "slogate::yaml-too-large"),
    ("wrong-types/types.bad.slo.yaml", "slogate::wrong-type"),
    ("five-problems/slo.yaml", "slogate::wrong-type"),
    // Readable, but Keptn aborts: a bad pass criterion, an unparsable threshold, no objectives.
    (
        "bad-criteria/criteria.bad.slo.yaml",
        "slogate::bad-criteria",
    ),
    (
        "bad-total-score/total-score.bad.slo.yaml",
        "slogate::bad-percentage",
    ),
];

#[test]
fn malformed_slo_files_exit_2_with_a_diagnostic() {
    for (slo, code) in MALFORMED {
        let out = score_slo(&fixtures("lint"), slo);
        out.assert_no_panic()
            .assert_code(2)
            .assert_stderr_contains(code);
    }
}

#[test]
fn slo_without_objectives_exits_2() {
    let out = score_slo(&fixtures("lint"), "null-objectives-list/null.bad.slo.yaml");
    out.assert_no_panic().assert_code(2);
    assert_eq!(out.stdout, "", "no verdict from a file with an error");
    out.assert_stderr_contains("slogate::no-objectives");
}

/// SLO files with lint findings that Keptn still scores: the findings are shown on stderr, the
/// verdict is Keptn's.
const SCORED_WITH_FINDINGS: &[(&str, &str, i32)] = &[
    (
        "warning-above-pass/thresholds.bad.slo.yaml",
        "slogate::warning-above-pass",
        0,
    ),
    // Both objectives get the value; no value passes both: 50 < 90.
    (
        "several-objectives/contradicting.bad.slo.yaml",
        "slogate::contradicting-objectives",
        1,
    ),
    // Keys Keptn ignored, typos of known keys among them: evaluated without them, as Keptn did;
    // the `pass` entry left without `criteria` has no targets and adds 0 to the score.
    ("unknown-keys/keys.bad.slo.yaml", "slogate::unknown-key", 1),
    (
        "key-sli-without-pass/key.bad.slo.yaml",
        "slogate::key-sli-without-pass",
        0,
    ),
    (
        "no-baseline-possible/baseline.bad.slo.yaml",
        "slogate::no-baseline-possible",
        0,
    ),
    (
        "unknown-values/comparison.bad.slo.yaml",
        "slogate::unknown-value",
        0,
    ),
    (
        "pass-looser-than-warning/swapped.bad.slo.yaml",
        "slogate::pass-looser-than-warning",
        0,
    ),
    (
        "null-objective-items/stray-dashes.slo.yaml",
        "slogate::null-objective",
        0,
    ),
];

/// An error that makes the number meaningless stops scoring: a negative weight would turn a
/// failing objective into a score of 300 % and a pass.
#[test]
fn a_negative_weight_stops_scoring() {
    let out = score_text(
        "spec_version: '1.0'\nobjectives:\n  - sli: rt\n    pass:\n      - criteria: ['<100']\n    weight: -2\n  - sli: err\n    pass:\n      - criteria: ['<1']\ntotal_score:\n  pass: '90%'\n",
        r#"{"rt": 500, "err": 0}"#,
        &[],
    );
    out.assert_no_panic()
        .assert_code(2)
        .assert_stderr_contains("slogate::bad-weight")
        .assert_stderr_contains("slo.yaml:6:13");
    assert_eq!(out.stdout, "", "no verdict from a file with an error");
}

/// `score` of an SLO and values given as text, in a fresh folder.
fn score_text(slo: &str, values: &str, extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slo.yaml"), slo).unwrap();
    std::fs::write(dir.path().join("values.json"), values).unwrap();
    Slogate::new()
        .args(["score", "--slo", "slo.yaml", "--values", "values.json"])
        .args(extra)
        .current_dir(dir.path())
        .run()
}

#[test]
fn lint_findings_are_shown_but_keptn_scores() {
    for (slo, code, exit) in SCORED_WITH_FINDINGS {
        let out = score_slo(&fixtures("lint"), slo);
        out.assert_no_panic()
            .assert_code(*exit)
            .assert_stderr_contains(code);
    }
}

/// Writes `bytes` as `name` in a fresh tempdir and scores it.
fn score_generated(name: &str, bytes: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(name), bytes).unwrap();
    score_slo(dir.path(), name)
}

#[test]
fn generated_malformed_slo_files() {
    let mut latin1 = b"objectives:\n  - sli: response_time_p95\n    displayName: \"R".to_vec();
    latin1.extend_from_slice(
        b"\xE9ponse\"\n    pass:\n      - criteria: [\"<600\"]\ntotal_score: {pass: \"90%\"}\n",
    );
    let mut huge = b"objectives: []\n".to_vec();
    huge.resize(1024 * 1024 + 1, b'#');
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("latin1.slo.yaml", latin1, "slogate::not-utf8"),
        ("binary.slo.yaml", vec![0xFF, 0xFE, 0x00, 0x01, 0x80, 0x00], "slogate::not-utf8"),
        ("huge.slo.yaml", huge, "slogate::file-too-large"),
        // Flow nesting may trip the YAML parser's own recursion limit first (yaml-syntax).
        ("deep-flow.slo.yaml", ("objectives: ".to_string() + &"[".repeat(100_000)).into_bytes(), "slogate::yaml-"),
        ("deep-map.slo.yaml", "a: {".repeat(5_000).into_bytes(), "slogate::yaml-"),
        (
            "deep-block.slo.yaml",
            (0..200).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect::<String>().into_bytes(),
            "slogate::yaml-too-deep",
        ),
        ("two-docs.slo.yaml", b"objectives: []\n---\nobjectives: []\n".to_vec(), "slogate::yaml-multiple-documents"),
        ("alias.slo.yaml", b"objectives: *nowhere\n".to_vec(), "slogate::yaml-syntax"),
        ("scalar.slo.yaml", b"just a string\n".to_vec(), "slogate::wrong-type"),
        ("list.slo.yaml", b"- sli: response_time_p95\n".to_vec(), "slogate::wrong-type"),
        ("nul.slo.yaml", b"objectives:\n  - sli: \0\n".to_vec(), "slogate::"),
        ("comment-only.slo.yaml", b"# nothing here\n".to_vec(), "slogate::empty-file"),
        ("bom-only.slo.yaml", b"\xEF\xBB\xBF".to_vec(), "slogate::empty-file"),
        (
            "complex-key.slo.yaml",
            b"? [objectives]\n: x\ntotal_score: {pass: \"90%\"}\n".to_vec(),
            "slogate::wrong-type",
        ),
        (
            "huge-numbers.slo.yaml",
            b"objectives:\n  - sli: response_time_p95\n    weight: 99999999999999999999999\n    pass: [{criteria: [\"<1e999\"]}]\ntotal_score: {pass: \"1e400\"}\n".to_vec(),
            "slogate::wrong-type",
        ),
    ];
    for (name, bytes, code) in cases {
        let out = score_generated(name, &bytes);
        out.assert_no_panic()
            .assert_code(2)
            .assert_stderr_contains(code);
    }
}

#[test]
fn slo_path_that_is_a_directory() {
    let out = score_slo(&fixtures("lint"), "five-problems");
    out.assert_no_panic()
        .assert_code(2)
        .assert_stderr_contains("slogate::not-a-file");
}

#[test]
fn malformed_values_and_previous_files() {
    let dir = tempfile::tempdir().unwrap();
    let slo = examples().join("web-service").join("slo.yaml");
    std::fs::copy(&slo, dir.path().join("slo.yaml")).unwrap();
    let good_values = "{\"response_time_p95\": 455, \"error_rate\": 0.42, \"throughput\": 17460}";
    let broken: &[(&str, &[u8])] = &[
        ("empty.json", b""),
        ("null.json", b"null"),
        ("number.json", b"42"),
        (
            "truncated.json",
            b"[{\"metric\": \"response_time_p95\", \"value\": 4",
        ),
        ("string-value.json", b"{\"response_time_p95\": \"fast\"}"),
        ("out-of-range.json", b"{\"response_time_p95\": 1e400}"),
        (
            "unknown-field.json",
            b"[{\"metric\": \"response_time_p95\", \"vaule\": 1}]",
        ),
        ("no-metric.json", b"[{\"value\": 1}]"),
        ("trailing.json", b"{\"a\": 1} {\"b\": 2}"),
        ("latin1.json", b"{\"r\xE9ponse\": 1}"),
        ("deep.json", &[b'['; 200_000]),
    ];
    for (name, bytes) in broken {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let out = Slogate::new()
            .args(["score", "--slo", "slo.yaml", "--values", name])
            .current_dir(dir.path())
            .run();
        out.assert_no_panic().assert_code(2);
        assert!(
            out.stderr.contains(*name),
            "the diagnostic names the file\n{out:?}"
        );
    }
    std::fs::write(dir.path().join("values.json"), good_values).unwrap();
    let broken_previous: &[(&str, &[u8])] = &[
        ("p-object.json", b"{\"x\": 1}"),
        ("p-number.json", b"[1, 2]"),
        (
            "p-results-not-list.json",
            b"{\"result\": \"pass\", \"indicatorResults\": {}}",
        ),
        (
            "p-no-value.json",
            b"{\"result\": \"pass\", \"indicatorResults\": [{\"status\": \"pass\"}]}",
        ),
        (
            "p-no-metric.json",
            b"{\"result\": \"pass\", \"indicatorResults\": [{\"value\": {\"value\": 1}}]}",
        ),
        (
            "p-bad-line.json",
            b"{\"result\": \"pass\", \"indicatorResults\": []}\n{oops\n",
        ),
        ("p-deep.json", &[b'{'; 200_000]),
        ("p-latin1.json", b"{\"result\": \"p\xE9ss\"}"),
    ];
    for (name, bytes) in broken_previous {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let out = Slogate::new()
            .args([
                "score",
                "--slo",
                "slo.yaml",
                "--values",
                "values.json",
                "--previous",
                name,
            ])
            .current_dir(dir.path())
            .run();
        out.assert_no_panic().assert_code(2);
        assert!(
            out.stderr.contains(*name),
            "the diagnostic names the file\n{out:?}"
        );
    }
}

/// Every prefix of a real SLO file: whatever is cut off, scoring and linting never panic and
/// exit with 0, 1 or 2.
#[test]
fn truncated_slo_files_never_panic() {
    for example in ["web-service", "api-key-slis"] {
        let text = std::fs::read(examples().join(example).join("slo.yaml")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("values.json"),
            std::fs::read(examples().join(example).join("values.json")).unwrap(),
        )
        .unwrap();
        // Every 7th cut keeps the run short; cuts land at all positions of lines and tokens.
        for cut in (0..text.len()).step_by(7) {
            std::fs::write(dir.path().join("slo.yaml"), &text[..cut]).unwrap();
            let out = Slogate::new()
                .args(["score", "--slo", "slo.yaml", "--values", "values.json"])
                .current_dir(dir.path())
                .run();
            out.assert_no_panic();
            assert!((0..=2).contains(&out.code), "cut at {cut}\n{out:?}");
            let lint = Slogate::new()
                .args(["lint", "slo.yaml"])
                .current_dir(dir.path())
                .run();
            lint.assert_no_panic();
            assert!(lint.code == 0 || lint.code == 2, "cut at {cut}\n{lint:?}");
        }
    }
}

/// Every lint fixture through `lint` as well: diagnostics, never a panic.
#[test]
fn lint_never_panics_on_fixtures() {
    let root = fixtures("lint");
    let mut cases: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    for case in cases {
        for format in ["text", "json"] {
            let out = Slogate::new()
                .args(["lint", &case, "--format", format])
                .current_dir(&root)
                .run();
            out.assert_no_panic();
            assert!(out.code == 0 || out.code == 2, "{case}\n{out:?}");
        }
    }
}

/// A threshold Keptn's scoring cannot read gives no verdict: exit 2, no report.
#[test]
fn an_unparsable_total_score_gives_no_verdict() {
    let out = score_text(
        "spec_version: '1.0'\nobjectives:\n  - sli: rt\n    pass:\n      - criteria: ['<100']\ntotal_score:\n  pass: 'abc'\n",
        r#"{"rt": 5}"#,
        &["--format", "json"],
    );
    out.assert_no_panic()
        .assert_code(2)
        .assert_stderr_contains("slogate::not-scorable")
        .assert_stderr_contains("could not parse pass target percentage");
    assert_eq!(out.stdout, "");
}
