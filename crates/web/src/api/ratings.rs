//! Ratings (好差评) over JSON: a person rates a service event they were served in (a concluded
//! case, a served ticket, a kept appointment) once, adds one 追评, lists their ratings; anyone rates
//! through an SMS link without logging in, reads the tags of a level and the monthly disclosure;
//! the department's handlers work the rectification of 差评 (verify, rectify, follow-up, close,
//! appeal); supervisors decide appeals and urge (督办) departments, which reply.
//!
//! Events are named by the id their own API shows: a case by its public id or case number, a
//! ticket or a booking by its number id. An event the caller was not served in is 404 like one that
//! does not exist.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ErrorCode as _, PageRequest, RegionCode};
use yiwang_ratings::model::{
    Appeal, AppealGround, Channel, DisclosedBad, EventKind, EventRef, FollowUpResult, HandlerView,
    MonthFigures, RatingView, RectEvent, Rectification, RectificationId, SubjectKind, Tag, Urging,
    UrgingId,
};
use yiwang_ratings::service::{LinkRating, MAX_NOTE_CHARS, MAX_TAGS, MAX_TEXT_CHARS};
use yiwang_ratings::token::MAX_TOKEN_CHARS;
use yiwang_ratings::{NewRating, Ratings};

use crate::api::{ApiErrorBody, ApiQuery};
use crate::auth::Client;
use crate::error::{AppError, invalid};
use crate::extract::{ApiPerson, ApiStaff, IdPath};
use crate::state::AppState;

/// Longest event id a caller may send (a case's public id or number, a ticket's or booking's id).
pub const MAX_EVENT_ID_CHARS: usize = 64;
/// Length of a month, `YYYY-MM`.
pub const MONTH_CHARS: usize = 7;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/ratings", post(rate))
        .route("/api/v1/ratings/link", post(rate_by_link))
        .route("/api/v1/ratings/phone", post(rate_by_phone))
        .route("/api/v1/ratings/tags", get(tags))
        .route("/api/v1/ratings/disclosure", get(disclosure))
        .route("/api/v1/ratings/{id}/follow-up", post(follow_up_comment))
        .route("/api/v1/me/ratings", get(my_ratings))
        .route("/api/v1/rectifications", get(department_tasks))
        .route("/api/v1/rectifications/{id}", get(rectification))
        .route("/api/v1/rectifications/{id}/verify", post(verify))
        .route("/api/v1/rectifications/{id}/rectify", post(rectify))
        .route("/api/v1/rectifications/{id}/follow-up", post(follow_up))
        .route("/api/v1/rectifications/{id}/close", post(close))
        .route("/api/v1/rectifications/{id}/appeal", post(appeal))
        .route(
            "/api/v1/rectifications/{id}/appeal/decision",
            post(decide_appeal),
        )
        .route("/api/v1/rating-appeals", get(pending_appeals))
        .route("/api/v1/urgings", get(my_urgings).post(urge))
        .route("/api/v1/urgings/{id}/reply", post(reply_urging))
}

fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("api:{}", meta.ip)
}

