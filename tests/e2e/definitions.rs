//! The outcome definitions at their edges, each on a hand-built fixture: a few rows per entity
//! in their canonical (pseudonymized) columns, run through the pipeline's link and measure
//! stages, with the person-level result checked against arithmetic written here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::prelude::{CsvReadOptions, SessionContext};
use p20w_pipeline::config::LinkageSettings;
use p20w_pipeline::measures::{MeasureCatalog, MeasurePlan};
use p20w_pipeline::wages::{self, WageResolution};
use p20w_pipeline::{link, measures, session};
use p20w_schemas::Entity;

/// One student's person-level outcome row, every column as text ("" for null).
type Outcome = HashMap<String, String>;

/// Registers each entity's fixture (CSV text naming some of its canonical columns; the rest
/// are blank), runs link and person outcomes for `cohorts`, and returns `outcomes` by student.
/// Every shipped measure is measured, with the shipped definitions.
async fn outcomes(fixture: &[(Entity, &str)], cohorts: &[i32]) -> BTreeMap<String, Outcome> {
    outcomes_and_wages(fixture, cohorts, &shipped_plan())
        .await
        .0
}

fn shipped_plan() -> MeasurePlan {
    let catalog = MeasureCatalog::shipped();
    let all: Vec<String> = catalog.datasets().iter().map(|d| d.to_string()).collect();
    catalog.select(&all).unwrap()
}

/// [`outcomes`] under `plan`, with what the wage resolution rule did.
async fn outcomes_and_wages(
    fixture: &[(Entity, &str)],
    cohorts: &[i32],
    plan: &MeasurePlan,
) -> (BTreeMap<String, Outcome>, WageResolution) {
    measured(fixture, cohorts, plan).await.unwrap()
}

/// [`outcomes_and_wages`], or the error the measure stage stopped with.
async fn measured(
    fixture: &[(Entity, &str)],
    cohorts: &[i32],
    plan: &MeasurePlan,
) -> Result<(BTreeMap<String, Outcome>, WageResolution), p20w_pipeline::RunError> {
    let dir = tempfile::tempdir().unwrap();
    let ctx = session::new_session(1 << 30, &dir.path().join("spill")).unwrap();
    for entity in Entity::ALL {
        let canonical = entity.canonical_schema();
        // Fixtures leave out what the rule under test does not read, required or not.
        let schema = Schema::new(
            canonical
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        );
        let texts: Vec<&str> = fixture
            .iter()
            .filter(|(e, _)| *e == entity)
            .map(|(_, t)| *t)
            .collect();
        if texts.is_empty() {
            let empty = RecordBatch::new_empty(Arc::new(schema));
            ctx.register_batch(entity.name(), empty).unwrap();
            continue;
        }
        let path = dir.path().join(format!("{}.csv", entity.name()));
        let mut w = csv::Writer::from_path(&path).unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        w.write_record(&names).unwrap();
        for text in texts {
            let mut r = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(text.as_bytes());
            let header = r.headers().unwrap().clone();
            for column in &header {
                assert!(
                    names.contains(&column),
                    "{}: no column {column}",
                    entity.name()
                );
            }
            for rec in r.records() {
                let rec = rec.unwrap();
                let row: Vec<&str> = names
                    .iter()
                    .map(|n| header.iter().position(|h| h == *n).map_or("", |i| &rec[i]))
                    .collect();
                w.write_record(&row).unwrap();
            }
        }
        w.flush().unwrap();
        // CSV has no binary type: such columns (the linkage encodings, always blank here) are
        // read as text and cast back.
        let text_schema = Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| match f.data_type() {
                    DataType::Binary => f.as_ref().clone().with_data_type(DataType::Utf8),
                    _ => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
        );
        let options = CsvReadOptions::new().schema(&text_schema).has_header(true);
        let text_table = format!("{}_text", entity.name());
        ctx.register_csv(&text_table, path.to_str().unwrap(), options)
            .await
            .unwrap();
        let columns: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Binary => format!("CAST(\"{0}\" AS BYTEA) AS \"{0}\"", f.name()),
                _ => format!("\"{}\"", f.name()),
            })
            .collect();
        ctx.sql(&format!(
            "CREATE VIEW {} AS SELECT {} FROM {text_table}",
            entity.name(),
            columns.join(", ")
        ))
        .await
        .unwrap();
    }
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let resolution = wages::resolve_wages(&ctx, &work).await.unwrap();
    // Fixtures carry no names: the rules under test are the deterministic ones.
    let deterministic = LinkageSettings {
        fuzzy: false,
        threshold: None,
    };
    link::link(&ctx, &work, &deterministic).await.unwrap();
    measures::person_outcomes(&ctx, &work, cohorts, plan).await?;
    Ok((read_outcomes(&ctx).await, resolution))
}

async fn read_outcomes(ctx: &SessionContext) -> BTreeMap<String, Outcome> {
    let batches = ctx
        .sql("SELECT * FROM outcomes")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for b in batches {
        let columns: Vec<(String, Arc<dyn Array>)> = b
            .schema()
            .fields()
            .iter()
            .zip(b.columns())
            .map(|(f, c)| (f.name().clone(), cast(c, &DataType::Utf8).unwrap()))
            .collect();
        for i in 0..b.num_rows() {
            let row: Outcome = columns
                .iter()
                .map(|(n, c)| {
                    let c = c.as_string::<i32>();
                    let v = if c.is_null(i) { "" } else { c.value(i) };
                    (n.clone(), v.to_string())
                })
                .collect();
            assert!(
                out.insert(row["student_pid"].clone(), row).is_none(),
                "one outcome row per student"
            );
        }
    }
    out
}

/// One person row per student, every demographic reported.
fn persons(students: &[&str]) -> String {
    let mut s = String::from(
        "state_student_id_pid,sex,hispanic_or_latino,race_american_indian_or_alaska_native,\
         race_asian,race_black_or_african_american,race_native_hawaiian_or_other_pacific_islander,\
         race_white,disability\n",
    );
    for id in students {
        s.push_str(&format!("{id},Female,No,No,No,No,No,Yes,No\n"));
    }
    s
}

/// A graduation on 2022-05-30 (cohort 2022) for each student.
fn graduations(students: &[&str]) -> String {
    let mut s = String::from("state_student_id_pid,lea_id,entry_date,exit_date,exit_type\n");
    for id in students {
        s.push_str(&format!("{id},LEA1,2018-08-20,2022-05-30,01921\n"));
    }
    s
}

/// Two distinct courses in Carpentry (46.0201) for each student: a concentrator once exited.
fn two_courses(students: &[&str]) -> String {
    let mut s = String::from("state_student_id_pid,school_year,course_id,cip_code\n");
    for id in students {
        s.push_str(&format!(
            "{id},2020,CARP-1,46.0201\n{id},2021,CARP-2,46.0201\n"
        ));
    }
    s
}

