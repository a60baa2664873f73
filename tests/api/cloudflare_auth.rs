//! The Cloudflare dialect's credentials, routing, malformed input, rate limit and token
//! verification, with wire snapshots of the key answers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::{Auth, Cf, cloudflare_world, cloudflare_world_with, send};
use crate::helpers::unique_hex32;

#[tokio::test]
async fn missing_credentials_are_9106() {
    let cf = Cf::start().await;
    let response = cf.get(&cf.acct("/access/users"), &Auth::None).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.body,
        json!({"success": false, "errors": [{"code": 9106, "message": "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}],
               "messages": [], "result": null})
    );
    // What the Python SDK sends for api_email + api_token (the token is dropped), or
    // api_key + api_token: half a key pair is no credential.
    let email_only = Auth::Headers(vec![("X-Auth-Email", "admin@example.com".into())]);
    cf.get(&cf.acct("/access/users"), &email_only).await.assert_error(400, &[9106]);
    let key_only = Auth::Headers(vec![("X-Auth-Key", format!("{}-key", cf.account))]);
    cf.get(&cf.acct("/access/users"), &key_only).await.assert_error(400, &[9106]);
}

#[tokio::test]
async fn malformed_credential_headers_are_6003_with_their_chain() {
    let cf = Cf::start().await;
    let path = cf.acct("/access/users");
    for value in ["Basic abc", "Bearer", "Bearer two words", "Bearer caf\u{e9}!"] {
        let auth = Auth::Headers(vec![("Authorization", value.into())]);
        let response = cf.get(&path, &auth).await;
        assert_eq!(response.status, 400, "{value}");
        assert_eq!(
            response.body,
            json!({"success": false, "messages": [], "result": null, "errors": [{"code": 6003, "message": "Invalid request headers",
                   "error_chain": [{"code": 6111, "message": "Invalid format for Authorization header"}]}]}),
            "{value}"
        );
    }
    let bad_key = Auth::Key("admin@example.com".into(), "has spaces in it".into());
    let response = cf.get(&path, &bad_key).await;
    response.assert_error(400, &[6003]);
    assert_eq!(response.body["errors"][0]["error_chain"][0]["code"], 6103);
    let both = Auth::Key("not-an-email".into(), "has spaces".into());
    let response = cf.get(&path, &both).await;
    response.assert_error(400, &[6003]);
    let chain: Vec<i64> = response.body["errors"][0]["error_chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_i64().unwrap())
        .collect();
    assert_eq!(chain, [6102, 6103]);
}

#[tokio::test]
async fn unknown_keys_tokens_and_foreign_accounts_are_403() {
    let cf = Cf::start().await;
    let path = cf.acct("/access/users");
    let response = cf.get(&path, &Auth::Key("admin@example.com".into(), "0123456789abcdef".into())).await;
    response.assert_error(403, &[9103]);
    assert_eq!(response.body["errors"][0]["message"], "Unknown X-Auth-Key or X-Auth-Email");
    // The right key with another email is unknown too.
    let wrong_email = Auth::Key("someone@example.com".into(), format!("{}-key", cf.account));
    cf.get(&path, &wrong_email).await.assert_error(403, &[9103]);
    let response = cf.get(&path, &Auth::Bearer("never-issued".into())).await;
    response.assert_error(403, &[9109]);
    assert_eq!(response.body["errors"][0]["message"], "Invalid access token");
    cf.get(&path, &cf.token("disabled")).await.assert_error(403, &[9109]);

    // A token or key of account A on account B (which exists) or on no account at all.
    let other = unique_hex32();
    cf.app.create_tenant(cloudflare_world(&other)).await;
    for target in [other.clone(), unique_hex32()] {
        for auth in [cf.admin(), cf.key()] {
            let response = cf.get(&format!("/accounts/{target}/access/users"), &auth).await;
            response.assert_error(403, &[9109]);
            assert_eq!(response.body["errors"][0]["message"], "Unauthorized to access requested resource");
        }
    }
    // ... and B's users are untouched by A's revoke attempt.
    let b_session = cf.app.login(&other, json!({"user": "jdoe@example.com", "kind": "access", "app": "Wiki"})).await;
    let attempt = cf
        .post(
            &format!("/accounts/{other}/access/organizations/revoke_user"),
            &cf.admin(),
            json!({"email": "jdoe@example.com"}),
        )
        .await;
    attempt.assert_error(403, &[9109]);
    assert_eq!(cf.state_of(&b_session).await, "active");
}

#[tokio::test]
async fn a_token_without_the_group_is_10000_and_a_global_key_holds_every_group() {
    let cf = Cf::start().await;
    let response = cf.get(&cf.acct("/access/users"), &cf.token("none")).await;
    assert_eq!(response.status, 403);
    assert_eq!(
        response.body,
        json!({"success": false, "errors": [{"code": 10000, "message": "Authentication error"}], "messages": [], "result": null})
    );
    for path in ["/access/users", "/access/apps", "/access/organizations", "/devices"] {
        cf.get(&cf.acct(path), &cf.key()).await.ok();
    }
}

#[tokio::test]
async fn the_sdks_extra_headers_are_accepted_and_ignored() {
    let cf = Cf::start().await;
    let auth = Auth::Headers(vec![
        ("Authorization", format!("Bearer {}-admin", cf.account)),
        ("api-version", "2026-11-22".into()),
        ("X-Stainless-Lang", "python".into()),
        ("X-Stainless-Package-Version", "5.9.0".into()),
        ("x-stainless-retry-count", "0".into()),
        ("x-stainless-read-timeout", "60".into()),
        ("User-Agent", "Cloudflare/Python 5.9.0".into()),
    ]);
    cf.get(&cf.acct("/access/users"), &auth).await.ok();
    // The Go SDK sends every credential it has: the key pair is used.
    let all = Auth::Headers(vec![
        ("Authorization", "Bearer not-a-known-token".into()),
        ("X-Auth-Email", "admin@example.com".into()),
        ("X-Auth-Key", format!("{}-key", cf.account)),
    ]);
    cf.get(&cf.acct("/access/users"), &all).await.ok();
}

#[tokio::test]
async fn unknown_routes_and_bad_ids_are_7003_and_wrong_methods_7001() {
    let cf = Cf::start().await;
    let response = cf.get("/accounts/nope/access/users", &cf.admin()).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.body,
        json!({"success": false, "messages": [], "result": null, "errors": [
            {"code": 7003, "message": "Could not route to /client/v4/accounts/nope/access/users, perhaps your object identifier is invalid?"},
            {"code": 7000, "message": "No route for that URI"}]})
    );
    // Routing comes before credentials.
    cf.get("/accounts/nope/access/users", &Auth::None).await.assert_error(400, &[7003, 7000]);
    cf.get(&cf.acct("/access/nothing-here"), &cf.admin()).await.assert_error(400, &[7003, 7000]);
    for odd in ["/", "", "//accounts", "/accounts/", "/user/tokens/verify/"] {
        cf.get(odd, &Auth::None).await.assert_error(400, &[7003, 7000]);
    }
    cf.get(&cf.acct("/access/users/not-a-uuid/active_sessions"), &cf.admin()).await.assert_error(400, &[7003, 7000]);
    cf.get("/zones/xyz/access/apps", &cf.admin()).await.assert_error(400, &[7003, 7000]);
    let response = cf.call(Method::DELETE, &cf.acct("/access/organizations/revoke_user"), &cf.admin(), None).await;
    response.assert_error(405, &[7001]);
    assert_eq!(response.body["errors"][0]["message"], "Method DELETE not available for that URI.");
}

#[tokio::test]
async fn malformed_bodies_get_an_envelope_4xx() {
    let cf = Cf::start().await;
    let url = cf.app.url(&format!("/client/v4/accounts/{}/access/organizations/revoke_user", cf.account));
    let token = format!("{}-admin", cf.account);
    let post = |content_type: &'static str, body: String| {
        cf.app.http.post(&url).bearer_auth(&token).header("content-type", content_type).body(body)
    };
    let response = send(post("application/json", "{\"email\": ".into())).await;
    response.assert_error(400, &[6007]);
    assert_eq!(response.body["errors"][0]["message"], "Malformed JSON in request body");
    send(post("application/json", "[\"jdoe@example.com\"]".into())).await.assert_error(400, &[6007]);
    let response = send(post("text/plain", "{\"email\": \"jdoe@example.com\"}".into())).await;
    response.assert_error(400, &[9207]);
    assert_eq!(response.body["errors"][0]["message"], "Content-type must be application/json.");
    let huge = format!("{{\"email\": \"jdoe@example.com\", \"pad\": \"{}\"}}", "x".repeat(200_000));
    send(post("application/json", huge)).await.assert_error(413, &[6007]);
    // The legacy devices revoke takes a bare array of ids, and only that: each malformed
    // body names a real device, is refused in the envelope, and revokes nothing.
    let devices = cf.get(&cf.acct("/devices"), &cf.admin()).await.ok();
    let id = devices[0]["id"].as_str().unwrap().to_owned();
    let journal_before = cf.app.journal(&cf.account).await;
    let revoke = cf.app.url(&format!("/client/v4/accounts/{}/devices/revoke", cf.account));
    for body in [
        format!("{{\"ids\": [\"{id}\"]}}"),
        "[]".to_owned(),
        format!("[\"{id}\", 2]"),
        format!("[\"{id}\""),
        format!("[[\"{id}\"]]"),
        format!("[\"{id}\", \"\"]"),
    ] {
        let response = send(
            cf.app.http.post(&revoke).bearer_auth(&token).header("content-type", "application/json").body(body.clone()),
        )
        .await;
        assert_eq!(response.status, 400, "{body}: {:?}", response.body);
        assert_eq!(response.body["success"], false, "{body}");
        assert!(!response.codes().is_empty(), "{body}: {:?}", response.body);
    }
    assert_eq!(cf.get(&cf.acct("/devices"), &cf.admin()).await.ok(), devices, "no device changed");
    assert_eq!(cf.app.journal(&cf.account).await, journal_before, "nothing journaled");
}

