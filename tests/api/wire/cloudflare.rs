//! The Cloudflare dialect's wire: every `/client/v4` route's success envelope (with
//! `result_info` on collections), and each error of the credential ladder, the routing
//! and the requests themselves.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::{Redactor, exchange_sorted, first_429, pin, pin_request, seconds_header};
use crate::cloudflare::{Cf, cloudflare_world_with};

struct Wire {
    cf: Cf,
    redactor: Redactor,
}

impl Wire {
    async fn start() -> Wire {
        Self::start_with("off").await
    }

    async fn start_with(rate_limits: &str) -> Wire {
        let cf = Cf::start_with(|account| cloudflare_world_with(account, rate_limits, &[])).await;
        let redactor = Redactor::new(&cf.app).literal(&cf.account, "account").literal(&cf.zone, "zone");
        Wire { cf, redactor }
    }

    /// A `/client/v4` request with no credentials.
    fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        self.cf.app.http.request(method, self.cf.app.url(&format!("/client/v4{path}")))
    }

    /// With the token `{account}-{name}`.
    fn token(&self, name: &str, method: Method, path: &str) -> RequestBuilder {
        self.bare(method, path).bearer_auth(format!("{}-{name}", self.cf.account))
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.token("admin", method, path)
    }

    /// With the global key.
    fn key(&self, method: Method, path: &str) -> RequestBuilder {
        self.bare(method, path)
            .header("X-Auth-Email", "admin@example.com")
            .header("X-Auth-Key", format!("{}-key", self.cf.account))
    }

    fn acct(&self, rest: &str) -> String {
        self.cf.acct(rest)
    }

    fn zone(&self, rest: &str) -> String {
        format!("/zones/{}{rest}", self.cf.zone)
    }

    async fn pin(&self, name: &str, request: RequestBuilder) -> Value {
        pin_request(&self.redactor, name, request).await
    }
}

#[tokio::test]
async fn access_successes() {
    let w = Wire::start().await;
    w.cf.login("jdoe@example.com", "access", "Wiki").await;
    w.cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let jdoe = w.cf.user_id("jdoe@example.com").await;
    let base = w.acct(&format!("/access/users/{jdoe}"));
    let user = |rest: &str| format!("{base}{rest}");
    w.pin("cf_users_list", w.admin(Method::GET, &w.acct("/access/users"))).await;
    w.pin("cf_users_list_page", w.admin(Method::GET, &w.acct("/access/users?page=2&per_page=1&search=example"))).await;
    w.pin("cf_users_list_past_the_end", w.admin(Method::GET, &w.acct("/access/users?page=9&per_page=1"))).await;
    let sessions = w.pin("cf_users_active_sessions", w.admin(Method::GET, &user("/active_sessions"))).await;
    assert_eq!(sessions["status"], 200, "{sessions}");
    let (_, body) = {
        let seen = crate::cloudflare::send(w.admin(Method::GET, &user("/active_sessions"))).await;
        (seen.status, seen.body)
    };
    let nonce = body["result"][0]["metadata"]["nonce"].as_str().expect("a nonce").to_owned();
    let w = Wire { redactor: w.redactor.literal(&nonce, "nonce"), ..w };
    w.pin("cf_users_active_session", w.admin(Method::GET, &user(&format!("/active_sessions/{nonce}")))).await;
    w.pin("cf_users_last_seen_identity", w.admin(Method::GET, &user("/last_seen_identity"))).await;
    w.pin("cf_users_failed_logins_none", w.admin(Method::GET, &user("/failed_logins"))).await;
    w.pin("cf_apps_list", w.admin(Method::GET, &w.acct("/access/apps"))).await;
    w.pin("cf_apps_list_zone", w.admin(Method::GET, &w.zone("/access/apps?name=wiki"))).await;
    w.pin("cf_apps_list_exact", w.admin(Method::GET, &w.acct("/access/apps?exact=true&name=Wiki&page=1&per_page=5")))
        .await;
    w.pin("cf_organization_get", w.admin(Method::GET, &w.acct("/access/organizations"))).await;
    w.pin("cf_organization_get_zone", w.key(Method::GET, &w.zone("/access/organizations"))).await;
    let update = json!({"name": "Renamed", "is_ui_read_only": true, "login_design": {"text_color": "#000"}});
    w.pin("cf_organization_update", w.admin(Method::PUT, &w.acct("/access/organizations")).json(&update)).await;
    w.pin(
        "cf_revoke_user",
        w.admin(Method::POST, &w.acct("/access/organizations/revoke_user")).json(&json!({"email": "sam@example.com"})),
    )
    .await;
    let all = json!({"email": "jdoe@example.com", "devices": true, "warp_session_reauth": true, "user_uid": jdoe});
    w.pin("cf_revoke_user_everything", w.key(Method::POST, &w.zone("/access/organizations/revoke_user")).json(&all))
        .await;
    let refused =
        w.cf.app
            .admin(
                Method::POST,
                &format!("/tenants/{}/sessions", w.cf.account),
                Some(json!({"user": "jdoe@example.com", "kind": "warp", "device": "jane-laptop"})),
            )
            .await;
    assert_eq!(refused.status(), 409);
    w.pin("cf_users_failed_logins", w.admin(Method::GET, &user("/failed_logins"))).await;
}

