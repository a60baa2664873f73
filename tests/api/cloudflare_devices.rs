//! The Cloudflare dialect: legacy devices, physical devices and registrations.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::{Cf, send};

fn ids(result: &Value) -> Vec<String> {
    result.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect()
}

/// The registration id of a device by name.
async fn registration(cf: &Cf, name: &str) -> String {
    let all = cf.get(&cf.acct("/devices/registrations?status=all&per_page=100"), &cf.admin()).await.ok();
    let found = all.as_array().unwrap().iter().find(|r| r["device"]["name"] == name).expect("registration");
    found["id"].as_str().unwrap().to_owned()
}

async fn post_array(cf: &Cf, path: &str, body: Value) -> crate::cloudflare::CfResponse {
    cf.call(Method::POST, &cf.acct(path), &cf.admin(), Some(body)).await
}

#[tokio::test]
async fn legacy_devices_are_listed_revoked_and_unrevoked_without_reviving_sessions() {
    let cf = Cf::start().await;
    let session = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let response = cf.get(&cf.acct("/devices"), &cf.admin()).await;
    let devices = response.ok();
    assert_eq!(devices.as_array().unwrap().len(), 3);
    assert_eq!(response.body["result_info"]["count"], 3);
    let laptop = devices.as_array().unwrap().iter().find(|d| d["name"] == "jane-laptop").unwrap().clone();
    assert_eq!(laptop["device_type"], "mac");
    assert_eq!(laptop["user"]["email"], "jdoe@example.com");
    assert_eq!(laptop["user"]["name"], "Jane Doe");
    assert_eq!(laptop["revoked_at"], Value::Null);
    assert_eq!(laptop["deleted"], false);
    assert!(laptop["last_seen"].is_string(), "the login touched it: {laptop}");
    let id = laptop["id"].as_str().unwrap().to_owned();
    let one = cf.get(&cf.acct(&format!("/devices/{id}")), &cf.admin()).await.ok();
    assert_eq!(one["account"]["id"], cf.account.as_str());
    cf.get(&cf.acct("/devices/00000000-0000-4000-8000-000000000000"), &cf.admin()).await.assert_error(404, &[12135]);

    let revoked = post_array(&cf, "/devices/revoke", json!([id])).await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.body, json!({"success": true, "errors": [], "messages": [], "result": null}));
    assert_eq!(cf.state_of(&session).await, "device_revoked");
    assert!(cf.get(&cf.acct(&format!("/devices/{id}")), &cf.admin()).await.ok()["revoked_at"].is_string());

    post_array(&cf, "/devices/unrevoke", json!([id])).await.ok();
    assert_eq!(cf.get(&cf.acct(&format!("/devices/{id}")), &cf.admin()).await.ok()["revoked_at"], Value::Null);
    // Un-revoking brings no old session back; a new login works.
    assert_eq!(cf.state_of(&session).await, "device_revoked");
    let fresh = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    assert_eq!(cf.state_of(&fresh).await, "active");

    // All or nothing: one unknown id, nothing revoked.
    let phone = registration(&cf, "jane-phone").await;
    post_array(&cf, "/devices/revoke", json!([phone, "no-such-device"])).await.assert_error(404, &[12135]);
    assert_eq!(cf.get(&cf.acct(&format!("/devices/{phone}")), &cf.admin()).await.ok()["revoked_at"], Value::Null);
    // Zero Trust Write is needed to revoke; Read to list.
    cf.call(Method::POST, &cf.acct("/devices/revoke"), &cf.token("reader"), Some(json!([phone])))
        .await
        .assert_error(403, &[10000]);
    cf.get(&cf.acct("/devices"), &cf.token("reader")).await.ok();
    cf.get(&cf.acct("/devices"), &cf.token("revoker")).await.assert_error(403, &[10000]);
    let journal = cf.actions().await;
    assert!(journal.contains(&"device.revoked".to_owned()) && journal.contains(&"device.unrevoked".to_owned()));
}

#[tokio::test]
async fn physical_devices_are_cursor_paginated_and_filtered_by_active_registrations() {
    let cf = Cf::start().await;
    let path = |query: &str| cf.acct(&format!("/devices/physical-devices{query}"));
    let response = cf.get(&path(""), &cf.admin()).await;
    let devices = response.ok();
    assert_eq!(devices.as_array().unwrap().len(), 3);
    assert_eq!(response.body["result_info"], json!({"count": 3, "cursor": "", "per_page": 10, "total_count": 3}));
    let desktop = devices.as_array().unwrap().iter().find(|d| d["name"] == "sam-desktop").unwrap().clone();
    assert_eq!(desktop["active_registrations"], 1);
    assert_eq!(desktop["device_type"], "windows");
    assert_eq!(desktop["last_seen_user"]["email"], "sam@example.com");
    assert_eq!(desktop["tags"], json!({}));

    // Page by page with per_page=1: every device once, then an empty cursor.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let query = if cursor.is_empty() { "?per_page=1".to_owned() } else { format!("?per_page=1&cursor={cursor}") };
        let response = cf.get(&path(&query), &cf.admin()).await;
        seen.extend(ids(&response.ok()));
        cursor = response.body["result_info"]["cursor"].as_str().unwrap().to_owned();
        if cursor.is_empty() {
            break;
        }
        assert!(seen.len() < 10, "pagination does not end");
    }
    let mut all = ids(&devices);
    all.sort();
    seen.sort();
    assert_eq!(seen, all);
    cf.get(&path("?cursor=garbage!"), &cf.admin()).await.assert_error(400, &[12130]);

    // Revoking a physical device revokes its registrations; "only" (the default) hides it.
    let id = desktop["id"].as_str().unwrap();
    let revoked = cf.call(Method::POST, &path(&format!("/{id}/revoke")), &cf.admin(), None).await;
    assert_eq!(revoked.ok(), Value::Null);
    assert_eq!(ids(&cf.get(&path(""), &cf.admin()).await.ok()).len(), 2);
    assert_eq!(ids(&cf.get(&path("?active_registrations=exclude"), &cf.admin()).await.ok()), [id]);
    assert_eq!(ids(&cf.get(&path("?active_registrations=include"), &cf.admin()).await.ok()).len(), 3);
    let one = cf.get(&path(&format!("/{id}")), &cf.admin()).await.ok();
    assert_eq!(one["active_registrations"], 0);
    cf.get(&path("?active_registrations=some"), &cf.admin()).await.assert_error(400, &[12130]);
    assert_eq!(
        cf.get(&path("?last_seen_user.email=jdoe@example.com"), &cf.admin()).await.ok().as_array().unwrap().len(),
        2
    );
    let by_name = cf.get(&path("?sort_by=name&sort_order=desc&active_registrations=include"), &cf.admin()).await.ok();
    let names: Vec<&str> = by_name.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["sam-desktop", "jane-phone", "jane-laptop"]);
    // Token-only endpoints: a global key is refused.
    cf.get(&path(""), &cf.key()).await.assert_error(400, &[10001]);
    cf.call(Method::POST, &path("/00000000-0000-4000-8000-000000000000/revoke"), &cf.admin(), None)
        .await
        .assert_error(404, &[12135]);
}

