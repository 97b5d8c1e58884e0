//! Timestamps: the clock value the caller passes in (rule D1).
//!
//! The library never reads a clock. A [`Timestamp`] is built from Unix time or parsed from an
//! RFC 3339 string, and rendered the way Graph renders `DateTimeOffset` values: UTC, `Z`
//! suffix, fractional seconds only when they are not zero, without trailing zeros.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time, in UTC, with nanosecond precision.
///
/// ```
/// use restore_delta::Timestamp;
/// let t = Timestamp::parse_rfc3339("2026-11-28T13:45:00.250+01:00").unwrap();
/// assert_eq!(t.to_string(), "2026-11-28T12:45:00.25Z");
/// assert_eq!(Timestamp::from_unix(0, 0).unwrap(), Timestamp::EPOCH);
/// assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00Z");
/// // `FromStr` is `parse_rfc3339`; a server's clock reading converts with `TryFrom`.
/// let t: Timestamp = "2026-11-28T12:00:00Z".parse().unwrap();
/// let now = Timestamp::try_from(std::time::SystemTime::now()).unwrap();
/// assert!(now > Timestamp::EPOCH);
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

    /// 1970-01-01T00:00:00Z, the Unix epoch.
    pub const EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

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

/// [`Timestamp::parse_rfc3339`].
impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse_rfc3339(text)
    }
}

/// A clock reading, such as a server's `SystemTime::now()` (the library itself never reads a
/// clock), to the nanosecond; before the Unix epoch too. Outside years 1 to 9999 it is
/// [`TimestampError::Range`].
impl TryFrom<SystemTime> for Timestamp {
    type Error = TimestampError;

    fn try_from(time: SystemTime) -> Result<Timestamp, TimestampError> {
        let (secs, nanos) = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => (
                i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                after.subsec_nanos(),
            ),
            Err(e) => {
                let before = e.duration();
                let secs = i64::try_from(before.as_secs()).map_or(i64::MIN, |s| -s);
                match before.subsec_nanos() {
                    0 => (secs, 0),
                    n => (secs.saturating_sub(1), 1_000_000_000 - n),
                }
            }
        };
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
    use std::time::Duration;

    #[test]
    fn system_times_convert_to_the_nanosecond_on_both_sides_of_the_epoch() {
        let at = |t: SystemTime| Timestamp::try_from(t).map(|t| t.to_string());
        assert_eq!(at(UNIX_EPOCH), Ok("1970-01-01T00:00:00Z".into()));
        let after = UNIX_EPOCH + Duration::new(1_764_331_200, 250_000_001);
        assert_eq!(at(after), Ok("2025-11-28T12:00:00.250000001Z".into()));
        let before = UNIX_EPOCH - Duration::new(1, 250_000_000);
        assert_eq!(at(before), Ok("1969-12-31T23:59:58.75Z".into()));
        assert_eq!(
            at(UNIX_EPOCH - Duration::from_secs(86_400)),
            Ok("1969-12-31T00:00:00Z".into())
        );
        let far = UNIX_EPOCH + Duration::from_secs(MAX_SECS as u64 + 1);
        assert!(matches!(
            Timestamp::try_from(far),
            Err(TimestampError::Range(_))
        ));
        let last = UNIX_EPOCH + Duration::new(MAX_SECS as u64, 999_999_999);
        assert_eq!(at(last), Ok("9999-12-31T23:59:59.999999999Z".into()));
        assert_eq!(
            "2026-11-28T13:00:00+01:00".parse(),
            Timestamp::from_unix(1_795_867_200, 0)
        );
        assert!("2026-11-28".parse::<Timestamp>().is_err());
    }

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

    /// Days of month `m` of year `y`, by the rule as written (not by [`days_in_month`]).
    fn naive_month_days(y: i64, m: i64) -> i64 {
        let leap = if y % 400 == 0 {
            true
        } else if y % 100 == 0 {
            false
        } else {
            y % 4 == 0
        };
        [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ][(m - 1) as usize]
    }

