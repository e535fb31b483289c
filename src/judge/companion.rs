//! What the judge needs besides an SLI's own per-minute values: which statistic the SLI is, and
//! for Dynatrace's built-in service metrics the request and error counts per minute behind it
//! (an error rate's numerator and denominator, an average's weights), asked with the same entity
//! selector so they batch with the SLI.

use crate::judge::Statistic;

/// The per-minute count queries (metric selectors) behind an SLI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Companions {
    /// Requests per minute.
    pub requests: Option<String>,
    /// Events per minute (errors, for an error rate).
    pub events: Option<String>,
}

const REQUESTS: &str = "builtin:service.requestCount.total";

/// Splits a selector at `:` outside parentheses and quotes.
fn segments(selector: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ':' if !quoted && depth == 0 => {
                out.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&selector[start..]);
    out
}

/// Transformations that can follow a metric key (its own parts may hold `:` too).
fn is_transformation(seg: &str) -> bool {
    let s = seg.trim();
    s.contains('(')
        || matches!(
            s,
            "avg"
                | "sum"
                | "count"
                | "median"
                | "min"
                | "max"
                | "value"
                | "auto"
                | "names"
                | "fold"
                | "last"
                | "rate"
                | "parents"
        )
}

/// The metric key and the transformations after it.
fn key_and_rest(selector: &str) -> (String, Vec<&str>) {
    let segs = segments(selector.trim());
    let cut = segs
        .iter()
        .position(|s| is_transformation(s))
        .unwrap_or(segs.len());
    (segs[..cut].join(":"), segs[cut..].to_vec())
}

/// The statistic a metric selector asks for: its aggregation, and whether the metric is a rate.
pub fn statistic(selector: &str) -> Statistic {
    let (key, rest) = key_and_rest(selector);
    let key = key.as_str();
    let rate = key.ends_with(".rate") || key.contains("errors") && key.ends_with("rate");
    // The first aggregation in the chain decides (Dynatrace).
    let agg = rest.iter().map(|s| s.trim()).find(|s| {
        matches!(
            *s,
            "avg" | "sum" | "count" | "median" | "min" | "max" | "value" | "auto"
        ) || s.starts_with("percentile(")
    });
    match agg {
        Some(p) if p.starts_with("percentile(") => p["percentile(".len()..]
            .trim_end_matches(')')
            .trim()
            .parse::<f64>()
            .map(Statistic::Percentile)
            .unwrap_or(Statistic::Level),
        Some("median") => Statistic::Percentile(50.0),
        Some("avg" | "auto") | None if rate => Statistic::Rate,
        Some("avg") => Statistic::Average,
        Some("sum") | Some("count") => Statistic::Total,
        Some("auto") | None if key == "builtin:service.response.time" => Statistic::Average,
        _ => Statistic::Level,
    }
}

/// The count queries behind a built-in service metric, keeping the selector's merges, splits and
/// filters so the counts describe the same requests.
pub fn companions(selector: &str) -> Companions {
    let (key, rest) = key_and_rest(selector);
    let key = key.trim();
    let shaping: String = rest
        .iter()
        .map(|s| s.trim())
        .filter(|s| {
            s.starts_with("merge(") || s.starts_with("splitBy(") || s.starts_with("filter(")
        })
        .map(|s| format!(":{s}"))
        .collect();
    let count = |k: &str| format!("{k}{shaping}:sum");
    if key == "builtin:service.response.time" {
        return Companions {
            requests: Some(count(REQUESTS)),
            events: None,
        };
    }
    if let Some(kind) = key
        .strip_prefix("builtin:service.errors.")
        .and_then(|r| r.strip_suffix(".rate"))
    {
        return Companions {
            requests: Some(count(REQUESTS)),
            events: Some(count(&format!("builtin:service.errors.{kind}.count"))),
        };
    }
    if key == REQUESTS {
        return Companions {
            requests: Some(count(REQUESTS)),
            events: None,
        };
    }
    Companions::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_keptn_defaults() {
        let s = |sel: &str| statistic(sel);
        assert_eq!(
            s("builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)"),
            Statistic::Percentile(95.0)
        );
        assert_eq!(
            s("builtin:service.errors.total.rate:merge(\"dt.entity.service\"):avg"),
            Statistic::Rate
        );
        assert_eq!(
            s("builtin:service.requestCount.total:merge(\"dt.entity.service\"):sum"),
            Statistic::Total
        );
        assert_eq!(
            s("builtin:service.response.time:merge(\"dt.entity.service\"):avg"),
            Statistic::Average
        );
        assert_eq!(
            s("builtin:service.response.time:median"),
            Statistic::Percentile(50.0)
        );
        assert_eq!(s("custom.metric:max"), Statistic::Level);
        // a colon inside a quoted filter is no segment boundary
        assert_eq!(
            s("ext:x:filter(eq(\"a:b\",\"c\")):percentile(90)"),
            Statistic::Percentile(90.0)
        );
    }

    #[test]
    fn counts_behind_built_in_metrics() {
        let c = companions("builtin:service.errors.total.rate:merge(\"dt.entity.service\"):avg");
        assert_eq!(
            c.events.as_deref(),
            Some("builtin:service.errors.total.count:merge(\"dt.entity.service\"):sum")
        );
        assert_eq!(
            c.requests.as_deref(),
            Some("builtin:service.requestCount.total:merge(\"dt.entity.service\"):sum")
        );
        let c = companions(
            "builtin:service.response.time:splitBy():toUnit(MicroSecond,MilliSecond):percentile(95)",
        );
        assert_eq!(
            c.requests.as_deref(),
            Some("builtin:service.requestCount.total:splitBy():sum")
        );
        assert_eq!(c.events, None);
        assert_eq!(companions("custom.latency:avg"), Companions::default());
    }
}
