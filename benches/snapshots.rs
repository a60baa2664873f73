//! Snapshot, restore and fork of a 1,000-user tenant, on SQLite and on PostgreSQL: the
//! issue's budget is 50 ms for each.
//!
//! The tenant: 1,000 Zoom users (500 of them with an assistant), an app, 1,000 live SSO
//! sessions. Each operation runs `ROUNDS` times through the domain calls the control
//! plane makes (a fork includes making its new secrets); the median and the slowest are
//! printed.
//!
//! `cargo bench --bench snapshots`. PostgreSQL: `USERPLANE_BENCH_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), on a database of its own, dropped at
//! the end; `USERPLANE_BENCH_SKIP_POSTGRES=1` runs SQLite only.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use userplane::api::tenants;
use userplane::api::zoom::provider as zoom;
use userplane::domain::ops;
use userplane::domain::{Actor, Clock};
use userplane::harness::snapshots;
use userplane::store::Store;

const USERS: usize = 1_000;
const ROUNDS: usize = 7;
const BUDGET: Duration = Duration::from_millis(50);

fn document(account: &str) -> Value {
    let mut users = vec![json!({"email": "owner@bench.example", "type": 2, "role": "owner"})];
    for i in 1..USERS {
        let mut user = json!({"email": format!("user{i}@bench.example"), "first_name": "User", "last_name": i.to_string(), "type": 2});
        if i % 2 == 0 {
            user["assistants"] = json!([format!("user{}@bench.example", i - 1)]);
        }
        users.push(user);
    }
    json!({"provider": "zoom", "account_id": account, "plan": "enterprise", "rate_limits": "off",
           "apps": [{"client_id": format!("{account}-app"), "client_secret": "bench-secret",
                     "scopes": ["user:read:admin", "user:write:admin"]}],
           "users": users})
}

fn report(backend: &str, what: &str, mut times: Vec<Duration>) -> bool {
    times.sort();
    let (median, max) = (times[times.len() / 2], times[times.len() - 1]);
    let ok = median <= BUDGET;
    println!(
        "{backend:<10} {what:<9} median {:>7.2} ms  max {:>7.2} ms  {}",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        if ok { "ok" } else { "OVER the 50 ms budget" }
    );
    ok
}

async fn run(backend: &str, url: &str) -> bool {
    let store = Store::open(url).await.expect("open the store");
    let clock = Clock;
    let account = format!("snapbench{}", std::process::id());
    let spec = tenants::spec(document(&account), store.secrets()).expect("a valid document");
    let tenant = ops::create_tenant(&store, &clock, spec).await.expect("create the tenant");
    let logins = (1..USERS).map(|i| {
        let (store, tenant) = (&store, &tenant);
        async move {
            let admin = Actor::admin();
            let ctx = ops::Ctx::new(store, &clock, tenant, &admin);
            ops::login(ctx, &format!("user{i}@bench.example"), ops::Login::user(&zoom::SSO, vec![])).await.expect("login");
        }
    });
    futures::future::join_all(logins).await;

    let mut ok = true;
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        let info =
            snapshots::create(&store, &clock, &account, &format!("s{round}"), Vec::new()).await.expect("snapshot");
        times.push(started.elapsed());
        if round == 0 {
            println!("{backend:<10} snapshot of {USERS} users and {} sessions: {} bytes", USERS - 1, info.size);
        }
    }
    ok &= report(backend, "snapshot", times);

    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let started = Instant::now();
        snapshots::restore(&store, &clock, &account, &format!("s{round}")).await.expect("restore");
        times.push(started.elapsed());
    }
    ok &= report(backend, "restore", times);

    let document = ops::tenant_document(&store, &account).await.expect("document");
    let mut times = Vec::new();
    for round in 0..ROUNDS {
        let fork = format!("{account}f{round}");
        let started = Instant::now();
        let (spec, _secrets) =
            tenants::with_new_secrets(&tenant.provider, &document, Some(&fork), store.secrets()).expect("new secrets");
        snapshots::fork(&store, &clock, &account, spec).await.expect("fork");
        times.push(started.elapsed());
        ops::delete_tenant(&store, &fork).await.expect("delete the fork");
    }
    ok &= report(backend, "fork", times);
    ops::delete_tenant(&store, &account).await.expect("delete the tenant");
    ok
}

fn postgres_admin(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect to PostgreSQL");
        client.batch_execute(&sql).expect("admin statement");
    })
    .join()
    .expect("admin thread");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ok = run("sqlite", &format!("sqlite://{}", dir.path().join("bench.db").display())).await;
    if std::env::var("USERPLANE_BENCH_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        println!("postgres   skipped (USERPLANE_BENCH_SKIP_POSTGRES=1)");
    } else {
        let server = std::env::var("USERPLANE_BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("snapshots_bench_{}", std::process::id());
        postgres_admin(&server, &format!("CREATE DATABASE {name}"));
        let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
        ok &= run("postgres", &format!("{base}/{name}")).await;
        postgres_admin(&server, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
    if !ok {
        std::process::exit(1);
    }
}
