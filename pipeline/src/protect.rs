//! Stage 6: disclosure control over every figure of the release together.
//!
//! The aggregate rows of every [`CellTable`] — outcome tables and run-report figures alike —
//! become cells of one [`CellModel`]. Its relations are generated from the tables'
//! descriptions: each grouping's cells add up to the grouping with one dimension fewer,
//! children of a hierarchy add up to their parent, and a figure pooled over cohorts is the sum
//! of the per-cohort figures of the same people. Cells that count the same people anywhere in
//! the release (one-program clusters, `nontraditional = NotReported` and `sex = NotSelected`,
//! the two families' denominators where every exiter is observable) are tied by their
//! fingerprints. Primary suppression, then complementary suppression over that model.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int32Builder, Int64Builder, RecordBatch,
    StringBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, Float64Type, Int32Type, Int64Type, Schema, SchemaRef,
};
use p20w_privacy::{Cell, CellModel, CellStatus, RelationKind, SuppressionRule};
use p20w_schemas::CteProgramCatalog;
use p20w_schemas::{ALL, DIMENSIONS};

use crate::RunError;
use crate::tables::{CellTable, Count, HIERARCHIES, fingerprint_column, parent_value};

/// One aggregate row of a table: a group, its counts and their fingerprints.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateRow {
    pub cohort: Option<i32>,
    pub dims: Vec<String>,
    pub counts: Vec<u64>,
    pub fingerprints: Vec<u64>,
    /// The table's earnings statistics, in its order.
    pub earnings: Vec<Option<f64>>,
}

/// A table's aggregate rows, sorted by cohort and group.
#[derive(Debug, Clone)]
pub struct TableRows {
    pub table: CellTable,
    pub rows: Vec<AggregateRow>,
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, RunError> {
    b.column_by_name(name)
        .ok_or_else(|| RunError::internal(&format!("aggregate lacks {name}")))
}

impl TableRows {
    /// Reads the batches of [`CellTable::sql`].
    pub fn from_batches(table: CellTable, batches: &[RecordBatch]) -> Result<TableRows, RunError> {
        let mut rows = Vec::new();
        for b in batches {
            let cohort = match table.by_cohort {
                true => Some(cast(column(b, "cohort")?, &DataType::Int32)?),
                false => None,
            };
            let cohort = cohort.as_ref().map(|c| c.as_primitive::<Int32Type>());
            let dims: Vec<ArrayRef> = table
                .dimensions
                .iter()
                .map(|d| cast(column(b, d)?, &DataType::Utf8).map_err(RunError::from))
                .collect::<Result<_, _>>()?;
            let dims: Vec<_> = dims.iter().map(|c| c.as_string::<i32>()).collect();
            let mut counts = Vec::new();
            let mut fingerprints = Vec::new();
            for c in &table.counts {
                counts.push(cast(column(b, &c.name)?, &DataType::Int64)?);
                fingerprints.push(cast(
                    column(b, &fingerprint_column(&c.name))?,
                    &DataType::Int64,
                )?);
            }
            let counts: Vec<_> = counts
                .iter()
                .map(|a| a.as_primitive::<Int64Type>())
                .collect();
            let fingerprints: Vec<_> = fingerprints
                .iter()
                .map(|a| a.as_primitive::<Int64Type>())
                .collect();
            let earnings = table
                .earnings
                .iter()
                .map(|e| cast(column(b, &e.column)?, &DataType::Float64).map_err(RunError::from))
                .collect::<Result<Vec<_>, _>>()?;
            let earnings: Vec<_> = earnings
                .iter()
                .map(|e| e.as_primitive::<Float64Type>())
                .collect();
            let value = |a: &datafusion::arrow::array::Int64Array, i: usize| {
                if a.is_null(i) { 0 } else { a.value(i) as u64 }
            };
            for i in 0..b.num_rows() {
                rows.push(AggregateRow {
                    cohort: cohort.map(|c| c.value(i)),
                    dims: dims.iter().map(|c| c.value(i).to_string()).collect(),
                    counts: counts.iter().map(|a| value(a, i)).collect(),
                    fingerprints: fingerprints.iter().map(|a| value(a, i)).collect(),
                    earnings: earnings
                        .iter()
                        .map(|e| e.is_valid(i).then(|| e.value(i)))
                        .collect(),
                });
            }
        }
        rows.sort_by(|a, b| (a.cohort, &a.dims).cmp(&(b.cohort, &b.dims)));
        Ok(TableRows { table, rows })
    }
}

/// How many rows of a table had their rate (or, without a rate, their count) suppressed, and
/// the information lost.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct SuppressionCounts {
    /// Below the minimum cell size themselves.
    pub primary: u64,
    /// Hidden so that no other cell can be recovered by subtraction.
    pub complementary: u64,
    /// The people of the suppressed rows (their denominators) as a share of the people of all
    /// rows: how much of what the table would say about people it does not say. Every row
    /// counts, totals and groups alike; 0 for a table of no people.
    pub hidden_people_share: f64,
}

