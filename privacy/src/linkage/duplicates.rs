//! A person twice in one file.
//!
//! Files are not one row per person: a student re-enrols under a new institution id, a clerk
//! keys a record again, an SSN is missing on one of two records. One-to-one assignment alone
//! gives such a second record a false partner: its own partner is taken by its first record,
//! so it falls to the next stranger above the threshold. The matcher instead lets a record
//! that is a [`second_record`] of the record of its own file holding its partner join that
//! link as a duplicate ([`super::LinkMethod::Duplicate`]).
//!
//! The bar is higher than the threshold's. One to one, a stranger above the threshold is still
//! turned away when its look-alike's partner is taken; a duplicate has no such check. In a
//! crowded file (the synthetic state's K-12 students share 500 full names) distinct students
//! score up to 22 against each other where the same person's two records mostly score 29, the
//! most a name and a birth date can. Crowded enough (the million-person bench, names from
//! syllables, birth dates over five years) distinct people share a name and a birth date, no
//! bar tells them from one person's two records, and a file of persons is better linked one to
//! one; so the caller says which files hold records rather than persons.
//!
//! This module finds the duplicates of records linked by SSN, which the fuzzy step never sees
//! (they leave its candidates to keep scoring cheap): pairs within one file sharing at least
//! two blocking keys, so one error in a name or a birth date still brings them together while
//! each block stays tiny.

use super::encoder::{BLOCK_RULES, Encoding};
use super::threshold::MISSED_BAND;

/// Whether `b` may be a second record of the person `a` is: it scores at least the threshold
/// and within [`MISSED_BAND`] (about one given name's worth of evidence) of identical on the
/// fields both hold: one field keyed differently, not a different person who shares some.
pub fn second_record(a: &Encoding, b: &Encoding, threshold: f64) -> bool {
    a.score(b) >= threshold.max(a.identical_score(b) - MISSED_BAND)
}

/// For each record not `linked`, the best-scoring `linked` record of the same file sharing two
/// blocking keys of which it is a [`second_record`] (and `same_group` allows the pair).
pub fn twins_of_linked(
    side: &[Encoding],
    linked: &[bool],
    threshold: f64,
    same_group: impl Fn(u32, u32) -> bool,
) -> Vec<Option<u32>> {
    let mut best: Vec<Option<(u32, f64)>> = vec![None; side.len()];
    if !linked.iter().any(|&l| l) || linked.iter().all(|&l| l) {
        return vec![None; side.len()];
    }
    let rules = BLOCK_RULES.len();
    for a in 0..rules {
        for b in a + 1..rules {
            let mut keyed: Vec<(u64, bool, u32)> = side
                .iter()
                .enumerate()
                .filter(|(_, e)| e.blocks[a] != 0 && e.blocks[b] != 0)
                .map(|(i, e)| (pair_key(e.blocks[a], e.blocks[b]), linked[i], i as u32))
                .collect();
            keyed.sort_unstable();
            for block in keyed.chunk_by(|x, y| x.0 == y.0) {
                // Sorted: the unlinked records (false) come before the linked ones.
                let split = block.partition_point(|x| !x.1);
                let (free, held) = block.split_at(split);
                for &(_, _, u) in free {
                    for &(_, _, h) in held {
                        if shared_earlier(&side[u as usize], &side[h as usize], a, b)
                            || !same_group(u, h)
                        {
                            continue;
                        }
                        let (x, y) = (&side[u as usize], &side[h as usize]);
                        let score = x.score(y);
                        let better = best[u as usize]
                            .is_none_or(|(bh, bs)| score > bs || (score == bs && h < bh));
                        if better && second_record(x, y, threshold) {
                            best[u as usize] = Some((h, score));
                        }
                    }
                }
            }
        }
    }
    best.into_iter().map(|b| b.map(|(h, _)| h)).collect()
}

fn pair_key(a: u64, b: u64) -> u64 {
    a.rotate_left(29) ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Whether the two records share an earlier pair of rules than (a, b), so were scored there.
fn shared_earlier(x: &Encoding, y: &Encoding, a: usize, b: usize) -> bool {
    let shares = |q: usize| x.blocks[q] != 0 && x.blocks[q] == y.blocks[q];
    (0..=a).any(|p| {
        let upto = if p == a { b } else { BLOCK_RULES.len() };
        shares(p) && (p + 1..upto).any(shares)
    })
}
