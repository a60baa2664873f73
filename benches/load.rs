//! The load benchmark: starts the real `userplane` binary (release) on an SQLite file
//! (or on `--database-url`), loads the seed calls and `GET /v2/users/{userId}` at 16
//! connections, and reports each one's throughput and latency as a ratio of the null
//! route (`GET /_userplane/health`) measured in the same run, just before it; plus start-up time, RSS
//! idle and under load, and the time to create and reset a tenant.
//!
//! Run: `cargo bench --bench load` (options after `--`: `--seconds N`, `--connections N`,
//! `--database-url URL`, `--nodes N` to spread load over N servers on one PostgreSQL,
//! `--only TEXT` to run only the routes whose name contains TEXT).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method};
use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-token";

struct Options {
    seconds: u64,
    connections: usize,
    database_url: Option<String>,
    nodes: usize,
    /// Run only the routes whose name contains this (the null route always runs).
    only: Option<String>,
}

fn options() -> Options {
    let mut opts = Options { seconds: 5, connections: 16, database_url: None, nodes: 1, only: None };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seconds" => opts.seconds = value.parse().unwrap_or(5),
            "--connections" => opts.connections = value.parse().unwrap_or(16),
            "--database-url" => opts.database_url = Some(value),
            "--nodes" => opts.nodes = value.parse().unwrap_or(1),
            "--only" => opts.only = Some(value),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    opts
}

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(18_700)
}

