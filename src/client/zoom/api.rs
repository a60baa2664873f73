//! Zoom Users API v2 client: the Server-to-Server OAuth token, the user lookup, and the
//! calls of the offboarding playbook.
//!
//! Wire format (see `reference/zoom/NOTES.md`): `Authorization: Bearer <token>`; errors
//! are `{"code": int, "message": str}`; an invalid or expired token is 401 code 124, and
//! the cure is one new token and one more try; an unknown user is 404 code 1001.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use secrecy::{ExposeSecret as _, SecretString};

use super::config::ZoomConfig;
use crate::client::failure::{FailureKind, ProviderCode, ProviderError, sanitize_provider_text};
use crate::client::http::{CallLog, CallRecord, HttpCaller, OutboundRequest, Reply, RequestBody, Sent, secret_header};
use crate::client::redact::Redactor;

/// Zoom's code for "invalid or expired access token".
const INVALID_TOKEN: i64 = 124;
/// Zoom's code for "User does not exist".
const USER_DOES_NOT_EXIST: i64 = 1001;
/// Codes Zoom sends with 400 when the token lacks a scope or privilege.
const MISSING_SCOPE: [i64; 2] = [4700, 4711];
/// The longest token lifetime we believe (Zoom's is one hour).
const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;
/// Tokens are replaced this long before Zoom says they expire (clock skew, slow calls).
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(60);

/// A Zoom user as the lookup returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoomUser {
    /// The user id used in every later call (the email for a pending user, who has no id).
    pub id: String,
    /// Email address.
    pub email: String,
    /// `active`, `inactive` or `pending`, when Zoom says.
    pub status: Option<String>,
}

impl ZoomUser {
    /// Whether Zoom already lists the user as deactivated.
    pub fn is_inactive(&self) -> bool {
        self.status.as_deref() == Some("inactive")
    }

    /// Whether the user was invited and has not joined yet (pending users cannot be
    /// deactivated; their invitation is withdrawn instead).
    pub fn is_pending(&self) -> bool {
        self.status.as_deref() == Some("pending")
    }
}

/// The `action` of `PUT /users/{userId}/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    /// Re-activate a deactivated user.
    Activate,
    /// Deactivate: removes licences and prevents sign-in.
    Deactivate,
}

impl StatusAction {
    fn wire_name(self) -> &'static str {
        match self {
            StatusAction::Activate => "activate",
            StatusAction::Deactivate => "deactivate",
        }
    }
}

/// A Zoom API client for one Server-to-Server OAuth app. Shared by all workers: they
/// share one access token and one throttle.
#[derive(Debug)]
pub struct ZoomClient {
    http: HttpCaller,
    config: ZoomConfig,
    token: tokio::sync::Mutex<TokenSlot>,
    token_generation: AtomicU64,
    redactor: Arc<Redactor>,
}

#[derive(Debug)]
enum TokenSlot {
    Empty,
    Ready(AccessToken),
    /// Zoom rejected the app's credentials: asking again for every person would only
    /// add noise (and look like credential stuffing).
    Refused(ProviderError),
}

#[derive(Debug, Clone)]
struct AccessToken {
    value: SecretString,
    renew_at: Instant,
    /// Tells apart "the token I used was rejected" from "someone already replaced it".
    generation: u64,
}

