//! Keyed, balanced Bloom-filter encodings of the fields people are linked on.
//!
//! Each field is cut into tokens (padded bigrams of a name; year, month, day and the unordered
//! month/day pair of a birth date; the sex letter), and each token sets `k` positions of one
//! 1,024-bit filter (Schnell's cryptographic long-term key). The positions are a keyed function
//! of the token: HMAC-SHA256 under a key derived per agreement and per field, so two agreements'
//! encodings cannot be compared and a field's tokens cannot be confused with another's.
//!
//! Hardening (the frequency and pattern-mining attacks of Christen et al. and Vidanage et al.):
//! the filter is **balanced**, written with its complement, so every encoding has exactly
//! 1,024 of 2,048 bits set and its weight says nothing about name length; and both halves are
//! scattered by a keyed permutation, so no one without the key knows which bit is which half.
//! The Dice coefficient of two balanced encodings is 1 − (differing bits) / 2,048.
//!
//! A given name is standardised first ([`standard_given`]: nicknames and romanisations), so
//! "Bob" and "Robert" set the same bits.
//!
//! Every token of the ASCII domain (bigrams of `_a-z`, years 1900–2100, months, days) is hashed
//! once when the encoder is built; encoding a record is then table look-ups and bit writes.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use p20w_schemas::IdType;
use sha2::Sha256;
use siphasher::sip::SipHasher24;

use super::normalize::{BirthDate, fold_name, fold_sex, soundex, standard_given};
use crate::{MasterKey, Pseudonymizer, SsnStatus, canonical_ssn};

/// Bits of the unbalanced filter; the encoding holds twice as many.
pub const FILTER_BITS: usize = 1024;
/// 64-bit words of one encoding (the filter and its complement).
pub const ENCODING_WORDS: usize = 2 * FILTER_BITS / 64;

/// Bits set per token, by field: birth date and names carry most of the evidence, sex little.
/// Chosen so an average record fills about 45% of the filter (clkhash's advice: about half).
const NAME_BITS_PER_TOKEN: usize = 30;
const DATE_BITS_PER_TOKEN: usize = 40;
const SEX_BITS_PER_TOKEN: usize = 20;

/// The blocking rules, in order: a pair is a candidate if it shares any one key, so a typo in
/// one field loses no pair that another rule still groups.
pub const BLOCK_RULES: [&str; 5] = [
    "birth_date",      // year and unordered month/day (survives a month/day swap)
    "family_year",     // Soundex of family name, birth year
    "initials_sex",    // first two letters of each name in either order, sex (a wrong birth date)
    "given_month_day", // Soundex of given name, unordered month/day (a name change, a year typo)
    "name_codes",      // both Soundex codes in either order (any birth-date error)
];

/// One person record as an agency holds it; clear values, never written by this module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub ssn: Option<&'a str>,
}

/// What leaves an agency for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    pub bits: [u64; ENCODING_WORDS],
    /// Keyed blocking keys, one per [`BLOCK_RULES`] entry; 0 where the rule's fields are missing.
    pub blocks: [u64; BLOCK_RULES.len()],
    /// The SSN pseudonym (the same as `p20w run` computes) where a valid SSN is present.
    pub ssn_pid: Option<String>,
}

/// Bytes of [`Encoding::to_bytes`]: the filter's words, then the blocking keys, little-endian.
pub const ENCODING_BYTES: usize = (ENCODING_WORDS + BLOCK_RULES.len()) * 8;

impl Encoding {
    /// The filter and blocking keys as one value (the SSN pseudonym travels apart), so a
    /// record's encoding can be a single column of a pipeline table.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bits
            .iter()
            .chain(&self.blocks)
            .flat_map(|w| w.to_le_bytes())
            .collect()
    }

    /// The inverse of [`Encoding::to_bytes`]; `None` for a value of the wrong length.
    pub fn from_bytes(bytes: &[u8], ssn_pid: Option<String>) -> Option<Encoding> {
        if bytes.len() != ENCODING_BYTES {
            return None;
        }
        let mut words = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")));
        let mut bits = [0u64; ENCODING_WORDS];
        bits.iter_mut()
            .for_each(|w| *w = words.next().expect("sized"));
        let mut blocks = [0u64; BLOCK_RULES.len()];
        blocks
            .iter_mut()
            .for_each(|w| *w = words.next().expect("sized"));
        Some(Encoding {
            bits,
            blocks,
            ssn_pid,
        })
    }

    /// Dice coefficient of two balanced encodings.
    pub fn similarity(&self, other: &Encoding) -> f64 {
        let differing: u32 = self
            .bits
            .iter()
            .zip(&other.bits)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum();
        1.0 - f64::from(differing) / (2 * FILTER_BITS) as f64
    }
}

