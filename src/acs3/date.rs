//! `x-acs-date`: UTC, `YYYY-MM-DDTHH:MM:SSZ`. The core has no clock; the host passes the time in.

use crate::error::Error;
use core::fmt;

/// The last second of year 9999, the largest instant the format can hold.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// A request time, whole seconds since the Unix epoch, within 1970..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcsDate(i64);

impl AcsDate {
    /// A date from seconds since the Unix epoch.
    pub fn from_unix_seconds(seconds: i64) -> Result<Self, Error> {
        if (0..=MAX_UNIX_SECONDS).contains(&seconds) {
            Ok(AcsDate(seconds))
        } else {
            Err(Error::invalid("date", "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"))
        }
    }

    /// A date from milliseconds since the Unix epoch (what `Date.now()` gives), rounded down.
    pub fn from_unix_millis(millis: f64) -> Result<Self, Error> {
        if !millis.is_finite() {
            return Err(Error::invalid("date", "must be a finite time"));
        }
        let seconds = millis / 1000.0;
        // The range check before the cast keeps `as` from saturating silently; for the times it
        // lets through, which are not negative, `as` rounds down (core has no `floor`).
        if !(0.0..(MAX_UNIX_SECONDS + 1) as f64).contains(&seconds) {
            return Err(Error::invalid("date", "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"));
        }
        Self::from_unix_seconds(seconds as i64)
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::invalid("date", "must look like 2023-10-26T09:01:01Z (UTC, no fraction)");
        let b = text.as_bytes();
        if b.len() != 20
            || b.get(4) != Some(&b'-')
            || b.get(7) != Some(&b'-')
            || b.get(10) != Some(&b'T')
            || b.get(13) != Some(&b':')
            || b.get(16) != Some(&b':')
            || b.get(19) != Some(&b'Z')
        {
            return Err(bad());
        }
        let num = |from: usize, to: usize| -> Result<i64, Error> {
            let digits = b.get(from..to).ok_or_else(bad)?;
            digits.iter().try_fold(0i64, |acc, &d| {
                if d.is_ascii_digit() {
                    Ok(acc * 10 + i64::from(d - b'0'))
                } else {
                    Err(bad())
                }
            })
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if year < 1970
            || !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(bad());
        }
        let days = days_from_civil(year, month, day);
        Self::from_unix_seconds(days * 86_400 + hour * 3600 + minute * 60 + second)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0
    }

    /// Parses an HTTP date in IMF-fixdate form, `Sun, 06 Nov 1994 08:49:37 GMT`: the form
    /// RFC 9110 requires servers to send (`Date`, `Retry-After`). The weekday is not checked.
    pub fn parse_http(text: &str) -> Option<Self> {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let mut words = text.trim_ascii().split(' ');
        let (_weekday, day, month, year, time, zone) =
            (words.next()?, words.next()?, words.next()?, words.next()?, words.next()?, words.next()?);
        if words.next().is_some() || zone != "GMT" || day.len() != 2 || year.len() != 4 || time.len() != 8 {
            return None;
        }
        let number = |s: &str| -> Option<i64> {
            s.bytes().try_fold(0i64, |acc, d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
        };
        let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
        let (day, year) = (number(day)?, number(year)?);
        // `hh:mm:ss`, two digits each.
        if time.as_bytes().get(2) != Some(&b':') || time.as_bytes().get(5) != Some(&b':') {
            return None;
        }
        let field = |at: usize| time.get(at..at + 2).and_then(number);
        let (hour, minute, second) = (field(0)?, field(3)?, field(6)?);
        if year < 1970 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59);
        Self::from_unix_seconds(seconds).ok()
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms), valid for
// every date this type can hold.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl AcsDate {
    /// The `YYYY-MM-DDTHH:MM:SSZ` bytes (ASCII). Written digit by digit: the signer formats a
    /// date per request, and `fmt`'s machinery would cost it time and the .wasm size.
    pub fn to_bytes(self) -> [u8; 20] {
        let (days, secs) = (self.0.div_euclid(86_400), self.0.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let mut out = *b"0000-00-00T00:00:00Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                if let Some(digit) = out.get_mut(i) {
                    *digit = b'0' + (value % 10) as u8;
                }
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, secs / 3600);
        put(14, 2, secs % 3600 / 60);
        put(17, 2, secs % 60);
        out
    }
}

