//! Merging the partial reports of `--shard I/N` runs into the report one run would have written:
//! the same rows (sorted), the same counts and outcome, no `shard`. Pure.

use super::report::{FleetReport, KIND, VERSION};

/// `shards`: (where it came from, the report). Every shard 1..=N of one selection, each once.
pub fn merge(shards: Vec<(String, FleetReport)>) -> Result<FleetReport, String> {
    let Some((_, first)) = shards.first() else {
        return Err("no shard reports given".into());
    };
    let selection = first.selection.clone();
    let total = first.shard.map(|s| s.total);
    let version = first.tool.version.clone();
    let mut seen = std::collections::BTreeMap::new();
    let mut rows = Vec::new();
    for (from, r) in shards {
        if r.kind != KIND || r.report_version != VERSION {
            return Err(format!(
                "{from} is a `{}` report version {}; expected `{KIND}` version {VERSION}",
                r.kind, r.report_version
            ));
        }
        let Some(shard) = r.shard else {
            return Err(format!("{from} is a whole fleet's report, not a shard's"));
        };
        if Some(shard.total) != total || r.selection != selection || r.tool.version != version {
            return Err(format!(
                "{from} is shard {}/{} of `--environments {}` (slogate {}); the first is of {} shards of `--environments {selection}` (slogate {version})",
                shard.index,
                shard.total,
                r.selection,
                r.tool.version,
                total.unwrap_or(0)
            ));
        }
        if let Some(other) = seen.insert(shard.index, from.clone()) {
            return Err(format!(
                "shard {}/{} is given twice: {other} and {from}",
                shard.index, shard.total
            ));
        }
        rows.extend(r.rows);
    }
    let total = total.unwrap_or(0);
    let missing: Vec<String> = (1..=total)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{total}"))
        .collect();
    if !missing.is_empty() {
        let (noun, verb) = if missing.len() == 1 {
            ("shard", "is")
        } else {
            ("shards", "are")
        };
        return Err(format!(
            "{noun} {} {verb} missing: the merged report would leave environments out",
            missing.join(", ")
        ));
    }
    Ok(FleetReport::new(&selection, None, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::Verdict;
    use crate::fleet::report::{Row, ShardInfo, json};
    use crate::fleet::shard::Shard;

    fn rows(names: &[&str]) -> Vec<Row> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Row {
                environment: n.to_string(),
                service: None,
                result: if i % 3 == 0 {
                    Verdict::Fail
                } else {
                    Verdict::Pass
                },
                score: Some(50.0),
                failed: vec![],
                cause: None,
            })
            .collect()
    }

    #[test]
    fn merged_shards_equal_the_single_run_byte_for_byte() {
        let names: Vec<String> = (0..40).map(|i| format!("tenant-{i:03}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let single = FleetReport::new("all", None, rows(&refs));
        let total = 3;
        let shards = (1..=total)
            .rev()
            .map(|index| {
                let s = Shard { index, total };
                let mine: Vec<Row> = single
                    .rows
                    .iter()
                    .filter(|r| s.holds(&r.environment))
                    .cloned()
                    .collect();
                let partial = FleetReport::new("all", Some(ShardInfo { index, total }), mine);
                // Through JSON, as the files carry them.
                (
                    format!("s{index}"),
                    serde_json::from_str(&json(&partial)).unwrap(),
                )
            })
            .collect();
        assert_eq!(json(&merge(shards).unwrap()), json(&single));
    }

    #[test]
    fn a_missing_or_repeated_shard_is_refused() {
        let part = |index| {
            (
                format!("s{index}"),
                FleetReport::new("all", Some(ShardInfo { index, total: 3 }), vec![]),
            )
        };
        let e = merge(vec![part(1), part(3)]).unwrap_err();
        assert!(e.contains("2/3"), "{e}");
        let e = merge(vec![part(1), part(1), part(2), part(3)]).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let whole = ("w".to_string(), FleetReport::new("all", None, vec![]));
        assert!(merge(vec![whole]).is_err());
    }
}
