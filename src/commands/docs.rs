//! `slogate completions` and `slogate man`: shell completion scripts and man pages generated from
//! the clap definitions, so they never drift from the flags the binary accepts.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::diag::Problem;
use crate::ui::{Exit, Ui, stdout};

/// Prints the completion script for one shell.
pub fn completions(args: &CompletionsArgs) -> Exit {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "slogate", &mut out);
    stdout(&String::from_utf8_lossy(&out));
    Exit::Pass
}

/// Prints `slogate.1`, or writes it and one page per subcommand into `--dir`.
pub fn man(args: &ManArgs, ui: &Ui) -> Exit {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = &args.dir else {
        stdout(&String::from_utf8_lossy(&render(&cmd)));
        return Exit::Pass;
    };
    let mut pages = vec![("slogate.1".to_string(), render(&cmd))];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("slogate-{}", sub.get_name());
        let page = sub
            .clone()
            .display_name(&name)
            .bin_name(&name)
            .version(crate::cli::VERSION);
        pages.push((format!("{name}.1"), render(&page)));
    }
    let written = std::fs::create_dir_all(dir).and_then(|()| {
        pages
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

fn render(cmd: &clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = clap_mangen::Man::new(cmd.clone()).render(&mut out);
    out
}
