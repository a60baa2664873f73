//! Persistence. One [`Store`] over two backends: SQLite (embedded, the default) and
//! PostgreSQL (several nodes, one state).
//!
//! Queries are written once, in SQL both backends accept (`$1` placeholders, integers for
//! booleans and millisecond timestamps, TEXT for JSON), against the small [`Conn`]
//! interface; [`queries`] has one function per query. Domain operations compose them
//! inside [`Store::write`], which is one transaction: a change and its audit record
//! commit together or not at all.
//!
//! On PostgreSQL several nodes write at once (READ COMMITTED), so a write closure must:
//! - read a row it will write back whole with a `…_for_update` query (the row stays
//!   locked until commit; SQLite has one writer anyway), and bump counters in SQL
//!   (`x = x + 1`), never read-then-write a stale copy;
//! - return a statement's error rather than carry on: after an error PostgreSQL refuses
//!   every further statement of the transaction.

pub mod faults;
mod migrate;
mod postgres;
pub mod queries;
pub mod requests;
pub mod snapshots;
mod sqlite;
mod storage;

pub use storage::SqlTx;

use std::sync::Arc;

use crate::domain::Error;
use crate::domain::cache::{ReadCache, Touched};
use crate::domain::ids::SecretHasher;

/// A value bound to, or read from, a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v as i64)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or(0)
    }
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Some(*v),
            Some(Value::Text(s)) => s.parse().ok(),
            _ => None,
        }
    }
    pub fn bool(&self, i: usize) -> bool {
        self.int(i) != 0
    }
    pub fn text(&self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }
    pub fn opt_text(&self, i: usize) -> Option<String> {
        match self.0.get(i) {
            Some(Value::Text(s)) => Some(s.clone()),
            Some(Value::Int(v)) => Some(v.to_string()),
            _ => None,
        }
    }
}

/// Which database is underneath (for the rare statement that differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A storage failure. Private to the store and the logs: clients see a generic error.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub unique_violation: bool,
    /// The disk (or the database's quota) is full: SQLITE_FULL, PostgreSQL 53100.
    pub storage_full: bool,
    /// The database refused a value as such (PostgreSQL: a NUL character in text).
    pub invalid_input: bool,
    pub message: String,
}

impl StoreError {
    pub fn other(message: impl Into<String>) -> Self {
        StoreError { unique_violation: false, storage_full: false, invalid_input: false, message: message.into() }
    }
}

/// The database's own text stays in `Internal` / `StorageFull` (for the log); a conflict
/// or an invalid value gets words of ours, since dialects may show those to clients.
impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        if err.unique_violation {
            Error::Conflict("a value that must be unique is already used".into())
        } else if err.storage_full {
            Error::StorageFull(err.message)
        } else if err.invalid_input {
            Error::Invalid { field: None, message: "text must not contain NUL characters".into() }
        } else {
            Error::Internal(err.message)
        }
    }
}

/// A connection (inside a transaction for writes).
pub trait Conn {
    /// Runs a statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a query; returns every row.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// The backend, for statements that must differ.
    fn backend(&self) -> Backend;
}

/// The file of an SQLite URL (`sqlite://PATH`, `sqlite:PATH` or a bare path); `None` for
/// PostgreSQL.
fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return None;
    }
    Some(url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url))
}

/// Claims an SQLite file for one serving process, until the returned handle is dropped:
/// its read cache is exact only if it sees every write, so a second server on the same
/// file is refused (several nodes share PostgreSQL instead). `None` for PostgreSQL.
pub fn claim(url: &str) -> Result<Option<std::fs::File>, StoreError> {
    let Some(path) = sqlite_path(url) else { return Ok(None) };
    // An advisory lock on the file itself: independent of SQLite's own (fcntl) locks.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::other(format!("open {path}: {e}")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::other(format!(
            "{path} is served by another userplane process; one process serves an SQLite file \
             (several nodes share a PostgreSQL database)"
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::other(format!("lock {path}: {e}"))),
    }
}

/// The store: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Store {
    db: Db,
    /// Hashes secrets under this installation's key (read from the database at open).
    secrets: SecretHasher,
    /// The hottest lookups, remembered exactly (SQLite only: see [`ReadCache`]).
    cache: Option<Arc<ReadCache>>,
}

