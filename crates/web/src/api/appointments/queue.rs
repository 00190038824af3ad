//! The hall queue over JSON: tickets from the hall's machine, check-in with a booking code, the
//! window's calls, the board and the day's statistics.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_appointments::model::{
    Board, DailyStats, Lane, ResourceId, TicketId, TicketRequest, TicketView, TransferTarget,
};
use yiwang_identity::policy::Principal;
use yiwang_kernel::ResidentId;

use super::bookings::DayQuery;
use super::{group_of, invalid, origin, svc};
use crate::api::ApiErrorBody;
use crate::api::ApiQuery;
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{ApiMaybeCaller, ApiStaff, IdPath};
use crate::state::AppState;

// --------------------------------------------------------------------------------- queue

/// A ticket as printed: number, category, the people ahead and the estimated wait.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub view: TicketView,
}

impl From<TicketView> for TicketOut {
    fn from(view: TicketView) -> Self {
        Self {
            id: view.ticket.id.get(),
            view,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TakeTicket {
    /// The category's code.
    pub category: String,
    /// `normal` (default); `elderly` and `disabled` are given by the hall's staff only.
    pub lane: Option<String>,
    /// Staff: the resident ID read from the person's card.
    pub resident_id: Option<String>,
}

/// Take a ticket at the hall's machine (no log-in needed), or at the desk (staff give the elderly and
/// disabled lanes).
#[utoipa::path(post, path = "/api/v1/queue/groups/{group}/tickets", tag = "queue",
    params(("group" = String, Path, description = "id or code")), request_body = TakeTicket,
    responses((status = 201, body = TicketOut), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`lane_not_allowed`"), (status = 422, body = ApiErrorBody)))]
pub(super) async fn take_ticket(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<TakeTicket>,
) -> Result<(StatusCode, Json<TicketOut>), AppError> {
    let principal = who.principal;
    crate::throttle::guard_ticket(&state, &meta.ip, &principal).await?;
    let group = group_of(&state, &key).await?;
    let lane = match body
        .lane
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        Some(l) => Lane::parse(l).ok_or_else(|| {
            invalid(
                "lane",
                "lane_invalid",
                "lane is normal, elderly or disabled",
            )
        })?,
        None => Lane::Normal,
    };
    let person = match body
        .resident_id
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(text) if matches!(principal, Principal::Staff(_)) => {
            let id = ResidentId::parse(text)
                .map_err(|e| invalid("resident_id", "resident_id_invalid", &e.to_string()))?;
            Some(state.cases().person_by_resident_id(&id).await?)
        }
        _ => None,
    };
    let ticket = svc(&state)
        .take_ticket(
            &principal,
            group.id,
            &TicketRequest {
                category: body.category,
                lane,
                person,
            },
            &origin(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(ticket.into())))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CheckIn {
    /// The booking code (case, spaces and dashes do not matter).
    pub code: String,
}

/// Check a booking in at its hall on its day with the booking code: a ticket in the appointment lane.
/// The hall's machine (no log-in: the code is the proof), the person or the hall's staff may do it;
/// checking in again gives the same ticket.
#[utoipa::path(post, path = "/api/v1/queue/groups/{group}/check-in", tag = "queue",
    params(("group" = String, Path, description = "id or code")), request_body = CheckIn,
    responses((status = 200, body = TicketOut), (status = 404, body = ApiErrorBody, description = "`booking_not_found`"),
        (status = 409, body = ApiErrorBody, description = "`checkin_too_early`, `checkin_too_late`, `checkin_wrong_place`, `booking_wrong_state`")))]
pub(super) async fn check_in(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<CheckIn>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = who.principal;
    crate::throttle::guard_ticket(&state, &meta.ip, &principal).await?;
    let group = group_of(&state, &key).await?;
    let ticket = svc(&state)
        .check_in(&principal, group.id, &body.code, &origin(&meta))
        .await?;
    Ok(Json(ticket.into()))
}

/// A ticket with the people ahead and the estimated wait (public: it shows no personal data).
#[utoipa::path(get, path = "/api/v1/queue/tickets/{id}", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 404, body = ApiErrorBody)))]
pub(super) async fn get_ticket(
    State(state): State<AppState>,
    IdPath(id): IdPath<TicketId>,
) -> Result<Json<TicketOut>, AppError> {
    Ok(Json(svc(&state).ticket(id).await?.into()))
}

/// What the hall's board shows: the ticket each window has called, and the waiting tickets and
/// estimated wait per category. `version` changes whenever the queue changes.
#[utoipa::path(get, path = "/api/v1/queue/groups/{group}/board", tag = "queue",
    params(("group" = String, Path, description = "id or code")),
    responses((status = 200, body = Object), (status = 404, body = ApiErrorBody)))]
