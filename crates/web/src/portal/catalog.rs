//! Public catalog pages: search with filters, the guide of an item (printable, templates to download),
//! its version history with differences, 一件事 life events with one combined material list, and the
//! small-business zone.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use yiwang_catalog::diff::Change;
use yiwang_catalog::model::{
    AdminLevel, ItemContent, ItemId, ItemVersion, Material, THEMES, Theme, ThemeAudience,
};
use yiwang_catalog::reads::CurrentItem;
use yiwang_catalog::search::{AudienceGroup, ItemHit, SearchParams};
use yiwang_catalog::service::{Guide, LifeEventGuide};
use yiwang_identity::{Department, Region};
use yiwang_kernel::{Page, PageRequest};

use crate::api::catalog::{ItemsQuery, download, file_url, limit_text};
use crate::error::AppError;
use crate::extract::IdPath;
use crate::page::PageCtx;
use crate::portal::render;
use crate::prefs::encode_component;
use crate::state::AppState;

pub const APP_JS: &str = include_str!("../../static/app.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/search", get(search))
        .route("/items/{id}", get(guide))
        .route("/items/{id}/versions", get(versions))
        .route("/files/{digest}/{name}", get(file))
        .route("/life-events", get(life_events))
        .route("/life-events/{code}", get(life_event))
        .route("/small-business", get(small_business))
        .route("/static/app.js", get(script))
}

/// A search hit with its words for the page.
#[derive(Debug)]
pub struct HitView {
    pub hit: ItemHit,
    pub limit: Option<String>,
}

fn hit_views(page: &PageCtx, hits: Vec<ItemHit>) -> Vec<HitView> {
    hits.into_iter()
        .map(|hit| HitView {
            limit: limit_text(page.tr, hit.time_limit),
            hit,
        })
        .collect()
}

/// One link of the pager.
#[derive(Debug)]
pub struct PageLink {
    pub number: u64,
    pub href: String,
    pub current: bool,
}

/// Links to the pages of a result, keeping every other parameter.
pub(crate) fn pager(
    base: &str,
    params: &[(&str, String)],
    page: &Page<impl Sized>,
) -> Vec<PageLink> {
    let pages = page.total_pages();
    if pages <= 1 {
        return Vec::new();
    }
    let current = u64::from(page.page);
    let mut numbers: Vec<u64> = vec![1, pages];
    numbers.extend(current.saturating_sub(2).max(1)..=(current + 2).min(pages));
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .map(|number| {
            let mut query: Vec<String> = params
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}={}", encode_component(v)))
                .collect();
            query.push(format!("page={number}"));
            PageLink {
                number,
                href: format!("{base}?{}", query.join("&")),
                current: number == current,
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "catalog/search.html")]
struct SearchPage {
    page: PageCtx,
    query: String,
    params: SearchParams,
    hits: Vec<HitView>,
    total: u64,
    pager: Vec<PageLink>,
    themes: &'static [Theme],
    levels: &'static [AdminLevel],
    departments: Vec<Department>,
    matched_departments: Vec<Department>,
    regions: Vec<(Region, String)>,
    expansions: Vec<&'static str>,
    /// The filters chosen, as text, for the summary.
    filtered: bool,
}

impl SearchPage {
    fn theme_selected(&self, code: &str) -> bool {
        self.params.theme.as_deref() == Some(code)
    }

    fn department_selected(&self, code: &str) -> bool {
        self.params.department.as_deref() == Some(code)
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "askama passes loop items by reference"
    )]
    fn level_selected(&self, level: &AdminLevel) -> bool {
        self.params.level == Some(*level)
    }

    fn audience_is(&self, code: &str) -> bool {
        self.params.audience.map(AudienceGroup::code) == Some(code)
    }

    fn online_only(&self) -> bool {
        self.params.online == Some(true)
    }

    /// The same search without filters.
    fn clear_href(&self) -> String {
        format!("/search?q={}", encode_component(&self.query))
    }
}

