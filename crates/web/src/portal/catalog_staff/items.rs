//! The staff member's items with the review queue, and creating an item.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use yiwang_catalog::model::{VersionState, impl_code_problem};
use yiwang_catalog::{CatalogError, Origin};
use yiwang_identity::policy::{Action, Principal, authorize};

use super::form::{ContentForm, Editor, ReadForm, read_errors, read_form};
use super::{allowed, refusal_form_errors, refusal_status, with_status};
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug, Clone)]
struct ListRow {
    id: i64,
    name: String,
    impl_code: String,
    department: String,
    in_effect: String,
    open_state: Option<&'static str>,
    open_code: &'static str,
    author: String,
}

#[derive(Template)]
#[template(path = "catalog_staff/list.html")]
struct ListPage {
    page: PageCtx,
    rows: Vec<ListRow>,
    queue: Vec<ListRow>,
    can_create: bool,
    can_manage: bool,
}

pub(super) fn version_text(tr: Tr, version: Option<u32>) -> String {
    version.map_or_else(
        || tr.t("catalog_staff.not_published").to_owned(),
        |n| tr.fmt("catalog_staff.version_no", &[("n", &n.to_string())]),
    )
}

pub(super) async fn list(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let items = state.catalog().staff_items(principal, false).await?;
    let tr = page.tr;
    let can_manage = allowed(principal, &Action::ManageCatalog);
    let can_create = match principal {
        Principal::Staff(s) => allowed(
            principal,
            &Action::EditCatalog {
                department: s.department,
            },
        ),
        _ => false,
    };
    // The queue: versions in review that this person may decide (never their own).
    let mut reviewable = state.catalog().review_queue(principal, &items).await?;
    let mut rows = Vec::with_capacity(items.len());
    let mut queue = Vec::new();
    for row in items {
        let mut entry = ListRow {
            id: row.item.id.get(),
            name: row.name,
            impl_code: row.item.impl_code,
            department: row.item.department_name,
            in_effect: version_text(tr, row.item.current_version),
            open_state: row.open_state.map(|s| tr.t(&s.label_key())),
            open_code: row.open_state.map_or("", VersionState::code),
            author: String::new(),
        };
        if let Some(author) = reviewable.remove(&row.item.id) {
            entry.author = author.map(|a| a.name).unwrap_or_default();
            queue.push(entry.clone());
        }
        rows.push(entry);
    }
    render(&ListPage {
        page,
        rows,
        queue,
        can_create,
        can_manage,
    })
}

#[derive(Debug)]
struct DeptOption {
    code: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "catalog_staff/new.html")]
struct NewPage {
    page: PageCtx,
    csrf: String,
    impl_code: String,
    /// For platform administrators: every department to choose from.
    departments: Vec<DeptOption>,
    own_department: String,
    ed: Editor,
}

async fn new_page(
    state: &AppState,
    page: PageCtx,
    who: &PageStaff,
    impl_code: String,
    department: &str,
    ed: Editor,
) -> Result<NewPage, AppError> {
    let me = state.accounts().staff(who.session()).await?;
    let principal = &who.principal;
    let chosen = if department.is_empty() {
        me.department_code.as_str()
    } else {
        department
    };
    let departments = if allowed(principal, &Action::ManageCatalog) {
        yiwang_identity::service::departments(state.db(), "")
            .await?
            .into_iter()
            .map(|d| DeptOption {
                selected: d.code == chosen,
                code: d.code,
                name: d.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    let own = yiwang_identity::service::department(state.db(), &me.department_code).await?;
    Ok(NewPage {
        page,
        csrf: who.session().csrf_token.clone(),
        impl_code,
        departments,
        own_department: own.name,
        ed,
    })
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let me = state.accounts().staff(who.session()).await?;
    authorize(
        principal,
        &Action::EditCatalog {
            department: me.department_id,
        },
    )?;
    let ed = Editor::new(page.tr, ContentForm::blank(), FormErrors::default());
    render(&new_page(&state, page, &who, String::new(), "", ed).await?)
}

/// The value of a single form key.
pub(super) fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

pub(super) async fn create(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let me = state.accounts().staff(who.session()).await?;
    let tr = page.tr;
    let impl_code = value_of(&pairs, "impl_code").trim().to_owned();
    let department_code = match value_of(&pairs, "department") {
        "" => me.department_code.clone(),
        chosen => chosen.to_owned(),
    };
    let form = ContentForm::from_pairs(&pairs);
    let show = |form: ContentForm, errors: FormErrors, status: StatusCode| {
        let state = state.clone();
        let page = page.clone();
        let who = who.clone();
        let impl_code = impl_code.clone();
        let department_code = department_code.clone();
        async move {
            let ed = Editor::new(tr, form, errors);
            let new = new_page(&state, page, &who, impl_code, &department_code, ed).await?;
            Ok::<_, AppError>(with_status(render(&new)?, status))
        }
    };
    let read = read_form(&form, &[]);
    if !read.problems.is_empty() {
        let rules = impl_code_problem(&impl_code).into_iter().collect();
        let errors = read_errors(tr, &read, rules);
        return show(form, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let ReadForm { content, lines, .. } = read;
    let department = yiwang_identity::service::department(state.db(), &department_code).await?;
    match state
        .catalog()
        .create_item(
            principal,
            &impl_code,
            &department,
            &content,
            &Origin { ip: meta.ip },
        )
        .await
    {
        Ok(id) => Ok(see_other(&format!("/staff/catalog/{id}?created=1"))),
        Err(error) => match refusal_status(&error) {
            Some(status) if !matches!(error, CatalogError::Identity(_)) => {
                show(form, refusal_form_errors(tr, &error, Some(&lines)), status).await
            }
            _ => Err(error.into()),
        },
    }
}
