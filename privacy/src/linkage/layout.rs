//! What an encoding holds and how two are scored: a few balanced filters, one per group of
//! fields, compared segment by segment and weighed like Fellegi–Sunter evidence.
//!
//! One filter for the whole record (a CLK) lets a long surname outweigh a birth date and makes
//! an address one file lacks look like a disagreement. Segment by segment, each segment both
//! records hold adds its agreement weight (about log2 of how much likelier agreement is for the
//! same person than for strangers) when its filters agree, and subtracts its disagreement
//! weight when they differ as much as strangers' do, in between in proportion; a segment either
//! side lacks adds nothing.
//!
//! Fields share a segment where a segment of their own would give away their values to a
//! frequency attack: a filter of the given name alone is identical for every Maria, so counting
//! equal segments and matching the counts to published name frequencies would name them.
//! Given and family names share one (full names are far more evenly spread, and names keyed the
//! wrong way round encode alike), and the address, locality and postcode another.
//!
//! Sex is not encoded: many files lack it (NSC returns, the postsecondary extracts), and on
//! every pair with one side blank it would cost the birth-date segment it shared more than its
//! one bit of evidence is worth. It still keys a blocking rule.

use serde::Serialize;

/// One segment of an encoding and its evidence.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SegmentSpec {
    pub name: &'static str,
    /// Bits of the unbalanced filter; the encoding holds twice as many (filter and complement).
    pub filter_bits: usize,
    /// Filter positions each token sets, chosen so a typical value fills 35–50% of its filter.
    pub bits_per_token: usize,
    /// Score added when the filters are identical, and subtracted at strangers' similarity.
    pub agreement: f64,
    pub disagreement: f64,
}

/// Segments, in their order in the encoding. Weights are log2 likelihood ratios from typical
/// frequencies: a full name is shared by about 1 stranger in 30,000, a birth date by 1 in
/// 20,000; addresses and other identifiers are compared only where both files hold them (the
/// evaluation files and `p20w encode`, not the agency extracts of `p20w run`, which lack them).
/// Disagreement weights are small where the same person's value often changes (a family name
/// at marriage, an address at a move).
pub const SEGMENTS: [SegmentSpec; 4] = [
    field("name", 512, 20, 15.0, 6.0),
    field("birth_date", 128, 24, 14.0, 5.0),
    field("address", 512, 6, 14.0, 2.0),
    field("other_id", 128, 8, 12.0, 3.0),
];

const fn field(
    name: &'static str,
    filter_bits: usize,
    bits_per_token: usize,
    agreement: f64,
    disagreement: f64,
) -> SegmentSpec {
    SegmentSpec {
        name,
        filter_bits,
        bits_per_token,
        agreement,
        disagreement,
    }
}

pub const NAME: usize = 0;
pub const BIRTH_DATE: usize = 1;
pub const ADDRESS: usize = 2;
pub const OTHER_ID: usize = 3;

/// First 64-bit word of each segment, and one past the last segment's.
pub const OFFSETS: [usize; SEGMENTS.len() + 1] = offsets();

const fn offsets() -> [usize; SEGMENTS.len() + 1] {
    let mut out = [0; SEGMENTS.len() + 1];
    let mut i = 0;
    while i < SEGMENTS.len() {
        out[i + 1] = out[i] + 2 * SEGMENTS[i].filter_bits / 64;
        i += 1;
    }
    out
}

/// 64-bit words of one encoding.
pub const ENCODING_WORDS: usize = OFFSETS[SEGMENTS.len()];

/// Field similarity of two strangers' filters about half full: filters agree there on about
/// half their bits by chance, so similarity at or below this is no evidence of a match.
pub const STRANGER_SIMILARITY: f64 = 0.5;

/// The best score a pair can reach: every segment present and identical.
pub const MAX_SCORE: f64 = {
    let mut total = 0.0;
    let mut i = 0;
    while i < SEGMENTS.len() {
        total += SEGMENTS[i].agreement;
        i += 1;
    }
    total
};

/// The words of segment `f` in an encoding.
pub fn segment(bits: &[u64; ENCODING_WORDS], f: usize) -> &[u64] {
    &bits[OFFSETS[f]..OFFSETS[f + 1]]
}

/// Which segments a record holds: a present segment's balanced filter has exactly
/// `filter_bits` ones, an absent one none.
pub fn presence(bits: &[u64; ENCODING_WORDS]) -> u8 {
    (0..SEGMENTS.len()).fold(0u8, |mask, f| {
        let ones: u32 = segment(bits, f).iter().map(|w| w.count_ones()).sum();
        if ones > 0 { mask | 1 << f } else { mask }
    })
}

/// Similarity of two segments: 1 − (differing bits) / (segment bits). For balanced filters this
/// is the Dice coefficient's ordering without knowing which half is which.
fn similarity(a: &[u64], b: &[u64]) -> f64 {
    let differing: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
    1.0 - f64::from(differing) / (a.len() * 64) as f64
}

/// A segment's evidence at a similarity: its disagreement weight at strangers' similarity and
/// below, its agreement weight at identity, linear between.
fn evidence(f: usize, sim: f64) -> f64 {
    let spec = &SEGMENTS[f];
    let agree = ((sim - STRANGER_SIMILARITY) / (1.0 - STRANGER_SIMILARITY)).clamp(0.0, 1.0);
    -spec.disagreement + (spec.agreement + spec.disagreement) * agree
}

/// The match score of two records' bits given their presence masks.
pub fn score(a: &[u64; ENCODING_WORDS], pa: u8, b: &[u64; ENCODING_WORDS], pb: u8) -> f64 {
    let both = pa & pb;
    (0..SEGMENTS.len())
        .filter(|&f| both & (1 << f) != 0)
        .map(|f| evidence(f, similarity(segment(a, f), segment(b, f))))
        .sum()
}
