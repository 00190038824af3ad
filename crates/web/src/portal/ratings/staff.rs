//! The staff side: the department's rectification inbox and one task with the actions its state
//! allows (核实, 整改, 回访, 办结, 申诉), supervisors' appeal decisions, and urgings (督办) with the
//! department's replies.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_identity::model::Role;
use yiwang_identity::policy::Principal;
use yiwang_ratings::RatingError;
use yiwang_ratings::model::{
    AppealGround, AppealState, FollowUpResult, RectStatus, Rectification, RectificationId, UrgingId,
};
use yiwang_ratings::service::{MAX_NOTE_CHARS, MAX_REPLY_DAYS};

use super::{level_name, page_request, rating_message, source, status_name, tag_labels};
use crate::api::ratings::urging_subject;
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageStaff};
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

/// A task as the lists show it.
#[derive(Debug)]
pub struct TaskRow {
    pub id: i64,
    pub href: String,
    pub label: String,
    pub department: String,
    pub level: &'static str,
    pub tags: String,
    pub text: String,
    pub rater: String,
    pub rated_at: String,
    pub status: &'static str,
    pub status_code: &'static str,
    pub contact_due: String,
    pub rectify_due: String,
    pub overdue: bool,
    pub appeal: &'static str,
}

fn task_row(page: &PageCtx, t: &Rectification, now: chrono::DateTime<chrono::Utc>) -> TaskRow {
    let tr = page.tr;
    TaskRow {
        id: t.id.get(),
        href: format!("/staff/ratings/{}", t.id.get()),
        label: t.rating.event_label.clone(),
        department: t.rating.department_name.clone(),
        level: level_name(tr, t.rating.level),
        tags: tag_labels(tr, &t.rating.tags),
        text: t.rating.text.clone(),
        rater: t.rating.rater_name.clone(),
        rated_at: page.local_time(&t.rating.rated_at),
        status: status_name(tr, t.status),
        status_code: t.status.code(),
        contact_due: t.contact_due_on.to_string(),
        rectify_due: t.rectify_due_on.to_string(),
        overdue: t.is_overdue(now),
        appeal: tr.t(&format!("rating.page.appeal_state.{}", t.appeal.code())),
    }
}

fn is_supervisor(principal: &Principal) -> bool {
    matches!(principal, Principal::Staff(s) if s.has(Role::Supervisor) || s.has(Role::PlatformAdmin))
}

fn is_handler(principal: &Principal) -> bool {
    matches!(principal, Principal::Staff(s)
        if [Role::WindowStaff, Role::Approver, Role::DepartmentAdmin].into_iter().any(|r| s.has(r)))
}

// ------------------------------------------------------------------------------- inbox

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InboxQuery {
    page: Option<u32>,
    all: Option<String>,
}

#[derive(Template)]
#[template(path = "ratings/staff_inbox.html")]
pub(super) struct InboxPage {
    page: PageCtx,
    rows: Vec<TaskRow>,
    total: u64,
    all: bool,
    pager: Vec<PageLink>,
    supervisor: bool,
}

pub(super) async fn inbox(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<InboxQuery>,
) -> Result<Response, AppError> {
    let all = query.all.as_deref() == Some("1");
    let request = page_request(query.page)?;
    let ratings = state.ratings();
    let supervisor = is_supervisor(&caller.principal);
    let found = if is_handler(&caller.principal) || !supervisor {
        ratings
            .department_tasks(&caller.principal, !all, request)
            .await?
    } else {
        ratings
            .region_tasks(&caller.principal, !all, request)
            .await?
    };
    let now = state.clock().now();
    let params: Vec<(&str, String)> = if all {
        vec![("all", "1".to_owned())]
    } else {
        Vec::new()
    };
    render(&InboxPage {
        rows: found
            .items
            .iter()
            .map(|t| task_row(&page, t, now))
            .collect(),
        total: found.total,
        all,
        pager: pager("/staff/ratings", &params, &found),
        supervisor,
        page,
    })
}

