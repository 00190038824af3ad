//! The department's side: its surveys, the builder (a draft grows one posted question at a time),
//! publication, closing, the results with bar charts, and the CSV export.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use yiwang_kernel::PageRequest;
use yiwang_ratings::survey::SurveyError;
use yiwang_ratings::survey::model::{
    Audience, AudienceKind, MAX_INTRO_CHARS, MAX_OPTION_CHARS, MAX_OPTIONS, MAX_QUESTION_CHARS,
    MAX_SECTION_CHARS, MAX_TITLE_CHARS, NewQuestion, QuestionKind, SurveyView, answer_cells,
};

use super::{kind_name, source, status_name, survey_message};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::ratings::charts::{BarChart, Row, Series};
use crate::portal::render;
use crate::state::AppState;

/// Surveys per page of the list.
const PAGE_SIZE: u32 = 20;

/// A survey in the staff list.
#[derive(Debug)]
pub struct SurveyRow {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub audience: &'static str,
    pub responses: u64,
    pub created: String,
}

fn audience_name(tr: Tr, kind: AudienceKind) -> &'static str {
    tr.t(&format!("survey.page.audience.{}", kind.code()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListQuery {
    page: Option<u32>,
}

/// What was typed into the new-survey form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CreateForm {
    title: String,
    intro: String,
}

#[derive(Template)]
#[template(path = "surveys/staff_list.html")]
pub(super) struct ListPage {
    page: PageCtx,
    csrf: String,
    rows: Vec<SurveyRow>,
    total: u64,
    next: Option<u32>,
    prev: Option<u32>,
    form: CreateForm,
    errors: FormErrors,
    max_title: usize,
    max_intro: usize,
}

async fn list_page(
    state: &AppState,
    page: PageCtx,
    caller: &PageStaff,
    number: Option<u32>,
    form: CreateForm,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let request = PageRequest::new(number, Some(PAGE_SIZE)).map_err(|e| AppError::Invalid {
        field: "page".to_owned(),
        code: yiwang_kernel::ErrorCode::code(&e).to_owned(),
        message: e.to_string(),
    })?;
    let found = state
        .ratings()
        .surveys()
        .list(&caller.principal, request)
        .await?;
    let tr = page.tr;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&ListPage {
        csrf: caller.session().csrf_token.clone(),
        rows: found
            .items
            .iter()
            .map(|s| SurveyRow {
                id: s.public_id.clone(),
                title: s.title.clone(),
                status: status_name(tr, s.status),
                audience: audience_name(tr, s.audience.kind),
                responses: s.responses,
                created: page.local_time(&s.created_at),
            })
            .collect(),
        total: found.total,
        next: found.has_next().then(|| request.page() + 1),
        prev: (request.page() > 1).then(|| request.page() - 1),
        form,
        errors,
        max_title: MAX_TITLE_CHARS,
        max_intro: MAX_INTRO_CHARS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    list_page(
        &state,
        page,
        &caller,
        query.page,
        CreateForm::default(),
        FormErrors::default(),
    )
    .await
}

/// The form error of a refused change, on the field it names.
fn field_error(tr: Tr, error: &SurveyError) -> Option<FormErrors> {
    let field = match error {
        SurveyError::Required(f) | SurveyError::TooLong(f) => match *f {
            "question" => "text",
            other => other,
        },
        SurveyError::TooMany("options", _)
        | SurveyError::TooFewOptions(_)
        | SurveyError::DuplicateOption => "options",
        SurveyError::TooMany(..) | SurveyError::Empty => "questions",
        SurveyError::BadKind => "kind",
        SurveyError::BadAudience("period") => "from",
        SurveyError::BadAudience(_) | SurveyError::TooManyInvites(_) => "target",
        SurveyError::WrongState(..) | SurveyError::Conflict => "status",
        _ => return None,
    };
    Some(FormErrors::one(field, survey_message(tr, error)))
}

pub(super) async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> Result<Response, AppError> {
    match state
        .ratings()
        .surveys()
        .create(
            &caller.principal,
            None,
            &form.title,
            &form.intro,
            &source(&meta),
        )
        .await
    {
        Ok(s) => Ok(see_other(&format!("/staff/surveys/{}", s.public_id))),
        Err(error) => match field_error(page.tr, &error) {
            Some(errors) => list_page(&state, page, &caller, None, form, errors).await,
            None => Err(error.into()),
        },
    }
}

// ------------------------------------------------------------------------------- the builder

/// A question as the builder lists it.
#[derive(Debug)]
pub struct BuiltQuestion {
    pub key: String,
    pub kind: &'static str,
    pub text: String,
    pub required: bool,
    pub options: Vec<String>,
}

/// A section as the builder lists it.
#[derive(Debug)]
pub struct BuiltSection {
    pub title: String,
    pub questions: Vec<BuiltQuestion>,
}

/// What was typed into the builder's forms.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct BuilderForm {
    section: String,
    kind: String,
    text: String,
    required: Option<String>,
    options: String,
    audience: String,
    target: String,
    from: String,
    until: String,
}

#[derive(Template)]
#[template(path = "surveys/staff_survey.html")]
pub(super) struct BuilderPage {
    page: PageCtx,
    csrf: String,
    id: String,
    title: String,
    intro: String,
    status: &'static str,
    status_code: &'static str,
    audience: &'static str,
    period: String,
    invited: u64,
    responses: u64,
    sections: Vec<BuiltSection>,
    kinds: Vec<(&'static str, &'static str)>,
    audiences: Vec<(&'static str, &'static str)>,
    form: BuilderForm,
    errors: FormErrors,
    done: Option<&'static str>,
    max_section: usize,
    max_question: usize,
    max_option: usize,
    max_options: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

fn builder_page(
    page: PageCtx,
    csrf: String,
    survey: &SurveyView,
    form: BuilderForm,
    errors: FormErrors,
    done: Option<&'static str>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let period = match (survey.audience.from, survey.audience.until) {
        (Some(f), Some(u)) => format!("{f} – {u}"),
        _ => String::new(),
    };
    let mut response = render(&BuilderPage {
        csrf,
        id: survey.public_id.clone(),
        title: survey.title.clone(),
        intro: survey.intro.clone(),
        status: status_name(tr, survey.status),
        status_code: survey.status.code(),
        audience: audience_name(tr, survey.audience.kind),
        period,
        invited: survey.invited,
        responses: survey.responses,
        sections: survey
            .definition
            .sections
            .iter()
            .map(|s| BuiltSection {
                title: s.title.clone(),
                questions: s
                    .questions
                    .iter()
                    .map(|q| BuiltQuestion {
                        key: q.key.clone(),
                        kind: kind_name(tr, q.kind),
                        text: q.text.clone(),
                        required: q.required,
                        options: q.options.clone(),
                    })
                    .collect(),
            })
            .collect(),
        kinds: QuestionKind::ALL
            .iter()
            .map(|k| (k.code(), kind_name(tr, *k)))
            .collect(),
        audiences: AudienceKind::ALL
            .iter()
            .map(|a| (a.code(), audience_name(tr, *a)))
            .collect(),
        form,
        errors,
        done,
        max_section: MAX_SECTION_CHARS,
        max_question: MAX_QUESTION_CHARS,
        max_option: MAX_OPTION_CHARS,
        max_options: MAX_OPTIONS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

fn done_key(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "added" => Some("survey.page.builder.done_added"),
        "removed" => Some("survey.page.builder.done_removed"),
        "published" => Some("survey.page.builder.done_published"),
        "closed" => Some("survey.page.builder.done_closed"),
        _ => None,
    }
}

pub(super) async fn builder(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    IdPath(id): IdPath<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let survey = state
        .ratings()
        .surveys()
        .for_staff(&caller.principal, &id)
        .await?;
    builder_page(
        page,
        caller.session().csrf_token.clone(),
        &survey,
        BuilderForm::default(),
        FormErrors::default(),
        done_key(query.done.as_deref()),
    )
}

/// Shows the builder again with the refusal on its field, or fails the request.
async fn refused(
    state: &AppState,
    page: PageCtx,
    caller: &PageStaff,
    id: &str,
    form: BuilderForm,
    error: SurveyError,
) -> Result<Response, AppError> {
    let Some(errors) = field_error(page.tr, &error) else {
        return Err(error.into());
    };
    let survey = state
        .ratings()
        .surveys()
        .for_staff(&caller.principal, id)
        .await?;
    builder_page(
        page,
        caller.session().csrf_token.clone(),
        &survey,
        form,
        errors,
        None,
    )
}

pub(super) async fn add_question(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    CsrfForm(form): CsrfForm<BuilderForm>,
) -> Result<Response, AppError> {
    let Some(kind) = QuestionKind::from_code(form.kind.trim()) else {
        return refused(&state, page, &caller, &id, form, SurveyError::BadKind).await;
    };
    // One option a line; more lines than any question may have are refused unread.
    let lines: Vec<String> = form
        .options
        .lines()
        .take(MAX_OPTIONS + 50)
        .map(str::to_owned)
        .collect();
    let question = NewQuestion {
        section: form.section.clone(),
        kind,
        text: form.text.clone(),
        required: form.required.is_some(),
        options: lines,
    };
    match state
        .ratings()
        .surveys()
        .add_question(&caller.principal, &id, &question, &source(&meta))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/staff/surveys/{id}?done=added#questions"
        ))),
        Err(error) => refused(&state, page, &caller, &id, form, error).await,
    }
}

