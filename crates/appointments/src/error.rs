//! Errors of appointments and the queue, with stable codes the UI translates.

use chrono::{DateTime, Utc};
use yiwang_db::DbError;
use yiwang_identity::IdentityError;
use yiwang_kernel::ErrorCode;

use crate::model::Problem;

#[derive(Debug, thiserror::Error)]
pub enum AppointmentError {
    #[error("no such hall or department")]
    GroupNotFound,
    #[error("no such window or doctor")]
    ResourceNotFound,
    #[error("no such slot")]
    SlotNotFound,
    #[error("no such booking")]
    BookingNotFound,
    #[error("no such waitlist entry")]
    WaitlistNotFound,
    #[error("no such queue category")]
    CategoryNotFound,
    #[error("no such ticket")]
    TicketNotFound,
    #[error("the code {0} is already used")]
    CodeTaken(String),
    /// The input breaks one or more rules; every one is listed.
    #[error("the input is not valid: {}", .0.iter().map(|p| format!("{}: {}", p.field, p.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// Every place of the slot is taken.
    #[error("the slot is fully booked")]
    SlotSoldOut,
    #[error("the slot is released at {0}")]
    SlotNotReleased(DateTime<Utc>),
    /// Too late to book the slot (its booking cut-off passed), or the day is not bookable yet.
    #[error("the slot can no longer be booked")]
    BookingClosed,
    #[error("the slot's day is too soon to book")]
    BookingTooSoon,
    /// The person already holds a booking that the one-per-day rule counts together with this one.
    #[error("already booked for that day")]
    AlreadyBookedThatDay,
    #[error("booking is suspended until {0} after repeated no-shows")]
    BookingSuspended(DateTime<Utc>),
    #[error("it is too late to cancel; cancel at least the configured time before the slot")]
    CancelTooLate,
    #[error("a {state} booking cannot be {action}")]
    BookingWrongState {
        state: &'static str,
        action: &'static str,
    },
    /// The Idempotency-Key was used before with a different request.
    #[error("the idempotency key was used for a different request")]
    IdempotencyKeyReused,
    #[error("the window does not handle item {0}")]
    ItemNotServed(String),
    /// Joining a waitlist of a slot that still has places: book it instead.
    #[error("the slot still has places")]
    SlotAvailable,
    #[error("already on the waitlist of this slot")]
    AlreadyWaitlisted,
    #[error("the waitlist is full")]
    WaitlistFull,
    /// The waitlist is off, or the slot's cancellation cut-off passed (no place can free up).
    #[error("the waitlist of this slot is closed")]
    WaitlistClosed,
    #[error("check in from {0}")]
    CheckInTooEarly(DateTime<Utc>),
    #[error("too late to check in; take an ordinary ticket")]
    CheckInTooLate,
    #[error("the booking is for another hall or day")]
    CheckInWrongPlace,
    #[error("a {state} ticket cannot be {action}")]
    TicketWrongState {
        state: &'static str,
        action: &'static str,
    },
    /// The window still has a ticket called or being served: finish or skip it first.
    #[error("the window is still serving ticket {0}")]
    WindowBusy(String),
    #[error("the window does not serve category {0}")]
    CategoryNotServed(String),
    /// The elderly and disabled lanes are given by hall staff, the appointment lane by check-in.
    #[error("this lane cannot be chosen here")]
    LaneNotAllowed,
    #[error("a no-show can be recorded only after the slot has started")]
    NoShowTooEarly,
    /// The database was too busy (lock wait, serialization failure); the request changed nothing and
    /// may be retried.
    #[error("the service is busy; try again")]
    Busy,
    #[error("stored appointment data is malformed: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(DbError),
}

impl ErrorCode for AppointmentError {
    fn code(&self) -> &'static str {
        match self {
            AppointmentError::GroupNotFound => "appt_group_not_found",
            AppointmentError::ResourceNotFound => "appt_resource_not_found",
            AppointmentError::SlotNotFound => "slot_not_found",
            AppointmentError::BookingNotFound => "booking_not_found",
            AppointmentError::WaitlistNotFound => "waitlist_not_found",
            AppointmentError::CategoryNotFound => "queue_category_not_found",
            AppointmentError::TicketNotFound => "ticket_not_found",
            AppointmentError::CodeTaken(_) => "appt_code_taken",
            AppointmentError::Invalid(problems) => {
                problems.first().map_or("appt_invalid", |p| p.code)
            }
            AppointmentError::SlotSoldOut => "slot_sold_out",
            AppointmentError::SlotNotReleased(_) => "slot_not_released",
            AppointmentError::BookingClosed => "booking_closed",
            AppointmentError::BookingTooSoon => "booking_too_soon",
            AppointmentError::AlreadyBookedThatDay => "already_booked_that_day",
            AppointmentError::BookingSuspended(_) => "booking_suspended",
            AppointmentError::CancelTooLate => "cancel_too_late",
            AppointmentError::BookingWrongState { .. } => "booking_wrong_state",
            AppointmentError::IdempotencyKeyReused => "idempotency_key_reused",
            AppointmentError::ItemNotServed(_) => "item_not_served",
            AppointmentError::SlotAvailable => "slot_available",
            AppointmentError::AlreadyWaitlisted => "already_waitlisted",
            AppointmentError::WaitlistFull => "waitlist_full",
            AppointmentError::WaitlistClosed => "waitlist_closed",
            AppointmentError::CheckInTooEarly(_) => "checkin_too_early",
            AppointmentError::CheckInTooLate => "checkin_too_late",
            AppointmentError::CheckInWrongPlace => "checkin_wrong_place",
            AppointmentError::TicketWrongState { .. } => "ticket_wrong_state",
            AppointmentError::WindowBusy(_) => "window_busy",
            AppointmentError::CategoryNotServed(_) => "category_not_served",
            AppointmentError::LaneNotAllowed => "lane_not_allowed",
            AppointmentError::NoShowTooEarly => "no_show_too_early",
            AppointmentError::Busy => "appointments_busy",
            AppointmentError::Corrupt(_) => "appointments_corrupt",
            AppointmentError::Identity(e) => e.code(),
            AppointmentError::Db(e) => e.code(),
        }
    }
}

impl AppointmentError {
    /// Whether the same request may succeed when simply sent again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, AppointmentError::Busy)
    }
}

/// Lock waits that ran out (SQLite `SQLITE_BUSY`/`SQLITE_LOCKED`) and PostgreSQL serialization
/// failures and deadlocks: the transaction changed nothing and may be retried.
pub(crate) fn is_busy(text: &str) -> bool {
    text.contains("database is locked")
        || text.contains("database table is locked")
        || text.contains("SQLITE_BUSY")
        || text.contains("could not serialize access")
        || text.contains("deadlock detected")
        || text.contains("lock timeout")
}

impl From<DbError> for AppointmentError {
    fn from(e: DbError) -> Self {
        match &e {
            DbError::Query(inner) if is_busy(&inner.to_string()) => AppointmentError::Busy,
            _ => AppointmentError::Db(e),
        }
    }
}

impl From<yiwang_db::DbErr> for AppointmentError {
    fn from(e: yiwang_db::DbErr) -> Self {
        AppointmentError::from(DbError::from(e))
    }
}
