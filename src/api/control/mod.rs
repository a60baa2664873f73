//! userplane's own control plane under `/_userplane`: tenants, simulated logins,
//! introspection, the journal and the clock. Guarded by the admin token; JSON in and out;
//! errors are `{"error": {"code", "message"}}`.

mod console;
pub mod dialect;
mod error;
mod faults;
mod handlers;
pub mod openapi;
mod requests;
mod snapshots;
mod users;

pub use error::ControlError;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The control plane's routes: under `/_userplane`, and `/_userplane/` itself, which a
/// nested router does not see (answered in the control plane's shape, not as an unknown path).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new().nest("/_userplane", routes(state)).route("/_userplane/", axum::routing::any(handlers::not_found))
}

/// The routes below `/_userplane`.
fn routes(state: AppState) -> Router<AppState> {
    let guarded = Router::new()
        .route("/tenants", get(handlers::list_tenants).post(handlers::create_tenant))
        .route("/tenants/{tenant}", get(handlers::get_tenant).delete(handlers::delete_tenant))
        .route("/tenants/{tenant}/reset", post(handlers::reset_tenant))
        .route("/tenants/{tenant}/sessions", post(handlers::create_session))
        .route("/tenants/{tenant}/clock", get(handlers::get_clock).post(handlers::change_clock))
        .route("/tenants/{tenant}/journal", get(handlers::journal))
        .route("/introspect", post(handlers::introspect))
        .route("/tenants/{tenant}/users", get(users::list))
        .route("/tenants/{tenant}/users/{user}/{action}", post(users::act))
        .route("/tenants/{tenant}/snapshots", get(snapshots::list).post(snapshots::create))
        .route("/tenants/{tenant}/snapshots/{name}", axum::routing::delete(snapshots::delete))
        .route("/tenants/{tenant}/snapshots/{name}/restore", post(snapshots::restore))
        .route("/tenants/{tenant}/fork", post(snapshots::fork))
        .route("/reset", post(handlers::reset_all))
        .route("/tenants/{tenant}/faults", get(faults::list).post(faults::create).delete(faults::delete_all))
        .route("/tenants/{tenant}/faults/{id}", axum::routing::delete(faults::delete_one))
        .route("/tenants/{tenant}/requests", get(requests::list))
        .route("/tenants/{tenant}/requests/count", get(requests::count))
        .route_layer(axum::middleware::from_fn_with_state(state, handlers::require_admin));
    Router::new()
        .route("/health", get(handlers::health))
        .route("/console", get(console::page))
        .route("/console/{name}", get(console::file))
        .route("/openapi.json", get(openapi::control_document))
        .route("/openapi/zoom.json", get(openapi::zoom_slice))
        .route("/openapi/cloudflare.json", get(openapi::cloudflare_slice))
        .merge(guarded)
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::map_response(error::render_framework_errors))
        .layer(axum::middleware::from_fn(crate::api::log_failures))
}
