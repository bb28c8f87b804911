//! Stages 4 and 5: person-level outcomes for CTE concentrators by exit cohort, then rates by
//! every dimension with totals.
//!
//! Definitions (the README's "Outcome definitions" section says the same for readers):
//! - **Exit cohort** `Y`: left secondary school (graduated, other completion, equivalency,
//!   dropped out, aged out, expelled, unknown) between July 1 of `Y-1` and June 30 of `Y`.
//!   Transfers and deaths are not exits. A student with several exits is counted at the last.
//! - **CTE concentrator**: at least two completed courses in one program (CIP code) by the end
//!   of the exit school year; the primary program is the one with most courses (lowest CIP
//!   code on a tie).
//! - **Postsecondary enrollment by the fall after exit**: a linked enrollment spell covering
//!   October 1 of the first fall on or after the exit date.
//! - **Employment in the second quarter after exit**: linked UI wages above zero, summed over
//!   employers, in quarter `E + 2` where `E` is the exit quarter. Only exiters whose `E + 2` is
//!   covered by the wage file are in the denominator.
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

    pub fn has_earnings(self) -> bool {
        self == MeasureFamily::EmploymentEarnings
    }
}

/// Exit or withdrawal types (CEDS 000110) that end secondary education.
pub const SECONDARY_EXIT_TYPES: &[&str] = &[
    "01921", "01922", "03509", "01925", "01926", "01927", "01928", "01931",
];

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
    exec(
        ctx,
        &format!(
            "CREATE VIEW exits AS
             SELECT student_pid, exit_date,
                    CAST(date_part('year', exit_date) AS INT)
                      + CASE WHEN date_part('month', exit_date) >= 7 THEN 1 ELSE 0 END AS cohort
               FROM (SELECT state_student_id_pid AS student_pid, exit_date,
                            row_number() OVER (PARTITION BY state_student_id_pid
                                               ORDER BY exit_date DESC, exit_type) AS rn
                       FROM k12_enrollment
                      WHERE exit_date IS NOT NULL AND exit_type IN ({exit_types}))
              WHERE rn = 1"
        ),
    )
    .await?;
    exec(
        ctx,
        "CREATE VIEW primary_program AS
         SELECT student_pid, cip_code FROM (
           SELECT student_pid, cip_code,
                  row_number() OVER (PARTITION BY student_pid ORDER BY courses DESC, cip_code) AS rk
             FROM (SELECT c.state_student_id_pid AS student_pid, c.cip_code, count(*) AS courses
                     FROM cte_course_completion c JOIN exits e ON e.student_pid = c.state_student_id_pid
                    WHERE c.school_year <= e.cohort
                    GROUP BY c.state_student_id_pid, c.cip_code)
            WHERE courses >= 2)
         WHERE rk = 1",
    )
    .await?;
    let special: Vec<String> = DIMENSIONS
        .iter()
        .filter(|d| !matches!(d.name, "sex" | "race_ethnicity" | "nontraditional"))
        .map(|d| format!("COALESCE({0}, '{1}') AS {0}", d.name, d.not_reported))
        .collect();
    exec(
        ctx,
        &format!(
            "CREATE VIEW person_dims AS
             SELECT state_student_id_pid AS student_pid, sex,
                    p20w_race_ethnicity(hispanic_or_latino, race_american_indian_or_alaska_native,
                      race_asian, race_black_or_african_american,
                      race_native_hawaiian_or_other_pacific_islander, race_white) AS race_ethnicity,
                    {}
               FROM (SELECT *, row_number() OVER (PARTITION BY state_student_id_pid ORDER BY sex) AS rn
                       FROM person)
              WHERE rn = 1",
            special.join(", ")
        ),
    )
    .await?;
    let person_columns: Vec<String> = DIMENSIONS
        .iter()
        .filter(|d| d.name != "nontraditional")
        .map(|d| format!("d.{}", d.name))
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
               JOIN person_dims d ON d.student_pid = e.student_pid
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
    // The wage file is by far the largest input: join it against the small target table
    // (one row per concentrator and linked SSN) so the hash table holds only the targets.
    materialize(
        ctx,
        work,
        "q2_earnings",
        "SELECT t.student_pid, sum(w.wages) AS earnings_cents
           FROM wage_record w
           JOIN (SELECT c.student_pid, l.ssn_pid, c.exit_q + 2 AS q
                   FROM cohort c JOIN ssn_link l ON l.student_pid = c.student_pid) t
             ON w.ssn_pid = t.ssn_pid AND w.\"year\" * 4 + w.\"quarter\" - 1 = t.q
          GROUP BY t.student_pid",
    )
    .await?;
    materialize(
        ctx,
        work,
        "outcomes",
        "SELECT c.*,
                (en.student_pid IS NOT NULL) AS ps_enrolled,
                (c.exit_q + 2 <= (SELECT max(\"year\" * 4 + \"quarter\" - 1) FROM wage_record)) AS wage_observable,
                COALESCE(q.earnings_cents, 0) > 0 AS employed_q2,
                CASE WHEN q.earnings_cents > 0 THEN q.earnings_cents END AS earnings_q2_cents
           FROM cohort c
           LEFT JOIN ps_enrolled en ON en.student_pid = c.student_pid
           LEFT JOIN q2_earnings q ON q.student_pid = c.student_pid",
    )
    .await?;
    Ok(())
}
