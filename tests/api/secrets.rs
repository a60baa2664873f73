//! Secrets: stored as HMAC-SHA256 under the installation's key (kept in the database),
//! never as their bare SHA-256; never returned by the control plane, nor their hashes; a
//! database from before keyed hashes keeps verifying its SHA-256 hashes.
//!
//! These tests read the stored hashes straight from the database, so each runs on an
//! SQLite file of its own.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, unique, unique_hex32, zoom_world};

fn sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

async fn sqlite_app() -> (TestApp, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("userplane.db");
    let app = TestApp::spawn_on(&format!("sqlite://{}", path.display())).await;
    (app, dir, path)
}

fn column(path: &std::path::Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    stmt.query_map([], |row| row.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
}

async fn oauth(app: &TestApp, account: &str, client_id: &str, secret: &str) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/oauth/token?grant_type=account_credentials&account_id={account}")))
        .basic_auth(client_id, Some(secret))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn no_control_plane_answer_carries_a_secret_or_a_hash_of_one() {
    let (app, _dir, path) = sqlite_app().await;
    let zoom = unique("sec");
    let cf = unique_hex32();
    let (cf_token, cf_key) = (unique("cftoken"), unique("cfkey"));
    let mut answers = vec![app.create_tenant(zoom_world(&zoom, "pro", "off")).await];
    answers.push(
        app.create_tenant(json!({
            "provider": "cloudflare", "account_id": cf,
            "api_tokens": [{"value": cf_token, "permissions": ["Zero Trust Read"]}],
            "global_keys": [{"email": "admin@example.com", "key": cf_key}],
            "users": [{"email": "jdoe@example.com", "name": "Jane Doe"}]
        }))
        .await,
    );
    let session = app.login(&zoom, json!({"user": "lena@example.com", "kind": "sso"})).await;
    assert_eq!(oauth(&app, &zoom, &format!("{zoom}-admin"), "admin-secret").await.status(), 200);
    for (method, path) in [
        (Method::GET, "/tenants".to_owned()),
        (Method::GET, format!("/tenants/{zoom}")),
        (Method::GET, format!("/tenants/{cf}")),
        (Method::POST, format!("/tenants/{zoom}/reset")),
        (Method::POST, format!("/tenants/{cf}/reset")),
        (Method::GET, format!("/tenants/{zoom}/journal?limit=1000")),
        (Method::GET, format!("/tenants/{cf}/journal?limit=1000")),
    ] {
        let response = app.admin(method, &path, None).await;
        assert_eq!(response.status(), 200, "{path}");
        answers.push(response.json().await.unwrap());
    }
    answers.push(app.introspect(&session).await);

    let mut forbidden: Vec<String> = ["admin-secret", "reader-secret", "self-secret", &cf_token, &cf_key, &session]
        .iter()
        .flat_map(|s| [s.to_string(), sha256(s)])
        .collect();
    forbidden.extend(column(&path, "SELECT secret_hash FROM credentials"));
    forbidden.extend(column(&path, "SELECT lookup FROM credentials WHERE kind <> 'zoom_app'"));
    forbidden.extend(column(&path, "SELECT hash FROM tokens"));
    forbidden.extend(column(&path, "SELECT hmac_key FROM installation_secret"));
    assert!(forbidden.len() > 12, "the stored hashes were read");
    for answer in &answers {
        let text = answer.to_string();
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "{secret} in {text}");
        }
        assert!(!text.contains("_hash") && !text.contains("_sha256"), "{text}");
    }
    let zoom_view = &answers[0]["document"];
    assert_eq!(zoom_view["apps"][0]["client_secret_set"], true, "{zoom_view}");
    let cf_view = &answers[1]["document"];
    assert_eq!(
        (&cf_view["api_tokens"][0]["value_set"], &cf_view["global_keys"][0]["key_set"]),
        (&json!(true), &json!(true))
    );

    // The reset (from the kept hashes) left every credential working.
    assert_eq!(oauth(&app, &zoom, &format!("{zoom}-admin"), "admin-secret").await.status(), 200);
    let verify = app.http.get(app.url("/client/v4/user/tokens/verify")).bearer_auth(&cf_token).send().await.unwrap();
    assert_eq!(verify.status(), 200);
}

#[tokio::test]
async fn stored_hashes_are_keyed_per_installation_not_bare_sha256() {
    let (mut app, _dir, path) = sqlite_app().await;
    let account = unique("key");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = oauth(&app, &account, &format!("{account}-admin"), "admin-secret").await;
    let token = token.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();

    let key = column(&path, "SELECT hmac_key FROM installation_secret");
    assert_eq!(key.len(), 1);
    assert_eq!(key[0].len(), 64, "a 256-bit key, hex");
    let stored = column(&path, &format!("SELECT secret_hash FROM credentials WHERE id = '{account}-admin'"));
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], sha256("admin-secret"), "not the bare SHA-256 of the secret");
    let tokens = column(&path, "SELECT hash FROM tokens");
    assert!(!tokens.is_empty() && !tokens.contains(&sha256(&token)));

    // The key is kept: after a restart the same secret and token still authenticate.
    app.stop().await;
    let app = TestApp::spawn_on(&format!("sqlite://{}", path.display())).await;
    assert_eq!(oauth(&app, &account, &format!("{account}-admin"), "admin-secret").await.status(), 200);
    let me = app.http.get(app.url("/v2/users/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(column(&path, "SELECT hmac_key FROM installation_secret"), key, "created once");

    // Another installation hashes the same secret differently.
    let (other, _other_dir, other_path) = sqlite_app().await;
    other.create_tenant(zoom_world(&account, "pro", "off")).await;
    let elsewhere = column(&other_path, &format!("SELECT secret_hash FROM credentials WHERE id = '{account}-admin'"));
    assert_ne!(elsewhere, stored);
}

#[tokio::test]
async fn a_database_from_before_keyed_hashes_keeps_verifying_its_sha256_hashes() {
    let (mut app, _dir, path) = sqlite_app().await;
    let account = unique("old");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    app.stop().await;
    // Back to what a database from before migration 0005 holds: SHA-256 hashes, no key.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "DROP TABLE installation_secret;
             DELETE FROM schema_migrations WHERE name = '0005_secret_key';
             UPDATE credentials SET secret_hash = '{}' WHERE id = '{account}-admin';",
            sha256("admin-secret")
        ))
        .unwrap();
    }
    let app = TestApp::spawn_on(&format!("sqlite://{}", path.display())).await;
    assert_eq!(column(&path, "SELECT hmac_key FROM installation_secret"), vec![String::new()], "marked as unkeyed");
    assert_eq!(oauth(&app, &account, &format!("{account}-admin"), "admin-secret").await.status(), 200);
    assert_eq!(oauth(&app, &account, &format!("{account}-admin"), "wrong").await.status(), 400);
    let listed = app.admin(Method::GET, "/tenants", None).await;
    assert_eq!(listed.status(), 200, "the admin token is checked the same way");
}
