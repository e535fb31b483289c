//! What every command shares on the way out: exit codes, diagnostics and writing to the
//! terminal (tokens hidden).

use std::io::{IsTerminal, Write};

use crate::cli::Color;
use crate::diag::{self, Problem};

/// Process exit codes, shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Pass (and warning unless told otherwise).
    Pass = 0,
    /// The objectives say the release is worse.
    Fail = 1,
    /// Usage, config or SLO files are wrong; nothing was fetched.
    Invalid = 2,
    /// A data source could not be reached or refused.
    CouldNotEvaluate = 3,
}

impl Exit {
    /// The exit code of an outcome: 0 pass (and warning, unless `--fail-on warning`), 1 fail,
    /// 2 invalid, 3 error (could not evaluate).
    pub fn of(result: crate::eval::Verdict, fail_on: crate::cli::FailOn) -> Exit {
        use crate::eval::Verdict;
        match result {
            Verdict::Pass => Exit::Pass,
            Verdict::Warning if fail_on == crate::cli::FailOn::Warning => Exit::Fail,
            Verdict::Warning => Exit::Pass,
            Verdict::Fail => Exit::Fail,
            Verdict::Error => Exit::CouldNotEvaluate,
            Verdict::Invalid => Exit::Invalid,
        }
    }
}

/// Output settings shared by commands.
pub struct Ui {
    pub color: bool,
    pub width: usize,
    /// Diagnostics already shown once (a fleet's environments share the files): not again.
    pub quiet: bool,
}

impl Ui {
    pub fn new(color: Color) -> Self {
        let color = match color {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Ui {
            color,
            width: 100,
            quiet: false,
        }
    }

    /// Prints diagnostics on stderr.
    pub fn problems(&self, problems: &[Problem]) {
        if problems.is_empty() || self.quiet {
            return;
        }
        let mut sorted = problems.to_vec();
        diag::sort(&mut sorted);
        let text = diag::render(&sorted, self.color, self.width);
        if self.color {
            let text = crate::source::secret::redact(&text);
            write_err(&crate::report::sanitize::guard_keeping_colour(&text));
        } else {
            stderr(&text);
        }
    }
}

/// Writes to stderr; a closed pipe is ignored as on stdout. Tokens are hidden
/// (`secret::redact`), whatever path they took into the text, and no line can be read as a CI
/// logging command (`sanitize::guard`).
pub fn stderr(text: &str) {
    let text = crate::source::secret::redact(text);
    write_err(&crate::report::sanitize::guard(&text));
}

/// Writes to stderr as it is but for the tokens: for the countdown on a terminal, whose `\r`
/// redraws the line. Never for text that holds anything foreign.
pub fn stderr_terminal(text: &str) {
    write_err(&crate::source::secret::redact(text));
}

fn write_err(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|_| err.flush());
}

/// Writes to stdout; a closed pipe (`slogate ... | head`) is not an error. Tokens are hidden,
/// and no line can be read as a CI logging command.
pub fn stdout(text: &str) {
    let text = crate::source::secret::redact(text);
    write_out(&crate::report::sanitize::guard(&text));
}

/// slogate's own CI logging commands (`##vso[…]`, `::error …`), the only ones that pass: each
/// line was built by `report::annotations`, which escapes what it carries by the CI's rules.
pub fn ci_commands(lines: &str) {
    debug_assert!(
        lines
            .lines()
            .all(|l| l.starts_with("##vso[") || l.starts_with("::")),
        "not a logging command: {lines}"
    );
    write_out(&crate::source::secret::redact(lines));
}

fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}
