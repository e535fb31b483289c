//! The HTTP server: routing, authentication, faults, recording, and the in-process handles
//! [`Sim`] (async) and [`BlockingSim`] (own runtime on a background thread).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{self, Api, Area};
use crate::common::{ApiError, ApiResult, Hash, Params, Reply, normalize_ws, percent_decode};
use crate::dql::{self, DqlState, Pending};
use crate::environments::{Behaviour, Environments, split_env_path};
use crate::events::{self, EventStore};
use crate::faults::{FaultState, Faults};
use crate::scenario::{Scenario, TokenDef};
use crate::{entities, metrics, problems, slo};

/// Request bodies above this get 413.
pub const MAX_BODY: usize = 1 << 20;

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string.
    pub query: Option<String>,
    /// Header names in lower case, values as sent (nothing redacted).
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status the simulator answered (0 while it is still deciding).
    pub status: u16,
    pub time: SystemTime,
}

impl RecordedRequest {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A decoded query parameter (exact name).
    pub fn param(&self, name: &str) -> Option<String> {
        Params::parse(self.query.as_deref())
            .get(name)
            .map(str::to_string)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// One environment's state. The root environment's `Inner` also holds the other environments
/// (`fleet`); the request log, faults, clock override and stop signal are shared by all.
pub(crate) struct Inner {
    scenario: Arc<Scenario>,
    now_override: Arc<Mutex<Option<i64>>>,
    events: Mutex<EventStore>,
    /// Classic dashboards: the scenario's, then those created or updated through the API.
    dashboards: Mutex<Vec<Value>>,
    dql: Mutex<DqlState>,
    oauth: Mutex<Vec<TokenDef>>,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    faults: Arc<Mutex<FaultState>>,
    stop: Arc<watch::Sender<bool>>,
    /// This environment's own tokens; `None`: the scenario's.
    tokens: Option<Vec<TokenDef>>,
    /// Limits, latency and counters of an environment under `/e/<id>`.
    limits: Option<EnvLimits>,
    /// The environments under `/e/<id>` (root only; `None`: any `/e/<id>` is the root).
    fleet: Option<Fleet>,
}

/// Behaviour and counters of one environment.
struct EnvLimits {
    behaviour: Behaviour,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
    served: AtomicU64,
    throttled: AtomicU64,
}

/// What the simulator observed of one environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnvStats {
    /// Requests answered (429s and 503s of a down environment included).
    pub requests: u64,
    /// Requests answered 429 because the environment's concurrency limit was reached.
    pub throttled: u64,
    /// Most requests in flight at once (throttled ones not counted).
    pub peak_in_flight: usize,
}

struct Fleet {
    envs: Environments,
    /// Own data of listed environments, by list index.
    data: Vec<Option<Arc<Scenario>>>,
    /// Environments that have been asked something, created on first use.
    active: Mutex<HashMap<String, Arc<Inner>>>,
}

/// Holds one in-flight slot of an environment until the response is built.
struct Slot<'a>(&'a EnvLimits);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl EnvLimits {
    /// A slot, or `None` when the environment's limit is reached (the caller answers 429).
    fn enter(&self) -> Option<Slot<'_>> {
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let slot = Slot(self);
        self.served.fetch_add(1, Ordering::Relaxed);
        if self.behaviour.concurrency.is_some_and(|c| n > c) {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.peak.fetch_max(n, Ordering::SeqCst);
        Some(slot)
    }

