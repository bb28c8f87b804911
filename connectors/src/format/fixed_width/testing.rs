//! Test helpers shared by the ICESA and EFW2 tests: records placed by position, batches as
//! text rows.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;

/// A `len`-byte record, blank except for `parts` (1-based start, text).
pub fn record(len: usize, parts: &[(usize, &str)]) -> String {
    let mut b = vec![b' '; len];
    for (start, text) in parts {
        b[start - 1..start - 1 + text.len()].copy_from_slice(text.as_bytes());
    }
    String::from_utf8(b).expect("ASCII parts")
}

/// Every row of `batch` as `column=value` texts (cents as integers), nulls left out.
pub fn rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .filter(|(_, c)| c.is_valid(i))
                .map(|(f, c)| {
                    let v = match f.data_type() {
                        DataType::Int32 => c.as_primitive::<Int32Type>().value(i).to_string(),
                        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).to_string(),
                        _ => c.as_string::<i32>().value(i).to_string(),
                    };
                    format!("{}={v}", f.name())
                })
                .collect()
        })
        .collect()
}
