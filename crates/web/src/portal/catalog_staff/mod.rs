//! Staff pages of the service catalog (事项库): the items of one's department and the review queue;
//! creating an item; an item's versions with drafting, submitting and a second person's review (the
//! readable difference, publish or send back); the draft form covering every element of an item, with
//! line-based lists and template uploads; and, for platform administrators, import and export.
//!
//! Authorization is the catalog service's: these handlers only decide what to offer on a page.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use yiwang_catalog::CatalogError;
use yiwang_catalog::model::Problem;
use yiwang_identity::IdentityError;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::ErrorCode;

use crate::i18n::Tr;
use crate::portal::form::{FormErrors, identity_message, message_for};
use crate::state::AppState;

mod edit;
mod form;
mod item;
mod items;
mod transfer;

use edit::{edit_form, save, upload};
use form::ListLines;
pub use form::{ContentForm, parse_content};
use item::{item_page, review, start_draft, submit};
use items::{create, list, new_form};
use transfer::{export, import, transfer};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/catalog", get(list))
        .route("/staff/catalog/new", get(new_form).post(create))
        .route("/staff/catalog/transfer", get(transfer).post(import))
        .route("/staff/catalog/export", get(export))
        .route("/staff/catalog/{id}", get(item_page))
        .route("/staff/catalog/{id}/draft", post(start_draft))
        .route("/staff/catalog/{id}/submit", post(submit))
        .route("/staff/catalog/{id}/review", post(review))
        .route("/staff/catalog/{id}/edit", get(edit_form).post(save))
        .route(
            "/staff/catalog/{id}/materials/{index}/{which}",
            post(upload),
        )
}

// ----- shared helpers -----

fn allowed(principal: &Principal, action: &Action<'_>) -> bool {
    authorize(principal, action).is_ok()
}

fn with_status(mut response: Response, status: StatusCode) -> Response {
    *response.status_mut() = status;
    response
}

/// The status of a refusal the user can act on (shown in the page), or `None` for a failure of the
/// platform or a request the user may not make at all (the error page).
fn refusal_status(error: &CatalogError) -> Option<StatusCode> {
    use CatalogError as E;
    match error {
        E::Invalid(_)
        | E::EffectiveInPast
        | E::NoteRequired
        | E::FileTooLarge { .. }
        | E::FileTypeRefused(_)
        | E::Unreadable(_)
        | E::ImportRejected(_)
        | E::UnknownDepartment(_) => Some(StatusCode::UNPROCESSABLE_ENTITY),
        E::ImplCodeTaken(_) | E::DraftExists | E::WrongState { .. } => Some(StatusCode::CONFLICT),
        E::SelfReview | E::Identity(IdentityError::Forbidden) => Some(StatusCode::FORBIDDEN),
        _ => None,
    }
}

/// The locale label of a content field ("materials[2]" is labelled as "materials").
fn field_label(tr: Tr, field: &str) -> &'static str {
    let base = field.split('[').next().unwrap_or(field);
    tr.get(&format!("catalog.field.{base}")).unwrap_or("")
}

/// "materials[2]" → ("materials", Some(2)).
fn split_field(field: &str) -> (&str, Option<usize>) {
    match field.split_once('[') {
        Some((base, rest)) => (base, rest.trim_end_matches(']').parse().ok()),
        None => (field, None),
    }
}

/// A broken rule in words: the field, the entry or line where there is one, and the reason.
fn problem_message(tr: Tr, problem: &Problem, lines: Option<&ListLines>) -> String {
    let (base, index) = split_field(&problem.field);
    let message = message_for(tr, problem.code, &problem.message);
    let label = field_label(tr, base);
    let line = index.and_then(|i| lines.and_then(|l| l.line_of(base, i)));
    match (line, index) {
        (Some(n), _) => tr.fmt(
            "catalog_staff.problem_line",
            &[
                ("field", label),
                ("n", &n.to_string()),
                ("message", &message),
            ],
        ),
        (None, Some(n)) => tr.fmt(
            "catalog_staff.problem_entry",
            &[
                ("field", label),
                ("n", &n.to_string()),
                ("message", &message),
            ],
        ),
        (None, None) if label.is_empty() => message,
        (None, None) => tr.fmt(
            "catalog_staff.problem",
            &[("field", label), ("message", &message)],
        ),
    }
}

/// Messages for a refused action, one per broken rule, in the visitor's language.
fn refusal_messages(tr: Tr, error: &CatalogError) -> Vec<String> {
    match error {
        CatalogError::Invalid(problems) => problems
            .iter()
            .map(|p| problem_message(tr, p, None))
            .collect(),
        CatalogError::Identity(e) => vec![identity_message(tr, e)],
        other => vec![message_for(tr, other.code(), &other.to_string())],
    }
}

/// Form errors for a refused save, each under the field it concerns.
fn refusal_form_errors(tr: Tr, error: &CatalogError, lines: Option<&ListLines>) -> FormErrors {
    match error {
        CatalogError::Invalid(problems) => in_form_order(FormErrors {
            items: problems
                .iter()
                .map(|p| {
                    let (base, _) = split_field(&p.field);
                    (form_anchor(base).to_owned(), problem_message(tr, p, lines))
                })
                .collect(),
        }),
        CatalogError::ImplCodeTaken(_) => FormErrors::one(
            "impl_code",
            message_for(tr, error.code(), &error.to_string()),
        ),
        other => FormErrors::one("form", refusal_messages(tr, other).join(" ")),
    }
}

/// Fields of the form, in the order the form shows them; each control has the field's name as its id
/// (error summaries link there and list errors in this order).
const ANCHORS: &[&str] = &[
    "impl_code",
    "department",
    "name",
    "short_name",
    "base_code",
    "kind",
    "level",
    "audience",
    "themes",
    "status",
    "keywords",
    "legal_basis",
    "conditions",
    "materials",
    "fees",
    "result",
    "case_type",
    "legal_limit",
    "promised_limit",
    "handling_forms",
    "online_depth",
    "visits",
    "place",
    "hours",
    "phone",
    "faq",
];

/// Errors in the order of the form's fields (those of the same field keep their order).
fn in_form_order(mut errors: FormErrors) -> FormErrors {
    errors.items.sort_by_key(|(field, _)| {
        ANCHORS
            .iter()
            .position(|a| a == field)
            .unwrap_or(ANCHORS.len())
    });
    errors
}

/// The id of the form control a field's error links to.
fn form_anchor(field: &str) -> &str {
    if ANCHORS.contains(&field) {
        field
    } else {
        "form"
    }
}