fn too_long(field: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.chars().nth(max).is_some() {
        Err(invalid(
            field,
            "rating_text_too_long",
            &format!("{field} has more than {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// Maps an event named by its public id to the rated event: a case through the cases service (the
/// caller must be able to see it), a ticket or a booking by its id. Anything else is not found.
pub async fn event_ref(
    state: &AppState,
    principal: &Principal,
    kind: &str,
    id: &str,
) -> Result<EventRef, AppError> {
    let kind = EventKind::from_code(kind.trim()).ok_or_else(|| {
        invalid(
            "event.kind",
            "rating_bad_event_kind",
            "kind is case, ticket, booking or request",
        )
    })?;
    if id.chars().nth(MAX_EVENT_ID_CHARS).is_some() {
        return Err(AppError::NotFound);
    }
    let id = match kind {
        EventKind::Case => state
            .cases()
            .find(principal, id)
            .await?
            .ok_or(AppError::NotFound)?
            .get(),
        _ => id.trim().parse::<i64>().map_err(|_| AppError::NotFound)?,
    };
    Ok(EventRef { kind, id })
}

/// The current month in China, `YYYY-MM`.
pub fn this_month(state: &AppState) -> String {
    yiwang_kernel::clock::china_date(state.clock().now())
        .format("%Y-%m")
        .to_string()
}

/// The region of a disclosure: the given code or the platform's region.
pub fn region_or_platform(state: &AppState, region: Option<&str>) -> Result<RegionCode, AppError> {
    let code = region
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(&state.config().region_code);
    if code.len() > super::MAX_REGION_FILTER_DIGITS {
        return Err(invalid(
            "region",
            "region_filter_invalid",
            "region has six digits",
        ));
    }
    RegionCode::parse(code).map_err(|e| invalid("region", "region_filter_invalid", &e.to_string()))
}

// ------------------------------------------------------------------------------------- bodies

/// The event rated: its kind and the id its own API shows.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct EventIn {
    /// `case`, `ticket`, `booking` or `request`.
    pub kind: String,
    /// A case's public id or case number; a ticket's or booking's id (as a number or text).
    #[schema(value_type = String)]
    pub id: IdValue,
}

/// An id given as a number or as text.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IdValue {
    Number(i64),
    Text(String),
}

impl Default for IdValue {
    fn default() -> Self {
        IdValue::Text(String::new())
    }
}

impl IdValue {
    fn text(&self) -> String {
        match self {
            IdValue::Number(n) => n.to_string(),
            IdValue::Text(t) => t.clone(),
        }
    }
}

/// A rating: level 1 非常满意 … 5 非常不满意, tags of that level (codes or Chinese labels, at
/// most 8), text up to 500 characters.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RateBody {
    pub event: EventIn,
    pub level: u8,
    pub tags: Vec<String>,
    pub text: String,
}

/// A rating through an SMS link (the link's token names the event and the person).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct LinkRateBody {
    pub token: String,
    pub level: u8,
    pub tags: Vec<String>,
    pub text: String,
}

/// A text: a 追评, a note, a reply.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TextBody {
    pub text: String,
}

/// The 回访 result and what the rater said.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct FollowUpBody {
    /// `satisfied` or `unsatisfied`.
    pub result: String,
    pub text: String,
}

/// An appeal (申诉): `malicious` or `unrelated`, with the reason.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AppealBody {
    pub ground: String,
    pub reason: String,
}

/// A supervisor's decision on an appeal.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct DecisionBody {
    pub uphold: bool,
    pub text: String,
}

/// An urging (督办): the subject (`rectification` with its id, `case` with its public id or
/// number), the note and the reply period in working days (1–30).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UrgeBody {
    pub subject_kind: String,
    #[schema(value_type = String)]
    pub subject_id: IdValue,
    pub note: String,
    pub reply_days: u32,
}

/// The event of a rating, as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub kind: String,
    /// What was rated, in words (item and case number, hall and ticket, appointment code).
    pub label: String,
}

/// A rating.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingOut {
    pub id: String,
    pub event: EventOut,
    /// 1 非常满意 … 5 非常不满意.
    pub level: u8,
    pub level_name: String,
    /// Tag codes.
    pub tags: Vec<String>,
    pub text: String,
    pub channel: String,
    pub department: String,
    pub item_name: String,
    /// The rater, masked (张*三).
    pub rater: String,
    #[schema(value_type = String, format = DateTime)]
    pub rated_at: DateTime<Utc>,
    /// The 追评, once given.
    pub follow_up: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub follow_up_at: Option<DateTime<Utc>>,
    /// Left out of the figures after an upheld appeal.
    pub excluded: bool,
}

impl From<RatingView> for RatingOut {
    fn from(r: RatingView) -> Self {
        Self {
            id: r.public_id,
            event: EventOut {
                kind: r.event.kind.code().to_owned(),
                label: r.event_label,
            },
            level: r.level.code(),
            level_name: r.level.zh().to_owned(),
            tags: r.tags,
            text: r.text,
            channel: r.channel.code().to_owned(),
            department: r.department_name,
            item_name: r.item_name,
            rater: r.rater_name,
            rated_at: r.rated_at,
            follow_up: r.follow_up,
            follow_up_at: r.follow_up_at,
            excluded: r.excluded,
        }
    }
}

/// A page of ratings.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingList {
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub items: Vec<RatingOut>,
}

