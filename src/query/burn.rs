//! `BURN;`: the multi-window, multi-burn-rate rule of the SRE workbook as one SLI value.
//!
//! ```text
//! BURN;target=99.9;short=5m;long=1h;bad=<query>;total=<query>
//! BURN;target=99.9;short=5m;long=1h;good=<query>;total=<query>
//! ```
//!
//! The burn rate over a window is the share of bad events in it divided by the share the
//! objective allows (`1 − target/100`): 1 spends the budget exactly over the SLO period, 14.4
//! spends a 30-day budget's 2 % in one hour. The rule alerts when *both* windows burn faster than
//! a factor, so the value is the smaller of the two burn rates, and an objective
//! `pass: [{criteria: ["<14.4"]}]` holds unless both windows burn at 14.4 or faster. A window
//! without any event has no burn rate; the other window decides alone; with neither there is
//! no value.
//!
//! The two queries are in the language of the SLI's source: Dynatrace metrics v2 queries
//! (`metricSelector=…&entitySelector=…`, asked once per window) or PromQL, where
//! `$DURATION_SECONDS` stands for each window's length (the whole rule becomes one PromQL
//! query). Pure: parsing, the PromQL text and the arithmetic.

use super::{MetricsQuery, SliQuery};

/// Whether the first query counts good or bad events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counts {
    Good,
    Bad,
}

impl Counts {
    pub fn key(self) -> &'static str {
        match self {
            Counts::Good => "good",
            Counts::Bad => "bad",
        }
    }
}

/// A `BURN;` query with its two event queries still as text.
#[derive(Clone, Debug, PartialEq)]
pub struct Burn {
    /// The objective in percent (99.9).
    pub target: f64,
    /// The windows in seconds, as written (`5m`) and parsed.
    pub short: (String, i64),
    pub long: (String, i64),
    pub counts: Counts,
    pub events: String,
    pub total: String,
}

/// The Dynatrace form: both queries parsed as metrics queries.
#[derive(Clone, Debug, PartialEq)]
pub struct DynatraceBurn {
    pub burn: Burn,
    pub events: MetricsQuery,
    pub total: MetricsQuery,
}

// `f64` in `Burn` has no `Eq`; targets are finite numbers checked at parse time.
impl Eq for Burn {}
impl Eq for DynatraceBurn {}

const KEYS: &[&str] = &["target", "short", "long", "good", "bad", "total"];

/// Parses `BURN;key=value;…`. Values are cut at the first `=` (PromQL matchers keep theirs);
/// a value cannot hold `;`.
pub fn parse(text: &str) -> Result<Burn, String> {
    let text = text.trim();
    let rest = text
        .strip_prefix("BURN;")
        .ok_or_else(|| "BURN queries should start with BURN;".to_string())?;
    let mut found: Vec<(&str, &str)> = Vec::new();
    for part in rest.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!(
                "`{part}` is not key=value (keys: {})",
                KEYS.join(", ")
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if !KEYS.contains(&k) {
            return Err(format!("unknown key `{k}` (keys: {})", KEYS.join(", ")));
        }
        if found.iter().any(|(f, _)| *f == k) {
            return Err(format!("`{k}` is given twice"));
        }
        if v.is_empty() {
            return Err(format!("`{k}` has no value"));
        }
        found.push((k, v));
    }
    let get = |k: &str| found.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
    let need = |k: &str| get(k).ok_or_else(|| format!("`{k}=` is missing"));
    let target_text = need("target")?;
    let target: f64 = target_text
        .trim_end_matches('%')
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite() && *t > 0.0 && *t < 100.0)
        .ok_or_else(|| {
            format!("target `{target_text}` must be a percentage between 0 and 100, e.g. 99.9")
        })?;
    let window = |k: &str| -> Result<(String, i64), String> {
        let w = need(k)?;
        let secs = crate::window::parse_duration(w)
            .map_err(|e| format!("{k}: {e}"))?
            .num_seconds();
        if secs < 60 {
            return Err(format!("{k}: `{w}` is shorter than one minute"));
        }
        Ok((w.to_string(), secs))
    };
    let (short, long) = (window("short")?, window("long")?);
    if short.1 >= long.1 {
        return Err(format!(
            "the short window ({}) must be shorter than the long window ({})",
            short.0, long.0
        ));
    }
    let (counts, events) = match (get("good"), get("bad")) {
        (Some(g), None) => (Counts::Good, g),
        (None, Some(b)) => (Counts::Bad, b),
        (Some(_), Some(_)) => return Err("give `good=` or `bad=`, not both".into()),
        (None, None) => return Err("`good=` or `bad=` is missing".into()),
    };
    Ok(Burn {
        target,
        short,
        long,
        counts,
        events: events.to_string(),
        total: need("total")?.to_string(),
    })
}

