//! Metrics v2 (§3, §4): metric selector parsing, the synthetic data model, transformations,
//! `GET /api/v2/metrics/query`, `GET /api/v2/metrics/{selector}` and `GET /api/v2/metrics`.
//!
//! Data model: one value per (service, metric, aggregation, minute):
//! `baseline × (1 + noise·u) × factor`, u ∈ [-1, 1] from a hash of (seed, service, metric,
//! aggregation, minute); `factor` from regressions; no value inside gaps or for minutes that
//! have not ended yet. A slot's value: mean of the minute values for avg/min/max/median/
//! percentile, the sum for sum/count, the last for value.

use serde_json::{Map, Value, json};

use crate::common::{
    ApiError, ApiResult, Hash, Params, Reply, encode_cursor, glob_match, page_size, resolve_page,
};
use crate::entities;
use crate::scenario::{MetricDef, Scenario, ServiceDef};
use crate::selector::{args, call, split_top, unquote};
use crate::time::{self, DAY, HOUR, MINUTE, SECOND, WEEK};

/// Points per series allowed (the SDK's documented limit).
pub const MAX_POINTS: usize = 10_080;
/// Minute values the simulator is willing to compute for one query.
const MAX_MINUTES: usize = 20_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Stat {
    Avg,
    Min,
    Max,
    Sum,
    Count,
    Median,
    Percentile(f64),
    Value,
    Auto,
}

fn fmt_num(p: f64) -> String {
    if p.fract() == 0.0 && p.abs() < 1e15 {
        format!("{}", p as i64)
    } else {
        format!("{p}")
    }
}

impl Stat {
    pub fn parse(name: &str, arg: Option<&str>) -> Option<Stat> {
        let arg = arg.map(str::trim).filter(|a| !a.is_empty());
        Some(match (name, arg) {
            ("avg", None) => Stat::Avg,
            ("min", None) => Stat::Min,
            ("max", None) => Stat::Max,
            ("sum", None) => Stat::Sum,
            ("count", None) => Stat::Count,
            ("median", None) => Stat::Median,
            ("value", None) => Stat::Value,
            ("auto", None) => Stat::Auto,
            ("percentile", Some(a)) => {
                let p: f64 = a.parse().ok()?;
                if !(0.0..=100.0).contains(&p) {
                    return None;
                }
                Stat::Percentile(p)
            }
            _ => return None,
        })
    }

    /// `avg`, `percentile(95)`, … (also accepts `p95`-free forms only).
    pub fn parse_key(s: &str) -> Option<Stat> {
        let (n, a) = call(s)?;
        Stat::parse(&n, a.as_deref())
    }

    pub fn key(&self) -> String {
        match self {
            Stat::Percentile(p) => format!("percentile({})", fmt_num(*p)),
            other => other.type_name().to_string(),
        }
    }

