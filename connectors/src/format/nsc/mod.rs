//! National Student Clearinghouse StudentTracker detail return file (CSV).
//!
//! Columns are found by header name, never by position (NSC has reordered and added columns
//! over the years); names are compared ignoring case and spaces. Each data row is one of three
//! kinds (shared/notes/standards.md §3):
//! - `Record Found Y/N = N`: NSC found nothing for the student; only identity columns;
//! - `Graduated? = Y`: a degree row (Graduation Date, Degree Title, Degree CIP 1) → `ps_award`;
//! - otherwise an enrollment row (Enrollment Begin/End, Enrollment Status, 2-year / 4-year)
//!   → `ps_enrollment`.
//!
//! A source reads one entity, so a job reads an NSC file twice (entity `ps_enrollment` and
//! entity `ps_award`). Each source counts every data row exactly once: as read (then accepted or
//! quarantined) when it is of the source's kind, otherwise as skipped by reason (`not_found`,
//! `degree_row`, `enrollment_row`). Rows whose kind cannot be told (bad encoding, wrong field
//! count, a Y/N column holding something else) are quarantined by every source reading the file.
//!
//! NSC echoes the Requester Return Field the state sent with each student; option
//! `return_field` names the identifier it holds (the state student id unless set). NSC gives no
//! institution student id and no birth date.
//!
//! Codes go through the shipped `connectors/data/crosswalks/nsc.csv` (or the file option
//! `crosswalk` names instead), under the job's own crosswalks. Degree titles are free text: the
//! title is upper-cased, `.` and `'` dropped and other punctuation made a space, then the
//! longest leading run of words that the crosswalk maps in `award_level` gives the level
//! (`BACHELOR OF SCIENCE IN NURSING` → `BACHELOR` → `05`); a title none matches is reported as
//! an unmapped code. A certificate of unstated length is taken as level `01` (less than one
//! year); a state whose certificates are longer maps their titles in its own crosswalk.

use std::path::PathBuf;

use p20w_schemas::Entity;
use serde::Deserialize;

use crate::format::shipped::{Skipped, cip, validation_with, yyyymmdd};
use crate::format::{ReadSummary, SourceReader, SourceSpec};
use crate::location::{Input, Inputs};
use crate::record::RecordBuilder;
use crate::{ConnectorError, Rule, SourceBatch};

const SHIPPED_CROSSWALK: &str = include_str!("../../../data/crosswalks/nsc.csv");

/// `[sources.options]` of an `nsc` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The identifier field the Requester Return Field fills.
    #[serde(default)]
    pub return_field: ReturnField,
    /// A crosswalk file used instead of the shipped `nsc.csv`.
    pub crosswalk: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnField {
    #[default]
    StateStudentId,
    Ssn,
    InstitutionStudentId,
}

impl ReturnField {
    fn field(self) -> &'static str {
        match self {
            ReturnField::StateStudentId => "state_student_id",
            ReturnField::Ssn => "ssn",
            ReturnField::InstitutionStudentId => "institution_student_id",
        }
    }
}

// The NSC column names, as the detail report's header spells them.
const RETURN_FIELD: &str = "Requester Return Field";
const RECORD_FOUND: &str = "Record Found Y/N";
const FIRST_NAME: &str = "First Name";
const LAST_NAME: &str = "Last Name";
const COLLEGE: &str = "College Code/Branch";
const LEVEL: &str = "2-year / 4-year";
const BEGIN: &str = "Enrollment Begin";
const END: &str = "Enrollment End";
const STATUS: &str = "Enrollment Status";
const GRADUATED: &str = "Graduated?";
const GRADUATION_DATE: &str = "Graduation Date";
const DEGREE_TITLE: &str = "Degree Title";
const DEGREE_CIP: &str = "Degree CIP 1";

const COLUMNS: [&str; 13] = [
    RETURN_FIELD,
    RECORD_FOUND,
    FIRST_NAME,
    LAST_NAME,
    COLLEGE,
    LEVEL,
    BEGIN,
    END,
    STATUS,
    GRADUATED,
    GRADUATION_DATE,
    DEGREE_TITLE,
    DEGREE_CIP,
];
const COMMON_REQUIRED: [&str; 4] = [RETURN_FIELD, RECORD_FOUND, COLLEGE, GRADUATED];
const ENROLLMENT_REQUIRED: [&str; 4] = [LEVEL, BEGIN, END, STATUS];
const AWARD_REQUIRED: [&str; 3] = [GRADUATION_DATE, DEGREE_TITLE, DEGREE_CIP];

