//! The release's published figures, described once.
//!
//! A [`CellTable`] names the people it counts, the groupings it publishes them by and the
//! counts of each row. From that one description come the aggregate SQL ([`CellTable::sql`]),
//! the relations disclosure control must respect ([`crate::protect`]: margins between
//! groupings, program ⊂ career cluster, cohorts pooled into the run report) and the data
//! dictionary ([`dictionary_markdown`]). Nothing lists a table's relations a second time.

use p20w_schemas::{ALL, CteProgramCatalog, DIMENSIONS};

use crate::link::{LinkageReport, linkage_markdown};
use crate::measures::{MeasurePlan, definitions_markdown};

/// The program dimensions beside [`DIMENSIONS`].
pub const PROGRAM_DIMENSIONS: &[&str] = &["program", "career_cluster"];

/// Every dimension column of the outcome tables, in order.
pub fn dimension_columns() -> Vec<&'static str> {
    DIMENSIONS
        .iter()
        .map(|d| d.name)
        .chain(PROGRAM_DIMENSIONS.iter().copied())
        .collect()
}

/// Hierarchies among dimensions: each child value belongs to exactly one parent value, so a
/// parent's cell is the sum of its children's.
pub const HIERARCHIES: &[(&str, &str)] = &[("program", "career_cluster")];

/// The parent value of `value` of dimension `child` in its hierarchy.
pub fn parent_value(catalog: &CteProgramCatalog, child: &str, value: &str) -> Option<String> {
    match child {
        "program" => catalog.get(value).map(|p| p.career_cluster.clone()),
        _ => None,
    }
}

/// One count of a row: how many of the row's people satisfy `predicate`.
#[derive(Debug, Clone)]
pub struct Count {
    pub name: String,
    /// A SQL boolean over the table's source; `TRUE` counts everyone in the row.
    pub predicate: String,
    /// The boolean columns whose OR the predicate is (none: everyone).
    pub any_of: Vec<String>,
    /// For each of `any_of`, the columns it implies (itself among them): a count each of whose
    /// columns implies one of another count's, over the same people, is nested in it.
    pub implies: Vec<Vec<String>>,
    /// Disjoint outcome columns that together are this count's one outcome, where every one is
    /// counted in a table of the release (see [`crate::measures::Outcome::parts`]).
    pub parts: Vec<String>,
    /// For a count that is the numerator of a rate: the index of its denominator. Hiding the
    /// denominator hides the numerator (the published rate would give it back).
    pub rate_of: Option<usize>,
    pub doc: String,
}

impl Count {
    /// A count of everyone (`columns` empty) or of the people with any of `columns`.
    pub fn new(name: &str, columns: &[String], rate_of: Option<usize>, doc: &str) -> Count {
        Count {
            name: name.into(),
            predicate: match columns {
                [] => "TRUE".into(),
                _ => format!("({})", columns.join(" OR ")),
            },
            any_of: columns.to_vec(),
            implies: columns.iter().map(|c| vec![c.clone()]).collect(),
            parts: Vec::new(),
            rate_of,
            doc: doc.into(),
        }
    }
}

/// A statistic of earnings over the people of the numerator, published with it and hidden
/// with it: the median, or another percentile.
#[derive(Debug, Clone)]
pub struct EarningsColumn {
    /// The published column.
    pub column: String,
    /// The source column of amounts in cents (null for people outside the statistic).
    pub cents: String,
    /// The percentile (1–99) by linear interpolation between the nearest values; `None`, the
    /// median (the same for 50).
    pub percentile: Option<u8>,
    /// Published only over at least this many people: a statistic of a few people's wages is
    /// close to one person's wage, even where their count may be shown.
    pub min_people: u64,
    pub doc: String,
}

impl EarningsColumn {
    /// The aggregate, in dollars.
    fn sql(&self) -> String {
        let cents = format!("CAST({} AS DOUBLE)", self.cents);
        let statistic = match self.percentile {
            None => format!("median({cents})"),
            Some(p) => format!("percentile_cont({cents}, {})", f64::from(p) / 100.0),
        };
        format!("{statistic} / 100.0 AS {}", self.column)
    }
}

