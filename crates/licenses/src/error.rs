//! Errors of e-licences with stable codes the UI translates (`licence_…`).

use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::{CryptoError, ErrorCode, PagingError};

use crate::model::LicenseStatus;

/// A field of an input that is wrong, named for the form or the API's `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

/// One bad row of a bulk import: its line in the file and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    #[error("not a valid licence identifier: {0}")]
    BadIdentifier(String),
    #[error("no such licence")]
    NotFound,
    #[error("no such licence type")]
    TypeNotFound,
    #[error("the licence type is not valid: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    TypeInvalid(Vec<FieldProblem>),
    #[error("the licence data is not valid: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    DataInvalid(Vec<FieldProblem>),
    /// The staff member's department does not issue this type.
    #[error("the department does not issue this licence type")]
    NotIssuingDepartment,
    /// The holder named does not exist or is of the wrong kind for the type.
    #[error("no such holder for this licence type")]
    HolderNotFound,
    /// The transition is not possible from the licence's status.
    #[error("a {status:?} licence cannot be {action}")]
    WrongStatus {
        status: LicenseStatus,
        action: &'static str,
    },
    #[error("a reason is required")]
    ReasonRequired,
    #[error("the import has {} bad rows", .0.len())]
    ImportInvalid(Vec<RowProblem>),
    #[error("the import file is too large")]
    ImportTooLarge,
    #[error("no such show code, or it has expired or been used")]
    ShowCodeInvalid,
    #[error("no such grant")]
    GrantNotFound,
    #[error("no such pending issuance")]
    PendingNotFound,
    /// A read without a grant or legal basis (logged as refused).
    #[error("no grant or legal basis allows this read")]
    ReadRefused,
    #[error("the text is too long: {0}")]
    TooLong(&'static str),
    #[error("the seal key does not open with the configured key")]
    SealKey,
    #[error("the licence was changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Paging(#[from] PagingError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored licence data is corrupt: {0}")]
    Corrupt(String),
}

impl From<yiwang_db::DbErr> for LicenseError {
    fn from(e: yiwang_db::DbErr) -> Self {
        LicenseError::Db(DbError::from(e))
    }
}

impl ErrorCode for LicenseError {
    fn code(&self) -> &'static str {
        match self {
            LicenseError::BadIdentifier(_) => "licence_bad_identifier",
            LicenseError::NotFound => "licence_not_found",
            LicenseError::TypeNotFound => "licence_type_not_found",
            LicenseError::TypeInvalid(_) => "licence_type_invalid",
            LicenseError::DataInvalid(_) => "licence_data_invalid",
            LicenseError::NotIssuingDepartment => "licence_not_issuing_department",
            LicenseError::HolderNotFound => "licence_holder_not_found",
            LicenseError::WrongStatus { .. } => "licence_wrong_status",
            LicenseError::ReasonRequired => "licence_reason_required",
            LicenseError::ImportInvalid(_) => "licence_import_invalid",
            LicenseError::ImportTooLarge => "licence_import_too_large",
            LicenseError::ShowCodeInvalid => "licence_show_code_invalid",
            LicenseError::GrantNotFound => "licence_grant_not_found",
            LicenseError::PendingNotFound => "licence_pending_not_found",
            LicenseError::ReadRefused => "forbidden",
            LicenseError::TooLong(_) => "licence_text_too_long",
            LicenseError::SealKey => "licence_seal_key",
            LicenseError::Conflict => "licence_conflict",
            LicenseError::Paging(e) => e.code(),
            LicenseError::Crypto(e) => e.code(),
            LicenseError::Identity(e) => e.code(),
            LicenseError::Db(e) => e.code(),
            LicenseError::Corrupt(_) => "internal",
        }
    }
}
