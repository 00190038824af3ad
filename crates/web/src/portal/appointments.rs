//! Appointment pages: citizens choose a service hall's window or a hospital doctor, a day and a time,
//! book with an idempotency key carried by the form, download the `.ics`, cancel before the cut-off
//! and join or leave waitlists; staff set up their department's halls and clinics (booking rules,
//! opening hours, slots), see the day's bookings, mark no-shows and read the daily queue statistics.
//!
//! Authorization is the appointments service's: these handlers only decide what to offer on a page.
//! The queue's pages (kiosk, window console, board) are in [`crate::portal::queue`].
#![expect(
    clippy::trivially_copy_pass_by_ref,
    clippy::unused_self,
    reason = "askama templates call their helpers through self and pass references"
)]

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;
use yiwang_appointments::model::{
    BookRequest, BookingDetails, BookingId, BookingPolicy, BookingStatus, DailyStats, DayCount,
    DayRule, Group, GroupKind, LimitScope, Period, Resource, ResourceId, Schedule, SlotId,
    SlotView, WaitlistId, WaitlistStatus,
};
use yiwang_appointments::{AppointmentError, Origin};
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::ErrorCode;
use yiwang_kernel::clock::china_offset;

use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageCaller, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{message_for, see_other};
use crate::portal::render;
use crate::state::AppState;

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
async fn item_names(state: &AppState, codes: &[String]) -> Vec<(String, String)> {
    let mut names = Vec::new();
    for code in codes {
        let name = match state.catalog().item_by_impl_code(code).await {
            Ok(item) => state
                .catalog()
                .items_in_effect(&[item.id])
                .await
                .ok()
                .and_then(|found| found.into_iter().next())
                .map(|current| current.content.name),
            Err(_) => None,
        };
        names.push((code.clone(), name.unwrap_or_else(|| code.clone())));
    }
    names
}

/// A fresh idempotency key for a booking form.
fn idempotency_key() -> String {
    let mut bytes = [0_u8; 16];
    rand::Rng::fill_bytes(&mut request_rng(), &mut bytes);
    hex::encode(bytes)
}

// ----- citizen: choosing -----

/// Hospital departments under their hospital's name.
struct Hospital {
    name: String,
    groups: Vec<Group>,
}

#[derive(Template)]
#[template(path = "appointments/index.html")]
struct IndexPage {
    page: PageCtx,
    halls: Vec<Group>,
    hospitals: Vec<Hospital>,
}

async fn index(State(state): State<AppState>, page: PageCtx) -> Result<Response, AppError> {
    let groups = state.appointments().groups(None).await?;
    let departments: HashMap<_, _> = yiwang_identity::service::departments(state.db(), "")
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let mut halls = Vec::new();
    let mut hospitals: Vec<Hospital> = Vec::new();
    for group in groups {
        match group.kind {
            GroupKind::Hall => halls.push(group),
            GroupKind::HospitalDepartment => {
                let name = departments
                    .get(&group.department_id)
                    .cloned()
                    .unwrap_or_default();
                match hospitals.iter_mut().find(|h| h.name == name) {
                    Some(hospital) => hospital.groups.push(group),
                    None => hospitals.push(Hospital {
                        name,
                        groups: vec![group],
                    }),
                }
            }
        }
    }
    render(&IndexPage {
        page,
        halls,
        hospitals,
    })
}

/// A window or doctor with how many places it has free in the coming days.
struct ResourceChoice {
    resource: Resource,
    items: Vec<(String, String)>,
    free: u32,
}

struct DayChoice {
    day: NaiveDate,
    free: u32,
}

#[derive(Template)]
#[template(path = "appointments/group.html")]
struct GroupPage {
    page: PageCtx,
    group: Group,
    resources: Vec<ResourceChoice>,
    chosen: Option<Resource>,
    days: Vec<DayChoice>,
    day: Option<NaiveDate>,
    slots: Vec<SlotView>,
}

