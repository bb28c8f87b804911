//! `p20w encode`, `p20w link` and the evaluation mode, scored against the synthetic state's
//! ground truth: K-12 students on the left, the postsecondary institutions' students (names
//! and birth dates as their clerks keyed them, SSN only where they collect it) on the right.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::common::{group_recall_tolerance, p20w, read_csv, scratch, state};

/// Writes the evaluation layout from the synthetic state and returns, per record id, the
/// person it truly is (left: state student id; right: institution student id).
/// Made-up address fields of a person, the same on both sides: synth writes no addresses, and
/// the encoded files must hide these optional fields as they hide names.
fn household(person_id: &str) -> [String; 4] {
    const STREETS: [&str; 6] = [
        "Alderwick",
        "Brambleton",
        "Corvane",
        "Dunmeric",
        "Elsworth",
        "Fenhollow",
    ];
    let h = person_id
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    [
        format!("{} {} Lane", 100 + h % 900, STREETS[(h / 900 % 6) as usize]),
        "Quillmere".to_string(),
        format!("9{:04}", h / 5400 % 10_000),
        format!("Q{:07}", h % 10_000_000),
    ]
}

/// The K-12 and postsecondary person files of the synthetic state in the evaluation layout,
/// with the optional address fields where `with_household`, and who each record truly is.
fn person_files(
    state: &Path,
    out: &Path,
    with_household: bool,
) -> (PathBuf, PathBuf, HashMap<String, String>) {
    let persons = read_csv(&state.join("truth/persons.csv"));
    let person_of_student: HashMap<&str, &str> = persons
        .iter()
        .map(|p| (p["state_student_id"].as_str(), p["person_id"].as_str()))
        .collect();
    let mut truth = HashMap::new();
    let write = |name: &str, rows: Vec<([String; 6], String)>| {
        let path = out.join(name);
        let mut w = csv::Writer::from_path(&path).unwrap();
        let mut head = vec![
            "record_id",
            "given_name",
            "family_name",
            "birth_date",
            "sex",
            "ssn",
        ];
        if with_household {
            head.extend(["address", "locality", "postcode", "other_id"]);
        }
        w.write_record(&head).unwrap();
        for (r, person) in rows {
            let extra = if with_household {
                household(&person).to_vec()
            } else {
                Vec::new()
            };
            w.write_record(r.iter().chain(&extra)).unwrap();
        }
        w.flush().unwrap();
        path
    };
    // One row per student (synth writes a row per district attended; the first stands for all).
    let mut seen = HashSet::new();
    let mut left = Vec::new();
    for s in read_csv(&state.join("k12/students.csv")) {
        if seen.insert(s["state_student_id"].clone()) {
            truth.insert(
                format!("L{}", s["state_student_id"]),
                person_of_student[s["state_student_id"].as_str()].to_string(),
            );
            left.push((
                [
                    format!("L{}", s["state_student_id"]),
                    s["first_name"].clone(),
                    s["last_name"].clone(),
                    s["birth_date"].clone(),
                    s["sex"].clone(),
                    s["ssn"].clone(),
                ],
                person_of_student[s["state_student_id"].as_str()].to_string(),
            ));
        }
    }
    let mut right = Vec::new();
    let ps = read_csv(&state.join("postsecondary/enrollments.csv"));
    let who = read_csv(&state.join("truth/ps_enrollment.csv"));
    // One row per institution record: a student who also took a course at a second college is
    // in this file twice, and both records are theirs.
    for (e, t) in ps.iter().zip(&who) {
        let id = format!("R{}", e["institution_student_id"]);
        if !truth.contains_key(&id) {
            truth.insert(id.clone(), t["person_id"].clone());
            // Institutions report no sex here; the encoding simply carries none.
            right.push((
                [
                    id,
                    e["first_name"].clone(),
                    e["last_name"].clone(),
                    e["birth_date"].clone(),
                    String::new(),
                    e["ssn"].clone(),
                ],
                t["person_id"].clone(),
            ));
        }
    }
    (
        write("k12_people.csv", left),
        write("ps_people.csv", right),
        truth,
    )
}

