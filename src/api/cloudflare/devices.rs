//! Devices: the legacy `devices` endpoints (deprecated at Cloudflare, still used), and the
//! current `physical-devices` and `registrations` (token-only, cursor-paginated).
//!
//! userplane stores registrations (a user's enrolment of a device); a physical device is
//! the group of registrations sharing a device id. Legacy device ids are registration
//! ids. Revoking a registration kills the WARP sessions on it; un-revoking lets the
//! device log in again, and revives none of those sessions.
//!
//! Cursors are opaque keyset positions (the sort key and id of the last item), so a
//! client that revokes what it lists while paging skips nothing.

use std::collections::HashMap;

use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::auth::{Caller, Schemes, authenticate, needs};
use super::extract::{CfIdList, CfQuery, FromParams};
use super::params::Params;
use super::{CfError, Ctx, Ids, envelope};
use crate::domain::clock::rfc3339;
use crate::domain::ops::{self, DEVICE_UPDATED_AT};
use crate::domain::{Device, Principal, Timestamp};

type Result<T> = std::result::Result<T, CfError>;

/// The most ids one revoke call takes (Cloudflare's limit for the legacy body).
const MAX_IDS: usize = 200;

async fn caller(ctx: &Ctx, ids: &Ids, schemes: Schemes, needs: &[&str]) -> Result<Caller> {
    let caller = authenticate(ctx, schemes).await?;
    caller.authorize(ctx, &ids.scope()).await?;
    caller.require(needs)?;
    Ok(caller)
}

/// The tenant's registrations and their users.
async fn world(ctx: &Ctx, caller: &Caller) -> Result<(Vec<Device>, HashMap<String, Principal>)> {
    let account = &caller.tenant.account_id;
    let devices = ops::list_devices(&ctx.state.store, account, None).await?;
    let users = ops::all_principals(&ctx.state.store, account).await?;
    Ok((devices, users.into_iter().map(|p| (p.id.clone(), p)).collect()))
}

fn user_view(users: &HashMap<String, Principal>, id: &str) -> Value {
    match users.get(id) {
        Some(p) => {
            let name = p
                .attributes
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{} {}", p.first_name, p.last_name).trim().to_owned(), str::to_owned);
            json!({"id": p.id, "email": p.email, "name": name})
        }
        None => json!({"id": id, "email": "", "name": ""}),
    }
}

/// Cloudflare's device types from the free-form `os` of the tenant document.
fn device_type(os: &str) -> Value {
    let os = os.trim().to_ascii_lowercase();
    let known = match os.as_str() {
        "" => return Value::Null,
        "mac" | "macos" | "osx" | "darwin" => "mac",
        "windows" | "win" | "win10" | "win11" => "windows",
        "linux" | "ubuntu" | "debian" | "fedora" => "linux",
        "ios" | "ipados" | "iphone" | "ipad" => "ios",
        "android" => "android",
        "chromeos" | "chrome os" => "chromeos",
        other => other,
    };
    json!(known)
}

fn updated_at(d: &Device) -> Timestamp {
    d.attributes.get(DEVICE_UPDATED_AT).and_then(Value::as_i64).unwrap_or(d.created_at).max(d.last_seen_at.unwrap_or(0))
}

fn legacy_view(d: &Device, users: &HashMap<String, Principal>) -> Value {
    json!({
        "id": d.id,
        "name": d.name,
        "device_type": device_type(&d.os),
        "created": rfc3339(d.created_at),
        "updated": rfc3339(updated_at(d)),
        "last_seen": d.last_seen_at.map(rfc3339),
        "revoked_at": d.revoked_at.map(rfc3339),
        "deleted": false,
        "user": user_view(users, &d.principal),
    })
}

/// `GET /accounts/{id}/devices` (deprecated): every registration, revoked ones included.
pub async fn list_legacy(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOrKey, needs::DEVICES_READ).await?;
    let (devices, users) = world(&ctx, &caller).await?;
    Ok(envelope::single_page(devices.iter().map(|d| legacy_view(d, &users)).collect()))
}

/// `GET /accounts/{id}/devices/{device_id}` (deprecated).
pub async fn get_legacy(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOrKey, needs::DEVICES_READ).await?;
    let (devices, users) = world(&ctx, &caller).await?;
    let device = devices.iter().find(|d| d.id == ids.get("device_id")).ok_or_else(CfError::not_found)?;
    let mut view = legacy_view(device, &users);
    view["account"] = json!({"id": caller.tenant.account_id});
    Ok(envelope::ok(view))
}

