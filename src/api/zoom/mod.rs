//! The Zoom dialect (stub).
use axum::Router;
use crate::app::AppState;
pub fn router() -> Router<AppState> { Router::new() }
pub async fn unknown_endpoint() -> axum::http::StatusCode { axum::http::StatusCode::NOT_FOUND }
