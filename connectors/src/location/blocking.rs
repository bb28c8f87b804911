//! The async runtime the blocking readers of network locations drive their requests on.
//!
//! Format readers are synchronous iterators; a network location turns each `read` into
//! `Handle::block_on` of the next chunk. That is only allowed off the runtime's async workers,
//! so the pipeline runs connectors on `spawn_blocking` threads, where the run's own runtime is
//! current. Outside any runtime (a tool or a unit test calling a reader directly) a small
//! private runtime serves instead.

use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

/// The current runtime, or the private fallback one.
pub fn runtime_handle() -> Handle {
    Handle::try_current().unwrap_or_else(|_| fallback().handle().clone())
}

fn fallback() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("p20w-connector-io")
            .enable_all()
            .build()
            .expect("a one-thread runtime can always be built")
    })
}
