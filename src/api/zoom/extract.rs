//! Typed requests: a handler names the struct its body or query deserializes into
//! (`ZoomJson<CreateUser>`, `ZoomQuery<ListQuery>`), and a request that does not fit is
//! Zoom's own error, never a framework default.
//!
//! Zoom answers the token, the rate limit and the scopes before it looks at the request
//! (a caller without the scope gets 4711 whatever its body), so both extractors defer:
//! extraction takes the raw query or body, and the handler calls `read` once it has
//! admitted the caller. The body is not even read before that, so an answer given
//! without it stays what it is today (its connection closed, see `src/http`).
//!
//! Fields use [`Field`]: a value of the wrong JSON type is recorded, not fatal, so a
//! handler can name every offending field in one `300 Validation Failed.` as Zoom does.

use std::marker::PhantomData;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::{Map, Value};

use super::{ZoomError, query_params};
use crate::api::body::{self, BodyError};

/// A body field: absent (missing or `null`), a value of type `T`, or something else.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Valid(T),
    Invalid,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Null => Field::Absent,
            value => serde_json::from_value(value).map_or(Field::Invalid, Field::Valid),
        })
    }
}

impl<T> Field<T> {
    /// The value if it is valid and passes `ok`; else (if present) `name` joins `errors`.
    pub fn check(self, name: &str, errors: &mut Vec<String>, ok: impl FnOnce(&T) -> bool) -> Option<T> {
        match self {
            Field::Absent => None,
            Field::Valid(value) if ok(&value) => Some(value),
            _ => {
                errors.push(name.to_owned());
                None
            }
        }
    }

    /// The value, if present and of type `T`, by reference.
    pub fn as_valid(&self) -> Option<&T> {
        match self {
            Field::Valid(value) => Some(value),
            _ => None,
        }
    }

    /// The value, if present and of type `T`.
    pub fn valid(self) -> Option<T> {
        match self {
            Field::Valid(value) => Some(value),
            _ => None,
        }
    }
}

impl Field<String> {
    /// A string of at most `max` characters; anything else present is an error.
    pub fn text(self, name: &str, max: usize, errors: &mut Vec<String>) -> Option<String> {
        self.check(name, errors, |s| s.chars().count() <= max)
    }
}

/// A JSON object deserialized as `T`; any other JSON value is not one (serde would take
/// an array for a struct, field by field).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            object @ Value::Object(_) => serde_json::from_value(object).map(Object).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected an object")),
        }
    }
}

/// `T` and the names of every key the object had (`null` ones too), for the journal.
pub struct WithKeys<T> {
    pub keys: Vec<String>,
    pub value: T,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for WithKeys<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let fields = Map::<String, Value>::deserialize(deserializer)?;
        let keys = fields.keys().cloned().collect();
        let value = serde_json::from_value(Value::Object(fields)).map_err(serde::de::Error::custom)?;
        Ok(WithKeys { keys, value })
    }
}

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
        from_object(fields).map_err(ZoomError::from)
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
        from_object(fields).map_err(|_| ZoomError::bad_request(300, "Invalid query string."))
    }
}

/// An object (duplicate keys already resolved by the map: the last wins) as `T`.
fn from_object<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, BodyError> {
    serde_json::from_value(Value::Object(fields)).map_err(|e| BodyError::InvalidJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Example {
        #[serde(default)]
        name: Field<String>,
        #[serde(default)]
        count: Field<i64>,
    }

    #[test]
    fn fields_record_absence_and_wrong_types_without_failing() {
        let parsed: Example = from_object(serde_json::json!({"name": 5, "count": null}).as_object().cloned().unwrap())
            .unwrap_or_else(|_| panic!("an object always fits"));
        assert_eq!(parsed.name, Field::Invalid);
        assert_eq!(parsed.count, Field::Absent);
        let mut errors = Vec::new();
        assert_eq!(Field::Valid("abc".to_owned()).text("n", 2, &mut errors), None);
        assert_eq!(errors, ["n"]);
    }
}
