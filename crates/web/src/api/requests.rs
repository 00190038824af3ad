//! Citizen requests (诉求, 12345) over JSON: anyone submits one (a logged-in person, or anonymous
//! with a mobile to be called back), a person follows and rates their own; anyone reads the
//! category tree (派单目录), the knowledge base (知识库) and the public list of answered requests;
//! the hotline centre dispatches (派单), reassigns (改派), merges duplicates and records the 回访;
//! the handling department signs (签收), returns (退单), replies (答复), concludes (办结) and asks
//! for an extension (延期), which a supervisor decides.
//!
//! Requests are named by their public id. What staff get back is the department's view: it has no
//! field for the submitter's name, mobile or account (举报人保密), and the action answers carry
//! the state only.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::model::DepartmentId;
use yiwang_kernel::{ErrorCode as _, PageRequest};
use yiwang_requests::model::{
    Category, Channel, DepartmentView, KnowledgeEntry, NewRequest, PublicRequest, Request,
    RequestKind, Urgency, VisitResult,
};
use yiwang_requests::service::{MAX_NOTE_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
use yiwang_requests::{RequestError, RequestId};

use crate::api::{ApiErrorBody, ApiQuery};
use crate::auth::Client;
use crate::error::{AppError, invalid};
use crate::extract::{ApiMaybeCaller, ApiPerson, ApiStaff, IdPath};
use crate::state::AppState;

/// Longest public id, department code or category code a caller may send.
pub const MAX_KEY_CHARS: usize = 64;
/// Longest knowledge-base search text.
pub const MAX_QUERY_CHARS: usize = 100;
/// Most knowledge-base answers one search returns.
pub const MAX_ANSWERS: usize = 20;
/// Most 协办 departments of one dispatch.
pub const MAX_ASSISTS: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/requests", post(submit))
        .route("/api/v1/requests/answered", get(answered))
        .route("/api/v1/requests/{id}", get(one))
        .route("/api/v1/requests/{id}/rate", post(rate))
        .route("/api/v1/requests/{id}/dispatch", post(dispatch))
        .route("/api/v1/requests/{id}/reassign", post(reassign))
        .route("/api/v1/requests/{id}/sign", post(sign))
        .route("/api/v1/requests/{id}/return", post(return_request))
        .route("/api/v1/requests/{id}/reply", post(reply))
        .route("/api/v1/requests/{id}/conclude", post(conclude))
        .route("/api/v1/requests/{id}/visit", post(visit))
        .route("/api/v1/requests/{id}/extension", post(request_extension))
        .route(
            "/api/v1/requests/{id}/extension/decision",
            post(decide_extension),
        )
        .route("/api/v1/requests/{id}/merge", post(merge))
        .route("/api/v1/me/requests", get(mine))
        .route("/api/v1/request-categories", get(categories))
        .route("/api/v1/request-knowledge", get(knowledge))
        .route("/api/v1/request-inbox", get(inbox))
        .route("/api/v1/request-inbox/{id}", get(department_view))
}

fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("api:{}", meta.ip)
}

