//! Surveys (测评) over JSON: anyone lists the open public surveys and reads a published one; a
//! logged-in person answers a public survey once; an invited person answers through their one-use
//! link without logging in; a department administrator creates a draft, adds questions, publishes
//! it (to the public, or inviting the people served by an item or a hall in a period), closes it
//! and reads its results (counts, percentages, averages). A survey is named by its public id.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_kernel::ErrorCode as _;
use yiwang_ratings::survey::model::{
    Answer, Answers, Audience, AudienceKind, MAX_ANSWER_CHARS, MAX_OPTIONS, MAX_QUESTIONS,
    NewQuestion, QuestionKind, SurveyResults, SurveyView,
};
use yiwang_ratings::survey::service::MAX_TOKEN_CHARS;
use yiwang_ratings::survey::{AnswerChannel, Respondent, SurveyError};

use crate::api::{ApiErrorBody, ApiQuery};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{ApiPerson, ApiStaff, IdPath};
use crate::state::AppState;

/// Longest survey id a caller may send.
pub const MAX_SURVEY_ID_CHARS: usize = 64;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/surveys", get(open_surveys))
        .route("/api/v1/surveys/invitation", post(answer_by_invitation))
        .route("/api/v1/surveys/{id}", get(survey))
        .route("/api/v1/surveys/{id}/responses", post(answer))
        .route("/api/v1/staff/surveys", get(staff_surveys).post(create))
        .route("/api/v1/staff/surveys/{id}", get(staff_survey))
        .route("/api/v1/staff/surveys/{id}/questions", post(add_question))
        .route("/api/v1/staff/surveys/{id}/publish", post(publish))
        .route("/api/v1/staff/surveys/{id}/close", post(close))
        .route("/api/v1/staff/surveys/{id}/results", get(results))
}

impl From<SurveyError> for AppError {
    fn from(error: SurveyError) -> Self {
        use SurveyError as E;
        let code = error.code().to_owned();
        let invalid = |field: &str, message: String| AppError::Invalid {
            field: field.to_owned(),
            code: code.clone(),
            message,
        };
        let conflict = |field: &str| AppError::Conflict {
            field: field.to_owned(),
            code: code.clone(),
        };
        match error {
            E::NotFound | E::QuestionNotFound => AppError::NotFound,
            E::Required(field) | E::TooLong(field) => invalid(field, error.to_string()),
            E::TooMany("options", _) | E::TooFewOptions(_) | E::DuplicateOption => {
                invalid("options", error.to_string())
            }
            E::TooMany(..) | E::Empty => invalid("questions", error.to_string()),
            E::BadKind => invalid("kind", error.to_string()),
            E::BadAudience(_) | E::TooManyInvites(_) => invalid("audience", error.to_string()),
            E::UnknownQuestion | E::AnswerRequired(_) | E::BadAnswer(_) | E::AnswerTooLong(_) => {
                invalid("answers", error.to_string())
            }
            E::TokenInvalid => invalid("token", error.to_string()),
            E::AlreadyAnswered => conflict("survey"),
            E::WrongState(..) | E::NotOpen | E::Full | E::Conflict => conflict("status"),
            E::InvitationOnly => AppError::Forbidden { code },
            E::Identity(e) => e.into(),
            other => AppError::internal(&other),
        }
    }
}

fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("api:{}", meta.ip)
}

fn survey_id(id: &str) -> Result<&str, AppError> {
    if id.len() > MAX_SURVEY_ID_CHARS {
        Err(AppError::NotFound)
    } else {
        Ok(id)
    }
}

// ------------------------------------------------------------------------------- bodies

/// A question.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionOut {
    /// Stable within the survey (`q1`, `q2`, …): answers are keyed on it.
    pub key: String,
    /// `single`, `multiple`, `scale` (1–5) or `text`.
    pub kind: String,
    pub text: String,
    pub required: bool,
    /// The options of a choice question, answered by their index from 0.
    pub options: Vec<String>,
}

/// A titled group of questions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SectionOut {
    pub title: String,
    pub questions: Vec<QuestionOut>,
}

