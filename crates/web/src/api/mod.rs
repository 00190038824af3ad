//! The JSON API under `/api/v1`, the operational endpoints (`/healthz`, `/readyz`, `/metrics`) and the
//! OpenAPI document describing them.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

pub mod appointments;
pub mod auth;
pub mod cases;
pub mod catalog;
pub mod credentials;
pub mod enterprises;
pub mod indicators;
pub mod licences;
pub mod open311;
pub mod openapi;
pub mod ratings;
pub mod requests;
pub mod staff;
pub mod surveys;

use crate::error::AppError;
use crate::metrics::Gauge;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Yiwang API",
        description = "一网通办 government-services platform",
        version = "1"
    ),
    paths(
        healthz,
        readyz,
        metrics,
        list_departments,
        get_department,
        working_day,
        add_working_days,
        auth::register_code,
        auth::register_person,
        auth::login,
        auth::logout,
        auth::me,
        auth::sessions,
        auth::end_session,
        auth::end_other_sessions,
        auth::change_password,
        credentials::request_reset,
        credentials::reset_password,
        credentials::create_token,
        credentials::list_tokens,
        credentials::revoke_token,
        staff::staff_login,
        staff::staff_me,
        staff::list_staff,
        staff::create_staff,
        staff::create_post,
        staff::set_roles,
        staff::view_person,
        enterprises::register,
        enterprises::mine,
        enterprises::view,
        enterprises::add_agent,
        enterprises::remove_agent,
        enterprises::my_claims,
        enterprises::pending_claims,
        enterprises::decide_claim,
        catalog::list_items,
        catalog::suggest,
        catalog::get_item,
        catalog::get_guide,
        catalog::list_versions,
        catalog::diff_versions,
        catalog::list_life_events,
        catalog::get_life_event,
        catalog::create_item,
        catalog::start_draft,
        catalog::save_draft,
        catalog::submit,
        catalog::approve,
        catalog::reject,
        catalog::export,
        catalog::import,
        cases::application_form,
        cases::get_workflow,
        cases::publish_workflow,
        cases::upload_material,
        cases::my_materials,
        cases::download_material,
        cases::apply,
        cases::register_at_counter,
        cases::my_cases,
        cases::get_case,
        cases::withdraw,
        cases::resubmit,
        cases::progress,
        cases::disclosures,
        cases::inbox,
        cases::claim,
        cases::release,
        cases::act,
        cases::resume,
        cases::request_extension,
        cases::decide_extension,
        cases::supervision,
        appointments::schedule::list_groups,
        appointments::schedule::get_group,
        appointments::schedule::create_group,
        appointments::schedule::set_policy,
        appointments::schedule::add_resource,
        appointments::schedule::update_resource,
        appointments::schedule::set_schedule,
        appointments::schedule::list_slots,
        appointments::schedule::generate_slots,
        appointments::bookings::book,
        appointments::bookings::my_bookings,
        appointments::bookings::get_booking,
        appointments::bookings::cancel,
        appointments::bookings::booking_ics,
        appointments::bookings::day_bookings,
        appointments::bookings::mark_no_show,
        appointments::bookings::join_waitlist,
        appointments::bookings::my_waitlist,
        appointments::bookings::leave_waitlist,
        appointments::schedule::list_categories,
        appointments::schedule::add_category,
        appointments::queue::take_ticket,
        appointments::queue::check_in,
        appointments::queue::get_ticket,
        appointments::queue::board,
        appointments::queue::daily_stats,
        appointments::queue::close_day,
        appointments::queue::window_ticket,
        appointments::queue::call_next,
        appointments::queue::recall,
        appointments::queue::start_serving,
        appointments::queue::skip,
        appointments::queue::finish,
        appointments::queue::transfer,
        licences::keys,
        licences::revocations,
        licences::verify,
        licences::types,
        licences::document,
        licences::licence,
        licences::my_licences,
        licences::my_reads,
        licences::my_grants,
        licences::grant,
        licences::revoke_grant,
        licences::create_show_code,
        licences::redeem_show_code,
        licences::department_licences,
        licences::issue,
        licences::revoke,
        licences::cancel,
        licences::renew,
        licences::import,
        licences::pending,
        ratings::rate,
        ratings::rate_by_link,
        ratings::rate_by_phone,
        ratings::follow_up_comment,
        ratings::my_ratings,
        ratings::tags,
        ratings::disclosure,
        ratings::department_tasks,
        ratings::rectification,
        ratings::verify,
        ratings::rectify,
        ratings::follow_up,
        ratings::close,
        ratings::appeal,
        ratings::decide_appeal,
        ratings::pending_appeals,
        ratings::urge,
        ratings::my_urgings,
        ratings::reply_urging,
        indicators::indicators,
        indicators::scoreboard,
        surveys::open_surveys,
        surveys::survey,
        surveys::answer,
        surveys::answer_by_invitation,
        surveys::staff_surveys,
        surveys::create,
        surveys::staff_survey,
        surveys::add_question,
        surveys::publish,
        surveys::close,
        surveys::results,
        requests::submit,
        requests::categories,
        requests::knowledge,
        requests::answered,
        requests::mine,
        requests::one,
        requests::rate,
        requests::inbox,
        requests::department_view,
        requests::dispatch,
        requests::reassign,
        requests::sign,
        requests::return_request,
        requests::reply,
        requests::conclude,
        requests::visit,
        requests::request_extension,
        requests::decide_extension,
        requests::merge
    ),
    components(schemas(
        Health,
        Ready,
        DepartmentDto,
        DepartmentList,
        WorkingDay,
        WorkingDaysResult,
        ApiErrorBody,
        ApiError,
        auth::PersonDto,
        auth::RegisterPerson,
        auth::RegisterCode,
        auth::RegisterCodeSent,
        auth::Login,
        auth::LoginResult,
        auth::Me,
        auth::SessionDto,
        auth::Ended,
        auth::ChangePassword,
        credentials::PasswordResetRequest,
        credentials::PasswordReset,
        credentials::CreateToken,
        credentials::TokenDto,
        credentials::CreatedTokenDto,
        staff::PostDto,
        staff::StaffDto,
        staff::StaffLogin,
        staff::StaffLoginResult,
        staff::DepartmentStaff,
        staff::CreateStaff,
        staff::CreatePost,
        staff::SetRoles,
        staff::ViewReason,
        enterprises::AgentDto,
        enterprises::EnterpriseDto,
        enterprises::RegisterEnterprise,
        enterprises::AddAgent,
        enterprises::ClaimDto,
        enterprises::ClaimDecisionBody,
        cases::CaseOut,
        cases::Submitted,
        cases::CaseList,
        cases::TaskOut,
        cases::CaseDetail,
        cases::ApplicationForm,
        cases::CommitmentOut,
        cases::MaterialOut,
        cases::FileOut,
        cases::UploadForm,
        cases::MaterialRef,
        cases::ApplyBody,
        cases::CounterBody,
        cases::ReasonBody,
        cases::ResubmitBody,
        cases::ProgressOut,
        cases::DisclosureList,
        cases::InboxOut,
        cases::InboxItem,
        cases::ActBody,
        cases::NoteBody,
        cases::ExtensionDecision,
        cases::WorkflowOut,
        catalog::ItemSummary,
        catalog::ItemList,
        catalog::Suggestion,
        catalog::LifeEventRef,
        catalog::ItemDetail,
        catalog::GuideMaterial,
        catalog::GuideDto,
        catalog::VersionDto,
        catalog::ChangeDto,
        catalog::LifeEventDto,
        catalog::ItemSummaryRef,
        catalog::CreateItem,
        catalog::Created,
        catalog::SaveDraft,
        catalog::Review,
        catalog::Published,
        catalog::ImportResult,
        catalog::RowProblem,
        catalog::ImportRejected,
        appointments::schedule::ResourceOut,
        appointments::schedule::GroupOut,
        appointments::schedule::GroupDetail,
        appointments::schedule::GroupList,
        appointments::schedule::CreateGroup,
        appointments::schedule::AddResource,
        appointments::schedule::UpdateResource,
        appointments::schedule::SetSchedule,
        appointments::schedule::SlotOut,
        appointments::schedule::SlotList,
        appointments::schedule::GenerateSlots,
        appointments::schedule::Generated,
        appointments::bookings::BookingOut,
        appointments::bookings::BookingList,
        appointments::bookings::BookBody,
        appointments::bookings::NoShowOut,
        appointments::bookings::WaitlistOut,
        appointments::schedule::CategoryOut,
        appointments::schedule::AddCategory,
        appointments::queue::TicketOut,
        appointments::queue::TakeTicket,
        appointments::queue::CheckIn,
        appointments::queue::ClosedDay,
        appointments::queue::RecallBody,
        appointments::queue::TransferBody,
        licences::KeyList,
        licences::KeyOut,
        licences::DocumentOut,
        licences::RevocationsOut,
        licences::VerifyBody,
        licences::PublicField,
        licences::VerdictOut,
        licences::LicenceOut,
        licences::LicenceList,
        licences::EventOut,
        licences::LicenceDetail,
        licences::TypeFieldOut,
        licences::TypeOut,
        licences::GrantOut,
        licences::GrantBody,
        licences::ReadOut,
        licences::ReadList,
        licences::ShowCodeOut,
        licences::RedeemBody,
        licences::IssueBody,
        licences::ReasonBody,
        licences::RenewBody,
        licences::ImportedOut,
        licences::ImportRow,
        licences::ImportRefused,
        licences::PendingOut,
        ratings::EventIn,
        ratings::RateBody,
        ratings::LinkRateBody,
        ratings::TextBody,
        ratings::FollowUpBody,
        ratings::AppealBody,
        ratings::DecisionBody,
        ratings::UrgeBody,
        ratings::EventOut,
        ratings::RatingOut,
        ratings::RatingList,
        ratings::TagOut,
        ratings::FiguresOut,
        ratings::BadOut,
        ratings::DisclosureOut,
        ratings::RectificationOut,
        ratings::RectificationList,
        ratings::HistoryOut,
        ratings::AppealOut,
        ratings::RectificationDetail,
        ratings::PendingAppealOut,
        ratings::UrgingOut,
        indicators::IndicatorsOut,
        indicators::IndicatorReportOut,
        indicators::ScoreLineOut,
        indicators::ScoreboardOut,
        surveys::QuestionOut,
        surveys::SectionOut,
        surveys::SurveyOut,
        surveys::SurveyList,
        surveys::AnswerIn,
        surveys::AnswersIn,
        surveys::InvitationAnswersIn,
        surveys::CreateBody,
        surveys::QuestionIn,
        surveys::PublishBody,
        surveys::CountOut,
        surveys::QuestionResultOut,
        surveys::ResultsOut,
        requests::SubmitBody,
        requests::DispatchBody,
        requests::ReassignBody,
        requests::ReasonBody,
        requests::NoteBody,
        requests::ReplyBody,
        requests::VisitBody,
        requests::RateBody,
        requests::ExtensionBody,
        requests::DecisionBody,
        requests::MergeBody,
        requests::RequestOut,
        requests::SubmittedOut,
        requests::StateOut,
        requests::AssignmentOut,
        requests::EventOut,
        requests::DepartmentOut,
        requests::CategoryOut,
        requests::AnswerOut,
        requests::PublicOut,
        requests::PublicList
    ))
)]
#[derive(Debug)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/departments", get(list_departments))
        .route("/api/v1/departments/{code}", get(get_department))
        .route("/api/v1/calendar/{date}", get(working_day))
        .route(
            "/api/v1/calendar/{date}/add-working-days",
            get(add_working_days),
        )
        .merge(auth::routes())
        .merge(credentials::routes())
        .merge(staff::routes())
        .merge(enterprises::routes())
        .merge(catalog::routes())
        .merge(cases::routes())
        .merge(appointments::routes())
        .merge(licences::routes())
        .merge(ratings::routes())
        .merge(indicators::routes())
        .merge(surveys::routes())
        .merge(requests::routes())
        .merge(open311::routes())
}