    fn stats(&self) -> EnvStats {
        EnvStats {
            requests: self.served.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            peak_in_flight: self.peak.load(Ordering::SeqCst),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    fn new(scenario: Scenario) -> Inner {
        let fleet = (!scenario.environments.is_empty()).then(|| Fleet {
            data: scenario
                .environments
                .list
                .iter()
                .map(|e| e.data.as_ref().map(|d| Arc::new((**d).clone())))
                .collect(),
            envs: scenario.environments.clone(),
            active: Mutex::new(HashMap::new()),
        });
        let mut inner = Inner::with_data(Arc::new(scenario));
        inner.fleet = fleet;
        inner
    }

    /// An environment's state over `scenario`, sharing nothing yet.
    fn with_data(scenario: Arc<Scenario>) -> Inner {
        let now = scenario.now();
        let mut store = EventStore::default();
        for e in &scenario.events {
            if let Ok(req) = events::parse_ingest(e) {
                events::ingest(&scenario, &mut store, &req, now, false, false);
            }
        }
        let faults = FaultState::new(scenario.faults.clone());
        let dashboards = scenario.dashboards.clone();
        Inner {
            scenario,
            now_override: Arc::new(Mutex::new(None)),
            events: Mutex::new(store),
            dashboards: Mutex::new(dashboards),
            dql: Mutex::new(DqlState::default()),
            oauth: Mutex::new(Vec::new()),
            requests: Arc::new(Mutex::new(Vec::new())),
            faults: Arc::new(Mutex::new(faults)),
            stop: Arc::new(watch::channel(false).0),
            tokens: None,
            limits: None,
            fleet: None,
        }
    }

    /// The environment `id` under `/e/<id>`: the root itself when the scenario defines no
    /// environments, `None` for an id it does not define.
    fn environment(self: &Arc<Inner>, id: &str) -> Option<Arc<Inner>> {
        let Some(fleet) = &self.fleet else {
            return Some(self.clone());
        };
        if let Some(e) = lock(&fleet.active).get(id) {
            return Some(e.clone());
        }
        let spec = fleet.envs.find(id)?;
        let data = spec
            .own_data
            .and_then(|i| fleet.data[i].clone())
            .unwrap_or_else(|| self.scenario.clone());
        let mut env = Inner::with_data(data);
        env.now_override = self.now_override.clone();
        env.requests = self.requests.clone();
        env.faults = self.faults.clone();
        env.stop = self.stop.clone();
        env.tokens = Some(spec.tokens);
        env.limits = Some(EnvLimits {
            behaviour: spec.behaviour,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
        });
        let env = Arc::new(env);
        Some(
            lock(&fleet.active)
                .entry(id.to_string())
                .or_insert(env)
                .clone(),
        )
    }

    /// The tokens this environment accepts (its own, or the scenario's, plus OAuth-issued).
    fn tokens(&self) -> Vec<TokenDef> {
        let mut tokens = self
            .tokens
            .clone()
            .unwrap_or_else(|| self.scenario.tokens.clone());
        tokens.extend(lock(&self.oauth).iter().cloned());
        tokens
    }

    fn env_stats(&self, id: &str) -> Option<EnvStats> {
        let fleet = self.fleet.as_ref()?;
        if let Some(e) = lock(&fleet.active).get(id) {
            return e.limits.as_ref().map(EnvLimits::stats);
        }
        fleet.envs.find(id).map(|_| EnvStats::default())
    }

    /// The sum of every environment's counters (peak: the largest).
    fn fleet_stats(&self) -> EnvStats {
        let mut all = EnvStats::default();
        if let Some(fleet) = &self.fleet {
            for e in lock(&fleet.active).values() {
                if let Some(s) = e.limits.as_ref().map(EnvLimits::stats) {
                    all.requests += s.requests;
                    all.throttled += s.throttled;
                    all.peak_in_flight = all.peak_in_flight.max(s.peak_in_flight);
                }
            }
        }
        all
    }

    fn now(&self) -> i64 {
        lock(&self.now_override).unwrap_or_else(|| self.scenario.now())
    }

    fn events_json(&self) -> Vec<Value> {
        let now = self.now();
        lock(&self.events)
            .events
            .iter()
            .filter(|e| e.ingested)
            .map(|e| e.to_json(now))
            .collect()
    }

    fn set_faults(&self, faults: Faults) {
        lock(&self.faults).set(faults);
        lock(&self.dql).executed = 0;
    }

    /// Sleeps, waking early when the server stops.
    async fn pause(&self, ms: u64) {
        if ms == 0 {
            return;
        }
        let mut rx = self.stop.subscribe();
        if *rx.borrow() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
            _ = rx.wait_for(|v| *v) => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Route {
    MetricsQuery,
    MetricsList,
    MetricDescriptor(String),
    EventsIngest,
    EventsList,
    EventGet(String),
    SloList,
    SloGet(String),
    ProblemsList,
    ProblemGet(String),
    SecurityList,
    SecurityGet(String),
    EntitiesList,
    EntityGet(String),
    /// `POST /api/v2/apiTokens/lookup`: the metadata of the token in the body (any scope).
    TokenLookup,
    Usql,
    DashboardList,
    DashboardGet(String),
    /// `POST /api/config/v1/dashboards`.
    DashboardCreate,
    /// `PUT /api/config/v1/dashboards/{id}`.
    DashboardUpdate(String),
    /// `GET /api/v2/settings/objects` (maintenance windows only).
    SettingsObjects,
    DqlExecute,
    DqlPoll,
    DqlCancel,
    OAuthToken,
}

/// Maps a decoded path to (API family, canonical path). The canonical path of the
/// environment API is `/api/v2/...` whatever the prefix.
fn normalize(path: &str) -> Option<(Api, String)> {
    if path == "/sso/oauth2/token" {
        return Some((Api::Platform, path.to_string()));
    }
    if let Some(rest) = path.strip_prefix("/e/") {
        let i = rest.find('/')?;
        let rest = &rest[i..];
        return rest
            .starts_with("/api/")
            .then(|| (Api::Classic, rest.to_string()));
    }
    if path.starts_with("/api/") {
        return Some((Api::Classic, path.to_string()));
    }
    if let Some(rest) = path.strip_prefix("/platform/classic/environment-api/v2/") {
        return Some((Api::Platform, format!("/api/v2/{rest}")));
    }
    if path.starts_with("/platform/storage/query/v1/") {
        return Some((Api::Platform, path.to_string()));
    }
    None
}

fn route(method: &str, api: Api, path: &str) -> Result<Route, ApiError> {
    let not_found = || ApiError::not_found(format!("The path '{path}' does not exist."));
    let expect = |m: &str, r: Route| -> Result<Route, ApiError> {
        if method.eq_ignore_ascii_case(m) {
            Ok(r)
        } else {
            Err(ApiError::new(
                405,
                format!("Method {method} is not allowed here; use {m}."),
            ))
        }
    };
    if path == "/sso/oauth2/token" {
        return expect("POST", Route::OAuthToken);
    }
    if let Some(op) = path.strip_prefix("/platform/storage/query/v1/") {
        return match op {
            "query:execute" => expect("POST", Route::DqlExecute),
            "query:poll" => expect("GET", Route::DqlPoll),
            "query:cancel" => expect("POST", Route::DqlCancel),
            _ => Err(not_found()),
        };
    }
    if path == "/api/v1/userSessionQueryLanguage/table" && api == Api::Classic {
        return expect("GET", Route::Usql);
    }
    if api == Api::Classic
        && let Some(rest) = path.strip_prefix("/api/config/v1/dashboards")
    {
        let id = rest
            .trim_end_matches('/')
            .trim_start_matches('/')
            .to_string();
        return match (id.as_str(), method.to_ascii_uppercase().as_str()) {
            ("", "POST") => Ok(Route::DashboardCreate),
            ("", _) => expect("GET", Route::DashboardList),
            (_, "PUT") => Ok(Route::DashboardUpdate(id)),
            _ => expect("GET", Route::DashboardGet(id)),
        };
    }
    let Some(rest) = path.strip_prefix("/api/v2/") else {
        return Err(not_found());
    };
    let rest = rest.trim_end_matches('/');
    let (head, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i + 1..].to_string())),
        None => (rest, None),
    };
    let tail = tail.filter(|t| !t.is_empty());
    match (head, tail) {
        ("metrics", None) => expect("GET", Route::MetricsList),
        ("metrics", Some(t)) if t == "query" => expect("GET", Route::MetricsQuery),
        ("metrics", Some(t)) => expect("GET", Route::MetricDescriptor(t)),
        ("events", None) => expect("GET", Route::EventsList),
        ("events", Some(t)) if t == "ingest" => expect("POST", Route::EventsIngest),
        ("events", Some(t)) => expect("GET", Route::EventGet(t)),
        ("slo", None) => expect("GET", Route::SloList),
        ("slo", Some(t)) => expect("GET", Route::SloGet(t)),
        ("problems", None) => expect("GET", Route::ProblemsList),
        ("problems", Some(t)) => expect("GET", Route::ProblemGet(t)),
        ("securityProblems", None) => expect("GET", Route::SecurityList),
        ("securityProblems", Some(t)) => expect("GET", Route::SecurityGet(t)),
        ("entities", None) => expect("GET", Route::EntitiesList),
        ("entities", Some(t)) => expect("GET", Route::EntityGet(t)),
        ("settings", Some(t)) if t == "objects" => expect("GET", Route::SettingsObjects),
        ("apiTokens", Some(t)) if t == "lookup" && api == Api::Classic => {
            expect("POST", Route::TokenLookup)
        }
        _ => Err(not_found()),
    }
}

fn area(r: &Route) -> Option<Area> {
    Some(match r {
        Route::MetricsQuery | Route::MetricsList | Route::MetricDescriptor(_) => Area::Metrics,
        Route::EventsIngest => Area::EventsIngest,
        Route::EventsList | Route::EventGet(_) => Area::EventsRead,
        Route::SloList | Route::SloGet(_) => Area::Slo,
        Route::ProblemsList | Route::ProblemGet(_) => Area::Problems,
        Route::SecurityList | Route::SecurityGet(_) => Area::SecurityProblems,
        Route::EntitiesList | Route::EntityGet(_) => Area::Entities,
        Route::Usql => Area::UserSessions,
        Route::DashboardList | Route::DashboardGet(_) => Area::Config,
        Route::DashboardCreate | Route::DashboardUpdate(_) => Area::WriteConfig,
        Route::SettingsObjects => Area::Settings,
        Route::DqlExecute
        | Route::DqlPoll
        | Route::DqlCancel
        | Route::OAuthToken
        | Route::TokenLookup => return None,
    })
}

/// A dashboard to create or update: JSON with `dashboardMetadata.name` and a `tiles` list.
fn dashboard_body(body: &[u8]) -> Result<Value, ApiError> {
    let d = json_body(body)?;
    let named = d
        .pointer("/dashboardMetadata/name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.trim().is_empty());
    if !named || !d.get("tiles").is_some_and(Value::is_array) {
        return Err(ApiError::violation(
            "dashboardMetadata",
            "a dashboard needs dashboardMetadata.name and tiles",
            "PAYLOAD_BODY",
        ));
    }
    Ok(d)
}

fn json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::violation(
            "",
            format!("Could not parse the request body as JSON: {e}"),
            "PAYLOAD_BODY",
        )
    })
}

