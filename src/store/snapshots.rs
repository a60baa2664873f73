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

/// The rows of a keyed table whose key starts with the tenant's prefix (bound as `prefix`).
fn keyed_where(column: &str, prefix: &str) -> String {
    format!("substr({column}, 1, length({prefix})) = {prefix}")
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
        tables.insert((*table).to_owned(), capture_where(c, table, &keyed_where(column, "$1"), &prefixes(account))?);
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
    let mut tables = Vec::new();
    for t in TENANT_TABLES {
        let scope = Scope::Tenant(t.tenant_column, Value::from(account));
        tables.push(TableRestore::new(c, t.name, t.key, scope, data["tables"].get(t.name))?);
    }
    for (table, column, key) in KEYED_TABLES {
        let scope = Scope::Keyed(column, Value::Text(super::queries::tenant_key_prefix(account)));
        tables.push(TableRestore::new(c, table, key, scope, data["tables"].get(*table))?);
    }
    restore_tables(c, &tables)?;
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

/// The captured rows as a subquery over one JSON parameter, bound as `json`: an array of rows,
/// each an array of the values of `columns` in that order. The database unpacks it
/// (SQLite's `json_each`; PostgreSQL's `jsonb_array_elements`, each value cast to its
/// column's type), so a table's rows go in with one statement.
fn captured_rows(backend: Backend, columns: &[Column], json: &str) -> String {
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
        Backend::Sqlite => format!("json_each({json})"),
        Backend::Postgres => format!("jsonb_array_elements(CAST({json} AS TEXT)::jsonb) AS captured(value)"),
    };
    format!("SELECT {} FROM {rows}", values.join(", "))
}

