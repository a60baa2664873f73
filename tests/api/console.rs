//! The web console: its page and files, and the control-plane endpoints it reads and
//! calls (`GET /tenants/{t}/users`, `POST /tenants/{t}/users/{id}/{action}`).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::cloudflare_world;
use crate::helpers::{ADMIN_TOKEN, TestApp, unique, unique_hex32, zoom_world};

async fn zoom_tenant(app: &TestApp) -> String {
    let account = unique("cons");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    account
}

/// `GET /tenants/{account}/users{query}`: the status and the body.
async fn users(app: &TestApp, account: &str, query: &str) -> (u16, Value) {
    let response = app.admin(Method::GET, &format!("/tenants/{account}/users{query}"), None).await;
    (response.status().as_u16(), response.json().await.expect("json"))
}

/// The listed user with this email (from a first page of 100).
async fn listed(app: &TestApp, account: &str, email: &str) -> Value {
    let (status, body) = users(app, account, "?limit=100").await;
    assert_eq!(status, 200, "{body}");
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == email)
        .cloned()
        .unwrap_or_else(|| panic!("{email} not in {body}"))
}

async fn act(app: &TestApp, account: &str, user: &str, action: &str) -> (u16, Value) {
    let response = app.admin(Method::POST, &format!("/tenants/{account}/users/{user}/{action}"), None).await;
    (response.status().as_u16(), response.json().await.expect("json"))
}

