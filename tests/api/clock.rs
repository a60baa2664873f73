//! The tenant clock over HTTP: set to an instant, frozen and unfrozen, never backwards
//! (except by a restore), range-checked; expiry and the journal follow it.

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::zoom::Zoom;

async fn post_clock(zoom: &Zoom, body: Value) -> (u16, Value) {
    let response = zoom.app.admin(Method::POST, &format!("/tenants/{}/clock", zoom.account), Some(body)).await;
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

async fn clock(zoom: &Zoom) -> Value {
    let response = zoom.app.admin(Method::GET, &format!("/tenants/{}/clock", zoom.account), None).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("an instant"), &Rfc3339).expect("RFC 3339")
}

#[tokio::test]
async fn setting_the_clock_moves_expiry_and_the_journal_and_never_goes_back() {
    let zoom = Zoom::start().await;
    let sso = zoom.sso_login("lena@example.com").await;
    let (status, body) = post_clock(&zoom, json!({"set": "2199-06-01T12:00:00Z"})).await;
    assert_eq!(status, 200, "{body}");
    let now = instant(&body["now"]);
    assert!(now >= time::macros::datetime!(2199-06-01 12:00 UTC), "{body}");
    assert!(now < time::macros::datetime!(2199-06-01 12:01 UTC), "{body}");
    assert_eq!(body["frozen"], false);
    let info = zoom.app.introspect(&sso).await;
    assert_eq!((info["active"].clone(), info["reason"].clone()), (json!(false), json!("expired")), "{info}");
    let fresh = zoom.sso_login("lena@example.com").await;
    let exp = zoom.app.introspect(&fresh).await["exp"].as_i64().unwrap();
    assert!(exp > now.unix_timestamp() + 86_000, "a new session expires a day after the tenant's now");
    let journal = zoom.app.journal(&zoom.account).await;
    let set = journal.iter().find(|e| e["action"] == "clock.set").expect("journaled");
    assert!(set["at"].as_str().unwrap().starts_with("2199-06-01T12:00"), "{set}");

    for back in [json!({"set": "2199-05-31T00:00:00Z"}), json!({"advance_seconds": -1})] {
        let (status, body) = post_clock(&zoom, back).await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(body["error"]["code"], "refused");
        assert!(body["error"]["message"].as_str().unwrap().contains("backwards"), "{body}");
    }
    assert!(instant(&clock(&zoom).await["now"]) >= now, "refusals change nothing");
}

#[tokio::test]
async fn a_clock_request_is_range_checked_and_names_one_change() {
    let zoom = Zoom::start().await;
    for bad in [
        json!({"set": "1999-12-31T23:59:59Z"}),
        json!({"set": "2200-01-01T00:00:01Z"}),
        json!({"set": "9999-12-31T23:59:59Z"}),
        json!({"set": "tomorrow"}),
        json!({"set": "2030-01-01"}),
        json!({"set": 1_900_000_000}),
        json!({"freeze": "yes"}),
        json!({"advance_seconds": 400_000_000}),
        json!({"advance_seconds": 9_223_372_036_854_775_807_i64}),
        json!({"advance_seconds": 1, "freeze": true}),
        json!({"rewind": 1}),
        json!({}),
    ] {
        let (status, body) = post_clock(&zoom, bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    }
    assert_eq!(clock(&zoom).await["offset_seconds"], 0, "nothing moved");
}

#[tokio::test]
async fn a_frozen_clock_stands_still_until_advanced_or_unfrozen() {
    let zoom = Zoom::start().await;
    let (status, frozen) = post_clock(&zoom, json!({"freeze": true})).await;
    assert_eq!((status, frozen["frozen"].clone()), (200, json!(true)), "{frozen}");
    let at = instant(&frozen["now"]);
    let sso = zoom.sso_login("lena@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(instant(&clock(&zoom).await["now"]), at, "no time passes while frozen");
    let info = zoom.app.introspect(&sso).await;
    assert_eq!(info["iat"].as_i64().unwrap(), at.unix_timestamp());
    assert_eq!(info["exp"].as_i64().unwrap(), at.unix_timestamp() + 86_400, "expiry from the frozen instant");

    // Advancing a frozen clock moves the frozen instant; expiry follows exactly.
    let (_, body) = post_clock(&zoom, json!({"advance_seconds": 86_399})).await;
    assert_eq!((instant(&body["now"]), body["frozen"].clone()), (at + time::Duration::seconds(86_399), json!(true)));
    assert_eq!(zoom.app.introspect(&sso).await["active"], true);
    post_clock(&zoom, json!({"advance_seconds": 1})).await;
    assert_eq!(zoom.app.introspect(&sso).await["reason"], "expired");

    // Setting keeps it frozen; unfreezing runs on from where it stood.
    let (_, body) = post_clock(&zoom, json!({"set": "2150-01-01T00:00:00Z"})).await;
    assert_eq!((body["now"].clone(), body["frozen"].clone()), (json!("2150-01-01T00:00:00Z"), json!(true)));
    let (_, body) = post_clock(&zoom, json!({"freeze": false})).await;
    assert_eq!(body["frozen"], false);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let now = instant(&clock(&zoom).await["now"]);
    let start = time::macros::datetime!(2150-01-01 00:00 UTC);
    assert!(now > start && now < start + time::Duration::seconds(30), "{now}");
    let actions: Vec<Value> = zoom.app.journal(&zoom.account).await.iter().map(|e| e["action"].clone()).collect();
    for action in ["clock.frozen", "clock.advanced", "clock.set", "clock.unfrozen"] {
        assert!(actions.contains(&json!(action)), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn only_a_restore_takes_the_clock_back_and_a_frozen_one_stays_frozen() {
    let zoom = Zoom::start().await;
    let (_, body) = post_clock(&zoom, json!({"set": "2100-01-01T00:00:00Z"})).await;
    assert_eq!(body["frozen"], false);
    post_clock(&zoom, json!({"freeze": true})).await;
    let taken = instant(&clock(&zoom).await["now"]);
    let path = format!("/tenants/{}/snapshots", zoom.account);
    assert_eq!(zoom.app.admin(Method::POST, &path, Some(json!({"name": "t0"}))).await.status(), 201);
    post_clock(&zoom, json!({"advance_seconds": 7 * 86_400})).await;
    post_clock(&zoom, json!({"freeze": false})).await;
    let response = zoom.app.admin(Method::POST, &format!("{path}/t0/restore"), None).await;
    assert_eq!(response.status(), 200);
    let now = clock(&zoom).await;
    assert_eq!((instant(&now["now"]), now["frozen"].clone()), (taken, json!(true)), "{now}");
}
