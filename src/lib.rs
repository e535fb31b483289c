//! slogate: Keptn-compatible SLO evaluation for release pipelines.
//!
//! The core (`model`, `query`, `judge`, `eval`, `report`) is pure; `commands` is the IO shell around it.

// `Problem` is large, but it is built only on the error path where its size costs nothing, and
// boxing it would obscure every constructor.
#![allow(clippy::result_large_err)]

pub mod ci;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod context;
pub mod dashboard;
pub mod diag;
pub mod eval;
pub mod event;
pub mod fleet;
#[doc(hidden)]
pub mod fuzzing;
pub mod hint;
pub mod history;
pub mod input;
pub mod interop;
pub mod judge;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod query;
pub mod report;
pub mod shell;
pub mod source;
pub mod ui;
pub mod verbose;
pub mod window;
