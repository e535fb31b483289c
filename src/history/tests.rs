//! The store: recording, Keptn's selection, import/export, and the safety requirements
//! (concurrent writers, unusable stores, killed writers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::eval::Verdict;
use crate::eval::previous::{self, PreviousEvaluation};

const REPORT: &str = include_str!("../../tests/fixtures/history/report.json");
const KEPTN_EVENTS: &str = include_str!("../../tests/fixtures/history/keptn-events.json");
const KEPTN_INVALIDATED: &str = include_str!("../../tests/fixtures/history/keptn-invalidated.json");

/// Runs child processes of this test binary: which helper, and its inputs.
const CHILD: &str = "SLOGATE_HISTORY_TEST_CHILD";
const CHILD_PATH: &str = "SLOGATE_HISTORY_TEST_PATH";
const CHILD_SEED: &str = "SLOGATE_HISTORY_TEST_SEED";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

/// `2026-11-17T10:00:00Z` plus `minutes`.
fn at(minutes: i64) -> String {
    let t = Utc.with_ymd_and_hms(2026, 11, 17, 10, 0, 0).unwrap() + Duration::minutes(minutes);
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The fixture report for `service`, its window ending at `at(end)`, with `result` and a
/// response time that makes it unique.
fn report(service: &str, end: i64, result: Verdict, rt: f64) -> Report {
    let mut r: Report = serde_json::from_str(REPORT).unwrap();
    r.service = Some(service.into());
    r.time_start = Some(at(end - 30));
    r.time_end = Some(at(end));
    r.evaluation.result = result;
    r.evaluation.indicator_results[0].value.value = Some(rt);
    r
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn store_in(dir: &Path) -> Store {
    Store::open(&dir.join("history.sqlite")).unwrap()
}

fn cmp(compare_with: &str, include: &str, n: i64) -> EffectiveComparison {
    EffectiveComparison {
        compare_with: compare_with.into(),
        include_result_with_score: include.into(),
        number_of_comparison_results: n,
        aggregate_function: "avg".into(),
    }
}

fn ids(list: &[PreviousEvaluation]) -> Vec<String> {
    list.iter().map(|p| p.id.clone()).collect()
}

// ---------------------------------------------------------------------------------------------
// Recording and reading back

#[test]
fn record_keeps_every_field_and_the_full_report() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let r = report("checkout", 30, Verdict::Warning, 455.0);
    let id = store.record(&r, now()).unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let found = store.show(&id).unwrap().unwrap();
    let s = &found.summary;
    assert_eq!(
        (s.project.as_str(), s.stage.as_str(), s.service.as_str()),
        ("shop", "production", "checkout")
    );
    assert_eq!(s.labels.get("buildId").map(String::as_str), Some("412"));
    assert_eq!(s.time_start.as_deref(), Some("2026-11-17T10:00:00Z"));
    assert_eq!(s.time_end.as_deref(), Some("2026-11-17T10:30:00Z"));
    assert_eq!(s.result, "warning");
    assert_eq!(s.score, Some(80.0));
    assert_eq!(s.tool.as_deref(), Some("slogate 0.1.0"));
    assert_eq!(s.recorded_at, "2026-11-20T08:00:00.000Z");
    assert_eq!(s.kind, DocumentKind::Slogate);
    assert!(!s.invalidated);
    let metrics: Vec<_> = found
        .indicators
        .iter()
        .map(|i| (i.metric.as_str(), i.value, i.success))
        .collect();
    assert_eq!(
        metrics,
        [
            ("response_time_p95", Some(455.0), true),
            ("error_rate", Some(0.42), true),
            ("throughput", Some(17460.0), true),
            ("response_time_p50", Some(190.0), true)
        ]
    );
    assert_eq!(found.document, serde_json::to_value(&r).unwrap());
    assert_eq!(found.report().unwrap(), r);
    assert!(store.show("nope").unwrap().is_none());
}

#[test]
fn the_same_report_is_stored_once_and_its_output_file_imports_onto_it() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let r = report("checkout", 30, Verdict::Pass, 400.0);
    let id = store.record(&r, now()).unwrap();
    assert_eq!(store.record(&r, now()).unwrap(), id);
    // The `--output` file of the same run, as slogate writes it.
    let written: Value = serde_json::from_str(&crate::report::json::render(&r)).unwrap();
    assert_eq!(
        store.import(&written, now()).unwrap(),
        Imported::Existing(id.clone())
    );
    assert_eq!(store.count().unwrap(), 1);
    // Another run of the same service, stage and window replaces the record and counts.
    let later = now() + chrono::Duration::minutes(5);
    let other = store
        .record(&report("checkout", 30, Verdict::Fail, 401.0), later)
        .unwrap();
    assert_ne!(other, id);
    assert_eq!(store.count().unwrap(), 1);
    let list = store.list(&ListFilter::default()).unwrap();
    assert_eq!((list[0].id.as_str(), list[0].runs), (other.as_str(), 2));
    assert_eq!(list[0].result, "fail");
    // The earlier run's id still finds the record, and importing it again adds nothing.
    assert_eq!(store.lookup(&id).unwrap(), Lookup::Found(other.clone()));
    assert_eq!(
        store.import(&written, now()).unwrap(),
        Imported::Existing(id.clone())
    );
    let found = store.show(&other).unwrap().unwrap();
    assert_eq!(found.earlier_run_ids, std::slice::from_ref(&id));
    assert_eq!(found.indicators[0].value, Some(401.0));
    // The export keeps the runs: a new store imports one record with 2 runs.
    let mut lines = Vec::new();
    store.export(&mut lines).unwrap();
    let dir2 = temp();
    let mut copy = store_in(dir2.path());
    for doc in crate::history::documents(std::str::from_utf8(&lines).unwrap()).unwrap() {
        copy.import(&doc, now()).unwrap();
    }
    let l = copy.list(&ListFilter::default()).unwrap();
    assert_eq!((l.len(), l[0].runs), (1, 2));
    assert_eq!(copy.lookup(&id).unwrap(), Lookup::Found(other.clone()));
    // Another window is another record.
    store
        .record(&report("checkout", 90, Verdict::Pass, 401.0), later)
        .unwrap();
    assert_eq!(store.count().unwrap(), 2);
}

