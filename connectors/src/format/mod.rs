//! The formats agencies send, one folder each: a config struct (the source's `[options]` in the
//! job file, unknown keys refused), a reader that finds each record's fields in the format's own
//! layout, and tests beside it. Every reader hands field texts to [`RecordBuilder`], so every
//! format yields the same validated [`SourceBatch`] stream whatever the [`Location`].

pub mod csv;
pub mod edfi;
pub mod parquet;

use p20w_schemas::Entity;
use serde::de::DeserializeOwned;

use crate::location::{InputFile, Location};
use crate::record::{UnmappedCode, Validation};
use crate::{ConnectorError, SourceBatch, SourceCounts};

/// Everything a format needs to open one source of a job.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    /// The source's name in the job file.
    pub name: String,
    pub entity: Entity,
    /// The registered format name (`format = "…"` in the job file).
    pub format: String,
    /// The format's own settings (`[sources.options]`), checked by its config struct.
    pub options: toml::Table,
    pub location: Location,
    pub validation: Validation,
    /// Accepted rows per emitted batch: bounds memory whatever the input size.
    pub batch_rows: usize,
}

impl SourceSpec {
    pub fn new(name: &str, entity: Entity, format: &str, location: Location) -> SourceSpec {
        SourceSpec {
            name: name.to_string(),
            entity,
            format: format.to_string(),
            options: toml::Table::new(),
            location,
            validation: Validation::default(),
            batch_rows: 64 * 1024,
        }
    }

    /// The format's config struct, from `options`.
    pub fn options<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        T::deserialize(toml::Value::Table(self.options.clone())).map_err(|e| {
            ConnectorError::Options {
                source_name: self.name.clone(),
                format: self.format.clone(),
                message: e.to_string(),
            }
        })
    }
}

/// What a reader has read so far; final once it is exhausted.
#[derive(Debug, Clone, Default)]
pub struct ReadSummary {
    pub counts: SourceCounts,
    pub inputs: Vec<InputFile>,
    /// Input columns or elements the canonical model does not have; they were not read.
    pub ignored: Vec<String>,
    pub unmapped: Vec<UnmappedCode>,
}

/// An open source: a stream of validated batches plus what it has read.
pub trait SourceReader: Iterator<Item = Result<SourceBatch, ConnectorError>> + Send {
    fn summary(&self) -> ReadSummary;
    /// Bytes read so far, for progress.
    fn bytes_read(&self) -> u64;
}

/// The registered formats, as job files name them.
pub const FORMATS: &[&str] = &["csv", "parquet", "edfi_json", "edfi_xml"];

/// Opens `spec` with its format's reader.
pub fn open(spec: &SourceSpec) -> Result<Box<dyn SourceReader>, ConnectorError> {
    match spec.format.as_str() {
        "csv" => Ok(Box::new(csv::open(spec)?)),
        "parquet" => Ok(Box::new(parquet::open(spec)?)),
        "edfi_json" => Ok(Box::new(edfi::open_json(spec)?)),
        "edfi_xml" => Ok(Box::new(edfi::open_xml(spec)?)),
        other => Err(ConnectorError::UnknownFormat {
            source_name: spec.name.clone(),
            format: other.to_string(),
            known: FORMATS.to_vec(),
        }),
    }
}
