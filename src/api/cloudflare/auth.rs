//! Credentials, the rate limit and permission groups.
//!
//! The ladder, in Cloudflare's order:
//! 1. `X-Auth-Email` + `X-Auth-Key` both present: the legacy global key. A malformed
//!    header is 400 6003 with 6102 / 6103 in `error_chain`; a pair that matches no key is
//!    403 9103. A global key holds every permission on its account.
//! 2. Otherwise `Authorization`: it must be `Bearer <token>` (else 400 6003 + 6111); an
//!    unknown, disabled or expired token is 403 9109 "Invalid access token".
//! 3. Nothing usable (including half a key pair, which is what the Python SDK sends for
//!    `api_email` + `api_token`): 400 9106.
//!
//! Then the request counts against the credential's rate limit (1200 per 300 s, when the
//! tenant has rate limits on), and handlers check the account or zone ([`Caller::authorize`],
//! 9109) and the permission group ([`Caller::require`], 10000). Extra SDK headers
//! (`api-version`, `X-Stainless-*`) are ignored.

use axum::http::header;

use super::provider;
use super::{Ctx, RATE_LIMIT, RATE_WINDOW_SECONDS, RateState, Scope};
use crate::api::cloudflare::CfError;
use crate::api::cloudflare::error::code;
use crate::domain::tenant::normalize_email;
use crate::domain::{Actor, Credential, Tenant, ops};
use crate::harness::faults::Failure;

/// Which credentials an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes {
    /// An API token or a global key.
    TokenOrKey,
    /// API tokens only (the physical-devices and registrations endpoints): a global key
    /// gets 400 10001.
    TokenOnly,
    /// Token verification: tokens only, a token that is not active is still answered
    /// (with its status), an unknown one is 400 1000 "Invalid API Token".
    Verify,
}

/// The permission groups, as Cloudflare names them.
pub mod groups {
    pub const ORGANIZATIONS_WRITE: &str = "Access: Organizations, Identity Providers, and Groups Write";
    pub const ORGANIZATIONS_READ: &str = "Access: Organizations, Identity Providers, and Groups Read";
    pub const ORGANIZATIONS_REVOKE: &str = "Access: Organizations, Identity Providers, and Groups Revoke";
    /// The short name the project's design uses for the same revoke-only group.
    pub const ORGANIZATIONS_REVOKE_SHORT: &str = "Access: Organizations Revoke";
    pub const AUDIT_LOGS_READ: &str = "Access: Audit Logs Read";
    pub const APPS_READ: &str = "Access: Apps and Policies Read";
    pub const APPS_WRITE: &str = "Access: Apps and Policies Write";
    pub const APPS_REVOKE: &str = "Access: Apps and Policies Revoke";
    pub const ZERO_TRUST_READ: &str = "Zero Trust Read";
    pub const ZERO_TRUST_WRITE: &str = "Zero Trust Write";
}

/// The groups each endpoint accepts (any one suffices), from the `x-api-token-group`
/// fields of Cloudflare's schema; where the schema lists none, the Zero Trust group.
pub mod needs {
    use super::groups::*;

    /// `revoke_user` (accounts and zones).
    pub const REVOKE_USER: &[&str] = &[ORGANIZATIONS_WRITE, ORGANIZATIONS_REVOKE, ORGANIZATIONS_REVOKE_SHORT];
    /// `GET organizations`.
    pub const ORGANIZATION_READ: &[&str] =
        &[ORGANIZATIONS_READ, ORGANIZATIONS_WRITE, ORGANIZATIONS_REVOKE, ORGANIZATIONS_REVOKE_SHORT];
    /// `POST` / `PUT organizations`.
    pub const ORGANIZATION_WRITE: &[&str] = &[ORGANIZATIONS_WRITE];
    /// `access/users` and every per-user sub-resource.
    pub const USERS_READ: &[&str] = &[AUDIT_LOGS_READ];
    /// `access/apps`.
    pub const APPS_LIST: &[&str] = &[APPS_READ, APPS_WRITE, APPS_REVOKE];
    /// Device and registration reads (the schema names no group: Zero Trust Read or Write).
    pub const DEVICES_READ: &[&str] = &[ZERO_TRUST_READ, ZERO_TRUST_WRITE];
    /// Device and registration revoke / unrevoke.
    pub const DEVICES_WRITE: &[&str] = &[ZERO_TRUST_WRITE];
}

