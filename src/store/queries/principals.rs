use super::super::{Conn, Row, Value};
use super::{Result, for_update, insert_rows, json_map, json_text, offset_value};
use crate::domain::{NewPrincipal, Principal, PrincipalFilter, Status, StatusScope, Timestamp};

const PRINCIPAL_COLUMNS: &str = "tenant, id, email, first_name, last_name, license, role, status, attributes, \
     created_at, updated_at, session_epoch, sessions_revoked_at, sessions_revoked_reason, \
     last_login_at";

/// [`PRINCIPAL_COLUMNS`] of the table named `alias` (for joins).
pub(super) fn principal_columns(alias: &str) -> String {
    super::qualified(alias, PRINCIPAL_COLUMNS)
}

fn principal_from(row: &Row) -> Principal {
    principal_at(row, 0)
}

/// A principal from [`PRINCIPAL_COLUMNS`] starting at column `at` (for joins).
pub(super) fn principal_at(row: &Row, at: usize) -> Principal {
    Principal {
        tenant: row.text(at),
        id: row.text(at + 1),
        email: row.text(at + 2),
        first_name: row.text(at + 3),
        last_name: row.text(at + 4),
        license: row.int(at + 5),
        role: row.text(at + 6),
        status: Status::parse(&row.text(at + 7)).unwrap_or(Status::Inactive),
        attributes: json_map(&row.text(at + 8)),
        created_at: row.int(at + 9),
        updated_at: row.int(at + 10),
        session_epoch: row.int(at + 11),
        sessions_revoked_at: row.opt_int(at + 12),
        sessions_revoked_reason: row.opt_text(at + 13),
        last_login_at: row.opt_int(at + 14),
    }
}

fn principal_row(tenant: &str, p: &NewPrincipal, now: Timestamp) -> Vec<Value> {
    vec![
        tenant.into(),
        p.id.as_str().into(),
        p.email.as_str().into(),
        p.first_name.as_str().into(),
        p.last_name.as_str().into(),
        p.license.into(),
        p.role.as_str().into(),
        p.status.as_str().into(),
        json_text(&p.attributes).into(),
        now.into(),
        now.into(),
    ]
}

const INSERT_PRINCIPALS: &str = "INSERT INTO principals (tenant, id, email, first_name, last_name, license, role, \
     status, attributes, created_at, updated_at)";

pub fn insert_principal(c: &mut dyn Conn, tenant: &str, p: &NewPrincipal, now: Timestamp) -> Result<()> {
    insert_principals(c, tenant, std::slice::from_ref(p), now)
}

/// Inserts many principals with few statements (a world of 100k users is a few hundred
/// multi-row inserts) and counts them in [`principal_counts`](count_principals).
pub fn insert_principals(c: &mut dyn Conn, tenant: &str, principals: &[NewPrincipal], now: Timestamp) -> Result<()> {
    insert_rows(c, INSERT_PRINCIPALS, principals.iter().map(|p| principal_row(tenant, p, now)))?;
    let mut counts: std::collections::BTreeMap<(&str, &str), i64> = Default::default();
    for p in principals {
        *counts.entry((p.status.as_str(), p.role.as_str())).or_default() += 1;
    }
    for ((status, role), n) in counts {
        add_to_count(c, tenant, status, role, n)?;
    }
    Ok(())
}

/// Adds `n` (negative to remove) to the number of a tenant's principals with this status and role.
fn add_to_count(c: &mut dyn Conn, tenant: &str, status: &str, role: &str, n: i64) -> Result<()> {
    c.execute(
        "INSERT INTO principal_counts (tenant, status, role, n) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, status, role) DO UPDATE SET n = principal_counts.n + excluded.n",
        &[tenant.into(), status.into(), role.into(), n.into()],
    )?;
    Ok(())
}

