//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go to one writer thread (SQLite has one writer anyway) that commits them in
//! groups: each write runs in its own savepoint, so a failing one rolls back alone, and
//! one COMMIT covers the batch; nobody is answered before that commit. Request threads
//! never block on the writer. Reads use a small pool and see every committed write.
//! `synchronous=NORMAL` in WAL mode keeps an acknowledged write through a process crash
//! (`kill -9`); only a power loss can take the last transactions.
//!
//! The WAL stays small without a write ever waiting for a lock or a truncation:
//! - a checkpointer thread copies the WAL into the database soon after writes (PASSIVE:
//!   it takes no lock a writer or reader waits for), so the bulk of the copying and
//!   syncing happens beside the writer;
//! - once the WAL holds [`WalPolicy::rewind_frames`], the checkpointer asks the writer to
//!   copy the last few commits itself, between two batches (two small fsyncs). The WAL is
//!   then fully copied, and the writer's next transaction rewinds it and overwrites it in
//!   place: no growth, and no block allocation or freeing on the hot path;
//! - the file is truncated only once the writer has been idle for
//!   [`WalPolicy::shrink_when_idle`]: freeing blocks is slow on a `discard` mount.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};

use super::{Backend, Conn, Row, StoreError, Value, migrate};
use crate::domain::Error;
use crate::domain::cache::{ReadCache, Touched};

const READ_POOL_SIZE: usize = 8;
/// The most writes committed together.
const MAX_BATCH: usize = 256;

/// When the WAL is copied back, rewound and truncated.
#[derive(Debug, Clone, Copy)]
struct WalPolicy {
    /// WAL frames (4 KiB pages each) after which the writer rewinds the WAL.
    rewind_frames: i64,
    /// The checkpointer's pace while writes come in: one pass at most this often.
    checkpoint_interval: Duration,
    /// The WAL file is truncated after the writer has had nothing to do for this long.
    shrink_when_idle: Duration,
}

impl Default for WalPolicy {
    fn default() -> Self {
        // 32 MiB: at ~15k writes/s on a 2-core machine, a rewind (its two fsyncs) every
        // ~0.3 s; the file stays within about that size plus a pass's worth.
        WalPolicy {
            rewind_frames: 8_192,
            checkpoint_interval: Duration::from_millis(10),
            shrink_when_idle: Duration::from_secs(1),
        }
    }
}

/// A write waiting for the writer thread: runs on the connection inside the batch's
/// transaction, says whether it succeeded, and is told how the commit went.
type Job = Box<dyn FnOnce(&mut dyn Conn) -> Completion + Send>;

struct Completion {
    ok: bool,
    /// What the write touched, for the read cache (nothing if it failed).
    touched: Touched,
    finish: Box<dyn FnOnce(Option<Error>) + Send>,
}

