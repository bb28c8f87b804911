//! Stages 4 and 5: the outcome measures, as configuration.
//!
//! A measure is a TOML specification (`pipeline/measures/*.toml`, shipped in the binary): who
//! is counted, which outcomes make the numerator, an earnings statistic, the intersections
//! published. A state's population choices (courses that make a concentrator, the fall census
//! day, the school-year start, the exit types) are `definitions.toml`, which a job's
//! `[definitions]` table overrides key by key; a job's `measure_files` add measures or replace
//! a shipped one of the same dataset. From a specification come the person-level SQL
//! ([`plan::person_outcomes`]), the published table with the relations disclosure control
//! keeps ([`Measure::cell_table`]) and the dictionary entry ([`Measure::dictionary_markdown`]),
//! so a definition changed in configuration changes all three and no code.

mod outcome;
mod plan;
mod spec;

use std::path::PathBuf;

pub use outcome::{InstitutionLevel, Outcome};
pub use plan::person_outcomes;
pub use spec::{Definitions, Earnings, MeasureSpec, MonthDay, Population, SpecError, Statistic};

use crate::tables::{CellTable, Count, EarningsColumn, dimension_columns};

const SHIPPED_DEFINITIONS: (&str, &str) = (
    "pipeline/measures/definitions.toml",
    include_str!("../../measures/definitions.toml"),
);

const SHIPPED_MEASURES: &[(&str, &str)] = &[
    (
        "pipeline/measures/postsecondary_enrollment.toml",
        include_str!("../../measures/postsecondary_enrollment.toml"),
    ),
    (
        "pipeline/measures/employment_earnings.toml",
        include_str!("../../measures/employment_earnings.toml"),
    ),
    (
        "pipeline/measures/employment_q4.toml",
        include_str!("../../measures/employment_q4.toml"),
    ),
    (
        "pipeline/measures/college_enrollment_two_years.toml",
        include_str!("../../measures/college_enrollment_two_years.toml"),
    ),
    (
        "pipeline/measures/postsecondary_enrollment_four_year.toml",
        include_str!("../../measures/postsecondary_enrollment_four_year.toml"),
    ),
    (
        "pipeline/measures/postsecondary_enrollment_two_year.toml",
        include_str!("../../measures/postsecondary_enrollment_two_year.toml"),
    ),
    (
        "pipeline/measures/college_persistence.toml",
        include_str!("../../measures/college_persistence.toml"),
    ),
    (
        "pipeline/measures/earnings_year1.toml",
        include_str!("../../measures/earnings_year1.toml"),
    ),
    (
        "pipeline/measures/perkins_3s1_placement.toml",
        include_str!("../../measures/perkins_3s1_placement.toml"),
    ),
    (
        "pipeline/measures/perkins_5s1_credential.toml",
        include_str!("../../measures/perkins_5s1_credential.toml"),
    ),
    (
        "pipeline/measures/perkins_5s2_postsecondary_credit.toml",
        include_str!("../../measures/perkins_5s2_postsecondary_credit.toml"),
    ),
    (
        "pipeline/measures/perkins_5s3_work_based_learning.toml",
        include_str!("../../measures/perkins_5s3_work_based_learning.toml"),
    ),
];

/// Columns of the person-level `outcomes` table that no measure may name.
const RESERVED_COLUMNS: &[&str] = &[
    "student_pid",
    "cohort",
    "measure",
    "rate",
    "gap_to_all",
    "status",
    "denominator",
    "numerator",
];

