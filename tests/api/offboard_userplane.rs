//! `userplane offboard` / `reinstate` against the real userplane: the binary under test
//! talks to a userplane server started in-process (a Zoom tenant and a Cloudflare tenant
//! on one server), and every effect is checked through introspection, GETs and the
//! journal, not through what the client says about itself.
//!
//! The fake-server tests (`offboard.rs`) keep what userplane cannot do yet: 5xx answers
//! and hanging connections.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::cloudflare::{AUDIT_READ, ORG_WRITE, cloudflare_world_with};
use super::helpers::{TestApp, unique, unique_hex32, zoom_world};
use super::offboard_harness::{Output, Run};
use super::zoom::oauth_token;

/// Known to both providers: assistant alex, assistant of the owner (with alex), two WARP devices.
const LENA: &str = "lena@example.com";
/// Zoom only.
const BEN: &str = "ben@example.com";
const ALEX: &str = "alex@example.com";
const OWNER: &str = "owner@example.com";
/// Cloudflare only.
const JDOE: &str = "jdoe@example.com";
const SAM: &str = "sam@example.com";

const ALL_STEPS: [&str; 5] =
    ["zoom-revoke-sso", "cloudflare-revoke", "zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"];

/// One userplane with a Zoom tenant and a Cloudflare tenant, and how to point the CLI at it.
struct Rehearsal {
    app: TestApp,
    zoom: String,
    cf: String,
    /// An admin-scoped Zoom API token for the test's own checks.
    zoom_token: String,
}

impl Rehearsal {
    /// Zoom on plan pro without rate limits, Cloudflare without rate limits.
    async fn start() -> Self {
        Self::start_with("pro", "off", &[]).await
    }

    /// `extra` people are added to both providers (no delegations, no devices).
    async fn start_with(plan: &str, rate_limits: &str, extra: &[String]) -> Self {
        let app = TestApp::spawn().await;
        let zoom = unique("zm");
        let mut zoom_doc = zoom_world(&zoom, plan, rate_limits);
        {
            let users = zoom_doc["users"].as_array_mut().expect("users");
            let owner = users.iter_mut().find(|u| u["email"] == OWNER).expect("owner");
            owner["assistants"] = json!([LENA, ALEX]);
            for email in extra {
                users.push(json!({"email": email, "first_name": "Extra", "last_name": "Person", "type": 2}));
            }
        }
        app.create_tenant(zoom_doc).await;

        let cf = unique_hex32();
        let mut people = vec![(LENA.to_owned(), "Lena Licensed".to_owned())];
        people.extend(extra.iter().map(|email| (email.clone(), "Extra Person".to_owned())));
        let mut cf_doc = cloudflare_world_with(&cf, "off", &people);
        // Exactly what the client needs: revoke_user (Write) and the user lookup (Audit Logs Read).
        cf_doc["api_tokens"]
            .as_array_mut()
            .expect("tokens")
            .push(json!({"value": format!("{cf}-offboard"), "permissions": [ORG_WRITE, AUDIT_READ]}));
        let devices = cf_doc["devices"].as_array_mut().expect("devices");
        devices.push(json!({"user": LENA, "name": "lena-laptop", "os": "linux"}));
        devices.push(json!({"user": LENA, "name": "lena-phone", "os": "android"}));
        app.create_tenant(cf_doc).await;

        let zoom_token = oauth_token(&app, &zoom, &format!("{zoom}-admin"), "admin-secret").await;
        Self { app, zoom, cf, zoom_token }
    }

    /// `userplane <command>` pointed at this server with every credential set.
    fn run(&self, command: &str) -> Run {
        let base = &self.app.base;
        let defaults = [
            ("--zoom-api-url", format!("{base}/v2")),
            ("--zoom-oauth-url", format!("{base}/oauth/token")),
            ("--cloudflare-api-url", format!("{base}/client/v4")),
            ("--request-timeout", "5s".to_owned()),
            ("--max-retry-time", "15s".to_owned()),
        ];
        Run::new(command, defaults.into_iter().map(|(flag, value)| (flag.to_owned(), value)).collect())
            .env("ZOOM_ACCOUNT_ID", &self.zoom)
            .env("ZOOM_CLIENT_ID", &format!("{}-admin", self.zoom))
            .env("ZOOM_CLIENT_SECRET", "admin-secret")
            .env("CLOUDFLARE_API_TOKEN", &format!("{}-offboard", self.cf))
            .env("CLOUDFLARE_ACCOUNT_ID", &self.cf)
    }

    /// Neither the Zoom client secret, nor an access token userplane issued for this
    /// tenant, nor the Cloudflare token appears in what a run printed.
    fn assert_no_secret_in(&self, output: &Output) {
        let text = output.all_text();
        for secret in ["admin-secret".to_owned(), format!("{}-offboard", self.cf), self.zoom_token.clone()] {
            assert!(!text.contains(&secret), "a secret was printed:\n{output}");
        }
        // Nor any Authorization header value.
        assert!(!text.contains("Bearer "), "{output}");
    }