    #[test]
    fn the_calendar_from_year_1_to_9999_matches_a_day_count() {
        // Walks the calendar month by month counting days. Checks both directions at the first
        // second of every year, and, in the years around the century and 400-year turns, at the
        // first and last second of each month and at a time of day that varies.
        let near_turn = |y: i64| y % 100 <= 4 || y % 100 >= 96 || (1968..=2031).contains(&y);
        let mut days = MIN_SECS / 86_400;
        let mut n = 0i64;
        for y in 1..=9999 {
            let text = format!("{y:04}-01-01T00:00:00Z");
            let t = Timestamp::parse_rfc3339(&text).unwrap();
            assert_eq!(t.unix_seconds(), days * 86_400, "{text}");
            assert_eq!(t.to_string(), text);
            for m in 1..=12 {
                let len = naive_month_days(y, m);
                if !near_turn(y) {
                    days += len;
                    continue;
                }
                let first = days * 86_400;
                let text = format!("{y:04}-{m:02}-01T00:00:00Z");
                let t = Timestamp::parse_rfc3339(&text).unwrap();
                assert_eq!(t.unix_seconds(), first, "{text}");
                assert_eq!(t.to_string(), text);
                let last = first + len * 86_400 - 1;
                let text = format!("{y:04}-{m:02}-{len:02}T23:59:59Z");
                let t = Timestamp::from_unix(last, 0).unwrap();
                assert_eq!(t.to_string(), text);
                assert_eq!(Timestamp::parse_rfc3339(&text).unwrap(), t);
                let over = format!("{y:04}-{m:02}-{:02}T00:00:00Z", len + 1);
                assert!(
                    matches!(
                        Timestamp::parse_rfc3339(&over),
                        Err(TimestampError::Range(_))
                    ),
                    "{over} accepted"
                );
                n += 1;
                let tod = n * 7_919 % 86_400;
                let day = 1 + n % len;
                let text = format!(
                    "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}Z",
                    tod / 3600,
                    tod / 60 % 60,
                    tod % 60
                );
                let t = Timestamp::parse_rfc3339(&text).unwrap();
                assert_eq!(t.unix_seconds(), first + (day - 1) * 86_400 + tod, "{text}");
                assert_eq!(t.to_string(), text);
                days += len;
            }
        }
        assert_eq!(days * 86_400 - 1, MAX_SECS);
    }

    #[test]
    fn known_instants() {
        // Unix times from Python's datetime.
        for (text, secs) in [
            ("1900-01-01T00:00:00Z", -2_208_988_800),
            ("1900-03-01T00:00:00Z", -2_203_891_200),
            ("1600-02-29T00:00:00Z", -11_670_998_400),
            ("0004-02-29T00:00:00Z", -62_035_891_200),
            ("1969-12-31T23:59:59Z", -1),
            ("2000-02-29T12:34:56Z", 951_827_696),
            ("2100-03-01T00:00:00Z", 4_107_542_400),
            ("2400-02-29T06:00:00Z", 13_574_584_800),
        ] {
            let t = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(t.unix_seconds(), secs, "{text}");
            assert_eq!(t.subsec_nanos(), 0);
            assert_eq!(Timestamp::from_unix(secs, 0).unwrap().to_string(), text);
        }
        for bad in ["1900-02-29T00:00:00Z", "2100-02-29T00:00:00Z"] {
            assert!(Timestamp::parse_rfc3339(bad).is_err(), "{bad} accepted");
        }
    }

    /// `text` parsed and written back.
    fn rewritten(text: &str) -> Result<String, TimestampError> {
        Timestamp::parse_rfc3339(text).map(|t| t.to_string())
    }

    /// Each `(text, rendering)`: `text` parses and is written back as `rendering`.
    fn assert_rewrites(cases: &[(&str, &str)]) {
        for &(text, rendering) in cases {
            assert_eq!(rewritten(text).as_deref(), Ok(rendering), "{text}");
        }
    }

    /// Each text is refused as not having the shape of a timestamp.
    fn assert_syntax_errors(texts: &[&str]) {
        for &text in texts {
            let error = TimestampError::Syntax(text.to_owned());
            assert_eq!(rewritten(text), Err(error), "{text}");
        }
    }

    /// Each `(text, field)`: `text` is refused for that field being out of range.
    fn assert_range_errors(cases: &[(&str, &str)]) {
        for &(text, field) in cases {
            let error = TimestampError::Range(format!("{field} in {text:?}"));
            assert_eq!(rewritten(text), Err(error), "{text}");
        }
    }

