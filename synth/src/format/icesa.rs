//! ICESA (NASWA) 275-byte records, Texas variant (a 9-character UI account at S 147 and the
//! 6-digit worksite NAICS at S 156), so the synthetic NAICS travels: `A` first, then per
//! record an `E` (payment year, FEIN, UI account, quarter month, report-type code at 267), its
//! `S` and a `T` with the employer's count and total, and `F` last.

use std::path::Path;

use super::fixed_width::{FixedFile, Record, WageLine};
use crate::writer::SynthError;

const LEN: usize = 275;

pub struct IcesaFile {
    file: FixedFile,
    employers: u64,
    cents: u64,
}

impl IcesaFile {
    pub fn create(root: &Path, name: &str) -> Result<IcesaFile, SynthError> {
        let mut file = FixedFile::create(root, name)?;
        let mut a = Record::new(LEN);
        a.put(1, 1, "A")
            .put(2, 4, "2025")
            .put(6, 9, "990000001")
            .put(15, 4, "UTAX");
        a.put(24, 50, "P20W SYNTHETIC PAYROLL");
        file.write(&a)?;
        Ok(IcesaFile {
            file,
            employers: 0,
            cents: 0,
        })
    }

    /// One employer report holding one wage record; `code` is the E record's report type.
    pub fn wage(&mut self, w: &WageLine<'_>, code: &str) -> Result<(), SynthError> {
        let mut e = Record::new(LEN);
        e.put(1, 1, "E")
            .put(2, 4, &w.year.to_string())
            .put(6, 9, w.fein);
        e.put(24, 50, "SYNTHETIC EMPLOYER")
            .put(160, 1, "R")
            .put(167, 4, "UTAX");
        e.put(171, 2, "48").put(173, 15, w.account);
        e.num(188, 2, u64::from(w.quarter * 3))
            .put(191, 1, "T")
            .put(267, 1, code);
        self.file.write(&e)?;
        let cents = w.cents as u64;
        let mut s = Record::new(LEN);
        s.put(1, 1, "S")
            .put(2, 9, w.ssn)
            .put(11, 20, w.last)
            .put(31, 12, w.first);
        s.put(44, 2, "48").num(50, 14, cents).num(64, 14, cents);
        // Excess and taxable wages split at a wage base, so a reader taking the wrong
        // field gets a different amount.
        let taxable = cents.min(900_000);
        s.num(78, 14, cents - taxable)
            .num(92, 14, taxable)
            .put(143, 4, "UTAX");
        s.put(147, 9, w.account).put(156, 6, w.naics);
        s.put(215, 6, &format!("{:02}{}", w.quarter * 3, w.year));
        self.file.write(&s)?;
        let mut t = Record::new(LEN);
        t.put(1, 1, "T")
            .num(2, 7, 1)
            .put(9, 4, "UTAX")
            .num(13, 14, cents)
            .num(27, 14, cents);
        self.file.write(&t)?;
        self.file.wage_records += 1;
        self.employers += 1;
        self.cents += cents;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(String, u64), SynthError> {
        let mut f = Record::new(LEN);
        f.put(1, 1, "F")
            .num(2, 10, self.file.wage_records)
            .num(12, 10, self.employers);
        f.num(22, 15, self.cents);
        self.file.write(&f)?;
        self.file.finish()
    }
}
