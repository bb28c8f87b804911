//! A PostgreSQL table or query, read as CSV: `COPY (…) TO STDOUT (FORMAT csv, HEADER)` streamed
//! through tokio-postgres `copy_out` into a blocking [`Read`]. Any CSV-based format (its column
//! mapping included) therefore reads PostgreSQL unchanged, and the server does the text
//! rendering the canonical model wants (ISO dates, plain decimals).
//!
//! The connection string comes from an environment variable the job names, so a password is
//! never in the job file; errors name that variable and the table, never the string itself.

use std::io::Read;
use std::pin::Pin;

use bytes::Bytes;
use futures::StreamExt;
use tokio::runtime::Handle;
use tokio_postgres::{Client, CopyOutStream, NoTls};

use super::LocationError;
use super::blocking::runtime_handle;

/// What a PostgreSQL source reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// A table or view, optionally schema-qualified (`schema.table`).
    Table(String),
    /// A `SELECT` (or `VALUES`, `TABLE`, `WITH …`) statement, without a trailing semicolon.
    Query(String),
}

/// A table or query in a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresLocation {
    /// The environment variable holding the libpq connection string (key=value or URL form).
    pub url_env: String,
    pub relation: Relation,
}

impl PostgresLocation {
    pub fn new(url_env: &str, relation: Relation) -> Result<PostgresLocation, LocationError> {
        let invalid = |message: &str| LocationError::Invalid {
            location: format!("postgres:{url_env}"),
            message: message.to_string(),
        };
        let env_ok = !url_env.is_empty()
            && url_env
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !env_ok {
            return Err(invalid("url_env must name an environment variable"));
        }
        let relation = match relation {
            Relation::Table(t) => {
                let parts: Vec<&str> = t.split('.').collect();
                if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
                    return Err(invalid("table must be `name` or `schema.name`"));
                }
                Relation::Table(t)
            }
            Relation::Query(q) => {
                let q = q.trim().trim_end_matches(';').trim_end().to_string();
                if q.is_empty() {
                    return Err(invalid("query is empty"));
                }
                Relation::Query(q)
            }
        };
        Ok(PostgresLocation {
            url_env: url_env.to_string(),
            relation,
        })
    }

    /// What reports and errors call this source: the variable and the table, never the
    /// connection string.
    pub fn describe(&self) -> String {
        match &self.relation {
            Relation::Table(t) => format!("postgres:${}/{t}", self.url_env),
            Relation::Query(_) => format!("postgres:${}/query", self.url_env),
        }
    }

    /// The COPY statement that renders the relation as CSV with a header row.
    pub fn copy_statement(&self) -> String {
        let select = match &self.relation {
            Relation::Table(t) => format!(
                "SELECT * FROM {}",
                t.split('.').map(quote_ident).collect::<Vec<_>>().join(".")
            ),
            Relation::Query(q) => q.clone(),
        };
        format!("COPY ({select}) TO STDOUT (FORMAT csv, HEADER)")
    }

    /// Connects and starts the COPY (a blocking call: not on an async worker).
    pub fn open(&self) -> std::io::Result<CopyRead> {
        let conninfo = std::env::var(&self.url_env).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("environment variable {} is not set", self.url_env),
            )
        })?;
        // The parser's messages name options, but say nothing that could hold the password.
        let config: tokio_postgres::Config = conninfo.parse().map_err(|_| {
            std::io::Error::other(format!(
                "environment variable {} does not hold a valid connection string",
                self.url_env
            ))
        })?;
        let handle = runtime_handle();
        let statement = self.copy_statement();
        let (client, stream) = handle
            .block_on(async {
                let mut config = config;
                config.application_name("p20w");
                let (client, connection) = config.connect(NoTls).await?;
                // The connection's own task; it ends when the client is dropped.
                tokio::spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::warn!(error = %safe_message(&e), "PostgreSQL connection ended");
                    }
                });
                // A read-only session, and text forms the canonical model reads as they are.
                client
                    .batch_execute(
                        "SET default_transaction_read_only = on; SET DateStyle = 'ISO, YMD'; \
                         SET client_encoding = 'UTF8'; SET IntervalStyle = 'iso_8601'",
                    )
                    .await?;
                let stream = client.copy_out(statement.as_str()).await?;
                Ok::<_, tokio_postgres::Error>((client, stream))
            })
            .map_err(|e| std::io::Error::other(safe_message(&e)))?;
        Ok(CopyRead {
            handle,
            _client: client,
            stream: Box::pin(stream),
            chunk: Bytes::new(),
        })
    }
}

