//! Stages 4 and 5: person-level outcomes for CTE concentrators by exit cohort, then rates by
//! every dimension with totals.
//!
//! Definitions (the README's "Outcome definitions" section says the same for readers):
//! - **Exit cohort** `Y`: left secondary school (graduated, other completion, equivalency,
//!   dropped out, aged out, expelled, unknown) between July 1 of `Y-1` and June 30 of `Y`,
//!   judged by the student's last enrollment (the one that ends last; still open ends last).
//!   A last enrollment that is open or ends in a transfer or death is no exit.
//! - **CTE concentrator**: at least two distinct completed courses (course identifiers) in one
//!   program (CIP code) by the end of the exit school year; the primary program is the one
//!   with most distinct courses (lowest CIP code on a tie).
//! - **Groups**: a student's person rows are combined (`person_rows`): special populations
//!   "ever", sex and race/ethnicity by majority of the rows that report them.
//! - **Postsecondary enrollment by the fall after exit**: a linked enrollment spell covering
//!   October 1 of the first fall on or after the exit date.
//! - **Employment in the second quarter after exit**: linked UI wages above zero, summed over
//!   employers, in quarter `E + 2` where `E` is the exit quarter. Wages are the resolved ones
//!   (`wage_resolved`, [`crate::wages`]): one value per person, employer and quarter, after
//!   resends, supplemental reports and amendments. Only exiters whose `E + 2` is
//!   an observable quarter of the wage file (it holds records and is no later than the last
//!   quarter with at least [`WAGE_COVERAGE_SHARE`] of the median quarter's records) are in the
//!   denominator.
//! - **Median quarterly earnings**: the median of those wages over the employed (mean of the
//!   two middle values for an even count), in dollars.

use datafusion::prelude::SessionContext;
use p20w_schemas::DIMENSIONS;

use crate::RunError;
use crate::sql::{exec, materialize};

/// A published dataset: one Parquet folder of the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasureFamily {
    PostsecondaryEnrollment,
    EmploymentEarnings,
}

impl MeasureFamily {
    pub const ALL: [MeasureFamily; 2] = [
        MeasureFamily::PostsecondaryEnrollment,
        MeasureFamily::EmploymentEarnings,
    ];

    pub fn name(self) -> &'static str {
        match self {
            MeasureFamily::PostsecondaryEnrollment => "postsecondary_enrollment",
            MeasureFamily::EmploymentEarnings => "employment_earnings",
        }
    }

    pub fn from_name(name: &str) -> Option<MeasureFamily> {
        MeasureFamily::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        MeasureFamily::ALL.iter().map(|f| f.name()).collect()
    }

    /// The `measure` value on this family's rows.
    pub fn measure(self) -> &'static str {
        match self {
            MeasureFamily::PostsecondaryEnrollment => {
                "cte_concentrator_ps_enrollment_fall_after_exit"
            }
            MeasureFamily::EmploymentEarnings => "cte_concentrator_employment_q2_after_exit",
        }
    }

    /// The linked entity whose records decide this family's numerator.
    pub fn linked_entity(self) -> &'static str {
        match self {
            MeasureFamily::PostsecondaryEnrollment => "ps_enrollment",
            MeasureFamily::EmploymentEarnings => "wage_record",
        }
    }

    pub fn has_earnings(self) -> bool {
        self == MeasureFamily::EmploymentEarnings
    }
}

/// Exit or withdrawal types (CEDS 000110) that end secondary education.
pub const SECONDARY_EXIT_TYPES: &[&str] = &[
    "01921", "01922", "03509", "01925", "01926", "01927", "01928", "01931",
];

/// The wage file's last full quarter is the latest holding at least this share of the records
/// of its median quarter (the mean of the two middle counts for an even number of quarters);
/// a quarter is observable when it holds records and is no later.
pub const WAGE_COVERAGE_SHARE: f64 = 0.5;

