//! The applicant's pages of cases (办件): applying online (the form of the item version, material files,
//! drafts, check your answers, confirmation with the case number and query code), my cases, one case
//! with its public history, withdrawing, and resubmitting after a supplement notice.
//! Print-ready notices, the public progress query and the disclosures are in `notices`.
//!
//! Everything works without JavaScript: one multipart form carries the answers and a file per material,
//! so nothing chosen is lost when the answers have problems (the draft is saved first, then every
//! problem is shown at once).

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use yiwang_cases::form::{FieldDef, FieldKind, validate_form};
use yiwang_cases::model::{Case, CaseEvent, CaseMaterial, CaseStatus, MaterialFile};
use yiwang_cases::repo::CaseFilter;
use yiwang_cases::service::{due_date, require_materials};
use yiwang_cases::workflow::WorkflowDef;
use yiwang_cases::{Application, CaseError, CaseView, Origin};
use yiwang_catalog::model::{ItemId, ItemVersion};
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ErrorCode as _, PageRequest};

use crate::api::catalog::file_url;
use crate::auth::{Client, PageUser, request_rng};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::account::{FormErrors, check_session_csrf, message_for, see_other};
use crate::portal::catalog::{PageLink, pager};
use crate::portal::notices::notice_kinds;
use crate::portal::render;
use crate::state::AppState;
use crate::upload::{MultiUpload, read_multi_upload};

/// Cases listed per page of "my cases".
const PAGE_SIZE: u32 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply/{item}", get(apply_new))
        .route("/my/cases", get(my_cases))
        .route("/my/cases/{key}", get(case_page))
        .route("/my/cases/{key}/edit", get(edit_draft))
        .route("/my/cases/{key}/check", get(check_answers))
        .route("/my/cases/{key}/submit", post(submit))
        .route("/my/cases/{key}/submitted", get(submitted))
        .route(
            "/my/cases/{key}/withdraw",
            get(withdraw_form).post(withdraw),
        )
        .route("/my/cases/{key}/resubmit", get(resubmit_form))
}

/// Routes that take material files; mounted with the application-form body limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
        .route("/apply/{item}", post(apply_create))
        .route("/my/cases/{key}/edit", post(save_draft))
        .route("/my/cases/{key}/resubmit", post(resubmit))
}

// ------------------------------------------------------------------------------------ helpers

async fn principal(state: &AppState, user: &PageUser) -> Result<Principal, AppError> {
    Ok(state.accounts().principal(Some(&user.session)).await?)
}

fn origin(meta: &yiwang_identity::model::ClientMeta) -> Origin {
    Origin {
        ip: meta.ip.clone(),
    }
}

fn item_id(text: &str) -> Result<ItemId, AppError> {
    text.trim()
        .parse::<i64>()
        .map(ItemId::new)
        .map_err(|_| AppError::NotFound)
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

// ---------------------------------------------------------------------------- the form itself

/// One field of the application form as the page shows it.
#[derive(Debug)]
pub struct FieldView {
    /// The input's name and id (`a_<key>`; answers never collide with the page's own inputs).
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub help: String,
    /// What the value must look like (format, range, length), in the visitor's language.
    pub hint: String,
    pub value: String,
    pub checked: bool,
    pub error: Option<String>,
    pub options: Vec<String>,
    pub maxlength: u32,
}

fn kind_hint(tr: Tr, field: &FieldDef) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(text) = tr.get(&format!("cases.kind_hint.{}", field.kind.code())) {
        parts.push(text.to_owned());
    }
    match (field.kind, field.min, field.max) {
        (FieldKind::Number, Some(min), Some(max)) => parts.push(tr.fmt(
            "cases.apply.between",
            &[("min", &min.to_string()), ("max", &max.to_string())],
        )),
        (FieldKind::Number, Some(min), None) => {
            parts.push(tr.fmt("cases.apply.at_least", &[("n", &min.to_string())]));
        }
        (FieldKind::Number, None, Some(max)) => {
            parts.push(tr.fmt("cases.apply.at_most", &[("n", &max.to_string())]));
        }
        _ => {}
    }
    if matches!(field.kind, FieldKind::Text | FieldKind::Textarea) {
        if let Some(min) = field.min_len {
            parts.push(tr.fmt("cases.apply.min_chars", &[("n", &min.to_string())]));
        }
        if let Some(max) = field.max_len {
            parts.push(tr.fmt("cases.apply.max_chars", &[("n", &max.to_string())]));
        }
    }
    parts.join(" ")
}

