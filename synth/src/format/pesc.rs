//! `postsecondary/transcripts.xml`: one PESC College Transcript (v1.6.0 namespaces) per
//! student of a four-year institution, under one batch element: the person as the institution
//! keeps it, a session per term (begin and end dates, credit hours attempted that give the
//! term's status) and the award. Read with `institution_level = "FourYear"`.
//!
//! `postsecondary/pesc_enrollments.csv` and `pesc_awards.csv` hold the same records in the
//! canonical columns; `truth/pesc_enrollment.csv` and `truth/pesc_award.csv` name their persons.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use p20w_schemas::Entity;

use super::truth;
use crate::student::Student;
use crate::writer::{Out, SynthError};

pub(crate) struct PescFiles {
    path: PathBuf,
    xml: BufWriter<File>,
    enrollments: Out,
    awards: Out,
    truth_enrollments: Out,
    truth_awards: Out,
}

/// Text content with XML's five special characters escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Credit hours attempted that a term of this status would carry, in semester hours.
fn hours(status: &str) -> &'static str {
    match status {
        "01" => "15",
        "02" => "9",
        _ => "4",
    }
}

/// The PESC award level (CEDS 001668) of an IPEDS award level.
fn pesc_level(level: &str) -> &'static str {
    match level {
        "05" => "2.4",
        "03" => "2.3",
        _ => "2.1",
    }
}

impl PescFiles {
    pub(crate) fn create(root: &Path) -> Result<PescFiles, SynthError> {
        let path = root.join("postsecondary/transcripts.xml");
        let io = |source| SynthError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(path.parent().expect("in a folder")).map_err(io)?;
        let mut xml = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io)?);
        writeln!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TranscriptBatch>"
        )
        .map_err(io)?;
        Ok(PescFiles {
            xml,
            enrollments: Out::extract(
                root,
                "postsecondary/pesc_enrollments.csv",
                Entity::PsEnrollment,
            )?,
            awards: Out::extract(root, "postsecondary/pesc_awards.csv", Entity::PsAward)?,
            truth_enrollments: truth(root, "truth/pesc_enrollment.csv")?,
            truth_awards: truth(root, "truth/pesc_award.csv")?,
            path,
        })
    }

    fn io(&self, source: std::io::Error) -> SynthError {
        SynthError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    pub(crate) fn student(&mut self, s: &Student) -> Result<(), SynthError> {
        let Some(c) = s.college.as_ref().filter(|c| c.level == "FourYear") else {
            return Ok(());
        };
        let pid = format!("P{}", s.index);
        let opeid = format!("{:06}00", 100_000 + c.institution * 37);
        let state_id = if c.carries_state_id {
            s.state_student_id.as_str()
        } else {
            ""
        };
        let ssn = if c.carries_ssn { s.ssn.as_str() } else { "" };
        let birth = s.birth_date.to_string();
        let mut x = String::with_capacity(2048);
        x.push_str(
            "<ColTrn:CollegeTranscript xmlns:ColTrn=\"urn:org:pesc:message:CollegeTranscript:v1.6.0\" \
             xmlns:AcRec=\"urn:org:pesc:sector:AcademicRecord:v1.9.0\" \
             xmlns:core=\"urn:org:pesc:core:CoreMain:v1.14.0\">\n",
        );
        x.push_str(&format!(
            "  <TransmissionData>\n    <DocumentID>T{}</DocumentID>\n    <Source><Organization>\
             <OPEID>{opeid}</OPEID><OrganizationName>STATE UNIVERSITY {}</OrganizationName>\
             </Organization></Source>\n  </TransmissionData>\n",
            s.index, c.institution
        ));
        x.push_str("  <Student>\n    <Person>\n");
        x.push_str(&format!(
            "      <SchoolAssignedPersonID>{}</SchoolAssignedPersonID>\n",
            esc(&c.local_id)
        ));
        if !state_id.is_empty() {
            x.push_str(&format!(
                "      <AgencyAssignedID>{state_id}</AgencyAssignedID>\n"
            ));
        }
        if !ssn.is_empty() {
            x.push_str(&format!("      <SSN>{ssn}</SSN>\n"));
        }
        x.push_str(&format!(
            "      <Birth><BirthDate>{birth}</BirthDate></Birth>\n      <Name><FirstName>{}</FirstName>\
             <LastName>{}</LastName></Name>\n    </Person>\n    <AcademicRecord>\n",
            esc(&s.first_name),
            esc(&s.last_name)
        ));
        if let Some((level, cip, when)) = &c.award {
            x.push_str(&format!(
                "      <AcademicAward>\n        <AcademicAwardLevel>{}</AcademicAwardLevel>\n        \
                 <AcademicAwardDate>{when}</AcademicAwardDate>\n        <AcademicAwardProgram>\
                 <AcademicProgramType>Major</AcademicProgramType><ProgramCIPCode>{cip}</ProgramCIPCode>\
                 </AcademicAwardProgram>\n      </AcademicAward>\n",
                pesc_level(level)
            ));
            let date = when.to_string();
            let row: [&str; 10] = [
                opeid.as_str(),
                &c.local_id,
                state_id,
                ssn,
                &s.first_name,
                &s.last_name,
                &birth,
                level,
                cip,
                &date,
            ];
            self.awards.row(&row)?;
            self.truth_awards.row(&[&pid])?;
        }
        for (b, e, status) in &c.terms {
            x.push_str(&format!(
                "      <AcademicSession>\n        <AcademicSessionDetail><SessionDesignator>{}\
                 </SessionDesignator><SessionBeginDate>{b}</SessionBeginDate><SessionEndDate>{e}\
                 </SessionEndDate><SessionType>Semester</SessionType></AcademicSessionDetail>\n        \
                 <AcademicSummary><GPA><CreditHoursAttempted>{}</CreditHoursAttempted>\
                 <CreditUnit>Semester</CreditUnit></GPA></AcademicSummary>\n      </AcademicSession>\n",
                &b.to_string()[..7],
                hours(status)
            ));
            let (b, e) = (b.to_string(), e.to_string());
            let row: [&str; 11] = [
                opeid.as_str(),
                &c.local_id,
                state_id,
                ssn,
                &s.first_name,
                &s.last_name,
                &birth,
                "FourYear",
                &b,
                &e,
                status,
            ];
            self.enrollments.row(&row)?;
            self.truth_enrollments.row(&[&pid])?;
        }
        x.push_str("    </AcademicRecord>\n  </Student>\n</ColTrn:CollegeTranscript>\n");
        self.xml.write_all(x.as_bytes()).map_err(|e| self.io(e))?;
        Ok(())
    }

    pub(crate) fn finish(mut self) -> Result<Vec<(String, u64)>, SynthError> {
        writeln!(self.xml, "</TranscriptBatch>").map_err(|e| self.io(e))?;
        self.xml.flush().map_err(|e| self.io(e))?;
        // Only CSVs are listed, their rows being data lines; the XML holds one transcript per
        // student of pesc_enrollments.csv.
        let mut files = Vec::new();
        for out in [
            self.enrollments,
            self.awards,
            self.truth_enrollments,
            self.truth_awards,
        ] {
            files.push(out.finish()?);
        }
        Ok(files)
    }
}
