//! Reading a dashboard and turning its tiles into SLI values, tile by tile as dynatrace-service
//! did (reference §2, §5, §6): the requests go through the shared HTTP client; every decision is
//! taken by the pure parts (`title`, `markdown`, `tiles`, `thresholds`).

use serde_json::Value;

use super::markdown::{self, Scoring};
use super::select::{self, Selection};
use super::tiles::{self, MetricsPlan, TileRef};
use super::title::{self, Title};
use crate::eval::SliValue;
use crate::query::encode::path_escape;
use crate::query::reduce::{self, Descriptor};
use crate::query::{Method, MetricsQuery, Request, SliQuery, UsqlType, Window, request};
use crate::source::http::{Client, SendError};
use crate::source::{Failure, Fatal, Fetched, classify, failed, succeeded};

/// One objective as upstream stored it in slo.yaml.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectiveDef {
    pub sli: String,
    pub display_name: String,
    pub pass: Vec<Vec<String>>,
    pub warning: Vec<Vec<String>>,
    pub weight: i64,
    pub key_sli: bool,
}

/// One SLI of the dashboard: its objective, value and tile.
#[derive(Clone, Debug)]
pub struct Indicator {
    pub objective: ObjectiveDef,
    pub fetched: Fetched,
    pub tile: TileRef,
    /// The request in file-mode form (for `explain`, charts and `export --out`); `None` when the
    /// SLI has no query of its own (a failure before any request, one series of several).
    pub query: Option<SliQuery>,
}

/// A processed dashboard.
#[derive(Clone, Debug)]
pub struct Processed {
    pub id: String,
    pub name: String,
    pub scoring: Scoring,
    pub indicators: Vec<Indicator>,
}

/// Why the dashboard as a whole could not be used.
#[derive(Clone, Debug, PartialEq)]
pub enum DashboardError {
    /// Lookup or fetch failed (`could not retrieve dashboard: …`); `status` of an HTTP answer.
    Retrieve {
        message: String,
        status: Option<u16>,
    },
    /// `query` found no or several dashboards.
    Lookup(String),
    /// The Markdown tile is wrong (`could not process dashboard: …`).
    Process(String),
    Fatal(Fatal),
}

impl DashboardError {
    pub fn message(&self) -> String {
        match self {
            DashboardError::Retrieve { message, .. } | DashboardError::Lookup(message) => {
                format!(
                    "could not get SLIs from dashboard: could not retrieve dashboard: {message}"
                )
            }
            DashboardError::Process(m) => {
                format!("could not get SLIs from dashboard: could not process dashboard: {m}")
            }
            DashboardError::Fatal(Fatal::Auth { message, .. })
            | DashboardError::Fatal(Fatal::MissingToken(message)) => message.clone(),
        }
    }
}

fn get(path: String, query: Vec<(String, String)>) -> Request {
    Request {
        method: Method::Get,
        path,
        query,
        body: None,
    }
}

fn fatal(e: SendError) -> Result<(u16, String, String), Fatal> {
    match e {
        SendError::Auth { status, message } => Err(Fatal::Auth { status, message }),
        SendError::MissingToken { message } => Err(Fatal::MissingToken(message)),
        SendError::Transport { message, url } => Ok((0, message, url)),
    }
}

/// A GET whose body is JSON: `Ok(Err((status, message)))` for an answer that is not.
async fn get_json(
    client: &Client,
    req: &Request,
) -> Result<Result<Value, (Option<u16>, String)>, Fatal> {
    match client.send(req).await {
        Err(e) => {
            let (_, message, url) = fatal(e)?;
            Ok(Err((None, format!("{message} - URL: {url}"))))
        }
        Ok(resp) if !resp.is_success() => Ok(Err((
            Some(resp.status),
            reduce::dynatrace_error(resp.status, &resp.body, &resp.url),
        ))),
        Ok(resp) => match serde_json::from_str::<Value>(&resp.body) {
            Ok(v) => Ok(Ok(v)),
            Err(_) => Ok(Err((
                None,
                format!("the response is not valid JSON - URL: {}", resp.url),
            ))),
        },
    }
}

