//! Who is calling: the session from the `yw_session` cookie or an `Authorization: Bearer` token, and the
//! CSRF checks that cookie-authenticated changes need.
//!
//! * API calls authenticated by the cookie must send the session's CSRF token in `X-CSRF-Token` for any
//!   method other than GET/HEAD; bearer-token calls need none (a browser never sends one by itself).
//! * Forms carry a hidden `csrf` field: the session's token when logged in, or, for the log-in and
//!   registration forms, a random value also set as the `yw_csrf` cookie (double submit).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use rand::Rng as _;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{Account, AuthSession, ClientMeta};
use yiwang_identity::service::tokens::Scope;

use crate::error::AppError;
use crate::prefs::{cookie, encode_component};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "yw_session";
pub const CSRF_COOKIE: &str = "yw_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Cookie,
    Bearer,
    /// An API token of a machine client (`Bearer ywt_…`), limited to its scopes.
    ApiToken,
}

/// The caller's session, if any (anonymous visitors get `None`).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<(AuthSession, Via)>);

fn token_of(parts: &Parts) -> Option<(String, Via)> {
    if let Some(value) = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        let via = if token.starts_with(yiwang_identity::service::tokens::TOKEN_PREFIX) {
            Via::ApiToken
        } else {
            Via::Bearer
        };
        return Some((token.to_owned(), via));
    }
    cookie(parts, SESSION_COOKIE).map(|token| (token, Via::Cookie))
}

pub async fn session_of(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(AuthSession, Via)>, AppError> {
    let Some((token, via)) = token_of(parts) else {
        return Ok(None);
    };
    if via == Via::ApiToken {
        let session = token_session(parts, state, &token).await?;
        return Ok(session.map(|session| (session, via)));
    }
    match state.accounts().authenticate(&token).await {
        Ok(session) => Ok(Some((session, via))),
        Err(IdentityError::Unauthenticated) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The scope an API token needs for a request, or `None` when API tokens may not make it at all.
fn scope_for(method: &Method, route: &str) -> Option<Scope> {
    if !matches!(*method, Method::GET | Method::HEAD) {
        return None;
    }
    match route {
        "/api/v1/me" => Some(Scope::ProfileRead),
        "/api/v1/me/sessions" => Some(Scope::SessionsRead),
        _ => None,
    }
}

/// Authenticate an API token (`Authorization: Bearer ywt_…`) for this request: `None` when it is unknown,
/// revoked or expired; 403 `token_scope_insufficient` when the token may not make this request. The
/// session it yields acts for the token's person and matches no real session.
async fn token_session(
    parts: &Parts,
    state: &AppState,
    secret: &str,
) -> Result<Option<AuthSession>, AppError> {
    let auth = match state.api_tokens().authenticate(secret).await {
        Ok(auth) => auth,
        Err(IdentityError::Unauthenticated) => return Ok(None),
        Err(other) => return Err(other.into()),
    };
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map_or_else(|| parts.uri.path(), MatchedPath::as_str);
    match scope_for(&parts.method, route) {
        Some(scope) if auth.allows(scope) => {
            // Never empty: a form check comparing against it must not pass with an empty field.
            let mut csrf = [0_u8; 16];
            rand::Rng::fill_bytes(&mut request_rng(), &mut csrf);
            Ok(Some(AuthSession {
                account: Account::Person(auth.person),
                public_id: format!("token:{}", auth.token_id),
                csrf_token: hex::encode(csrf),
                token_hash: auth.token_hash,
            }))
        }
        _ => Err(AppError::Forbidden {
            code: "token_scope_insufficient".to_owned(),
        }),
    }
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(
            crate::extract::cached_session(parts, state).await?,
        ))
    }
}

/// An API caller who must be logged in: 401 otherwise, and CSRF-checked for cookie-authenticated changes.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub session: AuthSession,
    pub via: Via,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (session, via) = crate::extract::cached_session(parts, state)
            .await?
            .ok_or_else(|| AppError::Unauthenticated {
                code: "unauthenticated".to_owned(),
            })?;
        api_csrf(&session, via, parts)?;
        Ok(ApiUser { session, via })
    }
}

/// A cookie-authenticated API call that changes something must carry the session's CSRF token in
/// `X-CSRF-Token`; bearer calls need none (a browser never sends one by itself).
pub(crate) fn api_csrf(session: &AuthSession, via: Via, parts: &Parts) -> Result<(), AppError> {
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if via == Via::Cookie && !safe {
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !constant_time_eq(sent, &session.csrf_token) {
            return Err(AppError::Forbidden {
                code: "csrf_token_invalid".to_owned(),
            });
        }
    }
    Ok(())
}

/// A page visitor who must be logged in: sent to the log-in page (and back afterwards) otherwise.
#[derive(Debug, Clone)]
pub struct PageUser {
    pub session: AuthSession,
}

#[derive(Debug)]
pub enum PageUserRejection {
    Login(String),
    Error(AppError),
}

impl IntoResponse for PageUserRejection {
    fn into_response(self) -> Response {
        match self {
            PageUserRejection::Login(next) => {
                Redirect::to(&format!("/login?next={}", encode_component(&next))).into_response()
            }
            PageUserRejection::Error(error) => error.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageUserRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match crate::extract::cached_session(parts, state).await {
            Ok(Some((session, _))) => Ok(PageUser { session }),
            Ok(None) => Err(PageUserRejection::Login(
                parts
                    .uri
                    .path_and_query()
                    .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
            )),
            Err(error) => Err(PageUserRejection::Error(error)),
        }
    }
}

/// Where the request came from, for sessions and audit entries.
#[derive(Debug, Clone)]
pub struct Client(pub ClientMeta);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string())
            .unwrap_or_default();
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        Ok(Client(ClientMeta { ip, user_agent }))
    }
}

/// Compare secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The double-submit token for anonymous forms: the visitor's `yw_csrf` cookie, or a new one to set.
pub fn anonymous_csrf(parts_cookie: Option<String>, secure: bool) -> (String, Option<HeaderValue>) {
    if let Some(token) =
        parts_cookie.filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return (token, None);
    }
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let secure = if secure { "; Secure" } else { "" };
    let header = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok();
    (token, header)
}

/// The session cookie for a new log-in (session-only: it ends with the browser, and the server ends it
/// after the idle or absolute limit anyway).
pub fn session_cookie(token: &str, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie(secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .ok()
}

/// Fresh per-request randomness for the domain (kept out of `await` points by the caller's scope).
pub fn request_rng() -> rand::rngs::StdRng {
    rand::make_rng()
}

/// Refuse a log-in attempt from an address that failed too often lately (429, telling until when).
pub fn guard_login(state: &AppState, address: &str) -> Result<(), AppError> {
    state
        .login_throttle()
        .check(address, state.clock().now())
        .map_err(|until| AppError::Throttled { until })
}

/// Count a failed log-in against the client's address.
pub fn note_login<T>(state: &AppState, address: &str, result: &Result<T, IdentityError>) {
    if matches!(
        result,
        Err(IdentityError::BadCredentials | IdentityError::LockedOut { .. })
    ) {
        state
            .login_throttle()
            .record_failure(address, state.clock().now());
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
