//! Ed-Fi resources → canonical rows: the rules both Ed-Fi formats share.
//!
//! Person rows (one per student and education organization, as the association holds them;
//! the pipeline combines a student's rows, see `pipeline/src/person_rows.rs`):
//! - sex: the association's `sexDescriptor`, else the student's `birthSexDescriptor`;
//! - Hispanic: `hispanicLatinoEthnicity`, and `Yes` as well when a race is "Hispanic or
//!   Latino" (Ed-Fi lists it among races too); absent → `NotSelected`;
//! - race flags: `Yes` for each race listed, `No` for the others, all `NotSelected` when no
//!   race of the five is listed (none, or only Hispanic, "Choose Not to Respond", "Other");
//! - disability: `Yes` when any disability is listed, else `No`;
//! - english_learner: `limitedEnglishProficiencyDescriptor` through the crosswalk, blank when
//!   absent; military_connected: `supporterMilitaryConnectionDescriptor`, else a
//!   characteristic the crosswalk maps (Parent in Military), else blank;
//!   economic_disadvantage: DS 6 `economicDisadvantageDescriptor`, else the characteristic;
//! - characteristics: a `studentCharacteristics` entry sets the field whose code set the
//!   crosswalk maps its code value in (Economic Disadvantaged, Homeless, Foster Care, Single
//!   Parent, Displaced Homemaker → out_of_workforce, Parent in Military). It counts when it has
//!   no period, when one of its periods overlaps an enrollment spell of the student under the
//!   association's organization (that school, or the LEA's schools; any spell for a state
//!   agency), or when the dump holds no such spell to test against. A field no counting
//!   characteristic sets is `No`. Characteristics the crosswalk does not map are not read and
//!   are listed in the summary;
//! - indicators: a `studentIndicators` entry named as a person field (or as the `indicators`
//!   option says) sets that field, over everything above; its value goes through the
//!   crosswalk like a descriptor. This is how a dump says "not reported" for a field Ed-Fi
//!   otherwise reads as `No`: a value mapping to the not-reported code gives a blank field,
//!   which the pipeline treats as the CSV's blank.
//!
//! Enrollment: the school's LEA comes from `schools`; the diploma is the latest diploma (not a
//! credential) awarded by that school or its LEA within the spell.

use std::collections::BTreeMap;

use p20w_schemas::{Entity, not_reported_code};
use serde_json::Value;

use super::descriptor::{Descriptors, code_value};
use super::model::*;
use super::state::{Extra, Joins, OPEN, Spell, StudentState, days, each};
use super::{Config, Dump, Resource, typed};
use crate::location::Inputs;
use crate::record::{RecordBuilder, UnmappedCodes, Validation, reportable_code};
use crate::{ConnectorError, Rule, UnmappedCode};

/// Person fields an indicator can set.
pub const INDICATOR_FIELDS: [&str; 8] = [
    "disability",
    "economic_disadvantage",
    "single_parent",
    "out_of_workforce",
    "english_learner",
    "homeless",
    "foster_care",
    "military_connected",
];

/// Fields a student characteristic can set (each field's code set is its name).
const CHARACTERISTIC_FIELDS: [&str; 6] = [
    "economic_disadvantage",
    "single_parent",
    "out_of_workforce",
    "homeless",
    "foster_care",
    "military_connected",
];

/// The five race flags, by the race_ethnicity code each stands for.
const RACES: [(&str, &str); 5] = [
    (
        "AmericanIndianOrAlaskaNative",
        "race_american_indian_or_alaska_native",
    ),
    ("Asian", "race_asian"),
    ("BlackOrAfricanAmerican", "race_black_or_african_american"),
    (
        "NativeHawaiianOrOtherPacificIslander",
        "race_native_hawaiian_or_other_pacific_islander",
    ),
    ("White", "race_white"),
];

/// Codes that do not make a student a member of a special population.
fn is_member(code: &str) -> bool {
    !matches!(
        code,
        "No" | "NotReported" | "NotMilitaryConnected" | "Unknown"
    )
}

pub struct Mapper {
    entity: Entity,
    ds6: bool,
    config: Config,
    descriptors: Descriptors,
    policy: UnmappedCodes,
    joins: Joins,
    course_cip: std::collections::HashMap<Box<str>, Box<str>>,
    /// What was read but not mapped into a row, with counts, for the summary.
    ignored: BTreeMap<String, u64>,
    unmapped: BTreeMap<(&'static str, &'static str, Option<String>), u64>,
}

