//! What Zoom is to the server: the paths it owns (`/v2`, `/oauth`), its request-id header
//! `x-zm-trackingid`, and its answers for what fails below its routes or is injected.

use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ZoomError;
use crate::api::dialect::{DialectSpec, FaultWire};
use crate::api::faults::DEFAULT_RETRY_AFTER;
use crate::http::{Failure, GivenId, IdHeader};

pub static SPEC: DialectSpec = DialectSpec {
    http: crate::http::Dialect {
        name: "zoom",
        prefixes: &["/v2", "/oauth"],
        failure,
        // `v=2.0;clid=<cluster>;rid=<id>`; the cluster is userplane.
        request_id: IdHeader {
            name: HeaderName::from_static("x-zm-trackingid"),
            before: "v=2.0;clid=userplane;rid=",
            after: "",
            honours: GivenId::Token,
        },
        // A status update may activate as well as deactivate: not counted.
        revoking: &["zoom.users.token.revoke", "zoom.users.delete"],
    },
    provider: Some(&super::provider::SPEC),
    routes: |_| super::router(),
    unknown_path: |_| ZoomError::unknown_endpoint().into_response(),
    faults: Some(FaultWire {
        answer: |injected| fault_answer(injected.status, injected.retry_after, injected.rate_label).into_response(),
        error_code_at: "/code",
        never_consulted: &["zoom.oauth.token"],
    }),
};

/// Zoom's answer for a failure below (or around) its router: code 300 for a malformed
/// request, the status for a 5xx (inferred, as for 500).
fn failure(failure: Failure) -> Response {
    let status = failure.status();
    let code = if status.is_server_error() { i64::from(status.as_u16()) } else { 300 };
    ZoomError::new(status, code, failure.message()).into_response()
}

/// Zoom's answer for an injected status: Zoom's code and message for it, and the headers
/// Zoom sends (a 429 as a per-second limit of the operation's label, a 503 with
/// `Retry-After`).
pub fn fault_answer(status: u16, retry_after: Option<u64>, label: Option<&str>) -> ZoomError {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let (zoom_code, message) = match status {
        400 => (300, "Validation Failed.".to_owned()),
        401 => (124, "Invalid access token.".to_owned()),
        403 => (200, "No permission.".to_owned()),
        404 => (2300, "This API endpoint is not recognized.".to_owned()),
        429 => (429, "You have reached the maximum per-second rate limit for this API. Try again later.".to_owned()),
        500 => (500, "Internal server error.".to_owned()),
        503 => (503, "The service is temporarily unavailable. Try again later.".to_owned()),
        other => (i64::from(other), code.canonical_reason().unwrap_or("Error").to_owned() + "."),
    };
    let mut error = ZoomError::new(code, zoom_code, message);
    if status == 429 {
        error = error
            .with_header("x-ratelimit-category", label.unwrap_or("Light"))
            .with_header("x-ratelimit-type", "QPS")
            .with_header("x-ratelimit-limit", "30")
            .with_header("x-ratelimit-remaining", "0");
    }
    match retry_after.or(matches!(status, 429 | 503).then_some(DEFAULT_RETRY_AFTER)) {
        Some(seconds) => error.with_header("retry-after", seconds.to_string()),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_statuses_use_zooms_codes_and_headers() {
        let unavailable = fault_answer(503, None, None);
        assert_eq!((unavailable.status.as_u16(), unavailable.code), (503, 503));
        assert!(unavailable.headers.iter().any(|(name, value)| name == "retry-after" && value == "1"));
        let limited = fault_answer(429, Some(7), Some("Heavy"));
        assert!(limited.headers.iter().any(|(name, value)| name == "x-ratelimit-category" && value == "Heavy"));
        assert!(limited.headers.iter().any(|(name, value)| name == "retry-after" && value == "7"));
    }

    #[test]
    fn its_request_id_header_is_the_tracking_id() {
        let id = crate::http::RequestId::for_request(&axum::http::HeaderMap::new(), &SPEC.http.request_id);
        let (name, value) = id.header(&SPEC.http.request_id);
        assert_eq!(name, "x-zm-trackingid");
        assert_eq!(value, format!("v=2.0;clid=userplane;rid={id}").as_str());
    }
}
