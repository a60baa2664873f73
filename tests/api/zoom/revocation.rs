//! The seed calls and their effects: revoke the SSO token, deactivate and re-activate,
//! ZAKs; what introspection says afterwards.

use reqwest::Method;
use serde_json::json;

use super::{Zoom, assert_zoom_error};

#[tokio::test]
async fn revoking_the_sso_token_ends_every_sso_session_and_zak_of_the_user_only() {
    let zoom = Zoom::start().await;
    let sessions: Vec<String> = futures::future::join_all((0..5).map(|_| zoom.sso_login("lena@example.com"))).await;
    let zak = zoom.call(Method::GET, "/users/lena@example.com/token?type=zak", None).await.1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bystander = zoom.sso_login("ben@example.com").await;
    assert_eq!(zoom.app.introspect(&zak).await["active"], true);

    let (status, body) = zoom.call(Method::DELETE, "/users/lena@example.com/token", None).await;
    assert_eq!(status, 204, "{body}");
    assert!(body.is_null());
    for token in sessions.iter().chain([&zak]) {
        let info = zoom.app.introspect(token).await;
        assert_eq!(info["active"], false, "{info}");
        assert_eq!(info["reason"], "sessions_revoked");
        assert!(info["revoked_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(zoom.app.introspect(&bystander).await["active"], true);
    // The user is still active and can log in again; the new session is good.
    let fresh = zoom.sso_login("lena@example.com").await;
    assert_eq!(zoom.app.introspect(&fresh).await["active"], true);
    let journal = zoom.app.journal(&zoom.account).await;
    let entry = journal.iter().find(|e| e["action"] == "sessions.revoked").expect("journaled");
    assert_eq!(entry["actor"], format!("zoom_app:{}-admin", zoom.account));
}

#[tokio::test]
async fn revoke_sso_token_of_an_unknown_user_is_404_1001() {
    let zoom = Zoom::start().await;
    let response = zoom.call(Method::DELETE, "/users/nobody@example.com/token", None).await;
    assert_zoom_error(&response, 404, 1001, Some("User does not exist: nobody@example.com."));
}

#[tokio::test]
async fn deactivating_ends_sessions_removes_the_license_and_blocks_logins() {
    let zoom = Zoom::start().await;
    let sso = zoom.sso_login("lena@example.com").await;
    let (status, body) =
        zoom.call(Method::PUT, "/users/lena@example.com/status", Some(json!({"action": "deactivate"}))).await;
    assert_eq!(status, 204, "{body}");
    let got = zoom.call(Method::GET, "/users/lena@example.com", None).await.1;
    assert_eq!(got["status"], "inactive");
    assert_eq!(got["type"], 1, "deactivation removes the license");
    let info = zoom.app.introspect(&sso).await;
    assert_eq!(info["active"], false);
    assert_eq!(info["reason"], "user_deactivated");

    let refused = zoom
        .app
        .admin(
            Method::POST,
            &format!("/tenants/{}/sessions", zoom.account),
            Some(json!({"user": "lena@example.com", "kind": "sso"})),
        )
        .await;
    assert_eq!(refused.status(), 409);
    let zak = zoom.call(Method::GET, "/users/lena@example.com/token?type=zak", None).await;
    assert_zoom_error(&zak, 400, 200, None);

    let listed = zoom.call(Method::GET, "/users?status=inactive", None).await.1;
    assert_eq!(listed["users"][0]["email"], "lena@example.com");
}

#[tokio::test]
async fn reactivating_revives_no_old_session() {
    let zoom = Zoom::start().await;
    let old = zoom.sso_login("lena@example.com").await;
    let old_zak = zoom.call(Method::GET, "/users/lena@example.com/token?type=zak", None).await.1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    zoom.call(Method::PUT, "/users/lena@example.com/status", Some(json!({"action": "deactivate"}))).await;
    let (status, _) =
        zoom.call(Method::PUT, "/users/lena@example.com/status", Some(json!({"action": "activate"}))).await;
    assert_eq!(status, 204);
    assert_eq!(zoom.call(Method::GET, "/users/lena@example.com", None).await.1["status"], "active");
    for token in [&old, &old_zak] {
        let info = zoom.app.introspect(token).await;
        assert_eq!(info["active"], false, "{info}");
        assert_eq!(info["reason"], "user_deactivated");
    }
    let new = zoom.sso_login("lena@example.com").await;
    assert_eq!(zoom.app.introspect(&new).await["active"], true);
}

#[tokio::test]
async fn introspection_reports_the_revocation_that_killed_a_token() {
    let zoom = Zoom::start().await;
    let first = zoom.sso_login("lena@example.com").await;
    zoom.call(Method::DELETE, "/users/lena@example.com/token", None).await;
    let second = zoom.sso_login("lena@example.com").await;
    zoom.app.advance_clock(&zoom.account, 5).await;
    let token = super::oauth_token(&zoom.app, &zoom.account, &format!("{}-admin", zoom.account), "admin-secret").await;
    zoom.call_as(&token, Method::PUT, "/users/lena@example.com/status", Some(json!({"action": "deactivate"}))).await;
    let first = zoom.app.introspect(&first).await;
    let second = zoom.app.introspect(&second).await;
    assert_eq!(first["reason"], "sessions_revoked");
    assert_eq!(second["reason"], "user_deactivated");
    assert!(first["revoked_at"].as_str() < second["revoked_at"].as_str());
}

#[tokio::test]
async fn status_accepts_json_multipart_and_urlencoded_bodies() {
    let zoom = Zoom::start().await;
    let url = zoom.app.url("/v2/users/ben@example.com/status");
    let form = reqwest::multipart::Form::new().text("action", "deactivate");
    let multipart = zoom.app.http.put(&url).bearer_auth(&zoom.token).multipart(form).send().await.unwrap();
    assert_eq!(multipart.status(), 204);
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.1["status"], "inactive");
    let urlencoded =
        zoom.app.http.put(&url).bearer_auth(&zoom.token).form(&[("action", "activate")]).send().await.unwrap();
    assert_eq!(urlencoded.status(), 204);
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.1["status"], "active");
}

#[tokio::test]
async fn status_errors_as_zoom_sends_them() {
    let zoom = Zoom::start().await;
    let put = |user: &'static str, body: serde_json::Value| {
        let zoom = &zoom;
        async move { zoom.call(Method::PUT, &format!("/users/{user}/status"), Some(body)).await }
    };
    let room_or_admin = "Zoom Room and Admin users' status cannot be activated or deactivated.";
    assert_zoom_error(&put("room@example.com", json!({"action": "deactivate"})).await, 400, 200, Some(room_or_admin));
    assert_zoom_error(&put("admin@example.com", json!({"action": "deactivate"})).await, 400, 200, Some(room_or_admin));
    assert_zoom_error(&put("owner@example.com", json!({"action": "deactivate"})).await, 400, 200, Some(room_or_admin));
    assert_zoom_error(
        &put("eve@example.com", json!({"action": "deactivate"})).await,
        400,
        300,
        Some("You cannot deactivate this user because the user has an upcoming Zoom Events scheduled."),
    );
    let unknown_action = put("ben@example.com", json!({"action": "explode"})).await;
    assert_zoom_error(&unknown_action, 400, 300, Some("Validation Failed."));
    assert_eq!(unknown_action.1["errors"][0]["field"], "action");
    assert_zoom_error(&put("ben@example.com", json!({})).await, 400, 300, Some("Validation Failed."));
    assert_zoom_error(&put("ghost@example.com", json!({"action": "deactivate"})).await, 404, 1001, None);
    assert_zoom_error(&put("pat@example.com", json!({"action": "activate"})).await, 400, 200, None);
    // None of the refusals changed anything.
    for email in ["room@example.com", "admin@example.com", "eve@example.com", "ben@example.com"] {
        assert_eq!(zoom.call(Method::GET, &format!("/users/{email}"), None).await.1["status"], "active");
    }
}

