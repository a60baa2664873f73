//! The session-cutting calls and their neighbours: revoke the SSO token, update the
//! status, get a user's token or ZAK.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ZoomError;
use super::auth::Caller;
use super::extract::{FormsAccepted, ZoomJson, ZoomQuery};
use super::operations as op;
use super::provider;
use crate::domain::ops;
use crate::domain::{InactiveReason, Status};
use crate::state::AppState;
use crate::api::body::Field;

type Result<T> = std::result::Result<T, ZoomError>;

/// `DELETE /users/{userId}/token`: logs the user out of every SSO session and ZAK.
/// One epoch increment, whatever the number of sessions.
pub async fn revoke_sso_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::REVOKE_SSO_TOKEN, &user_id).await?;
    ops::revoke_sessions(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        &user.id,
        InactiveReason::SessionsRevoked,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of `PUT /users/{userId}/status`.
#[derive(Deserialize)]
pub struct StatusChange {
    #[serde(default)]
    action: Field<String>,
}

/// `PUT /users/{userId}/status` with `action` activate or deactivate, as JSON,
/// multipart/form-data or urlencoded. 204.
pub async fn update_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: ZoomJson<StatusChange, FormsAccepted>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::UPDATE_STATUS, &user_id).await?;
    let request = body.read().await?;
    let status = match request.action.valid().as_deref() {
        Some("activate") => Status::Active,
        Some("deactivate") => Status::Inactive,
        Some("clock_in" | "clock_out") => {
            return Err(ZoomError::bad_request(200, "Zoom Workforce Management is not enabled for this user."));
        }
        _ => return Err(ZoomError::validation(["action"])),
    };
    if user.flag("zoom_room") || user.role == "owner" || user.role == "admin" {
        return Err(ZoomError::bad_request(
            200,
            "Zoom Room and Admin users' status cannot be activated or deactivated.",
        ));
    }
    if user.status == Status::Pending {
        return Err(ZoomError::bad_request(
            200,
            format!(
                "User {user_id} has not accepted the invitation yet; a pending user cannot be activated or deactivated."
            ),
        ));
    }
    if status == Status::Inactive && user.flag("upcoming_events") {
        return Err(ZoomError::bad_request(
            300,
            "You cannot deactivate this user because the user has an upcoming Zoom Events scheduled.",
        ));
    }
    if user.status != status {
        ops::set_status(
            ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
            &user.id,
            status,
            provider::SPEC.on_deactivate,
        )
        .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The query of `GET /users/{userId}/token`.
#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    ttl: Option<String>,
    meeting_id: Option<String>,
}

/// `GET /users/{userId}/token?type=zak|token&ttl=`: issues a ZAK (or the deprecated user
/// token). Both die when the user's sessions are revoked.
pub async fn get_user_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    query: ZoomQuery<TokenQuery>,
) -> Result<Json<Value>> {
    let user = caller.target(&state, &op::GET_USER_TOKEN, &user_id).await?;
    let query = query.read()?;
    let default_ttl = match query.kind.as_deref().unwrap_or("token") {
        "zak" => 7_200,
        "token" => 14 * 86_400,
        "onbehalf" => {
            if query.meeting_id.as_deref().is_none_or(str::is_empty) {
                return Err(ZoomError::validation(["meeting_id"]));
            }
            7_200
        }
        _ => return Err(ZoomError::validation(["type"])),
    };
    let ttl_seconds = match query.ttl {
        None => default_ttl,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|t| (1..=31_536_000).contains(t))
            .ok_or_else(|| ZoomError::validation(["ttl"]))?,
    };
    issue_zak(&state, &caller, &user, ttl_seconds * 1000).await
}

/// `GET /users/me/zak`: a ZAK for the caller's own user, valid five minutes.
pub async fn get_my_zak(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    let user = caller.target(&state, &op::GET_ZAK, "me").await.map_err(|err| {
        if err.code == 1001 {
            ZoomError::bad_request(1001, "User me does not exist or does not belong to this account.")
        } else {
            err
        }
    })?;
    issue_zak(&state, &caller, &user, 5 * 60 * 1000).await
}

async fn issue_zak(
    state: &AppState,
    caller: &Caller,
    user: &crate::domain::Principal,
    ttl_ms: i64,
) -> Result<Json<Value>> {
    if user.status != Status::Active {
        return Err(ZoomError::bad_request(200, format!("User {} is not active.", user.email)));
    }
    let ttl_ms = ttl_ms.min(provider::ZAK.ttl_ms.max(ttl_ms));
    let (token, _) = ops::issue_token(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        &provider::ZAK,
        Some(user),
        None,
        vec![],
        ttl_ms,
        None,
    )
    .await?;
    Ok(Json(json!({"token": token})))
}
