//! Time parameters (§2): epoch milliseconds, ISO 8601 and `now[-NU][/A]`.

use chrono::{Datelike, Months, NaiveDate, TimeZone, Utc};

use crate::common::{ApiError, Params};

pub const SECOND: i64 = 1_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
pub const WEEK: i64 = 7 * DAY;

/// The real clock in epoch milliseconds.
pub fn real_now() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_millis() as i64
}

/// Parses any of the three forms.
pub fn parse_time(s: &str, now: i64) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Some(rest) = t.strip_prefix("now") {
        return parse_relative(rest, now).ok_or_else(|| format!("invalid relative time '{t}'"));
    }
    parse_absolute(t)
}

/// Epoch milliseconds or ISO 8601.
pub fn parse_absolute(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<i64>()
            .map_err(|_| format!("invalid epoch milliseconds '{t}'"));
    }
    parse_iso(t).ok_or_else(|| format!("invalid timestamp '{t}'"))
}

fn parse_relative(rest: &str, now: i64) -> Option<i64> {
    let b = rest.as_bytes();
    let mut i = 0;
    let mut t = now;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        let neg = b[i] == b'-';
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i || i >= b.len() {
            return None;
        }
        let n: i64 = rest[start..i].parse().ok()?;
        let unit = b[i] as char;
        i += 1;
        t = shift(t, if neg { -n } else { n }, unit)?;
    }
    if i < b.len() && b[i] == b'/' {
        i += 1;
        if i >= b.len() {
            return None;
        }
        t = align(t, b[i] as char)?;
        i += 1;
    }
    if i != b.len() {
        return None;
    }
    Some(t)
}

/// Adds `n` units (m h d w M y) to `t`.
pub fn shift(t: i64, n: i64, unit: char) -> Option<i64> {
    let fixed = match unit {
        'm' => MINUTE,
        'h' => HOUR,
        'd' => DAY,
        'w' => WEEK,
        'M' => return shift_months(t, n),
        'y' => return shift_months(t, n.checked_mul(12)?),
        _ => return None,
    };
    t.checked_add(n.checked_mul(fixed)?)
}

fn shift_months(t: i64, n: i64) -> Option<i64> {
    let dt = Utc.timestamp_millis_opt(t).single()?;
    let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    let out = if n < 0 {
        dt.checked_sub_months(months)?
    } else {
        dt.checked_add_months(months)?
    };
    Some(out.timestamp_millis())
}

/// Aligns `t` down to the start of its minute/hour/day/week (Monday)/month/year, UTC.
pub fn align(t: i64, unit: char) -> Option<i64> {
    match unit {
        'm' => Some(t.div_euclid(MINUTE) * MINUTE),
        'h' => Some(t.div_euclid(HOUR) * HOUR),
        'd' => Some(t.div_euclid(DAY) * DAY),
        'w' => {
            let days = t.div_euclid(DAY);
            // 1970-01-01 was a Thursday (index 3 with Monday = 0).
            Some((days - (days + 3).rem_euclid(7)) * DAY)
        }
        'M' | 'y' => {
            let dt = Utc.timestamp_millis_opt(t).single()?;
            let month = if unit == 'M' { dt.month() } else { 1 };
            let d = NaiveDate::from_ymd_opt(dt.year(), month, 1)?;
            Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
        }
        _ => None,
    }
}

fn digits(b: &[u8], i: &mut usize, n: usize) -> Option<u32> {
    if *i + n > b.len() {
        return None;
    }
    let s = &b[*i..*i + n];
    if !s.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    *i += n;
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    if *i < b.len() && b[*i] == c {
        *i += 1;
        Some(())
    } else {
        None
    }
}

/// `YYYY-MM-DD[(T| )HH:MM[:SS[.f…]]][Z|±HH[:MM]]`; no zone means UTC. A space before the
/// offset digits is read as `+` (an unencoded `+` in a query string decodes to a space).
pub fn parse_iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    let year = digits(b, &mut i, 4)? as i32;
    expect(b, &mut i, b'-')?;
    let month = digits(b, &mut i, 2)?;
    expect(b, &mut i, b'-')?;
    let day = digits(b, &mut i, 2)?;
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let (mut hh, mut mm, mut ss, mut ms) = (0, 0, 0, 0u32);
    if i < b.len() && matches!(b[i], b'T' | b't' | b' ') {
        i += 1;
        hh = digits(b, &mut i, 2)?;
        expect(b, &mut i, b':')?;
        mm = digits(b, &mut i, 2)?;
        if i < b.len() && b[i] == b':' {
            i += 1;
            ss = digits(b, &mut i, 2)?;
            if i < b.len() && (b[i] == b'.' || b[i] == b',') {
                i += 1;
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i == start {
                    return None;
                }
                let frac = &s[start..i.min(start + 3)];
                let mut v: u32 = frac.parse().ok()?;
                for _ in frac.len()..3 {
                    v *= 10;
                }
                ms = v;
            }
        }
    }
    let mut offset_min: i64 = 0;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' => i += 1,
            b'+' | b'-' | b' ' => {
                let sign = if b[i] == b'-' { -1 } else { 1 };
                i += 1;
                let oh = digits(b, &mut i, 2)? as i64;
                let mut om = 0;
                if i < b.len() {
                    if b[i] == b':' {
                        i += 1;
                    }
                    om = digits(b, &mut i, 2)? as i64;
                }
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_min = sign * (oh * 60 + om);
            }
            _ => return None,
        }
    }
    if i != b.len() {
        return None;
    }
    let dt = date.and_hms_milli_opt(hh, mm, ss, ms)?;
    Some(dt.and_utc().timestamp_millis() - offset_min * MINUTE)
}

