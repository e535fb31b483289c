//! slogate: Keptn-compatible SLO evaluation for release pipelines.
//!
//! The core (`spec`, `eval`, `report`) is pure; `commands` is the IO shell around it.

pub mod cli;
pub mod commands;
pub mod diag;
pub mod eval;
pub mod input;
pub mod report;
pub mod spec;
