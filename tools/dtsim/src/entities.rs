//! Entities: the scenario's services, entity selectors, tags and management zones, and the
//! `/api/v2/entities` endpoints.

use serde_json::{Value, json};

use crate::common::{
    ApiError, ApiResult, Hash, Params, Reply, encode_cursor, page_size, resolve_page,
};
use crate::scenario::{Scenario, ServiceDef};
use crate::selector;

/// Parses a tag `[Context]key:value` into (context, key, value).
pub fn split_tag(t: &str) -> (Option<String>, String, Option<String>) {
    let mut rest = t.trim();
    let mut ctx = None;
    if rest.starts_with('[')
        && let Some(end) = rest.find(']')
    {
        ctx = Some(rest[1..end].to_string());
        rest = &rest[end + 1..];
    }
    match rest.find(':') {
        Some(i) => (ctx, rest[..i].to_string(), Some(rest[i + 1..].to_string())),
        None => (ctx, rest.to_string(), None),
    }
}

/// `tag("k:v")` matches a tag `k:v`; `tag("k")` matches any tag with key `k`.
pub fn tag_matches(wanted: &str, tags: &[String]) -> bool {
    let (wctx, wk, wv) = split_tag(wanted);
    tags.iter().any(|t| {
        let (ctx, k, v) = split_tag(t);
        if k != wk {
            return false;
        }
        if let Some(wc) = &wctx
            && !ctx
                .as_deref()
                .unwrap_or("CONTEXTLESS")
                .eq_ignore_ascii_case(wc)
        {
            return false;
        }
        match &wv {
            Some(wv) => v.as_deref() == Some(wv.as_str()),
            None => true,
        }
    })
}

pub fn tag_json(t: &str) -> Value {
    let (ctx, k, v) = split_tag(t);
    let mut m = serde_json::Map::new();
    m.insert(
        "context".into(),
        json!(ctx.unwrap_or_else(|| "CONTEXTLESS".into())),
    );
    m.insert("key".into(), json!(k));
    if let Some(v) = v {
        m.insert("value".into(), json!(v));
    }
    m.insert("stringRepresentation".into(), json!(t));
    Value::Object(m)
}

/// A stable numeric id for a management zone name.
pub fn mz_id(name: &str) -> String {
    (Hash::new(7).str("mz").str(name).value() >> 1).to_string()
}

pub fn mz_json(name: &str) -> Value {
    json!({"id": mz_id(name), "name": name})
}

/// `{"entityId":{"id":…,"type":"SERVICE"},"name":…}`.
pub fn entity_ref(s: &ServiceDef) -> Value {
    json!({"entityId": {"id": s.id, "type": s.entity_type()}, "name": s.name})
}

/// Whether `s` runs on `on` (the `runsOn` relationship, by id or name).
fn runs_on(s: &ServiceDef, on: &ServiceDef) -> bool {
    s.runs_on.iter().any(|k| *k == on.id || *k == on.name)
}

/// Finds a service by id or name.
pub fn find_service<'a>(sc: &'a Scenario, key: &str) -> Option<&'a ServiceDef> {
    sc.services
        .iter()
        .find(|s| s.id == key)
        .or_else(|| sc.services.iter().find(|s| s.name == key))
}

