//! The data-sharing agreement file (`agreement.toml`) and the clauses a run can enforce
//! mechanically (`shared/notes/peers.md` §2.3): its term, the data each recipient may receive,
//! the links between source systems it allows, and its disclosure floor. `run` and `validate`
//! check a job against it before reading anything; a refusal names the clause it breaks.

use std::collections::BTreeMap;
use std::path::Path;

use p20w_schemas::{Date, Entity};
use serde::Deserialize;

/// The one version of the file format this build reads.
pub const FORMAT: &str = "p20w-agreement/1";

/// Exit status of a run or validation the agreement is not in force for (before `effective`,
/// after `expires` or after `destroy_by`).
pub const EXIT_NOT_IN_FORCE: u8 = 10;
/// A source, data element, dataset, purpose or key the agreement does not permit.
pub const EXIT_NOT_PERMITTED: u8 = 11;
/// A disclosure rule weaker than the agreement's floor.
pub const EXIT_BELOW_FLOOR: u8 = 12;
/// A link between source systems the agreement does not allow.
pub const EXIT_LINK_NOT_ALLOWED: u8 = 13;

#[derive(Debug, thiserror::Error)]
pub enum AgreementError {
    #[error("cannot read agreement file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("agreement file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Which clause a job breaks, and so which exit status it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breach {
    NotInForce,
    NotPermitted,
    BelowFloor,
    LinkNotAllowed,
}

/// A job the agreement does not allow, with the clause (`expires`, `parties[1].elements.person`,
/// …) and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("refused by agreement {agreement} (clause `{clause}`): {message}")]
pub struct Refusal {
    pub agreement: String,
    pub breach: Breach,
    pub clause: String,
    pub message: String,
}

impl Refusal {
    pub fn exit_code(&self) -> u8 {
        match self.breach {
            Breach::NotInForce => EXIT_NOT_IN_FORCE,
            Breach::NotPermitted => EXIT_NOT_PERMITTED,
            Breach::BelowFloor => EXIT_BELOW_FLOOR,
            Breach::LinkNotAllowed => EXIT_LINK_NOT_ALLOWED,
        }
    }
}

/// The legal ground of the disclosure (peers.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// FERPA's studies exception, 34 CFR 99.31(a)(6).
    FerpaStudies,
    /// FERPA's audit or evaluation exception, 34 CFR 99.35.
    FerpaAuditEvaluation,
    /// UI confidentiality, 20 CFR 603.
    Cfr603,
    /// The WIOA State Wage Interchange System agreement.
    WioaSwis,
    StateStatute,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An agency whose records the agreement discloses.
    Discloser,
    /// A party that receives data or releases under the agreement.
    Recipient,
    /// FERPA's authorized representative, who runs the work for an agency.
    AuthorizedRepresentative,
    /// Holds the keys and runs p20w.
    Custodian,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// For a recipient: the datasets (measures) it may receive.
    #[serde(default)]
    pub datasets: Vec<String>,
    /// For a recipient: per entity, the canonical fields that may be read for it.
    #[serde(default)]
    pub elements: BTreeMap<String, Vec<String>>,
}

/// `[disclosure]`: the weakest protection any release under the agreement may have.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// No published count, or count a rate rests on, below this.
    pub min_cell_size: u64,
    /// Today only `suppression` (primary and complementary, see README "Disclosure control").
    pub method: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreementFile {
    format: String,
    id: String,
    version: u32,
    title: Option<String>,
    legal_basis: LegalBasis,
    purposes: Vec<String>,
    effective: toml::value::Datetime,
    expires: toml::value::Datetime,
    destroy_by: toml::value::Datetime,
    key_id: Option<String>,
    #[serde(default)]
    reviewers: Vec<String>,
    allowed_links: Vec<[String; 2]>,
    disclosure: Disclosure,
    parties: Vec<Party>,
}

/// A parsed, self-consistent agreement.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub id: String,
    pub version: u32,
    pub title: Option<String>,
    pub legal_basis: LegalBasis,
    pub purposes: Vec<String>,
    pub effective: Date,
    pub expires: Date,
    pub destroy_by: Date,
    /// The id of the pseudonym key the agreement binds (`p20w keygen` prints it).
    pub key_id: Option<String>,
    pub reviewers: Vec<String>,
    pub allowed_links: Vec<[String; 2]>,
    pub disclosure: Disclosure,
    pub parties: Vec<Party>,
    /// SHA-256 of the file's bytes, written into manifests and the audit log.
    pub sha256: String,
}

