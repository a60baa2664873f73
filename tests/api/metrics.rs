//! `/metrics` on a real `userplane serve` process (its own process: the counters are per
//! process, and the suite's in-process servers share theirs).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::zoom_world;

pub const ADMIN: &str = "metrics-test-admin-token";

/// A `userplane serve` process on a free port with a fresh SQLite file and a world file.
pub struct Process {
    pub child: Child,
    pub base: String,
    /// Its stderr so far (read as it comes, so that it never blocks on a full pipe).
    stderr: Arc<Mutex<String>>,
    stderr_read: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Process {
    /// Starts it with `args` and `env` (no demo, the admin token, one Zoom tenant `account`).
    pub async fn start(account: &str, args: &[&str], env: &[(&str, &str)]) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let world = dir.path().join("world.json");
        std::fs::write(&world, json!({"tenants": [zoom_world(account, "pro", "off")]}).to_string()).unwrap();
        let world = world.to_str().unwrap().to_owned();
        let mut all = vec!["--no-demo", "--world", world.as_str()];
        all.extend_from_slice(args);
        Process::start_in(dir, &all, env).await
    }

    /// Starts `userplane serve` on a free port and a fresh SQLite file in `dir`, with the
    /// admin token, `args` and `env` (and no other environment).
    pub async fn start_in(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> Process {
        let database = format!("sqlite://{}", dir.path().join("userplane.db").display());
        let mut child = serve_command(&database, args, env).stdout(Stdio::piped()).spawn().expect("userplane starts");
        // The banner's first line names the address.
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let find = async {
            while let Some(line) = stdout.next_line().await.unwrap() {
                if let Some(addr) = line.strip_prefix("userplane listening on ") {
                    return addr.to_owned();
                }
            }
            panic!("no `listening on` line");
        };
        let base = tokio::time::timeout(Duration::from_secs(20), find).await.expect("started in time");
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        let stderr = Arc::new(Mutex::new(String::new()));
        let (serving, is_serving) = tokio::sync::oneshot::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = stderr.clone();
        let stderr_read = tokio::spawn(async move {
            let mut serving = Some(serving);
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("userplane is serving") {
                    serving.take().map(|s| s.send(()));
                }
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        // Its signal handlers are installed right after it says it is serving.
        tokio::time::timeout(Duration::from_secs(20), is_serving).await.expect("serving in time").unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        Process { child, base, stderr, stderr_read, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A control-plane POST with the admin token; its JSON answer.
    pub async fn admin_post(&self, path: &str, body: Value) -> Value {
        let response = reqwest::Client::new().post(self.url(path)).bearer_auth(ADMIN).json(&body).send().await;
        response.unwrap().json().await.unwrap()
    }

    /// An access token of the world's `{account}-admin` app (`zoom_world`'s admin scopes).
    pub async fn app_token(&self, account: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url(&format!("/oauth/token?grant_type=account_credentials&account_id={account}")))
            .basic_auth(format!("{account}-admin"), Some("admin-secret"))
            .send()
            .await;
        let token: Value = response.unwrap().json().await.unwrap();
        token["access_token"].as_str().expect("an access token").to_owned()
    }

    /// A simulated SSO login of `user`; the session token.
    pub async fn sso_session(&self, account: &str, user: &str) -> String {
        let path = format!("/_userplane/tenants/{account}/sessions");
        let session = self.admin_post(&path, json!({"user": user, "kind": "sso"})).await;
        session["token"].as_str().expect("a session token").to_owned()
    }

    /// Stops it as a service manager would (SIGTERM: it finishes and logs its shutdown)
    /// and returns its stderr.
    pub async fn stop(mut self) -> String {
        let pid = self.child.id().expect("still running").to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(killed.success());
        let status =
            tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.expect("stopped in time").unwrap();
        assert!(status.success(), "{status:?}");
        self.stderr_read.await.unwrap();
        self.stderr.lock().unwrap().clone()
    }
}

/// `userplane serve` on a free port with `database`, the admin token, `args` and only `env`.
pub fn serve_command(database: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_userplane"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-token", ADMIN, "--database-url", database])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The value of the sample `name{labels}` in a Prometheus text page (0 when absent).
fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// After a login, a revocation, refused uses, throttled guesses and an injected fault,
/// `/metrics` (no token) counts each by dialect, operation and status, and times the first
/// refusal only.
#[tokio::test]
async fn metrics_count_requests_revocations_and_refusals() {
    let account = "metricsAcct01";
    let server = Process::start(account, &["--auth-failure-limit", "2"], &[]).await;
    let http = reqwest::Client::new();
    let app_token = server.app_token(account).await;
    let sso = server.sso_session(account, "lena@example.com").await;
    let revoked =
        http.delete(server.url("/v2/users/lena@example.com/token")).bearer_auth(&app_token).send().await.unwrap();
    assert_eq!(revoked.status(), 204);
    // Two uses of the dead session: each refused, the first one timed.
    for _ in 0..2 {
        let info = server.admin_post("/_userplane/introspect", json!({"token": sso})).await;
        assert_eq!(info["active"], false, "{info}");
        assert_eq!(info["reason"], "sessions_revoked", "{info}");
    }
    // Wrong tokens: 401, 401, then the throttle's 429.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(http.get(server.url("/v2/users")).bearer_auth("wrong").send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
    assert_eq!(http.get(server.url("/nowhere")).send().await.unwrap().status(), 404);
    // A fault rule answers one status update with 503: counted by operation and effect.
    let rule = json!({"match": {"operation": "zoom.users.status.update"}, "effect": {"status": 503}, "times": 1});
    let created = server.admin_post(&format!("/_userplane/tenants/{account}/faults"), rule).await;
    assert!(created["id"].is_string(), "{created}");
    let status = http
        .put(server.url("/v2/users/lena@example.com/status"))
        .bearer_auth(&app_token)
        .json(&json!({"action": "deactivate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 503);
    // Reading the request journal writes what this node has queued: a batch.
    let journal = http.get(server.url(&format!("/_userplane/tenants/{account}/requests"))).bearer_auth(ADMIN);
    assert_eq!(journal.send().await.unwrap().status(), 200);

    let response = http.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let page = response.text().await.unwrap();
    for (series, expected) in [
        (r#"userplane_requests_total{dialect="zoom",operation="zoom.oauth.token",status="200"}"#, 1.0),
        (r#"userplane_requests_total{dialect="zoom",operation="zoom.users.token.revoke",status="204"}"#, 1.0),
        (r#"userplane_requests_total{dialect="zoom",operation="zoom.users.list",status="401"}"#, 2.0),
        (r#"userplane_requests_total{dialect="zoom",operation="zoom.users.list",status="429"}"#, 1.0),
        (r#"userplane_requests_total{dialect="control",operation="none",status="404"}"#, 1.0),
        (r#"userplane_rate_limit_refusals_total{dialect="zoom",operation="zoom.users.list"}"#, 1.0),
        (r#"userplane_revocations_total{operation="zoom.users.token.revoke"}"#, 1.0),
        (r#"userplane_request_duration_seconds_count{dialect="zoom",operation="zoom.users.token.revoke"}"#, 1.0),
        ("userplane_revocation_to_first_refusal_seconds_count", 1.0),
        (r#"userplane_faults_fired_total{effect="status",operation="zoom.users.status.update"}"#, 1.0),
        (r#"userplane_requests_total{dialect="zoom",operation="zoom.users.status.update",status="503"}"#, 1.0),
        ("userplane_sqlite_writer_queue_depth", 0.0),
    ] {
        assert_eq!(sample(&page, series), expected, "{series} in:\n{page}");
    }
    // The control plane's routes have no operation names: counted as `none`.
    assert!(sample(&page, r#"userplane_requests_total{dialect="control",operation="none",status="200"}"#) >= 2.0);
    // The revocation and the login were committed by the writer: batches were observed.
    assert!(sample(&page, "userplane_sqlite_commit_batch_size_count") >= 2.0, "{page}");
    assert!(page.contains("userplane_sqlite_wal_bytes "), "{page}");
    assert!(sample(&page, "userplane_journal_batches_total") >= 1.0, "{page}");
    // A revocation a moment ago, refused within seconds.
    assert!(sample(&page, "userplane_revocation_to_first_refusal_seconds_sum") < 60.0, "{page}");
    server.stop().await;
}

/// `--no-metrics` (or USERPLANE_NO_METRICS=1): no `/metrics` route.
#[tokio::test]
async fn metrics_can_be_turned_off() {
    let server = Process::start("metricsOffAcct01", &[], &[("USERPLANE_NO_METRICS", "1")]).await;
    let response = reqwest::get(server.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    server.stop().await;
}