async fn dispatch(
    inner: &Arc<Inner>,
    method: &str,
    path: &str,
    params: &Params,
    headers: &[(String, String)],
    body: &[u8],
) -> ApiResult {
    let (api, canon) = normalize(path)
        .ok_or_else(|| ApiError::not_found(format!("The path '{path}' does not exist.")))?;
    let r = route(method, api, &canon)?;
    if r == Route::OAuthToken {
        return oauth_token(inner, body);
    }
    let token = auth::authenticate(&inner.tokens(), api, headers, params)?;
    if let Some(a) = area(&r) {
        auth::require(&token, api, a)?;
    }
    let sc = &inner.scenario;
    let now = inner.now();
    match r {
        Route::MetricsQuery => metrics::query(sc, params, now),
        Route::MetricsList => metrics::list(sc, params),
        Route::MetricDescriptor(sel) => metrics::descriptor(sc, &sel),
        Route::EventsIngest => {
            let v = json_body(body)?;
            let req = events::parse_ingest(&v)?;
            let out = events::ingest(sc, &mut lock(&inner.events), &req, now, true, true);
            Ok(Reply::with_status(201, out))
        }
        Route::EventsList => events::list(sc, &lock(&inner.events), params, now),
        Route::EventGet(id) => events::get(&lock(&inner.events), &id, now),
        Route::SloList => slo::list(sc, params, now),
        Route::SloGet(id) => slo::get(sc, &id, params, now),
        Route::ProblemsList => problems::list(sc, params, now),
        Route::ProblemGet(id) => problems::get(sc, &id, params, now),
        Route::SecurityList => problems::security_list(sc, params, now),
        Route::SecurityGet(id) => problems::security_get(sc, &id, now),
        Route::EntitiesList => entities::list(sc, params, now),
        Route::EntityGet(id) => entities::get(sc, &id, now),
        Route::TokenLookup => token_lookup(&inner.tokens(), body),
        Route::Usql => usql(sc, params),
        Route::SettingsObjects => {
            // Only the maintenance-window schema holds objects here.
            const SCHEMA: &str = "builtin:alerting.maintenance-window";
            let asked = params.get("schemaIds").unwrap_or_default();
            let items: Vec<Value> = if asked.split(',').any(|s| s.trim() == SCHEMA) {
                sc.maintenance_windows
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        json!({"objectId": format!("maintenance-window-{i}"),
                               "schemaId": SCHEMA, "schemaVersion": "2.14", "scope": "environment",
                               "value": v})
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(Reply::ok(
                json!({"items": items, "totalCount": items.len(), "pageSize": 500}),
            ))
        }
        Route::DashboardCreate => {
            let mut d = dashboard_body(body)?;
            let mut all = lock(&inner.dashboards);
            let n = Hash::new(sc.seed)
                .str("dashboard")
                .str(&all.len().to_string())
                .value();
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                n >> 32,
                (n >> 16) & 0xffff,
                n & 0xfff,
                (n >> 20) & 0xfff,
                (n ^ (all.len() as u64)) & 0xffff_ffff_ffff
            );
            d["id"] = json!(id);
            let name = d.pointer("/dashboardMetadata/name").cloned();
            all.push(d);
            Ok(Reply::with_status(201, json!({"id": id, "name": name})))
        }
        Route::DashboardUpdate(id) => {
            let mut d = dashboard_body(body)?;
            if d.get("id").and_then(Value::as_str).is_some_and(|b| b != id) {
                return Err(ApiError::violation(
                    "id",
                    "The dashboard ID in the path and in the body differ",
                    "PAYLOAD_BODY",
                ));
            }
            d["id"] = json!(id);
            let mut all = lock(&inner.dashboards);
            match all
                .iter_mut()
                .find(|x| x.get("id").and_then(Value::as_str) == Some(id.as_str()))
            {
                Some(slot) => {
                    *slot = d;
                    Ok(Reply::empty(204))
                }
                None => Err(ApiError::not_found(format!("Dashboard {id} not found"))),
            }
        }
        Route::DashboardList => Ok(Reply::ok(json!({
            "dashboards": lock(&inner.dashboards).iter().map(|d| json!({
                "id": d.get("id"),
                "name": d.pointer("/dashboardMetadata/name"),
                "owner": d.pointer("/dashboardMetadata/owner"),
            })).collect::<Vec<_>>(),
        }))),
        Route::DashboardGet(id) => match lock(&inner.dashboards)
            .iter()
            .find(|d| d.get("id").and_then(Value::as_str) == Some(id.as_str()))
        {
            Some(d) => Ok(Reply::ok(d.clone())),
            None => Err(ApiError::not_found(format!("Dashboard {id} not found"))),
        },
        Route::DqlExecute => dql_execute(inner, &token, body, now).await,
        Route::DqlPoll => dql_poll(inner, params).await,
        Route::DqlCancel => dql_cancel(inner, params),
        Route::OAuthToken => unreachable!("handled above"),
    }
}