#[tokio::test]
async fn organization_create() {
    let cf = Cf::start_with(|account| {
        let mut world = cloudflare_world_with(account, "off", &[]);
        world.as_object_mut().expect("a document").remove("organization");
        world
    })
    .await;
    let redactor = Redactor::new(&cf.app).literal(&cf.account, "account").literal(&cf.zone, "zone");
    let w = Wire { cf, redactor };
    w.pin("cf_error_12135_no_organization", w.admin(Method::GET, &w.acct("/access/organizations"))).await;
    w.pin(
        "cf_error_12135_update_no_organization",
        w.admin(Method::PUT, &w.acct("/access/organizations")).json(&json!({"name": "X"})),
    )
    .await;
    w.pin(
        "cf_error_12130_create_required",
        w.admin(Method::POST, &w.acct("/access/organizations")).json(&json!({"name": "X"})),
    )
    .await;
    let create = json!({"name": "New Org", "auth_domain": "new.cloudflareaccess.com"});
    w.pin("cf_organization_create", w.admin(Method::POST, &w.acct("/access/organizations")).json(&create)).await;
    w.pin("cf_error_409_organization_exists", w.admin(Method::POST, &w.acct("/access/organizations")).json(&create))
        .await;
}

#[tokio::test]
async fn device_successes() {
    let w = Wire::start().await;
    w.cf.login("jdoe@example.com", "warp", "jane-laptop").await;
    let legacy = crate::cloudflare::send(w.admin(Method::GET, &w.acct("/devices"))).await.body;
    let laptop = legacy["result"].as_array().expect("devices").iter().find(|d| d["name"] == "jane-laptop");
    let registration = laptop.and_then(|d| d["id"].as_str()).expect("jane-laptop's registration").to_owned();
    let full =
        crate::cloudflare::send(w.admin(Method::GET, &w.acct(&format!("/devices/registrations/{registration}"))))
            .await
            .body;
    let device = full["result"]["device"]["id"].as_str().expect("a device id").to_owned();
    let w = Wire { redactor: w.redactor.literal(&registration, "registration").literal(&device, "device"), ..w };
    // Seeded registrations share a creation time: their order follows their random ids.
    let list = exchange_sorted(&w.redactor, w.admin(Method::GET, &w.acct("/devices")), "name").await;
    pin("cf_devices_legacy_list", &list);
    w.pin("cf_devices_legacy_get", w.key(Method::GET, &w.acct(&format!("/devices/{registration}")))).await;
    w.pin(
        "cf_devices_physical_list",
        w.admin(Method::GET, &w.acct("/devices/physical-devices?per_page=1&sort_by=name")),
    )
    .await;
    w.pin(
        "cf_devices_physical_list_all",
        w.admin(
            Method::GET,
            &w.acct("/devices/physical-devices?active_registrations=include&sort_by=name&sort_order=desc"),
        ),
    )
    .await;
    w.pin("cf_devices_physical_get", w.admin(Method::GET, &w.acct(&format!("/devices/physical-devices/{device}"))))
        .await;
    w.pin(
        "cf_devices_registrations_list",
        w.admin(Method::GET, &w.acct("/devices/registrations?sort_by=user.email&sort_order=desc&per_page=1")),
    )
    .await;
    w.pin(
        "cf_devices_registration_get",
        w.admin(Method::GET, &w.acct(&format!("/devices/registrations/{registration}"))),
    )
    .await;
    w.pin(
        "cf_devices_registrations_revoke",
        w.admin(Method::POST, &w.acct(&format!("/devices/registrations/revoke?id={registration}"))),
    )
    .await;
    w.pin(
        "cf_devices_registrations_unrevoke",
        w.admin(Method::POST, &w.acct(&format!("/devices/registrations/unrevoke?id={registration}"))),
    )
    .await;
    w.pin("cf_devices_legacy_revoke", w.key(Method::POST, &w.acct("/devices/revoke")).json(&json!([registration])))
        .await;
    w.pin("cf_devices_legacy_unrevoke", w.key(Method::POST, &w.acct("/devices/unrevoke")).json(&json!([registration])))
        .await;
    w.pin(
        "cf_devices_physical_revoke",
        w.admin(Method::POST, &w.acct(&format!("/devices/physical-devices/{device}/revoke"))),
    )
    .await;
    w.pin("cf_devices_registrations_revoked", w.admin(Method::GET, &w.acct("/devices/registrations?status=revoked")))
        .await;
}

