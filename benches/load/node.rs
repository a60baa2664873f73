//! The server under test: the release `userplane` binary started as a child process,
//! its resident memory, the SQLite WAL's size, and PostgreSQL's commit counters.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const ADMIN: &str = "bench-admin-token";

pub struct Node {
    child: Child,
    pub base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Why a node did not come up.
pub enum StartError {
    TimedOut(Duration),
    Failed(String),
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| e.to_string())
}

/// Starts a node (loading `world` first, if given) and returns it with the time from
/// spawn to its first answered request, waiting at most `timeout`.
pub async fn start(
    database_url: &str,
    world: Option<&Path>,
    timeout: Duration,
) -> Result<(Node, Duration), StartError> {
    let port = free_port().map_err(StartError::Failed)?;
    let started = Instant::now();
    // Another build to compare against this one, e.g. main's: USERPLANE_BENCH_BINARY=path.
    let binary = std::env::var_os("USERPLANE_BENCH_BINARY").unwrap_or_else(|| env!("CARGO_BIN_EXE_userplane").into());
    let mut command = Command::new(binary);
    command
        .args(["serve", "--quiet", "--no-demo", "--admin-token", ADMIN, "--database-url", database_url])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("USERPLANE_LOG", "userplane=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(world) = world {
        command.arg("--world").arg(world);
    }
    let child = command.spawn().map_err(|e| StartError::Failed(format!("start userplane: {e}")))?;
    let mut node = Node { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    loop {
        if let Ok(response) = client.get(format!("{}/_userplane/health", node.base)).send().await
            && response.status() == 200
        {
            return Ok((node, started.elapsed()));
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            return Err(StartError::Failed(format!("userplane exited with {status} before answering")));
        }
        if started.elapsed() > timeout {
            return Err(StartError::TimedOut(timeout));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Resident memory of a process, in KiB (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The WAL next to an SQLite database file.
pub fn wal_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

pub fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Samples the nodes' RSS and the WAL's size every 50 ms on its own thread; the peaks
/// are read between runs.
pub struct Sampler {
    pub rss_peak_kib: Arc<AtomicU64>,
    pub wal_peak_bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Sampler {
    pub fn start(pids: Vec<u32>, wal: Option<PathBuf>) -> Sampler {
        let (rss, wal_peak, stop) =
            (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (r, w, s) = (rss.clone(), wal_peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                for pid in &pids {
                    r.fetch_max(rss_kib(*pid), Ordering::Relaxed);
                }
                if let Some(wal) = &wal {
                    w.fetch_max(file_size(wal), Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler { rss_peak_kib: rss, wal_peak_bytes: wal_peak, stop }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// PostgreSQL's transaction counters for the benchmark's database, read through a
/// connection to the `postgres` database so that reading them counts nothing in the one
/// measured, and the nodes' request-journal batches.
pub struct CommitCounter {
    client: tokio_postgres::Client,
    database: String,
    http: reqwest::Client,
}

/// Counters at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    /// Transactions ended (`pg_stat_database`): every statement run outside `BEGIN` is
    /// one, a read-only one included, though it writes no commit record.
    pub commits: i64,
    pub rollbacks: i64,
    /// Transaction ids handed out (the next one's number): one per transaction that
    /// wrote, the only kind that commits anything (a commit record, a WAL flush).
    pub writing: i64,
    /// WAL flushes to disk (`pg_stat_wal.wal_sync`; group commit shares one).
    pub wal_syncs: i64,
    /// Batches the request journal wrote, one writing transaction each, off the
    /// requests' path (the nodes' `/metrics`; `None` from a build that does not count them).
    pub journal_batches: Option<i64>,
}

/// What a run's requests cost PostgreSQL, per request.
#[derive(Debug, Clone, Copy)]
pub struct PerRequest {
    pub transactions: f64,
    pub rollbacks: f64,
    /// Writing transactions on the requests' own path (the journal's batches taken out,
    /// when the build counts them).
    pub writing: f64,
    pub journal: Option<f64>,
    pub wal_syncs: f64,
}

impl Counts {
    pub fn per_request(&self, before: &Counts, requests: u64) -> PerRequest {
        let n = requests.max(1) as f64;
        let per = |after: i64, before: i64| (after - before) as f64 / n;
        let journal = self.journal_batches.zip(before.journal_batches).map(|(after, before)| per(after, before));
        PerRequest {
            transactions: per(self.commits, before.commits),
            rollbacks: per(self.rollbacks, before.rollbacks),
            writing: per(self.writing, before.writing) - journal.unwrap_or(0.0),
            journal,
            wal_syncs: per(self.wal_syncs, before.wal_syncs),
        }
    }
}

impl CommitCounter {
    pub async fn connect(database_url: &str) -> Result<CommitCounter, String> {
        // userplane's own parameters (pool_size) mean nothing to the client.
        let url = database_url.split('?').next().unwrap_or(database_url);
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let database = config.get_dbname().ok_or("the database URL names no database")?.to_owned();
        config.dbname("postgres");
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("connect to the postgres database: {e}"))?;
        tokio::spawn(connection);
        Ok(CommitCounter { client, database, http: reqwest::Client::new() })
    }

    /// The counters now. PostgreSQL publishes a backend's counts up to 10 s after it goes
    /// idle: call [`CommitCounter::settle`] after a run before reading. Reading them
    /// takes no transaction id.
    pub async fn read(&self, nodes: &[String]) -> Result<Counts, String> {
        let row = self
            .client
            .query_one(
                "SELECT d.xact_commit, d.xact_rollback,
                        pg_snapshot_xmax(pg_current_snapshot())::text::bigint,
                        (SELECT wal_sync FROM pg_stat_wal)
                 FROM pg_stat_database d WHERE d.datname = $1",
                &[&self.database],
            )
            .await
            .map_err(|e| format!("read pg_stat_database: {e}"))?;
        let mut journal_batches = Some(0);
        for base in nodes {
            let page = self.http.get(format!("{base}/metrics")).send().await.map_err(|e| e.to_string())?;
            let page = page.text().await.map_err(|e| e.to_string())?;
            let batches = page
                .lines()
                .find_map(|line| line.strip_prefix("userplane_journal_batches_total "))
                .and_then(|n| n.trim().parse::<f64>().ok());
            journal_batches = journal_batches.zip(batches).map(|(sum, n)| sum + n as i64);
        }
        Ok(Counts {
            commits: row.get(0),
            rollbacks: row.get(1),
            writing: row.get(2),
            wal_syncs: row.get(3),
            journal_batches,
        })
    }

    /// Waits out PostgreSQL's idle-backend statistics interval (PGSTAT_IDLE_INTERVAL, 10 s).
    pub async fn settle() {
        tokio::time::sleep(Duration::from_millis(10_500)).await;
    }
}
