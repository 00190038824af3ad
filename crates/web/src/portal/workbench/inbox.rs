//! The inbox (待办件) of a staff member's posts: counts, tabs per post, search and filters, the
//! deadline of every row in colour and words, claiming and releasing.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::model::{CaseStatus, InboxCounts, TaskId, TaskKind, Warning};
use yiwang_cases::repo::InboxFilter;
use yiwang_identity::model::PostId;
use yiwang_identity::policy::{Action, Principal, authorize};

use super::{
    Choice, DueView, PageLink, due_view, page_request, pager, refusal, status_choices, status_name,
    warning_choices,
};
use crate::error::AppError;
use crate::extract::{Caller, CsrfForm, IdPath, PageStaff};
use crate::page::PageCtx;
use crate::portal::form::see_other;
use crate::portal::render;
use crate::prefs::safe_next;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InboxQuery {
    post: String,
    q: String,
    status: String,
    warning: String,
    step: String,
    mine: String,
    page: Option<u32>,
    /// A refusal code after a claim or release that did not happen.
    refused: String,
    done: String,
}

/// A tab: one of the staff member's posts.
#[derive(Debug)]
struct Tab {
    href: String,
    name: String,
    current: bool,
}

#[derive(Debug)]
struct Row {
    task_id: i64,
    case_no: String,
    item_name: String,
    applicant_name: String,
    step_name: String,
    post_name: String,
    status: &'static str,
    due: DueView,
    claimed_by_me: bool,
}

/// What the workbench links to, by what the staff member may do.
#[derive(Debug, Default)]
#[expect(clippy::struct_excessive_bools, reason = "one link each")]
pub(super) struct Links {
    pub counter: bool,
    pub supervision: bool,
    pub department: bool,
    pub workflows: bool,
}

pub(super) fn links(principal: &Principal) -> Links {
    match principal {
        Principal::Staff(s) => {
            use yiwang_identity::model::Role;
            Links {
                counter: authorize(principal, &Action::RegisterAtCounter).is_ok(),
                supervision: authorize(principal, &Action::SuperviseCases { region: &s.region })
                    .is_ok(),
                department: s.has(Role::DepartmentAdmin) || s.has(Role::PlatformAdmin),
                workflows: authorize(
                    principal,
                    &Action::EditCatalog {
                        department: s.department,
                    },
                )
                .is_ok(),
            }
        }
        _ => Links::default(),
    }
}

#[derive(Template)]
#[template(path = "workbench/inbox.html")]
struct InboxPage {
    page: PageCtx,
    csrf: String,
    counts: InboxCounts,
    tabs: Vec<Tab>,
    rows: Vec<Row>,
    total: u64,
    pager: Vec<PageLink>,
    q: String,
    post: String,
    mine: bool,
    status_choices: Vec<Choice>,
    warning_choices: Vec<Choice>,
    step_choices: Vec<Choice>,
    filtered: bool,
    refused: Option<String>,
    done: Option<&'static str>,
    links: Links,
    /// Where claim and release come back to.
    back: String,
}

/// Statuses a task in an inbox can have its case in.
const INBOX_STATUSES: &[CaseStatus] = &[
    CaseStatus::Submitted,
    CaseStatus::InReview,
    CaseStatus::Suspended,
    CaseStatus::Supplement,
    CaseStatus::Decided,
    CaseStatus::Concluded,
];

