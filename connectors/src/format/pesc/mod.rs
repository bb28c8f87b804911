//! PESC College Transcript XML → `ps_award` (each `AcademicAward`) or `ps_enrollment` (each
//! `AcademicSession`).
//!
//! Read as a stream (quick-xml, one event at a time), so a file may hold any number of
//! `CollegeTranscript` documents, under a batch wrapper or not. Elements are matched by local
//! name only: the namespaces change with every version (CollegeTranscript 1.3–1.8, AcRec,
//! CoreMain) while the element names the reader uses did not.
//!
//! - Person: `SSN` → ssn, `SchoolAssignedPersonID` → institution_student_id, the element option
//!   `state_student_id` names (e.g. `AgencyAssignedID`) → state_student_id, `Name/FirstName`,
//!   `Name/LastName`, `Birth/BirthDate`.
//! - Institution: the session's `School`, else the academic record's `School`, else the
//!   transcript's sender (`TransmissionData/Source/Organization`); of its identifiers the first of
//!   OPEID, IPEDS, FICE, ATP, ACT, CEEBACT present.
//! - Award: `AcademicAwardLevel` (PESC award level, CEDS 001668) through the crosswalk,
//!   `AcademicAwardDate`, the first `AcademicAwardProgram/ProgramCIPCode`. High-school awards
//!   (levels `B17`–`B28`, or a record whose `School/SchoolLevel` is `Secondary`) and awards with
//!   `AcademicCompletionIndicator = false` are skipped, by reason.
//! - Session: `SessionBeginDate`/`SessionEndDate` when given; otherwise the `SessionDesignator`
//!   month (`YYYY-MM`) begins it, and a `SessionType` of Semester or Trimester ends it on the last
//!   day of its fourth month, Quarter or SummerSession of its third; other types leave the end
//!   blank (quarantined: nothing is guessed). Status from the session's
//!   `AcademicSummary/GPA/CreditHoursAttempted` in semester, trimester or quarter units: 12 or
//!   more full-time (`01`), 6 or more at least half-time (`02`), fewer less than half-time (`03`),
//!   none given `NotReported`. A transcript does not say the institution's level: option
//!   `institution_level` gives it (required for `ps_enrollment`).
//!
//! A document that breaks off (a truncated file) or is not well-formed quarantines the record
//! open at that point as `malformed`, at the line where it began, and ends the source there.

mod parse;

use std::path::PathBuf;

use p20w_schemas::Entity;
use serde::Deserialize;

use crate::format::shipped::validation_with;
use crate::format::{ReadSummary, SourceReader, SourceSpec};
use crate::location::{Input, Inputs};
use crate::record::RecordBuilder;
use crate::{ConnectorError, SourceBatch};

pub use parse::PescReader;

const SHIPPED_CROSSWALK: &str = include_str!("../../../data/crosswalks/pesc.csv");

/// `[sources.options]` of a `pesc` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The `Person` child element holding the state student id, if the transcripts carry one.
    pub state_student_id: Option<String>,
    /// The level of the sending institutions (`FourYear`, `TwoToFour`, `LessThanTwo`, or a code
    /// the crosswalk maps); required for `ps_enrollment`.
    pub institution_level: Option<String>,
    /// A crosswalk file used instead of the shipped `pesc.csv`.
    pub crosswalk: Option<PathBuf>,
}

pub fn open(spec: &SourceSpec) -> Result<PescReader, ConnectorError> {
    let input = spec.location.open(None)?;
    from_input(spec, input)
}

/// Reads PESC transcripts from `input`.
pub fn from_input(spec: &SourceSpec, input: Input) -> Result<PescReader, ConnectorError> {
    let config: Config = spec.options()?;
    if !matches!(spec.entity, Entity::PsAward | Entity::PsEnrollment) {
        return Err(spec.unsupported(&[Entity::PsEnrollment, Entity::PsAward]));
    }
    if spec.entity == Entity::PsEnrollment && config.institution_level.is_none() {
        return Err(ConnectorError::Options {
            source_name: spec.name.clone(),
            format: spec.format.clone(),
            message: "institution_level is required for ps_enrollment: a transcript does not \
                      say its institution's level"
                .into(),
        });
    }
    let validation = validation_with(
        spec,
        "pesc.csv",
        SHIPPED_CROSSWALK,
        config.crosswalk.as_ref(),
    )?;
    let mut inputs = Inputs::default();
    inputs.track(&input);
    let file = input.name().to_string();
    let mut records = RecordBuilder::new(spec.entity, validation, spec.batch_rows);
    records.set_file(&file);
    Ok(PescReader::new(
        file,
        spec.entity,
        config,
        input,
        inputs,
        records,
    ))
}

impl SourceReader for PescReader {
    fn summary(&self) -> ReadSummary {
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: Vec::new(),
            unmapped: self.records.unmapped_codes(),
            skipped: self.skipped.list(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }
}

impl Iterator for PescReader {
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