/// The metadata of a classic token given by its secret; 404 for an unknown one (§1).
fn token_lookup(tokens: &[TokenDef], body: &[u8]) -> ApiResult {
    let v = json_body(body)?;
    let Some(secret) = v.get("token").and_then(Value::as_str) else {
        return Err(ApiError::violation(
            "token",
            "must not be null",
            "PAYLOAD_BODY",
        ));
    };
    let Some(t) = tokens.iter().find(|t| t.token == secret && !t.platform) else {
        return Err(ApiError::not_found("The requested token does not exist."));
    };
    // The public part of a classic token is its first two dot-separated pieces.
    let id: String = secret.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
    Ok(Reply::with_status(
        200,
        json!({
            "id": id,
            "name": "simulated token",
            "enabled": true,
            "personalAccessToken": false,
            "owner": "dtsim",
            "creationDate": "2026-01-01T00:00:00.000Z",
            "expirationDate": null,
            "scopes": t.scopes,
        }),
    ))
}

fn usql(sc: &Scenario, params: &Params) -> ApiResult {
    let Some(q) = params.get_nonblank("query") else {
        return Err(ApiError::query("query", "must not be blank"));
    };
    let norm = normalize_ws(q);
    match sc.usql.iter().find(|u| normalize_ws(&u.query) == norm) {
        Some(u) => Ok(Reply::ok(json!({
            "extrapolationLevel": 1,
            "columnNames": u.column_names,
            "values": u.values,
        }))),
        None => Err(ApiError::new(
            400,
            format!("Invalid query: the simulator has no answer for '{q}'."),
        )),
    }
}

