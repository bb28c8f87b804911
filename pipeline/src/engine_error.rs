//! Engine errors in the operator's words, mapped in this one place. The stages hand DataFusion,
//! Arrow and Parquet errors up unchanged; [`explain`] turns them into a message that says which
//! stage failed and what to do about it, and logs the original at debug level.

use std::error::Error;
use std::path::Path;

use datafusion::error::DataFusionError;

use crate::RunError;

/// Where a run was when an error reached it.
pub(crate) struct Whereabouts<'a> {
    /// The stage under way, in the operator's words ("link", "ingest of source wages").
    pub stage: String,
    pub memory_limit_mib: usize,
    pub work_dir: Option<&'a Path>,
}

/// The operator's version of `err`; errors that are not the engine's pass unchanged.
pub(crate) fn explain(err: RunError, at: &Whereabouts<'_>) -> RunError {
    if !matches!(
        err,
        RunError::DataFusion(_) | RunError::Arrow(_) | RunError::Parquet(_)
    ) {
        return err;
    }
    tracing::debug!(stage = %at.stage, error = %chain(&err), "engine error");
    let stage = at.stage.clone();
    let work = || {
        at.work_dir.map_or("the work folder".to_string(), |w| {
            format!("the work folder {}", w.display())
        })
    };
    // An error the engine did not classify: storage when an I/O error lies beneath it.
    let unclassified = |stage: String, detail: String| match io_error(&err) {
        Some(io) => RunError::Storage {
            stage,
            path: work(),
            detail: io.to_string(),
        },
        None => RunError::Engine { stage, detail },
    };
    let Some(root) = deepest_engine_error(&err) else {
        return unclassified(stage, err.to_string());
    };
    match root {
        DataFusionError::ResourcesExhausted(_) => RunError::OutOfMemory {
            stage,
            limit_mib: at.memory_limit_mib,
        },
        DataFusionError::Plan(_) | DataFusionError::SchemaError(..) | DataFusionError::SQL(..) => {
            RunError::Bug {
                stage,
                detail: root.strip_backtrace(),
            }
        }
        DataFusionError::ObjectStore(e) => RunError::Storage {
            stage,
            path: store_path(e).map_or_else(work, str::to_string),
            detail: e.to_string(),
        },
        DataFusionError::IoError(e) => RunError::Storage {
            stage,
            path: work(),
            detail: e.to_string(),
        },
        other => unclassified(stage, other.strip_backtrace()),
    }
}

/// The lowest DataFusion error anywhere under `err` (DataFusion wraps its errors in Arrow and
/// Parquet errors and back, so the telling one is often several levels down).
fn deepest_engine_error(err: &RunError) -> Option<&DataFusionError> {
    let mut found = None;
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(d) = e.downcast_ref::<DataFusionError>() {
            found = Some(d.find_root());
        }
        next = e.source();
    }
    // A Collection holds several errors; the first one is the one to show.
    found.map(|d| d.iter().next().unwrap_or(d))
}

fn io_error(err: &RunError) -> Option<&std::io::Error> {
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        next = e.source();
    }
    None
}

fn store_path(e: &datafusion::object_store::Error) -> Option<&str> {
    use datafusion::object_store::Error as E;
    match e {
        E::NotFound { path, .. }
        | E::AlreadyExists { path, .. }
        | E::Precondition { path, .. }
        | E::NotModified { path, .. }
        | E::PermissionDenied { path, .. }
        | E::Unauthenticated { path, .. } => Some(path),
        _ => None,
    }
}

fn chain(err: &dyn Error) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::error::ArrowError;

    fn at(work: &Path) -> Whereabouts<'_> {
        Whereabouts {
            stage: "link".into(),
            memory_limit_mib: 64,
            work_dir: Some(work),
        }
    }

    #[test]
    fn resources_exhausted_says_which_stage_and_what_to_do_even_when_wrapped() {
        let inner = DataFusionError::ResourcesExhausted("Failed to allocate 1 MB".into());
        let wrapped = DataFusionError::ArrowError(
            Box::new(ArrowError::ExternalError(Box::new(
                inner.context("while sorting"),
            ))),
            None,
        );
        let msg = explain(RunError::DataFusion(wrapped), &at(Path::new("/w"))).to_string();
        assert!(msg.contains("link ran out of memory"), "{msg}");
        assert!(msg.contains("memory_limit_mib = 64"), "{msg}");
        assert!(msg.contains("work_dir"), "{msg}");
        assert!(!msg.contains("Resources exhausted"), "{msg}");
    }

    #[test]
    fn a_missing_table_or_column_in_our_sql_is_reported_as_a_p20w_bug() {
        for e in [
            DataFusionError::Plan("table 'datafusion.public.cohort' not found".into()),
            DataFusionError::SchemaError(
                Box::new(datafusion::common::SchemaError::FieldNotFound {
                    field: Box::new(datafusion::common::Column::from_name("student_pid")),
                    valid_fields: vec![],
                }),
                Box::new(None),
            ),
        ] {
            let err = explain(RunError::DataFusion(e), &at(Path::new("/w")));
            assert!(matches!(err, RunError::Bug { .. }), "{err}");
            let msg = err.to_string();
            assert!(msg.contains("p20w bug") && msg.contains("in link"), "{msg}");
        }
    }

    #[test]
    fn storage_errors_name_the_path() {
        let e = DataFusionError::ObjectStore(Box::new(datafusion::object_store::Error::NotFound {
            path: "/w/derived_cohort/x.parquet".into(),
            source: "gone".into(),
        }));
        let msg = explain(RunError::DataFusion(e), &at(Path::new("/w"))).to_string();
        assert!(msg.contains("/w/derived_cohort/x.parquet"), "{msg}");
        let e = DataFusionError::IoError(std::io::Error::other("disk full"));
        let msg = explain(RunError::DataFusion(e), &at(Path::new("/w"))).to_string();
        assert!(
            msg.contains("the work folder /w") && msg.contains("disk full"),
            "{msg}"
        );
        let e = ArrowError::IoError("write".into(), std::io::Error::other("disk full"));
        let msg = explain(RunError::Arrow(e), &at(Path::new("/w"))).to_string();
        assert!(msg.contains("the work folder /w"), "{msg}");
    }

    #[test]
    fn errors_that_are_not_the_engine_s_pass_unchanged() {
        let err = explain(RunError::internal("x"), &at(Path::new("/w")));
        assert!(matches!(err, RunError::Internal(ref m) if m == "x"));
    }
}
