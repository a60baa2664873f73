//! The Cloudflare dialect: Zero Trust users, their sessions, identities and failed
//! logins, and Access applications.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::{Cf, cloudflare_world_with};

fn emails(result: &Value) -> Vec<String> {
    result.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn users_are_listed_by_page_with_an_empty_page_past_the_end() {
    let extra: Vec<(String, String)> = (0..4).map(|i| (format!("user{i}@example.com"), format!("User {i}"))).collect();
    let cf = Cf::start_with(|account| cloudflare_world_with(account, "off", &extra)).await;
    let path = |query: &str| cf.acct(&format!("/access/users{query}"));
    let mut seen = Vec::new();
    for page in 1..=3 {
        let response = cf.get(&path(&format!("?per_page=3&page={page}")), &cf.admin()).await;
        let result = response.ok();
        seen.extend(emails(&result));
        let expected = if page < 3 { 3 } else { 1 };
        assert_eq!(
            response.body["result_info"],
            json!({"page": page, "per_page": 3, "count": expected, "total_count": 7, "total_pages": 3})
        );
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 7);
    assert_eq!(sorted, seen, "email order, no duplicates");
    let past = cf.get(&path("?per_page=3&page=4"), &cf.admin()).await;
    assert_eq!(past.ok(), json!([]));
    assert_eq!(
        past.body["result_info"],
        json!({"page": 4, "per_page": 3, "count": 0, "total_count": 7, "total_pages": 3})
    );
    // Defaults: page 1, per_page 1000.
    let all = cf.get(&path(""), &cf.admin()).await;
    assert_eq!(all.ok().as_array().unwrap().len(), 7);
    assert_eq!(all.body["result_info"]["per_page"], 1000);
    // Filters.
    assert_eq!(emails(&cf.get(&path("?email=JDOE@example.com"), &cf.admin()).await.ok()), ["jdoe@example.com"]);
    assert_eq!(emails(&cf.get(&path("?name=sam%20smith"), &cf.admin()).await.ok()), ["sam@example.com"]);
    assert_eq!(emails(&cf.get(&path("?search=user"), &cf.admin()).await.ok()).len(), 4);
    assert_eq!(emails(&cf.get(&path("?search=LEE"), &cf.admin()).await.ok()), ["kim@example.com"]);
    assert_eq!(cf.get(&path("?email=nobody@example.com"), &cf.admin()).await.ok(), json!([]));
    for bad in ["?per_page=0", "?per_page=1001", "?page=0", "?page=abc"] {
        cf.get(&path(bad), &cf.admin()).await.assert_error(400, &[12130]);
    }
    // Users need Access: Audit Logs Read.
    cf.get(&path(""), &cf.token("revoker")).await.assert_error(403, &[10000]);
    cf.get(&path(""), &cf.token("reader")).await.ok();
}

#[tokio::test]
async fn a_user_shows_seats_devices_and_last_login() {
    let cf = Cf::start().await;
    let find =
        |users: &Value, email: &str| users.as_array().unwrap().iter().find(|u| u["email"] == email).unwrap().clone();
    let users = cf.get(&cf.acct("/access/users"), &cf.admin()).await.ok();
    let jdoe = find(&users, "jdoe@example.com");
    assert_eq!(jdoe["name"], "Jane Doe");
    assert_eq!(jdoe["id"], jdoe["uid"]);
    assert_eq!(jdoe["active_device_count"], 2);
    assert_eq!(jdoe["gateway_seat"], true);
    assert_eq!(jdoe["access_seat"], false);
    assert_eq!(jdoe["last_successful_login"], Value::Null);
    let kim = find(&users, "kim@example.com");
    assert_eq!(kim["active_device_count"], 0);
    assert_eq!(kim["gateway_seat"], false);
    cf.login("jdoe@example.com", "access", "Wiki").await;
    cf.revoke(&cf.admin(), "?devices=true", json!({"email": "jdoe@example.com"})).await.ok();
    let users = cf.get(&cf.acct("/access/users"), &cf.admin()).await.ok();
    let jdoe = find(&users, "jdoe@example.com");
    assert_eq!(jdoe["access_seat"], true);
    assert!(jdoe["last_successful_login"].is_string());
    assert_eq!(jdoe["active_device_count"], 0);
}

#[tokio::test]
async fn active_sessions_list_live_access_sessions_with_their_apps() {
    let cf = Cf::start().await;
    cf.login("jdoe@example.com", "access", "Wiki").await;
    cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let jdoe = cf.user_id("jdoe@example.com").await;
    let response = cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await;
    let sessions = response.ok();
    assert_eq!(sessions.as_array().unwrap().len(), 1, "WARP sessions are not Access sessions: {sessions}");
    assert_eq!(response.body["result_info"]["count"], 1);
    let session = &sessions[0];
    let apps = cf.get(&cf.acct("/access/apps?name=Wiki"), &cf.admin()).await.ok();
    let wiki = &apps[0];
    let aud = wiki["aud"].as_str().unwrap();
    let meta = &session["metadata"];
    assert_eq!(
        meta["apps"],
        json!({aud: {"hostname": "wiki.example.com", "name": "Wiki", "type": "self_hosted", "uid": wiki["id"]}})
    );
    assert_eq!(meta["ttl"], 86400);
    assert_eq!(meta["expires"], session["expiration"]);
    assert_eq!(meta["expires"].as_i64().unwrap() - meta["iat"].as_i64().unwrap(), 86400);
    assert_eq!(session["name"], "Jane Doe");
    let nonce = meta["nonce"].as_str().unwrap().to_owned();

    let one = cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions/{nonce}")), &cf.admin()).await.ok();
    assert_eq!(one["isActive"], true);
    assert_eq!(one["email"], "jdoe@example.com");
    assert_eq!(one["user_uuid"], jdoe.as_str());
    assert_eq!(one["account_id"], cf.account.as_str());
    assert_eq!(one["is_warp"], false);
    // Revoked, the session is still found, but no longer active.
    cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com"})).await.ok();
    let one = cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions/{nonce}")), &cf.admin()).await.ok();
    assert_eq!(one["isActive"], false);
    assert_eq!(cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await.ok(), json!([]));
    // Expired sessions leave the list too.
    cf.login("jdoe@example.com", "access", "Grafana").await;
    cf.app.advance_clock(&cf.account, 25 * 3600).await;
    assert_eq!(cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await.ok(), json!([]));

    cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions/000000000000000000000000")), &cf.admin())
        .await
        .assert_error(404, &[12135]);
    let stranger = "00000000-0000-4000-8000-000000000000";
    cf.get(&cf.acct(&format!("/access/users/{stranger}/active_sessions")), &cf.admin())
        .await
        .assert_error(404, &[12135]);
    // Another user's nonce is not this user's session.
    let sam = cf.user_id("sam@example.com").await;
    cf.get(&cf.acct(&format!("/access/users/{sam}/active_sessions/{nonce}")), &cf.admin())
        .await
        .assert_error(404, &[12135]);
}

#[tokio::test]
async fn last_seen_identity_is_the_last_login() {
    let cf = Cf::start().await;
    let jdoe = cf.user_id("jdoe@example.com").await;
    let path = cf.acct(&format!("/access/users/{jdoe}/last_seen_identity"));
    cf.get(&path, &cf.admin()).await.assert_error(404, &[12135]);
    cf.login("jdoe@example.com", "access", "Wiki").await;
    let identity = cf.get(&path, &cf.admin()).await.ok();
    assert_eq!(identity["email"], "jdoe@example.com");
    assert_eq!(identity["is_warp"], false);
    assert_eq!(identity["device_id"], "");
    assert_eq!(identity["passkeys"], json!([]));
    cf.login("jdoe@example.com", "warp", "jane-phone").await;
    let identity = cf.get(&path, &cf.admin()).await.ok();
    assert_eq!(identity["is_warp"], true);
    let physical = cf.get(&cf.acct("/devices/physical-devices?search=jane-phone"), &cf.admin()).await.ok();
    let device_id = physical[0]["id"].as_str().unwrap();
    assert_eq!(identity["device_id"], device_id);
    assert!(identity["device_sessions"][device_id]["last_authenticated"].is_i64(), "{identity}");
}

#[tokio::test]
async fn failed_logins_list_refused_access_and_warp_logins() {
    let cf = Cf::start().await;
    let jdoe = cf.user_id("jdoe@example.com").await;
    let path = cf.acct(&format!("/access/users/{jdoe}/failed_logins"));
    assert_eq!(cf.get(&path, &cf.admin()).await.ok(), json!([]));
    cf.revoke(&cf.admin(), "?devices=true", json!({"email": "jdoe@example.com"})).await.ok();
    let refused = cf
        .app
        .admin(
            Method::POST,
            &format!("/tenants/{}/sessions", cf.account),
            Some(json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})),
        )
        .await;
    assert_eq!(refused.status(), 409);
    let failed = cf.get(&path, &cf.admin()).await.ok();
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    let meta = &failed[0]["metadata"];
    assert_eq!(meta["app_name"], "WARP: jane-laptop");
    assert_eq!(meta["user_email"], "jdoe@example.com");
    assert_eq!(meta["user_uuid"], jdoe.as_str());
    assert!(meta["datetime"].is_string() && meta["ray_id"].as_str().unwrap().len() == 16);
    // Other users see none of it.
    let sam = cf.user_id("sam@example.com").await;
    assert_eq!(cf.get(&cf.acct(&format!("/access/users/{sam}/failed_logins")), &cf.admin()).await.ok(), json!([]));
    // A reset goes back to a world without failed logins.
    let reset = cf.app.admin(Method::POST, &format!("/tenants/{}/reset", cf.account), None).await;
    assert_eq!(reset.status(), 200);
    assert_eq!(cf.get(&path, &cf.admin()).await.ok(), json!([]));
}

