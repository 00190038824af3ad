//! Citizens' appointment pages: choosing a hall's window or a doctor, a day and a time; booking
//! with an idempotency key carried by the form; their bookings, calendar files, cancelling and
//! waitlists.
#![expect(
    clippy::trivially_copy_pass_by_ref,
    clippy::unused_self,
    reason = "askama templates call their helpers through self and pass references"
)]

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;
use yiwang_appointments::model::{
    BookRequest, BookingDetails, BookingId, BookingStatus, Group, GroupKind, Resource, SlotId,
    SlotView, WaitlistId, WaitlistStatus,
};

use super::{
    LOOK_AHEAD_DAYS, day_label, hhmm, idempotency_key, item_names, origin, parse_id, refusal,
    with_status,
};
use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageCaller};
use crate::page::PageCtx;
use crate::portal::form::see_other;
use crate::portal::render;
use crate::state::AppState;

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

pub(super) async fn index(
    State(state): State<AppState>,
    page: PageCtx,
) -> Result<Response, AppError> {
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
pub(super) struct GroupQuery {
    resource: String,
    day: String,
}

pub(super) async fn group_page(
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
    let open: Vec<Resource> = service
        .resources(group.id)
        .await?
        .into_iter()
        .filter(|r| r.active && r.schedule.is_some())
        .collect();
    // Every item of every window or doctor named at once.
    let mut codes: Vec<String> = open.iter().flat_map(|r| r.items.clone()).collect();
    codes.sort_unstable();
    codes.dedup();
    let names: HashMap<String, String> = item_names(&state, &codes).await?.into_iter().collect();
    let resources: Vec<ResourceChoice> = open
        .into_iter()
        .map(|resource| {
            let free = slots
                .iter()
                .filter(|s| s.slot.resource_id == resource.id)
                .map(|s| s.slot.remaining())
                .sum();
            let items = resource
                .items
                .iter()
                .map(|code| {
                    let name = names.get(code).cloned().unwrap_or_else(|| code.clone());
                    (code.clone(), name)
                })
                .collect();
            ResourceChoice {
                resource,
                items,
                free,
            }
        })
        .collect();
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
pub(super) struct SlotQuery {
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
    let items = item_names(state, &resource.items).await?;
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

pub(super) async fn confirm_form(
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
pub(super) struct BookForm {
    slot: String,
    item: String,
    idempotency_key: String,
}

pub(super) async fn book(
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
pub(super) struct WaitlistForm {
    slot: String,
    item: String,
}

pub(super) async fn join_waitlist(
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
pub(super) struct MineQuery {
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
    let waitlist = service
        .my_waitlist_views(principal)
        .await?
        .into_iter()
        .map(|view| WaitlistRow {
            id: view.entry.id,
            status: view.entry.status,
            position: view.entry.position,
            group_name: view.group_name,
            resource_name: view.resource_name,
            day: view.slot.day,
            starts_at: view.slot.starts_at,
        })
        .collect();
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

pub(super) async fn mine(
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
pub(super) struct BookedQuery {
    booked: Option<String>,
}

pub(super) async fn booking_page(
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

pub(super) async fn calendar_file(
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

pub(super) async fn cancel(
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

pub(super) async fn leave_waitlist(
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
