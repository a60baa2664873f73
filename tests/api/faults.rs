//! Fault injection (issue 10) over a real socket: each effect seen by a real HTTP client,
//! commit-then-fail proven by introspection, frequencies, isolation, restarts, bad rules.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cloudflare::{Cf, cloudflare_world};
use crate::helpers::{TestApp, unique, zoom_world};
use crate::zoom::{Zoom, oauth_token};

/// Posts a rule; returns its id (panics unless 201).
async fn add_rule(app: &TestApp, account: &str, rule: Value) -> String {
    let response = app.admin(Method::POST, &format!("/tenants/{account}/faults"), Some(rule)).await;
    let status = response.status();
    let body: Value = response.json().await.expect("json");
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

async fn rules(app: &TestApp, account: &str) -> Vec<Value> {
    let response = app.admin(Method::GET, &format!("/tenants/{account}/faults"), None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["rules"].as_array().cloned().expect("rules")
}

/// The request journal's entries for an operation.
async fn requests(app: &TestApp, account: &str, query: &str) -> Vec<Value> {
    let response = app.admin(Method::GET, &format!("/tenants/{account}/requests?{query}"), None).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    body["requests"].as_array().cloned().expect("requests")
}

fn status_update() -> Value {
    json!({"action": "deactivate"})
}

/// Whether any error in the chain is an I/O error of `kind`.
fn io_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

#[tokio::test]
async fn an_injected_503_is_zooms_own_answer_and_nothing_is_applied() {
    let zoom = Zoom::start().await;
    let session = zoom.sso_login("lena@example.com").await;
    let rule = add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.status.update"}, "effect": {"status": 503}, "times": 1}),
    )
    .await;
    let response = zoom
        .app
        .http
        .put(zoom.app.url("/v2/users/lena@example.com/status"))
        .bearer_auth(&zoom.token)
        .json(&status_update())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.headers()["x-zm-trackingid"].to_str().unwrap().starts_with("v=2.0;"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"code": 503, "message": "The service is temporarily unavailable. Try again later."}));
    // Not applied: the session lives, the user is active.
    assert_eq!(zoom.app.introspect(&session).await["active"], true);
    let (_, user) = zoom.call(Method::GET, "/users/lena@example.com", None).await;
    assert_eq!(user["status"], "active");
    // `times: 1`: the retry goes through.
    let (status, _) = zoom.call(Method::PUT, "/users/lena@example.com/status", Some(status_update())).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(zoom.app.introspect(&session).await["active"], false);
    let listed = rules(&zoom.app, &zoom.account).await;
    assert_eq!(
        (listed[0]["id"].as_str(), &listed[0]["fired"], &listed[0]["seen"]),
        (Some(rule.as_str()), &json!(1), &json!(2))
    );
    let audit = zoom.app.journal(&zoom.account).await;
    assert!(audit.iter().any(|e| e["action"] == "fault.injected" && e["target"] == rule.as_str()), "{audit:?}");
}