/// A survey.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyOut {
    pub id: String,
    pub department: String,
    pub title: String,
    pub intro: String,
    /// `draft`, `open` or `closed`.
    pub status: String,
    /// `public`, `item` or `hall`.
    pub audience: String,
    pub audience_target: Option<i64>,
    #[schema(value_type = Option<String>, format = Date)]
    pub served_from: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub served_until: Option<NaiveDate>,
    pub invited: u64,
    pub responses: u64,
    pub sections: Vec<SectionOut>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub published_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<&SurveyView> for SurveyOut {
    fn from(s: &SurveyView) -> Self {
        Self {
            id: s.public_id.clone(),
            department: s.department_name.clone(),
            title: s.title.clone(),
            intro: s.intro.clone(),
            status: s.status.code().to_owned(),
            audience: s.audience.kind.code().to_owned(),
            audience_target: s.audience.target,
            served_from: s.audience.from,
            served_until: s.audience.until,
            invited: s.invited,
            responses: s.responses,
            sections: s
                .definition
                .sections
                .iter()
                .map(|sec| SectionOut {
                    title: sec.title.clone(),
                    questions: sec
                        .questions
                        .iter()
                        .map(|q| QuestionOut {
                            key: q.key.clone(),
                            kind: q.kind.code().to_owned(),
                            text: q.text.clone(),
                            required: q.required,
                            options: q.options.clone(),
                        })
                        .collect(),
                })
                .collect(),
            created_at: s.created_at,
            published_at: s.published_at,
            closed_at: s.closed_at,
        }
    }
}

/// A page of surveys.
#[derive(Debug, Serialize, ToSchema)]
pub struct SurveyList {
    pub total: u64,
    pub items: Vec<SurveyOut>,
}

/// One answer: exactly one of the fields, as the question's kind asks.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AnswerIn {
    /// A single-choice question: the option's index.
    pub choice: Option<usize>,
    /// A multiple-choice question: the options' indexes.
    #[schema(max_items = 12)]
    pub choices: Option<Vec<usize>>,
    /// A scale question: 1–5.
    #[schema(minimum = 1, maximum = 5)]
    pub scale: Option<u8>,
    /// A text question.
    #[schema(max_length = 1000)]
    pub text: Option<String>,
}

/// Answers keyed by question key; a question left out is not answered.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswersIn {
    pub answers: BTreeMap<String, AnswerIn>,
}

/// Answers through an invitation link.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InvitationAnswersIn {
    /// The token of the SMS link (`t=` in it).
    #[schema(max_length = 120)]
    pub token: String,
    pub answers: BTreeMap<String, AnswerIn>,
}

fn bad_answers(message: &str) -> AppError {
    AppError::Invalid {
        field: "answers".to_owned(),
        code: "survey_bad_answer".to_owned(),
        message: message.to_owned(),
    }
}

/// The domain's answers from the body (bounded before anything is checked).
pub fn answers_from(body: BTreeMap<String, AnswerIn>) -> Result<Answers, AppError> {
    if body.len() > MAX_QUESTIONS {
        return Err(bad_answers("more answers than questions"));
    }
    let mut answers = BTreeMap::new();
    for (key, a) in body {
        if key.len() > 16 {
            return Err(bad_answers("unknown question"));
        }
        let value = match (a.choice, a.choices, a.scale, a.text) {
            (Some(i), None, None, None) => Answer::Choice(i),
            (None, Some(list), None, None) if list.len() <= MAX_OPTIONS => Answer::Choices(list),
            (None, None, Some(v), None) => Answer::Scale(v),
            (None, None, None, Some(t)) if t.chars().nth(MAX_ANSWER_CHARS).is_none() => {
                Answer::Text(t)
            }
            _ => {
                return Err(bad_answers(&format!(
                    "{key}: give exactly one fitting value"
                )));
            }
        };
        answers.insert(key, value);
    }
    Ok(Answers(answers))
}

/// A new draft.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateBody {
    #[schema(max_length = 100)]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub intro: String,
}

/// A question to add.
#[derive(Debug, Deserialize, ToSchema)]
pub struct QuestionIn {
    /// The section's title; a new title starts a new section (empty: untitled).
    #[serde(default)]
    #[schema(max_length = 60)]
    pub section: String,
    /// `single`, `multiple`, `scale` or `text`.
    pub kind: String,
    #[schema(max_length = 200)]
    pub text: String,
    #[serde(default)]
    pub required: bool,
    /// 2–12 options for a choice question.
    #[serde(default)]
    #[schema(max_items = 12)]
    pub options: Vec<String>,
}

/// Who is asked.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PublishBody {
    /// `public`, `item` (people whose cases of the item concluded in the period) or `hall` (people
    /// served at the hall in the period).
    pub audience: String,
    /// The item's or hall's numeric id.
    pub target: Option<i64>,
    /// The period, China dates, both included, not in the future.
    #[schema(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<NaiveDate>,
}

/// Counts of one option or scale point.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountOut {
    pub label: String,
    pub count: u64,
    /// Share of those who answered the question, 0–100.
    pub percent: Option<f64>,
}

