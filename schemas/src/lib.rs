//! The canonical p20w model: what every stage after ingest agrees a record looks like.
//!
//! Each agency extract is read into one of the [`Entity`] shapes defined here. An entity is a list
//! of [`FieldSpec`]s: Arrow type, CEDS element (global id and name, kept in the Arrow field
//! metadata), the code set its values must come from, and its privacy [`Role`]. From that one list
//! come both Arrow schemas: the *ingest* schema, which still holds clear identifiers, and the
//! *canonical* schema after pseudonymization, which holds none.
//!
//! Code sets, crosswalks and the CTE program catalogue are data files (`schemas/data`). The
//! shipped copies are compiled in, so a user needs nothing beside the binary; a job may name its
//! own catalogue and crosswalk files, read at run time.
//!
//! This crate depends on `arrow-schema` only, so it builds in seconds and every other crate can
//! lean on it.

mod codes;
pub mod crosswalk;
mod demographics;
mod entity;
mod field;
pub mod programs;
mod quarter;

pub use codes::{CodeSet, CodeSetError, CodeSets, CodeValue};
pub use crosswalk::{Crosswalk, CrosswalkError, not_reported_code};
pub use demographics::{ALL, DIMENSIONS, Dimension, RaceFlags, derive_race_ethnicity};
pub use entity::{Entity, LINKAGE_ENCODING, SSN_STATUS, pseudonym_column};
pub use field::{FieldKind, FieldSpec, IdType, Role};
pub use programs::{CatalogError, CteProgram, CteProgramCatalog};
pub use quarter::{Date, DateError, YearQuarter};

/// Arrow field-metadata keys written on every canonical field.
pub mod metadata {
    /// The CEDS global id (six digits, kept as text) of the element the field carries.
    pub const CEDS_GLOBAL_ID: &str = "ceds_global_id";
    /// The CEDS element name.
    pub const CEDS_ELEMENT: &str = "ceds_element";
    /// The name of the p20w code set (in `code_sets.csv`) the field's values come from.
    pub const CODE_SET: &str = "p20w_code_set";
    /// What the field is, privacy-wise: `attribute`, `identifier:<type>` or `quasi_identifier`.
    pub const ROLE: &str = "p20w_role";
}
