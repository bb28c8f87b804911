//! Checks across rows (tiers 4 and 6): duplicate natural keys within an entity, and records
//! naming a student or an enrollment that no source holds.
//!
//! Every key is held as a 64-bit hash of its fields, never as text, so memory per distinct key
//! is fixed whatever the identifiers look like: about 9 bytes per slot of a hash set (8 for the
//! hash, 1 of control), at most 8/7 slots per key plus power-of-two rounding, so 10–21 bytes a
//! key, and twice that for a moment while a table grows. A 100-million-row wage file costs
//! about 1.1 GiB, 1.7 GiB at its peak. Two different keys share a hash with probability
//! about n²/2⁶⁵ (3·10⁻⁴ at 10⁸ keys): at worst a spurious duplicate warning, never a lost row.
//! The hashes stay in memory and end with the process; nothing is written.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Int32Type, Int64Type};
use p20w_privacy::canonical_ssn;
use p20w_schemas::{Entity, IdType, Role};

/// The fields that name one real-world record of `entity`; two accepted rows with the same
/// values in them are the same record sent twice. `None` where rows cannot be told apart
/// safely:
/// - `person`: one row per district attended, and the file does not name the district, so
///   identical rows from two districts are not duplicates;
/// - `cte_course_completion`: a course completed twice in one school year (a semester retake)
///   is a real record, and the concentrator rule already counts distinct courses.
pub fn natural_key(entity: Entity) -> Option<&'static [&'static str]> {
    Some(match entity {
        Entity::Person | Entity::CteCourseCompletion => return None,
        Entity::K12Enrollment => &["state_student_id", "lea_id", "school_id", "entry_date"],
        Entity::IndustryCredential => &[
            "state_student_id",
            "credential_type",
            "cip_code",
            "award_date",
        ],
        Entity::WorkBasedLearning => &["state_student_id", "wbl_type", "start_date"],
        Entity::PsEnrollment => &["institution_id", "institution_student_id", "begin_date"],
        Entity::PsAward => &[
            "institution_id",
            "institution_student_id",
            "award_level",
            "cip_code",
            "award_date",
        ],
        // A record sent twice in one load is the same record twice. An amendment, a supplemental
        // report, a resend in a later load, or two differing amendments of one load are records
        // of their own (report type, received quarter and amount are in the key): the wage
        // resolution rule picks among them.
        Entity::WageRecord => &[
            "ssn",
            "employer_fein",
            "employer_ui_account",
            "year",
            "quarter",
            "report_type",
            "received_year",
            "received_quarter",
            "wages",
        ],
        Entity::WorkforceParticipation => &["ssn", "program_type", "entry_date"],
    })
}

/// Entities whose rows name a K-12 student that the person source must hold.
pub fn names_k12_student(entity: Entity) -> bool {
    matches!(
        entity,
        Entity::K12Enrollment
            | Entity::CteCourseCompletion
            | Entity::IndustryCredential
            | Entity::WorkBasedLearning
    )
}

