//! Checks that span several fields of one row, after each field has passed its own check.
//!
//! A wage record names its quarter in two fields (`year`, `quarter`), each valid alone; the
//! pair must still name a quarter whose wages could have been reported. Employers report a
//! quarter's wages only once it has begun, so a quarter after the current calendar quarter
//! holds no real wages: such a row is a keying error (a year of 2099), and one such row would
//! otherwise stretch the wage file's apparent coverage. The lower bound is the `year` field's
//! own range (1990 onward, rule `range`): older wages are not in any state's UI wage archive
//! that a P-20W system links to.

use p20w_schemas::{Date, Entity, FieldSpec, YearQuarter};

use crate::value::{Rule, Value};

/// The current calendar quarter by the system clock (UTC): the latest quarter that can hold
/// reported wages.
pub fn current_quarter() -> YearQuarter {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    YearQuarter::of(Date::from_days((secs / 86_400) as i32))
}

/// The first cross-field rule `values` (one row of `entity`, in field order) breaks.
pub(crate) fn check_row(
    entity: Entity,
    fields: &[FieldSpec],
    values: &[Value<'_>],
    latest_quarter: YearQuarter,
) -> Option<(&'static str, Rule, String)> {
    if entity != Entity::WageRecord {
        return None;
    }
    let int = |name: &str| {
        let i = fields.iter().position(|f| f.name == name)?;
        match values.get(i) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        }
    };
    let (year, quarter) = (int("year")?, int("quarter")?);
    let q = YearQuarter {
        year,
        quarter: quarter as u32,
    };
    (q > latest_quarter).then(|| {
        (
            "year",
            Rule::QuarterWindow,
            format!(
                "year and quarter name a quarter after {latest_quarter}, the current calendar \
                 quarter; no wages can have been reported for it"
            ),
        )
    })
}
