//! The growth matrix: does a request's cost follow the tenant's size, the user's number
//! of sessions or the number of tenants? Each figure is a cost ratio against the small
//! case, both normalised by their own null-route measurement (budget ≤ 1.5×).

use std::path::Path;
use std::time::Duration;

use crate::node::{self, StartError};
use crate::seed_calls::budget;
use crate::world::{self, Control};
use crate::wrk::{Load, Request};
use crate::{Bench, Kind, Options, Row, fail, mark, ms, zoom_requests};

/// Users a route cycles through, spread over the tenant.
const TARGETS: usize = 64;
/// Users in each tenant of the 1-vs-many-tenants comparison.
const SPREAD_USERS: usize = 16;

pub async fn run(bench: &Bench, opts: &Options, database_url: &str, dir: &Path) {
    let postgres = database_url.starts_with("postgres");
    println!();
    println!(
        "Growth matrix (one node{}; cost × = the small case's % of null / this one's; budget ≤ 1.5×)",
        if postgres { ", the same PostgreSQL database" } else { ", a fresh SQLite file per tenant size" }
    );
    let mut baseline: Option<(Row, Row)> = None;
    for (i, &size) in opts.sizes.iter().enumerate() {
        let account = world::unique(&format!("grow{size}x"));
        let world_file = dir.join(format!("world-{size}.json"));
        world::write_world(&world_file, &[world::zoom_tenant(&account, size, false)]).unwrap_or_else(|e| fail(&e));
        let url = if postgres {
            database_url.to_owned()
        } else {
            format!("sqlite://{}", dir.join(format!("grow-{size}.db")).display())
        };
        println!();
        let timeout = Duration::from_secs(opts.load_timeout);
        let (node, took) = match node::start(&url, Some(&world_file), timeout).await {
            Ok(started) => started,
            Err(StartError::TimedOut(t)) => {
                println!("{size} users: the world did not finish loading in {} s (budget ≤ 10 s) MISS", t.as_secs());
                continue;
            }
            Err(StartError::Failed(e)) => {
                println!("{size} users: the node did not start: {e}");
                continue;
            }
        };
        let load_budget = if size >= 100_000 {
            format!(" (budget for 100k users ≤ 10 s) {}", mark(took <= Duration::from_secs(10)))
        } else {
            String::new()
        };
        println!("{size} users: start with the world file to first answer {:.2} s{load_budget}", took.as_secs_f64());
        let nodes = [node.base.clone()];
        let control = Control::new(&node.base);
        let token = control.zoom_token(&account).await.unwrap_or_else(|e| fail(&e));
        let targets: Vec<usize> = (0..TARGETS.min(size)).map(|k| k * size / TARGETS.min(size)).collect();
        let get = bench
            .route(&nodes, "GET /v2/users/{userId}", Kind::Read, &zoom_requests("GET", &targets, &token, ""), 200)
            .await;
        let revoke = bench
            .route(
                &nodes,
                "DELETE /v2/users/{userId}/token",
                Kind::Write,
                &zoom_requests("DELETE", &targets, &token, "/token"),
                204,
            )
            .await;
        let base = baseline.as_ref().map(|(g, r)| (g.share_of_null(), r.share_of_null()));
        for (row, small) in [(&get, base.map(|b| b.0)), (&revoke, base.map(|b| b.1))] {
            print_row(&format!("  {}", row.name), row, small, opts.sizes[0]);
        }
        let page = [Request::new("GET", "/v2/users?page_size=300", &format!("Bearer {token}"))];
        let one = Load { connections: 1, threads: 1, seconds: opts.seconds };
        let m = bench.checked(&nodes, "GET /v2/users?page_size=300", &page, 200, one).await;
        println!(
            "  GET /v2/users?page_size=300, 1 connection: {:.0} req/s, p50 {}, p99 {:.2} ms, max {:.2} ms",
            m.rps(),
            if size >= 100_000 { budget(m.p50_ms, 5.0, " ms", false) } else { format!("{:.2} ms", m.p50_ms) },
            m.p99_ms,
            m.max_ms
        );
        if i == 0 {
            sessions(bench, opts, &control, &nodes, &account, &token).await;
            tenants(bench, opts, &control, &nodes).await;
            baseline = Some((get, revoke));
        }
    }
}

