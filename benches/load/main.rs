//! The load benchmark. It starts the release `userplane` binary on an SQLite file (or on
//! `--database-url postgres://…`, over `--nodes N`), drives it with wrk (an external
//! generator that saturates it) and reports, against the budget in DESIGN.md:
//! - the null route, `GET /v2/users/{userId}` and the four seed calls: throughput, its
//!   ratio to the null route measured just before it (the machine is shared and drifts),
//!   p50 / p99 / p99.9 / max, and on PostgreSQL commits per request;
//! - a long write run second by second, so that a write stall shows;
//! - the growth matrix: 10 / 10k / 100k users, 1 / 10k sessions on a user, 1 / 100 tenants;
//! - start-up time, RSS idle and under load, tenant create/reset time, the WAL's size.
//!
//! Run `cargo bench --bench load` (flags after `--`; `--help` lists them).

mod growth;
mod node;
mod seed_calls;
mod world;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use node::{Node, StartError};
use world::{Control, email};
use wrk::{Load, Measured, Request, Wrk};

const HELP: &str = "cargo bench --bench load -- [flags]
  --seconds N          seconds per measured route (5; --quick: 2); its null route gets half
  --connections N      wrk connections (16)
  --threads N          wrk threads (2)
  --stall-seconds N    length of the second-by-second write run (60; --quick: 10; 0 skips it)
  --database-url URL   sqlite://PATH or postgres://user@host:port/db (default: a temporary SQLite file)
  --nodes N            spread the load over N nodes on the same PostgreSQL database (1)
  --only TEXT          main table: only the routes whose name contains TEXT
  --quick              short runs, no growth matrix (unless --matrix)
  --matrix             only the growth matrix (with --quick: without the largest size)
  --sizes A,B,C        tenant sizes of the growth matrix (10,10000,100000)
  --sessions N         sessions on the heavy user of the revoke comparison (10000)
  --tenants N          tenants of the spread comparison (100)
  --load-timeout N     seconds a world may take to load before it is reported as not finished (60)";

struct Options {
    seconds: u64,
    connections: usize,
    threads: usize,
    stall_seconds: u64,
    database_url: Option<String>,
    nodes: usize,
    only: Option<String>,
    main_table: bool,
    matrix: bool,
    sizes: Vec<usize>,
    sessions: usize,
    tenants: usize,
    load_timeout: u64,
}

fn options() -> Result<Options, String> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let quick = args.iter().any(|a| a == "--quick");
    let matrix_only = args.iter().any(|a| a == "--matrix");
    let mut opts = Options {
        seconds: if quick { 2 } else { 5 },
        connections: 16,
        threads: 2,
        stall_seconds: if quick { 10 } else { 60 },
        database_url: None,
        nodes: 1,
        only: None,
        main_table: !matrix_only,
        matrix: matrix_only || !quick,
        sizes: if quick { vec![10, 10_000] } else { vec![10, 10_000, 100_000] },
        sessions: 10_000,
        tenants: 100,
        load_timeout: 60,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        if flag == "--quick" || flag == "--matrix" {
            continue;
        }
        if flag == "--help" || flag == "-h" {
            return Err(HELP.to_owned());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{HELP}"))?;
        let number = |min: u64| -> Result<u64, String> {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= min)
                .ok_or_else(|| format!("{flag} takes a number ≥ {min}, not {value:?}"))
        };
        match flag.as_str() {
            "--seconds" => opts.seconds = number(1)?,
            "--connections" => opts.connections = number(1)? as usize,
            "--threads" => opts.threads = number(1)? as usize,
            "--stall-seconds" => opts.stall_seconds = number(0)?,
            "--database-url" => opts.database_url = Some(value),
            "--nodes" => opts.nodes = number(1)? as usize,
            "--only" => opts.only = Some(value),
            "--sizes" => {
                opts.sizes = value
                    .split(',')
                    .map(|s| s.trim().parse::<usize>().ok().filter(|n| *n >= 1))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("--sizes takes numbers ≥ 1 separated by commas, not {value:?}"))?;
                opts.sizes.sort_unstable();
            }
            "--sessions" => opts.sessions = number(1)? as usize,
            "--tenants" => opts.tenants = number(2)? as usize,
            "--load-timeout" => opts.load_timeout = number(1)?,
            _ => return Err(format!("unknown flag {flag}\n{HELP}")),
        }
    }
    if quick && matrix_only {
        opts.sizes.retain(|n| *n <= 10_000);
    }
    if opts.nodes > 1 && !opts.database_url.as_deref().is_some_and(|url| url.starts_with("postgres")) {
        return Err("--nodes N > 1 needs --database-url postgres://…: one process serves an SQLite file".into());
    }
    Ok(opts)
}

/// What a route is held to.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Null,
    Read,
    Write,
}

