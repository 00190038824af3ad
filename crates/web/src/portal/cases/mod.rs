//! The applicant's pages of cases (办件): applying online (the form of the item version, material files,
//! drafts, check your answers, confirmation with the case number and query code), my cases, one case
//! with its public history, withdrawing, and resubmitting after a supplement notice.
//! Print-ready notices, the public progress query and the disclosures are in `notices`.
//!
//! Everything works without JavaScript: one multipart form carries the answers and a file per material,
//! so nothing chosen is lost when the answers have problems (the draft is saved first, then every
//! problem is shown at once).

mod case;
mod check;
mod form;
mod mine;

use axum::Router;
use axum::routing::{get, post};
use yiwang_cases::model::{Case, CaseEvent, CaseStatus, Outcome};
use yiwang_cases::service::due_date;
use yiwang_cases::{CaseError, CaseView, Origin};
use yiwang_identity::policy::Principal;
use yiwang_kernel::ErrorCode as _;

use crate::error::AppError;
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::message_for;
use crate::state::AppState;

/// Cases listed per page of "my cases".
const PAGE_SIZE: u32 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply/{item}", get(form::apply_new))
        .route("/my/cases", get(mine::my_cases))
        .route("/my/cases/{key}", get(case::case_page))
        .route("/my/cases/{key}/edit", get(form::edit_draft))
        .route("/my/cases/{key}/check", get(check::check_answers))
        .route("/my/cases/{key}/submit", post(check::submit))
        .route("/my/cases/{key}/submitted", get(check::submitted))
        .route(
            "/my/cases/{key}/withdraw",
            get(case::withdraw_form).post(case::withdraw),
        )
        .route("/my/cases/{key}/resubmit", get(case::resubmit_form))
}

/// Routes that take material files; mounted with the application-form body limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/apply/{item}", post(form::apply_create))
        .route("/my/cases/{key}/edit", post(form::save_draft))
        .route("/my/cases/{key}/resubmit", post(case::resubmit))
}

fn origin(meta: &yiwang_identity::model::ClientMeta) -> Origin {
    Origin {
        ip: meta.ip.clone(),
    }
}

/// The case behind an address key (public id or case number), as the caller may see it; 404 for a case
/// that does not exist or is someone else's.
pub(crate) async fn case_view(
    state: &AppState,
    principal: &Principal,
    key: &str,
    origin: &Origin,
) -> Result<CaseView, AppError> {
    let id = state
        .cases()
        .find(principal, key)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(state.cases().view(principal, id, origin).await?)
}

/// The address of a case's page.
fn case_href(case: &Case) -> String {
    format!("/my/cases/{}", case.public_id)
}

/// A date as people read it (China time).
pub(crate) fn date_text(at: &chrono::DateTime<chrono::Utc>) -> String {
    due_date(*at).format("%Y-%m-%d").to_string()
}

/// The message of a case error in the visitor's language.
fn case_message(tr: Tr, error: &CaseError) -> String {
    message_for(tr, error.code(), &error.to_string())
}

pub(crate) fn status_label(tr: Tr, status: CaseStatus) -> &'static str {
    tr.t(&format!("cases.status.{}", status.code()))
}

/// The history verb of an event in plain words (an action without words shows its code).
pub(crate) fn event_label(tr: Tr, action: &str) -> String {
    tr.get(&format!("cases.event.{action}"))
        .map_or_else(|| action.to_owned(), str::to_owned)
}

/// What a supplement event asked for.
pub(crate) fn missing_of(event: &CaseEvent) -> Vec<String> {
    event
        .detail
        .get("missing")
        .and_then(serde_json::Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// One line of a case's public history.
#[derive(Debug)]
pub struct EventRow {
    pub at: String,
    pub label: String,
    pub step: String,
    pub note: String,
    pub missing: Vec<String>,
}

pub(crate) fn event_rows(page: &PageCtx, events: &[CaseEvent]) -> Vec<EventRow> {
    events
        .iter()
        .map(|e| EventRow {
            at: page.local_time(&e.at),
            label: event_label(page.tr, &e.action),
            step: e.step_name.clone(),
            note: e.note.clone(),
            missing: missing_of(e),
        })
        .collect()
}

// ------------------------------------------------------------------------------- notices

/// The written notices a case can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// 受理通知书 (Art. 32)
    Accepted,
    /// 补正告知书 (Art. 32, one-time notice)
    Supplement,
    /// 不予受理决定书 (Art. 32)
    Declined,
    /// 准予行政许可决定书 (Art. 38)
    Granted,
    /// 不予行政许可决定书 (Art. 38)
    Denied,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 5] = [
        NoticeKind::Accepted,
        NoticeKind::Supplement,
        NoticeKind::Declined,
        NoticeKind::Granted,
        NoticeKind::Denied,
    ];

    pub fn code(self) -> &'static str {
        match self {
            NoticeKind::Accepted => "accepted",
            NoticeKind::Supplement => "supplement",
            NoticeKind::Declined => "declined",
            NoticeKind::Granted => "granted",
            NoticeKind::Denied => "denied",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The notice's name in the page's language (links and page titles).
    pub fn title_key(self) -> &'static str {
        match self {
            NoticeKind::Accepted => "notice.title.accepted",
            NoticeKind::Supplement => "notice.title.supplement",
            NoticeKind::Declined => "notice.title.declined",
            NoticeKind::Granted => "notice.title.granted",
            NoticeKind::Denied => "notice.title.denied",
        }
    }
}

/// The latest history line with an action.
pub(crate) fn last_event<'a>(view: &'a CaseView, action: &str) -> Option<&'a CaseEvent> {
    view.events.iter().rev().find(|e| e.action == action)
}

/// The notices a case has now: acceptance once accepted, the supplement notice once one was issued,
/// the decline, grant or denial once decided that way.
pub(crate) fn notice_kinds(view: &CaseView) -> Vec<NoticeKind> {
    let case = &view.case;
    NoticeKind::ALL
        .into_iter()
        .filter(|kind| match kind {
            NoticeKind::Accepted => case.accepted_at.is_some(),
            NoticeKind::Supplement => last_event(view, "supplement").is_some(),
            NoticeKind::Declined => case.outcome == Some(Outcome::Declined),
            NoticeKind::Granted => {
                matches!(case.outcome, Some(Outcome::Granted | Outcome::Voided))
                    && case.decided_at.is_some()
            }
            NoticeKind::Denied => case.outcome == Some(Outcome::Denied),
        })
        .collect()
}
