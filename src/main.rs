use std::process::ExitCode;

use clap::FromArgMatches;

fn main() -> ExitCode {
    slogate::shell::few_malloc_arenas();
    // `cli::command()`: the derived flags plus each command's environment in its help.
    let parsed = slogate::cli::command()
        .try_get_matches()
        .and_then(|m| slogate::cli::Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                // The first line of clap's message is the cause; the rest is usage.
                let text = e.render().to_string();
                let cause = text
                    .lines()
                    .next()
                    .unwrap_or("invalid flags")
                    .trim_start_matches("error: ")
                    .to_string();
                let sub = std::env::args()
                    .skip(1)
                    .find(|a| a == "gate" || a == "eval");
                slogate::commands::refused_flags(sub.as_deref(), &cause);
            }
            e.exit();
        }
    };
    slogate::shell::exit_130_on_interrupt();
    let code = slogate::commands::run(cli);
    ExitCode::from(code as u8)
}
