//! Accounts over JSON: register, log in and out, the caller's own profile, sessions and password.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::model::{RawRegistration, Registration};
use yiwang_identity::service::account::first_problem;

use crate::auth::{ApiUser, Client, clear_session_cookie, request_rng, session_cookie};
use crate::error::AppError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register/code", post(register_code))
        .route("/api/v1/auth/register/person", post(register_person))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/me/sessions", get(sessions))
        .route("/api/v1/me/sessions/{id}", delete(end_session))
        .route("/api/v1/me/sessions/end-others", post(end_other_sessions))
        .route("/api/v1/me/password", post(change_password))
}

/// A person as the API shows them to others (identifiers masked).
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonDto {
    pub public_id: String,
    pub name: String,
    pub resident_id: String,
    pub mobile: String,
}

impl From<yiwang_identity::model::Person> for PersonDto {
    fn from(p: yiwang_identity::model::Person) -> Self {
        Self {
            public_id: p.public_id,
            name: p.name,
            resident_id: p.resident_id_masked,
            mobile: p.mobile_masked,
        }
    }
}

/// Missing fields read as empty, so the domain's parser names the field that is wrong.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RegisterPerson {
    pub name: String,
    /// 18-character resident ID (GB 11643).
    pub resident_id: String,
    /// 11-digit mainland mobile number.
    pub mobile: String,
    /// 8–64 characters mixing at least two of letters, digits and other characters.
    pub password: String,
    /// The 6-digit code sent to `mobile` by `POST /api/v1/auth/register/code`.
    pub code: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RegisterCode {
    /// 11-digit mainland mobile number to prove.
    pub mobile: String,
}

/// The answer to a code request: the same whether or not the number has an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterCodeSent {
    /// Always `true`: a code was sent if the number can register; an account's owner was told of the
    /// attempt otherwise.
    pub accepted: bool,
    /// Minutes a code works.
    pub code_ttl_minutes: i64,
}

/// Send a registration code by SMS. The answer is the same whether or not the number has an account
/// (its owner then gets an SMS about the attempt instead of a code), so it tells nobody which numbers
/// are registered.
#[utoipa::path(post, path = "/api/v1/auth/register/code", tag = "accounts", request_body = RegisterCode,
    responses((status = 202, body = RegisterCodeSent),
        (status = 422, body = crate::api::ApiErrorBody, description = "the mobile number is malformed"),
        (status = 429, body = crate::api::ApiErrorBody, description = "too many registration attempts from this address")))]
async fn register_code(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<RegisterCode>,
) -> Result<Response, AppError> {
    // Every code is an SMS: codes are limited per address (identity also limits them per number).
    crate::throttle::guard_register_code(&state, &meta.ip).await?;
    let mobile = yiwang_kernel::Mobile::parse(&body.mobile).map_err(|e| AppError::Invalid {
        field: "mobile".to_owned(),
        code: yiwang_kernel::ErrorCode::code(&e).to_owned(),
        message: e.to_string(),
    })?;
    let mut rng = request_rng();
    state
        .accounts()
        .request_registration_code(&mobile, &meta, &mut rng)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegisterCodeSent {
            accepted: true,
            code_ttl_minutes: yiwang_identity::service::registration::CODE_TTL_MINUTES,
        }),
    )
        .into_response())
}

/// Register a natural person whose mobile number is proven by the code sent to it. Nothing about
/// existing accounts is told before the code is right.
#[utoipa::path(post, path = "/api/v1/auth/register/person", tag = "accounts", request_body = RegisterPerson,
    responses((status = 201, body = PersonDto), (status = 409, body = crate::api::ApiErrorBody, description = "the resident ID is already registered (told only with a right code)"),
        (status = 422, body = crate::api::ApiErrorBody, description = "a field is invalid, or the code (`registration_code_invalid`); `field` names it")))]
