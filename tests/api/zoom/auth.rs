//! OAuth, bearer tokens, scopes, and account isolation.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Zoom, assert_zoom_error, oauth_token};
use crate::helpers::{unique, zoom_world};

#[tokio::test]
async fn token_endpoint_issues_bearer_tokens_with_the_app_scopes() {
    let zoom = Zoom::start().await;
    let response = zoom
        .app
        .http
        .post(zoom.app.url(&format!("/oauth/token?grant_type=account_credentials&account_id={}", zoom.account)))
        .basic_auth(format!("{}-admin", zoom.account), Some("admin-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "user:read:admin user:write:admin");
    assert!(body["api_url"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    let info = zoom.app.introspect(body["access_token"].as_str().unwrap()).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["kind"], "oauth_access");
    assert_eq!(info["client_id"], format!("{}-admin", zoom.account));
}

#[tokio::test]
async fn token_endpoint_takes_its_parameters_in_a_form_body_too() {
    let zoom = Zoom::start().await;
    let response = zoom
        .app
        .http
        .post(zoom.app.url("/oauth/token"))
        .basic_auth(format!("{}-admin", zoom.account), Some("admin-secret"))
        .form(&[("grant_type", "account_credentials"), ("account_id", zoom.account.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The token is the admin app's, with its scopes, and it works.
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().expect("access_token");
    let info = zoom.app.introspect(token).await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(info["client_id"], format!("{}-admin", zoom.account));
    assert_eq!(info["tenant"], zoom.account.as_str());
    assert_eq!(info["scope"], "user:read:admin user:write:admin");
    assert_eq!(zoom.call_as(token, reqwest::Method::GET, "/users/ben@example.com", None).await.0, 200);
}

#[tokio::test]
async fn token_endpoint_errors_are_zoom_oauth_errors() {
    let zoom = Zoom::start().await;
    let post = |query: String, user: Option<(String, String)>| {
        let mut request = zoom.app.http.post(zoom.app.url(&format!("/oauth/token?{query}")));
        if let Some((id, secret)) = user {
            request = request.basic_auth(id, Some(secret));
        }
        request.send()
    };
    let good = Some((format!("{}-admin", zoom.account), "admin-secret".to_owned()));
    let cases = [
        (format!("grant_type=password&account_id={}", zoom.account), good.clone(), "unsupported_grant_type"),
        (format!("account_id={}", zoom.account), good.clone(), "unsupported_grant_type"),
        (format!("grant_type=account_credentials&account_id={}", zoom.account), None, "invalid_client"),
        (
            format!("grant_type=account_credentials&account_id={}", zoom.account),
            Some((format!("{}-admin", zoom.account), "wrong".to_owned())),
            "invalid_client",
        ),
        ("grant_type=account_credentials&account_id=someone-else".to_owned(), good.clone(), "invalid_request"),
        ("grant_type=account_credentials".to_owned(), good.clone(), "invalid_request"),
    ];
    for (query, user, error) in cases {
        let response = post(query.clone(), user).await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{query}: {body}");
        assert!(body["reason"].is_string());
    }
}

#[tokio::test]
async fn missing_unknown_and_expired_tokens_get_401_124() {
    let zoom = Zoom::start().await;
    let no_token = zoom.app.http.get(zoom.app.url("/v2/users")).send().await.unwrap();
    assert_eq!(no_token.status(), 401);
    assert_eq!(no_token.json::<Value>().await.unwrap(), json!({"code": 124, "message": "Invalid access token."}));

    let unknown = zoom.call_as("not-a-token", Method::GET, "/users", None).await;
    assert_zoom_error(&unknown, 401, 124, Some("Invalid access token."));

    zoom.app.advance_clock(&zoom.account, 3601).await;
    let expired = zoom.call(Method::GET, "/users", None).await;
    assert_zoom_error(&expired, 401, 124, Some("Access token is expired."));
}

#[tokio::test]
async fn session_tokens_are_not_api_tokens() {
    let zoom = Zoom::start().await;
    let sso = zoom.sso_login("ben@example.com").await;
    let response = zoom.call_as(&sso, Method::GET, "/users/me", None).await;
    assert_zoom_error(&response, 401, 124, None);
}

#[tokio::test]
async fn missing_scopes_get_400_4711_naming_them() {
    let zoom = Zoom::start().await;
    let reader = zoom.app_token("reader").await;
    let response = zoom.call_as(&reader, Method::DELETE, "/users/ben@example.com/token", None).await;
    assert_zoom_error(
        &response,
        400,
        4711,
        Some("Invalid access token, does not contain scopes:[user:write:admin,user:delete:token:admin]."),
    );
    // Reading is within its scopes.
    let read = zoom.call_as(&reader, Method::GET, "/users/ben@example.com", None).await;
    assert_eq!(read.0, 200);
    // Nothing changed.
    let status = zoom.call(Method::GET, "/users/ben@example.com", None).await.1["status"].clone();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn user_scopes_reach_only_me() {
    let zoom = Zoom::start().await;
    let own = zoom.app_token("self").await; // ben's app: user:read user:write
    let me = zoom.call_as(&own, Method::GET, "/users/me", None).await;
    assert_eq!(me.0, 200);
    assert_eq!(me.1["email"], "ben@example.com");
    let by_email = zoom.call_as(&own, Method::GET, "/users/ben@example.com", None).await;
    assert_eq!(by_email.0, 200);
    let other = zoom.call_as(&own, Method::GET, "/users/lena@example.com", None).await;
    assert_zoom_error(&other, 400, 4711, None);
    let list = zoom.call_as(&own, Method::GET, "/users", None).await;
    assert_zoom_error(&list, 400, 4711, None);
    // `me` can revoke its own SSO sessions.
    let sso = zoom.sso_login("ben@example.com").await;
    let revoke = zoom.call_as(&own, Method::DELETE, "/users/me/token", None).await;
    assert_eq!(revoke.0, 204, "{}", revoke.1);
    assert_eq!(zoom.app.introspect(&sso).await["active"], false);
}

#[tokio::test]
async fn user_level_oauth_tokens_work_for_me_and_die_with_the_sessions() {
    let zoom = Zoom::start().await;
    let token = zoom.app.login(&zoom.account, json!({"user": "lena@example.com", "kind": "user_oauth"})).await;
    let me = zoom.call_as(&token, Method::GET, "/users/me", None).await;
    assert_eq!(me.1["email"], "lena@example.com");
    let zak = zoom.call_as(&token, Method::GET, "/users/me/zak", None).await;
    assert_eq!(zak.0, 200, "{}", zak.1);
    zoom.call(Method::DELETE, "/users/lena@example.com/token", None).await;
    let after = zoom.call_as(&token, Method::GET, "/users/me", None).await;
    assert_zoom_error(&after, 401, 124, None);
}

#[tokio::test]
async fn nothing_of_one_account_is_reachable_with_another_accounts_token() {
    let zoom = Zoom::start().await;
    let other_account = unique("zm");
    zoom.app.create_tenant(zoom_world(&other_account, "pro", "off")).await;
    let other_token = oauth_token(&zoom.app, &other_account, &format!("{other_account}-admin"), "admin-secret").await;

    let ben_here = zoom.id_of("ben@example.com").await;
    // The same email exists in both accounts; by id, this account's user is unknown there.
    let by_id = zoom.call_as(&other_token, Method::GET, &format!("/users/{ben_here}"), None).await;
    assert_zoom_error(&by_id, 404, 1001, Some(&format!("User does not exist: {ben_here}.")));
    let revoke = zoom
        .call_as(&other_token, Method::PUT, &format!("/users/{ben_here}/status"), Some(json!({"action": "deactivate"})))
        .await;
    assert_zoom_error(&revoke, 404, 1001, None);
    // An app's credentials cannot mint a token for another account.
    let response = zoom
        .app
        .http
        .post(zoom.app.url(&format!("/oauth/token?grant_type=account_credentials&account_id={other_account}")))
        .basic_auth(format!("{}-admin", zoom.account), Some("admin-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // This account's ben is untouched.
    assert_eq!(zoom.call(Method::GET, &format!("/users/{ben_here}"), None).await.1["status"], "active");
}
