//! UI wage records as a state receives them: most wages come once in an original report, but
//! some arrive late in a supplemental report, some are restated by an amendment (one or two,
//! sometimes two in the same quarter), and some reports are sent twice. Every record goes to
//! the plain CSV (with `report_type`, `received_year`, `received_quarter`) and, when asked, to
//! ICESA and EFW2 files of the same records; `truth/wages_resolved.csv` holds what each
//! student really earned from each employer in each quarter.

use std::path::Path;

use p20w_schemas::{Entity, YearQuarter};

use crate::SynthConfig;
use crate::format::efw2::Efw2File;
use crate::format::fixed_width::WageLine;
use crate::format::icesa::IcesaFile;
use crate::rng::Rng;
use crate::writer::{Out, SynthError};

const NAICS: &[&str] = &[
    "622110", "611110", "722511", "445110", "236220", "238210", "336111", "541511", "561320",
    "621111", "811111", "484121", "524113", "452319", "921190", "311612",
];

fn fein(employer: u32) -> String {
    format!(
        "{:09}",
        100_000_000 + (employer as u64 * 7_919) % 800_000_000
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportType {
    Original,
    Supplemental,
    Amendment,
}

impl ReportType {
    pub fn code(self) -> &'static str {
        match self {
            ReportType::Original => "Original",
            ReportType::Supplemental => "Supplemental",
            ReportType::Amendment => "Amendment",
        }
    }
    /// The ICESA E record's report-type code.
    fn icesa_code(self) -> &'static str {
        &self.code()[..1]
    }
}

/// Who a wage record names, as keyed.
pub struct Keyed<'a> {
    /// `P<i>` for a student, empty for a worker who was never a student here.
    pub person: &'a str,
    pub ssn: &'a str,
    pub first: &'a str,
    pub last: &'a str,
    /// Whether `ssn` is the person's true SSN (not a keying slip).
    pub ssn_right: bool,
}

/// The reports one true wage arrives in: (type, received, amount in cents). Originals have no
/// received quarter (the state's regular load); later reports arrive in `late[0]` or `late[1]`.
fn reports(
    v: &mut Rng,
    cents: i64,
    late: [YearQuarter; 2],
) -> Vec<(ReportType, Option<YearQuarter>, i64)> {
    use ReportType::*;
    let wrong = |v: &mut Rng| {
        let w = ((cents as f64) * (0.5 + v.f64())).round() as i64;
        if w == cents { cents + 100 } else { w.max(1) }
    };
    let (l1, l2) = (Some(late[0]), Some(late[1]));
    match v.f64() {
        // Missing from the original report, sent late.
        x if x < 0.03 => vec![(Supplemental, l1, cents)],
        // Part in the original report, the rest (a bonus, a missed pay period) later.
        x if x < 0.06 => {
            let first = cents * 7 / 10;
            vec![(Original, None, first), (Supplemental, l1, cents - first)]
        }
        // Restated once.
        x if x < 0.09 => vec![(Original, None, wrong(v)), (Amendment, l1, cents)],
        // Restated twice: the later amendment holds.
        x if x < 0.10 => vec![
            (Original, None, wrong(v)),
            (Amendment, l1, wrong(v)),
            (Amendment, l2, cents),
        ],
        // Two amendments received in the same quarter: the larger holds.
        x if x < 0.11 => vec![
            (Original, None, wrong(v)),
            (Amendment, l2, cents / 2),
            (Amendment, l2, cents),
        ],
        // An original report sent again in a later load.
        x if x < 0.14 => vec![(Original, None, cents), (Original, l1, cents)],
        // An amendment sent again a quarter later.
        x if x < 0.15 => vec![
            (Original, None, wrong(v)),
            (Amendment, l1, cents),
            (Amendment, l2, cents),
        ],
        _ => vec![(Original, None, cents)],
    }
}

/// The wage files of the synthetic state.
pub(crate) struct WageFiles {
    csv: Out,
    truth: Out,
    resolved: Out,
    late: [YearQuarter; 2],
    /// ICESA files by received quarter (original reports first), EFW2 files by report type
    /// and received quarter: EFW2 carries no report type, so each file is of one type.
    icesa: Vec<(Option<YearQuarter>, IcesaFile)>,
    efw2: Vec<((ReportType, Option<YearQuarter>), Efw2File)>,
}

