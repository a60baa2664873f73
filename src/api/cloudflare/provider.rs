//! What Cloudflare is to the core: its credential and token kinds, their prefixes,
//! lifetimes and revocation scopes (WARP sessions have their own), and the logins the
//! control plane simulates.

use crate::domain::ops::ScopeRevocation;
use crate::domain::provider::{self, LoginSpec, LoginTarget, ProviderSpec, SESSIONS, TokenSpec};
use crate::domain::{CredentialKind, InactiveReason, Provider, ScopeReason, TokenKind};

pub const PROVIDER: Provider = Provider::new("cloudflare");

/// An API token.
pub const API_TOKEN: CredentialKind = CredentialKind::new("cf_api_token");
/// A global API key (email + key).
pub const GLOBAL_KEY: CredentialKind = CredentialKind::new("cf_global_key");

/// The revocation scope of WARP sessions: `warp_session_reauth` ends them, and only them.
pub const WARP_SCOPE: &str = "warp";

/// `warp_session_reauth` on revoke_user: every WARP session of the user ends.
pub static WARP_REAUTH: ScopeRevocation = ScopeRevocation {
    scope: WARP_SCOPE,
    reason: InactiveReason::Scope(ScopeReason::declared("warp_reauth_required")),
    journal_field: "warp_session_reauth",
};

/// An Access application session.
pub static ACCESS: TokenSpec =
    TokenSpec { kind: TokenKind::new("access"), prefix: "upcf_access_", ttl_ms: 24 * 3_600_000, scope: Some(SESSIONS) };
/// A WARP session on a device registration: it also dies with the registration.
pub static WARP: TokenSpec =
    TokenSpec { kind: TokenKind::new("warp"), prefix: "upcf_warp_", ttl_ms: 24 * 3_600_000, scope: Some(WARP_SCOPE) };

pub static SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    sessions: &[&ACCESS, &WARP],
    scopes: &[&WARP_REAUTH],
    logins: &[
        LoginSpec { name: "access", token: &ACCESS, target: LoginTarget::App, grants: None },
        LoginSpec { name: "warp", token: &WARP, target: LoginTarget::Device, grants: None },
    ],
    on_deactivate: provider::nothing_else,
    document: super::tenant::spec,
    seed_of: super::tenant::seed_of,
    with_new_secrets: super::tenant::with_new_secrets,
    operations: super::OPERATIONS,
};
