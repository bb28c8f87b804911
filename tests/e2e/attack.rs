//! An attacker who solves the published equations.
//!
//! Written from what a reader of a release knows, never from the pipeline's code: the tables'
//! layout (each dimension's groups add up to the cohort total, race × sex cells to their race
//! and sex rows), the public CTE program catalogue (programs add up to their career cluster),
//! the dictionary's definitions (`nontraditional = NotReported` is exactly `sex =
//! NotSelected`; the run report pools the cohorts of the outcome tables; employment counts the
//! concentrators whose wages are observable, so where its cohort total equals the
//! postsecondary one, every group's denominators are the same people), and every published
//! number. It then finds, by exact elimination, each hidden count the equations pin down.

use std::collections::{BTreeMap, HashMap};

use crate::common::DIMS;

/// One published row: its table, cohort (None when pooled), group and counts (None = hidden).
#[derive(Debug, Clone)]
pub struct PubRow {
    pub table: String,
    pub cohort: Option<i32>,
    pub dims: BTreeMap<String, String>,
    pub counts: BTreeMap<String, Option<u64>>,
    /// The truth where the test knows it, to show what the attacker recovered.
    pub truth: BTreeMap<String, u64>,
}

impl PubRow {
    fn grouped(&self) -> Vec<(&str, &str)> {
        self.dims
            .iter()
            .filter(|(_, v)| *v != "All")
            .map(|(d, v)| (d.as_str(), v.as_str()))
            .collect()
    }
}

/// A count the attacker pinned down.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    pub what: String,
    pub value: f64,
    pub truth: Option<u64>,
}

/// Career cluster of every program, from the public catalogue shipped with the source.
pub fn catalogue() -> HashMap<String, String> {
    let path = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../schemas/data/cte_programs.csv");
    crate::common::read_csv(&path)
        .into_iter()
        .map(|r| (r["cip_code"].clone(), r["career_cluster"].clone()))
        .collect()
}

/// Variables: one per (row, count). An equation is Σ coef · var = 0.
struct System {
    values: Vec<Option<f64>>,
    names: Vec<String>,
    truth: Vec<Option<u64>>,
    equations: Vec<Vec<(usize, f64)>>,
}

impl System {
    /// `parent = sum(children)`.
    fn sum(&mut self, parent: usize, children: &[usize]) {
        if children.is_empty() {
            return;
        }
        let mut e = vec![(parent, 1.0)];
        e.extend(children.iter().map(|&c| (c, -1.0)));
        self.equations.push(e);
    }

    fn recoverable(&self) -> Vec<Recovered> {
        // Unknowns and the equations that hold at least one.
        let unknown: Vec<usize> = (0..self.values.len())
            .filter(|&v| self.values[v].is_none())
            .collect();
        let col: HashMap<usize, usize> = unknown.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        let mut rows: Vec<(Vec<f64>, f64)> = Vec::new();
        for e in &self.equations {
            let mut coef = vec![0.0; unknown.len()];
            let mut rhs = 0.0;
            let mut any = false;
            for &(v, c) in e {
                match self.values[v] {
                    Some(x) => rhs -= c * x,
                    None => {
                        coef[col[&v]] += c;
                        any = true;
                    }
                }
            }
            if any {
                rows.push((coef, rhs));
            }
        }
        // Components of unknowns tied by equations keep the elimination small.
        let mut parent: Vec<usize> = (0..unknown.len()).collect();
        fn find(p: &mut [usize], x: usize) -> usize {
            let mut r = x;
            while p[r] != r {
                r = p[r];
            }
            p[x] = r;
            r
        }
        for (coef, _) in &rows {
            let vars: Vec<usize> = (0..coef.len()).filter(|&i| coef[i] != 0.0).collect();
            for w in vars.windows(2) {
                let (a, b) = (find(&mut parent, w[0]), find(&mut parent, w[1]));
                parent[a] = b;
            }
        }
        let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..unknown.len() {
            let r = find(&mut parent, i);
            components.entry(r).or_default().push(i);
        }
        let mut out = Vec::new();
        for members in components.values() {
            let mut m: Vec<Vec<f64>> = rows
                .iter()
                .filter(|(coef, _)| members.iter().any(|&u| coef[u] != 0.0))
                .map(|(coef, rhs)| {
                    let mut r: Vec<f64> = members.iter().map(|&u| coef[u]).collect();
                    r.push(*rhs);
                    r
                })
                .collect();
            let n = members.len();
            let mut pivots = Vec::new();
            let mut r0 = 0;
            for c in 0..n {
                let Some(p) =
                    (r0..m.len()).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
                else {
                    break;
                };
                if m[p][c].abs() < 1e-9 {
                    continue;
                }
                m.swap(r0, p);
                let d = m[r0][c];
                for x in m[r0].iter_mut() {
                    *x /= d;
                }
                for r in 0..m.len() {
                    if r != r0 && m[r][c].abs() > 1e-12 {
                        let f = m[r][c];
                        for k in 0..=n {
                            m[r][k] -= f * m[r0][k];
                        }
                    }
                }
                pivots.push((r0, c));
                r0 += 1;
            }
            for (r, c) in pivots {
                let alone = (0..n).all(|k| k == c || m[r][k].abs() < 1e-9);
                if alone {
                    let v = unknown[members[c]];
                    out.push(Recovered {
                        what: self.names[v].clone(),
                        value: m[r][n],
                        truth: self.truth[v],
                    });
                }
            }
        }
        out
    }
}

