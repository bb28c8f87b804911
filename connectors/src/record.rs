//! The one place a record becomes canonical: every format hands each input record here as the
//! text of the entity's fields, and this checks it (code set after crosswalk, type, catalogue,
//! cross-field rules) and appends it to the Arrow batch being built, or quarantines it.
//!
//! Formats differ in how they find a record's fields, never in how a field is judged, so a CSV
//! row and an ICESA `S` record with the same content are accepted or rejected alike.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Int32Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::DataType;
use p20w_schemas::{
    Crosswalk, CteProgramCatalog, Entity, FieldKind, FieldSpec, YearQuarter, not_reported_code,
};

use crate::plausible::{check_row, current_quarter};
use crate::value::{Value, parse};
use crate::{ConnectorError, QuarantinedRow, Rule, SourceBatch, SourceCounts};

/// What to do with a code that is neither canonical nor mapped by the source's crosswalk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmappedCodes {
    /// The row is quarantined with rule `unmapped_code` (the default: nothing is guessed).
    #[default]
    Quarantine,
    /// The field takes its code set's not-reported code; sets without one still quarantine.
    NotReported,
}

/// What a source's values are checked against: shared by every format.
#[derive(Debug, Clone)]
pub struct Validation {
    pub catalog: Arc<CteProgramCatalog>,
    /// Agency codes → canonical codes, applied before a code is checked.
    pub crosswalk: Arc<Crosswalk>,
    pub unmapped: UnmappedCodes,
    /// The latest quarter a quarter-dated record may name (see [`crate::plausible`]).
    pub latest_quarter: YearQuarter,
}

impl Default for Validation {
    fn default() -> Validation {
        Validation {
            catalog: Arc::new(CteProgramCatalog::builtin().clone()),
            crosswalk: Arc::new(Crosswalk::default()),
            unmapped: UnmappedCodes::default(),
            latest_quarter: current_quarter(),
        }
    }
}

/// A code that was neither canonical nor in the crosswalk, with how many rows carried it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnmappedCode {
    pub field: String,
    pub code_set: String,
    /// The code as found, or `None` when it looked like it could be an identifier (a run of
    /// digits) and so is withheld from the report.
    pub code: Option<String>,
    pub rows: u64,
}

/// Builds one entity's batches from field texts, with the quarantine and counts of a source.
pub struct RecordBuilder {
    entity: Entity,
    validation: Validation,
    file: String,
    batch_rows: usize,
    columns: Vec<Column>,
    accepted: usize,
    /// The line of each accepted record of the batch being built.
    lines: Vec<u64>,
    /// (index of the first accepted record from it, file) for each file of that batch.
    files: Vec<(usize, String)>,
    quarantined: Vec<QuarantinedRow>,
    counts: SourceCounts,
    unmapped: BTreeMap<(&'static str, &'static str, Option<String>), u64>,
}

impl RecordBuilder {
    pub fn new(entity: Entity, validation: Validation, batch_rows: usize) -> RecordBuilder {
        let batch_rows = batch_rows.max(1);
        RecordBuilder {
            entity,
            validation,
            file: String::new(),
            batch_rows,
            columns: new_columns(entity, batch_rows),
            accepted: 0,
            lines: Vec::with_capacity(batch_rows),
            files: vec![(0, String::new())],
            quarantined: Vec::new(),
            counts: SourceCounts::default(),
            unmapped: BTreeMap::new(),
        }
    }

    pub fn entity(&self) -> Entity {
        self.entity
    }

    /// The file that the following records and rejections come from (a source may span
    /// several files or objects).
    pub fn set_file(&mut self, file: &str) {
        self.file = file.to_string();
        match self.files.last_mut() {
            Some((first, f)) if *first == self.accepted => *f = self.file.clone(),
            _ => self.files.push((self.accepted, self.file.clone())),
        }
    }

