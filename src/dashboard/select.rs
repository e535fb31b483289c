//! `dashboard: query`: the one dashboard named `KQG;project=…;stage=…;service=…` (reference §1).
//! Pure.

use serde_json::Value;

/// How a dashboard is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    Id(String),
    Query,
    /// A saved dashboard JSON (`*.json`): the tiles are read from the file, the data still
    /// comes from the environment.
    File(std::path::PathBuf),
}

impl Selection {
    /// `""` → file mode (`None`), exactly `query` → search, anything else → an ID.
    pub fn parse(raw: &str) -> Option<Selection> {
        match raw {
            "" => None,
            "query" => Some(Selection::Query),
            f if f.ends_with(".json") => Some(Selection::File(f.into())),
            id => Some(Selection::Id(id.to_string())),
        }
    }
}

/// Whether a dashboard name matches project, stage and service as upstream did.
pub fn matches(name: &str, project: &str, stage: &str, service: &str) -> bool {
    let lower = name.to_lowercase();
    if !lower.starts_with("kqg;") {
        return false;
    }
    let pieces: Vec<&str> = lower.split(';').collect();
    [
        format!("project={}", project.to_lowercase()),
        format!("stage={}", stage.to_lowercase()),
        format!("service={}", service.to_lowercase()),
    ]
    .iter()
    .all(|want| pieces.contains(&want.as_str()))
}

/// The ID of the one matching dashboard of a `GET /api/config/v1/dashboards` body.
pub fn find(list: &Value, project: &str, stage: &str, service: &str) -> Result<String, String> {
    let all = list
        .get("dashboards")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let found: Vec<&Value> = all
        .iter()
        .filter(|d| {
            d.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| matches(n, project, stage, service))
        })
        .collect();
    let spec = format!(
        "the name specification with prefix 'kqg;' and criteria 'project={project}', 'stage={stage}', 'service={service}'"
    );
    match found.as_slice() {
        [one] => Ok(one
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        [] => {
            let kqg: Vec<String> = all
                .iter()
                .filter_map(|d| d.get("name").and_then(Value::as_str))
                .filter(|n| n.to_lowercase().starts_with("kqg"))
                .map(|n| format!("'{n}'"))
                .collect();
            let hint = if kqg.is_empty() {
                String::new()
            } else {
                format!(" (KQG dashboards: {})", kqg.join(", "))
            };
            Err(format!("no dashboard name matches {spec}{hint}"))
        }
        several => Err(format!(
            "{} dashboards match {spec}: {}",
            several.len(),
            several
                .iter()
                .map(|d| format!(
                    "{} ({})",
                    d.get("name").and_then(Value::as_str).unwrap_or(""),
                    d.get("id").and_then(Value::as_str).unwrap_or("")
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(matches(
            "KQG;project=sockshop;service=carts;stage=staging;x=y",
            "sockshop",
            "staging",
            "carts"
        ));
        assert!(!matches(
            "KQG; project=sockshop;service=carts;stage=staging",
            "sockshop",
            "staging",
            "carts"
        ));
        assert!(!matches(
            "KQ;project=sockshop;service=carts;stage=staging",
            "sockshop",
            "staging",
            "carts"
        ));
    }

    #[test]
    fn none_one_several() {
        let l = json!({"dashboards": [
            {"id": "a", "name": "KQG;project=p;stage=s;service=v"},
            {"id": "b", "name": "other"}]});
        assert_eq!(find(&l, "p", "s", "v").unwrap(), "a");
        let e = find(&l, "p", "s", "w").unwrap_err();
        assert!(e.starts_with("no dashboard name matches"), "{e}");
        let l = json!({"dashboards": [
            {"id": "a", "name": "KQG;project=p;stage=s;service=v"},
            {"id": "b", "name": "kqg;service=v;stage=s;project=p"}]});
        assert!(
            find(&l, "p", "s", "v")
                .unwrap_err()
                .starts_with("2 dashboards match")
        );
    }
}