#[tokio::test]
async fn token_verification() {
    let w = Wire::start().await;
    w.pin("cf_verify_user_token", w.admin(Method::GET, "/user/tokens/verify")).await;
    w.pin("cf_verify_account_token", w.admin(Method::GET, &w.acct("/tokens/verify"))).await;
    w.pin("cf_verify_disabled_token", w.token("disabled", Method::GET, "/user/tokens/verify")).await;
    w.pin("cf_error_1000_verify_unknown", w.bare(Method::GET, "/user/tokens/verify").bearer_auth("unknown-token"))
        .await;
    w.pin("cf_error_10001_verify_global_key", w.key(Method::GET, "/user/tokens/verify")).await;
}

#[tokio::test]
async fn credential_errors() {
    let w = Wire::start().await;
    let users = w.acct("/access/users");
    w.pin("cf_error_9106_no_credentials", w.bare(Method::GET, &users)).await;
    w.pin("cf_error_9106_half_a_key", w.bare(Method::GET, &users).header("X-Auth-Email", "admin@example.com")).await;
    w.pin("cf_error_6003_authorization", w.bare(Method::GET, &users).header("Authorization", "Basic abc")).await;
    w.pin(
        "cf_error_6003_key_headers",
        w.bare(Method::GET, &users).header("X-Auth-Email", "not-an-email").header("X-Auth-Key", " "),
    )
    .await;
    w.pin(
        "cf_error_9103_unknown_key",
        w.bare(Method::GET, &users).header("X-Auth-Email", "admin@example.com").header("X-Auth-Key", "wrong"),
    )
    .await;
    w.pin("cf_error_9109_unknown_token", w.bare(Method::GET, &users).bearer_auth("unknown-token")).await;
    w.pin("cf_error_9109_disabled_token", w.token("disabled", Method::GET, &users)).await;
    let other = "0123456789abcdef0123456789abcdef";
    w.pin("cf_error_9109_other_account", w.admin(Method::GET, &format!("/accounts/{other}/access/users"))).await;
    w.pin("cf_error_9109_other_zone", w.admin(Method::GET, &format!("/zones/{other}/access/apps"))).await;
    w.pin("cf_error_10000_permission", w.token("none", Method::GET, &users)).await;
    w.pin("cf_error_10000_revoker_reads", w.token("revoker", Method::GET, &users)).await;
    w.pin("cf_error_10001_global_key_token_only", w.key(Method::GET, &w.acct("/devices/registrations"))).await;
}

#[tokio::test]
async fn routing_and_body_errors() {
    let w = Wire::start().await;
    w.pin("cf_error_7003_unknown_route", w.admin(Method::GET, &w.acct("/nothing"))).await;
    w.pin("cf_error_7003_bad_account_id", w.admin(Method::GET, "/accounts/not-hex/access/users")).await;
    w.pin("cf_error_7003_bad_user_id", w.admin(Method::GET, &w.acct("/access/users/not-a-uuid/active_sessions"))).await;
    w.pin("cf_error_7003_root", w.bare(Method::GET, "/")).await;
    w.pin("cf_error_7001_method", w.admin(Method::DELETE, &w.acct("/access/users"))).await;
    let revoke = w.acct("/access/organizations/revoke_user");
    let raw = |content_type: &str, body: &'static str| {
        w.admin(Method::POST, &revoke).header("content-type", content_type).body(body)
    };
    w.pin("cf_error_6007_bad_json", raw("application/json", "{")).await;
    w.pin("cf_error_6007_not_an_object", raw("application/json", "[]")).await;
    w.pin("cf_error_9207_content_type", raw("text/plain", "{}")).await;
    w.pin(
        "cf_error_413",
        w.admin(Method::POST, &revoke).header("content-type", "application/json").body(vec![b' '; 70 * 1024]),
    )
    .await;
    for (name, body) in [
        ("email_required", json!({})),
        ("email_invalid", json!({"email": "nope"})),
        ("email_type", json!({"email": 5})),
        ("devices_type", json!({"email": "jdoe@example.com", "devices": "yes"})),
        ("user_uid_invalid", json!({"email": "jdoe@example.com", "user_uid": "x"})),
        ("user_uid_type", json!({"email": "jdoe@example.com", "user_uid": 1})),
    ] {
        w.pin(&format!("cf_error_12130_revoke_{name}"), w.admin(Method::POST, &revoke).json(&body)).await;
    }
    w.pin(
        "cf_error_12130_revoke_devices_query",
        w.admin(Method::POST, &format!("{revoke}?devices=maybe")).json(&json!({"email": "jdoe@example.com"})),
    )
    .await;
    w.pin(
        "cf_error_12135_revoke_unknown_email",
        w.admin(Method::POST, &revoke).json(&json!({"email": "nobody@example.com"})),
    )
    .await;
    let org = w.acct("/access/organizations");
    w.pin("cf_error_12130_organization_type", w.admin(Method::PUT, &org).json(&json!({"name": 5}))).await;
    w.pin("cf_error_12130_organization_object", w.admin(Method::PUT, &org).json(&json!({"login_design": 5}))).await;
    w.pin("cf_error_12130_organization_empty", w.admin(Method::PUT, &org).json(&json!({"name": " "}))).await;
    w.pin("cf_error_12130_organization_domain", w.admin(Method::PUT, &org).json(&json!({"auth_domain": "no_dots"})))
        .await;
}

