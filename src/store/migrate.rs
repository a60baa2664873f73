//! Schema migrations, embedded in the binary and applied in order at start.
//! Each backend has its own folder with the same file names.

use sha2::{Digest, Sha256};

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
        "0006_named_revocation_scopes",
        include_str!("migrations/sqlite/0006_named_revocation_scopes.sql"),
        include_str!("migrations/postgres/0006_named_revocation_scopes.sql"),
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
    (
        "0009_snapshot_storage",
        include_str!("migrations/sqlite/0009_snapshot_storage.sql"),
        include_str!("migrations/postgres/0009_snapshot_storage.sql"),
    ),
];

/// Applies every migration not yet recorded, and refuses to start when one applied
/// before has changed since (its file's checksum differs from the one recorded). The
/// caller holds a transaction.
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
    // Beside schema_migrations rather than in it: a database from before checksums has
    // that table already, and neither backend adds a column only if it is missing alike.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migration_checksums (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL)",
        &[],
    )?;
    for (name, sqlite_sql, postgres_sql) in MIGRATIONS {
        let sql = match conn.backend() {
            Backend::Sqlite => sqlite_sql,
            Backend::Postgres => postgres_sql,
        };
        let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
        let applied = conn.query("SELECT name FROM schema_migrations WHERE name = $1", &[Value::from(*name)])?;
        if !applied.is_empty() {
            check_unchanged(conn, name, &checksum)?;
            continue;
        }
        // Comments go first, so that a ';' inside one cannot split a statement.
        let statements: String =
            sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
        for statement in statements.split(';').map(str::trim).filter(|s| !s.is_empty()) {
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
        // Recorded anew if it was applied once more (a database rewound by hand).
        conn.execute(
            "INSERT INTO schema_migration_checksums (name, sha256) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256",
            &[Value::from(*name), Value::from(checksum)],
        )?;
    }
    Ok(())
}

/// An applied migration must be the file it was: a changed one means this binary's
/// idea of the schema is not the database's. One applied before checksums were
/// recorded is recorded now, as it is.
fn check_unchanged(conn: &mut dyn Conn, name: &str, checksum: &str) -> Result<(), StoreError> {
    let recorded = conn.query("SELECT sha256 FROM schema_migration_checksums WHERE name = $1", &[Value::from(name)])?;
    match recorded.first().map(|row| row.text(0)) {
        Some(recorded) if recorded == checksum => Ok(()),
        Some(_) => Err(StoreError::other(format!(
            "migration {name} was applied from a different file than this build's: refusing to start"
        ))),
        None => {
            conn.execute(
                "INSERT INTO schema_migration_checksums (name, sha256) VALUES ($1, $2)",
                &[Value::from(name), Value::from(checksum)],
            )?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, Value};

    #[tokio::test]
    async fn a_changed_applied_migration_refuses_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite").to_string_lossy().into_owned();
        let store = Store::open(&path).await.unwrap();
        let recorded = store
            .read(|c| Ok(c.query("SELECT count(*) FROM schema_migration_checksums", &[])?[0].int(0)))
            .await
            .unwrap();
        assert_eq!(recorded, super::MIGRATIONS.len() as i64);
        store
            .write(|c| {
                c.execute(
                    "UPDATE schema_migration_checksums SET sha256 = $1 WHERE name = '0001_init'",
                    &[Value::from("0")],
                )?;
                Ok(())
            })
            .await
            .unwrap();
        drop(store);
        let Err(err) = Store::open(&path).await else { panic!("a changed migration must refuse to start") };
        assert!(err.message.contains("0001_init"), "{err}");
    }
}
