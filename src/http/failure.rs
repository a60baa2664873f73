//! Why the HTTP layer answers a request itself, below (or around) every router: what
//! hyper rejects, a head that timed out, a connection over the cap, a handler's panic.
//! Each dialect renders these in its own error shape ([`super::Dialect::failure`]).

use axum::http::StatusCode;

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

    /// The message every dialect puts in its error body.
    pub fn message(self) -> &'static str {
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