/// The source system an entity's records come from: what `allowed_links` pairs.
pub fn system_of(entity: Entity) -> &'static str {
    match entity {
        Entity::Person
        | Entity::K12Enrollment
        | Entity::CteCourseCompletion
        | Entity::IndustryCredential
        | Entity::WorkBasedLearning => "k12",
        Entity::PsEnrollment | Entity::PsAward => "postsecondary",
        Entity::WageRecord => "ui_wage",
        Entity::WorkforceParticipation => "workforce_program",
    }
}

const SYSTEMS: [&str; 4] = ["k12", "postsecondary", "ui_wage", "workforce_program"];

impl Agreement {
    pub fn load(path: &Path) -> Result<Agreement, AgreementError> {
        let bytes = std::fs::read(path).map_err(|source| AgreementError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Agreement::parse(&bytes, path)
    }

    pub fn parse(bytes: &[u8], path: &Path) -> Result<Agreement, AgreementError> {
        let invalid = |message: String| AgreementError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text".into()))?;
        let raw: AgreementFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if raw.format != FORMAT {
            return Err(invalid(format!(
                "format {:?} is not one this p20w reads ({FORMAT:?})",
                raw.format
            )));
        }
        if !crate::config::valid_id(&raw.id) {
            return Err(invalid(
                "id must be letters, digits, '-', '_' or '.'".into(),
            ));
        }
        let date = |key: &str, d: &toml::value::Datetime| match (d.date, d.time) {
            (Some(d), None) => Date::new(d.year.into(), d.month.into(), d.day.into())
                .ok_or_else(|| invalid(format!("{key}: not a calendar date"))),
            _ => Err(invalid(format!(
                "{key} must be a date (YYYY-MM-DD), not a time"
            ))),
        };
        let effective = date("effective", &raw.effective)?;
        let expires = date("expires", &raw.expires)?;
        let destroy_by = date("destroy_by", &raw.destroy_by)?;
        if !(effective <= expires && expires <= destroy_by) {
            return Err(invalid(
                "dates must come in order: effective, then expires, then destroy_by".into(),
            ));
        }
        if raw.purposes.is_empty() {
            return Err(invalid("purposes must name at least one purpose".into()));
        }
        if raw.disclosure.min_cell_size == 0 {
            return Err(invalid(
                "disclosure.min_cell_size must be at least 1".into(),
            ));
        }
        if raw.disclosure.method != "suppression" {
            return Err(invalid(format!(
                "disclosure.method {:?}: the only method p20w applies is \"suppression\"",
                raw.disclosure.method
            )));
        }
        for (i, [a, b]) in raw.allowed_links.iter().enumerate() {
            for s in [a, b] {
                if !SYSTEMS.contains(&s.as_str()) {
                    return Err(invalid(format!(
                        "allowed_links[{i}]: unknown source system {s:?}; known: {}",
                        SYSTEMS.join(", ")
                    )));
                }
            }
        }
        for (i, p) in raw.parties.iter().enumerate() {
            if raw.parties[..i].iter().any(|q| q.id == p.id) {
                return Err(invalid(format!("parties[{i}]: id {:?} twice", p.id)));
            }
            let receives = !p.datasets.is_empty() || !p.elements.is_empty();
            if receives && p.role != Role::Recipient {
                return Err(invalid(format!(
                    "parties[{i}] ({}): only a recipient has datasets and elements",
                    p.id
                )));
            }
            for entity in p.elements.keys() {
                let Some(e) = Entity::from_name(entity) else {
                    return Err(invalid(format!(
                        "parties[{i}].elements: unknown entity {entity:?}"
                    )));
                };
                for field in &p.elements[entity] {
                    if !e.fields().iter().any(|f| f.name == field) {
                        return Err(invalid(format!(
                            "parties[{i}].elements.{entity}: {field:?} is not a canonical field \
                             of {entity}"
                        )));
                    }
                }
            }
        }
        if !raw.parties.iter().any(|p| p.role == Role::Recipient) {
            return Err(invalid("parties must include a recipient".into()));
        }
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        Ok(Agreement {
            id: raw.id,
            version: raw.version,
            title: raw.title,
            legal_basis: raw.legal_basis,
            purposes: raw.purposes,
            effective,
            expires,
            destroy_by,
            key_id: raw.key_id,
            reviewers: raw.reviewers,
            allowed_links: raw.allowed_links,
            disclosure: raw.disclosure,
            parties: raw.parties,
            sha256,
        })
    }

    /// The recipient a job runs for: the one named, or the agreement's only recipient.
    pub fn recipient(&self, named: Option<&str>) -> Result<(usize, &Party), String> {
        let recipients: Vec<(usize, &Party)> = self
            .parties
            .iter()
            .enumerate()
            .filter(|(_, p)| p.role == Role::Recipient)
            .collect();
        match named {
            Some(id) => recipients
                .into_iter()
                .find(|(_, p)| p.id == id)
                .ok_or_else(|| {
                    format!("recipient {id:?} is not a recipient party of the agreement")
                }),
            None if recipients.len() == 1 => Ok(recipients[0]),
            None => Err("the agreement has several recipients; set recipient in the job".into()),
        }
    }

    fn refusal(&self, breach: Breach, clause: String, message: String) -> Refusal {
        Refusal {
            agreement: self.id.clone(),
            breach,
            clause,
            message,
        }
    }

    /// Whether the agreement is in force on `today`.
    pub fn check_term(&self, today: Date) -> Result<(), Refusal> {
        let not_in_force = |clause: &str, message: String| {
            Err(self.refusal(Breach::NotInForce, clause.into(), message))
        };
        if today < self.effective {
            return not_in_force(
                "effective",
                format!("it takes effect on {}; today is {today}", self.effective),
            );
        }
        if today > self.destroy_by {
            return not_in_force(
                "destroy_by",
                format!(
                    "its data were to be destroyed by {}; today is {today}",
                    self.destroy_by
                ),
            );
        }
        if today > self.expires {
            return not_in_force(
                "expires",
                format!("it expired on {}; today is {today}", self.expires),
            );
        }
        Ok(())
    }

    /// The clauses a job can break before anything is read: term, purpose, sources and their
    /// elements, datasets, links and the disclosure floor.
    pub fn check_job(&self, job: &crate::config::JobConfig, today: Date) -> Result<(), Refusal> {
        self.check_term(today)?;
        if !self.purposes.contains(&job.purpose) {
            return Err(self.refusal(
                Breach::NotPermitted,
                "purposes".into(),
                format!(
                    "the job's purpose {:?} is not among the agreement's ({})",
                    job.purpose,
                    self.purposes.join(", ")
                ),
            ));
        }
        let (index, recipient) = self
            .recipient(job.recipient.as_deref())
            .map_err(|m| self.refusal(Breach::NotPermitted, "parties".into(), m))?;
        for s in &job.sources {
            let entity = s.entity.name();
            let clause = format!("parties[{index}].elements.{entity}");
            let Some(permitted) = recipient.elements.get(entity) else {
                return Err(self.refusal(
                    Breach::NotPermitted,
                    clause,
                    format!(
                        "source {} reads {entity} records, which recipient {} may not receive",
                        s.name, recipient.id
                    ),
                ));
            };
            // The connectors read every canonical field of the entity (where present), so each
            // must be permitted; a withheld field cannot yet be dropped at ingest.
            if let Some(f) = s
                .entity
                .fields()
                .iter()
                .find(|f| !permitted.iter().any(|p| p == f.name))
            {
                return Err(self.refusal(
                    Breach::NotPermitted,
                    clause,
                    format!(
                        "source {} reads {entity}.{}, a data element recipient {} may not \
                         receive",
                        s.name, f.name, recipient.id
                    ),
                ));
            }
        }
        for m in &job.measures.measures {
            let dataset = &m.spec.dataset;
            if !recipient.datasets.contains(dataset) {
                return Err(self.refusal(
                    Breach::NotPermitted,
                    format!("parties[{index}].datasets"),
                    format!(
                        "dataset {dataset} is not one recipient {} may receive",
                        recipient.id
                    ),
                ));
            }
        }
        for s in &job.sources {
            let system = system_of(s.entity);
            let allowed = system == "k12"
                || self
                    .allowed_links
                    .iter()
                    .any(|[a, b]| (a == "k12" && b == system) || (b == "k12" && a == system));
            if !allowed {
                return Err(self.refusal(
                    Breach::LinkNotAllowed,
                    "allowed_links".into(),
                    format!(
                        "source {} ({system} records) would be linked to k12 students, and the \
                         agreement allows no k12–{system} link",
                        s.name
                    ),
                ));
            }
        }
        if job.min_cell_size < self.disclosure.min_cell_size {
            return Err(self.refusal(
                Breach::BelowFloor,
                "disclosure.min_cell_size".into(),
                format!(
                    "the job's min_cell_size {} is below the agreement's floor of {}",
                    job.min_cell_size, self.disclosure.min_cell_size
                ),
            ));
        }
        Ok(())
    }

    /// The pseudonym key must be the one the agreement names, when it names one.
    pub fn check_key(&self, key_id: &str) -> Result<(), Refusal> {
        match &self.key_id {
            Some(agreed) if agreed != key_id => Err(self.refusal(
                Breach::NotPermitted,
                "key_id".into(),
                format!("the job's key has id {key_id}; the agreement binds key {agreed}"),
            )),
            _ => Ok(()),
        }
    }
}

impl Agreement {
    /// The data dictionary's account of the agreement: the clause that permits each published
    /// dataset, and the disclosure rule applied to it.
    pub fn dictionary_markdown(&self, job: &crate::config::JobConfig) -> String {
        let Ok((index, recipient)) = self.recipient(job.recipient.as_deref()) else {
            return String::new();
        };
        let mut s = format!(
            "\n## Agreement\n\nPublished under agreement `{}` version {} (legal basis {:?}; \
             agreement file SHA-256 `{}`) for purpose `{}`, to recipient `{}`.\n\n\
             | dataset | permitted by | disclosure rule |\n| --- | --- | --- |\n",
            self.id, self.version, self.legal_basis, self.sha256, job.purpose, recipient.id
        );
        for m in &job.measures.measures {
            s.push_str(&format!(
                "| {} | `parties[{index}].datasets` | minimum cell size {} (the agreement's \
                 floor, `disclosure.min_cell_size`, is {}), primary and complementary \
                 suppression |\n",
                m.spec.dataset, job.min_cell_size, self.disclosure.min_cell_size
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Agreement {
        Agreement::parse(
            crate::demo::DEMO_AGREEMENT.as_bytes(),
            Path::new("agreement.toml"),
        )
        .unwrap()
    }

    /// The demo's recipient may read every canonical field, so every demo job runs; a field
    /// added to the canonical model must be added to the demo agreement too.
    #[test]
    fn the_demo_agreement_permits_every_canonical_field() {
        let agreement = demo();
        let (_, recipient) = agreement.recipient(None).unwrap();
        let mut missing = Vec::new();
        for entity in Entity::ALL {
            let permitted = recipient.elements.get(entity.name());
            for f in entity.fields() {
                if !permitted.is_some_and(|p| p.iter().any(|n| n == f.name)) {
                    missing.push(format!("{}.{}", entity.name(), f.name));
                }
            }
        }
        assert!(missing.is_empty(), "not permitted: {missing:?}");
    }

    #[test]
    fn the_term_is_checked_from_the_effective_date_to_expiry_inclusive() {
        let agreement = demo();
        let day = |y, m, d| Date::new(y, m, d).unwrap();
        assert!(agreement.check_term(day(2026, 1, 1)).is_ok());
        assert!(agreement.check_term(day(2099, 12, 31)).is_ok());
        let early = agreement.check_term(day(2025, 12, 31)).unwrap_err();
        assert_eq!(
            (early.clause.as_str(), early.exit_code()),
            ("effective", 10)
        );
        let late = agreement.check_term(day(2100, 1, 1)).unwrap_err();
        assert_eq!(late.exit_code(), EXIT_NOT_IN_FORCE);
    }

    #[test]
    fn dates_out_of_order_and_unknown_fields_are_errors_of_the_file() {
        let text = crate::demo::DEMO_AGREEMENT;
        for (from, to, says) in [
            ("expires = 2099-12-31", "expires = 2025-01-01", "in order"),
            (
                "\"wbl_type\"",
                "\"wbl_kind\"",
                "\"wbl_kind\" is not a canonical field",
            ),
            ("version = 1", "version = 1\nsigned = true", "signed"),
            (
                "[\"k12\", \"ui_wage\"]",
                "[\"k12\", \"wages\"]",
                "unknown source system",
            ),
        ] {
            assert!(text.contains(from));
            let err = Agreement::parse(text.replacen(from, to, 1).as_bytes(), Path::new("a.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("a.toml") && err.contains(says), "{err}");
        }
    }
}
