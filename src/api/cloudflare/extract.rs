//! Typed requests: a handler names the struct its body or query becomes
//! (`CfJson<RevokeUser>`, `CfQuery<UsersQuery>`), and a request that does not fit is the
//! v4 envelope with Cloudflare's code (6007, 9207, 12130), never a framework default.
//!
//! Cloudflare checks the route, the credential, the rate limit, the account and the
//! permission group before the request itself (module docs of `cloudflare`), so both
//! extractors defer: extraction takes the raw query or body, and the handler calls
//! `read` once the caller is admitted. The body is not read before that.

use std::marker::PhantomData;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::CfError;
use super::params::Params;
use crate::api::body::{self, BodyError};

/// A JSON object body, read into `T` when the handler asks (empty means `{}`).
pub struct CfJson<T> {
    headers: HeaderMap,
    body: Body,
    _type: PhantomData<T>,
}

impl<S: Send + Sync, T> FromRequest<S> for CfJson<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        Ok(CfJson { headers: parts.headers, body, _type: PhantomData })
    }
}

impl<T: DeserializeOwned> CfJson<T> {
    pub async fn read(self) -> Result<T, CfError> {
        let fields = body::object(&self.headers, self.body, false).await?;
        Ok(body::typed(fields)?)
    }
}

/// The deprecated device endpoints' body: a bare JSON array of 1 to `MAX` ids.
pub struct CfIdList<const MAX: usize>(CfJson<()>);

impl<S: Send + Sync, const MAX: usize> FromRequest<S> for CfIdList<MAX> {
    type Rejection = std::convert::Infallible;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(CfIdList(CfJson::from_request(request, state).await?))
    }
}

impl<const MAX: usize> CfIdList<MAX> {
    /// Reads the ids: a JSON content type (9207), JSON (6007), then the list (12130).
    pub async fn read(self) -> Result<Vec<String>, CfError> {
        let CfJson { headers, body, .. } = self.0;
        let bytes = body::read(body).await?;
        match body::media_type(&headers).as_deref() {
            None | Some("application/json") | Some("text/json") => {}
            Some(m) if m.ends_with("+json") => {}
            Some(other) => return Err(BodyError::UnsupportedType(other.to_owned()).into()),
        }
        let Value::Array(items) = body::json_value(&bytes)? else {
            return Err(CfError::invalid("the body must be a JSON array of device ids"));
        };
        if items.is_empty() || items.len() > MAX {
            return Err(CfError::invalid(format!("between 1 and {MAX} device ids are required")));
        }
        items
            .into_iter()
            .map(|v| match v {
                Value::String(s) if !s.is_empty() => Ok(s),
                _ => Err(CfError::invalid("device ids must be strings")),
            })
            .collect()
    }
}

/// A query type: built from the parsed query string by its typed, range-checked reads
/// (repeated keys and `name[]` as Cloudflare's SDKs send them, which serde's
/// urlencoded format does not take).
pub trait FromParams: Sized {
    fn from_params(params: &Params) -> Result<Self, CfError>;
}

/// The query string as `T`, read when the handler asks; malformed is 12130.
pub struct CfQuery<T> {
    raw: String,
    _type: PhantomData<T>,
}

impl<S: Send + Sync, T> FromRequestParts<S> for CfQuery<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(CfQuery { raw: parts.uri.query().unwrap_or("").to_owned(), _type: PhantomData })
    }
}

impl<T: FromParams> CfQuery<T> {
    pub fn read(self) -> Result<T, CfError> {
        T::from_params(&Params::parse(&self.raw)?)
    }
}
