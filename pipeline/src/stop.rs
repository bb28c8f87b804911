//! Stopping a run on SIGINT or SIGTERM: the run is cancelled, its work folder and any unfinished
//! release are removed, and the process exits with 128 + the signal's number (130, 143).
//!
//! Dropping the run's future runs its guards ([`crate::workdir::LockedDir`]), but DataFusion's
//! spawned tasks may still be writing, so the runtime is shut down first and every folder the
//! process created is removed again afterwards. Signals arrive on a thread of their own
//! (signal-hook): should the run not yield within [`GRACE`], that thread removes the folders and
//! exits by itself, and a second signal does so at once.

use std::future::Future;
use std::time::Duration;

use crate::workdir::remove_created;

/// How long a stopped run may take to wind down before the signal thread ends the process.
pub const GRACE: Duration = Duration::from_secs(10);
/// How long the runtime waits for DataFusion's tasks to stop.
const SHUTDOWN: Duration = Duration::from_secs(3);

/// A run ended by a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    pub signal: i32,
}

impl Stopped {
    pub fn signal_name(&self) -> &'static str {
        match self.signal {
            2 => "SIGINT",
            15 => "SIGTERM",
            _ => "a signal",
        }
    }

    /// 128 + the signal's number, as a shell reports a process the signal killed.
    pub fn exit_code(&self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped by {}: the run was cancelled; its work folder and any unfinished release \
             were removed",
            self.signal_name()
        )
    }
}

/// Runs `work` on `runtime` until it finishes or SIGINT/SIGTERM arrives.
pub fn block_on_until_stopped<F: Future>(
    runtime: tokio::runtime::Runtime,
    work: F,
) -> Result<F::Output, Stopped> {
    let Some(signalled) = listen() else {
        // Signals could not be installed: the guards still clean up on every other ending.
        return Ok(runtime.block_on(work));
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            out = work => Ok(out),
            Ok(signal) = signalled => Err(Stopped { signal }),
        }
    });
    if outcome.is_err() {
        runtime.shutdown_timeout(SHUTDOWN);
        remove_created();
    }
    outcome
}

#[cfg(unix)]
fn listen() -> Option<tokio::sync::oneshot::Receiver<i32>> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use signal_hook::iterator::Signals;

    // A dropped ssh session (SIGHUP) must not leave person-level data behind either.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT]).ok()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("p20w-signals".into())
        .spawn(move || {
            let mut tx = Some(tx);
            for signal in signals.forever() {
                match tx.take() {
                    Some(tx) => {
                        let _ = tx.send(signal);
                        std::thread::spawn(move || {
                            std::thread::sleep(GRACE);
                            exit_now(signal);
                        });
                    }
                    None => exit_now(signal),
                }
            }
        })
        .ok()?;
    Some(rx)
}

#[cfg(not(unix))]
fn listen() -> Option<tokio::sync::oneshot::Receiver<i32>> {
    None
}

#[cfg(unix)]
fn exit_now(signal: i32) -> ! {
    remove_created();
    let stopped = Stopped { signal };
    eprintln!("p20w: {stopped}");
    std::process::exit(stopped.exit_code().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Stopped { signal: 2 }.exit_code(), 130);
        assert_eq!(Stopped { signal: 15 }.exit_code(), 143);
        assert!(
            Stopped { signal: 15 }.to_string().contains("SIGTERM"),
            "{}",
            Stopped { signal: 15 }
        );
    }
}
