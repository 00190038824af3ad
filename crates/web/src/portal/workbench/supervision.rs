//! 电子监察 for supervisors (cases near or past their deadline, counted per department), the
//! department's cases for its administrators, and the verifications of commitments (告知承诺).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::model::{Case, CaseStatus, DepartmentWarnings, TaskKind, Warning};
use yiwang_cases::repo::{CaseFilter, InboxFilter};
use yiwang_identity::DepartmentId;
use yiwang_identity::policy::{Action, Principal, authorize};

use super::inbox::{Links, links};
use super::{
    Choice, DueView, PageLink, choices, due_view, page_request, pager, status_choices, status_name,
    warning_choices,
};
use crate::error::AppError;
use crate::extract::{Caller, PageStaff};
use crate::page::PageCtx;
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ListQuery {
    department: String,
    warning: String,
    status: String,
    q: String,
    page: Option<u32>,
}

/// A case in a list.
#[derive(Debug)]
struct CaseRow {
    case_no: String,
    item_name: String,
    department: String,
    applicant: String,
    status: &'static str,
    due: DueView,
}

fn rows(page: &PageCtx, state: &AppState, cases: &[Case]) -> Vec<CaseRow> {
    cases
        .iter()
        .map(|c| CaseRow {
            case_no: c.case_no.clone().unwrap_or_default(),
            item_name: c.item_name.clone(),
            department: c.department_name.clone(),
            applicant: c.applicant.name.clone(),
            status: status_name(page.tr, c.status),
            due: due_view(
                page,
                state,
                c.warning,
                c.running_deadline().or(c.verify_due_at),
            ),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "workbench/supervision.html")]
struct SupervisionPage {
    page: PageCtx,
    links: Links,
    counts: Vec<DepartmentWarnings>,
    department_choices: Vec<Choice>,
    warning_choices: Vec<Choice>,
    q: String,
    rows: Vec<CaseRow>,
    total: u64,
    pager: Vec<PageLink>,
    verifications: Vec<CaseRow>,
    verifications_total: u64,
}

pub(super) async fn supervision(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let counts = state.cases().supervision_counts(&principal).await?;
    let department = query.department.parse::<i64>().ok().map(DepartmentId::new);
    let filter = CaseFilter {
        warning: Warning::parse(&query.warning).filter(|w| *w != Warning::None),
        text: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
        ..CaseFilter::default()
    };
    let found = state
        .cases()
        .supervision_of(&principal, department, &filter, page_request(query.page)?)
        .await?;
    let pending = state
        .cases()
        .pending_verifications(&principal, page_request(None)?)
        .await?;
    let tr = page.tr;
    let department_choices = choices(
        counts
            .iter()
            .map(|c| (c.department_id.get().to_string(), c.department_name.clone())),
        &query.department,
    );
    let warnings: Vec<Choice> = warning_choices(tr, &query.warning)
        .into_iter()
        .filter(|c| c.value != Warning::None.code())
        .collect();
    let params = [
        ("department", query.department.clone()),
        ("warning", query.warning.clone()),
        ("q", query.q.clone()),
    ];
    render(&SupervisionPage {
        links: links(&principal),
        counts,
        department_choices,
        warning_choices: warnings,
        rows: rows(&page, &state, &found.items),
        total: found.total,
        pager: pager("/staff/supervision", &params, &found),
        verifications: rows(&page, &state, &pending.items),
        verifications_total: pending.total,
        q: query.q,
        page,
    })
}

#[derive(Template)]
#[template(path = "workbench/department.html")]
struct DepartmentPage {
    page: PageCtx,
    links: Links,
    status_choices: Vec<Choice>,
    warning_choices: Vec<Choice>,
    q: String,
    rows: Vec<CaseRow>,
    total: u64,
    pager: Vec<PageLink>,
}

const DEPARTMENT_STATUSES: &[CaseStatus] = &[
    CaseStatus::Submitted,
    CaseStatus::Supplement,
    CaseStatus::InReview,
    CaseStatus::Suspended,
    CaseStatus::Decided,
    CaseStatus::Concluded,
    CaseStatus::Declined,
    CaseStatus::Withdrawn,
    CaseStatus::Returned,
];

pub(super) async fn department_cases(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = CaseFilter {
        status: CaseStatus::parse(&query.status),
        warning: Warning::parse(&query.warning),
        text: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
        item: None,
    };
    let found = state
        .cases()
        .department_cases(&principal, &filter, page_request(query.page)?)
        .await?;
    let tr = page.tr;
    let params = [
        ("status", query.status.clone()),
        ("warning", query.warning.clone()),
        ("q", query.q.clone()),
    ];
    render(&DepartmentPage {
        links: links(&principal),
        status_choices: status_choices(tr, &query.status, DEPARTMENT_STATUSES),
        warning_choices: warning_choices(tr, &query.warning),
        rows: rows(&page, &state, &found.items),
        total: found.total,
        pager: pager("/staff/department-cases", &params, &found),
        q: query.q,
        page,
    })
}

/// A verification task of the staff member's posts.
#[derive(Debug)]
struct VerifyRow {
    case_no: String,
    item_name: String,
    applicant: String,
    due: DueView,
}

#[derive(Template)]
#[template(path = "workbench/verifications.html")]
struct VerificationsPage {
    page: PageCtx,
    links: Links,
    mine: Vec<VerifyRow>,
    total: u64,
    pager: Vec<PageLink>,
    /// The region's pending verifications, for supervisors.
    region: Option<Vec<CaseRow>>,
}

pub(super) async fn verifications(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let filter = InboxFilter {
        kind: Some(TaskKind::Verify),
        ..InboxFilter::default()
    };
    let found = state
        .cases()
        .inbox(&principal, &filter, page_request(query.page)?)
        .await?;
    let supervises = match &principal {
        Principal::Staff(s) => {
            authorize(&principal, &Action::SuperviseCases { region: &s.region }).is_ok()
        }
        _ => false,
    };
    let region = if supervises {
        let pending = state
            .cases()
            .pending_verifications(&principal, page_request(None)?)
            .await?;
        Some(rows(&page, &state, &pending.items))
    } else {
        None
    };
    let mine = found
        .items
        .iter()
        .map(|e| VerifyRow {
            case_no: e.case_no.clone(),
            item_name: e.item_name.clone(),
            applicant: e.applicant_name.clone(),
            due: due_view(&page, &state, Warning::None, e.task.due_at),
        })
        .collect();
    render(&VerificationsPage {
        links: links(&principal),
        mine,
        total: found.total,
        pager: pager("/staff/verifications", &[], &found),
        region,
        page,
    })
}
