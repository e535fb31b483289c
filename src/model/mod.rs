//! The files users write: `sli.yaml`, `slo.yaml`, `slogate.yaml`; how they are read, merged
//! across levels and checked.

pub mod criteria;
pub mod layout;
pub mod lint;
pub mod load;
pub mod placeholder;
pub mod read;
#[cfg(test)]
mod schema;
pub mod settings;
pub mod sli;
pub mod slo;
pub mod sources;
pub mod yaml;