/// A table after disclosure control: `hidden[row][count]`.
#[derive(Debug, Clone)]
pub struct ProtectedTable {
    pub table: CellTable,
    pub rows: Vec<AggregateRow>,
    pub hidden: Vec<Vec<bool>>,
    pub suppressed: SuppressionCounts,
}

/// The cells of the release and, per table, row and count, the index of its cell.
pub struct ReleaseCells {
    pub model: CellModel,
    pub index: Vec<Vec<Vec<usize>>>,
}

/// Which count of a row stands for the row in [`SuppressionCounts`] and `status`.
fn headline_count(table: &CellTable) -> usize {
    table
        .counts
        .iter()
        .position(|c| c.rate_of.is_some())
        .unwrap_or(0)
}

/// Builds the release's cell model: primary rule, costs, and every relation the tables'
/// descriptions imply.
pub fn release_cells(
    tables: &[TableRows],
    rule: SuppressionRule,
    catalog: &CteProgramCatalog,
) -> ReleaseCells {
    let mut model = CellModel::new();
    let mut index = Vec::with_capacity(tables.len());
    for t in tables {
        let mut rows = Vec::with_capacity(t.rows.len());
        for r in &t.rows {
            let class = if t.table.secondary {
                0
            } else {
                cost_class(&t.table, r)
            };
            let cells: Vec<usize> = t
                .table
                .counts
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let status = match c.rate_of {
                        None => rule.statistic_cell(r.counts[k]),
                        Some(den) => rule.rate_cell(r.counts[den], r.counts[k]),
                    };
                    model.add_cell(Cell {
                        counts: c.predicate.clone(),
                        count: r.counts[k],
                        fingerprint: Some(r.fingerprints[k]),
                        primary: status == CellStatus::Suppressed,
                        cost: (class, r.counts[0]),
                    })
                })
                .collect();
            for (k, c) in t.table.counts.iter().enumerate() {
                if let Some(den) = c.rate_of {
                    model.add_dependant(cells[den], cells[k]);
                }
            }
            rows.push(cells);
        }
        index.push(rows);
    }
    for (ti, t) in tables.iter().enumerate() {
        add_groupings(&mut model, &index[ti], t, catalog);
    }
    add_pools(&mut model, &index, tables);
    add_nested(&mut model, &index, tables, rule);
    add_partitions(&mut model, &index, tables);
    model.relate_same_people();
    ReleaseCells { model, index }
}

type RowKey<'a> = (Option<i32>, Vec<&'a str>);

fn row_index(t: &TableRows) -> HashMap<RowKey<'_>, usize> {
    t.rows
        .iter()
        .enumerate()
        .map(|(i, r)| ((r.cohort, r.dims.iter().map(String::as_str).collect()), i))
        .collect()
}

