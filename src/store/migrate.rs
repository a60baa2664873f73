//! Schema migrations, embedded in the binary and applied in order at start.
//! Each backend has its own folder with the same file names.

use super::{Backend, Conn, StoreError, Value};

/// The advisory lock key migrations take on PostgreSQL ("userplan" in ASCII).
const MIGRATION_LOCK: i64 = 0x7573_6572_706c_616e;

/// (name, SQLite SQL, PostgreSQL SQL), in order.
const MIGRATIONS: &[(&str, &str, &str)] = &[
    ("0001_init", include_str!("migrations/sqlite/0001_init.sql"), include_str!("migrations/postgres/0001_init.sql")),
    (
        "0002_rate_windows",
        include_str!("migrations/sqlite/0002_rate_windows.sql"),
        include_str!("migrations/postgres/0002_rate_windows.sql"),
    ),
    (
        "0003_device_generations_and_rate_leases",
        include_str!("migrations/sqlite/0003_device_generations_and_rate_leases.sql"),
        include_str!("migrations/postgres/0003_device_generations_and_rate_leases.sql"),
    ),
    (
        "0004_documents_counts_retention",
        include_str!("migrations/sqlite/0004_documents_counts_retention.sql"),
        include_str!("migrations/postgres/0004_documents_counts_retention.sql"),
    ),
    (
        "0005_secret_key",
        include_str!("migrations/sqlite/0005_secret_key.sql"),
        include_str!("migrations/postgres/0005_secret_key.sql"),
    ),
    (
        "0007_faults_and_requests",
        include_str!("migrations/sqlite/0007_faults_and_requests.sql"),
        include_str!("migrations/postgres/0007_faults_and_requests.sql"),
    ),
    (
        "0008_snapshots",
        include_str!("migrations/sqlite/0008_snapshots.sql"),
        include_str!("migrations/postgres/0008_snapshots.sql"),
    ),
];

/// Applies every migration not yet recorded. The caller holds a transaction.
///
/// On PostgreSQL several nodes may start at once: a transaction-scoped advisory lock,
/// taken before anything else, makes them apply the migrations one after the other
/// (the later ones then find everything recorded).
pub fn run(conn: &mut dyn Conn) -> Result<(), StoreError> {
    if conn.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_xact_lock($1)", &[Value::Int(MIGRATION_LOCK)])?;
    }
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        &[],
    )?;
    for (name, sqlite_sql, postgres_sql) in MIGRATIONS {
        let applied = conn.query("SELECT name FROM schema_migrations WHERE name = $1", &[Value::from(*name)])?;
        if !applied.is_empty() {
            continue;
        }
        let sql = match conn.backend() {
            Backend::Sqlite => sqlite_sql,
            Backend::Postgres => postgres_sql,
        };
        // Comments go first, so that a ';' inside one cannot split a statement.
        let sql: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            conn.execute(statement, &[]).map_err(|e| StoreError::other(format!("{e} in {statement}")))?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        conn.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
            &[Value::from(*name), Value::Int(now)],
        )?;
    }
    Ok(())
}