/// Who is calling: a credential and the tenant (account) it belongs to.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential: Credential,
    pub tenant: Tenant,
}

impl Caller {
    /// The journal's name for this caller: `cf_token:<id>` or `cf_global_key:<id>`.
    pub fn actor(&self) -> Actor {
        let kind = if self.credential.kind == provider::GLOBAL_KEY { "cf_global_key" } else { "cf_token" };
        Actor(format!("{kind}:{}", self.credential.id))
    }

    /// The account, or the zone, must be the caller's own (403 9109 otherwise, the same
    /// answer whether or not it exists elsewhere). Zones are listed in the tenant
    /// document, read only for zone paths (rare next to account paths).
    pub async fn authorize(&self, ctx: &Ctx, scope: &Scope) -> Result<(), CfError> {
        let allowed = match scope {
            Scope::Account(account) => self.tenant.account_id.eq_ignore_ascii_case(account),
            Scope::Zone(zone) => {
                let document = ops::tenant_document(&ctx.state.store, &self.tenant.account_id).await?;
                super::tenant::zones(&document)?.iter().any(|z| z.eq_ignore_ascii_case(zone))
            }
        };
        if allowed { Ok(()) } else { Err(CfError::unauthorized_resource()) }
    }

    /// The credential must hold one of `any_of` (403 10000 otherwise). Global keys hold all.
    pub fn require(&self, any_of: &[&str]) -> Result<(), CfError> {
        let grants = &self.credential.grants;
        if grants.iter().any(|g| g == "*" || any_of.contains(&g.as_str())) {
            Ok(())
        } else {
            Err(CfError::missing_permission())
        }
    }
}

/// Identifies the caller and counts the request against its rate limit.
pub async fn authenticate(ctx: &Ctx, schemes: Schemes) -> Result<Caller, CfError> {
    let headers = &ctx.headers;
    let store = &ctx.state.store;
    let (email, key) = (headers.get("x-auth-email"), headers.get("x-auth-key"));
    let (credential, tenant) = if let (Some(email), Some(key)) = (email, key) {
        let email = email.to_str().ok().and_then(normalize_email);
        let key = key.to_str().ok().map(str::trim).filter(|k| is_key_shaped(k));
        let mut chain = Vec::new();
        if email.is_none() {
            chain.push((code::INVALID_EMAIL_HEADER, "Invalid format for X-Auth-Email header"));
        }
        if key.is_none() {
            chain.push((code::INVALID_KEY_HEADER, "Invalid format for X-Auth-Key header"));
        }
        let (Some(email), Some(key)) = (email, key) else { return Err(CfError::invalid_headers(chain)) };
        if schemes != Schemes::TokenOrKey {
            return Err(CfError::scheme_not_accepted());
        }
        let lookup = super::tenant::global_key_lookup(store.secrets(), &email, &store.secrets().hash(key));
        match ops::find_credential(store, provider::GLOBAL_KEY, &lookup).await? {
            Some(found) => found,
            None => return Err(failed(ctx, Some(format!("cf_key:{email}")), CfError::unknown_key())),
        }
    } else if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value.to_str().ok().and_then(bearer_token).ok_or_else(|| {
            CfError::invalid_headers(vec![(
                code::INVALID_AUTHORIZATION_HEADER,
                "Invalid format for Authorization header",
            )])
        })?;
        let found = ops::find_credential(store, provider::API_TOKEN, &store.secrets().hash(token)).await?;
        match found {
            Some(found) => found,
            None if schemes == Schemes::Verify => return Err(failed(ctx, None, CfError::invalid_api_token())),
            None => return Err(failed(ctx, None, CfError::invalid_token())),
        }
    } else {
        return Err(CfError::missing_credentials());
    };
    ctx.note.attribute(&ctx.state, &tenant, Some(&credential.id));
    count_request(ctx, &credential, &tenant).await?;
    if credential.status != "active" && schemes != Schemes::Verify {
        return Err(CfError::invalid_token());
    }
    let caller = Caller { credential, tenant };
    inject(ctx, &caller).await?;
    Ok(caller)
}

