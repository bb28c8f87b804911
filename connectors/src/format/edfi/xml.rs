//! Ed-Fi XML interchanges (`InterchangeStudentEnrollment` and the rest): each top-level element
//! of the wanted name is read into a small tree and renamed to the API's JSON shape, so the one
//! set of resource structs (`model.rs`) and the one mapping serve both formats.
//!
//! The XML differs from the API JSON in regular ways, undone here:
//! - references wrap their keys in an identity (`StudentReference/StudentIdentity/StudentUniqueId`)
//!   and nest other references; the API flattens both (`studentReference.studentUniqueId`);
//! - descriptor elements drop the word (`<Sex>` is `sexDescriptor`);
//! - collections repeat an element (`<Race>`, `<Race>`) where the API has a plural array;
//! - `Name`, `BirthData` and `Achievement` group fields the API keeps at the top level;
//! - a reference may point at an element's `id` attribute (`ref="LEAG_255901"`), kept as `@ref`.

use std::io::{BufRead, BufReader, Read};

use quick_xml::events::Event;
use serde_json::{Map, Value};

use super::{Element, Elements};
use crate::location::Input;
use crate::{ConnectorError, Rule};

/// Leaf elements holding a descriptor: their API name adds `Descriptor`.
const DESCRIPTORS: &[&str] = &[
    "Sex",
    "BirthSex",
    "Race",
    "LimitedEnglishProficiency",
    "SupporterMilitaryConnection",
    "EconomicDisadvantage",
    "StudentCharacteristic",
    "Disability",
    "StudentIdentificationSystem",
    "EducationOrganizationIdentificationSystem",
    "ExitWithdrawType",
    "EntryGradeLevel",
    "DiplomaType",
    "CourseAttemptResult",
    "AdditionalCreditType",
    "Term",
    "CTEProgramService",
    "ProgramType",
];

/// Repeated elements and the API array that holds them.
const COLLECTIONS: &[(&str, &str)] = &[
    ("Race", "races"),
    ("StudentCharacteristic", "studentCharacteristics"),
    ("Period", "periods"),
    ("Disability", "disabilities"),
    ("StudentIndicator", "studentIndicators"),
    ("StudentIdentificationCode", "studentIdentificationCodes"),
    (
        "EducationOrganizationIdentificationCode",
        "identificationCodes",
    ),
    ("Diploma", "diplomas"),
    ("CTEProgramService", "cteProgramServices"),
    ("EarnedAdditionalCredits", "earnedAdditionalCredits"),
];

/// Groups whose children the API keeps on the parent.
const GROUPS: &[&str] = &["Name", "BirthData", "Achievement"];

/// Opens one interchange file for the top-level elements named `element`.
pub fn open(input: Input, element: &'static str) -> Box<dyn Elements> {
    let file = input.name().to_string();
    let counting = CountingBufRead {
        inner: BufReader::with_capacity(1 << 16, input),
        line: 1,
    };
    let mut reader = quick_xml::Reader::from_reader(counting);
    reader.config_mut().trim_text(false);
    Box::new(XmlElements {
        file,
        reader,
        element,
        depth: 0,
        buf: Vec::new(),
    })
}

/// The Data Standard major version an interchange declares in its root element's namespace
/// (`http://ed-fi.org/5.2.0` → 5), if it declares one.
pub fn data_standard(input: Input) -> Option<u8> {
    let mut reader = quick_xml::Reader::from_reader(BufReader::new(input));
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(root) | Event::Empty(root) => {
                let ns = root
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"xmlns")?
                    .unescape_value()
                    .ok()?
                    .into_owned();
                let version = ns.rsplit_once("ed-fi.org/")?.1;
                return version.split('.').next()?.parse().ok();
            }
            Event::Eof => return None,
            _ => buf.clear(),
        }
    }
}

/// Counts the lines the XML parser consumes, for the line numbers of quarantined elements.
struct CountingBufRead {
    inner: BufReader<Input>,
    line: u64,
}

impl Read for CountingBufRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.line += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        Ok(n)
    }
}

impl BufRead for CountingBufRead {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let upto = amount.min(buf.len());
            self.line += buf[..upto].iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.inner.consume(amount);
    }
}

struct XmlElements {
    file: String,
    reader: quick_xml::Reader<CountingBufRead>,
    element: &'static str,
    depth: usize,
    buf: Vec<u8>,
}

/// One element read into memory: small (one resource), so a tree is fine.
#[derive(Default)]
struct Node {
    name: String,
    id: Option<String>,
    reference: Option<String>,
    text: String,
    children: Vec<Node>,
}

impl XmlElements {
    fn line(&self) -> u64 {
        self.reader.get_ref().line
    }

    fn fail(&self, e: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::Format {
            file: self.file.clone(),
            message: format!("line {}: malformed XML ({e})", self.line()),
        }
    }