fn field_views(
    tr: Tr,
    def: &WorkflowDef,
    answers: &BTreeMap<String, String>,
    errors: &FormErrors,
) -> Vec<FieldView> {
    def.form
        .iter()
        .map(|f| {
            let name = format!("a_{}", f.key);
            let value = answers.get(&f.key).cloned().unwrap_or_default();
            FieldView {
                label: f.label.clone(),
                kind: f.kind.code(),
                required: f.required,
                help: f.help.clone(),
                hint: kind_hint(tr, f),
                checked: f.kind == FieldKind::Checkbox
                    && matches!(value.as_str(), "on" | "yes" | "true" | "1"),
                // Next to the field its label need not be repeated.
                error: errors.for_field(&name).map(|m| {
                    let prefix = tr.fmt(
                        "cases.apply.problem",
                        &[("label", &f.label), ("message", "")],
                    );
                    m.strip_prefix(prefix.as_str()).unwrap_or(m).to_owned()
                }),
                options: f.options.clone(),
                maxlength: f.max_len.unwrap_or(match f.kind {
                    FieldKind::Textarea => yiwang_cases::form::DEFAULT_TEXTAREA_MAX_LEN,
                    _ => yiwang_cases::form::DEFAULT_MAX_LEN,
                }),
                value,
                name,
            }
        })
        .collect()
}

/// A material of the item version with what is attached to it.
#[derive(Debug)]
pub struct MaterialSlot {
    pub index: usize,
    pub name: String,
    pub note: String,
    pub mandatory: bool,
    /// A signed commitment replaces it (告知承诺).
    pub replaced: bool,
    pub template_url: Option<String>,
    pub attached: Vec<MaterialFile>,
    /// The file selected in the "reuse" list (the attached one for a draft).
    pub selected: String,
    pub error: Option<String>,
}

fn material_slots(
    def: &WorkflowDef,
    version: &ItemVersion,
    attached: &[CaseMaterial],
    errors: &FormErrors,
) -> Vec<MaterialSlot> {
    let replaced: &[String] = def
        .commitment
        .as_ref()
        .map_or(&[], |c| c.replaces.as_slice());
    version
        .content
        .materials
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let files: Vec<MaterialFile> = attached
                .iter()
                .filter(|a| a.material == m.name)
                .map(|a| a.file.clone())
                .collect();
            MaterialSlot {
                index,
                name: m.name.clone(),
                note: m.note.clone(),
                mandatory: m.mandatory,
                replaced: replaced.contains(&m.name),
                template_url: m.template.as_ref().map(file_url),
                selected: files
                    .last()
                    .map(|f| f.public_id.clone())
                    .unwrap_or_default(),
                attached: files,
                error: errors
                    .for_field(&format!("file_{index}"))
                    .map(str::to_owned),
            }
        })
        .collect()
}

/// The problems of the answers, each with its field's label.
fn answer_problems(tr: Tr, def: &WorkflowDef, answers: &BTreeMap<String, String>) -> FormErrors {
    let mut errors = FormErrors::default();
    if let Err(problems) = validate_form(&def.form, answers) {
        for p in problems {
            let label = def
                .form
                .iter()
                .find(|f| f.key == p.key)
                .map_or(p.key.as_str(), |f| f.label.as_str());
            errors.items.push((
                format!("a_{}", p.key),
                tr.fmt(
                    "cases.apply.problem",
                    &[
                        ("label", label),
                        ("message", tr.t(&format!("errors.{}", p.code))),
                    ],
                ),
            ));
        }
    }
    errors
}

/// Every problem that keeps an application from being submitted, at once: the answers, the signed
/// promise and the mandatory materials.
fn completeness(
    tr: Tr,
    def: &WorkflowDef,
    version: &ItemVersion,
    answers: &BTreeMap<String, String>,
    commitment_signed: bool,
    attached: &[String],
) -> FormErrors {
    let mut errors = answer_problems(tr, def, answers);
    if def.commitment.is_some() && !commitment_signed {
        errors.items.push((
            "commitment".to_owned(),
            tr.t("errors.commitment_not_signed").to_owned(),
        ));
    }
    if let Err(CaseError::MaterialsMissing(missing)) = require_materials(def, version, attached) {
        for (index, m) in version.content.materials.iter().enumerate() {
            if missing.contains(&m.name) {
                errors.items.push((
                    format!("file_{index}"),
                    tr.fmt("cases.apply.material_needed", &[("name", &m.name)]),
                ));
            }
        }
    }
    errors
}

