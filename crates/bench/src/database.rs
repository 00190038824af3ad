//! A fresh database for one benchmark run: a SQLite file in a temporary directory, or a new database
//! on a PostgreSQL server (created from an administrative URL and dropped at the end), like the test
//! harness in `yiwang_db::testing` does.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::Path;

use anyhow::Context;
use yiwang_db::{Backend, ConnectionTrait, Db, redact_url};

/// A database made for one run, with a temporary data directory for the server (keys, calendar).
#[derive(Debug)]
pub struct BenchDb {
    pub db: Db,
    /// The URL the database is reached at.
    pub url: String,
    data_dir: tempfile::TempDir,
    postgres: Option<PostgresCleanup>,
}

#[derive(Debug)]
struct PostgresCleanup {
    admin_url: String,
    name: String,
}

/// 64 random bits as hex (std's per-process random hash keys; enough to keep runs apart).
pub fn random_hex64() -> String {
    format!("{:016x}", RandomState::new().hash_one(std::process::id()))
}

impl BenchDb {
    /// A fresh, empty (not migrated) database: SQLite unless a PostgreSQL administrative URL is given.
    pub async fn create(postgres_admin_url: Option<&str>) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir().context("cannot create a temporary directory")?;
        match postgres_admin_url {
            None => {
                let url = yiwang_db::sqlite_url_in(data_dir.path());
                let db = Db::connect(&url)
                    .await
                    .with_context(|| format!("cannot open {url}"))?;
                Ok(Self {
                    db,
                    url,
                    data_dir,
                    postgres: None,
                })
            }
            Some(admin_url) => {
                let admin = Db::connect(admin_url).await.with_context(|| {
                    format!("cannot connect to PostgreSQL at {}", redact_url(admin_url))
                })?;
                let name = format!("yiwang_bench_{}", random_hex64());
                admin
                    .conn()
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .with_context(|| format!("cannot create the database {name}"))?;
                admin.close().await?;
                let url = yiwang_db::testing::replace_database(admin_url, &name);
                let db = Db::connect(&url)
                    .await
                    .with_context(|| format!("cannot connect to {}", redact_url(&url)))?;
                Ok(Self {
                    db,
                    url,
                    data_dir,
                    postgres: Some(PostgresCleanup {
                        admin_url: admin_url.to_owned(),
                        name,
                    }),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The server's data directory (the SQLite file lives here too).
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// Close the pool and remove the database (the temporary directory goes with `self`).
    pub async fn finish(self) -> anyhow::Result<()> {
        // The server closes the pool when it stops; closing twice is harmless.
        let _ = self.db.close().await;
        if let Some(PostgresCleanup { admin_url, name }) = self.postgres {
            let admin = Db::connect(&admin_url).await?;
            admin
                .conn()
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .with_context(|| format!("cannot drop the database {name}"))?;
            admin.close().await?;
        }
        Ok(())
    }
}