/// Services matched by an entity selector (criteria AND).
pub fn select<'a>(sc: &'a Scenario, sel: &str) -> Result<Vec<&'a ServiceDef>, String> {
    if sel.len() > 2000 {
        return Err("The entity selector must not be longer than 2000 characters.".into());
    }
    let crit = selector::parse(sel)?;
    let mut out: Vec<&ServiceDef> = sc.services.iter().collect();
    for c in &crit {
        let a = &c.args;
        match c.name.as_str() {
            "type" => {
                let want = a.first().map(|s| s.as_str()).unwrap_or("");
                out.retain(|s| s.entity_type().eq_ignore_ascii_case(want));
            }
            "entityId" => out.retain(|s| a.iter().any(|x| x == &s.id)),
            "tag" => out.retain(|s| a.iter().any(|x| tag_matches(x, &s.tags))),
            "mzName" => out.retain(|s| a.iter().any(|x| s.management_zones.contains(x))),
            "mzId" => out.retain(|s| {
                s.management_zones
                    .iter()
                    .any(|z| a.iter().any(|x| *x == mz_id(z)))
            }),
            "entityName.equals" => out.retain(|s| a.iter().any(|x| x == &s.name)),
            "entityName" | "entityName.contains" => out.retain(|s| {
                a.iter()
                    .any(|x| s.name.to_lowercase().contains(&x.to_lowercase()))
            }),
            "entityName.startsWith" => out.retain(|s| {
                a.iter()
                    .any(|x| s.name.to_lowercase().starts_with(&x.to_lowercase()))
            }),
            "entityName.in" => out.retain(|s| a.iter().any(|x| x == &s.name)),
            "healthState" => out.retain(|_| a.iter().any(|x| x.eq_ignore_ascii_case("HEALTHY"))),
            // `runsOn` both ways: the entities the inner ones run on, and those running on them.
            "toRelationships.runsOn" => {
                let inner = select(sc, &c.raw)?;
                out.retain(|s| inner.iter().any(|i| runs_on(i, s)));
            }
            "fromRelationships.runsOn" => {
                let inner = select(sc, &c.raw)?;
                out.retain(|s| inner.iter().any(|i| runs_on(s, i)));
            }
            "not" => {
                let inner: Vec<String> = select(sc, &c.raw)?.iter().map(|s| s.id.clone()).collect();
                out.retain(|s| !inner.contains(&s.id));
            }
            other => return Err(format!("Unknown entity selector criterion '{other}'.")),
        }
    }
    Ok(out)
}

/// Like [`select`] but as a 400 with a QUERY violation on `param`.
pub fn select_param<'a>(
    sc: &'a Scenario,
    param: &str,
    sel: &str,
) -> Result<Vec<&'a ServiceDef>, ApiError> {
    select(sc, sel).map_err(|e| ApiError::query(param, format!("Invalid entity selector: {e}")))
}

fn entity_json(s: &ServiceDef, full: bool, now: i64) -> Value {
    let mut v = json!({
        "entityId": s.id,
        "type": s.entity_type(),
        "displayName": s.name,
    });
    if full {
        v["firstSeenTms"] = json!(now - 30 * crate::time::DAY);
        v["lastSeenTms"] = json!(now);
        v["properties"] = json!({});
    }
    v["tags"] = Value::Array(s.tags.iter().map(|t| tag_json(t)).collect());
    v["managementZones"] = Value::Array(s.management_zones.iter().map(|z| mz_json(z)).collect());
    if full {
        let refs =
            |ids: Vec<&String>| -> Value { ids.iter().map(|id| json!({"id": id})).collect() };
        v["fromRelationships"] = if s.runs_on.is_empty() {
            json!({})
        } else {
            json!({"runsOn": refs(s.runs_on.iter().collect())})
        };
        v["toRelationships"] = json!({});
    }
    v
}

/// `GET /api/v2/entities`.
pub fn list(sc: &Scenario, params: &Params, now: i64) -> ApiResult {
    let (params, offset, size) = resolve_page("entities", params, &["fields"])?;
    let Some(sel) = params.get_nonblank("entitySelector") else {
        return Err(ApiError::query(
            "entitySelector",
            "expected one of nextPageKey or entitySelector to be specified",
        ));
    };
    let (from, to) = crate::time::window(&params, now, "now-3d")?;
    let size = match size {
        Some(s) => s,
        None => page_size(&params, 50, 500)?,
    };
    let found = select_param(sc, "entitySelector", sel)?;
    let total = found.len();
    let page: Vec<Value> = found
        .iter()
        .skip(offset)
        .take(size)
        .map(|s| entity_json(s, false, now))
        .collect();
    let next = if offset + size < total {
        let mut p = params.clone();
        p.set("from", from.to_string());
        p.set("to", to.to_string());
        json!(encode_cursor("entities", &p, offset + size, size))
    } else {
        Value::Null
    };
    Ok(Reply::ok(json!({
        "totalCount": total, "pageSize": size, "nextPageKey": next, "entities": page
    })))
}

