//! The synthetic state's records in the standard formats agencies also send: an NSC
//! StudentTracker detail return file, PESC College Transcripts, a WIOA PIRL file; and the wage
//! records as employers file them, ICESA and EFW2 (`icesa.rs`, `efw2.rs`, written from
//! `crate::wage_reports`).
//!
//! Each is written beside a plain CSV in the canonical columns holding exactly the records a
//! reader of the format yields (same values, same order), so tests can check that reading the
//! format and reading the CSV give the same batches; and beside a truth file naming the
//! person each of those records belongs to. The records come from the same generated students
//! as the agencies' own CSVs; only what each format can say differs (NSC echoes the state id
//! for every student; PESC here is the four-year institutions' transcripts; PIRL covers the
//! DOL programs it has funding-stream elements for).

pub mod edfi;
pub(crate) mod efw2;
pub(crate) mod fixed_width;
pub(crate) mod icesa;
mod nsc;
mod pesc;
mod pirl;

use std::path::Path;

use crate::SynthConfig;
use crate::student::Student;
use crate::writer::{Out, SynthError};

/// The writers of every standard-format file.
pub(crate) struct Formats {
    nsc: nsc::NscFiles,
    pesc: pesc::PescFiles,
    pirl: pirl::PirlFiles,
}

impl Formats {
    pub(crate) fn create(root: &Path) -> Result<Formats, SynthError> {
        Ok(Formats {
            nsc: nsc::NscFiles::create(root)?,
            pesc: pesc::PescFiles::create(root)?,
            pirl: pirl::PirlFiles::create(root)?,
        })
    }

    /// Everything the formats say about one student.
    pub(crate) fn student(&mut self, cfg: &SynthConfig, s: &Student) -> Result<(), SynthError> {
        self.nsc.student(cfg, s)?;
        self.pesc.student(s)?;
        self.pirl.student(s)
    }

    pub(crate) fn finish(self) -> Result<Vec<(String, u64)>, SynthError> {
        let mut files = self.nsc.finish()?;
        files.extend(self.pesc.finish()?);
        files.extend(self.pirl.finish()?);
        Ok(files)
    }
}

/// `YYYY-MM-DD` → `YYYYMMDD`.
fn compact(date: &str) -> String {
    date.replace('-', "")
}

