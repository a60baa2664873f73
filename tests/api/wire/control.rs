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

/// What in a harness answer follows the run (a journal entry's request id and duration,
/// a snapshot's size in each backend's encoding, a fork's new secrets) as placeholders.
fn steady(body: &mut Value) {
    for entry in body.get_mut("requests").and_then(Value::as_array_mut).into_iter().flatten() {
        entry["duration_ms"] = json!("[ms]");
        entry["request_id"] = json!("[request_id]");
    }
    if body.get("next_after").is_some_and(Value::is_i64) {
        body["next_after"] = json!("[seq]");
    }
    for snapshot in body.get_mut("snapshots").and_then(Value::as_array_mut).into_iter().flatten() {
        snapshot["size"] = json!("[bytes]");
    }
    if body.get("size").is_some() {
        body["size"] = json!("[bytes]");
    }
    if let Some(secrets) = body.get_mut("secrets") {
        redact_secrets(secrets);
    }
}

/// A fork's new secrets are random: every string in them becomes `[secret]`.
fn redact_secrets(value: &mut Value) {
    match value {
        Value::String(s) => *s = "[secret]".to_owned(),
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        Value::Object(map) => map.values_mut().for_each(redact_secrets),
        _ => {}
    }
}

impl Wire {
    async fn pin_steady(&self, name: &str, request: RequestBuilder) -> Value {
        let seen = exchange_with(&self.redactor, request, steady).await;
        pin(name, &seen);
        seen
    }
}

