//! The DataFusion session every stage runs in: bounded memory, spilling to the work folder,
//! and the p20w functions registered.

use std::path::Path;
use std::sync::Arc;

use datafusion::common::Result;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::udf::register_model_functions;

/// A session capped at `memory_limit` bytes that spills sorts and aggregates under `spill_dir`.
/// Two target partitions match the 2-core machines states run this on.
pub fn new_session(memory_limit: usize, spill_dir: &Path) -> Result<SessionContext> {
    std::fs::create_dir_all(spill_dir)?;
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(memory_limit)))
        .with_disk_manager_builder(
            DiskManagerBuilder::default()
                .with_mode(DiskManagerMode::Directories(vec![spill_dir.to_path_buf()])),
        )
        .build_arc()?;
    let config = SessionConfig::new()
        .with_target_partitions(2)
        .with_information_schema(true)
        .set_str("datafusion.execution.spill_compression", "zstd")
        // Sort-merge joins under a cap need a small reservation (shared/notes/rust-stack.md §1.3).
        .set_usize("datafusion.execution.sort_spill_reservation_bytes", 1 << 20);
    let ctx = SessionContext::new_with_config_rt(config, runtime);
    register_model_functions(&ctx);
    Ok(ctx)
}