fn assert_control_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn the_page_is_public_static_and_served_with_strict_headers() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/_userplane/console")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let csp = header("content-security-policy");
    for directive in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http") && !csp.contains('*'), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("cache-control"), "no-cache");
    let page = response.text().await.unwrap();
    // The page knows nothing of the server: no token, no tenant; only its own files.
    assert!(!page.contains(ADMIN_TOKEN), "the admin token leaked into the page");
    assert!(page.contains(r#"<script type="module" src="/_userplane/console/console.js"></script>"#), "{page}");
    assert_eq!(page.matches("<script").count(), 1, "an inline script: {page}");
    assert!(!page.contains(" style=") && !page.contains("<style"), "inline style: {page}");
    assert!(!page.contains("http://") && !page.contains("https://"), "a remote origin: {page}");
    assert!(page.contains(r#"<label for="token">"#), "the token field has a label");

    for (file, content_type) in
        [("console.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8")]
    {
        let response = app.http.get(app.url(&format!("/_userplane/console/{file}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(response.headers()["content-type"], content_type, "{file}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{file}");
        assert!(response.headers().contains_key("content-security-policy"), "{file}");
        assert!(!response.text().await.unwrap().is_empty(), "{file}");
    }
    // Anything else is the control plane's 404 / 405, also without a token.
    let missing = app.http.get(app.url("/_userplane/console/secrets.txt")).send().await.unwrap();
    let status = missing.status().as_u16();
    assert_control_error(status, &missing.json().await.unwrap(), 404, "not_found");
    let post = app.http.post(app.url("/_userplane/console")).body("x").send().await.unwrap();
    let status = post.status().as_u16();
    assert_control_error(status, &post.json().await.unwrap(), 405, "method_not_allowed");
}

#[tokio::test]
async fn users_show_status_live_sessions_per_kind_and_devices() {
    let app = TestApp::spawn().await;
    let account = zoom_tenant(&app).await;
    for kind in ["sso", "sso", "user_oauth"] {
        app.login(&account, json!({"user": "lena@example.com", "kind": kind})).await;
    }
    let lena = listed(&app, &account, "lena@example.com").await;
    assert_eq!(lena["status"], "active");
    assert_eq!(lena["name"], "Lena Licensed");
    assert_eq!(lena["sessions"], json!({"sso": 2, "user_oauth": 1, "zak": 0}));
    assert_eq!(lena["devices"], 0);
    assert!(lena["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(listed(&app, &account, "pat@example.com").await["status"], "pending");
    // Sessions that expired are not live.
    app.advance_clock(&account, 2 * 86_400).await;
    assert_eq!(listed(&app, &account, "lena@example.com").await["sessions"]["sso"], 0);

    let cf = unique_hex32();
    app.create_tenant(cloudflare_world(&cf)).await;
    app.login(&cf, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await;
    app.login(&cf, json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})).await;
    let jdoe = listed(&app, &cf, "jdoe@example.com").await;
    assert_eq!(jdoe["sessions"], json!({"access": 1, "warp": 1}));
    assert_eq!(jdoe["devices"], 2);
    assert_eq!(listed(&app, &cf, "kim@example.com").await["devices"], 0);
}

#[tokio::test]
async fn users_are_paged_with_a_cursor_that_visits_each_user_once() {
    let app = TestApp::spawn().await;
    let account = zoom_tenant(&app).await;
    let (mut seen, mut after, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let query = match &after {
            Some(cursor) => format!("?limit=3&after={}", urlencode(cursor)),
            None => "?limit=3".to_owned(),
        };
        let (status, body) = users(&app, &account, &query).await;
        assert_eq!(status, 200, "{body}");
        let page = body["users"].as_array().unwrap();
        assert!(page.len() <= 3, "{body}");
        seen.extend(page.iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        pages += 1;
        assert!(pages < 10, "the cursor does not end: {body}");
        match body["next_after"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    let unique_emails: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(unique_emails.len(), 8, "a user twice: {seen:?}");
    assert_eq!(pages, 3);
    // Active users first; the pending one last.
    assert_eq!(seen.last().map(String::as_str), Some("pat@example.com"));
    // The default page holds them all, with no next page.
    let (_, all) = users(&app, &account, "").await;
    assert_eq!(all["users"].as_array().unwrap().len(), 8);
    assert_eq!(all["next_after"], Value::Null);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn bad_input_gets_the_control_planes_errors() {
    let app = TestApp::spawn().await;
    let account = zoom_tenant(&app).await;
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=-1",
        "?limit=abc",
        "?limit=99999999999999999999",
        "?after=nocolon",
        "?after=gone:x@example.com",
    ] {
        let (status, body) = users(&app, &account, query).await;
        assert_control_error(status, &body, 400, "invalid_request");
    }
    let (status, body) = users(&app, "noSuchTenant", "").await;
    assert_control_error(status, &body, 404, "not_found");
    let (status, body) = act(&app, &account, "lena@example.com", "explode").await;
    assert_control_error(status, &body, 404, "not_found");
    let (status, body) = act(&app, &account, "nobody@example.com", "deactivate").await;
    assert_control_error(status, &body, 404, "not_found");
    let (status, body) = act(&app, "noSuchTenant", "lena@example.com", "revoke").await;
    assert_control_error(status, &body, 404, "not_found");
    let (status, body) = act(&app, &account, "%FF", "revoke").await;
    assert_control_error(status, &body, 400, "invalid_request");
    let get = app.admin(Method::GET, &format!("/tenants/{account}/users/lena@example.com/revoke"), None).await;
    let status = get.status().as_u16();
    assert_control_error(status, &get.json().await.unwrap(), 405, "method_not_allowed");
    // Behind the admin token, both of them.
    let anonymous = app.http.get(app.url(&format!("/_userplane/tenants/{account}/users"))).send().await.unwrap();
    let status = anonymous.status().as_u16();
    assert_control_error(status, &anonymous.json().await.unwrap(), 401, "unauthorized");
    let anonymous = app
        .http
        .post(app.url(&format!("/_userplane/tenants/{account}/users/lena@example.com/deactivate")))
        .send()
        .await
        .unwrap();
    let status = anonymous.status().as_u16();
    assert_control_error(status, &anonymous.json().await.unwrap(), 401, "unauthorized");
    assert_eq!(listed(&app, &account, "lena@example.com").await["status"], "active", "a refused call changed her");
    // A pending user can be neither activated nor deactivated, and nothing is journaled.
    let before = app.journal(&account).await.len();
    for action in ["activate", "deactivate"] {
        let (status, body) = act(&app, &account, "pat@example.com", action).await;
        assert_control_error(status, &body, 409, "refused");
    }
    assert_eq!(app.journal(&account).await.len(), before);
    assert_eq!(listed(&app, &account, "pat@example.com").await["status"], "pending");
}

#[tokio::test]
async fn deactivate_kills_the_sessions_and_activate_revives_none() {
    let app = TestApp::spawn().await;
    let account = zoom_tenant(&app).await;
    let sso = app.login(&account, json!({"user": "lena@example.com", "kind": "sso"})).await;
    let lena_id = listed(&app, &account, "lena@example.com").await["id"].as_str().unwrap().to_owned();

    let (status, body) = act(&app, &account, &lena_id, "deactivate").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["changed"], true);
    assert_eq!(body["user"]["status"], "inactive");
    assert_eq!(body["user"]["sessions"]["sso"], 0);
    let seen = app.introspect(&sso).await;
    assert_eq!(seen["active"], false, "{seen}");
    assert_eq!(seen["reason"], "user_deactivated", "{seen}");
    let lena = listed(&app, &account, "lena@example.com").await;
    assert_eq!(lena["status"], "inactive");
    assert_eq!(lena["sessions"]["sso"], 0);
    // The same journal record as the Zoom dialect's status update, by the admin.
    let journal = app.journal(&account).await;
    let record = journal.iter().rev().find(|e| e["action"] == "user.deactivated").expect("journaled");
    assert_eq!(record["target"], lena_id.as_str());
    assert_eq!(record["actor"], "admin");
    // The Zoom dialect sees it too: a new login is refused.
    let refused = app
        .admin(
            Method::POST,
            &format!("/tenants/{account}/sessions"),
            Some(json!({"user": "lena@example.com", "kind": "sso"})),
        )
        .await;
    assert_eq!(refused.status(), 409);

    // Again: no change, no new record.
    let entries = app.journal(&account).await.len();
    let (status, body) = act(&app, &account, "lena@example.com", "deactivate").await;
    assert_eq!((status, body["changed"].clone()), (200, json!(false)), "{body}");
    assert_eq!(app.journal(&account).await.len(), entries);

    let (status, body) = act(&app, &account, "lena@example.com", "activate").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["status"], "active");
    assert_eq!(app.introspect(&sso).await["active"], false, "re-activation revived a session");
    assert_eq!(listed(&app, &account, "lena@example.com").await["sessions"]["sso"], 0);
    assert!(
        app.journal(&account).await.iter().any(|e| e["action"] == "user.activated" && e["target"] == lena_id.as_str())
    );
}

#[tokio::test]
async fn revoke_ends_every_session_on_either_provider() {
    let app = TestApp::spawn().await;
    let account = zoom_tenant(&app).await;
    let sso = app.login(&account, json!({"user": "lena@example.com", "kind": "sso"})).await;
    let (status, body) = act(&app, &account, "lena@example.com", "revoke").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["status"], "active", "revoking is not deactivating");
    assert_eq!(body["user"]["sessions"]["sso"], 0);
    assert_eq!(app.introspect(&sso).await["reason"], "sessions_revoked");
    assert!(app.journal(&account).await.iter().any(|e| e["action"] == "sessions.revoked"));

    let cf = unique_hex32();
    app.create_tenant(cloudflare_world(&cf)).await;
    let access = app.login(&cf, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await;
    let warp = app.login(&cf, json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})).await;
    let (status, body) = act(&app, &cf, "jdoe@example.com", "revoke").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["sessions"], json!({"access": 0, "warp": 0}));
    assert_eq!(body["user"]["devices"], 2, "registrations are left alone");
    assert_eq!(app.introspect(&access).await["reason"], "access_revoked");
    assert_eq!(app.introspect(&warp).await["reason"], "warp_reauth_required");
    let journal = app.journal(&cf).await;
    let record = journal.iter().rev().find(|e| e["action"] == "access.revoked").expect("journaled");
    assert_eq!(record["detail"]["devices"], false);
    assert_eq!(record["detail"]["warp_session_reauth"], true);
}
