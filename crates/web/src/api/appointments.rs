//! Appointments and the hall queue over JSON: halls and hospital departments with their windows and
//! doctors, released slots, booking (with `Idempotency-Key`), one's bookings, cancelling, calendar
//! files and the waitlist; staff set-up (groups, rules, resources, opening hours, slots, queue
//! categories), the day's bookings and no-shows; the queue: tickets from the hall's machine, check-in
//! with a booking code, the window's calls, the board and the day's statistics.
//!
//! Every decision is the appointments service's (`ManageSchedules` for set-up, `OperateWindow` for
//! windows, bookings of the day and statistics); handlers parse, call one service function, render.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_appointments::model::{
    Audience, Board, BookRequest, BookingDetails, BookingId, BookingPolicy, Category, DailyStats,
    Group, GroupId, GroupKind, Lane, NewCategory, NewGroup, NewResource, Resource, ResourceId,
    ResourceKind, Schedule, SlotId, SlotView, Suspension, TicketId, TicketRequest, TicketView,
    TransferTarget, WaitlistEntry, WaitlistId,
};
use yiwang_appointments::service::{MAX_DAYS, ResourceUpdate};
use yiwang_appointments::{Appointments, Origin};
use yiwang_identity::Department;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{PageRequest, ResidentId};

use crate::api::ApiErrorBody;
use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{ApiCaller, ApiMaybeCaller, IdPath};
use crate::state::AppState;

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

fn invalid(field: &str, code: &str, message: &str) -> AppError {
    AppError::Invalid {
        field: field.to_owned(),
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

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

// -------------------------------------------------------------------------------- groups

/// A window or doctor as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub resource: Resource,
}

impl From<Resource> for ResourceOut {
    fn from(resource: Resource) -> Self {
        Self {
            id: resource.id.get(),
            resource,
        }
    }
}

/// A hall or hospital department with its windows or doctors.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: i64,
    pub code: String,
    /// `hall` or `hospital_department`.
    pub kind: String,
    pub name: String,
    /// The department's code, e.g. `kbs-rmyy`.
    pub department: String,
    pub department_name: String,
    pub address: String,
    /// Release, booking, cancellation, no-show and queue rules.
    #[schema(value_type = Object)]
    pub policy: BookingPolicy,
    pub resources: Vec<ResourceOut>,
}

impl GroupOut {
    fn new(group: Group, department: Option<&Department>, resources: Vec<Resource>) -> Self {
        Self {
            id: group.id.get(),
            code: group.code,
            kind: group.kind.code().to_owned(),
            name: group.name,
            department: department.map(|d| d.code.clone()).unwrap_or_default(),
            department_name: department.map(|d| d.name.clone()).unwrap_or_default(),
            address: group.address,
            policy: group.policy,
            resources: resources.into_iter().map(ResourceOut::from).collect(),
        }
    }
}

/// A group with its queue categories.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: GroupOut,
    pub categories: Vec<CategoryOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupOut>,
    pub total: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupQuery {
    /// A department's code.
    pub department: Option<String>,
    /// `hall` or `hospital_department`.
    pub kind: Option<String>,
}

async fn group_out(state: &AppState, group: Group) -> Result<GroupOut, AppError> {
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let department = departments.iter().find(|d| d.id == group.department_id);
    let resources = svc(state).resources(group.id).await?;
    Ok(GroupOut::new(group, department, resources))
}

/// Service halls and hospital departments with their windows and doctors.
#[utoipa::path(get, path = "/api/v1/appointments/groups", tag = "appointments",
    params(("department" = Option<String>, Query, description = "department code"),
        ("kind" = Option<String>, Query, description = "`hall` or `hospital_department`")),
    responses((status = 200, body = GroupList), (status = 404, body = ApiErrorBody, description = "no such department"),
        (status = 422, body = ApiErrorBody)))]
async fn list_groups(
    State(state): State<AppState>,
    Query(query): Query<GroupQuery>,
) -> Result<Json<GroupList>, AppError> {
    let kind = match query
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => Some(GroupKind::parse(k).ok_or_else(|| {
            invalid(
                "kind",
                "appt_kind_invalid",
                "kind is hall or hospital_department",
            )
        })?),
        None => None,
    };
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let department = match query
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(code) => Some(
            departments
                .iter()
                .find(|d| d.code == code)
                .ok_or(AppError::NotFound)?
                .id,
        ),
        None => None,
    };
    let mut items = Vec::new();
    for group in svc(&state).groups(department).await? {
        if kind.is_some_and(|k| k != group.kind) {
            continue;
        }
        let resources = svc(&state).resources(group.id).await?;
        let dept = departments.iter().find(|d| d.id == group.department_id);
        items.push(GroupOut::new(group, dept, resources));
    }
    Ok(Json(GroupList {
        total: items.len(),
        items,
    }))
}

