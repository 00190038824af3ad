//! Errors of surveys with stable codes the UI and the API translate.

use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::ErrorCode;

use super::model::SurveyStatus;

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// No such survey, or not one the caller may see (the same answer: existence is not told).
    #[error("no such survey")]
    NotFound,
    #[error("no such question")]
    QuestionNotFound,
    #[error("a {0:?} survey cannot be {1}")]
    WrongState(SurveyStatus, &'static str),
    #[error("this field is required: {0}")]
    Required(&'static str),
    #[error("the text is too long: {0}")]
    TooLong(&'static str),
    #[error("too many {0} (at most {1})")]
    TooMany(&'static str, usize),
    #[error("a choice question needs at least {0} options")]
    TooFewOptions(usize),
    #[error("two options are the same")]
    DuplicateOption,
    #[error("the survey has no questions")]
    Empty,
    #[error("unknown question kind")]
    BadKind,
    #[error("the audience is not valid: {0}")]
    BadAudience(&'static str),
    #[error("too many people to invite (at most {0}); narrow the period")]
    TooManyInvites(usize),
    #[error("an answer names an unknown question")]
    UnknownQuestion,
    #[error("question {0} must be answered")]
    AnswerRequired(String),
    #[error("the answer to {0} does not fit the question")]
    BadAnswer(String),
    #[error("the answer to {0} is too long")]
    AnswerTooLong(String),
    /// One answer per person or browser.
    #[error("this survey was already answered")]
    AlreadyAnswered,
    #[error("the survey is not open")]
    NotOpen,
    #[error("the survey has reached its limit of responses")]
    Full,
    /// The survey is for invited people only.
    #[error("this survey is by invitation")]
    InvitationOnly,
    #[error("the invitation link is not valid")]
    TokenInvalid,
    #[error("the survey was changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored survey data is corrupt: {0}")]
    Corrupt(String),
}

impl From<yiwang_db::DbErr> for SurveyError {
    fn from(e: yiwang_db::DbErr) -> Self {
        SurveyError::Db(DbError::from(e))
    }
}

impl ErrorCode for SurveyError {
    fn code(&self) -> &'static str {
        match self {
            SurveyError::NotFound => "survey_not_found",
            SurveyError::QuestionNotFound => "survey_question_not_found",
            SurveyError::WrongState(..) => "survey_wrong_state",
            SurveyError::Required(_) => "survey_required",
            SurveyError::TooLong(_) => "survey_too_long",
            SurveyError::TooMany(..) => "survey_too_many",
            SurveyError::TooFewOptions(_) => "survey_too_few_options",
            SurveyError::DuplicateOption => "survey_duplicate_option",
            SurveyError::Empty => "survey_empty",
            SurveyError::BadKind => "survey_bad_kind",
            SurveyError::BadAudience(_) => "survey_bad_audience",
            SurveyError::TooManyInvites(_) => "survey_too_many_invites",
            SurveyError::UnknownQuestion => "survey_unknown_question",
            SurveyError::AnswerRequired(_) => "survey_answer_required",
            SurveyError::BadAnswer(_) => "survey_bad_answer",
            SurveyError::AnswerTooLong(_) => "survey_answer_too_long",
            SurveyError::AlreadyAnswered => "survey_already_answered",
            SurveyError::NotOpen => "survey_not_open",
            SurveyError::Full => "survey_full",
            SurveyError::InvitationOnly => "survey_invitation_only",
            SurveyError::TokenInvalid => "survey_token_invalid",
            SurveyError::Conflict => "survey_conflict",
            SurveyError::Identity(e) => e.code(),
            SurveyError::Db(e) => e.code(),
            SurveyError::Corrupt(_) => "internal",
        }
    }
}
