//! Lines of a fixed-width file, read with a bounded buffer: a line longer than its record can
//! be is reported as overlong and skipped in pieces, so a file without line breaks never
//! makes the reader hold it whole.

use std::io::{BufRead, BufReader, Read};

/// One physical line, without its `\n` or `\r\n`.
pub enum Line<'a> {
    Bytes(&'a [u8]),
    /// Longer than the cap; its bytes were skipped.
    Overlong,
}

pub struct Lines<R: Read> {
    inner: BufReader<R>,
    buf: Vec<u8>,
    cap: usize,
    number: u64,
}

impl<R: Read> Lines<R> {
    /// `cap`: the longest line kept, in bytes (a record plus a `\r`).
    pub fn new(inner: R, cap: usize) -> Lines<R> {
        Lines {
            inner: BufReader::with_capacity(256 * 1024, inner),
            buf: Vec::with_capacity(cap),
            cap,
            number: 0,
        }
    }

    /// The next line and its 1-based number, or `None` at the end of the input.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut overlong = false;
        let mut any = false;
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            if !overlong && self.buf.len() + chunk.len() <= self.cap {
                self.buf.extend_from_slice(chunk);
            } else {
                overlong = true;
            }
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.number += 1;
        if overlong {
            return Ok(Some((self.number, Line::Overlong)));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((self.number, Line::Bytes(&self.buf))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], cap: usize) -> Vec<(u64, Option<Vec<u8>>)> {
        let mut lines = Lines::new(text, cap);
        let mut out = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            out.push((
                n,
                match line {
                    Line::Bytes(b) => Some(b.to_vec()),
                    Line::Overlong => None,
                },
            ));
        }
        out
    }

    #[test]
    fn crlf_lf_last_line_and_overlong() {
        let got = all(b"ab\r\ncd\n\nefghij\nkl", 5);
        assert_eq!(
            got,
            [
                (1, Some(b"ab".to_vec())),
                (2, Some(b"cd".to_vec())),
                (3, Some(vec![])),
                (4, None),
                (5, Some(b"kl".to_vec())),
            ]
        );
        assert!(all(b"", 5).is_empty());
        assert_eq!(all(b"ab\n", 5).len(), 1);
    }
}
