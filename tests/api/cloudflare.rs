//! The Cloudflare dialect: revoke_user and the organization. Shared helpers for the
//! other `cloudflare_*` modules live here too.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::{TestApp, unique_hex32};

/// Permission groups, as Cloudflare names them.
pub const ORG_WRITE: &str = "Access: Organizations, Identity Providers, and Groups Write";
pub const ORG_READ: &str = "Access: Organizations, Identity Providers, and Groups Read";
pub const ORG_REVOKE: &str = "Access: Organizations Revoke";
pub const AUDIT_READ: &str = "Access: Audit Logs Read";
pub const APPS_READ: &str = "Access: Apps and Policies Read";
pub const ZT_READ: &str = "Zero Trust Read";
pub const ZT_WRITE: &str = "Zero Trust Write";

/// The zone of a test account (its id reversed: unique as the account is).
pub fn zone_of(account: &str) -> String {
    account.chars().rev().collect()
}

/// A Cloudflare tenant document: tokens `{account}-admin` (every group used here),
/// `-reader` (read groups), `-revoker` (revoke only), `-none` (an unrelated group),
/// `-disabled`; a global key (`admin@example.com`, key `{account}-key`); an
/// organization; apps Wiki and Grafana; users jdoe (devices jane-laptop, jane-phone),
/// sam (sam-desktop) and kim (none).
pub fn cloudflare_world(account: &str) -> Value {
    cloudflare_world_with(account, "off", &[])
}

/// [`cloudflare_world`] with rate limits `on` / `off` and extra users (email, name).
pub fn cloudflare_world_with(account: &str, rate_limits: &str, extra_users: &[(String, String)]) -> Value {
    let mut users = vec![
        json!({"email": "jdoe@example.com", "name": "Jane Doe"}),
        json!({"email": "sam@example.com", "name": "Sam Smith"}),
        json!({"email": "kim@example.com", "name": "Kim Lee"}),
    ];
    users.extend(extra_users.iter().map(|(email, name)| json!({"email": email, "name": name})));
    json!({
        "provider": "cloudflare",
        "account_id": account,
        "rate_limits": rate_limits,
        "zones": [zone_of(account)],
        "api_tokens": [
            {"value": format!("{account}-admin"),
             "permissions": [ORG_WRITE, AUDIT_READ, APPS_READ, ZT_WRITE]},
            {"value": format!("{account}-reader"), "permissions": [ORG_READ, AUDIT_READ, APPS_READ, ZT_READ]},
            {"value": format!("{account}-revoker"), "permissions": [ORG_REVOKE]},
            {"value": format!("{account}-none"), "permissions": ["Zone Read"]},
            {"value": format!("{account}-disabled"), "permissions": [ORG_WRITE], "status": "disabled"}
        ],
        "global_keys": [{"email": "admin@example.com", "key": format!("{account}-key")}],
        "organization": {"name": "Test Org", "auth_domain": "test.cloudflareaccess.com"},
        "apps": [
            {"name": "Wiki", "domain": "wiki.example.com"},
            {"name": "Grafana", "domain": "grafana.example.com"}
        ],
        "users": users,
        "devices": [
            {"user": "jdoe@example.com", "name": "jane-laptop", "os": "macos"},
            {"user": "jdoe@example.com", "name": "jane-phone", "os": "ios"},
            {"user": "sam@example.com", "name": "sam-desktop", "os": "windows"}
        ]
    })
}

/// How a request authenticates.
#[derive(Clone)]
pub enum Auth {
    None,
    Bearer(String),
    Key(String, String),
    Headers(Vec<(&'static str, String)>),
}

/// A Cloudflare answer.
#[derive(Debug)]
pub struct CfResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl CfResponse {
    /// The codes of `errors`.
    pub fn codes(&self) -> Vec<i64> {
        self.body["errors"].as_array().map_or_else(Vec::new, |e| e.iter().filter_map(|e| e["code"].as_i64()).collect())
    }
    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
    }
    /// Asserts an error answer: status, codes, the envelope's shape.
    pub fn assert_error(&self, status: u16, codes: &[i64]) {
        assert_eq!(self.status, status, "{:?}", self.body);
        assert_eq!(self.codes(), codes, "{:?}", self.body);
        assert_eq!(self.body["success"], false);
        assert_eq!(self.body["result"], Value::Null);
        assert_eq!(self.body["messages"], json!([]));
    }
    /// Asserts a success answer and returns `result`.
    pub fn ok(&self) -> Value {
        assert!((200..300).contains(&self.status), "{} {:?}", self.status, self.body);
        assert_eq!(self.body["success"], true, "{:?}", self.body);
        assert_eq!(self.body["errors"], json!([]));
        self.body["result"].clone()
    }
}

/// A test tenant and a client for it.
pub struct Cf {
    pub app: TestApp,
    pub account: String,
    pub zone: String,
}

impl Cf {
    /// A new server with one tenant from [`cloudflare_world`].
    pub async fn start() -> Cf {
        Self::start_with(cloudflare_world).await
    }