/// A query string parsed into `T`. One that does not parse — a word where a number goes, a number
/// beyond its type — is 422 like a value beyond its documented bound (`field` names the parameter when
/// it can be told), so every out-of-range parameter gets the same answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                Err(AppError::Invalid {
                    field: query_field(&text).unwrap_or("query").to_owned(),
                    code: "query_invalid".to_owned(),
                    message: text,
                })
            }
        }
    }
}

/// The parameter named in a query rejection ("Failed to deserialize query string: page: invalid digit…").
fn query_field(text: &str) -> Option<&str> {
    let rest = text.split_once("query string: ")?.1;
    let (field, _) = rest.split_once(": ")?;
    (!field.is_empty()
        && field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    .then_some(field)
}

/// The error body every failing API call returns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiError,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// Stable snake_case code, e.g. `not_found`, `invalid_request`.
    pub code: String,
    /// Message in the caller's language (Accept-Language).
    pub message: String,
    pub request_id: String,
    /// The input field at fault, when there is one.
    pub field: Option<String>,
    /// What is wrong with it (or, for a conflict, empty and left out).
    pub reason: Option<String>,
    /// For 429: when the next attempt may succeed (RFC 3339); `Retry-After` says the same in seconds.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    pub status: &'static str,
    pub database: &'static str,
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Ready), (status = 503, body = Ready, description = "the database does not answer")
))]
async fn readyz(State(state): State<AppState>) -> Response {
    let database = state.db().backend().name();
    match state.db().ping().await {
        Ok(()) => Json(Ready {
            status: "ready",
            database,
        })
        .into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            // A JSON body marks this as a deliberate answer, not an error page.
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Ready {
                    status: "unavailable",
                    database,
                }),
            )
                .into_response()
        }
    }
}

