//! The request journal: a ring of the newest entries per tenant, written in batches.

use std::sync::OnceLock;

use super::{Backend, Conn, Row, StoreError, Value};
use crate::domain::Timestamp;

/// One request as the journal keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Assigned by the store (0 before).
    pub seq: i64,
    pub tenant: String,
    /// The tenant's clock.
    pub at: Timestamp,
    pub wall_at: Timestamp,
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The credential's id, never its secret.
    pub credential_id: Option<String>,
    pub user: Option<String>,
    pub operation: Option<String>,
    pub status: u16,
    pub duration_us: u64,
    pub error_code: Option<String>,
    /// `{"rule", "effect", ...}` when the answer was injected.
    pub fault: Option<serde_json::Value>,
}

/// Which entries a read selects; every number range-checked by `Filter::parse` (in the harness).
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub operation: Option<String>,
    pub method: Option<String>,
    pub path_prefix: Option<String>,
    pub status: Option<u16>,
    pub user: Option<String>,
    /// Tenant clock, inclusive.
    pub since: Option<Timestamp>,
    /// Entries with a sequence number above this.
    pub after: i64,
    pub limit: u32,
}

type Result<T> = std::result::Result<T, StoreError>;

const COLUMNS: &str = "seq, tenant, at, wall_at, request_id, method, path, query, credential_id, user_ref, operation, \
                       status, duration_us, error_code, fault";

fn entry_from(row: &Row) -> Entry {
    Entry {
        seq: row.int(0),
        tenant: row.text(1),
        at: row.int(2),
        wall_at: row.int(3),
        request_id: row.text(4),
        method: row.text(5),
        path: row.text(6),
        query: row.opt_text(7),
        credential_id: row.opt_text(8),
        user: row.opt_text(9),
        operation: row.opt_text(10),
        status: u16::try_from(row.int(11)).unwrap_or(0),
        duration_us: u64::try_from(row.int(12)).unwrap_or(0),
        error_code: row.opt_text(13),
        fault: row.opt_text(14).and_then(|f| serde_json::from_str(&f).ok()),
    }
}

/// The most rows per INSERT statement (14 parameters each: well within both backends'
/// limits). Statements take power-of-two row counts, so that few distinct ones are
/// prepared and cached.
const ROWS_PER_INSERT: usize = 128;

/// Appends entries: on PostgreSQL a few multi-row INSERTs, a round trip per up to 128
/// entries, not per entry; on SQLite one prepared one-row INSERT per entry.
pub fn append(c: &mut dyn Conn, entries: &[Entry]) -> Result<()> {
    let mut rest = entries;
    while !rest.is_empty() {
        // SQLite has no round trip to save, and parsing a statement of 128 rows costs more
        // than running a one-row one 128 times.
        let most = if c.backend() == Backend::Sqlite { 1 } else { ROWS_PER_INSERT };
        let rows = most.min(1 << rest.len().ilog2());
        let (chunk, after) = rest.split_at(rows);
        rest = after;
        let sql = insert_statement(rows);
        let mut params: Vec<Value> = Vec::with_capacity(chunk.len() * 14);
        for e in chunk {
            params.extend([
                e.tenant.as_str().into(),
                e.at.into(),
                e.wall_at.into(),
                e.request_id.as_str().into(),
                e.method.as_str().into(),
                e.path.as_str().into(),
                e.query.as_deref().into(),
                e.credential_id.as_deref().into(),
                e.user.as_deref().into(),
                e.operation.as_deref().into(),
                i64::from(e.status).into(),
                i64::try_from(e.duration_us).unwrap_or(i64::MAX).into(),
                e.error_code.as_deref().into(),
                e.fault.as_ref().map(|f| f.to_string()).into(),
            ]);
        }
        c.execute(sql, &params)?;
    }
    Ok(())
}

