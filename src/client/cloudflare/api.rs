//! Cloudflare API v4 client for Zero Trust Access: the user lookup and `revoke_user`.
//!
//! Wire format (see `reference/cloudflare/NOTES.md`): every answer is the v4 envelope
//! `{"success","errors":[{"code","message"}],"messages","result","result_info"}`; auth is
//! `Authorization: Bearer <token>` or `X-Auth-Email` + `X-Auth-Key`.

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use secrecy::ExposeSecret as _;

use super::config::{CloudflareAuth, CloudflareConfig};
use crate::client::failure::{FailureKind, ProviderCode, ProviderError, sanitize_provider_text};
use crate::client::http::{CallLog, CallRecord, HttpCaller, OutboundRequest, Reply, RequestBody, Sent, secret_header};

/// Users per lookup page (the API allows up to 1000).
const PAGE_SIZE: usize = 100;
/// A server that ignores the `email` filter must not keep us paging forever.
const MAX_PAGES: u32 = 50;
/// 400 codes that mean "your credentials are missing or malformed".
const CREDENTIAL_CODES: [i64; 6] = [6003, 6102, 6103, 6111, 9106, 10001];

/// A Zero Trust (Access) user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUser {
    /// The user's uuid, when Cloudflare sends it.
    pub id: Option<String>,
    /// Email address.
    pub email: String,
}

/// A Cloudflare API client for one account.
#[derive(Debug)]
pub struct CloudflareClient {
    http: HttpCaller,
    config: CloudflareConfig,
    auth_headers: HeaderMap,
}

impl CloudflareClient {
    /// A client for `config`. Fails only if a credential cannot go in a header.
    pub fn new(http: HttpCaller, config: CloudflareConfig) -> Result<Self, String> {
        let mut auth_headers = HeaderMap::new();
        match &config.auth {
            CloudflareAuth::ApiToken(token) => {
                auth_headers.insert(AUTHORIZATION, secret_header(&format!("Bearer {}", token.expose_secret()))?);
            }
            CloudflareAuth::GlobalKey { email, key } => {
                auth_headers.insert(HeaderName::from_static("x-auth-email"), secret_header(email)?);
                auth_headers.insert(HeaderName::from_static("x-auth-key"), secret_header(key.expose_secret())?);
            }
        }
        auth_headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        Ok(Self { http, config, auth_headers })
    }

    /// Its configuration.
    pub fn config(&self) -> &CloudflareConfig {
        &self.config
    }

