//! What the standard formats (NSC, PESC, PIRL) share: a crosswalk shipped with the format and
//! the `YYYYMMDD` dates their specifications use.

use std::path::PathBuf;
use std::sync::Arc;

use p20w_schemas::{Crosswalk, Date};

use crate::ConnectorError;
use crate::format::{SkippedRecords, SourceSpec};
use crate::record::Validation;

/// The source's validation with the format's crosswalk under the job's own: `shipped` (or the
/// file `replacement` names instead) first, then the job's crosswalks, which win entry by entry.
pub(crate) fn validation_with(
    spec: &SourceSpec,
    shipped_name: &str,
    shipped: &str,
    replacement: Option<&PathBuf>,
) -> Result<Validation, ConnectorError> {
    let mut crosswalk = Crosswalk::default();
    let loaded = match replacement {
        Some(path) => crosswalk.add_file(path),
        None => crosswalk.add_csv(shipped_name, shipped),
    };
    loaded.map_err(|e| ConnectorError::Options {
        source_name: spec.name.clone(),
        format: spec.format.clone(),
        message: e.to_string(),
    })?;
    crosswalk.overlay(&spec.validation.crosswalk);
    Ok(Validation {
        crosswalk: Arc::new(crosswalk),
        ..spec.validation.clone()
    })
}

/// A date written `YYYYMMDD` (PIRL data type DT 8; NSC dates) in the canonical `YYYY-MM-DD`;
/// blank stays blank; `Err` when it is not a calendar date so written.
pub(crate) fn yyyymmdd(v: &str) -> Result<String, ()> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    if v.len() != 8 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(());
    }
    let year: i32 = v[..4].parse().map_err(|_| ())?;
    let month: u32 = v[4..6].parse().map_err(|_| ())?;
    let day: u32 = v[6..].parse().map_err(|_| ())?;
    Date::new(year, month, day).map(|d| d.to_string()).ok_or(())
}

/// A CIP code as registrars write it (`510801`, `51.0801`, `51.08`) in the canonical
/// `xx.xxxx` form where it has six digits; anything else is passed on for validation to judge.
pub(crate) fn cip(v: &str) -> String {
    let v = v.trim();
    let digits: String = v.chars().filter(|c| *c != '.').collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}.{}", &digits[..2], &digits[2..])
    } else {
        v.to_string()
    }
}

/// Counts of skipped records by reason, in first-seen order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Skipped(Vec<SkippedRecords>);

impl Skipped {
    pub(crate) fn add(&mut self, reason: &str) {
        match self.0.iter_mut().find(|s| s.reason == reason) {
            Some(s) => s.records += 1,
            None => self.0.push(SkippedRecords {
                reason: reason.to_string(),
                records: 1,
            }),
        }
    }

    pub(crate) fn list(&self) -> Vec<SkippedRecords> {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_cip_codes() {
        assert_eq!(yyyymmdd("20230825"), Ok("2023-08-25".into()));
        assert_eq!(yyyymmdd(" "), Ok(String::new()));
        for bad in ["20230230", "2023-08-25", "2023082", "2023O825", "00000000"] {
            assert_eq!(yyyymmdd(bad), Err(()), "{bad}");
        }
        assert_eq!(cip("510801"), "51.0801");
        assert_eq!(cip("51.0801"), "51.0801");
        assert_eq!(cip("51.08"), "51.08");
    }
}
