//! Account pages: register, log in, log out, my account (profile and sessions), change password.
//! Plain forms with CSRF tokens; errors are shown next to their fields and in a summary at the top.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::IgnoredAny;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{
    EnterpriseRelation, FieldError, RawRegistration, Registration, SessionInfo,
};
use yiwang_identity::service::enterprise::{EnterpriseRegistration, EnterpriseView};

use crate::auth::{
    Client, PageUser, anonymous_csrf, clear_session_cookie, request_rng, session_cookie,
};
use crate::error::AppError;
use crate::extract::{CsrfForm, GuestForm};
use crate::page::PageCtx;
use crate::portal::form::{
    CsrfCookie, FormErrors, identity_message, message_for, see_other, with_cookie,
};
use crate::portal::render;
use crate::prefs::safe_next;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register))
        .route("/register/code", post(register_code))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/account", get(account))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_other_sessions))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
        .route("/account/enterprises", post(register_enterprise))
        .route("/account/enterprises/{id}/agents", post(add_agent))
        .route(
            "/account/enterprises/{id}/agents/{person}/revoke",
            post(revoke_agent),
        )
}

// ------------------------------------------------------------------ register

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    page: PageCtx,
    csrf: String,
    values: RawRegistration,
    errors: FormErrors,
    /// The code request was answered (the same words whether or not the number has an account).
    code_sent: bool,
    /// Step 2 (code and password, submitting registers) rather than step 1 (details and mobile number,
    /// submitting asks for a code): each step's main button is the form's first, so Enter does what
    /// the step is for.
    verify_step: bool,
}

/// `?step=code` opens step 2 directly, for someone who already has a code.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RegisterStep {
    step: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RegisterForm {
    csrf: String,
    name: String,
    resident_id: String,
    mobile: String,
    password: String,
    password_confirm: String,
    /// The code sent by SMS to `mobile`.
    code: String,
}

async fn register_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Query(step): Query<RegisterStep>,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let html = render(&RegisterPage {
        page,
        csrf,
        values: RawRegistration::default(),
        errors: FormErrors::default(),
        code_sent: false,
        verify_step: step.step == "code",
    })?;
    Ok(with_cookie(html, set))
}

