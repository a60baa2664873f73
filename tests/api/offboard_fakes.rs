//! Small fake Zoom and Cloudflare servers for the offboard client tests: just enough of
//! each wire format, with real state (users, tokens, delegations, revocations) and
//! injectable faults (429 with Retry-After seconds or an ISO date, 5xx, hangs, expired
//! tokens). They listen on 127.0.0.1:0 only.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

/// What a fault does to a matching request.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// 429 with `Retry-After: <seconds>` (Zoom: QPS limit; Cloudflare: code 971).
    RateLimitSeconds(u32),
    /// 429 with `Retry-After: <ISO time>` (Zoom's daily limit).
    DailyLimitUntil(String),
    /// A 5xx answer.
    ServerError(u16),
    /// Never answers.
    Hang,
    /// Zoom: 401 code 124, and every issued token stops working (as if it expired).
    ExpireTokens,
    /// The connection drops before a whole answer is sent.
    Reset,
    /// The request is applied, then the client gets this fault instead of the answer
    /// (the provider's "did it or not?" worst case).
    CommitThen(Box<FaultKind>),
}

/// A fault for the next `times` requests whose method matches and whose path contains `path`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub method: Method,
    pub path: String,
    pub times: u32,
    pub kind: FaultKind,
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    /// Decoded path plus raw query.
    pub target: String,
    pub authorization: Option<String>,
    pub body: String,
    pub at: Instant,
}

/// Bookkeeping both fakes share.
#[derive(Debug, Default)]
pub struct Traffic {
    pub seen: Vec<Seen>,
    pub faults: Vec<Fault>,
    pub in_flight: u32,
    pub max_in_flight: u32,
    /// Added to every answer, so concurrency shows.
    pub delay: Duration,
    /// Echo the credentials the client sent in error messages (a hostile or buggy server).
    pub echo_credentials: bool,
}

impl Traffic {
    fn take_fault(&mut self, method: &Method, path: &str) -> Option<FaultKind> {
        let fault = self.faults.iter_mut().find(|f| f.times > 0 && f.method == *method && path.contains(&f.path))?;
        fault.times -= 1;
        Some(fault.kind.clone())
    }

    /// The requests seen, as "METHOD target" lines.
    pub fn lines(&self) -> Vec<String> {
        self.seen.iter().map(|s| format!("{} {}", s.method, s.target)).collect()
    }

    /// When the first request whose "METHOD target" contains `needle` arrived.
    pub fn first_at(&self, needle: &str) -> Instant {
        self.seen
            .iter()
            .find(|s| format!("{} {}", s.method, s.target).contains(needle))
            .map(|s| s.at)
            .unwrap_or_else(|| panic!("no request matching {needle}: {:#?}", self.lines()))
    }

    /// How many requests contain `needle` in "METHOD target".
    pub fn count(&self, needle: &str) -> usize {
        self.lines().iter().filter(|line| line.contains(needle)).count()
    }

    /// Whether any request other than a GET (or the Zoom token POST) was seen.
    pub fn changed_anything(&self) -> bool {
        self.seen.iter().any(|s| s.method != Method::GET && !s.target.starts_with("/oauth/token"))
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let address = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}")
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'%'
            && let Some(Ok(byte)) = hex.map(|h| u8::from_str_radix(h, 16))
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then(|| percent_decode(&value.replace('+', " ")))
    })
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An answer whose body fails after the head: the connection is dropped mid-answer,
/// which the client sees as a reset.
fn reset() -> Response {
    let failing = futures::stream::once(async { Err::<Bytes, std::io::Error>(std::io::Error::other("reset")) });
    (StatusCode::OK, axum::body::Body::from_stream(failing)).into_response()
}

fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
    response
}

/// Counts a request in flight for as long as it lives.
struct InFlight(Arc<Mutex<Traffic>>);

impl InFlight {
    fn enter(traffic: &Arc<Mutex<Traffic>>) -> Self {
        let mut t = traffic.lock().unwrap();
        t.in_flight += 1;
        t.max_in_flight = t.max_in_flight.max(t.in_flight);
        Self(Arc::clone(traffic))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Ok(mut t) = self.0.lock() {
            t.in_flight -= 1;
        }
    }
}

// ---------------------------------------------------------------- Zoom

/// A Zoom user in the fake.
#[derive(Debug, Clone)]
pub struct ZoomUser {
    pub id: String,
    pub email: String,
    pub status: String,
    /// Zoom refuses to deactivate admins and owners (400 code 200).
    pub admin: bool,
    pub sso_revocations: u32,
}

