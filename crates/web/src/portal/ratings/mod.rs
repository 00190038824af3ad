//! Rating pages (好差评): the person rates what they were served in (from the case page, their
//! ratings list, or an SMS link without logging in) and adds one 追评; the department's handlers
//! work their rectification inbox (核实 → 整改 → 回访 → 办结, 申诉); supervisors decide appeals and
//! urge (督办) departments; everyone reads the monthly disclosure (`/ratings`); staff read the
//! performance indicators and the scoreboard (`/staff/indicators`). Every form works without
//! JavaScript.

pub(crate) mod charts;
mod citizen;
mod indicators;
mod public;
mod staff;
mod tablet;

use axum::Router;
use axum::routing::{get, post};
use yiwang_kernel::PageRequest;
use yiwang_ratings::model::{Level, RectStatus, TAGS, Tag};

use crate::error::AppError;
use crate::i18n::Tr;
use crate::state::AppState;

/// Rows per page of the lists.
const PAGE_SIZE: u32 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ratings", get(public::disclosure))
        .route("/my/ratings", get(citizen::mine))
        .route(
            "/my/ratings/rate",
            get(citizen::rate_form).post(citizen::rate),
        )
        .route("/my/ratings/follow-up", post(citizen::follow_up))
        .route(
            "/rate/link",
            get(citizen::link_form).post(citizen::link_rate),
        )
        .route("/staff/indicators", get(indicators::page))
        .route(
            "/staff/indicators/scoreboard.csv",
            get(indicators::scoreboard_csv),
        )
        .route("/staff/ratings", get(staff::inbox))
        .route("/staff/ratings/appeals", get(staff::appeals))
        .route(
            "/staff/ratings/urgings",
            get(staff::urgings).post(staff::urge),
        )
        .route(
            "/staff/ratings/urgings/{id}/reply",
            post(staff::reply_urging),
        )
        .route("/staff/tablets/{id}", get(tablet::show).post(tablet::rate))
        .route("/staff/ratings/{id}", get(staff::task))
        .route("/staff/ratings/{id}/{action}", post(staff::act))
}

/// What audit entries name as the request's source.
fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("web:{}", meta.ip)
}

fn page_request(page: Option<u32>) -> Result<PageRequest, AppError> {
    PageRequest::new(page, Some(PAGE_SIZE)).map_err(|e| AppError::Invalid {
        field: "page".to_owned(),
        code: yiwang_kernel::ErrorCode::code(&e).to_owned(),
        message: e.to_string(),
    })
}

/// A level as the pages name it (非常满意 … 非常不满意).
fn level_name(tr: Tr, level: Level) -> &'static str {
    tr.t(&format!("rating.page.level.{}", level.code()))
}

/// A tag's label from its code (the code itself when unknown).
fn tag_label(tr: Tr, code: &str) -> String {
    Tag::find(code).map_or_else(
        || code.to_owned(),
        |t| tr.t(&format!("rating.page.tag.{}", t.code)).to_owned(),
    )
}

fn tag_labels(tr: Tr, codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| tag_label(tr, c))
        .collect::<Vec<_>>()
        .join("、")
}

fn status_name(tr: Tr, status: RectStatus) -> &'static str {
    tr.t(&format!("rating.page.status.{}", status.code()))
}

/// The localized message of a rating error.
fn rating_message(tr: Tr, error: &yiwang_ratings::RatingError) -> String {
    use yiwang_kernel::ErrorCode as _;
    crate::portal::form::message_for(tr, error.code(), &error.to_string())
}

/// A choice of a radio group or a check box.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub hint: String,
    pub checked: bool,
}

/// The five levels, 非常满意 first.
fn level_choices(tr: Tr, chosen: &str) -> Vec<Choice> {
    (1..=5_u8)
        .filter_map(Level::new)
        .map(|level| Choice {
            value: level.code().to_string(),
            label: level_name(tr, level).to_owned(),
            hint: String::new(),
            checked: chosen == level.code().to_string(),
        })
        .collect()
}

/// Every tag, with the levels it fits as a hint.
fn tag_choices(tr: Tr, chosen: &[String]) -> Vec<Choice> {
    TAGS.iter()
        .map(|t| Choice {
            value: t.code.to_owned(),
            label: tr.t(&format!("rating.page.tag.{}", t.code)).to_owned(),
            hint: tr.fmt(
                "rating.page.tag_levels",
                &[
                    (
                        "from",
                        level_name(tr, Level::new(t.levels.0).unwrap_or(Level::BASIC)),
                    ),
                    (
                        "to",
                        level_name(tr, Level::new(t.levels.1).unwrap_or(Level::BASIC)),
                    ),
                ],
            ),
            checked: chosen.iter().any(|c| c == t.code),
        })
        .collect()
}

/// The values of a repeated form field, and the first value of the others.
fn form_values(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}