fn too_long(field: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.chars().nth(max).is_some() {
        Err(invalid(
            field,
            "request_text_too_long",
            &format!("{field} has more than {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// The request a public id names (404 for an id that is too long or unknown).
async fn request_id(state: &AppState, id: &str) -> Result<RequestId, AppError> {
    if id.chars().nth(MAX_KEY_CHARS).is_some() {
        return Err(AppError::NotFound);
    }
    state.requests().id_of(id).await?.ok_or(AppError::NotFound)
}

/// A department named by its code; an unknown one is 422 on `field`.
async fn department(state: &AppState, field: &str, code: &str) -> Result<DepartmentId, AppError> {
    let unknown = || {
        invalid(
            field,
            "request_unknown_department",
            "no department has this code",
        )
    };
    if code.chars().nth(MAX_KEY_CHARS).is_some() {
        return Err(unknown());
    }
    match yiwang_identity::service::department(state.db(), code.trim()).await {
        Ok(d) => Ok(d.id),
        Err(yiwang_identity::IdentityError::DepartmentNotFound(_)) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------------------------- bodies

/// A request (诉求). `kind`: `consultation` 咨询, `help` 求助, `complaint` 投诉, `report` 举报,
/// `suggestion` 建议, `praise` 表扬. `channel`: `web` (default), `small_business` 小微企业专区 or
/// `petition` 网上信访 (logged in only). `urgency`: `urgent`, `priority`, `normal` (default) or
/// `complex`. `region`: the code of the community (or street, district) where it happened.
/// `contact_mobile` is required when not logged in.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct SubmitBody {
    pub kind: String,
    pub channel: String,
    pub category: String,
    pub region: String,
    pub urgency: String,
    pub title: String,
    pub body: String,
    pub location: String,
    /// WGS-84 degrees, with `latitude`.
    pub longitude: Option<f64>,
    pub latitude: Option<f64>,
    pub contact_name: String,
    pub contact_mobile: String,
}

/// 派单: the lead department's code (by the routing rules when empty), 协办 departments, a note.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct DispatchBody {
    pub lead: String,
    pub assists: Vec<String>,
    pub note: String,
}

/// 改派: the new lead department's code and the reason.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReassignBody {
    pub lead: String,
    pub reason: String,
}

/// A reason (退单).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = RequestReasonBody)]
#[serde(default)]
pub struct ReasonBody {
    pub reason: String,
}

/// A note (办结).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = RequestNoteBody)]
#[serde(default)]
pub struct NoteBody {
    pub note: String,
}

/// The 答复 to the submitter.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReplyBody {
    pub reply: String,
}

/// 回访: `satisfied` or `unsatisfied` (sends it back to the lead department), with a note.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct VisitBody {
    pub result: String,
    pub note: String,
}

/// 评价 by the submitter: 1 to 5, with a comment.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = RequestRateBody)]
#[serde(default)]
pub struct RateBody {
    pub level: u8,
    pub comment: String,
}

/// 延期申请: working days (1 to the configured most) and the reason.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ExtensionBody {
    pub working_days: u32,
    pub reason: String,
}

/// 延期审批.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = RequestDecisionBody)]
#[serde(default)]
pub struct DecisionBody {
    pub approve: bool,
    pub note: String,
}

/// Merge this request into another (its public id) as a duplicate.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MergeBody {
    pub into: String,
}

// ------------------------------------------------------------------------------------- answers

/// A request as its submitter sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub channel: String,
    pub kind: String,
    pub kind_name: String,
    pub category: String,
    pub region: String,
    pub urgency: String,
    pub title: String,
    pub body: String,
    pub location: String,
    /// `received`, `dispatched`, `handling`, `replied`, `concluded`, `visited`, `closed`, `merged`.
    pub status: String,
    pub status_name: String,
    pub contact_name: String,
    /// The contact mobile, masked.
    pub contact_mobile: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<DateTime<Utc>>,
    pub reply: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub concluded_at: Option<DateTime<Utc>>,
    pub rating: Option<u8>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<Request> for RequestOut {
    fn from(r: Request) -> Self {
        Self {
            id: r.public_id,
            channel: r.channel.code().to_owned(),
            kind: r.kind.code().to_owned(),
            kind_name: r.kind.zh().to_owned(),
            category: r.category,
            region: r.region_code,
            urgency: r.urgency.code().to_owned(),
            title: r.title,
            body: r.body,
            location: r.location,
            status: r.status.code().to_owned(),
            status_name: r.status.zh().to_owned(),
            contact_name: r.contact_name,
            contact_mobile: r.contact_mobile_masked,
            due_at: r.due_at,
            reply: r.reply,
            replied_at: r.replied_at,
            concluded_at: r.concluded_at,
            rating: r.rating,
            created_at: r.created_at,
        }
    }
}

