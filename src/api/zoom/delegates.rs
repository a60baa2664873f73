//! Assistants (users who schedule for a user) and the inverse, schedulers (users an
//! assistant schedules for): one delegation relation seen from both ends.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ZoomError;
use super::auth::Caller;
use super::extract::ZoomJson;
use super::operations as op;
use crate::api::body::{Field, Object};
use crate::domain::clock::rfc3339;
use crate::domain::{Principal, ops};
use crate::state::AppState;

type Result<T> = std::result::Result<T, ZoomError>;

/// At most this many assistants per request and per listing.
const MAX_ASSISTANTS: usize = 30;

/// `GET /users/{userId}/assistants`.
pub async fn list_assistants(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    let user = caller.target(&state, &op::LIST_ASSISTANTS, &user_id).await?;
    let delegates = ops::delegates_of(&state.store, &caller.tenant.account_id, &user.id).await?;
    let assistants: Vec<Value> = delegates
        .iter()
        .take(MAX_ASSISTANTS)
        .map(|(d, p)| json!({"id": p.id, "email": p.email, "can_manage_host_private_event": d.can_manage_host_private_event}))
        .collect();
    Ok(Json(json!({"assistants": assistants})))
}

/// The body of `POST /users/{userId}/assistants`.
#[derive(Deserialize)]
pub struct AddAssistants {
    #[serde(default)]
    assistants: Field<Vec<Field<Object<AssistantEntry>>>>,
}

/// One assistant to add: by id (or, if `id` is not a string, by email).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AssistantEntry {
    id: Field<String>,
    email: Field<String>,
    can_manage_host_private_event: Field<bool>,
}

impl AssistantEntry {
    fn key(&self) -> Option<&str> {
        let id = self.id.as_valid().or_else(|| self.email.as_valid());
        id.map(String::as_str).filter(|k| !k.is_empty())
    }
}

/// `POST /users/{userId}/assistants` `{"assistants": [{"id"|"email", "can_manage_host_private_event"?}]}`:
/// all or nothing; 201 `{"ids": "id1,id2", "add_at"}`.
pub async fn add_assistants(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: ZoomJson<AddAssistants>,
) -> Result<Response> {
    let user = caller.target(&state, &op::ADD_ASSISTANTS, &user_id).await?;
    let request = body.read().await?;
    let entries = match request.assistants {
        Field::Valid(entries) if !entries.is_empty() && entries.len() <= MAX_ASSISTANTS => entries,
        _ => return Err(ZoomError::validation(["assistants"])),
    };
    if caller.tenant.plan == "free" {
        return Err(ZoomError::bad_request(200, format!("Current account must be paid account: {user_id}")));
    }
    if user.license != 2 {
        return Err(ZoomError::bad_request(
            200,
            format!("The user must either be a Licensed user or an On-prem user : {user_id}."),
        ));
    }
    let account = caller.tenant.account_id.clone();
    let existing = ops::delegates_of(&state.store, &account, &user.id).await?;
    let mut to_add: Vec<(Principal, bool)> = Vec::new();
    for (i, entry) in entries.into_iter().enumerate() {
        let entry = match entry {
            Field::Valid(Object(entry)) => entry,
            _ => AssistantEntry::default(),
        };
        let key = entry.key().ok_or_else(|| ZoomError::validation([format!("assistants[{i}]")]))?;
        let can_manage = matches!(entry.can_manage_host_private_event, Field::Valid(true));
        let assistant = ops::resolve_principal(&state.store, &account, key).await.map_err(|e| {
            ZoomError::unless_not_found(e, || ZoomError::bad_request(200, format!("Can't find user {key}.")))
        })?;
        if assistant.id == user.id {
            return Err(ZoomError::bad_request(200, "Can't assign scheduling privilege to yourself."));
        }
        if existing.iter().any(|(_, p)| p.id == assistant.id) {
            return Err(ZoomError::bad_request(
                200,
                format!("User {} has already granted scheduling privilege.", assistant.email),
            ));
        }
        if assistant.license != 2 {
            return Err(ZoomError::bad_request(
                200,
                format!("The user must either be a Licensed user or an On-prem user : {}.", assistant.email),
            ));
        }
        if existing.len() + to_add.len() >= MAX_ASSISTANTS {
            return Err(ZoomError::validation(["assistants"]));
        }
        if !to_add.iter().any(|(p, _)| p.id == assistant.id) {
            to_add.push((assistant, can_manage));
        }
    }
    let pairs = to_add.iter().map(|(p, can)| (p.id.clone(), *can)).collect();
    let added =
        ops::add_delegates(ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor), &user.id, pairs)
            .await?;
    let now = caller.tenant.now(&state.clock);
    Ok((StatusCode::CREATED, Json(json!({"ids": added.join(","), "add_at": rfc3339(now)}))).into_response())
}

/// `DELETE /users/{userId}/assistants`: removes every assistant (and the user leaves
/// each of those assistants' schedulers).
pub async fn delete_assistants(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::DELETE_ASSISTANTS, &user_id).await?;
    ops::remove_delegations(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        Some(&user.id),
        None,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{userId}/assistants/{assistantId}`: 204, also when the assistant was
/// not (or no longer) assigned; 404 if no such user exists.
pub async fn delete_assistant(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, assistant_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::DELETE_ASSISTANTS, &user_id).await?;
    let assistant = ops::resolve_principal(&state.store, &caller.tenant.account_id, &assistant_id)
        .await
        .map_err(|e| ZoomError::unless_not_found(e, || ZoomError::user_not_found(&assistant_id)))?;
    ops::remove_delegations(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        Some(&user.id),
        Some(&assistant.id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/{userId}/schedulers`: the users this user is an assistant of.
pub async fn list_schedulers(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    let user = caller.target(&state, &op::LIST_SCHEDULERS, &user_id).await?;
    let principals = ops::delegators_of(&state.store, &caller.tenant.account_id, &user.id).await?;
    let schedulers: Vec<Value> = principals
        .iter()
        .take(MAX_ASSISTANTS)
        .map(
            |(_, p)| json!({"id": p.id, "email": p.email, "pmi": p.attributes.get("pmi").cloned().unwrap_or(json!(0))}),
        )
        .collect();
    Ok(Json(json!({"schedulers": schedulers})))
}

/// `DELETE /users/{userId}/schedulers`: the user stops being anybody's assistant.
pub async fn delete_schedulers(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::DELETE_SCHEDULERS, &user_id).await?;
    ops::remove_delegations(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        None,
        Some(&user.id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /users/{userId}/schedulers/{schedulerId}`.
pub async fn delete_scheduler(
    State(state): State<AppState>,
    caller: Caller,
    Path((user_id, scheduler_id)): Path<(String, String)>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::DELETE_SCHEDULERS, &user_id).await?;
    let scheduler = ops::resolve_principal(&state.store, &caller.tenant.account_id, &scheduler_id)
        .await
        .map_err(|e| ZoomError::unless_not_found(e, || ZoomError::user_not_found(&scheduler_id)))?;
    ops::remove_delegations(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        Some(&scheduler.id),
        Some(&user.id),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