#[tokio::test]
async fn deactivating_twice_is_harmless() {
    let zoom = Zoom::start().await;
    for _ in 0..2 {
        let (status, _) =
            zoom.call(Method::PUT, "/users/ben@example.com/status", Some(json!({"action": "deactivate"}))).await;
        assert_eq!(status, 204);
    }
    let deactivations =
        zoom.app.journal(&zoom.account).await.iter().filter(|e| e["action"] == "user.deactivated").count();
    assert_eq!(deactivations, 1);
}

#[tokio::test]
async fn user_tokens_and_zaks() {
    let zoom = Zoom::start().await;
    let (status, body) = zoom.call(Method::GET, "/users/lena@example.com/token", None).await;
    assert_eq!(status, 200);
    let token = body["token"].as_str().unwrap();
    let info = zoom.app.introspect(token).await;
    assert_eq!(info["kind"], "zak");
    assert_eq!(info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(), 14 * 86_400);
    let zak = zoom.call(Method::GET, "/users/lena@example.com/token?type=zak&ttl=600", None).await.1;
    let info = zoom.app.introspect(zak["token"].as_str().unwrap()).await;
    assert_eq!(info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(), 600);
    assert_zoom_error(&zoom.call(Method::GET, "/users/lena@example.com/token?type=bogus", None).await, 400, 300, None);
    assert_zoom_error(
        &zoom.call(Method::GET, "/users/lena@example.com/token?type=onbehalf", None).await,
        400,
        300,
        None,
    );
    assert_zoom_error(&zoom.call(Method::GET, "/users/lena@example.com/token?ttl=-5", None).await, 400, 300, None);

    // /users/me/zak needs user_zak:read, which the admin app lacks.
    assert_zoom_error(
        &zoom.call(Method::GET, "/users/me/zak", None).await,
        400,
        4711,
        Some("Invalid access token, does not contain scopes:[user_zak:read,user:read:zak,user:read:zak:admin]."),
    );
    // A user-level token has it: the ZAK is that user's, valid five minutes.
    let own = zoom.app.login(&zoom.account, json!({"user": "owner@example.com", "kind": "user_oauth"})).await;
    let mine = zoom.call_as(&own, Method::GET, "/users/me/zak", None).await.1;
    let info = zoom.app.introspect(mine["token"].as_str().unwrap()).await;
    assert_eq!(info["email"], "owner@example.com");
    assert_eq!(info["exp"].as_i64().unwrap() - info["iat"].as_i64().unwrap(), 300);
}

