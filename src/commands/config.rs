//! `slogate config`: the merged configuration of one service, each value with its origin.

use crate::cli::{ConfigArgs, ReportFormat};
use crate::diag::Problem;
use crate::model::layout::{self, Level};
use crate::model::load;
use crate::model::slo::Provenance;
use crate::ui::{Exit, Ui, stdout};

pub fn run(args: &ConfigArgs, ui: &Ui) -> Exit {
    let mut problems = Vec::new();
    if !args.config.is_dir() {
        ui.problems(&[Problem::file(
            "slogate::no-config",
            &args.config.display().to_string(),
            "config root not found",
        )
        .help("pass the folder holding slo.yaml / sli.yaml with --config DIR")]);
        return Exit::Invalid;
    }
    // Defaults for stage and service may come from slogate.yaml.
    let settings_path = args.config.join(layout::SETTINGS_FILE);
    let mut stage = args.stage.clone();
    let mut service = args.service.clone();
    let mut settings = crate::model::settings::Settings::default();
    if settings_path.is_file() {
        match load::settings_file(&settings_path) {
            Ok(l) => {
                settings = l.value.clone();
                stage = stage.or(l.value.stage.map(|s| s.value));
                service = service.or(l.value.service.map(|s| s.value));
                problems.extend(l.problems);
            }
            Err(p) => problems.push(p),
        }
    }
    if service.is_some() && stage.is_none() {
        ui.problems(&[Problem::file(
            "slogate::usage",
            "command line",
            "--service needs --stage: services live under ROOT/<stage>/<service>/",
        )
        .help("add --stage <stage>")]);
        return Exit::Invalid;
    }
    let chain = layout::load_chain(
        &args.config,
        stage.as_deref(),
        service.as_deref(),
        &mut problems,
    );
    problems.extend(missing_folder(
        &args.config,
        &settings,
        stage.as_deref(),
        service.as_deref(),
    ));
    // The merged view is what eval and gate use: keys Keptn ignored are warnings here too.
    problems.extend(
        chain
            .iter()
            .flat_map(Level::problems)
            .cloned()
            .map(crate::model::load::keptn_reading),
    );
    if problems.iter().any(Problem::is_error) {
        ui.problems(&problems);
        return Exit::Invalid;
    }
    ui.problems(&problems);
    let merged = layout::merge(&chain);
    // Keptn's prometheus/sli.yaml files, merged for the Prometheus source (shown when present).
    let prometheus = match crate::source::prometheus::files::merge(
        chain.iter().filter_map(|l| l.prometheus.as_ref()),
    ) {
        Ok(m) => m,
        Err(p) => {
            ui.problems(&[p]);
            return Exit::Invalid;
        }
    };
    let files: Vec<String> = chain
        .iter()
        .flat_map(|l| {
            l.sli
                .iter()
                .map(|s| s.file.name.clone())
                .chain(l.prometheus.iter().map(|s| s.file.name.clone()))
                .chain(l.slo.iter().map(|s| s.file.name.clone()))
        })
        .collect();
    match args.format {
        ReportFormat::Json => {
            let sli: serde_json::Map<String, serde_json::Value> = merged
                .sli
                .indicators
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!({"value": v.query.value, "from": v.query.origin.location()})))
                .collect();
            let prom: serde_json::Map<String, serde_json::Value> = prometheus
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!({"value": v.query.value, "from": v.query.origin.location()})))
                .collect();
            let mut doc = serde_json::json!({
                "stage": stage,
                "service": service,
                "files": files,
                "sli": {"indicators": sli, "defaults": !merged.sli.any_file},
                "slo": merged.slo.as_ref().map(|s| s.to_json(Provenance::Inline)),
                "sloHash": merged.slo.as_ref().map(|s| s.hash()),
            });
            if !prom.is_empty() {
                doc["prometheus"] = serde_json::json!({"indicators": prom});
            }
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ReportFormat::Text => stdout(&render_text(
            &merged,
            &prometheus,
            &files,
            stage.as_deref(),
            service.as_deref(),
        )),
    }
    Exit::Pass
}

