//! Workflow pages: the items one may manage with their workflow version; an item's current
//! definition drawn as SVG, its version history, and the form to publish a new version from TOML
//! (every problem listed with its step).

use std::collections::HashMap;

use super::diagram::{DiagramLabels, svg};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_cases::workflow::{PostRef, WorkflowDef, WorkflowProblem};
use yiwang_cases::{CaseError, Origin};
use yiwang_catalog::model::ItemId;

use super::inbox::{Links, links};
use super::{refusal, with_status};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{Caller, CsrfForm, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{message_for, see_other};
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug)]
struct ItemRow {
    id: i64,
    name: String,
    impl_code: String,
    department: String,
    version: Option<u32>,
}

#[derive(Template)]
#[template(path = "workbench/workflows.html")]
struct ListPage {
    page: PageCtx,
    links: Links,
    rows: Vec<ItemRow>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageStaff,
) -> Result<Response, AppError> {
    let items = state.catalog().staff_items(&principal, false).await?;
    let versions: HashMap<ItemId, u32> = state
        .cases()
        .items_with_workflows()
        .await?
        .into_iter()
        .collect();
    let mut rows: Vec<ItemRow> = items
        .into_iter()
        .map(|row| ItemRow {
            id: row.item.id.get(),
            version: versions.get(&row.item.id).copied(),
            name: row.name,
            impl_code: row.item.impl_code,
            department: row.item.department_name,
        })
        .collect();
    // Items with a workflow first; the catalog's order (by name) within each group.
    rows.sort_by_key(|r| r.version.is_none());
    render(&ListPage {
        links: links(&principal),
        rows,
        page,
    })
}

#[derive(Debug)]
struct VersionRow {
    version: u32,
    published_at: String,
    published_by: String,
    steps: usize,
}

#[derive(Template)]
#[template(path = "workbench/workflow.html")]
struct ItemPage {
    page: PageCtx,
    links: Links,
    csrf: String,
    id: i64,
    item_name: String,
    impl_code: String,
    department: String,
    current: Option<u32>,
    diagram: String,
    history: Vec<VersionRow>,
    definition: String,
    problems: Vec<String>,
    published: Option<u32>,
}

/// A definition to start from when an item has none: the usual 受理 → 审查 → 决定 at the item's
/// department, to be edited to its real posts.
fn starting_definition(department: &str) -> String {
    format!(
        "[[steps]]\nid = \"accept\"\nname = \"受理\"\nkind = \"intake\"\npost = \"{department}/window\"\nnext = [\"review\"]\n\n\
         [[steps]]\nid = \"review\"\nname = \"审查\"\nkind = \"review\"\npost = \"{department}/review\"\nnext = [\"decide\"]\n\n\
         [[steps]]\nid = \"decide\"\nname = \"决定\"\nkind = \"decide\"\npost = \"{department}/chief\"\n"
    )
}

/// One problem in words: where (step or form field) and what.
fn problem_text(tr: Tr, problem: &WorkflowProblem) -> String {
    let message = message_for(tr, problem.code, &problem.message);
    // The reader's own words say what is wrong; the parser's detail says where in the text.
    let message = if problem.code == "workflow_unreadable" {
        format!("{message}：{}", problem.message)
    } else {
        message
    };
    match problem.at.as_deref() {
        Some(at) => match at.strip_prefix("form.") {
            Some(field) => tr.fmt(
                "workflow_admin.problem_field",
                &[("at", field), ("message", &message)],
            ),
            None => tr.fmt(
                "workflow_admin.problem_at",
                &[("at", at), ("message", &message)],
            ),
        },
        None => message,
    }
}

