//! `slogate fleet merge`: the shards' JSON reports → the report one run would have written.

use std::path::PathBuf;

use crate::cli::FleetMergeArgs;
use crate::diag::Problem;
use crate::fleet::report::FleetReport;
use crate::fleet::{self, Publish};
use crate::shell::{ci_kind, environment};
use crate::ui::{Exit, Ui, stdout};

fn problem(path: &std::path::Path, message: impl Into<String>, help: &str) -> Problem {
    Problem::file("slogate::fleet-merge", &path.display().to_string(), message)
        .help(help.to_string())
}

/// The files named, and the *.json files of the folders named, in name order.
fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Problem> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| problem(p, format!("cannot read the folder: {e}"), "check the path"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json") && f.is_file())
                .collect();
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

pub fn merge(args: &FleetMergeArgs, ui: &Ui) -> Exit {
    match merged(args) {
        Ok(f) => {
            let env = environment();
            let p = Publish {
                format: args.format,
                output: args.output.as_deref(),
                report_dir: args.report_dir.as_deref(),
                ci: ci_kind(args.ci, &env),
                fail_on: args.fail_on,
            };
            stdout(&fleet::render(&f, args.format));
            if let Err(problem) = fleet::publish(&f, &p, &env) {
                ui.problems(&[problem]);
                return Exit::Invalid;
            }
            Exit::of(f.result, args.fail_on)
        }
        Err(problems) => {
            ui.problems(&problems);
            Exit::Invalid
        }
    }
}

fn merged(args: &FleetMergeArgs) -> Result<FleetReport, Vec<Problem>> {
    let files = files(&args.paths).map_err(|p| vec![p])?;
    let mut shards = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| vec![problem(f, format!("cannot read: {e}"), "check the path")])?;
        let report: FleetReport = serde_json::from_str(&text).map_err(|e| {
            vec![problem(
                f,
                format!("not a fleet report: {e}"),
                "give the JSON written by `slogate eval|gate --environments … --shard I/N --output FILE`",
            )]
        })?;
        shards.push((f.display().to_string(), report));
    }
    fleet::merge::merge(shards).map_err(|m| {
        vec![
            Problem::file("slogate::fleet-merge", "fleet merge", m)
                .help("merge the reports of every shard of one run, each once"),
        ]
    })
}
