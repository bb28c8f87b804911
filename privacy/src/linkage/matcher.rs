//! Linking two files of encodings one-to-one.
//!
//! The rule, in order:
//! 1. **Exact pseudonym**: records whose SSN pseudonym occurs once on each side (or, where a
//!    file may hold a person twice, several times there: duplicates) pair up, unless
//!    their encodings disagree so much (below [`LinkConfig::floor`]) that the shared SSN is more
//!    likely a keying error than the same person; such pairs go on to the fuzzy step.
//! 2. **Fuzzy**: candidate pairs are the records sharing any blocking key; each is scored
//!    segment by segment ([`Encoding::score`]). Pairs at or above the threshold (fitted, see
//!    [`super::threshold`]) are taken best first; a record already linked takes no second
//!    partner (but see 3). Ties break on the record order, so the result is the same on every run.
//! 3. **Duplicates**, only for a file the caller says may hold a person twice
//!    ([`LinkConfig::repeated_left`]): a record whose partner is already taken by a record of
//!    its own file that it nearly equals ([`second_record`]) is that person's second record, and
//!    joins the link ([`LinkMethod::Duplicate`]) instead of falling to a stranger; see
//!    [`super::duplicates`].
//!
//! [`link_one_per_group`] relaxes "one partner" on the right side to one per group of left
//! records: a student has one record at each institution attended, not one in all.

use std::collections::HashMap;

use serde::Serialize;

use super::duplicates::{second_record, twins_of_linked};
use super::encoder::{BLOCK_RULES, Encoding};
use super::threshold::{ThresholdFit, estimate, fit_threshold};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    Ssn,
    Fuzzy,
    /// A second record of a person on the given side, joining its first record's link.
    Duplicate(Side),
}

/// Which input a record is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
}

impl LinkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMethod::Ssn => "ssn",
            LinkMethod::Fuzzy => "fuzzy",
            LinkMethod::Duplicate(_) => "duplicate",
        }
    }
}

/// One accepted pair, by position in the left and right inputs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    pub left: u32,
    pub right: u32,
    pub score: f64,
    pub method: LinkMethod,
}

#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    /// Pairs scoring below this are not candidates at all (and not fitted); the default, 0,
    /// drops pairs whose fields on balance say "strangers".
    pub floor: f64,
    /// A fixed threshold instead of the fitted one.
    pub threshold: Option<f64>,
    /// A block with more left × right pairs than this is skipped (and counted): one shared key
    /// that huge says nothing, and other rules still group its true pairs.
    pub max_block_pairs: u64,
    /// The left (right) file may hold one person more than once: records, not persons (an
    /// institution's enrolment records, a file keyed twice). A record whose partner is taken by
    /// a [`second_record`] look-alike of its own file then joins that link as a duplicate
    /// instead of taking a stranger. Off, one to one holds strictly: in a crowded file distinct
    /// people can look as alike as one person's two records do.
    pub repeated_left: bool,
    pub repeated_right: bool,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            floor: 0.0,
            threshold: None,
            max_block_pairs: 25_000_000,
            repeated_left: false,
            repeated_right: false,
        }
    }
}

/// The links and what it took to find them.
#[derive(Debug, Clone, Serialize)]
pub struct Linkage {
    pub links: Vec<Link>,
    pub threshold: ThresholdFit,
    pub ssn_links: u64,
    pub fuzzy_links: u64,
    /// Links of second records of a person ([`LinkMethod::Duplicate`]).
    pub duplicate_links: u64,
    pub pairs_scored: u64,
    pub candidates: u64,
    pub skipped_blocks: u64,
}

pub fn link_one_to_one(left: &[Encoding], right: &[Encoding], config: &LinkConfig) -> Linkage {
    link_one_per_group(left, &vec![0; left.len()], right, config)
}