/// Where the fixed-width copies go, as a job's sources would name them.
pub const ICESA_DIR: &str = "workforce/icesa";
pub const EFW2_DIR: &str = "workforce/efw2";

/// The received quarters of late reports: the two quarters after the data end.
pub fn late_quarters(cfg: &SynthConfig) -> [YearQuarter; 2] {
    let first = YearQuarter {
        year: cfg.data_end_year + 1,
        quarter: 1,
    };
    [first, first.plus(1)]
}

impl WageFiles {
    pub fn create(root: &Path, cfg: &SynthConfig) -> Result<WageFiles, SynthError> {
        let late = late_quarters(cfg);
        let mut icesa = Vec::new();
        let mut efw2 = Vec::new();
        if cfg.fixed_width_wages {
            for received in [None, Some(late[0]), Some(late[1])] {
                let name = match received {
                    None => format!("{ICESA_DIR}/original.txt"),
                    Some(q) => format!("{ICESA_DIR}/received_{q}.txt"),
                };
                icesa.push((received, IcesaFile::create(root, &name)?));
            }
            use ReportType::*;
            for key in [
                (Original, None),
                (Original, Some(late[0])),
                (Supplemental, Some(late[0])),
                (Amendment, Some(late[0])),
                (Amendment, Some(late[1])),
            ] {
                let name = match key.1 {
                    None => format!("{EFW2_DIR}/original.txt"),
                    Some(q) => format!("{EFW2_DIR}/{}_{q}.txt", key.0.code().to_lowercase()),
                };
                efw2.push((key, Efw2File::create(root, &name)?));
            }
        }
        Ok(WageFiles {
            csv: Out::extract(root, "workforce/ui_wages.csv", Entity::WageRecord)?,
            truth: Out::create(root, "truth/wage_record.csv", "person_id")?,
            resolved: Out::create(
                root,
                "truth/wages_resolved.csv",
                "person_id,employer_ui_account,year,quarter,wages,ssn_keyed_right",
            )?,
            late,
            icesa,
            efw2,
        })
    }

    /// One true wage: what `who` earned from `employer` in quarter index `q`, with the reports
    /// that carry it (drawn from `v`).
    pub fn wage(
        &mut self,
        v: &mut Rng,
        who: &Keyed<'_>,
        q: i32,
        employer: u32,
        cents: i64,
    ) -> Result<(), SynthError> {
        for (kind, received, amount) in reports(v, cents, self.late) {
            self.record(who, q, employer, amount, kind, received)?;
        }
        if !who.person.is_empty() {
            let yq = YearQuarter::from_index(q);
            self.resolved.row(&[
                who.person,
                &format!("UI{employer:07}"),
                &yq.year.to_string(),
                &yq.quarter.to_string(),
                &dollars(cents),
                if who.ssn_right { "1" } else { "0" },
            ])?;
        }
        Ok(())
    }

