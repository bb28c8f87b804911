//! The person-level outcomes a measure's numerator is made of, and the SQL that derives each.
//!
//! An outcome is a kind the engine knows with the parameters a specification gives it (which
//! quarter after exit, which fall). A new measure combines them in configuration; a new kind of
//! evidence (credentials, military service) is a new variant here, written once for every
//! measure that names it.

use serde::Deserialize;

use super::spec::{Definitions, MonthDay};

/// Quarters after exit an outcome may look at: WIOA's second and fourth, PSEO's first and
/// fifth years.
pub const MAX_QUARTER_AFTER_EXIT: u8 = 24;
/// Calendar years after the exit year earnings may be counted in (PSEO publishes the first,
/// fifth and tenth).
pub const MAX_YEAR_AFTER_EXIT: u8 = 10;
/// Falls after exit an enrollment may be counted in (enrollment within four years).
pub const MAX_FALL_AFTER_EXIT: u8 = 4;
/// Days after exit an enrollment may begin by (four years).
pub const MAX_DAYS_AFTER_EXIT: u16 = 1461;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Outcome {
    /// Resolved UI wages above zero, summed over employers, in quarter `E + n` where `E` is the
    /// calendar quarter of the exit. A person whose `E + n` the wage file does not yet cover is
    /// held out of the denominator (wages not yet available are not zero).
    Employed { quarter_after_exit: u8 },
    /// Attached to the labour force in calendar year `X + n`, `X` the exit date's year (PSEO):
    /// resolved UI wages, summed over employers, above zero in at least
    /// `attachment_min_quarters` of its quarters and at least `attachment_min_annual_earnings`
    /// over the year. A person whose year the wage file does not yet cover in full is held out.
    AttachedInYear { year_after_exit: u8 },
    /// A linked postsecondary enrollment spell covering the census day of the `n`-th fall on or
    /// after the exit date (1: the first fall); with `institution_level`, at a 4-year or a
    /// 2-year institution only, a 4-year winning when the census finds both (OpenSDP).
    EnrolledOnFallCensus {
        fall_after_exit: u8,
        #[serde(default)]
        institution_level: Option<InstitutionLevel>,
    },
    /// A linked postsecondary enrollment spell overlapping calendar quarter `E + n` (the
    /// postsecondary placement of Perkins V 3S1).
    EnrolledInQuarter { quarter_after_exit: u8 },
    /// A linked postsecondary enrollment spell at some time from the exit date to `days` after
    /// it (OpenSDP's enrollment within two years: 730): begun by then and not ended before the
    /// exit.
    EnrolledWithinDays { days: u16 },
    /// An industry-recognized credential (certification or licence) awarded on or before the
    /// exit date (Perkins V 5S1).
    CredentialByExit,
    /// Work-based learning begun on or before the exit date (Perkins V 5S3).
    WorkBasedLearningByExit,
    /// A completed course of the concentrator's own program that earned postsecondary credit
    /// (`additional_credit_type` `DualCredit`), in a school year up to the exit's (Perkins V
    /// 5S2).
    PostsecondaryCreditByExit,
}

/// The NSC `2-year / 4-year` split of institutions (CEDS 000178 Level of Institution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionLevel {
    /// `FourYear`: four or more years.
    FourYear,
    /// `TwoToFour` or `LessThanTwo`: under four years.
    TwoYear,
}

impl InstitutionLevel {
    fn name(self) -> &'static str {
        match self {
            InstitutionLevel::FourYear => "four_year",
            InstitutionLevel::TwoYear => "two_year",
        }
    }
}

