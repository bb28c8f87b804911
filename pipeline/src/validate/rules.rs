//! The rules `p20w validate` reports, in tiers, each with a stable id and a severity.
//!
//! Ids are `V<tier>.<name>`. Row rules keep the connector's own rule id as their name (the
//! `rule` column of `quarantine.csv`), so `V2.date` in a validation report is the `date` that
//! `p20w run` quarantines. Errors are rows `run` quarantines (or a source it cannot read);
//! warnings are rows `run` accepts that an operator should look at.

use p20w_connectors::Rule;
use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// `run` quarantines the row or cannot read the source.
    Error,
    /// `run` accepts the row; it is worth a look.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One reported check: a connector's row rule, or one only `validate` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// A row rule of the connectors: the row is quarantined by `run` too.
    Row(RuleKey),
    /// The job's settings for the source are wrong (unknown format, bad options): exit 2.
    Options,
    /// The source cannot be opened: a missing file, a header without a required column.
    Open,
    /// Reading stopped partway: an I/O error, or a syntax error the format cannot step over.
    Read,
    /// Codes the crosswalk does not map, turned into not-reported codes (`unmapped_codes =
    /// "not_reported"`): the rows are accepted with less information.
    UnmappedNotReported,
    /// An accepted row repeats the natural key of an earlier accepted row of the entity.
    DuplicateKey,
    /// A K-12 record whose `state_student_id` has no accepted person row.
    UnknownStudent,
    /// A postsecondary award whose institution and student have no accepted enrollment.
    AwardWithoutEnrollment,
    /// A postsecondary award dated before the student's first enrollment at the institution.
    AwardBeforeEnrollment,
}

/// [`Rule`] with an order, so checks sort by tier and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleKey(pub Rule);

impl PartialOrd for RuleKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RuleKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}

/// The tiers in the order they are judged: a row reaches the key and reference checks only
/// once it has passed every row rule (as in WIOA's WIPS, where duplicate and logical checks
/// wait for the valid-value checks).
pub const TIERS: [(u8, &str); 6] = [
    (
        1,
        "file: readable, opens in its format, records split into fields",
    ),
    (2, "fields: required fields present, types and ranges"),
    (
        3,
        "codes: code sets after the crosswalk, CTE program catalogue",
    ),
    (4, "keys: duplicate natural keys"),
    (5, "logic: fields of one row that must agree"),
    (
        6,
        "references: records naming a person or enrollment another source lacks",
    ),
];

/// The tier of each connector rule. Exhaustive on purpose: a new rule must be given a tier.
pub fn tier_of(rule: Rule) -> u8 {
    match rule {
        Rule::Malformed
        | Rule::FieldCount
        | Rule::Encoding
        | Rule::RecordLength
        | Rule::RecordType
        | Rule::RecordOrder => 1,
        Rule::Required
        | Rule::Date
        | Rule::Integer
        | Rule::Range
        | Rule::Money
        | Rule::Digits
        | Rule::CipFormat => 2,
        Rule::Code | Rule::UnmappedCode | Rule::CteProgram => 3,
        Rule::QuarterWindow
        | Rule::ExitBeforeEntry
        | Rule::EndBeforeBegin
        | Rule::ReceivedBeforeQuarter => 5,
        Rule::Reference => 6,
    }
}

impl Check {
    pub fn row(rule: Rule) -> Check {
        Check::Row(RuleKey(rule))
    }

    pub fn tier(self) -> u8 {
        match self {
            Check::Row(RuleKey(r)) => tier_of(r),
            Check::Options | Check::Open | Check::Read => 1,
            Check::UnmappedNotReported => 3,
            Check::DuplicateKey => 4,
            Check::UnknownStudent
            | Check::AwardWithoutEnrollment
            | Check::AwardBeforeEnrollment => 6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Check::Row(RuleKey(r)) => r.as_str(),
            Check::Options => "options",
            Check::Open => "open",
            Check::Read => "read",
            Check::UnmappedNotReported => "unmapped_code_not_reported",
            Check::DuplicateKey => "duplicate_key",
            Check::UnknownStudent => "unknown_student",
            Check::AwardWithoutEnrollment => "award_without_enrollment",
            Check::AwardBeforeEnrollment => "award_before_enrollment",
        }
    }

    /// The stable id, `V<tier>.<name>`.
    pub fn id(self) -> String {
        format!("V{}.{}", self.tier(), self.name())
    }

    pub fn severity(self) -> Severity {
        match self {
            Check::Row(_) | Check::Options | Check::Open | Check::Read => Severity::Error,
            Check::UnmappedNotReported
            | Check::DuplicateKey
            | Check::UnknownStudent
            | Check::AwardWithoutEnrollment
            | Check::AwardBeforeEnrollment => Severity::Warning,
        }
    }

    /// Every check, row rules first (for the README table and its test).
    pub fn all() -> Vec<Check> {
        let mut all: Vec<Check> = Rule::ALL.into_iter().map(Check::row).collect();
        all.extend([
            Check::Options,
            Check::Open,
            Check::Read,
            Check::UnmappedNotReported,
            Check::DuplicateKey,
            Check::UnknownStudent,
            Check::AwardWithoutEnrollment,
            Check::AwardBeforeEnrollment,
        ]);
        all.sort_by_key(|c| (c.tier(), c.id()));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids are unique, and a row rule's id carries the connector's own id.
    #[test]
    fn ids_are_unique_and_row_rules_keep_the_connector_id() {
        let mut ids: Vec<String> = Check::all().iter().map(|c| c.id()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "ids are unique");
        for r in Rule::ALL {
            assert_eq!(
                Check::row(r).id(),
                format!("V{}.{}", tier_of(r), r.as_str())
            );
            assert_eq!(Rule::from_id(r.as_str()), Some(r));
        }
        assert_eq!(Check::row(Rule::Date).id(), "V2.date");
        assert_eq!(Check::DuplicateKey.id(), "V4.duplicate_key");
    }

    /// The README's table of validate rules lists every id with its severity.
    #[test]
    fn the_readme_lists_every_check() {
        let readme = include_str!("../../../README.md");
        for c in Check::all() {
            let row = format!("| `{}` | {} |", c.id(), c.severity().as_str());
            assert!(readme.contains(&row), "README lacks the row starting {row}");
        }
    }
}