/// Who may be named as the applicant of a new application.
#[derive(Debug)]
pub struct ApplicantChoice {
    /// `self`, or an enterprise's public id.
    pub value: String,
    pub label: String,
    pub selected: bool,
}

async fn applicant_choices(
    state: &AppState,
    user: &PageUser,
    tr: Tr,
    selected: &str,
) -> Result<Vec<ApplicantChoice>, AppError> {
    let me = state.accounts().person(&user.session).await?;
    let mut choices = vec![ApplicantChoice {
        value: "self".to_owned(),
        label: tr.fmt("cases.apply.as_self", &[("name", &me.name)]),
        selected: selected.is_empty() || selected == "self",
    }];
    for (enterprise, _) in state.accounts().my_enterprises(&user.session).await? {
        choices.push(ApplicantChoice {
            selected: selected == enterprise.public_id,
            label: tr.fmt(
                "cases.apply.as_enterprise",
                &[
                    ("name", &enterprise.name),
                    ("uscc", enterprise.uscc.as_str()),
                ],
            ),
            value: enterprise.public_id,
        });
    }
    Ok(choices)
}

/// What the form is for: the item version, its workflow and the names shown.
struct FormContext {
    item_id: ItemId,
    item_name: String,
    department_name: String,
    def: WorkflowDef,
    version: ItemVersion,
}

async fn new_context(state: &AppState, item: ItemId) -> Result<FormContext, AppError> {
    let (guide, workflow) = state.cases().application_form(item).await?;
    Ok(FormContext {
        item_id: guide.item.id,
        item_name: guide.version.content.name.clone(),
        department_name: guide.item.department_name.clone(),
        def: workflow.definition,
        version: guide.version,
    })
}

fn draft_context(view: &CaseView) -> FormContext {
    FormContext {
        item_id: view.case.item_id,
        item_name: view.case.item_name.clone(),
        department_name: view.case.department_name.clone(),
        def: view.workflow.definition.clone(),
        version: view.item_version.clone(),
    }
}

#[derive(Template)]
#[template(path = "cases/apply.html")]
struct ApplyPage {
    page: PageCtx,
    csrf: String,
    action: String,
    item_id: i64,
    item_name: String,
    department_name: String,
    fields: Vec<FieldView>,
    /// Choices for a new application; `None` once the draft exists (the applicant is fixed then).
    applicants: Option<Vec<ApplicantChoice>>,
    applicant_name: String,
    contact_email: String,
    commitment: Option<String>,
    commitment_signed: bool,
    materials: Vec<MaterialSlot>,
    files: Vec<MaterialFile>,
    accept: String,
    file_limits: String,
    errors: FormErrors,
    saved: bool,
    /// Files chosen are added to a material (resubmission) rather than replacing its file (draft).
    adding: bool,
}

fn accept_attr() -> String {
    yiwang_cases::files::accepted_extensions()
        .iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn types_text() -> String {
    yiwang_cases::files::accepted_extensions()
        .iter()
        .map(|e| e.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The accepted types and sizes, as the page tells them.
fn file_limits(tr: Tr, max_bytes: usize) -> String {
    tr.fmt(
        "cases.apply.file_limits",
        &[
            ("types", &types_text()),
            ("mb", &megabytes(max_bytes)),
            ("n", &crate::FILES_PER_FORM.to_string()),
        ],
    )
}

pub(crate) fn megabytes(bytes: usize) -> String {
    #[expect(
        clippy::cast_precision_loss,
        reason = "file limits are far below f64 precision"
    )]
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb.fract() == 0.0 {
        format!("{mb:.0}")
    } else {
        format!("{mb:.1}")
    }
}

/// What the applicant entered (or what the draft holds).
struct Entered {
    answers: BTreeMap<String, String>,
    applicant: String,
    contact_email: String,
    commitment_signed: bool,
    materials: Vec<CaseMaterial>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page assembled from its parts"
)]
fn apply_page(
    page: PageCtx,
    csrf: String,
    action: String,
    ctx: &FormContext,
    entered: &Entered,
    applicants: Option<Vec<ApplicantChoice>>,
    applicant_name: String,
    files: Vec<MaterialFile>,
    max_bytes: usize,
    errors: FormErrors,
    saved: bool,
) -> ApplyPage {
    let tr = page.tr;
    ApplyPage {
        csrf,
        action,
        item_id: ctx.item_id.get(),
        item_name: ctx.item_name.clone(),
        department_name: ctx.department_name.clone(),
        fields: field_views(tr, &ctx.def, &entered.answers, &errors),
        applicants,
        applicant_name,
        contact_email: entered.contact_email.clone(),
        commitment: ctx.def.commitment.as_ref().map(|c| c.statement.clone()),
        commitment_signed: entered.commitment_signed,
        materials: material_slots(&ctx.def, &ctx.version, &entered.materials, &errors),
        files,
        accept: accept_attr(),
        file_limits: file_limits(tr, max_bytes),
        errors,
        saved,
        adding: false,
        page,
    }
}

