//! SLI query text (after placeholder substitution) → `SliQuery`, with Keptn's rules and error
//! texts (reference §2; `internal/sli/v1/*` of dynatrace-service 0.27). Keptn's quirks are kept on
//! purpose so that an `sli.yaml` that worked, or failed, under Keptn does the same here:
//! - dispatch looks at the *untrimmed* text, the parsers then trim;
//! - a prefix must be followed by `;` and the first piece must be exactly the prefix;
//! - `key=value` pairs cut at the first `=` and reject empty keys and values;
//! - the legacy `<selector>?scope=…` form is tried only when the v2 form fails, and its own error
//!   is never shown.

use std::collections::BTreeMap;

use super::{MetricsQuery, Mv2Unit, SliQuery, SloField, UNSCALED_MV2_UNITS, UsqlType};

/// Parses one SLI query. Errors are the complete indicator message, e.g.
/// `error parsing Metrics v2 query: unknown key: metricsSelector`.
pub fn parse(text: &str) -> Result<SliQuery, String> {
    // Same order as Keptn's `switch`; `DQL` is ours and cannot collide with the others.
    if text.starts_with("USQL") {
        usql(text).map_err(|e| format!("error parsing USQL query: {e}"))
    } else if text.starts_with("SLO") {
        slo(text).map_err(|e| format!("error parsing SLO query: {e}"))
    } else if text.starts_with("PV2") {
        problems(text).map_err(|e| format!("error parsing Problems v2 query: {e}"))
    } else if text.starts_with("SECPV2") {
        security_problems(text)
            .map_err(|e| format!("error parsing Security Problems v2 query: {e}"))
    } else if text.starts_with("MV2") {
        mv2(text).map_err(|e| format!("error parsing MV2 query: {e}"))
    } else if text.starts_with("DQL") {
        dql(text).map_err(|e| format!("error parsing DQL query: {e}"))
    } else if text.starts_with("BURN") {
        super::burn::parse_dynatrace(text).map_err(|e| format!("error parsing BURN query: {e}"))
    } else {
        match metrics(text) {
            Ok(m) => Ok(SliQuery::Metrics(m)),
            // Keptn reports the v2 error even when the legacy parser fails differently.
            Err(v2_error) => legacy(text)
                .map(SliQuery::Metrics)
                .map_err(|_| format!("error parsing Metrics v2 query: {v2_error}")),
        }
    }
}

/// `SplitN(TrimSpace(text), ";", n)`, checking the first piece is `prefix`.
fn pieces<'a>(text: &'a str, n: usize, prefix: &str, name: &str) -> Result<Vec<&'a str>, String> {
    let pieces: Vec<&str> = text.trim().splitn(n, ';').collect();
    if pieces.len() < n {
        return Err("incorrect prefix".to_string());
    }
    if pieces.first() != Some(&prefix) {
        return Err(format!("{name} queries should start with {prefix}"));
    }
    Ok(pieces)
}

