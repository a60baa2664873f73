//! The malformed-input suite: a table of route × mutation, generated, so the count is
//! real. Every case is sent to one server on the suite's backend and checked:
//!
//! - no 5xx and an answer at all (a panic or a dropped connection is a failure);
//! - a non-empty body in the format of the dialect the path belongs to (Zoom
//!   `{"code","message"}`, the OAuth endpoint's `{"reason","error"}`, Cloudflare's v4
//!   envelope, the control plane's `{"error":{"code","message"}}`);
//! - a write is refused (4xx) and changed nothing: the tenant's journal (every write
//!   journals in its own transaction) and a state read are the same before and after;
//! - the server still serves (`GET /_userplane/health`) after each case.
//!
//! Every failing case is collected and printed, grouped by family, before the test fails.

mod corpus;
mod raw;

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cloudflare::cloudflare_world;
use crate::helpers::{ADMIN_TOKEN, TestApp, unique, unique_hex32, zoom_world};
use crate::zoom::oauth_token;

/// Which wire format an answer must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Zoom,
    /// `/oauth/token`: the OAuth endpoint's own `{"reason","error"}` (Zoom's shape for a
    /// method it does not take).
    OAuth,
    Cloudflare,
    Control,
}

impl Dialect {
    /// The dialect a path belongs to: `/v2` is Zoom's, `/oauth` its OAuth endpoint's,
    /// `/client/v4` Cloudflare's; any other path is the control plane's.
    pub fn of(path: &str) -> Dialect {
        let under = |prefix: &str| {
            path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
        };
        if under("/oauth") {
            Dialect::OAuth
        } else if under("/v2") {
            Dialect::Zoom
        } else if under("/client/v4") {
            Dialect::Cloudflare
        } else {
            Dialect::Control
        }
    }
}

/// Who a routed request authenticates as.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    /// The Zoom tenant's admin-scoped access token.
    Zoom,
    /// The Cloudflare tenant's admin API token.
    Cloudflare,
    /// The control plane's admin token.
    Admin,
    /// A raw `Authorization` header value.
    Header(String),
}

/// What a case sends.
#[derive(Debug, Clone)]
pub enum Send {
    /// Through reqwest (a well-formed HTTP request with malformed content).
    Http { method: Method, path: String, auth: Auth, content_type: Option<String>, body: Option<Vec<u8>> },
    /// Raw bytes on a fresh TCP connection (the HTTP layer); `path` names the dialect the
    /// request aims at. When `below_router` the server cannot know the path (a bad request
    /// line, oversized headers): the control plane's format is accepted as well.
    Raw { bytes: Vec<u8>, path: String, below_router: bool },
}

/// Which tenant's state a write could change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tenant {
    Zoom,
    Cloudflare,
}

/// One malformed request and what it may touch.
#[derive(Debug, Clone)]
pub struct Case {
    pub family: &'static str,
    pub what: String,
    pub send: Send,
    /// A write: it must be refused and leave this tenant's state unchanged.
    pub writes: Option<Tenant>,
    /// A path that must answer 404 (or 400, an id that cannot be looked up) afterwards:
    /// a tenant that must not exist.
    pub absent: Option<String>,
}

/// The ids of the world the cases run against, substituted for `{za}` (Zoom account),
/// `{zu}` (a Zoom user id), `{ca}` (Cloudflare account), `{cz}` (its zone), `{cu}` (a
/// Cloudflare user id), `{cd}` (a device registration id).
pub struct World {
    pub app: TestApp,
    zoom_account: String,
    zoom_token: String,
    zoom_user: String,
    cf_account: String,
    cf_user: String,
    cf_device: String,
}

