//! Ed-Fi: the K-12 data standard most state longitudinal systems take in.
//!
//! Two formats share one mapping:
//! - `edfi_json`: an API resource dump, a folder holding one file per resource
//!   (`students.json`, `studentSchoolAssociations.ndjson`, …), each a JSON array or
//!   newline-delimited JSON ([`json`]);
//! - `edfi_xml`: the XML interchanges (`Student.xml`, `StudentEnrollment.xml`, …) of the same
//!   data ([`xml`]), renamed on reading to the API's field names.
//!
//! Each entity reads one *driving* resource record by record and joins a few others that it
//! first reads into compact per-student state ([`state`]):
//!
//! | entity | driving resource | joined |
//! |---|---|---|
//! | `person` | `studentEducationOrganizationAssociations` (DS 4/5) or `studentDemographics` (DS 6): one row per student and education organization | `students` (names, birth date), `studentSchoolAssociations` (enrollment spells, for characteristic periods), `schools`; DS 6 also `studentIdentificationCodes`, and the associations' indicators |
//! | `k12_enrollment` | `studentSchoolAssociations` | `schools` (school → LEA), `studentAcademicRecords` (diplomas) |
//! | `cte_course_completion` | `courseTranscripts` of completed courses whose course the `course_cip` file maps to a CIP code; `earnedAdditionalCredits` with credits earned give `additional_credit_type` (`Dual credit` first) | `schools` |
//! | `industry_credential` | `studentAcademicRecords.diplomas` whose type maps to a credential type | `studentCTEProgramAssociations` (the CIP of the program the student was in on the award date) |
//!
//! The mapping rules (race and Hispanic origin, characteristics and their periods, indicators,
//! diplomas) are in [`mapping`]; descriptor values map through crosswalk data ([`descriptor`]).

mod descriptor;
mod json;
mod mapping;
mod model;
mod state;
mod xml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use p20w_schemas::{Crosswalk, Entity};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::format::{ReadSummary, SourceReader, SourceSpec};
use crate::location::{Input, Inputs, Location};
use crate::record::{RecordBuilder, UnmappedCode, Validation};
use crate::{ConnectorError, Rule, SourceBatch};

pub use descriptor::{SHIPPED_CROSSWALK, code_value};

/// `[sources.options]` of an `edfi_json` or `edfi_xml` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// 4, 5 or 6. Unset: 6 when the dump holds `studentDemographics`, else 5 (4 reads as 5).
    pub data_standard: Option<u8>,
    /// Resource (API name, e.g. `students`) → file name under the source's folder, for files
    /// not named as the defaults (`<resource>.json`, `.ndjson` or `.jsonl`; for XML the
    /// interchange file, e.g. `StudentEnrollment.xml`).
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Report school and LEA ids as the organizations' identification code of this system
    /// (a code value such as `SEA` or `NCES`) instead of the Ed-Fi `schoolId`.
    pub organization_id_system: Option<String>,
    /// StudentIdentificationSystem code values whose identification code is the SSN.
    #[serde(default = "default_ssn_systems")]
    pub ssn_identification_systems: Vec<String>,
    /// Person field → `studentIndicators` indicator name that sets it (default: the field's
    /// own name). An indicator wins over what characteristics or descriptors say.
    #[serde(default)]
    pub indicators: BTreeMap<String, String>,
    /// ExitWithdrawType code values that close a spell without leaving school (the spell
    /// keeps its exit date and gets no exit type).
    #[serde(default = "default_continuing")]
    pub continuing_exit_types: Vec<String>,
    /// CourseAttemptResult code values that complete a course.
    #[serde(default = "default_completed")]
    pub completed_course_results: Vec<String>,
    /// CSV (`course_code,cip_code`) under the source's folder, or an absolute path: the CTE
    /// courses and their programs. Required for `cte_course_completion`.
    pub course_cip: Option<String>,
    /// A crosswalk CSV replacing the shipped `edfi_ds5.csv` (the job's crosswalks still
    /// apply on top).
    pub crosswalk: Option<String>,
}

fn default_ssn_systems() -> Vec<String> {
    vec!["SSN".into()]
}
fn default_continuing() -> Vec<String> {
    vec!["End of school year".into()]
}
fn default_completed() -> Vec<String> {
    vec!["Pass".into()]
}

