//! Ed-Fi format tests: the synthetic state read from its CSVs and from its Ed-Fi dump gives the
//! same records; the Grand Bend sample XML; malformed dumps; a 2 GB array streamed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use p20w_schemas::Entity;

use super::*;
use crate::SourceCounts;
use crate::format::{SourceReader, SourceSpec};
use crate::location::{Input, Location};

/// Every row of `batches` as its values' text, sorted.
fn rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let row = b
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(i) {
                        return "∅".to_string();
                    }
                    match c.data_type() {
                        DataType::Utf8 => c.as_string::<i32>().value(i).to_string(),
                        DataType::Date32 => c.as_primitive::<Date32Type>().value(i).to_string(),
                        DataType::Int32 => c.as_primitive::<Int32Type>().value(i).to_string(),
                        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).to_string(),
                        other => panic!("unexpected column type {other}"),
                    }
                })
                .collect();
            out.push(row);
        }
    }
    out.sort();
    out
}

struct Read_ {
    batches: Vec<RecordBatch>,
    quarantined: Vec<crate::QuarantinedRow>,
    summary: ReadSummary,
}

fn read_all(mut reader: impl SourceReader) -> Read_ {
    let mut batches = Vec::new();
    let mut quarantined = Vec::new();
    for b in reader.by_ref() {
        let b = b.unwrap();
        batches.push(b.records);
        quarantined.extend(b.quarantined);
    }
    let summary = reader.summary();
    let c = summary.counts;
    assert_eq!(c.read, c.accepted + c.quarantined, "counts reconcile");
    assert_eq!(c.quarantined as usize, quarantined.len());
    Read_ {
        batches,
        quarantined,
        summary,
    }
}

fn spec(dir: &Path, entity: Entity, format: &str, options: &str) -> SourceSpec {
    let mut s = SourceSpec::new("s", entity, format, Location::Local(dir.to_path_buf()));
    s.options = toml::from_str(options).unwrap();
    s
}

#[test]
fn the_synthetic_dump_reads_as_the_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = p20w_synth::SynthConfig {
        students: 400,
        other_workers_per_student: 0.1,
        ..p20w_synth::SynthConfig::default()
    };
    p20w_synth::generate_state(&cfg, dir.path()).unwrap();
    let edfi = dir.path().join(p20w_synth::format::edfi::FOLDER);
    for (entity, csv_file) in [
        (Entity::Person, "k12/students.csv"),
        (Entity::K12Enrollment, "k12/enrollments.csv"),
        (Entity::CteCourseCompletion, "k12/cte_courses.csv"),
        (Entity::IndustryCredential, "k12/credentials.csv"),
    ] {
        let csv = read_all(
            crate::format::csv::open(&spec(&dir.path().join(csv_file), entity, "csv", "")).unwrap(),
        );
        let options = p20w_synth::format::edfi::READER_OPTIONS;
        let json = read_all(open_json(&spec(&edfi, entity, "edfi_json", options)).unwrap());
        assert!(csv.quarantined.is_empty(), "{:?}", csv.quarantined.first());
        assert!(
            json.quarantined.is_empty(),
            "{}: {:?}",
            entity.name(),
            json.quarantined.first()
        );
        let (a, b) = (rows(&csv.batches), rows(&json.batches));
        assert!(a.len() > 20, "{}: {} rows", entity.name(), a.len());
        assert_eq!(a.len(), b.len(), "{}", entity.name());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "{}", entity.name());
        }
        assert_eq!(csv.summary.counts, json.summary.counts, "{}", entity.name());
        assert!(
            json.summary.unmapped.is_empty(),
            "{:?}",
            json.summary.unmapped
        );
        if entity == Entity::CteCourseCompletion {
            let skipped = json.summary.ignored.join("; ");
            assert!(skipped.contains("not completed"), "{skipped}");
            assert!(skipped.contains("does not list"), "{skipped}");
            // Dual credit earned is read from earnedAdditionalCredits (credits attempted but
            // not earned, which the dump also holds, is none), as the CSV states it.
            assert!(b.iter().any(|r| r.iter().any(|v| v == "DualCredit")));
        }
    }
}