/// A row's field texts by field name.
type Row = BTreeMap<&'static str, String>;

impl Mapper {
    pub fn new(
        entity: Entity,
        ds6: bool,
        config: Config,
        descriptors: Descriptors,
        validation: &Validation,
    ) -> Mapper {
        Mapper {
            entity,
            ds6,
            config,
            descriptors,
            policy: validation.unmapped,
            joins: Joins::default(),
            course_cip: Default::default(),
            ignored: BTreeMap::new(),
            unmapped: BTreeMap::new(),
        }
    }

    pub fn driving_resource(&self) -> Resource {
        match self.entity {
            Entity::Person if self.ds6 => Resource::StudentDemographics,
            Entity::Person => Resource::StudentEducationOrganizationAssociations,
            Entity::K12Enrollment => Resource::StudentSchoolAssociations,
            Entity::CteCourseCompletion => Resource::CourseTranscripts,
            _ => Resource::StudentAcademicRecords,
        }
    }

    /// Reads the joined resources.
    pub fn load(&mut self, dump: &Dump, inputs: &mut Inputs) -> Result<(), ConnectorError> {
        let needs_schools = matches!(
            self.entity,
            Entity::K12Enrollment | Entity::CteCourseCompletion
        );
        if self.entity != Entity::IndustryCredential {
            self.load_organizations(dump, inputs)?;
            if needs_schools && self.joins.schools.is_empty() {
                return Err(ConnectorError::Format {
                    file: Resource::Schools.api_name().into(),
                    message: format!(
                        "the dump holds no school, which {} needs for each school's LEA and id",
                        self.entity.name()
                    ),
                });
            }
        }
        let person = self.entity == Entity::Person;
        let joins = &mut self.joins;
        joins.students_read = each(
            dump,
            inputs,
            Resource::Students,
            &mut self.ignored,
            |s: Student| {
                let names = if person {
                    StudentState::pack([
                        s.first_name.as_deref().unwrap_or(""),
                        s.last_surname.as_deref().unwrap_or(""),
                        s.birth_date.as_deref().unwrap_or(""),
                        s.birth_sex_descriptor.as_deref().unwrap_or(""),
                    ])
                } else {
                    "".into()
                };
                joins.student(s.student_unique_id.trim()).names = Some(names);
            },
        )?;
        match self.entity {
            Entity::Person => self.load_person_joins(dump, inputs)?,
            Entity::K12Enrollment => self.load_diplomas(dump, inputs)?,
            Entity::CteCourseCompletion => self.load_course_cip(dump, inputs)?,
            _ => self.load_programs(dump, inputs)?,
        }
        Ok(())
    }

    fn load_organizations(
        &mut self,
        dump: &Dump,
        inputs: &mut Inputs,
    ) -> Result<(), ConnectorError> {
        let system = self.config.organization_id_system.clone();
        let matches = |d: &str| system.as_deref() == Some(code_value(d));
        let joins = &mut self.joins;
        let mut by_xml_id: BTreeMap<String, String> = BTreeMap::new();
        each(
            dump,
            inputs,
            Resource::LocalEducationAgencies,
            &mut self.ignored,
            |l: LocalEducationAgency| {
                let id: Box<str> = l.local_education_agency_id.into();
                if let Some(code) = l
                    .identification_codes
                    .iter()
                    .find(|c| matches(&c.education_organization_identification_system_descriptor))
                {
                    joins
                        .reported
                        .insert(id.clone(), code.identification_code.trim().into());
                }
                if let Some(x) = l.xml_id {
                    by_xml_id.insert(x, id.to_string());
                }
                joins.leas.insert(id);
            },
        )?;
        each(
            dump,
            inputs,
            Resource::Schools,
            &mut self.ignored,
            |s: School| {
                let lea = s.local_education_agency_reference.and_then(|r| {
                    r.local_education_agency_id
                        .or_else(|| r.xml_ref.and_then(|x| by_xml_id.get(&x).cloned()))
                });
                let id: Box<str> = s.school_id.into();
                if let Some(code) = s
                    .identification_codes
                    .iter()
                    .find(|c| matches(&c.education_organization_identification_system_descriptor))
                {
                    joins
                        .reported
                        .insert(id.clone(), code.identification_code.trim().into());
                }
                if let Some(lea) = &lea {
                    joins.leas.insert(lea.as_str().into());
                }
                let index = joins.school_ids.len() as u32;
                joins.school_ids.push(id.clone());
                joins.schools.insert(
                    id,
                    super::state::SchoolInfo {
                        index,
                        lea: lea.map(Into::into),
                    },
                );
            },
        )?;
        if system.is_some() {
            each(
                dump,
                inputs,
                Resource::EducationOrganizationIdentificationCodes,
                &mut self.ignored,
                |c: EducationOrganizationIdentificationCode| {
                    if matches(&c.education_organization_identification_system_descriptor) {
                        joins.reported.insert(
                            c.education_organization_reference
                                .education_organization_id
                                .into(),
                            c.identification_code.trim().into(),
                        );
                    }
                },
            )?;
            let lacking = joins
                .school_ids
                .iter()
                .chain(joins.leas.iter())
                .filter(|id| !joins.reported.contains_key(*id))
                .count() as u64;
            if lacking > 0 {
                *self
                    .ignored
                    .entry(
                        "organizations without an identification code of organization_id_system \
                         (reported by their Ed-Fi id)"
                            .into(),
                    )
                    .or_default() += lacking;
            }
        }
        Ok(())
    }

