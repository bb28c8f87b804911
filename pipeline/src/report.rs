//! The run report: what each source gave, what linked, what was suppressed. It is part of the
//! release, so its group-level figures obey the same small-cell rule as the outcome tables.

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;
use p20w_privacy::{CellStatus, SuppressionRule};
use serde::Serialize;

use crate::RunError;
use crate::ingest::SourceReport;
use crate::link::LinkRate;
use crate::sql::{collect, string_column, u64_column};

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub release_id: String,
    pub agreement_id: String,
    pub sources: Vec<SourceReport>,
    /// Per source with an SSN column: how many records had each validation outcome.
    pub ssn_status: BTreeMap<String, BTreeMap<String, u64>>,
    pub link_rates: Vec<LinkRate>,
    /// Share of cohort concentrators whose records could reach wage and postsecondary data.
    pub linkage_by_group: Vec<GroupLinkage>,
    pub concentrators_by_cohort: BTreeMap<i32, Option<u64>>,
    pub suppressed_cells: BTreeMap<String, u64>,
    pub published_cells: BTreeMap<String, u64>,
}

/// Linkage for one demographic group; counts are null where the small-cell rule hides them.
#[derive(Debug, Clone, Serialize)]
pub struct GroupLinkage {
    pub dimension: String,
    pub group: String,
    pub persons: Option<u64>,
    pub with_ssn_link: Option<u64>,
    pub ssn_link_rate: Option<f64>,
    pub with_postsecondary_record: Option<u64>,
    pub postsecondary_link_rate: Option<f64>,
}

impl RunReport {
    /// Every source must reconcile: read = accepted + quarantined.
    pub fn check_reconciliation(&self) -> Result<(), RunError> {
        for s in &self.sources {
            if s.read != s.accepted + s.quarantined {
                return Err(RunError::Internal(format!(
                    "source {} does not reconcile: read {} != accepted {} + quarantined {}",
                    s.name, s.read, s.accepted, s.quarantined
                )));
            }
        }
        Ok(())
    }
}

/// Counts of `ssn_status` values in one registered table.
pub async fn ssn_status_counts(
    ctx: &SessionContext,
    table: &str,
) -> Result<BTreeMap<String, u64>, RunError> {
    let mut out = BTreeMap::new();
    for b in collect(
        ctx,
        &format!("SELECT ssn_status, count(*) FROM \"{table}\" GROUP BY ssn_status"),
    )
    .await?
    {
        out.extend(string_column(&b, 0)?.into_iter().zip(u64_column(&b, 1)?));
    }
    Ok(out)
}

/// Linkage of the cohort's concentrators by sex and by race/ethnicity.
pub async fn linkage_by_group(
    ctx: &SessionContext,
    rule: SuppressionRule,
) -> Result<Vec<GroupLinkage>, RunError> {
    let mut out = Vec::new();
    for dim in ["sex", "race_ethnicity"] {
        let sql = format!(
            "SELECT c.{dim}, count(*),
                    sum(CASE WHEN s.student_pid IS NULL THEN 0 ELSE 1 END),
                    sum(CASE WHEN p.student_pid IS NULL THEN 0 ELSE 1 END)
               FROM cohort c
               LEFT JOIN (SELECT DISTINCT student_pid FROM ssn_link) s ON s.student_pid = c.student_pid
               LEFT JOIN (SELECT DISTINCT student_pid FROM ps_enrollment_linked
                           WHERE student_pid IS NOT NULL) p ON p.student_pid = c.student_pid
              GROUP BY c.{dim} ORDER BY c.{dim}"
        );
        for b in collect(ctx, &sql).await? {
            let groups = string_column(&b, 0)?;
            let (persons_col, ssn_col, ps_col) =
                (u64_column(&b, 1)?, u64_column(&b, 2)?, u64_column(&b, 3)?);
            for i in 0..b.num_rows() {
                let (persons, ssn, ps) = (persons_col[i], ssn_col[i], ps_col[i]);
                let shown =
                    |k: u64| (rule.rate_cell(persons, k) == CellStatus::Published).then_some(k);
                let (ssn_shown, ps_shown) = (shown(ssn), shown(ps));
                out.push(GroupLinkage {
                    dimension: dim.to_string(),
                    group: groups[i].clone(),
                    persons: (rule.statistic_cell(persons) == CellStatus::Published)
                        .then_some(persons),
                    with_ssn_link: ssn_shown,
                    ssn_link_rate: ssn_shown.map(|k| k as f64 / persons as f64),
                    with_postsecondary_record: ps_shown,
                    postsecondary_link_rate: ps_shown.map(|k| k as f64 / persons as f64),
                });
            }
        }
    }
    Ok(out)
}

/// Concentrators in each cohort; a cohort below the minimum cell size shows null.
pub async fn concentrators_by_cohort(
    ctx: &SessionContext,
    rule: SuppressionRule,
) -> Result<BTreeMap<i32, Option<u64>>, RunError> {
    let mut out = BTreeMap::new();
    for b in collect(ctx, "SELECT cohort, count(*) FROM cohort GROUP BY cohort").await? {
        for (cohort, n) in u64_column(&b, 0)?.into_iter().zip(u64_column(&b, 1)?) {
            let shown = (rule.statistic_cell(n) == CellStatus::Published).then_some(n);
            out.insert(cohort as i32, shown);
        }
    }
    Ok(out)
}
