//! The K-12 extracts once more, as an Ed-Fi API resource dump (Data Standard 5) under
//! `k12/edfi/`: the same students, enrollments, CTE courses and credentials as the CSVs, so
//! that the `edfi_json` format reading this folder yields the same records as the `csv`
//! format reading `k12/*.csv` (with the options in [`READER_OPTIONS`]).
//!
//! How CSV values become Ed-Fi (and the reader turns them back):
//! - one `studentEducationOrganizationAssociations` record per district a student attended,
//!   carrying that district's person row (NDJSON, to cover both file shapes);
//! - a special population's member code is a `studentCharacteristics` entry whose period is
//!   the student's time in that district; the non-member code is no entry (every fifth
//!   economic "No" carries a characteristic that ended before the student arrived, which must
//!   not count); a blank is an indicator named as the field with value `NotReported`, since
//!   Ed-Fi has no "not reported" for characteristics or disabilities;
//! - school and LEA ids are numbers, reported through their `SEA` identification code;
//! - exit and diploma types Ed-Fi names exactly use the ed-fi.org descriptors; the others a
//!   state namespace whose code values are the CEDS codes;
//! - CTE courses map to programs through `course_cip.csv`; a credential's CIP is that of the
//!   student's CTE program association; failed and non-CTE transcripts are added, which the
//!   reader must pass over.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use p20w_schemas::{CteProgramCatalog, Date};
use serde_json::{Value, json};

use crate::SynthConfig;
use crate::student::Student;
use crate::writer::SynthError;

/// The folder of the dump, under the state's root.
pub const FOLDER: &str = "k12/edfi";

/// The `[sources.options]` that read the dump as the CSVs read.
pub const READER_OPTIONS: &str =
    "organization_id_system = \"SEA\"\ncourse_cip = \"course_cip.csv\"\n";

const EDFI: &str = "uri://ed-fi.org";
const STATE: &str = "uri://p20w.example";

fn lea_id(lea: u32) -> u64 {
    100_000 + lea as u64
}

fn school_id(school: u32) -> u64 {
    1_000_000 + school as u64
}

struct JsonFile {
    path: PathBuf,
    w: BufWriter<File>,
    rows: u64,
    ndjson: bool,
}

