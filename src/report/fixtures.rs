//! Hand-made reports the renderers are snapshot-tested with. Each one is consistent with Keptn's
//! scoring (scores, statuses and messages are what `eval` would produce for such values).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use crate::eval::{
    BaselineKind, Evaluation, IndicatorResult, MissingBaseline, ResultValue, Status, TargetResult,
    Verdict,
};
use crate::model::slo::EffectiveComparison;
use crate::report::Report;
use crate::report::json::{
    DeploymentInfo, PipelineInfo, Policy, REPORT_VERSION, Series, SettleInfo, SloInfo, SourceInfo,
    Tool, WindowInfo,
};

/// Every fixture with its name, for tests that run over all of them.
pub(crate) fn all() -> Vec<(&'static str, Report)> {
    vec![
        ("passing", passing()),
        ("failing_key", failing_key()),
        ("relative_window", relative_window()),
        ("warning", warning()),
        ("no_value", no_value()),
        ("with_series", with_series()),
        ("errored", errored()),
        ("unavailable", unavailable()),
        ("judged", judged()),
        ("in_context", in_context()),
    ]
}

const RT_QUERY: &str = "GET /api/v2/metrics/query?entitySelector=type%28SERVICE%29%2Ctag%28keptn_service%3Acheckout%29&from=1763373600000&metricSelector=builtin%3Aservice.response.time%3Apercentile%2895%29&resolution=Inf&to=1763375400000";
const ERR_QUERY: &str = "GET /api/v2/metrics/query?entitySelector=type%28SERVICE%29%2Ctag%28keptn_service%3Acheckout%29&from=1763373600000&metricSelector=builtin%3Aservice.errors.total.rate%3Aavg&resolution=Inf&to=1763375400000";

fn target(criteria: &str, target_value: f64, violated: bool) -> TargetResult {
    TargetResult {
        criteria: criteria.into(),
        target_value,
        violated,
    }
}

struct Ind {
    name: &'static str,
    metric: &'static str,
    value: Option<f64>,
    status: Status,
    key: bool,
    baseline: (BaselineKind, f64, usize),
    pass: Vec<TargetResult>,
    warning: Vec<TargetResult>,
    query: Option<&'static str>,
}

impl Ind {
    fn new(name: &'static str, metric: &'static str, value: f64, status: Status) -> Self {
        Ind {
            name,
            metric,
            value: Some(value),
            status,
            key: false,
            baseline: (BaselineKind::None, 0.0, 0),
            pass: Vec::new(),
            warning: Vec::new(),
            query: None,
        }
    }

    fn build(self) -> IndicatorResult {
        let (kind, a, count) = self.baseline;
        let query = self.query.map(String::from);
        let success = self.value.is_some();
        let change_percent = match (self.value, kind) {
            (Some(v), BaselineKind::History | BaselineKind::Window) if a != 0.0 => {
                Some((v - a) / a * 100.0)
            }
            _ => None,
        };
        let score = match self.status {
            Status::Pass => 1.0,
            Status::Warning => 0.5,
            Status::Fail | Status::Info => 0.0,
        };
        IndicatorResult {
            score,
            status: self.status,
            display_name: self.name.into(),
            key_sli: self.key,
            value: ResultValue {
                metric: self.metric.into(),
                value: self.value,
                compared_value: a,
                success,
                message: String::new(),
                query: query.clone(),
            },
            pass_targets: Some(self.pass),
            warning_targets: Some(self.warning),
            baseline: kind,
            baseline_aggregate: "avg".into(),
            baseline_count: count,
            weight: 1,
            change_percent,
            baseline_value: None,
            notes: Vec::new(),
            query,
            unit: None,
            error: None,
            judge: None,
            not_judged: None,
            source: None,
            tile: None,
        }
    }
}

