//! Staff appointment pages: their department's halls and clinics, booking rules, opening hours and
//! slots, the day's bookings with no-shows, and the daily queue statistics.
#![expect(
    clippy::trivially_copy_pass_by_ref,
    clippy::unused_self,
    reason = "askama templates call their helpers through self and pass references"
)]

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use yiwang_appointments::model::{
    BookingDetails, BookingId, BookingPolicy, BookingStatus, DailyStats, DayCount, DayRule, Group,
    LimitScope, Period, Resource, ResourceId, Schedule,
};
use yiwang_identity::policy::{Action, Principal, authorize};

use super::{day_label, hhmm, origin, refusal, with_status};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::see_other;
use crate::portal::render;
use crate::state::AppState;

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

pub(super) async fn staff_list(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let groups = state
        .appointments()
        .staff_groups(principal)
        .await?
        .into_iter()
        .map(|view| StaffGroup {
            group: view.group,
            can_manage: view.can_manage,
            windows: view.resources.into_iter().filter(|r| r.active).collect(),
        })
        .collect();
    render(&StaffListPage { page, groups })
}

/// The policy form's values, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub(super) struct PolicyForm {
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
pub(super) struct ScheduleForm {
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
pub(super) struct StaffGroupQuery {
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

pub(super) async fn staff_group(
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

pub(super) async fn save_policy(
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

pub(super) async fn save_schedule(
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
pub(super) struct GenerateForm {
    days: String,
}

pub(super) async fn generate(
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
pub(super) struct NoShowForm {
    /// The day of the bookings list to come back to.
    day: String,
}

pub(super) async fn no_show(
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
pub(super) struct DayQuery {
    day: String,
}

pub(super) async fn stats(
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