/// Fault rules, the request journal, snapshots and forks, the console's users and page.
#[tokio::test]
async fn control_plane_harness_successes() {
    let w = Wire::start().await;
    let copy = unique("zm");
    let w = Wire { redactor: w.redactor.literal(&copy, "fork_account"), ..w };
    w.app.create_tenant(zoom_world(&w.zoom, "pro", "off")).await;
    let tenant = |rest: &str| format!("/tenants/{}{rest}", w.zoom);
    let rule = json!({"match": {"operation": "zoom.users.get", "method": "get", "path": "/v2/users/*"},
        "effect": {"status": 503, "retry_after": 2}, "probability": 0.5, "seed": 7, "times": 3, "after": 1,
        "expires_at": "2030-01-01T00:00:00Z"});
    let created = w.pin("control_fault_create", w.admin(Method::POST, &tenant("/faults")).json(&rule)).await;
    assert_eq!(created["status"], 201, "{created}");
    let latency = json!({"effect": {"latency_ms": {"min": 1, "max": 2}}});
    w.pin("control_fault_create_latency", w.admin(Method::POST, &tenant("/faults")).json(&latency)).await;
    let commit = json!({"match": {"user": "lena@example.com"}, "effect": {"commit_then": {"reset": true}}});
    w.pin("control_fault_create_commit_then", w.admin(Method::POST, &tenant("/faults")).json(&commit)).await;
    let listed = exchange_with(&w.redactor, w.admin(Method::GET, &tenant("/faults")), |_| {}).await;
    assert_eq!(listed["body"]["rules"].as_array().map(Vec::len), Some(3), "{listed}");
    pin("control_faults_list", &listed);
    let rules: Value = w.app.admin(Method::GET, &tenant("/faults"), None).await.json().await.expect("json");
    let first = rules["rules"][0]["id"].as_str().expect("an id").to_owned();
    w.pin("control_fault_delete", w.admin(Method::DELETE, &tenant(&format!("/faults/{first}")))).await;
    w.pin("control_faults_delete_all", w.admin(Method::DELETE, &tenant("/faults"))).await;

    // The request journal: two dialect requests (one refused) to read back.
    let token = crate::zoom::oauth_token(&w.app, &w.zoom, &format!("{}-admin", w.zoom), "admin-secret").await;
    let v2 = |path: &str| w.app.http.get(w.app.url(&format!("/v2{path}"))).bearer_auth(&token);
    assert_eq!(v2("/users/lena@example.com").send().await.expect("answered").status(), 200);
    assert_eq!(v2("/users/nobody@example.com").send().await.expect("answered").status(), 404);
    w.pin_steady("control_requests_list", w.admin(Method::GET, &tenant("/requests?limit=1&path_prefix=/v2/users")))
        .await;
    w.pin_steady("control_requests_filtered", w.admin(Method::GET, &tenant("/requests?status=404&method=get"))).await;
    w.pin("control_requests_count", w.admin(Method::GET, &tenant("/requests/count?operation=zoom.users.get"))).await;

    w.pin("control_users_list", w.admin(Method::GET, &tenant("/users?limit=2"))).await;
    w.pin("control_user_revoke", w.admin(Method::POST, &tenant("/users/lena@example.com/revoke"))).await;
    w.pin("control_user_deactivate", w.admin(Method::POST, &tenant("/users/lena@example.com/deactivate"))).await;
    w.pin("control_user_deactivate_again", w.admin(Method::POST, &tenant("/users/lena@example.com/deactivate"))).await;
    w.pin("control_user_activate", w.admin(Method::POST, &tenant("/users/lena@example.com/activate"))).await;

    w.pin_steady(
        "control_snapshot_create",
        w.admin(Method::POST, &tenant("/snapshots")).json(&json!({"name": "before"})),
    )
    .await;
    w.pin_steady("control_snapshots_list", w.admin(Method::GET, &tenant("/snapshots"))).await;
    w.pin("control_snapshot_restore", w.admin(Method::POST, &tenant("/snapshots/before/restore"))).await;
    w.pin("control_snapshot_delete", w.admin(Method::DELETE, &tenant("/snapshots/before"))).await;
    // An optional body may be `null` (the document allows it): a reset without rotation.
    let reset = w
        .pin(
            "control_tenant_reset_null_body",
            w.admin(Method::POST, &tenant("/reset")).header("content-type", "application/json").body("null"),
        )
        .await;
    assert_eq!(reset["status"], 200, "{reset}");
    w.pin_steady("control_fork", w.admin(Method::POST, &tenant("/fork")).json(&json!({"account_id": copy}))).await;

    // The console's page and assets: public, typed, with their security headers (the
    // bodies are the files themselves, pinned by their own tests).
    for (name, path) in [
        ("control_console_page", "/console"),
        ("control_console_css", "/console/console.css"),
        ("control_console_js", "/console/console.js"),
    ] {
        let response = w.bare(Method::GET, path).send().await.expect("answered");
        let mut headers = serde_json::Map::new();
        for header in [
            "content-type",
            "cache-control",
            "content-security-policy",
            "x-content-type-options",
            "x-frame-options",
            "referrer-policy",
        ] {
            headers.insert(header.to_owned(), json!(response.headers()[header].to_str().expect("visible")));
        }
        pin(name, &json!({"status": response.status().as_u16(), "headers": headers}));
    }
}

