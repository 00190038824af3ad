//! Citizen portal pages (HTML). Handlers extract, call one service function and render.

pub mod account;
pub mod appointments;
pub mod cases;
pub mod catalog;
pub mod catalog_staff;
pub mod form;
pub mod licence_pdf;
pub mod licences;
pub mod notices;
pub mod queue;
pub mod ratings;
pub mod recovery;
pub mod staff;
pub mod surveys;
pub mod verify;
pub mod workbench;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use yiwang_identity::{Department, Region};

use crate::error::AppError;
use crate::i18n::Locale;
use crate::page::{APP_CSS, PageCtx};
use crate::prefs::{ELDER_COOKIE, LANG_COOKIE, preference_cookie, safe_next};
use crate::state::AppState;
use yiwang_catalog::model::{Theme, ThemeAudience, find_theme, themes_for};
use yiwang_catalog::search::SearchParams;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/departments", get(departments))
        .route("/departments/{code}", get(department))
        .route("/prefs/lang/{tag}", get(set_language))
        .route("/prefs/elder/{mode}", get(set_elder))
        .route("/static/app.css", get(stylesheet))
        .merge(account::routes())
        .merge(recovery::routes())
        .merge(staff::routes())
        .merge(catalog::routes())
        .merge(catalog_staff::routes())
        .merge(workbench::routes())
        .merge(cases::routes())
        .merge(notices::routes())
        .merge(appointments::routes())
        .merge(queue::routes())
        .merge(licences::routes())
        .merge(ratings::routes())
        .merge(surveys::routes())
        .merge(verify::routes())
        .merge(licence_pdf::routes())
}

pub(crate) fn render(template: &impl Template) -> Result<Response, AppError> {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

/// Departments grouped under their region's name, in region order.
#[derive(Debug)]
pub struct DeptGroup {
    pub region_name: String,
    pub departments: Vec<Department>,
}

/// Departments under their regions' names (below the root), the platform's own region first.
async fn group_by_region(
    state: &AppState,
    departments: Vec<Department>,
) -> Result<Vec<DeptGroup>, AppError> {
    let home = yiwang_kernel::RegionCode::parse(&state.config().region_code).ok();
    let groups =
        yiwang_identity::service::departments_by_region(state.db(), departments, home.as_ref())
            .await?;
    Ok(groups
        .into_iter()
        .map(|group| DeptGroup {
            region_name: group
                .path
                .iter()
                .skip(1)
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(" · "),
            departments: group.departments,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageCtx,
    personal: Vec<&'static Theme>,
    enterprise: Vec<&'static Theme>,
    life_events: Vec<yiwang_catalog::model::LifeEvent>,
    groups: Vec<DeptGroup>,
}

async fn home(State(state): State<AppState>, page: PageCtx) -> Result<Response, AppError> {
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let groups = group_by_region(&state, departments).await?;
    render(&HomePage {
        page,
        personal: themes_for(ThemeAudience::Person),
        enterprise: themes_for(ThemeAudience::Enterprise),
        life_events: state.catalog().life_events().await?,
        groups,
    })
}

#[derive(Debug, Deserialize)]
struct DepartmentsQuery {
    theme: Option<String>,
}

#[derive(Template)]
#[template(path = "departments.html")]
struct DepartmentsPage {
    page: PageCtx,
    theme: Option<&'static Theme>,
    groups: Vec<DeptGroup>,
    total: usize,
}

async fn departments(
    State(state): State<AppState>,
    page: PageCtx,
    Query(query): Query<DepartmentsQuery>,
) -> Result<Response, AppError> {
    let theme = match query.theme.as_deref().filter(|t| !t.is_empty()) {
        Some(code) => Some(find_theme(code).ok_or(AppError::NotFound)?),
        None => None,
    };
    let mut departments = yiwang_identity::service::departments(state.db(), "").await?;
    if let Some(theme) = theme {
        let codes = state.catalog().departments_of_theme(theme.code)?;
        departments.retain(|d| codes.contains(&d.code));
    }
    let total = departments.len();
    let groups = group_by_region(&state, departments).await?;
    render(&DepartmentsPage {
        page,
        theme,
        groups,
        total,
    })
}

#[derive(Template)]
#[template(path = "department.html")]
struct DepartmentPage {
    page: PageCtx,
    dept: Department,
    region_path: Vec<Region>,
    items: Vec<yiwang_catalog::search::ItemHit>,
    total: u64,
    /// More items than listed here.
    more: bool,
}

async fn department(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let dept = yiwang_identity::service::department(state.db(), &code).await?;
    let region_path =
        yiwang_identity::service::region_path(state.db(), dept.region_code.as_str()).await?;
    let found = state.catalog().search(&SearchParams {
        department: Some(dept.code.clone()),
        page: yiwang_kernel::PageRequest::new(Some(1), Some(100))
            .map_err(|e| AppError::Internal(e.to_string()))?,
        ..SearchParams::default()
    })?;
    render(&DepartmentPage {
        page,
        dept,
        region_path,
        total: found.total,
        more: found.total > found.items.len() as u64,
        items: found.items,
    })
}

fn redirect_with_cookie(next: Option<&str>, cookie: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(&safe_next(next)) {
        response.headers_mut().insert(LOCATION, location);
    }
    if let Ok(cookie) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn set_language(
    State(state): State<AppState>,
    Path(tag): Path<String>,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let locale = Locale::from_tag(&tag).ok_or(AppError::NotFound)?;
    let cookie = preference_cookie(LANG_COOKIE, locale.tag(), state.config().cookie_secure);
    Ok(redirect_with_cookie(query.next.as_deref(), &cookie))
}

async fn set_elder(
    State(state): State<AppState>,
    Path(mode): Path<String>,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let value = match mode.as_str() {
        "on" => "1",
        "off" => "0",
        _ => return Err(AppError::NotFound),
    };
    let cookie = preference_cookie(ELDER_COOKIE, value, state.config().cookie_secure);
    Ok(redirect_with_cookie(query.next.as_deref(), &cookie))
}

async fn stylesheet() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        APP_CSS,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage {
    pub page: PageCtx,
    pub status: u16,
    pub title_key: &'static str,
    pub message: String,
    pub request_id: String,
    pub detail: Option<(String, String)>,
}