#[tokio::test]
async fn query_and_lookup_errors() {
    let w = Wire::start().await;
    for (name, path) in [
        ("malformed_query", w.acct("/access/users?page=%ZZ")),
        ("page", w.acct("/access/users?page=0")),
        ("per_page", w.acct("/access/users?per_page=1001")),
        ("apps_page", w.acct("/access/apps?page=x")),
        ("apps_exact", w.acct("/access/apps?exact=maybe")),
        ("physical_sort_by", w.acct("/devices/physical-devices?sort_by=colour")),
        ("physical_active", w.acct("/devices/physical-devices?active_registrations=some")),
        ("registrations_status", w.acct("/devices/registrations?status=gone")),
        ("registrations_cursor", w.acct("/devices/registrations?cursor=garbage")),
        ("registrations_seen_after", w.acct("/devices/registrations?seen_after=yesterday")),
        ("registrations_sort_order", w.acct("/devices/registrations?sort_order=up")),
    ] {
        w.pin(&format!("cf_error_12130_{name}"), w.admin(Method::GET, &path)).await;
    }
    w.pin("cf_error_12130_revoke_no_ids", w.admin(Method::POST, &w.acct("/devices/registrations/revoke"))).await;
    let legacy = w.acct("/devices/revoke");
    w.pin("cf_error_12130_legacy_not_array", w.admin(Method::POST, &legacy).json(&json!({"id": "x"}))).await;
    w.pin("cf_error_12130_legacy_empty", w.admin(Method::POST, &legacy).json(&json!([]))).await;
    w.pin("cf_error_12130_legacy_not_strings", w.admin(Method::POST, &legacy).json(&json!([1]))).await;
    w.pin(
        "cf_error_9207_legacy_content_type",
        w.admin(Method::POST, &legacy).header("content-type", "text/plain").body("[]"),
    )
    .await;
    w.pin("cf_error_12135_legacy_unknown", w.admin(Method::POST, &legacy).json(&json!(["nothing"]))).await;
    let missing = "0123456789abcdef0123456789abcdef";
    for (name, path) in [
        ("user", w.acct(&format!("/access/users/{missing}/active_sessions"))),
        ("device", w.acct("/devices/nothing")),
        ("physical", w.acct("/devices/physical-devices/nothing")),
        ("physical_revoke", w.acct("/devices/physical-devices/nothing/revoke")),
        ("registration", w.acct("/devices/registrations/nothing")),
    ] {
        let method = if name.ends_with("revoke") { Method::POST } else { Method::GET };
        w.pin(&format!("cf_error_12135_{name}"), w.admin(method, &path)).await;
    }
    let jdoe = w.cf.user_id("jdoe@example.com").await;
    let user = |rest: &str| w.acct(&format!("/access/users/{jdoe}{rest}"));
    w.pin("cf_error_12135_session_nonce", w.admin(Method::GET, &user("/active_sessions/nothing"))).await;
    w.pin("cf_error_12135_never_seen", w.admin(Method::GET, &user("/last_seen_identity"))).await;
}

#[tokio::test]
async fn rate_limit_errors() {
    let w = Wire::start_with("on").await;
    w.pin("cf_rate_limited_success_headers", w.admin(Method::GET, "/user/tokens/verify")).await;
    // 1200 per 300 s: the rest of the window, then one more.
    let mut limited = first_429(&w.redactor, 1200, || w.admin(Method::GET, "/user/tokens/verify")).await;
    seconds_header(&mut limited, "retry-after");
    pin("cf_error_971_rate_limited", &limited);
}

#[tokio::test]
async fn failed_authentication_throttle() {
    let w = Wire::start().await;
    let unknown = || w.bare(Method::GET, &w.acct("/access/users")).bearer_auth("unknown-token");
    let mut limited = first_429(&w.redactor, 25, unknown).await;
    seconds_header(&mut limited, "retry-after");
    pin("cf_error_971_failed_authentication", &limited);
}
