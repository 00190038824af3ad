//! 证照管理: the licence pages of issuing departments' staff. Every page first asks the service for
//! the types the staff member's department issues; staff of other departments (and without a
//! licence role) get 403 on every page, people get 403 from the extractor.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use yiwang_identity::policy::Principal;
use yiwang_licenses::model::{HolderKind, LicenseStatus, Validity};
use yiwang_licenses::service::{HolderRef, IssueRequest, MAX_REASON_CHARS};
use yiwang_licenses::{License, LicenseError, LicenseType};

use super::{
    DataRow, LicenceRow, MAX_SEARCH_CHARS, data_rows, day, licence_message, licence_row,
    page_request, source, today,
};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, CsrfMultipart, IdPath, PageStaff};
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

/// What the read log records when staff open a licence of their department here.
const ADMIN_PURPOSE: &str = "发证部门证照管理";

/// The types the caller's department issues (403 for anyone else).
async fn gate(state: &AppState, principal: &Principal) -> Result<Vec<LicenseType>, AppError> {
    Ok(state.licenses().issuing_types(principal).await?)
}

fn csrf(caller: &PageStaff) -> String {
    caller.session().csrf_token.clone()
}

fn own_department(caller: &PageStaff, licence: &License) -> bool {
    caller
        .staff()
        .is_some_and(|s| s.department == licence.department_id)
}

// ------------------------------------------------------------------------------- list

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListQuery {
    q: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "licences/staff_list.html")]
pub(super) struct ListPage {
    page: PageCtx,
    q: String,
    rows: Vec<LicenceRow>,
    total: u64,
    pager: Vec<PageLink>,
    max_search: usize,
}

pub(super) async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    gate(&state, &caller.principal).await?;
    let q = query.q.unwrap_or_default().trim().to_owned();
    if q.chars().nth(MAX_SEARCH_CHARS).is_some() {
        return Err(AppError::Invalid {
            field: "q".to_owned(),
            code: "licence_text_too_long".to_owned(),
            message: format!("the search text has at most {MAX_SEARCH_CHARS} characters"),
        });
    }
    let request = page_request(query.page)?;
    let found = state
        .licenses()
        .department_licences(&caller.principal, Some(q.as_str()), request)
        .await?;
    let today = today(&state);
    render(&ListPage {
        rows: found
            .items
            .iter()
            .map(|l| licence_row(page.tr, "/staff/licences", l, today))
            .collect(),
        total: found.total,
        pager: pager("/staff/licences", &[("q", q.clone())], &found),
        q,
        max_search: MAX_SEARCH_CHARS,
        page,
    })
}

// ------------------------------------------------------------------------------- one licence

#[derive(Template)]
#[template(path = "licences/staff_licence.html")]
pub(super) struct LicencePage {
    page: PageCtx,
    row: LicenceRow,
    valid_from: String,
    holder_id: String,
    data: Vec<DataRow>,
    version: u16,
    status_reason: String,
    case_no: Option<String>,
    source: &'static str,
    /// Shown after redeeming a 亮证 code.
    redeemed: bool,
    /// The caller's department issued it: the actions are offered.
    actions: bool,
    /// Opened from a case (免提交): the way back to it.
    case_href: Option<String>,
    /// It may still be renewed, revoked or cancelled (valid or expired).
    can_change: bool,
    done: Option<&'static str>,
}

fn licence_page(
    page: PageCtx,
    state: &AppState,
    caller: &PageStaff,
    licence: &License,
    types: &[LicenseType],
    redeemed: bool,
    done: Option<&'static str>,
) -> LicencePage {
    let t = types.iter().find(|t| t.code == licence.type_code);
    let actions = own_department(caller, licence);
    LicencePage {
        row: licence_row(page.tr, "/staff/licences", licence, today(state)),
        valid_from: day(licence.valid_from),
        holder_id: licence.holder_id.clone(),
        data: data_rows(licence, t),
        version: licence.version,
        status_reason: licence.status_reason.clone(),
        case_no: licence.case_no.clone(),
        source: page
            .tr
            .t(&format!("licence.page.source.{}", licence.source.code())),
        redeemed,
        actions,
        can_change: actions
            && matches!(
                licence.status,
                LicenseStatus::Valid | LicenseStatus::Expired
            ),
        done,
        case_href: None,
        page,
    }
}