    fn load_person_joins(
        &mut self,
        dump: &Dump,
        inputs: &mut Inputs,
    ) -> Result<(), ConnectorError> {
        let joins = &mut self.joins;
        each(
            dump,
            inputs,
            Resource::StudentSchoolAssociations,
            &mut self.ignored,
            |a: StudentSchoolAssociation| {
                let Some(entry) = days(&a.entry_date) else {
                    return;
                };
                let exit = a
                    .exit_withdraw_date
                    .as_deref()
                    .and_then(days)
                    .unwrap_or(OPEN);
                let school = joins
                    .schools
                    .get(a.school_reference.school_id.as_str())
                    .map_or(u32::MAX, |s| s.index);
                joins
                    .student(a.student_reference.student_unique_id.trim())
                    .spells
                    .push(Spell {
                        school,
                        entry,
                        exit,
                    });
            },
        )?;
        if !self.ds6 {
            return Ok(());
        }
        let ssn_systems = &self.config.ssn_identification_systems;
        each(
            dump,
            inputs,
            Resource::StudentIdentificationCodes,
            &mut self.ignored,
            |c: StudentIdentificationCodeResource| {
                let system = code_value(&c.student_identification_system_descriptor);
                if ssn_systems.iter().any(|s| s == system) {
                    joins
                        .student(c.student_reference.student_unique_id.trim())
                        .extra
                        .push(Extra::Ssn {
                            org: c
                                .education_organization_reference
                                .education_organization_id
                                .into(),
                            ssn: c.identification_code.trim().into(),
                        });
                }
            },
        )?;
        let names = indicator_names(&self.config);
        each(
            dump,
            inputs,
            Resource::StudentEducationOrganizationAssociations,
            &mut self.ignored,
            |a: IndicatorAssociation| {
                for i in &a.student_indicators {
                    if let Some(field) = names.iter().position(|n| *n == i.indicator_name.trim()) {
                        let org: Box<str> = a
                            .education_organization_reference
                            .education_organization_id
                            .as_str()
                            .into();
                        joins
                            .student(a.student_reference.student_unique_id.trim())
                            .extra
                            .push(Extra::Indicator {
                                org,
                                field: field as u8,
                                value: i.indicator.trim().into(),
                            });
                    }
                }
            },
        )?;
        Ok(())
    }

    fn load_diplomas(&mut self, dump: &Dump, inputs: &mut Inputs) -> Result<(), ConnectorError> {
        let (joins, descriptors) = (&mut self.joins, &self.descriptors);
        each(
            dump,
            inputs,
            Resource::StudentAcademicRecords,
            &mut self.ignored,
            |r: StudentAcademicRecord| {
                for d in r.diplomas {
                    if descriptors
                        .code("credential_type", &d.diploma_type_descriptor)
                        .is_some()
                    {
                        continue;
                    }
                    let Some(award) = days(&d.diploma_award_date) else {
                        continue;
                    };
                    joins
                        .student(r.student_reference.student_unique_id.trim())
                        .extra
                        .push(Extra::Diploma {
                            org: r
                                .education_organization_reference
                                .education_organization_id
                                .as_str()
                                .into(),
                            award,
                            descriptor: d.diploma_type_descriptor.trim().into(),
                        });
                }
            },
        )?;
        Ok(())
    }

