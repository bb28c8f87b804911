//! EFW2 512-byte records, Louisiana variant (NAICS at RS 351-356): `RA` first, then per record
//! an `RE` (tax year, FEIN), the `RS` state record and an `RT`, and `RF` last. The federal `RW`
//! records are left out: the connector reads only the state records.

use std::path::Path;

use super::fixed_width::{FixedFile, Record, WageLine};
use crate::writer::SynthError;

const LEN: usize = 512;

pub struct Efw2File {
    file: FixedFile,
}

impl Efw2File {
    pub fn create(root: &Path, name: &str) -> Result<Efw2File, SynthError> {
        let mut file = FixedFile::create(root, name)?;
        let mut ra = Record::new(LEN);
        ra.put(1, 2, "RA")
            .put(3, 9, "990000001")
            .put(38, 57, "P20W SYNTHETIC PAYROLL");
        file.write(&ra)?;
        Ok(Efw2File { file })
    }

    pub fn wage(&mut self, w: &WageLine<'_>) -> Result<(), SynthError> {
        let mut re = Record::new(LEN);
        re.put(1, 2, "RE")
            .put(3, 4, &w.year.to_string())
            .put(8, 9, w.fein);
        re.put(40, 57, "SYNTHETIC EMPLOYER");
        self.file.write(&re)?;
        let cents = w.cents as u64;
        let mut rs = Record::new(LEN);
        rs.put(1, 2, "RS").put(3, 2, "22").put(10, 9, w.ssn);
        rs.put(19, 15, w.first).put(49, 20, w.last);
        rs.put(197, 6, &format!("{:02}{}", w.quarter * 3, w.year));
        rs.num(203, 11, cents).num(214, 11, cents.min(770_000));
        rs.put(248, 20, w.account).put(351, 6, w.naics);
        self.file.write(&rs)?;
        let mut rt = Record::new(LEN);
        rt.put(1, 2, "RT").num(3, 7, 0);
        self.file.write(&rt)?;
        self.file.wage_records += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(String, u64), SynthError> {
        let mut rf = Record::new(LEN);
        rf.put(1, 2, "RF").num(8, 9, 0);
        self.file.write(&rf)?;
        self.file.finish()
    }
}
