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

fn list(store: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = Slogate::new()
        .args(["history", "list", "--format", "json", "--history"])
        .arg(store)
        .args(extra)
        .run();
    out.assert_code(0);
    out.json().as_array().unwrap().clone()
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
    // Twenty runs of one window: one record that counts all twenty.
    assert_eq!(count(&store), 1);
    assert_eq!(list(&store, &[])[0]["runs"], 20);
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

#[test]
fn a_rerun_of_the_same_window_replaces_its_record_and_counts() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    let store_s = store.to_str().unwrap();
    for _ in 0..3 {
        eval(&sim, store_s, BEFORE)
            .arg("--record")
            .run()
            .assert_code(0);
    }
    let l = list(&store, &[]);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0]["runs"], 3);
    let text = Slogate::new()
        .args(["history", "list", "--history", store_s])
        .run();
    text.assert_code(0);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", text.stdout);
    assert!(lines[0].ends_with("SCORE  RUNS"), "{}", lines[0]);
    assert!(lines[1].ends_with(" 3"), "{}", lines[1]);
    // Another window is another record.
    eval(&sim, store_s, AFTER)
        .arg("--record")
        .run()
        .assert_code(1);
    assert_eq!(count(&store), 2);
}

fn dt_history(sim: &BlockingSim, args: &[&str]) -> crate::support::Output {
    Slogate::new()
        .current_dir(examples())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .args(["history", "--config", "dynatrace", "--history", "dynatrace"])
        .args(args)
        .run()
}

#[test]
fn every_history_command_works_on_the_dynatrace_history() {
    let sim = sim();
    for _ in 0..2 {
        eval(&sim, "dynatrace", BEFORE)
            .arg("--record")
            .run()
            .assert_code(0);
    }
    // list: the two runs of one window are one record.
    let out = dt_history(&sim, &["list", "--format", "json"]);
    out.assert_no_panic().assert_code(0);
    let l = out.json();
    let l = l.as_array().unwrap();
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0]["runs"], 2);
    assert_eq!(l[0]["service"], "checkout");
    assert_eq!(l[0]["timeEnd"], BEFORE.1);
    let id = l[0]["id"].as_str().unwrap().to_string();
    // show
    let out = dt_history(&sim, &["show", &id]);
    out.assert_code(0);
    out.assert_stdout_contains(&format!("evaluation {id}\n"));
    out.assert_stdout_contains("runs       2 of this window");
    out.assert_stdout_contains("response_time_avg");
    // export: one line, which a file store imports.
    let out = dt_history(&sim, &["export"]);
    out.assert_code(0);
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();
    let store = dir.path().join("h.sqlite");
    Slogate::new()
        .args(["history", "--history"])
        .arg(&store)
        .arg("import")
        .arg(&file)
        .run()
        .assert_code(0);
    assert_eq!(list(&store, &[])[0]["runs"], 2);
    // invalidate: an event that names the record; the next gate no longer compares with it.
    let out = dt_history(&sim, &["invalidate", &id, "--reason", "load test"]);
    out.assert_code(0);
    out.assert_stdout_contains(&format!("invalidated {id}"));
    let out = dt_history(&sim, &["list"]);
    out.assert_stdout_contains("(invalidated)");
    let r = eval(&sim, "dynatrace", AFTER)
        .args(["--format", "json"])
        .run()
        .json();
    assert_eq!(r["comparedEvents"].as_array().unwrap().len(), 0, "{r}");
    // import: a report sent as a verdict event, then listed.
    let report = dir.path().join("report.json");
    eval(&sim, store.to_str().unwrap(), AFTER)
        .args(["--output"])
        .arg(&report)
        .run()
        .assert_code(1);
    let out = dt_history(&sim, &["import", report.to_str().unwrap()]);
    out.assert_code(0);
    out.assert_stdout_contains("imported 1 evaluation into the Dynatrace history at");
    let again = dt_history(&sim, &["import", report.to_str().unwrap()]);
    again.assert_stdout_contains("1 already stored");
    let out = dt_history(&sim, &["list", "--format", "json"]);
    assert_eq!(out.json().as_array().unwrap().len(), 2);
    // Unknown ids are bad input, as with a file.
    dt_history(&sim, &["show", "no-such-id"]).assert_code(2);
}