/// The resources this format reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    Students,
    StudentEducationOrganizationAssociations,
    StudentDemographics,
    StudentIdentificationCodes,
    StudentSchoolAssociations,
    Schools,
    LocalEducationAgencies,
    EducationOrganizationIdentificationCodes,
    StudentAcademicRecords,
    CourseTranscripts,
    StudentCteProgramAssociations,
}

impl Resource {
    pub const ALL: [Resource; 11] = [
        Resource::Students,
        Resource::StudentEducationOrganizationAssociations,
        Resource::StudentDemographics,
        Resource::StudentIdentificationCodes,
        Resource::StudentSchoolAssociations,
        Resource::Schools,
        Resource::LocalEducationAgencies,
        Resource::EducationOrganizationIdentificationCodes,
        Resource::StudentAcademicRecords,
        Resource::CourseTranscripts,
        Resource::StudentCteProgramAssociations,
    ];

    /// The API resource name (the path segment under `/ed-fi/`).
    pub fn api_name(self) -> &'static str {
        match self {
            Resource::Students => "students",
            Resource::StudentEducationOrganizationAssociations => {
                "studentEducationOrganizationAssociations"
            }
            Resource::StudentDemographics => "studentDemographics",
            Resource::StudentIdentificationCodes => "studentIdentificationCodes",
            Resource::StudentSchoolAssociations => "studentSchoolAssociations",
            Resource::Schools => "schools",
            Resource::LocalEducationAgencies => "localEducationAgencies",
            Resource::EducationOrganizationIdentificationCodes => {
                "educationOrganizationIdentificationCodes"
            }
            Resource::StudentAcademicRecords => "studentAcademicRecords",
            Resource::CourseTranscripts => "courseTranscripts",
            Resource::StudentCteProgramAssociations => "studentCTEProgramAssociations",
        }
    }

    /// The interchange file and top-level element of the resource in the XML.
    pub fn xml(self) -> (&'static str, &'static str) {
        match self {
            Resource::Students => ("Student.xml", "Student"),
            Resource::StudentEducationOrganizationAssociations => (
                "StudentEnrollment.xml",
                "StudentEducationOrganizationAssociation",
            ),
            Resource::StudentDemographics => ("StudentEnrollment.xml", "StudentDemographic"),
            Resource::StudentIdentificationCodes => {
                ("StudentEnrollment.xml", "StudentIdentificationCode")
            }
            Resource::StudentSchoolAssociations => {
                ("StudentEnrollment.xml", "StudentSchoolAssociation")
            }
            Resource::Schools => ("EducationOrganization.xml", "School"),
            Resource::LocalEducationAgencies => {
                ("EducationOrganization.xml", "LocalEducationAgency")
            }
            Resource::EducationOrganizationIdentificationCodes => (
                "EducationOrganization.xml",
                "EducationOrganizationIdentificationCode",
            ),
            Resource::StudentAcademicRecords => ("StudentTranscript.xml", "StudentAcademicRecord"),
            Resource::CourseTranscripts => ("StudentTranscript.xml", "CourseTranscript"),
            Resource::StudentCteProgramAssociations => {
                ("StudentProgram.xml", "StudentCTEProgramAssociation")
            }
        }
    }

    fn from_api_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.api_name() == name)
    }
}

/// One resource record as read: its line, and its JSON body or why it could not be read.
#[derive(Debug)]
pub(crate) struct Element {
    pub line: u64,
    pub value: Result<Value, (Rule, String)>,
}

/// The records of one resource file, in file order.
pub(crate) trait Elements: Send {
    fn file(&self) -> &str;
    fn next_element(&mut self) -> Result<Option<Element>, ConnectorError>;
}

/// Which of the two formats, and where its files are.
pub(crate) struct Dump {
    xml: bool,
    files: BTreeMap<Resource, String>,
    source: DumpSource,
}

pub(crate) enum DumpSource {
    Location(Location),
    /// Resource inputs made by a test (a generated 2 GB array).
    #[cfg(test)]
    Generated(Box<dyn Fn(Resource) -> Option<Input> + Send>),
}