impl ZoomClient {
    /// A client for `config`; every access token it obtains is registered with `redactor`.
    pub fn new(http: HttpCaller, config: ZoomConfig, redactor: Arc<Redactor>) -> Self {
        Self {
            http,
            config,
            token: tokio::sync::Mutex::new(TokenSlot::Empty),
            token_generation: AtomicU64::new(0),
            redactor,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &ZoomConfig {
        &self.config
    }

    /// The full URL of an API path, e.g. `["users", id, "token"]`.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.config.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Looks a person up by email: `Ok(None)` when Zoom answers 404 code 1001.
    pub async fn find_user(&self, email: &str, log: &mut CallLog) -> Result<Option<ZoomUser>, ProviderError> {
        let reply = match self.call(Method::GET, &["users", email], RequestBody::None, log).await {
            Ok(reply) => reply,
            Err(err) if is_unknown_user(&err) => return Ok(None),
            Err(err) => return Err(err),
        };
        #[derive(Deserialize)]
        struct UserBody {
            id: Option<String>,
            email: Option<String>,
            status: Option<String>,
        }
        let body: UserBody = parse_json(&reply, "user")?;
        Ok(Some(ZoomUser {
            id: body.id.filter(|id| !id.is_empty()).unwrap_or_else(|| email.to_owned()),
            email: body.email.unwrap_or_else(|| email.to_owned()),
            status: body.status,
        }))
    }

    /// `DELETE /users/{id}/token`: ends the person's current Zoom sessions.
    pub async fn revoke_sso_token(&self, user_id: &str, log: &mut CallLog) -> Result<(), ProviderError> {
        self.call(Method::DELETE, &["users", user_id, "token"], RequestBody::None, log).await?;
        Ok(())
    }

    /// `GET /users/{id}/assistants`: the people who may schedule on this person's behalf.
    pub async fn list_assistants(&self, user_id: &str, log: &mut CallLog) -> Result<Vec<String>, ProviderError> {
        let reply = self.call(Method::GET, &["users", user_id, "assistants"], RequestBody::None, log).await?;
        #[derive(Deserialize)]
        struct Assistants {
            #[serde(default)]
            assistants: Vec<Delegate>,
        }
        let body: Assistants = parse_json(&reply, "assistant list")?;
        Ok(body.assistants.into_iter().map(Delegate::label).collect())
    }

    /// `DELETE /users/{id}/assistants`: removes all of the person's assistants.
    pub async fn delete_assistants(&self, user_id: &str, log: &mut CallLog) -> Result<(), ProviderError> {
        self.call(Method::DELETE, &["users", user_id, "assistants"], RequestBody::None, log).await?;
        Ok(())
    }

    /// `GET /users/{id}/schedulers`: the people this person is an assistant of.
    pub async fn list_schedulers(&self, user_id: &str, log: &mut CallLog) -> Result<Vec<String>, ProviderError> {
        let reply = self.call(Method::GET, &["users", user_id, "schedulers"], RequestBody::None, log).await?;
        #[derive(Deserialize)]
        struct Schedulers {
            #[serde(default)]
            schedulers: Vec<Delegate>,
        }
        let body: Schedulers = parse_json(&reply, "scheduler list")?;
        Ok(body.schedulers.into_iter().map(Delegate::label).collect())
    }

    /// `DELETE /users/{id}/schedulers`: the person stops being anyone's assistant.
    pub async fn delete_schedulers(&self, user_id: &str, log: &mut CallLog) -> Result<(), ProviderError> {
        self.call(Method::DELETE, &["users", user_id, "schedulers"], RequestBody::None, log).await?;
        Ok(())
    }

    /// `PUT /users/{id}/status` with `{"action": ...}`.
    pub async fn set_status(
        &self,
        user_id: &str,
        action: StatusAction,
        log: &mut CallLog,
    ) -> Result<(), ProviderError> {
        let body = RequestBody::Json(serde_json::json!({ "action": action.wire_name() }));
        self.call(Method::PUT, &["users", user_id, "status"], body, log).await?;
        Ok(())
    }

    /// `DELETE /users/{id}?action=disassociate`: withdraws a pending user's invitation
    /// (Zoom's way to remove a user who has not joined yet), so it cannot be accepted later.
    pub async fn withdraw_invitation(&self, user_id: &str, log: &mut CallLog) -> Result<(), ProviderError> {
        let mut url = self.url(&["users", user_id]);
        url.query_pairs_mut().append_pair("action", "disassociate");
        self.call_at(Method::DELETE, url, RequestBody::None, log).await?;
        Ok(())
    }

    /// One API call with the app's bearer token; a 401 gets one new token and one more try.
    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: RequestBody,
        log: &mut CallLog,
    ) -> Result<Reply, ProviderError> {
        self.call_at(method, self.url(segments), body, log).await
    }

    /// [`Self::call`] for a complete URL (one with a query).
    async fn call_at(
        &self,
        method: Method,
        url: Url,
        body: RequestBody,
        log: &mut CallLog,
    ) -> Result<Reply, ProviderError> {
        let mut token_renewed = false;
        loop {
            let token = self.bearer(log).await?;
            let mut headers = HeaderMap::new();
            let authorization = secret_header(&format!("Bearer {}", token.value.expose_secret()))
                .map_err(|why| ProviderError::new(FailureKind::Auth, format!("Zoom token: {why}")))?;
            headers.insert(AUTHORIZATION, authorization);
            headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
            let request = OutboundRequest::new(method.clone(), url.clone(), headers, body.clone());
            let sent = self.http.send(&request, log.deadline()).await;
            let reply = match &sent.outcome {
                Err(failure) => {
                    log.push(CallRecord::new(&request, &sent, None));
                    return Err(sent.transport_error("Zoom", failure));
                }
                Ok(reply) => reply,
            };
            if reply.status.is_success() {
                log.push(CallRecord::new(&request, &sent, None));
                return Ok(reply.clone());
            }
            let error = api_error(&sent, reply);
            log.push(CallRecord::new(&request, &sent, error.code.clone()));
            if reply.status == StatusCode::UNAUTHORIZED && !token_renewed {
                // Expired or revoked token (code 124): Zoom has no refresh token, so ask
                // for a new one with the app credentials and try once more.
                token_renewed = true;
                self.forget_token(token.generation).await;
                continue;
            }
            return Err(error);
        }
    }

    /// A usable access token, fetching one if needed. Concurrent workers wait for a
    /// single fetch instead of each asking for their own.
    async fn bearer(&self, log: &mut CallLog) -> Result<AccessToken, ProviderError> {
        let mut slot = self.token.lock().await;
        match &*slot {
            TokenSlot::Ready(token) if Instant::now() < token.renew_at => return Ok(token.clone()),
            TokenSlot::Refused(err) => {
                let mut err = err.clone();
                err.message = format!("earlier in this run, {}", err.message);
                return Err(err);
            }
            TokenSlot::Ready(_) | TokenSlot::Empty => {}
        }
        match self.fetch_token(log).await {
            Ok(token) => {
                *slot = TokenSlot::Ready(token.clone());
                Ok(token)
            }
            Err(err) => {
                if err.kind == FailureKind::Auth {
                    *slot = TokenSlot::Refused(err.clone());
                }
                Err(err)
            }
        }
    }

    async fn forget_token(&self, generation: u64) {
        let mut slot = self.token.lock().await;
        if matches!(&*slot, TokenSlot::Ready(token) if token.generation == generation) {
            *slot = TokenSlot::Empty;
        }
    }

    /// `POST {oauth_url}?grant_type=account_credentials&account_id=...` with Basic auth.
    async fn fetch_token(&self, log: &mut CallLog) -> Result<AccessToken, ProviderError> {
        let mut url = self.config.oauth_url.clone();
        url.query_pairs_mut()
            .append_pair("grant_type", "account_credentials")
            .append_pair("account_id", &self.config.account_id);
        let mut headers = HeaderMap::new();
        let basic = self.config.basic_authorization();
        let authorization = secret_header(basic.expose_secret())
            .map_err(|why| ProviderError::new(FailureKind::Auth, format!("Zoom credentials: {why}")))?;
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        // Asking for a token twice only yields two tokens.
        let request = OutboundRequest::new(Method::POST, url, headers, RequestBody::Empty).repeatable();
        let sent = self.http.send(&request, log.deadline()).await;
        let reply = match &sent.outcome {
            Err(failure) => {
                log.push(CallRecord::new(&request, &sent, None));
                return Err(sent.transport_error("the Zoom token endpoint", failure));
            }
            Ok(reply) => reply,
        };
        if !reply.status.is_success() {
            let error = token_error(&sent, reply);
            log.push(CallRecord::new(&request, &sent, error.code.clone()));
            return Err(error);
        }
        log.push(CallRecord::new(&request, &sent, None));
        #[derive(Deserialize)]
        struct TokenBody {
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let body: TokenBody = parse_json(reply, "token")?;
        let Some(value) = body.access_token.filter(|token| !token.is_empty()) else {
            return Err(ProviderError::new(
                FailureKind::ProviderError,
                "the Zoom token endpoint answered without an access_token",
            ));
        };
        self.redactor.add(&value);
        // Never trust a lifetime beyond a day (and never overflow an Instant with one).
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600).min(MAX_TOKEN_LIFETIME_SECS));
        let margin = TOKEN_EXPIRY_MARGIN.min(lifetime / 2);
        Ok(AccessToken {
            value: SecretString::from(value),
            renew_at: Instant::now() + (lifetime - margin),
            generation: self.token_generation.fetch_add(1, Ordering::Relaxed) + 1,
        })
    }
}