fn oauth_token(inner: &Inner, body: &[u8]) -> ApiResult {
    let form = Params::parse(Some(&String::from_utf8_lossy(body)));
    if form.get("grant_type") != Some("client_credentials") {
        return Err(ApiError::new(400, "unsupported_grant_type"));
    }
    let id = form.get("client_id").unwrap_or("");
    let secret = form.get("client_secret").unwrap_or("");
    let Some(client) = inner
        .scenario
        .oauth_clients
        .iter()
        .find(|c| c.client_id == id && c.client_secret == secret)
    else {
        return Err(ApiError::new(401, "invalid_client"));
    };
    let scopes: Vec<String> = match form.get_nonblank("scope") {
        Some(s) => s
            .split_whitespace()
            .filter(|x| client.scopes.iter().any(|c| c == x))
            .map(str::to_string)
            .collect(),
        None => client.scopes.clone(),
    };
    let mut issued = lock(&inner.oauth);
    let n = issued.len() as u64 + 1;
    let token = format!(
        "dt0s02.SIMOAUTH.{:016x}",
        Hash::new(inner.scenario.seed).str("oauth").num(n).value()
    );
    issued.push(TokenDef {
        token: token.clone(),
        scopes: scopes.clone(),
        platform: true,
    });
    Ok(Reply::ok(json!({
        "scope": scopes.join(" "),
        "token_type": "Bearer",
        "expires_in": 300,
        "access_token": token,
        "resource": "urn:dtaccount:simulator",
    })))
}