/// One hall or hospital department (by id or code) with its resources and queue categories.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}", tag = "appointments",
    params(("group" = String, Path, description = "id or code")),
    responses((status = 200, body = GroupDetail), (status = 404, body = ApiErrorBody)))]
async fn get_group(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<GroupDetail>, AppError> {
    let group = group_of(&state, &key).await?;
    let categories = svc(&state).categories(group.id).await?;
    Ok(Json(GroupDetail {
        group: group_out(&state, group).await?,
        categories: categories.into_iter().map(CategoryOut::from).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateGroup {
    /// 2–40 lowercase letters, digits, `-` or `_`; unique.
    pub code: String,
    /// `hall` or `hospital_department`.
    pub kind: String,
    pub name: String,
    pub address: String,
    /// The rules; the defaults of the kind when absent.
    #[schema(value_type = Option<Object>)]
    pub policy: Option<BookingPolicy>,
}

/// Create a hall or hospital department of a department (its administrators, `ManageSchedules`).
#[utoipa::path(post, path = "/api/v1/departments/{code}/appointment-groups", tag = "appointments",
    params(("code" = String, Path, description = "department code")), request_body = CreateGroup,
    responses((status = 201, body = GroupOut), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`appt_code_taken`"), (status = 422, body = ApiErrorBody)))]
async fn create_group(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    Path(code): Path<String>,
    Json(body): Json<CreateGroup>,
) -> Result<(StatusCode, Json<GroupOut>), AppError> {
    let principal = &who.principal;
    let department = yiwang_identity::service::department(state.db(), &code).await?;
    let kind = GroupKind::parse(body.kind.trim()).ok_or_else(|| {
        invalid(
            "kind",
            "appt_kind_invalid",
            "kind is hall or hospital_department",
        )
    })?;
    let group = svc(&state)
        .create_group(
            principal,
            &department,
            &NewGroup {
                code: body.code,
                kind,
                name: body.name,
                address: body.address,
                policy: body.policy,
            },
            &origin(&meta),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(GroupOut::new(group, Some(&department), Vec::new())),
    ))
}

/// Replace a group's rules (`ManageSchedules`); days not yet released move to the new release time.
#[utoipa::path(put, path = "/api/v1/appointments/groups/{group}/policy", tag = "appointments",
    params(("group" = String, Path, description = "id or code")),
    request_body(content = Object, description = "the booking policy (as `policy` of a group)"),
    responses((status = 200, body = GroupOut), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn set_policy(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(policy): Json<BookingPolicy>,
) -> Result<Json<GroupOut>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let group = svc(&state)
        .set_policy(principal, group.id, &policy, &origin(&meta))
        .await?;
    Ok(Json(group_out(&state, group).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddResource {
    pub code: String,
    /// `window` or `doctor`; by default the group's kind decides.
    pub kind: Option<String>,
    pub name: String,
    /// A doctor's title (主任医师).
    pub title: String,
    /// Service items (implementation codes) a window handles; empty: any.
    pub items: Vec<String>,
    /// Queue categories the window calls.
    pub categories: Vec<String>,
}

/// Add a window (hall) or doctor (hospital department) (`ManageSchedules`).
#[utoipa::path(post, path = "/api/v1/appointments/groups/{group}/resources", tag = "appointments",
    params(("group" = String, Path, description = "id or code")), request_body = AddResource,
    responses((status = 201, body = ResourceOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`appt_code_taken`"), (status = 422, body = ApiErrorBody)))]
async fn add_resource(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<AddResource>,
) -> Result<(StatusCode, Json<ResourceOut>), AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let kind = match body
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => Some(
            ResourceKind::parse(k)
                .ok_or_else(|| invalid("kind", "appt_kind_invalid", "kind is window or doctor"))?,
        ),
        None => None,
    };
    let resource = svc(&state)
        .add_resource(
            principal,
            group.id,
            &NewResource {
                code: body.code,
                kind,
                name: body.name,
                title: body.title,
                items: body.items,
                categories: body.categories,
            },
            &origin(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(resource.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateResource {
    #[serde(default)]
    pub items: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    pub active: bool,
}

/// Change the items a window handles, the categories it calls and whether it is in use
/// (`ManageSchedules`).
#[utoipa::path(put, path = "/api/v1/appointments/resources/{id}", tag = "appointments",
    params(("id" = i64, Path)), request_body = UpdateResource,
    responses((status = 200, body = ResourceOut), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
async fn update_resource(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<ResourceId>,
    Json(body): Json<UpdateResource>,
) -> Result<Json<ResourceOut>, AppError> {
    let principal = &who.principal;
    let resource = svc(&state)
        .update_resource(
            principal,
            id,
            &ResourceUpdate {
                items: body.items,
                categories: body.categories,
                active: body.active,
            },
            &origin(&meta),
        )
        .await?;
    Ok(Json(resource.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetSchedule {
    /// Opening hours: `days` (`working_days` or `every_day`), `periods` (`[{"start": "08:00:00",
    /// "end": "11:30:00"}]`, China time), `slot_minutes`, `capacity`, optional `valid_from` /
    /// `valid_until`; `null` removes the schedule.
    #[schema(value_type = Option<Object>)]
    pub schedule: Option<Schedule>,
}

/// Set a window's or doctor's opening hours (`ManageSchedules`). Slots already generated stay.
#[utoipa::path(put, path = "/api/v1/appointments/resources/{id}/schedule", tag = "appointments",
    params(("id" = i64, Path)), request_body = SetSchedule,
    responses((status = 200, body = ResourceOut), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody, description = "`schedule_slot_length`, `schedule_period_overlap`…")))]
async fn set_schedule(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<ResourceId>,
    Json(body): Json<SetSchedule>,
) -> Result<Json<ResourceOut>, AppError> {
    let principal = &who.principal;
    let resource = svc(&state)
        .set_schedule(principal, id, body.schedule.as_ref(), &origin(&meta))
        .await?;
    Ok(Json(resource.into()))
}

// --------------------------------------------------------------------------------- slots

/// A slot with its resource and the places left.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOut {
    pub id: i64,
    pub remaining: u32,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub view: SlotView,
}

impl From<SlotView> for SlotOut {
    fn from(view: SlotView) -> Self {
        Self {
            id: view.slot.id.get(),
            remaining: view.slot.remaining(),
            view,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotList {
    pub items: Vec<SlotOut>,
    pub total: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SlotQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// A window's or doctor's code.
    pub resource: Option<String>,
    /// Staff: every slot, released or not.
    pub all: Option<String>,
}

/// Slots of a group from `from` (default today) to `to` (default a week later), at most 62 days:
/// released slots not yet past their booking cut-off, full ones included (join their waitlist). With
/// `all=true`, staff of the department see every slot, released or not.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}/slots", tag = "appointments",
    params(("group" = String, Path, description = "id or code"), ("from" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD"), ("resource" = Option<String>, Query, description = "window or doctor code"),
        ("all" = Option<bool>, Query, description = "staff: unreleased slots too")),
    responses((status = 200, body = SlotList), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
async fn list_slots(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Path(key): Path<String>,
    Query(query): Query<SlotQuery>,
) -> Result<Json<SlotList>, AppError> {
    let group = group_of(&state, &key).await?;
    let from = optional_date("from", query.from.as_deref())?.unwrap_or_else(|| svc(&state).today());
    let to = optional_date("to", query.to.as_deref())?
        .unwrap_or(from + Duration::days(DEFAULT_SLOT_DAYS));
    if to < from || to > from + Duration::days(i64::from(MAX_DAYS)) {
        return Err(invalid(
            "to",
            "appt_too_many_days",
            "to must not be before from, and at most 62 days after it",
        ));
    }
    let all = matches!(query.all.as_deref(), Some("1" | "true" | "on"));
    let slots = if all {
        if who.principal == Principal::Anonymous {
            return Err(AppError::Unauthenticated {
                code: "unauthenticated".to_owned(),
            });
        }
        svc(&state)
            .staff_slots(&who.principal, group.id, from, to)
            .await?
    } else {
        svc(&state).available_slots(group.id, from, to).await?
    };
    let resource = query
        .resource
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let items: Vec<SlotOut> = slots
        .into_iter()
        .filter(|s| resource.is_none_or(|r| s.resource_code == r))
        .map(SlotOut::from)
        .collect();
    Ok(Json(SlotList {
        total: items.len(),
        items,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct GenerateSlots {
    /// Today and this many days ahead (at most 62).
    pub days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Generated {
    /// Slots created now (existing ones are kept).
    pub created: usize,
}

/// Create the slots of the group's resources from their opening hours (`ManageSchedules`); running it
/// again only fills gaps. The maintenance loop also generates up to each group's release horizon.
#[utoipa::path(post, path = "/api/v1/appointments/groups/{group}/slots/generate", tag = "appointments",
    params(("group" = String, Path, description = "id or code")), request_body = GenerateSlots,
    responses((status = 200, body = Generated), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn generate_slots(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<GenerateSlots>,
) -> Result<Json<Generated>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let created = svc(&state)
        .generate_slots(principal, group.id, body.days, &origin(&meta))
        .await?;
    Ok(Json(Generated { created }))
}

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
    fn new(all: Vec<BookingDetails>, page: PageRequest) -> Self {
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
async fn book(
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
async fn my_bookings(
    State(state): State<AppState>,
    who: ApiCaller,
    Query(query): Query<PageQuery>,
) -> Result<Json<BookingList>, AppError> {
    let principal = &who.principal;
    let page = query.page()?;
    let all = svc(&state).my_bookings(principal).await?;
    Ok(Json(BookingList::new(all, page)))
}

/// One booking: the person's own, or any of the department's for its staff.
#[utoipa::path(get, path = "/api/v1/appointments/bookings/{id}", tag = "appointments", params(("id" = i64, Path)),
    responses((status = 200, body = BookingOut), (status = 401, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
async fn get_booking(
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
async fn cancel(
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
async fn booking_ics(
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
    fn day(&self, state: &AppState) -> Result<NaiveDate, AppError> {
        Ok(optional_date("day", self.day.as_deref())?.unwrap_or_else(|| svc(state).today()))
    }
}

/// A group's bookings of a day, for the department's window staff and administrators.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}/bookings", tag = "appointments",
    params(("group" = String, Path, description = "id or code"), ("day" = Option<String>, Query, description = "YYYY-MM-DD, default today"),
        ("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query)),
    responses((status = 200, body = BookingList), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
async fn day_bookings(
    State(state): State<AppState>,
    who: ApiCaller,
    Path(key): Path<String>,
    Query(query): Query<DayQuery>,
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
async fn mark_no_show(
    State(state): State<AppState>,
    who: ApiCaller,
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
        (status = 409, body = ApiErrorBody, description = "`slot_available`, `already_waitlisted`, `waitlist_full`, `waitlist_closed`…")))]
async fn join_waitlist(
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
async fn my_waitlist(
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
async fn leave_waitlist(
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

// ---------------------------------------------------------------------------- categories

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub category: Category,
}

impl From<Category> for CategoryOut {
    fn from(category: Category) -> Self {
        Self {
            id: category.id.get(),
            category,
        }
    }
}

/// A group's queue categories, in the order the ticket machine shows them.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}/categories", tag = "queue",
    params(("group" = String, Path, description = "id or code")),
    responses((status = 200, body = Vec<CategoryOut>), (status = 404, body = ApiErrorBody)))]
async fn list_categories(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Vec<CategoryOut>>, AppError> {
    let group = group_of(&state, &key).await?;
    let categories = svc(&state).categories(group.id).await?;
    Ok(Json(
        categories.into_iter().map(CategoryOut::from).collect(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddCategory {
    pub code: String,
    pub name: String,
    /// `personal` or `enterprise`.
    pub audience: String,
    pub theme: String,
    /// 1–3 capital letters printed before the ticket number (A012).
    pub prefix: String,
}

/// Add a queue category (`ManageSchedules`).
#[utoipa::path(post, path = "/api/v1/appointments/groups/{group}/categories", tag = "queue",
    params(("group" = String, Path, description = "id or code")), request_body = AddCategory,
    responses((status = 201, body = CategoryOut), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
async fn add_category(
    State(state): State<AppState>,
    who: ApiCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<AddCategory>,
) -> Result<(StatusCode, Json<CategoryOut>), AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let audience = Audience::parse(body.audience.trim()).ok_or_else(|| {
        invalid(
            "audience",
            "queue_audience_invalid",
            "audience is personal or enterprise",
        )
    })?;
    let category = svc(&state)
        .add_category(
            principal,
            group.id,
            &NewCategory {
                code: body.code,
                name: body.name,
                audience,
                theme: body.theme,
                prefix: body.prefix,
            },
            &origin(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}

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
async fn take_ticket(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<TakeTicket>,
) -> Result<(StatusCode, Json<TicketOut>), AppError> {
    let principal = who.principal;
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
async fn check_in(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<CheckIn>,
) -> Result<Json<TicketOut>, AppError> {
    let principal = who.principal;
    let group = group_of(&state, &key).await?;
    let ticket = svc(&state)
        .check_in(&principal, group.id, &body.code, &origin(&meta))
        .await?;
    Ok(Json(ticket.into()))
}

/// A ticket with the people ahead and the estimated wait (public: it shows no personal data).
#[utoipa::path(get, path = "/api/v1/queue/tickets/{id}", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = TicketOut), (status = 404, body = ApiErrorBody)))]
async fn get_ticket(
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
async fn board(
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
async fn daily_stats(
    State(state): State<AppState>,
    who: ApiCaller,
    Path(key): Path<String>,
    Query(query): Query<DayQuery>,
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
async fn close_day(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn window_ticket(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn call_next(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn recall(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn start_serving(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn skip(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn finish(
    State(state): State<AppState>,
    who: ApiCaller,
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
async fn transfer(
    State(state): State<AppState>,
    who: ApiCaller,
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