    /// The name used in `aggregationTypes`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Stat::Avg => "avg",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Sum => "sum",
            Stat::Count => "count",
            Stat::Median => "median",
            Stat::Percentile(_) => "percentile",
            Stat::Value => "value",
            Stat::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// `:filter(...)` conditions.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Eq(String, String),
    Ne(String, String),
    Prefix(String, String),
    Suffix(String, String),
    Contains(String, String),
    ExistsKey(String),
    InValues(String, Vec<String>),
    InEntities(String, String),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Series(Stat, Cmp, f64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Value(Stat, bool),
    Dimension(String, bool),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Transform {
    Agg(Stat),
    SplitBy(Vec<String>),
    Merge(Vec<String>),
    Fold(Option<Stat>),
    Names,
    Filter(Cond),
    Default(f64, bool),
    ToUnit(String, String),
    Limit(usize),
    Sort(Vec<SortKey>),
    Timeshift(i64),
}

/// One top-level expression of a metric selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The expression as written (echoed as `metricId`).
    pub text: String,
    pub key: String,
    pub transforms: Vec<Transform>,
}

fn parse_error(detail: impl Into<String>) -> ApiError {
    let mut e = ApiError::new(400, "Metric selector parse error");
    e.violations.push(crate::common::Violation {
        path: "metricSelector".into(),
        message: detail.into(),
        location: "QUERY",
    });
    e
}

const NAMESPACES: &[&str] = &[
    "builtin", "calc", "ext", "func", "dsfm", "log", "cloud", "custom",
];

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:*~@".contains(c))
        && !k.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Parses a whole metric selector (≤10 top-level expressions).
pub fn parse_selector(sel: &str, sc: &Scenario) -> Result<Vec<Expr>, ApiError> {
    let parts = split_top(sel, ',').map_err(parse_error)?;
    if parts.len() > 10 {
        return Err(ApiError::query(
            "metricSelector",
            format!(
                "The metric selector contains {} metric expressions; at most 10 are allowed.",
                parts.len()
            ),
        ));
    }
    parts
        .iter()
        .map(|p| {
            let t = p.trim();
            if t.is_empty() {
                return Err(parse_error("empty metric expression"));
            }
            parse_expr(t, sc)
        })
        .collect()
}

fn matching_paren(s: &str) -> Option<usize> {
    let mut depth = 0;
    let mut in_q = false;
    let mut esc = false;
    for (i, c) in s.char_indices() {
        if in_q {
            if esc {
                esc = false;
            } else if c == '~' {
                esc = true;
            } else if c == '"' {
                in_q = false;
            }
            continue;
        }
        match c {
            '"' => in_q = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_expr(t: &str, sc: &Scenario) -> Result<Expr, ApiError> {
    if t.starts_with('(') {
        let close = matching_paren(t).ok_or_else(|| parse_error("unbalanced parentheses"))?;
        let mut e = parse_expr(t[1..close].trim(), sc)?;
        let rest = t[close + 1..].trim();
        if !rest.is_empty() {
            let Some(rest) = rest.strip_prefix(':') else {
                return Err(parse_error(format!(
                    "unexpected '{rest}' after a parenthesised expression (arithmetic is not supported)"
                )));
            };
            for seg in split_top(rest, ':').map_err(parse_error)? {
                e.transforms.push(parse_transform(seg.trim())?);
            }
        }
        e.text = t.to_string();
        return Ok(e);
    }
    let segs = split_top(t, ':').map_err(parse_error)?;
    let mut k = (1..=segs.len())
        .rev()
        .find(|&k| sc.metrics.contains_key(segs[..k].join(":").trim()))
        .unwrap_or(0);
    if k == 0 {
        k = if segs.len() >= 2 && NAMESPACES.contains(&segs[0].trim()) {
            2
        } else {
            1
        };
    }
    let key = segs[..k].join(":").trim().to_string();
    if !valid_key(&key) {
        return Err(parse_error(format!("'{key}' is not a metric key")));
    }
    let transforms = segs[k..]
        .iter()
        .map(|s| parse_transform(s.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Expr {
        text: t.to_string(),
        key,
        transforms,
    })
}

fn no_args(name: &str, inner: &Option<String>) -> Result<(), ApiError> {
    match inner {
        Some(a) if !a.trim().is_empty() => Err(parse_error(format!("'{name}' takes no arguments"))),
        _ => Ok(()),
    }
}

fn parse_duration(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let split = body.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = body[..split].parse().ok()?;
    let unit = match &body[split..] {
        "s" => SECOND,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        "w" => WEEK,
        _ => return None,
    };
    Some(if neg { -n * unit } else { n * unit })
}

fn parse_transform(seg: &str) -> Result<Transform, ApiError> {
    let (name, inner) =
        call(seg).ok_or_else(|| parse_error(format!("cannot parse transformation '{seg}'")))?;
    let list = |inner: &Option<String>| -> Result<Vec<String>, ApiError> {
        args(inner.as_deref().unwrap_or("")).map_err(parse_error)
    };
    let need = |inner: &Option<String>| -> Result<String, ApiError> {
        inner
            .clone()
            .ok_or_else(|| parse_error(format!("'{name}' needs arguments")))
    };
    Ok(match name.as_str() {
        "avg" | "min" | "max" | "sum" | "count" | "median" | "value" | "auto" => {
            no_args(&name, &inner)?;
            Transform::Agg(Stat::parse(&name, None).expect("known"))
        }
        "percentile" => {
            let a = need(&inner)?;
            Transform::Agg(
                Stat::parse("percentile", Some(&a))
                    .ok_or_else(|| parse_error(format!("invalid percentile '{a}'")))?,
            )
        }
        "splitBy" => {
            need(&inner)?;
            Transform::SplitBy(list(&inner)?)
        }
        "merge" => {
            let l = list(&Some(need(&inner)?))?;
            if l.is_empty() {
                return Err(parse_error("merge needs at least one dimension"));
            }
            Transform::Merge(l)
        }
        "fold" => match inner.as_deref().map(str::trim) {
            None | Some("") => Transform::Fold(None),
            Some(a) => {
                Transform::Fold(Some(Stat::parse_key(a).ok_or_else(|| {
                    parse_error(format!("invalid fold aggregation '{a}'"))
                })?))
            }
        },
        "names" => {
            no_args(&name, &inner)?;
            Transform::Names
        }
        "filter" => Transform::Filter(parse_cond(&need(&inner)?)?),
        "default" => {
            let l = list(&Some(need(&inner)?))?;
            let v: f64 = l
                .first()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| parse_error("default needs a number"))?;
            let always = match l.get(1).map(String::as_str) {
                None => false,
                Some("always") => true,
                Some(o) => return Err(parse_error(format!("unexpected default option '{o}'"))),
            };
            Transform::Default(v, always)
        }
        "toUnit" => {
            let l = list(&Some(need(&inner)?))?;
            if l.len() != 2 {
                return Err(parse_error("toUnit needs a source and a target unit"));
            }
            Transform::ToUnit(l[0].clone(), l[1].clone())
        }
        "limit" => {
            let l = list(&Some(need(&inner)?))?;
            let n = l
                .first()
                .and_then(|v| v.parse().ok())
                .filter(|_| l.len() == 1)
                .ok_or_else(|| parse_error("limit needs a number"))?;
            Transform::Limit(n)
        }
        "sort" => {
            let parts = split_top(&need(&inner)?, ',').map_err(parse_error)?;
            let mut keys = Vec::new();
            for p in parts {
                let (kind, a) =
                    call(&p).ok_or_else(|| parse_error(format!("invalid sort '{p}'")))?;
                let a = args(a.as_deref().unwrap_or("")).map_err(parse_error)?;
                let desc = match a.get(1).map(String::as_str) {
                    None | Some("ascending") => false,
                    Some("descending") => true,
                    Some(o) => return Err(parse_error(format!("invalid sort direction '{o}'"))),
                };
                keys.push(match kind.as_str() {
                    "value" => SortKey::Value(
                        a.first()
                            .and_then(|s| Stat::parse_key(s))
                            .ok_or_else(|| parse_error("sort value needs an aggregation"))?,
                        desc,
                    ),
                    "dimension" => SortKey::Dimension(
                        a.first()
                            .cloned()
                            .ok_or_else(|| parse_error("sort dimension needs a key"))?,
                        desc,
                    ),
                    o => return Err(parse_error(format!("invalid sort '{o}'"))),
                });
            }
            Transform::Sort(keys)
        }
        "timeshift" => {
            let a = need(&inner)?;
            Transform::Timeshift(
                parse_duration(&a)
                    .ok_or_else(|| parse_error(format!("invalid timeshift '{a}'")))?,
            )
        }
        other => {
            return Err(parse_error(format!(
                "the transformation '{other}' is not supported by the simulator or does not exist"
            )));
        }
    })
}

fn parse_cond(s: &str) -> Result<Cond, ApiError> {
    let (name, inner) =
        call(s).ok_or_else(|| parse_error(format!("cannot parse filter condition '{s}'")))?;
    let inner = inner.ok_or_else(|| parse_error(format!("'{name}' needs arguments")))?;
    let parts = split_top(&inner, ',').map_err(parse_error)?;
    let two = || -> Result<(String, String), ApiError> {
        if parts.len() != 2 {
            return Err(parse_error(format!("'{name}' needs two arguments")));
        }
        Ok((unquote(&parts[0]), unquote(&parts[1])))
    };
    Ok(match name.as_str() {
        "eq" => {
            let (a, b) = two()?;
            Cond::Eq(a, b)
        }
        "ne" => {
            let (a, b) = two()?;
            Cond::Ne(a, b)
        }
        "prefix" => {
            let (a, b) = two()?;
            Cond::Prefix(a, b)
        }
        "suffix" => {
            let (a, b) = two()?;
            Cond::Suffix(a, b)
        }
        "contains" => {
            let (a, b) = two()?;
            Cond::Contains(a, b)
        }
        "existsKey" => {
            if parts.len() != 1 {
                return Err(parse_error("existsKey needs one argument"));
            }
            Cond::ExistsKey(unquote(&parts[0]))
        }
        "in" => {
            if parts.len() < 2 {
                return Err(parse_error("in needs a dimension and values"));
            }
            let dim = unquote(&parts[0]);
            let second = parts[1].trim();
            if let Some((n, Some(sel))) = call(second).filter(|(n, _)| n == "entitySelector") {
                let _ = n;
                Cond::InEntities(dim, unquote(&sel))
            } else {
                Cond::InValues(dim, parts[1..].iter().map(|p| unquote(p)).collect())
            }
        }
        "and" | "or" => {
            let subs = parts
                .iter()
                .map(|p| parse_cond(p.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            if name == "and" {
                Cond::And(subs)
            } else {
                Cond::Or(subs)
            }
        }
        "not" => {
            if parts.len() != 1 {
                return Err(parse_error("not needs one condition"));
            }
            Cond::Not(Box::new(parse_cond(parts[0].trim())?))
        }
        "series" => {
            if parts.len() != 2 {
                return Err(parse_error("series needs an aggregation and a comparison"));
            }
            let stat = Stat::parse_key(parts[0].trim())
                .ok_or_else(|| parse_error("series needs an aggregation"))?;
            let (op, v) = call(parts[1].trim())
                .and_then(|(op, v)| Some((op, v?)))
                .ok_or_else(|| parse_error("series needs a comparison"))?;
            let cmp = match op.as_str() {
                "lt" => Cmp::Lt,
                "le" => Cmp::Le,
                "gt" => Cmp::Gt,
                "ge" => Cmp::Ge,
                "eq" => Cmp::Eq,
                "ne" => Cmp::Ne,
                o => return Err(parse_error(format!("invalid comparison '{o}'"))),
            };
            let v: f64 = v
                .trim()
                .parse()
                .map_err(|_| parse_error("series comparison needs a number"))?;
            Cond::Series(stat, cmp, v)
        }
        other => return Err(parse_error(format!("unknown filter condition '{other}'"))),
    })
}

// ---------------------------------------------------------------------------------------------
// Units

fn unit_info(u: &str) -> Option<(&'static str, f64)> {
    Some(match u {
        "NanoSecond" => ("time", 1e-9),
        "MicroSecond" => ("time", 1e-6),
        "MilliSecond" => ("time", 1e-3),
        "Second" => ("time", 1.0),
        "Minute" => ("time", 60.0),
        "Hour" => ("time", 3600.0),
        "Day" => ("time", 86400.0),
        "Week" => ("time", 604800.0),
        "Bit" => ("bytes", 0.125),
        "Byte" => ("bytes", 1.0),
        "KiloByte" => ("bytes", 1e3),
        "MegaByte" => ("bytes", 1e6),
        "GigaByte" => ("bytes", 1e9),
        "TeraByte" => ("bytes", 1e12),
        "KibiByte" => ("bytes", 1024.0),
        "MebiByte" => ("bytes", 1_048_576.0),
        "GibiByte" => ("bytes", 1_073_741_824.0),
        "TebiByte" => ("bytes", 1_099_511_627_776.0),
        "KiloBit" => ("bytes", 125.0),
        "MegaBit" => ("bytes", 125_000.0),
        "Percent" => ("percent", 1.0),
        "PerMille" => ("percent", 0.1),
        "Ratio" => ("percent", 100.0),
        "Count" => ("count", 1.0),
        "KiloCount" => ("count", 1e3),
        "MegaCount" => ("count", 1e6),
        "Unspecified" => ("unspecified", 1.0),
        "PerSecond" => ("rate", 1.0),
        "PerMinute" => ("rate", 1.0 / 60.0),
        "PerHour" => ("rate", 1.0 / 3600.0),
        "BytePerSecond" => ("throughput", 1.0),
        "KiloBytePerSecond" => ("throughput", 1e3),
        "MegaBytePerSecond" => ("throughput", 1e6),
        "BytePerMinute" => ("throughput", 1.0 / 60.0),
        _ => return None,
    })
}

/// The factor converting values in `from` to `to` (the metric's current unit is `current`).
fn unit_factor(current: &str, from: &str, to: &str) -> Result<f64, ApiError> {
    let (ff, fx) = unit_info(from)
        .ok_or_else(|| ApiError::new(400, format!("No unit found using the Unit Id: '{from}'.")))?;
    let (tf, tx) = unit_info(to)
        .ok_or_else(|| ApiError::new(400, format!("No unit found using the Unit Id: '{to}'.")))?;
    if from != current {
        return Err(ApiError::new(
            400,
            format!(
                "The source unit '{from}' of toUnit does not match the unit '{current}' of the metric."
            ),
        ));
    }
    if ff != tf {
        return Err(ApiError::new(
            400,
            format!("Cannot convert unit '{from}' into unit '{to}'."),
        ));
    }
    Ok(fx / tx)
}

// ---------------------------------------------------------------------------------------------
// Metric definitions

fn default_stat(def: &MetricDef) -> Stat {
    def.default_aggregation
        .as_deref()
        .and_then(Stat::parse_key)
        .filter(|s| *s != Stat::Auto)
        .unwrap_or(Stat::Avg)
}

pub fn allowed_aggregations(def: &MetricDef) -> Vec<String> {
    if let Some(list) = &def.aggregation_types {
        return list.clone();
    }
    let mut v: Vec<String> = [
        "auto",
        "avg",
        "count",
        "max",
        "median",
        "min",
        "percentile",
        "sum",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if def.baseline.contains_key("value") || default_stat(def) == Stat::Value {
        v.push("value".into());
    }
    v
}

/// The per-minute baseline for a statistic; statistics the scenario does not list are derived
/// (see the README).
pub fn baseline_for(def: &MetricDef, stat: &Stat) -> Option<f64> {
    let b = &def.baseline;
    let get = |k: &str| b.get(k).copied();
    if let Some(v) = get(&stat.key()) {
        return Some(v);
    }
    let center = get("avg")
        .or_else(|| get("median"))
        .or_else(|| get("percentile(50)"))
        .or_else(|| get("value"))
        .or_else(|| b.values().next().copied())?;
    let count = get("count").unwrap_or(60.0);
    Some(match stat {
        Stat::Avg | Stat::Auto => center,
        Stat::Value => get("avg").or_else(|| get("sum")).unwrap_or(center),
        Stat::Median => get("percentile(50)").unwrap_or(center),
        Stat::Percentile(p) => percentile_baseline(def, *p, center),
        Stat::Min => percentile_baseline(def, 0.0, center),
        Stat::Max => percentile_baseline(def, 100.0, center),
        Stat::Count => count,
        Stat::Sum => center * count,
    })
}

fn percentile_baseline(def: &MetricDef, p: f64, center: f64) -> f64 {
    let b = &def.baseline;
    let mut anchors: Vec<(f64, f64)> = Vec::new();
    for (k, v) in b {
        if let Some(Stat::Percentile(q)) = Stat::parse_key(k) {
            anchors.push((q, *v));
        }
    }
    if !anchors.iter().any(|(q, _)| *q == 50.0) {
        anchors.push((50.0, b.get("median").copied().unwrap_or(center)));
    }
    let highest = anchors.iter().map(|a| a.1).fold(center, f64::max);
    let lowest = anchors.iter().map(|a| a.1).fold(center, f64::min);
    if !anchors.iter().any(|(q, _)| *q == 0.0) {
        anchors.push((0.0, b.get("min").copied().unwrap_or(lowest * 0.5)));
    }
    if !anchors.iter().any(|(q, _)| *q == 100.0) {
        anchors.push((
            100.0,
            b.get("max")
                .copied()
                .unwrap_or((center * 2.0).max(highest * 1.25)),
        ));
    }
    anchors.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in anchors.windows(2) {
        let ((p0, v0), (p1, v1)) = (w[0], w[1]);
        if p >= p0 && p <= p1 {
            if p1 == p0 {
                return v0;
            }
            return v0 + (v1 - v0) * (p - p0) / (p1 - p0);
        }
    }
    center
}

fn display_name(key: &str, def: &MetricDef) -> String {
    if let Some(n) = &def.display_name {
        return n.clone();
    }
    match key {
        "builtin:service.response.time" => "Response time".into(),
        "builtin:service.errors.total.rate" => "Failure rate (any errors)".into(),
        "builtin:service.errors.total.count" => "Failure count (any errors)".into(),
        "builtin:service.requestCount.total" => "Request count".into(),
        "builtin:service.requestCount.server" => "Request count - server".into(),
        _ => key.to_string(),
    }
}

fn applies(def: &MetricDef, s: &ServiceDef) -> bool {
    def.services
        .as_ref()
        .is_none_or(|l| l.iter().any(|x| *x == s.id || *x == s.name))
}

fn metric_of<'a>(sc: &'a Scenario, key: &str) -> Result<&'a MetricDef, ApiError> {
    sc.metrics
        .get(key)
        .ok_or_else(|| ApiError::not_found(format!("Metric with key '{key}' not found.")))
}

// ---------------------------------------------------------------------------------------------
// Generation

#[derive(Debug, Clone, Copy, PartialEq)]
enum Reduce {
    Mean,
    Sum,
    Min,
    Max,
    Last,
    Count,
    Median,
    Pct(f64),
}

fn reduce(values: impl Iterator<Item = Option<f64>>, how: Reduce) -> Option<f64> {
    let mut v: Vec<f64> = values.flatten().collect();
    if v.is_empty() {
        return match how {
            Reduce::Count => Some(0.0),
            _ => None,
        };
    }
    Some(match how {
        Reduce::Mean => v.iter().sum::<f64>() / v.len() as f64,
        Reduce::Sum => v.iter().sum(),
        Reduce::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        Reduce::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Reduce::Last => *v.last().expect("non-empty"),
        Reduce::Count => v.len() as f64,
        Reduce::Median | Reduce::Pct(_) => {
            let p = if let Reduce::Pct(p) = how { p } else { 50.0 };
            v.sort_by(f64::total_cmp);
            let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
            v[rank.clamp(1, v.len()) - 1]
        }
    })
}

/// How minutes combine into a slot.
fn slot_reduce(stat: &Stat) -> Reduce {
    match stat {
        Stat::Sum | Stat::Count => Reduce::Sum,
        Stat::Value => Reduce::Last,
        _ => Reduce::Mean,
    }
}

/// How series combine when a dimension is merged away.
fn merge_reduce(stat: &Stat, unit: &str) -> Reduce {
    match stat {
        Stat::Sum | Stat::Count => Reduce::Sum,
        Stat::Min => Reduce::Min,
        Stat::Max => Reduce::Max,
        Stat::Value if unit == "Count" => Reduce::Sum,
        _ => Reduce::Mean,
    }
}

/// How `:fold` combines points (without an explicit aggregation).
fn fold_reduce(stat: &Stat) -> Reduce {
    match stat {
        Stat::Sum | Stat::Count => Reduce::Sum,
        Stat::Min => Reduce::Min,
        Stat::Max => Reduce::Max,
        Stat::Value => Reduce::Last,
        _ => Reduce::Mean,
    }
}

/// `:fold(x)` / `series(x, …)` / `sort(value(x, …))` with an explicit aggregation.
fn explicit_reduce(stat: &Stat) -> Reduce {
    match stat {
        Stat::Avg | Stat::Auto => Reduce::Mean,
        Stat::Sum => Reduce::Sum,
        Stat::Min => Reduce::Min,
        Stat::Max => Reduce::Max,
        Stat::Value => Reduce::Last,
        Stat::Count => Reduce::Count,
        Stat::Median => Reduce::Median,
        Stat::Percentile(p) => Reduce::Pct(*p),
    }
}

/// Values of one (service, metric, statistic).
struct Gen {
    base: Option<f64>,
    noise: f64,
    hash: Hash,
    regs: Vec<(i64, Option<i64>, f64)>,
    gaps: Vec<(i64, i64)>,
    now: i64,
    round: bool,
    percent: bool,
    reduce: Reduce,
    /// Served from simulated requests instead (key, statistic, generator).
    traffic: Option<(String, Stat, crate::traffic::TrafficGen)>,
}

impl Gen {
    fn new(
        sc: &Scenario,
        key: &str,
        def: &MetricDef,
        svc: &ServiceDef,
        stat: &Stat,
        now: i64,
    ) -> Gen {
        let svc_match =
            |s: &Option<String>| s.as_ref().is_none_or(|s| *s == svc.id || *s == svc.name);
        let met_match = |m: &Option<String>| m.as_ref().is_none_or(|m| m == key);
        Gen {
            base: baseline_for(def, stat),
            noise: def.noise,
            hash: Hash::new(sc.seed).str(&svc.id).str(key).str(&stat.key()),
            regs: sc
                .regressions
                .iter()
                .filter(|r| svc_match(&r.service) && met_match(&r.metric))
                .map(|r| (r.from, r.to, r.factor))
                .collect(),
            gaps: sc
                .gaps
                .iter()
                .filter(|g| svc_match(&g.service) && met_match(&g.metric))
                .map(|g| (g.from, g.to))
                .collect(),
            now,
            round: matches!(stat, Stat::Count)
                || (def.unit == "Count" && matches!(stat, Stat::Sum | Stat::Value)),
            percent: def.unit == "Percent",
            reduce: slot_reduce(stat),
            traffic: traffic_for(sc, key, svc, stat),
        }
    }

    /// A slot's value over the simulated requests of its minutes.
    fn traffic_slot(&self, start: i64, end: i64) -> Option<f64> {
        use crate::traffic::{ERROR_RATE, ERRORS, REQUESTS, RESPONSE_TIME};
        let (key, stat, g) = self.traffic.as_ref()?;
        let first = start.div_euclid(MINUTE) * MINUTE;
        let last = end.min(self.now);
        let mut lat = Vec::new();
        let (mut n, mut errors, mut minutes) = (0u64, 0u64, 0u64);
        for m in (first..last).step_by(MINUTE as usize) {
            if m + MINUTE > self.now || self.gaps.iter().any(|(f, t)| m >= *f && m < *t) {
                continue;
            }
            let x = g.minute(m);
            minutes += 1;
            n += x.latencies.len() as u64;
            errors += x.errors;
            if key == RESPONSE_TIME {
                lat.extend_from_slice(&x.latencies);
            }
        }
        if minutes == 0 {
            return None;
        }
        match key.as_str() {
            RESPONSE_TIME => {
                let how = match stat {
                    Stat::Count => return Some(n as f64),
                    Stat::Sum => Reduce::Sum,
                    Stat::Min => Reduce::Min,
                    Stat::Max => Reduce::Max,
                    Stat::Median => Reduce::Median,
                    Stat::Percentile(p) => Reduce::Pct(*p),
                    _ => Reduce::Mean,
                };
                reduce(lat.into_iter().map(Some), how)
            }
            REQUESTS => Some(match stat {
                Stat::Avg => n as f64 / minutes as f64,
                _ => n as f64,
            }),
            ERRORS => Some(match stat {
                Stat::Avg => errors as f64 / minutes as f64,
                _ => errors as f64,
            }),
            ERROR_RATE => (n > 0).then(|| errors as f64 / n as f64 * 100.0),
            _ => None,
        }
    }

    fn minute(&self, m: i64) -> Option<f64> {
        if m + MINUTE > self.now {
            return None;
        }
        if self.gaps.iter().any(|(f, t)| m >= *f && m < *t) {
            return None;
        }
        let base = self.base?;
        let u = self.hash.num(m.div_euclid(MINUTE) as u64).signed();
        let mut v = base * (1.0 + self.noise * u);
        for (from, to, factor) in &self.regs {
            if m >= *from && to.is_none_or(|t| m < t) {
                v *= factor;
            }
        }
        if self.round {
            v = v.round().max(0.0);
        }
        if self.percent {
            v = v.clamp(0.0, 100.0);
        }
        Some(v)
    }

    fn slot(&self, start: i64, end: i64) -> Option<f64> {
        if self.traffic.is_some() {
            return self.traffic_slot(start, end);
        }
        let first = start.div_euclid(MINUTE) * MINUTE;
        let last = end.min(self.now);
        let mins = (first..last)
            .step_by(MINUTE as usize)
            .map(|m| self.minute(m));
        reduce(mins, self.reduce)
    }
}

/// The traffic generator behind (service, metric), when the scenario simulates its requests.
fn traffic_for(
    sc: &Scenario,
    key: &str,
    svc: &ServiceDef,
    stat: &Stat,
) -> Option<(String, Stat, crate::traffic::TrafficGen)> {
    use crate::traffic::{ERRORS, RESPONSE_TIME, TrafficGen, serves};
    if !serves(key) {
        return None;
    }
    let def = sc.traffic.iter().find(|t| {
        t.service
            .as_ref()
            .is_none_or(|s| *s == svc.id || *s == svc.name)
    })?;
    let svc_match = |s: &Option<String>| s.as_ref().is_none_or(|s| *s == svc.id || *s == svc.name);
    let regs = sc
        .regressions
        .iter()
        .filter(|r| svc_match(&r.service))
        .filter_map(|r| match r.metric.as_deref() {
            Some(RESPONSE_TIME) => Some((r.from, r.to, r.factor, 1.0)),
            Some(ERRORS) => Some((r.from, r.to, 1.0, r.factor)),
            _ => None,
        })
        .collect();
    Some((
        key.to_string(),
        stat.clone(),
        TrafficGen::new(def, sc.seed, &svc.id, regs),
    ))
}

#[derive(Debug, Clone)]
enum Res {
    Inf,
    Fixed(i64, String),
    Points(i64),
}

const STD_RES: &[i64] = &[
    MINUTE,
    2 * MINUTE,
    5 * MINUTE,
    10 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    3 * DAY,
    WEEK,
    2 * WEEK,
    30 * DAY,
];

fn res_label(ms: i64) -> String {
    if ms % WEEK == 0 {
        format!("{}w", ms / WEEK)
    } else if ms % DAY == 0 {
        format!("{}d", ms / DAY)
    } else if ms % HOUR == 0 {
        format!("{}h", ms / HOUR)
    } else {
        format!("{}m", ms / MINUTE)
    }
}

fn parse_res_one(s: &str) -> Option<Res> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("inf") {
        return Some(Res::Inf);
    }
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = t.parse().ok()?;
        return (n > 0).then_some(Res::Points(n));
    }
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = t[..split].parse().ok()?;
    if n <= 0 {
        return None;
    }
    let unit = match &t[split..] {
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        "w" => WEEK,
        "M" => 30 * DAY,
        "q" => 90 * DAY,
        "y" => 365 * DAY,
        _ => return None,
    };
    Some(Res::Fixed(n * unit, t.to_string()))
}

fn parse_resolution(param: Option<&str>, n: usize) -> Result<Vec<Res>, ApiError> {
    let bad = |v: &str| ApiError::query("resolution", format!("Invalid resolution '{v}'."));
    let mut out = vec![Res::Points(120); n];
    let Some(p) = param.map(str::trim).filter(|p| !p.is_empty()) else {
        return Ok(out);
    };
    if p.contains(':') {
        for part in p.split(',') {
            let (i, r) = part.split_once(':').ok_or_else(|| bad(p))?;
            let i: usize = i.trim().parse().map_err(|_| bad(p))?;
            let r = parse_res_one(r).ok_or_else(|| bad(p))?;
            if i < n {
                out[i] = r;
            }
        }
        return Ok(out);
    }
    let r = parse_res_one(p).ok_or_else(|| bad(p))?;
    Ok(vec![r; n])
}

/// (slot length or None for Inf, label).
fn resolve_res(r: &Res, from: i64, to: i64) -> (Option<i64>, String) {
    match r {
        Res::Inf => (None, "Inf".into()),
        Res::Fixed(ms, label) => (Some(*ms), label.clone()),
        Res::Points(n) => {
            let raw = ((to - from) + n - 1) / n;
            let ms = STD_RES
                .iter()
                .copied()
                .find(|s| *s >= raw)
                .unwrap_or_else(|| (raw + DAY - 1) / DAY * DAY);
            (Some(ms), res_label(ms))
        }
    }
}

fn slots(from: i64, to: i64, res: i64) -> Vec<(i64, i64)> {
    let off = if res % WEEK == 0 { 4 * DAY } else { 0 };
    let mut s = (from - off).div_euclid(res) * res + off;
    let mut out = Vec::new();
    while s < to {
        out.push((s, s + res));
        s += res;
        if out.len() > MAX_POINTS {
            break;
        }
    }
    out
}

type Dims = Vec<(String, String)>;

#[derive(Debug, Clone)]
struct Series {
    dims: Dims,
    values: Vec<Option<f64>>,
}

fn group(series: Vec<Series>, keep: impl Fn(&str) -> bool, how: Reduce) -> Vec<Series> {
    let mut out: Vec<(Dims, Vec<Series>)> = Vec::new();
    for s in series {
        let dims: Vec<(String, String)> = s.dims.iter().filter(|(k, _)| keep(k)).cloned().collect();
        match out.iter_mut().find(|(d, _)| *d == dims) {
            Some((_, members)) => members.push(s),
            None => out.push((dims, vec![s])),
        }
    }
    out.into_iter()
        .map(|(dims, members)| {
            let len = members[0].values.len();
            let values = (0..len)
                .map(|i| reduce(members.iter().map(|m| m.values[i]), how))
                .collect();
            Series { dims, values }
        })
        .collect()
}

fn base_dim(k: &str) -> &str {
    k.strip_suffix(".name").unwrap_or(k)
}

fn eval_cond(c: &Cond, s: &Series, sc: &Scenario) -> Result<bool, ApiError> {
    let dim = |k: &str| {
        s.dims
            .iter()
            .find(|(dk, _)| dk == k)
            .map(|(_, v)| v.as_str())
    };
    Ok(match c {
        Cond::Eq(k, v) => dim(k) == Some(v.as_str()),
        Cond::Ne(k, v) => dim(k).is_some_and(|d| d != v),
        Cond::Prefix(k, v) => dim(k).is_some_and(|d| d.starts_with(v.as_str())),
        Cond::Suffix(k, v) => dim(k).is_some_and(|d| d.ends_with(v.as_str())),
        Cond::Contains(k, v) => dim(k).is_some_and(|d| d.contains(v.as_str())),
        Cond::ExistsKey(k) => dim(k).is_some(),
        Cond::InValues(k, vals) => dim(k).is_some_and(|d| vals.iter().any(|v| v == d)),
        Cond::InEntities(k, sel) => {
            let ids: Vec<String> = entities::select(sc, sel)
                .map_err(|e| parse_error(format!("entitySelector in filter: {e}")))?
                .iter()
                .map(|s| s.id.clone())
                .collect();
            dim(k).is_some_and(|d| ids.iter().any(|i| i == d))
        }
        Cond::And(l) => {
            for x in l {
                if !eval_cond(x, s, sc)? {
                    return Ok(false);
                }
            }
            true
        }
        Cond::Or(l) => {
            for x in l {
                if eval_cond(x, s, sc)? {
                    return Ok(true);
                }
            }
            false
        }
        Cond::Not(x) => !eval_cond(x, s, sc)?,
        Cond::Series(stat, cmp, v) => match reduce(s.values.iter().copied(), explicit_reduce(stat))
        {
            None => false,
            Some(x) => match cmp {
                Cmp::Lt => x < *v,
                Cmp::Le => x <= *v,
                Cmp::Gt => x > *v,
                Cmp::Ge => x >= *v,
                Cmp::Eq => x == *v,
                Cmp::Ne => x != *v,
            },
        },
    })
}

fn select_scope<'a>(sc: &'a Scenario, params: &Params) -> Result<Vec<&'a ServiceDef>, ApiError> {
    let mut services: Vec<&ServiceDef> = match params.get_nonblank("entitySelector") {
        Some(es) => entities::select_param(sc, "entitySelector", es)?,
        None => sc
            .services
            .iter()
            .filter(|s| s.entity_type() == "SERVICE")
            .collect(),
    };
    if let Some(mz) = params.get_nonblank("mzSelector") {
        let crit = crate::selector::parse(mz)
            .map_err(|e| ApiError::query("mzSelector", format!("Invalid mzSelector: {e}")))?;
        for c in crit {
            match c.name.as_str() {
                "mzName" => {
                    services.retain(|s| c.args.iter().any(|a| s.management_zones.contains(a)))
                }
                "mzId" => services.retain(|s| {
                    s.management_zones
                        .iter()
                        .any(|z| c.args.iter().any(|a| *a == entities::mz_id(z)))
                }),
                other => {
                    return Err(ApiError::query(
                        "mzSelector",
                        format!("Unknown mzSelector criterion '{other}'."),
                    ));
                }
            }
        }
    }
    Ok(services)
}

/// Runs one expression; returns the result entry and the resolution label.
fn run_expr(
    sc: &Scenario,
    e: &Expr,
    services: &[&ServiceDef],
    from: i64,
    to: i64,
    now: i64,
    res: &Res,
) -> Result<(Value, String, usize), ApiError> {
    let def = metric_of(sc, &e.key)?;
    let allowed = allowed_aggregations(def);
    let mut stat = None;
    let mut shift = 0;
    for t in &e.transforms {
        match t {
            Transform::Agg(s) => {
                if !allowed.iter().any(|a| a == s.type_name()) {
                    return Err(ApiError::new(
                        400,
                        format!(
                            "The aggregation '{}' is not supported by the metric '{}'. Supported: {}.",
                            s.key(),
                            e.key,
                            allowed.join(", ")
                        ),
                    ));
                }
                if stat.is_none() {
                    stat = Some(s.clone());
                }
            }
            Transform::Timeshift(d) => shift += d,
            _ => {}
        }
    }
    let stat = match stat {
        None | Some(Stat::Auto) => default_stat(def),
        Some(s) => s,
    };
    let (slot_ms, label) = resolve_res(res, from, to);
    if slot_ms.is_none() && !def.resolution_inf_supported {
        return Err(ApiError::query(
            "resolution",
            format!("The metric '{}' does not support resolution Inf.", e.key),
        ));
    }
    let windows: Vec<(i64, i64)> = match slot_ms {
        None => vec![(from, to)],
        Some(ms) => slots(from, to, ms),
    };
    if windows.len() > MAX_POINTS {
        return Err(ApiError::query(
            "resolution",
            format!(
                "The query would return more than {MAX_POINTS} data points per series; use a coarser resolution."
            ),
        ));
    }
    let mut timestamps: Vec<i64> = match slot_ms {
        None => vec![to],
        Some(_) => windows.iter().map(|w| w.1).collect(),
    };
    let scoped: Vec<&ServiceDef> = services
        .iter()
        .copied()
        .filter(|s| applies(def, s))
        .collect();
    let minutes: i64 = windows.iter().map(|(a, b)| (b - a) / MINUTE + 1).sum();
    if minutes as usize * scoped.len().max(1) > MAX_MINUTES {
        return Err(ApiError::query(
            "from",
            "The timeframe is too long for the simulator at this resolution.",
        ));
    }
    let mut series: Vec<Series> = scoped
        .iter()
        .map(|svc| {
            let g = Gen::new(sc, &e.key, def, svc, &stat, now);
            Series {
                dims: vec![("dt.entity.service".to_string(), svc.id.clone())],
                values: windows
                    .iter()
                    .map(|(a, b)| g.slot(a + shift, b + shift))
                    .collect(),
            }
        })
        .filter(|s| s.values.iter().any(Option::is_some))
        .collect();
    let mut unit = def.unit.clone();
    for t in &e.transforms {
        match t {
            Transform::Agg(_) | Transform::Timeshift(_) => {}
            Transform::SplitBy(keep) => {
                series = group(
                    series,
                    |k| keep.iter().any(|x| x == base_dim(k)),
                    merge_reduce(&stat, &unit),
                );
            }
            Transform::Merge(drop) => {
                series = group(
                    series,
                    |k| !drop.iter().any(|x| x == base_dim(k)),
                    merge_reduce(&stat, &unit),
                );
            }
            Transform::Fold(how) => {
                let r = how
                    .as_ref()
                    .map(explicit_reduce)
                    .unwrap_or_else(|| fold_reduce(&stat));
                for s in &mut series {
                    s.values = vec![reduce(s.values.iter().copied(), r)];
                }
                timestamps = vec![to];
            }
            Transform::Names => {
                for s in &mut series {
                    let mut dims = Vec::new();
                    for (k, v) in &s.dims {
                        if k.starts_with("dt.entity.") && !k.ends_with(".name") {
                            let name_key = format!("{k}.name");
                            if !s.dims.iter().any(|(dk, _)| *dk == name_key) {
                                let name = sc
                                    .services
                                    .iter()
                                    .find(|x| x.id == *v)
                                    .map(|x| x.name.clone())
                                    .unwrap_or_else(|| v.clone());
                                dims.push((name_key, name));
                            }
                        }
                        dims.push((k.clone(), v.clone()));
                    }
                    s.dims = dims;
                }
            }
            Transform::Filter(c) => {
                let mut kept = Vec::new();
                for s in series {
                    if eval_cond(c, &s, sc)? {
                        kept.push(s);
                    }
                }
                series = kept;
            }
            Transform::Default(v, always) => {
                for s in &mut series {
                    for x in &mut s.values {
                        if x.is_none() {
                            *x = Some(*v);
                        }
                    }
                }
                if *always && series.is_empty() {
                    series.push(Series {
                        dims: Vec::new(),
                        values: vec![Some(*v); timestamps.len()],
                    });
                }
            }
            Transform::ToUnit(a, b) => {
                let f = unit_factor(&unit, a, b)?;
                for s in &mut series {
                    for x in s.values.iter_mut().flatten() {
                        *x *= f;
                    }
                }
                unit = b.clone();
            }
            Transform::Limit(n) => series.truncate(*n),
            Transform::Sort(keys) => {
                series.sort_by(|x, y| {
                    for k in keys {
                        let o = match k {
                            SortKey::Value(st, desc) => {
                                let a = reduce(x.values.iter().copied(), explicit_reduce(st));
                                let b = reduce(y.values.iter().copied(), explicit_reduce(st));
                                cmp_opt(a, b, *desc, |a, b| a.total_cmp(b))
                            }
                            SortKey::Dimension(d, desc) => {
                                let get = |s: &Series| {
                                    s.dims.iter().find(|(k, _)| k == d).map(|(_, v)| v.clone())
                                };
                                cmp_opt(get(x), get(y), *desc, |a, b| a.cmp(b))
                            }
                        };
                        if o != std::cmp::Ordering::Equal {
                            return o;
                        }
                    }
                    std::cmp::Ordering::Equal
                });
            }
        }
    }
    let n = series.len();
    let points: usize = series.iter().map(|s| s.values.len()).sum();
    let data: Vec<Value> = series
        .into_iter()
        .map(|s| {
            let mut map = Map::new();
            for (k, v) in &s.dims {
                map.insert(k.clone(), json!(v));
            }
            json!({
                "dimensions": s.dims.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
                "dimensionMap": map,
                "timestamps": timestamps,
                "values": s.values,
            })
        })
        .collect();
    let result = json!({
        "metricId": e.text,
        "dataPointCountRatio": points as f64 / 10_000_000.0,
        "dimensionCountRatio": n as f64 / 100_000.0,
        "data": data,
    });
    Ok((result, label, n))
}

fn cmp_opt<T>(
    a: Option<T>,
    b: Option<T>,
    desc: bool,
    f: impl Fn(&T, &T) -> std::cmp::Ordering,
) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Some(a), Some(b)) => {
            let o = f(&a, &b);
            if desc { o.reverse() } else { o }
        }
        (Some(_), None) => Less,
        (None, Some(_)) => Greater,
        (None, None) => Equal,
    }
}