/// [`outcomes`] of `students` graduating 2022-05-30 with two Carpentry courses each, and the
/// `extra` records.
async fn graduates_with(students: &[&str], extra: &[(Entity, &str)]) -> BTreeMap<String, Outcome> {
    let (p, g, c) = (
        persons(students),
        graduations(students),
        two_courses(students),
    );
    let mut fixture = vec![
        (Entity::Person, p.as_str()),
        (Entity::K12Enrollment, g.as_str()),
        (Entity::CteCourseCompletion, c.as_str()),
    ];
    fixture.extend_from_slice(extra);
    outcomes(&fixture, &[2022]).await
}

#[tokio::test]
async fn a_retaken_course_counts_once() {
    let students = ["retake_only", "retake_plus_one", "ranked"];
    let courses = "state_student_id_pid,school_year,course_id,cip_code
        retake_only,2021,CARP-1,46.0201
        retake_only,2022,CARP-1,46.0201
        retake_plus_one,2020,CARP-1,46.0201
        retake_plus_one,2021,CARP-1,46.0201
        retake_plus_one,2022,CARP-2,46.0201
        ranked,2019,CARP-1,46.0201
        ranked,2020,CARP-1,46.0201
        ranked,2021,CARP-1,46.0201
        ranked,2022,CARP-2,46.0201
        ranked,2020,BUS-1,52.0101
        ranked,2021,BUS-2,52.0101
        ranked,2022,BUS-3,52.0101";
    let got = outcomes(
        &[
            (Entity::Person, &persons(&students)),
            (Entity::K12Enrollment, &graduations(&students)),
            (Entity::CteCourseCompletion, courses),
        ],
        &[2022],
    )
    .await;
    // retake_only: 2 rows of CARP-1 = 1 distinct course < 2 → not a concentrator.
    assert!(!got.contains_key("retake_only"), "{got:?}");
    // retake_plus_one: 2 rows of CARP-1 + 1 of CARP-2 = 2 distinct courses → concentrator.
    assert_eq!(got["retake_plus_one"]["program"], "46.0201");
    // ranked: Carpentry has 4 rows but 2 distinct courses; Business 3 rows, 3 distinct. By
    // rows Carpentry would win (4 > 3); by distinct courses Business does (3 > 2).
    assert_eq!(got["ranked"]["program"], "52.0101");
    assert_eq!(got.len(), 2);
}

#[tokio::test]
async fn the_exit_is_the_last_enrollments() {
    let students = [
        "dropout_reentry_transfer",
        "dropout_reentry_graduate",
        "dropout_reentry_open",
        "dropout_reentry_died",
        "concurrent_cte_center",
        "same_day_two_districts",
        "plain_dropout",
    ];
    let enrollments = "state_student_id_pid,lea_id,entry_date,exit_date,exit_type
        dropout_reentry_transfer,LEA1,2018-08-20,2021-03-01,01927
        dropout_reentry_transfer,LEA1,2021-09-01,2022-01-15,01909
        dropout_reentry_graduate,LEA1,2018-08-20,2021-03-01,01927
        dropout_reentry_graduate,LEA2,2021-09-01,2022-05-30,01921
        dropout_reentry_open,LEA1,2018-08-20,2021-03-01,01927
        dropout_reentry_open,LEA1,2021-09-01,,
        dropout_reentry_died,LEA1,2018-08-20,2021-03-01,01927
        dropout_reentry_died,LEA1,2021-09-01,2021-12-01,73064
        concurrent_cte_center,LEA1,2018-08-20,2022-05-30,01921
        concurrent_cte_center,LEA9,2020-08-25,2021-06-05,01908
        same_day_two_districts,LEA1,2018-08-20,2022-05-30,01908
        same_day_two_districts,LEA2,2018-08-20,2022-05-30,01921
        plain_dropout,LEA1,2018-08-20,2021-03-01,01927";
    let got = outcomes(
        &[
            (Entity::Person, &persons(&students)),
            (Entity::K12Enrollment, enrollments),
            (Entity::CteCourseCompletion, &two_courses(&students)),
        ],
        &[2021, 2022],
    )
    .await;
    let cohort = |s: &str| {
        got.get(s)
            .map(|o| (o["cohort"].as_str(), o["exit_date"].as_str()))
    };
    // Dropout on 2021-03-01 (cohort 2021), but the last enrollment ends in a transfer out of
    // state: no exit, in neither cohort. Likewise a re-entry still open, and a death.
    assert_eq!(cohort("dropout_reentry_transfer"), None);
    assert_eq!(cohort("dropout_reentry_open"), None);
    assert_eq!(cohort("dropout_reentry_died"), None);
    // The re-entry ends in graduation on 2022-05-30: cohort 2022, not the dropout's 2021.
    assert_eq!(
        cohort("dropout_reentry_graduate"),
        Some(("2022", "2022-05-30"))
    );
    // The CTE center enrollment started later (2020-08-25 > 2018-08-20) and ended earlier in a
    // transfer; the home enrollment ends last (2022-05-30 > 2021-06-05), in graduation.
    assert_eq!(
        cohort("concurrent_cte_center"),
        Some(("2022", "2022-05-30"))
    );
    // Two districts close the same dates, one with a transfer, one with a graduation: the
    // completion wins.
    assert_eq!(
        cohort("same_day_two_districts"),
        Some(("2022", "2022-05-30"))
    );
    // A dropout with nothing after it is an exit: 2021-03-01 is before July 1, cohort 2021.
    assert_eq!(cohort("plain_dropout"), Some(("2021", "2021-03-01")));
    assert_eq!(got.len(), 4);
}

const PERSON_ROWS: &str = "state_student_id_pid,sex,hispanic_or_latino,race_american_indian_or_alaska_native,race_asian,race_black_or_african_american,race_native_hawaiian_or_other_pacific_islander,race_white,disability,economic_disadvantage,homeless,english_learner,military_connected,out_of_workforce
    three_districts,Female,No,No,No,No,No,Yes,No,,,No,NationalGuardOrReserve,
    three_districts,Female,Yes,No,No,No,No,Yes,Yes,No,,No,NotMilitaryConnected,
    three_districts,Male,No,No,No,No,No,Yes,,,,NotReported,,Unknown
    tie,Female,No,No,Yes,No,No,No,No,No,No,No,NotMilitaryConnected,No
    tie,Male,No,No,No,No,No,Yes,No,No,No,No,ActiveDuty,No
    unreported_loses,NotSelected,NotSelected,NotSelected,NotSelected,NotSelected,NotSelected,NotSelected,,,,,,
    unreported_loses,NotSelected,NotSelected,NotSelected,NotSelected,NotSelected,NotSelected,NotSelected,,,,,,
    unreported_loses,Male,No,No,No,Yes,No,No,,,,,,";