    fn load_programs(&mut self, dump: &Dump, inputs: &mut Inputs) -> Result<(), ConnectorError> {
        let joins = &mut self.joins;
        each(
            dump,
            inputs,
            Resource::StudentCteProgramAssociations,
            &mut self.ignored,
            |a: StudentCteProgramAssociation| {
                let Some(begin) = days(&a.begin_date) else {
                    return;
                };
                let end = a.end_date.as_deref().and_then(days).unwrap_or(OPEN);
                let services = &a.cte_program_services;
                let cip = services
                    .iter()
                    .find(|s| s.primary_indicator == Some(true) && s.cip_code.is_some())
                    .or_else(|| services.iter().find(|s| s.cip_code.is_some()))
                    .and_then(|s| s.cip_code.as_deref());
                if let Some(cip) = cip {
                    joins
                        .student(a.student_reference.student_unique_id.trim())
                        .extra
                        .push(Extra::Program {
                            begin,
                            end,
                            cip: cip.trim().into(),
                        });
                }
            },
        )?;
        Ok(())
    }

    fn load_course_cip(&mut self, dump: &Dump, inputs: &mut Inputs) -> Result<(), ConnectorError> {
        let name = self.config.course_cip.clone().expect("checked at open");
        let input = dump.open_file(&name, inputs)?;
        let mut reader = csv::Reader::from_reader(input);
        let malformed = |e: csv::Error| ConnectorError::Format {
            file: name.clone(),
            message: format!("course_cip: {e}"),
        };
        let headers = reader.headers().map_err(malformed)?.clone();
        let column = |h: &str| headers.iter().position(|x| x.trim() == h);
        let (Some(course), Some(cip)) = (column("course_code"), column("cip_code")) else {
            return Err(ConnectorError::Format {
                file: name.clone(),
                message: "course_cip needs the columns course_code and cip_code".into(),
            });
        };
        for record in reader.records() {
            let record = record.map_err(malformed)?;
            let (Some(k), Some(v)) = (record.get(course), record.get(cip)) else {
                continue;
            };
            self.course_cip.insert(k.trim().into(), v.trim().into());
        }
        Ok(())
    }

    /// Maps one record of the driving resource into zero or more rows of the builder.
    pub fn map(&mut self, line: u64, value: Value, records: &mut RecordBuilder) {
        let resource = self.driving_resource();
        let outcome = match self.entity {
            Entity::Person => typed(resource, value)
                .and_then(|d| self.person(&d))
                .map(|r| vec![r]),
            Entity::K12Enrollment => typed(resource, value)
                .and_then(|a| self.enrollment(&a))
                .map(|r| vec![r]),
            Entity::CteCourseCompletion => typed(resource, value).and_then(|t| self.course(&t)),
            _ => typed(resource, value).and_then(|r| self.credentials(&r)),
        };
        match outcome {
            Err((rule, message)) => {
                let field = match rule {
                    Rule::Reference if message.starts_with("school_id") => Some("school_id"),
                    Rule::Reference => Some("state_student_id"),
                    _ => None,
                };
                records.reject(line, field, rule, message);
            }
            Ok(rows) => {
                for row in rows {
                    let values: Vec<Option<&str>> = self
                        .entity
                        .fields()
                        .iter()
                        .map(|f| row.get(f.name).map(String::as_str))
                        .collect();
                    records.push(line, &values);
                }
            }
        }
    }

    fn known_student(&self, id: &str) -> Result<(), (Rule, String)> {
        if self.joins.student_known(id) {
            Ok(())
        } else {
            Err((
                Rule::Reference,
                "the record names a student the students resource does not hold".into(),
            ))
        }
    }

    fn skip(&mut self, what: &str) {
        *self.ignored.entry(what.to_string()).or_default() += 1;
    }

    fn count_unmapped(&mut self, field: &'static str, set: &'static str, descriptor: &str) {
        *self
            .unmapped
            .entry((field, set, reportable_code(descriptor.trim())))
            .or_default() += 1;
    }

