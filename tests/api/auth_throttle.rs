//! Failed authentication is not free: past `--auth-failure-limit` wrong credentials from
//! an address in a window, a wrong one gets the dialect's 429 with `Retry-After`; a right
//! one is still answered; a window later wrong ones are checked (and refused) as usual.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use userplane::app::Server;
use userplane::config::ServeConfig;

use crate::helpers::{ADMIN_TOKEN, test_database, unique, unique_hex32, zoom_world};

const LIMIT: u32 = 3;
const WINDOW_SECONDS: u64 = 1;

/// A server of its own (its own counters) with a small limit and a one-second window.
struct Throttled {
    server: Option<Server>,
    base: String,
    http: Client,
    _dir: Option<tempfile::TempDir>,
}

impl Throttled {
    async fn spawn() -> Throttled {
        let (url, dir) = test_database();
        let config = ServeConfig {
            auth_failure_limit: LIMIT,
            auth_failure_window: WINDOW_SECONDS,
            ..ServeConfig::for_tests(&url, ADMIN_TOKEN)
        };
        let server = Server::start(&config).await.expect("server starts");
        let base = format!("http://{}", server.addr);
        Throttled { server: Some(server), base, http: Client::new(), _dir: dir }
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(format!("{}{path}", self.base))
    }

    async fn create_tenant(&self, doc: Value) {
        let response = self.post("/_userplane/tenants").bearer_auth(ADMIN_TOKEN).json(&doc).send().await.unwrap();
        assert_eq!(response.status(), 201);
    }

    async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

/// Sends `LIMIT` wrong attempts (each answered `refused`), then one more: a 429 whose
/// `Retry-After` is within the window. Returns the 429's body.
async fn exhaust(wrong: impl Fn() -> RequestBuilder, refused: u16) -> Value {
    for i in 0..LIMIT {
        let response = wrong().send().await.unwrap();
        assert_eq!(response.status(), refused, "wrong attempt {i} is refused as usual");
    }
    let response = wrong().send().await.unwrap();
    assert_eq!(response.status(), 429, "the attempt past the limit");
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=WINDOW_SECONDS).contains(&retry_after), "{retry_after}");
    response.json().await.unwrap()
}

async fn status(response: Response) -> u16 {
    response.status().as_u16()
}

async fn next_window() {
    tokio::time::sleep(Duration::from_millis(WINDOW_SECONDS * 1000 + 150)).await;
}

#[tokio::test]
async fn wrong_admin_tokens_are_throttled_and_the_right_one_still_passes() {
    let app = Throttled::spawn().await;
    let body = exhaust(|| app.get("/_userplane/tenants").bearer_auth("not-the-admin-token"), 401).await;
    assert_eq!(body["error"]["code"], "too_many_failed_attempts", "{body}");
    assert_eq!(status(app.get("/_userplane/tenants").bearer_auth(ADMIN_TOKEN).send().await.unwrap()).await, 200);
    // No credential at all is not a guess, and is answered as usual.
    assert_eq!(status(app.get("/_userplane/tenants").send().await.unwrap()).await, 401);
    next_window().await;
    assert_eq!(status(app.get("/_userplane/tenants").bearer_auth("wrong").send().await.unwrap()).await, 401);
    app.stop().await;
}

#[tokio::test]
async fn wrong_zoom_client_secrets_and_bearers_are_throttled_and_right_ones_still_pass() {
    let app = Throttled::spawn().await;
    let account = unique("thr");
    let mut doc = zoom_world(&account, "pro", "off");
    doc["apps"][0]["client_secret"] = json!("the-right-secret");
    app.create_tenant(doc).await;
    let token_url = format!("/oauth/token?grant_type=account_credentials&account_id={account}");
    let client = format!("{account}-admin");
    let wrong_secret = || app.post(&token_url).basic_auth(&client, Some("a-wrong-guess"));
    let body = exhaust(wrong_secret, 400).await;
    assert_eq!(body["code"], 429, "{body}");
    assert!(body["message"].is_string());

    let right = app.post(&token_url).basic_auth(&client, Some("the-right-secret")).send().await.unwrap();
    assert_eq!(right.status(), 200, "a right secret from the throttled address still passes");
    let token = right.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
    let me = app.get("/v2/users/me").bearer_auth(&token).send().await.unwrap();
    assert_eq!(me.status(), 200);

    // The address is throttled for bearers too, and a right bearer still passes.
    let unknown = app.get("/v2/users/me").bearer_auth("upz_at_never-issued").send().await.unwrap();
    assert_eq!(unknown.status(), 429);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], 429);
    assert_eq!(status(app.get("/v2/users/me").bearer_auth(&token).send().await.unwrap()).await, 200);

    next_window().await;
    let checked = wrong_secret().send().await.unwrap();
    assert_eq!(checked.status(), 400, "a window later a wrong secret is checked again");
    assert_eq!(checked.json::<Value>().await.unwrap()["error"], "invalid_client");
    next_window().await;
    let body = exhaust(|| app.get("/v2/users/me").bearer_auth("upz_at_never-issued"), 401).await;
    assert_eq!(body["code"], 429);
    app.stop().await;
}

#[tokio::test]
async fn wrong_cloudflare_tokens_and_keys_are_throttled_with_the_971_envelope() {
    let app = Throttled::spawn().await;
    let account = unique_hex32();
    let token = unique("cfright");
    app.create_tenant(json!({
        "provider": "cloudflare", "account_id": account,
        "api_tokens": [{"value": token, "permissions": ["Access: Apps and Policies Read"]}],
        "global_keys": [{"email": "admin@example.com", "key": "the-right-key"}]
    }))
    .await;
    let apps = format!("/client/v4/accounts/{account}/access/apps");
    let body = exhaust(|| app.get(&apps).bearer_auth("never-issued-token"), 403).await;
    assert_eq!(body["success"], false);
    assert_eq!(body["errors"][0]["code"], 971, "{body}");
    assert_eq!(status(app.get(&apps).bearer_auth(&token).send().await.unwrap()).await, 200);
    let right_key = app.get(&apps).header("x-auth-email", "admin@example.com").header("x-auth-key", "the-right-key");
    assert_eq!(status(right_key.send().await.unwrap()).await, 200);

    next_window().await;
    let wrong_key = || app.get(&apps).header("x-auth-email", "admin@example.com").header("x-auth-key", "a-guess");
    let body = exhaust(wrong_key, 403).await;
    assert_eq!(body["errors"][0]["code"], 971, "{body}");
    let right_key = app.get(&apps).header("x-auth-email", "admin@example.com").header("x-auth-key", "the-right-key");
    assert_eq!(status(right_key.send().await.unwrap()).await, 200, "the right key still passes");
    next_window().await;
    let checked = wrong_key().send().await.unwrap();
    assert_eq!(checked.status(), 403);
    assert_eq!(checked.json::<Value>().await.unwrap()["errors"][0]["code"], 9103);
    app.stop().await;
}
