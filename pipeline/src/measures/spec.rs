//! A measure specification file and the state's definitions, as read and checked.
//!
//! Both are TOML. A file that does not parse, holds a key it should not or a value out of range
//! is refused with a [`SpecError`] naming the file and the key, so a state editing its own
//! definitions learns what to fix without reading this code.

use serde::Deserialize;

use super::outcome::Outcome;

/// A specification that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("measure specification {file}: key `{key}`: {message}")]
pub struct SpecError {
    pub file: String,
    /// The dotted key at fault (`numerator.any[0].quarter_after_exit`), or the table it is
    /// missing from.
    pub key: String,
    pub message: String,
}

/// A date within any year (`10-01`), as the definitions name census days and year starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    fn parse(s: &str) -> Option<MonthDay> {
        let (m, d) = s.split_once('-')?;
        let digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
        if !(digits(m) && digits(d)) {
            return None;
        }
        let (month, day) = (m.parse().ok()?, d.parse().ok()?);
        // February 29 would skip three years in four.
        let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        ((1..=12).contains(&month) && day >= 1 && day <= days[month as usize - 1])
            .then_some(MonthDay { month, day })
    }
}

impl std::fmt::Display for MonthDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MonthDay, D::Error> {
        let s = String::deserialize(d)?;
        MonthDay::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a month and day as MM-DD (February 29 is refused)"
            ))
        })
    }
}

/// The population definitions a state sets in its Perkins V State Plan and every measure uses:
/// the shipped `pipeline/measures/definitions.toml`, with any key the job's `[definitions]`
/// table sets in its place.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definitions {
    /// Distinct completed courses in one program that make a secondary CTE concentrator.
    pub concentrator_min_courses: u32,
    /// The first day of the school year; an exit cohort is labelled by the year its school
    /// year ends.
    pub school_year_start: MonthDay,
    /// The day a postsecondary enrollment is counted in each fall.
    pub fall_census: MonthDay,
    /// CEDS 000110 exit or withdrawal types that end secondary education.
    pub exit_types: Vec<String>,
    /// Those of `exit_types` that are a high-school graduation (Perkins V 5S1–5S3 count
    /// concentrators who graduate).
    pub graduation_exit_types: Vec<String>,
    /// The wage file's last full quarter holds at least this share of its median quarter's
    /// records.
    pub wage_coverage_share: f64,
    /// Labour-force attachment in a calendar year (PSEO): earnings in at least this many of
    /// its quarters,
    pub attachment_min_quarters: u8,
    /// and at least this many dollars over the year (nominal).
    pub attachment_min_annual_earnings: f64,
    /// CPI-U annual averages by year (`"2024" = 313.689`), to state earnings in the dollars
    /// of `constant_dollar_year`.
    pub cpi_u: std::collections::BTreeMap<String, f64>,
    pub constant_dollar_year: i32,
}

impl Definitions {
    pub(super) fn check(&self, file: &str) -> Result<(), SpecError> {
        let err = |key: &str, message: &str| SpecError {
            file: file.to_string(),
            key: key.to_string(),
            message: message.to_string(),
        };
        if !(1..=20).contains(&self.concentrator_min_courses) {
            return Err(err("concentrator_min_courses", "must be 1 to 20"));
        }
        if self.exit_types.is_empty()
            || self
                .exit_types
                .iter()
                .any(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(err(
                "exit_types",
                "must list at least one code, each letters and digits (CEDS 000110)",
            ));
        }
        if self.graduation_exit_types.is_empty()
            || self
                .graduation_exit_types
                .iter()
                .any(|t| !self.exit_types.contains(t))
        {
            return Err(err(
                "graduation_exit_types",
                "must list at least one code, each one of exit_types",
            ));
        }
        if !(self.wage_coverage_share > 0.0 && self.wage_coverage_share <= 1.0) {
            return Err(err("wage_coverage_share", "must be above 0 and at most 1"));
        }
        if !(1..=4).contains(&self.attachment_min_quarters) {
            return Err(err("attachment_min_quarters", "must be 1 to 4"));
        }
        if !(self.attachment_min_annual_earnings >= 0.0
            && self.attachment_min_annual_earnings.is_finite())
        {
            return Err(err(
                "attachment_min_annual_earnings",
                "must be a number of dollars, 0 or more",
            ));
        }
        for (year, index) in &self.cpi_u {
            if !(year.len() == 4 && year.parse::<i32>().is_ok_and(|y| y >= 1913)) {
                return Err(err(
                    &format!("cpi_u.{year}"),
                    "keys are years from 1913 (\"2024\" = 313.689)",
                ));
            }
            if !(index.is_finite() && *index > 0.0) {
                return Err(err(&format!("cpi_u.{year}"), "must be an index above 0"));
            }
        }
        if !self
            .cpi_u
            .contains_key(&self.constant_dollar_year.to_string())
        {
            return Err(err(
                "constant_dollar_year",
                "must be a year of cpi_u (earnings are stated in its dollars)",
            ));
        }
        Ok(())
    }
}

/// One measure as its file states it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSpec {
    /// The `measure` value on the published rows.
    pub id: String,
    /// The release folder the measure's table is written to, and its name in a job's `measures`.
    pub dataset: String,
    /// Raised whenever the definition changes, so a figure can be traced to the rule that made it.
    pub version: u32,
    pub title: String,
    /// Who is counted; the one population so far is `secondary_concentrator_exiters`.
    pub population: Population,
    pub denominator: Denominator,
    pub numerator: Numerator,
    pub earnings: Option<Earnings>,
    /// Groupings published beside the total and each dimension alone (`[["race_ethnicity",
    /// "sex"]]`).
    #[serde(default)]
    pub intersections: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Population {
    /// Secondary CTE concentrators (Perkins V §3(12)(A), as the definitions count courses) who
    /// left secondary education in an exit cohort of the run.
    SecondaryConcentratorExiters,
    /// Those of them whose exit was a graduation (`graduation_exit_types`).
    SecondaryConcentratorGraduates,
}