    fn person(&mut self, d: &Demographics) -> Result<Row, (Rule, String)> {
        let id = d.student_reference.student_unique_id.trim();
        self.known_student(id)?;
        let org = d
            .education_organization_reference
            .education_organization_id
            .as_str();
        let empty = StudentState::default();
        let joins = &self.joins;
        let state = joins.students.get(id).unwrap_or(&empty);
        let [first, last, birth, birth_sex] = state.names();
        let mut row = Row::new();
        row.insert("state_student_id", id.to_string());
        row.insert("first_name", first.to_string());
        row.insert("last_name", last.to_string());
        row.insert("birth_date", birth.to_string());
        let ssn_systems = &self.config.ssn_identification_systems;
        let ssn = if self.ds6 {
            let ssns = state.extra.iter().filter_map(|e| match e {
                Extra::Ssn { org: o, ssn } => Some((o, ssn)),
                _ => None,
            });
            let mut any = None;
            let mut own = None;
            for (o, ssn) in ssns {
                any.get_or_insert(ssn);
                if &**o == org {
                    own.get_or_insert(ssn);
                }
            }
            own.or(any).map(|s| s.to_string())
        } else {
            d.student_identification_codes
                .iter()
                .find(|c| {
                    let system = code_value(&c.student_identification_system_descriptor);
                    ssn_systems.iter().any(|s| s == system)
                })
                .map(|c| c.identification_code.trim().to_string())
        };
        row.insert("ssn", ssn.unwrap_or_default());
        let sex = d.sex_descriptor.as_deref().unwrap_or(birth_sex);
        row.insert("sex", self.descriptors.field_text("sex", sex).to_string());

        let mut hispanic = d
            .hispanic_latino_ethnicity
            .map(|h| if h { "Yes" } else { "No" });
        let mut listed = [false; 5];
        for r in &d.races {
            match self.descriptors.code("race_ethnicity", &r.race_descriptor) {
                Some("HispanicOrLatino") => hispanic = Some("Yes"),
                Some(code) => {
                    if let Some(i) = RACES.iter().position(|(c, _)| *c == code) {
                        listed[i] = true;
                    }
                }
                None => {
                    let descriptor = r.race_descriptor.clone();
                    self.count_unmapped("races", "race_ethnicity", &descriptor);
                    if self.policy == UnmappedCodes::Quarantine {
                        return Err((
                            Rule::UnmappedCode,
                            "races holds a race descriptor that is neither a code of set \
                             race_ethnicity nor mapped by the crosswalks"
                                .into(),
                        ));
                    }
                }
            }
        }
        let joins = &self.joins;
        let state = joins.students.get(id).unwrap_or(&empty);
        row.insert(
            "hispanic_or_latino",
            hispanic.unwrap_or("NotSelected").into(),
        );
        let any_race = listed.iter().any(|l| *l);
        for ((_, field), l) in RACES.iter().zip(listed) {
            let v = match (any_race, l) {
                (false, _) => "NotSelected",
                (true, true) => "Yes",
                (true, false) => "No",
            };
            row.insert(field, v.into());
        }

        // Characteristics that count, by the field they set.
        let mut members: BTreeMap<&'static str, String> = BTreeMap::new();
        let mut unread: Vec<String> = Vec::new();
        let spells: Vec<&Spell> = joins.spells_under(state, org).collect();
        for c in &d.student_characteristics {
            let mut read = false;
            for field in CHARACTERISTIC_FIELDS {
                let Some(code) = self
                    .descriptors
                    .map(field, &c.student_characteristic_descriptor)
                else {
                    continue;
                };
                read = true;
                if is_member(code) && counts(&c.periods, &spells) {
                    members.insert(field, code.to_string());
                }
            }
            if !read {
                unread.push(code_value(&c.student_characteristic_descriptor).to_string());
            }
        }
        for code in unread {
            let shown = reportable_code(&code).unwrap_or_else(|| "(withheld)".into());
            self.skip(&format!("studentCharacteristics not read: {shown}"));
        }
        let descriptors = &self.descriptors;
        let joins = &self.joins;
        let state = joins.students.get(id).unwrap_or(&empty);
        let yes_no = |field: &str| members.get(field).cloned().unwrap_or_else(|| "No".into());
        let descriptor = |set: &str, d: &Option<String>| {
            d.as_deref()
                .map(|d| descriptors.field_text(set, d).to_string())
        };
        let mut specials: BTreeMap<&'static str, Option<String>> = BTreeMap::new();
        specials.insert(
            "disability",
            Some(
                if d.disabilities.is_empty() {
                    "No"
                } else {
                    "Yes"
                }
                .into(),
            ),
        );
        let econ = descriptor("economic_disadvantage", &d.economic_disadvantage_descriptor)
            .unwrap_or_else(|| yes_no("economic_disadvantage"));
        specials.insert("economic_disadvantage", Some(econ));
        for field in [
            "single_parent",
            "out_of_workforce",
            "homeless",
            "foster_care",
        ] {
            specials.insert(field, Some(yes_no(field)));
        }
        specials.insert(
            "english_learner",
            descriptor("english_learner", &d.limited_english_proficiency_descriptor),
        );
        specials.insert(
            "military_connected",
            descriptor(
                "military_connected",
                &d.supporter_military_connection_descriptor,
            )
            .or_else(|| members.get("military_connected").cloned()),
        );
        // Indicators win: the association's own (DS 4/5) or those kept from DS 6's.
        let names = indicator_names(&self.config);
        let mut indicated: Vec<(usize, &str)> = d
            .student_indicators
            .iter()
            .filter_map(|i| {
                let f = names.iter().position(|n| *n == i.indicator_name.trim())?;
                Some((f, i.indicator.as_str()))
            })
            .collect();
        indicated.extend(state.extra.iter().filter_map(|e| match e {
            Extra::Indicator {
                org: o,
                field,
                value,
            } if &**o == org => Some((*field as usize, &**value)),
            _ => None,
        }));
        for (f, value) in indicated {
            let field = INDICATOR_FIELDS[f];
            specials.insert(
                field,
                Some(descriptors.field_text(field, value).to_string()),
            );
        }
        for (field, value) in specials {
            // A not-reported code is a blank field, as in the CSV extracts.
            let none = p20w_schemas::DIMENSIONS
                .iter()
                .find(|d| d.name == field)
                .map(|d| d.not_reported)
                .or(not_reported_code(field));
            let value = value.filter(|v| Some(v.as_str()) != none);
            row.insert(field, value.unwrap_or_default());
        }
        Ok(row)
    }