/// YAML-shaped text with each value's origin as a trailing comment.
fn render_text(
    m: &layout::Merged,
    prometheus: &indexmap::IndexMap<String, crate::model::sli::Indicator>,
    files: &[String],
    stage: Option<&str>,
    service: Option<&str>,
) -> String {
    let mut lines: Vec<(String, Option<String>)> = Vec::new();
    let mut head = String::from("# merged configuration");
    if let Some(s) = service {
        head.push_str(&format!(" of service {s}"));
    }
    if let Some(s) = stage {
        head.push_str(&format!(" in stage {s}"));
    }
    lines.push((head, None));
    lines.push((
        format!(
            "# from {}",
            if files.is_empty() {
                "no files".to_string()
            } else {
                files.join(", ")
            }
        ),
        None,
    ));
    lines.push(("sli:".into(), None));
    if !m.sli.any_file {
        lines.push(("  # no sli.yaml: Keptn's default SLIs apply".into(), None));
    }
    lines.push(("  indicators:".into(), None));
    for (name, ind) in &m.sli.indicators {
        lines.push((
            format!("    {name}: {}", quote(&ind.query.value)),
            Some(ind.query.origin.location()),
        ));
    }
    if !prometheus.is_empty() {
        lines.push((
            "prometheus:  # prometheus/sli.yaml; the five built-in SLIs besides".into(),
            None,
        ));
        lines.push(("  indicators:".into(), None));
        for (name, ind) in prometheus {
            lines.push((
                format!("    {name}: {}", quote(&ind.query.value)),
                Some(ind.query.origin.location()),
            ));
        }
    }
    lines.push(("slo:".into(), None));
    match &m.slo {
        None => lines.push(("  # no slo.yaml at any level".into(), None)),
        Some(slo) => {
            emit(&slo.to_json(Provenance::Inline), 1, &mut lines);
            lines.push((format!("# hash {}", slo.hash()), None));
        }
    }
    let width = lines
        .iter()
        .filter(|(_, o)| o.is_some())
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(72);
    let mut out = String::new();
    for (line, origin) in lines {
        out.push_str(&line);
        if let Some(o) = origin {
            let pad = width.saturating_sub(line.chars().count()) + 2;
            out.push_str(&" ".repeat(pad));
            out.push_str("# ");
            out.push_str(&o);
        }
        out.push('\n');
    }
    out
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Writes `{"value", "from"}` leaves as `key: value  # from`, and the rest as YAML blocks.
fn emit(v: &serde_json::Value, indent: usize, lines: &mut Vec<(String, Option<String>)>) {
    use serde_json::Value;
    let pad = "  ".repeat(indent);
    let leaf = |v: &Value| -> Option<(String, String)> {
        let o = v.as_object()?;
        let from = o.get("from")?.as_str()?.to_string();
        let val = o.get("value")?;
        let text = match val {
            Value::String(s) => quote(s),
            other => other.to_string(),
        };
        Some((text, from))
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if let Some((text, from)) = leaf(child) {
                    lines.push((format!("{pad}{k}: {text}"), Some(from)));
                } else {
                    lines.push((format!("{pad}{k}:"), None));
                    emit(child, indent + 1, lines);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                if let Some((text, from)) = leaf(item) {
                    lines.push((format!("{pad}- {text}"), Some(from)));
                    continue;
                }
                let mut sub = Vec::new();
                emit(item, indent + 1, &mut sub);
                if let Some(first) = sub.first_mut() {
                    // `- key: value` on the first line of the item.
                    let inner = "  ".repeat(indent + 1);
                    first.0 = format!(
                        "{pad}- {}",
                        first.0.strip_prefix(&inner).unwrap_or(&first.0)
                    );
                }
                lines.extend(sub);
            }
        }
        other => lines.push((format!("{pad}{other}"), None)),
    }
}

/// A stage or service without its own folder is valid (the levels above apply, as in Keptn), but
/// a misspelt name then shows the stage's configuration without a word: say so, with the
/// nearest existing name.
fn missing_folder(
    root: &std::path::Path,
    settings: &crate::model::settings::Settings,
    stage: Option<&str>,
    service: Option<&str>,
) -> Option<Problem> {
    let stage_name = stage?;
    let stage_dir = root.join(stage_name);
    let (dir, applies) = if !stage_dir.is_dir() {
        (stage_dir, "only the project's files apply")
    } else {
        let dir = stage_dir.join(service?);
        if dir.is_dir() {
            return None;
        }
        (dir, "only the stage's and the project's files apply")
    };
    let help = crate::hint::selection(root, settings, stage, service).unwrap_or_else(|| {
        "nothing to change if that is intended; create the folder for files of its own".into()
    });
    Some(Problem {
        severity: crate::diag::Severity::Warning,
        ..Problem::usage(format!("no folder {}: {applies}", dir.display())).help(help)
    })
}