impl World {
    async fn start() -> World {
        let app = TestApp::spawn().await;
        let zoom_account = unique("zmbad");
        app.create_tenant(zoom_world(&zoom_account, "pro", "off")).await;
        let zoom_token = oauth_token(&app, &zoom_account, &format!("{zoom_account}-admin"), "admin-secret").await;
        let cf_account = unique_hex32();
        app.create_tenant(cloudflare_world(&cf_account)).await;
        let mut world = World {
            app,
            zoom_account,
            zoom_token,
            zoom_user: String::new(),
            cf_account,
            cf_user: String::new(),
            cf_device: String::new(),
        };
        let (_, lena) = world.get(Auth::Zoom, "/v2/users/lena@example.com").await;
        world.zoom_user = lena["id"].as_str().expect("lena's id").to_owned();
        let (_, users) =
            world.get(Auth::Cloudflare, "/client/v4/accounts/{ca}/access/users?email=jdoe@example.com").await;
        world.cf_user = users["result"][0]["id"].as_str().expect("jdoe's id").to_owned();
        let (_, devices) = world.get(Auth::Cloudflare, "/client/v4/accounts/{ca}/devices/registrations").await;
        world.cf_device = devices["result"][0]["id"].as_str().expect("a registration").to_owned();
        world
    }

    fn fill(&self, text: &str) -> String {
        let mut text = text.to_owned();
        // Forged page tokens: {pt:N} (page N), {ptr:N} (page N, role 2), {pto:N} (another account).
        for (marker, role, account) in [
            ("{pt:", None, &self.zoom_account),
            ("{ptr:", Some("2"), &self.zoom_account),
            ("{pto:", None, &self.cf_account),
        ] {
            while let Some(start) = text.find(marker) {
                let end = start + text[start..].find('}').expect("a closed placeholder");
                let page: i64 = text[start + marker.len()..end].parse().expect("a page number");
                let token = forged_page_token(account, role, page);
                text.replace_range(start..=end, &token);
            }
        }
        text.replace("{za}", &self.zoom_account)
            .replace("{zt}", &self.zoom_token)
            .replace("{zu}", &self.zoom_user)
            .replace("{ca}", &self.cf_account)
            .replace("{cz}", &crate::cloudflare::zone_of(&self.cf_account))
            .replace("{cu}", &self.cf_user)
            .replace("{cd}", &self.cf_device)
    }

    fn fill_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) if text.contains('{') => self.fill(text).into_bytes(),
            _ => bytes.to_vec(),
        }
    }

    fn authorization(&self, auth: &Auth) -> Option<String> {
        match auth {
            Auth::None => None,
            Auth::Zoom => Some(format!("Bearer {}", self.zoom_token)),
            Auth::Cloudflare => Some(format!("Bearer {}-admin", self.cf_account)),
            Auth::Admin => Some(format!("Bearer {ADMIN_TOKEN}")),
            Auth::Header(value) => Some(self.fill(value)),
        }
    }

    /// A GET that must succeed (for snapshots and set-up).
    async fn get(&self, auth: Auth, path: &str) -> (u16, Value) {
        let send = || {
            let mut request = self.app.http.get(self.app.url(&self.fill(path)));
            if let Some(value) = self.authorization(&auth) {
                request = request.header("authorization", value);
            }
            request.send()
        };
        // A pooled connection the server has just closed (after answering a malformed
        // request without reading all of it) can race with its reuse, as in any HTTP/1.1
        // client: an idempotent GET is sent once more, as browsers and SDKs do.
        let response = match send().await {
            Ok(response) => response,
            Err(err) if err.is_request() => send().await.expect("snapshot request, sent again"),
            Err(err) => panic!("snapshot request: {err:?}"),
        };
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "{path}: {body}");
        (status, body)
    }

    /// What a refused write must leave unchanged: the journal (less `login.failed`, the
    /// record a refused login is meant to leave) and the users.
    async fn snapshot(&self, tenant: Tenant) -> Value {
        let account = match tenant {
            Tenant::Zoom => &self.zoom_account,
            Tenant::Cloudflare => &self.cf_account,
        };
        let (_, journal) = self.get(Auth::Admin, &format!("/_userplane/tenants/{account}/journal?limit=1000")).await;
        let entries: Vec<Value> = journal["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["action"] != "login.failed")
            .cloned()
            .collect();
        let state = match tenant {
            Tenant::Zoom => self.get(Auth::Zoom, "/v2/users?page_size=300").await.1,
            Tenant::Cloudflare => {
                let (_, users) = self.get(Auth::Cloudflare, "/client/v4/accounts/{ca}/access/users").await;
                let (_, devices) = self.get(Auth::Cloudflare, "/client/v4/accounts/{ca}/devices/registrations").await;
                json!([users["result"], devices["result"]])
            }
        };
        json!({"journal": entries, "state": state})
    }

    /// Sends a case; returns the status and the body (None: no answer at all).
    async fn send(&self, send: &Send) -> Option<(u16, Vec<u8>)> {
        match send {
            Send::Http { method, path, auth, content_type, body } => {
                let mut request = self.app.http.request(method.clone(), self.app.url(&self.fill(path)));
                if let Some(value) = self.authorization(auth) {
                    request = request.header("authorization", value);
                }
                if let Some(content_type) = content_type {
                    request = request.header("content-type", content_type.as_str());
                }
                if let Some(body) = body {
                    request = request.body(self.fill_bytes(body));
                }
                let response = request.send().await.ok()?;
                let status = response.status().as_u16();
                Some((status, response.bytes().await.ok()?.to_vec()))
            }
            Send::Raw { bytes, .. } => raw::exchange(&self.app.base, &self.fill_bytes(bytes)).await,
        }
    }

    async fn healthy(&self) -> bool {
        let response = self.app.http.get(self.app.url("/_userplane/health")).send().await;
        matches!(response, Ok(r) if r.status() == 200)
    }
}

