//! Bookings and waitlists over JSON: booking (with `Idempotency-Key`), one's bookings, cancelling,
//! calendar files, the waitlist; for staff, the day's bookings and no-shows.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_appointments::model::{
    BookRequest, BookingDetails, BookingId, SlotId, Suspension, WaitlistEntry, WaitlistId,
};
use yiwang_kernel::PageRequest;

use super::{IDEMPOTENCY_KEY, PageQuery, group_of, invalid, optional_date, origin, page_of, svc};
use crate::api::ApiErrorBody;
use crate::api::ApiQuery;
use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{ApiCaller, ApiStaff, IdPath};
use crate::state::AppState;

// ------------------------------------------------------------------------------ bookings

/// A booking with the names it is shown with. `booking.code` is what checks it in at the hall.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub details: BookingDetails,
}

impl From<BookingDetails> for BookingOut {
    fn from(details: BookingDetails) -> Self {
        Self {
            id: details.booking.id.get(),
            details,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingList {
    pub items: Vec<BookingOut>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

impl BookingList {
    pub(super) fn new(all: Vec<BookingDetails>, page: PageRequest) -> Self {
        let (items, total) = page_of(all, page);
        Self {
            items: items.into_iter().map(BookingOut::from).collect(),
            total,
            page: page.page,
            page_size: page.page_size,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BookBody {
    pub slot: i64,
    /// The service item booked for (halls), its implementation code.
    pub item_code: Option<String>,
}

/// Book a place in a slot for the logged-in person.
///
/// The `Idempotency-Key` header is required (1–128 visible ASCII characters, e.g. a UUID made by the
/// client for this booking). Sending the same key with the same body again — after a timeout, a lost
/// connection, a double tap — gives the same booking and the same answer, and books nothing more;
/// the same key with a different body is refused with 409 `idempotency_key_reused`. Only successful
/// bookings are remembered: a refused request may be sent again with the same key.
#[utoipa::path(post, path = "/api/v1/appointments/bookings", tag = "appointments", request_body = BookBody,
    params(("Idempotency-Key" = String, Header, description = "the client's key for this booking")),
    responses((status = 201, body = BookingOut, description = "booked (or the stored answer of the same key)"),
        (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody, description = "`slot_not_found`"),
        (status = 409, body = ApiErrorBody, description = "`slot_sold_out`, `slot_not_released`, `already_booked_that_day`, `booking_suspended`, `idempotency_key_reused`…"),
        (status = 422, body = ApiErrorBody, description = "`idempotency_key_required`, `idempotency_key_invalid`"),
        (status = 503, body = ApiErrorBody, description = "`appointments_busy`: nothing was booked; send again")))]
pub(super) async fn book(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    headers: HeaderMap,
    Json(body): Json<BookBody>,
) -> Result<(StatusCode, Json<BookingOut>), AppError> {
    let principal = &who.principal;
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                invalid(
                    "idempotency_key",
                    "idempotency_key_invalid",
                    "an idempotency key is 1 to 128 visible ASCII characters",
                )
            })
        })
        .transpose()?
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            invalid(
                "idempotency_key",
                "idempotency_key_required",
                "send an Idempotency-Key header with each booking",
            )
        })?;
    let details = svc(&state)
        .book(
            principal,
            &BookRequest {
                slot: Some(SlotId::new(body.slot)),
                item_code: body.item_code,
                idempotency_key: Some(key),
            },
            &origin(&meta),
            &mut request_rng(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(details.into())))
}