/// The students of several districts are several person rows with one state id, which the
/// pipeline combines into one person; here is a student with two, and the period rule.
#[test]
fn characteristics_count_only_while_enrolled_there() {
    let dir = write_dump(&[
        (
            "students.json",
            r#"[{"studentUniqueId":"S1","firstName":"Ann","lastSurname":"Lee","birthDate":"2006-03-04"}]"#,
        ),
        (
            "localEducationAgencies.json",
            r#"[{"localEducationAgencyId":10},{"localEducationAgencyId":20}]"#,
        ),
        (
            "schools.json",
            r#"[{"schoolId":101,"localEducationAgencyReference":{"localEducationAgencyId":10}},
                              {"schoolId":201,"localEducationAgencyReference":{"localEducationAgencyId":20}}]"#,
        ),
        (
            "studentSchoolAssociations.json",
            r#"[
            {"studentReference":{"studentUniqueId":"S1"},"schoolReference":{"schoolId":101},"entryDate":"2020-08-20","exitWithdrawDate":"2021-06-01"},
            {"studentReference":{"studentUniqueId":"S1"},"schoolReference":{"schoolId":201},"entryDate":"2021-08-20"}]"#,
        ),
        (
            "studentEducationOrganizationAssociations.ndjson",
            concat!(
                r#"{"studentReference":{"studentUniqueId":"S1"},"educationOrganizationReference":{"educationOrganizationId":10},"sexDescriptor":"uri://state.example/SexDescriptor#Female","hispanicLatinoEthnicity":false,"races":[{"raceDescriptor":"uri://ed-fi.org/RaceDescriptor#Hispanic or Latino"},{"raceDescriptor":"uri://ed-fi.org/RaceDescriptor#Asian"}],"studentCharacteristics":[{"studentCharacteristicDescriptor":"uri://ed-fi.org/StudentCharacteristicDescriptor#Homeless","periods":[{"beginDate":"2019-01-01","endDate":"2019-12-31"}]},{"studentCharacteristicDescriptor":"uri://ed-fi.org/StudentCharacteristicDescriptor#Foster Care","periods":[{"beginDate":"2021-05-01"}]},{"studentCharacteristicDescriptor":"uri://ed-fi.org/StudentCharacteristicDescriptor#Immigrant"}],"studentIdentificationCodes":[{"studentIdentificationSystemDescriptor":"uri://ed-fi.org/StudentIdentificationSystemDescriptor#SSN","assigningOrganizationIdentificationCode":"SEA","identificationCode":"219457880"}]}"#,
                "\n",
                "\n",
                r#"{"studentReference":{"studentUniqueId":"S1"},"educationOrganizationReference":{"educationOrganizationId":20},"sexDescriptor":"uri://ed-fi.org/SexDescriptor#Male","races":[],"studentCharacteristics":[{"studentCharacteristicDescriptor":"uri://ed-fi.org/StudentCharacteristicDescriptor#Homeless","periods":[{"beginDate":"2019-01-01","endDate":"2019-12-31"}]},{"studentCharacteristicDescriptor":"uri://ed-fi.org/StudentCharacteristicDescriptor#Parent in Military"}],"studentIndicators":[{"indicatorName":"disability","indicator":"NotReported"},{"indicatorName":"EL","indicator":"Yes"}]}"#,
                "\n"
            ),
        ),
    ]);
    let r = read_all(
        open_json(&spec(
            dir.path(),
            Entity::Person,
            "edfi_json",
            "indicators = { english_learner = \"EL\" }",
        ))
        .unwrap(),
    );
    assert!(r.quarantined.is_empty(), "{:?}", r.quarantined);
    let got = rows(&r.batches);
    let field = |row: &Vec<String>, name: &str| {
        let i = Entity::Person
            .fields()
            .iter()
            .position(|f| f.name == name)
            .unwrap();
        row[i].clone()
    };
    assert_eq!(got.len(), 2);
    assert!(
        got.iter().all(|r| field(r, "state_student_id") == "S1"),
        "one person, two rows"
    );
    let (lea10, lea20) = if field(&got[0], "ssn") == "219457880" {
        (&got[0], &got[1])
    } else {
        (&got[1], &got[0])
    };
    assert_eq!(field(lea10, "first_name"), "Ann");
    assert_eq!(
        field(lea10, "sex"),
        "Female",
        "any namespace, by code value"
    );
    assert_eq!(
        field(lea10, "hispanic_or_latino"),
        "Yes",
        "Hispanic listed as a race"
    );
    assert_eq!(field(lea10, "race_asian"), "Yes");
    assert_eq!(field(lea10, "race_white"), "No");
    assert_eq!(
        field(lea10, "homeless"),
        "No",
        "its period ended before the spell"
    );
    assert_eq!(
        field(lea10, "foster_care"),
        "Yes",
        "its period overlaps the spell's end"
    );
    assert_eq!(field(lea10, "english_learner"), "∅");
    assert_eq!(field(lea10, "disability"), "No");
    assert_eq!(field(lea20, "ssn"), "∅");
    assert_eq!(
        field(lea20, "sex"),
        "Male",
        "each organization's own report"
    );
    assert_eq!(field(lea20, "race_white"), "NotSelected");
    assert_eq!(field(lea20, "hispanic_or_latino"), "NotSelected");
    assert_eq!(
        field(lea20, "homeless"),
        "No",
        "not while enrolled in district 20 either"
    );
    assert_eq!(
        field(lea20, "military_connected"),
        "ActiveDuty",
        "undated: counts"
    );
    assert_eq!(
        field(lea20, "disability"),
        "∅",
        "an indicator says not reported"
    );
    assert_eq!(
        field(lea20, "english_learner"),
        "Yes",
        "an indicator by its configured name"
    );
    assert!(
        r.summary.ignored.iter().any(|i| i.contains("Immigrant")),
        "{:?}",
        r.summary.ignored
    );
}