/// A reason tag and the levels it fits.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagOut {
    pub code: String,
    pub label: String,
    pub min_level: u8,
    pub max_level: u8,
}

impl From<&Tag> for TagOut {
    fn from(t: &Tag) -> Self {
        Self {
            code: t.code.to_owned(),
            label: t.zh.to_owned(),
            min_level: t.levels.0,
            max_level: t.levels.1,
        }
    }
}

/// The figures of a region, a region within it or a department for a month.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresOut {
    pub key: String,
    pub name: String,
    /// Ratings by level, 非常满意 first.
    pub by_level: Vec<u64>,
    pub total: u64,
    /// (非常满意 + 满意) / all; `null` without ratings.
    pub satisfaction_rate: Option<f64>,
    /// 差评 (levels 4–5).
    pub bad: u64,
    /// 差评 rectified by their deadline.
    pub rectified_on_time: u64,
}

impl From<MonthFigures> for FiguresOut {
    fn from(f: MonthFigures) -> Self {
        Self {
            key: f.key,
            name: f.name,
            by_level: f.by_level.to_vec(),
            total: f.total,
            satisfaction_rate: f.satisfaction_rate,
            bad: f.bad,
            rectified_on_time: f.rectified_on_time,
        }
    }
}

/// A disclosed 差评 with its rectification (rater masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct BadOut {
    #[schema(value_type = String, format = DateTime)]
    pub rated_at: DateTime<Utc>,
    pub department: String,
    pub event: String,
    pub level: u8,
    pub tags: Vec<String>,
    pub text: String,
    pub rater: String,
    pub status: String,
    #[schema(value_type = String, format = Date)]
    pub rectify_due_on: NaiveDate,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub rectified_at: Option<DateTime<Utc>>,
    pub rectify_note: String,
    pub on_time: bool,
}

impl From<DisclosedBad> for BadOut {
    fn from(b: DisclosedBad) -> Self {
        Self {
            rated_at: b.rated_at,
            department: b.department_name,
            event: b.event_label,
            level: b.level.code(),
            tags: b.tags,
            text: b.text,
            rater: b.rater_name,
            status: b.status.code().to_owned(),
            rectify_due_on: b.rectify_due_on,
            rectified_at: b.rectified_at,
            rectify_note: b.rectify_note,
            on_time: b.on_time,
        }
    }
}

/// The public monthly disclosure of a region: totals, regions within it, departments, and a page
/// of its 差评.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureOut {
    pub month: String,
    pub region: String,
    pub total: FiguresOut,
    pub regions: Vec<FiguresOut>,
    pub departments: Vec<FiguresOut>,
    pub bad_total: u64,
    pub bad: Vec<BadOut>,
}

/// A rectification task (差评整改).
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationOut {
    pub id: i64,
    pub rating: RatingOut,
    /// `verifying` 待核实, `rectifying` 整改中, `rectified` 已整改, `follow_up` 回访, `closed` 办结.
    pub status: String,
    #[schema(value_type = String, format = Date)]
    pub contact_due_on: NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub rectify_due_on: NaiveDate,
    pub contact_note: String,
    pub rectify_note: String,
    pub follow_up_result: Option<String>,
    pub follow_up_note: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub rectified_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<Utc>>,
    /// `none`, `pending`, `upheld` or `rejected`.
    pub appeal: String,
    /// Past a deadline now.
    pub overdue: bool,
}

impl RectificationOut {
    fn new(t: Rectification, now: DateTime<Utc>) -> Self {
        Self {
            id: t.id.get(),
            overdue: t.is_overdue(now),
            status: t.status.code().to_owned(),
            contact_due_on: t.contact_due_on,
            rectify_due_on: t.rectify_due_on,
            contact_note: t.contact_note,
            rectify_note: t.rectify_note,
            follow_up_result: t.follow_up_result.map(|r| r.code().to_owned()),
            follow_up_note: t.follow_up_note,
            rectified_at: t.rectified_at,
            closed_at: t.closed_at,
            appeal: t.appeal.code().to_owned(),
            rating: t.rating.into(),
        }
    }
}

/// A page of rectification tasks.
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationList {
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub items: Vec<RectificationOut>,
}

/// One line of a task's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryOut {
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from: String,
    pub to: String,
    pub note: String,
}