/// The results of one question.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionResultOut {
    pub key: String,
    pub section: String,
    pub kind: String,
    pub text: String,
    pub answered: u64,
    pub counts: Vec<CountOut>,
    pub average: Option<f64>,
    pub texts: Vec<String>,
}

/// A survey's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsOut {
    pub survey: SurveyOut,
    pub responses: u64,
    pub questions: Vec<QuestionResultOut>,
}

impl From<&SurveyResults> for ResultsOut {
    fn from(r: &SurveyResults) -> Self {
        Self {
            survey: (&r.survey).into(),
            responses: r.responses,
            questions: r
                .questions
                .iter()
                .map(|q| QuestionResultOut {
                    key: q.key.clone(),
                    section: q.section.clone(),
                    kind: q.kind.code().to_owned(),
                    text: q.text.clone(),
                    answered: q.answered,
                    counts: q
                        .counts
                        .iter()
                        .map(|c| CountOut {
                            label: c.label.clone(),
                            count: c.count,
                            percent: c.percent,
                        })
                        .collect(),
                    average: q.average,
                    texts: q.texts.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

// ------------------------------------------------------------------------------- handlers

/// The open public surveys, newest first.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, body = SurveyList)))]
async fn open_surveys(State(state): State<AppState>) -> Result<Json<SurveyList>, AppError> {
    let found = state.ratings().surveys().open_public(50).await?;
    Ok(Json(SurveyList {
        total: found.len() as u64,
        items: found.iter().map(SurveyOut::from).collect(),
    }))
}

/// A published survey (open or closed) with its questions.
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys",
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 200, body = SurveyOut),
        (status = 404, body = ApiErrorBody, description = "no published survey has this id")))]
async fn survey(
    State(state): State<AppState>,
    IdPath(id): IdPath<String>,
) -> Result<Json<SurveyOut>, AppError> {
    let survey = state.ratings().surveys().published(survey_id(&id)?).await?;
    Ok(Json((&survey).into()))
}

/// Answer an open public survey as the logged-in person, once.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/responses", tag = "surveys",
    request_body = AnswersIn,
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 201, description = "answered"),
        (status = 403, body = ApiErrorBody, description = "`survey_invitation_only`"),
        (status = 409, body = ApiErrorBody, description = "`survey_already_answered`, `survey_not_open`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `answers`")))]
async fn answer(
    State(state): State<AppState>,
    who: ApiPerson,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<AnswersIn>,
) -> Result<StatusCode, AppError> {
    let person = who.person().ok_or(AppError::Forbidden {
        code: "forbidden".to_owned(),
    })?;
    let answers = answers_from(body.answers)?;
    state
        .ratings()
        .surveys()
        .answer(
            survey_id(&id)?,
            Respondent::Person(person),
            &answers,
            AnswerChannel::Api,
            &source(&meta),
        )
        .await?;
    Ok(StatusCode::CREATED)
}

/// Answer through an SMS invitation's one-use link, without logging in.
#[utoipa::path(post, path = "/api/v1/surveys/invitation", tag = "surveys",
    request_body = InvitationAnswersIn,
    responses((status = 201, description = "answered"),
        (status = 409, body = ApiErrorBody, description = "`survey_already_answered` (the link was used), `survey_not_open`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `token` or `answers`")))]
async fn answer_by_invitation(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<InvitationAnswersIn>,
) -> Result<StatusCode, AppError> {
    if body.token.len() > MAX_TOKEN_CHARS {
        return Err(SurveyError::TokenInvalid.into());
    }
    let answers = answers_from(body.answers)?;
    state
        .ratings()
        .surveys()
        .answer_by_invitation(&body.token, &answers, &source(&meta))
        .await?;
    Ok(StatusCode::CREATED)
}

/// The surveys of the caller's department (every department's for a platform administrator).
#[utoipa::path(get, path = "/api/v1/staff/surveys", tag = "surveys", params(ListQuery),
    responses((status = 200, body = SurveyList)))]
async fn staff_surveys(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<SurveyList>, AppError> {
    let request = yiwang_kernel::PageRequest::new(query.page, query.page_size).map_err(|e| {
        AppError::Invalid {
            field: "page".to_owned(),
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    })?;
    let page = state
        .ratings()
        .surveys()
        .list(&who.principal, request)
        .await?;
    Ok(Json(SurveyList {
        total: page.total,
        items: page.items.iter().map(SurveyOut::from).collect(),
    }))
}

/// Start a draft in the caller's department (department or platform administrators).
#[utoipa::path(post, path = "/api/v1/staff/surveys", tag = "surveys", request_body = CreateBody,
    responses((status = 201, body = SurveyOut),
        (status = 422, body = ApiErrorBody, description = "`field` is `title` or `intro`")))]
