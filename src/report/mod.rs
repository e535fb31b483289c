//! Reports: one pure renderer per format, all from the same [`Report`].

pub mod json;
pub mod text;

pub use json::Report;
