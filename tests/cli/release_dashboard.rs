//! The release comparison dashboard against the simulator: created by a gate, updated by the
//! next one (same dashboard, older releases dropped past --keep-releases), refused before any
//! metric without WriteConfig, and a failed publish that leaves the verdict alone.

use dtsim::BlockingSim;
use serde_json::{Value, json};

use crate::pipeline::{TOKEN, sim_with, slogate};

/// The demo scenario without its regression; `write: false` takes the token's ReadConfig and
/// WriteConfig away.
fn sim(write: bool) -> BlockingSim {
    sim_with(|v| {
        v["regressions"] = json!([]);
        assert_eq!(v["tokens"][0]["token"], TOKEN);
        let scopes = v["tokens"][0]["scopes"].as_array_mut().unwrap();
        assert!(scopes.contains(&json!("WriteConfig")), "the demo publishes");
        if !write {
            scopes.retain(|s| s != "ReadConfig" && s != "WriteConfig");
        }
    })
}

fn mark(sim: &BlockingSim, version: &str, at: &str) {
    slogate(sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--version",
            version,
            "--time",
            at,
        ])
        .run()
        .assert_code(0);
}

fn gate(sim: &BlockingSim, extra: &[&str]) -> crate::support::Output {
    slogate(sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "20m",
            "--ci",
            "none",
            "--publish-dashboard",
        ])
        .args(extra)
        .run()
}

/// The release headers of a dashboard, top first.
fn headers(d: &Value) -> Vec<String> {
    let mut h: Vec<(i64, String)> = d["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["tileType"] == "HEADER")
        .map(|t| {
            (
                t["bounds"]["top"].as_i64().unwrap(),
                t["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    h.sort();
    h.into_iter().map(|(_, n)| n).collect()
}

#[test]
fn a_published_dashboard_is_updated_by_the_next_gate_and_keeps_the_newest_releases() {
    let sim = sim(true);
    let mut ids = Vec::new();
    for (version, at) in [
        ("2.0.0", "now-30m"),
        ("2.0.1", "now-28m"),
        ("2.0.2", "now-26m"),
    ] {
        mark(&sim, version, at);
        let r = gate(&sim, &["--keep-releases", "2", "--format", "json"]);
        r.assert_code(0);
        let report = r.json();
        let d = &report["releaseDashboard"];
        assert_eq!(d["name"], "slogate · shop/production/checkout", "{report}");
        let id = d["id"].as_str().unwrap().to_string();
        assert_eq!(
            d["link"].as_str().unwrap(),
            format!("{}/#dashboard;id={id}", sim.url())
        );
        ids.push(id);
        assert_eq!(sim.dashboards().len(), 1, "never a duplicate");
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let d = &sim.dashboards()[0];
    let h = headers(d);
    assert_eq!(h.len(), 2, "{h:?}");
    assert!(h[0].starts_with("Release 2.0.2 · deployed"), "{h:?}");
    assert!(h[1].starts_with("Release 2.0.1 · deployed"), "{h:?}");
    assert_eq!(
        d["dashboardMetadata"]["tags"],
        json!(["slogate-release-comparison"])
    );
    assert_eq!(d["dashboardMetadata"]["shared"], true);
    // The token never reaches the dashboard.
    assert!(!d.to_string().contains(TOKEN));
    // The text report prints the link.
    mark(&sim, "2.0.3", "now-25m");
    let r = gate(&sim, &[]);
    r.assert_code(0);
    assert!(
        r.stdout.contains(&format!(
            "release dashboard: {}/#dashboard;id={}",
            sim.url(),
            ids[0]
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn without_write_config_the_gate_stops_before_any_metric_is_fetched() {
    let sim = sim(false);
    mark(&sim, "2.0.0", "now-30m");
    sim.clear_requests();
    let r = gate(&sim, &[]);
    r.assert_code(3);
    assert!(r.stderr.contains("ReadConfig, WriteConfig"), "{}", r.stderr);
    let asked: Vec<String> = sim.requests().into_iter().map(|q| q.path).collect();
    assert!(
        !asked.iter().any(|p| p.contains("/metrics")),
        "no metric may be fetched: {asked:?}"
    );
    assert!(sim.dashboards().is_empty());
}

#[test]
fn a_failed_publish_is_a_warning_and_the_verdict_stands() {
    let sim = sim(true);
    sim.set_faults(dtsim::Faults {
        fail_paths: vec![dtsim::FailPath {
            prefix: "/api/config/v1/dashboards".into(),
            status: 400,
            times: None,
            method: Some("POST".into()),
            query: None,
        }],
        ..Default::default()
    });
    mark(&sim, "2.0.0", "now-30m");
    let r = gate(&sim, &["--format", "json"]);
    r.assert_code(0);
    let report = r.json();
    assert_eq!(report["result"], "pass");
    assert!(report.get("releaseDashboard").is_none());
    assert!(
        r.stderr
            .contains("warning: could not publish the release dashboard of checkout"),
        "{}",
        r.stderr
    );
    assert!(sim.dashboards().is_empty());
}

#[test]
fn dashboard_publish_puts_an_earlier_report_on_the_dashboard() {
    let sim = sim(true);
    mark(&sim, "2.0.0", "now-30m");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    slogate(&sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--since-deployment",
            "--timeframe",
            "20m",
        ])
        .args(["--ci", "none", "--output"])
        .arg(&report)
        .run()
        .assert_code(0);
    assert!(sim.dashboards().is_empty());
    let r = slogate(&sim)
        .args(["dashboard", "publish", "--config", "demo"])
        .arg(&report)
        .run();
    r.assert_code(0);
    let d = sim.dashboards();
    assert_eq!(d.len(), 1);
    let id = d[0]["id"].as_str().unwrap();
    assert_eq!(
        r.stdout.trim(),
        format!("release dashboard: {}/#dashboard;id={id}", sim.url())
    );
}

#[test]
fn with_prometheus_slis_only_publishing_still_needs_a_dynatrace_environment() {
    let out = crate::support::Slogate::new()
        .current_dir(crate::support::examples())
        .env("PROMETHEUS_URL", "http://127.0.0.1:9")
        .args([
            "gate",
            "--config",
            "prometheus",
            "--deployment-time",
            "now-40m",
        ])
        .args(["--timeframe", "20m", "--ci", "none", "--publish-dashboard"])
        .run();
    // Nothing to publish to: a setup error before anything is fetched, not a warning later.
    out.assert_code(2);
    assert!(
        out.stderr.contains("DT_URL") || out.stderr.contains("DT_API_TOKEN"),
        "{}",
        out.stderr
    );
}
