//! `slogate dashboard export`: a dashboard's SLIs and objectives as Keptn stored them, or as
//! sli.yaml + slo.yaml files (the migration path from a dashboard to files).

use std::time::Duration as StdDuration;

use crate::cli::{
    DashboardArgs, DashboardCommand, DashboardExportArgs, ExportFormat, SelectArgs, SourceArgs,
};
use crate::clock::{Clock, SystemClock};
use crate::dashboard::engine::{self, Stopped};
use crate::dashboard::{self, Processed};
use crate::diag::Problem;
use crate::plan::{self, Plan};
use crate::shell::{client_for, environment, runtime};
use crate::source::Fatal;
use crate::ui::{Exit, Ui, stderr, stdout};
use crate::window::{self, TimeWindow};

pub fn run(args: &DashboardArgs, ui: &Ui) -> Exit {
    match &args.command {
        DashboardCommand::Export(a) => export(a, ui),
        DashboardCommand::Publish(a) => publish(a, ui),
    }
}

/// `slogate dashboard publish REPORT.json`: each report onto its release dashboard; the links
/// on stdout.
fn publish(args: &crate::cli::DashboardPublishArgs, ui: &Ui) -> Exit {
    use crate::pipeline::release_dashboard::{Publish, publish_file};
    let p = Publish {
        keep_releases: args.keep_releases.map(usize::from),
    };
    match publish_file(&args.report, &args.select.scope(), &args.source, p) {
        Ok(dashboards) => {
            for d in dashboards {
                stdout(&format!(
                    "release dashboard: {}\n",
                    d.link.as_deref().unwrap_or(&d.id)
                ));
            }
            Exit::Pass
        }
        Err(crate::pipeline::Stop::Invalid(p)) => {
            ui.problems(&p);
            Exit::Invalid
        }
        Err(crate::pipeline::Stop::CouldNot(m)) => {
            stderr(&format!("could not publish the release dashboard: {m}\n"));
            Exit::CouldNotEvaluate
        }
    }
}

/// `--config`'s default.
const DEFAULT_ROOT: &str = "slo";

fn usage(ui: &Ui, message: impl Into<String>, help: &str) -> Exit {
    ui.problems(&[Problem::file("slogate::usage", "command line", message).help(help.to_string())]);
    Exit::Invalid
}

/// Why a dashboard could not be processed, as an exit.
fn stopped(ui: &Ui, s: Stopped, conn: &plan::Connection) -> Exit {
    match s {
        Stopped::Invalid(p) => {
            ui.problems(&[p]);
            Exit::Invalid
        }
        Stopped::CouldNot(m) => {
            stderr(&format!("could not read the dashboard: {m}\n"));
            Exit::CouldNotEvaluate
        }
        Stopped::Fatal(Fatal::Auth { status, message }) => {
            stderr(&format!(
                "could not read the dashboard: Dynatrace at {} refused the token in {} ({status}): {message}. See docs/token-scopes.md (ReadConfig).\n",
                conn.url, conn.token_env
            ));
            Exit::CouldNotEvaluate
        }
        Stopped::Fatal(Fatal::MissingToken(m)) => {
            stderr(&format!("{m}\n"));
            Exit::Invalid
        }
    }
}