/// Prometheus metrics in the text exposition format, for operators only: the scraper presents
/// `metrics_token` as a bearer token, or a platform administrator is logged in. Anyone else gets the
/// not-found page, the same as for a path that does not exist.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    if !operator(&mut parts, &state).await {
        return AppError::NotFound.into_response();
    }
    let mut gauges = Vec::new();
    let up = state.db().ping().await.is_ok();
    gauges.push(Gauge {
        name: "yiwang_database_up",
        help: "Whether the database answers (1) or not (0).",
        values: vec![(
            vec![("backend", state.db().backend().name().to_owned())],
            if up { 1.0 } else { 0.0 },
        )],
    });
    if let Ok(counts) = yiwang_db::jobs::counts(state.db()).await {
        gauges.push(Gauge {
            name: "yiwang_jobs",
            help: "Jobs in the queue by status.",
            values: counts
                .into_iter()
                .map(|(status, n)| {
                    let label = serde_json::to_value(status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    (vec![("status", label)], n as f64)
                })
                .collect(),
        });
    }
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics().render(&gauges),
    )
        .into_response()
}

/// Whether the caller is one of the platform's operators: the configured scraper token, or the session
/// of a platform administrator. Everything else (no credentials, a citizen, other staff, an API token,
/// a wrong token) is not.
async fn operator(parts: &mut axum::http::request::Parts, state: &AppState) -> bool {
    if let Some(expected) = state
        .config()
        .metrics_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        let sent = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if sent.is_some_and(|sent| crate::auth::constant_time_eq(sent, expected)) {
            return true;
        }
    }
    let Ok(Some((session, _))) = crate::extract::cached_session(parts, state).await else {
        return false;
    };
    matches!(
        state.accounts().principal(Some(&session)).await,
        Ok(yiwang_identity::policy::Principal::Staff(staff))
            if staff.has(yiwang_identity::model::Role::PlatformAdmin)
    )
}