    /// One input record: `values[i]` is the text of `entity.fields()[i]`, `None` where the
    /// input has no such field. Returns whether the record was accepted.
    pub fn push(&mut self, line: u64, values: &[Option<&str>]) -> bool {
        debug_assert_eq!(values.len(), self.entity.fields().len());
        self.counts.read += 1;
        let validation = self.validation.clone();
        let fields = self.entity.fields();
        let mut parsed: Vec<Value<'_>> = Vec::with_capacity(fields.len());
        let mut failure = None;
        for (spec, raw) in fields.iter().zip(values) {
            let raw = raw.unwrap_or("");
            let text = match self.code_text(&validation, spec, raw) {
                Ok(t) => t,
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            };
            match parse(spec, text, &validation.catalog) {
                Ok(v) => parsed.push(v),
                Err((rule, message)) => {
                    failure = Some((spec.name, rule, format!("{} {message}", spec.name)));
                    break;
                }
            }
        }
        if failure.is_none() {
            failure = check_row(self.entity, fields, &parsed, validation.latest_quarter);
        }
        if let Some((field, rule, message)) = failure {
            self.counts.read -= 1;
            self.reject(line, Some(field), rule, message);
            return false;
        }
        for (b, v) in self.columns.iter_mut().zip(&parsed) {
            b.append(v);
        }
        self.accepted += 1;
        self.lines.push(line);
        self.counts.accepted += 1;
        true
    }

    /// Quarantines an input record the format could not even split into fields (a short
    /// fixed-width line, a record out of order). `message` must not carry the record's values.
    pub fn reject(&mut self, line: u64, field: Option<&str>, rule: Rule, message: String) {
        self.counts.read += 1;
        self.counts.quarantined += 1;
        self.quarantined.push(QuarantinedRow {
            file: self.file.clone(),
            line,
            field: field.map(str::to_string),
            rule,
            message,
        });
    }

    /// The text to check for `spec`: for a coded field, the canonical code it maps to.
    fn code_text<'v>(
        &mut self,
        validation: &'v Validation,
        spec: &FieldSpec,
        raw: &'v str,
    ) -> Result<&'v str, (&'static str, Rule, String)> {
        let FieldKind::Code(set) = spec.kind else {
            return Ok(raw);
        };
        let v = raw.trim();
        if v.is_empty() {
            // A crosswalk may give a blank a meaning: a blank NSC enrollment status says the
            // college does not release it, not that the record lacks one.
            return Ok(validation.crosswalk.map(set, "").unwrap_or(v));
        }
        if let Some(code) = validation.crosswalk.map(set, v) {
            return Ok(code);
        }
        let canonical = p20w_schemas::CodeSets::builtin()
            .get(set)
            .is_some_and(|s| s.contains(v));
        if canonical {
            return Ok(v);
        }
        *self
            .unmapped
            .entry((spec.name, set, reportable_code(v)))
            .or_default() += 1;
        match (validation.unmapped, not_reported_code(set)) {
            (UnmappedCodes::NotReported, Some(code)) => Ok(code),
            _ => Err((
                spec.name,
                Rule::UnmappedCode,
                format!(
                    "{} is neither a code of set {set} nor mapped by the source's crosswalk",
                    spec.name
                ),
            )),
        }
    }

    /// Records accepted or quarantined since the last batch was taken.
    pub fn pending(&self) -> usize {
        self.accepted + self.quarantined.len()
    }

    /// Whether the batch being built holds `batch_rows` accepted records.
    pub fn is_full(&self) -> bool {
        self.accepted >= self.batch_rows
    }

    /// The batch built so far, or `None` when no record came since the last one.
    pub fn take_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        if self.pending() == 0 {
            return Ok(None);
        }
        let columns =
            std::mem::replace(&mut self.columns, new_columns(self.entity, self.batch_rows));
        let arrays: Vec<ArrayRef> = columns.into_iter().map(Column::finish).collect();
        let records =
            RecordBatch::try_new(self.entity.ingest_schema(), arrays).map_err(|source| {
                ConnectorError::Arrow {
                    file: self.file.clone(),
                    source,
                }
            })?;
        self.accepted = 0;
        Ok(Some(SourceBatch {
            records,
            lines: std::mem::replace(&mut self.lines, Vec::with_capacity(self.batch_rows)),
            files: std::mem::replace(&mut self.files, vec![(0, self.file.clone())]),
            quarantined: std::mem::take(&mut self.quarantined),
        }))
    }

    pub fn counts(&self) -> SourceCounts {
        self.counts
    }

    /// Every unmapped code seen so far, with its row count.
    pub fn unmapped_codes(&self) -> Vec<UnmappedCode> {
        self.unmapped
            .iter()
            .map(|((field, set, code), rows)| UnmappedCode {
                field: field.to_string(),
                code_set: set.to_string(),
                code: code.clone(),
                rows: *rows,
            })
            .collect()
    }
}

