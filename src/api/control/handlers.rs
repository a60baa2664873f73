//! Control-plane handlers.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ControlError;
#[allow(unused_imports)] // the OpenAPI annotations name them
use super::openapi::{
    ClockView, ErrorBody, Health, IntrospectionView, JournalPage, SessionCreated, TenantDocument, TenantList,
    TenantView,
};
use crate::api::body;
use crate::api::providers;
use crate::domain::clock::{self, ClockChange, rfc3339};
use crate::domain::ops::{self, Login};
use crate::domain::provider::LoginTarget;
use crate::domain::{Tenant, TokenState};
use crate::state::AppState;
use crate::throttle::SourceAddress;

type Result<T> = std::result::Result<T, ControlError>;

/// Lets a request through only with the admin token (compared in constant time). A
/// wrong token counts against the source address: past the limit it is answered 429.
pub async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = crate::api::bearer(request.headers());
    if presented.is_some_and(|t| state.store.secrets().matches(t, &state.admin_token_hash)) {
        return next.run(request).await;
    }
    if presented.is_some()
        && let Some(seconds) = state.auth_throttle.failed(&[SourceAddress::of(request.extensions()).key()])
    {
        return ControlError {
            retry_after: Some(seconds),
            ..ControlError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_failed_attempts",
                "too many wrong admin tokens from this address; try again later",
            )
        }
        .into_response();
    }
    ControlError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid admin bearer token is required")
        .into_response()
}

/// The null route: answers at once, does no work.
#[utoipa::path(get, path = "/_userplane/health", tag = "control", security(()),
    responses((status = 200, description = "Up", body = Health)))]
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn not_found() -> ControlError {
    ControlError::new(StatusCode::NOT_FOUND, "not_found", "no such control-plane route")
}

pub async fn method_not_allowed() -> ControlError {
    ControlError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
}

/// A tenant as the control plane shows it: the document without its secrets' hashes.
fn tenant_view(tenant: &Tenant, document: &Value) -> Value {
    json!({
        "account_id": tenant.account_id,
        "provider": tenant.provider,
        "plan": tenant.plan,
        "rate_limits": if tenant.rate_limits { "on" } else { "off" },
        "clock_offset_seconds": tenant.clock_offset_ms / 1000,
        "created_at": rfc3339(tenant.created_at),
        "document": without_hashes(document),
    })
}

/// The document with every kept hash (`<name>_hash`, or `<name>_sha256` in a document
/// from before keyed hashes) replaced by `"<name>_set": true`: whether a secret is set,
/// never the hash, which would let anyone test guesses of the secret offline.
fn without_hashes(document: &Value) -> Value {
    match document {
        Value::Object(map) => map
            .iter()
            .map(|(name, value)| match name.strip_suffix("_hash").or_else(|| name.strip_suffix("_sha256")) {
                Some(stem) => (format!("{stem}_set"), json!(!value.is_null())),
                None => (name.clone(), without_hashes(value)),
            })
            .collect(),
        Value::Array(items) => items.iter().map(without_hashes).collect(),
        other => other.clone(),
    }
}

#[utoipa::path(post, path = "/_userplane/tenants", tag = "control", request_body = TenantDocument,
    responses((status = 201, description = "Created", body = TenantView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 409, description = "The account exists", body = ErrorBody)))]
pub async fn create_tenant(State(state): State<AppState>, body: Body) -> Result<Response> {
    let fields = body::lenient_object(body).await?;
    let spec = crate::api::tenants::spec(Value::Object(fields), state.store.secrets())?;
    let document = spec.document.clone();
    let tenant = ops::create_tenant(&state.store, &state.clock, spec).await?;
    Ok((StatusCode::CREATED, Json(tenant_view(&tenant, &document))).into_response())
}

