//! The holder's wallet (我的证照): their licences and their enterprises', one licence with its QR
//! code, seal and history, 亮证 codes, usage grants (用证授权) and who read the licences.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use yiwang_licenses::LicenseError;
use yiwang_licenses::model::LicenseStatus;
use yiwang_licenses::service::{GrantRequest, MAX_GRANT_DAYS, MAX_REASON_CHARS, SHOW_CODE_MINUTES};

use super::{
    DataRow, LicenceRow, data_rows, day, licence_message, licence_row, page_request, qr, seal,
    source, status_label, today, verify_url,
};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, IdPath, PagePerson};
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PageQuery {
    page: Option<u32>,
}

// ------------------------------------------------------------------------------- list

#[derive(Template)]
#[template(path = "licences/wallet.html")]
pub(super) struct WalletPage {
    page: PageCtx,
    rows: Vec<LicenceRow>,
    total: u64,
    pager: Vec<PageLink>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let request = page_request(query.page)?;
    let found = state
        .licenses()
        .my_licences(&caller.principal, request)
        .await?;
    let today = today(&state);
    render(&WalletPage {
        rows: found
            .items
            .iter()
            .map(|l| licence_row(page.tr, "/my/licences", l, today))
            .collect(),
        total: found.total,
        pager: pager("/my/licences", &[], &found),
        page,
    })
}

// ------------------------------------------------------------------------------- detail

/// One line of a licence's history.
#[derive(Debug)]
pub struct HistoryRow {
    pub at: String,
    pub status: &'static str,
    pub reason: String,
    pub version: String,
}

#[derive(Template)]
#[template(path = "licences/detail.html")]
pub(super) struct DetailPage {
    page: PageCtx,
    csrf: String,
    row: LicenceRow,
    valid_from: String,
    data: Vec<DataRow>,
    holder_id: String,
    version: u16,
    source: &'static str,
    case_no: Option<String>,
    status_reason: String,
    key_id: String,
    history: Vec<HistoryRow>,
    qr_svg: String,
    verify_href: String,
    seal_svg: String,
    can_show: bool,
}

pub(super) async fn detail(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    headers: HeaderMap,
    IdPath(identifier): IdPath<String>,
) -> Result<Response, AppError> {
    let (licence, events) = state
        .licenses()
        .my_licence(&caller.principal, &identifier)
        .await?;
    let t = state.licenses().licence_type(&licence.type_code).await.ok();
    let tr = page.tr;
    let payload = licence.qr_payload();
    let url = verify_url(&state, &headers, &payload);
    let qr_svg = qr(&url, tr.t("licence.page.detail.qr_title"))?;
    let verify_href = format!(
        "/licences/verify?p={}",
        crate::prefs::encode_component(&payload)
    );
    render(&DetailPage {
        csrf: caller.session().csrf_token.clone(),
        row: licence_row(tr, "/my/licences", &licence, today(&state)),
        valid_from: day(licence.valid_from),
        data: data_rows(&licence, t.as_ref()),
        holder_id: licence.holder_id.clone(),
        version: licence.version,
        source: tr.t(&format!("licence.page.source.{}", licence.source.code())),
        case_no: licence.case_no.clone(),
        status_reason: licence.status_reason.clone(),
        key_id: licence.key_id.clone(),
        history: events
            .iter()
            .map(|e| HistoryRow {
                at: page.local_time(&e.at),
                status: status_label(tr, e.to_status),
                reason: e.reason.clone(),
                version: e
                    .identifier
                    .rsplit('.')
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned(),
            })
            .collect(),
        qr_svg,
        verify_href,
        seal_svg: seal(&licence.department_name)?,
        can_show: licence.status == LicenseStatus::Valid,
        page,
    })
}

// ------------------------------------------------------------------------------- 亮证

#[derive(Template)]
#[template(path = "licences/show.html")]
pub(super) struct ShowPage {
    page: PageCtx,
    href: String,
    type_name: String,
    identifier: String,
    digits: String,
    expires_at: String,
    minutes: i64,
    qr_svg: String,
}