pub(super) async fn remove_question(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath((id, key)): IdPath<(String, String)>,
    CsrfForm(_form): CsrfForm<BuilderForm>,
) -> Result<Response, AppError> {
    if key.len() > 16 {
        return Err(AppError::NotFound);
    }
    match state
        .ratings()
        .surveys()
        .remove_question(&caller.principal, &id, &key, &source(&meta))
        .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/staff/surveys/{id}?done=removed#questions"
        ))),
        Err(error) => refused(&state, page, &caller, &id, BuilderForm::default(), error).await,
    }
}

fn parse_day(text: &str) -> Result<Option<NaiveDate>, SurveyError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| SurveyError::BadAudience("period"))
}

/// The audience chosen in the publication form.
fn audience_of(form: &BuilderForm) -> Result<Audience, SurveyError> {
    let kind = AudienceKind::from_code(form.audience.trim())
        .ok_or(SurveyError::BadAudience("audience"))?;
    let target = match form.target.trim() {
        "" => None,
        t => Some(
            t.parse::<i64>()
                .map_err(|_| SurveyError::BadAudience("target"))?,
        ),
    };
    Ok(Audience {
        kind,
        target,
        from: parse_day(&form.from)?,
        until: parse_day(&form.until)?,
    })
}

pub(super) async fn publish(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    CsrfForm(form): CsrfForm<BuilderForm>,
) -> Result<Response, AppError> {
    let audience = audience_of(&form);
    let audience = match audience {
        Ok(a) => a,
        Err(error) => return refused(&state, page, &caller, &id, form, error).await,
    };
    match state
        .ratings()
        .surveys()
        .publish(&caller.principal, &id, &audience, &source(&meta))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/staff/surveys/{id}?done=published"))),
        Err(error) => refused(&state, page, &caller, &id, form, error).await,
    }
}