    /// One record, in every wage file.
    pub fn record(
        &mut self,
        who: &Keyed<'_>,
        q: i32,
        employer: u32,
        cents: i64,
        kind: ReportType,
        received: Option<YearQuarter>,
    ) -> Result<(), SynthError> {
        let yq = YearQuarter::from_index(q);
        let naics = NAICS[employer as usize % NAICS.len()];
        let (fein, account) = (fein(employer), format!("UI{employer:07}"));
        let (received_year, received_quarter) = received
            .map(|r| (r.year.to_string(), r.quarter.to_string()))
            .unwrap_or_default();
        self.csv.row(&[
            who.ssn,
            who.first,
            who.last,
            &fein,
            &account,
            naics,
            &yq.year.to_string(),
            &yq.quarter.to_string(),
            &dollars(cents),
            kind.code(),
            &received_year,
            &received_quarter,
        ])?;
        self.truth.row(&[who.person])?;
        let ssn = who.ssn.replace('-', "");
        let line = WageLine {
            ssn: &ssn,
            first: who.first,
            last: who.last,
            fein: &fein,
            account: &account,
            naics,
            year: yq.year,
            quarter: yq.quarter,
            cents,
        };
        if let Some((_, f)) = self.icesa.iter_mut().find(|(r, _)| *r == received) {
            f.wage(&line, kind.icesa_code())?;
        }
        if let Some((_, f)) = self.efw2.iter_mut().find(|(k, _)| *k == (kind, received)) {
            f.wage(&line)?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<(String, u64)>, SynthError> {
        let mut out = vec![
            self.csv.finish()?,
            self.truth.finish()?,
            self.resolved.finish()?,
        ];
        for (_, f) in self.icesa {
            out.push(f.finish()?);
        }
        for (_, f) in self.efw2 {
            out.push(f.finish()?);
        }
        Ok(out)
    }
}

fn dollars(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every plan's records resolve to the true amount under the rule the README states.
    #[test]
    fn every_report_plan_resolves_to_the_true_wage() {
        let late = [
            YearQuarter {
                year: 2025,
                quarter: 1,
            },
            YearQuarter {
                year: 2025,
                quarter: 2,
            },
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..2_000 {
            let mut v = Rng::for_entity(1, 9, i);
            let cents = 100 + (i as i64) * 37;
            let mut plan = reports(&mut v, cents, late);
            kinds.insert(format!(
                "{:?}",
                plan.iter().map(|p| p.0).collect::<Vec<_>>()
            ));
            // Identical records (type and amount; the load they came in aside) count once,
            // keeping the latest receipt.
            plan.sort_by_key(|p| (p.0.code(), p.2, std::cmp::Reverse(p.1)));
            plan.dedup_by_key(|p| (p.0, p.2));
            let amendments: Vec<_> = plan
                .iter()
                .filter(|p| p.0 == ReportType::Amendment)
                .collect();
            let resolved = match amendments.iter().map(|p| p.1).max() {
                Some(latest) => amendments
                    .iter()
                    .filter(|p| p.1 == latest)
                    .map(|p| p.2)
                    .max()
                    .unwrap(),
                None => plan.iter().map(|p| p.2).sum(),
            };
            assert_eq!(resolved, cents, "{plan:?}");
            assert!(plan.iter().all(|p| p.2 > 0));
        }
        assert_eq!(kinds.len(), 6, "{kinds:?}");
    }

    #[test]
    fn the_state_holds_late_amended_and_resent_records_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = SynthConfig {
            students: 300,
            other_workers_per_student: 0.5,
            ..SynthConfig::default()
        };
        let summary = crate::generate_state(&cfg, dir.path()).unwrap();
        let mut r = csv::Reader::from_path(dir.path().join("workforce/ui_wages.csv")).unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        let of = |kind: &str| rows.iter().filter(|r| &r[9] == kind).count();
        assert!(
            of("Supplemental") > 50 && of("Amendment") > 50,
            "{} {}",
            of("Supplemental"),
            of("Amendment")
        );
        // A resend: the same record (all but the received quarter) again.
        let resends = rows
            .windows(2)
            .filter(|w| w[0].iter().take(10).eq(w[1].iter().take(10)))
            .count();
        assert!(resends > 50, "{resends} resends");
        for r in rows.iter().filter(|r| &r[9] != "Original") {
            assert_eq!((&r[10], ["1", "2"].contains(&&r[11])), ("2025", true));
        }
        let csv_rows = summary.rows("workforce/ui_wages.csv");
        for dir in [ICESA_DIR, EFW2_DIR] {
            let records: u64 = summary
                .files
                .iter()
                .filter(|(f, _)| f.starts_with(dir))
                .map(|(_, n)| n)
                .sum();
            assert_eq!(records, csv_rows, "{dir}");
        }
        let icesa = std::fs::read(dir.path().join(ICESA_DIR).join("original.txt")).unwrap();
        let lines: Vec<&[u8]> = icesa
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert!(lines.iter().all(|l| l.len() == 276 && l.ends_with(b"\r")));
        assert_eq!(
            lines.len() as u64,
            3 * summary.rows(&format!("{ICESA_DIR}/original.txt")) + 2
        );
    }
}