/// `GET /api/v2/metrics/query`.
pub fn query(sc: &Scenario, params: &Params, now: i64) -> ApiResult {
    if params.get("nextPageKey").is_some() {
        return Err(ApiError::query("nextPageKey", "Invalid nextPageKey."));
    }
    let Some(sel) = params.get_nonblank("metricSelector") else {
        return Err(ApiError::query(
            "nextPageKey",
            "expected one of nextPageKey or metricSelector to be specified",
        ));
    };
    let (from, to) = time::window(params, now, "now-2h")?;
    let exprs = parse_selector(sel, sc)?;
    for e in &exprs {
        metric_of(sc, &e.key)?;
    }
    let services = select_scope(sc, params)?;
    let res = parse_resolution(params.get("resolution"), exprs.len())?;
    let mut results = Vec::new();
    let mut total = 0;
    let mut label0 = None;
    for (e, r) in exprs.iter().zip(res.iter()) {
        let (v, label, n) = run_expr(sc, e, &services, from, to, now, r)?;
        label0.get_or_insert(label);
        total += n;
        results.push(v);
    }
    Ok(Reply::ok(json!({
        "totalCount": total,
        "nextPageKey": null,
        "resolution": label0.unwrap_or_default(),
        "warnings": [],
        "result": results,
    })))
}

