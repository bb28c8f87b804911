//! Plain CSV extracts whose header names the canonical fields of one entity.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::DataType;
use p20w_schemas::{Entity, FieldSpec, YearQuarter};
use sha2::{Digest, Sha256};

use crate::plausible::{check_row, current_quarter};
use crate::value::{Value, parse};
use crate::{ConnectorError, QuarantinedRow, Rule, SourceBatch, SourceCounts};

/// A CSV file on local disk holding one entity, header row first. Columns may come in any
/// order; optional columns may be absent; columns the model does not know are ignored (and
/// listed by [`CsvBatchReader::ignored_columns`]) so they never travel further.
#[derive(Debug, Clone)]
pub struct CsvSource {
    pub path: PathBuf,
    pub entity: Entity,
    /// Rows per emitted batch: bounds memory whatever the file size.
    pub batch_rows: usize,
    /// The latest quarter a quarter-dated record may name (see [`crate::plausible`]); the
    /// current calendar quarter unless a caller fixes it.
    pub latest_quarter: YearQuarter,
}

impl CsvSource {
    pub fn new(path: impl Into<PathBuf>, entity: Entity) -> CsvSource {
        CsvSource {
            path: path.into(),
            entity,
            batch_rows: 64 * 1024,
            latest_quarter: current_quarter(),
        }
    }

    pub fn open(&self) -> Result<CsvBatchReader, ConnectorError> {
        let file = self.path.display().to_string();
        let handle = File::open(&self.path).map_err(|source| ConnectorError::Io {
            file: file.clone(),
            source,
        })?;
        let hashing = HashingReader {
            inner: BufReader::with_capacity(1 << 20, handle),
            sha: Sha256::new(),
            bytes: 0,
        };
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(hashing);
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(&file, e))?
            .clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().to_string())
            .collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(ConnectorError::DuplicateColumn {
                    file,
                    column: n.clone(),
                });
            }
        }
        let fields = self.entity.fields();
        let columns: Vec<Option<usize>> = fields
            .iter()
            .map(|f| names.iter().position(|n| n == f.name))
            .collect();
        let missing: Vec<String> = fields
            .iter()
            .zip(&columns)
            .filter(|(f, c)| f.required && c.is_none())
            .map(|(f, _)| f.name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ConnectorError::MissingColumns {
                file,
                entity: self.entity.name(),
                missing,
            });
        }
        let ignored: Vec<String> = names
            .iter()
            .filter(|n| !fields.iter().any(|f| f.name == n.as_str()))
            .cloned()
            .collect();
        tracing::debug!(
            file = %file,
            entity = self.entity.name(),
            columns = names.len(),
            ignored = ?ignored,
            "source opened"
        );
        Ok(CsvBatchReader {
            file,
            entity: self.entity,
            reader,
            columns,
            header_len: names.len(),
            ignored,
            batch_rows: self.batch_rows.max(1),
            latest_quarter: self.latest_quarter,
            counts: SourceCounts::default(),
            finished: false,
        })
    }
}

/// Streams [`SourceBatch`]es from an open CSV file and hashes the bytes as it reads them.
pub struct CsvBatchReader {
    file: String,
    entity: Entity,
    reader: csv::Reader<HashingReader<BufReader<File>>>,
    columns: Vec<Option<usize>>,
    header_len: usize,
    ignored: Vec<String>,
    batch_rows: usize,
    latest_quarter: YearQuarter,
    counts: SourceCounts,
    finished: bool,
}

impl CsvBatchReader {
    pub fn counts(&self) -> SourceCounts {
        self.counts
    }

    /// Header columns the canonical model does not have; they were not read.
    pub fn ignored_columns(&self) -> &[String] {
        &self.ignored
    }

    /// Bytes of the file read so far (for progress; the CSV reader reads ahead a little).
    pub fn bytes_read(&self) -> u64 {
        self.reader.get_ref().bytes
    }

