//! Checks that span several fields of one row, after each field has passed its own check.
//! Every format's rows pass through here (via [`crate::record::RecordBuilder`]), so `p20w run`
//! quarantines and `p20w validate` reports the same rows.
//!
//! - **Quarter window** (`quarter_window`). A wage record names its quarter in two fields
//!   (`year`, `quarter`), each valid alone; the pair must still name a quarter whose wages could
//!   have been reported. Employers report a quarter's wages only once it has begun, so a quarter
//!   after the current calendar quarter holds no real wages: such a row is a keying error (a
//!   year of 2099), and one such row would otherwise stretch the wage file's apparent coverage.
//!   The lower bound is the `year` field's own range (1990 onward, rule `range`): older wages
//!   are not in any state's UI wage archive that a P-20W system links to.
//! - **Received before the quarter** (`received_before_quarter`). A wage report is received
//!   once its quarter has begun (in practice after it ends); a record received in an earlier
//!   quarter than the one it reports has one of the two keyed wrong, and the wage resolution
//!   rule (a later report supersedes an earlier one) would order it wrongly.
//! - **Dates in order** (`exit_before_entry`, `end_before_begin`). An enrollment, a program
//!   participation, a postsecondary spell or a work-based learning experience cannot end
//!   before it starts. The same day is allowed (a student enrolled and withdrawn on one day).
//!   A blank end date is a spell still open, not a violation.

use p20w_schemas::{Date, Entity, FieldSpec, YearQuarter};

use crate::value::{Rule, Value};

/// The current calendar quarter by the system clock (UTC): the latest quarter that can hold
/// reported wages.
pub fn current_quarter() -> YearQuarter {
    YearQuarter::of(Date::today())
}

/// Date fields of one row where the later one may not come before the earlier one:
/// (entity, earlier field, later field, rule).
pub const DATE_ORDER: &[(Entity, &str, &str, Rule)] = &[
    (
        Entity::K12Enrollment,
        "entry_date",
        "exit_date",
        Rule::ExitBeforeEntry,
    ),
    (
        Entity::WorkforceParticipation,
        "entry_date",
        "exit_date",
        Rule::ExitBeforeEntry,
    ),
    (
        Entity::PsEnrollment,
        "begin_date",
        "end_date",
        Rule::EndBeforeBegin,
    ),
    (
        Entity::WorkBasedLearning,
        "start_date",
        "end_date",
        Rule::EndBeforeBegin,
    ),
];

/// The first cross-field rule `values` (one row of `entity`, in field order) breaks, as
/// (field at fault, rule, message). Messages name fields, never values.
pub(crate) fn check_row(
    entity: Entity,
    fields: &[FieldSpec],
    values: &[Value<'_>],
    latest_quarter: YearQuarter,
) -> Option<(&'static str, Rule, String)> {
    let value = |name: &str| {
        let i = fields.iter().position(|f| f.name == name)?;
        values.get(i)
    };
    let int = |name: &str| match value(name) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    };
    let days = |name: &str| match value(name) {
        Some(Value::Days(d)) => Some(*d),
        _ => None,
    };
    for &(of, earlier, later, rule) in DATE_ORDER {
        if of != entity {
            continue;
        }
        if let (Some(a), Some(b)) = (days(earlier), days(later))
            && b < a
        {
            return Some((later, rule, format!("{later} is before {earlier}")));
        }
    }
    if entity != Entity::WageRecord {
        return None;
    }
    let quarter_of = |year: &str, quarter: &str| {
        Some(YearQuarter {
            year: int(year)?,
            quarter: int(quarter)? as u32,
        })
    };
    let q = quarter_of("year", "quarter")?;
    if q > latest_quarter {
        return Some((
            "year",
            Rule::QuarterWindow,
            format!(
                "year and quarter name a quarter after {latest_quarter}, the current calendar \
                 quarter; no wages can have been reported for it"
            ),
        ));
    }
    match quarter_of("received_year", "received_quarter") {
        Some(received) if received < q => Some((
            "received_year",
            Rule::ReceivedBeforeQuarter,
            "received_year and received_quarter name a quarter before the one the wages were \
             earned in (year and quarter)"
                .into(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(entity: Entity, set: &[(&str, Value<'a>)]) -> Vec<Value<'a>> {
        entity
            .fields()
            .iter()
            .map(|f| {
                set.iter()
                    .find(|(n, _)| *n == f.name)
                    .map_or(Value::Null, |(_, v)| v.clone())
            })
            .collect()
    }

    fn check(entity: Entity, set: &[(&str, Value<'_>)]) -> Option<(&'static str, Rule)> {
        let q = YearQuarter {
            year: 2024,
            quarter: 3,
        };
        check_row(entity, entity.fields(), &row(entity, set), q).map(|(f, r, m)| {
            assert!(!m.contains("2024") && !m.contains("100"), "{m}");
            (f, r)
        })
    }

    #[test]
    fn date_pairs_must_be_in_order_and_the_same_day_is_allowed() {
        for &(entity, earlier, later, rule) in DATE_ORDER {
            let d = |n| Value::Days(n);
            assert_eq!(
                check(entity, &[(earlier, d(100)), (later, d(99))]),
                Some((later, rule)),
                "{entity:?}"
            );
            assert_eq!(check(entity, &[(earlier, d(100)), (later, d(100))]), None);
            assert_eq!(check(entity, &[(earlier, d(100)), (later, d(101))]), None);
            assert_eq!(check(entity, &[(earlier, d(100))]), None, "open spell");
            assert!(entity.fields().iter().any(|f| f.name == earlier));
        }
        assert_eq!(Rule::ExitBeforeEntry.as_str(), "exit_before_entry");
        assert_eq!(Rule::EndBeforeBegin.as_str(), "end_before_begin");
    }

    #[test]
    fn a_wage_cannot_be_received_before_its_quarter() {
        let i = Value::Int;
        let wage = |ry, rq| {
            check(
                Entity::WageRecord,
                &[
                    ("year", i(2024)),
                    ("quarter", i(2)),
                    ("received_year", i(ry)),
                    ("received_quarter", i(rq)),
                ],
            )
        };
        assert_eq!(
            wage(2024, 1),
            Some(("received_year", Rule::ReceivedBeforeQuarter))
        );
        assert_eq!(
            wage(2023, 4).map(|r| r.1),
            Some(Rule::ReceivedBeforeQuarter)
        );
        assert_eq!(wage(2024, 2), None, "received in the quarter itself");
        assert_eq!(wage(2024, 3), None);
        let unknown = check(Entity::WageRecord, &[("year", i(2024)), ("quarter", i(2))]);
        assert_eq!(unknown, None, "received at an unknown time");
    }
}
