//! Users: list, create, get, update, delete, check an email, the account summary.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::auth::{Caller, daily_limit};
use super::extract::{ZoomJson, ZoomQuery};
use super::operations::{self as op, Label};
use super::{ZoomError, views};
use crate::api::body::{Field, Object, WithKeys};
use crate::domain::tenant::normalize_email;
use crate::domain::{Error, NewPrincipal, Principal, Status, ops};
use crate::state::AppState;

type Result<T> = std::result::Result<T, ZoomError>;

const PAGE_TOKEN_TTL_MS: i64 = 15 * 60 * 1000;
/// `page_size`: 30 unless given; larger values are taken as this, Zoom's maximum.
const DEFAULT_PAGE_SIZE: u32 = 30;
const MAX_PAGE_SIZE: u32 = 2000;
/// The highest `page_number` taken (Zoom's integers are int32).
const MAX_PAGE_NUMBER: u32 = i32::MAX as u32;
/// The longest `after` a page token may carry (an email is at most 128 bytes).
const MAX_TOKEN_AFTER: usize = 256;

/// What a `next_page_token` carries: the filter, where the last page ended, and when it
/// was issued (tokens expire after 15 minutes, as Zoom's do). A client can forge one of
/// its own account, so every field is checked as if it came from the query.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PageToken {
    account: String,
    status: String,
    role: Option<String>,
    after: String,
    page: u32,
    issued: i64,
}

fn encode_page_token(token: &PageToken) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(token).unwrap_or_default())
}

pub fn decode_page_token(raw: &str) -> Option<PageToken> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).ok()?).ok()
}

fn invalid_page_token() -> ZoomError {
    ZoomError::bad_request(300, "The next page token is invalid or expired.")
}

/// Zoom's `role_id` as the role userplane stores.
fn role_named(role_id: &str) -> Option<&'static str> {
    match role_id {
        "0" => Some("owner"),
        "1" => Some("admin"),
        "2" => Some("member"),
        _ => None,
    }
}

/// What a list request asks for, each part in range.
struct ListRequest {
    status: Status,
    role_id: Option<String>,
    start: ops::PageStart,
    page_number: u32,
}

/// Reads a page token: of this account, unexpired, and every field in range.
fn from_page_token(raw: &str, account: &str, now: i64) -> Result<ListRequest> {
    let token = decode_page_token(raw).ok_or_else(invalid_page_token)?;
    let age = now.checked_sub(token.issued);
    let fresh = age.is_some_and(|age| (-60_000..=PAGE_TOKEN_TTL_MS).contains(&age));
    let status = Status::parse(&token.status);
    let role_ok = token.role.as_deref().is_none_or(|r| role_named(r).is_some());
    let page_ok = (2..=MAX_PAGE_NUMBER).contains(&token.page);
    match status {
        Some(status)
            if token.account == account && fresh && role_ok && page_ok && token.after.len() <= MAX_TOKEN_AFTER =>
        {
            Ok(ListRequest {
                status,
                role_id: token.role,
                start: ops::PageStart::After(token.after),
                page_number: token.page,
            })
        }
        _ => Err(invalid_page_token()),
    }
}

/// The query of `GET /users`; each part is checked in [`list_users`].
#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    role_id: Option<String>,
    page_size: Option<String>,
    page_number: Option<String>,
    next_page_token: Option<String>,
}

/// Reads `status`, `role_id` and `page_number` from the query.
fn from_query(query: &ListQuery, page_size: u32) -> Result<ListRequest> {
    let status = match &query.status {
        None => Status::Active,
        Some(raw) => Status::parse(raw).ok_or_else(|| ZoomError::validation(["status"]))?,
    };
    let role_id = query.role_id.clone().filter(|r| !r.is_empty());
    if role_id.as_deref().is_some_and(|r| role_named(r).is_none()) {
        return Err(ZoomError::validation(["role_id"]));
    }
    let page_number = match &query.page_number {
        None => 1,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_NUMBER).contains(n))
            .ok_or_else(|| ZoomError::validation(["page_number"]))?,
    };
    // Both factors are u32: the product fits in u64.
    let skip = u64::from(page_number - 1) * u64::from(page_size);
    Ok(ListRequest { status, role_id, start: ops::PageStart::Skip(skip), page_number })
}

