//! Dashboard mode end to end: `eval`, `gate`, `dashboard export` and `lint --dashboard` against
//! the simulator serving the example's KQG dashboard (slo-examples/dashboard).

use dtsim::{BlockingSim, start_blocking};
use serde_json::{Value, json};

use crate::support::{Slogate, examples};

const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";
const BEFORE: (&str, &str) = ("2026-11-17T09:00:00Z", "2026-11-17T10:00:00Z");

fn scenario() -> Value {
    let text = std::fs::read_to_string(examples().join("dashboard/scenario.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn sim_of(v: &Value) -> BlockingSim {
    start_blocking(dtsim::scenario_from_json(&v.to_string()).unwrap()).unwrap()
}

fn run(sim: &BlockingSim, config: &std::path::Path, args: &[&str]) -> Slogate {
    Slogate::new()
        .args(args)
        .arg("--config")
        .arg(config)
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
}

fn eval_json(sim: &BlockingSim, config: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let out = run(
        sim,
        config,
        &[
            "eval", "--from", BEFORE.0, "--to", BEFORE.1, "--format", "json", "--ci", "none",
        ],
    )
    .args(extra)
    .run();
    out.assert_no_panic();
    (out.code, out.json())
}

fn indicator<'a>(report: &'a Value, metric: &str) -> &'a Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"]["metric"] == metric)
        .unwrap_or_else(|| panic!("no indicator {metric} in {report}"))
}

#[test]
fn every_tile_type_becomes_an_indicator_named_after_its_tile() {
    let sim = sim_of(&scenario());
    let (code, report) = eval_json(&sim, &examples().join("dashboard"), &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["result"], "pass");
    let names: Vec<&str> = report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"]["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "response_time_p95",
            "rt_by_service_checkout",
            "rt_by_service_cart",
            "error_rate",
            "checkout_availability",
            "problems",
            "sessions"
        ]
    );
    // Data Explorer: the µs metric converted to ms by the tile's unit.
    let p95 = indicator(&report, "response_time_p95");
    let v = p95["value"]["value"].as_f64().unwrap();
    assert!((400.0..560.0).contains(&v), "{v}");
    assert_eq!(p95["keySli"], true);
    assert_eq!(p95["weight"], 2);
    assert_eq!(
        p95["tile"],
        json!({"index": 1, "title": "Response time P95;sli=response_time_p95;pass=<=+10%,<600;warning=<=800;key=true;weight=2", "type": "DATA_EXPLORER"})
    );
    assert!(
        p95["query"]
            .as_str()
            .unwrap()
            .contains("toUnit%28MicroSecond%2CMilliSecond%29")
    );
    // One SLI per series, criteria from the visual thresholds.
    let cart = indicator(&report, "rt_by_service_cart");
    assert_eq!(cart["displayName"], "Response time by service (cart)");
    assert_eq!(cart["passTargets"][1]["criteria"], "<400000.000000");
    // Custom chart, SLO tile, problems tile (key objective), USQL (informational).
    assert_eq!(
        indicator(&report, "error_rate")["tile"]["type"],
        "CUSTOM_CHARTING"
    );
    assert_eq!(
        indicator(&report, "checkout_availability")["value"]["value"],
        99.95
    );
    assert_eq!(indicator(&report, "problems")["keySli"], true);
    assert_eq!(indicator(&report, "sessions")["value"]["value"], 4711.0);
    assert_eq!(report["slo"]["passThreshold"], "90%");
}

#[test]
fn the_window_after_a_regression_is_worse_than_the_window_before() {
    let sim = sim_of(&scenario());
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &[
            "gate",
            "--deployment-time",
            "2026-11-17T10:00:00Z",
            "--timeframe",
            "1h",
            "--delay",
            "0s",
            "--baseline",
            "window",
            "--format",
            "json",
            "--ci",
            "none",
        ],
    )
    .run();
    out.assert_no_panic();
    let report = out.json();
    assert_eq!(report["result"], "warning", "{report}");
    let p95 = indicator(&report, "response_time_p95");
    assert_eq!(p95["status"], "warning");
    assert!(p95["changePercent"].as_f64().unwrap() > 30.0);
    assert_eq!(indicator(&report, "rt_by_service_cart")["status"], "pass");
}

