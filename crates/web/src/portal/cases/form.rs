//! The application form: its fields and material slots, a new application, editing a draft, and
//! saving either through the cases service (uploads, files chosen again, the draft) in one call.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::form::{FieldDef, FieldKind};
use yiwang_cases::model::{CaseMaterial, CaseStatus, MaterialFile};
use yiwang_cases::service::{ApplicationForm, MaterialUpload, Problem};
use yiwang_cases::workflow::WorkflowDef;
use yiwang_cases::{CaseError, CaseView};
use yiwang_catalog::model::{ItemId, ItemVersion};
use yiwang_identity::policy::Principal;

use super::{case_href, case_message, case_view, origin};
use crate::api::catalog::file_url;
use crate::auth::{Client, PageUser, request_rng};
use crate::error::AppError;
use crate::extract::{Caller, CsrfMultipart, IdPath, PageCaller};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;
use crate::upload::MultiUpload;

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
    /// Prefilled from what the platform already holds, marked verified: "已核验 · 来自账户" …
    pub verified: Option<String>,
}

pub(super) fn kind_hint(tr: Tr, field: &FieldDef) -> String {
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

pub(super) fn field_views(
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
                verified: None,
            }
        })
        .collect()
}

/// The form keys a prefilled datum fills: its own name, and the names the demo and older
/// workflows give the same datum.
fn prefill_keys(field: &str) -> &'static [&'static str] {
    match field {
        "applicant_name" => &["applicant_name"],
        "resident_id" => &["resident_id"],
        "mobile" => &["mobile"],
        "enterprise_name" => &["enterprise_name", "org_name"],
        "uscc" => &["uscc"],
        "legal_representative" => &["legal_representative", "legal_rep"],
        "address" => &["address"],
        _ => &[],
    }
}

/// The answers the platform already knows for the form's fields (国务院令第716号: never ask again
/// for what the government holds), with where each comes from, in the visitor's language.
pub(super) fn prefilled_answers(
    tr: Tr,
    def: &WorkflowDef,
    prefilled: &[yiwang_licenses::service::Prefilled],
) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for p in prefilled {
        for key in prefill_keys(&p.field) {
            if def.form.iter().any(|f| f.key == *key) {
                let from = match p.source.as_str() {
                    "account" => tr.t("cases.apply.verified.account").to_owned(),
                    "enterprise_register" => tr.t("cases.apply.verified.enterprise").to_owned(),
                    identifier => tr.fmt("cases.apply.verified.licence", &[("id", identifier)]),
                };
                out.insert((*key).to_owned(), (p.value.clone(), from));
            }
        }
    }
    out
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
    /// 免提交: the applicant's valid e-licence that replaces it ("<type> <identifier>"); the form
    /// then asks for no file.
    pub licence: Option<String>,
}

/// Marks the slots an e-licence of the applicant replaces (the cases service decides which).
pub(super) async fn link_licences(
    state: &AppState,
    principal: &Principal,
    item: ItemId,
    enterprise: Option<&str>,
    slots: &mut [MaterialSlot],
) -> Result<(), AppError> {
    let held = state
        .cases()
        .paperless_materials(principal, item, enterprise)
        .await?;
    for slot in slots {
        slot.licence = held.iter().find(|r| r.material == slot.name).and_then(|r| {
            r.identifier
                .as_ref()
                .map(|id| format!("{} {id}", r.type_name))
        });
    }
    Ok(())
}

pub(super) fn material_slots(
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
                licence: None,
            }
        })
        .collect()
}

