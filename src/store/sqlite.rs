//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through one connection (SQLite has one writer anyway; a mutex queues them
//! instead of busy-looping); reads use a small pool, and see every committed write.
//! `synchronous=NORMAL` in WAL mode keeps an acknowledged write through a process crash
//! (`kill -9`); only a power loss can take the last transactions.

use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Backend, Conn, Row, StoreError, Value, migrate};
use crate::domain::Error;

const READ_POOL_SIZE: usize = 8;

pub struct SqliteStore {
    path: String,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

fn store_err(err: rusqlite::Error) -> StoreError {
    let unique_violation = matches!(
        &err,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    );
    StoreError { unique_violation, invalid_input: false, message: format!("sqlite: {err}") }
}

fn connect(path: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(store_err)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;",
    )
    .map_err(store_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl SqliteStore {
    pub fn open(path: &str) -> Result<Self, StoreError> {
        let mut writer = connect(path)?;
        {
            let tx = writer.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(store_err)?;
            let mut conn = SqliteConn(&tx);
            migrate::run(&mut conn).map_err(|e| StoreError::other(e.to_string()))?;
            tx.commit().map_err(store_err)?;
        }
        Ok(SqliteStore { path: path.to_owned(), writer: Mutex::new(writer), readers: Mutex::new(Vec::new()) })
    }

    pub fn read<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        let pooled = self.readers.lock().map_err(|_| Error::Internal("reader pool poisoned".into()))?.pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => connect(&self.path)?,
        };
        let result = f(&mut SqliteConn(&conn));
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < READ_POOL_SIZE
        {
            pool.push(conn);
        }
        result
    }

    pub fn write<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T, Error>) -> Result<T, Error> {
        let mut writer = self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = writer.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(store_err)?;
        let result = f(&mut SqliteConn(&tx));
        match result {
            Ok(value) => {
                tx.commit().map_err(store_err)?;
                Ok(value)
            }
            Err(err) => {
                // Dropping the transaction rolls it back.
                drop(tx);
                Err(err)
            }
        }
    }
}

struct SqliteConn<'a>(&'a Connection);

fn bind(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect()
}

impl Conn for SqliteConn<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(store_err)?;
        let changed = stmt.execute(rusqlite::params_from_iter(bind(params))).map_err(store_err)?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(store_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(bind(params))).map_err(store_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(store_err)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(store_err)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(v) => Value::Int(v),
                    ValueRef::Real(v) => Value::Int(v as i64),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn opens_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        super::SqliteStore::open(path.to_str().unwrap()).unwrap();
        super::SqliteStore::open(path.to_str().unwrap()).unwrap();
    }
}