async fn dql_execute(inner: &Arc<Inner>, token: &TokenDef, body: &[u8], now: i64) -> ApiResult {
    let t0 = Instant::now();
    let v = json_body(body)?;
    let query = v
        .get("query")
        .and_then(Value::as_str)
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| ApiError::violation("query", "must not be blank", "PAYLOAD_BODY"))?
        .to_string();
    let scopes = dql::required_scopes(&query);
    let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    auth::require_platform(token, &refs)?;
    let (result, duration) = {
        let store = lock(&inner.events);
        dql::run(&inner.scenario, &store, &query, &v, now)?
    };
    let timeout = v
        .get("requestTimeoutMilliseconds")
        .and_then(Value::as_u64)
        .unwrap_or(1000);
    let faults = lock(&inner.faults).faults.clone();
    let forced = {
        let mut d = lock(&inner.dql);
        d.executed += 1;
        faults.dql_async_every > 0 && d.executed.is_multiple_of(faults.dql_async_every)
    };
    if !forced && duration <= timeout {
        inner.pause(duration).await;
        return Ok(Reply::ok(json!({
            "state": "SUCCEEDED", "progress": 100, "ttlSeconds": dql::TTL_SECONDS, "result": result,
        })));
    }
    if !forced {
        inner.pause(timeout).await;
    }
    let mut d = lock(&inner.dql);
    d.tokens_issued += 1;
    let tok = format!(
        "dtsim-{:016x}",
        Hash::new(inner.scenario.seed)
            .str("dql")
            .num(d.tokens_issued)
            .value()
    );
    d.queries.insert(
        tok.clone(),
        Pending {
            result,
            done_at: t0 + Duration::from_millis(duration),
            running_polls_left: if forced { faults.dql_running_polls } else { 0 },
            expires: t0 + Duration::from_secs(dql::TTL_SECONDS),
        },
    );
    Ok(Reply::with_status(
        202,
        json!({"state": "RUNNING", "progress": 0, "requestToken": tok, "ttlSeconds": dql::TTL_SECONDS}),
    ))
}

fn request_token(params: &Params) -> Result<String, ApiError> {
    params
        .get_nonblank("request-token")
        .map(str::to_string)
        .ok_or_else(|| ApiError::query("request-token", "must not be blank"))
}

async fn dql_poll(inner: &Arc<Inner>, params: &Params) -> ApiResult {
    let tok = request_token(params)?;
    let wait: u64 = params
        .get("request-timeout-milliseconds")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let done_at = {
        let mut d = lock(&inner.dql);
        let now = Instant::now();
        d.queries.retain(|_, p| p.expires > now);
        d.queries.get(&tok).ok_or_else(dql::gone)?.done_at
    };
    let left = done_at.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        inner.pause((left.as_millis() as u64 + 1).min(wait)).await;
    }
    let mut d = lock(&inner.dql);
    let p = d.queries.get_mut(&tok).ok_or_else(dql::gone)?;
    if p.running_polls_left > 0 || Instant::now() < p.done_at {
        p.running_polls_left = p.running_polls_left.saturating_sub(1);
        return Ok(Reply::ok(
            json!({"state": "RUNNING", "progress": 50, "ttlSeconds": dql::TTL_SECONDS}),
        ));
    }
    let p = d.queries.remove(&tok).expect("present");
    Ok(Reply::ok(json!({
        "state": "SUCCEEDED", "progress": 100, "ttlSeconds": dql::TTL_SECONDS, "result": p.result,
    })))
}

fn dql_cancel(inner: &Inner, params: &Params) -> ApiResult {
    let tok = request_token(params)?;
    let mut d = lock(&inner.dql);
    let p = d.queries.remove(&tok).ok_or_else(dql::gone)?;
    if p.running_polls_left == 0 && Instant::now() >= p.done_at {
        return Ok(Reply::ok(json!({
            "state": "SUCCEEDED", "progress": 100, "ttlSeconds": dql::TTL_SECONDS, "result": p.result,
        })));
    }
    Ok(Reply::empty(202))
}