/// The fake Zoom account.
#[derive(Debug, Default)]
pub struct ZoomState {
    pub account_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub users: Vec<ZoomUser>,
    /// (owner id, assistant id): the assistant may schedule for the owner.
    pub assistants: Vec<(String, String)>,
    pub tokens: HashSet<String>,
    pub tokens_issued: u32,
}

impl ZoomState {
    pub fn user(&self, email: &str) -> &ZoomUser {
        self.users.iter().find(|u| u.email == email).expect("user exists")
    }

    fn find(&self, id_or_email: &str) -> Option<usize> {
        self.users.iter().position(|u| u.id == id_or_email || u.email.eq_ignore_ascii_case(id_or_email))
    }

    pub fn assistants_of(&self, owner_id: &str) -> Vec<String> {
        self.assistants.iter().filter(|(o, _)| o == owner_id).map(|(_, a)| a.clone()).collect()
    }

    pub fn schedulers_of(&self, assistant_id: &str) -> Vec<String> {
        self.assistants.iter().filter(|(_, a)| a == assistant_id).map(|(o, _)| o.clone()).collect()
    }
}

/// A running fake Zoom (token endpoint at `/oauth/token`, API under `/v2`).
#[derive(Clone)]
pub struct FakeZoom {
    pub base: String,
    state: Arc<Mutex<ZoomState>>,
    traffic: Arc<Mutex<Traffic>>,
}

impl FakeZoom {
    pub async fn start(account_id: &str, client_id: &str, client_secret: &str) -> Self {
        let state = Arc::new(Mutex::new(ZoomState {
            account_id: account_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..ZoomState::default()
        }));
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        let router = Router::new().fallback(zoom_handler).with_state((Arc::clone(&state), Arc::clone(&traffic)));
        Self { base: serve(router).await, state, traffic }
    }

    pub fn state(&self) -> MutexGuard<'_, ZoomState> {
        self.state.lock().unwrap()
    }

    pub fn traffic(&self) -> MutexGuard<'_, Traffic> {
        self.traffic.lock().unwrap()
    }

    pub fn add_user(&self, id: &str, email: &str, status: &str) {
        self.state().users.push(ZoomUser {
            id: id.into(),
            email: email.into(),
            status: status.into(),
            admin: false,
            sso_revocations: 0,
        });
    }

    /// `assistant` may schedule on behalf of `owner` (both are user ids).
    pub fn add_assistant(&self, owner: &str, assistant: &str) {
        self.state().assistants.push((owner.into(), assistant.into()));
    }

    pub fn fault(&self, method: Method, path: &str, times: u32, kind: FaultKind) {
        self.traffic().faults.push(Fault { method, path: path.into(), times, kind });
    }
}

type ZoomShared = (Arc<Mutex<ZoomState>>, Arc<Mutex<Traffic>>);

