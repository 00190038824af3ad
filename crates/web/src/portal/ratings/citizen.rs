//! The person's side: their ratings, rating one event (from the case page), the 追评, and the SMS
//! link page that needs no log-in.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Duration;
use serde::Deserialize;
use yiwang_ratings::model::{Channel, EventRef};
use yiwang_ratings::service::{LinkRating, MAX_TEXT_CHARS};
use yiwang_ratings::token::MAX_TOKEN_CHARS;
use yiwang_ratings::{NewRating, RatingError, RatingView};

use super::{
    Choice, form_value, form_values, level_choices, level_name, page_request, rating_message,
    source, tag_choices, tag_labels,
};
use crate::api::ratings::event_ref;
use crate::auth::{Client, anonymous_csrf};
use crate::error::AppError;
use crate::extract::{CsrfForm, GuestForm, PagePerson};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::form::{CsrfCookie, FormErrors, see_other, with_cookie};
use crate::portal::render;
use crate::state::AppState;

/// A rating as the pages show it.
#[derive(Debug)]
pub struct RatingRow {
    pub public_id: String,
    pub label: String,
    pub kind: &'static str,
    pub level: &'static str,
    pub tags: String,
    pub text: String,
    pub rated_at: String,
    pub follow_up: Option<String>,
    pub department: String,
}

fn rating_row(page: &PageCtx, r: &RatingView) -> RatingRow {
    RatingRow {
        public_id: r.public_id.clone(),
        label: r.event_label.clone(),
        kind: page.t(&format!("rating.page.kind.{}", r.event.kind.code())),
        level: level_name(page.tr, r.level),
        tags: tag_labels(page.tr, &r.tags),
        text: r.text.clone(),
        rated_at: page.local_time(&r.rated_at),
        follow_up: r.follow_up.clone(),
        department: r.department_name.clone(),
    }
}

// ------------------------------------------------------------------------------- my ratings

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PageQuery {
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "ratings/mine.html")]
pub(super) struct MinePage {
    page: PageCtx,
    rows: Vec<RatingRow>,
    total: u64,
    pager: Vec<PageLink>,
}

pub(super) async fn mine(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let found = state
        .ratings()
        .my_ratings(&caller.principal, page_request(query.page)?)
        .await?;
    render(&MinePage {
        rows: found.items.iter().map(|r| rating_row(&page, r)).collect(),
        total: found.total,
        pager: pager("/my/ratings", &[], &found),
        page,
    })
}

// ------------------------------------------------------------------------------- rate one event

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EventQuery {
    kind: String,
    id: String,
    done: Option<String>,
}

/// What the person typed, kept when the form comes back with errors.
#[derive(Debug, Default)]
pub(super) struct RateInput {
    pub(super) level: String,
    pub(super) tags: Vec<String>,
    pub(super) text: String,
    pub(super) follow_up: String,
}

