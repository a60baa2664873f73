//! The HTTP dialects over the one core: each folder speaks one provider's wire (paths,
//! shapes, status codes, error bodies, auth, rate-limit headers), plus userplane's own
//! control plane.

pub mod body;
pub mod cloudflare;
pub mod control;
pub mod faults;
pub mod operation;
pub mod providers;
pub mod tenants;
pub mod zoom;

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The bearer token of an `Authorization: Bearer ...` header, if that is what it holds.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Whether a response already carries a JSON body (ours) rather than a framework default.
pub fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/json"))
}

/// The cause of a 5xx answer, for the log only: a dialect's error attaches it to its
/// response (the body stays generic), and [`log_failures`] logs it once.
#[derive(Debug, Clone)]
pub struct InternalFailure(pub String);

/// Logs the failure behind an answer once, with the request's method and path. Each
/// dialect's router has this layer. (The request id, once the HTTP layer sets one as a
/// request extension, belongs in this line too.)
pub async fn log_failures(request: Request, next: Next) -> Response {
    let uri = request.extensions().get::<OriginalUri>().map_or(request.uri(), |original| &original.0);
    let (method, path) = (request.method().clone(), uri.path().to_owned());
    let response = next.run(request).await;
    if let Some(InternalFailure(cause)) = response.extensions().get::<InternalFailure>() {
        tracing::error!(%method, %path, status = response.status().as_u16(), %cause, "internal failure");
    }
    response
}

/// The answer for a path no router knows, in the dialect the path belongs to: Zoom's
/// 404 2300 under `/v2` and `/oauth`, the control plane's 404 anywhere else (a path outside
/// every dialect is userplane's to answer, not Zoom's).
pub async fn unknown_path(uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    match Dialect::of_path(uri.path().as_bytes()) {
        Dialect::Zoom => zoom::unknown_endpoint().await.into_response(),
        Dialect::Cloudflare | Dialect::Control => {
            control::ControlError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
        }
    }
}

/// The dialect a request path belongs to, for answers given outside any dialect's router
/// (the HTTP layer's rejections and the panic catcher): `/v2` and `/oauth` are Zoom's,
/// `/client/v4` Cloudflare's; `/_userplane` and every other path the control plane's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Zoom,
    Cloudflare,
    Control,
}

/// Why the HTTP layer answers a request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 400: the request line cannot be parsed.
    BadRequestLine,
    /// 400: a header is malformed (control bytes, NUL, obs-fold, a bad length).
    BadHeader,
    /// 414: the request target is longer than the server takes.
    UriTooLong,
    /// 431: too many header fields, or too many header bytes.
    HeadersTooLarge,
    /// 408: the request head did not arrive in time.
    HeaderTimeout,
    /// 503: every connection slot is taken.
    Overloaded,
    /// 500: userplane failed (a handler panicked).
    Internal,
}

impl Failure {
    pub fn status(self) -> StatusCode {
        match self {
            Failure::BadRequestLine | Failure::BadHeader => StatusCode::BAD_REQUEST,
            Failure::UriTooLong => StatusCode::URI_TOO_LONG,
            Failure::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Failure::HeaderTimeout => StatusCode::REQUEST_TIMEOUT,
            Failure::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(self) -> &'static str {
        match self {
            Failure::BadRequestLine => "Malformed request line.",
            Failure::BadHeader => "Malformed request header.",
            Failure::UriTooLong => "Request URI too long.",
            Failure::HeadersTooLarge => "Request header fields too large.",
            Failure::HeaderTimeout => "Request header not received in time.",
            Failure::Overloaded => "Too many connections; retry later.",
            Failure::Internal => "Internal server error.",
        }
    }
}

impl Dialect {
    /// The dialect's name (a metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Zoom => "zoom",
            Dialect::Cloudflare => "cloudflare",
            Dialect::Control => "control",
        }
    }

    /// The dialect of a request target (a path, or the raw bytes of a request line's target).
    pub fn of_path(path: &[u8]) -> Dialect {
        let under = |prefix: &[u8]| {
            path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || matches!(rest[0], b'/' | b'?'))
        };
        if under(b"/v2") || under(b"/oauth") {
            Dialect::Zoom
        } else if under(b"/client/v4") {
            Dialect::Cloudflare
        } else {
            Dialect::Control
        }
    }

    /// The dialect's own error answer for a failure below (or around) its router.
    /// Zoom: code 300 for a malformed request, the status for 5xx (inferred, as for 500);
    /// Cloudflare: 6003 for header problems, 7000 for the request line, 10013 otherwise
    /// (inferred: its edge answers these with HTML).
    pub fn failure(self, failure: Failure) -> axum::response::Response {
        use axum::response::IntoResponse;
        let status = failure.status();
        let message = failure.message();
        match self {
            Dialect::Zoom => {
                let code = if status.is_server_error() { i64::from(status.as_u16()) } else { 300 };
                zoom::ZoomError::new(status, code, message).into_response()
            }
            Dialect::Cloudflare => {
                let code = match failure {
                    Failure::BadHeader | Failure::HeadersTooLarge => 6003,
                    Failure::BadRequestLine | Failure::UriTooLong => 7000,
                    _ => 10013,
                };
                cloudflare::CfError::new(status, code, message).into_response()
            }
            Dialect::Control => {
                let code = match failure {
                    Failure::BadRequestLine | Failure::BadHeader => "invalid_request",
                    Failure::UriTooLong => "uri_too_long",
                    Failure::HeadersTooLarge => "headers_too_large",
                    Failure::HeaderTimeout => "request_timeout",
                    Failure::Overloaded => "overloaded",
                    Failure::Internal => "internal",
                };
                control::ControlError::new(status, code, message).into_response()
            }
        }
    }
}
