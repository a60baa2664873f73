//! Cloudflare v4 errors: always the envelope `{"success": false, "errors": [...],
//! "messages": [], "result": null}`, always with a non-2xx status (the official Python
//! SDK treats a 200 carrying `success: false` as a success).
//!
//! Codes and messages follow the reference error catalogue. Where Cloudflare's code for a
//! situation is not established, the choice is marked *inferred*.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::InternalFailure;
use crate::api::body::BodyError;
use crate::domain::Error;
use crate::domain::error::STORAGE_FULL_RETRY_AFTER_SECONDS;

/// Codes used on the wire.
pub mod code {
    pub const INVALID_API_TOKEN: u32 = 1000;
    pub const INVALID_HEADERS: u32 = 6003;
    pub const INVALID_EMAIL_HEADER: u32 = 6102;
    pub const INVALID_KEY_HEADER: u32 = 6103;
    pub const INVALID_AUTHORIZATION_HEADER: u32 = 6111;
    pub const MALFORMED_JSON: u32 = 6007;
    pub const NO_ROUTE: u32 = 7000;
    pub const METHOD_NOT_AVAILABLE: u32 = 7001;
    pub const BAD_OBJECT_IDENTIFIER: u32 = 7003;
    pub const UNKNOWN_KEY: u32 = 9103;
    pub const MISSING_CREDENTIALS: u32 = 9106;
    pub const UNAUTHORIZED: u32 = 9109;
    pub const CONTENT_TYPE: u32 = 9207;
    pub const RATE_LIMITED: u32 = 971;
    pub const AUTHENTICATION_ERROR: u32 = 10000;
    pub const SCHEME_NOT_ACCEPTED: u32 = 10001;
    /// Inferred: Cloudflare's generic "unknown error" code.
    pub const INTERNAL: u32 = 10013;
    pub const ACCESS_INVALID_REQUEST: u32 = 12130;
    pub const ACCESS_NOT_FOUND: u32 = 12135;
}

/// One error of the envelope's `errors` list.
#[derive(Debug, Clone)]
pub struct ErrorItem {
    pub code: u32,
    pub message: String,
    pub chain: Vec<(u32, String)>,
}

/// A Cloudflare v4 error answer.
#[derive(Debug, Clone)]
pub struct CfError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
    /// `Retry-After`, in seconds (the rate limit's comes from the wire layer).
    pub retry_after: Option<u64>,
    /// The cause of a 5xx, for the log (never in the body).
    pub failure: Option<String>,
}

