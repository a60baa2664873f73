//! Zoom's error wire: `{"code": <int>, "message": "..."}` (plus `errors[{field, message}]`
//! for validation), with the status codes Zoom uses, rendered by the type itself.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::InternalFailure;
use crate::api::body::BodyError;
use crate::domain::Error;
use crate::domain::error::STORAGE_FULL_RETRY_AFTER_SECONDS;

/// A Zoom API error, ready to render.
#[derive(Debug)]
pub struct ZoomError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    /// Field-level detail for `300 Validation Failed.`
    pub fields: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, String)>,
    /// The cause of a 5xx, for the log (never in the body).
    pub failure: Option<String>,
}

impl ZoomError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        ZoomError { status, code, message: message.into(), fields: Vec::new(), headers: Vec::new(), failure: None }
    }

    /// 404 1001: the user named in the path does not exist (in this account).
    pub fn user_not_found(user_id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, 1001, format!("User does not exist: {user_id}."))
    }

    /// 400 300 "Validation Failed." naming each offending field.
    pub fn validation<F: Into<String>>(fields: impl IntoIterator<Item = F>) -> Self {
        let mut err = Self::new(StatusCode::BAD_REQUEST, 300, "Validation Failed.");
        err.fields = fields.into_iter().map(|f| (f.into(), "Invalid field.".to_owned())).collect();
        err
    }

    /// 400 with a code and message of Zoom's (200 privilege, 300 parameter, ...).
    pub fn bad_request(code: i64, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 124: a missing, unknown, revoked or expired access token.
    pub fn invalid_token(expired: bool) -> Self {
        let message = if expired { "Access token is expired." } else { "Invalid access token." };
        Self::new(StatusCode::UNAUTHORIZED, 124, message)
    }

    /// 404 2300: no such endpoint.
    pub fn unknown_endpoint() -> Self {
        Self::new(StatusCode::NOT_FOUND, 2300, "This API endpoint is not recognized.")
    }

    /// 500: a failure of userplane; `cause` goes to the log only.
    pub fn internal(cause: impl Into<String>) -> Self {
        ZoomError {
            failure: Some(cause.into()),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, 500, "Internal server error.")
        }
    }

    /// 503 with `Retry-After`: userplane's storage is full, nothing was written.
    pub fn storage_full(cause: impl Into<String>) -> Self {
        ZoomError {
            failure: Some(cause.into()),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                503,
                "The service is temporarily unavailable (storage full). Try again later.",
            )
        }
        .with_header("retry-after", STORAGE_FULL_RETRY_AFTER_SECONDS.to_string())
    }

    /// 429: too many wrong credentials from this address (or for this client id).
    pub fn too_many_failed_attempts(retry_after_seconds: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, 429, "Too many failed authentication attempts. Try again later.")
            .with_header("retry-after", retry_after_seconds.to_string())
    }

    /// 409 1005: the email is taken in this account.
    pub fn email_taken(email: &str) -> Self {
        Self::new(StatusCode::CONFLICT, 1005, format!("Email \"{email}\" has already been used."))
    }

    /// A domain error, except that not-found becomes `not_found` (a handler's own answer
    /// for a missing user); a failure of userplane stays a 5xx whatever the handler expected.
    pub fn unless_not_found(err: Error, not_found: impl FnOnce() -> ZoomError) -> ZoomError {
        match err {
            Error::NotFound { .. } => not_found(),
            other => other.into(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((HeaderName::from_static(name), value.into()));
        self
    }
}

impl IntoResponse for ZoomError {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if !self.fields.is_empty() {
            body["errors"] =
                self.fields.iter().map(|(field, message)| json!({"field": field, "message": message})).collect();
        }
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
        }
        if let Some(cause) = self.failure {
            response.extensions_mut().insert(InternalFailure(cause));
        }
        response
    }
}

/// Domain errors that reach the wire without a more specific mapping in the handler.
impl From<Error> for ZoomError {
    fn from(err: Error) -> Self {
        match err {
            Error::NotFound { id, .. } => ZoomError::user_not_found(&id),
            // Handlers that know the email answer `email_taken` themselves; the
            // conflict's own text may be the database's and is not shown.
            Error::Conflict(_) => {
                ZoomError::new(StatusCode::CONFLICT, 1005, "The request conflicts with existing data.")
            }
            Error::Invalid { field: Some(field), .. } => ZoomError::validation([field]),
            Error::Invalid { field: None, message } => ZoomError::bad_request(300, message),
            Error::Forbidden(message) | Error::Refused(message) => ZoomError::bad_request(200, message),
            Error::StorageFull(cause) => ZoomError::storage_full(cause),
            Error::Internal(cause) => ZoomError::internal(cause),
        }
    }
}

impl From<BodyError> for ZoomError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooLarge => ZoomError::new(StatusCode::PAYLOAD_TOO_LARGE, 300, "Request Body is too large."),
            BodyError::Unreadable | BodyError::InvalidJson(_) => {
                ZoomError::bad_request(300, "Request Body should be a valid JSON object.")
            }
            BodyError::InvalidForm(_) => ZoomError::bad_request(300, "Request Body should be a valid form."),
            BodyError::TimedOut => {
                ZoomError::new(StatusCode::REQUEST_TIMEOUT, 300, "Request Body was not received in time.")
            }
            BodyError::UnsupportedType(ct) => ZoomError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                300,
                format!("Unsupported Content-Type: {ct}. Use application/json."),
            ),
        }
    }
}

/// Replaces any framework default error (a text/plain 4xx from a path or query
/// rejection, a 405) with Zoom's JSON shape.
pub async fn render_framework_errors(response: Response) -> Response {
    let status = response.status();
    if status.is_client_error() && !crate::api::is_json(response.headers()) {
        return match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => {
                ZoomError { status, ..ZoomError::unknown_endpoint() }.into_response()
            }
            StatusCode::PAYLOAD_TOO_LARGE => ZoomError::from(BodyError::TooLarge).into_response(),
            _ => ZoomError::new(status, 300, "Invalid request.").into_response(),
        };
    }
    response
}
