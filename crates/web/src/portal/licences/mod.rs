//! E-licence pages (电子证照): the holder's wallet (我的证照 — licences of the person and of the
//! enterprises they represent, one licence with its QR code and seal, 亮证 codes, usage grants and
//! the log of who read them) and the licence administration of issuing departments' staff (their
//! licences, issue by hand, revoke / cancel, renew, bulk import, pending issuances, the types and
//! redeeming a 亮证 code).
//!
//! The public verification page and the PDF download are the API engineer's (`/licences/verify`,
//! `/licences/{identifier}/pdf`); these pages link to them. Everything works without JavaScript.

pub(crate) mod staff;
mod wallet;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use chrono::{Duration, NaiveDate};
use yiwang_kernel::PageRequest;
use yiwang_kernel::clock::china_offset;
use yiwang_licenses::License;
use yiwang_licenses::model::LicenseStatus;

use crate::error::AppError;
use crate::i18n::Tr;
use crate::prefs::encode_component;
use crate::state::AppState;

/// Licences, grants and reads listed per page.
const PAGE_SIZE: u32 = 20;
/// Longest search text on the staff list, in characters (422 beyond).
const MAX_SEARCH_CHARS: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my/licences", get(wallet::list))
        .route(
            "/my/licences/grants",
            get(wallet::grants).post(wallet::create_grant),
        )
        .route(
            "/my/licences/grants/{grant}/revoke",
            post(wallet::revoke_grant),
        )
        .route("/my/licences/reads", get(wallet::reads))
        .route("/my/licences/{identifier}", get(wallet::detail))
        .route("/my/licences/{identifier}/show", post(wallet::show))
        .route("/staff/licences", get(staff::list))
        .route("/staff/licences/types", get(staff::types))
        .route("/staff/licences/pending", get(staff::pending))
        .route(
            "/staff/licences/issue",
            get(staff::issue_form).post(staff::issue),
        )
        .route(
            "/staff/licences/redeem",
            get(staff::redeem_form).post(staff::redeem),
        )
        .route("/staff/licences/{identifier}", get(staff::detail))
        .route(
            "/staff/licences/{identifier}/end",
            get(staff::end_form).post(staff::end),
        )
        .route(
            "/staff/licences/{identifier}/renew",
            get(staff::renew_form).post(staff::renew),
        )
}

/// Routes that take a file (the bulk import); mounted with the form-upload body limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route(
        "/staff/licences/import",
        get(staff::import_form).post(staff::import),
    )
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct NoFields {}

/// What audit entries name as the request's source.
fn source(meta: &yiwang_identity::model::ClientMeta) -> String {
    format!("web:{}", meta.ip)
}

/// A page request of [`PAGE_SIZE`], 422 for page 0 or beyond the kernel's last page.
fn page_request(page: Option<u32>) -> Result<PageRequest, AppError> {
    PageRequest::new(page, Some(PAGE_SIZE)).map_err(|e| AppError::Invalid {
        field: "page".to_owned(),
        code: "page_invalid".to_owned(),
        message: e.to_string(),
    })
}

/// Today in China.
fn today(state: &AppState) -> NaiveDate {
    state
        .clock()
        .now()
        .with_timezone(&china_offset())
        .date_naive()
}

pub(crate) fn status_label(tr: Tr, status: LicenseStatus) -> &'static str {
    tr.t(&format!("licence.page.status.{}", status.code()))
}

/// A date as people read it.
fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// A licence as the lists show it.
#[derive(Debug)]
pub struct LicenceRow {
    pub href: String,
    pub identifier: String,
    pub type_name: String,
    pub holder_name: String,
    pub department_name: String,
    pub status: &'static str,
    pub status_code: &'static str,
    pub issued_on: String,
    /// 长期有效 when `None`.
    pub expires_on: Option<String>,
    /// Valid and ending within the renewal reminder window (Art. 50: apply 30 days before).
    pub expiring_soon: bool,
}

fn expiring_soon(licence: &License, today: NaiveDate) -> bool {
    licence.status == LicenseStatus::Valid
        && licence.expires_on.is_some_and(|end| {
            let window = i64::try_from(yiwang_licenses::service::REMINDER_DAYS).unwrap_or(30);
            end >= today && end <= today + Duration::days(window)
        })
}

fn licence_row(tr: Tr, base: &str, licence: &License, today: NaiveDate) -> LicenceRow {
    LicenceRow {
        href: format!("{base}/{}", licence.identifier),
        identifier: licence.identifier.to_string(),
        type_name: licence.type_name.clone(),
        holder_name: licence.holder_name.clone(),
        department_name: licence.department_name.clone(),
        status: status_label(tr, licence.status),
        status_code: licence.status.code(),
        issued_on: day(licence.issued_on),
        expires_on: licence.expires_on.map(day),
        expiring_soon: expiring_soon(licence, today),
    }
}

/// One data field of a licence as its pages show it, in the type's order.
#[derive(Debug)]
pub struct DataRow {
    pub label: String,
    pub value: String,
    /// Shown on the public verification page.
    pub public: bool,
}

fn data_rows(licence: &License, t: Option<&yiwang_licenses::LicenseType>) -> Vec<DataRow> {
    let Some(t) = t else {
        return licence
            .data
            .iter()
            .map(|(k, v)| DataRow {
                label: k.clone(),
                value: v.clone(),
                public: false,
            })
            .collect();
    };
    t.fields
        .iter()
        .filter_map(|f| {
            licence.data.get(&f.name).map(|v| DataRow {
                label: f.label.clone(),
                value: v.clone(),
                public: f.public,
            })
        })
        .collect()
}

/// The address of the public verification page for a QR payload, absolute on this host so a phone
/// camera opens it.
pub(crate) fn verify_url(state: &AppState, headers: &HeaderMap, payload: &str) -> String {
    let path = format!("/licences/verify?p={}", encode_component(payload));
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let Some(host) = host else {
        return path;
    };
    let scheme = if state.config().cookie_secure {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{path}")
}

/// A QR code as inline SVG (its content escaped by the renderer).
pub(crate) fn qr(content: &str, title: &str) -> Result<String, AppError> {
    yiwang_render::qr_svg(content, title).map_err(|e| AppError::Internal(format!("qr: {e}")))
}

/// A department's seal as inline SVG.
pub(crate) fn seal(department: &str) -> Result<String, AppError> {
    yiwang_render::seal_svg(department).map_err(|e| AppError::Internal(format!("seal: {e}")))
}

/// The message of a licence error in the visitor's language.
fn licence_message(tr: Tr, error: &yiwang_licenses::LicenseError) -> String {
    use yiwang_kernel::ErrorCode as _;
    crate::portal::form::message_for(tr, error.code(), &error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_bounded() {
        assert!(page_request(None).is_ok());
        assert!(page_request(Some(yiwang_kernel::paging::MAX_PAGE)).is_ok());
        assert!(page_request(Some(yiwang_kernel::paging::MAX_PAGE + 1)).is_err());
        assert!(page_request(Some(0)).is_err());
    }
}
