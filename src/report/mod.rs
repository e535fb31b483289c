//! Reports: one pure renderer per format, all from the same [`Report`].

pub mod annotations;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod text;

pub use json::Report;
