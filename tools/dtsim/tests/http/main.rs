//! HTTP-level tests of the simulator (one test binary).

mod auth_time;
mod client;
mod dql;
mod environments;
mod events;
mod faults;
mod metrics;
mod process;
mod slo_problems;
