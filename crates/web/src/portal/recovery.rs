//! Forgotten password pages: ask for a code by SMS (`/forgot-password`), then enter it with a new password
//! (`/reset-password`). Anonymous forms with the double-submit CSRF token, like the log-in form.
//!
//! The request page answers the same whether or not the number has an account (and when the hourly limit
//! of codes is reached), so the pages reveal nothing about who is registered.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use yiwang_identity::IdentityError;

use crate::auth::{Client, anonymous_csrf, request_rng};
use crate::error::AppError;
use crate::extract::GuestForm;
use crate::page::PageCtx;
use crate::portal::form::{
    CsrfCookie, FormErrors, identity_message, message_for, see_other, with_cookie,
};
use crate::portal::render;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/forgot-password", get(forgot_form).post(forgot))
        .route("/reset-password", get(reset_form).post(reset))
}

// ------------------------------------------------------------------ ask for a code

#[derive(Template)]
#[template(path = "account/forgot.html")]
struct ForgotPage {
    page: PageCtx,
    csrf: String,
    login: String,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ForgotForm {
    csrf: String,
    login: String,
}

async fn forgot_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let html = render(&ForgotPage {
        page,
        csrf,
        login: String::new(),
        errors: FormErrors::default(),
    })?;
    Ok(with_cookie(html, set))
}

async fn forgot(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<ForgotForm>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    match state
        .recovery()
        .request_reset(&form.login, &meta, &mut rng)
        .await
    {
        // Sent, no such account or throttled: the same next page in every case.
        Ok(_) => render(&ResetPage {
            page,
            csrf: form.csrf,
            login: form.login.trim().to_owned(),
            errors: FormErrors::default(),
            sent: true,
            done: false,
        }),
        Err(error @ IdentityError::Invalid { field, .. }) => {
            let errors = FormErrors::one(field, identity_message(page.tr, &error));
            let mut response = render(&ForgotPage {
                page,
                csrf: form.csrf,
                login: form.login,
                errors,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

// ------------------------------------------------------------------ code and new password

#[derive(Template)]
#[template(path = "account/reset.html")]
struct ResetPage {
    page: PageCtx,
    csrf: String,
    login: String,
    errors: FormErrors,
    /// A code was just requested: say where it went.
    sent: bool,
    /// The password was changed: show the confirmation instead of the form.
    done: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DoneQuery {
    done: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResetForm {
    csrf: String,
    login: String,
    code: String,
    new_password: String,
    new_password_confirm: String,
}

async fn reset_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let html = render(&ResetPage {
        page,
        csrf,
        login: String::new(),
        errors: FormErrors::default(),
        sent: false,
        done: query.done.is_some(),
    })?;
    Ok(with_cookie(html, set))
}

async fn reset(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<ResetForm>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let errors = if form.new_password == form.new_password_confirm {
        let mut rng = request_rng();
        match state
            .recovery()
            .reset_password(&form.login, &form.code, &form.new_password, &meta, &mut rng)
            .await
        {
            Ok(()) => return Ok(see_other("/reset-password?done=1")),
            Err(error @ IdentityError::Invalid { field, .. }) => {
                FormErrors::one(field, identity_message(tr, &error))
            }
            Err(other) => return Err(other.into()),
        }
    } else {
        FormErrors::one(
            "new_password_confirm",
            message_for(tr, "password_mismatch", "the two passwords differ"),
        )
    };
    let mut response = render(&ResetPage {
        page,
        csrf: form.csrf,
        login: form.login.trim().to_owned(),
        errors,
        sent: false,
        done: false,
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
