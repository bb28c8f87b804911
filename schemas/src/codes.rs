//! Code sets loaded from `data/code_sets.csv`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const CODE_SETS_CSV: &str = include_str!("../data/code_sets.csv");

#[derive(Debug, thiserror::Error)]
pub enum CodeSetError {
    #[error("code_sets.csv line {line}: {message}")]
    Malformed { line: u64, message: String },
}

/// One accepted code and the CEDS option it stands for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CodeValue {
    pub code_set: String,
    pub code: String,
    pub label: String,
    /// Blank for the documented p20w extensions (see `data/README.md`).
    pub ceds_global_id: Option<String>,
    pub ceds_code: Option<String>,
}

/// The codes of one set, in file order.
#[derive(Debug, Clone, Default)]
pub struct CodeSet {
    pub values: Vec<CodeValue>,
}

impl CodeSet {
    pub fn contains(&self, code: &str) -> bool {
        self.values.iter().any(|v| v.code == code)
    }
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|v| v.code.as_str())
    }
}

/// Every code set the project knows.
#[derive(Debug, Clone, Default)]
pub struct CodeSets {
    sets: BTreeMap<String, CodeSet>,
}

impl CodeSets {
    /// The code sets compiled into the binary.
    pub fn builtin() -> &'static CodeSets {
        static SETS: OnceLock<CodeSets> = OnceLock::new();
        SETS.get_or_init(|| {
            CodeSets::from_csv(CODE_SETS_CSV)
                .expect("the shipped code_sets.csv is checked by tests")
        })
    }

    /// Parses a file shaped like `data/code_sets.csv`.
    pub fn from_csv(text: &str) -> Result<CodeSets, CodeSetError> {
        let mut sets: BTreeMap<String, CodeSet> = BTreeMap::new();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for row in reader.deserialize::<CodeValue>() {
            let value = row.map_err(|e| CodeSetError::Malformed {
                line: e.position().map_or(0, |p| p.line()),
                message: e.to_string(),
            })?;
            sets.entry(value.code_set.clone())
                .or_default()
                .values
                .push(value);
        }
        Ok(CodeSets { sets })
    }

    pub fn get(&self, name: &str) -> Option<&CodeSet> {
        self.sets.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &CodeSet)> {
        self.sets.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DIMENSIONS, Entity, FieldKind};
    use std::collections::HashSet;
    use std::path::Path;

    #[test]
    fn every_code_set_named_by_the_model_exists() {
        let sets = CodeSets::builtin();
        for e in Entity::ALL {
            for f in e.fields() {
                if let FieldKind::Code(set) = f.kind {
                    assert!(
                        sets.get(set).is_some(),
                        "{}.{} names missing set {set}",
                        e.name(),
                        f.name
                    );
                }
            }
        }
        for d in DIMENSIONS {
            let set = sets
                .get(d.code_set)
                .unwrap_or_else(|| panic!("dimension {}", d.name));
            assert!(
                set.contains(d.not_reported),
                "{} lacks its not-reported code",
                d.name
            );
        }
    }

    /// Every code that claims a CEDS option must be one; the extensions are exactly the
    /// documented ones. Runs against the CEDS V13 extraction in `../shared` when present.
    #[test]
    fn codes_match_ceds_v13_option_sets() {
        let path = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
            .join("../../shared/reference/ceds/ceds_v13_option_sets.csv");
        if !path.exists() {
            eprintln!("skipping: {} not present", path.display());
            return;
        }
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let ceds: HashSet<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[3].to_string())
            })
            .collect();
        assert!(ceds.len() > 8000, "the CEDS extraction looks truncated");
        let mut extensions = Vec::new();
        for (name, set) in CodeSets::builtin().iter() {
            for v in &set.values {
                match (&v.ceds_global_id, &v.ceds_code) {
                    (Some(id), Some(code)) => assert!(
                        ceds.contains(&(id.clone(), code.clone())),
                        "{name}/{} claims CEDS {id}={code}, which V13 does not have",
                        v.code
                    ),
                    _ => extensions.push(format!("{name}/{}", v.code)),
                }
            }
        }
        let expected = [
            "disability/NotReported",
            "economic_disadvantage/NotReported",
            "english_learner/NotReported",
            "foster_care/No",
            "foster_care/NotReported",
            "homeless/NotReported",
            "nontraditional/NotReported",
            "ps_enrollment_status/NotReported",
            "single_parent/NotReported",
            "wage_report_type/Original",
            "wage_report_type/Supplemental",
            "wage_report_type/Amendment",
        ];
        assert_eq!(extensions, expected);
    }
}
