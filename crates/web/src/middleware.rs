//! The middleware stack's own pieces: security headers, request metrics, the error-page renderer and
//! the panic response.

use std::any::Any;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{CONTENT_TYPE, HeaderName};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ErrorInfo;
use crate::page::page_ctx;
use crate::portal::{ErrorPage, render};
use crate::prefs::Prefs;
use crate::state::AppState;

/// Pages load nothing from elsewhere, run no inline script and cannot be framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Security headers on every response (kept when a handler set its own).
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set("content-security-policy", CSP);
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "strict-origin-when-cross-origin");
    set("x-frame-options", "DENY");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    // Only promise HTTPS when the platform is served over TLS; never send max-age=0, which would clear
    // a policy that a TLS front end set.
    if state.config().cookie_secure {
        set(
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Longest request id accepted from a client (a UUID has 36 characters).
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// Whether a client's request id may be kept: short, and only letters, digits and `-_.:` (it goes into
/// logs, response headers and error bodies, so it must not carry a client's arbitrary text).
pub fn acceptable_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Drop a client's `x-request-id` that is too long or not plain, so the request gets a fresh one.
pub async fn sanitize_request_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let values: Vec<_> = headers.get_all("x-request-id").iter().collect();
    let keep = values.len() == 1 && values.iter().all(|v| acceptable_request_id(v.as_bytes()));
    if !keep {
        headers.remove("x-request-id");
    }
    request
}

pub fn make_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

pub async fn record_metrics(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // Only standard methods become label values, so a client cannot grow the series without bound.
    let method = match *request.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => request.method().as_str().to_owned(),
        _ => "other".to_owned(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics().record(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

pub async fn not_found() -> Response {
    crate::AppError::NotFound.into_response()
}

pub fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(ErrorInfo {
        code: "internal_error".to_owned(),
        detail: None,
        until: None,
    });
    response
}

/// Give every bodiless error response a body: JSON under `/api/`, else a page in the visitor's language.
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let is_api = parts.uri.path().starts_with("/api/");
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let prefs = Prefs::from_parts(&parts);
    let response = next.run(Request::from_parts(parts.clone(), body)).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let info = response.extensions().get::<ErrorInfo>().cloned();
    if info.is_none()
        && response.headers().contains_key(CONTENT_TYPE)
        && !is_default_body(&response)
    {
        return response;
    }
    let code = info
        .as_ref()
        .map_or_else(|| default_code(status).to_owned(), |i| i.code.clone());
    let (title_key, body_key) = keys_for(status);
    let tr = prefs.tr();
    // A message for the specific code when the locale has one, else the general one for the status.
    let mut message = tr
        .get(&format!("errors.{code}"))
        .unwrap_or_else(|| tr.t(body_key))
        .to_owned();
    let until = info.as_ref().and_then(|i| i.until);
    if let Some(until) = until {
        message = crate::i18n::until_message(tr, &code, until);
    }
    let mut rendered = if is_api {
        let mut error = serde_json::json!({
            "code": code,
            "message": message,
            "request_id": request_id,
        });
        if let Some((field, reason)) = info.as_ref().and_then(|i| i.detail.clone()) {
            error["field"] = serde_json::Value::String(field);
            if !reason.is_empty() {
                error["reason"] = serde_json::Value::String(reason);
            }
        }
        if let Some(until) = until {
            error["locked_until"] = serde_json::Value::String(until.to_rfc3339());
        }
        (status, axum::Json(serde_json::json!({ "error": error }))).into_response()
    } else {
        let page = page_ctx(&parts, &state, prefs).await;
        let html = render(&ErrorPage {
            page,
            status: status.as_u16(),
            title_key,
            message,
            request_id,
            detail: info
                .and_then(|i| i.detail)
                .filter(|(_, reason)| !reason.is_empty()),
        });
        match html {
            Ok(mut page) => {
                *page.status_mut() = status;
                page
            }
            Err(_) => status.into_response(),
        }
    };
    if let Some(until) = until {
        let seconds = (until - state.clock().now()).num_seconds().max(1);
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            rendered
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
    }
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            // append, not insert: keep every Set-Cookie and Vary value.
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// Responses produced by layers and extractors (body limit, timeout, method not allowed, a query that
/// does not parse) carry plain English text; replace it with the localized page or JSON.
fn is_default_body(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"))
}

fn default_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "invalid_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        s if s.is_server_error() => "internal_error",
        _ => "request_failed",
    }
}

fn keys_for(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("error.not_found_title", "error.not_found_body"),
        StatusCode::PAYLOAD_TOO_LARGE => ("error.too_large_title", "error.too_large_body"),
        StatusCode::METHOD_NOT_ALLOWED => ("error.method_title", "error.method_body"),
        StatusCode::SERVICE_UNAVAILABLE => ("error.unavailable_title", "error.unavailable_body"),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("error.invalid_title", "error.invalid_body")
        }
        StatusCode::UNAUTHORIZED => ("error.unauthenticated_title", "error.unauthenticated_body"),
        StatusCode::FORBIDDEN => ("error.forbidden_title", "error.forbidden_body"),
        StatusCode::CONFLICT => ("error.conflict_title", "error.conflict_body"),
        StatusCode::TOO_MANY_REQUESTS => ("error.locked_title", "error.locked_body"),
        s if s.is_server_error() => ("error.internal_title", "error.internal_body"),
        _ => ("error.generic_title", "error.generic_body"),
    }
}
