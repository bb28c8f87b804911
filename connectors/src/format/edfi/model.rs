//! The Ed-Fi resources this format reads, with the API's (camelCase) field names. Both readers
//! produce these: the JSON reader deserializes API resource bodies into them directly, the XML
//! reader first renames an interchange element's children to the same names (see `xml.rs`).
//!
//! Only the fields the canonical model needs are declared; every other field of a resource is
//! ignored. Identifiers that the API types as integers (`schoolId`, `educationOrganizationId`)
//! are kept as text, and XML's text booleans and numbers are accepted beside JSON's own.

use serde::{Deserialize, Deserializer};

/// An identifier given as a JSON number or string (XML gives every value as text).
fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Int(i64),
        Text(String),
    }
    Ok(match Id::deserialize(d)? {
        Id::Int(i) => i.to_string(),
        Id::Text(t) => t.trim().to_string(),
    })
}

fn opt_id_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "id_text")] String);
    Ok(Option::<Wrapped>::deserialize(d)?
        .map(|w| w.0)
        .filter(|t| !t.is_empty()))
}

/// A boolean given as JSON `true`/`false` or as XML text (`true`, `false`, `1`, `0`).
fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Option::<Flag>::deserialize(d)? {
        None => Ok(None),
        Some(Flag::Bool(b)) => Ok(Some(b)),
        Some(Flag::Text(t)) => match t.trim() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(serde::de::Error::custom("expected a boolean")),
        },
    }
}