/// A submitted request and, for staff of the hotline centre, earlier ones it may duplicate.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmittedOut {
    pub request: RequestOut,
}

/// The state of a request after a staff action (no submitter, no text).
#[derive(Debug, Serialize, ToSchema)]
pub struct StateOut {
    pub id: String,
    pub status: String,
    pub status_name: String,
    /// The lead (主办) department's id.
    pub lead_department: Option<i64>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub return_until: Option<DateTime<Utc>>,
    /// Working days of an extension waiting for approval.
    pub extension_pending: bool,
}

impl From<Request> for StateOut {
    fn from(r: Request) -> Self {
        Self {
            id: r.public_id,
            status: r.status.code().to_owned(),
            status_name: r.status.zh().to_owned(),
            lead_department: r.lead_department.map(DepartmentId::get),
            due_at: r.due_at,
            return_until: r.return_until,
            extension_pending: r.extension.is_some(),
        }
    }
}

/// A department's assignment.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentOut {
    pub department: i64,
    pub department_name: String,
    /// `lead` 主办 or `assist` 协办.
    pub role: String,
    #[schema(value_type = String, format = DateTime)]
    pub assigned_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: String,
    pub opinion: String,
}

/// One history line as a department sees it (no actor).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RequestEventOut)]
pub struct EventOut {
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    pub action: String,
    pub from: String,
    pub to: String,
    pub note: String,
}

/// What a handling department sees: no field for the submitter.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentOut {
    pub id: String,
    pub channel: String,
    pub kind: String,
    pub kind_name: String,
    pub category: String,
    pub region: String,
    pub urgency: String,
    pub title: String,
    pub body: String,
    pub location: String,
    pub status: String,
    pub status_name: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub return_until: Option<DateTime<Utc>>,
    pub reply: String,
    pub assignments: Vec<AssignmentOut>,
    pub history: Vec<EventOut>,
}

impl From<DepartmentView> for DepartmentOut {
    fn from(v: DepartmentView) -> Self {
        Self {
            id: v.public_id,
            channel: v.channel.code().to_owned(),
            kind: v.kind.code().to_owned(),
            kind_name: v.kind.zh().to_owned(),
            category: v.category,
            region: v.region_code,
            urgency: v.urgency.code().to_owned(),
            title: v.title,
            body: v.body,
            location: v.location,
            status: v.status.code().to_owned(),
            status_name: v.status.zh().to_owned(),
            due_at: v.due_at,
            return_until: v.return_until,
            reply: v.reply,
            assignments: v
                .assignments
                .into_iter()
                .map(|a| AssignmentOut {
                    department: a.department.get(),
                    department_name: a.department_name,
                    role: a.role.code().to_owned(),
                    assigned_at: a.assigned_at,
                    ended_at: a.ended_at,
                    end_reason: a.end_reason,
                    opinion: a.opinion,
                })
                .collect(),
            history: v
                .history
                .into_iter()
                .map(|e| EventOut {
                    at: e.at,
                    action: e.action,
                    from: e.from.code().to_owned(),
                    to: e.to.code().to_owned(),
                    note: e.note,
                })
                .collect(),
        }
    }
}

