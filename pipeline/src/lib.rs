//! The p20w run: ingest → pseudonymize → link → measure → disaggregate → protect → publish,
//! and the `p20w` command line built on it.
//!
//! [`run::run_job`] takes a validated [`config::JobConfig`] through every stage in one
//! DataFusion session with a memory cap, keeping pseudonymized intermediate data in a private
//! work folder that is removed at the end. [`query::query_release`] lets researchers run SQL
//! over a published release.

pub mod agreement;
pub mod audit;
pub mod config;
pub mod demo;
pub mod destroy;
mod engine_error;
pub mod ingest;
pub mod link;
pub mod logging;
pub mod measures;
mod person_rows;
pub mod pprl;
pub mod progress;
pub mod protect;
pub mod publish;
pub mod quarantine;
pub mod query;
pub mod report;
pub mod run;
pub mod session;
mod sql;
pub mod stdout;
pub mod stop;
pub mod tables;
pub mod udf;
pub mod upload;
pub mod validate;
pub mod verify;
pub mod wages;
pub mod workdir;

use std::path::Path;

/// Everything that can stop a run, in the operator's words.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Key(#[from] p20w_privacy::KeyError),
    #[error(transparent)]
    Connector(#[from] p20w_connectors::ConnectorError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    /// The job breaks a clause of its agreement; nothing was read.
    #[error(transparent)]
    Refused(#[from] agreement::Refusal),
    #[error(
        "source {source_name}: {quarantined} of {read} rows quarantined, more than the \
         {max_share} the job allows (max_quarantined_share); see quarantine and the unmapped \
         codes in the run report"
    )]
    SourceLoss {
        source_name: String,
        quarantined: u64,
        read: u64,
        max_share: f64,
    },
    #[error("source {source_name}: {message}")]
    Source {
        source_name: String,
        message: String,
    },
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("arrow: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("parquet: {0}")]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "release {0} already exists; releases are never overwritten (set release_id or remove it)"
    )]
    ReleaseExists(String),
    /// `p20w verify` was pointed at something that is not a folder.
    #[error("{0} is not a release folder (the folder holding manifest.json)")]
    NotARelease(String),
    /// A `p20w query` that would change something: a usage error, not a failed run.
    #[error("query refused: {0}")]
    QueryRefused(String),
    #[error(
        "measure {measure} needs {entity}.{field}, and no record of the job's {entity} sources \
         holds one (a CSV without the column?): its figures would read as measured zeros. \
         Add the field to the source, or leave the measure out of the job"
    )]
    MissingField {
        measure: String,
        entity: String,
        field: String,
    },
    #[error(
        "the CPI-U table (definitions `cpi_u`) has no annual average for {years:?}: earnings in \
         those years cannot be stated in {constant_dollar_year} dollars. Add them in the job's \
         [definitions.cpi_u] (BLS series CUUR0000SA0, annual average)"
    )]
    MissingCpi {
        years: Vec<i32>,
        constant_dollar_year: i32,
    },
    #[error("internal error: {0}")]
    Internal(String),
    #[error(
        "{stage} ran out of memory: it needs more than memory_limit_mib = {limit_mib} allows, \
         even spilling to disk. Raise memory_limit_mib in the job file, or set work_dir to a \
         folder on a disk with free space for spill files"
    )]
    OutOfMemory { stage: String, limit_mib: usize },
    #[error(
        "internal error in {stage}: {detail}. This is a p20w bug (its own SQL names a table or \
         column that does not exist); please report it with the log of \
         RUST_LOG=p20w_pipeline=debug"
    )]
    Bug { stage: String, detail: String },
    #[error("{stage}: cannot read or write {path}: {detail}")]
    Storage {
        stage: String,
        path: String,
        detail: String,
    },
    #[error("{stage}: query engine: {detail}")]
    Engine { stage: String, detail: String },
}

impl RunError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> RunError {
        RunError::Io {
            path: path.display().to_string(),
            source,
        }
    }
    pub(crate) fn internal(what: &str) -> RunError {
        RunError::Internal(what.to_string())
    }
}