#[tokio::test]
async fn a_zoom_429_storm_carries_zooms_rate_limit_headers() {
    let zoom = Zoom::start().await;
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"method": "GET", "path": "/v2/users/*"}, "effect": {"status": 429, "retry_after": 2}}),
    )
    .await;
    for _ in 0..3 {
        let response =
            zoom.app.http.get(zoom.app.url("/v2/users/ben@example.com")).bearer_auth(&zoom.token).send().await.unwrap();
        assert_eq!(response.status(), 429);
        let headers = response.headers().clone();
        assert_eq!(headers["retry-after"], "2");
        assert_eq!(headers["x-ratelimit-type"], "QPS");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(headers["x-ratelimit-category"], "Light");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], 429);
    }
    // The path pattern matched one segment only: the list is not hit.
    let (status, _) = zoom.call(Method::GET, "/users", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn cloudflare_answers_with_its_envelope_and_rate_limit_headers() {
    let cf = Cf::start().await;
    let wiki = cf.login("jdoe@example.com", "access", "Wiki").await;
    add_rule(
        &cf.app,
        &cf.account,
        json!({"match": {"operation": "cloudflare.access.revoke_user"}, "effect": {"status": 503}, "times": 1}),
    )
    .await;
    let answer = cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com"})).await;
    answer.assert_error(503, &[10013]);
    assert_eq!(answer.header("retry-after"), "1");
    assert!(answer.header("cf-ray").ends_with("-UPL"));
    assert_eq!(cf.state_of(&wiki).await, "active");
    add_rule(
        &cf.app,
        &cf.account,
        json!({"match": {"operation": "cloudflare.access.users.list"}, "effect": {"status": 429}}),
    )
    .await;
    let limited = cf.get(&cf.acct("/access/users"), &cf.admin()).await;
    limited.assert_error(429, &[971]);
    assert_eq!(limited.header("retry-after"), "1");
    assert!(limited.header("ratelimit").contains("r=0"), "{}", limited.header("ratelimit"));
    assert_eq!(limited.header("ratelimit-policy"), "\"default\";q=1200;w=300");
}

#[tokio::test]
async fn a_reset_is_a_connection_error_and_an_empty_reply_has_no_bytes() {
    let zoom = Zoom::start().await;
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"reset": true}, "times": 1}),
    )
    .await;
    let err = zoom
        .app
        .http
        .get(zoom.app.url("/v2/users/ben@example.com"))
        .bearer_auth(&zoom.token)
        .send()
        .await
        .expect_err("the connection is reset");
    assert_eq!(io_kind(&err), Some(std::io::ErrorKind::ConnectionReset), "{err:?}");
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"empty": true}, "times": 1}),
    )
    .await;
    // A raw socket sees the end of the stream without a byte.
    let mut stream = tokio::net::TcpStream::connect(zoom.app.base.trim_start_matches("http://")).await.unwrap();
    let request =
        format!("GET /v2/users/ben@example.com HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n", zoom.token);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received)).await;
    assert!(matches!(read, Ok(Ok(0))), "{read:?} {:?}", String::from_utf8_lossy(&received));
    // Both rules are spent: the next call is answered.
    let (status, _) = zoom.call(Method::GET, "/users/ben@example.com", None).await;
    assert_eq!(status, 200);
    let journal = requests(&zoom.app, &zoom.account, "operation=zoom.users.get").await;
    let effects: Vec<(&Value, &Value)> = journal.iter().map(|e| (&e["status"], &e["fault"]["effect"])).collect();
    assert_eq!(effects, [(&json!(0), &json!("reset")), (&json!(0), &json!("empty")), (&json!(200), &Value::Null)]);
}

#[tokio::test]
async fn a_hang_is_bounded_and_latency_is_added() {
    let zoom = Zoom::start().await;
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"hang_ms": 1500}, "times": 2}),
    )
    .await;
    let url = zoom.app.url("/v2/users/ben@example.com");
    // A client with a shorter timeout times out ...
    let err = zoom.app.http.get(&url).bearer_auth(&zoom.token).timeout(Duration::from_millis(300)).send().await;
    assert!(err.expect_err("a timeout").is_timeout());
    // ... and one that waits sees the connection end, no sooner than the hang.
    let started = Instant::now();
    let err = zoom.app.http.get(&url).bearer_auth(&zoom.token).send().await.expect_err("no answer");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10), "{waited:?} {err:?}");
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"latency_ms": 400}, "times": 1}),
    )
    .await;
    let started = Instant::now();
    let (status, body) = zoom.call(Method::GET, "/users/ben@example.com", None).await;
    let waited = started.elapsed();
    assert_eq!((status, body["email"].as_str()), (StatusCode::OK, Some("ben@example.com")));
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    let journal = requests(&zoom.app, &zoom.account, "operation=zoom.users.get&status=200").await;
    assert!(journal[0]["duration_ms"].as_f64().unwrap() >= 400.0, "{journal:?}");
    assert_eq!(journal[0]["fault"]["latency_ms"], 400);
}

