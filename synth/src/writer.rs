//! Writes the generated state to disk, one CSV per agency extract plus `truth/`.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use p20w_schemas::{Date, Entity, YearQuarter};

use crate::wage_reports::{Keyed, ReportType, WageFiles};

use crate::SynthConfig;
use crate::ids::{index_of_ssn, ssn_for};
use crate::names::{keyed_family, keyed_given, typo};
use crate::rng::Rng;
use crate::student::{LAST_QUARTER_SHARE, Student, generate, quarter_span};

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Rows written per file, keyed by the file's path under the output folder.
#[derive(Debug, Clone, Default)]
pub struct SynthSummary {
    pub files: Vec<(String, u64)>,
}

impl SynthSummary {
    pub fn rows(&self, file: &str) -> u64 {
        self.files
            .iter()
            .find(|(f, _)| f == file)
            .map_or(0, |(_, n)| *n)
    }
}

pub(crate) struct Out {
    path: PathBuf,
    name: String,
    w: csv::Writer<BufWriter<File>>,
    rows: u64,
}

impl Out {
    pub(crate) fn create(root: &Path, name: &str, header: &str) -> Result<Out, SynthError> {
        let path = root.join(name);
        let io = |source| SynthError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(path.parent().expect("files sit in folders")).map_err(io)?;
        let file = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io)?);
        let mut out = Out {
            w: csv::Writer::from_writer(file),
            path: path.clone(),
            name: name.to_string(),
            rows: 0,
        };
        out.w
            .write_record(header.split(','))
            .map_err(|e| out.err(e))?;
        Ok(out)
    }

    /// An agency extract whose header is `entity`'s columns in model order.
    pub(crate) fn extract(root: &Path, name: &str, entity: Entity) -> Result<Out, SynthError> {
        let header: Vec<&str> = entity.fields().iter().map(|f| f.name).collect();
        Out::create(root, name, &header.join(","))
    }

    /// One record; the csv crate quotes any field holding a comma, a quote, `\r` or `\n`.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    pub(crate) fn row(&mut self, fields: &[&str]) -> Result<(), SynthError> {
        self.w.write_record(fields).map_err(|e| self.err(e))?;
        self.rows += 1;
        Ok(())
    }

    fn err(&self, e: csv::Error) -> SynthError {
        let source = match e.into_kind() {
            csv::ErrorKind::Io(io) => io,
            other => std::io::Error::other(format!("{other:?}")),
        };
        SynthError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    pub(crate) fn finish(mut self) -> Result<(String, u64), SynthError> {
        self.w.flush().map_err(|e| self.err(csv::Error::from(e)))?;
        Ok((self.name, self.rows))
    }
}

