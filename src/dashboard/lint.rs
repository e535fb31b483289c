//! `slogate lint --dashboard`: what dynatrace-service did with a dashboard without a word —
//! unknown title keys, pieces without `=`, tiles skipped, `exclude=true` that did not exclude,
//! duplicate SLI names, a note after the Markdown settings, tile timeframes that are ignored —
//! and every error the evaluation would report, each at the tile's title. Pure: the dashboard
//! JSON text in, problems out.

use std::sync::Arc;

use serde_json::Value;

use super::process::{scoring, tile_list, title_of};
use super::title::{self, Title};
use super::{markdown, thresholds, tiles};
use crate::diag::{Origin, Problem, SourceFile};
use crate::model::read::did_you_mean;

const TITLE_KEYS: &[&str] = &["sli", "pass", "warning", "key", "weight", "exclude"];

/// Finds each tile's text in the file so a problem points at its line: tile `i` lies between the
/// `"tileType"` keys of its neighbours.
struct Locator {
    file: Arc<SourceFile>,
    types: Vec<usize>,
}

impl Locator {
    fn new(file: Arc<SourceFile>) -> Self {
        let types = file
            .text
            .match_indices("\"tileType\"")
            .map(|(i, _)| i)
            .collect();
        Locator { file, types }
    }

    /// The tile's `"tileType"` key.
    fn tile(&self, i: usize) -> Origin {
        match self.types.get(i) {
            Some(&p) => Origin::new(&self.file, p..p + "\"tileType\"".len()),
            None => Origin::new(&self.file, 0..0),
        }
    }

    /// `needle` (JSON-encoded) within tile `i`, else the tile's type key.
    fn find(&self, i: usize, needle: &str) -> Origin {
        let encoded = serde_json::to_string(needle).unwrap_or_default();
        let text = &self.file.text;
        let from = if i == 0 {
            0
        } else {
            self.types.get(i - 1).map_or(0, |p| p + 1)
        };
        let to = self
            .types
            .get(i + 1)
            .copied()
            .unwrap_or(text.len())
            .min(text.len());
        // Dynatrace's exports escape `<`, `>` and `&` as `\u003c` …; try both spellings.
        let escaped = encoded
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026");
        for e in [&encoded, &escaped] {
            if !needle.is_empty()
                && from <= to
                && let Some(k) = text[from..to].find(e.as_str())
            {
                return Origin::new(&self.file, from + k..from + k + e.len());
            }
        }
        self.tile(i)
    }
}

