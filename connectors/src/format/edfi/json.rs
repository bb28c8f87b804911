//! Ed-Fi API resource files: one file per resource, each either a JSON array (what concatenated
//! API pages give) or newline-delimited JSON (one resource body per line). Neither is loaded
//! whole: an array is walked element by element by a serde `SeqAccess` visitor on a parser
//! thread that hands each element over a bounded channel, NDJSON line by line.

use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::Value;

use super::{Element, Elements};
use crate::location::Input;
use crate::{ConnectorError, Rule};

/// Elements parsed ahead of the reader: bounds the memory between the threads.
const AHEAD: usize = 256;

/// Opens one resource file, telling an array from NDJSON by its first significant byte.
pub fn open(input: Input) -> Result<Box<dyn Elements>, ConnectorError> {
    let file = input.name().to_string();
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let io = |source| ConnectorError::Io {
        file: file.clone(),
        source,
    };
    // Lines before the first value, so line numbers stay those of the file.
    let mut line = 1;
    let mut first = true;
    let array = loop {
        let buf = reader.fill_buf().map_err(io)?;
        if buf.is_empty() {
            break false;
        }
        let bom = if first && buf.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        first = false;
        let skip = buf[bom..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| i + bom);
        let upto = skip.unwrap_or(buf.len());
        line += buf[..upto].iter().filter(|b| **b == b'\n').count() as u64;
        let is_array = skip.map(|i| buf[i] == b'[');
        reader.consume(upto);
        if let Some(a) = is_array {
            break a;
        }
    };
    if array {
        Ok(Box::new(ArrayElements::spawn(file, reader, line)?))
    } else {
        Ok(Box::new(NdjsonElements {
            file,
            reader,
            line: line - 1,
            buf: Vec::new(),
        }))
    }
}

/// Newline-delimited JSON: a bad line is one quarantined element, and reading goes on.
struct NdjsonElements {
    file: String,
    reader: BufReader<Input>,
    line: u64,
    buf: Vec<u8>,
}

impl Elements for NdjsonElements {
    fn file(&self) -> &str {
        &self.file
    }

    fn next_element(&mut self) -> Result<Option<Element>, ConnectorError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| ConnectorError::Io {
                    file: self.file.clone(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = self.buf.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let value = match std::str::from_utf8(text) {
                Err(_) => Err((Rule::Encoding, "the line is not valid UTF-8".to_string())),
                Ok(t) => serde_json::from_str::<Value>(t).map_err(|e| {
                    let what = match e.classify() {
                        serde_json::error::Category::Eof => "ends inside a JSON value",
                        _ => "is not one JSON value",
                    };
                    (
                        Rule::Malformed,
                        format!("the line {what} (column {})", e.column()),
                    )
                }),
            };
            return Ok(Some(Element {
                line: self.line,
                value,
            }));
        }
    }
}

enum Message {
    Element(u64, Value),
    Done,
    Failed(ConnectorError),
}

/// A JSON array, parsed on its own thread.
struct ArrayElements {
    file: String,
    receiver: Receiver<Message>,
    parser: Option<JoinHandle<()>>,
    done: bool,
}

impl ArrayElements {
    fn spawn(file: String, reader: BufReader<Input>, line: u64) -> Result<Self, ConnectorError> {
        let (sender, receiver) = sync_channel(AHEAD);
        let name = file.clone();
        let parser = std::thread::Builder::new()
            .name("edfi-json".into())
            .spawn(move || parse_array(&name, reader, line, &sender))
            .map_err(|source| ConnectorError::Io {
                file: file.clone(),
                source,
            })?;
        Ok(ArrayElements {
            file,
            receiver,
            parser: Some(parser),
            done: false,
        })
    }
}

impl Elements for ArrayElements {
    fn file(&self) -> &str {
        &self.file
    }

    fn next_element(&mut self) -> Result<Option<Element>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        let message = self.receiver.recv();
        if !matches!(message, Ok(Message::Element(..))) {
            self.done = true;
            if let Some(parser) = self.parser.take() {
                let _ = parser.join();
            }
        }
        match message {
            Ok(Message::Element(line, value)) => Ok(Some(Element {
                line,
                value: Ok(value),
            })),
            Ok(Message::Done) => Ok(None),
            Ok(Message::Failed(e)) => Err(e),
            Err(_) => Err(ConnectorError::Format {
                file: self.file.clone(),
                message: "the JSON parser stopped unexpectedly".into(),
            }),
        }
    }
}

/// Where the parser is in the file: the current line, and the line on which the element being
/// parsed began (the first byte after the previous element that is neither blank nor a comma).
#[derive(Default)]
struct Lines {
    line: Cell<u64>,
    armed: Cell<bool>,
    start: Cell<u64>,
}

struct CountingReader {
    inner: BufReader<Input>,
    lines: Rc<Lines>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let lines = &*self.lines;
        for &b in &buf[..n] {
            if lines.armed.get() && !b.is_ascii_whitespace() && b != b',' {
                lines.start.set(lines.line.get());
                lines.armed.set(false);
            }
            if b == b'\n' {
                lines.line.set(lines.line.get() + 1);
            }
        }
        Ok(n)
    }
}

/// Says the reader went away, so parsing stops quietly.
const CLOSED: &str = "the reader closed";

struct ArrayVisitor<'a> {
    lines: Rc<Lines>,
    sender: &'a SyncSender<Message>,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of Ed-Fi resources")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            self.lines.armed.set(true);
            let Some(value) = seq.next_element::<Value>()? else {
                return Ok(());
            };
            let line = self.lines.start.get();
            if self.sender.send(Message::Element(line, value)).is_err() {
                return Err(serde::de::Error::custom(CLOSED));
            }
        }
    }
}

fn parse_array(file: &str, reader: BufReader<Input>, line: u64, sender: &SyncSender<Message>) {
    let lines = Rc::new(Lines::default());
    lines.line.set(line);
    let counting = CountingReader {
        inner: reader,
        lines: lines.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(counting);
    let visitor = ArrayVisitor {
        lines: lines.clone(),
        sender,
    };
    let result = (&mut de).deserialize_seq(visitor).and_then(|()| de.end());
    let message = match result {
        Ok(()) => Message::Done,
        Err(e) if e.to_string().starts_with(CLOSED) => return,
        Err(e) => Message::Failed(array_error(file, e)),
    };
    let _ = sender.send(message);
}

/// serde_json's syntax messages name what was expected, never the input's text; type errors
/// can quote a value, so they get a fixed message.
fn array_error(file: &str, e: serde_json::Error) -> ConnectorError {
    use serde_json::error::Category;
    let (line, column) = (e.line(), e.column());
    let message = match e.classify() {
        Category::Io => {
            return ConnectorError::Io {
                file: file.to_string(),
                source: e.into(),
            };
        }
        Category::Eof => format!(
            "line {line}: the file ends inside the JSON array (truncated?); every element after \
             the last complete one is missing"
        ),
        Category::Syntax => format!("malformed JSON: {e}"),
        Category::Data => format!("line {line} column {column}: not a JSON array of resources"),
    };
    ConnectorError::Format {
        file: file.to_string(),
        message,
    }
}
