//! The JSON report: Keptn's evaluation result at its core, plus what slogate adds.
//! Its schema is `schemas/report.schema.json`, checked against these types by a test.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::eval::{Evaluation, MissingBaseline};
use crate::model::slo::EffectiveComparison;

/// Bumped when a field changes meaning or disappears.
pub const REPORT_VERSION: u32 = 1;

/// slogate's evaluation report: Keptn's evaluation result (result, score, indicatorResults,
/// comparedEvents) plus the tool, the SLO used, the policy and the evaluated window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Report {
    /// A unique id of this evaluation (absent for `score`): the history keeps it, so importing
    /// a report that was already recorded does not count it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub report_version: u32,
    pub tool: Tool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Start and end of the evaluated window (RFC 3339), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_end: Option<String>,
    pub slo: SloInfo,
    pub policy: Policy,
    /// Where the values came from (absent for `score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    /// How long slogate waited for the window's data to settle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle: Option<SettleInfo>,
    /// The deployment the evaluation window is anchored on (`gate --since-deployment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentInfo>,
    /// The window before the deployment whose values are the baseline (`--baseline window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_window: Option<WindowInfo>,
    /// The CI run that produced this report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineInfo>,
    /// Time series of the SLIs across the baseline and evaluation windows, for charts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub series: Vec<Series>,
    /// The Dynatrace event that carries this verdict (`--push-result`): its correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_event: Option<String>,
    /// Which earlier evaluations the relative criteria compared with, and why (history
    /// baselines: Keptn's selection or the pinned evaluation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_selection: Option<BaselineSelection>,
    /// What else happened in the windows: problems, other changes, links (docs/context.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<crate::context::Context>,
    /// The release comparison dashboard this verdict was published to (`--publish-dashboard`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_dashboard: Option<ReleaseDashboard>,
    #[serde(flatten)]
    pub evaluation: Evaluation,
}

/// A published release comparison dashboard (docs/release-dashboard.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct ReleaseDashboard {
    /// The dashboard's id in Dynatrace.
    pub id: String,
    pub name: String,
    /// The dashboard in the Dynatrace UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    pub fn current() -> Self {
        Tool {
            name: "slogate".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SloInfo {
    /// The files the SLO was merged from, least specific first.
    pub files: Vec<String>,
    /// `sha256:` of the merged SLO's canonical JSON.
    pub hash: String,
    /// The comparison settings after Keptn's defaults.
    pub comparison: EffectiveComparison,
    /// The total_score thresholds as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_threshold: Option<String>,
}

impl SloInfo {
    /// What a report says of the SLO it scored: files, hash, effective comparison, thresholds.
    pub fn of(slo: &crate::model::slo::Slo, files: Vec<String>) -> SloInfo {
        let threshold =
            |pick: fn(&crate::model::slo::TotalScore) -> Option<&crate::diag::Sourced<String>>| {
                slo.total_score
                    .as_ref()
                    .and_then(pick)
                    .map(|v| v.value.clone())
            };
        SloInfo {
            files,
            hash: slo.hash(),
            comparison: slo.effective_comparison(),
            pass_threshold: threshold(|t| t.pass.as_ref()),
            warning_threshold: threshold(|t| t.warning.as_ref()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Policy {
    pub on_missing_baseline: MissingBaseline,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SourceInfo {
    /// `dynatrace`, `prometheus`, or both as `dynatrace, prometheus` when the SLIs of one
    /// evaluation came from both.
    pub kind: String,
    /// The environment or server URL (never a token); comma-separated like `kind`.
    pub url: String,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    pub retries: u64,
    /// Wall time of fetching, in milliseconds.
    pub fetch_millis: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SettleInfo {
    /// Required age of the window's end, in seconds.
    pub seconds: i64,
    /// How long slogate waited before fetching, in seconds.
    pub waited_seconds: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct DeploymentInfo {
    /// When the deployment happened (RFC 3339).
    pub time: String,
    /// `event` (found in Dynatrace) or `flag` (`--deployment-time`).
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The type of the anchoring event (`CUSTOM_DEPLOYMENT`, `CUSTOM_CONFIGURATION`,
    /// `CUSTOM_INFO` for a feature flag) when `source` is `event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct WindowInfo {
    pub time_start: String,
    pub time_end: String,
}

/// Which earlier evaluations were the baseline of the relative criteria, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct BaselineSelection {
    /// `previous` (Keptn's selection of previous evaluations), `pinned` (`comparison: pinned`) or
    /// `control` (a canary gate: the control over the same window).
    pub mode: String,
    /// The ids of the evaluations compared with (empty: none).
    pub evaluations: Vec<String>,
    /// The sentence people read: which evaluation, and why it was chosen.
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PipelineInfo {
    /// `azure`, `github` or `gitlab`.
    pub ci: String,
    /// Link to the run (release, workflow run, pipeline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Run name or number as the CI shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// One SLI's values over time (epoch milliseconds, slot end), baseline and evaluation windows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Series {
    pub metric: String,
    /// The SLI's value is a total over its window (`:sum`, `:count`): each point is one slot's
    /// share, so charts show the running total within each window, comparable to the value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub total: bool,
    pub timestamps: Vec<i64>,
    pub values: Vec<Option<f64>>,
}

/// A random UUID (version 4) for a new evaluation.
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    b.iter_mut().for_each(|x| *x = fastrand::u8(..));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Serializes a report as pretty JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed schema must be what the types say. Set `SLOGATE_BLESS=1` to rewrite it.
    #[test]
    fn schema_file_matches_types() {
        let schema = schemars::schema_for!(Report);
        let mut generated = serde_json::to_string_pretty(&schema).unwrap();
        generated.push('\n');
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/report.schema.json");
        if std::env::var_os("SLOGATE_BLESS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "schemas/report.schema.json is out of date; run `SLOGATE_BLESS=1 cargo test schema_file_matches_types`"
        );
    }
}