#[tokio::test]
async fn person_rows_of_one_student_combine_whatever_their_order() {
    let students = ["three_districts", "tie", "unreported_loses"];
    let run = |persons: String| async move {
        outcomes(
            &[
                (Entity::Person, persons.as_str()),
                (Entity::K12Enrollment, &graduations(&students)),
                (Entity::CteCourseCompletion, &two_courses(&students)),
            ],
            &[2022],
        )
        .await
    };
    let got = run(PERSON_ROWS.to_string()).await;
    let dims = |s: &str, names: &[&str]| -> Vec<String> {
        names.iter().map(|n| got[s][*n].clone()).collect()
    };
    // three_districts — sex: Female on 2 rows, Male on 1 → Female. Race: White, Hispanic
    // (Hispanic of any race), White → White 2 votes to 1. Disability: No, Yes, blank → Yes
    // (ever). Economic disadvantage: blank, No, blank → No. Homeless: blank on all →
    // NotReported. English learner: No, No, NotReported → No. Military: NationalGuardOrReserve,
    // NotMilitaryConnected, blank → NationalGuardOrReserve (a reported connection beats the
    // non-member code). Out of workforce: blank, blank, Unknown → Unknown.
    // Carpentry (46.0201) is nontraditional for Female: Underrepresented.
    assert_eq!(
        dims(
            "three_districts",
            &[
                "sex",
                "race_ethnicity",
                "disability",
                "economic_disadvantage",
                "homeless",
                "english_learner",
                "military_connected",
                "out_of_workforce",
                "nontraditional",
            ]
        ),
        [
            "Female",
            "White",
            "Yes",
            "No",
            "NotReported",
            "No",
            "NationalGuardOrReserve",
            "Unknown",
            "Underrepresented",
        ]
    );
    // tie — sex: Female 1, Male 1 → no majority → NotSelected (so nontraditional NotReported).
    // Race: Asian 1, White 1 → RaceAndEthnicityUnknown. Military: ActiveDuty on one row →
    // ActiveDuty (ever).
    assert_eq!(
        dims(
            "tie",
            &[
                "sex",
                "race_ethnicity",
                "military_connected",
                "nontraditional"
            ]
        ),
        [
            "NotSelected",
            "RaceAndEthnicityUnknown",
            "ActiveDuty",
            "NotReported"
        ]
    );
    // unreported_loses — sex: NotSelected ×2 cast no vote, Male 1 → Male. Race: two rows with
    // nothing selected, one Black → BlackOrAfricanAmerican. Nothing else reported on any row.
    assert_eq!(
        dims(
            "unreported_loses",
            &[
                "sex",
                "race_ethnicity",
                "disability",
                "out_of_workforce",
                "military_connected"
            ]
        ),
        [
            "Male",
            "BlackOrAfricanAmerican",
            "NotReported",
            "Unknown",
            "Unknown"
        ]
    );
    // The same rows in the opposite order give the same students.
    let mut lines: Vec<&str> = PERSON_ROWS.lines().collect();
    lines[1..].reverse();
    let reversed = run(lines.join("\n")).await;
    assert_eq!(got, reversed);
}

#[tokio::test]
async fn observable_wage_quarters_come_from_the_files_coverage() {
    let students = [
        "exit_2021q1",
        "exit_2021q2",
        "exit_2021q4",
        "exit_2022q2",
        "exit_2022q3",
    ];
    let persons = "state_student_id_pid,ssn_pid,sex
        exit_2021q1,ssn-a,Female
        exit_2021q2,ssn-e,Female
        exit_2021q4,ssn-b,Female
        exit_2022q2,ssn-c,Female
        exit_2022q3,ssn-d,Female";
    let enrollments = "state_student_id_pid,lea_id,entry_date,exit_date,exit_type
        exit_2021q1,LEA1,2018-08-20,2021-03-01,01927
        exit_2021q2,LEA1,2018-08-20,2021-05-28,01921
        exit_2021q4,LEA1,2018-08-20,2021-11-10,01927
        exit_2022q2,LEA1,2018-08-20,2022-05-30,01921
        exit_2022q3,LEA1,2018-08-20,2022-08-15,01922";
    // Four other workers in each quarter of 2022; one record in 2023Q1 (its reports are
    // still arriving) and one mis-dated 2099Q1 record that got past ingest; the file starts
    // with one record in 2021Q4 (a file matched to students grows as they start work).
    let mut wages = String::from("ssn_pid,year,quarter,wages\nssn-e,2021,4,150000\n");
    for q in 1..=4 {
        for w in 1..=4 {
            wages.push_str(&format!("worker-{w},2022,{q},500000\n"));
        }
    }
    // exit_2021q4's own wages: a fifth 2022Q2 record.
    wages.push_str("ssn-b,2022,2,310000\n");
    wages.push_str("ssn-d,2023,1,420000\n");
    wages.push_str("worker-1,2099,1,100\n");
    let got = outcomes(
        &[
            (Entity::Person, persons),
            (Entity::K12Enrollment, enrollments),
            (Entity::CteCourseCompletion, &two_courses(&students)),
            (Entity::WageRecord, &wages),
        ],
        &[2021, 2022, 2023],
    )
    .await;
    // Records per quarter: 2021Q4 1, 2022Q1 4, 2022Q2 5, 2022Q3 4, 2022Q4 4, 2023Q1 1,
    // 2099Q1 1. Sorted: 1 1 1 4 4 4 5; median = 4; the last quarter with at least 0.5 × 4 = 2
    // records is 2022Q4, the last full quarter. Observable: the quarters with records up to
    // it, 2021Q4–2022Q4; not 2023Q1 or 2099Q1 after it, nor 2021Q3 before the file. (The old
    // rule, the file's last quarter, made everything up to 2099Q1 observable.)
    let flags = |s: &str| {
        let o = &got[s];
        (
            o["cohort"].as_str(),
            o["wage_observable_q2"].as_str(),
            o["employed_q2"].as_str(),
            o["earnings_q2_cents"].as_str(),
        )
    };
    // Exit 2021-03-01 (2021Q1): E + 2 = 2021Q3, before the file's first quarter.
    assert_eq!(flags("exit_2021q1"), ("2021", "false", "false", ""));
    // Exit 2021-05-28 (2021Q2): E + 2 = 2021Q4, thin (1 record) but before the last full
    // quarter: observable, $1,500.00.
    assert_eq!(flags("exit_2021q2"), ("2021", "true", "true", "150000"));
    // Exit 2021-11-10 (2021Q4): E + 2 = 2022Q2, observable, $3,100.00 of wages.
    assert_eq!(flags("exit_2021q4"), ("2022", "true", "true", "310000"));
    // Exit 2022-05-30 (2022Q2): E + 2 = 2022Q4, observable, no wages: not employed.
    assert_eq!(flags("exit_2022q2"), ("2022", "true", "false", ""));
    // Exit 2022-08-15 (2022Q3, cohort 2023): E + 2 = 2023Q1 is after the last full quarter:
    // not observable, even though this student's own record is there.
    assert_eq!(flags("exit_2022q3"), ("2023", "false", "true", "420000"));
}