impl Population {
    /// The name disclosure control relates tables by: the run report counts the concentrators.
    pub fn universe(self) -> &'static str {
        match self {
            Population::SecondaryConcentratorExiters => "concentrators",
            Population::SecondaryConcentratorGraduates => "concentrator_graduates",
        }
    }

    /// Which rows of the person-level `outcomes` table are in the population, as SQL.
    pub fn predicate(self) -> Option<&'static str> {
        match self {
            Population::SecondaryConcentratorExiters => None,
            Population::SecondaryConcentratorGraduates => Some("graduated"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denominator {
    pub doc: String,
    /// Only the people of the population with every one of these outcomes (persistence counts
    /// the seamless enrollers); none narrows nothing.
    #[serde(default)]
    pub all: Vec<Outcome>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numerator {
    pub doc: String,
    /// A person of the denominator is counted when any of these outcomes holds.
    pub any: Vec<Outcome>,
}

/// Statistics of earnings over the people of the numerator: the median of a quarter's earnings
/// (`quarter_after_exit`, `column`), or percentiles of a calendar year's (`year_after_exit`,
/// `percentiles`: published column = percentile) in constant dollars.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Earnings {
    pub statistic: Statistic,
    #[serde(default)]
    pub quarter_after_exit: Option<u8>,
    #[serde(default)]
    pub year_after_exit: Option<u8>,
    /// The published column of a median.
    #[serde(default)]
    pub column: Option<String>,
    /// The published columns of percentiles, each with its percentile (1 to 99).
    #[serde(default)]
    pub percentiles: std::collections::BTreeMap<String, u8>,
    /// The fewest people (the numerator) a statistic is published over.
    #[serde(default = "default_min_people")]
    pub min_people: u64,
    pub doc: String,
}

/// Fewest people an earnings statistic is published over unless a specification says
/// otherwise (issue 17's default for earnings cells).
pub const DEFAULT_MIN_PEOPLE: u64 = 30;

fn default_min_people() -> u64 {
    DEFAULT_MIN_PEOPLE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// The middle value; the mean of the two middle values for an even count.
    Median,
    /// Percentiles by linear interpolation between the nearest values (the 50th is the median).
    Percentiles,
}

/// A name that is a plain SQL identifier and folder name.
pub(super) fn simple_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

/// The dotted key at a byte offset of a TOML text: the nearest table header above it and the
/// key on its line, so a parse error can name the key as well as the line.
pub(super) fn key_at(text: &str, offset: usize) -> String {
    let upto = &text[..offset.min(text.len())];
    let line_start = upto.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    // A table header, not a line of a multi-line array.
    let header_of = |l: &str| {
        let l = l.split_once('#').map_or(l, |(before, _)| before).trim();
        (l.starts_with('[') && l.ends_with(']') && !l.contains(',') && !l.contains('"'))
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    };
    let header = upto[..line_start].lines().rev().find_map(header_of);
    let own_header = header_of(line);
    // A line of its own key; an element of a multi-line array (`{ kind = … },`) is the array's,
    // whose key opens it on an earlier line of the same table.
    let key_of = |l: &str| {
        l.split_once('=')
            .map(|(k, _)| k.trim())
            .filter(|k| {
                !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-. ".contains(c))
            })
            .map(str::to_string)
    };
    let key = own_header.clone().or_else(|| key_of(line)).or_else(|| {
        upto[..line_start]
            .lines()
            .rev()
            .take_while(|l| header_of(l).is_none())
            .find_map(key_of)
    });
    match (header, key) {
        (_, Some(k)) if own_header.is_some() => k,
        (Some(h), Some(k)) => format!("{h}.{k}"),
        (None, Some(k)) => k,
        (Some(h), None) => h,
        (None, None) => "(top level)".to_string(),
    }
}

/// Parses a TOML text into `T`, naming the file and key of any error.
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
) -> Result<T, SpecError> {
    toml::from_str(text).map_err(|e: toml::de::Error| SpecError {
        file: file.to_string(),
        key: e
            .span()
            .map_or_else(|| "(top level)".to_string(), |s| key_at(text, s.start)),
        message: e.message().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_days_parse_and_refuse() {
        assert_eq!(
            MonthDay::parse("10-01"),
            Some(MonthDay { month: 10, day: 1 })
        );
        for bad in ["02-29", "13-01", "1-01", "10/01", "04-31", ""] {
            assert_eq!(MonthDay::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_are_found_from_offsets() {
        let text = "id = \"x\"\n[numerator]\ndoc = \"d\"\nextra = 1\n";
        assert_eq!(key_at(text, 0), "id");
        let at = text.find("extra").unwrap();
        assert_eq!(key_at(text, at), "numerator.extra");
        assert_eq!(key_at(text, text.find("[numerator]").unwrap()), "numerator");
        let text =
            "[numerator]\ndoc = \"d\"\nany = [\n  { kind = \"a\" },\n  { kind = \"b\" },\n]\n";
        assert_eq!(key_at(text, text.find("\"b\"").unwrap()), "numerator.any");
    }
}