/// Starts a node and returns it with the time to its first answered request.
async fn start_node(database_url: &str) -> (Node, Duration) {
    let port = free_port();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_userplane"))
        .args(["serve", "--quiet", "--no-demo", "--admin-token", ADMIN, "--database-url", database_url])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start userplane");
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::new();
    loop {
        if let Ok(response) = client.get(format!("{base}/_userplane/health")).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "userplane did not start");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (Node { child, base }, started.elapsed())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One request a worker sends, built from its index and iteration.
type MakeRequest = Arc<dyn Fn(&Client, &str, usize, u64) -> reqwest::RequestBuilder + Send + Sync>;

struct Result {
    name: &'static str,
    /// The null route's throughput measured just before this route (the machine is
    /// shared and drifts: each ratio is against its neighbour, not the run's first).
    null_rps: f64,
    requests: u64,
    errors: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Result {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Loads one route (after the null route, for its ratio) if `--only` selects it.
async fn load(
    name: &'static str,
    bases: &[String],
    opts: &Options,
    expected: u16,
    make: MakeRequest,
) -> Option<Result> {
    let null_route = name.contains("null route");
    if !null_route && opts.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
        return None;
    }
    let null_rps = if null_route {
        None
    } else {
        let health: MakeRequest = Arc::new(|c, base, _, _| c.get(format!("{base}/_userplane/health")));
        let seconds = (opts.seconds / 2).max(1);
        Some(measure("null", bases, opts, seconds, 200, health).await.rps())
    };
    let mut result = measure(name, bases, opts, opts.seconds, expected, make).await;
    result.null_rps = null_rps.unwrap_or_else(|| result.rps());
    Some(result)
}

async fn measure(
    name: &'static str,
    bases: &[String],
    opts: &Options,
    seconds: u64,
    expected: u16,
    make: MakeRequest,
) -> Result {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for worker in 0..opts.connections {
        let (stop, errors, make) = (stop.clone(), errors.clone(), make.clone());
        let base = bases[worker % bases.len()].clone();
        workers.push(tokio::spawn(async move {
            let client = Client::builder().pool_max_idle_per_host(1).build().expect("client");
            let mut latencies = Vec::with_capacity(100_000);
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                match make(&client, &base, worker, i).send().await {
                    Ok(response) => {
                        let ok = response.status().as_u16() == expected;
                        let _ = response.bytes().await;
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                latencies.push(started.elapsed().as_micros() as u32);
                i += 1;
            }
            latencies
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u32> = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or(0) as f64
            / 1000.0
    };
    Result {
        name,
        null_rps: 0.0,
        requests: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

fn zoom_world(account: &str, users: usize) -> Value {
    let mut list = vec![json!({"email": "owner@bench.example", "type": 2, "role": "owner"})];
    for i in 0..users {
        list.push(json!({"email": format!("user{i}@bench.example"), "first_name": "User", "last_name": format!("{i}"),
            "type": 2, "assistants": [format!("helper{i}@bench.example")]}));
        list.push(json!({"email": format!("helper{i}@bench.example"), "type": 2}));
    }
    json!({"provider": "zoom", "account_id": account, "plan": "enterprise", "rate_limits": "off",
        "apps": [{"client_id": format!("{account}-app"), "client_secret": "bench-secret",
                  "scopes": ["user:read:admin", "user:write:admin"]}],
        "users": list})
}

/// A Cloudflare account with a user per connection and a token that may revoke them.
fn cloudflare_world(account: &str, users: usize) -> Value {
    let list: Vec<Value> =
        (0..users).map(|i| json!({"email": format!("user{i}@bench.example"), "name": format!("User {i}")})).collect();
    json!({"provider": "cloudflare", "account_id": account, "rate_limits": "off",
        "api_tokens": [{"value": format!("{account}-token"),
                        "permissions": ["Access: Organizations, Identity Providers, and Groups Write"]}],
        "users": list})
}

fn small_world(account: &str) -> Value {
    let users: Vec<Value> = (0..10).map(|i| json!({"email": format!("u{i}@small.example"), "type": 2})).collect();
    json!({"provider": "zoom", "account_id": account, "plan": "pro", "apps": [{"client_id": format!("{account}-c"), "client_secret": "s", "scopes": ["user:read:admin"]}], "users": users})
}

#[tokio::main]
async fn main() {
    let opts = options();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url =
        opts.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let backend = if database_url.starts_with("postgres") { "PostgreSQL" } else { "SQLite" };

    // Start-up: median of five cold starts to the first answered request.
    let mut startups = Vec::new();
    for _ in 0..5 {
        let (node, took) = start_node(&database_url).await;
        startups.push(took);
        drop(node);
    }
    startups.sort();
    let mut nodes = Vec::new();
    for _ in 0..opts.nodes.max(1) {
        nodes.push(start_node(&database_url).await.0);
    }
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let base = bases[0].clone();
    let http = Client::new();

    // The world: one account with a user (and an assistant) per connection.
    let account = format!("bench{}", std::process::id());
    let created = http
        .post(format!("{base}/_userplane/tenants"))
        .bearer_auth(ADMIN)
        .json(&zoom_world(&account, opts.connections))
        .send()
        .await
        .expect("create tenant");
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap_or_default());
    let token: Value = http
        .post(format!("{base}/oauth/token?grant_type=account_credentials&account_id={account}"))
        .basic_auth(format!("{account}-app"), Some("bench-secret"))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = Arc::new(token["access_token"].as_str().expect("access token").to_owned());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let cf_account = format!("{:032x}", (u128::from(std::process::id()) << 64) | (nanos & u128::from(u64::MAX)));
    let created = http
        .post(format!("{base}/_userplane/tenants"))
        .bearer_auth(ADMIN)
        .json(&cloudflare_world(&cf_account, opts.connections))
        .send()
        .await
        .expect("create cloudflare tenant");
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap_or_default());
    let idle_rss = nodes.iter().map(|n| rss_kib(n.child.id())).max().unwrap_or(0);

    // Tenant create and reset with a 10-user world, through the control plane.
    let mut creates = Vec::new();
    let mut resets = Vec::new();
    for i in 0..20 {
        let small = format!("small{}x{i}", std::process::id());
        let started = Instant::now();
        let response = http
            .post(format!("{base}/_userplane/tenants"))
            .bearer_auth(ADMIN)
            .json(&small_world(&small))
            .send()
            .await
            .unwrap();
        creates.push(started.elapsed());
        assert_eq!(response.status(), 201);
        let started = Instant::now();
        let response =
            http.post(format!("{base}/_userplane/tenants/{small}/reset")).bearer_auth(ADMIN).send().await.unwrap();
        resets.push(started.elapsed());
        assert_eq!(response.status(), 200);
    }
    creates.sort();
    resets.sort();

    let rss_peak = Arc::new(AtomicU64::new(idle_rss));
    let sampler = {
        let (pids, rss_peak) = (nodes.iter().map(|n| n.child.id()).collect::<Vec<_>>(), rss_peak.clone());
        tokio::spawn(async move {
            loop {
                for pid in &pids {
                    rss_peak.fetch_max(rss_kib(*pid), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    let mut results = Vec::new();
    let health: MakeRequest = Arc::new(|c, base, _, _| c.get(format!("{base}/_userplane/health")));
    results.extend(load("GET /_userplane/health (null route)", &bases, &opts, 200, health).await);

    let t = token.clone();
    let get_user: MakeRequest =
        Arc::new(move |c, base, w, _| c.get(format!("{base}/v2/users/user{w}@bench.example")).bearer_auth(t.as_str()));
    results.extend(load("GET /v2/users/{userId}", &bases, &opts, 200, get_user).await);

    let t = token.clone();
    let revoke: MakeRequest = Arc::new(move |c, base, w, _| {
        c.request(Method::DELETE, format!("{base}/v2/users/user{w}@bench.example/token")).bearer_auth(t.as_str())
    });
    results.extend(load("DELETE /v2/users/{userId}/token", &bases, &opts, 204, revoke).await);

    let t = token.clone();
    let status: MakeRequest = Arc::new(move |c, base, w, i| {
        let action = if i % 2 == 0 { "deactivate" } else { "activate" };
        c.put(format!("{base}/v2/users/user{w}@bench.example/status"))
            .bearer_auth(t.as_str())
            .json(&json!({"action": action}))
    });
    results.extend(load("PUT /v2/users/{userId}/status", &bases, &opts, 204, status).await);

    let t = token.clone();
    let assistants: MakeRequest = Arc::new(move |c, base, w, _| {
        c.request(Method::DELETE, format!("{base}/v2/users/user{w}@bench.example/assistants")).bearer_auth(t.as_str())
    });
    results.extend(load("DELETE /v2/users/{userId}/assistants", &bases, &opts, 204, assistants).await);

    let cf_token = Arc::new(format!("{cf_account}-token"));
    let revoke_user: MakeRequest = Arc::new(move |c, base, w, _| {
        c.post(format!("{base}/client/v4/accounts/{cf_account}/access/organizations/revoke_user"))
            .bearer_auth(cf_token.as_str())
            .json(&json!({"email": format!("user{w}@bench.example")}))
    });
    results.extend(load("POST .../access/organizations/revoke_user", &bases, &opts, 200, revoke_user).await);

    sampler.abort();
    println!();
    println!(
        "userplane load benchmark: {backend}, {} node(s), {} connections, {} s per route, {} cores",
        bases.len(),
        opts.connections,
        opts.seconds,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!("(each ratio is against the null route measured just before that route)");
    println!("{:<42} {:>10} {:>8} {:>9} {:>9} {:>8}", "route", "req/s", "ratio", "p50 ms", "p99 ms", "errors");
    for r in &results {
        println!(
            "{:<42} {:>10.0} {:>7.0}% {:>9.2} {:>9.2} {:>8}",
            r.name,
            r.rps(),
            100.0 * r.rps() / r.null_rps,
            r.p50_ms,
            r.p99_ms,
            r.errors
        );
    }
    let median = |v: &[Duration]| v[v.len() / 2].as_secs_f64() * 1000.0;
    println!();
    println!("start to first answered request: {:.1} ms (median of 5)", median(&startups));
    println!(
        "RSS idle: {:.1} MiB; peak under load: {:.1} MiB",
        idle_rss as f64 / 1024.0,
        rss_peak.load(Ordering::Relaxed) as f64 / 1024.0
    );
    println!(
        "create a tenant with a 10-user world: {:.2} ms; reset it: {:.2} ms (medians of 20, over HTTP)",
        median(&creates),
        median(&resets)
    );
    println!(
        "targets: writes >= 25% and reads >= 50% of the null route, p99 <= 10 ms, start <= 100 ms, idle RSS <= 20 MiB, load RSS <= 64 MiB, create/reset <= 5 ms"
    );
}