/// Builds the person-level table `outcomes` (one row per concentrator in the cohorts).
pub async fn person_outcomes(
    ctx: &SessionContext,
    work: &std::path::Path,
    cohorts: &[i32],
) -> Result<(), RunError> {
    let exit_types = SECONDARY_EXIT_TYPES
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(",");
    let cohort_list = cohorts
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    // The exit is judged by the enrollment that ends last: one still open ends after every
    // dated one; on the same exit date the later entry decides, then an exit that ends
    // secondary education wins over a transfer or death (the district reporting a completion
    // holds its record), then the exit type code, so the choice never depends on row order.
    exec(
        ctx,
        &format!(
            "CREATE VIEW exits AS
             SELECT student_pid, exit_date,
                    CAST(date_part('year', exit_date) AS INT)
                      + CASE WHEN date_part('month', exit_date) >= 7 THEN 1 ELSE 0 END AS cohort
               FROM (SELECT state_student_id_pid AS student_pid, exit_date, exit_type,
                            row_number() OVER (PARTITION BY state_student_id_pid
                                               ORDER BY exit_date IS NULL DESC, exit_date DESC,
                                                        entry_date DESC,
                                                        COALESCE(exit_type IN ({exit_types}), FALSE) DESC,
                                                        exit_type) AS rn
                       FROM k12_enrollment)
              WHERE rn = 1 AND exit_date IS NOT NULL AND exit_type IN ({exit_types})"
        ),
    )
    .await?;
    // Courses are distinct course identifiers: a retaken course counts once.
    exec(
        ctx,
        "CREATE VIEW primary_program AS
         SELECT student_pid, cip_code FROM (
           SELECT student_pid, cip_code,
                  row_number() OVER (PARTITION BY student_pid ORDER BY courses DESC, cip_code) AS rk
             FROM (SELECT c.state_student_id_pid AS student_pid, c.cip_code,
                          count(DISTINCT c.course_id) AS courses
                     FROM cte_course_completion c JOIN exits e ON e.student_pid = c.state_student_id_pid
                    WHERE c.school_year <= e.cohort
                    GROUP BY c.state_student_id_pid, c.cip_code)
            WHERE courses >= 2)
         WHERE rk = 1",
    )
    .await?;
    for view in crate::person_rows::person_dims_views() {
        exec(ctx, &view).await?;
    }
    let person_columns: Vec<String> = DIMENSIONS
        .iter()
        .filter(|d| d.name != "nontraditional")
        // A concentrator whose person rows were all quarantined still counts, with every
        // characteristic not reported: nothing is lost.
        .map(|d| format!("COALESCE(d.{0}, '{1}') AS {0}", d.name, d.not_reported))
        .collect();
    materialize(
        ctx,
        work,
        "cohort",
        &format!(
            "SELECT e.student_pid, e.cohort, e.exit_date,
                    p20w_quarter_index(e.exit_date) AS exit_q,
                    p20w_fall_census(e.exit_date) AS fall_census,
                    p.cip_code AS program, p20w_career_cluster(p.cip_code) AS career_cluster,
                    p20w_nontraditional(p.cip_code, d.sex) AS nontraditional, {}
               FROM exits e
               JOIN primary_program p ON p.student_pid = e.student_pid
               LEFT JOIN person_dims d ON d.student_pid = e.student_pid
              WHERE e.cohort IN ({cohort_list})",
            person_columns.join(", ")
        ),
    )
    .await?;
    exec(
        ctx,
        "CREATE VIEW ps_enrolled AS
         SELECT DISTINCT c.student_pid FROM cohort c
           JOIN ps_enrollment_linked e ON e.student_pid = c.student_pid
          WHERE e.begin_date <= c.fall_census AND e.end_date >= c.fall_census",
    )
    .await?;
    // Wages are read resolved (crate::wages): resends once, amendments restating.
    // The wage file is by far the largest input: join it against the small target table
    // (one row per concentrator and linked SSN) so the hash table holds only the targets.
    materialize(
        ctx,
        work,
        "q2_earnings",
        "SELECT t.student_pid, sum(w.wages) AS earnings_cents
           FROM wage_resolved w
           JOIN (SELECT c.student_pid, l.ssn_pid, c.exit_q + 2 AS q
                   FROM cohort c JOIN ssn_link l ON l.student_pid = c.student_pid) t
             ON w.ssn_pid = t.ssn_pid AND w.\"year\" * 4 + w.\"quarter\" - 1 = t.q
          GROUP BY t.student_pid",
    )
    .await?;
    // The wage file covers the quarters that hold records up to its last full quarter (one with
    // at least half the records of the median quarter): a thin, still-arriving last quarter
    // and a stray mis-dated row are after it. Thin early quarters are kept: a file matched to
    // the students' SSNs grows as they reach working age.
    materialize(
        ctx,
        work,
        "wage_quarters",
        "SELECT \"year\" * 4 + \"quarter\" - 1 AS q, count(*) AS records
           FROM wage_resolved GROUP BY \"year\" * 4 + \"quarter\" - 1",
    )
    .await?;
    exec(
        ctx,
        &format!(
            "CREATE VIEW wage_covered AS
             SELECT q FROM wage_quarters
              WHERE q <= (SELECT max(q) FROM wage_quarters
                           WHERE CAST(records AS DOUBLE) >= {WAGE_COVERAGE_SHARE}
                                 * (SELECT median(CAST(records AS DOUBLE)) FROM wage_quarters))"
        ),
    )
    .await?;
    materialize(
        ctx,
        work,
        "outcomes",
        "SELECT c.*,
                (en.student_pid IS NOT NULL) AS ps_enrolled,
                (wc.q IS NOT NULL) AS wage_observable,
                COALESCE(q.earnings_cents, 0) > 0 AS employed_q2,
                CASE WHEN q.earnings_cents > 0 THEN q.earnings_cents END AS earnings_q2_cents
           FROM cohort c
           LEFT JOIN ps_enrolled en ON en.student_pid = c.student_pid
           LEFT JOIN q2_earnings q ON q.student_pid = c.student_pid
           LEFT JOIN wage_covered wc ON wc.q = c.exit_q + 2",
    )
    .await?;
    Ok(())
}

