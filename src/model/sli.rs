//! `sli.yaml`: indicator name → query string, as Keptn's SLI providers read it.

use std::sync::Arc;

use crate::diag::{Origin, Problem, SourceFile, Sourced};
use crate::model::read::Reader;
use crate::model::yaml::Node;

pub const SLI_KEYS: &[&str] = &["spec_version", "indicators"];

#[derive(Clone, Debug, Default)]
pub struct Sli {
    pub spec_version: Option<Sourced<String>>,
    /// In file order; each name also remembers the span of its key.
    pub indicators: Vec<Indicator>,
}

#[derive(Clone, Debug)]
pub struct Indicator {
    pub name: Sourced<String>,
    pub query: Sourced<String>,
}

const EXAMPLE: &str = "`indicators: {response_time_p95: \"metricSelector=builtin:service.response.time:percentile(95)&entitySelector=type(SERVICE),tag(keptn_service:$SERVICE)\"}`";

/// Reads an `sli.yaml` tree; `root` is `None` for an empty file.
pub fn read(file: &Arc<SourceFile>, root: Option<&Node>, r: &mut Reader) -> Sli {
    let mut sli = Sli::default();
    let Some(root) = root else {
        // Keptn's dynatrace-service fails every indicator on an empty SLI file.
        r.push(
            Problem::error(
                "slogate::empty-file",
                &Origin::new(file, 0..0),
                "the SLI file is empty",
            )
            .help(format!("an sli.yaml needs {EXAMPLE}")),
        );
        return sli;
    };
    let Some(f) = r.fields(root, "sli.yaml", SLI_KEYS, EXAMPLE) else {
        return sli;
    };
    if let Some(n) = f.get("spec_version") {
        sli.spec_version = r.string(n, "spec_version", "`spec_version: \"1.0\"`");
    }
    match f.get("indicators") {
        None => {
            let origin = f
                .key_node("indicators")
                .map(|k| k.origin.clone())
                .unwrap_or_else(|| root.origin.clone());
            r.push(
                Problem::error(
                    "slogate::missing-indicators",
                    &origin,
                    "this sli.yaml defines no `indicators`",
                )
                .help(format!(
                    "Keptn fails every SLI of a file without indicators; add {EXAMPLE}"
                )),
            );
        }
        Some(n) => match n.as_map() {
            None => r.type_error(n, "indicators", "a mapping of name to query", EXAMPLE),
            Some(entries) => {
                for (k, v) in entries {
                    let Some(name) = r.string(k, "an indicator name", EXAMPLE) else {
                        continue;
                    };
                    let query = if v.is_null() {
                        r.push(
                            Problem::error(
                                "slogate::empty-query",
                                &k.origin,
                                format!("indicator `{}` has no query", name.value),
                            )
                            .label("no query after this name")
                            .help("write the query after the colon, in quotes"),
                        );
                        continue;
                    } else {
                        match r.string(v, &format!("indicator `{}`", name.value), EXAMPLE) {
                            Some(q) => q,
                            None => continue,
                        }
                    };
                    sli.indicators.push(Indicator { name, query });
                }
            }
        },
    }
    sli
}
