//! Attacks by subtraction on hand-built cohorts: each succeeds against the relation set
//! protection used before (a dimension's groups and the cohort total; race × sex and its
//! margins; the report pooled against a total), and fails against the release's cell model.
//! The attacker ([`crate::attack`]) solves the published equations on its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::prelude::SessionContext;
use p20w_pipeline::measures::MeasureCatalog;
use p20w_pipeline::protect::{TableRows, protect};
use p20w_pipeline::tables::CellTable;
use p20w_privacy::{CellStatus, SuppressionRule, complete_pattern};
use p20w_schemas::{CteProgramCatalog, DIMENSIONS};

use crate::attack::{PubRow, Recovered, catalogue, recoverable};
use crate::common::DIMS;

const RULE: SuppressionRule = SuppressionRule { min_cell_size: 10 };

/// A concentrator of a hand-built cohort; every special population is "not a member".
#[derive(Clone)]
struct Person {
    cohort: i32,
    sex: &'static str,
    program: &'static str,
    enrolled: bool,
    /// Enrolled in postsecondary education in the second quarter after exit (3S1's other
    /// placement; `enrolled` stands for employment there), and within two years of exit beyond
    /// the first fall (`enrolled`).
    enrolled_q2: bool,
    enrolled_late: bool,
    /// Enrolled (`enrolled`) at a 2-year institution, not a 4-year.
    two_year: bool,
    /// Left by graduating (5S1's population).
    graduated: bool,
}

/// `n` people of one group, the first `enrolled` of them enrolled.
fn group(
    cohort: i32,
    sex: &'static str,
    program: &'static str,
    n: usize,
    enrolled: usize,
) -> Vec<Person> {
    (0..n)
        .map(|i| Person {
            cohort,
            sex,
            program,
            enrolled: i < enrolled,
            enrolled_q2: false,
            enrolled_late: false,
            two_year: false,
            graduated: true,
        })
        .collect()
}

fn nontraditional(program: &str, sex: &str) -> &'static str {
    let path = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../schemas/data/cte_programs.csv");
    let rows = crate::common::read_csv(&path);
    let row = rows
        .iter()
        .find(|r| r["cip_code"] == program)
        .expect("in catalogue");
    match sex {
        "NotSelected" => "NotReported",
        s if row["nontraditional_for"] == s => "Underrepresented",
        _ => "NotUnderrepresented",
    }
}

/// The person-level tables the release counts, registered in a fresh session.
fn session(people: &[Person]) -> SessionContext {
    let ctx = SessionContext::new();
    p20w_pipeline::udf::register_model_functions(&ctx);
    let clusters = catalogue();
    let pid: Vec<String> = (0..people.len())
        .map(|i| format!("person-{i:05}"))
        .collect();
    let strings = |f: &dyn Fn(&Person) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(people.iter().map(f)))
    };
    let mut outcomes: Vec<(&str, ArrayRef)> = vec![
        ("student_pid", Arc::new(StringArray::from_iter_values(&pid))),
        (
            "cohort",
            Arc::new(Int32Array::from_iter_values(
                people.iter().map(|p| p.cohort),
            )),
        ),
    ];
    for d in DIMS {
        let column = match d {
            "sex" => strings(&|p| p.sex.to_string()),
            "race_ethnicity" => strings(&|_| "White".to_string()),
            "nontraditional" => strings(&|p| nontraditional(p.program, p.sex).to_string()),
            "program" => strings(&|p| p.program.to_string()),
            "career_cluster" => strings(&|p| clusters[p.program].clone()),
            other => {
                let code = DIMENSIONS
                    .iter()
                    .find(|x| x.name == other)
                    .unwrap()
                    .non_member
                    .unwrap();
                strings(&|_| code.to_string())
            }
        };
        outcomes.push((d, column));
    }
    let flags = |f: &dyn Fn(&Person) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from(people.iter().map(f).collect::<Vec<_>>()))
    };
    outcomes.push(("ps_enrolled_fall1", flags(&|p| p.enrolled)));
    outcomes.push((
        "ps_enrolled_fall1_four_year",
        flags(&|p| p.enrolled && !p.two_year),
    ));
    outcomes.push((
        "ps_enrolled_fall1_two_year",
        flags(&|p| p.enrolled && p.two_year),
    ));
    // Every cohort's first fall is in the postsecondary data.
    outcomes.push(("ps_observable_fall1", flags(&|_| true)));
    outcomes.push(("wage_observable_q2", flags(&|_| true)));
    outcomes.push(("employed_q2", flags(&|p| p.enrolled)));
    outcomes.push(("ps_enrolled_q2", flags(&|p| p.enrolled_q2)));
    outcomes.push(("graduated", flags(&|p| p.graduated)));
    outcomes.push(("credential_by_exit", flags(&|p| p.enrolled)));
    outcomes.push((
        "ps_enrolled_within_730d",
        flags(&|p| p.enrolled || p.enrolled_late),
    ));
    outcomes.push((
        "earnings_q2_cents",
        Arc::new(Int64Array::from_iter_values(people.iter().map(|_| 500_000))),
    ));
    let batch = RecordBatch::try_from_iter(outcomes.clone()).unwrap();
    ctx.register_batch("outcomes", batch).unwrap();
    let mut linkage: Vec<(&str, ArrayRef)> = outcomes
        .iter()
        .filter(|(name, _)| {
            ["student_pid", "cohort"].contains(name) || DIMENSIONS.iter().any(|d| d.name == *name)
        })
        .cloned()
        .collect();
    linkage.push(("ssn_linked", flags(&|p| p.enrolled)));
    linkage.push(("ps_record", flags(&|p| p.enrolled)));
    linkage.push(("fuzzy_linked", flags(&|_| false)));
    ctx.register_batch(
        "linkage_persons",
        RecordBatch::try_from_iter(linkage).unwrap(),
    )
    .unwrap();
    ctx
}

