//! Which source each SLI comes from, when a project has SLIs for several: `dynatrace/sli.yaml`
//! goes to Dynatrace, `prometheus/sli.yaml` to Prometheus, a plain `sli.yaml` and names that no
//! file defines (Keptn's five defaults) to the project's default source. Pure.

use indexmap::IndexMap;

use crate::diag::Problem;
use crate::model::layout::{Level, MergedSli, merge_sli};
use crate::model::settings::Settings;
use crate::model::sli::Indicator;
use crate::source::SourceKind;
use crate::source::prometheus::{files, queries};

/// The SLI definitions of one chain of levels, split by source.
#[derive(Clone, Debug, Default)]
pub struct Assigned {
    pub default: SourceKind,
    /// `dynatrace/sli.yaml` files, and plain `sli.yaml` files unless the default is Prometheus.
    pub dynatrace: MergedSli,
    /// `prometheus/sli.yaml` files, and plain `sli.yaml` files when the default is Prometheus.
    pub prometheus: IndexMap<String, Indicator>,
    /// Whether any prometheus/sli.yaml is in the chain.
    pub prometheus_files: bool,
}

/// What decides the default source besides the files.
#[derive(Clone, Copy, Debug, Default)]
pub struct Configured {
    pub dynatrace: bool,
    pub prometheus: bool,
}

fn is_dynatrace_file(name: &str) -> bool {
    name.replace('\\', "/").ends_with("dynatrace/sli.yaml")
}

/// `source:` in slogate.yaml; else Prometheus when the chain has only prometheus/sli.yaml files
/// or Prometheus is the only source configured; else Dynatrace.
pub fn default_source(settings: &Settings, chain: &[&Level], configured: Configured) -> SourceKind {
    if let Some(k) = settings
        .source
        .as_ref()
        .and_then(|s| SourceKind::parse(&s.value))
    {
        return k;
    }
    let prometheus_files = chain.iter().any(|l| l.prometheus.is_some());
    let other_files = chain.iter().any(|l| !l.sli.is_empty());
    if (prometheus_files && !other_files) || (configured.prometheus && !configured.dynatrace) {
        SourceKind::Prometheus
    } else {
        SourceKind::Dynatrace
    }
}

/// Splits and merges the SLI files of `chain` (least specific first). Prometheus' rule that the
/// first prometheus/sli.yaml must define indicators is an error here.
pub fn assign(chain: &[&Level], default: SourceKind) -> Result<Assigned, Problem> {
    let plain_to_prometheus = default == SourceKind::Prometheus;
    let dynatrace = merge_sli(chain.iter().flat_map(|l| {
        l.sli
            .iter()
            .filter(move |s| !plain_to_prometheus || is_dynatrace_file(&s.file.name))
            .map(|s| &s.value)
    }));
    // Plain sli.yaml entries (when they are Prometheus') come before the level's
    // prometheus/sli.yaml, which wins on equal names.
    let mut prometheus: IndexMap<String, Indicator> = IndexMap::new();
    if plain_to_prometheus {
        for l in chain {
            for s in l.sli.iter().filter(|s| !is_dynatrace_file(&s.file.name)) {
                for i in &s.value.indicators {
                    prometheus.insert(i.name.value.clone(), i.clone());
                }
            }
        }
    }
    let prom_files: Vec<_> = chain.iter().filter_map(|l| l.prometheus.as_ref()).collect();
    for (k, v) in files::merge(prom_files.iter().copied())? {
        prometheus.insert(k, v);
    }
    Ok(Assigned {
        default,
        dynatrace,
        prometheus,
        prometheus_files: !prom_files.is_empty(),
    })
}

impl Assigned {
    /// The source an objective's SLI name is asked from: the file that defines it, else the
    /// default source. A name defined for both goes to the default source (lint warns).
    pub fn source_of(&self, name: &str) -> SourceKind {
        let dt = self.dynatrace.indicators.contains_key(name);
        let prom = self.prometheus.contains_key(name);
        match (dt, prom) {
            (true, false) => SourceKind::Dynatrace,
            (false, true) => SourceKind::Prometheus,
            _ => self.default,
        }
    }

