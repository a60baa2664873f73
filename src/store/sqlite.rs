//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go to one writer thread (SQLite has one writer anyway) that commits them in
//! groups: each write runs in its own savepoint, so a failing one rolls back alone, and
//! one COMMIT covers the batch; nobody is answered before that commit. Request threads
//! never block on the writer. Reads use a small pool and see every committed write.
//! `synchronous=NORMAL` in WAL mode keeps an acknowledged write through a process crash
//! (`kill -9`); only a power loss can take the last transactions.

use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, mpsc};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{Backend, Conn, Row, StoreError, Value, migrate};
use crate::domain::Error;

const READ_POOL_SIZE: usize = 8;
/// The most writes committed together.
const MAX_BATCH: usize = 256;

/// A write waiting for the writer thread: runs on the connection inside the batch's
/// transaction, says whether it succeeded, and is told how the commit went.
type Job = Box<dyn FnOnce(&mut dyn Conn) -> Completion + Send>;

struct Completion {
    ok: bool,
    finish: Box<dyn FnOnce(Option<Error>) + Send>,
}

pub struct SqliteStore {
    path: String,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
    /// Dropping it stops the checkpointer thread.
    _checkpointer: mpsc::Sender<()>,
}

fn store_err(err: rusqlite::Error) -> StoreError {
    let unique_violation = matches!(
        &err,
        rusqlite::Error::SqliteFailure(e, _) if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    );
    let storage_full = err.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
    StoreError { unique_violation, storage_full, invalid_input: false, message: format!("sqlite: {err}") }
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
        // Checkpoints move the WAL into the database file and fsync it: done by the writer
        // at commit they stall every write of the batch, so a background thread does them.
        writer.execute_batch("PRAGMA wal_autocheckpoint=0").map_err(store_err)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("userplane-sqlite-writer".into())
            .spawn(move || run_writer(writer, queue))
            .map_err(|e| StoreError::other(format!("cannot start the writer thread: {e}")))?;
        let checkpoints = connect(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("userplane-sqlite-checkpoint".into())
            .spawn(move || run_checkpointer(checkpoints, stopped))
            .map_err(|e| StoreError::other(format!("cannot start the checkpoint thread: {e}")))?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(jobs),
            readers: Mutex::new(Vec::new()),
            _checkpointer: stop,
        })
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

    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            Completion {
                ok: result.is_ok(),
                finish: Box::new(move |commit_error| {
                    let _ = reply.send(match commit_error {
                        Some(err) => Err(err),
                        None => result,
                    });
                }),
            }
        });
        let sent = self.writer.lock().map_err(|_| Error::Internal("writer queue poisoned".into()))?.send(job);
        sent.map_err(|_| Error::Internal("the writer thread has stopped".into()))?;
        answer.await.map_err(|_| Error::Internal("a write was lost by the writer thread".into()))?
    }
}

/// WAL frames (pages) beyond which the checkpointer also truncates the WAL: 64 MiB.
const WAL_TRUNCATE_FRAMES: i64 = 16_384;

/// Runs one of the writer's fixed statements, prepared once and cached.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Checkpoints the WAL every half second without blocking writers or readers (PASSIVE),
/// until the store is dropped. Under a steady stream of writes a passive checkpoint never
/// finds the WAL idle, so it would never restart and grow without bound: past
/// [`WAL_TRUNCATE_FRAMES`] a TRUNCATE checkpoint briefly holds writers back and empties it.
fn run_checkpointer(conn: Connection, stopped: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(std::time::Duration::from_millis(500)) {
        let frames = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(1));
        match frames {
            Ok(frames) if frames > WAL_TRUNCATE_FRAMES => {
                if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::warn!(cause = %err, "sqlite: truncating checkpoint failed; will retry");
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(cause = %err, "sqlite: checkpoint failed; will retry"),
        }
    }
}

/// The writer thread: takes whatever writes are waiting (up to [`MAX_BATCH`]), runs each
/// in a savepoint of one transaction, commits once, then answers them all.
fn run_writer(conn: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut completions = Vec::with_capacity(batch.len());
        let begun = run(&conn, "BEGIN IMMEDIATE").map_err(|e| Error::from(store_err(e)));
        if let Err(err) = begun {
            tracing::error!(cause = %err, "sqlite: cannot begin a write transaction");
            // Each job is still answered: run none, fail all.
            for job in batch {
                drop(job);
            }
            continue;
        }
        for job in batch {
            if run(&conn, "SAVEPOINT job").is_err() {
                continue;
            }
            let ran = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut SqliteConn(&conn))));
            match ran {
                Ok(completion) => {
                    if !completion.ok {
                        let _ = run(&conn, "ROLLBACK TO job");
                    }
                    let _ = run(&conn, "RELEASE job");
                    completions.push(completion);
                }
                Err(_) => {
                    // The job's reply channel was dropped with it: its caller gets an error.
                    tracing::error!("sqlite: a write panicked; rolled back alone");
                    let _ = run(&conn, "ROLLBACK TO job");
                    let _ = run(&conn, "RELEASE job");
                }
            }
        }
        let committed = run(&conn, "COMMIT").map_err(|e| Error::from(store_err(e)));
        let commit_error = match committed {
            Ok(()) => None,
            Err(err) => {
                tracing::error!(cause = %err, "sqlite: commit failed; the batch is rolled back");
                let _ = conn.execute_batch("ROLLBACK");
                Some(err)
            }
        };
        for completion in completions {
            (completion.finish)(commit_error.clone());
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
