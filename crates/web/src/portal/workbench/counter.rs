//! Counter registration (窗口收件): window staff find the person by resident ID, choose the item, fill
//! in the application form and upload the materials for them, and register; the receipt shows the
//! case number and the query code to hand over.

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::form::FieldDef;
use yiwang_cases::service::{MaterialUpload, Problem};
use yiwang_cases::{Application, CaseError, Origin};
use yiwang_catalog::model::ItemId;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::ResidentId;

use super::inbox::{Links, links};
use super::{refusal, with_status};
use crate::auth::{Client, request_rng};
use crate::error::AppError;
use crate::extract::{Caller, CsrfForm, CsrfMultipart, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{message_for, see_other};
use crate::portal::render;
use crate::state::AppState;
use crate::upload::MultiUpload;

#[derive(Debug)]
struct ItemChoice {
    id: i64,
    name: String,
    department: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "workbench/counter.html")]
struct StartPage {
    page: PageCtx,
    csrf: String,
    links: Links,
    items: Vec<ItemChoice>,
    resident_id: String,
    errors: Vec<(String, String)>,
}

/// One field of the application form with the answer given so far.
#[derive(Debug)]
struct FieldView {
    key: String,
    label: String,
    kind: &'static str,
    required: bool,
    help: String,
    options: Vec<String>,
    value: String,
    error: Option<String>,
}

#[derive(Debug)]
struct MaterialView {
    index: usize,
    name: String,
    mandatory: bool,
    copies: String,
    /// Replaced by a signed commitment.
    replaced: bool,
}

#[derive(Template)]
#[template(path = "workbench/counter_form.html")]
struct FormPage {
    page: PageCtx,
    csrf: String,
    links: Links,
    item_id: i64,
    item_name: String,
    resident_id: String,
    applicant_masked: String,
    fields: Vec<FieldView>,
    materials: Vec<MaterialView>,
    commitment: Option<(String, Vec<String>)>,
    commitment_signed: bool,
    contact_email: String,
    max_mb: usize,
    errors: Vec<String>,
}

fn forbidden_unless_counter(principal: &Principal) -> Result<(), AppError> {
    authorize(principal, &Action::RegisterAtCounter).map_err(AppError::from)
}

/// Items that can be applied for (they have a workflow and are in service), by department and name.
async fn item_choices(
    state: &AppState,
    selected: Option<i64>,
) -> Result<Vec<ItemChoice>, AppError> {
    let mut items: Vec<ItemChoice> = state
        .cases()
        .applicable_items()
        .await?
        .into_iter()
        .map(|c| ItemChoice {
            id: c.item.id.get(),
            selected: selected == Some(c.item.id.get()),
            name: c.content.name,
            department: c.item.department_name,
        })
        .collect();
    items.sort_by(|a, b| (&a.department, &a.name).cmp(&(&b.department, &b.name)));
    Ok(items)
}

