//! Fleets (docs/fleets.md): named environments in slogate.yaml, a stage mapped to one, one run
//! over many with a fleet report, shards merged byte for byte, and the recipes' command lines.
//! Each environment is its own dtsim on loopback.

use std::path::Path;

use dtsim::{BlockingSim, start_blocking};

use crate::support::{Slogate, examples};

const TOKEN: &str = "dt0c01.SIMULATOR.TOKEN";
const AFTER: (&str, &str) = ("2026-11-17T10:00:00Z", "2026-11-17T11:00:00Z");

/// The example scenario with checkout's regression after 10:00 scaled by `factor` (none: 1.0).
fn sim(factor: f64) -> BlockingSim {
    let text = std::fs::read_to_string(examples().join("dynatrace/scenario.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["regressions"][0]["factor"] = factor.into();
    start_blocking(dtsim::scenario_from_json(&v.to_string()).unwrap()).unwrap()
}

/// A config root with the example objectives and `environments` (name, url, token variable).
fn config(dir: &Path, environments: &[(&str, String, &str)], extra: &str) {
    let root = dir.join("slo");
    std::fs::create_dir_all(&root).unwrap();
    for f in ["sli.yaml", "slo.yaml"] {
        std::fs::copy(examples().join("dynatrace").join(f), root.join(f)).unwrap();
    }
    let mut y = String::from(
        "spec_version: \"1\"\ndefaults: {project: shop, stage: production, service: checkout}\nenvironments:\n",
    );
    for (name, url, var) in environments {
        y.push_str(&format!(
            "  {name}:\n    url: {url}\n    token_env: {var}\n"
        ));
    }
    y.push_str(extra);
    std::fs::write(root.join("slogate.yaml"), y).unwrap();
}

fn eval(dir: &Path) -> Slogate {
    Slogate::new()
        .args(["eval", "--from", AFTER.0, "--to", AFTER.1])
        .current_dir(dir)
}

/// A port nobody listens on: a tenant that is down.
fn down_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    url
}

struct Fleet {
    _sims: Vec<BlockingSim>,
    dir: tempfile::TempDir,
}

/// a: healthy, b: regressed, c: down, d: refuses the token, e: its token variable is unset.
fn fleet() -> Fleet {
    let (good, bad, other) = (sim(1.0), sim(2.5), sim(1.0));
    let dir = tempfile::tempdir().unwrap();
    config(
        dir.path(),
        &[
            ("a", good.url(), "TOKEN_A"),
            ("b", bad.url(), "TOKEN_B"),
            ("c", down_url(), "TOKEN_A"),
            ("d", other.url(), "TOKEN_D"),
            ("e", good.url(), "TOKEN_E"),
        ],
        "stages:\n  production: {environment: b}\n",
    );
    Fleet {
        _sims: vec![good, bad, other],
        dir,
    }
}

fn with_tokens(s: Slogate) -> Slogate {
    s.env("TOKEN_A", TOKEN)
        .env("TOKEN_B", TOKEN)
        .env("TOKEN_D", "dt0c01.REFUSED.TOKENVALUE")
}

#[test]
fn a_stage_talks_to_its_environment_and_the_flag_picks_another() {
    let f = fleet();
    // No DT_URL: the stage `production` names environment b, whose checkout regressed.
    let out = with_tokens(eval(f.dir.path()))
        .args(["--format", "json"])
        .run();
    out.assert_code(1);
    assert_eq!(out.json()["result"], "fail");
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environment", "a", "--format", "json"])
        .run();
    out.assert_code(0);
    assert_eq!(out.json()["result"], "pass");
}

#[test]
fn an_unknown_environment_is_invalid_and_lists_the_known_ones() {
    let f = fleet();
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environment", "prod-eu"])
        .run();
    out.assert_code(2)
        .assert_stderr_contains("unknown environment `prod-eu`; known environments: a, b, c, d, e");
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environments", "prod-*"])
        .run();
    out.assert_code(2)
        .assert_stderr_contains("--environments prod-* matches no environment");
}

#[test]
fn a_fleet_reports_each_tenant_and_exits_with_the_worst() {
    let f = fleet();
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environments", "all", "--format", "json"])
        .run();
    out.assert_code(1);
    let r = out.json();
    assert_eq!(r["result"], "fail");
    assert_eq!(r["environments"], 5);
    let rows = r["rows"].as_array().unwrap();
    let by = |e: &str| rows.iter().find(|x| x["environment"] == e).unwrap();
    assert_eq!(by("a")["result"], "pass");
    assert_eq!(by("b")["result"], "fail");
    assert!(
        by("b")["failed"]
            .as_array()
            .unwrap()
            .contains(&"response_time_p95".into())
    );
    for e in ["c", "d", "e"] {
        assert_eq!(by(e)["result"], "error", "{e}: {}", by(e));
        assert!(by(e)["cause"].as_str().is_some_and(|c| !c.is_empty()));
    }
    assert!(
        by("e")["cause"].as_str().unwrap().contains("TOKEN_E"),
        "{}",
        by("e")
    );
    assert!(
        !out.stdout.contains("REFUSED.TOKENVALUE"),
        "a token leaked: {}",
        out.stdout
    );

    // Without the regressed tenant the worst is `error`: exit 3, never a fail.
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environments", "a,c,d", "--format", "junit"])
        .run();
    out.assert_code(3);
    assert_eq!(out.stdout.matches("<testsuite ").count(), 3);
    assert_eq!(out.stdout.matches("<error ").count(), 2);

    // jsonl: one line per environment, then the closing line.
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environments", "a,b", "--format", "jsonl"])
        .run();
    out.assert_code(1);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[2]["end"], true);
    assert_eq!(lines[2]["result"], "fail");
    // Over all five: the closing line counts what streamed (no rows are kept for it), and a
    // report file asked for beside it still gets every environment's outcome.
    let file = f.dir.path().join("fleet-outcomes.json");
    for with_file in [false, true] {
        let mut cmd = with_tokens(eval(f.dir.path()));
        cmd = cmd.args(["--environments", "all", "--format", "jsonl"]);
        if with_file {
            cmd = cmd.arg("--output").arg(&file);
        }
        let out = cmd.run();
        out.assert_code(1);
        let end: serde_json::Value =
            serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
        assert_eq!(out.stdout.lines().count(), 6, "{}", out.stdout);
        assert_eq!(end["environments"], 5, "{end}");
        assert_eq!(
            end["counts"],
            serde_json::json!({"pass": 1, "warning": 0, "fail": 1, "error": 3, "invalid": 0}),
            "{end}"
        );
        assert_eq!(end["result"], "fail", "{end}");
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written["rows"].as_array().unwrap().len(), 5, "{written}");
    assert_eq!(written["environments"], 5);

    // Text: the table and a clear last line.
    let out = with_tokens(eval(f.dir.path()))
        .args(["--environments", "all"])
        .run();
    out.assert_code(1).assert_stdout_contains(
        "fleet FAIL: 5 environments (1 pass, 0 warning, 1 fail, 3 error, 0 invalid)",
    );
}