#[test]
fn evaluation_mode_links_k12_to_postsecondary_with_high_precision_and_recall_in_every_group() {
    let s = state();
    let dir = scratch("pprl-evaluate");
    let (left, right, truth) = person_files(&s.dir, &dir, false);
    let pairs = dir.join("pairs.csv");
    p20w(&[
        "link",
        "--evaluate",
        left.to_str().unwrap(),
        right.to_str().unwrap(),
        "--out",
        pairs.to_str().unwrap(),
        "--repeated",
        "others",
    ]);
    let found = read_csv(&pairs);
    assert!(
        found
            .iter()
            .all(|p| p.len() == 3 && p["score"].parse::<f64>().is_ok())
    );

    // True pairs: a K-12 record and a postsecondary record of the same person.
    let persons = read_csv(&s.dir.join("truth/persons.csv"));
    // English learners: the group whose names synth keys with more variants.
    let learners: HashSet<String> = read_csv(&s.dir.join("k12/students.csv"))
        .into_iter()
        .filter(|r| r["english_learner"] == "Yes")
        .map(|r| r["state_student_id"].clone())
        .collect();
    let group_of: HashMap<&str, [&str; 3]> = persons
        .iter()
        .map(|p| {
            let learner = if learners.contains(&p["state_student_id"]) {
                "EnglishLearner"
            } else {
                "NotEnglishLearner"
            };
            (
                p["person_id"].as_str(),
                [p["sex"].as_str(), p["race_ethnicity"].as_str(), learner],
            )
        })
        .collect();
    let left_of_person: HashMap<&str, &str> = truth
        .iter()
        .filter(|(id, _)| id.starts_with('L'))
        .map(|(id, p)| (p.as_str(), id.as_str()))
        .collect();
    let true_pairs: HashSet<(String, String)> = truth
        .iter()
        .filter(|(id, _)| id.starts_with('R'))
        .filter_map(|(id, p)| Some((left_of_person.get(p.as_str())?.to_string(), id.clone())))
        .collect();
    assert!(true_pairs.len() > 500, "{}", true_pairs.len());
    let linked: HashSet<(String, String)> = found
        .iter()
        .map(|p| (p["left_record_id"].clone(), p["right_record_id"].clone()))
        .collect();
    let hits = linked.intersection(&true_pairs).count();
    let precision = hits as f64 / linked.len() as f64;
    let recall = hits as f64 / true_pairs.len() as f64;
    eprintln!(
        "overall: P {precision:.4} R {recall:.4} over {} true pairs",
        true_pairs.len()
    );
    assert!(precision >= 0.995, "precision {precision}");
    assert!(recall >= 0.99, "recall {recall}");

    // Recall by sex, race/ethnicity and English-learner status: no group of 100 pairs or more
    // left behind by more than a point or its sampling noise (smaller groups are reported).
    for dim in 0..3 {
        let mut by: HashMap<&str, (usize, usize)> = HashMap::new();
        for pair in &true_pairs {
            let g = group_of[truth[&pair.0].as_str()][dim];
            let e = by.entry(g).or_default();
            e.0 += 1;
            e.1 += usize::from(linked.contains(pair));
        }
        for (g, (n, hit)) in by {
            let r = hit as f64 / n as f64;
            eprintln!("  {g}: recall {r:.4} of {n}");
            if n >= 100 {
                assert!(
                    r >= recall - group_recall_tolerance(recall, n),
                    "group {g}: recall {r} vs overall {recall}"
                );
            }
        }
    }
}

