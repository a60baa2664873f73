//! The main table: the null route, GET user and the four seed calls at full load; the
//! long write run second by second; start-up, memory, tenant create/reset, the WAL.

use std::path::Path;
use std::time::Duration;

use crate::node::{self, CommitCounter, Sampler};
use crate::world::{self, Control, email};
use crate::wrk::{Load, Measured, Request};
use crate::{Bench, Kind, Options, Row, fail, mark, median, mib, ms, start_node, status_requests, zoom_requests};

/// More users than connections: two writes to one user are never in flight together.
const USERS: usize = 64;

pub async fn run(bench: &Bench, opts: &Options, database_url: &str, sqlite_file: Option<&Path>) {
    let mut startups = Vec::new();
    for _ in 0..5 {
        startups.push(start_node(database_url).await.1);
    }
    let mut nodes = Vec::new();
    for _ in 0..opts.nodes {
        nodes.push(start_node(database_url).await.0);
    }
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let pids: Vec<u32> = nodes.iter().map(|n| n.pid()).collect();
    let control = Control::new(&bases[0]);

    let account = world::unique("bench");
    control.create_tenant(&world::zoom_tenant(&account, USERS, true)).await.unwrap_or_else(|e| fail(&e));
    let token = control.zoom_token(&account).await.unwrap_or_else(|e| fail(&e));
    let cf_account = world::cloudflare_account();
    control.create_tenant(&world::cloudflare_tenant(&cf_account, USERS)).await.unwrap_or_else(|e| fail(&e));
    let idle_rss = pids.iter().map(|pid| node::rss_kib(*pid)).max().unwrap_or(0);

    let (mut creates, mut resets) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let small = world::unique(&format!("small{i}x"));
        creates.push(control.create_tenant(&world::zoom_tenant(&small, 10, false)).await.unwrap_or_else(|e| fail(&e)));
        resets.push(control.reset_tenant(&small).await.unwrap_or_else(|e| fail(&e)));
    }

    let wal = sqlite_file.map(node::wal_path);
    let sampler = Sampler::start(pids, wal.clone());
    let commits = match database_url.starts_with("postgres") {
        true => Some(CommitCounter::connect(database_url).await),
        false => None,
    };
    if let Some(Ok(_)) = &commits {
        println!(
            "(PostgreSQL: transactions from pg_stat_database, writing ones from transaction ids, WAL flushes from\n\
             pg_stat_wal, the request journal's batches from /metrics; each route waits 10.5 s for them to be published)"
        );
        CommitCounter::settle().await;
    }

    let ids: Vec<usize> = (0..USERS).collect();
    let cf_bearer = format!("Bearer {cf_account}-token");
    let revoke_user: Vec<Request> = ids
        .iter()
        .map(|i| {
            Request::new(
                "POST",
                format!("/client/v4/accounts/{cf_account}/access/organizations/revoke_user"),
                &cf_bearer,
            )
            .with_body(serde_json::json!({"email": email(*i)}))
        })
        .collect();
    let routes: Vec<(&str, Kind, Vec<Request>, u16)> = vec![
        ("GET /_userplane/health (null route)", Kind::Null, vec![Request::new("GET", "/_userplane/health", "")], 200),
        ("GET /v2/users/{userId}", Kind::Read, zoom_requests("GET", &ids, &token, ""), 200),
        ("DELETE /v2/users/{userId}/token", Kind::Write, zoom_requests("DELETE", &ids, &token, "/token"), 204),
        ("PUT /v2/users/{userId}/status", Kind::Write, status_requests(&ids, &token), 204),
        (
            "DELETE /v2/users/{userId}/assistants",
            Kind::Write,
            zoom_requests("DELETE", &ids, &token, "/assistants"),
            204,
        ),
        ("POST /client/v4/accounts/{id}/access/organizations/revoke_user", Kind::Write, revoke_user, 200),
    ];
    let mut rows = Vec::new();
    for (name, kind, requests, expected) in routes {
        if kind != Kind::Null && opts.only.as_ref().is_some_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        let before = match &commits {
            Some(Ok(counter)) => Some(counter.read(&bases).await),
            _ => None,
        };
        let mut row = bench.route(&bases, name, kind, &requests, expected).await;
        row.commits = match (&commits, before) {
            (Some(Ok(counter)), Some(before)) => {
                Some(cost_per_request(counter, &bases, before, row.measured.requests).await)
            }
            (Some(Err(e)), _) => Some(Err(e.clone())),
            _ => None,
        };
        rows.push(row);
    }
    let load_rss = sampler.rss_peak_kib.load(std::sync::atomic::Ordering::Relaxed);
    let table_wal_peak = sampler.wal_peak_bytes.swap(0, std::sync::atomic::Ordering::Relaxed);
    print_table(&rows);

    if opts.stall_seconds > 0 {
        stall_run(bench, opts, &bases, &zoom_requests("DELETE", &ids, &token, "/token"), wal.as_deref());
    }
    let stall_wal_peak = sampler.wal_peak_bytes.load(std::sync::atomic::Ordering::Relaxed);
    let load_rss = load_rss.max(sampler.rss_peak_kib.load(std::sync::atomic::Ordering::Relaxed));
    drop(sampler);

    println!();
    let startup = median(startups);
    println!(
        "start to first answered request: {startup:.1} ms (median of 5; budget ≤ 50 ms) {}",
        mark(startup <= 50.0)
    );
    let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
    println!(
        "RSS idle: {:.1} MB (budget ≤ 20 MB) {}; peak under load: {:.1} MB (budget ≤ 64 MB) {}",
        mb(idle_rss),
        mark(mb(idle_rss) <= 20.0),
        mb(load_rss),
        mark(mb(load_rss) <= 64.0)
    );
    let (create, reset) = (median(creates), median(resets));
    println!(
        "a tenant with a 10-user world, over HTTP (medians of 20): create {create:.2} ms, reset {reset:.2} ms (budget ≤ 5 ms) {}",
        mark(create <= 5.0 && reset <= 5.0)
    );
    if let Some(wal) = &wal {
        println!(
            "SQLite WAL: peak {:.1} MiB during the table, {:.1} MiB during the write run, {:.1} MiB now",
            mib(table_wal_peak),
            mib(stall_wal_peak),
            mib(node::file_size(wal))
        );
    }
}