/// The aggregate rows of every table a release with the postsecondary family publishes.
async fn aggregates(people: &[Person]) -> Vec<TableRows> {
    aggregates_of(people, "postsecondary_enrollment").await
}

/// The aggregate rows of every table a release of one shipped measure publishes.
async fn aggregates_of(people: &[Person], dataset: &str) -> Vec<TableRows> {
    aggregates_of_all(people, &[dataset]).await
}

/// [`aggregates_of`] for a release of several shipped measures.
async fn aggregates_of_all(people: &[Person], datasets: &[&str]) -> Vec<TableRows> {
    let ctx = session(people);
    let names: Vec<String> = datasets.iter().map(|d| d.to_string()).collect();
    let plan = MeasureCatalog::shipped().select(&names).unwrap();
    let mut out = Vec::new();
    let measures = plan.cell_tables();
    let report = [
        CellTable::linkage_by_group(),
        CellTable::concentrators_by_cohort(),
    ];
    for spec in measures.into_iter().chain(report) {
        let batches = ctx.sql(&spec.sql()).await.unwrap().collect().await.unwrap();
        out.push(TableRows::from_batches(spec, &batches).unwrap());
    }
    out
}

fn pub_rows(t: &TableRows, hidden: &[Vec<bool>]) -> Vec<PubRow> {
    t.rows
        .iter()
        .zip(hidden)
        .map(|(r, h)| PubRow {
            table: t.table.name.to_string(),
            cohort: r.cohort,
            dims: t
                .table
                .dimensions
                .iter()
                .zip(&r.dims)
                .map(|(d, v)| (d.to_string(), v.clone()))
                .collect(),
            counts: t
                .table
                .counts
                .iter()
                .enumerate()
                .map(|(k, c)| (c.name.to_string(), (!h[k]).then_some(r.counts[k])))
                .collect(),
            truth: t
                .table
                .counts
                .iter()
                .enumerate()
                .map(|(k, c)| (c.name.to_string(), r.counts[k]))
                .collect(),
        })
        .collect()
}

/// What the release publishes now.
fn published_now(tables: Vec<TableRows>) -> Vec<PubRow> {
    let copies = tables.clone();
    let protected = protect(tables, RULE, CteProgramCatalog::builtin());
    copies
        .iter()
        .zip(&protected)
        .flat_map(|(t, p)| pub_rows(t, &p.hidden))
        .collect()
}