// ---------------------------------------------------------------------------------------------
// Keptn's selection (reference §8)

/// Records `(service, end, result)` in the given order; returns the ids in that order.
fn fill(store: &mut Store, rows: &[(&str, i64, Verdict)]) -> Vec<String> {
    rows.iter()
        .enumerate()
        .map(|(i, (svc, end, res))| {
            store
                .record(&report(svc, *end, *res, 400.0 + i as f64), now())
                .unwrap()
        })
        .collect()
}

#[test]
fn previous_is_newest_first_by_window_end_not_by_insertion() {
    let dir = temp();
    let mut store = store_in(dir.path());
    // Recorded out of order: an `eval` of an older window after a newer `gate`.
    let id = fill(
        &mut store,
        &[
            ("checkout", 20, Verdict::Pass),
            ("checkout", 40, Verdict::Pass),
            ("checkout", 10, Verdict::Pass),
            ("checkout", 30, Verdict::Pass),
        ],
    );
    let got = store
        .previous(
            "shop",
            "production",
            "checkout",
            &cmp("several_results", "all", 10),
        )
        .unwrap();
    assert_eq!(
        ids(&got),
        [id[1].clone(), id[3].clone(), id[0].clone(), id[2].clone()]
    );
    // Each carries its values for the pool.
    assert_eq!(got[0].indicators.len(), 4);
    assert_eq!(got[0].indicators[0].value, Some(401.0));
    assert_eq!(got[0].result, "pass");
    assert_eq!(got[0].score, Some(80.0));
}

#[test]
fn previous_follows_section_8_exactly() {
    let dir = temp();
    let mut store = store_in(dir.path());
    use Verdict::{Fail, Pass, Warning};
    // Newest first: 6 fail, 5 warning, 4 pass, 3 pass, 2 warning, 1 pass, 0 fail.
    let id = fill(
        &mut store,
        &[
            ("checkout", 0, Fail),
            ("checkout", 10, Pass),
            ("checkout", 20, Warning),
            ("checkout", 30, Pass),
            ("checkout", 40, Pass),
            ("checkout", 50, Warning),
            ("checkout", 60, Fail),
            // Other services never count.
            ("cart", 70, Pass),
            ("cart", 80, Pass),
        ],
    );
    let pick = |store: &Store, c: &EffectiveComparison| {
        ids(&store.previous("shop", "production", "checkout", c).unwrap())
    };
    let want = |which: &[usize]| which.iter().map(|&i| id[i].clone()).collect::<Vec<_>>();
    assert_eq!(pick(&store, &cmp("single_result", "all", 5)), want(&[6]));
    assert_eq!(pick(&store, &cmp("single_result", "pass", 5)), want(&[4]));
    assert_eq!(
        pick(&store, &cmp("single_result", "pass_or_warn", 5)),
        want(&[5])
    );
    assert_eq!(
        pick(&store, &cmp("several_results", "pass", 2)),
        want(&[4, 3])
    );
    assert_eq!(
        pick(&store, &cmp("several_results", "pass_or_warn", 4)),
        want(&[5, 4, 3, 2])
    );
    assert_eq!(
        pick(&store, &cmp("several_results", "all", 100)),
        want(&[6, 5, 4, 3, 2, 1, 0])
    );
    // Without compare_with: 3, whatever number_of_comparison_results says.
    assert_eq!(pick(&store, &cmp("", "pass", 1)), want(&[4, 3, 1]));
    // Keptn's misspelling `pass_or_warning` means all.
    assert_eq!(
        pick(&store, &cmp("", "pass_or_warning", 1)),
        want(&[6, 5, 4])
    );
    assert_eq!(
        pick(&store, &cmp("several_results", "all", 0)),
        Vec::<String>::new()
    );

    // Invalidated evaluations are skipped, and the next one takes their place.
    assert!(store.invalidate(&id[4], Some("load test"), now()).unwrap());
    assert_eq!(pick(&store, &cmp("single_result", "pass", 1)), want(&[3]));
    assert_eq!(
        pick(&store, &cmp("several_results", "pass", 3)),
        want(&[3, 1])
    );

    // Same project and stage too.
    assert!(
        store
            .previous(
                "shop",
                "staging",
                "checkout",
                &cmp("single_result", "all", 1)
            )
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .previous(
                "other",
                "production",
                "checkout",
                &cmp("single_result", "all", 1)
            )
            .unwrap()
            .is_empty()
    );
}

