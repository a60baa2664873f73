//! The core's data types, shared by every dialect.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::provider::{CredentialKind, Provider, TokenKind};
use super::{Clock, Timestamp};

/// A tenant: one provider account, addressed by its `account_id`.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub account_id: String,
    pub provider: Provider,
    /// The provider's plan of the account, as its dialect names it.
    pub plan: String,
    /// Whether the provider's rate limits apply.
    pub rate_limits: bool,
    /// How far this tenant's clock runs ahead of the wall clock.
    pub clock_offset_ms: i64,
    /// The instant this tenant's clock stands still at, when frozen.
    pub clock_frozen_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl Tenant {
    /// The tenant's current time.
    pub fn now(&self, clock: &Clock) -> Timestamp {
        self.clock_frozen_at.unwrap_or_else(|| clock.now(self.clock_offset_ms))
    }
}

/// A user's account status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Inactive,
    Pending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Pending => "pending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Status::Active),
            "inactive" => Some(Status::Inactive),
            "pending" => Some(Status::Pending),
            _ => None,
        }
    }
}

/// A person (or room) that holds sessions: a Zoom user, a Cloudflare Zero Trust user.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: String,
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// The provider's license tier (Zoom's user `type`); 1 where a provider has none.
    pub license: i64,
    /// `owner`, `admin` or `member`.
    pub role: String,
    pub status: Status,
    /// Provider-specific profile fields (pmi, timezone, dept, zoom_room, ...).
    pub attributes: Map<String, Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Sessions issued under an older epoch are dead: revoking all of a user's sessions
    /// is one increment, whatever their number.
    pub session_epoch: i64,
    pub sessions_revoked_at: Option<Timestamp>,
    pub sessions_revoked_reason: Option<String>,
    pub last_login_at: Option<Timestamp>,
}

impl Principal {
    /// A boolean profile flag (`zoom_room`, `upcoming_events`, ...).
    pub fn flag(&self, name: &str) -> bool {
        self.attributes.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The display name: `display_name` if set, else first and last name.
    pub fn display_name(&self) -> String {
        match self.attributes.get("display_name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => format!("{} {}", self.first_name, self.last_name).trim().to_owned(),
        }
    }
}

/// A new principal, before it is stored.
#[derive(Debug, Clone)]
pub struct NewPrincipal {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub license: i64,
    pub role: String,
    pub status: Status,
    pub attributes: Map<String, Value>,
}

/// A stored API credential. The secret is only ever held as its hash.
#[derive(Debug, Clone)]
pub struct Credential {
    pub tenant: String,
    pub id: String,
    pub kind: CredentialKind,
    /// How it is found: the client id, the token's hash, or the key's email.
    pub lookup: String,
    pub secret_hash: String,
    /// Scopes (Zoom) or permission groups (Cloudflare).
    pub grants: Vec<String>,
    /// The principal a Zoom app acts as for `me`.
    pub owner: Option<String>,
    /// `active`, `disabled` or `expired`.
    pub status: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A bearer token as stored (by hash).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub hash: String,
    pub tenant: String,
    pub kind: TokenKind,
    pub principal: Option<String>,
    pub credential: Option<String>,
    pub grants: Vec<String>,
    /// The revocation scope that governs it (`sessions`, or one its dialect names), if any.
    pub scope: Option<String>,
    /// Its scope's epoch when it was issued.
    pub epoch: i64,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// What it is for: an Access app's aud, a device registration id.
    pub subject: Option<String>,
    pub nonce: String,
    /// A device session's: its device registration's revocation generation when issued.
    pub device_generation: Option<i64>,
}

/// Why a token is no longer good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InactiveReason {
    Expired,
    /// Zoom "revoke SSO token" ended every session of the user.
    SessionsRevoked,
    /// The user was deactivated.
    UserDeactivated,
    UserDeleted,
    /// Cloudflare revoke_user ended every Access session of the user.
    AccessRevoked,
    /// The WARP device registration was revoked.
    DeviceRevoked,
    /// `warp_session_reauth`: the user must log in to WARP again.
    WarpReauthRequired,
    /// The app or API credential that issued it is gone or disabled.
    CredentialRevoked,
}

impl InactiveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            InactiveReason::Expired => "expired",
            InactiveReason::SessionsRevoked => "sessions_revoked",
            InactiveReason::UserDeactivated => "user_deactivated",
            InactiveReason::UserDeleted => "user_deleted",
            InactiveReason::AccessRevoked => "access_revoked",
            InactiveReason::DeviceRevoked => "device_revoked",
            InactiveReason::WarpReauthRequired => "warp_reauth_required",
            InactiveReason::CredentialRevoked => "credential_revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            InactiveReason::Expired,
            InactiveReason::SessionsRevoked,
            InactiveReason::UserDeactivated,
            InactiveReason::UserDeleted,
            InactiveReason::AccessRevoked,
            InactiveReason::DeviceRevoked,
            InactiveReason::WarpReauthRequired,
            InactiveReason::CredentialRevoked,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// Whether a token is good, and if not, why and since when.
#[derive(Debug, Clone)]
pub enum TokenState {
    Active,
    Inactive { reason: InactiveReason, since: Timestamp },
}

/// A delegation: `delegate` acts for `principal` (a Zoom assistant; the principal is one
/// of the delegate's schedulers).
#[derive(Debug, Clone)]
pub struct Delegation {
    pub principal: String,
    pub delegate: String,
    pub can_manage_host_private_event: bool,
    pub created_at: Timestamp,
}

/// A device registration (Cloudflare WARP): a physical device enrolled for one user.
#[derive(Debug, Clone)]
pub struct Device {
    pub tenant: String,
    /// The registration id.
    pub id: String,
    /// The physical device id (one device may carry several registrations).
    pub device_id: String,
    pub principal: String,
    pub name: String,
    pub os: String,
    pub attributes: Map<String, Value>,
    pub created_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// Bumped by every revocation (never by an un-revoke): the WARP sessions issued
    /// under an older generation are dead.
    pub generation: i64,
}

/// An application users log in to (a Cloudflare Access application).
#[derive(Debug, Clone)]
pub struct App {
    pub tenant: String,
    pub id: String,
    pub name: String,
    pub domain: String,
    pub aud: String,
    pub kind: String,
    pub created_at: Timestamp,
}

/// One record of the audit journal, written in the transaction of the change it records.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub tenant: String,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: Value,
}

/// Who made a change, for the journal: `admin`, `zoom_app:<client_id>`, `cf_token:<id>`, ...
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    pub fn admin() -> Self {
        Actor("admin".to_owned())
    }
}
