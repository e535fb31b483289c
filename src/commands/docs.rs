//! `slogate completions` and `slogate man`: shell completion scripts and man pages generated from
//! the clap definitions, so they never drift from the flags the binary accepts.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::diag::Problem;
use crate::ui::{Exit, Ui, stdout};

/// Prints the completion script for one shell.
pub fn completions(args: &CompletionsArgs) -> Exit {
    let mut cmd = crate::cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "slogate", &mut out);
    stdout(&String::from_utf8_lossy(&out));
    Exit::Pass
}

/// Prints `slogate.1`, or writes it and one page per command at every depth into `--dir`
/// (`slogate-history.1`, `slogate-history-list.1`, …: the names the pages refer to).
pub fn man(args: &ManArgs, ui: &Ui) -> Exit {
    let Some(dir) = &args.dir else {
        let pages = pages();
        stdout(&String::from_utf8_lossy(&pages[0].1));
        return Exit::Pass;
    };
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        pages()
            .iter()
            .try_for_each(|(file, text)| std::fs::write(dir.join(file), text))
    });
    match written {
        Ok(()) => Exit::Pass,
        Err(e) => {
            ui.problems(&[Problem::file(
                "slogate::io",
                &dir.display().to_string(),
                format!("cannot write the man pages: {e}"),
            )]);
            Exit::Invalid
        }
    }
}

/// Every man page, `slogate.1` first, as (file name, roff text).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    // The pages take their environment from the table as a section of its own; the help text's
    // `Environment:` list would be flowed into one paragraph by the roff renderer.
    // `slogate help` needs no page of its own: every page lists the options itself.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    collect(&cmd, &[], &mut out);
    out
}

fn collect(cmd: &clap::Command, path: &[&str], out: &mut Vec<(String, Vec<u8>)>) {
    let name = std::iter::once("slogate")
        .chain(path.iter().copied())
        .collect::<Vec<_>>()
        .join("-");
    let page = cmd.clone().display_name(&name).version(crate::cli::VERSION);
    out.push((format!("{name}.1"), render(&page, path)));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut sub_path = path.to_vec();
        sub_path.push(sub.get_name());
        collect(sub, &sub_path, out);
    }
}

fn render(cmd: &clap::Command, path: &[&str]) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if cmd.has_subcommands() {
        let _ = man.render_subcommands_section(&mut out);
    }
    out.extend_from_slice(environment_section(path).as_bytes());
    if cmd.get_after_help().is_some() || cmd.get_after_long_help().is_some() {
        let _ = man.render_extra_section(&mut out);
    }
    let _ = man.render_version_section(&mut out);
    out
}

/// `.SH ENVIRONMENT` with one `.TP` entry per variable the command reads.
fn environment_section(path: &[&str]) -> String {
    let vars = crate::cli::environment_of(path);
    if vars.is_empty() {
        return String::new();
    }
    let mut s = String::from(".SH ENVIRONMENT\n");
    for v in vars {
        s.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff(v.name),
            roff(v.about)
        ));
    }
    s
}

/// Text as roff reads it literally: backslashes and hyphens escaped, no line starting with a
/// control character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_command_at_every_depth() {
        let names: Vec<String> = pages().into_iter().map(|(n, _)| n).collect();
        for want in [
            "slogate.1",
            "slogate-gate.1",
            "slogate-history.1",
            "slogate-history-list.1",
            "slogate-history-import.1",
            "slogate-dashboard.1",
            "slogate-dashboard-export.1",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn every_page_a_page_refers_to_is_written() {
        let pages = pages();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        for (name, text) in &pages {
            let text = String::from_utf8_lossy(text).replace("\\-", "-");
            for word in text.split_whitespace() {
                if let Some(page) = word.strip_suffix("(1)")
                    && page.starts_with("slogate")
                {
                    let file = format!("{page}.1");
                    assert!(names.contains(&file.as_str()), "{name} refers to {page}(1)");
                }
            }
        }
    }

    #[test]
    fn roff_text_is_literal() {
        assert_eq!(roff("a-b \\c"), "a\\-b \\ec");
        assert_eq!(roff(".x"), "\\&.x");
    }
}