pub fn get_principal(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<Principal>> {
    let rows = c.query(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1 AND id = $2"),
        &[tenant.into(), id.into()],
    )?;
    Ok(rows.first().map(principal_from))
}

/// Reads a principal to change it: on PostgreSQL the row stays locked until the
/// transaction ends, so concurrent updates from other nodes queue instead of losing
/// each other's changes (SQLite has one writer already).
pub fn get_principal_for_update(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<Option<Principal>> {
    let lock = for_update(c);
    let rows = c.query(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1 AND id = $2{lock}"),
        &[tenant.into(), id.into()],
    )?;
    Ok(rows.first().map(principal_from))
}

pub fn find_principal_by_email(c: &mut dyn Conn, tenant: &str, email: &str) -> Result<Option<Principal>> {
    let rows = c.query(
        &format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1 AND email = $2"),
        &[tenant.into(), email.to_ascii_lowercase().into()],
    )?;
    Ok(rows.first().map(principal_from))
}

impl StatusScope<'_> {
    /// The WHERE clause (served by the `principals_status[_role]_email` indexes) and its
    /// parameters; further parameters start at `$len + 1`.
    fn condition(&self, tenant: &str) -> (&'static str, Vec<Value>) {
        let mut params = vec![tenant.into(), self.status.as_str().into()];
        match self.role {
            Some(role) => {
                params.push(role.into());
                ("tenant = $1 AND status = $2 AND role = $3", params)
            }
            None => ("tenant = $1 AND status = $2", params),
        }
    }
}

/// How many principals a scope holds, from the maintained counters (no scan).
pub fn count_principals(c: &mut dyn Conn, tenant: &str, scope: StatusScope) -> Result<i64> {
    let (condition, params) = scope.condition(tenant);
    let rows = c.query(
        &format!("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM principal_counts WHERE {condition}"),
        &params,
    )?;
    Ok(rows.first().map_or(0, |r| r.int(0)))
}

/// The email of the principal at `index` (from 0) of a scope in email order: where a
/// numbered page starts. Walks the index only, never loads the rows it skips.
pub fn email_at(c: &mut dyn Conn, tenant: &str, scope: StatusScope, index: u64) -> Result<Option<String>> {
    let (condition, mut params) = scope.condition(tenant);
    params.push(offset_value(index));
    let n = params.len();
    let rows = c.query(
        &format!("SELECT email FROM principals WHERE {condition} ORDER BY email LIMIT 1 OFFSET ${n}"),
        &params,
    )?;
    Ok(rows.first().map(|r| r.text(0)))
}

/// Up to `limit` principals of a scope in email order after `after_email` (a keyset page).
pub fn list_principals(
    c: &mut dyn Conn,
    tenant: &str,
    scope: StatusScope,
    after_email: &str,
    limit: u32,
) -> Result<Vec<Principal>> {
    let (condition, mut params) = scope.condition(tenant);
    params.push(after_email.into());
    params.push(i64::from(limit).into());
    let (after, limit) = (params.len() - 1, params.len());
    let rows = c.query(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE {condition} AND email > ${after}
             ORDER BY email LIMIT ${limit}"
        ),
        &params,
    )?;
    Ok(rows.iter().map(principal_from).collect())
}