async fn register_person(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<RegisterPerson>,
) -> Result<Response, AppError> {
    crate::throttle::guard_register(&state, &meta.ip).await?;
    let raw = RawRegistration {
        name: body.name,
        resident_id: body.resident_id,
        mobile: body.mobile,
        password: body.password,
    };
    let registration =
        Registration::parse(&raw).map_err(|errors| AppError::from(first_problem(&errors)))?;
    let mut rng = request_rng();
    let person = state
        .accounts()
        .register_person_with_code(&registration, &body.code, &meta, &mut rng)
        .await?;
    Ok((StatusCode::CREATED, Json(PersonDto::from(person))).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct Login {
    /// Mobile number or resident ID.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResult {
    /// Bearer token for API use (`Authorization: Bearer …`); the same session is also set as a cookie.
    pub token: String,
    /// Send this in `X-CSRF-Token` when calling with the cookie instead of the bearer token.
    pub csrf_token: String,
    pub session_id: String,
    pub expires_at: String,
    pub person: PersonDto,
}

/// Log in with a mobile number or resident ID and a password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = Login,
    responses((status = 200, body = LoginResult), (status = 401, body = crate::api::ApiErrorBody, description = "wrong login or password"),
        (status = 429, body = crate::api::ApiErrorBody, description = "locked after repeated failures; `locked_until` says until when")))]
async fn login(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<Login>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    crate::auth::guard_login(&state, &meta.ip).await?;
    let result = state
        .accounts()
        .login(&body.login, &body.password, &meta, &mut rng)
        .await;
    crate::auth::note_login(&state, &meta.ip, &result).await?;
    let done = result?;
    let mut response = Json(LoginResult {
        token: done.token.clone(),
        csrf_token: done.session.csrf_token.clone(),
        session_id: done.session.public_id.clone(),
        expires_at: done.expires_at.to_rfc3339(),
        person: done.person.into(),
    })
    .into_response();
    if let Some(cookie) = session_cookie(&done.token, state.config().cookie_secure) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// End the caller's session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts",
    responses((status = 204), (status = 401, body = crate::api::ApiErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
) -> Result<Response, AppError> {
    state.accounts().logout(&user.session, &meta).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(cookie) = clear_session_cookie(state.config().cookie_secure) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The caller's own profile, identifiers in full (only the owner ever sees them unmasked).
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub public_id: String,
    pub name: String,
    pub resident_id: String,
    pub mobile: String,
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = crate::api::ApiErrorBody)))]
async fn me(State(state): State<AppState>, user: ApiUser) -> Result<Json<Me>, AppError> {
    let profile = state.accounts().own_profile(&user.session).await?;
    Ok(Json(Me {
        public_id: profile.person.public_id,
        name: profile.person.name,
        resident_id: profile.resident_id.as_str().to_owned(),
        mobile: profile.mobile.as_str().to_owned(),
        created_at: profile.person.created_at.to_rfc3339(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionDto {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: String,
    pub user_agent: String,
    pub current: bool,
}

/// The caller's live sessions.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts",
    responses((status = 200, body = Vec<SessionDto>), (status = 401, body = crate::api::ApiErrorBody)))]
async fn sessions(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<SessionDto>>, AppError> {
    let list = state.accounts().sessions(&user.session).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionDto {
                id: s.public_id,
                created_at: s.created_at.to_rfc3339(),
                last_seen_at: s.last_seen_at.to_rfc3339(),
                expires_at: s.expires_at.to_rfc3339(),
                ip: s.ip,
                user_agent: s.user_agent,
                current: s.current,
            })
            .collect(),
    ))
}

/// End one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn end_session(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .accounts()
        .end_session(&user.session, &id, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub ended: u64,
}

/// End every session of the caller except the current one ("log out everywhere else").
#[utoipa::path(post, path = "/api/v1/me/sessions/end-others", tag = "accounts",
    responses((status = 200, body = Ended), (status = 401, body = crate::api::ApiErrorBody)))]
async fn end_other_sessions(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
) -> Result<Json<Ended>, AppError> {
    let ended = state
        .accounts()
        .logout_everywhere(&user.session, true, &meta)
        .await?;
    Ok(Json(Ended { ended }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Change the password; the caller's other sessions end.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = ChangePassword,
    responses((status = 204), (status = 401, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn change_password(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Json(body): Json<ChangePassword>,
) -> Result<StatusCode, AppError> {
    let mut rng = request_rng();
    state
        .accounts()
        .change_password(
            &user.session,
            &body.current_password,
            &body.new_password,
            &meta,
            &mut rng,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