impl From<RectEvent> for HistoryOut {
    fn from(e: RectEvent) -> Self {
        Self {
            at: e.at,
            actor: e.actor,
            action: e.action,
            from: e.from.code().to_owned(),
            to: e.to.code().to_owned(),
            note: e.note,
        }
    }
}

/// An appeal (申诉).
#[derive(Debug, Serialize, ToSchema)]
pub struct AppealOut {
    pub ground: String,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub filed_at: DateTime<Utc>,
    /// `pending`, `upheld` or `rejected`.
    pub status: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: String,
}

impl From<Appeal> for AppealOut {
    fn from(a: Appeal) -> Self {
        Self {
            ground: a.ground.code().to_owned(),
            reason: a.reason,
            filed_at: a.filed_at,
            status: a.status.code().to_owned(),
            decided_at: a.decided_at,
            decision_note: a.decision_note,
        }
    }
}

/// One task as its handlers see it: the rater's name and mobile in full (to contact them; masked
/// for supervisors), the history and the appeal.
#[derive(Debug, Serialize, ToSchema)]
pub struct RectificationDetail {
    pub task: RectificationOut,
    pub rater_name: String,
    pub rater_mobile: String,
    pub history: Vec<HistoryOut>,
    pub appeal: Option<AppealOut>,
}

/// A pending appeal with its task.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingAppealOut {
    pub appeal: AppealOut,
    pub task: RectificationOut,
}

/// An urging (督办) and its reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct UrgingOut {
    pub id: i64,
    pub subject_kind: String,
    pub subject_id: i64,
    pub note: String,
    #[schema(value_type = String, format = Date)]
    pub reply_due_on: NaiveDate,
    #[schema(value_type = String, format = DateTime)]
    pub urged_at: DateTime<Utc>,
    pub reply: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<DateTime<Utc>>,
}

impl From<Urging> for UrgingOut {
    fn from(u: Urging) -> Self {
        Self {
            id: u.id.get(),
            subject_kind: u.subject_kind.code().to_owned(),
            subject_id: u.subject_id,
            note: u.note,
            reply_due_on: u.reply_due_on,
            urged_at: u.urged_at,
            reply: u.reply,
            replied_at: u.replied_at,
        }
    }
}

// ------------------------------------------------------------------------------------- queries

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

impl PageQuery {
    fn request(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.page, self.page_size)
            .map_err(|e| invalid("page", e.code(), &e.to_string()))
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    /// 1 非常满意 … 5 非常不满意; without it, every tag.
    pub level: Option<i64>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DisclosureQuery {
    /// Six-digit region code; the platform's region by default.
    pub region: Option<String>,
    /// `YYYY-MM`; this month by default.
    pub month: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct TaskQuery {
    /// Every task instead of the open ones only.
    pub all: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

/// Checks a month parameter, `YYYY-MM`; `None` is this month.
pub fn month_param(state: &AppState, month: Option<&str>) -> Result<String, AppError> {
    match month.map(str::trim).filter(|m| !m.is_empty()) {
        None => Ok(this_month(state)),
        Some(m) if m.chars().nth(MONTH_CHARS).is_some() => {
            Err(invalid("month", "rating_bad_range", "month is YYYY-MM"))
        }
        Some(m) => Ok(yiwang_ratings::service::parse_month(m)?),
    }
}

// ------------------------------------------------------------------------------------- people

/// Rate a service event the caller was served in: once per event (一次一评). A 差评 (level 4–5)
/// opens its rectification task.
#[utoipa::path(post, path = "/api/v1/ratings", tag = "ratings", request_body = RateBody,
    responses((status = 201, body = RatingOut),
        (status = 404, body = ApiErrorBody, description = "no such ended event, or the caller was not served in it"),
        (status = 409, body = ApiErrorBody, description = "`already_rated`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `level`, `tags`, `text` or `event.kind`")))]
async fn rate(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    Json(body): Json<RateBody>,
) -> Result<(StatusCode, Json<RatingOut>), AppError> {
    let input = new_rating(&state, &who.principal, body).await?;
    let rating = state
        .ratings()
        .rate(&who.principal, &input, Channel::Api, &source(&meta))
        .await?;
    Ok((StatusCode::CREATED, Json(rating.into())))
}

/// A rating body checked (text and tag bounds) and its event named as the caller may name it.
async fn new_rating(
    state: &AppState,
    principal: &Principal,
    body: RateBody,
) -> Result<NewRating, AppError> {
    too_long("text", &body.text, MAX_TEXT_CHARS)?;
    if body.tags.len() > MAX_TAGS {
        return Err(invalid("tags", "rating_too_many_tags", "at most 8 tags"));
    }
    let event = event_ref(state, principal, &body.event.kind, &body.event.id.text()).await?;
    Ok(NewRating {
        event,
        level: body.level,
        tags: body.tags,
        text: body.text,
    })
}

/// Staff enter a rating the person served gave on the phone (channel `phone`, the staff member
/// recorded): window staff and department administrators for their department's events, hotline
/// operators for any department's.
#[utoipa::path(post, path = "/api/v1/ratings/phone", tag = "ratings", request_body = RateBody,
    responses((status = 201, body = RatingOut),
        (status = 403, body = ApiErrorBody, description = "not a role that enters phone ratings"),
        (status = 404, body = ApiErrorBody, description = "no such ended event the caller's department answers for"),
        (status = 409, body = ApiErrorBody, description = "`already_rated`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `level`, `tags`, `text` or `event.kind`")))]