/// Registration ids for a list of ids that may also name physical devices; an unknown
/// id is 404 12135 and nothing changes.
fn resolve_registrations(devices: &[Device], requested: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for id in requested {
        let found: Vec<&Device> = devices.iter().filter(|d| &d.id == id || &d.device_id == id).collect();
        if found.is_empty() {
            return Err(CfError::not_found());
        }
        for d in found {
            if !out.contains(&d.id) {
                out.push(d.id.clone());
            }
        }
    }
    Ok(out)
}

/// The legacy revoke body: a bare JSON array of 1 to 200 ids.
type LegacyIds = CfIdList<MAX_IDS>;

async fn set_revoked(ctx: &Ctx, caller: &Caller, requested: Vec<String>, revoked: bool) -> Result<Response> {
    let (devices, _) = world(ctx, caller).await?;
    let registrations = resolve_registrations(&devices, &requested)?;
    let state = &ctx.state;
    ops::set_devices_revoked(
        ops::Ctx::new(&state.store, &state.clock, &caller.tenant, &caller.actor()),
        registrations,
        revoked,
    )
    .await?;
    Ok(envelope::ok(Value::Null))
}

/// `POST /accounts/{id}/devices/revoke` (deprecated): body `["id", ...]`.
pub async fn revoke_legacy(ctx: Ctx, ids: Ids, body: LegacyIds) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOrKey, needs::DEVICES_WRITE).await?;
    let requested = body.read().await?;
    set_revoked(&ctx, &caller, requested, true).await
}

/// `POST /accounts/{id}/devices/unrevoke` (deprecated): body `["id", ...]`.
pub async fn unrevoke_legacy(ctx: Ctx, ids: Ids, body: LegacyIds) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOrKey, needs::DEVICES_WRITE).await?;
    let requested = body.read().await?;
    set_revoked(&ctx, &caller, requested, false).await
}

// ---------------------------------------------------------------- cursor pages

/// One listed item with its position: the sort key, then the id.
struct Positioned {
    key: String,
    id: String,
    view: Value,
}

fn time_key(at: Option<Timestamp>) -> String {
    at.map_or_else(String::new, |t| format!("{t:020}"))
}

/// The paging part of a cursor-paginated query: `per_page` (1 to 1000), `sort_order`,
/// `cursor`.
pub struct CursorQuery {
    per_page: i64,
    descending: bool,
    after: Option<(String, String)>,
}

impl CursorQuery {
    fn from_params(params: &Params, default_per_page: i64) -> Result<Self> {
        let per_page = params.int("per_page", 1, 1000)?.unwrap_or(default_per_page);
        let descending = params.choice("sort_order", &["asc", "desc"])? == Some("desc");
        let after = match params.text("cursor") {
            None => None,
            Some(cursor) => Some(decode_cursor(&cursor).ok_or_else(|| CfError::invalid("cursor is invalid"))?),
        };
        Ok(CursorQuery { per_page, descending, after })
    }
}

/// Sorts, skips past the cursor, takes a page; the next cursor is empty on the last page.
fn cursor_page(mut items: Vec<Positioned>, query: &CursorQuery) -> Response {
    let (per_page, descending) = (query.per_page, query.descending);
    let total = items.len() as i64;
    items.sort_by(|a, b| (&a.key, &a.id).cmp(&(&b.key, &b.id)));
    if descending {
        items.reverse();
    }
    if let Some((key, id)) = &query.after {
        items.retain(|i| {
            let order = (&i.key, &i.id).cmp(&(key, id));
            if descending { order.is_lt() } else { order.is_gt() }
        });
    }
    let more = items.len() as i64 > per_page;
    items.truncate(per_page as usize);
    let cursor = match (more, items.last()) {
        (true, Some(last)) => encode_cursor(&last.key, &last.id),
        _ => String::new(),
    };
    envelope::cursor_page(items.into_iter().map(|i| i.view).collect(), per_page, cursor, total)
}

fn encode_cursor(key: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(json!([key, id]).to_string())
}

fn decode_cursor(cursor: &str) -> Option<(String, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    let (key, id): (String, String) = serde_json::from_slice(&bytes).ok()?;
    Some((key, id))
}

/// `seen_after` / `seen_before` (RFC 3339): a filter on a last-seen time.
pub struct Seen {
    after: Option<Timestamp>,
    before: Option<Timestamp>,
}

