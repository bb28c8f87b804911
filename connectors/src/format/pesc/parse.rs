//! The event loop of the PESC reader: element paths by local name, the person, school and
//! record being read, and one canonical record per `AcademicAward` or `AcademicSession`.

use std::io::{BufRead, BufReader};

use p20w_schemas::{Date, Entity};
use quick_xml::events::Event;

use super::Config;
use crate::format::shipped::{Skipped, cip};
use crate::location::{Input, Inputs};
use crate::record::RecordBuilder;
use crate::{ConnectorError, Rule, SourceBatch};

/// Organization identifiers, most specific first.
const ORG_IDS: [&str; 6] = ["OPEID", "IPEDS", "FICE", "ATP", "ACT", "CEEBACT"];

#[derive(Debug, Default, Clone)]
struct Org {
    ids: [Option<String>; 6],
    secondary: bool,
}

impl Org {
    fn id(&self) -> Option<&str> {
        self.ids.iter().flatten().next().map(String::as_str)
    }
    fn set(&mut self, element: &str, text: &str) {
        if let Some(i) = ORG_IDS.iter().position(|e| *e == element) {
            self.ids[i].get_or_insert_with(|| text.to_string());
        }
        if element == "SchoolLevel" && text == "Secondary" {
            self.secondary = true;
        }
    }
}

#[derive(Debug, Default)]
struct Person {
    ssn: String,
    school_id: String,
    state_id: String,
    first: String,
    last: String,
    birth: String,
    /// An element of the person that could not be read; every record of the student fails.
    failure: Option<(Rule, String)>,
}

#[derive(Debug, Default)]
struct Award {
    line: u64,
    level: String,
    date: String,
    cip: Option<String>,
    completed: Option<String>,
    failure: Option<(Rule, String)>,
}

#[derive(Debug, Default)]
struct Session {
    line: u64,
    designator: String,
    begin: String,
    end: String,
    kind: String,
    hours: String,
    unit: String,
    school: Org,
    failure: Option<(Rule, String)>,
}

/// Streams batches of one entity from PESC transcripts.
pub struct PescReader {
    file: String,
    entity: Entity,
    config: Config,
    xml: quick_xml::Reader<BufReader<Input>>,
    buf: Vec<u8>,
    /// Open elements: local name and the line their start tag is on.
    path: Vec<(String, u64)>,
    line: u64,
    text: String,
    text_failed: bool,
    sender: Org,
    record_school: Org,
    person: Person,
    award: Option<Award>,
    session: Option<Session>,
    pub(super) inputs: Inputs,
    pub(super) records: RecordBuilder,
    pub(super) skipped: Skipped,
    pub(super) finished: bool,
}

impl PescReader {
    pub(super) fn new(
        file: String,
        entity: Entity,
        config: Config,
        input: Input,
        inputs: Inputs,
        records: RecordBuilder,
    ) -> PescReader {
        let mut xml = quick_xml::Reader::from_reader(BufReader::with_capacity(1 << 16, input));
        let c = xml.config_mut();
        c.expand_empty_elements = true;
        c.check_end_names = true;
        PescReader {
            file,
            entity,
            config,
            xml,
            buf: Vec::with_capacity(4096),
            path: Vec::new(),
            line: 1,
            text: String::new(),
            text_failed: false,
            sender: Org::default(),
            record_school: Org::default(),
            person: Person::default(),
            award: None,
            session: None,
            inputs,
            records,
            skipped: Skipped::default(),
            finished: false,
        }
    }