impl Outcome {
    /// The boolean column of the person-level `outcomes` table.
    pub fn column(self) -> String {
        match self {
            Outcome::Employed { quarter_after_exit } => format!("employed_q{quarter_after_exit}"),
            Outcome::AttachedInYear { year_after_exit } => format!("attached_y{year_after_exit}"),
            Outcome::EnrolledOnFallCensus {
                fall_after_exit,
                institution_level,
            } => format!(
                "ps_enrolled_fall{fall_after_exit}{}",
                institution_level.map_or(String::new(), |l| format!("_{}", l.name()))
            ),
            Outcome::EnrolledInQuarter { quarter_after_exit } => {
                format!("ps_enrolled_q{quarter_after_exit}")
            }
            Outcome::EnrolledWithinDays { days } => format!("ps_enrolled_within_{days}d"),
            Outcome::CredentialByExit => "credential_by_exit".into(),
            Outcome::WorkBasedLearningByExit => "wbl_by_exit".into(),
            Outcome::PostsecondaryCreditByExit => "ps_credit_by_exit".into(),
        }
    }

    /// Disjoint outcomes that together are this one, whatever the data: an enrollment on a
    /// census is at a 4-year or (the 4-year winning) at a 2-year, every institution having a
    /// level (`institution_level` is required, and its three codes are the two levels).
    pub fn parts(self) -> Vec<Outcome> {
        match self {
            Outcome::EnrolledOnFallCensus {
                fall_after_exit,
                institution_level: None,
            } => [InstitutionLevel::FourYear, InstitutionLevel::TwoYear]
                .map(|level| Outcome::EnrolledOnFallCensus {
                    fall_after_exit,
                    institution_level: Some(level),
                })
                .to_vec(),
            _ => Vec::new(),
        }
    }

    /// An optional field the outcome cannot be told without: a source that never fills it
    /// (a CSV without the column) would make every person read as without the outcome.
    pub fn required_field(self) -> Option<(&'static str, &'static str)> {
        match self {
            Outcome::PostsecondaryCreditByExit => {
                Some(("cte_course_completion", "additional_credit_type"))
            }
            _ => None,
        }
    }

    /// The fall after exit whose census decides the outcome.
    pub fn fall(self) -> Option<u8> {
        match self {
            Outcome::EnrolledOnFallCensus {
                fall_after_exit, ..
            } => Some(fall_after_exit),
            _ => None,
        }
    }

    /// The column saying whether the postsecondary file reaches the outcome's census day for
    /// everyone of the cohort; a measure publishes only the cohorts where it does.
    pub fn cohort_coverage_column(self) -> Option<String> {
        self.fall().map(|n| format!("ps_observable_fall{n}"))
    }

    /// The quarter after exit whose wages decide the outcome.
    pub fn wage_quarter(self) -> Option<u8> {
        match self {
            Outcome::Employed { quarter_after_exit } => Some(quarter_after_exit),
            _ => None,
        }
    }

    /// The calendar year after the exit year whose wages decide the outcome.
    pub fn wage_year(self) -> Option<u8> {
        match self {
            Outcome::AttachedInYear { year_after_exit } => Some(year_after_exit),
            _ => None,
        }
    }

    /// The column saying whether the wage file covers the outcome's quarter or year for the
    /// person; those it does not are held out of the measure.
    pub fn wage_observable_column(self) -> Option<String> {
        match (self.wage_quarter(), self.wage_year()) {
            (Some(q), _) => Some(format!("wage_observable_q{q}")),
            (_, Some(y)) => Some(format!("wage_observable_y{y}")),
            _ => None,
        }
    }