/// Every principal of a tenant (for summaries; tenants are small).
pub fn all_principals(c: &mut dyn Conn, tenant: &str) -> Result<Vec<Principal>> {
    let rows = c.query(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE tenant = $1"), &[tenant.into()])?;
    Ok(rows.iter().map(principal_from).collect())
}

/// Stores a principal's profile, status and license as given, keeping the counters
/// right when its status or role changes.
pub fn update_principal(c: &mut dyn Conn, p: &Principal) -> Result<bool> {
    let lock = for_update(c);
    let before = c.query(
        &format!("SELECT status, role, email FROM principals WHERE tenant = $1 AND id = $2{lock}"),
        &[p.tenant.as_str().into(), p.id.as_str().into()],
    )?;
    let Some(before) = before.first() else { return Ok(false) };
    let (old_status, old_role, old_email) = (before.text(0), before.text(1), before.text(2));
    let mut params: Vec<Value> = vec![
        p.first_name.as_str().into(),
        p.last_name.as_str().into(),
        p.license.into(),
        json_text(&p.attributes).into(),
        p.updated_at.into(),
        p.last_login_at.into(),
    ];
    // The indexed columns are set only when they change: SQLite rewrites the entries of
    // every index holding a column the SET names, equal or not (email is in three
    // indexes, status in two, role in one). SQLite numbers `$n` in the order they first
    // appear, so they are written in ascending order.
    let mut sql = String::from(
        "UPDATE principals SET first_name = $1, last_name = $2, license = $3, attributes = $4, updated_at = $5,
                last_login_at = $6",
    );
    let indexed = [
        ("email", old_email.as_str(), p.email.as_str()),
        ("role", &old_role, &p.role),
        ("status", &old_status, p.status.as_str()),
    ];
    for (column, old, new) in indexed {
        if old != new {
            params.push(new.into());
            sql.push_str(&format!(", {column} = ${}", params.len()));
        }
    }
    params.extend([p.tenant.as_str().into(), p.id.as_str().into()]);
    sql.push_str(&format!(" WHERE tenant = ${} AND id = ${}", params.len() - 1, params.len()));
    let changed = c.execute(&sql, &params)?;
    if changed > 0 && (old_status != p.status.as_str() || old_role != p.role) {
        // Counter rows are always locked in key order: two nodes moving users in
        // opposite directions (activate, deactivate) then queue instead of deadlocking.
        let mut moves = [((old_status.as_str(), old_role.as_str()), -1), ((p.status.as_str(), p.role.as_str()), 1)];
        moves.sort();
        for ((status, role), n) in moves {
            add_to_count(c, &p.tenant, status, role, n)?;
        }
    }
    Ok(changed > 0)
}

pub fn delete_principal(c: &mut dyn Conn, tenant: &str, id: &str) -> Result<bool> {
    c.execute(
        "DELETE FROM delegations WHERE tenant = $1 AND (principal = $2 OR delegate = $2)",
        &[tenant.into(), id.into()],
    )?;
    c.execute("DELETE FROM devices WHERE tenant = $1 AND principal = $2", &[tenant.into(), id.into()])?;
    c.execute("DELETE FROM scope_epochs WHERE tenant = $1 AND principal = $2", &[tenant.into(), id.into()])?;
    let deleted = c.query(
        "DELETE FROM principals WHERE tenant = $1 AND id = $2 RETURNING status, role",
        &[tenant.into(), id.into()],
    )?;
    let Some(row) = deleted.first() else { return Ok(false) };
    add_to_count(c, tenant, &row.text(0), &row.text(1), -1)?;
    Ok(true)
}

impl PrincipalFilter {
    /// The WHERE clause and its parameters, naming only the filters given (so that an
    /// exact email is an index lookup, and no filter walks the email index in order).
    fn condition(&self, tenant: &str) -> (String, Vec<Value>) {
        let mut sql = String::from("tenant = $1");
        let mut params: Vec<Value> = vec![tenant.into()];
        if let Some(email) = &self.email {
            params.push(email.to_ascii_lowercase().into());
            sql.push_str(&format!(" AND email = ${}", params.len()));
        }
        if let Some(name) = &self.name {
            params.push(name.trim().to_lowercase().into());
            sql.push_str(&format!(" AND lower(trim(first_name || ' ' || last_name)) = ${}", params.len()));
        }
        if let Some(search) = &self.search {
            params.push(format!("%{}%", search.to_lowercase()).into());
            let n = params.len();
            sql.push_str(&format!(" AND (lower(email) LIKE ${n} OR lower(first_name || ' ' || last_name) LIKE ${n})"));
        }
        (sql, params)
    }
}

/// A page of principals in email order, `skip` from the start (page-numbered lists),
/// each with its number of live (unrevoked) device registrations. The start is found on
/// the email index without loading the rows skipped; the page is then a keyset read.
pub fn page_principals(
    c: &mut dyn Conn,
    tenant: &str,
    filter: &PrincipalFilter,
    skip: u64,
    limit: u32,
) -> Result<Vec<(Principal, i64)>> {
    let (condition, mut params) = filter.condition(tenant);
    let mut after = String::new();
    if skip > 0 {
        let mut start = params.clone();
        start.push(offset_value(skip - 1));
        let n = start.len();
        let rows = c.query(
            &format!("SELECT email FROM principals WHERE {condition} ORDER BY email LIMIT 1 OFFSET ${n}"),
            &start,
        )?;
        match rows.first() {
            Some(row) => after = row.text(0),
            None => return Ok(Vec::new()),
        }
    }
    params.push(after.into());
    params.push(i64::from(limit).into());
    let (after, limit) = (params.len() - 1, params.len());
    let rows = c.query(
        &format!(
            "SELECT {PRINCIPAL_COLUMNS},
                    (SELECT count(*) FROM devices d
                     WHERE d.tenant = principals.tenant AND d.principal = principals.id AND d.revoked_at IS NULL)
             FROM principals WHERE {condition} AND email > ${after} ORDER BY email LIMIT ${limit}"
        ),
        &params,
    )?;
    Ok(rows.iter().map(|r| (principal_from(r), r.int(15))).collect())
}

/// How many principals match a [`PrincipalFilter`]: from the counters without filters,
/// else counted (an exact email is one index lookup; a name or search scans the tenant).
pub fn count_filtered_principals(c: &mut dyn Conn, tenant: &str, filter: &PrincipalFilter) -> Result<i64> {
    let rows = if filter.is_empty() {
        c.query("SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM principal_counts WHERE tenant = $1", &[tenant.into()])?
    } else {
        let (condition, params) = filter.condition(tenant);
        c.query(&format!("SELECT count(*) FROM principals WHERE {condition}"), &params)?
    };
    Ok(rows.first().map_or(0, |r| r.int(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// The UPDATE names an indexed column only when it changes: each change must still
    /// reach every index that holds it, and the counters.
    #[tokio::test]
    async fn an_update_moves_the_user_in_every_index_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite").to_string_lossy()).await.unwrap();
        let found = store
            .write(|c| {
                c.execute(
                    "INSERT INTO tenants (account_id, provider, plan, rate_limits, clock_offset_ms, created_at)
                     VALUES ('t', 'zoom', 'pro', 0, 0, 0)",
                    &[],
                )?;
                let new = NewPrincipal {
                    id: "u1".into(),
                    email: "old@example.com".into(),
                    first_name: "Old".into(),
                    last_name: "Name".into(),
                    license: 1,
                    role: "member".into(),
                    status: Status::Active,
                    attributes: Default::default(),
                };
                insert_principal(c, "t", &new, 0)?;
                let mut p = get_principal(c, "t", "u1")?.unwrap();
                // Only unindexed columns: the row changes, the indexes keep it where it was.
                p.first_name = "New".into();
                assert!(update_principal(c, &p)?);
                // Each indexed column in turn, then all three at once.
                p.email = "new@example.com".into();
                assert!(update_principal(c, &p)?);
                p.role = "admin".into();
                assert!(update_principal(c, &p)?);
                p.status = Status::Inactive;
                assert!(update_principal(c, &p)?);
                (p.email, p.role, p.status) = ("last@example.com".into(), "member".into(), Status::Active);
                assert!(update_principal(c, &p)?);
                let by_email = |c: &mut dyn Conn, email: &str| -> Result<Option<String>> {
                    Ok(find_principal_by_email(c, "t", email)?.map(|p| p.id))
                };
                let scope = |status, role| StatusScope { status, role };
                Ok((
                    by_email(c, "old@example.com")?,
                    by_email(c, "new@example.com")?,
                    by_email(c, "last@example.com")?,
                    get_principal(c, "t", "u1")?.map(|p| (p.first_name, p.role, p.status)),
                    list_principals(c, "t", scope(Status::Active, Some("member")), "", 10)?.len(),
                    list_principals(c, "t", scope(Status::Active, None), "", 10)?.len(),
                    list_principals(c, "t", scope(Status::Inactive, None), "", 10)?.len(),
                    count_principals(c, "t", scope(Status::Active, Some("member")))?,
                    count_principals(c, "t", scope(Status::Inactive, None))?,
                    count_principals(c, "t", scope(Status::Active, Some("admin")))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(
            found,
            (None, None, Some("u1".into()), Some(("New".into(), "member".into(), Status::Active)), 1, 1, 0, 1, 0, 0)
        );
    }
}
