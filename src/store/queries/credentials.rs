use std::sync::LazyLock;

use super::super::{Conn, Row};
use super::tenants::{tenant_at, tenant_columns};
use super::{Result, json_list, json_text, qualified};
use crate::domain::{Credential, CredentialKind, Tenant};

const CREDENTIAL_COLUMNS: &str = "tenant, id, kind, lookup, secret_hash, grants, owner, status, created_at, expires_at";

fn credential_from(row: &Row) -> Result<Credential> {
    Ok(Credential {
        tenant: row.text(0),
        id: row.text(1),
        kind: CredentialKind::parse(&row.text(2)),
        lookup: row.text(3),
        secret_hash: row.text(4),
        grants: json_list(&row.text(5)),
        owner: row.opt_text(6),
        status: row.text(7),
        created_at: row.int(8),
        expires_at: row.opt_int(9),
    })
}

pub fn insert_credential(c: &mut dyn Conn, cred: &Credential) -> Result<()> {
    c.execute(
        "INSERT INTO credentials (tenant, id, kind, lookup, secret_hash, grants, owner, status, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            cred.tenant.as_str().into(),
            cred.id.as_str().into(),
            cred.kind.as_str().into(),
            cred.lookup.as_str().into(),
            cred.secret_hash.as_str().into(),
            json_text(&cred.grants).into(),
            cred.owner.clone().into(),
            cred.status.as_str().into(),
            cred.created_at.into(),
            cred.expires_at.into(),
        ],
    )?;
    Ok(())
}

/// A credential by kind and lookup key (client id, token hash, key email), with its
/// tenant, in one query.
pub fn find_credential_in_context(
    c: &mut dyn Conn,
    kind: &CredentialKind,
    lookup: &str,
) -> Result<Option<(Credential, Tenant)>> {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT {}, {} FROM credentials c JOIN tenants n ON n.account_id = c.tenant
             WHERE c.kind = $1 AND c.lookup = $2",
            qualified("c", CREDENTIAL_COLUMNS),
            tenant_columns("n")
        )
    });
    let rows = c.query(&SQL, &[kind.as_str().into(), lookup.into()])?;
    let Some(row) = rows.first() else { return Ok(None) };
    Ok(Some((credential_from(row)?, tenant_at(row, CREDENTIAL_COLUMNS.split(',').count())?)))
}
