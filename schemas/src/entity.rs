//! The entities of the canonical model and their two Arrow schemas.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::field::{FieldKind as K, FieldSpec as F, IdType, Role};
use crate::metadata;

/// A kind of record an agency sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// K-12 student identity and demographics, one row per student.
    Person,
    /// K-12 enrollment with its exit (graduation, diploma type, exit date).
    K12Enrollment,
    /// A completed CTE course, tied to a program by CIP 2020 code.
    CteCourseCompletion,
    /// An industry-recognized credential earned by a student.
    IndustryCredential,
    /// A work-based learning experience.
    WorkBasedLearning,
    /// A postsecondary enrollment spell.
    PsEnrollment,
    /// A postsecondary award (certificate or degree).
    PsAward,
    /// One unemployment-insurance wage record: one person, one employer, one quarter.
    WageRecord,
    /// Participation in a workforce program, from entry to exit.
    WorkforceParticipation,
}

const STATE_ID: F = F::new("state_student_id", K::Text)
    .role(Role::Identifier(IdType::StateStudentId))
    .ceds("001071", "Student Identifier");
const SSN: F = F::new("ssn", K::Text)
    .optional()
    .role(Role::Identifier(IdType::Ssn))
    .ceds("001572", "Person Identifier");
const FIRST_NAME: F = F::new("first_name", K::Text)
    .optional()
    .role(Role::QuasiIdentifier)
    .ceds("000115", "First Name");
const LAST_NAME: F = F::new("last_name", K::Text)
    .optional()
    .role(Role::QuasiIdentifier)
    .ceds("000172", "Last or Surname");
const BIRTH_DATE: F = F::new("birth_date", K::Date)
    .optional()
    .role(Role::QuasiIdentifier)
    .ceds("000033", "Birthdate");
const YES_NO: K = K::Code("yes_no_not_selected");

const PERSON: &[F] = &[
    STATE_ID,
    SSN,
    FIRST_NAME,
    LAST_NAME,
    BIRTH_DATE,
    F::new("sex", K::Code("sex")).ceds("000255", "Sex"),
    F::new("hispanic_or_latino", YES_NO).ceds("000144", "Hispanic or Latino Ethnicity"),
    F::new("race_american_indian_or_alaska_native", YES_NO)
        .ceds("000016", "American Indian or Alaska Native"),
    F::new("race_asian", YES_NO).ceds("000020", "Asian"),
    F::new("race_black_or_african_american", YES_NO).ceds("000034", "Black or African American"),
    F::new("race_native_hawaiian_or_other_pacific_islander", YES_NO)
        .ceds("000192", "Native Hawaiian or Other Pacific Islander"),
    F::new("race_white", YES_NO).ceds("000301", "White"),
    F::new("disability", K::Code("disability"))
        .optional()
        .ceds("000577", "Disability Status"),
    F::new("economic_disadvantage", K::Code("economic_disadvantage"))
        .optional()
        .ceds("000086", "Economic Disadvantage Status"),
    F::new("single_parent", K::Code("single_parent"))
        .optional()
        .ceds("000580", "Single Parent or Single Pregnant Woman Status"),
    F::new("out_of_workforce", K::Code("out_of_workforce"))
        .optional()
        .ceds("001930", "Out of Workforce Indicator"),
    F::new("english_learner", K::Code("english_learner"))
        .optional()
        .ceds("000581", "Perkins English Learner Status"),
    F::new("homeless", K::Code("homeless"))
        .optional()
        .ceds("000149", "Homelessness Status"),
    F::new("foster_care", K::Code("foster_care"))
        .optional()
        .ceds("000225", "Program Type"),
    F::new("military_connected", K::Code("military_connected"))
        .optional()
        .ceds("001576", "Military Connected Student Indicator"),
];

