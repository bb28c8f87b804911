//! Complementary suppression against single-equation subtraction.
//!
//! A published table holds additive relations: a dimension's groups add up to the total, a
//! two-way table's cells add up to each margin. If exactly one cell of a relation is hidden,
//! subtracting the others from the parent reveals it. [`complete_pattern`] hides further cells
//! until every relation has none or at least two hidden cells. It does not prove that no
//! combination of relations can pin a hidden cell down; that is the LP audit's job.

/// Extends `hidden` (one flag per cell) so that no relation in `relations` (lists of cell
/// indexes) has exactly one hidden cell. Each extra cell is the visible cell of the offending
/// relation with the smallest `weight` (lowest index on a tie), so the pattern is
/// deterministic; callers rank cells by how much a reader loses when they go. Returns how many
/// cells it hid.
pub fn complete_pattern<W: Ord + Copy>(
    hidden: &mut [bool],
    weight: &[W],
    relations: &[Vec<usize>],
) -> usize {
    assert_eq!(hidden.len(), weight.len(), "one weight per cell");
    let mut added = 0;
    loop {
        let mut changed = false;
        for relation in relations {
            if relation.iter().filter(|&&c| hidden[c]).count() != 1 {
                continue;
            }
            if let Some(c) = cheapest_visible(relation.iter().copied(), hidden, weight) {
                hidden[c] = true;
                added += 1;
                changed = true;
            }
        }
        if !changed {
            return added;
        }
    }
}

/// The partner rule: the visible cell of smallest weight, lowest index on a tie.
pub(crate) fn cheapest_visible<W: Ord + Copy>(
    cells: impl Iterator<Item = usize>,
    hidden: &[bool],
    weight: &[W],
) -> Option<usize> {
    cells
        .filter(|&c| !hidden[c])
        .min_by_key(|&c| (weight[c], c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn single_hidden(hidden: &[bool], relations: &[Vec<usize>]) -> bool {
        relations
            .iter()
            .any(|r| r.iter().filter(|&&c| hidden[c]).count() == 1)
    }

    #[test]
    fn one_hidden_group_gets_the_smallest_partner() {
        // total = 0; groups 1..=3 add up to it; group 3 is small.
        let relations = vec![vec![0, 1, 2, 3]];
        let mut hidden = vec![false, false, false, true];
        let added = complete_pattern(&mut hidden, &[100, 60, 36, 4], &relations);
        assert_eq!(added, 1);
        assert_eq!(hidden, [false, false, true, true]);
    }

    #[test]
    fn two_way_table_with_margins_is_closed() {
        // 2x2 cells 0..4, row margins 4,5, column margins 6,7, total 8.
        let relations = vec![
            vec![4, 0, 1],
            vec![5, 2, 3],
            vec![6, 0, 2],
            vec![7, 1, 3],
            vec![8, 4, 5],
            vec![8, 6, 7],
        ];
        let weight = [3, 40, 50, 60, 43, 110, 53, 100, 153];
        let mut hidden = vec![true, false, false, false, false, false, false, false, false];
        complete_pattern(&mut hidden, &weight, &relations);
        assert!(!single_hidden(&hidden, &relations), "{hidden:?}");
        assert!(hidden[0]);
        assert!(!hidden[8], "the total need not go");
    }

    #[test]
    fn nothing_hidden_stays_unchanged_and_a_lone_child_takes_its_parent() {
        let mut none = vec![false; 3];
        assert_eq!(complete_pattern(&mut none, &[1, 2, 3], &[vec![0, 1, 2]]), 0);
        let mut lone = vec![false, true];
        complete_pattern(&mut lone, &[12, 12], &[vec![0, 1]]);
        assert_eq!(lone, [true, true]);
    }
}
