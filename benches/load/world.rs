//! The benchmark's tenants: documents with generous plans and rate limits off (so the
//! benchmark measures the server, not its 429s), world files, tokens and sessions made
//! through the control plane.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::node::ADMIN;

pub const SECRET: &str = "bench-secret";

pub fn email(i: usize) -> String {
    format!("user{i}@bench.example")
}

/// A name no earlier run on the same database used.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}{}x{}", std::process::id(), nanos % 1_000_000_000_000)
}

/// A Zoom account with `users` users (each with an assistant when `assistants`) and an
/// app that may read and write them.
pub fn zoom_tenant(account: &str, users: usize, assistants: bool) -> Value {
    let mut list = vec![json!({"email": "owner@bench.example", "type": 2, "role": "owner"})];
    for i in 0..users {
        if assistants {
            list.push(json!({"email": email(i), "first_name": "User", "last_name": format!("{i}"), "type": 2,
                "assistants": [format!("helper{i}@bench.example")]}));
            list.push(json!({"email": format!("helper{i}@bench.example"), "type": 2}));
        } else {
            list.push(json!({"email": email(i), "first_name": "User", "last_name": format!("{i}"), "type": 2}));
        }
    }
    json!({"provider": "zoom", "account_id": account, "plan": "enterprise", "rate_limits": "off",
        "apps": [{"client_id": format!("{account}-app"), "client_secret": SECRET,
                  "scopes": ["user:read:admin", "user:write:admin"]}],
        "users": list})
}

/// A Cloudflare account (32 hex digits) with `users` users and a token that may revoke them.
pub fn cloudflare_tenant(account: &str, users: usize) -> Value {
    let list: Vec<Value> = (0..users).map(|i| json!({"email": email(i), "name": format!("User {i}")})).collect();
    json!({"provider": "cloudflare", "account_id": account, "rate_limits": "off",
        "api_tokens": [{"value": format!("{account}-token"),
                        "permissions": ["Access: Organizations, Identity Providers, and Groups Write"]}],
        "users": list})
}

pub fn cloudflare_account() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:032x}", (u128::from(std::process::id()) << 64) | (nanos & u128::from(u64::MAX)))
}

pub fn write_world(path: &Path, tenants: &[Value]) -> Result<(), String> {
    std::fs::write(path, json!({"tenants": tenants}).to_string()).map_err(|e| format!("write {}: {e}", path.display()))
}

/// The control plane and the OAuth endpoint of one node.
pub struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    pub fn new(base: &str) -> Control {
        Control { http: reqwest::Client::new(), base: base.to_owned() }
    }

    pub async fn create_tenant(&self, document: &Value) -> Result<Duration, String> {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/_userplane/tenants", self.base))
            .bearer_auth(ADMIN)
            .json(document)
            .send()
            .await
            .map_err(|e| format!("create tenant: {e}"))?;
        let took = started.elapsed();
        expect(response, 201, "create tenant").await?;
        Ok(took)
    }

    pub async fn reset_tenant(&self, account: &str) -> Result<Duration, String> {
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/_userplane/tenants/{account}/reset", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .map_err(|e| format!("reset tenant: {e}"))?;
        let took = started.elapsed();
        expect(response, 200, "reset tenant").await?;
        Ok(took)
    }

    /// An account-credentials bearer token of the tenant's app.
    pub async fn zoom_token(&self, account: &str) -> Result<String, String> {
        let response = self
            .http
            .post(format!("{}/oauth/token?grant_type=account_credentials&account_id={account}", self.base))
            .basic_auth(format!("{account}-app"), Some(SECRET))
            .send()
            .await
            .map_err(|e| format!("token: {e}"))?;
        let body: Value = expect(response, 200, "token").await?;
        body["access_token"].as_str().map(str::to_owned).ok_or_else(|| format!("token: no access_token in {body}"))
    }

    /// Makes `count` SSO sessions for a user (simulated logins), 16 at a time.
    pub async fn make_sessions(&self, account: &str, user: &str, count: usize) -> Result<Duration, String> {
        let started = Instant::now();
        let url = format!("{}/_userplane/tenants/{account}/sessions", self.base);
        let mut made = futures::stream::iter(0..count)
            .map(|_| {
                let request = self.http.post(&url).bearer_auth(ADMIN).json(&json!({"user": user, "kind": "sso"}));
                async move { expect(request.send().await.map_err(|e| format!("session: {e}"))?, 201, "session").await }
            })
            .buffer_unordered(16);
        while let Some(result) = made.next().await {
            result?;
        }
        Ok(started.elapsed())
    }

    /// Sends one request and returns its status and how long it took.
    pub async fn send(&self, request: &crate::wrk::Request) -> Result<(u16, Duration), String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut builder = self.http.request(method, format!("{}{}", self.base, request.path));
        if !request.authorization.is_empty() {
            builder = builder.header("Authorization", &request.authorization);
        }
        if !request.body.is_empty() {
            builder = builder.header("Content-Type", "application/json").body(request.body.clone());
        }
        let started = Instant::now();
        let response = builder.send().await.map_err(|e| format!("{} {}: {e}", request.method, request.path))?;
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        Ok((status, started.elapsed()))
    }
}

async fn expect(response: reqwest::Response, status: u16, what: &str) -> Result<Value, String> {
    let got = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    if got != status {
        return Err(format!("{what}: expected {status}, got {got}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}
