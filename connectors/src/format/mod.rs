//! The formats agencies send, one folder each: a config struct (the source's `[options]` in the
//! job file, unknown keys refused), a reader that finds each record's fields in the format's own
//! layout, and tests beside it. Every reader hands field texts to [`RecordBuilder`], so every
//! format yields the same validated [`SourceBatch`] stream whatever the [`Location`].

pub mod csv;
pub mod edfi;
pub mod efw2;
pub mod fixed_width;
pub mod icesa;
pub mod nsc;
pub mod parquet;
pub mod pesc;
pub mod pirl;
mod shipped;

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

    /// The error for a format asked to read an entity it does not carry.
    pub(crate) fn unsupported(&self, supported: &[Entity]) -> ConnectorError {
        ConnectorError::UnsupportedEntity {
            source_name: self.name.clone(),
            format: self.format.clone(),
            entity: self.entity.name(),
            supported: supported.iter().map(|e| e.name()).collect(),
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
    /// Input records that are not records of the source's entity (an NSC not-found row, a
    /// degree row under an enrollment source), by reason: neither read nor quarantined, but
    /// counted, so input rows = `counts.read` + the sum of these.
    pub skipped: Vec<SkippedRecords>,
}

/// Input records of one kind that a source passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SkippedRecords {
    pub reason: String,
    pub records: u64,
}

/// An open source: a stream of validated batches plus what it has read.
pub trait SourceReader: Iterator<Item = Result<SourceBatch, ConnectorError>> + Send {
    fn summary(&self) -> ReadSummary;
    /// Bytes read so far, for progress.
    fn bytes_read(&self) -> u64;
}

/// The registered formats, as job files name them.
pub const FORMATS: &[&str] = &[
    "csv",
    "edfi_json",
    "edfi_xml",
    "efw2",
    "icesa",
    "nsc",
    "parquet",
    "pesc",
    "pirl",
];

/// Opens `spec` with its format's reader.
pub fn open(spec: &SourceSpec) -> Result<Box<dyn SourceReader>, ConnectorError> {
    match spec.format.as_str() {
        "csv" => Ok(Box::new(csv::open(spec)?)),
        "icesa" => Ok(Box::new(icesa::open(spec)?)),
        "efw2" => Ok(Box::new(efw2::open(spec)?)),
        "nsc" => Ok(Box::new(nsc::open(spec)?)),
        "pesc" => Ok(Box::new(pesc::open(spec)?)),
        "pirl" => Ok(Box::new(pirl::open(spec)?)),
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
