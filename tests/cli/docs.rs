//! `completions`, `man` and `--version`: generated from the clap definitions, stamped by build.rs.

use crate::support::Slogate;

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Slogate::new().args(["completions", shell]).run();
        out.assert_code(0).assert_no_panic();
        assert!(
            !out.stdout.trim().is_empty(),
            "{shell}: empty script\n{out:?}"
        );
        for sub in ["gate", "mark", "lint"] {
            out.assert_stdout_contains(sub);
        }
        out.assert_stdout_contains("since-deployment");
    }
}

#[test]
fn completions_refuse_an_unknown_shell() {
    Slogate::new()
        .args(["completions", "tcsh"])
        .run()
        .assert_code(2)
        .assert_stderr_contains("tcsh");
}

#[test]
fn man_prints_a_roff_page_with_every_subcommand() {
    let out = Slogate::new().arg("man").run();
    out.assert_code(0).assert_no_panic();
    assert!(
        out.stdout.contains(".TH slogate 1"),
        "no .TH header\n{out:?}"
    );
    out.assert_stdout_contains(".SH NAME")
        .assert_stdout_contains(".SH SYNOPSIS")
        .assert_stdout_contains(env!("CARGO_PKG_VERSION"));
    for sub in [
        "score",
        "lint",
        "gate",
        "eval",
        "mark",
        "history",
        "completions",
    ] {
        out.assert_stdout_contains(sub);
    }
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    Slogate::new()
        .arg("man")
        .arg("--dir")
        .arg(dir.path())
        .run()
        .assert_code(0);
    for page in [
        "slogate.1",
        "slogate-gate.1",
        "slogate-mark.1",
        "slogate-completions.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH slogate"), "{page} is not roff:\n{text}");
    }
    let gate = std::fs::read_to_string(dir.path().join("slogate-gate.1")).unwrap();
    assert!(gate.contains("since\\-deployment"), "{gate}");
    assert!(!dir.path().join("slogate-help.1").exists());
}

#[test]
fn man_dir_writes_a_page_for_every_page_a_page_names() {
    let dir = tempfile::tempdir().unwrap();
    Slogate::new()
        .arg("man")
        .arg("--dir")
        .arg(dir.path())
        .run()
        .assert_code(0);
    for page in [
        "slogate-history-list.1",
        "slogate-history-import.1",
        "slogate-dashboard-export.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH slogate"), "{page} is not roff:\n{text}");
    }
    let mut named = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap().replace("\\-", "-");
        for word in text.split_whitespace() {
            if let Some(page) = word
                .strip_suffix("(1)")
                .filter(|p| p.starts_with("slogate"))
            {
                named += 1;
                assert!(
                    dir.path().join(format!("{page}.1")).is_file(),
                    "{} names {page}(1), which was not written",
                    path.display()
                );
            }
        }
    }
    assert!(named >= 10, "only {named} references found");
    let list = std::fs::read_to_string(dir.path().join("slogate-history-list.1")).unwrap();
    assert!(list.contains(".SH ENVIRONMENT"), "{list}");
    assert!(list.contains("SLOGATE_HISTORY"), "{list}");
}

#[test]
fn help_and_man_pages_name_the_environment_each_command_reads() {
    for (cmd, vars) in [
        (
            &["gate"][..],
            &[
                "DT_URL",
                "DT_API_TOKEN",
                "PROMETHEUS_URL",
                "PROMETHEUS_USER",
                "PROMETHEUS_PASSWORD",
                "NO_COLOR",
                "TF_BUILD",
            ][..],
        ),
        (&["eval"], &["DT_URL", "DT_API_TOKEN", "PROMETHEUS_URL"]),
        (&["mark"], &["DT_URL", "DT_API_TOKEN"]),
        (&["dashboard", "export"], &["DT_URL", "DT_API_TOKEN"]),
        (&["history", "list"], &["SLOGATE_HISTORY"]),
    ] {
        let out = Slogate::new().args(cmd).arg("--help").run();
        out.assert_code(0);
        let env = out
            .stdout
            .split_once("Environment:")
            .map(|(_, e)| e.to_string())
            .unwrap_or_else(|| {
                panic!("{cmd:?} --help has no Environment section:\n{}", out.stdout)
            });
        for v in vars {
            assert!(env.contains(v), "{cmd:?} --help does not name {v}:\n{env}");
        }
    }
    let eval = Slogate::new().args(["eval", "--help"]).run();
    assert!(
        !eval.stdout.contains("against Dynatrace"),
        "{}",
        eval.stdout
    );
    let page = Slogate::new().arg("man").run();
    for v in ["DT_URL", "DT_API_TOKEN", "PROMETHEUS_URL"] {
        page.assert_stdout_contains(v);
    }
}

#[test]
fn version_names_the_commit_and_the_build_date() {
    for flag in ["--version", "-V"] {
        let out = Slogate::new().arg(flag).run();
        out.assert_code(0);
        let line = out.stdout.trim_end();
        // slogate 0.1.0 (commit 1a2b3c4, built 2026-11-30); `commit unknown` outside git.
        let rest = line
            .strip_prefix(&format!("slogate {} (commit ", env!("CARGO_PKG_VERSION")))
            .unwrap_or_else(|| panic!("unexpected version line {line:?}"));
        let (commit, date) = rest
            .strip_suffix(')')
            .and_then(|r| r.split_once(", built "))
            .unwrap_or_else(|| panic!("unexpected version line {line:?}"));
        assert!(
            commit == "unknown"
                || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
            "commit {commit:?} in {line:?}"
        );
        let parts: Vec<&str> = date.split('-').collect();
        assert!(
            parts.len() == 3
                && [4, 2, 2]
                    .iter()
                    .zip(&parts)
                    .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_digit())),
            "date {date:?} in {line:?}"
        );
    }
}
