//! Small helpers for running the pipeline's SQL.

use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int64Type, Schema};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::RunError;

/// Runs a statement whose result is not needed (DDL).
pub async fn exec(ctx: &SessionContext, sql: &str) -> Result<(), RunError> {
    ctx.sql(sql).await?.collect().await?;
    Ok(())
}

/// Runs a query returning one integer.
pub async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, RunError> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| RunError::internal(sql))?;
    let col = datafusion::arrow::compute::cast(b.column(0), &DataType::Int64)?;
    let v = col.as_primitive::<Int64Type>();
    Ok(if v.is_null(0) { 0 } else { v.value(0) as u64 })
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
    ctx.register_parquet(name, &path, options).await?;
    Ok(())
}

/// Collects a query into batches.
pub async fn collect(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>, RunError> {
    Ok(ctx.sql(sql).await?.collect().await?)
}
