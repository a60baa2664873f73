use super::super::{
    Clock, InactiveReason, IssuedToken, Principal, Result, Status, Tenant, Timestamp, TokenKind, TokenState,
};
use super::last_revoked_at;
use crate::store::{Conn, Store, queries as q};

/// What introspection knows about a token.
#[derive(Debug, Clone)]
pub struct Introspection {
    pub token: IssuedToken,
    pub tenant: Tenant,
    pub state: TokenState,
    pub principal: Option<Principal>,
}

/// Looks a bearer token up and decides whether it is still good, and if not why.
/// `None` means userplane never issued it.
pub async fn introspect(store: &Store, clock: &Clock, secret: &str) -> Result<Option<Introspection>> {
    let hash = store.secrets().hash(secret);
    let clock = *clock;
    store.read(move |c| introspect_in(c, &clock, &hash)).await
}

fn introspect_in(c: &mut dyn Conn, clock: &Clock, hash: &str) -> Result<Option<Introspection>> {
    let Some((token, tenant, credential_alive)) = q::find_token_in_context(c, hash)? else { return Ok(None) };
    let now = tenant.now(clock);
    let governed_by_user = token.kind.bound_to_sessions() || token.kind == TokenKind::Warp;
    let principal = match &token.principal {
        Some(id) if governed_by_user => q::get_principal(c, &token.tenant, id)?,
        _ => None,
    };
    // Every reason the token may be dead, with when it died; the earliest one wins.
    let mut causes: Vec<(Timestamp, InactiveReason)> = Vec::new();
    if token.expires_at <= now {
        causes.push((token.expires_at, InactiveReason::Expired));
    }
    if credential_alive == Some(false) {
        causes.push((now, InactiveReason::CredentialRevoked));
    }
    // An app's token names its owner only to resolve `me`; the owner's sessions don't govern it.
    if token.principal.is_some() && governed_by_user {
        match &principal {
            None => causes.push((now, InactiveReason::UserDeleted)),
            Some(p) => {
                if token.kind.bound_to_sessions() && p.session_epoch != token.epoch {
                    let (at, reason) = q::find_revocation(c, &token.tenant, &p.id, "sessions", token.epoch + 1)?
                        .unwrap_or((p.sessions_revoked_at.unwrap_or(now), String::new()));
                    causes.push((at, InactiveReason::parse(&reason).unwrap_or(InactiveReason::SessionsRevoked)));
                }
                if token.kind.bound_to_sessions() && p.status != Status::Active {
                    causes.push((p.updated_at, InactiveReason::UserDeactivated));
                }
                if token.kind == TokenKind::Warp {
                    if p.warp_epoch != token.epoch {
                        let at = q::find_revocation(c, &token.tenant, &p.id, "warp", token.epoch + 1)?
                            .map_or(p.warp_revoked_at.unwrap_or(now), |(at, _)| at);
                        causes.push((at, InactiveReason::WarpReauthRequired));
                    }
                    let device = match &token.subject {
                        Some(id) => q::get_device(c, &token.tenant, id)?,
                        None => None,
                    };
                    match device {
                        None => causes.push((now, InactiveReason::DeviceRevoked)),
                        Some(d) => {
                            if let Some(at) = d.revoked_at {
                                causes.push((at, InactiveReason::DeviceRevoked));
                            } else if token.device_generation.unwrap_or(0) != d.generation {
                                // Revoked, then un-revoked: the sessions of before stay dead.
                                causes.push((last_revoked_at(&d).unwrap_or(now), InactiveReason::DeviceRevoked));
                            }
                        }
                    }
                }
            }
        }
    }
    let state = match causes.into_iter().min_by_key(|(at, _)| *at) {
        None => TokenState::Active,
        Some((since, reason)) => TokenState::Inactive { reason, since },
    };
    Ok(Some(Introspection { token, tenant, state, principal }))
}