/// Generates the whole state into `root` (created if missing; existing files are replaced).
pub fn generate_state(cfg: &SynthConfig, root: &Path) -> Result<SynthSummary, SynthError> {
    // Extract headers come from the canonical model, so the generator cannot drift from it.
    let mut students = Out::extract(root, "k12/students.csv", Entity::Person)?;
    let mut enrollments = Out::extract(root, "k12/enrollments.csv", Entity::K12Enrollment)?;
    let mut courses = Out::extract(root, "k12/cte_courses.csv", Entity::CteCourseCompletion)?;
    let mut credentials = Out::extract(root, "k12/credentials.csv", Entity::IndustryCredential)?;
    let mut wbl = Out::extract(
        root,
        "k12/work_based_learning.csv",
        Entity::WorkBasedLearning,
    )?;
    let mut ps_enrollments =
        Out::extract(root, "postsecondary/enrollments.csv", Entity::PsEnrollment)?;
    let mut ps_awards = Out::extract(root, "postsecondary/awards.csv", Entity::PsAward)?;
    let mut wages = WageFiles::create(root, cfg)?;
    let mut workforce = Out::extract(
        root,
        "workforce/program_participation.csv",
        Entity::WorkforceParticipation,
    )?;
    let mut truth_persons = Out::create(
        root,
        "truth/persons.csv",
        "person_id,state_student_id,ssn,ssn_in_k12,first_name,last_name,birth_date,cohort,\
         exit_cohort,sex,race_ethnicity",
    )?;
    let mut truth_ps_enrollments = Out::create(root, "truth/ps_enrollment.csv", "person_id")?;
    let mut truth_ps_awards = Out::create(root, "truth/ps_award.csv", "person_id")?;
    let mut truth_workforce = Out::create(root, "truth/workforce_participation.csv", "person_id")?;

    let mut formats = crate::format::Formats::create(root)?;
    // Not in the summary: its files are JSON, not rows of lines.
    let mut edfi = cfg
        .edfi_dump
        .then(|| crate::format::edfi::EdfiDump::create(cfg, root))
        .transpose()?;

    let people = cfg.students + cfg.other_workers();
    for i in 0..cfg.students {
        let s = generate(cfg, i);
        if let Some(dump) = &mut edfi {
            dump.student(&s)?;
        }
        let mut r = Rng::for_entity(cfg.seed, 3, i);
        // Name and SSN variants on postsecondary records: their own stream, so the records'
        // other values do not move when the variants change.
        let mut v = Rng::for_entity(cfg.seed, 13, i);
        let pid = format!("P{i}");
        let id = s.state_student_id.as_str();
        let bd = s.birth_date.to_string();
        let opt = |v: Option<&'static str>| v.unwrap_or("");
        let k12_ssn = if s.ssn_in_k12 { s.ssn.as_str() } else { "" };
        for row in &s.person_rows {
            let f = row.race_flags;
            let sp = row.special.map(opt);
            students.row(&[
                id,
                k12_ssn,
                &s.first_name,
                &s.last_name,
                &bd,
                row.sex,
                f[0],
                f[1],
                f[2],
                f[3],
                f[4],
                f[5],
                sp[0],
                sp[1],
                sp[2],
                sp[3],
                sp[4],
                sp[5],
                sp[6],
                sp[7],
            ])?;
        }
        truth_persons.row(&[
            &pid,
            id,
            &s.ssn,
            if s.ssn_in_k12 { "1" } else { "0" },
            &s.first_name,
            &s.last_name,
            &bd,
            &s.cohort.to_string(),
            &s.exit_cohort.map(|c| c.to_string()).unwrap_or_default(),
            s.reported_sex(),
            s.reported_race_ethnicity(),
        ])?;
        for e in &s.enrollments {
            enrollments.row(&[
                id,
                &format!("LEA{:03}", e.lea),
                &format!("SCH{:04}", e.school),
                &e.entry.to_string(),
                &e.exit.date.to_string(),
                e.exit.exit_type,
                opt(e.exit.diploma),
            ])?;
        }
        let school = format!("SCH{:04}", s.school);
        for (k, (cip, year, number)) in s.cte_courses.iter().enumerate() {
            let course = format!("C{}-{number}", cip.replace('.', ""));
            let credit = match s.dual_credit_course == Some(k) {
                true => "DualCredit",
                false => "",
            };
            courses.row(&[id, &school, &year.to_string(), &course, cip, credit])?;
        }
        for (kind, cip, when) in &s.credentials {
            credentials.row(&[
                id,
                kind,
                "State-approved credential",
                cip,
                &when.to_string(),
            ])?;
        }
        for (kind, start, hours) in &s.wbl {
            let end = Date::from_days(start.to_days() + 90).to_string();
            wbl.row(&[id, kind, &start.to_string(), &end, &hours.to_string()])?;
        }
        if let Some(c) = &s.college {
            let inst = format!("{:06}", 100_000 + c.institution * 37);
            let state_id = if c.carries_state_id { id } else { "" };
            for (b, e, status) in &c.terms {
                let (ssn, first, last, birth) =
                    ps_identity(&mut r, &mut v, &s, c.carries_ssn, people);
                ps_enrollments.row(&[
                    &inst,
                    &c.local_id,
                    state_id,
                    &ssn,
                    &first,
                    &last,
                    &birth,
                    c.level,
                    &b.to_string(),
                    &e.to_string(),
                    status,
                ])?;
                truth_ps_enrollments.row(&[&pid])?;
            }
            if let Some((other, b, e)) = c.concurrent {
                let (ssn, first, last, birth) =
                    ps_identity(&mut r, &mut v, &s, c.carries_ssn, people);
                ps_enrollments.row(&[
                    &format!("{:06}", 100_000 + other * 37),
                    &format!("C{other:03}-{:07}", s.index),
                    state_id,
                    &ssn,
                    &first,
                    &last,
                    &birth,
                    "TwoToFour",
                    &b.to_string(),
                    &e.to_string(),
                    "02",
                ])?;
                truth_ps_enrollments.row(&[&pid])?;
            }
            if let Some((level, cip, when)) = &c.award {
                let (ssn, first, last, birth) =
                    ps_identity(&mut r, &mut v, &s, c.carries_ssn, people);
                ps_awards.row(&[
                    &inst,
                    &c.local_id,
                    state_id,
                    &ssn,
                    &first,
                    &last,
                    &birth,
                    level,
                    cip,
                    &when.to_string(),
                ])?;
                truth_ps_awards.row(&[&pid])?;
            }
        }
        let mut v = Rng::for_entity(cfg.seed, 4, i);
        for (q, employer, cents) in &s.wages {
            let ssn = wage_ssn(&mut r, &s.ssn, people, cfg.wage_ssn_typo_share);
            let last = if r.chance(0.05) {
                typo(&mut r, &s.last_name)
            } else {
                s.last_name.clone()
            };
            let who = Keyed {
                person: &pid,
                ssn_right: ssn.replace('-', "") == s.ssn,
                ssn: &ssn,
                first: &s.first_name,
                last: &last.to_uppercase(),
            };
            wages.wage(&mut v, &who, *q, *employer, *cents)?;
        }
        if let Some((program, entry, exit)) = &s.workforce {
            let exit = exit.map(|d| d.to_string()).unwrap_or_default();
            workforce.row(&[&s.ssn, program, &entry.to_string(), &exit])?;
            truth_workforce.row(&[&pid])?;
        }
        formats.student(cfg, &s)?;
    }
    other_workers(cfg, &mut wages)?;
    if let Some(dump) = edfi {
        dump.finish()?;
    }

    let mut summary = SynthSummary::default();
    for out in [
        students,
        enrollments,
        courses,
        credentials,
        wbl,
        ps_enrollments,
        ps_awards,
        workforce,
        truth_persons,
        truth_ps_enrollments,
        truth_ps_awards,
        truth_workforce,
    ] {
        summary.files.push(out.finish()?);
    }
    summary.files.extend(wages.finish()?);
    summary.files.extend(formats.finish()?);
    let readme = "Ground truth for tests: who each record really belongs to.\n\
        persons.csv has one row per student (person_id, true identifiers, cohort: the spring the\n\
        student was due to graduate; exit_cohort: the exit cohort under the published rule, blank\n\
        when the last enrollment ends in a transfer; sex and race_ethnicity: what the published\n\
        rule makes of the student's person rows, one per district attended).\n\
        k12/students.csv may hold several rows per student, k12/enrollments.csv several\n\
        enrollments, k12/cte_courses.csv a retaken course twice (same course_id).\n\
        Every other file has one row per data row of the extract of the same entity, in the same\n\
        order, naming the person_id it belongs to (blank: a worker who was never a student here),\n\
        except wages_resolved.csv: one row per student, employer and quarter with what the student\n\
        really earned (wages, dollars), which the wage records resolve to under the published rule\n\
        (ssn_keyed_right = 0: the records carry a mistyped SSN and link to no one).\n\
        workforce/ui_wages.csv also has copies as ICESA (workforce/icesa/, Texas layout) and EFW2\n\
        (workforce/efw2/, Louisiana layout) files, one per received quarter and report type.\n\
        nsc_*, pesc_* and pirl_* name the persons of the canonical CSVs beside the NSC detail\n\
        report, the PESC transcripts and the PIRL file. NSC also reports terms withdrawn before\n\
        the census, which the institutions' census-date extracts leave out.\n\
        K-12 extracts are keyed by state_student_id without error, so persons.csv covers them.\n\
        The pipeline never reads this folder.\n";
    std::fs::write(root.join("truth/README.txt"), readme).map_err(|source| SynthError::Io {
        path: "truth/README.txt".into(),
        source,
    })?;
    Ok(summary)
}

