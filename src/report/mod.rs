//! Reports: one pure renderer per format, all from the same [`Report`].

pub mod annotations;
pub(crate) mod context;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod release_dashboard;
pub mod sanitize;
pub mod text;

pub use json::Report;

/// The report as people read it, for every renderer but JSON: foreign text made safe
/// ([`sanitize::report`]) and the long decimals in Keptn's messages and criteria rounded to 4
/// significant digits (`the calculated score of 66.67`). The JSON report keeps exact values.
pub fn for_people(r: &Report) -> Report {
    let mut r = sanitize::report(r);
    let round = markdown::round_numbers;
    let e = &mut r.evaluation;
    e.message = round(&e.message);
    for i in &mut e.indicator_results {
        i.value.message = round(&i.value.message);
        for t in i
            .pass_targets
            .iter_mut()
            .chain(i.warning_targets.iter_mut())
            .flatten()
        {
            t.criteria = round(&t.criteria);
        }
        for n in &mut i.notes {
            *n = round(n);
        }
    }
    r
}

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

/// Objectives the statistical judge held inconclusive: the change
/// is worse than before but not shown to be beyond it (or too little data): a warning.
pub(crate) fn inconclusive(results: &[crate::eval::IndicatorResult]) -> usize {
    results.iter().filter(|r| r.is_inconclusive()).count()
}

/// "1 objective inconclusive", for headlines; `None` when the judge held none so.
pub(crate) fn inconclusive_headline(results: &[crate::eval::IndicatorResult]) -> Option<String> {
    match inconclusive(results) {
        0 => None,
        1 => Some("1 objective inconclusive".into()),
        n => Some(format!("{n} objectives inconclusive")),
    }
}

/// The statistical judge's line per objective, in SLO order: its summary when it judged the
/// objective, else `NAME: not judged: why`.
pub(crate) fn judge_lines(results: &[crate::eval::IndicatorResult]) -> Vec<String> {
    results
        .iter()
        .filter_map(|r| match (&r.judge, &r.not_judged) {
            (Some(j), _) if !j.summary.is_empty() => Some(j.summary.clone()),
            (None, Some(why)) => Some(not_judged_line(r, why)),
            _ => None,
        })
        .collect()
}

/// `Error rate (%): not judged: why`.
pub(crate) fn not_judged_line(r: &crate::eval::IndicatorResult, why: &str) -> String {
    let name = if r.display_name.is_empty() {
        &r.value.metric
    } else {
        &r.display_name
    };
    format!("{name}: not judged: {why}")
}

/// "statistical judge, 95 % intervals" when any objective was judged; "statistical judge" when
/// it ran but judged none.
pub(crate) fn judge_heading(results: &[crate::eval::IndicatorResult]) -> Option<String> {
    let Some(j) = results.iter().find_map(|r| r.judge.as_ref()) else {
        return results
            .iter()
            .any(|r| r.not_judged.is_some())
            .then(|| "statistical judge (no objective judged)".to_string());
    };
    Some(format!(
        "statistical judge, {} % intervals",
        crate::eval::gofmt::go_v(j.confidence * 100.0)
    ))
}
