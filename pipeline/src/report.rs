//! The run report: what each source gave, what linked, what was suppressed. It is part of the
//! release, so its group-level figures obey the same small-cell rule as the outcome tables.

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;
use p20w_privacy::{CellStatus, SuppressionRule, complete_pattern};
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
    /// Share of concentrators whose records could reach wage and postsecondary data, pooled
    /// over the cohorts whose total is published.
    pub linkage_by_group: Vec<GroupLinkage>,
    pub concentrators_by_cohort: BTreeMap<i32, Option<u64>>,
    pub suppressed_cells: BTreeMap<String, crate::protect::SuppressionCounts>,
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

/// Linkage of the cohorts' concentrators by sex and by race/ethnicity, pooled over the
/// cohorts whose total is published (a pooled figure that included a withheld cohort total
/// would give it back by subtraction).
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
              WHERE c.cohort IN (SELECT cohort FROM cohort GROUP BY cohort HAVING count(*) >= {min})
              GROUP BY c.{dim} ORDER BY c.{dim}",
            min = rule.min_cell_size
        );
        let (mut groups, mut persons, mut ssn, mut ps) = (vec![], vec![], vec![], vec![]);
        for b in collect(ctx, &sql).await? {
            groups.extend(string_column(&b, 0)?);
            persons.extend(u64_column(&b, 1)?);
            ssn.extend(u64_column(&b, 2)?);
            ps.extend(u64_column(&b, 3)?);
        }
        // The groups add up to the concentrators of all cohorts, which the report publishes:
        // complete each count's pattern against that known total (the last, never-hidden cell).
        let n = groups.len();
        let relation = vec![(0..=n).collect::<Vec<_>>()];
        let mut weight = persons.clone();
        weight.push(u64::MAX);
        let complete = |mut hidden: Vec<bool>| {
            hidden.push(false);
            complete_pattern(&mut hidden, &weight, &relation);
            hidden.truncate(n);
            hidden
        };
        let persons_hidden = complete(
            persons
                .iter()
                .map(|p| rule.statistic_cell(*p) == CellStatus::Suppressed)
                .collect(),
        );
        let count_hidden = |counts: &[u64]| {
            complete(
                (0..n)
                    .map(|i| {
                        persons_hidden[i]
                            || rule.rate_cell(persons[i], counts[i]) == CellStatus::Suppressed
                    })
                    .collect(),
            )
        };
        let (ssn_hidden, ps_hidden) = (count_hidden(&ssn), count_hidden(&ps));
        for i in 0..n {
            let shown = |k: u64, hidden: bool| (!hidden).then_some(k);
            let (ssn_shown, ps_shown) = (shown(ssn[i], ssn_hidden[i]), shown(ps[i], ps_hidden[i]));
            out.push(GroupLinkage {
                dimension: dim.to_string(),
                group: groups[i].clone(),
                persons: shown(persons[i], persons_hidden[i]),
                with_ssn_link: ssn_shown,
                ssn_link_rate: ssn_shown.map(|k| k as f64 / persons[i] as f64),
                with_postsecondary_record: ps_shown,
                postsecondary_link_rate: ps_shown.map(|k| k as f64 / persons[i] as f64),
            });
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