/// Which rows of a table are the tenant's, and the value that says so.
enum Scope {
    /// Those whose column is the account id.
    Tenant(&'static str, Value),
    /// Those whose key column starts with the tenant's prefix.
    Keyed(&'static str, Value),
}

impl Scope {
    /// The condition, with its value bound as `placeholder`.
    fn condition(&self, placeholder: &str) -> String {
        match self {
            Scope::Tenant(column, _) => format!("{column} = {placeholder}"),
            Scope::Keyed(column, _) => keyed_where(column, placeholder),
        }
    }

    fn value(&self) -> Value {
        match self {
            Scope::Tenant(_, value) | Scope::Keyed(_, value) => value.clone(),
        }
    }
}

/// Parameters of a statement being written: each bound value gets the next `$N`.
/// (SQLite numbers `$N` in the order they first appear in the text, so a statement for
/// both backends binds in text order.)
#[derive(Default)]
struct Params(Vec<Value>);

impl Params {
    fn bind(&mut self, value: Value) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// [`Self::bind`], or the `$N` of an equal value bound before (PostgreSQL only: on
    /// SQLite that could break the text order).
    fn bind_once(&mut self, value: Value) -> String {
        match self.0.iter().position(|bound| *bound == value) {
            Some(i) => format!("${}", i + 1),
            None => self.bind(value),
        }
    }
}

/// One table's part of a restore: the tenant's rows are made the captured ones,
/// rewriting only the rows that differ (the rows that are not exactly a captured one are
/// deleted, then the captured rows whose key is missing inserted).
struct TableRestore {
    table: &'static str,
    key: &'static str,
    scope: Scope,
    /// The captured columns the table still has, and the captured rows as one JSON
    /// array of arrays of their values; none when the snapshot had no rows (or did not
    /// know the table, added since: it was empty then).
    captured: Option<(Vec<Column>, String)>,
}

impl TableRestore {
    fn new(
        c: &mut dyn Conn,
        table: &'static str,
        key: &'static str,
        scope: Scope,
        captured: Option<&Json>,
    ) -> Result<TableRestore> {
        let mut restore = TableRestore { table, key, scope, captured: None };
        let Some(captured) = captured else { return Ok(restore) };
        let rows = captured["rows"].as_array().ok_or_else(|| StoreError::other("snapshot: no rows"))?;
        if rows.is_empty() {
            return Ok(restore);
        }
        let known = known_columns(c, table, captured)?;
        let values = |row: &Json| known.iter().map(|(i, _)| row.get(*i).cloned().unwrap_or(Json::Null)).collect();
        let json = Json::Array(rows.iter().map(|row| Json::Array(values(row))).collect()).to_string();
        restore.captured = Some((known.into_iter().map(|(_, column)| column).collect(), json));
        Ok(restore)
    }

    /// Deletes the tenant's rows that are not captured ones (all of them, when none was).
    fn delete(&self, backend: Backend, params: &mut Params, scope: &str) -> String {
        let (table, key) = (self.table, self.key);
        let scope = self.scope.condition(scope);
        let Some((columns, json)) = &self.captured else { return format!("DELETE FROM {table} WHERE {scope}") };
        let names = names(columns);
        let gone = match backend {
            // Each row as a JSON array against the captured ones (which `json_each` hands
            // back as such): one pass over the parameter, no per-column extraction.
            Backend::Sqlite => {
                format!("json_array({names}) NOT IN (SELECT value FROM json_each({}))", params.bind(json.into()))
            }
            // EXCEPT over typed rows (NULLs compare equal there), then by key.
            Backend::Postgres => {
                let captured = captured_rows(backend, columns, &params.bind(json.into()));
                format!(
                    "({key}) IN (SELECT {key} FROM (SELECT {names} FROM {table} WHERE {scope} EXCEPT {captured}) AS gone)"
                )
            }
        };
        format!("DELETE FROM {table} WHERE {scope} AND {gone}")
    }

    /// Inserts the captured rows whose key is missing (after [`Self::delete`]).
    fn insert(
        &self,
        backend: Backend,
        params: &mut Params,
        scope: impl FnOnce(&mut Params) -> String,
    ) -> Option<String> {
        let (table, key) = (self.table, self.key);
        let (columns, json) = self.captured.as_ref()?;
        let names = names(columns);
        let captured = captured_rows(backend, columns, &params.bind(json.into()));
        let scope = self.scope.condition(&scope(params));
        Some(format!(
            "INSERT INTO {table} ({names}) SELECT {names} FROM ({captured}) AS kept \
             WHERE ({key}) NOT IN (SELECT {key} FROM {table} WHERE {scope})"
        ))
    }
}

fn names(columns: &[Column]) -> String {
    columns.iter().map(|column| column.name.as_str()).collect::<Vec<_>>().join(", ")
}

/// Runs the tables' deletes, then their inserts. SQLite runs them one by one (it is in
/// process); PostgreSQL runs every delete in one statement and every insert in another
/// (data-modifying WITH queries, one per table: the tables do not refer to each other),
/// two round trips instead of two per table.
fn restore_tables(c: &mut dyn Conn, tables: &[TableRestore]) -> Result<()> {
    let backend = c.backend();
    match backend {
        Backend::Sqlite => {
            for t in tables {
                let mut params = Params::default();
                let scope = params.bind(t.scope.value());
                c.execute(&t.delete(backend, &mut params, &scope), &params.0)?;
                let mut params = Params::default();
                if let Some(sql) = t.insert(backend, &mut params, |p| p.bind(t.scope.value())) {
                    c.execute(&sql, &params.0)?;
                }
            }
        }
        Backend::Postgres => {
            let mut params = Params::default();
            let mut deletes = Vec::new();
            for t in tables {
                let scope = params.bind_once(t.scope.value());
                deletes.push(t.delete(backend, &mut params, &scope));
            }
            c.execute(&with_queries(&deletes), &params.0)?;
            let mut params = Params::default();
            let inserts: Vec<String> = tables
                .iter()
                .filter_map(|t| t.insert(backend, &mut params, |p| p.bind_once(t.scope.value())))
                .collect();
            if !inserts.is_empty() {
                c.execute(&with_queries(&inserts), &params.0)?;
            }
        }
    }
    Ok(())
}

/// Statements run as one: `WITH q0 AS (...), q1 AS (...) SELECT 1` (PostgreSQL runs each
/// data-modifying WITH query once, to completion, whether or not it is read).
fn with_queries(statements: &[String]) -> String {
    let queries: Vec<String> = statements.iter().enumerate().map(|(i, sql)| format!("q{i} AS ({sql})")).collect();
    format!("WITH {} SELECT 1", queries.join(", "))
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
/// database, one statement per table; on PostgreSQL one statement for all of them (one
/// round trip), as a restore does. (SQLite numbers `$N` in the order they appear, so
/// the new account, which comes first, is `$1`.)
pub fn copy_forked(c: &mut dyn Conn, from: &str, to: &str) -> Result<()> {
    let mut copies = Vec::new();
    for t in TENANT_TABLES.iter().filter(|t| t.forked) {
        let columns = column_names(c, t.name)?;
        let selected: Vec<String> = columns
            .iter()
            .map(|name| if name == t.tenant_column { "CAST($1 AS TEXT)".to_owned() } else { name.clone() })
            .collect();
        copies.push(format!(
            "INSERT INTO {table} ({columns}) SELECT {selected} FROM {table} WHERE {tenant} = $2",
            table = t.name,
            columns = columns.join(", "),
            selected = selected.join(", "),
            tenant = t.tenant_column,
        ));
    }
    let params = [Value::from(to), Value::from(from)];
    match c.backend() {
        Backend::Sqlite => {
            for copy in &copies {
                c.execute(copy, &params)?;
            }
        }
        Backend::Postgres => {
            c.execute(&with_queries(&copies), &params)?;
        }
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
