//! Names as agencies hold them: the pools students' names are drawn from, and the variants a
//! college clerk keys for the same person — a nickname, another transliteration, a compound
//! surname shortened, joined or re-punctuated, a family name changed by marriage, a typo.
//! English learners' names carry the variants at [`MORE_VARIANTS`] times the rate: names
//! from other scripts and naming orders are the ones clerks re-spell, and linkage must not
//! leave that group behind.

use crate::rng::Rng;

pub const FIRST_F: &[&str] = &[
    "Avery",
    "Brianna",
    "Carmen",
    "Dana",
    "Elena",
    "Fatima",
    "Grace",
    "Hana",
    "Imani",
    "Jada",
    "Keiko",
    "Lena",
    "Maya",
    "Nadia",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sofia",
    "Tamika",
    "Elizabeth",
    "Katherine",
    "Margaret",
    "Rebecca",
    "Victoria",
    "Jennifer",
    "Patricia",
    "Isabella",
    "Gabriela",
    "Alexandra",
    "Anastasia",
    "Mary-Katherine",
    "Guadalupe",
    "Xiomara",
    "Yasmin",
    "Zainab",
    "Aisha",
    "Mei",
    "Ngozi",
    "Svetlana",
];

pub const FIRST_M: &[&str] = &[
    "Aaron",
    "Bashir",
    "Caleb",
    "Diego",
    "Ethan",
    "Farid",
    "Gavin",
    "Hiro",
    "Isaac",
    "Jamal",
    "Kenji",
    "Luis",
    "Marcus",
    "Nolan",
    "Omar",
    "Pedro",
    "Rafael",
    "Samuel",
    "Tariq",
    "Wyatt",
    "William",
    "Robert",
    "Alexander",
    "Benjamin",
    "Christopher",
    "Jonathan",
    "Michael",
    "Nicholas",
    "Theodore",
    "Zachary",
    "Anthony",
    "Joseph",
    "Daniel",
    "Matthew",
    "Mohammed",
    "Yusuf",
    "Sergei",
    "Jose",
    "Maximiliano",
    "Dmitri",
];

/// Family names, some compound (spaces, hyphens, particles, apostrophes) and some longer than
/// the 20 characters an ICESA wage record keeps.
pub const LAST: &[&str] = &[
    "Abara",
    "Bellweather",
    "Castellan",
    "Dunmore",
    "Estrada-Lin",
    "Fairbanks",
    "Gutierrez",
    "Halvorsen",
    "Ibarra",
    "Jorgensen",
    "Kowalczyk",
    "Lindqvist",
    "Mbeki",
    "Nakamura",
    "Okafor",
    "Pellegrino",
    "Quintero",
    "Rasmussen",
    "Szymanski",
    "Thibodeaux",
    "Underhill",
    "Villanueva",
    "Whitcombe",
    "Yellowhorse",
    "Zaragoza",
    "Garcia Lopez",
    "De La Cruz",
    "Van der Berg",
    "Nguyen",
    "Tran",
    "Hussein",
    "Zhang",
    "Okonkwo",
    "Schneider",
    "Mueller",
    "Villanueva-Castellanos",
    "Ramirez-Ortega",
    "St. John",
    "O'Brien",
    "MacDonald",
    "Al-Sayed",
    "Petrov",
    "Johansson",
    "Oyelaran",
    "Abernathy",
    "Haddad",
    "Kaur",
    "Takahashi",
    "Ferreira",
    "Kovacs",
    "Yilmaz",
    "Adeyemi",
    "Begay",
    "Kealoha",
    "Tsosie",
    "Bartholomew-Fitzgerald",
];

/// Syllables that compose the other half of the family names: a state holds thousands of
/// surnames, and a pool of a few dozen would give every student namesakes that no real file
/// has.
const SURNAME_HEADS: &[&str] = &[
    "Ash", "Bram", "Cal", "Dal", "Elm", "Fen", "Gar", "Hol", "Ives", "Kel", "Lang", "Mar", "Nor",
    "Orm", "Pen", "Quill", "Rad", "Sel", "Tor", "Ul", "Vance", "Wes", "Yar", "Zell", "Brook",
    "Char", "Dun", "Fair", "Gold", "Hart",
];
const SURNAME_TAILS: &[&str] = &[
    "wick", "ton", "berg", "ley", "son", "field", "man", "ford", "more", "by", "stead", "worth",
    "well", "dale", "ridge", "holm", "land", "ham", "wood", "croft", "cott", "ner", "ski", "ard",
    "ens", "ow", "ell", "ing", "ey", "an",
];