    /// The entity whose records decide the outcome, beyond the population's own.
    pub fn entity(self) -> Option<&'static str> {
        match self {
            Outcome::Employed { .. } | Outcome::AttachedInYear { .. } => Some("wage_record"),
            Outcome::EnrolledOnFallCensus { .. }
            | Outcome::EnrolledInQuarter { .. }
            | Outcome::EnrolledWithinDays { .. } => Some("ps_enrollment"),
            Outcome::CredentialByExit => Some("industry_credential"),
            Outcome::WorkBasedLearningByExit => Some("work_based_learning"),
            Outcome::PostsecondaryCreditByExit => Some("cte_course_completion"),
        }
    }

    /// Whether every person with this outcome has `other` too, whatever the data: the same
    /// outcome; an enrollment on a fall census at one level of institution and the same fall
    /// at any level; an enrollment on the `n`-th fall census (at most `366 n` days after exit)
    /// or overlapping quarter `E + n` (ending at most `92 (n + 1)` days after) within any
    /// window at least that long. Disclosure control relates a count to the counts it is
    /// nested in.
    pub fn implies(self, other: Outcome) -> bool {
        if let (
            Outcome::EnrolledOnFallCensus {
                fall_after_exit: mine,
                institution_level: Some(_),
            },
            Outcome::EnrolledOnFallCensus {
                fall_after_exit: theirs,
                institution_level: None,
            },
        ) = (self, other)
        {
            return mine == theirs;
        }
        let Outcome::EnrolledWithinDays { days } = other else {
            return self == other;
        };
        let reach = match self {
            Outcome::EnrolledOnFallCensus {
                fall_after_exit, ..
            } => 366 * u32::from(fall_after_exit),
            Outcome::EnrolledInQuarter { quarter_after_exit } => {
                92 * (u32::from(quarter_after_exit) + 1)
            }
            Outcome::EnrolledWithinDays { days: mine } => u32::from(mine),
            _ => return false,
        };
        reach <= u32::from(days)
    }

    /// The parameter's key and the reason it is out of range.
    pub(super) fn check(self) -> Result<(), (&'static str, String)> {
        match self {
            Outcome::Employed {
                quarter_after_exit: q,
            }
            | Outcome::EnrolledInQuarter {
                quarter_after_exit: q,
            } if !(1..=MAX_QUARTER_AFTER_EXIT).contains(&q) => Err((
                "quarter_after_exit",
                format!(
                    "must be 1 to {MAX_QUARTER_AFTER_EXIT} (the exit quarter itself is never counted)"
                ),
            )),
            Outcome::AttachedInYear { year_after_exit: y }
                if !(1..=MAX_YEAR_AFTER_EXIT).contains(&y) =>
            {
                Err((
                    "year_after_exit",
                    format!("must be 1 to {MAX_YEAR_AFTER_EXIT} (the exit year is never counted)"),
                ))
            }
            Outcome::EnrolledWithinDays { days } if !(1..=MAX_DAYS_AFTER_EXIT).contains(&days) => {
                Err(("days", format!("must be 1 to {MAX_DAYS_AFTER_EXIT}")))
            }
            Outcome::EnrolledOnFallCensus {
                fall_after_exit: f, ..
            } if !(1..=MAX_FALL_AFTER_EXIT).contains(&f) => Err((
                "fall_after_exit",
                format!("must be 1 to {MAX_FALL_AFTER_EXIT}"),
            )),
            _ => Ok(()),
        }
    }

    /// The window in the data dictionary's words.
    pub fn window_doc(self, defs: &Definitions) -> String {
        match self {
            Outcome::Employed { quarter_after_exit } => format!(
                "UI wages above zero, summed over employers, in calendar quarter E + \
                 {quarter_after_exit} where E is the quarter of the exit date (the exit quarter \
                 is never counted); exiters whose quarter E + {quarter_after_exit} the wage file \
                 does not yet cover are held out of the denominator"
            ),
            Outcome::AttachedInYear { year_after_exit: n } => format!(
                "UI wages, summed over employers, above zero in at least {} of the four quarters \
                 of calendar year X + {n}, where X is the year of the exit date, and at least \
                 ${} over that year in its own dollars (PSEO's labour-force attachment: the \
                 annual equivalent of full-time work at the federal minimum wage); exiters whose \
                 year X + {n} the wage file does not yet cover in full are held out of the \
                 denominator",
                defs.attachment_min_quarters, defs.attachment_min_annual_earnings
            ),
            Outcome::EnrolledOnFallCensus {
                fall_after_exit,
                institution_level,
            } => format!(
                "a linked postsecondary enrollment spell (begin ≤ census day ≤ end){2} on {0} of \
                 the {1} fall on or after the exit date (the first fall is the exit year's when \
                 the exit is on or before {0}, so a summer graduate's is that same year's, and \
                 the next year's for a later exit); a cohort is published only once the \
                 postsecondary enrollment file reaches that census day for the cohort's last \
                 possible exit (its latest enrollment end date is on or after it), so a fall not \
                 yet in the data never reads as not enrolled",
                month_day_words(defs.fall_census),
                ordinal(fall_after_exit),
                match institution_level {
                    None => "",
                    Some(InstitutionLevel::FourYear) => {
                        " at a 4-year institution (`institution_level` `FourYear`)"
                    }
                    Some(InstitutionLevel::TwoYear) => {
                        " at a 2-year institution (`institution_level` `TwoToFour` or \
                         `LessThanTwo`) and none at a 4-year on the same day (the 4-year wins)"
                    }
                }
            ),
            Outcome::EnrolledInQuarter {
                quarter_after_exit: n,
            } => format!(
                "a linked postsecondary enrollment spell overlapping calendar quarter E + {n} \
                 (its begin date's quarter at most E + {n}, its end date's at least)"
            ),
            Outcome::EnrolledWithinDays { days } => format!(
                "a linked postsecondary enrollment spell at some time from the exit date to \
                 {days} days after it (begun by then, not ended before the exit)"
            ),
            Outcome::CredentialByExit => "an industry-recognized credential (certification or \
                 licence, `industry_credential`) awarded on or before the exit date"
                .into(),
            Outcome::WorkBasedLearningByExit => "work-based learning (`work_based_learning`) \
                 begun on or before the exit date"
                .into(),
            Outcome::PostsecondaryCreditByExit => "a completed course of the concentrator's \
                 primary program (`cte_course_completion`, its CIP code) that earned \
                 postsecondary credit (`additional_credit_type` `DualCredit`: dual or concurrent \
                 enrollment), in a school year up to the exit's; a course of another program \
                 does not count"
                .into(),
        }
    }
}

