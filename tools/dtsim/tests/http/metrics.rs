//! Metrics query (§3) and descriptors (§4).

use serde_json::{Value, json};

use crate::client::*;

const NOW: i64 = 1_794_916_800_000;
const MIN: i64 = 60_000;
const RT: &str = "builtin:service.response.time";
const CHECKOUT: &str = "SERVICE-0000000000000001";
const CART: &str = "SERVICE-0000000000000002";

async fn q(u: &str, selector: &str, rest: &str) -> Value {
    let r = get(
        u,
        &format!(
            "/api/v2/metrics/query?metricSelector={}{rest}",
            enc(selector)
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{selector}: {}", r.body);
    r.json()
}

fn series(v: &Value, i: usize) -> &Vec<Value> {
    v["result"][i]["data"].as_array().unwrap()
}

#[tokio::test]
async fn default_shape_per_service_series_and_slot_end_timestamps() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let v = q(&sim.url(), RT, "").await;
    assert_eq!(v["nextPageKey"], Value::Null);
    assert_eq!(v["warnings"], json!([]));
    assert_eq!(v["resolution"], "1m");
    let data = series(&v, 0);
    assert_eq!(data.len(), 3, "one series per service");
    assert_eq!(v["totalCount"], 3);
    let d = &data[0];
    assert_eq!(d["dimensions"], json!([CHECKOUT]));
    assert_eq!(d["dimensionMap"], json!({"dt.entity.service": CHECKOUT}));
    let ts = d["timestamps"].as_array().unwrap();
    assert_eq!(ts.len(), 120);
    assert_eq!(ts[0], NOW - 2 * 60 * MIN + MIN);
    assert_eq!(ts[119], NOW);
    assert_eq!(d["values"].as_array().unwrap().len(), 120);
    // 24 h at 10m: 144 points, the first at from + 10m.
    let v = q(&sim.url(), RT, "&from=now-1d&resolution=10m").await;
    let ts = series(&v, 0)[0]["timestamps"].as_array().unwrap().clone();
    assert_eq!(ts.len(), 144);
    assert_eq!(ts[0], NOW - 24 * 60 * MIN + 10 * MIN);
    assert_eq!(v["resolution"], "10m");
    // Unaligned window: slots are aligned to the resolution, the last may end after `to`.
    let v = q(
        &sim.url(),
        RT,
        &format!(
            "&from={}&to={}&resolution=1h",
            NOW - 150 * MIN,
            NOW - 5 * MIN
        ),
    )
    .await;
    let ts = series(&v, 0)[0]["timestamps"].as_array().unwrap().clone();
    assert_eq!(
        ts,
        vec![json!(NOW - 120 * MIN), json!(NOW - 60 * MIN), json!(NOW)]
    );
    // A bare number is a point count.
    let v = q(&sim.url(), RT, "&from=now-1d&resolution=24").await;
    assert_eq!(v["resolution"], "1h");
    sim.shutdown().await;
}

#[tokio::test]
async fn inf_regression_gap_and_units() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let sel = format!("{RT}:filter(eq(\"dt.entity.service\",\"{CHECKOUT}\"))");
    let v = q(&u, &sel, "&from=2026-11-17T08:00:00Z&resolution=2h").await;
    let vals = series(&v, 0)[0]["values"].as_array().unwrap().clone();
    let (before, after) = (vals[0].as_f64().unwrap(), vals[1].as_f64().unwrap());
    assert!((240_000.0..260_000.0).contains(&before), "{before}");
    let ratio = after / before;
    assert!(
        (1.35..1.45).contains(&ratio),
        "regression factor 1.4, got {ratio}"
    );
    // Inf: one point stamped `to`.
    let v = q(&u, RT, "&resolution=Inf").await;
    for d in series(&v, 0) {
        assert_eq!(d["timestamps"], json!([NOW]));
        assert_eq!(d["values"].as_array().unwrap().len(), 1);
    }
    assert_eq!(v["resolution"], "Inf");
    // Gap: cart's failure rate has no data 11:00–11:10 (slot ends 11:01…11:10).
    let v = q(
        &u,
        "builtin:service.errors.total.rate",
        &format!("&entitySelector={}", enc(&format!("entityId(\"{CART}\")"))),
    )
    .await;
    let d = &series(&v, 0)[0];
    let vals = d["values"].as_array().unwrap();
    let ts = d["timestamps"].as_array().unwrap();
    for (t, x) in ts.iter().zip(vals) {
        let t = t.as_i64().unwrap();
        let in_gap = t > NOW - 60 * MIN && t <= NOW - 50 * MIN;
        assert_eq!(x.is_null(), in_gap, "at {t}");
        if !in_gap {
            let x = x.as_f64().unwrap();
            assert!(
                (0.0..=100.0).contains(&x) && (0.35..0.45).contains(&x),
                "percent {x}"
            );
        }
    }
    // Request count: integers (Count).
    let v = q(&u, "builtin:service.requestCount.total", "&resolution=Inf").await;
    let total = series(&v, 0)[0]["values"][0].as_f64().unwrap();
    assert_eq!(total.fract(), 0.0);
    assert!((130_000.0..160_000.0).contains(&total), "{total}");
    // Future slots are null; no data at all gives [].
    let v = q(&u, RT, "&from=now-10m&to=now%2B10m&resolution=5m").await;
    let vals = series(&v, 0)[0]["values"].as_array().unwrap().clone();
    assert_eq!(vals.len(), 4);
    assert!(vals[0].is_number() && vals[1].is_number() && vals[2].is_null() && vals[3].is_null());
    let v = q(&u, RT, "&entitySelector=type(HOST)").await;
    assert_eq!(series(&v, 0).len(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn transformations() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let inf = "&resolution=Inf";
    let one = |v: &Value| series(v, 0)[0]["values"][0].as_f64().unwrap();
    let base = q(&u, &format!("{RT}:avg"), inf).await;
    let avg_checkout = one(&base);
    // Aggregations pick different baselines.
    let p95 = one(&q(&u, &format!("{RT}:percentile(95)"), inf).await);
    let p50 = one(&q(&u, &format!("{RT}:median"), inf).await);
    let max = one(&q(&u, &format!("{RT}:max"), inf).await);
    let min = one(&q(&u, &format!("{RT}:min"), inf).await);
    let auto = one(&q(&u, &format!("{RT}:auto"), inf).await);
    assert!(
        p95 > avg_checkout && avg_checkout > p50 && max > p95 && min < p50,
        "{min} {p50} {avg_checkout} {p95} {max}"
    );
    assert_eq!(auto, avg_checkout);
    let count = one(&q(&u, &format!("{RT}:count"), inf).await);
    let sum = one(&q(&u, &format!("{RT}:sum"), inf).await);
    assert!(count > 0.0 && sum > count);
    // splitBy(): one series, no dimensions.
    let v = q(&u, &format!("{RT}:splitBy()"), "").await;
    let d = series(&v, 0);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["dimensions"], json!([]));
    assert_eq!(d[0]["dimensionMap"], json!({}));
    // merge("dt.entity.service") is the same; averages are averaged, sums summed.
    let merged = q(&u, &format!("{RT}:merge(\"dt.entity.service\")"), inf).await;
    assert_eq!(series(&merged, 0)[0]["dimensions"], json!([]));
    let per = q(&u, RT, inf).await;
    let vals: Vec<f64> = series(&per, 0)
        .iter()
        .map(|d| d["values"][0].as_f64().unwrap())
        .collect();
    let mean = vals.iter().sum::<f64>() / vals.len() as f64;
    assert!((one(&merged) - mean).abs() < 1e-6);
    let rc = "builtin:service.requestCount.total";
    let per = q(&u, rc, inf).await;
    let total: f64 = series(&per, 0)
        .iter()
        .map(|d| d["values"][0].as_f64().unwrap())
        .sum();
    assert_eq!(one(&q(&u, &format!("{rc}:splitBy()"), inf).await), total);
    // splitBy("dt.entity.service"):names puts the name first.
    let v = q(
        &u,
        &format!("{RT}:splitBy(\"dt.entity.service\"):avg:names"),
        "",
    )
    .await;
    let d = &series(&v, 0)[0];
    assert_eq!(d["dimensions"], json!(["checkout", CHECKOUT]));
    assert_eq!(
        d["dimensionMap"],
        json!({"dt.entity.service.name": "checkout", "dt.entity.service": CHECKOUT})
    );
    let keys: Vec<&String> = d["dimensionMap"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["dt.entity.service.name", "dt.entity.service"]);
    // fold: one point per series; fold(avg) of the 1m series equals the Inf mean.
    let v = q(&u, &format!("{RT}:fold"), "").await;
    for d in series(&v, 0) {
        assert_eq!(d["values"].as_array().unwrap().len(), 1);
        assert_eq!(d["timestamps"], json!([NOW]));
    }
    let folded = one(&q(&u, &format!("{RT}:fold(avg)"), "").await);
    assert!((folded - avg_checkout).abs() / avg_checkout < 1e-9);
    let fmax = one(&q(&u, &format!("{RT}:fold(max)"), "").await);
    assert!(fmax > folded);
    // (X):fold and (X):toUnit(...).
    let v = q(&u, &format!("({RT}:splitBy()):fold"), "").await;
    assert_eq!(v["result"][0]["metricId"], format!("({RT}:splitBy()):fold"));
    assert_eq!(series(&v, 0)[0]["values"].as_array().unwrap().len(), 1);
    let ms = one(&q(
        &u,
        &format!("({RT}:avg):toUnit(MicroSecond,MilliSecond)"),
        inf,
    )
    .await);
    assert!((ms * 1000.0 - avg_checkout).abs() < 1e-6);
    let r = get(
        &u,
        &format!(
            "/api/v2/metrics/query?metricSelector={}",
            enc(&format!("{RT}:toUnit(MicroSecond,Kilo)"))
        ),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["message"],
        "No unit found using the Unit Id: 'Kilo'."
    );
    // filter / limit / sort / default.
    let v = q(
        &u,
        &format!("{RT}:filter(eq(\"dt.entity.service\",\"{CART}\"))"),
        inf,
    )
    .await;
    assert_eq!(series(&v, 0).len(), 1);
    assert_eq!(series(&v, 0)[0]["dimensions"], json!([CART]));
    let v = q(&u, &format!("{RT}:filter(in(\"dt.entity.service\",entitySelector(\"type(SERVICE),tag(~\"keptn_stage:production~\")\")))"), inf).await;
    assert_eq!(series(&v, 0).len(), 2);
    let v = q(
        &u,
        &format!("{RT}:filter(not(eq(\"dt.entity.service\",\"{CART}\"))):limit(1)"),
        inf,
    )
    .await;
    assert_eq!(series(&v, 0).len(), 1);
    let v = q(&u, &format!("{RT}:sort(value(avg,descending))"), inf).await;
    assert_eq!(
        series(&v, 0)[0]["dimensions"],
        json!([CHECKOUT]),
        "the regressed service is slowest"
    );
    let v = q(
        &u,
        &format!("{RT}:sort(value(avg,ascending)):limit(1)"),
        inf,
    )
    .await;
    assert_ne!(series(&v, 0)[0]["dimensions"], json!([CHECKOUT]));
    let v = q(&u, &format!("{RT}:filter(series(avg,gt(300000)))"), inf).await;
    assert_eq!(series(&v, 0).len(), 1);
    let er = "builtin:service.errors.total.rate";
    let sel_cart = format!("&entitySelector={}", enc(&format!("entityId(\"{CART}\")")));
    let v = q(&u, &format!("{er}:default(0)"), &sel_cart).await;
    let vals = series(&v, 0)[0]["values"].as_array().unwrap().clone();
    assert!(vals.iter().all(|x| x.is_number()));
    assert!(vals.iter().any(|x| x.as_f64() == Some(0.0)));
    let v = q(
        &u,
        &format!("{RT}:default(0,always)"),
        "&entitySelector=type(HOST)",
    )
    .await;
    assert_eq!(series(&v, 0).len(), 1);
    // timeshift(-1w): last week's values, reported at this window's timestamps.
    let v = q(&u, &format!("{RT}:timeshift(-1w)"), inf).await;
    assert_eq!(series(&v, 0)[0]["timestamps"], json!([NOW]));
    assert!(one(&v) < avg_checkout / 1.2, "no regression a week ago");
    // sort(dimension) accepted.
    let v = q(
        &u,
        &format!("{RT}:names:sort(dimension(\"dt.entity.service.name\",ascending))"),
        inf,
    )
    .await;
    assert_eq!(series(&v, 0)[0]["dimensions"][0], "cart");
    sim.shutdown().await;
}

#[tokio::test]
async fn batching_selectors_and_errors() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let sel = format!(
        "{RT}:percentile(95):filter(eq(\"dt.entity.service\",\"{CHECKOUT}\")),builtin:service.errors.total.rate:splitBy(),(builtin:service.requestCount.total:splitBy()):fold(sum)"
    );
    let v = q(&u, &sel, "&resolution=Inf").await;
    let r = v["result"].as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        r[0]["metricId"],
        format!("{RT}:percentile(95):filter(eq(\"dt.entity.service\",\"{CHECKOUT}\"))")
    );
    assert_eq!(
        r[1]["metricId"],
        "builtin:service.errors.total.rate:splitBy()"
    );
    assert_eq!(
        r[2]["metricId"],
        "(builtin:service.requestCount.total:splitBy()):fold(sum)"
    );
    // Raw (unencoded) selectors are decoded leniently.
    let raw = format!(
        "/api/v2/metrics/query?metricSelector={RT}:splitBy(\"dt.entity.service\"):avg&entitySelector=type(SERVICE),tag(\"app:checkout\")&mzSelector=mzName(\"prod\")"
    );
    let r = get(&u, &raw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"][0]["data"].as_array().unwrap().len(), 1);
    let r = get(&u, &format!("/api/v2/metrics/query?metricSelector={RT}&entitySelector=type(\"SERVICE\"),entityName.equals(\"cart\")")).await;
    assert_eq!(
        r.json()["result"][0]["data"][0]["dimensions"],
        json!([CART])
    );
    // Per-expression resolution.
    let v = q(&u, &format!("{RT},{RT}"), "&resolution=0:Inf,1:10m").await;
    assert_eq!(series(&v, 0)[0]["timestamps"].as_array().unwrap().len(), 1);
    assert_eq!(series(&v, 1)[0]["timestamps"].as_array().unwrap().len(), 12);
    // Errors.
    let r = get(&u, "/api/v2/metrics/query").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["error"]["constraintViolations"][0],
        json!({"path": "nextPageKey", "message": "expected one of nextPageKey or metricSelector to be specified", "parameterLocation": "QUERY", "location": null})
    );
    let r = get(
        &u,
        "/api/v2/metrics/query?metricSelector=builtin:service.nope",
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], 404);
    for bad in [
        format!("{RT}:bogus"),
        format!("{RT}:splitBy(\"a\""),
        format!("({RT})*(2)"),
        format!("{RT}:percentile(x)"),
    ] {
        let r = get(
            &u,
            &format!("/api/v2/metrics/query?metricSelector={}", enc(&bad)),
        )
        .await;
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(
            r.json()["error"]["message"],
            "Metric selector parse error",
            "{bad}"
        );
    }
    let r = get(
        &u,
        &format!(
            "/api/v2/metrics/query?metricSelector={}",
            enc(&format!("{RT}:value"))
        ),
    )
    .await;
    assert_eq!(
        r.status, 400,
        "value is not an aggregation of response time"
    );
    let r = get(
        &u,
        "/api/v2/metrics/query?metricSelector=builtin:service.requestCount.total:avg",
    )
    .await;
    assert_eq!(
        r.status, 400,
        "avg is not allowed by the scenario's aggregation_types"
    );
    let eleven = [RT; 11].join(",");
    assert_eq!(
        get(
            &u,
            &format!("/api/v2/metrics/query?metricSelector={eleven}")
        )
        .await
        .status,
        400
    );
    assert_eq!(
        get(
            &u,
            &format!("/api/v2/metrics/query?metricSelector={RT}&resolution=7x")
        )
        .await
        .status,
        400
    );
    assert_eq!(
        get(
            &u,
            &format!("/api/v2/metrics/query?metricSelector={RT}&from=now-30d&resolution=1m")
        )
        .await
        .status,
        400
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn same_request_same_body() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let other = dtsim::Sim::start(example()).await.unwrap();
    let target = format!(
        "/api/v2/metrics/query?metricSelector={}&from=now-6h&resolution=5m",
        enc(&format!(
            "{RT}:percentile(95),builtin:service.errors.total.rate"
        ))
    );
    let a = get(&sim.url(), &target).await.body;
    let b = get(&sim.url(), &target).await.body;
    let c = get(&other.url(), &target).await.body;
    assert_eq!(a, b);
    assert_eq!(a, c);
    let mut sc = example();
    sc.seed = 43;
    let third = dtsim::Sim::start(sc).await.unwrap();
    assert_ne!(
        a,
        get(&third.url(), &target).await.body,
        "another seed, other noise"
    );
    sim.shutdown().await;
    other.shutdown().await;
    third.shutdown().await;
}

