//! One student, several person rows: how the rows are combined into the student's groups.
//!
//! A student who attended several districts arrives as one person row per district, and the
//! rows need not agree. The combination is a function of the set of rows, never of their order:
//! - special populations are "ever during high school": a member code on any row wins, then any
//!   other reported code (National Guard or reserve), then the non-member code; a dimension no
//!   row reports gets its not-reported code;
//! - sex and race/ethnicity (each row's federal seven-category view) take the value reported on
//!   the most rows; a row that does not report one (`NotSelected`, `RaceAndEthnicityUnknown`)
//!   casts no vote, and a tie between reported values is a conflict the data cannot settle, so
//!   the student gets the not-reported code.

use p20w_schemas::{CodeSets, DIMENSIONS, Dimension};

/// The SQL of the views `person_row`, `person_majority_<dimension>` and `person_dims`: one row per student of the
/// `person` table with the student's sex, race/ethnicity and special populations.
pub(crate) fn person_dims_views() -> Vec<String> {
    let mut views = vec![format!(
        "CREATE VIEW person_row AS
         SELECT state_student_id_pid AS student_pid, sex,
                p20w_race_ethnicity(hispanic_or_latino, race_american_indian_or_alaska_native,
                  race_asian, race_black_or_african_american,
                  race_native_hawaiian_or_other_pacific_islander, race_white) AS race_ethnicity{}
           FROM person",
        special_columns(", ", |d| d.name.to_string())
    )];
    for d in DIMENSIONS
        .iter()
        .filter(|d| matches!(d.name, "sex" | "race_ethnicity"))
    {
        views.push(majority_view(d));
    }
    let special = special_columns(",\n                ", ever_expression);
    views.push(format!(
        "CREATE VIEW person_dims AS
         SELECT r.student_pid,
                COALESCE(s.sex, 'NotSelected') AS sex,
                COALESCE(e.race_ethnicity, 'RaceAndEthnicityUnknown') AS race_ethnicity{special}
           FROM person_row r
           LEFT JOIN person_majority_sex s ON s.student_pid = r.student_pid
           LEFT JOIN person_majority_race_ethnicity e ON e.student_pid = r.student_pid
          GROUP BY r.student_pid, s.sex, e.race_ethnicity"
    ));
    views
}

/// The special-population dimensions a person row carries (nontraditional is derived from the
/// program), each rendered by `render` and prefixed by `sep`.
fn special_columns(sep: &str, render: impl Fn(&Dimension) -> String) -> String {
    DIMENSIONS
        .iter()
        .filter(|d| d.special_population.is_some() && d.name != "nontraditional")
        .map(|d| format!("{sep}{}", render(d)))
        .collect()
}

/// "Ever": the first code, in precedence order, that any of the student's rows reports.
fn ever_expression(d: &Dimension) -> String {
    let codes = ever_precedence(d);
    let rank: String = codes
        .iter()
        .enumerate()
        .map(|(i, c)| format!(" WHEN '{c}' THEN {i}"))
        .collect();
    let back: String = codes
        .iter()
        .enumerate()
        .map(|(i, c)| format!(" WHEN {i} THEN '{c}'"))
        .collect();
    format!(
        "CASE min(CASE r.{name}{rank} END){back} ELSE '{none}' END AS {name}",
        name = d.name,
        none = d.not_reported
    )
}

/// A special population's reported codes from strongest to weakest: the member codes in code-set
/// order, then the non-member code. The not-reported code is not among them: it is what is left.
pub(crate) fn ever_precedence(d: &Dimension) -> Vec<String> {
    let set = CodeSets::builtin()
        .get(d.code_set)
        .expect("dimensions name existing code sets");
    let mut codes: Vec<String> = set
        .codes()
        .filter(|c| Some(*c) != d.non_member && *c != d.not_reported)
        .map(str::to_string)
        .collect();
    codes.extend(d.non_member.map(str::to_string));
    codes
}

/// `person_majority_<dim>`: per student, the reported value on the most rows, where there is one.
fn majority_view(d: &Dimension) -> String {
    format!(
        "CREATE VIEW person_majority_{name} AS
         SELECT student_pid, CASE WHEN count(*) = 1 THEN max(v) ELSE '{none}' END AS {name}
           FROM (SELECT student_pid, v,
                        rank() OVER (PARTITION BY student_pid ORDER BY n DESC) AS place
                   FROM (SELECT student_pid, {name} AS v, count(*) AS n FROM person_row
                          WHERE {name} IS NOT NULL AND {name} <> '{none}'
                          GROUP BY student_pid, {name}))
          WHERE place = 1
          GROUP BY student_pid",
        name = d.name,
        none = d.not_reported
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(name: &str) -> &'static Dimension {
        DIMENSIONS.iter().find(|d| d.name == name).unwrap()
    }

    #[test]
    fn ever_precedence_puts_members_first_and_non_members_last() {
        assert_eq!(ever_precedence(dim("disability")), ["Yes", "No"]);
        assert_eq!(ever_precedence(dim("out_of_workforce")), ["Yes", "No"]);
        assert_eq!(
            ever_precedence(dim("military_connected")),
            [
                "ActiveDuty",
                "NationalGuardOrReserve",
                "NotMilitaryConnected"
            ]
        );
    }
}