/// A token's writes: set `set[i]`, clear `clear[i]` (the complement half's twin position).
#[derive(Clone)]
struct TokenBits {
    set: Vec<u16>,
    clear: Vec<u16>,
}

/// One field's keyed token hash.
struct Field {
    mac: Hmac<Sha256>,
    k: usize,
}

impl Field {
    fn new(master: &MasterKey, agreement_id: &str, field: &str, k: usize) -> Field {
        let key = derive(master, agreement_id, field);
        Field {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("any key length"),
            k,
        }
    }

    /// `k` filter positions of a token: HMAC-SHA256(key, counter ‖ token), two bytes each.
    fn positions(&self, token: &[u8]) -> Vec<u16> {
        let mut out = Vec::with_capacity(self.k);
        let mut counter = 0u8;
        while out.len() < self.k {
            let mut mac = self.mac.clone();
            mac.update(&[counter]);
            mac.update(token);
            let digest = mac.finalize().into_bytes();
            for pair in digest.chunks_exact(2) {
                if out.len() < self.k {
                    out.push(u16::from_le_bytes([pair[0], pair[1]]) % FILTER_BITS as u16);
                }
            }
            counter += 1;
        }
        out
    }
}

/// Encodes person records for one agreement.
pub struct Encoder {
    name: Field,
    permutation: Vec<u16>,
    name_bigrams: Vec<TokenBits>,
    years: Vec<TokenBits>,
    months: Vec<TokenBits>,
    days: Vec<TokenBits>,
    month_days: Vec<TokenBits>,
    sexes: Vec<TokenBits>,
    /// The encoding of a record with no tokens: the complement half all ones.
    empty: [u64; ENCODING_WORDS],
    block_key: [u8; 16],
    record: Hmac<Sha256>,
    ssn: Pseudonymizer,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

const ALPHABET: &[u8; 27] = b"_abcdefghijklmnopqrstuvwxyz";

fn letter_index(b: u8) -> Option<usize> {
    match b {
        b'_' => Some(0),
        b'a'..=b'z' => Some((b - b'a') as usize + 1),
        _ => None,
    }
}

impl Encoder {
    pub fn new(master: &MasterKey, agreement_id: &str) -> Encoder {
        let permutation = keyed_permutation(&derive(master, agreement_id, "permutation"));
        // One key for both name fields: a given and family name keyed the wrong way round (a
        // common entry error, above all for names whose order differs by culture) then encodes
        // to the same bits instead of a stranger's.
        let name = Field::new(master, agreement_id, "name", NAME_BITS_PER_TOKEN);
        let date = Field::new(master, agreement_id, "birth_date", DATE_BITS_PER_TOKEN);
        let sex = Field::new(master, agreement_id, "sex", SEX_BITS_PER_TOKEN);
        let bits = |field: &Field, token: &[u8]| token_bits(&permutation, &field.positions(token));
        let bigrams = |field: &Field| {
            let mut table = Vec::with_capacity(27 * 27);
            for a in ALPHABET {
                for b in ALPHABET {
                    table.push(bits(field, &[*a, *b]));
                }
            }
            table
        };
        let numbered = |prefix: &str, range: std::ops::RangeInclusive<u16>| {
            range
                .map(|v| bits(&date, format!("{prefix}{v}").as_bytes()))
                .collect::<Vec<_>>()
        };
        let mut month_days = Vec::with_capacity(31 * 31);
        for lo in 1..=31u16 {
            for hi in 1..=31u16 {
                month_days.push(bits(&date, format!("md{lo}-{hi}").as_bytes()));
            }
        }
        let sexes = [b"f", b"m", b"x"].iter().map(|s| bits(&sex, *s)).collect();
        let mut empty = [0u64; ENCODING_WORDS];
        for &p in &permutation[FILTER_BITS..] {
            empty[p as usize / 64] |= 1 << (p % 64);
        }
        let mut block_key = [0u8; 16];
        Hkdf::<Sha256>::new(None, master.bytes())
            .expand(info(agreement_id, "blocking").as_bytes(), &mut block_key)
            .expect("16 bytes is a valid HKDF-SHA256 length");
        Encoder {
            name_bigrams: bigrams(&name),
            years: numbered("y", 1900..=2100),
            months: numbered("m", 1..=12),
            days: numbered("d", 1..=31),
            month_days,
            sexes,
            name,
            permutation,
            empty,
            block_key,
            record: <Hmac<Sha256> as KeyInit>::new_from_slice(&derive(
                master,
                agreement_id,
                "record",
            ))
            .expect("any key length"),
            ssn: Pseudonymizer::new(master, agreement_id, IdType::Ssn),
        }
    }