#[tokio::test]
async fn commit_then_fail_applies_the_write_then_answers_503() {
    let zoom = Zoom::start().await;
    let session = zoom.sso_login("lena@example.com").await;
    let rule = add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.token.revoke", "user": "lena@example.com"},
               "effect": {"commit_then": {"status": 503}}}),
    )
    .await;
    let (status, body) = zoom.call(Method::DELETE, "/users/lena@example.com/token", None).await;
    assert_eq!((status.as_u16(), &body["code"]), (503, &json!(503)), "{body}");
    // The client saw a 503, yet the session is dead.
    let info = zoom.app.introspect(&session).await;
    assert_eq!(info["active"], false, "{info}");
    let journal = requests(&zoom.app, &zoom.account, "operation=zoom.users.token.revoke").await;
    assert_eq!(journal.len(), 1);
    let entry = &journal[0];
    assert_eq!((&entry["status"], &entry["error_code"]), (&json!(503), &json!("503")));
    assert_eq!(
        entry["fault"],
        json!({"rule": rule, "effect": "commit_then", "applied_status": 204, "failure": "status"})
    );
    assert_eq!(entry["user"], "lena@example.com");
    // Another user is not matched.
    let ben = zoom.sso_login("ben@example.com").await;
    let (status, _) = zoom.call(Method::DELETE, "/users/ben@example.com/token", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(zoom.app.introspect(&ben).await["active"], false);
}

#[tokio::test]
async fn commit_then_reset_on_cloudflare_revokes_and_drops_the_connection() {
    let cf = Cf::start().await;
    let wiki = cf.login("jdoe@example.com", "access", "Wiki").await;
    add_rule(
        &cf.app,
        &cf.account,
        json!({"match": {"operation": "cloudflare.access.revoke_user"}, "effect": {"commit_then": {"reset": true}}}),
    )
    .await;
    let url = cf.app.url(&format!("/client/v4{}", cf.acct("/access/organizations/revoke_user")));
    let err = cf
        .app
        .http
        .post(url)
        .bearer_auth(format!("{}-admin", cf.account))
        .json(&json!({"email": "jdoe@example.com"}))
        .send()
        .await
        .expect_err("reset");
    assert_eq!(io_kind(&err), Some(std::io::ErrorKind::ConnectionReset), "{err:?}");
    assert_ne!(cf.state_of(&wiki).await, "active");
    let journal = requests(&cf.app, &cf.account, "operation=cloudflare.access.revoke_user").await;
    assert_eq!(journal[0]["fault"]["applied_status"], 200);
    assert_eq!(journal[0]["status"], 0);
}

/// The answers (fault or not) to `n` GETs of a fresh tenant with the same seeded rule.
async fn seeded_run(app: &TestApp, n: usize) -> Vec<u16> {
    let account = unique("zs");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = oauth_token(app, &account, &format!("{account}-admin"), "admin-secret").await;
    add_rule(
        app,
        &account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 500}, "probability": 0.5, "seed": 7}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..n {
        let response = app.http.get(app.url("/v2/users/ben@example.com")).bearer_auth(&token).send().await.unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn a_seeded_probability_repeats_across_runs() {
    let app = TestApp::spawn().await;
    let first = seeded_run(&app, 24).await;
    let second = seeded_run(&app, 24).await;
    assert_eq!(first, second);
    let failed = first.iter().filter(|s| **s == 500).count();
    assert!((4..=20).contains(&failed), "{first:?}");
}

#[tokio::test]
async fn times_after_and_expiry_bound_a_rule() {
    let zoom = Zoom::start().await;
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 502}, "after": 2, "times": 1}),
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(zoom.call(Method::GET, "/users/ben@example.com", None).await.0.as_u16());
    }
    assert_eq!(seen, [200, 200, 502, 200]);
    // Expiry follows the tenant's clock.
    let clock: Value =
        zoom.app.admin(Method::GET, &format!("/tenants/{}/clock", zoom.account), None).await.json().await.unwrap();
    let now =
        time::OffsetDateTime::parse(clock["now"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    let expires = (now + time::Duration::seconds(60)).format(&time::format_description::well_known::Rfc3339).unwrap();
    add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.list"}, "effect": {"status": 500}, "expires_at": expires}),
    )
    .await;
    assert_eq!(zoom.call(Method::GET, "/users", None).await.0, 500);
    zoom.app.advance_clock(&zoom.account, 120).await;
    let token = zoom.app_token("admin").await;
    assert_eq!(zoom.call_as(&token, Method::GET, "/users", None).await.0, 200);
}

