//! What Cloudflare is to the server: the paths it owns (`/client/v4`), its request-id
//! header `cf-ray`, and its answers for what fails below its routes or is injected.

use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use super::CfError;
use crate::api::dialect::{DialectSpec, FaultWire};
use crate::api::faults::DEFAULT_RETRY_AFTER;
use crate::http::{Failure, GivenId, IdHeader};

pub static SPEC: DialectSpec = DialectSpec {
    http: crate::http::Dialect {
        name: "cloudflare",
        prefixes: &["/client/v4"],
        failure,
        // `<16 hex>-<colo>` (Cloudflare's colo is its data centre's IATA code; ours is UPL),
        // so only a ray id given by the client is kept.
        request_id: IdHeader {
            name: HeaderName::from_static("cf-ray"),
            before: "",
            after: "-UPL",
            honours: GivenId::RayId,
        },
        revoking: &[
            "cloudflare.access.revoke_user",
            "cloudflare.devices.revoke",
            "cloudflare.devices.physical.revoke",
            "cloudflare.devices.registrations.revoke",
        ],
    },
    provider: Some(&super::provider::SPEC),
    routes: |_| super::router(),
    unknown_path: |uri| CfError::no_route(uri.path()).into_response(),
    faults: Some(FaultWire {
        answer: |injected| fault_answer(injected.status, injected.retry_after).into_response(),
        error_code_at: "/errors/0/code",
        never_consulted: &[],
    }),
};

/// Cloudflare's answer for a failure below (or around) its router: 6003 for header
/// problems, 7000 for the request line, 10013 otherwise (inferred: its edge answers these
/// with HTML).
fn failure(failure: Failure) -> Response {
    let code = match failure {
        Failure::BadHeader | Failure::HeadersTooLarge => 6003,
        Failure::BadRequestLine | Failure::UriTooLong => 7000,
        _ => 10013,
    };
    CfError::new(failure.status(), code, failure.message()).into_response()
}

/// Cloudflare's answer for an injected status: the v4 envelope with Cloudflare's code for
/// it (971 for a 429, whose rate-limit headers the wire layer writes).
pub fn fault_answer(status: u16, retry_after: Option<u64>) -> CfError {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let error = match status {
        429 => CfError::rate_limited(),
        400 => CfError::invalid("invalid request"),
        401 | 403 => CfError::new(code, 10000, "Authentication error"),
        404 => CfError::not_found(),
        s if s >= 500 => CfError::internal(),
        _ => CfError::new(code, 10000, code.canonical_reason().unwrap_or("Error")),
    };
    CfError {
        status: code,
        retry_after: retry_after.or(matches!(status, 429 | 503).then_some(DEFAULT_RETRY_AFTER)),
        ..error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_statuses_use_cloudflares_codes() {
        let limited = fault_answer(429, Some(7));
        assert_eq!((limited.status.as_u16(), limited.errors[0].code, limited.retry_after), (429, 971, Some(7)));
        assert_eq!(fault_answer(503, None).retry_after, Some(1));
        assert_eq!(fault_answer(502, None).errors[0].code, 10013);
    }

    #[test]
    fn its_request_id_header_is_a_ray_id() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-request-id", "0123456789ABCDEF".parse().unwrap());
        let id = crate::http::RequestId::for_request(&headers, &SPEC.http.request_id);
        assert_eq!(
            id.header(&SPEC.http.request_id),
            (HeaderName::from_static("cf-ray"), "0123456789abcdef-UPL".parse().unwrap())
        );
    }
}