pub(super) async fn board(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Board>, AppError> {
    let group = group_of(&state, &key).await?;
    Ok(Json(svc(&state).board(group.id).await?))
}

/// A day's statistics per window and category: tickets, served, skipped, abandoned, transferred,
/// average wait and handling time (`OperateWindow` or `ManageSchedules`).
#[utoipa::path(get, path = "/api/v1/queue/groups/{group}/stats", tag = "queue",
    params(("group" = String, Path, description = "id or code"), ("day" = Option<String>, Query, description = "YYYY-MM-DD, default today")),
    responses((status = 200, body = Object), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub(super) async fn daily_stats(
    State(state): State<AppState>,
    who: ApiStaff,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<DayQuery>,
) -> Result<Json<DailyStats>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    Ok(Json(
        svc(&state)
            .daily_stats(principal, group.id, query.day(&state)?)
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClosedDay {
    /// Tickets still open that were abandoned.
    pub abandoned: u64,
}

/// End the hall's day: every ticket still open is abandoned (`OperateWindow`).
#[utoipa::path(post, path = "/api/v1/queue/groups/{group}/close-day", tag = "queue",
    params(("group" = String, Path, description = "id or code")),
    responses((status = 200, body = ClosedDay), (status = 403, body = ApiErrorBody)))]
pub(super) async fn close_day(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Path(key): Path<String>,
) -> Result<Json<ClosedDay>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let abandoned = svc(&state)
        .close_day(principal, group.id, &origin(&meta))
        .await?;
    Ok(Json(ClosedDay { abandoned }))
}

/// The ticket a window has called or is serving (204 when it is free).
#[utoipa::path(get, path = "/api/v1/queue/windows/{id}/ticket", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 204, description = "the window is free"),
        (status = 403, body = ApiErrorBody)))]
pub(super) async fn window_ticket(
    State(state): State<AppState>,
    who: ApiStaff,
    IdPath(id): IdPath<ResourceId>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let ticket = svc(&state).window_ticket(principal, id).await?;
    Ok(match ticket {
        Some(t) => Json(TicketOut::from(t)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// Call the next ticket to a window: tickets sent to it and those of its categories, appointment lane
/// first, then elderly and disabled, then the rest. 204 when nobody waits.
#[utoipa::path(post, path = "/api/v1/queue/windows/{id}/call-next", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 204, description = "nobody waits"),
        (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "`window_busy`")))]
pub(super) async fn call_next(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ResourceId>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let ticket = svc(&state).call_next(principal, id, &origin(&meta)).await?;
    Ok(match ticket {
        Some(t) => Json(TicketOut::from(t)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RecallBody {
    pub ticket: i64,
}

/// Call a ticket again: announce a called ticket once more, or bring back a skipped ticket of today.
#[utoipa::path(post, path = "/api/v1/queue/windows/{id}/recall", tag = "queue", params(("id" = i64, Path)),
    request_body = RecallBody,
    responses((status = 200, body = TicketOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`ticket_wrong_state`, `window_busy`")))]
pub(super) async fn recall(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ResourceId>,
    Json(body): Json<RecallBody>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = &who.principal;
    let ticket = svc(&state)
        .recall(principal, id, TicketId::new(body.ticket), &origin(&meta))
        .await?;
    Ok(Json(ticket.into()))
}

/// The called person came to the window: serving starts.
#[utoipa::path(post, path = "/api/v1/queue/tickets/{id}/start", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`ticket_wrong_state`")))]
pub(super) async fn start_serving(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<TicketId>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = &who.principal;
    let ticket = svc(&state)
        .start_serving(principal, id, &origin(&meta))
        .await?;
    Ok(Json(ticket.into()))
}

/// 过号: the called person did not come; the ticket may be recalled later the same day.
#[utoipa::path(post, path = "/api/v1/queue/tickets/{id}/skip", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`ticket_wrong_state`")))]
pub(super) async fn skip(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<TicketId>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = &who.principal;
    let ticket = svc(&state).skip(principal, id, &origin(&meta)).await?;
    Ok(Json(ticket.into()))
}

/// Done with the ticket (a checked-in booking becomes served).
#[utoipa::path(post, path = "/api/v1/queue/tickets/{id}/finish", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`ticket_wrong_state`")))]
pub(super) async fn finish(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<TicketId>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = &who.principal;
    let ticket = svc(&state).finish(principal, id, &origin(&meta)).await?;
    Ok(Json(ticket.into()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TransferBody {
    /// Another window's id, which calls the ticket next among its own…
    pub window: Option<i64>,
    /// …or another category's code (any window serving it). Exactly one of the two.
    pub category: Option<String>,
}

/// Send a called or served ticket on to another window or category; it keeps its number and its place
/// by the time first taken. Returns the new ticket.
#[utoipa::path(post, path = "/api/v1/queue/tickets/{id}/transfer", tag = "queue", params(("id" = i64, Path)),
    request_body = TransferBody,
    responses((status = 200, body = TicketOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`ticket_wrong_state`"), (status = 422, body = ApiErrorBody)))]
pub(super) async fn transfer(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<TicketId>,
    Json(body): Json<TransferBody>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = &who.principal;
    let category = body
        .category
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let target = match (body.window, category) {
        (Some(w), None) => TransferTarget::Window(ResourceId::new(w)),
        (None, Some(c)) => TransferTarget::Category(c),
        _ => {
            return Err(invalid(
                "window",
                "transfer_target_invalid",
                "give either a window or a category",
            ));
        }
    };
    let ticket = svc(&state)
        .transfer(principal, id, &target, &origin(&meta))
        .await?;
    Ok(Json(ticket.into()))
}
