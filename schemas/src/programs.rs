//! The CTE program catalogue (`data/cte_programs.csv`): CIP 2020 code, career cluster and the
//! gender under-represented in the occupations a program leads to.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const CTE_PROGRAMS_CSV: &str = include_str!("../data/cte_programs.csv");

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CteProgram {
    pub cip_code: String,
    pub title: String,
    pub career_cluster: String,
    /// `Female` or `Male` where that sex is under 25% of the field's workforce.
    pub nontraditional_for: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CteProgramCatalog {
    programs: BTreeMap<String, CteProgram>,
}

#[derive(Debug, thiserror::Error)]
#[error("CTE program catalogue {file}: {message}")]
pub struct CatalogError {
    pub file: String,
    pub message: String,
}

impl CteProgramCatalog {
    /// The catalogue shipped in `data/cte_programs.csv`, used unless a job names its own.
    pub fn builtin() -> &'static CteProgramCatalog {
        static CATALOG: OnceLock<CteProgramCatalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            CteProgramCatalog::from_csv("cte_programs.csv", CTE_PROGRAMS_CSV)
                .expect("the shipped cte_programs.csv is checked by tests")
        })
    }

    /// Reads a state's catalogue, shaped like `data/cte_programs.csv`. Every row is checked:
    /// CIP 2020 format, a known career cluster, `Female`/`Male`/blank nontraditional gender, no
    /// program twice.
    pub fn from_csv(file: &str, text: &str) -> Result<CteProgramCatalog, CatalogError> {
        let error = |message: String| CatalogError {
            file: file.to_string(),
            message,
        };
        let clusters = crate::CodeSets::builtin()
            .get("career_cluster")
            .expect("career_cluster is a shipped code set");
        let mut programs = BTreeMap::new();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        for row in reader.deserialize::<CteProgram>() {
            let p = row.map_err(|e| error(e.to_string()))?;
            let at = &p.cip_code;
            if !is_cip_format(at) {
                return Err(error(format!("{at:?} is not a CIP code written xx.xxxx")));
            }
            if !clusters.contains(&p.career_cluster) {
                return Err(error(format!(
                    "{at}: career cluster {:?} is not a code of career_cluster",
                    p.career_cluster
                )));
            }
            if let Some(sex) = &p.nontraditional_for
                && sex != "Female"
                && sex != "Male"
            {
                return Err(error(format!(
                    "{at}: nontraditional_for must be Female, Male or blank"
                )));
            }
            if programs.insert(p.cip_code.clone(), p.clone()).is_some() {
                return Err(error(format!("{at} is listed twice")));
            }
        }
        if programs.is_empty() {
            return Err(error("lists no program".into()));
        }
        Ok(CteProgramCatalog { programs })
    }

    pub fn from_path(path: &std::path::Path) -> Result<CteProgramCatalog, CatalogError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CatalogError {
            file: file.clone(),
            message: e.to_string(),
        })?;
        CteProgramCatalog::from_csv(&file, &text)
    }

    pub fn get(&self, cip_code: &str) -> Option<&CteProgram> {
        self.programs.get(cip_code)
    }

    pub fn iter(&self) -> impl Iterator<Item = &CteProgram> {
        self.programs.values()
    }

    /// The CEDS 000588 code for a student of `sex` concentrating in `cip_code`.
    pub fn nontraditional_status(&self, cip_code: Option<&str>, sex: &str) -> &'static str {
        match (cip_code.and_then(|c| self.get(c)), sex) {
            (None, _) | (_, "NotSelected") => "NotReported",
            (Some(p), sex) if p.nontraditional_for.as_deref() == Some(sex) => "Underrepresented",
            _ => "NotUnderrepresented",
        }
    }
}

/// `xx.xxxx`, as CIP 2020 writes codes.
pub fn is_cip_format(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b[2] == b'.'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodeSets;

    #[test]
    fn catalog_rows_are_well_formed() {
        let clusters = CodeSets::builtin().get("career_cluster").unwrap();
        let catalog = CteProgramCatalog::builtin();
        assert!(catalog.iter().count() >= 10);
        for p in catalog.iter() {
            assert!(is_cip_format(&p.cip_code), "{}", p.cip_code);
            assert!(clusters.contains(&p.career_cluster), "{}", p.cip_code);
            if let Some(sex) = &p.nontraditional_for {
                assert!(sex == "Female" || sex == "Male", "{}", p.cip_code);
            }
        }
    }

    #[test]
    fn nontraditional_depends_on_program_and_sex() {
        let c = CteProgramCatalog::builtin();
        assert_eq!(
            c.nontraditional_status(Some("48.0508"), "Female"),
            "Underrepresented"
        );
        assert_eq!(
            c.nontraditional_status(Some("48.0508"), "Male"),
            "NotUnderrepresented"
        );
        assert_eq!(
            c.nontraditional_status(Some("51.3901"), "Male"),
            "Underrepresented"
        );
        assert_eq!(
            c.nontraditional_status(Some("52.0101"), "Female"),
            "NotUnderrepresented"
        );
        assert_eq!(
            c.nontraditional_status(Some("48.0508"), "NotSelected"),
            "NotReported"
        );
        assert_eq!(c.nontraditional_status(None, "Male"), "NotReported");
    }

    #[test]
    fn cip_format() {
        assert!(is_cip_format("51.3901"));
        assert!(!is_cip_format("513901"));
        assert!(!is_cip_format("51.39O1"));
    }
}