pub(super) async fn close(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(id): IdPath<String>,
    CsrfForm(form): CsrfForm<BuilderForm>,
) -> Result<Response, AppError> {
    match state
        .ratings()
        .surveys()
        .close(&caller.principal, &id, &source(&meta))
        .await
    {
        Ok(_) => Ok(see_other(&format!("/staff/surveys/{id}?done=closed"))),
        Err(error) => refused(&state, page, &caller, &id, form, error).await,
    }
}

// ------------------------------------------------------------------------------- results

/// One line of a question's table.
#[derive(Debug)]
pub struct CountLine {
    pub label: String,
    pub count: u64,
    pub percent: String,
}

/// One question's results.
#[derive(Debug)]
pub struct QuestionBlock {
    pub key: String,
    pub section: String,
    pub kind: &'static str,
    pub text: String,
    pub answered: u64,
    pub lines: Vec<CountLine>,
    pub average: Option<String>,
    pub texts: Vec<String>,
    pub more_texts: usize,
    pub chart: String,
}

/// Text answers shown on the page per question (all are in the CSV).
const TEXTS_SHOWN: usize = 20;

#[derive(Template)]
#[template(path = "surveys/results.html")]
pub(super) struct ResultsPage {
    page: PageCtx,
    id: String,
    title: String,
    status: &'static str,
    responses: u64,
    questions: Vec<QuestionBlock>,
}