/// The INSERT of `rows` entries (a power of two up to [`ROWS_PER_INSERT`]), built once.
fn insert_statement(rows: usize) -> &'static str {
    static STATEMENTS: OnceLock<Vec<String>> = OnceLock::new();
    let statements = STATEMENTS.get_or_init(|| {
        (0..=ROWS_PER_INSERT.ilog2())
            .map(|power| {
                let values: Vec<String> = (0..1usize << power)
                    .map(|i| {
                        let placeholders: Vec<String> = (1..=14).map(|k| format!("${}", i * 14 + k)).collect();
                        format!("({})", placeholders.join(", "))
                    })
                    .collect();
                format!(
                    "INSERT INTO requests (tenant, at, wall_at, request_id, method, path, query, credential_id, \
                     user_ref, operation, status, duration_us, error_code, fault) VALUES {}",
                    values.join(", ")
                )
            })
            .collect()
    });
    &statements[rows.ilog2() as usize]
}

/// Trims a tenant's ring to its newest `keep` entries: everything at or below the
/// (keep+1)-th newest goes.
pub fn trim(c: &mut dyn Conn, tenant: &str, keep: u64) -> Result<u64> {
    c.execute(
        "DELETE FROM requests WHERE tenant = $1 AND seq <= (
             SELECT seq FROM requests WHERE tenant = $1 ORDER BY seq DESC LIMIT 1 OFFSET $2)",
        &[tenant.into(), i64::try_from(keep).unwrap_or(i64::MAX).into()],
    )
}

/// The WHERE clause of a filter and its parameters ($1 is the tenant).
fn conditions(tenant: &str, filter: &Filter) -> (String, Vec<Value>) {
    let mut sql = String::from("tenant = $1");
    let mut params: Vec<Value> = vec![tenant.into()];
    let mut add = |clause: &str, value: Value, params: &mut Vec<Value>| {
        params.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
    };
    if let Some(op) = &filter.operation {
        add(" AND operation = ?", op.into(), &mut params);
    }
    if let Some(method) = &filter.method {
        add(" AND method = ?", method.into(), &mut params);
    }
    if let Some(prefix) = &filter.path_prefix {
        let chars = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
        add(" AND substr(path, 1, ?", chars.into(), &mut params);
        add(") = ?", prefix.into(), &mut params);
    }
    if let Some(status) = filter.status {
        add(" AND status = ?", i64::from(status).into(), &mut params);
    }
    if let Some(user) = &filter.user {
        add(" AND lower(user_ref) = lower(?)", user.into(), &mut params);
    }
    if let Some(since) = filter.since {
        add(" AND at >= ?", since.into(), &mut params);
    }
    add(" AND seq > ?", filter.after.into(), &mut params);
    (sql, params)
}

/// The entries a filter selects, oldest first, at most `filter.limit`.
pub fn list(c: &mut dyn Conn, tenant: &str, filter: &Filter) -> Result<Vec<Entry>> {
    let (conditions, mut params) = conditions(tenant, filter);
    params.push(i64::from(filter.limit).into());
    let sql = format!("SELECT {COLUMNS} FROM requests WHERE {conditions} ORDER BY seq LIMIT ${}", params.len());
    Ok(c.query(&sql, &params)?.iter().map(entry_from).collect())
}

/// How many entries a filter selects (its limit aside).
pub fn count(c: &mut dyn Conn, tenant: &str, filter: &Filter) -> Result<u64> {
    let (conditions, params) = conditions(tenant, filter);
    let rows = c.query(&format!("SELECT count(*) FROM requests WHERE {conditions}"), &params)?;
    Ok(rows.first().map_or(0, |r| u64::try_from(r.int(0)).unwrap_or(0)))
}

/// Forgets a tenant's requests (reset, delete).
pub fn delete_all(c: &mut dyn Conn, tenant: &str) -> Result<u64> {
    c.execute("DELETE FROM requests WHERE tenant = $1", &[tenant.into()])
}
