//! The HTTP dialects over the one core: each folder speaks one provider's wire (paths,
//! shapes, status codes, error bodies, auth, rate-limit headers), plus userplane's own
//! control plane.

pub mod body;
pub mod cloudflare;
pub mod control;
pub mod tenants;
pub mod zoom;

use axum::http::{HeaderMap, header};

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