/// `page_size`: 30 unless given; at least 1; larger than 2000 is taken as 2000.
fn page_size(raw: Option<&str>) -> Result<u32> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(raw) => match raw.parse::<u64>() {
            Ok(n) if n >= 1 => Ok(u32::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
            _ => Err(ZoomError::validation(["page_size"])),
        },
    }
}

/// `GET /users`: `status` (active by default), `role_id`, `page_size` (30, at most
/// 2000), `next_page_token` or the deprecated `page_number` (1 to 2^31 - 1). A page
/// costs its size, however deep: the total comes from counters, a page number's start
/// from the index, a page token's from its last email.
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    query: ZoomQuery<ListQuery>,
) -> Result<Response> {
    caller.allow(&state, &op::LIST_USERS).await?;
    let query = query.read()?;
    let now = caller.tenant.now(&state.clock);
    let account = caller.tenant.account_id.clone();

    let page_size = page_size(query.page_size.as_deref())?;
    let request = match query.next_page_token.as_deref().filter(|t| !t.is_empty()) {
        Some(raw) => from_page_token(raw, &account, now)?,
        None => from_query(&query, page_size)?,
    };
    let role = request.role_id.as_deref().and_then(role_named).map(str::to_owned);
    let (mut page, total) =
        ops::list_principals(&state.store, &account, request.status, role, request.start, page_size).await?;
    let has_more = page.len() > page_size as usize;
    page.truncate(page_size as usize);

    let next_page_token = match (has_more, page.last()) {
        (true, Some(last)) => encode_page_token(&PageToken {
            account: account.clone(),
            status: request.status.as_str().to_owned(),
            role: request.role_id.clone(),
            after: last.email.clone(),
            page: request.page_number.saturating_add(1).min(MAX_PAGE_NUMBER),
            issued: now,
        }),
        _ => String::new(),
    };
    let page_count = u64::try_from(total).unwrap_or(0).div_ceil(u64::from(page_size));
    let users = page.iter().map(|p| views::list_item(p, now)).collect();
    let page = UserPage {
        next_page_token,
        page_count,
        page_number: request.page_number,
        page_size,
        total_records: total,
        users,
    };
    Ok(Json(page).into_response())
}

/// A page of `GET /users`, its fields in the order Zoom's (sorted) body has them.
#[derive(Serialize)]
struct UserPage<'a> {
    next_page_token: String,
    page_count: u64,
    page_number: u32,
    page_size: u32,
    total_records: i64,
    users: Vec<views::Object<'a>>,
}

