//! Errors of the identity domain with stable codes the UI translates.

use yiwang_db::DbError;
use yiwang_kernel::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Organisation data (a demo file or an import) is invalid; `entry` names the row.
    #[error("invalid organisation data at {entry}: {reason}")]
    InvalidOrgData { entry: String, reason: String },
    #[error("no department with code {0}")]
    DepartmentNotFound(String),
    /// One input field is not acceptable; `code` is a message key, `message` says why in English.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        message: String,
    },
    /// Another account already uses this resident ID or mobile number.
    #[error("{field}: an account with this value already exists")]
    Duplicate { field: &'static str },
    /// Wrong login or password; deliberately does not say which.
    #[error("the login or the password is wrong")]
    BadCredentials,
    /// Too many failed attempts; no login until the given time.
    #[error("too many failed attempts; try again after {until}")]
    LockedOut {
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Too many wrong log-ins for this identifier from this address: the next attempt waits until then.
    /// Told the same whether or not an account has the identifier.
    #[error("too many failed attempts from here; try again after {until}")]
    TooManyAttempts {
        until: chrono::DateTime<chrono::Utc>,
    },
    /// The code the enterprise register answered with disagrees with the claim.
    #[error("the enterprise register does not list you as this enterprise's legal representative")]
    RegisterMismatch,
    /// Something the caller may not see, or that does not exist: the same answer for both.
    #[error("not found")]
    NotFound,
    #[error("the account is disabled")]
    Disabled,
    /// No valid session (none, expired, revoked or logged out).
    #[error("not logged in")]
    Unauthenticated,
    #[error("not allowed")]
    Forbidden,
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored identity data is malformed: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ErrorCode for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            IdentityError::InvalidOrgData { .. } => "org_data_invalid",
            IdentityError::DepartmentNotFound(_) => "department_not_found",
            IdentityError::Invalid { code, .. } => code,
            IdentityError::Duplicate { field } => match *field {
                "mobile" => "mobile_taken",
                "resident_id" => "resident_id_taken",
                "employee_no" => "employee_no_taken",
                "code" => "code_taken",
                "uscc" => "uscc_taken",
                "agent" => "agent_taken",
                _ => "already_exists",
            },
            IdentityError::BadCredentials => "bad_credentials",
            IdentityError::LockedOut { .. } => "account_locked",
            IdentityError::TooManyAttempts { .. } => "too_many_attempts",
            IdentityError::RegisterMismatch => "enterprise_register_mismatch",
            IdentityError::NotFound => "not_found",
            IdentityError::Disabled => "account_disabled",
            IdentityError::Unauthenticated => "unauthenticated",
            IdentityError::Forbidden => "forbidden",
            IdentityError::Config(_) => "identity_config",
            IdentityError::Corrupt(_) => "identity_corrupt",
            IdentityError::Db(e) => e.code(),
        }
    }
}

impl From<yiwang_db::DbErr> for IdentityError {
    fn from(e: yiwang_db::DbErr) -> Self {
        IdentityError::Db(DbError::from(e))
    }
}
