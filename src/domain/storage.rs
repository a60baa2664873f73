//! The storage interface the core is written against, and the query shapes it uses.
//!
//! The domain owns its types and this port; `crate::store` implements it (SQL for
//! SQLite and PostgreSQL). So dependencies point one way, store → domain, and an
//! operation reads as what it does to the world, not how rows are kept.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value as Json};

use super::cache::ReadCache;
use super::ids::SecretHasher;
use super::{
    App, AuditRecord, Credential, CredentialKind, Delegation, Device, Error, IssuedToken, NewPrincipal, Principal,
    Result, Status, Tenant, Timestamp, TokenKind,
};

/// A unit of work on one connection, type-erased so that [`Storage`] stays object-safe.
pub type TxFn = Box<dyn FnOnce(&mut dyn Tx) -> Result<Box<dyn Any + Send>> + Send>;
/// What [`Storage`] answers a unit of work with.
pub type TxFuture<'a> = Pin<Box<dyn Future<Output = Result<Box<dyn Any + Send>>> + Send + 'a>>;

/// Where tenants live. `read` sees every write committed before it; `write` is one
/// transaction: committed if the work returns `Ok`, rolled back otherwise.
pub trait Storage: Send + Sync {
    fn read_tx(&self, work: TxFn) -> TxFuture<'_>;
    fn write_tx(&self, work: TxFn) -> TxFuture<'_>;
    /// How secrets are hashed in this installation.
    fn secrets(&self) -> &SecretHasher;
    /// This node's exact memory of hot lookups, where the backend can keep one.
    fn cache(&self) -> Option<&ReadCache> {
        None
    }
}

impl dyn Storage + '_ {
    /// Runs `work` on a read connection.
    pub async fn read<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        unerase(self.read_tx(erase(work)).await)
    }

    /// Runs `work` in one transaction.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        F: FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        unerase(self.write_tx(erase(work)).await)
    }
}

fn erase<T: Send + 'static>(work: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static) -> TxFn {
    Box::new(move |tx| work(tx).map(|value| Box::new(value) as Box<dyn Any + Send>))
}

fn unerase<T: 'static>(answer: Result<Box<dyn Any + Send>>) -> Result<T> {
    answer?.downcast::<T>().map(|value| *value).map_err(|_| Error::Internal("storage answered another type".into()))
}

/// Which principals a status page lists: one status and, optionally, one role.
#[derive(Debug, Clone, Copy)]
pub struct StatusScope<'a> {
    pub status: Status,
    pub role: Option<&'a str>,
}

/// Filters for a page of principals: exact email, exact name, and a substring search.
#[derive(Debug, Clone, Default)]
pub struct PrincipalFilter {
    pub email: Option<String>,
    pub name: Option<String>,
    pub search: Option<String>,
}

impl PrincipalFilter {
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.name.is_none() && self.search.is_none()
    }
}

/// A named settings document of a tenant (e.g. the Access organization).
#[derive(Debug, Clone)]
pub struct Setting {
    pub document: Map<String, Json>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A token, its tenant, and (if a credential issued it) whether that credential is still
/// active.
pub type TokenInContext = (IssuedToken, Tenant, Option<bool>);

/// The reads and writes operations compose inside one [`Storage`] call, by concept.
///
/// An implementation notes, for the read cache ([`super::cache::Touched`]), every tenant
/// and principal whose state a write method changes: a new method that changes what a
/// cached lookup returns (a token's state, a credential, a user) must note it too, or the
/// cache would answer with what was there before.
pub trait Tx {
    // ---- tenants
    /// A tenant's (redacted) document: what it was created from, and what a reset restores.
    fn get_tenant_document(&mut self, account_id: &str) -> Result<Option<Json>>;
    fn insert_tenant(&mut self, tenant: &Tenant, document: &Json) -> Result<()>;
    fn get_tenant(&mut self, account_id: &str) -> Result<Option<Tenant>>;
    /// Reads a tenant to change it: locked until the transaction ends.
    fn get_tenant_for_update(&mut self, account_id: &str) -> Result<Option<Tenant>>;
    fn list_tenants(&mut self) -> Result<Vec<Tenant>>;
    /// Deletes everything a tenant holds except the tenant row itself (for reset and delete).
    fn clear_tenant_state(&mut self, account_id: &str) -> Result<()>;
    fn delete_tenant(&mut self, account_id: &str) -> Result<bool>;
    fn set_clock_offset(&mut self, account_id: &str, offset_ms: i64) -> Result<()>;
    /// Sets the clock's offset and whether (and at which instant) it is frozen.
    fn set_clock(&mut self, account_id: &str, offset_ms: i64, frozen_at: Option<Timestamp>) -> Result<()>;

