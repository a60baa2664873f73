//! The control plane's wire: each `/_userplane` route and its error shapes.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::{Redactor, exchange_with, pin, pin_request};
use crate::cloudflare::cloudflare_world;
use crate::helpers::{ADMIN_TOKEN, TestApp, unique, unique_hex32, zoom_world};

struct Wire {
    app: TestApp,
    zoom: String,
    cf: String,
    redactor: Redactor,
}

impl Wire {
    async fn start() -> Wire {
        let app = TestApp::spawn().await;
        let (zoom, cf) = (unique("zm"), unique_hex32());
        let redactor = Redactor::new(&app).literal(&zoom, "zoom_account").literal(&cf, "cf_account");
        Wire { app, zoom, cf, redactor }
    }

    fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        self.app.http.request(method, self.app.url(&format!("/_userplane{path}")))
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.bare(method, path).bearer_auth(ADMIN_TOKEN)
    }

    async fn pin(&self, name: &str, request: RequestBuilder) -> Value {
        pin_request(&self.redactor, name, request).await
    }
}

#[tokio::test]
async fn control_plane_successes() {
    let w = Wire::start().await;
    w.pin("control_health", w.bare(Method::GET, "/health")).await;
    w.pin("control_tenant_create_zoom", w.admin(Method::POST, "/tenants").json(&zoom_world(&w.zoom, "pro", "off")))
        .await;
    let cf_world = cloudflare_world(&w.cf);
    let zone: String = w.cf.chars().rev().collect();
    let w = Wire { redactor: w.redactor.literal(&zone, "cf_zone"), ..w };
    w.pin("control_tenant_create_cloudflare", w.admin(Method::POST, "/tenants").json(&cf_world)).await;
    // The list holds every tenant of the database (shared by the suite on PostgreSQL):
    // only this test's are kept.
    let ours = [w.zoom.clone(), w.cf.clone()];
    let list = exchange_with(&w.redactor, w.admin(Method::GET, "/tenants"), |body| {
        if let Some(tenants) = body.get_mut("tenants").and_then(Value::as_array_mut) {
            tenants.retain(|t| ours.iter().any(|a| t["account_id"] == a.as_str()));
        }
    })
    .await;
    assert_eq!(list["body"]["tenants"].as_array().map(Vec::len), Some(2), "{list}");
    pin("control_tenants_list", &list);
    w.pin("control_tenant_get", w.admin(Method::GET, &format!("/tenants/{}", w.zoom))).await;
    let sso = w
        .pin(
            "control_session_sso",
            w.admin(Method::POST, &format!("/tenants/{}/sessions", w.zoom))
                .json(&json!({"user": "lena@example.com", "kind": "sso"})),
        )
        .await;
    assert_eq!(sso["status"], 201, "{sso}");
    let token = w.app.login(&w.zoom, json!({"user": "lena@example.com", "kind": "user_oauth"})).await;
    w.pin(
        "control_session_user_oauth",
        w.admin(Method::POST, &format!("/tenants/{}/sessions", w.zoom))
            .json(&json!({"user": "ben@example.com", "kind": "user_oauth", "scopes": ["user:read"]})),
    )
    .await;
    w.pin(
        "control_session_access",
        w.admin(Method::POST, &format!("/tenants/{}/sessions", w.cf))
            .json(&json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})),
    )
    .await;
    w.pin(
        "control_session_warp",
        w.admin(Method::POST, &format!("/tenants/{}/sessions", w.cf))
            .json(&json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})),
    )
    .await;
    w.pin("control_introspect_active", w.admin(Method::POST, "/introspect").json(&json!({"token": token}))).await;
    w.pin("control_introspect_form", w.admin(Method::POST, "/introspect").form(&[("token", token.as_str())])).await;
    w.pin("control_introspect_unknown", w.admin(Method::POST, "/introspect").json(&json!({"token": "nothing"}))).await;
    w.pin("control_clock_get", w.admin(Method::GET, &format!("/tenants/{}/clock", w.zoom))).await;
    w.pin(
        "control_clock_advance",
        w.admin(Method::POST, &format!("/tenants/{}/clock", w.zoom)).json(&json!({"advance_seconds": 1_209_601})),
    )
    .await;
    w.pin("control_introspect_expired", w.admin(Method::POST, "/introspect").json(&json!({"token": token}))).await;
    w.pin("control_journal", w.admin(Method::GET, &format!("/tenants/{}/journal?limit=3", w.zoom))).await;
    w.pin("control_tenant_reset", w.admin(Method::POST, &format!("/tenants/{}/reset", w.zoom))).await;
    w.pin("control_tenant_delete", w.admin(Method::DELETE, &format!("/tenants/{}", w.cf))).await;
}

