//! Request bodies: every content type the parsers know (and some they do not), any bytes.
//! The parsers must answer Ok or a BodyError, never panic.

#![no_main]

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use userplane::api::body;

const CONTENT_TYPES: &[&str] = &[
    "",
    "application/json",
    "application/merge-patch+json",
    "text/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "text/plain",
    "APPLICATION/JSON ; x=y",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let mut headers = HeaderMap::new();
    let content_type = CONTENT_TYPES[pick as usize % CONTENT_TYPES.len()];
    if !content_type.is_empty() {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    let allow_forms = pick & 0x80 != 0;
    let owned = bytes.to_vec();
    futures::executor::block_on(async {
        let parsed = body::object(&headers, Body::from(owned.clone()), allow_forms).await;
        if bytes.len() > body::MAX_BODY_BYTES {
            assert_eq!(parsed, Err(body::BodyError::TooLarge));
        }
        let _ = body::lenient_object(Body::from(owned)).await;
    });
    let _ = body::json_value(bytes);
});