async fn zoom_handler(
    State((state, traffic)): State<ZoomShared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&traffic);
    let path = percent_decode(uri.path());
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (fault, delay, echo) = {
        let mut t = traffic.lock().unwrap();
        let target = match uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.clone(),
        };
        t.seen.push(Seen {
            method: method.clone(),
            target,
            authorization: authorization.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        (t.take_fault(&method, &path), t.delay, t.echo_credentials)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(kind) = fault {
        if let FaultKind::CommitThen(after) = kind {
            let _applied = zoom_apply(&state, &method, &uri, &path, authorization.as_deref(), echo, &body);
            return zoom_fault(*after, &state).await;
        }
        return zoom_fault(kind, &state).await;
    }
    zoom_apply(&state, &method, &uri, &path, authorization.as_deref(), echo, &body)
}

/// Applies the request to the fake's state.
fn zoom_apply(
    state: &Arc<Mutex<ZoomState>>,
    method: &Method,
    uri: &Uri,
    path: &str,
    authorization: Option<&str>,
    echo: bool,
    body: &Bytes,
) -> Response {
    let mut state = state.lock().unwrap();
    if path == "/oauth/token" {
        return zoom_token(&mut state, method, uri, authorization, echo);
    }
    let bearer = authorization.and_then(|a| a.strip_prefix("Bearer ")).unwrap_or("");
    if !state.tokens.contains(bearer) {
        let message = if echo { format!("Invalid access token: {bearer}") } else { "Invalid access token.".into() };
        return reply(StatusCode::UNAUTHORIZED, json!({"code": 124, "message": message}));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (user_key, sub) = match segments.as_slice() {
        ["v2", "users", user] => (*user, None),
        ["v2", "users", user, sub] => (*user, Some(*sub)),
        _ => {
            return reply(
                StatusCode::NOT_FOUND,
                json!({"code": 2300, "message": "This API endpoint is not recognized."}),
            );
        }
    };
    let Some(index) = state.find(user_key) else {
        let mut message = format!("User does not exist: {user_key}.");
        if echo {
            message.push_str(&format!(" (you sent {bearer})"));
        }
        return reply(StatusCode::NOT_FOUND, json!({"code": 1001, "message": message}));
    };
    let user_id = state.users[index].id.clone();
    match (method.as_str(), sub) {
        ("GET", None) => {
            let user = &state.users[index];
            reply(StatusCode::OK, json!({"id": user.id, "email": user.email, "status": user.status, "type": 2}))
        }
        ("DELETE", Some("token")) => {
            state.users[index].sso_revocations += 1;
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", Some("assistants")) => {
            let list: Vec<Value> = state
                .assistants_of(&user_id)
                .iter()
                .filter_map(|id| state.find(id).map(|i| json!({"id": id, "email": state.users[i].email})))
                .collect();
            reply(StatusCode::OK, json!({"assistants": list}))
        }
        ("DELETE", Some("assistants")) => {
            state.assistants.retain(|(owner, _)| owner != &user_id);
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", Some("schedulers")) => {
            let list: Vec<Value> = state
                .schedulers_of(&user_id)
                .iter()
                .filter_map(|id| state.find(id).map(|i| json!({"id": id, "email": state.users[i].email, "pmi": 0})))
                .collect();
            reply(StatusCode::OK, json!({"schedulers": list}))
        }
        ("DELETE", Some("schedulers")) => {
            state.assistants.retain(|(_, assistant)| assistant != &user_id);
            StatusCode::NO_CONTENT.into_response()
        }
        ("PUT", Some("status")) => {
            let action = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("action").and_then(Value::as_str).map(str::to_owned));
            let user = &mut state.users[index];
            match action.as_deref() {
                _ if user.admin => reply(
                    StatusCode::BAD_REQUEST,
                    json!({"code": 200, "message": "Zoom Room and Admin users' status cannot be activated or deactivated."}),
                ),
                Some("deactivate") => {
                    user.status = "inactive".into();
                    StatusCode::NO_CONTENT.into_response()
                }
                Some("activate") => {
                    user.status = "active".into();
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => reply(StatusCode::BAD_REQUEST, json!({"code": 300, "message": "Validation Failed."})),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, json!({"code": 2300, "message": "This API endpoint is not recognized."})),
    }
}

/// What `kind` answers (the request is not applied).
async fn zoom_fault(kind: FaultKind, state: &Arc<Mutex<ZoomState>>) -> Response {
    match kind {
        FaultKind::RateLimitSeconds(seconds) => {
            let response = reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"code": 429, "message": "You have reached the maximum per-second rate limit for this API. Try again later."}),
            );
            let response = with_header(response, "x-ratelimit-category", "Light");
            let response = with_header(response, "x-ratelimit-type", "QPS");
            with_header(response, "retry-after", &seconds.to_string())
        }
        FaultKind::DailyLimitUntil(at) => {
            let response = reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({"code": 429, "message": "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request."}),
            );
            let response = with_header(response, "x-ratelimit-category", "Heavy");
            let response = with_header(response, "x-ratelimit-type", "Daily-limit");
            let response = with_header(response, "x-ratelimit-limit", "30000");
            let response = with_header(response, "x-ratelimit-remaining", "0");
            with_header(response, "retry-after", &at)
        }
        FaultKind::ServerError(status) => {
            reply(StatusCode::from_u16(status).unwrap(), json!({"code": status, "message": "Internal error."}))
        }
        FaultKind::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        FaultKind::ExpireTokens => {
            state.lock().unwrap().tokens.clear();
            reply(StatusCode::UNAUTHORIZED, json!({"code": 124, "message": "Access token is expired."}))
        }
        FaultKind::Reset => reset(),
        // Applied-then-applied-then is not a fault anyone needs.
        FaultKind::CommitThen(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn zoom_token(state: &mut ZoomState, method: &Method, uri: &Uri, authorization: Option<&str>, echo: bool) -> Response {
    if method != Method::POST {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"reason": "method not allowed", "error": "invalid_request"}),
        );
    }
    if query_param(uri, "grant_type").as_deref() != Some("account_credentials") {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({"reason": "unsupported grant type", "error": "unsupported_grant_type"}),
        );
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", state.client_id, state.client_secret))
    );
    if authorization != Some(expected.as_str()) {
        let reason = if echo {
            format!("Invalid client_id or client_secret (got {})", authorization.unwrap_or(""))
        } else {
            "Invalid client_id or client_secret".into()
        };
        return reply(StatusCode::BAD_REQUEST, json!({"reason": reason, "error": "invalid_client"}));
    }
    if query_param(uri, "account_id").as_deref() != Some(state.account_id.as_str()) {
        return reply(StatusCode::BAD_REQUEST, json!({"reason": "Invalid account_id", "error": "invalid_request"}));
    }
    state.tokens_issued += 1;
    let token = format!("zoom-access-{}-s3cr3t", state.tokens_issued);
    state.tokens.insert(token.clone());
    reply(
        StatusCode::OK,
        json!({"access_token": token, "token_type": "bearer", "expires_in": 3599, "scope": "user:write:admin user:read:admin", "api_url": "https://api.zoom.us"}),
    )
}

