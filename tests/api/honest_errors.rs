//! A failure of userplane's own storage is a 5xx in the dialect's shape, never a 404, a
//! 4711, `existed_email: false` or a token without its owner; the database's text never
//! reaches the client; a full disk is 503 with `Retry-After`, and nothing is half-applied.
//!
//! These tests break a database for real, so each runs on an SQLite file of its own
//! (whatever `USERPLANE_TEST_DATABASE_URL` says): the dialects' mapping does not depend on
//! the backend, and breaking a shared database would break every other test.

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, unique, unique_hex32, zoom_world};

/// Words of the database that must never reach a client.
const DATABASE_WORDS: &[&str] = &["sqlite", "SQLITE", "no such table", "principals", "disk", "constraint", "UNIQUE"];

async fn body_of(response: Response) -> (StatusCode, Option<String>, Value) {
    let status = response.status();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    for word in DATABASE_WORDS {
        assert!(!text.contains(word), "{status}: the database's text reached the client: {text}");
    }
    (status, retry_after, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}")))
}

fn assert_zoom_5xx(what: &str, status: StatusCode, body: &Value) {
    assert_eq!(status, 500, "{what}: {body}");
    assert_eq!(body["code"], 500, "{what}: {body}");
    assert!(body["message"].is_string(), "{what}: {body}");
}

async fn sqlite_app() -> (TestApp, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("userplane.db");
    let app = TestApp::spawn_on(&format!("sqlite://{}", path.display())).await;
    (app, dir, path)
}

async fn zoom_token(app: &TestApp, client_id: &str, secret: &str) -> Response {
    app.http
        .post(app.url(&format!(
            "/oauth/token?grant_type=account_credentials&account_id={}",
            client_id.rsplit_once('-').unwrap().0
        )))
        .basic_auth(client_id, Some(secret))
        .send()
        .await
        .unwrap()
}

async fn bearer_for(app: &TestApp, client_id: &str, secret: &str) -> String {
    let body: Value = zoom_token(app, client_id, secret).await.json().await.unwrap();
    body["access_token"].as_str().unwrap_or_else(|| panic!("token: {body}")).to_owned()
}

fn rename_table(path: &std::path::Path, from: &str, to: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    conn.execute_batch(&format!("ALTER TABLE {from} RENAME TO {to}")).unwrap();
}

