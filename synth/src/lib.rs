//! A deterministic synthetic state for p20w: every agency's extract, plus the ground truth.
//!
//! [`generate_state`] writes, under one folder, what a K-12 agency, a postsecondary system and
//! a workforce agency would each send (plain CSV in the canonical columns), and separately,
//! under `truth/`, who every record really belongs to. The pipeline never reads `truth/`;
//! tests compare the pipeline's published figures with figures computed from it.
//!
//! Like real extracts: K-12 records carry an SSN only for a share of students; wage records
//! are keyed by SSN (hyphenated or not, with occasional typos and invalid numbers) and also
//! cover workers who were never students here; postsecondary records carry the state id and
//! the SSN only for some students; names and birth dates carry typos. Students who attended
//! several districts have one person row per district, which need not agree; some retake a
//! course; some dropouts re-enter and then transfer out of state; the wage file's last quarter
//! is thin (its reports are still arriving) and one wage row is mis-dated 2099. Some wages
//! arrive late (supplemental reports), are restated (amendments) or are sent twice
//! ([`wage_reports`]); the wage records are also written as ICESA and EFW2 files.
//!
//! The same records are also written in the standard formats (an NSC StudentTracker detail
//! report, PESC College Transcripts, a WIOA PIRL file), each beside a canonical CSV of exactly
//! the records its reader yields (see `format`).
//!
//! Students are generated one at a time from `(seed, index)` and written as they are made, so
//! memory stays flat from a demo to a million students.

pub mod format;
mod ids;
mod names;
mod rng;
mod student;
pub mod wage_reports;
mod writer;

pub use ids::{index_of_ssn, ssn_for, state_student_id_for};
pub use student::{Student, generate as generate_student};
pub use writer::{SynthError, SynthSummary, generate_state};

/// The size and shape of the synthetic state.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    pub seed: u64,
    pub students: u64,
    /// Exit cohorts: school years ending in these springs.
    pub first_cohort: i32,
    pub last_cohort: i32,
    /// Wage records run through the fourth quarter of this year, which is thin.
    pub data_end_year: i32,
    /// Share of students whose K-12 record carries an SSN.
    pub k12_ssn_share: f64,
    /// Shares of postsecondary records that carry the state student id, and an SSN.
    pub ps_state_id_share: f64,
    pub ps_ssn_share: f64,
    /// Workers in the wage file who were never students of these cohorts, per student.
    pub other_workers_per_student: f64,
    /// Share of a student's wage records whose SSN was keyed with a typo.
    pub wage_ssn_typo_share: f64,
    /// Also write the wage records as ICESA and EFW2 files (`workforce/icesa/`,
    /// `workforce/efw2/`); they are several times the CSV's size.
    pub fixed_width_wages: bool,
    /// Also write the K-12 extracts as an Ed-Fi API dump under `k12/edfi/`.
    pub edfi_dump: bool,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            seed: 2026,
            students: 5_000,
            first_cohort: 2019,
            last_cohort: 2022,
            data_end_year: 2024,
            k12_ssn_share: 0.6,
            ps_state_id_share: 0.5,
            ps_ssn_share: 0.8,
            other_workers_per_student: 4.0,
            wage_ssn_typo_share: 0.01,
            fixed_width_wages: true,
            edfi_dump: true,
        }
    }
}

impl SynthConfig {
    pub fn leas(&self) -> u32 {
        (self.students / 4_000).clamp(3, 150) as u32
    }
    pub fn institutions(&self) -> u32 {
        (self.students / 20_000).clamp(4, 60) as u32
    }
    pub fn employers(&self) -> u32 {
        (self.students / 10).clamp(60, 200_000) as u32
    }
    pub fn other_workers(&self) -> u64 {
        (self.students as f64 * self.other_workers_per_student).round() as u64
    }
}
