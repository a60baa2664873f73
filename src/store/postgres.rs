//! The shared backend: PostgreSQL, for several userplane nodes on one state.
//!
//! Domain operations are synchronous closures over [`Conn`]; here each runs on a
//! blocking thread (`spawn_blocking`) with a synchronous client taken from a small pool
//! of our own. A semaphore, acquired before the thread hop, bounds the connections a
//! node opens, so a burst queues in async land instead of parking blocking threads.
//!
//! Isolation is PostgreSQL's default, READ COMMITTED: a write is one transaction
//! (`BEGIN` … `COMMIT`); read-modify-write of a row goes through a `… FOR UPDATE` query
//! (see `queries::get_principal_for_update`), and counters are updated in place
//! (`x = x + 1`), so concurrent writers from several nodes queue on the row instead of
//! losing each other's changes, and never fail with serialization errors that would
//! need a retry. A read runs its statements in autocommit, each seeing everything
//! committed before it started, like the SQLite backend's readers.
//!
//! A synchronous client owns a small single-threaded runtime, which must neither be
//! entered nor dropped on an async worker thread: clients are only used inside
//! `spawn_blocking`, and the pool hands its idle clients to a plain thread to close.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};
use tokio::sync::Semaphore;

use super::{Backend, Conn, Row, StoreError, Value, migrate};
use crate::domain::Error;

/// Connections one node opens at most, unless the URL says `pool_size=N`: three per
/// core (4 to 16). Enough for commits to overlap their fsyncs; more, on the 2-core
/// machine the benchmark runs on, made PostgreSQL's tail latency jump (p99 of reads from
/// ~20 ms at 6 connections to ~200 ms at 8 and ~500 ms at 12, at the same throughput).
fn default_pool_size() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (3 * cores).clamp(4, 16)
}
/// An idle connection older than this is checked before use (the server may have
/// closed it, e.g. on restart).
const IDLE_CHECK_AFTER: Duration = Duration::from_secs(30);
/// Prepared statements kept per connection; queries are a fixed set, so this only
/// guards against unbounded growth.
const STATEMENT_CACHE: usize = 512;

/// The pool and how to open more connections.
pub struct PgStore {
    config: postgres::Config,
    idle: Mutex<Vec<PgConnection>>,
    permits: Arc<Semaphore>,
    pool_size: usize,
}

/// One connection with its prepared statements.
struct PgConnection {
    client: Client,
    statements: HashMap<String, Statement>,
    last_used: Instant,
    /// Left in an unknown state: closed instead of pooled.
    broken: bool,
}

fn store_err(err: postgres::Error) -> StoreError {
    let code = err.code();
    let unique_violation = code == Some(&SqlState::UNIQUE_VIOLATION);
    // PostgreSQL text cannot hold NUL (SQLite's can): refuse the input, not fail.
    let invalid_input = code == Some(&SqlState::CHARACTER_NOT_IN_REPERTOIRE);
    let message = match err.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), db.code().code()),
        None => {
            // The cause (refused, unknown host, bad password) is in the source chain.
            let mut message = format!("postgres: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            message
        }
    };
    let storage_full = code == Some(&SqlState::DISK_FULL);
    StoreError { unique_violation, storage_full, invalid_input, message }
}

impl PgStore {
    /// Connects, applies the migrations (under an advisory lock, so that nodes starting
    /// together take turns), and keeps the connection for the pool.
    pub async fn open(url: &str) -> Result<Arc<PgStore>, StoreError> {
        let (url, pool_size) = take_pool_size(url)?;
        crate::metrics::pool_size(pool_size);
        let mut config: postgres::Config = url.parse().map_err(|e| StoreError::other(format!("database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("userplane");
        }
        let store = Arc::new(PgStore {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(pool_size)),
            pool_size,
        });
        let opened = store.clone();
        tokio::task::spawn_blocking(move || -> Result<(), StoreError> {
            let mut conn = opened.connect()?;
            conn.transaction(|c| migrate::run(c).map_err(Error::from)).map_err(|e| match e {
                Error::Internal(message) => StoreError::other(message),
                other => StoreError::other(other.to_string()),
            })?;
            opened.checkin(conn);
            Ok(())
        })
        .await
        .map_err(|e| StoreError::other(format!("database task failed: {e}")))??;
        Ok(store)
    }

    /// Runs `f` with autocommit statements.
    pub async fn read<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.with_connection(move |conn| f(&mut PgConn(conn))).await
    }

