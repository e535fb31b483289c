//! Evaluation windows: parsing `--from/--to/--timeframe`, and how long to wait for data to settle.
//!
//! Pure: "now" is always an argument.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Dynatrace metrics are eventually consistent; Keptn waited until a window's end was this old.
pub const DEFAULT_SETTLE_SECS: i64 = 120;

/// An evaluation window, to the millisecond. Dynatrace is asked in whole seconds (Keptn's
/// dynatrace-service dropped sub-second parts: [`TimeWindow::as_query_window`]); Prometheus with
/// the milliseconds, as prometheus-service sent them ([`TimeWindow::as_precise_window`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl TimeWindow {
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, String> {
        let from = truncate(from);
        let to = truncate(to);
        if from > to {
            return Err(format!(
                "the window starts ({}) after it ends ({})",
                rfc3339(from),
                rfc3339(to)
            ));
        }
        Ok(TimeWindow { from, to })
    }

    /// Whole seconds, as Keptn's dynatrace-service sent them.
    pub fn as_query_window(&self) -> crate::query::Window {
        crate::query::Window {
            from_ms: self.from.timestamp() * 1000,
            to_ms: self.to.timestamp() * 1000,
        }
    }

    /// With the milliseconds.
    pub fn as_precise_window(&self) -> crate::query::Window {
        crate::query::Window {
            from_ms: self.from.timestamp_millis(),
            to_ms: self.to.timestamp_millis(),
        }
    }

    pub fn length(&self) -> Duration {
        self.to - self.from
    }

    /// How long to wait before the window's data has settled: `settle − (now − to)`, at least 0.
    pub fn settle_wait(&self, now: DateTime<Utc>, settle: Duration) -> Duration {
        let age = now - self.to;
        (settle - age).max(Duration::zero())
    }
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t.timestamp_millis())
        .single()
        .unwrap_or(t)
}

/// RFC 3339 with seconds and `Z`, the form reports use.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The longest duration any flag accepts: ten years (3660 days), past any data retention of
/// Dynatrace; with times limited to years 1970–9999 no sum or difference of them can overflow.
pub const MAX_DURATION_SECS: i64 = 3660 * 86_400;

/// The first and last instant a time may name: 1970-01-01 and the end of year 9999.
pub const MIN_TIME_MS: i64 = 0;
pub const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Dynatrace metrics have a resolution of one minute: a shorter window holds no data point.
pub const MIN_WINDOW_SECS: i64 = 60;

/// Parses a duration: `90s`, `30m`, `2h`, `1d`, `1w`, or combinations such as `1h30m`; at most
/// `MAX_DURATION_SECS`. A number needs its unit (`30` could mean seconds or minutes), except `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration; write e.g. 30s, 15m, 2h, 1d or 1h30m");
    let too_long = || {
        format!(
            "`{s}` is longer than the {} {TOO_LONG}",
            MAX_DURATION_SECS / 86_400
        )
    };
    if s.is_empty() {
        return Err(bad());
    }
    if s == "0" {
        return Ok(Duration::zero());
    }
    if s.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("`{s}` has no unit; write {s}m or {s}s"));
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        if number.is_empty() {
            return Err(bad());
        }
        // Too many digits for an i64 is too long, not malformed.
        let n: i64 = number.parse().map_err(|_| too_long())?;
        number.clear();
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .filter(|t| *t <= MAX_DURATION_SECS)
            .ok_or_else(too_long)?;
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(Duration::seconds(total))
}

/// `parse_duration` within `[min, max]` seconds, naming the flag and the allowed range.
pub fn parse_duration_in(s: &str, flag: &str, min: i64, max: i64) -> Result<Duration, String> {
    let out_of_range = || {
        format!(
            "--{flag} {} is out of range: allowed {} to {}",
            s.trim(),
            human(min),
            human(max)
        )
    };
    match parse_duration(s) {
        Ok(d) if (min..=max).contains(&d.num_seconds()) => Ok(d),
        Ok(_) => Err(out_of_range()),
        // Longer than any duration: say the flag's own range rather than the global limit.
        Err(e) if e.contains(TOO_LONG) => Err(out_of_range()),
        Err(e) => Err(e),
    }
}

const TOO_LONG: &str = "days a duration may be";

