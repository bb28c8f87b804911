//! Calendar dates and quarters, with the "n-th quarter after exit" arithmetic of WIOA and
//! Perkins V (`shared/notes/outcomes.md` §1): quarters are calendar quarters, the exit quarter
//! itself is never counted, so the second quarter after exit is `E + 2`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("expected a date written YYYY-MM-DD, found {0:?}")]
    Format(String),
    #[error("{0:?} is not a calendar date")]
    NotADate(String),
}

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01, the Arrow `Date32` value.
    pub fn to_days(self) -> i32 {
        // Days-from-civil: count from 0000-03-01 so leap days fall at the end of a year.
        let y = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        } as i64;
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = self.month as i64;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) as i32
    }

    /// Today by the system clock (UTC).
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i32)
    }

    /// The inverse of [`Date::to_days`].
    pub fn from_days(days: i32) -> Date {
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// October 1 of the first fall term that starts on or after this date: the census date of
    /// the "fall after exit" (OpenSDP's seamless-enrollment rule tests Oct 1).
    pub fn next_fall_census(self) -> Date {
        let oct1 = Date {
            year: self.year,
            month: 10,
            day: 1,
        };
        if self <= oct1 {
            oct1
        } else {
            Date {
                year: self.year + 1,
                ..oct1
            }
        }
    }
}

impl FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Date, DateError> {
        let b = s.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return Err(DateError::Format(s.to_string()));
        }
        let (y, m, d) = (
            s[0..4].parse().unwrap(),
            s[5..7].parse().unwrap(),
            s[8..10].parse().unwrap(),
        );
        Date::new(y, m, d).ok_or_else(|| DateError::NotADate(s.to_string()))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// A calendar quarter: Q1 = Jan–Mar … Q4 = Oct–Dec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearQuarter {
    pub year: i32,
    pub quarter: u32,
}

impl YearQuarter {
    pub fn of(date: Date) -> YearQuarter {
        YearQuarter {
            year: date.year,
            quarter: (date.month - 1) / 3 + 1,
        }
    }

    /// `year * 4 + (quarter - 1)`: consecutive quarters have consecutive indexes, which is how
    /// the pipeline joins wage quarters in SQL.
    pub fn index(self) -> i32 {
        self.year * 4 + self.quarter as i32 - 1
    }

    pub fn from_index(index: i32) -> YearQuarter {
        YearQuarter {
            year: index.div_euclid(4),
            quarter: index.rem_euclid(4) as u32 + 1,
        }
    }

    /// The n-th quarter after this one.
    pub fn plus(self, n: i32) -> YearQuarter {
        YearQuarter::from_index(self.index() + n)
    }

    /// Program year (July–June) labelled by its start year, and the quarter within it.
    pub fn program_year(self) -> (i32, u32) {
        if self.quarter >= 3 {
            (self.year, self.quarter - 2)
        } else {
            (self.year - 1, self.quarter + 2)
        }
    }
}

impl fmt::Display for YearQuarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.quarter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }
    fn q(year: i32, quarter: u32) -> YearQuarter {
        YearQuarter { year, quarter }
    }

    /// The worked examples of `shared/notes/outcomes.md` §1.2: exit date, exit quarter, first,
    /// second and fourth quarter after exit.
    #[test]
    fn worked_examples_from_the_outcomes_note() {
        let cases = [
            ("2023-02-15", q(2023, 1), q(2023, 2), q(2023, 3), q(2024, 1)),
            ("2023-03-31", q(2023, 1), q(2023, 2), q(2023, 3), q(2024, 1)),
            ("2023-04-01", q(2023, 2), q(2023, 3), q(2023, 4), q(2024, 2)),
            ("2022-11-15", q(2022, 4), q(2023, 1), q(2023, 2), q(2023, 4)),
            ("2017-06-01", q(2017, 2), q(2017, 3), q(2017, 4), q(2018, 2)),
            ("2023-12-31", q(2023, 4), q(2024, 1), q(2024, 2), q(2024, 4)),
            ("2024-01-01", q(2024, 1), q(2024, 2), q(2024, 3), q(2025, 1)),
        ];
        for (exit, e, first, second, fourth) in cases {
            let exit_q = YearQuarter::of(d(exit));
            assert_eq!(exit_q, e, "{exit}");
            assert_eq!(exit_q.plus(1), first, "{exit}");
            assert_eq!(exit_q.plus(2), second, "{exit}");
            assert_eq!(exit_q.plus(4), fourth, "{exit}");
        }
    }

    #[test]
    fn program_year_quarters_from_the_outcomes_note() {
        assert_eq!(q(2023, 1).program_year(), (2022, 3));
        assert_eq!(q(2023, 3).program_year(), (2023, 1));
        assert_eq!(q(2024, 1).program_year(), (2023, 3));
        assert_eq!(q(2023, 2).program_year(), (2022, 4));
        assert_eq!(q(2017, 4).program_year(), (2017, 2));
    }

    /// Perkins 3S1 example: a spring 2023 graduate's second quarter after exit is Oct–Dec 2023.
    #[test]
    fn perkins_spring_leaver_places_in_october_to_december() {
        assert_eq!(YearQuarter::of(d("2023-06-02")).plus(2), q(2023, 4));
    }

    #[test]
    fn days_round_trip_against_known_values() {
        assert_eq!(d("1970-01-01").to_days(), 0);
        assert_eq!(d("2000-03-01").to_days(), 11_017);
        assert_eq!(d("1969-12-31").to_days(), -1);
        for days in (-800_000..800_000).step_by(997) {
            assert_eq!(Date::from_days(days).to_days(), days);
        }
    }

    #[test]
    fn rejects_non_dates() {
        assert!(matches!(
            "2023-02-29".parse::<Date>(),
            Err(DateError::NotADate(_))
        ));
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!(matches!(
            "2023/01/01".parse::<Date>(),
            Err(DateError::Format(_))
        ));
        assert!(matches!(
            "23-01-01".parse::<Date>(),
            Err(DateError::Format(_))
        ));
    }

    #[test]
    fn fall_after_exit() {
        assert_eq!(d("2023-06-02").next_fall_census(), d("2023-10-01"));
        assert_eq!(d("2023-10-01").next_fall_census(), d("2023-10-01"));
        assert_eq!(d("2023-12-20").next_fall_census(), d("2024-10-01"));
    }
}
