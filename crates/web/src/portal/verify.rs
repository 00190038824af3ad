//! The public verification page of e-licences (`/licences/verify`): a visitor types an identifier
//! or a licence QR payload (the QR on a licence links here with `?p=<payload>`) and sees whether it
//! is 有效, 已吊销, 已注销, 已过期, 已换发 or 伪造或被篡改, with only the public fields. No log-in; each
//! check counts against the address's `verify` limit, like the API. The QR on a sealed case notice
//! (`YWN1.…`) links here too and gets 真实有效 or 伪造或被篡改 with the notice's public facts.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use yiwang_cases::service::{NOTICE_QR_PREFIX, NoticeVerdict};
use yiwang_licenses::{LicenseError, Outcome, Verdict};

use super::render;
use crate::auth::Client;
use crate::error::AppError;
use crate::page::PageCtx;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/licences/verify", get(verify_page))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VerifyQuery {
    /// The identifier or QR payload.
    p: Option<String>,
}

/// The verdict as the page shows it.
#[derive(Debug)]
struct VerdictView {
    /// `valid`, `revoked`, `cancelled`, `expired`, `replaced` or `forged` (the CSS class).
    code: &'static str,
    /// 有效 / 已吊销 / … in the visitor's language.
    label: &'static str,
    /// One sentence on what it means.
    explain: &'static str,
    identifier: Option<String>,
    type_name: Option<String>,
    holder: Option<String>,
    issuer: Option<String>,
    expires_on: Option<String>,
    fields: Vec<(String, String)>,
}

/// A sealed notice's verdict as the page shows it.
#[derive(Debug)]
struct NoticeView {
    /// `valid` or `forged` (the CSS class).
    code: &'static str,
    label: &'static str,
    explain: &'static str,
    case_no: String,
    title: &'static str,
    item_name: Option<String>,
    department_name: Option<String>,
    sealed_at: Option<String>,
}

#[derive(Template)]
#[template(path = "licences/verify.html")]
struct VerifyPage {
    page: PageCtx,
    text: String,
    error: Option<String>,
    verdict: Option<VerdictView>,
    notice: Option<NoticeView>,
}

fn notice_view(page: &PageCtx, verdict: NoticeVerdict) -> NoticeView {
    let code = if verdict.genuine { "valid" } else { "forged" };
    NoticeView {
        code,
        label: page.t(&format!("licence.verify.notice.outcome.{code}")),
        explain: page.t(&format!("licence.verify.notice.explain.{code}")),
        case_no: verdict.case_no,
        title: verdict.title,
        item_name: verdict.item_name,
        department_name: verdict.department_name,
        sealed_at: verdict
            .sealed_at
            .map(|at| crate::portal::notices::official_date(&at)),
    }
}

fn view(page: &PageCtx, verdict: Verdict) -> VerdictView {
    let code = match verdict.outcome {
        Outcome::Valid => "valid",
        // The revocation list says which of 吊销 and 注销 it was.
        Outcome::Revoked if verdict.reason.starts_with("cancelled") => "cancelled",
        Outcome::Revoked => "revoked",
        Outcome::Expired => "expired",
        Outcome::Replaced => "replaced",
        Outcome::Forged => "forged",
    };
    let forged = verdict.outcome == Outcome::Forged;
    VerdictView {
        code,
        label: page.t(&format!("licence.verify.outcome.{code}")),
        explain: page.t(&format!("licence.verify.explain.{code}")),
        identifier: verdict.identifier,
        // A forgery shows nothing it claims but the identifier typed.
        type_name: verdict.type_name.filter(|_| !forged),
        holder: verdict.holder.filter(|_| !forged),
        issuer: verdict.issuer.filter(|_| !forged),
        expires_on: verdict
            .expires_on
            .filter(|_| !forged)
            .map(|d| d.format("%Y-%m-%d").to_string()),
        fields: if forged {
            Vec::new()
        } else {
            verdict.public_fields
        },
    }
}

/// The form, and the verdict when `p` is given.
async fn verify_page(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    Query(query): Query<VerifyQuery>,
) -> Result<Response, AppError> {
    let text = query.p.unwrap_or_default().trim().to_owned();
    if text.is_empty() {
        return render(&VerifyPage {
            page,
            text,
            error: None,
            verdict: None,
            notice: None,
        });
    }
    crate::throttle::guard_verify(&state, &meta.ip).await?;
    let shown: String = text.chars().take(400).collect();
    if text.starts_with(NOTICE_QR_PREFIX) {
        let (notice, error) = match state.cases().verify_notice(&text).await? {
            Some(verdict) => (Some(notice_view(&page, verdict)), None),
            None => (None, Some(page.t("licence.verify.bad_input").to_owned())),
        };
        return render(&VerifyPage {
            page,
            text: shown,
            error,
            verdict: None,
            notice,
        });
    }
    let (verdict, error) = match state.licenses().verify(&text).await {
        Ok(verdict) => (Some(view(&page, verdict)), None),
        // An identifier the platform never issued is as good as forged.
        Err(LicenseError::NotFound) => (
            Some(view(
                &page,
                Verdict {
                    outcome: Outcome::Forged,
                    reason: String::new(),
                    identifier: Some(text.clone()),
                    type_name: None,
                    holder: None,
                    issuer: None,
                    expires_on: None,
                    public_fields: Vec::new(),
                    revocations_issued_at: None,
                },
            )),
            None,
        ),
        Err(LicenseError::BadIdentifier(_)) => {
            (None, Some(page.t("licence.verify.bad_input").to_owned()))
        }
        Err(LicenseError::TooLong(_)) => (None, Some(page.t("licence.verify.too_long").to_owned())),
        Err(other) => return Err(other.into()),
    };
    render(&VerifyPage {
        page,
        text: shown,
        error,
        verdict,
        notice: None,
    })
}
