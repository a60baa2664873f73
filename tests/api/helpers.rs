//! Spawning the app and talking to it.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Client, Method, Response};
use serde_json::{Value, json};
use userplane::app::Server;
use userplane::config::ServeConfig;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running userplane and an HTTP client for it.
pub struct TestApp {
    pub base: String,
    pub http: Client,
    pub database_url: String,
    server: Option<Server>,
    _dir: Option<tempfile::TempDir>,
}

/// The database for this run: `USERPLANE_TEST_DATABASE_URL` (SQLite or PostgreSQL; the
/// whole suite then shares it, each test on its own tenants), else a new SQLite file
/// per test.
pub fn test_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("USERPLANE_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => (url, None),
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("userplane.db").display());
            (url, Some(dir))
        }
    }
}

impl TestApp {
    /// Starts a server on its own database.
    pub async fn spawn() -> TestApp {
        let (database_url, dir) = test_database();
        let mut app = Self::spawn_on(&database_url).await;
        app._dir = dir;
        app
    }

    /// Starts a server on the given database (to share it, or to restart on it).
    pub async fn spawn_on(database_url: &str) -> TestApp {
        Self::spawn_with(ServeConfig::for_tests(database_url, ADMIN_TOKEN)).await
    }

    /// Starts a server with a configuration of the test's own (on its database).
    pub async fn spawn_with(config: ServeConfig) -> TestApp {
        let database_url = config.database_url.as_str();
        let server = Server::start(&config).await.expect("server starts");
        TestApp {
            base: format!("http://{}", server.addr),
            http: Client::builder().pool_max_idle_per_host(4).build().expect("client"),
            database_url: database_url.to_owned(),
            server: Some(server),
            _dir: None,
        }
    }

    /// Stops the server gracefully; the database stays.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }

    /// Keeps the temp directory alive beyond this app (for restart tests).
    pub fn take_dir(&mut self) -> Option<tempfile::TempDir> {
        self._dir.take()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A control-plane call with the admin token.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self.http.request(method, self.url(&format!("/_userplane{path}"))).bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }

    /// Creates a tenant from a document; panics unless 201.
    pub async fn create_tenant(&self, doc: Value) -> Value {
        let response = self.admin(Method::POST, "/tenants", Some(doc)).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "create tenant: {body}");
        body
    }

    /// A simulated login; returns the session token.
    pub async fn login(&self, account: &str, body: Value) -> String {
        let response = self.admin(Method::POST, &format!("/tenants/{account}/sessions"), Some(body)).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "login: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Introspects a token.
    pub async fn introspect(&self, token: &str) -> Value {
        let response = self.admin(Method::POST, "/introspect", Some(json!({"token": token}))).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("json")
    }

    /// Moves a tenant's clock forward.
    pub async fn advance_clock(&self, account: &str, seconds: i64) {
        let response = self
            .admin(Method::POST, &format!("/tenants/{account}/clock"), Some(json!({"advance_seconds": seconds})))
            .await;
        assert_eq!(response.status(), 200);
    }

    /// The tenant's audit journal.
    pub async fn journal(&self, account: &str) -> Vec<Value> {
        let response = self.admin(Method::GET, &format!("/tenants/{account}/journal?limit=1000"), None).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("json");
        body["entries"].as_array().cloned().unwrap_or_default()
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test (or earlier run on a shared database) uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}{:x}{n:x}{:x}", std::process::id(), nanos % 0xffff_ffff)
}

/// A unique 32-hex Cloudflare id.
pub fn unique_hex32() -> String {
    let raw = unique("");
    let mut hex: String = raw.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    while hex.len() < 32 {
        hex.push_str(&format!("{:x}", COUNTER.fetch_add(1, Ordering::Relaxed)));
    }
    hex[hex.len() - 32..].to_owned()
}

