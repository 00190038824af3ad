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
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ErrorCode for IdentityError {
    fn code(&self) -> &'static str {
        match self {
            IdentityError::InvalidOrgData { .. } => "org_data_invalid",
            IdentityError::DepartmentNotFound(_) => "department_not_found",
            IdentityError::Db(e) => e.code(),
        }
    }
}

impl From<yiwang_db::DbErr> for IdentityError {
    fn from(e: yiwang_db::DbErr) -> Self {
        IdentityError::Db(DbError::from(e))
    }
}
