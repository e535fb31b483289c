//! `slogate explain`: the exact request behind every SLI, without sending anything.

use crate::cli::{ExplainArgs, ReportFormat};
use crate::clock::{Clock, SystemClock};
use crate::diag::Problem;
use crate::plan;
use crate::shell::environment;
use crate::source::{SourceKind, dynatrace, prometheus};
use crate::ui::{Exit, Ui, stdout};
use crate::window;

pub fn run(args: &ExplainArgs, ui: &Ui) -> Exit {
    let env = environment();
    if args.select.service.len() > 1 {
        ui.problems(&[Problem::file(
            "slogate::usage",
            "command line",
            "explain shows one service at a time",
        )
        .help("give --service once")]);
        return Exit::Invalid;
    }
    let plan = match plan::resolve(
        &args.select,
        args.select.service.first().map(String::as_str),
        &env,
    ) {
        Ok(p) => p,
        Err(problems) => {
            ui.problems(&problems);
            return Exit::Invalid;
        }
    };
    ui.problems(&plan.findings);
    let timeframe = match (&args.from, &args.to, &args.timeframe) {
        (None, None, None) => Some("30m"),
        (Some(_), Some(_), None) => None,
        _ => args.timeframe.as_deref(),
    };
    let window = match window::resolve(
        args.from.as_deref(),
        args.to.as_deref(),
        timeframe,
        SystemClock.now(),
    ) {
        Ok(w) => w,
        Err(m) => {
            ui.problems(&[Problem::file("slogate::usage", "command line", m)
                .help("e.g. --timeframe 30m, or --from and --to")]);
            return Exit::Invalid;
        }
    };
    let base = plan::connection(&plan.settings, &env).map(|c| c.url).ok();
    let prometheus_url = prometheus::connection::connection(&plan.settings, &env)
        .ok()
        .flatten()
        .map(|c| c.url);
    // Dynatrace in whole seconds, Prometheus to the millisecond, as each source is asked.
    let mut rows = dynatrace::plan(&plan.slis, window.as_query_window());
    for (row, sli) in rows.iter_mut().zip(&plan.slis) {
        if sli.source == SourceKind::Prometheus {
            row.1 = prometheus::plan(
                &[prometheus::PromSli {
                    name: sli.name.clone(),
                    query: sli
                        .parsed
                        .as_ref()
                        .map(|_| sli.text.clone())
                        .map_err(Clone::clone),
                }],
                window.as_precise_window(),
            )
            .remove(0)
            .1;
        }
    }
    let requests = dynatrace::group(&plan.slis, window.as_query_window()).requests();
    let failed = rows.iter().any(|(_, r)| r.is_err());
    match args.format {
        ReportFormat::Json => {
            let doc = serde_json::json!({
                "timeStart": window::rfc3339(window.from),
                "timeEnd": window::rfc3339(window.to),
                "url": base,
                "prometheusUrl": prometheus_url,
                "requests": requests,
                "indicators": rows.iter().zip(&plan.slis).map(|((name, r), sli)| serde_json::json!({
                    "name": name,
                    "source": sli.source.as_str(),
                    "sli": sli.text,
                    "query": r.as_ref().ok(),
                    "error": r.as_ref().err(),
                })).collect::<Vec<_>>(),
            });
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ReportFormat::Text => {
            let mut out = format!(
                "# {} SLIs, window {} to {}, {} request{} after batching (values are fetched with resolution=Inf unless the SLI sets one)\n",
                rows.len(),
                window::rfc3339(window.from),
                window::rfc3339(window.to),
                requests,
                if requests == 1 { "" } else { "s" }
            );
            if let Some(b) = &base {
                out.push_str(&format!("# environment {b}\n"));
            }
            if let Some(p) = &prometheus_url {
                out.push_str(&format!("# prometheus {p}\n"));
            }
            for ((name, r), sli) in rows.iter().zip(&plan.slis) {
                out.push_str(&format!(
                    "\n{name} ({})\n  sli:   {}\n",
                    sli.source, sli.text
                ));
                match r {
                    Ok(q) => out.push_str(&format!("  query: {q}\n")),
                    Err(e) => out.push_str(&format!("  error: {e}\n")),
                }
            }
            stdout(&out);
        }
    }
    if failed { Exit::Invalid } else { Exit::Pass }
}