pub struct SqliteStore {
    path: String,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
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

/// Retries a locked database every 100 µs for up to 5 s. SQLite's default handler sleeps
/// in steps of up to 50 ms, and so wakes long after the lock is free.
fn retry_in_short_steps(attempts: i32) -> bool {
    if attempts >= 50_000 {
        return false;
    }
    std::thread::sleep(Duration::from_micros(100));
    true
}

fn connect(path: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(store_err)?;
    // No `mmap_size`: a commit makes every reader unmap the whole file, which cost a write
    // 70% more CPU than reading pages into the (equally dropped) page cache.
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
        .map_err(store_err)?;
    conn.busy_handler(Some(retry_in_short_steps)).map_err(store_err)?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

impl SqliteStore {
    /// Opens the file; the writer tells `cache` what each committed batch touched.
    pub fn open(path: &str, cache: Option<Arc<ReadCache>>) -> Result<Self, StoreError> {
        Self::open_with(path, WalPolicy::default(), cache)
    }

    fn open_with(path: &str, policy: WalPolicy, cache: Option<Arc<ReadCache>>) -> Result<Self, StoreError> {
        let mut writer = connect(path)?;
        {
            let tx = writer.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(store_err)?;
            let mut conn = SqliteConn(&tx);
            migrate::run(&mut conn).map_err(|e| StoreError::other(e.to_string()))?;
            tx.commit().map_err(store_err)?;
        }
        // Checkpoints are the checkpointer's (and, briefly, the writer's: see the module
        // documentation), never SQLite's automatic one at commit.
        writer.execute_batch("PRAGMA wal_autocheckpoint=0").map_err(store_err)?;
        let rewind = Arc::new(AtomicBool::new(false));
        let (nudge, nudged) = mpsc::sync_channel::<()>(1);
        let checkpoints = connect(path)?;
        let asked = rewind.clone();
        // Names within Linux's 15 characters, so that `top -H` and `perf` tell them apart.
        std::thread::Builder::new()
            .name("sqlite-ckpt".into())
            .spawn(move || run_checkpointer(checkpoints, policy, nudged, asked))
            .map_err(|e| StoreError::other(format!("cannot start the checkpoint thread: {e}")))?;
        let wal = WalFile::new(path, &writer, policy)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(Writer { conn: writer, cache }, policy, wal, queue, nudge, rewind))
            .map_err(|e| StoreError::other(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore { path: path.to_owned(), writer: Mutex::new(jobs), readers: Mutex::new(Vec::new()) })
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

    /// Runs `f` in the writer's next batch; it says what it touched, for the read cache.
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Conn) -> Result<(T, Touched), Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (result, touched) = match f(conn) {
                Ok((value, touched)) => (Ok(value), touched),
                Err(err) => (Err(err), Touched::default()),
            };
            Completion {
                ok: result.is_ok(),
                touched,
                finish: Box::new(move |commit_error| {
                    let _ = reply.send(match commit_error {
                        Some(err) => Err(err),
                        None => result,
                    });
                }),
            }
        });
        crate::metrics::writer_queued();
        let sent = self.writer.lock().map_err(|_| Error::Internal("writer queue poisoned".into()))?.send(job);
        sent.map_err(|_| Error::Internal("the writer thread has stopped".into()))?;
        answer.await.map_err(|_| Error::Internal("a write was lost by the writer thread".into()))?
    }
}

/// Runs one of the writer's fixed statements, prepared once and cached.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// What a checkpoint found and did.
#[derive(Debug)]
struct Checkpointed {
    /// Frames in the WAL.
    frames: i64,
    /// Whether all of them are now in the database file.
    all: bool,
}

fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<Checkpointed> {
    let (busy, frames, copied) = conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    })?;
    Ok(Checkpointed { frames, all: busy == 0 && frames == copied })
}

