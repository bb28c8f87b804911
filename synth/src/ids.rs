//! Identifiers that are unique by construction: an affine bijection over the space of valid
//! SSNs (areas 001–899 without 666, groups 01–99, serials 0001–9999), so a million people get
//! distinct SSNs without a set in memory, and a typo can be checked against everyone's SSN by
//! inverting the map.

const AREAS: u64 = 898;
const GROUPS: u64 = 99;
const SERIALS: u64 = 9_999;
const SPACE: u64 = AREAS * GROUPS * SERIALS;
// Must be coprime with SPACE; a test checks it has an inverse.
const MULTIPLIER: u64 = 1_000_000_007; // prime, so coprime with SPACE = 2·3⁴·11²·101·449
const OFFSET: u64 = 123_457;

/// The SSN of person number `index`, as 9 digits. Always valid under SSA rules.
pub fn ssn_for(index: u64) -> String {
    let j = ((index as u128 * MULTIPLIER as u128 + OFFSET as u128) % SPACE as u128) as u64;
    let serial = j % SERIALS + 1;
    let group = (j / SERIALS) % GROUPS + 1;
    let area_idx = j / (SERIALS * GROUPS);
    let area = if area_idx + 1 >= 666 {
        area_idx + 2
    } else {
        area_idx + 1
    };
    format!("{area:03}{group:02}{serial:04}")
}

/// The person number whose SSN this is, if the digits are a valid SSN in the space.
pub fn index_of_ssn(ssn: &str) -> Option<u64> {
    if ssn.len() != 9 || !ssn.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let area: u64 = ssn[0..3].parse().ok()?;
    let group: u64 = ssn[3..5].parse().ok()?;
    let serial: u64 = ssn[5..9].parse().ok()?;
    if area == 0 || area == 666 || area > 899 || group == 0 || serial == 0 {
        return None;
    }
    let area_idx = if area > 666 { area - 2 } else { area - 1 };
    let j = (area_idx * GROUPS + group - 1) * SERIALS + serial - 1;
    let inv = mod_inverse(MULTIPLIER, SPACE)?;
    let shifted = (j as i128 - OFFSET as i128).rem_euclid(SPACE as i128) as u128;
    Some(((shifted * inv as u128) % SPACE as u128) as u64)
}

fn mod_inverse(a: u64, m: u64) -> Option<u64> {
    let (mut old_r, mut r) = (a as i128, m as i128);
    let (mut old_s, mut s) = (1i128, 0i128);
    while r != 0 {
        let q = old_r / r;
        (old_r, r) = (r, old_r - q * r);
        (old_s, s) = (s, old_s - q * s);
    }
    (old_r == 1).then(|| old_s.rem_euclid(m as i128) as u64)
}

/// The state student id of student `index`: `S` and nine digits, scrambled so ids do not
/// reveal generation order.
pub fn state_student_id_for(index: u64) -> String {
    let scrambled = (index * 7_919 + 104_729) % 1_000_000_000;
    format!("S{scrambled:09}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use p20w_privacy::{SsnStatus, canonical_ssn};

    #[test]
    fn multiplier_is_invertible() {
        assert!(mod_inverse(MULTIPLIER, SPACE).is_some());
    }

    #[test]
    fn ssns_are_valid_unique_and_invertible() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..2_000_000).step_by(13) {
            let s = ssn_for(i);
            assert_eq!(canonical_ssn(&s).1, SsnStatus::Valid, "{s}");
            assert!(seen.insert(s.clone()));
            assert_eq!(index_of_ssn(&s), Some(i));
        }
    }
}
