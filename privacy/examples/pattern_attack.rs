//! A pattern-mining attack on the name segment of `p20w encode`'s output (bench/attack.sh runs
//! it): how many people can someone who holds the encodings, but not the key, name?
//!
//! The attacker is strong. It knows every parameter in the README, holds the plaintext names of
//! the very population that was encoded (only not who is which record), and so knows each
//! token's frequency exactly. It does not know the key, so not which bits a token sets, nor the
//! keyed permutation that hides which half of the balanced filter is which.
//!
//! The attack, after Christen et al. (2018) and Vidanage et al. (2019), adapted to balancing:
//! 1. Each column is paired with its twin (its exact complement over every record); every
//!    column is a candidate, in both halves, but a column and its twin are never taken together.
//! 2. Clusters of columns set together are grown, densest first: a seed pair of free columns
//!    takes the column that keeps most of the records holding all chosen ones, while it keeps
//!    at least `TIGHT` of them (a token's columns are set in every record holding it). A
//!    cluster of six or more columns is taken as one token's.
//! 3. Clusters are labelled by frequency: by the count of records holding them, against the
//!    tokens' counts, letter tokens (half a bigram's positions, so smaller clusters) apart.
//! 4. A record "holds" a token when all its columns are set. Each record is matched to the
//!    plaintext name whose token profile is nearest (Hamming distance over the tokens found);
//!    it is re-identified when that name is its own and no other name is as near.
//!
//! Each run is scored with the attacker's labels and with the best labels an oracle could give
//! its clusters. A control grants the attacker which half of each pair is the filter (an
//! unbalanced Bloom filter), to show the attack has teeth.
//!
//! Prints, for the encoder with letter tokens and without, balanced and as the control: the
//! clusters found, how many are a token (F1 >= 0.9) and the share of people re-identified.
//! Usage: pattern_attack NAMES.csv  (columns given_name,family_name; other columns ignored)

use std::collections::HashMap;

use p20w_privacy::MasterKey;
use p20w_privacy::linkage::{Encoder, Identity, SEGMENTS, fold_name, standard_given};

/// Tokens below this share of records are not attacked: too few records to mine.
const MIN_SUPPORT: f64 = 0.005;
/// A column joins a cluster only if it is set in this share of the records holding all the
/// cluster's columns: a token's columns are set in every record holding the token.
const TIGHT: f64 = 0.9;
/// Seed pairs that grew no cluster before the attacker gives up.
const MAX_FAILED_SEEDS: usize = 20_000;

type Bits = Vec<u64>;

fn count(b: &[u64]) -> u32 {
    b.iter().map(|w| w.count_ones()).sum()
}

fn and(a: &[u64], b: &[u64]) -> Bits {
    a.iter().zip(b).map(|(x, y)| x & y).collect()
}

