//! One case as its applicant sees it (public history, notices, the supplement notice), withdrawing,
//! and answering a supplement notice.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::model::{Case, CaseMaterial, CaseStatus, MaterialFile};
use yiwang_cases::service::ApplicationForm;
use yiwang_cases::{CaseError, CaseView};
use yiwang_identity::policy::Principal;

use super::form::{
    FieldView, MaterialSlot, accept_attr, answers_of, field_views, file_limits, material_slots,
    material_uploads, problem_errors, reused_files,
};
use super::{
    EventRow, case_href, case_message, case_view, date_text, event_rows, missing_of, notice_kinds,
    origin, status_label,
};
use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{Caller, CsrfForm, CsrfMultipart, IdPath, PageCaller};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

/// A notice of the case to link to.
#[derive(Debug)]
pub struct NoticeLink {
    pub href: String,
    pub title: &'static str,
}

pub(crate) fn notice_links(tr: Tr, view: &CaseView) -> Vec<NoticeLink> {
    notice_kinds(view)
        .into_iter()
        .map(|k| NoticeLink {
            href: format!("/cases/{}/notices/{}", view.case.public_id, k.code()),
            title: tr.t(k.title_key()),
        })
        .collect()
}

/// What the latest supplement notice asks for, while the case waits for it.
#[derive(Debug)]
pub struct SupplementInfo {
    pub missing: Vec<String>,
    pub due: Option<String>,
}

pub(super) fn supplement_info(view: &CaseView) -> Option<SupplementInfo> {
    if view.case.status != CaseStatus::Supplement {
        return None;
    }
    let event = view
        .events
        .iter()
        .rev()
        .find(|e| e.action == "supplement")?;
    Some(SupplementInfo {
        missing: missing_of(event),
        due: view.case.supplement_due_at.as_ref().map(date_text),
    })
}

