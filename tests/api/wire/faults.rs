//! An injected fault's answer in each dialect: a rule's status is answered in the
//! provider's own shape (Zoom's `{"code", "message"}` with its headers, Cloudflare's v4
//! envelope with `Retry-After`), so a client's error handling sees what the provider sends.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Redactor, pin_request};
use crate::cloudflare::{Cf, cloudflare_world_with};
use crate::helpers::TestApp;
use crate::zoom::Zoom;

/// Posts a rule (panics unless 201).
async fn add_rule(app: &TestApp, account: &str, rule: Value) {
    let response = app.admin(Method::POST, &format!("/tenants/{account}/faults"), Some(rule)).await;
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

#[tokio::test]
async fn zoom_fault_answers() {
    let zoom = Zoom::start().await;
    let redactor = Redactor::new(&zoom.app).literal(&zoom.account, "account");
    let get = || zoom.app.http.get(zoom.app.url("/v2/users/lena@example.com")).bearer_auth(&zoom.token);
    for (name, effect) in [
        ("zoom_fault_503", json!({"status": 503})),
        ("zoom_fault_429_retry_after", json!({"status": 429, "retry_after": 30})),
        ("zoom_fault_500", json!({"status": 500})),
        ("zoom_fault_404", json!({"status": 404})),
    ] {
        add_rule(
            &zoom.app,
            &zoom.account,
            json!({"match": {"operation": "zoom.users.get"}, "effect": effect, "times": 1}),
        )
        .await;
        let seen = pin_request(&redactor, name, get()).await;
        assert_ne!(seen["status"], 200, "{name}: {seen}");
    }
    // Each rule fired once: the next request is answered for real.
    let seen = pin_request(&redactor, "zoom_fault_spent", get()).await;
    assert_eq!(seen["status"], 200, "{seen}");
}

#[tokio::test]
async fn cloudflare_fault_answers() {
    let cf = Cf::start_with(|account| cloudflare_world_with(account, "off", &[])).await;
    let redactor = Redactor::new(&cf.app).literal(&cf.account, "account").literal(&cf.zone, "zone");
    let get = || {
        cf.app
            .http
            .get(cf.app.url(&format!("/client/v4{}", cf.acct("/access/users"))))
            .bearer_auth(format!("{}-admin", cf.account))
    };
    for (name, effect) in [
        ("cf_fault_503", json!({"status": 503})),
        ("cf_fault_429", json!({"status": 429})),
        ("cf_fault_429_retry_after", json!({"status": 429, "retry_after": 7})),
        ("cf_fault_500", json!({"status": 500})),
        ("cf_fault_403", json!({"status": 403})),
    ] {
        add_rule(&cf.app, &cf.account, json!({"match": {"method": "GET"}, "effect": effect, "times": 1})).await;
        let seen = pin_request(&redactor, name, get()).await;
        assert_ne!(seen["status"], 200, "{name}: {seen}");
    }
    let seen = pin_request(&redactor, "cf_fault_spent", get()).await;
    assert_eq!(seen["status"], 200, "{seen}");
}
