//! Data Explorer visual thresholds → pass / warning criteria (reference §5.6). Pure.

use serde_json::Value;

const PASS_COLORS: &[&str] = &[
    "#7dc540", "#5ead35", "#99cc66", "#a0e35b", "#3f962a", "#2ab06f", "#64bd64",
];
const WARN_COLORS: &[&str] = &[
    "#f5d30f", "#ffe11c", "#ffee7c", "#e9cb0f", "#ef651f", "#fd8232", "#ffa86c",
];
const FAIL_COLORS: &[&str] = &[
    "#dc172a", "#c41425", "#ff4d5d", "#f2919c", "#b4003f", "#ff0000", "#b52530",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pass,
    Warn,
    Fail,
    None,
}

impl Kind {
    fn of(color: &str) -> Kind {
        let c = color.to_lowercase();
        if PASS_COLORS.contains(&c.as_str()) {
            Kind::Pass
        } else if WARN_COLORS.contains(&c.as_str()) {
            Kind::Warn
        } else if FAIL_COLORS.contains(&c.as_str()) {
            Kind::Fail
        } else {
            Kind::None
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Pass => "pass",
            Kind::Warn => "warn",
            Kind::Fail => "fail",
            Kind::None => "none",
        }
    }
}

/// Keptn's `%f` (six decimals), except where that loses the value (`0.0000004` → `0.000000`):
/// then the exact value (docs/decisions.md).
pub fn fixed(v: f64) -> String {
    let six = format!("{v:.6}");
    if six.parse::<f64>().is_ok_and(|r| r == v) {
        six
    } else {
        format!("{v}")
    }
}

/// A threshold as an absolute criterion target: [`fixed`], in parentheses when negative, because
/// Keptn's syntax reads `<-2.000000` as "baseline minus 2" (docs/decisions.md).
pub fn absolute(v: f64) -> String {
    let text = fixed(v);
    if text.starts_with('-') {
        format!("({text})")
    } else {
        text
    }
}

/// Whether a visible threshold value has more than six decimals (for lint).
pub fn loses_precision(thresholds: Option<&Value>) -> bool {
    thresholds
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| t.get("visible").and_then(Value::as_bool).unwrap_or(false))
        .flat_map(rules)
        .filter_map(|r| r.get("value").and_then(Value::as_f64))
        .any(|v| format!("{v:.6}").parse::<f64>().is_ok_and(|r| r != v))
}

/// Criteria from thresholds: `Ok(None)` when there is no visible threshold with a value.
pub type Criteria = (Vec<Vec<String>>, Vec<Vec<String>>);

/// Reads `visualConfig.thresholds`.
pub fn criteria(thresholds: Option<&Value>) -> Result<Option<Criteria>, String> {
    let list = thresholds
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let with_values: Vec<&Value> = list
        .iter()
        .filter(|t| t.get("visible").and_then(Value::as_bool).unwrap_or(false))
        .filter(|t| {
            rules(t)
                .iter()
                .any(|r| r.get("value").is_some_and(|v| !v.is_null()))
        })
        .collect();
    match with_values.len() {
        0 => Ok(None),
        1 => parse_rules(&rules(with_values[0]))
            .map(Some)
            .map_err(|e| format!("error parsing thresholds: {}", e.join("; "))),
        n => Err(format!(
            "Data explorer tile has {n} visible thresholds but only one is supported"
        )),
    }
}