impl JsonFile {
    fn create(dir: &Path, name: &str) -> Result<JsonFile, SynthError> {
        let path = dir.join(name);
        let file = File::create(&path).map_err(|source| SynthError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let mut out = JsonFile {
            ndjson: name.ends_with(".ndjson"),
            w: BufWriter::with_capacity(1 << 20, file),
            path,
            rows: 0,
        };
        if !out.ndjson {
            out.write(b"[")?;
        }
        Ok(out)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), SynthError> {
        self.w.write_all(bytes).map_err(|source| SynthError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }

    fn push(&mut self, v: &Value) -> Result<(), SynthError> {
        let sep: &[u8] = match (self.ndjson, self.rows) {
            (true, _) => b"",
            (false, 0) => b"\n",
            (false, _) => b",\n",
        };
        self.write(sep)?;
        let text = serde_json::to_vec(v).expect("values serialize");
        self.write(&text)?;
        if self.ndjson {
            self.write(b"\n")?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<(String, u64), SynthError> {
        if !self.ndjson {
            self.write(b"\n]\n")?;
        }
        self.w.flush().map_err(|source| SynthError::Io {
            path: self.path.display().to_string(),
            source,
        })?;
        let name = self.path.file_name().expect("named").to_string_lossy();
        Ok((format!("{FOLDER}/{name}"), self.rows))
    }
}

/// The dump being written, one student at a time.
pub struct EdfiDump {
    students: JsonFile,
    associations: JsonFile,
    enrollments: JsonFile,
    records: JsonFile,
    transcripts: JsonFile,
    programs: JsonFile,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl EdfiDump {
    /// Creates the folder and writes the organizations and the course → CIP file.
    pub fn create(cfg: &SynthConfig, root: &Path) -> Result<EdfiDump, SynthError> {
        let dir = root.join(FOLDER);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let mut leas = JsonFile::create(&dir, "localEducationAgencies.json")?;
        let mut schools = JsonFile::create(&dir, "schools.json")?;
        let code = |text: String| {
            json!([{
                "educationOrganizationIdentificationSystemDescriptor":
                    format!("{EDFI}/EducationOrganizationIdentificationSystemDescriptor#SEA"),
                "identificationCode": text,
            }])
        };
        for lea in 0..cfg.leas() {
            leas.push(&json!({
                "localEducationAgencyId": lea_id(lea),
                "nameOfInstitution": format!("District {lea}"),
                "localEducationAgencyCategoryDescriptor":
                    format!("{EDFI}/LocalEducationAgencyCategoryDescriptor#Independent"),
                "categories": [],
                "identificationCodes": code(format!("LEA{lea:03}")),
            }))?;
            for school in lea * 3..lea * 3 + 3 {
                schools.push(&json!({
                    "schoolId": school_id(school),
                    "nameOfInstitution": format!("School {school}"),
                    "localEducationAgencyReference": {"localEducationAgencyId": lea_id(lea)},
                    "identificationCodes": code(format!("SCH{school:04}")),
                    "gradeLevels": [],
                    "educationOrganizationCategories": [],
                }))?;
            }
        }
        leas.finish()?;
        schools.finish()?;
        let path = dir.join("course_cip.csv");
        let mut text = String::from("course_code,cip_code\n");
        for p in CteProgramCatalog::builtin().iter() {
            for n in 1..=8 {
                text.push_str(&format!(
                    "C{}-{n},{}\n",
                    p.cip_code.replace('.', ""),
                    p.cip_code
                ));
            }
        }
        std::fs::write(&path, text).map_err(io(&path))?;
        Ok(EdfiDump {
            students: JsonFile::create(&dir, "students.json")?,
            associations: JsonFile::create(
                &dir,
                "studentEducationOrganizationAssociations.ndjson",
            )?,
            enrollments: JsonFile::create(&dir, "studentSchoolAssociations.json")?,
            records: JsonFile::create(&dir, "studentAcademicRecords.json")?,
            transcripts: JsonFile::create(&dir, "courseTranscripts.json")?,
            programs: JsonFile::create(&dir, "studentCTEProgramAssociations.json")?,
        })
    }

    /// Writes one student's records.
    pub fn student(&mut self, s: &Student) -> Result<(), SynthError> {
        let id = s.state_student_id.as_str();
        let student_ref = json!({"studentUniqueId": id});
        self.students.push(&json!({
            "studentUniqueId": id,
            "firstName": s.first_name,
            "lastSurname": s.last_name,
            "birthDate": s.birth_date.to_string(),
        }))?;
        let mut leas: Vec<u32> = Vec::new();
        for e in &s.enrollments {
            if !leas.contains(&e.lea) {
                leas.push(e.lea);
            }
        }
        for (lea, row) in leas.iter().zip(&s.person_rows) {
            let spells = s.enrollments.iter().filter(|e| e.lea == *lea);
            let begin = spells.clone().map(|e| e.entry).min().expect("attended");
            let end = spells.map(|e| e.exit.date).max().expect("attended");
            self.associations
                .push(&association(s, *lea, row, begin, end))?;
        }
        for e in &s.enrollments {
            self.enrollments.push(&json!({
                "studentReference": student_ref,
                "schoolReference": {"schoolId": school_id(e.school)},
                "entryDate": e.entry.to_string(),
                "entryGradeLevelDescriptor": format!("{EDFI}/GradeLevelDescriptor#Ninth grade"),
                "exitWithdrawDate": e.exit.date.to_string(),
                "exitWithdrawTypeDescriptor": exit_type(e.exit.exit_type),
            }))?;
        }
        let graduation = s.enrollments.iter().find(|e| e.exit.diploma.is_some());
        let mut diplomas = Vec::new();
        if let Some(e) = graduation {
            diplomas.push(json!({
                "diplomaTypeDescriptor": diploma_type(e.exit.diploma.expect("found")),
                "diplomaAwardDate": e.exit.date.to_string(),
            }));
        }
        for (kind, _, when) in &s.credentials {
            diplomas.push(json!({
                "diplomaTypeDescriptor": credential_type(kind),
                "diplomaAwardDate": when.to_string(),
                "diplomaDescription": "State-approved credential",
            }));
        }
        let school = graduation.map_or(s.school, |e| e.school);
        let term = format!("{EDFI}/TermDescriptor#Year Round");
        if !diplomas.is_empty() {
            self.records.push(&json!({
                "studentReference": student_ref,
                "educationOrganizationReference": {"educationOrganizationId": school_id(school)},
                "schoolYearTypeReference": {"schoolYear": s.cohort},
                "termDescriptor": term,
                "diplomas": diplomas,
            }))?;
        }
        let transcript = |course: &str, year: i32, result: &str| {
            json!({
                "courseReference": {"courseCode": course, "educationOrganizationId": school_id(s.school)},
                "studentAcademicRecordReference": {
                    "studentUniqueId": id,
                    "educationOrganizationId": school_id(s.school),
                    "schoolYear": year,
                    "termDescriptor": term,
                },
                "courseAttemptResultDescriptor": format!("{EDFI}/CourseAttemptResultDescriptor#{result}"),
            })
        };
        for (k, (cip, year, number)) in s.cte_courses.iter().enumerate() {
            let course = format!("C{}-{number}", cip.replace('.', ""));
            if k == 0 && s.index % 4 == 0 {
                self.transcripts
                    .push(&transcript(&course, year - 1, "Fail"))?;
            }
            let mut passed = transcript(&course, *year, "Pass");
            // College credit earned with the course; and, for some, dual credit attempted but
            // not earned (no credits), which is no college credit.
            let credits = match (s.dual_credit_course == Some(k), s.index % 5 == 0 && k == 0) {
                (true, _) => Some(3.0),
                (false, true) => Some(0.0),
                (false, false) => None,
            };
            if let Some(credits) = credits {
                passed["earnedAdditionalCredits"] = json!([{
                    "additionalCreditTypeDescriptor":
                        format!("{EDFI}/AdditionalCreditTypeDescriptor#Dual credit"),
                    "credits": credits,
                }]);
            }
            self.transcripts.push(&passed)?;
        }
        if s.index % 3 == 0 {
            self.transcripts
                .push(&transcript("ENG-9", s.cohort - 3, "Pass"))?;
        }
        if let Some((cip, first_year, _)) = s.cte_courses.first() {
            let begin = Date::new(first_year - 1, 8, 15).expect("valid");
            self.programs.push(&json!({
                "studentReference": student_ref,
                "educationOrganizationReference": {"educationOrganizationId": lea_id(s.lea)},
                "programReference": {
                    "educationOrganizationId": lea_id(s.lea),
                    "programName": "Career and Technical Education",
                    "programTypeDescriptor": format!("{EDFI}/ProgramTypeDescriptor#Career and Technical Education"),
                },
                "beginDate": begin.to_string(),
                "endDate": s.exit.date.to_string(),
                "cteProgramServices": [{
                    "cteProgramServiceDescriptor": format!("{EDFI}/CTEProgramServiceDescriptor#Other"),
                    "cipCode": cip,
                    "primaryIndicator": true,
                }],
            }))?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<(String, u64)>, SynthError> {
        [
            self.students,
            self.associations,
            self.enrollments,
            self.records,
            self.transcripts,
            self.programs,
        ]
        .into_iter()
        .map(JsonFile::finish)
        .collect()
    }
}

/// The association of district `lea` carrying `row`, the person row that district reported;
/// the student attended it from `begin` to `end`.
fn association(
    s: &Student,
    lea: u32,
    row: &crate::student::PersonRow,
    begin: Date,
    end: Date,
) -> Value {
    let mut v = json!({
        "studentReference": {"studentUniqueId": s.state_student_id},
        "educationOrganizationReference": {"educationOrganizationId": lea_id(lea)},
        "sexDescriptor": match row.sex {
            "NotSelected" => format!("{EDFI}/SexDescriptor#Not Selected"),
            sex => format!("{EDFI}/SexDescriptor#{sex}"),
        },
    });
    let f = row.race_flags;
    if f[0] != "NotSelected" {
        v["hispanicLatinoEthnicity"] = json!(f[0] == "Yes");
    }
    let races = [
        "American Indian or Alaska Native",
        "Asian",
        "Black or African American",
        "Native Hawaiian or Pacific Islander",
        "White",
    ];
    v["races"] = races
        .iter()
        .zip(&f[1..])
        .filter(|(_, flag)| **flag == "Yes")
        .map(|(race, _)| json!({"raceDescriptor": format!("{EDFI}/RaceDescriptor#{race}")}))
        .collect();
    if s.ssn_in_k12 {
        v["studentIdentificationCodes"] = json!([{
            "studentIdentificationSystemDescriptor": format!("{EDFI}/StudentIdentificationSystemDescriptor#SSN"),
            "assigningOrganizationIdentificationCode": "SEA",
            "identificationCode": s.ssn,
        }]);
    }
    let period = json!([{"beginDate": begin.to_string(), "endDate": end.to_string()}]);
    let mut characteristics = Vec::new();
    let mut indicators = Vec::new();
    let [
        disability,
        econ,
        single_parent,
        out_of_workforce,
        english,
        homeless,
        foster,
        military,
    ] = row.special;
    let characteristic = |name: &str, periods: &Value| {
        json!({
            "studentCharacteristicDescriptor": format!("{EDFI}/StudentCharacteristicDescriptor#{name}"),
            "periods": periods,
        })
    };
    for (field, value, name) in [
        ("economic_disadvantage", econ, "Economic Disadvantaged"),
        ("single_parent", single_parent, "Single Parent"),
        ("out_of_workforce", out_of_workforce, "Displaced Homemaker"),
        ("homeless", homeless, "Homeless"),
        ("foster_care", foster, "Foster Care"),
    ] {
        match value {
            Some("Yes") => characteristics.push(characteristic(name, &period)),
            Some(_) if field == "economic_disadvantage" && s.index % 5 == 0 => {
                // Before the student came: must not count.
                let gone = Date::from_days(begin.to_days() - 30);
                let earlier = Date::from_days(begin.to_days() - 400);
                let old = json!([{"beginDate": earlier.to_string(), "endDate": gone.to_string()}]);
                characteristics.push(characteristic(name, &old));
            }
            Some(_) => {}
            None => {
                let none = if field == "out_of_workforce" {
                    "Unknown"
                } else {
                    "NotReported"
                };
                indicators.push(json!({"indicatorName": field, "indicator": none}));
            }
        }
    }
    v["disabilities"] = match disability {
        Some("Yes") => json!([{
            "disabilityDescriptor": format!("{EDFI}/DisabilityDescriptor#Specific Learning Disability"),
        }]),
        Some(_) => json!([]),
        None => {
            indicators.push(json!({"indicatorName": "disability", "indicator": "NotReported"}));
            json!([])
        }
    };
    match english {
        Some("Yes") => {
            v["limitedEnglishProficiencyDescriptor"] = json!(format!(
                "{EDFI}/LimitedEnglishProficiencyDescriptor#Limited"
            ))
        }
        Some(_) => {
            v["limitedEnglishProficiencyDescriptor"] = json!(format!(
                "{EDFI}/LimitedEnglishProficiencyDescriptor#NotLimited"
            ))
        }
        None => {}
    }
    let military = match military {
        Some("ActiveDuty") => Some("Active Duty"),
        Some("NationalGuardOrReserve") => Some("Reserve"),
        Some(_) => Some("Not Military Connected"),
        None => None,
    };
    if let Some(m) = military {
        v["supporterMilitaryConnectionDescriptor"] =
            json!(format!("{EDFI}/SupporterMilitaryConnectionDescriptor#{m}"));
    }
    v["studentCharacteristics"] = Value::Array(characteristics);
    v["studentIndicators"] = Value::Array(indicators);
    v
}

fn exit_type(code: &str) -> String {
    match code {
        "01921" => format!("{EDFI}/ExitWithdrawTypeDescriptor#Graduated"),
        "01922" => format!("{EDFI}/ExitWithdrawTypeDescriptor#Completed"),
        "01927" => format!("{EDFI}/ExitWithdrawTypeDescriptor#Dropout"),
        other => format!("{STATE}/ExitWithdrawTypeDescriptor#{other}"),
    }
}

fn diploma_type(code: &str) -> String {
    match code {
        "00806" => format!("{EDFI}/DiplomaTypeDescriptor#Regular diploma"),
        "00807" => format!("{EDFI}/DiplomaTypeDescriptor#Endorsed/advanced diploma"),
        "00814" => format!("{EDFI}/DiplomaTypeDescriptor#Certificate of completion"),
        other => format!("{STATE}/DiplomaTypeDescriptor#{other}"),
    }
}

fn credential_type(kind: &str) -> String {
    match kind {
        "IndustryCertification" => {
            format!("{EDFI}/DiplomaTypeDescriptor#Industry-recognized Certification")
        }
        "OccupationalLicense" => format!("{EDFI}/DiplomaTypeDescriptor#Occupational License"),
        other => format!("{STATE}/DiplomaTypeDescriptor#{other}"),
    }
}
