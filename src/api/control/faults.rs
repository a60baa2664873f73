//! `/_userplane/tenants/{tenant}/faults`: a tenant's fault rules (issue 10). `GET` lists
//! them with how often each fired, `POST` adds one (checked strictly: a bad rule is a 400
//! naming the field), `DELETE` removes one or all.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ControlError;
#[allow(unused_imports)] // the OpenAPI annotations name them
use super::openapi::{Deleted, ErrorBody, FaultRule, FaultRuleList, FaultRuleRequest};
use crate::api::body;
use crate::domain::ops;
use crate::harness::faults::RuleSpec;
use crate::state::AppState;

type Result<T> = std::result::Result<T, ControlError>;

/// The tenant's fault rules, oldest first, with how often each matched and fired.
#[utoipa::path(get, operation_id = "list_faults", path = "/_userplane/tenants/{tenant}/faults", tag = "faults", params(("tenant" = String, Path, description = "The tenant's account id")),
    responses((status = 200, description = "The rules", body = FaultRuleList), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let rules = state.faults.list(&state.store, &tenant).await?;
    Ok(Json(json!({"rules": rules.iter().map(|r| r.to_json()).collect::<Vec<_>>()})))
}

/// Adds a rule; it applies from the tenant's next request.
#[utoipa::path(post, operation_id = "create_fault", path = "/_userplane/tenants/{tenant}/faults", tag = "faults", params(("tenant" = String, Path, description = "The tenant's account id")), request_body = FaultRuleRequest,
    responses((status = 201, description = "The rule, stored", body = FaultRule,
            links(("delete" = (operation_id = "delete_fault", parameters(("tenant" = "$request.path.tenant"), ("id" = "$response.body#/id")))))),
        (status = 400, description = "Invalid rule (the message names the field), an operation the tenant's provider does not have, or 100 rules already", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
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

/// Removes one rule.
#[utoipa::path(delete, operation_id = "delete_fault", path = "/_userplane/tenants/{tenant}/faults/{id}", tag = "faults",
    params(("tenant" = String, Path, description = "The tenant's account id"), ("id" = String, Path, description = "The rule's id")),
    responses((status = 204, description = "Removed"), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such tenant or rule", body = ErrorBody)))]
pub async fn delete_one(
    State(state): State<AppState>,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    state.faults.delete(&state.store, &state.clock, &tenant, Some(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes every rule of the tenant.
#[utoipa::path(delete, operation_id = "delete_faults", path = "/_userplane/tenants/{tenant}/faults", tag = "faults", params(("tenant" = String, Path, description = "The tenant's account id")),
    responses((status = 200, description = "How many rules were removed", body = Deleted), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn delete_all(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let deleted = state.faults.delete(&state.store, &state.clock, &tenant, None).await?;
    Ok(Json(json!({"deleted": deleted})))
}
