//! Which hidden cells the published equations pin down exactly.
//!
//! Every relation is a linear equation among cells. Substituting the published cells leaves a
//! system in the hidden ones; a hidden cell is determined exactly when its unit vector lies in
//! the row space of that system, that is when some row of the reduced row echelon form has its
//! only non-zero entry in the cell's column. Relations only ever tie small groups of cells, so
//! the system is split into connected components and each is eliminated on its own.
//!
//! This catches what "no relation has exactly one hidden cell" misses: two relations with two
//! hidden cells each can still be combined to isolate one. It does not bound intervals (that
//! needs non-negativity and an LP solver).

use std::collections::BTreeMap;

use crate::Relation;

/// Coefficients are small integers, so a generous tolerance separates zero from non-zero.
const EPS: f64 = 1e-7;

/// The equation of a relation as (cell, coefficient): `cells[0] − Σ cells[1..] = 0`.
fn equation(r: &Relation) -> impl Iterator<Item = (usize, f64)> + '_ {
    r.cells
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, if i == 0 { 1.0 } else { -1.0 }))
}

/// The hidden cells that the relations determine, in increasing order.
pub fn determined(hidden: &[bool], relations: &[Relation]) -> Vec<usize> {
    // Equations restricted to hidden cells; rows without any are already satisfied.
    let rows: Vec<Vec<(usize, f64)>> = relations
        .iter()
        .map(|r| {
            let mut row: BTreeMap<usize, f64> = BTreeMap::new();
            for (c, k) in equation(r) {
                if hidden[c] {
                    *row.entry(c).or_default() += k;
                }
            }
            row.into_iter().filter(|(_, k)| k.abs() > EPS).collect()
        })
        .filter(|row: &Vec<(usize, f64)>| !row.is_empty())
        .collect();
    let mut parent: Vec<usize> = (0..hidden.len()).collect();
    fn root(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for row in &rows {
        for w in row.windows(2) {
            let (a, b) = (root(&mut parent, w[0].0), root(&mut parent, w[1].0));
            parent[a] = b;
        }
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let r = root(&mut parent, row[0].0);
        components.entry(r).or_default().push(i);
    }
    let mut out = Vec::new();
    for row_ids in components.values() {
        let mut cols: Vec<usize> = row_ids
            .iter()
            .flat_map(|&i| rows[i].iter().map(|(c, _)| *c))
            .collect();
        cols.sort_unstable();
        cols.dedup();
        let n = cols.len();
        let mut m: Vec<Vec<f64>> = row_ids
            .iter()
            .map(|&i| {
                let mut dense = vec![0.0; n];
                for (c, k) in &rows[i] {
                    dense[cols.binary_search(c).expect("column of its component")] += k;
                }
                dense
            })
            .collect();
        let mut pivots = Vec::new();
        let mut top = 0;
        for c in 0..n {
            if top == m.len() {
                break;
            }
            let best = (top..m.len())
                .max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
                .expect("rows left");
            if m[best][c].abs() < EPS {
                continue;
            }
            m.swap(top, best);
            let d = m[top][c];
            m[top].iter_mut().for_each(|x| *x /= d);
            let pivot_row = m[top].clone();
            for (r, row) in m.iter_mut().enumerate() {
                let f = row[c];
                if r != top && f.abs() > EPS {
                    row.iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(x, p)| *x -= f * p);
                }
            }
            pivots.push((top, c));
            top += 1;
        }
        for (r, c) in pivots {
            if (0..n).all(|k| k == c || m[r][k].abs() < EPS) {
                out.push(cols[c]);
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RelationKind;

    fn sum(cells: &[usize]) -> Relation {
        Relation {
            kind: RelationKind::Margin,
            cells: cells.to_vec(),
        }
    }

    /// Cohorts × race with totals both ways. Hidden: Asian and NHPI in 2019 and 2020, AIAN in
    /// 2020 and 2021. Every relation holds at least two hidden cells, yet
    /// row 2020 + row 2019 − Asian column − NHPI column = AIAN 2020, and then AIAN 2021.
    #[test]
    fn relations_combined_can_isolate_a_cell() {
        // 0 A19, 1 N19, 2 A20, 3 N20, 4 I20, 5 I21; totals: 6 r19, 7 r20, 8 cA, 9 cN, 10 cI.
        let relations = vec![
            sum(&[6, 0, 1]),
            sum(&[7, 2, 3, 4]),
            sum(&[8, 0, 2]),
            sum(&[9, 1, 3]),
            sum(&[10, 4, 5]),
        ];
        let mut hidden = vec![false; 11];
        hidden[..6].fill(true);
        assert_eq!(determined(&hidden, &relations), vec![4, 5]);
        // Hiding the 2020 total as well leaves a rectangle and a free pair: nothing is pinned.
        hidden[7] = true;
        assert!(determined(&hidden, &relations).is_empty());
    }

    #[test]
    fn a_relation_with_one_hidden_cell_gives_it() {
        let relations = vec![sum(&[0, 1, 2])];
        assert_eq!(determined(&[false, true, false], &relations), vec![1]);
        assert!(determined(&[false, true, true], &relations).is_empty());
    }
}
