//! The control plane as the server sees it: `/_userplane`, and every path no provider
//! owns; `x-request-id`; `{"error": {"code", "message"}}` for what fails below its routes.

use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ControlError;
use crate::api::dialect::DialectSpec;
use crate::http::{Failure, GivenId, IdHeader};

pub static SPEC: DialectSpec = DialectSpec {
    http: crate::http::Dialect {
        name: "control",
        prefixes: &["/_userplane"],
        failure,
        request_id: IdHeader {
            name: HeaderName::from_static("x-request-id"),
            before: "",
            after: "",
            honours: GivenId::Token,
        },
        revoking: &[],
    },
    provider: None,
    routes: |state| super::router(state.clone()),
    // A path outside every dialect is userplane's to answer, not a provider's.
    unknown_path: |_| ControlError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response(),
    faults: None,
};

fn failure(failure: Failure) -> Response {
    let code = match failure {
        Failure::BadRequestLine | Failure::BadHeader => "invalid_request",
        Failure::UriTooLong => "uri_too_long",
        Failure::HeadersTooLarge => "headers_too_large",
        Failure::HeaderTimeout => "request_timeout",
        Failure::Overloaded => "overloaded",
        Failure::Internal => "internal",
    };
    ControlError::new(failure.status(), code, failure.message()).into_response()
}
