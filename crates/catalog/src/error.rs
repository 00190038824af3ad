//! Errors of the catalog with stable codes the UI translates.

use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::ErrorCode;

use crate::model::Problem;
use crate::transfer::RowError;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("no such item")]
    ItemNotFound,
    #[error("no such version")]
    VersionNotFound,
    #[error("no such life event")]
    LifeEventNotFound,
    #[error("no such file")]
    FileNotFound,
    #[error("an item with implementation code {0} already exists")]
    ImplCodeTaken(String),
    #[error("no department with code {0}")]
    UnknownDepartment(String),
    /// The content breaks one or more rules; every one is listed.
    #[error("the item is not valid: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// An import file has bad rows; nothing was imported.
    #[error("{} rows are not valid; nothing was imported", .0.len())]
    ImportRejected(Vec<RowError>),
    /// The file could not be read at all (not JSON, not CSV, wrong encoding).
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
    /// The item already has an open version; finish or discard it first.
    #[error("the item already has a version being edited or reviewed")]
    DraftExists,
    /// The version is not in a state that allows the action (e.g. approving a draft).
    #[error("a {state} version cannot be {action}")]
    WrongState {
        state: &'static str,
        action: &'static str,
    },
    /// The reviewer is the author: a second person must review.
    #[error("the author of a version cannot review it")]
    SelfReview,
    #[error("the effective date cannot be in the past")]
    EffectiveInPast,
    #[error("a reason is required when sending a version back")]
    NoteRequired,
    #[error("the file is larger than {max} bytes")]
    FileTooLarge { max: usize },
    #[error("files of type {0} are not accepted")]
    FileTypeRefused(String),
    #[error("search index: {0}")]
    Index(String),
    #[error("stored catalog data is malformed: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ErrorCode for CatalogError {
    fn code(&self) -> &'static str {
        match self {
            CatalogError::ItemNotFound => "item_not_found",
            CatalogError::VersionNotFound => "version_not_found",
            CatalogError::LifeEventNotFound => "life_event_not_found",
            CatalogError::FileNotFound => "file_not_found",
            CatalogError::ImplCodeTaken(_) => "impl_code_taken",
            CatalogError::UnknownDepartment(_) => "department_not_found",
            CatalogError::Invalid(problems) => problems.first().map_or("item_invalid", |p| p.code),
            CatalogError::ImportRejected(_) => "import_rejected",
            CatalogError::Unreadable(_) => "import_unreadable",
            CatalogError::DraftExists => "draft_exists",
            CatalogError::WrongState { .. } => "version_wrong_state",
            CatalogError::SelfReview => "self_review",
            CatalogError::EffectiveInPast => "effective_in_past",
            CatalogError::NoteRequired => "review_note_required",
            CatalogError::FileTooLarge { .. } => "file_too_large",
            CatalogError::FileTypeRefused(_) => "file_type_refused",
            CatalogError::Index(_) => "search_index",
            CatalogError::Corrupt(_) => "catalog_corrupt",
            CatalogError::Identity(e) => e.code(),
            CatalogError::Db(e) => e.code(),
        }
    }
}

impl From<yiwang_db::DbErr> for CatalogError {
    fn from(e: yiwang_db::DbErr) -> Self {
        CatalogError::Db(DbError::from(e))
    }
}

impl From<tantivy::TantivyError> for CatalogError {
    fn from(e: tantivy::TantivyError) -> Self {
        CatalogError::Index(e.to_string())
    }
}
