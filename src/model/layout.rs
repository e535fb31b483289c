//! The config root laid out like a Keptn project — `ROOT/`, `ROOT/<stage>/`,
//! `ROOT/<stage>/<service>/` — and the merge of its levels.
//!
//! Loading touches the file system; [`merge`] is pure. SLIs merge key by key, objectives by `sli`
//! name (a more specific level replaces the objective), `comparison`, `total_score` and `filter`
//! field by field. Every merged value keeps its origin.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diag::{Problem, Sourced};
use crate::model::load::{self, Loaded};
use crate::model::sli::{Indicator, Sli};
use crate::model::slo::{Comparison, Objective, Slo, TotalScore};
use crate::source::prometheus::{self, files::PromSli};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelKind {
    Project,
    Stage,
    Service,
}

impl LevelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LevelKind::Project => "project",
            LevelKind::Stage => "stage",
            LevelKind::Service => "service",
        }
    }
}

/// The files found at one level.
pub struct Level {
    pub kind: LevelKind,
    pub dir: PathBuf,
    /// `sli.yaml`, then Keptn's `dynatrace/sli.yaml` (which wins on equal keys).
    pub sli: Vec<Loaded<Sli>>,
    /// Keptn's `prometheus/sli.yaml`, read as prometheus-service read it.
    pub prometheus: Option<Loaded<PromSli>>,
    pub slo: Option<Loaded<Slo>>,
}

impl Level {
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.sli
            .iter()
            .flat_map(|l| &l.problems)
            .chain(self.prometheus.iter().flat_map(|l| &l.problems))
            .chain(self.slo.iter().flat_map(|l| &l.problems))
    }
}

pub const SLI_FILES: &[&str] = &["sli.yaml", "dynatrace/sli.yaml"];
pub const SLO_FILE: &str = "slo.yaml";
pub const SETTINGS_FILE: &str = "slogate.yaml";

/// Loads the files of one level; a file that cannot be read becomes a problem of the result.
pub fn load_level(dir: &Path, kind: LevelKind, problems: &mut Vec<Problem>) -> Level {
    let mut level = Level {
        kind,
        dir: dir.to_path_buf(),
        sli: Vec::new(),
        prometheus: None,
        slo: None,
    };
    match prometheus::files::load(dir) {
        Some(Ok(l)) => level.prometheus = Some(l),
        Some(Err(p)) => problems.push(p),
        None => {}
    }
    for name in SLI_FILES {
        let path = dir.join(name);
        if path.is_file() {
            match load::sli_file(&path) {
                Ok(l) => level.sli.push(l),
                Err(p) => problems.push(p),
            }
        }
    }
    let path = dir.join(SLO_FILE);
    if path.is_file() {
        match load::slo_file(&path) {
            Ok(l) => level.slo = Some(l),
            Err(p) => problems.push(p),
        }
    }
    level
}

/// The levels that apply to one service: the root, then the stage and service folders if given.
pub fn load_chain(
    root: &Path,
    stage: Option<&str>,
    service: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Vec<Level> {
    let mut chain = vec![load_level(root, LevelKind::Project, problems)];
    if let Some(stage) = stage {
        let sdir = root.join(stage);
        chain.push(load_level(&sdir, LevelKind::Stage, problems));
        if let Some(service) = service {
            chain.push(load_level(
                &sdir.join(service),
                LevelKind::Service,
                problems,
            ));
        }
    }
    chain
}

/// Sub-folders of a level that are levels themselves (not hidden, not Keptn's `dynatrace/` or
/// `prometheus/`).
pub fn child_levels(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| !n.starts_with('.') && n != "dynatrace" && n != "prometheus")
        })
        .collect();
    dirs.sort();
    dirs
}

/// SLIs after the merge: name → the winning definition.
#[derive(Clone, Debug, Default)]
pub struct MergedSli {
    pub indicators: IndexMap<String, Indicator>,
    /// Whether any level defined an sli file at all (otherwise Keptn's defaults apply).
    pub any_file: bool,
}

