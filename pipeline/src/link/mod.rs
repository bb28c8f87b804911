//! Stage 3: linkage, deterministic first, fuzzy second.
//!
//! The K-12 person table is the spine: a person is a state student id pseudonym. Every record
//! that carries both a state id and an SSN (K-12 records where the state collects SSNs,
//! postsecondary records that carry both) contributes a pair to the crosswalk; an SSN pseudonym
//! that pairs with more than one student is ambiguous and links no one. Postsecondary records
//! link by state id where they carry a known one, otherwise through the crosswalk, otherwise
//! through another record of the same institution student that linked so (one record's
//! mistyped SSN does not orphan it), otherwise by a fuzzy match of their name and birth-date
//! encodings ([`fuzzy`]); a fuzzily linked postsecondary person's SSN joins the crosswalk. Wage and workforce records, keyed by SSN,
//! link through the crosswalk only: they carry no birth date to tell namesakes apart.

pub mod fuzzy;

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::RunError;
use crate::config::LinkageSettings;
use crate::sql::{count, exec, materialize};
pub use fuzzy::FuzzyLinkage;
use fuzzy::{FUZZY_LINK, PS_IDENTITY};
use p20w_schemas::LINKAGE_ENCODING;

/// Link results for one entity's records.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRate {
    pub entity: String,
    pub records: u64,
    pub linked: u64,
    pub rate: f64,
    /// Of the linked, how many through a fuzzy match (directly, or through an SSN it taught).
    pub linked_fuzzy: u64,
}

/// What linkage did, for the run report.
#[derive(Debug, Clone, Serialize)]
pub struct LinkageReport {
    pub rates: Vec<LinkRate>,
    /// The fuzzy step; absent when the job turned it off.
    pub fuzzy: Option<FuzzyLinkage>,
}

/// The deterministic crosswalk pairs, `(student_pid, ssn_pid)`.
const ID_PAIRS: &str = "SELECT state_student_id_pid AS student_pid, ssn_pid FROM person
     WHERE ssn_pid IS NOT NULL
   UNION SELECT state_student_id_pid, ssn_pid FROM ps_enrollment
     WHERE ssn_pid IS NOT NULL AND state_student_id_pid IS NOT NULL
   UNION SELECT state_student_id_pid, ssn_pid FROM ps_award
     WHERE ssn_pid IS NOT NULL AND state_student_id_pid IS NOT NULL";

