//! Keyed, balanced Bloom-filter encodings of the fields people are linked on.
//!
//! Each field is cut into tokens (padded bigrams of a name, an address, a postcode or another
//! identifier; year, month, day and the unordered month/day pair of a birth date), and each
//! token sets `k` positions of its segment's filter (the segments and the
//! scoring are in [`super::layout`]). The positions are a keyed function of the token:
//! HMAC-SHA256 under a key derived per agreement and per field, so two agreements' encodings
//! cannot be compared and a field's tokens cannot be confused with another's in the same
//! segment. Given and family names share one key, so names keyed the wrong way round encode
//! alike.
//!
//! Hardening (the frequency and pattern-mining attacks of Christen et al. and Vidanage et al.):
//! every filter is **balanced**, written with its complement, so a present segment has exactly
//! half its bits set and its weight says nothing about the values' length; both halves are
//! scattered by a keyed permutation of the segment, so no one without the key knows which bit
//! is which half; and no segment holds a field as skewed as a given name alone. A segment's
//! presence (all zeros when the record holds none of its fields) is visible, as it must be for
//! a missing field to count as no evidence rather than a disagreement.
//!
//! A given name is standardised first ([`standard_given`]: nicknames and romanisations), so
//! "Bob" and "Robert" set the same bits.
//!
//! Every token of the ASCII domain (bigrams of `_a-z0-9`, years 1900–2100, months, days) is
//! hashed once when the encoder is built; encoding a record is then table look-ups and bit
//! writes.

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use p20w_schemas::IdType;
use sha2::Sha256;
use siphasher::sip::SipHasher24;

use super::layout::{
    ADDRESS, BIRTH_DATE, ENCODING_WORDS, NAME, OFFSETS, OTHER_ID, SEGMENTS, presence, score,
};
use super::normalize::{BirthDate, fold_name, fold_sex, fold_text, soundex, standard_given};
use crate::{MasterKey, Pseudonymizer, SsnStatus, canonical_ssn};

/// The blocking rules, in order: a pair is a candidate if it shares any one key, so a typo in
/// one field loses no pair that another rule still groups.
pub const BLOCK_RULES: [&str; 7] = [
    "birth_date",      // year and unordered month/day (survives a month/day swap)
    "family_year",     // Soundex of family name, birth year
    "initials_sex",    // first two letters of each name in either order, sex (a wrong birth date)
    "given_month_day", // Soundex of given name, unordered month/day (a name change, a year typo)
    "name_codes",      // both Soundex codes in either order (any birth-date error)
    "other_id",        // the other identifier, where both files hold one (names and date wrong)
    "postcode_street", // postcode and the street name's first letters (the same household)
];

/// One person record as an agency holds it; clear values, never written by this module. The
/// fields after `ssn` are optional evidence (empty when a file lacks them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub ssn: Option<&'a str>,
    pub address: &'a str,
    pub locality: &'a str,
    pub postcode: &'a str,
    pub other_id: &'a str,
}

/// What leaves an agency for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    pub bits: [u64; ENCODING_WORDS],
    /// Keyed blocking keys, one per [`BLOCK_RULES`] entry; 0 where the rule's fields are missing.
    pub blocks: [u64; BLOCK_RULES.len()],
    /// The SSN pseudonym (the same as `p20w run` computes) where a valid SSN is present.
    pub ssn_pid: Option<String>,
    /// Which segments the record holds (bit `f` for `SEGMENTS[f]`), derived from `bits`.
    present: u8,
}

/// Bytes of [`Encoding::to_bytes`]: the filters' words, then the blocking keys, little-endian.
pub const ENCODING_BYTES: usize = (ENCODING_WORDS + BLOCK_RULES.len()) * 8;

impl Encoding {
    pub fn new(
        bits: [u64; ENCODING_WORDS],
        blocks: [u64; BLOCK_RULES.len()],
        ssn_pid: Option<String>,
    ) -> Encoding {
        Encoding {
            present: presence(&bits),
            bits,
            blocks,
            ssn_pid,
        }
    }

    /// The filters and blocking keys as one value (the SSN pseudonym travels apart), so a
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
        Some(Encoding::new(bits, blocks, ssn_pid))
    }

    /// The match score of two records ([`super::layout`]): higher is likelier the same person.
    pub fn score(&self, other: &Encoding) -> f64 {
        score(&self.bits, self.present, &other.bits, other.present)
    }

    /// The score the pair would reach were the fields both hold identical.
    pub fn identical_score(&self, other: &Encoding) -> f64 {
        let both = self.present & other.present;
        (0..SEGMENTS.len())
            .filter(|&f| both & (1 << f) != 0)
            .map(|f| SEGMENTS[f].agreement)
            .sum()
    }
}