fn base(result: Verdict, score: f64, message: &str, indicators: Vec<IndicatorResult>) -> Report {
    Report {
        id: None,
        report_version: REPORT_VERSION,
        tool: Tool {
            name: "slogate".into(),
            version: "0.1.0".into(),
        },
        project: Some("shop".into()),
        stage: Some("production".into()),
        service: Some("checkout".into()),
        labels: BTreeMap::new(),
        time_start: Some("2026-11-17T10:00:00Z".into()),
        time_end: Some("2026-11-17T10:30:00Z".into()),
        slo: SloInfo {
            files: vec!["slo.yaml".into()],
            hash: "sha256:9f2c4e1b7a".into(),
            comparison: EffectiveComparison {
                compare_with: "several_results".into(),
                include_result_with_score: "pass".into(),
                number_of_comparison_results: 3,
                aggregate_function: "avg".into(),
            },
            pass_threshold: Some("90%".into()),
            warning_threshold: Some("75%".into()),
        },
        policy: Policy {
            on_missing_baseline: MissingBaseline::Pass,
        },
        source: Some(SourceInfo {
            kind: "dynatrace".into(),
            url: "https://abc12345.live.dynatrace.com".into(),
            requests: 3,
            retries: 0,
            fetch_millis: 412,
        }),
        settle: Some(SettleInfo {
            seconds: 180,
            waited_seconds: 0,
        }),
        deployment: None,
        baseline_window: None,
        pipeline: None,
        series: Vec::new(),
        result_event: None,
        baseline_selection: None,
        context: None,
        release_dashboard: None,
        evaluation: Evaluation {
            result,
            evaluation_result: result,
            status: "succeeded".into(),
            score,
            message: message.into(),
            indicator_results: indicators,
            compared_events: vec![
                "c6a1d1f4-1111-4e1e-9d0a-000000000003".into(),
                "c6a1d1f4-1111-4e1e-9d0a-000000000002".into(),
                "c6a1d1f4-1111-4e1e-9d0a-000000000001".into(),
            ],
            invalid_input: None,
            error: None,
        },
    }
}

/// Everything passes against three previous evaluations; one informational SLI.
pub(crate) fn passing() -> Report {
    let rt = Ind {
        baseline: (BaselineKind::History, 398.2, 3),
        pass: vec![
            target("<=600", 600.0, false),
            target("<=+10%", 438.02, false),
        ],
        warning: vec![target("<=800", 800.0, false)],
        query: Some(RT_QUERY),
        key: true,
        ..Ind::new(
            "Response time p95",
            "response_time_p95",
            412.5,
            Status::Pass,
        )
    };
    let err = Ind {
        baseline: (BaselineKind::History, 0.38, 3),
        pass: vec![target("<=1", 1.0, false)],
        warning: vec![target("<=2", 2.0, false)],
        query: Some(ERR_QUERY),
        ..Ind::new("Error rate", "error_rate", 0.42, Status::Pass)
    };
    let throughput = Ind {
        baseline: (BaselineKind::History, 1490.0, 3),
        ..Ind::new("", "throughput", 1523.0, Status::Info)
    };
    base(
        Verdict::Pass,
        100.0,
        "",
        vec![rt.build(), err.build(), throughput.build()],
    )
}

/// A key SLI fails its absolute and relative criteria; the other objective's name needs
/// escaping in every format.
pub(crate) fn failing_key() -> Report {
    let rt = Ind {
        key: true,
        baseline: (BaselineKind::History, 540.0, 3),
        pass: vec![target("<=600", 600.0, true), target("<=+10%", 594.0, true)],
        warning: vec![target("<=800", 800.0, true)],
        query: Some(RT_QUERY),
        ..Ind::new(
            "Response time p95",
            "response_time_p95",
            812.0,
            Status::Fail,
        )
    };
    let err = Ind {
        baseline: (BaselineKind::History, 0.38, 3),
        pass: vec![target("<=1", 1.0, false)],
        query: Some(ERR_QUERY),
        ..Ind::new(
            "Errors <5xx> & \"timeouts\" | 'all'",
            "error_rate",
            0.42,
            Status::Pass,
        )
    };
    base(
        Verdict::Fail,
        50.0,
        "Evaluation failed due to key_sli objective 'Response time p95': failed evaluation with score 0.000000",
        vec![rt.build(), err.build()],
    )
}

