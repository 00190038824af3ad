//! Credentials over JSON: resetting a forgotten password with an SMS code, and a person's API tokens for
//! machine clients. Also decides what an API token may call ([`token_session`], used by `crate::auth`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::IdentityError;
use yiwang_identity::service::recovery::ResetRequested;
use yiwang_identity::service::tokens::{NewToken, RawNewToken, TokenInfo};

use crate::auth::{ApiUser, Client, request_rng};
use crate::error::AppError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/password-reset/request", post(request_reset))
        .route("/api/v1/auth/password-reset", post(reset_password))
        .route("/api/v1/me/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/me/tokens/{id}", delete(revoke_token))
}

// ------------------------------------------------------------------ password reset

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PasswordResetRequest {
    /// Mobile number or resident ID of the account.
    pub login: String,
}

/// Ask for a password-reset code by SMS.
///
/// The answer is 202 whether or not an account exists, and also when the limit of 3 codes per account
/// per hour is reached (no further SMS is sent then), so the answer reveals nothing about accounts.
/// A code works once, for 15 minutes, and dies after 5 wrong tries; only the newest code counts.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/request", tag = "accounts", request_body = PasswordResetRequest,
    responses((status = 202, description = "if the account exists and is under the hourly limit, a code was sent to its mobile number"),
        (status = 422, body = crate::api::ApiErrorBody, description = "`login` is neither a mobile number nor a resident ID")))]
async fn request_reset(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<PasswordResetRequest>,
) -> Result<StatusCode, AppError> {
    let mut rng = request_rng();
    let outcome = state
        .recovery()
        .request_reset(&body.login, &meta, &mut rng)
        .await?;
    if outcome != ResetRequested::Sent {
        tracing::debug!(?outcome, "password reset request answered without a code");
    }
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PasswordReset {
    /// Mobile number or resident ID of the account.
    pub login: String,
    /// The 6-digit code from the SMS.
    pub code: String,
    /// 8–64 characters mixing at least two of letters, digits and other characters; must not contain the
    /// resident ID or mobile number.
    pub new_password: String,
}

/// Set a new password with a code; every session of the account ends and a log-in lock is cleared.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "accounts", request_body = PasswordReset,
    responses((status = 204, description = "the password was changed"),
        (status = 422, body = crate::api::ApiErrorBody,
            description = "`field` is `code` (`reset_code_invalid`: wrong, expired, used or dead), `new_password` or `login`")))]
async fn reset_password(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<PasswordReset>,
) -> Result<StatusCode, AppError> {
    let mut rng = request_rng();
    state
        .recovery()
        .reset_password(&body.login, &body.code, &body.new_password, &meta, &mut rng)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

// ------------------------------------------------------------------ API tokens

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateToken {
    /// What the token is for, 1–60 characters.
    pub name: String,
    /// At least one of `profile:read`, `sessions:read`.
    pub scopes: Vec<String>,
    /// Days until the token expires, 1–365; omit for a token that lasts until revoked.
    pub expires_in_days: Option<i64>,
}

/// A token as its owner sees it; the secret is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<TokenInfo> for TokenDto {
    fn from(t: TokenInfo) -> Self {
        Self {
            id: t.id,
            name: t.name,
            scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            created_at: t.created_at.to_rfc3339(),
            expires_at: t.expires_at.map(|at| at.to_rfc3339()),
            last_used_at: t.last_used_at.map(|at| at.to_rfc3339()),
            revoked_at: t.revoked_at.map(|at| at.to_rfc3339()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenDto {
    /// The secret (`ywt_` + 64 hex digits), shown only in this answer. Send it as
    /// `Authorization: Bearer ywt_…`.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenDto,
}

/// Create an API token for the caller. Only a log-in session may manage tokens, never a token.
#[utoipa::path(post, path = "/api/v1/me/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedTokenDto), (status = 401, body = crate::api::ApiErrorBody),
        (status = 403, body = crate::api::ApiErrorBody, description = "called with an API token"),
        (status = 422, body = crate::api::ApiErrorBody, description = "`field` is `name`, `scopes` or `expires_in_days`")))]
async fn create_token(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Json(body): Json<CreateToken>,
) -> Result<(StatusCode, Json<CreatedTokenDto>), AppError> {
    let request = NewToken::parse(&RawNewToken {
        name: body.name,
        scopes: body.scopes,
        expires_in_days: body.expires_in_days,
    })?;
    let mut rng = request_rng();
    let created = state
        .api_tokens()
        .create(&user.session, &request, &meta, &mut rng)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenDto {
            token: created.secret,
            info: created.info.into(),
        }),
    ))
}

/// The caller's API tokens, newest first, revoked and expired ones included.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "tokens",
    responses((status = 200, body = Vec<TokenDto>), (status = 401, body = crate::api::ApiErrorBody),
        (status = 403, body = crate::api::ApiErrorBody, description = "called with an API token")))]
async fn list_tokens(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<TokenDto>>, AppError> {
    let tokens = state.api_tokens().list(&user.session).await?;
    Ok(Json(tokens.into_iter().map(TokenDto::from).collect()))
}

/// Revoke one of the caller's tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{id}", tag = "tokens", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = crate::api::ApiErrorBody),
        (status = 404, body = crate::api::ApiErrorBody, description = "no active token of the caller has this id")))]
async fn revoke_token(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    match state.api_tokens().revoke(&user.session, &id, &meta).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        // Another person's token is as absent as one that never existed.
        Err(IdentityError::Invalid {
            code: "token_not_found",
            ..
        }) => Err(AppError::NotFound),
        Err(other) => Err(other.into()),
    }
}