    /// Whether `name` is defined for its source: in a file, or as a default of the source.
    pub fn defines(&self, name: &str) -> bool {
        match self.source_of(name) {
            SourceKind::Prometheus => {
                self.prometheus.contains_key(name) || queries::BUILT_IN.contains(&name)
            }
            SourceKind::Dynatrace => {
                if self.dynatrace.any_file {
                    self.dynatrace.indicators.contains_key(name)
                } else {
                    crate::model::lint::DEFAULT_SLIS.contains(&name)
                }
            }
        }
    }

    /// A name defined in a Dynatrace and a Prometheus file: which one is asked is not obvious.
    pub fn conflicts(&self, context: &str) -> Vec<Problem> {
        self.prometheus
            .iter()
            .filter_map(|(name, p)| {
                let d = self.dynatrace.indicators.get(name)?;
                Some(
                    Problem::warning(
                        "slogate::sli-in-two-sources",
                        &p.name.origin,
                        format!(
                            "SLI `{name}` is defined for Prometheus here and for Dynatrace in {}{context}; slogate asks {} (the default source)",
                            d.name.origin.location(),
                            self.default
                        ),
                    )
                    .label("also defined for Dynatrace")
                    .note(&d.name.origin, "the Dynatrace definition")
                    .help("rename one of the two, or remove the one you do not mean"),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;
    use crate::model::layout::LevelKind;
    use crate::model::load;

    fn level(plain: Option<&str>, dynatrace: Option<&str>, prom: Option<&str>) -> Level {
        let mut sli = Vec::new();
        if let Some(t) = plain {
            sli.push(load::parse_sli(SourceFile::new("sli.yaml", t), vec![]));
        }
        if let Some(t) = dynatrace {
            sli.push(load::parse_sli(
                SourceFile::new("dynatrace/sli.yaml", t),
                vec![],
            ));
        }
        Level {
            kind: LevelKind::Project,
            dir: ".".into(),
            sli,
            prometheus: prom
                .map(|t| files::parse(SourceFile::new("prometheus/sli.yaml", t), vec![])),
            slo: None,
        }
    }

    #[test]
    fn each_file_feeds_its_source() {
        let l = level(
            Some("indicators:\n  plain: metricSelector=a\n"),
            Some("indicators:\n  dt: metricSelector=b\n  both: metricSelector=c\n"),
            Some("indicators:\n  prom: sum(up)\n  both: sum(up)\n"),
        );
        let chain = [&l];
        let d = default_source(&Settings::default(), &chain, Configured::default());
        assert_eq!(d, SourceKind::Dynatrace);
        let a = assign(&chain, d).unwrap();
        assert_eq!(a.source_of("plain"), SourceKind::Dynatrace);
        assert_eq!(a.source_of("dt"), SourceKind::Dynatrace);
        assert_eq!(a.source_of("prom"), SourceKind::Prometheus);
        assert_eq!(a.source_of("both"), SourceKind::Dynatrace);
        assert_eq!(a.source_of("throughput"), SourceKind::Dynatrace);
        assert!(!a.defines("throughput"));
        let c = a.conflicts("");
        assert_eq!(c.len(), 1);
        assert!(
            c[0].message.contains("dynatrace/sli.yaml:3:3"),
            "{}",
            c[0].message
        );

        let a = assign(&chain, SourceKind::Prometheus).unwrap();
        assert_eq!(a.source_of("plain"), SourceKind::Prometheus);
        assert_eq!(a.source_of("throughput"), SourceKind::Prometheus);
        assert!(a.defines("throughput"));
    }

    #[test]
    fn the_default_source_follows_files_and_configuration() {
        let prom_only = level(None, None, Some("indicators:\n  a: up\n"));
        assert_eq!(
            default_source(&Settings::default(), &[&prom_only], Configured::default()),
            SourceKind::Prometheus
        );
        let none = level(Some("indicators:\n  a: metricSelector=a\n"), None, None);
        let only_prom = Configured {
            prometheus: true,
            dynatrace: false,
        };
        assert_eq!(
            default_source(&Settings::default(), &[&none], only_prom),
            SourceKind::Prometheus
        );
        let both = Configured {
            prometheus: true,
            dynatrace: true,
        };
        assert_eq!(
            default_source(&Settings::default(), &[&none], both),
            SourceKind::Dynatrace
        );
    }
}