/// Merges the SLI files of a chain of levels, least specific first.
pub fn merge_sli<'a>(files: impl IntoIterator<Item = &'a Sli>) -> MergedSli {
    let mut merged = MergedSli::default();
    for sli in files {
        merged.any_file = true;
        for ind in &sli.indicators {
            merged
                .indicators
                .insert(ind.name.value.clone(), ind.clone());
        }
    }
    merged
}

/// Merges SLO files, least specific first. Objectives are replaced by `sli` name: the objectives
/// of a more specific level on an SLI take the place of the earlier ones on it.
pub fn merge_slo<'a>(files: impl IntoIterator<Item = &'a Slo>) -> Option<Slo> {
    let mut out: Option<Slo> = None;
    for slo in files {
        let Some(acc) = out.as_mut() else {
            out = Some(slo.clone());
            continue;
        };
        if slo.spec_version.is_some() {
            acc.spec_version = slo.spec_version.clone();
        }
        for (k, v) in &slo.filter {
            match acc.filter.iter_mut().find(|(ak, _)| ak.value == k.value) {
                Some(entry) => *entry = (k.clone(), v.clone()),
                None => acc.filter.push((k.clone(), v.clone())),
            }
        }
        acc.comparison = merge_comparison(acc.comparison.take(), slo.comparison.as_ref());
        acc.total_score = merge_total(acc.total_score.take(), slo.total_score.as_ref());
        acc.objectives = merge_objectives(&acc.objectives, &slo.objectives);
        acc.file = slo.file.clone();
        acc.anchor = slo.anchor.clone();
    }
    out
}

fn merge_objectives(base: &[Objective], over: &[Objective]) -> Vec<Objective> {
    // A level that names an SLI replaces all earlier objectives on it with all of its own, in
    // the place of the first earlier one: several objectives on one SLI are legitimate (each is
    // scored with the SLI's value), so none of them may be lost or matched twice.
    let mut out = Vec::new();
    let mut placed: Vec<&str> = Vec::new();
    for b in base {
        let name = b.sli.value.as_str();
        let mut named = over.iter().filter(|o| o.sli.value == name).peekable();
        if named.peek().is_none() {
            out.push(b.clone());
        } else if !placed.contains(&name) {
            placed.push(name);
            out.extend(named.cloned());
        }
    }
    out.extend(
        over.iter()
            .filter(|o| !base.iter().any(|b| b.sli.value == o.sli.value))
            .cloned(),
    );
    out
}

fn pick<T: Clone>(base: Option<&Sourced<T>>, over: Option<&Sourced<T>>) -> Option<Sourced<T>> {
    over.or(base).cloned()
}

fn merge_comparison(base: Option<Comparison>, over: Option<&Comparison>) -> Option<Comparison> {
    match (base, over) {
        (None, None) => None,
        (Some(b), None) => Some(b),
        (None, Some(o)) => Some(o.clone()),
        (Some(b), Some(o)) => Some(Comparison {
            compare_with: pick(b.compare_with.as_ref(), o.compare_with.as_ref()),
            include_result_with_score: pick(
                b.include_result_with_score.as_ref(),
                o.include_result_with_score.as_ref(),
            ),
            number_of_comparison_results: pick(
                b.number_of_comparison_results.as_ref(),
                o.number_of_comparison_results.as_ref(),
            ),
            aggregate_function: pick(b.aggregate_function.as_ref(), o.aggregate_function.as_ref()),
            origin: o.origin.clone(),
        }),
    }
}

fn merge_total(base: Option<TotalScore>, over: Option<&TotalScore>) -> Option<TotalScore> {
    match (base, over) {
        (None, None) => None,
        (Some(b), None) => Some(b),
        (None, Some(o)) => Some(o.clone()),
        (Some(b), Some(o)) => Some(TotalScore {
            pass: pick(b.pass.as_ref(), o.pass.as_ref()),
            warning: pick(b.warning.as_ref(), o.warning.as_ref()),
            origin: o.origin.clone(),
        }),
    }
}

/// The merged view of one service.
pub struct Merged {
    pub sli: MergedSli,
    pub slo: Option<Slo>,
}

