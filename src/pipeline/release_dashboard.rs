//! Step 6, when asked (`gate --publish-dashboard`, `slogate dashboard publish`): each verdict
//! onto its release comparison dashboard in Dynatrace (docs/release-dashboard.md). A side
//! effect: a failure here is a warning and never changes the outcome or the exit code.

use std::path::Path;

use super::inputs::Inputs;
use super::windows::service_selector;
use crate::context::links;
use crate::eval::Verdict;
use crate::plan::Plan;
use crate::report::Report;
use crate::report::json::ReleaseDashboard;
use crate::report::release_dashboard::{self as builder, Options};
use crate::source::http::Client;

/// The scopes publishing needs: finding the dashboard reads the configuration, creating or
/// updating it writes it.
pub(crate) const SCOPES: [&str; 2] = ["ReadConfig", "WriteConfig"];

/// What `--publish-dashboard` asks for.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Publish {
    /// `--keep-releases`; `None`: slogate.yaml's `dashboard.keep_releases`, else 5.
    pub(crate) keep_releases: Option<usize>,
}

/// The options of a plan: the flag over slogate.yaml over the defaults.
fn options(plan: &Plan, publish: Publish) -> Options {
    let s = &plan.settings.release_dashboard;
    let d = Options::default();
    Options {
        keep_releases: publish
            .keep_releases
            .or(s.keep_releases.as_ref().map(|k| k.value.max(1) as usize))
            .unwrap_or(d.keep_releases)
            .max(1),
        shared: s.shared.as_ref().map_or(d.shared, |v| v.value),
        owner: s.owner.as_ref().map(|o| o.value.clone()),
    }
}

/// The UI base the dashboard's link points at.
fn ui(url: &str, plan: &Plan) -> Option<String> {
    links::ui_base(
        url,
        plan.settings
            .dynatrace
            .as_ref()
            .and_then(|d| d.ui_url.as_ref())
            .map(|u| u.value.as_str()),
    )
}

/// One report onto its dashboard: found by name and tag, rebuilt, saved. Returns what the
/// report records about it.
async fn one(
    client: &Client,
    url: &str,
    plan: &Plan,
    report: &Report,
    publish: Publish,
) -> Result<ReleaseDashboard, String> {
    let selector = service_selector(plan)?;
    let name = builder::name(report);
    let existing = crate::source::release_dashboard::find(client, &name).await?;
    let d = builder::build(
        report,
        &selector,
        &options(plan, publish),
        existing.as_ref(),
    );
    let id = crate::source::release_dashboard::save(client, &d).await?;
    Ok(ReleaseDashboard {
        link: ui(url, plan).map(|u| links::dashboard(&u, &id)),
        id,
        name,
    })
}

/// Every report with a verdict onto its dashboard (an `invalid` run has nothing to show);
/// the warnings of those that could not be published.
pub(crate) fn publish(
    rt: &tokio::runtime::Runtime,
    inputs: &Inputs,
    reports: &mut [Report],
    publish: Publish,
) -> Vec<String> {
    let url = &inputs.conn.url;
    let jobs = inputs
        .plans
        .iter()
        .zip(reports.iter())
        .map(|(plan, report)| async move {
            if report.evaluation.result == Verdict::Invalid {
                return None;
            }
            Some(one(&inputs.client, url, plan, report, publish).await)
        });
    // One service at a time keeps two services of one name from racing to create it twice.
    let results = rt.block_on(async {
        let mut out = Vec::new();
        for j in jobs {
            out.push(j.await);
        }
        out
    });
    let mut warnings = Vec::new();
    for (report, r) in reports.iter_mut().zip(results) {
        match r {
            Some(Ok(d)) => report.release_dashboard = Some(d),
            Some(Err(why)) => warnings.push(format!(
                "could not publish the release dashboard{}: {why}",
                report
                    .service
                    .as_deref()
                    .map(|s| format!(" of {s}"))
                    .unwrap_or_default()
            )),
            None => {}
        }
    }
    warnings
}

/// `slogate dashboard publish REPORT.json`: the reports of an earlier run onto their
/// dashboards, with the connection and settings of the config root. Prints each link.
pub(crate) fn publish_file(
    path: &Path,
    select: &crate::plan::Scope,
    source: &crate::cli::SourceArgs,
    publish: Publish,
) -> Result<Vec<ReleaseDashboard>, super::Stop> {
    use super::{Stop, usage};
    let (file, problems) = crate::model::load::read_text(path).map_err(|p| vec![p])?;
    if problems.iter().any(crate::diag::Problem::is_error) {
        return Err(Stop::Invalid(problems));
    }
    let reports: Vec<Report> = match serde_json::from_str::<serde_json::Value>(&file.text) {
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>(),
        Ok(v) => serde_json::from_value(v).map(|r| vec![r]),
        Err(e) => Err(e),
    }
    .map_err(|e| {
        Stop::Invalid(usage(
            format!("{} is not a slogate JSON report: {e}", file.name),
            "give the report.json of `slogate gate` (--output FILE or --report-dir DIR)",
        ))
    })?;
    if reports.is_empty() {
        return Err(Stop::Invalid(usage(
            format!("{} holds no report", file.name),
            "give the report.json of `slogate gate`",
        )));
    }
    let env = crate::shell::environment();
    let mut plans = Vec::new();
    for r in &reports {
        let scope = crate::plan::Scope {
            project: select.project.clone().or_else(|| r.project.clone()),
            stage: select.stage.clone().or_else(|| r.stage.clone()),
            services: r.service.iter().cloned().collect(),
            ..select.clone()
        };
        plans.push(crate::plan::resolve(&scope, r.service.as_deref(), &env)?);
    }
    let conn = crate::plan::connection(&plans[0].settings, &env).map_err(|p| vec![p])?;
    let Some(token) = conn.token.clone() else {
        return Err(Stop::Invalid(vec![crate::plan::missing_token(
            &conn.token_env,
            "publishing a dashboard needs the scopes ReadConfig and WriteConfig (docs/token-scopes.md)",
        )]));
    };
    let timeout = crate::window::parse_duration(&source.request_timeout)
        .map_err(|m| usage(m, "e.g. --request-timeout 30s"))?
        .to_std()
        .unwrap_or(std::time::Duration::from_secs(30));
    let client = crate::shell::client_for(&conn, timeout, source.concurrency)
        .map_err(|e| Stop::Invalid(vec![e.problem()]))?;
    let rt = crate::shell::runtime()?;
    rt.block_on(crate::source::preflight::check(
        &client,
        &token,
        &conn.token_env,
        &conn.url,
        &SCOPES,
    ))
    .map_err(|r| Stop::CouldNot(r.message().to_string()))?;
    let mut out = Vec::new();
    for (plan, report) in plans.iter().zip(&reports) {
        let d = rt
            .block_on(one(&client, &conn.url, plan, report, publish))
            .map_err(Stop::CouldNot)?;
        out.push(d);
    }
    Ok(out)
}