/// Margins and hierarchies within one table, for each count.
fn add_groupings(
    model: &mut CellModel,
    cells: &[Vec<usize>],
    t: &TableRows,
    catalog: &CteProgramCatalog,
) {
    let dims = &t.table.dimensions;
    let is_set = |grouped: &[&str]| {
        t.table
            .grouping_sets
            .iter()
            .any(|s| s.len() == grouped.len() && s.iter().all(|d| grouped.contains(d)))
    };
    let index = row_index(t);
    // (kind, parent row, dimension) -> child rows
    let mut sums: BTreeMap<(RelationKind, usize, usize), Vec<usize>> = BTreeMap::new();
    for (i, r) in t.rows.iter().enumerate() {
        let grouped: Vec<&str> = dims
            .iter()
            .zip(&r.dims)
            .filter(|(_, v)| *v != ALL)
            .map(|(d, _)| *d)
            .collect();
        let key: Vec<&str> = r.dims.iter().map(String::as_str).collect();
        for (k, d) in dims.iter().enumerate() {
            if r.dims[k] == ALL {
                continue;
            }
            let fewer: Vec<&str> = grouped.iter().copied().filter(|g| g != d).collect();
            if is_set(&fewer) {
                let mut parent = key.clone();
                parent[k] = ALL;
                if let Some(&p) = index.get(&(r.cohort, parent)) {
                    sums.entry((RelationKind::Margin, p, k))
                        .or_default()
                        .push(i);
                }
            }
            for (child, up) in HIERARCHIES {
                let Some(u) = dims.iter().position(|x| x == up) else {
                    continue;
                };
                if child != d || r.dims[u] != ALL {
                    continue;
                }
                let mut lifted: Vec<&str> = fewer.clone();
                lifted.push(up);
                let Some(parent_code) = parent_value(catalog, child, &r.dims[k]) else {
                    continue;
                };
                if is_set(&lifted) {
                    let mut parent = key.clone();
                    parent[k] = ALL;
                    parent[u] = parent_code.as_str();
                    if let Some(&p) = index.get(&(r.cohort, parent)) {
                        sums.entry((RelationKind::Hierarchy, p, k))
                            .or_default()
                            .push(i);
                    }
                }
            }
        }
    }
    for ((kind, parent, _), children) in sums {
        for c in 0..t.table.counts.len() {
            let kids: Vec<usize> = children.iter().map(|&ch| cells[ch][c]).collect();
            model.add_sum(kind, cells[parent][c], &kids);
        }
    }
}

/// A pooled table's people counts are the sums over cohorts of a by-cohort table's counts of
/// the same people and grouping: always for the same universe, and for another universe where
/// the data shows the same people (counts add up and fingerprints XOR to the pooled one, e.g.
/// employment's denominators when every exiter's wages are observable).
fn add_pools(model: &mut CellModel, index: &[Vec<Vec<usize>>], tables: &[TableRows]) {
    for (pi, pooled) in tables.iter().enumerate() {
        if pooled.table.by_cohort {
            continue;
        }
        for (ti, t) in tables.iter().enumerate() {
            if !t.table.by_cohort {
                continue;
            }
            let same_universe = t.table.universe == pooled.table.universe;
            let mut by_group: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
            for (i, r) in t.rows.iter().enumerate() {
                by_group
                    .entry(r.dims.iter().map(String::as_str).collect())
                    .or_default()
                    .push(i);
            }
            for (pr, row) in pooled.rows.iter().enumerate() {
                // The pooled row's group, spelled in the by-cohort table's dimensions.
                let mut group = vec![ALL; t.table.dimensions.len()];
                let mut representable = true;
                for (d, v) in pooled.table.dimensions.iter().zip(&row.dims) {
                    match t.table.dimensions.iter().position(|x| x == d) {
                        Some(k) => group[k] = v.as_str(),
                        None => representable &= v == ALL,
                    }
                }
                let rows = by_group.get(&group).map(Vec::as_slice).unwrap_or_default();
                if !representable || rows.is_empty() {
                    continue;
                }
                let sum: u64 = rows.iter().map(|&r| t.rows[r].counts[0]).sum();
                let xor = rows.iter().fold(0, |x, &r| x ^ t.rows[r].fingerprints[0]);
                if same_universe || (sum == row.counts[0] && xor == row.fingerprints[0]) {
                    let children: Vec<usize> = rows.iter().map(|&r| index[ti][r][0]).collect();
                    model.add_sum(RelationKind::Pool, index[pi][pr][0], &children);
                }
            }
        }
    }
}

