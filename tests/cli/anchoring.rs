//! Anchoring and timing (issue 21, section 3): a deployment event Dynatrace shows only after its
//! ingest delay, gates anchored on a flag flip or configuration change, and `mark` reading its
//! events back.

use dtsim::BlockingSim;
use serde_json::json;

use crate::pipeline::{sim_with, slogate};

/// The demo without regressions; events ingested through the API stay invisible for `delay_ms`.
fn late(delay_ms: i64) -> BlockingSim {
    sim_with(|v| {
        v["regressions"] = json!([]);
        v["event_visibility_delay_ms"] = json!(delay_ms);
    })
}

fn mark_at(sim: &BlockingSim, extra: &[&str]) -> crate::support::Output {
    slogate(sim)
        .args([
            "mark",
            "--config",
            "demo",
            "--version",
            "2.0.0",
            "--time",
            "now-30m",
            "--ci",
            "none",
        ])
        .args(extra)
        .run()
}

fn gate(sim: &BlockingSim, extra: &[&str]) -> crate::support::Output {
    slogate(sim)
        .args([
            "gate",
            "--config",
            "demo",
            "--timeframe",
            "25m",
            "--ci",
            "none",
        ])
        .args(extra)
        .run()
}

#[test]
fn gate_waits_for_a_deployment_event_that_becomes_visible_late() {
    let sim = late(2_500);
    // Without --verify, an event not visible yet is a warning only.
    mark_at(&sim, &["--event-wait", "0s"])
        .assert_code(0)
        .assert_stdout_contains("not visible in Dynatrace after 0 s")
        .assert_stderr_contains("warning: CUSTOM_DEPLOYMENT");
    let out = gate(
        &sim,
        &[
            "--since-deployment",
            "--event-wait",
            "30s",
            "--format",
            "json",
        ],
    );
    out.assert_code(0)
        .assert_stderr_contains("waiting for the deployment event to become visible in Dynatrace");
    let r = out.json();
    assert_eq!(r["result"], "pass", "{r}");
    assert_eq!(r["deployment"]["source"], "event");
    assert_eq!(r["deployment"]["eventType"], "CUSTOM_DEPLOYMENT");
    assert_eq!(r["deployment"]["version"], "2.0.0");
}

#[test]
fn a_deployment_event_later_than_the_wait_is_still_no_deployment_found() {
    let sim = late(600_000);
    mark_at(&sim, &["--event-wait", "0s"]).assert_code(0);
    let out = gate(&sim, &["--since-deployment", "--event-wait", "2s"]);
    out.assert_code(3)
        .assert_stderr_contains("no deployment found: no CUSTOM_DEPLOYMENT event")
        .assert_stderr_contains("waited 2 s for it to become visible");
}

/// A flag flipped 30 minutes ago, an older deployment, and an info event that is no change.
fn flag_flipped() -> BlockingSim {
    let sel = "type(SERVICE),tag(\"app:checkout\")";
    sim_with(|v| {
        v["regressions"] = json!([]);
        v["events"] = json!([
            {"eventType": "CUSTOM_DEPLOYMENT", "title": "Deploy 1.9", "startTime": "now-3h",
             "entitySelector": sel},
            {"eventType": "CUSTOM_INFO", "title": "flag flipped", "startTime": "now-30m",
             "entitySelector": sel,
             "properties": {"feature_flag.key": "new-checkout-flow", "feature_flag.variant": "on"}},
            {"eventType": "CUSTOM_INFO", "title": "just a note", "startTime": "now-28m",
             "entitySelector": sel}
        ]);
    })
}

#[test]
fn gate_since_event_configuration_anchors_on_a_flag_flip() {
    let sim = flag_flipped();
    let out = gate(
        &sim,
        &["--since-event", "configuration", "--format", "json"],
    );
    out.assert_code(0);
    let r = out.json();
    let d = &r["deployment"];
    assert_eq!(d["eventType"], "CUSTOM_INFO", "{d}");
    assert_eq!(d["title"], "flag flipped");
    let flip = chrono::DateTime::parse_from_rfc3339(d["time"].as_str().unwrap()).unwrap();
    let start = chrono::DateTime::parse_from_rfc3339(r["timeStart"].as_str().unwrap()).unwrap();
    assert_eq!(flip, start, "the after window starts at the flip");

    // `any` takes the newest change; --since-deployment still the deployment.
    let any = gate(&sim, &["--since-event", "any", "--format", "json"]).json();
    assert_eq!(any["deployment"]["title"], "flag flipped");
    let text = gate(&sim, &["--since-event", "any"]);
    text.assert_code(0)
        .assert_stdout_contains("anchored on: ")
        .assert_stdout_contains("flag flipped (Dynatrace CUSTOM_INFO event)");
    let dep = gate(&sim, &["--since-deployment", "--format", "json"]);
    assert_eq!(dep.json()["deployment"]["title"], "Deploy 1.9");
}

#[test]
fn gate_since_event_configuration_without_one_says_what_it_looked_for() {
    let sim = late(0);
    let out = gate(
        &sim,
        &["--since-event", "configuration", "--event-wait", "0s"],
    );
    out.assert_code(3)
        .assert_stderr_contains("no configuration change found: no CUSTOM_CONFIGURATION event");
}

#[test]
fn mark_reports_the_entities_its_event_landed_on() {
    let sim = late(0);
    mark_at(&sim, &[])
        .assert_code(0)
        .assert_stdout_contains("landed on: checkout (SERVICE-");
    let out = mark_at(&sim, &["--verify", "--format", "json"]);
    out.assert_code(0);
    let doc = out.json();
    let back = &doc[0]["readBack"];
    assert_eq!(back["status"], "visible", "{doc}");
    assert_eq!(back["entities"][0]["name"], "checkout");
    assert!(
        back["entities"][0]["entityId"]
            .as_str()
            .unwrap()
            .starts_with("SERVICE-")
    );
}

#[test]
fn mark_waits_for_its_event_and_verify_fails_when_it_never_shows() {
    let sim = late(1_500);
    mark_at(&sim, &["--verify", "--event-wait", "20s"])
        .assert_code(0)
        .assert_stderr_contains("waiting for the event to become visible in Dynatrace")
        .assert_stdout_contains("landed on: checkout");
    let sim = late(600_000);
    let out = mark_at(&sim, &["--verify", "--event-wait", "2s"]);
    out.assert_code(3)
        .assert_stdout_contains("not visible in Dynatrace after 2 s")
        .assert_stderr_contains(
            "error: mark --verify: CUSTOM_DEPLOYMENT \"checkout 2.0.0 deployed to production\"",
        )
        .assert_stderr_contains("the event is not visible in Dynatrace after 2 s");
    // The event was sent all the same.
    assert_eq!(sim.events().len(), 1);
}