// ---------------------------------------------------------------- Cloudflare

/// The fake Cloudflare account.
#[derive(Debug, Default)]
pub struct CloudflareState {
    pub account_id: String,
    pub api_token: String,
    pub global_email: String,
    pub global_key: String,
    /// (uuid, email) of Zero Trust users.
    pub users: Vec<(String, String)>,
    /// The `revoke_user` bodies received, parsed.
    pub revocations: Vec<Value>,
}

impl CloudflareState {
    pub fn revoked(&self, email: &str) -> usize {
        self.revocations.iter().filter(|r| r["email"] == email).count()
    }
}

/// A running fake Cloudflare API (under `/client/v4`).
#[derive(Clone)]
pub struct FakeCloudflare {
    pub base: String,
    state: Arc<Mutex<CloudflareState>>,
    traffic: Arc<Mutex<Traffic>>,
}

impl FakeCloudflare {
    pub async fn start(account_id: &str, api_token: &str, global_email: &str, global_key: &str) -> Self {
        let state = Arc::new(Mutex::new(CloudflareState {
            account_id: account_id.into(),
            api_token: api_token.into(),
            global_email: global_email.into(),
            global_key: global_key.into(),
            ..CloudflareState::default()
        }));
        let traffic = Arc::new(Mutex::new(Traffic::default()));
        let router = Router::new().fallback(cloudflare_handler).with_state((Arc::clone(&state), Arc::clone(&traffic)));
        Self { base: serve(router).await, state, traffic }
    }

    pub fn state(&self) -> MutexGuard<'_, CloudflareState> {
        self.state.lock().unwrap()
    }

    pub fn traffic(&self) -> MutexGuard<'_, Traffic> {
        self.traffic.lock().unwrap()
    }

    pub fn add_user(&self, uuid: &str, email: &str) {
        self.state().users.push((uuid.into(), email.into()));
    }

    pub fn fault(&self, method: Method, path: &str, times: u32, kind: FaultKind) {
        self.traffic().faults.push(Fault { method, path: path.into(), times, kind });
    }
}

type CloudflareShared = (Arc<Mutex<CloudflareState>>, Arc<Mutex<Traffic>>);

fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    reply(
        status,
        json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null}),
    )
}

