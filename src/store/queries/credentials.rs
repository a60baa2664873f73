use super::super::{Conn, Row};
use super::{Result, json_list, json_text};
use crate::domain::{Credential, CredentialKind};

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

/// Finds a credential by kind and lookup key (client id, token hash, key email).
pub fn find_credential(c: &mut dyn Conn, kind: &CredentialKind, lookup: &str) -> Result<Option<Credential>> {
    let rows = c.query(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE kind = $1 AND lookup = $2"),
        &[kind.as_str().into(), lookup.into()],
    )?;
    rows.first().map(credential_from).transpose()
}
