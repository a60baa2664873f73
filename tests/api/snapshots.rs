//! Snapshots, forks and resets over HTTP: a restore undoes every effect (checked by
//! introspection, the dialects' GETs and the stored rows), a fork is isolated from its
//! source both ways and its new secrets work, a reset can rotate secrets, and
//! `POST /_userplane/reset` resets every tenant.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::{Auth, Cf, CfResponse, cloudflare_world, send};
use crate::helpers::{FreshPostgres, TestApp, tenant_rows, unique, unique_hex32, zoom_world};
use crate::zoom::{Zoom, oauth_token};

async fn admin_json(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let response = app.admin(method, path, body).await;
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
}

async fn snapshot(app: &TestApp, account: &str, name: &str) -> Value {
    let (status, body) =
        admin_json(app, Method::POST, &format!("/tenants/{account}/snapshots"), Some(json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn restore(app: &TestApp, account: &str, name: &str) -> Value {
    let (status, body) =
        admin_json(app, Method::POST, &format!("/tenants/{account}/snapshots/{name}/restore"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn clock_now(app: &TestApp, account: &str) -> time::OffsetDateTime {
    let (_, body) = admin_json(app, Method::GET, &format!("/tenants/{account}/clock"), None).await;
    time::OffsetDateTime::parse(body["now"].as_str().unwrap(), &time::format_description::well_known::Rfc3339).unwrap()
}

/// Every stored row of the tenant but its journal and its tenant row (whose clock
/// offset a restore recomputes from the captured instant).
async fn state_rows(app: &TestApp, account: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut rows = tenant_rows(&app.database_url, account).await;
    rows.remove("audit");
    rows.remove("tenants");
    rows
}

/// A `/v2` call on `app` with `token` (a fork shares its source's server).
async fn zoom_as(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app.http.request(method, app.url(&format!("/v2{path}"))).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
}

/// A `/client/v4` GET on `app`.
async fn cf_get(app: &TestApp, path: &str, auth: &Auth) -> CfResponse {
    let request = app.http.get(app.url(&format!("/client/v4{path}")));
    send(match auth {
        Auth::Bearer(token) => request.bearer_auth(token),
        Auth::Key(email, key) => request.header("X-Auth-Email", email).header("X-Auth-Key", key),
        _ => request,
    })
    .await
}

fn assert_control_error(status: u16, body: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn a_restore_undoes_revocations_deactivations_removed_assistants_and_the_clock() {
    let zoom = Zoom::start().await;
    let (app, account) = (&zoom.app, zoom.account.as_str());
    let sso = zoom.sso_login("lena@example.com").await;
    let zak = zoom.call(Method::GET, "/users/lena@example.com/token?type=zak", None).await.1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = state_rows(app, account).await;
    let taken_at = clock_now(app, account).await;
    let info = snapshot(app, account, "ready").await;
    assert_eq!(info["name"], "ready");
    assert!(info["size"].as_i64().unwrap() > 1000, "{info}");

    assert_eq!(zoom.call(Method::DELETE, "/users/lena@example.com/token", None).await.0, 204);
    let deactivate = json!({"action": "deactivate"});
    assert_eq!(zoom.call(Method::PUT, "/users/ben@example.com/status", Some(deactivate)).await.0, 204);
    assert_eq!(zoom.call(Method::DELETE, "/users/lena@example.com/assistants", None).await.0, 204);
    let late = zoom.sso_login("eve@example.com").await;
    app.advance_clock(account, 2 * 86_400).await;
    assert_eq!(app.introspect(&sso).await["active"], false);
    assert_eq!(app.introspect(&zoom.token).await["reason"], "expired");
    let fresh = zoom.app_token("admin").await;
    assert_eq!(zoom_as(app, &fresh, Method::GET, "/users/ben@example.com", None).await.1["status"], "inactive");
    let assistants = zoom_as(app, &fresh, Method::GET, "/users/lena@example.com/assistants", None).await.1;
    assert_eq!(assistants["assistants"], json!([]));

    let restored = restore(app, account, "ready").await;
    assert_eq!(restored["restored"], "ready");
    for token in [&sso, &zak, &zoom.token] {
        let info = app.introspect(token).await;
        assert_eq!(info["active"], true, "a token live at the snapshot is live again: {info}");
    }
    for token in [&late, &fresh] {
        assert_eq!(app.introspect(token).await, json!({"active": false}), "a token issued after it is gone");
    }
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.1["status"], "active");
    let assistants = zoom.call(Method::GET, "/users/lena@example.com/assistants", None).await.1;
    assert_eq!(assistants["assistants"][0]["email"], "alex@example.com", "{assistants}");
    let now = clock_now(app, account).await;
    assert!(now >= taken_at && now - taken_at < time::Duration::minutes(5), "the clock is back: {now} vs {taken_at}");
    assert_eq!(state_rows(app, account).await, before, "every stored row is as it was");
    let actions: Vec<Value> = app.journal(account).await.iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions.last(), Some(&json!("snapshot.restored")), "{actions:?}");
    assert!(!actions.contains(&json!("sessions.revoked")), "the journal is back to the snapshot: {actions:?}");
}

#[tokio::test]
async fn a_restore_undoes_a_cloudflare_revoke_user_with_its_devices() {
    let cf = Cf::start().await;
    let access = cf.login("jdoe@example.com", "access", "Wiki").await;
    let warp = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let before = state_rows(&cf.app, &cf.account).await;
    snapshot(&cf.app, &cf.account, "before-offboarding").await;

    let response = cf.revoke(&cf.admin(), "?devices=true", json!({"email": "jdoe@example.com"})).await;
    assert_eq!(response.ok(), json!(true));
    assert_eq!(cf.state_of(&access).await, "access_revoked");
    assert_eq!(cf.state_of(&warp).await, "device_revoked");

    restore(&cf.app, &cf.account, "before-offboarding").await;
    assert_eq!(cf.state_of(&access).await, "active");
    assert_eq!(cf.state_of(&warp).await, "active");
    let registrations = cf.get(&cf.acct("/devices/registrations?status=all"), &cf.admin()).await.ok();
    assert_eq!(registrations.as_array().unwrap().len(), 3);
    assert!(registrations.as_array().unwrap().iter().all(|r| r["revoked_at"].is_null()), "{registrations}");
    assert_eq!(state_rows(&cf.app, &cf.account).await, before);
}

/// WARP sessions die by their own named revocation scope (`warp_session_reauth`): a
/// restore puts that scope's epoch back too, so the session lives again.
#[tokio::test]
async fn a_restore_undoes_a_warp_session_reauth() {
    let cf = Cf::start().await;
    let warp = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let before = state_rows(&cf.app, &cf.account).await;
    snapshot(&cf.app, &cf.account, "before-reauth").await;

    let response = cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com", "warp_session_reauth": true})).await;
    assert_eq!(response.ok(), json!(true));
    assert_eq!(cf.state_of(&warp).await, "warp_reauth_required");

    restore(&cf.app, &cf.account, "before-reauth").await;
    assert_eq!(cf.state_of(&warp).await, "active");
    assert_eq!(state_rows(&cf.app, &cf.account).await, before);
}

#[tokio::test]
async fn snapshots_are_listed_deleted_named_and_bounded() {
    let zoom = Zoom::start().await;
    let (app, account) = (&zoom.app, zoom.account.as_str());
    let path = format!("/tenants/{account}/snapshots");
    snapshot(app, account, "one").await;
    snapshot(app, account, "two.v2_final-3").await;
    let (status, listed) = admin_json(app, Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let names: Vec<&str> =
        listed["snapshots"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["one", "two.v2_final-3"]);
    let first = &listed["snapshots"][0];
    assert!(first["created_at"].as_str().unwrap().ends_with('Z') && first["size"].as_i64().unwrap() > 0, "{first}");

    let (status, body) = admin_json(app, Method::POST, &path, Some(json!({"name": "one"}))).await;
    assert_control_error(status, &body, 409, "conflict");
    let long = "x".repeat(65);
    for bad in [
        json!({"name": ""}),
        json!({"name": "-dash"}),
        json!({"name": "a b"}),
        json!({"name": long}),
        json!({"name": "é"}),
        json!({"name": 7}),
        json!({}),
        json!({"name": "ok", "extra": 1}),
    ] {
        let (status, body) = admin_json(app, Method::POST, &path, Some(bad.clone())).await;
        assert_control_error(status, &body, 400, "invalid_request");
    }
    let (status, _) = admin_json(app, Method::DELETE, &format!("{path}/one"), None).await;
    assert_eq!(status, 204);
    let (status, body) = admin_json(app, Method::POST, &format!("{path}/one/restore"), None).await;
    assert_control_error(status, &body, 404, "not_found");
    let (status, body) = admin_json(app, Method::DELETE, &format!("{path}/one"), None).await;
    assert_control_error(status, &body, 404, "not_found");
    let (status, body) = admin_json(app, Method::GET, "/tenants/nosuchtenant/snapshots", None).await;
    assert_control_error(status, &body, 404, "not_found");

    for i in 1..16 {
        snapshot(app, account, &format!("n{i}")).await;
    }
    let (status, body) = admin_json(app, Method::POST, &path, Some(json!({"name": "seventeenth"}))).await;
    assert_control_error(status, &body, 409, "refused");
    assert!(body["error"]["message"].as_str().unwrap().contains("16"), "{body}");
}

#[tokio::test]
async fn a_zoom_fork_gets_new_secrets_and_is_isolated_from_its_source() {
    let zoom = Zoom::start().await;
    let (app, source) = (&zoom.app, zoom.account.as_str());
    let source_sso = zoom.sso_login("lena@example.com").await;
    let fork_id = unique("zf");
    let (status, forked) =
        admin_json(app, Method::POST, &format!("/tenants/{source}/fork"), Some(json!({"account_id": fork_id}))).await;
    assert_eq!(status, 201, "{forked}");
    assert_eq!(forked["account_id"], fork_id.as_str());
    let apps = forked["secrets"]["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 3);
    // The fork's first app is the source's admin app, under a new client id and secret.
    let (client_id, secret) = (apps[0]["client_id"].as_str().unwrap(), apps[0]["client_secret"].as_str().unwrap());
    assert_ne!(client_id, format!("{source}-admin"));
    assert!(secret.len() >= 40);
    let token = oauth_token(app, &fork_id, client_id, secret).await;
    assert_eq!(app.introspect(&token).await["tenant"], fork_id.as_str());
    // The source's secret does not open the fork.
    let refused = app
        .http
        .post(app.url(&format!("/oauth/token?grant_type=account_credentials&account_id={fork_id}")))
        .basic_auth(client_id, Some("admin-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "a wrong secret is refused");

    // The same world: users, ids, assistants.
    let (status, lena) = zoom_as(app, &token, Method::GET, "/users/lena@example.com", None).await;
    assert_eq!(status, 200, "{lena}");
    assert_eq!(lena["id"].as_str().unwrap(), zoom.id_of("lena@example.com").await);
    let assistants = zoom_as(app, &token, Method::GET, "/users/lena@example.com/assistants", None).await.1;
    assert_eq!(assistants["assistants"][0]["email"], "alex@example.com");
    assert_eq!(zoom_as(app, &token, Method::GET, "/users?page_size=300", None).await.1["total_records"], 7);

    // Changing the fork leaves the source alone, and the other way round.
    let deactivate = json!({"action": "deactivate"});
    assert_eq!(
        zoom_as(app, &token, Method::PUT, "/users/lena@example.com/status", Some(deactivate.clone())).await.0,
        204
    );
    assert_eq!(zoom.call(Method::GET, "/users/lena@example.com", None).await.1["status"], "active");
    assert_eq!(app.introspect(&source_sso).await["active"], true);
    assert_eq!(zoom.call(Method::PUT, "/users/ben@example.com/status", Some(deactivate)).await.0, 204);
    assert_eq!(zoom_as(app, &token, Method::GET, "/users/ben@example.com", None).await.1["status"], "active");
    assert_eq!(zoom_as(app, &token, Method::GET, "/users/lena@example.com", None).await.1["status"], "inactive");
    let fork_journal: Vec<Value> = app.journal(&fork_id).await.iter().map(|e| e["action"].clone()).collect();
    assert_eq!(fork_journal.first(), Some(&json!("tenant.forked")), "{fork_journal:?}");
    let fork_tokens = &state_rows(app, &fork_id).await["tokens"];
    assert_eq!(fork_tokens.len(), 1, "sessions are not carried, only the fork's own token: {fork_tokens:?}");

    // An existing id is a conflict; a malformed one is the client's mistake.
    for (account_id, expected, code) in
        [(fork_id.as_str(), 409, "conflict"), ("bad id!", 400, "invalid_request"), ("", 400, "invalid_request")]
    {
        let body = json!({"account_id": account_id});
        let (status, body) = admin_json(app, Method::POST, &format!("/tenants/{source}/fork"), Some(body)).await;
        assert_control_error(status, &body, expected, code);
    }
    let (status, body) = admin_json(app, Method::POST, "/tenants/nosuch/fork", Some(json!({"account_id": "x1"}))).await;
    assert_control_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn a_cloudflare_fork_answers_its_new_token_and_key_and_not_the_old_ones() {
    let cf = Cf::start().await;
    let source_session = cf.login("jdoe@example.com", "access", "Wiki").await;
    let fork_id = unique_hex32();
    let path = format!("/tenants/{}/fork", cf.account);
    let (status, forked) = admin_json(&cf.app, Method::POST, &path, Some(json!({"account_id": fork_id}))).await;
    assert_eq!(status, 201, "{forked}");
    let tokens = forked["secrets"]["api_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 5);
    let key = &forked["secrets"]["global_keys"][0];
    assert_eq!(key["email"], "admin@example.com");
    let app = &cf.app;
    let users_of_fork = format!("/accounts/{fork_id}/access/users");
    let admin = Auth::Bearer(tokens[0]["value"].as_str().unwrap().to_owned());
    assert_eq!(cf_get(app, &users_of_fork, &admin).await.ok().as_array().unwrap().len(), 3);
    let by_key = Auth::Key("admin@example.com".into(), key["key"].as_str().unwrap().to_owned());
    assert_eq!(cf_get(app, &users_of_fork, &by_key).await.ok().as_array().unwrap().len(), 3);
    // The source's token and key do not open the fork (nor the fork's the source).
    assert!(cf_get(app, &users_of_fork, &cf.admin()).await.status >= 400);
    assert!(cf_get(app, &users_of_fork, &cf.key()).await.status >= 400);
    assert!(cf.get(&cf.acct("/access/users"), &admin).await.status >= 400);
    // Sessions are not carried; a fork's own login and revoke leave the source alone.
    let fork_session = app.login(&fork_id, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await;
    let revoke = app
        .http
        .post(app.url(&format!("/client/v4/accounts/{fork_id}/access/organizations/revoke_user")))
        .bearer_auth(tokens[0]["value"].as_str().unwrap())
        .json(&json!({"email": "jdoe@example.com"}));
    assert_eq!(send(revoke).await.ok(), json!(true));
    assert_eq!(app.introspect(&fork_session).await["reason"], "access_revoked");
    assert_eq!(cf.state_of(&source_session).await, "active");
    let (status, body) =
        admin_json(&cf.app, Method::POST, &path, Some(json!({"account_id": "not-thirty-two-hex"}))).await;
    assert_control_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn a_reset_that_rotates_secrets_refuses_the_old_ones_and_shows_the_new_once() {
    let zoom = Zoom::start().await;
    let (app, account) = (&zoom.app, zoom.account.as_str());
    let (status, reset) =
        admin_json(app, Method::POST, &format!("/tenants/{account}/reset"), Some(json!({"rotate_secrets": true})))
            .await;
    assert_eq!(status, 200, "{reset}");
    let apps = reset["secrets"]["apps"].as_array().unwrap();
    assert_eq!(apps[0]["client_id"], format!("{account}-admin"), "client ids stay");
    let new_secret = apps[0]["client_secret"].as_str().unwrap();
    let old = app
        .http
        .post(app.url(&format!("/oauth/token?grant_type=account_credentials&account_id={account}")))
        .basic_auth(format!("{account}-admin"), Some("admin-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 400, "the old secret is refused");
    let token = oauth_token(app, account, &format!("{account}-admin"), new_secret).await;
    assert_eq!(app.introspect(&token).await["active"], true);
    assert_eq!(app.introspect(&zoom.token).await["active"], false, "a reset ends every token");
    // Shown once: the tenant's document keeps no secret.
    let (_, tenant) = admin_json(app, Method::GET, &format!("/tenants/{account}"), None).await;
    assert!(!tenant.to_string().contains(new_secret));
    // A plain reset keeps the rotated secret.
    let (status, plain) = admin_json(app, Method::POST, &format!("/tenants/{account}/reset"), None).await;
    assert_eq!(status, 200);
    assert!(plain.get("secrets").is_none());
    oauth_token(app, account, &format!("{account}-admin"), new_secret).await;
    let (status, body) =
        admin_json(app, Method::POST, &format!("/tenants/{account}/reset"), Some(json!({"rotate_secrets": "yes"})))
            .await;
    assert_control_error(status, &body, 400, "invalid_request");

    let cf = Cf::start().await;
    let (status, reset) = admin_json(
        &cf.app,
        Method::POST,
        &format!("/tenants/{}/reset", cf.account),
        Some(json!({"rotate_secrets": true})),
    )
    .await;
    assert_eq!(status, 200, "{reset}");
    let new_admin = Auth::Bearer(reset["secrets"]["api_tokens"][0]["value"].as_str().unwrap().to_owned());
    assert!(cf.get(&cf.acct("/access/users"), &cf.admin()).await.status >= 400, "the old token is refused");
    assert_eq!(cf.get(&cf.acct("/access/users"), &new_admin).await.ok().as_array().unwrap().len(), 3);
    let new_key = reset["secrets"]["global_keys"][0]["key"].as_str().unwrap().to_owned();
    assert!(cf.get(&cf.acct("/access/users"), &cf.key()).await.status >= 400, "the old key is refused");
    let by_key = Auth::Key("admin@example.com".into(), new_key);
    assert_eq!(cf.get(&cf.acct("/access/users"), &by_key).await.ok().as_array().unwrap().len(), 3);
}

/// A server on a database of its own: `POST /_userplane/reset` resets every tenant in it.
async fn app_of_its_own() -> (TestApp, Option<FreshPostgres>, Option<tempfile::TempDir>) {
    match std::env::var("USERPLANE_TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let pg = FreshPostgres::create("reset_all").await.expect("PostgreSQL was asked for");
            (TestApp::spawn_on(&pg.url).await, Some(pg), None)
        }
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let app = TestApp::spawn_on(&format!("sqlite://{}", dir.path().join("own.db").display())).await;
            (app, None, Some(dir))
        }
    }
}

#[tokio::test]
async fn resetting_every_tenant_puts_each_back_to_its_document() {
    let (app, _pg, _dir) = app_of_its_own().await;
    let (zoom_account, cf_account) = (unique("zr"), unique_hex32());
    app.create_tenant(zoom_world(&zoom_account, "pro", "off")).await;
    app.create_tenant(cloudflare_world(&cf_account)).await;
    let sso = app.login(&zoom_account, json!({"user": "lena@example.com", "kind": "sso"})).await;
    let access = app.login(&cf_account, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await;
    app.advance_clock(&zoom_account, 3600).await;

    let (status, body) = admin_json(&app, Method::POST, "/reset", Some(json!({"rotate_secrets": true}))).await;
    assert_eq!(status, 200, "{body}");
    let tenants = body["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2);
    assert!(tenants.iter().all(|t| t["secrets"].is_object() && t["clock_offset_seconds"] == 0), "{body}");
    for token in [&sso, &access] {
        assert_eq!(app.introspect(token).await, json!({"active": false}));
    }
    let zoom_secret = tenants.iter().find(|t| t["account_id"] == zoom_account.as_str()).unwrap()["secrets"]["apps"][0]
        ["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    oauth_token(&app, &zoom_account, &format!("{zoom_account}-admin"), &zoom_secret).await;
    let actions: Vec<Value> = app.journal(&cf_account).await.iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions.last(), Some(&json!("tenant.reset")));
    let (status, body) = admin_json(&app, Method::POST, "/reset", Some(json!({"rotate": true}))).await;
    assert_control_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn a_restore_puts_the_rate_limit_windows_back() {
    // Free: Light is 4 requests per second. A frozen clock holds the second still.
    let zoom = Zoom::start_with("free", "on").await;
    let (app, account) = (&zoom.app, zoom.account.as_str());
    let (status, _) =
        admin_json(app, Method::POST, &format!("/tenants/{account}/clock"), Some(json!({"freeze": true}))).await;
    assert_eq!(status, 200);
    let light = || async { zoom.call(Method::GET, "/users/ben@example.com", None).await.0.as_u16() };
    assert_eq!([light().await, light().await], [200, 200]);
    snapshot(app, account, "two-spent").await;
    assert_eq!([light().await, light().await, light().await], [200, 200, 429]);
    restore(app, account, "two-spent").await;
    assert_eq!([light().await, light().await, light().await], [200, 200, 429], "two of four were left at the snapshot");
}

#[tokio::test]
async fn a_restore_on_one_node_reopens_a_window_another_node_saw_full() {
    let Some(db) = FreshPostgres::create("a_restore_on_one_node_reopens_a_window_another_node_saw_full").await else {
        return;
    };
    let nodes = futures::future::join_all((0..2).map(|_| TestApp::spawn_on(&db.url))).await;
    // Free: Light is 4 requests per second. A frozen clock holds the second still.
    let account = unique("zm");
    nodes[0].create_tenant(zoom_world(&account, "free", "on")).await;
    let token = oauth_token(&nodes[0], &account, &format!("{account}-admin"), "admin-secret").await;
    let (status, _) =
        admin_json(&nodes[0], Method::POST, &format!("/tenants/{account}/clock"), Some(json!({"freeze": true}))).await;
    assert_eq!(status, 200);
    let light = |node: usize| {
        let (app, token) = (&nodes[node], token.clone());
        async move { zoom_as(app, &token, Method::GET, "/users/ben@example.com", None).await.0 }
    };
    assert_eq!([light(1).await, light(1).await], [200, 200]);
    snapshot(&nodes[0], &account, "two-spent").await;
    assert_eq!([light(1).await, light(1).await, light(1).await], [200, 200, 429], "node 1 now holds the window full");
    restore(&nodes[0], &account, "two-spent").await;
    // Node 1 checks what it holds against the restored window within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(
        [light(1).await, light(1).await, light(1).await],
        [200, 200, 429],
        "two of four were left at the snapshot"
    );
}

#[tokio::test]
async fn an_older_snapshot_restores_the_columns_it_knows() {
    let zoom = Zoom::start().await;
    let (app, account) = (&zoom.app, zoom.account.as_str());
    snapshot(app, account, "older").await;
    // As if taken before `last_login_at` was added, and holding a column dropped since.
    let store = userplane::store::Store::open(&app.database_url).await.expect("the test's database");
    let owned = account.to_owned();
    store
        .write(move |c| {
            let key = [userplane::store::Value::from(owned.as_str()), "older".into()];
            let rows = c.query("SELECT data FROM snapshots WHERE tenant = $1 AND name = $2", &key)?;
            let mut data: Value = serde_json::from_str(&rows[0].text(0)).expect("a snapshot document");
            let principals = &mut data["tables"]["principals"];
            let columns = principals["columns"].as_array_mut().expect("columns");
            let at = columns.iter().position(|c| c == "last_login_at").expect("last_login_at");
            columns[at] = json!("dropped_since");
            for row in principals["rows"].as_array_mut().expect("rows") {
                row[at] = json!("then");
            }
            let params = [data.to_string().into(), key[0].clone(), key[1].clone()];
            c.execute("UPDATE snapshots SET data = $1 WHERE tenant = $2 AND name = $3", &params)?;
            Ok(())
        })
        .await
        .expect("rewrite the snapshot");
    let deactivate = json!({"action": "deactivate"});
    assert_eq!(zoom.call(Method::PUT, "/users/ben@example.com/status", Some(deactivate)).await.0, 204);
    let before = state_rows(app, account).await["principals"].len();

    restore(app, account, "older").await;
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.1["status"], "active");
    assert_eq!(state_rows(app, account).await["principals"].len(), before, "no user lost or doubled");
}