impl Dump {
    /// Opens `resource`, or `None` when the dump does not hold it.
    fn open(
        &self,
        resource: Resource,
        inputs: &mut Inputs,
    ) -> Result<Option<Box<dyn Elements>>, ConnectorError> {
        let input = match &self.source {
            DumpSource::Location(location) => {
                let names: Vec<String> = match self.files.get(&resource) {
                    Some(name) => vec![name.clone()],
                    None if self.xml => vec![resource.xml().0.to_string()],
                    None => ["json", "ndjson", "jsonl"]
                        .iter()
                        .map(|ext| format!("{}.{ext}", resource.api_name()))
                        .collect(),
                };
                match names.iter().find(|n| location.exists(n)) {
                    Some(name) => location.open(Some(name))?,
                    None => return Ok(None),
                }
            }
            #[cfg(test)]
            DumpSource::Generated(make) => match make(resource) {
                Some(input) => input,
                None => return Ok(None),
            },
        };
        inputs.track(&input);
        Ok(Some(if self.xml {
            xml::open(input, resource.xml().1)
        } else {
            json::open(input)?
        }))
    }

    fn holds(&self, resource: Resource) -> bool {
        match &self.source {
            DumpSource::Location(location) => match self.files.get(&resource) {
                Some(name) => location.exists(name),
                None if self.xml && resource == Resource::StudentDemographics => {
                    // An interchange holds several resources; DS 6 ones say so in their
                    // namespace.
                    let file = resource.xml().0;
                    location.exists(file)
                        && location
                            .open(Some(file))
                            .ok()
                            .and_then(xml::data_standard)
                            .is_some_and(|v| v >= 6)
                }
                None if self.xml => location.exists(resource.xml().0),
                None => ["json", "ndjson", "jsonl"]
                    .iter()
                    .any(|ext| location.exists(&format!("{}.{ext}", resource.api_name()))),
            },
            #[cfg(test)]
            DumpSource::Generated(make) => make(resource).is_some(),
        }
    }

    /// A side file (the course → CIP crosswalk) under the folder, or at an absolute path.
    fn open_file(&self, name: &str, inputs: &mut Inputs) -> Result<Input, ConnectorError> {
        let input = match &self.source {
            DumpSource::Location(_) if std::path::Path::new(name).is_absolute() => {
                Location::Local(name.into()).open(None)?
            }
            DumpSource::Location(location) => location.open(Some(name))?,
            #[cfg(test)]
            DumpSource::Generated(_) => Location::Local(name.into()).open(None)?,
        };
        inputs.track(&input);
        Ok(input)
    }
}

/// The entities these formats read.
pub const ENTITIES: [Entity; 4] = [
    Entity::Person,
    Entity::K12Enrollment,
    Entity::CteCourseCompletion,
    Entity::IndustryCredential,
];

/// Opens an `edfi_json` source: `spec.location` is the dump's folder.
pub fn open_json(spec: &SourceSpec) -> Result<EdfiReader, ConnectorError> {
    open_dump(spec, false)
}

/// Opens an `edfi_xml` source: `spec.location` is the folder of the interchange files.
pub fn open_xml(spec: &SourceSpec) -> Result<EdfiReader, ConnectorError> {
    open_dump(spec, true)
}

fn open_dump(spec: &SourceSpec, xml: bool) -> Result<EdfiReader, ConnectorError> {
    let config: Config = spec.options()?;
    let files = resource_files(spec, &config)?;
    let dump = Dump {
        xml,
        files,
        source: DumpSource::Location(spec.location.clone()),
    };
    EdfiReader::new(spec, config, dump)
}

fn resource_files(
    spec: &SourceSpec,
    config: &Config,
) -> Result<BTreeMap<Resource, String>, ConnectorError> {
    let mut files = BTreeMap::new();
    for (name, file) in &config.files {
        let resource = Resource::from_api_name(name).ok_or_else(|| ConnectorError::Options {
            source_name: spec.name.clone(),
            format: spec.format.clone(),
            message: format!(
                "files: {name:?} is not a resource this format reads; known: {}",
                Resource::ALL.map(Resource::api_name).join(", ")
            ),
        })?;
        files.insert(resource, file.clone());
    }
    Ok(files)
}

/// Streams [`SourceBatch`]es from an Ed-Fi dump.
pub struct EdfiReader {
    mapper: mapping::Mapper,
    records: RecordBuilder,
    inputs: Inputs,
    driving: Box<dyn Elements>,
    finished: bool,
}