#[tokio::test]
async fn a_concentrator_without_a_person_row_still_counts() {
    // Two graduating concentrators; only `reported` has a person row (the other's was, say,
    // quarantined). Both are in cohort 2022: 2 concentrators, not 1.
    let got = outcomes(
        &[
            (Entity::Person, &persons(&["reported"])),
            (
                Entity::K12Enrollment,
                &graduations(&["reported", "no_person_row"]),
            ),
            (
                Entity::CteCourseCompletion,
                &two_courses(&["reported", "no_person_row"]),
            ),
        ],
        &[2022],
    )
    .await;
    assert_eq!(got.len(), 2, "{got:?}");
    let lost = &got["no_person_row"];
    assert_eq!(lost["sex"], "NotSelected");
    assert_eq!(lost["race_ethnicity"], "RaceAndEthnicityUnknown");
    assert_eq!(lost["disability"], "NotReported");
    assert_eq!(lost["nontraditional"], "NotReported");
    assert_eq!(got["reported"]["sex"], "Female");
    // Carpentry is nontraditional for women.
    assert_eq!(got["reported"]["nontraditional"], "Underrepresented");
}

/// Resent, late and amended wage records: one value per person, employer and quarter, never
/// counted twice. Each student graduates 2022-05-30, so the quarter measured is 2022Q4.
#[tokio::test]
async fn resent_late_and_amended_wages_are_counted_once() {
    let students = [
        "resent", "late", "amended", "tied", "untyped", "undated", "clawback",
    ];
    let mut persons = String::from("state_student_id_pid,ssn_pid,sex\n");
    for s in students {
        persons.push_str(&format!("{s},ssn-{s},Female\n"));
    }
    let mut wages = String::from(
        "ssn_pid,employer_fein,employer_ui_account,year,quarter,wages,report_type,received_year,received_quarter\n",
    );
    for q in [(2022, 1), (2022, 2), (2022, 3), (2022, 4), (2023, 1)] {
        for w in 1..=4 {
            wages.push_str(&format!(
                "worker-{w},900000001,UI9,{},{},500000,Original,,\n",
                q.0, q.1
            ));
        }
    }
    // Two records without a usable SSN, alike: not resolved, each counts.
    wages.push_str(",900000001,UI9,2022,1,100,Original,,\n,900000001,UI9,2022,1,100,Original,,\n");
    let rows = [
        // The same original report twice: $3,000.
        "ssn-resent,100000001,UI1,2022,4,300000,Original,,",
        "ssn-resent,100000001,UI1,2022,4,300000,Original,,",
        // $2,000 reported, $500 more in a late report, and $100 from a second employer.
        "ssn-late,100000001,UI1,2022,4,200000,Original,,",
        "ssn-late,100000001,UI1,2022,4,50000,Supplemental,2023,1",
        "ssn-late,100000002,UI2,2022,4,10000,Original,,",
        // Restated twice: the later amendment ($900) holds, the resent original adds nothing.
        "ssn-amended,100000001,UI1,2022,4,100000,Original,,",
        "ssn-amended,100000001,UI1,2022,4,100000,Original,,",
        "ssn-amended,100000001,UI1,2022,4,120000,Amendment,2023,1",
        "ssn-amended,100000001,UI1,2022,4,90000,Amendment,2023,2",
        // Two amendments received in one quarter: the larger ($800) holds.
        "ssn-tied,100000001,UI1,2022,4,100000,Original,,",
        "ssn-tied,100000001,UI1,2022,4,70000,Amendment,2023,1",
        "ssn-tied,100000001,UI1,2022,4,80000,Amendment,2023,1",
        // No report type is an original; a supplemental resent a quarter later counts once.
        "ssn-untyped,100000001,UI1,2022,4,40000,,,",
        "ssn-untyped,100000001,UI1,2022,4,10000,Supplemental,2023,1",
        "ssn-untyped,100000001,UI1,2022,4,10000,Supplemental,2023,2",
        // An amendment received at an unknown time is older than a dated one: $30 holds.
        "ssn-undated,100000001,UI1,2022,4,1000,Original,,",
        "ssn-undated,100000001,UI1,2022,4,5000,Amendment,,",
        "ssn-undated,100000001,UI1,2022,4,3000,Amendment,2023,1",
        // The latest amendment claws back $200 at one employer; $300 at another: $100 in all.
        "ssn-clawback,100000001,UI1,2022,4,50000,Original,,",
        "ssn-clawback,100000001,UI1,2022,4,40000,Amendment,2023,1",
        "ssn-clawback,100000001,UI1,2022,4,-20000,Amendment,2023,2",
        "ssn-clawback,100000002,UI2,2022,4,30000,Original,,",
    ];
    for r in rows {
        wages.push_str(r);
        wages.push('\n');
    }
    let (got, resolution) = outcomes_and_wages(
        &[
            (Entity::Person, &persons),
            (Entity::K12Enrollment, &graduations(&students)),
            (Entity::CteCourseCompletion, &two_courses(&students)),
            (Entity::WageRecord, &wages),
        ],
        &[2022],
        &shipped_plan(),
    )
    .await;
    let earnings = |s: &str| got[s]["earnings_q2_cents"].clone();
    assert_eq!(earnings("resent"), "300000");
    assert_eq!(earnings("late"), "260000");
    assert_eq!(earnings("amended"), "90000");
    assert_eq!(earnings("tied"), "80000");
    assert_eq!(earnings("untyped"), "50000");
    assert_eq!(earnings("undated"), "3000");
    assert_eq!(earnings("clawback"), "10000");
    assert_eq!(
        resolution,
        WageResolution {
            records: 20 + 2 + rows.len() as u64,
            // 20 worker records, 2 without an SSN, 9 resolved student values
            resolved: 31,
            resends_dropped: 3,
            superseded_by_amendment: 8,
            summed_into_others: 2,
            without_ssn: 2,
        }
    );
}

/// The shipped measures with the job's `[definitions]` table and measure files in place.
fn plan_with(definitions: &str, files: &[(&str, String)]) -> MeasurePlan {
    let table: toml::Table = toml::from_str(definitions).unwrap();
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(f, t)| (f.to_string(), t.clone()))
        .collect();
    let catalog = MeasureCatalog::load(&files, &table, "job.toml").unwrap();
    let all: Vec<String> = catalog.datasets().iter().map(|d| d.to_string()).collect();
    catalog.select(&all).unwrap()
}

const SHIPPED_PS: &str = include_str!("../../pipeline/measures/postsecondary_enrollment.toml");