/// What the release published before the cell model: each outcome table on its own, with
/// relations "a dimension's groups add up to the cohort total" and "race × sex cells add up
/// to their margins"; the report's pooled counts completed against their total.
fn published_before(tables: &[TableRows]) -> Vec<PubRow> {
    let mut out = Vec::new();
    for t in tables {
        let hidden = match t.table.name.as_str() {
            "linkage_by_group" => old_report(t),
            "concentrators_by_cohort" => t
                .rows
                .iter()
                .map(|r| vec![RULE.statistic_cell(r.counts[0]) == CellStatus::Suppressed])
                .collect(),
            _ => old_outcome_table(t),
        };
        out.extend(pub_rows(t, &hidden));
    }
    out
}

fn old_outcome_table(t: &TableRows) -> Vec<Vec<bool>> {
    let dims = &t.table.dimensions;
    let class = |r: &p20w_pipeline::protect::AggregateRow| {
        let grouped: Vec<(&String, &&str)> = r
            .dims
            .iter()
            .zip(dims)
            .filter(|(v, _)| *v != "All")
            .collect();
        if grouped.is_empty() {
            return 2u8;
        }
        let low = grouped.iter().any(|(v, name)| {
            DIMENSIONS.iter().any(|d| {
                d.name == **name && (**v == d.not_reported || Some(v.as_str()) == d.non_member)
            })
        });
        if low { 0 } else { 1 }
    };
    let weight: Vec<(u8, u64)> = t.rows.iter().map(|r| (class(r), r.counts[0])).collect();
    let find = |cohort: Option<i32>, dims: &[String]| {
        t.rows
            .iter()
            .position(|r| r.cohort == cohort && r.dims == dims)
    };
    let mut relations: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, r) in t.rows.iter().enumerate() {
        let grouped: Vec<usize> = (0..dims.len()).filter(|&k| r.dims[k] != "All").collect();
        let all = vec!["All".to_string(); dims.len()];
        match grouped.as_slice() {
            [k] => {
                let e = relations
                    .entry(format!("{:?}/{}", r.cohort, dims[*k]))
                    .or_default();
                if e.is_empty() {
                    e.extend(find(r.cohort, &all));
                }
                e.push(i);
            }
            [a, b] => {
                for keep in [*a, *b] {
                    let mut m = all.clone();
                    m[keep] = r.dims[keep].clone();
                    if let Some(p) = find(r.cohort, &m) {
                        let e = relations
                            .entry(format!("{:?}/{}={}", r.cohort, dims[keep], r.dims[keep]))
                            .or_default();
                        if e.is_empty() {
                            e.push(p);
                        }
                        e.push(i);
                    }
                }
            }
            _ => {}
        }
    }
    let relations: Vec<Vec<usize>> = relations.into_values().collect();
    let mut num: Vec<bool> = t
        .rows
        .iter()
        .map(|r| RULE.rate_cell(r.counts[0], r.counts[1]) == CellStatus::Suppressed)
        .collect();
    let mut den: Vec<bool> = t
        .rows
        .iter()
        .map(|r| RULE.statistic_cell(r.counts[0]) == CellStatus::Suppressed)
        .collect();
    loop {
        complete_pattern(&mut num, &weight, &relations);
        complete_pattern(&mut den, &weight, &relations);
        let mut changed = false;
        for (n, d) in num.iter_mut().zip(&den) {
            if *d && !*n {
                *n = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    num.iter().zip(&den).map(|(n, d)| vec![*d, *n]).collect()
}

fn old_report(t: &TableRows) -> Vec<Vec<bool>> {
    // Each dimension's groups, completed against the (published) total row.
    let total = t
        .rows
        .iter()
        .position(|r| r.dims.iter().all(|v| v == "All"))
        .unwrap();
    let mut hidden: Vec<Vec<bool>> = t
        .rows
        .iter()
        .map(|r| {
            let p = RULE.statistic_cell(r.counts[0]) == CellStatus::Suppressed;
            let mut h = vec![p];
            h.extend(
                r.counts[1..]
                    .iter()
                    .map(|&k| p || RULE.rate_cell(r.counts[0], k) == CellStatus::Suppressed),
            );
            h
        })
        .collect();
    let counts = t.table.counts.len();
    hidden[total] = vec![false; counts];
    for k in 0..t.table.dimensions.len() {
        let members: Vec<usize> = (0..t.rows.len())
            .filter(|&i| t.rows[i].dims[k] != "All")
            .collect();
        let mut relation = vec![total];
        relation.extend(&members);
        let mut weight: Vec<u64> = t.rows.iter().map(|r| r.counts[0]).collect();
        weight[total] = u64::MAX;
        for c in 0..counts {
            let mut h: Vec<bool> = hidden.iter().map(|x| x[c]).collect();
            complete_pattern(&mut h, &weight, std::slice::from_ref(&relation));
            for (i, v) in h.into_iter().enumerate() {
                hidden[i][c] = v;
            }
        }
    }
    hidden
}

fn attack_works(rows: &[PubRow], what: &str, value: u64) -> bool {
    recoverable(rows).iter().any(|r: &Recovered| {
        r.what.contains(what) && (r.value - value as f64).abs() < 1e-6 && r.truth == Some(value)
    })
}

/// Now: nothing the attacker solves for is recoverable, and no published count is small.
fn assert_safe_now(tables: Vec<TableRows>) {
    let now = published_now(tables);
    let found = recoverable(&now);
    assert!(found.is_empty(), "recovered now: {found:#?}");
    for r in &now {
        let people = ["denominator", "persons"]
            .iter()
            .find_map(|n| r.counts.get(*n))
            .unwrap();
        for (name, v) in &r.counts {
            let Some(v) = *v else { continue };
            if Some(&Some(v)) == Some(people) && (name == "denominator" || name == "persons") {
                assert!(v >= 10, "a group of {v} is published: {r:?}");
            } else {
                let d = people.expect("a published count has its group published");
                assert!(
                    v >= 10 && d - v >= 10,
                    "{name} {v} of {d} is published: {r:?}"
                );
            }
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

/// Cluster 09 holds one program (12.0500), cluster 04 one (52.0101). Program 11.0201 (its
/// cluster's only program here) has 5 of 20 enrolled: suppressed. Among the programs the
/// smallest partner is 12.0500 (20, lower code than 52.0101's 20); among the clusters it is
/// cluster 04. So 12.0500 is hidden but cluster 09 — the same 20 people — is published:
/// 12.0500 = cluster 09 = 10, then 11.0201 = total 25 − 10 − 10 = 5.
#[test]
fn a_program_alone_in_its_cluster_is_not_given_back_by_the_cluster() {
    let people = [
        group(2022, "Male", "11.0201", 20, 5),
        group(2022, "Male", "12.0500", 20, 10),
        group(2022, "Male", "52.0101", 20, 10),
    ]
    .concat();
    let tables = block_on(aggregates(&people));
    let before = published_before(&tables);
    assert!(attack_works(
        &before,
        "[(\"program\", \"12.0500\")] numerator",
        10
    ));
    assert!(attack_works(
        &before,
        "[(\"program\", \"11.0201\")] numerator",
        5
    ));
    assert_safe_now(tables);
}

/// Cluster 11 = 11.0201 (5 of 20 enrolled: suppressed) + 11.0901 (15 of 30). The program
/// margin's partner is 12.0401 (smallest, 20); cluster 11 (20 of 50) stays published, so
/// 11.0201 = cluster 11 − 11.0901 = 20 − 15 = 5.
#[test]
fn a_program_inside_a_two_program_cluster_is_not_given_back_by_its_sibling() {
    let people = [
        group(2022, "Male", "11.0201", 20, 5),
        group(2022, "Male", "11.0901", 30, 15),
        group(2022, "Male", "12.0401", 20, 10),
        group(2022, "Male", "19.0709", 40, 20),
    ]
    .concat();
    let tables = block_on(aggregates(&people));
    let before = published_before(&tables);
    assert!(attack_works(
        &before,
        "[(\"program\", \"11.0201\")] numerator",
        5
    ));
    assert_safe_now(tables);
}

/// 2021: 60 concentrators of reported sex and 5 of unreported sex; 2022: 60 and 20.
fn two_cohorts_with_a_small_unreported_sex_group() -> Vec<Person> {
    [
        group(2021, "Female", "52.0101", 30, 15),
        group(2021, "Male", "52.0101", 30, 15),
        group(2021, "NotSelected", "52.0101", 5, 2),
        group(2022, "Female", "52.0101", 30, 15),
        group(2022, "Male", "52.0101", 30, 15),
        group(2022, "NotSelected", "52.0101", 20, 10),
    ]
    .concat()
}

/// 2021: 5 concentrators of unreported sex (suppressed; its partner is Female). 2022: 20.
/// The report pools both cohorts: 25 of unreported sex, published. So 2021's group = 25 − 20
/// = 5, and 2021's Female = 60 − 30 = 30.
#[test]
fn a_report_figure_pooled_over_cohorts_does_not_give_back_a_cohort_cell() {
    let people = two_cohorts_with_a_small_unreported_sex_group();
    let tables = block_on(aggregates(&people));
    let before = published_before(&tables);
    assert!(attack_works(
        &before,
        "Some(2021) [(\"sex\", \"NotSelected\")] denominator",
        5
    ));
    assert!(attack_works(
        &before,
        "Some(2021) [(\"sex\", \"Female\")] denominator",
        30
    ));
    assert_safe_now(tables);
}

/// Male: 5 of 30 enrolled (suppressed). Its partner is the "not selected" group (10 of 20),
/// the cheapest to give up — but `nontraditional = NotReported` counts exactly those 20 and
/// stays published: Male = total 30 − Female 15 − NotReported 10 = 5.
#[test]
fn not_reported_nontraditional_status_does_not_give_back_not_selected_sex() {
    let people = [
        group(2022, "Female", "52.0101", 30, 15),
        group(2022, "Male", "52.0101", 30, 5),
        group(2022, "NotSelected", "52.0101", 20, 10),
    ]
    .concat();
    let tables = block_on(aggregates(&people));
    let before = published_before(&tables);
    assert!(attack_works(
        &before,
        "[(\"sex\", \"NotSelected\")] numerator",
        10
    ));
    assert!(attack_works(&before, "[(\"sex\", \"Male\")] numerator", 5));
    assert_safe_now(tables);
}

/// The same attack on a release of the employment family alone, where every exiter's wages are
/// observable: its cohort totals equal the report's concentrators, so the report's pooled
/// figures are sums of its denominators too. 2021's unreported-sex group = 25 − 20 = 5.
#[test]
fn a_report_figure_pooled_over_cohorts_does_not_give_back_an_employment_cell() {
    let people = two_cohorts_with_a_small_unreported_sex_group();
    let tables = block_on(aggregates_of(&people, "employment_earnings"));
    let before = published_before(&tables);
    assert!(attack_works(
        &before,
        "employment_earnings Some(2021) [(\"sex\", \"NotSelected\")] denominator",
        5
    ));
    assert_safe_now(tables);
}

/// Groups of two tables where both publish their numerators and the inner one's (nested in
/// the outer's) falls short of it by fewer than the minimum.
fn small_differences(rows: &[PubRow], inner: &str, outer: &str) -> Vec<String> {
    small_count_differences(rows, inner, outer, "numerator")
}

/// [`small_differences`] of any one count of the two tables.
fn small_count_differences(rows: &[PubRow], inner: &str, outer: &str, count: &str) -> Vec<String> {
    let numerators = |table: &str| -> BTreeMap<String, (Option<u64>, u64)> {
        rows.iter()
            .filter(|r| r.table == table)
            .map(|r| {
                let key = format!("{:?} {:?}", r.cohort, r.dims);
                (key, (r.counts[count], r.truth[count]))
            })
            .collect()
    };
    let (inner, outer) = (numerators(inner), numerators(outer));
    let mut small = Vec::new();
    for (key, (shown_outer, all)) in &outer {
        let (shown_inner, some) = inner[key];
        assert!(
            *all >= some,
            "{key}: the inner count is nested in the outer"
        );
        if shown_inner.is_some() && shown_outer.is_some() && all - some < 10 {
            small.push(key.clone());
        }
    }
    small
}

/// 3S1 places the employed and the enrolled; the employment measure counts the employed of the
/// same people. Three women of 2021 are enrolled and not employed: both numerators published
/// would give that 3 by subtraction (23 − 20), as they would for the cohort total (48 − 45).
/// Every group publishes at most one of the two numerators unless their difference is at least
/// the minimum cell size.
#[test]
fn a_placement_count_does_not_give_back_the_few_placed_only_by_enrollment() {
    let mut people = group(2021, "Female", "46.0201", 40, 20);
    for p in &mut people[20..23] {
        p.enrolled_q2 = true;
    }
    people.extend(group(2021, "Male", "46.0201", 40, 25));
    let pair = ["employment_earnings", "perkins_3s1_placement"];
    let tables = block_on(aggregates_of_all(&people, &pair));
    let before = small_differences(&published_before(&tables), pair[0], pair[1]);
    assert!(
        before.iter().any(|k| k.contains("\"Female\"")) && before.len() >= 2,
        "the tables on their own give the difference away: {before:?}"
    );
    let now = small_differences(&published_now(tables), pair[0], pair[1]);
    assert!(now.is_empty(), "differences below the minimum: {now:?}");
}

/// Enrollment on the first fall census implies enrollment within two years of exit, a nesting
/// no shared column shows: three women of 2021 enrolled later than the first fall (23 − 20)
/// stay hidden all the same.
#[test]
fn the_first_fall_does_not_give_back_the_few_late_enrollers() {
    let mut people = group(2021, "Female", "46.0201", 40, 20);
    for p in &mut people[20..23] {
        p.enrolled_late = true;
    }
    people.extend(group(2021, "Male", "46.0201", 40, 25));
    let pair = ["postsecondary_enrollment", "college_enrollment_two_years"];
    let tables = block_on(aggregates_of_all(&people, &pair));
    let before = small_differences(&published_before(&tables), pair[0], pair[1]);
    assert!(
        before.iter().any(|k| k.contains("\"Female\"")),
        "the tables on their own give the late enrollers away: {before:?}"
    );
    let now = small_differences(&published_now(tables), pair[0], pair[1]);
    assert!(now.is_empty(), "differences below the minimum: {now:?}");
}

/// 5S1 counts the graduates among every concentrator that the postsecondary measure counts:
/// three women of 2021 who left without graduating would show as 40 − 37 between the two
/// published denominators, in their group and in the cohort total.
#[test]
fn the_graduates_do_not_give_back_the_few_who_did_not_graduate() {
    let mut people = group(2021, "Female", "46.0201", 40, 20);
    for p in &mut people[37..] {
        p.graduated = false;
    }
    people.extend(group(2021, "Male", "46.0201", 40, 25));
    let pair = ["perkins_5s1_credential", "postsecondary_enrollment"];
    let tables = block_on(aggregates_of_all(&people, &pair));
    let before =
        small_count_differences(&published_before(&tables), pair[0], pair[1], "denominator");
    assert!(
        before.iter().any(|k| k.contains("\"Female\"")) && before.len() >= 2,
        "the tables on their own give the non-graduates away: {before:?}"
    );
    let now = small_count_differences(&published_now(tables), pair[0], pair[1], "denominator");
    assert!(now.is_empty(), "differences below the minimum: {now:?}");
}

/// The first fall's enrollers are the 4-year plus the 2-year ones. Two women of 2021 in
/// Carpentry enrolled at a 2-year college: the 2-year table hides them, and the first-fall and
/// 4-year tables, published beside it, would give them back by subtraction (20 − 18), directly
/// or through the other groups' published 2-year counts.
#[test]
fn the_first_fall_and_the_four_year_enrollers_do_not_give_back_a_few_at_two_year_colleges() {
    let mut people = Vec::new();
    for (sex, program, n, enrolled, two_year) in [
        ("Female", "46.0201", 40, 20, 2),
        ("Male", "46.0201", 40, 25, 12),
        ("Female", "52.0101", 40, 24, 11),
        ("Male", "52.0101", 40, 26, 13),
    ] {
        let mut g = group(2021, sex, program, n, enrolled);
        for p in &mut g[enrolled - two_year..enrolled] {
            p.two_year = true;
        }
        people.extend(g);
    }
    let tables = block_on(aggregates_of_all(
        &people,
        &[
            "postsecondary_enrollment",
            "postsecondary_enrollment_four_year",
            "postsecondary_enrollment_two_year",
        ],
    ));
    let before = published_before(&tables);
    assert!(
        attack_works(&before, "postsecondary_enrollment_two_year", 2),
        "the tables on their own give the two away: {:#?}",
        recoverable(&before)
    );
    assert_safe_now(tables);
}