async fn openapi() -> Json<&'static serde_json::Value> {
    Json(openapi::document())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentDto {
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub region_code: String,
    pub uscc: String,
    /// `government`, `public_institution` or `vertical`.
    pub kind: String,
    pub former_names: Vec<String>,
    pub phone: String,
    pub address: String,
}

impl From<yiwang_identity::Department> for DepartmentDto {
    fn from(d: yiwang_identity::Department) -> Self {
        Self {
            code: d.code,
            name: d.name,
            short_name: d.short_name,
            region_code: d.region_code.as_str().to_owned(),
            uscc: d.uscc.as_str().to_owned(),
            kind: d.kind.code().to_owned(),
            former_names: d.former_names,
            phone: d.phone,
            address: d.address,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentList {
    pub items: Vec<DepartmentDto>,
    pub total: usize,
}

/// Longest region filter: a county-level code has six digits.
pub const MAX_REGION_FILTER_DIGITS: usize = 6;

#[derive(Debug, Deserialize)]
struct RegionFilter {
    region: Option<String>,
}

/// Departments, optionally those within a region (a code prefix such as `3401` or `150603`).
#[utoipa::path(get, path = "/api/v1/departments", tag = "organisation",
    params(("region" = Option<String>, Query, description = "region code or prefix (digits)")),
    responses((status = 200, body = DepartmentList), (status = 422, body = ApiErrorBody)))]
async fn list_departments(
    State(state): State<AppState>,
    ApiQuery(filter): ApiQuery<RegionFilter>,
) -> Result<Json<DepartmentList>, AppError> {
    let prefix = filter.region.unwrap_or_default();
    if prefix.len() > MAX_REGION_FILTER_DIGITS || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::Invalid {
            field: "region".to_owned(),
            code: "region_filter_invalid".to_owned(),
            message: "region must be up to 6 digits".to_owned(),
        });
    }
    let items: Vec<DepartmentDto> = yiwang_identity::service::departments(state.db(), &prefix)
        .await?
        .into_iter()
        .map(DepartmentDto::from)
        .collect();
    Ok(Json(DepartmentList {
        total: items.len(),
        items,
    }))
}