/// Encodings of many records as columns ([`Encoder::encode_columns`]).
#[derive(Debug, Default)]
pub struct EncodedColumns {
    /// Each record's filters: [`ENCODING_WORDS`] little-endian words.
    pub bits: Vec<u8>,
    /// Each record's blocking keys, as [`Encoding::blocks`].
    pub blocks: Vec<[u64; BLOCK_RULES.len()]>,
    pub ssn_pids: Vec<Option<String>>,
}

/// Records a thread takes at a time: small pieces taken as they go, because with an equal
/// share each a thread slowed by the reading and writing stages of `p20w encode` left the other
/// core idle at the end.
const PIECE: usize = 1_024;

/// Runs `work` on every piece, on every core.
fn in_pieces<I>(pieces: I, work: impl Fn(I::Item) + Sync)
where
    I: ExactSizeIterator + Send,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = threads.min(pieces.len());
    let pieces = std::sync::Mutex::new(pieces);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let next = pieces.lock().expect("no thread panics holding it").next();
                    let Some(piece) = next else { break };
                    work(piece);
                }
            });
        }
    });
}

/// A token's bits within its segment, as whole words: the filter positions it sets and their
/// twins in the complement half. Set and twin bits never coincide, so a present segment ends as
/// its complement half XOR the union of its tokens' masks (twins cleared, positions set),
/// whatever order the tokens came in; a token costs a few word ORs the compiler vectorises.
struct TokenTable {
    words: usize,
    masks: Vec<u64>,
}

impl TokenTable {
    fn new(words: usize) -> TokenTable {
        TokenTable {
            words,
            masks: Vec::new(),
        }
    }

    fn push(&mut self, mask: &[u64]) {
        debug_assert_eq!(mask.len(), self.words);
        self.masks.extend_from_slice(mask);
    }

    fn get(&self, token: usize) -> &[u64] {
        &self.masks[token * self.words..(token + 1) * self.words]
    }
}

/// One field's keyed token hash and where its segment's filter lies.
struct FieldKey {
    mac: Hmac<Sha256>,
    k: usize,
    filter_bits: usize,
    /// The segment's first word in the encoding and its number of words.
    offset: usize,
    words: usize,
    /// Segment bit of each filter position (`[..filter_bits]`) and of its complement.
    placement: Vec<u16>,
    /// The complement half as the segment's words: what an empty present filter holds.
    complement: Vec<u64>,
}

impl FieldKey {
    /// `key_name` keys the tokens (fields sharing it set the same positions for the same
    /// token); the segment `f` keys the permutation that its fields share.
    fn new(master: &MasterKey, agreement_id: &str, key_name: &str, f: usize) -> FieldKey {
        let spec = &SEGMENTS[f];
        let placement = keyed_permutation(
            &derive(master, agreement_id, &format!("{}/permutation", spec.name)),
            2 * spec.filter_bits,
        );
        let words = OFFSETS[f + 1] - OFFSETS[f];
        let mut complement = vec![0u64; words];
        for &p in &placement[spec.filter_bits..] {
            complement[usize::from(p / 64)] |= 1 << (p % 64);
        }
        FieldKey {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&derive(master, agreement_id, key_name))
                .expect("any key length"),
            k: spec.bits_per_token,
            filter_bits: spec.filter_bits,
            offset: OFFSETS[f],
            words,
            placement,
            complement,
        }
    }

    /// A table for this field's tokens.
    fn table(&self) -> TokenTable {
        TokenTable::new(self.words)
    }

    /// The mask of a token: HMAC-SHA256(key, counter ‖ token), two bytes a position.
    fn token(&self, token: &[u8]) -> Vec<u64> {
        self.token_weighted(token, self.k)
    }

    /// A token setting `k` positions instead of the field's usual number.
    fn token_weighted(&self, token: &[u8], k: usize) -> Vec<u64> {
        let mut mask = vec![0u64; self.words];
        let (mut placed, mut counter) = (0, 0u8);
        while placed < k {
            let mut mac = self.mac.clone();
            mac.update(&[counter]);
            mac.update(token);
            let digest = mac.finalize().into_bytes();
            for pair in digest.chunks_exact(2).take(k - placed) {
                let p = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % self.filter_bits;
                for bit in [self.placement[p], self.placement[self.filter_bits + p]] {
                    mask[usize::from(bit / 64)] |= 1 << (bit % 64);
                }
                placed += 1;
            }
            counter += 1;
        }
        mask
    }

    /// ORs a token's mask into the segment.
    fn add(&self, bits: &mut [u64; ENCODING_WORDS], mask: &[u64]) {
        let segment = &mut bits[self.offset..self.offset + self.words];
        for (w, m) in segment.iter_mut().zip(mask) {
            *w |= m;
        }
    }

    /// Turns the union of a present segment's token masks into its balanced filter.
    fn finish(&self, bits: &mut [u64; ENCODING_WORDS]) {
        let segment = &mut bits[self.offset..self.offset + self.words];
        for (w, c) in segment.iter_mut().zip(&self.complement) {
            *w ^= c;
        }
    }
}