/// Before vs after a deployment: relative criteria against the window before it.
pub(crate) fn relative_window() -> Report {
    let rt = Ind {
        key: true,
        baseline: (BaselineKind::Window, 500.0, 1),
        pass: vec![
            target("<=+10%", 550.0, false),
            target("<=800", 800.0, false),
        ],
        warning: vec![target("<=+20%", 600.0, false)],
        query: Some(RT_QUERY),
        ..Ind::new(
            "Response time p95",
            "response_time_p95",
            530.0,
            Status::Pass,
        )
    };
    let err = Ind {
        baseline: (BaselineKind::Window, 1.2, 1),
        pass: vec![target("<=+25%", 1.5, true)],
        warning: vec![target("<=+50%", 1.8, true)],
        query: Some(ERR_QUERY),
        ..Ind::new("Error rate", "error_rate", 2.1, Status::Fail)
    };
    let mut apdex = Ind {
        pass: vec![target(">=-5%", 0.0, false)],
        ..Ind::new("Apdex", "apdex", 0.91, Status::Pass)
    }
    .build();
    apdex.notes.push(
        "a relative criterion passed without a baseline (no previous value): Keptn's behaviour; \
         --on-missing-baseline changes it"
            .into(),
    );
    let mut report = base(
        Verdict::Fail,
        200.0 / 3.0,
        "Evaluation failed since the calculated score of 66.66666666666667 is below the warning value of 75",
        vec![rt.build(), err.build(), apdex],
    );
    report.evaluation.compared_events = Vec::new();
    report.deployment = Some(DeploymentInfo {
        time: "2026-11-17T10:00:00Z".into(),
        source: "event".into(),
        event_id: Some("-4711812345678901234_1763373600000".into()),
        title: Some("Deploy checkout 1.4.2".into()),
        version: Some("1.4.2".into()),
        event_type: Some("CUSTOM_DEPLOYMENT".into()),
    });
    report.baseline_window = Some(WindowInfo {
        time_start: "2026-11-17T09:30:00Z".into(),
        time_end: "2026-11-17T10:00:00Z".into(),
    });
    report
}

/// The error rate misses its pass criterion but meets its warning one: score 75, a warning.
pub(crate) fn warning() -> Report {
    let rt = Ind {
        baseline: (BaselineKind::History, 398.2, 3),
        pass: vec![target("<=600", 600.0, false)],
        query: Some(RT_QUERY),
        ..Ind::new(
            "Response time p95",
            "response_time_p95",
            402.0,
            Status::Pass,
        )
    };
    let err = Ind {
        baseline: (BaselineKind::History, 0.9, 3),
        pass: vec![target("<=1", 1.0, true)],
        warning: vec![target("<=2", 2.0, false)],
        query: Some(ERR_QUERY),
        ..Ind::new("Error rate", "error_rate", 1.3, Status::Warning)
    };
    base(
        Verdict::Warning,
        75.0,
        "Evaluation returned a warning: the calculated score of 75 is close to the warning target value of 75",
        vec![rt.build(), err.build()],
    )
}

