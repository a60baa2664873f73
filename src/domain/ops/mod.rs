//! The operations every dialect calls, one module per concept. Each state change is one
//! store transaction that also writes its audit record.

mod audit;
mod credentials;
mod delegations;
mod devices;
mod introspection;
mod logins;
mod principals;
mod settings;
mod tenants;

pub use audit::*;
pub use credentials::*;
pub use delegations::*;
pub use devices::*;
pub use introspection::*;
pub use logins::*;
pub use principals::*;
pub use settings::*;
pub use tenants::*;

use serde_json::Value as Json;

use super::{Actor, Clock, Result, Tenant, Timestamp};
use crate::domain::{Storage, Tx};

/// What an operation on one tenant acts with: the store, the clock, the tenant (as read
/// when the request was authenticated) and who acts, for the journal.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub store: &'a dyn Storage,
    pub clock: &'a Clock,
    pub tenant: &'a Tenant,
    pub actor: &'a Actor,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a dyn Storage, clock: &'a Clock, tenant: &'a Tenant, actor: &'a Actor) -> Self {
        Ctx { store, clock, tenant, actor }
    }
}

/// Records a change in the journal, inside the change's transaction.
fn audit(
    c: &mut dyn Tx,
    tenant: &str,
    at: Timestamp,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Json,
) -> Result<()> {
    c.insert_audit(tenant, at, &actor.0, action, target, &detail)
}
