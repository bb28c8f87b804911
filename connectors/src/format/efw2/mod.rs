//! SSA EFW2 files read for their state records: 512-byte records `RA` (submitter), per
//! employer `RE` (FEIN at 8-16, tax year at 3-6), `RW`/`RO` (federal wages, not read), `RS`
//! (state wage record: SSN, name, reporting period, State Quarterly UI Total Wages, UI
//! account), `RT`/`RU` totals of the federal records (not checked), `RV` and `RF` at the end.
//! EFW2 carries no report type: a source's options give it per file. The reader is the
//! shared [`fixed_width`](super::fixed_width) one; layouts are `connectors/data/layouts/efw2_*.csv`.

use crate::ConnectorError;
use crate::format::SourceSpec;
use crate::format::fixed_width::{self, FixedWidthReader, Structure};
use crate::location::Input;

pub static STRUCTURE: Structure = Structure {
    format: "EFW2",
    record_len: 512,
    type_len: 2,
    employer: "RE",
    wage: "RS",
    total: "RT",
    last: "RF",
    types: &["RA", "RE", "RW", "RO", "RS", "RT", "RU", "RV", "RF"],
    layouts: &[
        (
            "standard",
            include_str!("../../../data/layouts/efw2_standard.csv"),
        ),
        ("la", include_str!("../../../data/layouts/efw2_la.csv")),
    ],
};

pub fn open(spec: &SourceSpec) -> Result<FixedWidthReader, ConnectorError> {
    fixed_width::open(spec, &STRUCTURE)
}

/// Reads any byte stream as an EFW2 file.
pub fn read(spec: &SourceSpec, input: Input) -> Result<FixedWidthReader, ConnectorError> {
    fixed_width::read(spec, &STRUCTURE, input)
}

#[cfg(test)]
mod tests;
