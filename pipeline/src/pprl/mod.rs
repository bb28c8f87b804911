//! `p20w encode` and `p20w link`: privacy-preserving record linkage between agencies.
//!
//! An agency runs [`encode_people`] on its own person file; the encoded Parquet file holds
//! record keys, SSN pseudonyms and keyed Bloom-filter encodings, never a clear value. The
//! linkage unit runs [`link_files`] on two or more encoded files and gets a link table and
//! stable person link ids. [`evaluate`] does both on two clear CSV files with a throw-away key,
//! so anyone can score the linkage on their own data.

mod encoded;
mod evaluate;
mod link_files;
mod people;

pub use encoded::{EncodedFile, read_encoded};
pub use evaluate::{EvaluationSummary, evaluate};
pub use link_files::{LinkSummary, PairSummary, link_files, read_link_ids};
pub use people::{EncodeSummary, RejectedRow, encode_people};

/// What stops an encode or a link, naming the file (and line) at fault.
#[derive(Debug, thiserror::Error)]
pub enum PprlError {
    #[error("{file}: {message}")]
    Input { file: String, message: String },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {source}")]
    Parquet {
        file: String,
        #[source]
        source: datafusion::parquet::errors::ParquetError,
    },
    #[error("{file}: {source}")]
    Arrow {
        file: String,
        #[source]
        source: datafusion::arrow::error::ArrowError,
    },
}

impl PprlError {
    fn input(file: &std::path::Path, message: impl Into<String>) -> PprlError {
        PprlError::Input {
            file: file.display().to_string(),
            message: message.into(),
        }
    }
}
