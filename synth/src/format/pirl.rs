//! `workforce/pirl.csv`: the workforce agency's WIOA PIRL extract, one line per period of
//! participation, elements named by number and name as state exports write them. It covers the
//! participants of the DOL programs PIRL has funding-stream elements for (Adult 903, Youth 905);
//! the state's apprenticeship and other programs are not PIRL-reported here.
//!
//! `workforce/pirl_participation.csv` holds the same records in the canonical columns;
//! `truth/pirl_participation.csv` names their persons.

use std::path::Path;

use p20w_schemas::Entity;

use super::{compact, truth};
use crate::student::Student;
use crate::writer::{Out, SynthError};

const HEADER: &str = "OBS Number,100 Unique Individual Identifier (WIOA),2700 Social Security Number,\
200 Date of Birth (WIOA),900 Date of Program Entry (WIOA),901 Date of Program Exit (WIOA),\
903 Adult (WIOA),904 Dislocated Worker (WIOA),905 Youth (WIOA),\
918 Wagner-Peyser Employment Service (WIOA)";

pub(crate) struct PirlFiles {
    pirl: Out,
    canonical: Out,
    truth: Out,
}

impl PirlFiles {
    pub(crate) fn create(root: &Path) -> Result<PirlFiles, SynthError> {
        Ok(PirlFiles {
            pirl: Out::create(root, "workforce/pirl.csv", HEADER)?,
            canonical: Out::extract(
                root,
                "workforce/pirl_participation.csv",
                Entity::WorkforceParticipation,
            )?,
            truth: truth(root, "truth/pirl_participation.csv")?,
        })
    }

    pub(crate) fn student(&mut self, s: &Student) -> Result<(), SynthError> {
        let Some((program, entry, exit)) = &s.workforce else {
            return Ok(());
        };
        // Funding-stream values: 1 = served by local formula funds (any nonzero value counts).
        let (adult, youth) = match *program {
            "02" => ("1", "0"),
            "04" => ("0", "1"),
            _ => return Ok(()),
        };
        let obs = format!("{:09}", self.pirl.rows() + 1);
        let uid = format!("W{:011}", s.index);
        let entry = entry.to_string();
        let exit = exit.map(|d| d.to_string()).unwrap_or_default();
        let birth = compact(&s.birth_date.to_string());
        self.pirl.row(&[
            &obs,
            &uid,
            &s.ssn,
            &birth,
            &compact(&entry),
            &compact(&exit),
            adult,
            "0",
            youth,
            "0",
        ])?;
        self.canonical.row(&[&s.ssn, program, &entry, &exit])?;
        self.truth.row(&[&format!("P{}", s.index)])
    }

    pub(crate) fn finish(self) -> Result<Vec<(String, u64)>, SynthError> {
        [self.pirl, self.canonical, self.truth]
            .into_iter()
            .map(Out::finish)
            .collect()
    }
}
