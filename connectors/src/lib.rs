//! Connectors: read an agency extract into canonical Arrow batches of the ingest schema
//! (`p20w_schemas::Entity::ingest_schema`), with every row either accepted or quarantined.
//!
//! A connector validates every field against the canonical model: type, required-ness, code
//! set, CIP format or program catalogue. A row that fails becomes a [`QuarantinedRow`] naming
//! the file, line, field and rule, and never the offending value, since that value may be an
//! identifier. Identifiers themselves leave a connector still in the clear; the pipeline
//! pseudonymizes them before anything is written.
//!
//! Formats ([`format`], one folder each) and locations ([`location`]) are separate axes; every
//! format hands its records' field texts to the one [`record::RecordBuilder`], so every format
//! over every location yields the same validated [`SourceBatch`] stream.

pub mod format;
pub mod location;
pub mod plausible;
pub mod record;
mod value;

use arrow_array::RecordBatch;

pub use format::{FORMATS, ReadSummary, SkippedRecords, SourceReader, SourceSpec, open};
pub use location::{
    InputFile, Location, LocationError, ObjectLocation, PostgresLocation, Relation, runtime_handle,
};
pub use record::{RecordBuilder, UnmappedCode, UnmappedCodes, Validation};
pub use value::{Rule, parse_cents};

/// Why a source could not be read at all (as opposed to a bad row, which is quarantined).
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: malformed CSV near line {line}: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file}: the header lacks required column(s) {missing:?} of entity {entity}")]
    MissingColumns {
        file: String,
        entity: &'static str,
        missing: Vec<String>,
    },
    #[error("{file}: column {column:?} appears twice in the header")]
    DuplicateColumn { file: String, column: String },
    #[error("source {source_name}: unknown format {format:?}; known formats: {known:?}")]
    UnknownFormat {
        source_name: String,
        format: String,
        known: Vec<&'static str>,
    },
    #[error(
        "source {source_name}: format {format} cannot read entity {entity} (it reads {supported:?})"
    )]
    UnsupportedEntity {
        source_name: String,
        format: String,
        entity: &'static str,
        supported: Vec<&'static str>,
    },
    #[error("source {source_name}: options of format {format}: {message}")]
    Options {
        source_name: String,
        format: String,
        message: String,
    },
    #[error("{file}: {message}")]
    Format { file: String, message: String },
    #[error("{file}: {source}")]
    Arrow {
        file: String,
        source: arrow_schema::ArrowError,
    },
}

/// A row that failed validation. It carries where and why, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedRow {
    pub file: String,
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The failing field, when one field is at fault.
    pub field: Option<String>,
    pub rule: Rule,
    pub message: String,
}

/// One step of a source: accepted records and the rows quarantined while reading them.
#[derive(Debug)]
pub struct SourceBatch {
    pub records: RecordBatch,
    /// The 1-based input line of each accepted record, in `records`' order: what `p20w
    /// validate` names when a rule spans rows (a duplicate key, a missing reference).
    pub lines: Vec<u64>,
    /// The file of those records: `(i, file)` holds from record `i` until the next entry.
    pub files: Vec<(usize, String)>,
    pub quarantined: Vec<QuarantinedRow>,
}

impl SourceBatch {
    /// The file and line of accepted record `row`.
    pub fn place(&self, row: usize) -> (&str, u64) {
        let file = self
            .files
            .iter()
            .rev()
            .find(|(first, _)| *first <= row)
            .map_or("", |(_, f)| f.as_str());
        (file, self.lines.get(row).copied().unwrap_or(0))
    }
}

/// What a source read, for the run report; `read == accepted + quarantined` always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    pub read: u64,
    pub accepted: u64,
    pub quarantined: u64,
}
