//! Yiwang database layer: owns connecting to SQLite or PostgreSQL, the numbered migrations of every
//! domain, the transactional outbox / job queue, the audit chain, and the both-backend test harness.
//!
//! Domain crates write their SQL in their own `repo.rs` against [`ConnectionTrait`]; the SQL they
//! write must run on both backends (`$1` placeholders work on both, see ARCHITECTURE §9). They read
//! rows with the [`row`] toolkit (typed columns, fetch one/all, counts, LIKE patterns).

pub mod audit;
pub mod backup;
mod error;
pub mod jobs;
pub mod limits;
pub mod migrate;
pub mod row;
pub mod testing;
mod time;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub use error::DbError;
pub use row::{
    count, date, escape_like, fetch_all, fetch_one, fetch_required, get_date, get_opt_date,
    get_opt_ts, get_ts, like_contains, like_prefix, like_sql, opt_date, opt_ts, parse_date,
};
pub use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, QueryResult, Statement,
    TransactionTrait, Value,
};
pub use time::{parse_ts, ts};

use sea_orm::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sea_orm::{DbBackend, SqliteTransactionMode, TransactionOptions};

/// Which database a [`Db`] talks to. Backend differences are handled where they occur and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Pool sizing; the defaults suit one node.
#[derive(Clone, Copy, Debug)]
pub struct DbOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// How long a SQLite writer waits for the write lock before giving up.
    pub sqlite_busy_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            sqlite_busy_timeout: Duration::from_secs(10),
        }
    }
}

/// A connection pool to one database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    backend: Backend,
}

impl Db {
    /// Connect from a URL: `sqlite://path/to/file.db`, `sqlite::memory:` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        Self::connect_with(url, DbOptions::default()).await
    }

    #[tracing::instrument(skip_all, err, fields(url = %redact_url(url)))]
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Self, DbError> {
        let connect_err = |e: sea_orm::sqlx::Error| DbError::Connect {
            url: redact_url(url),
            message: e.to_string(),
        };
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(connect_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(options.sqlite_busy_timeout)
                .foreign_keys(true);
            // sqlx names in-memory databases `file:sqlx-in-memory-N`; there is no file to create.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            if !in_memory {
                create_private_file(opts.get_filename()).map_err(|message| DbError::Connect {
                    url: redact_url(url),
                    message,
                })?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(opts)
                .await
                .map_err(connect_err)?;
            Ok(Self {
                conn: DatabaseConnection::from(pool),
                backend: Backend::Sqlite,
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(connect_err)?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(opts)
                .await
                .map_err(connect_err)?;
            Ok(Self {
                conn: DatabaseConnection::from(pool),
                backend: Backend::Postgres,
            })
        } else {
            Err(DbError::UnsupportedUrl(redact_url(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Start a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`, so a transaction that
    /// reads before it writes takes the write lock up front instead of failing to upgrade later.
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: match self.backend {
                Backend::Sqlite => Some(SqliteTransactionMode::Immediate),
                Backend::Postgres => None,
            },
            ..TransactionOptions::default()
        };
        Ok(self.conn.begin_with_options(options).await?)
    }

    /// Check that the database answers (used by `/readyz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        Ok(self.conn.ping().await?)
    }

    pub async fn close(&self) -> Result<(), DbError> {
        Ok(self.conn.close_by_ref().await?)
    }
}

/// Create the database file (and its directory) readable by this user only, before SQLite creates it
/// with the umask's looser mode; SQLite gives its `-wal` and `-shm` files the database file's mode.
/// An existing file is left as it is.
fn create_private_file(file: &Path) -> Result<(), String> {
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
        && !parent.exists()
    {
        private_dir_builder()
            .create(parent)
            .map_err(|e| format!("cannot create directory {}: {e}", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(file) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create {}: {e}", file.display())),
    }
}

/// A recursive directory builder that makes directories readable by this user only (0700).
pub fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// The default database URL: a SQLite file in the data directory.
pub fn sqlite_url_in(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("yiwang.db").display())
}

/// Build a statement for the connection's backend. Use `$1, $2, …` placeholders: both backends accept them.
pub fn stmt<C: ConnectionTrait + ?Sized>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Statement {
    Statement::from_sql_and_values(conn.get_database_backend(), sql, values)
}

/// The backend of a connection or transaction.
pub fn backend_of<C: ConnectionTrait + ?Sized>(conn: &C) -> Backend {
    match conn.get_database_backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// A URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.split_once("://") {
        // The last '@' ends the user info: a password may contain an unencoded '@'.
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => base.to_owned(),
            },
            None => base.to_owned(),
        },
        None => base.to_owned(),
    };
    match query {
        None => base,
        Some(query) => {
            let params: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Db, redact_url, sqlite_url_in};

    /// A new SQLite database is private to this user (its directory 0700, the file 0600, and so its
    /// WAL and shared-memory files), whatever the umask.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_database_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data").join("node-1");
        let db = Db::connect(&sqlite_url_in(&data))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A write, so that SQLite creates its WAL file too.
        sea_orm::ConnectionTrait::execute_unprepared(db.conn(), "CREATE TABLE t (x BIGINT)")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("yiwang.db")), 0o600);
        assert_eq!(mode(&data.join("yiwang.db-wal")), 0o600);
        db.close().await.unwrap_or_else(|e| panic!("{e}"));
        // In-memory databases leave nothing behind.
        let memory = Db::connect("sqlite::memory:")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        memory.close().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!std::path::Path::new("file:sqlx-in-memory-0").exists());
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://yw:s3cret@db:5432/yiwang"),
            "postgres://yw:***@db:5432/yiwang"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("sqlite://data/yiwang.db"),
            "sqlite://data/yiwang.db"
        );
        assert_eq!(
            redact_url("postgres://yw:p@ss@db/x"),
            "postgres://yw:***@db/x"
        );
        assert_eq!(
            redact_url("postgres://db/x?user=yw&password=s3cret&sslmode=require"),
            "postgres://db/x?user=yw&password=***&sslmode=require"
        );
    }
}
