//! Account pages: register, log in, log out, my account (profile and sessions), change password.
//! Plain forms with CSRF tokens; errors are shown next to their fields and in a summary at the top.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{
    EnterpriseRelation, FieldError, RawRegistration, Registration, SessionInfo,
};
use yiwang_identity::service::enterprise::EnterpriseView;

use crate::auth::{
    CSRF_COOKIE, Client, PageUser, anonymous_csrf, clear_session_cookie, constant_time_eq,
    request_rng, session_cookie,
};
use crate::error::AppError;
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::render;
use crate::prefs::{cookie, safe_next};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register))
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

/// Field errors with their messages already in the visitor's language.
#[derive(Debug, Clone, Default)]
pub struct FormErrors {
    pub items: Vec<(String, String)>,
}

impl FormErrors {
    pub fn from_fields(tr: Tr, errors: &[FieldError]) -> Self {
        Self {
            items: errors
                .iter()
                .map(|e| (e.field.to_owned(), message_for(tr, e.code, &e.message)))
                .collect(),
        }
    }

    pub fn one(field: &str, message: String) -> Self {
        Self {
            items: vec![(field.to_owned(), message)],
        }
    }

    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The localized message for an error code, else the domain's English explanation.
pub(crate) fn message_for(tr: Tr, code: &str, fallback: &str) -> String {
    tr.get(&format!("errors.{code}"))
        .map_or_else(|| fallback.to_owned(), str::to_owned)
}

pub(crate) fn identity_message(tr: Tr, error: &IdentityError) -> String {
    use yiwang_kernel::ErrorCode as _;
    match error {
        IdentityError::LockedOut { until } => {
            crate::i18n::until_message(tr, "account_locked", *until)
        }
        IdentityError::Invalid { message, .. } => message_for(tr, error.code(), message),
        other => message_for(tr, other.code(), &other.to_string()),
    }
}

pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

pub(crate) fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    response
}

fn forbidden_csrf() -> AppError {
    AppError::Forbidden {
        code: "csrf_token_invalid".to_owned(),
    }
}

/// Check a logged-in form's token against the session's.
pub(crate) fn check_session_csrf(user: &PageUser, sent: &str) -> Result<(), AppError> {
    if constant_time_eq(sent, &user.session.csrf_token) {
        Ok(())
    } else {
        Err(forbidden_csrf())
    }
}

/// Check the double-submit token of an anonymous form.
pub(crate) fn check_anonymous_csrf(
    parts_cookie: Option<String>,
    sent: &str,
) -> Result<(), AppError> {
    match parts_cookie {
        Some(expected) if !sent.is_empty() && constant_time_eq(&expected, sent) => Ok(()),
        _ => Err(forbidden_csrf()),
    }
}

/// The `yw_csrf` cookie of a request.
#[derive(Debug)]
pub struct CsrfCookie(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CsrfCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(CsrfCookie(cookie(parts, CSRF_COOKIE)))
    }
}

// ------------------------------------------------------------------ register

#[derive(Template)]
#[template(path = "account/register.html")]
struct RegisterPage {
    page: PageCtx,
    csrf: String,
    values: RawRegistration,
    errors: FormErrors,
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
}

async fn register_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    let html = render(&RegisterPage {
        page,
        csrf,
        values: RawRegistration::default(),
        errors: FormErrors::default(),
    })?;
    Ok(with_cookie(html, set))
}

async fn register(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
    Client(meta): Client,
    Form(form): Form<RegisterForm>,
) -> Result<Response, AppError> {
    check_anonymous_csrf(existing.clone(), &form.csrf)?;
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
        .register_person(&registration, &meta, &mut rng)
        .await
    {
        Ok(_) => {}
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
    CsrfCookie(existing): CsrfCookie,
    Client(meta): Client,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    check_anonymous_csrf(existing, &form.csrf)?;
    let next = safe_next(Some(&form.next));
    let mut rng = request_rng();
    crate::auth::guard_login(&state, &meta.ip)?;
    let result = state
        .accounts()
        .login(&form.login, &form.password, &meta, &mut rng)
        .await;
    crate::auth::note_login(&state, &meta.ip, &result);
    match result {
        Ok(done) => Ok(with_cookie(
            see_other(&next),
            session_cookie(&done.token, state.config().cookie_secure),
        )),
        Err(
            error @ (IdentityError::BadCredentials
            | IdentityError::LockedOut { .. }
            | IdentityError::Invalid { .. }
            | IdentityError::Disabled),
        ) => {
            let status = match error {
                IdentityError::LockedOut { .. } => StatusCode::TOO_MANY_REQUESTS,
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    Client(meta): Client,
    user: PageUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
    let enterprises = enterprise_views(&state, &user).await?;
    let notice = if query.welcome.is_some() {
        Some("account.welcome")
    } else if query.ended.is_some() {
        Some("account.sessions_ended")
    } else if query.password.is_some() {
        Some("account.password_changed")
    } else if query.agent.is_some() {
        Some("account.agents_changed")
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

/// The caller's enterprises, with agents for those they represent.
async fn enterprise_views(
    state: &AppState,
    user: &PageUser,
) -> Result<Vec<EnterpriseView>, AppError> {
    let mut views = Vec::new();
    for (enterprise, _) in state.accounts().my_enterprises(&user.session).await? {
        views.push(
            state
                .accounts()
                .enterprise(Some(&user.session), &enterprise.public_id)
                .await?,
        );
    }
    Ok(views)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AgentForm {
    csrf: String,
    login: String,
}

async fn add_agent(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    user: PageUser,
    Path(enterprise): Path<String>,
    Form(form): Form<AgentForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
    csrf: String,
    uscc: String,
    enterprise_name: String,
}

async fn register_enterprise(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    user: PageUser,
    Form(form): Form<EnterpriseForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
        Ok(_) => Ok(see_other("/account?enterprise=1")),
        Err(error @ (IdentityError::Invalid { .. } | IdentityError::Duplicate { .. })) => {
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
        enterprises: enterprise_views(state, user).await?,
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
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
    csrf: String,
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
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    check_session_csrf(&user, &form.csrf)?;
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