/// A `next_page_token` as userplane encodes it, issued now, for any page.
fn forged_page_token(account: &str, role: Option<&str>, page: i64) -> String {
    use base64::Engine;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let token = json!({"account": account, "status": "active", "role": role, "after": "", "page": page, "issued": now});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

/// Why an answer is wrong, if it is.
fn judge(case: &Case, status: u16, body: &[u8]) -> Result<(), String> {
    if status >= 500 {
        return Err("a 5xx".into());
    }
    if case.writes.is_some() && !(400..500).contains(&status) {
        return Err("a write that was not refused".into());
    }
    if body.is_empty() {
        return Err("an empty body".into());
    }
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Err("a body that is not JSON".into());
    };
    let (dialect, below_router) = match &case.send {
        Send::Http { path, .. } => (Dialect::of(path), false),
        Send::Raw { path, below_router, .. } => (Dialect::of(path), *below_router),
    };
    let success = (200..300).contains(&status);
    let fits = |dialect| if success { success_shape(dialect, &json) } else { error_shape(dialect, &json) };
    if fits(dialect) || (below_router && !success && error_shape(Dialect::Control, &json)) {
        Ok(())
    } else {
        Err(format!("not a {dialect:?} {} body", if success { "success" } else { "error" }))
    }
}

fn is_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

fn error_shape(dialect: Dialect, body: &Value) -> bool {
    let zoom = || body["code"].is_i64() && is_str(&body["message"]);
    match dialect {
        Dialect::Zoom => zoom(),
        Dialect::OAuth => (is_str(&body["reason"]) && is_str(&body["error"])) || zoom(),
        Dialect::Cloudflare => {
            body["success"] == false
                && body["messages"] == json!([])
                && body["result"].is_null()
                && body["errors"].as_array().is_some_and(|errors| {
                    !errors.is_empty() && errors.iter().all(|e| e["code"].is_i64() && is_str(&e["message"]))
                })
        }
        Dialect::Control => is_str(&body["error"]["code"]) && is_str(&body["error"]["message"]),
    }
}

