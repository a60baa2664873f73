//! Success envelopes: `{"success": true, "errors": [], "messages": [], "result": ...}`,
//! with `result_info` on collections (page-numbered or cursor-based).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// 200 with `result`.
pub fn ok(result: Value) -> Response {
    with_status(StatusCode::OK, result, Vec::new())
}

/// 201 with `result`.
pub fn created(result: Value) -> Response {
    with_status(StatusCode::CREATED, result, Vec::new())
}

/// `result` with informational messages (`{code, message, type}`).
pub fn with_status(status: StatusCode, result: Value, messages: Vec<Value>) -> Response {
    (status, Json(json!({"success": true, "errors": [], "messages": messages, "result": result}))).into_response()
}

/// A page of a page-numbered collection. Past the end the page is empty (`result: []`):
/// the SDKs' auto-pagination stops on an empty page and ignores `total_pages`.
pub fn page(items: Vec<Value>, page: i64, per_page: i64, total: i64) -> Response {
    let total_pages = if total == 0 { 0 } else { (total + per_page - 1) / per_page };
    let info = json!({
        "page": page,
        "per_page": per_page,
        "count": items.len(),
        "total_count": total,
        "total_pages": total_pages,
    });
    collection(items, info)
}

/// A whole collection in one page (the SDKs read these as a single page).
pub fn single_page(items: Vec<Value>) -> Response {
    let n = items.len() as i64;
    page(items, 1, n.max(1), n)
}

/// A page of a cursor-paginated collection: `cursor` is empty on the last page.
pub fn cursor_page(items: Vec<Value>, per_page: i64, cursor: String, total: i64) -> Response {
    let info = json!({"count": items.len(), "cursor": cursor, "per_page": per_page, "total_count": total});
    collection(items, info)
}

fn collection(items: Vec<Value>, info: Value) -> Response {
    let body = json!({"success": true, "errors": [], "messages": [], "result": items, "result_info": info});
    (StatusCode::OK, Json(body)).into_response()
}
