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
    // Fill Light's per-second budget, then call Medium (list users) between two Light
    // calls that are both refused: all three fell in the same full second, so Medium,
    // with its own budget, must pass where a shared budget would refuse it. If the second
    // turned in between, try again.
    let mut checked = false;
    for _ in 0..10 {
        burst(&zoom, "/users/ben@example.com", 12).await;
        let light_before = zoom.call(Method::GET, "/users/ben@example.com", None).await.0;
        let medium = zoom.call(Method::GET, "/users", None).await;
        let light_after = zoom.call(Method::GET, "/users/ben@example.com", None).await.0;
        if light_before == 429 && light_after == 429 {
            assert_eq!(medium.0, 200, "Medium has its own budget: {}", medium.1);
            checked = true;
            break;
        }
    }
    assert!(checked, "never saw a full Light second around the Medium call");
    // Another account has its own budgets.
    let other = Zoom::start_with("free", "on").await;
    assert_eq!(other.call(Method::GET, "/users/ben@example.com", None).await.0, 200);
}

#[tokio::test]
async fn free_accounts_hit_the_daily_limit_until_midnight_utc() {
    let mut zoom = Zoom::start_with("free", "on").await;
    // Pin the tenant's clock just after a UTC midnight, so that the day cannot end within
    // the test, and take a token of that day.
    let clock = zoom.app.admin(Method::GET, &format!("/tenants/{}/clock", zoom.account), None).await;
    let now: serde_json::Value = clock.json().await.unwrap();
    let now = time::OffsetDateTime::parse(now["now"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp();
    zoom.app.advance_clock(&zoom.account, 86_400 - now.rem_euclid(86_400) + 10).await;
    let day = time::OffsetDateTime::from_unix_timestamp(now - now.rem_euclid(86_400) + 2 * 86_400).unwrap().date();
    zoom.token = super::oauth_token(&zoom.app, &zoom.account, &format!("{}-admin", zoom.account), "admin-secret").await;
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
    // The next midnight of the pinned day.
    assert_eq!(retry_after, format!("{day}T00:00:00Z"));
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