async fn diagram(state: &AppState, tr: Tr, def: &WorkflowDef) -> Result<String, AppError> {
    let names = state.cases().post_names(def).await?;
    let post_name =
        |post: &PostRef| -> String { names.get(post).cloned().unwrap_or_else(|| post.to_string()) };
    Ok(svg(
        def,
        &DiagramLabels {
            title: tr.t("workflow_admin.diagram_title"),
            deliver: tr.t("workflow_admin.deliver"),
            working_days: tr.t("workflow_admin.working_days"),
            parallel: tr.t("workflow_admin.parallel"),
            join: tr.t("workflow_admin.join"),
            commitment: tr.t("workflow_admin.commitment"),
            instant: tr.t("workflow_admin.instant"),
            post_name: &post_name,
        },
    ))
}

#[expect(clippy::too_many_arguments, reason = "the page and what to show again")]
async fn show(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    id: ItemId,
    text: Option<String>,
    problems: Vec<String>,
    published: Option<u32>,
    status: StatusCode,
) -> Result<Response, AppError> {
    // The catalog decides who manages the item (its department's administrators and approvers).
    let (item, versions) = state.catalog().staff_item(&who.principal, id).await?;
    let item_name = versions
        .iter()
        .rev()
        .find(|v| Some(v.version_no) == item.current_version)
        .or_else(|| versions.last())
        .map(|v| v.content.name.clone())
        .unwrap_or_default();
    let current = state.cases().current_workflow(id).await?;
    let history = state
        .cases()
        .workflow_history(id)
        .await?
        .into_iter()
        .map(|w| VersionRow {
            version: w.version_no,
            published_at: page.local_time(&w.published_at),
            published_by: w.published_by,
            steps: w.definition.steps.len(),
        })
        .rev()
        .collect::<Vec<_>>();
    let tr = page.tr;
    let diagram = match &current {
        Some(w) => diagram(state, tr, &w.definition).await?,
        None => String::new(),
    };
    let definition = text.unwrap_or_else(|| match &current {
        Some(w) => toml::to_string(&w.definition)
            .unwrap_or_else(|_| starting_definition(&item.department_code)),
        None => starting_definition(&item.department_code),
    });
    let mut history = history;
    history.sort_by_key(|v| std::cmp::Reverse(v.version));
    let response = render(&ItemPage {
        links: links(&who.principal),
        csrf: who.user.session.csrf_token.clone(),
        id: id.get(),
        item_name,
        impl_code: item.impl_code,
        department: item.department_name,
        current: current.map(|w| w.version_no),
        diagram,
        history,
        definition,
        problems,
        published,
        page,
    })?;
    Ok(with_status(response, status))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ItemQuery {
    published: Option<u32>,
}

pub(super) async fn item_page(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<ItemQuery>,
) -> Result<Response, AppError> {
    show(
        &state,
        page,
        &who,
        id,
        None,
        Vec::new(),
        query.published,
        StatusCode::OK,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct PublishForm {
    definition: String,
}

pub(super) async fn publish(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    Client(meta): Client,
    IdPath(item): IdPath<ItemId>,
    CsrfForm(form): CsrfForm<PublishForm>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let unprocessable = |problems: Vec<String>, page: PageCtx| {
        let state = state.clone();
        let who = who.clone();
        let text = form.definition.clone();
        async move {
            show(
                &state,
                page,
                &who,
                item,
                Some(text),
                problems,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let def = match WorkflowDef::from_toml(&form.definition) {
        Ok(def) => def,
        Err(problem) => return unprocessable(vec![problem_text(tr, &problem)], page).await,
    };
    match state
        .cases()
        .publish_workflow(&who.principal, item, &def, &Origin { ip: meta.ip })
        .await
    {
        Ok(workflow) => Ok(see_other(&format!(
            "/staff/workflows/{}?published={}",
            item.get(),
            workflow.version_no
        ))),
        Err(CaseError::WorkflowInvalid(problems)) => {
            let list = problems.iter().map(|p| problem_text(tr, p)).collect();
            unprocessable(list, page).await
        }
        Err(e) => match refusal(tr, &e) {
            Some((_, message)) if !matches!(e, CaseError::Identity(_)) => {
                unprocessable(vec![message], page).await
            }
            _ => Err(e.into()),
        },
    }
}
