//! SLI query strings → typed queries → HTTP requests, and API responses → values.
//!
//! Pure: reproduces how Keptn's dynatrace-service turned each `sli.yaml` entry into Dynatrace API
//! calls (`shared/reference/keptn-dynatrace-sli.md`), plus `DQL;` for Grail. The client in
//! `source/` sends the requests; everything that decides *what* to send or *what a response
//! means* lives here so it can be tested without a network.

pub mod burn;
pub mod defaults;
pub mod encode;
pub mod parse;
pub mod placeholder;
pub mod promql;
pub mod reduce;
pub mod request;
pub mod selector;

use std::collections::BTreeMap;

/// Values for the placeholders of SLI queries (reference §4). Nothing here is read from the
/// process environment by this module: `env` is passed in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Vars {
    pub project: String,
    pub stage: String,
    pub service: String,
    pub deployment: String,
    pub context: String,
    pub labels: BTreeMap<String, String>,
    /// Environment variables available to `$ENV.<NAME>`.
    pub env: std::sync::Arc<BTreeMap<String, String>>,
    /// The SLO's `filter` entries (Keptn's customFilters), in file order.
    pub filters: Vec<(String, String)>,
}

/// The metrics v2 parameters shared by the metrics, legacy and MV2 forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsQuery {
    pub metric_selector: String,
    pub entity_selector: Option<String>,
    /// Sent verbatim when given (Keptn never adds one on the first request).
    pub resolution: Option<String>,
    pub mz_selector: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mv2Unit {
    /// µs → ms: value / 1000.
    MicroSecond,
    /// byte → KiB: value / 1024.
    Byte,
    /// Any other Dynatrace metric unit (`Count`, `Percent`, `MilliSecond`, ...): older
    /// dynatrace-service dashboard exports wrote the metric's unit here and those versions left
    /// the value unchanged; 0.27 refused them (`invalid unit`). The value is used as is.
    Unscaled,
}

/// Units of Dynatrace metric descriptors that older dashboard exports wrote after `MV2;`; the
/// value of such an SLI was never scaled. A unit outside this list (a typo such as
/// `MicroSeconds`) stays an error.
pub const UNSCALED_MV2_UNITS: &[&str] = &[
    "Count",
    "Percent",
    "Ratio",
    "Unspecified",
    "NanoSecond",
    "MilliSecond",
    "Second",
    "Minute",
    "Hour",
    "Day",
    "PerSecond",
    "PerMinute",
    "PerHour",
    "Bit",
    "BitPerSecond",
    "BytePerSecond",
    "BytePerMinute",
    "KiloByte",
    "KiloBytePerSecond",
    "KiloBytePerMinute",
    "KibiByte",
    "KibiBytePerSecond",
    "MegaByte",
    "MegaBytePerSecond",
    "MebiByte",
    "GigaByte",
    "GibiByte",
    "Cores",
    "MilliCores",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsqlType {
    SingleValue,
    PieChart,
    ColumnChart,
    LineChart,
    Table,
}

impl UsqlType {
    /// The spelling used in `USQL;<TYPE>;…` and in Keptn's messages.
    pub fn as_str(self) -> &'static str {
        match self {
            UsqlType::SingleValue => "SINGLE_VALUE",
            UsqlType::PieChart => "PIE_CHART",
            UsqlType::ColumnChart => "COLUMN_CHART",
            UsqlType::LineChart => "LINE_CHART",
            UsqlType::Table => "TABLE",
        }
    }

    /// Case-sensitive, as Keptn: `single_value` is not a type.
    pub fn from_name(name: &str) -> Option<UsqlType> {
        match name {
            "SINGLE_VALUE" => Some(UsqlType::SingleValue),
            "PIE_CHART" => Some(UsqlType::PieChart),
            "COLUMN_CHART" => Some(UsqlType::ColumnChart),
            "LINE_CHART" => Some(UsqlType::LineChart),
            "TABLE" => Some(UsqlType::Table),
            _ => None,
        }
    }
}

