//! `slogate import` / `slogate export` (docs/interop.md): our own fixtures in
//! `tests/fixtures/interop/` for each format (import, lint clean, score, round trip, losses), and
//! the OpenSLO specification's own test documents, read where they are.

use std::path::{Path, PathBuf};

use crate::support::{Slogate, fixtures};

fn dir() -> PathBuf {
    fixtures("interop")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("slogate-interop-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn import(format: &str, files: &[PathBuf], out: &Path) -> crate::support::Output {
    Slogate::new()
        .args(["import", format])
        .args(files)
        .arg("--out")
        .arg(out)
        .run()
}

/// The Keptn files of a folder without comment lines: what round trips compare.
fn keptn_meaning(d: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rel in ["slo.yaml", "dynatrace/sli.yaml", "prometheus/sli.yaml"] {
        if let Ok(t) = std::fs::read_to_string(d.join(rel)) {
            let kept: Vec<&str> = t
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect();
            out.push((rel.to_string(), kept.join("\n")));
        }
    }
    out
}

fn lint_clean(d: &Path) {
    let out = Slogate::new().arg("lint").arg(d).run();
    out.assert_code(0);
    out.assert_stderr_contains("0 errors, 0 warnings");
}

/// `slogate score` of the imported slo.yaml with a values file of the fixture.
fn score(d: &Path, values: &Path) -> serde_json::Value {
    let out = Slogate::new()
        .arg("score")
        .arg("--slo")
        .arg(d.join("slo.yaml"))
        .arg("--values")
        .arg(values)
        .args(["--format", "json"])
        .run();
    out.assert_no_panic();
    out.json()
}

/// Import → lint → export → import again: the same objectives.
fn round_trip(format: &str, source: &[PathBuf], export_args: &[&str], name: &str) -> PathBuf {
    let first = tmp(&format!("{name}-1"));
    let out = import(format, source, &first);
    out.assert_code(0);
    lint_clean(&first);
    let exported = tmp(&format!("{name}-x")).join("exported.yaml");
    let out = Slogate::new()
        .args(["export", format, "--config"])
        .arg(&first)
        .arg("--out")
        .arg(&exported)
        .args(export_args)
        .run();
    out.assert_code(0);
    let second = tmp(&format!("{name}-2"));
    import(format, std::slice::from_ref(&exported), &second).assert_code(0);
    assert_eq!(
        keptn_meaning(&first),
        keptn_meaning(&second),
        "{}",
        std::fs::read_to_string(&exported).unwrap()
    );
    first
}

#[test]
fn openslo_imports_scores_and_round_trips() {
    let src = dir().join("openslo/checkout.yaml");
    let out = import(
        "openslo",
        std::slice::from_ref(&src),
        &tmp("openslo-losses"),
    );
    out.assert_code(0);
    // Listed with file and line: the calendar window, the alert policy and its reference.
    out.assert_stderr_contains("calendar window of 1M from 2026-11-01 00:00:00 (Europe/Vienna)");
    out.assert_stderr_contains("checkout.yaml:81");
    out.assert_stderr_contains("AlertPolicy `checkout-page`");
    out.assert_stdout_contains("3 SLI(s), 3 objective(s); 5 thing(s) not converted");
    let d = round_trip(
        "openslo",
        std::slice::from_ref(&src),
        &["--timeframe", "30m"],
        "openslo",
    );
    let slo = std::fs::read_to_string(d.join("slo.yaml")).unwrap();
    assert!(slo.contains("- \">=99.5\""), "{slo}");
    let sli = std::fs::read_to_string(d.join("dynatrace/sli.yaml")).unwrap();
    assert!(sli.contains("metricSelector=(100)*(builtin:service.errors.server.successCount:splitBy():sum)/(builtin:service.requestCount.server:splitBy():sum)&entitySelector=type(SERVICE),tag(keptn_service:checkout)"), "{sli}");
    // OpenSLO: met when the good share reaches the target and the p95 stays at or under 600.
    assert_eq!(
        score(&d, &dir().join("openslo/values-pass.json"))["result"],
        "pass"
    );
    let failed = score(&d, &dir().join("openslo/values-fail.json"));
    assert_eq!(failed["result"], "fail");
    // --strict refuses to write when anything was left out.
    let strict = tmp("openslo-strict");
    Slogate::new()
        .args(["import", "openslo"])
        .arg(&src)
        .arg("--out")
        .arg(&strict)
        .arg("--strict")
        .run()
        .assert_code(2);
    assert!(!strict.join("slo.yaml").exists());
}

#[test]
fn sloth_imports_scores_and_round_trips() {
    let src = dir().join("sloth/checkout.yaml");
    let out = import("sloth", std::slice::from_ref(&src), &tmp("sloth-losses"));
    out.assert_code(0);
    out.assert_stderr_contains("alerting of SLO `requests-availability`");
    out.assert_stderr_contains("labels");
    let d = round_trip("sloth", &[src], &["--service", "checkout"], "sloth");
    let q = std::fs::read_to_string(d.join("prometheus/sli.yaml")).unwrap();
    assert!(
        q.contains("[$DURATION_SECONDS]") && !q.contains("{{.window}}"),
        "{q}"
    );
    assert_eq!(
        score(&d, &dir().join("sloth/values-pass.json"))["result"],
        "pass"
    );
    assert_eq!(
        score(&d, &dir().join("sloth/values-fail.json"))["result"],
        "fail"
    );
}

#[test]
fn klt_imports_scores_and_round_trips() {
    let src = dir().join("klt/analysis.yaml");
    let d = round_trip("klt", &[src], &["--service", "checkout-release"], "klt");
    let slo = std::fs::read_to_string(d.join("slo.yaml")).unwrap();
    // failure > 800, warning > 600 → pass <= 600, warning <= 800
    assert!(slo.contains("pass:\n      - criteria:\n          - \"<=600\"\n    warning:\n      - criteria:\n          - \"<=800\""), "{slo}");
    assert!(slo.contains("key_sli: true"), "{slo}");
    // KLT's rule: at 700 the response time warns (half of its weight 1), 3.5 of 4 = 87.5 %:
    // under the pass percentage (90), over the warning percentage (75).
    assert_eq!(
        score(&d, &dir().join("klt/values-pass.json"))["result"],
        "pass"
    );
    let warn = score(&d, &dir().join("klt/values-warning.json"));
    assert_eq!(warn["result"], "warning", "{warn:#}");
    assert_eq!(warn["score"], 87.5);
    // The key objective fails the whole analysis.
    assert_eq!(
        score(&d, &dir().join("klt/values-fail.json"))["result"],
        "fail"
    );
}

#[test]
fn relative_criteria_stay_as_a_comment_and_a_warning_in_klt() {
    let out_file = tmp("klt-relative").join("analysis.yaml");
    let out = Slogate::new()
        .args(["export", "klt", "--config"])
        .arg(dir().join("keptn-relative"))
        .arg("--out")
        .arg(&out_file)
        .run();
    out.assert_code(0);
    out.assert_stderr_contains("relative pass criterion `<=+10%`");
    out.assert_stderr_contains("slo.yaml:6");
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        text.contains("    # slogate: relative pass criterion <=+10% (compared with a baseline) kept as a comment"),
        "{text}"
    );
    // The fixed criteria still convert: fail above 800, warn from 600.
    assert!(
        text.contains("failure:\n          greaterThan: {fixedValue: 800}\n        warning:\n          greaterThanOrEqual: {fixedValue: 600}"),
        "{text}"
    );
    // Never silently: --strict refuses.
    Slogate::new()
        .args(["export", "klt", "--config"])
        .arg(dir().join("keptn-relative"))
        .arg("--out")
        .arg(tmp("klt-relative-strict").join("a.yaml"))
        .arg("--strict")
        .run()
        .assert_code(2);
    // OpenSLO lists the same losses.
    let o = Slogate::new()
        .args(["export", "openslo", "--config"])
        .arg(dir().join("keptn-relative"))
        .arg("--out")
        .arg(tmp("openslo-relative").join("o.yaml"))
        .run();
    o.assert_code(0);
    o.assert_stderr_contains("relative criterion `<=+10%`");
    o.assert_stderr_contains("warning criteria");
}