#[tokio::test]
async fn concentrators_and_the_fall_census_follow_the_definitions() {
    let students = [
        "two_courses",
        "three_courses",
        "exit_on_census",
        "exit_day_after",
    ];
    let persons = persons(&students);
    let enrollments = "state_student_id_pid,lea_id,entry_date,exit_date,exit_type
        two_courses,LEA1,2018-08-20,2022-05-30,01921
        three_courses,LEA1,2018-08-20,2022-05-30,01921
        exit_on_census,LEA1,2018-08-20,2022-10-01,01927
        exit_day_after,LEA1,2018-08-20,2022-10-02,01927";
    let courses = "state_student_id_pid,school_year,course_id,cip_code
        two_courses,2021,CARP-1,46.0201
        two_courses,2022,CARP-2,46.0201
        three_courses,2020,CARP-1,46.0201
        three_courses,2021,CARP-2,46.0201
        three_courses,2022,CARP-3,46.0201
        exit_on_census,2021,CARP-1,46.0201
        exit_on_census,2022,CARP-2,46.0201
        exit_on_census,2022,CARP-3,46.0201
        exit_day_after,2021,CARP-1,46.0201
        exit_day_after,2022,CARP-2,46.0201
        exit_day_after,2022,CARP-3,46.0201";
    let spells =
        "institution_id,institution_student_id_pid,state_student_id_pid,begin_date,end_date
        U1,u-two,two_courses,2022-09-20,2022-12-15
        U1,u-two,two_courses,2023-08-28,2023-12-10
        U1,u-three,three_courses,2022-08-25,2022-09-30
        U1,u-census,exit_on_census,2022-09-01,2022-10-05
        U1,u-after,exit_day_after,2022-09-01,2022-10-05";
    let fixture = [
        (Entity::Person, persons.as_str()),
        (Entity::K12Enrollment, enrollments),
        (Entity::CteCourseCompletion, courses),
        (Entity::PsEnrollment, spells),
    ];
    let cohorts = [2022, 2023];
    let flag = |got: &BTreeMap<String, Outcome>, s: &str, column: &str| {
        got.get(s).and_then(|o| o.get(column).cloned())
    };

    // Shipped: two courses make a concentrator; the census day is October 1.
    let (got, _) = outcomes_and_wages(&fixture, &cohorts, &shipped_plan()).await;
    assert_eq!(got.len(), 4);
    // Graduated 2022-05-30: the first fall census on or after is 2022-10-01, inside
    // 2022-09-20..2022-12-15.
    assert_eq!(
        flag(&got, "two_courses", "ps_enrolled_fall1").as_deref(),
        Some("true")
    );
    // 2022-10-01 is after the spell's end, 2022-09-30.
    assert_eq!(
        flag(&got, "three_courses", "ps_enrolled_fall1").as_deref(),
        Some("false")
    );
    // An exit on the census day is counted that day (2022-10-01 in 2022-09-01..2022-10-05);
    // an exit the day after waits for 2023-10-01, when the spell has ended. Both exits are
    // after July 1, so cohort 2023.
    assert_eq!(
        flag(&got, "exit_on_census", "cohort").as_deref(),
        Some("2023")
    );
    assert_eq!(
        flag(&got, "exit_on_census", "ps_enrolled_fall1").as_deref(),
        Some("true")
    );
    assert_eq!(
        flag(&got, "exit_day_after", "ps_enrolled_fall1").as_deref(),
        Some("false")
    );

    // The state's definitions: three courses, census September 15.
    let plan = plan_with("concentrator_min_courses = 3\nfall_census = \"09-15\"", &[]);
    let (got, _) = outcomes_and_wages(&fixture, &cohorts, &plan).await;
    assert_eq!(
        flag(&got, "two_courses", "cohort"),
        None,
        "two courses: no longer a concentrator"
    );
    // 2022-09-15 is inside 2022-08-25..2022-09-30.
    assert_eq!(
        flag(&got, "three_courses", "ps_enrolled_fall1").as_deref(),
        Some("true")
    );
    // Exits on 2022-10-01 and 2022-10-02 are both after September 15: the census is
    // 2023-09-15, after either spell.
    assert_eq!(
        flag(&got, "exit_on_census", "ps_enrolled_fall1").as_deref(),
        Some("false")
    );
    assert_eq!(got.len(), 3);

    // A state's measure file counting the second fall: two_courses's census is 2023-10-01,
    // inside 2023-08-28..2023-12-10; nobody else is enrolled a year on.
    let second_fall = SHIPPED_PS.replace("fall_after_exit = 1", "fall_after_exit = 2");
    let plan = plan_with("", &[("state/ps.toml", second_fall)]);
    let (got, _) = outcomes_and_wages(&fixture, &cohorts, &plan).await;
    assert_eq!(
        flag(&got, "two_courses", "ps_enrolled_fall2").as_deref(),
        Some("true")
    );
    assert_eq!(
        flag(&got, "three_courses", "ps_enrolled_fall2").as_deref(),
        Some("false")
    );
    // The state's file replaced the shipped one: the table counts the second fall (other
    // shipped measures still read the first).
    let tables = plan.cell_tables();
    let ps = tables
        .iter()
        .find(|t| t.name == "postsecondary_enrollment")
        .unwrap();
    assert_eq!(ps.counts[1].any_of, ["ps_enrolled_fall2"]);
}

