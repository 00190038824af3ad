//! The draft form of an item's open version, and template and sample uploads for its materials.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_catalog::model::{FileRef, ItemId, ItemVersion, VersionState};
use yiwang_catalog::{CatalogError, Origin};
use yiwang_identity::policy::{Action, Principal, authorize};

use super::form::{ContentForm, Editor, ReadForm, read_errors, read_form};
use super::item::{ReviewForm, refused};
use super::items::value_of;
use super::{refusal_form_errors, refusal_status, with_status};
use crate::api::catalog::file_url;
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfForm, CsrfMultipart, IdPath, PageStaff};
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::{FormErrors, see_other};
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug)]
struct FileLink {
    name: String,
    url: String,
}

impl FileLink {
    fn of(file: Option<&FileRef>) -> Option<Self> {
        file.map(|f| Self {
            name: f.name.clone(),
            url: file_url(f),
        })
    }
}

#[derive(Debug)]
struct MaterialFiles {
    index: usize,
    name: String,
    template: Option<FileLink>,
    sample: Option<FileLink>,
}

#[derive(Template)]
#[template(path = "catalog_staff/edit.html")]
struct EditPage {
    page: PageCtx,
    csrf: String,
    id: i64,
    impl_code: String,
    /// The saved draft's name (the form may hold an edited one).
    name: String,
    version: String,
    state_label: &'static str,
    review_note: String,
    change_note: String,
    ed: Editor,
    materials: Vec<MaterialFiles>,
    notice: Option<&'static str>,
    accept: String,
}

/// The open version if it can be edited (a draft, or one sent back), for someone who may edit it.
async fn editable(
    state: &AppState,
    principal: &Principal,
    id: ItemId,
) -> Result<(yiwang_catalog::model::Item, Option<ItemVersion>), AppError> {
    let (item, versions) = state.catalog().staff_item(principal, id).await?;
    authorize(
        principal,
        &Action::EditCatalog {
            department: item.department_id,
        },
    )?;
    let open = versions
        .into_iter()
        .find(|v| matches!(v.state, VersionState::Draft | VersionState::Rejected));
    Ok((item, open))
}

#[expect(clippy::too_many_arguments, reason = "one page, its parts passed once")]
fn edit_page(
    page: PageCtx,
    who: &PageStaff,
    item: &yiwang_catalog::model::Item,
    open: &ItemVersion,
    form: ContentForm,
    change_note: String,
    errors: FormErrors,
    notice: Option<&'static str>,
) -> EditPage {
    let tr = page.tr;
    EditPage {
        csrf: who.session().csrf_token.clone(),
        id: item.id.get(),
        impl_code: item.impl_code.clone(),
        name: open.content.name.clone(),
        version: tr.fmt(
            "catalog_staff.version_no",
            &[("n", &open.version_no.to_string())],
        ),
        state_label: tr.t(&open.state.label_key()),
        review_note: if open.state == VersionState::Rejected {
            open.review_note.clone()
        } else {
            String::new()
        },
        change_note,
        ed: Editor::new(tr, form, errors),
        materials: open
            .content
            .materials
            .iter()
            .enumerate()
            .map(|(i, m)| MaterialFiles {
                index: i + 1,
                name: m.name.clone(),
                template: FileLink::of(m.template.as_ref()),
                sample: FileLink::of(m.sample.as_ref()),
            })
            .collect(),
        notice,
        accept: yiwang_catalog::service::FILE_TYPES
            .iter()
            .map(|(ext, _)| format!(".{ext}"))
            .collect::<Vec<_>>()
            .join(","),
        page,
    }
}