    /// Runs `f` in one transaction: committed on `Ok`, rolled back on `Err`.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.with_connection(move |conn| conn.transaction(f)).await
    }

    async fn with_connection<T, F>(self: &Arc<Self>, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let permit =
            self.permits.clone().acquire_owned().await.map_err(|_| Error::Internal("connection pool closed".into()))?;
        let store = self.clone();
        run_blocking(move || {
            let _permit = permit;
            let _in_use = crate::metrics::PoolUse::start();
            let mut conn = store.checkout()?;
            let result = f(&mut conn);
            store.checkin(conn);
            result
        })
        .await
    }

    fn connect(&self) -> Result<PgConnection, StoreError> {
        let client = self.config.connect(NoTls).map_err(store_err)?;
        Ok(PgConnection { client, statements: HashMap::new(), last_used: Instant::now(), broken: false })
    }

    /// An idle connection that still works, or a new one.
    fn checkout(&self) -> Result<PgConnection, StoreError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let Some(mut conn) = idle else { return self.connect() };
            if conn.client.is_closed() {
                continue;
            }
            if conn.last_used.elapsed() > IDLE_CHECK_AFTER && conn.client.is_valid(Duration::from_secs(2)).is_err() {
                continue;
            }
            return Ok(conn);
        }
    }

    /// Returns a connection to the pool unless it is broken.
    fn checkin(&self, mut conn: PgConnection) {
        if conn.broken || conn.client.is_closed() {
            return;
        }
        conn.last_used = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.pool_size {
            idle.push(conn);
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(|p| p.into_inner()));
        if !idle.is_empty() {
            // A client's runtime may not be dropped on an async thread: close them aside.
            let _ = std::thread::Builder::new().name("userplane-pg-close".into()).spawn(move || drop(idle));
        }
    }
}

/// Takes userplane's own `pool_size=N` out of the URL's query (the rest goes to the
/// client, which knows the libpq parameters such as `connect_timeout`).
fn take_pool_size(url: &str) -> Result<(String, usize), StoreError> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), default_pool_size())) };
    let mut pool_size = default_pool_size();
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("pool_size=") {
            Some(n) => {
                pool_size =
                    n.parse().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                        StoreError::other(format!("database URL: pool_size must be 1 to 1000, not {n}"))
                    })?;
            }
            None => rest.push(pair),
        }
    }
    let url = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    Ok((url, pool_size))
}

/// Runs blocking work on tokio's blocking pool; a panic there becomes an internal error.
async fn run_blocking<T, F>(f: F) -> Result<T, Error>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|err| Err(Error::Internal(format!("database task failed: {err}"))))
}

impl PgConnection {
    /// `BEGIN`, `f`, then `COMMIT` on `Ok` or `ROLLBACK` on `Err`. A connection whose
    /// transaction cannot be ended cleanly is closed rather than reused.
    fn transaction<T>(&mut self, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        self.client.batch_execute("BEGIN").map_err(store_err)?;
        match f(&mut PgConn(self)) {
            Ok(value) => match self.client.batch_execute("COMMIT") {
                Ok(()) => Ok(value),
                Err(err) => {
                    // Whether it committed is unknown (the connection may be gone): the
                    // caller gets an error, and the connection is not reused.
                    self.broken = true;
                    Err(store_err(err).into())
                }
            },
            Err(err) => {
                if self.client.batch_execute("ROLLBACK").is_err() {
                    tracing::warn!("postgres: rollback failed; dropping the connection");
                    self.broken = true;
                }
                Err(err)
            }
        }
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(store_err)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

struct PgConn<'a>(&'a mut PgConnection);

/// A [`Value`] bound as whatever type PostgreSQL inferred for its placeholder.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                _ => v.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::INT2 => s.parse::<i16>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(&Type::TEXT, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read_row(row: &postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int)),
            Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            Type::INT2 => row.try_get::<_, Option<i16>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            Type::BOOL => row.try_get::<_, Option<bool>>(i).map(|v| v.map(|v| Value::Int(v.into()))),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i).map(|v| v.map(|v| Value::Int(v as i64))),
            Type::VOID => Ok(None),
            _ => row.try_get::<_, Option<String>>(i).map(|v| v.map(Value::Text)),
        }
        .map_err(|e| StoreError::other(format!("postgres: column {}: {e}", column.name())))?;
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl Conn for PgConn<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let statement = self.0.statement(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.0.client.execute(&statement, &refs).map_err(store_err)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let statement = self.0.statement(sql)?;
        let params: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.0.client.query(&statement, &refs).map_err(store_err)?;
        rows.iter().map(read_row).collect()
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}

#[cfg(test)]
mod tests {
    use super::take_pool_size;

    #[test]
    fn pool_size_comes_out_of_the_url() {
        let plain = "postgres://u@h/db";
        assert_eq!(take_pool_size(plain).unwrap(), (plain.to_owned(), super::default_pool_size()));
        assert_eq!(take_pool_size("postgres://u@h/db?pool_size=3").unwrap(), (plain.to_owned(), 3));
        assert_eq!(
            take_pool_size("postgres://u@h/db?connect_timeout=2&pool_size=16&application_name=x").unwrap(),
            ("postgres://u@h/db?connect_timeout=2&application_name=x".to_owned(), 16)
        );
        assert!(take_pool_size("postgres://u@h/db?pool_size=0").is_err());
        assert!(take_pool_size("postgres://u@h/db?pool_size=many").is_err());
    }
}
