//! `slogate history`: list, show, invalidate, export, import; where the store is; exit codes;
//! 20 concurrent processes writing one store.
//!
//! Every run sets `SLOGATE_HISTORY` to empty (ignored), so a developer's own variable never
//! decides which store a test writes.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slogate::history::Store;

use crate::support::{Output, Slogate, fixtures};

fn fixture(name: &str) -> PathBuf {
    fixtures("history").join(name)
}

/// `slogate history --history <store> <args>` in `dir`.
fn history(dir: &Path, store: &Path, args: &[&str]) -> Output {
    Slogate::new()
        .env("SLOGATE_HISTORY", "")
        .arg("history")
        .arg("--history")
        .arg(store)
        .args(args)
        .current_dir(dir)
        .run()
}

/// A store in a fresh folder with the Keptn events, their invalidation and one slogate report.
fn filled() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("history.sqlite");
    history(
        dir.path(),
        &store,
        &[
            "import",
            fixture("keptn-events.json").to_str().unwrap(),
            fixture("keptn-invalidated.json").to_str().unwrap(),
            fixture("report.json").to_str().unwrap(),
        ],
    )
    .assert_no_panic()
    .assert_code(0)
    .assert_stdout_contains("imported 4 evaluations into ")
    .assert_stdout_contains("1 invalidation");
    (dir, store)
}

/// stderr as one line: diagnostics wrap long messages at the terminal width.
fn flat(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn assert_says(out: &Output, needle: &str) {
    assert!(
        flat(&out.stderr).contains(needle),
        "stderr lacks {needle:?}\n{out:?}"
    );
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn list_is_newest_first_by_window_end_and_filters() {
    let (dir, store) = filled();
    let out = history(dir.path(), &store, &["list", "--format", "json"]);
    out.assert_no_panic().assert_code(0);
    let list = out.json();
    let all = ids(&list);
    assert_eq!(all.len(), 4);
    // The slogate report's window (2026) is the newest; then Keptn's, newest first.
    assert_eq!(
        all[1..],
        [
            "5b0e1d2f-0000-4000-8000-0000000000e3",
            "4c8d2e3f-0000-4000-8000-0000000000e2",
            "3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13"
        ]
    );
    assert_eq!(list[0]["kind"], "slogate");
    assert_eq!(list[0]["result"], "warning");
    assert_eq!(list[2]["invalidated"], true);

    let only = |args: &[&str]| {
        let mut a = vec!["list", "--format", "json"];
        a.extend_from_slice(args);
        let out = history(dir.path(), &store, &a);
        out.assert_code(0);
        ids(&out.json())
    };
    assert_eq!(only(&["--result", "fail"]), [all[1].clone()]);
    assert_eq!(only(&["--result", "pass"]).len(), 2);
    assert_eq!(only(&["--limit", "2"]), all[..2]);
    assert_eq!(
        only(&["--service", "checkout", "--stage", "production"]).len(),
        4
    );
    assert!(only(&["--service", "cart"]).is_empty());
    assert!(only(&["--project", "other"]).is_empty());

    let text = history(dir.path(), &store, &["list"]);
    text.assert_code(0)
        .assert_stdout_contains("RESULT")
        .assert_stdout_contains("pass (invalidated)");
    history(dir.path(), &store, &["list", "--result", "great"]).assert_code(2);
}

#[test]
fn show_prints_the_full_stored_report() {
    let (dir, store) = filled();
    let id = "3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13";
    let out = history(dir.path(), &store, &["show", id, "--format", "json"]);
    out.assert_no_panic().assert_code(0);
    let shown = out.json();
    let original: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("keptn-events.json")).unwrap())
            .unwrap();
    let mut want = original["events"][2].clone();
    want["data"]["recordedAt"] = "2024-03-01T10:00:00.000Z".into();
    want["data"]["invalidated"] = false.into();
    assert_eq!(shown, want);

    // A unique prefix is enough; text shows the values.
    history(dir.path(), &store, &["show", "3f9a2c1e"])
        .assert_code(0)
        .assert_stdout_contains(&format!("evaluation {id}"))
        .assert_stdout_contains("response_time_p95  480");

    // The slogate report comes back as `score`/`gate` print it.
    let list = history(dir.path(), &store, &["list", "--format", "json"]).json();
    let rid = list[0]["id"].as_str().unwrap();
    history(dir.path(), &store, &["show", rid])
        .assert_code(0)
        .assert_stdout_contains("WARNING  score 80");
    let report = history(dir.path(), &store, &["show", rid, "--format", "json"]).json();
    let mut fixture_report: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("report.json")).unwrap()).unwrap();
    fixture_report["id"] = rid.into();
    assert_eq!(report["id"], fixture_report["id"]);
    assert_eq!(
        report["indicatorResults"],
        fixture_report["indicatorResults"]
    );
}

