//! Where a source's bytes live, the second axis beside the format: any format reads from any
//! location through [`Input`], which hashes and counts the bytes as the format pulls them.
//!
//! A location is a root: a file, or a folder (prefix) holding the several files a format such
//! as an Ed-Fi resource dump reads by name. Local files, objects in a cloud store
//! ([`object`]) and PostgreSQL tables or queries ([`postgres`], rendered as CSV) all open as a
//! blocking [`Read`]; the network ones block on the run's runtime, so they are opened and read
//! off its async workers (see [`blocking`]).

mod blocking;
pub mod object;
pub mod postgres;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::ConnectorError;

pub use blocking::runtime_handle;
pub use object::ObjectLocation;
pub use postgres::{PostgresLocation, Relation};

/// A location the job file describes wrongly; the message never holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("{location}: {message}")]
    Invalid { location: String, message: String },
}

/// Where a source is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or folder on local disk.
    Local(PathBuf),
    /// An object, or a prefix of objects, in S3, Google Cloud Storage or Azure Blob Storage.
    Object(ObjectLocation),
    /// A PostgreSQL table or query, read as CSV with a header row.
    Postgres(PostgresLocation),
}

impl Location {
    /// What a report or error calls this location (never a credential).
    pub fn describe(&self) -> String {
        match self {
            Location::Local(p) => p.display().to_string(),
            Location::Object(o) => o.describe(o.path()),
            Location::Postgres(p) => p.describe(),
        }
    }

    /// Opens the location itself (`child` = `None`) or a file under it, for a format that reads
    /// several files from one folder or prefix.
    pub fn open(&self, child: Option<&str>) -> Result<Input, ConnectorError> {
        match self {
            Location::Local(root) => {
                let path = match child {
                    Some(c) => root.join(c),
                    None => root.clone(),
                };
                let name = path.display().to_string();
                let file = File::open(&path).map_err(|source| ConnectorError::Io {
                    file: name.clone(),
                    source,
                })?;
                Ok(Input::new(name, BufReader::with_capacity(1 << 20, file)))
            }
            Location::Object(o) => {
                let path = child.map_or_else(|| o.path().clone(), |c| o.child(c));
                let name = o.describe(&path);
                let read = o.open(&path).map_err(|source| ConnectorError::Io {
                    file: name.clone(),
                    source,
                })?;
                Ok(Input::new(name, BufReader::with_capacity(1 << 20, read)))
            }
            Location::Postgres(p) => {
                let name = p.describe();
                if child.is_some() {
                    return Err(ConnectorError::Format {
                        file: name,
                        message: "a PostgreSQL source is one table or query, not a folder of \
                                  files; this format needs a path or url"
                            .into(),
                    });
                }
                let read = p.open().map_err(|source| ConnectorError::Io {
                    file: name.clone(),
                    source,
                })?;
                Ok(Input::new(name, BufReader::with_capacity(1 << 20, read)))
            }
        }
    }

    /// Whether `child` exists under this location (a format's optional files).
    pub fn exists(&self, child: &str) -> bool {
        match self {
            Location::Local(root) => root.join(child).exists(),
            Location::Object(o) => o.exists(&o.child(child)),
            Location::Postgres(_) => false,
        }
    }
}

/// The bytes of one file or object, hashed (SHA-256) and counted as they are read.
pub struct Input {
    name: String,
    inner: Box<dyn Read + Send>,
    digest: Arc<InputDigest>,
}

/// The running SHA-256 and byte count of an [`Input`]; complete once the input is exhausted.
/// Shared, so a reader buried inside a parser can still be asked.
#[derive(Default)]
pub struct InputDigest {
    sha: Mutex<Sha256>,
    bytes: AtomicU64,
}

impl InputDigest {
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha.lock().expect("not poisoned").clone().finalize())
    }
}

impl Input {
    pub fn new(name: impl Into<String>, inner: impl Read + Send + 'static) -> Input {
        Input {
            name: name.into(),
            inner: Box::new(inner),
            digest: Arc::new(InputDigest::default()),
        }
    }

    /// The file or object's name, as errors and quarantined rows give it.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn digest(&self) -> Arc<InputDigest> {
        self.digest.clone()
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest
            .sha
            .lock()
            .expect("not poisoned")
            .update(&buf[..n]);
        self.digest.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// One input a source read, for the run report and the manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputFile {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

/// The inputs a reader has opened so far, in order.
#[derive(Default, Clone)]
pub struct Inputs {
    opened: Vec<(String, Arc<InputDigest>)>,
}

impl Inputs {
    pub fn track(&mut self, input: &Input) {
        self.opened.push((input.name.clone(), input.digest()));
    }
    pub fn bytes(&self) -> u64 {
        self.opened.iter().map(|(_, d)| d.bytes()).sum()
    }
    pub fn files(&self) -> Vec<InputFile> {
        self.opened
            .iter()
            .map(|(file, d)| InputFile {
                file: file.clone(),
                sha256: d.sha256_hex(),
                bytes: d.bytes(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn inputs_hash_and_count_what_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::File::create(dir.path().join("a.txt"))
            .unwrap()
            .write_all(b"hello")
            .unwrap();
        let location = Location::Local(dir.path().to_path_buf());
        assert!(location.exists("a.txt") && !location.exists("b.txt"));
        let mut input = location.open(Some("a.txt")).unwrap();
        let mut inputs = Inputs::default();
        inputs.track(&input);
        let mut text = String::new();
        input.read_to_string(&mut text).unwrap();
        let files = inputs.files();
        assert_eq!(files[0].bytes, 5);
        assert_eq!(files[0].sha256, hex::encode(Sha256::digest(b"hello")));
        assert!(location.open(Some("b.txt")).is_err());
    }
}
