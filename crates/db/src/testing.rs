//! Test harness: every database test runs on a fresh SQLite database and on a fresh PostgreSQL
//! database.
//!
//! Use [`db_test!`](crate::db_test): it makes one `sqlite` and one `postgres` test per body, so the test
//! output names the backend that failed. Whether the PostgreSQL variant runs is decided when the tests
//! are built (`build.rs` reads `YIWANG_TEST_POSTGRES_URL`): without the variable it is marked
//! `#[ignore = "PostgreSQL variant skipped: …"]`, which `cargo test` prints on the test's own line and
//! counts as ignored. With `CI` set nothing is ignored, so a missing PostgreSQL fails the run.

use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::ConnectionTrait;

use crate::{Db, DbError, redact_url, stmt};

/// The variable naming an administrative PostgreSQL URL (the harness creates one database per test).
pub const POSTGRES_ENV: &str = "YIWANG_TEST_POSTGRES_URL";

/// A database made for one test; call [`TestDb::finish`] at the end to drop it.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    /// The URL the test database can be reached at (for starting a second pool or a child process).
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// Close the pool and remove the database.
    pub async fn finish(self) {
        let _ = self.db.close().await;
        match self.cleanup {
            Cleanup::Sqlite(dir) => drop(dir),
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(admin) = Db::connect(&admin_url).await {
                    let _ = admin
                        .conn()
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    let _ = admin.close().await;
                }
            }
        }
    }

    /// The data directory of a SQLite test database (`None` on PostgreSQL).
    pub fn dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::Sqlite(dir) => Some(dir.path()),
            Cleanup::Postgres { .. } => None,
        }
    }
}

/// A fresh, empty SQLite database in a temporary directory (not migrated).
pub async fn sqlite_empty() -> Result<TestDb, DbError> {
    let dir = tempfile::tempdir().map_err(|e| DbError::Connect {
        url: "sqlite temp dir".to_owned(),
        message: e.to_string(),
    })?;
    let url = crate::sqlite_url_in(dir.path());
    let db = Db::connect(&url).await?;
    Ok(TestDb {
        db,
        url,
        cleanup: Cleanup::Sqlite(dir),
    })
}

/// Whether the PostgreSQL run is configured; panics under CI when it is not.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but {POSTGRES_ENV} is not: the PostgreSQL run must not be skipped")
        }
        _ => None,
    }
}

/// A fresh, empty PostgreSQL database (not migrated), or `None` when PostgreSQL is not configured.
#[expect(
    clippy::disallowed_methods,
    reason = "names stale test databases by wall-clock age"
)]
pub async fn postgres_empty() -> Result<Option<TestDb>, DbError> {
    let Some(admin_url) = postgres_admin_url() else {
        return Ok(None);
    };
    let admin = Db::connect(&admin_url).await?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    drop_stale_databases(&admin, stamp).await?;
    let name = format!("yiwang_t_{stamp}_{}", uuid::Uuid::new_v4().simple());
    admin
        .conn()
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    let _ = admin.close().await;
    let url = replace_database(&admin_url, &name);
    let db = Db::connect(&url).await?;
    tracing::debug!(url = %redact_url(&url), "test database created");
    Ok(Some(TestDb {
        db,
        url,
        cleanup: Cleanup::Postgres { admin_url, name },
    }))
}

