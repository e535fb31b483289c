//! Which CI system runs slogate, and what it tells about the run. Pure: the environment is
//! passed in.

use std::collections::BTreeMap;

use crate::report::json::PipelineInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiKind {
    Azure,
    GitHub,
    GitLab,
}

impl CiKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CiKind::Azure => "azure",
            CiKind::GitHub => "github",
            CiKind::GitLab => "gitlab",
        }
    }
}

/// The CI system from its well-known variables: Azure DevOps / TFS (`TF_BUILD`), GitHub Actions
/// (`GITHUB_ACTIONS`), GitLab (`GITLAB_CI`).
pub fn detect(env: &BTreeMap<String, String>) -> Option<CiKind> {
    let set = |k: &str| env.get(k).is_some_and(|v| !v.is_empty());
    let truthy = |k: &str| env.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if truthy("TF_BUILD") || set("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI") {
        Some(CiKind::Azure)
    } else if truthy("GITHUB_ACTIONS") {
        Some(CiKind::GitHub)
    } else if truthy("GITLAB_CI") {
        Some(CiKind::GitLab)
    } else {
        None
    }
}

/// Event properties describing the run, for deployment and verdict events. Only variables that
/// are set appear.
pub fn properties(kind: CiKind, env: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut put = |key: &str, vars: &[&str]| {
        if let Some(v) = vars
            .iter()
            .filter_map(|v| env.get(*v))
            .find(|v| !v.is_empty())
        {
            out.insert(key.to_string(), v.clone());
        }
    };
    match kind {
        CiKind::Azure => {
            put(
                "azure.collection_uri",
                &["SYSTEM_COLLECTIONURI", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"],
            );
            put("azure.team_project", &["SYSTEM_TEAMPROJECT"]);
            put("azure.release_name", &["RELEASE_RELEASENAME"]);
            put("azure.release_url", &["RELEASE_RELEASEWEBURL"]);
            put("azure.build_id", &["BUILD_BUILDID"]);
            put("azure.build_number", &["BUILD_BUILDNUMBER"]);
            put("azure.source_version", &["BUILD_SOURCEVERSION"]);
            put(
                "azure.requested_for",
                &["RELEASE_REQUESTEDFOR", "BUILD_REQUESTEDFOR"],
            );
        }
        CiKind::GitHub => {
            put("github.server_url", &["GITHUB_SERVER_URL"]);
            put("github.repository", &["GITHUB_REPOSITORY"]);
            put("github.run_id", &["GITHUB_RUN_ID"]);
            put("github.sha", &["GITHUB_SHA"]);
            put("github.actor", &["GITHUB_ACTOR"]);
        }
        CiKind::GitLab => {
            put("gitlab.pipeline_url", &["CI_PIPELINE_URL"]);
            put("gitlab.commit_sha", &["CI_COMMIT_SHA"]);
            put("gitlab.project_path", &["CI_PROJECT_PATH"]);
            put("gitlab.job_url", &["CI_JOB_URL"]);
        }
    }
    if let Some(url) = run_url(kind, env) {
        out.insert("ci.run_url".into(), url);
    }
    out.insert("ci.provider".into(), kind.as_str().into());
    out
}

/// A link to the run: the release (classic) or build results page, the workflow run, the pipeline.
pub fn run_url(kind: CiKind, env: &BTreeMap<String, String>) -> Option<String> {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    match kind {
        CiKind::Azure => get("RELEASE_RELEASEWEBURL").or_else(|| {
            let base = get("SYSTEM_COLLECTIONURI")
                .or_else(|| get("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI"))?;
            let project = get("SYSTEM_TEAMPROJECT")?;
            let build = get("BUILD_BUILDID")?;
            Some(format!(
                "{}/{}/_build/results?buildId={build}",
                base.trim_end_matches('/'),
                percent_encode_path(&project)
            ))
        }),
        CiKind::GitHub => {
            let server = get("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
            Some(format!(
                "{server}/{}/actions/runs/{}",
                get("GITHUB_REPOSITORY")?,
                get("GITHUB_RUN_ID")?
            ))
        }
        CiKind::GitLab => get("CI_PIPELINE_URL"),
    }
}

fn percent_encode_path(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// What the report says about the run.
pub fn pipeline(kind: CiKind, env: &BTreeMap<String, String>) -> PipelineInfo {
    let get = |k: &str| env.get(k).filter(|v| !v.is_empty()).cloned();
    let (name, commit) = match kind {
        CiKind::Azure => (
            get("RELEASE_RELEASENAME").or_else(|| get("BUILD_BUILDNUMBER")),
            get("BUILD_SOURCEVERSION"),
        ),
        CiKind::GitHub => (
            get("GITHUB_RUN_ID").map(|id| {
                format!(
                    "{} run {id}",
                    get("GITHUB_WORKFLOW").unwrap_or_else(|| "workflow".into())
                )
            }),
            get("GITHUB_SHA"),
        ),
        CiKind::GitLab => (
            get("CI_PIPELINE_ID").map(|id| format!("pipeline {id}")),
            get("CI_COMMIT_SHA"),
        ),
    };
    PipelineInfo {
        ci: kind.as_str().into(),
        url: run_url(kind, env),
        name,
        commit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn detection() {
        assert_eq!(detect(&env(&[("TF_BUILD", "True")])), Some(CiKind::Azure));
        assert_eq!(
            detect(&env(&[("GITHUB_ACTIONS", "true")])),
            Some(CiKind::GitHub)
        );
        assert_eq!(detect(&env(&[("GITLAB_CI", "true")])), Some(CiKind::GitLab));
        assert_eq!(detect(&env(&[("CI", "true")])), None);
    }

    #[test]
    fn azure_release_and_build_links() {
        let e = env(&[
            ("TF_BUILD", "True"),
            ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
            ("SYSTEM_TEAMPROJECT", "Shop Team"),
            ("BUILD_BUILDID", "42"),
            ("BUILD_BUILDNUMBER", "20261121.3"),
            ("BUILD_SOURCEVERSION", "e5a6bac"),
            ("BUILD_REQUESTEDFOR", "Jane Doe"),
        ]);
        assert_eq!(
            run_url(CiKind::Azure, &e).unwrap(),
            "https://dev.azure.com/acme/Shop%20Team/_build/results?buildId=42"
        );
        let p = properties(CiKind::Azure, &e);
        assert_eq!(p["azure.build_number"], "20261121.3");
        assert_eq!(p["azure.requested_for"], "Jane Doe");
        assert!(!p.contains_key("azure.release_name"));
        let mut rel = e.clone();
        rel.insert(
            "RELEASE_RELEASEWEBURL".into(),
            "https://dev.azure.com/acme/Shop/_release?releaseId=7".into(),
        );
        rel.insert("RELEASE_RELEASENAME".into(), "Release-7".into());
        assert_eq!(
            run_url(CiKind::Azure, &rel).unwrap(),
            "https://dev.azure.com/acme/Shop/_release?releaseId=7"
        );
        assert_eq!(
            pipeline(CiKind::Azure, &rel).name.as_deref(),
            Some("Release-7")
        );
    }

    #[test]
    fn github_and_gitlab() {
        let g = env(&[
            ("GITHUB_REPOSITORY", "acme/shop"),
            ("GITHUB_RUN_ID", "99"),
            ("GITHUB_SHA", "abc"),
            ("GITHUB_ACTOR", "jane"),
        ]);
        assert_eq!(
            run_url(CiKind::GitHub, &g).unwrap(),
            "https://github.com/acme/shop/actions/runs/99"
        );
        assert_eq!(properties(CiKind::GitHub, &g)["github.actor"], "jane");
        let l = env(&[
            ("CI_PIPELINE_URL", "https://gitlab.example/p/-/pipelines/5"),
            ("CI_COMMIT_SHA", "def"),
        ]);
        assert_eq!(
            properties(CiKind::GitLab, &l)["ci.run_url"],
            "https://gitlab.example/p/-/pipelines/5"
        );
    }
}
