//! Where dashboard mode meets the evaluation pipeline: which dashboard a service uses (flag,
//! `dynatrace/dynatrace.conf.yaml`, slogate.yaml), loading it once the connection is known, and
//! turning it into the plan's SLO and SLIs for the evaluation window. IO at the edge; the
//! conversion itself is in `process` and the pure modules.

use std::path::Path;

use serde_json::Value;

use super::process::{self, DashboardError, Processed};
use super::select::Selection;
use crate::diag::Problem;
use crate::model::load;
use crate::model::settings::Settings;
use crate::plan::Plan;
use crate::query::Vars;
use crate::query::Window;
use crate::source::http::Client;
use crate::source::{Failure, Fatal, Fetched, Sli, SourceKind};

/// A service's dashboard: how it was chosen and, once loaded, what it gave.
#[derive(Clone, Debug)]
pub struct DashboardPlan {
    pub selection: Selection,
    /// Where the selection was written (`--dashboard`, a dynatrace.conf.yaml, slogate.yaml).
    pub origin: String,
    pub json: Option<Value>,
    /// The tiles processed for the evaluation window.
    pub processed: Option<(Window, Processed)>,
}

/// Keptn's placeholders (`$PROJECT`, `$STAGE`, `$SERVICE`, `$DEPLOYMENT`, `$LABEL.x`, …).
fn substitute(raw: &str, vars: &Vars) -> String {
    crate::query::placeholder::substitute(raw, vars).text
}

/// `dashboard:` of one dynatrace.conf.yaml, if the file exists and sets it.
fn conf_value(path: &Path) -> Result<Option<String>, Problem> {
    if !path.is_file() {
        return Ok(None);
    }
    let (file, problems) = load::read_text(path)?;
    if let Some(p) = problems.into_iter().find(Problem::is_error) {
        return Err(p);
    }
    let parsed = crate::model::yaml::parse(&file);
    if let Some(p) = parsed.problems.into_iter().find(Problem::is_error) {
        return Err(p);
    }
    Ok(parsed
        .root
        .as_ref()
        .and_then(|r| r.get("dashboard"))
        .and_then(|n| n.as_scalar())
        .map(str::to_string))
}

/// Whether a config root selects a dashboard anywhere (a dynatrace.conf.yaml at root, stage or
/// service level, or slogate.yaml): such a root needs no sli.yaml / slo.yaml.
pub fn configured(root: &Path, settings: &Settings) -> bool {
    let set = |d: &Path| {
        conf_value(&d.join("dynatrace").join("dynatrace.conf.yaml"))
            .ok()
            .flatten()
            .is_some_and(|v| !v.trim().is_empty())
    };
    let children = |d: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(d)
            .map(|r| {
                r.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_dir() && !p.ends_with("dynatrace"))
                    .collect()
            })
            .unwrap_or_default()
    };
    settings
        .dynatrace
        .as_ref()
        .and_then(|d| d.dashboard.as_ref())
        .is_some_and(|d| !d.value.trim().is_empty())
        || set(root)
        || children(root)
            .iter()
            .any(|s| set(s) || children(s).iter().any(|v| set(v)))
}

/// The dashboard selection of a service: the flag, else the most specific
/// `dynatrace/dynatrace.conf.yaml` that sets `dashboard:` (service, stage, root), else
/// slogate.yaml `dynatrace.dashboard`. `""` everywhere means file mode.
pub fn selection(
    flag: Option<&str>,
    root: &Path,
    stage: Option<&str>,
    service: Option<&str>,
    settings: &Settings,
    vars: &Vars,
) -> Result<Option<DashboardPlan>, Problem> {
    let plan = |raw: &str, origin: String| {
        Selection::parse(raw.trim()).map(|selection| DashboardPlan {
            selection,
            origin,
            json: None,
            processed: None,
        })
    };
    if let Some(f) = flag {
        return Ok(plan(f, "--dashboard".into()));
    }
    let mut dirs = Vec::new();
    if let (Some(st), Some(sv)) = (stage, service) {
        dirs.push(root.join(st).join(sv));
    }
    if let Some(st) = stage {
        dirs.push(root.join(st));
    }
    dirs.push(root.to_path_buf());
    for d in dirs {
        let path = d.join("dynatrace").join("dynatrace.conf.yaml");
        if let Some(v) = conf_value(&path)? {
            return Ok(plan(&substitute(&v, vars), path.display().to_string()));
        }
    }
    Ok(settings
        .dynatrace
        .as_ref()
        .and_then(|d| d.dashboard.as_ref())
        .and_then(|d| plan(&substitute(&d.value, vars), "slogate.yaml".into())))
}