/// A node of the category tree.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RequestCategoryOut)]
pub struct CategoryOut {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

impl From<Category> for CategoryOut {
    fn from(c: Category) -> Self {
        Self {
            code: c.code,
            name: c.name,
            parent: c.parent,
        }
    }
}

/// A knowledge-base answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerOut {
    pub id: i64,
    pub category: String,
    pub question: String,
    pub answer: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<KnowledgeEntry> for AnswerOut {
    fn from(e: KnowledgeEntry) -> Self {
        Self {
            id: e.id.get(),
            category: e.category,
            question: e.question,
            answer: e.answer,
            updated_at: e.updated_at,
        }
    }
}

/// An answered request as anyone may read it: no submitter.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicOut {
    pub id: String,
    pub kind: String,
    pub kind_name: String,
    pub category: String,
    pub category_name: String,
    pub region: String,
    pub title: String,
    pub body: String,
    pub status: String,
    pub status_name: String,
    pub department: Option<String>,
    pub reply: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub replied_at: Option<DateTime<Utc>>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<PublicRequest> for PublicOut {
    fn from(r: PublicRequest) -> Self {
        Self {
            id: r.public_id,
            kind: r.kind.code().to_owned(),
            kind_name: r.kind.zh().to_owned(),
            category: r.category,
            category_name: r.category_name,
            region: r.region_code,
            title: r.title,
            body: r.body,
            status: r.status.code().to_owned(),
            status_name: r.status.zh().to_owned(),
            department: r.department,
            reply: r.reply,
            replied_at: r.replied_at,
            created_at: r.created_at,
        }
    }
}

/// A page of answered requests.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicList {
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub items: Vec<PublicOut>,
}

// ------------------------------------------------------------------------------------- queries

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct AnsweredQuery {
    /// Only this category (its code).
    pub category: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct KnowledgeQuery {
    /// The category code (its ancestors' answers are included).
    pub category: Option<String>,
    /// The question, to order answers by similarity; without it, every answer of the category.
    pub q: Option<String>,
}

// ------------------------------------------------------------------------------------- anyone

/// Submit a request: logged in as a person, or anonymously with a mobile to be called back.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = SubmitBody,
    responses((status = 201, body = SubmittedOut),
        (status = 401, body = ApiErrorBody, description = "a petition needs a logged-in person"),
        (status = 403, body = ApiErrorBody, description = "`request_channel_not_allowed`: staff submit through their own channels"),
        (status = 422, body = ApiErrorBody, description = "`field` is `kind`, `channel`, `urgency`, `category`, `region`, `title`, `body`, `location`, `coordinates`, `contact_name` or `contact_mobile`")))]
async fn submit(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Client(meta): Client,
    Json(body): Json<SubmitBody>,
) -> Result<(StatusCode, Json<SubmittedOut>), AppError> {
    let kind = RequestKind::from_code(body.kind.trim()).ok_or_else(|| {
        invalid(
            "kind",
            "request_unknown_kind",
            "kind is consultation, help, complaint, report, suggestion or praise",
        )
    })?;
    let channel = match body.channel.trim() {
        "" | "web" => Channel::Web,
        "small_business" => Channel::SmallBusiness,
        "petition" => Channel::Petition,
        _ => {
            return Err(invalid(
                "channel",
                "request_bad_channel",
                "channel is web, small_business or petition",
            ));
        }
    };
    let urgency = match body.urgency.trim() {
        "" => None,
        code => Some(Urgency::from_code(code).ok_or_else(|| {
            invalid(
                "urgency",
                "request_bad_urgency",
                "urgency is urgent, priority, normal or complex",
            )
        })?),
    };
    too_long("category", &body.category, MAX_KEY_CHARS)?;
    too_long("region", &body.region, MAX_KEY_CHARS)?;
    too_long("title", &body.title, MAX_TITLE_CHARS)?;
    too_long("body", &body.body, MAX_TEXT_CHARS)?;
    too_long("location", &body.location, MAX_NOTE_CHARS)?;
    too_long("contact_name", &body.contact_name, MAX_NOTE_CHARS)?;
    too_long("contact_mobile", &body.contact_mobile, MAX_KEY_CHARS)?;
    let coordinates = match (body.longitude, body.latitude) {
        (Some(lon), Some(lat)) => Some((lon, lat)),
        (None, None) => None,
        _ => {
            return Err(invalid(
                "coordinates",
                "request_bad_coordinates",
                "longitude and latitude go together",
            ));
        }
    };
    let submitted = state
        .requests()
        .submit(
            &who.principal,
            channel,
            &NewRequest {
                kind: Some(kind),
                category: body.category.trim().to_owned(),
                region: body.region,
                urgency,
                title: body.title,
                body: body.body,
                location: body.location,
                coordinates,
                contact_name: body.contact_name,
                contact_mobile: body.contact_mobile,
            },
            &source(&meta),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SubmittedOut {
            request: submitted.request.into(),
        }),
    ))
}