/// The person-level SQL of one outcome, joined to `cohort c` by `student_pid`: the relation to
/// build before the `outcomes` table, and the column expressions over it.
pub(super) struct OutcomeSql {
    pub name: String,
    pub query: String,
    /// Written to the work folder (a join against the wage file) rather than a view.
    pub materialized: bool,
    /// The `LEFT JOIN` of that relation onto `cohort c`.
    pub join: String,
    /// The output columns.
    pub columns: Vec<String>,
}

impl Outcome {
    /// The SQL of an outcome that is a flag (every kind but `employed`, which is derived per
    /// wage quarter, [`wage_quarter_sql`], since the flag, the earnings and the held-out rule
    /// share one join): the students of `cohort c` with a matching record.
    pub(super) fn flag_sql(self, defs: &Definitions) -> Option<OutcomeSql> {
        let spell = "ps_enrollment_linked e ON e.student_pid = c.student_pid";
        // Kept per student when the records found hold this (a 4-year level winning).
        let mut having = None;
        let (records, condition) = match self {
            Outcome::Employed { .. } | Outcome::AttachedInYear { .. } => return None,
            Outcome::EnrolledOnFallCensus {
                fall_after_exit,
                institution_level,
            } => {
                let census = fall_census_sql("c.exit_date", defs, fall_after_exit);
                let four = "max(CASE WHEN e.institution_level = 'FourYear' THEN 1 ELSE 0 END)";
                having = institution_level.map(|l| match l {
                    InstitutionLevel::FourYear => format!("{four} = 1"),
                    InstitutionLevel::TwoYear => format!(
                        "{four} = 0 AND max(CASE WHEN e.institution_level IN \
                         ('TwoToFour', 'LessThanTwo') THEN 1 ELSE 0 END) = 1"
                    ),
                });
                (
                    spell,
                    format!("e.begin_date <= {census} AND e.end_date >= {census}"),
                )
            }
            Outcome::EnrolledInQuarter {
                quarter_after_exit: n,
            } => (
                spell,
                format!(
                    "p20w_quarter_index(e.begin_date) <= c.exit_q + {n}
                     AND p20w_quarter_index(e.end_date) >= c.exit_q + {n}"
                ),
            ),
            Outcome::EnrolledWithinDays { days } => (
                spell,
                format!(
                    "e.begin_date <= c.exit_date + INTERVAL '{days} days'
                     AND e.end_date >= c.exit_date"
                ),
            ),
            // The student's own K-12 records, by the state id.
            Outcome::CredentialByExit => (
                "industry_credential e ON e.state_student_id_pid = c.student_pid",
                "e.award_date <= c.exit_date".to_string(),
            ),
            Outcome::WorkBasedLearningByExit => (
                "work_based_learning e ON e.state_student_id_pid = c.student_pid",
                "e.start_date <= c.exit_date".to_string(),
            ),
            Outcome::PostsecondaryCreditByExit => (
                "cte_course_completion e ON e.state_student_id_pid = c.student_pid",
                "e.additional_credit_type = 'DualCredit' AND e.cip_code = c.program \
                 AND e.school_year <= c.cohort"
                    .to_string(),
            ),
        };
        let name = self.column();
        let query = match having {
            None => format!(
                "SELECT DISTINCT c.student_pid FROM cohort c JOIN {records} WHERE {condition}"
            ),
            Some(having) => format!(
                "SELECT c.student_pid FROM cohort c JOIN {records} WHERE {condition}
                  GROUP BY c.student_pid HAVING {having}"
            ),
        };
        Some(OutcomeSql {
            query,
            materialized: false,
            join: format!("LEFT JOIN {name} ON {name}.student_pid = c.student_pid"),
            columns: vec![format!("({name}.student_pid IS NOT NULL) AS {name}")],
            name,
        })
    }
}

