//! Several userplane nodes on one PostgreSQL database: every node sees every committed
//! change at once, limits are the account's, concurrent writers lose nothing, and a node
//! killed under load takes no acknowledged write with it.
//!
//! Each test makes its own database on the PostgreSQL server (see
//! [`FreshPostgres`]), whatever backend the rest of the suite runs on. Nodes are
//! in-process [`TestApp`]s, plus the real binary for the kill test; a node's store
//! ([`Store::open`] on the same URL) stands in for a node where a test needs an
//! operation the control plane has no route for.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use userplane::api::zoom::provider as zoom;
use userplane::app::Server;
use userplane::config::ServeConfig;
use userplane::domain::ops;
use userplane::domain::{Actor, Clock, InactiveReason, Status, Tenant};
use userplane::limits::RateLimiter;
use userplane::store::Store;

use crate::helpers::{ADMIN_TOKEN, FreshPostgres, TestApp, unique, zoom_world};

/// `n` nodes on a fresh database, started at the same time (their migrations race).
async fn nodes(test: &str, n: usize) -> Option<(FreshPostgres, Vec<TestApp>)> {
    let db = FreshPostgres::create(test).await?;
    let apps = futures::future::join_all((0..n).map(|_| TestApp::spawn_on(&db.url))).await;
    Some((db, apps))
}

async fn tenant_on(app: &TestApp) -> String {
    let account = unique("mn");
    app.create_tenant(zoom_world(&account, "pro", "on")).await;
    account
}

async fn sso_login(app: &TestApp, account: &str, user: &str) -> String {
    app.login(account, json!({"user": user, "kind": "sso"})).await
}

#[tokio::test]
async fn nodes_starting_together_migrate_once_and_load_the_demo_once() {
    let Some(db) = FreshPostgres::create("nodes_starting_together_migrate_once_and_load_the_demo_once").await else {
        return;
    };
    // Three nodes start at once on an empty database, each wanting to migrate it and
    // to load the demo world into it: all three come up, on one schema and one demo.
    let config = ServeConfig { no_demo: false, ..ServeConfig::for_tests(&db.url, ADMIN_TOKEN) };
    let servers = futures::future::join_all((0..3).map(|_| Server::start(&config))).await;
    let servers: Vec<Server> = servers.into_iter().map(|s| s.expect("every node starts")).collect();
    let store = Store::open(&db.url).await.expect("a later node starts");
    let applied = store
        .read(|c| Ok(c.query("SELECT name FROM schema_migrations ORDER BY name", &[])?))
        .await
        .unwrap()
        .iter()
        .map(|r| r.text(0))
        .collect::<Vec<_>>();
    assert_eq!(
        applied,
        [
            "0001_init",
            "0002_rate_windows",
            "0003_device_generations_and_rate_leases",
            "0004_documents_counts_retention",
            "0005_secret_key",
            "0006_named_revocation_scopes",
            "0007_faults_and_requests",
            "0008_snapshots",
            "0009_snapshot_storage",
        ]
    );
    // The demo world is a Zoom and a Cloudflare account.
    assert_eq!(ops::list_tenants(&store).await.unwrap().len(), 2, "the demo world, once");
    for server in servers {
        server.stop().await;
    }
}