async fn handle(State(root): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let raw_path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let (bytes, too_large) = match to_bytes(body, MAX_BODY).await {
        Ok(b) => (b.to_vec(), false),
        Err(_) => (Vec::new(), true),
    };
    let idx = {
        let mut r = lock(&root.requests);
        r.push(RecordedRequest {
            method: method.clone(),
            path: raw_path.clone(),
            query: query.clone(),
            headers: headers.clone(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            status: 0,
            time: SystemTime::now(),
        });
        r.len() - 1
    };
    let path = percent_decode(&raw_path, false);
    let env = match split_env_path(&path) {
        Some((id, _)) => root.environment(id),
        None => Some(root.clone()),
    };
    let Some(inner) = env else {
        let e = ApiError::not_found("The environment in the path does not exist.");
        return finish(&root, idx, e.into(), 0).await;
    };
    // An environment's own behaviour comes before anything else it would answer.
    let mut slot = None;
    if let Some(l) = &inner.limits {
        if l.behaviour.down {
            l.served.fetch_add(1, Ordering::Relaxed);
            let e = ApiError::new(503, "Service Unavailable");
            return finish(&root, idx, e.into(), l.behaviour.latency_ms).await;
        }
        match l.enter() {
            Some(s) => slot = Some(s),
            None => {
                // Refused at the door (a full thread pool), so at once: no latency.
                let e = crate::faults::rate_limited(l.behaviour.retry_after(), false);
                return finish(&root, idx, e.into(), 0).await;
            }
        }
    }
    let env_latency = inner.limits.as_ref().map_or(0, |l| l.behaviour.latency_ms);
    let (api, canon) = normalize(&path).unwrap_or((Api::Classic, path.clone()));
    let decision = lock(&inner.faults).decide(
        &method,
        &raw_path,
        query.as_deref().unwrap_or(""),
        &canon,
        api == Api::Platform && !canon.starts_with("/api/v1"),
    );
    let params = Params::parse(query.as_deref());
    let reply: Reply = match decision.early {
        Some(e) => e.into(),
        None if too_large => {
            ApiError::new(413, "The request payload exceeds the limit of 1 MB.").into()
        }
        None => dispatch(&inner, &method, &path, &params, &headers, &bytes)
            .await
            .unwrap_or_else(Reply::from),
    };
    let mut reply = reply;
    if canon == "/api/v2/metrics/query" {
        let faults = lock(&inner.faults).faults.clone();
        if !faults.metric_warnings.is_empty()
            && let Some(w) = reply.body.as_mut().and_then(|b| b.get_mut("warnings"))
        {
            *w = Value::from(faults.metric_warnings.clone());
        }
        if let Some(Value::Array(results)) = reply.body.as_mut().and_then(|b| b.get_mut("result")) {
            if !faults.metric_warnings.is_empty() {
                for r in results.iter_mut() {
                    r["warnings"] = Value::from(faults.metric_warnings.clone());
                }
            }
            if faults.reverse_results {
                results.reverse();
            }
            if let Some(id) = &faults.rename_metric_ids {
                for r in results.iter_mut() {
                    r["metricId"] = Value::String(id.clone());
                }
            }
        }
    }
    let mut status = reply.status;
    let mut text = reply
        .body
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default();
    if decision.malformed {
        status = 200;
        let mut cut = text.len() / 2;
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut.max(1).min(text.len()));
        if text.is_empty() {
            text = "{\"".into();
        }
    }
    if let Some(r) = lock(&inner.requests).get_mut(idx) {
        r.status = status;
    }
    inner
        .pause(decision.latency_ms + decision.hold_ms + env_latency)
        .await;
    drop(slot);
    respond(status, text, &reply.headers)
}

/// Records the status of an answer decided before routing, waits `latency_ms`, and answers.
async fn finish(root: &Inner, idx: usize, reply: Reply, latency_ms: u64) -> Response {
    if let Some(r) = lock(&root.requests).get_mut(idx) {
        r.status = reply.status;
    }
    root.pause(latency_ms).await;
    let text = reply
        .body
        .as_ref()
        .map(Value::to_string)
        .unwrap_or_default();
    respond(reply.status, text, &reply.headers)
}