/// The SQL of quarter `E + n`: earnings summed over employers, the employment flag, and whether
/// the wage file covers the quarter (`wage_covered` is built once for every quarter).
pub(super) fn wage_quarter_sql(n: u8) -> OutcomeSql {
    let name = format!("earnings_q{n}");
    // The wage file is by far the largest input: join it against the small target table (one
    // row per concentrator and linked SSN) so the hash table holds only the targets.
    OutcomeSql {
        query: format!(
            "SELECT t.student_pid, sum(w.wages) AS earnings_cents
               FROM wage_resolved w
               JOIN (SELECT c.student_pid, l.ssn_pid, c.exit_q + {n} AS q
                       FROM cohort c JOIN ssn_link l ON l.student_pid = c.student_pid) t
                 ON w.ssn_pid = t.ssn_pid AND w.\"year\" * 4 + w.\"quarter\" - 1 = t.q
              GROUP BY t.student_pid"
        ),
        materialized: true,
        join: format!(
            "LEFT JOIN {name} ON {name}.student_pid = c.student_pid
             LEFT JOIN wage_covered covered_q{n} ON covered_q{n}.q = c.exit_q + {n}"
        ),
        columns: vec![
            format!("(covered_q{n}.q IS NOT NULL) AS wage_observable_q{n}"),
            format!("COALESCE({name}.earnings_cents, 0) > 0 AS employed_q{n}"),
            format!(
                "CASE WHEN {name}.earnings_cents > 0 THEN {name}.earnings_cents END \
                 AS earnings_q{n}_cents"
            ),
        ],
        name,
    }
}

