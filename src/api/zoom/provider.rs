//! What Zoom is to the core: its credential and token kinds, their prefixes, lifetimes
//! and revocation scopes, the logins the control plane simulates, and Zoom's rule that a
//! deactivated user loses their license.

use crate::domain::provider::{LoginSpec, LoginTarget, ProviderSpec, SESSIONS, TokenSpec};
use crate::domain::{CredentialKind, Principal, Provider, TokenKind};

pub const PROVIDER: Provider = Provider::new("zoom");

/// A Server-to-Server OAuth app (client id + secret).
pub const APP: CredentialKind = CredentialKind::new("zoom_app");

/// An OAuth access token of a Server-to-Server app: governed by its app, not by the
/// sessions of the user it names for `me`.
pub static OAUTH_ACCESS: TokenSpec =
    TokenSpec { kind: TokenKind::new("oauth_access"), prefix: "upz_at_", ttl_ms: 3_600_000, scope: None };
/// A user-level OAuth access token (`me` only).
pub static USER_OAUTH: TokenSpec =
    TokenSpec { kind: TokenKind::new("user_oauth"), prefix: "upz_at_", ttl_ms: 3_600_000, scope: Some(SESSIONS) };
/// An SSO session.
pub static SSO: TokenSpec =
    TokenSpec { kind: TokenKind::new("sso"), prefix: "upz_sso_", ttl_ms: 24 * 3_600_000, scope: Some(SESSIONS) };
/// A Zoom Access Key (ZAK) or the deprecated user `token`.
pub static ZAK: TokenSpec =
    TokenSpec { kind: TokenKind::new("zak"), prefix: "upz_zak_", ttl_ms: 2 * 3_600_000, scope: Some(SESSIONS) };

/// Zoom's user `type` of a Basic user.
pub const BASIC: i64 = 1;

/// Deactivation removes every license: the user falls back to Basic.
fn drop_to_basic(user: &mut Principal) {
    user.license = BASIC;
}

pub static SPEC: ProviderSpec = ProviderSpec {
    provider: PROVIDER,
    sessions: &[&SSO, &USER_OAUTH, &ZAK],
    scopes: &[],
    logins: &[
        LoginSpec { name: "sso", token: &SSO, target: LoginTarget::User, grants: None },
        LoginSpec {
            name: "user_oauth",
            token: &USER_OAUTH,
            target: LoginTarget::User,
            grants: Some(&["user:read", "user:write", "user_zak:read"]),
        },
    ],
    on_deactivate: drop_to_basic,
    document: super::tenant::spec,
    seed_of: |document, _| super::tenant::seed_of(document),
    with_new_secrets: super::tenant::with_new_secrets,
    operations: super::OPERATIONS,
};