impl EdfiReader {
    pub(crate) fn new(
        spec: &SourceSpec,
        config: Config,
        dump: Dump,
    ) -> Result<EdfiReader, ConnectorError> {
        if !ENTITIES.contains(&spec.entity) {
            return Err(ConnectorError::UnsupportedEntity {
                source_name: spec.name.clone(),
                format: spec.format.clone(),
                entity: spec.entity.name(),
                supported: ENTITIES.iter().map(|e| e.name()).collect(),
            });
        }
        let options = |message: String| ConnectorError::Options {
            source_name: spec.name.clone(),
            format: spec.format.clone(),
            message,
        };
        let ds6 = match config.data_standard {
            Some(4 | 5) => false,
            Some(6) => true,
            Some(other) => return Err(options(format!("data_standard {other} is not 4, 5 or 6"))),
            None => dump.holds(Resource::StudentDemographics),
        };
        for field in config.indicators.keys() {
            if !mapping::INDICATOR_FIELDS.contains(&field.as_str()) {
                return Err(options(format!(
                    "indicators: {field:?} is not a person field an indicator can set; known: {}",
                    mapping::INDICATOR_FIELDS.join(", ")
                )));
            }
        }
        if spec.entity == Entity::CteCourseCompletion && config.course_cip.is_none() {
            return Err(options(
                "cte_course_completion needs course_cip, the CSV mapping course codes to CIP \
                 codes: a course transcript does not say which program a course belongs to"
                    .into(),
            ));
        }
        let mut inputs = Inputs::default();
        let mut shipped = Crosswalk::default();
        match &config.crosswalk {
            None => shipped.add_csv("edfi_ds5.csv", SHIPPED_CROSSWALK),
            Some(name) => {
                let mut text = String::new();
                let mut input = dump.open_file(name, &mut inputs)?;
                std::io::Read::read_to_string(&mut input, &mut text).map_err(|source| {
                    ConnectorError::Io {
                        file: name.clone(),
                        source,
                    }
                })?;
                shipped.add_csv(name, &text)
            }
        }
        .map_err(|e| options(e.to_string()))?;
        let descriptors = descriptor::Descriptors::new(spec.validation.crosswalk.clone(), shipped);
        let mut mapper =
            mapping::Mapper::new(spec.entity, ds6, config, descriptors, &spec.validation);
        mapper.load(&dump, &mut inputs)?;
        let driving_resource = mapper.driving_resource();
        let driving =
            dump.open(driving_resource, &mut inputs)?
                .ok_or_else(|| ConnectorError::Format {
                    file: spec.location.describe(),
                    message: format!(
                        "the dump has no {} resource, which entity {} is read from",
                        driving_resource.api_name(),
                        spec.entity.name()
                    ),
                })?;
        // Descriptors are mapped here; the builder checks the canonical codes it is handed
        // and reports what no crosswalk mapped.
        let validation = Validation {
            crosswalk: Arc::new(Crosswalk::default()),
            ..spec.validation.clone()
        };
        let mut records = RecordBuilder::new(spec.entity, validation, spec.batch_rows);
        records.set_file(driving.file());
        tracing::debug!(
            file = driving.file(),
            entity = spec.entity.name(),
            data_standard = if ds6 { 6 } else { 5 },
            "source opened"
        );
        Ok(EdfiReader {
            mapper,
            records,
            inputs,
            driving,
            finished: false,
        })
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        while !self.records.is_full() {
            match self.driving.next_element()? {
                None => {
                    self.finished = true;
                    break;
                }
                Some(element) => match element.value {
                    Ok(value) => self.mapper.map(element.line, value, &mut self.records),
                    Err((rule, message)) => self.records.reject(element.line, None, rule, message),
                },
            }
        }
        self.records.take_batch()
    }
}

impl SourceReader for EdfiReader {
    fn summary(&self) -> ReadSummary {
        let mut unmapped: Vec<UnmappedCode> = self.records.unmapped_codes();
        unmapped.extend(self.mapper.unmapped_codes());
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: self.mapper.ignored(),
            unmapped,
            skipped: Vec::new(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }
}

impl Iterator for EdfiReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let batch = self.next_batch();
        if batch.is_err() {
            self.finished = true;
        }
        batch.transpose()
    }
}

/// A resource body as its struct, or why not. serde's messages for a mistyped field can quote
/// the value, so only a missing field is named.
pub(crate) fn typed<T: DeserializeOwned>(
    resource: Resource,
    value: Value,
) -> Result<T, (Rule, String)> {
    serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let detail = if text.starts_with("missing field") {
            text
        } else {
            "a field has a type the resource does not allow".to_string()
        };
        (
            Rule::Malformed,
            format!("not a {} resource: {detail}", resource.api_name()),
        )
    })
}