/// Every input name, birth date and SSN (in its written and canonical forms).
fn clear_values(files: &[&Path]) -> HashSet<String> {
    let mut v = HashSet::new();
    for f in files {
        for row in read_csv(f) {
            for col in [
                "record_id",
                "given_name",
                "family_name",
                "birth_date",
                "ssn",
                "address",
                "locality",
                "postcode",
                "other_id",
            ] {
                let Some(x) = row.get(col).map(|x| x.trim()) else {
                    continue;
                };
                // The value, and each word of one with several (a street name on its own).
                for x in std::iter::once(x).chain(x.split_whitespace()) {
                    if x.len() >= 4 {
                        v.insert(x.to_string());
                        v.insert(x.to_lowercase());
                        v.insert(x.replace('-', ""));
                    }
                }
            }
        }
    }
    v
}

#[test]
fn encoded_files_hold_no_clear_identifier_and_link_ids_are_stable_across_runs_and_quarters() {
    let s = state();
    let dir = scratch("pprl-files");
    let (left, right, truth) = person_files(&s.dir, &dir, true);
    let key = s.dir.join("p20w.key");
    let encode = |input: &Path, name: &str| {
        let out = dir.join(name);
        p20w(&[
            "encode",
            input.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--agreement",
            "demo-mou-2026",
            "--out",
            out.to_str().unwrap(),
        ]);
        out
    };
    let k12 = encode(&left, "k12.parquet");
    let ps = encode(&right, "ps.parquet");

    // No clear value in the bytes of the file, nor in any decoded column.
    let clear = clear_values(&[&left, &right]);
    assert!(clear.len() > 3_000, "{}", clear.len());
    for f in [&k12, &ps] {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        let decoded = p20w_pipeline::pprl::read_encoded(f).unwrap();
        // The raw bytes hold 320 random-looking bytes per record, where short letter runs
        // occur by chance; there only values of six characters or more (birth dates, SSNs,
        // record ids, longer names) are looked for. The decoded text columns are checked for
        // every value, however short.
        let raw = text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '-')
            .filter(|t| t.len() >= 6);
        let columns = decoded.record_keys.iter().map(String::as_str).chain(
            decoded
                .encodings
                .iter()
                .filter_map(|e| e.ssn_pid.as_deref()),
        );
        let tokens: HashSet<&str> = raw.chain(columns).collect();
        let leaked: Vec<&&str> = tokens
            .iter()
            .filter(|t| clear.contains(**t))
            .take(3)
            .collect();
        assert!(
            leaked.is_empty(),
            "{}: clear values {leaked:?}",
            f.display()
        );
    }

    // The same inputs and key give the same link ids.
    let link = |files: &[&Path], out: &str, previous: Option<&Path>| {
        let out = dir.join(out);
        let mut args = vec!["link".to_string()];
        args.extend(files.iter().map(|f| f.display().to_string()));
        args.extend(["--out".to_string(), out.display().to_string()]);
        if let Some(p) = previous {
            args.extend(["--previous-ids".to_string(), p.display().to_string()]);
        }
        p20w(&args.iter().map(String::as_str).collect::<Vec<_>>());
        out
    };
    let ids = |out: &Path| -> HashMap<(String, String), String> {
        let batches = p20w_pipeline::pprl::read_link_ids(&out.join("link_ids.parquet")).unwrap();
        batches
    };
    let first = link(&[&k12, &ps], "run1", None);
    let second = link(&[&k12, &ps], "run2", None);
    assert_eq!(ids(&first), ids(&second));
    let first_ids = ids(&first);
    // Linked records share their K-12 partner's id.
    let links = read_links(&first.join("links.parquet"));
    assert!(links.len() > 500);
    for (l, r) in &links {
        assert_eq!(
            first_ids[&("k12".to_string(), l.clone())],
            first_ids[&("ps".to_string(), r.clone())]
        );
    }

    // A new quarter: the postsecondary file gains records (50 K-12 students who had not
    // enrolled before). Existing ids stay; the new records join the ids of the students they
    // are.
    let enrolled: HashSet<&String> = truth
        .iter()
        .filter(|(id, _)| id.starts_with('R'))
        .map(|(_, p)| p)
        .collect();
    let mut text = std::fs::read_to_string(&right).unwrap();
    let newcomers = read_csv(&left);
    let newcomers = newcomers
        .iter()
        .filter(|r| !enrolled.contains(&truth[&r["record_id"]]))
        .take(50);
    for row in newcomers {
        text.push_str(&format!(
            "N{},{},{},{},,,{},{},{},{}\n",
            &row["record_id"][1..],
            row["given_name"],
            row["family_name"],
            row["birth_date"],
            row["address"],
            row["locality"],
            row["postcode"],
            row["other_id"]
        ));
    }
    let grown = dir.join("ps_grown.csv");
    std::fs::write(&grown, text).unwrap();
    let ps2 = dir.join("q2").join("ps.parquet");
    std::fs::create_dir_all(ps2.parent().unwrap()).unwrap();
    p20w(&[
        "encode",
        grown.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--agreement",
        "demo-mou-2026",
        "--out",
        ps2.to_str().unwrap(),
    ]);
    let third = link(&[&k12, &ps2], "run3", Some(&first.join("link_ids.parquet")));
    let third_ids = ids(&third);
    for (k, id) in &first_ids {
        assert_eq!(third_ids.get(k), Some(id), "{k:?} kept its id");
    }
    assert_eq!(third_ids.len(), first_ids.len() + 50);
    let k12_ids: HashSet<&String> = first_ids
        .iter()
        .filter(|(k, _)| k.0 == "k12")
        .map(|(_, v)| v)
        .collect();
    let joined = third_ids
        .iter()
        .filter(|(k, v)| !first_ids.contains_key(*k) && k12_ids.contains(v))
        .count();
    assert!(
        joined >= 48,
        "{joined} of 50 new records joined their K-12 id"
    );
}

