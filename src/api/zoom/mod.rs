//! The Zoom dialect: the Users API v2 slice under `/v2`, and Server-to-Server OAuth at
//! `/oauth/token`. Paths, JSON shapes, status codes and `{"code","message"}` errors as
//! Zoom sends them; scopes and per-account rate limits by plan and label.

mod auth;
mod delegates;
pub mod dialect;
mod error;
mod extract;
mod ids;
mod oauth;
mod operations;
pub mod provider;
mod sessions;
pub mod tenant;
mod users;
mod views;

pub use error::ZoomError;
pub use users::decode_page_token;

use std::collections::HashMap;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::api::operation::OperationTable;
use crate::state::AppState;

/// Zoom's operation names (stable: fault rules, the request journal and metrics use them).
pub const OPERATIONS: OperationTable = &[
    ("POST", "/oauth/token", "zoom.oauth.token"),
    ("GET", "/v2/users", "zoom.users.list"),
    ("POST", "/v2/users", "zoom.users.create"),
    ("GET", "/v2/users/email", "zoom.users.email.check"),
    ("GET", "/v2/users/summary", "zoom.users.summary"),
    ("GET", "/v2/users/me/zak", "zoom.users.zak.get"),
    ("GET", "/v2/users/{user_id}", "zoom.users.get"),
    ("PATCH", "/v2/users/{user_id}", "zoom.users.update"),
    ("DELETE", "/v2/users/{user_id}", "zoom.users.delete"),
    ("GET", "/v2/users/{user_id}/token", "zoom.users.token.get"),
    ("DELETE", "/v2/users/{user_id}/token", "zoom.users.token.revoke"),
    ("PUT", "/v2/users/{user_id}/status", "zoom.users.status.update"),
    ("GET", "/v2/users/{user_id}/assistants", "zoom.users.assistants.list"),
    ("POST", "/v2/users/{user_id}/assistants", "zoom.users.assistants.add"),
    ("DELETE", "/v2/users/{user_id}/assistants", "zoom.users.assistants.delete"),
    ("DELETE", "/v2/users/{user_id}/assistants/{assistant_id}", "zoom.users.assistant.delete"),
    ("GET", "/v2/users/{user_id}/schedulers", "zoom.users.schedulers.list"),
    ("DELETE", "/v2/users/{user_id}/schedulers", "zoom.users.schedulers.delete"),
    ("DELETE", "/v2/users/{user_id}/schedulers/{scheduler_id}", "zoom.users.scheduler.delete"),
];

/// The Zoom routes: `/oauth/token` and `/v2/users...`.
pub fn router() -> Router<AppState> {
    let v2 = Router::new()
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/email", get(users::check_email))
        .route("/users/summary", get(users::summary))
        .route("/users/me/zak", get(sessions::get_my_zak))
        .route("/users/{user_id}", get(users::get_user).patch(users::update_user).delete(users::delete_user))
        .route("/users/{user_id}/token", get(sessions::get_user_token).delete(sessions::revoke_sso_token))
        .route("/users/{user_id}/status", axum::routing::put(sessions::update_status))
        .route(
            "/users/{user_id}/assistants",
            get(delegates::list_assistants).post(delegates::add_assistants).delete(delegates::delete_assistants),
        )
        .route("/users/{user_id}/assistants/{assistant_id}", delete(delegates::delete_assistant))
        .route("/users/{user_id}/schedulers", get(delegates::list_schedulers).delete(delegates::delete_schedulers))
        .route("/users/{user_id}/schedulers/{scheduler_id}", delete(delegates::delete_scheduler))
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .nest("/v2", v2)
        .layer(axum::middleware::from_fn(|r, n| crate::api::faults::layer(&dialect::SPEC, r, n)))
        .layer(axum::middleware::from_fn(|request, next| crate::api::operation::tag(OPERATIONS, request, next)))
        .layer(axum::middleware::map_response(error::render_framework_errors))
        .layer(axum::middleware::from_fn(crate::api::log_failures))
}

/// Any path Zoom does not have: 404 `{"code": 2300, ...}`.
pub async fn unknown_endpoint() -> ZoomError {
    ZoomError::unknown_endpoint()
}

/// A Zoom path with a method it does not take: 405, in Zoom's shape.
pub async fn method_not_allowed() -> ZoomError {
    ZoomError { status: axum::http::StatusCode::METHOD_NOT_ALLOWED, ..ZoomError::unknown_endpoint() }
}

/// Query parameters as a map (the last value wins); a malformed query is a Zoom 300.
pub fn query_params(query: Option<&str>) -> Result<HashMap<String, String>, ZoomError> {
    let Some(query) = query else { return Ok(HashMap::new()) };
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|_| ZoomError::bad_request(300, "Invalid query string."))?;
    Ok(pairs.into_iter().collect())
}