/// A dashboard-level failure as the pipeline reports it: a wrong selection or Markdown tile is
/// bad input (exit 2), an unreachable environment is "could not evaluate" (exit 3).
pub enum Stopped {
    Invalid(Problem),
    CouldNot(String),
    Fatal(Fatal),
}

fn stopped(e: DashboardError, origin: &str) -> Stopped {
    let message = e.message();
    let problem = |help: &str| {
        Stopped::Invalid(
            Problem::file("slogate::dashboard", origin, message.clone())
                .help(format!("{help} (the dashboard is selected by {origin})")),
        )
    };
    match e {
        DashboardError::Fatal(f) => Stopped::Fatal(f),
        DashboardError::Process(_) => problem(
            "fix the KQG Markdown tile of the dashboard; `slogate lint --dashboard ID` lists every problem",
        ),
        DashboardError::Retrieve {
            status: Some(s), ..
        } if s == 429 || s >= 500 => Stopped::CouldNot(message),
        // Unreachable, or an answer that is not JSON: the environment, not the selection.
        DashboardError::Retrieve { status: None, .. } => Stopped::CouldNot(message),
        DashboardError::Retrieve { .. } | DashboardError::Lookup(_) => problem(
            "give the dashboard's ID (the `id=` of its URL), or name it KQG;project=<p>;stage=<s>;service=<v> and select it with `query`",
        ),
    }
}

