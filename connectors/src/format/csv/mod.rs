//! CSV extracts holding one entity, header row first. By default the header names the
//! canonical fields; `[sources.options.columns]` maps canonical field → the agency's header for
//! any other CSV layout. Columns may come in any order; optional columns may be absent; columns
//! the model does not know are ignored (and reported) so they never travel further.

use std::collections::BTreeMap;

use p20w_schemas::Entity;
use serde::Deserialize;

use crate::format::{ReadSummary, SourceReader, SourceSpec};
use crate::location::{Input, Inputs};
use crate::record::RecordBuilder;
use crate::{ConnectorError, Rule, SourceBatch};

/// `[sources.options]` of a `csv` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Canonical field name → header of the column holding it, for fields whose header differs.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// One ASCII character; `,` unless set.
    pub delimiter: Option<char>,
}

/// Opens a CSV source; fails if a required column is missing or a header appears twice.
pub fn open(spec: &SourceSpec) -> Result<CsvReader, ConnectorError> {
    let config: Config = spec.options()?;
    let fields = spec.entity.fields();
    for name in config.columns.keys() {
        if !fields.iter().any(|f| f.name == name) {
            return Err(ConnectorError::Options {
                source_name: spec.name.clone(),
                format: spec.format.clone(),
                message: format!(
                    "columns: {name:?} is not a field of entity {}",
                    spec.entity.name()
                ),
            });
        }
    }
    let delimiter = match config.delimiter {
        None => b',',
        Some(c) if c.is_ascii() => c as u8,
        Some(_) => {
            return Err(ConnectorError::Options {
                source_name: spec.name.clone(),
                format: spec.format.clone(),
                message: "delimiter must be one ASCII character".into(),
            });
        }
    };
    let input = spec.location.open(None)?;
    let mut inputs = Inputs::default();
    inputs.track(&input);
    let file = input.name().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
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
    let header_of = |field: &str| {
        config
            .columns
            .get(field)
            .map_or(field.to_string(), Clone::clone)
    };
    let columns: Vec<Option<usize>> = fields
        .iter()
        .map(|f| {
            let h = header_of(f.name);
            names.iter().position(|n| *n == h)
        })
        .collect();
    let missing: Vec<String> = fields
        .iter()
        .zip(&columns)
        .filter(|(f, c)| f.required && c.is_none())
        .map(|(f, _)| header_of(f.name))
        .collect();
    if !missing.is_empty() {
        return Err(ConnectorError::MissingColumns {
            file,
            entity: spec.entity.name(),
            missing,
        });
    }
    let ignored: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !columns.contains(&Some(*i)))
        .map(|(_, n)| n.clone())
        .collect();
    tracing::debug!(
        file = %file,
        entity = spec.entity.name(),
        columns = names.len(),
        ignored = ?ignored,
        "source opened"
    );
    let mut records = RecordBuilder::new(spec.entity, spec.validation.clone(), spec.batch_rows);
    records.set_file(&file);
    Ok(CsvReader {
        file,
        entity: spec.entity,
        reader,
        columns,
        header_len: names.len(),
        ignored,
        inputs,
        records,
        finished: false,
    })
}

/// Streams [`SourceBatch`]es from an open CSV input.
pub struct CsvReader {
    file: String,
    entity: Entity,
    reader: csv::Reader<Input>,
    columns: Vec<Option<usize>>,
    header_len: usize,
    ignored: Vec<String>,
    inputs: Inputs,
    records: RecordBuilder,
    finished: bool,
}

impl SourceReader for CsvReader {
    fn summary(&self) -> ReadSummary {
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: self.ignored.clone(),
            unmapped: self.records.unmapped_codes(),
            skipped: Vec::new(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }
}

impl CsvReader {
    fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        let width = self.entity.fields().len();
        let mut record = csv::ByteRecord::new();
        while !self.records.is_full() {
            let Some(line) = next_record(
                &mut self.reader,
                &mut record,
                self.header_len,
                &self.file,
                &mut self.records,
            )?
            else {
                self.finished = true;
                break;
            };
            let mut values: Vec<Option<&str>> = Vec::with_capacity(width);
            let mut bad_encoding = None;
            for (spec, column) in self.entity.fields().iter().zip(&self.columns) {
                let raw = column.map_or(&b""[..], |i| &record[i]);
                match std::str::from_utf8(raw) {
                    Ok(t) => values.push(Some(t)),
                    Err(_) => {
                        bad_encoding = Some(spec.name);
                        break;
                    }
                }
            }
            if let Some(field) = bad_encoding {
                let message = format!("{field} is not valid UTF-8");
                self.records
                    .reject(line, Some(field), Rule::Encoding, message);
                continue;
            }
            self.records.push(line, &values);
        }
        self.records.take_batch()
    }
}