/// The SQL of calendar year `X + n`: earnings summed over employers and quarters, the quarters
/// with earnings, attachment, and whether the wage file covers all four quarters of the year.
/// Attached people's earnings are stated in constant dollars (`cpi_u` holds each year's index
/// scaled so the constant-dollar year's is 1; a year without one leaves them null, which the
/// plan refuses).
pub(super) fn wage_year_sql(n: u8, defs: &Definitions) -> OutcomeSql {
    let name = format!("earnings_y{n}");
    let exit_year = "CAST(date_part('year', c.exit_date) AS INT)";
    let min_cents = (defs.attachment_min_annual_earnings * 100.0).round();
    let attached = format!(
        "COALESCE({name}.quarters, 0) >= {} AND COALESCE({name}.earnings_cents, 0) >= {min_cents}",
        defs.attachment_min_quarters
    );
    // Per quarter first, so a quarter counts as earning on its total over employers.
    OutcomeSql {
        query: format!(
            "SELECT student_pid, sum(cents) AS earnings_cents,
                    sum(CASE WHEN cents > 0 THEN 1 ELSE 0 END) AS quarters
               FROM (SELECT t.student_pid, w.\"quarter\", sum(w.wages) AS cents
                       FROM wage_resolved w
                       JOIN (SELECT c.student_pid, l.ssn_pid, {exit_year} + {n} AS y
                               FROM cohort c JOIN ssn_link l ON l.student_pid = c.student_pid) t
                         ON w.ssn_pid = t.ssn_pid AND w.\"year\" = t.y
                      GROUP BY t.student_pid, w.\"quarter\")
              GROUP BY student_pid"
        ),
        materialized: true,
        join: format!(
            "LEFT JOIN {name} ON {name}.student_pid = c.student_pid
             LEFT JOIN wage_covered_year covered_y{n} ON covered_y{n}.y = {exit_year} + {n}
             LEFT JOIN cpi_u cpi_y{n} ON cpi_y{n}.y = {exit_year} + {n}"
        ),
        columns: vec![
            format!("(covered_y{n}.y IS NOT NULL) AS wage_observable_y{n}"),
            format!("({attached}) AS attached_y{n}"),
            format!(
                "CASE WHEN {attached} THEN CAST({name}.earnings_cents AS DOUBLE) / \
                 cpi_y{n}.scale END AS earnings_y{n}_cents"
            ),
            format!("CAST({exit_year} + {n} AS INT) AS earnings_year_y{n}"),
        ],
        name,
    }
}

/// `ps_covered_fall{n}`: the cohorts whose census day of fall `n` after their last possible
/// exit (the day before the school year's start) is no later than the postsecondary enrollment
/// file's latest end date. The fall census of every exit of the cohort is then in the data.
pub(super) fn fall_coverage_sql(n: u8, defs: &Definitions) -> OutcomeSql {
    let name = format!("ps_covered_fall{n}");
    let start = defs.school_year_start;
    let last_exit = match (start.month, start.day) {
        (1, 1) => "make_date(k.cohort, 12, 31)".to_string(),
        (m, d) => format!("(make_date(k.cohort, {m}, {d}) - INTERVAL '1 day')"),
    };
    let census = fall_census_sql(&last_exit, defs, n);
    OutcomeSql {
        query: format!(
            "SELECT k.cohort FROM (SELECT DISTINCT cohort FROM cohort) k
              WHERE {census} <= (SELECT max(end_date) FROM ps_enrollment)"
        ),
        materialized: false,
        join: format!("LEFT JOIN {name} ON {name}.cohort = c.cohort"),
        columns: vec![format!(
            "({name}.cohort IS NOT NULL) AS ps_observable_fall{n}"
        )],
        name,
    }
}

/// The census day of the `n`-th fall on or after `date`, as SQL.
fn fall_census_sql(date: &str, defs: &Definitions, n: u8) -> String {
    let MonthDay { month, day } = defs.fall_census;
    let year = format!("CAST(date_part('year', {date}) AS INT)");
    let later = format!(
        "CASE WHEN (date_part('month', {date}) > {month}) OR (date_part('month', {date}) = {month} \
         AND date_part('day', {date}) > {day}) THEN 1 ELSE 0 END"
    );
    format!("make_date({year} + {later} + {}, {month}, {day})", n - 1)
}

pub(super) fn month_day_words(md: MonthDay) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    format!("{} {}", MONTHS[md.month as usize - 1], md.day)
}

fn ordinal(n: u8) -> &'static str {
    match n {
        1 => "first",
        2 => "second",
        3 => "third",
        _ => "fourth",
    }
}
