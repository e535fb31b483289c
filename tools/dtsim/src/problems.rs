//! Problems and security problems (§8).

use serde_json::{Value, json};

use crate::common::{
    ApiError, ApiResult, Hash, Params, Reply, encode_cursor, page_size, resolve_page,
};
use crate::entities::{self, entity_ref, find_service, mz_json, tag_json, tag_matches};
use crate::scenario::{ProblemDef, Scenario, SecurityProblemDef, ServiceDef};
use crate::selector;

/// A problem with its derived fields.
#[derive(Debug, Clone)]
pub struct Problem<'a> {
    pub def: &'a ProblemDef,
    pub id: String,
    pub affected: Vec<&'a ServiceDef>,
    pub root_cause: Option<&'a ServiceDef>,
}

impl Problem<'_> {
    pub fn is_open(&self, now: i64) -> bool {
        self.def.end.is_none_or(|e| e > now)
    }

    pub fn tags(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.affected {
            for t in &s.tags {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    pub fn zones(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in &self.affected {
            for z in &s.management_zones {
                if !out.contains(z) {
                    out.push(z.clone());
                }
            }
        }
        out
    }

    pub fn to_json(&self, now: i64, fields: &[String]) -> Value {
        let open = self.is_open(now);
        let affected: Vec<Value> = self.affected.iter().map(|s| entity_ref(s)).collect();
        let mut v = json!({
            "problemId": self.id,
            "displayId": self.def.display_id,
            "title": self.def.title,
            "impactLevel": self.def.impact,
            "severityLevel": self.def.severity,
            "status": if open { "OPEN" } else { "CLOSED" },
            "affectedEntities": affected,
            "impactedEntities": affected,
            "rootCauseEntity": self.root_cause.map(entity_ref),
            "managementZones": self.zones().iter().map(|z| mz_json(z)).collect::<Vec<_>>(),
            "entityTags": self.tags().iter().map(|t| tag_json(t)).collect::<Vec<_>>(),
            "problemFilters": [],
            "startTime": self.def.start,
            "endTime": if open { -1 } else { self.def.end.unwrap_or(-1) },
        });
        let want = |f: &str| fields.iter().any(|x| x == f);
        if want("evidenceDetails") {
            v["evidenceDetails"] = json!({"totalCount": 0, "details": []});
        }
        if want("impactAnalysis") {
            v["impactAnalysis"] = json!({"impacts": []});
        }
        if want("recentComments") {
            v["recentComments"] = json!({"totalCount": 0, "pageSize": 0, "comments": []});
        }
        v
    }
}

/// All problems of the scenario that have started by `now`.
pub fn all(sc: &Scenario, now: i64) -> Vec<Problem<'_>> {
    sc.problems
        .iter()
        .filter(|p| p.start <= now)
        .map(|p| {
            let mut affected: Vec<&ServiceDef> = Vec::new();
            for k in p.service.iter().chain(p.services.iter()) {
                if let Some(s) = find_service(sc, k)
                    && !affected.iter().any(|a| a.id == s.id)
                {
                    affected.push(s);
                }
            }
            let id = p.problem_id.clone().unwrap_or_else(|| {
                let n = Hash::new(sc.seed).str("problem").str(&p.display_id).value() as i64;
                format!("{n}_{}V2", p.start)
            });
            Problem {
                def: p,
                id,
                affected,
                root_cause: p.root_cause.as_deref().and_then(|r| find_service(sc, r)),
            }
        })
        .collect()
}

fn fields(params: &Params) -> Vec<String> {
    params
        .get("fields")
        .map(|f| {
            f.split(',')
                .map(|x| x.trim().trim_start_matches('+').trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn matches(p: &Problem, c: &selector::Criterion, now: i64) -> Result<bool, ApiError> {
    let a = &c.args;
    let any_ci = |v: &str| a.iter().any(|x| x.eq_ignore_ascii_case(v));
    Ok(match c.name.as_str() {
        "status" => any_ci(if p.is_open(now) { "open" } else { "closed" }),
        "severityLevel" => any_ci(&p.def.severity),
        "impactLevel" => any_ci(&p.def.impact),
        "affectedEntities" => p.affected.iter().any(|s| a.contains(&s.id)),
        "impactedEntities" => p.affected.iter().any(|s| a.contains(&s.id)),
        "affectedEntityTypes" | "impactedEntityTypes" => {
            !p.affected.is_empty() && a.iter().any(|x| x == "dt.entity.service" || x == "SERVICE")
        }
        "rootCauseEntity" => p.root_cause.is_some_and(|s| a.contains(&s.id)),
        "entityTags" => a.iter().any(|t| tag_matches(t, &p.tags())),
        "managementZones" => a.iter().any(|z| p.zones().contains(z)),
        "managementZoneIds" => a
            .iter()
            .any(|z| p.zones().iter().any(|n| entities::mz_id(n) == *z)),
        "displayId" => a.contains(&p.def.display_id),
        "problemId" => a.contains(&p.id),
        "text" => a
            .iter()
            .any(|x| p.def.title.to_lowercase().contains(&x.to_lowercase())),
        other => {
            return Err(ApiError::query(
                "problemSelector",
                format!("Unknown problem selector criterion '{other}'."),
            ));
        }
    })
}

/// `GET /api/v2/problems`.
pub fn list(sc: &Scenario, params: &Params, now: i64) -> ApiResult {
    let (params, offset, size) = resolve_page("problems", params, &["fields"])?;
    let (from, to) = crate::time::window(&params, now, "now-2h")?;
    let size = match size {
        Some(s) => s,
        None => page_size(&params, 50, 500)?,
    };
    let crit = match params.get_nonblank("problemSelector") {
        Some(s) => selector::parse(s).map_err(|e| {
            ApiError::query("problemSelector", format!("Invalid problem selector: {e}"))
        })?,
        None => Vec::new(),
    };
    let ids: Option<Vec<String>> = match params.get_nonblank("entitySelector") {
        Some(s) => Some(
            entities::select_param(sc, "entitySelector", s)?
                .iter()
                .map(|x| x.id.clone())
                .collect(),
        ),
        None => None,
    };
    let mut found = Vec::new();
    for p in all(sc, now) {
        let overlaps =
            p.def.start <= to && (p.is_open(now) || p.def.end.unwrap_or(i64::MAX) >= from);
        if !overlaps {
            continue;
        }
        if let Some(ids) = &ids
            && !p.affected.iter().any(|s| ids.contains(&s.id))
        {
            continue;
        }
        let mut ok = true;
        for c in &crit {
            if !matches(&p, c, now)? {
                ok = false;
                break;
            }
        }
        if ok {
            found.push(p);
        }
    }
    match params.get("sort").map(str::trim) {
        Some("+startTime" | "startTime") => found.sort_by_key(|p| p.def.start),
        _ => found.sort_by_key(|p| std::cmp::Reverse(p.def.start)),
    }
    let f = fields(&params);
    let total = found.len();
    let next = if offset + size < total {
        let mut p = params.clone();
        p.set("from", from.to_string());
        p.set("to", to.to_string());
        json!(encode_cursor("problems", &p, offset + size, size))
    } else {
        Value::Null
    };
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(size)
        .map(|p| p.to_json(now, &f))
        .collect();
    Ok(Reply::ok(json!({
        "totalCount": total, "pageSize": size, "nextPageKey": next, "warnings": [], "problems": page
    })))
}

/// `GET /api/v2/problems/{id}` (problem id; the display id is accepted too).
pub fn get(sc: &Scenario, id: &str, params: &Params, now: i64) -> ApiResult {
    all(sc, now)
        .iter()
        .find(|p| p.id == id || p.def.display_id == id)
        .map(|p| Reply::ok(p.to_json(now, &fields(params))))
        .ok_or_else(|| ApiError::not_found(format!("Problem with ID '{id}' not found.")))
}

fn sp_id(sc: &Scenario, d: &SecurityProblemDef) -> String {
    d.id.clone().unwrap_or_else(|| {
        (Hash::new(sc.seed)
            .str("security")
            .str(&d.display_id)
            .value()
            >> 1)
            .to_string()
    })
}

fn sp_json(sc: &Scenario, d: &SecurityProblemDef, now: i64) -> Value {
    json!({
        "securityProblemId": sp_id(sc, d),
        "displayId": d.display_id,
        "status": d.status,
        "muted": d.muted,
        "vulnerabilityType": d.vulnerability_type,
        "title": d.title,
        "packageName": d.package_name,
        "technology": d.technology,
        "firstSeenTimestamp": now - 7 * crate::time::DAY,
        "lastUpdatedTimestamp": now - crate::time::HOUR,
        "cveIds": d.cve_ids,
        "riskAssessment": {
            "riskLevel": d.risk_level,
            "riskScore": d.risk_score,
            "riskVector": "",
            "baseRiskLevel": d.risk_level,
            "baseRiskScore": d.risk_score,
            "exposure": d.exposure,
            "dataAssets": "NOT_DETECTED",
            "publicExploit": "NOT_AVAILABLE",
            "vulnerableFunctionUsage": "NOT_AVAILABLE",
            "assessmentAccuracy": "FULL",
        },
    })
}

fn num_arg(c: &selector::Criterion) -> Result<f64, ApiError> {
    c.args.first().and_then(|a| a.parse().ok()).ok_or_else(|| {
        ApiError::query(
            "securityProblemSelector",
            format!("'{}' needs a number.", c.name),
        )
    })
}

/// `GET /api/v2/securityProblems`.
pub fn security_list(sc: &Scenario, params: &Params, now: i64) -> ApiResult {
    let (params, offset, size) = resolve_page("securityProblems", params, &["fields"])?;
    crate::time::window(&params, now, "now-30d")?;
    let size = match size {
        Some(s) => s,
        None => page_size(&params, 100, 500)?,
    };
    let crit = match params.get_nonblank("securityProblemSelector") {
        Some(s) => selector::parse(s).map_err(|e| {
            ApiError::query("securityProblemSelector", format!("Invalid selector: {e}"))
        })?,
        None => Vec::new(),
    };
    let mut found = Vec::new();
    for d in &sc.security_problems {
        let mut ok = true;
        for c in &crit {
            let a = &c.args;
            let hit = match c.name.as_str() {
                "status" => a.iter().any(|x| x.eq_ignore_ascii_case(&d.status)),
                "riskLevel" => a.iter().any(|x| x.eq_ignore_ascii_case(&d.risk_level)),
                "minRiskScore" => d.risk_score >= num_arg(c)?,
                "maxRiskScore" => d.risk_score <= num_arg(c)?,
                "displayId" => a.contains(&d.display_id),
                "securityProblemId" => a.contains(&sp_id(sc, d)),
                "cveId" => a.iter().any(|x| d.cve_ids.contains(x)),
                "muted" => a
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(&d.muted.to_string())),
                "vulnerabilityType" => a
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(&d.vulnerability_type)),
                "technology" => a.iter().any(|x| x.eq_ignore_ascii_case(&d.technology)),
                other => {
                    return Err(ApiError::query(
                        "securityProblemSelector",
                        format!("Unknown security problem selector criterion '{other}'."),
                    ));
                }
            };
            if !hit {
                ok = false;
                break;
            }
        }
        if ok {
            found.push(d);
        }
    }
    let total = found.len();
    if total == 0 {
        return Ok(Reply::ok(
            json!({"totalCount": 0, "pageSize": 0, "securityProblems": []}),
        ));
    }
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(size)
        .map(|d| sp_json(sc, d, now))
        .collect();
    let mut body = json!({"totalCount": total, "pageSize": size});
    if offset + size < total {
        body["nextPageKey"] = json!(encode_cursor(
            "securityProblems",
            &params,
            offset + size,
            size
        ));
    }
    body["securityProblems"] = Value::Array(page);
    Ok(Reply::ok(body))
}

/// `GET /api/v2/securityProblems/{id}`.
pub fn security_get(sc: &Scenario, id: &str, now: i64) -> ApiResult {
    sc.security_problems
        .iter()
        .find(|d| sp_id(sc, d) == id || d.display_id == id)
        .map(|d| Reply::ok(sp_json(sc, d, now)))
        .ok_or_else(|| ApiError::not_found(format!("Security problem with ID '{id}' not found.")))
}