impl Iterator for CsvReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.next_batch().transpose()
    }
}

/// Reads the next CSV record into `record` for any CSV-based format: a row the CSV reader
/// cannot parse, or with another number of fields than the header, is quarantined here and the
/// next one read. Returns the record's line, or `None` at the end of the input; only an I/O
/// failure is an error.
pub(crate) fn next_record<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    header_len: usize,
    file: &str,
    records: &mut RecordBuilder,
) -> Result<Option<u64>, ConnectorError> {
    loop {
        let line = reader.position().line() + 1;
        match reader.read_byte_record(record) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(csv_error(file, e));
            }
            Err(e) => {
                let message = format!("unreadable CSV row ({})", csv_kind(&e));
                records.reject(line, None, Rule::Malformed, message);
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line());
        if record.len() != header_len {
            let message = format!("has {} fields; the header has {header_len}", record.len());
            records.reject(line, None, Rule::FieldCount, message);
            continue;
        }
        return Ok(Some(line));
    }
}

pub(crate) fn csv_kind(e: &csv::Error) -> &'static str {
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
    use crate::SourceCounts;
    use crate::location::Location;
    use crate::record::Validation;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    use p20w_schemas::YearQuarter;
    use sha2::{Digest, Sha256};
    use std::io::Write;

    fn spec(path: &std::path::Path, entity: Entity) -> SourceSpec {
        SourceSpec::new("s", entity, "csv", Location::Local(path.to_path_buf()))
    }

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
        let mut reader = open(&spec(f.path(), Entity::WageRecord)).unwrap();
        let batch = reader.next().unwrap().unwrap();
        assert!(reader.next().is_none());
        let summary = reader.summary();
        let counts = summary.counts;
        assert_eq!(
            counts,
            SourceCounts {
                read: 5,
                accepted: 1,
                quarantined: 4
            }
        );
        assert_eq!(summary.ignored, ["extra"]);
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
        assert_eq!(summary.inputs[0].sha256, expected);
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
        let mut source = spec(f.path(), Entity::WageRecord);
        source.validation.latest_quarter = YearQuarter {
            year: 2024,
            quarter: 3,
        };
        let mut reader = open(&source).unwrap();
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
        assert_eq!(Validation::default().latest_quarter, now);
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
        let source = SourceSpec {
            batch_rows: 10,
            ..spec(f.path(), Entity::WageRecord)
        };
        let sizes: Vec<usize> = open(&source)
            .unwrap()
            .map(|b| b.unwrap().records.num_rows())
            .collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[test]
    fn missing_required_columns_fail_the_source() {
        let f = write("ssn,year\n1,2\n");
        let err = open(&spec(f.path(), Entity::WageRecord)).err().unwrap();
        assert!(
            matches!(err, ConnectorError::MissingColumns { .. }),
            "{err}"
        );
    }

    #[test]
    fn a_column_mapping_reads_an_agency_header() {
        let f = write(
            "SSN_NUM,FEIN,ACCT,NAICS,YR,QTR,WAGE_AMT\n219457880,123456789,UI-1,622110,2024,1,10.00\n",
        );
        let mut source = spec(f.path(), Entity::WageRecord);
        source.options = toml::from_str(
            "columns = { ssn = \"SSN_NUM\", employer_fein = \"FEIN\", employer_ui_account = \"ACCT\", \
             employer_naics = \"NAICS\", year = \"YR\", quarter = \"QTR\", wages = \"WAGE_AMT\" }",
        )
        .unwrap();
        let mut reader = open(&source).unwrap();
        assert_eq!(reader.next().unwrap().unwrap().records.num_rows(), 1);
        source.options = toml::from_str("colums = {}").unwrap();
        assert!(matches!(
            open(&source).err().unwrap(),
            ConnectorError::Options { .. }
        ));
        source.options = toml::from_str("columns = { salary = \"X\" }").unwrap();
        assert!(matches!(
            open(&source).err().unwrap(),
            ConnectorError::Options { .. }
        ));
    }
}
