//! The read cache (`domain::cache`) never answers with what a write has changed: a token
//! or a user read a moment ago (so remembered) is seen as the database holds it on the
//! very next request after each kind of change. On PostgreSQL there is no cache and these
//! pass all the same.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::{Auth, Cf};
use crate::zoom::{Zoom, assert_zoom_error};

/// Uses a Zoom token twice (the second answer may come from the cache) and returns the
/// user it stands for.
async fn used_twice(zoom: &Zoom, token: &str) -> Value {
    for _ in 0..2 {
        let (status, body) = zoom.call_as(token, Method::GET, "/users/me", None).await;
        assert_eq!(status, 200, "{body}");
    }
    zoom.call_as(token, Method::GET, "/users/me", None).await.1
}

async fn refused(zoom: &Zoom, token: &str, expired: bool) {
    let answer = zoom.call_as(token, Method::GET, "/users/me", None).await;
    let message = if expired { "Access token is expired." } else { "Invalid access token." };
    assert_zoom_error(&answer, 401, 124, Some(message));
}

async fn user_oauth(zoom: &Zoom, email: &str) -> String {
    zoom.app.login(&zoom.account, json!({"user": email, "kind": "user_oauth"})).await
}

#[tokio::test]
async fn a_token_used_a_moment_ago_dies_on_the_next_request_after_each_revocation() {
    let zoom = Zoom::start().await;

    // Its sessions revoked.
    let token = user_oauth(&zoom, "lena@example.com").await;
    assert_eq!(used_twice(&zoom, &token).await["email"], "lena@example.com");
    assert_eq!(zoom.call(Method::DELETE, "/users/lena@example.com/token", None).await.0, 204);
    refused(&zoom, &token, false).await;

    // Deactivated; and re-activation brings it back to nobody.
    let token = user_oauth(&zoom, "lena@example.com").await;
    used_twice(&zoom, &token).await;
    let deactivate = json!({"action": "deactivate"});
    assert_eq!(zoom.call(Method::PUT, "/users/lena@example.com/status", Some(deactivate)).await.0, 204);
    refused(&zoom, &token, false).await;
    let activate = json!({"action": "activate"});
    assert_eq!(zoom.call(Method::PUT, "/users/lena@example.com/status", Some(activate)).await.0, 204);
    refused(&zoom, &token, false).await;

    // Deleted.
    let token = user_oauth(&zoom, "lena@example.com").await;
    used_twice(&zoom, &token).await;
    assert_eq!(zoom.call(Method::DELETE, "/users/lena@example.com?action=delete", None).await.0, 204);
    refused(&zoom, &token, false).await;

    // Expired by the tenant's clock (a change to the tenant, not to the user).
    let token = user_oauth(&zoom, "ben@example.com").await;
    used_twice(&zoom, &token).await;
    zoom.app.advance_clock(&zoom.account, 3_601).await;
    refused(&zoom, &token, true).await;

    // The tenant reset: an app token used a moment ago is gone with everything else (the
    // admin token expired with the clock too: a new one).
    let admin = zoom.app_token("admin").await;
    for _ in 0..2 {
        assert_eq!(zoom.call_as(&admin, Method::GET, "/users/ben@example.com", None).await.0, 200);
    }
    let reset = zoom.app.admin(Method::POST, &format!("/tenants/{}/reset", zoom.account), None).await;
    assert_eq!(reset.status(), 200);
    let answer = zoom.call_as(&admin, Method::GET, "/users/ben@example.com", None).await;
    assert_zoom_error(&answer, 401, 124, Some("Invalid access token."));
}

#[tokio::test]
async fn a_user_read_a_moment_ago_is_read_again_after_it_changes() {
    let zoom = Zoom::start().await;
    let get = || zoom.call(Method::GET, "/users/alex@example.com", None);
    assert_eq!(get().await.1["status"], "active");
    assert_eq!(get().await.1["first_name"], "Alex");

    let deactivate = json!({"action": "deactivate"});
    assert_eq!(zoom.call(Method::PUT, "/users/alex@example.com/status", Some(deactivate)).await.0, 204);
    assert_eq!(get().await.1["status"], "inactive");

    let rename = json!({"first_name": "Alexandra"});
    assert_eq!(zoom.call(Method::PATCH, "/users/alex@example.com", Some(rename)).await.0, 204);
    let (status, body) = get().await;
    assert_eq!((status.as_u16(), &body["first_name"]), (200, &json!("Alexandra")), "{body}");
    // By id too: one user, whichever key it was read by.
    let id = body["id"].as_str().expect("id").to_owned();
    assert_eq!(zoom.call(Method::GET, &format!("/users/{id}"), None).await.1["first_name"], "Alexandra");

    assert_eq!(zoom.call(Method::DELETE, "/users/alex@example.com?action=delete", None).await.0, 204);
    assert_zoom_error(&get().await, 404, 1001, None);
    assert_zoom_error(&zoom.call(Method::GET, &format!("/users/{id}"), None).await, 404, 1001, None);
}