    #[test]
    fn offsets_up_to_23_59_either_way() {
        assert_rewrites(&[
            ("2024-06-15T12:00:00+23:59", "2024-06-14T12:01:00Z"),
            ("2024-06-15T12:00:00-23:59", "2024-06-16T11:59:00Z"),
            ("2024-06-15T12:00:00+01:30", "2024-06-15T10:30:00Z"),
            ("2024-06-15T12:00:00-00:00", "2024-06-15T12:00:00Z"),
        ]);
        assert_range_errors(&[
            ("2024-06-15T12:00:00+24:00", "offset"),
            ("2024-06-15T12:00:00-24:00", "offset"),
            ("2024-06-15T12:00:00+23:60", "offset"),
            ("2024-06-15T12:00:00-00:60", "offset"),
        ]);
        assert_syntax_errors(&[
            "2024-06-15T12:00:00+01-00",
            "2024-06-15T12:00:00+01:000",
            "2024-06-15T12:00:00+01:0",
            "2024-06-15T12:00:00*01:00",
            "2024-06-15T12:00:00+1a:00",
        ]);
    }

    #[test]
    fn separators_fractions_and_the_shortest_form() {
        assert_rewrites(&[
            ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
            ("2024-01-01t00:00:00z", "2024-01-01T00:00:00Z"),
            ("2024-01-01 23:59:59Z", "2024-01-01T23:59:59Z"),
            // Fractions beyond nanoseconds are truncated; trailing zeros are not written.
            (
                "2024-01-01T00:00:00.123456789987Z",
                "2024-01-01T00:00:00.123456789Z",
            ),
            ("2024-01-01T00:00:00.5+00:00", "2024-01-01T00:00:00.5Z"),
            (
                "2024-01-01T00:00:00.000000001Z",
                "2024-01-01T00:00:00.000000001Z",
            ),
            ("2024-01-01T00:00:00.0Z", "2024-01-01T00:00:00Z"),
        ]);
        let t = Timestamp::parse_rfc3339("2024-01-01T00:00:00.123456789987Z").unwrap();
        assert_eq!(t.subsec_nanos(), 123_456_789);
        let t = Timestamp::parse_rfc3339("2024-01-01T00:00:00.000000001Z").unwrap();
        assert_eq!(t.subsec_nanos(), 1);
        assert_eq!(
            Timestamp::from_unix(0, 120_000_000).unwrap().to_string(),
            "1970-01-01T00:00:00.12Z"
        );
        assert_syntax_errors(&[
            "2024-01-01T00:00:0Z",
            "2024-01-01X00:00:00Z",
            "2024/01-01T00:00:00Z",
            "2024-01/01T00:00:00Z",
            "2024-01-01T00-00:00Z",
            "2024-01-01T00:00-00Z",
            "2024-0a-01T00:00:00Z",
            "2024-01-01T00:00:00.5",
            "2024-01-01T00:00:00ZZ",
            "2024-01-01T00:00:00.",
        ]);
    }

    #[test]
    fn fields_at_and_past_their_bounds() {
        assert_rewrites(&[("2024-12-31T23:59:59Z", "2024-12-31T23:59:59Z")]);
        assert_range_errors(&[
            ("2024-00-10T00:00:00Z", "month 0"),
            ("2024-13-10T00:00:00Z", "month 13"),
            ("2024-04-00T00:00:00Z", "day 0"),
            ("2024-04-31T00:00:00Z", "day 31"),
            ("2024-04-10T24:00:00Z", "time of day"),
            ("2024-04-10T00:60:00Z", "time of day"),
            ("2024-04-10T00:00:60Z", "time of day"),
        ]);
        // 0001-01-01 in a positive offset is before year 1.
        assert!(matches!(
            Timestamp::parse_rfc3339("0001-01-01T00:00:00+00:01"),
            Err(TimestampError::Range(_))
        ));
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-00:00").is_ok());
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-00:01").is_err());
    }

    #[test]
    fn unix_range_and_messages() {
        assert_eq!(
            Timestamp::from_unix(MIN_SECS, 0).unwrap().unix_seconds(),
            MIN_SECS
        );
        assert_eq!(
            Timestamp::from_unix(MIN_SECS - 1, 0),
            Err(TimestampError::Range(
                "-62135596801 seconds is outside years 0001-9999".to_owned()
            ))
        );
        assert_eq!(
            Timestamp::from_unix(MAX_SECS, 999_999_999).map(|t| t.subsec_nanos()),
            Ok(999_999_999)
        );
        let e = Timestamp::from_unix(0, 1_000_000_000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "timestamp field out of range: 1000000000 nanoseconds is a second or more"
        );
        let e = Timestamp::parse_rfc3339("nope").unwrap_err();
        assert_eq!(
            e.to_string(),
            "not an RFC 3339 timestamp (expected YYYY-MM-DDTHH:MM:SS[.fff]Z or ±HH:MM offset): \"nope\""
        );
    }
}