fn descriptor_json(metric_id: &str, key: &str, def: &MetricDef, unit: &str, split: bool) -> Value {
    let mut types = allowed_aggregations(def);
    types.sort();
    let dims = if split {
        json!([{"key": "dt.entity.service", "name": "Service", "displayName": "Service",
                "index": 0, "type": "ENTITY"}])
    } else {
        json!([])
    };
    json!({
        "metricId": metric_id,
        "displayName": display_name(key, def),
        "description": "",
        "unit": unit,
        "tags": [],
        "dduBillable": false,
        "created": 0,
        "lastWritten": null,
        "entityType": ["SERVICE"],
        "aggregationTypes": types,
        "transformations": ["filter", "fold", "limit", "merge", "names", "parents", "timeshift",
                            "sort", "last", "splitBy", "lastReal", "setUnit"],
        "defaultAggregation": {"type": default_stat(def).key()},
        "dimensionDefinitions": dims,
        "metricValueType": {"type": "unknown"},
        "resolutionInfSupported": def.resolution_inf_supported,
    })
}

/// `GET /api/v2/metrics/{selector}` (the selector already percent-decoded).
pub fn descriptor(sc: &Scenario, selector: &str) -> ApiResult {
    let exprs = parse_selector(selector, sc)?;
    if exprs.len() != 1 {
        return Err(parse_error("the path takes exactly one metric expression"));
    }
    let e = &exprs[0];
    let def = metric_of(sc, &e.key)?;
    let mut unit = def.unit.clone();
    let mut split = true;
    for t in &e.transforms {
        match t {
            Transform::ToUnit(a, b) => {
                unit_factor(&unit, a, b)?;
                unit = b.clone();
            }
            Transform::SplitBy(k) if !k.iter().any(|x| x == "dt.entity.service") => split = false,
            Transform::Merge(k) if k.iter().any(|x| x == "dt.entity.service") => split = false,
            _ => {}
        }
    }
    Ok(Reply::ok(descriptor_json(
        &e.text, &e.key, def, &unit, split,
    )))
}

