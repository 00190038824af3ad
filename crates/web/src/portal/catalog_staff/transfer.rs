//! Import and export of the catalog (platform administrators).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_catalog::service::ImportReport;
use yiwang_catalog::transfer::Format;
use yiwang_catalog::{CatalogError, Origin};
use yiwang_identity::policy::{Action, authorize};
use yiwang_kernel::ErrorCode;

use super::items::value_of;
use super::{field_label, with_status};
use crate::api::catalog::download;
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{CsrfMultipart, PageStaff};
use crate::page::PageCtx;
use crate::portal::form::{message_for, see_other};
use crate::portal::render;
use crate::state::AppState;

#[derive(Debug)]
struct BadRow {
    row: usize,
    impl_code: String,
    field: String,
    code: &'static str,
    message: String,
}

#[derive(Template)]
#[template(path = "catalog_staff/transfer.html")]
struct TransferPage {
    page: PageCtx,
    csrf: String,
    report: Option<ImportReport>,
    rows: Vec<BadRow>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct TransferQuery {
    created: Option<usize>,
    updated: Option<usize>,
    unchanged: Option<usize>,
}

/// Import and export are for platform administrators only.
fn manager(who: &PageStaff) -> Result<(), AppError> {
    Ok(authorize(&who.principal, &Action::ManageCatalog)?)
}

pub(super) async fn transfer(
    page: PageCtx,
    who: PageStaff,
    Query(query): Query<TransferQuery>,
) -> Result<Response, AppError> {
    manager(&who)?;
    let report = match (query.created, query.updated, query.unchanged) {
        (Some(created), Some(updated), Some(unchanged)) => Some(ImportReport {
            created,
            updated,
            unchanged,
        }),
        _ => None,
    };
    render(&TransferPage {
        page,
        csrf: who.session().csrf_token.clone(),
        report,
        rows: Vec::new(),
        error: None,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ExportQuery {
    format: Option<String>,
}

pub(super) async fn export(
    State(state): State<AppState>,
    who: PageStaff,
    Query(query): Query<ExportQuery>,
) -> Result<Response, AppError> {
    manager(&who)?;
    let format = Format::parse(query.format.as_deref().unwrap_or("json")).ok_or_else(|| {
        AppError::Invalid {
            field: "format".to_owned(),
            code: "format_invalid".to_owned(),
            message: "format is json or csv".to_owned(),
        }
    })?;
    let bytes = state.catalog().export(format).await?;
    Ok(download(
        bytes,
        format.content_type(),
        &format!("catalog.{}", format.extension()),
    ))
}

pub(super) async fn import(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    CsrfMultipart(upload): CsrfMultipart,
) -> Result<Response, AppError> {
    let upload = upload.single();
    manager(&who)?;
    let principal = &who.principal;
    let tr = page.tr;
    let csrf = who.session().csrf_token.clone();
    let refuse = |page: PageCtx, rows: Vec<BadRow>, error: String| {
        render(&TransferPage {
            page,
            csrf: csrf.clone(),
            report: None,
            rows,
            error: Some(error),
        })
        .map(|r| with_status(r, StatusCode::UNPROCESSABLE_ENTITY))
    };
    let (name, bytes) = upload.file.unwrap_or_default();
    if bytes.is_empty() {
        return refuse(page, Vec::new(), tr.t("errors.file_empty").to_owned());
    }
    let format = match value_of(&upload.fields, "format") {
        "" => Format::from_file_name(&name),
        chosen => Format::parse(chosen),
    };
    let Some(format) = format else {
        return refuse(
            page,
            Vec::new(),
            tr.t("catalog_staff.format_unknown").to_owned(),
        );
    };
    match state
        .catalog()
        .import(principal, format, &bytes, &Origin { ip: meta.ip })
        .await
    {
        Ok(r) => Ok(see_other(&format!(
            "/staff/catalog/transfer?created={}&updated={}&unchanged={}",
            r.created, r.updated, r.unchanged
        ))),
        Err(CatalogError::ImportRejected(rows)) => {
            // The message counts rows; a row may break several rules.
            let bad_rows: std::collections::BTreeSet<usize> = rows.iter().map(|r| r.row).collect();
            let message = tr.fmt(
                "errors.import_rejected",
                &[("n", &bad_rows.len().to_string())],
            );
            let rows = rows
                .into_iter()
                .map(|r| {
                    let label = field_label(tr, &r.field);
                    BadRow {
                        row: r.row,
                        impl_code: r.impl_code,
                        field: if label.is_empty() {
                            r.field
                        } else {
                            tr.fmt(
                                "catalog_staff.field_code",
                                &[("label", label), ("code", &r.field)],
                            )
                        },
                        code: r.code,
                        message: r.message,
                    }
                })
                .collect();
            refuse(page, rows, message)
        }
        Err(error @ CatalogError::Unreadable(_)) => {
            let detail = match &error {
                CatalogError::Unreadable(detail) => detail.clone(),
                _ => String::new(),
            };
            let message = format!("{}（{detail}）", message_for(tr, error.code(), ""));
            refuse(page, Vec::new(), message)
        }
        Err(other) => Err(other.into()),
    }
}