#[tokio::test]
async fn faults_stay_in_their_tenant_and_go_with_a_delete() {
    let zoom = Zoom::start().await;
    let other = unique("zo");
    zoom.app.create_tenant(zoom_world(&other, "pro", "off")).await;
    let other_token = oauth_token(&zoom.app, &other, &format!("{other}-admin"), "admin-secret").await;
    let rule = add_rule(
        &zoom.app,
        &zoom.account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 500}}),
    )
    .await;
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.0, 500);
    assert_eq!(zoom.call_as(&other_token, Method::GET, "/users/ben@example.com", None).await.0, 200);
    assert!(rules(&zoom.app, &other).await.is_empty());
    // Another tenant's rule id is not found under this tenant.
    let wrong = zoom.app.admin(Method::DELETE, &format!("/tenants/{other}/faults/{rule}"), None).await;
    assert_eq!(wrong.status(), 404);
    let deleted = zoom.app.admin(Method::DELETE, &format!("/tenants/{}/faults/{rule}", zoom.account), None).await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(zoom.call(Method::GET, "/users/ben@example.com", None).await.0, 200);
    // Delete all, and a reset clears the rules too.
    add_rule(&zoom.app, &zoom.account, json!({"effect": {"status": 500}})).await;
    add_rule(&zoom.app, &zoom.account, json!({"effect": {"status": 501}})).await;
    let all: Value =
        zoom.app.admin(Method::DELETE, &format!("/tenants/{}/faults", zoom.account), None).await.json().await.unwrap();
    assert_eq!(all["deleted"], 2);
    add_rule(&zoom.app, &zoom.account, json!({"effect": {"status": 500}})).await;
    let reset = zoom.app.admin(Method::POST, &format!("/tenants/{}/reset", zoom.account), None).await;
    assert_eq!(reset.status(), 200);
    assert!(rules(&zoom.app, &zoom.account).await.is_empty());
    let token = zoom.app_token("admin").await;
    assert_eq!(zoom.call_as(&token, Method::GET, "/users/ben@example.com", None).await.0, 200);
}

#[tokio::test]
async fn faults_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let dir = app.take_dir();
    let account = unique("zr");
    app.create_tenant(zoom_world(&account, "pro", "off")).await;
    let rule = add_rule(
        &app,
        &account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 503}, "times": 2}),
    )
    .await;
    let token = oauth_token(&app, &account, &format!("{account}-admin"), "admin-secret").await;
    let get = |app: &TestApp, token: &str| {
        let request = app.http.get(app.url("/v2/users/ben@example.com")).bearer_auth(token.to_owned());
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(&app, &token).await, 503);
    app.stop().await;
    let app = TestApp::spawn_on(&app.database_url).await;
    let listed = rules(&app, &account).await;
    assert_eq!((listed[0]["id"].as_str(), &listed[0]["fired"]), (Some(rule.as_str()), &json!(1)));
    assert_eq!(get(&app, &token).await, 503);
    assert_eq!(get(&app, &token).await, 200);
    let journal = requests(&app, &account, "operation=zoom.users.get").await;
    assert_eq!(journal.iter().map(|e| e["status"].as_u64().unwrap()).collect::<Vec<_>>(), [503, 503, 200]);
    drop(dir);
}

