//! The store's side of the core's storage port ([`crate::domain::Storage`]): each
//! [`Tx`] method is one query of [`queries`], on the connection of the unit of work.

use serde_json::{Map, Value as Json};

use super::{Conn, Store, queries};
use crate::domain::ids::SecretHasher;
use crate::domain::storage::{TxFn, TxFuture};
use crate::domain::{
    App, AuditRecord, Credential, CredentialKind, Delegation, Device, IssuedToken, NewPrincipal, Principal,
    PrincipalFilter, Result, Setting, StatusScope, Storage, Tenant, Timestamp, TokenKind, Tx,
};

impl Storage for Store {
    fn read_tx(&self, work: TxFn) -> TxFuture<'_> {
        Box::pin(self.read(move |c| work(&mut SqlTx(c))))
    }

    fn write_tx(&self, work: TxFn) -> TxFuture<'_> {
        Box::pin(self.write(move |c| work(&mut SqlTx(c))))
    }

    fn secrets(&self) -> &SecretHasher {
        Store::secrets(self)
    }
}

/// A connection seen through the core's [`Tx`] (also for the harness, which works on
/// connections and calls a domain step inside its own transaction).
pub struct SqlTx<'a>(pub &'a mut dyn Conn);

impl Tx for SqlTx<'_> {
    fn get_tenant_document(&mut self, account_id: &str) -> Result<Option<Json>> {
        Ok(queries::get_tenant_document(self.0, account_id)?)
    }

    fn insert_tenant(&mut self, tenant: &Tenant, document: &Json) -> Result<()> {
        Ok(queries::insert_tenant(self.0, tenant, document)?)
    }

    fn get_tenant(&mut self, account_id: &str) -> Result<Option<Tenant>> {
        Ok(queries::get_tenant(self.0, account_id)?)
    }

    fn get_tenant_for_update(&mut self, account_id: &str) -> Result<Option<Tenant>> {
        Ok(queries::get_tenant_for_update(self.0, account_id)?)
    }

    fn list_tenants(&mut self) -> Result<Vec<Tenant>> {
        Ok(queries::list_tenants(self.0)?)
    }

    fn clear_tenant_state(&mut self, account_id: &str) -> Result<()> {
        Ok(queries::clear_tenant_state(self.0, account_id)?)
    }

    fn delete_tenant(&mut self, account_id: &str) -> Result<bool> {
        Ok(queries::delete_tenant(self.0, account_id)?)
    }

    fn set_clock_offset(&mut self, account_id: &str, offset_ms: i64) -> Result<()> {
        Ok(queries::set_clock_offset(self.0, account_id, offset_ms)?)
    }

    fn set_clock(&mut self, account_id: &str, offset_ms: i64, frozen_at: Option<Timestamp>) -> Result<()> {
        Ok(queries::set_clock(self.0, account_id, offset_ms, frozen_at)?)
    }

    fn insert_principal(&mut self, tenant: &str, p: &NewPrincipal, now: Timestamp) -> Result<()> {
        Ok(queries::insert_principal(self.0, tenant, p, now)?)
    }

    fn insert_principals(&mut self, tenant: &str, principals: &[NewPrincipal], now: Timestamp) -> Result<()> {
        Ok(queries::insert_principals(self.0, tenant, principals, now)?)
    }

    fn get_principal(&mut self, tenant: &str, id: &str) -> Result<Option<Principal>> {
        Ok(queries::get_principal(self.0, tenant, id)?)
    }

    fn get_principal_for_update(&mut self, tenant: &str, id: &str) -> Result<Option<Principal>> {
        Ok(queries::get_principal_for_update(self.0, tenant, id)?)
    }

    fn find_principal_by_email(&mut self, tenant: &str, email: &str) -> Result<Option<Principal>> {
        Ok(queries::find_principal_by_email(self.0, tenant, email)?)
    }

    fn count_principals(&mut self, tenant: &str, scope: StatusScope) -> Result<i64> {
        Ok(queries::count_principals(self.0, tenant, scope)?)
    }

    fn email_at(&mut self, tenant: &str, scope: StatusScope, index: u64) -> Result<Option<String>> {
        Ok(queries::email_at(self.0, tenant, scope, index)?)
    }

    fn list_principals(
        &mut self,
        tenant: &str,
        scope: StatusScope,
        after_email: &str,
        limit: u32,
    ) -> Result<Vec<Principal>> {
        Ok(queries::list_principals(self.0, tenant, scope, after_email, limit)?)
    }

    fn all_principals(&mut self, tenant: &str) -> Result<Vec<Principal>> {
        Ok(queries::all_principals(self.0, tenant)?)
    }

    fn update_principal(&mut self, p: &Principal) -> Result<bool> {
        Ok(queries::update_principal(self.0, p)?)
    }

    fn delete_principal(&mut self, tenant: &str, id: &str) -> Result<bool> {
        Ok(queries::delete_principal(self.0, tenant, id)?)
    }

    fn page_principals(
        &mut self,
        tenant: &str,
        filter: &PrincipalFilter,
        skip: u64,
        limit: u32,
    ) -> Result<Vec<(Principal, i64)>> {
        Ok(queries::page_principals(self.0, tenant, filter, skip, limit)?)
    }

    fn count_filtered_principals(&mut self, tenant: &str, filter: &PrincipalFilter) -> Result<i64> {
        Ok(queries::count_filtered_principals(self.0, tenant, filter)?)
    }

    fn revoke_sessions(&mut self, tenant: &str, id: &str, at: Timestamp, reason: &str) -> Result<bool> {
        Ok(queries::revoke_sessions(self.0, tenant, id, at, reason)?)
    }

    fn revoke_scope(&mut self, tenant: &str, id: &str, scope: &str, at: Timestamp, reason: &str) -> Result<bool> {
        Ok(queries::revoke_scope(self.0, tenant, id, scope, at, reason)?)
    }

    fn scope_epoch(&mut self, tenant: &str, principal: &str, scope: &str) -> Result<(i64, Option<Timestamp>)> {
        Ok(queries::scope_epoch(self.0, tenant, principal, scope)?)
    }

    fn find_revocation(
        &mut self,
        tenant: &str,
        principal: &str,
        scope: &str,
        epoch: i64,
    ) -> Result<Option<(Timestamp, String)>> {
        Ok(queries::find_revocation(self.0, tenant, principal, scope, epoch)?)
    }

    fn prune_revocations(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
        Ok(queries::prune_revocations(self.0, tenant, before, limit)?)
    }

    fn insert_credential(&mut self, cred: &Credential) -> Result<()> {
        Ok(queries::insert_credential(self.0, cred)?)
    }

    fn find_credential(&mut self, kind: &CredentialKind, lookup: &str) -> Result<Option<Credential>> {
        Ok(queries::find_credential(self.0, kind, lookup)?)
    }

    fn insert_token(&mut self, token: &IssuedToken) -> Result<()> {
        Ok(queries::insert_token(self.0, token)?)
    }

    fn find_token_in_context(&mut self, hash: &str) -> Result<Option<(IssuedToken, Tenant, Option<bool>)>> {
        Ok(queries::find_token_in_context(self.0, hash)?)
    }

    fn live_tokens(
        &mut self,
        tenant: &str,
        principal: &str,
        kind: TokenKind,
        epoch: i64,
        now: Timestamp,
    ) -> Result<Vec<IssuedToken>> {
        Ok(queries::live_tokens(self.0, tenant, principal, kind, epoch, now)?)
    }

    fn find_token_by_nonce(&mut self, tenant: &str, principal: &str, nonce: &str) -> Result<Option<IssuedToken>> {
        Ok(queries::find_token_by_nonce(self.0, tenant, principal, nonce)?)
    }

    fn prune_expired_tokens(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
        Ok(queries::prune_expired_tokens(self.0, tenant, before, limit)?)
    }

    fn latest_token(&mut self, tenant: &str, principal: &str, kinds: &[TokenKind; 2]) -> Result<Option<IssuedToken>> {
        Ok(queries::latest_token(self.0, tenant, principal, kinds)?)
    }

    fn insert_delegation(&mut self, tenant: &str, d: &Delegation) -> Result<bool> {
        Ok(queries::insert_delegation(self.0, tenant, d)?)
    }

    fn delegates_of(&mut self, tenant: &str, principal: &str) -> Result<Vec<Delegation>> {
        Ok(queries::delegates_of(self.0, tenant, principal)?)
    }

    fn principals_delegating_to(&mut self, tenant: &str, delegate: &str) -> Result<Vec<Delegation>> {
        Ok(queries::principals_delegating_to(self.0, tenant, delegate)?)
    }

    fn delete_delegations(&mut self, tenant: &str, principal: Option<&str>, delegate: Option<&str>) -> Result<u64> {
        Ok(queries::delete_delegations(self.0, tenant, principal, delegate)?)
    }

    fn insert_device(&mut self, d: &Device) -> Result<()> {
        Ok(queries::insert_device(self.0, d)?)
    }

    fn list_devices(&mut self, tenant: &str, principal: Option<&str>) -> Result<Vec<Device>> {
        Ok(queries::list_devices(self.0, tenant, principal)?)
    }

    fn list_devices_for_update(&mut self, tenant: &str, principal: &str) -> Result<Vec<Device>> {
        Ok(queries::list_devices_for_update(self.0, tenant, principal)?)
    }

    fn get_device(&mut self, tenant: &str, id: &str) -> Result<Option<Device>> {
        Ok(queries::get_device(self.0, tenant, id)?)
    }

    fn get_device_for_update(&mut self, tenant: &str, id: &str) -> Result<Option<Device>> {
        Ok(queries::get_device_for_update(self.0, tenant, id)?)
    }

    fn touch_device(&mut self, tenant: &str, id: &str, at: Timestamp) -> Result<()> {
        Ok(queries::touch_device(self.0, tenant, id, at)?)
    }

    fn update_device(&mut self, d: &Device) -> Result<bool> {
        Ok(queries::update_device(self.0, d)?)
    }

    fn insert_app(&mut self, app: &App) -> Result<()> {
        Ok(queries::insert_app(self.0, app)?)
    }

    fn list_apps(&mut self, tenant: &str) -> Result<Vec<App>> {
        Ok(queries::list_apps(self.0, tenant)?)
    }

    fn get_setting(&mut self, tenant: &str, name: &str) -> Result<Option<Setting>> {
        Ok(queries::get_setting(self.0, tenant, name)?)
    }

    fn get_setting_for_update(&mut self, tenant: &str, name: &str) -> Result<Option<Setting>> {
        Ok(queries::get_setting_for_update(self.0, tenant, name)?)
    }

    fn insert_setting(&mut self, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<bool> {
        Ok(queries::insert_setting(self.0, tenant, name, doc, now)?)
    }

    fn put_setting(&mut self, tenant: &str, name: &str, doc: &Map<String, Json>, now: Timestamp) -> Result<()> {
        Ok(queries::put_setting(self.0, tenant, name, doc, now)?)
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
        Ok(queries::insert_audit(self.0, tenant, at, actor, action, target, detail)?)
    }

    fn list_audit(&mut self, tenant: &str, after: i64, limit: i64) -> Result<Vec<AuditRecord>> {
        Ok(queries::list_audit(self.0, tenant, after, limit)?)
    }

    fn prune_audit(&mut self, tenant: &str, before: Timestamp, limit: u32) -> Result<u64> {
        Ok(queries::prune_audit(self.0, tenant, before, limit)?)
    }

    fn list_audit_for(&mut self, tenant: &str, action: &str, target: &str, limit: i64) -> Result<Vec<AuditRecord>> {
        Ok(queries::list_audit_for(self.0, tenant, action, target, limit)?)
    }
}
