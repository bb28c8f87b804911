//! The run report: what each source gave, what linked, what was suppressed. It is part of the
//! release, so its figures that count people are cells of the same disclosure-control model as
//! the outcome tables ([`crate::tables::CellTable::linkage_by_group`]).

use std::collections::BTreeMap;

use datafusion::prelude::SessionContext;
use p20w_schemas::{ALL, DIMENSIONS};
use serde::Serialize;

use crate::RunError;
use crate::ingest::SourceReport;
use crate::link::{FuzzyLinkage, LinkRate};
use crate::protect::ProtectedTable;
use crate::sql::{collect, exec, string_column, u64_column};

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub release_id: String,
    pub agreement_id: String,
    pub sources: Vec<SourceReport>,
    /// Per source with an SSN column: how many records had each validation outcome.
    pub ssn_status: BTreeMap<String, BTreeMap<String, u64>>,
    pub link_rates: Vec<LinkRate>,
    /// The fuzzy step of linkage (threshold, estimated error rates); absent when turned off.
    pub fuzzy_linkage: Option<FuzzyLinkage>,
    /// What the wage resolution rule did (`crate::wages`): records in, values out.
    pub wage_resolution: crate::wages::WageResolution,
    /// Share of concentrators whose records could reach wage and postsecondary data, pooled
    /// over the run's cohorts: in total (`dimension` = `all`) and by every dimension (sex,
    /// race/ethnicity, each special population), with each group's gap to the total.
    pub linkage_by_group: Vec<GroupLinkage>,
    pub concentrators_by_cohort: BTreeMap<i32, Option<u64>>,
    pub suppressed_cells: BTreeMap<String, crate::protect::SuppressionCounts>,
    pub published_cells: BTreeMap<String, u64>,
}

/// Linkage for one demographic group; counts are null where the small-cell rule hides them,
/// and a gap (the group's rate minus the total's, in rate units) where either rate is hidden.
#[derive(Debug, Clone, Serialize)]
pub struct GroupLinkage {
    pub dimension: String,
    pub group: String,
    pub persons: Option<u64>,
    pub with_ssn_link: Option<u64>,
    pub ssn_link_rate: Option<f64>,
    pub ssn_link_rate_gap: Option<f64>,
    pub with_postsecondary_record: Option<u64>,
    pub postsecondary_link_rate: Option<f64>,
    pub postsecondary_link_rate_gap: Option<f64>,
    /// Of the persons, those with a link that only the fuzzy match found.
    pub with_fuzzy_link: Option<u64>,
    pub fuzzy_link_rate: Option<f64>,
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

/// The person-level rows the report's figures count: every concentrator of the run's cohorts,
/// with whether their records reach wage and postsecondary data, and whether a link only the
/// fuzzy match found is among them.
pub async fn linkage_persons(ctx: &SessionContext) -> Result<(), RunError> {
    let dims: Vec<String> = DIMENSIONS.iter().map(|d| format!("c.{}", d.name)).collect();
    exec(
        ctx,
        &format!(
            "CREATE VIEW linkage_persons AS
             SELECT c.student_pid, c.cohort, {},
                    s.student_pid IS NOT NULL AS ssn_linked,
                    p.student_pid IS NOT NULL AS ps_record,
                    COALESCE(s.via_fuzzy, false) OR f.student_pid IS NOT NULL AS fuzzy_linked
               FROM cohort c
               LEFT JOIN (SELECT student_pid, bool_and(via_fuzzy) AS via_fuzzy FROM ssn_link
                           GROUP BY student_pid) s ON s.student_pid = c.student_pid
               LEFT JOIN (SELECT DISTINCT student_pid FROM ps_enrollment_linked
                           WHERE student_pid IS NOT NULL) p ON p.student_pid = c.student_pid
               LEFT JOIN (SELECT student_pid FROM ps_enrollment_linked WHERE link_method = 'fuzzy'
                           UNION SELECT student_pid FROM ps_award_linked WHERE link_method = 'fuzzy')
                         f ON f.student_pid = c.student_pid",
            dims.join(", ")
        ),
    )
    .await
}

/// The report's linkage figures by group, as protected together with the outcome tables.
pub fn linkage_by_group(table: &ProtectedTable) -> Vec<GroupLinkage> {
    let rate_of = |i: usize, k: usize| {
        let persons = table.rows[i].counts[0];
        table.shown(i, k).map(|k| k as f64 / persons as f64)
    };
    let total = table
        .rows
        .iter()
        .position(|r| r.dims.iter().all(|v| v == ALL));
    let gap = |i: usize, k: usize| Some(rate_of(i, k)? - rate_of(total?, k)?);
    let mut out = Vec::new();
    for (i, r) in table.rows.iter().enumerate() {
        let (dimension, group) = table
            .table
            .dimensions
            .iter()
            .zip(&r.dims)
            .find(|(_, v)| *v != ALL)
            .map_or(("all".to_string(), ALL.to_string()), |(d, v)| {
                (d.to_string(), v.clone())
            });
        out.push(GroupLinkage {
            dimension,
            group,
            persons: table.shown(i, 0),
            with_ssn_link: table.shown(i, 1),
            ssn_link_rate: rate_of(i, 1),
            ssn_link_rate_gap: gap(i, 1),
            with_postsecondary_record: table.shown(i, 2),
            postsecondary_link_rate: rate_of(i, 2),
            postsecondary_link_rate_gap: gap(i, 2),
            with_fuzzy_link: table.shown(i, 3),
            fuzzy_link_rate: rate_of(i, 3),
        });
    }
    out
}

/// Concentrators in each cohort; null where disclosure control hides the count.
pub fn concentrators_by_cohort(table: &ProtectedTable) -> BTreeMap<i32, Option<u64>> {
    (0..table.rows.len())
        .map(|i| (table.rows[i].cohort.unwrap_or_default(), table.shown(i, 0)))
        .collect()
}
