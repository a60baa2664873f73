//! The router that puts the dialects side by side under one server.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::control::ControlError;
use crate::api::providers;
use crate::state::AppState;

/// Every route of the server: each registered dialect's, `/metrics`, and for any other
/// path the answer of the dialect that owns it.
pub fn router(state: AppState) -> Router {
    providers::served()
        .fold(Router::new(), |router, dialect| router.merge((dialect.routes)(&state)))
        .route("/metrics", axum::routing::get(metrics))
        .fallback(crate::api::unknown_path)
        .with_state(state)
}

/// `GET /metrics`: Prometheus' text format; with metrics off, no such route (the control
/// plane's 404); a failure to encode, its 500 (logged).
async fn metrics() -> Response {
    let not_found = || ControlError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response();
    match crate::metrics::text() {
        None => not_found(),
        Some(Ok(text)) => {
            let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
            ([(header::CONTENT_TYPE, content_type)], text).into_response()
        }
        Some(Err(err)) => {
            tracing::error!(%err, "metrics: cannot encode");
            ControlError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error").into_response()
        }
    }
}

/// Routes that panic, one per dialect (`<its first prefix>/__panic`), for the test of the
/// panic catcher only (`ServeConfig::panic_routes`, which no flag sets).
pub(super) fn panic_routes() -> Router {
    async fn panic() {
        panic!("the test-only panic route");
    }
    providers::served()
        .filter_map(|dialect| dialect.http.prefixes.first())
        .fold(Router::new(), |router, prefix| router.route(&format!("{prefix}/__panic"), axum::routing::get(panic)))
}
