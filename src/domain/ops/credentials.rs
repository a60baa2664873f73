use serde_json::json;

use super::super::ids;
use super::super::{Credential, CredentialKind, Error, IssuedToken, Principal, Result, Status, Tenant, TokenKind};
use super::{Ctx, audit};
use crate::store::{Store, queries as q};

/// Finds an API credential by kind and lookup key.
pub async fn find_credential(
    store: &Store,
    kind: CredentialKind,
    lookup: &str,
) -> Result<Option<(Credential, Tenant)>> {
    let lookup = lookup.to_owned();
    store
        .read(move |c| {
            let Some(cred) = q::find_credential(c, kind, &lookup)? else { return Ok(None) };
            let tenant =
                q::get_tenant(c, &cred.tenant)?.ok_or_else(|| Error::Internal("credential without tenant".into()))?;
            Ok(Some((cred, tenant)))
        })
        .await
}

/// Issues a new bearer token; returns it in clear (the only time it exists in clear).
#[allow(clippy::too_many_arguments)]
pub async fn issue_token(
    ctx: Ctx<'_>,
    kind: TokenKind,
    principal: Option<&Principal>,
    credential: Option<&str>,
    grants: Vec<String>,
    ttl_ms: i64,
    subject: Option<String>,
) -> Result<(String, IssuedToken)> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let secret = ids::new_secret(token_prefix(kind));
    let now = tenant.now(clock);
    let epoch = match (kind, principal) {
        (TokenKind::Warp, Some(p)) => p.warp_epoch,
        (_, Some(p)) => p.session_epoch,
        (_, None) => 0,
    };
    let token = IssuedToken {
        hash: store.secrets().hash(&secret),
        tenant: tenant.account_id.clone(),
        kind,
        principal: principal.map(|p| p.id.clone()),
        credential: credential.map(str::to_owned),
        grants,
        epoch,
        issued_at: now,
        expires_at: now + ttl_ms,
        subject,
        nonce: ids::nonce(),
        device_generation: None,
    };
    let stored = token.clone();
    let actor = actor.clone();
    let expected_epoch = principal.map(|_| epoch);
    store
        .write(move |c| {
            // The principal may have been revoked or deactivated since it was read:
            // never issue a session under a dead epoch, or for an inactive user.
            let session_like = token.kind.bound_to_sessions() || token.kind == TokenKind::Warp;
            if let (Some(id), Some(epoch), true) = (&token.principal, expected_epoch, session_like) {
                let current =
                    q::get_principal_for_update(c, &token.tenant, id)?.ok_or_else(|| Error::not_found("user", id))?;
                let current_epoch =
                    if token.kind == TokenKind::Warp { current.warp_epoch } else { current.session_epoch };
                if current_epoch != epoch || (token.kind.bound_to_sessions() && current.status != Status::Active) {
                    return Err(Error::Refused("the user's sessions changed while logging in; try again".into()));
                }
            }
            q::insert_token(c, &token)?;
            let target = token.principal.clone().unwrap_or_else(|| token.credential.clone().unwrap_or_default());
            audit(
                c,
                &token.tenant,
                now,
                &actor,
                "token.issued",
                &target,
                json!({"kind": token.kind.as_str(), "nonce": token.nonce}),
            )
        })
        .await?;
    Ok((secret, stored))
}

/// How the tokens of each kind begin (so that a leaked one says what it is).
pub(super) fn token_prefix(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::OauthAccess | TokenKind::UserOauth => "upz_at_",
        TokenKind::Sso => "upz_sso_",
        TokenKind::Zak => "upz_zak_",
        TokenKind::Access => "upcf_access_",
        TokenKind::Warp => "upcf_warp_",
    }
}