/// A count nested in another (its people a subset of the other's, whatever the data) is the
/// larger count less an unpublished difference: 3S1's enrolled-but-not-employed under the
/// employment measure's employed, the non-graduates between all concentrators and 5S1's
/// graduates, the late enrollers between the first fall and two years. Each difference is a
/// cell of its own, primary when small like a rate's complement, so no two published counts
/// give a small count away by subtraction; it is published nowhere, so hiding it costs
/// nothing. Two counts of the same people are tied directly.
///
/// A count is nested in another of a table with the same rows when (with the same held-out
/// wage quarters: who is held out follows from the exit quarter, not from anything about the
/// person) each term of the other's population holds for its people, by a term of its own
/// population implying it or by each of its outcomes implying it, and, where the other counts
/// people with an outcome, one of those outcomes holds for them the same ways.
///
/// Denominators go with denominators and numerators with numerators; a numerator under another
/// table's denominator of the same population differs from it by its own complement (protected
/// by the rate rule) plus the denominators' difference (protected here), so it is related only
/// where its outcomes are what put its people in the other population (the seamless enrollers
/// of one table are the denominator of persistence in another), and a denominator under a
/// numerator only where its population's terms are outcomes (that same pair, the other way).
fn add_nested(
    model: &mut CellModel,
    index: &[Vec<Vec<usize>>],
    tables: &[TableRows],
    rule: SuppressionRule,
) {
    let within = |a: &CellTable, x: &Count, b: &CellTable, y: &Count| {
        let by_terms = |c: &str| a.term_implies.iter().any(|i| i.iter().any(|t| t == c));
        let by_outcomes = |holds: &dyn Fn(&str) -> bool| {
            !x.any_of.is_empty() && x.implies.iter().all(|i| i.iter().any(|c| holds(c)))
        };
        let mut via_outcomes = false;
        let population = a.held_out_terms == b.held_out_terms
            && b.population_terms.iter().all(|t| {
                by_terms(t) || {
                    let held = by_outcomes(&|c| c == t);
                    via_outcomes |= held;
                    held
                }
            });
        let counted = y.any_of.iter().any(|c| by_terms(c))
            || by_outcomes(&|c| y.any_of.iter().any(|o| o == c));
        let outcomes = match (x.any_of.is_empty(), y.any_of.is_empty()) {
            (true, true) => true,
            (false, true) => via_outcomes,
            (_, false) => counted,
        };
        population && outcomes
    };
    for (ai, a) in tables.iter().enumerate() {
        for (bi, b) in tables.iter().enumerate() {
            let comparable = ai != bi
                && a.table.by_cohort == b.table.by_cohort
                && a.table.dimensions == b.table.dimensions;
            if !comparable {
                continue;
            }
            let b_rows = row_index(b);
            for (ka, ca) in a.table.counts.iter().enumerate() {
                for (kb, cb) in b.table.counts.iter().enumerate() {
                    if !within(&a.table, ca, &b.table, cb) {
                        continue;
                    }
                    let same = within(&b.table, cb, &a.table, ca);
                    // Each pair of the same people once.
                    if same && (bi, kb) < (ai, ka) {
                        continue;
                    }
                    for (ra, row) in a.rows.iter().enumerate() {
                        let key = (row.cohort, row.dims.iter().map(String::as_str).collect());
                        let Some(&rb) = b_rows.get(&key) else {
                            continue;
                        };
                        let (inner, outer) = (index[ai][ra][ka], index[bi][rb][kb]);
                        if same {
                            model.add_sum(RelationKind::SamePeople, outer, &[inner]);
                            continue;
                        }
                        let only = b.rows[rb].counts[kb].saturating_sub(row.counts[ka]);
                        let difference = model.add_cell(Cell {
                            counts: format!(
                                "{}: {} AND NOT {}: {}",
                                b.table.name, cb.predicate, a.table.name, ca.predicate
                            ),
                            count: only,
                            fingerprint: Some(b.rows[rb].fingerprints[kb] ^ row.fingerprints[ka]),
                            primary: rule.statistic_cell(only) == CellStatus::Suppressed,
                            cost: (0, 0),
                        });
                        model.add_sum(RelationKind::Nested, outer, &[inner, difference]);
                    }
                }
            }
        }
    }
}

