//! The request of a Prometheus SLI for one window, pure (prometheus-service 0.9.1, reference
//! §4): the instant query at the window's end with `$DURATION_SECONDS` filled. The source
//! (`source::prometheus`) sends it; `explain` and reports show it.

use crate::query::Window;

/// The placeholder filled last, per window: the window's length in seconds.
pub const DURATION: &str = "$DURATION_SECONDS";

pub const QUERY_PATH: &str = "/api/v1/query";
/// `$DURATION_SECONDS`: the window's length in seconds, rounded up, with an `s`.
pub fn duration(window: Window) -> String {
    let ms = (window.to_ms - window.from_ms).max(0);
    format!("{}s", (ms + 999) / 1000)
}

/// A query text for one window: `$DURATION_SECONDS` filled (upstream's last replacement).
pub fn fill_duration(template: &str, window: Window) -> String {
    template.replace(DURATION, &duration(window))
}

/// Unix seconds as Go's `FormatFloat(s, 'f', -1)` writes them: `1664361000`, `1649255779.667`.
pub fn unix_seconds(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        secs.to_string()
    } else {
        let f = format!("{frac:03}");
        format!("{secs}.{}", f.trim_end_matches('0'))
    }
}

/// The form of the instant query at the window's end.
pub fn instant_form(query: &str, window: Window) -> Vec<(String, String)> {
    vec![
        ("query".into(), query.to_string()),
        ("time".into(), unix_seconds(window.to_ms)),
    ]
}
