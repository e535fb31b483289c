//! The adaptive request rate against the simulator's environments (tools/dtsim `/e/<id>`):
//! one that throttles beyond 4 requests in flight, one that admits many.

use std::path::Path;

use dtsim::{BlockingSim, start_blocking};
use serde_json::json;

use crate::support::Slogate;

const TOKEN: &str = "dt0c01.RATES.TOKEN";
const SERVICES: usize = 40;

/// `SERVICES` services with 3 metric SLIs each (one request per service), objectives at the
/// stage level, as benches/make_fixtures.py writes them.
fn write_config(dir: &Path) {
    let sel = |m: &str| {
        format!(
            "metricSelector={m}&entitySelector=type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),tag(keptn_service:$SERVICE)"
        )
    };
    let rt = "builtin:service.response.time:merge(\"dt.entity.service\")";
    let slis = [
        ("rt_avg", format!("{rt}:avg")),
        ("rt_p95", format!("{rt}:percentile(95)")),
        ("rt_max", format!("{rt}:max")),
    ];
    let stage = dir.join("production");
    std::fs::create_dir_all(&stage).unwrap();
    let mut sli = String::from("spec_version: \"1.0\"\nindicators:\n");
    let mut slo = String::from("spec_version: \"1.0\"\nobjectives:\n");
    for (name, m) in &slis {
        sli.push_str(&format!("  {name}: {}\n", json!(sel(m))));
        slo.push_str(&format!(
            "  - sli: {name}\n    pass:\n      - criteria: [\"<=600000\"]\n"
        ));
    }
    slo.push_str("total_score:\n  pass: \"90%\"\n  warning: \"75%\"\n");
    std::fs::write(stage.join("sli.yaml"), sli).unwrap();
    std::fs::write(stage.join("slo.yaml"), slo).unwrap();
    std::fs::write(
        dir.join("slogate.yaml"),
        "defaults:\n  project: bench\n  stage: production\n",
    )
    .unwrap();
}

/// The services' data at the root and in two environments: `small` admits 4 requests at a
/// time (429 + `Retry-After: 1` beyond), `large` admits 64; both answer after 20 ms.
fn sim() -> BlockingSim {
    let token =
        json!([{"token": TOKEN, "scopes": ["metrics.read", "problems.read", "events.read"]}]);
    let scenario = json!({
        "seed": 7,
        "now": "2026-11-17T12:00:00Z",
        "tokens": token,
        "services": (0..SERVICES).map(|i| json!({
            "id": format!("SERVICE-{i:016}"), "name": format!("svc{i:04}"),
            "tags": ["keptn_project:bench", "keptn_stage:production", format!("keptn_service:svc{i:04}")],
        })).collect::<Vec<_>>(),
        "metrics": {"builtin:service.response.time": {
            "unit": "MicroSecond", "resolution_inf_supported": true,
            "baseline": {"avg": 250000, "percentile(95)": 480000, "max": 500000}, "noise": 0.05}},
        "environments": {"list": [
            {"id": "small", "tokens": token, "concurrency": 4, "retry_after_s": 1, "latency_ms": 20},
            {"id": "large", "tokens": token, "concurrency": 64, "latency_ms": 20},
        ]},
    });
    start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap()
}

fn eval(dir: &Path, url: String, extra: &[&str]) -> crate::support::Output {
    let mut s = Slogate::new()
        .args(["eval", "--config", "."])
        .args((0..SERVICES).flat_map(|i| ["--service".to_string(), format!("svc{i:04}")]))
        .args([
            "--from",
            "2026-11-17T10:00:00Z",
            "--to",
            "2026-11-17T11:00:00Z",
            "--format",
            "json",
        ])
        .current_dir(dir)
        .env("DT_URL", url)
        .env("DT_API_TOKEN", TOKEN);
    for a in extra {
        s = s.arg(a);
    }
    s.run()
}

/// Per service: (result, score), the verdict whatever the rate.
fn verdicts(out: &crate::support::Output) -> Vec<(String, String)> {
    out.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["result"].to_string(),
                r["evaluationResult"]["score"].to_string(),
            )
        })
        .collect()
}

#[test]
fn a_throttled_environment_backs_off_loses_nothing_and_keeps_the_verdict() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    // The root has no limit: the verdict as it is without throttling.
    let free = eval(dir.path(), sim.url(), &[]);
    free.assert_code(0);
    let out = eval(dir.path(), sim.env_url("small"), &["-v"]);
    out.assert_code(0).assert_no_panic();
    assert_eq!(verdicts(&out), verdicts(&free));
    let st = sim.env_stats("small").unwrap();
    assert!(st.throttled >= 1, "the first wave goes past 4: {st:?}");
    assert!(st.peak_in_flight <= 4);
    // Every request that was throttled came back and was answered: no error, and each 429
    // was followed by a retry.
    let env: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/e/small/"))
        .collect();
    assert!(
        env.iter().all(|r| matches!(r.status, 200 | 429)),
        "{:?}",
        env.iter().map(|r| (r.status, &r.path)).collect::<Vec<_>>()
    );
    // After the first back-off, no more 429s: every 429 was answered in the first second
    // (before the first retry after `Retry-After: 1`).
    let first = env[0].time;
    let last_429 = env
        .iter()
        .filter(|r| r.status == 429)
        .map(|r| r.time)
        .max()
        .unwrap();
    assert!(
        last_429.duration_since(first).unwrap() < std::time::Duration::from_millis(900),
        "429s after the first back-off: {:?}",
        env.iter()
            .map(|r| (r.status, r.time.duration_since(first).unwrap()))
            .collect::<Vec<_>>()
    );
    // Verbose output says so: the halving, then the ceiling each 429 of that first burst
    // tightens, down to what the environment admits.
    out.assert_stderr_contains("throttled (429): backing off, requests in flight at once 16 -> 8")
        .assert_stderr_contains("backing off, requests in flight at once 5 -> 4");
    assert!(out.stderr.contains("retrying in "), "{}", out.stderr);
    let report = &out.json()[0];
    assert!(report["source"]["retries"].as_u64().unwrap() >= 1);
}

#[test]
fn a_fast_environment_gets_more_than_the_start_and_a_ceiling_holds() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path());
    eval(dir.path(), sim.env_url("large"), &[]).assert_code(0);
    let st = sim.env_stats("large").unwrap();
    assert_eq!(st.throttled, 0);
    assert!(
        st.peak_in_flight > 8,
        "the limit grows past its start of 8 while latency stays flat: {st:?}"
    );
    // `--concurrency` is a hard ceiling.
    let sim = self::sim();
    eval(dir.path(), sim.env_url("large"), &["--concurrency", "3"]).assert_code(0);
    let st = sim.env_stats("large").unwrap();
    assert!(st.peak_in_flight <= 3, "{st:?}");
}
