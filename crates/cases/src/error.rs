//! Errors of cases with stable codes the UI translates.

use yiwang_catalog::CatalogError;
use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::ErrorCode;

use crate::form::FieldProblem;
use crate::model::CaseStatus;
use crate::workflow::WorkflowProblem;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no such case")]
    CaseNotFound,
    #[error("no such task")]
    TaskNotFound,
    #[error("no such file")]
    FileNotFound,
    /// The item has no published workflow, so it cannot be applied for online yet.
    #[error("the item has no workflow; it cannot be applied for here yet")]
    NoWorkflow,
    /// The item is suspended or cancelled.
    #[error("the item is not in service")]
    ItemNotInService,
    #[error("the workflow is not valid: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    WorkflowInvalid(Vec<WorkflowProblem>),
    #[error("the form has {} problems", .0.len())]
    FormInvalid(Vec<FieldProblem>),
    /// A required material has no file.
    #[error("materials missing: {}", .0.join(", "))]
    MaterialsMissing(Vec<String>),
    #[error("the material {0:?} is not one of the item's materials")]
    UnknownMaterial(String),
    /// The commitment statement was not signed.
    #[error("the commitment statement must be signed")]
    CommitmentNotSigned,
    /// The action is not possible in the case's (or task's) current state.
    #[error("a {status:?} case cannot be {action}")]
    WrongState {
        status: CaseStatus,
        action: &'static str,
    },
    #[error("the task is no longer open")]
    TaskClosed,
    #[error("the step does not offer {0}")]
    ActionNotOffered(&'static str),
    /// Someone else holds the task.
    #[error("the task is claimed by someone else")]
    ClaimedByOther,
    #[error("the staff member does not hold the task's post")]
    NotOnPost,
    /// 受审分离: whoever accepted the case may not decide it.
    #[error("the person who accepted the case cannot decide it")]
    SeparationOfDuties,
    #[error("an opinion or reason is required")]
    OpinionRequired,
    #[error("a supplement notice must list what is missing")]
    MissingListRequired,
    #[error("a special procedure needs its kind and expected end date")]
    SpecialRequired,
    #[error("the expected end of the special procedure is in the past")]
    SpecialEndInPast,
    /// A review disagreed, so the case cannot be granted.
    #[error("a review did not agree; the case cannot be granted")]
    ReviewDisagreed,
    #[error("sending back is not possible from this step")]
    CannotSendBack,
    #[error("the supplement can be requested only when one post is working on the case")]
    SupplementDuringParallel,
    #[error("the decision limit has already been extended once")]
    AlreadyExtended,
    #[error("the extension must be approved by someone other than who asked for it")]
    SelfApproval,
    #[error("the supplement period has not ended yet")]
    SupplementNotDue,
    #[error("the file is larger than {max} bytes")]
    FileTooLarge { max: usize },
    /// The person keeps as many files or bytes as allowed; deleting or using some frees room.
    #[error("at most {max_files} files and {max_bytes} bytes may be kept")]
    FileQuotaExceeded { max_files: u64, max_bytes: u64 },
    #[error("files of type {0} are not accepted")]
    FileTypeRefused(String),
    #[error("the file's content is not a {0} file")]
    FileContentMismatch(String),
    #[error("the case number and query code do not match a case")]
    QueryMismatch,
    /// Another request changed the case first; nothing was written.
    #[error("the case was changed by someone else; reload and try again")]
    Conflict,
    #[error("file storage: {0}")]
    Storage(String),
    #[error("stored case data is malformed: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// E-licences (免提交, automatic issue, seals).
    #[error(transparent)]
    Licence(#[from] yiwang_licenses::LicenseError),
}

impl ErrorCode for CaseError {
    fn code(&self) -> &'static str {
        match self {
            CaseError::CaseNotFound => "case_not_found",
            CaseError::TaskNotFound => "task_not_found",
            CaseError::FileNotFound => "file_not_found",
            CaseError::NoWorkflow => "item_no_workflow",
            CaseError::ItemNotInService => "item_not_in_service",
            CaseError::WorkflowInvalid(problems) => {
                problems.first().map_or("workflow_invalid", |p| p.code)
            }
            CaseError::FormInvalid(problems) => problems.first().map_or("form_invalid", |p| p.code),
            CaseError::MaterialsMissing(_) => "materials_missing",
            CaseError::UnknownMaterial(_) => "material_unknown",
            CaseError::CommitmentNotSigned => "commitment_not_signed",
            CaseError::WrongState { .. } => "case_wrong_state",
            CaseError::TaskClosed => "task_closed",
            CaseError::ActionNotOffered(_) => "action_not_offered",
            CaseError::ClaimedByOther => "task_claimed_by_other",
            CaseError::NotOnPost => "task_not_on_post",
            CaseError::SeparationOfDuties => "separation_of_duties",
            CaseError::OpinionRequired => "opinion_required",
            CaseError::MissingListRequired => "missing_list_required",
            CaseError::SpecialRequired => "special_required",
            CaseError::SpecialEndInPast => "special_end_in_past",
            CaseError::ReviewDisagreed => "review_disagreed",
            CaseError::CannotSendBack => "cannot_send_back",
            CaseError::SupplementDuringParallel => "supplement_during_parallel",
            CaseError::AlreadyExtended => "already_extended",
            CaseError::SelfApproval => "extension_self_approval",
            CaseError::SupplementNotDue => "supplement_not_due",
            CaseError::FileTooLarge { .. } => "file_too_large",
            CaseError::FileQuotaExceeded { .. } => "file_quota_exceeded",
            CaseError::FileTypeRefused(_) => "file_type_refused",
            CaseError::FileContentMismatch(_) => "file_content_mismatch",
            CaseError::QueryMismatch => "case_query_mismatch",
            CaseError::Conflict => "case_conflict",
            CaseError::Storage(_) => "file_storage",
            CaseError::Corrupt(_) => "case_corrupt",
            CaseError::Catalog(e) => e.code(),
            CaseError::Identity(e) => e.code(),
            CaseError::Db(e) => e.code(),
            CaseError::Licence(e) => e.code(),
        }
    }
}

impl From<yiwang_db::DbErr> for CaseError {
    fn from(e: yiwang_db::DbErr) -> Self {
        CaseError::Db(DbError::from(e))
    }
}
