//! Request bodies, read with a size limit and parsed by content type, so that every
//! dialect can answer malformed input in its own format (never a framework default).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
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
