//! Pagination: every number a client sends is range-checked (Zoom's 300 with `errors[]`,
//! Cloudflare's 12130), page numbers keep their meaning, totals stay exact through
//! every change, and a deep page is answered without loading the pages before it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::{Cf, cloudflare_world_with};
use crate::helpers::{TestApp, unique};
use crate::zoom::{Zoom, assert_zoom_error, oauth_token};

/// A Zoom tenant of `n` members (user000@… upwards, every fifth inactive) plus an owner
/// and an admin, with an admin-scoped token.
async fn zoom_tenant_of(n: usize) -> Zoom {
    let app = TestApp::spawn().await;
    let account = unique("zp");
    let mut users = vec![
        json!({"email": "owner@example.com", "role": "owner", "type": 2}),
        json!({"email": "admin@example.com", "role": "admin", "type": 2}),
    ];
    users.extend((0..n).map(|i| {
        json!({"email": format!("user{i:03}@example.com"), "first_name": format!("U{i}"),
               "status": if i % 5 == 0 { "inactive" } else { "active" }})
    }));
    app.create_tenant(json!({
        "provider": "zoom", "account_id": account, "plan": "business", "rate_limits": "off",
        "apps": [{"client_id": format!("{account}-admin"), "client_secret": "admin-secret",
                  "scopes": ["user:read:admin", "user:write:admin"]}],
        "users": users,
    }))
    .await;
    let token = oauth_token(&app, &account, &format!("{account}-admin"), "admin-secret").await;
    Zoom { app, account, token }
}

fn emails(body: &Value) -> Vec<String> {
    body["users"].as_array().expect("users").iter().map(|u| u["email"].as_str().unwrap().to_owned()).collect()
}

/// Asserts `400 300 Validation Failed.` naming exactly `field`.
fn assert_invalid_field(actual: &(reqwest::StatusCode, Value), field: &str) {
    assert_zoom_error(actual, 400, 300, Some("Validation Failed."));
    assert_eq!(actual.1["errors"], json!([{"field": field, "message": "Invalid field."}]), "{}", actual.1);
}

#[tokio::test]
async fn zoom_page_numbers_and_sizes_out_of_range_are_validation_errors() {
    let zoom = zoom_tenant_of(3).await;
    for role in ["", "&role_id=2", "&role_id=0"] {
        for bad in ["4611686018427387905", "9223372036854775807", "2147483648", "0", "-1", "-5", "1.5", "x", ""] {
            let path = format!("/users?page_number={bad}&page_size=2{role}");
            assert_invalid_field(&zoom.call(Method::GET, &path, None).await, "page_number");
        }
        for bad in ["0", "-3", "abc", "99999999999999999999999", "1e3"] {
            let path = format!("/users?page_size={bad}{role}");
            assert_invalid_field(&zoom.call(Method::GET, &path, None).await, "page_size");
        }
    }
    assert_invalid_field(&zoom.call(Method::GET, "/users?role_id=7", None).await, "role_id");
    // The largest page number is taken, a page size above 2000 is Zoom's 2000.
    let (status, body) = zoom.call(Method::GET, "/users?page_number=2147483647&page_size=4294967296", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["page_number"].clone(), body["page_size"].clone()), (json!(2147483647), json!(2000)));
    assert_eq!(body["users"], json!([]));
    assert_eq!(body["total_records"], 4, "owner, admin and two of the three members are active");
    // Still serving.
    assert_eq!(emails(&zoom.call(Method::GET, "/users?page_size=1", None).await.1), ["admin@example.com"]);
}

fn forge(fields: Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&fields).unwrap())
}

