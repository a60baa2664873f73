//! One function per query, in SQL both backends accept. Each takes the connection (a
//! transaction for writes) and returns domain types.

use serde_json::{Map, Value as Json};

use super::{Conn, StoreError, Value};

pub(super) type Result<T> = std::result::Result<T, StoreError>;

mod apps;
mod audit;
mod credentials;
mod delegations;
mod devices;
mod principals;
mod rate_windows;
mod revocations;
mod settings;
mod tenants;
mod tokens;

pub use apps::*;
pub use audit::*;
pub use credentials::*;
pub use delegations::*;
pub use devices::*;
pub use principals::*;
pub use rate_windows::*;
pub use revocations::*;
pub use settings::*;
pub use tenants::*;
pub use tokens::*;

/// A list of columns (`"a, b"`), each of the table named `alias` (`"t.a, t.b"`), for joins.
pub(super) fn qualified(alias: &str, columns: &str) -> String {
    columns.split(',').map(|column| format!("{alias}.{}", column.trim())).collect::<Vec<_>>().join(", ")
}

pub(super) fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(super) fn json_map(text: &str) -> Map<String, Json> {
    serde_json::from_str(text).unwrap_or_default()
}

pub(super) fn json_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}

/// Rows per multi-row INSERT: few statements for a large world, well under both
/// backends' limits on bound parameters (SQLite 32,766; PostgreSQL 65,535).
pub(super) const ROWS_PER_INSERT: usize = 500;

/// `head VALUES (...), (...), ...` in chunks of [`ROWS_PER_INSERT`] rows of equal width.
pub(super) fn insert_rows(c: &mut dyn Conn, head: &str, rows: impl Iterator<Item = Vec<Value>>) -> Result<()> {
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let width = chunk[0].len();
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 6);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for j in 0..width {
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push('$');
                sql.push_str(&(i * width + j + 1).to_string());
            }
            sql.push(')');
        }
        let params: Vec<Value> = chunk.into_iter().flatten().collect();
        c.execute(&sql, &params)?;
    }
    Ok(())
}

/// ` FOR UPDATE` on PostgreSQL (SQLite has one writer, and no such clause).
pub(super) fn for_update(c: &dyn Conn) -> &'static str {
    match c.backend() {
        super::Backend::Postgres => " FOR UPDATE",
        super::Backend::Sqlite => "",
    }
}

/// An OFFSET as bound: past `i64::MAX` is past any table's end anyway.
pub(super) fn offset_value(offset: u64) -> Value {
    i64::try_from(offset).unwrap_or(i64::MAX).into()
}