#[tokio::test]
async fn control_plane_errors() {
    let w = Wire::start().await;
    w.app.create_tenant(zoom_world(&w.zoom, "pro", "off")).await;
    w.pin("control_error_401_no_token", w.bare(Method::GET, "/tenants")).await;
    w.pin("control_error_401_wrong_token", w.bare(Method::GET, "/tenants").bearer_auth("wrong")).await;
    w.pin("control_error_404_route", w.admin(Method::GET, "/nothing")).await;
    w.pin("control_error_404_root", w.admin(Method::GET, "/")).await;
    w.pin("control_error_405", w.admin(Method::PUT, "/tenants")).await;
    w.pin("control_error_404_tenant", w.admin(Method::GET, "/tenants/nobody")).await;
    w.pin(
        "control_error_409_tenant_exists",
        w.admin(Method::POST, "/tenants").json(&zoom_world(&w.zoom, "pro", "off")),
    )
    .await;
    w.pin(
        "control_error_400_bad_json",
        w.admin(Method::POST, "/tenants").header("content-type", "application/json").body("{"),
    )
    .await;
    w.pin("control_error_400_tenant_document", w.admin(Method::POST, "/tenants").json(&json!({"provider": "myspace"})))
        .await;
    w.pin(
        "control_error_413",
        w.admin(Method::POST, "/tenants").header("content-type", "application/json").body(vec![b' '; 70 * 1024]),
    )
    .await;
    let sessions = format!("/tenants/{}/sessions", w.zoom);
    w.pin("control_error_400_session_fields", w.admin(Method::POST, &sessions).json(&json!({"kind": "sso"}))).await;
    w.pin(
        "control_error_400_session_kind",
        w.admin(Method::POST, &sessions).json(&json!({"user": "lena@example.com", "kind": "warp"})),
    )
    .await;
    w.pin(
        "control_error_404_session_user",
        w.admin(Method::POST, &sessions).json(&json!({"user": "nobody@example.com", "kind": "sso"})),
    )
    .await;
    w.pin(
        "control_error_409_session_refused",
        w.admin(Method::POST, &sessions).json(&json!({"user": "pat@example.com", "kind": "sso"})),
    )
    .await;
    let clock = format!("/tenants/{}/clock", w.zoom);
    w.pin("control_error_400_clock", w.admin(Method::POST, &clock).json(&json!({"advance_seconds": "soon"}))).await;
    w.pin("control_error_400_journal_query", w.admin(Method::GET, &format!("/tenants/{}/journal?limit=%ZZ", w.zoom)))
        .await;
    w.pin("control_error_400_journal_limit", w.admin(Method::GET, &format!("/tenants/{}/journal?limit=x", w.zoom)))
        .await;
    w.pin(
        "control_error_400_introspect_array",
        w.admin(Method::POST, "/introspect").header("content-type", "application/json").body("[1]"),
    )
    .await;
    w.pin("control_error_400_introspect_fields", w.admin(Method::POST, "/introspect").json(&json!({"nothing": 1})))
        .await;
}