async fn rate_by_phone(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Json(body): Json<RateBody>,
) -> Result<(StatusCode, Json<RatingOut>), AppError> {
    let input = new_rating(&state, &who.principal, body).await?;
    let rating = state
        .ratings()
        .rate_by_phone_for_event(&who.principal, &input, &source(&meta))
        .await?;
    Ok((StatusCode::CREATED, Json(rating.into())))
}

/// Rate through an SMS invitation's one-use link, without logging in.
#[utoipa::path(post, path = "/api/v1/ratings/link", tag = "ratings", request_body = LinkRateBody,
    responses((status = 201, body = RatingOut),
        (status = 404, body = ApiErrorBody, description = "the link's event no longer exists"),
        (status = 409, body = ApiErrorBody, description = "`already_rated`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `token` (invalid, expired or used), `level`, `tags` or `text`")))]
async fn rate_by_link(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<LinkRateBody>,
) -> Result<(StatusCode, Json<RatingOut>), AppError> {
    if body.token.chars().nth(MAX_TOKEN_CHARS).is_some() {
        return Err(invalid(
            "token",
            "rating_token_invalid",
            "the link is not valid",
        ));
    }
    too_long("text", &body.text, MAX_TEXT_CHARS)?;
    if body.tags.len() > MAX_TAGS {
        return Err(invalid("tags", "rating_too_many_tags", "at most 8 tags"));
    }
    let rating = state
        .ratings()
        .rate_by_link(
            &body.token,
            &LinkRating {
                level: body.level,
                tags: body.tags,
                text: body.text,
            },
            &source(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(rating.into())))
}

/// Add the one 追评 to the caller's rating, within the period after rating.
#[utoipa::path(post, path = "/api/v1/ratings/{id}/follow-up", tag = "ratings", request_body = TextBody,
    params(("id" = String, Path, description = "the rating's id")),
    responses((status = 200, body = RatingOut),
        (status = 404, body = ApiErrorBody, description = "no rating of the caller has this id"),
        (status = 409, body = ApiErrorBody, description = "`rating_follow_up_given` or `rating_follow_up_closed`")))]
async fn follow_up_comment(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<TextBody>,
) -> Result<Json<RatingOut>, AppError> {
    if id.len() > MAX_EVENT_ID_CHARS {
        return Err(AppError::NotFound);
    }
    too_long("text", &body.text, MAX_TEXT_CHARS)?;
    let rating = state
        .ratings()
        .add_follow_up(&who.principal, &id, &body.text, &source(&meta))
        .await?;
    Ok(Json(rating.into()))
}

/// The caller's ratings, newest first.
#[utoipa::path(get, path = "/api/v1/me/ratings", tag = "ratings", params(PageQuery),
    responses((status = 200, body = RatingList)))]
