//! The Keptn side: a [`Model`] as `slo.yaml`, `dynatrace/sli.yaml` and `prometheus/sli.yaml`,
//! and a config root read back into a model (with where each objective was written).

use std::collections::BTreeMap;
use std::path::Path;

use super::{Indicator, Model, Objective, Source, scalar};
use crate::diag::{Origin, Problem};
use crate::model::layout;

/// The files of a model, relative to the output folder, in a fixed order. Each SLI goes to its
/// source's Keptn folder (`dynatrace/sli.yaml`, `prometheus/sli.yaml`), so no setting decides
/// where it is asked.
pub fn files(m: &Model) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for source in [Source::Dynatrace, Source::Prometheus] {
        let own: Vec<&Indicator> = m.indicators.iter().filter(|i| i.source == source).collect();
        if own.is_empty() {
            continue;
        }
        let mut t = String::from("spec_version: \"1.0\"\nindicators:\n");
        for i in own {
            t.push_str(&format!("  {}: {}\n", scalar(&i.name), scalar(&i.query)));
        }
        out.push((format!("{}/sli.yaml", source.as_str()), t));
    }
    out.push(("slo.yaml".into(), slo_yaml(m)));
    out
}

fn groups(t: &mut String, key: &str, g: &[Vec<String>]) {
    if g.is_empty() {
        return;
    }
    t.push_str(&format!("    {key}:\n"));
    for list in g {
        t.push_str("      - criteria:\n");
        for c in list {
            t.push_str(&format!("          - {}\n", scalar(c)));
        }
    }
}

/// A comment line: one line, no control characters, no command markers.
fn comment(s: &str) -> String {
    crate::report::sanitize::text(s).replace(['\n', '\r'], " ")
}

fn slo_yaml(m: &Model) -> String {
    let mut t = String::from("spec_version: \"1.0\"\n");
    if m.objectives.is_empty() {
        t.push_str("objectives: []\n");
    } else {
        t.push_str("objectives:\n");
    }
    for o in &m.objectives {
        for c in &o.comments {
            t.push_str(&format!("  # {}\n", comment(c)));
        }
        t.push_str(&format!("  - sli: {}\n", scalar(&o.sli)));
        if let Some(d) = &o.display_name {
            t.push_str(&format!("    displayName: {}\n", scalar(d)));
        }
        if o.key_sli {
            t.push_str("    key_sli: true\n");
        }
        if let Some(w) = o.weight {
            t.push_str(&format!("    weight: {w}\n"));
        }
        groups(&mut t, "pass", &o.pass);
        groups(&mut t, "warning", &o.warning);
    }
    if m.total_pass.is_some() || m.total_warning.is_some() {
        t.push_str("total_score:\n");
        if let Some(p) = &m.total_pass {
            t.push_str(&format!("  pass: {}\n", scalar(p)));
        }
        if let Some(w) = &m.total_warning {
            t.push_str(&format!("  warning: {}\n", scalar(w)));
        }
    }
    t
}

/// A config root read for export: the model and where each part was written.
pub struct Read {
    pub model: Model,
    /// Parallel to `model.objectives`.
    pub objective_origins: Vec<Origin>,
    pub total_origin: Option<Origin>,
    pub sli_origins: BTreeMap<String, Origin>,
}