/// Why an earnings statistic cannot be used: its key and the reason.
fn earnings_check(e: &Earnings, numerator: &[Outcome]) -> Result<(), (&'static str, &'static str)> {
    let column_ok = |c: &str| {
        spec::simple_name(c)
            && !RESERVED_COLUMNS.contains(&c)
            && !c.ends_with("_fingerprint")
            && !dimension_columns().contains(&c)
    };
    if e.min_people < 2 {
        return Err((
            "earnings.min_people",
            "must be at least 2: a statistic of one person is their wage",
        ));
    }
    // The statistic is published with the numerator and hidden with it, so it must be over
    // exactly the numerator's people.
    match (e.statistic, e.quarter_after_exit, e.year_after_exit) {
        (Statistic::Median, Some(q), None) => {
            if numerator
                != [Outcome::Employed {
                    quarter_after_exit: q,
                }]
            {
                return Err((
                    "earnings.quarter_after_exit",
                    "a median of earnings needs a numerator of exactly one `employed` outcome in \
                     the same quarter (it is computed over the numerator's people)",
                ));
            }
            if !e.percentiles.is_empty() {
                return Err(("earnings.percentiles", "a median has one `column`"));
            }
            match &e.column {
                Some(c) if column_ok(c) => Ok(()),
                _ => Err((
                    "earnings.column",
                    "must be a simple name that no other column of the table has",
                )),
            }
        }
        (Statistic::Percentiles, None, Some(y)) => {
            if numerator != [Outcome::AttachedInYear { year_after_exit: y }] {
                return Err((
                    "earnings.year_after_exit",
                    "percentiles of annual earnings need a numerator of exactly one \
                     `attached_in_year` outcome in the same year (they are computed over the \
                     numerator's people)",
                ));
            }
            if e.column.is_some() {
                return Err((
                    "earnings.column",
                    "percentiles name their columns in `percentiles`",
                ));
            }
            if e.percentiles.is_empty()
                || e.percentiles
                    .iter()
                    .any(|(c, p)| !column_ok(c) || !(10..=90).contains(p))
            {
                return Err((
                    "earnings.percentiles",
                    "must map one or more simple column names that no other column of the \
                     table has to percentiles 10 to 90 (p25_earnings = 25): the outer ones \
                     are close to one person's wage",
                ));
            }
            // Two percentiles between the same two ranked wages would let anyone solve both
            // wages; over `min_people` or more people they are a rank apart.
            let mut p: Vec<f64> = e.percentiles.values().map(|&p| f64::from(p)).collect();
            p.sort_by(f64::total_cmp);
            let rank_gap = 100.0 / (e.min_people - 1) as f64;
            if p.windows(2).any(|w| w[1] - w[0] < rank_gap) {
                return Err((
                    "earnings.percentiles",
                    "percentiles closer than 100 / (min_people - 1) points can fall between \
                     the same two wages, which they would then reveal",
                ));
            }
            Ok(())
        }
        (Statistic::Median, _, Some(_)) => Err((
            "earnings.year_after_exit",
            "a median is of one quarter's earnings: set quarter_after_exit, not year_after_exit",
        )),
        (Statistic::Median, _, None) => Err((
            "earnings.quarter_after_exit",
            "a median is of one quarter's earnings: set quarter_after_exit",
        )),
        (Statistic::Percentiles, Some(_), _) => Err((
            "earnings.quarter_after_exit",
            "percentiles are of a calendar year's earnings: set year_after_exit, not \
             quarter_after_exit",
        )),
        (Statistic::Percentiles, None, None) => Err((
            "earnings.year_after_exit",
            "percentiles are of a calendar year's earnings: set year_after_exit",
        )),
    }
}

/// A measure ready to run: its specification and the file it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub spec: MeasureSpec,
    pub file: String,
}

/// The definitions in force and every measure a job may name.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureCatalog {
    pub definitions: Definitions,
    pub measures: Vec<Measure>,
}

/// What a run measures: the definitions and the measures its job chose, in the job's order.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasurePlan {
    pub definitions: Definitions,
    pub measures: Vec<Measure>,
}

impl MeasureCatalog {
    /// The shipped definitions and measures (their validity is tested).
    pub fn shipped() -> MeasureCatalog {
        MeasureCatalog::load(&[], &toml::Table::new(), "(job)")
            .expect("the shipped specifications are valid (tested)")
    }

