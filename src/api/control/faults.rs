//! `/_userplane/tenants/{tenant}/faults`: a tenant's fault rules (issue 10). `GET` lists
//! them with how often each fired, `POST` adds one (checked strictly: a bad rule is a 400
//! naming the field), `DELETE` removes one or all.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ControlError;
use crate::api::body;
use crate::state::AppState;
use crate::harness::faults::RuleSpec;
use crate::domain::ops;

type Result<T> = std::result::Result<T, ControlError>;

pub async fn list(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let rules = state.faults.list(&state.store, &tenant).await?;
    Ok(Json(json!({"rules": rules.iter().map(|r| r.to_json()).collect::<Vec<_>>()})))
}

pub async fn create(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<Value>)> {
    let fields = body::lenient_object(body).await?;
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let operations = crate::api::faults::operations(&tenant.provider);
    let spec = RuleSpec::parse(&Value::Object(fields), &tenant.provider, Some(&operations))?;
    let rule = state.faults.add(&state.store, &state.clock, &tenant, spec).await?;
    Ok((StatusCode::CREATED, Json(rule.to_json())))
}

pub async fn delete_one(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    state.faults.delete(&state.store, &state.clock, &tenant, Some(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_all(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let deleted = state.faults.delete(&state.store, &state.clock, &tenant, None).await?;
    Ok(Json(json!({"deleted": deleted})))
}
