//! What every page form shares: errors in the visitor's language, the redirect after a post, the
//! double-submit cookie of anonymous forms. A neutral module, so page modules do not import each other.

use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use yiwang_identity::IdentityError;
use yiwang_identity::model::FieldError;

use crate::auth::CSRF_COOKIE;
use crate::i18n::Tr;
use crate::prefs::cookie;

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
        IdentityError::TooManyAttempts { until } => {
            crate::i18n::until_message(tr, "too_many_attempts", *until)
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

/// The `yw_csrf` cookie of a request.
#[derive(Debug)]
pub struct CsrfCookie(pub Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CsrfCookie {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(CsrfCookie(cookie(parts, CSRF_COOKIE)))
    }
}