/// Copies the WAL into the database after writes (PASSIVE: writers and readers go on),
/// at most every `checkpoint_interval`, until the writer stops. Once the WAL has grown
/// to `rewind_frames`, asks the writer to finish the job and rewind it. (Never inlined:
/// `benches/callgrind.sh` finds the background work by this name.)
#[inline(never)]
fn run_checkpointer(conn: Connection, policy: WalPolicy, nudged: mpsc::Receiver<()>, rewind: Arc<AtomicBool>) {
    while nudged.recv().is_ok() {
        // While the writer has yet to act on a request, a pass would only compete with it.
        if !rewind.load(Ordering::Relaxed) {
            match checkpoint(&conn, "PASSIVE") {
                Ok(done) if done.frames >= policy.rewind_frames => {
                    // Copy what was committed during that pass too, so that only the last
                    // few commits are left for the writer.
                    let _ = checkpoint(&conn, "PASSIVE");
                    rewind.store(true, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(cause = %err, "sqlite: checkpoint failed; will retry"),
            }
        }
        std::thread::sleep(policy.checkpoint_interval);
    }
}

/// The writer thread: takes whatever writes are waiting (up to [`MAX_BATCH`]), runs each
/// in a savepoint of one transaction, commits once, then answers them all. Between
/// batches it finishes a checkpoint when asked to (so that its next transaction rewinds
/// the WAL), and it truncates the WAL file once idle.
/// The writer thread's connection, and the read cache it tells what each batch touched.
struct Writer {
    conn: Connection,
    cache: Option<Arc<ReadCache>>,
}

fn run_writer(
    writer: Writer,
    policy: WalPolicy,
    wal: WalFile,
    queue: mpsc::Receiver<Job>,
    nudge: mpsc::SyncSender<()>,
    rewind: Arc<AtomicBool>,
) {
    let conn = &writer.conn;
    let mut wal_to_shrink = false;
    let mut wal_bytes = wal.bytes();
    loop {
        let first = if wal_to_shrink {
            match queue.recv_timeout(policy.shrink_when_idle) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if shrink_wal(conn) {
                        wal_to_shrink = false;
                        rewind.store(false, Ordering::Relaxed);
                    }
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match queue.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        crate::metrics::writer_batch(batch.len());
        commit_batch(&writer, batch);
        wal_to_shrink = true;
        let _ = nudge.try_send(());
        let grown = std::mem::replace(&mut wal_bytes, wal.bytes()) < wal_bytes;
        crate::metrics::wal_size(wal_bytes);
        if grown && wal_bytes > wal.cap {
            // The checkpointer has not kept up (a slow disk): rather than let the WAL grow,
            // writes wait while the writer copies it back.
            tracing::warn!(bytes = wal_bytes, "sqlite: the WAL outgrew its bound; writes wait for a checkpoint");
            copy_back_everything(conn);
            rewind.store(false, Ordering::Relaxed);
        } else if rewind.load(Ordering::Relaxed) {
            // Only the commits since the checkpointer's last pass are left to copy. RESTART
            // also waits (microseconds) for readers of older snapshots, which would
            // otherwise keep the next transaction from rewinding the WAL.
            if let Err(err) = checkpoint(conn, "RESTART") {
                tracing::warn!(cause = %err, "sqlite: checkpoint failed; will retry");
            }
            rewind.store(false, Ordering::Relaxed);
        }
    }
}

/// Copies every frame of the WAL into the database so that the next transaction rewinds
/// it, waiting for the checkpointer's pass and for readers of old snapshots if need be
/// (for at most 5 s).
fn copy_back_everything(conn: &Connection) {
    for _ in 0..50_000 {
        match checkpoint(conn, "RESTART") {
            Ok(done) if done.all => return,
            Ok(_) => std::thread::sleep(Duration::from_micros(100)),
            Err(err) => {
                tracing::warn!(cause = %err, "sqlite: checkpoint failed; will retry");
                return;
            }
        }
    }
}

/// The WAL file, as the writer watches its size.
struct WalFile {
    path: String,
    /// The size past which writes wait for the WAL to be copied back: twice the rewind point.
    cap: u64,
}

impl WalFile {
    fn new(db: &str, conn: &Connection, policy: WalPolicy) -> Result<Self, StoreError> {
        let page: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(store_err)?;
        // A frame is a page and a 24-byte header; the file starts with a 32-byte header.
        let frame = u64::try_from(page).unwrap_or(4096) + 24;
        let cap = 32 + 2 * u64::try_from(policy.rewind_frames).unwrap_or(0) * frame;
        Ok(WalFile { path: format!("{db}-wal"), cap })
    }

    fn bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}

/// Copies the whole WAL into the database and truncates it; returns whether it did.
fn shrink_wal(conn: &Connection) -> bool {
    let started = std::time::Instant::now();
    match checkpoint(conn, "TRUNCATE") {
        Ok(done) => {
            tracing::debug!(took = ?started.elapsed(), done = done.all, "sqlite: WAL truncated while idle");
            done.all
        }
        Err(err) => {
            tracing::warn!(cause = %err, "sqlite: truncating checkpoint failed; will retry");
            false
        }
    }
}

/// Runs a batch of writes in one transaction, one savepoint each, and answers them all
/// after the commit.
fn commit_batch(writer: &Writer, batch: Vec<Job>) {
    let conn = &writer.conn;
    let begun = run(conn, "BEGIN IMMEDIATE").map_err(|e| Error::from(store_err(e)));
    if let Err(err) = begun {
        // Each job is still answered: dropped, its caller gets an error.
        tracing::error!(cause = %err, "sqlite: cannot begin a write transaction");
        return;
    }
    let mut completions = Vec::with_capacity(batch.len());
    for job in batch {
        if run(conn, "SAVEPOINT job").is_err() {
            continue;
        }
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut SqliteConn(conn))));
        match ran {
            Ok(completion) => {
                if !completion.ok {
                    let _ = run(conn, "ROLLBACK TO job");
                }
                let _ = run(conn, "RELEASE job");
                completions.push(completion);
            }
            Err(_) => {
                // The job's reply channel was dropped with it: its caller gets an error.
                tracing::error!("sqlite: a write panicked; rolled back alone");
                let _ = run(conn, "ROLLBACK TO job");
                let _ = run(conn, "RELEASE job");
            }
        }
    }
    let committed = run(conn, "COMMIT").map_err(|e| Error::from(store_err(e)));
    let commit_error = match committed {
        Ok(()) => None,
        Err(err) => {
            tracing::error!(cause = %err, "sqlite: commit failed; the batch is rolled back");
            let _ = conn.execute_batch("ROLLBACK");
            Some(err)
        }
    };
    // Before anyone is answered, what the batch touched goes stale in the read cache (only
    // this thread moves its revisions on: see `domain::cache`).
    if let (None, Some(cache)) = (&commit_error, &writer.cache) {
        for completion in completions.iter().filter(|c| c.ok) {
            cache.written(&completion.touched);
        }
    }
    for completion in completions {
        (completion.finish)(commit_error.clone());
    }
}