pub(super) async fn show(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Client(meta): Client,
    headers: HeaderMap,
    IdPath(identifier): IdPath<String>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, AppError> {
    let code = state
        .licenses()
        .create_show_code(&caller.principal, &identifier, &source(&meta))
        .await?;
    let (licence, _) = state
        .licenses()
        .my_licence(&caller.principal, &code.identifier)
        .await?;
    let redeem = redeem_url(&state, &headers, &code.token);
    let mut response = render(&ShowPage {
        href: format!("/my/licences/{}", code.identifier),
        type_name: licence.type_name,
        identifier: code.identifier.clone(),
        digits: code.digits.clone(),
        expires_at: page.local_time(&code.expires_at),
        minutes: SHOW_CODE_MINUTES,
        qr_svg: qr(&redeem, page.t("licence.page.show.qr_title"))?,
        page,
    })?;
    // The code is shown once; never from a cache.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// The clerk's redeem page with the QR token filled in (the clerk confirms; nothing happens on
/// the scan alone).
fn redeem_url(state: &AppState, headers: &HeaderMap, token: &str) -> String {
    let verify = verify_url(state, headers, "");
    let base = verify
        .split("/licences/verify")
        .next()
        .unwrap_or_default()
        .to_owned();
    format!(
        "{base}/staff/licences/redeem?code={}",
        crate::prefs::encode_component(token)
    )
}

// ------------------------------------------------------------------------------- grants

/// A grant as the list shows it.
#[derive(Debug)]
pub struct GrantRow {
    pub public_id: String,
    pub department: String,
    pub purpose: String,
    pub scope: String,
    pub case_no: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    /// 有效 / 已撤销 / 已过期
    pub state: &'static str,
    pub live: bool,
}

/// An option of a select.
#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct GrantForm {
    department: String,
    scope: String,
    purpose: String,
    days: String,
}

#[derive(Template)]
#[template(path = "licences/grants.html")]
pub(super) struct GrantsPage {
    page: PageCtx,
    csrf: String,
    rows: Vec<GrantRow>,
    departments: Vec<Choice>,
    scopes: Vec<Choice>,
    form: GrantForm,
    errors: FormErrors,
    max_days: u32,
    max_purpose: usize,
    done: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn grants(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let done = match query.done.as_deref() {
        Some("created") => Some("licence.page.grants.done_created"),
        Some("revoked") => Some("licence.page.grants.done_revoked"),
        _ => None,
    };
    let form = GrantForm {
        days: "30".to_owned(),
        ..GrantForm::default()
    };
    grants_page(&state, page, &caller, form, FormErrors::default(), done).await
}

async fn grants_page(
    state: &AppState,
    page: PageCtx,
    caller: &PagePerson,
    form: GrantForm,
    errors: FormErrors,
    done: Option<&'static str>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let now = state.clock().now();
    let grants = state.licenses().my_grants(&caller.principal).await?;
    // The licences a grant may name: the holder's valid ones (first page of the wallet is enough
    // for a choice list; a type grant covers the rest).
    let mine = state
        .licenses()
        .my_licences(&caller.principal, page_request(None)?)
        .await?;
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let mut scopes: Vec<Choice> = Vec::new();
    let mut types: Vec<(String, String)> = Vec::new();
    for l in mine
        .items
        .iter()
        .filter(|l| l.status == LicenseStatus::Valid)
    {
        let value = format!("licence:{}", l.identifier);
        scopes.push(Choice {
            selected: form.scope == value,
            label: format!("{} · {} · {}", l.type_name, l.holder_name, l.identifier),
            value,
        });
        if !types.iter().any(|(c, _)| c == &l.type_code) {
            types.push((l.type_code.clone(), l.type_name.clone()));
        }
    }
    for (code, name) in types {
        let value = format!("type:{code}");
        scopes.push(Choice {
            selected: form.scope == value,
            label: page.fmt1("licence.page.grants.scope_type", "type", name),
            value,
        });
    }
    let rows = grants
        .iter()
        .map(|g| {
            let (state_key, live) = if g.revoked_at.is_some() {
                ("licence.page.grants.state_revoked", false)
            } else if g.expires_at <= now {
                ("licence.page.grants.state_expired", false)
            } else {
                ("licence.page.grants.state_live", true)
            };
            GrantRow {
                public_id: g.public_id.clone(),
                department: g.department_name.clone(),
                purpose: g.purpose.clone(),
                scope: match (&g.identifier, &g.type_code) {
                    (Some(identifier), _) => identifier.clone(),
                    (None, Some(code)) => page.fmt1("licence.page.grants.scope_type", "type", code),
                    (None, None) => String::new(),
                },
                case_no: g.case_no.clone(),
                created_at: page.local_time(&g.created_at),
                expires_at: page.local_time(&g.expires_at),
                state: tr.t(state_key),
                live,
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = render(&GrantsPage {
        csrf: caller.session().csrf_token.clone(),
        rows,
        departments: departments
            .into_iter()
            .map(|d| Choice {
                selected: form.department == d.code,
                value: d.code,
                label: d.name,
            })
            .collect(),
        scopes,
        form,
        errors,
        max_days: MAX_GRANT_DAYS,
        max_purpose: MAX_REASON_CHARS,
        done,
        page,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

pub(super) async fn create_grant(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Client(meta): Client,
    CsrfForm(form): CsrfForm<GrantForm>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let mut errors = FormErrors::default();
    // What the form itself must carry; the rules (purpose, length, expiry bound, the holder's
    // licence, the department) are the service's.
    if form.department.trim().is_empty() {
        errors.items.push((
            "department".to_owned(),
            tr.t("licence.page.grants.need_department").to_owned(),
        ));
    }
    let (identifier, type_code) = match form.scope.split_once(':') {
        Some(("licence", id)) if !id.is_empty() => (Some(id.to_owned()), None),
        Some(("type", code)) if !code.is_empty() => (None, Some(code.to_owned())),
        _ => {
            errors.items.push((
                "scope".to_owned(),
                tr.t("licence.page.grants.need_scope").to_owned(),
            ));
            (None, None)
        }
    };
    let days = form.days.trim().parse::<u32>().unwrap_or(0);
    if !errors.is_empty() {
        return grants_page(&state, page, &caller, form, errors, None).await;
    }
    let request = GrantRequest {
        department: form.department.clone(),
        purpose: form.purpose.clone(),
        identifier,
        type_code,
        days,
    };
    match state
        .licenses()
        .grant(&caller.principal, &request, &source(&meta))
        .await
    {
        Ok(_) => Ok(see_other("/my/licences/grants?done=created")),
        Err(e) => {
            let field = match &e {
                LicenseError::ReasonRequired | LicenseError::TooLong(_) => "purpose",
                LicenseError::DataInvalid(problems)
                    if problems.iter().any(|p| p.field == "days") =>
                {
                    "days"
                }
                LicenseError::NotIssuingDepartment => "department",
                LicenseError::NotFound
                | LicenseError::TypeNotFound
                | LicenseError::HolderNotFound
                | LicenseError::DataInvalid(_) => "scope",
                _ => return Err(e.into()),
            };
            let message = match (&e, field) {
                (_, "days") => page.fmt1("licence.page.grants.days_range", "max", MAX_GRANT_DAYS),
                (_, "department") => tr.t("licence.page.grants.need_department").to_owned(),
                _ => licence_message(tr, &e),
            };
            let errors = FormErrors::one(field, message);
            grants_page(&state, page, &caller, form, errors, None).await
        }
    }
}

pub(super) async fn revoke_grant(
    State(state): State<AppState>,
    caller: PagePerson,
    Client(meta): Client,
    IdPath(grant): IdPath<String>,
    CsrfForm(_): CsrfForm<super::NoFields>,
) -> Result<Response, AppError> {
    state
        .licenses()
        .revoke_grant(&caller.principal, &grant, &source(&meta))
        .await?;
    Ok(see_other("/my/licences/grants?done=revoked"))
}

// ------------------------------------------------------------------------------- reads

/// One read of the holder's licences.
#[derive(Debug)]
pub struct ReadRow {
    pub at: String,
    pub department: String,
    pub reader: String,
    pub purpose: String,
    pub case_no: Option<String>,
    pub licence: String,
    pub basis: &'static str,
    pub allowed: bool,
}

#[derive(Template)]
#[template(path = "licences/reads.html")]
pub(super) struct ReadsPage {
    page: PageCtx,
    rows: Vec<ReadRow>,
    total: u64,
    pager: Vec<PageLink>,
}

pub(super) async fn reads(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PagePerson,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let request = page_request(query.page)?;
    let found = state
        .licenses()
        .reads_of_mine(&caller.principal, request)
        .await?;
    let tr = page.tr;
    render(&ReadsPage {
        rows: found
            .items
            .iter()
            .map(|r| ReadRow {
                at: page.local_time(&r.at),
                department: r.department_name.clone(),
                reader: r.reader.clone(),
                purpose: r.purpose.clone(),
                case_no: r.case_no.clone(),
                licence: format!("{} {}", r.type_name, r.identifier),
                basis: tr.t(&format!("licence.page.basis.{}", r.basis.code())),
                allowed: r.allowed,
            })
            .collect(),
        total: found.total,
        pager: pager("/my/licences/reads", &[], &found),
        page,
    })
}
