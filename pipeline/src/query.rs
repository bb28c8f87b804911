//! `p20w query RELEASE "SQL"`: every dataset of a release as a table, queried with DataFusion,
//! read only.
//!
//! A researcher's query must never alter a release or write anywhere, so three walls stand in
//! front of the files: the statement is parsed once with DataFusion's own parser and only
//! `SELECT`, `WITH`, `EXPLAIN` (of those), `SHOW` and `DESCRIBE` pass; its plan is then checked
//! with [`SQLOptions`] refusing DDL, DML (`INSERT`, `COPY`) and statements (`SET`), exactly as
//! `SessionContext::sql_with_options` does but on the statement already classified; and the
//! datasets are registered through [`ReadOnlyTable`], which has no insert, update or delete,
//! so even a caller of [`open_release`] who runs its own SQL cannot write through it.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::catalog::{ScanArgs, ScanResult, Session, TableProvider};
use datafusion::common::{Constraints, Statistics};
use datafusion::datasource::TableType;
use datafusion::logical_expr::{Expr, LogicalPlan, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::{ParquetReadOptions, SQLOptions, SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::{self, SetExpr};
use datafusion::sql::sqlparser::dialect::dialect_from_str;

use crate::RunError;

/// How query results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

const ALLOWED: &str = "p20w query only reads a release: SELECT, WITH, EXPLAIN, SHOW and DESCRIBE";

/// Registers every dataset folder of `release` (folders holding Parquet) under its name, as a
/// table that can only be read.
pub async fn open_release(release: &Path) -> Result<SessionContext, RunError> {
    // SHOW TABLES and DESCRIBE read the information schema.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
    crate::udf::register_model_functions(&ctx);
    let entries = std::fs::read_dir(release).map_err(|e| RunError::io(release, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| RunError::io(release, e))?;
        let path = entry.path();
        let has_parquet = path.is_dir()
            && std::fs::read_dir(&path)
                .map_err(|e| RunError::io(&path, e))?
                .flatten()
                .any(|f| f.path().extension().is_some_and(|x| x == "parquet"));
        if has_parquet {
            names.push((entry.file_name().to_string_lossy().to_string(), path));
        }
    }
    if names.is_empty() {
        return Err(RunError::Internal(format!(
            "{} holds no Parquet datasets",
            release.display()
        )));
    }
    for (name, path) in names {
        ctx.register_parquet(
            name.as_str(),
            &format!("{}/", path.display()),
            ParquetReadOptions::default(),
        )
        .await?;
        // Swap the listing table (which accepts INSERT by adding a file) for a read-only view.
        let listing = ctx
            .deregister_table(name.as_str())?
            .ok_or_else(|| RunError::internal("a registered dataset vanished"))?;
        ctx.register_table(name.as_str(), Arc::new(ReadOnlyTable(listing)))?;
    }
    Ok(ctx)
}

/// Runs one read-only statement against a release and returns the batches; anything else is
/// [`RunError::QueryRefused`].
pub async fn query_release(release: &Path, sql: &str) -> Result<Vec<RecordBatch>, RunError> {
    let ctx = open_release(release).await?;
    let statement = parse_read_only(&ctx, sql)?;
    let plan = ctx.state().statement_to_plan(statement).await?;
    check_plan(&plan)?;
    Ok(ctx.execute_logical_plan(plan).await?.collect().await?)
}

/// The second wall: no DDL, DML (COPY included) or statement anywhere in the plan.
fn check_plan(plan: &LogicalPlan) -> Result<(), RunError> {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
        .verify_plan(plan)
        .map_err(|e| RunError::QueryRefused(format!("{}; {ALLOWED}", e.strip_backtrace())))
}

/// Parses `sql` the way the session would and returns its one statement if it only reads.
fn parse_read_only(ctx: &SessionContext, sql: &str) -> Result<Statement, RunError> {
    let state = ctx.state();
    let options = state.config().options();
    let dialect = dialect_from_str(&options.sql_parser.dialect)
        .ok_or_else(|| RunError::internal("the session's SQL dialect is unknown"))?;
    let mut statements = DFParserBuilder::new(sql)
        .with_dialect(dialect.as_ref())
        .with_recursion_limit(options.sql_parser.recursion_limit.get())
        .build()?
        .parse_statements()?;
    if statements.len() != 1 {
        return Err(RunError::QueryRefused(format!(
            "give exactly one statement ({} given); {ALLOWED}",
            statements.len()
        )));
    }
    let statement = statements.pop_front().expect("one statement");
    check_statement(&statement)?;
    Ok(statement)
}

fn refused(what: &str) -> RunError {
    RunError::QueryRefused(format!("{what} is not allowed; {ALLOWED}"))
}

/// The first wall, on DataFusion's statement types.
fn check_statement(statement: &Statement) -> Result<(), RunError> {
    match statement {
        Statement::Statement(s) => check_sql_statement(s),
        // EXPLAIN ANALYZE runs what it explains.
        Statement::Explain(e) => check_statement(&e.statement),
        Statement::CopyTo(_) => Err(refused("COPY")),
        Statement::CreateExternalTable(_) => Err(refused("CREATE EXTERNAL TABLE")),
        Statement::Reset(_) => Err(refused("RESET")),
    }
}

fn check_sql_statement(statement: &ast::Statement) -> Result<(), RunError> {
    use ast::Statement as S;
    match statement {
        S::Query(q) => check_query(q),
        S::Explain { statement, .. } => check_sql_statement(statement),
        S::ExplainTable { .. }
        | S::ShowTables { .. }
        | S::ShowColumns { .. }
        | S::ShowViews { .. }
        | S::ShowFunctions { .. }
        | S::ShowVariable { .. }
        | S::ShowVariables { .. }
        | S::ShowStatus { .. }
        | S::ShowCreate { .. }
        | S::ShowCatalogs { .. }
        | S::ShowDatabases { .. }
        | S::ShowSchemas { .. }
        | S::ShowCollation { .. }
        | S::ShowCharset(_)
        | S::ShowObjects(_) => Ok(()),
        other => Err(refused(&statement_kind(other))),
    }
}

fn check_query(query: &ast::Query) -> Result<(), RunError> {
    if let Some(with) = &query.with {
        for cte in &with.cte_tables {
            check_query(&cte.query)?;
        }
    }
    check_set_expr(&query.body)
}

fn check_set_expr(body: &SetExpr) -> Result<(), RunError> {
    match body {
        SetExpr::Select(select) if select.into.is_some() => Err(refused("SELECT INTO")),
        SetExpr::Select(_) | SetExpr::Values(_) | SetExpr::Table(_) => Ok(()),
        SetExpr::Query(q) => check_query(q),
        SetExpr::SetOperation { left, right, .. } => {
            check_set_expr(left)?;
            check_set_expr(right)
        }
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => {
            Err(refused(&statement_kind(s)))
        }
    }
}

/// The statement's leading keywords, as the user wrote them ("INSERT", "DROP TABLE").
fn statement_kind(statement: &ast::Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text.split_whitespace().take(3).collect();
    let n = match words.first().map(|w| w.to_ascii_uppercase()) {
        Some(w) if ["CREATE", "DROP", "ALTER", "TRUNCATE"].contains(&w.as_str()) => 2,
        _ => 1,
    };
    words[..n.min(words.len())].join(" ").to_ascii_uppercase()
}

/// A dataset that can be scanned and nothing else: `insert_into`, `delete_from`, `update`
/// and the rest keep TableProvider's defaults, which refuse.
#[derive(Debug)]
pub struct ReadOnlyTable(Arc<dyn TableProvider>);

#[async_trait]
impl TableProvider for ReadOnlyTable {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }
    fn constraints(&self) -> Option<&Constraints> {
        self.0.constraints()
    }
    fn table_type(&self) -> TableType {
        self.0.table_type()
    }
    fn get_logical_plan(&'_ self) -> Option<Cow<'_, LogicalPlan>> {
        self.0.get_logical_plan()
    }
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        self.0.scan(state, projection, filters, limit).await
    }
    async fn scan_with_args<'a>(
        &self,
        state: &dyn Session,
        args: ScanArgs<'a>,
    ) -> datafusion::common::Result<ScanResult> {
        self.0.scan_with_args(state, args).await
    }
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<TableProviderFilterPushDown>> {
        self.0.supports_filters_pushdown(filters)
    }
    fn statistics(&self) -> Option<Statistics> {
        self.0.statistics()
    }
}