#[test]
fn shards_merge_into_the_single_runs_report_byte_for_byte() {
    let f = fleet();
    let single = with_tokens(eval(f.dir.path()))
        .args(["--environments", "all", "--format", "json"])
        .run();
    single.assert_code(1);
    let shards = f.dir.path().join("shards");
    for i in 1..=3 {
        let out = with_tokens(eval(f.dir.path()))
            .args(["--environments", "all", "--shard", &format!("{i}/3")])
            .arg("--output")
            .arg(shards.join(format!("shard-{i}.json")))
            .args(["--format", "json"])
            .run();
        assert!(out.code != 2, "{}", out.stderr);
        assert_eq!(out.json()["shard"]["index"], i);
    }
    let merged = Slogate::new()
        .args(["fleet", "merge", "--format", "json"])
        .arg(&shards)
        .current_dir(f.dir.path())
        .run();
    merged.assert_code(1);
    assert_eq!(merged.stdout, single.stdout);

    // A missing shard is refused rather than merged into a report that leaves tenants out.
    std::fs::remove_file(shards.join("shard-2.json")).unwrap();
    Slogate::new()
        .args(["fleet", "merge"])
        .arg(&shards)
        .run()
        .assert_code(2)
        .assert_stderr_contains("shard 2/3 is missing");
}

#[test]
fn lint_refuses_a_literal_token_in_environments() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("slo");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::copy(examples().join("dynatrace/slo.yaml"), root.join("slo.yaml")).unwrap();
    std::fs::write(
        root.join("slogate.yaml"),
        "environments:\n  prod-eu:\n    url: https://abc12345.live.dynatrace.com\n    token_env: dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.SECRETPART\n  prod-us:\n    url: https://xyz.live.dynatrace.com\n    token: dt0c01.ANOTHERTOKENVALUE.SECRETTWO\n",
    )
    .unwrap();
    let out = Slogate::new()
        .args(["lint", "slo"])
        .current_dir(dir.path())
        .run();
    out.assert_code(2)
        .assert_stderr_contains("slogate.yaml:4")
        .assert_stderr_contains("this looks like an API token")
        .assert_stderr_contains("slogate.yaml:7")
        .assert_stderr_contains("a token is written in slogate.yaml");
    assert!(
        !out.stderr.contains("SECRETPART") && !out.stderr.contains("SECRETTWO"),
        "{}",
        out.stderr
    );
}

