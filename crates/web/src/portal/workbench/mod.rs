//! The staff workbench of cases (办件): the inbox of one's posts with claiming, the staff case page
//! with the act forms, counter registration, 电子监察 and the department's cases, and the workflow
//! pages with the diagram and publication.
//!
//! Authorization is the cases service's: these handlers only decide what to offer on a page, and a
//! refusal of the engine is shown in the page in the visitor's language with nothing changed.

mod case;
mod counter;
mod diagram;
mod inbox;
mod supervision;
mod workflows;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use yiwang_cases::CaseError;
use yiwang_cases::model::{CaseStatus, Warning};
use yiwang_kernel::{ErrorCode, PageRequest};

use crate::error::AppError;
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::form::message_for;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/cases", get(inbox::inbox))
        .route("/staff/cases/{key}", get(case::case_page))
        .route("/staff/cases/{key}/materials/{file}", get(case::material))
        .route("/staff/cases/{key}/licence", get(case::licence))
        .route("/staff/cases/{key}/tasks/{task}/act", post(case::act))
        .route("/staff/cases/{key}/tasks/{task}/resume", post(case::resume))
        .route("/staff/cases/{key}/return", post(case::return_case))
        .route(
            "/staff/cases/{key}/extension",
            post(case::request_extension),
        )
        .route(
            "/staff/cases/{key}/extension/decision",
            post(case::decide_extension),
        )
        .route("/staff/tasks/{task}/claim", post(inbox::claim))
        .route("/staff/tasks/{task}/release", post(inbox::release))
        .route("/staff/counter", get(counter::start).post(counter::find))
        .route("/staff/counter/receipt/{key}", get(counter::receipt))
        .route("/staff/supervision", get(supervision::supervision))
        .route(
            "/staff/department-cases",
            get(supervision::department_cases),
        )
        .route("/staff/verifications", get(supervision::verifications))
        .route("/staff/workflows", get(workflows::list))
        .route(
            "/staff/workflows/{item}",
            get(workflows::item_page).post(workflows::publish),
        )
}

/// Routes that take material files (mounted with the upload body limit).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/staff/counter/register", post(counter::register))
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// A refusal of the engine the person can act on (shown in the page, nothing changed), or `None` for
/// a failure or a request for something that does not exist (the error page).
fn refusal(tr: Tr, error: &CaseError) -> Option<(StatusCode, String)> {
    use CaseError as E;
    use yiwang_identity::IdentityError as I;
    let status = match error {
        E::CaseNotFound
        | E::TaskNotFound
        | E::FileNotFound
        | E::Storage(_)
        | E::Corrupt(_)
        | E::Db(_)
        | E::Catalog(_)
        | E::Identity(I::Unauthenticated) => return None,
        E::NotOnPost | E::SeparationOfDuties | E::SelfApproval | E::Identity(I::Forbidden) => {
            StatusCode::FORBIDDEN
        }
        E::OpinionRequired
        | E::MissingListRequired
        | E::SpecialRequired
        | E::SpecialEndInPast
        | E::MaterialsMissing(_)
        | E::UnknownMaterial(_)
        | E::FormInvalid(_)
        | E::CommitmentNotSigned
        | E::FileTooLarge { .. }
        | E::FileQuotaExceeded { .. }
        | E::FileTypeRefused(_)
        | E::FileContentMismatch(_)
        | E::WorkflowInvalid(_)
        | E::Identity(I::Invalid { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    };
    let message = match error {
        E::Identity(e) => crate::portal::form::identity_message(tr, e),
        other => message_for(tr, other.code(), &other.to_string()),
    };
    Some((status, message))
}

/// The name of a case status in the visitor's language.
fn status_name(tr: Tr, status: CaseStatus) -> &'static str {
    tr.t(&format!("workbench.status.{}", status.code()))
}

/// A deadline as the lists show it: the colour class and words that say the same (never colour
/// alone).
#[derive(Debug, Clone)]
struct DueView {
    /// `none`, `yellow`, `red`, `overdue`.
    level: &'static str,
    level_name: &'static str,
    /// "剩 2 个工作日", "今日到期", "已超期 3 个工作日", "不计时".
    text: String,
    /// The instant, China time.
    at: String,
}

fn due_view(
    page: &PageCtx,
    state: &AppState,
    warning: Warning,
    due: Option<DateTime<Utc>>,
) -> DueView {
    let tr = page.tr;
    let now = state.clock().now();
    let (text, at) = match due {
        None => (tr.t("workbench.no_deadline").to_owned(), String::new()),
        Some(due) => {
            let left = state.cases().deadlines().remaining_days(now, due);
            let text = if now > due {
                tr.fmt(
                    "workbench.overdue_days",
                    &[("n", &left.unsigned_abs().to_string())],
                )
            } else if left == 0 {
                tr.t("workbench.due_today").to_owned()
            } else {
                tr.fmt("workbench.days_left", &[("n", &left.to_string())])
            };
            (text, page.local_time(&due))
        }
    };
    // The stored level (kept by the sweep) agrees with the filters and counts; a deadline already
    // past is overdue whatever the sweep has seen so far.
    let warning = match due {
        Some(due) if now > due => Warning::Overdue,
        _ => warning,
    };
    DueView {
        level: warning.code(),
        level_name: tr.t(&format!("workbench.warning.{}", warning.code())),
        text,
        at,
    }
}

/// The list page asked for (20 rows a page); a page beyond `yiwang_kernel::paging::MAX_PAGE` is
/// refused (422) rather than read.
fn page_request(page: Option<u32>) -> Result<PageRequest, AppError> {
    PageRequest::new(page.filter(|p| *p > 0), Some(20)).map_err(|e| AppError::Invalid {
        field: "page".to_owned(),
        code: "page_invalid".to_owned(),
        message: e.to_string(),
    })
}

/// A choice of a select: value, label, selected.
#[derive(Debug, Clone)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices(options: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

fn warning_choices(tr: Tr, current: &str) -> Vec<Choice> {
    choices(
        Warning::ALL.iter().map(|w| {
            (
                w.code().to_owned(),
                tr.t(&format!("workbench.warning.{}", w.code())).to_owned(),
            )
        }),
        current,
    )
}

fn status_choices(tr: Tr, current: &str, statuses: &[CaseStatus]) -> Vec<Choice> {
    choices(
        statuses
            .iter()
            .map(|s| (s.code().to_owned(), status_name(tr, *s).to_owned())),
        current,
    )
}
