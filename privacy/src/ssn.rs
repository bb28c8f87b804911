//! SSN canonicalisation and validation (SSA rules as in `shared/notes/privacy.md` §3.3).
//! An invalid SSN is never dropped silently: the record keeps a reason code and no pseudonym.

/// The outcome of validating one SSN, written beside the pseudonym as `ssn_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SsnStatus {
    Valid,
    Missing,
    /// Characters other than digits, spaces and hyphens.
    BadFormat,
    BadLength,
    /// Area 000, 666 or 900–999 (outside the ITIN ranges).
    InvalidArea,
    InvalidGroup,
    InvalidSerial,
    /// Advertising and well-known placeholder numbers, and one digit repeated.
    Placeholder,
    /// An IRS individual taxpayer number (area 9xx, group 50–65, 70–88, 90–92, 94–99).
    Itin,
}

impl SsnStatus {
    pub const ALL: [SsnStatus; 9] = [
        SsnStatus::Valid,
        SsnStatus::Missing,
        SsnStatus::BadFormat,
        SsnStatus::BadLength,
        SsnStatus::InvalidArea,
        SsnStatus::InvalidGroup,
        SsnStatus::InvalidSerial,
        SsnStatus::Placeholder,
        SsnStatus::Itin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SsnStatus::Valid => "valid",
            SsnStatus::Missing => "missing",
            SsnStatus::BadFormat => "bad_format",
            SsnStatus::BadLength => "bad_length",
            SsnStatus::InvalidArea => "invalid_area",
            SsnStatus::InvalidGroup => "invalid_group",
            SsnStatus::InvalidSerial => "invalid_serial",
            SsnStatus::Placeholder => "placeholder",
            SsnStatus::Itin => "itin",
        }
    }
}

const PLACEHOLDERS: &[&str] = &["078051120", "219099999", "123456789", "987654321"];

/// Strips spaces and hyphens and validates. Returns the 9-digit canonical form when valid.
pub fn canonical_ssn(raw: &str) -> (Option<String>, SsnStatus) {
    let t = raw.trim();
    if t.is_empty() {
        return (None, SsnStatus::Missing);
    }
    let mut digits = String::with_capacity(9);
    for c in t.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' => {}
            _ => return (None, SsnStatus::BadFormat),
        }
    }
    if digits.len() != 9 {
        return (None, SsnStatus::BadLength);
    }
    let b = digits.as_bytes();
    if PLACEHOLDERS.contains(&digits.as_str()) || b.iter().all(|&c| c == b[0]) {
        return (None, SsnStatus::Placeholder);
    }
    let area: u32 = digits[0..3].parse().expect("digits");
    let group: u32 = digits[3..5].parse().expect("digits");
    let serial: u32 = digits[5..9].parse().expect("digits");
    let status = if area >= 900 {
        let itin = matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99);
        if itin {
            SsnStatus::Itin
        } else {
            SsnStatus::InvalidArea
        }
    } else if area == 0 || area == 666 {
        SsnStatus::InvalidArea
    } else if group == 0 {
        SsnStatus::InvalidGroup
    } else if serial == 0 {
        SsnStatus::InvalidSerial
    } else {
        SsnStatus::Valid
    };
    if status == SsnStatus::Valid {
        (Some(digits), status)
    } else {
        (None, status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: &str) -> SsnStatus {
        canonical_ssn(s).1
    }

    #[test]
    fn formats_normalise_to_nine_digits() {
        assert_eq!(
            canonical_ssn("219-45-7880"),
            (Some("219457880".into()), SsnStatus::Valid)
        );
        assert_eq!(
            canonical_ssn(" 219 45 7880 ").0.as_deref(),
            Some("219457880")
        );
        assert_eq!(status(""), SsnStatus::Missing);
        assert_eq!(status("21945788"), SsnStatus::BadLength);
        assert_eq!(status("2194578800"), SsnStatus::BadLength);
        assert_eq!(status("219x57880"), SsnStatus::BadFormat);
    }

    #[test]
    fn never_assigned_numbers_are_invalid() {
        assert_eq!(status("000457880"), SsnStatus::InvalidArea);
        assert_eq!(status("666457880"), SsnStatus::InvalidArea);
        assert_eq!(status("900457880"), SsnStatus::InvalidArea);
        assert_eq!(status("219007880"), SsnStatus::InvalidGroup);
        assert_eq!(status("219450000"), SsnStatus::InvalidSerial);
    }

    #[test]
    fn randomised_areas_are_valid() {
        // 734–749 and above 772 were unassigned before 2011 and are valid now.
        assert_eq!(status("740121234"), SsnStatus::Valid);
        assert_eq!(status("899121234"), SsnStatus::Valid);
    }

    #[test]
    fn placeholders_and_itins() {
        assert_eq!(status("078-05-1120"), SsnStatus::Placeholder);
        assert_eq!(status("123-45-6789"), SsnStatus::Placeholder);
        assert_eq!(status("111111111"), SsnStatus::Placeholder);
        assert_eq!(status("912-70-1234"), SsnStatus::Itin);
        assert_eq!(status("912-93-1234"), SsnStatus::InvalidArea);
    }
}