    pub async fn start_with(world: impl FnOnce(&str) -> Value) -> Cf {
        let app = TestApp::spawn().await;
        let account = unique_hex32();
        app.create_tenant(world(&account)).await;
        Cf { app, zone: zone_of(&account), account }
    }

    pub fn token(&self, name: &str) -> Auth {
        Auth::Bearer(format!("{}-{name}", self.account))
    }

    pub fn admin(&self) -> Auth {
        self.token("admin")
    }

    pub fn key(&self) -> Auth {
        Auth::Key("admin@example.com".into(), format!("{}-key", self.account))
    }

    /// `/client/v4/accounts/{account}{rest}`.
    pub fn acct(&self, rest: &str) -> String {
        format!("/accounts/{}{rest}", self.account)
    }

    /// Any request under `/client/v4`; a JSON body is sent as `application/json`.
    pub async fn call(&self, method: Method, path: &str, auth: &Auth, body: Option<Value>) -> CfResponse {
        let mut request = self.app.http.request(method, self.app.url(&format!("/client/v4{path}")));
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Key(email, key) => request.header("X-Auth-Email", email).header("X-Auth-Key", key),
            Auth::Headers(headers) => headers.iter().fold(request, |r, (k, v)| r.header(*k, v)),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> CfResponse {
        self.call(Method::GET, path, auth, None).await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> CfResponse {
        self.call(Method::POST, path, auth, Some(body)).await
    }

    /// revoke_user on the account path.
    pub async fn revoke(&self, auth: &Auth, query: &str, body: Value) -> CfResponse {
        self.post(&self.acct(&format!("/access/organizations/revoke_user{query}")), auth, body).await
    }

    /// A simulated login; returns the token.
    pub async fn login(&self, user: &str, kind: &str, target: &str) -> String {
        let field = if kind == "access" { "app" } else { "device" };
        self.app.login(&self.account, json!({"user": user, "kind": kind, field: target})).await
    }

    /// A user's id, from the users list.
    pub async fn user_id(&self, email: &str) -> String {
        let users = self.get(&self.acct(&format!("/access/users?email={email}")), &self.admin()).await.ok();
        users[0]["id"].as_str().expect("user id").to_owned()
    }

    /// Introspection's `reason` (or "active").
    pub async fn state_of(&self, token: &str) -> String {
        let info = self.app.introspect(token).await;
        if info["active"] == true { "active".into() } else { info["reason"].as_str().unwrap_or("unknown").to_owned() }
    }

    /// The journal's actions.
    pub async fn actions(&self) -> Vec<String> {
        self.app.journal(&self.account).await.iter().map(|e| e["action"].as_str().unwrap_or("").to_owned()).collect()
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> CfResponse {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    CfResponse { status, headers, body }
}

// ---------------------------------------------------------------- revoke_user

#[tokio::test]
async fn revoke_user_ends_every_access_session_of_that_user_only() {
    let cf = Cf::start().await;
    let wiki = cf.login("jdoe@example.com", "access", "Wiki").await;
    let grafana = cf.login("jdoe@example.com", "access", "Grafana").await;
    let warp = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let sam = cf.login("sam@example.com", "access", "Wiki").await;
    // The same person in another account keeps their session.
    let other = unique_hex32();
    cf.app.create_tenant(cloudflare_world(&other)).await;
    let elsewhere = cf.app.login(&other, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await;

    let jdoe = cf.user_id("jdoe@example.com").await;
    let sessions = cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await.ok();
    assert_eq!(sessions.as_array().unwrap().len(), 2);

    let response = cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com"})).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, json!({"result": true, "success": true, "errors": [], "messages": []}));

    assert_eq!(cf.state_of(&wiki).await, "access_revoked");
    assert_eq!(cf.state_of(&grafana).await, "access_revoked");
    let info = cf.app.introspect(&wiki).await;
    assert!(info["revoked_at"].is_string(), "{info}");
    // Without devices or warp_session_reauth, WARP sessions and registrations stay.
    assert_eq!(cf.state_of(&warp).await, "active");
    assert_eq!(cf.state_of(&sam).await, "active");
    assert_eq!(cf.state_of(&elsewhere).await, "active");
    let sessions = cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await.ok();
    assert_eq!(sessions, json!([]));
    let devices = cf.get(&cf.acct("/devices"), &cf.admin()).await.ok();
    assert!(devices.as_array().unwrap().iter().all(|d| d["revoked_at"].is_null()), "{devices}");

    // A new login works and is not affected by the old revocation.
    let again = cf.login("jdoe@example.com", "access", "Wiki").await;
    assert_eq!(cf.state_of(&again).await, "active");

    let journal = cf.app.journal(&cf.account).await;
    let record = journal.iter().find(|e| e["action"] == "access.revoked").expect("journaled");
    assert_eq!(record["target"], jdoe.as_str());
    assert!(record["actor"].as_str().unwrap().starts_with("cf_token:"), "{record}");
}

#[tokio::test]
async fn revoke_user_with_devices_revokes_every_registration_from_the_query_or_the_body() {
    let cf = Cf::start().await;
    let laptop = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let phone = cf.login("jdoe@example.com", "warp", "jane-phone").await;
    let desktop = cf.login("sam@example.com", "warp", "sam-desktop").await;
    // As the SDK sends it for query_devices=True, body_devices=False: true in either place wins.
    let response =
        cf.revoke(&cf.admin(), "?devices=true", json!({"email": "jdoe@example.com", "devices": false})).await;
    assert_eq!(response.ok(), json!(true));
    assert_eq!(cf.state_of(&laptop).await, "device_revoked");
    assert_eq!(cf.state_of(&phone).await, "device_revoked");
    assert_eq!(cf.state_of(&desktop).await, "active");
    let registrations = cf.get(&cf.acct("/devices/registrations?status=all"), &cf.admin()).await.ok();
    for r in registrations.as_array().unwrap() {
        let revoked = r["revoked_at"].is_string();
        assert_eq!(revoked, r["user"]["email"] == "jdoe@example.com", "{r}");
    }
    // A revoked device cannot log in again.
    let refused = cf
        .app
        .admin(
            Method::POST,
            &format!("/tenants/{}/sessions", cf.account),
            Some(json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})),
        )
        .await;
    assert_eq!(refused.status(), 409);

    // The body alone works too.
    let response = cf.revoke(&cf.admin(), "", json!({"email": "sam@example.com", "devices": true})).await;
    assert_eq!(response.ok(), json!(true));
    assert_eq!(cf.state_of(&desktop).await, "device_revoked");
    let journal = cf.app.journal(&cf.account).await;
    let details: Vec<&Value> =
        journal.iter().filter(|e| e["action"] == "access.revoked").map(|e| &e["detail"]).collect();
    assert_eq!(details[0]["devices_revoked"], 2);
    assert_eq!(details[1]["devices_revoked"], 1);
}

#[tokio::test]
async fn revoke_user_without_devices_leaves_registrations_and_false_means_false() {
    let cf = Cf::start().await;
    let laptop = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let response =
        cf.revoke(&cf.admin(), "?devices=false", json!({"email": "jdoe@example.com", "devices": false})).await;
    assert_eq!(response.ok(), json!(true));
    assert_eq!(cf.state_of(&laptop).await, "active");
}

#[tokio::test]
async fn warp_session_reauth_ends_warp_sessions_until_a_new_login() {
    let cf = Cf::start().await;
    let laptop = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let phone = cf.login("jdoe@example.com", "warp", "jane-phone").await;
    let access = cf.login("jdoe@example.com", "access", "Wiki").await;
    let response = cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com", "warp_session_reauth": true})).await;
    assert_eq!(response.ok(), json!(true));
    assert_eq!(cf.state_of(&laptop).await, "warp_reauth_required");
    assert_eq!(cf.state_of(&phone).await, "warp_reauth_required");
    assert_eq!(cf.state_of(&access).await, "access_revoked");
    // The registrations themselves stay: a new WARP login works.
    let registrations = cf.get(&cf.acct("/devices/registrations"), &cf.admin()).await.ok();
    assert_eq!(registrations.as_array().unwrap().len(), 3);
    let fresh = cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    assert_eq!(cf.state_of(&fresh).await, "active");
    assert_eq!(cf.state_of(&laptop).await, "warp_reauth_required");
}

#[tokio::test]
async fn revoke_user_on_a_zone_takes_tokens_and_global_keys() {
    let cf = Cf::start().await;
    let wiki = cf.login("jdoe@example.com", "access", "Wiki").await;
    let path = format!("/zones/{}/access/organizations/revoke_user", cf.zone);
    assert_eq!(cf.post(&path, &cf.admin(), json!({"email": "jdoe@example.com"})).await.ok(), json!(true));
    assert_eq!(cf.state_of(&wiki).await, "access_revoked");
    let sam = cf.login("sam@example.com", "access", "Wiki").await;
    assert_eq!(cf.post(&path, &cf.key(), json!({"email": "sam@example.com"})).await.ok(), json!(true));
    assert_eq!(cf.state_of(&sam).await, "access_revoked");
    let journal = cf.app.journal(&cf.account).await;
    let last = journal.iter().rev().find(|e| e["action"] == "access.revoked").unwrap();
    assert!(last["actor"].as_str().unwrap().starts_with("cf_global_key:"), "{last}");
    // A zone of no account, or of another account: 9109.
    let stranger = format!("/zones/{}/access/organizations/revoke_user", unique_hex32());
    cf.post(&stranger, &cf.admin(), json!({"email": "sam@example.com"})).await.assert_error(403, &[9109]);
}

#[tokio::test]
async fn revoke_user_validates_its_input() {
    let cf = Cf::start().await;
    let wiki = cf.login("jdoe@example.com", "access", "Wiki").await;
    let cases = [
        ("", json!({}), "access.api.error.invalid_request: email is required"),
        ("", json!({"email": null}), "access.api.error.invalid_request: email is required"),
        ("", json!({"email": "not-an-email"}), "access.api.error.invalid_request: email is invalid"),
        ("", json!({"email": 42}), "access.api.error.invalid_request: email must be a string"),
        (
            "",
            json!({"email": "jdoe@example.com", "devices": "yes"}),
            "access.api.error.invalid_request: devices must be a boolean",
        ),
        (
            "",
            json!({"email": "jdoe@example.com", "warp_session_reauth": 1}),
            "access.api.error.invalid_request: warp_session_reauth must be a boolean",
        ),
        (
            "",
            json!({"email": "jdoe@example.com", "user_uid": "nope"}),
            "access.api.error.invalid_request: user_uid is invalid",
        ),
        (
            "?devices=maybe",
            json!({"email": "jdoe@example.com"}),
            "access.api.error.invalid_request: devices must be true or false",
        ),
    ];
    for (query, body, message) in cases {
        let response = cf.revoke(&cf.admin(), query, body.clone()).await;
        response.assert_error(400, &[12130]);
        assert_eq!(response.body["errors"][0]["message"], message, "{body}");
    }
    // A user_uid that names someone else.
    let sam = cf.user_id("sam@example.com").await;
    let response = cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com", "user_uid": sam})).await;
    response.assert_error(400, &[12130]);
    assert_eq!(cf.state_of(&wiki).await, "active");
    // The right one, with or without dashes.
    let jdoe = cf.user_id("jdoe@example.com").await;
    let plain = jdoe.replace('-', "");
    assert_eq!(
        cf.revoke(&cf.admin(), "", json!({"email": "JDoe@Example.com", "user_uid": plain})).await.ok(),
        json!(true)
    );
    assert_eq!(cf.state_of(&wiki).await, "access_revoked");
}

#[tokio::test]
async fn revoke_user_with_an_unknown_email_is_a_404_and_changes_nothing() {
    let cf = Cf::start().await;
    let wiki = cf.login("jdoe@example.com", "access", "Wiki").await;
    let response = cf.revoke(&cf.admin(), "?devices=true", json!({"email": "jdeo@example.com"})).await;
    assert_eq!(response.status, 404);
    assert_eq!(
        response.body,
        json!({"success": false, "errors": [{"code": 12135, "message": "access.api.error.not_found"}],
               "messages": [], "result": null})
    );
    assert_eq!(cf.state_of(&wiki).await, "active");
    assert!(!cf.actions().await.contains(&"access.revoked".to_owned()));
}

#[tokio::test]
async fn revoke_user_costs_one_revocation_whatever_the_number_of_sessions() {
    let cf = Cf::start().await;
    let mut tokens = Vec::new();
    for _ in 0..40 {
        tokens.push(cf.login("jdoe@example.com", "access", "Wiki").await);
    }
    let before = cf.app.journal(&cf.account).await.len();
    let rows_before = crate::helpers::tenant_rows(&cf.app.database_url, &cf.account).await;
    assert!(rows_before["tokens"].len() >= 40);
    assert_eq!(cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com"})).await.ok(), json!(true));
    // One journal record, one epoch: the rows touched, counted in the database, do not
    // grow with the sessions (a row-by-row revocation would touch 40 tokens or more).
    let rows_after = crate::helpers::tenant_rows(&cf.app.database_url, &cf.account).await;
    let touched = crate::helpers::rows_touched(&rows_before, &rows_after);
    let total: usize = touched.values().sum();
    assert!(total <= 4 && !touched.contains_key("tokens"), "rows touched: {touched:?}");
    assert_eq!(cf.app.journal(&cf.account).await.len(), before + 1);
    for token in &tokens {
        assert_eq!(cf.state_of(token).await, "access_revoked");
    }
}

#[tokio::test]
async fn revoke_user_needs_a_write_or_revoke_group() {
    let cf = Cf::start().await;
    let body = json!({"email": "jdoe@example.com"});
    assert_eq!(cf.revoke(&cf.token("revoker"), "", body.clone()).await.ok(), json!(true));
    cf.revoke(&cf.token("reader"), "", body.clone()).await.assert_error(403, &[10000]);
    cf.revoke(&cf.token("none"), "", body.clone()).await.assert_error(403, &[10000]);
    assert_eq!(cf.revoke(&cf.key(), "", body).await.ok(), json!(true));
}

// ---------------------------------------------------------------- organizations

#[tokio::test]
async fn the_organization_is_read_updated_and_created_once() {
    let cf = Cf::start().await;
    let path = cf.acct("/access/organizations");
    let org = cf.get(&path, &cf.admin()).await.ok();
    assert_eq!(org["name"], "Test Org");
    assert_eq!(org["auth_domain"], "test.cloudflareaccess.com");
    assert_eq!(org["session_duration"], "24h");
    assert!(org["created_at"].is_string() && org["updated_at"].is_string());
    // Read groups and the revoke group read it; only Write changes it.
    cf.get(&path, &cf.token("reader")).await.ok();
    cf.get(&path, &cf.token("revoker")).await.ok();
    cf.get(&path, &cf.token("none")).await.assert_error(403, &[10000]);
    let update = json!({"name": "Renamed", "auto_redirect_to_identity": true, "unknown_field": 1});
    cf.call(Method::PUT, &path, &cf.token("reader"), Some(update.clone())).await.assert_error(403, &[10000]);
    let updated = cf.call(Method::PUT, &path, &cf.admin(), Some(update)).await.ok();
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["auto_redirect_to_identity"], true);
    assert_eq!(updated["auth_domain"], "test.cloudflareaccess.com");
    assert!(updated.get("unknown_field").is_none());
    let zone_view = cf.get(&format!("/zones/{}/access/organizations", cf.zone), &cf.admin()).await.ok();
    assert_eq!(zone_view["name"], "Renamed");
    cf.call(Method::PUT, &path, &cf.admin(), Some(json!({"is_ui_read_only": "yes"}))).await.assert_error(400, &[12130]);
    let again = cf.post(&path, &cf.admin(), json!({"name": "X", "auth_domain": "x.cloudflareaccess.com"})).await;
    again.assert_error(409, &[12130]);
    assert!(cf.actions().await.contains(&"setting.updated".to_owned()));
}

#[tokio::test]
async fn an_account_without_an_organization_can_create_one() {
    let cf = Cf::start_with(|account| {
        let mut doc = cloudflare_world(account);
        doc.as_object_mut().unwrap().remove("organization");
        doc
    })
    .await;
    let path = cf.acct("/access/organizations");
    cf.get(&path, &cf.admin()).await.assert_error(404, &[12135]);
    cf.call(Method::PUT, &path, &cf.admin(), Some(json!({"name": "N"}))).await.assert_error(404, &[12135]);
    let missing = cf.post(&path, &cf.admin(), json!({"name": "New Org"})).await;
    missing.assert_error(400, &[12130]);
    assert_eq!(missing.body["errors"][0]["message"], "access.api.error.invalid_request: auth_domain is required");
    cf.post(&path, &cf.admin(), json!({"name": "New Org", "auth_domain": "not a domain"}))
        .await
        .assert_error(400, &[12130]);
    let created =
        cf.post(&path, &cf.admin(), json!({"name": "New Org", "auth_domain": "new.cloudflareaccess.com"})).await;
    assert_eq!(created.status, 201);
    let org = created.ok();
    assert_eq!(org["name"], "New Org");
    assert_eq!(cf.get(&path, &cf.admin()).await.ok()["auth_domain"], "new.cloudflareaccess.com");
}