#[tokio::test]
async fn a_tenant_created_on_one_node_works_on_all() {
    let Some((_db, apps)) = nodes("a_tenant_created_on_one_node_works_on_all", 3).await else { return };
    let account = tenant_on(&apps[0]).await;
    for app in &apps {
        let got = app.admin(Method::GET, &format!("/tenants/{account}"), None).await;
        assert_eq!(got.status(), 200);
    }
    // A session made on node 1 is good on nodes 0 and 2, and journaled for all to see.
    let token = sso_login(&apps[1], &account, "lena@example.com").await;
    for app in &apps {
        let seen = app.introspect(&token).await;
        assert_eq!(seen["active"], true, "{seen}");
        assert_eq!(seen["email"], "lena@example.com");
    }
    let journal = apps[2].journal(&account).await;
    let actions: Vec<&str> = journal.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"tenant.created") && actions.contains(&"token.issued"), "{actions:?}");
    // The same document again, on another node: a conflict, not a second tenant.
    let again = apps[2].admin(Method::POST, "/tenants", Some(zoom_world(&account, "pro", "on"))).await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn a_revocation_on_one_node_is_seen_at_once_by_every_other() {
    let Some((db, apps)) = nodes("a_revocation_on_one_node_is_seen_at_once_by_every_other", 2).await else {
        return;
    };
    let account = tenant_on(&apps[0]).await;
    let lena = sso_login(&apps[0], &account, "lena@example.com").await;
    let ben = sso_login(&apps[1], &account, "ben@example.com").await;
    let alex = sso_login(&apps[1], &account, "alex@example.com").await;

    // A third node revokes lena's sessions and deactivates ben.
    let third = Store::open(&db.url).await.unwrap();
    let clock = Clock;
    let tenant = ops::get_tenant(&third, &account).await.unwrap();
    let lena_id = ops::resolve_principal(&third, &account, "lena@example.com").await.unwrap().id;
    let ben_id = ops::resolve_principal(&third, &account, "ben@example.com").await.unwrap().id;
    ops::revoke_sessions(
        ops::Ctx::new(&third, &clock, &tenant, &Actor::admin()),
        &lena_id,
        InactiveReason::SessionsRevoked,
    )
    .await
    .unwrap();
    ops::set_status(
        ops::Ctx::new(&third, &clock, &tenant, &Actor::admin()),
        &ben_id,
        Status::Inactive,
        zoom::SPEC.on_deactivate,
    )
    .await
    .unwrap();

    // The very next request to either node knows.
    for app in &apps {
        let seen = app.introspect(&lena).await;
        assert_eq!((seen["active"].clone(), seen["reason"].clone()), (json!(false), json!("sessions_revoked")));
        let seen = app.introspect(&ben).await;
        assert_eq!((seen["active"].clone(), seen["reason"].clone()), (json!(false), json!("user_deactivated")));
        assert_eq!(app.introspect(&alex).await["active"], true);
        // And ben can no longer log in, whichever node he tries.
        let refused = app
            .admin(
                Method::POST,
                &format!("/tenants/{account}/sessions"),
                Some(json!({"user": "ben@example.com", "kind": "sso"})),
            )
            .await;
        assert!(refused.status().is_client_error(), "{}", refused.status());
    }

    // Through the control plane: node 1 advances the clock, node 0 sees the new time
    // at once; node 0 resets the tenant, node 1's sessions are gone; node 1 deletes it,
    // node 0 answers 404.
    apps[1].advance_clock(&account, 3_600).await;
    let clock_on_0: Value =
        apps[0].admin(Method::GET, &format!("/tenants/{account}/clock"), None).await.json().await.unwrap();
    assert_eq!(clock_on_0["offset_seconds"], 3_600, "{clock_on_0}");
    let reset = apps[0].admin(Method::POST, &format!("/tenants/{account}/reset"), None).await;
    assert_eq!(reset.status(), 200);
    assert_eq!(apps[1].introspect(&alex).await["active"], false);
    let deleted = apps[1].admin(Method::DELETE, &format!("/tenants/{account}"), None).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(apps[0].admin(Method::GET, &format!("/tenants/{account}"), None).await.status(), 404);
}