async fn search(
    State(state): State<AppState>,
    mut page: PageCtx,
    Query(query): Query<ItemsQuery>,
) -> Result<Response, AppError> {
    let params = query.params()?;
    let text = params.q.clone();
    let catalog = state.catalog().clone();
    let searched = params.clone();
    let found = tokio::task::spawn_blocking(move || catalog.search(&searched))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    // Departments and places whose names match, on the first page of a text search.
    let (matched_departments, regions) = if text.is_empty() || params.page.page() > 1 {
        (Vec::new(), Vec::new())
    } else {
        let found = yiwang_identity::service::search_org(state.db(), &text, 20).await?;
        let codes: Vec<&str> = found.regions.iter().map(|r| r.code.as_str()).collect();
        let mut paths = yiwang_identity::service::region_paths(state.db(), &codes).await?;
        let regions = found
            .regions
            .into_iter()
            .map(|region| {
                let path = paths.remove(&region.code).unwrap_or_default();
                let trail = path
                    .iter()
                    .take(path.len().saturating_sub(1))
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" › ");
                (region, trail)
            })
            .collect();
        (found.departments, regions)
    };
    let link_params = [
        ("q", text.clone()),
        (
            "audience",
            params
                .audience
                .map(|a| a.code().to_owned())
                .unwrap_or_default(),
        ),
        ("theme", params.theme.clone().unwrap_or_default()),
        ("department", params.department.clone().unwrap_or_default()),
        (
            "level",
            params
                .level
                .map(|l| l.code().to_owned())
                .unwrap_or_default(),
        ),
        (
            "online",
            params.online.map(|o| o.to_string()).unwrap_or_default(),
        ),
        (
            "small_business",
            if params.small_business {
                "true".to_owned()
            } else {
                String::new()
            },
        ),
    ];
    let pager = pager("/search", &link_params, &found);
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let filtered = params.audience.is_some()
        || params.theme.is_some()
        || params.department.is_some()
        || params.level.is_some()
        || params.online.is_some()
        || params.small_business;
    page.query.clone_from(&text);
    render(&SearchPage {
        expansions: yiwang_catalog::search::expansions(&text),
        hits: hit_views(&page, found.items),
        total: found.total,
        page,
        query: text,
        params,
        pager,
        themes: THEMES,
        levels: AdminLevel::ALL,
        departments,
        matched_departments,
        regions,
        filtered,
    })
}

/// A material with its download addresses.
#[derive(Debug)]
pub struct MaterialView {
    pub material: Material,
    pub template_url: Option<String>,
    pub sample_url: Option<String>,
    /// The licence type whose electronic licence replaces this material (免提交), if any.
    pub paperless: Option<String>,
}

fn material_views(materials: &[Material]) -> Vec<MaterialView> {
    materials
        .iter()
        .map(|m| MaterialView {
            template_url: m.template.as_ref().map(file_url),
            sample_url: m.sample.as_ref().map(file_url),
            material: m.clone(),
            paperless: None,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "catalog/guide.html")]
struct GuidePage {
    page: PageCtx,
    guide: Guide,
    c: ItemContent,
    materials: Vec<MaterialView>,
    legal_limit: Option<String>,
    promised_limit: Option<String>,
    version: ItemVersion,
    /// The item can be applied for online here (in service, with a published workflow).
    can_apply: bool,
}

#[derive(Debug, Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

async fn guide(
    State(state): State<AppState>,
    page: PageCtx,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<VersionQuery>,
) -> Result<Response, AppError> {
    let version = match query.version.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| AppError::NotFound)?),
    };
    let guide = state.catalog().guide(id, version).await?;
    let c = guide.version.content.clone();
    let can_apply = guide.in_effect
        && c.status == yiwang_catalog::model::ItemStatus::InUse
        && state
            .cases()
            .current_workflow(guide.item.id)
            .await?
            .is_some();
    // 免提交: the materials a licence type replaces for this item (the same list for everyone).
    let paperless = state
        .licenses()
        .materials_without_paper(&guide.item.impl_code, None)
        .await?;
    let mut materials = material_views(&c.materials);
    for view in &mut materials {
        view.paperless = paperless
            .iter()
            .find(|r| r.material == view.material.name)
            .map(|r| r.type_name.clone());
    }
    render(&GuidePage {
        can_apply,
        materials,
        legal_limit: limit_text(page.tr, c.legal_limit),
        promised_limit: limit_text(page.tr, c.promised_limit),
        version: guide.version.clone(),
        page,
        guide,
        c,
    })
}

#[derive(Template)]
#[template(path = "catalog/versions.html")]
struct VersionsPage {
    page: PageCtx,
    item_id: i64,
    name: String,
    versions: Vec<ItemVersion>,
    current: Option<u32>,
    from: u32,
    to: u32,
    changes: Vec<Change>,
}

impl VersionsPage {
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "askama passes loop items by reference"
    )]
    fn is_current(&self, version: &u32) -> bool {
        self.current == Some(*version)
    }
}