/// Every answer carries the rate-limit headers; past 1200 requests in a window a token
/// gets 429 971 with Retry-After, while another token of the same account does not.
#[tokio::test]
async fn the_rate_limit_is_1200_per_5_minutes_per_token() {
    let cf = Cf::start_with(|account| cloudflare_world_with(account, "on", &[])).await;
    // Start at the beginning of a fresh window of the tenant's clock.
    let clock: Value =
        cf.app.admin(Method::GET, &format!("/tenants/{}/clock", cf.account), None).await.json().await.unwrap();
    let now =
        time::OffsetDateTime::parse(clock["now"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp();
    cf.app.advance_clock(&cf.account, 300 - now.rem_euclid(300) + 1).await;

    let path = cf.acct("/access/apps");
    let first = cf.get(&path, &cf.admin()).await;
    first.ok();
    assert!(first.header("ratelimit").starts_with("\"default\";r=1199;t="), "{}", first.header("ratelimit"));
    assert_eq!(first.header("ratelimit-policy"), "\"default\";q=1200;w=300");
    assert_eq!(first.header("retry-after"), "");
    for _ in 1..1200 {
        let response = cf.get(&path, &cf.admin()).await;
        assert_eq!(response.status, 200);
    }
    let limited = cf.get(&path, &cf.admin()).await;
    assert_eq!(limited.status, 429);
    assert_eq!(
        limited.body,
        json!({"success": false, "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed"}],
               "messages": [], "result": null})
    );
    let retry: i64 = limited.header("retry-after").parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(limited.header("ratelimit").starts_with("\"default\";r=0;t="));
    // Refused requests do not count; the other token and the key have their own windows.
    cf.get(&path, &cf.token("reader")).await.ok();
    cf.get(&path, &cf.key()).await.ok();
    cf.revoke(&cf.admin(), "", json!({"email": "jdoe@example.com"})).await.assert_error(429, &[971]);
    // Error answers carry the headers too.
    let error = cf.get("/accounts/nope", &Auth::None).await;
    assert_eq!(error.header("ratelimit-policy"), "\"default\";q=1200;w=300");
    // The next window lets it through again.
    cf.app.advance_clock(&cf.account, 300).await;
    cf.get(&path, &cf.admin()).await.ok();
}

