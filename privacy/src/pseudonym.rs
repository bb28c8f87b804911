//! Keyed pseudonyms: HKDF-derived per-agreement, per-identifier-type HMAC-SHA256.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, StringArray, builder::StringBuilder};
use arrow_schema::{ArrowError, DataType};
use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use p20w_schemas::IdType;
use sha2::Sha256;

use crate::MasterKey;

type HmacSha256 = Hmac<Sha256>;

/// Turns canonical identifiers of one type, under one agreement, into pseudonyms.
///
/// The HMAC is keyed and fed the constant message prefix once; each value clones that state,
/// which costs a memcpy instead of two SHA-256 compressions.
#[derive(Clone)]
pub struct Pseudonymizer {
    id_type: IdType,
    prefixed: HmacSha256,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("id_type", &self.id_type)
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    pub fn new(master: &MasterKey, agreement_id: &str, id_type: IdType) -> Pseudonymizer {
        let key = derive_key(master, agreement_id, id_type);
        let mut prefixed =
            <HmacSha256 as KeyInit>::new_from_slice(&key).expect("HMAC takes any key length");
        prefixed.update(b"p20w:v1\x00");
        prefixed.update(id_type.as_str().as_bytes());
        prefixed.update(b"\x00");
        Pseudonymizer { id_type, prefixed }
    }

    pub fn id_type(&self) -> IdType {
        self.id_type
    }

    /// The pseudonym of one canonical identifier, as 64 lowercase hex characters.
    pub fn pseudonym(&self, canonical: &str) -> String {
        let mut out = [0u8; 64];
        self.write_hex(canonical, &mut out);
        String::from_utf8(out.to_vec()).expect("hex is ASCII")
    }

    fn write_hex(&self, canonical: &str, out: &mut [u8; 64]) {
        let mut mac = self.prefixed.clone();
        mac.update(canonical.as_bytes());
        hex::encode_to_slice(mac.finalize().into_bytes(), out).expect("64 hex characters");
    }

    /// Pseudonymizes a column of canonical identifiers (Utf8, LargeUtf8 or Utf8View). NULL
    /// stays NULL: a missing identifier must not become a shared pseudonym.
    pub fn pseudonymize_array(&self, values: &dyn Array) -> Result<Arc<StringArray>, ArrowError> {
        let n = values.len();
        let mut out = StringBuilder::with_capacity(n, n * 64);
        let mut buf = [0u8; 64];
        let mut push = |v: Option<&str>| match v {
            Some(s) => {
                self.write_hex(s, &mut buf);
                out.append_value(std::str::from_utf8(&buf).expect("hex is ASCII"));
            }
            None => out.append_null(),
        };
        match values.data_type() {
            DataType::Utf8 => values.as_string::<i32>().iter().for_each(&mut push),
            DataType::LargeUtf8 => values.as_string::<i64>().iter().for_each(&mut push),
            DataType::Utf8View => values.as_string_view().iter().for_each(&mut push),
            other => {
                return Err(ArrowError::InvalidArgumentError(format!(
                    "pseudonyms are computed over strings, not {other}"
                )));
            }
        }
        Ok(Arc::new(out.finish()))
    }
}

fn derive_key(master: &MasterKey, agreement_id: &str, id_type: IdType) -> [u8; 32] {
    let info = format!("p20w/pseudonym/v1/{agreement_id}/{}", id_type.as_str());
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, master.bytes())
        .expand(info.as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

/// The canonical form of a non-SSN identifier: trimmed; blank means missing.
pub fn canonical_id(raw: &str) -> Option<&str> {
    let t = raw.trim();
    (!t.is_empty()).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{LargeStringArray, StringViewArray};

    fn master() -> MasterKey {
        MasterKey::from_bytes((0u8..32).collect(), "test vector").unwrap()
    }

    // Computed independently with Python's hmac and hashlib (recipe in README.md).
    const VECTORS: &[(&str, IdType, &str, &str, &str)] = &[
        (
            "demo-mou-2026",
            IdType::Ssn,
            "001010001",
            "371b0ac0deeba9bb0537980a925206a0f32308545c6e482f408a857e2b312f36",
            "ae0a73d24977f82b7f2ca051d0ed16e0e6c2be856465958c8ae36427d67a9581",
        ),
        (
            "demo-mou-2026",
            IdType::StateStudentId,
            "S0000001",
            "eddf55e034fd9e28c83931acc1161d0895dfb44fbfbed364c07427283e41fda6",
            "f1d261f0f539a79b3e4a33cbc98f94d9d6d747900ceb41b8e5bbc26ea11e72b3",
        ),
        (
            "other-mou",
            IdType::Ssn,
            "001010001",
            "34b7bf6dff598a856cc16943aa986aec7f3b28ab181d81d8b19ce6169adf1385",
            "93a2302c0b4ead9486c65f0e4cd348e6ea088586078d75fe9102fd4711be740b",
        ),
        (
            "demo-mou-2026",
            IdType::InstitutionStudentId,
            "U-77",
            "bb9b49bed18a8956c324d84c6a0e2751d781000b1cba4328e0dce9b032e4f3c9",
            "780930e61af5da005e31ab500b5591fe66261463f3ac08d7cf5b42e7dc05b298",
        ),
    ];

    #[test]
    fn readme_test_vectors() {
        for (agreement, id_type, value, derived, pseudonym) in VECTORS {
            assert_eq!(
                hex::encode(derive_key(&master(), agreement, *id_type)),
                *derived
            );
            assert_eq!(
                Pseudonymizer::new(&master(), agreement, *id_type).pseudonym(value),
                *pseudonym
            );
        }
    }

    #[test]
    fn hmac_matches_the_published_cross_engine_vector() {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(b"key").unwrap();
        mac.update(b"message");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "6e9ef29b75fffc5b7abae527d58fdadb2fe42e7219011976917343065f58ed4a"
        );
    }

    #[test]
    fn all_string_layouts_agree_and_nulls_stay_null() {
        let p = Pseudonymizer::new(&master(), "demo-mou-2026", IdType::Ssn);
        let values = [Some("001010001"), None, Some("219457880")];
        let a = p
            .pseudonymize_array(&StringArray::from(values.to_vec()))
            .unwrap();
        let b = p
            .pseudonymize_array(&LargeStringArray::from(values.to_vec()))
            .unwrap();
        let c = p
            .pseudonymize_array(&StringViewArray::from(values.to_vec()))
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(a.is_null(1));
        assert_eq!(a.value(0), p.pseudonym("001010001"));
        assert!(
            p.pseudonymize_array(&arrow_array::Int32Array::from(vec![1]))
                .is_err()
        );
    }

    #[test]
    fn agreements_and_id_types_do_not_link() {
        let a = Pseudonymizer::new(&master(), "a", IdType::Ssn).pseudonym("001010001");
        let b = Pseudonymizer::new(&master(), "b", IdType::Ssn).pseudonym("001010001");
        let c = Pseudonymizer::new(&master(), "a", IdType::StateStudentId).pseudonym("001010001");
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn canonical_ids_are_trimmed() {
        assert_eq!(canonical_id("  S001 "), Some("S001"));
        assert_eq!(canonical_id("   "), None);
    }
}