/// The caller's bookings, latest slot first.
#[utoipa::path(get, path = "/api/v1/appointments/bookings", tag = "appointments",
    params(("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query)),
    responses((status = 200, body = BookingList), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub(super) async fn my_bookings(
    State(state): State<AppState>,
    who: ApiCaller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<BookingList>, AppError> {
    let principal = &who.principal;
    let page = query.page()?;
    let all = svc(&state).my_bookings(principal).await?;
    Ok(Json(BookingList::new(all, page)))
}

/// One booking: the person's own, or any of the department's for its staff.
#[utoipa::path(get, path = "/api/v1/appointments/bookings/{id}", tag = "appointments", params(("id" = i64, Path)),
    responses((status = 200, body = BookingOut), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub(super) async fn get_booking(
    State(state): State<AppState>,
    who: ApiCaller,
    IdPath(id): IdPath<BookingId>,
) -> Result<Json<BookingOut>, AppError> {
    let principal = &who.principal;
    let details = svc(&state).booking(principal, id).await?;
    Ok(Json(details.into()))
}

/// Cancel one's booking before the cut-off; the place goes to the waitlist or back to the pool.
#[utoipa::path(post, path = "/api/v1/appointments/bookings/{id}/cancel", tag = "appointments", params(("id" = i64, Path)),
    responses((status = 200, body = BookingOut), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`cancel_too_late`, `booking_wrong_state`")))]
pub(super) async fn cancel(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<BookingId>,
) -> Result<Json<BookingOut>, AppError> {
    let principal = &who.principal;
    let details = svc(&state)
        .cancel(principal, id, &origin(&meta), &mut request_rng())
        .await?;
    Ok(Json(details.into()))
}

/// The booking as an iCalendar file (RFC 5545), to add to a calendar.
#[utoipa::path(get, path = "/api/v1/appointments/bookings/{id}/ics", tag = "appointments", params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 401, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub(super) async fn booking_ics(
    State(state): State<AppState>,
    who: ApiCaller,
    IdPath(id): IdPath<BookingId>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let ics = svc(&state).booking_ics(principal, id).await?;
    let mut response = ics.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"booking-{id}.ics\"")) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DayQuery {
    /// YYYY-MM-DD; today (China) when absent.
    pub day: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

impl DayQuery {
    pub(super) fn day(&self, state: &AppState) -> Result<NaiveDate, AppError> {
        Ok(optional_date("day", self.day.as_deref())?.unwrap_or_else(|| svc(state).today()))
    }
}

/// A group's bookings of a day, for the department's window staff and administrators.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}/bookings", tag = "appointments",
    params(("group" = String, Path, description = "id or code"), ("day" = Option<String>, Query, description = "YYYY-MM-DD, default today"),
        ("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query)),
    responses((status = 200, body = BookingList), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub(super) async fn day_bookings(
    State(state): State<AppState>,
    who: ApiStaff,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> Result<Json<BookingList>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let page = PageRequest::new(query.page, query.page_size)
        .map_err(|e| invalid("page", "page_invalid", &e.to_string()))?;
    let all = svc(&state)
        .day_bookings(principal, group.id, query.day(&state)?)
        .await?;
    Ok(Json(BookingList::new(all, page)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoShowOut {
    /// The suspension the no-show led to, if the person reached the group's limit.
    #[schema(value_type = Option<Object>)]
    pub suspension: Option<Suspension>,
}

/// Record that the booked person did not come (`OperateWindow`, after the slot started).
#[utoipa::path(post, path = "/api/v1/appointments/bookings/{id}/no-show", tag = "appointments", params(("id" = i64, Path)),
    responses((status = 200, body = NoShowOut), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`no_show_too_early`")))]
pub(super) async fn mark_no_show(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<BookingId>,
) -> Result<Json<NoShowOut>, AppError> {
    let principal = &who.principal;
    let suspension = svc(&state)
        .mark_no_show(principal, id, &origin(&meta))
        .await?;
    Ok(Json(NoShowOut { suspension }))
}

// ------------------------------------------------------------------------------ waitlist

#[derive(Debug, Serialize, ToSchema)]
pub struct WaitlistOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub entry: WaitlistEntry,
}

impl From<WaitlistEntry> for WaitlistOut {
    fn from(entry: WaitlistEntry) -> Self {
        Self {
            id: entry.id.get(),
            entry,
        }
    }
}

/// Join the waitlist of a full slot; when a place frees up before the cancellation cut-off it is booked
/// for the first person in line, who is told by SMS.
#[utoipa::path(post, path = "/api/v1/appointments/waitlist", tag = "appointments", request_body = BookBody,
    responses((status = 201, body = WaitlistOut), (status = 401, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody, description = "`slot_not_found`"),
        (status = 409, body = ApiErrorBody, description = "`slot_available`, `already_waitlisted`, `waitlist_full`, `waitlist_closed`…")))]
pub(super) async fn join_waitlist(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    Json(body): Json<BookBody>,
) -> Result<(StatusCode, Json<WaitlistOut>), AppError> {
    let principal = &who.principal;
    let entry = svc(&state)
        .join_waitlist(
            principal,
            SlotId::new(body.slot),
            body.item_code.as_deref(),
            &origin(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// The caller's waitlist entries, with their place in line while waiting.
#[utoipa::path(get, path = "/api/v1/appointments/waitlist", tag = "appointments",
    responses((status = 200, body = Vec<WaitlistOut>), (status = 401, body = ApiErrorBody)))]
pub(super) async fn my_waitlist(
    State(state): State<AppState>,
    who: ApiCaller,
) -> Result<Json<Vec<WaitlistOut>>, AppError> {
    let principal = &who.principal;
    let entries = svc(&state).my_waitlist(principal).await?;
    Ok(Json(entries.into_iter().map(WaitlistOut::from).collect()))
}

/// Leave a waitlist.
#[utoipa::path(delete, path = "/api/v1/appointments/waitlist/{id}", tag = "appointments", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub(super) async fn leave_waitlist(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<WaitlistId>,
) -> Result<StatusCode, AppError> {
    let principal = &who.principal;
    svc(&state)
        .leave_waitlist(principal, id, &origin(&meta))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
