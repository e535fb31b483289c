//! `gate --control-service` / `--control-label`: a canary against its control over the same
//! window, minute by minute, against dtsim's request-level traffic (the two sides share load and
//! drift, as a canary and its control do).

use crate::support::Slogate;
use serde_json::{Value, json};
use std::path::Path;

const TOKEN: &str = "dt0c01.CANARY.TEST";
const DEPLOYED: &str = "2026-01-05T10:00:00Z";

/// A control `checkout` (400 requests a minute) and a canary `checkout-canary` (100), sharing
/// drift and a load ramp; the canary's latency × `factor` from the deployment on. Tagged both as
/// Keptn services and by `version` (v1 control, v2 canary) under one `app:checkout`.
fn sim(factor: f64) -> dtsim::BlockingSim {
    let metric = |unit: &str, agg: &str| json!({"unit": unit, "baseline": {agg: 1}});
    let side = |name: &str, version: &str, i: usize| {
        json!({
            "id": format!("SERVICE-{i:016}"), "name": name,
            "tags": ["keptn_project:shop", "keptn_stage:prod", format!("keptn_service:{name}"),
                     "app:checkout", format!("version:{version}")]
        })
    };
    let traffic = |name: &str, rpm: [f64; 2]| {
        json!({"service": name, "requests_per_minute": rpm, "ramp_minutes": 90,
               "drift_sd": 0.08, "drift_rho": 0.95, "load_exponent": 1.0,
               "shared_noise": "checkout"})
    };
    let scenario = json!({
        "seed": 5,
        "tokens": [{"token": TOKEN, "scopes": ["metrics.read", "entities.read"]}],
        "services": [side("checkout", "v1", 1), side("checkout-canary", "v2", 2)],
        "metrics": {
            "builtin:service.response.time": metric("MicroSecond", "avg"),
            "builtin:service.requestCount.total": metric("Count", "sum"),
            "builtin:service.errors.total.count": metric("Count", "sum"),
            "builtin:service.errors.total.rate": metric("Percent", "avg"),
        },
        "traffic": [traffic("checkout", [200.0, 600.0]), traffic("checkout-canary", [50.0, 150.0])],
        "regressions": [{"service": "checkout-canary", "metric": "builtin:service.response.time",
                         "from": DEPLOYED, "factor": factor}],
    });
    dtsim::start_blocking(dtsim::scenario_from_json(&scenario.to_string()).unwrap()).unwrap()
}

/// `sel`: the entity selector of every SLI.
fn config(dir: &Path, url: &str, sel: &str) {
    let rt = "builtin:service.response.time:merge(\\\"dt.entity.service\\\")";
    let er = "builtin:service.errors.total.rate:merge(\\\"dt.entity.service\\\")";
    std::fs::write(
        dir.join("sli.yaml"),
        format!(
            "spec_version: \"1.0\"\nindicators:\n  response_time_p95: \"metricSelector={rt}:percentile(95)&entitySelector={sel}\"\n  response_time_avg: \"metricSelector={rt}:avg&entitySelector={sel}\"\n  error_rate: \"metricSelector={er}:avg&entitySelector={sel}\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("slo.yaml"),
        "spec_version: \"1.0\"\nobjectives:\n  - sli: response_time_p95\n    pass:\n      - criteria: [\"<=+10%\", \"<600000\"]\n  - sli: response_time_avg\n    pass:\n      - criteria: [\"<=+10%\"]\n  - sli: error_rate\n    pass:\n      - criteria: [\"<=+50%\"]\ntotal_score:\n  pass: \"90%\"\n  warning: \"75%\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("slogate.yaml"),
        format!(
            "dynatrace:\n  url: {url}\n  token_env: CANARY_TOKEN\ndefaults:\n  project: shop\n  stage: prod\n"
        ),
    )
    .unwrap();
}

const KEPTN_SEL: &str =
    "type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),tag(keptn_service:$SERVICE)";

fn gate(dir: &Path, extra: &[&str]) -> crate::support::Output {
    Slogate::new()
        .current_dir(dir)
        .env("CANARY_TOKEN", TOKEN)
        .args([
            "gate",
            "--config",
            ".",
            "--deployment-time",
            DEPLOYED,
            "--timeframe",
            "30m",
            "--settle",
            "0s",
        ])
        .args(if extra.contains(&"--format") {
            &[][..]
        } else {
            &["--format", "json"][..]
        })
        .args(extra)
        .run()
}

fn indicator<'a>(report: &'a Value, sli: &str) -> &'a Value {
    report["indicatorResults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["value"]["metric"] == sli)
        .unwrap()
}