/// Lints a dashboard given as JSON text (`name` is the file, or `dashboard <id>`).
pub fn check(name: &str, text: &str) -> Vec<Problem> {
    let file = SourceFile::new(name, text);
    let dashboard: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return vec![Problem::file(
                "slogate::dashboard",
                name,
                format!("not a dashboard: the JSON does not parse ({e})"),
            )
            .help("save the dashboard with Dynatrace's \"Export\" (classic dashboards), or give its ID")];
        }
    };
    let mut out = Vec::new();
    if dashboard.get("tiles").and_then(Value::as_array).is_none() {
        out.push(
            Problem::file("slogate::dashboard", name, "not a classic dashboard: it has no `tiles` list")
                .help("dashboard mode reads classic dashboards (Config API v1); Grail dashboards are not supported"),
        );
        return out;
    }
    let loc = Locator::new(file.clone());
    if let Err(e) = scoring(&dashboard) {
        out.push(
            Problem::file("slogate::dashboard-markdown", name, format!("the KQG Markdown tile is wrong: {e}"))
                .help("the evaluation stops on it; write KQG.Total.Pass=90%;KQG.Total.Warning=75%;KQG.Compare.WithScore=pass;KQG.Compare.Results=1;KQG.Compare.Function=avg"),
        );
    }
    if dashboard
        .pointer("/dashboardMetadata/dashboardFilter/timeframe")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty())
    {
        out.push(
            Problem::file("slogate::dashboard-timeframe", name, "the dashboard's timeframe is ignored: every tile is queried for the evaluation window")
                .help("remove the dashboard timeframe, or keep it for viewing only"),
        );
    }
    let mut names: Vec<(String, String, Origin)> = Vec::new();
    for (index, tile) in tile_list(&dashboard).iter().enumerate() {
        let at_tile = loc.tile(index);
        let kind = tile.get("tileType").and_then(Value::as_str).unwrap_or("");
        if kind == "MARKDOWN" {
            let md = tile.get("markdown").and_then(Value::as_str).unwrap_or("");
            if markdown::is_kqg(md)
                && let Some(note) = markdown::trailing_note(md)
            {
                let at = loc.find(index, md);
                out.push(
                    Problem::error("slogate::dashboard-markdown", &at, format!("tile {index}: the text after the KQG settings becomes part of the last value: {:?}", note.chars().take(60).collect::<String>()))
                        .help("end the last setting with `;` before the note, or move the note to another Markdown tile"),
                );
            }
            continue;
        }
        let Some(text) = title_of(tile) else {
            if kind == "SLO"
                && tile
                    .get("assignedEntities")
                    .and_then(Value::as_array)
                    .is_none_or(Vec::is_empty)
            {
                out.push(
                    Problem::error(
                        "slogate::dashboard-tile",
                        &at_tile,
                        format!("tile {index} (SLO): SLO tile contains no SLO IDs"),
                    )
                    .help("assign an SLO to the tile, or remove it"),
                );
            }
            if kind == "SLO" || kind == "OPEN_PROBLEMS" {
                let (sli, display) = if kind == "OPEN_PROBLEMS" {
                    ("problems".to_string(), String::new())
                } else {
                    continue;
                };
                names.push((sli, display, at_tile.clone()));
            }
            continue;
        };
        let at = loc.find(index, &text);
        let what = format!("tile {index} \"{text}\"");
        let t = title::parse(&text);
        for i in &t.ignored {
            let mut p = Problem::warning(
                "slogate::dashboard-title",
                &at,
                format!("{what}: {i} (upstream dropped it without a word)"),
            );
            if let Some(key) = i
                .strip_prefix("unknown key `")
                .and_then(|r| r.split('`').next())
                && let Some(k) = did_you_mean(key, TITLE_KEYS)
            {
                p = p.help(format!("did you mean `{k}=`?"));
            } else if i.contains("has no `=`") {
                p = p.help("write key=value, e.g. pass=<500");
            }
            out.push(p);
        }
        if t.sli.is_empty() {
            if !text.trim().is_empty() {
                out.push(
                    Problem::warning(
                        "slogate::dashboard-title",
                        &at,
                        format!("{what}: the title gives no SLI name, so the tile is skipped"),
                    )
                    .help("start the title with a name, or write sli=<name>"),
                );
            }
            continue;
        }
        if t.exclude && t.errors.is_empty() {
            continue;
        }
        if t.exclude {
            out.push(
                Problem::warning("slogate::dashboard-title", &at, format!("{what}: exclude=true does not exclude a title with errors: the tile fails instead"))
                    .help("fix the title's errors (below) or remove the other keys"),
            );
        }
        if let Some(e) = t.error() {
            out.push(
                Problem::error("slogate::dashboard-title", &at, format!("{what}: {e}"))
                    .help("the SLI fails at every evaluation; fix the title"),
            );
        }
        check_tile(&dashboard, tile, kind, &t, &what, &at, &mut out);
        let tf = tile
            .pointer("/tileFilter/timeframe")
            .and_then(Value::as_str);
        if tf.is_some_and(|t| !t.is_empty()) {
            out.push(
                Problem::warning("slogate::dashboard-timeframe", &at, format!("{what}: the tile's timeframe {:?} is ignored: it is queried for the evaluation window", tf.unwrap_or("")))
                    .help("remove the tile's custom timeframe"),
            );
        }
        names.push((t.sli.clone(), t.display_name.clone(), at.clone()));
    }
    for (i, (sli, display, at)) in names.iter().enumerate() {
        let sli_dup = names.iter().filter(|n| &n.0 == sli).count() > 1;
        let display_dup =
            !display.is_empty() && names.iter().filter(|n| &n.1 == display).count() > 1;
        let first = names
            .iter()
            .position(|n| &n.0 == sli || (!display.is_empty() && &n.1 == display))
            == Some(i);
        if (sli_dup || display_dup) && first {
            let what = if sli_dup {
                format!("SLI name `{sli}`")
            } else {
                format!("display name {display:?}")
            };
            out.push(
                Problem::error(
                    "slogate::dashboard-duplicate",
                    at,
                    format!("duplicate {what}: every tile using it fails"),
                )
                .help("give each tile its own sli=<name> and display name"),
            );
        }
    }
    out
}

