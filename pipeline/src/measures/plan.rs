//! The person-level SQL of a run's measures: the exit cohorts of concentrators, then one
//! `outcomes` row per concentrator with a column for every outcome any chosen measure names.

use std::collections::BTreeSet;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int32Type;
use datafusion::prelude::SessionContext;
use p20w_schemas::DIMENSIONS;

use super::MeasurePlan;
use super::outcome::{Outcome, OutcomeSql, fall_coverage_sql, wage_quarter_sql, wage_year_sql};
use crate::RunError;
use crate::sql::{exec, materialize};

/// Builds `cohort` (one row per concentrator in the run's exit cohorts) and `outcomes` (the
/// same rows with every outcome column the plan's measures read).
pub async fn person_outcomes(
    ctx: &SessionContext,
    work: &std::path::Path,
    cohorts: &[i32],
    plan: &MeasurePlan,
) -> Result<(), RunError> {
    let defs = &plan.definitions;
    // Codes are letters and digits (checked with the definitions), so quoting is enough.
    let codes = |list: &[String]| {
        list.iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (exit_types, graduations) = (codes(&defs.exit_types), codes(&defs.graduation_exit_types));
    let cohort_list = cohorts
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let start = defs.school_year_start;
    // A school year starting January 1 is the calendar year; any other ends in the next one.
    let later_year = match (start.month, start.day) {
        (1, 1) => "0".to_string(),
        (m, d) => format!(
            "CASE WHEN date_part('month', exit_date) > {m} OR (date_part('month', exit_date) = {m} \
             AND date_part('day', exit_date) >= {d}) THEN 1 ELSE 0 END"
        ),
    };
    // The exit is judged by the enrollment that ends last: one still open ends after every
    // dated one; on the same exit date the later entry decides, then an exit that ends
    // secondary education wins over a transfer or death (the district reporting a completion
    // holds its record), then the exit type code, so the choice never depends on row order.
    exec(
        ctx,
        &format!(
            "CREATE VIEW exits AS
             SELECT student_pid, exit_date, exit_type,
                    CAST(date_part('year', exit_date) AS INT) + {later_year} AS cohort
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
        &format!(
            "CREATE VIEW primary_program AS
             SELECT student_pid, cip_code FROM (
               SELECT student_pid, cip_code,
                      row_number() OVER (PARTITION BY student_pid ORDER BY courses DESC, cip_code) AS rk
                 FROM (SELECT c.state_student_id_pid AS student_pid, c.cip_code,
                              count(DISTINCT c.course_id) AS courses
                         FROM cte_course_completion c JOIN exits e ON e.student_pid = c.state_student_id_pid
                        WHERE c.school_year <= e.cohort
                        GROUP BY c.state_student_id_pid, c.cip_code)
                WHERE courses >= {})
             WHERE rk = 1",
            defs.concentrator_min_courses
        ),
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
                    e.exit_type IN ({graduations}) AS graduated,
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

    let outcomes: BTreeSet<Outcome> = plan.measures.iter().flat_map(|m| m.outcomes()).collect();
    let mut parts: Vec<OutcomeSql> = Vec::new();
    let wage_quarters: BTreeSet<u8> = outcomes.iter().filter_map(|o| o.wage_quarter()).collect();
    let wage_years: BTreeSet<u8> = outcomes.iter().filter_map(|o| o.wage_year()).collect();
    if !(wage_quarters.is_empty() && wage_years.is_empty()) {
        wage_coverage(ctx, work, plan.definitions.wage_coverage_share).await?;
    }
    if !wage_years.is_empty() {
        constant_dollars(ctx, defs).await?;
    }
    parts.extend(wage_quarters.iter().map(|q| wage_quarter_sql(*q)));
    parts.extend(wage_years.iter().map(|y| wage_year_sql(*y, defs)));
    let falls: BTreeSet<u8> = outcomes.iter().filter_map(|o| o.fall()).collect();
    parts.extend(falls.iter().map(|n| fall_coverage_sql(*n, defs)));
    parts.extend(outcomes.iter().filter_map(|o| o.flag_sql(defs)));
    for p in &parts {
        match p.materialized {
            true => materialize(ctx, work, &p.name, &p.query).await?,
            false => exec(ctx, &format!("CREATE VIEW {} AS {}", p.name, p.query)).await?,
        }
    }
    let columns: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.columns.iter().map(String::as_str))
        .collect();
    let joins: Vec<&str> = parts.iter().map(|p| p.join.as_str()).collect();
    let select = std::iter::once("c.*").chain(columns).collect::<Vec<_>>();
    materialize(
        ctx,
        work,
        "outcomes",
        &format!(
            "SELECT {} FROM cohort c {}",
            select.join(", "),
            joins.join("\n")
        ),
    )
    .await?;
    // Earnings of a year the CPI table lacks cannot be put in constant dollars; a figure in
    // mixed dollars would be wrong without saying so. A year not yet covered is held out and
    // needs no index (the latest annual average is published a month after the year ends).
    for y in &wage_years {
        let missing: Vec<i32> = crate::sql::collect(
            ctx,
            &format!(
                "SELECT DISTINCT earnings_year_y{y} FROM outcomes
                  WHERE wage_observable_y{y} AND attached_y{y} AND earnings_y{y}_cents IS NULL
                  ORDER BY earnings_year_y{y}"
            ),
        )
        .await?
        .iter()
        .flat_map(|b| {
            let years = b.column(0).as_primitive::<Int32Type>();
            years.iter().flatten().collect::<Vec<_>>()
        })
        .collect();
        if !missing.is_empty() {
            return Err(RunError::MissingCpi {
                years: missing,
                constant_dollar_year: defs.constant_dollar_year,
            });
        }
    }
    Ok(())
}

/// `cpi_u` (`y`, `scale`: the year's index over the constant-dollar year's) and
/// `wage_covered_year` (the years whose four quarters the wage file covers).
async fn constant_dollars(ctx: &SessionContext, defs: &super::Definitions) -> Result<(), RunError> {
    let base = defs.cpi_u[&defs.constant_dollar_year.to_string()];
    // Checked with the definitions: every key is a year, every index above zero.
    let rows: Vec<String> = defs
        .cpi_u
        .iter()
        .map(|(year, index)| format!("({year}, CAST({} AS DOUBLE))", index / base))
        .collect();
    exec(
        ctx,
        &format!(
            "CREATE VIEW cpi_u AS SELECT column1 AS y, column2 AS scale FROM (VALUES {})",
            rows.join(", ")
        ),
    )
    .await?;
    exec(
        ctx,
        "CREATE VIEW wage_covered_year AS
         SELECT CAST(q / 4 AS INT) AS y FROM wage_covered
          GROUP BY CAST(q / 4 AS INT) HAVING count(*) = 4",
    )
    .await
}

/// `wage_covered`: the quarters the wage file covers, those holding records up to its last
/// full quarter (one with at least `share` of the records of the median quarter). A thin,
/// still-arriving last quarter and a stray mis-dated row are after it. Thin early quarters are
/// kept: a file matched to the students' SSNs grows as they reach working age.
async fn wage_coverage(
    ctx: &SessionContext,
    work: &std::path::Path,
    share: f64,
) -> Result<(), RunError> {
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
                           WHERE CAST(records AS DOUBLE) >= {share}
                                 * (SELECT median(CAST(records AS DOUBLE)) FROM wage_quarters))"
        ),
    )
    .await
}