    /// A Zoom `/v2` GET with the test's token; waits out a 429 (free-plan tenants).
    async fn zoom_get(&self, path: &str) -> Value {
        for _ in 0..10 {
            let response = self
                .app
                .http
                .get(self.app.url(&format!("/v2{path}")))
                .bearer_auth(&self.zoom_token)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body: Value = response.json().await.expect("JSON");
            if status == StatusCode::TOO_MANY_REQUESTS {
                tokio::time::sleep(Duration::from_millis(1100)).await;
                continue;
            }
            assert_eq!(status, 200, "GET /v2{path}: {body}");
            return body;
        }
        panic!("GET /v2{path} stayed rate limited");
    }

    async fn zoom_user(&self, email: &str) -> Value {
        self.zoom_get(&format!("/users/{email}")).await
    }

    /// The emails in a Zoom assistants / schedulers list.
    async fn zoom_delegates(&self, email: &str, which: &str) -> BTreeSet<String> {
        let body = self.zoom_get(&format!("/users/{email}/{which}")).await;
        body[which].as_array().expect("list").iter().map(|d| d["email"].as_str().expect("email").to_owned()).collect()
    }

    async fn sso(&self, email: &str) -> String {
        self.app.login(&self.zoom, json!({"user": email, "kind": "sso"})).await
    }

    async fn user_oauth(&self, email: &str) -> String {
        self.app.login(&self.zoom, json!({"user": email, "kind": "user_oauth"})).await
    }

    /// A ZAK issued through the API.
    async fn zak(&self, email: &str) -> String {
        let body = self.zoom_get(&format!("/users/{email}/token?type=zak")).await;
        body["token"].as_str().expect("zak").to_owned()
    }

    async fn access(&self, email: &str, app: &str) -> String {
        self.app.login(&self.cf, json!({"user": email, "kind": "access", "app": app})).await
    }

    async fn warp(&self, email: &str, device: &str) -> String {
        self.app.login(&self.cf, json!({"user": email, "kind": "warp", "device": device})).await
    }

    /// A login the control plane refuses (status, body).
    async fn refused_login(&self, account: &str, body: Value) -> (u16, Value) {
        let response = self.app.admin(Method::POST, &format!("/tenants/{account}/sessions"), Some(body)).await;
        (response.status().as_u16(), response.json().await.expect("JSON"))
    }

    /// Introspection's `reason` for a dead token, or "active".
    async fn state(&self, token: &str) -> String {
        let info = self.app.introspect(token).await;
        if info["active"] == true {
            "active".into()
        } else {
            assert!(info["revoked_at"].is_string() || info["reason"] == "expired", "{info}");
            info["reason"].as_str().unwrap_or("unknown").to_owned()
        }
    }

    /// Cloudflare device registrations, as (user email, device name, revoked).
    async fn registrations(&self) -> Vec<(String, String, bool)> {
        let response = self
            .app
            .http
            .get(self.app.url(&format!("/client/v4/accounts/{}/devices/registrations?status=all", self.cf)))
            .bearer_auth(format!("{}-admin", self.cf))
            .send()
            .await
            .expect("request");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["success"], true, "{body}");
        body["result"]
            .as_array()
            .expect("registrations")
            .iter()
            .map(|r| {
                (
                    r["user"]["email"].as_str().unwrap_or("").to_owned(),
                    r["device"]["name"].as_str().or(r["name"].as_str()).unwrap_or("").to_owned(),
                    r["revoked_at"].is_string(),
                )
            })
            .collect()
    }

    /// The changes journaled in `account` after entry `after` (a `seq`). The client's
    /// own OAuth access token (`token.issued`) changes nobody's access and is left out.
    async fn journal_after(&self, account: &str, after: i64) -> Vec<Value> {
        self.app
            .journal(account)
            .await
            .into_iter()
            .filter(|e| e["seq"].as_i64().unwrap_or(0) > after && e["action"] != "token.issued")
            .collect()
    }

    /// Nothing was changed in either tenant since `marks`.
    async fn assert_no_change_since(&self, (zoom, cf): (i64, i64)) {
        let zoom_changes = self.journal_after(&self.zoom, zoom).await;
        let cf_changes = self.journal_after(&self.cf, cf).await;
        assert!(zoom_changes.is_empty() && cf_changes.is_empty(), "changed: {zoom_changes:#?} {cf_changes:#?}");
    }

    /// The last journal `seq` of both tenants.
    async fn marks(&self) -> (i64, i64) {
        let last = |entries: Vec<Value>| entries.iter().filter_map(|e| e["seq"].as_i64()).max().unwrap_or(0);
        (last(self.app.journal(&self.zoom).await), last(self.app.journal(&self.cf).await))
    }
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.code, code, "unexpected exit code\n{output}");
}