/// A number as the API writes it, or as XML text.
fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Number(f64),
        Text(String),
    }
    match Option::<Number>::deserialize(d)? {
        None => Ok(None),
        Some(Number::Number(n)) => Ok(Some(n)),
        Some(Number::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Number::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a number")),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StudentReference {
    pub student_unique_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EducationOrganizationReference {
    #[serde(deserialize_with = "id_text")]
    pub education_organization_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SchoolReference {
    #[serde(deserialize_with = "id_text")]
    pub school_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalEducationAgencyReference {
    #[serde(deserialize_with = "opt_id_text")]
    pub local_education_agency_id: Option<String>,
    /// XML interchanges may point at an element's `id` attribute instead (`ref="LEAG_255901"`).
    #[serde(rename = "@ref")]
    pub xml_ref: Option<String>,
}

/// `students`: identity and birth data (DS 4, 5 and 6 alike).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Student {
    pub student_unique_id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_surname: Option<String>,
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub birth_sex_descriptor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationIdentificationCode {
    pub education_organization_identification_system_descriptor: String,
    pub identification_code: String,
}

/// `schools`: the school's LEA, and (DS 4/5) the codes other systems know it by.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct School {
    #[serde(deserialize_with = "id_text")]
    pub school_id: String,
    #[serde(default)]
    pub local_education_agency_reference: Option<LocalEducationAgencyReference>,
    #[serde(default)]
    pub identification_codes: Vec<OrganizationIdentificationCode>,
}

/// `localEducationAgencies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalEducationAgency {
    #[serde(deserialize_with = "id_text")]
    pub local_education_agency_id: String,
    #[serde(default)]
    pub identification_codes: Vec<OrganizationIdentificationCode>,
    #[serde(rename = "@id", default)]
    pub xml_id: Option<String>,
}

/// DS 6 `educationOrganizationIdentificationCodes`: the codes moved out of the organization.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EducationOrganizationIdentificationCode {
    pub education_organization_reference: EducationOrganizationReference,
    pub education_organization_identification_system_descriptor: String,
    pub identification_code: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Period {
    pub begin_date: Option<String>,
    pub end_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentCharacteristic {
    pub student_characteristic_descriptor: String,
    #[serde(default)]
    pub periods: Vec<Period>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentIndicator {
    pub indicator_name: String,
    pub indicator: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentIdentificationCode {
    pub student_identification_system_descriptor: String,
    pub identification_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Race {
    pub race_descriptor: String,
}

/// A listed disability: any entry makes the student a student with a disability (ADA, the
/// sense of the canonical field), whichever its descriptor or designation.
#[derive(Debug, Deserialize)]
pub struct Disability {}

/// The demographics of one student as one education organization reports them: DS 4/5
/// `studentEducationOrganizationAssociations`, or DS 6 `studentDemographics` (the same fields
/// less identification codes and indicators, plus `economicDisadvantageDescriptor`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Demographics {
    pub student_reference: StudentReference,
    pub education_organization_reference: EducationOrganizationReference,
    #[serde(default)]
    pub sex_descriptor: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub hispanic_latino_ethnicity: Option<bool>,
    #[serde(default)]
    pub races: Vec<Race>,
    #[serde(default)]
    pub limited_english_proficiency_descriptor: Option<String>,
    #[serde(default)]
    pub disabilities: Vec<Disability>,
    #[serde(default)]
    pub student_characteristics: Vec<StudentCharacteristic>,
    #[serde(default)]
    pub student_indicators: Vec<StudentIndicator>,
    #[serde(default)]
    pub student_identification_codes: Vec<StudentIdentificationCode>,
    #[serde(default)]
    pub supporter_military_connection_descriptor: Option<String>,
    #[serde(default)]
    pub economic_disadvantage_descriptor: Option<String>,
}

/// DS 6 `studentEducationOrganizationAssociations`: only the indicators are read from it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorAssociation {
    pub student_reference: StudentReference,
    pub education_organization_reference: EducationOrganizationReference,
    #[serde(default)]
    pub student_indicators: Vec<StudentIndicator>,
}

/// DS 6 `studentIdentificationCodes`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentIdentificationCodeResource {
    pub student_reference: StudentReference,
    pub education_organization_reference: EducationOrganizationReference,
    pub student_identification_system_descriptor: String,
    pub identification_code: String,
}

/// `studentSchoolAssociations`: one enrollment spell.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentSchoolAssociation {
    pub student_reference: StudentReference,
    pub school_reference: SchoolReference,
    pub entry_date: String,
    #[serde(default)]
    pub exit_withdraw_date: Option<String>,
    #[serde(default)]
    pub exit_withdraw_type_descriptor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diploma {
    pub diploma_type_descriptor: String,
    pub diploma_award_date: String,
    #[serde(default)]
    pub diploma_description: Option<String>,
    #[serde(default)]
    pub achievement_title: Option<String>,
}

/// `studentAcademicRecords`: only the diplomas are read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentAcademicRecord {
    pub student_reference: StudentReference,
    pub education_organization_reference: EducationOrganizationReference,
    #[serde(default)]
    pub diplomas: Vec<Diploma>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseReference {
    pub course_code: String,
    #[serde(deserialize_with = "id_text")]
    pub education_organization_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentAcademicRecordReference {
    pub student_unique_id: String,
    #[serde(deserialize_with = "id_text")]
    pub education_organization_id: String,
    #[serde(deserialize_with = "id_text")]
    pub school_year: String,
}

/// `courseTranscripts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseTranscript {
    pub course_reference: CourseReference,
    pub student_academic_record_reference: StudentAcademicRecordReference,
    pub course_attempt_result_descriptor: String,
    /// Credits beyond the course's own (dual credit, AP, IB).
    #[serde(default)]
    pub earned_additional_credits: Vec<EarnedAdditionalCredits>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EarnedAdditionalCredits {
    pub additional_credit_type_descriptor: String,
    /// Absent or zero: attempted, not earned.
    #[serde(default, deserialize_with = "opt_number")]
    pub credits: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CteProgramService {
    #[serde(default)]
    pub cip_code: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    pub primary_indicator: Option<bool>,
}

/// `studentCTEProgramAssociations`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentCteProgramAssociation {
    pub student_reference: StudentReference,
    pub begin_date: String,
    #[serde(default)]
    pub end_date: Option<String>,
    #[serde(default, rename = "cteProgramServices")]
    pub cte_program_services: Vec<CteProgramService>,
}
