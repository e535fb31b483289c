//! Keptn's default SLIs (reference §5), used only when no `sli.yaml` defines any indicator.

/// Every default filters services by the Keptn tags, resolved later by placeholder substitution.
const ENTITY_SELECTOR: &str = "type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),\
                               tag(keptn_service:$SERVICE),tag(keptn_deployment:$DEPLOYMENT)";

/// Name and metric selector, in Keptn's order. Response times are in µs since 0.24 (no
/// automatic conversion to ms).
const METRICS: [(&str, &str); 5] = [
    (
        "throughput",
        "builtin:service.requestCount.total:merge(\"dt.entity.service\"):sum",
    ),
    (
        "error_rate",
        "builtin:service.errors.total.rate:merge(\"dt.entity.service\"):avg",
    ),
    (
        "response_time_p50",
        "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(50)",
    ),
    (
        "response_time_p90",
        "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(90)",
    ),
    (
        "response_time_p95",
        "builtin:service.response.time:merge(\"dt.entity.service\"):percentile(95)",
    ),
];

fn text(metric_selector: &str) -> String {
    format!("metricSelector={metric_selector}&entitySelector={ENTITY_SELECTOR}")
}

/// The five default SLIs with their (unsubstituted) queries.
pub fn slis() -> Vec<(&'static str, String)> {
    METRICS
        .iter()
        .map(|(name, sel)| (*name, text(sel)))
        .collect()
}

/// The default query for `name`, if Keptn had one (else Keptn said `unsupported SLI <name>`).
pub fn query(name: &str) -> Option<String> {
    METRICS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, sel)| text(sel))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{MetricsQuery, SliQuery, parse::parse};

    #[test]
    fn five_defaults_in_order() {
        let names: Vec<&str> = slis().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "throughput",
                "error_rate",
                "response_time_p50",
                "response_time_p90",
                "response_time_p95"
            ]
        );
    }

    #[test]
    fn texts_are_keptns() {
        assert_eq!(
            query("throughput").as_deref(),
            Some(
                "metricSelector=builtin:service.requestCount.total:merge(\"dt.entity.service\"):sum\
                 &entitySelector=type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),\
                 tag(keptn_service:$SERVICE),tag(keptn_deployment:$DEPLOYMENT)"
            )
        );
        assert_eq!(
            query("response_time_p90").as_deref(),
            Some(
                "metricSelector=builtin:service.response.time:merge(\"dt.entity.service\"):percentile(90)\
                 &entitySelector=type(SERVICE),tag(keptn_project:$PROJECT),tag(keptn_stage:$STAGE),\
                 tag(keptn_service:$SERVICE),tag(keptn_deployment:$DEPLOYMENT)"
            )
        );
        assert_eq!(query("Throughput"), None);
        assert_eq!(query("response_time_p99"), None);
    }

    #[test]
    fn every_default_parses_as_a_v2_metrics_query() {
        for (name, text) in slis() {
            assert_eq!(query(name).as_ref(), Some(&text));
            match parse(&text) {
                Ok(SliQuery::Metrics(MetricsQuery {
                    entity_selector: Some(e),
                    resolution: None,
                    mz_selector: None,
                    ..
                })) => assert!(e.starts_with("type(SERVICE),tag(keptn_project:$PROJECT)")),
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
