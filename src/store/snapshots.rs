//! A tenant's whole state as rows: captured into one JSON document (a snapshot), put
//! back from it (a restore), or copied under another account id (a fork).
//!
//! Which tables hold a tenant's state is [`TENANT_TABLES`], one line per table; columns
//! are read from the database's catalog, so a column added by a later migration is
//! captured without a change here (an older snapshot restores the columns it knows;
//! rows it puts back get the new column's default).

use serde_json::{Map, Value as Json, json};

use super::{Backend, Conn, Row, StoreError, Value};
use crate::domain::Timestamp;

type Result<T> = std::result::Result<T, StoreError>;

/// A table holding part of a tenant's state.
pub struct TenantTable {
    pub name: &'static str,
    /// The column naming the tenant.
    pub tenant_column: &'static str,
    /// Whether a fork copies its rows. Credentials get new secrets instead, and tokens
    /// (sessions) are not carried: their hashes are global keys and their secrets are
    /// not known to userplane.
    pub forked: bool,
    /// The primary key (a restore rewrites only the rows that differ, found by it).
    pub key: &'static str,
}

const fn table(name: &'static str, tenant_column: &'static str, forked: bool, key: &'static str) -> TenantTable {
    TenantTable { name, tenant_column, forked, key }
}

/// Every tenant-scoped table (besides the `tenants` row and the `audit` journal, which a
/// snapshot keeps a position in). A table added later is one line here.
pub const TENANT_TABLES: &[TenantTable] = &[
    table("tenant_documents", "account_id", false, "account_id"),
    table("principals", "tenant", true, "tenant, id"),
    table("principal_counts", "tenant", true, "tenant, status, role"),
    table("credentials", "tenant", false, "tenant, id"),
    table("tokens", "tenant", false, "hash"),
    table("revocations", "tenant", true, "tenant, principal, scope, epoch"),
    table("delegations", "tenant", true, "tenant, principal, delegate"),
    table("devices", "tenant", true, "tenant, id"),
    table("apps", "tenant", true, "tenant, id"),
    table("settings", "tenant", true, "tenant, name"),
    table("scope_epochs", "tenant", true, "tenant, principal, scope"),
    table("fault_rules", "tenant", true, "tenant, id"),
];

/// Tables whose rows belong to a tenant by a key prefix (`queries::tenant_key_prefix`):
/// the shared rate-limit windows (PostgreSQL; on SQLite the limiter counts in process
/// and the snapshot carries its counters instead).
/// (table, key column, primary key).
pub const KEYED_TABLES: &[(&str, &str, &str)] = &[("rate_windows", "key", "key")];

/// A column of a table: its name and its declared type (which a restore on PostgreSQL
/// casts the captured JSON value to).
#[derive(Clone)]
struct Column {
    name: String,
    sql_type: String,
}

/// A table's columns, in order: read from the catalog once per backend and table (the
/// schema changes only by migrations, which run when a store opens), then remembered,
/// since on PostgreSQL each catalog read is a round trip.
fn columns(c: &mut dyn Conn, table: &str) -> Result<Vec<Column>> {
    type Known = std::sync::Mutex<std::collections::HashMap<(bool, String), Vec<Column>>>;
    static KNOWN: std::sync::OnceLock<Known> = std::sync::OnceLock::new();
    let key = (c.backend() == Backend::Postgres, table.to_owned());
    let known = KNOWN.get_or_init(Known::default);
    if let Some(columns) = known.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(columns.clone());
    }
    let columns = catalog_columns(c, table)?;
    known.lock().unwrap_or_else(|p| p.into_inner()).insert(key, columns.clone());
    Ok(columns)
}

fn catalog_columns(c: &mut dyn Conn, table: &str) -> Result<Vec<Column>> {
    let sql = match c.backend() {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT attname::text, format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = CAST(CAST($1 AS TEXT) AS regclass) AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        }
    };
    let rows = c.query(sql, &[table.into()])?;
    let columns: Vec<Column> = rows.iter().map(|r| Column { name: r.text(0), sql_type: r.text(1) }).collect();
    if columns.is_empty() {
        return Err(StoreError::other(format!("snapshot: table {table} has no columns")));
    }
    Ok(columns)
}

fn column_names(c: &mut dyn Conn, table: &str) -> Result<Vec<String>> {
    Ok(columns(c, table)?.into_iter().map(|column| column.name).collect())
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Int(v) => json!(v),
        Value::Text(s) => json!(s),
    }
}

