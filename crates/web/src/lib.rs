//! Yiwang web layer: the axum application, built separately from running it so tests call it
//! in-process. Portal pages (HTML) live in `portal`, the JSON API in `api`; errors are mapped to
//! responses in one place (`error` + the error-page layer in `middleware`).

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod metrics;
mod middleware;
pub mod page;
pub mod portal;
pub mod prefs;
pub mod state;
pub mod throttle;
pub mod upload;

pub use middleware::MAX_REQUEST_ID_LEN;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::http::HeaderName;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::AppError;
pub use state::{AppState, Services, WebConfig};

/// Room for the multipart framing and form fields around an uploaded file.
pub const UPLOAD_OVERHEAD: usize = 64 * 1024;

/// Material files one application form may carry at once, at full size (one input per material; more
/// are added by saving the draft again). The citizen's application form and the counter registration
/// take them together.
pub const FILES_PER_FORM: usize = 5;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// All routes but the uploads, without the middleware stack.
pub fn routes() -> Router<AppState> {
    portal::routes().merge(api::routes())
}

/// Routes that take a material file (their body limit is the material limit).
pub fn upload_routes() -> Router<AppState> {
    api::cases::upload_routes()
}

/// Application forms that take a file per material: the citizen's form pages and the counter
/// registration (their limit is `FILES_PER_FORM` files).
pub fn form_upload_routes() -> Router<AppState> {
    portal::cases::upload_routes()
        .merge(portal::workbench::upload_routes())
        .merge(portal::licences::upload_routes())
}

/// The complete application: routes, the not-found page and every middleware layer.
pub fn app(state: AppState) -> Router {
    app_with(state, Router::new())
}

/// The application with extra routes mounted under the same middleware (tests use this to reach
/// paths such as a handler that panics).
pub fn app_with(state: AppState, extra: Router<AppState>) -> Router {
    let max_body = state.config().max_body_bytes;
    let max_upload = state.config().max_material_bytes + UPLOAD_OVERHEAD;
    let max_form = state.config().max_material_bytes * FILES_PER_FORM + UPLOAD_OVERHEAD;

    // Every route takes at most `max_body_bytes`, except material uploads, which take a file.
    routes()
        .merge(extra)
        .layer(RequestBodyLimitLayer::new(max_body))
        .merge(
            upload_routes()
                .layer(RequestBodyLimitLayer::new(max_upload))
                .layer(axum::extract::DefaultBodyLimit::max(max_upload)),
        )
        .merge(
            form_upload_routes()
                .layer(RequestBodyLimitLayer::new(max_form))
                .layer(axum::extract::DefaultBodyLimit::max(max_form)),
        )
        .fallback(middleware::not_found)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::map_request(
                    middleware::sanitize_request_id,
                ))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(middleware::make_span))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::security_headers,
                ))
                .layer(CompressionLayer::new())
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::record_metrics,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    middleware::error_pages,
                ))
                .layer(CatchPanicLayer::custom(middleware::panic_response))
                .layer(TimeoutLayer::with_status_code(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_mins(1),
                )),
        )
        .with_state(state)
}

/// Serve until `shutdown` resolves; in-flight requests are allowed to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