/// One department by its code.
#[utoipa::path(get, path = "/api/v1/departments/{code}", tag = "organisation",
    params(("code" = String, Path, description = "department code, e.g. hf-scjgj")),
    responses((status = 200, body = DepartmentDto), (status = 404, body = ApiErrorBody)))]
async fn get_department(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<DepartmentDto>, AppError> {
    Ok(Json(
        yiwang_identity::service::department(state.db(), &code)
            .await?
            .into(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkingDay {
    pub date: String,
    pub working_day: bool,
    /// Whether the date's year is in the loaded calendar (otherwise Monday–Friday is assumed).
    pub calendar_covers_year: bool,
}

fn parse_date(text: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| AppError::Invalid {
        field: "date".to_owned(),
        code: "date_invalid".to_owned(),
        message: format!("{text:?} is not a date in the form YYYY-MM-DD"),
    })
}

/// Whether a date is a working day on the 调休 calendar.
#[utoipa::path(get, path = "/api/v1/calendar/{date}", tag = "calendar",
    params(("date" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = WorkingDay), (status = 422, body = ApiErrorBody)))]
async fn working_day(
    State(state): State<AppState>,
    Path(date): Path<String>,
) -> Result<Json<WorkingDay>, AppError> {
    let date = parse_date(&date)?;
    let calendar = state.calendar();
    Ok(Json(WorkingDay {
        date: date.to_string(),
        working_day: calendar.is_working_day(date),
        calendar_covers_year: calendar.covers(chrono::Datelike::year(&date)),
    }))
}

/// Most working days one calculation may add (about fourteen years).
pub const MAX_WORKING_DAYS: u32 = 3650;

#[derive(Debug, Deserialize)]
struct AddQuery {
    n: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkingDaysResult {
    pub from: String,
    pub working_days: u32,
    /// The n-th working day after `from`.
    pub date: String,
}

/// The n-th working day after a date (e.g. a legal time limit).
#[utoipa::path(get, path = "/api/v1/calendar/{date}/add-working-days", tag = "calendar",
    params(("date" = String, Path, description = "YYYY-MM-DD"), ("n" = u32, Query, description = "working days, 0–3650")),
    responses((status = 200, body = WorkingDaysResult), (status = 422, body = ApiErrorBody)))]
async fn add_working_days(
    State(state): State<AppState>,
    Path(date): Path<String>,
    ApiQuery(query): ApiQuery<AddQuery>,
) -> Result<Json<WorkingDaysResult>, AppError> {
    let from = parse_date(&date)?;
    let n = query
        .n
        .as_deref()
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n <= MAX_WORKING_DAYS)
        .ok_or_else(|| AppError::Invalid {
            field: "n".to_owned(),
            code: "working_days_invalid".to_owned(),
            message: "n must be a whole number from 0 to 3650".to_owned(),
        })?;
    Ok(Json(WorkingDaysResult {
        from: from.to_string(),
        working_days: n,
        date: state.calendar().add_working_days(from, n).to_string(),
    }))
}
