//! The window's rating tablet (窗口评价器): `/staff/tablets/{window}` runs on the session of a
//! staff member of the hall's department, on a tablet facing the counter. After a ticket is served
//! to the end at the window, the tablet offers it for rating for a quarter of an hour: the person
//! just served taps a level (and tags or a comment) and the rating is recorded for them, channel
//! `tablet`. Between people it shows a waiting screen that reloads itself (no JavaScript needed).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use yiwang_appointments::model::ResourceId;
use yiwang_ratings::model::{EventKind, EventRef};
use yiwang_ratings::service::{EventFacts, MAX_TEXT_CHARS};
use yiwang_ratings::{NewRating, RatingError};

use super::citizen::{RateInput, refusal};
use super::{Choice, form_value, form_values, level_choices, source, tag_choices};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageStaff};
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

/// Seconds between reloads of the waiting screen, and of the thanks before it.
const WAITING_REFRESH_SECS: u32 = 10;
const THANKS_REFRESH_SECS: u32 = 5;

#[derive(Template)]
#[template(path = "ratings/tablet.html")]
pub(super) struct TabletPage {
    page: PageCtx,
    csrf: String,
    window: i64,
    /// The ticket offered, when there is one.
    offer: Option<Offer>,
    thanks: bool,
    refresh: u32,
    levels: Vec<Choice>,
    tags: Vec<Choice>,
    input: RateInput,
    errors: FormErrors,
    max_text: usize,
}

/// The ticket on offer, as the tablet shows it.
#[derive(Debug)]
pub struct Offer {
    pub ticket: i64,
    pub label: String,
}

impl From<EventFacts> for Offer {
    fn from(f: EventFacts) -> Self {
        Self {
            ticket: f.event.id,
            label: f.label,
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct TabletQuery {
    done: Option<String>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from the request or the service"
)]
fn tablet_page(
    page: PageCtx,
    caller: &PageStaff,
    window: ResourceId,
    offer: Option<EventFacts>,
    thanks: bool,
    input: RateInput,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let refresh = match (&offer, thanks) {
        (_, true) => THANKS_REFRESH_SECS,
        (None, false) => WAITING_REFRESH_SECS,
        // A form being filled in is never reloaded under the person's finger.
        (Some(_), false) => 0,
    };
    let mut response = render(&TabletPage {
        csrf: caller.session().csrf_token.clone(),
        window: window.get(),
        offer: offer.map(Offer::from),
        thanks,
        refresh,
        levels: level_choices(tr, &input.level),
        tags: tag_choices(tr, &input.tags),
        input,
        errors,
        max_text: MAX_TEXT_CHARS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn show(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    IdPath(window): IdPath<ResourceId>,
    axum::extract::Query(query): axum::extract::Query<TabletQuery>,
) -> Result<Response, AppError> {
    let thanks = query.done.is_some();
    let offer = if thanks {
        None
    } else {
        state
            .ratings()
            .tablet_offer(&caller.principal, window)
            .await?
    };
    tablet_page(
        page,
        &caller,
        window,
        offer,
        thanks,
        RateInput::default(),
        FormErrors::default(),
        StatusCode::OK,
    )
}

pub(super) async fn rate(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(window): IdPath<ResourceId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let input = RateInput::new(
        form_value(&pairs, "level"),
        form_values(&pairs, "tags"),
        form_value(&pairs, "text"),
    );
    let ratings = state.ratings();
    // The ticket the form was shown for; a stale form (another ticket now, or none) is refused.
    let ticket = form_value(&pairs, "ticket").trim().parse::<i64>().ok();
    let offer = ratings.tablet_offer(&caller.principal, window).await?;
    let offered = offer.as_ref().map(|o| o.event.id);
    let (Some(ticket), true) = (ticket, ticket == offered) else {
        return Err(RatingError::EventNotFound.into());
    };
    let Ok(level) = input.level.trim().parse::<u8>() else {
        let errors = FormErrors::one("level", tr.t("rating.page.rate.need_level").to_owned());
        return tablet_page(
            page,
            &caller,
            window,
            offer,
            false,
            input,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    };
    let result = ratings
        .rate_at_tablet(
            &caller.principal,
            window,
            &NewRating {
                event: EventRef {
                    kind: EventKind::Ticket,
                    id: ticket,
                },
                level,
                tags: input.tags.clone(),
                text: input.text.clone(),
            },
            &source(&meta),
        )
        .await;
    match result {
        Ok(_) => Ok(see_other(&format!(
            "/staff/tablets/{}?done=1",
            window.get()
        ))),
        Err(error) => {
            let Some((errors, status)) = refusal(tr, &error) else {
                return Err(error.into());
            };
            tablet_page(page, &caller, window, offer, false, input, errors, status)
        }
    }
}
