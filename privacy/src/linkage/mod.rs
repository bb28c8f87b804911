//! Privacy-preserving record linkage: keyed Bloom-filter encodings and one-to-one matching.
//!
//! Each agency turns its person records into [`Encoding`]s with an [`Encoder`] built from the
//! agreement key; only encodings travel. The linkage unit pairs two files of encodings with
//! [`link_one_to_one`]: shared SSN pseudonyms first, then the best-scoring pairs among records
//! that share a blocking key (scored segment by segment, [`SEGMENTS`]), above a threshold set
//! by how close each record's nearest stranger comes ([`fit_threshold`]). Parameters and the
//! threat model are in the README ("Linking without identifiers").

mod duplicates;
mod encoder;
mod layout;
mod matcher;
mod normalize;
mod threshold;

pub use encoder::{BLOCK_RULES, ENCODING_BYTES, EncodedColumns, Encoder, Encoding, Identity};
pub use layout::{ENCODING_WORDS, MAX_SCORE, SEGMENTS, STRANGER_SIMILARITY, SegmentSpec};
pub use matcher::{
    Link, LinkConfig, LinkMethod, Linkage, Side, link_one_per_group, link_one_to_one,
};
pub use normalize::{BirthDate, fold_name, fold_sex, soundex, standard_given};
pub use threshold::{FALLBACK_THRESHOLD, FALSE_MATCH_COST, ThresholdFit, estimate, fit_threshold};

#[cfg(test)]
mod tests;
