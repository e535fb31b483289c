//! Tiles → what to ask Dynatrace (reference §5, §6, §7). Pure: the IO in `process` follows
//! these plans.

use serde_json::Value;

use super::thresholds;
use super::title::{self, Title};

/// Where an SLI came from: the tile's index in the dashboard (0-based) and its title.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TileRef {
    pub index: usize,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl TileRef {
    pub fn describe(&self) -> String {
        if self.title.is_empty() {
            format!("tile {} ({})", self.index, self.kind)
        } else {
            format!("tile {} \"{}\"", self.index, self.title)
        }
    }
}

/// A metrics query of a Data Explorer or custom charting tile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsPlan {
    pub selector: String,
    pub entity_selector: Option<String>,
    pub resolution: Option<String>,
    pub mz: Option<String>,
    /// Target unit (`unitTransform` / `leftAxisCustomUnit`); `""`, `auto`, `none` keep it.
    pub unit: String,
    /// Data Explorer `SINGLE_VALUE`: several series are a warning.
    pub single_value: bool,
}

/// The management zone name for a tile: the tile's beats the dashboard's; `all` is none.
pub fn zone(dashboard: &Value, tile: &Value) -> Option<String> {
    let of = |v: Option<&Value>| -> Option<Option<String>> {
        let mz = v?.as_object()?;
        if mz.get("id").and_then(Value::as_str) == Some("all") {
            return Some(None);
        }
        Some(mz.get("name").and_then(Value::as_str).map(str::to_string))
    };
    let tile_mz = of(tile.pointer("/tileFilter/managementZone"));
    let dash_mz = of(dashboard.pointer("/dashboardMetadata/dashboardFilter/managementZone"));
    match tile_mz {
        Some(z) => z,
        None => dash_mz.flatten(),
    }
}