/// The `slogate …` command lines of a recipe: shell lines (up to a `||`, `&&` or `;`), and the
/// `args: [...]` lists of the Kubernetes containers running the image.
fn command_lines(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some(list) = line.strip_prefix("args: [") {
            let words = list
                .trim_end_matches(']')
                .split(',')
                .map(|w| w.trim().trim_matches('"').to_string())
                .collect();
            out.push(words);
            continue;
        }
        let Some(at) = line.find("slogate\" ").map(|i| i + 9).or_else(|| {
            line.find("slogate ")
                .filter(|&i| i == 0 || line[..i].ends_with(' ') || line[..i].ends_with("- "))
                .map(|i| i + 8)
        }) else {
            continue;
        };
        let rest = &line[at..];
        // An invocation names a subcommand; `slogate" "$(SLOGATE_URL)"` (a download) does not.
        if !rest.starts_with(|c: char| c.is_ascii_lowercase()) {
            continue;
        }
        let rest = rest.split(" || ").next().unwrap();
        let rest = rest.split(" && ").next().unwrap();
        out.push(rest.split_whitespace().map(String::from).collect());
    }
    out
}

#[test]
fn the_sharding_recipes_parse_and_use_flags_that_exist() {
    let dir = examples().join("fleet");
    let recipes = [
        ("github-actions.yml", "--shard ${{ matrix.shard }}/4"),
        (
            "azure-pipelines.yml",
            "$(System.JobPositionInPhase)/$(System.TotalJobsInPhase)",
        ),
        ("gitlab-ci.yml", "$CI_NODE_INDEX/$CI_NODE_TOTAL"),
        ("kubernetes-job.yaml", "$(JOB_COMPLETION_INDEX)/8"),
    ];
    for (file, shard) in recipes {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let source = slogate::diag::SourceFile::new(file, text.as_str());
        let (docs, problems) = slogate::model::yaml::parse_documents(&source);
        assert!(problems.is_empty(), "{file}: {problems:?}");
        assert!(!docs.is_empty(), "{file}");
        assert!(text.contains(shard), "{file} does not shard with {shard}");
        let commands = command_lines(&text);
        assert!(
            commands
                .iter()
                .any(|c| c.first().is_some_and(|w| w == "eval"))
                && commands
                    .iter()
                    .any(|c| c.first().is_some_and(|w| w == "fleet")),
            "{file}: {commands:?}"
        );
        for words in commands {
            let sub: Vec<&str> = words
                .iter()
                .take_while(|w| !w.starts_with('-'))
                .take(if words[0] == "fleet" { 2 } else { 1 })
                .map(String::as_str)
                .collect();
            let help = Slogate::new().args(&sub).arg("--help").run();
            help.assert_code(0);
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                assert!(
                    help.stdout.contains(&format!("{flag} "))
                        || help.stdout.contains(&format!("{flag}\n")),
                    "{file}: `slogate {}` has no flag {flag}",
                    sub.join(" ")
                );
            }
        }
    }
    // The example config itself is clean.
    Slogate::new()
        .args(["lint", "slo"])
        .current_dir(&dir)
        .run()
        .assert_code(0);
}

#[test]
fn history_reads_the_named_environment() {
    let f = fleet();
    let history = |args: &[&str]| {
        with_tokens(Slogate::new())
            .args(["history", "--config", "slo"])
            .args(args)
            .current_dir(f.dir.path())
            .run()
    };
    // The Dynatrace store of tenant a answers; tenant d refuses the token: each its own.
    history(&["--history", "dynatrace", "--environment", "a", "list"]).assert_code(0);
    let out = history(&["--history", "dynatrace", "--environment", "d", "list"]);
    assert_ne!(out.code, 0, "{out:?}");
    history(&["--history", "dynatrace", "--environment", "x", "list"])
        .assert_code(2)
        .assert_stderr_contains("unknown environment `x`; known environments: a, b, c, d, e");
    // A file store has no environment to pick: the message names the fleet's file for it.
    history(&["--environment", "a", "list"])
        .assert_code(2)
        .assert_stderr_contains(".a.sqlite");
}