fn check_tile(
    dashboard: &Value,
    tile: &Value,
    kind: &str,
    t: &Title,
    what: &str,
    at: &Origin,
    out: &mut Vec<Problem>,
) {
    let mut err = |m: String, help: &str| {
        out.push(
            Problem::error("slogate::dashboard-tile", at, format!("{what}: {m}"))
                .help(help.to_string()),
        )
    };
    match kind {
        "DATA_EXPLORER" => {
            let (plan, _) = tiles::data_explorer(dashboard, tile, t);
            if let Err(problems) = plan {
                for p in problems
                    .iter()
                    .filter(|p| !p.starts_with("error parsing SLO definition"))
                {
                    err(
                        p.clone(),
                        "the SLI fails at every evaluation; fix the tile's query or thresholds",
                    );
                }
            }
            if t.pass.is_empty()
                && t.warning.is_empty()
                && thresholds::loses_precision(tile.pointer("/visualConfig/thresholds"))
            {
                out.push(Problem::warning("slogate::dashboard-threshold", at, format!("{what}: a threshold has more than six decimals: Keptn rounded it (`0.0000004` became `0.000000`); slogate keeps it exact")).help("write the criteria in the title (pass=<0.0005) or use a larger unit"));
            }
        }
        "CUSTOM_CHARTING" => match tiles::chart_series(tile) {
            Err(e) => err(e, "give the chart exactly one series"),
            Ok(s) => {
                let dims = s
                    .get("dimensions")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                if dims > 1 {
                    err(
                        "only a single dimension is supported".into(),
                        "split the chart by one dimension at most",
                    );
                }
                if s.get("aggregation").and_then(Value::as_str) == Some("OTHER_RATIO") {
                    out.push(Problem::error("slogate::dashboard-tile", at, format!("{what}: OTHER_RATIO cannot be queried: Keptn asked for the average, the opposite ratio; slogate fails the SLI")).help("use a Data Explorer tile with the ratio you mean"));
                }
                let series_type = s.get("entityType").and_then(Value::as_str).unwrap_or("");
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
                    unknown.sort();
                    if !unknown.is_empty() {
                        out.push(
                            Problem::error(
                                "slogate::dashboard-tile",
                                at,
                                format!("{what}: unknown filters: {}", unknown.join(", ")),
                            )
                            .help("filter by specific entities or tags only"),
                        );
                    }
                }
            }
        },
        "DTAQL" => {
            if tile
                .get("query")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                err(
                    "USQL query should not be empty".into(),
                    "write the tile's query",
                );
            }
            let ty = tile.get("type").and_then(Value::as_str).unwrap_or("");
            if !matches!(
                ty,
                "SINGLE_VALUE" | "COLUMN_CHART" | "LINE_CHART" | "PIE_CHART" | "TABLE"
            ) {
                err(
                    format!("unsupported USQL visualization type: {ty}"),
                    "use SINGLE_VALUE, COLUMN_CHART, LINE_CHART, PIE_CHART or TABLE",
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        check("d.json", text)
            .iter()
            .map(|p| format!("{}: {}", p.code, p.message))
            .collect()
    }

    #[test]
    fn silent_drops_are_reported_at_the_title() {
        let d = r#"{"tiles": [
            {"tileType": "DATA_EXPLORER", "name": "rt;sli=rt;pass<500;wieght=2", "queries": [{"id": "A", "enabled": true}], "metricExpressions": ["resolution=null&m"]},
            {"tileType": "DATA_EXPLORER", "name": "sli=", "queries": [{"id": "A", "enabled": true}], "metricExpressions": ["resolution=null&m"]},
            {"tileType": "DATA_EXPLORER", "name": "x;sli=rt;exclude=true;pass=<5ms", "queries": [{"id": "A", "enabled": true}], "metricExpressions": ["resolution=null&m"], "tileFilter": {"timeframe": "-2h"}},
            {"tileType": "MARKDOWN", "markdown": "KQG.Total.Pass=90%;KQG.Compare.Function=avg\n\nsee the bridge"}
        ]}"#;
        let found = codes(d);
        let all = found.join("\n");
        assert!(all.contains("`pass<500` has no `=`"), "{all}");
        assert!(all.contains("unknown key `wieght`"), "{all}");
        assert!(all.contains("gives no SLI name"), "{all}");
        assert!(all.contains("exclude=true does not exclude"), "{all}");
        assert!(all.contains("timeframe \"-2h\" is ignored"), "{all}");
        assert!(all.contains("duplicate SLI name `rt`"), "{all}");
        assert!(all.contains("text after the KQG settings"), "{all}");
        let p = check("d.json", d);
        let unknown = p
            .iter()
            .find(|p| p.message.contains("unknown key `wieght`"))
            .unwrap();
        assert_eq!(unknown.help.as_deref(), Some("did you mean `weight=`?"));
        assert_eq!(unknown.line_col().map(|l| l.0), Some(2));
    }

    #[test]
    fn a_clean_dashboard_has_no_findings() {
        let d = r#"{"tiles": [{"tileType": "DATA_EXPLORER", "name": "rt;sli=rt;pass=<500", "queries": [{"id": "A", "enabled": true}], "metricExpressions": ["resolution=null&m"]},
            {"tileType": "OPEN_PROBLEMS"}]}"#;
        assert!(codes(d).is_empty(), "{:?}", codes(d));
        assert!(!codes("{").is_empty());
    }
}