impl LicencePage {
    /// Opened from a case: no actions, and the way back leads to the case.
    fn opened_from_case(mut self, case_href: String) -> Self {
        self.actions = false;
        self.can_change = false;
        self.case_href = Some(case_href);
        self
    }
}

/// A licence a reviewer opened from a case it fulfils a material of (read through the
/// application's grant, logged by the caller): the licence page without actions, the way back
/// leading to the case.
pub(crate) async fn case_licence_page(
    page: PageCtx,
    state: &AppState,
    caller: &PageStaff,
    licence: &License,
    case_href: String,
) -> Result<Response, AppError> {
    let types = state.licenses().types().await?;
    render(
        &licence_page(page, state, caller, licence, &types, false, None)
            .opened_from_case(case_href),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    let licence = state
        .licenses()
        .read_licence(
            &caller.principal,
            &identifier,
            ADMIN_PURPOSE,
            None,
            &source(&meta),
        )
        .await?;
    let done = match query.done.as_deref() {
        Some("issued") => Some("licence.page.staff.done_issued"),
        Some("revoked") => Some("licence.page.staff.done_revoked"),
        Some("cancelled") => Some("licence.page.staff.done_cancelled"),
        Some("renewed") => Some("licence.page.staff.done_renewed"),
        _ => None,
    };
    render(&licence_page(
        page, &state, &caller, &licence, &types, false, done,
    ))
}

// ------------------------------------------------------------------------------- revoke / cancel

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EndForm {
    action: String,
    reason: String,
    confirm: Option<String>,
}

#[derive(Template)]
#[template(path = "licences/staff_end.html")]
pub(super) struct EndPage {
    page: PageCtx,
    csrf: String,
    row: LicenceRow,
    form: EndForm,
    errors: FormErrors,
    max_reason: usize,
}

impl EndPage {
    fn checked(&self, action: &str) -> bool {
        self.form.action == action
    }
}

fn end_page(
    page: PageCtx,
    state: &AppState,
    caller: &PageStaff,
    licence: &License,
    form: EndForm,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut response = render(&EndPage {
        csrf: csrf(caller),
        row: licence_row(page.tr, "/staff/licences", licence, today(state)),
        form,
        errors,
        max_reason: MAX_REASON_CHARS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn end_form(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
) -> Result<Response, AppError> {
    gate(&state, &caller.principal).await?;
    let licence = state
        .licenses()
        .read_licence(
            &caller.principal,
            &identifier,
            ADMIN_PURPOSE,
            None,
            &source(&meta),
        )
        .await?;
    if !own_department(&caller, &licence) {
        return Err(AppError::NotFound);
    }
    let form = EndForm {
        action: "revoke".to_owned(),
        ..EndForm::default()
    };
    end_page(
        page,
        &state,
        &caller,
        &licence,
        form,
        FormErrors::default(),
        StatusCode::OK,
    )
}

pub(super) async fn end(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    CsrfForm(form): CsrfForm<EndForm>,
) -> Result<Response, AppError> {
    gate(&state, &caller.principal).await?;
    let tr = page.tr;
    let mut errors = FormErrors::default();
    if !matches!(form.action.as_str(), "revoke" | "cancel") {
        errors.items.push((
            "action-revoke".to_owned(),
            tr.t("licence.page.end.need_action").to_owned(),
        ));
    }
    if form.confirm.is_none() {
        errors.items.push((
            "confirm".to_owned(),
            tr.t("licence.page.end.need_confirm").to_owned(),
        ));
    }
    let result = if errors.is_empty() {
        let service = state.licenses();
        let source = source(&meta);
        Some(if form.action == "revoke" {
            service
                .revoke(&caller.principal, &identifier, &form.reason, &source)
                .await
        } else {
            service
                .cancel(&caller.principal, &identifier, &form.reason, &source)
                .await
        })
    } else {
        None
    };
    let status = match result {
        Some(Ok(_)) => {
            let done = if form.action == "revoke" {
                "revoked"
            } else {
                "cancelled"
            };
            return Ok(see_other(&format!(
                "/staff/licences/{identifier}?done={done}"
            )));
        }
        Some(Err(e @ (LicenseError::ReasonRequired | LicenseError::TooLong(_)))) => {
            errors
                .items
                .push(("reason".to_owned(), licence_message(tr, &e)));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(Err(e @ (LicenseError::WrongStatus { .. } | LicenseError::Conflict))) => {
            errors
                .items
                .push(("action-revoke".to_owned(), licence_message(tr, &e)));
            StatusCode::CONFLICT
        }
        Some(Err(e)) => return Err(e.into()),
        None => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let licence = state
        .licenses()
        .read_licence(
            &caller.principal,
            &identifier,
            ADMIN_PURPOSE,
            None,
            &source(&meta),
        )
        .await?;
    end_page(page, &state, &caller, &licence, form, errors, status)
}

// ------------------------------------------------------------------------------- issue / renew

/// One input of a licence form, from the type's typed fields.
#[derive(Debug)]
pub struct FieldInput {
    /// The form name (`d_<field>`) and element id.
    pub name: String,
    pub label: String,
    /// `text`, `date` or `number`.
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

fn field_inputs(
    t: &LicenseType,
    values: &BTreeMap<String, String>,
    errors: &FormErrors,
) -> Vec<FieldInput> {
    t.fields
        .iter()
        .map(|f| {
            let name = format!("d_{}", f.name);
            FieldInput {
                error: errors.for_field(&name).map(str::to_owned),
                kind: match f.kind {
                    yiwang_licenses::model::FieldKind::Date => "date",
                    yiwang_licenses::model::FieldKind::Number => "number",
                    yiwang_licenses::model::FieldKind::Text => "text",
                },
                label: f.label.clone(),
                required: f.required,
                value: values.get(&f.name).cloned().unwrap_or_default(),
                name,
            }
        })
        .collect()
}

/// The licence data of a posted form (`d_<field>` inputs).
fn posted_data(fields: &[(String, String)]) -> BTreeMap<String, String> {
    fields
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("d_")
                .map(|name| (name.to_owned(), v.clone()))
        })
        .collect()
}

fn posted(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Per-field messages of a data problem list, on the `d_<field>` inputs.
fn data_errors(
    tr: crate::i18n::Tr,
    problems: &[yiwang_licenses::error::FieldProblem],
) -> FormErrors {
    FormErrors {
        items: problems
            .iter()
            .map(|p| {
                (
                    format!("d_{}", p.field),
                    crate::portal::form::message_for(tr, p.code, &p.message),
                )
            })
            .collect(),
    }
}

/// A type to choose.
#[derive(Debug)]
pub struct TypeChoice {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

fn type_choices(types: &[LicenseType], chosen: &str) -> Vec<TypeChoice> {
    types
        .iter()
        .map(|t| TypeChoice {
            code: t.code.clone(),
            name: t.name.clone(),
            selected: t.code == chosen,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "licences/staff_issue.html")]
pub(super) struct IssuePage {
    page: PageCtx,
    csrf: String,
    types: Vec<TypeChoice>,
    chosen: Option<String>,
    chosen_name: String,
    enterprise: bool,
    holder: String,
    valid_from: String,
    fields: Vec<FieldInput>,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct IssueQuery {
    #[serde(rename = "type")]
    type_code: Option<String>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page assembled from its parts"
)]
fn issue_page(
    page: PageCtx,
    caller: &PageStaff,
    types: &[LicenseType],
    chosen: Option<&LicenseType>,
    holder: String,
    valid_from: String,
    values: &BTreeMap<String, String>,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&IssuePage {
        csrf: csrf(caller),
        types: type_choices(types, chosen.map_or("", |t| t.code.as_str())),
        chosen: chosen.map(|t| t.code.clone()),
        chosen_name: chosen.map(|t| t.name.clone()).unwrap_or_default(),
        enterprise: chosen.is_some_and(|t| t.holder == HolderKind::Enterprise),
        holder,
        valid_from,
        fields: chosen.map_or_else(Vec::new, |t| field_inputs(t, values, &errors)),
        errors,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn issue_form(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<IssueQuery>,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    let chosen = query
        .type_code
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|code| {
            types
                .iter()
                .find(|t| t.code == code)
                .ok_or(AppError::NotFound)
        })
        .transpose()?;
    issue_page(
        page,
        &caller,
        &types,
        chosen,
        String::new(),
        day(today(&state)),
        &BTreeMap::new(),
        FormErrors::default(),
    )
}

pub(super) async fn issue(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    let tr = page.tr;
    let type_code = posted(&fields, "type");
    let t = types
        .iter()
        .find(|t| t.code == type_code)
        .ok_or(AppError::NotFound)?;
    let holder = posted(&fields, "holder").trim().to_owned();
    let valid_from = posted(&fields, "valid_from").trim().to_owned();
    let data = posted_data(&fields);
    let mut errors = FormErrors::default();
    if holder.is_empty() {
        errors.items.push((
            "holder".to_owned(),
            tr.t("licence.page.issue.need_holder").to_owned(),
        ));
    }
    let from = if valid_from.is_empty() {
        None
    } else {
        let parsed = NaiveDate::parse_from_str(&valid_from, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.items.push((
                "valid_from".to_owned(),
                crate::portal::form::message_for(tr, "field_bad_date", "YYYY-MM-DD"),
            ));
        }
        parsed
    };
    // The data's own problems are the service's; ask it only when the form is whole, so every
    // problem of the holder and date shows with the data's at once.
    if let Err(problems) = t.check_data(&data) {
        errors.items.extend(data_errors(tr, &problems).items);
    }
    if errors.is_empty() {
        let request = IssueRequest {
            type_code: t.code.clone(),
            holder: Some(if t.holder == HolderKind::Enterprise {
                HolderRef::Uscc(holder.clone())
            } else {
                HolderRef::ResidentId(holder.clone())
            }),
            data: data.clone(),
            valid_from: from,
            department: None,
        };
        match state
            .licenses()
            .issue(&caller.principal, &request, &source(&meta))
            .await
        {
            Ok(licence) => {
                return Ok(see_other(&format!(
                    "/staff/licences/{}?done=issued",
                    licence.identifier
                )));
            }
            Err(LicenseError::DataInvalid(problems)) => {
                errors.items.extend(data_errors(tr, &problems).items);
            }
            Err(e @ LicenseError::HolderNotFound) => {
                errors
                    .items
                    .push(("holder".to_owned(), licence_message(tr, &e)));
            }
            Err(e) => return Err(e.into()),
        }
    }
    issue_page(
        page,
        &caller,
        &types,
        Some(t),
        holder,
        valid_from,
        &data,
        errors,
    )
}

#[derive(Template)]
#[template(path = "licences/staff_renew.html")]
pub(super) struct RenewPage {
    page: PageCtx,
    csrf: String,
    row: LicenceRow,
    fields: Vec<FieldInput>,
    reason: String,
    errors: FormErrors,
    max_reason: usize,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one page assembled from its parts"
)]
fn renew_page(
    page: PageCtx,
    state: &AppState,
    caller: &PageStaff,
    licence: &License,
    t: &LicenseType,
    values: &BTreeMap<String, String>,
    reason: String,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&RenewPage {
        csrf: csrf(caller),
        row: licence_row(page.tr, "/staff/licences", licence, today(state)),
        fields: field_inputs(t, values, &errors),
        reason,
        errors,
        max_reason: MAX_REASON_CHARS,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

async fn own_licence(
    state: &AppState,
    caller: &PageStaff,
    identifier: &str,
    source: &str,
) -> Result<(Vec<LicenseType>, License), AppError> {
    let types = gate(state, &caller.principal).await?;
    let licence = state
        .licenses()
        .read_licence(&caller.principal, identifier, ADMIN_PURPOSE, None, source)
        .await?;
    if !own_department(caller, &licence) {
        return Err(AppError::NotFound);
    }
    Ok((types, licence))
}

pub(super) async fn renew_form(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
) -> Result<Response, AppError> {
    let (types, licence) = own_licence(&state, &caller, &identifier, &source(&meta)).await?;
    let t = types
        .iter()
        .find(|t| t.code == licence.type_code)
        .ok_or(AppError::NotFound)?;
    renew_page(
        page,
        &state,
        &caller,
        &licence,
        t,
        &licence.data,
        String::new(),
        FormErrors::default(),
    )
}

pub(super) async fn renew(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    IdPath(identifier): IdPath<String>,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let source = source(&meta);
    let data = posted_data(&fields);
    let reason = posted(&fields, "reason");
    match state
        .licenses()
        .renew(&caller.principal, &identifier, &data, &reason, &source)
        .await
    {
        Ok(renewed) => Ok(see_other(&format!(
            "/staff/licences/{}?done=renewed",
            renewed.identifier
        ))),
        Err(e) => {
            let errors = match &e {
                LicenseError::DataInvalid(problems) => data_errors(tr, problems),
                LicenseError::ReasonRequired | LicenseError::TooLong(_) => {
                    FormErrors::one("reason", licence_message(tr, &e))
                }
                _ => return Err(e.into()),
            };
            let (types, licence) = own_licence(&state, &caller, &identifier, &source).await?;
            let t = types
                .iter()
                .find(|t| t.code == licence.type_code)
                .ok_or(AppError::NotFound)?;
            renew_page(page, &state, &caller, &licence, t, &data, reason, errors)
        }
    }
}

// ------------------------------------------------------------------------------- import

/// A bad row of an import.
#[derive(Debug)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "licences/staff_import.html")]
pub(super) struct ImportPage {
    page: PageCtx,
    csrf: String,
    types: Vec<TypeChoice>,
    columns: Vec<(String, Vec<String>)>,
    errors: FormErrors,
    bad_rows: Vec<BadRow>,
    issued: Vec<String>,
    max_rows: usize,
    max_kib: usize,
}

fn import_page(
    page: PageCtx,
    caller: &PageStaff,
    types: &[LicenseType],
    chosen: &str,
    errors: FormErrors,
    bad_rows: Vec<BadRow>,
    issued: Vec<String>,
) -> Result<Response, AppError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&ImportPage {
        csrf: csrf(caller),
        types: type_choices(types, chosen),
        columns: types
            .iter()
            .map(|t| {
                let mut cols = vec![
                    "holder".to_owned(),
                    "valid_from".to_owned(),
                    "expires_on".to_owned(),
                ];
                cols.extend(t.fields.iter().map(|f| f.name.clone()));
                (t.name.clone(), cols)
            })
            .collect(),
        errors,
        bad_rows,
        issued,
        max_rows: yiwang_licenses::service::MAX_IMPORT_ROWS,
        max_kib: yiwang_licenses::service::MAX_IMPORT_BYTES / 1024,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn import_form(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    import_page(
        page,
        &caller,
        &types,
        "",
        FormErrors::default(),
        Vec::new(),
        Vec::new(),
    )
}

pub(super) async fn import(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    let tr = page.tr;
    let chosen = upload.field("type").unwrap_or_default().to_owned();
    let mut errors = FormErrors::default();
    if !types.iter().any(|t| t.code == chosen) {
        errors.items.push((
            "type".to_owned(),
            tr.t("licence.page.import.need_type").to_owned(),
        ));
    }
    let text = match upload.file("file") {
        Some((_, bytes)) if !bytes.is_empty() => {
            let text = std::str::from_utf8(bytes).ok().map(str::to_owned);
            if text.is_none() {
                errors.items.push((
                    "file".to_owned(),
                    tr.t("licence.page.import.not_utf8").to_owned(),
                ));
            }
            text
        }
        _ => {
            errors.items.push((
                "file".to_owned(),
                tr.t("licence.page.import.need_file").to_owned(),
            ));
            None
        }
    };
    let (Some(text), true) = (text, errors.is_empty()) else {
        return import_page(
            page,
            &caller,
            &types,
            &chosen,
            errors,
            Vec::new(),
            Vec::new(),
        );
    };
    match state
        .licenses()
        .import_csv(&caller.principal, &chosen, &text, &source(&meta))
        .await
    {
        Ok(report) => import_page(
            page,
            &caller,
            &types,
            &chosen,
            FormErrors::default(),
            Vec::new(),
            report.issued,
        ),
        Err(LicenseError::ImportInvalid(rows)) => {
            let errors = FormErrors::one("file", tr.t("errors.licence_import_invalid").to_owned());
            let bad = rows
                .into_iter()
                .map(|r| BadRow {
                    line: r.line,
                    reason: r.reason,
                })
                .collect();
            import_page(page, &caller, &types, &chosen, errors, bad, Vec::new())
        }
        Err(e @ LicenseError::ImportTooLarge) => {
            let errors = FormErrors::one("file", licence_message(tr, &e));
            import_page(
                page,
                &caller,
                &types,
                &chosen,
                errors,
                Vec::new(),
                Vec::new(),
            )
        }
        Err(e) => Err(e.into()),
    }
}

// ------------------------------------------------------------------------------- pending

/// A granted case whose licence still lacks data.
#[derive(Debug)]
pub struct PendingRow {
    pub case_no: String,
    pub type_name: String,
    pub holder_name: String,
    pub missing: Vec<String>,
    pub due_at: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "licences/staff_pending.html")]
pub(super) struct PendingPage {
    page: PageCtx,
    rows: Vec<PendingRow>,
}

pub(super) async fn pending(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    let open = state.licenses().pending(&caller.principal).await?;
    let now = state.clock().now();
    render(&PendingPage {
        rows: open
            .iter()
            .map(|p| {
                let labels = types.iter().find(|t| t.code == p.type_code);
                PendingRow {
                    case_no: p.case_no.clone(),
                    type_name: p.type_name.clone(),
                    holder_name: p.holder_name.clone(),
                    missing: p
                        .missing
                        .iter()
                        .map(|m| {
                            labels
                                .and_then(|t| t.fields.iter().find(|f| &f.name == m))
                                .map_or_else(|| m.clone(), |f| f.label.clone())
                        })
                        .collect(),
                    due_at: page.local_time(&p.due_at),
                    overdue: p.due_at < now,
                }
            })
            .collect(),
        page,
    })
}

// ------------------------------------------------------------------------------- types

/// A data field of a type as the catalogue shows it.
#[derive(Debug)]
pub struct TypeField {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub public: bool,
}

/// A licence type as the catalogue shows it.
#[derive(Debug)]
pub struct TypeView {
    pub code: String,
    pub name: String,
    pub holder: &'static str,
    pub validity: String,
    pub fields: Vec<TypeField>,
    pub items: Vec<String>,
    pub replaces: Vec<(String, String)>,
    pub bases: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "licences/staff_types.html")]
pub(super) struct TypesPage {
    page: PageCtx,
    types: Vec<TypeView>,
}

pub(super) async fn types(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    let tr = page.tr;
    render(&TypesPage {
        types: types
            .into_iter()
            .map(|t| TypeView {
                holder: tr.t(&format!("licence.page.holder_kind.{}", t.holder.code())),
                validity: match t.validity {
                    Validity::None => tr.t("licence.page.validity.none").to_owned(),
                    Validity::Years { years } => {
                        page.fmt1("licence.page.validity.years", "n", years)
                    }
                    Validity::Until { date } => {
                        page.fmt1("licence.page.validity.until", "date", day(date))
                    }
                },
                fields: t
                    .fields
                    .iter()
                    .map(|f| TypeField {
                        name: f.name.clone(),
                        label: f.label.clone(),
                        kind: tr.t(&format!("licence.page.field_kind.{}", f.kind.code())),
                        required: f.required,
                        public: f.public,
                    })
                    .collect(),
                items: t.producing_items.clone(),
                replaces: t
                    .replaces
                    .iter()
                    .map(|r| (r.item.clone(), r.material.clone()))
                    .collect(),
                bases: t
                    .legal_basis
                    .iter()
                    .map(|b| (b.department.clone(), b.basis.clone()))
                    .collect(),
                code: t.code,
                name: t.name,
            })
            .collect(),
        page,
    })
}

// ------------------------------------------------------------------------------- 亮证 redeem

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RedeemForm {
    code: String,
}

#[derive(Template)]
#[template(path = "licences/staff_redeem.html")]
pub(super) struct RedeemPage {
    page: PageCtx,
    csrf: String,
    code: String,
    errors: FormErrors,
}

pub(super) async fn redeem_form(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(form): Query<RedeemForm>,
) -> Result<Response, AppError> {
    gate(&state, &caller.principal).await?;
    if form.code.len() > 64 {
        return Err(AppError::Invalid {
            field: "code".to_owned(),
            code: "licence_show_code_invalid".to_owned(),
            message: "a show code has at most 64 characters".to_owned(),
        });
    }
    render(&RedeemPage {
        csrf: csrf(&caller),
        code: form.code,
        errors: FormErrors::default(),
        page,
    })
}

pub(super) async fn redeem(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Client(meta): Client,
    CsrfForm(form): CsrfForm<RedeemForm>,
) -> Result<Response, AppError> {
    let types = gate(&state, &caller.principal).await?;
    match state
        .licenses()
        .redeem_show_code(&caller.principal, &form.code, &source(&meta))
        .await
    {
        Ok(licence) => render(&licence_page(
            page, &state, &caller, &licence, &types, true, None,
        )),
        Err(e @ LicenseError::ShowCodeInvalid) => {
            let errors = FormErrors::one("code", licence_message(page.tr, &e));
            let mut response = render(&RedeemPage {
                csrf: csrf(&caller),
                code: form.code.chars().take(64).collect(),
                errors,
                page,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