/// Seconds in the largest whole unit: `0s`, `90s`, `1m`, `7d`.
pub fn human(secs: i64) -> String {
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs != 0 && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

fn in_time_range(t: DateTime<Utc>, s: &str) -> Result<DateTime<Utc>, String> {
    let ms = t.timestamp_millis();
    if (MIN_TIME_MS..=MAX_TIME_MS).contains(&ms) {
        Ok(t)
    } else {
        Err(format!(
            "`{s}` is outside the times slogate accepts (1970-01-01 to 9999-12-31)"
        ))
    }
}

/// Parses a point in time: RFC 3339 (seconds optional, `Z` or an offset; no zone means UTC),
/// a date alone (midnight UTC), epoch milliseconds, `now`, or `now-30m` / `now+5m`.
pub fn parse_time(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "`{s}` is not a time; write RFC 3339 (2026-11-17T10:00:00Z), epoch milliseconds, `now` or `now-30m`"
        )
    };
    if s == "now" {
        return Ok(now);
    }
    if let Some(rest) = s.strip_prefix("now") {
        let (sign, d) = match rest.chars().next() {
            Some('-') => (-1, &rest[1..]),
            Some('+') => (1, &rest[1..]),
            _ => return Err(bad()),
        };
        let d = parse_duration(d).map_err(|m| format!("{m} (in `{s}`)"))?;
        let t = if sign < 0 {
            now.checked_sub_signed(d)
        } else {
            now.checked_add_signed(d)
        };
        return in_time_range(t.ok_or_else(bad)?, s);
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let ms: i64 = s.parse().map_err(|_| bad())?;
        return in_time_range(Utc.timestamp_millis_opt(ms).single().ok_or_else(bad)?, s);
    }
    in_time_range(parse_absolute(s).ok_or_else(bad)?, s)
}

/// The calendar forms of `parse_time`.
fn parse_absolute(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // RFC 3339 without seconds, e.g. 2026-11-17T10:00Z or 2026-11-17T10:00+01:00.
    for fmt in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let zless = s.strip_suffix('Z').unwrap_or(s);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(zless, fmt) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?))
}

