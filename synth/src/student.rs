//! One synthetic student's life: demographics, high school, CTE, college, work.
//!
//! The probabilities are invented but shaped like real state data: outcome rates differ by
//! group (economic disadvantage, disability, English learners, homelessness) so equity gaps
//! show in the published tables, and program choice leans by sex so nontraditional
//! concentrators exist in both directions.

use p20w_schemas::{CteProgramCatalog, Date, YearQuarter};

use crate::SynthConfig;
use crate::ids::{ssn_for, state_student_id_for};
use crate::names::{FIRST_F, FIRST_M, family_name};
use crate::rng::Rng;

/// Share of a quarter's wage records already reported in the wage file's last quarter: its
/// reports are still arriving, so it is thin.
pub const LAST_QUARTER_SHARE: f64 = 0.25;

/// Race/ethnicity groups and their share of students.
const RACE_GROUPS: &[(&str, f64)] = &[
    ("HispanicOrLatino", 0.25),
    ("White", 0.47),
    ("BlackOrAfricanAmerican", 0.15),
    ("Asian", 0.05),
    ("AmericanIndianOrAlaskaNative", 0.015),
    ("NativeHawaiianOrOtherPacificIslander", 0.005),
    ("DemographicRaceTwoOrMoreRaces", 0.05),
    ("RaceAndEthnicityUnknown", 0.01),
];

