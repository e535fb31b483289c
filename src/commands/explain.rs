//! `slogate explain`: the exact request behind every SLI, without sending anything.

use crate::cli::{ExplainArgs, ReportFormat};
use crate::clock::{Clock, SystemClock};
use crate::diag::Problem;
use crate::plan;
use crate::shell::environment;
use crate::source;
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
        &args.select.scope(),
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
    if plan.dashboard.is_some() {
        return dashboard(args, ui);
    }
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
    let prometheus_url = source::prometheus::connection::connection(&plan.settings, &env)
        .ok()
        .flatten()
        .map(|c| c.url);
    let (rows, requests) = source::explain(&plan.slis, window);
    // Which source each SLI goes to is worth a word only when a plan mixes them.
    let mixed = plan.slis.iter().any(|s| s.source != plan.slis[0].source);
    let failed = rows.iter().any(|(_, r)| r.is_err());
    // What else an evaluation asks Dynatrace, beside the metrics (docs/context.md): over the
    // window shown here; a gate anchored on a deployment asks over both windows.
    let context = if plan
        .slis
        .iter()
        .any(|s| s.source == source::SourceKind::Dynatrace)
    {
        crate::pipeline::context_requests(
            &plan,
            window.from.timestamp_millis(),
            window.to.timestamp_millis(),
        )
    } else {
        Vec::new()
    };
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
                    "sli": sli.text,
                    "source": sli.source.as_str(),
                    "query": r.as_ref().ok(),
                    "error": r.as_ref().err(),
                })).collect::<Vec<_>>(),
                "contextRequests": context.iter().map(|(what, q)| serde_json::json!({
                    "what": what,
                    "query": q,
                })).collect::<Vec<_>>(),
            });
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ReportFormat::Text => {
            let dynatrace = plan
                .slis
                .iter()
                .any(|s| s.source == source::SourceKind::Dynatrace);
            let mut out = format!(
                "# {} SLIs, window {} to {}, {} request{} after batching{}\n",
                rows.len(),
                window::rfc3339(window.from),
                window::rfc3339(window.to),
                requests,
                if requests == 1 { "" } else { "s" },
                if dynatrace {
                    " (values are fetched with resolution=Inf unless the SLI sets one)"
                } else {
                    ""
                }
            );
            if let Some(b) = &base {
                out.push_str(&format!("# environment {b}\n"));
            }
            if let Some(p) = &prometheus_url {
                out.push_str(&format!("# prometheus {p}\n"));
            }
            for ((name, r), sli) in rows.iter().zip(&plan.slis) {
                out.push_str(&format!("\n{name}\n  sli:   {}\n", sli.text));
                if mixed {
                    out.push_str(&format!("  from:  {}\n", sli.source));
                }
                match r {
                    Ok(q) => out.push_str(&format!("  query: {q}\n")),
                    Err(e) => out.push_str(&format!("  error: {e}\n")),
                }
            }
            if !context.is_empty() {
                out.push_str(
                    "\n# what else happened in the window (docs/context.md), asked beside the metric queries\n",
                );
                for (what, q) in &context {
                    out.push_str(&format!("\n{what}\n  query: {q}\n"));
                }
            }
            stdout(&out);
        }
    }
    if failed { Exit::Invalid } else { Exit::Pass }
}

/// Dashboard mode: the dashboard is read and its tiles queried (series and rows decide which
/// SLIs exist), then every SLI is shown with its tile and the request behind its value.
fn dashboard(args: &ExplainArgs, ui: &Ui) -> Exit {
    let source = crate::cli::SourceArgs {
        concurrency: 8,
        request_timeout: "30s".into(),
        settle: "120s".into(),
    };
    let (_, p, window) = match crate::commands::dashboard::processed(
        &args.select,
        &source,
        (
            args.from.as_deref(),
            args.to.as_deref(),
            args.timeframe.as_deref(),
        ),
        ui,
    ) {
        Ok(x) => x,
        Err(e) => return e,
    };
    match args.format {
        ReportFormat::Json => {
            let doc = serde_json::json!({
                "timeStart": window::rfc3339(window.from),
                "timeEnd": window::rfc3339(window.to),
                "dashboard": {"id": p.id, "name": p.name},
                "indicators": p.indicators.iter().map(|i| serde_json::json!({
                    "name": i.objective.sli,
                    "sli": i.query.as_ref().and_then(crate::dashboard::query_text),
                    "query": i.fetched.query,
                    "error": (!i.fetched.value.success).then(|| i.fetched.value.message.clone()),
                    "tile": i.tile,
                })).collect::<Vec<_>>(),
            });
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ReportFormat::Text => {
            let mut out = format!(
                "# dashboard {} ({}): {} SLIs, window {} to {} (the tiles were queried: their series decide the SLIs)\n",
                p.name,
                p.id,
                p.indicators.len(),
                window::rfc3339(window.from),
                window::rfc3339(window.to)
            );
            for i in &p.indicators {
                out.push_str(&format!(
                    "\n{}\n  from:  {}\n",
                    i.objective.sli,
                    i.tile.describe()
                ));
                if let Some(q) = i.query.as_ref().and_then(crate::dashboard::query_text) {
                    out.push_str(&format!("  sli:   {q}\n"));
                }
                if let Some(q) = &i.fetched.query {
                    out.push_str(&format!("  query: {q}\n"));
                }
                if !i.fetched.value.success {
                    out.push_str(&format!("  error: {}\n", i.fetched.value.message));
                }
            }
            stdout(&out);
        }
    }
    Exit::Pass
}