/// The Dynatrace form: each query must be a metrics v2 query.
pub fn parse_dynatrace(text: &str) -> Result<SliQuery, String> {
    let burn = parse(text)?;
    let metrics = |k: &str, q: &str| match super::parse::parse(q) {
        Ok(SliQuery::Metrics(m)) => Ok(m),
        Ok(_) => Err(format!(
            "`{k}=` must be a metrics query (metricSelector=…&entitySelector=…)"
        )),
        Err(e) => Err(format!("`{k}=`: {e}")),
    };
    Ok(SliQuery::Burn(Box::new(DynatraceBurn {
        events: metrics(burn.counts.key(), &burn.events)?,
        total: metrics("total", &burn.total)?,
        burn,
    })))
}

/// The share of the budget the objective allows per event: `1 − target/100`.
pub fn budget(target: f64) -> f64 {
    1.0 - target / 100.0
}

/// The burn rate of one window from its event counts; `None` without any event.
pub fn window_rate(counts: Counts, events: f64, total: f64, target: f64) -> Option<f64> {
    if total.is_nan() || total <= 0.0 || !events.is_finite() {
        return None;
    }
    let bad = match counts {
        Counts::Bad => events,
        Counts::Good => total - events,
    };
    Some((bad / total).max(0.0) / budget(target))
}

/// The rule's value: the smaller burn rate of the windows that had events.
pub fn combine(short: Option<f64>, long: Option<f64>) -> Option<f64> {
    match (short, long) {
        (Some(s), Some(l)) => Some(s.min(l)),
        (one, None) | (None, one) => one,
    }
}

/// The Prometheus form: one PromQL query that gives the rule's value, each window's ratio
/// computed by Prometheus and the smaller one kept (`min` skips the NaN of a window without
/// events, as [`combine`] does).
pub fn promql(b: &Burn) -> String {
    let ratio = |secs: i64| {
        let d = format!("{secs}s");
        let e = b.events.replace(super::promql::DURATION, &d);
        let t = b.total.replace(super::promql::DURATION, &d);
        match b.counts {
            Counts::Bad => format!("({e}) / ({t})"),
            Counts::Good => format!("1 - ({e}) / ({t})"),
        }
    };
    format!(
        "min(label_replace({}, \"slogate_window\", \"short\", \"\", \"\") or label_replace({}, \"slogate_window\", \"long\", \"\", \"\")) / (1 - {} / 100)",
        ratio(b.short.1),
        ratio(b.long.1),
        b.target
    )
}