impl Seen {
    fn from_params(params: &Params) -> Result<Self> {
        let parse = |name: &str| -> Result<Option<Timestamp>> {
            match params.text(name) {
                None => Ok(None),
                Some(v) => time::OffsetDateTime::parse(&v, &time::format_description::well_known::Rfc3339)
                    .map(|t| Some((t.unix_timestamp_nanos() / 1_000_000) as Timestamp))
                    .map_err(|_| CfError::invalid(format!("{name} must be an RFC 3339 timestamp"))),
            }
        };
        Ok(Seen { after: parse("seen_after")?, before: parse("seen_before")? })
    }

    fn admits(&self, seen: Option<Timestamp>) -> bool {
        self.after.is_none_or(|a| seen.is_some_and(|s| s > a))
            && self.before.is_none_or(|b| seen.is_some_and(|s| s < b))
    }
}

// ---------------------------------------------------------------- physical devices

/// A physical device: the registrations sharing a device id.
struct Physical<'a> {
    id: &'a str,
    registrations: Vec<&'a Device>,
}

impl Physical<'_> {
    fn active(&self) -> usize {
        self.registrations.iter().filter(|d| d.revoked_at.is_none()).count()
    }
    /// The registration seen last (or created last).
    fn latest(&self) -> Option<&Device> {
        self.registrations.iter().copied().max_by_key(|d| (d.last_seen_at.unwrap_or(0), d.created_at))
    }
    fn last_seen(&self) -> Option<Timestamp> {
        self.registrations.iter().filter_map(|d| d.last_seen_at).max()
    }
    fn created(&self) -> Timestamp {
        self.registrations.iter().map(|d| d.created_at).min().unwrap_or(0)
    }
}

fn physical_devices(devices: &[Device]) -> Vec<Physical<'_>> {
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<&Device>> = HashMap::new();
    for d in devices {
        groups.entry(d.device_id.as_str()).or_insert_with(|| {
            order.push(d.device_id.as_str());
            Vec::new()
        });
        if let Some(group) = groups.get_mut(d.device_id.as_str()) {
            group.push(d);
        }
    }
    order.into_iter().map(|id| Physical { id, registrations: groups.remove(id).unwrap_or_default() }).collect()
}

fn physical_view(p: &Physical, users: &HashMap<String, Principal>) -> Value {
    let latest = p.latest();
    json!({
        "id": p.id,
        "name": latest.map_or("", |d| d.name.as_str()),
        "device_type": latest.map_or(Value::Null, |d| device_type(&d.os)),
        "created_at": rfc3339(p.created()),
        "updated_at": rfc3339(p.registrations.iter().map(|d| updated_at(d)).max().unwrap_or(0)),
        "last_seen_at": p.last_seen().map(rfc3339),
        "active_registrations": p.active(),
        "tags": {},
        "last_seen_user": latest.map(|d| user_view(users, &d.principal)),
        "last_seen_registration": null,
        "client_version": null,
        "deleted_at": null,
        "hardware_id": null,
        "mac_address": null,
        "manufacturer": null,
        "model": null,
        "os_version": null,
        "os_version_extra": null,
        "serial_number": null,
    })
}

/// The query of `GET .../devices/physical-devices`.
pub struct PhysicalQuery {
    ids: Vec<String>,
    active: &'static str,
    user_email: Option<String>,
    search: Option<String>,
    sort_by: &'static str,
    seen: Seen,
    page: CursorQuery,
}

impl FromParams for PhysicalQuery {
    fn from_params(params: &Params) -> Result<Self> {
        const SORT_BY: &[&str] = &[
            "name",
            "id",
            "client_version",
            "last_seen_user.email",
            "last_seen_at",
            "active_registrations",
            "created_at",
        ];
        Ok(PhysicalQuery {
            ids: params.all("id").into_iter().map(str::to_owned).collect(),
            active: params.choice("active_registrations", &["include", "only", "exclude"])?.unwrap_or("only"),
            user_email: params.text("last_seen_user.email").map(|e| e.to_lowercase()),
            search: params.text("search").map(|s| s.to_lowercase()),
            sort_by: params.choice("sort_by", SORT_BY)?.unwrap_or("created_at"),
            seen: Seen::from_params(params)?,
            page: CursorQuery::from_params(params, 10)?,
        })
    }
}

