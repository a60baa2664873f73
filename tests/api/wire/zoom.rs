//! The Zoom dialect's wire: `/oauth/token` and every `/v2` route, successes and errors.

use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use super::{Redactor, exchange, first_429, pin, pin_request, seconds_header};
use crate::zoom::Zoom;

/// A Zoom tenant, its redactor, and request builders for it.
struct Wire {
    zoom: Zoom,
    redactor: Redactor,
}

impl Wire {
    async fn start() -> Wire {
        Self::start_with("pro", "off").await
    }

    async fn start_with(plan: &str, rate_limits: &str) -> Wire {
        let zoom = Zoom::start_with(plan, rate_limits).await;
        let redactor = Redactor::new(&zoom.app).literal(&zoom.account, "account");
        Wire { zoom, redactor }
    }

    /// A `/v2` request with the admin token.
    fn v2(&self, method: Method, path: &str) -> RequestBuilder {
        self.v2_as(&self.zoom.token, method, path)
    }

    fn v2_as(&self, token: &str, method: Method, path: &str) -> RequestBuilder {
        self.zoom.app.http.request(method, self.zoom.app.url(&format!("/v2{path}"))).bearer_auth(token)
    }

    fn oauth(&self, query: &str) -> RequestBuilder {
        self.zoom.app.http.post(self.zoom.app.url(&format!("/oauth/token{query}")))
    }

    fn grant(&self) -> String {
        format!("?grant_type=account_credentials&account_id={}", self.zoom.account)
    }

    fn admin_client(&self) -> String {
        format!("{}-admin", self.zoom.account)
    }

    async fn pin(&self, name: &str, request: RequestBuilder) -> Value {
        pin_request(&self.redactor, name, request).await
    }
}

