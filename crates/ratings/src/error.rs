//! Errors of ratings with stable codes the UI and the API translate.

use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::{ErrorCode, PagingError};

use crate::model::RectStatus;

#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    /// No such event, or the caller was not served in it (the same answer: existence is not told).
    #[error("no such service event")]
    EventNotFound,
    /// 一次一评: this person already rated this event.
    #[error("this event is already rated")]
    AlreadyRated,
    #[error("level must be 1 to 5")]
    BadLevel,
    #[error("unknown tag: {0}")]
    UnknownTag(String),
    #[error("tag {tag} does not fit level {level}")]
    TagNotForLevel { tag: String, level: u8 },
    #[error("too many tags (at most {0})")]
    TooManyTags(usize),
    #[error("the text is too long: {0}")]
    TooLong(&'static str),
    #[error("a note is required: {0}")]
    NoteRequired(&'static str),
    #[error("no such rating")]
    RatingNotFound,
    #[error("the follow-up comment period has ended")]
    FollowUpClosed,
    #[error("a follow-up comment was already given")]
    FollowUpGiven,
    /// A rating link that does not verify (tampered, malformed, another event or person).
    #[error("the rating link is not valid")]
    TokenInvalid,
    #[error("the rating link has expired")]
    TokenExpired,
    #[error("the rating link was already used")]
    TokenUsed,
    #[error("no such rectification")]
    RectificationNotFound,
    #[error("a {status:?} rectification cannot be {action}")]
    WrongState {
        status: RectStatus,
        action: &'static str,
    },
    /// 100 % follow-up: the 回访 result is recorded before closing.
    #[error("the follow-up result must be recorded before closing")]
    FollowUpRequired,
    #[error("an appeal was already filed")]
    AppealExists,
    #[error("no appeal is pending")]
    AppealNotPending,
    /// The appeal is decided by a second person.
    #[error("whoever filed the appeal cannot decide it")]
    AppealSamePerson,
    #[error("no such urging")]
    UrgingNotFound,
    #[error("the urging was already answered")]
    UrgingReplied,
    #[error("the reply period must be 1 to {0} working days")]
    BadReplyDays(u32),
    #[error("the date range is not valid: {0}")]
    BadRange(&'static str),
    #[error("the rectification was changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Paging(#[from] PagingError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored rating data is corrupt: {0}")]
    Corrupt(String),
}

impl From<yiwang_db::DbErr> for RatingError {
    fn from(e: yiwang_db::DbErr) -> Self {
        RatingError::Db(DbError::from(e))
    }
}

impl ErrorCode for RatingError {
    fn code(&self) -> &'static str {
        match self {
            RatingError::EventNotFound => "event_not_found",
            RatingError::AlreadyRated => "already_rated",
            RatingError::BadLevel => "rating_bad_level",
            RatingError::UnknownTag(_) => "rating_unknown_tag",
            RatingError::TagNotForLevel { .. } => "rating_tag_not_for_level",
            RatingError::TooManyTags(_) => "rating_too_many_tags",
            RatingError::TooLong(_) => "rating_text_too_long",
            RatingError::NoteRequired(_) => "rating_note_required",
            RatingError::RatingNotFound => "rating_not_found",
            RatingError::FollowUpClosed => "rating_follow_up_closed",
            RatingError::FollowUpGiven => "rating_follow_up_given",
            RatingError::TokenInvalid => "rating_token_invalid",
            RatingError::TokenExpired => "rating_token_expired",
            RatingError::TokenUsed => "rating_token_used",
            RatingError::RectificationNotFound => "rectification_not_found",
            RatingError::WrongState { .. } => "rectification_wrong_state",
            RatingError::FollowUpRequired => "rectification_follow_up_required",
            RatingError::AppealExists => "appeal_exists",
            RatingError::AppealNotPending => "appeal_not_pending",
            RatingError::AppealSamePerson => "appeal_same_person",
            RatingError::UrgingNotFound => "urging_not_found",
            RatingError::UrgingReplied => "urging_replied",
            RatingError::BadReplyDays(_) => "urging_bad_reply_days",
            RatingError::BadRange(_) => "rating_bad_range",
            RatingError::Conflict => "rectification_conflict",
            RatingError::Paging(e) => e.code(),
            RatingError::Identity(e) => e.code(),
            RatingError::Db(e) => e.code(),
            RatingError::Corrupt(_) => "internal",
        }
    }
}