/// A quoted selector value with Dynatrace's escaping (`~` before `~` and `"`); Keptn quoted
/// without escaping, so a name with a quote broke the selector (docs/decisions.md).
pub fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if c == '~' || c == '"' {
            out.push('~');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `mzName("<name>")`.
pub fn mz_selector(name: &str) -> String {
    format!("mzName({})", quoted(name))
}

/// Go's `%q` for the problem selector.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a Data Explorer tile asks for, or upstream's validation problems.
pub fn data_explorer(
    dashboard: &Value,
    tile: &Value,
    t: &Title,
) -> (
    Result<MetricsPlan, Vec<String>>,
    Option<thresholds::Criteria>,
) {
    let mut problems: Vec<String> = t.error().into_iter().collect();
    let queries = tile
        .get("queries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let enabled: Vec<&Value> = queries
        .iter()
        .filter(|q| q.get("enabled").and_then(Value::as_bool).unwrap_or(false))
        .collect();
    let mut query_id = None;
    if queries.is_empty() {
        problems.push("Data Explorer tile has no query".into());
    } else if enabled.is_empty() {
        problems.push("Data Explorer tile has no query enabled".into());
    } else if enabled.len() > 1 {
        problems.push(format!(
            "Data Explorer tile has {} queries enabled but only one is supported",
            enabled.len()
        ));
    } else {
        query_id = enabled[0]
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let exprs = tile
        .get("metricExpressions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut selector = None;
    let mut resolution = None;
    match exprs.first().and_then(Value::as_str) {
        None => problems.push("Data Explorer tile has no metric expressions".into()),
        Some(expr) => match expr.split_once('&') {
            None => problems.push(format!(
                "metric expression does not contain two components: {expr}"
            )),
            Some((res, sel)) => match res.strip_prefix("resolution=") {
                None => problems.push(format!(
                    "could not parse resolution metric expression component: unexpected prefix in key value pair: {res}"
                )),
                Some("") => problems.push(
                    "could not parse resolution metric expression component: resolution must not be empty".into(),
                ),
                Some(r) => {
                    resolution = (r != "null").then(|| r.to_string());
                    selector = Some(sel.to_string());
                }
            },
        },
    }
    let mut unit = String::new();
    if let Some(id) = &query_id {
        let matcher = format!("{id}:");
        let rules: Vec<&Value> = tile
            .pointer("/visualConfig/rules")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter(|r| r.get("matcher").and_then(Value::as_str) == Some(matcher.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        match rules.as_slice() {
            [] => {}
            [one] => {
                unit = one
                    .get("unitTransform")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            }
            many => problems.push(format!(
                "could not get unit transform: expected one visualization rule for query '{id}' but found {}",
                many.len()
            )),
        }
    }
    let mut criteria = None;
    if t.pass.is_empty() && t.warning.is_empty() {
        match thresholds::criteria(tile.pointer("/visualConfig/thresholds")) {
            Ok(c) => criteria = c,
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return (Err(problems), criteria);
    }
    let single_value =
        tile.pointer("/visualConfig/type").and_then(Value::as_str) == Some("SINGLE_VALUE");
    (
        Ok(MetricsPlan {
            selector: selector.unwrap_or_default(),
            entity_selector: None,
            resolution,
            mz: zone(dashboard, tile).map(|z| mz_selector(&z)),
            unit,
            single_value,
        }),
        criteria,
    )
}

/// The custom chart's single series, or upstream's message.
pub fn chart_series(tile: &Value) -> Result<&Value, String> {
    let series = tile
        .pointer("/filterConfig/chartConfig/series")
        .and_then(Value::as_array);
    match series.map(Vec::as_slice) {
        Some([one]) => Ok(one),
        _ => Err("Custom charting tile must have exactly one series".into()),
    }
}

/// The custom chart's metric query, given the metric's descriptor (reference §5 custom chart).
pub fn custom_chart(
    dashboard: &Value,
    tile: &Value,
    series: &Value,
    descriptor: &Value,
) -> Result<MetricsPlan, String> {
    let metric = series.get("metric").and_then(Value::as_str).unwrap_or("");
    let aggregation = series
        .get("aggregation")
        .and_then(Value::as_str)
        .unwrap_or("");
    let agg = match aggregation {
        "NONE" => descriptor
            .pointer("/defaultAggregation/type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        "PERCENTILE" => format!(
            "percentile({:.6})",
            series.get("percentile").and_then(Value::as_f64).unwrap_or(95.0)
        ),
        "OF_INTEREST_RATIO" => "avg".into(),
        // Keptn sent `avg` here too: the ratio of interest, the opposite of what the chart shows.
        "OTHER_RATIO" => {
            return Err("aggregation OTHER_RATIO cannot be expressed as a metric selector (Keptn queried the opposite ratio); use a Data Explorer tile".into());
        }
        other => other.to_string(),
    }
    .to_lowercase();
    let dims = series
        .get("dimensions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let (filter, split) = match dims.as_slice() {
        [] => (String::new(), ":splitBy()".to_string()),
        [d] => {
            let name = d.get("name").and_then(Value::as_str).unwrap_or("");
            let values = d
                .get("values")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let filter = match values.as_slice() {
                [] => String::new(),
                [v] => format!(":filter(eq({name},{}))", v.as_str().unwrap_or("")),
                _ => return Err("only a single dimension filter is supported".into()),
            };
            (filter, format!(":splitBy(\"{name}\")"))
        }
        _ => return Err("only a single dimension is supported".into()),
    };
    let selector = format!("{metric}{filter}{split}:{agg}:names");
    let series_type = series
        .get("entityType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let entity_type = descriptor
        .get("entityType")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .unwrap_or(series_type);
    let mut filters = String::new();
    if let Some(f) = tile
        .pointer("/filterConfig/filtersPerEntityType")
        .and_then(|f| f.get(series_type))
        .and_then(Value::as_object)
    {
        let mut unknown: Vec<&str> = f
            .keys()
            .map(String::as_str)
            .filter(|k| !matches!(*k, "SPECIFIC_ENTITIES" | "AUTO_TAGS"))
            .collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(format!(
                "could not create entity selector: could not get filter for entity type {series_type}: unknown filters: {}",
                unknown.join(", ")
            ));
        }
        let strings = |k: &str| -> Vec<String> {
            f.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        for id in strings("SPECIFIC_ENTITIES") {
            filters.push_str(&format!(",entityId({})", quoted(&id)));
        }
        for t in strings("AUTO_TAGS") {
            filters.push_str(&format!(",tag({})", quoted(&t)));
        }
    }
    let entity_selector = if series_type == "SERVICE_KEY_REQUEST" && !filters.is_empty() {
        format!(
            "type({entity_type}),fromRelationships.isServiceMethodOfService(type(SERVICE){filters})"
        )
    } else {
        format!("type({entity_type}){filters}")
    };
    Ok(MetricsPlan {
        selector,
        entity_selector: Some(entity_selector),
        resolution: None,
        mz: zone(dashboard, tile).map(|z| mz_selector(&z)),
        unit: tile
            .pointer("/filterConfig/chartConfig/leftAxisCustomUnit")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        single_value: false,
    })
}

/// The selector with the unit conversion applied, given the selector's descriptor
/// (reference §6.1). `Ok(None)`: no change.
pub fn convert_unit(selector: &str, target: &str, descriptor: &Value) -> Result<String, String> {
    if matches!(target, "" | "auto" | "none") {
        return Ok(selector.to_string());
    }
    let source = descriptor.get("unit").and_then(Value::as_str).unwrap_or("");
    if source == target {
        return Ok(selector.to_string());
    }
    if matches!(source, "Count" | "Unspecified") {
        let divisor = match target {
            "Kilo" => "1000",
            "Million" => "1000000",
            "Billion" => "1000000000",
            "Trillion" => "1000000000000",
            other => return Err(format!("unknown unit '{other}'")),
        };
        return Ok(format!("({selector})/{divisor}"));
    }
    let has_to_unit = descriptor
        .get("transformations")
        .and_then(Value::as_array)
        .is_some_and(|t| t.iter().any(|x| x.as_str() == Some("toUnit")));
    Ok(if has_to_unit {
        format!("({selector}):toUnit({source},{target})")
    } else {
        format!("({selector}):auto:toUnit({source},{target})")
    })
}

/// A series' name: its `dimensionMap` values (a `<k>.name` value replaces `<k>`'s; empty ones
/// skipped), sorted by key, joined by a space.
pub fn series_name(series: &Value) -> String {
    let Some(map) = series.get("dimensionMap").and_then(Value::as_object) else {
        return String::new();
    };
    let mut keys: Vec<&String> = map
        .keys()
        .filter(|k| !(k.ends_with(".name") && map.contains_key(&k[..k.len() - 5])))
        .collect();
    keys.sort();
    keys.iter()
        .filter_map(|k| {
            let v = map
                .get(&format!("{k}.name"))
                .or_else(|| map.get(k.as_str()))
                .and_then(Value::as_str)?;
            (!v.is_empty()).then(|| v.to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A series' identifying dimensions: its `dimensionMap` without the `.name` companions.
pub fn series_dimensions(series: &Value) -> Vec<(String, String)> {
    let Some(map) = series.get("dimensionMap").and_then(Value::as_object) else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, _)| !(k.ends_with(".name") && map.contains_key(&k[..k.len() - 5])))
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

/// `(<selector>):filter(and(eq("k","v"),…))`: the tile's query for one of its series.
pub fn narrowed(selector: &str, dims: &[(String, String)]) -> String {
    let eqs: Vec<String> = dims
        .iter()
        .map(|(k, v)| format!("eq({},{})", quoted(k), quoted(v)))
        .collect();
    format!("({selector}):filter(and({}))", eqs.join(","))
}

/// SLI and display name of one of several series or rows.
pub fn split_names(t: &Title, name: &str) -> (String, String) {
    (
        format!("{}_{}", t.sli, title::clean(name)),
        format!("{} ({name})", t.display_name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_are_escaped() {
        assert_eq!(quoted("a\"b~c"), "\"a~\"b~~c\"");
        assert_eq!(mz_selector("mz 1"), "mzName(\"mz 1\")");
    }

    #[test]
    fn units() {
        let us = json!({"unit": "MicroSecond", "transformations": ["toUnit"]});
        assert_eq!(
            convert_unit("m", "MilliSecond", &us).unwrap(),
            "(m):toUnit(MicroSecond,MilliSecond)"
        );
        assert_eq!(
            convert_unit("m", "MilliSecond", &json!({"unit": "MicroSecond"})).unwrap(),
            "(m):auto:toUnit(MicroSecond,MilliSecond)"
        );
        assert_eq!(convert_unit("m", "auto", &us).unwrap(), "m");
        let count = json!({"unit": "Count"});
        assert_eq!(convert_unit("m", "Million", &count).unwrap(), "(m)/1000000");
        assert_eq!(
            convert_unit("m", "Byte", &count).unwrap_err(),
            "unknown unit 'Byte'"
        );
    }

    #[test]
    fn series_names() {
        let s = json!({"dimensionMap": {"dt.entity.service.name": "carts", "dt.entity.service": "SERVICE-1", "b": ""}});
        assert_eq!(series_name(&s), "carts");
        let s = json!({"dimensionMap": {"z": "2", "a": "1"}});
        assert_eq!(series_name(&s), "1 2");
    }

    #[test]
    fn one_series_of_several() {
        let s = json!({"dimensionMap": {"dt.entity.service.name": "carts", "dt.entity.service": "SERVICE-1"}});
        let d = series_dimensions(&s);
        assert_eq!(
            narrowed("m:avg", &d),
            "(m:avg):filter(and(eq(\"dt.entity.service\",\"SERVICE-1\")))"
        );
    }

    #[test]
    fn zones() {
        let d = json!({"dashboardMetadata": {"dashboardFilter": {"managementZone": {"id": "1", "name": "mz1"}}}});
        assert_eq!(zone(&d, &json!({})).as_deref(), Some("mz1"));
        assert_eq!(
            zone(
                &d,
                &json!({"tileFilter": {"managementZone": {"id": "all", "name": "All"}}})
            ),
            None
        );
        assert_eq!(
            zone(
                &d,
                &json!({"tileFilter": {"managementZone": {"id": "2", "name": "mz2"}}})
            )
            .as_deref(),
            Some("mz2")
        );
    }

    #[test]
    fn custom_chart_selectors() {
        let tile = json!({"filterConfig": {"chartConfig": {}, "filtersPerEntityType": {"SERVICE": {"AUTO_TAGS": ["t"], "SPECIFIC_ENTITIES": ["SERVICE-1"]}}}});
        let series = json!({"metric": "builtin:service.response.time", "aggregation": "PERCENTILE", "percentile": 95, "entityType": "SERVICE",
            "dimensions": [{"name": "dt.entity.service", "values": ["SERVICE-1"]}]});
        let p = custom_chart(
            &json!({}),
            &tile,
            &series,
            &json!({"entityType": ["SERVICE"]}),
        )
        .unwrap();
        assert_eq!(
            p.selector,
            "builtin:service.response.time:filter(eq(dt.entity.service,SERVICE-1)):splitBy(\"dt.entity.service\"):percentile(95.000000):names"
        );
        assert_eq!(
            p.entity_selector.as_deref(),
            Some("type(SERVICE),entityId(\"SERVICE-1\"),tag(\"t\")")
        );
    }
}
