//! Control-plane errors: `{"error": {"code": "...", "message": "..."}}` with a fitting 4xx.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::InternalFailure;
use crate::api::body::BodyError;
use crate::domain::Error;
use crate::domain::error::STORAGE_FULL_RETRY_AFTER_SECONDS;

/// An error of the control plane, rendered as its JSON body.
#[derive(Debug)]
pub struct ControlError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
    /// The cause of a 5xx, for the log (never in the body).
    pub failure: Option<String>,
}

impl ControlError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ControlError { status, code, message: message.into(), retry_after: None, failure: None }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        if let Some(cause) = self.failure {
            response.extensions_mut().insert(InternalFailure(cause));
        }
        response
    }
}

impl From<Error> for ControlError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { what, id } => {
                Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found: {id}"))
            }
            Error::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            Error::Invalid { field: Some(field), message } => Self::invalid(format!("{field}: {message}")),
            Error::Invalid { field: None, message } => Self::invalid(message),
            Error::Forbidden(message) => Self::new(StatusCode::FORBIDDEN, "forbidden", message),
            Error::Refused(message) => Self::new(StatusCode::CONFLICT, "refused", message),
            Error::StorageFull(cause) => ControlError {
                retry_after: Some(STORAGE_FULL_RETRY_AFTER_SECONDS),
                failure: Some(cause),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_full",
                    "userplane's storage is full; nothing was changed. Try again later.",
                )
            },
            Error::Internal(cause) => ControlError {
                failure: Some(cause),
                ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            },
        }
    }
}

impl From<BodyError> for ControlError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", "request body too large"),
            BodyError::Unreadable => Self::invalid("request body could not be read"),
            BodyError::TimedOut => {
                Self::new(StatusCode::REQUEST_TIMEOUT, "request_timeout", "request body not received in time")
            }
            BodyError::InvalidJson(detail) => Self::invalid(format!("request body is not valid JSON: {detail}")),
            BodyError::InvalidForm(detail) => Self::invalid(format!("invalid form body: {detail}")),
            BodyError::UnsupportedType(ct) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("expected application/json, got {ct}"),
            ),
        }
    }
}

/// Replaces any framework default error body (text/plain) with the control plane's shape.
pub async fn render_framework_errors(response: Response) -> Response {
    let status = response.status();
    if status.is_client_error() && !crate::api::is_json(response.headers()) {
        let code = match status {
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_request",
        };
        let reason = status.canonical_reason().unwrap_or("error").to_owned();
        return ControlError::new(status, code, reason).into_response();
    }
    response
}