/// One column of an accepted batch, as a key reads it.
enum Column<'a> {
    Text(&'a datafusion::arrow::array::StringArray),
    /// An SSN, keyed by its canonical digits: `219-45-7880` and `219457880` are one person.
    Ssn(&'a datafusion::arrow::array::StringArray),
    Days(&'a datafusion::arrow::array::Date32Array),
    Int(&'a datafusion::arrow::array::Int32Array),
    Cents(&'a datafusion::arrow::array::Int64Array),
}

/// Hashes `fields` of each row of one batch of `entity`'s ingest schema.
pub struct KeyReader<'a> {
    columns: Vec<Column<'a>>,
}

impl<'a> KeyReader<'a> {
    pub fn new(batch: &'a RecordBatch, entity: Entity, fields: &[&str]) -> KeyReader<'a> {
        let specs = entity.fields();
        let columns = fields
            .iter()
            .map(|name| {
                let i = specs
                    .iter()
                    .position(|f| f.name == *name)
                    .expect("keys name fields of their entity");
                let array = batch.column(i);
                match (array.data_type(), specs[i].role) {
                    (DataType::Utf8, Role::Identifier(IdType::Ssn)) => {
                        Column::Ssn(array.as_string::<i32>())
                    }
                    (DataType::Utf8, _) => Column::Text(array.as_string::<i32>()),
                    (DataType::Date32, _) => Column::Days(array.as_primitive::<Date32Type>()),
                    (DataType::Int32, _) => Column::Int(array.as_primitive::<Int32Type>()),
                    (DataType::Int64, _) => Column::Cents(array.as_primitive::<Int64Type>()),
                    (other, _) => unreachable!("the ingest schema has no {other} column"),
                }
            })
            .collect();
        KeyReader { columns }
    }

    /// The key of `row`, or `None` when it names no one: an SSN missing or invalid (placeholder
    /// SSNs such as 123-45-6789 are shared by different people, and such rows are not linked).
    pub fn hash(&self, row: usize) -> Option<u64> {
        let mut h = DefaultHasher::new();
        for c in &self.columns {
            match c {
                Column::Text(a) => text(&mut h, a.is_valid(row).then(|| a.value(row))),
                Column::Ssn(a) => {
                    let ssn = a.is_valid(row).then(|| canonical_ssn(a.value(row)).0);
                    text(&mut h, Some(ssn.flatten()?.as_str()));
                }
                Column::Days(a) => int(&mut h, a.is_valid(row).then(|| a.value(row) as i64)),
                Column::Int(a) => int(&mut h, a.is_valid(row).then(|| a.value(row) as i64)),
                Column::Cents(a) => int(&mut h, a.is_valid(row).then(|| a.value(row))),
            }
        }
        Some(h.finish())
    }
}

/// A text with a terminator no UTF-8 text holds (0xFF), so `("ab", "c")` and `("a", "bc")`
/// hash apart; NULL has its own tag.
fn text(h: &mut DefaultHasher, v: Option<&str>) {
    match v {
        Some(t) => {
            h.write_u8(1);
            h.write(t.as_bytes());
            h.write_u8(0xff);
        }
        None => h.write_u8(0),
    }
}

fn int(h: &mut DefaultHasher, v: Option<i64>) {
    match v {
        Some(i) => {
            h.write_u8(1);
            h.write_i64(i);
        }
        None => h.write_u8(0),
    }
}

/// The keys seen so far in one validation.
#[derive(Default)]
pub struct KeyTables {
    /// Natural keys of accepted rows, per entity (sources of one entity share a table, so a
    /// record sent in two files is found too).
    pub seen: HashMap<Entity, HashSet<u64>>,
    /// `state_student_id` of every accepted person row.
    pub students: HashSet<u64>,
    /// (institution, institution student id) of every accepted postsecondary enrollment →
    /// its earliest begin date (days since 1970-01-01).
    pub first_ps_begin: HashMap<u64, i32>,
}

impl KeyTables {
    /// Approximate bytes the tables hold now (see the module documentation).
    pub fn bytes(&self) -> u64 {
        let slots = |capacity: usize| (capacity as u64 * 8 / 7).next_power_of_two();
        let sets: u64 = self.seen.values().map(|s| slots(s.capacity()) * 9).sum();
        sets + slots(self.students.capacity()) * 9 + slots(self.first_ps_begin.capacity()) * 13
    }

    pub fn keys(&self) -> u64 {
        let sets: usize = self.seen.values().map(HashSet::len).sum();
        (sets + self.students.len() + self.first_ps_begin.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Date32Array, Int32Array, Int64Array, StringArray};
    use std::sync::Arc;

    fn wages(ssns: &[Option<&str>], quarters: &[i32]) -> RecordBatch {
        let n = ssns.len();
        let schema = Entity::WageRecord.ingest_schema();
        let columns: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match (f.name().as_str(), f.data_type()) {
                    ("ssn", _) => Arc::new(StringArray::from(ssns.to_vec())),
                    ("quarter", _) => Arc::new(Int32Array::from(quarters.to_vec())),
                    (_, DataType::Utf8) => Arc::new(StringArray::from(vec!["x"; n])),
                    (_, DataType::Int32) => Arc::new(Int32Array::from(vec![2024; n])),
                    (_, DataType::Int64) => Arc::new(Int64Array::from(vec![100; n])),
                    (_, DataType::Date32) => Arc::new(Date32Array::from(vec![1; n])),
                    (_, other) => unreachable!("{other}"),
                }
            })
            .collect();
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn ssns_key_by_their_canonical_digits_and_invalid_ones_name_no_one() {
        let batch = wages(
            &[
                Some("219-45-7880"),
                Some("219457880"),
                Some("219457880"),
                Some("123-45-6789"),
                Some(""),
            ],
            &[1, 1, 2, 1, 1],
        );
        let key = KeyReader::new(
            &batch,
            Entity::WageRecord,
            natural_key(Entity::WageRecord).unwrap(),
        );
        assert_eq!(
            key.hash(0),
            key.hash(1),
            "hyphens do not make another person"
        );
        assert_ne!(
            key.hash(1),
            key.hash(2),
            "another quarter is another record"
        );
        assert_eq!(key.hash(3), None, "a placeholder SSN names no one");
        assert_eq!(key.hash(4), None);
    }

    #[test]
    fn field_boundaries_and_nulls_are_part_of_the_key() {
        let mut a = DefaultHasher::new();
        text(&mut a, Some("ab"));
        text(&mut a, Some("c"));
        let mut b = DefaultHasher::new();
        text(&mut b, Some("a"));
        text(&mut b, Some("bc"));
        assert_ne!(a.finish(), b.finish());
        let (mut n, mut e) = (DefaultHasher::new(), DefaultHasher::new());
        text(&mut n, None);
        text(&mut e, Some(""));
        assert_ne!(n.finish(), e.finish());
    }

    #[test]
    fn every_key_names_fields_of_its_entity() {
        for e in Entity::ALL {
            for f in natural_key(e).unwrap_or_default() {
                assert!(e.fields().iter().any(|s| s.name == *f), "{e:?} {f}");
            }
        }
    }
}