/// The truth file of an equivalent CSV: one `person_id` per record.
fn truth(root: &Path, name: &str) -> Result<Out, SynthError> {
    Out::create(root, name, "person_id")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::{SynthConfig, generate_state, generate_student};

    fn read(dir: &std::path::Path, file: &str) -> Vec<HashMap<String, String>> {
        let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
        let headers = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                headers
                    .iter()
                    .zip(rec.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    fn index(pid: &str) -> u64 {
        pid.trim_start_matches('P').parse().unwrap()
    }

    /// Every NSC enrollment is a true term of the student's (or the term the student withdrew
    /// from), every true term is reported once, the census-date terms are exactly the
    /// institutions' own records, and a not-found row is a student who never enrolled.
    #[test]
    fn the_nsc_rows_say_the_truth() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            students: 2_000,
            ..SynthConfig::default()
        };
        let summary = generate_state(&cfg, dir.path()).unwrap();
        let rows = read(dir.path(), "postsecondary/nsc_enrollments.csv");
        let truth = read(dir.path(), "truth/nsc_enrollment.csv");
        assert_eq!(rows.len(), truth.len());
        let mut reported: HashMap<(String, String, String), u32> = HashMap::new();
        let mut by_status: HashMap<String, u32> = HashMap::new();
        for (row, t) in rows.iter().zip(&truth) {
            let s = generate_student(&cfg, index(&t["person_id"]));
            let c = s
                .college
                .as_ref()
                .expect("an NSC enrollment of someone who enrolled");
            assert_eq!(row["state_student_id"], s.state_student_id);
            let span = (row["begin_date"].clone(), row["end_date"].clone());
            let status = row["enrollment_status"].as_str();
            *by_status.entry(status.to_string()).or_default() += 1;
            if status == "Withdrawn" {
                let (b, e) = c.withdrawn.expect("a withdrawn row is a withdrawn term");
                assert_eq!(span, (b.to_string(), e.to_string()));
                continue;
            }
            *by_status
                .entry(row["institution_level"].clone())
                .or_default() += 1;
            if let Some((other, b, e)) = c
                .concurrent
                .filter(|(_, b, e)| (b.to_string(), e.to_string()) == span)
            {
                // The community-college course beside a 4-year's first fall, at another
                // college.
                assert_eq!(c.level, "FourYear");
                assert_eq!(row["institution_level"], "TwoToFour");
                assert_eq!(
                    row["institution_id"],
                    format!("{:06}-00", 100_000 + other * 37)
                );
                *by_status.entry("concurrent".into()).or_default() += 1;
                *reported
                    .entry((t["person_id"].clone(), b.to_string(), e.to_string()))
                    .or_default() += 1;
                continue;
            }
            let term = c
                .terms
                .iter()
                .find(|(b, e, _)| (b.to_string(), e.to_string()) == span)
                .expect("an NSC term is a true term");
            assert!(
                status == term.2 || status == "NotReported",
                "{status} vs {}",
                term.2
            );
            *reported
                .entry((t["person_id"].clone(), span.0, span.1))
                .or_default() += 1;
        }
        // Every level of institution, and a 4-year student enrolled at a 2-year the same fall.
        for status in [
            "01",
            "02",
            "03",
            "Withdrawn",
            "NotReported",
            "FourYear",
            "TwoToFour",
            "LessThanTwo",
            "concurrent",
        ] {
            assert!(
                by_status.get(status).copied().unwrap_or(0) > 0,
                "no {status} rows"
            );
        }
        // The institutions' own records, term for term.
        let own = read(dir.path(), "postsecondary/enrollments.csv");
        let own_truth = read(dir.path(), "truth/ps_enrollment.csv");
        let mut institutional: HashMap<(String, String, String), u32> = HashMap::new();
        for (row, t) in own.iter().zip(&own_truth) {
            let key = (
                t["person_id"].clone(),
                row["begin_date"].clone(),
                row["end_date"].clone(),
            );
            *institutional.entry(key).or_default() += 1;
        }
        assert_eq!(reported, institutional);

        let detail = read(dir.path(), "postsecondary/nsc_detail.csv");
        let mut not_found = 0;
        for row in &detail {
            if row["Record Found Y/N"] == "N" {
                not_found += 1;
                let (i, _) = row["Your Unique Identifier"].split_once('_').unwrap();
                let s = generate_student(&cfg, i.parse().unwrap());
                assert_eq!(row["Requester Return Field"], s.state_student_id);
                assert!(s.college.is_none());
            }
        }
        assert!(not_found > 0);
        let awards = summary.rows("postsecondary/nsc_awards.csv");
        assert_eq!(awards, summary.rows("postsecondary/awards.csv"));
        assert_eq!(
            detail.len() as u64,
            not_found + rows.len() as u64 + awards,
            "each detail row is one enrollment, one award or one not-found student"
        );
        let graduated = detail.iter().filter(|r| r["Graduated?"] == "Y").count() as u64;
        assert_eq!(graduated, awards);
    }

    #[test]
    fn pesc_and_pirl_records_are_their_students() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            students: 1_000,
            ..SynthConfig::default()
        };
        generate_state(&cfg, dir.path()).unwrap();
        let sessions = read(dir.path(), "postsecondary/pesc_enrollments.csv");
        let truth = read(dir.path(), "truth/pesc_enrollment.csv");
        assert!(!sessions.is_empty());
        for (row, t) in sessions.iter().zip(&truth) {
            let s = generate_student(&cfg, index(&t["person_id"]));
            let c = s.college.as_ref().unwrap();
            assert_eq!(row["institution_student_id"], c.local_id);
            assert!(c.terms.iter().any(|(b, e, st)| {
                (b.to_string(), e.to_string(), st.to_string())
                    == (
                        row["begin_date"].clone(),
                        row["end_date"].clone(),
                        row["enrollment_status"].clone(),
                    )
            }));
        }
        let xml =
            std::fs::read_to_string(dir.path().join("postsecondary/transcripts.xml")).unwrap();
        assert_eq!(xml.matches("<AcademicSession>").count(), sessions.len());
        let pirl = read(dir.path(), "workforce/pirl_participation.csv");
        let truth = read(dir.path(), "truth/pirl_participation.csv");
        assert!(!pirl.is_empty());
        for (row, t) in pirl.iter().zip(&truth) {
            let s = generate_student(&cfg, index(&t["person_id"]));
            let (program, entry, _) = s.workforce.unwrap();
            assert_eq!(
                (row["ssn"].as_str(), row["program_type"].as_str()),
                (s.ssn.as_str(), program)
            );
            assert_eq!(row["entry_date"], entry.to_string());
        }
    }
}