/// Reads the merged view of a config root (the project level, or a stage and service within
/// it), as `slogate config` shows it. Plain `sli.yaml` queries count as Dynatrace's unless
/// slogate.yaml says `source: prometheus`. Errors in the files stop the export.
pub fn read(root: &Path, stage: Option<&str>, service: Option<&str>) -> Result<Read, Vec<Problem>> {
    let mut problems = Vec::new();
    let chain = layout::load_chain(root, stage, service, &mut problems);
    problems.extend(chain.iter().flat_map(|l| l.problems().cloned()));
    let settings = root.join(layout::SETTINGS_FILE);
    let plain_is_prometheus = settings.is_file()
        && crate::model::load::settings_file(&settings).is_ok_and(|s| {
            s.value
                .source
                .as_ref()
                .is_some_and(|v| v.value == "prometheus")
        });
    if problems.iter().any(Problem::is_error) {
        return Err(problems);
    }
    let merged = layout::merge(&chain);
    let Some(slo) = merged.slo else {
        return Err(vec![Problem::file(
            "slogate::missing-file",
            &root.join(layout::SLO_FILE).display().to_string(),
            "no slo.yaml in this config root: nothing to export",
        )]);
    };
    let mut model = Model::default();
    let mut sli_origins = BTreeMap::new();
    let mut prom: BTreeMap<String, (String, Origin)> = BTreeMap::new();
    for level in &chain {
        if let Some(p) = &level.prometheus
            && let Some(list) = &p.value.indicators
        {
            for i in list {
                prom.insert(
                    i.name.value.clone(),
                    (i.query.value.clone(), i.query.origin.clone()),
                );
            }
        }
    }
    let source_of_plain = if plain_is_prometheus {
        Source::Prometheus
    } else {
        Source::Dynatrace
    };
    for (name, ind) in &merged.sli.indicators {
        model.indicators.push(Indicator {
            name: name.clone(),
            source: source_of_plain,
            query: ind.query.value.clone(),
        });
        sli_origins.insert(name.clone(), ind.query.origin.clone());
    }
    for (name, (query, origin)) in prom {
        if model.indicator(&name).is_none() {
            model.indicators.push(Indicator {
                name: name.clone(),
                source: Source::Prometheus,
                query,
            });
            sli_origins.insert(name, origin);
        }
    }
    let mut objective_origins = Vec::new();
    for o in &slo.objectives {
        let list = |g: &[crate::model::slo::Group]| -> Vec<Vec<String>> {
            g.iter()
                .map(|g| g.criteria.iter().map(|c| c.value.clone()).collect())
                .collect()
        };
        model.objectives.push(Objective {
            sli: o.sli.value.clone(),
            display_name: o
                .display_name
                .as_ref()
                .map(|d| d.value.clone())
                .filter(|d| !d.is_empty()),
            key_sli: o.key_sli.as_ref().is_some_and(|k| k.value),
            weight: o.weight.as_ref().map(|w| w.value).filter(|&w| w > 1),
            pass: list(&o.pass),
            warning: list(&o.warning),
            comments: Vec::new(),
        });
        objective_origins.push(o.origin.clone());
    }
    let total_origin = slo.total_score.as_ref().map(|t| t.origin.clone());
    if let Some(t) = &slo.total_score {
        model.total_pass = t.pass.as_ref().map(|p| p.value.clone());
        model.total_warning = t.warning.as_ref().map(|w| w.value.clone());
    }
    // Only the SLIs the objectives use travel.
    model
        .indicators
        .retain(|i| model_uses(&model.objectives, &i.name));
    Ok(Read {
        model,
        objective_origins,
        total_origin,
        sli_origins,
    })
}

fn model_uses(objectives: &[Objective], name: &str) -> bool {
    objectives.iter().any(|o| o.sli == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_per_source_and_comments() {
        let m = Model {
            indicators: vec![
                Indicator {
                    name: "rt".into(),
                    source: Source::Dynatrace,
                    query: "metricSelector=a".into(),
                },
                Indicator {
                    name: "err".into(),
                    source: Source::Prometheus,
                    query: "sum(x)".into(),
                },
            ],
            objectives: vec![Objective {
                sli: "rt".into(),
                pass: vec![vec!["<=600".into()]],
                comments: vec!["relative: <=+10%".into()],
                ..Objective::default()
            }],
            total_pass: Some("90%".into()),
            total_warning: None,
        };
        let f = files(&m);
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["dynatrace/sli.yaml", "prometheus/sli.yaml", "slo.yaml"]
        );
        assert!(
            f[2].1.contains("  # relative: <=+10%\n  - sli: \"rt\"\n"),
            "{}",
            f[2].1
        );
        assert!(
            f[2].1.contains("total_score:\n  pass: \"90%\"\n"),
            "{}",
            f[2].1
        );
    }
}