#[derive(Debug, Deserialize)]
struct CompareQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn versions(
    State(state): State<AppState>,
    page: PageCtx,
    IdPath(id): IdPath<ItemId>,
    Query(query): Query<CompareQuery>,
) -> Result<Response, AppError> {
    let (item, versions) = state.catalog().history(id).await?;
    let newest = versions.first().map_or(0, |v| v.version_no);
    let pick = |raw: Option<&str>, default: u32| -> u32 {
        raw.and_then(|r| r.parse().ok())
            .filter(|n| versions.iter().any(|v| v.version_no == *n))
            .unwrap_or(default)
    };
    let to = pick(query.to.as_deref(), newest);
    let previous = versions
        .iter()
        .map(|v| v.version_no)
        .filter(|n| *n < to)
        .max()
        .unwrap_or(to);
    let from = pick(query.from.as_deref(), previous);
    let changes = if from == to {
        Vec::new()
    } else {
        state.catalog().compare(id, from, to, false).await?
    };
    render(&VersionsPage {
        page,
        item_id: id.get(),
        name: versions
            .first()
            .map(|v| v.content.name.clone())
            .unwrap_or_default(),
        current: item.current_version,
        versions,
        from,
        to,
        changes,
    })
}

async fn file(
    State(state): State<AppState>,
    Path((digest, _name)): Path<(String, String)>,
) -> Result<Response, AppError> {
    if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let stored = state.catalog().file(&digest).await?;
    let mut response = download(stored.bytes, &stored.content_type, &stored.name);
    // Content-addressed: the bytes behind a digest never change.
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "catalog/life_events.html")]
struct LifeEventsPage {
    page: PageCtx,
    events: Vec<LifeEventGuide>,
}

async fn life_events(State(state): State<AppState>, page: PageCtx) -> Result<Response, AppError> {
    let events = state.catalog().life_event_guides().await?;
    render(&LifeEventsPage { page, events })
}

/// A material needed once for a whole life event, with the items that ask for it.
#[derive(Debug)]
pub struct CombinedMaterial {
    pub view: MaterialView,
    pub items: Vec<String>,
}

/// Materials of several items, each listed once (the first item's wording), in the order first needed.
pub fn combined_materials(items: &[CurrentItem]) -> Vec<CombinedMaterial> {
    let mut out: Vec<CombinedMaterial> = Vec::new();
    for item in items {
        for (m, view) in item
            .content
            .materials
            .iter()
            .zip(material_views(&item.content.materials))
        {
            let name = item.content.display_short_name().to_owned();
            match out.iter_mut().find(|c| c.view.material.name == m.name) {
                Some(existing) => {
                    if !existing.items.contains(&name) {
                        existing.items.push(name);
                    }
                }
                None => out.push(CombinedMaterial {
                    view,
                    items: vec![name],
                }),
            }
        }
    }
    out
}

/// An item of a life event with its limit in words.
#[derive(Debug)]
pub struct StepView {
    pub item: CurrentItem,
    pub limit: Option<String>,
}

#[derive(Template)]
#[template(path = "catalog/life_event.html")]
struct LifeEventPage {
    page: PageCtx,
    event: yiwang_catalog::model::LifeEvent,
    steps: Vec<StepView>,
    materials: Vec<CombinedMaterial>,
    separate_total: usize,
}

async fn life_event(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
) -> Result<Response, AppError> {
    let guide = state.catalog().life_event(&code).await?;
    let materials = combined_materials(&guide.items);
    let separate_total = guide.items.iter().map(|i| i.content.materials.len()).sum();
    let steps = guide
        .items
        .into_iter()
        .map(|item| StepView {
            limit: limit_text(page.tr, item.content.effective_limit()),
            item,
        })
        .collect();
    render(&LifeEventPage {
        page,
        event: guide.event,
        steps,
        materials,
        separate_total,
    })
}

#[derive(Template)]
#[template(path = "catalog/small_business.html")]
struct SmallBusinessPage {
    page: PageCtx,
    themes: Vec<(&'static Theme, Vec<HitView>)>,
    contacts: Vec<Department>,
}

async fn small_business(
    State(state): State<AppState>,
    page: PageCtx,
) -> Result<Response, AppError> {
    let all =
        PageRequest::new(Some(1), Some(100)).map_err(|e| AppError::Internal(e.to_string()))?;
    let mut themes = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    for theme in THEMES
        .iter()
        .filter(|t| t.audience == ThemeAudience::Enterprise)
    {
        let found = state.catalog().search(&SearchParams {
            theme: Some(theme.code.to_owned()),
            small_business: true,
            page: all,
            ..SearchParams::default()
        })?;
        if found.items.is_empty() {
            continue;
        }
        for hit in &found.items {
            if !codes.contains(&hit.department_code) {
                codes.push(hit.department_code.clone());
            }
        }
        themes.push((theme, hit_views(&page, found.items)));
    }
    let contacts = yiwang_identity::service::departments(state.db(), "")
        .await?
        .into_iter()
        .filter(|d| codes.contains(&d.code))
        .collect();
    render(&SmallBusinessPage {
        page,
        themes,
        contacts,
    })
}

async fn script() -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        APP_JS,
    )
        .into_response()
}