#[tokio::test]
async fn zoom_forged_page_tokens_are_refused_whatever_they_carry() {
    let zoom = zoom_tenant_of(6).await;
    let (_, first) = zoom.call(Method::GET, "/users?page_size=2", None).await;
    let real = first["next_page_token"].as_str().unwrap();
    let mut genuine: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(real).unwrap()).unwrap();
    // The genuine token works.
    let (status, second) = zoom.call(Method::GET, &format!("/users?page_size=2&next_page_token={real}"), None).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["page_number"], 2);
    let long = "z".repeat(300);
    let forgeries = [
        ("page", json!(-5)),
        ("page", json!(0)),
        ("page", json!(1)),
        ("page", json!(4611686018427387905_u64)),
        ("page", json!(2147483648_u64)),
        ("page", json!("2")),
        ("issued", json!(i64::MIN)),
        ("issued", json!(i64::MAX)),
        ("status", json!("deleted")),
        ("role", json!("7")),
        ("after", json!(long)),
        ("account", json!("someone-else")),
    ];
    for (field, value) in forgeries {
        let mut token = genuine.clone();
        token[field] = value.clone();
        for role in ["", "&role_id=2"] {
            let path = format!("/users?page_size=2{role}&next_page_token={}", forge(token.clone()));
            let answer = zoom.call(Method::GET, &path, None).await;
            assert_zoom_error(&answer, 400, 300, Some("The next page token is invalid or expired."));
            assert!(!answer.1.to_string().contains("panicked"), "{field}={value}");
        }
    }
    // A forged token of one's own account within range is just a position: no harm.
    genuine["role"] = json!("2");
    genuine["after"] = json!("user003@example.com");
    let (status, body) =
        zoom.call(Method::GET, &format!("/users?page_size=2&next_page_token={}", forge(genuine)), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(emails(&body), ["user004@example.com"]);
}

#[tokio::test]
async fn zoom_page_numbers_name_the_same_pages_as_page_tokens_with_and_without_a_role() {
    let zoom = zoom_tenant_of(23).await;
    for (filter, expected_total) in [("status=active", 20), ("status=active&role_id=2", 18), ("status=inactive", 5)] {
        let mut by_token = Vec::new();
        let mut token = String::new();
        loop {
            let (status, body) =
                zoom.call(Method::GET, &format!("/users?{filter}&page_size=4&next_page_token={token}"), None).await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["total_records"], expected_total, "{filter}");
            assert_eq!(body["page_count"], (expected_total + 3) / 4, "{filter}");
            by_token.push(emails(&body));
            token = body["next_page_token"].as_str().unwrap().to_owned();
            if token.is_empty() {
                break;
            }
        }
        assert_eq!(by_token.iter().map(Vec::len).sum::<usize>(), expected_total as usize, "{filter}");
        let all: Vec<String> = by_token.concat();
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(all, sorted, "{filter}: email order, no repeats");
        for (i, page) in by_token.iter().enumerate() {
            let (_, body) =
                zoom.call(Method::GET, &format!("/users?{filter}&page_size=4&page_number={}", i + 1), None).await;
            assert_eq!(&emails(&body), page, "{filter}, page {}", i + 1);
            assert_eq!(body["page_number"], i + 1);
        }
        let past = by_token.len() + 1;
        let (_, body) = zoom.call(Method::GET, &format!("/users?{filter}&page_size=4&page_number={past}"), None).await;
        assert_eq!(body["users"], json!([]));
        assert_eq!(body["total_records"], expected_total);
    }
    let (_, owners) = zoom.call(Method::GET, "/users?role_id=0", None).await;
    assert_eq!(emails(&owners), ["owner@example.com"]);
    assert_eq!(owners["total_records"], 1);
}

/// Active, inactive, pending, and active members: each `total_records`.
async fn snapshot(zoom: &Zoom) -> (i64, i64, i64, i64) {
    (
        total(zoom, "status=active").await,
        total(zoom, "status=inactive").await,
        total(zoom, "status=pending").await,
        total(zoom, "status=active&role_id=2").await,
    )
}