/// Header names compare without case or spaces: `2-year/4-year` is `2-year / 4-year`.
fn normalized(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

pub fn open(spec: &SourceSpec) -> Result<NscReader, ConnectorError> {
    let input = spec.location.open(None)?;
    from_input(spec, input)
}

/// Reads an NSC detail file from `input` (any `Read`, such as a generated stream in a test).
pub fn from_input(spec: &SourceSpec, input: Input) -> Result<NscReader, ConnectorError> {
    let config: Config = spec.options()?;
    let kind = match spec.entity {
        Entity::PsEnrollment => Kind::Enrollment,
        Entity::PsAward => Kind::Degree,
        _ => return Err(spec.unsupported(&[Entity::PsEnrollment, Entity::PsAward])),
    };
    let validation = validation_with(
        spec,
        "nsc.csv",
        SHIPPED_CROSSWALK,
        config.crosswalk.as_ref(),
    )?;
    let mut inputs = Inputs::default();
    inputs.track(&input);
    let file = input.name().to_string();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|e| ConnectorError::Format {
            file: file.clone(),
            message: format!(
                "the NSC header row cannot be read ({})",
                crate::format::csv::csv_kind(&e)
            ),
        })?
        .clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| normalized(&String::from_utf8_lossy(h)))
        .collect();
    for (i, n) in names.iter().enumerate() {
        if !n.is_empty() && names[..i].contains(n) {
            return Err(ConnectorError::DuplicateColumn {
                file,
                column: String::from_utf8_lossy(&header[i]).trim().to_string(),
            });
        }
    }
    let position = |column: &str| names.iter().position(|n| *n == normalized(column));
    let columns: Vec<Option<usize>> = COLUMNS.iter().map(|c| position(*c)).collect();
    let kind_required: &[&str] = match kind {
        Kind::Enrollment => &ENROLLMENT_REQUIRED,
        _ => &AWARD_REQUIRED,
    };
    let missing: Vec<String> = COMMON_REQUIRED
        .iter()
        .chain(kind_required)
        .filter(|c| position(**c).is_none())
        .map(|c| c.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ConnectorError::MissingColumns {
            file,
            entity: spec.entity.name(),
            missing,
        });
    }
    let ignored: Vec<String> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !columns.contains(&Some(*i)))
        .map(|(_, h)| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    tracing::debug!(file = %file, entity = spec.entity.name(), ignored = ?ignored, "NSC file opened");
    let mut records = RecordBuilder::new(spec.entity, validation.clone(), spec.batch_rows);
    records.set_file(&file);
    Ok(NscReader {
        file,
        entity: spec.entity,
        kind,
        return_field: config.return_field.field(),
        award_titles: validation
            .crosswalk
            .sources("award_level")
            .into_iter()
            .map(str::to_string)
            .collect(),
        reader,
        columns,
        header_len: header.len(),
        ignored,
        inputs,
        records,
        skipped: Skipped::default(),
        finished: false,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    Enrollment,
    Degree,
}

impl Kind {
    fn skip_reason(self) -> &'static str {
        match self {
            Kind::NotFound => "not_found",
            Kind::Enrollment => "enrollment_row",
            Kind::Degree => "degree_row",
        }
    }
}

/// Streams [`SourceBatch`]es of one entity from an NSC detail file.
pub struct NscReader {
    file: String,
    entity: Entity,
    kind: Kind,
    return_field: &'static str,
    /// The degree-title word runs the crosswalk maps, for the longest-prefix rule.
    award_titles: Vec<String>,
    reader: csv::Reader<Input>,
    /// Position of each of [`COLUMNS`] in the file, if present.
    columns: Vec<Option<usize>>,
    header_len: usize,
    ignored: Vec<String>,
    inputs: Inputs,
    records: RecordBuilder,
    skipped: Skipped,
    finished: bool,
}

impl SourceReader for NscReader {
    fn summary(&self) -> ReadSummary {
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: self.ignored.clone(),
            unmapped: self.records.unmapped_codes(),
            skipped: self.skipped.list(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }
}

/// One row's texts by NSC column, borrowed from the CSV record.
struct Row<'r> {
    texts: Vec<&'r str>,
}

impl Row<'_> {
    fn get(&self, column: &str) -> &str {
        let i = COLUMNS
            .iter()
            .position(|c| *c == column)
            .expect("a known column");
        self.texts[i]
    }
}