pub(super) async fn start(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageStaff,
) -> Result<Response, AppError> {
    forbidden_unless_counter(&principal)?;
    render(&StartPage {
        csrf: user.session.csrf_token.clone(),
        links: links(&principal),
        items: item_choices(&state, None).await?,
        resident_id: String::new(),
        errors: Vec::new(),
        page,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct FindForm {
    csrf: String,
    resident_id: String,
    item: String,
}

fn mask_resident_id(id: &ResidentId) -> String {
    let text = id.as_str();
    format!("{}{}{}", &text[..4], "*".repeat(10), &text[14..])
}

/// The application form of an item for a person, with what was entered so far.
#[expect(clippy::too_many_arguments, reason = "the page and what to show again")]
async fn form_page(
    state: &AppState,
    page: PageCtx,
    principal: &Principal,
    csrf: String,
    item: ItemId,
    resident_id: &ResidentId,
    answers: &BTreeMap<String, String>,
    contact_email: String,
    commitment_signed: bool,
    field_errors: &[(String, String)],
    errors: Vec<String>,
) -> Result<Response, AppError> {
    let (guide, workflow) = state.cases().application_form(item).await?;
    let def = workflow.definition;
    let replaced: Vec<String> = def
        .commitment
        .as_ref()
        .map(|c| c.replaces.clone())
        .unwrap_or_default();
    let tr = page.tr;
    let fields = def
        .form
        .iter()
        .map(|f: &FieldDef| FieldView {
            key: f.key.clone(),
            label: f.label.clone(),
            kind: f.kind.code(),
            required: f.required,
            help: f.help.clone(),
            options: f.options.clone(),
            value: answers.get(&f.key).cloned().unwrap_or_default(),
            error: field_errors
                .iter()
                .find(|(k, _)| *k == f.key)
                .map(|(_, m)| m.clone()),
        })
        .collect();
    let materials = guide
        .version
        .content
        .materials
        .iter()
        .enumerate()
        .map(|(index, m)| MaterialView {
            index,
            name: m.name.clone(),
            mandatory: m.mandatory,
            copies: tr.fmt(
                "counter.material_copies",
                &[("o", &m.original.to_string()), ("c", &m.copies.to_string())],
            ),
            replaced: replaced.contains(&m.name),
        })
        .collect();
    let status = if errors.is_empty() && field_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let response = render(&FormPage {
        csrf,
        links: links(principal),
        item_id: item.get(),
        item_name: guide.version.content.name.clone(),
        resident_id: resident_id.as_str().to_owned(),
        applicant_masked: mask_resident_id(resident_id),
        fields,
        materials,
        commitment: def.commitment.map(|c| (c.statement, c.replaces)),
        commitment_signed,
        contact_email,
        max_mb: state.cases().max_file_bytes() / (1024 * 1024),
        errors: errors
            .into_iter()
            .chain(field_errors.iter().map(|(_, m)| m.clone()))
            .collect(),
        page,
    })?;
    Ok(with_status(response, status))
}

/// Step 1 → 2: the person exists and the item can be applied for; the form of the item.
pub(super) async fn find(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageStaff,
    CsrfForm(form): CsrfForm<FindForm>,
) -> Result<Response, AppError> {
    forbidden_unless_counter(&principal)?;
    let tr = page.tr;
    let item = form.item.parse::<i64>().ok();
    let mut errors = Vec::new();
    let parsed = ResidentId::parse(form.resident_id.trim());
    match &parsed {
        Err(_) => errors.push((
            "resident_id".to_owned(),
            tr.t("errors.resident_id_invalid").to_owned(),
        )),
        Ok(id) => {
            if let Err(e) = state.cases().person_by_resident_id(id).await {
                match refusal(tr, &e) {
                    Some((_, message)) => errors.push(("resident_id".to_owned(), message)),
                    None => return Err(e.into()),
                }
            }
        }
    }
    if item.is_none() {
        errors.push(("item".to_owned(), tr.t("counter.choose_item").to_owned()));
    }
    match (parsed, item) {
        (Ok(id), Some(item)) if errors.is_empty() => {
            form_page(
                &state,
                page,
                &principal,
                user.session.csrf_token.clone(),
                ItemId::new(item),
                &id,
                &BTreeMap::new(),
                String::new(),
                false,
                &[],
                Vec::new(),
            )
            .await
        }
        _ => {
            let response = render(&StartPage {
                csrf: user.session.csrf_token.clone(),
                links: links(&principal),
                items: item_choices(&state, item).await?,
                resident_id: form.resident_id,
                errors,
                page,
            })?;
            Ok(with_status(response, StatusCode::UNPROCESSABLE_ENTITY))
        }
    }
}

/// The registration form: its text fields and the file of each material input
/// (`material.<index>`).
#[derive(Debug, Default)]
struct CounterUpload {
    fields: Vec<(String, String)>,
    files: Vec<MaterialUpload>,
}

fn counter_upload(upload: MultiUpload) -> CounterUpload {
    let files = upload
        .files
        .into_iter()
        .filter_map(|(input, name, bytes)| {
            let index = input.strip_prefix("material.")?.parse::<usize>().ok()?;
            (!bytes.is_empty() && !name.is_empty()).then(|| MaterialUpload {
                index,
                name,
                content: Bytes::from(bytes),
            })
        })
        .collect();
    CounterUpload {
        fields: upload.fields,
        files,
    }
}

fn field_messages(tr: Tr, error: &CaseError) -> Vec<(String, String)> {
    match error {
        CaseError::FormInvalid(problems) => problems
            .iter()
            .map(|p| (p.key.clone(), message_for(tr, p.code, p.code)))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) async fn register(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageStaff,
    Client(meta): Client,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let upload = counter_upload(upload);
    let field = |name: &str| -> String {
        upload
            .fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    forbidden_unless_counter(&principal)?;
    let tr = page.tr;
    let resident_id =
        ResidentId::parse(field("resident_id").trim()).map_err(|e| AppError::Invalid {
            field: "resident_id".to_owned(),
            code: "resident_id_invalid".to_owned(),
            message: e.to_string(),
        })?;
    let item = ItemId::new(
        field("item")
            .parse::<i64>()
            .map_err(|_| AppError::NotFound)?,
    );
    let answers: BTreeMap<String, String> = upload
        .fields
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("f.")?.to_owned(), v.clone())))
        .collect();
    let contact_email = field("contact_email");
    let commitment_signed = field("commitment_signed") == "1";
    let again = |errors: Vec<String>, field_errors: Vec<(String, String)>, page: PageCtx| {
        let state = state.clone();
        let principal = principal.clone();
        let csrf = user.session.csrf_token.clone();
        let answers = answers.clone();
        let contact_email = contact_email.clone();
        let resident_id = resident_id.clone();
        async move {
            form_page(
                &state,
                page,
                &principal,
                csrf,
                item,
                &resident_id,
                &answers,
                contact_email,
                commitment_signed,
                &field_errors,
                errors,
            )
            .await
        }
    };
    let person = match state.cases().person_by_resident_id(&resident_id).await {
        Ok(p) => p,
        Err(e) => match refusal(tr, &e) {
            Some((_, message)) => return again(vec![message], Vec::new(), page).await,
            None => return Err(e.into()),
        },
    };
    let mut rng = request_rng();
    let materials = match state
        .cases()
        .counter_files(&principal, person, item, &upload.files, &mut rng)
        .await
    {
        Ok(Ok(kept)) => kept,
        Ok(Err(Problem::Upload { index, error, .. })) => {
            let material = state
                .cases()
                .application_form(item)
                .await?
                .0
                .version
                .content
                .materials
                .get(index)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let message = refusal(tr, &error).map_or_else(|| error.to_string(), |(_, m)| m);
            return again(vec![format!("{material}：{message}")], Vec::new(), page).await;
        }
        Ok(Err(_)) => Vec::new(),
        Err(e) => match refusal(tr, &e) {
            Some((_, message)) => return again(vec![message], Vec::new(), page).await,
            None => return Err(e.into()),
        },
    };
    let application = Application {
        item: Some(item),
        enterprise: None,
        answers: answers.clone(),
        contact_email: contact_email.clone(),
        commitment_signed,
        materials,
    };
    match state
        .cases()
        .register_at_counter(
            &principal,
            &resident_id,
            &application,
            &Origin {
                ip: meta.ip.clone(),
            },
            &mut rng,
        )
        .await
    {
        Ok(case) => Ok(see_other(&format!(
            "/staff/counter/receipt/{}",
            case.public_id
        ))),
        Err(e) => match refusal(tr, &e) {
            Some((_, message)) => {
                let fields = field_messages(tr, &e);
                let mut errors = Vec::new();
                if fields.is_empty() {
                    let extra = match &e {
                        CaseError::MaterialsMissing(list) => format!("：{}", list.join("、")),
                        _ => String::new(),
                    };
                    errors.push(format!("{message}{extra}"));
                }
                again(errors, fields, page).await
            }
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "workbench/receipt.html")]
struct ReceiptPage {
    page: PageCtx,
    case_no: String,
    query_code: String,
    item_name: String,
    department: String,
    applicant: String,
    applicant_id: String,
    registered_at: String,
    accept_due: String,
}

/// The receipt of a counter registration, for the staff member who registered it.
pub(super) async fn receipt(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
) -> Result<Response, AppError> {
    let id = state
        .cases()
        .find(&principal, &key)
        .await?
        .ok_or(AppError::NotFound)?;
    let view = state
        .cases()
        .view(&principal, id, &Origin { ip: meta.ip })
        .await?;
    let case = view.case;
    // The query code is handed over once, by the clerk who registered the case.
    let mine = matches!(&principal, Principal::Staff(s) if case.registered_by == Some(s.id));
    if !mine {
        return Err(AppError::NotFound);
    }
    render(&ReceiptPage {
        case_no: case.case_no.clone().unwrap_or_default(),
        query_code: case.query_code.clone().unwrap_or_default(),
        item_name: case.item_name.clone(),
        department: case.department_name.clone(),
        applicant: case.applicant.name.clone(),
        applicant_id: case.applicant.id_masked.clone(),
        registered_at: case
            .submitted_at
            .map(|at| page.local_time(&at))
            .unwrap_or_default(),
        accept_due: case
            .accept_due_at
            .map(|at| page.local_time(&at))
            .unwrap_or_default(),
        page,
    })
}
