//! Snapshots and forks of a tenant (see `domain::snapshots`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ControlError;
use crate::api::body;
use crate::state::AppState;
use crate::domain::clock::rfc3339;
use crate::domain::ops;
use crate::harness::snapshots;
use crate::store::snapshots::SnapshotInfo;

type Result<T> = std::result::Result<T, ControlError>;

/// A JSON object body read as `T`, or the control plane's 400 saying what was expected.
pub(super) async fn parse<T: serde::de::DeserializeOwned>(body: Body, expected: &str) -> Result<T> {
    let fields = body::lenient_object(body).await?;
    serde_json::from_value(Value::Object(fields))
        .map_err(|e| ControlError::invalid(format!("expected {expected}: {e}")))
}

fn view(info: &SnapshotInfo) -> Value {
    json!({"name": info.name, "created_at": rfc3339(info.created_at), "size": info.size})
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSnapshot {
    name: String,
}

pub async fn create(State(state): State<AppState>, Path(tenant): Path<String>, body: Body) -> Result<Response> {
    let request: NewSnapshot = parse(body, "{\"name\": \"...\"}").await?;
    let windows = state.limits.local_windows(&tenant);
    let info = snapshots::create(&state.store, &state.clock, &tenant, &request.name, windows).await?;
    Ok((StatusCode::CREATED, Json(view(&info))).into_response())
}

pub async fn list(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let list = snapshots::list(&state.store, &tenant).await?;
    Ok(Json(json!({"snapshots": list.iter().map(view).collect::<Vec<_>>()})))
}

pub async fn restore(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let (tenant, windows) = snapshots::restore(&state.store, &state.clock, &tenant, &name).await?;
    state.faults.forget(&tenant.account_id);
    state.limits.replace_windows(&tenant.account_id, windows);
    let now = tenant.now(&state.clock);
    Ok(Json(json!({"restored": name, "now": rfc3339(now), "frozen": tenant.clock_frozen_at.is_some()})))
}

pub async fn delete(State(state): State<AppState>, Path((tenant, name)): Path<(String, String)>) -> Result<StatusCode> {
    snapshots::delete(&state.store, &tenant, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fork {
    account_id: String,
}

/// Copies a tenant under a new account id; its new secrets are in the answer, once.
pub async fn fork(State(state): State<AppState>, Path(source): Path<String>, body: Body) -> Result<Response> {
    let request: Fork = parse(body, "{\"account_id\": \"...\"}").await?;
    let tenant = ops::get_tenant(&state.store, &source).await?;
    let document = ops::tenant_document(&state.store, &source).await?;
    let (spec, secrets) = crate::api::tenants::with_new_secrets(
        &tenant.provider,
        &document,
        Some(&request.account_id),
        state.store.secrets(),
    )?;
    let forked = snapshots::fork(&state.store, &state.clock, &source, spec).await?;
    let body = json!({
        "account_id": forked.account_id,
        "provider": forked.provider,
        "forked_from": source,
        "now": rfc3339(forked.now(&state.clock)),
        "secrets": secrets,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