/// `"name"`, with quotes doubled: the job's table name is an identifier, never SQL.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A tokio-postgres error in words safe to log: a server error's text only when its class
/// cannot quote data (names of missing tables or columns, syntax, authentication); otherwise
/// the SQLSTATE code alone, since e.g. a failed cast quotes the value it could not convert.
fn safe_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let names_only = ["42", "28", "3D", "3F", "08", "57", "53"]
                .iter()
                .any(|class| code.starts_with(class));
            if names_only {
                format!("PostgreSQL error {code}: {}", db.message())
            } else {
                format!("PostgreSQL error {code} (its message may quote data, so it is not shown)")
            }
        }
        None => format!("PostgreSQL: {e}"),
    }
}

/// The COPY's CSV as a blocking [`Read`]: each `read` takes the next chunk the server sent.
pub struct CopyRead {
    handle: Handle,
    /// Kept alive for the stream's sake; dropping it closes the connection.
    _client: Client,
    stream: Pin<Box<CopyOutStream>>,
    chunk: Bytes,
}

impl Read for CopyRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(next)) => self.chunk = next,
                Some(Err(e)) => return Err(std::io::Error::other(safe_message(&e))),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn tables_are_quoted_identifiers_and_queries_lose_their_semicolon() {
        let t = PostgresLocation::new("SIS_DB", Relation::Table("k12.students".into())).unwrap();
        assert_eq!(
            t.copy_statement(),
            "COPY (SELECT * FROM \"k12\".\"students\") TO STDOUT (FORMAT csv, HEADER)"
        );
        assert_eq!(t.describe(), "postgres:$SIS_DB/k12.students");
        let odd = PostgresLocation::new("X", Relation::Table("a\"b".into())).unwrap();
        assert!(odd.copy_statement().contains("\"a\"\"b\""));
        let q = PostgresLocation::new("X", Relation::Query(" SELECT 1 AS a;\n".into())).unwrap();
        assert_eq!(
            q.copy_statement(),
            "COPY (SELECT 1 AS a) TO STDOUT (FORMAT csv, HEADER)"
        );
        assert_eq!(q.describe(), "postgres:$X/query");
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(PostgresLocation::new("BAD-NAME", Relation::Table("t".into())).is_err());
        assert!(PostgresLocation::new("", Relation::Table("t".into())).is_err());
        assert!(PostgresLocation::new("X", Relation::Table("a.b.c".into())).is_err());
        assert!(PostgresLocation::new("X", Relation::Table(".t".into())).is_err());
        assert!(PostgresLocation::new("X", Relation::Query(" ; ".into())).is_err());
    }

    #[test]
    fn a_missing_or_bad_connection_string_is_named_by_its_variable_only() {
        let loc = PostgresLocation::new(
            "P20W_TEST_UNSET_VARIABLE_FOR_POSTGRES",
            Relation::Table("t".into()),
        )
        .unwrap();
        let e = loc.open().err().unwrap().to_string();
        assert!(
            e.contains("P20W_TEST_UNSET_VARIABLE_FOR_POSTGRES is not set"),
            "{e}"
        );
        // SAFETY: no other test reads or writes this variable.
        unsafe {
            std::env::set_var(
                "P20W_TEST_BAD_PG_URL",
                "host=x port=notaport password=hunter2",
            )
        };
        let loc =
            PostgresLocation::new("P20W_TEST_BAD_PG_URL", Relation::Table("t".into())).unwrap();
        let e = loc.open().err().unwrap().to_string();
        assert!(
            e.contains("P20W_TEST_BAD_PG_URL does not hold a valid"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    /// The test server's connection string variable, if `.ci/services.sh` started one; fails
    /// instead of skipping when P20W_REQUIRE_SERVICES=1.
    fn server() -> Option<&'static str> {
        const VAR: &str = "P20W_TEST_PG_URL";
        if std::env::var(VAR).is_ok() {
            return Some(VAR);
        }
        if std::env::var("P20W_REQUIRE_SERVICES").as_deref() == Ok("1") {
            panic!("P20W_REQUIRE_SERVICES=1 but {VAR} is unset: `source .ci/services.sh`");
        }
        eprintln!("skipping: no PostgreSQL test server (`source .ci/services.sh` starts one)");
        None
    }

    fn execute(var: &str, sql: &str) {
        let conninfo = std::env::var(var).unwrap();
        runtime_handle().block_on(async {
            let (client, conn) = tokio_postgres::connect(&conninfo, NoTls).await.unwrap();
            tokio::spawn(conn);
            client.batch_execute(sql).await.unwrap();
        });
    }

    /// Typed PostgreSQL columns come out in the text the canonical model reads, and the csv
    /// format's column mapping works on them as on a file.
    #[test]
    fn a_typed_table_reads_through_the_csv_format_with_its_column_mapping() {
        use crate::format::SourceSpec;
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Int32Type, Int64Type};
        use p20w_schemas::Entity;

        let Some(var) = server() else { return };
        let table = format!("wages_{}", std::process::id());
        execute(
            var,
            &format!(
                "DROP TABLE IF EXISTS {table}; \
                 CREATE TABLE {table} (ssn_num text, fein text, acct text, naics text, \
                   yr integer, qtr smallint, wage_amt numeric(12,2), paid_on date); \
                 INSERT INTO {table} VALUES \
                   ('219457880', '123456789', 'UI-1, east', '622110', 2024, 3, 5123.4, '2024-09-30'), \
                   (NULL, '123456789', 'UI-1', '622110', 2024, 1, 0.5, NULL);"
            ),
        );
        let location = PostgresLocation::new(var, Relation::Table(table.clone())).unwrap();
        let mut spec = SourceSpec::new(
            "w",
            Entity::WageRecord,
            "csv",
            super::super::Location::Postgres(location),
        );
        spec.options = toml::from_str(
            "columns = { ssn = \"ssn_num\", employer_fein = \"fein\", employer_ui_account = \"acct\", \
             employer_naics = \"naics\", year = \"yr\", quarter = \"qtr\", wages = \"wage_amt\" }",
        )
        .unwrap();
        let mut reader = crate::format::open(&spec).unwrap();
        let batch = reader.next().unwrap().unwrap();
        assert!(reader.next().is_none());
        let summary = reader.summary();
        assert_eq!((summary.counts.read, summary.counts.accepted), (2, 1));
        assert_eq!(summary.ignored, ["paid_on"]);
        let wages = batch
            .records
            .column_by_name("wages")
            .unwrap()
            .as_primitive::<Int64Type>();
        assert_eq!(wages.value(0), 512_340);
        let quarter = batch
            .records
            .column_by_name("quarter")
            .unwrap()
            .as_primitive::<Int32Type>();
        assert_eq!(quarter.value(0), 3);
        let q = &batch.quarantined[0];
        assert_eq!((q.line, q.field.as_deref()), (3, Some("ssn")));
        assert_eq!(q.file, format!("postgres:${var}/{table}"));
        // What was read is the server's CSV rendering, hashed like a file.
        let expected = "ssn_num,fein,acct,naics,yr,qtr,wage_amt,paid_on\n\
            219457880,123456789,\"UI-1, east\",622110,2024,3,5123.40,2024-09-30\n\
            ,123456789,UI-1,622110,2024,1,0.50,\n";
        assert_eq!(summary.inputs[0].bytes, expected.len() as u64);
        assert_eq!(
            summary.inputs[0].sha256,
            hex::encode(sha2::Sha256::digest(expected.as_bytes()))
        );
        execute(var, &format!("DROP TABLE {table}"));
    }

    /// A failed cast's server message quotes the value it could not convert; ours does not.
    #[test]
    fn a_server_error_that_could_quote_data_is_reported_by_code_only() {
        let Some(var) = server() else { return };
        let loc = PostgresLocation::new(
            var,
            Relation::Query("SELECT '219457880x'::integer AS ssn".into()),
        )
        .unwrap();
        let e = match loc.open() {
            Ok(mut read) => {
                let mut text = String::new();
                read.read_to_string(&mut text).unwrap_err().to_string()
            }
            Err(e) => e.to_string(),
        };
        assert!(e.contains("22P02") && !e.contains("219457880"), "{e}");
        let missing = PostgresLocation::new(var, Relation::Table("no_such_table_here".into()))
            .unwrap()
            .open()
            .err()
            .unwrap()
            .to_string();
        assert!(
            missing.contains("42P01") && missing.contains("no_such_table_here"),
            "{missing}"
        );
    }
}