/// A student's family name: half from [`LAST`] (the compound, transliterated and long ones),
/// half composed from syllables.
pub fn family_name(r: &mut Rng) -> String {
    if r.chance(0.5) {
        r.pick(LAST).to_string()
    } else {
        format!("{}{}", r.pick(SURNAME_HEADS), r.pick(SURNAME_TAILS))
    }
}

/// Formal given names and the short forms people go by.
const NICKNAMES: &[(&str, &[&str])] = &[
    ("Elizabeth", &["Liz", "Beth", "Eliza"]),
    ("Katherine", &["Kate", "Katie", "Kathy"]),
    ("Margaret", &["Maggie", "Peggy"]),
    ("Rebecca", &["Becky", "Becca"]),
    ("Victoria", &["Vicky", "Tori"]),
    ("Jennifer", &["Jen", "Jenny"]),
    ("Patricia", &["Patty", "Trish"]),
    ("Isabella", &["Bella", "Izzy"]),
    ("Gabriela", &["Gaby"]),
    ("Alexandra", &["Alex", "Sasha"]),
    ("Anastasia", &["Stacy", "Ana"]),
    ("Mary-Katherine", &["Mary Kate", "Mary"]),
    ("Guadalupe", &["Lupe"]),
    ("William", &["Will", "Bill", "Liam"]),
    ("Robert", &["Rob", "Bob", "Bobby"]),
    ("Alexander", &["Alex", "Xander"]),
    ("Benjamin", &["Ben"]),
    ("Christopher", &["Chris"]),
    ("Jonathan", &["Jon", "Johnny"]),
    ("Michael", &["Mike", "Mikey"]),
    ("Nicholas", &["Nick"]),
    ("Theodore", &["Ted", "Teddy", "Theo"]),
    ("Zachary", &["Zach", "Zack"]),
    ("Anthony", &["Tony"]),
    ("Joseph", &["Joe", "Joey"]),
    ("Daniel", &["Dan", "Danny"]),
    ("Matthew", &["Matt"]),
    ("Samuel", &["Sam"]),
    ("Maximiliano", &["Max"]),
    ("Dmitri", &["Dima"]),
];

/// Spellings of one name in Latin letters, from another script or another language's
/// spelling; the first is the pool's.
const TRANSLITERATIONS: &[&[&str]] = &[
    &["Mohammed", "Muhammad", "Mohamed", "Mohammad"],
    &["Yusuf", "Yousef", "Youssef"],
    &["Sergei", "Sergey"],
    &["Dmitri", "Dmitry"],
    &["Fatima", "Fatimah"],
    &["Aisha", "Ayesha"],
    &["Svetlana", "Swetlana"],
    &["Jose", "José"],
    &["Hussein", "Husain", "Hussain"],
    &["Zhang", "Chang"],
    &["Mueller", "Müller"],
    &["Al-Sayed", "Alsayed", "El-Sayed"],
    &["Petrov", "Petroff"],
    &["Nguyen", "Nguyễn"],
    &["Johansson", "Johanson"],
    &["Yasmin", "Yasmeen"],
    &["Zainab", "Zaynab"],
];

/// How much more often English learners' names carry a variant.
pub const MORE_VARIANTS: f64 = 2.5;

/// Per-record chances of each variant, for a student outside the group with more variants.
const NICKNAME: f64 = 0.10;
const TRANSLITERATION: f64 = 0.20;
const COMPOUND: f64 = 0.20;
const NAME_CHANGE: f64 = 0.01;
const TYPO_GIVEN: f64 = 0.06;
const TYPO_FAMILY: f64 = 0.04;

/// The given name as keyed on one record.
pub fn keyed_given(r: &mut Rng, name: &str, more_variants: bool) -> String {
    let scale = if more_variants { MORE_VARIANTS } else { 1.0 };
    if let Some((_, short)) = NICKNAMES.iter().find(|(formal, _)| *formal == name)
        && r.chance(NICKNAME * scale)
    {
        return r.pick(short).to_string();
    }
    if let Some(other) = transliteration(r, name, scale) {
        return other;
    }
    if r.chance(TYPO_GIVEN * scale) {
        return typo(r, name);
    }
    name.to_string()
}