    /// Reads the rest of the element just opened, into a tree. Text that is not UTF-8 makes
    /// the element unreadable but the file goes on.
    fn read_node(&mut self, root: Node) -> Result<Result<Node, (Rule, String)>, ConnectorError> {
        let mut stack = vec![root];
        let mut bad_encoding = false;
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => return Err(self.fail(e)),
            };
            match event {
                Event::Start(start) => stack.push(node(&start)),
                Event::Empty(start) => {
                    let child = node(&start);
                    stack.last_mut().expect("open").children.push(child);
                }
                Event::Text(text) => match text.xml_content() {
                    Ok(t) => stack.last_mut().expect("open").text.push_str(&t),
                    Err(_) => bad_encoding = true,
                },
                Event::CData(data) => match data.decode() {
                    Ok(t) => stack.last_mut().expect("open").text.push_str(&t),
                    Err(_) => bad_encoding = true,
                },
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c.to_string()),
                        _ => r
                            .decode()
                            .ok()
                            .and_then(|n| quick_xml::escape::resolve_predefined_entity(&n))
                            .map(str::to_string),
                    };
                    match resolved {
                        Some(t) => stack.last_mut().expect("open").text.push_str(&t),
                        None => return Err(self.fail("an entity reference it does not define")),
                    }
                }
                Event::End(_) => {
                    let mut done = stack.pop().expect("open");
                    // Text is kept whole (entities split it into pieces) and trimmed here.
                    let trimmed = done.text.trim();
                    if trimmed.len() != done.text.len() {
                        done.text = trimmed.to_string();
                    }
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => {
                            self.depth -= 1;
                            return Ok(if bad_encoding {
                                Err((
                                    Rule::Encoding,
                                    "the element's text is not valid UTF-8".into(),
                                ))
                            } else {
                                Ok(done)
                            });
                        }
                    }
                }
                Event::Eof => return Err(self.fail("the file ends inside an element (truncated?)")),
                _ => {}
            }
        }
    }
}

fn node(start: &quick_xml::events::BytesStart<'_>) -> Node {
    let mut n = Node {
        name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
        ..Node::default()
    };
    for attr in start.attributes().flatten() {
        let value = attr.unescape_value().ok().map(|v| v.into_owned());
        match attr.key.local_name().as_ref() {
            b"id" => n.id = value,
            b"ref" => n.reference = value,
            _ => {}
        }
    }
    n
}

impl Elements for XmlElements {
    fn file(&self) -> &str {
        &self.file
    }

    fn next_element(&mut self) -> Result<Option<Element>, ConnectorError> {
        loop {
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => return Err(self.fail(e)),
            };
            match event {
                Event::Start(start) => {
                    self.depth += 1;
                    if self.depth == 2 && start.local_name().as_ref() == self.element.as_bytes() {
                        let line = self.reader.get_ref().line;
                        let root = node(&start);
                        let value = self.read_node(root)?.map(|n| to_json(&n));
                        return Ok(Some(Element { line, value }));
                    }
                    if self.depth == 2 {
                        // Another resource of the interchange: skipped whole.
                        let name = start.name().as_ref().to_vec();
                        let mut skip = Vec::new();
                        if let Err(e) = self
                            .reader
                            .read_to_end_into(quick_xml::name::QName(&name), &mut skip)
                        {
                            return Err(self.fail(e));
                        }
                        self.depth -= 1;
                    }
                }
                Event::Empty(start)
                    if self.depth == 1
                        && start.local_name().as_ref() == self.element.as_bytes() =>
                {
                    let line = self.reader.get_ref().line;
                    return Ok(Some(Element {
                        line,
                        value: Ok(to_json(&node(&start))),
                    }));
                }
                Event::End(_) => self.depth = self.depth.saturating_sub(1),
                Event::Eof if self.depth == 0 => return Ok(None),
                Event::Eof => return Err(self.fail("the file ends inside an element (truncated?)")),
                _ => {}
            }
        }
    }
}

/// The API name of an XML element: lower camel case, a leading acronym lowered whole
/// (`CIPCode` → `cipCode`, `CTEProgramService` → `cteProgramService`).
fn api_name(xml: &str) -> String {
    let chars: Vec<char> = xml.chars().collect();
    let mut upper = chars.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if upper > 1 && upper < chars.len() {
        upper -= 1;
    }
    let upper = upper.max(1).min(chars.len());
    chars[..upper]
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .chain(chars[upper..].iter().copied())
        .collect()
}

fn descriptor_key(name: &str) -> String {
    format!("{}Descriptor", api_name(name))
}

fn to_json(n: &Node) -> Value {
    let mut map = Map::new();
    fill(n, &mut map);
    Value::Object(map)
}

