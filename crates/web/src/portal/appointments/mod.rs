//! Appointment pages: citizens choose a service hall's window or a hospital doctor, a day and a time,
//! book with an idempotency key carried by the form, download the `.ics`, cancel before the cut-off
//! and join or leave waitlists; staff set up their department's halls and clinics (booking rules,
//! opening hours, slots), see the day's bookings, mark no-shows and read the daily queue statistics.
//!
//! Authorization is the appointments service's: these handlers only decide what to offer on a page.
//! Citizens' pages are in `citizen`, staff pages in `staff`; this module keeps what both share.
//! The queue's pages (kiosk, window console, board) are in [`crate::portal::queue`].
#![expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "askama templates pass references to the helpers they call"
)]

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use yiwang_appointments::{AppointmentError, Origin};
use yiwang_kernel::ErrorCode;
use yiwang_kernel::clock::china_offset;

use crate::auth::request_rng;
use crate::error::AppError;
use crate::i18n::Tr;
use crate::portal::form::message_for;
use crate::state::AppState;

mod citizen;
mod staff;

use citizen::{
    book, booking_page, calendar_file, cancel, confirm_form, group_page, index, join_waitlist,
    leave_waitlist, mine,
};
use staff::{generate, no_show, save_policy, save_schedule, staff_group, staff_list, stats};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/appointments", get(index))
        .route("/appointments/{code}", get(group_page))
        .route("/appointments/{code}/book", get(confirm_form).post(book))
        .route("/appointments/{code}/waitlist", post(join_waitlist))
        .route("/my/appointments", get(mine))
        .route("/my/appointments/{id}", get(booking_page))
        .route("/my/appointments/{id}/calendar.ics", get(calendar_file))
        .route("/my/appointments/{id}/cancel", post(cancel))
        .route("/my/waitlist/{id}/leave", post(leave_waitlist))
        .route("/staff/appointments", get(staff_list))
        .route("/staff/appointments/{code}", get(staff_group))
        .route("/staff/appointments/{code}/policy", post(save_policy))
        .route(
            "/staff/appointments/{code}/resources/{id}/schedule",
            post(save_schedule),
        )
        .route("/staff/appointments/{code}/generate", post(generate))
        .route(
            "/staff/appointments/{code}/bookings/{id}/no-show",
            post(no_show),
        )
        .route("/staff/appointments/{code}/stats", get(stats))
}

// ----- shared helpers -----

/// How many days ahead the booking pages look for slots.
const LOOK_AHEAD_DAYS: i64 = 14;

pub(crate) fn parse_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::NotFound)
}

pub(crate) fn origin(meta: &yiwang_identity::model::ClientMeta) -> Origin {
    Origin::new(meta.ip.clone())
}

pub(crate) fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// The message of a refusal the visitor can act on (shown in the page) with its status, or `None`
/// for a failure of the platform or a request the visitor may not make at all (the error page).
pub(crate) fn refusal(tr: Tr, error: &AppointmentError) -> Option<(StatusCode, String)> {
    let status = AppError::from(clone_refusal(error)?).status();
    if !matches!(
        status,
        StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY
    ) {
        return None;
    }
    let message = match error {
        AppointmentError::Invalid(problems) => problems
            .iter()
            .map(|p| message_for(tr, p.code, &p.message))
            .collect::<Vec<_>>()
            .join(" "),
        other => message_for(tr, other.code(), &other.to_string()),
    };
    Some((status, message))
}

/// The refusals worth showing in a page, re-made for the status mapping (the error is not `Clone`).
fn clone_refusal(error: &AppointmentError) -> Option<AppointmentError> {
    use AppointmentError as E;
    Some(match error {
        E::Invalid(p) => E::Invalid(p.clone()),
        E::SlotSoldOut => E::SlotSoldOut,
        E::SlotNotReleased(t) => E::SlotNotReleased(*t),
        E::BookingClosed => E::BookingClosed,
        E::BookingTooSoon => E::BookingTooSoon,
        E::AlreadyBookedThatDay => E::AlreadyBookedThatDay,
        E::BookingSuspended(t) => E::BookingSuspended(*t),
        E::CancelTooLate => E::CancelTooLate,
        E::BookingWrongState { state, action } => E::BookingWrongState { state, action },
        E::IdempotencyKeyReused => E::IdempotencyKeyReused,
        E::ItemNotServed(i) => E::ItemNotServed(i.clone()),
        E::SlotAvailable => E::SlotAvailable,
        E::AlreadyWaitlisted => E::AlreadyWaitlisted,
        E::WaitlistFull => E::WaitlistFull,
        E::WaitlistClosed => E::WaitlistClosed,
        E::CheckInTooEarly(t) => E::CheckInTooEarly(*t),
        E::CheckInTooLate => E::CheckInTooLate,
        E::CheckInWrongPlace => E::CheckInWrongPlace,
        E::TicketWrongState { state, action } => E::TicketWrongState { state, action },
        E::WindowBusy(n) => E::WindowBusy(n.clone()),
        E::CategoryNotServed(c) => E::CategoryNotServed(c.clone()),
        E::LaneNotAllowed => E::LaneNotAllowed,
        E::NoShowTooEarly => E::NoShowTooEarly,
        E::CodeTaken(c) => E::CodeTaken(c.clone()),
        _ => return None,
    })
}

/// China local time of an instant, as `HH:MM`.
pub(crate) fn hhmm(at: &DateTime<Utc>) -> String {
    at.with_timezone(&china_offset())
        .format("%H:%M")
        .to_string()
}

/// A day with its weekday, as people read it (2026-02-16 周一).
pub(crate) fn day_label(tr: Tr, day: &NaiveDate) -> String {
    use chrono::Datelike as _;
    let weekday = day.weekday().num_days_from_monday();
    format!(
        "{} {}",
        day.format("%Y-%m-%d"),
        tr.t(&format!("appointments.weekday.{weekday}"))
    )
}

/// Names of service items by implementation code (the code itself when the catalog has no version in
/// effect).
async fn item_names(state: &AppState, codes: &[String]) -> Result<Vec<(String, String)>, AppError> {
    Ok(state.catalog().names_by_impl_code(codes).await?)
}

/// A fresh idempotency key for a booking form.
fn idempotency_key() -> String {
    let mut bytes = [0_u8; 16];
    rand::Rng::fill_bytes(&mut request_rng(), &mut bytes);
    hex::encode(bytes)
}