#[derive(Clone)]
enum Db {
    Sqlite(Arc<sqlite::SqliteStore>),
    Postgres(Arc<self::postgres::PgStore>),
}

impl Store {
    /// Opens (creating if needed) the database at `url`, runs the migrations and reads
    /// the installation key (creating it on a new database).
    ///
    /// `postgres://…` or `postgresql://…` select PostgreSQL (several nodes may share
    /// it); `sqlite://PATH`, `sqlite:PATH` or a bare path select SQLite.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let (db, cache) = match sqlite_path(url) {
            None => {
                // Another node's write would not reach this node's cache: none.
                (Db::Postgres(self::postgres::PgStore::open(url).await?), None)
            }
            Some(path) => {
                let cache = Arc::new(ReadCache::default());
                (Db::Sqlite(Arc::new(sqlite::SqliteStore::open(path, Some(cache.clone()))?)), Some(cache))
            }
        };
        let mut store = Store { db, secrets: SecretHasher::unkeyed(), cache };
        store.secrets = store.installation_key().await?;
        Ok(store)
    }

    /// The installation key: created once (the first node to open a new database wins,
    /// the others read it), kept in `installation_secret`. The 0005 migration leaves an
    /// empty key in a database that already held tenants: its hashes stay plain SHA-256.
    async fn installation_key(&self) -> Result<SecretHasher, StoreError> {
        let candidate = SecretHasher::new_stored_key();
        let stored = self
            .write(move |c| {
                c.execute(
                    "INSERT INTO installation_secret (id, hmac_key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                    &[Value::Text(candidate)],
                )?;
                let rows = c.query("SELECT hmac_key FROM installation_secret WHERE id = 1", &[])?;
                Ok(rows.first().map(|row| row.text(0)).unwrap_or_default())
            })
            .await
            .map_err(|e| StoreError::other(format!("installation key: {e}")))?;
        SecretHasher::from_stored(&stored).map_err(StoreError::other)
    }

    /// How secrets are hashed in this database.
    pub fn secrets(&self) -> &SecretHasher {
        &self.secrets
    }

    /// Runs `f` on a read connection. Each statement sees every write committed before
    /// it started (on PostgreSQL, each runs in autocommit: a lone upsert is atomic).
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        match &self.db {
            // SQLite answers in microseconds: run inline rather than pay a thread hop.
            Db::Sqlite(db) => db.read(f),
            Db::Postgres(db) => db.read(f).await,
        }
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// What it changed is not known, so the read cache forgets everything after it.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.write_touching(move |c| Ok((f(c)?, Touched::everything()))).await
    }

    /// [`Store::write`] for rows that no cached lookup reads (the request journal, fault
    /// rules' counters, rate windows): the read cache keeps what it holds.
    pub async fn write_beside_state<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.write_touching(move |c| Ok((f(c)?, Touched::default()))).await
    }

    /// [`Store::write`] of rows read together with the tenant's own (its fault rules): the
    /// read cache forgets what it holds of that tenant.
    pub async fn write_touching_tenant<T, F>(&self, tenant: &str, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let mut touched = Touched::default();
        touched.tenant(tenant);
        self.write_touching(move |c| Ok((f(c)?, touched))).await
    }

    /// [`Store::write`] of a unit of work that says what it touched: on SQLite the writer
    /// tells the read cache once the batch has committed, before anyone is answered.
    async fn write_touching<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut dyn Conn) -> Result<(T, Touched), Error> + Send + 'static,
        T: Send + 'static,
    {
        match &self.db {
            Db::Sqlite(db) => db.write(f).await,
            Db::Postgres(db) => db.write(move |c| f(c).map(|(value, _)| value)).await,
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match &self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_text_stays_out_of_errors_a_client_may_see() {
        let unique = StoreError {
            unique_violation: true,
            storage_full: false,
            invalid_input: false,
            message: "sqlite: UNIQUE constraint failed: principals.tenant, principals.email".into(),
        };
        let Error::Conflict(message) = Error::from(unique) else { panic!("a conflict") };
        assert!(!message.contains("UNIQUE") && !message.contains("principals"), "{message}");
        let full = StoreError { storage_full: true, unique_violation: false, ..StoreError::other("disk") };
        assert!(matches!(Error::from(full), Error::StorageFull(_)));
        assert!(matches!(Error::from(StoreError::other("boom")), Error::Internal(_)));
    }
}