/// Everyone's live credentials before an offboarding of Lena.
struct Credentials {
    lena_sso: Vec<String>,
    lena_zak: String,
    lena_user_oauth: String,
    lena_wiki: String,
    lena_grafana: String,
    lena_warp: Vec<String>,
    /// Other people's: must all stay active.
    others: Vec<(&'static str, String)>,
}

impl Credentials {
    async fn issue(r: &Rehearsal) -> Self {
        let mut lena_sso = Vec::new();
        for _ in 0..3 {
            lena_sso.push(r.sso(LENA).await);
        }
        let others = vec![
            ("alex sso", r.sso(ALEX).await),
            ("ben sso", r.sso(BEN).await),
            ("owner sso", r.sso(OWNER).await),
            ("alex zak", r.zak(ALEX).await),
            ("jdoe wiki", r.access(JDOE, "Wiki").await),
            ("jdoe warp", r.warp(JDOE, "jane-laptop").await),
            ("sam wiki", r.access(SAM, "Wiki").await),
            ("sam warp", r.warp(SAM, "sam-desktop").await),
        ];
        Self {
            lena_sso,
            lena_zak: r.zak(LENA).await,
            lena_user_oauth: r.user_oauth(LENA).await,
            lena_wiki: r.access(LENA, "Wiki").await,
            lena_grafana: r.access(LENA, "Grafana").await,
            lena_warp: vec![r.warp(LENA, "lena-laptop").await, r.warp(LENA, "lena-phone").await],
            others,
        }
    }