/// Which number of an SLO (`GET /api/v2/slo/<id>`) an `SLO;` query reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SloField {
    /// `SLO;<id>`: `evaluatedPercentage`, as Keptn.
    #[default]
    EvaluatedPercentage,
    /// `SLO;<id>;errorBudget`: `errorBudget`, the error budget left.
    ErrorBudget,
    /// `SLO;<id>;burnRate`: `errorBudgetBurnRate.burnRateValue`.
    BurnRate,
}

impl SloField {
    /// The suffix after `SLO;<id>;` (none for Keptn's form).
    pub fn suffix(self) -> Option<&'static str> {
        match self {
            SloField::EvaluatedPercentage => None,
            SloField::ErrorBudget => Some("errorBudget"),
            SloField::BurnRate => Some("burnRate"),
        }
    }

    /// Case-sensitive, like the API's field names.
    pub fn from_suffix(s: &str) -> Option<SloField> {
        match s {
            "errorBudget" => Some(SloField::ErrorBudget),
            "burnRate" => Some(SloField::BurnRate),
            _ => None,
        }
    }
}

/// One SLI, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SliQuery {
    /// `metricSelector=…&entitySelector=…` (also the legacy `<sel>?scope=` form, already turned
    /// into its v2 equivalent).
    Metrics(MetricsQuery),
    /// `MV2;<unit>;<metrics query>`.
    Mv2 {
        unit: Mv2Unit,
        metrics: MetricsQuery,
    },
    /// `SLO;<id>` (Keptn: the SLO's `evaluatedPercentage`), `SLO;<id>;errorBudget` and
    /// `SLO;<id>;burnRate` (slogate: the error budget left and the burn rate).
    Slo { id: String, field: SloField },
    /// `BURN;…`: the multi-window burn rate of a good/bad pair of metric queries
    /// ([`burn`]); the Dynatrace form, with its two queries parsed.
    Burn(Box<burn::DynatraceBurn>),
    /// `PV2;[problemSelector=…][&entitySelector=…]`.
    Problems {
        problem_selector: Option<String>,
        entity_selector: Option<String>,
    },
    /// `SECPV2;[securityProblemSelector=…]`.
    SecurityProblems {
        security_problem_selector: Option<String>,
    },
    /// `USQL;<TYPE>;<dimension>;<query>`.
    Usql {
        result_type: UsqlType,
        dimension: String,
        query: String,
    },
    /// `DQL;<query>`: Grail; the value is the single numeric field of the single record.
    Dql { query: String },
    /// PromQL for the Prometheus source (never sent to Dynatrace): every placeholder filled but
    /// `$DURATION_SECONDS`, which depends on the window.
    Promql { query: String },
}

/// The evaluated timeframe in epoch milliseconds (sub-second parts already dropped, as Keptn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    /// Only the release dashboard's update (Config API v1) uses it.
    Put,
}

/// One HTTP request, relative to the environment URL.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: Method,
    /// Already percent-encoded path, e.g. `/api/v2/slo/7d07efde-…`.
    pub path: String,
    /// Query parameters; `encode::query_string` sorts and escapes them like Go's `url.Values.Encode`.
    pub query: Vec<(String, String)>,
    /// JSON body for POST requests (DQL).
    pub body: Option<serde_json::Value>,
}

impl Request {
    /// `/path?encoded-query`, exactly as sent.
    pub fn path_and_query(&self) -> String {
        let q = encode::query_string(&self.query);
        if q.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, q)
        }
    }

    /// `GET /path?query` (plus the body for POST), the form `explain` and reports show.
    pub fn display(&self) -> String {
        let method = match self.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        };
        match &self.body {
            Some(b) => format!("{method} {} {b}", self.path_and_query()),
            None => format!("{method} {}", self.path_and_query()),
        }
    }
}

