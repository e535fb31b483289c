//! One module per subcommand: resolve inputs, call the core, render, return the exit code.

pub mod config;
pub mod dashboard;
pub mod docs;
pub mod evaluate;
pub mod explain;
pub mod fleet;
pub mod history;
pub mod interop;
pub mod lint;
pub mod mark;
pub mod score;

use crate::cli::{Cli, Command};
pub use crate::ui::{Exit, Ui, stderr, stdout};

/// Flags that clap refused, for `gate` and `eval`: the pipeline still learns the outcome
/// (`invalid`) from its variables and one annotation, as for any other invalid input.
pub fn refused_flags(subcommand: Option<&str>, cause: &str) {
    if !matches!(subcommand, Some("gate" | "eval")) {
        return;
    }
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let ci = crate::ci::detect(&env);
    if ci.is_some() {
        let _ =
            crate::pipeline::emit::stopped(crate::eval::Verdict::Invalid, cause, None, ci, &env);
    }
}

pub fn run(cli: Cli) -> Exit {
    if cli.verbose {
        crate::verbose::enable();
    }
    let ui = Ui::new(cli.color);
    match cli.command {
        Command::Score(args) => score::run(&args, &ui),
        Command::Lint(args) => lint::run(&args, &ui),
        Command::Config(args) => config::run(&args, &ui),
        Command::Eval(args) => evaluate::run_eval(&args, &ui),
        Command::Gate(args) => evaluate::run_gate(&args, &ui),
        Command::Explain(args) => explain::run(&args, &ui),
        Command::Mark(args) => mark::run(&args, &ui),
        Command::Dashboard(args) => dashboard::run(&args, &ui),
        Command::History(args) => history::run(&args, &ui),
        Command::Import(args) => interop::import(&args, &ui),
        Command::Export(args) => interop::export(&args, &ui),
        Command::Fleet(crate::cli::FleetCommand::Merge(args)) => fleet::merge(&args, &ui),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args, &ui),
    }
}
