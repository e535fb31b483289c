//! Maintenance-window schedules (Settings schema `builtin:alerting.maintenance-window`) placed
//! in time: a one-time window, or a daily, weekly or monthly recurrence, each in the time zone
//! the schedule names. Pure: the span to look in arrives as an argument.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Weekday};
use chrono_tz::Tz;

/// When a maintenance window recurs.
#[derive(Clone, Debug, PartialEq)]
pub enum Recurrence {
    Daily,
    Weekly(Weekday),
    /// Day 1–31; a month without that day uses its last day.
    Monthly(u32),
}

/// A maintenance window's schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// One window, local start and end in `zone`.
    Once {
        start: NaiveDateTime,
        end: NaiveDateTime,
        zone: Tz,
    },
    /// Every day (week, month) from `start` to `end` local time (an end at or before the start
    /// ends the next day), between the first and last date of the range.
    Recurring {
        every: Recurrence,
        start: NaiveTime,
        end: NaiveTime,
        zone: Tz,
        first: NaiveDate,
        last: NaiveDate,
    },
}

/// A local time in `zone` as epoch ms: the earlier of two on a clock set back, the first valid
/// instant after a gap on a clock set forward.
fn instant(zone: Tz, t: NaiveDateTime) -> i64 {
    match zone.from_local_datetime(&t) {
        chrono::LocalResult::Single(x) => x.timestamp_millis(),
        chrono::LocalResult::Ambiguous(a, _) => a.timestamp_millis(),
        chrono::LocalResult::None => instant(zone, t + Duration::minutes(30)),
    }
}

