//! The control plane: tenants, sessions, introspection, clock, journal, guard, errors.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, unique, zoom_world};

#[tokio::test]
async fn health_answers_without_credentials() {
    let app = TestApp::spawn().await;
    let response = app.http.get(app.url("/_userplane/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"status": "ok"}));
}

#[tokio::test]
async fn control_plane_requires_the_admin_token() {
    let app = TestApp::spawn().await;
    for token in [None, Some("wrong")] {
        let mut request = app.http.get(app.url("/_userplane/tenants"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
}

#[tokio::test]
async fn tenants_are_created_listed_read_and_deleted() {
    let app = TestApp::spawn().await;
    let account = unique("acct");
    let created = app.create_tenant(zoom_world(&account, "pro", "off")).await;
    assert_eq!(created["account_id"], account);
    assert_eq!(created["provider"], "zoom");
    assert_eq!(created["plan"], "pro");
    // Secrets are never echoed back, nor their hashes: only whether one is set.
    let text = created.to_string();
    assert!(!text.contains("admin-secret"), "{text}");
    assert!(!text.contains("_hash") && !text.contains("_sha256"), "{text}");
    assert_eq!(created["document"]["apps"][0]["client_secret_set"], true, "{text}");

    let listed: Value = app.admin(Method::GET, "/tenants", None).await.json().await.unwrap();
    assert!(listed["tenants"].as_array().unwrap().iter().any(|t| t["account_id"] == account));

    let again = app.admin(Method::POST, "/tenants", Some(zoom_world(&account, "pro", "off"))).await;
    assert_eq!(again.status(), 409);

    let got = app.admin(Method::GET, &format!("/tenants/{account}"), None).await;
    assert_eq!(got.status(), 200);
    let deleted = app.admin(Method::DELETE, &format!("/tenants/{account}"), None).await;
    assert_eq!(deleted.status(), 204);
    let gone = app.admin(Method::GET, &format!("/tenants/{account}"), None).await;
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

#[tokio::test]
async fn bad_tenant_documents_get_a_clear_4xx() {
    let app = TestApp::spawn().await;
    let cases = [
        json!({"provider": "zoom"}),
        json!({"provider": "myspace", "account_id": "x"}),
        json!({"provider": "zoom", "account_id": "a b"}),
        json!({"provider": "zoom", "account_id": unique("a"), "plan": "gold"}),
        json!({"provider": "zoom", "account_id": unique("a"), "users": [{"email": "not-an-email"}]}),
        json!({"provider": "zoom", "account_id": unique("a"), "users": [{"email": "a@b.co", "assistants": ["ghost@b.co"]}]}),
    ];
    for doc in cases {
        let response = app.admin(Method::POST, "/tenants", Some(doc.clone())).await;
        assert_eq!(response.status(), 400, "{doc}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_request", "{doc}: {body}");
    }
    let malformed = app
        .http
        .post(app.url("/_userplane/tenants"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let huge = app
        .http
        .post(app.url("/_userplane/tenants"))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(format!("{{\"pad\": \"{}\"}}", "x".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(huge.json::<Value>().await.unwrap()["error"]["code"], "body_too_large");
}

#[tokio::test]
async fn sso_sessions_are_issued_to_active_users_only_and_introspected() {
    let app = TestApp::spawn().await;
    let account = unique("acct");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = app.login(&account, json!({"user": "ben@example.com", "kind": "sso"})).await;
    let info = app.introspect(&token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["tenant"], account);
    assert_eq!(info["kind"], "sso");
    assert_eq!(info["email"], "ben@example.com");

    let pending = app
        .admin(
            Method::POST,
            &format!("/tenants/{account}/sessions"),
            Some(json!({"user": "pat@example.com", "kind": "sso"})),
        )
        .await;
    assert_eq!(pending.status(), 409);
    let unknown = app
        .admin(
            Method::POST,
            &format!("/tenants/{account}/sessions"),
            Some(json!({"user": "nobody@example.com", "kind": "sso"})),
        )
        .await;
    assert_eq!(unknown.status(), 404);
    let bad_kind = app
        .admin(
            Method::POST,
            &format!("/tenants/{account}/sessions"),
            Some(json!({"user": "ben@example.com", "kind": "warp"})),
        )
        .await;
    assert_eq!(bad_kind.status(), 400);

    assert_eq!(app.introspect("never-issued").await, json!({"active": false}));
}

#[tokio::test]
async fn advancing_the_clock_expires_sessions() {
    let app = TestApp::spawn().await;
    let account = unique("acct");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = app.login(&account, json!({"user": "ben@example.com", "kind": "sso"})).await;
    app.advance_clock(&account, 25 * 3600).await;
    let info = app.introspect(&token).await;
    assert_eq!(info["active"], false);
    assert_eq!(info["reason"], "expired");
    assert!(info["revoked_at"].is_string());
}

#[tokio::test]
async fn reset_puts_the_tenant_back_to_its_document() {
    let app = TestApp::spawn().await;
    let account = unique("acct");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = app.login(&account, json!({"user": "ben@example.com", "kind": "sso"})).await;
    app.advance_clock(&account, 60).await;
    let reset = app.admin(Method::POST, &format!("/tenants/{account}/reset"), None).await;
    assert_eq!(reset.status(), 200);
    assert_eq!(reset.json::<Value>().await.unwrap()["clock_offset_seconds"], 0);
    // Sessions issued before the reset are gone with it.
    assert_eq!(app.introspect(&token).await["active"], false);
    // The world is back: ben can log in again.
    app.login(&account, json!({"user": "ben@example.com", "kind": "sso"})).await;
    let missing = app.admin(Method::POST, "/tenants/nope/reset", None).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn every_change_is_journaled() {
    let app = TestApp::spawn().await;
    let account = unique("acct");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    app.login(&account, json!({"user": "ben@example.com", "kind": "sso"})).await;
    app.advance_clock(&account, 1).await;
    let actions: Vec<String> =
        app.journal(&account).await.iter().map(|e| e["action"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(actions, ["tenant.created", "token.issued", "clock.advanced"]);
}

#[tokio::test]
async fn unknown_control_routes_and_methods_get_json_errors() {
    let app = TestApp::spawn().await;
    let response = app.admin(Method::GET, "/nope", None).await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "not_found");
    let response = app.admin(Method::PATCH, "/tenants", None).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.json::<Value>().await.unwrap()["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn every_path_under_the_control_plane_answers_in_its_shape() {
    let app = TestApp::spawn().await;
    for path in ["/_userplane/", "/_userplane", "/_userplane/nope/deeper", "/_userplane//tenants"] {
        for token in [None, Some(crate::helpers::ADMIN_TOKEN)] {
            let mut request = app.http.get(app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            assert!(status == 404 || status == 401, "{path}: {status}");
            let body: Value = response.json().await.unwrap();
            assert!(body["error"]["code"].is_string(), "{path}: {body}");
            assert!(body.get("code").is_none(), "{path}: Zoom's shape: {body}");
        }
    }
}

#[tokio::test]
async fn tenant_documents_name_their_unknown_fields_and_keep_free_form_attributes() {
    let app = TestApp::spawn().await;
    let mut typo = zoom_world(&unique("typo"), "pro", "off");
    typo["users"][1]["rolee"] = json!("admin");
    let cf = |extra: Value| {
        let mut doc = json!({"provider": "cloudflare", "account_id": crate::helpers::unique_hex32(),
                             "users": [{"email": "jdoe@example.com", "name": "Jane Doe"}]});
        if let (Some(fields), Value::Object(extra)) = (doc.as_object_mut(), extra) {
            fields.extend(extra);
        }
        doc
    };
    let cases = [
        (typo, "rolee"),
        (json!({"provider": "zoom", "account_id": unique("a"), "rate_limit": "off"}), "rate_limit"),
        (
            json!({"provider": "zoom", "account_id": unique("a"), "apps": [{"client_id": "c", "client_secret": "s", "scope": []}]}),
            "scope",
        ),
        (cf(json!({"users": [{"email": "jdoe@example.com", "nmae": "Jane"}]})), "nmae"),
        (cf(json!({"api_tokens": [{"value": "t", "permisions": []}]})), "permisions"),
        (cf(json!({"zone": []})), "zone"),
        (json!({"provider": "okta", "account_id": "x"}), "okta"),
    ];
    for (doc, named) in cases {
        let response = app.admin(Method::POST, "/tenants", Some(doc.clone())).await;
        assert_eq!(response.status(), 400, "{doc}");
        let body: Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{doc}: {message}");
        assert!(!message.contains("Some(") && !message.contains("None"), "Rust debug text: {message}");
        let account = doc["account_id"].as_str().unwrap();
        assert_eq!(app.admin(Method::GET, &format!("/tenants/{account}"), None).await.status(), 404, "not created");
    }
    // Free-form fields go under "attributes" and are kept as given.
    let account = unique("attrs");
    let mut doc = zoom_world(&account, "pro", "off");
    doc["users"][2]["attributes"] = json!({"team": "blue", "badge": 42});
    doc["users"][2]["timezone"] = json!("Europe/Paris");
    let created = app.create_tenant(doc).await;
    assert_eq!(created["document"]["users"][2]["attributes"], json!({"team": "blue", "badge": 42}));
    assert_eq!(created["document"]["users"][2]["timezone"], "Europe/Paris");
}
