//! The script's wall clock as a run asks for it ([`Clock`]), and the RFC 3339 times it is given
//! in, read and written without a date library (the page's WASM carries this too).

use serde::{Deserialize, Serialize};

/// How a run's wall clock is set. Its text (`"real"`, `"fixed"` or an RFC 3339 time) is the run
/// body's `clock`, the permalink's stored form and part of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Clock {
    /// The real time.
    Real,
    /// Fixed at the snippet's first save (at the time of the request for a run not saved).
    Saved,
    /// Fixed at this many seconds since the epoch.
    At(i64),
}

impl Clock {
    /// Latest time a clock may be fixed at (the year 9999 is beyond what `date()` prints in
    /// four digits, and beyond the library's range).
    const LATEST: i64 = 253_402_300_799;

    /// The clock a run gets when its body names none: fixed for a saved run (its permalink then
    /// prints the same on every re-run), real otherwise.
    pub fn unless_asked(asked: Option<Self>, save: bool) -> Self {
        match (asked, save) {
            (Some(clock), _) => clock,
            (None, true) => Self::Saved,
            (None, false) => Self::Real,
        }
    }

    /// Reads `"real"`, `"fixed"` or an RFC 3339 time from 1970 to 9999; the error says which
    /// forms it takes.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "real" => Ok(Self::Real),
            "fixed" => Ok(Self::Saved),
            at => {
                let seconds = parse_rfc3339_seconds(at).ok_or_else(|| {
                    format!("clock {at:?} is not \"fixed\", \"real\" or an RFC 3339 time like 2024-01-31T12:00:00Z")
                })?;
                match (0..=Self::LATEST).contains(&seconds) {
                    true => Ok(Self::At(seconds)),
                    false => Err(format!("clock {at:?} is out of range: 1970 to 9999")),
                }
            }
        }
    }
}

impl std::fmt::Display for Clock {
    /// The form the run body, the stored snippet and the page use: `fixed`, `real` or the time.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Real => f.write_str("real"),
            Self::Saved => f.write_str("fixed"),
            Self::At(seconds) => f.write_str(&format_rfc3339_seconds(*seconds)),
        }
    }
}

impl TryFrom<String> for Clock {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<Clock> for String {
    fn from(clock: Clock) -> Self {
        clock.to_string()
    }
}

/// Seconds since the epoch of an RFC 3339 time (`2024-01-31T12:00:00Z`, `…+02:00`, fractions
/// dropped). Hand-written so that the page's WASM needs no date library.
pub fn parse_rfc3339_seconds(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    let days_in_month = [
        31,
        28 + i64::from(is_leap(year)),
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
    ];
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month[(month - 1) as usize]
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (0 to year 9999).
pub fn format_rfc3339_seconds(seconds: i64) -> String {
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

// Howard Hinnant's civil calendar algorithms (public domain).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Year, month and day of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_defaults_to_fixed_for_saved_runs_and_real_otherwise() {
        assert_eq!(Clock::unless_asked(None, true), Clock::Saved);
        assert_eq!(Clock::unless_asked(None, false), Clock::Real);
        assert_eq!(Clock::unless_asked(Some(Clock::Real), true), Clock::Real);
        assert_eq!(Clock::unless_asked(Some(Clock::Saved), false), Clock::Saved);
        assert_eq!(Clock::parse("real"), Ok(Clock::Real));
        assert_eq!(Clock::parse("fixed"), Ok(Clock::Saved));
        assert_eq!(Clock::parse("2023-11-14T22:13:20Z"), Ok(Clock::At(1_700_000_000)));
        for clock in [Clock::Real, Clock::Saved, Clock::At(1_700_000_000)] {
            assert_eq!(Clock::parse(&clock.to_string()), Ok(clock));
        }
    }

    #[test]
    fn a_clock_travels_as_its_text_and_a_bad_one_says_what_it_takes() {
        let clocks = [Clock::Real, Clock::Saved, Clock::At(1_700_000_000)];
        let texts = [r#""real""#, r#""fixed""#, r#""2023-11-14T22:13:20Z""#];
        for (clock, text) in clocks.into_iter().zip(texts) {
            assert_eq!(serde_json::to_string(&clock).unwrap(), text);
            assert_eq!(serde_json::from_str::<Clock>(text).unwrap(), clock);
        }
        let bad = |text: &str| serde_json::from_str::<Clock>(text).unwrap_err().to_string();
        assert!(
            bad(r#""yesterday""#).contains("RFC 3339"),
            "{}",
            bad(r#""yesterday""#)
        );
        assert!(bad(r#""1969-12-31T23:59:59Z""#).contains("out of range"));
    }

    #[test]
    fn rfc3339_times_read_and_print_as_seconds_since_the_epoch() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("2000-02-29T12:30:15Z", 951_827_415),
            ("2023-11-14T22:13:20Z", 1_700_000_000),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
        ];
        for (text, seconds) in cases {
            assert_eq!(parse_rfc3339_seconds(text), Some(seconds), "{text}");
            assert_eq!(format_rfc3339_seconds(seconds), text);
        }
        assert_eq!(
            parse_rfc3339_seconds("2023-11-15T00:13:20.75+02:00"),
            Some(1_700_000_000)
        );
        assert_eq!(parse_rfc3339_seconds("2023-11-14 22:13:20z"), Some(1_700_000_000));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T24:00:00Z",
            "2023-1-14T22:13:20Z",
            "x",
        ] {
            assert_eq!(parse_rfc3339_seconds(bad), None, "{bad}");
        }
    }
}