async fn cloudflare_handler(
    State((state, traffic)): State<CloudflareShared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let _in_flight = InFlight::enter(&traffic);
    let path = percent_decode(uri.path());
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorization = header("authorization");
    let (fault, delay, echo) = {
        let mut t = traffic.lock().unwrap();
        let target = match uri.query() {
            Some(query) => format!("{path}?{query}"),
            None => path.clone(),
        };
        t.seen.push(Seen {
            method: method.clone(),
            target,
            authorization: authorization.clone().or_else(|| header("x-auth-key")),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        (t.take_fault(&method, &path), t.delay, t.echo_credentials)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(kind) = fault {
        if let FaultKind::CommitThen(after) = kind {
            let _applied = cloudflare_apply(&state, &method, &uri, &path, &headers, echo, &body);
            return cloudflare_fault(*after, &state).await;
        }
        return cloudflare_fault(kind, &state).await;
    }
    cloudflare_apply(&state, &method, &uri, &path, &headers, echo, &body)
}

/// Applies the request to the fake's state.
fn cloudflare_apply(
    state: &Arc<Mutex<CloudflareState>>,
    method: &Method,
    uri: &Uri,
    path: &str,
    headers: &HeaderMap,
    echo: bool,
    body: &Bytes,
) -> Response {
    let mut state = state.lock().unwrap();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let authorization = header("authorization");
    let bearer = authorization.as_deref().and_then(|a| a.strip_prefix("Bearer "));
    let (email, key) = (header("x-auth-email"), header("x-auth-key"));
    match (bearer, &email, &key) {
        (Some(token), _, _) if token == state.api_token => {}
        (Some(token), _, _) => {
            let message = if echo { format!("Invalid access token {token}") } else { "Invalid access token".into() };
            return failure(StatusCode::FORBIDDEN, 9109, &message);
        }
        (None, Some(email), Some(key)) if *email == state.global_email && *key == state.global_key => {}
        (None, Some(_), Some(_)) => {
            return failure(StatusCode::FORBIDDEN, 9103, "Unknown X-Auth-Key or X-Auth-Email");
        }
        _ => {
            return failure(StatusCode::BAD_REQUEST, 9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers");
        }
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let rest = match segments.as_slice() {
        ["client", "v4", "accounts", account, rest @ ..] if *account == state.account_id => rest.to_vec(),
        ["client", "v4", "accounts", _, ..] => {
            return failure(StatusCode::FORBIDDEN, 9109, "Unauthorized to access requested resource");
        }
        _ => {
            return failure(
                StatusCode::BAD_REQUEST,
                7003,
                "Could not route to /client/v4/..., perhaps your object identifier is invalid?",
            );
        }
    };
    match (method.as_str(), rest.as_slice()) {
        ("GET", ["access", "users"]) => {
            // Like a search box: substring match, so the client must pick the exact address.
            let wanted = query_param(uri, "email").unwrap_or_default().to_lowercase();
            let page: usize = query_param(uri, "page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
            let per_page: usize =
                query_param(uri, "per_page").and_then(|p| p.parse().ok()).unwrap_or(1000).clamp(1, 1000);
            let matching: Vec<&(String, String)> =
                state.users.iter().filter(|(_, email)| email.to_lowercase().contains(&wanted)).collect();
            let items: Vec<Value> = matching
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .map(|(id, email)| json!({"id": id, "email": email, "name": email, "access_seat": true, "gateway_seat": false}))
                .collect();
            let total = matching.len();
            reply(
                StatusCode::OK,
                json!({"success": true, "errors": [], "messages": [], "result": items,
                       "result_info": {"page": page, "per_page": per_page, "count": items.len(), "total_count": total}}),
            )
        }
        ("POST", ["access", "organizations", "revoke_user"]) => {
            let Ok(document) = serde_json::from_slice::<Value>(body) else {
                return failure(StatusCode::BAD_REQUEST, 12130, "access.api.error.invalid_request: body is not JSON");
            };
            if !document["email"].is_string() {
                return failure(StatusCode::BAD_REQUEST, 12130, "access.api.error.invalid_request: email is required");
            }
            state.revocations.push(document);
            reply(StatusCode::OK, json!({"result": true, "success": true, "errors": [], "messages": []}))
        }
        _ => failure(StatusCode::NOT_FOUND, 7000, "No route for that URI"),
    }
}

/// What `kind` answers (the request is not applied).
async fn cloudflare_fault(kind: FaultKind, _state: &Arc<Mutex<CloudflareState>>) -> Response {
    match kind {
        FaultKind::RateLimitSeconds(seconds) => {
            let response =
                failure(StatusCode::TOO_MANY_REQUESTS, 971, "Please wait and consider throttling your request speed");
            with_header(response, "retry-after", &seconds.to_string())
        }
        FaultKind::DailyLimitUntil(at) => {
            let response =
                failure(StatusCode::TOO_MANY_REQUESTS, 971, "Please wait and consider throttling your request speed");
            with_header(response, "retry-after", &at)
        }
        FaultKind::ServerError(status) => {
            failure(StatusCode::from_u16(status).unwrap(), 10001, "access.api.error.internal_server_error")
        }
        FaultKind::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        FaultKind::ExpireTokens => failure(StatusCode::FORBIDDEN, 9109, "Invalid access token"),
        FaultKind::Reset => reset(),
        // Applied-then-applied-then is not a fault anyone needs.
        FaultKind::CommitThen(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