#[test]
fn unknown_ids_are_bad_input() {
    let (dir, store) = filled();
    for args in [&["show", "no-such-id"][..], &["invalidate", "no-such-id"]] {
        let out = history(dir.path(), &store, args);
        out.assert_no_panic().assert_code(2);
        assert_says(
            &out,
            &format!(
                "no stored evaluation has the id `no-such-id` in {}",
                store.display()
            ),
        );
    }
    // A prefix shorter than 4 characters is not looked up.
    history(dir.path(), &store, &["show", "3f"]).assert_code(2);
}

#[test]
fn invalidate_removes_an_evaluation_from_comparison() {
    let (dir, store) = filled();
    let id = "3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13";
    history(
        dir.path(),
        &store,
        &["invalidate", id, "--reason", "load test during the window"],
    )
    .assert_no_panic()
    .assert_code(0)
    .assert_stdout_contains(&format!("invalidated {id}"));
    let shown = history(dir.path(), &store, &["show", id, "--format", "json"]).json();
    assert_eq!(shown["data"]["invalidated"], true);
    assert_eq!(
        shown["data"]["invalidatedReason"],
        "load test during the window"
    );
    history(dir.path(), &store, &["show", id])
        .assert_stdout_contains("INVALIDATED")
        .assert_stdout_contains("(load test during the window)");
    // Both passing Keptn evaluations are now invalidated: none is left to compare with.
    let s = Store::open(&store).unwrap();
    let c = slogate::model::slo::EffectiveComparison {
        compare_with: "single_result".into(),
        include_result_with_score: "pass".into(),
        number_of_comparison_results: 1,
        aggregate_function: "avg".into(),
    };
    assert!(
        s.previous("shop", "production", "checkout", &c)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn export_then_import_reproduces_the_store() {
    let (dir, store) = filled();
    let out = history(dir.path(), &store, &["export"]);
    out.assert_no_panic().assert_code(0);
    // 4 evaluations, then the Keptn invalidation event.
    assert_eq!(out.stdout.lines().count(), 5);
    for line in out.stdout.lines() {
        serde_json::from_str::<Value>(line).unwrap();
    }
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &out.stdout).unwrap();

    let copy = dir.path().join("copy.sqlite");
    history(dir.path(), &copy, &["import", file.to_str().unwrap()])
        .assert_code(0)
        .assert_stdout_contains("imported 4 evaluations");
    let again = history(dir.path(), &copy, &["export"]);
    assert_eq!(again.stdout, out.stdout);
    // Importing it again adds nothing.
    history(dir.path(), &copy, &["import", file.to_str().unwrap()])
        .assert_code(0)
        .assert_stdout_contains("imported 0 evaluations")
        .assert_stdout_contains("4 already stored");
}

#[test]
fn import_reads_lists_json_lines_and_keptn_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let events: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("keptn-events.json")).unwrap())
            .unwrap();
    let list = dir.path().join("list.json");
    std::fs::write(&list, events["events"].to_string()).unwrap();
    history(dir.path(), &store, &["import", list.to_str().unwrap()])
        .assert_code(0)
        .assert_stdout_contains("imported 3 evaluations");
    let lines = dir.path().join("lines.jsonl");
    let text: String = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{e}\n"))
        .collect();
    std::fs::write(&lines, text).unwrap();
    history(dir.path(), &store, &["import", lines.to_str().unwrap()])
        .assert_code(0)
        .assert_stdout_contains("3 already stored");
}

#[test]
fn bad_import_files_are_bad_input_and_import_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.sqlite");
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"result\": \"pass\"}\n{\"type\": \"sh.keptn.event.deployment.finished\", \"data\": {}}\n",
    )
    .unwrap();
    let out = history(
        dir.path(),
        &store,
        &[
            "import",
            fixture("report.json").to_str().unwrap(),
            "bad.jsonl",
        ],
    );
    out.assert_no_panic().assert_code(2);
    assert_says(
        &out,
        "bad.jsonl#2: a Keptn `sh.keptn.event.deployment.finished` event is not an evaluation",
    );
    history(dir.path(), &store, &["list", "--format", "json"]).assert_code(0);
    assert_eq!(Store::open(&store).unwrap().count().unwrap(), 0);

    std::fs::write(&bad, "not json").unwrap();
    let out = history(dir.path(), &store, &["import", "bad.jsonl"]);
    out.assert_code(2);
    assert_says(&out, "bad.jsonl: not JSON");
    let out = history(dir.path(), &store, &["import", "missing.json"]);
    out.assert_code(2);
    assert_says(&out, "cannot read missing.json");
}