const K12_ENROLLMENT: &[F] = &[
    STATE_ID,
    F::new("lea_id", K::Text).ceds("001068", "Local Education Agency Identifier"),
    F::new("school_id", K::Text).ceds("001069", "School Identifier"),
    F::new("entry_date", K::Date).ceds("000097", "Enrollment Entry Date"),
    F::new("exit_date", K::Date)
        .optional()
        .ceds("000107", "Enrollment Exit Date"),
    F::new("exit_type", K::Code("exit_type"))
        .optional()
        .ceds("000110", "Exit or Withdrawal Type"),
    F::new("diploma_type", K::Code("diploma_type"))
        .optional()
        .ceds("000138", "High School Diploma Type"),
];

const CTE_COURSE_COMPLETION: &[F] = &[
    STATE_ID,
    F::new("school_id", K::Text).ceds("001069", "School Identifier"),
    F::new(
        "school_year",
        K::Int {
            min: 1990,
            max: 2100,
        },
    )
    .ceds("000243", "School Year"),
    F::new("course_id", K::Text).ceds("000055", "Course Identifier"),
    F::new("cip_code", K::CteProgram)
        .ceds("000043", "Classification of Instructional Program Code"),
    // Perkins V 5S2 counts courses earning postsecondary credit (`DualCredit`); a course of
    // several additional credit types is recorded with that one.
    F::new("additional_credit_type", K::Code("additional_credit_type"))
        .optional()
        .ceds("000596", "Additional Credit Type"),
];

const INDUSTRY_CREDENTIAL: &[F] = &[
    STATE_ID,
    F::new("credential_type", K::Code("credential_type"))
        .ceds("000783", "Professional or Technical Credential Conferred"),
    F::new("credential_name", K::Text).optional(),
    F::new("cip_code", K::CipCode)
        .optional()
        .ceds("000043", "Classification of Instructional Program Code"),
    F::new("award_date", K::Date).ceds("000081", "Diploma or Credential Award Date"),
];

const WORK_BASED_LEARNING: &[F] = &[
    STATE_ID,
    F::new("wbl_type", K::Code("wbl_type")).ceds("001499", "Work-based Learning Opportunity Type"),
    F::new("start_date", K::Date),
    F::new("end_date", K::Date).optional(),
    F::new(
        "hours",
        K::Int {
            min: 0,
            max: 10_000,
        },
    )
    .optional(),
];

const INSTITUTION_ID: F = F::new("institution_id", K::Text);
// Optional: an NSC detail report or a PESC transcript without SchoolAssignedPersonID carries
// none, and linkage never uses it (postsecondary records link by state id or SSN).
const INSTITUTION_STUDENT_ID: F = F::new("institution_student_id", K::Text)
    .optional()
    .role(Role::Identifier(IdType::InstitutionStudentId))
    .ceds("001071", "Student Identifier");
const OPTIONAL_STATE_ID: F = STATE_ID.optional();

const PS_ENROLLMENT: &[F] = &[
    INSTITUTION_ID,
    INSTITUTION_STUDENT_ID,
    OPTIONAL_STATE_ID,
    SSN,
    FIRST_NAME,
    LAST_NAME,
    BIRTH_DATE,
    F::new("institution_level", K::Code("institution_level"))
        .ceds("000178", "Level of Institution"),
    F::new("begin_date", K::Date).ceds("000324", "Enrollment Date"),
    F::new("end_date", K::Date),
    F::new("enrollment_status", K::Code("ps_enrollment_status"))
        .ceds("000096", "Postsecondary Enrollment Status"),
];

const PS_AWARD: &[F] = &[
    INSTITUTION_ID,
    INSTITUTION_STUDENT_ID,
    OPTIONAL_STATE_ID,
    SSN,
    FIRST_NAME,
    LAST_NAME,
    BIRTH_DATE,
    F::new("award_level", K::Code("award_level")).ceds("000002", "Academic Award Level Conferred"),
    F::new("cip_code", K::CipCode).ceds("000043", "Classification of Instructional Program Code"),
    F::new("award_date", K::Date).ceds("000001", "Academic Award Date"),
];

