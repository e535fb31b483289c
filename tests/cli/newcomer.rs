//! What a new user meets first: the documented recipes work as written, problems with the
//! environment name the variable, a misspelled stage or service gets a "did you mean", and
//! `--verbose` shows every request.

use dtsim::start_blocking;

use crate::pipeline::{TOKEN, mark, sim_with, slogate};
use crate::support::{Slogate, examples, root};

/// The `target/debug/slogate …` lines of the "Export" recipe in docs/dashboards.md.
fn export_recipe() -> Vec<Vec<String>> {
    let doc = std::fs::read_to_string(root().join("docs/dashboards.md")).unwrap();
    let section = doc
        .split("## Export: from a dashboard to files")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/dashboards.md has an Export section");
    let lines: Vec<Vec<String>> = section
        .lines()
        .filter_map(|l| l.strip_prefix("target/debug/slogate "))
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert!(lines.len() >= 4, "the recipe has its commands:\n{section}");
    lines
}

#[test]
fn the_dashboard_export_recipe_works_as_written_outside_a_config_root() {
    let text = std::fs::read_to_string(examples().join("dashboard/scenario.json")).unwrap();
    let sim = start_blocking(dtsim::scenario_from_json(&text).unwrap()).unwrap();
    // An empty folder: no ./slo, as for a user who has only a dashboard.
    let dir = tempfile::tempdir().unwrap();
    for args in export_recipe() {
        let out = Slogate::new()
            .current_dir(dir.path())
            .env("DT_URL", sim.url())
            .env("DT_API_TOKEN", TOKEN)
            .args(&args)
            .run();
        out.assert_no_panic();
        assert_eq!(out.code, 0, "slogate {}\n{out:?}", args.join(" "));
        if args.iter().any(|a| a == "json") {
            assert!(
                out.json()["objectives"]
                    .as_array()
                    .is_some_and(|o| o.len() == 7)
            );
        } else if args[0] == "lint" {
            out.assert_stderr_contains("0 errors");
        } else if !args.iter().any(|a| a == "--out") {
            out.assert_stdout_contains("- sli: \"response_time_p95\"");
        }
    }
    let service = dir.path().join("exported/production/checkout");
    assert!(service.join("sli.yaml").is_file() && service.join("slo.yaml").is_file());
    // A --config that does not exist is still an error: only the default may be missing.
    Slogate::new()
        .current_dir(dir.path())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .args([
            "dashboard",
            "export",
            "--config",
            "nosuch",
            "--dashboard",
            "query",
        ])
        .run()
        .assert_code(2)
        .assert_stderr_contains("config root not found");
}

#[test]
fn environment_problems_name_the_variable_and_show_no_internal_code() {
    let run = |envs: &[(&str, &str)]| {
        let mut s = Slogate::new().current_dir(examples()).args([
            "eval",
            "--config",
            "demo",
            "--timeframe",
            "1h",
            "--ci",
            "none",
        ]);
        for (k, v) in envs {
            s = s.env(k, *v);
        }
        let out = s.run();
        out.assert_code(2).assert_no_panic();
        assert!(!out.stderr.contains("slogate::"), "{out:?}");
        assert!(!out.stderr.contains("command line"), "{out:?}");
        out
    };
    run(&[("DT_URL", "notaurl::"), ("DT_API_TOKEN", TOKEN)])
        .assert_stderr_contains("environment DT_URL: `notaurl::` is not a URL");
    run(&[("DT_URL", "http://127.0.0.1:9")])
        .assert_stderr_contains("environment DT_API_TOKEN: not set");
    run(&[]).assert_stderr_contains("environment DT_URL: not set");
    run(&[
        ("DT_URL", "https://abc.live.dynatrace.com"),
        ("DT_API_TOKEN", TOKEN),
        ("HTTPS_PROXY", "http://[bad"),
    ])
    .assert_stderr_contains("environment HTTPS_PROXY: the proxy `http://[bad` is not a URL");
    let out = Slogate::new()
        .current_dir(examples())
        .env("PROMETHEUS_URL", "http://127.0.0.1:9090/api/v1")
        .args([
            "eval",
            "--config",
            "prometheus",
            "--timeframe",
            "1h",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(2).assert_stderr_contains(
        "environment PROMETHEUS_URL: `http://127.0.0.1:9090/api/v1` ends with the API path",
    );
}

#[test]
fn a_misspelled_stage_with_since_deployment_gets_a_did_you_mean() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--stage",
            "prodution",
            "--since-deployment",
            "--timeframe",
            "25m",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(3)
        .assert_stderr_contains("no deployment found")
        .assert_stderr_contains("did you mean --stage production?");
    // The right stage finds the deployment: no hint.
    let out = slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "25m",
            "--ci",
            "none",
        ])
        .run();
    assert!(!out.stderr.contains("did you mean"), "{out:?}");
}

#[test]
fn mark_with_a_misspelled_service_names_the_close_ones() {
    let sim = sim_with(|_| {});
    let out = slogate(&sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--service",
            "chekout",
            "--version",
            "2.0.0",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(3)
        .assert_stdout_contains("no entity matched")
        .assert_stdout_contains("did you mean --service checkout?")
        .assert_stdout_contains("services in Dynatrace with a close name: checkout");
    assert!(sim.events().is_empty());
    let out = slogate(&sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--service",
            "cart",
            "--ci",
            "none",
        ])
        .run();
    out.assert_code(0);
    assert!(!out.stdout.contains("did you mean"), "{out:?}");
}

#[test]
fn verbose_shows_each_request_and_what_was_skipped() {
    let sim = sim_with(|_| {});
    mark(&sim);
    let gate = |verbose: bool| {
        let mut s = slogate(&sim);
        if verbose {
            s = s.arg("-v");
        }
        s.args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "25m",
            "--ci",
            "none",
        ])
        .run()
    };
    let out = gate(true);
    out.assert_code(1).assert_no_panic();
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("slogate: "))
        .collect();
    let requests: Vec<&&str> = lines
        .iter()
        .filter(|l| l.starts_with("slogate: GET ") || l.starts_with("slogate: POST "))
        .collect();
    assert!(requests.len() >= 5, "a line per request:\n{}", out.stderr);
    for l in &requests {
        assert!(
            l.contains(" -> 200 (") && l.ends_with(" ms)"),
            "method, path, status, time: {l}"
        );
    }
    assert!(
        requests
            .iter()
            .any(|l| l
                .contains("/api/v2/events?entitySelector=type(SERVICE),tag(keptn_project:shop)")),
        "the deployment lookup, readable:\n{}",
        out.stderr
    );
    assert!(
        requests
            .iter()
            .any(|l| l.contains("/api/v2/metrics/query?"))
    );
    out.assert_stderr_contains(
        "slogate: skipped the chart series: only the HTML report draws them",
    );
    assert!(!out.stderr.contains(TOKEN), "the token never shows");
    let quiet = gate(false);
    assert!(!quiet.stderr.contains("slogate: GET"), "{quiet:?}");
    assert!(!quiet.stderr.contains("skipped"), "{quiet:?}");
}
