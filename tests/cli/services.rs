//! Each selected service is evaluated on its own: one that cannot be evaluated never hides
//! another's verdict, and the run tells the worst outcome (docs/outcomes.md).

use crate::pipeline::{TOKEN, mark, sim_with};
use crate::support::{Slogate, examples};

#[test]
fn a_service_without_a_deployment_event_does_not_hide_another_services_regression() {
    let sim = sim_with(|_| {});
    // Only checkout (the demo's default service) has a deployment event.
    mark(&sim);
    let dir = tempfile::tempdir().unwrap();
    let outputs = dir.path().join("github_output");
    let out = Slogate::new()
        .current_dir(dir.path())
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", outputs.to_str().unwrap())
        .args(["gate", "--config"])
        .arg(examples().join("demo"))
        .args([
            "--service",
            "checkout",
            "--service",
            "cart",
            "--since-deployment",
            // No event is on its way: do not wait for one.
            "--event-wait",
            "0s",
            "--timeframe",
            "25m",
            "--report-dir",
            "reports",
        ])
        .run();
    // checkout's regression decides: fail beats error.
    out.assert_no_panic()
        .assert_code(1)
        .assert_stderr_contains("could not evaluate: cart: no deployment found");
    let read = |p: &str| std::fs::read_to_string(dir.path().join("reports").join(p)).unwrap();
    let json = |p: &str| -> serde_json::Value { serde_json::from_str(&read(p)).unwrap() };
    let checkout = json("checkout/report.json");
    assert_eq!(checkout["result"], "fail", "{checkout:#}");
    assert!(checkout["deployment"]["eventId"].is_string());
    let cart = json("cart/report.json");
    assert_eq!(cart["result"], "error", "{cart:#}");
    let cause = cart["error"].as_str().unwrap();
    assert!(
        cause.starts_with("no deployment found") && cause.contains("keptn_service:cart"),
        "{cause}"
    );
    // cart's JUnit says why, as an error, never a failure.
    let junit = read("cart/junit.xml");
    assert!(
        junit.contains("<error") && junit.contains("no deployment found"),
        "{junit}"
    );
    assert!(!junit.contains("<failure"), "{junit}");
    assert!(read("checkout/junit.xml").contains("<failure"));
    // Both in the combined reports, in the order given.
    let all = json("reports.json");
    let services: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["checkout", "cart"]);
    // The pipeline: one outcome, the worst; an annotation per service.
    let vars = std::fs::read_to_string(&outputs).unwrap();
    let results: Vec<&str> = vars
        .lines()
        .filter_map(|l| l.strip_prefix("result="))
        .collect();
    assert_eq!(results, ["fail"], "{vars}");
    assert!(
        out.stdout.lines().any(|l| l
            .starts_with("::error title=slogate (cart)::COULD NOT EVALUATE: no deployment found")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.starts_with("::error title=slogate (checkout)::FAIL")),
        "{}",
        out.stdout
    );
}

#[test]
fn no_service_with_a_deployment_event_is_error_with_each_cause() {
    let sim = sim_with(|_| {});
    let out = Slogate::new()
        .env("DT_URL", sim.url())
        .env("DT_API_TOKEN", TOKEN)
        .args(["gate", "--ci", "none", "--config"])
        .arg(examples().join("demo"))
        .args([
            "--service",
            "checkout",
            "--service",
            "cart",
            "--since-deployment",
            // No event is on its way: do not wait for one.
            "--event-wait",
            "0s",
            "--timeframe",
            "25m",
        ])
        .run();
    out.assert_no_panic()
        .assert_code(3)
        .assert_stderr_contains("keptn_service:checkout")
        .assert_stderr_contains("keptn_service:cart");
}