    pub(super) fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        if self.line == 1 && self.path.is_empty() {
            self.refuse_utf16()?;
        }
        while !self.records.is_full() && !self.finished {
            self.buf.clear();
            let result = self
                .xml
                .read_event_into(&mut self.buf)
                .map(Event::into_owned);
            let event = match result {
                Ok(e) => e,
                Err(quick_xml::Error::Io(e)) => {
                    return Err(ConnectorError::Io {
                        file: self.file.clone(),
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    });
                }
                Err(e) => {
                    self.broken(&xml_error_kind(&e));
                    break;
                }
            };
            match event {
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    let line = self.line;
                    self.line += newlines(&e);
                    self.start(&name, line);
                    self.path.push((name, line));
                    self.text.clear();
                    self.text_failed = false;
                }
                Event::End(_) => {
                    let text = std::mem::take(&mut self.text);
                    let failed = std::mem::replace(&mut self.text_failed, false);
                    self.end(text.trim(), failed);
                    self.path.pop();
                }
                Event::Text(t) => {
                    self.line += newlines(&t);
                    self.append(&t);
                }
                Event::CData(t) => {
                    self.line += newlines(&t);
                    self.append(&t);
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        Ok(None) => std::str::from_utf8(&r)
                            .ok()
                            .and_then(quick_xml::escape::resolve_predefined_entity)
                            .map(str::to_string),
                        Err(_) => None,
                    };
                    match resolved {
                        Some(s) => self.text.push_str(&s),
                        None => self.text_failed = true,
                    }
                }
                Event::Comment(t) => self.line += newlines(&t),
                Event::PI(t) => self.line += newlines(&t),
                Event::DocType(t) => self.line += newlines(&t),
                Event::Decl(d) => self.line += newlines(&d),
                Event::Empty(_) => unreachable!("empty elements are expanded"),
                Event::Eof => {
                    if !self.path.is_empty() {
                        self.broken(
                            "the document ends before its elements are closed (truncated?)",
                        );
                    }
                    self.finished = true;
                }
            }
        }
        self.records.take_batch()
    }

    /// quick-xml reads UTF-8 only; a UTF-16 transcript (PESC's samples include some) fails
    /// the source with what to do, rather than as garbled text.
    fn refuse_utf16(&mut self) -> Result<(), ConnectorError> {
        let head = self
            .xml
            .get_mut()
            .fill_buf()
            .map_err(|source| ConnectorError::Io {
                file: self.file.clone(),
                source,
            })?;
        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            return Err(ConnectorError::Format {
                file: self.file.clone(),
                message: "the file is UTF-16; convert it to UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)"
                    .into(),
            });
        }
        Ok(())
    }

    fn append(&mut self, raw: &[u8]) {
        match std::str::from_utf8(raw) {
            Ok(s) => self.text.push_str(s),
            Err(_) => self.text_failed = true,
        }
    }

    /// The document cannot be read further: the record open now (or the innermost open
    /// element, standing for whatever it held) is quarantined where it began.
    fn broken(&mut self, why: &str) {
        let open = if let Some(a) = &self.award {
            Some(("AcademicAward", a.line))
        } else if let Some(s) = &self.session {
            Some(("AcademicSession", s.line))
        } else {
            self.path.last().map(|(n, l)| (n.as_str(), *l))
        };
        let (element, line) = open.unwrap_or(("document", self.line));
        let message = format!(
            "malformed XML: {why}; <{element}> begun on this line is lost and nothing after \
             it could be read"
        );
        let element = element.to_string();
        self.records
            .reject(line, Some(&element), Rule::Malformed, message);
        self.award = None;
        self.session = None;
        self.finished = true;
    }

    fn parent(&self, back: usize) -> &str {
        self.path
            .len()
            .checked_sub(back)
            .map_or("", |i| self.path[i].0.as_str())
    }

    fn start(&mut self, name: &str, line: u64) {
        match name {
            "CollegeTranscript" => self.sender = Org::default(),
            "Student" => self.person = Person::default(),
            "AcademicRecord" => self.record_school = Org::default(),
            "AcademicAward" => {
                self.award = Some(Award {
                    line,
                    ..Award::default()
                })
            }
            "AcademicSession" => {
                self.session = Some(Session {
                    line,
                    ..Session::default()
                })
            }
            _ => {}
        }
    }

    /// The end of element `path.last()`, whose text is `text`.
    fn end(&mut self, text: &str, failed: bool) {
        let name = self.path.last().map(|(n, _)| n.clone()).unwrap_or_default();
        let (p1, p2, p3) = (self.parent(2), self.parent(3), self.parent(4));
        let (p1, p2, p3) = (p1.to_string(), p2.to_string(), p3.to_string());
        if failed {
            let failure = (
                Rule::Encoding,
                format!("{name} is not valid UTF-8 or holds an unknown entity"),
            );
            if let Some(a) = &mut self.award {
                a.failure.get_or_insert(failure);
            } else if let Some(s) = &mut self.session {
                s.failure.get_or_insert(failure);
            } else if self.path.iter().any(|(n, _)| n == "Person") {
                self.person.failure.get_or_insert(failure);
            }
            return;
        }
        match (name.as_str(), p1.as_str()) {
            ("AcademicAward", _) => return self.emit_award(),
            ("AcademicSession", _) => return self.emit_session(),
            _ => {}
        }
        if p1 == "Organization" && p2 == "Source" && p3 == "TransmissionData" {
            self.sender.set(&name, text);
        } else if p1 == "School" && p2 == "AcademicSession" {
            if let Some(s) = &mut self.session {
                s.school.set(&name, text);
            }
        } else if p1 == "School" && p2 == "AcademicRecord" {
            self.record_school.set(&name, text);
        } else if let Some(a) = &mut self.award {
            match (name.as_str(), p1.as_str()) {
                ("AcademicAwardLevel", "AcademicAward") => a.level = text.to_string(),
                ("AcademicAwardDate", "AcademicAward") => a.date = text.to_string(),
                ("AcademicCompletionIndicator", "AcademicAward") => {
                    a.completed = Some(text.to_string())
                }
                ("ProgramCIPCode", "AcademicAwardProgram") => {
                    a.cip.get_or_insert_with(|| text.to_string());
                }
                _ => {}
            }
        } else if let Some(s) = &mut self.session {
            match (name.as_str(), p1.as_str()) {
                ("SessionDesignator", "AcademicSessionDetail") => s.designator = text.to_string(),
                ("SessionBeginDate", "AcademicSessionDetail") => s.begin = text.to_string(),
                ("SessionEndDate", "AcademicSessionDetail") => s.end = text.to_string(),
                ("SessionType", "AcademicSessionDetail") => s.kind = text.to_string(),
                ("CreditHoursAttempted", "GPA") if p3 == "AcademicSession" => {
                    s.hours = text.to_string()
                }
                ("CreditUnit", "GPA") if p3 == "AcademicSession" => s.unit = text.to_string(),
                _ => {}
            }
        } else if p1 == "Person" || (p2 == "Person" && matches!(p1.as_str(), "Name" | "Birth")) {
            let person = &mut self.person;
            match (name.as_str(), p1.as_str()) {
                ("SSN", "Person") => person.ssn = text.to_string(),
                ("SchoolAssignedPersonID", "Person") => person.school_id = text.to_string(),
                ("FirstName", "Name") => person.first = text.to_string(),
                ("LastName", "Name") => person.last = text.to_string(),
                ("BirthDate", "Birth") => person.birth = text.to_string(),
                (n, "Person") if Some(n) == self.config.state_student_id.as_deref() => {
                    person.state_id = text.to_string()
                }
                _ => {}
            }
        }
    }

    fn institution<'a>(&'a self, session: Option<&'a Org>) -> &'a str {
        session
            .and_then(Org::id)
            .or_else(|| self.record_school.id())
            .or_else(|| self.sender.id())
            .unwrap_or("")
    }

    fn emit_award(&mut self) {
        let Some(award) = self.award.take() else {
            return;
        };
        let secondary_level = award.level.len() == 3
            && award.level.starts_with('B')
            && award.level[1..].bytes().all(|b| b.is_ascii_digit());
        if secondary_level || self.record_school.secondary {
            return self.skipped.add("secondary_award");
        }
        if award.completed.as_deref() == Some("false") {
            return self.skipped.add("award_not_completed");
        }
        if self.entity != Entity::PsAward {
            return self.skipped.add("academic_award");
        }
        if let Some((rule, message)) = award.failure.or_else(|| self.person.failure.clone()) {
            return self.records.reject(award.line, None, rule, message);
        }
        let cip_code = award.cip.as_deref().map(cip).unwrap_or_default();
        let institution = self
            .institution(self.session.as_ref().map(|s| &s.school))
            .to_string();
        let values = self.values(&institution, |field| match field {
            "award_level" => Some(award.level.as_str()),
            "cip_code" => Some(cip_code.as_str()),
            "award_date" => Some(award.date.as_str()),
            _ => None,
        });
        let values: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        self.records.push(award.line, &values);
    }

    fn emit_session(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        if self.record_school.secondary {
            return self.skipped.add("secondary_session");
        }
        if self.entity != Entity::PsEnrollment {
            return self.skipped.add("academic_session");
        }
        if let Some((rule, message)) = session
            .failure
            .clone()
            .or_else(|| self.person.failure.clone())
        {
            return self.records.reject(session.line, None, rule, message);
        }
        let (begin, end) = match session_dates(&session) {
            Ok(dates) => dates,
            Err(()) => {
                let message = "SessionDesignator is not a month written YYYY-MM".to_string();
                return self.records.reject(
                    session.line,
                    Some("SessionDesignator"),
                    Rule::Date,
                    message,
                );
            }
        };
        let status = session_status(&session.hours, &session.unit);
        let institution = self.institution(Some(&session.school)).to_string();
        let level = self.config.institution_level.clone().unwrap_or_default();
        let values = self.values(&institution, |field| match field {
            "institution_level" => Some(level.as_str()),
            "begin_date" => Some(begin.as_str()),
            "end_date" => Some(end.as_str()),
            "enrollment_status" => Some(status),
            _ => None,
        });
        let values: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        self.records.push(session.line, &values);
    }

    /// The entity's field texts: the person's and institution's, then the record's own.
    fn values<'a>(
        &self,
        institution: &str,
        own: impl Fn(&str) -> Option<&'a str>,
    ) -> Vec<Option<String>> {
        let p = &self.person;
        self.entity
            .fields()
            .iter()
            .map(|f| {
                let v = match f.name {
                    "institution_id" => institution,
                    "institution_student_id" => &p.school_id,
                    "state_student_id" => &p.state_id,
                    "ssn" => &p.ssn,
                    "first_name" => &p.first,
                    "last_name" => &p.last,
                    "birth_date" => &p.birth,
                    other => return own(other).map(str::to_string),
                };
                Some(v.to_string())
            })
            .collect()
    }
}

