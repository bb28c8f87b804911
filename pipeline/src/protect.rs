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
use p20w_privacy::{CellStatus, SuppressionRule};

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
) -> Result<(RecordBatch, u64), RunError> {
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
    let mut suppressed = 0;
    for r in &rows {
        cohort.append_value(r.cohort);
        for (b, v) in dim_builders.iter_mut().zip(&r.dims) {
            b.append_value(v);
        }
        measure.append_value(&r.measure);
        let rate_status = rule.rate_cell(r.denominator, r.numerator);
        // The denominator alone is a count of people: publish it only when it is large enough.
        den.append_option(
            (rule.statistic_cell(r.denominator) == CellStatus::Published)
                .then_some(r.denominator as i64),
        );
        if rate_status == CellStatus::Published {
            num.append_value(r.numerator as i64);
            rate.append_value(r.numerator as f64 / r.denominator as f64);
            median.append_option(r.median);
        } else {
            suppressed += 1;
            num.append_null();
            rate.append_null();
            median.append_null();
        }
        status.append_value(rate_status.as_str());
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
    Ok((
        RecordBatch::try_new(published_schema(family), arrays)?,
        suppressed,
    ))
}