#[tokio::test]
async fn bad_rules_are_refused_with_a_clear_message() {
    let zoom = Zoom::start().await;
    for (rule, words) in [
        (json!({"match": {"operation": "zoom.users.explode"}, "effect": {"status": 503}}), "match.operation"),
        (
            json!({"match": {"operation": "cloudflare.access.revoke_user"}, "effect": {"status": 503}}),
            "not an operation of a zoom tenant",
        ),
        (json!({"effect": {"status": 200}}), "effect.status"),
        (json!({"effect": {"status": 600}}), "effect.status"),
        (json!({"effect": {"status": 503}, "probability": 1.01}), "probability"),
        (json!({"effect": {"status": 503}, "probability": -0.1}), "probability"),
        (json!({"effect": {"hang_ms": -5}}), "effect.hang_ms"),
        (json!({"effect": {"hang_ms": 10_000_000}}), "effect.hang_ms"),
        (json!({"effect": {"latency_ms": {"min": 10, "max": 5}}}), "min must not exceed max"),
        (json!({"effect": {"status": 503}, "times": 0}), "times"),
        (json!({"effect": {"status": 503}, "after": 1e12}), "after"),
        (json!({"effect": {"status": 503}, "expires_at": "tomorrow"}), "expires_at"),
        (json!({"effect": {"status": 503}, "match": {"method": "BREW"}}), "match.method"),
        (json!({"effect": {"status": 503}, "match": {"path": "v2/users"}}), "match.path"),
        (json!({"effect": {"status": 503}, "match": {"colour": "red"}}), "unknown field"),
        (json!({"effect": {"teleport": true}}), "effect"),
        (json!({"match": {}}), "effect: is required"),
        (json!([1, 2]), "JSON object"),
    ] {
        let response =
            zoom.app.admin(Method::POST, &format!("/tenants/{}/faults", zoom.account), Some(rule.clone())).await;
        let status = response.status();
        let body: Value = response.json().await.expect("json");
        assert_eq!(status, 400, "{rule} → {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{rule} → {message}");
    }
    assert!(rules(&zoom.app, &zoom.account).await.is_empty());
    let missing = zoom.app.admin(Method::POST, "/tenants/nope/faults", Some(json!({"effect": {"status": 503}}))).await;
    assert_eq!(missing.status(), 404);
    let unauthenticated =
        zoom.app.http.get(zoom.app.url(&format!("/_userplane/tenants/{}/faults", zoom.account))).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
}

#[tokio::test]
async fn a_cloudflare_rule_can_name_the_user_of_the_path() {
    let cf = Cf::start_with(cloudflare_world).await;
    let jdoe = cf.user_id("jdoe@example.com").await;
    let sam = cf.user_id("sam@example.com").await;
    add_rule(
        &cf.app,
        &cf.account,
        json!({"match": {"user": "jdoe@example.com", "credential": format!("{}-nobody", cf.account)}, "effect": {"status": 500}}),
    )
    .await;
    // The credential does not match (ids are not the token): nothing fires.
    cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await.ok();
    add_rule(&cf.app, &cf.account, json!({"match": {"user": "jdoe@example.com"}, "effect": {"status": 500}})).await;
    cf.get(&cf.acct(&format!("/access/users/{jdoe}/active_sessions")), &cf.admin()).await.assert_error(500, &[10013]);
    cf.get(&cf.acct(&format!("/access/users/{sam}/active_sessions")), &cf.admin()).await.ok();
}