#[test]
fn previous_agrees_with_previous_select_on_every_setting() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let mut rng = fastrand::Rng::with_seed(7);
    let verdicts = [Verdict::Pass, Verdict::Warning, Verdict::Fail];
    let mut recorded = Vec::new();
    for i in 0..40 {
        let end = rng.i64(0..1000) * 10 + i; // unique window ends, random order
        let v = verdicts[rng.usize(0..3)];
        let id = store
            .record(&report("checkout", end, v, 300.0 + i as f64), now())
            .unwrap();
        recorded.push((end, id, v));
    }
    for (_, id, _) in recorded.iter().filter(|_| rng.u8(0..5) == 0) {
        store.invalidate(id, None, now()).unwrap();
    }
    // The full history newest first, as `previous::select` expects it.
    recorded.sort_by_key(|(end, _, _)| std::cmp::Reverse(*end));
    let all: Vec<PreviousEvaluation> = recorded
        .iter()
        .map(|(_, id, v)| PreviousEvaluation {
            id: id.clone(),
            result: v.as_str().into(),
            score: None,
            indicators: vec![],
            invalidated: store.show(id).unwrap().unwrap().summary.invalidated,
        })
        .collect();
    for compare_with in ["single_result", "several_results", "", "bogus"] {
        for include in ["all", "pass", "pass_or_warn", "pass_or_warning", ""] {
            for n in [0, 1, 2, 5, 50] {
                let c = cmp(compare_with, include, n);
                let want: Vec<String> = previous::select(&all, &c)
                    .into_iter()
                    .map(|p| p.id.clone())
                    .collect();
                let got = store
                    .previous("shop", "production", "checkout", &c)
                    .unwrap();
                assert_eq!(ids(&got), want, "{c:?}");
            }
        }
    }
}

#[test]
fn errored_evaluations_take_places_in_n_without_values() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let ok = store
        .record(&report("checkout", 10, Verdict::Pass, 400.0), now())
        .unwrap();
    let mut errored = report("checkout", 20, Verdict::Fail, 0.0);
    errored.evaluation.indicator_results.clear();
    errored.evaluation.status = "errored".into();
    let err = store.record(&errored, now()).unwrap();
    let got = store
        .previous(
            "shop",
            "production",
            "checkout",
            &cmp("single_result", "all", 1),
        )
        .unwrap();
    assert_eq!(ids(&got), [err]);
    assert!(got[0].indicators.is_empty());
    let got = store
        .previous(
            "shop",
            "production",
            "checkout",
            &cmp("single_result", "pass", 1),
        )
        .unwrap();
    assert_eq!(ids(&got), [ok]);
}

// ---------------------------------------------------------------------------------------------
// list, invalidate

#[test]
fn list_filters_and_orders() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let id = fill(
        &mut store,
        &[
            ("checkout", 10, Verdict::Pass),
            ("cart", 20, Verdict::Fail),
            ("checkout", 30, Verdict::Warning),
            ("checkout", 40, Verdict::Fail),
        ],
    );
    let list = |f: ListFilter| -> Vec<String> {
        store.list(&f).unwrap().into_iter().map(|s| s.id).collect()
    };
    assert_eq!(
        list(ListFilter::default()),
        [id[3].clone(), id[2].clone(), id[1].clone(), id[0].clone()]
    );
    assert_eq!(
        list(ListFilter {
            service: Some("checkout".into()),
            ..Default::default()
        }),
        [id[3].clone(), id[2].clone(), id[0].clone()]
    );
    assert_eq!(
        list(ListFilter {
            result: Some("fail".into()),
            ..Default::default()
        }),
        [id[3].clone(), id[1].clone()]
    );
    assert_eq!(
        list(ListFilter {
            limit: Some(2),
            ..Default::default()
        }),
        [id[3].clone(), id[2].clone()]
    );
    assert!(
        list(ListFilter {
            stage: Some("staging".into()),
            ..Default::default()
        })
        .is_empty()
    );
    assert_eq!(
        list(ListFilter {
            project: Some("shop".into()),
            stage: Some("production".into()),
            service: Some("cart".into()),
            result: Some("fail".into()),
            limit: Some(5),
        }),
        [id[1].clone()]
    );
}