#[tokio::test]
async fn a_restored_snapshot_is_what_the_next_request_sees() {
    let zoom = Zoom::start().await;
    let path = format!("/tenants/{}/snapshots", zoom.account);
    let taken = zoom.app.admin(Method::POST, &path, Some(json!({"name": "before"}))).await;
    assert_eq!(taken.status(), 201);

    // A token made after the snapshot, used, then undone by the restore.
    let token = user_oauth(&zoom, "ben@example.com").await;
    used_twice(&zoom, &token).await;
    let deactivate = json!({"action": "deactivate"});
    assert_eq!(zoom.call(Method::PUT, "/users/alex@example.com/status", Some(deactivate)).await.0, 204);
    assert_eq!(zoom.call(Method::GET, "/users/alex@example.com", None).await.1["status"], "inactive");

    let restored = zoom.app.admin(Method::POST, &format!("{path}/before/restore"), None).await;
    assert_eq!(restored.status(), 200);
    refused(&zoom, &token, false).await;
    assert_eq!(zoom.call(Method::GET, "/users/alex@example.com", None).await.1["status"], "active");
}

/// Whether a tenant has fault rules is read with its token: a token used a moment ago
/// meets a rule posted since on its very next request, and nothing once it is deleted;
/// on Cloudflare, with a credential (a global API key) too.
#[tokio::test]
async fn a_fault_rule_applies_to_the_next_request_of_a_token_used_a_moment_ago() {
    let zoom = Zoom::start().await;
    let token = user_oauth(&zoom, "ben@example.com").await;
    used_twice(&zoom, &token).await;
    let path = format!("/tenants/{}/faults", zoom.account);
    let rule = json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 503}});
    let added = zoom.app.admin(Method::POST, &path, Some(rule)).await;
    assert_eq!(added.status(), 201);
    let id = added.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(zoom.call_as(&token, Method::GET, "/users/me", None).await.0, 503);
    assert_eq!(zoom.app.admin(Method::DELETE, &format!("{path}/{id}"), None).await.status(), 204);
    used_twice(&zoom, &token).await;

    let cf = Cf::start().await;
    let key = cf.key();
    let revoke = || cf.revoke(&key, "", json!({"email": "jdoe@example.com"}));
    for _ in 0..2 {
        revoke().await.ok();
    }
    let path = format!("/tenants/{}/faults", cf.account);
    let added = cf.app.admin(Method::POST, &path, Some(json!({"effect": {"status": 500}}))).await;
    assert_eq!(added.status(), 201);
    let failed = revoke().await;
    assert_eq!(failed.status, 500, "{:?}", failed.body);
    assert_eq!(cf.app.admin(Method::DELETE, &path, None).await.status(), 200);
    revoke().await.ok();
}

#[tokio::test]
async fn a_cloudflare_token_used_a_moment_ago_dies_with_its_tenant() {
    let cf = Cf::start().await;
    let cf = &cf;
    let revoke = |auth: Auth| async move { cf.revoke(&auth, "", json!({"email": "jdoe@example.com"})).await };
    for _ in 0..2 {
        revoke(cf.admin()).await.ok();
        revoke(cf.key()).await.ok();
    }
    let deleted = cf.app.admin(Method::DELETE, &format!("/tenants/{}", cf.account), None).await;
    assert_eq!(deleted.status(), 204);
    revoke(cf.admin()).await.assert_error(403, &[9109]);
    revoke(cf.key()).await.assert_error(403, &[9103]);
}

/// The cache is exact because one process serves the file and so sees every write: a
/// second server on the same SQLite file is refused, with the reason; once the first has
/// stopped, the file is free again.
#[tokio::test]
async fn one_server_serves_an_sqlite_file() {
    use userplane::app::Server;
    use userplane::config::ServeConfig;

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("owned.db").display());
    let config = ServeConfig::for_tests(&url, "cache-admin");
    let first = Server::start(&config).await.expect("the first server starts");
    let refused = Server::start(&config).await.err().expect("a second server on the file is refused");
    assert!(refused.contains("served by another userplane process"), "{refused}");
    assert!(refused.contains("PostgreSQL"), "it says what to do instead: {refused}");
    first.stop().await;
    let again = Server::start(&config).await.expect("the file is free once the first has stopped");
    again.stop().await;
}
