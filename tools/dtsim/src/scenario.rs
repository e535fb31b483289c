//! The scenario file (JSON): what the simulated environment contains.
//!
//! Times may be ISO 8601 strings, epoch milliseconds, or `now…` expressions (resolved against
//! the scenario's `now`, or the real clock when the scenario has none, at load time).

use std::cell::Cell;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::Value;

use crate::faults::Faults;

thread_local! {
    static BASE_NOW: Cell<Option<i64>> = const { Cell::new(None) };
}

fn base_now() -> i64 {
    BASE_NOW
        .with(|c| c.get())
        .unwrap_or_else(crate::time::real_now)
}

fn time_from_value(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| format!("invalid time {n}")),
        Value::String(s) => crate::time::parse_time(s, base_now()),
        other => Err(format!("invalid time {other}")),
    }
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    time_from_value(&v).map_err(D::Error::custom)
}

fn de_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    time_from_value(&v).map(Some).map_err(D::Error::custom)
}

fn de_now<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom("invalid now")),
        Value::String(s) => crate::time::parse_absolute(s)
            .map(Some)
            .map_err(D::Error::custom),
        _ => Err(D::Error::custom("invalid now")),
    }
}

fn one() -> f64 {
    1.0
}

/// The whole simulated environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Scenario {
    /// Seed of the metric noise and of generated ids.
    pub seed: u64,
    /// Fixed "now" (epoch ms). `None`: the real clock.
    #[serde(deserialize_with = "de_now")]
    pub now: Option<i64>,
    pub tokens: Vec<TokenDef>,
    pub oauth_clients: Vec<OAuthClient>,
    pub services: Vec<ServiceDef>,
    pub metrics: BTreeMap<String, MetricDef>,
    pub regressions: Vec<Regression>,
    pub gaps: Vec<Gap>,
    pub slos: Vec<SloDef>,
    /// `normalized` (default): (eval−target)/(100−target)·100; `difference`: eval−target.
    pub slo_error_budget: ErrorBudgetMode,
    pub problems: Vec<ProblemDef>,
    pub security_problems: Vec<SecurityProblemDef>,
    /// Pre-existing events in the ingest shape (`startTime` recommended).
    pub events: Vec<Value>,
    pub dql: Vec<DqlCanned>,
    pub usql: Vec<UsqlCanned>,
    /// Classic dashboards (Config API v1), each as Dynatrace returns it (`id`,
    /// `dashboardMetadata.name`, `tiles`).
    pub dashboards: Vec<Value>,
    /// Maintenance windows: values of `builtin:alerting.maintenance-window` settings objects,
    /// served by `GET /api/v2/settings/objects`.
    pub maintenance_windows: Vec<Value>,
    pub faults: Faults,
    /// Request-level traffic behind the built-in service metrics (see `traffic.rs`).
    pub traffic: Vec<crate::traffic::TrafficDef>,
    /// More environments under `/e/<id>/...` (see `environments.rs`); none: one at the root.
    pub environments: crate::environments::Environments,
    /// How long (real milliseconds) an event ingested through the API stays invisible to
    /// `GET /api/v2/events`: Dynatrace shows new events only after an ingest delay. 0: at once.
    pub event_visibility_delay_ms: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBudgetMode {
    #[default]
    Normalized,
    Difference,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TokenDef {
    pub token: String,
    pub scopes: Vec<String>,
    /// A platform token (`Bearer`, `/platform/...` paths) rather than a classic API token.
    pub platform: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceDef {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    pub management_zones: Vec<String>,
    /// `PROCESS_GROUP` or `HOST` for the entities a service runs on (default `SERVICE`); only
    /// services have metrics.
    pub entity_type: Option<String>,
    /// What this entity runs on (ids or names): a service on its process groups, a process
    /// group on its hosts — Dynatrace's `runsOn` relationship.
    pub runs_on: Vec<String>,
}

impl ServiceDef {
    /// `SERVICE` unless the scenario says otherwise.
    pub fn entity_type(&self) -> &str {
        self.entity_type.as_deref().unwrap_or("SERVICE")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct MetricDef {
    pub unit: String,
    pub display_name: Option<String>,
    /// Default `avg`.
    pub default_aggregation: Option<String>,
    /// Allowed aggregations; default: auto avg count max median min percentile sum (+ value
    /// when the baseline or default names it).
    pub aggregation_types: Option<Vec<String>>,
    pub resolution_inf_supported: bool,
    /// Per-minute baseline per aggregation (`avg`, `percentile(95)`, `sum`, `count`, …).
    pub baseline: BTreeMap<String, f64>,
    /// Relative noise amplitude: value = baseline × (1 + noise·u), u ∈ [-1, 1].
    pub noise: f64,
    /// Restrict the metric to these services (names or ids); default all.
    pub services: Option<Vec<String>>,
}

impl Default for MetricDef {
    fn default() -> MetricDef {
        MetricDef {
            unit: "Unspecified".into(),
            display_name: None,
            default_aggregation: None,
            aggregation_types: None,
            resolution_inf_supported: true,
            baseline: BTreeMap::new(),
            noise: 0.0,
            services: None,
        }
    }
}

/// Values of matching minutes at/after `from` (and before `to`, if given) are multiplied by
/// `factor`. `service`/`metric` absent: all.
#[derive(Debug, Clone, Deserialize)]
pub struct Regression {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(deserialize_with = "de_time")]
    pub from: i64,
    #[serde(default, deserialize_with = "de_opt_time")]
    pub to: Option<i64>,
    #[serde(default = "one")]
    pub factor: f64,
}

/// No data for matching minutes in `[from, to)`.
#[derive(Debug, Clone, Deserialize)]
pub struct Gap {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(deserialize_with = "de_time")]
    pub from: i64,
    #[serde(deserialize_with = "de_time")]
    pub to: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SloDef {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    /// `None`: not evaluated (−1).
    pub evaluated_percentage: Option<f64>,
    pub target: f64,
    pub warning: f64,
    /// `NONE` or an error code; anything but `NONE` gives −1.
    pub error: String,
    pub metric_expression: String,
    pub evaluation_type: String,
    /// The SLO's own timeframe for `timeFrame=CURRENT`, e.g. `-1w`.
    pub timeframe: String,
    pub filter: String,
    pub related_open_problems: u64,
    pub related_total_problems: u64,
    /// `errorBudgetBurnRate.burnRateValue`; `None`: burn rates not enabled on the SLO (the
    /// answer then carries only `burnRateVisualizationEnabled: false`, as Dynatrace's does).
    pub burn_rate: Option<f64>,
    /// `errorBudgetBurnRate.fastBurnThreshold` (Dynatrace's default 10).
    pub fast_burn_threshold: f64,
}

impl Default for SloDef {
    fn default() -> SloDef {
        SloDef {
            id: String::new(),
            name: String::new(),
            description: String::new(),
            enabled: true,
            evaluated_percentage: None,
            target: 99.0,
            warning: 99.5,
            error: "NONE".into(),
            metric_expression:
                "(100)*(builtin:service.errors.server.successCount:splitBy())/(builtin:service.requestCount.server:splitBy())"
                    .into(),
            evaluation_type: "AGGREGATE".into(),
            timeframe: "-1w".into(),
            filter: "type(\"SERVICE\")".into(),
            related_open_problems: 0,
            related_total_problems: 0,
            burn_rate: None,
            fast_burn_threshold: 10.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProblemDef {
    pub display_id: String,
    pub title: String,
    /// Affected service (name or id).
    #[serde(default)]
    pub service: Option<String>,
    /// More affected services.
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default = "default_severity")]
    pub severity: String,
    #[serde(default = "default_impact")]
    pub impact: String,
    #[serde(deserialize_with = "de_time")]
    pub start: i64,
    /// `None`: still open.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub end: Option<i64>,
    /// Root-cause service (name or id).
    #[serde(default)]
    pub root_cause: Option<String>,
    /// Fixed problem id; default derived from the seed.
    #[serde(default)]
    pub problem_id: Option<String>,
    /// Marks the DQL record `dt.davis.is_duplicate`.
    #[serde(default)]
    pub duplicate: bool,
}

fn default_severity() -> String {
    "ERROR".into()
}
fn default_impact() -> String {
    "SERVICES".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SecurityProblemDef {
    pub id: Option<String>,
    pub display_id: String,
    pub status: String,
    pub risk_level: String,
    pub risk_score: f64,
    pub title: String,
    pub vulnerability_type: String,
    pub cve_ids: Vec<String>,
    pub muted: bool,
    pub exposure: String,
    pub package_name: String,
    pub technology: String,
}

impl Default for SecurityProblemDef {
    fn default() -> SecurityProblemDef {
        SecurityProblemDef {
            id: None,
            display_id: String::new(),
            status: "OPEN".into(),
            risk_level: "HIGH".into(),
            risk_score: 7.5,
            title: "Vulnerable component".into(),
            vulnerability_type: "THIRD_PARTY".into(),
            cve_ids: Vec::new(),
            muted: false,
            exposure: "PUBLIC_NETWORK".into(),
            package_name: "org.example:component".into(),
            technology: "JAVA".into(),
        }
    }
}

/// A DQL query answered with fixed records (matched after collapsing whitespace).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DqlCanned {
    #[serde(rename = "match")]
    pub query: String,
    pub records: Vec<Value>,
    /// `types` as returned; default inferred from the records.
    pub types: Option<Value>,
    /// Simulated run time; longer than `requestTimeoutMilliseconds` makes the query async.
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UsqlCanned {
    #[serde(rename = "match")]
    pub query: String,
    #[serde(alias = "column_names", rename = "columnNames")]
    pub column_names: Vec<String>,
    pub values: Vec<Vec<Value>>,
}

impl Scenario {
    /// The scenario's "now" or the real clock.
    pub fn now(&self) -> i64 {
        self.now.unwrap_or_else(crate::time::real_now)
    }

    /// Checks cross references; used by [`scenario_from_json`].
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for s in &self.services {
            if s.id.is_empty() || s.name.is_empty() {
                return Err("services[]: id and name are required".into());
            }
            if !seen.insert(s.id.clone()) {
                return Err(format!("services[]: duplicate id '{}'", s.id));
            }
        }
        let svc_ok = |k: &str| self.services.iter().any(|s| s.id == k || s.name == k);
        for (i, t) in self.traffic.iter().enumerate() {
            t.validate(i)?;
            if let Some(s) = &t.service
                && !svc_ok(s)
            {
                return Err(format!("traffic[{i}]: unknown service '{s}'"));
            }
        }
        for t in &self.tokens {
            if t.token.is_empty() {
                return Err("tokens[]: empty token".into());
            }
        }
        for (k, m) in &self.metrics {
            if m.baseline.is_empty() {
                return Err(format!("metrics.{k}: baseline is empty"));
            }
            if m.noise < 0.0 {
                return Err(format!("metrics.{k}: noise must be >= 0"));
            }
            for s in m.services.iter().flatten() {
                if !svc_ok(s) {
                    return Err(format!("metrics.{k}: unknown service '{s}'"));
                }
            }
            for b in m.baseline.keys() {
                if crate::metrics::Stat::parse_key(b).is_none() {
                    return Err(format!("metrics.{k}: unknown baseline aggregation '{b}'"));
                }
            }
        }
        let refs = self
            .regressions
            .iter()
            .map(|r| ("regressions", &r.service, &r.metric))
            .chain(self.gaps.iter().map(|g| ("gaps", &g.service, &g.metric)));
        for (what, svc, metric) in refs {
            if let Some(s) = svc
                && !svc_ok(s)
            {
                return Err(format!("{what}[]: unknown service '{s}'"));
            }
            if let Some(m) = metric
                && !self.metrics.contains_key(m)
            {
                return Err(format!("{what}[]: unknown metric '{m}'"));
            }
        }
        let mut ids = std::collections::HashSet::new();
        for s in &self.slos {
            if s.id.is_empty() || !ids.insert(s.id.clone()) {
                return Err(format!("slos[]: missing or duplicate id '{}'", s.id));
            }
        }
        for p in &self.problems {
            for s in p
                .service
                .iter()
                .chain(p.services.iter())
                .chain(p.root_cause.iter())
            {
                if !svc_ok(s) {
                    return Err(format!("problems[{}]: unknown service '{s}'", p.display_id));
                }
            }
        }
        for (i, e) in self.events.iter().enumerate() {
            crate::events::parse_ingest(e)
                .map_err(|err| format!("events[{i}]: {}", err.body()["error"]))?;
        }
        self.environments.validate()
    }
}

/// Pre-existing events are in the ingest shape; their times may be `now-…` like every other
/// time in a scenario. An event the API would refuse is an error here, not silently dropped.
fn resolve_events(sc: &mut Scenario, base: i64, at: &str) -> Result<(), String> {
    for (i, e) in sc.events.iter_mut().enumerate() {
        if let Some(o) = e.as_object_mut() {
            for k in ["startTime", "endTime"] {
                if let Some(Value::String(t)) = o.get(k) {
                    let ms = crate::time::parse_time(t, base)
                        .map_err(|m| format!("scenario: {at}events[{i}].{k}: {m}"))?;
                    o.insert(k.into(), Value::from(ms));
                }
            }
        }
        crate::events::parse_ingest(e).map_err(|err| {
            format!(
                "scenario: {at}events[{i}]: {}",
                serde_json::to_string(&err.body()).unwrap_or_default()
            )
        })?;
    }
    Ok(())
}

/// Parses and validates a scenario. Relative times (`now-1h`) are resolved against the
/// scenario's `now` (or the real clock).
pub fn scenario_from_json(text: &str) -> Result<Scenario, String> {
    let raw: Value = serde_json::from_str(text).map_err(|e| format!("scenario: {e}"))?;
    let now = match raw.get("now") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => {
            Some(crate::time::parse_absolute(s).map_err(|e| format!("scenario: now: {e}"))?)
        }
        Some(_) => return Err("scenario: now: expected a timestamp".into()),
    };
    let base = now.unwrap_or_else(crate::time::real_now);
    BASE_NOW.with(|c| c.set(Some(base)));
    let parsed = serde_json::from_value::<Scenario>(raw);
    BASE_NOW.with(|c| c.set(None));
    let mut sc = parsed.map_err(|e| format!("scenario: {e}"))?;
    resolve_events(&mut sc, base, "")?;
    for (i, env) in sc.environments.list.iter_mut().enumerate() {
        if let Some(d) = env.data.as_mut() {
            // An environment's data shares the cluster's clock unless it sets its own.
            d.now = d.now.or(now);
            resolve_events(d, base, &format!("environments.list[{i}].data."))?;
        }
    }
    sc.validate().map_err(|e| format!("scenario: {e}"))?;
    Ok(sc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_example() {
        let text = include_str!("../scenarios/checkout-regression.json");
        let sc = scenario_from_json(text).unwrap();
        assert_eq!(sc.now, Some(1_794_916_800_000));
        assert!(!sc.services.is_empty());
        assert!(sc.metrics.contains_key("builtin:service.response.time"));
    }

    #[test]
    fn scenario_events_take_relative_times_and_bad_ones_are_errors() {
        let sc = scenario_from_json(
            r#"{"now":"2026-11-17T12:00:00Z","events":[{"eventType":"CUSTOM_DEPLOYMENT","title":"d","startTime":"now-30m"}]}"#,
        )
        .unwrap();
        assert_eq!(
            sc.events[0]["startTime"].as_i64(),
            Some(crate::time::parse_absolute("2026-11-17T11:30:00Z").unwrap())
        );
        let e = scenario_from_json(r#"{"events":[{"eventType":"NOPE","title":"d"}]}"#).unwrap_err();
        assert!(e.starts_with("scenario: events[0]"), "{e}");
        let e = scenario_from_json(
            r#"{"events":[{"eventType":"CUSTOM_INFO","title":"d","startTime":"yesterday"}]}"#,
        )
        .unwrap_err();
        assert!(e.contains("events[0].startTime"), "{e}");
    }

    #[test]
    fn relative_times_and_errors() {
        let sc = scenario_from_json(
            r#"{"now":"2026-11-17T12:00:00Z","services":[{"id":"S-1","name":"a"}],
                "metrics":{"m":{"baseline":{"avg":1}}},
                "regressions":[{"service":"a","metric":"m","from":"now-1h","factor":2}]}"#,
        )
        .unwrap();
        assert_eq!(sc.regressions[0].from, 1_794_916_800_000 - 3_600_000);
        assert!(scenario_from_json(r#"{"regressions":[{"service":"x","from":0}]}"#).is_err());
        assert!(scenario_from_json(r#"{"metrics":{"m":{"baseline":{}}}}"#).is_err());
        assert!(scenario_from_json(r#"{"metrics":{"m":{"baseline":{"p99":1}}}}"#).is_err());
        assert!(scenario_from_json("{").is_err());
        assert!(scenario_from_json(r#"{"events":[{"title":"x"}]}"#).is_err());
    }
}