    // ---- principals
    fn insert_principal(&mut self, tenant: &str, p: &NewPrincipal, now: Timestamp) -> Result<()>;
    /// Inserts many principals with few statements and counts them.
    fn insert_principals(&mut self, tenant: &str, principals: &[NewPrincipal], now: Timestamp) -> Result<()>;
    fn get_principal(&mut self, tenant: &str, id: &str) -> Result<Option<Principal>>;
    /// Reads a principal to change it: locked until the transaction ends.
    fn get_principal_for_update(&mut self, tenant: &str, id: &str) -> Result<Option<Principal>>;
    fn find_principal_by_email(&mut self, tenant: &str, email: &str) -> Result<Option<Principal>>;
    /// How many principals a scope holds, from the maintained counters (no scan).
    fn count_principals(&mut self, tenant: &str, scope: StatusScope) -> Result<i64>;
    /// The email of the principal at `index` (from 0) of a scope in email order: where a numbered page starts.
    fn email_at(&mut self, tenant: &str, scope: StatusScope, index: u64) -> Result<Option<String>>;
    /// Up to `limit` principals of a scope in email order after `after_email` (a keyset page).
    fn list_principals(
        &mut self,
        tenant: &str,
        scope: StatusScope,
        after_email: &str,
        limit: u32,
    ) -> Result<Vec<Principal>>;
    /// Every principal of a tenant (for summaries; tenants are small).
    fn all_principals(&mut self, tenant: &str) -> Result<Vec<Principal>>;
    /// Stores a principal's profile, status and license as given, keeping the counters right when its status or role changes.
    fn update_principal(&mut self, p: &Principal) -> Result<bool>;
    fn delete_principal(&mut self, tenant: &str, id: &str) -> Result<bool>;
    /// A page of principals in email order, `skip` from the start (page-numbered lists), each with its number of live (unrevoked) device registrations.
    fn page_principals(
        &mut self,
        tenant: &str,
        filter: &PrincipalFilter,
        skip: u64,
        limit: u32,
    ) -> Result<Vec<(Principal, i64)>>;
    /// How many principals match a [`PrincipalFilter`].
    fn count_filtered_principals(&mut self, tenant: &str, filter: &PrincipalFilter) -> Result<i64>;