/// The category tree (派单目录), parents before children.
#[utoipa::path(get, path = "/api/v1/request-categories", tag = "requests",
    responses((status = 200, body = Vec<CategoryOut>)))]
async fn categories(State(state): State<AppState>) -> Result<Json<Vec<CategoryOut>>, AppError> {
    let all = state.requests().categories().await?;
    Ok(Json(all.into_iter().map(CategoryOut::from).collect()))
}

/// Knowledge-base answers of a category and its ancestors, the most similar to `q` first.
#[utoipa::path(get, path = "/api/v1/request-knowledge", tag = "requests", params(KnowledgeQuery),
    responses((status = 200, body = Vec<AnswerOut>),
        (status = 422, body = ApiErrorBody, description = "`field` is `category` (missing or unknown) or `q`")))]
async fn knowledge(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<KnowledgeQuery>,
) -> Result<Json<Vec<AnswerOut>>, AppError> {
    let category = query.category.as_deref().map_or("", str::trim);
    if category.is_empty() {
        return Err(invalid(
            "category",
            "request_field_required",
            "category is required",
        ));
    }
    too_long("category", category, MAX_KEY_CHARS)?;
    let q = query.q.as_deref().map_or("", str::trim);
    too_long("q", q, MAX_QUERY_CHARS)?;
    let requests = state.requests();
    let found = if q.is_empty() {
        let mut all = requests.answers(category).await?;
        all.truncate(MAX_ANSWERS);
        all
    } else {
        requests.suggest_answers(category, q, MAX_ANSWERS).await?
    };
    Ok(Json(found.into_iter().map(AnswerOut::from).collect()))
}

/// Answered requests (已答复 and later) anyone may read, newest first: never a 举报 or a petition,
/// never the submitter.
#[utoipa::path(get, path = "/api/v1/requests/answered", tag = "requests", params(AnsweredQuery),
    responses((status = 200, body = PublicList), (status = 422, body = ApiErrorBody)))]
async fn answered(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AnsweredQuery>,
) -> Result<Json<PublicList>, AppError> {
    let category = query
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let Some(c) = category {
        too_long("category", c, MAX_KEY_CHARS)?;
    }
    let page = PageRequest::new(query.page, query.page_size)
        .map_err(|e| invalid("page", e.code(), &e.to_string()))?;
    let found = state.requests().answered_requests(category, page).await?;
    Ok(Json(PublicList {
        total: found.total,
        page: found.page,
        page_size: found.page_size,
        items: found.items.into_iter().map(PublicOut::from).collect(),
    }))
}

// ------------------------------------------------------------------------------------- people

/// The caller's own requests, newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/me/requests", tag = "requests",
    responses((status = 200, body = Vec<RequestOut>)))]
async fn mine(
    State(state): State<AppState>,
    who: ApiPerson,
) -> Result<Json<Vec<RequestOut>>, AppError> {
    let all = state.requests().mine(&who.principal).await?;
    Ok(Json(all.into_iter().map(RequestOut::from).collect()))
}

/// One of the caller's own requests.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = RequestOut),
        (status = 404, body = ApiErrorBody, description = "no request of the caller has this id")))]
async fn one(
    State(state): State<AppState>,
    who: ApiPerson,
    IdPath(id): IdPath<String>,
) -> Result<Json<RequestOut>, AppError> {
    let id = request_id(&state, &id).await?;
    Ok(Json(
        state.requests().request(&who.principal, id).await?.into(),
    ))
}