/// The definitions above in the data dictionary's words.
pub fn definitions_markdown() -> String {
    DEFINITIONS_MARKDOWN.replace("{wage_rule}", crate::wages::RULE_MARKDOWN)
}

/// The definitions, with a placeholder for the wage rule ([`definitions_markdown`] fills it).
const DEFINITIONS_MARKDOWN: &str = "\nDefinitions:\n\n\
         - Exit: judged by the student's last K-12 enrollment, the one that ends last across all districts (an enrollment without an exit date is still open and ends last; on one exit date the later entry wins, then an exit that ends secondary education over a transfer or death). A last enrollment that is open or ends in a transfer or death is no exit, so a dropout who re-entered and transferred out is in no cohort.\n\
         - Concentrator: at least two distinct courses (course identifiers) completed in one program (CIP code) by the end of the exit school year; a retaken course counts once. The primary program has the most distinct courses, the lowest CIP code on a tie.\n\
         - A concentrator with no accepted person row (all quarantined) is counted, with every characteristic not reported.\n\
         - Several person rows of one student (one per district): special populations are ever during high school (a member code on any row, else the non-member code if any row reports it, else not reported); sex and race/ethnicity take the value reported on the most rows, rows reporting none cast no vote, and a tie is `NotSelected` / `RaceAndEthnicityUnknown`.\n\
         {wage_rule}\
         - Wage coverage: the wage file's last full quarter is the latest holding at least half as many resolved records as its median quarter; a quarter is observable when the file holds records for it and it is no later than that. Only exiters whose second quarter after exit is observable are in the employment denominator. Wage rows dated after the current calendar quarter are quarantined (rule `quarter_window`).\n";
