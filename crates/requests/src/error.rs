//! Errors of requests with stable codes the UI and the API translate.

use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::{ErrorCode, PagingError};

use crate::model::{MediationLevel, PetitionStage, Status};

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No such request, or the caller may not see it (the same answer: existence is not told).
    #[error("no such request")]
    NotFound,
    #[error("a {status:?} request cannot be {action}")]
    WrongState {
        status: Status,
        action: &'static str,
    },
    #[error("a field is required: {0}")]
    Required(&'static str),
    #[error("the text is too long: {0}")]
    TooLong(&'static str),
    #[error("unknown request type")]
    UnknownKind,
    #[error("unknown category: {0}")]
    UnknownCategory(String),
    #[error("the category code is not valid: {0}")]
    BadCategoryCode(String),
    #[error("unknown region: {0}")]
    UnknownRegion(String),
    #[error("no department is responsible for category {category} in region {region}")]
    NoRoute { category: String, region: String },
    /// A submitter who is not logged in leaves a mobile to be called back.
    #[error("a mobile number is required")]
    MobileRequired,
    #[error("the mobile number is not valid")]
    BadMobile,
    /// The channel does not fit the caller (a citizen cannot enter a hotline call).
    #[error("this channel is not open to the caller")]
    ChannelNotAllowed,
    /// 退单 only within its time limit after dispatch.
    #[error("the period for returning the request has ended")]
    ReturnWindowClosed,
    /// 直接办结 only closes a consultation.
    #[error("only a consultation can be concluded on the call")]
    NotConsultation,
    #[error("an extension is already waiting for approval")]
    ExtensionPending,
    #[error("no extension is waiting for approval")]
    NoExtensionPending,
    #[error("the extension must be 1 to {0} working days")]
    BadExtension(u32),
    #[error("the department does not exist")]
    UnknownDepartment,
    /// A department cannot be both 主办 and 协办, nor be reassigned to itself.
    #[error("the departments of an assignment must differ")]
    SameDepartment,
    #[error("the rating must be 1 to 5")]
    BadRating,
    /// Merging needs the same community, category and similar text within the period.
    #[error("the requests are not duplicates")]
    NotDuplicate,
    #[error("no such mediation")]
    MediationNotFound,
    #[error("this level of mediation has ended")]
    MediationEnded,
    #[error("a mediation is already under way for this request")]
    MediationExists,
    #[error("no department is responsible for mediation at the {0:?} level")]
    NoMediator(MediationLevel),
    #[error("no such petition")]
    PetitionNotFound,
    #[error("a {stage:?} petition cannot be {action}")]
    PetitionWrongStage {
        stage: PetitionStage,
        action: &'static str,
    },
    /// The petition limit was already extended once.
    #[error("the petition was already extended")]
    AlreadyExtended,
    /// 复查 / 复核 must be asked for within its period.
    #[error("the period for asking a review has ended")]
    ReviewWindowClosed,
    #[error("the coordinates are not valid")]
    BadCoordinates,
    #[error("the grid polygon is not valid: {0}")]
    BadPolygon(String),
    #[error("a grid with this code exists")]
    GridCodeTaken,
    /// A grid worker reports from the grids they lead or belong to.
    #[error("the place is not in one of your grids")]
    OutsideMyGrid,
    #[error("no such knowledge-base entry")]
    KnowledgeNotFound,
    #[error("the request was changed meanwhile")]
    Conflict,
    #[error("an Open311 client with this name exists")]
    ClientNameTaken,
    #[error(transparent)]
    Paging(#[from] PagingError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored request data is corrupt: {0}")]
    Corrupt(String),
}

impl From<yiwang_db::DbErr> for RequestError {
    fn from(e: yiwang_db::DbErr) -> Self {
        RequestError::Db(DbError::from(e))
    }
}

impl ErrorCode for RequestError {
    fn code(&self) -> &'static str {
        match self {
            RequestError::NotFound => "request_not_found",
            RequestError::WrongState { .. } => "request_wrong_state",
            RequestError::Required(_) => "request_field_required",
            RequestError::TooLong(_) => "request_text_too_long",
            RequestError::UnknownKind => "request_unknown_kind",
            RequestError::UnknownCategory(_) => "request_unknown_category",
            RequestError::BadCategoryCode(_) => "request_bad_category_code",
            RequestError::UnknownRegion(_) => "request_unknown_region",
            RequestError::NoRoute { .. } => "request_no_route",
            RequestError::MobileRequired => "request_mobile_required",
            RequestError::BadMobile => "request_bad_mobile",
            RequestError::ChannelNotAllowed => "request_channel_not_allowed",
            RequestError::ReturnWindowClosed => "request_return_window_closed",
            RequestError::NotConsultation => "request_not_consultation",
            RequestError::ExtensionPending => "request_extension_pending",
            RequestError::NoExtensionPending => "request_no_extension_pending",
            RequestError::BadExtension(_) => "request_bad_extension",
            RequestError::UnknownDepartment => "request_unknown_department",
            RequestError::SameDepartment => "request_same_department",
            RequestError::BadRating => "request_bad_rating",
            RequestError::NotDuplicate => "request_not_duplicate",
            RequestError::MediationNotFound => "mediation_not_found",
            RequestError::MediationEnded => "mediation_ended",
            RequestError::MediationExists => "mediation_exists",
            RequestError::NoMediator(_) => "mediation_no_mediator",
            RequestError::PetitionNotFound => "petition_not_found",
            RequestError::PetitionWrongStage { .. } => "petition_wrong_stage",
            RequestError::AlreadyExtended => "petition_already_extended",
            RequestError::ReviewWindowClosed => "petition_review_window_closed",
            RequestError::BadCoordinates => "request_bad_coordinates",
            RequestError::BadPolygon(_) => "grid_bad_polygon",
            RequestError::GridCodeTaken => "grid_code_taken",
            RequestError::OutsideMyGrid => "request_outside_my_grid",
            RequestError::KnowledgeNotFound => "knowledge_not_found",
            RequestError::Conflict => "request_conflict",
            RequestError::ClientNameTaken => "open311_client_exists",
            RequestError::Paging(e) => e.code(),
            RequestError::Identity(e) => e.code(),
            RequestError::Db(e) => e.code(),
            RequestError::Corrupt(_) => "internal",
        }
    }
}