/// The OpenSLO specification's own documents (schema-test/spec-files/v1), read by path: each
/// imports or is refused with a reason, and exactly the invalid ones break the spec's rules.
#[test]
fn openslo_specification_documents() {
    let root = std::env::var_os("SLOGATE_OPENSLO_INTEROP")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::support::root().join("../shared/conformance/interop/openslo"));
    if !root.is_dir() {
        eprintln!(
            "skipped: the OpenSLO specification documents are not at {} (set SLOGATE_OPENSLO_INTEROP)",
            root.display()
        );
        return;
    }
    // The spec's own test (schema_test.go) expects these invalid; the two with both `good` and
    // `bad` break the README's rule "either good or bad".
    let invalid = [
        "invalid-apiversion.yaml",
        "service-long-description.yaml",
        "sli-description-ratio-inline-metricsource.yaml",
        "sli-ratio-good-and-bad.yaml",
    ];
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    let mut imported = 0;
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let out = import(
            "openslo",
            std::slice::from_ref(f),
            &tmp(&format!("spec-{name}")),
        );
        out.assert_no_panic();
        let spec_error = out.stderr.contains("slogate::openslo-invalid");
        assert_eq!(
            spec_error,
            invalid.contains(&name.as_str()),
            "{name}: {}",
            out.stderr
        );
        match out.code {
            0 => imported += 1,
            2 => assert!(
                out.stderr.contains("slogate::openslo-invalid")
                    || out.stderr.contains("slogate::cannot-convert")
                    || out
                        .stderr
                        .contains("the files hold no SLO or SLI to convert"),
                "{name}: refused without a reason: {}",
                out.stderr
            ),
            c => panic!("{name}: exit {c}: {}", out.stderr),
        }
    }
    // The four Prometheus ratio SLIs convert; Redshift, Datadog and CloudWatch are refused.
    assert_eq!(imported, 4);
}

/// A Site Reliability Guardian: DQL objectives, pass at the warning threshold, warning up to
/// the target, any failed objective fails, as the guardian decides.
#[test]
fn guardian_imports_scores_and_round_trips() {
    let src = dir().join("guardian/checkout-guardian.json");
    let d = round_trip(
        "guardian",
        &[src],
        &["--service", "checkout release"],
        "guardian",
    );
    let sli = std::fs::read_to_string(d.join("dynatrace/sli.yaml")).unwrap();
    assert!(
        sli.contains("\"error_rate\": \"DQL;fetch logs\\n| filter"),
        "{sli}"
    );
    let g = |v: &str| score(&d, &dir().join(format!("guardian/values-{v}.json")))["result"].clone();
    assert_eq!(g("pass"), "pass");
    assert_eq!(g("warning"), "warning");
    assert_eq!(g("fail"), "fail");
    // Objectives a guardian cannot hold are listed: relative criteria, metric SLIs.
    let o = Slogate::new()
        .args(["export", "guardian", "--config"])
        .arg(dir().join("keptn-relative"))
        .arg("--out")
        .arg(tmp("guardian-relative").join("g.json"))
        .run();
    o.assert_code(2);
    o.assert_stderr_contains("this SLI is not `DQL;`");
}
