//! "My cases": the applicant's cases and their enterprises', filtered by status.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::model::CaseStatus;
use yiwang_cases::repo::CaseFilter;
use yiwang_kernel::PageRequest;

use super::{PAGE_SIZE, case_href, date_text, status_label};
use crate::error::AppError;
use crate::extract::{Caller, PageCaller};
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::render;
use crate::state::AppState;

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
pub(super) struct MyCasesPage {
    page: PageCtx,
    rows: Vec<CaseRow>,
    total: u64,
    statuses: Vec<StatusOption>,
    filtered: bool,
    pager: Vec<PageLink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct MyCasesQuery {
    status: Option<String>,
    page: Option<u32>,
}

pub(super) async fn my_cases(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageCaller,
    Query(query): Query<MyCasesQuery>,
) -> Result<Response, AppError> {
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