/// A text field: its key, its bigram table over `_a-z0-9` and, for names, its letter table
/// (see [`TextField::with_letters`]).
struct TextField {
    key: FieldKey,
    bigrams: TokenTable,
    letters: TokenTable,
}

/// Occurrences of a letter told apart in a name's letter tokens (a third `a` and a fourth set
/// the same token).
const MAX_OCCURRENCE: u8 = 3;

const ALPHABET: &[u8; 37] = b"_abcdefghijklmnopqrstuvwxyz0123456789";

fn symbol_index(b: u8) -> Option<usize> {
    match b {
        b'_' => Some(0),
        b'a'..=b'z' => Some((b - b'a') as usize + 1),
        b'0'..=b'9' => Some((b - b'0') as usize + 27),
        _ => None,
    }
}

impl TextField {
    fn new(key: FieldKey) -> TextField {
        let mut bigrams = key.table();
        for a in ALPHABET {
            for b in ALPHABET {
                bigrams.push(&key.token(&[*a, *b]));
            }
        }
        TextField {
            letters: key.table(),
            key,
            bigrams,
        }
    }

    /// A field that also sets a token per letter and its occurrence (the second `a` is not
    /// the first), whatever the letters' order: two adjacent letters swapped, the commonest
    /// keying error, changes three bigrams of a name but none of these, while another name
    /// sharing as many bigrams differs in letters too.
    ///
    /// Each letter token is salted with the other name's first letter (a salt symbol of
    /// `_` when the other name is missing). Unsalted, a vowel's token is in nearly every record,
    /// and its positions stood out even through balancing: `bench/attack.sh` found nine such
    /// tokens' columns on FEBRL names, enough to single out 3.8% of people had the attacker
    /// labelled them. Salted, the commonest is in a few percent of records, as rare as a
    /// bigram. Names keyed the wrong way round still agree: each name is salted by the other.
    fn with_letters(key: FieldKey) -> TextField {
        let mut field = TextField::new(key);
        let k = field.key.k / 2;
        for salt in ALPHABET {
            for a in ALPHABET {
                for n in 1..=MAX_OCCURRENCE {
                    let mask = field.key.token_weighted(&[b'#', *a, n, *salt], k);
                    field.letters.push(&mask);
                }
            }
        }
        field
    }

    fn letter(
        &self,
        bits: &mut [u64; ENCODING_WORDS],
        counts: &mut [u8; 37],
        symbol: usize,
        salt: usize,
    ) {
        if self.letters.masks.is_empty() {
            return;
        }
        counts[symbol] = (counts[symbol] + 1).min(MAX_OCCURRENCE);
        let token = (salt * ALPHABET.len() + symbol) * usize::from(MAX_OCCURRENCE)
            + usize::from(counts[symbol])
            - 1;
        self.key.add(bits, self.letters.get(token));
    }

    /// Adds a folded value's bigrams to its segment; an empty value adds none.
    fn add(&self, bits: &mut [u64; ENCODING_WORDS], value: &str) {
        self.add_salted(bits, value, 0);
    }

