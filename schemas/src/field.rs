//! One column of an entity: its type, meaning and privacy role.

use arrow_schema::DataType;

/// The kind of identifier a column holds. Each kind gets its own derived pseudonym key, so the
/// same digits under two kinds never produce the same pseudonym.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdType {
    /// Social Security number: 9 digits, validated.
    Ssn,
    /// The state's K-12 student identifier, shared with postsecondary by some agreements.
    StateStudentId,
    /// A postsecondary institution's own student identifier.
    InstitutionStudentId,
}

impl IdType {
    /// The name that goes into the key derivation and the HMAC message; fixed forever for `v1`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdType::Ssn => "ssn",
            IdType::StateStudentId => "state_student_id",
            IdType::InstitutionStudentId => "institution_student_id",
        }
    }
}

/// What a column may do after ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Ordinary data; kept.
    Attribute,
    /// A direct identifier: replaced by its pseudonym before anything is written.
    Identifier(IdType),
    /// Names and birth dates: usable for linkage in memory, never written.
    QuasiIdentifier,
}

/// How a CSV value is parsed and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text, trimmed.
    Text,
    /// A value from the named code set in `code_sets.csv`.
    Code(&'static str),
    /// A CIP 2020 code, written `xx.xxxx`.
    CipCode,
    /// A CIP 2020 code of a program in the CTE program catalogue.
    CteProgram,
    /// A calendar date written `YYYY-MM-DD`.
    Date,
    /// A whole number within inclusive bounds.
    Int { min: i32, max: i32 },
    /// Money written in dollars with at most two decimals; stored as whole cents.
    Cents,
    /// Exactly `len` ASCII digits (FEIN, NAICS).
    Digits(usize),
}

impl FieldKind {
    /// The Arrow type the value is stored as.
    pub fn data_type(self) -> DataType {
        match self {
            FieldKind::Text
            | FieldKind::Code(_)
            | FieldKind::CipCode
            | FieldKind::CteProgram
            | FieldKind::Digits(_) => DataType::Utf8,
            FieldKind::Date => DataType::Date32,
            FieldKind::Int { .. } => DataType::Int32,
            FieldKind::Cents => DataType::Int64,
        }
    }
}

/// One column of an [`crate::Entity`].
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    /// A required field may not be blank; a blank optional field is NULL.
    pub required: bool,
    pub role: Role,
    /// CEDS global id and element name.
    pub ceds: Option<(&'static str, &'static str)>,
}

impl FieldSpec {
    pub const fn new(name: &'static str, kind: FieldKind) -> Self {
        FieldSpec {
            name,
            kind,
            required: true,
            role: Role::Attribute,
            ceds: None,
        }
    }
    pub const fn optional(mut self) -> Self {
        self.required = false;
        self
    }
    pub const fn role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }
    pub const fn ceds(mut self, global_id: &'static str, element: &'static str) -> Self {
        self.ceds = Some((global_id, element));
        self
    }
}
