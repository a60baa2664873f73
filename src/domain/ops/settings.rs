use serde_json::{Map, Value as Json, json};

use super::super::{Error, Result};
use super::{Ctx, audit};
use crate::domain::{Setting, Storage};

/// A tenant's named settings document (e.g. a Cloudflare Access organization), if it has one.
pub async fn get_setting(store: &dyn Storage, tenant: &str, name: &str) -> Result<Option<Setting>> {
    let (tenant, name) = (tenant.to_owned(), name.to_owned());
    store.read(move |c| c.get_setting(&tenant, &name)).await
}

/// Creates a settings document (a conflict if it exists) or updates one (not found if
/// it does not), merging `fields` over what is stored. Returns it as stored.
pub async fn put_setting(ctx: Ctx<'_>, name: &'static str, create: bool, fields: Map<String, Json>) -> Result<Setting> {
    let Ctx { store, clock, tenant, actor } = ctx;
    let (account, now, actor) = (tenant.account_id.clone(), tenant.now(clock), actor.clone());
    store
        .write(move |c| {
            let changed: Vec<String> = fields.keys().cloned().collect();
            if create {
                // One statement decides: of two creates from two nodes, one finds the other's.
                if !c.insert_setting(&account, name, &fields, now)? {
                    return Err(Error::Conflict(format!("{name} already exists")));
                }
            } else {
                // Locked: a concurrent update of other fields waits, then merges over ours.
                let mut document = c
                    .get_setting_for_update(&account, name)?
                    .ok_or_else(|| Error::not_found("setting", name))?
                    .document;
                document.extend(fields);
                c.put_setting(&account, name, &document, now)?;
            }
            let action = if create { "setting.created" } else { "setting.updated" };
            audit(c, &account, now, &actor, action, name, json!({"fields": changed}))?;
            c.get_setting(&account, name)?.ok_or_else(|| Error::Internal("setting vanished".into()))
        })
        .await
}
