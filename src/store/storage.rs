//! The store's side of the core's storage port ([`crate::domain::Storage`]): each
//! [`Tx`] method is one query of [`queries`], on the connection of the unit of work.

use serde_json::{Map, Value as Json};

use super::{Conn, Store, queries};
use crate::domain::cache::{ReadCache, Touched};
use crate::domain::ids::SecretHasher;
use crate::domain::storage::{TxFn, TxFuture};
use crate::domain::{
    App, AuditRecord, Credential, CredentialKind, Delegation, Device, IssuedToken, NewPrincipal, Principal,
    PrincipalFilter, Result, Setting, StatusScope, Storage, Tenant, Timestamp, TokenInContext, TokenKind, Tx,
};

impl Storage for Store {
    fn read_tx(&self, work: TxFn) -> TxFuture<'_> {
        Box::pin(self.read(move |c| work(&mut SqlTx::new(c))))
    }

    fn write_tx(&self, work: TxFn) -> TxFuture<'_> {
        Box::pin(self.write_touching(move |c| {
            let mut tx = SqlTx::new(c);
            let value = work(&mut tx)?;
            Ok((value, tx.touched))
        }))
    }

    fn secrets(&self) -> &SecretHasher {
        Store::secrets(self)
    }

    fn cache(&self) -> Option<&ReadCache> {
        self.cache.as_deref()
    }
}

/// A connection seen through the core's [`Tx`] (also for the harness, which works on
/// connections and calls a domain step inside its own transaction). It notes which
/// tenants and principals its writes touch, for the read cache: each method that changes
/// a tenant, its credentials or its clock notes the tenant; each that changes a
/// principal's row, epochs or devices notes the principal. The journal, delegations,
/// settings and apps are read by no cached lookup, and a new principal, token or device
/// changes nothing that is cached (only what was found is remembered).
pub struct SqlTx<'a> {
    conn: &'a mut dyn Conn,
    touched: Touched,
}

impl<'a> SqlTx<'a> {
    pub fn new(conn: &'a mut dyn Conn) -> Self {
        SqlTx { conn, touched: Touched::default() }
    }
}

