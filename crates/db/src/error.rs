//! Errors of the database layer, with stable codes for the UI and HTTP mapping.

use yiwang_kernel::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("unsupported database URL {0}: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error("migration {version:04} ({name}) failed: {message}")]
    Migration {
        version: i64,
        name: String,
        message: String,
    },
    #[error("database error: {0}")]
    Query(#[from] sea_orm::DbErr),
    #[error("stored data is malformed: {0}")]
    Corrupt(String),
}

impl ErrorCode for DbError {
    fn code(&self) -> &'static str {
        match self {
            DbError::Connect { .. } | DbError::UnsupportedUrl(_) => "database_unavailable",
            DbError::Migration { .. } => "database_migration_failed",
            DbError::Query(_) => "database_error",
            DbError::Corrupt(_) => "database_corrupt",
        }
    }
}

impl DbError {
    /// True when the error is a unique-constraint violation, which callers turn into "already exists".
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Query(e) => {
                let text = e.to_string();
                text.contains("UNIQUE constraint failed")
                    || text.contains("duplicate key value violates unique constraint")
            }
            _ => false,
        }
    }
}