#[test]
fn a_canary_equal_to_its_control_passes() {
    let sim = sim(1.0);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), KEPTN_SEL);
    let out = gate(
        dir.path(),
        &[
            "--service",
            "checkout-canary",
            "--control-service",
            "checkout",
        ],
    );
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(r["result"], "pass", "{r}");
    assert_eq!(r["baselineSelection"]["mode"], "control");
    assert_eq!(
        r["baselineSelection"]["reason"],
        "against control `checkout`, same window"
    );
    // Same window on both sides: no window before the deployment.
    assert!(r.get("baselineWindow").is_none(), "{r}");
    let p95 = indicator(&r, "response_time_p95");
    assert_eq!(p95["baseline"], "control", "{p95}");
    let j = &p95["judge"];
    assert_eq!(j["decision"], "satisfied", "{j}");
    assert!(
        j["summary"]
            .as_str()
            .unwrap()
            .contains("against control `checkout`, same window"),
        "{j}"
    );
    assert!(
        j["method"].as_str().unwrap().contains("paired"),
        "{}",
        j["method"]
    );
    // Both sides were asked for, canary and control, over the evaluation window only.
    let asked: Vec<String> = crate::support::data_requests(&sim)
        .iter()
        .filter_map(|r| r.query.clone())
        .map(|q| {
            q.replace("%3A", ":")
                .replace("%29", ")")
                .replace("%28", "(")
        })
        .collect();
    assert!(asked.iter().any(|u| u.contains("checkout-canary")));
    assert!(
        asked.iter().any(|u| u.contains("keptn_service:checkout)")),
        "{asked:#?}"
    );

    // Every people-facing format says what the canary was compared with.
    for format in ["text", "markdown", "html", "junit"] {
        let out = gate(
            dir.path(),
            &[
                "--service",
                "checkout-canary",
                "--control-service",
                "checkout",
                "--format",
                format,
            ],
        );
        out.assert_no_panic().assert_code(0);
        if format == "text" || format == "markdown" {
            out.assert_stdout_contains("(control)");
        }
        // Markdown escapes the backquotes, HTML encodes them.
        let text = out.stdout.replace('\\', "");
        assert!(
            text.contains("against control `checkout`, same window")
                || text.contains("against control <code>checkout</code>, same window")
                || text.contains("against control &#96;checkout&#96;, same window")
                || text.contains("against control &#x60;checkout&#x60;, same window"),
            "{format}: {text}"
        );
    }
}