fn count_and(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// A folded name's tokens as the encoder makes them: padded bigrams and, with letters, each
/// letter with its occurrence (1–3) in that name, salted with the other name's first letter.
fn tokens(name: &str, other: &str, letters: bool, out: &mut Vec<String>) {
    if name.is_empty() {
        return;
    }
    let padded: Vec<char> = std::iter::once('_')
        .chain(name.chars())
        .chain(std::iter::once('_'))
        .collect();
    out.extend(padded.windows(2).map(|w| w.iter().collect::<String>()));
    if letters {
        let mut seen: HashMap<char, u8> = HashMap::new();
        for c in name.chars() {
            let n = seen.entry(c).or_default();
            *n = (*n + 1).min(3);
            let salt = other
                .chars()
                .next()
                .filter(|c| c.is_ascii_alphanumeric())
                .unwrap_or('_');
            out.push(format!("#{c}{n}{salt}"));
        }
    }
}

struct Person {
    full: String,
    tokens: Vec<String>,
}

fn people(raw: &[(String, String)], letters: bool) -> Vec<Person> {
    raw.iter()
        .map(|(g, f)| {
            let (given, family) = (standard_given(fold_name(g)), fold_name(f));
            let mut t = Vec::new();
            tokens(&given, &family, letters, &mut t);
            tokens(&family, &given, letters, &mut t);
            t.sort();
            t.dedup();
            Person {
                full: format!("{given} {family}"),
                tokens: t,
            }
        })
        .collect()
}

/// The name segment of every record, as columns over records.
fn columns(encoder: &Encoder, raw: &[(String, String)]) -> Vec<Bits> {
    let width = 2 * SEGMENTS[0].filter_bits;
    let words = raw.len().div_ceil(64);
    let mut cols = vec![vec![0u64; words]; width];
    for (r, (given, family)) in raw.iter().enumerate() {
        let e = encoder.encode(&Identity {
            given_name: given,
            family_name: family,
            ..Identity::default()
        });
        for (c, col) in cols.iter_mut().enumerate() {
            if e.bits[c / 64] >> (c % 64) & 1 == 1 {
                col[r / 64] |= 1 << (r % 64);
            }
        }
    }
    cols
}

/// Each column's twin (the same position in the other half): the column that is its exact
/// complement over every record.
fn twins(cols: &[Bits], n: usize) -> Vec<Option<usize>> {
    let mask = |i: usize| {
        if i + 1 == n.div_ceil(64) && !n.is_multiple_of(64) {
            (1u64 << (n % 64)) - 1
        } else {
            u64::MAX
        }
    };
    let by_bits: HashMap<&Bits, usize> = cols.iter().enumerate().map(|(i, c)| (c, i)).collect();
    cols.iter()
        .map(|c| {
            let flipped: Bits = c.iter().enumerate().map(|(i, w)| !w & mask(i)).collect();
            by_bits.get(&flipped).copied()
        })
        .collect()
}

struct Found {
    token: String,
    columns: Vec<usize>,
}

fn mine(cols: &[Bits], twin: &[Option<usize>], people: &[Person]) -> Vec<Found> {
    let n = people.len();
    let width = cols.len();
    let mut pairs: Vec<(u32, usize, usize)> = Vec::new();
    for i in 0..width {
        for j in i + 1..width {
            if twin[i] != Some(j) {
                pairs.push((count_and(&cols[i], &cols[j]), i, j));
            }
        }
    }
    pairs.sort_unstable_by(|a, b| b.cmp(a));
    let min_count = (MIN_SUPPORT * n as f64) as u32;
    // 1. Clusters of columns set together, densest first: a pair of free columns grows by the
    //    column that keeps most of the records holding all chosen ones, while it keeps at
    //    least TIGHT of them; a cluster of six or more columns is taken as one token's.
    let mut taken = vec![false; width];
    let mut clusters: Vec<(u32, Vec<usize>)> = Vec::new();
    let mut failures = 0;
    for &(joint, i, j) in &pairs {
        if joint < min_count || failures > MAX_FAILED_SEEDS {
            break;
        }
        if taken[i] || taken[j] {
            continue;
        }
        let mut chosen = vec![i, j];
        let mut rows = and(&cols[i], &cols[j]);
        while chosen.len() < SEGMENTS[0].bits_per_token {
            let held = count(&rows);
            let next = (0..width)
                .filter(|&c| !taken[c] && !chosen.contains(&c))
                .filter(|&c| !chosen.iter().any(|&d| twin[d] == Some(c)))
                .map(|c| (count_and(&rows, &cols[c]), c))
                .max();
            match next {
                Some((kept, c)) if f64::from(kept) >= TIGHT * f64::from(held) => {
                    rows = and(&rows, &cols[c]);
                    chosen.push(c);
                }
                _ => break,
            }
        }
        if chosen.len() < 6 || count(&rows) < min_count {
            failures += 1;
            continue;
        }
        for &c in &chosen {
            taken[c] = true;
            if let Some(t) = twin[c] {
                taken[t] = true;
            }
        }
        clusters.push((count(&rows), chosen));
    }
    // 2. Frequency alignment: clusters by count against tokens by count, each kind apart (a
    //    letter token sets half a bigram's positions, so a small cluster is a letter's).
    let mut freq: HashMap<&str, u32> = HashMap::new();
    for p in people {
        for t in &p.tokens {
            *freq.entry(t).or_default() += 1;
        }
    }
    let mut order: Vec<(&str, u32)> = freq.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    clusters.sort_by_key(|c| std::cmp::Reverse(c.0));
    let letters_exist = order.iter().any(|(t, _)| t.starts_with('#'));
    let mut used = vec![false; order.len()];
    let mut found = Vec::new();
    for (_, columns) in clusters {
        let letter = letters_exist && columns.len() <= SEGMENTS[0].bits_per_token * 3 / 5;
        let Some(slot) =
            (0..order.len()).find(|&t| !used[t] && order[t].0.starts_with('#') == letter)
        else {
            continue;
        };
        used[slot] = true;
        found.push(Found {
            token: order[slot].0.to_string(),
            columns,
        });
    }
    found
}

/// Which column of each twin pair is the filter (not its complement), learnt the way only the
/// key holder could: encode probe names of one rare letter each; a filter column is 0 for a
/// probe unless the probe's few tokens hit it, its complement 1.
fn filter_half(encoder: &Encoder, twin: &[Option<usize>]) -> Vec<usize> {
    let probes: Vec<_> = ["x", "q", "z", "j", "v"]
        .iter()
        .map(|g| {
            encoder.encode(&Identity {
                given_name: g,
                ..Identity::default()
            })
        })
        .collect();
    let mut out = Vec::new();
    for (a, t) in twin.iter().enumerate() {
        let Some(b) = *t else { continue };
        if a > b {
            continue;
        }
        let zeros = probes
            .iter()
            .filter(|e| e.bits[a / 64] >> (a % 64) & 1 == 0)
            .count();
        out.push(if zeros * 2 > probes.len() { a } else { b });
    }
    out
}

/// The records holding each token, the truth the attack is scored against.
fn truth(people: &[Person]) -> HashMap<String, Bits> {
    let mut out: HashMap<String, Bits> = HashMap::new();
    for (r, p) in people.iter().enumerate() {
        for t in &p.tokens {
            out.entry(t.clone())
                .or_insert_with(|| vec![0; people.len().div_ceil(64)])[r / 64] |= 1 << (r % 64);
        }
    }
    out
}

/// F1 of the records the attacker says hold a token against those that do.
fn f1(said: &[u64], holds: &[u64]) -> f64 {
    let both = f64::from(count_and(said, holds));
    2.0 * both / f64::from(count(said) + count(holds)).max(1.0)
}

/// Tokens right (F1 >= 0.9), of them letters, and the records named rightly and wrongly: each
/// record goes to the plaintext name whose profile over the found tokens is nearest, when only
/// one name is that near.
fn score(
    found: &[Found],
    said: &[Bits],
    truth: &HashMap<String, Bits>,
    people: &[Person],
) -> String {
    let right: Vec<bool> = found
        .iter()
        .zip(said)
        .map(|(f, s)| f1(s, &truth[&f.token]) >= 0.9)
        .collect();
    let letters = found.iter().filter(|f| f.token.starts_with('#')).count();
    let letters_right = found
        .iter()
        .zip(&right)
        .filter(|(f, r)| **r && f.token.starts_with('#'))
        .count();
    let words = found.len().div_ceil(64).max(1);
    let mut names: HashMap<&str, Bits> = HashMap::new();
    for p in people {
        names.entry(&p.full).or_insert_with(|| {
            let mut v = vec![0u64; words];
            for (i, f) in found.iter().enumerate() {
                if p.tokens.binary_search(&f.token).is_ok() {
                    v[i / 64] |= 1 << (i % 64);
                }
            }
            v
        });
    }
    let (mut named, mut misnamed) = (0usize, 0usize);
    for (r, person) in people.iter().enumerate() {
        let mut seen = vec![0u64; words];
        for (i, s) in said.iter().enumerate() {
            if s[r / 64] >> (r % 64) & 1 == 1 {
                seen[i / 64] |= 1 << (i % 64);
            }
        }
        let mut best = (u32::MAX, 0usize, "");
        for (name, v) in &names {
            let d: u32 = v.iter().zip(&seen).map(|(a, b)| (a ^ b).count_ones()).sum();
            if d < best.0 {
                best = (d, 1, name);
            } else if d == best.0 {
                best.1 += 1;
            }
        }
        if best.1 == 1 {
            if best.2 == person.full {
                named += 1;
            } else {
                misnamed += 1;
            }
        }
    }
    let n = people.len() as f64;
    format!(
        "{} of {} tokens right ({letters_right} of {letters} letter tokens); re-identified {named} \
         ({:.4}), named wrongly {misnamed} ({:.4})",
        right.iter().filter(|r| **r).count(),
        found.len(),
        named as f64 / n,
        misnamed as f64 / n,
    )
}

/// Attacks one encoder's encodings of the population twice: as they are, and as the control
/// that knows which half of each pair is the filter (what the keyed permutation hides), i.e.
/// an unbalanced Bloom filter. The population is encoded once for both.
fn attack(label: &str, encoder: &Encoder, people: &[Person], raw: &[(String, String)]) {
    let n = people.len();
    let cols = columns(encoder, raw);
    let twin = twins(&cols, n);
    let paired = twin.iter().filter(|t| t.is_some()).count();
    let truth = truth(people);
    let attacked = truth
        .values()
        .filter(|b| f64::from(count(b)) >= MIN_SUPPORT * n as f64)
        .count();
    println!(
        "{label} ({paired} of {} columns paired with their twin; {attacked} tokens in >= \
         {MIN_SUPPORT} of records)",
        cols.len()
    );
    let halves: Vec<Bits> = filter_half(encoder, &twin)
        .into_iter()
        .map(|c| cols[c].clone())
        .collect();
    let unpaired = vec![None; halves.len()];
    for (how, cols, twin) in [
        ("balanced", &cols, &twin),
        ("halves known (unbalanced control)", &halves, &unpaired),
    ] {
        let mut found = mine(cols, twin, people);
        let said: Vec<Bits> = found
            .iter()
            .map(|f| {
                f.columns
                    .iter()
                    .skip(1)
                    .fold(cols[f.columns[0]].clone(), |acc, &c| and(&acc, &cols[c]))
            })
            .collect();
        println!(
            "  {how}, labels by frequency: {}",
            score(&found, &said, &truth, people)
        );
        // What the clusters could tell an attacker who labelled them perfectly.
        for (f, s) in found.iter_mut().zip(&said) {
            f.token = truth
                .iter()
                .max_by(|a, b| f1(s, a.1).total_cmp(&f1(s, b.1)))
                .map(|(t, _)| t.clone())
                .expect("some token");
        }
        println!(
            "  {how}, best labels (oracle): {}",
            score(&found, &said, &truth, people)
        );
    }
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: pattern_attack NAMES.csv");
    let mut reader = csv::Reader::from_path(&path).expect("a readable names file");
    let headers = reader.headers().expect("a header row").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .expect("name columns")
    };
    let (g, f) = (col("given_name"), col("family_name"));
    let raw: Vec<(String, String)> = reader
        .records()
        .map(|r| r.expect("a readable row"))
        .map(|r| (r[g].to_string(), r[f].to_string()))
        .filter(|(g, f)| !(fold_name(g).is_empty() && fold_name(f).is_empty()))
        .collect();
    let with = people(&raw, true);
    let distinct = with.iter().fold(HashMap::<&str, usize>::new(), |mut m, p| {
        *m.entry(&p.full).or_default() += 1;
        m
    });
    let unique = distinct.values().filter(|&&c| c == 1).count();
    println!(
        "{} records, {} distinct full names, {unique} held by one record only ({:.4}): the most \
         any name-only attack could single out",
        raw.len(),
        distinct.len(),
        unique as f64 / raw.len() as f64
    );
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).expect("random key");
    let key = MasterKey::from_bytes(key, "attack bench").expect("32 bytes");
    attack("letter tokens", &Encoder::new(&key, "attack"), &with, &raw);
    attack(
        "bigrams only",
        &Encoder::without_letter_tokens(&key, "attack"),
        &people(&raw, false),
        &raw,
    );
}