#[tokio::test]
async fn rate_limits_are_the_accounts_not_each_nodes() {
    let Some(db) = FreshPostgres::create("rate_limits_are_the_accounts_not_each_nodes").await else { return };
    let stores = [Store::open(&db.url).await.unwrap(), Store::open(&db.url).await.unwrap()];
    let limiters: Vec<Arc<RateLimiter>> = stores.iter().map(|s| Arc::new(RateLimiter::for_store(s))).collect();
    assert!(limiters.iter().all(|l| l.is_shared()));

    // Two nodes, 8 callers each, 300 requests in all against a limit of 100 in one
    // window: exactly 100 get through, whichever node they hit (each node leases hits
    // from the shared window; leases never add up to more than the limit, and both
    // nodes spend theirs, since each sees refusals).
    let (limit, window) = (100_u64, 60_000_i64);
    // Early in a window of the real clock: ended windows get swept.
    let now = Clock.now(0) / window * window + 1;
    let key = unique("zoom:acct:medium:qps:");
    let allowed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for caller in 0..16 {
        let (limiter, key, allowed) = (limiters[caller % 2].clone(), key.clone(), allowed.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = 0;
            for _ in 0..300 / 16 + 1 {
                if limiter.hit(&key, window, limit, now).await.allowed {
                    mine += 1;
                }
            }
            allowed.fetch_add(mine, Ordering::Relaxed);
            mine
        }));
    }
    let per_caller: Vec<u64> = futures::future::try_join_all(tasks).await.unwrap();
    let total = allowed.load(Ordering::Relaxed);
    let (even, odd): (Vec<_>, Vec<_>) = per_caller.iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let (on_0, on_1) = (even.iter().map(|(_, n)| **n).sum::<u64>(), odd.iter().map(|(_, n)| **n).sum::<u64>());
    assert!(total.abs_diff(limit) <= limit / 10, "allowed {total} of a limit of {limit}");
    assert_eq!(total, limit, "the shared counter is exact: node 0 let {on_0} through, node 1 {on_1}");

    // Both nodes see the window full, and the next window is fresh for both.
    for limiter in &limiters {
        assert!(!limiter.peek(&key, window, limit, now).await.allowed);
        assert!(!limiter.hit(&key, window, limit, now + 10).await.allowed);
    }
    let next = limiters[1].hit(&key, window, limit, now + window).await;
    assert!(next.allowed);
    assert_eq!(next.remaining, limit - 1);
    // Node 0 counts node 1's lease (a sixteenth of the window) as spent.
    let seen_on_0 = limiters[0].peek(&key, window, limit, now + window).await;
    assert!(seen_on_0.allowed);
    assert!((limit - 1 - limit / 16..=limit - 1).contains(&seen_on_0.remaining), "{seen_on_0:?}");
}

#[tokio::test]
async fn rate_limits_hold_within_ten_percent_when_nodes_take_turns() {
    let Some(db) = FreshPostgres::create("rate_limits_hold_within_ten_percent_when_nodes_take_turns").await else {
        return;
    };
    let stores = [Store::open(&db.url).await.unwrap(), Store::open(&db.url).await.unwrap()];
    let limiters: Vec<RateLimiter> = stores.iter().map(RateLimiter::for_store).collect();
    // Traffic moves from node to node in bursts (a load balancer's doing): the leases a
    // node stops using hold back a little of the window, never let more through.
    let (limit, window) = (1200_u64, 300_000_i64);
    let now = Clock.now(0) / window * window + 1;
    let key = unique("cf:acct:token:");
    let mut allowed = 0;
    for burst in 0..40 {
        for _ in 0..50 {
            if limiters[burst % 2].hit(&key, window, limit, now).await.allowed {
                allowed += 1;
            }
        }
    }
    assert!(allowed <= limit, "allowed {allowed} of a limit of {limit}");
    assert!(allowed >= limit - limit / 10, "allowed only {allowed} of a limit of {limit}");
}

#[tokio::test]
async fn concurrent_writes_to_one_user_from_two_nodes_lose_nothing() {
    let Some((db, apps)) = nodes("concurrent_writes_to_one_user_from_two_nodes_lose_nothing", 1).await else {
        return;
    };
    let account = tenant_on(&apps[0]).await;
    let stores = [Store::open(&db.url).await.unwrap(), Store::open(&db.url).await.unwrap()];
    let tenant: Tenant = ops::get_tenant(&stores[0], &account).await.unwrap();
    let lena = ops::resolve_principal(&stores[0], &account, "lena@example.com").await.unwrap();
    let before = lena.session_epoch;

    // Each node sets its own attributes of lena's, 20 times, while 20 revocations of her
    // sessions and 20 one-second clock advances go through both nodes at once.
    const N: usize = 20;
    let mut tasks = Vec::new();
    for i in 0..N {
        for (node, store) in stores.iter().enumerate() {
            let (store, tenant, id) = (store.clone(), tenant.clone(), lena.id.clone());
            tasks.push(tokio::spawn(async move {
                let field = format!("node{node}_{i}");
                ops::update_principal(
                    ops::Ctx::new(&store, &Clock, &tenant, &Actor::admin()),
                    &id,
                    "user.updated",
                    move |p| {
                        p.attributes.insert(field.clone(), json!(i));
                        Ok(json!({"set": field}))
                    },
                )
                .await
                .map(|_| ())
            }));
        }
        let (store, tenant, id) = (stores[i % 2].clone(), tenant.clone(), lena.id.clone());
        tasks.push(tokio::spawn(async move {
            ops::revoke_sessions(
                ops::Ctx::new(&store, &Clock, &tenant, &Actor::admin()),
                &id,
                InactiveReason::SessionsRevoked,
            )
            .await
        }));
        let (store, account) = (stores[(i + 1) % 2].clone(), account.clone());
        tasks.push(tokio::spawn(async move { ops::advance_clock(&store, &Clock, &account, 1).await.map(|_| ()) }));
    }
    for result in futures::future::try_join_all(tasks).await.unwrap() {
        result.expect("every concurrent write succeeds");
    }

    let after = ops::resolve_principal(&stores[1], &account, &lena.id).await.unwrap();
    for node in 0..2 {
        for i in 0..N {
            assert_eq!(after.attributes.get(&format!("node{node}_{i}")), Some(&json!(i)), "node{node}_{i} was lost");
        }
    }
    assert_eq!(after.session_epoch, before + N as i64, "every revocation counts once");
    assert_eq!(ops::get_tenant(&stores[1], &account).await.unwrap().clock_offset_ms, N as i64 * 1000);
    let journal = apps[0].journal(&account).await;
    let count = |action: &str| journal.iter().filter(|e| e["action"] == action).count();
    assert_eq!((count("user.updated"), count("sessions.revoked"), count("clock.advanced")), (2 * N, N, N));
}