/// [`link_one_to_one`], except that a right record may take one partner in each group of left
/// records (`groups[i]` is left record `i`'s): the K-12 student who attended two colleges is
/// one person at each, and both colleges' records of them link.
pub fn link_one_per_group(
    left: &[Encoding],
    groups: &[u32],
    right: &[Encoding],
    config: &LinkConfig,
) -> Linkage {
    assert_eq!(left.len(), groups.len(), "a group for every left record");
    let one_group = groups.windows(2).all(|w| w[0] == w[1]);
    // Each left record's partner, and each (group, right record)'s left holder: a right record
    // held in one group is still free in the others; with one group, records linked by SSN
    // are also left out of the fuzzy candidates.
    let mut partner: Vec<Option<u32>> = vec![None; left.len()];
    let mut holder: HashMap<(u32, u32), u32> = HashMap::new();
    let mut right_taken = vec![false; right.len()];
    let mut links = Vec::new();
    for (l, r, score, method) in ssn_pairs(left, right, config) {
        partner[l as usize].get_or_insert(r);
        right_taken[r as usize] = one_group;
        holder.entry((groups[l as usize], r)).or_insert(l);
        links.push(Link {
            left: l,
            right: r,
            score,
            method,
        });
    }
    let ssn_links = links.iter().filter(|k| k.method == LinkMethod::Ssn).count() as u64;
    let left_taken: Vec<bool> = partner.iter().map(Option::is_some).collect();

    let (mut candidates, pairs_scored, skipped_blocks) =
        candidates(left, right, config, &left_taken, &right_taken);
    // Each left record's best and second-best candidate (see super::threshold).
    let mut top = vec![(f64::NAN, f64::NAN); left.len()];
    for &(l, _, score) in &candidates {
        let (b, s) = &mut top[l as usize];
        if b.is_nan() || score > *b {
            *s = *b;
            *b = score;
        } else if s.is_nan() || score > *s {
            *s = score;
        }
    }
    let best: Vec<f64> = top.iter().map(|t| t.0).filter(|s| !s.is_nan()).collect();
    // Every record's second-best is a stranger (one-to-one: one partner at most).
    let second: Vec<f64> = top.iter().map(|t| t.1).filter(|s| !s.is_nan()).collect();
    let threshold = match config.threshold {
        Some(t) => {
            let mut sorted = second.clone();
            sorted.sort_by(f64::total_cmp);
            estimate(t, "configured", &best, &sorted)
        }
        None => fit_threshold(&best, &second),
    };
    let t = threshold.threshold;

    // Second records of people linked by SSN, which have no candidates among them.
    // (With several groups a right record may rightly hold one partner in each, so a second
    // record there is told apart only by its group's fuzzy candidates.)
    if let (true, true, Some(&g)) = (config.repeated_right, one_group, groups.first()) {
        let twins = twins_of_linked(right, &right_taken, t, |_, _| true);
        let left_of: HashMap<u32, u32> = holder.iter().map(|(&(_, r), &l)| (r, l)).collect();
        for (r2, twin) in twins.iter().enumerate() {
            if let Some(r1) = twin {
                let l = left_of[r1];
                holder.insert((g, r2 as u32), l);
                links.push(Link {
                    left: l,
                    right: r2 as u32,
                    score: left[l as usize].score(&right[r2]),
                    method: LinkMethod::Duplicate(Side::Right),
                });
            }
        }
    }
    let twins = if !config.repeated_left {
        vec![None; left.len()]
    } else {
        twins_of_linked(left, &left_taken, t, |a, b| {
            groups[a as usize] == groups[b as usize]
        })
    };
    for (l2, twin) in twins.iter().enumerate() {
        if let Some(l1) = twin {
            let r = partner[*l1 as usize].expect("a twin is linked");
            partner[l2] = Some(r);
            links.push(Link {
                left: l2 as u32,
                right: r,
                score: left[l2].score(&right[r as usize]),
                method: LinkMethod::Duplicate(Side::Left),
            });
        }
    }

    candidates.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut fuzzy_links = 0u64;
    for &(l, r, score) in &candidates {
        if score < t {
            break;
        }
        let g = groups[l as usize];
        let method = match (partner[l as usize], holder.get(&(g, r))) {
            (None, None) => LinkMethod::Fuzzy,
            // `l` took another partner, of which `r` is a second record.
            (Some(r1), None)
                if config.repeated_right
                    && second_record(&right[r as usize], &right[r1 as usize], t) =>
            {
                LinkMethod::Duplicate(Side::Right)
            }
            // `r` is taken in this group by a record of which `l` is a second record.
            (None, Some(&l1))
                if config.repeated_left
                    && second_record(&left[l as usize], &left[l1 as usize], t) =>
            {
                LinkMethod::Duplicate(Side::Left)
            }
            _ => continue,
        };
        match method {
            LinkMethod::Duplicate(Side::Right) => {
                holder.insert((g, r), l);
            }
            LinkMethod::Duplicate(Side::Left) => partner[l as usize] = Some(r),
            _ => {
                partner[l as usize] = Some(r);
                holder.insert((g, r), l);
                fuzzy_links += 1;
            }
        }
        links.push(Link {
            left: l,
            right: r,
            score,
            method,
        });
    }
    let duplicate_links = links.len() as u64 - ssn_links - fuzzy_links;
    links.sort_by_key(|k| (k.left, k.right));
    Linkage {
        links,
        threshold,
        ssn_links,
        fuzzy_links,
        duplicate_links,
        pairs_scored,
        candidates: candidates.len() as u64,
        skipped_blocks,
    }
}