/// The window from the flags: `--from` and `--to`, or `--timeframe` ending at `--to` (or now),
/// or `--timeframe` starting at `--from`.
pub fn resolve(
    from: Option<&str>,
    to: Option<&str>,
    timeframe: Option<&str>,
    now: DateTime<Utc>,
) -> Result<TimeWindow, String> {
    let to_t = to.map(|t| parse_time(t, now)).transpose()?;
    let from_t = from.map(|t| parse_time(t, now)).transpose()?;
    let length = timeframe.map(parse_duration).transpose()?;
    let (from, to) = match (from_t, to_t, length) {
        (Some(_), Some(_), Some(_)) => {
            return Err("give two of --from, --to and --timeframe, not all three".into());
        }
        (Some(f), Some(t), None) => (f, t),
        (None, t, Some(l)) => {
            let t = t.unwrap_or(now);
            let f = t
                .checked_sub_signed(l)
                .ok_or("--timeframe reaches before year 1970")?;
            (in_time_range(f, "--to minus --timeframe")?, t)
        }
        (Some(f), None, Some(l)) => {
            let t = f
                .checked_add_signed(l)
                .ok_or("--timeframe reaches past year 9999")?;
            (f, in_time_range(t, "--from plus --timeframe")?)
        }
        (Some(f), None, None) => (f, now),
        (None, _, None) => {
            return Err(
                "say which window to evaluate: --from and --to, or --timeframe (e.g. 30m)".into(),
            );
        }
    };
    if to > now {
        return Err(format!(
            "the window ends in the future ({}); evaluate windows that have ended",
            rfc3339(to)
        ));
    }
    let w = TimeWindow::new(from, to)?;
    // In whole seconds, as Dynatrace is asked (sub-second parts dropped).
    let whole = w.to.timestamp() - w.from.timestamp();
    if whole < MIN_WINDOW_SECS {
        return Err(format!(
            "the window is {} long, shorter than the 1-minute resolution of Dynatrace metrics: it holds no data point; evaluate at least 1m",
            human(whole)
        ));
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m").unwrap(), Duration::minutes(30));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration("0s").unwrap(), Duration::zero());
        assert_eq!(parse_duration("0").unwrap(), Duration::zero());
        for bad in ["", "m", "30x", "-5", "1.5h", "30m5", "h30m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_duration_needs_a_unit() {
        assert_eq!(
            parse_duration("30").unwrap_err(),
            "`30` has no unit; write 30m or 30s"
        );
        assert!(parse_duration("120").is_err());
    }

    #[test]
    fn durations_are_bounded_never_overflowing() {
        assert_eq!(parse_duration("3660d").unwrap(), Duration::days(3660));
        for huge in [
            "9223372036854775807",
            "9223372036854775807s",
            "2147483647w",
            "106751991d",
            "99999999999999999999999s",
            "3661d",
            "3660d1s",
            "1s9223372036854775807w",
        ] {
            let e = parse_duration(huge).unwrap_err();
            assert!(
                e.contains("3660 days") || e.contains("no unit"),
                "{huge}: {e}"
            );
        }
        let e = parse_duration_in("2147483647w", "settle", 0, 86_400).unwrap_err();
        assert_eq!(e, "--settle 2147483647w is out of range: allowed 0s to 1d");
        let e = parse_duration_in("30", "settle", 0, 86_400).unwrap_err();
        assert!(e.contains("no unit"), "{e}");
        let e = parse_duration_in("2d", "settle", 0, 86_400).unwrap_err();
        assert_eq!(e, "--settle 2d is out of range: allowed 0s to 1d");
        assert_eq!(human(90), "90s");
        assert_eq!(human(7_200), "2h");
    }

    #[test]
    fn times_are_bounded_never_overflowing() {
        let now = t("2026-11-21T12:00:00Z");
        for bad in [
            "now-106751991d",
            "now+21474836473685",
            "now-2147483647w",
            "now+3661d",
            "99999999999999999",
            "9223372036854775807",
            "10000-01-01T00:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
        assert!(parse_time("now-3000d", now).is_ok());
        assert!(parse_time("253402300799999", now).is_ok());
    }

    #[test]
    fn windows_shorter_than_the_resolution_are_refused() {
        let now = t("2026-11-21T12:00:00Z");
        let e = resolve(Some("now-30s"), Some("now"), None, now).unwrap_err();
        assert!(e.contains("1-minute resolution"), "{e}");
        assert!(resolve(None, None, Some("59s"), now).is_err());
        assert!(resolve(None, None, Some("1m"), now).is_ok());
        // The window edges stay within the accepted years.
        assert!(resolve(None, Some("1970-01-02T00:00:00Z"), Some("2d"), now).is_err());
    }

    #[test]
    fn times() {
        let now = t("2026-11-21T12:00:00Z");
        assert_eq!(parse_time("now", now).unwrap(), now);
        assert_eq!(
            parse_time("now-30m", now).unwrap(),
            t("2026-11-21T11:30:00Z")
        );
        assert_eq!(
            parse_time("2026-11-17T10:00:00Z", now).unwrap(),
            t("2026-11-17T10:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-17T10:00Z", now).unwrap(),
            t("2026-11-17T10:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-17T11:00+01:00", now).unwrap(),
            t("2026-11-17T10:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-17T10:00:00", now).unwrap(),
            t("2026-11-17T10:00:00Z")
        );
        assert_eq!(
            parse_time("2026-11-17", now).unwrap(),
            t("2026-11-17T00:00:00Z")
        );
        assert_eq!(
            parse_time("1664323200000", now).unwrap(),
            t("2022-09-28T00:00:00Z")
        );
        for bad in ["", "yesterday", "now-", "now*5m", "2026-13-01T00:00:00Z"] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows() {
        let now = t("2026-11-21T12:00:00Z");
        let w = resolve(None, None, Some("30m"), now).unwrap();
        assert_eq!((w.from, w.to), (t("2026-11-21T11:30:00Z"), now));
        let w = resolve(
            Some("2026-11-17T10:00Z"),
            Some("2026-11-17T11:00Z"),
            None,
            now,
        )
        .unwrap();
        assert_eq!(w.length(), Duration::hours(1));
        let w = resolve(Some("2026-11-17T10:00Z"), None, Some("15m"), now).unwrap();
        assert_eq!(w.to, t("2026-11-17T10:15:00Z"));
        assert!(resolve(None, None, None, now).is_err());
        assert!(resolve(Some("now-1h"), Some("now"), Some("1h"), now).is_err());
        assert!(resolve(Some("now"), Some("now-1h"), None, now).is_err());
        assert!(resolve(None, Some("now+5m"), Some("1h"), now).is_err());
        // sub-second parts are dropped for Dynatrace, as Keptn sent whole seconds; Prometheus
        // gets them
        let w = resolve(
            Some("2026-11-17T10:00:00.900Z"),
            Some("2026-11-17T10:01:00.100Z"),
            None,
            now,
        )
        .unwrap();
        assert_eq!(w.as_query_window().from_ms % 1000, 0);
        assert_eq!(w.as_precise_window().from_ms % 1000, 900);
        assert_eq!(w.as_precise_window().to_ms % 1000, 100);
    }

    #[test]
    fn settle() {
        let w = TimeWindow::new(t("2026-11-21T11:00:00Z"), t("2026-11-21T12:00:00Z")).unwrap();
        let settle = Duration::seconds(120);
        assert_eq!(
            w.settle_wait(t("2026-11-21T12:00:00Z"), settle),
            Duration::seconds(120)
        );
        assert_eq!(
            w.settle_wait(t("2026-11-21T12:01:30Z"), settle),
            Duration::seconds(30)
        );
        assert_eq!(
            w.settle_wait(t("2026-11-21T13:00:00Z"), settle),
            Duration::zero()
        );
    }
}
