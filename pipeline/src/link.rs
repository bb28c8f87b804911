//! Stage 3: deterministic linkage on pseudonyms.
//!
//! The K-12 person table is the spine: a person is a state student id pseudonym. Every record
//! that carries both a state id and an SSN (K-12 records where the state collects SSNs,
//! postsecondary records that carry both) contributes a pair to the crosswalk; an SSN pseudonym
//! that pairs with more than one student is ambiguous and links no one. Postsecondary records
//! link by state id where they carry a known one, otherwise through the crosswalk; wage and
//! workforce records, keyed by SSN, link through the crosswalk only. Fuzzy linkage on names and
//! birth dates comes later.

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::RunError;
use crate::sql::{count, exec, materialize};

/// Link results for one entity's records.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRate {
    pub entity: String,
    pub records: u64,
    pub linked: u64,
    pub rate: f64,
}

/// Builds `ssn_link (ssn_pid, student_pid)` and `ps_enrollment_linked`, `ps_award_linked`,
/// `wage_linked`, `workforce_linked`, and reports the share of each entity's records linked.
pub async fn link(ctx: &SessionContext, work: &std::path::Path) -> Result<Vec<LinkRate>, RunError> {
    exec(
        ctx,
        "CREATE VIEW student AS SELECT DISTINCT state_student_id_pid AS student_pid FROM person",
    )
    .await?;
    exec(
        ctx,
        "CREATE VIEW id_pairs AS
           SELECT state_student_id_pid AS student_pid, ssn_pid FROM person
             WHERE ssn_pid IS NOT NULL
           UNION SELECT state_student_id_pid, ssn_pid FROM ps_enrollment
             WHERE ssn_pid IS NOT NULL AND state_student_id_pid IS NOT NULL
           UNION SELECT state_student_id_pid, ssn_pid FROM ps_award
             WHERE ssn_pid IS NOT NULL AND state_student_id_pid IS NOT NULL",
    )
    .await?;
    materialize(
        ctx,
        work,
        "ssn_link",
        "SELECT p.ssn_pid, min(p.student_pid) AS student_pid
           FROM id_pairs p JOIN student s ON s.student_pid = p.student_pid
          GROUP BY p.ssn_pid HAVING count(DISTINCT p.student_pid) = 1",
    )
    .await?;
    for entity in ["ps_enrollment", "ps_award"] {
        exec(
            ctx,
            &format!(
                "CREATE VIEW {entity}_linked AS
                 SELECT COALESCE(s.student_pid, l.student_pid) AS student_pid, r.*
                   FROM {entity} r
                   LEFT JOIN student s ON s.student_pid = r.state_student_id_pid
                   LEFT JOIN ssn_link l ON l.ssn_pid = r.ssn_pid"
            ),
        )
        .await?;
    }
    exec(
        ctx,
        "CREATE VIEW workforce_linked AS
         SELECT l.student_pid, r.* FROM workforce_participation r LEFT JOIN ssn_link l ON l.ssn_pid = r.ssn_pid",
    )
    .await?;

    let mut rates = Vec::new();
    let by_state_id = [
        ("k12_enrollment", "k12_enrollment"),
        ("cte_course_completion", "cte_course_completion"),
        ("industry_credential", "industry_credential"),
        ("work_based_learning", "work_based_learning"),
    ];
    for (entity, table) in by_state_id {
        let records = count(ctx, &format!("SELECT count(*) FROM {table}")).await?;
        let linked = count(
            ctx,
            &format!("SELECT count(*) FROM {table} r JOIN student s ON s.student_pid = r.state_student_id_pid"),
        )
        .await?;
        rates.push(rate(entity, records, linked));
    }
    for entity in ["ps_enrollment", "ps_award", "workforce"] {
        let records = count(ctx, &format!("SELECT count(*) FROM {entity}_linked")).await?;
        let linked = count(
            ctx,
            &format!("SELECT count(*) FROM {entity}_linked WHERE student_pid IS NOT NULL"),
        )
        .await?;
        let name = if entity == "workforce" {
            "workforce_participation"
        } else {
            entity
        };
        rates.push(rate(name, records, linked));
    }
    // Most wage records belong to workers who were never students here, so this rate is low
    // by nature; what matters is the per-group rate of students with an SSN link.
    // Counted over the resolved wages (crate::wages): a resend or a restated record is not a
    // second record to link.
    let records = count(ctx, "SELECT count(*) FROM wage_resolved").await?;
    let linked = count(
        ctx,
        "SELECT count(*) FROM wage_resolved w JOIN ssn_link l ON l.ssn_pid = w.ssn_pid",
    )
    .await?;
    rates.push(rate("wage_record", records, linked));
    Ok(rates)
}

fn rate(entity: &str, records: u64, linked: u64) -> LinkRate {
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
    }
}
