//! Extractors that keep handlers thin: who is acting (with the 401/403 mapping), forms whose CSRF
//! token has been checked, and typed ids in paths.
//!
//! A handler names what it needs in its signature and receives it checked:
//!
//! ```text
//! async fn act(State(state): State<AppState>, who: PageStaff, IdPath(task): IdPath<TaskId>,
//!              CsrfForm(form): CsrfForm<ActForm>) -> Result<Response, AppError>
//! ```
//!
//! * [`Caller`] resolves the session once per request (cached in the request's extensions, so a
//!   handler that also takes a [`CsrfForm`] does not authenticate twice) and the [`Principal`] behind
//!   it. Pages send anonymous visitors to the log-in page; the API answers 401. The kind parameter
//!   narrows the account: [`Staff`] refuses citizens with 403, [`Person`] refuses staff with 403.
//! * [`CsrfForm`] and [`CsrfMultipart`] check the hidden `csrf` field against the session's token
//!   before the handler runs; [`GuestForm`] checks the double-submit token of the anonymous forms
//!   (log-in, registration, password recovery) against the `yw_csrf` cookie.
//! * [`ApiMaybeCaller`] is for the few API routes open to anonymous callers that act differently for
//!   a logged-in one (the kiosk's tickets): the principal, or `Anonymous`.
//! * [`IdPath`] parses path segments into typed values; a segment that does not parse is 404, the
//!   same answer as an id that does not exist.

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use yiwang_identity::model::{AuthSession, PersonId};
use yiwang_identity::policy::{Principal, StaffPrincipal};

use crate::auth::{ApiUser, CSRF_COOKIE, PageUser, Via, constant_time_eq, session_of};
use crate::error::AppError;
use crate::prefs::cookie;
use crate::state::AppState;
use crate::upload::{MultiUpload, read_multi_upload};

/// The session of this request, looked up at most once.
#[derive(Debug, Clone)]
struct ResolvedSession(Option<(AuthSession, Via)>);

/// The caller's session (and how it was presented), authenticating on the first call of a request and
/// answering from the request's extensions afterwards.
pub(crate) async fn cached_session(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<(AuthSession, Via)>, AppError> {
    if let Some(ResolvedSession(found)) = parts.extensions.get::<ResolvedSession>() {
        return Ok(found.clone());
    }
    let found = session_of(parts, state).await?;
    parts.extensions.insert(ResolvedSession(found.clone()));
    Ok(found)
}

fn forbidden(code: &str) -> AppError {
    AppError::Forbidden {
        code: code.to_owned(),
    }
}

/// Which accounts may call a route.
pub trait Kind: Send + Sync + 'static {
    /// Accept or refuse (403) the resolved principal.
    fn admit(principal: &Principal) -> Result<(), AppError>;
}

/// Any logged-in account: a person or a staff member.
#[derive(Debug, Clone, Copy)]
pub struct Anyone;

/// Staff only; a citizen's session is refused with 403.
#[derive(Debug, Clone, Copy)]
pub struct Staff;

/// Persons (citizens, enterprise representatives) only; a staff session is refused with 403.
#[derive(Debug, Clone, Copy)]
pub struct Person;

impl Kind for Anyone {
    fn admit(_: &Principal) -> Result<(), AppError> {
        Ok(())
    }
}

impl Kind for Staff {
    fn admit(principal: &Principal) -> Result<(), AppError> {
        match principal {
            Principal::Staff(_) => Ok(()),
            _ => Err(yiwang_identity::IdentityError::Forbidden.into()),
        }
    }
}

impl Kind for Person {
    fn admit(principal: &Principal) -> Result<(), AppError> {
        match principal {
            Principal::Person(_) => Ok(()),
            _ => Err(forbidden("person_only")),
        }
    }
}

/// How a route is reached: a page (anonymous visitors go to the log-in page) or the API (401).
pub trait Edge: Sized + Send + Sync + 'static {
    /// The logged-in user of this edge, built from the session.
    fn from_session(session: AuthSession, via: Via, parts: &Parts) -> Result<Self, AppError>;
    /// The answer to a visitor without a session.
    fn anonymous(parts: &Parts) -> Response;
    /// The session of this user.
    fn session(&self) -> &AuthSession;
}