    /// Adds a name's bigrams and its letter tokens salted with `salt` (a symbol index).
    fn add_salted(&self, bits: &mut [u64; ENCODING_WORDS], value: &str, salt: usize) {
        if value.is_empty() {
            return;
        }
        // The common case, a value of ASCII letters and digits: table look-ups, no allocation.
        if value.bytes().all(|b| symbol_index(b).is_some()) {
            let mut counts = [0u8; 37];
            let mut prev = 0; // the `_` pad
            for b in value.bytes() {
                let next = symbol_index(b).expect("checked above");
                self.key
                    .add(bits, self.bigrams.get(prev * ALPHABET.len() + next));
                self.letter(bits, &mut counts, next, salt);
                prev = next;
            }
            self.key.add(bits, self.bigrams.get(prev * ALPHABET.len()));
            return;
        }
        let mut counts = [0u8; 37];
        for c in value.chars() {
            if let Some(symbol) = u8::try_from(c).ok().and_then(symbol_index) {
                self.letter(bits, &mut counts, symbol, salt);
            }
        }
        let padded: Vec<char> = std::iter::once('_')
            .chain(value.chars())
            .chain(std::iter::once('_'))
            .collect();
        for pair in padded.windows(2) {
            let ascii = |c: char| u8::try_from(c).ok().and_then(symbol_index);
            match (ascii(pair[0]), ascii(pair[1])) {
                (Some(a), Some(b)) => self.key.add(bits, self.bigrams.get(a * ALPHABET.len() + b)),
                _ => {
                    // Outside the precomputed domain (a letter the fold kept): hash it now.
                    let token: String = pair.iter().collect();
                    self.key.add(bits, &self.key.token(token.as_bytes()));
                }
            }
        }
    }
}

/// Encodes person records for one agreement.
pub struct Encoder {
    name: TextField,
    address: TextField,
    locality: TextField,
    postcode: TextField,
    other_id: TextField,
    date: FieldKey,
    years: TokenTable,
    months: TokenTable,
    days: TokenTable,
    month_days: TokenTable,
    block_key: [u8; 16],
    record: Hmac<Sha256>,
    ssn: Pseudonymizer,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").finish_non_exhaustive()
    }
}