/// Keptn's `SLIParser`: `&`-separated `key=value` pairs. `allowed: None` accepts any key (the
/// legacy parser's validator).
fn key_values(text: &str, allowed: Option<&[&str]>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for chunk in text.trim().split('&') {
        // Only truly empty chunks are skipped (`a=1&&b=2`); a blank one is an error, as in Keptn.
        if chunk.is_empty() {
            continue;
        }
        let chunk = chunk.trim();
        if chunk.is_empty() {
            return Err("empty 'key=value' pair".to_string());
        }
        let (key, value) = match chunk.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => (k, v),
            _ => {
                return Err(format!(
                    "could not parse 'key=value' pair correctly: {chunk}"
                ));
            }
        };
        if let Some(allowed) = allowed
            && !allowed.contains(&key)
        {
            return Err(format!("unknown key: {key}"));
        }
        if out.contains_key(key) {
            return Err(format!("duplicate key '{key}'"));
        }
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

const METRIC_SELECTOR: &str = "metricSelector";
const ENTITY_SELECTOR: &str = "entitySelector";
const RESOLUTION: &str = "resolution";
const MZ_SELECTOR: &str = "mzSelector";

/// `metricSelector=…[&entitySelector=…][&resolution=…][&mzSelector=…]`, any order.
fn metrics(text: &str) -> Result<MetricsQuery, String> {
    let mut kv = key_values(
        text,
        Some(&[METRIC_SELECTOR, ENTITY_SELECTOR, RESOLUTION, MZ_SELECTOR]),
    )?;
    let metric_selector = kv
        .remove(METRIC_SELECTOR)
        .ok_or_else(|| "metrics query must include a metric selector".to_string())?;
    Ok(MetricsQuery {
        metric_selector,
        entity_selector: kv.remove(ENTITY_SELECTOR),
        resolution: kv.remove(RESOLUTION),
        mz_selector: kv.remove(MZ_SELECTOR),
    })
}

const SERVICE_TYPE: &str = "type(SERVICE)";

/// The pre-v2 form `<selector>[?scope=<entities>]`. Keptn does not trim here, and appends
/// `,type(SERVICE)` to any scope part (even one without `scope=`) lacking it.
fn legacy(text: &str) -> Result<MetricsQuery, String> {
    if text.is_empty() {
        return Err("legacy metrics query should not be empty".to_string());
    }
    let (selector, scope_part) = match text.split_once('?') {
        Some((s, rest)) => (s, Some(rest)),
        None => (text, None),
    };
    // Anything that reads as key=value pairs is a (broken) v2 query, not a legacy selector.
    if matches!(key_values(selector, None), Ok(kv) if !kv.is_empty()) {
        return Err("metric selector is not legacy format".to_string());
    }
    if selector.is_empty() {
        return Err("metrics query must include a metric selector".to_string());
    }
    let entity_selector = match scope_part {
        None | Some("") => None,
        Some(part) => {
            let mut kv = key_values(part, None)?;
            let mut scope = kv.remove("scope").unwrap_or_default();
            if !scope.contains(SERVICE_TYPE) {
                scope.push(',');
                scope.push_str(SERVICE_TYPE);
            }
            Some(scope)
        }
    };
    Ok(MetricsQuery {
        metric_selector: selector.to_string(),
        entity_selector,
        resolution: Some("Inf".to_string()),
        mz_selector: None,
    })
}

/// `MV2;<unit>;<metrics query>`. The metrics part is checked before the unit, as in Keptn. Units
/// other than µs and byte that older dashboard exports wrote are read as those versions did
/// (value unchanged); `slogate lint` names the modern form.
fn mv2(text: &str) -> Result<SliQuery, String> {
    let p = pieces(text, 3, "MV2", "MV2")?;
    let unit = p[1];
    let metrics = metrics(p[2])?;
    if unit.is_empty() {
        return Err("unit should not be empty".to_string());
    }
    let unit = match unit {
        "Byte" | "byte" => Mv2Unit::Byte,
        "MicroSecond" | "Microsecond" | "microSecond" | "microsecond" => Mv2Unit::MicroSecond,
        other if UNSCALED_MV2_UNITS.contains(&other) => Mv2Unit::Unscaled,
        other => return Err(format!("invalid unit: {other}")),
    };
    Ok(SliQuery::Mv2 { unit, metrics })
}

/// `SLO;<id>[;errorBudget|;burnRate]`; the id is taken as written (path-escaped later). Keptn
/// took everything after `SLO;` as the id; only the two field names are read as a field, so any
/// other `;` stays part of the id as in Keptn (SLO ids are UUIDs, which hold no `;`).
fn slo(text: &str) -> Result<SliQuery, String> {
    let p = pieces(text, 2, "SLO", "SLO")?;
    if p[1].is_empty() {
        return Err("SLO ID should not be empty".to_string());
    }
    let (id, field) = match p[1].rsplit_once(';') {
        Some((id, f)) if !id.is_empty() => match SloField::from_suffix(f) {
            Some(field) => (id, field),
            None => (p[1], SloField::EvaluatedPercentage),
        },
        _ => (p[1], SloField::EvaluatedPercentage),
    };
    Ok(SliQuery::Slo {
        id: id.to_string(),
        field,
    })
}

/// `PV2;[problemSelector=…][&entitySelector=…]`; both are optional.
fn problems(text: &str) -> Result<SliQuery, String> {
    let p = pieces(text, 2, "PV2", "Problems V2")?;
    let mut kv = key_values(p[1], Some(&["problemSelector", ENTITY_SELECTOR]))?;
    Ok(SliQuery::Problems {
        problem_selector: kv.remove("problemSelector"),
        entity_selector: kv.remove(ENTITY_SELECTOR),
    })
}

/// `SECPV2;[securityProblemSelector=…]`.
fn security_problems(text: &str) -> Result<SliQuery, String> {
    let p = pieces(text, 2, "SECPV2", "Security Problems V2")?;
    let mut kv = key_values(p[1], Some(&["securityProblemSelector"]))?;
    Ok(SliQuery::SecurityProblems {
        security_problem_selector: kv.remove("securityProblemSelector"),
    })
}

/// `USQL;<TYPE>;<dimension>;<query>`; the query may contain `;`.
fn usql(text: &str) -> Result<SliQuery, String> {
    let p = pieces(text, 4, "USQL", "USQL")?;
    let (type_name, dimension, query) = (p[1], p[2], p[3]);
    if query.is_empty() {
        return Err("USQL query should not be empty".to_string());
    }
    if type_name.is_empty() {
        return Err("result type should not be empty".to_string());
    }
    let result_type = UsqlType::from_name(type_name)
        .ok_or_else(|| format!("unknown result type: {type_name}"))?;
    if result_type == UsqlType::SingleValue && !dimension.is_empty() {
        return Err("dimension should be empty".to_string());
    }
    if result_type != UsqlType::SingleValue && dimension.is_empty() {
        return Err("dimension should not be empty".to_string());
    }
    Ok(SliQuery::Usql {
        result_type,
        dimension: dimension.to_string(),
        query: query.to_string(),
    })
}

/// `DQL;<query>`: slogate's own form for Grail; the query is sent as written (trimmed).
fn dql(text: &str) -> Result<SliQuery, String> {
    let p = pieces(text, 2, "DQL", "DQL")?;
    let query = p[1].trim();
    if query.is_empty() {
        return Err("query should not be empty".to_string());
    }
    Ok(SliQuery::Dql {
        query: query.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(sel: &str, ent: Option<&str>, res: Option<&str>, mz: Option<&str>) -> MetricsQuery {
        MetricsQuery {
            metric_selector: sel.into(),
            entity_selector: ent.map(Into::into),
            resolution: res.map(Into::into),
            mz_selector: mz.map(Into::into),
        }
    }

    fn metrics_ok(text: &str) -> MetricsQuery {
        match parse(text) {
            Ok(SliQuery::Metrics(q)) => q,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Err(e) => e,
            Ok(q) => panic!("{text:?} parsed as {q:?}"),
        }
    }

    // --- metrics v2 ---

    #[test]
    fn metrics_all_keys_any_order() {
        assert_eq!(
            metrics_ok(
                "mzSelector=mzId(1)&resolution=10m&entitySelector=type(SERVICE)&metricSelector=builtin:x:avg"
            ),
            m(
                "builtin:x:avg",
                Some("type(SERVICE)"),
                Some("10m"),
                Some("mzId(1)")
            )
        );
        assert_eq!(metrics_ok("metricSelector=a"), m("a", None, None, None));
    }

    #[test]
    fn metrics_value_may_contain_equals_and_question_marks() {
        // #995: cut at the first `=`; `?` is fine inside v2 values.
        assert_eq!(
            metrics_ok("metricSelector=a:filter(eq(k,v=1))&entitySelector=tag(x?y)"),
            m("a:filter(eq(k,v=1))", Some("tag(x?y)"), None, None)
        );
    }

    #[test]
    fn metrics_trims_text_and_pairs_but_not_inside_keys() {
        assert_eq!(
            metrics_ok("  metricSelector=a & entitySelector=b \n"),
            m("a", Some("b"), None, None)
        );
        assert_eq!(
            err("metricSelector =a"),
            "error parsing Metrics v2 query: unknown key: metricSelector "
        );
    }

    #[test]
    fn metrics_skips_empty_chunks_only() {
        assert_eq!(metrics_ok("&&metricSelector=a&&"), m("a", None, None, None));
        // A blank chunk is an error (seen here through MV2, which has no legacy fallback).
        assert_eq!(
            err("MV2;Byte;metricSelector=a& &entitySelector=b"),
            "error parsing MV2 query: empty 'key=value' pair"
        );
    }

    #[test]
    fn metrics_to_unit_stays_verbatim() {
        assert_eq!(
            metrics_ok(
                "metricSelector=builtin:service.response.time:avg:toUnit(MicroSecond,MilliSecond)"
            )
            .metric_selector,
            "builtin:service.response.time:avg:toUnit(MicroSecond,MilliSecond)"
        );
    }

    #[test]
    fn metrics_errors() {
        assert_eq!(
            err("metricsSelector=builtin:x&entitySelector=type(SERVICE)"),
            "error parsing Metrics v2 query: unknown key: metricsSelector"
        );
        assert_eq!(
            err("entitySelector=type(SERVICE)"),
            "error parsing Metrics v2 query: metrics query must include a metric selector"
        );
        assert_eq!(
            err(""),
            "error parsing Metrics v2 query: metrics query must include a metric selector"
        );
        // Keptn's own case `equals_in_metric`: a legacy selector with `=` reads as a pair.
        assert_eq!(
            err(
                "builtin:service.response.time:filter(in(\"dt.entity.service\",entitySelector(\"tag(~\"k=v~\")\"))):avg"
            ),
            "error parsing Metrics v2 query: unknown key: builtin:service.response.time:filter(in(\"dt.entity.service\",entitySelector(\"tag(~\"k"
        );
        // Reachable only when the `?` split leaves a valid pair in front of it.
        assert_eq!(
            err("entitySelector=x?&metricSelector=a&metricSelector=b"),
            "error parsing Metrics v2 query: duplicate key 'metricSelector'"
        );
    }

    #[test]
    fn pair_errors_in_the_kv_parser() {
        // Seen through MV2 (no legacy fallback) and PV2.
        assert_eq!(
            err("MV2;Byte;metricSelector=a&metricSelector=b"),
            "error parsing MV2 query: duplicate key 'metricSelector'"
        );
        assert_eq!(
            err("MV2;Byte;metricSelector=a&entitySelector="),
            "error parsing MV2 query: could not parse 'key=value' pair correctly: entitySelector="
        );
        assert_eq!(
            err("MV2;Byte;metricSelector=a&=b"),
            "error parsing MV2 query: could not parse 'key=value' pair correctly: =b"
        );
        assert_eq!(
            err("PV2;problemSelector"),
            "error parsing Problems v2 query: could not parse 'key=value' pair correctly: problemSelector"
        );
    }

    #[test]
    fn broken_v2_pairs_fall_back_to_a_legacy_selector() {
        // Keptn's legacy parser takes any text whose pairs do not parse as a plain selector, so
        // these are sent to Dynatrace as written (which then rejects them).
        for text in [
            "metricSelector=a&entitySelector=",
            "metricSelector=a& &entitySelector=b",
            "metricSelector=a&metricSelector=b",
            "metricSelector=a&resolution",
        ] {
            assert_eq!(metrics_ok(text), m(text, None, Some("Inf"), None), "{text}");
        }
    }

    // --- legacy ---

    #[test]
    fn legacy_with_scope_adds_service_type_and_inf() {
        assert_eq!(
            metrics_ok(
                "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)?scope=tag(keptn_project:p)"
            ),
            m(
                "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)",
                Some("tag(keptn_project:p),type(SERVICE)"),
                Some("Inf"),
                None
            )
        );
    }

    #[test]
    fn legacy_scope_with_service_type_is_kept() {
        assert_eq!(
            metrics_ok("builtin:x?scope=type(SERVICE),tag(a)"),
            m("builtin:x", Some("type(SERVICE),tag(a)"), Some("Inf"), None)
        );
    }

    #[test]
    fn legacy_without_scope() {
        assert_eq!(
            metrics_ok("builtin:x:avg"),
            m("builtin:x:avg", None, Some("Inf"), None)
        );
        assert_eq!(
            metrics_ok("builtin:x:avg?"),
            m("builtin:x:avg", None, Some("Inf"), None)
        );
    }

    #[test]
    fn legacy_scope_part_without_scope_key_gets_only_the_type() {
        // Keptn reads a missing `scope` as "" and still appends `,type(SERVICE)`.
        assert_eq!(
            metrics_ok("builtin:x?foo=bar"),
            m("builtin:x", Some(",type(SERVICE)"), Some("Inf"), None)
        );
    }

    #[test]
    fn legacy_is_not_trimmed() {
        // Dispatch and the legacy parser see the raw text (a leading space skips `SLO`).
        assert_eq!(metrics_ok(" SLO;x"), m(" SLO;x", None, Some("Inf"), None));
    }

    #[test]
    fn legacy_failures_report_the_v2_error() {
        assert_eq!(
            err("builtin:service.requestCount.total:splitBy():percentile(95.0)?scope="),
            "error parsing Metrics v2 query: could not parse 'key=value' pair correctly: \
             builtin:service.requestCount.total:splitBy():percentile(95.0)?scope="
        );
        assert_eq!(
            err("builtin:x?scope"),
            "error parsing Metrics v2 query: could not parse 'key=value' pair correctly: builtin:x?scope"
        );
        assert_eq!(
            err("builtin:x?scope=a&scope=b"),
            "error parsing Metrics v2 query: unknown key: builtin:x?scope"
        );
        // A selector that reads as key=value pairs is not legacy.
        assert_eq!(
            err("foo=bar?scope=x"),
            "error parsing Metrics v2 query: unknown key: foo"
        );
        assert_eq!(
            err("?scope=x"),
            "error parsing Metrics v2 query: unknown key: ?scope"
        );
    }

    // --- MV2 ---

    #[test]
    fn mv2_units() {
        for (u, want) in [
            ("MicroSecond", Mv2Unit::MicroSecond),
            ("Microsecond", Mv2Unit::MicroSecond),
            ("microSecond", Mv2Unit::MicroSecond),
            ("microsecond", Mv2Unit::MicroSecond),
            ("Byte", Mv2Unit::Byte),
            ("byte", Mv2Unit::Byte),
        ] {
            let q = parse(&format!(
                "MV2;{u};metricSelector=builtin:x&entitySelector=type(HOST)"
            ));
            assert_eq!(
                q,
                Ok(SliQuery::Mv2 {
                    unit: want,
                    metrics: m("builtin:x", Some("type(HOST)"), None, None)
                })
            );
        }
    }

    #[test]
    fn mv2_units_of_older_dashboard_exports_leave_the_value_unscaled() {
        for u in ["Count", "Percent", "Unspecified", "MilliSecond"] {
            let q = parse(&format!(
                "MV2;{u};metricSelector=builtin:x&entitySelector=type(HOST)"
            ));
            assert_eq!(
                q,
                Ok(SliQuery::Mv2 {
                    unit: Mv2Unit::Unscaled,
                    metrics: m("builtin:x", Some("type(HOST)"), None, None)
                }),
                "{u}"
            );
        }
    }

    #[test]
    fn mv2_errors() {
        assert_eq!(
            err("MV2;percent;metricSelector=builtin:host.cpu.usage:avg"),
            "error parsing MV2 query: invalid unit: percent"
        );
        assert_eq!(
            err("MV2;MicroSeconds;metricSelector=a"),
            "error parsing MV2 query: invalid unit: MicroSeconds"
        );
        assert_eq!(
            err("MV2;BYTE;metricSelector=a"),
            "error parsing MV2 query: invalid unit: BYTE"
        );
        assert_eq!(
            err("MV2;;metricSelector=a"),
            "error parsing MV2 query: unit should not be empty"
        );
        assert_eq!(
            err("MV2;metricSelector=a"),
            "error parsing MV2 query: incorrect prefix"
        );
        assert_eq!(err("MV2"), "error parsing MV2 query: incorrect prefix");
        assert_eq!(
            err("MV2x;Byte;metricSelector=a"),
            "error parsing MV2 query: MV2 queries should start with MV2"
        );
        // The metrics part is checked first, and has no legacy fallback.
        assert_eq!(
            err("MV2;Percent;builtin:x"),
            "error parsing MV2 query: could not parse 'key=value' pair correctly: builtin:x"
        );
        assert_eq!(
            err("MV2;Byte;"),
            "error parsing MV2 query: metrics query must include a metric selector"
        );
    }

    #[test]
    fn mv2_metrics_part_may_contain_semicolons() {
        assert_eq!(
            parse("MV2;Byte;metricSelector=a;b"),
            Ok(SliQuery::Mv2 {
                unit: Mv2Unit::Byte,
                metrics: m("a;b", None, None, None)
            })
        );
    }

    // --- SLO ---

    #[test]
    fn slo() {
        assert_eq!(
            parse("SLO;524ca177-849b-3e8c-8175-42b93fbc33c5"),
            Ok(SliQuery::Slo {
                id: "524ca177-849b-3e8c-8175-42b93fbc33c5".into(),
                field: SloField::EvaluatedPercentage,
            })
        );
        let slo = |id: &str, field| {
            Ok(SliQuery::Slo {
                id: id.into(),
                field,
            })
        };
        assert_eq!(
            parse("SLO;abc \n"),
            slo("abc", SloField::EvaluatedPercentage)
        );
        assert_eq!(parse("SLO;a;b"), slo("a;b", SloField::EvaluatedPercentage));
        assert_eq!(parse("SLO;a;errorBudget"), slo("a", SloField::ErrorBudget));
        assert_eq!(parse("SLO;a;burnRate "), slo("a", SloField::BurnRate));
        // Only the exact field names: anything else stays part of the id, as in Keptn.
        assert_eq!(
            parse("SLO;a;burnrate"),
            slo("a;burnrate", SloField::EvaluatedPercentage)
        );
        assert_eq!(
            parse("SLO;;burnRate"),
            slo(";burnRate", SloField::EvaluatedPercentage)
        );
        assert_eq!(
            err("SLO;"),
            "error parsing SLO query: SLO ID should not be empty"
        );
        assert_eq!(err("SLO"), "error parsing SLO query: incorrect prefix");
        assert_eq!(
            err("SLOx;1"),
            "error parsing SLO query: SLO queries should start with SLO"
        );
    }

    // --- PV2 / SECPV2 ---

    #[test]
    fn problems() {
        assert_eq!(
            parse("PV2;problemSelector=status(open)&entitySelector=mzId(7030365576649815430)"),
            Ok(SliQuery::Problems {
                problem_selector: Some("status(open)".into()),
                entity_selector: Some("mzId(7030365576649815430)".into())
            })
        );
        assert_eq!(
            parse("PV2;"),
            Ok(SliQuery::Problems {
                problem_selector: None,
                entity_selector: None
            })
        );
        assert_eq!(
            err("PV2;problemSelector=a&foo=b"),
            "error parsing Problems v2 query: unknown key: foo"
        );
        assert_eq!(
            err("PV2;entitySelector=a&entitySelector=b"),
            "error parsing Problems v2 query: duplicate key 'entitySelector'"
        );
        assert_eq!(
            err("PV2"),
            "error parsing Problems v2 query: incorrect prefix"
        );
        assert_eq!(
            err("PV2x;"),
            "error parsing Problems v2 query: Problems V2 queries should start with PV2"
        );
    }

    #[test]
    fn security_problems() {
        assert_eq!(
            parse("SECPV2;securityProblemSelector=status(OPEN),riskLevel(CRITICAL)"),
            Ok(SliQuery::SecurityProblems {
                security_problem_selector: Some("status(OPEN),riskLevel(CRITICAL)".into())
            })
        );
        assert_eq!(
            parse("SECPV2;"),
            Ok(SliQuery::SecurityProblems {
                security_problem_selector: None
            })
        );
        assert_eq!(
            err("SECPV2;entitySelector=a"),
            "error parsing Security Problems v2 query: unknown key: entitySelector"
        );
        assert_eq!(
            err("SECPV2"),
            "error parsing Security Problems v2 query: incorrect prefix"
        );
        assert_eq!(
            err("SECPV2x;"),
            "error parsing Security Problems v2 query: Security Problems V2 queries should start with SECPV2"
        );
    }

    // --- USQL ---

    #[test]
    fn usql_forms() {
        assert_eq!(
            parse("USQL;COLUMN_CHART;iPad mini;SELECT device, AVG(duration) FROM usersession WHERE country IN('Austria;Italy') GROUP BY device"),
            Ok(SliQuery::Usql {
                result_type: UsqlType::ColumnChart,
                dimension: "iPad mini".into(),
                query: "SELECT device, AVG(duration) FROM usersession WHERE country IN('Austria;Italy') GROUP BY device".into()
            })
        );
        assert_eq!(
            parse("USQL;SINGLE_VALUE;;SELECT AVG(duration) FROM usersession"),
            Ok(SliQuery::Usql {
                result_type: UsqlType::SingleValue,
                dimension: String::new(),
                query: "SELECT AVG(duration) FROM usersession".into()
            })
        );
        for (name, t) in [
            ("PIE_CHART", UsqlType::PieChart),
            ("LINE_CHART", UsqlType::LineChart),
            ("TABLE", UsqlType::Table),
        ] {
            assert_eq!(
                parse(&format!("USQL;{name};d;q")),
                Ok(SliQuery::Usql {
                    result_type: t,
                    dimension: "d".into(),
                    query: "q".into()
                })
            );
            assert_eq!(t.as_str(), name);
        }
    }

    #[test]
    fn usql_errors() {
        assert_eq!(
            err("USQL;COLUMN_CHART;;q"),
            "error parsing USQL query: dimension should not be empty"
        );
        assert_eq!(
            err("USQL;SINGLE_VALUE;d;q"),
            "error parsing USQL query: dimension should be empty"
        );
        assert_eq!(
            err("USQL;X;d;q"),
            "error parsing USQL query: unknown result type: X"
        );
        assert_eq!(
            err("USQL;single_value;;q"),
            "error parsing USQL query: unknown result type: single_value"
        );
        assert_eq!(
            err("USQL;;d;q"),
            "error parsing USQL query: result type should not be empty"
        );
        assert_eq!(
            err("USQL;TABLE;d;"),
            "error parsing USQL query: USQL query should not be empty"
        );
        assert_eq!(
            err("USQL;TABLE;d"),
            "error parsing USQL query: incorrect prefix"
        );
        assert_eq!(
            err("USQLX;TABLE;d;q"),
            "error parsing USQL query: USQL queries should start with USQL"
        );
    }

    // --- DQL ---

    #[test]
    fn dql() {
        assert_eq!(
            parse("DQL; fetch logs | summarize count() "),
            Ok(SliQuery::Dql {
                query: "fetch logs | summarize count()".into()
            })
        );
        assert_eq!(
            parse("DQL;fetch logs | filter x == \"a;b\""),
            Ok(SliQuery::Dql {
                query: "fetch logs | filter x == \"a;b\"".into()
            })
        );
        assert_eq!(
            err("DQL;"),
            "error parsing DQL query: query should not be empty"
        );
        assert_eq!(
            err("DQL;   "),
            "error parsing DQL query: query should not be empty"
        );
        assert_eq!(err("DQL"), "error parsing DQL query: incorrect prefix");
        assert_eq!(
            err("DQLx;q"),
            "error parsing DQL query: DQL queries should start with DQL"
        );
    }

    // --- dispatch ---

    #[test]
    fn dispatch_uses_the_untrimmed_text() {
        // Leading space: not `SLO`, so it falls through to metrics (and parses as legacy).
        assert!(matches!(parse(" SLO;x"), Ok(SliQuery::Metrics(_))));
        // Trailing space is trimmed by the form's parser.
        assert_eq!(
            parse("SLO;x "),
            Ok(SliQuery::Slo {
                id: "x".into(),
                field: SloField::EvaluatedPercentage
            })
        );
        // `SECPV2` does not start with `SLO` or `PV2`; `PV2x` goes to the problems parser.
        assert!(matches!(
            parse("SECPV2;"),
            Ok(SliQuery::SecurityProblems { .. })
        ));
    }

    #[test]
    fn odd_input_never_panics() {
        let tokens = [
            "",
            ";",
            "&",
            "=",
            "?",
            " ",
            "\u{0}",
            "é",
            "ß",
            "MV2",
            "SLO",
            "PV2",
            "SECPV2",
            "USQL",
            "DQL",
            "metricSelector",
            "scope",
            "Byte",
            "SINGLE_VALUE",
            "type(SERVICE)",
            "\n",
            "%",
            "$",
            "\u{1F600}",
        ];
        let mut count = 0;
        for a in tokens {
            for b in tokens {
                for c in tokens {
                    for d in [";", "=", "&", "?", ""] {
                        let text = format!("{a}{d}{b}{d}{c}");
                        let _ = parse(&text);
                        count += 1;
                    }
                }
            }
        }
        assert!(count > 10_000);
        for text in [
            "\u{FEFF}metricSelector=a",
            "metricSelector=é=é&&&",
            "USQL;;;;;;;",
            "MV2;;;",
            "?;?;?",
            "= =",
            "& &",
        ] {
            let _ = parse(text);
        }
    }
}