/// The SSN, names and birth date as a postsecondary clerk keyed them: names with the
/// variants of [`crate::names`] (drawn from `v`), now and then a birth date with month and
/// day swapped, or an SSN with two adjacent digits transposed (to a number no one holds).
fn ps_identity(
    r: &mut Rng,
    v: &mut Rng,
    s: &Student,
    carries_ssn: bool,
    people: u64,
) -> (String, String, String, String) {
    let ssn = if !carries_ssn {
        String::new()
    } else if v.chance(PS_SSN_TRANSPOSED) {
        transposed_ssn(v, &s.ssn, people).unwrap_or_else(|| s.ssn.clone())
    } else {
        hyphenate_sometimes(r, &s.ssn)
    };
    let more_variants = s.english_learner == Some("Yes");
    let first = keyed_given(v, &s.first_name, more_variants);
    let last = keyed_family(v, &s.last_name, more_variants);
    let b = s.birth_date;
    let birth = match Date::new(b.year, b.day, b.month) {
        Some(swapped) if r.chance(0.03) => swapped,
        _ => b,
    };
    (ssn, first, last, birth.to_string())
}

/// Share of postsecondary records whose SSN has two adjacent digits transposed.
const PS_SSN_TRANSPOSED: f64 = 0.01;

/// `ssn` with two adjacent digits swapped, to a number none of the `people` holds.
fn transposed_ssn(r: &mut Rng, ssn: &str, people: u64) -> Option<String> {
    for _ in 0..8 {
        let mut d: Vec<u8> = ssn.bytes().collect();
        let i = r.below(8) as usize;
        d.swap(i, i + 1);
        let t = String::from_utf8(d).expect("digits");
        if t != ssn && index_of_ssn(&t).is_none_or(|owner| owner >= people) {
            return Some(t);
        }
    }
    None
}

