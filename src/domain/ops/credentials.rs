use serde_json::json;

use super::super::ids;
use super::super::provider::{SESSIONS, TokenSpec};
use super::super::{Credential, CredentialKind, Error, IssuedToken, Principal, Result, Status, Tenant};
use super::{Ctx, audit};
use crate::domain::Storage;
use crate::domain::cache::{Key, Value};

/// Finds an API credential by kind and lookup key.
pub async fn find_credential(
    store: &dyn Storage,
    kind: CredentialKind,
    lookup: &str,
) -> Result<Option<(Credential, Tenant)>> {
    let Some(cache) = store.cache() else { return read_credential(store, kind, lookup).await };
    let key = Key::Credential(kind.clone(), lookup.to_owned());
    if let Some(Value::Credential(found)) = cache.get(&key) {
        return Ok(Some(*found));
    }
    let fill = cache.begin();
    let found = read_credential(store, kind, lookup).await?;
    // A credential row never changes; its tenant's clock or state may (a tenant write).
    if let Some(found) = &found {
        let tenant = found.1.account_id.clone();
        cache.fill(fill, key, Value::Credential(Box::new(found.clone())), &tenant, None);
    }
    Ok(found)
}

async fn read_credential(
    store: &dyn Storage,
    kind: CredentialKind,
    lookup: &str,
) -> Result<Option<(Credential, Tenant)>> {
    let lookup = lookup.to_owned();
    store.read(move |c| c.find_credential_in_context(&kind, &lookup)).await
}

/// Issues a new bearer token of a kind its dialect declares; returns it in clear (the
/// only time it exists in clear). `principal`, when given, is the user it is for (or an
/// app token's owner, for `me`).
pub async fn issue_token(
    ctx: Ctx<'_>,
    spec: &TokenSpec,
    principal: Option<&Principal>,
    credential: Option<&str>,
    grants: Vec<String>,
    ttl_ms: i64,
    subject: Option<String>,
) -> Result<(String, IssuedToken)> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let secret = ids::new_secret(spec.prefix);
    let now = tenant.now(clock);
    let mut token = IssuedToken {
        hash: store.secrets().hash(&secret),
        tenant: tenant.account_id.clone(),
        kind: spec.kind.clone(),
        principal: principal.map(|p| p.id.clone()),
        credential: credential.map(str::to_owned),
        grants,
        scope: spec.scope.map(str::to_owned),
        epoch: principal.map_or(0, |p| p.session_epoch),
        issued_at: now,
        expires_at: now + ttl_ms,
        subject,
        nonce: ids::nonce(),
        device_generation: None,
    };
    let actor = actor.clone();
    let token = store
        .write(move |c| {
            if let (Some(id), Some(scope)) = (token.principal.clone(), token.scope.clone()) {
                // The principal may have been revoked or deactivated since it was read:
                // never issue a session under a dead epoch, or for an inactive user.
                let current =
                    c.get_principal_for_update(&token.tenant, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
                if scope == SESSIONS {
                    if current.session_epoch != token.epoch || current.status != Status::Active {
                        return Err(Error::Refused("the user's sessions changed while logging in; try again".into()));
                    }
                } else {
                    token.epoch = c.scope_epoch(&token.tenant, &id, &scope)?.0;
                }
            }
            c.insert_token(&token)?;
            let target = token.principal.clone().unwrap_or_else(|| token.credential.clone().unwrap_or_default());
            let detail = json!({"kind": token.kind.as_str(), "nonce": token.nonce});
            audit(c, &token.tenant, now, &actor, "token.issued", &target, detail)?;
            Ok(token)
        })
        .await?;
    Ok((secret, token))
}
