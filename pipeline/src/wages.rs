//! The wage resolution rule, in one place: every later stage reads wages from
//! `wage_resolved`, never from `wage_record`.
//!
//! A state's wage records hold, for one person, employer and quarter, whatever reports came
//! in: the original report, supplemental (late) reports adding records, amendments restating
//! them, and reports sent twice. One value per (person, employer, quarter) is kept, where the
//! person is the SSN pseudonym and the employer the FEIN with the UI account number:
//! 1. identical records (same person, employer, quarter, wages and report type; a blank
//!    report type is an original) count once: a resend adds nothing. Copies of an amendment
//!    keep the latest quarter any copy was received in;
//! 2. if any amendment exists, the latest received amendment restates the value: amendments
//!    with no received quarter are the oldest, and among amendments received in the same
//!    latest quarter the largest amount holds (an order-free tie break: the input order of
//!    records is not meaningful);
//! 3. otherwise the value is the sum of the distinct original and supplemental records.
//!
//! Records without a usable SSN (no pseudonym) belong to no one who can be told apart, so
//! they are not resolved: each stays one record (they only count toward wage coverage).

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::RunError;
use crate::sql::{collect, count, exec, materialize, u64_column};

/// What the rule did, for the run report; `records = resolved + resends_dropped +
/// superseded_by_amendment + summed_into_others`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WageResolution {
    /// Accepted wage records of every wage source.
    pub records: u64,
    /// Rows of `wage_resolved`: one per person, employer and quarter, plus each record
    /// without a usable SSN.
    pub resolved: u64,
    /// Copies of an identical record that were not counted again.
    pub resends_dropped: u64,
    /// Distinct records replaced by the latest amendment of their person, employer, quarter.
    pub superseded_by_amendment: u64,
    /// Distinct original and supplemental records added into another's sum.
    pub summed_into_others: u64,
    /// Records without a usable SSN, passed through unresolved.
    pub without_ssn: u64,
}

/// The rule in the data dictionary's words.
pub const RULE_MARKDOWN: &str = "- Wage records: one value per person (SSN pseudonym), employer (FEIN and UI account) and quarter. Identical records (same person, employer, quarter, wages and report type; a blank report type is an original) count once, so a resent report adds nothing. If any amendment exists, the latest received amendment restates the value (an amendment without a received quarter is the oldest; among amendments received in the same quarter the largest amount holds); otherwise the value is the sum of the distinct original and supplemental records. Records without a usable SSN are not resolved and count once each. The run report's `wage_resolution` counts what the rule did.\n";

/// Builds `wage_resolved (ssn_pid, employer_fein, employer_ui_account, year, quarter, wages)`
/// from `wage_record` and counts what the rule did.
/// The latest amendment is found by one `max` over a packed value, the received quarter
/// above the wages (offset so a negative amount packs too), so resolution is two hash
/// aggregates, which spill within the memory pool, instead of a window over every wage record
/// (with windows partitioned by person, employer and quarter, resolving 114 million records ran
/// past 15 minutes and 13 GiB; this form took 4 minutes under 3.2 GiB). Wages must lie within
/// ±`OFFSET` cents (±$5.4 billion).
const SPAN: i64 = 1 << 40;
const OFFSET: i64 = 1 << 39;

pub async fn resolve_wages(
    ctx: &SessionContext,
    work: &std::path::Path,
) -> Result<WageResolution, RunError> {
    let key = "ssn_pid, employer_fein, employer_ui_account, \"year\", \"quarter\"";
    exec(
        ctx,
        &format!(
            "CREATE VIEW wage_distinct AS
             SELECT {key}, wages, COALESCE(report_type, 'Original') AS report_type,
                    max(received_year * 4 + received_quarter - 1) AS received_q,
                    count(*) AS copies
               FROM wage_record WHERE ssn_pid IS NOT NULL
              GROUP BY {key}, wages, COALESCE(report_type, 'Original')"
        ),
    )
    .await?;
    materialize(
        ctx,
        work,
        "wage_resolved",
        &format!(
            "SELECT {key},
                    CASE WHEN sum(amendment) > 0
                         THEN max(CASE WHEN amendment = 1
                                       THEN (COALESCE(received_q, -1) + 1) * {SPAN} + wages + {OFFSET}
                                  END) % {SPAN} - {OFFSET}
                         ELSE sum(wages) END AS wages,
                    CAST(sum(copies) AS BIGINT) AS records,
                    CAST(count(*) AS BIGINT) AS distinct_records,
                    sum(amendment) > 0 AS amended
               FROM (SELECT *, CASE WHEN report_type = 'Amendment' THEN 1 ELSE 0 END AS amendment
                       FROM wage_distinct)
              GROUP BY {key}
             UNION ALL
             SELECT {key}, wages, CAST(1 AS BIGINT), CAST(1 AS BIGINT), FALSE
               FROM wage_record WHERE ssn_pid IS NULL"
        ),
    )
    .await?;
    let batches = collect(
        ctx,
        "SELECT count(*),
                sum(records - distinct_records),
                sum(CASE WHEN amended THEN distinct_records - 1 ELSE 0 END),
                sum(CASE WHEN amended THEN 0 ELSE distinct_records - 1 END),
                sum(CASE WHEN ssn_pid IS NULL THEN 1 ELSE 0 END)
           FROM wage_resolved",
    )
    .await?;
    let b = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .ok_or_else(|| RunError::internal("wage resolution counts"))?;
    let v = |i: usize| u64_column(b, i).map(|c| c[0]);
    let counts = WageResolution {
        records: count(ctx, "SELECT count(*) FROM wage_record").await?,
        resolved: v(0)?,
        resends_dropped: v(1)?,
        superseded_by_amendment: v(2)?,
        summed_into_others: v(3)?,
        without_ssn: v(4)?,
    };
    let accounted = counts.resolved
        + counts.resends_dropped
        + counts.superseded_by_amendment
        + counts.summed_into_others;
    if accounted != counts.records {
        return Err(RunError::Internal(format!(
            "wage resolution does not reconcile: {} records, {accounted} accounted for",
            counts.records
        )));
    }
    tracing::info!(
        records = counts.records,
        resolved = counts.resolved,
        resends_dropped = counts.resends_dropped,
        superseded_by_amendment = counts.superseded_by_amendment,
        "wage records resolved"
    );
    Ok(counts)
}