    fn enrollment(&mut self, a: &StudentSchoolAssociation) -> Result<Row, (Rule, String)> {
        let id = a.student_reference.student_unique_id.trim();
        self.known_student(id)?;
        let school_id = a.school_reference.school_id.as_str();
        let Some(school) = self.joins.schools.get(school_id) else {
            return Err((
                Rule::Reference,
                "school_id names a school the schools resource does not hold".into(),
            ));
        };
        let mut row = Row::new();
        row.insert("state_student_id", id.to_string());
        let lea = school.lea.as_deref().map(|l| self.joins.reported(l));
        row.insert("lea_id", lea.unwrap_or("").to_string());
        row.insert("school_id", self.joins.reported(school_id).to_string());
        row.insert("entry_date", a.entry_date.trim().to_string());
        let exit = a.exit_withdraw_date.as_deref().unwrap_or("").trim();
        row.insert("exit_date", exit.to_string());
        let exit_type = match a.exit_withdraw_type_descriptor.as_deref() {
            None => "",
            Some(d)
                if self
                    .config
                    .continuing_exit_types
                    .iter()
                    .any(|c| c == code_value(d)) =>
            {
                ""
            }
            Some(d) => self.descriptors.field_text("exit_type", d),
        };
        row.insert("exit_type", exit_type.to_string());
        let (entry, exit) = (days(&a.entry_date), days(exit).unwrap_or(OPEN));
        let diploma = self.joins.students.get(id).and_then(|s| {
            s.extra
                .iter()
                .filter_map(|e| match e {
                    Extra::Diploma {
                        org,
                        award,
                        descriptor,
                    } if (&**org == school_id || school.lea.as_deref() == Some(&**org))
                        && entry.is_some_and(|e| e <= *award)
                        && *award <= exit =>
                    {
                        Some((*award, descriptor))
                    }
                    _ => None,
                })
                .max_by_key(|(award, _)| *award)
        });
        let diploma = diploma.map(|(_, d)| self.descriptors.field_text("diploma_type", d));
        row.insert("diploma_type", diploma.unwrap_or("").to_string());
        Ok(row)
    }

