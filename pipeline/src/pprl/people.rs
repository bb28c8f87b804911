//! Reading an agency's person file and encoding it, in bounded memory.
//!
//! The layout is the evaluation layout of the issue and of common linkage benchmarks: a CSV
//! with a header naming `record_id, given_name, family_name, birth_date, sex` and optionally
//! `ssn`, in any order. Where both agencies hold them, `address`, `locality`, `postcode` and
//! `other_id` (another identifier, compared fuzzily) add evidence; other columns are ignored.
//! A row without a record id, or one the CSV reader cannot split, is quarantined with its line
//! and rule; every other row is encoded.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use p20w_privacy::MasterKey;
use p20w_privacy::linkage::{EncodedColumns, Encoder, Encoding, Identity};
use serde::Serialize;

use super::PprlError;
use super::encoded::{batch_of, file_metadata, schema};

/// Rows encoded per batch: bounded memory whatever the file's size.
const BATCH_ROWS: usize = 65_536;

/// A quarantined row: where, and by which rule, never its values.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    pub rule: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct EncodeSummary {
    pub read: u64,
    pub encoded: u64,
    pub quarantined: u64,
    pub with_ssn_pseudonym: u64,
    pub rejected: Vec<RejectedRow>,
}

/// Column positions of the fields we read.
#[derive(Debug, Clone, Copy)]
pub(super) struct Columns {
    record_id: usize,
    given: usize,
    family: usize,
    birth: usize,
    sex: usize,
    ssn: Option<usize>,
    address: Option<usize>,
    locality: Option<usize>,
    postcode: Option<usize>,
    other_id: Option<usize>,
}

pub(super) fn columns(path: &Path, headers: &csv::StringRecord) -> Result<Columns, PprlError> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            PprlError::input(
                path,
                format!(
                    "header has no `{name}` column (found: {})",
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
    Ok(Columns {
        record_id: need("record_id")?,
        given: need("given_name")?,
        family: need("family_name")?,
        birth: need("birth_date")?,
        sex: need("sex")?,
        ssn: find("ssn"),
        address: find("address"),
        locality: find("locality"),
        postcode: find("postcode"),
        other_id: find("other_id"),
    })
}

impl Columns {
    pub(super) fn record_id<'a>(&self, record: &'a csv::StringRecord) -> &'a str {
        &record[self.record_id]
    }
}

/// One readable row (its record is in the chunk's records, in order), or why it was not.
pub(super) enum Row {
    Person,
    Rejected(RejectedRow),
}

/// Records a later stage hands back once done with them: reading reuses their buffers instead
/// of allocating two a row, and the later stage no longer frees them.
#[derive(Debug, Clone, Default)]
pub(super) struct RecordPool(Arc<Mutex<Vec<csv::StringRecord>>>);

impl RecordPool {
    pub(super) fn give(&self, mut records: Vec<csv::StringRecord>) {
        self.0
            .lock()
            .expect("no thread panics holding it")
            .append(&mut records);
    }

    /// A record to read into: a used one if any came back.
    fn take(&self, spare: &mut Vec<csv::StringRecord>) -> csv::StringRecord {
        if spare.is_empty() {
            spare.append(&mut self.0.lock().expect("no thread panics holding it"));
        }
        spare.pop().unwrap_or_default()
    }
}

/// Reads the file in chunks, handing each chunk's rows and records to `each`; records given
/// back to `pool` are read into again.
pub(super) fn for_each_chunk(
    path: &Path,
    pool: &RecordPool,
    mut each: impl FnMut(Columns, Vec<csv::StringRecord>, Vec<Row>) -> Result<(), PprlError>,
) -> Result<(), PprlError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| PprlError::input(path, e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| PprlError::input(path, e.to_string()))?
        .clone();
    let cols = columns(path, &headers)?;
    let width = headers.len();
    let mut records = Vec::with_capacity(BATCH_ROWS);
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut spare = Vec::new();
    let mut record = pool.take(&mut spare);
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) if e.is_io_error() => return Err(PprlError::input(path, e.to_string())),
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                rows.push(Row::Rejected(RejectedRow {
                    line,
                    rule: "malformed_row",
                }));
                true
            }
        };
        if more && !record.is_empty() {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != width {
                rows.push(Row::Rejected(RejectedRow {
                    line,
                    rule: "wrong_field_count",
                }));
            } else if record[cols.record_id].trim().is_empty() {
                rows.push(Row::Rejected(RejectedRow {
                    line,
                    rule: "missing_record_id",
                }));
            } else {
                rows.push(Row::Person);
                records.push(std::mem::replace(&mut record, pool.take(&mut spare)));
            }
        }
        if rows.len() >= BATCH_ROWS || (!more && !rows.is_empty()) {
            each(
                cols,
                std::mem::replace(&mut records, Vec::with_capacity(BATCH_ROWS)),
                std::mem::replace(&mut rows, Vec::with_capacity(BATCH_ROWS)),
            )?;
        }
        if !more {
            return Ok(());
        }
    }
}

