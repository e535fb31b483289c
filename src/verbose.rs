//! `--verbose` (`-v`): what slogate did on the way to its answer, on stderr: each HTTP request
//! sent (method, path and query, status, time taken) and each step it left out, with why.
//!
//! A process-wide switch rather than a parameter threaded through every layer: it changes no
//! result, only what is written to stderr, and the HTTP layer that sends the requests sits far
//! below the commands that read the flag. Every line goes through `ui::stderr`, which hides the
//! registered tokens; the request line is scrubbed of the client's own secrets before that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ON: AtomicBool = AtomicBool::new(false);

/// Turns the notes on for the rest of the process (`--verbose`).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Writes `slogate: <text>` on stderr when `--verbose` is on; the text is built only then.
pub fn note(text: impl FnOnce() -> String) {
    if on() {
        crate::ui::stderr(&format!("slogate: {}\n", text()));
    }
}

/// A step left out: `skipped <what>: <why>`.
pub fn skipped(what: &str, why: &str) {
    note(|| format!("skipped {what}: {why}"));
}

/// How one attempt at a request ended.
pub enum Outcome<'a> {
    Status(u16),
    /// No answer: the transport error in words.
    Failed(&'a str),
}

/// The line for one attempt at a request: `GET /api/v2/metrics/query?… -> 200 (42 ms)`. The
/// path and query are shown decoded ([`readable`]); `retry` says when the next attempt follows.
pub fn request_line(
    method: &str,
    path_and_query: &str,
    outcome: &Outcome<'_>,
    took: Duration,
    retry: Option<Duration>,
) -> String {
    let answer = match outcome {
        Outcome::Status(s) => s.to_string(),
        Outcome::Failed(why) => format!("no answer ({why})"),
    };
    let mut line = format!(
        "{method} {} -> {answer} ({})",
        readable(path_and_query),
        millis(took)
    );
    if let Some(d) = retry {
        line.push_str(&format!("; retrying in {}", millis(d)));
    }
    line
}

/// A percent-encoded path and query as a person reads it: `type%28SERVICE%29` as
/// `type(SERVICE)`. Escapes that would change how the query splits (`&`, `=`, `+`, `#`, `%`)
/// and control characters stay encoded.
pub fn readable(encoded: &str) -> String {
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| encoded.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| !matches!(b, b'&' | b'=' | b'+' | b'#' | b'%') && !b.is_ascii_control());
        match decoded {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn millis(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 10_000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_decodes_all_but_what_splits_the_query() {
        assert_eq!(
            readable(
                "/e?entitySelector=type%28SERVICE%29%2Ctag%28a%3Ab%29&x=%26%3D%2B%25%0A%C3%A9%zz%4"
            ),
            "/e?entitySelector=type(SERVICE),tag(a:b)&x=%26%3D%2B%25%0Aé%zz%4"
        );
    }

    #[test]
    fn a_request_line_names_method_path_status_and_time() {
        assert_eq!(
            request_line(
                "GET",
                "/api/v2/metrics/query?metricSelector=builtin%3Aservice.response.time",
                &Outcome::Status(200),
                Duration::from_millis(42),
                None
            ),
            "GET /api/v2/metrics/query?metricSelector=builtin:service.response.time -> 200 (42 ms)"
        );
        assert_eq!(
            request_line(
                "POST",
                "/api/v1/query",
                &Outcome::Status(429),
                Duration::from_millis(12_345),
                Some(Duration::from_millis(1500))
            ),
            "POST /api/v1/query -> 429 (12.3 s); retrying in 1500 ms"
        );
        assert_eq!(
            request_line(
                "GET",
                "/x",
                &Outcome::Failed("connection refused"),
                Duration::from_millis(3),
                None
            ),
            "GET /x -> no answer (connection refused) (3 ms)"
        );
    }
}
