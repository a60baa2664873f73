//! The request journal (issue 10) over a real socket: what an entry holds, the filters
//! and their range checks, the ring bound, a reset, a restart.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use userplane::config::ServeConfig;

use crate::cloudflare::Cf;
use crate::helpers::{ADMIN_TOKEN, TestApp, test_database, unique, zoom_world};
use crate::zoom::{Zoom, oauth_token};

async fn journal(app: &TestApp, account: &str, query: &str) -> Value {
    let response = app.admin(Method::GET, &format!("/tenants/{account}/requests?{query}"), None).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{query}: {body}");
    body
}

async fn count(app: &TestApp, account: &str, query: &str) -> u64 {
    let response = app.admin(Method::GET, &format!("/tenants/{account}/requests/count?{query}"), None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["count"].as_u64().expect("count")
}

#[tokio::test]
async fn each_zoom_request_is_journaled_with_its_id_credential_and_error_code() {
    let zoom = Zoom::start().await;
    let response = zoom
        .app
        .http
        .get(zoom.app.url("/v2/users?page_size=2&status=active"))
        .bearer_auth(&zoom.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tracking = response.headers()["x-zm-trackingid"].to_str().unwrap().to_owned();
    let (status, _) = zoom.call(Method::GET, "/users/nobody@example.com", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body = journal(&zoom.app, &zoom.account, "").await;
    let entries = body["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    let list = &entries[0];
    assert!(tracking.ends_with(&format!("rid={}", list["request_id"].as_str().unwrap())), "{tracking} {list}");
    assert_eq!(list["method"], "GET");
    assert_eq!(list["path"], "/v2/users");
    assert_eq!(list["query"], "page_size=2&status=active");
    assert_eq!(list["operation"], "zoom.users.list");
    assert_eq!(list["credential_id"], format!("{}-admin", zoom.account));
    assert_eq!((&list["status"], &list["error_code"], &list["fault"]), (&json!(200), &Value::Null, &Value::Null));
    assert!(list["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(list["at"].as_str().unwrap().ends_with('Z') && list["wall_at"].as_str().unwrap().ends_with('Z'));
    let missing = &entries[1];
    assert_eq!((&missing["status"], &missing["error_code"]), (&json!(404), &json!("1001")));
    assert_eq!(missing["operation"], "zoom.users.get");
    assert_eq!(missing["user"], "nobody@example.com");
    // The secret is nowhere in the journal.
    assert!(!body.to_string().contains("admin-secret") && !body.to_string().contains(&zoom.token));
    // The audit journal is another thing: reads are not in it.
    assert!(zoom.app.journal(&zoom.account).await.iter().all(|e| e["action"] != "zoom.users.list"));
}

#[tokio::test]
async fn filters_select_and_count_and_pages_follow_after() {
    let zoom = Zoom::start().await;
    for email in ["ben@example.com", "lena@example.com", "nobody@example.com"] {
        zoom.call(Method::GET, &format!("/users/{email}"), None).await;
    }
    let (status, _) =
        zoom.call(Method::PUT, "/users/ben@example.com/status", Some(json!({"action": "deactivate"}))).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let account = &zoom.account;
    assert_eq!(count(&zoom.app, account, "").await, 4);
    assert_eq!(count(&zoom.app, account, "operation=zoom.users.get").await, 3);
    assert_eq!(count(&zoom.app, account, "method=put").await, 1);
    assert_eq!(count(&zoom.app, account, "status=404").await, 1);
    assert_eq!(count(&zoom.app, account, "path_prefix=/v2/users/ben").await, 2);
    assert_eq!(count(&zoom.app, account, "user=BEN@example.com").await, 2);
    assert_eq!(count(&zoom.app, account, "since=2000-01-01T00:00:00Z").await, 4);
    assert_eq!(count(&zoom.app, account, "since=2999-01-01T00:00:00Z").await, 0);
    let first = journal(&zoom.app, account, "limit=3").await;
    assert_eq!(first["requests"].as_array().unwrap().len(), 3);
    let after = first["next_after"].as_i64().expect("a full page has a next");
    let rest = journal(&zoom.app, account, &format!("after={after}&limit=3")).await;
    let rest = rest["requests"].as_array().unwrap();
    assert_eq!((rest.len(), &rest[0]["method"]), (1, &json!("PUT")));
    for bad in ["status=99", "status=abc", "limit=0", "limit=1001", "after=-1", "since=yesterday", "colour=red"] {
        let response = zoom.app.admin(Method::GET, &format!("/tenants/{account}/requests?{bad}"), None).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!((status.as_u16(), &body["error"]["code"]), (400, &json!("invalid_request")), "{bad}: {body}");
    }
    let missing = zoom.app.admin(Method::GET, "/tenants/nope/requests", None).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_percent_encoded_user_is_journaled_as_the_handler_reads_it() {
    let zoom = Zoom::start().await;
    let (status, body) = zoom.call(Method::GET, "/users/ben%40example.com", None).await;
    assert_eq!((status, &body["email"]), (StatusCode::OK, &json!("ben@example.com")), "{body}");
    let (status, body) = zoom.call(Method::GET, "/users/nobody%40example.com", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["message"], "User does not exist: nobody@example.com.");
    let body = journal(&zoom.app, &zoom.account, "").await;
    let users: Vec<&Value> = body["requests"].as_array().unwrap().iter().map(|e| &e["user"]).collect();
    assert_eq!(users, [&json!("ben@example.com"), &json!("nobody@example.com")], "{body}");
    assert_eq!(count(&zoom.app, &zoom.account, "user=nobody@example.com").await, 1);
}

#[tokio::test]
async fn cloudflare_requests_name_the_credential_and_cloudflares_code() {
    let cf = Cf::start().await;
    cf.get(&cf.acct("/access/users"), &cf.admin()).await.ok();
    cf.get(&cf.acct("/access/apps"), &cf.token("none")).await.assert_error(403, &[10000]);
    let body = journal(&cf.app, &cf.account, "").await;
    let entries = body["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{body}");
    assert_eq!(entries[0]["operation"], "cloudflare.access.users.list");
    assert!(entries[0]["credential_id"].is_string());
    assert_ne!(entries[0]["credential_id"], entries[1]["credential_id"]);
    assert_eq!((&entries[1]["status"], &entries[1]["error_code"]), (&json!(403), &json!("10000")));
    assert!(!body.to_string().contains(&format!("{}-admin", cf.account)), "no token in the journal");
}

#[tokio::test]
async fn a_reset_clears_the_journal_and_a_restart_keeps_it() {
    let mut app = TestApp::spawn().await;
    let dir = app.take_dir();
    let account = unique("zj");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = oauth_token(&app, &account, &format!("{account}-admin"), "admin-secret").await;
    let get = app.http.get(app.url("/v2/users/ben@example.com")).bearer_auth(&token);
    assert_eq!(get.send().await.unwrap().status(), 200);
    app.stop().await;
    let app = TestApp::spawn_on(&app.database_url).await;
    assert_eq!(count(&app, &account, "").await, 1);
    let reset = app.admin(Method::POST, &format!("/tenants/{account}/reset"), None).await;
    assert_eq!(reset.status(), 200);
    assert_eq!(count(&app, &account, "").await, 0);
    drop(dir);
}

#[tokio::test]
async fn the_journal_is_a_ring_of_the_newest_entries() {
    let (database_url, _dir) = test_database();
    let mut config = ServeConfig::for_tests(&database_url, ADMIN_TOKEN);
    config.journal_size = 5;
    let app = TestApp::spawn_with(config).await;
    let account = unique("zk");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = oauth_token(&app, &account, &format!("{account}-admin"), "admin-secret").await;
    for i in 0..12 {
        let path = format!("/v2/users/ben@example.com?n={i}");
        assert_eq!(app.http.get(app.url(&path)).bearer_auth(&token).send().await.unwrap().status(), 200);
    }
    let body = journal(&app, &account, "").await;
    let queries: Vec<&str> =
        body["requests"].as_array().unwrap().iter().map(|e| e["query"].as_str().unwrap()).collect();
    assert_eq!(queries, ["n=7", "n=8", "n=9", "n=10", "n=11"]);
}
