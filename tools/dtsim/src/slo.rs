//! SLOs (§7): `GET /api/v2/slo/{id}` and `GET /api/v2/slo`.

use serde_json::{Value, json};

use crate::common::{ApiError, ApiResult, Params, Reply, encode_cursor, page_size, resolve_page};
use crate::scenario::{ErrorBudgetMode, Scenario, SloDef};
use crate::selector;

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `SUCCESS` if eval ≥ warning, `WARNING` if target ≤ eval < warning, else `FAILURE`.
pub fn status(eval: f64, target: f64, warning: f64) -> &'static str {
    if eval >= warning {
        "SUCCESS"
    } else if eval >= target {
        "WARNING"
    } else {
        "FAILURE"
    }
}

/// `FAST` at or above the threshold, `SLOW` above 1 (spending faster than the budget lasts),
/// else `NONE`.
pub fn burn_type(rate: f64, fast: f64) -> &'static str {
    if rate >= fast {
        "FAST"
    } else if rate > 1.0 {
        "SLOW"
    } else {
        "NONE"
    }
}

fn timeframe(params: &Params, def: &SloDef, now: i64) -> Result<(i64, i64), ApiError> {
    match params.get_nonblank("timeFrame").unwrap_or("CURRENT") {
        "GTF" => crate::time::window(params, now, "now-2w"),
        "CURRENT" => {
            let spec = def.timeframe.trim();
            let rel = match spec.strip_prefix('-') {
                Some(r) => format!("now-{r}"),
                None => spec.to_string(),
            };
            let from = crate::time::parse_time(&rel, now).unwrap_or(now - crate::time::WEEK);
            Ok((from.min(now - 1), now))
        }
        other => Err(ApiError::query(
            "timeFrame",
            format!("Invalid timeFrame '{other}'; use CURRENT or GTF."),
        )),
    }
}

fn slo_json(sc: &Scenario, def: &SloDef, from: i64, to: i64, evaluate: bool) -> Value {
    let evaluated = if evaluate && def.error == "NONE" {
        def.evaluated_percentage
    } else {
        None
    };
    let (pct, budget, st) = match evaluated {
        Some(e) => {
            let budget = match sc.slo_error_budget {
                ErrorBudgetMode::Difference => e - def.target,
                ErrorBudgetMode::Normalized if def.target < 100.0 => {
                    (e - def.target) / (100.0 - def.target) * 100.0
                }
                ErrorBudgetMode::Normalized => e - def.target,
            };
            (e, budget, status(e, def.target, def.warning))
        }
        None => (-1.0, -1.0, "FAILURE"),
    };
    // Burn rates exist only where they are enabled, and only for an evaluated SLO.
    let burn = match def.burn_rate.filter(|_| evaluated.is_some()) {
        Some(v) => json!({
            "burnRateVisualizationEnabled": true,
            "fastBurnThreshold": def.fast_burn_threshold,
            "burnRateValue": v,
            "burnRateType": burn_type(v, def.fast_burn_threshold),
        }),
        None => json!({"burnRateVisualizationEnabled": def.burn_rate.is_some()}),
    };
    json!({
        "id": def.id,
        "enabled": def.enabled,
        "name": def.name,
        "description": def.description,
        "evaluatedPercentage": pct,
        "errorBudget": budget,
        "status": st,
        "error": def.error,
        "metricExpression": def.metric_expression,
        "target": def.target,
        "warning": def.warning,
        "evaluationType": def.evaluation_type,
        "timeframe": format!("{from} to {to}"),
        "filter": def.filter,
        "relatedOpenProblems": def.related_open_problems,
        "relatedTotalProblems": def.related_total_problems,
        "errorBudgetBurnRate": burn,
    })
}

/// `GET /api/v2/slo/{id}`.
pub fn get(sc: &Scenario, id: &str, params: &Params, now: i64) -> ApiResult {
    let Some(def) = sc.slos.iter().find(|s| s.id == id) else {
        if !is_uuid(id) {
            return Err(ApiError::violation("id", "Not a valid UUID.", "PATH"));
        }
        return Err(ApiError::not_found(format!(
            "SLO with ID '{id}' not found."
        )));
    };
    let (from, to) = timeframe(params, def, now)?;
    Ok(Reply::ok(slo_json(sc, def, from, to, true)))
}

/// `GET /api/v2/slo`.
pub fn list(sc: &Scenario, params: &Params, now: i64) -> ApiResult {
    let (params, offset, size) = resolve_page("slo", params, &[])?;
    let evaluate = params
        .get("evaluate")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let size = match size {
        Some(s) => s,
        None => page_size(&params, 10, if evaluate { 25 } else { 10_000 })?,
    };
    let crit = match params.get_nonblank("sloSelector") {
        Some(s) => selector::parse(s)
            .map_err(|e| ApiError::query("sloSelector", format!("Invalid SLO selector: {e}")))?,
        None => Vec::new(),
    };
    for c in &crit {
        if !matches!(c.name.as_str(), "id" | "name" | "text" | "healthState") {
            return Err(ApiError::query(
                "sloSelector",
                format!("Unknown SLO selector criterion '{}'.", c.name),
            ));
        }
    }
    let found: Vec<&SloDef> = sc
        .slos
        .iter()
        .filter(|s| {
            crit.iter().all(|c| match c.name.as_str() {
                "id" => c.args.contains(&s.id),
                "name" => c.args.contains(&s.name),
                "text" => c.args.iter().any(|a| {
                    let a = a.to_lowercase();
                    s.name.to_lowercase().contains(&a) || s.description.to_lowercase().contains(&a)
                }),
                _ => true,
            })
        })
        .collect();
    let total = found.len();
    let mut slos = Vec::new();
    for def in found.iter().skip(offset).take(size) {
        let (from, to) = timeframe(&params, def, now)?;
        slos.push(slo_json(sc, def, from, to, evaluate));
    }
    let next = if offset + size < total {
        let mut p = params.clone();
        if params.get("timeFrame") == Some("GTF") {
            let (from, to) = crate::time::window(&params, now, "now-2w")?;
            p.set("from", from.to_string());
            p.set("to", to.to_string());
        }
        json!(encode_cursor("slo", &p, offset + size, size))
    } else {
        Value::Null
    };
    Ok(Reply::ok(json!({
        "totalCount": total, "pageSize": size, "nextPageKey": next, "slo": slos
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(status(99.96, 99.9, 99.95), "SUCCESS");
        assert_eq!(status(99.95, 99.9, 99.95), "SUCCESS");
        assert_eq!(status(99.92, 99.9, 99.95), "WARNING");
        assert_eq!(status(99.9, 99.9, 99.95), "WARNING");
        assert_eq!(status(99.0, 99.9, 99.95), "FAILURE");
        assert!(is_uuid("7d07efde-b714-3e6e-ad95-08490e2540c4"));
        assert_eq!(burn_type(12.0, 10.0), "FAST");
        assert_eq!(burn_type(2.0, 10.0), "SLOW");
        assert_eq!(burn_type(0.5, 10.0), "NONE");
        assert!(!is_uuid("nope"));
    }
}
