//! Privacy for p20w: keys (the pseudonym master key, the release signing key), pseudonyms,
//! identifier canonicalisation and disclosure rules.
//!
//! The pseudonym construction is fixed and versioned (`v1`) so a partner agency can reproduce
//! it with nothing but Python's `hmac` and `hashlib` (see the README for the recipe and test
//! vectors):
//!
//! ```text
//! K         = HKDF-SHA256(ikm = master key, salt = empty,
//!                         info = "p20w/pseudonym/v1/" + agreement_id + "/" + id_type)   (32 bytes)
//! pseudonym = hex(HMAC-SHA256(K, "p20w:v1" 0x00 id_type 0x00 canonical_id))
//! ```
//!
//! A key derived per agreement and per identifier type keeps pseudonyms from one data-sharing
//! agreement from linking to another's. This crate has no DataFusion dependency; the pipeline
//! wraps [`Pseudonymizer::pseudonymize_array`] as a scalar UDF.

mod cell_model;
mod complementary;
mod determinacy;
mod key;
pub mod linkage;
mod pseudonym;
mod signing;
mod ssn;
mod suppression;

pub use cell_model::{Cell, CellModel, Relation, RelationKind, SuppressionPattern};
pub use complementary::complete_pattern;
pub use key::{KeyError, MIN_KEY_BYTES, MasterKey};
pub use pseudonym::{Pseudonymizer, canonical_id};
pub use signing::{ReleasePublicKey, ReleaseSigningKey, public_key_path};
pub use ssn::{SsnStatus, canonical_ssn};
pub use suppression::{CellStatus, SuppressionRule};