/// On PostgreSQL every node reads the rules per request: a rule posted to one node
/// applies on the next request to another, `times` is counted across nodes, and a
/// delete on one node stops it on all.
#[tokio::test]
async fn a_rule_posted_to_one_node_applies_on_every_node() {
    let Some(db) = crate::helpers::FreshPostgres::create("a_rule_posted_to_one_node_applies_on_every_node").await
    else {
        return;
    };
    let (a, b) = (TestApp::spawn_on(&db.url).await, TestApp::spawn_on(&db.url).await);
    let account = unique("zm");
    a.create_tenant(zoom_world(&account, "pro", "off")).await;
    let token = oauth_token(&a, &account, &format!("{account}-admin"), "admin-secret").await;
    let get = |app: &TestApp| {
        let request = app.http.get(app.url("/v2/users/ben@example.com")).bearer_auth(token.clone());
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(&b).await, 200);
    let rule = add_rule(
        &a,
        &account,
        json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 503}, "times": 2}),
    )
    .await;
    assert_eq!([get(&b).await, get(&a).await, get(&b).await], [503, 503, 200]);
    let listed = rules(&b, &account).await;
    assert_eq!(listed[0]["fired"], 2);
    b.admin(Method::DELETE, &format!("/tenants/{account}/faults/{rule}"), None).await;
    add_rule(&b, &account, json!({"match": {"operation": "zoom.users.get"}, "effect": {"status": 500}})).await;
    assert_eq!(get(&a).await, 500);
    let all = a.admin(Method::DELETE, &format!("/tenants/{account}/faults"), None).await;
    assert_eq!(all.status(), 200);
    assert_eq!(get(&b).await, 200);
    // Both nodes' requests are in the one journal: another node's within its batch
    // interval (a read flushes only its own node's queue).
    tokio::time::sleep(userplane::harness::requests::BATCH_INTERVAL * 4).await;
    let journal = requests(&a, &account, "operation=zoom.users.get").await;
    assert_eq!(journal.len(), 6, "{journal:?}");
}

/// Runs the real `userplane offboard --json EMAIL` against `app`'s Zoom tenant (`zoom_world`'s
/// admin app) and, if given, a Cloudflare tenant with a `{cf}-offboard` token.
async fn offboard(app: &TestApp, zoom: &str, cf: Option<&str>, email: &str) -> crate::offboard_harness::Output {
    let base = &app.base;
    let defaults = [
        ("--zoom-api-url", format!("{base}/v2")),
        ("--zoom-oauth-url", format!("{base}/oauth/token")),
        ("--cloudflare-api-url", format!("{base}/client/v4")),
        ("--request-timeout", "1s".to_owned()),
        ("--max-retry-time", "20s".to_owned()),
    ];
    let mut run =
        crate::offboard_harness::Run::new("offboard", defaults.into_iter().map(|(f, v)| (f.to_owned(), v)).collect())
            .env("ZOOM_ACCOUNT_ID", zoom)
            .env("ZOOM_CLIENT_ID", &format!("{zoom}-admin"))
            .env("ZOOM_CLIENT_SECRET", "admin-secret");
    if let Some(cf) = cf {
        run = run.env("CLOUDFLARE_API_TOKEN", &format!("{cf}-offboard")).env("CLOUDFLARE_ACCOUNT_ID", cf);
    }
    run.args(["--json", email]).output().await
}