/// An assistant or scheduler entry; we show the email, else the id.
#[derive(Debug, Deserialize)]
struct Delegate {
    id: Option<String>,
    email: Option<String>,
}

impl Delegate {
    fn label(self) -> String {
        self.email.or(self.id).unwrap_or_else(|| "(unnamed)".to_owned())
    }
}

/// Whether `err` is Zoom's "User does not exist" (404 code 1001).
pub fn is_unknown_user(err: &ProviderError) -> bool {
    err.status == Some(404) && err.code == Some(ProviderCode::Number(USER_DOES_NOT_EXIST))
}

fn parse_json<T: serde::de::DeserializeOwned>(reply: &Reply, what: &str) -> Result<T, ProviderError> {
    serde_json::from_slice(&reply.body).map_err(|err| ProviderError {
        kind: FailureKind::ProviderError,
        status: Some(reply.status.as_u16()),
        code: None,
        message: format!("Zoom answered {} with an unreadable {what}: {err}", reply.status.as_u16()),
        unanswered: None,
    })
}

/// Maps a non-2xx API answer to a failure kind and message.
fn api_error(sent: &Sent, reply: &Reply) -> ProviderError {
    #[derive(Deserialize, Default)]
    struct ErrorBody {
        code: Option<i64>,
        message: Option<String>,
    }
    let body: ErrorBody = serde_json::from_slice(&reply.body).unwrap_or_default();
    let status = reply.status.as_u16();
    let kind = match (status, body.code) {
        (401 | 403, _) => FailureKind::Auth,
        (400, Some(code)) if code == INVALID_TOKEN || MISSING_SCOPE.contains(&code) => FailureKind::Auth,
        (404, Some(USER_DOES_NOT_EXIST)) => FailureKind::NotFound,
        (429, _) => FailureKind::RateLimited,
        _ => FailureKind::ProviderError,
    };
    let mut message = format!("Zoom answered {status}");
    if let Some(code) = body.code {
        message.push_str(&format!(" code {code}"));
    }
    match body.message {
        Some(text) => message.push_str(&format!(": {}", sanitize_provider_text(&text))),
        None if !reply.body.is_empty() => {
            message.push_str(&format!(": {}", sanitize_provider_text(&String::from_utf8_lossy(&reply.body))))
        }
        None => {}
    }
    if status == 429 {
        let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok());
        let limit = [header("x-ratelimit-type"), header("x-ratelimit-category")]
            .into_iter()
            .flatten()
            .map(sanitize_provider_text)
            .collect::<Vec<_>>();
        if !limit.is_empty() {
            message.push_str(&format!(" [{}]", limit.join(", ")));
        }
    }
    if status == 404 && kind != FailureKind::NotFound {
        message.push_str(" (is --zoom-api-url right?)");
    }
    ProviderError {
        kind,
        status: Some(status),
        code: body.code.map(ProviderCode::Number),
        message: sent.with_retry_note(message),
        unanswered: sent.unanswered_write(),
    }
}