/// A code is shown in the report unless it could be an identifier keyed into the wrong field.
pub(crate) fn reportable_code(v: &str) -> Option<String> {
    let mut run = 0;
    for b in v.bytes() {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 6 {
            return None;
        }
    }
    (v.len() <= 120).then(|| v.to_string())
}

fn new_columns(entity: Entity, rows: usize) -> Vec<Column> {
    entity
        .fields()
        .iter()
        .map(|f| Column::new(f, rows))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn validation(unmapped: UnmappedCodes) -> Validation {
        let mut crosswalk = Crosswalk::default();
        crosswalk
            .add_csv("x.csv", "code_set,source_code,code\nsex,F,Female\n")
            .unwrap();
        Validation {
            crosswalk: Arc::new(crosswalk),
            unmapped,
            ..Validation::default()
        }
    }

    fn person(sex: &str) -> Vec<Option<&str>> {
        Entity::Person
            .fields()
            .iter()
            .map(|f| match f.name {
                "state_student_id" => Some("S1"),
                "sex" => Some(sex),
                "hispanic_or_latino"
                | "race_asian"
                | "race_white"
                | "race_american_indian_or_alaska_native"
                | "race_black_or_african_american"
                | "race_native_hawaiian_or_other_pacific_islander" => Some("No"),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn crosswalked_codes_are_accepted_and_unmapped_ones_counted() {
        let mut b = RecordBuilder::new(Entity::Person, validation(UnmappedCodes::Quarantine), 8);
        b.set_file("p.csv");
        assert!(b.push(2, &person("F")));
        assert!(b.push(3, &person("Male")));
        assert!(!b.push(4, &person("W")));
        assert!(!b.push(5, &person("W")));
        assert!(!b.push(6, &person("123456789")));
        let batch = b.take_batch().unwrap().unwrap();
        assert_eq!(batch.records.num_rows(), 2);
        assert_eq!(batch.lines, [2, 3], "the lines of the accepted records");
        assert_eq!(batch.place(1), ("p.csv", 3));
        assert_eq!(batch.quarantined.len(), 3);
        assert_eq!(batch.quarantined[0].rule, Rule::UnmappedCode);
        assert_eq!(batch.quarantined[0].file, "p.csv");
        assert_eq!(
            b.counts(),
            SourceCounts {
                read: 5,
                accepted: 2,
                quarantined: 3
            }
        );
        let unmapped = b.unmapped_codes();
        assert_eq!(unmapped.len(), 2);
        assert_eq!(unmapped[0].code, None, "digit runs are withheld");
        assert_eq!(
            (unmapped[1].code.as_deref(), unmapped[1].rows),
            (Some("W"), 2)
        );
        assert!(b.take_batch().unwrap().is_none());
    }

    #[test]
    fn accepted_records_keep_their_file_and_line() {
        let mut b = RecordBuilder::new(Entity::Person, validation(UnmappedCodes::Quarantine), 8);
        b.set_file("a.csv");
        assert!(b.push(2, &person("F")));
        b.set_file("b.csv");
        b.set_file("c.csv");
        assert!(!b.push(2, &person("W")));
        assert!(b.push(3, &person("F")));
        assert!(b.push(4, &person("F")));
        let batch = b.take_batch().unwrap().unwrap();
        let places: Vec<(&str, u64)> = (0..3).map(|i| batch.place(i)).collect();
        assert_eq!(places, [("a.csv", 2), ("c.csv", 3), ("c.csv", 4)]);
        assert_eq!(batch.quarantined[0].file, "c.csv");
        assert!(b.push(5, &person("F")));
        assert_eq!(b.take_batch().unwrap().unwrap().place(0), ("c.csv", 5));
    }

    #[test]
    fn unmapped_codes_can_become_not_reported() {
        let mut b = RecordBuilder::new(Entity::Person, validation(UnmappedCodes::NotReported), 8);
        assert!(b.push(2, &person("W")));
        let batch = b.take_batch().unwrap().unwrap();
        let sex = batch.records.column_by_name("sex").unwrap();
        let sex = arrow_array::cast::AsArray::as_string::<i32>(sex);
        assert_eq!(sex.value(0), "NotSelected");
        assert_eq!(b.unmapped_codes()[0].rows, 1, "still reported");
    }
}