fn success_shape(dialect: Dialect, body: &Value) -> bool {
    match dialect {
        Dialect::Cloudflare => body["success"] == true && body["errors"] == json!([]),
        _ => body.is_object(),
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text: String = text.chars().take(160).collect();
    if text.is_empty() { "<empty>".into() } else { text }
}

fn describe(send: &Send) -> String {
    match send {
        Send::Http { method, path, content_type, body, .. } => {
            let path: String = path.chars().take(120).collect();
            let body = body.as_ref().map_or(String::new(), |b| {
                format!(
                    " [{} {}B: {}]",
                    content_type.as_deref().unwrap_or("-"),
                    b.len(),
                    excerpt(&b[..b.len().min(60)])
                )
            });
            format!("{method} {path}{body}")
        }
        Send::Raw { bytes, .. } => format!("raw {}B: {:?}", bytes.len(), excerpt(&bytes[..bytes.len().min(90)])),
    }
}

/// Runs the cases of some families; fails listing every case that broke a rule.
async fn run(families: &[&str]) {
    let world = World::start().await;
    let cases: Vec<Case> = corpus::all().into_iter().filter(|c| families.contains(&c.family)).collect();
    let mut failures: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for case in &cases {
        let before = match case.writes {
            Some(tenant) => Some(world.snapshot(tenant).await),
            None => None,
        };
        let mut wrong = Vec::new();
        match world.send(&case.send).await {
            None => wrong.push("no answer (connection dropped or timed out)".to_owned()),
            Some((status, body)) => {
                if let Err(why) = judge(case, status, &body) {
                    wrong.push(format!("{why}: {status} {}", excerpt(&body)));
                }
            }
        }
        if let (Some(tenant), Some(before)) = (case.writes, before)
            && world.snapshot(tenant).await != before
        {
            wrong.push("the write changed the tenant's state".to_owned());
        }
        if let Some(path) = &case.absent {
            let response = world
                .app
                .http
                .get(world.app.url(&world.fill(path)))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .expect("absence check");
            // 400: the id cannot even be looked up (PostgreSQL text holds no NUL).
            if ![400, 404].contains(&response.status().as_u16()) {
                wrong.push(format!("{path} exists afterwards ({})", response.status()));
            }
        }
        if !world.healthy().await {
            wrong.push("the server stopped serving".to_owned());
        }
        if !wrong.is_empty() {
            failures.entry(case.family).or_default().push(format!(
                "{} | {} -> {}",
                case.what,
                describe(&case.send),
                wrong.join("; ")
            ));
        }
    }
    let failed: usize = failures.values().map(Vec::len).sum();
    eprintln!(
        "malformed corpus: {} cases over {} route families ({}): {} passed, {failed} failed",
        cases.len(),
        families.len(),
        families.join(", "),
        cases.len() - failed
    );
    for (family, list) in &failures {
        eprintln!("  {family}: {} failing", list.len());
        for line in list {
            eprintln!("    {line}");
        }
    }
    assert!(failures.is_empty(), "{failed} of {} malformed cases were mishandled (listed above)", cases.len());
}

#[test]
fn the_corpus_covers_every_route_family_with_at_least_300_cases() {
    let cases = corpus::all();
    let mut per_family: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &cases {
        *per_family.entry(case.family).or_default() += 1;
    }
    eprintln!("malformed corpus: {} cases over {} route families: {per_family:?}", cases.len(), per_family.len());
    assert!(cases.len() >= 300, "{}", cases.len());
    for family in corpus::FAMILIES.iter().flat_map(|(_, families)| families.iter()) {
        assert!(per_family.get(family).is_some_and(|n| *n >= 3), "family {family} has too few cases");
    }
    assert_eq!(per_family.len(), corpus::FAMILIES.iter().map(|(_, f)| f.len()).sum::<usize>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_zoom_requests_are_answered_in_zoom_format() {
    run(corpus::families("zoom")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_cloudflare_requests_are_answered_in_the_v4_envelope() {
    run(corpus::families("cloudflare")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_control_plane_requests_are_answered_in_its_format() {
    run(corpus::families("control")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_http_is_answered_with_a_body_and_the_server_keeps_serving() {
    run(corpus::families("http")).await;
}
