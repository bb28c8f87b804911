use super::*;

fn shipped(dataset: &str) -> String {
    let (_, text) = SHIPPED_MEASURES
        .iter()
        .find(|(f, _)| f.ends_with(&format!("/{dataset}.toml")))
        .expect("shipped");
    text.to_string()
}

/// The error of a specification text, read as `state/m.toml`.
fn refused(text: &str) -> SpecError {
    Measure::parse(text, "state/m.toml").expect_err("refused")
}

#[test]
fn the_shipped_specifications_load() {
    let c = MeasureCatalog::shipped();
    assert_eq!(
        c.datasets(),
        [
            "postsecondary_enrollment",
            "employment_earnings",
            "employment_q4",
            "college_enrollment_two_years",
            "postsecondary_enrollment_four_year",
            "postsecondary_enrollment_two_year",
            "college_persistence",
            "earnings_year1",
            "perkins_3s1_placement",
            "perkins_5s1_credential",
            "perkins_5s2_postsecondary_credit",
            "perkins_5s3_work_based_learning"
        ]
    );
    assert_eq!(c.definitions.concentrator_min_courses, 2);
    assert_eq!(c.definitions.fall_census, MonthDay { month: 10, day: 1 });
    let employment = c.select(&["employment_earnings".into()]).unwrap();
    let t = employment.measures[0].cell_table();
    assert_eq!(t.population, "wage_observable_q2");
    assert_eq!(t.universe, "concentrators_observable_q2");
    assert_eq!(t.counts[1].predicate, "(employed_q2)");
    let m: Vec<_> = t
        .earnings
        .iter()
        .map(|e| {
            (
                e.column.as_str(),
                e.cents.as_str(),
                e.percentile,
                e.min_people,
            )
        })
        .collect();
    assert_eq!(m, [("median_earnings", "earnings_q2_cents", None, 30)]);
    // PSEO-style: held out until the whole year is in, percentiles in ascending order.
    let year = c.select(&["earnings_year1".into()]).unwrap();
    let t = year.measures[0].cell_table();
    assert_eq!(
        (t.population.as_str(), t.universe.as_str()),
        ("wage_observable_y1", "concentrators_observable_y1")
    );
    assert_eq!(t.counts[1].predicate, "(attached_y1)");
    let m: Vec<_> = t
        .earnings
        .iter()
        .map(|e| (e.column.as_str(), e.cents.as_str(), e.percentile))
        .collect();
    assert_eq!(
        m,
        [
            ("earnings_p25", "earnings_y1_cents", Some(25)),
            ("earnings_p50", "earnings_y1_cents", Some(50)),
            ("earnings_p75", "earnings_y1_cents", Some(75))
        ]
    );
    assert_eq!(c.definitions.constant_dollar_year, 2024);
    assert_eq!(c.definitions.cpi_u["2024"], 313.689);
    let ps = c.select(&["postsecondary_enrollment".into()]).unwrap();
    let t = ps.measures[0].cell_table();
    // Cohorts whose first fall the postsecondary file does not reach are left out.
    assert_eq!(
        (t.population.as_str(), t.universe.as_str()),
        ("ps_observable_fall1", "concentrators_ps_observable_fall1")
    );
    // Every dimension alone, the total and race × sex.
    assert_eq!(t.grouping_sets.len(), dimension_columns().len() + 2);
}