impl Edge for PageUser {
    fn from_session(session: AuthSession, _via: Via, _parts: &Parts) -> Result<Self, AppError> {
        Ok(PageUser { session })
    }

    fn anonymous(parts: &Parts) -> Response {
        crate::auth::PageUserRejection::Login(
            parts
                .uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
        )
        .into_response()
    }

    fn session(&self) -> &AuthSession {
        &self.session
    }
}

impl Edge for ApiUser {
    fn from_session(session: AuthSession, via: Via, parts: &Parts) -> Result<Self, AppError> {
        crate::auth::api_csrf(&session, via, parts)?;
        Ok(ApiUser { session, via })
    }

    fn anonymous(_parts: &Parts) -> Response {
        AppError::Unauthenticated {
            code: "unauthenticated".to_owned(),
        }
        .into_response()
    }

    fn session(&self) -> &AuthSession {
        &self.session
    }
}

/// A logged-in caller with the principal the policy decides on.
///
/// Use the aliases: [`PageCaller`], [`PageStaff`], [`PagePerson`], [`ApiCaller`], [`ApiStaff`],
/// [`ApiPerson`].
#[derive(Debug, Clone)]
pub struct Caller<E, K = Anyone> {
    /// The logged-in user (session, and for the API how it was presented).
    pub user: E,
    /// Who is acting, as the services' policy sees it.
    pub principal: Principal,
    kind: PhantomData<K>,
}

/// A logged-in page visitor.
pub type PageCaller = Caller<PageUser, Anyone>;
/// A staff member on a workbench page.
pub type PageStaff = Caller<PageUser, Staff>;
/// A citizen or enterprise representative on a page.
pub type PagePerson = Caller<PageUser, Person>;
/// A logged-in API caller (cookie calls that change something are CSRF-checked).
pub type ApiCaller = Caller<ApiUser, Anyone>;
/// A staff member calling the API.
pub type ApiStaff = Caller<ApiUser, Staff>;
/// A person calling the API.
pub type ApiPerson = Caller<ApiUser, Person>;

impl<E: Edge, K> Caller<E, K> {
    /// The session behind the call.
    pub fn session(&self) -> &AuthSession {
        self.user.session()
    }
}

impl<E> Caller<E, Staff> {
    /// The staff member (always present for this kind).
    pub fn staff(&self) -> Option<&StaffPrincipal> {
        match &self.principal {
            Principal::Staff(staff) => Some(staff),
            _ => None,
        }
    }
}

impl<E> Caller<E, Person> {
    /// The person (always present for this kind).
    pub fn person(&self) -> Option<PersonId> {
        match &self.principal {
            Principal::Person(id) => Some(*id),
            _ => None,
        }
    }
}

impl<E: Edge, K: Kind> FromRequestParts<AppState> for Caller<E, K> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some((session, via)) = cached_session(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        else {
            return Err(E::anonymous(parts));
        };
        let user = E::from_session(session, via, parts).map_err(IntoResponse::into_response)?;
        let principal = state
            .accounts()
            .principal(Some(user.session()))
            .await
            .map_err(|e| AppError::from(e).into_response())?;
        K::admit(&principal).map_err(IntoResponse::into_response)?;
        Ok(Caller {
            user,
            principal,
            kind: PhantomData,
        })
    }
}

/// An API caller who may be anonymous (the hall's ticket machine): the principal behind the session
/// when there is one, [`Principal::Anonymous`] otherwise. A cookie session that changes something
/// must still send the CSRF header, as for [`ApiCaller`]; an invalid or expired token counts as no
/// session.
#[derive(Debug, Clone)]
pub struct ApiMaybeCaller {
    /// Who is acting, as the services' policy sees it.
    pub principal: Principal,
}

impl FromRequestParts<AppState> for ApiMaybeCaller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some((session, via)) = cached_session(parts, state).await? else {
            return Ok(ApiMaybeCaller {
                principal: Principal::Anonymous,
            });
        };
        crate::auth::api_csrf(&session, via, parts)?;
        let principal = state.accounts().principal(Some(&session)).await?;
        Ok(ApiMaybeCaller { principal })
    }
}

