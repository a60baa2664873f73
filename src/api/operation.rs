//! Stable operation names such as `zoom.users.token.revoke` or `cloudflare.access.revoke_user`:
//! what fault rules match, the request journal records and metrics count. Each dialect
//! declares its own table next to its routes; [`tag`] is the layer that names a request
//! (as a request extension, for handlers and extractors) and its answer (as a response
//! extension, for the layers outside the router).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::http::OperationName;

/// A dialect's operations: method, the route as axum's `MatchedPath` reports it, the name.
pub type OperationTable = &'static [(&'static str, &'static str, &'static str)];

/// The name of `method` on `route` in `table`, if it is one of its operations.
pub fn lookup(table: OperationTable, method: &str, route: &str) -> Option<OperationName> {
    table.iter().find(|(m, r, _)| *m == method && *r == route).map(|(_, _, name)| OperationName(name))
}

/// Names the request and its answer. A request no route matched (a fallback) has no name.
pub async fn tag(table: OperationTable, mut request: Request, next: Next) -> Response {
    let name = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|route| lookup(table, request.method().as_str(), route.as_str()));
    if let Some(name) = name {
        request.extensions_mut().insert(name);
    }
    let mut response = next.run(request).await;
    if let Some(name) = name {
        response.extensions_mut().insert(name);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    const TABLE: OperationTable = &[("GET", "/outer/items/{id}", "test.items.get")];

    async fn echo(name: Option<axum::Extension<OperationName>>) -> String {
        name.map_or_else(|| "-".to_owned(), |n| n.0.0.to_owned())
    }

    /// A nested route is named by its full template, and the answer carries the name too.
    #[tokio::test]
    async fn names_a_nested_route_and_its_answer() {
        let inner = Router::new().route("/items/{id}", get(echo)).fallback(echo);
        let app = Router::new()
            .nest("/outer", inner)
            .layer(axum::middleware::from_fn(|request, next| tag(TABLE, request, next)));
        let call = |uri: &'static str| {
            let app = app.clone();
            async move {
                let response = app.oneshot(Request::get(uri).body(axum::body::Body::empty()).unwrap()).await.unwrap();
                let name = response.extensions().get::<OperationName>().copied();
                let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
                (name, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        assert_eq!(call("/outer/items/7").await, (Some(OperationName("test.items.get")), "test.items.get".into()));
        assert_eq!(call("/outer/nothing").await, (None, "-".into()));
    }

    /// Within a dialect, one (method, route) has one name, and the seed calls are named.
    #[test]
    fn tables_are_unambiguous_and_name_the_seed_calls() {
        for table in [crate::api::zoom::OPERATIONS, crate::api::cloudflare::OPERATIONS] {
            for (i, (m, r, _)) in table.iter().enumerate() {
                assert!(!table[i + 1..].iter().any(|(m2, r2, _)| m2 == m && r2 == r), "{m} {r} twice");
            }
        }
        for (table, method, route, name) in [
            (crate::api::zoom::OPERATIONS, "DELETE", "/v2/users/{user_id}/token", "zoom.users.token.revoke"),
            (crate::api::zoom::OPERATIONS, "PUT", "/v2/users/{user_id}/status", "zoom.users.status.update"),
            (crate::api::zoom::OPERATIONS, "DELETE", "/v2/users/{user_id}/assistants", "zoom.users.assistants.delete"),
            (
                crate::api::cloudflare::OPERATIONS,
                "POST",
                "/client/v4/accounts/{account_id}/access/organizations/revoke_user",
                "cloudflare.access.revoke_user",
            ),
        ] {
            assert_eq!(lookup(table, method, route), Some(OperationName(name)));
        }
    }
}