impl GroupPage {
    fn day_text(&self, day: &NaiveDate) -> String {
        day_label(self.page.tr, day)
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        hhmm(at)
    }

    fn is_hall(&self) -> bool {
        self.group.kind == GroupKind::Hall
    }

    fn is_day(&self, day: &NaiveDate) -> bool {
        self.day == Some(*day)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GroupQuery {
    resource: String,
    day: String,
}

async fn group_page(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Result<Response, AppError> {
    let service = state.appointments();
    let group = service.group_by_code(&code).await?;
    let today = service.today();
    let slots = service
        .available_slots(group.id, today, today + Duration::days(LOOK_AHEAD_DAYS))
        .await?;
    let mut resources = Vec::new();
    for resource in service.resources(group.id).await? {
        if !resource.active || resource.schedule.is_none() {
            continue;
        }
        let free = slots
            .iter()
            .filter(|s| s.slot.resource_id == resource.id)
            .map(|s| s.slot.remaining())
            .sum();
        let items = item_names(&state, &resource.items).await;
        resources.push(ResourceChoice {
            resource,
            items,
            free,
        });
    }
    let chosen = resources
        .iter()
        .find(|r| r.resource.code == query.resource)
        .map(|r| r.resource.clone());
    let mut days = Vec::new();
    let mut day = None;
    let mut shown = Vec::new();
    if let Some(resource) = &chosen {
        let mut by_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
        for s in slots.iter().filter(|s| s.slot.resource_id == resource.id) {
            *by_day.entry(s.slot.day).or_default() += s.slot.remaining();
        }
        days = by_day
            .into_iter()
            .map(|(day, free)| DayChoice { day, free })
            .collect();
        day = NaiveDate::parse_from_str(&query.day, "%Y-%m-%d")
            .ok()
            .filter(|d| days.iter().any(|c| c.day == *d));
        if let Some(d) = day {
            shown = slots
                .into_iter()
                .filter(|s| s.slot.resource_id == resource.id && s.slot.day == d)
                .collect();
        }
    }
    render(&GroupPage {
        page,
        group,
        resources,
        chosen,
        days,
        day,
        slots: shown,
    })
}

// ----- citizen: booking -----

#[derive(Template)]
#[template(path = "appointments/confirm.html")]
struct ConfirmPage {
    page: PageCtx,
    group: Group,
    slot: SlotView,
    items: Vec<(String, String)>,
    item: String,
    csrf: String,
    key: String,
    error: Option<String>,
}

impl ConfirmPage {
    fn day_text(&self) -> String {
        day_label(self.page.tr, &self.slot.slot.day)
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        hhmm(at)
    }

    fn sold_out(&self) -> bool {
        self.slot.slot.remaining() == 0
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SlotQuery {
    slot: String,
}

/// The slot as listed for booking, with its resource's names.
async fn slot_view(state: &AppState, group: &Group, slot: SlotId) -> Result<SlotView, AppError> {
    let slot = state.appointments().slot(slot).await?;
    if slot.group_id != group.id {
        return Err(AppError::NotFound);
    }
    let resource = state
        .appointments()
        .resources(group.id)
        .await?
        .into_iter()
        .find(|r| r.id == slot.resource_id)
        .ok_or(AppError::NotFound)?;
    Ok(SlotView {
        slot,
        resource_code: resource.code,
        resource_name: resource.name,
        resource_title: resource.title,
    })
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page, and what the visitor's form held"
)]
async fn confirm_page(
    state: &AppState,
    page: PageCtx,
    who: &PageCaller,
    code: &str,
    slot: SlotId,
    item: String,
    key: String,
    error: Option<String>,
) -> Result<Response, AppError> {
    let group = state.appointments().group_by_code(code).await?;
    let slot = slot_view(state, &group, slot).await?;
    let resource = state
        .appointments()
        .resources(group.id)
        .await?
        .into_iter()
        .find(|r| r.id == slot.slot.resource_id)
        .ok_or(AppError::NotFound)?;
    let items = item_names(state, &resource.items).await;
    render(&ConfirmPage {
        page,
        group,
        slot,
        items,
        item,
        csrf: who.session().csrf_token.clone(),
        key,
        error,
    })
}

async fn confirm_form(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageCaller,
    Path(code): Path<String>,
    Query(query): Query<SlotQuery>,
) -> Result<Response, AppError> {
    let slot = parse_id(&query.slot)?;
    confirm_page(
        &state,
        page,
        &who,
        &code,
        slot,
        String::new(),
        idempotency_key(),
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BookForm {
    slot: String,
    item: String,
    idempotency_key: String,
}

async fn book(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageCaller,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<BookForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let slot: SlotId = parse_id(&form.slot)?;
    let request = BookRequest {
        slot: Some(slot),
        item_code: Some(form.item.clone()).filter(|i| !i.is_empty()),
        idempotency_key: Some(form.idempotency_key.clone()),
    };
    let mut rng = request_rng();
    match state
        .appointments()
        .book(principal, &request, &origin(&meta), &mut rng)
        .await
    {
        Ok(done) => Ok(see_other(&format!(
            "/my/appointments/{}?booked=1",
            done.booking.id
        ))),
        Err(error) => {
            let Some((status, message)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            // A new key: the refused request changed nothing and the next try is a new request.
            let response = confirm_page(
                &state,
                page,
                &who,
                &code,
                slot,
                form.item,
                idempotency_key(),
                Some(message),
            )
            .await?;
            Ok(with_status(response, status))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WaitlistForm {
    slot: String,
    item: String,
}

async fn join_waitlist(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageCaller,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<WaitlistForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let slot: SlotId = parse_id(&form.slot)?;
    let item = Some(form.item.as_str()).filter(|i| !i.is_empty());
    match state
        .appointments()
        .join_waitlist(principal, slot, item, &origin(&meta))
        .await
    {
        Ok(_) => Ok(see_other("/my/appointments?waitlisted=1")),
        Err(error) => {
            let Some((status, message)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            let response = confirm_page(
                &state,
                page,
                &who,
                &code,
                slot,
                form.item,
                idempotency_key(),
                Some(message),
            )
            .await?;
            Ok(with_status(response, status))
        }
    }
}

// ----- citizen: my appointments -----

/// A booking as listed, with what may be done with it now.
struct BookingRow {
    details: BookingDetails,
    cancellable: bool,
}

/// A waitlist entry with its slot's names.
struct WaitlistRow {
    id: WaitlistId,
    status: WaitlistStatus,
    position: Option<u32>,
    group_name: String,
    resource_name: String,
    day: NaiveDate,
    starts_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "appointments/mine.html")]
struct MinePage {
    page: PageCtx,
    upcoming: Vec<BookingRow>,
    past: Vec<BookingRow>,
    waitlist: Vec<WaitlistRow>,
    csrf: String,
    notice: Option<&'static str>,
    error: Option<String>,
}

impl MinePage {
    fn day_text(&self, day: &NaiveDate) -> String {
        day_label(self.page.tr, day)
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        hhmm(at)
    }

    fn status_text(&self, status: &BookingStatus) -> &'static str {
        self.page
            .t(&format!("appointments.status.{}", status.code()))
    }

    fn waitlist_text(&self, status: &WaitlistStatus) -> &'static str {
        self.page
            .t(&format!("appointments.waitlist_status.{}", status.code()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MineQuery {
    cancelled: Option<String>,
    waitlisted: Option<String>,
    left: Option<String>,
}

async fn mine_page(
    state: &AppState,
    page: PageCtx,
    who: &PageCaller,
    notice: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let service = state.appointments();
    let now = state.clock().now();
    let mut upcoming = Vec::new();
    let mut past = Vec::new();
    for details in service.my_bookings(principal).await? {
        let open = matches!(
            details.booking.status,
            BookingStatus::Booked | BookingStatus::CheckedIn
        ) && details.booking.ends_at > now;
        let row = BookingRow {
            cancellable: details.booking.status == BookingStatus::Booked
                && now <= details.cancel_until,
            details,
        };
        if open {
            upcoming.push(row);
        } else {
            past.push(row);
        }
    }
    upcoming.sort_by_key(|r| r.details.booking.starts_at);
    let mut waitlist = Vec::new();
    for entry in service.my_waitlist(principal).await? {
        let slot = service.slot(entry.slot_id).await?;
        let group = service.group(slot.group_id).await?;
        let resource_name = service
            .resources(group.id)
            .await?
            .into_iter()
            .find(|r| r.id == slot.resource_id)
            .map(|r| r.name)
            .unwrap_or_default();
        waitlist.push(WaitlistRow {
            id: entry.id,
            status: entry.status,
            position: entry.position,
            group_name: group.name,
            resource_name,
            day: slot.day,
            starts_at: slot.starts_at,
        });
    }
    render(&MinePage {
        page,
        upcoming,
        past,
        waitlist,
        csrf: who.session().csrf_token.clone(),
        notice,
        error,
    })
}

async fn mine(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageCaller,
    Query(query): Query<MineQuery>,
) -> Result<Response, AppError> {
    let notice = if query.cancelled.is_some() {
        Some("appointments.mine.cancelled")
    } else if query.waitlisted.is_some() {
        Some("appointments.mine.waitlisted")
    } else if query.left.is_some() {
        Some("appointments.mine.left")
    } else {
        None
    };
    mine_page(&state, page, &who, notice, None).await
}

#[derive(Template)]
#[template(path = "appointments/booking.html")]
struct BookingPage {
    page: PageCtx,
    details: BookingDetails,
    just_booked: bool,
    cancellable: bool,
    csrf: String,
}

impl BookingPage {
    fn day_text(&self) -> String {
        day_label(self.page.tr, &self.details.booking.day)
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        hhmm(at)
    }

    fn status_text(&self) -> &'static str {
        self.page.t(&format!(
            "appointments.status.{}",
            self.details.booking.status.code()
        ))
    }

    fn is_hall(&self) -> bool {
        self.details.group_kind == GroupKind::Hall
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BookedQuery {
    booked: Option<String>,
}

async fn booking_page(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageCaller,
    IdPath(id): IdPath<BookingId>,
    Query(query): Query<BookedQuery>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let details = state.appointments().booking(principal, id).await?;
    let cancellable = details.booking.status == BookingStatus::Booked
        && state.clock().now() <= details.cancel_until;
    render(&BookingPage {
        page,
        details,
        just_booked: query.booked.is_some(),
        cancellable,
        csrf: who.session().csrf_token.clone(),
    })
}

async fn calendar_file(
    State(state): State<AppState>,
    who: PageCaller,
    IdPath(id): IdPath<BookingId>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let ics = state.appointments().booking_ics(principal, id).await?;
    Ok((
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"appointment.ics\""),
            ),
        ],
        ics,
    )
        .into_response())
}

async fn cancel(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageCaller,
    IdPath(id): IdPath<BookingId>,
    _: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let mut rng = request_rng();
    match state
        .appointments()
        .cancel(principal, id, &origin(&meta), &mut rng)
        .await
    {
        Ok(_) => Ok(see_other("/my/appointments?cancelled=1")),
        Err(error) => {
            let Some((status, message)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            let response = mine_page(&state, page, &who, None, Some(message)).await?;
            Ok(with_status(response, status))
        }
    }
}

async fn leave_waitlist(
    State(state): State<AppState>,
    Client(meta): Client,
    who: PageCaller,
    IdPath(id): IdPath<WaitlistId>,
    _: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    state
        .appointments()
        .leave_waitlist(principal, id, &origin(&meta))
        .await?;
    Ok(see_other("/my/appointments?left=1"))
}

// ----- staff -----

/// The groups a staff member works with: their department's (every group for platform
/// administrators), and what they may do there.
struct StaffGroup {
    group: Group,
    can_manage: bool,
    windows: Vec<Resource>,
}

#[derive(Template)]
#[template(path = "appointments/staff_list.html")]
struct StaffListPage {
    page: PageCtx,
    groups: Vec<StaffGroup>,
}

fn may(principal: &Principal, action: &Action<'_>) -> bool {
    authorize(principal, action).is_ok()
}

fn may_work(principal: &Principal, group: &Group) -> bool {
    may(
        principal,
        &Action::ManageSchedules {
            department: group.department_id,
        },
    ) || may(
        principal,
        &Action::OperateWindow {
            department: group.department_id,
        },
    )
}

async fn staff_list(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let Principal::Staff(_) = principal else {
        return Err(AppError::Forbidden {
            code: "forbidden".to_owned(),
        });
    };
    let mut groups = Vec::new();
    for group in state.appointments().groups(None).await? {
        if !may_work(principal, &group) {
            continue;
        }
        let can_manage = may(
            principal,
            &Action::ManageSchedules {
                department: group.department_id,
            },
        );
        let windows = state
            .appointments()
            .resources(group.id)
            .await?
            .into_iter()
            .filter(|r| r.active)
            .collect();
        groups.push(StaffGroup {
            group,
            can_manage,
            windows,
        });
    }
    render(&StaffListPage { page, groups })
}

/// The policy form's values, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct PolicyForm {
    release_days: String,
    release_counting: String,
    release_at: String,
    earliest_days: String,
    booking_cutoff: String,
    cancel_cutoff: String,
    one_per_day: String,
    no_show_limit: String,
    no_show_within: String,
    no_show_suspend: String,
    waitlist_max: String,
    handling_minutes: String,
}

impl PolicyForm {
    fn of(policy: &BookingPolicy) -> Self {
        Self {
            release_days: policy.release.days_ahead.to_string(),
            release_counting: policy.release.counting.code().to_owned(),
            release_at: policy.release.at.format("%H:%M").to_string(),
            earliest_days: policy.earliest_days_ahead.to_string(),
            booking_cutoff: policy.booking_cutoff_minutes.to_string(),
            cancel_cutoff: policy.cancel_cutoff_minutes.to_string(),
            one_per_day: policy.one_per_day.code().to_owned(),
            no_show_limit: policy.no_show.limit.to_string(),
            no_show_within: policy.no_show.within_days.to_string(),
            no_show_suspend: policy.no_show.suspend_days.to_string(),
            waitlist_max: policy.waitlist_max.to_string(),
            handling_minutes: policy.queue.default_handling_minutes.to_string(),
        }
    }

    /// The policy the form describes (other settings kept from `base`), or the first field that
    /// could not be read.
    fn read(&self, base: &BookingPolicy) -> Result<BookingPolicy, &'static str> {
        fn number(text: &str, field: &'static str) -> Result<u32, &'static str> {
            text.trim().parse().map_err(|_| field)
        }
        let mut policy = base.clone();
        policy.release.days_ahead = number(&self.release_days, "release_days")?;
        policy.release.counting =
            DayCount::parse(&self.release_counting).ok_or("release_counting")?;
        policy.release.at =
            NaiveTime::parse_from_str(self.release_at.trim(), "%H:%M").map_err(|_| "release_at")?;
        policy.earliest_days_ahead = number(&self.earliest_days, "earliest_days")?;
        policy.booking_cutoff_minutes = number(&self.booking_cutoff, "booking_cutoff")?;
        policy.cancel_cutoff_minutes = number(&self.cancel_cutoff, "cancel_cutoff")?;
        policy.one_per_day = LimitScope::parse(&self.one_per_day).ok_or("one_per_day")?;
        policy.no_show.limit = number(&self.no_show_limit, "no_show_limit")?;
        policy.no_show.within_days = number(&self.no_show_within, "no_show_within")?;
        policy.no_show.suspend_days = number(&self.no_show_suspend, "no_show_suspend")?;
        policy.waitlist_max = number(&self.waitlist_max, "waitlist_max")?;
        policy.queue.default_handling_minutes = number(&self.handling_minutes, "handling_minutes")?;
        Ok(policy)
    }
}

/// A resource's schedule form values, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct ScheduleForm {
    days: String,
    periods: String,
    slot_minutes: String,
    capacity: String,
    valid_from: String,
    valid_until: String,
}

impl ScheduleForm {
    fn of(schedule: Option<&Schedule>) -> Self {
        let Some(s) = schedule else {
            return Self {
                days: DayRule::WorkingDays.code().to_owned(),
                periods: "09:00-12:00\n13:30-17:00".to_owned(),
                slot_minutes: "30".to_owned(),
                capacity: "3".to_owned(),
                ..Self::default()
            };
        };
        Self {
            days: s.days.code().to_owned(),
            periods: s
                .periods
                .iter()
                .map(|p| format!("{}-{}", p.start.format("%H:%M"), p.end.format("%H:%M")))
                .collect::<Vec<_>>()
                .join("\n"),
            slot_minutes: s.slot_minutes.to_string(),
            capacity: s.capacity.to_string(),
            valid_from: s.valid_from.map(|d| d.to_string()).unwrap_or_default(),
            valid_until: s.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    fn read(&self) -> Result<Schedule, &'static str> {
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| "periods");
        let mut periods = Vec::new();
        for line in self
            .periods
            .split(['\n', ',', '，', ';'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (start, end) = line.split_once(['-', '–', '~', '～']).ok_or("periods")?;
            periods.push(Period {
                start: time(start)?,
                end: time(end)?,
            });
        }
        let date = |text: &str, field: &'static str| -> Result<Option<NaiveDate>, &'static str> {
            let text = text.trim();
            if text.is_empty() {
                Ok(None)
            } else {
                NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map(Some)
                    .map_err(|_| field)
            }
        };
        Ok(Schedule {
            days: DayRule::parse(&self.days).ok_or("days")?,
            periods,
            slot_minutes: self
                .slot_minutes
                .trim()
                .parse()
                .map_err(|_| "slot_minutes")?,
            capacity: self.capacity.trim().parse().map_err(|_| "capacity")?,
            valid_from: date(&self.valid_from, "valid_from")?,
            valid_until: date(&self.valid_until, "valid_until")?,
        })
    }
}

struct ResourceRow {
    resource: Resource,
    form: ScheduleForm,
}

#[derive(Template)]
#[template(path = "appointments/staff_group.html")]
struct StaffGroupPage {
    page: PageCtx,
    group: Group,
    can_manage: bool,
    resources: Vec<ResourceRow>,
    policy: PolicyForm,
    day: NaiveDate,
    bookings: Vec<BookingDetails>,
    slot_count: usize,
    csrf: String,
    notice: Option<String>,
    error: Option<(String, String)>,
}

impl StaffGroupPage {
    fn time(&self, at: &DateTime<Utc>) -> String {
        hhmm(at)
    }

    fn day_text(&self) -> String {
        day_label(self.page.tr, &self.day)
    }

    fn status_text(&self, status: &BookingStatus) -> &'static str {
        self.page
            .t(&format!("appointments.status.{}", status.code()))
    }

    fn error_for(&self, section: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(s, _)| s == section)
            .map(|(_, m)| m.as_str())
    }

    fn may_no_show(&self, details: &BookingDetails) -> bool {
        details.booking.status == BookingStatus::Booked
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StaffGroupQuery {
    day: String,
    saved: Option<String>,
    generated: Option<String>,
    no_show: Option<String>,
}

struct StaffGroupInput {
    policy: Option<PolicyForm>,
    schedule: Option<(ResourceId, ScheduleForm)>,
    notice: Option<String>,
    error: Option<(String, String)>,
    day: Option<NaiveDate>,
}

async fn staff_group_page(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    code: &str,
    input: StaffGroupInput,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let service = state.appointments();
    let group = service.group_by_code(code).await?;
    if !may_work(principal, &group) {
        return Err(AppError::Forbidden {
            code: "forbidden".to_owned(),
        });
    }
    let can_manage = may(
        principal,
        &Action::ManageSchedules {
            department: group.department_id,
        },
    );
    let day = input.day.unwrap_or_else(|| service.today());
    let bookings = service.day_bookings(principal, group.id, day).await?;
    let slot_count = service
        .staff_slots(principal, group.id, day, day)
        .await?
        .len();
    let resources = service
        .resources(group.id)
        .await?
        .into_iter()
        .map(|resource| {
            let form = match &input.schedule {
                Some((id, form)) if *id == resource.id => form.clone(),
                _ => ScheduleForm::of(resource.schedule.as_ref()),
            };
            ResourceRow { resource, form }
        })
        .collect();
    let policy = input
        .policy
        .unwrap_or_else(|| PolicyForm::of(&group.policy));
    render(&StaffGroupPage {
        page,
        can_manage,
        resources,
        policy,
        day,
        bookings,
        slot_count,
        csrf: who.session().csrf_token.clone(),
        notice: input.notice,
        error: input.error,
        group,
    })
}

async fn staff_group(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Path(code): Path<String>,
    Query(query): Query<StaffGroupQuery>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let notice = if query.saved.is_some() {
        Some(tr.t("appointments.staff.saved").to_owned())
    } else if let Some(n) = &query.generated {
        Some(tr.fmt("appointments.staff.generated", &[("n", n.as_str())]))
    } else if query.no_show.is_some() {
        Some(tr.t("appointments.staff.no_show_marked").to_owned())
    } else {
        None
    };
    let day = NaiveDate::parse_from_str(&query.day, "%Y-%m-%d").ok();
    staff_group_page(
        &state,
        page,
        &who,
        &code,
        StaffGroupInput {
            policy: None,
            schedule: None,
            notice,
            error: None,
            day,
        },
    )
    .await
}

fn field_message(tr: Tr, field: &str) -> String {
    tr.fmt(
        "appointments.staff.field_invalid",
        &[("field", tr.t(&format!("appointments.field.{field}")))],
    )
}

async fn save_policy(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<PolicyForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let group = state.appointments().group_by_code(&code).await?;
    let tr = page.tr;
    let message = match form.read(&group.policy) {
        Err(field) => field_message(tr, field),
        Ok(policy) => match state
            .appointments()
            .set_policy(principal, group.id, &policy, &origin(&meta))
            .await
        {
            Ok(_) => return Ok(see_other(&format!("/staff/appointments/{code}?saved=1"))),
            Err(error) => match refusal(tr, &error) {
                Some((_, message)) => message,
                None => return Err(error.into()),
            },
        },
    };
    let response = staff_group_page(
        &state,
        page,
        &who,
        &code,
        StaffGroupInput {
            policy: Some(form),
            schedule: None,
            notice: None,
            error: Some(("policy".to_owned(), message)),
            day: None,
        },
    )
    .await?;
    Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY))
}

async fn save_schedule(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath((code, resource)): IdPath<(String, ResourceId)>,
    CsrfForm(form): CsrfForm<ScheduleForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let tr = page.tr;
    let message = match form.read() {
        Err(field) => field_message(tr, field),
        Ok(schedule) => match state
            .appointments()
            .set_schedule(principal, resource, Some(&schedule), &origin(&meta))
            .await
        {
            Ok(_) => return Ok(see_other(&format!("/staff/appointments/{code}?saved=1"))),
            Err(error) => match refusal(tr, &error) {
                Some((_, message)) => message,
                None => return Err(error.into()),
            },
        },
    };
    let response = staff_group_page(
        &state,
        page,
        &who,
        &code,
        StaffGroupInput {
            policy: None,
            schedule: Some((resource, form)),
            notice: None,
            error: Some((format!("schedule-{resource}"), message)),
            day: None,
        },
    )
    .await?;
    Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GenerateForm {
    days: String,
}

async fn generate(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm<GenerateForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let group = state.appointments().group_by_code(&code).await?;
    let tr = page.tr;
    let message = match form.days.trim().parse::<u32>() {
        Err(_) => field_message(tr, "days_ahead"),
        Ok(days) => match state
            .appointments()
            .generate_slots(principal, group.id, days, &origin(&meta))
            .await
        {
            Ok(n) => {
                return Ok(see_other(&format!(
                    "/staff/appointments/{code}?generated={n}"
                )));
            }
            Err(error) => match refusal(tr, &error) {
                Some((_, message)) => message,
                None => return Err(error.into()),
            },
        },
    };
    let response = staff_group_page(
        &state,
        page,
        &who,
        &code,
        StaffGroupInput {
            policy: None,
            schedule: None,
            notice: None,
            error: Some(("generate".to_owned(), message)),
            day: None,
        },
    )
    .await?;
    Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoShowForm {
    /// The day of the bookings list to come back to.
    day: String,
}

async fn no_show(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath((code, booking)): IdPath<(String, BookingId)>,
    CsrfForm(form): CsrfForm<NoShowForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let day = NaiveDate::parse_from_str(form.day.trim(), "%Y-%m-%d").ok();
    match state
        .appointments()
        .mark_no_show(principal, booking, &origin(&meta))
        .await
    {
        Ok(_) => {
            let day = day.map(|d| format!("&day={d}")).unwrap_or_default();
            Ok(see_other(&format!(
                "/staff/appointments/{code}?no_show=1{day}"
            )))
        }
        Err(error) => {
            let Some((status, message)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            let response = staff_group_page(
                &state,
                page,
                &who,
                &code,
                StaffGroupInput {
                    policy: None,
                    schedule: None,
                    notice: None,
                    error: Some(("bookings".to_owned(), message)),
                    day,
                },
            )
            .await?;
            Ok(with_status(response, status))
        }
    }
}

#[derive(Template)]
#[template(path = "appointments/stats.html")]
struct StatsPage {
    page: PageCtx,
    group: Group,
    day: NaiveDate,
    stats: DailyStats,
}

impl StatsPage {
    fn day_text(&self) -> String {
        day_label(self.page.tr, &self.day)
    }

    fn previous(&self) -> NaiveDate {
        self.day.pred_opt().unwrap_or(self.day)
    }

    fn next(&self) -> NaiveDate {
        self.day.succ_opt().unwrap_or(self.day)
    }

    /// Seconds as minutes and seconds ("—" when nothing was measured).
    #[expect(clippy::ref_option, reason = "askama passes the field by reference")]
    fn duration(&self, seconds: &Option<f64>) -> String {
        match seconds {
            Some(s) => {
                let total = s.round() as i64;
                self.page.tr.fmt(
                    "appointments.stats.minutes_seconds",
                    &[
                        ("m", &(total / 60).to_string()),
                        ("s", &(total % 60).to_string()),
                    ],
                )
            }
            None => "—".to_owned(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DayQuery {
    day: String,
}

async fn stats(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Path(code): Path<String>,
    Query(query): Query<DayQuery>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let group = state.appointments().group_by_code(&code).await?;
    let day = NaiveDate::parse_from_str(&query.day, "%Y-%m-%d")
        .unwrap_or_else(|_| state.appointments().today());
    let daily = state
        .appointments()
        .daily_stats(principal, group.id, day)
        .await?;
    render(&StatsPage {
        page,
        group,
        day,
        stats: daily,
    })
}