/// Begin and end dates of a session (see the module documentation); `Err` when only a
/// designator is given and it is not a month.
fn session_dates(s: &Session) -> Result<(String, String), ()> {
    if !s.begin.is_empty() {
        return Ok((s.begin.clone(), s.end.clone()));
    }
    let d = s.designator.as_str();
    let shaped = d.len() == 7 && d.as_bytes()[4] == b'-';
    let year: i32 = d
        .get(..4)
        .filter(|_| shaped)
        .and_then(|y| y.parse().ok())
        .ok_or(())?;
    let month: u32 = d.get(5..).and_then(|m| m.parse().ok()).ok_or(())?;
    let begin = Date::new(year, month, 1).ok_or(())?;
    let months = match s.kind.as_str() {
        "Semester" | "Trimester" => 4,
        "Quarter" | "SummerSession" => 3,
        _ => 0,
    };
    let end = if !s.end.is_empty() {
        s.end.clone()
    } else if months == 0 {
        String::new()
    } else {
        // The day before the first day of the month after the session's last month.
        let after = month - 1 + months;
        let next = Date::new(year + (after / 12) as i32, after % 12 + 1, 1).expect("a month");
        Date::from_days(next.to_days() - 1).to_string()
    };
    Ok((begin.to_string(), end))
}

/// Enrollment intensity from credit hours attempted (see the module documentation).
fn session_status(hours: &str, unit: &str) -> &'static str {
    let Ok(hours) = hours.parse::<f64>() else {
        return "";
    };
    if !matches!(unit, "Semester" | "Trimester" | "Quarter") || hours <= 0.0 {
        return "";
    }
    if hours >= 12.0 {
        "01"
    } else if hours >= 6.0 {
        "02"
    } else {
        "03"
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// What went wrong, in words that cannot carry a value from the document.
fn xml_error_kind(e: &quick_xml::Error) -> String {
    match e {
        quick_xml::Error::Syntax(s) => s.to_string(),
        quick_xml::Error::IllFormed(i) => i.to_string(),
        _ => "not well-formed".to_string(),
    }
}