#[test]
fn invalidate_marks_once_and_unknown_ids_say_so() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let id = fill(&mut store, &[("checkout", 10, Verdict::Pass)]);
    assert!(!store.invalidate("no-such-id", None, now()).unwrap());
    assert!(store.invalidate(&id[0], Some("load test"), now()).unwrap());
    let later = now() + Duration::hours(1);
    assert!(store.invalidate(&id[0], Some("other"), later).unwrap());
    let s = store.show(&id[0]).unwrap().unwrap().summary;
    assert!(s.invalidated);
    assert_eq!(s.invalidated_reason.as_deref(), Some("load test"));
    assert_eq!(
        s.invalidated_at.as_deref(),
        Some("2026-11-20T08:00:00.000Z")
    );
    // list still shows it, marked.
    assert!(store.list(&ListFilter::default()).unwrap()[0].invalidated);
}

#[test]
fn lookup_takes_unique_prefixes() {
    let dir = temp();
    let mut store = store_in(dir.path());
    for (i, id) in ["abcd1111", "abcd2222", "ffff0000"].iter().enumerate() {
        let mut doc = serde_json::to_value(report("c", i as i64, Verdict::Pass, 1.0)).unwrap();
        doc["id"] = json!(id);
        store.import(&doc, now()).unwrap();
    }
    assert_eq!(
        store.lookup("ffff0000").unwrap(),
        Lookup::Found("ffff0000".into())
    );
    assert_eq!(
        store.lookup("ffff").unwrap(),
        Lookup::Found("ffff0000".into())
    );
    assert_eq!(
        store.lookup("abcd1").unwrap(),
        Lookup::Found("abcd1111".into())
    );
    assert_eq!(
        store.lookup("abcd").unwrap(),
        Lookup::Ambiguous(vec!["abcd1111".into(), "abcd2222".into()])
    );
    assert_eq!(store.lookup("ff").unwrap(), Lookup::Unknown);
    assert_eq!(store.lookup("zzzz").unwrap(), Lookup::Unknown);
}

// ---------------------------------------------------------------------------------------------
// import and export

fn keptn_events() -> Vec<Value> {
    documents(KEPTN_EVENTS).unwrap()
}

#[test]
fn keptn_events_keep_their_ids_and_import_once() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let events = keptn_events();
    assert_eq!(events.len(), 3);
    let first = store.import(&events[2], now()).unwrap();
    assert_eq!(
        first,
        Imported::Added("3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13".into())
    );
    assert_eq!(
        store.import(&events[2], now()).unwrap(),
        Imported::Existing("3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13".into())
    );
    let found = store
        .show("3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13")
        .unwrap()
        .unwrap();
    let s = &found.summary;
    assert_eq!(s.kind, DocumentKind::Keptn);
    assert_eq!(
        (s.project.as_str(), s.stage.as_str(), s.service.as_str()),
        ("shop", "production", "checkout")
    );
    assert_eq!(s.time_end.as_deref(), Some("2024-03-01T10:00:00.000Z"));
    assert_eq!(
        s.recorded_at, "2024-03-01T10:00:00.000Z",
        "the event's time"
    );
    assert_eq!(s.tool.as_deref(), Some("lighthouse-service"));
    assert_eq!(s.labels.get("buildId").map(String::as_str), Some("7"));
    assert_eq!(found.document, events[2]);
    assert_eq!(found.indicators[0].value, Some(480.0));

    // The rest, and then all again: nothing duplicates.
    let docs: Vec<(String, Value)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (format!("events#{}", i + 1), e.clone()))
        .collect();
    let out = store.import_all(&docs, now()).unwrap();
    assert_eq!(
        out.iter()
            .filter(|o| matches!(o, Imported::Added(_)))
            .count(),
        2
    );
    store.import_all(&docs, now()).unwrap();
    assert_eq!(store.count().unwrap(), 3);

    // Keptn's data.result (fail after an errored retrieval) is the result that is filtered on.
    let errored = store
        .show("5b0e1d2f-0000-4000-8000-0000000000e3")
        .unwrap()
        .unwrap();
    assert_eq!(errored.summary.result, "fail");
    let got = store
        .previous(
            "shop",
            "production",
            "checkout",
            &cmp("several_results", "pass", 5),
        )
        .unwrap();
    assert_eq!(
        ids(&got),
        [
            "4c8d2e3f-0000-4000-8000-0000000000e2",
            "3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13"
        ]
    );
}