/// The provider delivered no value for one SLI; its message has a newline and the characters
/// CI logging commands must escape.
pub(crate) fn no_value() -> Report {
    let rt = Ind {
        baseline: (BaselineKind::History, 398.2, 3),
        pass: vec![target("<=600", 600.0, false)],
        query: Some(RT_QUERY),
        ..Ind::new(
            "Response time p95",
            "response_time_p95",
            402.0,
            Status::Pass,
        )
    };
    let mut err = Ind {
        value: None,
        baseline: (BaselineKind::History, 0.4, 3),
        pass: vec![target("<=1", 1.0, true)],
        warning: vec![target("<=2", 2.0, true)],
        query: Some(ERR_QUERY),
        ..Ind::new("Error rate", "error_rate", 0.0, Status::Fail)
    }
    .build();
    err.value.message =
        "Metrics API v2 returned zero metric series.\nWarnings: selector matched 0 \
                         entities; check tag [app:checkout] (100% of the window)"
            .into();
    base(
        Verdict::Fail,
        50.0,
        "Evaluation failed since the calculated score of 50 is below the warning value of 75",
        vec![rt.build(), err],
    )
}

/// [`relative_window`] with the SLIs' time series across both windows and the CI run.
pub(crate) fn with_series() -> Report {
    let mut report = relative_window();
    // Units where the query states them (`:toUnit(…,MilliSecond)`); the error rate has none.
    report.evaluation.indicator_results[0].unit = Some("MilliSecond".into());
    report.pipeline = Some(PipelineInfo {
        ci: "azure".into(),
        url: Some(
            "https://dev.azure.com/shop/checkout/_build/results?buildId=4711&view=results".into(),
        ),
        name: Some("Release-42".into()),
        commit: Some("3f2c1a9".into()),
    });
    // 2-minute slots, identified by their end, from 09:30 to 10:30.
    let start = Utc
        .with_ymd_and_hms(2026, 11, 17, 9, 30, 0)
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or_default();
    let timestamps: Vec<i64> = (1..=30).map(|i| start + i * 120_000).collect();
    let rt = (1..=30)
        .map(|i| match i {
            9 => None,
            i if i <= 15 => Some(480.0 + f64::from((i * 7) % 5) * 9.0),
            i => Some(505.0 + f64::from((i * 3) % 7) * 8.0),
        })
        .collect();
    let err = (1..=30)
        .map(|i| match i {
            21 | 22 => None,
            i if i <= 15 => Some(1.0 + f64::from((i * 5) % 4) * 0.1),
            i => Some(1.8 + f64::from((i * 3) % 5) * 0.15),
        })
        .collect();
    report.series = vec![
        Series {
            metric: "response_time_p95".into(),
            total: false,
            timestamps: timestamps.clone(),
            values: rt,
        },
        Series {
            metric: "error_rate".into(),
            total: false,
            timestamps,
            values: err,
        },
    ];
    report
}

/// The provider errored: nothing was scored, and neither project, stage nor service is known.
pub(crate) fn errored() -> Report {
    let mut report = base(
        Verdict::Error,
        0.0,
        "evaluation performed by lighthouse received an unexpected error: Dynatrace answered 403 \
         Forbidden: token is missing scope <metrics.read>",
        Vec::new(),
    );
    report.evaluation.error = Some(
        "the SLI provider errored: Dynatrace answered 403 Forbidden: token is missing scope \
         <metrics.read>"
            .into(),
    );
    report.evaluation.evaluation_result = Verdict::Pass;
    report.evaluation.status = "errored".into();
    report.evaluation.compared_events = Vec::new();
    report.project = None;
    report.stage = None;
    report.service = None;
    report.slo.files = vec!["slo/base.yaml".into(), "slo/checkout & co.yaml".into()];
    report
}