/// A count whose outcome is made of disjoint parts, each counted alone in a table with the same
/// rows and people, is their sum ([`RelationKind::Partition`]): with the first fall's enrollers
/// and the 4-year ones published, a hidden 2-year count is their difference.
fn add_partitions(model: &mut CellModel, index: &[Vec<Vec<usize>>], tables: &[TableRows]) {
    for (ai, a) in tables.iter().enumerate() {
        for (ka, count) in a.table.counts.iter().enumerate() {
            if count.parts.is_empty() {
                continue;
            }
            // For each part, the table and count of it over the same people.
            let holders: Option<Vec<(usize, usize)>> = count
                .parts
                .iter()
                .map(|part| {
                    tables.iter().enumerate().find_map(|(bi, b)| {
                        let same_rows = b.table.by_cohort == a.table.by_cohort
                            && b.table.dimensions == a.table.dimensions
                            && b.table.population_terms == a.table.population_terms
                            && b.table.held_out_terms == a.table.held_out_terms;
                        let kb = b
                            .table
                            .counts
                            .iter()
                            .position(|c| c.any_of == [part.clone()]);
                        kb.filter(|_| same_rows && bi != ai).map(|kb| (bi, kb))
                    })
                })
                .collect();
            let Some(holders) = holders else { continue };
            let rows: Vec<_> = holders
                .iter()
                .map(|(bi, _)| row_index(&tables[*bi]))
                .collect();
            for (ra, row) in a.rows.iter().enumerate() {
                let key = (row.cohort, row.dims.iter().map(String::as_str).collect());
                let parts: Option<Vec<usize>> = holders
                    .iter()
                    .zip(&rows)
                    .map(|((bi, kb), r)| r.get(&key).map(|&rb| index[*bi][rb][*kb]))
                    .collect();
                if let Some(parts) = parts {
                    model.add_sum(RelationKind::Partition, index[ai][ra][ka], &parts);
                }
            }
        }
    }
}

/// Primary and complementary suppression over every table of the release together.
/// `catalog` is the job's CTE programme catalogue: it places each programme in its career
/// cluster, a hierarchy whose sums an attacker can solve.
pub fn protect(
    tables: Vec<TableRows>,
    rule: SuppressionRule,
    catalog: &CteProgramCatalog,
) -> Vec<ProtectedTable> {
    let cells = release_cells(&tables, rule, catalog);
    let pattern = cells.model.protect();
    tables
        .into_iter()
        .zip(cells.index)
        .map(|(t, index)| {
            let headline = headline_count(&t.table);
            let mut suppressed = SuppressionCounts::default();
            let hidden: Vec<Vec<bool>> = index
                .iter()
                .map(|row| row.iter().map(|&c| pattern.is_hidden(c)).collect())
                .collect();
            let den = t.table.counts[headline].rate_of.unwrap_or(headline);
            let (mut people, mut hidden_people) = (0u64, 0u64);
            for (row, r) in index.iter().zip(&t.rows) {
                let c = row[headline];
                if cells.model.cells()[c].primary {
                    suppressed.primary += 1;
                } else if pattern.is_hidden(c) {
                    suppressed.complementary += 1;
                }
                people += r.counts[den];
                if pattern.is_hidden(c) {
                    hidden_people += r.counts[den];
                }
            }
            if people > 0 {
                suppressed.hidden_people_share = hidden_people as f64 / people as f64;
            }
            ProtectedTable {
                table: t.table,
                rows: t.rows,
                hidden,
                suppressed,
            }
        })
        .collect()
}

/// Which cells to give up first when a partner must be hidden: "not reported" groups and the
/// non-members of a special population (0), then any other group (1), the cohort total last
/// (2). Within a class the smallest group goes first.
fn cost_class(table: &CellTable, r: &AggregateRow) -> u8 {
    let mut grouped = r
        .dims
        .iter()
        .zip(&table.dimensions)
        .filter(|(v, _)| *v != ALL)
        .peekable();
    if grouped.peek().is_none() {
        return 2;
    }
    let low_value = grouped.any(|(v, name)| {
        DIMENSIONS
            .iter()
            .find(|d| d.name == *name)
            .is_some_and(|d| v == d.not_reported || Some(v.as_str()) == d.non_member)
    });
    if low_value { 0 } else { 1 }
}