impl PhysicalQuery {
    fn admits(&self, p: &Physical, email: &str) -> bool {
        let active = match self.active {
            "only" => p.active() > 0,
            "exclude" => p.active() == 0,
            _ => true,
        };
        let searched = |s: &String| p.latest().is_some_and(|d| d.name.to_lowercase().contains(s)) || email.contains(s);
        (self.ids.is_empty() || self.ids.iter().any(|id| id == p.id))
            && active
            && self.user_email.as_ref().is_none_or(|e| email == e)
            && self.search.as_ref().is_none_or(searched)
            && self.seen.admits(p.last_seen())
    }

    fn sort_key(&self, p: &Physical, email: String) -> String {
        match self.sort_by {
            "name" => p.latest().map_or(String::new(), |d| d.name.to_lowercase()),
            "id" | "client_version" => String::new(),
            "last_seen_user.email" => email,
            "last_seen_at" => time_key(p.last_seen()),
            "active_registrations" => format!("{:020}", p.active()),
            _ => time_key(Some(p.created())),
        }
    }
}

/// `GET /accounts/{id}/devices/physical-devices`: cursor-paginated (`per_page` default
/// 10); filters `id` (repeated), `active_registrations` (`only` by default, `include`,
/// `exclude`), `last_seen_user.email`, `search` (name or user email), `seen_after`,
/// `seen_before`; `sort_by` `id`, `name`, `created_at`, `last_seen_at`,
/// `active_registrations`, `last_seen_user.email` (default `created_at`), `sort_order`.
pub async fn list_physical(ctx: Ctx, ids: Ids, query: CfQuery<PhysicalQuery>) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_READ).await?;
    let query = query.read()?;
    let (devices, users) = world(&ctx, &caller).await?;
    let email_of =
        |p: &Physical| p.latest().and_then(|d| users.get(&d.principal)).map_or(String::new(), |u| u.email.clone());
    let items = physical_devices(&devices)
        .into_iter()
        .filter(|p| query.admits(p, &email_of(p)))
        .map(|p| Positioned {
            key: query.sort_key(&p, email_of(&p)),
            id: p.id.to_owned(),
            view: physical_view(&p, &users),
        })
        .collect();
    Ok(cursor_page(items, &query.page))
}

/// `GET /accounts/{id}/devices/physical-devices/{device_id}`.
pub async fn get_physical(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_READ).await?;
    let (devices, users) = world(&ctx, &caller).await?;
    let physical = physical_devices(&devices);
    let found = physical.iter().find(|p| p.id == ids.get("device_id")).ok_or_else(CfError::not_found)?;
    Ok(envelope::ok(physical_view(found, &users)))
}

/// `POST /accounts/{id}/devices/physical-devices/{device_id}/revoke`: revokes every
/// registration of the device.
pub async fn revoke_physical(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_WRITE).await?;
    let (devices, _) = world(&ctx, &caller).await?;
    let device_id = ids.get("device_id");
    if !devices.iter().any(|d| d.device_id == device_id) {
        return Err(CfError::not_found());
    }
    set_revoked(&ctx, &caller, vec![device_id.to_owned()], true).await
}

// ---------------------------------------------------------------- registrations

fn registration_view(d: &Device, users: &HashMap<String, Principal>) -> Value {
    json!({
        "id": d.id,
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(updated_at(d)),
        "last_seen_at": d.last_seen_at.map(rfc3339),
        "revoked_at": d.revoked_at.map(rfc3339),
        "deleted_at": null,
        "device": {"id": d.device_id, "name": d.name, "client_version": null},
        "registration_type": "warp",
        "user": user_view(users, &d.principal),
        "policy": null,
        "key_type": null,
        "tunnel_type": null,
        "virtual_ipv4": null,
        "virtual_ipv6": null,
    })
}

/// The query of `GET .../devices/registrations`.
pub struct RegistrationsQuery {
    ids: Vec<String>,
    device_ids: Vec<String>,
    user_ids: Vec<String>,
    user_emails: Vec<String>,
    status: &'static str,
    search: Option<String>,
    sort_by: &'static str,
    seen: Seen,
    page: CursorQuery,
}

impl FromParams for RegistrationsQuery {
    fn from_params(params: &Params) -> Result<Self> {
        let all = |name: &str| params.all(name).into_iter().map(str::to_owned).collect::<Vec<_>>();
        Ok(RegistrationsQuery {
            ids: all("id"),
            device_ids: all("device.id"),
            user_ids: all("user.id"),
            user_emails: all("user.email").into_iter().map(|e| e.to_lowercase()).collect(),
            status: params.choice("status", &["active", "all", "revoked"])?.unwrap_or("active"),
            search: params.text("search").map(|s| s.to_lowercase()),
            sort_by: params
                .choice("sort_by", &["id", "user.name", "user.email", "last_seen_at", "created_at"])?
                .unwrap_or("created_at"),
            seen: Seen::from_params(params)?,
            page: CursorQuery::from_params(params, 10)?,
        })
    }
}

