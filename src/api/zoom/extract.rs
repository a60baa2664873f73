//! Typed requests: a handler names the struct its body or query deserializes into
//! (`ZoomJson<CreateUser>`, `ZoomQuery<ListQuery>`), and a request that does not fit is
//! Zoom's own error, never a framework default.
//!
//! Zoom answers the token, the rate limit and the scopes before it looks at the request
//! (a caller without the scope gets 4711 whatever its body), so both extractors defer:
//! extraction takes the raw query or body, and the handler calls `read` once it has
//! admitted the caller. The body is not even read before that: an answer given without
//! it closes its connection, as `src/http` does for any unread body.
//!
//! Fields use [`Field`](crate::api::body::Field): a value of the wrong JSON type is
//! recorded, not fatal, so a handler can name every offending field in one
//! `300 Validation Failed.` as Zoom does.

use std::marker::PhantomData;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ZoomError, query_params};
use crate::api::body;

/// A JSON (or, where [`FormsAccepted`], form) body, read into `T` when the handler asks.
pub struct ZoomJson<T, F = JsonOnly> {
    headers: HeaderMap,
    body: Body,
    _type: PhantomData<(T, F)>,
}

/// The body may only be JSON (415 for anything else).
pub struct JsonOnly;
/// The body may also be `application/x-www-form-urlencoded` or `multipart/form-data`.
pub struct FormsAccepted;

/// Whether a body kind takes forms.
pub trait BodyKind {
    const FORMS: bool;
}
impl BodyKind for JsonOnly {
    const FORMS: bool = false;
}
impl BodyKind for FormsAccepted {
    const FORMS: bool = true;
}

impl<S: Send + Sync, T, F> FromRequest<S> for ZoomJson<T, F> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        Ok(ZoomJson { headers: parts.headers, body, _type: PhantomData })
    }
}

impl<T: DeserializeOwned, F: BodyKind> ZoomJson<T, F> {
    /// Reads the body (size-limited, by content type) and deserializes it: an empty body
    /// is `{}`; a body that is not an object of this shape is Zoom's 300.
    pub async fn read(self) -> Result<T, ZoomError> {
        let fields = body::object(&self.headers, self.body, F::FORMS).await?;
        body::typed(fields).map_err(ZoomError::from)
    }
}

/// The query string, deserialized into `T` (the last of repeated keys wins) when the
/// handler asks; a malformed query is Zoom's 300 "Invalid query string.".
pub struct ZoomQuery<T> {
    raw: Option<String>,
    _type: PhantomData<T>,
}

impl<S: Send + Sync, T> FromRequestParts<S> for ZoomQuery<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ZoomQuery { raw: parts.uri.query().map(str::to_owned), _type: PhantomData })
    }
}

impl<T: DeserializeOwned> ZoomQuery<T> {
    pub fn read(self) -> Result<T, ZoomError> {
        let params = query_params(self.raw.as_deref())?;
        let fields = params.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        body::typed(fields).map_err(|_| ZoomError::bad_request(300, "Invalid query string."))
    }
}