#[tokio::test]
async fn a_login_racing_a_deactivation_never_brings_the_user_back() {
    let Some(db) = FreshPostgres::create("a_login_racing_a_deactivation_never_brings_the_user_back").await else {
        return;
    };
    let stores = [Store::open(&db.url).await.unwrap(), Store::open(&db.url).await.unwrap()];
    let account = unique("mn");
    let doc = userplane::api::tenants::spec(zoom_world(&account, "pro", "off"), stores[0].secrets()).unwrap();
    let tenant = ops::create_tenant(&stores[0], &Clock, doc).await.unwrap();
    let alex = ops::resolve_principal(&stores[0], &account, "alex@example.com").await.unwrap().id;
    for round in 0..10 {
        ops::set_status(
            ops::Ctx::new(&stores[1], &Clock, &tenant, &Actor::admin()),
            &alex,
            Status::Active,
            zoom::SPEC.on_deactivate,
        )
        .await
        .unwrap();
        // Node 0 logs alex in over and over while node 1 deactivates him.
        let mut logins = Vec::new();
        for _ in 0..6 {
            let (store, tenant, alex) = (stores[0].clone(), tenant.clone(), alex.clone());
            logins.push(tokio::spawn(async move {
                let _ = ops::login(
                    ops::Ctx::new(&store, &Clock, &tenant, &Actor::admin()),
                    &alex,
                    ops::Login::user(&zoom::SSO, vec![]),
                )
                .await;
            }));
        }
        tokio::time::sleep(Duration::from_millis(round % 4)).await;
        ops::set_status(
            ops::Ctx::new(&stores[1], &Clock, &tenant, &Actor::admin()),
            &alex,
            Status::Inactive,
            zoom::SPEC.on_deactivate,
        )
        .await
        .unwrap();
        futures::future::try_join_all(logins).await.unwrap();
        let after = ops::resolve_principal(&stores[1], &account, &alex).await.unwrap();
        assert_eq!(after.status, Status::Inactive, "round {round}: a login wrote alex back to active");
        // And no session issued by those logins is still good.
        let live =
            ops::live_sessions(ops::Ctx::new(&stores[0], &Clock, &tenant, &Actor::admin()), &after, &zoom::SSO).await;
        assert!(live.unwrap().is_empty(), "round {round}: a session outlived the deactivation");
    }
}

#[tokio::test]
async fn text_postgres_cannot_store_is_refused_not_a_server_error() {
    let Some((_db, apps)) = nodes("text_postgres_cannot_store_is_refused_not_a_server_error", 1).await else {
        return;
    };
    let mut doc = zoom_world(&unique("mn"), "pro", "off");
    doc["users"][0]["first_name"] = json!("Oli\u{0}via");
    let response = apps[0].admin(Method::POST, "/tenants", Some(doc)).await;
    assert_eq!(response.status(), 400, "{}", response.text().await.unwrap());
}

/// Every journal entry of a tenant, page by page.
async fn full_journal(app: &TestApp, account: &str) -> Vec<Value> {
    let mut entries: Vec<Value> = Vec::new();
    loop {
        let after = entries.last().map_or(0, |e| e["seq"].as_i64().unwrap());
        let page: Value = app
            .admin(Method::GET, &format!("/tenants/{account}/journal?after={after}&limit=1000"), None)
            .await
            .json()
            .await
            .unwrap();
        let page = page["entries"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            return entries;
        }
        entries.extend(page);
    }
}