/// Builds `ssn_link (ssn_pid, student_pid, via_fuzzy)` and `ps_enrollment_linked`,
/// `ps_award_linked` (with `link_method`), `wage_linked`, `workforce_linked`, and reports the
/// share of each entity's records linked.
pub async fn link(
    ctx: &SessionContext,
    work: &std::path::Path,
    settings: &LinkageSettings,
) -> Result<LinkageReport, RunError> {
    exec(
        ctx,
        "CREATE VIEW student AS SELECT DISTINCT state_student_id_pid AS student_pid FROM person",
    )
    .await?;
    exec(
        ctx,
        &format!("CREATE VIEW id_pairs_deterministic AS {ID_PAIRS}"),
    )
    .await?;
    materialize(
        ctx,
        work,
        "ssn_link_deterministic",
        &unique_student("SELECT * FROM id_pairs_deterministic", "ssn_pid", ""),
    )
    .await?;
    // Each postsecondary record's person and its own deterministic link; a person's records
    // share a link when those that have one agree (a record with a mistyped SSN follows its
    // institution student id).
    let columns = format!(
        "institution_id, institution_student_id_pid, state_student_id_pid, ssn_pid, {LINKAGE_ENCODING}"
    );
    materialize(
        ctx,
        work,
        "ps_record_link",
        &format!(
            "SELECT {PS_IDENTITY} AS ps_identity, COALESCE(s.student_pid, l.student_pid) AS student_pid,
                    r.ssn_pid, r.{LINKAGE_ENCODING} AS encoding
               FROM (SELECT {columns} FROM ps_enrollment UNION ALL SELECT {columns} FROM ps_award) r
               LEFT JOIN student s ON s.student_pid = r.state_student_id_pid
               LEFT JOIN ssn_link_deterministic l ON l.ssn_pid = r.ssn_pid"
        ),
    )
    .await?;
    exec(
        ctx,
        &format!(
            "CREATE VIEW ps_identity_link AS {}",
            unique_student(
                "SELECT ps_identity, student_pid FROM ps_record_link",
                "ps_identity",
                ""
            )
        ),
    )
    .await?;
    let fuzzy = fuzzy::link_postsecondary(ctx, settings).await?;
    // The crosswalk again, with the SSNs fuzzily linked postsecondary persons carry; the same
    // ambiguity rule over all pairs.
    materialize(
        ctx,
        work,
        "ssn_link",
        &unique_student(
            &format!(
                "SELECT student_pid, ssn_pid, false AS via_fuzzy FROM ({ID_PAIRS})
                 UNION ALL
                 SELECT DISTINCT i.student_pid, r.ssn_pid, false
                   FROM ps_identity_link i JOIN ps_record_link r ON r.ps_identity = i.ps_identity
                 UNION ALL
                 SELECT DISTINCT f.student_pid, u.ssn_pid, true
                   FROM {FUZZY_LINK} f JOIN ps_unlinked u ON u.ps_identity = f.ps_identity"
            ),
            "ssn_pid",
            ", bool_and(p.via_fuzzy) AS via_fuzzy",
        ),
    )
    .await?;
    for entity in ["ps_enrollment", "ps_award"] {
        exec(
            ctx,
            &format!(
                "CREATE VIEW {entity}_linked AS
                 SELECT COALESCE(s.student_pid, l.student_pid, i.student_pid, f.student_pid)
                          AS student_pid,
                        CASE WHEN s.student_pid IS NOT NULL THEN 'state_id'
                             WHEN l.student_pid IS NOT NULL THEN 'ssn'
                             WHEN i.student_pid IS NOT NULL THEN 'institution_student_id'
                             WHEN f.student_pid IS NOT NULL THEN 'fuzzy' END AS link_method,
                        r.*
                   FROM {entity} r
                   LEFT JOIN student s ON s.student_pid = r.state_student_id_pid
                   LEFT JOIN ssn_link_deterministic l ON l.ssn_pid = r.ssn_pid
                   LEFT JOIN ps_identity_link i ON i.ps_identity = {PS_IDENTITY}
                   LEFT JOIN {FUZZY_LINK} f ON f.ps_identity = {PS_IDENTITY}"
            ),
        )
        .await?;
    }
    exec(
        ctx,
        "CREATE VIEW workforce_linked AS
         SELECT l.student_pid, l.via_fuzzy, r.* FROM workforce_participation r
           LEFT JOIN ssn_link l ON l.ssn_pid = r.ssn_pid",
    )
    .await?;

    let mut rates = Vec::new();
    let by_state_id = [
        "k12_enrollment",
        "cte_course_completion",
        "industry_credential",
        "work_based_learning",
    ];
    for table in by_state_id {
        let records = count(ctx, &format!("SELECT count(*) FROM {table}")).await?;
        let linked = count(
            ctx,
            &format!("SELECT count(*) FROM {table} r JOIN student s ON s.student_pid = r.state_student_id_pid"),
        )
        .await?;
        rates.push(rate(table, records, linked, 0));
    }
    let linked_by = |table: &str, fuzzy: &str| {
        format!(
            "SELECT count(*), sum(CASE WHEN {fuzzy} THEN 1 ELSE 0 END) FROM {table}
              WHERE student_pid IS NOT NULL"
        )
    };
    // Most wage records belong to workers who were never students here, so that rate is low
    // by nature; what matters is the per-group rate of students with an SSN link. Wages are
    // counted resolved (crate::wages): a resend or a restated record is not a second record.
    // (entity, its records, its linked records with `student_pid`, the fuzzy predicate)
    let entities = [
        (
            "ps_enrollment",
            "ps_enrollment_linked",
            "ps_enrollment_linked",
            "link_method = 'fuzzy'",
        ),
        (
            "ps_award",
            "ps_award_linked",
            "ps_award_linked",
            "link_method = 'fuzzy'",
        ),
        (
            "workforce_participation",
            "workforce_linked",
            "workforce_linked",
            "via_fuzzy",
        ),
        (
            "wage_record",
            "wage_resolved",
            "(SELECT l.student_pid, l.via_fuzzy FROM wage_resolved w
                JOIN ssn_link l ON l.ssn_pid = w.ssn_pid) wage_linked",
            "via_fuzzy",
        ),
    ];
    for (entity, table, linked_view, fuzzy) in entities {
        let records = count(ctx, &format!("SELECT count(*) FROM {table}")).await?;
        let counts = crate::sql::collect(ctx, &linked_by(linked_view, fuzzy)).await?;
        let (linked, via) = match counts.first() {
            Some(b) if b.num_rows() > 0 => (
                crate::sql::u64_column(b, 0)?[0],
                crate::sql::u64_column(b, 1)?[0],
            ),
            _ => (0, 0),
        };
        rates.push(rate(entity, records, linked, via));
    }
    Ok(LinkageReport { rates, fuzzy })
}

