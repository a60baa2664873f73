//! The router that puts the dialects side by side under one server.

use axum::Router;

use crate::state::AppState;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/_userplane", crate::api::control::router(state.clone()))
        .route("/_userplane/", crate::api::control::root_route())
        .nest("/client/v4", crate::api::cloudflare::router())
        .route("/client/v4/", crate::api::cloudflare::root_route())
        .merge(crate::api::zoom::router())
        .route("/metrics", axum::routing::get(crate::metrics::render))
        .fallback(crate::api::unknown_path)
        .with_state(state)
}

/// Routes that panic, one per dialect, for the test of the panic catcher only
/// (`ServeConfig::panic_routes`, which no flag sets).
pub(super) fn panic_routes() -> Router {
    async fn panic() {
        panic!("the test-only panic route");
    }
    let route = axum::routing::get(panic);
    Router::new()
        .route("/v2/__panic", route.clone())
        .route("/client/v4/__panic", route.clone())
        .route("/_userplane/__panic", route)
}