/// The body of `POST /users`.
#[derive(Deserialize)]
pub struct CreateUser {
    #[serde(default)]
    action: Field<String>,
    #[serde(default)]
    user_info: Field<Object<UserInfo>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct UserInfo {
    email: Field<String>,
    #[serde(rename = "type")]
    user_type: Field<i64>,
    first_name: Field<String>,
    last_name: Field<String>,
    display_name: Field<String>,
    password: Field<String>,
}

/// A `POST /users` body, every field checked: the new principal's parts, or 300 naming
/// each offending field.
struct NewUser {
    action: String,
    email: String,
    user_type: i64,
    first_name: String,
    last_name: String,
    display_name: Option<String>,
}

fn checked_new_user(request: CreateUser) -> Result<NewUser> {
    let mut errors = Vec::new();
    let action = request.action.valid().unwrap_or_default();
    if !["create", "autoCreate", "custCreate", "ssoCreate"].contains(&action.as_str()) {
        errors.push("action".to_owned());
    }
    let (info, has_info) = match request.user_info {
        Field::Valid(Object(info)) => (info, true),
        _ => {
            errors.push("user_info".to_owned());
            (UserInfo::default(), false)
        }
    };
    let email = info.email.valid().as_deref().and_then(normalize_email);
    if email.is_none() && has_info {
        errors.push("user_info.email".to_owned());
    }
    let user_type = info.user_type.valid();
    let type_ok = matches!(user_type, Some(1 | 2 | 4)) || (user_type == Some(99) && action == "ssoCreate");
    if !type_ok && has_info {
        errors.push("user_info.type".to_owned());
    }
    let first_name = info.first_name.text("user_info.first_name", 64, &mut errors).unwrap_or_default();
    let last_name = info.last_name.text("user_info.last_name", 64, &mut errors).unwrap_or_default();
    let display_name = info.display_name.text("user_info.display_name", 128, &mut errors);
    if !errors.is_empty() {
        return Err(ZoomError::validation(errors));
    }
    if action == "autoCreate" {
        let password = info.password.valid().unwrap_or_default();
        if !(8..=32).contains(&password.chars().count()) {
            return Err(ZoomError::bad_request(300, "Invalid parameter: password"));
        }
    }
    let (Some(email), Some(user_type)) = (email, user_type) else {
        return Err(ZoomError::validation(["user_info.email"]));
    };
    Ok(NewUser { action, email, user_type, first_name, last_name, display_name })
}

/// `POST /users`: `action` create (pending until the invitation is accepted),
/// autoCreate, custCreate or ssoCreate; `user_info` with email and type.
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: ZoomJson<CreateUser>,
) -> Result<Response> {
    caller.allow(&state, &op::CREATE_USER).await?;
    let NewUser { action, email, user_type, first_name, last_name, display_name } =
        checked_new_user(body.read().await?)?;
    if action == "create" && caller.tenant.rate_limits {
        let now = caller.tenant.now(&state.clock);
        let cap = op::create_user_daily_cap(&caller.tenant.plan);
        let key = crate::limits::window_key(&caller.tenant.account_id, "zoom:create_user:day");
        if !state.limits.hit(&key, 86_400_000, cap, now).await.allowed {
            return Err(daily_limit(Label::Light, cap, now));
        }
    }
    let id = super::ids::random_id();
    let mut attributes = Map::new();
    attributes.insert("pmi".into(), json!(super::ids::pmi(&id)));
    if let Some(display_name) = display_name {
        attributes.insert("display_name".into(), json!(display_name));
    }
    if action == "ssoCreate" {
        attributes.insert("sso".into(), json!(true));
    }
    let new = NewPrincipal {
        id,
        email,
        first_name,
        last_name,
        license: user_type,
        role: "member".into(),
        status: if action == "create" { Status::Pending } else { Status::Active },
        attributes,
    };
    let taken = new.email.clone();
    let created = ops::create_principal(ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor), new)
        .await
        .map_err(|e| match e {
            Error::Conflict(_) => ZoomError::email_taken(&taken),
            other => other.into(),
        })?;
    let body = json!({
        "id": created.id,
        "first_name": created.first_name,
        "last_name": created.last_name,
        "email": created.email,
        "type": created.license,
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /users/{userId}`.
pub async fn get_user(State(state): State<AppState>, caller: Caller, Path(user_id): Path<String>) -> Result<Response> {
    let user = caller.target(&state, &op::GET_USER, &user_id).await?;
    let now = caller.tenant.now(&state.clock);
    Ok(views::user(&user, &caller.tenant, now).into_response())
}

/// The profile's free-text fields and their longest values, in Zoom's order.
const PROFILE_TEXT: &[(&str, usize)] = &[
    ("display_name", 128),
    ("timezone", 64),
    ("language", 32),
    ("dept", 64),
    ("company", 255),
    ("job_title", 128),
    ("location", 256),
    ("manager", 128),
    ("cost_center", 128),
    ("pronouns", 128),
    ("vanity_name", 64),
    ("about_me", 150),
    ("linkedin_url", 256),
    ("cms_user_id", 64),
    ("group_id", 64),
];

/// A PMI as a number or as digits in a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Pmi {
    Number(i64),
    Digits(String),
}

/// The body of `PATCH /users/{userId}`: any subset; other fields are ignored.
#[derive(Deserialize)]
pub struct UpdateUser {
    #[serde(default)]
    first_name: Field<String>,
    #[serde(default)]
    last_name: Field<String>,
    #[serde(default)]
    host_key: Field<String>,
    #[serde(default, rename = "type")]
    user_type: Field<i64>,
    #[serde(default)]
    pmi: Field<Pmi>,
    #[serde(default)]
    use_pmi: Field<bool>,
    #[serde(default)]
    pronouns_option: Field<i64>,
    #[serde(default)]
    phone_numbers: Field<Vec<Value>>,
    #[serde(default)]
    custom_attributes: Field<Vec<Value>>,
    #[serde(default)]
    division_ids: Field<Vec<Value>>,
    /// The [`PROFILE_TEXT`] fields (and any other), each a string or not.
    #[serde(flatten)]
    text: std::collections::HashMap<String, Field<String>>,
}

/// What a `PATCH` changes, every field checked.
struct ProfileChange {
    first_name: Option<String>,
    last_name: Option<String>,
    new_type: Option<i64>,
    /// Attributes to set (`vanity_name` becomes `vanity_url`).
    profile: Map<String, Value>,
}

fn checked_profile_change(mut request: UpdateUser) -> Result<ProfileChange> {
    let mut errors = Vec::new();
    let first_name = request.first_name.text("first_name", 64, &mut errors);
    let last_name = request.last_name.text("last_name", 64, &mut errors);
    let mut profile = Map::new();
    for (name, max) in PROFILE_TEXT {
        if let Some(value) = request.text.remove(*name).and_then(|f| f.text(name, *max, &mut errors)) {
            profile.insert((*name).into(), json!(value));
        }
    }
    if let Some(host_key) = request.host_key.text("host_key", 10, &mut errors) {
        if (6..=10).contains(&host_key.len()) && host_key.chars().all(|c| c.is_ascii_digit()) {
            profile.insert("host_key".into(), json!(host_key));
        } else {
            errors.push("host_key".into());
        }
    }
    let new_type = request.user_type.check("type", &mut errors, |t| matches!(t, 1 | 2 | 4));
    let pmi = match request.pmi {
        Field::Absent => None,
        Field::Valid(Pmi::Number(n)) => Some(Some(n)),
        Field::Valid(Pmi::Digits(digits)) => Some(digits.parse::<i64>().ok()),
        Field::Invalid => Some(None),
    };
    match pmi {
        None => {}
        Some(Some(pmi)) if (1_000_000_000..10_000_000_000).contains(&pmi) => {
            profile.insert("pmi".into(), json!(pmi));
        }
        Some(_) => errors.push("pmi".into()),
    }
    if let Some(use_pmi) = request.use_pmi.check("use_pmi", &mut errors, |_| true) {
        profile.insert("use_pmi".into(), json!(use_pmi));
    }
    if let Some(n) = request.pronouns_option.check("pronouns_option", &mut errors, |n| (1..=3).contains(n)) {
        profile.insert("pronouns_option".into(), json!(n));
    }
    for (name, field, max) in [
        ("phone_numbers", request.phone_numbers, 3),
        ("custom_attributes", request.custom_attributes, 5),
        ("division_ids", request.division_ids, 100),
    ] {
        if let Some(items) = field.check(name, &mut errors, |items| items.len() <= max) {
            profile.insert(name.into(), json!(items));
        }
    }
    if !errors.is_empty() {
        return Err(ZoomError::validation(errors));
    }
    Ok(ProfileChange { first_name, last_name, new_type, profile })
}

/// `PATCH /users/{userId}`: any subset of the profile; 204.
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    body: ZoomJson<WithKeys<UpdateUser>>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::UPDATE_USER, &user_id).await?;
    let WithKeys { keys: changed, value: request } = body.read().await?;
    let ProfileChange { first_name, last_name, new_type, mut profile } = checked_profile_change(request)?;
    if let Some(new_type) = new_type {
        if user.flag("zoom_room") && new_type == 1 {
            return Err(ZoomError::bad_request(200, "Zoom Room user's type cannot be changed to Basic."));
        }
        if user.flag("upcoming_events") && new_type == 1 && user.license != 1 {
            return Err(ZoomError::bad_request(
                300,
                "You cannot change the user type to \"Basic\" because the user has an upcoming Zoom Events scheduled.",
            ));
        }
    }
    ops::update_principal(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor),
        &user.id,
        "user.updated",
        move |p| {
            if let Some(first_name) = first_name {
                p.first_name = first_name;
            }
            if let Some(last_name) = last_name {
                p.last_name = last_name;
            }
            if let Some(new_type) = new_type {
                p.license = new_type;
            }
            if let Some(vanity) = profile.remove("vanity_name") {
                p.attributes.insert(
                    "vanity_url".into(),
                    json!(format!("https://zoom.us/my/{}", vanity.as_str().unwrap_or(""))),
                );
            }
            p.attributes.extend(profile);
            Ok(json!({"fields": changed}))
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of `DELETE /users/{userId}`.
#[derive(Deserialize)]
pub struct DeleteQuery {
    action: Option<String>,
    transfer_email: Option<String>,
}

/// `DELETE /users/{userId}`: `action` disassociate (the default) or delete. Either way
/// the user leaves this account, and every session of theirs dies with it.
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(user_id): Path<String>,
    query: ZoomQuery<DeleteQuery>,
) -> Result<StatusCode> {
    let user = caller.target(&state, &op::DELETE_USER, &user_id).await?;
    let query = query.read()?;
    let action = query.action.as_deref().unwrap_or("disassociate");
    if !["disassociate", "delete"].contains(&action) {
        return Err(ZoomError::validation(["action"]));
    }
    if user.role == "owner" {
        return Err(ZoomError::bad_request(200, "Cannot delete the account owner."));
    }
    if user.flag("zoom_room") {
        return Err(ZoomError::bad_request(200, "Cannot delete a Zoom Rooms user"));
    }
    if user.role == "admin" && action == "disassociate" {
        return Err(ZoomError::bad_request(1117, "You can not disassociate an Admin user."));
    }
    if let Some(transfer) = query.transfer_email.as_deref().filter(|t| !t.is_empty()) {
        if transfer.eq_ignore_ascii_case(&user.email) {
            return Err(ZoomError::bad_request(300, "The transfer email cannot be the same as the user's email."));
        }
        ops::resolve_principal(&state.store, &caller.tenant.account_id, transfer)
            .await
            .map_err(|e| ZoomError::unless_not_found(e, || ZoomError::user_not_found(transfer)))?;
    } else if user.flag("upcoming_events") {
        return Err(ZoomError::bad_request(
            300,
            "The user has upcoming Zoom Events or Sessions; transfer_email is required.",
        ));
    }
    ops::delete_principal(ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor), &user.id, action)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The query of `GET /users/email`.
#[derive(Deserialize)]
pub struct EmailQuery {
    email: Option<String>,
}

/// `GET /users/email?email=`: whether an email is taken in this account.
pub async fn check_email(
    State(state): State<AppState>,
    caller: Caller,
    query: ZoomQuery<EmailQuery>,
) -> Result<Json<Value>> {
    caller.allow(&state, &op::CHECK_EMAIL).await?;
    let query = query.read()?;
    let email =
        query.email.filter(|e| !e.is_empty()).ok_or_else(|| ZoomError::bad_request(300, "Email is required."))?;
    let email = normalize_email(&email).ok_or_else(|| ZoomError::validation(["email"]))?;
    let existed = match ops::resolve_principal(&state.store, &caller.tenant.account_id, &email).await {
        Ok(_) => true,
        Err(Error::NotFound { .. }) => false,
        Err(err) => return Err(err.into()),
    };
    Ok(Json(json!({"existed_email": existed})))
}

/// `GET /users/summary`: how many users of each kind.
pub async fn summary(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>> {
    caller.allow(&state, &op::USER_SUMMARY).await?;
    let users = ops::all_principals(&state.store, &caller.tenant.account_id).await?;
    let count = |f: &dyn Fn(&Principal) -> bool| users.iter().filter(|p| f(p)).count();
    let counted = |p: &Principal| p.status != Status::Pending && !p.flag("zoom_room");
    Ok(Json(json!({
        "licensed_users_count": count(&|p| counted(p) && p.license == 2),
        "basic_users_count": count(&|p| counted(p) && p.license == 1),
        "on_prem_users_count": 0,
        "room_users_count": count(&|p| p.flag("zoom_room")),
        "pending_users_count": count(&|p| p.status == Status::Pending),
        "join_only_users_count": count(&|p| counted(p) && p.license == 4),
        "total_users_count": users.len(),
    })))
}