/// Maps a non-2xx token-endpoint answer (`{"reason","error"}`) to a failure.
fn token_error(sent: &Sent, reply: &Reply) -> ProviderError {
    #[derive(Deserialize, Default)]
    struct TokenErrorBody {
        reason: Option<String>,
        error: Option<String>,
    }
    let body: TokenErrorBody = serde_json::from_slice(&reply.body).unwrap_or_default();
    let status = reply.status.as_u16();
    let kind = match status {
        400 | 401 | 403 => FailureKind::Auth,
        429 => FailureKind::RateLimited,
        _ => FailureKind::ProviderError,
    };
    let mut message = format!("the Zoom token endpoint answered {status}");
    if let Some(error) = &body.error {
        message.push_str(&format!(" {}", sanitize_provider_text(error)));
    }
    if let Some(reason) = &body.reason {
        message.push_str(&format!(": {}", sanitize_provider_text(reason)));
    }
    if kind == FailureKind::Auth {
        message.push_str(" (check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET)");
    }
    if status == 404 || status == 405 {
        message.push_str(" (is --zoom-oauth-url right?)");
    }
    ProviderError {
        kind,
        status: Some(status),
        code: body.error.map(|e| ProviderCode::Text(sanitize_provider_text(&e))),
        message: sent.with_retry_note(message),
        unanswered: sent.unanswered_write(),
    }
}