fn write_dump(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

const ORGS: [(&str, &str); 2] = [
    (
        "localEducationAgencies.json",
        r#"[{"localEducationAgencyId":10}]"#,
    ),
    (
        "schools.json",
        r#"[{"schoolId":101,"localEducationAgencyReference":{"localEducationAgencyId":10}}]"#,
    ),
];

fn ssa(student: &str, exit_type: &str) -> String {
    format!(
        r#"{{"studentReference":{{"studentUniqueId":"{student}"}},"schoolReference":{{"schoolId":101}},"entryDate":"2020-08-20","exitWithdrawDate":"2024-05-30","exitWithdrawTypeDescriptor":"{exit_type}"}}"#
    )
}

#[test]
fn unmapped_descriptors_unknown_students_and_bad_lines_are_quarantined() {
    let lines = [
        ssa("S1", "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Graduated"),
        ssa(
            "S2",
            "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Teleported",
        ),
        ssa("S9", "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Graduated"),
        "{\"studentReference\":{\"studentUniqueId\":\"S\u{0}\"".to_string(),
        r#"{"schoolReference":{"schoolId":101},"entryDate":"2020-08-20"}"#.to_string(),
        ssa(
            "S1",
            "uri://ed-fi.org/ExitWithdrawTypeDescriptor#End of school year",
        ),
    ];
    let mut text = lines.join("\n").into_bytes();
    text.extend_from_slice(b"\n{\"studentReference\":{\"studentUniqueId\":\"S\xff\xfe\"}}\n");
    let dir = write_dump(&[
        ORGS[0],
        ORGS[1],
        (
            "students.json",
            r#"[{"studentUniqueId":"S1"},{"studentUniqueId":"S2"}]"#,
        ),
        (
            "studentAcademicRecords.json",
            r#"[{"studentReference":{"studentUniqueId":"S1"},"educationOrganizationReference":{"educationOrganizationId":10},"diplomas":[{"diplomaTypeDescriptor":"uri://ed-fi.org/DiplomaTypeDescriptor#Regular diploma","diplomaAwardDate":"2024-05-30"}]}]"#,
        ),
    ]);
    std::fs::write(dir.path().join("studentSchoolAssociations.ndjson"), text).unwrap();
    let r = read_all(open_json(&spec(dir.path(), Entity::K12Enrollment, "edfi_json", "")).unwrap());
    assert_eq!(
        r.summary.counts,
        SourceCounts {
            read: 7,
            accepted: 2,
            quarantined: 5
        }
    );
    let got: Vec<(u64, Option<&str>, Rule)> = r
        .quarantined
        .iter()
        .map(|q| (q.line, q.field.as_deref(), q.rule))
        .collect();
    assert_eq!(
        got,
        [
            (2, Some("exit_type"), Rule::UnmappedCode),
            (3, Some("state_student_id"), Rule::Reference),
            (4, None, Rule::Malformed),
            (5, None, Rule::Malformed),
            (7, None, Rule::Encoding),
        ]
    );
    for q in &r.quarantined {
        assert!(
            q.file.ends_with("studentSchoolAssociations.ndjson"),
            "{}",
            q.file
        );
        assert!(
            !q.message.contains("Teleported") && !q.message.contains("S9"),
            "{}",
            q.message
        );
    }
    assert!(
        r.quarantined[3]
            .message
            .contains("missing field `studentReference`")
    );
    let unmapped = &r.summary.unmapped;
    assert_eq!(unmapped.len(), 1);
    assert_eq!(unmapped[0].code_set, "exit_type");
    assert_eq!(unmapped[0].rows, 1);
    let rows = rows(&r.batches);
    assert_eq!(
        rows[0],
        ["S1", "10", "101", "18494", "19873", "01921", "00806"],
        "the diploma of the graduating spell"
    );
    assert_eq!(rows[1][5], "∅", "end of school year is no exit");
    assert_eq!(rows[1][6], "00806", "the same spell dates hold the diploma");

    // The job can say not reported instead: the row stays, the code is still counted.
    let mut s = spec(dir.path(), Entity::K12Enrollment, "edfi_json", "");
    s.validation.unmapped = crate::UnmappedCodes::NotReported;
    let r = read_all(open_json(&s).unwrap());
    assert_eq!(
        r.summary.counts.quarantined, 5,
        "exit_type has no not-reported code"
    );
}

#[test]
fn dual_credit_is_read_when_earned_and_an_unknown_credit_type_drops_no_course() {
    let transcript = |course: &str, credits: &str| {
        format!(
            r#"{{"courseReference":{{"courseCode":"{course}","educationOrganizationId":101}},"studentAcademicRecordReference":{{"studentUniqueId":"S1","educationOrganizationId":101,"schoolYear":2024}},"courseAttemptResultDescriptor":"uri://ed-fi.org/CourseAttemptResultDescriptor#Pass","earnedAdditionalCredits":[{credits}]}}"#
        )
    };
    let credit = |kind: &str, n: &str| {
        format!(r#"{{"additionalCreditTypeDescriptor":"{kind}","credits":{n}}}"#)
    };
    let dual = "uri://ed-fi.org/AdditionalCreditTypeDescriptor#Dual credit";
    let state = "uri://state.example/AdditionalCreditTypeDescriptor#Articulated";
    let ap = "uri://ed-fi.org/AdditionalCreditTypeDescriptor#Advanced Placement";
    let lines = [
        // Earned dual credit, after an advanced-placement credit: dual credit is recorded.
        transcript("WELD-1", &[credit(ap, "1"), credit(dual, "3")].join(",")),
        // Attempted, not earned.
        transcript("WELD-2", &credit(dual, "0")),
        // A state's own type the crosswalk does not map: the course stays, without a type.
        transcript("WELD-3", &credit(state, "2")),
        transcript("WELD-4", ""),
    ];
    let dir = write_dump(&[
        ORGS[0],
        ORGS[1],
        ("students.json", r#"[{"studentUniqueId":"S1"}]"#),
        ("courseTranscripts.ndjson", &lines.join("\n")),
        (
            "course_cip.csv",
            "course_code,cip_code\nWELD-1,48.0508\nWELD-2,48.0508\nWELD-3,48.0508\nWELD-4,48.0508\n",
        ),
    ]);
    let r = read_all(
        open_json(&spec(
            dir.path(),
            Entity::CteCourseCompletion,
            "edfi_json",
            "course_cip = \"course_cip.csv\"",
        ))
        .unwrap(),
    );
    assert!(r.quarantined.is_empty(), "{:?}", r.quarantined.first());
    let types: Vec<(String, String)> = rows(&r.batches)
        .into_iter()
        .map(|row| (row[3].clone(), row[5].clone()))
        .collect();
    assert_eq!(
        types,
        [
            ("WELD-1".to_string(), "DualCredit".to_string()),
            ("WELD-2".to_string(), "∅".to_string()),
            ("WELD-3".to_string(), "∅".to_string()),
            ("WELD-4".to_string(), "∅".to_string()),
        ]
    );
}

#[test]
fn an_array_cut_short_or_not_utf8_fails_naming_file_and_line() {
    let whole = format!(
        "[\n{},\n{}\n]",
        ssa("S1", "Graduated"),
        ssa("S2", "Graduated")
    );
    let cut = &whole[..whole.len() - 40];
    for (text, expect) in [
        (cut.as_bytes().to_vec(), "line 3"),
        (whole.replace("S2", "S\u{1}").into_bytes(), "line 3"),
        (
            [
                &whole.as_bytes()[..20],
                b"\xff\xfe",
                &whole.as_bytes()[20..],
            ]
            .concat(),
            "line 2",
        ),
    ] {
        let dir = write_dump(&[ORGS[0], ORGS[1]]);
        std::fs::write(dir.path().join("studentSchoolAssociations.json"), &text).unwrap();
        let mut reader =
            open_json(&spec(dir.path(), Entity::K12Enrollment, "edfi_json", "")).unwrap();
        let mut error = None;
        for b in reader.by_ref() {
            if let Err(e) = b {
                error = Some(e.to_string());
            }
        }
        let error = error.expect("the source fails");
        assert!(error.contains("studentSchoolAssociations.json"), "{error}");
        assert!(error.contains(expect), "{error}");
        assert!(!error.contains("S1"), "{error}");
    }
}

#[test]
fn ds6_reads_demographics_identification_codes_and_indicators() {
    let dir = write_dump(&[
        ORGS[0],
        ORGS[1],
        (
            "students.json",
            r#"[{"studentUniqueId":"S1","birthSexDescriptor":"uri://ed-fi.org/SexDescriptor#Male"}]"#,
        ),
        (
            "studentDemographics.json",
            r#"[{"studentReference":{"studentUniqueId":"S1"},"educationOrganizationReference":{"educationOrganizationId":10},
            "races":[{"raceDescriptor":"uri://ed-fi.org/RaceDescriptor#White"}],
            "economicDisadvantageDescriptor":"uri://ed-fi.org/EconomicDisadvantageDescriptor#Eligible For Free Meals"}]"#,
        ),
        (
            "studentIdentificationCodes.json",
            r#"[{"studentReference":{"studentUniqueId":"S1"},"educationOrganizationReference":{"educationOrganizationId":10},
            "studentIdentificationSystemDescriptor":"uri://ed-fi.org/StudentIdentificationSystemDescriptor#SSN","identificationCode":"219457880"}]"#,
        ),
        (
            "studentEducationOrganizationAssociations.json",
            r#"[{"studentReference":{"studentUniqueId":"S1"},"educationOrganizationReference":{"educationOrganizationId":10},
            "studentIndicators":[{"indicatorName":"homeless","indicator":"Yes"}]}]"#,
        ),
    ]);
    let r = read_all(open_json(&spec(dir.path(), Entity::Person, "edfi_json", "")).unwrap());
    assert!(r.quarantined.is_empty(), "{:?}", r.quarantined);
    let row = &rows(&r.batches)[0];
    let field = |name: &str| {
        let i = Entity::Person
            .fields()
            .iter()
            .position(|f| f.name == name)
            .unwrap();
        row[i].as_str()
    };
    assert_eq!(field("ssn"), "219457880");
    assert_eq!(
        field("sex"),
        "Male",
        "birth sex when the demographics have none"
    );
    assert_eq!(field("economic_disadvantage"), "Yes");
    assert_eq!(field("homeless"), "Yes");
    assert_eq!(field("race_white"), "Yes");
}