/// Refuses an `--out` file inside the release: a query's output must never change a release.
pub fn check_out_path(release: &Path, out: &Path) -> Result<(), RunError> {
    let release = release
        .canonicalize()
        .map_err(|e| RunError::io(release, e))?;
    // A link is followed when the file is created, wherever it points (even nowhere yet).
    if out
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(RunError::QueryRefused(format!(
            "--out {} is a symbolic link; name the file itself",
            out.display()
        )));
    }
    let target = resolve(out)?;
    if target.starts_with(&release) {
        return Err(RunError::QueryRefused(format!(
            "--out {} is inside the release {}; a release is never changed, write elsewhere",
            out.display(),
            release.display()
        )));
    }
    // Nor any other release: a folder holding a manifest is one.
    if let Some(other) = target
        .ancestors()
        .skip(1)
        .find(|a| a.join(crate::publish::MANIFEST).is_file())
    {
        return Err(RunError::QueryRefused(format!(
            "--out {} is inside the release {}; a release is never changed, write elsewhere",
            out.display(),
            other.display()
        )));
    }
    Ok(())
}

/// `path` with every symbolic link and `..` resolved, for a file that may not exist yet.
fn resolve(path: &Path) -> Result<PathBuf, RunError> {
    if let Ok(p) = path.canonicalize() {
        return Ok(p);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| RunError::QueryRefused(format!("--out {} names no file", path.display())))?;
    Ok(resolve(parent)?.join(name))
}