fn read_links(path: &Path) -> Vec<(String, String)> {
    use datafusion::arrow::array::AsArray;
    let file = std::fs::File::open(path).unwrap();
    let mut out = Vec::new();
    for batch in
        datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
    {
        let batch = batch.unwrap();
        let l = batch
            .column_by_name("left_key")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let r = batch
            .column_by_name("right_key")
            .unwrap()
            .as_string::<i32>()
            .clone();
        out.extend((0..batch.num_rows()).map(|i| (l.value(i).to_string(), r.value(i).to_string())));
    }
    out
}

#[test]
fn files_encoded_under_another_key_are_refused_and_bad_rows_quarantined() {
    let dir = scratch("pprl-refuse");
    let people = dir.join("people.csv");
    std::fs::write(&people, "record_id,given_name,family_name,birth_date,sex\n1,Ana,Silva,2003-05-05,F\n,Bo,Lin,2002-01-01,M\n3,\"Cy,Ng,2001-01-01,F\n").unwrap();
    for k in ["a.key", "b.key"] {
        p20w(&["keygen", dir.join(k).to_str().unwrap()]);
    }
    let mut outs = Vec::new();
    for k in ["a", "b"] {
        let out = dir.join(format!("{k}.parquet"));
        let o = p20w(&[
            "encode",
            people.to_str().unwrap(),
            "--key",
            dir.join(format!("{k}.key")).to_str().unwrap(),
            "--agreement",
            "m",
            "--out",
            out.to_str().unwrap(),
        ]);
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains("encoded 1 of 3 records"), "{text}");
        assert!(text.contains("line 3: missing_record_id"), "{text}");
        outs.push(out);
    }
    let o = std::process::Command::new(crate::common::BIN)
        .args([
            "link",
            outs[0].to_str().unwrap(),
            outs[1].to_str().unwrap(),
            "--out",
            dir.join("l").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("different keys never match"));

    // A file of only quarantined rows encodes to an empty file, not an error.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "record_id,given_name,family_name,birth_date,sex\n,Bo,Lin,2002-01-01,M\n",
    )
    .unwrap();
    let o = p20w(&[
        "encode",
        bad.to_str().unwrap(),
        "--key",
        dir.join("a.key").to_str().unwrap(),
        "--agreement",
        "m",
        "--out",
        dir.join("bad.parquet").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("encoded 0 of 1 records"));
    assert_eq!(
        p20w_pipeline::pprl::read_encoded(&dir.join("bad.parquet"))
            .unwrap()
            .encodings
            .len(),
        0
    );

    let o = std::process::Command::new(crate::common::BIN)
        .args([
            "encode",
            dir.join("missing.csv").to_str().unwrap(),
            "--key",
            dir.join("a.key").to_str().unwrap(),
            "--agreement",
            "m",
            "--out",
            dir.join("x.parquet").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.csv"));
    assert!(!dir.join("x.parquet").exists() && !dir.join("x.parquet.partial").exists());
}

/// A K-12 file with one student twice (two districts keyed them under different record ids):
/// linked strictly one to one the second record stays apart; said to hold records
/// (`--repeated first`), both records and the college's record of the student share one id.
#[test]
fn a_person_twice_in_a_file_said_to_hold_records_keeps_one_link_id() {
    let dir = scratch("pprl-repeated");
    let key = dir.join("k.key");
    p20w(&["keygen", key.to_str().unwrap()]);
    let head = "record_id,given_name,family_name,birth_date,sex\n";
    let others = [
        "Orlaith,Brennick,2004-02-11",
        "Sivan,Tallowmere,2003-09-30",
        "Kestrel,Ambervale,2004-06-02",
    ];
    let mut k12 = String::from(head);
    let mut college = String::from(head);
    for (i, o) in others.iter().enumerate() {
        k12.push_str(&format!("K{i},{o},F\n"));
        college.push_str(&format!("C{i},{o},\n"));
    }
    k12.push_str("K7,Quillon,Vasterby,2004-03-17,M\nK8,Quillon,Vasterby,2004-03-17,M\n");
    college.push_str("C7,Quillon,Vasterby,2004-03-17,\n");
    let encoded = |name: &str, text: &str| {
        let csv = dir.join(format!("{name}.csv"));
        std::fs::write(&csv, text).unwrap();
        let out = dir.join(format!("{name}.parquet"));
        p20w(&[
            "encode",
            csv.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--agreement",
            "m",
            "--out",
            out.to_str().unwrap(),
        ]);
        out
    };
    let (k12, college) = (encoded("k12", &k12), encoded("college", &college));
    let run = |out: &str, extra: &[&str]| {
        let out = dir.join(out);
        let mut args = vec![
            "link",
            k12.to_str().unwrap(),
            college.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra.iter().copied());
        p20w(&args);
        let keys = p20w_pipeline::pprl::read_encoded(&k12).unwrap().record_keys;
        let ids = p20w_pipeline::pprl::read_link_ids(&out.join("link_ids.parquet")).unwrap();
        // Record keys are in file order: K0, K1, K2, K7, K8.
        let id = |file: &str, key: &str| ids[&(file.to_string(), key.to_string())].clone();
        let college_keys = p20w_pipeline::pprl::read_encoded(&college)
            .unwrap()
            .record_keys;
        (
            id("k12", &keys[3]),
            id("k12", &keys[4]),
            id("college", &college_keys[3]),
            read_links(&out.join("links.parquet")).len(),
        )
    };
    let (first, second, theirs, links) = run("strict", &[]);
    assert_eq!((links, &first), (4, &theirs));
    assert_ne!(first, second, "one to one: the second record is no one's");
    let (first, second, theirs, links) = run("records", &["--repeated", "first"]);
    assert_eq!(links, 5);
    assert_eq!((&first, &second), (&theirs, &theirs));
}