async fn create(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Json(body): Json<CreateBody>,
) -> Result<(StatusCode, Json<SurveyOut>), AppError> {
    let survey = state
        .ratings()
        .surveys()
        .create(
            &who.principal,
            None,
            &body.title,
            &body.intro,
            &source(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json((&survey).into())))
}

/// A survey the caller manages, whatever its state.
#[utoipa::path(get, path = "/api/v1/staff/surveys/{id}", tag = "surveys",
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 200, body = SurveyOut),
        (status = 404, body = ApiErrorBody, description = "no survey of the caller's has this id")))]
async fn staff_survey(
    State(state): State<AppState>,
    who: ApiStaff,
    IdPath(id): IdPath<String>,
) -> Result<Json<SurveyOut>, AppError> {
    let survey = state
        .ratings()
        .surveys()
        .for_staff(&who.principal, survey_id(&id)?)
        .await?;
    Ok(Json((&survey).into()))
}

/// Add a question to a draft.
#[utoipa::path(post, path = "/api/v1/staff/surveys/{id}/questions", tag = "surveys",
    request_body = QuestionIn,
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 200, body = SurveyOut),
        (status = 409, body = ApiErrorBody, description = "`survey_wrong_state` (not a draft)"),
        (status = 422, body = ApiErrorBody, description = "`field` is `kind`, `question`, `section`, `options` or `questions`")))]
async fn add_question(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<QuestionIn>,
) -> Result<Json<SurveyOut>, AppError> {
    let kind = QuestionKind::from_code(body.kind.trim()).ok_or(SurveyError::BadKind)?;
    if body.options.len() > MAX_OPTIONS {
        return Err(SurveyError::TooMany("options", MAX_OPTIONS).into());
    }
    let survey = state
        .ratings()
        .surveys()
        .add_question(
            &who.principal,
            survey_id(&id)?,
            &NewQuestion {
                section: body.section,
                kind,
                text: body.text,
                required: body.required,
                options: body.options,
            },
            &source(&meta),
        )
        .await?;
    Ok(Json((&survey).into()))
}

/// Open a draft to answers: to the public, or inviting by SMS the people served by an item or at a
/// hall in a past period.
#[utoipa::path(post, path = "/api/v1/staff/surveys/{id}/publish", tag = "surveys",
    request_body = PublishBody,
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 200, body = SurveyOut),
        (status = 409, body = ApiErrorBody, description = "`survey_wrong_state`"),
        (status = 422, body = ApiErrorBody, description = "`field` is `audience` or `questions` (none yet)")))]
async fn publish(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    Json(body): Json<PublishBody>,
) -> Result<Json<SurveyOut>, AppError> {
    let kind = AudienceKind::from_code(body.audience.trim())
        .ok_or(SurveyError::BadAudience("audience"))?;
    let published = state
        .ratings()
        .surveys()
        .publish(
            &who.principal,
            survey_id(&id)?,
            &Audience {
                kind,
                target: body.target,
                from: body.from,
                until: body.until,
            },
            &source(&meta),
        )
        .await?;
    Ok(Json((&published.survey).into()))
}

/// Close an open survey.
#[utoipa::path(post, path = "/api/v1/staff/surveys/{id}/close", tag = "surveys",
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 200, body = SurveyOut),
        (status = 409, body = ApiErrorBody, description = "`survey_wrong_state` (not open)")))]
async fn close(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
) -> Result<Json<SurveyOut>, AppError> {
    let survey = state
        .ratings()
        .surveys()
        .close(&who.principal, survey_id(&id)?, &source(&meta))
        .await?;
    Ok(Json((&survey).into()))
}

/// Counts, percentages and averages per question (the department's administrators; supervisors
/// over its region).
#[utoipa::path(get, path = "/api/v1/staff/surveys/{id}/results", tag = "surveys",
    params(("id" = String, Path, description = "the survey's id")),
    responses((status = 200, body = ResultsOut),
        (status = 404, body = ApiErrorBody, description = "no survey the caller may read has this id")))]
async fn results(
    State(state): State<AppState>,
    who: ApiStaff,
    IdPath(id): IdPath<String>,
) -> Result<Json<ResultsOut>, AppError> {
    let results = state
        .ratings()
        .surveys()
        .results(&who.principal, survey_id(&id)?)
        .await?;
    Ok(Json((&results).into()))
}
