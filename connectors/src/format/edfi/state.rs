//! What a reader keeps of the resources it joins: organizations (small) and, per student,
//! one entry keyed by `studentUniqueId`.
//!
//! Memory per student, measured by layout on a 64-bit build: the map slot (key, names, two
//! vectors: 72 bytes, over 7/8 load) plus the id and packed names on the heap come to about
//! 150 bytes; each enrollment spell adds 12 bytes, each diploma, CTE program, DS 6 SSN or
//! indicator about 48. A million students with two spells each need about 175 MB.

use std::collections::{BTreeMap, HashMap, HashSet};

use p20w_schemas::Date;
use serde::de::DeserializeOwned;

use super::{Dump, Resource, typed};
use crate::ConnectorError;
use crate::location::Inputs;

/// An open end date.
pub const OPEN: i32 = i32::MAX;

/// Days since the epoch of a `YYYY-MM-DD` date.
pub fn days(text: &str) -> Option<i32> {
    text.trim().parse::<Date>().ok().map(|d| d.to_days())
}

pub struct SchoolInfo {
    pub index: u32,
    pub lea: Option<Box<str>>,
}

/// One enrollment spell: school (index into the schools read, `u32::MAX` when unknown) and
/// entry and exit days.
pub struct Spell {
    pub school: u32,
    pub entry: i32,
    pub exit: i32,
}

/// Less common per-student facts, in one vector so a student without any pays 24 bytes.
pub enum Extra {
    /// A diploma (not a credential) from the academic record of education organization `org`.
    Diploma {
        org: Box<str>,
        award: i32,
        descriptor: Box<str>,
    },
    /// A CTE program association and the CIP code of its (primary) service.
    Program { begin: i32, end: i32, cip: Box<str> },
    /// DS 6: an SSN from `studentIdentificationCodes`, as `org` assigned it.
    Ssn { org: Box<str>, ssn: Box<str> },
    /// DS 6: an indicator from `studentEducationOrganizationAssociations` of `org`.
    Indicator {
        org: Box<str>,
        field: u8,
        value: Box<str>,
    },
}

#[derive(Default)]
pub struct StudentState {
    /// First name, last name, birth date and birth sex, separated by U+001F; `Some` exactly
    /// when the `students` resource holds the student.
    pub names: Option<Box<str>>,
    pub spells: Vec<Spell>,
    pub extra: Vec<Extra>,
}

const SEP: char = '\u{1f}';

impl StudentState {
    pub fn pack(fields: [&str; 4]) -> Box<str> {
        fields
            .map(|f| f.replace(SEP, " "))
            .join(&SEP.to_string())
            .into_boxed_str()
    }

    /// First name, last name, birth date, birth sex descriptor ("" where absent).
    pub fn names(&self) -> [&str; 4] {
        let mut out = [""; 4];
        if let Some(n) = &self.names {
            for (slot, part) in out.iter_mut().zip(n.split(SEP)) {
                *slot = part;
            }
        }
        out
    }
}

#[derive(Default)]
pub struct Joins {
    pub schools: HashMap<Box<str>, SchoolInfo>,
    pub school_ids: Vec<Box<str>>,
    pub leas: HashSet<Box<str>>,
    /// Organization id → the id reported for it (`organization_id_system`).
    pub reported: HashMap<Box<str>, Box<str>>,
    pub students: HashMap<Box<str>, StudentState>,
    /// Whether a `students` resource was read, so a reference to another student is an error.
    pub students_read: bool,
}

impl Joins {
    pub fn reported<'a>(&'a self, org: &'a str) -> &'a str {
        self.reported.get(org).map_or(org, |r| r)
    }

    pub fn student_known(&self, id: &str) -> bool {
        !self.students_read || self.students.get(id).is_some_and(|s| s.names.is_some())
    }

    pub fn student(&mut self, id: &str) -> &mut StudentState {
        if !self.students.contains_key(id) {
            self.students.insert(id.into(), StudentState::default());
        }
        self.students.get_mut(id).expect("just inserted")
    }

    /// The spells of `state` under education organization `org`: at that school, or at a
    /// school of that LEA; every spell when `org` is neither (a state agency).
    pub fn spells_under<'a>(
        &'a self,
        state: &'a StudentState,
        org: &'a str,
    ) -> impl Iterator<Item = &'a Spell> + 'a {
        let school = self.schools.get(org).map(|s| s.index);
        // `leas` also holds every LEA a school names, so this is one lookup.
        let is_lea = self.leas.contains(org);
        state.spells.iter().filter(move |spell| {
            if let Some(index) = school {
                return spell.school == index;
            }
            if !is_lea {
                return true;
            }
            self.school_ids
                .get(spell.school as usize)
                .and_then(|id| self.schools.get(id))
                .is_some_and(|s| s.lea.as_deref() == Some(org))
        })
    }
}

/// Reads every record of `resource` into `f`; records that do not fit the resource are
/// skipped and counted under `skipped` (they are not records of the entity read). Returns
/// whether the dump holds the resource.
pub fn each<T: DeserializeOwned>(
    dump: &Dump,
    inputs: &mut Inputs,
    resource: Resource,
    skipped: &mut BTreeMap<String, u64>,
    mut f: impl FnMut(T),
) -> Result<bool, ConnectorError> {
    let Some(mut elements) = dump.open(resource, inputs)? else {
        return Ok(false);
    };
    while let Some(element) = elements.next_element()? {
        match element.value.and_then(|v| typed::<T>(resource, v)) {
            Ok(t) => f(t),
            Err((_, message)) => {
                tracing::warn!(
                    file = elements.file(),
                    line = element.line,
                    "{message}; skipped"
                );
                *skipped
                    .entry(format!(
                        "{}: unreadable records skipped (see the log for lines)",
                        resource.api_name()
                    ))
                    .or_default() += 1;
            }
        }
    }
    Ok(true)
}
