//! Request bodies, read with a size limit and parsed by content type, so that every
//! dialect can answer malformed input in its own format (never a framework default);
//! and the lenient field types their typed requests are made of ([`Field`], [`Object`],
//! [`WithKeys`]), so that a dialect, not serde, words each complaint.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::{Map, Value};

use crate::http::body_deadline::BodyTimedOut;

/// The largest body any endpoint accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge,
    Unreadable,
    /// The body did not arrive whole in time (`--body-read-timeout`).
    TimedOut,
    /// Not valid JSON (or not the JSON shape asked for).
    InvalidJson(String),
    /// A form body that does not parse.
    InvalidForm(String),
    /// A content type the endpoint does not take.
    UnsupportedType(String),
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`]. A declared length over the
/// limit is refused before any of it is read: the client may be waiting to send it all.
pub async fn read(body: Body) -> Result<Bytes, BodyError> {
    if axum::body::HttpBody::size_hint(&body).lower() > MAX_BODY_BYTES as u64 {
        return Err(BodyError::TooLarge);
    }
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok(bytes),
        Err(err) => {
            let too_large =
                caused_by::<http_body_util::LengthLimitError>(&err) || err.to_string().contains("length limit");
            Err(if too_large {
                BodyError::TooLarge
            } else if caused_by::<BodyTimedOut>(&err) {
                BodyError::TimedOut
            } else {
                BodyError::Unreadable
            })
        }
    }
}

/// Whether `E` is anywhere in the chain of causes of `err`.
fn caused_by<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<E>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// The media type of a request, lower-cased, without parameters.
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// Parses a body as a JSON object, or as `application/x-www-form-urlencoded` or
/// `multipart/form-data` fields (as strings). An empty body is an empty object.
pub async fn object(headers: &HeaderMap, body: Body, allow_forms: bool) -> Result<Map<String, Value>, BodyError> {
    let bytes = read(body).await?;
    let media = media_type(headers);
    if bytes.iter().all(u8::is_ascii_whitespace) && media.as_deref() != Some("multipart/form-data") {
        return Ok(Map::new());
    }
    match media.as_deref() {
        None | Some("application/json") | Some("text/json") => json_object(&bytes),
        Some(m) if m.ends_with("+json") => json_object(&bytes),
        Some("application/x-www-form-urlencoded") if allow_forms => {
            let fields: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&bytes).map_err(|e| BodyError::InvalidForm(e.to_string()))?;
            Ok(fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
        }
        Some("multipart/form-data") if allow_forms => multipart(headers, bytes).await,
        Some(other) => Err(BodyError::UnsupportedType(other.to_owned())),
    }
}

/// Parses a body as a JSON object whatever its content type says (for userplane's own
/// JSON API, where `curl -d` sends JSON labelled as a form). Empty means `{}`.
pub async fn lenient_object(body: Body) -> Result<Map<String, Value>, BodyError> {
    let bytes = read(body).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    json_object(&bytes)
}

/// Parses bytes as any JSON value.
pub fn json_value(bytes: &[u8]) -> Result<Value, BodyError> {
    serde_json::from_slice(bytes).map_err(|e| BodyError::InvalidJson(e.to_string()))
}

fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, BodyError> {
    match json_value(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(BodyError::InvalidJson("expected a JSON object".into())),
    }
}

async fn multipart(headers: &HeaderMap, bytes: Bytes) -> Result<Map<String, Value>, BodyError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|e| BodyError::InvalidForm(e.to_string()))?;
    let stream = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(bytes) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut fields = Map::new();
    while let Some(field) = parts.next_field().await.map_err(|e| BodyError::InvalidForm(e.to_string()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let text = field.text().await.map_err(|e| BodyError::InvalidForm(e.to_string()))?;
        fields.insert(name, Value::String(text));
    }
    Ok(fields)
}

// ---------------------------------------------------------------- typed requests

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

/// An object (duplicate keys already resolved by the map: the last wins) as `T`.
pub fn typed<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, BodyError> {
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
        #[serde(default)]
        inner: Field<Object<Map<String, Value>>>,
    }

    #[test]
    fn fields_record_absence_and_wrong_types_without_failing() {
        let fields = serde_json::json!({"name": 5, "count": null, "inner": []});
        let parsed: Example =
            typed(fields.as_object().cloned().unwrap_or_default()).unwrap_or_else(|_| panic!("an object always fits"));
        assert_eq!(parsed.name, Field::Invalid);
        assert_eq!(parsed.count, Field::Absent);
        // serde would read an array as a struct; Object does not.
        assert_eq!(parsed.inner, Field::Invalid);
        let mut errors = Vec::new();
        assert_eq!(Field::Valid("abc".to_owned()).text("n", 2, &mut errors), None);
        assert_eq!(errors, ["n"]);
    }
}
