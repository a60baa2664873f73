//! `--world FILE`: every tenant is checked before anything is written, the new ones are
//! created together or not at all, existing ones keep their state, and a large world
//! loads and pages.

use reqwest::Client;
use serde_json::{Value, json};
use userplane::app::Server;
use userplane::config::ServeConfig;

use crate::cloudflare::cloudflare_world_with;
use crate::helpers::{ADMIN_TOKEN, test_database, unique, unique_hex32, zoom_world};

/// Starts a server on `url` with this world file.
async fn start_with_world(url: &str, world: &Value, dir: &std::path::Path) -> Result<Server, String> {
    let path = dir.join(format!("{}.json", unique("world")));
    std::fs::write(&path, serde_json::to_vec(world).unwrap()).unwrap();
    let config = ServeConfig { world: Some(path), ..ServeConfig::for_tests(url, ADMIN_TOKEN) };
    Server::start(&config).await
}

async fn get(server: &Server, path: &str, bearer: &str) -> (u16, Value) {
    let response =
        Client::new().get(format!("http://{}{path}", server.addr)).bearer_auth(bearer).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

async fn tenant_status(url: &str, account: &str) -> u16 {
    let server = Server::start(&ServeConfig::for_tests(url, ADMIN_TOKEN)).await.expect("starts");
    let status = get(&server, &format!("/_userplane/tenants/{account}"), ADMIN_TOKEN).await.0;
    server.stop().await;
    status
}

#[tokio::test]
async fn a_world_with_one_bad_tenant_creates_none_of_them() {
    let (url, _db) = test_database();
    let files = tempfile::tempdir().unwrap();
    let (first, second) = (unique("wa"), unique("wb"));
    let mut bad = zoom_world(&second, "pro", "off");
    bad["plan"] = json!("gold");
    let world = json!({"tenants": [zoom_world(&first, "pro", "off"), bad]});
    let err = start_with_world(&url, &world, files.path()).await.err().expect("refused");
    assert!(err.contains("tenants[1]") && err.contains("plan"), "{err}");
    assert_eq!(tenant_status(&url, &first).await, 404, "the valid first tenant was not created");

    // The same account twice is refused before anything is written.
    let world = json!({"tenants": [zoom_world(&first, "pro", "off"), zoom_world(&first, "free", "off")]});
    let err = start_with_world(&url, &world, files.path()).await.err().expect("refused");
    assert!(err.contains("tenants[1]") && err.contains("twice"), "{err}");
    assert_eq!(tenant_status(&url, &first).await, 404);

    // A conflict only the database can see (two Cloudflare accounts with one API token)
    // rolls back the tenants created before it in the same file.
    let (cf_one, cf_two) = (unique_hex32(), unique_hex32());
    let one = cloudflare_world_with(&cf_one, "off", &[]);
    let mut two = cloudflare_world_with(&cf_two, "off", &[]);
    two["api_tokens"][0]["value"] = one["api_tokens"][0]["value"].clone();
    let world = json!({"tenants": [zoom_world(&first, "pro", "off"), one, two]});
    let err = start_with_world(&url, &world, files.path()).await.err().expect("refused");
    assert!(err.contains("nothing was created"), "{err}");
    for account in [&first, &cf_one, &cf_two] {
        assert_eq!(tenant_status(&url, account).await, 404, "{account}");
    }
}

#[tokio::test]
async fn a_world_of_twenty_thousand_users_loads_pages_and_keeps_its_state_on_restart() {
    let (url, _db) = test_database();
    let files = tempfile::tempdir().unwrap();
    let account = unique("wbig");
    let mut world = zoom_world(&account, "business", "off");
    let users = world["users"].as_array_mut().unwrap();
    let seeded = users.len();
    for i in 0..20_000 {
        let status = if i % 4 == 0 { "inactive" } else { "active" };
        users.push(json!({"email": format!("u{i:05}@example.com"), "first_name": format!("U{i}"), "status": status}));
    }
    let world = json!({"tenants": [world]});
    let server = start_with_world(&url, &world, files.path()).await.expect("loads");
    let token = {
        let response = Client::new()
            .post(format!("http://{}/oauth/token?grant_type=account_credentials&account_id={account}", server.addr))
            .basic_auth(format!("{account}-admin"), Some("admin-secret"))
            .send()
            .await
            .expect("token");
        let body: Value = response.json().await.expect("json");
        body["access_token"].as_str().unwrap().to_owned()
    };
    // zoom_world's users: 7 active (pat is pending), plus 15,000 active here.
    let (status, page) = get(&server, "/v2/users?page_size=300&page_number=40", &token).await;
    assert_eq!(status, 200, "{page}");
    let active = 15_000 + seeded as i64 - 1;
    assert_eq!(page["total_records"], active);
    assert_eq!(page["page_count"], (active + 299) / 300);
    let emails: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails.len(), 300);
    // Page 40 of the active users in email order: zoom_world's seven active users sort
    // before the u*@ ones, three of every four of which are active.
    let nth_active = |n: usize| (0..20_000).filter(|i| i % 4 != 0).nth(n).unwrap();
    assert_eq!(emails[0], format!("u{:05}@example.com", nth_active(39 * 300 - 7)));
    let (_, inactive) = get(&server, "/v2/users?status=inactive&page_size=1", &token).await;
    assert_eq!(inactive["total_records"], 5_000);
    server.stop().await;

    // The same world again: the tenant exists and keeps its state (a user deactivated
    // since stays so).
    let server = start_with_world(&url, &world, files.path()).await.expect("starts");
    let response = Client::new()
        .put(format!("http://{}/v2/users/u00001@example.com/status", server.addr))
        .bearer_auth(&token)
        .json(&json!({"action": "deactivate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    server.stop().await;
    let server = start_with_world(&url, &world, files.path()).await.expect("starts");
    let (_, inactive) = get(&server, "/v2/users?status=inactive&page_size=1", &token).await;
    assert_eq!(inactive["total_records"], 5_001);
    let (status, body) = get(&server, &format!("/_userplane/tenants/{account}"), ADMIN_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(body["document"]["users"].as_array().unwrap().len(), seeded + 20_000);
    server.stop().await;
}