#[test]
fn keptn_data_without_id_gets_a_stable_content_id() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let data = keptn_events()[2]["data"].clone();
    let Imported::Added(id) = store.import(&data, now()).unwrap() else {
        panic!("not added")
    };
    assert_eq!(
        store.import(&data, now() + Duration::days(1)).unwrap(),
        Imported::Existing(id.clone())
    );
    assert_eq!(id, document::content_id(&data));
    assert_eq!(&id[14..15], "8", "UUID version 8: {id}");
}

#[test]
fn keptn_invalidations_apply_in_either_order() {
    let invalidated: Value = serde_json::from_str(KEPTN_INVALIDATED).unwrap();
    let target = "4c8d2e3f-0000-4000-8000-0000000000e2";
    let newest_pass = |store: &Store| {
        ids(&store
            .previous(
                "shop",
                "production",
                "checkout",
                &cmp("single_result", "pass", 1),
            )
            .unwrap())
    };

    // Evaluation first, then its invalidation.
    let dir = temp();
    let mut store = store_in(dir.path());
    for e in keptn_events() {
        store.import(&e, now()).unwrap();
    }
    assert_eq!(newest_pass(&store), [target]);
    assert_eq!(
        store.import(&invalidated, now()).unwrap(),
        Imported::Invalidation {
            triggered_id: "a1b2c3d4-0000-4000-8000-0000000000b2".into(),
            matched: 1
        }
    );
    assert_eq!(
        newest_pass(&store),
        ["3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13"]
    );
    let s = store.show(target).unwrap().unwrap().summary;
    assert_eq!(
        s.invalidated_at.as_deref(),
        Some("2024-03-02T09:00:00.000Z")
    );

    // Invalidation first: kept, applied when the evaluation arrives.
    let dir = temp();
    let mut store = store_in(dir.path());
    assert_eq!(
        store.import(&invalidated, now()).unwrap(),
        Imported::Invalidation {
            triggered_id: "a1b2c3d4-0000-4000-8000-0000000000b2".into(),
            matched: 0
        }
    );
    for e in keptn_events() {
        store.import(&e, now()).unwrap();
    }
    assert_eq!(
        newest_pass(&store),
        ["3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13"]
    );
    assert!(store.show(target).unwrap().unwrap().summary.invalidated);
}

#[test]
fn export_and_import_round_trip_losslessly() {
    let dir = temp();
    let mut a = Store::open(&dir.path().join("a.sqlite")).unwrap();
    let id = fill(
        &mut a,
        &[
            ("checkout", 10, Verdict::Pass),
            ("checkout", 20, Verdict::Fail),
        ],
    );
    for e in keptn_events() {
        a.import(&e, now()).unwrap();
    }
    a.invalidate(&id[1], Some("bad deploy"), now()).unwrap();
    // An invalidation whose evaluation is not in the store travels along as well.
    let mut orphan: Value = serde_json::from_str(KEPTN_INVALIDATED).unwrap();
    orphan["triggeredid"] = json!("not-here");
    a.import(&orphan, now()).unwrap();

    let mut first = Vec::new();
    assert_eq!(a.export(&mut first).unwrap(), 6);
    let text = String::from_utf8(first.clone()).unwrap();

    let mut b = Store::open(&dir.path().join("b.sqlite")).unwrap();
    let docs: Vec<(String, Value)> = documents(&text)
        .unwrap()
        .into_iter()
        .map(|d| ("export".to_string(), d))
        .collect();
    b.import_all(&docs, now() + Duration::days(3)).unwrap();
    let mut second = Vec::new();
    b.export(&mut second).unwrap();
    assert_eq!(String::from_utf8(second).unwrap(), text);
    assert_eq!(
        b.list(&ListFilter::default()).unwrap(),
        a.list(&ListFilter::default()).unwrap()
    );
    // Importing the export into its own store changes nothing.
    a.import_all(&docs, now()).unwrap();
    assert_eq!(a.count().unwrap(), 5);

    // Export lines are what `--previous` reads too: id and invalidation included.
    let lines = documents(&text).unwrap();
    let line = lines.iter().find(|l| l["id"] == json!(id[1])).unwrap();
    let p = previous::from_json(line, "x").unwrap();
    assert_eq!(p.id, id[1]);
    assert!(p.invalidated);
    let keptn_line = lines
        .iter()
        .find(|l| l["id"] == "3f9a2c1e-7b4d-4e8f-9a61-2d5c8b7e0f13")
        .unwrap();
    assert_eq!(keptn_line["data"]["invalidated"], json!(false));
    assert_eq!(keptn_line["type"], "sh.keptn.event.evaluation.finished");
}