/// A Zoom tenant document with an app (admin scopes) and a small world:
/// owner, admin, lena (licensed, assistant alex), alex, ben (basic), a Zoom Room,
/// eve (upcoming Zoom Events), pat (pending).
pub fn zoom_world(account: &str, plan: &str, rate_limits: &str) -> Value {
    json!({
        "provider": "zoom",
        "account_id": account,
        "plan": plan,
        "rate_limits": rate_limits,
        "apps": [
            {"client_id": format!("{account}-admin"), "client_secret": "admin-secret",
             "scopes": ["user:read:admin", "user:write:admin"], "owner": "owner@example.com"},
            {"client_id": format!("{account}-reader"), "client_secret": "reader-secret",
             "scopes": ["user:read:admin"], "owner": "owner@example.com"},
            {"client_id": format!("{account}-self"), "client_secret": "self-secret",
             "scopes": ["user:read", "user:write"], "owner": "ben@example.com"}
        ],
        "users": [
            {"email": "owner@example.com", "first_name": "Olivia", "last_name": "Owner", "type": 2, "role": "owner"},
            {"email": "admin@example.com", "first_name": "Adam", "last_name": "Admin", "type": 2, "role": "admin"},
            {"email": "lena@example.com", "first_name": "Lena", "last_name": "Licensed", "type": 2,
             "assistants": ["alex@example.com"]},
            {"email": "alex@example.com", "first_name": "Alex", "last_name": "Assistant", "type": 2},
            {"email": "ben@example.com", "first_name": "Ben", "last_name": "Basic", "type": 1},
            {"email": "room@example.com", "first_name": "Board", "last_name": "Room", "type": 2, "zoom_room": true},
            {"email": "eve@example.com", "first_name": "Eve", "last_name": "Events", "type": 2, "upcoming_events": true},
            {"email": "pat@example.com", "first_name": "Pat", "last_name": "Pending", "type": 1, "status": "pending"}
        ]
    })
}

// ---------------------------------------------------------------- PostgreSQL for multi-node tests

/// Where the multi-node tests find a PostgreSQL server: `USERPLANE_TEST_POSTGRES_URL`,
/// else the suite's database if it is PostgreSQL, else the local server CI provides.
/// Returns the URL and whether it was asked for explicitly.
pub fn postgres_server_url() -> (String, bool) {
    for var in ["USERPLANE_TEST_POSTGRES_URL", "USERPLANE_TEST_DATABASE_URL"] {
        if let Ok(url) = std::env::var(var)
            && (url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return (url, true);
        }
    }
    ("postgres://postgres@127.0.0.1:5432/postgres".to_owned(), false)
}

/// A database of its own on the PostgreSQL server, dropped (connections and all) when
/// this goes out of scope.
pub struct FreshPostgres {
    /// The URL of the new database.
    pub url: String,
    name: String,
    admin: postgres::Config,
}

impl FreshPostgres {
    /// Creates a new, empty database. When PostgreSQL cannot be reached this fails the
    /// test, unless `USERPLANE_TEST_SKIP_POSTGRES=1` opts out (and no PostgreSQL URL was
    /// given): then it prints a SKIPPED line that shows in the test output (straight to
    /// stderr, past the harness's capture) and returns `None`, and the test returns.
    pub async fn create(test: &str) -> Option<FreshPostgres> {
        let (server, explicit) = postgres_server_url();
        let mut admin: postgres::Config = server.parse().expect("a valid PostgreSQL URL");
        admin.connect_timeout(std::time::Duration::from_secs(5));
        let name = unique("userplane_mn_");
        let created = {
            let (admin, name) = (admin.clone(), name.clone());
            tokio::task::spawn_blocking(move || -> Result<(), postgres::Error> {
                let mut client = admin.connect(postgres::NoTls)?;
                client.batch_execute(&format!("CREATE DATABASE {name}"))
            })
            .await
            .expect("create database task")
        };
        if let Err(err) = created {
            let err = match std::error::Error::source(&err) {
                Some(cause) => format!("{err}: {cause}"),
                None => err.to_string(),
            };
            let opted_out = std::env::var("USERPLANE_TEST_SKIP_POSTGRES").is_ok_and(|v| v == "1");
            if explicit || !opted_out {
                panic!(
                    "{test}: PostgreSQL at {server} is required and cannot be used: {err} \
                     (start it, point USERPLANE_TEST_POSTGRES_URL at one, or set USERPLANE_TEST_SKIP_POSTGRES=1 to skip)"
                );
            }
            report_skip(test, &format!("no PostgreSQL at {server} ({err}) and USERPLANE_TEST_SKIP_POSTGRES=1"));
            return None;
        }
        let url = with_database(&server, &name);
        Some(FreshPostgres { url, name, admin })
    }
}