fn hyphenate_sometimes(r: &mut Rng, ssn: &str) -> String {
    if r.chance(0.3) {
        format!("{}-{}-{}", &ssn[0..3], &ssn[3..5], &ssn[5..9])
    } else {
        ssn.to_string()
    }
}

/// The SSN on one wage record: usually right; sometimes a transposition that is no one's SSN.
fn wage_ssn(r: &mut Rng, ssn: &str, people: u64, typo_share: f64) -> String {
    if r.chance(typo_share)
        && let Some(t) = transposed_ssn(r, ssn, people)
    {
        return t;
    }
    hyphenate_sometimes(r, ssn)
}

/// Workers in the state's wage file who are not in any cohort: most of a real UI file.
fn other_workers(cfg: &SynthConfig, wages: &mut WageFiles) -> Result<(), SynthError> {
    let (first, last) = quarter_span(cfg.first_cohort - 1, cfg.data_end_year);
    fn worker(ssn: &str) -> Keyed<'_> {
        Keyed {
            person: "",
            ssn,
            first: "",
            last: "WORKER",
            ssn_right: true,
        }
    }
    for j in 0..cfg.other_workers() {
        let index = cfg.students + j;
        let mut r = Rng::for_entity(cfg.seed, 2, index);
        let mut v = Rng::for_entity(cfg.seed, 5, index);
        let ssn = match r.f64() {
            x if x < 0.002 => "123-45-6789".to_string(),
            x if x < 0.004 => format!("000{:06}", r.below(1_000_000)),
            _ => ssn_for(index),
        };
        let base = (8.3 + r.normal() * 0.5).exp();
        let mut employer = r.below(cfg.employers() as u64) as u32;
        let attachment = 0.6 + r.f64() * 0.38;
        for q in first..=last {
            if !r.chance(attachment) || (q == last && !r.chance(LAST_QUARTER_SHARE)) {
                continue;
            }
            if r.chance(0.05) {
                employer = r.below(cfg.employers() as u64) as u32;
            }
            let cents = (base * (r.normal() * 0.2).exp() * 100.0).round().max(100.0) as i64;
            wages.wage(&mut v, &worker(&ssn), q, employer, cents)?;
        }
        if j == 0 {
            // A keying slip: one record dated 2099. Ingest must quarantine it, or it would
            // stretch the file's coverage over every exit.
            let stray = YearQuarter {
                year: 2099,
                quarter: 1,
            };
            let original = ReportType::Original;
            wages.record(
                &worker(&ssn),
                stray.index(),
                employer,
                100_000,
                original,
                None,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthConfig {
        SynthConfig {
            students: 300,
            other_workers_per_student: 0.5,
            ..SynthConfig::default()
        }
    }

    fn lines(path: &Path) -> u64 {
        std::fs::read_to_string(path).unwrap().lines().count() as u64 - 1
    }

    #[test]
    fn rows_are_quoted_by_the_csv_rules_including_carriage_returns() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Out::create(dir.path(), "x/f.csv", "a,b").unwrap();
        let awkward = ["line\rbreak", "comma, \"quote\"\nnewline"];
        out.row(&awkward).unwrap();
        out.row(&["plain", ""]).unwrap();
        assert_eq!(out.finish().unwrap(), ("x/f.csv".to_string(), 2));
        let mut r = csv::Reader::from_path(dir.path().join("x/f.csv")).unwrap();
        assert_eq!(r.headers().unwrap(), vec!["a", "b"]);
        let rows: Vec<Vec<String>> = r
            .records()
            .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(
            rows,
            [
                awkward.map(str::to_string).to_vec(),
                vec!["plain".into(), "".into()]
            ]
        );
    }

    #[test]
    fn same_seed_same_bytes_and_truth_aligned() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let sa = generate_state(&small(), a.path()).unwrap();
        generate_state(&small(), b.path()).unwrap();
        for (file, rows) in &sa.files {
            let (x, y) = (
                std::fs::read(a.path().join(file)).unwrap(),
                std::fs::read(b.path().join(file)).unwrap(),
            );
            assert_eq!(x, y, "{file} differs between runs");
            if file.ends_with(".csv") {
                assert_eq!(lines(&a.path().join(file)), *rows, "{file}");
            }
        }
        for (extract, truth) in [
            ("postsecondary/enrollments.csv", "truth/ps_enrollment.csv"),
            ("postsecondary/awards.csv", "truth/ps_award.csv"),
            ("workforce/ui_wages.csv", "truth/wage_record.csv"),
            (
                "workforce/program_participation.csv",
                "truth/workforce_participation.csv",
            ),
        ] {
            assert_eq!(sa.rows(extract), sa.rows(truth), "{extract}");
        }
        assert_eq!(sa.rows("truth/persons.csv"), 300);
        assert!(
            sa.rows("k12/students.csv") > 300,
            "some students have several rows"
        );
        assert!(sa.rows("workforce/ui_wages.csv") > 3_000);
    }

    /// Each edge of the outcome definitions is in the state: retaken courses, a dropout who
    /// re-entered and transferred out, several person rows of one student that differ in a
    /// special population and in sex or race, a stray 2099 wage row and a thin last quarter.
    #[test]
    fn the_state_holds_each_definition_edge() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = small();
        generate_state(&cfg, dir.path()).unwrap();
        let read = |f: &str| {
            let mut r = csv::Reader::from_path(dir.path().join(f)).unwrap();
            r.records().map(|r| r.unwrap()).collect::<Vec<_>>()
        };
        let mut seen = std::collections::HashSet::new();
        let retakes = read("k12/cte_courses.csv")
            .iter()
            .filter(|c| !seen.insert((c[0].to_string(), c[3].to_string())))
            .count();
        assert!(retakes >= 5, "{retakes} retakes");

        let mut by_student: std::collections::HashMap<String, Vec<csv::StringRecord>> =
            Default::default();
        for e in read("k12/enrollments.csv") {
            by_student.entry(e[0].to_string()).or_default().push(e);
        }
        let reentered = by_student
            .values()
            .filter(|v| {
                v.iter().any(|e| &e[5] == "01927")
                    && v.iter().any(|e| &e[5] == "01909" && e[3] > v[0][4])
            })
            .count();
        assert!(
            reentered >= 3,
            "{reentered} dropouts re-entered and transferred"
        );
        let exits_without_cohort = read("truth/persons.csv")
            .iter()
            .filter(|p| p[8].is_empty())
            .count();
        assert_eq!(
            exits_without_cohort, reentered,
            "truth follows the last enrollment"
        );

        let mut rows: std::collections::HashMap<String, Vec<csv::StringRecord>> =
            Default::default();
        for p in read("k12/students.csv") {
            rows.entry(p[0].to_string()).or_default().push(p);
        }
        let several: Vec<_> = rows.values().filter(|v| v.len() > 1).collect();
        let differs = |col: usize| {
            several
                .iter()
                .filter(|v| v.iter().any(|r| r[col] != v[0][col]))
                .count()
        };
        assert!(
            several.len() >= 15,
            "{} students with several rows",
            several.len()
        );
        assert!(differs(5) >= 1, "a conflicting sex");
        assert!(differs(11) + differs(6) >= 1, "a conflicting race");
        assert!(
            differs(12) + differs(13) >= 5,
            "differing special populations"
        );

        let mut per_quarter: std::collections::BTreeMap<(i32, i32), u64> = Default::default();
        for w in read("workforce/ui_wages.csv") {
            *per_quarter
                .entry((w[6].parse().unwrap(), w[7].parse().unwrap()))
                .or_default() += 1;
        }
        assert_eq!(per_quarter.remove(&(2099, 1)), Some(1), "one stray row");
        let last = per_quarter[&(cfg.data_end_year, 4)];
        let before = per_quarter[&(cfg.data_end_year, 3)];
        assert!(
            last * 2 < before,
            "the last quarter is thin: {last} vs {before}"
        );
    }

    #[test]
    fn k12_ssn_share_is_respected_and_wage_typos_belong_to_no_one() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            wage_ssn_typo_share: 0.2,
            ..small()
        };
        generate_state(&cfg, dir.path()).unwrap();
        let mut k12 = csv::Reader::from_path(dir.path().join("k12/students.csv")).unwrap();
        let with_ssn = k12
            .records()
            .filter(|r| !r.as_ref().unwrap()[1].is_empty())
            .count();
        assert!(
            (120..=240).contains(&with_ssn),
            "{with_ssn} of 300 carry an SSN"
        );
        let mut wages = csv::Reader::from_path(dir.path().join("workforce/ui_wages.csv")).unwrap();
        let mut truth = csv::Reader::from_path(dir.path().join("truth/wage_record.csv")).unwrap();
        let people = cfg.students + cfg.other_workers();
        let mut typos = 0;
        for (w, t) in wages.records().zip(truth.records()) {
            let (w, t) = (w.unwrap(), t.unwrap());
            let Some(person) = t[0].strip_prefix('P') else {
                continue;
            };
            let ssn = w[0].replace('-', "");
            let true_ssn = ssn_for(person.parse().unwrap());
            if ssn != true_ssn {
                typos += 1;
                assert!(
                    index_of_ssn(&ssn).is_none_or(|o| o >= people),
                    "typo hits a real person"
                );
            }
        }
        assert!(typos > 50, "{typos}");
    }
}