/// How records of `entity` reach a K-12 student, in the data dictionary's words.
pub fn methods_markdown(entity: &str) -> &'static str {
    match entity {
        "ps_enrollment" | "ps_award" => {
            "by the state student id where the record carries one the K-12 data knows; else by \
             SSN pseudonym through the crosswalk (SSNs on K-12 records, and on postsecondary \
             records that carry both identifiers); else through another record of the same \
             institution student that one of those linked; else by the fuzzy match: keyed Bloom-filter \
             encodings of name and birth date, one postsecondary person to one student, \
             above a threshold fitted to the run's scores"
        }
        "wage_record" | "workforce_participation" => {
            "by SSN pseudonym through the crosswalk, whose SSNs come from K-12 records, from \
             postsecondary records that carry the state id, and from postsecondary persons the \
             fuzzy match linked (the record carries no birth date to match on)"
        }
        _ => "by the state student id",
    }
}

/// The dictionary's account of how one measure's records were linked in this run.
pub fn linkage_markdown(report: &LinkageReport, entity: &str) -> String {
    let mut s = format!("Records linked {}.", methods_markdown(entity));
    if let Some(r) = report.rates.iter().find(|r| r.entity == entity) {
        s.push_str(&format!(
            " In this release: {} of {} `{entity}` records linked, {} of them through the fuzzy \
             match.",
            r.linked, r.records, r.linked_fuzzy
        ));
    }
    match &report.fuzzy {
        Some(f) => s.push_str(&format!(
            " Fuzzy threshold {:.4} ({}), estimated false-match rate {:.4}, missed-match rate \
             {:.4}.",
            f.threshold.threshold,
            f.threshold.method,
            f.threshold.est_false_match_rate,
            f.threshold.est_missed_match_rate
        )),
        None => s.push_str(" The job turned fuzzy linkage off."),
    }
    s
}

/// The rule every link here keeps: a key (an SSN pseudonym, a postsecondary person) that
/// pairs with more than one student links no one. `pairs` yields `key`, `student_pid` and what
/// the `extra` aggregates read.
fn unique_student(pairs: &str, key: &str, extra: &str) -> String {
    format!(
        "SELECT p.{key}, min(p.student_pid) AS student_pid{extra}
           FROM ({pairs}) p JOIN student s ON s.student_pid = p.student_pid
          WHERE p.{key} IS NOT NULL
          GROUP BY p.{key} HAVING count(DISTINCT p.student_pid) = 1"
    )
}

fn rate(entity: &str, records: u64, linked: u64, linked_fuzzy: u64) -> LinkRate {
    let rate = if records == 0 {
        0.0
    } else {
        linked as f64 / records as f64
    };
    LinkRate {
        entity: entity.to_string(),
        records,
        linked,
        rate,
        linked_fuzzy,
    }
}