/// `userplane offboard` on a bad day, against userplane's own faults: a plain 503 and a plain
/// reset (nothing applied), hangs (a timeout), and commit-then-fail with each failure (503,
/// reset, hang) on the writes the client reads back, and a commit-then-503 on a revocation.
/// The person ends fully offboarded (introspection and GETs), no change is sent twice, and
/// the report agrees with the request journal: a step says "applied, but <failure>"
/// exactly where the journal shows its change applied although the client was told
/// otherwise, each such step counts one retry, and a revocation (which no read can show)
/// says it was sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offboard_cli_gets_through_a_bad_day_and_the_person_ends_offboarded() {
    const LENA: &str = "lena@example.com";
    let app = TestApp::spawn().await;
    let zoom = unique("zm");
    let mut zoom_doc = zoom_world(&zoom, "pro", "off");
    zoom_doc["users"][1]["assistants"] = json!([LENA]); // Lena assists Adam: a scheduler to leave
    app.create_tenant(zoom_doc).await;
    let cf = crate::helpers::unique_hex32();
    let mut cf_doc = crate::cloudflare::cloudflare_world_with(&cf, "off", &[(LENA.to_owned(), "Lena".to_owned())]);
    cf_doc["api_tokens"].as_array_mut().unwrap().push(json!({"value": format!("{cf}-offboard"),
        "permissions": [crate::cloudflare::ORG_WRITE, crate::cloudflare::AUDIT_READ]}));
    app.create_tenant(cf_doc).await;
    let sso = app.login(&zoom, json!({"user": LENA, "kind": "sso"})).await;
    let wiki = app.login(&cf, json!({"user": LENA, "kind": "access", "app": "Wiki"})).await;
    let once =
        |operation: &str, effect: Value| json!({"match": {"operation": operation}, "effect": effect, "times": 1});
    for (account, rule) in [
        (&zoom, once("zoom.users.get", json!({"hang_ms": 2500}))),
        (&zoom, once("zoom.users.token.revoke", json!({"status": 503}))),
        (&zoom, once("zoom.users.assistants.delete", json!({"commit_then": {"reset": true}}))),
        (&zoom, once("zoom.users.schedulers.delete", json!({"commit_then": {"hang_ms": 2500}}))),
        (&zoom, once("zoom.users.status.update", json!({"commit_then": {"status": 503}}))),
        (&cf, once("cloudflare.access.users.list", json!({"reset": true}))),
        (&cf, once("cloudflare.access.revoke_user", json!({"commit_then": {"status": 503}}))),
    ] {
        add_rule(&app, account, rule).await;
    }
    let output = offboard(&app, &zoom, Some(&cf), LENA).await;
    assert_eq!(output.code, 0, "{output}");
    let report = output.json();

    // The end state, whatever was said on the way.
    assert_eq!(app.introspect(&sso).await["active"], false);
    assert_eq!(app.introspect(&wiki).await["active"], false);
    let token = oauth_token(&app, &zoom, &format!("{zoom}-admin"), "admin-secret").await;
    let get = |path: String| {
        let request = app.http.get(app.url(&path)).bearer_auth(&token);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let lena = get(format!("/v2/users/{LENA}")).await;
    assert_eq!(lena["status"], "inactive", "{lena}");
    let assistants = get(format!("/v2/users/{LENA}/assistants")).await;
    assert_eq!(assistants["assistants"], json!([]), "{assistants}");
    let adams = get("/v2/users/admin@example.com/assistants".to_owned()).await;
    assert_eq!(adams["assistants"], json!([]), "{adams}");
    for account in [&zoom, &cf] {
        assert!(rules(&app, account).await.iter().all(|r| r["fired"] == 1), "{:?}", rules(&app, account).await);
    }

    // The report and the journal agree, step by step.
    let say = |failure: &str| match failure {
        "status" => "the provider answered 503",
        "reset" => "the connection was reset",
        "hang" => "the request timed out",
        other => panic!("no wording for {other}"),
    };
    for (step, account, operation, read_back) in [
        ("zoom-revoke-sso", &zoom, "zoom.users.token.revoke", false),
        ("cloudflare-revoke", &cf, "cloudflare.access.revoke_user", false),
        ("zoom-delete-assistants", &zoom, "zoom.users.assistants.delete", true),
        ("zoom-remove-schedulers", &zoom, "zoom.users.schedulers.delete", true),
        ("zoom-deactivate", &zoom, "zoom.users.status.update", true),
    ] {
        let reported = crate::offboard_harness::Output::json_step(&report, LENA, step);
        let message = reported["message"].as_str().unwrap();
        let journal = requests(&app, account, &format!("operation={operation}")).await;
        let first = &journal[0];
        let told = say(first["fault"]["failure"].as_str().unwrap_or("status"));
        let applied = first["fault"]["applied_status"].as_u64().is_some_and(|s| (200..300).contains(&s));
        let context = format!("{step}: {reported:#}\njournal: {journal:#?}");
        assert_eq!((reported["outcome"].as_str(), &reported["retries"]), (Some("done"), &json!(1)), "{context}");
        assert_ne!(first["fault"], Value::Null, "the first {operation} was injected: {context}");
        if read_back {
            // Applied although told otherwise: said so, and not sent a second time.
            assert!(applied, "{context}");
            assert!(message.starts_with(&format!("applied, but {told} (read again: ")), "{context}");
            assert_eq!(journal.len(), 1, "the change is sent once: {context}");
        } else {
            // No read shows a revocation: sent again, and said so, never "not applied".
            assert!(message.ends_with(&format!("(sent again after {told}: harmless to repeat)")), "{context}");
            assert_eq!(journal.len(), 2, "{context}");
            let answered = if account == &zoom { 204 } else { 200 };
            assert_eq!((&journal[1]["fault"], &journal[1]["status"]), (&Value::Null, &json!(answered)), "{context}");
        }
        assert_eq!(applied, operation != "zoom.users.token.revoke", "{context}");
    }
    // The reads that hung or were reset were retried and counted as attempts, not retries.
    let lookups = report["people"][0]["lookups"].as_array().unwrap();
    let retried = |l: &Value| l["calls"].as_array().unwrap().iter().any(|c| c["attempts"].as_u64() >= Some(2));
    assert!(lookups.iter().all(|l| l["outcome"] == "found" && retried(l)), "{lookups:?}");
    let statuses = |journal: Vec<Value>| journal.iter().map(|e| e["status"].as_u64().unwrap()).collect::<Vec<_>>();
    assert_eq!(statuses(requests(&app, &cf, "operation=cloudflare.access.users.list").await)[..2], [0, 200]);
    println!("{output}");
}