fn print_row(label: &str, row: &Row, small: Option<f64>, small_size: usize) {
    let cost = match small {
        Some(small) if row.share_of_null() > 0.0 => {
            let cost = small / row.share_of_null();
            format!("cost {cost:.2}× the {small_size}-user tenant's {}", mark(cost <= 1.5))
        }
        _ => String::new(),
    };
    println!(
        "{label:<48} {:>8.0} req/s {:>4.0}% of null  p99 {:>7.2}  p99.9 {:>7.2}  max {:>7.2} ms  errors {}  {cost}",
        row.measured.rps(),
        100.0 * row.share_of_null(),
        row.measured.p99_ms,
        row.measured.p999_ms,
        row.measured.max_ms,
        row.measured.errors
    );
}

fn cost_line(label: &str, small: &Row, large: &Row) {
    let cost = if large.share_of_null() > 0.0 { small.share_of_null() / large.share_of_null() } else { f64::INFINITY };
    println!("  {label}: cost {cost:.2}× {}", mark(cost <= 1.5));
}

/// A revoke on a user with one session against one with many (made through the control plane).
async fn sessions(bench: &Bench, opts: &Options, control: &Control, nodes: &[String], account: &str, token: &str) {
    let (light, heavy) = (world::email(0), world::email(1));
    let made = control
        .make_sessions(account, &light, 1)
        .await
        .and(control.make_sessions(account, &heavy, opts.sessions).await);
    let took = match made {
        Ok(took) => took,
        Err(e) => return println!("  sessions: {e}"),
    };
    println!();
    println!(
        "Revoke with 1 vs {} sessions on the user ({} sessions made in {:.1} s):",
        opts.sessions,
        opts.sessions,
        took.as_secs_f64()
    );
    let first = |email: String| Request::new("DELETE", format!("/v2/users/{email}/token"), &format!("Bearer {token}"));
    for (label, email) in [("1 session", light.clone()), (&format!("{} sessions", opts.sessions)[..], heavy.clone())] {
        match control.send(&first(email)).await {
            Ok((204, took)) => println!("  the first revoke, {label}: {:.2} ms (one request)", ms(took)),
            Ok((status, _)) => println!("  the first revoke, {label}: answered {status}, not 204"),
            Err(e) => println!("  the first revoke, {label}: {e}"),
        }
    }
    let revoke = |i: usize| zoom_requests("DELETE", &[i], token, "/token");
    let one = bench.route(nodes, "DELETE token, 1 session", Kind::Write, &revoke(0), 204).await;
    let many =
        bench.route(nodes, &format!("DELETE token, {} sessions", opts.sessions), Kind::Write, &revoke(1), 204).await;
    for row in [&one, &many] {
        print_row(&format!("  {} (all connections on it)", row.name), row, None, 0);
    }
    cost_line(&format!("{} sessions against 1", opts.sessions), &one, &many);
}

/// GET user and a revoke on one tenant against the same spread over many tenants.
async fn tenants(bench: &Bench, opts: &Options, control: &Control, nodes: &[String]) {
    let mut tokens = Vec::new();
    let started = std::time::Instant::now();
    for i in 0..opts.tenants {
        let account = world::unique(&format!("spread{i}x"));
        let made = match control.create_tenant(&world::zoom_tenant(&account, SPREAD_USERS, false)).await {
            Ok(_) => control.zoom_token(&account).await,
            Err(e) => Err(e),
        };
        match made {
            Ok(token) => tokens.push(token),
            Err(e) => return println!("  tenants: {e}"),
        }
    }
    println!();
    println!(
        "1 vs {} tenants of {SPREAD_USERS} users ({} tenants made with a token each in {:.1} s):",
        opts.tenants,
        opts.tenants,
        started.elapsed().as_secs_f64()
    );
    let users: Vec<usize> = (0..SPREAD_USERS).collect();
    // Consecutive requests go to different tenants.
    let spread = |method: &'static str, suffix: &str| -> Vec<Request> {
        users.iter().flat_map(|u| tokens.iter().flat_map(move |t| zoom_requests(method, &[*u], t, suffix))).collect()
    };
    for (method, suffix, name, expected, kind) in [
        ("GET", "", "GET /v2/users/{userId}", 200, Kind::Read),
        ("DELETE", "/token", "DELETE /v2/users/{userId}/token", 204, Kind::Write),
    ] {
        let single = bench
            .route(
                nodes,
                &format!("{name}, 1 tenant"),
                kind,
                &zoom_requests(method, &users, &tokens[0], suffix),
                expected,
            )
            .await;
        let many = bench
            .route(nodes, &format!("{name}, {} tenants", opts.tenants), kind, &spread(method, suffix), expected)
            .await;
        for row in [&single, &many] {
            print_row(&format!("  {}", row.name), row, None, 0);
        }
        cost_line(&format!("{name}: {} tenants against 1", opts.tenants), &single, &many);
    }
}