fn percent_text(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{p:.1}%"))
}

pub(super) async fn results(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    IdPath(id): IdPath<String>,
) -> Result<Response, AppError> {
    let results = state
        .ratings()
        .surveys()
        .results(&caller.principal, &id)
        .await?;
    let tr = page.tr;
    let share = tr.t("survey.page.results.share");
    let questions = results
        .questions
        .iter()
        .map(|q| {
            let chart_id = format!("chart-{}", q.key);
            let title = q.text.clone();
            let description = tr.t("survey.page.results.chart_desc");
            let chart = if q.counts.is_empty() {
                String::new()
            } else {
                BarChart {
                    id: &chart_id,
                    title: &title,
                    description,
                    series: vec![Series {
                        name: share.to_owned(),
                        class: "a",
                    }],
                    rows: q
                        .counts
                        .iter()
                        .map(|c| Row {
                            label: if q.kind == QuestionKind::Scale {
                                tr.t(&format!("survey.page.scale.{}", c.label)).to_owned()
                            } else {
                                c.label.clone()
                            },
                            values: vec![c.percent],
                        })
                        .collect(),
                    max: 100.0,
                    suffix: "%",
                    decimals: 1,
                }
                .render()
            };
            QuestionBlock {
                key: q.key.clone(),
                section: q.section.clone(),
                kind: kind_name(tr, q.kind),
                text: q.text.clone(),
                answered: q.answered,
                lines: q
                    .counts
                    .iter()
                    .map(|c| CountLine {
                        label: if q.kind == QuestionKind::Scale {
                            tr.t(&format!("survey.page.scale.{}", c.label)).to_owned()
                        } else {
                            c.label.clone()
                        },
                        count: c.count,
                        percent: percent_text(c.percent),
                    })
                    .collect(),
                average: q.average.map(|a| format!("{a:.2}")),
                texts: q.texts.iter().take(TEXTS_SHOWN).cloned().collect(),
                more_texts: q.texts.len().saturating_sub(TEXTS_SHOWN),
                chart,
            }
        })
        .collect();
    render(&ResultsPage {
        id: results.survey.public_id.clone(),
        title: results.survey.title.clone(),
        status: status_name(tr, results.survey.status),
        responses: results.responses,
        questions,
        page,
    })
}

/// A CSV cell: quoted when it holds a comma, quote or line break; a leading `=+-@` is prefixed
/// with `'` so spreadsheet programs do not run it as a formula.
fn csv_cell(text: &str) -> String {
    let mut text = text.to_owned();
    if text.starts_with(['=', '+', '-', '@']) {
        text.insert(0, '\'');
    }
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

pub(super) async fn results_csv(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    IdPath(id): IdPath<String>,
) -> Result<Response, AppError> {
    let (survey, responses) = state
        .ratings()
        .surveys()
        .responses(&caller.principal, &id)
        .await?;
    let tr = page.tr;
    let mut out = String::from("\u{feff}");
    let mut header = vec![
        csv_cell(tr.t("survey.page.csv.answered_at")),
        csv_cell(tr.t("survey.page.csv.channel")),
    ];
    header.extend(
        survey
            .definition
            .questions()
            .map(|(_, q)| csv_cell(&format!("{} {}", q.key, q.text))),
    );
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    // Oldest first, as a sheet is read.
    for r in responses.iter().rev() {
        let mut cells = vec![
            csv_cell(&page.local_time(&r.answered_at)),
            csv_cell(tr.t(&format!("survey.page.channel.{}", r.channel))),
        ];
        cells.extend(
            answer_cells(&survey.definition, &r.answers)
                .iter()
                .map(String::as_str)
                .map(csv_cell),
        );
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    let mut response = out.into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"survey-{}.csv\"",
        survey.public_id
    )) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