#[test]
fn an_invalid_specification_is_refused_naming_file_and_key() {
    let base = shipped("employment_earnings");
    let cases: Vec<(String, &str)> = vec![
        (base.replace("version = 1", "version = 1\ncolour = \"red\""), "colour"),
        (
            base.replace("[denominator]\n", "[denominator]\nwhere = \"x\"\n"),
            "denominator.where",
        ),
        (base.replace("version = 1", "version = \"one\""), "version"),
        (base.replace("version = 1", "version = 0"), "version"),
        (base.replace("dataset = \"employment_earnings\"", "dataset = \"Jobs!\""), "dataset"),
        (
            base.replace("\"employed\", quarter_after_exit = 2 }", "\"hired\", quarter_after_exit = 2 }"),
            "numerator.any",
        ),
        (
            base.replace("any = [{ kind = \"employed\", quarter_after_exit = 2 }]", "any = []"),
            "numerator.any",
        ),
        (
            base.replace("any = [{ kind = \"employed\", quarter_after_exit = 2 }]",
                         "any = [{ kind = \"employed\", quarter_after_exit = 2 }, { kind = \"employed\", quarter_after_exit = 0 }]"),
            "numerator.any[1].quarter_after_exit",
        ),
        (
            base.replace("statistic = \"median\"\nquarter_after_exit = 2", "statistic = \"median\"\nquarter_after_exit = 4"),
            "earnings.quarter_after_exit",
        ),
        (base.replace("statistic = \"median\"", "statistic = \"mean\""), "earnings.statistic"),
        (base.replace("column = \"median_earnings\"", "column = \"rate\""), "earnings.column"),
        (
            base.replace("column = \"median_earnings\"", "column = \"gap_to_all\""),
            "earnings.column",
        ),
        (
            base.replace("[earnings]", "[earnings]  # the median")
                .replace("statistic = \"median\"", "statistic = \"mean\""),
            "earnings.statistic",
        ),
        (
            base.replace("[[\"race_ethnicity\", \"sex\"]]", "[[\"race_ethnicity\", \"shoe_size\"]]"),
            "intersections[0]",
        ),
        (base.replace("[[\"race_ethnicity\", \"sex\"]]", "[[\"sex\"]]"), "intersections[0]"),
        (base.replace("title = ", "titel = "), "titel"),
        (
            base.replace("statistic = \"median\"", "statistic = \"percentiles\""),
            "earnings.quarter_after_exit",
        ),
        (
            base.replace("quarter_after_exit = 2\ncolumn", "year_after_exit = 2\ncolumn"),
            "earnings.year_after_exit",
        ),
        (
            base.replace("[earnings]\n", "[earnings]\nmin_people = 1\n"),
            "earnings.min_people",
        ),
    ];
    for (text, key) in cases {
        assert_ne!(text, base, "the case for {key} changed nothing");
        let e = refused(&text);
        assert_eq!(
            (e.file.as_str(), e.key.as_str()),
            ("state/m.toml", key),
            "{e}"
        );
        let shown = e.to_string();
        assert!(
            shown.contains("state/m.toml") && shown.contains(key),
            "{shown}"
        );
    }
    let year = shipped("earnings_year1");
    for (text, key) in [
        (
            year.replace("earnings_p75 = 75", "earnings_p75 = 95"),
            "earnings.percentiles",
        ),
        (
            year.replace("earnings_p50 = 50", "earnings_p50 = 27"),
            "earnings.percentiles",
        ),
        (
            year.replace("[earnings]\n", "[earnings]\nmin_people = 3\n"),
            "earnings.percentiles",
        ),
        (
            year.replace("[earnings]\n", "[earnings]\ncolumn = \"e\"\n"),
            "earnings.column",
        ),
        (
            year.replace("year_after_exit = 1 }]", "year_after_exit = 2 }]"),
            "earnings.year_after_exit",
        ),
        (
            year.replace("year_after_exit = 1\npercentiles", "percentiles"),
            "earnings.year_after_exit",
        ),
    ] {
        assert_ne!(text, year, "the case for {key} changed nothing");
        let e = refused(&text);
        assert_eq!(e.key, key, "{e}");
    }
    // Over ten people or more, percentiles 25 apart are more than a rank apart.
    let spread = year.replace("[earnings]\n", "[earnings]\nmin_people = 10\n");
    assert!(Measure::parse(&spread, "state/m.toml").is_ok());
    let persistence = shipped("college_persistence");
    let cases = [
        (
            persistence.replace("fall_after_exit = 1 }]", "fall_after_exit = 2 }]"),
            "denominator.all[0]",
        ),
        (
            persistence.replace(
                "fall_after_exit = 1 }]",
                "fall_after_exit = 1 }, { kind = \"enrolled_on_fall_census\", fall_after_exit = 1 }]",
            ),
            "denominator.all[1]",
        ),
        (
            persistence.replace("fall_after_exit = 1 }]", "fall_after_exit = 9 }]"),
            "denominator.all[0].fall_after_exit",
        ),
        (
            shipped("postsecondary_enrollment_two_year").replace("\"two_year\"", "\"2yr\""),
            "numerator.any",
        ),
    ];
    for (text, key) in cases {
        let e = refused(&text);
        assert_eq!(e.key, key, "{e}");
    }
    // An element of a multi-line array is named by its array.
    let placement =
        shipped("perkins_3s1_placement").replace("kind = \"employed\"", "kind = \"employd\"");
    let e = refused(&placement);
    assert_eq!(e.key, "numerator.any", "{e}");
    // A required table left out is named.
    let text = base.replace("[denominator]\ndoc = ", "[denominatorx]\ndoc = ");
    let e = refused(&text);
    assert_eq!(e.key, "denominatorx", "{e}");
}

