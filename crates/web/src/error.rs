//! One mapping from errors to HTTP responses. Pages get a page in the visitor's language; `/api/`
//! requests get `{"error": {"code", "message"}}`. Internal causes go to the log only, with the request id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yiwang_kernel::ErrorCode;

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Input that could not be parsed; `field` names it, `code` is a stable message key.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: String,
        code: String,
        message: String,
    },
    /// The value is already used by another account; `field` names it.
    #[error("conflict on {field}")]
    Conflict { field: String, code: String },
    /// No valid session or credentials.
    #[error("unauthenticated ({code})")]
    Unauthenticated { code: String },
    #[error("forbidden ({code})")]
    Forbidden { code: String },
    /// Too many attempts; try again after `until`.
    #[error("locked until {until}")]
    Locked {
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Too many failed attempts from this address; try again after `until`.
    #[error("throttled until {until}")]
    Throttled {
        until: chrono::DateTime<chrono::Utc>,
    },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(error: &(impl std::fmt::Display + ErrorCode)) -> Self {
        AppError::Internal(format!("{} ({error})", error.code()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
            AppError::Locked { .. } | AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Invalid { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Unauthenticated { code }
            | AppError::Forbidden { code } => code,
            AppError::Locked { .. } => "account_locked",
            AppError::Throttled { .. } => "too_many_attempts",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl From<yiwang_identity::IdentityError> for AppError {
    fn from(error: yiwang_identity::IdentityError) -> Self {
        use yiwang_identity::IdentityError as E;
        let code = error.code().to_owned();
        match error {
            E::DepartmentNotFound(_) | E::NotFound => AppError::NotFound,
            E::Invalid { field, message, .. } => AppError::Invalid {
                field: field.to_owned(),
                code,
                message,
            },
            E::Duplicate { field } => AppError::Conflict {
                field: field.to_owned(),
                code,
            },
            E::BadCredentials | E::Unauthenticated => AppError::Unauthenticated { code },
            E::Disabled | E::Forbidden => AppError::Forbidden { code },
            E::LockedOut { until } => AppError::Locked { until },
            E::TooManyAttempts { until } => AppError::Throttled { until },
            E::RegisterMismatch => AppError::Invalid {
                field: "uscc".to_owned(),
                code,
                message: error.to_string(),
            },
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_catalog::CatalogError> for AppError {
    fn from(error: yiwang_catalog::CatalogError) -> Self {
        use yiwang_catalog::CatalogError as E;
        let code = error.code().to_owned();
        let invalid = |field: &str, message: String| AppError::Invalid {
            field: field.to_owned(),
            code: code.clone(),
            message,
        };
        match error {
            E::ItemNotFound | E::VersionNotFound | E::LifeEventNotFound | E::FileNotFound => {
                AppError::NotFound
            }
            E::ImplCodeTaken(_) => AppError::Conflict {
                field: "impl_code".to_owned(),
                code,
            },
            E::DraftExists | E::WrongState { .. } => AppError::Conflict {
                field: "version".to_owned(),
                code,
            },
            E::SelfReview => AppError::Forbidden { code },
            E::Invalid(ref problems) => {
                let field = problems.first().map_or("content", |p| p.field.as_str());
                invalid(field, error.to_string())
            }
            E::UnknownDepartment(_) => invalid("department", error.to_string()),
            E::ImportRejected(_)
            | E::Unreadable(_)
            | E::FileTooLarge { .. }
            | E::FileTypeRefused(_) => invalid("file", error.to_string()),
            E::EffectiveInPast => invalid("effective_from", error.to_string()),
            E::NoteRequired => invalid("note", error.to_string()),
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_cases::CaseError> for AppError {
    fn from(error: yiwang_cases::CaseError) -> Self {
        use yiwang_cases::CaseError as E;
        let code = error.code().to_owned();
        let invalid = |field: &str, message: String| AppError::Invalid {
            field: field.to_owned(),
            code: code.clone(),
            message,
        };
        match error {
            E::CaseNotFound | E::TaskNotFound | E::FileNotFound => AppError::NotFound,
            E::NoWorkflow | E::ItemNotInService => AppError::Conflict {
                field: "item".to_owned(),
                code,
            },
            E::WorkflowInvalid(ref problems) => {
                let field = problems
                    .first()
                    .and_then(|p| p.at.clone())
                    .unwrap_or_else(|| "workflow".to_owned());
                let message = error.to_string();
                invalid(&field, message)
            }
            E::FormInvalid(ref problems) => {
                let field = problems
                    .first()
                    .map_or("form", |p| p.key.as_str())
                    .to_owned();
                let message = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.key, p.code))
                    .collect::<Vec<_>>()
                    .join("; ");
                invalid(&field, message)
            }
            E::MaterialsMissing(_) | E::UnknownMaterial(_) => {
                invalid("materials", error.to_string())
            }
            E::CommitmentNotSigned => invalid("commitment_signed", error.to_string()),
            E::OpinionRequired => invalid("opinion", error.to_string()),
            E::MissingListRequired => invalid("missing", error.to_string()),
            E::SpecialRequired | E::SpecialEndInPast => invalid("special", error.to_string()),
            E::FileTooLarge { .. }
            | E::FileQuotaExceeded { .. }
            | E::FileTypeRefused(_)
            | E::FileContentMismatch(_) => invalid("file", error.to_string()),
            E::QueryMismatch => invalid("query_code", error.to_string()),
            E::WrongState { .. }
            | E::TaskClosed
            | E::ActionNotOffered(_)
            | E::ClaimedByOther
            | E::ReviewDisagreed
            | E::CannotSendBack
            | E::SupplementDuringParallel
            | E::AlreadyExtended
            | E::SupplementNotDue
            | E::Conflict => AppError::Conflict {
                field: "case".to_owned(),
                code,
            },
            E::NotOnPost | E::SeparationOfDuties | E::SelfApproval => AppError::Forbidden { code },
            E::Catalog(e) => e.into(),
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_appointments::AppointmentError> for AppError {
    fn from(error: yiwang_appointments::AppointmentError) -> Self {
        use yiwang_appointments::AppointmentError as E;
        let code = error.code().to_owned();
        let conflict = |field: &str| AppError::Conflict {
            field: field.to_owned(),
            code: code.clone(),
        };
        match error {
            E::GroupNotFound
            | E::ResourceNotFound
            | E::SlotNotFound
            | E::BookingNotFound
            | E::WaitlistNotFound
            | E::CategoryNotFound
            | E::TicketNotFound => AppError::NotFound,
            E::CodeTaken(_) => conflict("code"),
            E::Invalid(ref problems) => AppError::Invalid {
                field: problems
                    .first()
                    .map_or("input", |p| p.field.as_str())
                    .to_owned(),
                code: code.clone(),
                message: error.to_string(),
            },
            E::SlotSoldOut
            | E::SlotNotReleased(_)
            | E::BookingClosed
            | E::BookingTooSoon
            | E::AlreadyBookedThatDay
            | E::BookingSuspended(_)
            | E::SlotAvailable
            | E::AlreadyWaitlisted
            | E::WaitlistFull
            | E::WaitlistClosed => conflict("slot"),
            E::CancelTooLate | E::BookingWrongState { .. } | E::NoShowTooEarly => {
                conflict("booking")
            }
            E::IdempotencyKeyReused => conflict("idempotency_key"),
            E::ItemNotServed(_) | E::CategoryNotServed(_) | E::LaneNotAllowed => {
                conflict("category")
            }
            E::CheckInTooEarly(_) | E::CheckInTooLate | E::CheckInWrongPlace => {
                conflict("booking_code")
            }
            E::TicketWrongState { .. } | E::WindowBusy(_) => conflict("ticket"),
            E::Busy => AppError::Unavailable(error.to_string()),
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_licenses::LicenseError> for AppError {
    fn from(error: yiwang_licenses::LicenseError) -> Self {
        use yiwang_licenses::LicenseError as E;
        let code = error.code().to_owned();
        let invalid = |field: &str, message: String| AppError::Invalid {
            field: field.to_owned(),
            code: code.clone(),
            message,
        };
        match error {
            E::NotFound | E::TypeNotFound | E::GrantNotFound | E::PendingNotFound => {
                AppError::NotFound
            }
            E::BadIdentifier(_) => invalid("identifier", error.to_string()),
            E::TypeInvalid(ref problems) | E::DataInvalid(ref problems) => {
                let field = problems.first().map_or("data", |p| p.field.as_str());
                invalid(field, error.to_string())
            }
            E::HolderNotFound => invalid("holder", error.to_string()),
            E::ReasonRequired => invalid("reason", error.to_string()),
            E::ImportInvalid(_) | E::ImportTooLarge => invalid("file", error.to_string()),
            E::ShowCodeInvalid => invalid("code", error.to_string()),
            E::TooLong(field) => invalid(field, error.to_string()),
            E::WrongStatus { .. } | E::Conflict => AppError::Conflict {
                field: "status".to_owned(),
                code,
            },
            E::NotIssuingDepartment | E::ReadRefused => AppError::Forbidden { code },
            E::Paging(e) => invalid("page", e.to_string()),
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_ratings::RatingError> for AppError {
    fn from(error: yiwang_ratings::RatingError) -> Self {
        use yiwang_ratings::RatingError as E;
        let code = error.code().to_owned();
        let invalid = |field: &str, message: String| AppError::Invalid {
            field: field.to_owned(),
            code: code.clone(),
            message,
        };
        let conflict = |field: &str| AppError::Conflict {
            field: field.to_owned(),
            code: code.clone(),
        };
        match error {
            E::EventNotFound | E::RatingNotFound | E::RectificationNotFound | E::UrgingNotFound => {
                AppError::NotFound
            }
            E::AlreadyRated => conflict("event"),
            E::BadLevel => invalid("level", error.to_string()),
            E::UnknownTag(_) | E::TagNotForLevel { .. } | E::TooManyTags(_) => {
                invalid("tags", error.to_string())
            }
            E::TooLong(field) | E::NoteRequired(field) | E::BadRange(field) => {
                invalid(field, error.to_string())
            }
            E::TokenInvalid | E::TokenExpired | E::TokenUsed => invalid("token", error.to_string()),
            E::BadReplyDays(_) => invalid("reply_days", error.to_string()),
            E::FollowUpClosed | E::FollowUpGiven => conflict("follow_up"),
            E::WrongState { .. } | E::FollowUpRequired | E::Conflict => conflict("status"),
            E::AppealExists | E::AppealNotPending => conflict("appeal"),
            E::UrgingReplied => conflict("reply"),
            E::AppealSamePerson => AppError::Forbidden { code },
            E::Paging(e) => invalid("page", e.to_string()),
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_requests::RequestError> for AppError {
    fn from(error: yiwang_requests::RequestError) -> Self {
        use yiwang_requests::RequestError as E;
        let code = error.code().to_owned();
        let invalid = |field: &str, message: String| AppError::Invalid {
            field: field.to_owned(),
            code: code.clone(),
            message,
        };
        let conflict = |field: &str| AppError::Conflict {
            field: field.to_owned(),
            code: code.clone(),
        };
        match error {
            E::NotFound | E::MediationNotFound | E::PetitionNotFound | E::KnowledgeNotFound => {
                AppError::NotFound
            }
            E::Required(field) | E::TooLong(field) => invalid(field, error.to_string()),
            E::UnknownKind => invalid("kind", error.to_string()),
            E::UnknownCategory(_) | E::BadCategoryCode(_) | E::NoRoute { .. } => {
                invalid("category", error.to_string())
            }
            E::UnknownRegion(_) => invalid("region", error.to_string()),
            E::MobileRequired | E::BadMobile => invalid("contact_mobile", error.to_string()),
            E::BadExtension(_) => invalid("working_days", error.to_string()),
            E::UnknownDepartment | E::SameDepartment => invalid("lead", error.to_string()),
            E::BadRating => invalid("level", error.to_string()),
            E::NotDuplicate => invalid("into", error.to_string()),
            E::BadCoordinates => invalid("coordinates", error.to_string()),
            E::BadPolygon(_) => invalid("polygon", error.to_string()),
            E::ChannelNotAllowed | E::OutsideMyGrid => AppError::Forbidden { code },
            E::WrongState { .. }
            | E::ReturnWindowClosed
            | E::NotConsultation
            | E::ExtensionPending
            | E::NoExtensionPending
            | E::MediationEnded
            | E::MediationExists
            | E::NoMediator(_)
            | E::PetitionWrongStage { .. }
            | E::AlreadyExtended
            | E::ReviewWindowClosed
            | E::Conflict => conflict("status"),
            E::GridCodeTaken | E::ClientNameTaken => conflict("name"),
            E::Paging(e) => invalid("page", e.to_string()),
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_db::DbError> for AppError {
    fn from(error: yiwang_db::DbError) -> Self {
        AppError::internal(&error)
    }
}

/// The response carries the error itself as an extension; the error-page layer renders it in the
/// visitor's language (it has the request's headers, which a handler's error does not).
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) | AppError::Unavailable(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = self.status().into_response();
        response.extensions_mut().insert(ErrorInfo {
            code: self.code().to_owned(),
            detail: match &self {
                AppError::Invalid { field, message, .. } => Some((field.clone(), message.clone())),
                AppError::Conflict { field, .. } => Some((field.clone(), String::new())),
                _ => None,
            },
            until: match &self {
                AppError::Locked { until } | AppError::Throttled { until } => Some(*until),
                _ => None,
            },
        });
        response
    }
}

/// What the error-page layer needs to render an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: String,
    pub detail: Option<(String, String)>,
    /// For a lock-out: when it ends.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

/// A 422 on one input field: its stable `code` and a message for the caller.
pub(crate) fn invalid(field: &str, code: &str, message: &str) -> AppError {
    AppError::Invalid {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}
