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

/// Objectives that passed (or are informational) but carry notes worth showing, e.g. a relative
/// criterion that passed without a baseline. Failing and warning ones show their notes inline.
pub(crate) fn noted(
    results: &[crate::eval::IndicatorResult],
) -> Vec<&crate::eval::IndicatorResult> {
    results
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                crate::eval::Status::Pass | crate::eval::Status::Info
            ) && !r.notes.is_empty()
        })
        .collect()
}