/// The family name as keyed on one record.
pub fn keyed_family(r: &mut Rng, name: &str, more_variants: bool) -> String {
    let scale = if more_variants { MORE_VARIANTS } else { 1.0 };
    if r.chance(NAME_CHANGE) {
        // Married: a new name from the population's, or the old one joined to it.
        let new = family_name(r);
        return if r.chance(0.5) {
            new.to_string()
        } else {
            format!("{name}-{new}")
        };
    }
    if let Some(other) = transliteration(r, name, scale) {
        return other;
    }
    let compound = name.contains([' ', '-', '\'', '.']);
    if compound && r.chance(COMPOUND * scale) {
        return compound_variant(r, name);
    }
    if r.chance(TYPO_FAMILY * scale) {
        return typo(r, name);
    }
    name.to_string()
}

fn transliteration(r: &mut Rng, name: &str, scale: f64) -> Option<String> {
    let spellings = TRANSLITERATIONS.iter().find(|s| s.contains(&name))?;
    if !r.chance(TRANSLITERATION * scale) {
        return None;
    }
    let others: Vec<&str> = spellings.iter().copied().filter(|s| *s != name).collect();
    Some(r.pick(&others).to_string())
}

/// One part of a compound surname, or its parts joined, or re-punctuated.
fn compound_variant(r: &mut Rng, name: &str) -> String {
    let parts: Vec<&str> = name.split([' ', '-']).filter(|p| !p.is_empty()).collect();
    match r.below(4) {
        0 if parts.len() > 1 => parts[0].to_string(),
        1 if parts.len() > 1 => parts[parts.len() - 1].to_string(),
        2 => name.replace([' ', '-', '\'', '.'], ""),
        _ => name
            .replace('-', " ")
            .replace(' ', "-")
            .replace(['\'', '.'], ""),
    }
}

/// A keying slip: two letters swapped or one dropped.
pub fn typo(r: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_string();
    }
    let i = 1 + r.below(chars.len() as u64 - 2) as usize;
    if r.chance(0.5) {
        chars.swap(i, i + 1);
    } else {
        chars.remove(i);
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(name: &str, family: bool, more: bool) -> Vec<String> {
        let mut r = Rng::for_entity(7, 99, 1);
        (0..4_000)
            .map(|_| {
                if family {
                    keyed_family(&mut r, name, more)
                } else {
                    keyed_given(&mut r, name, more)
                }
            })
            .collect()
    }

    fn share(v: &[String], pred: impl Fn(&str) -> bool) -> f64 {
        v.iter().filter(|s| pred(s)).count() as f64 / v.len() as f64
    }

    #[test]
    fn each_kind_of_variant_occurs_at_about_its_rate() {
        let robert = variants("Robert", false, false);
        let nick = share(&robert, |s| ["Rob", "Bob", "Bobby"].contains(&s));
        assert!((0.08..0.12).contains(&nick), "nicknames {nick}");
        let mohammed = variants("Mohammed", false, false);
        let other = share(&mohammed, |s| {
            ["Muhammad", "Mohamed", "Mohammad"].contains(&s)
        });
        assert!((0.17..0.23).contains(&other), "transliterations {other}");
        let cruz = variants("De La Cruz", true, false);
        assert!(
            cruz.iter().any(|s| s == "Cruz" || s == "De"),
            "a part alone"
        );
        assert!(cruz.iter().any(|s| s == "DeLaCruz"), "parts joined");
        assert!(cruz.iter().any(|s| s == "De-La-Cruz"), "re-punctuated");
        let changed = share(&variants("Okafor", true, false), |s| !s.starts_with("Ok"));
        assert!((0.002..0.03).contains(&changed), "name changes {changed}");
        assert!(
            variants("Okafor", true, false)
                .iter()
                .any(|s| s.starts_with("Okafor-")),
            "a joined married name"
        );
    }

    #[test]
    fn the_group_with_more_variants_gets_more() {
        let unchanged = |more| share(&variants("Robert", false, more), |s| s == "Robert");
        let (plain, more) = (unchanged(false), unchanged(true));
        assert!(1.0 - more > 2.0 * (1.0 - plain), "{more} vs {plain}");
    }

    #[test]
    fn pools_hold_names_longer_than_icesa_keeps() {
        assert!(LAST.iter().any(|n| n.len() > 20));
        assert!(FIRST_F.iter().chain(FIRST_M).any(|n| n.len() > 12));
        for (formal, _) in NICKNAMES {
            assert!(
                FIRST_F.contains(formal) || FIRST_M.contains(formal),
                "{formal}"
            );
        }
        for set in TRANSLITERATIONS {
            let pooled = FIRST_F
                .iter()
                .chain(FIRST_M)
                .chain(LAST)
                .any(|n| *n == set[0]);
            assert!(pooled, "{}", set[0]);
        }
    }
}