    // ---- revocations
    /// Ends every session of a principal: one epoch increment and one revocation row; false if there is no such principal.
    fn revoke_sessions(&mut self, tenant: &str, id: &str, at: Timestamp, reason: &str) -> Result<bool>;
    /// Ends every token of a principal under a named revocation scope: one epoch increment and one revocation row; false if there is no such principal.
    fn revoke_scope(&mut self, tenant: &str, id: &str, scope: &str, at: Timestamp, reason: &str) -> Result<bool>;
    /// A principal's current epoch of a named revocation scope, and when it last moved.
    fn scope_epoch(&mut self, tenant: &str, principal: &str, scope: &str) -> Result<(i64, Option<Timestamp>)>;
    /// The revocation that started `epoch` of a principal's `scope`: when, and why.
    fn find_revocation(
        &mut self,
        tenant: &str,
        principal: &str,
        scope: &str,
        epoch: i64,
    ) -> Result<Option<(Timestamp, String)>>;
    /// Retention: up to `limit` revocations from before `before` that no remaining token needs.
    fn prune_revocations(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64>;

    // ---- credentials
    fn insert_credential(&mut self, cred: &Credential) -> Result<()>;
    /// Finds a credential by kind and lookup key (client id, token hash, key email), with its tenant.
    fn find_credential_in_context(
        &mut self,
        kind: &CredentialKind,
        lookup: &str,
    ) -> Result<Option<(Credential, Tenant)>>;

    // ---- tokens
    fn insert_token(&mut self, token: &IssuedToken) -> Result<()>;
    /// A token with its tenant and, if a credential issued it, whether that credential is still active.
    fn find_token_in_context(&mut self, hash: &str) -> Result<Option<TokenInContext>>;
    /// [`Tx::find_token_in_context`], and the principal `key` (an id, or an email if it has
    /// an `@`) of the token's tenant, in one query.
    fn find_token_in_context_and_principal(
        &mut self,
        hash: &str,
        key: &str,
    ) -> Result<Option<(TokenInContext, Option<Principal>)>>;
    /// A principal's tokens of one kind issued under `epoch` that have not expired.
    fn live_tokens(
        &mut self,
        tenant: &str,
        principal: &str,
        kind: TokenKind,
        epoch: i64,
        now: Timestamp,
    ) -> Result<Vec<IssuedToken>>;
    /// A principal's token of one kind by its nonce.
    fn find_token_by_nonce(&mut self, tenant: &str, principal: &str, nonce: &str) -> Result<Option<IssuedToken>>;
    /// Retention: up to `limit` tokens that expired before `before`.
    fn prune_expired_tokens(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64>;
    /// A principal's most recently issued token of the given kinds.
    fn latest_token(&mut self, tenant: &str, principal: &str, kinds: &[TokenKind; 2]) -> Result<Option<IssuedToken>>;

    // ---- delegations
    /// Adds a delegation; returns false if it already existed.
    fn insert_delegation(&mut self, tenant: &str, d: &Delegation) -> Result<bool>;
    /// The delegates (assistants) of a principal.
    fn delegates_of(&mut self, tenant: &str, principal: &str) -> Result<Vec<Delegation>>;
    /// The principals a delegate acts for (the delegate's schedulers).
    fn principals_delegating_to(&mut self, tenant: &str, delegate: &str) -> Result<Vec<Delegation>>;
    /// Removes delegations by principal and/or delegate; returns how many went.
    fn delete_delegations(&mut self, tenant: &str, principal: Option<&str>, delegate: Option<&str>) -> Result<u64>;

    // ---- devices
    fn insert_device(&mut self, d: &Device) -> Result<()>;
    /// Every device registration of a tenant, or of one principal, in id order.
    fn list_devices(&mut self, tenant: &str, principal: Option<&str>) -> Result<Vec<Device>>;
    /// The device registrations of one principal, to change them: locked, in id order.
    fn list_devices_for_update(&mut self, tenant: &str, principal: &str) -> Result<Vec<Device>>;
    fn get_device(&mut self, tenant: &str, id: &str) -> Result<Option<Device>>;
    /// A device registration to change it: locked until the transaction ends.
    fn get_device_for_update(&mut self, tenant: &str, id: &str) -> Result<Option<Device>>;
    fn touch_device(&mut self, tenant: &str, id: &str, at: Timestamp) -> Result<()>;
    /// Stores a registration's revocation time and generation, last-seen time and attributes as given.
    fn update_device(&mut self, d: &Device) -> Result<bool>;

    // ---- apps
    fn insert_app(&mut self, app: &App) -> Result<()>;
    fn list_apps(&mut self, tenant: &str) -> Result<Vec<App>>;

    // ---- settings
    /// A tenant's named settings document, if it has one.
    fn get_setting(&mut self, tenant: &str, name: &str) -> Result<Option<Setting>>;
    /// A settings document to change it: locked until the transaction ends.
    fn get_setting_for_update(&mut self, tenant: &str, name: &str) -> Result<Option<Setting>>;
    /// Creates a settings document; false if the tenant already has one of that name (on PostgreSQL a concurrent create from another node waits for this one, then finds it).
    fn insert_setting(&mut self, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<bool>;
    /// Creates or replaces a settings document.
    fn put_setting(&mut self, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<()>;

    // ---- audit
    fn insert_audit(
        &mut self,
        tenant: &str,
        at: Timestamp,
        actor: &str,
        action: &str,
        target: &str,
        detail: &Json,
    ) -> Result<()>;
    /// The journal of a tenant after sequence number `after`, oldest first.
    fn list_audit(&mut self, tenant: &str, after: i64, limit: i64) -> Result<Vec<AuditRecord>>;
    /// Retention: the oldest journal records (a prefix in sequence order) older than `before`, up to `limit`.
    fn prune_audit(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64>;
    /// The newest journal records of one action on one target since the tenant was last created or reset (the state a reset goes back to had none), newest first.
    fn list_audit_for(&mut self, tenant: &str, action: &str, target: &str, limit: i64) -> Result<Vec<AuditRecord>>;
}