/// Fetches the dashboard of every plan in dashboard mode and sets its scoring (Markdown tile),
/// so that earlier verdicts are read with the dashboard's comparison settings.
pub async fn load(plans: &mut [Plan], client: &Client) -> Result<(), Stopped> {
    for plan in plans.iter_mut() {
        let Some(d) = plan.dashboard.as_mut() else {
            continue;
        };
        let json = process::fetch(
            client,
            &d.selection,
            plan.project.as_deref().unwrap_or(""),
            plan.stage.as_deref().unwrap_or(""),
            plan.service.as_deref().unwrap_or(""),
        )
        .await
        .map_err(|e| stopped(e, &d.origin))?;
        let scoring =
            process::scoring(&json).map_err(|m| stopped(DashboardError::Process(m), &d.origin))?;
        let empty = Processed {
            id: json
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            name: json
                .pointer("/dashboardMetadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            scoring,
            indicators: Vec::new(),
        };
        plan.slo = super::slo_model(&empty).map_err(Stopped::CouldNot)?;
        d.json = Some(json);
    }
    Ok(())
}

/// The dashboard's SLIs as plan SLIs: the file-mode query where the SLI has one of its own.
pub fn slis(p: &Processed) -> Vec<Sli> {
    p.indicators
        .iter()
        .map(|i| Sli {
            name: i.objective.sli.clone(),
            text: i
                .query
                .as_ref()
                .and_then(super::query_text)
                .unwrap_or_default(),
            source: SourceKind::Dynatrace,
            parsed: i
                .query
                .clone()
                .ok_or_else(|| i.fetched.value.message.clone()),
        })
        .collect()
}

/// Processes the tiles of every dashboard plan for its evaluation window: the plan's SLO and
/// SLIs are now the dashboard's.
pub async fn expand(
    plans: &mut [Plan],
    client: &Client,
    windows: &[Window],
) -> Result<(), Stopped> {
    for (plan, &w) in plans.iter_mut().zip(windows) {
        let Some(d) = plan.dashboard.as_mut() else {
            continue;
        };
        let Some(json) = &d.json else { continue };
        let p = process::process(client, json, w)
            .await
            .map_err(|e| stopped(e, &d.origin))?;
        plan.slo = super::slo_model(&p).map_err(Stopped::CouldNot)?;
        plan.slis = slis(&p);
        plan.slo_files = vec![format!("dashboard {} \"{}\" ({})", p.id, p.name, d.origin)];
        d.processed = Some((w, p));
    }
    Ok(())
}

/// Values of a dashboard plan's SLIs for `window`: those found while expanding for the
/// evaluation window, else the tiles processed again for this window (a baseline window).
pub async fn values(
    client: &Client,
    plan: &Plan,
    window: Window,
) -> Option<Result<Vec<Fetched>, Fatal>> {
    let d = plan.dashboard.as_ref()?;
    let (w, p) = d.processed.as_ref()?;
    if *w == window {
        return Some(Ok(p.indicators.iter().map(|i| i.fetched.clone()).collect()));
    }
    let json = d.json.as_ref()?;
    let again = match process::process(client, json, window).await {
        Ok(p) => p,
        Err(DashboardError::Fatal(f)) => return Some(Err(f)),
        Err(e) => {
            let m = e.message();
            return Some(Ok(p
                .indicators
                .iter()
                .map(|i| unavailable(&i.objective.sli, &m))
                .collect()));
        }
    };
    Some(Ok(p
        .indicators
        .iter()
        .map(|i| {
            again
                .indicators
                .iter()
                .find(|a| a.objective.sli == i.objective.sli)
                .map(|a| a.fetched.clone())
                .unwrap_or_else(|| Fetched {
                    value: crate::eval::SliValue {
                        metric: i.objective.sli.clone(),
                        value: Some(0.0),
                        success: false,
                        message: format!(
                            "the dashboard gave no SLI {} for this window",
                            i.objective.sli
                        ),
                    },
                    failure: Some(Failure::NoData),
                    query: None,
                })
        })
        .collect()))
}

fn unavailable(sli: &str, message: &str) -> Fetched {
    Fetched {
        value: crate::eval::SliValue {
            metric: sli.to_string(),
            value: Some(0.0),
            success: false,
            message: message.to_string(),
        },
        failure: Some(Failure::Unavailable),
        query: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            project: "shop".into(),
            stage: "production".into(),
            service: "checkout".into(),
            ..Vars::default()
        }
    }

    fn conf(dir: &Path, value: &str) {
        std::fs::create_dir_all(dir.join("dynatrace")).unwrap();
        std::fs::write(
            dir.join("dynatrace/dynatrace.conf.yaml"),
            format!("spec_version: '0.1.0'\ndashboard: \"{value}\"\n"),
        )
        .unwrap();
    }

    fn chosen(root: &Path, flag: Option<&str>, settings: &Settings) -> Option<(Selection, String)> {
        selection(
            flag,
            root,
            Some("production"),
            Some("checkout"),
            settings,
            &vars(),
        )
        .unwrap()
        .map(|d| (d.selection, d.origin))
    }

    #[test]
    fn the_flag_then_the_most_specific_conf_then_slogate_yaml() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(chosen(root, None, &Settings::default()).is_none());
        assert!(!configured(root, &Settings::default()));
        conf(root, "query");
        assert_eq!(
            chosen(root, None, &Settings::default()).unwrap().0,
            Selection::Query
        );
        conf(&root.join("production/checkout"), "id-$SERVICE");
        let (s, origin) = chosen(root, None, &Settings::default()).unwrap();
        assert_eq!(s, Selection::Id("id-checkout".into()));
        assert!(origin.ends_with("dynatrace.conf.yaml"), "{origin}");
        assert!(configured(root, &Settings::default()));
        assert_eq!(
            chosen(root, Some("other"), &Settings::default()).unwrap().0,
            Selection::Id("other".into())
        );
        // `""` is file mode, also on the command line.
        assert!(chosen(root, Some(""), &Settings::default()).is_none());
        assert_eq!(
            chosen(root, Some("saved.json"), &Settings::default())
                .unwrap()
                .0,
            Selection::File("saved.json".into())
        );
    }
}