#[tokio::test]
async fn oauth_token_answers() {
    let w = Wire::start().await;
    let client = w.admin_client();
    w.pin("zoom_oauth_token", w.oauth(&w.grant()).basic_auth(&client, Some("admin-secret"))).await;
    let form = format!("grant_type=account_credentials&account_id={}", w.zoom.account);
    w.pin(
        "zoom_oauth_token_form_body",
        w.oauth("")
            .basic_auth(&client, Some("admin-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
    )
    .await;
    w.pin(
        "zoom_oauth_unsupported_grant_type",
        w.oauth(&format!("?grant_type=client_credentials&account_id={}", w.zoom.account))
            .basic_auth(&client, Some("admin-secret")),
    )
    .await;
    w.pin("zoom_oauth_no_client_credentials", w.oauth(&w.grant())).await;
    w.pin("zoom_oauth_wrong_secret", w.oauth(&w.grant()).basic_auth(&client, Some("wrong"))).await;
    w.pin(
        "zoom_oauth_missing_account_id",
        w.oauth("?grant_type=account_credentials").basic_auth(&client, Some("admin-secret")),
    )
    .await;
    w.pin(
        "zoom_oauth_other_account_id",
        w.oauth("?grant_type=account_credentials&account_id=elsewhere").basic_auth(&client, Some("admin-secret")),
    )
    .await;
    w.pin(
        "zoom_oauth_body_too_large",
        w.oauth(&w.grant()).basic_auth(&client, Some("admin-secret")).body(vec![b'a'; 70 * 1024]),
    )
    .await;
}

#[tokio::test]
async fn oauth_token_throttles_wrong_secrets() {
    let w = Wire::start().await;
    let client = w.admin_client();
    let mut limited = first_429(&w.redactor, 25, || w.oauth(&w.grant()).basic_auth(&client, Some("wrong"))).await;
    // The throttle's Retry-After counts down with the wall clock.
    seconds_header(&mut limited, "retry-after");
    pin("zoom_oauth_too_many_failures", &limited);
}

#[tokio::test]
async fn users_successes() {
    let w = Wire::start().await;
    let lena = w.zoom.id_of("lena@example.com").await;
    let w = Wire { redactor: w.redactor.literal(&lena, "lena.id"), ..w };
    w.pin("zoom_users_list", w.v2(Method::GET, "/users")).await;
    let first = w.pin("zoom_users_list_page_size_2", w.v2(Method::GET, "/users?page_size=2")).await;
    assert_eq!(first["body"]["next_page_token"], "[next_page_token:1]");
    let (_, body) = w.zoom.call(Method::GET, "/users?page_size=2", None).await;
    let token = body["next_page_token"].as_str().expect("a page token").to_owned();
    w.pin("zoom_users_list_next_page", w.v2(Method::GET, &format!("/users?page_size=2&next_page_token={token}"))).await;
    w.pin("zoom_users_list_page_number", w.v2(Method::GET, "/users?page_size=3&page_number=2&status=active")).await;
    w.pin("zoom_users_list_pending_admins", w.v2(Method::GET, "/users?status=pending&role_id=2")).await;
    w.pin("zoom_users_get", w.v2(Method::GET, "/users/lena@example.com")).await;
    w.pin("zoom_users_get_room", w.v2(Method::GET, "/users/room@example.com")).await;
    w.pin("zoom_users_get_pending", w.v2(Method::GET, "/users/pat@example.com")).await;
    w.pin("zoom_users_email_taken", w.v2(Method::GET, "/users/email?email=lena@example.com")).await;
    w.pin("zoom_users_email_free", w.v2(Method::GET, "/users/email?email=nobody@example.com")).await;
    w.pin("zoom_users_summary", w.v2(Method::GET, "/users/summary")).await;
    for action in ["create", "autoCreate", "custCreate", "ssoCreate"] {
        let user_type = if action == "ssoCreate" { 99 } else { 1 };
        let info = json!({"email": format!("new-{action}@example.com"), "type": user_type,
                          "first_name": "New", "last_name": "User", "password": "long-enough-1"});
        w.pin(
            &format!("zoom_users_create_{action}"),
            w.v2(Method::POST, "/users").json(&json!({"action": action, "user_info": info})),
        )
        .await;
    }
    let patch = json!({"first_name": "Lena", "job_title": "Lead", "type": 2, "pmi": 3_456_789_012_i64,
                       "use_pmi": true, "pronouns_option": 2, "host_key": "123456", "vanity_name": "lena"});
    w.pin("zoom_users_update", w.v2(Method::PATCH, "/users/lena@example.com").json(&patch)).await;
    w.pin("zoom_users_get_after_update", w.v2(Method::GET, "/users/lena@example.com")).await;
    w.pin("zoom_users_delete", w.v2(Method::DELETE, "/users/ben@example.com?action=delete")).await;
    w.pin("zoom_users_disassociate", w.v2(Method::DELETE, "/users/new-create@example.com")).await;
}

#[tokio::test]
async fn sessions_successes() {
    let w = Wire::start().await;
    w.pin("zoom_token_revoke", w.v2(Method::DELETE, "/users/lena@example.com/token")).await;
    w.pin("zoom_token_zak", w.v2(Method::GET, "/users/lena@example.com/token?type=zak")).await;
    w.pin("zoom_token_user_token", w.v2(Method::GET, "/users/lena@example.com/token?ttl=60")).await;
    w.pin("zoom_token_onbehalf", w.v2(Method::GET, "/users/lena@example.com/token?type=onbehalf&meeting_id=1")).await;
    w.pin("zoom_error_4711_zak_scope", w.v2(Method::GET, "/users/me/zak")).await;
    let lena = w.zoom.app.login(&w.zoom.account, json!({"user": "lena@example.com", "kind": "user_oauth"})).await;
    w.pin("zoom_me_zak", w.v2_as(&lena, Method::GET, "/users/me/zak")).await;
    w.pin("zoom_me_get", w.v2_as(&lena, Method::GET, "/users/me")).await;
    let status = |action: &str| json!({"action": action});
    w.pin("zoom_status_deactivate", w.v2(Method::PUT, "/users/lena@example.com/status").json(&status("deactivate")))
        .await;
    w.pin(
        "zoom_status_activate_form",
        w.v2(Method::PUT, "/users/lena@example.com/status").form(&[("action", "activate")]),
    )
    .await;
}

#[tokio::test]
async fn delegates_successes() {
    let w = Wire::start().await;
    let ids = [("lena", w.zoom.id_of("lena@example.com").await), ("alex", w.zoom.id_of("alex@example.com").await)];
    let redactor = ids.iter().fold(w.redactor, |r, (name, id)| r.literal(id, &format!("{name}.id")));
    let w = Wire { redactor, ..w };
    w.pin("zoom_assistants_list", w.v2(Method::GET, "/users/lena@example.com/assistants")).await;
    w.pin("zoom_schedulers_list", w.v2(Method::GET, "/users/alex@example.com/schedulers")).await;
    let add = json!({"assistants": [{"email": "admin@example.com", "can_manage_host_private_event": true}]});
    w.pin("zoom_assistants_add", w.v2(Method::POST, "/users/lena@example.com/assistants").json(&add)).await;
    w.pin("zoom_assistant_delete", w.v2(Method::DELETE, "/users/lena@example.com/assistants/admin@example.com")).await;
    w.pin("zoom_assistants_delete", w.v2(Method::DELETE, "/users/lena@example.com/assistants")).await;
    w.pin("zoom_assistants_list_empty", w.v2(Method::GET, "/users/lena@example.com/assistants")).await;
    w.pin("zoom_scheduler_delete", w.v2(Method::DELETE, "/users/alex@example.com/schedulers/lena@example.com")).await;
    w.pin("zoom_schedulers_delete", w.v2(Method::DELETE, "/users/alex@example.com/schedulers")).await;
}

#[tokio::test]
async fn authentication_and_scope_errors() {
    let w = Wire::start().await;
    let http = &w.zoom.app.http;
    w.pin("zoom_error_124_no_token", http.get(w.zoom.app.url("/v2/users"))).await;
    w.pin("zoom_error_124_unknown_token", w.v2_as("not-a-token", Method::GET, "/users")).await;
    let reader = w.zoom.app_token("reader").await;
    w.pin("zoom_error_4711_admin_scope", w.v2_as(&reader, Method::DELETE, "/users/lena@example.com/token")).await;
    let me = w.zoom.app_token("self").await;
    w.pin("zoom_error_4711_other_user", w.v2_as(&me, Method::GET, "/users/lena@example.com")).await;
    w.pin("zoom_error_4711_me_scope", w.v2_as(&me, Method::GET, "/users/me/zak")).await;
    w.zoom.app.advance_clock(&w.zoom.account, 3_601).await;
    w.pin("zoom_error_124_expired", w.v2(Method::GET, "/users")).await;
}

#[tokio::test]
async fn request_errors() {
    let w = Wire::start().await;
    let owner = w.zoom.id_of("owner@example.com").await;
    let w = Wire { redactor: w.redactor.literal(&owner, "owner.id"), ..w };
    w.pin("zoom_error_1001_user", w.v2(Method::GET, "/users/nobody@example.com")).await;
    w.pin("zoom_error_2300_unknown_path", w.v2(Method::GET, "/users/lena@example.com/nothing")).await;
    w.pin("zoom_error_2300_outside_v2", w.v2(Method::GET, "/nothing")).await;
    w.pin("zoom_error_405", w.v2(Method::PUT, "/users")).await;
    w.pin(
        "zoom_error_413",
        w.v2(Method::POST, "/users").header("content-type", "application/json").body(vec![b' '; 70 * 1024]),
    )
    .await;
    w.pin("zoom_error_415", w.v2(Method::POST, "/users").header("content-type", "text/plain").body("{}")).await;
    w.pin("zoom_error_bad_json", w.v2(Method::POST, "/users").header("content-type", "application/json").body("{"))
        .await;
    w.pin("zoom_error_json_not_object", w.v2(Method::POST, "/users").json(&json!([1]))).await;
    w.pin(
        "zoom_error_bad_form",
        w.v2(Method::PUT, "/users/lena@example.com/status")
            .header("content-type", "multipart/form-data; boundary=x")
            .body("garbage"),
    )
    .await;
    w.pin("zoom_error_300_query", w.v2(Method::GET, "/users?page_size=%ZZ")).await;
    w.pin("zoom_error_300_create_empty", w.v2(Method::POST, "/users").json(&json!({}))).await;
    let long = "x".repeat(65);
    let bad = json!({"action": "create", "user_info": {"email": "bad", "type": 3, "first_name": long, "last_name": 5}});
    w.pin("zoom_error_300_create_fields", w.v2(Method::POST, "/users").json(&bad)).await;
    let weak = json!({"action": "autoCreate", "user_info": {"email": "weak@example.com", "type": 1, "password": "x"}});
    w.pin("zoom_error_300_password", w.v2(Method::POST, "/users").json(&weak)).await;
    let taken = json!({"action": "custCreate", "user_info": {"email": "lena@example.com", "type": 1}});
    w.pin("zoom_error_1005_email_taken", w.v2(Method::POST, "/users").json(&taken)).await;
    for (name, query) in [
        ("status", "status=gone"),
        ("role_id", "role_id=9"),
        ("page_size", "page_size=0"),
        ("page_number", "page_number=0"),
        ("page_token", "next_page_token=garbage"),
    ] {
        w.pin(&format!("zoom_error_300_list_{name}"), w.v2(Method::GET, &format!("/users?{query}"))).await;
    }
    w.pin("zoom_error_300_email_missing", w.v2(Method::GET, "/users/email")).await;
    w.pin("zoom_error_300_email_invalid", w.v2(Method::GET, "/users/email?email=nope")).await;
    let patch = json!({"type": 3, "pmi": 5, "use_pmi": "yes", "host_key": "12", "pronouns_option": 9,
                       "phone_numbers": [1, 2, 3, 4], "first_name": 1});
    w.pin("zoom_error_300_update_fields", w.v2(Method::PATCH, "/users/lena@example.com").json(&patch)).await;
    w.pin("zoom_error_200_room_to_basic", w.v2(Method::PATCH, "/users/room@example.com").json(&json!({"type": 1})))
        .await;
    w.pin("zoom_error_300_events_to_basic", w.v2(Method::PATCH, "/users/eve@example.com").json(&json!({"type": 1})))
        .await;
    w.pin("zoom_error_300_delete_action", w.v2(Method::DELETE, "/users/ben@example.com?action=vanish")).await;
    w.pin("zoom_error_200_delete_owner", w.v2(Method::DELETE, "/users/owner@example.com")).await;
    w.pin("zoom_error_200_delete_room", w.v2(Method::DELETE, "/users/room@example.com")).await;
    w.pin("zoom_error_1117_disassociate_admin", w.v2(Method::DELETE, "/users/admin@example.com")).await;
    w.pin("zoom_error_300_events_transfer", w.v2(Method::DELETE, "/users/eve@example.com")).await;
    w.pin(
        "zoom_error_300_transfer_self",
        w.v2(Method::DELETE, "/users/ben@example.com?transfer_email=ben@example.com"),
    )
    .await;
    w.pin(
        "zoom_error_1001_transfer_unknown",
        w.v2(Method::DELETE, "/users/ben@example.com?transfer_email=nobody@example.com"),
    )
    .await;
}

#[tokio::test]
async fn session_and_delegate_errors() {
    let w = Wire::start().await;
    let status = |action: &str| json!({"action": action});
    let put = |user: &str| w.v2(Method::PUT, &format!("/users/{user}/status"));
    w.pin("zoom_error_300_status_action", put("lena@example.com").json(&status("pause"))).await;
    w.pin("zoom_error_200_status_clock_in", put("lena@example.com").json(&status("clock_in"))).await;
    w.pin("zoom_error_200_status_admin", put("admin@example.com").json(&status("deactivate"))).await;
    w.pin("zoom_error_200_status_pending", put("pat@example.com").json(&status("deactivate"))).await;
    w.pin("zoom_error_300_status_events", put("eve@example.com").json(&status("deactivate"))).await;
    let token = |query: &str| w.v2(Method::GET, &format!("/users/lena@example.com/token{query}"));
    w.pin("zoom_error_300_token_type", token("?type=other")).await;
    w.pin("zoom_error_300_token_ttl", token("?ttl=0")).await;
    w.pin("zoom_error_300_token_meeting_id", token("?type=onbehalf")).await;
    w.pin("zoom_error_200_token_pending", w.v2(Method::GET, "/users/pat@example.com/token?type=zak")).await;
    let add =
        |entries: Value| w.v2(Method::POST, "/users/lena@example.com/assistants").json(&json!({"assistants": entries}));
    w.pin("zoom_error_300_assistants_empty", add(json!([]))).await;
    w.pin("zoom_error_300_assistants_entry", add(json!([{"nothing": 1}]))).await;
    w.pin("zoom_error_200_assistant_unknown", add(json!([{"email": "nobody@example.com"}]))).await;
    w.pin("zoom_error_200_assistant_self", add(json!([{"email": "lena@example.com"}]))).await;
    w.pin("zoom_error_200_assistant_already", add(json!([{"email": "alex@example.com"}]))).await;
    w.pin("zoom_error_200_assistant_basic", add(json!([{"email": "ben@example.com"}]))).await;
    w.pin(
        "zoom_error_200_assistants_of_basic",
        w.v2(Method::POST, "/users/ben@example.com/assistants")
            .json(&json!({"assistants": [{"email": "alex@example.com"}]})),
    )
    .await;
    w.pin("zoom_error_1001_assistant_delete", w.v2(Method::DELETE, "/users/lena@example.com/assistants/nobody")).await;
    w.pin("zoom_error_1001_scheduler_delete", w.v2(Method::DELETE, "/users/alex@example.com/schedulers/nobody")).await;
}

#[tokio::test]
async fn free_plan_errors() {
    let w = Wire::start_with("free", "on").await;
    let add = json!({"assistants": [{"email": "admin@example.com"}]});
    w.pin("zoom_error_200_assistants_free_plan", w.v2(Method::POST, "/users/lena@example.com/assistants").json(&add))
        .await;
    let limited = first_429(&w.redactor, 12, || w.v2(Method::GET, "/users/ben@example.com")).await;
    pin("zoom_error_429_qps", &limited);
    let mut daily = Value::Null;
    for i in 0..60 {
        w.zoom.app.advance_clock(&w.zoom.account, 1).await;
        let info = json!({"email": format!("daily{i}@example.com"), "type": 1});
        daily =
            exchange(&w.redactor, w.v2(Method::POST, "/users").json(&json!({"action": "create", "user_info": info})))
                .await;
        if daily["status"] == 429 {
            break;
        }
    }
    assert_eq!(daily["status"], 429, "{daily}");
    pin("zoom_error_429_daily", &daily);
}