#[test]
fn definitions_are_overridden_key_by_key_and_checked() {
    let table = |text: &str| -> toml::Table { toml::from_str(text).unwrap() };
    let c = MeasureCatalog::load(&[], &table("concentrator_min_courses = 3"), "job.toml").unwrap();
    assert_eq!(c.definitions.concentrator_min_courses, 3);
    assert_eq!(
        c.definitions.fall_census,
        MonthDay { month: 10, day: 1 },
        "the rest kept"
    );
    for (text, key) in [
        (
            "concentrator_courses = 3",
            "definitions.concentrator_courses",
        ),
        (
            "concentrator_min_courses = \"three\"",
            "definitions.concentrator_min_courses",
        ),
        (
            "concentrator_min_courses = 0",
            "definitions.concentrator_min_courses",
        ),
        ("fall_census = \"02-30\"", "definitions.fall_census"),
        ("exit_types = []", "definitions.exit_types"),
        (
            "wage_coverage_share = 1.5",
            "definitions.wage_coverage_share",
        ),
        (
            "attachment_min_quarters = 5",
            "definitions.attachment_min_quarters",
        ),
        (
            "attachment_min_annual_earnings = -1",
            "definitions.attachment_min_annual_earnings",
        ),
        ("cpi_u = { \"24\" = 313.7 }", "definitions.cpi_u.24"),
        ("cpi_u = { \"2025\" = 0 }", "definitions.cpi_u.2025"),
        (
            "constant_dollar_year = 2031",
            "definitions.constant_dollar_year",
        ),
    ] {
        let e = MeasureCatalog::load(&[], &table(text), "job.toml").expect_err(text);
        assert_eq!((e.file.as_str(), e.key.as_str()), ("job.toml", key), "{e}");
    }
    // A table of years gains the job's years and keeps the shipped ones.
    let c = MeasureCatalog::load(
        &[],
        &table("constant_dollar_year = 2030\ncpi_u = { \"2030\" = 400.5 }"),
        "job.toml",
    )
    .unwrap();
    assert_eq!(
        (c.definitions.cpi_u["2030"], c.definitions.cpi_u["2015"]),
        (400.5, 237.017)
    );
}

