//! What backups need from the database: a consistent online copy of a SQLite database and the row
//! count of every table (recorded in a backup's manifest and compared after a restore). PostgreSQL
//! is copied by `pg_dump`, outside this crate.

use std::collections::BTreeMap;
use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait as _};

use crate::{Backend, Db, DbError, backend_of, stmt};

/// Copy a SQLite database to `dest` (which must not exist) with `VACUUM INTO`: one read transaction,
/// so the copy is consistent while the server keeps writing, and compact. Fails on PostgreSQL.
pub async fn sqlite_snapshot(db: &Db, dest: &Path) -> Result<(), DbError> {
    if db.backend() != Backend::Sqlite {
        return Err(DbError::Corrupt(
            "VACUUM INTO is for SQLite; PostgreSQL is copied with pg_dump".to_owned(),
        ));
    }
    let path = dest
        .to_str()
        .ok_or_else(|| DbError::Corrupt(format!("{} is not a UTF-8 path", dest.display())))?;
    let conn = db.conn();
    conn.execute_raw(stmt(conn, "VACUUM INTO $1", [path.into()]))
        .await?;
    Ok(())
}

/// The audit chain's head (sequence number and hash) as `conn` sees it.
pub async fn audit_head<C: ConnectionTrait>(conn: &C) -> Result<(i64, String), DbError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT seq, hash FROM audit_head WHERE id = 1",
            [],
        ))
        .await?
        .ok_or_else(|| DbError::Corrupt("audit_head row is missing".to_owned()))?;
    Ok((row.try_get("", "seq")?, row.try_get("", "hash")?))
}

/// Start a PostgreSQL transaction whose snapshot `pg_dump --snapshot` can share, so that the dump
/// and the counts taken in the transaction see the same data. Keep it open until `pg_dump` is done.
pub async fn begin_exported_snapshot(db: &Db) -> Result<(DatabaseTransaction, String), DbError> {
    if db.backend() != Backend::Postgres {
        return Err(DbError::Corrupt(
            "exported snapshots are a PostgreSQL feature".to_owned(),
        ));
    }
    let tx = db.conn().begin().await?;
    tx.execute_unprepared("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let row = tx
        .query_one_raw(stmt(&tx, "SELECT pg_export_snapshot() AS id", []))
        .await?
        .ok_or_else(|| DbError::Corrupt("no snapshot id".to_owned()))?;
    let id: String = row.try_get("", "id")?;
    Ok((tx, id))
}

/// Every table of the schema with its number of rows, by name.
pub async fn table_counts<C: ConnectionTrait>(conn: &C) -> Result<BTreeMap<String, i64>, DbError> {
    let list = match backend_of(conn) {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        }
    };
    let names: Vec<String> = conn
        .query_all_raw(stmt(conn, list, []))
        .await?
        .iter()
        .map(|row| row.try_get("", "name"))
        .collect::<Result<_, _>>()?;
    let mut counts = BTreeMap::new();
    for name in names {
        // The names come from the catalog, not from a user; quoting keeps any odd one a name.
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let row = conn
            .query_one_raw(stmt(
                conn,
                &format!("SELECT COUNT(*) AS n FROM {quoted}"),
                [],
            ))
            .await?
            .ok_or_else(|| DbError::Corrupt(format!("no count for {name}")))?;
        counts.insert(name, row.try_get::<i64>("", "n")?);
    }
    Ok(counts)
}
