//! What the ICESA and EFW2 writers share: the wage records as employers file them, written
//! into fixed-width records. Positions are written out in `icesa.rs` and `efw2.rs`, apart
//! from the connector's layout tables, so reading these files back tests the tables.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::writer::SynthError;

/// One wage record as its report carries it.
pub struct WageLine<'a> {
    /// Nine digits (fixed-width SSN fields hold no hyphens).
    pub ssn: &'a str,
    pub first: &'a str,
    pub last: &'a str,
    pub fein: &'a str,
    pub account: &'a str,
    pub naics: &'a str,
    pub year: i32,
    pub quarter: u32,
    pub cents: i64,
}

/// A blank record of `len` bytes to place fields into.
pub(crate) struct Record(Vec<u8>);

impl Record {
    pub fn new(len: usize) -> Record {
        Record(vec![b' '; len])
    }

    /// Places `text` at 1-based byte `start`, cut to `len` bytes (fields are left-justified).
    pub fn put(&mut self, start: usize, len: usize, text: &str) -> &mut Record {
        let bytes = text.as_bytes();
        let n = bytes.len().min(len);
        self.0[start - 1..start - 1 + n].copy_from_slice(&bytes[..n]);
        self
    }

    /// A zero-filled, right-justified number.
    pub fn num(&mut self, start: usize, len: usize, value: u64) -> &mut Record {
        let text = format!("{value:0len$}");
        self.put(start, len, &text)
    }
}

/// A fixed-width file: records end in CR/LF, as both formats prescribe.
pub(crate) struct FixedFile {
    path: String,
    name: String,
    w: BufWriter<File>,
    pub wage_records: u64,
}

impl FixedFile {
    pub fn create(root: &Path, name: &str) -> Result<FixedFile, SynthError> {
        let path = root.join(name);
        let io = |source| SynthError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(path.parent().expect("files sit in folders")).map_err(io)?;
        let w = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io)?);
        Ok(FixedFile {
            path: path.display().to_string(),
            name: name.to_string(),
            w,
            wage_records: 0,
        })
    }

    pub fn write(&mut self, record: &Record) -> Result<(), SynthError> {
        self.w
            .write_all(&record.0)
            .and_then(|_| self.w.write_all(b"\r\n"))
            .map_err(|source| SynthError::Io {
                path: self.path.clone(),
                source,
            })
    }

    pub fn finish(mut self) -> Result<(String, u64), SynthError> {
        self.w.flush().map_err(|source| SynthError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok((self.name, self.wage_records))
    }
}
