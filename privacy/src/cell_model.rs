//! The published cells of a release and the linear relations an attacker knows among them.
//!
//! Every figure a release publishes that counts people — a table row's denominator or
//! numerator, a figure of the run report — is one [`Cell`]. A [`Relation`] says that some
//! cells are tied by an equation anyone can write down: a parent equals the sum of its
//! children (margins, hierarchies, cohorts pooled), or two cells count the very same people.
//! If exactly one cell of a relation is hidden, the others give it back, so [`CellModel::protect`]
//! hides partners until no relation has exactly one hidden cell, and hides a cell's dependants
//! (a rate's numerator when its denominator goes, since numerator ÷ rate would restore it).
//!
//! Cells of the same people are found by a *fingerprint*: the XOR of a 64-bit hash of each
//! person counted. Two cells with equal counts and fingerprints hold the same people (up to a
//! 2⁻⁶⁴ chance), whichever description produced them: a career cluster with one program, a
//! "not reported" group derived from another, the same population published by two tables.
//!
//! This stops subtraction, by one equation or by any combination of them, across every relation
//! the model knows. It does not bound what the relations reveal about a hidden cell's interval
//! (counts are never negative); that is the LP audit's job, which can take this model's cells
//! and relations as its input.

use std::collections::HashMap;

/// Where a relation comes from; kept so audits and reports can say why a cell went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RelationKind {
    /// A grouping's cells add up to the grouping with one dimension fewer.
    Margin,
    /// The children of a hierarchy level add up to their parent (programs to a cluster).
    Hierarchy,
    /// A figure pooled over cohorts is the sum of the per-cohort figures.
    Pool,
    /// Two cells count the same people.
    SamePeople,
    /// A count of people with any of some outcomes is the count with any of fewer of them plus
    /// an unpublished difference (3S1's placed = employed + enrolled but not employed).
    Nested,
    /// A count of people with an outcome is the sum of the counts of disjoint outcomes that
    /// together are it (enrolled on a census = at a 4-year + at a 2-year).
    Partition,
}

/// An equation among cells: `cells[0] = sum(cells[1..])` for sums, `cells[0] = cells[1]` for
/// [`RelationKind::SamePeople`]. Either way one hidden cell among visible ones is recoverable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub kind: RelationKind,
    pub cells: Vec<usize>,
}

/// One published count of people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// What the count counts (everyone in the group, or those with one outcome). Only cells
    /// counting the same thing are tied by their fingerprints: that a group's numerator equals
    /// its denominator is the secret itself, not something a reader knows.
    pub counts: String,
    pub count: u64,
    /// XOR of the person hashes counted, where the producer computed it.
    pub fingerprint: Option<u64>,
    /// Hidden by the primary rule itself.
    pub primary: bool,
    /// Lower goes first when a partner must be hidden; ties by index, so the pattern is
    /// deterministic.
    pub cost: (u8, u64),
}

/// Cells, relations and dependencies of one release.
#[derive(Debug, Clone, Default)]
pub struct CellModel {
    cells: Vec<Cell>,
    relations: Vec<Relation>,
    /// `(a, b)`: when `a` is hidden, `b` must be too.
    dependants: Vec<(usize, usize)>,
}

/// The outcome of [`CellModel::protect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionPattern {
    pub hidden: Vec<bool>,
}

impl SuppressionPattern {
    pub fn is_hidden(&self, cell: usize) -> bool {
        self.hidden[cell]
    }
}

impl CellModel {
    pub fn new() -> CellModel {
        CellModel::default()
    }