async fn total(zoom: &Zoom, query: &str) -> i64 {
    let (status, body) = zoom.call(Method::GET, &format!("/users?{query}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["total_records"].as_i64().unwrap()
}

#[tokio::test]
async fn zoom_totals_follow_every_create_status_change_delete_and_reset() {
    let zoom = zoom_tenant_of(10).await;
    assert_eq!(snapshot(&zoom).await, (10, 2, 0, 8));
    let create = |email: &str, action: &str| json!({"action": action, "user_info": {"email": email, "type": 1}});
    assert_eq!(zoom.call(Method::POST, "/users", Some(create("new1@example.com", "custCreate"))).await.0, 201);
    assert_eq!(zoom.call(Method::POST, "/users", Some(create("new2@example.com", "create"))).await.0, 201);
    assert_eq!(snapshot(&zoom).await, (11, 2, 1, 9));
    let status = |action: &str| Some(json!({"action": action}));
    assert_eq!(zoom.call(Method::PUT, "/users/user001@example.com/status", status("deactivate")).await.0, 204);
    assert_eq!(snapshot(&zoom).await, (10, 3, 1, 8));
    // Deactivating twice changes nothing.
    zoom.call(Method::PUT, "/users/user001@example.com/status", status("deactivate")).await;
    assert_eq!(snapshot(&zoom).await, (10, 3, 1, 8));
    assert_eq!(zoom.call(Method::PUT, "/users/user000@example.com/status", status("activate")).await.0, 204);
    assert_eq!(snapshot(&zoom).await, (11, 2, 1, 9));
    // A profile change is not a status change.
    let patch = Some(json!({"first_name": "Renamed"}));
    assert_eq!(zoom.call(Method::PATCH, "/users/user002@example.com", patch).await.0, 204);
    assert_eq!(snapshot(&zoom).await, (11, 2, 1, 9));
    assert_eq!(zoom.call(Method::DELETE, "/users/user002@example.com", None).await.0, 204);
    assert_eq!(zoom.call(Method::DELETE, "/users/user005@example.com?action=delete", None).await.0, 204);
    assert_eq!(zoom.call(Method::DELETE, "/users/new2@example.com", None).await.0, 204);
    assert_eq!(snapshot(&zoom).await, (10, 1, 0, 8));
    // Each total is what a full listing finds.
    let (_, all) = zoom.call(Method::GET, "/users?page_size=2000", None).await;
    assert_eq!(emails(&all).len(), 10);
    let reset = zoom.app.admin(Method::POST, &format!("/tenants/{}/reset", zoom.account), None).await;
    assert_eq!(reset.status(), 200);
    let token = oauth_token(&zoom.app, &zoom.account, &format!("{}-admin", zoom.account), "admin-secret").await;
    let zoom = Zoom { token, ..zoom };
    assert_eq!(snapshot(&zoom).await, (10, 2, 0, 8));
}

#[tokio::test]
async fn cloudflare_page_numbers_are_range_checked_and_deep_pages_are_empty() {
    let extra: Vec<(String, String)> = (0..9).map(|i| (format!("user{i}@example.com"), format!("User {i}"))).collect();
    let cf = Cf::start_with(|account| cloudflare_world_with(account, "off", &extra)).await;
    let path = |query: &str| cf.acct(&format!("/access/users{query}"));
    for bad in [
        "?page=0",
        "?page=-1",
        "?page=1000001",
        "?page=4611686018427387905",
        "?page=18446744073709551617",
        "?page=+2",
        "?page=1.0",
        "?per_page=0",
        "?per_page=-5",
        "?per_page=1001",
        "?per_page=4294967297",
    ] {
        cf.get(&path(bad), &cf.admin()).await.assert_error(400, &[12130]);
    }
    let all = cf.get(&path(""), &cf.admin()).await.ok();
    let total = all.as_array().unwrap().len() as i64;
    assert_eq!(total, 12, "the world's three users and nine more");
    let deep = cf.get(&path("?page=1000000&per_page=1000"), &cf.admin()).await;
    assert_eq!(deep.ok(), json!([]));
    assert_eq!(deep.body["result_info"]["total_count"], total);
    assert_eq!(deep.body["result_info"]["page"], 1_000_000);
    // Pages cover the list exactly, with and without a filter.
    for (filter, expected) in [("", total), ("&search=user", 9)] {
        let mut seen = Vec::new();
        for page in 1..=5 {
            let response = cf.get(&path(&format!("?per_page=2&page={page}{filter}")), &cf.admin()).await;
            let result = response.ok();
            assert_eq!(response.body["result_info"]["total_count"], expected, "{filter}");
            seen.extend(result.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()));
        }
        let mut more = 6;
        loop {
            let result = cf.get(&path(&format!("?per_page=2&page={more}{filter}")), &cf.admin()).await.ok();
            if result == json!([]) {
                break;
            }
            seen.extend(result.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap().to_owned()));
            more += 1;
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(seen, sorted, "{filter}");
        assert_eq!(seen.len() as i64, expected, "{filter}");
    }
}