async fn my_ratings(
    State(state): State<AppState>,
    who: ApiPerson,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<RatingList>, AppError> {
    let page = state
        .ratings()
        .my_ratings(&who.principal, query.request()?)
        .await?;
    Ok(Json(RatingList {
        total: page.total,
        page: page.page,
        page_size: page.page_size,
        items: page.items.into_iter().map(RatingOut::from).collect(),
    }))
}

/// The reason tags that fit a level (all tags without one).
#[utoipa::path(get, path = "/api/v1/ratings/tags", tag = "ratings", params(TagQuery),
    responses((status = 200, body = Vec<TagOut>), (status = 422, body = ApiErrorBody)))]
async fn tags(ApiQuery(query): ApiQuery<TagQuery>) -> Result<Json<Vec<TagOut>>, AppError> {
    let tags = match query.level {
        None => yiwang_ratings::model::TAGS.iter().collect(),
        Some(level) => Ratings::tags_for(u8::try_from(level).unwrap_or(0))?,
    };
    Ok(Json(tags.into_iter().map(TagOut::from).collect()))
}

/// The public monthly figures of a region (ratings by level, satisfaction rate, 差评, rectified on
/// time) with its 差评 and their rectification, raters masked.
#[utoipa::path(get, path = "/api/v1/ratings/disclosure", tag = "ratings", params(DisclosureQuery),
    responses((status = 200, body = DisclosureOut), (status = 422, body = ApiErrorBody)))]
async fn disclosure(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DisclosureQuery>,
) -> Result<Json<DisclosureOut>, AppError> {
    let region = region_or_platform(&state, query.region.as_deref())?;
    let month = month_param(&state, query.month.as_deref())?;
    let page = PageRequest::new(query.page, query.page_size)
        .map_err(|e| invalid("page", e.code(), &e.to_string()))?;
    let ratings = state.ratings();
    let figures = ratings.disclosure(&region, &month).await?;
    let bad = ratings.disclosed_bad(&region, &month, None, page).await?;
    Ok(Json(DisclosureOut {
        month: figures.month,
        region: region.as_str().to_owned(),
        total: figures.total.into(),
        regions: figures.regions.into_iter().map(FiguresOut::from).collect(),
        departments: figures
            .departments
            .into_iter()
            .map(FiguresOut::from)
            .collect(),
        bad_total: bad.total,
        bad: bad.items.into_iter().map(BadOut::from).collect(),
    }))
}

// ------------------------------------------------------------------------------------- staff

/// The caller's department's rectification tasks (open ones by deadline; `all=true` for every
/// task).
#[utoipa::path(get, path = "/api/v1/rectifications", tag = "ratings", params(TaskQuery),
    responses((status = 200, body = RectificationList)))]
async fn department_tasks(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<TaskQuery>,
) -> Result<Json<RectificationList>, AppError> {
    let page = PageRequest::new(query.page, query.page_size)
        .map_err(|e| invalid("page", e.code(), &e.to_string()))?;
    let tasks = state
        .ratings()
        .department_tasks(&who.principal, !query.all.unwrap_or(false), page)
        .await?;
    let now = state.clock().now();
    Ok(Json(RectificationList {
        total: tasks.total,
        page: tasks.page,
        page_size: tasks.page_size,
        items: tasks
            .items
            .into_iter()
            .map(|t| RectificationOut::new(t, now))
            .collect(),
    }))
}

fn detail(view: HandlerView, now: DateTime<Utc>) -> RectificationDetail {
    RectificationDetail {
        task: RectificationOut::new(view.task, now),
        rater_name: view.rater_name,
        rater_mobile: view.rater_mobile,
        history: view.history.into_iter().map(HistoryOut::from).collect(),
        appeal: view.appeal.map(AppealOut::from),
    }
}

/// One task: its handlers see the rater's name and mobile (to contact them), supervisors masked.
#[utoipa::path(get, path = "/api/v1/rectifications/{id}", tag = "ratings", params(("id" = i64, Path)),
    responses((status = 200, body = RectificationDetail),
        (status = 404, body = ApiErrorBody, description = "no such task the caller may see")))]
async fn rectification(
    State(state): State<AppState>,
    who: ApiStaff,
    IdPath(id): IdPath<i64>,
) -> Result<Json<RectificationDetail>, AppError> {
    let view = state
        .ratings()
        .rectification(&who.principal, RectificationId::new(id))
        .await?;
    Ok(Json(detail(view, state.clock().now())))
}