impl Tx for SqlTx<'_> {
    fn get_tenant_document(&mut self, account_id: &str) -> Result<Option<Json>> {
        Ok(queries::get_tenant_document(self.conn, account_id)?)
    }

    fn insert_tenant(&mut self, tenant: &Tenant, document: &Json) -> Result<()> {
        self.touched.tenant(&tenant.account_id);
        Ok(queries::insert_tenant(self.conn, tenant, document)?)
    }

    fn get_tenant(&mut self, account_id: &str) -> Result<Option<Tenant>> {
        Ok(queries::get_tenant(self.conn, account_id)?)
    }

    fn get_tenant_for_update(&mut self, account_id: &str) -> Result<Option<Tenant>> {
        Ok(queries::get_tenant_for_update(self.conn, account_id)?)
    }

    fn list_tenants(&mut self) -> Result<Vec<Tenant>> {
        Ok(queries::list_tenants(self.conn)?)
    }

    fn clear_tenant_state(&mut self, account_id: &str) -> Result<()> {
        self.touched.tenant(account_id);
        Ok(queries::clear_tenant_state(self.conn, account_id)?)
    }

    fn delete_tenant(&mut self, account_id: &str) -> Result<bool> {
        self.touched.tenant(account_id);
        Ok(queries::delete_tenant(self.conn, account_id)?)
    }

    fn set_clock_offset(&mut self, account_id: &str, offset_ms: i64) -> Result<()> {
        self.touched.tenant(account_id);
        Ok(queries::set_clock_offset(self.conn, account_id, offset_ms)?)
    }

    fn set_clock(&mut self, account_id: &str, offset_ms: i64, frozen_at: Option<Timestamp>) -> Result<()> {
        self.touched.tenant(account_id);
        Ok(queries::set_clock(self.conn, account_id, offset_ms, frozen_at)?)
    }

    fn insert_principal(&mut self, tenant: &str, p: &NewPrincipal, now: Timestamp) -> Result<()> {
        Ok(queries::insert_principal(self.conn, tenant, p, now)?)
    }

    fn insert_principals(&mut self, tenant: &str, principals: &[NewPrincipal], now: Timestamp) -> Result<()> {
        Ok(queries::insert_principals(self.conn, tenant, principals, now)?)
    }

    fn get_principal(&mut self, tenant: &str, id: &str) -> Result<Option<Principal>> {
        Ok(queries::get_principal(self.conn, tenant, id)?)
    }

    fn get_principal_for_update(&mut self, tenant: &str, id: &str) -> Result<Option<Principal>> {
        Ok(queries::get_principal_for_update(self.conn, tenant, id)?)
    }

    fn find_principal_by_email(&mut self, tenant: &str, email: &str) -> Result<Option<Principal>> {
        Ok(queries::find_principal_by_email(self.conn, tenant, email)?)
    }

    fn count_principals(&mut self, tenant: &str, scope: StatusScope) -> Result<i64> {
        Ok(queries::count_principals(self.conn, tenant, scope)?)
    }

    fn email_at(&mut self, tenant: &str, scope: StatusScope, index: u64) -> Result<Option<String>> {
        Ok(queries::email_at(self.conn, tenant, scope, index)?)
    }

    fn list_principals(
        &mut self,
        tenant: &str,
        scope: StatusScope,
        after_email: &str,
        limit: u32,
    ) -> Result<Vec<Principal>> {
        Ok(queries::list_principals(self.conn, tenant, scope, after_email, limit)?)
    }

    fn all_principals(&mut self, tenant: &str) -> Result<Vec<Principal>> {
        Ok(queries::all_principals(self.conn, tenant)?)
    }

    fn update_principal(&mut self, p: &Principal) -> Result<bool> {
        self.touched.principal(&p.tenant, &p.id);
        Ok(queries::update_principal(self.conn, p)?)
    }

    fn delete_principal(&mut self, tenant: &str, id: &str) -> Result<bool> {
        self.touched.principal(tenant, id);
        Ok(queries::delete_principal(self.conn, tenant, id)?)
    }

    fn page_principals(
        &mut self,
        tenant: &str,
        filter: &PrincipalFilter,
        skip: u64,
        limit: u32,
    ) -> Result<Vec<(Principal, i64)>> {
        Ok(queries::page_principals(self.conn, tenant, filter, skip, limit)?)
    }

    fn count_filtered_principals(&mut self, tenant: &str, filter: &PrincipalFilter) -> Result<i64> {
        Ok(queries::count_filtered_principals(self.conn, tenant, filter)?)
    }

    fn revoke_sessions(&mut self, tenant: &str, id: &str, at: Timestamp, reason: &str) -> Result<bool> {
        self.touched.principal(tenant, id);
        Ok(queries::revoke_sessions(self.conn, tenant, id, at, reason)?)
    }

    fn revoke_scope(&mut self, tenant: &str, id: &str, scope: &str, at: Timestamp, reason: &str) -> Result<bool> {
        self.touched.principal(tenant, id);
        Ok(queries::revoke_scope(self.conn, tenant, id, scope, at, reason)?)
    }

    fn scope_epoch(&mut self, tenant: &str, principal: &str, scope: &str) -> Result<(i64, Option<Timestamp>)> {
        Ok(queries::scope_epoch(self.conn, tenant, principal, scope)?)
    }

    fn find_revocation(
        &mut self,
        tenant: &str,
        principal: &str,
        scope: &str,
        epoch: i64,
    ) -> Result<Option<(Timestamp, String)>> {
        Ok(queries::find_revocation(self.conn, tenant, principal, scope, epoch)?)
    }

    fn prune_revocations(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
        Ok(queries::prune_revocations(self.conn, tenant, before, limit)?)
    }

    fn insert_credential(&mut self, cred: &Credential) -> Result<()> {
        self.touched.tenant(&cred.tenant);
        Ok(queries::insert_credential(self.conn, cred)?)
    }

    fn find_credential_in_context(
        &mut self,
        kind: &CredentialKind,
        lookup: &str,
    ) -> Result<Option<(Credential, Tenant)>> {
        Ok(queries::find_credential_in_context(self.conn, kind, lookup)?)
    }

    fn insert_token(&mut self, token: &IssuedToken) -> Result<()> {
        Ok(queries::insert_token(self.conn, token)?)
    }

    fn find_token_in_context(&mut self, hash: &str) -> Result<Option<TokenInContext>> {
        Ok(queries::find_token_in_context(self.conn, hash)?)
    }

    fn find_token_in_context_and_principal(
        &mut self,
        hash: &str,
        key: &str,
    ) -> Result<Option<(TokenInContext, Option<Principal>)>> {
        Ok(queries::find_token_in_context_and_principal(self.conn, hash, key)?)
    }

    fn live_tokens(
        &mut self,
        tenant: &str,
        principal: &str,
        kind: TokenKind,
        epoch: i64,
        now: Timestamp,
    ) -> Result<Vec<IssuedToken>> {
        Ok(queries::live_tokens(self.conn, tenant, principal, kind, epoch, now)?)
    }

    fn find_token_by_nonce(&mut self, tenant: &str, principal: &str, nonce: &str) -> Result<Option<IssuedToken>> {
        Ok(queries::find_token_by_nonce(self.conn, tenant, principal, nonce)?)
    }

    fn prune_expired_tokens(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
        self.touched.tenant(tenant);
        Ok(queries::prune_expired_tokens(self.conn, tenant, before, limit)?)
    }

    fn latest_token(&mut self, tenant: &str, principal: &str, kinds: &[TokenKind; 2]) -> Result<Option<IssuedToken>> {
        Ok(queries::latest_token(self.conn, tenant, principal, kinds)?)
    }

    fn insert_delegation(&mut self, tenant: &str, d: &Delegation) -> Result<bool> {
        Ok(queries::insert_delegation(self.conn, tenant, d)?)
    }

    fn delegates_of(&mut self, tenant: &str, principal: &str) -> Result<Vec<Delegation>> {
        Ok(queries::delegates_of(self.conn, tenant, principal)?)
    }

    fn principals_delegating_to(&mut self, tenant: &str, delegate: &str) -> Result<Vec<Delegation>> {
        Ok(queries::principals_delegating_to(self.conn, tenant, delegate)?)
    }

    fn delete_delegations(&mut self, tenant: &str, principal: Option<&str>, delegate: Option<&str>) -> Result<u64> {
        Ok(queries::delete_delegations(self.conn, tenant, principal, delegate)?)
    }

    fn insert_device(&mut self, d: &Device) -> Result<()> {
        Ok(queries::insert_device(self.conn, d)?)
    }

    fn list_devices(&mut self, tenant: &str, principal: Option<&str>) -> Result<Vec<Device>> {
        Ok(queries::list_devices(self.conn, tenant, principal)?)
    }

    fn list_devices_for_update(&mut self, tenant: &str, principal: &str) -> Result<Vec<Device>> {
        Ok(queries::list_devices_for_update(self.conn, tenant, principal)?)
    }

    fn get_device(&mut self, tenant: &str, id: &str) -> Result<Option<Device>> {
        Ok(queries::get_device(self.conn, tenant, id)?)
    }

    fn get_device_for_update(&mut self, tenant: &str, id: &str) -> Result<Option<Device>> {
        Ok(queries::get_device_for_update(self.conn, tenant, id)?)
    }

    fn touch_device(&mut self, tenant: &str, id: &str, at: Timestamp) -> Result<()> {
        Ok(queries::touch_device(self.conn, tenant, id, at)?)
    }

    fn update_device(&mut self, d: &Device) -> Result<bool> {
        self.touched.principal(&d.tenant, &d.principal);
        Ok(queries::update_device(self.conn, d)?)
    }

    fn insert_app(&mut self, app: &App) -> Result<()> {
        Ok(queries::insert_app(self.conn, app)?)
    }

    fn list_apps(&mut self, tenant: &str) -> Result<Vec<App>> {
        Ok(queries::list_apps(self.conn, tenant)?)
    }

    fn get_setting(&mut self, tenant: &str, name: &str) -> Result<Option<Setting>> {
        Ok(queries::get_setting(self.conn, tenant, name)?)
    }

    fn get_setting_for_update(&mut self, tenant: &str, name: &str) -> Result<Option<Setting>> {
        Ok(queries::get_setting_for_update(self.conn, tenant, name)?)
    }

    fn insert_setting(&mut self, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<bool> {
        Ok(queries::insert_setting(self.conn, tenant, name, doc, now)?)
    }

    fn put_setting(&mut self, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<()> {
        Ok(queries::put_setting(self.conn, tenant, name, doc, now)?)
    }

    fn insert_audit(
        &mut self,
        tenant: &str,
        at: Timestamp,
        actor: &str,
        action: &str,
        target: &str,
        detail: &Json,
    ) -> Result<()> {
        Ok(queries::insert_audit(self.conn, tenant, at, actor, action, target, detail)?)
    }

    fn list_audit(&mut self, tenant: &str, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        Ok(queries::list_audit(self.conn, tenant, after, limit)?)
    }

    fn prune_audit(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
        Ok(queries::prune_audit(self.conn, tenant, before, limit)?)
    }

    fn list_audit_for(&mut self, tenant: &str, action: &str, target: &str, limit: i64) -> Result<Vec<AuditRecord>> {
        Ok(queries::list_audit_for(self.conn, tenant, action, target, limit)?)
    }
}