async fn apply_new(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Path(item): Path<String>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
    let ctx = new_context(&state, item_id(&item)?).await?;
    let files = state.cases().my_files(&principal).await?;
    let applicants = applicant_choices(&state, &user, page.tr, "").await?;
    let entered = Entered {
        answers: BTreeMap::new(),
        applicant: String::new(),
        contact_email: String::new(),
        commitment_signed: false,
        materials: Vec::new(),
    };
    render(&apply_page(
        page,
        user.session.csrf_token.clone(),
        format!("/apply/{}", ctx.item_id),
        &ctx,
        &entered,
        Some(applicants),
        String::new(),
        files,
        state.cases().max_file_bytes(),
        FormErrors::default(),
        false,
    ))
}

/// The answers of a submitted form, for the fields of the definition only.
fn answers_of(def: &WorkflowDef, upload: &MultiUpload) -> BTreeMap<String, String> {
    def.form
        .iter()
        .filter_map(|f| {
            let raw = upload.field(&format!("a_{}", f.key))?.trim();
            (!raw.is_empty()).then(|| (f.key.clone(), raw.to_owned()))
        })
        .collect()
}

/// Store the files chosen in the form and pick, per material, the file to attach: a new upload, else
/// the file chosen from the applicant's earlier ones. Problems with uploads are collected, not fatal.
async fn chosen_materials(
    state: &AppState,
    principal: &Principal,
    tr: Tr,
    version: &ItemVersion,
    upload: &MultiUpload,
    files: &mut Vec<MaterialFile>,
    errors: &mut FormErrors,
) -> Result<Vec<CaseMaterial>, AppError> {
    let mut chosen = Vec::new();
    for (index, m) in version.content.materials.iter().enumerate() {
        if let Some((name, bytes)) = upload.file(&format!("file_{index}")) {
            match state
                .cases()
                .upload_material(
                    principal,
                    None,
                    name,
                    Bytes::copy_from_slice(bytes),
                    &mut request_rng(),
                )
                .await
            {
                Ok(file) => {
                    files.insert(0, file.clone());
                    chosen.push(CaseMaterial {
                        material: m.name.clone(),
                        file,
                    });
                    continue;
                }
                Err(
                    e @ (CaseError::FileTooLarge { .. }
                    | CaseError::FileTypeRefused(_)
                    | CaseError::FileContentMismatch(_)),
                ) => {
                    // The core messages speak of any upload; materials take fewer types.
                    let message = match &e {
                        CaseError::FileTypeRefused(_) => {
                            tr.fmt("cases.apply.file_type", &[("types", &types_text())])
                        }
                        CaseError::FileTooLarge { max } => {
                            tr.fmt("cases.apply.file_size", &[("mb", &megabytes(*max))])
                        }
                        _ => case_message(tr, &e),
                    };
                    errors.items.push((
                        format!("file_{index}"),
                        tr.fmt(
                            "cases.apply.file_problem",
                            &[("label", &m.name), ("file", name), ("message", &message)],
                        ),
                    ));
                }
                Err(other) => return Err(other.into()),
            }
        }
        let reuse = upload
            .field(&format!("reuse_{index}"))
            .map(str::trim)
            .unwrap_or_default();
        if let Some(file) = files.iter().find(|f| f.public_id == reuse) {
            chosen.push(CaseMaterial {
                material: m.name.clone(),
                file: file.clone(),
            });
        }
    }
    Ok(chosen)
}