/// What each request cost PostgreSQL since `before`, once PostgreSQL has published it.
async fn cost_per_request(
    counter: &CommitCounter,
    nodes: &[String],
    before: Result<node::Counts, String>,
    requests: u64,
) -> Result<node::PerRequest, String> {
    let before = before?;
    CommitCounter::settle().await;
    Ok(counter.read(nodes).await?.per_request(&before, requests))
}

fn print_table(rows: &[Row]) {
    println!();
    let postgres = rows.iter().any(|r| r.commits.is_some());
    println!(
        "{:<64} {:>8} {:>16} {:>7} {:>19} {:>20} {:>8} {:>6}{}",
        "route",
        "req/s",
        "% of null",
        "p50",
        "p99",
        "p99.9",
        "max",
        "errors",
        if postgres { "  per request: transactions (rollbacks), writing + journal, WAL flushes" } else { "" }
    );
    for row in rows {
        let m = &row.measured;
        let share = match row.kind {
            Kind::Null => "-".to_owned(),
            Kind::Read => budget(100.0 * row.share_of_null(), 70.0, "%", true),
            Kind::Write => budget(100.0 * row.share_of_null(), if postgres { 10.0 } else { 40.0 }, "%", true),
        };
        let (p99, p999) = match row.kind {
            Kind::Write => (budget(m.p99_ms, 5.0, "", false), budget(m.p999_ms, 20.0, "", false)),
            _ => (format!("{:.2}", m.p99_ms), format!("{:.2}", m.p999_ms)),
        };
        let commits = match &row.commits {
            None => String::new(),
            Some(Err(e)) => format!("  unavailable: {e}"),
            Some(Ok(cost)) => {
                // At most one commit per write (a change to what already is commits none),
                // none per read; autovacuum's ANALYZE takes an id now and then.
                let most = if row.kind == Kind::Write { 1.0 } else { 0.0 };
                let verdict = if row.kind == Kind::Null { "" } else { mark(cost.writing <= most + 0.02) };
                // A build that does not count its journal's batches has them in `writing`.
                let journal = cost.journal.map_or("?".to_owned(), |j| format!("{j:.3}"));
                format!(
                    "  {:.3} ({:.3}), {:.3} {verdict} + {journal}, {:.3}",
                    cost.transactions, cost.rollbacks, cost.writing, cost.wal_syncs
                )
            }
        };
        println!(
            "{:<64} {:>8.0} {:>16} {:>7.2} {:>19} {:>20} {:>8.2} {:>6}{commits}",
            row.name,
            m.rps(),
            share,
            m.p50_ms,
            p99,
            p999,
            m.max_ms,
            m.errors
        );
    }
    println!(
        "budget (DESIGN.md, issue 12): reads ≥ 70% and seed writes ≥ 40% of the null route (≥ 10% on PostgreSQL);"
    );
    println!(
        "seed writes p99 ≤ 5 ms and p99.9 ≤ 20 ms; on PostgreSQL at most one commit (writing transaction) per write\n\
         request and none per read (a read's statements are read-only transactions: they commit nothing)."
    );
    println!("PASS/MISS only report: they do not fail the run.");
}

