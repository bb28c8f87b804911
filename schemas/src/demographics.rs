//! The dimensions outcomes are disaggregated by, and the federal race/ethnicity derivation.

/// The literal a dimension column holds on a row that totals over that dimension.
pub const ALL: &str = "All";

/// A dimension of the published tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimension {
    /// Column name in the published tables.
    pub name: &'static str,
    /// Code set (in `code_sets.csv`) its values come from; `cte_program` uses the catalogue.
    pub code_set: &'static str,
    /// The code a person gets when the source did not report the characteristic.
    pub not_reported: &'static str,
    /// Perkins V §3(48) special population letter, where it is one.
    pub special_population: Option<char>,
    /// For a special population, the code of those outside it. Reports compare members with
    /// all concentrators, so this group is the one to give up first when a cell must go.
    pub non_member: Option<&'static str>,
}

const fn dim(name: &'static str, not_reported: &'static str) -> Dimension {
    Dimension {
        name,
        code_set: name,
        not_reported,
        special_population: None,
        non_member: None,
    }
}

const fn special(
    name: &'static str,
    not_reported: &'static str,
    letter: char,
    non_member: &'static str,
) -> Dimension {
    Dimension {
        name,
        code_set: name,
        not_reported,
        special_population: Some(letter),
        non_member: Some(non_member),
    }
}

/// Sex, race/ethnicity and the nine Perkins special populations. The program dimensions
/// (CIP code, career cluster) come from the CTE program catalogue.
pub const DIMENSIONS: &[Dimension] = &[
    dim("sex", "NotSelected"),
    dim("race_ethnicity", "RaceAndEthnicityUnknown"),
    special("disability", "NotReported", 'A', "No"),
    special("economic_disadvantage", "NotReported", 'B', "No"),
    special("nontraditional", "NotReported", 'C', "NotUnderrepresented"),
    special("single_parent", "NotReported", 'D', "No"),
    special("out_of_workforce", "Unknown", 'E', "No"),
    special("english_learner", "NotReported", 'F', "No"),
    special("homeless", "NotReported", 'G', "No"),
    special("foster_care", "NotReported", 'H', "No"),
    special("military_connected", "Unknown", 'I', "NotMilitaryConnected"),
];

/// The raw CEDS race and ethnicity flags of one person (`Yes`/`No`/`NotSelected`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RaceFlags<'a> {
    pub hispanic_or_latino: &'a str,
    pub american_indian_or_alaska_native: &'a str,
    pub asian: &'a str,
    pub black_or_african_american: &'a str,
    pub native_hawaiian_or_other_pacific_islander: &'a str,
    pub white: &'a str,
}

/// The federal seven-category view (ED 2007 guidance, CEDS 001943): Hispanic or Latino of any
/// race; otherwise the one race reported; two or more races; and, when nothing was reported,
/// `RaceAndEthnicityUnknown` so the categories stay exhaustive.
pub fn derive_race_ethnicity(f: RaceFlags<'_>) -> &'static str {
    if f.hispanic_or_latino == "Yes" {
        return "HispanicOrLatino";
    }
    let races = [
        (
            f.american_indian_or_alaska_native,
            "AmericanIndianOrAlaskaNative",
        ),
        (f.asian, "Asian"),
        (f.black_or_african_american, "BlackOrAfricanAmerican"),
        (
            f.native_hawaiian_or_other_pacific_islander,
            "NativeHawaiianOrOtherPacificIslander",
        ),
        (f.white, "White"),
    ];
    let mut yes = races.iter().filter(|(flag, _)| *flag == "Yes");
    match (yes.next(), yes.next()) {
        (None, _) => "RaceAndEthnicityUnknown",
        (Some((_, code)), None) => code,
        (Some(_), Some(_)) => "DemographicRaceTwoOrMoreRaces",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodeSets;

    fn flags<'a>(h: &'a str, races: [&'a str; 5]) -> RaceFlags<'a> {
        RaceFlags {
            hispanic_or_latino: h,
            american_indian_or_alaska_native: races[0],
            asian: races[1],
            black_or_african_american: races[2],
            native_hawaiian_or_other_pacific_islander: races[3],
            white: races[4],
        }
    }

    #[test]
    fn hispanic_overrides_race() {
        assert_eq!(
            derive_race_ethnicity(flags("Yes", ["No", "No", "Yes", "No", "Yes"])),
            "HispanicOrLatino"
        );
    }

    #[test]
    fn one_race_two_races_none() {
        assert_eq!(
            derive_race_ethnicity(flags("No", ["No", "Yes", "No", "No", "No"])),
            "Asian"
        );
        assert_eq!(
            derive_race_ethnicity(flags("No", ["Yes", "No", "No", "No", "Yes"])),
            "DemographicRaceTwoOrMoreRaces"
        );
        assert_eq!(
            derive_race_ethnicity(flags("NotSelected", ["NotSelected"; 5])),
            "RaceAndEthnicityUnknown"
        );
        // Ethnicity not reported but a race reported: the race is known.
        assert_eq!(
            derive_race_ethnicity(flags("NotSelected", ["No", "No", "No", "No", "Yes"])),
            "White"
        );
    }

    #[test]
    fn every_derived_code_is_in_the_code_set() {
        let set = CodeSets::builtin().get("race_ethnicity").unwrap();
        let values = ["Yes", "No", "NotSelected"];
        for h in values {
            for mask in 0..243u32 {
                let mut r = [""; 5];
                let mut m = mask;
                for slot in &mut r {
                    *slot = values[(m % 3) as usize];
                    m /= 3;
                }
                assert!(set.contains(derive_race_ethnicity(flags(h, r))));
            }
        }
    }
}