/// The department's action on a task, answered with the task as stored.
async fn act(
    state: &AppState,
    action: impl Future<Output = Result<Rectification, yiwang_ratings::RatingError>>,
) -> Result<Json<RectificationOut>, AppError> {
    Ok(Json(RectificationOut::new(
        action.await?,
        state.clock().now(),
    )))
}

/// 核实: the rating is verified and the rater contacted (note required).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/verify", tag = "ratings", params(("id" = i64, Path)),
    request_body = TextBody,
    responses((status = 200, body = RectificationOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "the task's state does not allow it")))]
async fn verify(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    Json(body): Json<TextBody>,
) -> Result<Json<RectificationOut>, AppError> {
    too_long("text", &body.text, MAX_NOTE_CHARS)?;
    let src = source(&meta);
    let action = state
        .ratings()
        .verify(&who.principal, RectificationId::new(id), &body.text, &src);
    act(&state, action).await
}

/// 整改: what was done (note required).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/rectify", tag = "ratings", params(("id" = i64, Path)),
    request_body = TextBody,
    responses((status = 200, body = RectificationOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "the task's state does not allow it")))]
async fn rectify(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    Json(body): Json<TextBody>,
) -> Result<Json<RectificationOut>, AppError> {
    too_long("text", &body.text, MAX_NOTE_CHARS)?;
    let src = source(&meta);
    let action =
        state
            .ratings()
            .rectify(&who.principal, RectificationId::new(id), &body.text, &src);
    act(&state, action).await
}

/// 回访: the rater's answer (`satisfied` / `unsatisfied`) and note.
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/follow-up", tag = "ratings", params(("id" = i64, Path)),
    request_body = FollowUpBody,
    responses((status = 200, body = RectificationOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "the task's state does not allow it")))]
async fn follow_up(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    Json(body): Json<FollowUpBody>,
) -> Result<Json<RectificationOut>, AppError> {
    too_long("text", &body.text, MAX_NOTE_CHARS)?;
    let result = FollowUpResult::from_code(body.result.trim()).ok_or_else(|| {
        invalid(
            "result",
            "rating_bad_follow_up_result",
            "result is satisfied or unsatisfied",
        )
    })?;
    let src = source(&meta);
    let action = state.ratings().follow_up(
        &who.principal,
        RectificationId::new(id),
        result,
        &body.text,
        &src,
    );
    act(&state, action).await
}