/// The users table disappears under a running server: every route that looks a user up
/// answers its dialect's 5xx (it answered 404 1001, 4711, `existed_email: false`, a 404
/// in the delegate calls and a token without `me` before), and works again once the
/// table is back.
#[tokio::test]
async fn a_failing_user_lookup_is_a_5xx_in_every_dialect_never_an_answer() {
    let (app, _dir, path) = sqlite_app().await;
    let account = unique("honest");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let cf_account = unique_hex32();
    let cf_token = unique("cftok");
    app.create_tenant(json!({
        "provider": "cloudflare", "account_id": cf_account, "rate_limits": "off",
        "api_tokens": [{"value": cf_token, "permissions": ["Access: Audit Logs Read"]}],
        "users": [{"email": "jdoe@example.com", "name": "Jane Doe"}]
    }))
    .await;
    let admin = bearer_for(&app, &format!("{account}-admin"), "admin-secret").await;
    let own = bearer_for(&app, &format!("{account}-self"), "self-secret").await;
    let lena: Value = app
        .http
        .get(app.url("/v2/users/lena@example.com"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lena_id = lena["id"].as_str().unwrap().to_owned();
    let cf_user = "/access/users?email=jdoe@example.com";
    let listed: Value = app
        .http
        .get(app.url(&format!("/client/v4/accounts/{cf_account}{cf_user}")))
        .bearer_auth(&cf_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cf_user_id = listed["result"][0]["id"].as_str().unwrap().to_owned();

    // The table goes away under a node that has not read these users yet: this node has
    // (its read cache would rightly answer from memory, as no write changed them), so the
    // check runs on a new node over the same file.
    let mut app = app;
    app.stop().await;
    rename_table(&path, "principals", "principals_away");
    let app = TestApp::spawn_on(&format!("sqlite://{}", path.display())).await;

    let zoom_calls: Vec<(&str, Method, String, &str)> = vec![
        ("get user", Method::GET, format!("/v2/users/{lena_id}"), admin.as_str()),
        ("check email", Method::GET, "/v2/users/email?email=lena@example.com".into(), admin.as_str()),
        ("revoke sso", Method::DELETE, "/v2/users/lena@example.com/token".into(), admin.as_str()),
        (
            "delete one assistant",
            Method::DELETE,
            "/v2/users/lena@example.com/assistants/alex@example.com".into(),
            admin.as_str(),
        ),
        ("list schedulers", Method::GET, "/v2/users/alex@example.com/schedulers".into(), admin.as_str()),
        ("user scope on another user", Method::GET, "/v2/users/owner@example.com".into(), own.as_str()),
        ("user scope on me", Method::GET, "/v2/users/me".into(), own.as_str()),
    ];
    for (what, method, path, token) in zoom_calls {
        let response = app.http.request(method, app.url(&path)).bearer_auth(token).send().await.unwrap();
        let (status, _, body) = body_of(response).await;
        assert_zoom_5xx(what, status, &body);
    }

    // OAuth: the app's owner cannot be read, so no token is issued without its `me`.
    let (status, _, body) = body_of(zoom_token(&app, &format!("{account}-admin"), "admin-secret").await).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("server_error")), "{body}");

    let response = app
        .http
        .get(app.url(&format!("/client/v4/accounts/{cf_account}/access/users/{cf_user_id}/active_sessions")))
        .bearer_auth(&cf_token)
        .send()
        .await
        .unwrap();
    let (status, _, body) = body_of(response).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!((body["success"].as_bool(), body["errors"][0]["code"].as_i64()), (Some(false), Some(10013)), "{body}");

    let response = app
        .admin(
            Method::POST,
            &format!("/tenants/{account}/sessions"),
            Some(json!({"user": "ben@example.com", "kind": "sso"})),
        )
        .await;
    let (status, _, body) = body_of(response).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("internal")),
        "{body}"
    );

    // Nothing was changed meanwhile, and everything answers again once the table is back.
    rename_table(&path, "principals_away", "principals");
    let response =
        app.http.get(app.url("/v2/users/email?email=lena@example.com")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"existed_email": true}));
    let response =
        app.http.get(app.url("/v2/users/email?email=nobody@example.com")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"existed_email": false}));
    let response =
        app.http.get(app.url("/v2/users/alex@example.com/schedulers")).bearer_auth(&admin).send().await.unwrap();
    let schedulers: Value = response.json().await.unwrap();
    assert_eq!(schedulers["schedulers"][0]["email"], "lena@example.com", "the assistant is still assigned");
    assert!(app.journal(&account).await.iter().all(|e| e["action"] != "sessions.revoked"));
}

/// Mounts a tmpfs of `size` at a new directory; unmounted when dropped. Needs root
/// (CI runs as root); elsewhere the test fails unless USERPLANE_TEST_NO_MOUNT is set.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status();
        if mounted.is_ok_and(|s| s.success()) {
            return Some(SmallDisk { dir });
        }
        if std::env::var("USERPLANE_TEST_NO_MOUNT").is_ok_and(|v| !v.is_empty()) {
            eprintln!("SKIPPED the full-disk test: USERPLANE_TEST_NO_MOUNT is set");
            return None;
        }
        panic!("the full-disk test mounts a small tmpfs (needs root); set USERPLANE_TEST_NO_MOUNT=1 to skip it");
    }

    /// Fills the disk up with a file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// A full disk is 503 with `Retry-After` in each dialect (not 500), the write is not
