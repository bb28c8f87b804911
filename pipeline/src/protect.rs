//! Stage 6: apply the release's suppression rule to every aggregate row and give the
//! published tables their final, sorted shape.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef,
};
use p20w_privacy::{CellStatus, SuppressionRule, complete_pattern};
use p20w_schemas::{ALL, DIMENSIONS};
use std::collections::{BTreeMap, HashMap};

use crate::RunError;
use crate::measure::{MeasureFamily, dimension_columns};

/// The schema of a published dataset of `family`.
pub fn published_schema(family: MeasureFamily) -> SchemaRef {
    let mut fields = vec![Field::new("cohort", DataType::Int32, false)];
    fields.extend(
        dimension_columns()
            .into_iter()
            .map(|d| Field::new(d, DataType::Utf8, false)),
    );
    fields.push(Field::new("measure", DataType::Utf8, false));
    fields.push(Field::new("denominator", DataType::Int64, true));
    fields.push(Field::new("numerator", DataType::Int64, true));
    fields.push(Field::new("rate", DataType::Float64, true));
    if family.has_earnings() {
        fields.push(Field::new("median_earnings", DataType::Float64, true));
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

struct Row {
    cohort: i32,
    dims: Vec<String>,
    measure: String,
    denominator: u64,
    numerator: u64,
    median: Option<f64>,
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, RunError> {
    b.column_by_name(name)
        .ok_or_else(|| RunError::internal(&format!("aggregate lacks {name}")))
}

/// Suppresses and sorts the aggregate rows of one family.
pub fn protect(
    family: MeasureFamily,
    aggregates: &[RecordBatch],
    rule: SuppressionRule,
) -> Result<(RecordBatch, SuppressionCounts), RunError> {
    let dims = dimension_columns();
    let mut rows = Vec::new();
    for b in aggregates {
        let cohort = cast(column(b, "cohort")?, &DataType::Int32)?;
        let den = cast(column(b, "denominator")?, &DataType::Int64)?;
        let num = cast(column(b, "numerator")?, &DataType::Int64)?;
        let measure = cast(column(b, "measure")?, &DataType::Utf8)?;
        let dim_cols: Vec<ArrayRef> = dims
            .iter()
            .map(|d| cast(column(b, d)?, &DataType::Utf8).map_err(RunError::from))
            .collect::<Result<_, _>>()?;
        let median = match family.has_earnings() {
            true => Some(cast(column(b, "median_earnings")?, &DataType::Float64)?),
            false => None,
        };
        let (cohort, den, num) = (
            cohort.as_primitive::<Int32Type>(),
            den.as_primitive::<Int64Type>(),
            num.as_primitive::<Int64Type>(),
        );
        let measure = measure.as_string::<i32>();
        let dim_cols: Vec<_> = dim_cols.iter().map(|c| c.as_string::<i32>()).collect();
        let median = median.as_ref().map(|m| m.as_primitive::<Float64Type>());
        for i in 0..b.num_rows() {
            rows.push(Row {
                cohort: cohort.value(i),
                dims: dim_cols.iter().map(|c| c.value(i).to_string()).collect(),
                measure: measure.value(i).to_string(),
                denominator: den.value(i) as u64,
                numerator: if num.is_null(i) {
                    0
                } else {
                    num.value(i) as u64
                },
                median: median.and_then(|m| m.is_valid(i).then(|| m.value(i))),
            });
        }
    }
    rows.sort_by(|a, b| (a.cohort, &a.dims).cmp(&(b.cohort, &b.dims)));

    let n = rows.len();
    let mut cohort = Int32Builder::with_capacity(n);
    let mut dim_builders: Vec<StringBuilder> = dims.iter().map(|_| StringBuilder::new()).collect();
    let mut measure = StringBuilder::new();
    let (mut den, mut num) = (
        Int64Builder::with_capacity(n),
        Int64Builder::with_capacity(n),
    );
    let (mut rate, mut median) = (
        Float64Builder::with_capacity(n),
        Float64Builder::with_capacity(n),
    );
    let mut status = StringBuilder::new();
    let pattern = SuppressionPattern::for_rows(&rows, rule);
    for (i, r) in rows.iter().enumerate() {
        cohort.append_value(r.cohort);
        for (b, v) in dim_builders.iter_mut().zip(&r.dims) {
            b.append_value(v);
        }
        measure.append_value(&r.measure);
        den.append_option((!pattern.denominator[i]).then_some(r.denominator as i64));
        if pattern.numerator[i] {
            num.append_null();
            rate.append_null();
            median.append_null();
            status.append_value(CellStatus::Suppressed.as_str());
        } else {
            num.append_value(r.numerator as i64);
            rate.append_value(r.numerator as f64 / r.denominator as f64);
            median.append_option(r.median);
            status.append_value(CellStatus::Published.as_str());
        }
    }
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(cohort.finish())];
    arrays.extend(
        dim_builders
            .into_iter()
            .map(|mut b| Arc::new(b.finish()) as ArrayRef),
    );
    arrays.push(Arc::new(measure.finish()));
    arrays.push(Arc::new(den.finish()));
    arrays.push(Arc::new(num.finish()));
    arrays.push(Arc::new(rate.finish()));
    if family.has_earnings() {
        arrays.push(Arc::new(median.finish()));
    }
    arrays.push(Arc::new(status.finish()));
    let counts = SuppressionCounts {
        primary: pattern.primary,
        complementary: pattern.numerator.iter().filter(|h| **h).count() as u64 - pattern.primary,
    };
    Ok((
        RecordBatch::try_new(published_schema(family), arrays)?,
        counts,
    ))
}

/// How many rate cells of a table were suppressed, and why.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SuppressionCounts {
    /// Below the minimum cell size themselves.
    pub primary: u64,
    /// Hidden so that no primary cell can be recovered by subtraction.
    pub complementary: u64,
}

/// Which numerators (with their rates and medians) and which denominators stay hidden.
struct SuppressionPattern {
    numerator: Vec<bool>,
    denominator: Vec<bool>,
    primary: u64,
}

impl SuppressionPattern {
    /// Primary suppression by the rule, then complementary suppression over the table's
    /// additive relations. A hidden denominator hides its rate too (numerator ÷ rate would
    /// give it back), so the two patterns are completed until they agree.
    fn for_rows(rows: &[Row], rule: SuppressionRule) -> SuppressionPattern {
        let mut numerator: Vec<bool> = rows
            .iter()
            .map(|r| rule.rate_cell(r.denominator, r.numerator) == CellStatus::Suppressed)
            .collect();
        let primary = numerator.iter().filter(|h| **h).count() as u64;
        let mut denominator: Vec<bool> = rows
            .iter()
            .map(|r| rule.statistic_cell(r.denominator) == CellStatus::Suppressed)
            .collect();
        let weight: Vec<(u8, u64)> = rows
            .iter()
            .map(|r| (cost_class(r), r.denominator))
            .collect();
        let relations = additive_relations(rows);
        loop {
            complete_pattern(&mut numerator, &weight, &relations);
            complete_pattern(&mut denominator, &weight, &relations);
            let mut changed = false;
            for (n, d) in numerator.iter_mut().zip(&denominator) {
                if *d && !*n {
                    *n = true;
                    changed = true;
                }
            }
            if !changed {
                return SuppressionPattern {
                    numerator,
                    denominator,
                    primary,
                };
            }
        }
    }
}

/// Which cells to give up first when a partner must be hidden: "not reported" groups and the
/// non-members of a special population (0), then any other group (1), the cohort total last
/// (2). Within a class the smallest denominator goes first.
fn cost_class(r: &Row) -> u8 {
    let mut grouped = r
        .dims
        .iter()
        .zip(dimension_columns())
        .filter(|(v, _)| *v != ALL)
        .peekable();
    if grouped.peek().is_none() {
        return 2;
    }
    let low_value = grouped.any(|(v, name)| {
        DIMENSIONS
            .iter()
            .find(|d| d.name == name)
            .is_some_and(|d| v == d.not_reported || Some(v.as_str()) == d.non_member)
    });
    if low_value { 0 } else { 1 }
}

/// The additive relations among a table's rows, cohort by cohort: each dimension's groups add
/// up to the cohort total, and the race × sex cells add up to each race row and each sex row.
fn additive_relations(rows: &[Row]) -> Vec<Vec<usize>> {
    let dims = dimension_columns();
    let pos = |name: &str| {
        dims.iter()
            .position(|d| *d == name)
            .expect("known dimension")
    };
    let (race, sex) = (pos("race_ethnicity"), pos("sex"));
    let index: HashMap<(i32, &[String]), usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.cohort, r.dims.as_slice()), i))
        .collect();
    // A row's dimensions other than `All`, by position.
    let grouped = |r: &Row| -> Vec<usize> {
        r.dims
            .iter()
            .enumerate()
            .filter(|(_, v)| *v != ALL)
            .map(|(k, _)| k)
            .collect()
    };
    let parent = |r: &Row, keep: usize| {
        let mut dims = r.dims.clone();
        for (k, v) in dims.iter_mut().enumerate() {
            if k != keep {
                *v = ALL.to_string();
            }
        }
        index.get(&(r.cohort, dims.as_slice())).copied()
    };
    let mut relations: BTreeMap<(i32, usize, Option<usize>), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        match grouped(r).as_slice() {
            [k] => {
                let total = index
                    .get(&(r.cohort, vec![ALL.to_string(); dims.len()].as_slice()))
                    .copied();
                relations
                    .entry((r.cohort, *k, None))
                    .or_insert_with(|| total.into_iter().collect())
                    .push(i);
            }
            [a, b] if (*a, *b) == (race.min(sex), race.max(sex)) => {
                for keep in [race, sex] {
                    if let Some(margin) = parent(r, keep) {
                        relations
                            .entry((r.cohort, keep, Some(margin)))
                            .or_insert_with(|| vec![margin])
                            .push(i);
                    }
                }
            }
            _ => {}
        }
    }
    relations.into_values().collect()
}