impl Encoder {
    pub fn new(master: &MasterKey, agreement_id: &str) -> Encoder {
        let key = |name: &str, f: usize| FieldKey::new(master, agreement_id, name, f);
        let text = |name: &str, f: usize| TextField::new(key(name, f));
        let date = key("birth_date", BIRTH_DATE);
        // The year and the unordered month/day carry most of a date's bits, the month and day
        // fewer: a month/day swap then differs in few bits and still scores as nearly the same
        // date, which it usually is.
        let (whole, part) = (date.k, date.k / 3);
        let numbered = |prefix: &str, range: std::ops::RangeInclusive<u16>, k: usize| {
            let mut table = date.table();
            for v in range {
                table.push(&date.token_weighted(format!("{prefix}{v}").as_bytes(), k));
            }
            table
        };
        let mut month_days = date.table();
        for lo in 1..=31u16 {
            for hi in 1..=31u16 {
                month_days.push(&date.token_weighted(format!("md{lo}-{hi}").as_bytes(), whole));
            }
        }
        let mut block_key = [0u8; 16];
        Hkdf::<Sha256>::new(None, master.bytes())
            .expand(info(agreement_id, "blocking").as_bytes(), &mut block_key)
            .expect("16 bytes is a valid HKDF-SHA256 length");
        Encoder {
            // One key for both name fields: a given and family name keyed the wrong way round
            // (a common entry error, above all for names whose order differs by culture) then
            // sets the same bits.
            name: TextField::with_letters(key("name", NAME)),
            address: text("address", ADDRESS),
            locality: text("locality", ADDRESS),
            postcode: text("postcode", ADDRESS),
            other_id: text("other_id", OTHER_ID),
            years: numbered("y", 1900..=2100, whole),
            months: numbered("m", 1..=12, part),
            days: numbered("d", 1..=31, part),
            month_days,
            date,
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

    /// An encoder whose name segment holds bigrams only, as before the letter tokens: the
    /// pattern-mining attack bench (`bench/attack.sh`) attacks both to weigh what the letter
    /// tokens give away. Not for linking: its encodings do not compare with [`Encoder::new`]'s.
    #[doc(hidden)]
    pub fn without_letter_tokens(master: &MasterKey, agreement_id: &str) -> Encoder {
        Encoder {
            name: TextField::new(FieldKey::new(master, agreement_id, "name", NAME)),
            ..Encoder::new(master, agreement_id)
        }
    }

    /// The pseudonymous key of an agency's own record id: the agency can recompute it to find
    /// its record in a link table; no one else can invert it.
    pub fn record_key(&self, record_id: &str) -> String {
        let mut mac = self.record.clone();
        mac.update(record_id.trim().as_bytes());
        // Into a buffer at once: `hex::encode` collects the text a character at a time, which
        // cost a fifth of the reading stage of `p20w encode`.
        let mut text = [0u8; 64];
        hex::encode_to_slice(mac.finalize().into_bytes(), &mut text).expect("32 bytes, 64 digits");
        String::from_utf8(text.to_vec()).expect("hex digits")
    }

    /// Encodes many records on every core, keeping their order.
    pub fn encode_all(&self, ids: &[Identity<'_>]) -> Vec<Encoding> {
        let mut out =
            vec![Encoding::new([0; ENCODING_WORDS], [0; BLOCK_RULES.len()], None); ids.len()];
        in_pieces(
            ids.chunks(PIECE).zip(out.chunks_mut(PIECE)),
            |(part, slots)| {
                for (id, slot) in part.iter().zip(slots) {
                    *slot = self.encode(id);
                }
            },
        );
        out
    }

    /// Encodes many records on every core into columns, as an encoded file stores them: the
    /// threads write in place, and the filters' bytes become an Arrow buffer without a copy.
    pub fn encode_columns(&self, ids: &[Identity<'_>]) -> EncodedColumns {
        let mut out = EncodedColumns {
            bits: vec![0; ids.len() * ENCODING_WORDS * 8],
            blocks: vec![[0; BLOCK_RULES.len()]; ids.len()],
            ssn_pids: vec![None; ids.len()],
        };
        let pieces = ids
            .chunks(PIECE)
            .zip(out.bits.chunks_mut(PIECE * ENCODING_WORDS * 8))
            .zip(out.blocks.chunks_mut(PIECE))
            .zip(out.ssn_pids.chunks_mut(PIECE));
        in_pieces(pieces, |(((part, bits), blocks), ssn_pids)| {
            let slots = bits
                .chunks_exact_mut(ENCODING_WORDS * 8)
                .zip(blocks)
                .zip(ssn_pids);
            for (id, ((bytes, blocks), ssn_pid)) in part.iter().zip(slots) {
                let (words, keys, pid) = self.encode_parts(id);
                for (b, w) in bytes.chunks_exact_mut(8).zip(words) {
                    b.copy_from_slice(&w.to_le_bytes());
                }
                *blocks = keys;
                *ssn_pid = pid;
            }
        });
        out
    }

    pub fn encode(&self, id: &Identity<'_>) -> Encoding {
        let (bits, blocks, ssn_pid) = self.encode_parts(id);
        Encoding::new(bits, blocks, ssn_pid)
    }

    /// A record's filters, blocking keys and SSN pseudonym.
    fn encode_parts(
        &self,
        id: &Identity<'_>,
    ) -> (
        [u64; ENCODING_WORDS],
        [u64; BLOCK_RULES.len()],
        Option<String>,
    ) {
        let given = standard_given(fold_name(id.given_name));
        let family = fold_name(id.family_name);
        let date = BirthDate::parse(id.birth_date);
        let sex = fold_sex(id.sex);
        let address = fold_text(id.address);
        let locality = fold_text(id.locality);
        let postcode = fold_text(id.postcode);
        let other_id = fold_text(id.other_id);
        let mut bits = [0u64; ENCODING_WORDS];
        // A segment is finished (its tokens' union turned into the balanced filter) once, after
        // all of them.
        if !given.is_empty() || !family.is_empty() {
            self.name.add_salted(&mut bits, &given, initial(&family));
            self.name.add_salted(&mut bits, &family, initial(&given));
            self.name.key.finish(&mut bits);
        }
        if let Some(d) = date {
            let (lo, hi) = d.month_day_unordered();
            let date = &self.date;
            date.add(&mut bits, self.years.get(usize::from(d.year - 1900)));
            date.add(&mut bits, self.months.get(usize::from(d.month - 1)));
            date.add(&mut bits, self.days.get(usize::from(d.day - 1)));
            let md = usize::from(lo - 1) * 31 + usize::from(hi - 1);
            date.add(&mut bits, self.month_days.get(md));
            date.finish(&mut bits);
        }
        if !(address.is_empty() && locality.is_empty() && postcode.is_empty()) {
            self.address.add(&mut bits, &address);
            self.locality.add(&mut bits, &locality);
            self.postcode.add(&mut bits, &postcode);
            self.address.key.finish(&mut bits);
        }
        if !other_id.is_empty() {
            self.other_id.add(&mut bits, &other_id);
            self.other_id.key.finish(&mut bits);
        }
        let ssn_pid = id.ssn.and_then(|raw| match canonical_ssn(raw) {
            (Some(canonical), SsnStatus::Valid) => Some(self.ssn.pseudonym(&canonical)),
            _ => None,
        });
        let parts = BlockParts {
            given: &given,
            family: &family,
            date,
            sex,
            other_id: &other_id,
            postcode: &postcode,
            address: &address,
        };
        (bits, self.blocks(&parts), ssn_pid)
    }

    fn blocks(&self, p: &BlockParts<'_>) -> [u64; BLOCK_RULES.len()] {
        let (sg, sf) = (soundex(p.given), soundex(p.family));
        let year = p.date.map(|d| d.year.to_le_bytes());
        let md = p.date.map(|d| {
            let (lo, hi) = d.month_day_unordered();
            [lo, hi]
        });
        let sex_byte = [p.sex.map_or(b'u', |c| c as u8)];
        let names = !p.given.is_empty() && !p.family.is_empty();
        // The street name's first letters: the address without its house number.
        let mut street_buf = [0u8; 12];
        let mut street_len = 0;
        for c in p.address.chars().filter(|c| c.is_alphabetic()).take(3) {
            street_len += c.encode_utf8(&mut street_buf[street_len..]).len();
        }
        let street = &street_buf[..street_len];
        let nonempty = |s: &str| !s.is_empty();
        // Each rule's parts, hashed with a separator between them; a rule missing a part has
        // no key.
        let rules: [Option<[&[u8]; 3]>; BLOCK_RULES.len()] = [
            year.as_ref()
                .zip(md.as_ref())
                .map(|(y, m)| [&y[..], &m[..], &[][..]]),
            year.as_ref()
                .zip(sf.as_ref())
                .map(|(y, sf)| [&sf[..], &y[..], &[][..]]),
            names.then(|| {
                let (a, b) = ordered(prefix(p.given).as_bytes(), prefix(p.family).as_bytes());
                [a, b, &sex_byte[..]]
            }),
            md.as_ref()
                .zip(sg.as_ref())
                .map(|(m, sg)| [&sg[..], &m[..], &[][..]]),
            sg.as_ref().zip(sf.as_ref()).map(|(sg, sf)| {
                let (a, b) = ordered(&sg[..], &sf[..]);
                [a, b, &[][..]]
            }),
            nonempty(p.other_id).then(|| [p.other_id.as_bytes(), &[][..], &[][..]]),
            (nonempty(p.postcode) && !street.is_empty())
                .then(|| [p.postcode.as_bytes(), street, &[][..]]),
        ];
        let mut keys = [0u64; BLOCK_RULES.len()];
        for (rule, (key, parts)) in keys.iter_mut().zip(rules).enumerate() {
            if let Some(parts) = parts {
                let mut h = SipHasher24::new_with_key(&self.block_key);
                std::hash::Hasher::write(&mut h, &[rule as u8]);
                for part in parts {
                    std::hash::Hasher::write(&mut h, part);
                    std::hash::Hasher::write(&mut h, &[0xff]);
                }
                // 0 marks "no key"; a real key that hashes to 0 moves to 1.
                *key = std::hash::Hasher::finish(&h).max(1);
            }
        }
        keys
    }
}

/// The folded values the blocking keys are made of.
struct BlockParts<'a> {
    given: &'a str,
    family: &'a str,
    date: Option<BirthDate>,
    sex: Option<char>,
    other_id: &'a str,
    postcode: &'a str,
    address: &'a str,
}

/// Two parts in a fixed order, so either order gives one key.
fn ordered<'a>(a: &'a [u8], b: &'a [u8]) -> (&'a [u8], &'a [u8]) {
    if a <= b { (a, b) } else { (b, a) }
}

/// A name's first letter as a symbol index, 0 (`_`) for an empty name or one outside
/// `a-z0-9`: the salt of the other name's letter tokens.
fn initial(name: &str) -> usize {
    name.bytes().next().and_then(symbol_index).unwrap_or(0)
}

/// The first two letters of a name.
fn prefix(s: &str) -> &str {
    &s[..s.char_indices().nth(2).map_or(s.len(), |(i, _)| i)]
}

/// A Fisher–Yates shuffle of `n` positions, driven by HMAC-SHA256(key, counter) bytes.
fn keyed_permutation(key: &[u8; 32], n: usize) -> Vec<u16> {
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
    let mut perm: Vec<u16> = (0..n as u16).collect();
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
    format!("p20w/pprl/v2/{agreement_id}/{part}")
}

fn derive(master: &MasterKey, agreement_id: &str, part: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, master.bytes())
        .expand(info(agreement_id, part).as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}