/// Writes batches in `format` to `out` (stdout for Table/Csv/Json when `out` is None).
pub fn write_results(
    batches: &[RecordBatch],
    format: OutputFormat,
    out: Option<&Path>,
) -> Result<(), RunError> {
    use datafusion::arrow::csv::Writer as CsvWriter;
    use datafusion::arrow::json::ArrayWriter;
    let mut sink: Box<dyn std::io::Write> = match out {
        Some(p) => Box::new(std::fs::File::create(p).map_err(|e| RunError::io(p, e))?),
        None => Box::new(crate::stdout::Stdout),
    };
    let io = |e: std::io::Error| RunError::Io {
        path: out.map_or("stdout".into(), |p| p.display().to_string()),
        source: e,
    };
    match format {
        OutputFormat::Table => writeln!(sink, "{}", pretty_format_batches(batches)?).map_err(io)?,
        OutputFormat::Csv => {
            let mut w = CsvWriter::new(sink);
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = ArrayWriter::new(sink);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
        OutputFormat::Parquet => {
            let path =
                out.ok_or_else(|| RunError::Internal("Parquet output needs --out FILE".into()))?;
            let schema = batches
                .first()
                .map(|b| b.schema())
                .ok_or_else(|| RunError::internal("no result"))?;
            let file = std::fs::File::create(path).map_err(|e| RunError::io(path, e))?;
            let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None)?;
            for b in batches {
                w.write(b)?;
            }
            w.close()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;

    /// A session with one in-memory table `t` (x = 1, 2) behind [`ReadOnlyTable`].
    fn session() -> SessionContext {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2]))])
                .unwrap();
        let mem = Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap());
        let ctx =
            SessionContext::new_with_config(SessionConfig::new().with_information_schema(true));
        ctx.register_table("t", Arc::new(ReadOnlyTable(mem)))
            .unwrap();
        ctx
    }

    #[test]
    fn the_parser_wall_passes_reads_and_names_what_it_refuses() {
        let ctx = session();
        for sql in [
            "SELECT x FROM t",
            "WITH a AS (SELECT x FROM t) SELECT * FROM a UNION ALL SELECT 3",
            "EXPLAIN SELECT x FROM t",
            "EXPLAIN ANALYZE SELECT x FROM t",
            "SHOW TABLES",
            "SHOW COLUMNS FROM t",
            "DESCRIBE t",
        ] {
            parse_read_only(&ctx, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        for (sql, named) in [
            ("INSERT INTO t VALUES (3)", "INSERT"),
            ("EXPLAIN ANALYZE INSERT INTO t VALUES (3)", "INSERT"),
            (
                "WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a",
                "INSERT",
            ),
            ("COPY t TO '/tmp/x.parquet'", "COPY"),
            ("EXPLAIN COPY t TO '/tmp/x.parquet'", "COPY"),
            (
                "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/tmp/e/'",
                "CREATE EXTERNAL TABLE",
            ),
            ("CREATE VIEW v AS SELECT 1", "CREATE VIEW"),
            ("SELECT x INTO u FROM t", "SELECT INTO"),
            ("DROP TABLE t", "DROP TABLE"),
            ("UPDATE t SET x = 0", "UPDATE"),
            ("DELETE FROM t", "DELETE"),
            ("SET datafusion.execution.batch_size = 1", "SET"),
            ("RESET datafusion.execution.batch_size", "RESET"),
            ("SELECT 1; SELECT 2", "exactly one statement (2 given)"),
            ("", "exactly one statement (0 given)"),
        ] {
            let err = parse_read_only(&ctx, sql).unwrap_err();
            assert!(matches!(err, RunError::QueryRefused(_)), "{sql}: {err}");
            assert!(err.to_string().contains(named), "{sql}: {err}");
        }
    }

    /// Should the parser wall ever let a writing statement through, its plan is still refused.
    #[tokio::test]
    async fn the_plan_wall_refuses_ddl_dml_and_statements_on_its_own() {
        let ctx = session();
        for sql in [
            "INSERT INTO t VALUES (3)",
            "COPY t TO '/tmp/p20w-never-written.parquet'",
            "CREATE VIEW v AS SELECT 1",
            "SET datafusion.execution.batch_size = 1",
        ] {
            let plan = ctx.state().create_logical_plan(sql).await.unwrap();
            let err = check_plan(&plan).unwrap_err();
            assert!(matches!(err, RunError::QueryRefused(_)), "{sql}: {err}");
        }
        let plan = ctx
            .state()
            .create_logical_plan("SELECT x FROM t")
            .await
            .unwrap();
        check_plan(&plan).unwrap();
    }

    /// And a caller who runs its own SQL on the session, past both walls, cannot insert either.
    #[tokio::test]
    async fn a_read_only_table_refuses_inserts() {
        let ctx = session();
        let inserted = match ctx.sql("INSERT INTO t VALUES (3)").await {
            Ok(df) => df.collect().await.is_ok(),
            Err(_) => false,
        };
        assert!(!inserted);
        let n = ctx
            .sql("SELECT x FROM t")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(n.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
    }
}