#[test]
fn a_store_that_cannot_be_used_exits_3_with_path_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("report.json");
    let report = report.to_str().unwrap();

    let folder = dir.path().join("a-folder.sqlite");
    std::fs::create_dir(&folder).unwrap();
    let out = history(dir.path(), &folder, &["import", report]);
    out.assert_no_panic().assert_code(3);
    assert_says(
        &out,
        &format!(
            "cannot open the history store {}: it is a directory",
            folder.display()
        ),
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some notes, not a database\n".repeat(100)).unwrap();
    let out = history(dir.path(), &text, &["list"]);
    out.assert_code(3);
    assert_says(&out, &format!("the history store {}", text.display()));
    assert_says(&out, "file is not a database");

    let nowhere = dir.path().join("no-such-folder").join("h.sqlite");
    let out = history(dir.path(), &nowhere, &["import", report]);
    out.assert_code(3);
    assert_says(&out, &nowhere.display().to_string());
    assert_says(&out, "no-such-folder does not exist");
}

#[test]
fn the_store_comes_from_the_flag_the_variable_or_the_config_root() {
    let dir = tempfile::tempdir().unwrap();
    let report = fixture("report.json");
    let report = report.to_str().unwrap();
    std::fs::create_dir(dir.path().join("slo")).unwrap();

    // Default: <config root>/.slogate/history.sqlite, its folder created on first write.
    Slogate::new()
        .env("SLOGATE_HISTORY", "")
        .args(["history", "import", report])
        .current_dir(dir.path())
        .run()
        .assert_code(0);
    assert!(dir.path().join("slo/.slogate/history.sqlite").is_file());

    // $SLOGATE_HISTORY.
    Slogate::new()
        .env("SLOGATE_HISTORY", "env.sqlite")
        .args(["history", "import", report])
        .current_dir(dir.path())
        .run()
        .assert_code(0);
    assert!(dir.path().join("env.sqlite").is_file());

    // --history beats the variable; --config moves the default.
    Slogate::new()
        .env("SLOGATE_HISTORY", "env.sqlite")
        .args(["history", "--history", "flag.sqlite", "import", report])
        .current_dir(dir.path())
        .run()
        .assert_code(0);
    assert!(dir.path().join("flag.sqlite").is_file());
    std::fs::create_dir(dir.path().join("other")).unwrap();
    Slogate::new()
        .env("SLOGATE_HISTORY", "")
        .args(["history", "--config", "other", "import", report])
        .current_dir(dir.path())
        .run()
        .assert_code(0);
    assert!(dir.path().join("other/.slogate/history.sqlite").is_file());

    // `dynatrace` is the events-based history: it needs a token (history_gate.rs uses it).
    let out = Slogate::new()
        .env("SLOGATE_HISTORY", "")
        .env("DT_URL", "http://127.0.0.1:9")
        .env("DT_API_TOKEN", "")
        .args(["history", "--history", "dynatrace", "list"])
        .current_dir(dir.path())
        .run();
    out.assert_code(2);
    assert_says(&out, "no Dynatrace API token");
}

#[test]
fn twenty_concurrent_processes_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shared.sqlite");
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("report.json")).unwrap()).unwrap();
    // 20 files of 10 distinct reports each.
    for w in 0..20 {
        let lines: String = (0..10)
            .map(|i| {
                let mut r = base.clone();
                r["service"] = format!("svc-{w}").into();
                r["timeEnd"] = format!("2026-11-17T{:02}:{:02}:00Z", 10 + i, w).into();
                format!("{r}\n")
            })
            .collect();
        std::fs::write(dir.path().join(format!("w{w}.jsonl")), lines).unwrap();
    }
    // One process per report, 20 at a time: as 20 pipelines running `gate` at once.
    for i in 0..10 {
        let children: Vec<_> = (0..20)
            .map(|w| {
                let file = dir.path().join(format!("one-{w}-{i}.json"));
                let text = std::fs::read_to_string(dir.path().join(format!("w{w}.jsonl")))
                    .unwrap()
                    .lines()
                    .nth(i)
                    .unwrap()
                    .to_string();
                std::fs::write(&file, text).unwrap();
                let store = store.clone();
                let cwd = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    history(&cwd, &store, &["import", file.to_str().unwrap()])
                })
            })
            .collect();
        for c in children {
            c.join().unwrap().assert_no_panic().assert_code(0);
        }
    }
    let s = Store::open(&store).unwrap();
    assert_eq!(s.count().unwrap(), 200);
    assert_eq!(s.integrity_check().unwrap(), Vec::<String>::new());
    let out = history(dir.path(), &store, &["export"]);
    assert_eq!(out.stdout.lines().count(), 200);
}
