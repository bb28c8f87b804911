//! Small helpers for running the pipeline's SQL. Each statement is logged at debug level: it
//! is the pipeline's own SQL, built from the model, and holds no data values.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int64Type, Schema};
use datafusion::common::TableReference;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::RunError;

/// Runs a statement whose result is not needed (DDL).
pub async fn exec(ctx: &SessionContext, sql: &str) -> Result<(), RunError> {
    tracing::debug!(sql, "statement");
    ctx.sql(sql).await?.collect().await?;
    Ok(())
}

/// Runs a query returning one integer.
pub async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, RunError> {
    tracing::debug!(sql, "query");
    let batches = ctx.sql(sql).await?.collect().await?;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| RunError::internal(sql))?;
    Ok(u64_column(b, 0)?[0])
}

/// Column `col` of `b` as counts (NULL as 0), cast once.
pub fn u64_column(b: &RecordBatch, col: usize) -> Result<Vec<u64>, RunError> {
    let a = datafusion::arrow::compute::cast(b.column(col), &DataType::Int64)?;
    let a = a.as_primitive::<Int64Type>();
    Ok((0..a.len())
        .map(|i| if a.is_null(i) { 0 } else { a.value(i) as u64 })
        .collect())
}

/// Column `col` of `b` as strings, cast once.
pub fn string_column(b: &RecordBatch, col: usize) -> Result<Vec<String>, RunError> {
    let a = datafusion::arrow::compute::cast(b.column(col), &DataType::Utf8)?;
    let a = a.as_string::<i32>();
    Ok((0..a.len()).map(|i| a.value(i).to_string()).collect())
}

/// Writes a query's result as Parquet under the work folder and registers it as `name`, so
/// later stages read it back in batches instead of recomputing or holding it.
pub async fn materialize(
    ctx: &SessionContext,
    work: &Path,
    name: &str,
    sql: &str,
) -> Result<(), RunError> {
    let dir = work.join(format!("derived_{name}"));
    tracing::debug!(table = name, sql, "materialize");
    let df = ctx.sql(sql).await?;
    let schema = df.schema().as_arrow().clone();
    let path = format!("{}/", dir.display());
    df.write_parquet(&path, DataFrameWriteOptions::new(), None)
        .await?;
    register_written(ctx, name, &dir, &schema).await
}

/// Registers Parquet this run wrote under `dir` with the schema it was written with: an empty
/// result writes no file, and the table must still bind.
pub async fn register_written(
    ctx: &SessionContext,
    name: &str,
    dir: &Path,
    schema: &Schema,
) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
    let path = format!("{}/", dir.display());
    let options = ParquetReadOptions::default().schema(schema);
    ctx.register_parquet(TableReference::bare(name), &path, options)
        .await?;
    Ok(())
}

/// Collects a query into batches.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, RunError> {
    tracing::debug!(sql, "query");
    Ok(ctx.sql(sql).await?.collect().await?)
}
