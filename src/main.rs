use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = slogate::cli::Cli::parse();
    let code = slogate::commands::run(cli);
    ExitCode::from(code as u8)
}