/// Whether a metric selector's value is a total over the window: its last aggregation is `sum`
/// or `count` (transformations that keep the aggregation, such as `:toUnit`, may follow).
pub fn is_total(metric_selector: &str) -> bool {
    const KEEPS: &[&str] = &[
        ":toUnit(",
        ":setUnit(",
        ":names",
        ":sort(",
        ":limit(",
        ":last",
        ":fold",
    ];
    let mut s = metric_selector.trim();
    loop {
        let cut = KEEPS
            .iter()
            .filter_map(|k| s.rfind(k))
            .max()
            .filter(|&i| !s[i..].contains(":sum") && !s[i..].contains(":count"));
        match cut {
            Some(i) if i > 0 => s = &s[..i],
            _ => break,
        }
    }
    s.ends_with(":sum") || s.ends_with(":count") || s.ends_with(":fold(sum)")
}

/// The unit a query's value comes in when the query itself says so: the target of a trailing
/// `:toUnit(From,To)`, or what an `MV2;` prefix converts to. `None` means "ask the descriptor".
pub fn stated_unit(q: &SliQuery) -> Option<String> {
    let (metrics, mv2) = match q {
        SliQuery::Metrics(m) => (m, None),
        SliQuery::Mv2 { unit, metrics } => (metrics, Some(*unit)),
        _ => return None,
    };
    if let Some(i) = metrics.metric_selector.rfind(":toUnit(") {
        let args = &metrics.metric_selector[i + ":toUnit(".len()..];
        let to = args.split(')').next()?.split(',').nth(1)?.trim();
        if !to.is_empty() {
            return Some(to.to_string());
        }
    }
    match mv2? {
        Mv2Unit::MicroSecond => Some("MilliSecond".into()),
        Mv2Unit::Byte => Some("KibiByte".into()),
        Mv2Unit::Unscaled => None,
    }
}

/// A unit as people read it next to a number: `ms`, `%`, `KiB`; nothing for counts.
pub fn unit_symbol(unit: &str) -> Option<&str> {
    Some(match unit {
        "NanoSecond" => "ns",
        "MicroSecond" => "µs",
        "MilliSecond" => "ms",
        "Second" => "s",
        "Minute" => "min",
        "Hour" => "h",
        "Day" => "d",
        "Percent" => "%",
        "PerMille" => "‰",
        "Byte" => "B",
        "KiloByte" => "kB",
        "MegaByte" => "MB",
        "KibiByte" => "KiB",
        "MebiByte" => "MiB",
        "GibiByte" => "GiB",
        "BytePerSecond" => "B/s",
        "PerSecond" => "/s",
        "PerMinute" => "/min",
        "Count" | "Unspecified" | "Ratio" | "" => return None,
        other => other,
    })
}

#[cfg(test)]
mod total_tests {
    use super::{MetricsQuery, Mv2Unit, SliQuery, is_total, stated_unit, unit_symbol};

    fn metrics(sel: &str) -> MetricsQuery {
        MetricsQuery {
            metric_selector: sel.into(),
            entity_selector: None,
            resolution: None,
            mz_selector: None,
        }
    }

    #[test]
    fn units_the_query_states() {
        let q = SliQuery::Metrics(metrics("m:percentile(95):toUnit(MicroSecond,MilliSecond)"));
        assert_eq!(stated_unit(&q).as_deref(), Some("MilliSecond"));
        let q = SliQuery::Mv2 {
            unit: Mv2Unit::MicroSecond,
            metrics: metrics("m:avg"),
        };
        assert_eq!(stated_unit(&q).as_deref(), Some("MilliSecond"));
        assert_eq!(stated_unit(&SliQuery::Metrics(metrics("m:avg"))), None);
        assert_eq!(unit_symbol("MilliSecond"), Some("ms"));
        assert_eq!(unit_symbol("Count"), None);
    }

    #[test]
    fn sums_and_counts_are_totals() {
        assert!(is_total(
            "builtin:service.requestCount.total:merge(\"dt.entity.service\"):sum"
        ));
        assert!(is_total(
            "builtin:service.requestCount.total:count:toUnit(Count,Count)"
        ));
        assert!(is_total("m:sum:names"));
        assert!(!is_total("builtin:service.response.time:percentile(95)"));
        assert!(!is_total(
            "builtin:service.response.time:avg:toUnit(MicroSecond,MilliSecond)"
        ));
        assert!(!is_total("builtin:service.requestCount.total"));
    }
}