#[test]
fn a_state_file_replaces_or_adds_a_measure() {
    let replaced = shipped("postsecondary_enrollment")
        .replace("fall_after_exit = 1", "fall_after_exit = 2")
        .replace("version = 1", "version = 2");
    let added = shipped("employment_q4")
        .replace("employment_q4", "employment_q8")
        .replace("q4_after_exit", "q8_after_exit")
        .replace("quarter_after_exit = 4", "quarter_after_exit = 8");
    let extra = vec![
        ("state/ps.toml".to_string(), replaced),
        ("state/q8.toml".to_string(), added.clone()),
    ];
    let c = MeasureCatalog::load(&extra, &toml::Table::new(), "job.toml").unwrap();
    let ps = c.select(&["postsecondary_enrollment".into()]).unwrap();
    assert_eq!(ps.measures[0].file, "state/ps.toml");
    assert_eq!(ps.measures[0].spec.version, 2);
    assert_eq!(
        ps.measures[0].cell_table().counts[1].predicate,
        "(ps_enrolled_fall2)"
    );
    assert!(c.select(&["employment_q8".into()]).is_ok());
    assert_eq!(c.measures.len(), SHIPPED_MEASURES.len() + 1);

    let twice = vec![
        ("state/a.toml".to_string(), added.clone()),
        ("state/b.toml".to_string(), added),
    ];
    let e = MeasureCatalog::load(&twice, &toml::Table::new(), "job.toml").unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.key.as_str()),
        ("state/b.toml", "dataset")
    );
    let same_id =
        shipped("employment_q4").replace("dataset = \"employment_q4\"", "dataset = \"other\"");
    let e = MeasureCatalog::load(
        &[("state/c.toml".into(), same_id)],
        &toml::Table::new(),
        "job.toml",
    )
    .unwrap_err();
    assert_eq!(e.key, "id", "{e}");
}

#[test]
fn a_job_names_known_measures_once() {
    let c = MeasureCatalog::shipped();
    assert!(
        c.select(&["employment".into()])
            .unwrap_err()
            .contains("unknown measure")
    );
    assert!(
        c.select(&["employment_q4".into(), "employment_q4".into()])
            .unwrap_err()
            .contains("twice")
    );
    assert!(c.select(&[]).is_err());
}

#[test]
fn the_dictionary_states_definition_window_sources_and_version() {
    let c = MeasureCatalog::shipped();
    let plan = c
        .select(&["employment_q4".into(), "postsecondary_enrollment".into()])
        .unwrap();
    let q4 = plan.measures[0].dictionary_markdown(&plan.definitions);
    assert!(
        q4.contains("version 1") && q4.contains("pipeline/measures/employment_q4.toml"),
        "{q4}"
    );
    assert!(
        q4.contains("E + 4") && q4.contains("`wage_record`") && q4.contains("at least 2"),
        "{q4}"
    );
    let ps = plan.measures[1].dictionary_markdown(&plan.definitions);
    assert!(
        ps.contains("October 1 of the first fall") && ps.contains("`ps_enrollment`"),
        "{ps}"
    );
    let defs = definitions_markdown(&plan.definitions);
    assert!(defs.contains("July 1") && defs.contains("01921"), "{defs}");
}

#[test]
fn populations_and_outcomes_become_the_table_s_predicates() {
    let c = MeasureCatalog::shipped();
    let table = |d: &str| c.select(&[d.into()]).unwrap().measures[0].cell_table();
    let t = table("perkins_3s1_placement");
    assert_eq!(t.population, "wage_observable_q2");
    assert_eq!(t.counts[1].predicate, "(employed_q2 OR ps_enrolled_q2)");
    let t = table("perkins_5s1_credential");
    assert_eq!(
        (t.population.as_str(), t.universe.as_str()),
        ("graduated", "concentrator_graduates")
    );
    assert_eq!(t.counts[1].predicate, "(credential_by_exit)");
    assert_eq!(t.population_terms, ["graduated"]);
}