/// `GET /api/v2/entities/{id}`.
pub fn get(sc: &Scenario, id: &str, now: i64) -> ApiResult {
    match sc.services.iter().find(|s| s.id == id) {
        Some(s) => Ok(Reply::ok(entity_json(s, true, now))),
        None => Err(ApiError::not_found(format!(
            "Requested entity not found: '{id}'."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ServiceDef;

    fn sc() -> Scenario {
        let svc = |id: &str, name: &str, tags: &[&str], mz: &[&str]| ServiceDef {
            id: id.into(),
            name: name.into(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            management_zones: mz.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        Scenario {
            services: vec![
                svc("SERVICE-1", "checkout", &["app:checkout", "env"], &["prod"]),
                svc(
                    "SERVICE-2",
                    "cart",
                    &["app:cart", "[Kubernetes]team:a"],
                    &["prod", "eu"],
                ),
            ],
            ..Scenario::default()
        }
    }

    fn ids(v: Vec<&ServiceDef>) -> Vec<String> {
        v.iter().map(|s| s.id.clone()).collect()
    }

    #[test]
    fn selects() {
        let sc = sc();
        assert_eq!(ids(select(&sc, "type(SERVICE)").unwrap()).len(), 2);
        assert_eq!(ids(select(&sc, "type(\"SERVICE\")").unwrap()).len(), 2);
        assert!(select(&sc, "type(HOST)").unwrap().is_empty());
        assert_eq!(
            ids(select(&sc, "type(SERVICE),tag(\"app:cart\")").unwrap()),
            ["SERVICE-2"]
        );
        assert_eq!(
            ids(select(&sc, "type(SERVICE),tag(app:checkout)").unwrap()),
            ["SERVICE-1"]
        );
        assert_eq!(ids(select(&sc, "tag(env)").unwrap()), ["SERVICE-1"]);
        assert_eq!(
            ids(select(&sc, "tag(\"[Kubernetes]team:a\")").unwrap()),
            ["SERVICE-2"]
        );
        assert_eq!(ids(select(&sc, "mzName(\"eu\")").unwrap()), ["SERVICE-2"]);
        assert_eq!(
            ids(select(&sc, "entityId(\"SERVICE-1\")").unwrap()),
            ["SERVICE-1"]
        );
        assert_eq!(
            ids(select(&sc, "entityName.equals(\"cart\")").unwrap()),
            ["SERVICE-2"]
        );
        assert_eq!(
            ids(select(&sc, "entityName(\"CHECK\")").unwrap()),
            ["SERVICE-1"]
        );
        assert_eq!(
            ids(select(&sc, "type(SERVICE),not(tag(env))").unwrap()),
            ["SERVICE-2"]
        );
        assert!(select(&sc, "bogus(1)").is_err());
        // `runsOn`: the process group checkout runs on, its host, and back.
        let mut sc = sc;
        sc.services[0].runs_on = vec!["PROCESS_GROUP-1".into()];
        sc.services.push(ServiceDef {
            id: "PROCESS_GROUP-1".into(),
            name: "checkout-jvm".into(),
            entity_type: Some("PROCESS_GROUP".into()),
            runs_on: vec!["HOST-1".into()],
            ..Default::default()
        });
        sc.services.push(ServiceDef {
            id: "HOST-1".into(),
            name: "node-1".into(),
            entity_type: Some("HOST".into()),
            ..Default::default()
        });
        let pg = "type(PROCESS_GROUP),toRelationships.runsOn(type(SERVICE),tag(\"app:checkout\"))";
        assert_eq!(ids(select(&sc, pg).unwrap()), ["PROCESS_GROUP-1"]);
        let host = format!("type(HOST),toRelationships.runsOn({pg})");
        assert_eq!(ids(select(&sc, &host).unwrap()), ["HOST-1"]);
        assert_eq!(
            ids(select(
                &sc,
                "type(SERVICE),fromRelationships.runsOn(type(PROCESS_GROUP))"
            )
            .unwrap()),
            ["SERVICE-1"]
        );
        assert_eq!(ids(select(&sc, "type(SERVICE)").unwrap()).len(), 2);
        assert!(select(&sc, "type(SERVICE").is_err());
    }
}