impl NscReader {
    fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        let mut record = csv::ByteRecord::new();
        while !self.records.is_full() {
            let Some(line) = crate::format::csv::next_record(
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
            let mut texts = Vec::with_capacity(COLUMNS.len());
            let mut bad_encoding = None;
            for (name, column) in COLUMNS.iter().zip(&self.columns) {
                let raw = column.map_or(&b""[..], |i| &record[i]);
                match std::str::from_utf8(raw) {
                    Ok(t) => texts.push(t.trim()),
                    Err(_) => {
                        bad_encoding = Some(*name);
                        break;
                    }
                }
            }
            if let Some(column) = bad_encoding {
                let message = format!("{column} is not valid UTF-8");
                self.records
                    .reject(line, Some(column), Rule::Encoding, message);
                continue;
            }
            let row = Row { texts };
            let kind = match (row.get(RECORD_FOUND), row.get(GRADUATED)) {
                ("N" | "n", _) => Kind::NotFound,
                ("Y" | "y", "Y" | "y") => Kind::Degree,
                ("Y" | "y", "N" | "n" | "") => Kind::Enrollment,
                ("Y" | "y", _) => {
                    let message = format!("{GRADUATED} is neither Y, N nor blank");
                    self.records
                        .reject(line, Some(GRADUATED), Rule::Code, message);
                    continue;
                }
                _ => {
                    let message = format!("{RECORD_FOUND} is neither Y nor N");
                    self.records
                        .reject(line, Some(RECORD_FOUND), Rule::Code, message);
                    continue;
                }
            };
            if kind != self.kind {
                self.skipped.add(kind.skip_reason());
                continue;
            }
            if row.get(RETURN_FIELD).is_empty() {
                let message = format!(
                    "{RETURN_FIELD} is blank, so the row cannot be linked to the student it answers"
                );
                self.records
                    .reject(line, Some(RETURN_FIELD), Rule::Required, message);
                continue;
            }
            let dates: &[(&str, &str)] = match kind {
                Kind::Enrollment => &[(BEGIN, "begin_date"), (END, "end_date")],
                _ => &[(GRADUATION_DATE, "award_date")],
            };
            let mut converted: Vec<(&str, String)> = Vec::with_capacity(2);
            let mut bad_date = None;
            for (column, field) in dates {
                match yyyymmdd(row.get(column)) {
                    Ok(d) => converted.push((*field, d)),
                    Err(()) => {
                        bad_date = Some(*column);
                        break;
                    }
                }
            }
            if let Some(column) = bad_date {
                let message = format!("{column} is not a date written YYYYMMDD");
                self.records.reject(line, Some(column), Rule::Date, message);
                continue;
            }
            let level = self.award_level(row.get(DEGREE_TITLE));
            let cip_code = cip(row.get(DEGREE_CIP));
            let values: Vec<Option<&str>> = self
                .entity
                .fields()
                .iter()
                .map(|f| {
                    if let Some((_, d)) = converted.iter().find(|(n, _)| *n == f.name) {
                        return Some(d.as_str());
                    }
                    match f.name {
                        n if n == self.return_field => Some(row.get(RETURN_FIELD)),
                        "institution_id" => Some(row.get(COLLEGE)),
                        "first_name" => Some(row.get(FIRST_NAME)),
                        "last_name" => Some(row.get(LAST_NAME)),
                        "institution_level" => Some(row.get(LEVEL)),
                        "enrollment_status" => Some(row.get(STATUS)),
                        "award_level" => Some(level.as_str()),
                        "cip_code" => Some(cip_code.as_str()),
                        _ => None,
                    }
                })
                .collect();
            self.records.push(line, &values);
        }
        self.records.take_batch()
    }

    /// The source code to look up for a degree title: its longest leading run of words that
    /// the crosswalk maps, else the whole normalized title (reported as unmapped).
    fn award_level(&self, title: &str) -> String {
        let cleaned: String = title
            .chars()
            .filter(|c| *c != '.' && *c != '\'')
            .map(|c| {
                if c.is_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    ' '
                }
            })
            .collect();
        let words: Vec<&str> = cleaned.split_whitespace().collect();
        for n in (1..=words.len()).rev() {
            let prefix = words[..n].join(" ");
            if self.award_titles.contains(&prefix) {
                return prefix;
            }
        }
        words.join(" ")
    }
}

impl Iterator for NscReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.next_batch().transpose()
    }
}

#[cfg(test)]
mod tests;