#[tokio::test]
async fn tenants_with_rate_limits_off_are_never_limited() {
    let cf = Cf::start().await;
    for _ in 0..1210 {
        let response = cf.call(Method::GET, "/user/tokens/verify", &cf.admin(), None).await;
        assert_eq!(response.status, 200);
    }
    let last = cf.call(Method::GET, "/user/tokens/verify", &cf.admin(), None).await;
    assert!(last.header("ratelimit").starts_with("\"default\";r=1200;"), "{}", last.header("ratelimit"));
}

#[tokio::test]
async fn tokens_verify_on_both_paths() {
    let cf = Cf::start().await;
    let response = cf.get("/user/tokens/verify", &cf.admin()).await;
    let id = response.body["result"]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(
        response.body,
        json!({"success": true, "errors": [], "result": {"id": id, "status": "active"},
               "messages": [{"code": 10000, "message": "This API Token is valid and active", "type": null}]})
    );
    assert_eq!(cf.get(&cf.acct("/tokens/verify"), &cf.admin()).await.ok(), json!({"id": id, "status": "active"}));
    // No permission group is needed to verify.
    cf.get("/user/tokens/verify", &cf.token("none")).await.ok();
    let disabled = cf.get("/user/tokens/verify", &cf.token("disabled")).await;
    assert_eq!(disabled.ok()["status"], "disabled");
    assert_eq!(disabled.body["messages"], json!([]));
    let unknown = cf.get("/user/tokens/verify", &Auth::Bearer("never-issued".into())).await;
    unknown.assert_error(400, &[1000]);
    assert_eq!(unknown.body["errors"][0]["message"], "Invalid API Token");
    cf.get("/user/tokens/verify", &cf.key()).await.assert_error(400, &[10001]);
    cf.get(&format!("/accounts/{}/tokens/verify", unique_hex32()), &cf.admin()).await.assert_error(403, &[9109]);
}
