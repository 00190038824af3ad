//! One mapping from errors to HTTP responses. Pages get a page in the visitor's language; `/api/`
//! requests get `{"error": {"code", "message"}}`. Internal causes go to the log only, with the request id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use yiwang_kernel::ErrorCode;

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Input that could not be parsed; `field` names it, `code` is a stable message key.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: String,
        code: String,
        message: String,
    },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(error: &(impl std::fmt::Display + ErrorCode)) -> Self {
        AppError::Internal(format!("{} ({error})", error.code()))
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &str {
        match self {
            AppError::NotFound => "not_found",
            AppError::Invalid { code, .. } => code,
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }
}

impl From<yiwang_identity::IdentityError> for AppError {
    fn from(error: yiwang_identity::IdentityError) -> Self {
        match error {
            yiwang_identity::IdentityError::DepartmentNotFound(_) => AppError::NotFound,
            other => AppError::internal(&other),
        }
    }
}

impl From<yiwang_db::DbError> for AppError {
    fn from(error: yiwang_db::DbError) -> Self {
        AppError::internal(&error)
    }
}

/// The response carries the error itself as an extension; the error-page layer renders it in the
/// visitor's language (it has the request's headers, which a handler's error does not).
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) | AppError::Unavailable(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = self.status().into_response();
        response.extensions_mut().insert(ErrorInfo {
            code: self.code().to_owned(),
            detail: match &self {
                AppError::Invalid { field, message, .. } => Some((field.clone(), message.clone())),
                _ => None,
            },
        });
        response
    }
}

/// What the error-page layer needs to render an error.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: String,
    pub detail: Option<(String, String)>,
}