impl RateInput {
    /// A rating form's fields as typed (no 追评).
    pub(super) fn new(level: String, tags: Vec<String>, text: String) -> Self {
        Self {
            level,
            tags,
            text,
            follow_up: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "ratings/rate.html")]
pub(super) struct RatePage {
    page: PageCtx,
    csrf: String,
    kind: String,
    id: String,
    label: String,
    rating: Option<RatingRow>,
    can_follow_up: bool,
    follow_up_until: String,
    levels: Vec<Choice>,
    tags: Vec<Choice>,
    input: RateInput,
    errors: FormErrors,
    done: Option<&'static str>,
    max_text: usize,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from the request or the service"
)]
async fn rate_page(
    state: &AppState,
    page: PageCtx,
    caller: &PagePerson,
    kind: &str,
    id: &str,
    event: EventRef,
    input: RateInput,
    errors: FormErrors,
    done: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let ratings = state.ratings();
    let existing = ratings.my_rating_of(&caller.principal, event).await?;
    let label = match &existing {
        Some(r) => r.event_label.clone(),
        None => ratings.rateable(&caller.principal, event).await?.label,
    };
    let period = Duration::days(i64::from(ratings.config().follow_up_days));
    let can_follow_up = existing
        .as_ref()
        .is_some_and(|r| r.follow_up.is_none() && state.clock().now() <= r.rated_at + period);
    let follow_up_until = existing
        .as_ref()
        .map(|r| page.local_time(&(r.rated_at + period)))
        .unwrap_or_default();
    let tr = page.tr;
    let mut response = render(&RatePage {
        csrf: caller.session().csrf_token.clone(),
        kind: kind.to_owned(),
        id: id.to_owned(),
        label,
        rating: existing.as_ref().map(|r| rating_row(&page, r)),
        can_follow_up,
        follow_up_until,
        levels: level_choices(tr, &input.level),
        tags: tag_choices(tr, &input.tags),
        input,
        errors,
        done,
        max_text: MAX_TEXT_CHARS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn rate_form(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Query(query): Query<EventQuery>,
) -> Result<Response, AppError> {
    let event = event_ref(&state, &caller.principal, &query.kind, &query.id).await?;
    let done = match query.done.as_deref() {
        Some("rated") => Some("rating.page.rate.done_rated"),
        Some("follow_up") => Some("rating.page.rate.done_follow_up"),
        _ => None,
    };
    rate_page(
        &state,
        page,
        &caller,
        &query.kind,
        &query.id,
        event,
        RateInput::default(),
        FormErrors::default(),
        done,
        StatusCode::OK,
    )
    .await
}

/// The field a refused rating is shown on, and its answer's status.
pub(super) fn refusal(tr: Tr, error: &RatingError) -> Option<(FormErrors, StatusCode)> {
    let field = match error {
        RatingError::BadLevel => "level",
        RatingError::UnknownTag(_)
        | RatingError::TagNotForLevel { .. }
        | RatingError::TooManyTags(_) => "tags",
        RatingError::TooLong("follow_up") | RatingError::NoteRequired("follow_up") => "follow_up",
        RatingError::TooLong(_) | RatingError::NoteRequired(_) => "text",
        RatingError::AlreadyRated => {
            return Some((
                FormErrors::one("level", rating_message(tr, error)),
                StatusCode::CONFLICT,
            ));
        }
        RatingError::FollowUpClosed | RatingError::FollowUpGiven => {
            return Some((
                FormErrors::one("follow_up", rating_message(tr, error)),
                StatusCode::CONFLICT,
            ));
        }
        RatingError::TokenInvalid | RatingError::TokenExpired | RatingError::TokenUsed => "t",
        _ => return None,
    };
    Some((
        FormErrors::one(field, rating_message(tr, error)),
        StatusCode::UNPROCESSABLE_ENTITY,
    ))
}

fn event_href(kind: &str, id: &str) -> String {
    format!(
        "/my/ratings/rate?kind={}&id={}",
        crate::prefs::encode_component(kind),
        crate::prefs::encode_component(id)
    )
}

pub(super) async fn rate(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Client(meta): Client,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let kind = form_value(&pairs, "kind");
    let id = form_value(&pairs, "id");
    let event = event_ref(&state, &caller.principal, &kind, &id).await?;
    let input = RateInput {
        level: form_value(&pairs, "level"),
        tags: form_values(&pairs, "tags"),
        text: form_value(&pairs, "text"),
        follow_up: String::new(),
    };
    let tr = page.tr;
    let Ok(level) = input.level.trim().parse::<u8>() else {
        let errors = FormErrors::one("level", tr.t("rating.page.rate.need_level").to_owned());
        return rate_page(
            &state,
            page,
            &caller,
            &kind,
            &id,
            event,
            input,
            errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let result = state
        .ratings()
        .rate(
            &caller.principal,
            &NewRating {
                event,
                level,
                tags: input.tags.clone(),
                text: input.text.clone(),
            },
            Channel::Web,
            &source(&meta),
        )
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!("{}&done=rated", event_href(&kind, &id)))),
        Err(error) => {
            let Some((errors, status)) = refusal(tr, &error) else {
                return Err(error.into());
            };
            rate_page(
                &state, page, &caller, &kind, &id, event, input, errors, None, status,
            )
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FollowUpForm {
    kind: String,
    id: String,
    rating: String,
    follow_up: String,
}

pub(super) async fn follow_up(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Client(meta): Client,
    CsrfForm(form): CsrfForm<FollowUpForm>,
) -> Result<Response, AppError> {
    let event = event_ref(&state, &caller.principal, &form.kind, &form.id).await?;
    if form.rating.len() > 64 {
        return Err(AppError::NotFound);
    }
    let result = state
        .ratings()
        .add_follow_up(
            &caller.principal,
            &form.rating,
            &form.follow_up,
            &source(&meta),
        )
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "{}&done=follow_up",
            event_href(&form.kind, &form.id)
        ))),
        Err(error) => {
            let Some((errors, status)) = refusal(page.tr, &error) else {
                return Err(error.into());
            };
            let input = RateInput {
                follow_up: form.follow_up.clone(),
                ..RateInput::default()
            };
            rate_page(
                &state, page, &caller, &form.kind, &form.id, event, input, errors, None, status,
            )
            .await
        }
    }
}

// ------------------------------------------------------------------------------- SMS link

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct LinkQuery {
    t: String,
}

#[derive(Template)]
#[template(path = "ratings/link.html")]
pub(super) struct LinkPage {
    page: PageCtx,
    csrf: String,
    token: String,
    label: Option<String>,
    refused: Option<String>,
    levels: Vec<Choice>,
    tags: Vec<Choice>,
    input: RateInput,
    errors: FormErrors,
    done: bool,
    max_text: usize,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from the request or the service"
)]
async fn link_page(
    state: &AppState,
    page: PageCtx,
    csrf: String,
    token: &str,
    input: RateInput,
    errors: FormErrors,
    done: bool,
    status: StatusCode,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let (label, refused, status) = if done {
        (None, None, status)
    } else if token.chars().nth(MAX_TOKEN_CHARS).is_some() {
        (
            None,
            Some(rating_message(tr, &RatingError::TokenInvalid)),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    } else {
        match state.ratings().link_event(token).await {
            Ok(facts) => (Some(facts.label), None, status),
            Err(
                error @ (RatingError::TokenInvalid
                | RatingError::TokenExpired
                | RatingError::TokenUsed
                | RatingError::EventNotFound),
            ) => (
                None,
                Some(rating_message(tr, &error)),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Err(error) => return Err(error.into()),
        }
    };
    let mut response = render(&LinkPage {
        csrf,
        token: token.to_owned(),
        label,
        refused,
        levels: level_choices(tr, &input.level),
        tags: tag_choices(tr, &input.tags),
        input,
        errors,
        done,
        max_text: MAX_TEXT_CHARS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn link_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Query(query): Query<LinkQuery>,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let mut response = link_page(
        &state,
        page,
        csrf,
        &query.t,
        RateInput::default(),
        FormErrors::default(),
        false,
        StatusCode::OK,
    )
    .await?;
    // The link is a credential: never from a cache, never sent on as a referrer.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(with_cookie(response, set))
}

pub(super) async fn link_rate(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(pairs): GuestForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let token = form_value(&pairs, "t");
    let csrf = form_value(&pairs, "csrf");
    let input = RateInput {
        level: form_value(&pairs, "level"),
        tags: form_values(&pairs, "tags"),
        text: form_value(&pairs, "text"),
        follow_up: String::new(),
    };
    let tr = page.tr;
    let Ok(level) = input.level.trim().parse::<u8>() else {
        let errors = FormErrors::one("level", tr.t("rating.page.rate.need_level").to_owned());
        return link_page(
            &state,
            page,
            csrf,
            &token,
            input,
            errors,
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if token.chars().nth(MAX_TOKEN_CHARS).is_some() {
        return link_page(
            &state,
            page,
            csrf,
            &token,
            input,
            FormErrors::default(),
            false,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let result = state
        .ratings()
        .rate_by_link(
            &token,
            &LinkRating {
                level,
                tags: input.tags.clone(),
                text: input.text.clone(),
            },
            &source(&meta),
        )
        .await;
    match result {
        Ok(_) => {
            link_page(
                &state,
                page,
                csrf,
                "",
                RateInput::default(),
                FormErrors::default(),
                true,
                StatusCode::OK,
            )
            .await
        }
        Err(error) => {
            let Some((errors, status)) = refusal(tr, &error) else {
                return Err(error.into());
            };
            link_page(&state, page, csrf, &token, input, errors, false, status).await
        }
    }
}
