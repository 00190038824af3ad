//! Print-ready notices of a case (受理通知书, 补正告知书, 不予受理决定书, 准予/不予许可决定书) with the
//! wording of 《中华人民共和国行政许可法》, for the applicant and for staff who may see the case; the
//! public progress query by case number and query code; the public list of granted decisions (结果公示).
//!
//! Official documents are written in Chinese; the notice body is zh-CN whatever the page language, the
//! page around it follows the visitor's language.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use yiwang_cases::model::Disclosure;
use yiwang_cases::service::due_date;
use yiwang_cases::{CaseError, CaseView, Origin, PublicProgress};
use yiwang_kernel::PageRequest;

use crate::auth::{Client, anonymous_csrf};
use crate::error::AppError;
use crate::extract::{Caller, GuestForm, IdPath, PageCaller};
use crate::page::PageCtx;
use crate::portal::cases::{
    EventRow, NoticeKind, case_view, date_text, event_rows, last_event, missing_of, notice_kinds,
    status_label,
};
use crate::portal::catalog::{PageLink, pager};
use crate::portal::form::{CsrfCookie, message_for, with_cookie};
use crate::portal::licences;
use crate::portal::render;
use crate::prefs::encode_component;
use crate::state::AppState;
use crate::throttle::Scope;

/// Disclosures listed per page.
const DISCLOSURES_PER_PAGE: u32 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cases/{key}/notices/{kind}", get(notice))
        .route("/progress", get(progress_form).post(progress))
        .route("/disclosures", get(disclosures))
}

/// A date as official documents write it (GB/T 9704: 2026年2月13日).
pub fn official_date(at: &DateTime<Utc>) -> String {
    let d = due_date(*at);
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// What every notice shows.
#[derive(Debug)]
pub struct NoticeData {
    pub kind: &'static str,
    pub department_name: String,
    pub doc_no: String,
    pub addressee: String,
    pub addressee_id: String,
    pub enterprise: bool,
    pub item_name: String,
    pub submitted: String,
    pub accepted: String,
    pub decision_due: String,
    /// The supplement notice's list and its deadline.
    pub missing: Vec<String>,
    pub supplement_due: String,
    /// Reasons of a decline or denial, conditions of a grant.
    pub reason: String,
    /// The date of the notice.
    pub issued: String,
    pub case_href: String,
    pub title_key: &'static str,
    /// The electronic seal, for the notices that are sealed when decided (not 补正告知书).
    pub seal: Option<SealBlock>,
}

/// A notice's electronic seal as the page prints it: the round seal, the QR code that verifies it
/// (offline, or on the public verification page it links to), the key and the time.
#[derive(Debug)]
pub struct SealBlock {
    pub seal_svg: String,
    pub qr_svg: String,
    pub key_id: String,
    pub sealed_at: String,
    pub verify_href: String,
}

macro_rules! notice_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name {
            page: PageCtx,
            n: NoticeData,
        }
    };
}

notice_template!(AcceptedNotice, "cases/notices/accepted.html");
notice_template!(SupplementNotice, "cases/notices/supplement.html");
notice_template!(DeclinedNotice, "cases/notices/declined.html");
notice_template!(GrantedNotice, "cases/notices/granted.html");
notice_template!(DeniedNotice, "cases/notices/denied.html");