/// Pairs sharing an SSN pseudonym and scoring at least the floor: one record of it on each
/// side, or, on a side said to hold records rather than persons, several (one person's), which
/// join the first pair as duplicates. A pseudonym on two records of a file of persons is
/// ambiguous and pairs nothing; nor does one whose first pair scores below the floor.
fn ssn_pairs(
    left: &[Encoding],
    right: &[Encoding],
    config: &LinkConfig,
) -> Vec<(u32, u32, f64, LinkMethod)> {
    fn index(side: &[Encoding]) -> HashMap<&str, Vec<u32>> {
        let mut map: HashMap<&str, Vec<u32>> = HashMap::new();
        for (i, e) in side.iter().enumerate() {
            if let Some(pid) = e.ssn_pid.as_deref() {
                map.entry(pid).or_default().push(i as u32);
            }
        }
        map
    }
    let (l, r) = (index(left), index(right));
    let mut pairs = Vec::new();
    for (pid, ls) in &l {
        let Some(rs) = r.get(pid) else { continue };
        if (ls.len() > 1 && !config.repeated_left) || (rs.len() > 1 && !config.repeated_right) {
            continue;
        }
        let scored = |a: u32, b: u32, method| {
            let score = left[a as usize].score(&right[b as usize]);
            (score >= config.floor).then_some((a, b, score, method))
        };
        let Some(first) = scored(ls[0], rs[0], LinkMethod::Ssn) else {
            continue;
        };
        pairs.push(first);
        pairs.extend(
            rs[1..]
                .iter()
                .filter_map(|&r| scored(ls[0], r, LinkMethod::Duplicate(Side::Right))),
        );
        pairs.extend(
            ls[1..]
                .iter()
                .filter_map(|&l| scored(l, rs[0], LinkMethod::Duplicate(Side::Left))),
        );
    }
    pairs.sort_unstable_by_key(|p| (p.0, p.1));
    pairs
}

