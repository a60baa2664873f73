//! `/_userplane/tenants/{tenant}/requests` (and `/count`): the request journal (issue 10),
//! filtered by operation, method, path prefix, status, user, since (tenant clock) and
//! after (a sequence number), oldest first, at most `limit` (1 to 1,000, default 100).

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::ControlError;
#[allow(unused_imports)] // the OpenAPI annotations name them
use super::openapi::{ErrorBody, RequestCount, RequestPage};
use crate::domain::ops;
use crate::harness::requests::Filter;
use crate::state::AppState;

type Result<T> = std::result::Result<T, ControlError>;
type Params = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

async fn filter(state: &AppState, tenant: &str, params: Params) -> Result<Filter> {
    let Query(params) = params.map_err(|e| ControlError::invalid(e.body_text()))?;
    let filter = Filter::parse(&params)?;
    ops::get_tenant(&state.store, tenant).await?;
    Ok(filter)
}

/// The requests a dialect answered for the tenant, oldest first.
#[utoipa::path(get, operation_id = "list_requests", path = "/_userplane/tenants/{tenant}/requests", tag = "requests",
    params(("tenant" = String, Path, description = "The tenant's account id"), ("operation" = Option<String>, Query, min_length = 1, max_length = 512, description = "A dialect operation name"), ("method" = Option<String>, Query, min_length = 1, max_length = 512, description = "An HTTP method (any case)"), ("path_prefix" = Option<String>, Query, min_length = 1, max_length = 512, description = "The path starts with this"), ("status" = Option<u16>, Query, minimum = 100, maximum = 599, description = "The answer's status"), ("user" = Option<String>, Query, min_length = 1, max_length = 512, description = "The target user, as the journal names them"), ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339, on the tenant's clock: requests at or after it"), ("after" = Option<i64>, Query, minimum = 0, description = "Only requests after this sequence number (a page's `next_after`)"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many (default 100)")),
    responses((status = 200, description = "A page of the request journal", body = RequestPage),
        (status = 400, description = "An unknown parameter or a value out of range", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Path(tenant): Path<String>, params: Params) -> Result<Json<Value>> {
    let filter = filter(&state, &tenant, params).await?;
    let limit = filter.limit as usize;
    let entries = state.journal.list(&state.store, &tenant, filter).await?;
    // A full page may have more after it.
    let next_after = (entries.len() == limit).then(|| entries.last().map(|e| e.seq)).flatten();
    Ok(Json(json!({
        "requests": entries.iter().map(|e| e.to_json()).collect::<Vec<_>>(),
        "next_after": next_after,
    })))
}

/// How many requests match the filter.
#[utoipa::path(get, operation_id = "count_requests", path = "/_userplane/tenants/{tenant}/requests/count", tag = "requests",
    params(("tenant" = String, Path, description = "The tenant's account id"), ("operation" = Option<String>, Query, min_length = 1, max_length = 512, description = "A dialect operation name"), ("method" = Option<String>, Query, min_length = 1, max_length = 512, description = "An HTTP method (any case)"), ("path_prefix" = Option<String>, Query, min_length = 1, max_length = 512, description = "The path starts with this"), ("status" = Option<u16>, Query, minimum = 100, maximum = 599, description = "The answer's status"), ("user" = Option<String>, Query, min_length = 1, max_length = 512, description = "The target user, as the journal names them"), ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339, on the tenant's clock: requests at or after it"), ("after" = Option<i64>, Query, minimum = 0, description = "Only requests after this sequence number (a page's `next_after`)"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Checked as for the list; does not bound the count")),
    responses((status = 200, description = "The number of matching requests", body = RequestCount),
        (status = 400, description = "An unknown parameter or a value out of range", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn count(State(state): State<AppState>, Path(tenant): Path<String>, params: Params) -> Result<Json<Value>> {
    let filter = filter(&state, &tenant, params).await?;
    let count = state.journal.count(&state.store, &tenant, filter).await?;
    Ok(Json(json!({"count": count})))
}