#[tokio::test]
async fn the_fourth_quarter_after_exit_counts_from_the_exit_quarter() {
    let students = [
        "leap_day",
        "last_day_of_q1",
        "first_day_of_q2",
        "zero_wages",
        "negative_wages",
        "no_wage_match",
    ];
    let mut persons = String::from("state_student_id_pid,ssn_pid,sex\n");
    for s in students {
        persons.push_str(&format!("{s},ssn-{s},Female\n"));
    }
    let enrollments = "state_student_id_pid,lea_id,entry_date,exit_date,exit_type
        leap_day,LEA1,2020-08-20,2024-02-29,01927
        last_day_of_q1,LEA1,2020-08-20,2024-03-31,01927
        first_day_of_q2,LEA1,2020-08-20,2024-04-01,01927
        zero_wages,LEA1,2020-08-20,2024-05-30,01921
        negative_wages,LEA1,2020-08-20,2024-05-30,01921
        no_wage_match,LEA1,2020-08-20,2024-05-30,01921";
    // Other workers fill every quarter 2024Q1..2025Q4, so each is observable.
    let mut wages = String::from("ssn_pid,employer_fein,year,quarter,wages\n");
    for year in [2024, 2025] {
        for q in 1..=4 {
            for w in 1..=3 {
                wages.push_str(&format!("worker-{w},900000001,{year},{q},500000\n"));
            }
        }
    }
    let rows = [
        // 2024-02-29 is in 2024Q1: E + 4 = 2025Q1 ($1,000); the 2025Q2 wages are E + 5.
        "ssn-leap_day,100000001,2025,1,100000",
        "ssn-leap_day,100000001,2025,2,999900",
        // 2024-03-31, the last day of 2024Q1: E + 4 = 2025Q1 as well ($1,200 + $300 from a
        // second employer).
        "ssn-last_day_of_q1,100000001,2025,1,120000",
        "ssn-last_day_of_q1,100000002,2025,1,30000",
        // 2024-04-01, the first day of 2024Q2: E + 4 = 2025Q2; its 2025Q1 wages are E + 3.
        "ssn-first_day_of_q2,100000001,2025,1,700000",
        "ssn-first_day_of_q2,100000001,2025,2,80000",
        // Graduated 2024-05-30 (2024Q2): E + 4 = 2025Q2. $0 reported is no employment, and
        // −$100 + $50 = −$50 is none either.
        "ssn-zero_wages,100000001,2025,2,0",
        "ssn-negative_wages,100000001,2025,2,-10000",
        "ssn-negative_wages,100000002,2025,2,5000",
    ];
    for r in rows {
        wages.push_str(r);
        wages.push('\n');
    }
    let got = outcomes(
        &[
            (Entity::Person, &persons),
            (Entity::K12Enrollment, enrollments),
            (Entity::CteCourseCompletion, &two_courses(&students)),
            (Entity::WageRecord, &wages),
        ],
        &[2024],
    )
    .await;
    let q4 = |s: &str| {
        let o = &got[s];
        (
            o["wage_observable_q4"].as_str(),
            o["employed_q4"].as_str(),
            o["earnings_q4_cents"].as_str(),
        )
    };
    assert_eq!(q4("leap_day"), ("true", "true", "100000"));
    assert_eq!(q4("last_day_of_q1"), ("true", "true", "150000"));
    assert_eq!(q4("first_day_of_q2"), ("true", "true", "80000"));
    assert_eq!(q4("zero_wages"), ("true", "false", ""));
    assert_eq!(q4("negative_wages"), ("true", "false", ""));
    // A concentrator with no wage record at all is observable and not employed.
    assert_eq!(q4("no_wage_match"), ("true", "false", ""));
    // The second quarter after the leap-day exit is 2024Q3, where it has no wages.
    assert_eq!(got["leap_day"]["employed_q2"], "false");
}

#[tokio::test]
async fn perkins_indicators_count_by_the_exit_date_and_the_second_quarter() {
    let students = [
        "cred_on_graduation_day",
        "cred_day_after",
        "dropout_with_cred",
        "wbl_before",
        "wbl_after",
        "spell_into_q4",
        "spell_ends_in_q3",
    ];
    let mut persons = String::from("state_student_id_pid,sex\n");
    for s in students {
        persons.push_str(&format!("{s},Female\n"));
    }
    let mut enrollments = graduations(&students);
    // A dropout: exit type 01927 on 2022-03-01, cohort 2022 but no graduate.
    enrollments = enrollments.replace(
        "dropout_with_cred,LEA1,2018-08-20,2022-05-30,01921",
        "dropout_with_cred,LEA1,2018-08-20,2022-03-01,01927",
    );
    let courses = two_courses(&students);
    let credentials = "state_student_id_pid,credential_type,award_date
        cred_on_graduation_day,IndustryCertification,2022-05-30
        cred_day_after,IndustryCertification,2022-05-31
        dropout_with_cred,OccupationalLicense,2022-01-10";
    let wbl = "state_student_id_pid,wbl_type,start_date
        wbl_before,PaidInternship,2021-09-10
        wbl_after,PaidInternship,2022-06-15";
    // Graduated 2022-05-30, in 2022Q2: the second quarter after is 2022Q4 (October-December).
    let spells =
        "institution_id,institution_student_id_pid,state_student_id_pid,begin_date,end_date
        U1,u-1,spell_into_q4,2022-12-31,2023-05-10
        U1,u-2,spell_ends_in_q3,2022-08-20,2022-09-30";
    let got = outcomes(
        &[
            (Entity::Person, persons.as_str()),
            (Entity::K12Enrollment, enrollments.as_str()),
            (Entity::CteCourseCompletion, courses.as_str()),
            (Entity::IndustryCredential, credentials),
            (Entity::WorkBasedLearning, wbl),
            (Entity::PsEnrollment, spells),
        ],
        &[2022],
    )
    .await;
    let flags = |s: &str, columns: &[&str]| -> Vec<String> {
        columns.iter().map(|c| got[s][*c].clone()).collect()
    };
    let graduate_credential = ["graduated", "credential_by_exit"];
    // 5S1: a credential awarded on the graduation day counts; the day after does not.
    assert_eq!(
        flags("cred_on_graduation_day", &graduate_credential),
        ["true", "true"]
    );
    assert_eq!(
        flags("cred_day_after", &graduate_credential),
        ["true", "false"]
    );
    // A dropout's credential is by its exit, but a dropout is not in the graduates' population.
    assert_eq!(
        flags("dropout_with_cred", &graduate_credential),
        ["false", "true"]
    );
    // 5S3: work-based learning begun before graduation counts, begun after it does not.
    assert_eq!(flags("wbl_before", &["wbl_by_exit"]), ["true"]);
    assert_eq!(flags("wbl_after", &["wbl_by_exit"]), ["false"]);
    // 3S1: a spell beginning on 2022-12-31 overlaps 2022Q4; one ending 2022-09-30 does not.
    assert_eq!(flags("spell_into_q4", &["ps_enrolled_q2"]), ["true"]);
    assert_eq!(flags("spell_ends_in_q3", &["ps_enrolled_q2"]), ["false"]);
}

#[tokio::test]
async fn enrollment_within_two_years_counts_from_the_exit_day() {
    let students = [
        "begins_day_730",
        "begins_day_731",
        "ends_before_exit",
        "ends_on_exit",
    ];
    // Everyone graduates 2022-05-30; 730 days later is 2024-05-29 (2024 has a February 29).
    let spells =
        "institution_id,institution_student_id_pid,state_student_id_pid,begin_date,end_date
        U1,u-1,begins_day_730,2024-05-29,2024-08-10
        U1,u-2,begins_day_731,2024-05-30,2024-08-10
        U1,u-3,ends_before_exit,2022-01-10,2022-05-29
        U1,u-4,ends_on_exit,2022-01-10,2022-05-30";
    let got = graduates_with(&students, &[(Entity::PsEnrollment, spells)]).await;
    let within = |s: &str| got[s]["ps_enrolled_within_730d"].clone();
    assert_eq!(within("begins_day_730"), "true");
    assert_eq!(within("begins_day_731"), "false");
    // A dual-enrollment course that ended before graduation is no college-going after it.
    assert_eq!(within("ends_before_exit"), "false");
    assert_eq!(within("ends_on_exit"), "true");
    // None of them was enrolled on 2022-10-01.
    for s in students {
        assert_eq!(got[s]["ps_enrolled_fall1"], "false", "{s}");
    }
}

