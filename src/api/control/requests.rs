//! `/_userplane/tenants/{tenant}/requests` (and `/count`): the request journal (issue 10),
//! filtered by operation, method, path prefix, status, user, since (tenant clock) and
//! after (a sequence number), oldest first, at most `limit` (1 to 1,000, default 100).

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde_json::{Value, json};

use super::ControlError;
use crate::state::AppState;
use crate::domain::ops;
use crate::harness::requests::Filter;

type Result<T> = std::result::Result<T, ControlError>;
type Params = std::result::Result<Query<HashMap<String, String>>, QueryRejection>;

async fn filter(state: &AppState, tenant: &str, params: Params) -> Result<Filter> {
    let Query(params) = params.map_err(|e| ControlError::invalid(e.body_text()))?;
    let filter = Filter::parse(&params)?;
    ops::get_tenant(&state.store, tenant).await?;
    Ok(filter)
}

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

pub async fn count(State(state): State<AppState>, Path(tenant): Path<String>, params: Params) -> Result<Json<Value>> {
    let filter = filter(&state, &tenant, params).await?;
    let count = state.journal.count(&state.store, &tenant, filter).await?;
    Ok(Json(json!({"count": count})))
}