    /// The shipped catalogue with the job's own: each `(file name, text)` of `extra` adds a
    /// measure or replaces the shipped one of its dataset; `overrides` (the job's
    /// `[definitions]` table, from `job_file`) replaces definitions key by key.
    pub fn load(
        extra: &[(String, String)],
        overrides: &toml::Table,
        job_file: &str,
    ) -> Result<MeasureCatalog, SpecError> {
        let definitions = definitions(overrides, job_file)?;
        let mut measures: Vec<Measure> = Vec::new();
        for (file, text) in SHIPPED_MEASURES {
            measures.push(Measure::parse(text, file)?);
        }
        let shipped = measures.len();
        for (file, text) in extra {
            let m = Measure::parse(text, file)?;
            let clash = |key: &str, message: String| SpecError {
                file: file.clone(),
                key: key.into(),
                message,
            };
            if let Some(i) = measures
                .iter()
                .position(|o| o.spec.dataset == m.spec.dataset)
            {
                if i >= shipped {
                    return Err(clash(
                        "dataset",
                        format!("{} also defines it", measures[i].file),
                    ));
                }
                measures.remove(i);
            }
            if let Some(o) = measures.iter().find(|o| o.spec.id == m.spec.id) {
                return Err(clash("id", format!("{} also uses it", o.file)));
            }
            measures.push(m);
        }
        Ok(MeasureCatalog {
            definitions,
            measures,
        })
    }

    /// The measures a job names, by dataset, in its order.
    pub fn select(&self, names: &[String]) -> Result<MeasurePlan, String> {
        let mut chosen: Vec<Measure> = Vec::new();
        for name in names {
            let m = self
                .measures
                .iter()
                .find(|m| m.spec.dataset == *name)
                .ok_or_else(|| {
                    format!(
                        "unknown measure {name:?}; known: {}",
                        self.datasets().join(", ")
                    )
                })?;
            if chosen.iter().any(|c| c.spec.dataset == *name) {
                return Err(format!("measure {name:?} is listed twice"));
            }
            chosen.push(m.clone());
        }
        if chosen.is_empty() {
            return Err("measures must name at least one measure".into());
        }
        Ok(MeasurePlan {
            definitions: self.definitions.clone(),
            measures: chosen,
        })
    }

    pub fn datasets(&self) -> Vec<&str> {
        self.measures
            .iter()
            .map(|m| m.spec.dataset.as_str())
            .collect()
    }
}

impl MeasurePlan {
    /// The published tables, in the plan's order, each numerator knowing which of the plan's
    /// other outcomes it implies (so disclosure control relates nested counts).
    pub fn cell_tables(&self) -> Vec<CellTable> {
        let outcomes: Vec<Outcome> = self.measures.iter().flat_map(Measure::outcomes).collect();
        // The plan's outcome columns a column's outcome implies (itself among them); a column
        // that is no outcome (`graduated`) implies itself.
        let implied = |column: &String, own: &[Outcome]| -> Vec<String> {
            let Some(own) = own.iter().find(|o| o.column() == *column) else {
                return vec![column.clone()];
            };
            let mut implied: Vec<String> = outcomes
                .iter()
                .filter(|o| own.implies(**o))
                .map(|o| o.column())
                .collect();
            implied.sort();
            implied.dedup();
            implied
        };
        self.measures
            .iter()
            .map(|m| {
                let mut t = m.cell_table();
                let numerator = &mut t.counts[1];
                numerator.implies = numerator
                    .any_of
                    .iter()
                    .map(|c| implied(c, &m.spec.numerator.any))
                    .collect();
                // An outcome whose parts the plan all counts is their sum.
                if let [own] = m.spec.numerator.any[..] {
                    let parts = own.parts();
                    if !parts.is_empty() && parts.iter().all(|p| outcomes.contains(p)) {
                        numerator.parts = parts.iter().map(|p| p.column()).collect();
                    }
                }
                t.term_implies = t
                    .population_terms
                    .iter()
                    .map(|c| implied(c, &m.spec.denominator.all))
                    .collect();
                t
            })
            .collect()
    }
}