/// The dashboard JSON for a selection.
pub async fn fetch(
    client: &Client,
    selection: &Selection,
    project: &str,
    stage: &str,
    service: &str,
) -> Result<Value, DashboardError> {
    let id = match selection {
        Selection::File(path) => {
            // The same reader and size limit as `lint --dashboard` and every input file.
            let refused = |message: String| DashboardError::Retrieve {
                message,
                status: Some(400),
            };
            let (file, problems) = crate::model::load::read_text(path).map_err(|p| {
                refused(format!(
                    "could not read the dashboard file {}: {}",
                    path.display(),
                    p.message
                ))
            })?;
            if let Some(p) = problems.into_iter().find(crate::diag::Problem::is_error) {
                return Err(refused(format!(
                    "could not read the dashboard file {}: {}",
                    path.display(),
                    p.message
                )));
            }
            let json: Value = serde_json::from_str(&file.text).map_err(|e| {
                refused(format!(
                    "the dashboard file {} is not JSON: {e}",
                    path.display()
                ))
            })?;
            return classic(json, &format!("the dashboard file {}", path.display()));
        }
        Selection::Id(id) => id.clone(),
        Selection::Query => {
            let list = get_json(client, &get("/api/config/v1/dashboards".into(), Vec::new()))
                .await
                .map_err(DashboardError::Fatal)?
                .map_err(|(status, message)| DashboardError::Retrieve { message, status })?;
            select::find(&list, project, stage, service).map_err(DashboardError::Lookup)?
        }
    };
    let json = get_json(
        client,
        &get(
            format!("/api/config/v1/dashboards/{}", path_escape(&id)),
            Vec::new(),
        ),
    )
    .await
    .map_err(DashboardError::Fatal)?
    .map_err(|(status, message)| DashboardError::Retrieve { message, status })?;
    classic(json, &format!("dashboard {id}"))
}

/// A classic dashboard is an object with a `tiles` list. Anything else (`[1,2,3]`, `"tiles":
/// "oops"`) is the wrong input, not a dashboard without SLIs that Keptn would fail (exit 2).
pub fn classic(json: Value, what: &str) -> Result<Value, DashboardError> {
    let problem = if !json.is_object() {
        Some("is not a JSON object")
    } else {
        match json.get("tiles") {
            Some(Value::Array(_)) => None,
            None => Some("has no `tiles` list"),
            Some(_) => Some("has a `tiles` field that is not a list"),
        }
    };
    match problem {
        None => Ok(json),
        Some(p) => Err(DashboardError::Retrieve {
            message: format!(
                "{what} {p}: not a classic dashboard (save it with Dynatrace's \"Export\", Config API v1)"
            ),
            status: Some(400),
        }),
    }
}

/// The Markdown scoring settings of a dashboard (none or one KQG tile).
pub fn scoring(dashboard: &Value) -> Result<Scoring, String> {
    let mut found: Option<Scoring> = None;
    for tile in tile_list(dashboard) {
        if tile.get("tileType").and_then(Value::as_str) != Some("MARKDOWN") {
            continue;
        }
        let text = tile.get("markdown").and_then(Value::as_str).unwrap_or("");
        if !markdown::is_kqg(text) {
            continue;
        }
        if found.is_some() {
            return Err("only one markdown tile allowed for KQG configuration".into());
        }
        found = Some(markdown::parse(text)?);
    }
    Ok(found.unwrap_or_default())
}

