use super::super::Conn;
use super::Result;
use crate::domain::Timestamp;

/// Every rate-limit window's key starts with its tenant's account id and a colon (the
/// dialects name the rest), so a tenant's windows are the keys with this prefix.
pub fn tenant_key_prefix(account: &str) -> String {
    format!("{account}:")
}

/// A window's key: the tenant, then what the dialect counts (`zoom:Light:qps`, ...).
pub fn window_key(account: &str, what: &str) -> String {
    format!("{account}:{what}")
}

/// What [`lease_rate_window`] granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLease {
    /// The window's hits after this lease (granted or not yet).
    pub hits: i64,
    pub window_start: Timestamp,
    /// How many hits this lease took (1 to the number asked for).
    pub granted: i64,
}

/// Takes up to `wanted` hits (at least 1, at most `limit`) for one node from `key`'s
/// window starting at `window_start`, never taking the window past `limit`. A newer
/// window replaces the stored one; a request from an older window (a node a little
/// behind) takes from the newer one. `None` when the window is full. One statement:
/// atomic on its own (in SET, the stored row's columns are the values before it).
pub fn lease_rate_window(
    c: &mut dyn Conn,
    key: &str,
    window_start: Timestamp,
    window_ms: i64,
    limit: i64,
    wanted: i64,
) -> Result<Option<RateLease>> {
    let rows = c.query(
        "INSERT INTO rate_windows (key, window_start, window_ms, hits, granted) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (key) DO UPDATE SET
             granted = CASE WHEN rate_windows.window_start < excluded.window_start THEN excluded.granted
                            WHEN $5 - rate_windows.hits < excluded.granted THEN $5 - rate_windows.hits
                            ELSE excluded.granted END,
             hits = CASE WHEN rate_windows.window_start < excluded.window_start THEN excluded.hits
                         WHEN $5 - rate_windows.hits < excluded.granted THEN $5
                         ELSE rate_windows.hits + excluded.granted END,
             window_start = CASE WHEN rate_windows.window_start < excluded.window_start
                                 THEN excluded.window_start ELSE rate_windows.window_start END,
             window_ms = excluded.window_ms
         WHERE rate_windows.window_start < excluded.window_start OR rate_windows.hits < $5
         RETURNING hits, window_start, granted",
        // SQLite numbers `$N` parameters in order of first appearance: $4 comes before $5.
        &[key.into(), window_start.into(), window_ms.into(), wanted.clamp(1, limit.max(1)).into(), limit.into()],
    )?;
    Ok(rows.first().map(|r| RateLease { hits: r.int(0), window_start: r.int(1), granted: r.int(2) }))
}

/// The stored window of `key`: its start and its hits.
pub fn get_rate_window(c: &mut dyn Conn, key: &str) -> Result<Option<(Timestamp, i64)>> {
    let rows = c.query("SELECT window_start, hits FROM rate_windows WHERE key = $1", &[key.into()])?;
    Ok(rows.first().map(|r| (r.int(0), r.int(1))))
}

/// Forgets windows that ended more than `grace_ms` ago by their tenant's clock (frozen,
/// or running behind the wall clock after an unfreeze, it is not the wall's); the windows
/// of a tenant that is gone, by the wall clock `wall`. Returns how many went.
pub fn delete_rate_windows_ended(c: &mut dyn Conn, wall: Timestamp, grace_ms: i64) -> Result<u64> {
    c.execute(
        "DELETE FROM rate_windows WHERE window_start + window_ms < (
             SELECT COALESCE(MIN(COALESCE(t.clock_frozen_at, $1 + t.clock_offset_ms)), $1) FROM tenants t
              WHERE substr(rate_windows.key, 1, length(t.account_id) + 1) = t.account_id || ':') - $2",
        &[wall.into(), grace_ms.into()],
    )
}