/// One published table of counts of people.
#[derive(Debug, Clone)]
pub struct CellTable {
    pub name: String,
    /// The person-level relation (one row per person and cohort) the table counts.
    pub source: String,
    /// Which people of `source` are counted, as SQL.
    pub population: String,
    /// The people counted, named so tables counting the same people can be related (a
    /// figure pooled over cohorts is the sum of the per-cohort figures of the same people).
    pub universe: String,
    /// The population's own predicates beyond every concentrator (`graduated`), and the
    /// wage quarters it is held to (`wage_observable_q2`): a table whose population terms
    /// include another's, with the same held-out terms, counts a subset of its people.
    pub population_terms: Vec<String>,
    /// For each population term, the outcome columns it implies (itself among them; see
    /// [`crate::measures::Outcome::implies`]): a term `ps_enrolled_fall1_four_year` puts the
    /// table's people within another's `ps_enrolled_fall1`.
    pub term_implies: Vec<Vec<String>>,
    pub held_out_terms: Vec<String>,
    /// Rows per cohort (`cohort` column) or pooled over every cohort of the run.
    pub by_cohort: bool,
    pub dimensions: Vec<&'static str>,
    /// The groupings published, as sets of `dimensions` (the empty set is the total).
    pub grouping_sets: Vec<Vec<&'static str>>,
    /// `counts[0]` is the number of people in the row.
    pub counts: Vec<Count>,
    pub earnings: Vec<EarningsColumn>,
    /// The `measure` value on the rows of an outcome table.
    pub measure: Option<String>,
    /// Figures of the run report: the first to give up when a partner must be hidden, since
    /// the outcome tables carry the figures users need.
    pub secondary: bool,
}

/// The column holding each count's fingerprint (see [`p20w_privacy::CellModel`]).
pub fn fingerprint_column(count: &str) -> String {
    format!("{count}_fingerprint")
}

impl CellTable {
    /// The run report's linkage figures: concentrators of every cohort of the run pooled, in
    /// total and by each dimension.
    pub fn linkage_by_group() -> CellTable {
        let dimensions: Vec<&'static str> = DIMENSIONS.iter().map(|d| d.name).collect();
        let mut grouping_sets = vec![vec![]];
        grouping_sets.extend(dimensions.iter().map(|d| vec![*d]));
        CellTable {
            name: "linkage_by_group".into(),
            source: "linkage_persons".into(),
            population: "TRUE".into(),
            universe: "concentrators".into(),
            population_terms: vec![],
            term_implies: vec![],
            held_out_terms: vec![],
            by_cohort: false,
            dimensions,
            grouping_sets,
            counts: vec![
                Count::new(
                    "persons",
                    &[],
                    None,
                    "concentrators of all cohorts of the run",
                ),
                Count::new(
                    "with_ssn_link",
                    &["ssn_linked".into()],
                    Some(0),
                    "of those, linked to an SSN (so to wage records)",
                ),
                Count::new(
                    "with_postsecondary_record",
                    &["ps_record".into()],
                    Some(0),
                    "of those, with a linked postsecondary enrollment record",
                ),
                Count::new(
                    "with_fuzzy_link",
                    &["fuzzy_linked".into()],
                    Some(0),
                    "of those, with a link only the fuzzy match found",
                ),
            ],
            earnings: Vec::new(),
            measure: None,
            secondary: true,
        }
    }

    /// The run report's concentrators per cohort.
    pub fn concentrators_by_cohort() -> CellTable {
        CellTable {
            name: "concentrators_by_cohort".into(),
            source: "linkage_persons".into(),
            population: "TRUE".into(),
            universe: "concentrators".into(),
            population_terms: vec![],
            term_implies: vec![],
            held_out_terms: vec![],
            by_cohort: true,
            dimensions: vec![],
            grouping_sets: vec![vec![]],
            counts: vec![Count::new(
                "persons",
                &[],
                None,
                "concentrators in the cohort",
            )],
            earnings: Vec::new(),
            measure: None,
            secondary: true,
        }
    }

    /// The aggregate query: one row per group of every grouping set, with each count and its
    /// fingerprint, dimension columns holding `All` where a row totals over them.
    pub fn sql(&self) -> String {
        let mut select: Vec<String> = Vec::new();
        let cohort = self.by_cohort.then_some("cohort");
        select.extend(cohort.map(String::from));
        for d in &self.dimensions {
            select.push(format!(
                "CASE WHEN grouping({d}) = 1 THEN '{ALL}' ELSE {d} END AS {d}"
            ));
        }
        if let Some(m) = &self.measure {
            select.push(format!("'{m}' AS measure"));
        }
        for c in &self.counts {
            let (count, fp) = if c.predicate == "TRUE" {
                ("count(*)".to_string(), "bit_xor(p20w_fp)".to_string())
            } else {
                (
                    format!("sum(CASE WHEN {} THEN 1 ELSE 0 END)", c.predicate),
                    format!("bit_xor(CASE WHEN {} THEN p20w_fp END)", c.predicate),
                )
            };
            select.push(format!("{count} AS {}", c.name));
            select.push(format!("{fp} AS {}", fingerprint_column(&c.name)));
        }
        select.extend(self.earnings.iter().map(EarningsColumn::sql));
        // Every dimension appears in some grouping set so `grouping()` binds; a set is written
        // with the cohort, and a pooled total groups by a constant.
        let sets: Vec<String> = self
            .grouping_sets
            .iter()
            .map(|set| {
                let cols: Vec<&str> = cohort.into_iter().chain(set.iter().copied()).collect();
                format!("({})", cols.join(", "))
            })
            .collect();
        let group_by = if self.dimensions.is_empty() {
            cohort.map(|c| format!("GROUP BY {c}")).unwrap_or_default()
        } else {
            format!("GROUP BY GROUPING SETS ({})", sets.join(", "))
        };
        format!(
            "SELECT {} FROM (SELECT *, p20w_person_fingerprint(student_pid) AS p20w_fp
                               FROM {} WHERE {}) {group_by}",
            select.join(", "),
            self.source,
            self.population,
        )
    }
}

