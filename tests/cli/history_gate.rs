//! `eval --record` / `gate` keep verdicts, and relative criteria compare with them.

use std::path::Path;

use dtsim::{BlockingSim, start_blocking};

use crate::support::{Slogate, examples};

const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";
const BEFORE: (&str, &str) = ("2026-11-17T09:00:00Z", "2026-11-17T10:00:00Z");
const AFTER: (&str, &str) = ("2026-11-17T10:00:00Z", "2026-11-17T11:00:00Z");

fn sim() -> BlockingSim {
    let text = std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap();
    start_blocking(dtsim::scenario_from_json(&text).unwrap()).unwrap()
}

fn eval(sim: &BlockingSim, history: &str, window: (&str, &str)) -> Slogate {
    Slogate::new()
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .args([
            "eval",
            "--config",
            "dynatrace",
            "--from",
            window.0,
            "--to",
            window.1,
            "--history",
            history,
        ])
}

fn count(store: &Path) -> usize {
    let out = Slogate::new()
        .args([
            "history",
            "list",
            "--limit",
            "0",
            "--format",
            "json",
            "--history",
            store.to_str().unwrap(),
        ])
        .run();
    out.assert_code(0);
    out.json().as_array().map_or(0, Vec::len)
}

#[test]
fn recorded_verdicts_are_the_baseline_of_the_next_evaluation() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let store_s = store.to_str().unwrap();
    // Without --record nothing is kept.
    eval(&sim, store_s, BEFORE).run().assert_code(0);
    assert!(!store.exists());
    eval(&sim, store_s, BEFORE)
        .arg("--record")
        .run()
        .assert_code(0);
    assert_eq!(count(&store), 1);
    let out = eval(&sim, store_s, AFTER).args(["--format", "json"]).run();
    out.assert_code(1);
    let r = out.json();
    assert_eq!(r["comparedEvents"].as_array().unwrap().len(), 1);
    let rt = r["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"]["metric"] == "response_time_avg")
        .unwrap();
    assert_eq!(rt["baseline"], "history");
    assert_eq!(rt["status"], "fail");
}

#[test]
fn invalidated_verdicts_are_skipped() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let store_s = store.to_str().unwrap();
    eval(&sim, store_s, BEFORE)
        .arg("--record")
        .run()
        .assert_code(0);
    let list = Slogate::new()
        .args(["history", "list", "--format", "json", "--history", store_s])
        .run()
        .json();
    let id = list[0]["id"].as_str().unwrap().to_string();
    Slogate::new()
        .args([
            "history",
            "invalidate",
            &id,
            "--reason",
            "load test",
            "--history",
            store_s,
        ])
        .run()
        .assert_code(0);
    let r = eval(&sim, store_s, AFTER)
        .args(["--format", "json"])
        .run()
        .json();
    assert_eq!(r["comparedEvents"].as_array().unwrap().len(), 0);
}

#[test]
fn a_store_that_cannot_be_written_is_exit_3_with_the_path() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    // a directory where the file should be
    let bad = dir.path().join("dir.sqlite");
    std::fs::create_dir(&bad).unwrap();
    let out = eval(&sim, bad.to_str().unwrap(), BEFORE)
        .arg("--record")
        .run();
    out.assert_code(3).assert_stderr_contains("dir.sqlite");
    assert!(
        sim.requests().is_empty(),
        "nothing is fetched when the history cannot be used"
    );
}

#[test]
fn twenty_gates_at_once_lose_nothing() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shared.sqlite");
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let url = sim.url();
            let store = store.clone();
            std::thread::spawn(move || {
                Slogate::new()
                    .current_dir(examples())
                    .env("DT_URL", url)
                    .env("DT_API_TOKEN", TOKEN)
                    .args([
                        "gate",
                        "--config",
                        "dynatrace",
                        "--deployment-time",
                        "2026-11-17T10:00:00Z",
                        "--timeframe",
                        "30m",
                    ])
                    .args([
                        "--baseline",
                        "history",
                        "--ci",
                        "none",
                        "--history",
                        store.to_str().unwrap(),
                    ])
                    .run()
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(out.code == 0 || out.code == 1, "{out:?}");
    }
    assert_eq!(count(&store), 20);
}

#[test]
fn the_dynatrace_history_reads_back_pushed_verdicts() {
    let sim = sim();
    eval(&sim, "dynatrace", BEFORE)
        .arg("--record")
        .run()
        .assert_code(0);
    let info: Vec<_> = sim
        .events()
        .into_iter()
        .filter(|e| e["eventType"] == "CUSTOM_INFO")
        .collect();
    assert_eq!(
        info.len(),
        1,
        "recording in the Dynatrace history pushes the verdict"
    );
    let out = eval(&sim, "dynatrace", AFTER)
        .args(["--format", "json"])
        .run();
    out.assert_code(1);
    let r = out.json();
    assert_eq!(r["comparedEvents"].as_array().unwrap().len(), 1, "{r}");
    let rt = r["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"]["metric"] == "response_time_avg")
        .unwrap();
    assert_eq!(rt["baseline"], "history");
}