const WAGE_RECORD: &[F] = &[
    F {
        required: true,
        ..SSN
    },
    FIRST_NAME,
    LAST_NAME,
    F::new("employer_fein", K::Digits(9)),
    F::new("employer_ui_account", K::Text),
    // Optional: neither ICESA nor EFW2 carries NAICS in its base records (only some states'
    // supplemental fields do), and no measure uses it yet.
    F::new("employer_naics", K::Digits(6))
        .optional()
        .ceds("001064", "Employment NAICS Code"),
    F::new(
        "year",
        K::Int {
            min: 1990,
            max: 2100,
        },
    ),
    F::new("quarter", K::Int { min: 1, max: 4 }),
    F::new("wages", K::Cents).ceds("000989", "Quarterly Earnings"),
    // Which report the record came in and when it was received: the wage resolution rule
    // (one value per person, employer and quarter) needs both. Blank means an original report
    // received at an unknown time.
    F::new("report_type", K::Code("wage_report_type")).optional(),
    F::new(
        "received_year",
        K::Int {
            min: 1990,
            max: 2100,
        },
    )
    .optional(),
    F::new("received_quarter", K::Int { min: 1, max: 4 }).optional(),
];

const WORKFORCE_PARTICIPATION: &[F] = &[
    F {
        required: true,
        ..SSN
    },
    F::new("program_type", K::Code("workforce_program")).ceds("000997", "Workforce Program Type"),
    F::new("entry_date", K::Date).ceds("000998", "Workforce Program Participation Start Date"),
    F::new("exit_date", K::Date)
        .optional()
        .ceds("000999", "Workforce Program Participation End Date"),
];

/// The column added beside `ssn_pid` with the SSN's validation outcome.
pub const SSN_STATUS: &str = "ssn_status";

/// The column that stands in for the names, birth date and sex of an entity that carries a
/// birth date: the record's keyed Bloom-filter encoding with its blocking keys (`p20w-privacy`'s
/// linkage module), for fuzzy linkage inside a run. Person-level; never published.
pub const LINKAGE_ENCODING: &str = "linkage_encoding";

impl Entity {
    pub const ALL: [Entity; 9] = [
        Entity::Person,
        Entity::K12Enrollment,
        Entity::CteCourseCompletion,
        Entity::IndustryCredential,
        Entity::WorkBasedLearning,
        Entity::PsEnrollment,
        Entity::PsAward,
        Entity::WageRecord,
        Entity::WorkforceParticipation,
    ];