/// The shipped definitions with the job's keys in their place.
fn definitions(overrides: &toml::Table, job_file: &str) -> Result<Definitions, SpecError> {
    let (file, text) = SHIPPED_DEFINITIONS;
    let mut table: toml::Table = spec::parse(text, file)?;
    for (key, value) in overrides {
        if !table.contains_key(key) {
            return Err(SpecError {
                file: job_file.to_string(),
                key: format!("definitions.{key}"),
                message: format!(
                    "unknown definition; known: {}",
                    table.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        // A table (`cpi_u`) gains the job's entries; any other value is replaced.
        match (table.get_mut(key), value) {
            (Some(toml::Value::Table(shipped)), toml::Value::Table(job)) => {
                shipped.extend(job.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            _ => {
                table.insert(key.clone(), value.clone());
            }
        }
    }
    // Written out and read again so a wrong value's error has a position, hence a key.
    let merged = toml::to_string(&table).expect("a TOML table serializes");
    let (shown, prefix) = match overrides.is_empty() {
        true => (file, ""),
        false => (job_file, "definitions."),
    };
    let in_job = |mut e: SpecError| {
        e.file = shown.to_string();
        e.key = format!("{prefix}{}", e.key);
        e
    };
    let defs: Definitions = spec::parse(&merged, shown).map_err(in_job)?;
    defs.check(shown).map_err(in_job)?;
    Ok(defs)
}

impl Measure {
    /// Reads and checks one specification.
    pub fn parse(text: &str, file: &str) -> Result<Measure, SpecError> {
        let spec: MeasureSpec = spec::parse(text, file)?;
        let err = |key: &str, message: String| SpecError {
            file: file.to_string(),
            key: key.to_string(),
            message,
        };
        for (key, value) in [("id", &spec.id), ("dataset", &spec.dataset)] {
            if !spec::simple_name(value) {
                return Err(err(
                    key,
                    "must be lower-case letters, digits and '_', starting with a letter".into(),
                ));
            }
        }
        if spec.version == 0 {
            return Err(err("version", "must be 1 or more".into()));
        }
        for (i, o) in spec.denominator.all.iter().enumerate() {
            let key = format!("denominator.all[{i}]");
            if spec.denominator.all[..i].contains(o) {
                return Err(err(&key, "names the same outcome twice".into()));
            }
            if spec.numerator.any.contains(o) {
                return Err(err(
                    &key,
                    "is also a numerator outcome: every person of the denominator would count"
                        .into(),
                ));
            }
            o.check().map_err(|(k, m)| err(&format!("{key}.{k}"), m))?;
        }
        if spec.numerator.any.is_empty() {
            return Err(err(
                "numerator.any",
                "must name at least one outcome".into(),
            ));
        }
        for (i, o) in spec.numerator.any.iter().enumerate() {
            if spec.numerator.any[..i].contains(o) {
                return Err(err(
                    &format!("numerator.any[{i}]"),
                    "names the same outcome twice".into(),
                ));
            }
            o.check()
                .map_err(|(key, m)| err(&format!("numerator.any[{i}].{key}"), m))?;
        }
        if let Some(e) = &spec.earnings {
            earnings_check(e, &spec.numerator.any).map_err(|(key, m)| err(key, m.into()))?;
        }
        let dims = dimension_columns();
        for (i, set) in spec.intersections.iter().enumerate() {
            let key = format!("intersections[{i}]");
            if set.len() < 2 {
                return Err(err(
                    &key,
                    "an intersection crosses two or more dimensions (each dimension alone is \
                     always published)"
                        .into(),
                ));
            }
            for (j, d) in set.iter().enumerate() {
                if !dims.contains(&d.as_str()) {
                    return Err(err(
                        &key,
                        format!("unknown dimension {d:?}; known: {}", dims.join(", ")),
                    ));
                }
                if set[..j].contains(d) {
                    return Err(err(&key, format!("names {d:?} twice")));
                }
            }
        }
        Ok(Measure {
            spec,
            file: file.to_string(),
        })
    }

    /// Every outcome the measure reads: the denominator's, then the numerator's.
    pub fn outcomes(&self) -> impl Iterator<Item = Outcome> + '_ {
        let s = &self.spec;
        s.denominator.all.iter().chain(&s.numerator.any).copied()
    }

    /// The wage quarters and years the measure's people must be observable in to be counted,
    /// as the `outcomes` columns saying so.
    fn held_out_columns(&self) -> Vec<String> {
        let mut q: Vec<String> = self
            .outcomes()
            .filter_map(Outcome::wage_observable_column)
            .collect();
        q.sort();
        q.dedup();
        q
    }

    /// The entities whose records decide the numerator, beyond the population's own.
    pub fn outcome_entities(&self) -> Vec<&'static str> {
        let mut e: Vec<&'static str> = self.outcomes().filter_map(|o| o.entity()).collect();
        e.sort();
        e.dedup();
        e
    }

    /// The published table: by cohort, the total, every dimension alone and the
    /// specification's intersections.
    pub fn cell_table(&self) -> CellTable {
        let s = &self.spec;
        let dims = dimension_columns();
        let mut sets: Vec<Vec<&'static str>> = vec![vec![]];
        sets.extend(dims.iter().map(|d| vec![*d]));
        for set in &s.intersections {
            // Validated against the dimension columns, so every name is found.
            sets.push(
                set.iter()
                    .filter_map(|d| dims.iter().find(|x| *x == d).copied())
                    .collect(),
            );
        }
        let held_out_terms = self.held_out_columns();
        let mut required: Vec<String> = s.denominator.all.iter().map(|o| o.column()).collect();
        required.sort();
        let population_terms: Vec<String> = s
            .population
            .predicate()
            .map(String::from)
            .into_iter()
            .chain(required.iter().cloned())
            .collect();
        // Cohorts the postsecondary file does not yet reach are left out whole: the same for
        // every person of a cohort, so no relation between tables changes on the rows kept.
        let mut coverage: Vec<String> = self
            .outcomes()
            .filter_map(Outcome::cohort_coverage_column)
            .collect();
        coverage.sort();
        coverage.dedup();
        let population: Vec<String> = population_terms
            .iter()
            .chain(&held_out_terms)
            .chain(&coverage)
            .cloned()
            .collect();
        // Tables count the same people when their population, held-out quarters and covered
        // cohorts agree.
        let universe = std::iter::once(s.population.universe().to_string())
            .chain(required)
            .chain(
                held_out_terms
                    .iter()
                    .map(|c| c.trim_start_matches("wage_").to_string()),
            )
            .chain(coverage.iter().cloned())
            .collect::<Vec<_>>()
            .join("_");
        let mut numerator: Vec<String> = s.numerator.any.iter().map(|o| o.column()).collect();
        // In a fixed order, so two measures naming the same outcomes count the same thing.
        numerator.sort();
        CellTable {
            name: s.dataset.clone(),
            source: "outcomes".into(),
            population: match population.is_empty() {
                true => "TRUE".into(),
                false => population.join(" AND "),
            },
            universe,
            term_implies: population_terms.iter().map(|t| vec![t.clone()]).collect(),
            population_terms,
            held_out_terms,
            by_cohort: true,
            dimensions: dims,
            grouping_sets: sets,
            counts: vec![
                Count::new("denominator", &[], None, &s.denominator.doc),
                Count::new("numerator", &numerator, Some(0), &s.numerator.doc),
            ],
            earnings: s.earnings.as_ref().map_or_else(Vec::new, earnings_columns),
            measure: Some(s.id.clone()),
            secondary: false,
        }
    }

    /// The dictionary's account of the measure: title, version, definition and window,
    /// sources.
    pub fn dictionary_markdown(&self, defs: &Definitions) -> String {
        let s = &self.spec;
        let windows: Vec<String> = s
            .numerator
            .any
            .iter()
            .map(|o| format!("- {}\n", o.window_doc(defs)))
            .collect();
        let required: String = s
            .denominator
            .all
            .iter()
            .map(|o| format!(", with {}", o.window_doc(defs)))
            .collect();
        let mut sources = vec!["person", "k12_enrollment", "cte_course_completion"];
        sources.extend(self.outcome_entities());
        format!(
            "{} (measure `{}`, version {}, from `{}`). Population: {}. The numerator counts a \
             person when any of these holds:\n\n{}\nSources: {}.\n",
            s.title,
            s.id,
            s.version,
            self.file,
            population_doc(s.population, defs) + &required,
            windows.concat(),
            sources
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The published columns of an earnings statistic (checked with the specification).
fn earnings_columns(e: &Earnings) -> Vec<EarningsColumn> {
    match (e.quarter_after_exit, e.year_after_exit, &e.column) {
        (Some(q), _, Some(column)) => vec![EarningsColumn {
            column: column.clone(),
            cents: format!("earnings_q{q}_cents"),
            percentile: None,
            min_people: e.min_people,
            doc: e.doc.clone(),
        }],
        (_, Some(y), _) => {
            let mut by_percentile: Vec<(&String, u8)> =
                e.percentiles.iter().map(|(c, p)| (c, *p)).collect();
            by_percentile.sort_by_key(|(c, p)| (*p, c.as_str()));
            by_percentile
                .into_iter()
                .map(|(column, p)| EarningsColumn {
                    column: column.clone(),
                    cents: format!("earnings_y{y}_cents"),
                    percentile: Some(p),
                    min_people: e.min_people,
                    doc: format!(
                        "percentile {p} (linear between the nearest values) of {}",
                        e.doc
                    ),
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

fn population_doc(p: Population, defs: &Definitions) -> String {
    let exiters = format!(
        "secondary CTE concentrators (at least {} distinct completed courses in one program) who \
         left secondary education in the exit cohort",
        defs.concentrator_min_courses
    );
    match p {
        Population::SecondaryConcentratorExiters => exiters,
        Population::SecondaryConcentratorGraduates => format!(
            "{exiters} by graduating (exit types {})",
            defs.graduation_exit_types.join(", ")
        ),
    }
}

/// The population definitions in the data dictionary's words.
pub fn definitions_markdown(defs: &Definitions) -> String {
    let start = defs.school_year_start;
    format!(
        "\nDefinitions (`{}` with the job's `[definitions]`):\n\n\
         - Exit cohort `Y`: left secondary school (exit types {}) in the school year starting {} \
         of `Y-1` (of `Y` when the school year starts January 1), judged by the student's last \
         K-12 enrollment, the one that ends last across all districts (an enrollment without an \
         exit date is still open and ends last; on one exit date the later entry wins, then an \
         exit that ends secondary education over a transfer or death). A last enrollment that \
         is open or ends in a transfer or death is no exit, so a dropout who re-entered and \
         transferred out is in no cohort.\n\
         - Concentrator: at least {} distinct courses (course identifiers) completed in one \
         program (CIP code) by the end of the exit school year; a retaken course counts once. \
         The primary program has the most distinct courses, the lowest CIP code on a tie.\n\
         - A concentrator with no accepted person row (all quarantined) is counted, with every \
         characteristic not reported.\n\
         - Several person rows of one student (one per district): special populations are ever \
         during high school (a member code on any row, else the non-member code if any row \
         reports it, else not reported); sex and race/ethnicity take the value reported on the \
         most rows, rows reporting none cast no vote, and a tie is `NotSelected` / \
         `RaceAndEthnicityUnknown`.\n\
         {}\
         - Wage coverage: the wage file's last full quarter is the latest holding at least {} \
         of the resolved records of its median quarter; a quarter is observable when the file \
         holds records for it and it is no later than that. Wage rows dated after the current \
         calendar quarter are quarantined (rule `quarter_window`). A calendar year is observable \
         when its four quarters are.\n\
         - Earnings over a calendar year are stated in {} dollars: each year's are multiplied by \
         the CPI-U annual average of {} over that year's (definitions `cpi_u`, BLS series \
         CUUR0000SA0); a year the table lacks stops the run.\n",
        SHIPPED_DEFINITIONS.0,
        defs.exit_types.join(", "),
        outcome::month_day_words(start),
        defs.concentrator_min_courses,
        crate::wages::RULE_MARKDOWN,
        defs.wage_coverage_share,
        defs.constant_dollar_year,
        defs.constant_dollar_year,
    )
}

/// Reads the job's measure files: (the path as shown, the text).
pub fn read_measure_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>, SpecError> {
    paths
        .iter()
        .map(|p| {
            let shown = p.display().to_string();
            std::fs::read_to_string(p)
                .map(|t| (shown.clone(), t))
                .map_err(|e| SpecError {
                    file: shown,
                    key: "(file)".into(),
                    message: format!("cannot read: {e}"),
                })
        })
        .collect()
}

#[cfg(test)]
mod tests;
