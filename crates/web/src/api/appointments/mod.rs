//! Appointments and the hall queue over JSON: halls and hospital departments with their windows and
//! doctors, released slots, booking (with `Idempotency-Key`), one's bookings, cancelling, calendar
//! files and the waitlist; staff set-up (groups, rules, resources, opening hours, slots, queue
//! categories), the day's bookings and no-shows; the queue: tickets from the hall's machine, check-in
//! with a booking code, the window's calls, the board and the day's statistics.
//!
//! Every decision is the appointments service's (`ManageSchedules` for set-up, `OperateWindow` for
//! windows, bookings of the day and statistics); handlers parse, call one service function, render.

use axum::Router;
use axum::routing::{get, post, put};
use chrono::NaiveDate;
use serde::Deserialize;
use yiwang_appointments::model::{Group, GroupId};
use yiwang_appointments::{Appointments, Origin};
use yiwang_kernel::PageRequest;

use crate::error::{AppError, invalid};
use crate::state::AppState;

pub mod bookings;
pub mod queue;
pub mod schedule;

use bookings::{
    book, booking_ics, cancel, day_bookings, get_booking, join_waitlist, leave_waitlist,
    mark_no_show, my_bookings, my_waitlist,
};
use queue::{
    board, call_next, check_in, close_day, daily_stats, finish, get_ticket, recall, skip,
    start_serving, take_ticket, transfer, window_ticket,
};
use schedule::{
    add_category, add_resource, create_group, generate_slots, get_group, list_categories,
    list_groups, list_slots, set_policy, set_schedule, update_resource,
};

/// The request header that makes a booking safe to send again.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Days listed when a slot query gives no end.
const DEFAULT_SLOT_DAYS: i64 = 7;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/appointments/groups", get(list_groups))
        .route(
            "/api/v1/departments/{code}/appointment-groups",
            post(create_group),
        )
        .route("/api/v1/appointments/groups/{group}", get(get_group))
        .route(
            "/api/v1/appointments/groups/{group}/policy",
            put(set_policy),
        )
        .route(
            "/api/v1/appointments/groups/{group}/resources",
            post(add_resource),
        )
        .route("/api/v1/appointments/resources/{id}", put(update_resource))
        .route(
            "/api/v1/appointments/resources/{id}/schedule",
            put(set_schedule),
        )
        .route("/api/v1/appointments/groups/{group}/slots", get(list_slots))
        .route(
            "/api/v1/appointments/groups/{group}/slots/generate",
            post(generate_slots),
        )
        .route(
            "/api/v1/appointments/groups/{group}/bookings",
            get(day_bookings),
        )
        .route(
            "/api/v1/appointments/groups/{group}/categories",
            get(list_categories).post(add_category),
        )
        .route("/api/v1/appointments/bookings", get(my_bookings).post(book))
        .route("/api/v1/appointments/bookings/{id}", get(get_booking))
        .route("/api/v1/appointments/bookings/{id}/cancel", post(cancel))
        .route("/api/v1/appointments/bookings/{id}/ics", get(booking_ics))
        .route(
            "/api/v1/appointments/bookings/{id}/no-show",
            post(mark_no_show),
        )
        .route(
            "/api/v1/appointments/waitlist",
            get(my_waitlist).post(join_waitlist),
        )
        .route(
            "/api/v1/appointments/waitlist/{id}",
            axum::routing::delete(leave_waitlist),
        )
        .route("/api/v1/queue/groups/{group}/tickets", post(take_ticket))
        .route("/api/v1/queue/groups/{group}/check-in", post(check_in))
        .route("/api/v1/queue/groups/{group}/board", get(board))
        .route("/api/v1/queue/groups/{group}/stats", get(daily_stats))
        .route("/api/v1/queue/groups/{group}/close-day", post(close_day))
        .route("/api/v1/queue/tickets/{id}", get(get_ticket))
        .route("/api/v1/queue/tickets/{id}/start", post(start_serving))
        .route("/api/v1/queue/tickets/{id}/skip", post(skip))
        .route("/api/v1/queue/tickets/{id}/finish", post(finish))
        .route("/api/v1/queue/tickets/{id}/transfer", post(transfer))
        .route("/api/v1/queue/windows/{id}/ticket", get(window_ticket))
        .route("/api/v1/queue/windows/{id}/call-next", post(call_next))
        .route("/api/v1/queue/windows/{id}/recall", post(recall))
}

// ------------------------------------------------------------------------------------ parsing

fn svc(state: &AppState) -> &Appointments {
    state.appointments()
}

fn origin(meta: &yiwang_identity::model::ClientMeta) -> Origin {
    Origin::new(meta.ip.clone())
}

fn number<T: From<i64>>(text: &str) -> Result<T, AppError> {
    text.trim()
        .parse::<i64>()
        .map(T::from)
        .map_err(|_| AppError::NotFound)
}

/// A group by its id (digits) or its code.
async fn group_of(state: &AppState, key: &str) -> Result<Group, AppError> {
    let key = key.trim();
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
        Ok(svc(state).group(number::<GroupId>(key)?).await?)
    } else {
        Ok(svc(state).group_by_code(key).await?)
    }
}

fn parse_date(field: &str, text: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(field, "date_invalid", "a date is YYYY-MM-DD"))
}

fn optional_date(field: &str, text: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => parse_date(field, t).map(Some),
        None => Ok(None),
    }
}

fn page_of<T>(items: Vec<T>, page: PageRequest) -> (Vec<T>, u64) {
    let total = items.len() as u64;
    let skip = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let items = items
        .into_iter()
        .skip(skip)
        .take(page.page_size as usize)
        .collect();
    (items, total)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

impl PageQuery {
    fn page(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.page, self.page_size)
            .map_err(|e| invalid("page", "page_invalid", &e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_slice_lists() {
        let page = PageRequest::new(Some(2), Some(2)).unwrap();
        let (items, total) = page_of(vec![1, 2, 3, 4, 5], page);
        assert_eq!(items, vec![3, 4]);
        assert_eq!(total, 5);
        let (items, _) = page_of(vec![1], page);
        assert!(items.is_empty());
    }
}
