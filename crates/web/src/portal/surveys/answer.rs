//! Answering: the open public surveys, one survey's form (one answer per person or browser), and
//! the form of an SMS invitation (its one-use link, no log-in).

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use yiwang_identity::model::Account;
use yiwang_ratings::survey::model::{AudienceKind, SurveyStatus, SurveyView};
use yiwang_ratings::survey::service::MAX_TOKEN_CHARS;
use yiwang_ratings::survey::{AnswerChannel, Respondent, SurveyError, Surveys};

use super::{
    SectionField, answer_refusal, answers_from_form, question_fields, source, survey_message,
};
use crate::auth::{Client, MaybeUser, anonymous_csrf};
use crate::error::AppError;
use crate::extract::{GuestForm, IdPath};
use crate::page::PageCtx;
use crate::portal::form::{CsrfCookie, FormErrors, with_cookie};
use crate::portal::render;
use crate::state::AppState;

/// The cookie that names a browser to public surveys (a signed random nonce).
pub const BROWSER_COOKIE: &str = "yw_survey";

/// The browser's survey cookie, if any.
#[derive(Debug)]
pub(super) struct BrowserCookie(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for BrowserCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(BrowserCookie(crate::prefs::cookie(parts, BROWSER_COOKIE)))
    }
}

/// The verified browser id, and the cookie to set when there was none (or a forged one).
fn browser(surveys: &Surveys, cookie: Option<&str>, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(id) = cookie.and_then(|c| surveys.browser_id(c)) {
        return (id, None);
    }
    let value = surveys.new_browser_cookie();
    let id = surveys.browser_id(&value).unwrap_or_default();
    let secure = if secure { "; Secure" } else { "" };
    let header = HeaderValue::from_str(&format!(
        "{BROWSER_COOKIE}={value}; Path=/surveys; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok();
    (id, header)
}

fn person_of(user: &MaybeUser) -> Option<yiwang_identity::model::PersonId> {
    match user.0.as_ref().map(|(s, _)| s.account) {
        Some(Account::Person(p)) => Some(p),
        _ => None,
    }
}

// ------------------------------------------------------------------------------- open list

/// An open survey in the list.
#[derive(Debug)]
pub struct OpenRow {
    pub id: String,
    pub title: String,
    pub department: String,
    pub published: String,
}

#[derive(Template)]
#[template(path = "surveys/list.html")]
pub(super) struct ListPage {
    page: PageCtx,
    rows: Vec<OpenRow>,
}

pub(super) async fn open_list(
    State(state): State<AppState>,
    page: PageCtx,
) -> Result<Response, AppError> {
    let found = state.ratings().surveys().open_public(50).await?;
    render(&ListPage {
        rows: found
            .iter()
            .map(|s| OpenRow {
                id: s.public_id.clone(),
                title: s.title.clone(),
                department: s.department_name.clone(),
                published: s
                    .published_at
                    .map(|t| page.local_time(&t))
                    .unwrap_or_default(),
            })
            .collect(),
        page,
    })
}

// ------------------------------------------------------------------------------- one survey

#[derive(Template)]
#[template(path = "surveys/answer.html")]
pub(super) struct AnswerPage {
    page: PageCtx,
    csrf: String,
    /// Where the form posts.
    action: String,
    /// The invitation token, for the hidden field.
    token: String,
    title: String,
    intro: String,
    department: String,
    sections: Vec<SectionField>,
    errors: FormErrors,
    /// Why the form is not shown (closed, answered, invitation only, a bad link).
    refused: Option<String>,
    done: bool,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from the request or the service"
)]
fn answer_page(
    page: PageCtx,
    csrf: String,
    action: String,
    token: String,
    survey: Option<&SurveyView>,
    pairs: &[(String, String)],
    errors: FormErrors,
    refused: Option<String>,
    done: bool,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let status = if refused.is_some() || !errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = render(&AnswerPage {
        csrf,
        action,
        token,
        title: survey.map(|s| s.title.clone()).unwrap_or_default(),
        intro: survey.map(|s| s.intro.clone()).unwrap_or_default(),
        department: survey
            .map(|s| s.department_name.clone())
            .unwrap_or_default(),
        sections: survey
            .filter(|_| !done && refused.is_none())
            .map(|s| question_fields(tr, &s.definition, pairs, &errors))
            .unwrap_or_default(),
        errors,
        refused,
        done,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

/// Why a public survey cannot be answered by this respondent now, if it cannot.
async fn public_refusal(
    surveys: &Surveys,
    page: &PageCtx,
    survey: &SurveyView,
    respondent: Respondent<'_>,
) -> Result<Option<String>, AppError> {
    let error = if survey.status != SurveyStatus::Open {
        Some(SurveyError::NotOpen)
    } else if survey.audience.kind != AudienceKind::Public {
        Some(SurveyError::InvitationOnly)
    } else if surveys.has_answered(survey, respondent).await? {
        Some(SurveyError::AlreadyAnswered)
    } else {
        None
    };
    Ok(error.map(|e| survey_message(page.tr, &e)))
}

pub(super) async fn form(
    State(state): State<AppState>,
    page: PageCtx,
    user: MaybeUser,
    CsrfCookie(existing): CsrfCookie,
    BrowserCookie(cookie): BrowserCookie,
    IdPath(id): IdPath<String>,
) -> Result<Response, AppError> {
    let surveys = state.ratings().surveys();
    let survey = surveys.published(&id).await?;
    let secure = state.config().cookie_secure;
    let (csrf, set_csrf) = anonymous_csrf(existing, secure);
    let (browser_id, set_browser) = browser(&surveys, cookie.as_deref(), secure);
    let respondent = person_of(&user).map_or(Respondent::Browser(&browser_id), Respondent::Person);
    let refused = public_refusal(&surveys, &page, &survey, respondent).await?;
    let response = answer_page(
        page,
        csrf,
        format!("/surveys/{}", survey.public_id),
        String::new(),
        Some(&survey),
        &[],
        FormErrors::default(),
        refused,
        false,
    )?;
    Ok(with_cookie(with_cookie(response, set_csrf), set_browser))
}

pub(super) async fn submit(
    State(state): State<AppState>,
    page: PageCtx,
    user: MaybeUser,
    Client(meta): Client,
    BrowserCookie(cookie): BrowserCookie,
    IdPath(id): IdPath<String>,
    GuestForm(pairs): GuestForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    crate::throttle::guard_survey(&state, &meta.ip).await?;
    let surveys = state.ratings().surveys();
    let survey = surveys.published(&id).await?;
    let csrf = super::form_value(&pairs, "csrf");
    let action = format!("/surveys/{}", survey.public_id);
    let tr = page.tr;
    let person = person_of(&user);
    // Without a person or a valid browser cookie there is nobody to count the answer against:
    // the form page sets the cookie, so a post without one did not come from it.
    let browser_id = cookie.as_deref().and_then(|c| surveys.browser_id(c));
    let respondent = match (person, browser_id.as_deref()) {
        (Some(p), _) => Respondent::Person(p),
        (None, Some(b)) => Respondent::Browser(b),
        (None, None) => {
            let refused = Some(tr.t("survey.page.answer.no_cookie").to_owned());
            return answer_page(
                page,
                csrf,
                action,
                String::new(),
                Some(&survey),
                &pairs,
                FormErrors::default(),
                refused,
                false,
            );
        }
    };
    let answers = match answers_from_form(tr, &survey.definition, &pairs) {
        Ok(a) => a,
        Err(errors) => {
            return answer_page(
                page,
                csrf,
                action,
                String::new(),
                Some(&survey),
                &pairs,
                errors,
                None,
                false,
            );
        }
    };
    match surveys
        .answer(
            &survey.public_id,
            respondent,
            &answers,
            AnswerChannel::Web,
            &source(&meta),
        )
        .await
    {
        Ok(()) => answer_page(
            page,
            csrf,
            action,
            String::new(),
            Some(&survey),
            &[],
            FormErrors::default(),
            None,
            true,
        ),
        Err(error) => {
            if let Some(errors) = answer_refusal(tr, &error) {
                return answer_page(
                    page,
                    csrf,
                    action,
                    String::new(),
                    Some(&survey),
                    &pairs,
                    errors,
                    None,
                    false,
                );
            }
            match error {
                SurveyError::AlreadyAnswered
                | SurveyError::NotOpen
                | SurveyError::Full
                | SurveyError::InvitationOnly => {
                    let refused = Some(survey_message(tr, &error));
                    let mut response = answer_page(
                        page,
                        csrf,
                        action,
                        String::new(),
                        Some(&survey),
                        &pairs,
                        FormErrors::default(),
                        refused,
                        false,
                    )?;
                    *response.status_mut() = StatusCode::CONFLICT;
                    Ok(response)
                }
                other => Err(other.into()),
            }
        }
    }
}

// ------------------------------------------------------------------------------- invitation

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InvitationQuery {
    t: String,
}

pub(super) async fn invitation_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Query(query): Query<InvitationQuery>,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let found = if query.t.len() > MAX_TOKEN_CHARS {
        Err(SurveyError::TokenInvalid)
    } else {
        state.ratings().surveys().invitation(&query.t).await
    };
    let (survey, refused) = match found {
        Ok(s) => (Some(s), None),
        Err(
            e @ (SurveyError::TokenInvalid
            | SurveyError::AlreadyAnswered
            | SurveyError::NotOpen
            | SurveyError::NotFound),
        ) => (None, Some(survey_message(page.tr, &e))),
        Err(e) => return Err(e.into()),
    };
    let mut response = answer_page(
        page,
        csrf,
        "/surveys/invitation".to_owned(),
        query.t.clone(),
        survey.as_ref(),
        &[],
        FormErrors::default(),
        refused,
        false,
    )?;
    // The link is a credential: never from a cache.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(with_cookie(response, set))
}

pub(super) async fn invitation_answer(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(pairs): GuestForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = super::form_value(&pairs, "t");
    let csrf = super::form_value(&pairs, "csrf");
    let action = "/surveys/invitation".to_owned();
    let tr = page.tr;
    let surveys = state.ratings().surveys();
    let found = if token.len() > MAX_TOKEN_CHARS {
        Err(SurveyError::TokenInvalid)
    } else {
        surveys.invitation(&token).await
    };
    let survey = match found {
        Ok(s) => s,
        Err(
            e @ (SurveyError::TokenInvalid
            | SurveyError::AlreadyAnswered
            | SurveyError::NotOpen
            | SurveyError::NotFound),
        ) => {
            let refused = Some(survey_message(tr, &e));
            return answer_page(
                page,
                csrf,
                action,
                token,
                None,
                &pairs,
                FormErrors::default(),
                refused,
                false,
            );
        }
        Err(e) => return Err(e.into()),
    };
    let answers = match answers_from_form(tr, &survey.definition, &pairs) {
        Ok(a) => a,
        Err(errors) => {
            return answer_page(
                page,
                csrf,
                action,
                token,
                Some(&survey),
                &pairs,
                errors,
                None,
                false,
            );
        }
    };
    match surveys
        .answer_by_invitation(&token, &answers, &source(&meta))
        .await
    {
        Ok(()) => answer_page(
            page,
            csrf,
            action,
            String::new(),
            Some(&survey),
            &[],
            FormErrors::default(),
            None,
            true,
        ),
        Err(error) => match answer_refusal(tr, &error) {
            Some(errors) => answer_page(
                page,
                csrf,
                action,
                token,
                Some(&survey),
                &pairs,
                errors,
                None,
                false,
            ),
            None => match error {
                SurveyError::AlreadyAnswered | SurveyError::NotOpen | SurveyError::Full => {
                    let refused = Some(survey_message(tr, &error));
                    answer_page(
                        page,
                        csrf,
                        action,
                        token,
                        None,
                        &pairs,
                        FormErrors::default(),
                        refused,
                        false,
                    )
                }
                other => Err(other.into()),
            },
        },
    }
}