#[tokio::test]
async fn control_plane_harness_errors() {
    let w = Wire::start().await;
    w.app.create_tenant(zoom_world(&w.zoom, "pro", "off")).await;
    let tenant = |rest: &str| format!("/tenants/{}{rest}", w.zoom);
    let faults = tenant("/faults");
    let bad_rules = [
        ("control_error_400_fault_effect_missing", json!({})),
        ("control_error_400_fault_unknown_field", json!({"effect": {"status": 503}, "often": true})),
        ("control_error_400_fault_status_range", json!({"effect": {"status": 200}})),
        ("control_error_400_fault_effect_shape", json!({"effect": {"explode": true}})),
        ("control_error_400_fault_latency_bounds", json!({"effect": {"latency_ms": {"min": 5, "max": 1}}})),
        ("control_error_400_fault_probability", json!({"effect": {"reset": true}, "probability": 2})),
        (
            "control_error_400_fault_operation",
            json!({"match": {"operation": "cloudflare.access.revoke_user"},
            "effect": {"empty": true}}),
        ),
        ("control_error_400_fault_method", json!({"match": {"method": "TRACE"}, "effect": {"empty": true}})),
        ("control_error_400_fault_expires_at", json!({"effect": {"hang_ms": 5}, "expires_at": "tomorrow"})),
    ];
    for (name, rule) in bad_rules {
        let seen = w.pin(name, w.admin(Method::POST, &faults).json(&rule)).await;
        assert_eq!(seen["status"], 400, "{name}: {seen}");
    }
    w.pin("control_error_400_fault_not_object", w.admin(Method::POST, &faults).json(&json!([1]))).await;
    w.pin("control_error_404_fault_tenant", w.admin(Method::GET, "/tenants/nobody/faults")).await;
    w.pin("control_error_404_fault_rule", w.admin(Method::DELETE, &tenant("/faults/flt_nothing"))).await;
    w.pin("control_error_401_faults", w.bare(Method::GET, &faults)).await;

    for (name, query) in [
        ("control_error_400_requests_unknown", "?colour=red"),
        ("control_error_400_requests_limit", "?limit=0"),
        ("control_error_400_requests_status", "?status=99"),
        ("control_error_400_requests_since", "?since=yesterday"),
        ("control_error_400_requests_after", "?after=-1"),
        ("control_error_400_requests_query", "?limit=%ZZ"),
    ] {
        w.pin(name, w.admin(Method::GET, &tenant(&format!("/requests{query}")))).await;
    }
    w.pin("control_error_400_requests_count_limit", w.admin(Method::GET, &tenant("/requests/count?limit=1001"))).await;
    w.pin("control_error_404_requests_tenant", w.admin(Method::GET, "/tenants/nobody/requests")).await;

    w.pin("control_error_400_users_limit", w.admin(Method::GET, &tenant("/users?limit=101"))).await;
    w.pin("control_error_400_users_after", w.admin(Method::GET, &tenant("/users?after=somewhere"))).await;
    w.pin("control_error_404_users_tenant", w.admin(Method::GET, "/tenants/nobody/users")).await;
    w.pin("control_error_404_user", w.admin(Method::POST, &tenant("/users/nobody@example.com/revoke"))).await;
    w.pin("control_error_404_user_action", w.admin(Method::POST, &tenant("/users/lena@example.com/promote"))).await;
    w.pin("control_error_409_user_pending", w.admin(Method::POST, &tenant("/users/pat@example.com/activate"))).await;

    let snapshots = tenant("/snapshots");
    w.pin("control_error_400_snapshot_name", w.admin(Method::POST, &snapshots).json(&json!({"name": "../up"}))).await;
    w.pin(
        "control_error_400_snapshot_null_body",
        w.admin(Method::POST, &snapshots).header("content-type", "application/json").body("null"),
    )
    .await;
    w.pin("control_error_400_snapshot_fields", w.admin(Method::POST, &snapshots).json(&json!({"label": "x"}))).await;
    assert_eq!(w.app.admin(Method::POST, &snapshots, Some(json!({"name": "once"}))).await.status(), 201);
    w.pin("control_error_409_snapshot_exists", w.admin(Method::POST, &snapshots).json(&json!({"name": "once"}))).await;
    w.pin("control_error_404_snapshot_restore", w.admin(Method::POST, &tenant("/snapshots/never/restore"))).await;
    w.pin("control_error_404_snapshot_delete", w.admin(Method::DELETE, &tenant("/snapshots/never"))).await;
    w.pin("control_error_404_snapshots_tenant", w.admin(Method::GET, "/tenants/nobody/snapshots")).await;
    w.pin("control_error_400_fork_fields", w.admin(Method::POST, &tenant("/fork")).json(&json!({}))).await;
    w.pin(
        "control_error_409_fork_exists",
        w.admin(Method::POST, &tenant("/fork")).json(&json!({"account_id": w.zoom})),
    )
    .await;
    w.pin(
        "control_error_404_fork_tenant",
        w.admin(Method::POST, "/tenants/nobody/fork").json(&json!({"account_id": "x"})),
    )
    .await;
    w.pin("control_error_404_console_file", w.bare(Method::GET, "/console/secrets.txt")).await;
}