/// A 2 GB array of enrollments from a generator: read without holding it (peak memory is
/// checked where the platform reports it).
#[test]
fn a_two_gigabyte_array_streams() {
    const TARGET: u64 = 2 << 30;
    /// `[`, copies of `element` (each ending in a comma) until `TARGET` bytes, `last`, `]`.
    struct Generated {
        element: Vec<u8>,
        last: Vec<u8>,
        pos: usize,
        produced: u64,
        state: u8,
    }
    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let mut n = 0;
            while n < buf.len() {
                let part: &[u8] = match self.state {
                    0 => b"[",
                    1 => &self.element,
                    2 => &self.last,
                    3 => b"]",
                    _ => break,
                };
                let rest = &part[self.pos..];
                let k = rest.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&rest[..k]);
                n += k;
                self.pos += k;
                self.produced += k as u64;
                if self.pos == part.len() {
                    self.pos = 0;
                    if self.state != 1 || self.produced >= TARGET {
                        self.state += 1;
                    }
                }
            }
            Ok(n)
        }
    }
    let padding = "x".repeat(3_000);
    let body = ssa("S1", "uri://ed-fi.org/ExitWithdrawTypeDescriptor#Graduated");
    let element = format!("{{\"_etag\":\"{padding}\",{},\n", &body[1..]);
    let per = element.len() as u64;
    let elements = (TARGET - 1).div_ceil(per);
    let dump = Dump {
        xml: false,
        files: BTreeMap::new(),
        source: DumpSource::Generated(Box::new(move |r| match r {
            Resource::Schools => Some(Input::new(
                "schools.json",
                std::io::Cursor::new(ORGS[1].1.as_bytes().to_vec()),
            )),
            Resource::StudentSchoolAssociations => Some(Input::new(
                "studentSchoolAssociations.json",
                Generated {
                    element: element.clone().into_bytes(),
                    last: body.clone().into_bytes(),
                    pos: 0,
                    produced: 0,
                    state: 0,
                },
            )),
            _ => None,
        })),
    };
    let mut s = spec(
        Path::new("/nonexistent"),
        Entity::K12Enrollment,
        "edfi_json",
        "",
    );
    s.batch_rows = 50_000;
    let mut reader = EdfiReader::new(&s, Config::default(), dump).unwrap();
    let mut accepted = 0;
    for b in reader.by_ref() {
        accepted += b.unwrap().records.num_rows() as u64;
    }
    let summary = reader.summary();
    assert_eq!(summary.counts.quarantined, 0);
    assert_eq!(accepted, elements + 1);
    assert!(reader.bytes_read() > TARGET);
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let peak_kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        assert!(
            peak_kib < 1 << 20,
            "peak memory {peak_kib} KiB for a 2 GiB input"
        );
    }
}