/// half-applied, and writes succeed again once space is freed.
#[tokio::test]
async fn a_full_disk_is_503_with_retry_after_and_nothing_half_applied() {
    let Some(disk) = SmallDisk::mount("3m") else { return };
    let url = format!("sqlite://{}", disk.dir.path().join("userplane.db").display());
    let mut app = TestApp::spawn_on(&url).await;
    let account = unique("full");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let admin = bearer_for(&app, &format!("{account}-admin"), "admin-secret").await;
    let cf_account = unique_hex32();
    let cf_token = unique("cffull");
    app.create_tenant(json!({
        "provider": "cloudflare", "account_id": cf_account, "rate_limits": "off",
        "api_tokens": [{"value": cf_token, "permissions": ["Access: Organizations, Identity Providers, and Groups Write"]}],
        "users": [{"email": "jdoe@example.com", "name": "Jane Doe"}]
    }))
    .await;
    let filler = disk.fill();

    // Writes big enough to need new pages: a tenant with many users, users created.
    let users: Vec<Value> =
        (0..400).map(|i| json!({"email": format!("u{i}@example.com"), "first_name": "x".repeat(60)})).collect();
    let big = json!({"provider": "zoom", "account_id": unique("big"), "users": users});
    let (status, retry_after, body) = body_of(app.admin(Method::POST, "/tenants", Some(big.clone())).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage_full")),
        "{body}"
    );
    assert!(retry_after.is_some_and(|s| s.parse::<u64>().unwrap() > 0));
    let missing = app.admin(Method::GET, &format!("/tenants/{}", big["account_id"].as_str().unwrap()), None).await;
    assert_eq!(missing.status(), 404, "a refused tenant is not half-created");

    let mut zoom_refused = None;
    for i in 0..200 {
        let response = app
            .http
            .post(app.url("/v2/users"))
            .bearer_auth(&admin)
            .json(&json!({"action": "custCreate", "user_info": {"email": format!("n{i}@example.com"), "type": 1,
                          "first_name": "y".repeat(64), "last_name": "z".repeat(64)}}))
            .send()
            .await
            .unwrap();
        if response.status() != 201 {
            zoom_refused = Some((i, body_of(response).await));
            break;
        }
    }
    let (i, (status, retry_after, body)) = zoom_refused.expect("a full disk refuses a Zoom write");
    assert_eq!((status, body["code"].as_i64()), (StatusCode::SERVICE_UNAVAILABLE, Some(503)), "{body}");
    assert!(retry_after.is_some(), "{body}");
    let email = format!("n{i}@example.com");
    let response =
        app.http.get(app.url(&format!("/v2/users/email?email={email}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"existed_email": false}), "not half-created");

    // The disk stays full: the OAuth endpoint and Cloudflare say so in their own shapes.
    let mut oauth_refused = None;
    for _ in 0..50 {
        let response = zoom_token(&app, &format!("{account}-admin"), "admin-secret").await;
        if response.status() != 200 {
            oauth_refused = Some(body_of(response).await);
            break;
        }
    }
    let (status, retry_after, body) = oauth_refused.expect("a full disk refuses to issue a token");
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("temporarily_unavailable")));
    assert!(retry_after.is_some(), "{body}");
    let revoke = format!("/client/v4/accounts/{cf_account}/access/organizations/revoke_user");
    let mut cf_refused = None;
    for _ in 0..50 {
        let response = app
            .http
            .post(app.url(&revoke))
            .bearer_auth(&cf_token)
            .json(&json!({"email": "jdoe@example.com"}))
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            cf_refused = Some(body_of(response).await);
            break;
        }
    }
    let (status, retry_after, body) = cf_refused.expect("a full disk refuses revoke_user");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!((body["success"].as_bool(), body["result"].is_null()), (Some(false), true), "{body}");
    assert!(retry_after.is_some(), "{body}");

    std::fs::remove_file(filler).unwrap();
    let again = app.admin(Method::POST, "/tenants", Some(big)).await;
    assert_eq!(again.status(), 201, "writes succeed again once space is freed");
    app.stop().await;
}
