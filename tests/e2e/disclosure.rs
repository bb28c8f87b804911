//! The whole release of the shared synthetic state against the attacker: no hidden count of
//! any table or of the run report can be solved for from everything published.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int32Type, Int64Type};

use crate::attack::{PubRow, recoverable};
use crate::common::{DIMS, release_tables, state};

const MIN_CELL: u64 = 10;

fn release_rows(release: &Path) -> Vec<PubRow> {
    let mut rows = Vec::new();
    for (path, batches) in release_tables(release) {
        let table = path.split('/').next().unwrap().to_string();
        for b in &batches {
            let col = |n: &str| b.column_by_name(n).unwrap_or_else(|| panic!("column {n}"));
            for i in 0..b.num_rows() {
                let count = |n: &str| {
                    let a = col(n).as_primitive::<Int64Type>();
                    a.is_valid(i).then(|| a.value(i) as u64)
                };
                rows.push(PubRow {
                    table: table.clone(),
                    cohort: Some(col("cohort").as_primitive::<Int32Type>().value(i)),
                    dims: DIMS
                        .iter()
                        .map(|d| {
                            (
                                d.to_string(),
                                col(d).as_string::<i32>().value(i).to_string(),
                            )
                        })
                        .collect(),
                    counts: [
                        ("denominator", count("denominator")),
                        ("numerator", count("numerator")),
                    ]
                    .into_iter()
                    .map(|(n, v)| (n.to_string(), v))
                    .collect(),
                    truth: BTreeMap::new(),
                });
            }
        }
    }
    let text = std::fs::read_to_string(release.join("run_report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    for g in report["linkage_by_group"].as_array().unwrap() {
        let mut dims: BTreeMap<String, String> = ["sex", "race_ethnicity"]
            .iter()
            .map(|d| (d.to_string(), "All".to_string()))
            .collect();
        let dim = g["dimension"].as_str().unwrap();
        if dim != "all" {
            dims.insert(dim.to_string(), g["group"].as_str().unwrap().to_string());
        }
        rows.push(PubRow {
            table: "linkage_by_group".into(),
            cohort: None,
            dims,
            counts: ["persons", "with_ssn_link", "with_postsecondary_record"]
                .iter()
                .map(|f| (f.to_string(), g[*f].as_u64()))
                .collect(),
            truth: BTreeMap::new(),
        });
    }
    for (cohort, n) in report["concentrators_by_cohort"].as_object().unwrap() {
        rows.push(PubRow {
            table: "concentrators_by_cohort".into(),
            cohort: Some(cohort.parse().unwrap()),
            dims: BTreeMap::new(),
            counts: [("persons".to_string(), n.as_u64())].into_iter().collect(),
            truth: BTreeMap::new(),
        });
    }
    rows
}

#[test]
fn no_hidden_count_of_the_release_can_be_solved_for() {
    assert_no_hidden_count_solvable(&state().release);
    assert_no_hidden_count_solvable(&state().fuzzy_release);
}

pub(crate) fn assert_no_hidden_count_solvable(release: &Path) {
    let rows = release_rows(release);
    let hidden = rows
        .iter()
        .flat_map(|r| r.counts.values())
        .filter(|v| v.is_none())
        .count();
    assert!(
        hidden > 100,
        "the state must exercise suppression ({hidden} hidden)"
    );
    let found = recoverable(&rows);
    assert!(found.is_empty(), "recovered: {found:#?}");
}

#[test]
fn no_small_group_is_published_anywhere() {
    assert_no_small_group_published(&state().release);
    assert_no_small_group_published(&state().fuzzy_release);
}

pub(crate) fn assert_no_small_group_published(release: &Path) {
    for r in release_rows(release) {
        let people = r
            .counts
            .get("denominator")
            .or(r.counts.get("persons"))
            .copied()
            .flatten();
        for (name, v) in &r.counts {
            let Some(v) = *v else { continue };
            if name == "denominator" || name == "persons" {
                assert!(v >= MIN_CELL, "{r:?}");
            } else {
                let d = people.expect("a published count has its group published");
                assert!(v >= MIN_CELL && d - v >= MIN_CELL, "{name} in {r:?}");
            }
        }
    }
}
