//! What a provider's dialect declares to the core, as data: its name, the kinds of
//! credential and token it uses, how its tokens begin and how long they live, which
//! revocation scope governs each, the logins the control plane may simulate, and what
//! deactivating a user means to it. The core gives these names no meaning of its own:
//! each dialect's `provider.rs` fills a [`ProviderSpec`], and `api::providers` lists them.

use std::borrow::Cow;

use serde_json::Value;

use super::ids::SecretHasher;
use super::ops::ScopeRevocation;
use super::tenant::{TenantSeed, TenantSpec};
use super::{Principal, Result};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Cow<'static, str>);

        impl $name {
            /// A name a dialect declares.
            pub const fn new(name: &'static str) -> Self {
                $name(Cow::Borrowed(name))
            }
            /// A name as stored.
            pub fn parse(name: &str) -> Self {
                $name(Cow::Owned(name.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

name_type!(
    /// Which provider's API a tenant speaks (`zoom`, `cloudflare`): its dialect's name.
    Provider
);
name_type!(
    /// What an API caller authenticates with (`zoom_app`, `cf_api_token`, ...), as its dialect names it.
    CredentialKind
);
name_type!(
    /// A kind of bearer token (`sso`, `access`, ...), as the dialect that issues it names it.
    TokenKind
);

/// The revocation scope of a principal's sessions, which every provider has: revoking a
/// user's sessions, or deactivating the user, ends every token it governs.
pub const SESSIONS: &str = "sessions";

/// A kind of token a dialect issues.
#[derive(Debug)]
pub struct TokenSpec {
    pub kind: TokenKind,
    /// How its tokens begin, so that a leaked one says what it is.
    pub prefix: &'static str,
    pub ttl_ms: i64,
    /// The principal's revocation scope that governs it: [`SESSIONS`], a scope the
    /// dialect names (its epochs kept apart from the sessions'), or none (an app's own
    /// token, governed by its credential).
    pub scope: Option<&'static str>,
}

/// What a simulated login of one kind needs besides the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginTarget {
    /// Nothing more (optional grants).
    User,
    /// An application the user logs in to (by aud, name or id).
    App,
    /// A device registration of the user (by id, name or device id).
    Device,
}

/// A login the control plane may simulate for a provider's tenants.
#[derive(Debug)]
pub struct LoginSpec {
    /// The session kind the control plane takes (`"kind": "sso"`).
    pub name: &'static str,
    pub token: &'static TokenSpec,
    pub target: LoginTarget,
    /// Whether the login takes grants (`"scopes"`), and those of one that names none.
    pub grants: Option<&'static [&'static str]>,
}

/// A kept document with new secrets (and, for a fork, a new account id) → the document
/// in clear and the secrets to show once.
pub type RotateSecrets = fn(&Value, Option<&str>) -> Result<(Value, Value)>;

/// Everything the core and the control plane know of one provider.
pub struct ProviderSpec {
    pub provider: Provider,
    /// The kinds of session a user holds (what the console counts per user).
    pub sessions: &'static [&'static TokenSpec],
    /// The named revocation scopes besides the sessions', which revoking everything of a
    /// user also ends.
    pub scopes: &'static [&'static ScopeRevocation],
    pub logins: &'static [LoginSpec],
    /// What else deactivating a user does, besides ending their sessions (in the same
    /// transaction).
    pub on_deactivate: fn(&mut Principal),
    /// Reads a tenant document of this provider: validated, its secrets hashed.
    pub document: fn(Value, &SecretHasher) -> Result<TenantSpec>,
    /// What a kept document seeds again, for a reset.
    pub seed_of: fn(&Value, &SecretHasher) -> Result<TenantSeed>,
    /// A kept document with a new value for every secret (and, for a fork, under another
    /// account id), in clear, and those secrets to be shown once.
    pub with_new_secrets: RotateSecrets,
    /// The dialect's operations: method, route, stable name (what fault rules match).
    pub operations: &'static [(&'static str, &'static str, &'static str)],
}

impl ProviderSpec {
    /// The login of this name, if the provider has it.
    pub fn login(&self, name: &str) -> Option<&LoginSpec> {
        self.logins.iter().find(|login| login.name == name)
    }
}

/// Deactivation does nothing else.
pub fn nothing_else(_: &mut Principal) {}
