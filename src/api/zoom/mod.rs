//! The Zoom dialect (stub).
use crate::app::AppState;
use axum::Router;
pub fn router() -> Router<AppState> {
    Router::new()
}
pub async fn unknown_endpoint() -> axum::http::StatusCode {
    axum::http::StatusCode::NOT_FOUND
}