static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Says a test was skipped where it shows: libtest captures `eprintln!` of a passing test
/// (and has no "skipped" outcome), so this writes to stderr itself, with a running count.
pub fn report_skip(test: &str, why: &str) {
    use std::io::Write;
    let n = SKIPPED.fetch_add(1, Ordering::Relaxed) + 1;
    let line = format!("\nSKIPPED (not passed) {test}: {why} [{n} skipped so far in this run]\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        // The synchronous client may not run on an async thread: drop from a plain one.
        let (admin, name) = (self.admin.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || -> Result<(), postgres::Error> {
            let mut client = admin.connect(postgres::NoTls)?;
            client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

// ---------------------------------------------------------------- rows a write touched

/// Every table that holds a tenant's state, with its tenant column.
const TENANT_TABLES: &[(&str, &str)] = &[
    ("tenants", "account_id"),
    ("principals", "tenant"),
    ("credentials", "tenant"),
    ("tokens", "tenant"),
    ("delegations", "tenant"),
    ("devices", "tenant"),
    ("apps", "tenant"),
    ("settings", "tenant"),
    ("revocations", "tenant"),
    ("audit", "tenant"),
];

/// Every stored row of a tenant, by table, each row as text; read straight from the
/// database (SQLite or PostgreSQL), so a test can count the rows a request changed.
pub async fn tenant_rows(database_url: &str, account: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let (url, account) = (database_url.to_owned(), account.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            let db = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .expect("open the SQLite database");
            for (table, column) in TENANT_TABLES {
                let mut statement = db.prepare(&format!("SELECT * FROM {table} WHERE {column} = ?1")).expect("select");
                let width = statement.column_count();
                let rows = statement
                    .query_map([&account], |row| {
                        let cells: Vec<String> =
                            (0..width).map(|i| format!("{:?}", row.get_ref(i).expect("cell"))).collect();
                        Ok(cells.join("|"))
                    })
                    .expect("query");
                out.insert(table.to_string(), rows.map(|r| r.expect("row")).collect());
            }
        } else {
            let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connect to PostgreSQL");
            for (table, column) in TENANT_TABLES {
                let rows = db
                    .query(&format!("SELECT t::text FROM {table} t WHERE {column} = $1"), &[&account])
                    .expect("select");
                out.insert(table.to_string(), rows.iter().map(|r| r.get::<_, String>(0)).collect());
            }
        }
        for rows in out.values_mut() {
            rows.sort();
        }
        out
    })
    .await
    .expect("read the tenant's rows")
}

/// How many rows differ between two [`tenant_rows`] reads (inserted, deleted, or changed:
/// a changed row counts twice, its old and its new text), by table, non-zero only.
pub fn rows_touched(
    before: &std::collections::BTreeMap<String, Vec<String>>,
    after: &std::collections::BTreeMap<String, Vec<String>>,
) -> std::collections::BTreeMap<String, usize> {
    let mut touched = std::collections::BTreeMap::new();
    for (table, rows) in after {
        let old: std::collections::BTreeSet<&String> = before.get(table).into_iter().flatten().collect();
        let new: std::collections::BTreeSet<&String> = rows.iter().collect();
        let n = old.symmetric_difference(&new).count();
        if n > 0 {
            touched.insert(table.clone(), n);
        }
    }
    touched
}