/// 评价 of the caller's own request after the 回访 (1 to 5), closing the loop.
#[utoipa::path(post, path = "/api/v1/requests/{id}/rate", tag = "requests", request_body = RateBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = RequestOut),
        (status = 404, body = ApiErrorBody, description = "no request of the caller has this id"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`: not visited yet, or rated"),
        (status = 422, body = ApiErrorBody, description = "`field` is `level` or `comment`")))]
async fn rate(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<RateBody>,
) -> Result<Json<RequestOut>, AppError> {
    too_long("comment", &body.comment, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let rated = state
        .requests()
        .rate(
            &who.principal,
            id,
            body.level,
            &body.comment,
            &source(&meta),
        )
        .await?;
    Ok(Json(rated.into()))
}

// ------------------------------------------------------------------------------------- staff

/// The open requests the caller's department leads, by deadline (the department's view: no
/// submitter).
#[utoipa::path(get, path = "/api/v1/request-inbox", tag = "requests",
    responses((status = 200, body = Vec<DepartmentOut>)))]
async fn inbox(
    State(state): State<AppState>,
    who: ApiStaff,
) -> Result<Json<Vec<DepartmentOut>>, AppError> {
    let all = state.requests().inbox(&who.principal).await?;
    Ok(Json(all.into_iter().map(DepartmentOut::from).collect()))
}

/// One request as a handling department, a supervisor or the hotline centre sees it: never the
/// submitter.
#[utoipa::path(get, path = "/api/v1/request-inbox/{id}", tag = "requests",
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = DepartmentOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's to see")))]
async fn department_view(
    State(state): State<AppState>,
    who: ApiStaff,
    IdPath(id): IdPath<String>,
) -> Result<Json<DepartmentOut>, AppError> {
    let id = request_id(&state, &id).await?;
    Ok(Json(
        state
            .requests()
            .department_view(&who.principal, id)
            .await?
            .into(),
    ))
}

/// 派单 by the hotline centre: to `lead` (the routing rules' department when empty) with 协办
/// departments; the handling limit starts.
#[utoipa::path(post, path = "/api/v1/requests/{id}/dispatch", tag = "requests", request_body = DispatchBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `lead`, `assists`, `category` (no route) or `note`")))]
async fn dispatch(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<DispatchBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("note", &body.note, MAX_NOTE_CHARS)?;
    if body.assists.len() > MAX_ASSISTS {
        return Err(invalid(
            "assists",
            "request_too_many_assists",
            &format!("at most {MAX_ASSISTS} assisting departments"),
        ));
    }
    let id = request_id(&state, &id).await?;
    let lead = match body.lead.trim() {
        "" => None,
        code => Some(department(&state, "lead", code).await?),
    };
    let mut assists = Vec::with_capacity(body.assists.len());
    for code in &body.assists {
        assists.push(department(&state, "assists", code).await?);
    }
    let done = state
        .requests()
        .dispatch(
            &who.principal,
            id,
            lead,
            &assists,
            &body.note,
            &source(&meta),
        )
        .await?;
    Ok(Json(done.into()))
}

/// 改派 by the hotline centre to another lead department, with the reason.
#[utoipa::path(post, path = "/api/v1/requests/{id}/reassign", tag = "requests", request_body = ReassignBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `lead` or `reason`")))]
async fn reassign(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<ReassignBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("reason", &body.reason, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let lead = department(&state, "lead", &body.lead).await?;
    let done = state
        .requests()
        .reassign(&who.principal, id, lead, &body.reason, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// 签收 by the lead department.
#[utoipa::path(post, path = "/api/v1/requests/{id}/sign", tag = "requests",
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`")))]
async fn sign(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
) -> Result<Json<StateOut>, AppError> {
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .sign(&who.principal, id, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// 退单 by the lead department within the return window, with the reason.
#[utoipa::path(post, path = "/api/v1/requests/{id}/return", tag = "requests", request_body = ReasonBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state` or `request_return_window_closed`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `reason`")))]
async fn return_request(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("reason", &body.reason, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .return_request(&who.principal, id, &body.reason, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// 答复 by the lead department.
#[utoipa::path(post, path = "/api/v1/requests/{id}/reply", tag = "requests", request_body = ReplyBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `reply`")))]
async fn reply(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<ReplyBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("reply", &body.reply, MAX_TEXT_CHARS)?;
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .reply(&who.principal, id, &body.reply, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// 办结 after the reply.
#[utoipa::path(post, path = "/api/v1/requests/{id}/conclude", tag = "requests", request_body = NoteBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `note`")))]
async fn conclude(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<NoteBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("note", &body.note, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .conclude(&who.principal, id, &body.note, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// 回访 by the hotline centre: `unsatisfied` sends the request back to the lead department (重办).
#[utoipa::path(post, path = "/api/v1/requests/{id}/visit", tag = "requests", request_body = VisitBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `result` or `note`")))]
async fn visit(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<VisitBody>,
) -> Result<Json<StateOut>, AppError> {
    let result = VisitResult::from_code(body.result.trim()).ok_or_else(|| {
        invalid(
            "result",
            "request_bad_visit_result",
            "result is satisfied or unsatisfied",
        )
    })?;
    too_long("note", &body.note, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .visit(&who.principal, id, result, &body.note, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// 延期申请 by the lead department: more working days, with the reason.
#[utoipa::path(post, path = "/api/v1/requests/{id}/extension", tag = "requests", request_body = ExtensionBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state` or `request_extension_pending`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `working_days` or `reason`")))]
async fn request_extension(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<ExtensionBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("reason", &body.reason, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .request_extension(
            &who.principal,
            id,
            body.working_days,
            &body.reason,
            &source(&meta),
        )
        .await?;
    Ok(Json(done.into()))
}

/// 延期审批 by a supervisor over the region.
#[utoipa::path(post, path = "/api/v1/requests/{id}/extension/decision", tag = "requests", request_body = DecisionBody,
    params(("id" = String, Path, description = "the request's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_no_extension_pending`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `note`")))]
async fn decide_extension(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<DecisionBody>,
) -> Result<Json<StateOut>, AppError> {
    too_long("note", &body.note, MAX_NOTE_CHARS)?;
    let id = request_id(&state, &id).await?;
    let done = state
        .requests()
        .decide_extension(&who.principal, id, body.approve, &body.note, &source(&meta))
        .await?;
    Ok(Json(done.into()))
}

/// Merge this request into an earlier one as a duplicate (hotline centre): same community and
/// category, within the duplicate window, similar text. It ends as 已合并.
#[utoipa::path(post, path = "/api/v1/requests/{id}/merge", tag = "requests", request_body = MergeBody,
    params(("id" = String, Path, description = "the duplicate's public id")),
    responses((status = 200, body = StateOut),
        (status = 404, body = ApiErrorBody, description = "no such request, or not the caller's"),
        (status = 409, body = ApiErrorBody, description = "`request_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `into` (unknown, or `request_not_duplicate`)")))]
async fn merge(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<MergeBody>,
) -> Result<Json<StateOut>, AppError> {
    let id = request_id(&state, &id).await?;
    let unknown = || invalid("into", "request_not_found", "no request has this id");
    if body.into.chars().nth(MAX_KEY_CHARS).is_some() {
        return Err(unknown());
    }
    let into = state
        .requests()
        .id_of(&body.into)
        .await?
        .ok_or_else(unknown)?;
    let done = state
        .requests()
        .merge(&who.principal, id, into, &source(&meta))
        .await
        .map_err(|e| match e {
            RequestError::NotDuplicate => invalid("into", "request_not_duplicate", &e.to_string()),
            other => other.into(),
        })?;
    Ok(Json(done.into()))
}
