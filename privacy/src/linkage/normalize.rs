//! What is compared: names folded to lowercase ASCII letters and birth dates split into parts.
//!
//! Agencies write the same name differently ("O'Brien", "OBRIEN", "De la Cruz", "José"), so
//! case, spacing, punctuation and the common Latin diacritics are folded away before any token
//! is made; letters outside that fold stay as they are and take the encoder's slow path.

/// A name as compared: lowercase letters only, spaces, hyphens and apostrophes removed.
pub fn fold_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    raw.chars().for_each(|c| fold_letter(c, &mut out));
    out
}

/// A letter as compared, onto `out`; digits, spaces, hyphens, apostrophes and other marks carry
/// no name and add nothing.
fn fold_letter(c: char, out: &mut String) {
    if c.is_ascii_alphabetic() {
        out.push(c.to_ascii_lowercase());
    } else if let Some(f) = fold_latin(c) {
        out.push_str(f);
    } else if c.is_alphabetic() {
        out.extend(c.to_lowercase());
    }
}

/// An address, locality, postcode or other identifier as compared: lowercase letters and digits
/// only, so "12 Main St." and "12 mainst" agree and a moved space ("weipap lace") costs nothing.
pub fn fold_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_digit() {
            out.push(c);
        } else {
            fold_letter(c, &mut out);
        }
    }
    out
}

/// A folded given name in its standard form: a nickname as the formal name (`bob` →
/// `robert`), another romanisation as one spelling (`muhammad` → `mohammed`), from the table
/// `privacy/data/given_name_standards.csv`; any other name as it is. Both sides of a link
/// standardise alike, so "Bob" and "Robert" encode the same.
pub fn standard_given(folded: String) -> String {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<String, String>> =
        std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let text = include_str!("../../data/given_name_standards.csv");
        csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .from_reader(text.as_bytes())
            .records()
            .map(|r| {
                let r = r.expect("the shipped table is valid CSV (tested)");
                (fold_name(&r[0]), fold_name(&r[1]))
            })
            .collect()
    });
    match table.get(&folded) {
        Some(standard) => standard.clone(),
        None => folded,
    }
}

/// The common Latin-1 and Latin Extended-A letters, as their base letters.
fn fold_latin(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å'
        | 'Ā' | 'Ă' | 'Ą' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' | 'Ć' | 'Č' => "c",
        'ď' | 'đ' | 'Ď' | 'Đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ė' | 'Ę'
        | 'Ě' => "e",
        'ğ' | 'Ğ' => "g",
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'Ī' | 'Į' | 'İ' => {
            "i"
        }
        'ł' | 'ľ' | 'ĺ' | 'Ł' | 'Ľ' | 'Ĺ' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' | 'Ń' | 'Ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' | 'Ō'
        | 'Ő' => "o",
        'œ' | 'Œ' => "oe",
        'ř' | 'ŕ' | 'Ř' | 'Ŕ' => "r",
        'ś' | 'š' | 'ş' | 'Ś' | 'Š' | 'Ş' => "s",
        'ß' => "ss",
        'ť' | 'ţ' | 'Ť' | 'Ţ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' | 'Ù' | 'Ú' | 'Û' | 'Ü' | 'Ū' | 'Ů' | 'Ű'
        | 'Ų' => "u",
        'ý' | 'ÿ' | 'Ý' | 'Ÿ' => "y",
        'ź' | 'ż' | 'ž' | 'Ź' | 'Ż' | 'Ž' => "z",
        _ => return None,
    })
}

/// A birth date's parts, parsed from ISO `YYYY-MM-DD` (also `YYYYMMDD` and `MM/DD/YYYY`, the
/// forms agency files use). Anything else is missing rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl BirthDate {
    pub fn parse(raw: &str) -> Option<BirthDate> {
        let raw = raw.trim();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty();
        let (y, m, d) = if let Some((y, rest)) = raw.split_once('-') {
            let (m, d) = rest.split_once('-')?;
            (y, m, d)
        } else if let Some((m, rest)) = raw.split_once('/') {
            let (d, y) = rest.split_once('/')?;
            (y, m, d)
        } else if raw.len() == 8 {
            (&raw[..4], &raw[4..6], &raw[6..])
        } else {
            return None;
        };
        if !(digits(y) && digits(m) && digits(d)) || y.len() != 4 {
            return None;
        }
        let date = BirthDate {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let plausible = (1900..=2100).contains(&date.year)
            && (1..=12).contains(&date.month)
            && (1..=31).contains(&date.day);
        plausible.then_some(date)
    }

    /// Month and day in ascending order: the same for a date and its month/day swap.
    pub fn month_day_unordered(self) -> (u8, u8) {
        (self.month.min(self.day), self.month.max(self.day))
    }
}