pub(super) async fn inbox(
    State(state): State<AppState>,
    page: PageCtx,
    Caller {
        user, principal, ..
    }: PageStaff,
    Query(query): Query<InboxQuery>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let filter = InboxFilter {
        warning: Warning::parse(&query.warning),
        text: Some(query.q.clone()).filter(|q| !q.trim().is_empty()),
        mine: query.mine == "1",
        post: query.post.parse::<i64>().ok().map(PostId::new),
        step: Some(query.step.clone()).filter(|s| !s.is_empty()),
        status: CaseStatus::parse(&query.status),
        kind: None,
    };
    let found = state
        .cases()
        .inbox(&principal, &filter, page_request(query.page)?)
        .await?;
    let counts = state.cases().inbox_counts(&principal).await?;
    let steps = state.cases().inbox_steps(&principal).await?;
    let me = state.accounts().staff(&user.session).await?;
    let base_params = |post: &str| -> String {
        if post.is_empty() {
            "/staff/cases".to_owned()
        } else {
            format!("/staff/cases?post={post}")
        }
    };
    let mut tabs = Vec::new();
    if me.posts.len() > 1 {
        tabs.push(Tab {
            href: base_params(""),
            name: tr.t("workbench.all_posts").to_owned(),
            current: query.post.is_empty(),
        });
        for p in &me.posts {
            let id = p.id.get().to_string();
            tabs.push(Tab {
                href: base_params(&id),
                current: query.post == id,
                name: p.name.clone(),
            });
        }
    }
    let rows = found
        .items
        .iter()
        .map(|e| {
            let due = match (e.task.kind, e.case_status) {
                (TaskKind::Step, CaseStatus::InReview) => e.decision_due_at.or(e.task.due_at),
                _ => e.task.due_at,
            };
            Row {
                task_id: e.task.id.get(),
                case_no: e.case_no.clone(),
                item_name: e.item_name.clone(),
                applicant_name: e.applicant_name.clone(),
                step_name: e.task.step_name.clone(),
                post_name: e.task.post_name.clone(),
                status: status_name(tr, e.case_status),
                due: due_view(&page, &state, e.case_warning, due),
                claimed_by_me: e.task.claimed_by == Some(me.id),
            }
        })
        .collect();
    let params = [
        ("post", query.post.clone()),
        ("q", query.q.clone()),
        ("status", query.status.clone()),
        ("warning", query.warning.clone()),
        ("step", query.step.clone()),
        ("mine", query.mine.clone()),
    ];
    let pager = pager("/staff/cases", &params, &found);
    // This list again after a claim or release, without the previous outcome.
    let mut kept: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", crate::prefs::encode_component(v)))
        .collect();
    if let Some(n) = query.page.filter(|n| *n > 1) {
        kept.push(format!("page={n}"));
    }
    let back_to = if kept.is_empty() {
        "/staff/cases".to_owned()
    } else {
        format!("/staff/cases?{}", kept.join("&"))
    };
    let refused = Some(query.refused.as_str())
        .filter(|c| !c.is_empty())
        .and_then(|c| tr.get(&format!("errors.{c}")))
        .map(str::to_owned);
    let done = match query.done.as_str() {
        "claim" => Some("workbench.claimed"),
        "release" => Some("workbench.released"),
        _ => None,
    };
    let step_choices = super::choices(steps.into_iter().map(|s| (s.clone(), s)), &query.step);
    render(&InboxPage {
        csrf: user.session.csrf_token.clone(),
        counts,
        tabs,
        rows,
        total: found.total,
        pager,
        filtered: !(query.q.is_empty()
            && query.status.is_empty()
            && query.warning.is_empty()
            && query.step.is_empty()
            && query.mine.is_empty()),
        q: query.q,
        mine: query.mine == "1",
        status_choices: status_choices(tr, &query.status, INBOX_STATUSES),
        warning_choices: warning_choices(tr, &query.warning),
        step_choices,
        refused,
        done,
        links: links(&principal),
        back: back_to,
        post: query.post,
        page,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ClaimForm {
    /// The inbox address to come back to (a local path).
    next: String,
}

/// Back to the page the form was on, with the outcome in the address.
fn back(next: &str, key: &str, value: &str) -> Response {
    let next = safe_next(Some(next).filter(|n| n.starts_with("/staff/")));
    let next = if next == "/" {
        "/staff/cases".to_owned()
    } else {
        next
    };
    let separator = if next.contains('?') { '&' } else { '?' };
    see_other(&format!("{next}{separator}{key}={value}"))
}

pub(super) async fn claim(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
    IdPath(task): IdPath<TaskId>,
    CsrfForm(form): CsrfForm<ClaimForm>,
) -> Result<Response, AppError> {
    match state.cases().claim(&principal, task).await {
        Ok(()) => Ok(back(&form.next, "done", "claim")),
        Err(e) => match refusal(page.tr, &e) {
            Some(_) => Ok(back(
                &form.next,
                "refused",
                yiwang_kernel::ErrorCode::code(&e),
            )),
            None => Err(e.into()),
        },
    }
}

pub(super) async fn release(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
    IdPath(task): IdPath<TaskId>,
    CsrfForm(form): CsrfForm<ClaimForm>,
) -> Result<Response, AppError> {
    match state.cases().release(&principal, task).await {
        Ok(()) => Ok(back(&form.next, "done", "release")),
        Err(e) => match refusal(page.tr, &e) {
            Some(_) => Ok(back(
                &form.next,
                "refused",
                yiwang_kernel::ErrorCode::code(&e),
            )),
            None => Err(e.into()),
        },
    }
}
