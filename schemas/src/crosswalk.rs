//! Crosswalks: an agency's own codes (a local sex code, an Ed-Fi descriptor URI, a PIRL number)
//! mapped to the canonical codes of a code set. Kept as data (`code_set,source_code,code` CSV)
//! so a state adds its codes without a rebuild.

use std::collections::HashMap;
use std::path::Path;

use crate::CodeSets;

#[derive(Debug, thiserror::Error)]
pub enum CrosswalkError {
    #[error("crosswalk {file}: {message}")]
    Malformed { file: String, message: String },
    #[error("crosswalk {file} line {line}: code set {code_set:?} has no code {code:?}")]
    UnknownTarget {
        file: String,
        line: u64,
        code_set: String,
        code: String,
    },
    #[error("crosswalk {file} line {line}: {code_set}/{source_code:?} is mapped twice")]
    Duplicate {
        file: String,
        line: u64,
        code_set: String,
        source_code: String,
    },
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    code_set: String,
    source_code: String,
    code: String,
}

/// Source code → canonical code, per code set. Later layers (a job's own file) override earlier
/// ones (the shipped files) entry by entry.
#[derive(Debug, Clone, Default)]
pub struct Crosswalk {
    sets: HashMap<String, HashMap<String, String>>,
}

impl Crosswalk {
    /// Adds the rows of one crosswalk file; every target must be a code of its set.
    pub fn add_csv(&mut self, file: &str, text: &str) -> Result<(), CrosswalkError> {
        let sets = CodeSets::builtin();
        let mut within: HashMap<(String, String), ()> = HashMap::new();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let malformed = |e: csv::Error| CrosswalkError::Malformed {
            file: file.to_string(),
            message: e.to_string(),
        };
        let headers = reader.headers().map_err(malformed)?.clone();
        while reader.read_record(&mut record).map_err(malformed)? {
            let line = record.position().map_or(0, |p| p.line());
            let row: Row = record.deserialize(Some(&headers)).map_err(malformed)?;
            if !sets
                .get(&row.code_set)
                .is_some_and(|s| s.contains(&row.code))
            {
                return Err(CrosswalkError::UnknownTarget {
                    file: file.to_string(),
                    line,
                    code_set: row.code_set,
                    code: row.code,
                });
            }
            let key = (row.code_set.clone(), row.source_code.clone());
            if within.insert(key, ()).is_some() {
                return Err(CrosswalkError::Duplicate {
                    file: file.to_string(),
                    line,
                    code_set: row.code_set,
                    source_code: row.source_code,
                });
            }
            self.sets
                .entry(row.code_set)
                .or_default()
                .insert(row.source_code, row.code);
        }
        Ok(())
    }

    pub fn add_file(&mut self, path: &Path) -> Result<(), CrosswalkError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CrosswalkError::Malformed {
            file: file.clone(),
            message: e.to_string(),
        })?;
        self.add_csv(&file, &text)
    }

    /// The canonical code `source` stands for in `code_set`, if the crosswalk maps it.
    pub fn map(&self, code_set: &str, source: &str) -> Option<&str> {
        self.sets.get(code_set)?.get(source).map(String::as_str)
    }

    /// Adds every entry of `over`, replacing this crosswalk's entry for the same source code:
    /// a job's own crosswalk over the one a format ships.
    pub fn overlay(&mut self, over: &Crosswalk) {
        for (set, codes) in &over.sets {
            let mine = self.sets.entry(set.clone()).or_default();
            for (source, code) in codes {
                mine.insert(source.clone(), code.clone());
            }
        }
    }

    /// The source codes mapped in `code_set`, sorted (a format that finds its records by the
    /// codes a crosswalk knows, such as PIRL's funding-stream elements).
    pub fn sources(&self, code_set: &str) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .sets
            .get(code_set)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    pub fn is_empty(&self) -> bool {
        self.sets.values().all(HashMap::is_empty)
    }
}

/// The code of `code_set` that says "not reported", when the set has one.
pub fn not_reported_code(code_set: &str) -> Option<&'static str> {
    let set = CodeSets::builtin().get(code_set)?;
    ["NotReported", "NotSelected", "RaceAndEthnicityUnknown"]
        .into_iter()
        .find(|c| set.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_and_layers() {
        let mut x = Crosswalk::default();
        x.add_csv(
            "a.csv",
            "code_set,source_code,code\nsex,F,Female\nsex,M,Male\n",
        )
        .unwrap();
        x.add_csv("b.csv", "code_set,source_code,code\nsex,M,NotSelected\n")
            .unwrap();
        assert_eq!(x.map("sex", "F"), Some("Female"));
        assert_eq!(
            x.map("sex", "M"),
            Some("NotSelected"),
            "later files override"
        );
        assert_eq!(x.map("sex", "X"), None);
        assert_eq!(x.map("disability", "F"), None);
    }

    #[test]
    fn an_overlay_wins_entry_by_entry_and_a_blank_source_code_is_a_code() {
        let mut shipped = Crosswalk::default();
        shipped
            .add_csv(
                "nsc.csv",
                "code_set,source_code,code\nps_enrollment_status,F,01\nps_enrollment_status,,NotReported\n",
            )
            .unwrap();
        let mut job = Crosswalk::default();
        job.add_csv(
            "job.csv",
            "code_set,source_code,code\nps_enrollment_status,F,02\n",
        )
        .unwrap();
        shipped.overlay(&job);
        assert_eq!(shipped.map("ps_enrollment_status", "F"), Some("02"));
        assert_eq!(shipped.map("ps_enrollment_status", ""), Some("NotReported"));
        assert_eq!(shipped.sources("ps_enrollment_status"), ["", "F"]);
        assert!(shipped.sources("sex").is_empty());
    }

    #[test]
    fn targets_must_be_codes_and_sources_unique() {
        let mut x = Crosswalk::default();
        let err = x
            .add_csv("a.csv", "code_set,source_code,code\nsex,F,Woman\n")
            .unwrap_err();
        assert!(matches!(err, CrosswalkError::UnknownTarget { .. }), "{err}");
        let err = x
            .add_csv(
                "a.csv",
                "code_set,source_code,code\nsex,F,Female\nsex,F,Male\n",
            )
            .unwrap_err();
        assert!(
            matches!(err, CrosswalkError::Duplicate { line: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn not_reported_codes() {
        assert_eq!(not_reported_code("sex"), Some("NotSelected"));
        assert_eq!(not_reported_code("disability"), Some("NotReported"));
        assert_eq!(not_reported_code("credential_type"), None);
    }
}
