//! `postsecondary/nsc_detail.csv`: the StudentTracker detail report the state gets back after
//! sending every student of its cohorts, with the state student id in the Requester Return
//! Field. A student with no college is one `Record Found Y/N = N` row; otherwise one row per
//! term (status `F`, `H` or `Q`, `L`; blank where the institution does not release it; `W` for
//! a term withdrawn from) and one degree row per award.
//!
//! `postsecondary/nsc_enrollments.csv` and `nsc_awards.csv` hold the same enrollment and degree
//! records in the canonical columns, as the `nsc` reader makes them (the shipped crosswalk's
//! codes); `truth/nsc_enrollment.csv` and `truth/nsc_award.csv` name their persons.

use std::path::Path;

use p20w_schemas::Entity;

use super::{compact, truth};
use crate::SynthConfig;
use crate::rng::Rng;
use crate::student::Student;
use crate::writer::{Out, SynthError};

const HEADER: &str = "Your Unique Identifier,First Name,Middle Initial,Last Name,Name Suffix,\
Requester Return Field,Record Found Y/N,Search Date,College Code/Branch,College Name,\
College State,2-year / 4-year,Public / Private,Enrollment Begin,Enrollment End,\
Enrollment Status,Class Level,Enrollment Major 1,Enrollment CIP 1,Enrollment Major 2,\
Enrollment CIP 2,Graduated?,Graduation Date,Degree Title,Degree Major 1,Degree CIP 1,\
Degree Major 2,Degree CIP 2,Degree Major 3,Degree CIP 3,Degree Major 4,Degree CIP 4,\
College Sequence";
const SEARCH_DATE: &str = "20250115";

pub(crate) struct NscFiles {
    detail: Out,
    enrollments: Out,
    awards: Out,
    truth_enrollments: Out,
    truth_awards: Out,
}

/// An institution that does not release enrollment status as directory information.
fn withholds_status(institution: u32) -> bool {
    institution % 4 == 3
}

impl NscFiles {
    pub(crate) fn create(root: &Path) -> Result<NscFiles, SynthError> {
        Ok(NscFiles {
            detail: Out::create(root, "postsecondary/nsc_detail.csv", HEADER)?,
            enrollments: Out::extract(
                root,
                "postsecondary/nsc_enrollments.csv",
                Entity::PsEnrollment,
            )?,
            awards: Out::extract(root, "postsecondary/nsc_awards.csv", Entity::PsAward)?,
            truth_enrollments: truth(root, "truth/nsc_enrollment.csv")?,
            truth_awards: truth(root, "truth/nsc_award.csv")?,
        })
    }

    pub(crate) fn student(&mut self, cfg: &SynthConfig, s: &Student) -> Result<(), SynthError> {
        let pid = format!("P{}", s.index);
        let id = s.state_student_id.as_str();
        let first = s.first_name.to_uppercase();
        let last = s.last_name.to_uppercase();
        let unique = format!("{}_{}", s.index, SEARCH_DATE);
        let mut detail = |d: [&str; 11]| {
            // Your Unique Identifier, names, return field, found, search date, college,
            // level, dates, status, graduated, graduation date, degree title, degree CIP.
            let [
                found,
                college,
                level,
                begin,
                end,
                status,
                graduated,
                grad_date,
                title,
                cip,
                name,
            ] = d;
            let public = if college.is_empty() { "" } else { "Public" };
            let state = if college.is_empty() { "" } else { "ST" };
            self.detail.row(&[
                &unique,
                &first,
                "",
                &last,
                "",
                id,
                found,
                SEARCH_DATE,
                college,
                name,
                state,
                level,
                public,
                begin,
                end,
                status,
                "",
                "",
                "",
                "",
                "",
                graduated,
                grad_date,
                title,
                "",
                cip,
                "",
                "",
                "",
                "",
                "",
                "",
                if college.is_empty() { "" } else { "1" },
            ])
        };
        let Some(c) = &s.college else {
            return detail(["N", "", "", "", "", "", "", "", "", "", ""]);
        };
        let mut r = Rng::for_entity(cfg.seed, 12, s.index);
        let college_of = |i: u32| {
            (
                format!("{:06}-00", 100_000 + i * 37),
                format!("STATE COLLEGE {i}"),
            )
        };
        let (college, name) = college_of(c.institution);
        let withholds = withholds_status(c.institution);
        // (institution, its level, begin, end, status letter, status code)
        let mut terms: Vec<(u32, &str, String, String, &str, &str)> = c
            .terms
            .iter()
            .map(|(b, e, status)| {
                let (letter, code) = match *status {
                    _ if withholds => ("", "NotReported"),
                    "01" => ("F", "01"),
                    "02" if r.chance(0.3) => ("Q", "02"),
                    "02" => ("H", "02"),
                    _ => ("L", "03"),
                };
                let (b, e) = (b.to_string(), e.to_string());
                (c.institution, c.level, b, e, letter, code)
            })
            .collect();
        if let Some((b, e)) = c.withdrawn {
            let (b, e) = (b.to_string(), e.to_string());
            terms.push((c.institution, c.level, b, e, "W", "Withdrawn"));
        }
        if let Some((other, b, e)) = c.concurrent {
            let (letter, code) = match withholds_status(other) {
                true => ("", "NotReported"),
                false => ("H", "02"),
            };
            terms.push((
                other,
                "TwoToFour",
                b.to_string(),
                e.to_string(),
                letter,
                code,
            ));
        }
        for (institution, level, b, e, letter, code) in &terms {
            let (college, name) = college_of(*institution);
            let (level, level_code) = match *level {
                "FourYear" => ("4", "FourYear"),
                "LessThanTwo" => ("L", "LessThanTwo"),
                _ => ("2", "TwoToFour"),
            };
            detail([
                "Y",
                &college,
                level,
                &compact(b),
                &compact(e),
                letter,
                "N",
                "",
                "",
                "",
                &name,
            ])?;
            self.enrollments.row(&[
                &college, "", id, "", &first, &last, "", level_code, b, e, code,
            ])?;
            self.truth_enrollments.row(&[&pid])?;
        }
        if let Some((award_level, cip, when)) = &c.award {
            let title = match *award_level {
                "05" => "BACHELOR OF SCIENCE",
                "03" => "ASSOCIATE IN APPLIED SCIENCE",
                _ => "CERTIFICATE OF ACHIEVEMENT",
            };
            // Registrars write CIP codes with and without the dot.
            let nsc_cip = if r.chance(0.5) {
                cip.replace('.', "")
            } else {
                cip.to_string()
            };
            let date = when.to_string();
            detail([
                "Y",
                &college,
                "",
                "",
                "",
                "",
                "Y",
                &compact(&date),
                title,
                &nsc_cip,
                &name,
            ])?;
            self.awards.row(&[
                &college,
                "",
                id,
                "",
                &first,
                &last,
                "",
                award_level,
                cip,
                &date,
            ])?;
            self.truth_awards.row(&[&pid])?;
        }
        Ok(())
    }

    pub(crate) fn finish(self) -> Result<Vec<(String, u64)>, SynthError> {
        [
            self.detail,
            self.enrollments,
            self.awards,
            self.truth_enrollments,
            self.truth_awards,
        ]
        .into_iter()
        .map(Out::finish)
        .collect()
    }
}