/// Sex as one letter (`f`, `m`, `x`), or `None` when not reported.
pub fn fold_sex(raw: &str) -> Option<char> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "f" | "female" | "2" => Some('f'),
        "m" | "male" | "1" => Some('m'),
        "x" | "u" | "nonbinary" | "non-binary" | "another" => Some('x'),
        _ => None,
    }
}

/// American Soundex of a folded name (`robert` → `r163`): a blocking key that survives most
/// misspellings. `None` for a name with no ASCII letter.
pub fn soundex(folded: &str) -> Option<[u8; 4]> {
    let code = |c: u8| match c {
        b'b' | b'f' | b'p' | b'v' => b'1',
        b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
        b'd' | b't' => b'3',
        b'l' => b'4',
        b'm' | b'n' => b'5',
        b'r' => b'6',
        b'h' | b'w' => b'h', // transparent: letters either side coded once
        _ => b'0',           // vowels separate equal codes
    };
    let mut letters = folded.bytes().filter(u8::is_ascii_lowercase);
    let first = letters.next()?;
    let mut out = [first, b'0', b'0', b'0'];
    let (mut len, mut last) = (1, code(first));
    for c in letters {
        let k = code(c);
        if k == b'h' {
            continue;
        }
        if k != b'0' && k != last {
            out[len] = k;
            len += 1;
            if len == 4 {
                break;
            }
        }
        last = k;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_case_punctuation_and_diacritics() {
        assert_eq!(fold_name("O'Brien"), "obrien");
        assert_eq!(fold_name("de la Cruz-Peña"), "delacruzpena");
        assert_eq!(fold_name("JOSÉ"), "jose");
        assert_eq!(fold_name("Ærø"), "aero");
        assert_eq!(fold_name("Ли"), "ли");
        assert_eq!(fold_name(" 3rd "), "rd");
        assert_eq!(fold_text("12 Main St., Apt 3"), "12mainstapt3");
        assert_eq!(fold_text("Peña-Ñuñoa"), "penanunoa");
    }

    #[test]
    fn birth_dates_parse_in_agency_forms_and_refuse_the_rest() {
        let d = BirthDate {
            year: 2004,
            month: 3,
            day: 9,
        };
        assert_eq!(BirthDate::parse("2004-03-09"), Some(d));
        assert_eq!(BirthDate::parse("20040309"), Some(d));
        assert_eq!(BirthDate::parse("03/09/2004"), Some(d));
        for bad in [
            "",
            "2004-13-01",
            "2004-00-10",
            "1850-01-01",
            "04-03-09",
            "2004-3",
            "abcd-ef-gh",
        ] {
            assert_eq!(BirthDate::parse(bad), None, "{bad}");
        }
        assert_eq!(
            d.month_day_unordered(),
            BirthDate {
                year: 2004,
                month: 9,
                day: 3
            }
            .month_day_unordered()
        );
    }

    #[test]
    fn soundex_matches_the_published_examples() {
        // The National Archives' examples.
        for (name, code) in [
            ("robert", "r163"),
            ("rupert", "r163"),
            ("rubin", "r150"),
            ("ashcraft", "a261"),
            ("tymczak", "t522"),
            ("pfister", "p236"),
            ("honeyman", "h555"),
        ] {
            assert_eq!(
                soundex(name).as_ref().map(|c| &c[..]),
                Some(code.as_bytes()),
                "{name}"
            );
        }
        assert_eq!(soundex(""), None);
        assert_eq!(soundex("ли"), None);
    }
}