/// Databases left by crashed test runs more than an hour ago.
async fn drop_stale_databases(admin: &Db, now_secs: u64) -> Result<(), DbError> {
    let rows = admin
        .conn()
        .query_all_raw(stmt(
            admin.conn(),
            "SELECT datname FROM pg_database WHERE datname LIKE 'yiwang_t_%'",
            [],
        ))
        .await?;
    for row in rows {
        let name: String = row.try_get("", "datname")?;
        let stamp = name
            .strip_prefix("yiwang_t_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|s| s.parse::<u64>().ok());
        if stamp.is_some_and(|s| s + 3600 < now_secs) {
            let _ = admin
                .conn()
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
    Ok(())
}

/// Swap the database name in a PostgreSQL URL, keeping any query string.
pub fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = &base[scheme_end..];
    let prefix = match host_part.find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// A fresh migrated SQLite database.
pub async fn sqlite() -> TestDb {
    let test = sqlite_empty()
        .await
        .unwrap_or_else(|e| panic!("sqlite test database: {e}"));
    migrate(&test.db).await;
    test
}

/// A fresh migrated PostgreSQL database. Panics when PostgreSQL is not configured: a PostgreSQL variant
/// that runs at all (built with the variable, under CI, or asked for with `--ignored`) must not pass
/// without having run.
pub async fn postgres() -> TestDb {
    match postgres_empty().await {
        Ok(Some(test)) => {
            migrate(&test.db).await;
            test
        }
        Ok(None) => panic!(
            "{POSTGRES_ENV} is not set in this run, so this PostgreSQL test cannot run \
             (set it, or leave it unset when building the tests to have them ignored)"
        ),
        Err(e) => panic!("postgres test database: {e}"),
    }
}

#[expect(
    clippy::disallowed_methods,
    reason = "test set-up records a real migration time"
)]
async fn migrate(db: &Db) {
    let now = chrono::DateTime::<chrono::Utc>::from(SystemTime::now());
    crate::migrate::run(db, now)
        .await
        .unwrap_or_else(|e| panic!("migrations failed: {e}"));
}

/// Run an `async fn NAME(t: &TestDb)` on both backends: `db_test!(NAME);` makes the tests
/// `NAME::sqlite` and `NAME::postgres` (a module and a function may share a name). Several names may be
/// listed. Leading attributes are skip conditions for both variants, e.g.
/// `db_test!(#[cfg_attr(no_browser, ignore = "…")] NAME)`; on an ignored PostgreSQL variant only the
/// PostgreSQL reason is given (one `ignore` per test).
#[macro_export]
macro_rules! db_test {
    (@one [$($skip:tt)*] $name:ident) => {
        mod $name {
            $($skip)*
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let test = $crate::testing::sqlite().await;
                super::$name(&test).await;
                test.finish().await;
            }

            $crate::__db_test_postgres!([$($skip)*] $name);
        }
    };
    ($(#[$skip:meta])* $(,)?) => {};
    ($(#[$skip:meta])* $first:ident $(, $rest:ident)* $(,)?) => {
        $crate::db_test!(@one [$(#[$skip])*] $first);
        $crate::db_test!($(#[$skip])* $($rest),*);
    };
}

/// The PostgreSQL variant of a [`db_test!`]; this definition is chosen when PostgreSQL runs.
#[cfg(not(yiwang_pg_skipped))]
#[doc(hidden)]
#[macro_export]
macro_rules! __db_test_postgres {
    ([$($skip:tt)*] $name:ident) => {
        $($skip)*
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            let test = $crate::testing::postgres().await;
            super::$name(&test).await;
            test.finish().await;
        }
    };
}

/// The PostgreSQL variant of a [`db_test!`], built without `YIWANG_TEST_POSTGRES_URL` (and without
/// `CI`): ignored with its reason. `cargo test -- --include-ignored` runs it (and needs the variable).
#[cfg(yiwang_pg_skipped)]
#[doc(hidden)]
#[macro_export]
macro_rules! __db_test_postgres {
    ([$($skip:tt)*] $name:ident) => {
        #[ignore = "PostgreSQL variant skipped: YIWANG_TEST_POSTGRES_URL is not set"]
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn postgres() {
            let test = $crate::testing::postgres().await;
            super::$name(&test).await;
            test.finish().await;
        }
    };
}

/// A hand-written PostgreSQL-only test, ignored like [`db_test!`]'s PostgreSQL variants:
/// `postgres_only! { #[tokio::test] async fn name() { … } }`.
#[cfg(not(yiwang_pg_skipped))]
#[macro_export]
macro_rules! postgres_only {
    ($test:item) => {
        $test
    };
}

/// A hand-written PostgreSQL-only test, built without `YIWANG_TEST_POSTGRES_URL`: ignored.
#[cfg(yiwang_pg_skipped)]
#[macro_export]
macro_rules! postgres_only {
    ($test:item) => {
        #[ignore = "PostgreSQL variant skipped: YIWANG_TEST_POSTGRES_URL is not set"]
        $test
    };
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn swaps_database_names() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://h:5432", "t3"),
            "postgres://h:5432/t3"
        );
    }
}