fn notice_data(kind: NoticeKind, view: &CaseView, case_href: String) -> NoticeData {
    let case = &view.case;
    let when = |at: Option<&DateTime<Utc>>| at.map(official_date).unwrap_or_default();
    let (issued, reason, missing, supplement_due) = match kind {
        NoticeKind::Accepted => (
            when(case.accepted_at.as_ref()),
            String::new(),
            Vec::new(),
            String::new(),
        ),
        NoticeKind::Supplement => {
            let event = last_event(view, "supplement");
            let due = event
                .and_then(|e| e.detail.get("due"))
                .and_then(serde_json::Value::as_str)
                .and_then(|s| yiwang_db::parse_ts(s).ok())
                .or(case.supplement_due_at);
            (
                when(event.map(|e| &e.at)),
                event.map(|e| e.note.clone()).unwrap_or_default(),
                event.map(missing_of).unwrap_or_default(),
                when(due.as_ref()),
            )
        }
        NoticeKind::Declined => (
            when(
                last_event(view, "decline")
                    .map(|e| &e.at)
                    .or(case.concluded_at.as_ref()),
            ),
            case.decision_note.clone(),
            Vec::new(),
            String::new(),
        ),
        NoticeKind::Granted | NoticeKind::Denied => (
            when(case.decided_at.as_ref()),
            case.decision_note.clone(),
            Vec::new(),
            String::new(),
        ),
    };
    NoticeData {
        kind: kind.code(),
        department_name: case.department_name.clone(),
        doc_no: case.case_no.clone().unwrap_or_default(),
        addressee: case.applicant.name.clone(),
        addressee_id: case.applicant.id_masked.clone(),
        enterprise: case.applicant.enterprise_id.is_some(),
        item_name: case.item_name.clone(),
        submitted: when(case.submitted_at.as_ref()),
        accepted: when(case.accepted_at.as_ref()),
        decision_due: when(case.decision_due_at.as_ref()),
        missing,
        supplement_due,
        reason,
        issued,
        case_href,
        title_key: kind.title_key(),
        seal: None,
    }
}

/// The seal code of a notice kind (`None` for 补正告知书, which is not sealed).
fn seal_code(kind: NoticeKind) -> Option<&'static str> {
    match kind {
        NoticeKind::Accepted => Some("acceptance"),
        NoticeKind::Declined => Some("decline"),
        NoticeKind::Granted => Some("grant"),
        NoticeKind::Denied => Some("deny"),
        NoticeKind::Supplement => None,
    }
}

async fn notice(
    State(state): State<AppState>,
    page: PageCtx,
    Caller { principal, .. }: PageCaller,
    Client(meta): Client,
    headers: HeaderMap,
    IdPath((key, kind)): IdPath<(String, String)>,
) -> Result<Response, AppError> {
    let kind = NoticeKind::parse(&kind).ok_or(AppError::NotFound)?;
    let view = case_view(&state, &principal, &key, &Origin { ip: meta.ip }).await?;
    if !notice_kinds(&view).contains(&kind) {
        return Err(AppError::NotFound);
    }
    let case_href = if view.viewer_is_applicant {
        format!("/my/cases/{}", view.case.public_id)
    } else {
        format!("/staff/cases/{}", view.case.public_id)
    };
    let mut n = notice_data(kind, &view, case_href);
    if let Some(code) = seal_code(kind)
        && let Some(seal) = state
            .cases()
            .notice_seal(&principal, view.case.id, code)
            .await?
    {
        let payload = seal.qr_payload(&n.doc_no);
        n.seal = Some(SealBlock {
            seal_svg: licences::seal(&n.department_name)?,
            qr_svg: licences::qr(
                &licences::verify_url(&state, &headers, &payload),
                page.t("notice.seal.qr_title"),
            )?,
            key_id: seal.key_id,
            sealed_at: official_date(&seal.sealed_at),
            verify_href: format!("/licences/verify?p={}", encode_component(&payload)),
        });
    }
    match kind {
        NoticeKind::Accepted => render(&AcceptedNotice { page, n }),
        NoticeKind::Supplement => render(&SupplementNotice { page, n }),
        NoticeKind::Declined => render(&DeclinedNotice { page, n }),
        NoticeKind::Granted => render(&GrantedNotice { page, n }),
        NoticeKind::Denied => render(&DeniedNotice { page, n }),
    }
}

// ------------------------------------------------------------------------ progress query

/// A case as the progress page shows it.
#[derive(Debug)]
pub struct ProgressView {
    pub case_no: String,
    pub item_name: String,
    pub department_name: String,
    pub status: &'static str,
    pub status_code: &'static str,
    pub outcome: Option<&'static str>,
    pub submitted: Option<String>,
    pub accepted: Option<String>,
    pub decision_due: Option<String>,
    pub concluded: Option<String>,
    pub events: Vec<EventRow>,
}