#[tokio::test]
async fn seamless_enrollment_by_level_and_persistence_follow_the_census() {
    let students = [
        "four_and_two_same_day",
        "two_year_only",
        "less_than_two",
        "level_not_reported",
        "four_year_then_persists",
        "stops_out_after_fall1",
        "second_fall_only",
    ];
    // Everyone graduates 2022-05-30 (cohort 2022): the first census is 2022-10-01, the second
    // 2023-10-01. A spring term (2023-01-10..2023-05-10) covers neither census.
    let spells = "institution_id,institution_student_id_pid,state_student_id_pid,institution_level,begin_date,end_date
        U4,u-1,four_and_two_same_day,FourYear,2022-08-24,2022-12-15
        C2,c-1,four_and_two_same_day,TwoToFour,2022-09-01,2022-12-10
        C2,c-2,two_year_only,TwoToFour,2022-08-24,2022-12-15
        C1,c-3,less_than_two,LessThanTwo,2022-10-01,2022-10-01
        U9,u-4,level_not_reported,,2022-08-24,2022-12-15
        U4,u-5,four_year_then_persists,FourYear,2022-08-24,2022-12-15
        U4,u-5,four_year_then_persists,FourYear,2023-01-10,2023-05-10
        C2,c-6,four_year_then_persists,TwoToFour,2023-08-24,2023-12-15
        U4,u-7,stops_out_after_fall1,FourYear,2022-08-24,2022-12-15
        U4,u-7,stops_out_after_fall1,FourYear,2023-01-10,2023-05-10
        C2,c-8,second_fall_only,TwoToFour,2023-09-30,2023-10-01";
    let got = graduates_with(&students, &[(Entity::PsEnrollment, spells)]).await;
    let columns = [
        "ps_enrolled_fall1",
        "ps_enrolled_fall1_four_year",
        "ps_enrolled_fall1_two_year",
        "ps_enrolled_fall2",
    ];
    let flags = |s: &str| -> Vec<&str> { columns.iter().map(|c| got[s][*c].as_str()).collect() };
    // Enrolled at a 4-year and a 2-year on October 1: the 4-year wins, the 2-year is not set.
    assert_eq!(
        flags("four_and_two_same_day"),
        ["true", "true", "false", "false"]
    );
    assert_eq!(flags("two_year_only"), ["true", "false", "true", "false"]);
    // A one-day spell on the census day counts; under two years is a 2-year institution.
    assert_eq!(flags("less_than_two"), ["true", "false", "true", "false"]);
    // Enrolled, but at an institution of no reported level: in neither split.
    assert_eq!(
        flags("level_not_reported"),
        ["true", "false", "false", "false"]
    );
    // Persisting at another institution of another level is persistence.
    assert_eq!(
        flags("four_year_then_persists"),
        ["true", "true", "false", "true"]
    );
    // Enrolled the spring after, not on the second census: no persistence.
    assert_eq!(
        flags("stops_out_after_fall1"),
        ["true", "true", "false", "false"]
    );
    // A spell ending on the second census day covers it; without the first fall it is no
    // persister (the persistence table counts only the first fall's enrollers).
    assert_eq!(
        flags("second_fall_only"),
        ["false", "false", "false", "true"]
    );
    // The file's latest end date, 2023-12-15, reaches both censuses of cohort 2022's last
    // possible exit (2022-06-30: 2022-10-01 and 2023-10-01).
    for s in students {
        assert_eq!(got[s]["ps_observable_fall1"], "true", "{s}");
        assert_eq!(got[s]["ps_observable_fall2"], "true", "{s}");
    }
}

#[tokio::test]
async fn a_fall_the_postsecondary_file_does_not_reach_holds_the_cohort_out() {
    let students = ["enrolled"];
    // Cohort 2022's second census is 2023-10-01; the file ends 2023-09-30 (a file pulled before
    // that fall's census), then on it.
    for (end, second_fall) in [("2023-09-30", "false"), ("2023-10-01", "true")] {
        let spells = format!(
            "institution_id,institution_student_id_pid,state_student_id_pid,institution_level,begin_date,end_date
            U4,u-1,enrolled,FourYear,2022-08-24,2022-12-15
            U4,u-1,enrolled,FourYear,2023-08-24,{end}"
        );
        let got = graduates_with(&students, &[(Entity::PsEnrollment, &spells)]).await;
        assert_eq!(got["enrolled"]["ps_observable_fall1"], "true", "{end}");
        assert_eq!(got["enrolled"]["ps_observable_fall2"], second_fall, "{end}");
    }
}

#[tokio::test]
async fn postsecondary_credit_counts_a_course_of_the_own_program_by_the_exit_year() {
    let students = [
        "dual_in_program",
        "dual_in_other_program",
        "dual_after_exit_year",
        "advanced_placement",
        "dual_retaken",
    ];
    // Carpentry (46.0201) twice each is the primary program; everyone graduates 2022-05-30
    // (cohort 2022, school year 2022).
    let extra = "state_student_id_pid,school_year,course_id,cip_code,additional_credit_type
        dual_in_program,2022,CARP-3,46.0201,DualCredit
        dual_in_other_program,2022,BUS-1,52.0101,DualCredit
        dual_after_exit_year,2023,CARP-3,46.0201,DualCredit
        advanced_placement,2022,CARP-3,46.0201,AdvancedPlacement
        dual_retaken,2021,CARP-2,46.0201,DualCredit";
    let got = graduates_with(&students, &[(Entity::CteCourseCompletion, extra)]).await;
    let credit = |s: &str| {
        (
            got[s]["program"].as_str(),
            got[s]["ps_credit_by_exit"].as_str(),
        )
    };
    assert_eq!(credit("dual_in_program"), ("46.0201", "true"));
    // Dual credit in Business, one course: Carpentry (2 courses) stays the program.
    assert_eq!(credit("dual_in_other_program"), ("46.0201", "false"));
    // School year 2023 is after the exit's (2022).
    assert_eq!(credit("dual_after_exit_year"), ("46.0201", "false"));
    assert_eq!(credit("advanced_placement"), ("46.0201", "false"));
    // CARP-2 again, with dual credit: still two distinct courses, and credit in the program.
    assert_eq!(credit("dual_retaken"), ("46.0201", "true"));
}