/// One measured route, with the null route's throughput measured just before it.
struct Row {
    name: String,
    kind: Kind,
    null_rps: f64,
    measured: Measured,
    /// What each request cost PostgreSQL.
    commits: Option<Result<node::PerRequest, String>>,
}

impl Row {
    fn share_of_null(&self) -> f64 {
        if self.null_rps > 0.0 { self.measured.rps() / self.null_rps } else { 0.0 }
    }
}

/// Runs routes with wrk on a set of nodes.
struct Bench {
    wrk: Wrk,
    load: Load,
}

impl Bench {
    /// Checks that the first request answers `expected`, then loads the null route for
    /// half the time and the route for the whole time.
    async fn route(&self, nodes: &[String], name: &str, kind: Kind, requests: &[Request], expected: u16) -> Row {
        let null = [Request::new("GET", "/_userplane/health", "")];
        let null_rps = if kind == Kind::Null {
            None
        } else {
            let half = Load { seconds: (self.load.seconds / 2).max(1), ..self.load };
            Some(self.run(nodes, &null, half).rps())
        };
        let measured = self.checked(nodes, name, requests, expected, self.load).await;
        Row { name: name.to_owned(), kind, null_rps: null_rps.unwrap_or(measured.rps()), measured, commits: None }
    }

    async fn checked(&self, nodes: &[String], name: &str, requests: &[Request], expected: u16, load: Load) -> Measured {
        match Control::new(&nodes[0]).send(&requests[0]).await {
            Ok((status, _)) if status == expected => {}
            Ok((status, _)) => fail(&format!("{name}: the first request answered {status}, not {expected}")),
            Err(e) => fail(&format!("{name}: {e}")),
        }
        self.run(nodes, requests, load)
    }

    fn run(&self, nodes: &[String], requests: &[Request], load: Load) -> Measured {
        self.wrk.run(nodes, requests, load).unwrap_or_else(|e| fail(&e))
    }
}

/// The file behind an SQLite database URL.
fn sqlite_path(database_url: &str) -> PathBuf {
    let path = database_url.strip_prefix("sqlite://").or_else(|| database_url.strip_prefix("sqlite:"));
    PathBuf::from(path.unwrap_or(database_url))
}

/// Starts a node or ends the benchmark saying why.
async fn start_node(database_url: &str) -> (Node, Duration) {
    match node::start(database_url, None, Duration::from_secs(30)).await {
        Ok(started) => started,
        Err(StartError::TimedOut(t)) => fail(&format!("userplane did not answer within {} s", t.as_secs())),
        Err(StartError::Failed(e)) => fail(&e),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("benchmark failed: {message}");
    std::process::exit(1)
}

fn mark(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v.get(v.len() / 2).map_or(0.0, |d| ms(*d))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Zoom requests for users `ids`, one line per user.
fn zoom_requests(method: &'static str, ids: &[usize], token: &str, suffix: &str) -> Vec<Request> {
    ids.iter()
        .map(|i| Request::new(method, format!("/v2/users/{}{suffix}", email(*i)), &format!("Bearer {token}")))
        .collect()
}

/// Deactivate every user, then activate every user: the two requests for one user are a
/// whole pass apart, so they are never in flight together.
fn status_requests(ids: &[usize], token: &str) -> Vec<Request> {
    ["deactivate", "activate"]
        .iter()
        .flat_map(|action| {
            zoom_requests("PUT", ids, token, "/status").into_iter().map(move |r| r.with_body(json!({"action": action})))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let opts = options().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| fail(&format!("temp dir: {e}")));
    let wrk = Wrk::locate(dir.path()).unwrap_or_else(|e| fail(&e));
    let sqlite_file = dir.path().join("bench.db");
    let database_url = opts.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", sqlite_file.display()));
    let postgres = database_url.starts_with("postgres");
    let bench =
        Bench { wrk, load: Load { connections: opts.connections, threads: opts.threads, seconds: opts.seconds } };
    println!(
        "userplane load benchmark: {}, {} node(s), wrk -t{} -c{} -d{}s --latency, {} cores",
        if postgres { "PostgreSQL" } else { "SQLite" },
        opts.nodes,
        opts.threads.max(opts.nodes),
        opts.connections,
        opts.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("Latencies in ms are wrk's, corrected for coordinated omission: a connection that stalls is");
    println!("counted as the requests it would have sent meanwhile, as a client sending at a steady rate sees it.");
    println!("Each % of null is against the null route (GET /_userplane/health) measured just before that route.");
    if opts.main_table {
        let sqlite_file = (!postgres).then(|| sqlite_path(&database_url));
        seed_calls::run(&bench, &opts, &database_url, sqlite_file.as_deref()).await;
    }
    if opts.matrix {
        growth::run(&bench, &opts, &database_url, dir.path()).await;
    }
}