#[derive(Template)]
#[template(path = "cases/progress.html")]
struct ProgressPage {
    page: PageCtx,
    csrf: String,
    case_no: String,
    error: Option<String>,
    found: Option<ProgressView>,
}

async fn progress_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let html = render(&ProgressPage {
        page,
        csrf,
        case_no: String::new(),
        error: None,
        found: None,
    })?;
    Ok(with_cookie(html, set))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ProgressForm {
    csrf: String,
    case_no: String,
    code: String,
}

fn progress_view(page: &PageCtx, p: &PublicProgress) -> ProgressView {
    let tr = page.tr;
    let status = p.status;
    ProgressView {
        case_no: p.case_no.clone(),
        item_name: p.item_name.clone(),
        department_name: p.department_name.clone(),
        status: status_label(tr, status),
        status_code: status.code(),
        outcome: p
            .outcome
            .map(|o| tr.t(&format!("cases.outcome.{}", o.code()))),
        submitted: p.submitted_at.as_ref().map(date_text),
        accepted: p.accepted_at.as_ref().map(date_text),
        decision_due: p.decision_due_at.as_ref().map(date_text),
        concluded: p.concluded_at.as_ref().map(date_text),
        events: event_rows(page, &p.events),
    }
}

async fn progress(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<ProgressForm>,
) -> Result<Response, AppError> {
    // Guessing pairs is slowed down like guessing passwords, in the same count as the API.
    let now = state.clock().now();
    state
        .throttles()
        .check(Scope::Progress, &meta.ip, now)
        .await?;
    let tr = page.tr;
    let (case_no, code) = (form.case_no.trim(), form.code.trim());
    let result = if case_no.is_empty() || code.is_empty() {
        Err(tr.t("progress.both_required").to_owned())
    } else {
        match state.cases().public_progress(case_no, code).await {
            Ok(found) => Ok(found),
            Err(e @ CaseError::QueryMismatch) => {
                state
                    .throttles()
                    .record_failure(Scope::Progress, &meta.ip, now)
                    .await?;
                Err(message_for(tr, "case_query_mismatch", &e.to_string()))
            }
            Err(other) => return Err(other.into()),
        }
    };
    match result {
        Ok(found) => render(&ProgressPage {
            found: Some(progress_view(&page, &found)),
            csrf: form.csrf,
            case_no: case_no.to_owned(),
            error: None,
            page,
        }),
        Err(error) => {
            let mut response = render(&ProgressPage {
                csrf: form.csrf,
                case_no: case_no.to_owned(),
                error: Some(error),
                found: None,
                page,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
    }
}

// --------------------------------------------------------------------------- disclosures

#[derive(Template)]
#[template(path = "cases/disclosures.html")]
struct DisclosuresPage {
    page: PageCtx,
    items: Vec<Disclosure>,
    total: u64,
    pager: Vec<PageLink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PageQuery {
    page: Option<u32>,
}

async fn disclosures(
    State(state): State<AppState>,
    page: PageCtx,
    Query(query): Query<PageQuery>,
) -> Result<Response, AppError> {
    let request = PageRequest::new(query.page, Some(DISCLOSURES_PER_PAGE)).map_err(|e| {
        AppError::Invalid {
            field: "page".to_owned(),
            code: "page_invalid".to_owned(),
            message: e.to_string(),
        }
    })?;
    let found = state.cases().disclosures(request).await?;
    render(&DisclosuresPage {
        pager: pager("/disclosures", &[], &found),
        total: found.total,
        items: found.items,
        page,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn official_dates_have_no_leading_zeros_and_are_china_time() {
        // 2026-02-12 17:00 UTC is 13 February 01:00 in Beijing.
        let at = Utc
            .with_ymd_and_hms(2026, 2, 12, 17, 0, 0)
            .single()
            .unwrap();
        assert_eq!(official_date(&at), "2026年2月13日");
    }

    #[test]
    fn notice_kinds_round_trip() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(NoticeKind::parse("licence"), None);
    }
}
