//! `p20w query RELEASE "SQL"`: every dataset of a release as a table, queried with DataFusion.

use std::io::Write;
use std::path::Path;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::RunError;

/// How query results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Registers every dataset folder of `release` (folders holding Parquet) under its name.
pub async fn open_release(release: &Path) -> Result<SessionContext, RunError> {
    let ctx = SessionContext::new();
    crate::udf::register_model_functions(&ctx);
    let entries = std::fs::read_dir(release).map_err(|e| RunError::io(release, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RunError::io(release, e))?;
        let path = entry.path();
        let has_parquet = path.is_dir()
            && std::fs::read_dir(&path)
                .map_err(|e| RunError::io(&path, e))?
                .flatten()
                .any(|f| f.path().extension().is_some_and(|x| x == "parquet"));
        if has_parquet {
            names.push((entry.file_name().to_string_lossy().to_string(), path));
        }
    }
    if names.is_empty() {
        return Err(RunError::Internal(format!(
            "{} holds no Parquet datasets",
            release.display()
        )));
    }
    for (name, path) in names {
        ctx.register_parquet(
            name.as_str(),
            &format!("{}/", path.display()),
            ParquetReadOptions::default(),
        )
        .await?;
    }
    Ok(ctx)
}

/// Runs `sql` against a release and returns the batches.
pub async fn query_release(release: &Path, sql: &str) -> Result<Vec<RecordBatch>, RunError> {
    let ctx = open_release(release).await?;
    Ok(ctx.sql(sql).await?.collect().await?)
}

/// Writes batches in `format` to `out` (stdout for Table/Csv/Json when `out` is None).
pub fn write_results(
    batches: &[RecordBatch],
    format: OutputFormat,
    out: Option<&Path>,
) -> Result<(), RunError> {
    use datafusion::arrow::csv::Writer as CsvWriter;
    use datafusion::arrow::json::ArrayWriter;
    let mut sink: Box<dyn std::io::Write> = match out {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| RunError::io(p, e))?),
        None => Box::new(crate::stdout::Stdout),
    };
    let io = |e: std::io::Error| RunError::Io {
        path: out.map_or("stdout".into(), |p| p.display().to_string()),
        source: e,
    };
    match format {
        OutputFormat::Table => writeln!(sink, "{}", pretty_format_batches(batches)?).map_err(io)?,
        OutputFormat::Csv => {
            let mut w = CsvWriter::new(sink);
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = ArrayWriter::new(sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Parquet => {
            let path =
                out.ok_or_else(|| RunError::Internal("Parquet output needs --out FILE".into()))?;
            let schema = batches
                .first()
                .map(|b| b.schema())
                .ok_or_else(|| RunError::internal("no result"))?;
            let file = std::fs::File::create(path).map_err(|e| RunError::io(path, e))?;
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    Ok(())
}