fn grand_bend() -> Option<std::path::PathBuf> {
    let dir = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../shared/reference/ed-fi/sample-xml");
    dir.join("Student.xml").exists().then_some(dir)
}

/// Our own interchange set. Found when the test runs, not when it is compiled: a build cache
/// shared by two checkouts would otherwise keep the path of the one that compiled it.
fn fixture() -> std::path::PathBuf {
    Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("tests/fixtures/edfi_xml")
}

/// The Grand Bend sample's students and organizations with our own enrollment interchange
/// (the sample's StudentEnrollment.xml is not in the reference set).
#[test]
fn grand_bend_sample_xml() {
    let Some(sample) = grand_bend() else {
        eprintln!("shared/reference/ed-fi/sample-xml not present: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for f in ["Student.xml", "EducationOrganization.xml"] {
        std::fs::copy(sample.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(
        fixture().join("GrandBendEnrollment.xml"),
        dir.path().join("StudentEnrollment.xml"),
    )
    .unwrap();
    let r = read_all(open_xml(&spec(dir.path(), Entity::Person, "edfi_xml", "")).unwrap());
    let got = rows(&r.batches);
    assert_eq!(got.len(), 2);
    let names: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str(), r[4].as_str()))
        .collect();
    // Dates are days since 1970: 2014-11-13 and 2008-09-13.
    assert_eq!(
        names,
        [("604821", "Tyrone", "16387"), ("604822", "Lisa", "14135")]
    );
    assert_eq!(r.quarantined.len(), 1, "a student Student.xml lacks");
    assert_eq!(r.quarantined[0].rule, Rule::Reference);
    let k12 = read_all(open_xml(&spec(dir.path(), Entity::K12Enrollment, "edfi_xml", "")).unwrap());
    let enrollments = rows(&k12.batches);
    assert_eq!(enrollments.len(), 2);
    for e in &enrollments {
        assert_eq!(
            e[1], "255901",
            "the school's LEA through its ref= attribute"
        );
        assert_eq!(e[2], "255901001");
    }
}

/// Our own interchange set: every entity from XML.
#[test]
fn the_xml_fixture_reads_every_entity() {
    let dir = &fixture();
    let person = read_all(open_xml(&spec(dir, Entity::Person, "edfi_xml", "")).unwrap());
    assert!(person.quarantined.is_empty(), "{:?}", person.quarantined);
    let p = rows(&person.batches);
    assert_eq!(p.len(), 1);
    assert_eq!(
        p[0],
        [
            "X1",
            "219457881",
            "Maya",
            "Ortiz",
            "13514",
            "Female",
            "Yes",
            "No",
            "No",
            "No",
            "No",
            "Yes",
            "Yes",
            "Yes",
            "No",
            "No",
            "No",
            "No",
            "No",
            "NotMilitaryConnected"
        ]
    );
    let k12 = rows(
        &read_all(open_xml(&spec(dir, Entity::K12Enrollment, "edfi_xml", "")).unwrap()).batches,
    );
    assert_eq!(
        k12,
        [["X1", "900", "9001", "18494", "19873", "01921", "00807"]]
    );
    let cte = rows(
        &read_all(
            open_xml(&spec(
                dir,
                Entity::CteCourseCompletion,
                "edfi_xml",
                "course_cip = \"course_cip.csv\"",
            ))
            .unwrap(),
        )
        .batches,
    );
    // The passed course earned dual credit; the failed one is not read.
    assert_eq!(
        cte,
        [["X1", "9001", "2023", "WELD-1", "48.0508", "DualCredit"]]
    );
    let cred = rows(
        &read_all(open_xml(&spec(dir, Entity::IndustryCredential, "edfi_xml", "")).unwrap())
            .batches,
    );
    assert_eq!(
        cred,
        [[
            "X1",
            "IndustryCertification",
            "AWS Certified Welder",
            "48.0508",
            "19815"
        ]]
    );
}

#[test]
fn options_are_checked() {
    let dir = write_dump(&[ORGS[0], ORGS[1]]);
    for bad in [
        "data_standard = 7",
        "files = { pupils = \"p.json\" }",
        "indicators = { sex = \"S\" }",
        "colour = 1",
    ] {
        let err = open_json(&spec(dir.path(), Entity::K12Enrollment, "edfi_json", bad)).err();
        assert!(
            matches!(err, Some(ConnectorError::Options { .. })),
            "{bad}: {err:?}"
        );
    }
    let err = open_json(&spec(
        dir.path(),
        Entity::CteCourseCompletion,
        "edfi_json",
        "",
    ))
    .err();
    assert!(
        matches!(err, Some(ConnectorError::Options { .. })),
        "course_cip required"
    );
    let err = open_json(&spec(dir.path(), Entity::WageRecord, "edfi_json", "")).err();
    assert!(matches!(
        err,
        Some(ConnectorError::UnsupportedEntity { .. })
    ));
    let err = open_json(&spec(dir.path(), Entity::K12Enrollment, "edfi_json", "")).err();
    assert!(
        matches!(err, Some(ConnectorError::Format { .. })),
        "no enrollments: {err:?}"
    );
}
