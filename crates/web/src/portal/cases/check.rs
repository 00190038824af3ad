//! Check your answers before submitting, submission, and the confirmation with the case number and
//! query code.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::de::IgnoredAny;
use yiwang_cases::CaseError;
use yiwang_cases::form::FieldKind;
use yiwang_cases::model::Case;
use yiwang_cases::service::completeness;
use yiwang_cases::workflow::WorkflowDef;

use super::form::{MaterialSlot, draft_view, material_slots, problem_errors};
use super::{case_href, case_view, date_text, origin};
use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{Caller, CsrfForm, IdPath, PageCaller};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

/// One answer as the check page lists it.
#[derive(Debug)]
pub struct AnswerRow {
    pub label: String,
    pub value: String,
    /// The input to go back to.
    pub anchor: String,
}

pub(super) fn answer_rows(
    tr: Tr,
    def: &WorkflowDef,
    answers: &BTreeMap<String, String>,
) -> Vec<AnswerRow> {
    def.form
        .iter()
        .map(|f| {
            let raw = answers.get(&f.key).map_or("", String::as_str);
            let value = match f.kind {
                FieldKind::Checkbox if !raw.is_empty() => tr.t("cases.answer_yes").to_owned(),
                FieldKind::Checkbox => tr.t("cases.answer_no").to_owned(),
                _ => raw.to_owned(),
            };
            AnswerRow {
                label: f.label.clone(),
                value,
                anchor: format!("a_{}", f.key),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "cases/check.html")]
pub(super) struct CheckPage {
    page: PageCtx,
    csrf: String,
    case: Case,
    href: String,
    answers: Vec<AnswerRow>,
    commitment: Option<String>,
    materials: Vec<MaterialSlot>,
    errors: FormErrors,
}

pub(super) async fn check_answers(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
) -> Result<Response, AppError> {
    let view = match draft_view(&state, &principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let tr = page.tr;
    let def = &view.workflow.definition;
    let attached: Vec<String> = view.materials.iter().map(|m| m.material.clone()).collect();
    let errors = problem_errors(
        tr,
        def,
        &view.item_version,
        &completeness(
            def,
            &view.item_version,
            &view.form.0,
            view.case.commitment_signed,
            &attached,
        ),
    );
    let materials = material_slots(
        def,
        &view.item_version,
        &view.materials,
        &FormErrors::default(),
    );
    render(&CheckPage {
        csrf: user.session.csrf_token.clone(),
        href: case_href(&view.case),
        answers: answer_rows(tr, def, &view.form.0),
        commitment: def.commitment.as_ref().map(|c| c.statement.clone()),
        materials,
        errors,
        case: view.case,
        page,
    })
}

pub(super) async fn submit(
    State(state): State<AppState>,
    Caller { principal, .. }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfForm(_): CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    let view = match draft_view(&state, &principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let href = case_href(&view.case);
    match state
        .cases()
        .submit(&principal, view.case.id, &origin(&meta), &mut request_rng())
        .await
    {
        Ok(_) => Ok(see_other(&format!("{href}/submitted"))),
        // The check page lists what is still wrong.
        Err(
            CaseError::FormInvalid(_)
            | CaseError::MaterialsMissing(_)
            | CaseError::CommitmentNotSigned,
        ) => Ok(see_other(&format!("{href}/check"))),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "cases/submitted.html")]
pub(super) struct SubmittedPage {
    page: PageCtx,
    case: Case,
    href: String,
    case_no: String,
    query_code: String,
    accept_due: Option<String>,
}

pub(super) async fn submitted(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
) -> Result<Response, AppError> {
    let view = case_view(&state, &principal, &key, &origin(&meta)).await?;
    if !view.viewer_is_applicant {
        return Err(AppError::NotFound);
    }
    let href = case_href(&view.case);
    let (Some(case_no), Some(query_code)) =
        (view.case.case_no.clone(), view.case.query_code.clone())
    else {
        return Ok(see_other(&format!("{href}/check")));
    };
    render(&SubmittedPage {
        accept_due: view.case.accept_due_at.as_ref().map(date_text),
        case: view.case,
        href,
        case_no,
        query_code,
        page,
    })
}
