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
use crate::store::{Conn, Store, queries as q};

/// Lifetimes of the credentials userplane issues, in milliseconds.
pub mod ttl {
    pub const OAUTH_ACCESS: i64 = 3_600_000;
    pub const SSO: i64 = 24 * 3_600_000;
    pub const ZAK: i64 = 2 * 3_600_000;
    pub const ACCESS: i64 = 24 * 3_600_000;
    pub const WARP: i64 = 24 * 3_600_000;
}

/// What an operation on one tenant acts with: the store, the clock, the tenant (as read
/// when the request was authenticated) and who acts, for the journal.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub clock: &'a Clock,
    pub tenant: &'a Tenant,
    pub actor: &'a Actor,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, clock: &'a Clock, tenant: &'a Tenant, actor: &'a Actor) -> Self {
        Ctx { store, clock, tenant, actor }
    }
}

/// Records a change in the journal, inside the change's transaction.
fn audit(
    c: &mut dyn Conn,
    tenant: &str,
    at: Timestamp,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Json,
) -> Result<()> {
    Ok(q::insert_audit(c, tenant, at, &actor.0, action, target, &detail)?)
}