/// Dynatrace answered 503 for the baseline window of a relative objective and could not be
/// reached for another: no verdict, whatever Keptn's scoring said.
pub(crate) fn unavailable() -> Report {
    let mut rt = Ind {
        baseline: (BaselineKind::None, 0.0, 0),
        pass: vec![target("<=+10%", 0.0, false)],
        query: Some(RT_QUERY),
        ..Ind::new(
            "Response time p95",
            "response_time_p95",
            851.23456,
            Status::Pass,
        )
    }
    .build();
    rt.error = Some(
        "the baseline window could not be fetched: Dynatrace answered 503 Service Unavailable \
         (5 attempts)"
            .into(),
    );
    let mut err = Ind {
        value: None,
        pass: vec![target("<=1", 1.0, true)],
        query: Some(ERR_QUERY),
        ..Ind::new("Error rate", "error_rate", 0.0, Status::Fail)
    }
    .build();
    err.value.message =
        "could not connect to abc12345.live.dynatrace.com: connection refused".into();
    err.error = Some(err.value.message.clone());
    let mut report = base(
        Verdict::Error,
        50.0,
        "Evaluation failed since the calculated score of 50 is below the warning value of 75",
        vec![rt, err],
    );
    report.evaluation.evaluation_result = Verdict::Fail;
    report.evaluation.error = Some(
        "2 of 2 objectives could not be evaluated (https://abc12345.live.dynatrace.com); \
         response_time_p95: the baseline window could not be fetched: Dynatrace answered 503 \
         Service Unavailable (5 attempts)"
            .into(),
    );
    report
}

/// `with_series` under `--judge statistical`: the p95 within its margin, the error rate beyond
/// its margin but inconclusive (too few errors): a warning that says so.
pub(crate) fn judged() -> Report {
    use crate::judge::{Comparison, Decision, Interval, JudgedCriterion, Statistic, describe};
    use crate::model::criteria::Criterion;
    let mut report = with_series();
    let judge = |statistic,
                 change: (f64, f64, f64),
                 events: Option<(f64, f64)>,
                 too_little: Option<&str>| Comparison {
        statistic,
        method: "mean of log per-minute values, AR(1)-corrected".into(),
        confidence: 0.95,
        change_percent: Some(Interval {
            point: change.0,
            low: change.1,
            high: change.2,
        }),
        difference: None,
        minutes_before: 30,
        minutes_after: 30,
        effective_minutes_before: 9.5,
        effective_minutes_after: 9.5,
        autocorrelation: 0.4,
        between_windows_percent: Some(3.2),
        events_before: events.map(|e| e.0),
        events_after: events.map(|e| e.1),
        events_name: events.map(|_| "errors".to_string()),
        too_little: too_little.map(str::to_string),
        decision: None,
        summary: String::new(),
        resolvable_percent: None,
        criteria: Vec::new(),
        baseline: None,
        left_out: Vec::new(),
        load_adjusted_percent: None,
        load_slope: None,
        log_se: None,
        combined: None,
    };
    let mut rt = judge(Statistic::Percentile(95.0), (6.0, -2.1, 14.8), None, None);
    describe(
        &mut rt,
        "Response time p95",
        &[(Criterion::parse("<=+10%").unwrap(), Decision::Satisfied)],
    );
    rt.criteria = vec![JudgedCriterion {
        criteria: "<=+10%".into(),
        decision: Decision::Satisfied,
    }];
    let mut err = judge(
        Statistic::Rate,
        (75.0, -12.4, 249.6),
        Some((8.0, 14.0)),
        Some("8 errors before, 14 after: too few to judge (at least 10 a window)"),
    );
    describe(
        &mut err,
        "Error rate",
        &[(Criterion::parse("<=+25%").unwrap(), Decision::Inconclusive)],
    );
    err.criteria = vec![
        JudgedCriterion {
            criteria: "<=+25%".into(),
            decision: Decision::Inconclusive,
        },
        JudgedCriterion {
            criteria: "<=+50%".into(),
            decision: Decision::Inconclusive,
        },
    ];
    let e = &mut report.evaluation;
    e.indicator_results[0].judge = Some(rt);
    let r = &mut e.indicator_results[1];
    r.notes.push(format!(
        "{}; a warning, not a failure (--judge statistical)",
        err.summary
    ));
    r.judge = Some(err);
    r.status = Status::Warning;
    r.score = 1.0;
    e.score = 100.0;
    e.result = Verdict::Warning;
    e.evaluation_result = Verdict::Warning;
    e.message = "Evaluation returned a warning: 1 objective is inconclusive (--judge statistical): worse than before, but not shown to be beyond the margin".into();
    report
}