/// The data dictionary shipped in every release, generated from its outcome tables.
pub fn dictionary_markdown(plan: &MeasurePlan, linkage: &LinkageReport) -> String {
    let mut s = String::from(
        "# Data dictionary\n\n\
         Each dataset folder holds one long-form Parquet table. A row is one group of CTE \
         concentrators in one exit cohort. Dimension columns hold the group's code, or `All` \
         where the row totals over that dimension; a row with every dimension `All` is the \
         cohort total. Codes are CEDS option-set codes (see `code_sets.csv` in the p20w \
         source); `NotReported`, `NotSelected`, `Unknown` and `RaceAndEthnicityUnknown` mark \
         characteristics the source did not report, so groups add up to the total.\n",
    );
    for m in &plan.measures {
        let t = m.cell_table();
        s.push_str(&format!("\n## {}\n\n", t.name));
        s.push_str(&format!("{}\n", m.dictionary_markdown(&plan.definitions)));
        for entity in m.outcome_entities() {
            // A record of the student's own K-12 data needs no linkage.
            match linkage.rates.iter().any(|r| r.entity == entity) {
                true => s.push_str(&format!("{}\n\n", linkage_markdown(linkage, entity))),
                false => s.push_str(&format!(
                    "`{entity}` records are the student's own K-12 records, joined by the state \
                     student id.\n\n"
                )),
            }
        }
        let sets: Vec<String> = t
            .grouping_sets
            .iter()
            .map(|set| match set.as_slice() {
                [] => "the cohort total".to_string(),
                dims => dims.join(" × "),
            })
            .collect();
        s.push_str(&format!(
            "Rows: by cohort, for {}.\n\n| column | meaning |\n| --- | --- |\n\
             | cohort | exit cohort: left secondary school in the school year starting {} \
             (`school_year_start`) and ending in this year |\n",
            sets.join("; "),
            plan.definitions.school_year_start
        ));
        for d in &t.dimensions {
            s.push_str(&format!("| {d} | {} |\n", dimension_doc(d)));
        }
        s.push_str("| measure | which outcome the row measures |\n");
        for c in &t.counts {
            let hidden = match c.rate_of {
                None => "null when below the minimum cell size or hidden to protect another cell",
                Some(_) => "null when suppressed",
            };
            s.push_str(&format!("| {} | {}; {hidden} |\n", c.name, c.doc));
        }
        if let Some(num) = t.counts.iter().find(|c| c.rate_of.is_some()) {
            let den = &t.counts[num.rate_of.unwrap_or(0)];
            s.push_str(&format!(
                "| rate | {} / {}; null when suppressed |\n\
                 | gap_to_all | rate minus the rate of the cohort total (every person of the \
                 measure's population); null when either is suppressed |\n",
                num.name, den.name
            ));
        }
        for e in &t.earnings {
            s.push_str(&format!(
                "| {} | {}; null when suppressed or over fewer than {} people |\n",
                e.column, e.doc, e.min_people
            ));
        }
        s.push_str(
            "| status | `published`, or `suppressed`: the denominator, the numerator or their \
             difference is below the minimum cell size, or the cell is hidden so that no \
             suppressed cell can be recovered by subtraction from any other published figure \
             (margins, career clusters from their programs, groups holding the same people, \
             other tables and the run report) |\n",
        );
    }
    s.push_str(&definitions_markdown(&plan.definitions));
    s
}

fn dimension_doc(name: &str) -> String {
    if let Some(d) = DIMENSIONS.iter().find(|d| d.name == name) {
        let sp = d
            .special_population
            .map(|c| format!(" (Perkins V special population {c})"))
            .unwrap_or_default();
        return format!("code set `{}`{sp}", d.code_set);
    }
    match name {
        "program" => {
            "CIP 2020 code of the primary CTE program (most distinct completed courses, the \
             lowest code on a tie)"
                .into()
        }
        "career_cluster" => "career cluster (CEDS 001288, 01–16) of that program".into(),
        other => other.to_string(),
    }
}