    /// SHA-256 of the file's bytes; complete once the reader is exhausted.
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.reader.get_ref().sha.clone().finalize())
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        let fields = self.entity.fields();
        let mut builders: Vec<Column> = fields
            .iter()
            .map(|f| Column::new(f, self.batch_rows))
            .collect();
        let mut quarantined = Vec::new();
        let mut accepted = 0usize;
        let mut record = csv::ByteRecord::new();
        while accepted < self.batch_rows {
            let line = self.reader.position().line() + 1;
            match self.reader.read_byte_record(&mut record) {
                Ok(false) => {
                    self.finished = true;
                    break;
                }
                Ok(true) => {}
                Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                    return Err(csv_error(&self.file, e));
                }
                Err(e) => {
                    self.counts.read += 1;
                    let message = format!("unreadable CSV row ({})", csv_kind(&e));
                    quarantined.push(self.quarantine(line, None, Rule::Malformed, message));
                    continue;
                }
            }
            let line = record.position().map_or(line, |p| p.line());
            self.counts.read += 1;
            if record.len() != self.header_len {
                let message = format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    self.header_len
                );
                quarantined.push(self.quarantine(line, None, Rule::FieldCount, message));
                continue;
            }
            let mut values: Vec<Value<'_>> = Vec::with_capacity(fields.len());
            let mut failure = None;
            for (spec, column) in fields.iter().zip(&self.columns) {
                let raw = column.map_or(&b""[..], |i| &record[i]);
                let Ok(text) = std::str::from_utf8(raw) else {
                    failure = Some((spec.name, Rule::Encoding, "is not valid UTF-8".to_string()));
                    break;
                };
                match parse(spec, text) {
                    Ok(v) => values.push(v),
                    Err((rule, message)) => {
                        failure = Some((spec.name, rule, format!("{} {message}", spec.name)));
                        break;
                    }
                }
            }
            if failure.is_none() {
                failure = check_row(self.entity, fields, &values, self.latest_quarter);
            }
            if let Some((field, rule, message)) = failure {
                quarantined.push(self.quarantine(line, Some(field), rule, message));
                continue;
            }
            for (b, v) in builders.iter_mut().zip(&values) {
                b.append(v);
            }
            accepted += 1;
        }
        self.counts.accepted += accepted as u64;
        self.counts.quarantined += quarantined.len() as u64;
        if accepted == 0 && quarantined.is_empty() {
            return Ok(None);
        }
        let arrays: Vec<ArrayRef> = builders.into_iter().map(Column::finish).collect();
        let records =
            RecordBatch::try_new(self.entity.ingest_schema(), arrays).map_err(|source| {
                ConnectorError::Arrow {
                    file: self.file.clone(),
                    source,
                }
            })?;
        Ok(Some(SourceBatch {
            records,
            quarantined,
        }))
    }

    fn quarantine(
        &self,
        line: u64,
        field: Option<&str>,
        rule: Rule,
        message: String,
    ) -> QuarantinedRow {
        QuarantinedRow {
            file: self.file.clone(),
            line,
            field: field.map(str::to_string),
            rule,
            message,
        }
    }
}

impl Iterator for CsvBatchReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.next_batch().transpose()
    }
}

struct HashingReader<R> {
    inner: R,
    sha: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

enum Column {
    Utf8(StringBuilder),
    Date(Date32Builder),
    Int(Int32Builder),
    Cents(Int64Builder),
}

impl Column {
    fn new(spec: &FieldSpec, rows: usize) -> Column {
        match spec.kind.data_type() {
            DataType::Date32 => Column::Date(Date32Builder::with_capacity(rows)),
            DataType::Int32 => Column::Int(Int32Builder::with_capacity(rows)),
            DataType::Int64 => Column::Cents(Int64Builder::with_capacity(rows)),
            _ => Column::Utf8(StringBuilder::with_capacity(rows, rows * 8)),
        }
    }

    fn append(&mut self, v: &Value<'_>) {
        match (self, v) {
            (Column::Utf8(b), Value::Text(t)) => b.append_value(t),
            (Column::Date(b), Value::Days(d)) => b.append_value(*d),
            (Column::Int(b), Value::Int(i)) => b.append_value(*i),
            (Column::Cents(b), Value::Cents(c)) => b.append_value(*c),
            (Column::Utf8(b), _) => b.append_null(),
            (Column::Date(b), _) => b.append_null(),
            (Column::Int(b), _) => b.append_null(),
            (Column::Cents(b), _) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            Column::Utf8(mut b) => Arc::new(b.finish()),
            Column::Date(mut b) => Arc::new(b.finish()),
            Column::Int(mut b) => Arc::new(b.finish()),
            Column::Cents(mut b) => Arc::new(b.finish()),
        }
    }
}

fn csv_kind(e: &csv::Error) -> &'static str {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "encoding",
        csv::ErrorKind::UnequalLengths { .. } => "field count",
        _ => "syntax",
    }
}