fn from_json(value: &Json) -> Result<Value> {
    match value {
        Json::Null => Ok(Value::Null),
        Json::Number(n) => n.as_i64().map(Value::Int).ok_or_else(|| StoreError::other("snapshot: not an integer")),
        Json::String(s) => Ok(Value::Text(s.clone())),
        _ => Err(StoreError::other("snapshot: unexpected value")),
    }
}

/// `{"columns": [...], "rows": [[...], ...]}` of the rows `WHERE <column> = account`.
fn capture_rows(c: &mut dyn Conn, table: &str, tenant_column: &str, account: &str) -> Result<Json> {
    capture_where(c, table, &format!("{tenant_column} = $1"), &[account.into()])
}

/// The rows of a keyed table whose key starts with the tenant's prefix (bound as `$first`).
fn keyed_where(column: &str, first: usize) -> String {
    format!("substr({column}, 1, length(${first})) = ${first}")
}

fn prefixes(account: &str) -> Vec<Value> {
    vec![Value::Text(super::queries::tenant_key_prefix(account))]
}

fn capture_where(c: &mut dyn Conn, table: &str, condition: &str, params: &[Value]) -> Result<Json> {
    let columns = column_names(c, table)?;
    let rows = c.query(&format!("SELECT {} FROM {table} WHERE {condition}", columns.join(", ")), params)?;
    let rows: Vec<Json> = rows.iter().map(|Row(values)| Json::Array(values.iter().map(to_json).collect())).collect();
    Ok(json!({"columns": columns, "rows": rows}))
}

/// The tenant's state as one document. `now` is the tenant's time at capture, which a
/// restore puts the clock back to; `local_windows` are the limiter's in-process counters.
pub fn capture(c: &mut dyn Conn, account: &str, now: Timestamp, frozen: bool, local_windows: Json) -> Result<Json> {
    let mut tables = Map::new();
    for t in TENANT_TABLES {
        tables.insert(t.name.to_owned(), capture_rows(c, t.name, t.tenant_column, account)?);
    }
    for (table, column, _) in KEYED_TABLES {
        tables.insert((*table).to_owned(), capture_where(c, table, &keyed_where(column, 1), &prefixes(account))?);
    }
    let audit_seq = c
        .query("SELECT COALESCE(MAX(seq), 0) FROM audit WHERE tenant = $1", &[account.into()])?
        .first()
        .map_or(0, |r| r.int(0));
    Ok(json!({
        "version": 1,
        "now": now,
        "frozen": frozen,
        "audit_seq": audit_seq,
        "tenant": capture_rows(c, "tenants", "account_id", account)?,
        "tables": tables,
        "local_rate_windows": local_windows,
    }))
}

/// What a restore hands back to the caller: the clock to set, and the limiter's
/// in-process counters.
pub struct Captured {
    pub now: Timestamp,
    pub frozen: bool,
    pub local_windows: Json,
}

/// Replaces the tenant's state by the captured one (the caller holds the transaction
/// and has locked the tenant row), and returns the captured clock for the caller to
/// set. The tenant's journal loses what was recorded after the capture.
pub fn restore(c: &mut dyn Conn, account: &str, data: &Json) -> Result<Captured> {
    if data["version"] != json!(1) {
        return Err(StoreError::other("snapshot: unknown version"));
    }
    for t in TENANT_TABLES {
        let scope = |first: usize| format!("{} = ${first}", t.tenant_column);
        restore_table(c, t.name, t.key, &scope, &[account.into()], data["tables"].get(t.name))?;
    }
    for (table, column, key) in KEYED_TABLES {
        let scope = |first: usize| keyed_where(column, first);
        restore_table(c, table, key, &scope, &prefixes(account), data["tables"].get(*table))?;
    }
    restore_tenant_row(c, account, &data["tenant"])?;
    let audit_seq = data["audit_seq"].as_i64().unwrap_or(0);
    c.execute("DELETE FROM audit WHERE tenant = $1 AND seq > $2", &[account.into(), audit_seq.into()])?;
    let now = data["now"].as_i64().ok_or_else(|| StoreError::other("snapshot: no clock"))?;
    let local_windows = data["local_rate_windows"].clone();
    Ok(Captured { now, frozen: data["frozen"] == json!(true), local_windows })
}