#[test]
fn documents_reads_every_file_form() {
    assert_eq!(documents("{\"a\": 1}").unwrap(), [json!({"a": 1})]);
    assert_eq!(documents("[{\"a\": 1}, {\"a\": 2}]").unwrap().len(), 2);
    assert_eq!(documents("{\"a\": 1}\n\n{\"a\": 2}\n").unwrap().len(), 2);
    assert_eq!(
        documents("{\"events\": [{\"a\": 1}], \"totalCount\": 1}").unwrap(),
        [json!({"a": 1})]
    );
    assert_eq!(documents(KEPTN_EVENTS).unwrap().len(), 3);
    assert!(documents("  \n").unwrap_err().contains("empty"));
    assert!(documents("nope").unwrap_err().starts_with("not JSON"));
    assert!(
        documents("{\"a\": 1}\n{oops\n")
            .unwrap_err()
            .starts_with("line 2")
    );
}

#[test]
fn bad_documents_are_refused_and_nothing_of_the_batch_is_stored() {
    let dir = temp();
    let mut store = store_in(dir.path());
    let good = serde_json::to_value(report("checkout", 10, Verdict::Pass, 1.0)).unwrap();
    let cases: &[(Value, &str)] = &[
        (json!([1]), "expected a JSON object"),
        (
            json!({"type": "sh.keptn.event.deployment.finished", "data": {}}),
            "is not an evaluation",
        ),
        (json!({"score": 1}), "missing `result`"),
        (json!({"result": "great"}), "`result` is `great`"),
        (
            json!({"result": "pass", "timeEnd": "yesterday"}),
            "`timeEnd` is not an RFC 3339 time",
        ),
        (
            json!({"result": "pass", "labels": [1]}),
            "`labels` must be an object",
        ),
        (
            json!({"result": "pass", "id": 5}),
            "`id` must be a non-empty string",
        ),
        (
            json!({"reportVersion": 1, "result": "pass"}),
            "not a valid slogate report",
        ),
        (
            json!({"type": "sh.keptn.event.evaluation.invalidated", "data": {}}),
            "needs `triggeredid`",
        ),
    ];
    for (doc, want) in cases {
        let batch = vec![
            ("good.json".to_string(), good.clone()),
            ("bad.json#2".to_string(), doc.clone()),
        ];
        let err = store.import_all(&batch, now()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let msg = err.to_string();
        assert!(
            msg.starts_with("bad.json#2: ") && msg.contains(want),
            "{msg}"
        );
        assert_eq!(store.count().unwrap(), 0, "all or nothing");
    }
    // The minimal form is an evaluation too.
    assert!(matches!(
        store
            .import(&json!({"result": "pass", "score": 100}), now())
            .unwrap(),
        Imported::Added(_)
    ));
}

// ---------------------------------------------------------------------------------------------
// Where the store is

#[test]
fn resolve_path_prefers_flag_then_env_then_setting_then_default() {
    let root = Path::new("slo");
    let mut env = BTreeMap::new();
    assert_eq!(
        resolve_path(None, &env, None, root),
        HistoryLocation::Default(PathBuf::from("slo/.slogate/history.sqlite"))
    );
    assert_eq!(
        default_path(root),
        PathBuf::from("slo/.slogate/history.sqlite")
    );
    assert_eq!(
        resolve_path(None, &env, Some("h/history.db"), root),
        HistoryLocation::File(PathBuf::from("slo/h/history.db")),
        "relative to the config root"
    );
    env.insert(ENV_VAR.to_string(), "/var/lib/slogate.sqlite".to_string());
    assert_eq!(
        resolve_path(None, &env, Some("h.db"), root),
        HistoryLocation::File(PathBuf::from("/var/lib/slogate.sqlite"))
    );
    assert_eq!(
        resolve_path(Some(Path::new("mine.sqlite")), &env, Some("h.db"), root),
        HistoryLocation::File(PathBuf::from("mine.sqlite"))
    );
    assert_eq!(
        resolve_path(Some(Path::new("dynatrace")), &env, None, root),
        HistoryLocation::Dynatrace
    );
    assert_eq!(
        resolve_path(Some(Path::new("./dynatrace")), &env, None, root),
        HistoryLocation::File(PathBuf::from("./dynatrace"))
    );
    env.insert(ENV_VAR.to_string(), "Dynatrace".to_string());
    assert_eq!(
        resolve_path(None, &env, None, root),
        HistoryLocation::Dynatrace
    );
    env.insert(ENV_VAR.to_string(), " ".to_string());
    assert_eq!(
        resolve_path(None, &env, Some("dynatrace"), root),
        HistoryLocation::Dynatrace
    );
    assert_eq!(HistoryLocation::Dynatrace.path(), None);
    assert!(HistoryLocation::Dynatrace.open().is_none());
}

#[test]
fn the_default_location_creates_its_folder_an_explicit_one_does_not() {
    let dir = temp();
    let path = default_path(dir.path());
    let mut store = HistoryLocation::Default(path.clone())
        .open()
        .unwrap()
        .unwrap();
    store
        .record(&report("checkout", 1, Verdict::Pass, 1.0), now())
        .unwrap();
    assert!(path.is_file());

    let missing = dir.path().join("nope").join("history.sqlite");
    let err = HistoryLocation::File(missing.clone())
        .open()
        .unwrap()
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("does not exist"), "{msg}");
    // The default does not invent a config root either.
    let err = Store::open_default(&default_path(&dir.path().join("no-root")))
        .err()
        .unwrap();
    assert!(matches!(err, HistoryError::Open { .. }), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Safety: unusable stores

fn open_err(path: &Path) -> HistoryError {
    match Store::open(path) {
        Ok(_) => panic!("{} opened", path.display()),
        Err(e) => e,
    }
}

fn assert_names(err: &HistoryError, path: &Path, reason: &str) {
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "no path in: {msg}"
    );
    assert!(msg.contains(reason), "no `{reason}` in: {msg}");
    assert_eq!(err.exit_code(), 3, "{msg}");
    let p = err.problem();
    assert_eq!(p.message, msg);
    assert_eq!(p.file_name, "history");
}

#[test]
fn a_directory_at_the_path_is_an_error() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    std::fs::create_dir(&path).unwrap();
    let err = open_err(&path);
    assert!(matches!(err, HistoryError::Open { .. }));
    assert_names(&err, &path, "is a directory");
}