/// Scored pairs above the floor among records not yet linked, each pair once: a pair sharing
/// keys under several rules is scored under the first.
fn candidates(
    left: &[Encoding],
    right: &[Encoding],
    config: &LinkConfig,
    left_taken: &[bool],
    right_taken: &[bool],
) -> (Vec<(u32, u32, f64)>, u64, u64) {
    let mut groups: Vec<(usize, Vec<u32>, Vec<u32>)> = Vec::new();
    let mut skipped = 0u64;
    for rule in 0..BLOCK_RULES.len() {
        let keyed = |side: &[Encoding], taken: &[bool]| {
            let mut v: Vec<(u64, u32)> = side
                .iter()
                .enumerate()
                .filter(|(i, e)| !taken[*i] && e.blocks[rule] != 0)
                .map(|(i, e)| (e.blocks[rule], i as u32))
                .collect();
            v.sort_unstable();
            v
        };
        let (l, r) = (keyed(left, left_taken), keyed(right, right_taken));
        let (mut i, mut j) = (0, 0);
        while i < l.len() && j < r.len() {
            match l[i].0.cmp(&r[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    let key = l[i].0;
                    let li = i;
                    while i < l.len() && l[i].0 == key {
                        i += 1;
                    }
                    let rj = j;
                    while j < r.len() && r[j].0 == key {
                        j += 1;
                    }
                    if ((i - li) * (j - rj)) as u64 > config.max_block_pairs {
                        skipped += 1;
                        continue;
                    }
                    groups.push((
                        rule,
                        l[li..i].iter().map(|p| p.1).collect(),
                        r[rj..j].iter().map(|p| p.1).collect(),
                    ));
                }
            }
        }
    }
    // Blocks are independent: score them on every core, each thread a contiguous share of the
    // work, and concatenate in block order so the result does not depend on scheduling.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(groups.len().max(1));
    let total: u64 = groups.iter().map(|g| (g.1.len() * g.2.len()) as u64).sum();
    let mut shares: Vec<&[(usize, Vec<u32>, Vec<u32>)]> = Vec::new();
    let (mut start, mut acc, mut next) = (0usize, 0u64, 1u64);
    for (k, g) in groups.iter().enumerate() {
        acc += (g.1.len() * g.2.len()) as u64;
        if acc * threads as u64 >= next * total && shares.len() + 1 < threads {
            shares.push(&groups[start..=k]);
            start = k + 1;
            next += 1;
        }
    }
    shares.push(&groups[start..]);
    let results: Vec<(Vec<Top>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = shares
            .iter()
            .map(|share| s.spawn(|| score_blocks(left, right, share, config.floor)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("scoring does not panic"))
            .collect()
    });
    let scored = results.iter().map(|r| r.1).sum();
    let mut merged = vec![[EMPTY; KEEP]; left.len()];
    for (tops, _) in &results {
        for (m, t) in merged.iter_mut().zip(tops) {
            for &c in t.iter().filter(|c| c.1 != u32::MAX) {
                keep_best(m, c);
            }
        }
    }
    let candidates = merged
        .iter()
        .enumerate()
        .flat_map(|(l, t)| {
            t.iter()
                .filter(|c| c.1 != u32::MAX)
                .map(move |c| (l as u32, c.1, f64::from(c.0)))
        })
        .collect();
    (candidates, scored, skipped)
}

/// Candidates kept per left record: the best few, so memory stays proportional to the records
/// however crowded the blocks (a million names from a small pool is a billion pairs above the
/// floor). One-to-one assignment falls back to a record's next candidate when its best is
/// taken; a fourth choice is rarely the right one.
const KEEP: usize = 4;
/// A kept candidate: score (to f32 precision, plenty for ranking) and right record.
type Candidate = (f32, u32);
type Top = [Candidate; KEEP];
/// Below any score, whatever the floor.
const EMPTY: Candidate = (f32::NEG_INFINITY, u32::MAX);

/// Puts `c` among the best `KEEP` under one total order (higher score, then lower right
/// index), so the result does not depend on which thread saw which pair first.
fn keep_best(top: &mut Top, c: Candidate) {
    let better = |a: Candidate, b: Candidate| a.0 > b.0 || (a.0 == b.0 && a.1 < b.1);
    let worst = (0..KEEP).fold(0, |w, i| if better(top[w], top[i]) { i } else { w });
    if better(c, top[worst]) {
        top[worst] = c;
    }
}

fn score_blocks(
    left: &[Encoding],
    right: &[Encoding],
    groups: &[(usize, Vec<u32>, Vec<u32>)],
    floor: f64,
) -> (Vec<Top>, u64) {
    let mut top = vec![[EMPTY; KEEP]; left.len()];
    let mut scored = 0u64;
    for (rule, ls, rs) in groups {
        for &l in ls {
            let a = &left[l as usize];
            for &r in rs {
                let b = &right[r as usize];
                // Scored already under an earlier rule whose key they share.
                if (0..*rule).any(|q| a.blocks[q] != 0 && a.blocks[q] == b.blocks[q]) {
                    continue;
                }
                scored += 1;
                let score = a.score(b);
                if score >= floor {
                    keep_best(&mut top[l as usize], (score as f32, r));
                }
            }
        }
    }
    (top, scored)
}