#[tokio::test]
async fn revoking_costs_the_same_with_many_sessions() {
    let zoom = Zoom::start().await;
    // Many sessions, issued concurrently; revocation is one epoch increment, so the rows it
    // touches do not grow with them: counted straight in the database (a row-by-row
    // revocation would touch every token, 200 rows or more).
    let sessions: Vec<String> = futures::future::join_all((0..200).map(|_| zoom.sso_login("alex@example.com"))).await;
    let before = crate::helpers::tenant_rows(&zoom.app.database_url, &zoom.account).await;
    assert!(before["tokens"].len() >= 200);
    let (status, body) = zoom.call(Method::DELETE, "/users/alex@example.com/token", None).await;
    assert_eq!(status, 204, "{body}");
    let after = crate::helpers::tenant_rows(&zoom.app.database_url, &zoom.account).await;
    let touched = crate::helpers::rows_touched(&before, &after);
    let total: usize = touched.values().sum();
    // alex's row (old and new text), the revocation record, the journal entry.
    assert!(total <= 4 && !touched.contains_key("tokens"), "rows touched: {touched:?}");
    for token in sessions.iter().step_by(20) {
        assert_eq!(zoom.app.introspect(token).await["active"], false);
    }
    let revocations =
        zoom.app.journal(&zoom.account).await.iter().filter(|e| e["action"] == "sessions.revoked").count();
    assert_eq!(revocations, 1);
}
