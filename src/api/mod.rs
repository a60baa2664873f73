//! The HTTP dialects over the one core: each folder speaks one provider's wire (paths,
//! shapes, status codes, error bodies, auth, rate-limit headers), plus userplane's own
//! control plane.

pub mod body;
pub mod cloudflare;
pub mod control;
pub mod dialect;
pub mod faults;
pub mod operation;
pub mod providers;
pub mod tenants;
pub mod zoom;

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, header};
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

/// The answer for a path no router knows, in the dialect the path belongs to (a path
/// outside every dialect is the control plane's).
pub async fn unknown_path(uri: axum::http::Uri) -> Response {
    (providers::of_path(uri.path().as_bytes()).unknown_path)(&uri)
}