impl CfError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        CfError {
            status,
            errors: vec![ErrorItem { code, message: message.into(), chain: Vec::new() }],
            retry_after: None,
            failure: None,
        }
    }

    /// 400 9106: no credentials at all (or only half of a key pair).
    pub fn missing_credentials() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::MISSING_CREDENTIALS,
            "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
        )
    }

    /// 400 6003 with the given error chain: a credential header that is malformed.
    pub fn invalid_headers(chain: Vec<(u32, &str)>) -> Self {
        CfError {
            status: StatusCode::BAD_REQUEST,
            errors: vec![ErrorItem {
                code: code::INVALID_HEADERS,
                message: "Invalid request headers".into(),
                chain: chain.into_iter().map(|(c, m)| (c, m.to_owned())).collect(),
            }],
            retry_after: None,
            failure: None,
        }
    }

    /// 403 9103: a well-formed email and key that match no global key.
    pub fn unknown_key() -> Self {
        Self::new(StatusCode::FORBIDDEN, code::UNKNOWN_KEY, "Unknown X-Auth-Key or X-Auth-Email")
    }

    /// 403 9109: a token that is unknown, disabled or expired.
    pub fn invalid_token() -> Self {
        Self::new(StatusCode::FORBIDDEN, code::UNAUTHORIZED, "Invalid access token")
    }

    /// 403 9109: a valid credential used on an account or zone outside its reach.
    pub fn unauthorized_resource() -> Self {
        Self::new(StatusCode::FORBIDDEN, code::UNAUTHORIZED, "Unauthorized to access requested resource")
    }

    /// 403 10000: the token lacks the permission group the endpoint needs.
    pub fn missing_permission() -> Self {
        Self::new(StatusCode::FORBIDDEN, code::AUTHENTICATION_ERROR, "Authentication error")
    }

    /// 400 10001: the endpoint does not accept this kind of credential (a global key on a
    /// token-only endpoint).
    pub fn scheme_not_accepted() -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::SCHEME_NOT_ACCEPTED, "Unable to authenticate request")
    }

    /// 400 1000: token verification of a token that does not exist.
    pub fn invalid_api_token() -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::INVALID_API_TOKEN, "Invalid API Token")
    }

    /// 400 7003 + 7000: no route for this path, or an object identifier in it is invalid.
    pub fn no_route(path: &str) -> Self {
        CfError {
            status: StatusCode::BAD_REQUEST,
            errors: vec![
                ErrorItem {
                    code: code::BAD_OBJECT_IDENTIFIER,
                    message: format!("Could not route to {path}, perhaps your object identifier is invalid?"),
                    chain: Vec::new(),
                },
                ErrorItem { code: code::NO_ROUTE, message: "No route for that URI".into(), chain: Vec::new() },
            ],
            retry_after: None,
            failure: None,
        }
    }

    /// 405 7001: a known path, another method.
    pub fn method_not_available(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            code::METHOD_NOT_AVAILABLE,
            format!("Method {method} not available for that URI."),
        )
    }

    /// 429 971: over the rate limit.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            code::RATE_LIMITED,
            "Please wait and consider throttling your request speed",
        )
    }

    /// 400 12130: an Access validation error.
    pub fn invalid(detail: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::ACCESS_INVALID_REQUEST,
            format!("access.api.error.invalid_request: {}", detail.as_ref()),
        )
    }

    /// 404 12135: an Access object that does not exist (also used for devices, whose
    /// own not-found code is not established).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, code::ACCESS_NOT_FOUND, "access.api.error.not_found")
    }

    /// 409 with 12130 (inferred: Cloudflare's code for `access.api.error.conflict` is not
    /// established).
    pub fn conflict(detail: impl AsRef<str>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            code::ACCESS_INVALID_REQUEST,
            format!("access.api.error.conflict: {}", detail.as_ref()),
        )
    }

    /// 500 with a generic body; the cause goes to the log only.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "An unknown error has occurred")
    }

    /// 503 with `Retry-After`: userplane's storage is full, nothing was written.
    pub fn storage_full() -> Self {
        CfError {
            retry_after: Some(STORAGE_FULL_RETRY_AFTER_SECONDS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::INTERNAL,
                "Service temporarily unavailable (storage full); please retry later",
            )
        }
    }

    /// The envelope body.
    pub fn body(&self) -> Value {
        let errors: Vec<Value> = self
            .errors
            .iter()
            .map(|e| {
                let mut item = json!({"code": e.code, "message": e.message});
                if !e.chain.is_empty() {
                    item["error_chain"] =
                        e.chain.iter().map(|(code, message)| json!({"code": code, "message": message})).collect();
                }
                item
            })
            .collect();
        json!({"success": false, "errors": errors, "messages": [], "result": null})
    }
}

impl IntoResponse for CfError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if let Some(cause) = self.failure {
            response.extensions_mut().insert(InternalFailure(cause));
        }
        response
    }
}

impl From<Error> for CfError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { .. } => CfError::not_found(),
            Error::Invalid { field: Some(field), message } => CfError::invalid(format!("{field}: {message}")),
            Error::Invalid { field: None, message } => CfError::invalid(message),
            Error::Conflict(message) => CfError::conflict(message),
            Error::Forbidden(_) => CfError::unauthorized_resource(),
            Error::Refused(message) => CfError::conflict(message),
            Error::StorageFull(cause) => CfError { failure: Some(cause), ..CfError::storage_full() },
            Error::Internal(cause) => CfError { failure: Some(cause), ..CfError::internal() },
        }
    }
}

impl From<BodyError> for CfError {
    fn from(err: BodyError) -> Self {
        match err {
            // Inferred: Cloudflare's edge answers oversized bodies itself; 6007 says the
            // body could not be taken.
            BodyError::TooLarge => CfError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::MALFORMED_JSON,
                format!("Request body too large (the limit is {} bytes)", crate::api::body::MAX_BODY_BYTES),
            ),
            BodyError::UnsupportedType(_) => {
                CfError::new(StatusCode::BAD_REQUEST, code::CONTENT_TYPE, "Content-type must be application/json.")
            }
            // Inferred, as for the other answers of the layer below Cloudflare's API.
            BodyError::TimedOut => {
                CfError::new(StatusCode::REQUEST_TIMEOUT, 10013, "Request body not received in time.")
            }
            BodyError::InvalidJson(_) | BodyError::InvalidForm(_) | BodyError::Unreadable => {
                CfError::new(StatusCode::BAD_REQUEST, code::MALFORMED_JSON, "Malformed JSON in request body")
            }
        }
    }
}