/// The other side of the agreement: a change refused with a plain reset (nothing applied,
/// as the journal shows) is read back, found missing and sent again — and the report says
/// exactly that, never "applied".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_change_that_was_not_applied_is_sent_again_and_reported_so() {
    const LENA: &str = "lena@example.com";
    let app = TestApp::spawn().await;
    let zoom = unique("zm");
    app.create_tenant(zoom_world(&zoom, "pro", "off")).await;
    add_rule(
        &app,
        &zoom,
        json!({"match": {"operation": "zoom.users.assistants.delete"}, "effect": {"reset": true}, "times": 1}),
    )
    .await;
    let output = offboard(&app, &zoom, None, LENA).await;
    assert_eq!(output.code, 0, "{output}");
    let step = crate::offboard_harness::Output::json_step(&output.json(), LENA, "zoom-delete-assistants");
    let journal = requests(&app, &zoom, "operation=zoom.users.assistants.delete").await;
    let context = format!("{step:#}\njournal: {journal:#?}");
    assert_eq!(
        (&journal[0]["status"], &journal[0]["fault"]["effect"], &journal[0]["fault"]["applied_status"]),
        (&json!(0), &json!("reset"), &Value::Null),
        "{context}"
    );
    assert_eq!((&journal[1]["status"], &journal[1]["fault"]), (&json!(204), &Value::Null), "{context}");
    assert_eq!(journal.len(), 2, "{context}");
    assert_eq!((step["outcome"].as_str(), &step["retries"]), (Some("done"), &json!(1)), "{context}");
    let message = step["message"].as_str().unwrap();
    assert!(message.ends_with("(sent again: the connection was reset and the change was not there)"), "{context}");
    assert!(!message.contains("applied"), "{context}");
    let token = oauth_token(&app, &zoom, &format!("{zoom}-admin"), "admin-secret").await;
    let assistants: Value = app
        .http
        .get(app.url(&format!("/v2/users/{LENA}/assistants")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(assistants["assistants"], json!([]), "{assistants}");
}