#[derive(Template)]
#[template(path = "cases/case.html")]
pub(super) struct CasePage {
    page: PageCtx,
    case: Case,
    href: String,
    status: &'static str,
    now: &'static str,
    outcome: Option<&'static str>,
    deadline: Option<String>,
    events: Vec<EventRow>,
    answers: Vec<(String, String)>,
    materials: Vec<CaseMaterial>,
    notices: Vec<NoticeLink>,
    can_withdraw: bool,
    supplement: Option<SupplementInfo>,
    done: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn case_page(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let view = case_view(&state, &principal, &key, &origin(&meta)).await?;
    if !view.viewer_is_applicant {
        return Err(AppError::NotFound);
    }
    let tr = page.tr;
    let done = match query.done.as_deref() {
        Some("withdrawn") => Some("cases.case.done_withdrawn"),
        Some("resubmitted") => Some("cases.case.done_resubmitted"),
        _ => None,
    };
    render(&CasePage {
        href: case_href(&view.case),
        status: status_label(tr, view.case.status),
        now: tr.t(&format!("cases.now.{}", view.case.status.code())),
        outcome: view
            .case
            .outcome
            .map(|o| tr.t(&format!("cases.outcome.{}", o.code()))),
        deadline: view.case.running_deadline().as_ref().map(date_text),
        events: event_rows(&page, &view.events),
        notices: notice_links(tr, &view),
        can_withdraw: view.case.status.withdrawable(),
        supplement: supplement_info(&view),
        answers: view.answers.clone(),
        materials: view.materials.clone(),
        case: view.case,
        done,
        page,
    })
}

// ------------------------------------------------------------------------------- withdraw

#[derive(Template)]
#[template(path = "cases/withdraw.html")]
pub(super) struct WithdrawPage {
    page: PageCtx,
    csrf: String,
    case: Case,
    href: String,
    reason: String,
    error: Option<String>,
}

pub(super) async fn applicant_case(
    state: &AppState,
    principal: &Principal,
    key: &str,
    meta: &yiwang_identity::model::ClientMeta,
) -> Result<CaseView, AppError> {
    let view = case_view(state, principal, key, &origin(meta)).await?;
    if view.viewer_is_applicant {
        Ok(view)
    } else {
        Err(AppError::NotFound)
    }
}

pub(super) async fn withdraw_form(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
) -> Result<Response, AppError> {
    let view = applicant_case(&state, &principal, &key, &meta).await?;
    if !view.case.status.withdrawable() {
        return Ok(see_other(&case_href(&view.case)));
    }
    render(&WithdrawPage {
        csrf: user.session.csrf_token.clone(),
        href: case_href(&view.case),
        case: view.case,
        reason: String::new(),
        error: None,
        page,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct WithdrawForm {
    csrf: String,
    reason: String,
}

pub(super) async fn withdraw(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfForm(form): CsrfForm<WithdrawForm>,
) -> Result<Response, AppError> {
    let view = applicant_case(&state, &principal, &key, &meta).await?;
    let href = case_href(&view.case);
    match state
        .cases()
        .withdraw(&principal, view.case.id, &form.reason, &origin(&meta))
        .await
    {
        Ok(_) => Ok(see_other(&format!("{href}?done=withdrawn"))),
        Err(e @ (CaseError::WrongState { .. } | CaseError::Conflict)) => {
            let error = Some(case_message(page.tr, &e));
            let mut response = render(&WithdrawPage {
                csrf: form.csrf,
                href,
                case: view.case,
                reason: form.reason,
                error,
                page,
            })?;
            *response.status_mut() = StatusCode::CONFLICT;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

// ------------------------------------------------------------------------------- resubmit

#[derive(Template)]
#[template(path = "cases/resubmit.html")]
pub(super) struct ResubmitPage {
    page: PageCtx,
    csrf: String,
    case: Case,
    href: String,
    supplement: SupplementInfo,
    fields: Vec<FieldView>,
    materials: Vec<MaterialSlot>,
    files: Vec<MaterialFile>,
    accept: String,
    file_limits: String,
    errors: FormErrors,
    adding: bool,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page assembled from its parts"
)]
pub(super) fn resubmit_page(
    page: PageCtx,
    csrf: String,
    view: &CaseView,
    supplement: SupplementInfo,
    answers: &BTreeMap<String, String>,
    files: Vec<MaterialFile>,
    max_bytes: usize,
    errors: FormErrors,
) -> ResubmitPage {
    let tr = page.tr;
    let def = &view.workflow.definition;
    let mut materials = material_slots(def, &view.item_version, &view.materials, &errors);
    // Nothing is preselected: a file chosen here is added to the material.
    for slot in &mut materials {
        slot.selected.clear();
    }
    ResubmitPage {
        csrf,
        href: case_href(&view.case),
        case: view.case.clone(),
        supplement,
        fields: field_views(tr, def, answers, &errors),
        materials,
        files,
        accept: accept_attr(),
        file_limits: file_limits(tr, max_bytes),
        errors,
        adding: true,
        page,
    }
}

pub(super) async fn resubmit_form(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
) -> Result<Response, AppError> {
    let view = applicant_case(&state, &principal, &key, &meta).await?;
    let Some(supplement) = supplement_info(&view) else {
        return Ok(see_other(&case_href(&view.case)));
    };
    let files = state.cases().my_files(&principal).await?;
    render(&resubmit_page(
        page,
        user.session.csrf_token.clone(),
        &view,
        supplement,
        &view.form.0,
        files,
        state.cases().max_file_bytes(),
        FormErrors::default(),
    ))
}

pub(super) async fn resubmit(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let view = applicant_case(&state, &who.principal, &key, &meta).await?;
    let Some(supplement) = supplement_info(&view) else {
        return Ok(see_other(&case_href(&view.case)));
    };
    let tr = page.tr;
    let def = &view.workflow.definition;
    let form = ApplicationForm {
        answers: answers_of(def, &upload),
        uploads: material_uploads(&view.item_version, &upload),
        reuse: reused_files(&view.item_version, &upload),
        ..ApplicationForm::default()
    };
    let done = state
        .cases()
        .resubmit_application(
            &who.principal,
            view.case.id,
            &form,
            &origin(&meta),
            &mut request_rng(),
        )
        .await?;
    if done.done {
        return Ok(see_other(&format!(
            "{}?done=resubmitted",
            case_href(&view.case)
        )));
    }
    let errors = problem_errors(tr, def, &view.item_version, &done.problems);
    let files = done.files;
    let answers = form.answers;
    let csrf = who.user.session.csrf_token.clone();
    let max = state.cases().max_file_bytes();
    let mut response = render(&resubmit_page(
        page, csrf, &view, supplement, &answers, files, max, errors,
    ))?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::super::form::megabytes;

    #[test]
    fn file_limits_read_as_megabytes() {
        assert_eq!(megabytes(10 * 1024 * 1024), "10");
        assert_eq!(megabytes(1024 * 1024 + 512 * 1024), "1.5");
    }
}
