//! Data sources: the HTTP layer shared by all, and the Dynatrace source.

pub mod dynatrace;
pub mod entities;
pub mod events;
pub mod http;
pub mod preflight;
pub mod prometheus;
pub mod retry;
pub mod secret;
