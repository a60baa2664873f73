//! A tenant's users as the console shows them: a bounded page with each user's status,
//! live sessions per kind and live device registrations; and the admin's actions on one
//! user (revoke their sessions, deactivate, activate), which call the same domain
//! operations as the dialects and are journaled by them.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ControlError;
use crate::domain::ops::{self, PageStart, RevokeAccess};
use crate::domain::provider::ProviderSpec;
use crate::domain::{Actor, InactiveReason, Principal, Status, Tenant};
use crate::state::AppState;

#[allow(unused_imports)] // the OpenAPI annotations name them
use super::openapi::{ConsoleUserPage, ErrorBody, UserActionResult};

type Result<T> = std::result::Result<T, ControlError>;

/// The order a page walks the statuses in; the cursor names a status and an email.
const STATUSES: [Status; 3] = [Status::Active, Status::Inactive, Status::Pending];
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

#[derive(Deserialize)]
pub struct UsersQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /tenants/{tenant}/users?after=&limit=`: up to `limit` users (1 to 100, default
/// 50), active ones first, then inactive, then pending, each group in email order, and
/// `next_after` (the cursor of the next page, `null` on the last).
///
/// The cost follows the page: at most three keyset reads on the (tenant, status, email)
/// index, then per user one read per session kind (on the (tenant, principal, kind)
/// index: that user's stored sessions of the kind, never another user's) and one of
/// their device registrations.
/// A user whose status changes between two pages may be seen twice or not at all.
#[utoipa::path(get, operation_id = "list_users", path = "/_userplane/tenants/{tenant}/users", tag = "users",
    params(("tenant" = String, Path, description = "The tenant's account id"),
        ("after" = Option<String>, Query, pattern = "^((active|inactive|pending):.*)?$", description = "A `next_after` this endpoint returned"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "At most this many (default 50)")),
    responses((status = 200, description = "A page of users", body = ConsoleUserPage), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody), (status = 404, description = "No such tenant", body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    query: std::result::Result<Query<UsersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>> {
    let Query(query) = query.map_err(|e| ControlError::invalid(e.body_text()))?;
    let limit = parse_limit(query.limit.as_deref())?;
    let (mut group, mut after) = match query.after.as_deref() {
        None | Some("") => (0, String::new()),
        Some(cursor) => parse_cursor(cursor)?,
    };
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let mut page: Vec<Principal> = Vec::new();
    let mut more = false;
    while group < STATUSES.len() {
        // `need` may be 0: the one extra user then only says whether there is more.
        let need = limit.saturating_sub(u32::try_from(page.len()).unwrap_or(limit));
        let start = PageStart::After(std::mem::take(&mut after));
        let (found, _) =
            ops::list_principals(&state.store, &tenant.account_id, STATUSES[group], None, start, need).await?;
        if found.len() > need as usize {
            page.extend(found.into_iter().take(need as usize));
            more = true;
            break;
        }
        page.extend(found);
        group += 1;
    }
    let mut users = Vec::with_capacity(page.len());
    for principal in &page {
        users.push(user_view(&state, &tenant, principal).await?);
    }
    let next_after = match page.last() {
        Some(last) if more => json!(format!("{}:{}", last.status.as_str(), last.email)),
        _ => Value::Null,
    };
    Ok(Json(json!({"users": users, "next_after": next_after})))
}

fn parse_limit(raw: Option<&str>) -> Result<u32> {
    let Some(raw) = raw else { return Ok(DEFAULT_LIMIT) };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ControlError::invalid(format!("limit must be a whole number from 1 to {MAX_LIMIT}, got \"{raw}\""))),
    }
}

/// `<status>:<email>` (a `next_after`) → the status group to continue in and the email after which.
fn parse_cursor(cursor: &str) -> Result<(usize, String)> {
    let bad = || ControlError::invalid("after must be a next_after this endpoint returned");
    let (status, email) = cursor.split_once(':').ok_or_else(bad)?;
    let status = Status::parse(status).ok_or_else(bad)?;
    let group = STATUSES.iter().position(|s| *s == status).ok_or_else(bad)?;
    Ok((group, email.to_owned()))
}

/// What the tenant's provider declares (its session kinds and revocation scopes).
fn provider_of(tenant: &Tenant) -> Result<&'static ProviderSpec> {
    crate::api::providers::named(tenant.provider.as_str()).ok_or_else(|| {
        ControlError::from(crate::domain::Error::Internal(format!("unknown provider {}", tenant.provider.as_str())))
    })
}

/// One user with their live sessions per kind and live device registrations.
async fn user_view(state: &AppState, tenant: &Tenant, principal: &Principal) -> Result<Value> {
    let devices = ops::list_devices(&state.store, &tenant.account_id, Some(&principal.id)).await?;
    let mut sessions = Map::new();
    let admin = Actor::admin();
    let ctx = ops::Ctx::new(&state.store, &state.clock, tenant, &admin);
    for &spec in provider_of(tenant)?.sessions {
        // Only an active user's sessions are live, whatever their epoch.
        let live = if principal.status != Status::Active {
            0
        } else {
            let tokens = ops::live_sessions(ctx, principal, spec).await?;
            // A session on a device also dies with its registration (revoked, or revoked since).
            tokens
                .iter()
                .filter(|t| {
                    t.device_generation.is_none()
                        || devices.iter().any(|d| {
                            Some(&d.id) == t.subject.as_ref()
                                && d.revoked_at.is_none()
                                && t.device_generation.unwrap_or(0) == d.generation
                        })
                })
                .count()
        };
        sessions.insert(spec.kind.as_str().to_owned(), json!(live));
    }
    Ok(json!({
        "id": principal.id,
        "email": principal.email,
        "name": principal.display_name(),
        "role": principal.role,
        "status": principal.status.as_str(),
        "sessions": sessions,
        "devices": devices.iter().filter(|d| d.revoked_at.is_none()).count(),
    }))
}

/// `POST /tenants/{tenant}/users/{user}/{action}` (`user`: an id or an email):
/// - `revoke` ends every session of the user: on Zoom what `DELETE /users/{id}/token`
///   does, on Cloudflare what `revoke_user` with `warp_session_reauth` does (Access and
///   WARP sessions; device registrations are left as they are);
/// - `deactivate` / `activate` what Zoom's `PUT /users/{id}/status` does: deactivating
///   ends every session, activating revives none. A pending user is refused (409), and a
///   user already in that status is left alone (no journal record).
///
/// Answers `{"user": <as listed>, "changed": bool}`.
#[utoipa::path(post, operation_id = "act_on_user", path = "/_userplane/tenants/{tenant}/users/{user}/{action}", tag = "users",
    params(("tenant" = String, Path, description = "The tenant's account id"), ("user" = String, Path, description = "The user's id or email"),
        ("action" = String, Path, pattern = "^(revoke|deactivate|activate)$", description = "`revoke`, `deactivate` or `activate`")),
    responses((status = 200, description = "The user after the action", body = UserActionResult), (status = 400, description = "Invalid request", body = ErrorBody), (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 404, description = "No such tenant, user or action", body = ErrorBody),
        (status = 409, description = "A pending user cannot be activated or deactivated", body = ErrorBody)))]
pub async fn act(
    State(state): State<AppState>,
    Path((tenant, user, action)): Path<(String, String, String)>,
) -> Result<Json<Value>> {
    let tenant = ops::get_tenant(&state.store, &tenant).await?;
    let principal = ops::resolve_principal(&state.store, &tenant.account_id, &user).await?;
    let actor = Actor::admin();
    let store = &state.store;
    let ctx = ops::Ctx::new(&state.store, &state.clock, &tenant, &actor);
    let changed = match action.as_str() {
        "revoke" => {
            // The sessions, and every named scope the provider has (WARP, for Cloudflare).
            let scopes = provider_of(&tenant)?.scopes;
            if scopes.is_empty() {
                ops::revoke_sessions(ctx, &principal.id, InactiveReason::SessionsRevoked).await?;
            } else {
                let what = RevokeAccess { devices: false, scopes: scopes.iter().map(|&s| (s, true)).collect() };
                ops::revoke_user_access(ctx, &principal.email, None, what).await?;
            }
            true
        }
        "deactivate" | "activate" => {
            let status = if action == "activate" { Status::Active } else { Status::Inactive };
            if principal.status == Status::Pending {
                return Err(ControlError::new(
                    StatusCode::CONFLICT,
                    "refused",
                    format!(
                        "{} has not accepted the invitation yet; a pending user cannot be {action}d",
                        principal.email
                    ),
                ));
            }
            let changed = principal.status != status;
            if changed {
                ops::set_status(ctx, &principal.id, status, provider_of(&tenant)?.on_deactivate).await?;
            }
            changed
        }
        other => {
            return Err(ControlError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no user action \"{other}\" (revoke, deactivate, activate)"),
            ));
        }
    };
    let after = ops::resolve_principal(store, &tenant.account_id, &principal.id).await?;
    Ok(Json(json!({"user": user_view(&state, &tenant, &after).await?, "changed": changed})))
}