/// 办结: only after the 回访 result is recorded.
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/close", tag = "ratings", params(("id" = i64, Path)),
    responses((status = 200, body = RectificationOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`rectification_follow_up_required` or the state does not allow it")))]
async fn close(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
) -> Result<Json<RectificationOut>, AppError> {
    let src = source(&meta);
    let action = state
        .ratings()
        .close(&who.principal, RectificationId::new(id), &src);
    act(&state, action).await
}

/// 申诉: the department holds the 差评 malicious or unrelated (once per task, before 办结).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/appeal", tag = "ratings", params(("id" = i64, Path)),
    request_body = AppealBody,
    responses((status = 201, body = AppealOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`appeal_exists` or the task is closed")))]
async fn appeal(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    Json(body): Json<AppealBody>,
) -> Result<(StatusCode, Json<AppealOut>), AppError> {
    too_long("reason", &body.reason, MAX_NOTE_CHARS)?;
    let ground = AppealGround::from_code(body.ground.trim()).ok_or_else(|| {
        invalid(
            "ground",
            "rating_bad_appeal_ground",
            "ground is malicious or unrelated",
        )
    })?;
    let appeal = state
        .ratings()
        .appeal(
            &who.principal,
            RectificationId::new(id),
            ground,
            &body.reason,
            &source(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(appeal.into())))
}

/// A supervisor over the department's region decides the pending appeal (never whoever filed it).
#[utoipa::path(post, path = "/api/v1/rectifications/{id}/appeal/decision", tag = "ratings", params(("id" = i64, Path)),
    request_body = DecisionBody,
    responses((status = 200, body = AppealOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`appeal_not_pending`")))]
async fn decide_appeal(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    Json(body): Json<DecisionBody>,
) -> Result<Json<AppealOut>, AppError> {
    too_long("text", &body.text, MAX_NOTE_CHARS)?;
    let appeal = state
        .ratings()
        .decide_appeal(
            &who.principal,
            RectificationId::new(id),
            body.uphold,
            &body.text,
            &source(&meta),
        )
        .await?;
    Ok(Json(appeal.into()))
}

/// Pending appeals within the supervisor's region, oldest first.
#[utoipa::path(get, path = "/api/v1/rating-appeals", tag = "ratings", params(PageQuery),
    responses((status = 200, body = Vec<PendingAppealOut>)))]
async fn pending_appeals(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Vec<PendingAppealOut>>, AppError> {
    let now = state.clock().now();
    let appeals = state
        .ratings()
        .pending_appeals(&who.principal, query.request()?)
        .await?;
    Ok(Json(
        appeals
            .into_iter()
            .map(|(appeal, task)| PendingAppealOut {
                appeal: appeal.into(),
                task: RectificationOut::new(task, now),
            })
            .collect(),
    ))
}

/// 督办: a supervisor urges the department of a rectification or a case to act, with a reply
/// period of 1–30 working days.
#[utoipa::path(post, path = "/api/v1/urgings", tag = "ratings", request_body = UrgeBody,
    responses((status = 201, body = UrgingOut),
        (status = 404, body = ApiErrorBody, description = "no such subject within the supervisor's region")))]
async fn urge(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Json(body): Json<UrgeBody>,
) -> Result<(StatusCode, Json<UrgingOut>), AppError> {
    too_long("note", &body.note, MAX_NOTE_CHARS)?;
    let (kind, id) = urging_subject(
        &state,
        &who.principal,
        &body.subject_kind,
        &body.subject_id.text(),
    )
    .await?;
    let urging = state
        .ratings()
        .urge(
            &who.principal,
            kind,
            id,
            &body.note,
            body.reply_days,
            &source(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(urging.into())))
}

/// The subject of an urging: a rectification by its id, a case by its public id or number.
pub async fn urging_subject(
    state: &AppState,
    principal: &Principal,
    kind: &str,
    id: &str,
) -> Result<(SubjectKind, i64), AppError> {
    let Some(kind @ (SubjectKind::Rectification | SubjectKind::Case)) =
        SubjectKind::from_code(kind.trim())
    else {
        return Err(invalid(
            "subject_kind",
            "urging_bad_subject",
            "subject_kind is rectification or case",
        ));
    };
    if id.chars().nth(MAX_EVENT_ID_CHARS).is_some() {
        return Err(AppError::NotFound);
    }
    let id = match kind {
        SubjectKind::Case => state
            .cases()
            .find(principal, id)
            .await?
            .ok_or(AppError::NotFound)?
            .get(),
        _ => id.trim().parse::<i64>().map_err(|_| AppError::NotFound)?,
    };
    Ok((kind, id))
}

/// The urgings of the caller's department, unanswered first.
#[utoipa::path(get, path = "/api/v1/urgings", tag = "ratings", params(PageQuery),
    responses((status = 200, body = Vec<UrgingOut>)))]
async fn my_urgings(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Vec<UrgingOut>>, AppError> {
    let Principal::Staff(staff) = &who.principal else {
        return Err(AppError::Forbidden {
            code: "forbidden".to_owned(),
        });
    };
    let urgings = state
        .ratings()
        .department_urgings(&who.principal, staff.department, query.request()?)
        .await?;
    Ok(Json(
        urgings.items.into_iter().map(UrgingOut::from).collect(),
    ))
}

/// The urged department's reply (once).
#[utoipa::path(post, path = "/api/v1/urgings/{id}/reply", tag = "ratings", params(("id" = i64, Path)),
    request_body = TextBody,
    responses((status = 200, body = UrgingOut), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`urging_replied`")))]
async fn reply_urging(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<i64>,
    Json(body): Json<TextBody>,
) -> Result<Json<UrgingOut>, AppError> {
    too_long("text", &body.text, MAX_NOTE_CHARS)?;
    let urging = state
        .ratings()
        .reply_urging(
            &who.principal,
            UrgingId::new(id),
            &body.text,
            &source(&meta),
        )
        .await?;
    Ok(Json(urging.into()))
}