    /// A completed course of a CTE program; other transcripts are not records of the entity
    /// and are only counted.
    fn course(&mut self, t: &CourseTranscript) -> Result<Vec<Row>, (Rule, String)> {
        let result = code_value(&t.course_attempt_result_descriptor);
        if !self
            .config
            .completed_course_results
            .iter()
            .any(|c| c == result)
        {
            self.skip("courseTranscripts not completed (courseAttemptResult), not read");
            return Ok(Vec::new());
        }
        let course = t.course_reference.course_code.trim();
        let Some(cip) = self.course_cip.get(course).cloned() else {
            self.skip("courseTranscripts of courses course_cip does not list (not CTE), not read");
            return Ok(Vec::new());
        };
        let record = &t.student_academic_record_reference;
        let id = record.student_unique_id.trim();
        self.known_student(id)?;
        // The academic record's organization, else the course's, must be a school.
        let school = [
            record.education_organization_id.as_str(),
            t.course_reference.education_organization_id.as_str(),
        ]
        .into_iter()
        .find(|o| self.joins.schools.contains_key(*o))
        .ok_or((
            Rule::Reference,
            "school_id: neither the academic record's nor the course's education organization \
             is a school of the schools resource"
                .to_string(),
        ))?;
        let mut row = Row::new();
        row.insert("state_student_id", id.to_string());
        row.insert("school_id", self.joins.reported(school).to_string());
        row.insert("school_year", record.school_year.clone());
        row.insert("course_id", course.to_string());
        row.insert("cip_code", cip.to_string());
        // Credits earned, not only attempted; dual credit first, as 5S2 reads it. A credit type
        // the crosswalk does not map is left out rather than quarantining the completed course.
        let earned: Vec<&str> = t
            .earned_additional_credits
            .iter()
            .filter(|c| c.credits.is_some_and(|n| n > 0.0))
            .filter_map(|c| {
                self.descriptors.code(
                    "additional_credit_type",
                    &c.additional_credit_type_descriptor,
                )
            })
            .collect();
        let credit = earned
            .iter()
            .find(|c| **c == "DualCredit")
            .or(earned.first())
            .copied()
            .unwrap_or("");
        row.insert("additional_credit_type", credit.to_string());
        Ok(vec![row])
    }

    fn credentials(&mut self, r: &StudentAcademicRecord) -> Result<Vec<Row>, (Rule, String)> {
        let id = r.student_reference.student_unique_id.trim();
        let mut rows = Vec::new();
        for d in &r.diplomas {
            let Some(credential) = self
                .descriptors
                .code("credential_type", &d.diploma_type_descriptor)
            else {
                self.skip("diplomas that are not credentials (see k12_enrollment), not read");
                continue;
            };
            self.known_student(id)?;
            let mut row = Row::new();
            row.insert("state_student_id", id.to_string());
            row.insert("credential_type", credential.to_string());
            let name = d
                .diploma_description
                .as_deref()
                .or(d.achievement_title.as_deref());
            row.insert("credential_name", name.unwrap_or("").trim().to_string());
            let award = days(&d.diploma_award_date);
            let cip = self.joins.students.get(id).and_then(|s| {
                s.extra
                    .iter()
                    .filter_map(|e| match e {
                        Extra::Program { begin, end, cip }
                            if award.is_some_and(|a| *begin <= a && a <= *end) =>
                        {
                            Some((*begin, cip))
                        }
                        _ => None,
                    })
                    .max_by_key(|(begin, _)| *begin)
                    .map(|(_, c)| c.to_string())
            });
            row.insert("cip_code", cip.unwrap_or_default());
            row.insert("award_date", d.diploma_award_date.trim().to_string());
            rows.push(row);
        }
        Ok(rows)
    }

    pub fn ignored(&self) -> Vec<String> {
        self.ignored
            .iter()
            .map(|(what, n)| format!("{what} ({n})"))
            .collect()
    }

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

/// The indicator name that sets each of [`INDICATOR_FIELDS`].
fn indicator_names(config: &Config) -> Vec<String> {
    INDICATOR_FIELDS
        .iter()
        .map(|f| {
            config
                .indicators
                .get(*f)
                .cloned()
                .unwrap_or_else(|| f.to_string())
        })
        .collect()
}

/// Whether a characteristic with `periods` counts for a student with enrollment `spells` under
/// the reporting organization (see the module docs).
fn counts(periods: &[Period], spells: &[&Spell]) -> bool {
    if periods.is_empty() || spells.is_empty() {
        return true;
    }
    periods.iter().any(|p| {
        let begin = p.begin_date.as_deref().and_then(days);
        let end = p.end_date.as_deref().and_then(days).unwrap_or(OPEN);
        let Some(begin) = begin else {
            // A period without a readable start cannot be placed: it counts.
            return true;
        };
        spells.iter().any(|s| begin <= s.exit && s.entry <= end)
    })
}