pub fn merge(chain: &[Level]) -> Merged {
    Merged {
        sli: merge_sli(chain.iter().flat_map(|l| l.sli.iter().map(|s| &s.value))),
        slo: merge_slo(
            chain
                .iter()
                .filter_map(|l| l.slo.as_ref().map(|s| &s.value)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;

    fn slo(name: &str, text: &str) -> Slo {
        let l = load::parse_slo(SourceFile::new(name, text), vec![]);
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        l.value
    }

    fn sli(name: &str, text: &str) -> Sli {
        load::parse_sli(SourceFile::new(name, text), vec![]).value
    }

    #[test]
    fn sli_merges_key_by_key() {
        let a = sli("a/sli.yaml", "indicators:\n  rt: q1\n  err: q2\n");
        let b = sli("a/b/sli.yaml", "indicators:\n  rt: q3\n  tp: q4\n");
        let m = merge_sli([&a, &b]);
        let got: Vec<(&str, &str)> = m
            .indicators
            .iter()
            .map(|(k, v)| (k.as_str(), v.query.value.as_str()))
            .collect();
        assert_eq!(got, [("rt", "q3"), ("err", "q2"), ("tp", "q4")]);
        assert_eq!(
            m.indicators["rt"].query.origin.location(),
            "a/b/sli.yaml:2:7"
        );
    }

    #[test]
    fn slo_merges_objectives_by_name_and_blocks_field_by_field() {
        let project = slo(
            "slo.yaml",
            "comparison:\n  compare_with: several_results\n  aggregate_function: p90\nobjectives:\n  - sli: rt\n    weight: 3\n    pass: [{criteria: [\"<600\"]}]\n  - sli: err\n    pass: [{criteria: [\"<1\"]}]\ntotal_score: {pass: \"90%\", warning: \"75%\"}\n",
        );
        let stage = slo(
            "prod/slo.yaml",
            "comparison:\n  aggregate_function: avg\nobjectives:\n  - sli: rt\n    pass: [{criteria: [\"<500\"]}]\n  - sli: tp\ntotal_score: {pass: \"95%\"}\n",
        );
        let m = merge_slo([&project, &stage]).unwrap();
        let names: Vec<&str> = m.objectives.iter().map(|o| o.sli.value.as_str()).collect();
        assert_eq!(names, ["rt", "err", "tp"]);
        // the whole objective is replaced: the project's weight does not carry over
        assert_eq!(m.objectives[0].effective_weight(), 1);
        assert_eq!(m.objectives[0].pass[0].criteria[0].value, "<500");
        let c = m.effective_comparison();
        assert_eq!(
            (c.compare_with.as_str(), c.aggregate_function.as_str()),
            ("several_results", "avg")
        );
        let t = m.total_score.unwrap();
        assert_eq!(t.pass.unwrap().value, "95%");
        assert_eq!(t.warning.as_ref().unwrap().value, "75%");
        assert_eq!(t.warning.unwrap().origin.file.name, "slo.yaml");
    }

    #[test]
    fn several_objectives_on_one_sli_replace_the_earlier_ones_together() {
        let project = slo(
            "slo.yaml",
            "objectives:\n  - sli: rt\n    displayName: p1\n  - sli: err\n  - sli: rt\n    displayName: p2\n  - sli: tp\n",
        );
        let stage = slo(
            "prod/slo.yaml",
            "objectives:\n  - sli: tp\n    displayName: s-tp\n  - sli: rt\n    displayName: s1\n  - sli: new\n  - sli: rt\n    displayName: s2\n",
        );
        let m = merge_slo([&project, &stage]).unwrap();
        let got: Vec<(&str, &str)> = m
            .objectives
            .iter()
            .map(|o| (o.sli.value.as_str(), o.display_name()))
            .collect();
        assert_eq!(
            got,
            [
                ("rt", "s1"),
                ("rt", "s2"),
                ("err", ""),
                ("tp", "s-tp"),
                ("new", ""),
            ]
        );
    }

    #[test]
    fn one_level_is_unchanged() {
        let only = slo("slo.yaml", "objectives:\n  - sli: rt\n  - sli: rt\n");
        let m = merge_slo([&only]).unwrap();
        assert_eq!(
            m.objectives.len(),
            2,
            "Keptn keeps duplicates within one file"
        );
    }
}
