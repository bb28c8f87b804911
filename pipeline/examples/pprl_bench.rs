//! PPRL throughput and accuracy on synthetic people (bench/linkage.sh runs it): encodes N
//! students and N right-hand records (80% the same students as another clerk keyed them, 20%
//! people not on the left), links them one to one, and prints records/s, seconds and
//! precision/recall against the known truth.
//!
//! Birth dates, sex and SSNs are the synthetic state's; names are not. `p20w synth` draws from
//! 20 given names per sex and 25 family names, so at a million students every full name and
//! birth date is shared by one or two other people and no linkage on names could tell them
//! apart. Here names are composed from syllables by a hash of the person, skewed so common
//! syllables recur (about 1,600 given and 27,000 family names), which is closer to a state's
//! variety; until `p20w synth` itself gains realistic names (issue 15 §6), this is the bench
//! population.

use std::time::Instant;

use p20w_privacy::MasterKey;
use p20w_privacy::linkage::{Encoder, Encoding, Identity, LinkConfig, link_one_to_one};
use p20w_synth::{SynthConfig, generate_student};

struct Person {
    given: String,
    family: String,
    birth: String,
    sex: &'static str,
    ssn: String,
}

const SYLLABLES: [&str; 40] = [
    "ma", "ri", "jo", "an", "el", "ka", "lu", "se", "ta", "no", "vi", "de", "ha", "mi", "sa", "bo",
    "ter", "lin", "son", "ber", "ga", "wen", "dor", "ash", "ki", "ro", "ne", "ul", "fa", "te",
    "ly", "chen", "gar", "ez", "mo", "ra", "vin", "pa", "qui", "ste",
];

/// Names from syllables: the index hashed, each syllable skewed toward the front of the list
/// (squaring a uniform), so some names are common and most are rare.
fn names(i: u64) -> (String, String) {
    let mut h = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut syllable = |n: usize| {
        h = h.rotate_left(13).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let u = (h >> 11) as f64 / (1u64 << 53) as f64;
        SYLLABLES[((u * u) * n as f64) as usize]
    };
    let given = format!("{}{}", syllable(40), syllable(40));
    let family = format!("{}{}{}", syllable(30), syllable(30), syllable(30));
    (given, family)
}

/// Two adjacent letters swapped, at a position chosen by `i`.
fn typo(s: &str, i: u64) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() > 2 {
        let p = 1 + (i as usize % (c.len() - 2));
        c.swap(p, p + 1);
    }
    c.into_iter().collect()
}

fn encode_all(encoder: &Encoder, people: &[Person]) -> Vec<Encoding> {
    let ids: Vec<Identity<'_>> = people
        .iter()
        .map(|p| Identity {
            given_name: &p.given,
            family_name: &p.family,
            birth_date: &p.birth,
            sex: p.sex,
            ssn: (!p.ssn.is_empty()).then_some(p.ssn.as_str()),
            ..Identity::default()
        })
        .collect();
    encoder.encode_all(&ids)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let cfg = SynthConfig {
        students: 2 * n,
        ..SynthConfig::default()
    };
    let started = Instant::now();
    let person = |i: u64| {
        let s = generate_student(&cfg, i);
        let (given, family) = names(i);
        Person {
            given,
            family,
            birth: s.birth_date.to_string(),
            sex: s.sex,
            ssn: if s.ssn_in_k12 { s.ssn } else { String::new() },
        }
    };
    let left: Vec<Person> = (0..n).map(person).collect();
    let mut truth = Vec::new();
    let right: Vec<Person> = (0..n)
        .map(|i| {
            let partnered = i % 5 != 0;
            let mut p = person(if partnered { i } else { n + i });
            if i % 12 == 1 {
                p.given = typo(&p.given, i);
            }
            if i % 20 == 3 {
                p.family = typo(&p.family, i);
            }
            if i % 33 == 5 {
                let b: Vec<&str> = p.birth.split('-').collect();
                if b[2].parse::<u8>().unwrap() <= 12 {
                    p.birth = format!("{}-{}-{}", b[0], b[2], b[1]);
                }
            }
            p.sex = "";
            if i % 2 == 0 {
                p.ssn.clear();
            }
            if partnered {
                truth.push((i as u32, i as u32));
            }
            p
        })
        .collect();
    eprintln!(
        "generated {} + {} people in {:.1} s",
        left.len(),
        right.len(),
        started.elapsed().as_secs_f64()
    );

    let key = MasterKey::from_bytes(vec![7; 32], "bench").unwrap();
    let encoder = Encoder::new(&key, "bench");
    // Three passes: this machine's speed varies by a factor of three within an afternoon, and
    // the fastest pass is the encoder's own speed, the slowest what a busy machine gives.
    let mut passes = Vec::new();
    let (mut l, mut r) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        // The last pass's encodings go first, so the peak holds one set.
        drop(std::mem::take(&mut l));
        drop(std::mem::take(&mut r));
        let t = Instant::now();
        l = encode_all(&encoder, &left);
        r = encode_all(&encoder, &right);
        passes.push(t.elapsed().as_secs_f64());
        eprintln!("encode pass           {:.2} s", passes[passes.len() - 1]);
    }
    passes.sort_by(f64::total_cmp);
    let encode_s = passes[0];
    let t = Instant::now();
    let linkage = link_one_to_one(&l, &r, &LinkConfig::default());
    let link_s = t.elapsed().as_secs_f64();
    let found: std::collections::HashSet<(u32, u32)> =
        linkage.links.iter().map(|k| (k.left, k.right)).collect();
    let hits = truth.iter().filter(|t| found.contains(t)).count();
    println!("records per side      {n}");
    println!(
        "encode                {:.2} s, {:.0} records/s ({} cores); slowest of 3 passes {:.0} records/s",
        encode_s,
        2.0 * n as f64 / encode_s,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        2.0 * n as f64 / passes[2]
    );
    println!(
        "link                  {:.2} s ({} pairs scored, {} blocks skipped)",
        link_s, linkage.pairs_scored, linkage.skipped_blocks
    );
    println!(
        "links                 {} by SSN, {} fuzzy; threshold {:.3} ({})",
        linkage.ssn_links,
        linkage.fuzzy_links,
        linkage.threshold.threshold,
        linkage.threshold.method
    );
    println!(
        "precision             {:.4}",
        hits as f64 / found.len().max(1) as f64
    );
    println!(
        "recall                {:.4}",
        hits as f64 / truth.len() as f64
    );
    // Why true pairs were missed: scored below the cut, or a record went to someone else.
    let missed: Vec<&(u32, u32)> = truth.iter().filter(|t| !found.contains(t)).collect();
    let below = missed
        .iter()
        .filter(|(a, b)| l[*a as usize].score(&r[*b as usize]) < linkage.threshold.threshold)
        .count();
    println!(
        "missed                {} below the threshold, {} taken by another record",
        below,
        missed.len() - below
    );
}
