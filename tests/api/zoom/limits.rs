//! Rate limits as Zoom applies them: per account, by plan and label, per second and (on
//! Free) per day, with Zoom's 429 bodies and headers.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::Zoom;

async fn burst(zoom: &Zoom, path: &str, n: usize) -> Vec<reqwest::Response> {
    let requests =
        (0..n).map(|_| zoom.app.http.get(zoom.app.url(&format!("/v2{path}"))).bearer_auth(&zoom.token).send());
    futures::future::join_all(requests).await.into_iter().map(|r| r.expect("response")).collect()
}

#[tokio::test]
async fn light_calls_past_the_per_second_limit_get_429_qps() {
    // Free: Light is 4 requests per second per account. Freeze the second by reading
    // within one burst; at most a window boundary splits it.
    let zoom = Zoom::start_with("free", "on").await;
    let responses = burst(&zoom, "/users/ben@example.com", 12).await;
    let limited: Vec<&reqwest::Response> =
        responses.iter().filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(limited.len() >= 4, "expected 429s, got {} of 12", limited.len());
    let headers = limited[0].headers();
    assert_eq!(headers["x-ratelimit-category"], "Light");
    assert_eq!(headers["x-ratelimit-type"], "QPS");
    assert_eq!(headers["x-ratelimit-limit"], "4");
    assert_eq!(headers["retry-after"], "1");
    let response =
        burst(&zoom, "/users/ben@example.com", 8).await.into_iter().find(|r| r.status() == 429).expect("a 429");
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"code": 429, "message": "You have reached the maximum per-second rate limit for this API. Try again later."})
    );
}

#[tokio::test]
async fn limits_are_per_account_and_per_label() {
    let zoom = Zoom::start_with("free", "on").await;
    burst(&zoom, "/users/ben@example.com", 12).await;
    // Medium (list users) has its own budget on the same account.
    let (status, _) = zoom.call(Method::GET, "/users", None).await;
    assert!(status == 200 || status == 429);
    let other = Zoom::start_with("free", "on").await;
    assert_eq!(other.call(Method::GET, "/users/ben@example.com", None).await.0, 200);
}

#[tokio::test]
async fn free_accounts_hit_the_daily_limit_until_midnight_utc() {
    let zoom = Zoom::start_with("free", "on").await;
    // Free Medium: 2 per second, 2000 per day. Spend the day in 1000 one-second steps
    // (well within the token's hour).
    let mut daily = None;
    for _ in 0..1001 {
        zoom.app.advance_clock(&zoom.account, 1).await;
        let mut refused = None;
        for _ in 0..2 {
            let (status, body) =
                zoom.call_as(&zoom.token, Method::GET, "/users/lena@example.com/assistants", None).await;
            if status == 429 {
                refused = Some(body);
            }
        }
        if let Some(body) = refused
            && body["message"].as_str().unwrap_or("").contains("daily")
        {
            daily = Some(body);
            break;
        }
    }
    let body = daily.expect("the daily limit is reached within 2000 calls");
    assert_eq!(body["code"], 429);
    let response = zoom
        .app
        .http
        .get(zoom.app.url("/v2/users/lena@example.com/assistants"))
        .bearer_auth(&zoom.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-ratelimit-type"], "Daily-limit");
    assert_eq!(response.headers()["x-ratelimit-limit"], "2000");
    let retry_after = response.headers()["retry-after"].to_str().unwrap().to_owned();
    assert!(retry_after.ends_with("T00:00:00Z"), "{retry_after}");
    // Tomorrow, it works again.
    zoom.app.advance_clock(&zoom.account, 86_400).await;
    let fresh = super::oauth_token(&zoom.app, &zoom.account, &format!("{}-admin", zoom.account), "admin-secret").await;
    assert_eq!(zoom.call_as(&fresh, Method::GET, "/users/lena@example.com/assistants", None).await.0, 200);
}

#[tokio::test]
async fn rate_limits_can_be_switched_off_per_tenant() {
    let zoom = Zoom::start_with("free", "off").await;
    let responses = burst(&zoom, "/users/ben@example.com", 30).await;
    assert!(responses.iter().all(|r| r.status() == 200));
}