#[tokio::test]
async fn descriptors() {
    let sim = dtsim::Sim::start(example()).await.unwrap();
    let u = sim.url();
    let r = get(&u, &format!("/api/v2/metrics/{RT}")).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["metricId"], RT);
    assert_eq!(v["unit"], "MicroSecond");
    assert_eq!(v["displayName"], "Response time");
    assert_eq!(v["entityType"], json!(["SERVICE"]));
    assert_eq!(v["defaultAggregation"], json!({"type": "avg"}));
    assert_eq!(
        v["aggregationTypes"],
        json!([
            "auto",
            "avg",
            "count",
            "max",
            "median",
            "min",
            "percentile",
            "sum"
        ])
    );
    assert_eq!(v["dimensionDefinitions"][0]["key"], "dt.entity.service");
    assert_eq!(v["resolutionInfSupported"], true);
    let sel = format!("{RT}:toUnit(MicroSecond,MilliSecond)");
    let r = get(&u, &format!("/api/v2/metrics/{}", enc(&sel))).await;
    assert_eq!(r.json()["unit"], "MilliSecond");
    assert_eq!(r.json()["metricId"], sel);
    assert_eq!(
        get(&u, "/api/v2/metrics/builtin:service.errors.total.rate")
            .await
            .json()["unit"],
        "Percent"
    );
    assert_eq!(
        get(&u, "/api/v2/metrics/builtin:service.requestCount.total")
            .await
            .json()["unit"],
        "Count"
    );
    let r = get(&u, "/api/v2/metrics/builtin:service.nope").await;
    assert_eq!(r.status, 404);
    let r = get(&u, "/api/v2/metrics?metricSelector=builtin:service.*").await;
    assert_eq!(r.json()["totalCount"], 3);
    assert_eq!(r.json()["metrics"].as_array().unwrap().len(), 3);
    let r = get(
        &u,
        "/api/v2/metrics?metricSelector=builtin:service.re*&pageSize=1",
    )
    .await;
    let v = r.json();
    assert_eq!(v["totalCount"], 2);
    let key = v["nextPageKey"].as_str().unwrap().to_string();
    let v2 = get(&u, &format!("/api/v2/metrics?nextPageKey={key}"))
        .await
        .json();
    assert_eq!(
        v2["metrics"][0]["metricId"],
        "builtin:service.response.time"
    );
    assert_eq!(v2["nextPageKey"], Value::Null);
    sim.shutdown().await;
}