#[test]
fn exported_files_evaluate_to_the_same_values_and_lint_clean() {
    let sim = sim_of(&scenario());
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &["dashboard", "export", "--from", BEFORE.0, "--to", BEFORE.1],
    )
    .arg("--out")
    .arg(dir.path())
    .run();
    out.assert_code(0).assert_stderr_contains("7 objectives");
    std::fs::copy(
        examples().join("dashboard/slogate.yaml"),
        dir.path().join("slogate.yaml"),
    )
    .unwrap();
    Slogate::new()
        .arg("lint")
        .arg(dir.path())
        .run()
        .assert_code(0);
    let (_, from_dashboard) = eval_json(&sim, &examples().join("dashboard"), &[]);
    let (code, from_files) = eval_json(&sim, dir.path(), &[]);
    assert_eq!(code, 0, "{from_files}");
    for r in from_dashboard["indicatorResults"].as_array().unwrap() {
        let m = r["value"]["metric"].as_str().unwrap();
        let f = indicator(&from_files, m);
        assert_eq!(f["value"]["value"], r["value"]["value"], "{m}");
        assert_eq!(f["status"], r["status"], "{m}");
    }
    assert_eq!(from_files["score"], from_dashboard["score"]);
}

#[test]
fn export_json_is_the_slo_as_keptn_stored_it() {
    let sim = sim_of(&scenario());
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &[
            "dashboard",
            "export",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
            "--format",
            "json",
        ],
    )
    .run();
    out.assert_code(0);
    let doc = out.json();
    assert_eq!(doc["total_score"], json!({"pass": "90%", "warning": "75%"}));
    assert_eq!(doc["comparison"]["include_result_with_score"], "pass");
    let objectives = doc["objectives"].as_array().unwrap();
    assert_eq!(objectives.len(), 7);
    assert_eq!(
        objectives[0]["pass"],
        json!([{"criteria": ["<=+10%", "<600"]}])
    );
    assert_eq!(
        objectives[4]["pass"],
        json!([{"criteria": [">=99.950000"]}])
    );
    assert_eq!(objectives[6]["pass"], json!([]));
}

fn with_tiles(extra: Vec<Value>) -> Value {
    let mut s = scenario();
    let tiles = s["dashboards"][0]["tiles"].as_array_mut().unwrap();
    tiles.extend(extra);
    s["usql"].as_array_mut().unwrap().push(json!({
        "match": "SELECT country, count(*) FROM usersession GROUP BY country",
        "columnNames": ["country", "count(*)"], "values": [["Austria", 12], ["Spain", 30], [7, 1]]}));
    s
}

fn de_tile(title: &str) -> Value {
    json!({"name": title, "tileType": "DATA_EXPLORER", "tileFilter": {},
           "queries": [{"id": "A", "enabled": true}],
           "visualConfig": {"type": "SINGLE_VALUE", "rules": [{"matcher": "A:"}]},
           "metricExpressions": ["resolution=null&builtin:service.errors.total.rate:filter(eq(\"dt.entity.service\",SERVICE-0000000000000001)):merge(\"dt.entity.service\"):avg"]})
}

#[test]
fn title_errors_fail_their_sli_and_skipped_tiles_give_none() {
    let s = with_tiles(vec![
        de_tile("Errors;sli=errors_bad;pass=<1;weight=heavy"),
        de_tile("sli="),
        de_tile("Excluded;sli=excluded;exclude=true"),
        json!({"tileType": "DTAQL", "customName": "Sessions by country;sli=country", "type": "TABLE",
               "query": "SELECT country, count(*) FROM usersession GROUP BY country"}),
    ]);
    let sim = sim_of(&s);
    let (code, report) = eval_json(&sim, &examples().join("dashboard"), &[]);
    assert_eq!(code, 1, "{report}");
    let bad = indicator(&report, "errors_bad");
    assert_eq!(bad["value"]["success"], false);
    assert!(
        bad["value"]["message"]
            .as_str()
            .unwrap()
            .contains("not an integer value: heavy")
    );
    let names: Vec<&str> = report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"]["metric"].as_str().unwrap())
        .collect();
    assert!(
        !names.contains(&"excluded") && !names.contains(&""),
        "{names:?}"
    );
    // USQL table: one SLI per row; a row whose name is no string is a warning of its own.
    assert_eq!(
        indicator(&report, "country_austria")["value"]["value"],
        12.0
    );
    assert_eq!(
        indicator(&report, "country_spain")["displayName"],
        "Sessions by country (Spain)"
    );
    assert_eq!(indicator(&report, "country_3")["value"]["success"], false);
}