/// Send a registration code to the form's mobile number; the page answers the same whether or not
/// the number has an account (its owner is told by SMS instead).
async fn register_code(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<RegisterForm>,
) -> Result<Response, AppError> {
    // Every code is an SMS: codes are limited per address (identity also limits them per number).
    crate::throttle::guard_register_code(&state, &meta.ip).await?;
    let tr = page.tr;
    let values = RawRegistration {
        name: form.name.clone(),
        resident_id: form.resident_id.clone(),
        mobile: form.mobile.clone(),
        password: String::new(),
    };
    // Step 1 checks the person's details too, so that mistakes show before an SMS is spent; the
    // password belongs to step 2.
    let problems: Vec<FieldError> = match Registration::parse(&values) {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .filter(|e| e.field != "password")
            .collect(),
    };
    let mobile = match yiwang_kernel::Mobile::parse(&form.mobile) {
        Ok(mobile) if problems.is_empty() => mobile,
        _ => {
            let mut response = render(&RegisterPage {
                page,
                csrf: form.csrf,
                values,
                errors: FormErrors::from_fields(tr, &problems),
                code_sent: false,
                verify_step: false,
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    let mut rng = request_rng();
    state
        .accounts()
        .request_registration_code(&mobile, &meta, &mut rng)
        .await?;
    render(&RegisterPage {
        page,
        csrf: form.csrf,
        values,
        errors: FormErrors::default(),
        code_sent: true,
        verify_step: true,
    })
}

async fn register(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<RegisterForm>,
) -> Result<Response, AppError> {
    crate::throttle::guard_register(&state, &meta.ip).await?;
    let tr = page.tr;
    let values = RawRegistration {
        name: form.name.clone(),
        resident_id: form.resident_id.clone(),
        mobile: form.mobile.clone(),
        password: form.password.clone(),
    };
    let (registration, mut errors) = match Registration::parse(&values) {
        Ok(registration) => (Some(registration), Vec::new()),
        Err(errors) => (None, errors),
    };
    if form.password != form.password_confirm && !errors.iter().any(|e| e.field == "password") {
        errors.push(FieldError {
            field: "password_confirm",
            code: "password_mismatch",
            message: "the two passwords differ".to_owned(),
        });
    }
    let show = |page: PageCtx, errors: FormErrors| -> Result<Response, AppError> {
        let mut values = values.clone();
        values.password = String::new();
        let mut response = render(&RegisterPage {
            page,
            csrf: form.csrf.clone(),
            values,
            errors,
            code_sent: false,
            verify_step: true,
        })?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        Ok(response)
    };
    let Some(registration) = registration.filter(|_| errors.is_empty()) else {
        return show(page, FormErrors::from_fields(tr, &errors));
    };
    let mut rng = request_rng();
    match state
        .accounts()
        .register_person_with_code(&registration, &form.code, &meta, &mut rng)
        .await
    {
        Ok(_) => {}
        Err(error @ IdentityError::Invalid { field: "code", .. }) => {
            return show(page, FormErrors::one("code", identity_message(tr, &error)));
        }
        Err(IdentityError::Duplicate { field }) => {
            let code = if field == "mobile" {
                "mobile_taken"
            } else {
                "resident_id_taken"
            };
            return show(
                page,
                FormErrors::one(field, message_for(tr, code, "already registered")),
            );
        }
        Err(other) => return Err(other.into()),
    }
    // Registered: log straight in and go to the account page.
    let done = state
        .accounts()
        .login(
            registration.mobile.as_str(),
            &registration.password,
            &meta,
            &mut rng,
        )
        .await?;
    Ok(with_cookie(
        see_other("/account?welcome=1"),
        session_cookie(&done.token, state.config().cookie_secure),
    ))
}

// ------------------------------------------------------------------ log in / out

#[derive(Template)]
#[template(path = "account/login.html")]
struct LoginPage {
    page: PageCtx,
    csrf: String,
    login: String,
    next: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    csrf: String,
    login: String,
    password: String,
    next: String,
}

async fn login_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let next = safe_next(query.next.as_deref());
    let html = render(&LoginPage {
        page,
        csrf,
        login: String::new(),
        next,
        error: None,
    })?;
    Ok(with_cookie(html, set))
}

async fn login(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(Some(&form.next));
    let mut rng = request_rng();
    crate::auth::guard_login(&state, &meta.ip).await?;
    let result = state
        .accounts()
        .login(&form.login, &form.password, &meta, &mut rng)
        .await;
    crate::auth::note_login(&state, &meta.ip, &result).await?;
    match result {
        Ok(done) => Ok(with_cookie(
            see_other(&next),
            session_cookie(&done.token, state.config().cookie_secure),
        )),
        Err(
            error @ (IdentityError::BadCredentials
            | IdentityError::LockedOut { .. }
            | IdentityError::TooManyAttempts { .. }
            | IdentityError::Invalid { .. }
            | IdentityError::Disabled),
        ) => {
            let status = match error {
                IdentityError::LockedOut { .. } | IdentityError::TooManyAttempts { .. } => {
                    StatusCode::TOO_MANY_REQUESTS
                }
                IdentityError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::UNAUTHORIZED,
            };
            let message = identity_message(page.tr, &error);
            let mut response = render(&LoginPage {
                page,
                csrf: form.csrf,
                login: form.login,
                next,
                error: Some(message),
            })?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn logout(
    State(state): State<AppState>,
    Client(meta): Client,
    user: PageUser,
    _: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    state.accounts().logout(&user.session, &meta).await?;
    Ok(with_cookie(
        see_other("/"),
        clear_session_cookie(state.config().cookie_secure),
    ))
}

// ------------------------------------------------------------------ my account

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    page: PageCtx,
    name: String,
    resident_id: String,
    mobile: String,
    sessions: Vec<SessionInfo>,
    enterprises: Vec<EnterpriseView>,
    csrf: String,
    notice: Option<&'static str>,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountQuery {
    welcome: Option<String>,
    ended: Option<String>,
    password: Option<String>,
    agent: Option<String>,
    enterprise: Option<String>,
}

async fn account(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Query(query): Query<AccountQuery>,
) -> Result<Response, AppError> {
    let person = state.accounts().person(&user.session).await?;
    let sessions = state.accounts().sessions(&user.session).await?;
    let enterprises = state.accounts().my_enterprise_views(&user.session).await?;
    let notice = if query.welcome.is_some() {
        Some("account.welcome")
    } else if query.ended.is_some() {
        Some("account.sessions_ended")
    } else if query.password.is_some() {
        Some("account.password_changed")
    } else if query.agent.is_some() {
        Some("account.agents_changed")
    } else if query.enterprise.as_deref() == Some("held") {
        Some("account.enterprise_claim_held")
    } else if query.enterprise.is_some() {
        Some("account.enterprise_registered")
    } else {
        None
    };
    render(&AccountPage {
        page,
        name: person.name,
        // Pages always show identifiers masked, even to their owner (shoulder-surfing, shared screens).
        resident_id: person.resident_id_masked,
        mobile: person.mobile_masked,
        sessions,
        enterprises,
        csrf: user.session.csrf_token,
        notice,
        errors: FormErrors::default(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AgentForm {
    login: String,
}

async fn add_agent(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    user: PageUser,
    Path(enterprise): Path<String>,
    CsrfForm(form): CsrfForm<AgentForm>,
) -> Result<Response, AppError> {
    match state
        .accounts()
        .authorize_agent(&user.session, &enterprise, &form.login, &meta)
        .await
    {
        Ok(_) => Ok(see_other("/account?agent=1")),
        Err(error @ (IdentityError::Invalid { .. } | IdentityError::Duplicate { .. })) => {
            let errors = FormErrors::one("agent", identity_message(page.tr, &error));
            account_with_errors(&state, page, &user, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EnterpriseForm {
    uscc: String,
    enterprise_name: String,
}

async fn register_enterprise(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    user: PageUser,
    CsrfForm(form): CsrfForm<EnterpriseForm>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    match state
        .accounts()
        .register_enterprise(
            &user.session,
            &form.uscc,
            &form.enterprise_name,
            &meta,
            &mut rng,
        )
        .await
    {
        Ok(EnterpriseRegistration::Registered(_)) => Ok(see_other("/account?enterprise=1")),
        Ok(EnterpriseRegistration::Held(_)) => Ok(see_other("/account?enterprise=held")),
        Err(
            error @ (IdentityError::Invalid { .. }
            | IdentityError::Duplicate { .. }
            | IdentityError::RegisterMismatch),
        ) => {
            let field = match &error {
                IdentityError::Invalid { field: "name", .. } => "enterprise_name",
                _ => "uscc",
            };
            let errors = FormErrors::one(field, identity_message(page.tr, &error));
            account_with_errors(&state, page, &user, errors).await
        }
        Err(other) => Err(other.into()),
    }
}

/// The account page again, with form errors (status 422).
async fn account_with_errors(
    state: &AppState,
    page: PageCtx,
    user: &PageUser,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let person = state.accounts().person(&user.session).await?;
    let mut response = render(&AccountPage {
        page,
        name: person.name,
        resident_id: person.resident_id_masked,
        mobile: person.mobile_masked,
        sessions: state.accounts().sessions(&user.session).await?,
        enterprises: state.accounts().my_enterprise_views(&user.session).await?,
        csrf: user.session.csrf_token.clone(),
        notice: None,
        errors,
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

async fn revoke_agent(
    State(state): State<AppState>,
    Client(meta): Client,
    user: PageUser,
    Path((enterprise, person)): Path<(String, String)>,
    _: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    state
        .accounts()
        .revoke_agent(&user.session, &enterprise, &person, &meta)
        .await?;
    Ok(see_other("/account?agent=1"))
}

async fn end_session(
    State(state): State<AppState>,
    Client(meta): Client,
    user: PageUser,
    Path(id): Path<String>,
    _: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    state
        .accounts()
        .end_session(&user.session, &id, &meta)
        .await?;
    Ok(see_other("/account?ended=1"))
}

async fn end_other_sessions(
    State(state): State<AppState>,
    Client(meta): Client,
    user: PageUser,
    _: CsrfForm<IgnoredAny>,
) -> Result<Response, AppError> {
    state
        .accounts()
        .logout_everywhere(&user.session, true, &meta)
        .await?;
    Ok(see_other("/account?ended=1"))
}

// ------------------------------------------------------------------ password

#[derive(Template)]
#[template(path = "account/password.html")]
struct PasswordPage {
    page: PageCtx,
    csrf: String,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    new_password_confirm: String,
}

async fn password_form(page: PageCtx, user: PageUser) -> Result<Response, AppError> {
    render(&PasswordPage {
        page,
        csrf: user.session.csrf_token,
        errors: FormErrors::default(),
    })
}

async fn change_password(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    user: PageUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let errors = if form.new_password == form.new_password_confirm {
        let mut rng = request_rng();
        match state
            .accounts()
            .change_password(
                &user.session,
                &form.current_password,
                &form.new_password,
                &meta,
                &mut rng,
            )
            .await
        {
            Ok(()) => return Ok(see_other("/account?password=1")),
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
    let mut response = render(&PasswordPage {
        page,
        csrf: user.session.csrf_token,
        errors,
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