fn respond(status: u16, text: String, headers: &[(String, String)]) -> Response {
    let mut resp = Response::new(Body::from(text.clone()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if !text.is_empty() {
        h.insert(
            "content-type",
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
    }
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.insert(k, v);
        }
    }
    resp
}

/// A running simulator (async handle).
pub struct Sim {
    inner: Arc<Inner>,
    addr: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sim {
    /// Binds `127.0.0.1:0` and serves the scenario.
    pub async fn start(scenario: Scenario) -> io::Result<Sim> {
        Sim::start_on(scenario, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Binds the given loopback address.
    pub async fn start_on(scenario: Scenario, addr: SocketAddr) -> io::Result<Sim> {
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "dtsim listens on loopback addresses only",
            ));
        }
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::new(scenario));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let mut rx = inner.stop.subscribe();
        let listener = crate::lenient::LenientListener(listener);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.wait_for(|v| *v).await;
                })
                .await;
        });
        Ok(Sim {
            inner,
            addr,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }

    /// Every event ingested through the API, in the `GET /api/v2/events` shape.
    pub fn events(&self) -> Vec<Value> {
        self.inner.events_json()
    }

    /// The classic dashboards: the scenario's and those written through the API.
    pub fn dashboards(&self) -> Vec<Value> {
        lock(&self.inner.dashboards).clone()
    }

    /// Replaces the faults (and restarts their request count).
    pub fn set_faults(&self, faults: Faults) {
        self.inner.set_faults(faults);
    }

    /// `http://127.0.0.1:PORT/e/<id>`: the base URL of one of the scenario's environments.
    pub fn env_url(&self, id: &str) -> String {
        format!("{}/e/{id}", self.url())
    }

    /// What environment `id` has seen so far; `None` when the scenario does not define it.
    pub fn env_stats(&self, id: &str) -> Option<EnvStats> {
        self.inner.env_stats(id)
    }

    /// Every environment's counters summed (peak: the largest of any one environment).
    pub fn fleet_stats(&self) -> EnvStats {
        self.inner.fleet_stats()
    }

    /// Overrides "now" (epoch ms); `None` returns to the scenario's now.
    pub fn set_now(&self, now: Option<i64>) {
        *lock(&self.inner.now_override) = now;
    }

    /// Stops serving; held responses are released at once.
    pub async fn shutdown(mut self) {
        self.inner.stop.send_replace(true);
        if let Some(mut t) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut t)
                .await
                .is_err()
        {
            t.abort();
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.inner.stop.send_replace(true);
    }
}

/// A simulator on its own runtime and thread, for synchronous tests. Stops when dropped.
pub struct BlockingSim {
    inner: Arc<Inner>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Starts a [`BlockingSim`] on `127.0.0.1:0`.
pub fn start_blocking(scenario: Scenario) -> io::Result<BlockingSim> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("dtsim".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                match Sim::start(scenario).await {
                    Ok(sim) => {
                        let _ = tx.send(Ok((sim.inner.clone(), sim.addr)));
                        let _ = stop_rx.await;
                        sim.shutdown().await;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                    }
                }
            });
        })?;
    let (inner, addr) = rx
        .recv()
        .map_err(|_| io::Error::other("the dtsim thread ended before it started serving"))??;
    Ok(BlockingSim {
        inner,
        addr,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

impl BlockingSim {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner.requests).clone()
    }
    pub fn clear_requests(&self) {
        lock(&self.inner.requests).clear();
    }
    pub fn events(&self) -> Vec<Value> {
        self.inner.events_json()
    }

    /// The classic dashboards: the scenario's and those written through the API.
    pub fn dashboards(&self) -> Vec<Value> {
        lock(&self.inner.dashboards).clone()
    }
    pub fn set_faults(&self, faults: Faults) {
        self.inner.set_faults(faults);
    }
    pub fn env_url(&self, id: &str) -> String {
        format!("{}/e/{id}", self.url())
    }
    pub fn env_stats(&self, id: &str) -> Option<EnvStats> {
        self.inner.env_stats(id)
    }
    pub fn fleet_stats(&self) -> EnvStats {
        self.inner.fleet_stats()
    }
    pub fn set_now(&self, now: Option<i64>) {
        *lock(&self.inner.now_override) = now;
    }
    /// Stops and waits for the thread (same as dropping).
    pub fn shutdown(self) {}
}

impl Drop for BlockingSim {
    fn drop(&mut self) {
        self.inner.stop.send_replace(true);
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            normalize("/api/v2/slo/x"),
            Some((Api::Classic, "/api/v2/slo/x".into()))
        );
        assert_eq!(
            normalize("/e/abc/api/v2/slo"),
            Some((Api::Classic, "/api/v2/slo".into()))
        );
        assert_eq!(
            normalize("/platform/classic/environment-api/v2/metrics/query"),
            Some((Api::Platform, "/api/v2/metrics/query".into()))
        );
        assert_eq!(normalize("/nope"), None);
        assert_eq!(
            route("GET", Api::Classic, "/api/v2/metrics/query"),
            Ok(Route::MetricsQuery)
        );
        assert_eq!(
            route("GET", Api::Classic, "/api/v2/metrics/builtin:x:toUnit(A,B)"),
            Ok(Route::MetricDescriptor("builtin:x:toUnit(A,B)".into()))
        );
        assert_eq!(
            route("POST", Api::Classic, "/api/v2/metrics/query")
                .unwrap_err()
                .status,
            405
        );
        assert_eq!(
            route("GET", Api::Classic, "/api/v2/nothing")
                .unwrap_err()
                .status,
            404
        );
        assert_eq!(
            route(
                "POST",
                Api::Platform,
                "/platform/storage/query/v1/query:execute"
            ),
            Ok(Route::DqlExecute)
        );
    }
}