/// The captured columns that the table still has, with their positions in a row.
fn known_columns(c: &mut dyn Conn, table: &str, captured: &Json) -> Result<Vec<(usize, Column)>> {
    let current = columns(c, table)?;
    let captured = captured["columns"].as_array().ok_or_else(|| StoreError::other("snapshot: no columns"))?;
    Ok(captured
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let column = current.iter().find(|c| name.as_str() == Some(c.name.as_str()))?;
            Some((i, column.clone()))
        })
        .collect())
}

/// The captured rows as a subquery over one JSON parameter, `$param`: an array of rows,
/// each an array of the values of `columns` in that order. The database unpacks it
/// (SQLite's `json_each`; PostgreSQL's `jsonb_array_elements`, each value cast to its
/// column's type), so a table's rows go in with one statement.
fn captured_rows(backend: Backend, columns: &[Column], param: usize) -> String {
    let values: Vec<String> = match backend {
        Backend::Sqlite => columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("json_extract(value, '$[{i}]') AS {}", column.name))
            .collect(),
        Backend::Postgres => columns
            .iter()
            .enumerate()
            .map(|(i, column)| format!("CAST(value ->> {i} AS {}) AS {}", column.sql_type, column.name))
            .collect(),
    };
    let rows = match backend {
        Backend::Sqlite => format!("json_each(${param})"),
        Backend::Postgres => format!("jsonb_array_elements(CAST(${param} AS TEXT)::jsonb) AS captured(value)"),
    };
    format!("SELECT {} FROM {rows}", values.join(", "))
}

/// The condition on a table's rows (named by `names`) that they are not among the
/// captured rows in `$param`. SQLite compares each row as a JSON array with the captured
/// ones (`json_each` hands each back as such), which costs one pass over the parameter;
/// PostgreSQL finds them with EXCEPT over typed rows (NULLs compare equal there), by key.
fn not_captured(
    backend: Backend,
    table: &str,
    key: &str,
    names: &str,
    rows: &str,
    scope: &str,
    param: usize,
) -> String {
    match backend {
        Backend::Sqlite => format!("json_array({names}) NOT IN (SELECT value FROM json_each(${param}))"),
        Backend::Postgres => {
            format!("({key}) IN (SELECT {key} FROM (SELECT {names} FROM {table} WHERE {scope} EXCEPT {rows}) AS gone)")
        }
    }
}

/// Makes the tenant's rows of `table` (those `scope(n)` selects, its parameters bound
/// from `$n`) the captured ones, rewriting only the rows that differ: the rows that are
/// not exactly a captured one are deleted, then the captured rows whose key is missing
/// inserted. A table empty in the snapshot, or one it does not know (added since, so
/// empty then), is emptied with one statement.
fn restore_table<'a>(
    c: &mut dyn Conn,
    table: &str,
    key: &str,
    scope: &dyn Fn(usize) -> String,
    scope_params: &[Value],
    captured: Option<&'a Json>,
) -> Result<()> {
    let with_rows =
        |t: &'a Json| t["rows"].as_array().map(|rows| (t, rows)).ok_or_else(|| StoreError::other("snapshot: no rows"));
    let Some((captured, rows)) = captured.map(with_rows).transpose()?.filter(|(_, rows)| !rows.is_empty()) else {
        c.execute(&format!("DELETE FROM {table} WHERE {}", scope(1)), scope_params)?;
        return Ok(());
    };
    let known = known_columns(c, table, captured)?;
    let json = Json::Array(
        rows.iter()
            .map(|row| Json::Array(known.iter().map(|(i, _)| row.get(*i).cloned().unwrap_or(Json::Null)).collect()))
            .collect(),
    )
    .to_string();
    let columns: Vec<Column> = known.into_iter().map(|(_, column)| column).collect();
    let names = columns.iter().map(|column| column.name.as_str()).collect::<Vec<_>>().join(", ");
    let backend = c.backend();
    // SQLite numbers `$N` in the order they first appear: each statement binds in that order.
    let k = scope_params.len();
    let mut params = scope_params.to_vec();
    params.push(Value::Text(json.clone()));
    let gone = not_captured(backend, table, key, &names, &captured_rows(backend, &columns, k + 1), &scope(1), k + 1);
    c.execute(&format!("DELETE FROM {table} WHERE {} AND {gone}", scope(1)), &params)?;
    let mut params = vec![Value::Text(json)];
    params.extend_from_slice(scope_params);
    c.execute(
        &format!(
            "INSERT INTO {table} ({names}) SELECT {names} FROM ({captured}) AS kept \
             WHERE ({key}) NOT IN (SELECT {key} FROM {table} WHERE {scope})",
            captured = captured_rows(backend, &columns, 1),
            scope = scope(2),
        ),
        &params,
    )?;
    Ok(())
}