/// A figure with its budget and verdict: "58% MISS (≥70%)".
pub fn budget(value: f64, limit: f64, unit: &str, at_least: bool) -> String {
    let ok = if at_least { value >= limit } else { value <= limit };
    let sign = if at_least { "≥" } else { "≤" };
    let precision = if unit == "%" { 0 } else { 2 };
    format!("{value:.precision$}{unit} {} ({sign}{limit}{unit})", mark(ok))
}

/// Back-to-back one-second wrk runs of a write, so that a stall shows in its second.
fn stall_run(bench: &Bench, opts: &Options, bases: &[String], requests: &[Request], wal: Option<&Path>) {
    println!();
    println!(
        "DELETE /v2/users/{{userId}}/token for {} s, second by second ({} back-to-back 1-s wrk runs, -c{}):",
        opts.stall_seconds, opts.stall_seconds, opts.connections
    );
    println!(
        "{:>4} {:>8} {:>8} {:>8} {:>8}{}",
        "s",
        "req/s",
        "p50",
        "p99",
        "max",
        if wal.is_some() { "  WAL MiB" } else { "" }
    );
    let load = Load { seconds: 1, ..bench.load };
    let mut seconds: Vec<Measured> = Vec::new();
    let started = std::time::Instant::now();
    for second in 1..=opts.stall_seconds {
        let m = bench.run(bases, requests, load);
        let wal_now = wal.map(|w| format!("  {:>7.1}", mib(node::file_size(w)))).unwrap_or_default();
        println!("{second:>4} {:>8.0} {:>8.2} {:>8.2} {:>8.2}{wal_now}", m.rps(), m.p50_ms, m.p99_ms, m.max_ms);
        seconds.push(m);
    }
    let measured: f64 = seconds.iter().map(|m| m.seconds).sum();
    let gaps = ms(started.elapsed().saturating_sub(Duration::from_secs_f64(measured))) / seconds.len().max(1) as f64;
    let worst_p99 = seconds.iter().map(|m| m.p99_ms).fold(0.0, f64::max);
    let worst_max = seconds.iter().map(|m| m.max_ms).fold(0.0, f64::max);
    let stalled = seconds.iter().filter(|m| m.max_ms > 20.0).count();
    let errors: u64 = seconds.iter().map(|m| m.errors).sum();
    println!(
        "worst second: p99 {}, max {worst_max:.2} ms; seconds with a request over 20 ms: {stalled} of {}; errors {errors}; ~{gaps:.0} ms between runs unmeasured",
        budget(worst_p99, 5.0, " ms", false),
        seconds.len()
    );
}