#[test]
fn an_enrollment_implies_the_windows_that_must_contain_it() {
    let fall = |n| Outcome::EnrolledOnFallCensus {
        fall_after_exit: n,
        institution_level: None,
    };
    let at = |n, level| Outcome::EnrolledOnFallCensus {
        fall_after_exit: n,
        institution_level: Some(level),
    };
    let within = |days| Outcome::EnrolledWithinDays { days };
    let quarter = |n| Outcome::EnrolledInQuarter {
        quarter_after_exit: n,
    };
    // The first fall census is at most 364 days after exit (an exit on October 2): 366 is safe.
    assert!(fall(1).implies(within(730)) && fall(1).implies(within(366)));
    assert!(!fall(1).implies(within(300)));
    assert!(fall(2).implies(within(732)) && !fall(2).implies(within(730)));
    // Quarter E + 2 ends at most 92 × 3 days after the exit.
    assert!(quarter(2).implies(within(276)) && !quarter(2).implies(within(200)));
    assert!(within(365).implies(within(730)) && !within(730).implies(within(365)));
    assert!(!fall(1).implies(Outcome::Employed {
        quarter_after_exit: 2
    }));
    assert!(fall(1).implies(fall(1)) && !fall(1).implies(fall(2)));
    // A fall at one level is that fall at any level, and no other level or fall.
    use super::outcome::InstitutionLevel::{FourYear, TwoYear};
    assert!(at(1, FourYear).implies(fall(1)) && at(2, TwoYear).implies(fall(2)));
    assert!(!fall(1).implies(at(1, FourYear)) && !at(1, TwoYear).implies(at(1, FourYear)));
    assert!(!at(1, FourYear).implies(fall(2)));
    assert!(at(1, TwoYear).implies(within(366)) && !at(2, TwoYear).implies(within(730)));

    let c = MeasureCatalog::shipped();
    let plan = c
        .select(&[
            "college_enrollment_two_years".into(),
            "postsecondary_enrollment".into(),
        ])
        .unwrap();
    let tables = plan.cell_tables();
    assert_eq!(
        tables[1].counts[1].implies,
        [vec![
            "ps_enrolled_fall1".to_string(),
            "ps_enrolled_within_730d".to_string()
        ]],
        "the first fall is nested in the two-year window"
    );
    assert_eq!(
        tables[0].counts[1].implies,
        [vec!["ps_enrolled_within_730d".to_string()]]
    );
}

#[test]
fn persistence_counts_the_seamless_enrollers_and_relates_to_them() {
    let c = MeasureCatalog::shipped();
    let plan = c
        .select(&[
            "postsecondary_enrollment".into(),
            "postsecondary_enrollment_four_year".into(),
            "college_persistence".into(),
        ])
        .unwrap();
    let tables = plan.cell_tables();
    let t = &tables[2];
    // Its population is the first fall's enrollers, in cohorts whose second fall is observed.
    assert_eq!(
        t.population,
        "ps_enrolled_fall1 AND ps_observable_fall1 AND ps_observable_fall2"
    );
    assert_eq!(
        t.universe,
        "concentrators_ps_enrolled_fall1_ps_observable_fall1_ps_observable_fall2"
    );
    assert_eq!(t.population_terms, ["ps_enrolled_fall1"]);
    assert!(t.held_out_terms.is_empty());
    // The term implies itself only: the two-year window is not in this plan.
    assert_eq!(t.term_implies, [vec!["ps_enrolled_fall1".to_string()]]);
    assert_eq!(t.counts[1].any_of, ["ps_enrolled_fall2"]);
    // A 4-year enrollment is an enrollment that fall: nested in the first table's numerator
    // and in persistence's population.
    assert_eq!(
        tables[1].counts[1].implies,
        [vec![
            "ps_enrolled_fall1".to_string(),
            "ps_enrolled_fall1_four_year".to_string()
        ]]
    );
    // The first fall is the 4-year plus the 2-year enrollers only where the plan counts both.
    assert!(tables[0].counts[1].parts.is_empty());
    let both = c
        .select(&[
            "postsecondary_enrollment".into(),
            "postsecondary_enrollment_four_year".into(),
            "postsecondary_enrollment_two_year".into(),
        ])
        .unwrap();
    assert_eq!(
        both.cell_tables()[0].counts[1].parts,
        ["ps_enrolled_fall1_four_year", "ps_enrolled_fall1_two_year"]
    );
    let dictionary = plan.measures[2].dictionary_markdown(&plan.definitions);
    assert!(
        dictionary.contains("left secondary education in the exit cohort, with a linked")
            && dictionary.contains("second fall"),
        "{dictionary}"
    );
}