/// Puts back the tenant row's settings (plan, rate limits, ...); the clock is set by
/// the caller, from the captured instant.
fn restore_tenant_row(c: &mut dyn Conn, account: &str, captured: &Json) -> Result<()> {
    let columns = known_columns(c, "tenants", captured)?;
    let row = captured["rows"].get(0).ok_or_else(|| StoreError::other("snapshot: no tenant row"))?;
    // SQLite numbers `$N` in the order they appear: the account goes last.
    let mut params = Vec::new();
    let mut sets = Vec::new();
    for (i, column) in columns.iter().filter(|(_, column)| column.name != "account_id") {
        params.push(from_json(row.get(*i).unwrap_or(&Json::Null))?);
        sets.push(format!("{} = ${}", column.name, params.len()));
    }
    params.push(Value::from(account));
    let sql = format!("UPDATE tenants SET {} WHERE account_id = ${}", sets.join(", "), params.len());
    c.execute(&sql, &params)?;
    Ok(())
}

/// Copies the forked tables' rows of `from` to `to` (whose tenant row exists), in the
/// database, one statement per table. (SQLite numbers `$N` in the order they appear,
/// so the new account, which comes first, is `$1`.)
pub fn copy_forked(c: &mut dyn Conn, from: &str, to: &str) -> Result<()> {
    for t in TENANT_TABLES.iter().filter(|t| t.forked) {
        let columns = column_names(c, t.name)?;
        let selected: Vec<String> = columns
            .iter()
            .map(|name| if name == t.tenant_column { "CAST($1 AS TEXT)".to_owned() } else { name.clone() })
            .collect();
        c.execute(
            &format!(
                "INSERT INTO {table} ({columns}) SELECT {selected} FROM {table} WHERE {tenant} = $2",
                table = t.name,
                columns = columns.join(", "),
                selected = selected.join(", "),
                tenant = t.tenant_column,
            ),
            &[to.into(), from.into()],
        )?;
    }
    Ok(())
}

/// Replaces a tenant's kept document (a reset that rotated its secrets).
pub fn set_document(c: &mut dyn Conn, account: &str, document: &Json) -> Result<()> {
    c.execute(
        "UPDATE tenant_documents SET document = $1 WHERE account_id = $2",
        &[document.to_string().into(), account.into()],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- the snapshots table

/// A stored snapshot, without its data.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub name: String,
    pub created_at: Timestamp,
    pub size: i64,
}

pub fn insert_snapshot(c: &mut dyn Conn, account: &str, name: &str, created_at: Timestamp, data: &str) -> Result<i64> {
    let size = i64::try_from(data.len()).map_err(|_| StoreError::other("snapshot too large"))?;
    c.execute(
        "INSERT INTO snapshots (tenant, name, created_at, size, data) VALUES ($1, $2, $3, $4, $5)",
        &[account.into(), name.into(), created_at.into(), size.into(), data.into()],
    )?;
    Ok(size)
}

pub fn count_snapshots(c: &mut dyn Conn, account: &str) -> Result<i64> {
    let rows = c.query("SELECT COUNT(*) FROM snapshots WHERE tenant = $1", &[account.into()])?;
    Ok(rows.first().map_or(0, |r| r.int(0)))
}

pub fn list_snapshots(c: &mut dyn Conn, account: &str) -> Result<Vec<SnapshotInfo>> {
    let rows = c.query(
        "SELECT name, created_at, size FROM snapshots WHERE tenant = $1 ORDER BY created_at, name",
        &[account.into()],
    )?;
    Ok(rows.iter().map(|r| SnapshotInfo { name: r.text(0), created_at: r.int(1), size: r.int(2) }).collect())
}

pub fn get_snapshot_data(c: &mut dyn Conn, account: &str, name: &str) -> Result<Option<Json>> {
    let rows = c.query("SELECT data FROM snapshots WHERE tenant = $1 AND name = $2", &[account.into(), name.into()])?;
    rows.first()
        .map(|r| serde_json::from_str(&r.text(0)).map_err(|e| StoreError::other(format!("snapshot data: {e}"))))
        .transpose()
}

pub fn delete_snapshot(c: &mut dyn Conn, account: &str, name: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM snapshots WHERE tenant = $1 AND name = $2", &[account.into(), name.into()])? > 0)
}