fn rules(t: &Value) -> Vec<Value> {
    t.get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn parse_rules(rules: &[Value]) -> Result<Criteria, Vec<String>> {
    let mut errors = Vec::new();
    let kinds: Vec<Kind> = (0..3)
        .map(|i| {
            rules
                .get(i)
                .and_then(|r| r.get("color"))
                .and_then(Value::as_str)
                .map_or(Kind::None, Kind::of)
        })
        .collect();
    for (i, k) in kinds.iter().enumerate().take(rules.len().min(3)) {
        let ok = if i == 1 {
            *k == Kind::Warn
        } else {
            matches!(k, Kind::Pass | Kind::Fail)
        };
        if !ok {
            errors.push(format!("invalid color at position {}", i + 1));
        }
    }
    if rules.len() != 3 {
        errors.push(format!(
            "expected 3 rules rather than {} rules",
            rules.len()
        ));
    }
    if kinds[0] == kinds[2] {
        errors.push(format!(
            "invalid sequence: {} {} {}",
            kinds[0].name(),
            kinds[1].name(),
            kinds[2].name()
        ));
    }
    let values: Vec<Option<f64>> = (0..3)
        .map(|i| {
            rules
                .get(i)
                .and_then(|r| r.get("value"))
                .and_then(Value::as_f64)
        })
        .collect();
    for i in [0, 2] {
        if values[i].is_none() {
            errors.push(format!("missing value at position {}", i + 1));
        }
    }
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let increasing = present.windows(2).all(|w| w[0] < w[1]);
    let decreasing = present.windows(2).all(|w| w[0] > w[1]);
    if present.len() < 2 || !(increasing || decreasing) {
        errors.push("values must increase or decrease strictly monotonically".into());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let (mut kinds, mut values) = (kinds, values);
    if decreasing {
        kinds.reverse();
        values.reverse();
    }
    let f = absolute;
    let (low, mid, high) = (
        values[0].unwrap_or(0.0),
        values[1],
        values[2].unwrap_or(0.0),
    );
    Ok(if kinds[0] == Kind::Pass {
        match mid {
            Some(w) => (
                vec![vec![format!(">={}", f(low)), format!("<{}", f(w))]],
                vec![vec![format!(">={}", f(low)), format!("<{}", f(high))]],
            ),
            None => (
                vec![vec![format!(">={}", f(low)), format!("<{}", f(high))]],
                Vec::new(),
            ),
        }
    } else {
        match mid {
            Some(w) => (
                vec![vec![format!(">={}", f(high))]],
                vec![vec![format!(">={}", f(w))]],
            ),
            None => (vec![vec![format!(">={}", f(high))]], Vec::new()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(rules: Value) -> Result<Option<Criteria>, String> {
        criteria(Some(&json!([{"visible": true, "rules": rules}])))
    }

    #[test]
    fn increasing_and_decreasing() {
        let (p, w) = t(json!([{"value":0,"color":"#7dc540"},{"value":68000,"color":"#f5d30f"},{"value":69000,"color":"#dc172a"}])).unwrap().unwrap();
        assert_eq!(p, vec![vec![">=0.000000", "<68000.000000"]]);
        assert_eq!(w, vec![vec![">=0.000000", "<69000.000000"]]);
        let (p, w) = t(json!([{"value":69000,"color":"#7dc540"},{"value":68000,"color":"#f5d30f"},{"value":0,"color":"#dc172a"}])).unwrap().unwrap();
        assert_eq!(p, vec![vec![">=69000.000000"]]);
        assert_eq!(w, vec![vec![">=68000.000000"]]);
        let (p, w) = t(json!([{"value":0,"color":"#7dc540"},{"color":"#f5d30f"},{"value":100,"color":"#dc172a"}])).unwrap().unwrap();
        assert_eq!(p, vec![vec![">=0.000000", "<100.000000"]]);
        assert!(w.is_empty());
    }

    #[test]
    fn errors_in_upstream_order() {
        let e = t(json!([{"value":0,"color":"#14a8f5"},{"value":100,"color":"#f5d30f"},{"value":200,"color":"#14a8f5"}])).unwrap_err();
        assert_eq!(
            e,
            "error parsing thresholds: invalid color at position 1; invalid color at position 3; invalid sequence: none warn none"
        );
        let e = t(json!([{"value":0,"color":"#7dc540"},{"color":"#dc172a"}])).unwrap_err();
        assert_eq!(
            e,
            "error parsing thresholds: invalid color at position 2; expected 3 rules rather than 2 rules; missing value at position 3; values must increase or decrease strictly monotonically"
        );
        assert_eq!(
            t(json!([{"color":"#7dc540"},{"color":"#f5d30f"},{"color":"#dc172a"}])).unwrap(),
            None
        );
        assert_eq!(
            criteria(Some(&json!([{"visible": false, "rules": [{"value": 1}]}]))).unwrap(),
            None
        );
    }

    #[test]
    fn negative_thresholds_stay_absolute() {
        use crate::model::criteria::{Criterion, Target};
        let (p, w) = t(json!([{"value":-3,"color":"#7dc540"},{"value":-2,"color":"#f5d30f"},{"value":-1,"color":"#dc172a"}])).unwrap().unwrap();
        assert_eq!(p, vec![vec![">=(-3.000000)", "<(-2.000000)"]]);
        assert_eq!(w, vec![vec![">=(-3.000000)", "<(-1.000000)"]]);
        for c in p.iter().chain(&w).flatten() {
            let parsed = Criterion::parse(c).unwrap();
            assert!(
                matches!(parsed.target, Target::Absolute(v) if v < 0.0),
                "{c}"
            );
        }
        assert_eq!(absolute(0.0), "0.000000");
        assert_eq!(absolute(-0.0000004), "(-0.0000004)");
    }

    #[test]
    fn small_values_keep_their_digits() {
        assert_eq!(fixed(69000.0), "69000.000000");
        assert_eq!(fixed(0.0000004), "0.0000004");
        let th = json!([{"visible": true, "rules": [{"value": 0, "color": "#7dc540"}, {"value": 0.0000004, "color": "#f5d30f"}, {"value": 0.000001, "color": "#dc172a"}]}]);
        assert!(loses_precision(Some(&th)));
        let (p, _) = criteria(Some(&th)).unwrap().unwrap();
        assert_eq!(p, vec![vec![">=0.000000", "<0.0000004"]]);
    }
}
