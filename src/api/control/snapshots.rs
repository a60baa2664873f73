//! Snapshots and forks of a tenant (see `domain::snapshots`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ControlError;
#[allow(unused_imports)] // the OpenAPI annotations name them
use super::openapi::{ErrorBody, ForkRequest, Forked, SnapshotList, SnapshotRequest, SnapshotRestored, SnapshotView};
use crate::api::body;
use crate::domain::clock::rfc3339;
use crate::domain::ops;
use crate::harness::snapshots;
use crate::state::AppState;
use crate::store::snapshots::SnapshotInfo;

type Result<T> = std::result::Result<T, ControlError>;

/// A JSON object body read as `T`, or the control plane's 400 saying what was expected.
/// No body, an empty one and `null` are `{}`: the document's optional bodies allow null.
pub(super) async fn parse<T: serde::de::DeserializeOwned>(body: Body, expected: &str) -> Result<T> {
    let bytes = body::read(body).await?;
    let value = if bytes.trim_ascii().is_empty() { Value::Null } else { body::json_value(&bytes)? };
    let fields = match value {
        Value::Null => serde_json::Map::new(),
        Value::Object(fields) => fields,
        _ => return Err(body::BodyError::InvalidJson("expected a JSON object".into()).into()),
    };
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

/// Captures the tenant's whole state (and its clock) under a name.
#[utoipa::path(post, operation_id = "create_snapshot", path = "/_userplane/tenants/{tenant}/snapshots", tag = "snapshots", params(("tenant" = String, Path, description = "The tenant's account id")), request_body = SnapshotRequest,
    responses((status = 201, description = "Taken", body = SnapshotView,
            links(("restore" = (operation_id = "restore_snapshot", parameters(("tenant" = "$request.path.tenant"), ("name" = "$response.body#/name")))),
                ("delete" = (operation_id = "delete_snapshot", parameters(("tenant" = "$request.path.tenant"), ("name" = "$response.body#/name")))))), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "A snapshot of that name exists", body = ErrorBody)))]
pub async fn create(State(state): State<AppState>, Path(tenant): Path<String>, body: Body) -> Result<Response> {
    let request: NewSnapshot = parse(body, "{\"name\": \"...\"}").await?;
    let windows = state.limits.local_windows(&tenant);
    let info = snapshots::create(&state.store, &state.clock, &tenant, &request.name, windows).await?;
    Ok((StatusCode::CREATED, Json(view(&info))).into_response())
}

/// The tenant's snapshots.
#[utoipa::path(get, operation_id = "list_snapshots", path = "/_userplane/tenants/{tenant}/snapshots", tag = "snapshots", params(("tenant" = String, Path, description = "The tenant's account id")),
    responses((status = 200, description = "The snapshots", body = SnapshotList), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let list = snapshots::list(&state.store, &tenant).await?;
    Ok(Json(json!({"snapshots": list.iter().map(view).collect::<Vec<_>>()})))
}

/// Puts the tenant back as it was when the snapshot was taken.
#[utoipa::path(post, operation_id = "restore_snapshot", path = "/_userplane/tenants/{tenant}/snapshots/{name}/restore", tag = "snapshots", params(("tenant" = String, Path, description = "The tenant's account id"), ("name" = String, Path, description = "The snapshot's name")),
    responses((status = 200, description = "Restored", body = SnapshotRestored), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such tenant or snapshot", body = ErrorBody)))]
pub async fn restore(
    State(state): State<AppState>,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>> {
    let (tenant, windows) = snapshots::restore(&state.store, &state.clock, &tenant, &name).await?;
    state.limits.replace_windows(&tenant.account_id, windows);
    let now = tenant.now(&state.clock);
    Ok(Json(json!({"restored": name, "now": rfc3339(now), "frozen": tenant.clock_frozen_at.is_some()})))
}

/// Deletes a snapshot.
#[utoipa::path(delete, operation_id = "delete_snapshot", path = "/_userplane/tenants/{tenant}/snapshots/{name}", tag = "snapshots", params(("tenant" = String, Path, description = "The tenant's account id"), ("name" = String, Path, description = "The snapshot's name")),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such tenant or snapshot", body = ErrorBody)))]
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
#[utoipa::path(post, operation_id = "fork_tenant", path = "/_userplane/tenants/{tenant}/fork", tag = "snapshots", params(("tenant" = String, Path, description = "The tenant's account id")), request_body = ForkRequest,
    responses((status = 201, description = "The new tenant, with its new secrets", body = Forked),
        (status = 400, description = "Invalid request (an account id not in the provider's format)", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "The new account id is taken", body = ErrorBody)))]
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