/// PSEO's labour-force attachment in the first calendar year after the exit year, and that
/// year's earnings in 2024 dollars (CPI-U annual averages: 2022 292.655, 2024 313.689).
#[tokio::test]
async fn annual_earnings_follow_pseo_attachment_in_constant_dollars() {
    let students = [
        "short_by_80",
        "enough_in_three",
        "adjusted",
        "amended",
        "no_ssn",
        "next_cohort",
    ];
    let persons = "state_student_id_pid,ssn_pid,sex
        short_by_80,ssn-a,Female
        enough_in_three,ssn-b,Female
        adjusted,ssn-c,Male
        amended,ssn-d,Male
        no_ssn,,Female
        next_cohort,ssn-e,Male";
    // Exits on the last day of a quarter (2021-12-31, cohort 2022) and the first of the next
    // school year (2021-07-01, cohort 2022) still have 2022 as their first year after exit.
    let enrollments = "state_student_id_pid,lea_id,entry_date,exit_date,exit_type
        short_by_80,LEA1,2017-08-20,2021-05-28,01921
        enough_in_three,LEA1,2017-08-20,2021-12-31,01927
        adjusted,LEA1,2017-08-20,2021-07-01,01921
        amended,LEA1,2017-08-20,2021-06-15,01921
        no_ssn,LEA1,2017-08-20,2021-05-28,01921
        next_cohort,LEA1,2017-08-20,2022-05-30,01921";
    let mut wages = String::from(
        "ssn_pid,employer_fein,employer_ui_account,year,quarter,wages,report_type,received_year,received_quarter\n",
    );
    // Four other workers in every quarter of 2022, one record of 2023Q1 (still arriving): 2022
    // is covered in full, 2023 is not.
    for q in 1..=4 {
        for w in 1..=4 {
            wages.push_str(&format!("worker-{w},900000001,W{w},2022,{q},500000,,,\n"));
        }
    }
    wages.push_str("worker-1,900000001,W1,2023,1,500000,,,\n");
    wages.push_str(
        "ssn-a,100000001,A,2022,1,500000,,,
ssn-a,100000001,A,2022,2,500000,,,
ssn-a,100000001,A,2022,3,500000,,,
ssn-b,100000001,A,2022,1,400000,,,
ssn-b,100000001,A,2022,3,600000,,,
ssn-b,100000001,A,2022,4,510000,,,
ssn-c,100000001,A,2022,1,800000,,,
ssn-c,100000002,B,2022,1,-100000,,,
ssn-c,100000001,A,2022,2,700000,,,
ssn-c,100000001,A,2022,3,300000,,,
ssn-c,100000002,B,2022,3,-300000,,,
ssn-c,100000001,A,2022,4,300000,,,
ssn-d,100000001,A,2022,1,500000,,,
ssn-d,100000001,A,2022,2,100000,Original,2022,3
ssn-d,100000001,A,2022,2,500000,Amendment,2022,4
ssn-d,100000001,A,2022,3,500000,,,
ssn-e,100000001,A,2023,1,900000,,,
",
    );
    let got = outcomes(
        &[
            (Entity::Person, persons),
            (Entity::K12Enrollment, enrollments),
            (Entity::CteCourseCompletion, &two_courses(&students)),
            (Entity::WageRecord, &wages),
        ],
        &[2021, 2022],
    )
    .await;
    let year1 = |s: &str| {
        let o = &got[s];
        (
            o["wage_observable_y1"].as_str(),
            o["attached_y1"].as_str(),
            o["earnings_y1_cents"].parse::<f64>().ok(),
        )
    };
    let in_2024_cents = |cents: f64| cents * 313.689 / 292.655;
    let close = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 1e-6);
    // $5,000 in each of three quarters: $15,000, $80 short of $7.25 × 2,080 = $15,080.
    assert_eq!(year1("short_by_80"), ("true", "false", None));
    // $4,000 + $0 + $6,000 + $5,100 = $15,100 in three quarters: attached.
    let (observable, attached, cents) = year1("enough_in_three");
    assert_eq!((observable, attached), ("true", "true"));
    assert!(close(cents, in_2024_cents(1_510_000.0)), "{cents:?}");
    // Two employers add up, a negative adjustment too: Q1 $8,000 − $1,000 = $7,000, Q2
    // $7,000, Q3 $3,000 − $3,000 = $0 (no earnings that quarter), Q4 $3,000: three quarters,
    // $17,000.
    let (observable, attached, cents) = year1("adjusted");
    assert_eq!((observable, attached), ("true", "true"));
    assert!(close(cents, in_2024_cents(1_700_000.0)), "{cents:?}");
    // The amendment holds for 2022Q2 ($5,000, not $1,000 + $5,000): $15,000 in three
    // quarters, not attached; summed twice it would read $16,000 and attached.
    assert_eq!(year1("amended"), ("true", "false", None));
    // No SSN, no wage match: in the denominator, not attached.
    assert_eq!(year1("no_ssn"), ("true", "false", None));
    // Exit 2022-05-30: 2023 holds only its first, thin quarter: held out.
    assert_eq!(year1("next_cohort").0, "false");
}

/// A year the wage file covers in full and the CPI-U table lacks stops the run; one it does
/// not cover yet needs no index.
#[tokio::test]
async fn a_covered_year_without_a_cpi_index_stops_the_run() {
    let students = ["worker", "late"];
    let persons = "state_student_id_pid,ssn_pid,sex
        worker,ssn-a,Female
        late,ssn-b,Male";
    // Exits in 2024: the first year after is 2025, which the shipped table (to 2024) lacks.
    let enrollments = "state_student_id_pid,lea_id,entry_date,exit_date,exit_type
        worker,LEA1,2020-08-20,2024-05-30,01921
        late,LEA1,2020-08-20,2024-05-30,01921";
    let mut wages = String::from("ssn_pid,year,quarter,wages\n");
    for q in 1..=4 {
        wages.push_str(&format!("ssn-a,2025,{q},600000\n"));
        for w in 1..=4 {
            wages.push_str(&format!("other-{w},2025,{q},500000\n"));
        }
    }
    let courses = two_courses(&students);
    let fixture = [
        (Entity::Person, persons),
        (Entity::K12Enrollment, enrollments),
        (Entity::CteCourseCompletion, courses.as_str()),
        (Entity::WageRecord, wages.as_str()),
    ];
    let e = measured(&fixture, &[2024], &shipped_plan())
        .await
        .expect_err("2025 has no CPI-U");
    assert!(
        matches!(&e, p20w_pipeline::RunError::MissingCpi { years, constant_dollar_year: 2024 } if years == &[2025]),
        "{e}"
    );
    // With the year's index in the job's definitions, the worker is attached and counted in
    // 2024 dollars: $24,000 × 313.689 / 322.0.
    let plan = plan_with("[cpi_u]\n\"2025\" = 322.0\n", &[]);
    let (got, _) = measured(&fixture, &[2024], &plan).await.unwrap();
    let cents: f64 = got["worker"]["earnings_y1_cents"].parse().unwrap();
    assert!(
        (cents - 2_400_000.0 * 313.689 / 322.0).abs() < 1e-6,
        "{cents}"
    );
    // A 2025 not yet covered (its last quarter still arriving) is held out and needs no index.
    let thin: String = wages
        .lines()
        .filter(|l| !(l.contains(",2025,4,") && l.starts_with("other")))
        .map(|l| format!("{l}\n"))
        .collect();
    let fixture = [
        fixture[0],
        fixture[1],
        fixture[2],
        (Entity::WageRecord, thin.as_str()),
    ];
    let (got, _) = measured(&fixture, &[2024], &shipped_plan()).await.unwrap();
    assert_eq!(got["worker"]["wage_observable_y1"], "false");
}