fn saved_form(tr: Tr, open: &ItemVersion) -> ContentForm {
    ContentForm::from_content(
        &open.content,
        tr.t("catalog_staff.yes"),
        tr.t("catalog_staff.no"),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct EditQuery {
    drafted: Option<String>,
    uploaded: Option<String>,
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<EditQuery>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let (item, open) = editable(&state, principal, id).await?;
    let Some(open) = open else {
        return Ok(see_other(&format!("/staff/catalog/{id}")));
    };
    let notice = if query.uploaded.is_some() {
        Some("catalog_staff.notice_uploaded")
    } else if query.drafted.is_some() {
        Some("catalog_staff.notice_drafted")
    } else {
        None
    };
    let form = saved_form(page.tr, &open);
    let change_note = open.change_note.clone();
    render(&edit_page(
        page,
        &who,
        &item,
        &open,
        form,
        change_note,
        FormErrors::default(),
        notice,
    ))
}

pub(super) async fn save(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let (item, open) = editable(&state, principal, id).await?;
    let Some(open) = open else {
        let error = CatalogError::WrongState {
            state: "in_review",
            action: "edited",
        };
        return refused(&state, page, &who, id, ReviewForm::default(), error).await;
    };
    let tr = page.tr;
    let form = ContentForm::from_pairs(&pairs);
    let change_note = value_of(&pairs, "change_note").to_owned();
    let read = read_form(&form, &open.content.materials);
    if !read.problems.is_empty() {
        let errors = read_errors(tr, &read, Vec::new());
        let edit = edit_page(page, &who, &item, &open, form, change_note, errors, None);
        return Ok(with_status(
            render(&edit)?,
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let ReadForm { content, lines, .. } = read;
    match state
        .catalog()
        .save_draft(
            principal,
            id,
            &content,
            &change_note,
            &Origin { ip: meta.ip },
        )
        .await
    {
        Ok(()) => Ok(see_other(&format!("/staff/catalog/{id}?saved=1"))),
        Err(error) => match refusal_status(&error) {
            Some(status) if !matches!(error, CatalogError::Identity(_)) => {
                let errors = refusal_form_errors(tr, &error, Some(&lines));
                let edit = edit_page(page, &who, &item, &open, form, change_note, errors, None);
                Ok(with_status(render(&edit)?, status))
            }
            _ => Err(error.into()),
        },
    }
}

pub(super) async fn upload(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath((id, index, which)): IdPath<(ItemId, usize, String)>,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let upload = upload.single();
    let principal = &who.principal;
    let (item, open) = editable(&state, principal, id).await?;
    let Some(open) = open else {
        return Ok(see_other(&format!("/staff/catalog/{id}")));
    };
    if !matches!(which.as_str(), "template" | "sample")
        || index == 0
        || index > open.content.materials.len()
    {
        return Err(AppError::NotFound);
    }
    let origin = Origin { ip: meta.ip };
    let (name, bytes) = upload.file.unwrap_or_default();
    let result = match state
        .catalog()
        .upload_file(principal, &name, &bytes, &origin)
        .await
    {
        Ok(file) => {
            let mut content = open.content.clone();
            if let Some(material) = content.materials.get_mut(index - 1) {
                if which == "template" {
                    material.template = Some(file);
                } else {
                    material.sample = Some(file);
                }
            }
            state
                .catalog()
                .save_draft(principal, id, &content, &open.change_note, &origin)
                .await
        }
        Err(error) => Err(error),
    };
    match result {
        Ok(()) => Ok(see_other(&format!(
            "/staff/catalog/{id}/edit?uploaded=1#files"
        ))),
        Err(error) => match refusal_status(&error) {
            Some(status) if !matches!(error, CatalogError::Identity(_)) => {
                let tr = page.tr;
                let mut errors = refusal_form_errors(tr, &error, None);
                for entry in &mut errors.items {
                    entry.0 = format!("file-{index}-{which}");
                }
                let form = saved_form(tr, &open);
                let note = open.change_note.clone();
                let edit = edit_page(page, &who, &item, &open, form, note, errors, None);
                Ok(with_status(render(&edit)?, status))
            }
            _ => Err(error.into()),
        },
    }
}