    /// Adds a cell and returns its index.
    pub fn add_cell(&mut self, cell: Cell) -> usize {
        self.cells.push(cell);
        self.cells.len() - 1
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// Adds `parent = sum(children)`. A parent with no children in the release says nothing.
    pub fn add_sum(&mut self, kind: RelationKind, parent: usize, children: &[usize]) {
        if children.is_empty() {
            return;
        }
        let mut cells = Vec::with_capacity(children.len() + 1);
        cells.push(parent);
        cells.extend_from_slice(children);
        self.relations.push(Relation { kind, cells });
    }

    /// Declares that hiding `cell` must also hide `dependant`.
    pub fn add_dependant(&mut self, cell: usize, dependant: usize) {
        self.dependants.push((cell, dependant));
    }

    /// Adds a [`RelationKind::SamePeople`] relation between every two cells counting the same
    /// thing with equal, non-zero count and equal fingerprint, as a chain (hiding any one then hides them all). Empty
    /// cells are left alone: that two groups are both empty reveals nothing about either.
    pub fn relate_same_people(&mut self) {
        let mut groups: HashMap<(&str, u64, u64), Vec<usize>> = HashMap::new();
        for (i, c) in self.cells.iter().enumerate() {
            if let (Some(fp), true) = (c.fingerprint, c.count > 0) {
                groups
                    .entry((c.counts.as_str(), c.count, fp))
                    .or_default()
                    .push(i);
            }
        }
        let mut chains: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
        chains.sort();
        for chain in chains {
            for pair in chain.windows(2) {
                self.relations.push(Relation {
                    kind: RelationKind::SamePeople,
                    cells: pair.to_vec(),
                });
            }
        }
    }

    /// Primary cells, then partners until no relation has exactly one hidden cell, every
    /// hidden cell's dependants are hidden, and no hidden cell is determined by the relations
    /// together ([`crate::determinacy`]). A determined cell gets one more partner: the
    /// cheapest visible cell of a relation it is in. The hidden set only grows, so this ends.
    pub fn protect(&self) -> SuppressionPattern {
        let mut hidden: Vec<bool> = self.cells.iter().map(|c| c.primary).collect();
        let weight: Vec<(u8, u64)> = self.cells.iter().map(|c| c.cost).collect();
        let relations: Vec<Vec<usize>> = self.relations.iter().map(|r| r.cells.clone()).collect();
        loop {
            crate::complete_pattern(&mut hidden, &weight, &relations);
            let mut changed = false;
            for &(a, b) in &self.dependants {
                if hidden[a] && !hidden[b] {
                    hidden[b] = true;
                    changed = true;
                }
            }
            if changed {
                continue;
            }
            for cell in crate::determinacy::determined(&hidden, &self.relations) {
                let candidates = relations
                    .iter()
                    .filter(|r| r.contains(&cell))
                    .flatten()
                    .copied();
                if let Some(c) =
                    crate::complementary::cheapest_visible(candidates, &hidden, &weight)
                {
                    hidden[c] = true;
                    changed = true;
                    // One partner per round: it may free other determined cells too.
                    break;
                }
            }
            if !changed {
                return SuppressionPattern { hidden };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(count: u64, fingerprint: u64, primary: bool) -> Cell {
        Cell {
            counts: "people".into(),
            count,
            fingerprint: Some(fingerprint),
            primary,
            cost: (1, count),
        }
    }

    #[test]
    fn cells_of_the_same_people_share_their_fate() {
        let mut m = CellModel::new();
        let a = m.add_cell(cell(4, 0xAB, true));
        let b = m.add_cell(cell(4, 0xAB, false));
        let c = m.add_cell(cell(4, 0xAB, false));
        let other = m.add_cell(cell(4, 0xCD, false));
        m.relate_same_people();
        let p = m.protect();
        assert!(p.is_hidden(a) && p.is_hidden(b) && p.is_hidden(c));
        assert!(!p.is_hidden(other), "same count, other people");
    }

    #[test]
    fn a_numerator_equal_to_its_denominator_is_not_tied_to_it() {
        let mut m = CellModel::new();
        m.add_cell(cell(15, 7, false));
        m.add_cell(Cell {
            counts: "enrolled".into(),
            ..cell(15, 7, true)
        });
        m.relate_same_people();
        assert!(m.relations().is_empty());
    }

    #[test]
    fn empty_cells_are_not_tied() {
        let mut m = CellModel::new();
        m.add_cell(cell(0, 0, true));
        m.add_cell(cell(0, 0, false));
        m.relate_same_people();
        assert!(m.relations().is_empty());
    }

    #[test]
    fn a_hidden_denominator_hides_its_numerator_and_that_is_completed_too() {
        // total 0 = 1 + 2 for denominators (cells 0..3) and numerators (cells 3..6).
        let mut m = CellModel::new();
        for (count, primary) in [(40, false), (5, true), (35, false)] {
            m.add_cell(cell(count, count, primary));
        }
        for count in [20, 3, 17] {
            m.add_cell(cell(count, count + 100, false));
        }
        m.add_sum(RelationKind::Margin, 0, &[1, 2]);
        m.add_sum(RelationKind::Margin, 3, &[4, 5]);
        for i in 0..3 {
            m.add_dependant(i, i + 3);
        }
        let p = m.protect();
        assert_eq!(p.hidden, [false, true, true, false, true, true]);
    }
}