impl RegistrationsQuery {
    fn admits(&self, d: &Device, email: &str) -> bool {
        let listed = |wanted: &[String], have: &str| wanted.is_empty() || wanted.iter().any(|w| w == have);
        let status = match self.status {
            "active" => d.revoked_at.is_none(),
            "revoked" => d.revoked_at.is_some(),
            _ => true,
        };
        listed(&self.ids, &d.id)
            && listed(&self.device_ids, &d.device_id)
            && listed(&self.user_ids, &d.principal)
            && listed(&self.user_emails, email)
            && status
            && self.search.as_ref().is_none_or(|s| d.name.to_lowercase().contains(s) || email.contains(s.as_str()))
            && self.seen.admits(d.last_seen_at)
    }

    fn sort_key(&self, d: &Device, view: &Value, email: String) -> String {
        match self.sort_by {
            "id" => String::new(),
            "user.name" => view["user"]["name"].as_str().unwrap_or("").to_lowercase(),
            "user.email" => email,
            "last_seen_at" => time_key(d.last_seen_at),
            _ => time_key(Some(d.created_at)),
        }
    }
}

/// `GET /accounts/{id}/devices/registrations`: cursor-paginated (`per_page` default 10);
/// filters `id` (repeated), `device.id`, `user.id`, `user.email`, `status` (`active` by
/// default, `revoked`, `all`), `search` (device name or user email), `seen_after`,
/// `seen_before`; `sort_by` `id`, `user.name`, `user.email`, `last_seen_at`,
/// `created_at` (default), `sort_order`.
pub async fn list_registrations(ctx: Ctx, ids: Ids, query: CfQuery<RegistrationsQuery>) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_READ).await?;
    let query = query.read()?;
    let (devices, users) = world(&ctx, &caller).await?;
    let email_of = |d: &Device| users.get(&d.principal).map_or(String::new(), |u| u.email.clone());
    let items = devices
        .iter()
        .filter(|d| query.admits(d, &email_of(d)))
        .map(|d| {
            let view = registration_view(d, &users);
            Positioned { key: query.sort_key(d, &view, email_of(d)), id: d.id.clone(), view }
        })
        .collect();
    Ok(cursor_page(items, &query.page))
}

/// `GET /accounts/{id}/devices/registrations/{registration_id}` (revoked ones too).
pub async fn get_registration(ctx: Ctx, ids: Ids) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_READ).await?;
    let (devices, users) = world(&ctx, &caller).await?;
    let device = devices.iter().find(|d| d.id == ids.get("registration_id")).ok_or_else(CfError::not_found)?;
    Ok(envelope::ok(registration_view(device, &users)))
}

/// The query of the registrations' revoke and unrevoke: `id=a&id=b`, 1 to 200 of them.
pub struct RegistrationIds(Vec<String>);

impl FromParams for RegistrationIds {
    fn from_params(params: &Params) -> Result<Self> {
        let ids: Vec<String> = params.all("id").into_iter().map(str::to_owned).collect();
        if ids.is_empty() || ids.len() > MAX_IDS {
            return Err(CfError::invalid(format!("between 1 and {MAX_IDS} registration ids (id=...) are required")));
        }
        Ok(RegistrationIds(ids))
    }
}

/// `POST /accounts/{id}/devices/registrations/revoke?id=a&id=b` (no body).
pub async fn revoke_registrations(ctx: Ctx, ids: Ids, query: CfQuery<RegistrationIds>) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_WRITE).await?;
    let RegistrationIds(requested) = query.read()?;
    set_revoked(&ctx, &caller, requested, true).await
}

/// `POST /accounts/{id}/devices/registrations/unrevoke?id=a&id=b` (no body).
pub async fn unrevoke_registrations(ctx: Ctx, ids: Ids, query: CfQuery<RegistrationIds>) -> Result<Response> {
    let caller = caller(&ctx, &ids, Schemes::TokenOnly, needs::DEVICES_WRITE).await?;
    let RegistrationIds(requested) = query.read()?;
    set_revoked(&ctx, &caller, requested, false).await
}