/// The tenant's fault rules for this request: a latency is waited out, a failure
/// answered at once as Cloudflare would (a 429 with the rate-limit headers of an
/// exhausted window), a commit-then-fail left for the dialect's fault layer. The target
/// user is the path's `{user_id}`; it is looked up only if a rule names a user.
async fn inject(ctx: &Ctx, caller: &Caller) -> Result<(), CfError> {
    let (store, account) = (&ctx.state.store, caller.tenant.account_id.as_str());
    let resolve = |given: String| async move {
        match ops::resolve_principal(store, account, &given).await {
            Ok(principal) => vec![principal.email, principal.id],
            Err(_) => Vec::new(),
        }
    };
    let failure =
        crate::api::faults::consult(&ctx.state, &ctx.note, &caller.tenant, &caller.actor(), Vec::new(), resolve)
            .await?;
    match failure {
        None => Ok(()),
        Some(Failure::Status { status, retry_after }) => {
            if status == 429 {
                let reset_seconds = i64::try_from(retry_after.unwrap_or(1)).unwrap_or(i64::MAX);
                ctx.slot.set(RateState { remaining: 0, reset_seconds, limited: true });
            }
            Err(super::dialect::fault_answer(status, retry_after))
        }
        // The fault layer ends the connection instead of writing this.
        Some(_) => Err(CfError::internal()),
    }
}

/// A credential that matches nothing: counted against the address (and the key's email);
/// past the limit the answer is 429 971 with `Retry-After` instead of `refusal`.
fn failed(ctx: &Ctx, credential: Option<String>, refusal: CfError) -> CfError {
    match ctx.state.auth_throttle.failed(&[ctx.source.key(), credential]) {
        Some(seconds) => CfError { retry_after: Some(seconds), ..CfError::rate_limited() },
        None => refusal,
    }
}

/// Counts the request in the credential's 300-second window (aligned on the tenant's
/// clock, so advancing the clock by 300 s resets it; shared by every node on
/// PostgreSQL) and records the result for the response headers. Tenants with rate
/// limits off are not counted.
async fn count_request(ctx: &Ctx, credential: &Credential, tenant: &Tenant) -> Result<(), CfError> {
    let now = tenant.now(&ctx.state.clock);
    let window_ms = RATE_WINDOW_SECONDS * 1000;
    let state = if tenant.rate_limits {
        let key = crate::limits::window_key(&tenant.account_id, &format!("cf:{}", credential.id));
        let decision = ctx.state.limits.hit(&key, window_ms, RATE_LIMIT, now).await;
        RateState {
            remaining: decision.remaining,
            reset_seconds: ((decision.reset_at - now + 999) / 1000).max(1),
            limited: !decision.allowed,
        }
    } else {
        RateState {
            remaining: RATE_LIMIT,
            reset_seconds: RATE_WINDOW_SECONDS - now.div_euclid(1000).rem_euclid(RATE_WINDOW_SECONDS),
            limited: false,
        }
    };
    ctx.slot.set(state);
    if state.limited { Err(CfError::rate_limited()) } else { Ok(()) }
}

/// The token of `Bearer <token>`, if well formed: Cloudflare tokens are URL-safe
/// characters (newer ones have prefixes such as `cfat_`); be lenient beyond that.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    let ok = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && token.len() <= 512
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    ok.then_some(token)
}

/// Global keys are 37 hex characters at Cloudflare; tenant documents may choose others,
/// so any short run of visible ASCII is accepted as well formed.
fn is_key_shaped(key: &str) -> bool {
    !key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_parsed_leniently_but_not_blindly() {
        assert_eq!(bearer_token("Bearer abc-DEF_123"), Some("abc-DEF_123"));
        assert_eq!(bearer_token("bearer  cfat_x.y"), Some("cfat_x.y"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
        assert_eq!(bearer_token("Bearer caf\u{e9}"), None);
    }
}