#[test]
fn a_file_that_is_not_sqlite_is_an_error_and_stays_untouched() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    let text = "this is my shopping list, not a database\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = open_err(&path);
    assert!(matches!(err, HistoryError::Corrupt { .. }), "{err}");
    assert_names(&err, &path, "not a database");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn another_programs_database_is_refused() {
    let dir = temp();
    let path = dir.path().join("app.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch("CREATE TABLE users (name TEXT); INSERT INTO users VALUES ('x');")
        .unwrap();
    drop(conn);
    let err = open_err(&path);
    assert!(matches!(err, HistoryError::Corrupt { .. }), "{err}");
    assert_names(&err, &path, "other tables (users)");
    // Left as it was, journal mode included.
    let conn = Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    let n: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn a_store_from_a_newer_slogate_is_refused() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    drop(Store::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", schema::latest() + 1)
        .unwrap();
    drop(conn);
    let err = open_err(&path);
    assert!(matches!(err, HistoryError::Newer { .. }), "{err}");
    assert_names(&err, &path, "newer slogate");
}

#[test]
fn a_location_that_cannot_be_written_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp();
    let ro = dir.path().join("read-only");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root ignores permissions: then use a place nobody can create files in.
    let probe = ro.join("probe");
    let path = if std::fs::write(&probe, "x").is_ok() {
        PathBuf::from("/proc/self/slogate-history.sqlite")
    } else {
        ro.join("history.sqlite")
    };
    let err = open_err(&path);
    assert!(matches!(err, HistoryError::Open { .. }), "{err}");
    assert_names(&err, &path, "unable to open database file");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_fresh_store_has_its_schema_version_and_mark() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    let store = Store::open(&path).unwrap();
    let v: i64 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, schema::latest());
    let app: i64 = store
        .conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app, schema::APPLICATION_ID);
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: bool = store
        .conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fk);
    drop(store);
    // Opening again migrates nothing and keeps the data.
    let mut store = Store::open(&path).unwrap();
    store
        .record(&report("c", 1, Verdict::Pass, 1.0), now())
        .unwrap();
    drop(store);
    assert_eq!(Store::open(&path).unwrap().count().unwrap(), 1);
}

#[test]
fn errors_map_to_exit_codes_and_diagnostics() {
    let e = HistoryError::Write {
        path: "/x/h.sqlite".into(),
        reason: "disk I/O error".into(),
    };
    assert_eq!(
        e.to_string(),
        "cannot write the history store /x/h.sqlite: disk I/O error"
    );
    assert_eq!(e.exit_code(), 3);
    assert_eq!(e.problem().code, "slogate::history");
    let e = HistoryError::BadDocument {
        what: "a.json#2".into(),
        reason: "missing `result`".into(),
    };
    assert_eq!(e.to_string(), "a.json#2: missing `result`");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(e.problem().code, "slogate::bad-history-input");
}

// ---------------------------------------------------------------------------------------------
// Safety: concurrent writers