#[tokio::test]
async fn registrations_are_revoked_and_unrevoked_by_repeated_ids() {
    let cf = Cf::start().await;
    let laptop_session = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let desktop_session = cf.login("sam@example.com", "warp", "sam-desktop").await;
    let laptop = registration(&cf, "jane-laptop").await;
    let phone = registration(&cf, "jane-phone").await;
    let path = |rest: &str| cf.acct(&format!("/devices/registrations{rest}"));
    let one = cf.get(&path(&format!("/{laptop}")), &cf.admin()).await.ok();
    assert_eq!(one["device"]["name"], "jane-laptop");
    assert_eq!(one["registration_type"], "warp");
    assert_eq!(one["user"]["email"], "jdoe@example.com");

    // What the SDK sends: POST with no body, Content-Type application/json, ids repeated.
    let url = cf.app.url(&format!("/client/v4{}", path(&format!("/revoke?id={laptop}&id={phone}"))));
    let request = cf
        .app
        .http
        .post(url)
        .bearer_auth(format!("{}-admin", cf.account))
        .header("content-type", "application/json")
        .header("content-length", "0");
    let response = send(request).await;
    assert_eq!(response.ok(), Value::Null);
    assert_eq!(cf.state_of(&laptop_session).await, "device_revoked");
    assert_eq!(cf.state_of(&desktop_session).await, "active");
    // Listing: active by default, revoked or all on request.
    let active = cf.get(&path(""), &cf.admin()).await.ok();
    assert_eq!(active.as_array().unwrap().len(), 1);
    let revoked = cf.get(&path("?status=revoked"), &cf.admin()).await.ok();
    let mut revoked_ids = ids(&revoked);
    revoked_ids.sort();
    let mut expected = vec![laptop.clone(), phone.clone()];
    expected.sort();
    assert_eq!(revoked_ids, expected);
    assert!(revoked[0]["revoked_at"].is_string());
    let jdoe = cf.user_id("jdoe@example.com").await;
    assert_eq!(
        cf.get(&path(&format!("?status=all&user.id={jdoe}")), &cf.admin()).await.ok().as_array().unwrap().len(),
        2
    );
    assert_eq!(cf.get(&path(&format!("?status=all&id={phone}")), &cf.admin()).await.ok().as_array().unwrap().len(), 1);

    cf.call(Method::POST, &path(&format!("/unrevoke?id={laptop}")), &cf.admin(), None).await.ok();
    assert_eq!(cf.get(&path(&format!("/{laptop}")), &cf.admin()).await.ok()["revoked_at"], Value::Null);
    assert_eq!(cf.state_of(&laptop_session).await, "device_revoked");

    cf.call(Method::POST, &path("/revoke"), &cf.admin(), None).await.assert_error(400, &[12130]);
    cf.call(Method::POST, &path("/revoke?id=nope"), &cf.admin(), None).await.assert_error(404, &[12135]);
    cf.call(Method::POST, &path(&format!("/revoke?id={phone}")), &cf.key(), None).await.assert_error(400, &[10001]);
    cf.call(Method::POST, &path(&format!("/revoke?id={phone}")), &cf.token("reader"), None)
        .await
        .assert_error(403, &[10000]);
    cf.get(&path("?status=gone"), &cf.admin()).await.assert_error(400, &[12130]);
}

/// Keyset cursors: a client that revokes each page as it goes (so it leaves the
/// `active` listing) still sees every registration.
#[tokio::test]
async fn revoking_while_paging_skips_nothing() {
    let cf = Cf::start().await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let query = if cursor.is_empty() { "?per_page=1".to_owned() } else { format!("?per_page=1&cursor={cursor}") };
        let response = cf.get(&cf.acct(&format!("/devices/registrations{query}")), &cf.admin()).await;
        for id in ids(&response.ok()) {
            cf.call(Method::POST, &cf.acct(&format!("/devices/registrations/revoke?id={id}")), &cf.admin(), None)
                .await
                .ok();
            seen.push(id);
        }
        cursor = response.body["result_info"]["cursor"].as_str().unwrap().to_owned();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(cf.get(&cf.acct("/devices/registrations"), &cf.admin()).await.ok(), json!([]));
}
