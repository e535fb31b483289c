//! `dtsim`: a Dynatrace Environment API simulator for slogate's tests.
//!
//! It serves the classic environment API v2 (metrics, events, SLOs, problems, security
//! problems, entities), the platform-prefixed copy of it, the DQL query API and the USQL table
//! endpoint from a JSON [`Scenario`], with deterministic synthetic metric data, regressions,
//! gaps and injectable faults. See `tools/dtsim/README.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sc = dtsim::scenario_from_json(r#"{"tokens":[{"token":"t","scopes":["metrics.read"]}]}"#)
//!     .expect("valid scenario");
//! let sim = dtsim::Sim::start(sc).await?;
//! println!("{}", sim.url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod common;
pub mod dql;
pub mod entities;
pub mod environments;
pub mod events;
pub mod faults;
pub mod lenient;
pub mod metrics;
pub mod problems;
pub mod scenario;
pub mod selector;
pub mod server;
pub mod slo;
pub mod time;
pub mod traffic;

pub use faults::{FailPath, Faults};
pub use scenario::{Scenario, scenario_from_json};
pub use server::{BlockingSim, EnvStats, RecordedRequest, Sim, start_blocking};
