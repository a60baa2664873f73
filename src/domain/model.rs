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
    /// Whether the harness held fault rules for the tenant when this was read: a request
    /// of a tenant without any reads none (see `harness::faults`).
    pub fault_rules: bool,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InactiveReason {
    Expired,
    /// Every session of the user was revoked.
    SessionsRevoked,
    /// The user was deactivated.
    UserDeactivated,
    UserDeleted,
    /// Revoking the user's access (`ops::revoke_user_access`) ended every session.
    AccessRevoked,
    /// The device registration it was issued on was revoked.
    DeviceRevoked,
    /// A revocation scope a dialect names was ended, for the reason the dialect declares
    /// with it (`ops::ScopeRevocation`).
    Scope(ScopeReason),
    /// The app or API credential that issued it is gone or disabled.
    CredentialRevoked,
}

impl InactiveReason {
    /// Every reason but a dialect's own.
    const NEUTRAL: [InactiveReason; 7] = [
        InactiveReason::Expired,
        InactiveReason::SessionsRevoked,
        InactiveReason::UserDeactivated,
        InactiveReason::UserDeleted,
        InactiveReason::AccessRevoked,
        InactiveReason::DeviceRevoked,
        InactiveReason::CredentialRevoked,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            InactiveReason::Expired => "expired",
            InactiveReason::SessionsRevoked => "sessions_revoked",
            InactiveReason::UserDeactivated => "user_deactivated",
            InactiveReason::UserDeleted => "user_deleted",
            InactiveReason::AccessRevoked => "access_revoked",
            InactiveReason::DeviceRevoked => "device_revoked",
            InactiveReason::Scope(reason) => reason.as_str(),
            InactiveReason::CredentialRevoked => "credential_revoked",
        }
    }

    /// A reason as recorded: one of the core's, else a scope's (as its dialect declared it).
    pub fn parse(s: &str) -> Option<Self> {
        Self::NEUTRAL
            .into_iter()
            .find(|r| r.as_str() == s)
            .or_else(|| ScopeReason::parse(s.as_bytes()).map(InactiveReason::Scope))
    }
}

/// The reason a dialect declares for ending one of its revocation scopes: 1 to 32 of
/// `a-z 0-9 _`. Held inline, so that a reason read back from a revocation row is as
/// cheap to pass around as the core's own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ScopeReason {
    bytes: [u8; ScopeReason::MAX_LEN],
    len: u8,
}

impl ScopeReason {
    const MAX_LEN: usize = 32;

    /// A reason a dialect declares, in a `static`: a malformed name fails the build.
    pub const fn declared(name: &'static str) -> ScopeReason {
        match ScopeReason::parse(name.as_bytes()) {
            Some(reason) => reason,
            None => panic!("a scope reason is 1 to 32 of a-z 0-9 _"),
        }
    }

    const fn parse(name: &[u8]) -> Option<ScopeReason> {
        if name.is_empty() || name.len() > ScopeReason::MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; ScopeReason::MAX_LEN];
        let mut i = 0;
        while i < name.len() {
            if !matches!(name[i], b'a'..=b'z' | b'0'..=b'9' | b'_') {
                return None;
            }
            bytes[i] = name[i];
            i += 1;
        }
        Some(ScopeReason { bytes, len: name.len() as u8 })
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl std::fmt::Debug for ScopeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScopeReason({})", self.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_reads_back_as_it_was_recorded() {
        const WARP: InactiveReason = InactiveReason::Scope(ScopeReason::declared("warp_reauth_required"));
        for reason in InactiveReason::NEUTRAL.into_iter().chain([WARP]) {
            assert_eq!(InactiveReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(WARP.as_str(), "warp_reauth_required");
        for not_a_reason in ["", "Upper", "has space", &"x".repeat(33)] {
            assert_eq!(InactiveReason::parse(not_a_reason), None, "{not_a_reason:?}");
        }
    }
}
