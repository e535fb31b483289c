//! "Did you mean": a stage or service the user typed, against the names the config root knows
//! (its stage and service folders, slogate.yaml's defaults). A typo there selects nothing in
//! Dynatrace, and the answer "nothing found" alone does not say which word was wrong.

use std::path::Path;

use crate::model::layout;
use crate::model::settings::Settings;
use crate::source::entities::closest;

fn folder_names(dir: &Path) -> Vec<String> {
    layout::child_levels(dir)
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_string))
        .collect()
}

fn push_unique(names: &mut Vec<String>, name: Option<&str>) {
    if let Some(n) = name.filter(|n| !n.is_empty())
        && !names.iter().any(|m| m == n)
    {
        names.push(n.to_string());
    }
}

/// The stages of a config root: its stage folders and `defaults.stage`.
pub fn known_stages(root: &Path, settings: &Settings) -> Vec<String> {
    let mut names = folder_names(root);
    push_unique(
        &mut names,
        settings.stage.as_ref().map(|s| s.value.as_str()),
    );
    names
}

/// The services of a stage (of every stage when `stage` has no folder): the service folders
/// and `defaults.service`.
pub fn known_services(root: &Path, stage: Option<&str>, settings: &Settings) -> Vec<String> {
    let mut names = match stage.map(|s| root.join(s)).filter(|d| d.is_dir()) {
        Some(dir) => folder_names(&dir),
        None => folder_names(root)
            .iter()
            .flat_map(|s| folder_names(&root.join(s)))
            .collect(),
    };
    names.sort();
    names.dedup();
    push_unique(
        &mut names,
        settings.service.as_ref().map(|s| s.value.as_str()),
    );
    names
}

/// The closest known name to `given` when `given` is not known itself; `None` when it is known,
/// or nothing known comes close.
pub fn did_you_mean(given: &str, known: &[String]) -> Option<String> {
    if known.iter().any(|k| k == given) {
        return None;
    }
    closest(given, known).into_iter().next()
}

/// `did you mean --stage production?` (or `--service`) for the selection of a run whose lookup
/// found nothing: the stage first, since a wrong stage also hides every service under it.
pub fn selection(
    root: &Path,
    settings: &Settings,
    stage: Option<&str>,
    service: Option<&str>,
) -> Option<String> {
    if let Some(stage) = stage
        && let Some(s) = did_you_mean(stage, &known_stages(root, settings))
    {
        return Some(format!(
            "did you mean --stage {s}? (`{stage}` is no stage of the config root {})",
            root.display()
        ));
    }
    let service = service?;
    let s = did_you_mean(service, &known_services(root, stage, settings))?;
    Some(format!(
        "did you mean --service {s}? (`{service}` is no service of the config root {})",
        root.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "production/checkout",
            "production/cart",
            "staging/checkout",
            "production/dynatrace",
            ".slogate",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        dir
    }

    #[test]
    fn stages_and_services_come_from_the_folders() {
        let dir = root();
        let s = Settings::default();
        assert_eq!(known_stages(dir.path(), &s), ["production", "staging"]);
        assert_eq!(
            known_services(dir.path(), Some("production"), &s),
            ["cart", "checkout"]
        );
        assert_eq!(
            known_services(dir.path(), Some("prodution"), &s),
            ["cart", "checkout"]
        );
    }

    #[test]
    fn a_near_miss_is_named_and_a_known_or_far_name_is_not() {
        let dir = root();
        let s = Settings::default();
        let hint = selection(dir.path(), &s, Some("prodution"), Some("checkout")).unwrap();
        assert!(
            hint.starts_with("did you mean --stage production?"),
            "{hint}"
        );
        let hint = selection(dir.path(), &s, Some("production"), Some("chekout")).unwrap();
        assert!(
            hint.starts_with("did you mean --service checkout?"),
            "{hint}"
        );
        assert_eq!(
            selection(dir.path(), &s, Some("production"), Some("cart")),
            None
        );
        assert_eq!(selection(dir.path(), &s, Some("qa"), Some("zzz")), None);
    }
}