/// `2024-06-26T10:02:00.000000000Z` (DQL records).
pub fn iso_nanos(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
        None => String::new(),
    }
}

/// `2024-06-26T10:02:00.000Z`.
pub fn iso_millis(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(dt) => dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => String::new(),
    }
}

/// Reads `from`/`to` with the endpoint's default `from` (a relative expression); `to` defaults
/// to now. Bad values and `from >= to` give 400 with a QUERY violation.
pub fn window(params: &Params, now: i64, default_from: &str) -> Result<(i64, i64), ApiError> {
    let from = match params.get_nonblank("from") {
        Some(s) => parse_time(s, now).map_err(|e| ApiError::query("from", format!("from: {e}")))?,
        None => parse_time(default_from, now).expect("valid default"),
    };
    let to = match params.get_nonblank("to") {
        Some(s) => parse_time(s, now).map_err(|e| ApiError::query("to", format!("to: {e}")))?,
        None => now,
    };
    if from >= to {
        return Err(ApiError::query(
            "from",
            format!("The start of the timeframe ({from}) must be before its end ({to})."),
        ));
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_794_916_800_000; // 2026-11-17T12:00:00Z

    #[test]
    fn epoch_and_iso() {
        assert_eq!(parse_time("1664323800000", NOW), Ok(1_664_323_800_000));
        assert_eq!(parse_iso("2026-11-17T12:00:00Z"), Some(NOW));
        assert_eq!(parse_iso("2026-11-17T12:00"), Some(NOW));
        assert_eq!(parse_iso("2026-11-17 12:00:00"), Some(NOW));
        assert_eq!(parse_iso("2026-11-17T12:00:00.250Z"), Some(NOW + 250));
        assert_eq!(parse_iso("2026-11-17T12:00:00.123456789Z"), Some(NOW + 123));
        assert_eq!(parse_iso("2026-11-17T13:00:00+01:00"), Some(NOW));
        assert_eq!(parse_iso("2026-11-17T13:00:00 01:00"), Some(NOW));
        assert_eq!(parse_iso("2026-11-17T11:00:00-0100"), Some(NOW));
        assert_eq!(parse_iso("2026-11-17"), Some(NOW - 12 * HOUR));
        assert_eq!(parse_iso("2026-13-17T12:00:00Z"), None);
        assert_eq!(parse_iso("2026-11-17T12"), None);
        assert!(parse_time("yesterday", NOW).is_err());
    }

    #[test]
    fn relative() {
        assert_eq!(parse_time("now", NOW), Ok(NOW));
        assert_eq!(parse_time("now-2h", NOW), Ok(NOW - 2 * HOUR));
        assert_eq!(parse_time("now-15m", NOW), Ok(NOW - 15 * MINUTE));
        assert_eq!(parse_time("now-1w", NOW), Ok(NOW - WEEK));
        assert_eq!(parse_time("now-1d/d", NOW), Ok(NOW - 12 * HOUR - DAY));
        assert_eq!(parse_time("now/d", NOW), Ok(NOW - 12 * HOUR));
        // 2026-11-17 is a Tuesday.
        assert_eq!(parse_time("now/w", NOW), Ok(NOW - 12 * HOUR - DAY));
        assert_eq!(
            parse_time("now-1M", NOW),
            Ok(parse_iso("2026-10-17T12:00:00Z").unwrap())
        );
        assert_eq!(
            parse_time("now-1y/y", NOW),
            Ok(parse_iso("2025-01-01T00:00:00Z").unwrap())
        );
        assert_eq!(
            parse_time("now/M", NOW),
            Ok(parse_iso("2026-11-01T00:00:00Z").unwrap())
        );
        assert!(parse_time("now-2x", NOW).is_err());
        assert!(parse_time("now-h", NOW).is_err());
        assert!(parse_time("now-2h/", NOW).is_err());
        assert!(parse_time("nowish", NOW).is_err());
    }

    #[test]
    fn windows() {
        let p = Params::parse(Some("from=now-1h"));
        assert_eq!(window(&p, NOW, "now-2h"), Ok((NOW - HOUR, NOW)));
        let p = Params::default();
        assert_eq!(window(&p, NOW, "now-2h"), Ok((NOW - 2 * HOUR, NOW)));
        let p = Params::parse(Some("from=now&to=now-1h"));
        let e = window(&p, NOW, "now-2h").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.violations[0].location, "QUERY");
        let p = Params::parse(Some("to=garbage"));
        assert_eq!(
            window(&p, NOW, "now-2h").unwrap_err().violations[0].path,
            "to"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(iso_nanos(NOW + 5), "2026-11-17T12:00:00.005000000Z");
        assert_eq!(iso_millis(NOW), "2026-11-17T12:00:00.000Z");
    }
}