/// The schema of a published outcome table.
pub fn published_schema(table: &CellTable) -> SchemaRef {
    let mut fields = vec![Field::new("cohort", DataType::Int32, false)];
    fields.extend(
        table
            .dimensions
            .iter()
            .map(|d| Field::new(*d, DataType::Utf8, false)),
    );
    fields.push(Field::new("measure", DataType::Utf8, false));
    for c in &table.counts {
        fields.push(Field::new(&c.name, DataType::Int64, true));
    }
    fields.push(Field::new("rate", DataType::Float64, true));
    fields.push(Field::new("gap_to_all", DataType::Float64, true));
    for e in &table.earnings {
        fields.push(Field::new(&e.column, DataType::Float64, true));
    }
    fields.push(Field::new("status", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

impl ProtectedTable {
    /// The published form of an outcome table: hidden counts (and the rate and earnings of a
    /// hidden numerator) are null, fingerprints are dropped.
    pub fn record_batch(&self) -> Result<RecordBatch, RunError> {
        let t = &self.table;
        let n = self.rows.len();
        let headline = headline_count(t);
        let den = t.counts[headline].rate_of.unwrap_or(0);
        let mut cohort = Int32Builder::with_capacity(n);
        let mut dims: Vec<StringBuilder> =
            t.dimensions.iter().map(|_| StringBuilder::new()).collect();
        let mut measure = StringBuilder::new();
        let mut counts: Vec<Int64Builder> = t.counts.iter().map(|_| Int64Builder::new()).collect();
        let mut rate = Float64Builder::new();
        let mut earnings: Vec<Float64Builder> =
            t.earnings.iter().map(|_| Float64Builder::new()).collect();
        let mut gap = Float64Builder::new();
        let mut status = StringBuilder::new();
        let rate_of = |i: usize| {
            let r = &self.rows[i];
            (!self.hidden[i][headline]).then(|| r.counts[headline] as f64 / r.counts[den] as f64)
        };
        // Each cohort's total row, whose rate every group is compared with (Perkins V asks for
        // the gap of each group to all concentrators).
        let totals: std::collections::HashMap<Option<i32>, Option<f64>> = (0..n)
            .filter(|&i| self.rows[i].dims.iter().all(|v| v == ALL))
            .map(|i| (self.rows[i].cohort, rate_of(i)))
            .collect();
        for (i, (r, hidden)) in self.rows.iter().zip(&self.hidden).enumerate() {
            cohort.append_value(r.cohort.unwrap_or_default());
            for (b, v) in dims.iter_mut().zip(&r.dims) {
                b.append_value(v);
            }
            measure.append_value(t.measure.as_deref().unwrap_or_default());
            for (k, b) in counts.iter_mut().enumerate() {
                b.append_option((!hidden[k]).then_some(r.counts[k] as i64));
            }
            let shown = !hidden[headline];
            let own = rate_of(i);
            rate.append_option(own);
            let total = totals.get(&r.cohort).copied().flatten();
            gap.append_option(own.zip(total).map(|(g, a)| g - a));
            for ((b, v), e) in earnings.iter_mut().zip(&r.earnings).zip(&t.earnings) {
                b.append_option(v.filter(|_| shown && r.counts[headline] >= e.min_people));
            }
            status.append_value(match shown {
                true => CellStatus::Published.as_str(),
                false => CellStatus::Suppressed.as_str(),
            });
        }
        let mut arrays: Vec<ArrayRef> = vec![Arc::new(cohort.finish())];
        arrays.extend(dims.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        arrays.push(Arc::new(measure.finish()));
        arrays.extend(counts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
        arrays.push(Arc::new(rate.finish()));
        arrays.push(Arc::new(gap.finish()));
        arrays.extend(
            earnings
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        arrays.push(Arc::new(status.finish()));
        Ok(RecordBatch::try_new(published_schema(t), arrays)?)
    }

    /// A count as published: `None` where hidden.
    pub fn shown(&self, row: usize, count: usize) -> Option<u64> {
        (!self.hidden[row][count]).then_some(self.rows[row].counts[count])
    }
}