/// The token a form sent in its hidden `csrf` field.
fn sent_token<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> &'a str {
    fields
        .into_iter()
        .find(|(name, _)| *name == "csrf")
        .map_or("", |(_, value)| value)
}

fn csrf_refused() -> AppError {
    forbidden("csrf_token_invalid")
}

/// Check a logged-in form's token against the session's (403 when it differs or the visitor has no
/// session).
async fn check_session_token(
    parts: &mut Parts,
    state: &AppState,
    sent: &str,
) -> Result<(), AppError> {
    match cached_session(parts, state).await? {
        Some((session, _)) if constant_time_eq(sent, &session.csrf_token) => Ok(()),
        _ => Err(csrf_refused()),
    }
}

/// Check the double-submit token of an anonymous form against the visitor's `yw_csrf` cookie.
fn check_guest_token(parts: &Parts, sent: &str) -> Result<(), AppError> {
    match cookie(parts, CSRF_COOKIE) {
        Some(expected) if !sent.is_empty() && constant_time_eq(&expected, sent) => Ok(()),
        _ => Err(csrf_refused()),
    }
}

/// Read an urlencoded body whole (within the router's body limit) and parse it.
async fn read_form<T: DeserializeOwned>(
    body: axum::body::Body,
) -> Result<(Vec<(String, String)>, T), AppError> {
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| AppError::Invalid {
            field: "form".to_owned(),
            code: "form_unreadable".to_owned(),
            message: e.to_string(),
        })?;
    let unreadable = |e: serde_urlencoded::de::Error| AppError::Invalid {
        field: "form".to_owned(),
        code: "form_unreadable".to_owned(),
        message: e.to_string(),
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).map_err(unreadable)?;
    let form = serde_urlencoded::from_bytes(&bytes).map_err(unreadable)?;
    Ok((pairs, form))
}

/// A form posted by a logged-in visitor, its `csrf` field checked against the session's token.
///
/// `T` need not declare the `csrf` field; the form is parsed like axum's `Form`.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let (pairs, form) = read_form::<T>(body).await?;
        let sent = sent_token(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        check_session_token(&mut parts, state, sent).await?;
        Ok(CsrfForm(form))
    }
}

/// A form posted by a visitor who is not logged in (log-in, registration, recovery), its `csrf` field
/// checked against the `yw_csrf` double-submit cookie.
#[derive(Debug)]
pub struct GuestForm<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for GuestForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, _state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let (pairs, form) = read_form::<T>(body).await?;
        let sent = sent_token(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        check_guest_token(&parts, sent)?;
        Ok(GuestForm(form))
    }
}

/// A multipart form with files posted by a logged-in visitor, read whole, its `csrf` field checked
/// against the session's token before anything in it is used.
#[derive(Debug)]
pub struct CsrfMultipart(pub MultiUpload);

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let multipart = Multipart::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| AppError::Invalid {
                field: "form".to_owned(),
                code: "upload_unreadable".to_owned(),
                message: e.body_text(),
            })?;
        let upload = read_multi_upload(multipart).await?;
        let sent = sent_token(upload.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        check_session_token(&mut parts, state, sent).await?;
        Ok(CsrfMultipart(upload))
    }
}

/// Typed path segments (`IdPath<ItemId>`, `IdPath<(String, TaskId)>`); a segment that does not parse
/// is 404, as for an id that does not exist.
#[derive(Debug, Clone, Copy)]
pub struct IdPath<T>(pub T);

impl<T, S> FromRequestParts<S> for IdPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(IdPath(value)),
            Err(_) => Err(AppError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_field_is_found_among_the_others() {
        let fields = [("a", "1"), ("csrf", "tok"), ("csrf", "second")];
        assert_eq!(sent_token(fields), "tok");
        assert_eq!(sent_token([("a", "1")]), "");
    }

    #[test]
    fn kinds_admit_their_accounts_only() {
        let person = Principal::Person(PersonId::new(7));
        assert!(Anyone::admit(&person).is_ok());
        assert!(Person::admit(&person).is_ok());
        assert!(matches!(
            Staff::admit(&person),
            Err(AppError::Forbidden { .. })
        ));
        assert!(matches!(
            Person::admit(&Principal::Anonymous),
            Err(AppError::Forbidden { .. })
        ));
    }
}
