//! Broken servers and hostile input (issue 13): a reordered or mislabelled answer, redirects,
//! proxies, tokens in echoed text, huge bodies and numbers, never a false pass, a leaked token
//! or a panic. Servers are dtsim or a tiny scripted one on 127.0.0.1 (`script`), both stop by
//! themselves.

use dtsim::{BlockingSim, Faults, start_blocking};

use crate::support::{Slogate, examples};

const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";

fn sim() -> BlockingSim {
    let text = std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap();
    start_blocking(dtsim::scenario_from_json(&text).unwrap()).unwrap()
}

fn eval_json(url: &str) -> Slogate {
    Slogate::new()
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            "2026-11-17T09:00:00Z",
            "--to",
            "2026-11-17T10:00:00Z",
            "--format",
            "json",
        ])
        .current_dir(examples())
        .env("DT_URL", url)
        .env("DT_API_TOKEN", TOKEN)
}

/// `name -> (value, success)` of a report.
fn values(report: &serde_json::Value) -> Vec<(String, serde_json::Value, serde_json::Value)> {
    let mut v: Vec<_> = report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["value"]["metric"].as_str().unwrap().to_string(),
                r["value"]["value"].clone(),
                r["value"]["success"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn batched_results_in_another_order_keep_their_own_sli() {
    let sim = sim();
    let straight = eval_json(&sim.url()).run();
    straight.assert_code(0);
    sim.set_faults(Faults {
        reverse_results: true,
        ..Faults::default()
    });
    let reversed = eval_json(&sim.url()).run();
    reversed.assert_code(0);
    assert_eq!(values(&straight.json()), values(&reversed.json()));
}

#[test]
fn batched_results_with_foreign_metric_ids_are_asked_for_alone() {
    let sim = sim();
    let straight = eval_json(&sim.url()).run();
    straight.assert_code(0);
    sim.clear_requests();
    sim.set_faults(Faults {
        rename_metric_ids: Some("builtin:service.errors.total.rate:avg".into()),
        ..Faults::default()
    });
    let renamed = eval_json(&sim.url()).run();
    assert_eq!(values(&straight.json()), values(&renamed.json()));
    // Every metric selector was asked for on its own after the batch could not be matched.
    let singles = sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/metrics/query"))
        .count();
    assert!(singles > 1, "{:?}", sim.requests().len());
}