/// The real binary as a node, killed with SIGKILL when dropped.
struct NodeProcess {
    child: tokio::process::Child,
    base: String,
}

impl NodeProcess {
    async fn start(database_url: &str) -> NodeProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listen = format!("127.0.0.1:{port}");
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_userplane"))
            .args(["serve", "--quiet", "--no-demo", "--listen", &listen, "--database-url", database_url])
            .args(["--admin-token", ADMIN_TOKEN])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .env("USERPLANE_LOG", "userplane=warn")
            .kill_on_drop(true)
            .spawn()
            .expect("start the userplane binary");
        let node = NodeProcess { child, base: format!("http://{listen}") };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{}/_userplane/health", node.base)).send().await
                && r.status() == 200
            {
                return node;
            }
            assert!(Instant::now() < deadline, "the node at {} did not come up", node.base);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn killing_a_node_under_load_loses_no_acknowledged_write() {
    let Some((db, apps)) = nodes("killing_a_node_under_load_loses_no_acknowledged_write", 1).await else {
        return;
    };
    let survivor = &apps[0];
    let mut victim = NodeProcess::start(&db.url).await;
    let account = tenant_on(survivor).await;
    let users = ["owner", "admin", "lena", "alex", "ben", "room", "eve"];

    // Eight callers log users in, alternating between the two nodes (moving to the
    // survivor once the victim stops answering), for at most a few seconds each.
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let served_after_kill = Arc::new(AtomicU64::new(0));
    let is_killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut callers = Vec::new();
    for caller in 0..8 {
        let bases = [survivor.base.clone(), victim.base.clone()];
        let (account, acknowledged) = (account.clone(), acknowledged.clone());
        let (served_after_kill, is_killed) = (served_after_kill.clone(), is_killed.clone());
        callers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            let deadline = Instant::now() + Duration::from_secs(4);
            let mut i = caller;
            let mut after_kill = 0;
            while Instant::now() < deadline && after_kill < 40 {
                i += 1;
                let base = &bases[i % 2];
                let user = format!("{}@example.com", users[i % users.len()]);
                let dead = is_killed.load(Ordering::Relaxed);
                let response = http
                    .post(format!("{base}/_userplane/tenants/{account}/sessions"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&json!({"user": user, "kind": "sso"}))
                    .send()
                    .await;
                let Ok(response) = response else { continue };
                if response.status() != 201 {
                    continue;
                }
                let Ok(body) = response.json::<Value>().await else { continue };
                acknowledged.lock().unwrap().push(body["token"].as_str().unwrap().to_owned());
                if dead {
                    after_kill += 1;
                    served_after_kill.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    {
        // Kill the victim mid-load, once it has acknowledged some writes.
        let deadline = Instant::now() + Duration::from_secs(10);
        while acknowledged.lock().unwrap().len() < 40 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        victim.child.start_kill().expect("kill -9 the node");
        is_killed.store(true, Ordering::Relaxed);
        victim.child.wait().await.unwrap();
    }
    futures::future::try_join_all(callers).await.unwrap();

    assert!(served_after_kill.load(Ordering::Relaxed) >= 40, "the survivor kept serving");
    let tokens = acknowledged.lock().unwrap().clone();
    assert!(tokens.len() >= 80, "load ran: {} sessions acknowledged", tokens.len());
    // Every acknowledged session exists, live, on the survivor, and is journaled.
    for token in &tokens {
        let seen = survivor.introspect(token).await;
        assert_eq!(seen["active"], true, "an acknowledged session was lost: {seen}");
    }
    let issued = full_journal(survivor, &account).await.iter().filter(|e| e["action"] == "token.issued").count();
    assert!(issued >= tokens.len(), "journal has {issued} issued tokens for {} acknowledged", tokens.len());
}

/// A Cloudflare account with an API token that may change the organization, one user
/// and her laptop, and no organization yet.
fn cloudflare_world(account: &str) -> Value {
    json!({"provider": "cloudflare", "account_id": account, "rate_limits": "off",
        "api_tokens": [{"value": format!("{account}-token"),
                        "permissions": ["Access: Organizations, Identity Providers, and Groups Write",
                                        "Zero Trust Write"]}],
        "users": [{"email": "jdoe@example.com", "name": "Jane Doe"}],
        "devices": [{"user": "jdoe@example.com", "name": "jane-laptop", "os": "macos"}]})
}

#[tokio::test]
async fn concurrent_setting_updates_of_different_fields_from_two_nodes_all_survive() {
    let Some(db) =
        FreshPostgres::create("concurrent_setting_updates_of_different_fields_from_two_nodes_all_survive").await
    else {
        return;
    };
    let stores = [Store::open(&db.url).await.unwrap(), Store::open(&db.url).await.unwrap()];
    let spec =
        userplane::api::tenants::spec(cloudflare_world(&crate::helpers::unique_hex32()), stores[0].secrets()).unwrap();
    let tenant = ops::create_tenant(&stores[0], &Clock, spec).await.unwrap();
    let name = "access_organization";
    let first = serde_json::Map::from_iter([("name".to_owned(), json!("Org"))]);
    ops::put_setting(ops::Ctx::new(&stores[0], &Clock, &tenant, &Actor::admin()), name, true, first).await.unwrap();

    // Each node updates fields of its own, 20 times, all at once.
    const N: usize = 20;
    let mut tasks = Vec::new();
    for i in 0..N {
        for (node, store) in stores.iter().enumerate() {
            let (store, tenant) = (store.clone(), tenant.clone());
            tasks.push(tokio::spawn(async move {
                let fields = serde_json::Map::from_iter([(format!("node{node}_{i}"), json!(i))]);
                ops::put_setting(ops::Ctx::new(&store, &Clock, &tenant, &Actor::admin()), name, false, fields)
                    .await
                    .map(|_| ())
            }));
        }
    }
    for result in futures::future::try_join_all(tasks).await.unwrap() {
        result.expect("every concurrent update succeeds");
    }
    let stored = ops::get_setting(&stores[1], &tenant.account_id, name).await.unwrap().unwrap().document;
    for node in 0..2 {
        for i in 0..N {
            assert_eq!(stored.get(&format!("node{node}_{i}")), Some(&json!(i)), "node{node}_{i} was lost: {stored:?}");
        }
    }
    assert_eq!(stored.get("name"), Some(&json!("Org")));
}

#[tokio::test]
async fn concurrent_organization_creates_on_two_nodes_are_one_201_and_one_409() {
    let Some((_db, apps)) = nodes("concurrent_organization_creates_on_two_nodes_are_one_201_and_one_409", 2).await
    else {
        return;
    };
    let http = reqwest::Client::new();
    for round in 0..8 {
        let account = crate::helpers::unique_hex32();
        apps[0].create_tenant(cloudflare_world(&account)).await;
        let creates = apps.iter().enumerate().map(|(node, app)| {
            http.post(app.url(&format!("/client/v4/accounts/{account}/access/organizations")))
                .bearer_auth(format!("{account}-token"))
                .json(
                    &json!({"name": format!("Org {node}"), "auth_domain": format!("node{node}.cloudflareaccess.com")}),
                )
                .send()
        });
        let responses = futures::future::join_all(creates).await;
        let mut statuses = Vec::new();
        for response in responses {
            let response = response.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["success"], status == 201, "round {round}: {body}");
            statuses.push(status);
        }
        statuses.sort();
        assert_eq!(statuses, [201, 409], "round {round}: two creates of one organization");
        // Exactly one journal record of the creation.
        let journal = apps[1].journal(&account).await;
        assert_eq!(journal.iter().filter(|e| e["action"] == "setting.created").count(), 1, "round {round}");
    }
}

#[tokio::test]
async fn device_revoke_unrevoke_and_logins_on_two_nodes_never_revive_an_earlier_session() {
    let Some(db) =
        FreshPostgres::create("device_revoke_unrevoke_and_logins_on_two_nodes_never_revive_an_earlier_session").await
    else {
        return;
    };
    let stores = [Store::open(&db.url).await.unwrap(), Store::open(&db.url).await.unwrap()];
    let spec =
        userplane::api::tenants::spec(cloudflare_world(&crate::helpers::unique_hex32()), stores[0].secrets()).unwrap();
    let tenant = ops::create_tenant(&stores[0], &Clock, spec).await.unwrap();
    let device = ops::list_devices(&stores[0], &tenant.account_id, None).await.unwrap()[0].id.clone();
    let warp = ops::Login::device(&userplane::api::cloudflare::provider::WARP, device.clone());
    let login = |store: Store, tenant: Tenant| {
        let warp = warp.clone();
        async move { ops::login(ops::Ctx::new(&store, &Clock, &tenant, &Actor::admin()), "jdoe@example.com", warp).await }
    };
    let live = |store: Store, token: String| async move {
        let seen = ops::introspect(&store, &Clock, &token).await.unwrap().unwrap();
        matches!(seen.state, userplane::domain::TokenState::Active)
    };
    // Node 1's clock runs 5 s behind node 0's: a session node 0 issued just before node 1
    // revoked the device carries a later timestamp than the revocation.
    let behind = Tenant { clock_offset_ms: tenant.clock_offset_ms - 5_000, ..tenant.clone() };
    for round in 0..6 {
        let (before, _) = login(stores[0].clone(), tenant.clone()).await.unwrap();
        assert!(live(stores[1].clone(), before.clone()).await, "round {round}");
        // Node 1 revokes while node 0 keeps logging in, then node 1 un-revokes.
        let racing: Vec<_> = (0..4).map(|_| tokio::spawn(login(stores[0].clone(), tenant.clone()))).collect();
        let admin = Actor::admin();
        ops::set_devices_revoked(ops::Ctx::new(&stores[1], &Clock, &behind, &admin), vec![device.clone()], true)
            .await
            .unwrap();
        for racer in futures::future::join_all(racing).await {
            match racer.unwrap() {
                Ok(_) | Err(userplane::domain::Error::Refused(_)) => {}
                Err(other) => panic!("round {round}: a login failed: {other}"),
            }
        }
        ops::set_devices_revoked(ops::Ctx::new(&stores[1], &Clock, &behind, &admin), vec![device.clone()], false)
            .await
            .unwrap();
        for store in &stores {
            assert!(
                !live(store.clone(), before.clone()).await,
                "round {round}: a session from before the revocation came back"
            );
        }
        // The un-revoked device logs in again, on either node.
        let (after, _) = login(stores[1].clone(), behind.clone()).await.unwrap();
        assert!(live(stores[0].clone(), after).await, "round {round}: a login after the un-revoke is dead");
    }
}

#[tokio::test]
async fn the_postgres_client_never_logs_query_parameters_whatever_the_filter() {
    let Some(db) = FreshPostgres::create("the_postgres_client_never_logs_query_parameters_whatever_the_filter").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_userplane"))
        .args(["serve", "--quiet", "--no-demo", "--listen", &listen, "--database-url", &db.url])
        .args(["--admin-token", ADMIN_TOKEN])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .env("USERPLANE_LOG", "trace,tokio_postgres=trace,tokio_postgres::query=trace,postgres=trace")
        .kill_on_drop(true)
        .spawn()
        .expect("start the userplane binary");
    let base = format!("http://{listen}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !matches!(http.get(format!("{base}/_userplane/health")).send().await, Ok(r) if r.status() == 200) {
        assert!(Instant::now() < deadline, "the node did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let account = unique("mn");
    let created = http.post(format!("{base}/_userplane/tenants")).bearer_auth(ADMIN_TOKEN);
    assert_eq!(created.json(&zoom_world(&account, "pro", "on")).send().await.unwrap().status(), 201);
    let session: Value = http
        .post(format!("{base}/_userplane/tenants/{account}/sessions"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"user": "lena@example.com", "kind": "sso"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    let seen: Value = http
        .post(format!("{base}/_userplane/introspect"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["active"], true);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let log = std::fs::read_to_string(&log_path).unwrap();
    // The filter let debug through, the level at which the client logs statements (so
    // the check below could fail)...
    assert!(log.contains("DEBUG"), "no debug output at all:\n{log}");
    assert!(!log.contains('\u{1b}'), "colour codes in a log that is not a terminal:\n{log}");
    // ... but no statement, parameter or secret hash of the database client.
    // The hashes as this installation stores them (keyed by its own key).
    let secrets = Store::open(&db.url).await.unwrap().secrets().clone();
    for secret in [secrets.hash(&token), secrets.hash(ADMIN_TOKEN)] {
        assert!(!log.contains(&secret), "a secret hash is in the log");
    }
    assert!(!log.contains("tokio_postgres") && !log.contains("parameters"), "the database client logged");
}