fn assert_sound(path: &Path, rows: usize) {
    let store = Store::open(path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), Vec::<String>::new());
    assert_eq!(store.count().unwrap(), rows);
    let indicators: i64 = store
        .conn
        .query_row("SELECT count(*) FROM indicators", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        indicators as usize,
        rows * 4,
        "every evaluation has its 4 values"
    );
}

/// Writer `w`'s `i`-th report: unique across writers.
fn writer_report(w: u64, i: u64) -> Report {
    report(
        &format!("svc-{w}"),
        i as i64,
        Verdict::Pass,
        (w * 1000 + i) as f64,
    )
}

#[test]
fn twenty_concurrent_writers_lose_nothing() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    // All start together on a file that does not exist yet: creation and migration race too.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
    let handles: Vec<_> = (0..20u64)
        .map(|w| {
            let path = path.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut store = Store::open(&path).unwrap();
                for i in 0..10 {
                    store.record(&writer_report(w, i), now()).unwrap();
                    // Readers run alongside writers.
                    store
                        .previous(
                            "shop",
                            "production",
                            &format!("svc-{w}"),
                            &cmp("", "all", 0),
                        )
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_sound(&path, 200);
    let store = Store::open(&path).unwrap();
    for w in 0..20 {
        let got = store
            .previous(
                "shop",
                "production",
                &format!("svc-{w}"),
                &cmp("several_results", "all", 100),
            )
            .unwrap();
        assert_eq!(got.len(), 10);
    }
}

fn child(kind: &str, path: &Path, seed: u64) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "history::tests::child_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, kind)
    .env(CHILD_PATH, path)
    .env(CHILD_SEED, seed.to_string())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    cmd
}

/// Not a test of its own: the body of the child processes the tests below start. Without
/// `SLOGATE_HISTORY_TEST_CHILD` it does nothing.
#[test]
fn child_process() {
    let Ok(kind) = std::env::var(CHILD) else {
        return;
    };
    let path = PathBuf::from(std::env::var(CHILD_PATH).unwrap());
    let seed: u64 = std::env::var(CHILD_SEED).unwrap().parse().unwrap();
    let mut store = Store::open(&path).unwrap();
    match kind.as_str() {
        // Ten reports, as one `gate` process per report would.
        "writer" => {
            for i in 0..10 {
                store.record(&writer_report(seed, i), now()).unwrap();
            }
        }
        // Three committed reports, then killed in the middle of the fourth transaction.
        "abort" => {
            for i in 0..3 {
                store.record(&writer_report(seed, i), now()).unwrap();
            }
            let tx = store
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .unwrap();
            for i in 3..50 {
                let doc = serde_json::to_value(writer_report(seed, i)).unwrap();
                let document::Parsed::Evaluation(row) = document::parse(&doc, now()).unwrap()
                else {
                    unreachable!()
                };
                insert(&tx, &row).unwrap();
            }
            std::process::abort();
        }
        // Records until killed from outside.
        "endless" => {
            // Bounded, in case the parent dies before it kills this one.
            for i in 0..20_000 {
                store.record(&writer_report(seed, i), now()).unwrap();
            }
        }
        other => panic!("unknown child {other}"),
    }
}

#[test]
fn twenty_concurrent_processes_lose_nothing() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    let children: Vec<_> = (0..20)
        .map(|w| child("writer", &path, w).spawn().unwrap())
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_sound(&path, 200);
}

#[test]
fn a_writer_killed_mid_transaction_leaves_the_committed_store() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    let status = child("abort", &path, 1).status().unwrap();
    assert!(!status.success(), "the child was meant to abort");
    // Its committed rows are in the WAL (never checkpointed): they must be read back.
    assert!(dir.path().join("history.sqlite-wal").exists());
    assert_sound(&path, 3);
    // And the store takes writes again.
    let mut store = Store::open(&path).unwrap();
    store.record(&writer_report(2, 0), now()).unwrap();
    assert_sound(&path, 4);
}

#[test]
fn a_writer_killed_at_any_moment_leaves_a_sound_store() {
    let dir = temp();
    let path = dir.path().join("history.sqlite");
    for round in 0..3u64 {
        let before = if path.exists() {
            Store::open(&path).unwrap().count().unwrap()
        } else {
            0
        };
        let mut c = child("endless", &path, 100 + round).spawn().unwrap();
        // Kill it once it is busy writing, at a moment that differs from round to round.
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(60) {
            std::thread::sleep(std::time::Duration::from_millis(10));
            if path.exists() && Store::open(&path).unwrap().count().unwrap() >= before + 5 {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(fastrand::u64(1..40)));
        c.kill().unwrap(); // SIGKILL: no destructor, no rollback
        c.wait().unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(store.integrity_check().unwrap(), Vec::<String>::new());
        let rows = store.count().unwrap();
        drop(store);
        assert_sound(&path, rows);
    }
    assert!(Store::open(&path).unwrap().count().unwrap() > 0);
}
