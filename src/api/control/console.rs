//! The web console at `/_userplane/console`: one static page, its stylesheet and its
//! script, embedded in the binary. The page is public and holds nothing of the server's:
//! everything it shows it fetches from the control plane with the admin token the user
//! types in (or passes in the URL fragment, `#token=…`, which browsers never send).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ControlError;
#[allow(unused_imports)] // the OpenAPI annotations name it
use super::openapi::ErrorBody;

const PAGE: &str = include_str!("console/index.html");
const STYLE: &str = include_str!("console/console.css");
const SCRIPT: &str = include_str!("console/console.js");

/// Scripts and styles from this origin only (no inline script, no remote origin), fetches
/// to this origin only, no framing, no form posts anywhere, no referrer.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `GET /_userplane/console`.
#[utoipa::path(get, operation_id = "console_page", path = "/_userplane/console", tag = "console", security(()),
    responses((status = 200, description = "The console's page (public: it asks for the admin token)", content_type = "text/html", body = String)))]
pub async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

/// `GET /_userplane/console/{name}`: the page's stylesheet and script.
#[utoipa::path(get, operation_id = "console_file", path = "/_userplane/console/{name}", tag = "console", security(()),
    params(("name" = String, Path, description = "`console.css` or `console.js`")),
    responses((status = 200, description = "The stylesheet (text/css) or the script (text/javascript)",
            content((String = "text/css"), (String = "text/javascript"))),
        (status = 404, description = "No such console file", body = ErrorBody)))]
pub async fn file(Path(name): Path<String>) -> Response {
    match name.as_str() {
        "console.css" => asset("text/css; charset=utf-8", STYLE),
        "console.js" => asset("text/javascript; charset=utf-8", SCRIPT),
        _ => ControlError::new(StatusCode::NOT_FOUND, "not_found", "no such console file").into_response(),
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Small and embedded: always revalidated, so a new binary's page is never mixed with an old script.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