fn last_day(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

impl Schedule {
    /// The occurrences (epoch ms, start and end) that overlap `[from, to)`, oldest first.
    pub fn occurrences(&self, from: i64, to: i64) -> Vec<(i64, i64)> {
        match self {
            Schedule::Once { start, end, zone } => {
                let (s, e) = (instant(*zone, *start), instant(*zone, *end));
                if s < to && e > from {
                    vec![(s, e)]
                } else {
                    vec![]
                }
            }
            Schedule::Recurring {
                every,
                start,
                end,
                zone,
                first,
                last,
            } => {
                // Local dates around the span: a day either side covers any zone and a window
                // that crosses midnight.
                let day = |ms: i64| {
                    chrono::DateTime::from_timestamp_millis(ms)
                        .map(|t| t.with_timezone(zone).date_naive())
                };
                let (Some(a), Some(b)) = (day(from), day(to)) else {
                    return vec![];
                };
                let mut d = (a - Duration::days(1)).max(*first);
                let stop = (b + Duration::days(1)).min(*last);
                let mut out = Vec::new();
                while d <= stop {
                    let on = match every {
                        Recurrence::Daily => true,
                        Recurrence::Weekly(w) => d.weekday() == *w,
                        Recurrence::Monthly(n) => {
                            d.day() == (*n).min(last_day(d.year(), d.month()))
                        }
                    };
                    if on {
                        let s = instant(*zone, d.and_time(*start));
                        let end_day = if end <= start {
                            d + Duration::days(1)
                        } else {
                            d
                        };
                        let e = instant(*zone, end_day.and_time(*end));
                        if s < to && e > from {
                            out.push((s, e));
                        }
                    }
                    d += Duration::days(1);
                }
                out
            }
        }
    }
}

/// The schedule of a maintenance window's settings value (`schedule`), or why it cannot be
/// placed in time (an unknown zone or type, a malformed time).
pub fn parse(v: &serde_json::Value) -> Result<Schedule, String> {
    let s = v.get("schedule").ok_or("no schedule")?;
    let text = |v: &serde_json::Value, k: &str| -> Result<String, String> {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("no {k}"))
    };
    let zone = |v: &serde_json::Value| -> Result<Tz, String> {
        let z = v
            .get("timeZone")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("UTC");
        z.parse::<Tz>()
            .map_err(|_| format!("unknown time zone {z:?}"))
    };
    let datetime = |t: &str| {
        NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
            .map_err(|_| format!("not a local date and time: {t:?}"))
    };
    let time = |t: &str| {
        NaiveTime::parse_from_str(t, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
            .map_err(|_| format!("not a time of day: {t:?}"))
    };
    let kind = text(s, "scheduleType")?;
    if kind == "ONCE" {
        let once = s.get("onceRecurrence").ok_or("no onceRecurrence")?;
        return Ok(Schedule::Once {
            start: datetime(&text(once, "startTime")?)?,
            end: datetime(&text(once, "endTime")?)?,
            zone: zone(once)?,
        });
    }
    let key = match kind.as_str() {
        "DAILY" => "dailyRecurrence",
        "WEEKLY" => "weeklyRecurrence",
        "MONTHLY" => "monthlyRecurrence",
        other => return Err(format!("unknown schedule type {other:?}")),
    };
    let r = s.get(key).ok_or_else(|| format!("no {key}"))?;
    let every = match kind.as_str() {
        "WEEKLY" => Recurrence::Weekly(
            text(r, "dayOfWeek")?
                .parse::<Weekday>()
                .map_err(|_| "not a day of the week".to_string())?,
        ),
        "MONTHLY" => Recurrence::Monthly(
            r.get("dayOfMonth")
                .and_then(serde_json::Value::as_u64)
                .filter(|d| (1..=31).contains(d))
                .ok_or("no dayOfMonth 1-31")? as u32,
        ),
        _ => Recurrence::Daily,
    };
    let w = r.get("timeWindow").ok_or("no timeWindow")?;
    let range = r.get("recurrenceRange").ok_or("no recurrenceRange")?;
    let date = |k: &str| -> Result<NaiveDate, String> {
        let t = text(range, k)?;
        NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| format!("not a date: {t:?}"))
    };
    Ok(Schedule::Recurring {
        every,
        start: time(&text(w, "startTime")?)?,
        end: time(&text(w, "endTime")?)?,
        zone: zone(w)?,
        first: date("scheduleStartDate")?,
        last: date("scheduleEndDate")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ms(t: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap()
            .timestamp_millis()
    }

    fn at(ms: i64) -> String {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%MZ")
            .to_string()
    }

    fn recurring(kind: &str, extra: serde_json::Value, zone: &str) -> Schedule {
        let key = format!("{}Recurrence", kind.to_lowercase());
        let mut r = json!({
            "timeWindow": {"startTime": "22:00:00", "endTime": "02:00:00", "timeZone": zone},
            "recurrenceRange": {"scheduleStartDate": "2026-01-01", "scheduleEndDate": "2026-12-31"},
        });
        for (k, v) in extra.as_object().unwrap() {
            r[k] = v.clone();
        }
        parse(&json!({"schedule": {"scheduleType": kind, key: r}})).unwrap()
    }

    fn placed(s: &Schedule, from: &str, to: &str) -> Vec<(String, String)> {
        s.occurrences(ms(from), ms(to))
            .into_iter()
            .map(|(a, b)| (at(a), at(b)))
            .collect()
    }

    #[test]
    fn a_daily_window_across_midnight_in_vienna() {
        // 22:00–02:00 Vienna time is 21:00–01:00 UTC in winter (UTC+1).
        let s = recurring("DAILY", json!({}), "Europe/Vienna");
        assert_eq!(
            placed(&s, "2026-11-17T09:00:00Z", "2026-11-18T09:00:00Z"),
            [("2026-11-17T21:00Z".into(), "2026-11-18T01:00Z".into())]
        );
        // In summer (UTC+2) the same local window is an hour earlier in UTC.
        assert_eq!(
            placed(&s, "2026-07-01T12:00:00Z", "2026-07-01T20:30:00Z"),
            [("2026-07-01T20:00Z".into(), "2026-07-02T00:00Z".into())]
        );
        // A span that ends before the window holds nothing.
        assert!(placed(&s, "2026-11-17T09:00:00Z", "2026-11-17T20:59:00Z").is_empty());
    }

    #[test]
    fn weekly_and_monthly_windows_fall_on_their_days() {
        // 2026-11-17 is a Tuesday.
        let s = recurring("WEEKLY", json!({"dayOfWeek": "TUESDAY"}), "UTC");
        assert_eq!(
            placed(&s, "2026-11-16T00:00:00Z", "2026-11-30T00:00:00Z"),
            [
                ("2026-11-17T22:00Z".into(), "2026-11-18T02:00Z".into()),
                ("2026-11-24T22:00Z".into(), "2026-11-25T02:00Z".into())
            ]
        );
        let s = recurring("MONTHLY", json!({"dayOfMonth": 31}), "America/New_York");
        // November has 30 days: its last day; 22:00 New York (UTC-5) is 03:00 UTC next day.
        assert_eq!(
            placed(&s, "2026-11-25T00:00:00Z", "2026-12-05T00:00:00Z"),
            [("2026-12-01T03:00Z".into(), "2026-12-01T07:00Z".into())]
        );
    }

    #[test]
    fn the_range_bounds_the_recurrence_and_once_has_its_zone() {
        let s = recurring("DAILY", json!({}), "UTC");
        assert!(placed(&s, "2027-01-05T00:00:00Z", "2027-01-06T00:00:00Z").is_empty());
        let once = parse(
            &json!({"schedule": {"scheduleType": "ONCE", "onceRecurrence": {
            "startTime": "2026-11-17T10:00:00", "endTime": "2026-11-17T11:00:00",
            "timeZone": "Asia/Tokyo"}}}),
        )
        .unwrap();
        assert_eq!(
            placed(&once, "2026-11-17T00:00:00Z", "2026-11-17T02:00:00Z"),
            [("2026-11-17T01:00Z".into(), "2026-11-17T02:00Z".into())]
        );
        let bad = json!({"schedule": {"scheduleType": "ONCE", "onceRecurrence": {
            "startTime": "2026-11-17T10:00:00", "endTime": "2026-11-17T11:00:00",
            "timeZone": "Mars/Olympus"}}});
        assert!(parse(&bad).unwrap_err().contains("Mars/Olympus"));
    }
}