impl fmt::Display for AcsDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always ASCII digits and separators.
        f.write_str(core::str::from_utf8(&self.to_bytes()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // Values checked against `new Date(s * 1000).toISOString()` by hand.
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_698_310_861, "2023-10-26T09:01:01Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_709_251_199, "2024-02-29T23:59:59Z"),
            (MAX_UNIX_SECONDS, "9999-12-31T23:59:59Z"),
        ];
        for (secs, text) in cases {
            let date = AcsDate::from_unix_seconds(secs).expect("in range");
            assert_eq!(date.to_string(), text);
            assert_eq!(AcsDate::parse(text), Ok(date));
        }
    }

    #[test]
    fn millis_round_down() {
        let date = AcsDate::from_unix_millis(1_698_310_861_999.0).expect("in range");
        assert_eq!(date.to_string(), "2023-10-26T09:01:01Z");
        // The edges of the range, where rounding down (not toward zero) decides.
        assert_eq!(AcsDate::from_unix_millis(0.0).map(|d| d.to_string()), Ok("1970-01-01T00:00:00Z".into()));
        assert!(AcsDate::from_unix_millis(-0.5).is_err(), "rounds down to -1 s");
        let last = AcsDate::from_unix_millis((MAX_UNIX_SECONDS * 1000 + 999) as f64).map(|d| d.to_string());
        assert_eq!(last, Ok("9999-12-31T23:59:59Z".into()));
        assert!(AcsDate::from_unix_millis(((MAX_UNIX_SECONDS + 1) * 1000) as f64).is_err());
    }

    #[test]
    fn rejects_out_of_range_and_malformed() {
        assert!(AcsDate::from_unix_seconds(-1).is_err());
        assert!(AcsDate::from_unix_seconds(MAX_UNIX_SECONDS + 1).is_err());
        assert!(AcsDate::from_unix_millis(f64::NAN).is_err());
        assert!(AcsDate::from_unix_millis(f64::INFINITY).is_err());
        assert!(AcsDate::from_unix_millis(-5.0).is_err());
        for bad in [
            "",
            "2023-10-26 09:01:01Z",
            "2023-10-26T09:01:01",
            "2023-10-26T09:01:01.000Z",
            "2023-02-29T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "2023-00-01T00:00:00Z",
            "2023-01-01T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2023-1a-01T00:00:00Z",
            "２023-10-26T09:01:01Z",
        ] {
            assert!(AcsDate::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn parses_http_dates() {
        // Epoch seconds from `Date.parse(text) / 1000` in Node.
        let cases = [
            ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777),
            ("Wed, 25 Nov 2026 11:00:00 GMT", 1_795_604_400),
            ("Thu, 29 Feb 2024 23:59:59 GMT", 1_709_251_199),
            ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ];
        for (text, secs) in cases {
            assert_eq!(AcsDate::parse_http(text).map(AcsDate::unix_seconds), Some(secs), "{text}");
        }
        for bad in [
            "",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 31 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT x",
            // Eight characters, but not two digits each.
            "Sun, 06 Nov 1994 ::000000 GMT",
            "Sun, 06 Nov 1994 1:2:0003 GMT",
            "Sun, 06 Nov 1994 08:4:937 GMT",
            "Sun, 06 Nov 1994 08-49-37 GMT",
        ] {
            assert_eq!(AcsDate::parse_http(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_day_round_trips() {
        // civil_from_days and days_from_civil are inverses over the whole range, sampled every 997 days.
        let mut days = 0;
        while days * 86_400 <= MAX_UNIX_SECONDS {
            let date = AcsDate::from_unix_seconds(days * 86_400 + 3_723).expect("in range");
            assert_eq!(AcsDate::parse(&date.to_string()), Ok(date));
            days += 997;
        }
    }
}