    /// The full URL of an account-level path, e.g. `["access", "users"]`.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.config.api_url.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["accounts", self.config.account_id.as_str()]).extend(segments);
        }
        url
    }

    /// The `revoke_user` URL (with `?devices=true`).
    pub fn revoke_user_url(&self) -> Url {
        let mut url = self.url(&["access", "organizations", "revoke_user"]);
        url.query_pairs_mut().append_pair("devices", "true");
        url
    }

    /// Finds the Access user with exactly this email (case-insensitive): `Ok(None)` when
    /// the list comes back without them.
    pub async fn find_user(&self, email: &str, log: &mut CallLog) -> Result<Option<AccessUser>, ProviderError> {
        #[derive(Deserialize)]
        struct UserItem {
            id: Option<String>,
            email: Option<String>,
        }
        #[derive(Deserialize, Default)]
        struct PageInfo {
            total_pages: Option<u32>,
        }
        for page in 1..=MAX_PAGES {
            let mut url = self.url(&["access", "users"]);
            url.query_pairs_mut()
                .append_pair("email", email)
                .append_pair("page", &page.to_string())
                .append_pair("per_page", &PAGE_SIZE.to_string());
            let (users, info): (Vec<UserItem>, Option<PageInfo>) =
                self.call(Method::GET, url, RequestBody::None, log).await?;
            let page_len = users.len();
            let found = users.into_iter().find_map(|user| {
                let user_email = user.email?;
                user_email.eq_ignore_ascii_case(email).then_some(AccessUser { id: user.id, email: user_email })
            });
            if found.is_some() {
                return Ok(found);
            }
            // The SDKs stop at an empty page; a short page or the last page also ends it.
            let last_page = info.and_then(|info| info.total_pages).is_some_and(|total| page >= total);
            if page_len < PAGE_SIZE || last_page {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// `POST .../access/organizations/revoke_user?devices=true` with
    /// `{"email", "devices": true, "warp_session_reauth": true}`: ends the person's
    /// Access sessions, revokes their devices and forces WARP re-authentication.
    /// Returns Cloudflare's `result` (`true` when it revoked).
    pub async fn revoke_user(&self, email: &str, log: &mut CallLog) -> Result<bool, ProviderError> {
        let body = serde_json::json!({ "email": email, "devices": true, "warp_session_reauth": true });
        let (result, _): (Option<bool>, Option<serde_json::Value>) =
            self.call(Method::POST, self.revoke_user_url(), RequestBody::Json(body), log).await?;
        Ok(result.unwrap_or(false))
    }

    /// One call; returns the envelope's `result` and `result_info`.
    async fn call<T: DeserializeOwned, I: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: RequestBody,
        log: &mut CallLog,
    ) -> Result<(T, Option<I>), ProviderError> {
        let request = OutboundRequest::new(method, url, self.auth_headers.clone(), body);
        let sent = self.http.send(&request, log.deadline()).await;
        let reply = match &sent.outcome {
            Err(failure) => {
                log.push(CallRecord::new(&request, &sent, None));
                return Err(sent.transport_error("Cloudflare", failure));
            }
            Ok(reply) => reply,
        };
        let envelope: Option<Envelope<T, I>> = serde_json::from_slice(&reply.body).ok();
        let first_code = envelope.as_ref().and_then(|e| e.errors.first()).and_then(|e| e.code);
        log.push(CallRecord::new(&request, &sent, first_code.map(ProviderCode::Number)));
        match envelope {
            Some(envelope) if reply.status.is_success() && envelope.success != Some(false) => match envelope.result {
                Some(result) => Ok((result, envelope.result_info)),
                None => Err(ProviderError {
                    kind: FailureKind::ProviderError,
                    status: Some(reply.status.as_u16()),
                    code: None,
                    message: format!("Cloudflare answered {} without a result", reply.status.as_u16()),
                    unanswered: None,
                }),
            },
            Some(envelope) => Err(api_error(&sent, reply, &envelope.errors)),
            None if reply.status.is_success() => Err(ProviderError {
                kind: FailureKind::ProviderError,
                status: Some(reply.status.as_u16()),
                code: None,
                message: format!(
                    "Cloudflare answered {} with a body that is not the v4 envelope",
                    reply.status.as_u16()
                ),
                unanswered: None,
            }),
            None => Err(api_error(&sent, reply, &[])),
        }
    }
}

/// The v4 envelope.
#[derive(Debug, Deserialize)]
struct Envelope<T, I> {
    success: Option<bool>,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    result: Option<T>,
    result_info: Option<I>,
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    code: Option<i64>,
    message: Option<String>,
    #[serde(default)]
    error_chain: Vec<ApiMessage>,
}

impl ApiMessage {
    fn describe(&self) -> String {
        let mut text = match (self.code, &self.message) {
            (Some(code), Some(message)) => {
                format!("code {code}: {}", sanitize_provider_text(message))
            }
            (Some(code), None) => format!("code {code}"),
            (None, Some(message)) => sanitize_provider_text(message),
            (None, None) => "(no message)".to_owned(),
        };
        if !self.error_chain.is_empty() {
            let chain: Vec<String> = self.error_chain.iter().map(ApiMessage::describe).collect();
            text.push_str(&format!(" ({})", chain.join("; ")));
        }
        text
    }
}

fn api_error(sent: &Sent, reply: &Reply, errors: &[ApiMessage]) -> ProviderError {
    let status = reply.status.as_u16();
    let code = errors.first().and_then(|e| e.code);
    let kind = match (status, code) {
        (401 | 403, _) => FailureKind::Auth,
        (400, Some(code)) if CREDENTIAL_CODES.contains(&code) => FailureKind::Auth,
        (404, _) => FailureKind::NotFound,
        (429, _) => FailureKind::RateLimited,
        _ => FailureKind::ProviderError,
    };
    let mut message = format!("Cloudflare answered {status}");
    if errors.is_empty() {
        if !reply.body.is_empty() {
            message.push_str(&format!(": {}", sanitize_provider_text(&String::from_utf8_lossy(&reply.body))));
        }
    } else {
        let described: Vec<String> = errors.iter().map(ApiMessage::describe).collect();
        message.push_str(&format!(" {}", described.join("; ")));
    }
    if status == 404 {
        message.push_str(" (are CLOUDFLARE_ACCOUNT_ID and --cloudflare-api-url right?)");
    }
    if kind == FailureKind::Auth {
        message.push_str(
            " (check CLOUDFLARE_API_TOKEN or CLOUDFLARE_EMAIL/CLOUDFLARE_API_KEY, and the token's Access permissions)",
        );
    }
    ProviderError {
        kind,
        status: Some(status),
        code: code.map(ProviderCode::Number),
        message: sent.with_retry_note(message),
        unanswered: sent.unanswered_write(),
    }
}