#[test]
fn markdown_errors_and_unknown_dashboards_are_invalid_input() {
    let mut s = scenario();
    s["dashboards"][0]["tiles"][0]["markdown"] =
        json!("KQG.Total.Pass=90%;KQG.Compare.Function=p97");
    let sim = sim_of(&s);
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &["eval", "--from", BEFORE.0, "--to", BEFORE.1],
    )
    .run();
    out.assert_code(2)
        .assert_stderr_contains("'kqg.compare.function': p97");

    let sim = sim_of(&scenario());
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &[
            "eval",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
            "--dashboard",
            "00000000-0000-0000-0000-000000000000",
        ],
    )
    .run();
    out.assert_code(2).assert_stderr_contains("(404)");
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &[
            "eval",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
            "--service",
            "cart",
        ],
    )
    .run();
    out.assert_code(2)
        .assert_stderr_contains("no dashboard name matches")
        .assert_stderr_contains("KQG;project=shop;stage=production;service=checkout");
}

#[test]
fn a_token_without_read_config_cannot_evaluate() {
    let sim = sim_of(&scenario());
    let out = run(
        &sim,
        &examples().join("dashboard"),
        &["eval", "--from", BEFORE.0, "--to", BEFORE.1],
    )
    .env("DT_API_TOKEN", "dt0c01.NOCONFIG.TOKEN")
    .run();
    out.assert_code(3).assert_stderr_contains("ReadConfig");
}

#[test]
fn lint_reports_what_upstream_dropped_silently() {
    Slogate::new()
        .args(["lint", "--dashboard"])
        .arg(examples().join("dashboard/dashboard.json"))
        .run()
        .assert_code(0)
        .assert_stderr_contains("0 errors, 0 warnings");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.json");
    let mut d = scenario()["dashboards"][0].clone();
    let tiles = d["tiles"].as_array_mut().unwrap();
    tiles.push(de_tile("Errors;sli=errors;pass<1;wieght=2"));
    tiles.push(de_tile("Error rate;sli=error_rate;pass=<5ms"));
    std::fs::write(&file, serde_json::to_string_pretty(&d).unwrap()).unwrap();
    let out = Slogate::new()
        .args(["lint", "--dashboard"])
        .arg(&file)
        .run();
    out.assert_code(2)
        .assert_stderr_contains("`pass<1` has no `=`")
        .assert_stderr_contains("did you mean `weight=`?")
        .assert_stderr_contains("duplicate SLI name `error_rate`")
        .assert_stderr_contains("invalid criteria value(s): <5ms");
}

#[test]
fn an_unreachable_environment_cannot_evaluate() {
    let out = Slogate::new()
        .args(["eval", "--from", BEFORE.0, "--to", BEFORE.1, "--config"])
        .arg(examples().join("dashboard"))
        .env("DT_URL", "http://127.0.0.1:1")
        .env("DT_API_TOKEN", TOKEN)
        .run();
    out.assert_code(3)
        .assert_stderr_contains("could not retrieve dashboard");
}

#[test]
fn negative_thresholds_stay_absolute() {
    // Thresholds -3 / -2 / -1 (pass below -2): Keptn's `<-2.000000` reads "baseline minus 2" and
    // passed for lack of a baseline. The error rate (a positive number) must miss them.
    let mut tile = de_tile("Negative;sli=negative");
    tile["visualConfig"]["thresholds"] = json!([{"visible": true, "rules": [
        {"value": -3, "color": "#7dc540"}, {"value": -2, "color": "#f5d30f"},
        {"value": -1, "color": "#dc172a"}]}]);
    let s = with_tiles(vec![tile]);
    let sim = sim_of(&s);
    let config = examples().join("dashboard");
    let out = run(
        &sim,
        &config,
        &[
            "dashboard",
            "export",
            "--from",
            BEFORE.0,
            "--to",
            BEFORE.1,
            "--format",
            "json",
        ],
    )
    .run();
    out.assert_code(0);
    let doc = out.json();
    let negative = doc["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["sli"] == "negative")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(
        negative["pass"],
        json!([{"criteria": [">=(-3.000000)", "<(-2.000000)"]}])
    );
    let (_, report) = eval_json(&sim, &config, &[]);
    let r = indicator(&report, "negative");
    assert_eq!(r["status"], "fail", "{r}");
    assert_eq!(r["passTargets"][1]["targetValue"], -2.0, "{r}");
}