// ------------------------------------------------------------------------------- one task

/// One line of the task's history.
#[derive(Debug)]
pub struct HistoryRow {
    pub at: String,
    pub actor: String,
    pub to: &'static str,
    pub note: String,
}

#[derive(Template)]
#[template(path = "ratings/staff_task.html")]
#[expect(
    clippy::struct_excessive_bools,
    reason = "what the template shows: who the viewer is and which forms the task's state offers"
)]
pub(super) struct TaskPage {
    page: PageCtx,
    csrf: String,
    row: TaskRow,
    handler: bool,
    supervisor: bool,
    rater_name: String,
    rater_mobile: String,
    contact_note: String,
    rectify_note: String,
    follow_up_result: Option<&'static str>,
    follow_up_note: String,
    history: Vec<HistoryRow>,
    appeal: Option<AppealRow>,
    can_appeal: bool,
    can_decide: bool,
    errors: FormErrors,
    refused: Option<String>,
    done: Option<&'static str>,
    notes: TaskNotes,
    max_note: usize,
    max_days: u32,
}

/// What the staff member typed, kept when a form comes back with errors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TaskNotes {
    note: String,
    result: String,
    ground: String,
    reason: String,
    decision: String,
    reply_days: String,
}

/// The task's appeal as the page shows it.
#[derive(Debug)]
pub struct AppealRow {
    pub ground: &'static str,
    pub reason: String,
    pub filed_at: String,
    pub status: &'static str,
    pub decision_note: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

struct Outcome {
    errors: FormErrors,
    refused: Option<String>,
    done: Option<&'static str>,
    status: StatusCode,
}

async fn task_page(
    state: &AppState,
    page: PageCtx,
    caller: &PageStaff,
    id: i64,
    notes: TaskNotes,
    outcome: Outcome,
) -> Result<Response, AppError> {
    let view = state
        .ratings()
        .rectification(&caller.principal, RectificationId::new(id))
        .await?;
    let tr = page.tr;
    let now = state.clock().now();
    let task = &view.task;
    let handler = is_handler(&caller.principal)
        && matches!(&caller.principal, Principal::Staff(s) if s.department == task.rating.department_id);
    let supervisor = is_supervisor(&caller.principal);
    let open = !matches!(task.status, RectStatus::Closed);
    let mut response = render(&TaskPage {
        csrf: caller.session().csrf_token.clone(),
        row: task_row(&page, task, now),
        handler,
        supervisor,
        rater_name: view.rater_name.clone(),
        rater_mobile: view.rater_mobile.clone(),
        contact_note: task.contact_note.clone(),
        rectify_note: task.rectify_note.clone(),
        follow_up_result: task
            .follow_up_result
            .map(|r| tr.t(&format!("rating.page.follow_up_result.{}", r.code()))),
        follow_up_note: task.follow_up_note.clone(),
        history: view
            .history
            .iter()
            .map(|e| HistoryRow {
                at: page.local_time(&e.at),
                actor: e.actor.clone(),
                to: status_name(tr, e.to),
                note: e.note.clone(),
            })
            .collect(),
        appeal: view.appeal.as_ref().map(|a| AppealRow {
            ground: tr.t(&format!("rating.page.ground.{}", a.ground.code())),
            reason: a.reason.clone(),
            filed_at: page.local_time(&a.filed_at),
            status: tr.t(&format!("rating.page.appeal_state.{}", a.status.code())),
            decision_note: a.decision_note.clone(),
        }),
        can_appeal: handler && open && task.appeal == AppealState::None,
        can_decide: supervisor && task.appeal == AppealState::Pending,
        errors: outcome.errors,
        refused: outcome.refused,
        done: outcome.done,
        notes,
        max_note: MAX_NOTE_CHARS,
        max_days: MAX_REPLY_DAYS,
        page,
    })?;
    *response.status_mut() = outcome.status;
    Ok(response)
}

pub(super) async fn task(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    IdPath(id): IdPath<i64>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let done = query.done.as_deref().and_then(|d| {
        Some(match d {
            "verify" => "rating.page.task.done_verify",
            "rectify" => "rating.page.task.done_rectify",
            "follow-up" => "rating.page.task.done_follow_up",
            "close" => "rating.page.task.done_close",
            "appeal" => "rating.page.task.done_appeal",
            "decision" => "rating.page.task.done_decision",
            "urge" => "rating.page.task.done_urge",
            _ => return None,
        })
    });
    task_page(
        &state,
        page,
        &caller,
        id,
        TaskNotes::default(),
        Outcome {
            errors: FormErrors::default(),
            refused: None,
            done,
            status: StatusCode::OK,
        },
    )
    .await
}

/// One of the task's actions: `verify`, `rectify`, `follow-up`, `close`, `appeal`, `decision`,
/// `urge`. A refusal comes back on the task's page: a missing note or choice on its field (422), a
/// state that does not allow the action as a message (409).
pub(super) async fn act(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath((id, action)): IdPath<(i64, String)>,
    CsrfForm(notes): CsrfForm<TaskNotes>,
) -> Result<Response, AppError> {
    let ratings = state.ratings();
    let who = &caller.principal;
    let task = RectificationId::new(id);
    let src = source(&meta);
    let tr = page.tr;
    let result: Result<(), (String, RatingError)> = match action.as_str() {
        "verify" => ratings
            .verify(who, task, &notes.note, &src)
            .await
            .map(drop)
            .map_err(|e| ("note".to_owned(), e)),
        "rectify" => ratings
            .rectify(who, task, &notes.note, &src)
            .await
            .map(drop)
            .map_err(|e| ("note".to_owned(), e)),
        "follow-up" => {
            let Some(result) = FollowUpResult::from_code(notes.result.trim()) else {
                let errors =
                    FormErrors::one("result", tr.t("rating.page.task.need_result").to_owned());
                return refused_page(
                    &state,
                    page,
                    &caller,
                    id,
                    notes,
                    errors,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            };
            ratings
                .follow_up(who, task, result, &notes.note, &src)
                .await
                .map(drop)
                .map_err(|e| ("note".to_owned(), e))
        }
        "close" => ratings
            .close(who, task, &src)
            .await
            .map(drop)
            .map_err(|e| ("note".to_owned(), e)),
        "appeal" => {
            let Some(ground) = AppealGround::from_code(notes.ground.trim()) else {
                let errors =
                    FormErrors::one("ground", tr.t("rating.page.task.need_ground").to_owned());
                return refused_page(
                    &state,
                    page,
                    &caller,
                    id,
                    notes,
                    errors,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            };
            ratings
                .appeal(who, task, ground, &notes.reason, &src)
                .await
                .map(drop)
                .map_err(|e| ("reason".to_owned(), e))
        }
        "decision" => {
            let uphold = match notes.result.as_str() {
                "uphold" => true,
                "reject" => false,
                _ => {
                    let errors = FormErrors::one(
                        "decision_result",
                        tr.t("rating.page.task.need_decision").to_owned(),
                    );
                    return refused_page(
                        &state,
                        page,
                        &caller,
                        id,
                        notes,
                        errors,
                        None,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            };
            ratings
                .decide_appeal(who, task, uphold, &notes.decision, &src)
                .await
                .map(drop)
                .map_err(|e| ("decision".to_owned(), e))
        }
        "urge" => {
            let days = notes.reply_days.trim().parse::<u32>().unwrap_or(0);
            ratings
                .urge(
                    who,
                    yiwang_ratings::model::SubjectKind::Rectification,
                    id,
                    &notes.note,
                    days,
                    &src,
                )
                .await
                .map(drop)
                .map_err(|e| ("urge_note".to_owned(), e))
        }
        _ => return Err(AppError::NotFound),
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/staff/ratings/{id}?done={action}"))),
        Err((field, error)) => {
            let (errors, refused, status) = match &error {
                RatingError::NoteRequired(_) | RatingError::TooLong(_) => (
                    FormErrors::one(&field, rating_message(tr, &error)),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                RatingError::BadReplyDays(_) => (
                    FormErrors::one("reply_days", rating_message(tr, &error)),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                RatingError::WrongState { .. }
                | RatingError::FollowUpRequired
                | RatingError::AppealExists
                | RatingError::AppealNotPending
                | RatingError::Conflict => (
                    FormErrors::default(),
                    Some(rating_message(tr, &error)),
                    StatusCode::CONFLICT,
                ),
                _ => return Err(error.into()),
            };
            refused_page(&state, page, &caller, id, notes, errors, refused, status).await
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from the request or the service"
)]
async fn refused_page(
    state: &AppState,
    page: PageCtx,
    caller: &PageStaff,
    id: i64,
    notes: TaskNotes,
    errors: FormErrors,
    refused: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    task_page(
        state,
        page,
        caller,
        id,
        notes,
        Outcome {
            errors,
            refused,
            done: None,
            status,
        },
    )
    .await
}

// ------------------------------------------------------------------------------- appeals

#[derive(Template)]
#[template(path = "ratings/staff_appeals.html")]
pub(super) struct AppealsPage {
    page: PageCtx,
    rows: Vec<(AppealRow, TaskRow)>,
}

pub(super) async fn appeals(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<InboxQuery>,
) -> Result<Response, AppError> {
    let found = state
        .ratings()
        .pending_appeals(&caller.principal, page_request(query.page)?)
        .await?;
    let tr = page.tr;
    let now = state.clock().now();
    let rows = found
        .iter()
        .map(|(a, t)| {
            (
                AppealRow {
                    ground: tr.t(&format!("rating.page.ground.{}", a.ground.code())),
                    reason: a.reason.clone(),
                    filed_at: page.local_time(&a.filed_at),
                    status: tr.t(&format!("rating.page.appeal_state.{}", a.status.code())),
                    decision_note: a.decision_note.clone(),
                },
                task_row(&page, t, now),
            )
        })
        .collect();
    render(&AppealsPage { page, rows })
}

// ------------------------------------------------------------------------------- urgings

/// An urging as the list shows it.
#[derive(Debug)]
pub struct UrgingRow {
    pub id: i64,
    pub subject: String,
    pub href: Option<String>,
    pub note: String,
    pub urged_at: String,
    pub reply_due: String,
    pub reply: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct UrgeForm {
    subject_kind: String,
    subject_id: String,
    note: String,
    reply_days: String,
    reply: String,
}

#[derive(Template)]
#[template(path = "ratings/staff_urgings.html")]
pub(super) struct UrgingsPage {
    page: PageCtx,
    csrf: String,
    rows: Vec<UrgingRow>,
    total: u64,
    pager: Vec<PageLink>,
    supervisor: bool,
    form: UrgeForm,
    errors: FormErrors,
    done: Option<&'static str>,
    max_note: usize,
    max_days: u32,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from the request or the service"
)]
async fn urgings_page(
    state: &AppState,
    page: PageCtx,
    caller: &PageStaff,
    request_page: Option<u32>,
    form: UrgeForm,
    errors: FormErrors,
    done: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let Principal::Staff(staff) = &caller.principal else {
        return Err(AppError::NotFound);
    };
    let found = state
        .ratings()
        .department_urgings(
            &caller.principal,
            staff.department,
            page_request(request_page)?,
        )
        .await?;
    let tr = page.tr;
    let rows = found
        .items
        .iter()
        .map(|u| UrgingRow {
            id: u.id.get(),
            subject: format!(
                "{} {}",
                tr.t(&format!("rating.page.subject.{}", u.subject_kind.code())),
                u.subject_id
            ),
            href: (u.subject_kind == yiwang_ratings::model::SubjectKind::Rectification)
                .then(|| format!("/staff/ratings/{}", u.subject_id)),
            note: u.note.clone(),
            urged_at: page.local_time(&u.urged_at),
            reply_due: u.reply_due_on.to_string(),
            reply: u.reply.clone(),
        })
        .collect();
    let mut response = render(&UrgingsPage {
        csrf: caller.session().csrf_token.clone(),
        rows,
        total: found.total,
        pager: pager("/staff/ratings/urgings", &[], &found),
        supervisor: is_supervisor(&caller.principal),
        form,
        errors,
        done,
        max_note: MAX_NOTE_CHARS,
        max_days: MAX_REPLY_DAYS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct UrgingsQuery {
    page: Option<u32>,
    done: Option<String>,
}

pub(super) async fn urgings(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<UrgingsQuery>,
) -> Result<Response, AppError> {
    let done = match query.done.as_deref() {
        Some("urged") => Some("rating.page.urge.done_urged"),
        Some("replied") => Some("rating.page.urge.done_replied"),
        _ => None,
    };
    let form = UrgeForm {
        reply_days: "3".to_owned(),
        ..UrgeForm::default()
    };
    urgings_page(
        &state,
        page,
        &caller,
        query.page,
        form,
        FormErrors::default(),
        done,
        StatusCode::OK,
    )
    .await
}

pub(super) async fn urge(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    CsrfForm(form): CsrfForm<UrgeForm>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let subject = urging_subject(
        &state,
        &caller.principal,
        &form.subject_kind,
        &form.subject_id,
    )
    .await;
    let (kind, subject_id) = match subject {
        Ok(found) => found,
        Err(AppError::NotFound) => {
            let errors = FormErrors::one(
                "subject_id",
                rating_message(tr, &RatingError::EventNotFound),
            );
            return urgings_page(
                &state,
                page,
                &caller,
                None,
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(AppError::Invalid { field, message, .. }) => {
            let errors = FormErrors::one(&field, message);
            return urgings_page(
                &state,
                page,
                &caller,
                None,
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return Err(other),
    };
    let days = form.reply_days.trim().parse::<u32>().unwrap_or(0);
    let result = state
        .ratings()
        .urge(
            &caller.principal,
            kind,
            subject_id,
            &form.note,
            days,
            &source(&meta),
        )
        .await;
    match result {
        Ok(_) => Ok(see_other("/staff/ratings/urgings?done=urged")),
        Err(error) => {
            let field = match &error {
                RatingError::NoteRequired(_) | RatingError::TooLong(_) => "note",
                RatingError::BadReplyDays(_) => "reply_days",
                RatingError::EventNotFound => "subject_id",
                _ => return Err(error.into()),
            };
            let errors = FormErrors::one(field, rating_message(tr, &error));
            urgings_page(
                &state,
                page,
                &caller,
                None,
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub(super) async fn reply_urging(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    CsrfForm(form): CsrfForm<UrgeForm>,
) -> Result<Response, AppError> {
    let result = state
        .ratings()
        .reply_urging(
            &caller.principal,
            UrgingId::new(id),
            &form.reply,
            &source(&meta),
        )
        .await;
    match result {
        Ok(_) => Ok(see_other("/staff/ratings/urgings?done=replied")),
        Err(error @ (RatingError::NoteRequired(_) | RatingError::TooLong(_))) => {
            let errors = FormErrors::one(&format!("reply-{id}"), rating_message(page.tr, &error));
            urgings_page(
                &state,
                page,
                &caller,
                None,
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error @ RatingError::UrgingReplied) => Err(AppError::Conflict {
            field: "reply".to_owned(),
            code: yiwang_kernel::ErrorCode::code(&error).to_owned(),
        }),
        Err(error) => Err(error.into()),
    }
}