#[derive(Debug, Clone)]
pub struct Student {
    pub index: u64,
    pub state_student_id: String,
    pub ssn: String,
    pub ssn_in_k12: bool,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Date,
    pub sex: &'static str,
    /// Hispanic flag then AIAN, Asian, Black, NHPI, White: `Yes`/`No`/`NotSelected`.
    pub race_flags: [&'static str; 6],
    pub disability: Option<&'static str>,
    pub economic_disadvantage: Option<&'static str>,
    pub single_parent: Option<&'static str>,
    pub out_of_workforce: Option<&'static str>,
    pub english_learner: Option<&'static str>,
    pub homeless: Option<&'static str>,
    pub foster_care: Option<&'static str>,
    pub military_connected: Option<&'static str>,
    pub lea: u32,
    pub school: u32,
    pub cohort: i32,
    pub entry_date: Date,
    /// How the student's first run through high school ended.
    pub exit: Exit,
    /// Every K-12 enrollment, in every district; the first ends in `exit` unless the student
    /// moved, and a dropout may come back for a second one.
    pub enrollments: Vec<Enrollment>,
    /// The exit cohort under the published rule (the last enrollment's exit): `None` when the
    /// last enrollment ends in a transfer out of state.
    pub exit_cohort: Option<i32>,
    /// One person row per district attended. The fields above are the true "ever" values;
    /// each district reports part of them, and may report another sex or race.
    pub person_rows: Vec<PersonRow>,
    /// CIP code, school year and course number of each completed CTE course; a retaken course
    /// appears twice with one number.
    pub cte_courses: Vec<(&'static str, i32, u32)>,
    /// The course of `cte_courses` that earned college credit too (dual credit): most often
    /// the last course of the primary program, sometimes the course of another program, which
    /// Perkins V 5S2 (credit in the concentrator's own program) does not count.
    pub dual_credit_course: Option<usize>,
    pub credentials: Vec<(&'static str, &'static str, Date)>,
    pub wbl: Vec<(&'static str, Date, u32)>,
    pub college: Option<College>,
    /// (year-quarter index, employer number, wages in cents)
    pub wages: Vec<(i32, u32, i64)>,
    pub workforce: Option<(&'static str, Date, Option<Date>)>,
}

#[derive(Debug, Clone, Copy)]
pub struct Exit {
    pub date: Date,
    pub exit_type: &'static str,
    pub diploma: Option<&'static str>,
}

#[derive(Debug, Clone, Copy)]
pub struct Enrollment {
    pub lea: u32,
    pub school: u32,
    pub entry: Date,
    pub exit: Exit,
}

/// What one district reported about a student.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub sex: &'static str,
    /// The race/ethnicity group the flags below express.
    pub race_group: &'static str,
    pub race_flags: [&'static str; 6],
    /// Disability, economic disadvantage, single parent, out of workforce, English learner,
    /// homeless, foster care, military connected: the person columns' order.
    pub special: [Option<&'static str>; 8],
}

#[derive(Debug, Clone)]
pub struct College {
    pub institution: u32,
    pub level: &'static str,
    pub local_id: String,
    pub carries_state_id: bool,
    pub carries_ssn: bool,
    /// (begin, end, enrollment status)
    pub terms: Vec<(Date, Date, &'static str)>,
    pub award: Option<(&'static str, &'static str, Date)>,
    /// A term a student who stopped early registered for and withdrew from before the fall
    /// or spring census (begin, withdrawal date). Institutions' census-date extracts leave it
    /// out; the NSC detail report shows it with status `W`.
    pub withdrawn: Option<(Date, Date)>,
    /// A part-time fall term at a community college (institution, begin, end) alongside the
    /// first fall at a 4-year: enrolled at both levels on the census day, where the 4-year
    /// counts (OpenSDP).
    pub concurrent: Option<(u32, Date, Date)>,
}

impl Student {
    pub fn is_graduate(&self) -> bool {
        self.exit.exit_type == "01921"
    }

    /// The true special-population values, in the person columns' order.
    pub fn special(&self) -> [Option<&'static str>; 8] {
        [
            self.disability,
            self.economic_disadvantage,
            self.single_parent,
            self.out_of_workforce,
            self.english_learner,
            self.homeless,
            self.foster_care,
            self.military_connected,
        ]
    }

    /// Sex under the published rule: the value on most person rows that report one; a tie is
    /// `NotSelected`.
    pub fn reported_sex(&self) -> &'static str {
        majority(self.person_rows.iter().map(|p| p.sex), "NotSelected")
    }

    /// Race/ethnicity under the same rule.
    pub fn reported_race_ethnicity(&self) -> &'static str {
        majority(
            self.person_rows.iter().map(|p| p.race_group),
            "RaceAndEthnicityUnknown",
        )
    }
}

fn majority(values: impl Iterator<Item = &'static str>, none: &'static str) -> &'static str {
    let mut votes: Vec<(&'static str, u32)> = Vec::new();
    for v in values.filter(|v| *v != none) {
        match votes.iter_mut().find(|(w, _)| *w == v) {
            Some((_, n)) => *n += 1,
            None => votes.push((v, 1)),
        }
    }
    votes.sort_by(|a, b| b.1.cmp(&a.1));
    match votes.as_slice() {
        [] => none,
        [(v, _)] => v,
        [(v, n), (_, m), ..] if n > m => v,
        _ => none,
    }
}

/// Exit cohort of an exit date: July 1 of `Y-1` to June 30 of `Y` is cohort `Y`.
fn cohort_of(d: Date) -> i32 {
    if d.month >= 7 { d.year + 1 } else { d.year }
}

fn date(y: i32, m: u32, d: u32) -> Date {
    Date::new(y, m, d).expect("generator dates are valid")
}

fn maybe(r: &mut Rng, p_yes: f64, p_unreported: f64) -> Option<&'static str> {
    if r.chance(p_unreported) {
        None
    } else if r.chance(p_yes) {
        Some("Yes")
    } else {
        Some("No")
    }
}

/// Generates student `index` of the state described by `cfg`.
pub fn generate(cfg: &SynthConfig, index: u64) -> Student {
    let mut r = Rng::for_entity(cfg.seed, 1, index);
    let cohort = cfg.first_cohort + r.below((cfg.last_cohort - cfg.first_cohort + 1) as u64) as i32;
    let sex = match r.f64() {
        x if x < 0.49 => "Female",
        x if x < 0.985 => "Male",
        _ => "NotSelected",
    };
    let group = RACE_GROUPS[r.weighted(&RACE_GROUPS.iter().map(|g| g.1).collect::<Vec<_>>())].0;
    let race_flags = race_flags_for(&mut r, group);
    let econ = maybe(
        &mut r,
        if group == "White" || group == "Asian" {
            0.35
        } else {
            0.58
        },
        0.01,
    );
    let disability = maybe(&mut r, 0.13, 0.01);
    let english_learner = maybe(
        &mut r,
        if group == "HispanicOrLatino" || group == "Asian" {
            0.22
        } else {
            0.03
        },
        0.01,
    );
    let homeless = maybe(&mut r, if econ == Some("Yes") { 0.05 } else { 0.005 }, 0.01);
    let foster_care = maybe(&mut r, 0.012, 0.02);
    let single_parent = maybe(&mut r, 0.02, 0.02);
    let out_of_workforce = if r.chance(0.02) {
        None
    } else if r.chance(0.004) {
        Some("Yes")
    } else {
        Some("No")
    };
    let military_connected = match r.f64() {
        x if x < 0.025 => Some("ActiveDuty"),
        x if x < 0.035 => Some("NationalGuardOrReserve"),
        x if x < 0.05 => None,
        _ => Some("NotMilitaryConnected"),
    };
    let first_name = match sex {
        "Female" => *r.pick(FIRST_F),
        "Male" => *r.pick(FIRST_M),
        _ => {
            let names = if r.chance(0.5) { FIRST_F } else { FIRST_M };
            *r.pick(names)
        }
    };
    let last_name = family_name(&mut r);
    let birth_date = date(cohort - 18, 1 + r.below(12) as u32, 1 + r.below(28) as u32);
    let lea = r.below(cfg.leas() as u64) as u32;
    let school = lea * 3 + r.below(3) as u32;

    // Risk shifts outcome probabilities; it is what makes equity gaps visible.
    let mut risk = 0.0;
    // Large enough that the economically disadvantaged concentrators' lower college-going shows
    // above sampling noise in a 4,000-student state (about half of them are disadvantaged).
    if econ == Some("Yes") {
        risk += 0.2;
    }
    if disability == Some("Yes") {
        risk += 0.15;
    }
    if english_learner == Some("Yes") {
        risk += 0.08;
    }
    if homeless == Some("Yes") {
        risk += 0.2;
    }
    if foster_care == Some("Yes") {
        risk += 0.2;
    }

    let entry_date = date(cohort - 4, 8, 20 + r.below(8) as u32);
    let exit = match r.f64() + risk * 0.4 {
        x if x < 0.86 => Exit {
            date: date(cohort, 5, 25 + r.below(7) as u32),
            exit_type: "01921",
            diploma: Some(if r.chance(0.2) { "00807" } else { "00806" }),
        },
        x if x < 0.90 => Exit {
            date: date(cohort, 6, 5),
            exit_type: "01922",
            diploma: Some("00814"),
        },
        _ => Exit {
            date: date(
                cohort - r.below(2) as i32,
                1 + r.below(12) as u32,
                1 + r.below(28) as u32,
            ),
            exit_type: "01927",
            diploma: None,
        },
    };

    let mut s = Student {
        index,
        state_student_id: state_student_id_for(index),
        ssn: ssn_for(index),
        ssn_in_k12: r.chance(cfg.k12_ssn_share),
        first_name: first_name.to_string(),
        last_name: last_name.to_string(),
        birth_date,
        sex,
        race_flags,
        disability,
        economic_disadvantage: econ,
        single_parent,
        out_of_workforce,
        english_learner,
        homeless,
        foster_care,
        military_connected,
        lea,
        school,
        cohort,
        entry_date,
        exit,
        enrollments: Vec::new(),
        exit_cohort: Some(cohort_of(exit.date)),
        person_rows: Vec::new(),
        cte_courses: Vec::new(),
        dual_credit_course: None,
        credentials: Vec::new(),
        wbl: Vec::new(),
        college: None,
        wages: Vec::new(),
        workforce: None,
    };
    cte(&mut s, &mut r);
    s.dual_credit_course = dual_credit_course(&s, cfg);
    districts(&mut s, &mut r, cfg, group);
    college(&mut s, &mut r, cfg, risk);
    work(&mut s, &mut r, cfg, risk);
    s
}

fn race_flags_for(r: &mut Rng, group: &str) -> [&'static str; 6] {
    let mut f = ["No"; 6];
    let races = [
        "AmericanIndianOrAlaskaNative",
        "Asian",
        "BlackOrAfricanAmerican",
        "NativeHawaiianOrOtherPacificIslander",
        "White",
    ];
    match group {
        "RaceAndEthnicityUnknown" => f = ["NotSelected"; 6],
        "HispanicOrLatino" => {
            f[0] = "Yes";
            f[1 + r.below(5) as usize] = "Yes";
        }
        "DemographicRaceTwoOrMoreRaces" => {
            let a = r.below(5) as usize;
            let b = (a + 1 + r.below(4) as usize) % 5;
            f[1 + a] = "Yes";
            f[1 + b] = "Yes";
        }
        one => f[1 + races.iter().position(|x| *x == one).expect("known group")] = "Yes",
    }
    f
}

fn cte(s: &mut Student, r: &mut Rng) {
    if !r.chance(0.55) {
        return;
    }
    let programs: Vec<_> = CteProgramCatalog::builtin().iter().collect();
    // Programs lean by sex; the nontraditional ones still draw the other sex sometimes.
    let weights: Vec<f64> = programs
        .iter()
        .map(|p| match p.nontraditional_for.as_deref() {
            Some(under) if under == s.sex => 0.25,
            Some(_) => 1.6,
            None => 1.0,
        })
        .collect();
    let program = programs[r.weighted(&weights)];
    let cip: &'static str = cip_static(&program.cip_code);
    let courses = 1 + r.weighted(&[0.3, 0.35, 0.25, 0.1]);
    let last_year = if s.exit.exit_type == "01927" {
        s.exit.date.year
    } else {
        s.cohort
    };
    for k in 0..courses {
        let year = (s.cohort - 3 + k as i32).min(last_year);
        s.cte_courses.push((cip, year, k as u32 + 1));
    }
    // A retake: the same course completed again the next year. It is still one course.
    if r.chance(0.12) {
        let (cip, year, number) = *r.pick(&s.cte_courses);
        s.cte_courses.push((cip, (year + 1).min(last_year), number));
    }
    if r.chance(0.15) {
        let other = programs[r.below(programs.len() as u64) as usize];
        s.cte_courses.push((
            cip_static(&other.cip_code),
            s.cohort - 1,
            courses as u32 + 1,
        ));
    }
    if courses >= 2 && s.is_graduate() {
        if r.chance(0.3) {
            let kind = if r.chance(0.8) {
                "IndustryCertification"
            } else {
                "OccupationalLicense"
            };
            // One in eight is earned the summer after graduation, which Perkins V 5S1 (attained
            // by graduation) does not count; no CTE program is in force then, so it carries
            // none (as an Ed-Fi reader, which takes the program of the award date, finds none).
            let (month, program) = if r.chance(0.125) { (7, "") } else { (4, cip) };
            s.credentials
                .push((kind, program, date(s.cohort, month, 1 + r.below(28) as u32)));
        }
        if r.chance(0.35) {
            let kind = *r.pick(&[
                "PaidInternship",
                "JobShadowing",
                "CooperativeEducation",
                "ClinicalWork",
            ]);
            // One in eight begins the summer after graduation, after the exit 5S3 counts to.
            let start = match r.chance(0.125) {
                true => date(s.cohort, 7, 1 + r.below(28) as u32),
                false => date(s.cohort - 1, 9, 1 + r.below(28) as u32),
            };
            s.wbl.push((kind, start, 20 + r.below(200) as u32));
        }
    }
}

/// The catalogue lives for the whole process; this hands out its codes as `&'static str`.
fn cip_static(code: &str) -> &'static str {
    CteProgramCatalog::builtin()
        .get(code)
        .map(|p| p.cip_code.as_str())
        .expect("catalogue code")
}

/// Districts attended and what each reported: most students stay in one; some move between
/// districts, some CTE students also attend a shared-time CTE center (a concurrent enrollment
/// that starts later and closes earlier), and some dropouts re-enter and then transfer out of
/// state, so their dropout is no exit.
fn districts(s: &mut Student, r: &mut Rng, cfg: &SynthConfig, group: &'static str) {
    let days =
        |d: Date, n: u64, r: &mut Rng| Date::from_days(d.to_days() + n as i32 + r.below(n) as i32);
    let other_lea = |r: &mut Rng| (s.lea + 1 + r.below(cfg.leas() as u64 - 1) as u32) % cfg.leas();
    let mut enrollments = Vec::new();
    let mut start = s.entry_date;
    if r.chance(0.08) {
        let lea = other_lea(r);
        let moved = date(s.cohort - 3, 1 + r.below(6) as u32, 1 + r.below(28) as u32);
        enrollments.push(Enrollment {
            lea,
            school: lea * 3 + r.below(3) as u32,
            entry: s.entry_date,
            exit: Exit {
                date: moved,
                exit_type: "01908",
                diploma: None,
            },
        });
        start = days(moved, 3, r);
    }
    enrollments.push(Enrollment {
        lea: s.lea,
        school: s.school,
        entry: start,
        exit: s.exit,
    });
    if s.is_graduate() && !s.cte_courses.is_empty() && r.chance(0.06) {
        let lea = other_lea(r);
        enrollments.push(Enrollment {
            lea,
            school: lea * 3 + r.below(3) as u32,
            entry: date(s.cohort - 2, 8, 25),
            exit: Exit {
                date: date(s.cohort - 1, 6, 5),
                exit_type: "01908",
                diploma: None,
            },
        });
    }
    if s.exit.exit_type == "01927" && r.chance(0.3) {
        let back = days(s.exit.date, 60, r);
        enrollments.push(Enrollment {
            lea: s.lea,
            school: s.school,
            entry: back,
            exit: Exit {
                date: days(back, 90, r),
                exit_type: "01909",
                diploma: None,
            },
        });
        s.exit_cohort = None;
    }
    let mut leas: Vec<u32> = Vec::new();
    for e in &enrollments {
        if !leas.contains(&e.lea) {
            leas.push(e.lea);
        }
    }
    s.enrollments = enrollments;
    s.person_rows = person_rows(s, r, leas.len(), group);
}

/// `n` districts' person rows for `s`. Each special population's true value is reported by one
/// district (a member code) or by at least one (the non-member code); the others report the
/// non-member code or nothing. Sometimes one district records another sex or race.
fn person_rows(s: &Student, r: &mut Rng, n: usize, group: &'static str) -> Vec<PersonRow> {
    let truth = PersonRow {
        sex: s.sex,
        race_group: group,
        race_flags: s.race_flags,
        special: s.special(),
    };
    if n == 1 {
        return vec![truth];
    }
    let non_members = [
        "No",
        "No",
        "No",
        "No",
        "No",
        "No",
        "No",
        "NotMilitaryConnected",
    ];
    let mut rows = vec![truth; n];
    for (k, value) in s.special().into_iter().enumerate() {
        let Some(v) = value else { continue };
        let holder = r.below(n as u64) as usize;
        for (i, row) in rows.iter_mut().enumerate() {
            row.special[k] = if i == holder {
                Some(v)
            } else if r.chance(0.6) {
                Some(non_members[k])
            } else {
                None
            };
        }
    }
    let last = n - 1;
    if r.chance(0.15) && s.sex != "NotSelected" {
        rows[last].sex = if s.sex == "Female" { "Male" } else { "Female" };
    }
    if r.chance(0.15) {
        let other = RACE_GROUPS[r.below(RACE_GROUPS.len() as u64) as usize].0;
        rows[last].race_group = other;
        rows[last].race_flags = race_flags_for(r, other);
    }
    rows
}

fn college(s: &mut Student, r: &mut Rng, cfg: &SynthConfig, risk: f64) {
    let concentrator_bonus = if s.cte_courses.len() >= 2 { 0.05 } else { 0.0 };
    let p = if s.is_graduate() {
        0.62 - risk + concentrator_bonus
    } else {
        0.08
    };
    if !r.chance(p.clamp(0.02, 0.95)) {
        return;
    }
    let four_year = r.chance(0.5 - risk * 0.5);
    let institution = r.below(cfg.institutions() as u64) as u32;
    // Some colleges are less-than-2-year institutions (certificate programmes): NSC `L`.
    let level = match (four_year, institution % 7) {
        (true, _) => "FourYear",
        (false, 0) => "LessThanTwo",
        (false, _) => "TwoToFour",
    };
    // Most start the fall after exit; some only the next spring.
    let delayed = r.chance(0.12);
    let start_year = s.exit.date.year.max(s.cohort);
    let mut terms = Vec::new();
    let years = if four_year { 4 } else { 2 };
    let persist = 0.82 - risk * 0.5;
    let data_end = Date::new(cfg.data_end_year, 12, 31).expect("valid");
    for y in 0..years {
        let fall = (date(start_year + y, 8, 24), date(start_year + y, 12, 15));
        let spring = (
            date(start_year + y + 1, 1, 10),
            date(start_year + y + 1, 5, 10),
        );
        for (k, (b, e)) in [fall, spring].into_iter().enumerate() {
            if y == 0 && k == 0 && delayed {
                continue;
            }
            if e > data_end {
                break;
            }
            let status = if r.chance(0.75) {
                "01"
            } else {
                *r.pick(&["02", "03"])
            };
            terms.push((b, e, status));
        }
        if !r.chance(persist) {
            break;
        }
    }
    if terms.is_empty() {
        return;
    }
    let completed_years = terms.len() / 2;
    let award = match (four_year, completed_years) {
        (true, 4) if r.chance(0.7) => Some("05"),
        (false, 2) if r.chance(0.6) => Some("03"),
        (false, 1) if r.chance(0.25) => Some("01"),
        _ => None,
    }
    .map(|level| {
        let cip = s.cte_courses.first().map_or("24.0101", |c| c.0);
        (level, cip, terms.last().expect("non-empty").1)
    });
    let withdrawn = withdrawn_term(
        cfg,
        s.index,
        &terms,
        award.is_some(),
        start_year + years,
        data_end,
    );
    let concurrent = concurrent_term(cfg, s.index, four_year, institution, &terms, start_year);
    s.college = Some(College {
        institution,
        level,
        concurrent,
        local_id: format!("U{institution:03}-{:07}", s.index),
        carries_state_id: r.chance(cfg.ps_state_id_share),
        carries_ssn: r.chance(cfg.ps_ssn_share),
        terms,
        award,
        withdrawn,
    });
}

/// Which course earned dual credit, if any. Drawn from its own stream so the rest of the state
/// is unchanged.
fn dual_credit_course(s: &Student, cfg: &SynthConfig) -> Option<usize> {
    let primary = s.cte_courses.first()?.0;
    let mut r = Rng::for_entity(cfg.seed, 15, s.index);
    let other = s.cte_courses.iter().position(|c| c.0 != primary);
    let last_primary = s
        .cte_courses
        .iter()
        .rposition(|c| c.0 == primary && c.2 >= 2);
    match r.f64() {
        x if x < 0.2 => last_primary,
        x if x < 0.28 => other,
        _ => None,
    }
}

/// For a few 4-year students enrolled in their first fall: a course at a community college that
/// same fall. Drawn from its own stream so the rest of the state is unchanged.
fn concurrent_term(
    cfg: &SynthConfig,
    index: u64,
    four_year: bool,
    institution: u32,
    terms: &[(Date, Date, &'static str)],
    start_year: i32,
) -> Option<(u32, Date, Date)> {
    let first_fall = date(start_year, 8, 24);
    let enrolled_first_fall = terms.first().is_some_and(|(b, _, _)| *b == first_fall);
    if !four_year || !enrolled_first_fall || !Rng::for_entity(cfg.seed, 14, index).chance(0.08) {
        return None;
    }
    let other = (institution + 1) % cfg.institutions();
    Some((other, date(start_year, 8, 30), date(start_year, 12, 10)))
}

/// For some who stopped before the program's last spring without an award: the next term,
/// withdrawn three weeks in. Drawn from its own stream so the rest of the state is unchanged.
fn withdrawn_term(
    cfg: &SynthConfig,
    index: u64,
    terms: &[(Date, Date, &'static str)],
    awarded: bool,
    last_spring_year: i32,
    data_end: Date,
) -> Option<(Date, Date)> {
    let (_, last_end, _) = *terms.last()?;
    let stopped_early = !awarded && last_end < date(last_spring_year, 5, 10);
    if !stopped_early || !Rng::for_entity(cfg.seed, 11, index).chance(0.3) {
        return None;
    }
    let begin = if last_end.month >= 8 {
        date(last_end.year + 1, 1, 10)
    } else {
        date(last_end.year, 8, 24)
    };
    let withdrew = Date::from_days(begin.to_days() + 21);
    (withdrew <= data_end).then_some((begin, withdrew))
}

fn work(s: &mut Student, r: &mut Rng, cfg: &SynthConfig, risk: f64) {
    let exit_q = YearQuarter::of(s.exit.date).index();
    let (first, last) = quarter_span(s.cohort - 1, cfg.data_end_year);
    let in_college = |q: i32, s: &Student| {
        s.college.as_ref().is_some_and(|c| {
            c.terms.iter().any(|(b, e, st)| {
                *st == "01" && YearQuarter::of(*b).index() <= q && q <= YearQuarter::of(*e).index()
            })
        })
    };
    let attachment = 0.78 - risk * 0.6 + if s.cte_courses.len() >= 2 { 0.06 } else { 0.0 };
    // Quarterly dollars at exit, about $4,900 for a student at no risk (full-time work at $9.50
    // an hour; the federal minimum wage is $3,770 a quarter), so a year out many workers not
    // in college clear PSEO's attachment bar ($15,080 in three or more quarters) and some
    // fall just short.
    let base = (8.5 - risk * 0.8 + r.normal() * 0.35).exp();
    let mut employer = r.below(cfg.employers() as u64) as u32;
    for q in first..=last {
        let p = if q <= exit_q {
            0.3
        } else if in_college(q, s) {
            0.45
        } else {
            attachment
        };
        if !r.chance(p.clamp(0.05, 0.97)) || (q == last && !r.chance(LAST_QUARTER_SHARE)) {
            continue;
        }
        if r.chance(0.15) {
            employer = r.below(cfg.employers() as u64) as u32;
        }
        let years_out = ((q - exit_q).max(0) as f64) / 4.0;
        let scale = if q <= exit_q || in_college(q, s) {
            0.35
        } else {
            1.0
        };
        let dollars = base * scale * (1.0 + 0.06 * years_out) * (r.normal() * 0.25).exp();
        s.wages
            .push((q, employer, (dollars * 100.0).round().max(100.0) as i64));
        if r.chance(0.1) {
            let second = r.below(cfg.employers() as u64) as u32;
            // A second job, so another employer: one employer's records of a quarter are
            // resolved together.
            if second != employer {
                s.wages.push((
                    q,
                    second,
                    (dollars * 30.0 * r.f64()).round().max(100.0) as i64,
                ));
            }
        }
    }
    if r.chance(0.05) {
        let program = *r.pick(&["04", "02", "13", "19"]);
        let entry = Date::from_days(s.exit.date.to_days() + 90 + r.below(400) as i32);
        let exit = Date::from_days(entry.to_days() + 60 + r.below(300) as i32);
        let end = Date::new(cfg.data_end_year, 12, 31).expect("valid");
        if entry <= end {
            s.workforce = Some((program, entry, (exit <= end).then_some(exit)));
        }
    }
}

/// Quarter indexes from the first quarter of `first_year` to the last of `last_year`.
pub fn quarter_span(first_year: i32, last_year: i32) -> (i32, i32) {
    let q = |year, quarter| YearQuarter { year, quarter }.index();
    (q(first_year, 1), q(last_year, 4))
}
