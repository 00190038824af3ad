//! One item: its versions, the difference under review, drafting, submitting and the review.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use serde::de::IgnoredAny;
use yiwang_catalog::diff::{Change, diff};
use yiwang_catalog::model::{
    AdminLevel, AudienceType, CaseType, HandlingForm, ItemContent, ItemId, ItemKind, ItemStatus,
    ItemVersion, OnlineDepth, VersionState, find_theme,
};
use yiwang_catalog::transfer::CSV_COLUMNS;
use yiwang_catalog::{CatalogError, Origin};
use yiwang_identity::policy::{Action, Principal};
use yiwang_kernel::{TimeLimit, TimeUnit};

use super::items::version_text;
use super::{allowed, field_label, refusal_messages, refusal_status, with_status};
use crate::api::catalog::limit_text;
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{message_for, see_other};
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug)]
struct VersionRow {
    no: u32,
    state: &'static str,
    state_code: &'static str,
    effective: String,
    author: String,
    reviewer: String,
    change_note: String,
    review_note: String,
    in_effect: bool,
}

#[derive(Debug)]
struct ChangeRow {
    label: &'static str,
    before: String,
    after: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ReviewForm {
    decision: String,
    effective_from: String,
    note: String,
}

#[derive(Template)]
#[template(path = "catalog_staff/item.html")]
struct ItemPage {
    page: PageCtx,
    csrf: String,
    id: i64,
    impl_code: String,
    name: String,
    department: String,
    in_effect: String,
    versions: Vec<VersionRow>,
    open: Option<VersionRow>,
    can_edit: bool,
    can_review: bool,
    /// The open version is in review and this person wrote it.
    own_version: bool,
    changes: Vec<ChangeRow>,
    /// Which version the open one is compared with (none for an item never published).
    compared: Option<String>,
    review: ReviewForm,
    errors: Vec<String>,
    notice: Option<String>,
}

fn version_row(tr: Tr, v: &ItemVersion, current: Option<u32>) -> VersionRow {
    VersionRow {
        no: v.version_no,
        state: tr.t(&v.state.label_key()),
        state_code: v.state.code(),
        effective: v.effective_from.map(|d| d.to_string()).unwrap_or_default(),
        author: v
            .author
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        reviewer: v
            .reviewer
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default(),
        change_note: v.change_note.clone(),
        review_note: v.review_note.clone(),
        in_effect: current == Some(v.version_no),
    }
}

/// Code lists, limits and yes/no in the words of the visitor's language (the difference has codes).
fn readable(tr: Tr, field: &str, text: &str) -> String {
    let each = |f: &dyn Fn(&str) -> Option<String>| {
        text.lines()
            .map(|l| f(l).unwrap_or_else(|| l.to_owned()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let label = |key: String| Some(tr.t(&key).to_owned());
    match field {
        "kind" => each(&|c| ItemKind::parse(c).and_then(|v| label(v.label_key()))),
        "level" => each(&|c| AdminLevel::parse(c).and_then(|v| label(v.label_key()))),
        "audience" => each(&|c| AudienceType::parse(c).and_then(|v| label(v.label_key()))),
        "handling_forms" => each(&|c| HandlingForm::parse(c).and_then(|v| label(v.label_key()))),
        "online_depth" => each(&|c| OnlineDepth::parse(c).and_then(|v| label(v.label_key()))),
        "case_type" => each(&|c| CaseType::parse(c).and_then(|v| label(v.label_key()))),
        "status" => each(&|c| ItemStatus::parse(c).and_then(|v| label(v.label_key().to_owned()))),
        "themes" => each(&|c| find_theme(c).and_then(|t| label(t.name_key()))),
        "legal_limit" | "promised_limit" => each(&|l| {
            let (amount, unit) = l.split_once(' ')?;
            let limit = TimeLimit::new(amount.parse().ok()?, TimeUnit::from_code(unit.trim())?);
            limit_text(tr, Some(limit))
        }),
        "appointment" | "postal_delivery" | "small_business" => each(&|b| match b {
            "true" => Some(tr.t("catalog_staff.yes").to_owned()),
            "false" => Some(tr.t("catalog_staff.no").to_owned()),
            _ => None,
        }),
        // The difference writes an optional material as "（1/0, optional）".
        "materials" => text.replace(
            ", optional）",
            &format!("，{}）", tr.t("catalog_staff.optional")),
        ),
        _ => text.to_owned(),
    }
}

/// The whole content as changes from nothing, for an item that has never been published.
fn from_nothing(content: &ItemContent) -> Vec<Change> {
    let blank = ItemContent {
        name: String::new(),
        short_name: String::new(),
        base_code: String::new(),
        kind: content.kind,
        level: content.level,
        audience: Vec::new(),
        themes: Vec::new(),
        legal_basis: Vec::new(),
        conditions: String::new(),
        materials: Vec::new(),
        legal_limit: None,
        promised_limit: None,
        case_type: content.case_type,
        fees: Vec::new(),
        handling_forms: Vec::new(),
        visits: 0,
        online_depth: Vec::new(),
        appointment: false,
        postal_delivery: false,
        place: String::new(),
        hours: String::new(),
        phone: String::new(),
        faq: Vec::new(),
        result: String::new(),
        status: content.status,
        keywords: Vec::new(),
        small_business: false,
    };
    let mut changes = diff(&blank, content);
    // The code lists the blank had to share with the content are new too.
    for (field, code) in [
        ("kind", content.kind.code()),
        ("level", content.level.code()),
        ("case_type", content.case_type.code()),
        ("status", content.status.code()),
    ] {
        if let Some(field) = CSV_COLUMNS.iter().find(|c| **c == field) {
            changes.push(Change {
                field,
                before: String::new(),
                after: code.to_owned(),
            });
        }
    }
    let position = |f: &str| {
        CSV_COLUMNS
            .iter()
            .position(|c| *c == f)
            .unwrap_or(usize::MAX)
    };
    changes.sort_by_key(|c| position(c.field));
    changes
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ItemQuery {
    created: Option<String>,
    drafted: Option<String>,
    saved: Option<String>,
    submitted: Option<String>,
    published: Option<String>,
    rejected: Option<String>,
}

impl ItemQuery {
    fn notice(&self, tr: Tr) -> Option<String> {
        let key = if self.created.is_some() {
            "catalog_staff.notice_created"
        } else if self.drafted.is_some() {
            "catalog_staff.notice_drafted"
        } else if self.saved.is_some() {
            "catalog_staff.notice_saved"
        } else if self.submitted.is_some() {
            "catalog_staff.notice_submitted"
        } else if let Some(n) = &self.published {
            let n: u32 = n.parse().ok()?;
            return Some(tr.fmt("catalog_staff.notice_published", &[("n", &n.to_string())]));
        } else if self.rejected.is_some() {
            "catalog_staff.notice_rejected"
        } else {
            return None;
        };
        Some(tr.t(key).to_owned())
    }
}

async fn show_item(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    id: ItemId,
    review: ReviewForm,
    errors: Vec<String>,
    notice: Option<String>,
) -> Result<ItemPage, AppError> {
    let principal = &who.principal;
    let (item, versions) = state.catalog().staff_item(principal, id).await?;
    let tr = page.tr;
    let department = item.department_id;
    let open = versions.iter().find(|v| v.state.is_open());
    let author = open.and_then(|v| v.author.as_ref()).map(|a| a.id);
    let in_review = open.is_some_and(|v| v.state == VersionState::InReview);
    let can_review = in_review && allowed(principal, &Action::ReviewCatalog { department, author });
    let own_version = in_review && matches!(principal, Principal::Staff(s) if Some(s.id) == author);
    let (changes, compared_with) = match open {
        None => (Vec::new(), None),
        Some(open) => {
            let base = item.current_version.or_else(|| {
                versions
                    .iter()
                    .filter(|v| v.state == VersionState::Published)
                    .map(|v| v.version_no)
                    .max()
            });
            match base {
                Some(n) => (
                    state
                        .catalog()
                        .compare(id, n, open.version_no, true)
                        .await?,
                    Some(n),
                ),
                None => (from_nothing(&open.content), None),
            }
        }
    };
    let name = open
        .or_else(|| {
            versions
                .iter()
                .find(|v| Some(v.version_no) == item.current_version)
        })
        .or_else(|| versions.first())
        .map(|v| v.content.name.clone())
        .unwrap_or_default();
    let review = ReviewForm {
        effective_from: if review.effective_from.is_empty() {
            state.catalog().today().to_string()
        } else {
            review.effective_from
        },
        ..review
    };
    Ok(ItemPage {
        csrf: who.session().csrf_token.clone(),
        id: item.id.get(),
        impl_code: item.impl_code.clone(),
        name,
        department: item.department_name.clone(),
        in_effect: version_text(tr, item.current_version),
        versions: versions
            .iter()
            .map(|v| version_row(tr, v, item.current_version))
            .collect(),
        open: open.map(|v| version_row(tr, v, item.current_version)),
        can_edit: allowed(principal, &Action::EditCatalog { department }),
        can_review,
        own_version,
        changes: changes
            .into_iter()
            .map(|c| ChangeRow {
                label: field_label(tr, c.field),
                before: readable(tr, c.field, &c.before),
                after: readable(tr, c.field, &c.after),
            })
            .collect(),
        compared: compared_with
            .map(|n| tr.fmt("catalog_staff.compared_with", &[("n", &n.to_string())])),
        review,
        errors,
        notice,
        page,
    })
}

pub(super) async fn item_page(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<ItemQuery>,
) -> Result<Response, AppError> {
    let notice = query.notice(page.tr);
    let item = show_item(
        &state,
        page,
        &who,
        id,
        ReviewForm::default(),
        Vec::new(),
        notice,
    )
    .await?;
    render(&item)
}

/// The item page again with the reason an action was refused, or the error page when it is not the
/// user's to fix.
pub(super) async fn refused(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    id: ItemId,
    review: ReviewForm,
    error: CatalogError,
) -> Result<Response, AppError> {
    let Some(status) = refusal_status(&error) else {
        return Err(error.into());
    };
    let errors = refusal_messages(page.tr, &error);
    let item = show_item(state, page, who, id, review, errors, None).await?;
    Ok(with_status(render(&item)?, status))
}

/// A one-button step on an item's open version.
#[derive(Debug, Clone, Copy)]
enum Step {
    StartDraft,
    Submit,
}

pub(super) async fn start_draft(
    state: State<AppState>,
    page: PageCtx,
    client: Client,
    who: PageStaff,
    id: IdPath<ItemId>,
    form: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    step(state, page, client, who, id, form, Step::StartDraft).await
}

pub(super) async fn submit(
    state: State<AppState>,
    page: PageCtx,
    client: Client,
    who: PageStaff,
    id: IdPath<ItemId>,
    form: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    step(state, page, client, who, id, form, Step::Submit).await
}

async fn step(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    _: CsrfForm<IgnoredAny>,
    step: Step,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let origin = Origin { ip: meta.ip };
    let done = match step {
        Step::StartDraft => state
            .catalog()
            .start_draft(principal, id, &origin)
            .await
            .map(|_| format!("/staff/catalog/{id}/edit?drafted=1")),
        Step::Submit => state
            .catalog()
            .submit(principal, id, &origin)
            .await
            .map(|()| format!("/staff/catalog/{id}?submitted=1")),
    };
    match done {
        Ok(next) => Ok(see_other(&next)),
        Err(error) => refused(&state, page, &who, id, ReviewForm::default(), error).await,
    }
}

pub(super) async fn review(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(form): CsrfForm<ReviewForm>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let origin = Origin { ip: meta.ip };
    let result = if form.decision == "reject" {
        state
            .catalog()
            .reject(principal, id, &form.note, &origin)
            .await
            .map(|()| "rejected=1".to_owned())
    } else {
        let effective = match form.effective_from.trim() {
            "" => Some(None),
            text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(Some),
        };
        let Some(effective) = effective else {
            let errors = vec![message_for(page.tr, "date_invalid", "a date is YYYY-MM-DD")];
            let item = show_item(&state, page, &who, id, form, errors, None).await?;
            return Ok(with_status(
                render(&item)?,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        };
        state
            .catalog()
            .approve(principal, id, effective, &form.note, &origin)
            .await
            .map(|n| format!("published={n}"))
    };
    match result {
        Ok(query) => Ok(see_other(&format!("/staff/catalog/{id}?{query}"))),
        Err(error) => refused(&state, page, &who, id, form, error).await,
    }
}
