//! Parquet extracts holding one entity: a data warehouse's export, or another tool's output.
//! Columns are found by name (canonical, or mapped with `[sources.options.columns]`), each value
//! is rendered as text in the canonical form (dates `YYYY-MM-DD`, numbers in decimal) and judged
//! by the same [`RecordBuilder`] as every other format. A record's "line" is its 1-based row
//! number in the file.

use std::collections::BTreeMap;
use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde::Deserialize;

use crate::format::{ReadSummary, SourceReader, SourceSpec};
use crate::location::{Inputs, Location};
use crate::record::RecordBuilder;
use crate::{ConnectorError, SourceBatch};

/// `[sources.options]` of a `parquet` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Canonical field name → the file's column holding it, for columns named otherwise.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
}

pub fn open(spec: &SourceSpec) -> Result<ParquetReader, ConnectorError> {
    let config: Config = spec.options()?;
    let fields = spec.entity.fields();
    let options_error = |message: String| ConnectorError::Options {
        source_name: spec.name.clone(),
        format: spec.format.clone(),
        message,
    };
    for name in config.columns.keys() {
        if !fields.iter().any(|f| f.name == name) {
            return Err(options_error(format!(
                "columns: {name:?} is not a field of entity {}",
                spec.entity.name()
            )));
        }
    }
    // Parquet is read from its footer backwards, so it needs a file it can seek in.
    let Location::Local(path) = &spec.location;
    let file = path.display().to_string();
    // The digest is taken by one sequential pass, as for every other input.
    let mut inputs = Inputs::default();
    let mut hashing = spec.location.open(None)?;
    inputs.track(&hashing);
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(|source| ConnectorError::Io {
        file: file.clone(),
        source,
    })?;
    let parquet_error = |e: parquet::errors::ParquetError| ConnectorError::Format {
        file: file.clone(),
        message: format!("not a readable Parquet file: {e}"),
    };
    let handle = File::open(path).map_err(|source| ConnectorError::Io {
        file: file.clone(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(handle).map_err(parquet_error)?;
    let names: Vec<String> = builder
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let header_of = |field: &str| {
        config
            .columns
            .get(field)
            .cloned()
            .unwrap_or(field.to_string())
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
    let ignored = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !columns.contains(&Some(*i)))
        .map(|(_, n)| n.clone())
        .collect();
    let reader = builder
        .with_batch_size(spec.batch_rows.clamp(1, 64 * 1024))
        .build()
        .map_err(parquet_error)?;
    let mut records = RecordBuilder::new(spec.entity, spec.validation.clone(), spec.batch_rows);
    records.set_file(&file);
    Ok(ParquetReader {
        file,
        reader,
        columns,
        ignored,
        inputs,
        records,
        row: 0,
        finished: false,
    })
}

/// Streams [`SourceBatch`]es from an open Parquet file, one file batch at a time.
pub struct ParquetReader {
    file: String,
    reader: ParquetRecordBatchReader,
    columns: Vec<Option<usize>>,
    ignored: Vec<String>,
    inputs: Inputs,
    records: RecordBuilder,
    row: u64,
    finished: bool,
}

impl SourceReader for ParquetReader {
    fn summary(&self) -> ReadSummary {
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: self.ignored.clone(),
            unmapped: self.records.unmapped_codes(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }
}

impl ParquetReader {
    fn push_batch(&mut self, batch: &RecordBatch) -> Result<(), ConnectorError> {
        let texts: Vec<Option<ArrayRef>> = self
            .columns
            .iter()
            .map(|c| c.map(|i| as_text(batch.column(i))).transpose())
            .collect::<Result<_, _>>()
            .map_err(|e| ConnectorError::Format {
                file: self.file.clone(),
                message: format!("a column cannot be read as text: {e}"),
            })?;
        let width = texts.len();
        for r in 0..batch.num_rows() {
            self.row += 1;
            let mut values: Vec<Option<&str>> = Vec::with_capacity(width);
            for t in &texts {
                values.push(t.as_ref().and_then(|a| {
                    let s = a.as_string::<i32>();
                    s.is_valid(r).then(|| s.value(r))
                }));
            }
            self.records.push(self.row, &values);
        }
        Ok(())
    }
}

/// A column as canonical text: timestamps become their date, everything else Arrow's own
/// rendering (which writes dates `YYYY-MM-DD` and numbers in decimal).
fn as_text(a: &ArrayRef) -> Result<ArrayRef, arrow_schema::ArrowError> {
    let a = match a.data_type() {
        DataType::Timestamp(..) | DataType::Date64 => arrow_cast::cast(a, &DataType::Date32)?,
        _ => a.clone(),
    };
    arrow_cast::cast(&a, &DataType::Utf8)
}

impl Iterator for ParquetReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        while !self.records.is_full() {
            match self.reader.next() {
                None => {
                    self.finished = true;
                    break;
                }
                Some(Err(e)) => {
                    self.finished = true;
                    return Some(Err(ConnectorError::Format {
                        file: self.file.clone(),
                        message: format!("unreadable Parquet data: {e}"),
                    }));
                }
                Some(Ok(batch)) => {
                    if let Err(e) = self.push_batch(&batch) {
                        self.finished = true;
                        return Some(Err(e));
                    }
                }
            }
        }
        self.records.take_batch().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;
    use arrow_array::{Date32Array, Float64Array, Int32Array, StringArray};
    use arrow_schema::{Field, Schema};
    use p20w_schemas::Entity;
    use std::sync::Arc;

    fn write(batch: &RecordBatch) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f.reopen().unwrap(), batch.schema(), None)
            .unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
        f
    }

    #[test]
    fn typed_columns_are_read_through_a_mapping() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("SSN", DataType::Utf8, true),
            Field::new("employer_fein", DataType::Utf8, false),
            Field::new("employer_ui_account", DataType::Utf8, false),
            Field::new("employer_naics", DataType::Utf8, false),
            Field::new("year", DataType::Int32, false),
            Field::new("quarter", DataType::Int32, false),
            Field::new("wages", DataType::Float64, false),
            Field::new("as_of", DataType::Date32, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![Some("219457880"), None])),
                Arc::new(StringArray::from(vec!["123456789", "123456789"])),
                Arc::new(StringArray::from(vec!["UI-1", "UI-1"])),
                Arc::new(StringArray::from(vec!["622110", "622110"])),
                Arc::new(Int32Array::from(vec![2024, 2024])),
                Arc::new(Int32Array::from(vec![1, 9])),
                Arc::new(Float64Array::from(vec![5123.4, 1.0])),
                Arc::new(Date32Array::from(vec![1, 2])),
            ],
        )
        .unwrap();
        let f = write(&batch);
        let mut spec = SourceSpec::new(
            "w",
            Entity::WageRecord,
            "parquet",
            Location::Local(f.path().to_path_buf()),
        );
        spec.options = toml::from_str("columns = { ssn = \"SSN\" }").unwrap();
        let mut reader = open(&spec).unwrap();
        let out = reader.next().unwrap().unwrap();
        assert!(reader.next().is_none());
        assert_eq!(out.records.num_rows(), 1);
        let wages = out.records.column_by_name("wages").unwrap();
        assert_eq!(
            wages
                .as_primitive::<arrow_array::types::Int64Type>()
                .value(0),
            512_340
        );
        assert_eq!(out.quarantined.len(), 1);
        assert_eq!(
            (out.quarantined[0].line, out.quarantined[0].rule),
            (2, Rule::Required)
        );
        let summary = reader.summary();
        assert_eq!(summary.ignored, ["as_of"]);
        assert_eq!(summary.counts.read, 2);
        assert_eq!(
            summary.inputs[0].bytes,
            std::fs::metadata(f.path()).unwrap().len()
        );
    }

    #[test]
    fn a_file_that_is_not_parquet_is_a_clear_error() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"ssn,year\n1,2\n").unwrap();
        let spec = SourceSpec::new(
            "w",
            Entity::WageRecord,
            "parquet",
            Location::Local(f.path().to_path_buf()),
        );
        let err = open(&spec).err().unwrap().to_string();
        assert!(err.contains("not a readable Parquet file"), "{err}");
    }
}