fn application(
    item: ItemId,
    enterprise: Option<String>,
    entered: &Entered,
    contact_email: &str,
) -> Application {
    Application {
        item: Some(item),
        enterprise,
        answers: entered.answers.clone(),
        contact_email: contact_email.to_owned(),
        commitment_signed: entered.commitment_signed,
        materials: entered
            .materials
            .iter()
            .map(|m| (m.material.clone(), m.file.public_id.clone()))
            .collect(),
    }
}

/// Where an input comes on the application page: answers, the contact address, the materials in
/// their order, the commitment.
fn page_order(anchor: &str) -> (u8, usize) {
    if anchor.starts_with("a_") {
        (0, 0)
    } else if anchor == "contact_email" {
        (1, 0)
    } else if let Some(index) = anchor.strip_prefix("file_") {
        (2, index.parse().unwrap_or(usize::MAX))
    } else {
        (3, 0)
    }
}

/// Where the form goes next: `check` (to check the answers) or `save` (keep the draft).
fn wants_check(upload: &MultiUpload) -> bool {
    upload.field("go") != Some("save")
}

/// Save a new application or a draft from the form, then go on to check the answers or show what is
/// wrong. The draft is stored even when answers have problems, so nothing entered is lost.
async fn save_application(
    state: &AppState,
    page: PageCtx,
    user: &PageUser,
    meta: &yiwang_identity::model::ClientMeta,
    draft: Option<CaseView>,
    ctx: FormContext,
    upload: MultiUpload,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let principal = principal(state, user).await?;
    let mut errors = FormErrors::default();
    let mut files = state.cases().my_files(&principal).await?;
    let materials = chosen_materials(
        state,
        &principal,
        tr,
        &ctx.version,
        &upload,
        &mut files,
        &mut errors,
    )
    .await?;
    let entered = Entered {
        answers: answers_of(&ctx.def, &upload),
        applicant: upload.field("applicant").unwrap_or("self").to_owned(),
        contact_email: upload
            .field("contact_email")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        commitment_signed: upload.field("commitment").is_some(),
        materials,
    };
    let enterprise = Some(entered.applicant.clone()).filter(|a| !a.is_empty() && a != "self");
    let mut email = entered.contact_email.clone();
    // A bad address is reported like any other answer; the draft is kept without it.
    let id = loop {
        let app = application(ctx.item_id, enterprise.clone(), &entered, &email);
        let result = match &draft {
            None => {
                state
                    .cases()
                    .create_draft(&principal, &app, &mut request_rng())
                    .await
            }
            Some(view) => state
                .cases()
                .update_draft(&principal, view.case.id, &app, &mut request_rng())
                .await
                .map(|()| view.case.id),
        };
        match result {
            Ok(id) => break id,
            Err(CaseError::FormInvalid(problems))
                if !email.is_empty() && problems.iter().all(|p| p.key == "contact_email") =>
            {
                errors.items.push((
                    "contact_email".to_owned(),
                    tr.t("errors.field_bad_email").to_owned(),
                ));
                email.clear();
            }
            Err(other) => return Err(other.into()),
        }
    };
    let view = match draft {
        Some(view) => view,
        None => state.cases().view(&principal, id, &origin(meta)).await?,
    };
    let href = case_href(&view.case);
    if wants_check(&upload) {
        let attached: Vec<String> = entered
            .materials
            .iter()
            .map(|m| m.material.clone())
            .collect();
        let missing = completeness(
            tr,
            &ctx.def,
            &ctx.version,
            &entered.answers,
            entered.commitment_signed,
            &attached,
        );
        errors.items.extend(missing.items);
    }
    // The summary lists problems in the order of the page.
    errors.items.sort_by_key(|(anchor, _)| page_order(anchor));
    if errors.is_empty() {
        return Ok(see_other(&if wants_check(&upload) {
            format!("{href}/check")
        } else {
            format!("{href}/edit?saved=1")
        }));
    }
    let mut response = render(&apply_page(
        page,
        user.session.csrf_token.clone(),
        format!("{href}/edit"),
        &ctx,
        &entered,
        None,
        view.case.applicant.name.clone(),
        files,
        state.cases().max_file_bytes(),
        errors,
        !wants_check(&upload),
    ))?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

async fn apply_create(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(item): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = read_multi_upload(multipart).await?;
    check_session_csrf(&user, upload.field("csrf").unwrap_or_default())?;
    let ctx = new_context(&state, item_id(&item)?).await?;
    save_application(&state, page, &user, &meta, None, ctx, upload).await
}

/// The applicant's draft behind a key; `Err(redirect)` to the case page once it is submitted.
async fn draft_view(
    state: &AppState,
    principal: &Principal,
    key: &str,
    meta: &yiwang_identity::model::ClientMeta,
) -> Result<Result<CaseView, Response>, AppError> {
    let view = case_view(state, principal, key, &origin(meta)).await?;
    if !view.viewer_is_applicant {
        return Err(AppError::NotFound);
    }
    if view.case.status == CaseStatus::Draft {
        Ok(Ok(view))
    } else {
        Ok(Err(see_other(&case_href(&view.case))))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn edit_draft(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
    let view = match draft_view(&state, &principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let ctx = draft_context(&view);
    let files = state.cases().my_files(&principal).await?;
    let entered = Entered {
        answers: view.form.0.clone(),
        applicant: String::new(),
        contact_email: view.case.contact_email.clone(),
        commitment_signed: view.case.commitment_signed,
        materials: view.materials.clone(),
    };
    render(&apply_page(
        page,
        user.session.csrf_token.clone(),
        format!("{}/edit", case_href(&view.case)),
        &ctx,
        &entered,
        None,
        view.case.applicant.name.clone(),
        files,
        state.cases().max_file_bytes(),
        FormErrors::default(),
        query.saved.is_some(),
    ))
}

async fn save_draft(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = read_multi_upload(multipart).await?;
    check_session_csrf(&user, upload.field("csrf").unwrap_or_default())?;
    let principal = principal(&state, &user).await?;
    let view = match draft_view(&state, &principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let ctx = draft_context(&view);
    save_application(&state, page, &user, &meta, Some(view), ctx, upload).await
}

// ----------------------------------------------------------------------- check your answers

/// One answer as the check page lists it.
#[derive(Debug)]
pub struct AnswerRow {
    pub label: String,
    pub value: String,
    /// The input to go back to.
    pub anchor: String,
}

fn answer_rows(tr: Tr, def: &WorkflowDef, answers: &BTreeMap<String, String>) -> Vec<AnswerRow> {
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
struct CheckPage {
    page: PageCtx,
    csrf: String,
    case: Case,
    href: String,
    answers: Vec<AnswerRow>,
    commitment: Option<String>,
    materials: Vec<MaterialSlot>,
    errors: FormErrors,
}

async fn check_answers(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
    let view = match draft_view(&state, &principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let tr = page.tr;
    let def = &view.workflow.definition;
    let attached: Vec<String> = view.materials.iter().map(|m| m.material.clone()).collect();
    let errors = completeness(
        tr,
        def,
        &view.item_version,
        &view.form.0,
        view.case.commitment_signed,
        &attached,
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn submit(
    State(state): State<AppState>,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
    let principal = principal(&state, &user).await?;
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
struct SubmittedPage {
    page: PageCtx,
    case: Case,
    href: String,
    case_no: String,
    query_code: String,
    accept_due: Option<String>,
}

async fn submitted(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
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

// --------------------------------------------------------------------------------- my cases

/// A case as "my cases" lists it.
#[derive(Debug)]
pub struct CaseRow {
    pub href: String,
    pub case_no: Option<String>,
    pub item_name: String,
    pub applicant: String,
    pub status: &'static str,
    pub status_code: &'static str,
    pub draft: bool,
    pub date: String,
    pub deadline: Option<String>,
}

/// A status the list can be filtered by.
#[derive(Debug)]
pub struct StatusOption {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "cases/my_cases.html")]
struct MyCasesPage {
    page: PageCtx,
    rows: Vec<CaseRow>,
    total: u64,
    statuses: Vec<StatusOption>,
    filtered: bool,
    pager: Vec<PageLink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MyCasesQuery {
    status: Option<String>,
    page: Option<u32>,
}

async fn my_cases(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Query(query): Query<MyCasesQuery>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
    let status = query.status.as_deref().and_then(CaseStatus::parse);
    let request = PageRequest::new(query.page, Some(PAGE_SIZE)).map_err(|e| AppError::Invalid {
        field: "page".to_owned(),
        code: "page_invalid".to_owned(),
        message: e.to_string(),
    })?;
    let found = state
        .cases()
        .my_cases(
            &principal,
            &CaseFilter {
                status,
                ..CaseFilter::default()
            },
            request,
        )
        .await?;
    let tr = page.tr;
    let pager = pager(
        "/my/cases",
        &[(
            "status",
            status.map(|s| s.code().to_owned()).unwrap_or_default(),
        )],
        &found,
    );
    let rows = found
        .items
        .iter()
        .map(|c| CaseRow {
            href: if c.status == CaseStatus::Draft {
                format!("{}/edit", case_href(c))
            } else {
                case_href(c)
            },
            case_no: c.case_no.clone(),
            item_name: c.item_name.clone(),
            applicant: c.applicant.name.clone(),
            status: status_label(tr, c.status),
            status_code: c.status.code(),
            draft: c.status == CaseStatus::Draft,
            date: date_text(c.submitted_at.as_ref().unwrap_or(&c.created_at)),
            deadline: c.running_deadline().as_ref().map(date_text),
        })
        .collect();
    render(&MyCasesPage {
        statuses: CaseStatus::ALL
            .iter()
            .map(|s| StatusOption {
                code: s.code(),
                label: status_label(tr, *s),
                selected: Some(*s) == status,
            })
            .collect(),
        filtered: status.is_some(),
        total: found.total,
        rows,
        pager,
        page,
    })
}

// -------------------------------------------------------------------------------- one case

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

fn supplement_info(view: &CaseView) -> Option<SupplementInfo> {
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
struct CasePage {
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
struct DoneQuery {
    done: Option<String>,
}

async fn case_page(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
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
struct WithdrawPage {
    page: PageCtx,
    csrf: String,
    case: Case,
    href: String,
    reason: String,
    error: Option<String>,
}

async fn applicant_case(
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

async fn withdraw_form(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
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
struct WithdrawForm {
    csrf: String,
    reason: String,
}

async fn withdraw(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
    Form(form): Form<WithdrawForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
    let principal = principal(&state, &user).await?;
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
struct ResubmitPage {
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
fn resubmit_page(
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

async fn resubmit_form(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
) -> Result<Response, AppError> {
    let principal = principal(&state, &user).await?;
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

async fn resubmit(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Client(meta): Client,
    Path(key): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let upload = read_multi_upload(multipart).await?;
    check_session_csrf(&user, upload.field("csrf").unwrap_or_default())?;
    let principal = principal(&state, &user).await?;
    let view = applicant_case(&state, &principal, &key, &meta).await?;
    let Some(supplement) = supplement_info(&view) else {
        return Ok(see_other(&case_href(&view.case)));
    };
    let tr = page.tr;
    let def = &view.workflow.definition;
    let mut errors = FormErrors::default();
    let mut files = state.cases().my_files(&principal).await?;
    let chosen = chosen_materials(
        &state,
        &principal,
        tr,
        &view.item_version,
        &upload,
        &mut files,
        &mut errors,
    )
    .await?;
    let answers = answers_of(def, &upload);
    errors
        .items
        .extend(answer_problems(tr, def, &answers).items);
    if errors.is_empty() {
        let materials: Vec<(String, String)> = chosen
            .iter()
            .filter(|c| {
                !view
                    .materials
                    .iter()
                    .any(|m| m.material == c.material && m.file.public_id == c.file.public_id)
            })
            .map(|c| (c.material.clone(), c.file.public_id.clone()))
            .collect();
        state
            .cases()
            .resubmit(
                &principal,
                view.case.id,
                Some(&answers),
                &materials,
                &origin(&meta),
                &mut request_rng(),
            )
            .await?;
        return Ok(see_other(&format!(
            "{}?done=resubmitted",
            case_href(&view.case)
        )));
    }
    let csrf = user.session.csrf_token.clone();
    let max = state.cases().max_file_bytes();
    let mut response = render(&resubmit_page(
        page, csrf, &view, supplement, &answers, files, max, errors,
    ))?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::megabytes;

    #[test]
    fn file_limits_read_as_megabytes() {
        assert_eq!(megabytes(10 * 1024 * 1024), "10");
        assert_eq!(megabytes(1024 * 1024 + 512 * 1024), "1.5");
    }
}