/// A passing before/after gate that the problem policy `fail` failed: a problem opened after
/// the deployment, one that was there before, and a feature flag flipped inside the after
/// window.
pub(crate) fn in_context() -> Report {
    use crate::context::{ChangeInfo, Context, PolicyChange, ProblemInfo, ProblemPolicy};
    let mut report = passing();
    report.deployment = Some(DeploymentInfo {
        time: "2026-11-17T10:00:00Z".into(),
        source: "event".into(),
        event_id: Some("-4711812345678901234_1763373600000".into()),
        title: Some("Deploy checkout 1.4.2".into()),
        version: Some("1.4.2".into()),
        event_type: Some("CUSTOM_DEPLOYMENT".into()),
    });
    report.baseline_window = Some(WindowInfo {
        time_start: "2026-11-17T09:30:00Z".into(),
        time_end: "2026-11-17T10:00:00Z".into(),
    });
    let ui = "https://abc12345.live.dynatrace.com";
    report.context = Some(Context {
        problem_policy: ProblemPolicy::Fail,
        problems: vec![
            ProblemInfo {
                problem_id: "-2211_1763371800000V2".into(),
                display_id: "P-2211".into(),
                title: "Long garbage-collection time".into(),
                severity: "RESOURCE_CONTENTION".into(),
                status: "CLOSED".into(),
                start: "2026-11-17T09:40:00Z".into(),
                end: Some("2026-11-17T09:52:00Z".into()),
                root_cause: Some("checkout-jvm".into()),
                windows: vec!["before".into()],
                started_after_deployment: false,
                link: Some(format!("{ui}/#problems/problemdetails;pid=-2211_1763371800000V2")),
                on_related: Some("process group".into()),
            },
            ProblemInfo {
                problem_id: "-2212_1763374920000V2".into(),
                display_id: "P-2212".into(),
                title: "Failure rate increase".into(),
                severity: "ERROR".into(),
                status: "OPEN".into(),
                start: "2026-11-17T10:22:00Z".into(),
                end: None,
                root_cause: Some("checkout".into()),
                windows: vec!["after".into()],
                started_after_deployment: true,
                link: Some(format!("{ui}/#problems/problemdetails;pid=-2212_1763374920000V2")),
                on_related: None,
            },
        ],
        problems_not_checked: None,
        related_not_checked: None,
        changes: vec![ChangeInfo {
            kind: "feature flag change".into(),
            event_type: "CUSTOM_INFO".into(),
            what: "new-checkout-flow=on".into(),
            time: "2026-11-17T10:42:00Z".into(),
            window: "after".into(),
            entity: Some("checkout".into()),
            link: Some(format!(
                "{ui}/#newservices/serviceOverview;id=SERVICE-F91837027736B19E;gtf=c_1763374920000_1763378520000;gf=all"
            )),
        }],
        changes_not_checked: None,
        maintenance_not_checked: None,
        policy_changed: Some(PolicyChange {
            from: Verdict::Pass,
            to: Verdict::Fail,
            reason: "1 problem started after the deployment (P-2212 Failure rate increase); the problem policy `fail` makes a pass a fail".into(),
        }),
        service_link: Some(format!(
            "{ui}/#newservices/serviceOverview;id=SERVICE-F91837027736B19E;gtf=c_1763371800000_1763377200000;gf=all"
        )),
    });
    report.release_dashboard = Some(crate::report::json::ReleaseDashboard {
        id: "6c1d2f0e-5b1a-4c3e-9d2f-0e5b1a4c3e9d".into(),
        name: "slogate · shop/production/checkout".into(),
        link: Some(format!(
            "{ui}/#dashboard;id=6c1d2f0e-5b1a-4c3e-9d2f-0e5b1a4c3e9d"
        )),
    });
    report.evaluation.result = Verdict::Fail;
    report
}
