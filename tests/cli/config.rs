//! `slogate config`: the merged view of a service, each value with the file:line it comes from.

use serde_json::json;

use crate::support::{Output, Slogate, examples};

fn config(args: &[&str]) -> Output {
    Slogate::new()
        .arg("config")
        .args(args)
        .current_dir(examples())
        .run()
}

#[test]
fn keptn_project_checkout_in_production_text() {
    let out = config(&[
        "--config",
        "keptn-project",
        "--stage",
        "production",
        "--service",
        "checkout",
    ]);
    out.assert_no_panic().assert_code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
    // Spot checks of the merge (slo-examples/keptn-project/README.md), then the whole view.
    let line = |needle: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}\n{out:?}"))
            .to_string()
    };
    assert!(
        line("error_rate: \"metricSelector=builtin:service.errors.server.rate")
            .ends_with("# keptn-project/production/sli.yaml:5:15")
    );
    assert!(
        line("open_problems: \"PV2;")
            .ends_with("# keptn-project/production/checkout/dynatrace/sli.yaml:5:18")
    );
    assert!(line("pass: \"95%\"").ends_with("# keptn-project/production/slo.yaml:14:9"));
    assert!(line("warning: \"75%\"").ends_with("# keptn-project/slo.yaml:27:12"));
    insta::assert_snapshot!("keptn_project_text", out.stdout);
}

#[test]
fn keptn_project_checkout_in_production_json() {
    let out = config(&[
        "--config",
        "keptn-project",
        "--stage",
        "production",
        "--service",
        "checkout",
        "--format",
        "json",
    ]);
    out.assert_no_panic().assert_code(0);
    let doc = out.json();
    assert_eq!(
        (doc["stage"].as_str(), doc["service"].as_str()),
        (Some("production"), Some("checkout"))
    );
    assert_eq!(doc["sli"]["defaults"], false);
    let names: Vec<&str> = doc["sli"]["indicators"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "response_time_p95",
            "error_rate",
            "throughput",
            "open_problems"
        ]
    );
    let objectives: Vec<&str> = doc["slo"]["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["sli"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        objectives,
        [
            "response_time_p95",
            "error_rate",
            "throughput",
            "open_problems"
        ]
    );
    // The production objective replaced the project's one as a whole.
    assert_eq!(
        doc["slo"]["objectives"][0]["pass"][0]["criteria"][1],
        json!({"value": "<500", "from": "keptn-project/production/slo.yaml:10:30"})
    );
    assert_eq!(doc["slo"]["total_score"]["pass"]["value"], "95%");
    assert_eq!(
        doc["slo"]["total_score"]["warning"]["from"],
        "keptn-project/slo.yaml:27:12"
    );
    assert!(doc["sloHash"].as_str().unwrap().starts_with("sha256:"));
    insta::assert_snapshot!("keptn_project_json", out.stdout);
}

#[test]
fn text_and_json_agree_on_the_hash() {
    let text = config(&[
        "--config",
        "keptn-project",
        "--stage",
        "production",
        "--service",
        "checkout",
    ]);
    let json = config(&[
        "--config",
        "keptn-project",
        "--stage",
        "production",
        "--service",
        "checkout",
        "--format",
        "json",
    ]);
    let hash = json.json()["sloHash"].as_str().unwrap().to_string();
    text.assert_stdout_contains(&format!("# hash {hash}"));
}

#[test]
fn service_without_stage_is_a_usage_error() {
    let out = config(&["--config", "keptn-project", "--service", "checkout"]);
    out.assert_no_panic().assert_code(2);
    assert!(out.stdout.is_empty(), "{out:?}");
    // A problem with the flags carries no code: the label says what it is about.
    assert!(out.codes().is_empty(), "{out:?}");
    out.assert_stderr_contains("command line: --service needs --stage");
    insta::assert_snapshot!("service_without_stage", out.stderr);
}

#[test]
fn missing_config_root() {
    let out = config(&["--config", "no-such-root"]);
    out.assert_no_panic().assert_code(2);
    assert_eq!(out.codes(), ["slogate::no-config"]);
    out.assert_stderr_contains("no-such-root: config root not found");
}

#[test]
fn project_level_alone() {
    // Without --stage only the project level applies.
    let out = config(&["--config", "keptn-project", "--format", "json"]);
    out.assert_no_panic().assert_code(0);
    let doc = out.json();
    assert_eq!(
        doc["files"],
        json!(["keptn-project/sli.yaml", "keptn-project/slo.yaml"])
    );
    assert_eq!(doc["slo"]["total_score"]["pass"]["value"], "90%");
}

#[test]
fn misspelt_service_folder_is_named_not_silently_skipped() {
    let args = |svc: &'static str| {
        [
            "--config",
            "keptn-project",
            "--stage",
            "production",
            "--service",
            svc,
        ]
    };
    let out = config(&args("checkou"));
    // Still valid (Keptn falls back to the stage's files), but the fallback is said aloud.
    out.assert_no_panic().assert_code(0);
    assert!(
        out.stderr
            .contains("no folder keptn-project/production/checkou"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("did you mean --service checkout?"),
        "{out:?}"
    );
    // The real folder: no warning.
    let out = config(&args("checkout"));
    out.assert_no_panic().assert_code(0);
    assert!(out.stderr.is_empty(), "{out:?}");
}