/// Adds the children of `n` to `map` in the API's shape.
fn fill(n: &Node, map: &mut Map<String, Value>) {
    if let Some(id) = &n.id {
        map.insert("@id".into(), Value::String(id.clone()));
    }
    if let Some(r) = &n.reference {
        map.insert("@ref".into(), Value::String(r.clone()));
    }
    let is_reference = n.name.ends_with("Reference") || n.name.ends_with("Identity");
    for c in &n.children {
        let leaf = c.children.is_empty();
        if is_reference && (c.name.ends_with("Identity") || c.name.ends_with("Reference")) {
            fill(c, map);
            continue;
        }
        if !leaf && GROUPS.contains(&c.name.as_str()) {
            fill(c, map);
            continue;
        }
        if let Some((_, plural)) = COLLECTIONS.iter().find(|(x, _)| *x == c.name) {
            // `<Disability><Disability>…</Disability></Disability>`: the inner one is the
            // descriptor of the outer collection item.
            if !(leaf && c.name == n.name) {
                let item = if leaf {
                    let mut m = Map::new();
                    m.insert(descriptor_key(&c.name), Value::String(c.text.clone()));
                    Value::Object(m)
                } else {
                    to_json(c)
                };
                let entry = map
                    .entry(plural.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(item);
                }
                continue;
            }
        }
        let key = if leaf && DESCRIPTORS.contains(&c.name.as_str()) {
            descriptor_key(&c.name)
        } else {
            api_name(&c.name)
        };
        let value = if leaf && c.reference.is_none() && c.id.is_none() {
            Value::String(c.text.clone())
        } else {
            to_json(c)
        };
        map.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names() {
        assert_eq!(api_name("StudentUniqueId"), "studentUniqueId");
        assert_eq!(api_name("CIPCode"), "cipCode");
        assert_eq!(api_name("CTEProgramService"), "cteProgramService");
        assert_eq!(api_name("CTECompleter"), "cteCompleter");
        assert_eq!(api_name("A"), "a");
    }

    fn elements(xml: &str, element: &'static str) -> Vec<Element> {
        let input = Input::new("t.xml", std::io::Cursor::new(xml.as_bytes().to_vec()));
        let mut e = open(input, element);
        let mut out = Vec::new();
        while let Some(x) = e.next_element().unwrap() {
            out.push(x);
        }
        out
    }

    #[test]
    fn elements_take_the_api_shape() {
        let xml = "<?xml version=\"1.0\"?>\n<InterchangeStudentEnrollment>\n\
            <Other><StudentEducationOrganizationAssociation/></Other>\n\
            <StudentEducationOrganizationAssociation>\n\
              <StudentReference><StudentIdentity><StudentUniqueId>S1</StudentUniqueId></StudentIdentity></StudentReference>\n\
              <EducationOrganizationReference><EducationOrganizationIdentity><EducationOrganizationId>255901</EducationOrganizationId></EducationOrganizationIdentity></EducationOrganizationReference>\n\
              <Sex>uri://ed-fi.org/SexDescriptor#Female</Sex>\n\
              <HispanicLatinoEthnicity>false</HispanicLatinoEthnicity>\n\
              <Race>uri://ed-fi.org/RaceDescriptor#White</Race><Race>uri://ed-fi.org/RaceDescriptor#Asian</Race>\n\
              <StudentCharacteristic><StudentCharacteristic>uri://x/StudentCharacteristicDescriptor#Homeless</StudentCharacteristic>\
                <Period><BeginDate>2020-01-01</BeginDate></Period></StudentCharacteristic>\n\
              <Disability><Disability>uri://ed-fi.org/DisabilityDescriptor#Autism Spectrum Disorders</Disability></Disability>\n\
              <StudentIndicator><IndicatorName>homeless</IndicatorName><Indicator>A &amp; B</Indicator></StudentIndicator>\n\
            </StudentEducationOrganizationAssociation>\n\
            </InterchangeStudentEnrollment>\n";
        let got = elements(xml, "StudentEducationOrganizationAssociation");
        assert_eq!(got.len(), 1, "the nested one is not top-level");
        assert_eq!(got[0].line, 4);
        let v = got[0].value.as_ref().unwrap();
        assert_eq!(v["studentReference"]["studentUniqueId"], "S1");
        assert_eq!(
            v["educationOrganizationReference"]["educationOrganizationId"],
            "255901"
        );
        assert_eq!(v["sexDescriptor"], "uri://ed-fi.org/SexDescriptor#Female");
        assert_eq!(
            v["races"][1]["raceDescriptor"],
            "uri://ed-fi.org/RaceDescriptor#Asian"
        );
        let c = &v["studentCharacteristics"][0];
        assert_eq!(
            c["studentCharacteristicDescriptor"],
            "uri://x/StudentCharacteristicDescriptor#Homeless"
        );
        assert_eq!(c["periods"][0]["beginDate"], "2020-01-01");
        assert_eq!(
            v["disabilities"][0]["disabilityDescriptor"],
            "uri://ed-fi.org/DisabilityDescriptor#Autism Spectrum Disorders"
        );
        assert_eq!(v["studentIndicators"][0]["indicator"], "A & B");
    }

    #[test]
    fn truncated_xml_fails_with_the_file_and_line() {
        let input = Input::new(
            "cut.xml",
            std::io::Cursor::new(
                b"<I>\n<Student>\n<StudentUniqueId>1</StudentUniqueId>\n".to_vec(),
            ),
        );
        let mut e = open(input, "Student");
        let err = e.next_element().unwrap_err().to_string();
        assert!(err.starts_with("cut.xml: line"), "{err}");
        assert!(err.contains("truncated"), "{err}");
    }
}
