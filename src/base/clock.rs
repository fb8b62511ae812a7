//! Time is explicit: the command line decides what "now" is and passes it
//! down. Nothing in the library reads the wall clock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use std::time::SystemTime;

use crate::base::error::{Error, Result};

/// An instant, UTC, to the second (OpenPGP's resolution).
pub type Time = DateTime<Utc>;

/// Parse `2026-10-01`, `2026-10-01T12:00:00Z`, `2026-10-01T12:00:00+02:00`
/// or `2026-10-01 12:00:00` (UTC).
pub fn parse_time(s: &str) -> Result<Time> {
    let s = s.trim();
    let parsed = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
                .ok()
                .map(|t| Utc.from_utc_datetime(&t))
        })
        .or_else(|| parse_date(s).ok().map(start_of_day));
    match parsed {
        Some(t) => Ok(truncate(t)),
        None => Err(Error::input(
            format!("invalid time '{s}'"),
            "write a date or an RFC 3339 instant, e.g. 2026-10-01 or 2026-10-01T12:00:00Z",
        )),
    }
}

/// Parse a calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        Error::input(
            format!("invalid date '{s}'"),
            "write the date as YYYY-MM-DD, e.g. 2027-03-24",
        )
    })
}

/// Midnight UTC at the start of `d`.
pub fn start_of_day(d: NaiveDate) -> Time {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// Drop sub-second precision.
pub fn truncate(t: Time) -> Time {
    Utc.timestamp_opt(t.timestamp(), 0)
        .single()
        .expect("whole seconds are representable")
}

/// The expiry of a key that never expires (9999-12-31).
pub fn far_future() -> Time {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// For sequoia.
pub fn to_system(t: Time) -> SystemTime {
    SystemTime::from(t)
}

/// From sequoia.
pub fn from_system(t: SystemTime) -> Time {
    truncate(DateTime::<Utc>::from(t))
}

/// `2026-10-01`.
pub fn day(t: Time) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// `2026-10-01T12:00:00Z`.
pub fn iso(t: Time) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Time, to: Time) -> i64 {
    (to - from).num_seconds().div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            iso(parse_time("2026-10-01").unwrap()),
            "2026-10-01T00:00:00Z"
        );
        assert_eq!(
            iso(parse_time("2026-10-01T12:00:00Z").unwrap()),
            "2026-10-01T12:00:00Z"
        );
        assert_eq!(
            iso(parse_time("2026-10-01T12:00:00+02:00").unwrap()),
            "2026-10-01T10:00:00Z"
        );
        assert_eq!(
            iso(parse_time("2026-10-01 12:00:00").unwrap()),
            "2026-10-01T12:00:00Z"
        );
    }

    #[test]
    fn rejects_garbage_with_a_hint() {
        for bad in ["", "yesterday", "2026-13-01", "2026-10-01T25:00:00Z"] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.hint().is_some(), "{bad}");
        }
    }
}

/// Serialise a [`Time`] as `2026-10-01T12:00:00Z`.
pub mod serde_iso {
    use super::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::iso(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_time(&s).map_err(serde::de::Error::custom)
    }
}

/// Serialise an `Option<Time>`.
pub mod serde_iso_opt {
    use super::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::iso(*t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| super::parse_time(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}
