//! The Zoom dialect over HTTP: OAuth, every `/v2/users` endpoint, each error, each effect
//! checked through introspection or a GET.

mod auth;
mod delegates;
mod limits;
mod revocation;
mod users;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{TestApp, unique, zoom_world};

/// A Zoom tenant built from [`zoom_world`] and an admin-scoped token for it.
pub struct Zoom {
    pub app: TestApp,
    pub account: String,
    pub token: String,
}

impl Zoom {
    /// A fresh server and tenant (pro plan, rate limits off).
    pub async fn start() -> Zoom {
        Self::start_with("pro", "off").await
    }

    pub async fn start_with(plan: &str, rate_limits: &str) -> Zoom {
        let app = TestApp::spawn().await;
        let account = unique("zm");
        app.create_tenant(zoom_world(&account, plan, rate_limits)).await;
        let token = oauth_token(&app, &account, &format!("{account}-admin"), "admin-secret").await;
        Zoom { app, account, token }
    }

    /// A token of one of the world's apps: `admin`, `reader` or `self` (ben's, user scopes).
    pub async fn app_token(&self, app: &str) -> String {
        let secret = format!("{app}-secret");
        oauth_token(&self.app, &self.account, &format!("{}-{app}", self.account), &secret).await
    }

    /// A `/v2` call with the admin token; returns the status and the JSON body (Null if none).
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(&self.token, method, path, body).await
    }

    pub async fn call_as(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self.app.http.request(method, self.app.url(&format!("/v2{path}"))).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") };
        (status, body)
    }

    /// The Zoom id of a world user.
    pub async fn id_of(&self, email: &str) -> String {
        let (status, body) = self.call(Method::GET, &format!("/users/{email}"), None).await;
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// A simulated SSO login of a world user.
    pub async fn sso_login(&self, email: &str) -> String {
        self.app.login(&self.account, serde_json::json!({"user": email, "kind": "sso"})).await
    }
}

/// `POST /oauth/token` with the account-credentials grant; returns the access token.
pub async fn oauth_token(app: &TestApp, account: &str, client_id: &str, secret: &str) -> String {
    let response = app
        .http
        .post(app.url(&format!("/oauth/token?grant_type=account_credentials&account_id={account}")))
        .basic_auth(client_id, Some(secret))
        .send()
        .await
        .expect("token request");
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// Asserts a Zoom error: status, code and (if given) the exact message.
pub fn assert_zoom_error(actual: &(StatusCode, Value), status: u16, code: i64, message: Option<&str>) {
    assert_eq!(actual.0.as_u16(), status, "{}", actual.1);
    assert_eq!(actual.1["code"], code, "{}", actual.1);
    if let Some(message) = message {
        assert_eq!(actual.1["message"], message, "{}", actual.1);
    }
}