    /// The name used in job files and as the table name in the pipeline.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Person => "person",
            Entity::K12Enrollment => "k12_enrollment",
            Entity::CteCourseCompletion => "cte_course_completion",
            Entity::IndustryCredential => "industry_credential",
            Entity::WorkBasedLearning => "work_based_learning",
            Entity::PsEnrollment => "ps_enrollment",
            Entity::PsAward => "ps_award",
            Entity::WageRecord => "wage_record",
            Entity::WorkforceParticipation => "workforce_participation",
        }
    }

    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The columns an extract of this entity carries, in order.
    pub fn fields(self) -> &'static [F] {
        match self {
            Entity::Person => PERSON,
            Entity::K12Enrollment => K12_ENROLLMENT,
            Entity::CteCourseCompletion => CTE_COURSE_COMPLETION,
            Entity::IndustryCredential => INDUSTRY_CREDENTIAL,
            Entity::WorkBasedLearning => WORK_BASED_LEARNING,
            Entity::PsEnrollment => PS_ENROLLMENT,
            Entity::PsAward => PS_AWARD,
            Entity::WageRecord => WAGE_RECORD,
            Entity::WorkforceParticipation => WORKFORCE_PARTICIPATION,
        }
    }

    /// The schema of validated records as read, identifiers still in the clear. Only ever held
    /// in memory between ingest and pseudonymize.
    pub fn ingest_schema(self) -> SchemaRef {
        let fields: Vec<Field> = self
            .fields()
            .iter()
            .map(|f| arrow_field(f, f.name))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Whether records of this entity carry a birth date beside names, so fuzzy linkage can
    /// use them (wage records carry names alone, too little to tell workers apart).
    pub fn carries_linkage_encoding(self) -> bool {
        self.fields()
            .iter()
            .any(|f| f.name == "birth_date" && f.role == Role::QuasiIdentifier)
    }

    /// The schema written after pseudonymization: identifiers become `<name>_pid` (64 hex
    /// characters, NULL where the identifier was missing or invalid), SSNs also keep a
    /// `ssn_status` reason code, and names and birth dates are gone, replaced where the entity
    /// carries a birth date by their [`LINKAGE_ENCODING`].
    pub fn canonical_schema(self) -> SchemaRef {
        let mut fields = Vec::new();
        for f in self.fields() {
            match f.role {
                Role::Attribute => fields.push(arrow_field(f, f.name)),
                Role::QuasiIdentifier => {}
                Role::Identifier(id) => {
                    let mut field = arrow_field(f, &pseudonym_column(f.name));
                    field.set_nullable(true);
                    fields.push(field);
                    if id == IdType::Ssn {
                        fields.push(Field::new(SSN_STATUS, DataType::Utf8, false));
                    }
                }
            }
        }
        if self.carries_linkage_encoding() {
            let md = HashMap::from([(metadata::ROLE.to_string(), "linkage_encoding".to_string())]);
            fields.push(Field::new(LINKAGE_ENCODING, DataType::Binary, true).with_metadata(md));
        }
        Arc::new(Schema::new(fields))
    }
}

/// The name of the pseudonym column that replaces identifier column `name`.
pub fn pseudonym_column(name: &str) -> String {
    format!("{name}_pid")
}

fn arrow_field(f: &F, name: &str) -> Field {
    let mut md = HashMap::new();
    if let Some((id, element)) = f.ceds {
        md.insert(metadata::CEDS_GLOBAL_ID.to_string(), id.to_string());
        md.insert(metadata::CEDS_ELEMENT.to_string(), element.to_string());
    }
    if let K::Code(set) = f.kind {
        md.insert(metadata::CODE_SET.to_string(), set.to_string());
    }
    let role = match f.role {
        Role::Attribute => "attribute".to_string(),
        Role::QuasiIdentifier => "quasi_identifier".to_string(),
        Role::Identifier(id) => format!("identifier:{}", id.as_str()),
    };
    md.insert(metadata::ROLE.to_string(), role);
    Field::new(name, f.kind.data_type(), !f.required).with_metadata(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_schemas_hold_no_clear_identifier() {
        for e in Entity::ALL {
            let schema = e.canonical_schema();
            for f in schema.fields() {
                let role = f.metadata().get(metadata::ROLE).map(String::as_str);
                assert!(
                    !matches!(role, Some("quasi_identifier")),
                    "{}.{} is a quasi-identifier",
                    e.name(),
                    f.name()
                );
                for banned in [
                    "ssn",
                    "state_student_id",
                    "first_name",
                    "last_name",
                    "birth_date",
                ] {
                    assert_ne!(f.name(), banned, "{} keeps {banned}", e.name());
                }
            }
        }
    }

    #[test]
    fn names_round_trip_and_fields_are_unique() {
        for e in Entity::ALL {
            assert_eq!(Entity::from_name(e.name()), Some(e));
            let mut names: Vec<_> = e.fields().iter().map(|f| f.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), e.fields().len(), "{}", e.name());
        }
    }

    #[test]
    fn ssn_keeps_a_status_column() {
        let s = Entity::WageRecord.canonical_schema();
        assert!(s.field_with_name("ssn_pid").is_ok());
        assert!(s.field_with_name(SSN_STATUS).is_ok());
        let md = s.field_with_name("wages").unwrap().metadata();
        assert_eq!(md.get(metadata::CEDS_GLOBAL_ID).unwrap(), "000989");
    }
}
