//! Integration tests of the `slogate` binary: one test binary (`cargo test --test cli`), a fluent
//! runner in `support`, fixtures in `tests/fixtures/`, insta snapshots in `tests/cli/snapshots/`.
//!
//! Write new snapshots with `INSTA_UPDATE=always cargo test --test cli`, then read every one.

mod support;

mod anchoring;
mod bad_input;
mod budget;
mod canary;
mod config;
mod config_errors;
mod context;
mod dashboard;
mod docs;
mod dynatrace;
mod dynatrace_forms;
mod fleet;
mod history;
mod history_gate;
mod history_page;
mod hostile;
mod injection;
mod interop;
mod judge;
mod lint;
mod newcomer;
mod odd_answers;
mod outcomes;
mod pipeline;
mod progressive;
mod prom_server;
mod prometheus;
mod rates;
mod release_dashboard;
mod score;
mod services;
