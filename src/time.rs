//! Timestamps: the clock value the caller passes in (rule D1).
//!
//! The library never reads a clock. A [`Timestamp`] is built from Unix time or parsed from an
//! RFC 3339 string, and rendered the way Graph renders `DateTimeOffset` values: UTC, `Z`
//! suffix, fractional seconds only when they are not zero, without trailing zeros.

use std::fmt;

/// A point in time, in UTC, with nanosecond precision.
///
/// ```
/// use restore_delta::Timestamp;
/// let t = Timestamp::parse_rfc3339("2026-11-28T13:45:00.250+01:00").unwrap();
/// assert_eq!(t.to_string(), "2026-11-28T12:45:00.25Z");
/// assert_eq!(Timestamp::from_unix(0, 0).unwrap().to_string(), "1970-01-01T00:00:00Z");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Why a string is not an RFC 3339 timestamp, or a Unix time is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text does not have the shape `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    #[error(
        "not an RFC 3339 timestamp (expected YYYY-MM-DDTHH:MM:SS[.fff]Z or ±HH:MM offset): {0:?}"
    )]
    Syntax(String),
    /// A field is out of its range (month 13, February 30, hour 24, …).
    #[error("timestamp field out of range: {0}")]
    Range(String),
}

/// Seconds from 0001-01-01T00:00:00Z to the Unix epoch, negated.
const MIN_SECS: i64 = -62_135_596_800;
/// Seconds from the Unix epoch to 9999-12-31T23:59:59Z.
const MAX_SECS: i64 = 253_402_300_799;

impl Timestamp {
    /// A timestamp from seconds and nanoseconds since 1970-01-01T00:00:00Z.
    ///
    /// Years 1 to 9999 are accepted (the range an RFC 3339 string can express); `nanos` must be
    /// below one second.
    pub fn from_unix(secs: i64, nanos: u32) -> Result<Self, TimestampError> {
        if !(MIN_SECS..=MAX_SECS).contains(&secs) {
            return Err(TimestampError::Range(format!(
                "{secs} seconds is outside years 0001-9999"
            )));
        }
        if nanos >= 1_000_000_000 {
            return Err(TimestampError::Range(format!(
                "{nanos} nanoseconds is a second or more"
            )));
        }
        Ok(Timestamp { secs, nanos })
    }

    /// 1970-01-01T00:00:00Z.
    pub(crate) const EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// The sub-second part, in nanoseconds.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Parses an RFC 3339 date-time (`2026-11-28T12:00:00Z`, `2026-11-28t12:00:00.5+02:00`).
    ///
    /// The separator may be `T`, `t` or a space; the offset `Z`, `z` or `±HH:MM`. Fractions
    /// beyond nanoseconds are truncated. Leap seconds (`:60`) are refused.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimestampError> {
        let syntax = || TimestampError::Syntax(text.to_owned());
        let b = text.as_bytes();
        if b.len() < 20 {
            return Err(syntax());
        }
        let num = |from: usize, len: usize| -> Result<i64, TimestampError> {
            let part = b.get(from..from + len).ok_or_else(syntax)?;
            let mut v: i64 = 0;
            for &c in part {
                if !c.is_ascii_digit() {
                    return Err(syntax());
                }
                v = v * 10 + i64::from(c - b'0');
            }
            Ok(v)
        };
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        if at(4) != b'-' || at(7) != b'-' || !matches!(at(10), b'T' | b't' | b' ') {
            return Err(syntax());
        }
        if at(13) != b':' || at(16) != b':' {
            return Err(syntax());
        }
        let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        let mut i = 19;
        let mut nanos: u32 = 0;
        if at(i) == b'.' {
            i += 1;
            let start = i;
            let mut scale = 100_000_000u32;
            while at(i).is_ascii_digit() {
                nanos += u32::from(at(i) - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return Err(syntax());
            }
        }
        let offset_secs = match at(i) {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            sign @ (b'+' | b'-') if i + 6 == b.len() && at(i + 3) == b':' => {
                let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
                if oh > 23 || om > 59 {
                    return Err(TimestampError::Range(format!("offset in {text:?}")));
                }
                let s = oh * 3600 + om * 60;
                if sign == b'+' { s } else { -s }
            }
            _ => return Err(syntax()),
        };
        if !(1..=12).contains(&month) {
            return Err(TimestampError::Range(format!("month {month} in {text:?}")));
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::Range(format!("day {day} in {text:?}")));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError::Range(format!("time of day in {text:?}")));
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
        Timestamp::from_unix(secs, nanos)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        if self.nanos != 0 {
            let mut frac = format!("{:09}", self.nanos);
            while frac.ends_with('0') {
                frac.pop();
            }
            write!(f, ".{frac}")?;
        }
        f.write_str("Z")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_normalises_offsets() {
        let t = Timestamp::parse_rfc3339("2024-02-29T23:30:00-01:00").unwrap();
        assert_eq!(t.to_string(), "2024-03-01T00:30:00Z");
        let t = Timestamp::parse_rfc3339("2015-06-19T12:01:03.45Z").unwrap();
        assert_eq!(t.to_string(), "2015-06-19T12:01:03.45Z");
        assert_eq!(t.unix_seconds(), 1_434_715_263);
        let t = Timestamp::parse_rfc3339("0001-01-01T00:00:00Z").unwrap();
        assert_eq!(t.unix_seconds(), MIN_SECS);
        assert_eq!(
            Timestamp::from_unix(MAX_SECS, 999_999_999)
                .unwrap()
                .to_string(),
            "9999-12-31T23:59:59.999999999Z"
        );
    }

    #[test]
    fn refuses_malformed_and_out_of_range() {
        for bad in [
            "",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00Zjunk",
            "２０２４-01-01T00:00:00Z",
            "2024-01-01T00:00:00+24:00",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Timestamp::from_unix(MAX_SECS + 1, 0).is_err());
        assert!(Timestamp::from_unix(0, 1_000_000_000).is_err());
    }
}