#[tokio::test]
async fn apps_are_listed_with_filters_on_accounts_and_zones() {
    let cf = Cf::start().await;
    let names = |result: Value| -> Vec<String> {
        result.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_owned()).collect()
    };
    let response = cf.get(&cf.acct("/access/apps"), &cf.admin()).await;
    let apps = response.ok();
    // Seeded together, they come in name order.
    assert_eq!(names(apps.clone()), ["Grafana", "Wiki"]);
    let wiki = &apps[1];
    assert_eq!(wiki["type"], "self_hosted");
    assert_eq!(wiki["domain"], "wiki.example.com");
    assert_eq!(wiki["aud"].as_str().unwrap().len(), 64);
    assert_eq!(response.body["result_info"]["total_count"], 2);
    let zone = cf.get(&format!("/zones/{}/access/apps", cf.zone), &cf.admin()).await.ok();
    assert_eq!(names(zone), ["Grafana", "Wiki"]);
    assert_eq!(names(cf.get(&cf.acct("/access/apps?name=graf"), &cf.admin()).await.ok()), ["Grafana"]);
    assert_eq!(cf.get(&cf.acct("/access/apps?name=graf&exact=true"), &cf.admin()).await.ok(), json!([]));
    let aud = wiki["aud"].as_str().unwrap();
    assert_eq!(names(cf.get(&cf.acct(&format!("/access/apps?aud={aud}")), &cf.admin()).await.ok()), ["Wiki"]);
    assert_eq!(names(cf.get(&cf.acct("/access/apps?search=wiki.example"), &cf.admin()).await.ok()), ["Wiki"]);
    assert_eq!(names(cf.get(&cf.acct("/access/apps?per_page=1&page=2"), &cf.admin()).await.ok()), ["Wiki"]);
    assert_eq!(cf.get(&cf.acct("/access/apps?per_page=1&page=3"), &cf.admin()).await.ok(), json!([]));
    cf.get(&cf.acct("/access/apps"), &cf.token("revoker")).await.assert_error(403, &[10000]);
}
