//! Router and server (stub).
pub async fn serve(_config: crate::config::ServeConfig) -> Result<(), String> {
    Err("not yet".into())
}