/// Resolves, fetches and processes the selected dashboard for the window of the flags.
pub fn processed(
    select: &SelectArgs,
    source: &SourceArgs,
    times: (Option<&str>, Option<&str>, Option<&str>),
    ui: &Ui,
) -> Result<(Plan, Processed, TimeWindow), Exit> {
    let env = environment();
    if select.service.len() > 1 {
        return Err(usage(ui, "one service at a time", "give --service once"));
    }
    // The dashboard holds the SLIs and objectives: outside a config root (no ./slo, no
    // --config) there are simply no files to add.
    let without_root = select.config == std::path::Path::new(DEFAULT_ROOT)
        && !select.config.exists()
        && select.dashboard.is_some();
    let service = select.service.first().map(String::as_str);
    let resolved = if without_root {
        plan::resolve_in(&select.scope(), service, &env)
    } else {
        plan::resolve(&select.scope(), service, &env)
    };
    let mut plan = match resolved {
        Ok(p) => p,
        Err(problems) => {
            ui.problems(&problems);
            return Err(Exit::Invalid);
        }
    };
    if plan.dashboard.is_none() {
        return Err(usage(
            ui,
            "no dashboard selected",
            "pass --dashboard ID or --dashboard query, or set `dashboard:` in dynatrace/dynatrace.conf.yaml",
        ));
    }
    let (from, to, timeframe) = times;
    let timeframe = match (from, to, timeframe) {
        (None, None, None) => Some("30m"),
        (Some(_), Some(_), None) => None,
        (_, _, t) => t,
    };
    let window = window::resolve(from, to, timeframe, SystemClock.now())
        .map_err(|m| usage(ui, m, "e.g. --timeframe 1h, or --from and --to"))?;
    let conn = plan::connection(&plan.settings, &env).map_err(|p| {
        ui.problems(&[p]);
        Exit::Invalid
    })?;
    if conn.token.is_none() {
        ui.problems(&[plan::missing_token(
            &conn.token_env,
            "the token needs ReadConfig for the dashboard and the read scopes of its tiles; see docs/token-scopes.md",
        )]);
        return Err(Exit::Invalid);
    }
    let timeout = window::parse_duration(&source.request_timeout)
        .ok()
        .and_then(|d| d.to_std().ok())
        .unwrap_or(StdDuration::from_secs(30));
    let client = client_for(&conn, timeout, source.concurrency.max(1)).map_err(|e| {
        ui.problems(&[e.problem()]);
        Exit::Invalid
    })?;
    let rt = runtime().map_err(|p| {
        ui.problems(&p);
        Exit::CouldNotEvaluate
    })?;
    let w = window.as_query_window();
    let done = rt.block_on(async {
        let plans = std::slice::from_mut(&mut plan);
        engine::load(plans, &client).await?;
        engine::expand(plans, &client, &[w]).await
    });
    if let Err(s) = done {
        return Err(stopped(ui, s, &conn));
    }
    let p = plan
        .dashboard
        .as_ref()
        .and_then(|d| d.processed.as_ref())
        .map(|(_, p)| p.clone());
    match p {
        Some(p) => Ok((plan, p, window)),
        None => Err(Exit::CouldNotEvaluate),
    }
}

/// An exported file, past the same guard as every other output (tokens, command markers).
fn write_safe(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let text = crate::source::secret::redact(text);
    std::fs::write(path, &*crate::report::sanitize::guard(&text))
}

fn export(a: &DashboardExportArgs, ui: &Ui) -> Exit {
    let (plan, p, _) = match processed(
        &a.select,
        &a.source,
        (a.from.as_deref(), a.to.as_deref(), a.timeframe.as_deref()),
        ui,
    ) {
        Ok(x) => x,
        Err(e) => return e,
    };
    if let Some(out) = &a.out {
        let mut dir = out.clone();
        if let Some(st) = &plan.stage {
            dir.push(st);
            if let Some(sv) = &plan.service {
                dir.push(sv);
            }
        }
        let written = std::fs::create_dir_all(&dir)
            .and_then(|_| write_safe(&dir.join("slo.yaml"), &dashboard::slo_yaml(&p)))
            .and_then(|_| write_safe(&dir.join("sli.yaml"), &dashboard::sli_yaml(&p)));
        if let Err(e) = written {
            ui.problems(&[Problem::file(
                "slogate::io",
                &dir.display().to_string(),
                format!("could not write the files: {e}"),
            )]);
            return Exit::CouldNotEvaluate;
        }
        stderr(&format!(
            "wrote {} and {} ({} objectives)\n",
            dir.join("slo.yaml").display(),
            dir.join("sli.yaml").display(),
            p.indicators.len()
        ));
    }
    match a.format {
        ExportFormat::Json => {
            let mut doc = dashboard::slo_document(&p);
            doc["dashboard"] = serde_json::json!({"id": p.id, "name": p.name});
            doc["tiles"] = serde_json::Value::Array(
                p.indicators
                    .iter()
                    .map(|i| serde_json::json!({"sli": i.objective.sli, "tile": i.tile}))
                    .collect(),
            );
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ExportFormat::Yaml if a.out.is_none() => stdout(&dashboard::slo_yaml(&p)),
        ExportFormat::Yaml => {}
    }
    Exit::Pass
}