    /// The pseudonymous key of an agency's own record id: the agency can recompute it to find
    /// its record in a link table; no one else can invert it.
    pub fn record_key(&self, record_id: &str) -> String {
        let mut mac = self.record.clone();
        mac.update(record_id.trim().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Encodes many records on every core, keeping their order.
    pub fn encode_all(&self, ids: &[Identity<'_>]) -> Vec<Encoding> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = ids.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || part.iter().map(|id| self.encode(id)).collect::<Vec<_>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("encoding does not panic"))
                .collect()
        })
    }

    pub fn encode(&self, id: &Identity<'_>) -> Encoding {
        let given = standard_given(fold_name(id.given_name));
        let family = fold_name(id.family_name);
        let date = BirthDate::parse(id.birth_date);
        let sex = fold_sex(id.sex);
        let mut bits = self.empty;
        self.add_name(&mut bits, &given);
        self.add_name(&mut bits, &family);
        if let Some(d) = date {
            let (lo, hi) = d.month_day_unordered();
            apply(&mut bits, &self.years[usize::from(d.year - 1900)]);
            apply(&mut bits, &self.months[usize::from(d.month - 1)]);
            apply(&mut bits, &self.days[usize::from(d.day - 1)]);
            apply(
                &mut bits,
                &self.month_days[usize::from(lo - 1) * 31 + usize::from(hi - 1)],
            );
        }
        if let Some(s) = sex {
            apply(
                &mut bits,
                &self.sexes[match s {
                    'f' => 0,
                    'm' => 1,
                    _ => 2,
                }],
            );
        }
        let ssn_pid = id.ssn.and_then(|raw| match canonical_ssn(raw) {
            (Some(canonical), SsnStatus::Valid) => Some(self.ssn.pseudonym(&canonical)),
            _ => None,
        });
        Encoding {
            bits,
            blocks: self.blocks(&given, &family, date, sex),
            ssn_pid,
        }
    }

    fn add_name(&self, bits: &mut [u64; ENCODING_WORDS], name: &str) {
        let table = &self.name_bigrams;
        if name.is_empty() {
            return;
        }
        // The common case, a name of ASCII letters: table look-ups over the bytes, no allocation.
        if name.bytes().all(|b| b.is_ascii_lowercase()) {
            let mut prev = 0; // the `_` pad
            for b in name.bytes().chain(std::iter::once(b'_')) {
                let next = letter_index(b).expect("ASCII letter or pad");
                apply(bits, &table[prev * 27 + next]);
                prev = next;
            }
            return;
        }
        let padded: Vec<char> = std::iter::once('_')
            .chain(name.chars())
            .chain(std::iter::once('_'))
            .collect();
        for pair in padded.windows(2) {
            let ascii = |c: char| u8::try_from(c).ok().and_then(letter_index);
            match (ascii(pair[0]), ascii(pair[1])) {
                (Some(a), Some(b)) => apply(bits, &table[a * 27 + b]),
                _ => {
                    // Outside the precomputed domain (a letter the fold kept): hash it now.
                    let token: String = pair.iter().collect();
                    apply(
                        bits,
                        &token_bits(&self.permutation, &self.name.positions(token.as_bytes())),
                    );
                }
            }
        }
    }

    /// The first two letters of a name.
    fn prefix(s: &str) -> &str {
        &s[..s.char_indices().nth(2).map_or(s.len(), |(i, _)| i)]
    }

    fn blocks(
        &self,
        given: &str,
        family: &str,
        date: Option<BirthDate>,
        sex: Option<char>,
    ) -> [u64; BLOCK_RULES.len()] {
        let (sg, sf) = (soundex(given), soundex(family));
        let md = date.map(|d| d.month_day_unordered());
        let year = date.map(|d| d.year.to_le_bytes());
        let md_bytes = md.map(|(lo, hi)| [lo, hi]);
        let sex_byte = [sex.map_or(b'u', |c| c as u8)];
        // Each rule's parts, hashed with a separator between them; a rule missing a part has
        // no key.
        let names = !given.is_empty() && !family.is_empty();
        let rules: [Option<[&[u8]; 3]>; BLOCK_RULES.len()] = [
            year.as_ref()
                .zip(md_bytes.as_ref())
                .map(|(y, m)| [&y[..], &m[..], &[][..]]),
            year.as_ref()
                .filter(|_| !sf.is_empty())
                .map(|y| [sf.as_bytes(), &y[..], &[][..]]),
            names.then(|| {
                let (a, b) = (Self::prefix(given), Self::prefix(family));
                let (a, b) = if a <= b { (a, b) } else { (b, a) };
                [a.as_bytes(), b.as_bytes(), &sex_byte[..]]
            }),
            md_bytes
                .as_ref()
                .filter(|_| !sg.is_empty())
                .map(|m| [sg.as_bytes(), &m[..], &[][..]]),
            (!sg.is_empty() && !sf.is_empty()).then(|| {
                if sg <= sf {
                    [sg.as_bytes(), sf.as_bytes(), &[][..]]
                } else {
                    [sf.as_bytes(), sg.as_bytes(), &[][..]]
                }
            }),
        ];
        let mut keys = [0u64; BLOCK_RULES.len()];
        for (rule, (key, parts)) in keys.iter_mut().zip(rules).enumerate() {
            if let Some(parts) = parts {
                let mut h = SipHasher24::new_with_key(&self.block_key);
                std::hash::Hasher::write(&mut h, &[rule as u8]);
                for p in parts {
                    std::hash::Hasher::write(&mut h, p);
                    std::hash::Hasher::write(&mut h, &[0xff]);
                }
                // 0 marks "no key"; a real key that hashes to 0 moves to 1.
                *key = std::hash::Hasher::finish(&h).max(1);
            }
        }
        keys
    }
}

fn apply(bits: &mut [u64; ENCODING_WORDS], token: &TokenBits) {
    for &p in &token.set {
        bits[p as usize / 64] |= 1 << (p % 64);
    }
    for &p in &token.clear {
        bits[p as usize / 64] &= !(1 << (p % 64));
    }
}

/// Where a filter position lands: bit `i` of the filter at `permutation[i]`, its complement at
/// `permutation[FILTER_BITS + i]`.
fn token_bits(permutation: &[u16], positions: &[u16]) -> TokenBits {
    TokenBits {
        set: positions.iter().map(|&p| permutation[p as usize]).collect(),
        clear: positions
            .iter()
            .map(|&p| permutation[FILTER_BITS + p as usize])
            .collect(),
    }
}

/// A Fisher–Yates shuffle of the 2,048 positions, driven by HMAC-SHA256(key, counter) bytes.
fn keyed_permutation(key: &[u8; 32]) -> Vec<u16> {
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    let mut stream = Vec::new();
    let mut counter = 0u32;
    let mut next = move || {
        if stream.is_empty() {
            let mut m = mac.clone();
            m.update(&counter.to_le_bytes());
            counter += 1;
            stream = m
                .finalize()
                .into_bytes()
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                .collect();
        }
        stream.pop().expect("refilled above")
    };
    let mut perm: Vec<u16> = (0..2 * FILTER_BITS as u16).collect();
    for i in (1..perm.len()).rev() {
        // Rejection sampling keeps the shuffle unbiased.
        let bound = (i + 1) as u32;
        let zone = u32::MAX - u32::MAX % bound;
        let j = loop {
            let r = next();
            if r < zone {
                break (r % bound) as usize;
            }
        };
        perm.swap(i, j);
    }
    perm
}

fn info(agreement_id: &str, part: &str) -> String {
    format!("p20w/pprl/v1/{agreement_id}/{part}")
}

fn derive(master: &MasterKey, agreement_id: &str, part: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, master.bytes())
        .expand(info(agreement_id, part).as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}