#[utoipa::path(get, path = "/_userplane/tenants", tag = "control",
    responses((status = 200, description = "Every tenant", body = TenantList), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn list_tenants(State(state): State<AppState>) -> Result<Json<Value>> {
    let mut views = Vec::new();
    for tenant in ops::list_tenants(&state.store).await? {
        let document = ops::tenant_document(&state.store, &tenant.account_id).await?;
        views.push(tenant_view(&tenant, &document));
    }
    Ok(Json(json!({"tenants": views})))
}

#[utoipa::path(get, path = "/_userplane/tenants/{tenant}", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id")),
    responses((status = 200, description = "The tenant", body = TenantView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn get_tenant(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let document = ops::tenant_document(&state.store, &tenant).await?;
    Ok(Json(tenant_view(&ops::get_tenant(&state.store, &tenant).await?, &document)))
}

#[utoipa::path(delete, path = "/_userplane/tenants/{tenant}", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id")),
    responses((status = 204, description = "Deleted, with all its state"), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn delete_tenant(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<StatusCode> {
    state.journal.flush().await;
    ops::delete_tenant(&state.store, &tenant).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    rotate_secrets: bool,
}

/// Resets a tenant to its document; with `{"rotate_secrets": true}` every secret is new
/// and shown in the answer, once.
#[utoipa::path(post, path = "/_userplane/tenants/{tenant}/reset", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id")),
    request_body(content = Option<ResetRequest>),
    responses((status = 200, description = "Back to its document's state", body = TenantView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn reset_tenant(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Body,
) -> Result<Json<Value>> {
    let request: ResetRequest = super::snapshots::parse(body, "{\"rotate_secrets\": true|false}").await?;
    reset_one(&state, &tenant, request.rotate_secrets).await.map(Json)
}

/// Resets every tenant, one transaction each (each as much work as one tenant's reset),
/// in creation order; a failure stops there and says which tenant.
#[utoipa::path(post, path = "/_userplane/reset", tag = "control",
    request_body(content = Option<ResetRequest>),
    responses((status = 200, description = "Every tenant back to its document's state"), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn reset_all(State(state): State<AppState>, body: Body) -> Result<Json<Value>> {
    let request: ResetRequest = super::snapshots::parse(body, "{\"rotate_secrets\": true|false}").await?;
    let mut views = Vec::new();
    for tenant in ops::list_tenants(&state.store).await? {
        views.push(reset_one(&state, &tenant.account_id, request.rotate_secrets).await?);
    }
    Ok(Json(json!({"tenants": views})))
}

async fn reset_one(state: &AppState, tenant: &str, rotate_secrets: bool) -> Result<Value> {
    // Entries still queued for the request journal would land after the reset cleared it.
    state.journal.flush().await;
    let provider = ops::get_tenant(&state.store, tenant).await?.provider;
    let document = ops::tenant_document(&state.store, tenant).await?;
    if rotate_secrets {
        let (spec, secrets) = crate::api::tenants::with_new_secrets(&provider, &document, None, state.store.secrets())?;
        let document = spec.document.clone();
        let reset = crate::harness::snapshots::reset_rotating(&state.store, &state.clock, spec).await?;
        let mut view = tenant_view(&reset, &document);
        view["secrets"] = secrets;
        return Ok(view);
    }
    let seed = crate::api::tenants::seed_of(&provider, &document, state.store.secrets())?;
    let reset = ops::reset_tenant(&state.store, &state.clock, tenant, seed).await?;
    Ok(tenant_view(&reset, &document))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SessionRequest {
    user: String,
    #[schema(value_type = super::openapi::SessionKind)]
    kind: String,
    #[serde(default)]
    app: Option<String>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// The login a session request asks for, among those the tenant's provider declares.
fn session_kind(tenant: &Tenant, request: SessionRequest) -> Result<(String, Login)> {
    let provider = providers::named(tenant.provider.as_str())
        .ok_or_else(|| ControlError::from(crate::domain::Error::Internal("a tenant of no known provider".into())))?;
    let Some(login) = provider.login(&request.kind) else {
        let known: Vec<String> = providers::all()
            .map(|p| {
                format!("{}: {}", p.provider.as_str(), p.logins.iter().map(|l| l.name).collect::<Vec<_>>().join(", "))
            })
            .collect();
        return Err(ControlError::invalid(format!(
            "unknown session kind \"{}\" for a {} tenant ({})",
            request.kind,
            tenant.provider.as_str(),
            known.join("; ")
        )));
    };
    let article = if login.name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    let kind = match login.target {
        LoginTarget::User => {
            let grants = match login.grants {
                None => Vec::new(),
                Some(defaults) => request.scopes.unwrap_or_else(|| defaults.iter().map(|g| g.to_string()).collect()),
            };
            Login::user(login.token, grants)
        }
        LoginTarget::App => Login::app(
            login.token,
            request.app.ok_or_else(|| {
                ControlError::invalid(format!("{article} {} session needs \"app\" (aud or name)", login.name))
            })?,
        ),
        LoginTarget::Device => Login::device(
            login.token,
            request.device.ok_or_else(|| {
                ControlError::invalid(format!("{article} {} session needs \"device\" (id or name)", login.name))
            })?,
        ),
    };
    Ok((request.user, kind))
}

#[utoipa::path(post, path = "/_userplane/tenants/{tenant}/sessions", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id")), request_body = SessionRequest,
    responses((status = 201, description = "A simulated login's credential", body = SessionCreated), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such tenant, user, app or device", body = ErrorBody),
        (status = 409, description = "Refused (e.g. the user is not active)", body = ErrorBody)))]
pub async fn create_session(State(state): State<AppState>, Path(tenant): Path<String>, body: Body) -> Result<Response> {
    let fields = body::lenient_object(body).await?;
    let request: SessionRequest = serde_json::from_value(Value::Object(fields))
        .map_err(|e| ControlError::invalid(format!("invalid session request: {e}")))?;
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let (user, login) = session_kind(&tenant, request)?;
    let (token, issued) =
        ops::login(ops::Ctx::new(&state.store, &state.clock, &tenant, &crate::domain::Actor::admin()), &user, login)
            .await?;
    let body = json!({
        "token": token,
        "kind": issued.kind,
        "user": issued.principal,
        "nonce": issued.nonce,
        "expires_at": rfc3339(issued.expires_at),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[utoipa::path(get, path = "/_userplane/tenants/{tenant}/clock", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id")),
    responses((status = 200, description = "The tenant's clock", body = ClockView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn get_clock(State(state): State<AppState>, Path(tenant): Path<String>) -> Result<Json<Value>> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    Ok(Json(clock_view(&state, &tenant)))
}

fn clock_view(state: &AppState, tenant: &Tenant) -> Value {
    json!({
        "now": rfc3339(tenant.now(&state.clock)),
        "offset_seconds": tenant.clock_offset_ms / 1000,
        "frozen": tenant.clock_frozen_at.is_some(),
    })
}

/// Exactly one of the three.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    #[schema(minimum = 0, maximum = 316_224_000)] // ten years of 366 days
    #[serde(default, deserialize_with = "whole_number")]
    advance_seconds: Option<i64>,
    /// An RFC 3339 instant, not before the tenant's now.
    set: Option<String>,
    freeze: Option<bool>,
}

const CLOCK_FORMS: &str = "{\"advance_seconds\": N}, {\"set\": \"RFC 3339\"} or {\"freeze\": true|false}";

/// A JSON integer, written `60` or `60.0` (JSON Schema does not tell them apart; some
/// clients write the latter). A fraction or a negative float (`-0.0` too) is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Option<i64>, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_i64()
        .or_else(|| {
            number.as_f64().filter(|f| f.fract() == 0.0 && f.is_sign_positive() && *f < 9.0e15).map(|f| f as i64)
        })
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number of seconds, not {number}")))
}

#[utoipa::path(post, path = "/_userplane/tenants/{tenant}/clock", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id")), request_body = ClockRequest,
    responses((status = 200, description = "The clock, moved, set, frozen or unfrozen", body = ClockView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody),
        (status = 409, description = "Refused: the clock does not go backwards (restore a snapshot to go back)", body = ErrorBody)))]
pub async fn change_clock(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Body,
) -> Result<Json<Value>> {
    let request: ClockRequest = super::snapshots::parse(body, CLOCK_FORMS).await?;
    let change = match (request.advance_seconds, request.set, request.freeze) {
        (Some(seconds), None, None) => ClockChange::Advance { seconds },
        (None, Some(at), None) => ClockChange::Set { at: clock::parse_instant(&at)? },
        (None, None, Some(true)) => ClockChange::Freeze,
        (None, None, Some(false)) => ClockChange::Unfreeze,
        _ => return Err(ControlError::invalid(format!("expected exactly one of {CLOCK_FORMS}"))),
    };
    let tenant = ops::change_clock(&state.store, &state.clock, &tenant, change).await?;
    Ok(Json(clock_view(&state, &tenant)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JournalQuery {
    #[serde(default)]
    after: i64,
    #[serde(default = "default_journal_limit")]
    limit: i64,
}

fn default_journal_limit() -> i64 {
    100
}

#[utoipa::path(get, path = "/_userplane/tenants/{tenant}/journal", tag = "control", params(("tenant" = String, Path, description = "The tenant's account id"), JournalQuery),
    responses((status = 200, description = "Audit records after `after`, oldest first", body = JournalPage), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn journal(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: std::result::Result<Query<JournalQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let Query(query) = query.map_err(|e| ControlError::invalid(e.body_text()))?;
    let records = ops::journal(&state.store, &tenant, query.after, query.limit.clamp(1, 1000)).await?;
    let entries: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({"seq": r.seq, "at": rfc3339(r.at), "actor": r.actor, "action": r.action, "target": r.target, "detail": r.detail})
        })
        .collect();
    Ok(Json(json!({"entries": entries})))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct IntrospectRequest {
    token: String,
}

/// RFC 7662-shaped introspection for every credential userplane issues.
#[utoipa::path(post, path = "/_userplane/introspect", tag = "control",
    request_body(content((IntrospectRequest = "application/json"), (IntrospectRequest = "application/x-www-form-urlencoded"))),
    responses((status = 200, description = "RFC 7662 introspection", body = IntrospectionView), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody)))]
pub async fn introspect(State(state): State<AppState>, body: Body) -> Result<Json<Value>> {
    // RFC 7662 clients post a form; the examples post JSON. Take both.
    let bytes = body::read(body).await?;
    let fields = if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        match body::json_value(&bytes)? {
            Value::Object(map) => map,
            _ => return Err(ControlError::invalid("expected a JSON object")),
        }
    } else {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| ControlError::invalid(format!("invalid form body: {e}")))?;
        pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect()
    };
    let request: IntrospectRequest = serde_json::from_value(Value::Object(fields))
        .map_err(|e| ControlError::invalid(format!("expected {{\"token\": \"...\"}}: {e}")))?;
    let found = ops::introspect(&state.store, &state.clock, &request.token).await?;
    crate::metrics::introspected(found.as_ref(), &state.clock);
    let Some(found) = found else {
        return Ok(Json(json!({"active": false})));
    };
    let token = &found.token;
    let mut view = json!({
        "active": matches!(found.state, TokenState::Active),
        "tenant": found.tenant.account_id,
        "provider": found.tenant.provider,
        "kind": token.kind,
        "token_type": "bearer",
        "iat": token.issued_at / 1000,
        "exp": token.expires_at / 1000,
        "nonce": token.nonce,
    });
    if let Some(user) = &token.principal {
        view["user"] = json!(user);
    }
    if let Some(p) = &found.principal {
        view["email"] = json!(p.email);
        view["sub"] = json!(p.id);
    }
    if let Some(client) = &token.credential {
        view["client_id"] = json!(client);
    }
    if !token.grants.is_empty() {
        view["scope"] = json!(token.grants.join(" "));
    }
    if let Some(subject) = &token.subject {
        view["subject"] = json!(subject);
    }
    if let TokenState::Inactive { reason, since } = found.state {
        view["reason"] = json!(reason.as_str());
        view["revoked_at"] = json!(rfc3339(since));
    }
    Ok(Json(view))
}
