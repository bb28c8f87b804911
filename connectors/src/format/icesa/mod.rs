//! NASWA (formerly ICESA) quarterly wage reports: 275-byte records `A` (transmitter), `B`
//! (authorization), then per employer `E`, its `S` wage records and a `T` total, and `F` to
//! end the file. The `S` records belong to the `E` before them; a `T` whose count or UI total
//! wages differ from its `S` records is logged as a warning and the records are kept, since
//! every `S` line was read and accounted for (the employer's own arithmetic is what differs).
//! The reader is the shared [`fixed_width`](super::fixed_width) one; layouts are tables in
//! `connectors/data/layouts/icesa_*.csv`.

use crate::ConnectorError;
use crate::format::SourceSpec;
use crate::format::fixed_width::{self, FixedWidthReader, Structure};
use crate::location::Input;

pub static STRUCTURE: Structure = Structure {
    format: "ICESA",
    record_len: 275,
    type_len: 1,
    employer: "E",
    wage: "S",
    total: "T",
    last: "F",
    types: &["A", "B", "E", "S", "T", "F"],
    layouts: &[
        (
            "standard",
            include_str!("../../../data/layouts/icesa_standard.csv"),
        ),
        ("tx", include_str!("../../../data/layouts/icesa_tx.csv")),
    ],
};

pub fn open(spec: &SourceSpec) -> Result<FixedWidthReader, ConnectorError> {
    fixed_width::open(spec, &STRUCTURE)
}

/// Reads any byte stream as an ICESA file (a stream that is not a [`Location`](crate::Location)).
pub fn read(spec: &SourceSpec, input: Input) -> Result<FixedWidthReader, ConnectorError> {
    fixed_width::read(spec, &STRUCTURE, input)
}

#[cfg(test)]
mod tests;