pub(super) fn identity<'a>(cols: &Columns, r: &'a csv::StringRecord) -> Identity<'a> {
    Identity {
        given_name: &r[cols.given],
        family_name: &r[cols.family],
        birth_date: &r[cols.birth],
        sex: &r[cols.sex],
        ssn: cols.ssn.map(|i| &r[i]),
        address: cols.address.map_or("", |i| &r[i]),
        locality: cols.locality.map_or("", |i| &r[i]),
        postcode: cols.postcode.map_or("", |i| &r[i]),
        other_id: cols.other_id.map_or("", |i| &r[i]),
    }
}

/// Encodes a chunk's records on every core, keeping their order.
pub(super) fn encode_all(
    encoder: &Encoder,
    cols: &Columns,
    records: &[csv::StringRecord],
) -> Vec<Encoding> {
    encoder.encode_all(&identities(cols, records))
}

fn identities<'a>(cols: &Columns, records: &'a [csv::StringRecord]) -> Vec<Identity<'a>> {
    records.iter().map(|r| identity(cols, r)).collect()
}

/// Encodes `input` into the Parquet file `out` (written beside, then renamed: a crash leaves
/// no half file under the final name).
pub fn encode_people(
    input: &Path,
    out: &Path,
    key: &MasterKey,
    agreement_id: &str,
) -> Result<EncodeSummary, PprlError> {
    let partial = out.with_extension("parquet.partial");
    let result = write_encoded(input, &partial, key, agreement_id);
    match result {
        Ok(summary) => {
            std::fs::rename(&partial, out).map_err(|source| PprlError::Io {
                file: out.display().to_string(),
                source,
            })?;
            Ok(summary)
        }
        Err(e) => {
            // No half-written file stays behind, under either name.
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// A chunk on its way from the reader to the encoder: each row's fate, the readable records and
/// their record keys.
struct ReadChunk {
    cols: Columns,
    records: Vec<csv::StringRecord>,
    rows: Vec<Row>,
    keys: Vec<String>,
}

/// Reading (CSV and record keys), encoding (on every core) and writing Parquet run as three
/// stages joined by one-slot channels: on two cores, reading and writing overlap with encoding
/// instead of taking turns with it (the serial version kept about one core busy), and at most a
/// few chunks are in memory whatever the file's size.
fn write_encoded(
    input: &Path,
    partial: &Path,
    key: &MasterKey,
    agreement_id: &str,
) -> Result<EncodeSummary, PprlError> {
    let encoder = Encoder::new(key, agreement_id);
    let io = |source| PprlError::Io {
        file: partial.display().to_string(),
        source,
    };
    let parquet = |source| PprlError::Parquet {
        file: partial.display().to_string(),
        source,
    };
    let file = std::fs::File::create(partial).map_err(io)?;
    // Row groups are flushed to disk as they are written, from a second handle on another
    // thread: the final sync then waits for the last one only (syncing a whole file at the end
    // took a seventh of the run, the cores idle).
    let flusher = file.try_clone().map_err(io)?;
    let schema = Arc::new(schema().with_metadata(file_metadata(key, agreement_id)));
    // Every value of every column is distinct (keys, pseudonyms, filters, keyed hashes): a
    // dictionary would be built only to be abandoned. A row group a chunk (about 30 MB) bounds
    // the memory the writer holds (the default million rows buffered 400 MB of filters) and
    // lets each go to disk while the next is encoded. Statistics neither: min and max of random bits prune nothing, and cost a comparison of
    // every 320-byte value.
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_max_row_group_row_count(Some(BATCH_ROWS))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(parquet)?;
    let mut summary = EncodeSummary {
        read: 0,
        encoded: 0,
        quarantined: 0,
        with_ssn_pseudonym: 0,
        rejected: Vec::new(),
    };
    let encoder = &encoder;
    let (read, encoded, written) = std::thread::scope(|s| {
        let (chunk_tx, chunk_rx) = mpsc::sync_channel::<ReadChunk>(1);
        let (encoded_tx, encoded_rx) =
            mpsc::sync_channel::<(Vec<String>, Vec<csv::StringRecord>, EncodedColumns)>(1);
        let (batch_tx, batch_rx) = mpsc::sync_channel::<RecordBatch>(1);
        let pool = RecordPool::default();
        let returns = pool.clone();
        let reader = s.spawn(move || {
            for_each_chunk(input, &pool, |cols, records, rows| {
                let keys = records
                    .iter()
                    .map(|r| encoder.record_key(cols.record_id(r)))
                    .collect();
                let chunk = ReadChunk {
                    cols,
                    records,
                    rows,
                    keys,
                };
                // A closed channel means a later stage failed; its error is the one reported.
                chunk_tx
                    .send(chunk)
                    .map_err(|_| PprlError::input(input, "encoding stopped"))
            })
        });
        // Building the batch and handing the chunk's records back to the reader is a stage of
        // its own: in the encoding stage it kept the cores from the next chunk, in the writer it
        // lengthened the stage that bounds the whole (Parquet's copies of the filters).
        let batching = s.spawn(move || -> Result<(), PprlError> {
            for (keys, records, encodings) in encoded_rx {
                returns.give(records);
                let batch =
                    batch_of(&schema, &keys, encodings).map_err(|source| PprlError::Arrow {
                        file: partial.display().to_string(),
                        source,
                    })?;
                if batch_tx.send(batch).is_err() {
                    break; // the writer failed and says why
                }
            }
            Ok(())
        });
        let (flush_tx, flush_rx) = mpsc::channel::<()>();
        let flushing = s.spawn(move || -> std::io::Result<()> {
            for () in flush_rx {
                flusher.sync_data()?;
            }
            Ok(())
        });
        let writing = s.spawn(move || -> Result<ArrowWriter<std::fs::File>, PprlError> {
            for batch in batch_rx {
                let flushed = writer.flushed_row_groups().len();
                writer.write(&batch).map_err(parquet)?;
                if writer.flushed_row_groups().len() > flushed {
                    // A closed channel means the flusher failed; its error is reported.
                    let _ = flush_tx.send(());
                }
            }
            Ok(writer)
        });
        let encoding = || -> Result<(), PprlError> {
            for ReadChunk {
                cols,
                records,
                rows,
                keys,
            } in chunk_rx
            {
                let encodings = encoder.encode_columns(&identities(&cols, &records));
                for row in rows {
                    summary.read += 1;
                    if let Row::Rejected(r) = row {
                        summary.quarantined += 1;
                        summary.rejected.push(r);
                    }
                }
                summary.encoded += encodings.ssn_pids.len() as u64;
                summary.with_ssn_pseudonym +=
                    encodings.ssn_pids.iter().filter(|p| p.is_some()).count() as u64;
                if encoded_tx.send((keys, records, encodings)).is_err() {
                    break; // the writer failed and says why
                }
            }
            Ok(())
        };
        let encoded = encoding();
        drop(encoded_tx);
        let batched = joined(batching);
        // The flusher shares the writer's open file: a write-back error it saw is reported to
        // it alone, not again to the final sync, so it fails the encode.
        let written = joined(writing).and_then(|w| joined(flushing).map(|()| w).map_err(io));
        (joined(reader), batched.and(encoded), written)
    });
    // The first failing stage downstream is the cause: a stage before it only saw its channel
    // close.
    let writer = written?;
    encoded?;
    read?;
    let file = writer.into_inner().map_err(parquet)?;
    file.sync_all().map_err(io)?;
    Ok(summary)
}

/// A stage's result, its panic (none is expected: every failure is an error) carried on.
fn joined<T>(stage: std::thread::ScopedJoinHandle<'_, T>) -> T {
    stage
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
