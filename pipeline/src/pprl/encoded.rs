//! The encoded file: what an agency hands to the linkage unit.
//!
//! One Parquet file, a row per record: `record_key` (the keyed pseudonym of the agency's
//! record id), `ssn_pid` (null without a valid SSN), `encoding` (the balanced Bloom-filter
//! segments, 320 bytes) and one `block_<rule>` column per blocking rule (null where the rule's
//! fields were missing). The file's metadata names the encoding version, the agreement and the
//! key id, so files encoded under different keys are refused instead of silently not matching.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeBinaryArray, RecordBatch, StringArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, UInt64Type};
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use p20w_privacy::MasterKey;
use p20w_privacy::linkage::{BLOCK_RULES, ENCODING_WORDS, EncodedColumns, Encoding};

use super::PprlError;

/// Bumped whenever an encoding's bits would change for the same input and key.
pub const ENCODING_VERSION: &str = "p20w-pprl-v5";
const ENCODING_BYTES: usize = ENCODING_WORDS * 8;

pub(super) fn schema() -> Schema {
    let mut fields = vec![
        Field::new("record_key", DataType::Utf8, false),
        Field::new("ssn_pid", DataType::Utf8, true),
        Field::new(
            "encoding",
            DataType::FixedSizeBinary(ENCODING_BYTES as i32),
            false,
        ),
    ];
    fields.extend(
        BLOCK_RULES
            .iter()
            .map(|r| Field::new(format!("block_{r}"), DataType::UInt64, true)),
    );
    Schema::new(fields)
}

pub(super) fn file_metadata(key: &MasterKey, agreement_id: &str) -> HashMap<String, String> {
    HashMap::from([
        ("p20w.encoding".to_string(), ENCODING_VERSION.to_string()),
        ("p20w.agreement_id".to_string(), agreement_id.to_string()),
        ("p20w.key_id".to_string(), key.key_id()),
    ])
}

pub(super) fn batch_of(
    schema: &Arc<Schema>,
    keys: &[String],
    encodings: EncodedColumns,
) -> Result<RecordBatch, ArrowError> {
    // The encoder wrote the filters as the column's bytes: the buffer moves, no copy.
    let encoding: ArrayRef = Arc::new(FixedSizeBinaryArray::try_new(
        ENCODING_BYTES as i32,
        encodings.bits.into(),
        None,
    )?);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(keys)),
        Arc::new(
            encodings
                .ssn_pids
                .iter()
                .map(Option::as_deref)
                .collect::<StringArray>(),
        ),
        encoding,
    ];
    for rule in 0..BLOCK_RULES.len() {
        columns.push(Arc::new(
            encodings
                .blocks
                .iter()
                .map(|b| (b[rule] != 0).then_some(b[rule]))
                .collect::<UInt64Array>(),
        ));
    }
    RecordBatch::try_new(schema.clone(), columns)
}

/// An encoded file read back whole (the linkage unit's working set: about 330 bytes a record).
#[derive(Debug)]
pub struct EncodedFile {
    pub path: String,
    pub agreement_id: String,
    pub key_id: String,
    pub record_keys: Vec<String>,
    pub encodings: Vec<Encoding>,
}

pub fn read_encoded(path: &Path) -> Result<EncodedFile, PprlError> {
    let shown = path.display().to_string();
    let parquet = |source| PprlError::Parquet {
        file: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| PprlError::Io {
        file: shown.clone(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
    let meta = builder.schema().metadata().clone();
    let get = |k: &str| meta.get(k).cloned();
    if get("p20w.encoding").as_deref() != Some(ENCODING_VERSION) {
        return Err(PprlError::input(
            path,
            format!("not a {ENCODING_VERSION} encoded file (p20w encode writes them)"),
        ));
    }
    let expected = schema();
    for f in expected.fields() {
        let found = builder
            .schema()
            .field_with_name(f.name())
            .ok()
            .map(|g| g.data_type().clone());
        if found.as_ref() != Some(f.data_type()) {
            return Err(PprlError::input(
                path,
                format!("column `{}` missing or not {}", f.name(), f.data_type()),
            ));
        }
    }
    let mut out = EncodedFile {
        path: shown.clone(),
        agreement_id: get("p20w.agreement_id").unwrap_or_default(),
        key_id: get("p20w.key_id").unwrap_or_default(),
        record_keys: Vec::new(),
        encodings: Vec::new(),
    };
    for batch in builder.build().map_err(parquet)? {
        let batch = batch.map_err(|source| PprlError::Arrow {
            file: shown.clone(),
            source,
        })?;
        let col = |name: &str| batch.column_by_name(name).expect("checked above");
        let keys = col("record_key").as_string::<i32>();
        let ssn = col("ssn_pid").as_string::<i32>();
        let enc = col("encoding").as_fixed_size_binary();
        let blocks: Vec<_> = BLOCK_RULES
            .iter()
            .map(|r| {
                col(&format!("block_{r}"))
                    .as_primitive::<UInt64Type>()
                    .clone()
            })
            .collect();
        for i in 0..batch.num_rows() {
            let mut bits = [0u64; ENCODING_WORDS];
            for (w, chunk) in bits.iter_mut().zip(enc.value(i).chunks_exact(8)) {
                *w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            }
            let mut keys_of = [0u64; BLOCK_RULES.len()];
            for (k, b) in keys_of.iter_mut().zip(&blocks) {
                *k = if b.is_null(i) { 0 } else { b.value(i) };
            }
            out.record_keys.push(keys.value(i).to_string());
            out.encodings.push(Encoding::new(
                bits,
                keys_of,
                (!ssn.is_null(i)).then(|| ssn.value(i).to_string()),
            ));
        }
    }
    Ok(out)
}