struct SqliteConn<'a>(&'a Connection);

/// Binds a value as it is: text is borrowed, not copied.
impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
        }))
    }
}

impl Conn for SqliteConn<'_> {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(store_err)?;
        let changed = stmt.execute(rusqlite::params_from_iter(params)).map_err(store_err)?;
        Ok(changed as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(store_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(store_err)?;
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
    use std::time::{Duration, Instant};

    use super::{SqliteStore, Value, WalPolicy};
    use crate::domain::Error;
    use crate::domain::cache::Touched;

    #[test]
    fn opens_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        SqliteStore::open(path.to_str().unwrap(), None).unwrap();
        SqliteStore::open(path.to_str().unwrap(), None).unwrap();
    }

    /// A 1 MiB rewind point, so that a test writes many times it in little time.
    const POLICY: WalPolicy = WalPolicy {
        rewind_frames: 256,
        checkpoint_interval: Duration::from_millis(5),
        shrink_when_idle: Duration::from_millis(200),
    };

    fn wal_bytes(db: &str) -> u64 {
        std::fs::metadata(format!("{db}-wal")).map_or(0, |m| m.len())
    }

    /// Eight writers at once, each inserting `rows` rows of ~8 KiB (three WAL frames each).
    async fn write_rows(store: &SqliteStore, db: &str, rows: i64) -> u64 {
        let largest = std::sync::atomic::AtomicU64::new(0);
        let body = "x".repeat(8 * 1024);
        let writers = (0..8).map(|w| {
            let (body, largest) = (body.clone(), &largest);
            async move {
                for n in 0..rows {
                    let (id, body) = (w * rows + n, body.clone());
                    store
                        .write(move |c| {
                            c.execute(
                                "INSERT INTO scratch (n, body) VALUES ($1, $2)",
                                &[Value::Int(id), Value::Text(body)],
                            )?;
                            Ok::<_, Error>(((), Touched::default()))
                        })
                        .await
                        .unwrap();
                    largest.fetch_max(wal_bytes(db), std::sync::atomic::Ordering::Relaxed);
                }
            }
        });
        futures::future::join_all(writers).await;
        largest.into_inner()
    }

    async fn scratch_store(dir: &tempfile::TempDir) -> (SqliteStore, String) {
        let db = dir.path().join("t.db").to_str().unwrap().to_owned();
        let store = SqliteStore::open_with(&db, POLICY, None).unwrap();
        store
            .write(|c| {
                c.execute("CREATE TABLE scratch (n INTEGER PRIMARY KEY, body TEXT NOT NULL)", &[])?;
                Ok::<_, Error>(((), Touched::default()))
            })
            .await
            .unwrap();
        (store, db)
    }

    #[tokio::test]
    async fn the_wal_is_rewound_in_place_under_steady_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, db) = scratch_store(&dir).await;
        // ~48 MiB of WAL frames in all, written without a pause.
        let largest = write_rows(&store, &db, 500).await;
        assert!(largest > 0, "the WAL was written");
        // Rewound every 1 MiB, and writes wait for a checkpoint once it outgrows 2 MiB (a
        // few batches more when a rewind misses a reader's lock): far below the 48 MiB.
        assert!(largest < 8 << 20, "the WAL grew to {largest} bytes");
        let count = store.read(|c| Ok(c.query("SELECT count(*) FROM scratch", &[])?[0].int(0))).unwrap();
        assert_eq!(count, 4000, "every acknowledged write is there");
    }

    #[tokio::test]
    async fn the_wal_is_truncated_once_idle() {
        let dir = tempfile::tempdir().unwrap();
        let (store, db) = scratch_store(&dir).await;
        write_rows(&store, &db, 40).await;
        assert!(wal_bytes(&db) > 0, "the burst went through the WAL");
        let since = Instant::now();
        while wal_bytes(&db) > 0 {
            assert!(since.elapsed() < Duration::from_secs(10), "the WAL is still {} bytes", wal_bytes(&db));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let count = store.read(|c| Ok(c.query("SELECT count(*) FROM scratch", &[])?[0].int(0))).unwrap();
        assert_eq!(count, 320);
    }
}