    async fn assert_others_untouched(&self, r: &Rehearsal) {
        for (name, token) in &self.others {
            assert_eq!(r.state(token).await, "active", "{name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_offboarding_kills_every_credential_and_delegation_of_the_person_only() {
    let r = Rehearsal::start().await;
    let creds = Credentials::issue(&r).await;
    let lena_id = r.zoom_user(LENA).await["id"].as_str().unwrap().to_owned();
    assert_eq!(r.zoom_delegates(LENA, "assistants").await, BTreeSet::from([ALEX.to_owned()]));
    assert_eq!(r.zoom_delegates(LENA, "schedulers").await, BTreeSet::from([OWNER.to_owned()]));
    let (zoom_mark, cf_mark) = r.marks().await;

    let output = r.run("offboard").args([LENA]).output().await;

    assert_exit(&output, 0);
    for step in ALL_STEPS {
        assert_eq!(output.outcome(LENA, step), "done", "{step}\n{output}");
    }
    assert!(output.line(LENA, "zoom-delete-assistants").contains("1 assistant: alex@example.com"), "{output}");
    assert!(output.line(LENA, "zoom-remove-schedulers").contains(OWNER), "{output}");
    r.assert_no_secret_in(&output);

    // Zoom: every SSO session, the ZAK and the user-level OAuth token are dead, and say why.
    for token in creds.lena_sso.iter().chain([&creds.lena_zak]) {
        assert_eq!(r.state(token).await, "sessions_revoked");
    }
    assert_eq!(r.state(&creds.lena_user_oauth).await, "sessions_revoked", "the user-level OAuth token too");
    let lena = r.zoom_user(LENA).await;
    assert_eq!((lena["status"].as_str(), lena["type"].as_i64()), (Some("inactive"), Some(1)), "{lena}");
    assert!(r.zoom_delegates(LENA, "assistants").await.is_empty());
    assert!(r.zoom_delegates(LENA, "schedulers").await.is_empty());
    assert_eq!(r.zoom_delegates(OWNER, "assistants").await, BTreeSet::from([ALEX.to_owned()]), "alex stays");
    let (status, body) = r.refused_login(&r.zoom, json!({"user": LENA, "kind": "sso"})).await;
    assert_eq!(status, 409, "a deactivated user cannot sign in: {body}");

    // Cloudflare: Access sessions, both devices and their WARP sessions are dead.
    for token in [&creds.lena_wiki, &creds.lena_grafana] {
        assert_eq!(r.state(token).await, "access_revoked");
    }
    for token in &creds.lena_warp {
        let state = r.state(token).await;
        assert!(state == "device_revoked" || state == "warp_reauth_required", "{state}");
    }
    let registrations = r.registrations().await;
    assert!(!registrations.is_empty());
    for (user, device, revoked) in &registrations {
        assert_eq!(*revoked, user == LENA, "{user} {device}: {registrations:?}");
    }
    let (status, body) = r.refused_login(&r.cf, json!({"user": LENA, "kind": "warp", "device": "lena-laptop"})).await;
    assert_eq!(status, 409, "a revoked device cannot log in: {body}");

    // Nobody else lost anything.
    creds.assert_others_untouched(&r).await;
    for email in [ALEX, BEN, OWNER] {
        assert_eq!(r.zoom_user(email).await["status"], "active", "{email}");
    }
    let zoom_changes = r.journal_after(&r.zoom, zoom_mark).await;
    assert!(!zoom_changes.is_empty());
    for entry in &zoom_changes {
        assert_eq!(entry["target"], lena_id.as_str(), "only Lena's records changed: {entry}");
    }
    let actions: BTreeSet<&str> = zoom_changes.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains("sessions.revoked") && actions.contains("user.deactivated"), "{actions:?}");
    let cf_changes = r.journal_after(&r.cf, cf_mark).await;
    let revoked: Vec<&Value> = cf_changes.iter().filter(|e| e["action"] == "access.revoked").collect();
    assert_eq!(revoked.len(), 1, "{cf_changes:#?}");
    assert_eq!(revoked[0]["detail"]["devices_revoked"], 2, "{cf_changes:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_succeeds_and_reports_what_was_already_done() {
    let r = Rehearsal::start().await;
    assert_exit(&r.run("offboard").args([LENA]).output().await, 0);
    let (zoom_mark, _) = r.marks().await;

    let output = r.run("offboard").args([LENA, "--json"]).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    for step in ["zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"] {
        assert_eq!(Output::json_step(&report, LENA, step)["outcome"], "already_done", "{step}\n{output}");
    }
    // Session revocation is repeated: safe, and no provider can say whether any was left.
    for step in ["zoom-revoke-sso", "cloudflare-revoke"] {
        assert_eq!(Output::json_step(&report, LENA, step)["outcome"], "done", "{step}\n{output}");
    }
    assert_eq!(report["people"][0]["lookups"][0]["user_status"], "inactive");
    let actions: Vec<String> = r
        .journal_after(&r.zoom, zoom_mark)
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    assert!(!actions.iter().any(|a| a.starts_with("user.")), "no second status change: {actions:?}");
    assert_eq!(r.zoom_user(LENA).await["status"], "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_known_to_one_provider_only_is_cut_there_and_skipped_at_the_other() {
    let r = Rehearsal::start().await;
    let ben_sso = r.sso(BEN).await;
    let jdoe_wiki = r.access(JDOE, "Wiki").await;
    let jdoe_warp = r.warp(JDOE, "jane-phone").await;
    let lena_sso = r.sso(LENA).await;
    let lena_wiki = r.access(LENA, "Wiki").await;

    let output = r.run("offboard").args([BEN, JDOE]).output().await;

    assert_exit(&output, 0);
    assert_eq!(output.outcome(BEN, "cloudflare-revoke"), "skipped");
    assert!(output.line(BEN, "cloudflare-revoke").contains("not a Cloudflare Access user"), "{output}");
    for step in ["zoom-revoke-sso", "zoom-deactivate"] {
        assert_eq!(output.outcome(BEN, step), "done", "{step}\n{output}");
        assert_eq!(output.outcome(JDOE, step), "skipped", "{step}\n{output}");
    }
    assert!(output.line(JDOE, "zoom-deactivate").contains("not a Zoom user"), "{output}");
    assert_eq!(output.outcome(JDOE, "cloudflare-revoke"), "done");

    assert_eq!(r.state(&ben_sso).await, "sessions_revoked");
    assert_eq!(r.zoom_user(BEN).await["status"], "inactive");
    assert_eq!(r.state(&jdoe_wiki).await, "access_revoked");
    assert_ne!(r.state(&jdoe_warp).await, "active");
    let jdoe_devices: Vec<bool> = r
        .registrations()
        .await
        .into_iter()
        .filter(|(user, _, _)| user == JDOE)
        .map(|(_, _, revoked)| revoked)
        .collect();
    assert_eq!(jdoe_devices, [true, true]);
    // Lena, in both, was not named.
    assert_eq!(r.state(&lena_sso).await, "active");
    assert_eq!(r.state(&lena_wiki).await, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_zoom_user_has_the_invitation_withdrawn() {
    // Pat was invited and has not joined: a pending user cannot be deactivated, and an
    // open invitation is a way back in, so offboarding withdraws it.
    const PAT: &str = "pat@example.com";
    let r = Rehearsal::start().await;

    let plan = r.run("offboard").args([PAT, "--dry-run"]).output().await;
    assert_exit(&plan, 0);
    assert_eq!(plan.outcome(PAT, "zoom-deactivate"), "planned");
    assert!(plan.line(PAT, "zoom-deactivate").contains("withdraw the pending invitation"), "{plan}");
    assert_eq!(r.zoom_user(PAT).await["status"], "pending");

    let output = r.run("offboard").args([PAT]).output().await;
    assert_exit(&output, 0);
    assert_eq!(output.outcome(PAT, "zoom-deactivate"), "done", "{output}");
    let gone = r.app.http.get(r.app.url(&format!("/v2/users/{PAT}"))).bearer_auth(&r.zoom_token).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let journal = r.app.journal(&r.zoom).await;
    assert!(journal.iter().any(|e| e["action"] == "user.deleted" && e["detail"]["action"] == "disassociate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_unknown_to_both_is_not_found_and_nothing_changes() {
    let r = Rehearsal::start().await;
    let marks = r.marks().await;

    let output = r.run("offboard").args(["ghost@example.com", "--json"]).output().await;

    assert_exit(&output, 4);
    let report = output.json();
    for step in ALL_STEPS {
        let entry = Output::json_step(&report, "ghost@example.com", step);
        assert_eq!((entry["outcome"].as_str(), entry["failure"].as_str()), (Some("failed"), Some("not_found")));
    }
    let zoom_lookup = &report["people"][0]["lookups"][0];
    let last_call = zoom_lookup["calls"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last_call["status"].as_u64(), last_call["provider_error_code"].as_i64()), (Some(404), Some(1001)));
    assert_eq!(report["people"][0]["lookups"][1]["outcome"], "not_found");
    r.assert_no_change_since(marks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_zoom_credentials_are_auth_failures_and_cloudflare_still_cuts() {
    let r = Rehearsal::start().await;
    let lena_sso = r.sso(LENA).await;
    let lena_wiki = r.access(LENA, "Wiki").await;
    let (zoom_mark, _) = r.marks().await;

    let wrong_secret =
        r.run("offboard").args([LENA, "--json"]).env("ZOOM_CLIENT_SECRET", "not-the-secret").output().await;
    let unknown_account =
        r.run("offboard").args([LENA, "--json"]).env("ZOOM_ACCOUNT_ID", "no-such-account").output().await;

    for output in [&wrong_secret, &unknown_account] {
        assert_exit(output, 3);
        let report = output.json();
        let lookup = &report["people"][0]["lookups"][0];
        assert_eq!(
            (lookup["outcome"].as_str(), lookup["failure"].as_str()),
            (Some("failed"), Some("auth")),
            "{output}"
        );
        assert!(lookup["calls"][0]["url"].as_str().unwrap().contains("/oauth/token"), "{lookup:#}");
        let status = lookup["calls"][0]["status"].as_u64().unwrap_or(0);
        assert!((400..500).contains(&status), "{lookup:#}");
        for step in ["zoom-revoke-sso", "zoom-delete-assistants", "zoom-remove-schedulers", "zoom-deactivate"] {
            let entry = Output::json_step(&report, LENA, step);
            assert_eq!((entry["outcome"].as_str(), entry["failure"].as_str()), (Some("failed"), Some("auth")));
        }
        assert_eq!(Output::json_step(&report, LENA, "cloudflare-revoke")["outcome"], "done");
        assert_eq!(report["summary"]["failure_kind"], "auth");
    }
    assert_eq!(wrong_secret.json()["people"][0]["lookups"][0]["calls"][0]["provider_error_code"], "invalid_client");
    assert_eq!(r.state(&lena_sso).await, "active", "Zoom was not touched");
    assert!(r.journal_after(&r.zoom, zoom_mark).await.is_empty());
    assert_eq!(r.state(&lena_wiki).await, "access_revoked", "Cloudflare still cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoom_app_without_write_scopes_fails_as_auth_on_each_change() {
    let r = Rehearsal::start().await;

    let output = r
        .run("offboard")
        .args([LENA, "--json", "--steps", "zoom-revoke-sso,zoom-deactivate"])
        .env("ZOOM_CLIENT_ID", &format!("{}-reader", r.zoom))
        .env("ZOOM_CLIENT_SECRET", "reader-secret")
        .output()
        .await;

    assert_exit(&output, 3);
    let report = output.json();
    assert_eq!(report["people"][0]["lookups"][0]["outcome"], "found", "reading is allowed");
    for step in ["zoom-revoke-sso", "zoom-deactivate"] {
        let entry = Output::json_step(&report, LENA, step);
        assert_eq!((entry["outcome"].as_str(), entry["failure"].as_str()), (Some("failed"), Some("auth")), "{entry:#}");
        assert!(entry["provider_error_code"].is_i64(), "{entry:#}");
    }
    assert_eq!(r.zoom_user(LENA).await["status"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cloudflare_credentials_are_auth_failures_and_zoom_still_cuts() {
    let r = Rehearsal::start().await;
    let lena_wiki = r.access(LENA, "Wiki").await;
    let (_, cf_mark) = r.marks().await;
    let cases = [
        ("unknown token", format!("never-issued-{}", r.cf), 9109),
        ("disabled token", format!("{}-disabled", r.cf), 9109),
        ("token without an Access group", format!("{}-none", r.cf), 10000),
    ];

    for (name, token, code) in cases {
        let output = r
            .run("offboard")
            .args([LENA, "--json", "--steps", "zoom-revoke-sso,cloudflare-revoke"])
            .env("CLOUDFLARE_API_TOKEN", &token)
            .output()
            .await;

        assert_exit(&output, 3);
        let report = output.json();
        let step = Output::json_step(&report, LENA, "cloudflare-revoke");
        assert_eq!(
            (step["outcome"].as_str(), step["failure"].as_str()),
            (Some("failed"), Some("auth")),
            "{name}: {step:#}"
        );
        assert_eq!((step["status"].as_u64(), step["provider_error_code"].as_i64()), (Some(403), Some(code)), "{name}");
        assert_eq!(Output::json_step(&report, LENA, "zoom-revoke-sso")["outcome"], "done", "{name}");
        assert!(!output.all_text().contains(&token), "{name}: the token is never printed");
    }
    // The unknown global key too.
    let output = r
        .run("offboard")
        .args([LENA, "--steps", "cloudflare-revoke"])
        .without_env("CLOUDFLARE_API_TOKEN")
        .env("CLOUDFLARE_EMAIL", "admin@example.com")
        .env("CLOUDFLARE_API_KEY", "0123456789abcdef0123456789abcdef01234")
        .output()
        .await;
    assert_exit(&output, 3);
    assert!(output.line(LENA, "cloudflare-revoke").contains("FAILED"), "{output}");

    assert_eq!(r.state(&lena_wiki).await, "active");
    assert!(r.journal_after(&r.cf, cf_mark).await.iter().all(|e| e["action"] != "access.revoked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_base_urls_say_which_flag_to_check_and_change_nothing() {
    let r = Rehearsal::start().await;
    let marks = r.marks().await;
    let base = r.app.base.clone();
    let cases = [
        ("--zoom-api-url", format!("{base}/v1"), "zoom-revoke-sso"),
        ("--zoom-oauth-url", format!("{base}/v2/oauth/token"), "zoom-revoke-sso"),
        ("--cloudflare-api-url", format!("{base}/client/v3"), "cloudflare-revoke"),
    ];

    for (flag, url, step) in cases {
        let output = r.run("offboard").args([LENA, "--steps", step, flag, &url]).output().await;

        assert_ne!(output.code, 0, "{output}");
        let line = output.line(LENA, step);
        assert!(line.contains("FAILED") && line.contains(&format!("{flag} right?")), "{flag}: {line}");
    }
    r.assert_no_change_since(marks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_only_token_or_the_global_key_still_cuts_access() {
    let r = Rehearsal::start().await;
    let lena_wiki = r.access(LENA, "Wiki").await;
    let jdoe_wiki = r.access(JDOE, "Wiki").await;

    // "Access: Organizations Revoke" alone may revoke but not list users: the lookup
    // fails, the revocation by email still happens.
    let output = r
        .run("offboard")
        .args([LENA, "--json", "--steps", "cloudflare-revoke"])
        .env("CLOUDFLARE_API_TOKEN", &format!("{}-revoker", r.cf))
        .output()
        .await;

    assert_exit(&output, 0);
    let report = output.json();
    let lookup = &report["people"][0]["lookups"][0];
    assert_eq!((lookup["outcome"].as_str(), lookup["failure"].as_str()), (Some("failed"), Some("auth")), "{lookup:#}");
    let step = Output::json_step(&report, LENA, "cloudflare-revoke");
    assert_eq!(step["outcome"], "done", "{step:#}");
    assert!(step["message"].as_str().unwrap().contains("revoked by email"), "{step:#}");
    assert_eq!(r.state(&lena_wiki).await, "access_revoked");

    let output = r
        .run("offboard")
        .args([JDOE, "--steps", "cloudflare-revoke"])
        .without_env("CLOUDFLARE_API_TOKEN")
        .env("CLOUDFLARE_EMAIL", "admin@example.com")
        .env("CLOUDFLARE_API_KEY", &format!("{}-key", r.cf))
        .output()
        .await;
    assert_exit(&output, 0);
    assert!(output.stdout.contains("global API key of admin@example.com"), "{output}");
    assert_eq!(r.state(&jdoe_wiki).await, "access_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_run_on_a_free_plan_meets_real_429s_and_still_completes() {
    let people: Vec<String> = (1..=5).map(|i| format!("leaver{i}@example.com")).collect();
    let r = Rehearsal::start_with("free", "on", &people).await;
    let mut sessions = Vec::new();
    for email in &people {
        sessions.push(r.sso(email).await);
    }

    // No client-side pacing and four people at once: Free allows 4 Light and 2 Medium
    // requests per second per account, so userplane answers 429 and the client waits.
    let mut args: Vec<&str> = people.iter().map(String::as_str).collect();
    args.extend(["--json", "--concurrency", "4", "--max-requests-per-second", "0", "--max-retry-time", "30s"]);
    let output = r.run("offboard").args(args).time_limit(Duration::from_secs(60)).output().await;

    assert_exit(&output, 0);
    let report = output.json();
    assert_eq!((report["summary"]["people"].as_u64(), report["summary"]["failed"].as_u64()), (Some(5), Some(0)));
    let calls: Vec<&Value> = report["people"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            let lookups = p["lookups"].as_array().unwrap().iter();
            let steps = p["steps"].as_array().unwrap().iter();
            lookups.chain(steps).flat_map(|s| s["calls"].as_array().unwrap().iter())
        })
        .collect();
    let retried = calls.iter().filter(|c| c["attempts"].as_u64().unwrap() > 1).count();
    assert!(retried > 0, "the run met no 429 at all: {report:#}");
    assert!(calls.iter().all(|c| c["status"].as_u64().is_some_and(|s| s < 300)), "every call ended well");
    for (email, session) in people.iter().zip(&sessions) {
        assert_eq!(r.state(session).await, "sessions_revoked", "{email}");
        assert_eq!(r.zoom_user(email).await["status"], "inactive", "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_daily_limit_fails_at_once_as_rate_limited_and_the_other_steps_still_run() {
    let mut r = Rehearsal::start_with("free", "on", &[]).await;
    // Move the tenant to the middle of a day, so that its daily window cannot roll over
    // while the test runs, then spend the day's Medium budget (2,000 on Free, 2 a second).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    r.app.advance_clock(&r.zoom, (86_400 - now % 86_400 + 43_200) as i64).await;
    r.zoom_token = oauth_token(&r.app, &r.zoom, &format!("{}-admin", r.zoom), "admin-secret").await;
    let mut spent = false;
    for _ in 0..1_001 {
        r.app.advance_clock(&r.zoom, 1).await;
        for _ in 0..2 {
            let response = r
                .app
                .http
                .get(r.app.url(&format!("/v2/users/{ALEX}/schedulers")))
                .bearer_auth(&r.zoom_token)
                .send()
                .await
                .expect("request");
            spent |= response.headers().get("x-ratelimit-type").is_some_and(|t| t == "Daily-limit");
        }
        if spent {
            break;
        }
    }
    assert!(spent, "the daily limit was reached");
    let lena_sso = r.sso(LENA).await;

    let output = r.run("offboard").args([LENA, "--json"]).output().await;

    // Listing assistants and schedulers is Medium: refused until midnight (tenant time),
    // far beyond --max-retry-time, so the client gives up at once and says until when.
    assert_exit(&output, 5);
    assert!(output.elapsed < Duration::from_secs(10), "no waiting for midnight: {:?}", output.elapsed);
    let report = output.json();
    for step in ["zoom-delete-assistants", "zoom-remove-schedulers"] {
        let entry = Output::json_step(&report, LENA, step);
        assert_eq!(
            (entry["failure"].as_str(), entry["status"].as_u64(), entry["attempts"].as_u64()),
            (Some("rate_limited"), Some(429), Some(1)),
            "{entry:#}"
        );
        let message = entry["message"].as_str().unwrap();
        assert!(message.contains("Daily-limit") && message.contains("T00:00:00Z"), "{message}");
    }
    for step in ["zoom-revoke-sso", "cloudflare-revoke", "zoom-deactivate"] {
        assert_eq!(Output::json_step(&report, LENA, step)["outcome"], "done", "{step}");
    }
    assert_eq!(r.state(&lena_sso).await, "sessions_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_from_a_line_file_and_a_csv() {
    let people: Vec<String> = (1..=4).map(|i| format!("bulk{i}@example.com")).collect();
    let r = Rehearsal::start_with("pro", "off", &people).await;
    let mut sessions = Vec::new();
    for email in &people {
        sessions.push((r.sso(email).await, r.access(email, "Wiki").await));
    }
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("leavers.txt");
    std::fs::write(&lines, format!("# leaving Friday\n{}\n\n{}\n", people[0], people[1])).unwrap();
    let csv = dir.path().join("leavers.csv");
    std::fs::write(&csv, format!("name,email\n\"Three, B\",{}\nB4,{}\n", people[2], people[3])).unwrap();

    let from_lines = r.run("offboard").args(["--from", lines.to_str().unwrap(), "--concurrency", "2"]).output().await;
    let from_csv = r.run("offboard").args(["--from", csv.to_str().unwrap(), "--json"]).output().await;

    assert_exit(&from_lines, 0);
    assert_exit(&from_csv, 0);
    let order: Vec<&str> = from_lines
        .stdout
        .lines()
        .filter(|l| l.contains("zoom-deactivate"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(order, people[..2]);
    let report = from_csv.json();
    let emails: Vec<&str> = report["people"].as_array().unwrap().iter().map(|p| p["email"].as_str().unwrap()).collect();
    assert_eq!(emails, people[2..]);
    for (email, (sso, wiki)) in people.iter().zip(&sessions) {
        assert_eq!(r.state(sso).await, "sessions_revoked", "{email}");
        assert_eq!(r.state(wiki).await, "access_revoked", "{email}");
        assert_eq!(r.zoom_user(email).await["status"], "inactive", "{email}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_resolves_and_plans_but_changes_nothing() {
    let r = Rehearsal::start().await;
    let creds = Credentials::issue(&r).await;
    let marks = r.marks().await;
    let registrations = r.registrations().await;

    let output = r.run("offboard").args([LENA, BEN, JDOE, "--dry-run"]).output().await;

    assert_exit(&output, 0);
    for step in ALL_STEPS {
        assert_eq!(output.outcome(LENA, step), "planned", "{step}\n{output}");
    }
    assert!(output.line(LENA, "zoom-delete-assistants").contains("would remove 1 assistant: alex@example.com"));
    assert!(output.line(LENA, "zoom-remove-schedulers").contains(OWNER), "{output}");
    assert_eq!(output.outcome(BEN, "zoom-remove-schedulers"), "already done", "{output}");
    assert_eq!(output.outcome(JDOE, "cloudflare-revoke"), "planned");
    assert!(output.stdout.contains("dry run: nothing was changed"), "{output}");

    r.assert_no_change_since(marks).await;
    assert_eq!(r.registrations().await, registrations);
    for token in creds.lena_sso.iter().chain([&creds.lena_zak, &creds.lena_wiki, &creds.lena_warp[0]]) {
        assert_eq!(r.state(token).await, "active");
    }
    creds.assert_others_untouched(&r).await;
    assert_eq!(r.zoom_user(LENA).await["status"], "active");
    assert_eq!(r.zoom_delegates(LENA, "assistants").await.len(), 1);
    assert_eq!(r.zoom_delegates(LENA, "schedulers").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinstate_reactivates_and_provably_revives_no_old_session() {
    let r = Rehearsal::start().await;
    let old_sso = r.sso(LENA).await;
    let old_zak = r.zak(LENA).await;
    let old_wiki = r.access(LENA, "Wiki").await;
    assert_exit(&r.run("offboard").args([LENA]).output().await, 0);

    let output = r.run("reinstate").args([LENA]).output().await;

    assert_exit(&output, 0);
    assert_eq!(output.outcome(LENA, "zoom-activate"), "done", "{output}");
    assert!(output.line(LENA, "zoom-activate").contains("old sessions stay revoked"));
    assert_eq!(r.zoom_user(LENA).await["status"], "active");
    for token in [&old_sso, &old_zak] {
        assert_eq!(r.state(token).await, "sessions_revoked", "an old Zoom credential stays dead");
    }
    assert_eq!(r.state(&old_wiki).await, "access_revoked");
    // The person signs in again: the new session and a new ZAK work.
    let new_sso = r.sso(LENA).await;
    assert_eq!(r.state(&new_sso).await, "active");
    assert_eq!(r.state(&r.zak(LENA).await).await, "active");
    // Delegations are not restored (the report said which were removed).
    assert!(r.zoom_delegates(LENA, "assistants").await.is_empty());

    let again = r.run("reinstate").args([LENA]).output().await;
    assert_exit(&again, 0);
    assert_eq!(again.outcome(LENA, "zoom-activate"), "already done");
    assert_eq!(r.state(&old_sso).await, "sessions_revoked");
    assert_eq!(r.state(&new_sso).await, "active", "reinstating again ends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_report_describes_the_real_calls() {
    let r = Rehearsal::start().await;
    let lena_id = r.zoom_user(LENA).await["id"].as_str().unwrap().to_owned();
    let base = r.app.base.clone();

    // Lena, plus the admin whom Zoom refuses to deactivate.
    let output = r.run("offboard").args([LENA, "admin@example.com", "--json"]).output().await;

    assert_exit(&output, 6);
    assert!(output.stderr.is_empty(), "{output}");
    let report = output.json();
    assert_eq!((report["command"].as_str(), report["dry_run"].as_bool()), (Some("offboard"), Some(false)));
    let providers = report["providers"].as_array().unwrap();
    assert_eq!(providers[0]["api_url"], format!("{base}/v2"));
    assert_eq!(providers[0]["account_id"], r.zoom.as_str());
    assert_eq!(
        (providers[1]["credential"].as_str(), providers[1]["account_id"].as_str()),
        (Some("api_token"), Some(r.cf.as_str()))
    );

    let lena = &report["people"][0];
    assert_eq!((lena["email"].as_str(), lena["outcome"].as_str()), (Some(LENA), Some("ok")));
    assert_eq!(lena["lookups"][0]["user_id"], lena_id.as_str());
    assert_eq!(lena["lookups"][0]["user_status"], "active");
    assert!(lena["lookups"][1]["user_id"].is_string(), "the Access user's uuid: {lena:#}");
    let steps: Vec<&str> = lena["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ALL_STEPS);
    let expected = [
        ("zoom-revoke-sso", "DELETE", format!("{base}/v2/users/{lena_id}/token"), 204),
        (
            "cloudflare-revoke",
            "POST",
            format!("{base}/client/v4/accounts/{}/access/organizations/revoke_user?devices=true", r.cf),
            200,
        ),
        ("zoom-delete-assistants", "DELETE", format!("{base}/v2/users/{lena_id}/assistants"), 204),
        ("zoom-remove-schedulers", "DELETE", format!("{base}/v2/users/{lena_id}/schedulers"), 204),
        ("zoom-deactivate", "PUT", format!("{base}/v2/users/{lena_id}/status"), 204),
    ];
    for (step, method, url, status) in expected {
        let entry = Output::json_step(&report, LENA, step);
        assert_eq!(entry["outcome"], "done", "{entry:#}");
        assert_eq!(
            (entry["request"]["method"].as_str(), entry["request"]["url"].as_str()),
            (Some(method), Some(url.as_str()))
        );
        assert_eq!(entry["status"].as_u64(), Some(status), "{entry:#}");
        assert!(entry["attempts"].as_u64().unwrap() >= 1 && entry["duration_ms"].is_u64(), "{entry:#}");
        assert!(entry["failure"].is_null() && entry["provider_error_code"].is_null(), "{entry:#}");
    }

    let admin = Output::json_step(&report, "admin@example.com", "zoom-deactivate");
    assert_eq!(
        (
            admin["outcome"].as_str(),
            admin["failure"].as_str(),
            admin["status"].as_u64(),
            admin["provider_error_code"].as_i64()
        ),
        (Some("failed"), Some("provider_error"), Some(400), Some(200)),
        "{admin:#}"
    );
    assert_eq!(admin["attempts"], 1, "a refusal is not retried");
    assert!(admin["message"].as_str().unwrap().contains("cannot be activated or deactivated"), "{admin:#}");
    assert_eq!(report["people"][1]["outcome"], "failed");
    let summary = &report["summary"];
    assert_eq!(
        (
            summary["people"].as_u64(),
            summary["people_failed"].as_u64(),
            summary["failure_kind"].as_str(),
            summary["exit_code"].as_u64()
        ),
        (Some(2), Some(1), Some("provider_error"), Some(6))
    );
    assert_eq!(r.zoom_user("admin@example.com").await["status"], "active");
    r.assert_no_secret_in(&output);
}