/// `GET /api/v2/metrics` (list; `metricSelector` with `*` wildcards, `text`).
pub fn list(sc: &Scenario, params: &Params) -> ApiResult {
    let (params, offset, size) = resolve_page("metrics", params, &["fields"])?;
    let size = match size {
        Some(s) => s,
        None => page_size(&params, 100, 500)?,
    };
    let patterns: Vec<String> = match params.get_nonblank("metricSelector") {
        Some(s) => split_top(s, ',')
            .map_err(parse_error)?
            .iter()
            .map(|p| p.trim().to_string())
            .collect(),
        None => vec!["*".into()],
    };
    let text = params.get_nonblank("text").map(str::to_lowercase);
    let found: Vec<Value> = sc
        .metrics
        .iter()
        .filter(|(k, _)| patterns.iter().any(|p| glob_match(p, k)))
        .filter(|(k, d)| {
            text.as_ref().is_none_or(|t| {
                k.to_lowercase().contains(t) || display_name(k, d).to_lowercase().contains(t)
            })
        })
        .map(|(k, d)| descriptor_json(k, k, d, &d.unit, true))
        .collect();
    let total = found.len();
    let next = if offset + size < total {
        json!(encode_cursor("metrics", &params, offset + size, size))
    } else {
        Value::Null
    };
    let page: Vec<Value> = found.into_iter().skip(offset).take(size).collect();
    Ok(Reply::ok(
        json!({"totalCount": total, "nextPageKey": next, "metrics": page}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc() -> Scenario {
        crate::scenario_from_json(
            r#"{"seed": 1, "now": "2026-11-17T12:00:00Z",
                "services": [{"id": "SERVICE-1", "name": "checkout"}],
                "metrics": {"builtin:service.response.time": {"unit": "MicroSecond",
                   "baseline": {"avg": 1000, "percentile(90)": 1800, "percentile(99)": 3000}}}}"#,
        )
        .unwrap()
    }

    #[test]
    fn parses_keys_and_transforms() {
        let sc = sc();
        let e = parse_selector(
            r#"builtin:service.response.time:percentile(95):splitBy("dt.entity.service"):names,(builtin:service.response.time:splitBy()):toUnit(MicroSecond,MilliSecond)"#,
            &sc,
        )
        .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].key, "builtin:service.response.time");
        assert_eq!(e[0].transforms[0], Transform::Agg(Stat::Percentile(95.0)));
        assert_eq!(
            e[0].transforms[1],
            Transform::SplitBy(vec!["dt.entity.service".into()])
        );
        assert_eq!(e[0].transforms[2], Transform::Names);
        assert_eq!(
            e[1].text,
            "(builtin:service.response.time:splitBy()):toUnit(MicroSecond,MilliSecond)"
        );
        assert_eq!(e[1].transforms[0], Transform::SplitBy(vec![]));
        assert_eq!(
            e[1].transforms[1],
            Transform::ToUnit("MicroSecond".into(), "MilliSecond".into())
        );
        let e = parse_selector(r#"builtin:x.y:filter(and(eq("a","b"),not(in("dt.entity.service",entitySelector("type(SERVICE),tag(~"a:b~")"))))):sort(value(avg,descending)):limit(3):default(0,always):fold(max):timeshift(-1w)"#, &sc).unwrap();
        assert_eq!(e[0].key, "builtin:x.y");
        assert_eq!(e[0].transforms.len(), 6);
        assert!(parse_selector("a:bogus", &sc).is_err());
        assert!(parse_selector("(a", &sc).is_err());
        assert!(parse_selector("(a)*(b)", &sc).is_err());
        assert!(parse_selector("a:percentile(101)", &sc).is_err());
        assert_eq!(
            parse_selector("a,b,c,d,e,f,g,h,i,j,k", &sc)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            parse_selector("a:splitBy", &sc).unwrap_err().message,
            "Metric selector parse error"
        );
    }

    #[test]
    fn derived_baselines() {
        let sc = sc();
        let d = &sc.metrics["builtin:service.response.time"];
        assert_eq!(baseline_for(d, &Stat::Avg), Some(1000.0));
        assert_eq!(baseline_for(d, &Stat::Percentile(90.0)), Some(1800.0));
        let p95 = baseline_for(d, &Stat::Percentile(95.0)).unwrap();
        assert!(p95 > 1800.0 && p95 < 3000.0);
        assert_eq!(baseline_for(d, &Stat::Median), Some(1000.0));
        assert!(baseline_for(d, &Stat::Max).unwrap() > 3000.0);
        assert!(baseline_for(d, &Stat::Min).unwrap() < 1000.0);
    }

    #[test]
    fn slots_align() {
        let from = 1_794_916_800_000 - DAY;
        let s = slots(from, from + DAY, 10 * MINUTE);
        assert_eq!(s.len(), 144);
        assert_eq!(s[0].1, from + 10 * MINUTE);
        let s = slots(from + 3 * MINUTE, from + 60 * MINUTE, 10 * MINUTE);
        assert_eq!(s[0], (from, from + 10 * MINUTE));
        assert_eq!(s.len(), 6);
        assert_eq!(
            resolve_res(&Res::Points(120), from, from + 2 * HOUR).1,
            "1m"
        );
        assert_eq!(resolve_res(&Res::Points(120), from, from + DAY).1, "15m");
        assert_eq!(
            reduce([Some(1.0), None, Some(3.0)].into_iter(), Reduce::Mean),
            Some(2.0)
        );
        assert_eq!(
            reduce([Some(1.0), Some(3.0)].into_iter(), Reduce::Pct(50.0)),
            Some(1.0)
        );
    }

    #[test]
    fn units() {
        assert_eq!(
            unit_factor("MicroSecond", "MicroSecond", "MilliSecond").unwrap(),
            1e-3
        );
        assert_eq!(unit_factor("Byte", "Byte", "KiloByte").unwrap(), 1e-3);
        let e = unit_factor("MicroSecond", "MicroSecond", "Kilo").unwrap_err();
        assert_eq!(e.message, "No unit found using the Unit Id: 'Kilo'.");
        assert!(unit_factor("MicroSecond", "MilliSecond", "Second").is_err());
        assert!(unit_factor("MicroSecond", "MicroSecond", "Byte").is_err());
    }
}