pub fn tile_list(dashboard: &Value) -> Vec<Value> {
    dashboard
        .get("tiles")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The title upstream parsed for a tile type, `None` when the type gives no SLI or the title is
/// not parsed (SLO, problems).
pub fn title_of(tile: &Value) -> Option<String> {
    let s = |p: &str| tile.pointer(p).and_then(Value::as_str).map(str::to_string);
    match tile.get("tileType").and_then(Value::as_str)? {
        "DATA_EXPLORER" => Some(s("/name").unwrap_or_default()),
        "DTAQL" => Some(s("/customName").unwrap_or_default()),
        "CUSTOM_CHARTING" => tile
            .get("filterConfig")
            .filter(|f| !f.is_null())
            .map(|_| s("/filterConfig/customName").unwrap_or_default()),
        _ => None,
    }
}

/// Processes every tile for `window`: the SLIs, their objectives and values.
pub async fn process(
    client: &Client,
    dashboard: &Value,
    window: Window,
) -> Result<Processed, DashboardError> {
    let scoring = scoring(dashboard).map_err(DashboardError::Process)?;
    let mut cx = Cx {
        client,
        window,
        out: Vec::new(),
    };
    for (index, tile) in tile_list(dashboard).iter().enumerate() {
        let kind = tile
            .get("tileType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let tref = TileRef {
            index,
            title: title_of(tile)
                .or_else(|| tile.get("name").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default(),
            kind: kind.clone(),
        };
        match kind.as_str() {
            "DATA_EXPLORER" => cx.data_explorer(dashboard, tile, tref).await,
            "CUSTOM_CHARTING" => cx.custom_chart(dashboard, tile, tref).await,
            "DTAQL" => cx.usql(tile, tref).await,
            "SLO" => cx.slo(tile, tref).await,
            "OPEN_PROBLEMS" => cx.problems(dashboard, tile, tref).await,
            _ => Ok(()),
        }
        .map_err(DashboardError::Fatal)?;
    }
    let mut indicators = cx.out;
    mark_duplicates(&mut indicators);
    Ok(Processed {
        id: dashboard
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        name: dashboard
            .pointer("/dashboardMetadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        scoring,
        indicators,
    })
}

/// Every result whose SLI name, or non-empty display name, occurs more than once fails.
pub fn mark_duplicates(list: &mut [Indicator]) {
    let count = |f: &dyn Fn(&Indicator) -> bool| list.iter().filter(|i| f(i)).count();
    let flags: Vec<(bool, bool)> = list
        .iter()
        .map(|i| {
            let sli = count(&|o: &Indicator| o.objective.sli == i.objective.sli) > 1;
            let display = !i.objective.display_name.is_empty()
                && count(&|o: &Indicator| o.objective.display_name == i.objective.display_name) > 1;
            (sli, display)
        })
        .collect();
    for (i, (sli, display)) in list.iter_mut().zip(flags) {
        let what = match (sli, display) {
            (true, true) => "duplicate SLI and display name",
            (true, false) => "duplicate SLI name",
            (false, true) => "duplicate display name",
            (false, false) => continue,
        };
        let old = &i.fetched.value.message;
        i.fetched.value = SliValue {
            metric: i.objective.sli.clone(),
            value: Some(0.0),
            success: false,
            message: format!("{what}; {old}"),
        };
        i.fetched.failure = Some(Failure::Query);
    }
}

fn objective(t: &Title) -> ObjectiveDef {
    ObjectiveDef {
        sli: t.sli.clone(),
        display_name: t.display_name.clone(),
        pass: t.pass.clone(),
        warning: t.warning.clone(),
        weight: t.weight,
        key_sli: t.key,
    }
}

struct Cx<'a> {
    client: &'a Client,
    window: Window,
    out: Vec<Indicator>,
}

/// What the metrics answer held, per series: name and value.
/// One series: its name, value and own dimensions (for a per-series query).
type SeriesValue = (String, f64, Vec<(String, String)>);

enum Series {
    Values(Vec<SeriesValue>),
    Several,
    NoData(String),
}

fn read_series(body: &Value, retried: bool, single_value: bool) -> Series {
    let collections = body
        .get("result")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [collection] = collections.as_slice() else {
        return Series::NoData(format!(
            "Metrics API v2 returned {} metric series collections",
            collections.len()
        ));
    };
    let data = collection
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if data.is_empty() {
        return Series::NoData("Metrics API v2 returned zero metric series".into());
    }
    if single_value && data.len() > 1 {
        return Series::NoData(format!(
            "Metrics API v2 returned {} metric series but only one is supported",
            data.len()
        ));
    }
    if data.iter().any(|s| {
        s.get("values")
            .and_then(Value::as_array)
            .is_some_and(|v| v.len() > 1)
    }) {
        if retried {
            let n = data
                .iter()
                .filter_map(|s| s.get("values").and_then(Value::as_array))
                .map(Vec::len)
                .max()
                .unwrap_or(0);
            return Series::NoData(format!(
                "Metrics API v2 returned {n} values but only one is supported"
            ));
        }
        return Series::Several;
    }
    let mut out = Vec::new();
    for s in &data {
        let values = s
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        match values.first() {
            None => return Series::NoData("Metrics API v2 returned zero values".into()),
            Some(v) => match v.as_f64() {
                Some(v) => out.push((tiles::series_name(s), v, tiles::series_dimensions(s))),
                None => {
                    return Series::NoData("Metrics API v2 returned 'null' as value".into());
                }
            },
        }
    }
    Series::Values(out)
}

impl Cx<'_> {
    fn push(
        &mut self,
        objective: ObjectiveDef,
        fetched: Fetched,
        tile: &TileRef,
        query: Option<SliQuery>,
    ) {
        self.out.push(Indicator {
            objective,
            fetched,
            tile: tile.clone(),
            query,
        });
    }

    fn fail(
        &mut self,
        o: ObjectiveDef,
        message: String,
        failure: Failure,
        query: Option<String>,
        tile: &TileRef,
    ) {
        let v = failed(&o.sli, message);
        self.push(
            o,
            Fetched {
                value: v,
                failure: Some(failure),
                query,
            },
            tile,
            None,
        );
    }

    /// Title rules shared by the titled tiles: `None` when the tile is skipped.
    fn titled(&self, text: &str) -> Option<Title> {
        let t = title::parse(text);
        if t.sli.is_empty() || (t.exclude && t.errors.is_empty()) {
            return None;
        }
        Some(t)
    }

    async fn data_explorer(
        &mut self,
        dashboard: &Value,
        tile: &Value,
        tref: TileRef,
    ) -> Result<(), Fatal> {
        let Some(mut t) = self.titled(tile.get("name").and_then(Value::as_str).unwrap_or(""))
        else {
            return Ok(());
        };
        let (plan, criteria) = tiles::data_explorer(dashboard, tile, &t);
        if let Some((p, w)) = criteria {
            t.pass = p;
            t.warning = w;
        }
        match plan {
            Err(problems) => {
                self.fail(
                    objective(&t),
                    format!(
                        "error validating Data Explorer tile: {}",
                        problems.join("; ")
                    ),
                    Failure::Query,
                    None,
                    &tref,
                );
                Ok(())
            }
            Ok(plan) => self.metrics(&t, &plan, &tref).await,
        }
    }

    async fn custom_chart(
        &mut self,
        dashboard: &Value,
        tile: &Value,
        tref: TileRef,
    ) -> Result<(), Fatal> {
        let Some(text) = title_of(tile) else {
            return Ok(());
        };
        let Some(t) = self.titled(&text) else {
            return Ok(());
        };
        if let Some(e) = t.error() {
            self.fail(
                objective(&t),
                format!("Custom charting tile title parsing error: {e}"),
                Failure::Query,
                None,
                &tref,
            );
            return Ok(());
        }
        let series = match tiles::chart_series(tile) {
            Ok(s) => s.clone(),
            Err(e) => {
                self.fail(objective(&t), e, Failure::Query, None, &tref);
                return Ok(());
            }
        };
        let metric = series.get("metric").and_then(Value::as_str).unwrap_or("");
        let descriptor = get_json(self.client, &request::descriptor(metric)).await?;
        let plan = match descriptor {
            Err((status, e)) => Err((e, classify(status))),
            Ok(d) => {
                tiles::custom_chart(dashboard, tile, &series, &d).map_err(|e| (e, Failure::Query))
            }
        };
        match plan {
            Err((e, failure)) => {
                self.fail(
                    objective(&t),
                    format!("Custom charting tile could not be converted to a metric query: {e}"),
                    failure,
                    None,
                    &tref,
                );
                Ok(())
            }
            Ok(plan) => self.metrics(&t, &plan, &tref).await,
        }
    }

    async fn descriptor(
        &self,
        selector: &str,
        cache: &mut Option<(Value, Descriptor)>,
    ) -> Result<Result<(Value, Descriptor), (String, Failure)>, Fatal> {
        if let Some(c) = cache {
            return Ok(Ok(c.clone()));
        }
        let got = get_json(self.client, &request::descriptor(selector)).await?;
        Ok(match got {
            Err((status, e)) => Err((
                format!("error querying Metrics API v2: {e}"),
                classify(status),
            )),
            Ok(v) => match reduce::descriptor(&v) {
                Ok(d) => {
                    *cache = Some((v.clone(), d.clone()));
                    Ok((v, d))
                }
                Err(e) => Err((e, Failure::Query)),
            },
        })
    }

    /// Unit conversion, query, single-value retries; one SLI per series (§5.7, §6).
    async fn metrics(
        &mut self,
        t: &Title,
        plan: &MetricsPlan,
        tref: &TileRef,
    ) -> Result<(), Fatal> {
        let o = objective(t);
        let mut cache: Option<(Value, Descriptor)> = None;
        let convert = |sel: &str, d: Option<&Value>| -> Result<String, String> {
            match d {
                Some(d) => tiles::convert_unit(sel, &plan.unit, d),
                None => Ok(sel.to_string()),
            }
        };
        let needs_unit = !matches!(plan.unit.as_str(), "" | "auto" | "none");
        if needs_unit && let Err((e, f)) = self.descriptor(&plan.selector, &mut cache).await? {
            self.fail(o, e, f, None, tref);
            return Ok(());
        }
        let unit_desc = cache.as_ref().map(|c| c.0.clone());
        let first_sel = match convert(&plan.selector, unit_desc.as_ref()) {
            Ok(s) => s,
            Err(e) => {
                self.fail(o, e, Failure::Query, None, tref);
                return Ok(());
            }
        };
        let mut m = MetricsQuery {
            metric_selector: first_sel,
            entity_selector: plan.entity_selector.clone(),
            resolution: plan.resolution.clone(),
            mz_selector: plan.mz.clone(),
        };
        let first_shown =
            request::build(&SliQuery::Metrics(m.clone()), self.window).path_and_query();
        let mut retried = false;
        let series = loop {
            let req = request::build(&SliQuery::Metrics(m.clone()), self.window);
            let body = match get_json(self.client, &req).await? {
                Ok(b) => b,
                Err((status, e)) => {
                    self.fail(
                        o,
                        format!("error querying Metrics API v2: {e}"),
                        classify(status),
                        Some(first_shown),
                        tref,
                    );
                    return Ok(());
                }
            };
            match read_series(&body, retried, plan.single_value) {
                Series::Several => {
                    let d = match self.descriptor(&plan.selector, &mut cache).await? {
                        Ok((_, d)) => d,
                        Err((e, f)) => {
                            self.fail(o, e, f, Some(first_shown), tref);
                            return Ok(());
                        }
                    };
                    let base = MetricsQuery {
                        metric_selector: plan.selector.clone(),
                        ..m.clone()
                    };
                    let next = match request::single_value_retry(&base, &d) {
                        Ok(n) => n,
                        Err(e) => {
                            self.fail(o, e, Failure::Query, Some(first_shown), tref);
                            return Ok(());
                        }
                    };
                    m = MetricsQuery {
                        metric_selector: convert(&next.metric_selector, unit_desc.as_ref())
                            .unwrap_or(next.metric_selector.clone()),
                        ..next
                    };
                    retried = true;
                }
                other => break (other, req.path_and_query()),
            }
        };
        let (series, shown) = series;
        let values = match series {
            Series::Values(v) => v,
            Series::NoData(msg) => {
                self.fail(
                    o,
                    format!("could not process metrics query: {msg}"),
                    Failure::NoData,
                    Some(first_shown),
                    tref,
                );
                return Ok(());
            }
            // The loop only ends with values or a problem.
            Series::Several => Vec::new(),
        };
        let single = values.len() == 1;
        for (name, v, dims) in values {
            let mut obj = o.clone();
            let mut query = m.clone();
            if !single {
                let (sli, display) = tiles::split_names(t, &name);
                obj.sli = sli;
                obj.display_name = display;
                // The same value for files: the tile's query narrowed to this series.
                query.metric_selector = tiles::narrowed(&m.metric_selector, &dims);
            }
            let sv = succeeded(&obj.sli, v, String::new());
            self.push(
                obj,
                Fetched {
                    value: sv,
                    failure: None,
                    query: Some(shown.clone()),
                },
                tref,
                (single || !dims.is_empty()).then_some(SliQuery::Metrics(query)),
            );
        }
        Ok(())
    }

    async fn usql(&mut self, tile: &Value, tref: TileRef) -> Result<(), Fatal> {
        let Some(t) = self.titled(tile.get("customName").and_then(Value::as_str).unwrap_or(""))
        else {
            return Ok(());
        };
        if let Some(e) = t.error() {
            self.fail(
                objective(&t),
                format!("User Sessions Query tile title parsing error: {e}"),
                Failure::Query,
                None,
                &tref,
            );
            return Ok(());
        }
        let query = tile
            .get("query")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if query.is_empty() {
            self.fail(
                objective(&t),
                "error creating USQL query: USQL query should not be empty".into(),
                Failure::Query,
                None,
                &tref,
            );
            return Ok(());
        }
        let kind = tile
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let q = SliQuery::Usql {
            result_type: UsqlType::from_name(&kind).unwrap_or(UsqlType::Table),
            dimension: String::new(),
            query,
        };
        let req = request::build(&q, self.window);
        let shown = req.path_and_query();
        let body = match get_json(self.client, &req).await? {
            Ok(b) => b,
            Err((status, e)) => {
                self.fail(
                    objective(&t),
                    format!("error querying User sessions API: {e}"),
                    classify(status),
                    Some(shown),
                    &tref,
                );
                return Ok(());
            }
        };
        let columns = body
            .get("columnNames")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let rows = body
            .get("values")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let warn = |cx: &mut Self, o: ObjectiveDef, m: &str| {
            cx.fail(
                o,
                m.to_string(),
                Failure::NoData,
                Some(shown.clone()),
                &tref,
            )
        };
        match kind.as_str() {
            "SINGLE_VALUE" => {
                if rows.is_empty() {
                    warn(
                        self,
                        objective(&t),
                        "User sessions API returned zero values",
                    );
                } else if columns != 1 || rows.len() != 1 {
                    warn(
                        self,
                        objective(&t),
                        "USQL visualization type SINGLE_VALUE should only return a single result",
                    );
                } else {
                    match rows[0]
                        .as_array()
                        .and_then(|r| r.first())
                        .and_then(Value::as_f64)
                    {
                        Some(v) => {
                            let o = objective(&t);
                            let sv = succeeded(&o.sli, v, String::new());
                            self.push(
                                o,
                                Fetched {
                                    value: sv,
                                    failure: None,
                                    query: Some(shown.clone()),
                                },
                                &tref,
                                Some(q.clone()),
                            );
                        }
                        None => warn(self, objective(&t), "dimension value should be a number"),
                    }
                }
            }
            "COLUMN_CHART" | "LINE_CHART" | "PIE_CHART" | "TABLE" => {
                if rows.is_empty() {
                    warn(
                        self,
                        objective(&t),
                        "User sessions API returned zero values",
                    );
                    return Ok(());
                }
                if columns < 2 {
                    warn(
                        self,
                        objective(&t),
                        &format!("USQL result type {kind} should have at least two columns"),
                    );
                    return Ok(());
                }
                for (n, row) in rows.iter().enumerate() {
                    let cells = row.as_array().cloned().unwrap_or_default();
                    let cell = if kind == "TABLE" {
                        cells.last()
                    } else {
                        cells.get(1)
                    };
                    let mut o = objective(&t);
                    match cells.first().and_then(Value::as_str) {
                        None => {
                            (o.sli, o.display_name) = (
                                format!("{}_{}", t.sli, n + 1),
                                format!("{} ({})", t.display_name, n + 1),
                            );
                            warn(self, o, "dimension name should be a string");
                        }
                        Some(name) => {
                            (o.sli, o.display_name) = tiles::split_names(&t, name);
                            match cell.and_then(Value::as_f64) {
                                None => warn(self, o, "dimension value should be a number"),
                                Some(v) => {
                                    let sv = succeeded(&o.sli, v, String::new());
                                    let per_row = SliQuery::Usql {
                                        result_type: UsqlType::from_name(&kind)
                                            .unwrap_or(UsqlType::Table),
                                        dimension: name.to_string(),
                                        query: match &q {
                                            SliQuery::Usql { query, .. } => query.clone(),
                                            _ => String::new(),
                                        },
                                    };
                                    self.push(
                                        o,
                                        Fetched {
                                            value: sv,
                                            failure: None,
                                            query: Some(shown.clone()),
                                        },
                                        &tref,
                                        Some(per_row),
                                    );
                                }
                            }
                        }
                    }
                }
            }
            other => {
                self.fail(
                    objective(&t),
                    format!("unsupported USQL visualization type: {other}"),
                    Failure::Query,
                    Some(shown.clone()),
                    &tref,
                );
            }
        }
        Ok(())
    }

    async fn slo(&mut self, tile: &Value, tref: TileRef) -> Result<(), Fatal> {
        let info = |sli: &str| ObjectiveDef {
            sli: sli.to_string(),
            display_name: String::new(),
            pass: Vec::new(),
            warning: Vec::new(),
            weight: 1,
            key_sli: false,
        };
        let ids: Vec<String> = tile
            .get("assignedEntities")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default();
        if ids.is_empty() {
            self.fail(
                info("slo_tile_without_slo"),
                "SLO tile contains no SLO IDs".into(),
                Failure::Query,
                None,
                &tref,
            );
            return Ok(());
        }
        for id in ids {
            if id.is_empty() {
                self.fail(
                    info("slo_without_id"),
                    "SLO ID should not be empty".into(),
                    Failure::Query,
                    None,
                    &tref,
                );
                continue;
            }
            let q = SliQuery::Slo {
                id: id.clone(),
                field: Default::default(),
            };
            let req = request::build(&q, self.window);
            let name = format!("slo_{id}");
            let body = match get_json(self.client, &req).await? {
                Ok(b) => b,
                Err((status, e)) => {
                    self.fail(
                        info(&name),
                        format!("error querying Service level objectives API: {e}"),
                        classify(status),
                        None,
                        &tref,
                    );
                    continue;
                }
            };
            let err = match body.get("error") {
                Some(Value::String(s)) if s == "NONE" => None,
                Some(Value::String(s)) => Some(format!("dynatrace API returned an error: {s}")),
                // Keptn failed to decode this (`cannot unmarshal object … of type string`);
                // Dynatrace's own message says more.
                Some(e) => Some(format!(
                    "dynatrace API returned an error: {}",
                    e.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("(an 'error' object instead of a string)")
                )),
                None => Some("dynatrace API returned an error: (no 'error' field)".to_string()),
            };
            let pct = body.get("evaluatedPercentage").and_then(Value::as_f64);
            match (err, pct) {
                (None, Some(v)) => {
                    let sli =
                        title::clean(body.get("name").and_then(Value::as_str).unwrap_or(&name));
                    let f = |k: &str| body.get(k).and_then(Value::as_f64).unwrap_or(0.0);
                    let o = ObjectiveDef {
                        sli: sli.clone(),
                        display_name: String::new(),
                        pass: vec![vec![format!(">={:.6}", f("warning"))]],
                        warning: vec![vec![format!(">={:.6}", f("target"))]],
                        weight: 1,
                        key_sli: false,
                    };
                    let sv = succeeded(&sli, v, String::new());
                    self.push(
                        o,
                        Fetched {
                            value: sv,
                            failure: None,
                            query: Some(req.path_and_query()),
                        },
                        &tref,
                        Some(q),
                    );
                }
                (e, _) => {
                    let e = e.unwrap_or_else(|| {
                        "the answer has no numeric 'evaluatedPercentage'".into()
                    });
                    self.fail(
                        info(&name),
                        format!("error querying Service level objectives API: {e}"),
                        Failure::Query,
                        None,
                        &tref,
                    );
                }
            }
        }
        Ok(())
    }

    async fn problems(
        &mut self,
        dashboard: &Value,
        tile: &Value,
        tref: TileRef,
    ) -> Result<(), Fatal> {
        let mut selector = "status(\"open\")".to_string();
        if let Some(z) = tiles::zone(dashboard, tile) {
            selector.push_str(&format!(",managementZones({})", tiles::go_quote(&z)));
        }
        let q = SliQuery::Problems {
            problem_selector: Some(selector),
            entity_selector: None,
        };
        let o = ObjectiveDef {
            sli: "problems".into(),
            display_name: String::new(),
            pass: vec![vec!["<=0".into()]],
            warning: Vec::new(),
            weight: 1,
            key_sli: true,
        };
        let req = request::build(&q, self.window);
        let shown = req.path_and_query();
        match get_json(self.client, &req).await? {
            Err((status, e)) => self.fail(
                o,
                format!("error querying Problems API v2: {e}"),
                classify(status),
                Some(shown),
                &tref,
            ),
            Ok(body) => match reduce::total_count(&body) {
                Ok(v) => {
                    let sv = succeeded("problems", v, String::new());
                    self.push(
                        o,
                        Fetched {
                            value: sv,
                            failure: None,
                            query: Some(shown),
                        },
                        &tref,
                        Some(q),
                    );
                }
                Err(e) => self.fail(
                    o,
                    format!("error querying Problems API v2: {e}"),
                    Failure::Query,
                    Some(shown),
                    &tref,
                ),
            },
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_classic_dashboard_is_a_dashboard() {
        use serde_json::json;
        for (v, says) in [
            (json!([1, 2, 3]), "is not a JSON object"),
            (json!({"tiles": "oops"}), "that is not a list"),
            (json!({"dashboardMetadata": {}}), "has no `tiles` list"),
        ] {
            match classic(v, "the dashboard file d.json") {
                Err(DashboardError::Retrieve {
                    message,
                    status: Some(400),
                }) => assert!(
                    message.starts_with("the dashboard file d.json") && message.contains(says),
                    "{message}"
                ),
                other => panic!("{other:?}"),
            }
        }
        assert!(classic(json!({"tiles": []}), "x").is_ok());
    }
}