/// The problems the service found, as the form shows them: each at the input to go back to.
pub(super) fn problem_errors(
    tr: Tr,
    def: &WorkflowDef,
    version: &ItemVersion,
    problems: &[Problem],
) -> FormErrors {
    let mut errors = FormErrors::default();
    for problem in problems {
        let material = |index: usize| {
            version
                .content
                .materials
                .get(index)
                .map_or("", |m| m.name.as_str())
        };
        errors.items.push(match problem {
            Problem::Answer(p) => {
                let label = def
                    .form
                    .iter()
                    .find(|f| f.key == p.key)
                    .map_or(p.key.as_str(), |f| f.label.as_str());
                (
                    format!("a_{}", p.key),
                    tr.fmt(
                        "cases.apply.problem",
                        &[
                            ("label", label),
                            ("message", tr.t(&format!("errors.{}", p.code))),
                        ],
                    ),
                )
            }
            Problem::ContactEmail => (
                "contact_email".to_owned(),
                tr.t("errors.field_bad_email").to_owned(),
            ),
            Problem::CommitmentNotSigned => (
                "commitment".to_owned(),
                tr.t("errors.commitment_not_signed").to_owned(),
            ),
            Problem::MaterialMissing(index) => (
                format!("file_{index}"),
                tr.fmt("cases.apply.material_needed", &[("name", material(*index))]),
            ),
            Problem::Upload { index, file, error } => {
                // The core messages speak of any upload; materials take fewer types.
                let message = match error {
                    CaseError::FileTypeRefused(_) => {
                        tr.fmt("cases.apply.file_type", &[("types", &types_text())])
                    }
                    CaseError::FileTooLarge { max } => {
                        tr.fmt("cases.apply.file_size", &[("mb", &megabytes(*max))])
                    }
                    other => case_message(tr, other),
                };
                (
                    format!("file_{index}"),
                    tr.fmt(
                        "cases.apply.file_problem",
                        &[
                            ("label", material(*index)),
                            ("file", file),
                            ("message", &message),
                        ],
                    ),
                )
            }
        });
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

pub(super) async fn applicant_choices(
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
pub(super) struct FormContext {
    item_id: ItemId,
    item_name: String,
    department_name: String,
    def: WorkflowDef,
    version: ItemVersion,
}

pub(super) async fn new_context(state: &AppState, item: ItemId) -> Result<FormContext, AppError> {
    let (guide, workflow) = state.cases().application_form(item).await?;
    Ok(FormContext {
        item_id: guide.item.id,
        item_name: guide.version.content.name.clone(),
        department_name: guide.item.department_name.clone(),
        def: workflow.definition,
        version: guide.version,
    })
}

pub(super) fn draft_context(view: &CaseView) -> FormContext {
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
pub(super) struct ApplyPage {
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
    /// (link, label): restart the new form for an enterprise, prefilled from its register.
    prefill_choices: Vec<(String, String)>,
}

pub(super) fn accept_attr() -> String {
    yiwang_cases::files::accepted_extensions()
        .iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn types_text() -> String {
    yiwang_cases::files::accepted_extensions()
        .iter()
        .map(|e| e.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The accepted types and sizes, as the page tells them.
pub(super) fn file_limits(tr: Tr, max_bytes: usize) -> String {
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
pub(super) struct Entered {
    answers: BTreeMap<String, String>,
    contact_email: String,
    commitment_signed: bool,
    materials: Vec<CaseMaterial>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page assembled from its parts"
)]
pub(super) fn apply_page(
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
        prefill_choices: Vec::new(),
        page,
    }
}

/// `?as=<enterprise public id>`: start the form for an enterprise the person acts for, prefilled
/// from its register.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct StartQuery {
    #[serde(rename = "as")]
    enterprise: Option<String>,
}

pub(super) async fn apply_new(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageCaller,
    IdPath(item): IdPath<ItemId>,
    Query(start): Query<StartQuery>,
) -> Result<Response, AppError> {
    let ctx = new_context(&state, item).await?;
    let files = state.cases().my_files(&principal).await?;
    // Only an enterprise of the person's own list is taken; anything else starts as themselves.
    let applicants = applicant_choices(
        &state,
        &user,
        page.tr,
        start.enterprise.as_deref().unwrap_or_default(),
    )
    .await?;
    let enterprise = start.enterprise.filter(|e| {
        applicants
            .iter()
            .any(|c| c.value == *e && c.value != "self")
    });
    let prefilled = prefilled_answers(
        page.tr,
        &ctx.def,
        &state
            .cases()
            .prefill(&principal, enterprise.as_deref())
            .await?,
    );
    let starts = enterprise_starts(&applicants, ctx.item_id);
    let entered = Entered {
        answers: prefilled
            .iter()
            .map(|(k, (v, _))| (k.clone(), v.clone()))
            .collect(),
        contact_email: String::new(),
        commitment_signed: false,
        materials: Vec::new(),
    };
    let mut form = apply_page(
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
    );
    for field in &mut form.fields {
        if let Some(key) = field.name.strip_prefix("a_")
            && let Some((_, from)) = prefilled.get(key)
        {
            field.verified = Some(from.clone());
        }
    }
    form.prefill_choices = starts;
    link_licences(
        &state,
        &principal,
        ctx.item_id,
        enterprise.as_deref(),
        &mut form.materials,
    )
    .await?;
    render(&form)
}

/// Links that restart the form for each enterprise of the person, prefilled from its register.
fn enterprise_starts(applicants: &[ApplicantChoice], item: ItemId) -> Vec<(String, String)> {
    applicants
        .iter()
        .filter(|c| c.value != "self" && !c.selected)
        .map(|c| (format!("/apply/{item}?as={}", c.value), c.label.clone()))
        .collect()
}

/// The answers of a submitted form, for the fields of the definition only.
pub(super) fn answers_of(def: &WorkflowDef, upload: &MultiUpload) -> BTreeMap<String, String> {
    def.form
        .iter()
        .filter_map(|f| {
            let raw = upload.field(&format!("a_{}", f.key))?.trim();
            (!raw.is_empty()).then(|| (f.key.clone(), raw.to_owned()))
        })
        .collect()
}

/// The file sent in each material's input (`file_<index>`).
pub(super) fn material_uploads(version: &ItemVersion, upload: &MultiUpload) -> Vec<MaterialUpload> {
    (0..version.content.materials.len())
        .filter_map(|index| {
            let (name, bytes) = upload.file(&format!("file_{index}"))?;
            Some(MaterialUpload {
                index,
                name: name.to_owned(),
                content: Bytes::copy_from_slice(bytes),
            })
        })
        .collect()
}

/// The earlier file chosen again for each material (`reuse_<index>`).
pub(super) fn reused_files(version: &ItemVersion, upload: &MultiUpload) -> Vec<(usize, String)> {
    (0..version.content.materials.len())
        .filter_map(|index| {
            let id = upload.field(&format!("reuse_{index}"))?.trim();
            (!id.is_empty()).then(|| (index, id.to_owned()))
        })
        .collect()
}

/// The form as the cases service takes it: the answers of the definition's fields, a file per
/// material input, and the earlier files chosen again.
pub(super) fn application_form(ctx: &FormContext, upload: &MultiUpload) -> ApplicationForm {
    let applicant = upload.field("applicant").unwrap_or("self");
    ApplicationForm {
        item: Some(ctx.item_id),
        enterprise: Some(applicant.to_owned()).filter(|a| !a.is_empty() && a != "self"),
        answers: answers_of(&ctx.def, upload),
        contact_email: upload
            .field("contact_email")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        commitment_signed: upload.field("commitment").is_some(),
        uploads: material_uploads(&ctx.version, upload),
        reuse: reused_files(&ctx.version, upload),
        check: wants_check(upload),
    }
}

/// Where an input comes on the application page: answers, the contact address, the materials in
/// their order, the commitment.
pub(super) fn page_order(anchor: &str) -> (u8, usize) {
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
pub(super) fn wants_check(upload: &MultiUpload) -> bool {
    upload.field("go") != Some("save")
}

/// Save a new application or a draft from the form, then go on to check the answers or show what is
/// wrong. The draft is stored even when answers have problems, so nothing entered is lost.
pub(super) async fn save_application(
    state: &AppState,
    page: PageCtx,
    who: &PageCaller,
    meta: &yiwang_identity::model::ClientMeta,
    draft: Option<CaseView>,
    ctx: FormContext,
    upload: MultiUpload,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let form = application_form(&ctx, &upload);
    let saved = state
        .cases()
        .save_application(
            &who.principal,
            draft.as_ref().map(|v| v.case.id),
            &form,
            &mut request_rng(),
        )
        .await?;
    let view = match draft {
        Some(view) => view,
        None => {
            state
                .cases()
                .view(&who.principal, saved.id, &origin(meta))
                .await?
        }
    };
    let href = case_href(&view.case);
    let mut errors = problem_errors(tr, &ctx.def, &ctx.version, &saved.problems);
    // The summary lists problems in the order of the page.
    errors.items.sort_by_key(|(anchor, _)| page_order(anchor));
    if errors.is_empty() {
        return Ok(see_other(&if form.check {
            format!("{href}/check")
        } else {
            format!("{href}/edit?saved=1")
        }));
    }
    let entered = Entered {
        answers: form.answers,
        contact_email: form.contact_email,
        commitment_signed: form.commitment_signed,
        materials: saved.materials,
    };
    let mut response = render(&apply_page(
        page,
        who.user.session.csrf_token.clone(),
        format!("{href}/edit"),
        &ctx,
        &entered,
        None,
        view.case.applicant.name.clone(),
        saved.files,
        state.cases().max_file_bytes(),
        errors,
        !form.check,
    ))?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

pub(super) async fn apply_create(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageCaller,
    Client(meta): Client,
    IdPath(item): IdPath<ItemId>,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    crate::throttle::guard_form_upload(&state, &meta.ip, &who.principal, &upload).await?;
    let ctx = new_context(&state, item).await?;
    save_application(&state, page, &who, &meta, None, ctx, upload).await
}

/// The applicant's draft behind a key; `Err(redirect)` to the case page once it is submitted.
pub(super) async fn draft_view(
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
pub(super) struct SavedQuery {
    saved: Option<String>,
}

pub(super) async fn edit_draft(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Query(query): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let view = match draft_view(&state, &principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let ctx = draft_context(&view);
    let files = state.cases().my_files(&principal).await?;
    let entered = Entered {
        answers: view.form.0.clone(),
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

pub(super) async fn save_draft(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    crate::throttle::guard_form_upload(&state, &meta.ip, &who.principal, &upload).await?;
    let view = match draft_view(&state, &who.principal, &key, &meta).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let ctx = draft_context(&view);
    save_application(&state, page, &who, &meta, Some(view), ctx, upload).await
}