fn csv_error(file: &str, e: csv::Error) -> ConnectorError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => ConnectorError::Io {
            file: file.to_string(),
            source,
        },
        other => ConnectorError::Csv {
            file: file.to_string(),
            line,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    use std::io::Write;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    const WAGES: &str = "ssn,employer_fein,employer_ui_account,employer_naics,year,quarter,wages,extra\n\
        219457880,123456789,UI-1,622110,2024,3,5123.40,x\n\
        219457881,123456789,UI-1,622110,2024,5,10.00,x\n\
        219457882,123456789,UI-1,62211,2024,3,10.00,x\n\
        219457883,123456789,UI-1,622110,2024,3,10\n\
        ,123456789,UI-1,622110,2024,1,0.5,x\n";

    #[test]
    fn good_rows_are_accepted_and_bad_rows_quarantined_with_line_and_rule() {
        let f = write(WAGES);
        let mut reader = CsvSource::new(f.path(), Entity::WageRecord).open().unwrap();
        let batch = reader.next().unwrap().unwrap();
        assert!(reader.next().is_none());
        let counts = reader.counts();
        assert_eq!(
            counts,
            SourceCounts {
                read: 5,
                accepted: 1,
                quarantined: 4
            }
        );
        assert_eq!(reader.ignored_columns(), ["extra"]);
        assert_eq!(batch.records.num_rows(), 1);
        let wages = batch
            .records
            .column_by_name("wages")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(wages.value(0), 512_340);
        let quarter = batch
            .records
            .column_by_name("quarter")
            .unwrap()
            .as_primitive::<Int32Type>();
        assert_eq!(quarter.value(0), 3);
        let got: Vec<(u64, Option<&str>, Rule)> = batch
            .quarantined
            .iter()
            .map(|q| (q.line, q.field.as_deref(), q.rule))
            .collect();
        assert_eq!(
            got,
            [
                (3, Some("quarter"), Rule::Range),
                (4, Some("employer_naics"), Rule::Digits),
                (5, None, Rule::FieldCount),
                (6, Some("ssn"), Rule::Required),
            ]
        );
        for q in &batch.quarantined {
            assert!(!q.message.contains("21945788"), "{}", q.message);
        }
        let expected = hex::encode(Sha256::digest(WAGES.as_bytes()));
        assert_eq!(reader.sha256_hex(), expected);
        assert_eq!(reader.bytes_read(), WAGES.len() as u64);
    }

    /// The window's edge: with 2024Q3 the current quarter, a 2024Q3 row can hold reported
    /// wages (the quarter has begun), 2024Q4 and a keyed 2099 cannot; the 1989 row fails the
    /// year's own range, the window's lower bound.
    #[test]
    fn wage_quarters_after_the_current_quarter_are_quarantined() {
        let f = write(
            "ssn,employer_fein,employer_ui_account,employer_naics,year,quarter,wages\n\
             219457880,123456789,UI-1,622110,2024,3,10.00\n\
             219457881,123456789,UI-1,622110,2024,4,10.00\n\
             219457882,123456789,UI-1,622110,2099,1,10.00\n\
             219457883,123456789,UI-1,622110,1989,4,10.00\n\
             219457884,123456789,UI-1,622110,1990,1,10.00\n",
        );
        let source = CsvSource {
            latest_quarter: YearQuarter {
                year: 2024,
                quarter: 3,
            },
            ..CsvSource::new(f.path(), Entity::WageRecord)
        };
        let mut reader = source.open().unwrap();
        let batch = reader.next().unwrap().unwrap();
        assert_eq!(
            batch.records.num_rows(),
            2,
            "2024Q3 and 1990Q1 are accepted"
        );
        let got: Vec<(u64, Option<&str>, Rule)> = batch
            .quarantined
            .iter()
            .map(|q| (q.line, q.field.as_deref(), q.rule))
            .collect();
        assert_eq!(
            got,
            [
                (3, Some("year"), Rule::QuarterWindow),
                (4, Some("year"), Rule::QuarterWindow),
                (5, Some("year"), Rule::Range),
            ]
        );
        assert_eq!(Rule::QuarterWindow.as_str(), "quarter_window");
        for q in &batch.quarantined {
            assert!(!q.message.contains("2099"), "{}", q.message);
        }
    }

    #[test]
    fn the_default_window_ends_at_the_current_quarter() {
        let now = crate::plausible::current_quarter();
        assert!(now.year >= 2026, "{now}");
        assert_eq!(
            CsvSource::new("x.csv", Entity::WageRecord).latest_quarter,
            now
        );
    }

    #[test]
    fn batches_are_bounded() {
        let mut text = String::from(
            "ssn,employer_fein,employer_ui_account,employer_naics,year,quarter,wages\n",
        );
        for i in 0..25 {
            text.push_str(&format!("2194578{i:02},123456789,UI,622110,2024,1,1.00\n"));
        }
        let f = write(&text);
        let source = CsvSource {
            batch_rows: 10,
            ..CsvSource::new(f.path(), Entity::WageRecord)
        };
        let sizes: Vec<usize> = source
            .open()
            .unwrap()
            .map(|b| b.unwrap().records.num_rows())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[test]
    fn missing_required_columns_fail_the_source() {
        let f = write("ssn,year\n1,2\n");
        let err = CsvSource::new(f.path(), Entity::WageRecord)
            .open()
            .err()
            .unwrap();
        assert!(
            matches!(err, ConnectorError::MissingColumns { .. }),
            "{err}"
        );
    }
}
