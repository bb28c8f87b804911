//! Standard output for results. A reader that stops early (`p20w query … | head -1`) closes the
//! pipe; the write then fails with a broken pipe, which this writer remembers so that the
//! binary can end quietly and successfully, as other command-line tools do, instead of
//! reporting (or panicking on) an error nobody is left to read.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a write to stdout has found the pipe closed.
pub fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// The process's stdout, noting a closed pipe.
pub struct Stdout;

impl Stdout {
    fn note<T>(r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r
            && e.kind() == ErrorKind::BrokenPipe
        {
            CLOSED.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Stdout::note(std::io::stdout().lock().write(buf))
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        Stdout::note(std::io::stdout().lock().write_all(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Stdout::note(std::io::stdout().lock().flush())
    }
}