#[test]
fn a_canary_half_again_as_slow_fails_and_keptn_mode_is_untouched() {
    let sim = sim(1.5);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), KEPTN_SEL);
    let out = gate(
        dir.path(),
        &[
            "--service",
            "checkout-canary",
            "--control-service",
            "checkout",
        ],
    );
    out.assert_no_panic().assert_code(1);
    let r = out.json();
    assert_eq!(r["result"], "fail", "{r}");
    let p95 = indicator(&r, "response_time_p95");
    assert_eq!(p95["judge"]["decision"], "violated", "{}", p95["judge"]);
    assert_eq!(p95["status"], "fail");

    // The verdict annotation says what the canary was compared with.
    let dir2 = tempfile::tempdir().unwrap();
    let github = Slogate::new()
        .current_dir(dir.path())
        .env("CANARY_TOKEN", TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env(
            "GITHUB_STEP_SUMMARY",
            dir2.path().join("summary.md").to_str().unwrap(),
        )
        .env(
            "GITHUB_OUTPUT",
            dir2.path().join("outputs").to_str().unwrap(),
        )
        .args([
            "gate",
            "--config",
            ".",
            "--deployment-time",
            DEPLOYED,
            "--settle",
            "0s",
            "--service",
            "checkout-canary",
            "--control-service",
            "checkout",
            "--format",
            "text",
        ])
        .run();
    github.assert_no_panic().assert_code(1);
    assert!(
        github
            .stdout
            .lines()
            .any(|l| l.starts_with("::error title=slogate")
                && l.contains("against control `checkout`, same window")),
        "{}",
        github.stdout
    );

    // Without a control, the same canary is a before/after gate as ever.
    let plain = gate(dir.path(), &["--service", "checkout-canary"]);
    plain.assert_no_panic();
    let p = plain.json();
    assert!(p.get("baselineSelection").is_none());
    assert!(p.to_string().find("\"judge\"").is_none());
}

#[test]
fn a_control_split_by_label_fills_the_label_per_side() {
    let sim = sim(1.0);
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &sim.url(),
        "type(SERVICE),tag(app:checkout),tag(version:$LABEL.version)",
    );
    let out = gate(
        dir.path(),
        &["--label", "version=v2", "--control-label", "version=v1"],
    );
    out.assert_no_panic().assert_code(0);
    let r = out.json();
    assert_eq!(r["result"], "pass", "{r}");
    assert_eq!(
        r["baselineSelection"]["reason"],
        "against control `version=v1`, same window"
    );
    let query = indicator(&r, "response_time_p95")["query"].to_string();
    assert!(query.contains("v2") && !query.contains("v1"), "{query}");
}

#[test]
fn a_control_without_data_is_an_error() {
    let sim = sim(1.0);
    let dir = tempfile::tempdir().unwrap();
    config(dir.path(), &sim.url(), KEPTN_SEL);
    let out = gate(
        dir.path(),
        &[
            "--service",
            "checkout-canary",
            "--control-service",
            "nosuch",
        ],
    );
    out.assert_no_panic().assert_code(3);
    let r = out.json();
    assert_eq!(r["result"], "error", "{r}");
    let p95 = indicator(&r, "response_time_p95");
    assert!(
        p95["error"]
            .as_str()
            .unwrap()
            .contains("the control `nosuch` had no value"),
        "{p95}"
    );
}

#[test]
fn bad_control_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // No server is needed: every one stops before a request.
    config(dir.path(), "http://127.0.0.1:9", KEPTN_SEL);
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--service",
                "checkout-canary",
                "--control-service",
                "checkout",
                "--control-label",
                "version=v1",
            ],
            "control",
        ),
        (&["--control-label", "version"], "is not KEY=VALUE"),
        (
            &[
                "--service",
                "checkout-canary",
                "--control-service",
                "checkout",
                "--judge",
                "keptn",
            ],
            "needs the statistical judge",
        ),
        (
            &[
                "--service",
                "checkout-canary",
                "--control-service",
                "checkout",
                "--baseline",
                "history",
            ],
            "earlier evaluations",
        ),
        (
            &["--service", "checkout", "--control-service", "checkout"],
            "both `checkout`",
        ),
        // The SLIs do not use $LABEL.version: the canary would be compared with itself.
        (
            &[
                "--service",
                "checkout-canary",
                "--label",
                "version=v2",
                "--control-label",
                "version=v1",
            ],
            "changes none of the SLI queries",
        ),
        (
            &["--control-label", "version=v1"],
            "needs the canary's own version",
        ),
        (
            &["--label", "version=v1", "--control-label", "version=v1"],
            "both version=v1",
        ),
    ];
    for (flags, says) in cases {
        let out = gate(dir.path(), flags);
        out.assert_no_panic().assert_code(2);
        out.assert_stderr_contains(says);
    }
}