/// Every hidden count of `rows` that the published equations determine.
pub fn recoverable(rows: &[PubRow]) -> Vec<Recovered> {
    let mut sys = System {
        values: vec![],
        names: vec![],
        truth: vec![],
        equations: vec![],
    };
    let mut var: HashMap<(usize, String), usize> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        for (name, v) in &r.counts {
            var.insert((i, name.clone()), sys.values.len());
            sys.values.push(v.map(|x| x as f64));
            sys.names.push(format!(
                "{} {:?} {:?} {name}",
                r.table,
                r.cohort,
                r.grouped()
            ));
            sys.truth.push(r.truth.get(name).copied());
        }
    }
    let key = |r: &PubRow| (r.table.clone(), r.cohort, r.dims.clone());
    let index: HashMap<_, usize> = rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect();
    let lookup = |table: &str, cohort: Option<i32>, dims: &BTreeMap<String, String>| {
        index
            .get(&(table.to_string(), cohort, dims.clone()))
            .copied()
    };
    let clusters = catalogue();
    // (table, cohort, parent row, relation) -> children
    let mut sums: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        let grouped = r.grouped();
        let with = |changes: &[(&str, &str)]| {
            let mut d = r.dims.clone();
            for (k, v) in changes {
                d.insert(k.to_string(), v.to_string());
            }
            lookup(&r.table, r.cohort, &d)
        };
        match grouped.as_slice() {
            // A dimension's groups add up to the total of the row's cohort.
            [(d, v)] => {
                if let Some(total) = with(&[(d, "All")]) {
                    sums.entry((total, format!("margin {d}")))
                        .or_default()
                        .push(i);
                }
                if *d == "program"
                    && let Some(c) = clusters.get(*v)
                    && let Some(cluster) = with(&[("program", "All"), ("career_cluster", c)])
                {
                    sums.entry((cluster, "cluster".into())).or_default().push(i);
                }
                if *d == "sex"
                    && *v == "NotSelected"
                    && let Some(nr) = with(&[("sex", "All"), ("nontraditional", "NotReported")])
                {
                    for c in r.counts.keys() {
                        sys.sum(var[&(i, c.clone())], &[var[&(nr, c.clone())]]);
                    }
                }
            }
            // Race × sex cells add up to their race row and their sex row.
            [(a, _), (b, _)] => {
                for d in [a, b] {
                    if let Some(margin) = with(&[(d, "All")]) {
                        sums.entry((margin, format!("margin {d}")))
                            .or_default()
                            .push(i);
                    }
                }
            }
            _ => {}
        }
    }
    // Cross-table facts.
    for (i, r) in rows.iter().enumerate() {
        match r.table.as_str() {
            // The report's concentrators per cohort are the postsecondary cohort totals.
            "concentrators_by_cohort" => {
                let mut total = BTreeMap::new();
                for d in DIMS {
                    total.insert(d.to_string(), "All".to_string());
                }
                if let Some(t) = lookup("postsecondary_enrollment", r.cohort, &total) {
                    sys.sum(
                        var[&(i, "persons".into())],
                        &[var[&(t, "denominator".into())]],
                    );
                }
            }
            // The report pools the cohorts of the postsecondary table, group by group, and of
            // the employment table too when its cohort totals are the report's concentrators.
            "linkage_by_group" => {
                for table in ["postsecondary_enrollment", "employment_earnings"] {
                    if table == "employment_earnings" && !employment_is_everyone(rows) {
                        continue;
                    }
                    let children: Vec<usize> = rows
                        .iter()
                        .enumerate()
                        .filter(|(_, o)| {
                            o.table == table
                                && o.dims
                                    .iter()
                                    .all(|(d, v)| r.dims.get(d).map_or(v == "All", |rv| rv == v))
                        })
                        .map(|(j, _)| var[&(j, "denominator".into())])
                        .collect();
                    sys.sum(var[&(i, "persons".into())], &children);
                }
            }
            // Every institution is a 4-year or a 2-year one, and the 4-year wins a census that
            // finds both: the first fall's enrollers are the 4-year plus the 2-year ones, of the
            // same concentrators.
            "postsecondary_enrollment" => {
                let four = lookup("postsecondary_enrollment_four_year", r.cohort, &r.dims);
                let two = lookup("postsecondary_enrollment_two_year", r.cohort, &r.dims);
                if let (Some(four), Some(two)) = (four, two) {
                    let (num, den) = ("numerator".to_string(), "denominator".to_string());
                    sys.sum(
                        var[&(i, num.clone())],
                        &[var[&(four, num.clone())], var[&(two, num)]],
                    );
                    for other in [four, two] {
                        sys.sum(var[&(i, den.clone())], &[var[&(other, den.clone())]]);
                    }
                }
            }
            // Employment with the same cohort total as postsecondary counts the same people.
            "employment_earnings" => {
                let Some(ps) = lookup("postsecondary_enrollment", r.cohort, &r.dims) else {
                    continue;
                };
                let total: BTreeMap<String, String> = r
                    .dims
                    .keys()
                    .map(|d| (d.clone(), "All".to_string()))
                    .collect();
                let (Some(et), Some(pt)) = (
                    lookup("employment_earnings", r.cohort, &total),
                    lookup("postsecondary_enrollment", r.cohort, &total),
                ) else {
                    continue;
                };
                let den = "denominator".to_string();
                if let (Some(a), Some(b)) = (rows[et].counts[&den], rows[pt].counts[&den])
                    && a == b
                {
                    sys.sum(var[&(i, den.clone())], &[var[&(ps, den.clone())]]);
                }
            }
            _ => {}
        }
    }
    for ((parent, _), children) in sums {
        for c in rows[parent].counts.keys() {
            let kids: Vec<usize> = children.iter().map(|&k| var[&(k, c.clone())]).collect();
            sys.sum(var[&(parent, c.clone())], &kids);
        }
    }
    sys.recoverable()
}

/// Whether every cohort's employment total is published and equals the report's concentrators
/// of that cohort: then employment counts every concentrator.
fn employment_is_everyone(rows: &[PubRow]) -> bool {
    let cohorts: Vec<&PubRow> = rows
        .iter()
        .filter(|r| r.table == "concentrators_by_cohort")
        .collect();
    !cohorts.is_empty()
        && cohorts.iter().all(|c| {
            rows.iter().any(|r| {
                r.table == "employment_earnings"
                    && r.cohort == c.cohort
                    && r.dims.values().all(|v| v == "All")
                    && r.counts["denominator"].is_some()
                    && r.counts["denominator"] == c.counts["persons"]
            })
        })
}
