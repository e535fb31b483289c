//! Evaluation windows: parsing `--from/--to/--timeframe`, and how long to wait for data to settle.
//!
//! Pure: "now" is always an argument.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Dynatrace metrics are eventually consistent; Keptn waited until a window's end was this old.
pub const DEFAULT_SETTLE_SECS: i64 = 120;

/// An evaluation window, whole seconds (Keptn drops sub-second parts).
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

    pub fn as_query_window(&self) -> crate::query::Window {
        crate::query::Window {
            from_ms: self.from.timestamp() * 1000,
            to_ms: self.to.timestamp() * 1000,
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
    Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
}

/// RFC 3339 with seconds and `Z`, the form reports use.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a duration: `90s`, `30m`, `2h`, `1d`, `1w`, combinations such as `1h30m`, or plain
/// seconds (`120`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("`{s}` is not a duration; write e.g. 30s, 15m, 2h, 1d or 1h30m");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<i64>() {
        return if secs >= 0 {
            Ok(Duration::seconds(secs))
        } else {
            Err(bad())
        };
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().map_err(|_| bad())?;
        number.clear();
        let unit = match c {
            's' => Duration::seconds(1),
            'm' => Duration::minutes(1),
            'h' => Duration::hours(1),
            'd' => Duration::days(1),
            'w' => Duration::weeks(1),
            _ => return Err(bad()),
        };
        total += unit * i32::try_from(n).map_err(|_| bad())?;
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
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
        let d = parse_duration(d).map_err(|_| bad())?;
        return Ok(if sign < 0 { now - d } else { now + d });
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        let ms: i64 = s.parse().map_err(|_| bad())?;
        return Utc.timestamp_millis_opt(ms).single().ok_or_else(bad);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    // RFC 3339 without seconds, e.g. 2026-11-17T10:00Z or 2026-11-17T10:00+01:00.
    for fmt in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M%:z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Ok(t.with_timezone(&Utc));
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
            return Ok(Utc.from_utc_datetime(&t));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).ok_or_else(bad)?));
    }
    Err(bad())
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
            (t - l, t)
        }
        (Some(f), None, Some(l)) => (f, f + l),
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
    TimeWindow::new(from, to)
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
        assert_eq!(parse_duration("120").unwrap(), Duration::seconds(120));
        assert_eq!(parse_duration("0s").unwrap(), Duration::zero());
        for bad in ["", "m", "30x", "-5", "1.5h", "30m5"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
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
        // sub-second parts are dropped, as Keptn sends whole seconds
        let w = resolve(
            Some("2026-11-17T10:00:00.900Z"),
            Some("2026-11-17T10:00:01.100Z"),
            None,
            now,
        )
        .unwrap();
        assert_eq!(w.as_query_window().from_ms % 1000, 0);
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