/// A Prometheus SLI definition that starts with `BURN` becomes its PromQL; any other stays.
pub fn expand_promql(text: &str) -> Result<String, String> {
    if text.trim_start().starts_with("BURN") {
        parse(text)
            .map(|b| promql(&b))
            .map_err(|e| format!("error parsing BURN query: {e}"))
    } else {
        Ok(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: &str = "BURN;target=99.9;short=5m;long=1h;bad=sum(rate(http_requests_total{code=~\"5..\"}[$DURATION_SECONDS]));total=sum(rate(http_requests_total[$DURATION_SECONDS]))";

    #[test]
    fn parses_the_keys_in_any_order() {
        let b = parse(Q).unwrap();
        assert_eq!(b.target, 99.9);
        assert_eq!(b.short, ("5m".into(), 300));
        assert_eq!(b.long, ("1h".into(), 3600));
        assert_eq!(b.counts, Counts::Bad);
        assert!(b.events.contains("code=~\"5..\""), "{}", b.events);
        let swapped = parse("BURN; total=t ;good=g;long=6h;short=30m;target=99%").unwrap();
        assert_eq!(
            (swapped.counts, swapped.events.as_str()),
            (Counts::Good, "g")
        );
        assert_eq!(swapped.target, 99.0);
    }

    #[test]
    fn refuses_what_it_cannot_compute() {
        let err = |t: &str| parse(t).unwrap_err();
        assert!(err("BURN;target=99.9;short=1h;long=5m;bad=b;total=t").contains("shorter"));
        assert!(err("BURN;target=100;short=5m;long=1h;bad=b;total=t").contains("between 0"));
        assert!(err("BURN;target=99;short=5m;long=1h;bad=b;good=g;total=t").contains("not both"));
        assert!(err("BURN;target=99;short=5m;long=1h;total=t").contains("missing"));
        assert!(err("BURN;target=99;short=5m;long=1h;bad=b").contains("`total=` is missing"));
        assert!(err("BURN;target=99;short=5x;long=1h;bad=b;total=t").contains("short"));
        assert!(err("BURN;taget=99").contains("unknown key `taget`"));
        assert!(err("BURN;target=99;target=98").contains("twice"));
        assert!(err("BURN;target=99;short=30s;long=1h;bad=b;total=t").contains("one minute"));
    }

    /// The workbook's example: 99.9 % over 30 days, 2 % of the budget in one hour is a burn
    /// rate of 0.02·720 = 14.4; an error ratio of 1.44 % burns exactly that.
    #[test]
    fn burn_rate_arithmetic() {
        let r = window_rate(Counts::Bad, 144.0, 10_000.0, 99.9).unwrap();
        assert!((r - 14.4).abs() < 1e-9, "{r}");
        let g = window_rate(Counts::Good, 9_856.0, 10_000.0, 99.9).unwrap();
        assert!((g - 14.4).abs() < 1e-9, "{g}");
        assert_eq!(window_rate(Counts::Bad, 0.0, 0.0, 99.9), None);
        assert_eq!(window_rate(Counts::Bad, 0.0, 100.0, 99.9), Some(0.0));
        assert_eq!(combine(Some(20.0), Some(3.0)), Some(3.0));
        assert_eq!(combine(None, Some(3.0)), Some(3.0));
        assert_eq!(combine(Some(2.0), None), Some(2.0));
        assert_eq!(combine(None, None), None);
    }

    #[test]
    fn one_promql_query_for_both_windows() {
        let q = promql(&parse(Q).unwrap());
        assert_eq!(
            q,
            "min(label_replace((sum(rate(http_requests_total{code=~\"5..\"}[300s]))) / (sum(rate(http_requests_total[300s]))), \"slogate_window\", \"short\", \"\", \"\") or label_replace((sum(rate(http_requests_total{code=~\"5..\"}[3600s]))) / (sum(rate(http_requests_total[3600s]))), \"slogate_window\", \"long\", \"\", \"\")) / (1 - 99.9 / 100)"
        );
        assert!(promql_parser::parser::parse(&q).is_ok(), "{q}");
        assert_eq!(expand_promql("up").unwrap(), "up");
        assert!(
            expand_promql("BURN;x")
                .unwrap_err()
                .starts_with("error parsing BURN query")
        );
    }

    #[test]
    fn dynatrace_form_needs_metrics_queries() {
        let q = "BURN;target=99;short=5m;long=1h;bad=metricSelector=builtin:service.errors.server.count:splitBy():sum&entitySelector=type(SERVICE);total=metricSelector=builtin:service.requestCount.server:splitBy():sum";
        let SliQuery::Burn(d) = parse_dynatrace(q).unwrap() else {
            panic!()
        };
        assert_eq!(d.events.entity_selector.as_deref(), Some("type(SERVICE)"));
        assert_eq!(
            d.total.metric_selector,
            "builtin:service.requestCount.server:splitBy():sum"
        );
        let bad = parse_dynatrace("BURN;target=99;short=5m;long=1h;bad=SLO;total=x").unwrap_err();
        assert!(bad.contains("`bad=`"), "{bad}");
    }
}
