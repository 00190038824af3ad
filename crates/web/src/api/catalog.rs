//! The service catalog over JSON: search and list items, an item (any published version), its guide,
//! versions and their differences, life events, template files; staff drafting and review; import and
//! export of the whole catalog.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_catalog::model::{AdminLevel, ItemContent, ItemId, ItemVersion, LifeEvent};
use yiwang_catalog::search::{AudienceGroup, ItemHit, SearchParams};
use yiwang_catalog::service::{Guide, LifeEventGuide};
use yiwang_catalog::transfer::{Format, RowError};
use yiwang_catalog::{CatalogError, Origin};
use yiwang_kernel::{ErrorCode, PageRequest};

use crate::api::ApiQuery;
use crate::api::{ApiError, ApiErrorBody};
use crate::auth::Client;
use crate::error::{AppError, invalid};
use crate::extract::{ApiStaff, IdPath};
use crate::i18n::Tr;
use crate::prefs::{Prefs, encode_component};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/items", get(list_items).post(create_item))
        .route("/api/v1/items/suggest", get(suggest))
        .route("/api/v1/items/{id}", get(get_item))
        .route("/api/v1/items/{id}/guide", get(get_guide))
        .route("/api/v1/items/{id}/versions", get(list_versions))
        .route("/api/v1/items/{id}/diff", get(diff_versions))
        .route(
            "/api/v1/items/{id}/draft",
            post(start_draft).put(save_draft),
        )
        .route("/api/v1/items/{id}/submit", post(submit))
        .route("/api/v1/items/{id}/approve", post(approve))
        .route("/api/v1/items/{id}/reject", post(reject))
        .route("/api/v1/life-events", get(list_life_events))
        .route("/api/v1/life-events/{code}", get(get_life_event))
        .route("/api/v1/catalog/export", get(export))
        .route("/api/v1/catalog/import", post(import))
}

/// Search and filter parameters, as the API and the portal's search page take them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ItemsQuery {
    pub q: Option<String>,
    pub audience: Option<String>,
    pub theme: Option<String>,
    pub department: Option<String>,
    pub level: Option<String>,
    pub online: Option<String>,
    pub small_business: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
}

fn number(field: &str, text: Option<&str>) -> Result<Option<u32>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| invalid(field, "page_invalid", "must be a whole number")),
    }
}

fn flag(field: &str, text: Option<&str>) -> Result<Option<bool>, AppError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some("true" | "1" | "on") => Ok(Some(true)),
        Some("false" | "0") => Ok(Some(false)),
        Some(_) => Err(invalid(field, "flag_invalid", "must be true or false")),
    }
}

impl ItemsQuery {
    /// Parse into search parameters; a bad value names its parameter.
    pub fn params(&self) -> Result<SearchParams, AppError> {
        let non_empty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let audience = match non_empty(&self.audience) {
            None => None,
            Some(a) => Some(AudienceGroup::parse(&a).ok_or_else(|| {
                invalid(
                    "audience",
                    "audience_invalid",
                    "audience is person or legal",
                )
            })?),
        };
        let level =
            match non_empty(&self.level) {
                None => None,
                Some(l) => Some(AdminLevel::parse(&l).ok_or_else(|| {
                    invalid("level", "level_invalid", "level is a code from 1 to 7")
                })?),
            };
        if let Some(theme) = non_empty(&self.theme)
            && yiwang_catalog::model::find_theme(&theme).is_none()
        {
            return Err(invalid("theme", "theme_invalid", "no such theme"));
        }
        let page = PageRequest::new(
            number("page", self.page.as_deref())?,
            number("page_size", self.page_size.as_deref())?,
        )
        .map_err(|e| invalid("page", e.code(), &e.to_string()))?;
        let q = non_empty(&self.q).unwrap_or_default();
        search_text_within_bounds(&q)?;
        Ok(SearchParams {
            q,
            audience,
            theme: non_empty(&self.theme),
            department: non_empty(&self.department),
            level,
            online: flag("online", self.online.as_deref())?,
            small_business: flag("small_business", self.small_business.as_deref())?
                .unwrap_or(false),
            page,
        })
    }
}

/// An item in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemSummary {
    pub id: i64,
    pub impl_code: String,
    pub name: String,
    /// The performing department's name.
    pub department: String,
    pub department_code: String,
    /// 事项类型 code (GB/T 39046 A.1).
    pub kind: String,
    /// 行使层级 code (A.2).
    pub level: String,
    /// 服务对象 codes (A.4).
    pub audience: Vec<String>,
    pub themes: Vec<String>,
    /// Can be applied for online.
    pub online: bool,
    pub appointment: bool,
    /// 跑动次数.
    pub visits: u32,
    /// The promised (else legal) time limit, e.g. "10 working_days".
    pub time_limit: Option<String>,
    /// 在用 / 暂停.
    pub status: String,
    /// Relevance when searching with `q`.
    pub score: f32,
}

impl From<ItemHit> for ItemSummary {
    fn from(h: ItemHit) -> Self {
        Self {
            id: h.id,
            impl_code: h.impl_code,
            name: h.name,
            department: h.department,
            department_code: h.department_code,
            kind: h.kind.code().to_owned(),
            level: h.level.code().to_owned(),
            audience: h.audience.iter().map(|a| a.code().to_owned()).collect(),
            themes: h.themes,
            online: h.online,
            appointment: h.appointment,
            visits: h.visits,
            time_limit: h
                .time_limit
                .map(|l| format!("{} {}", l.amount, l.unit.code())),
            status: h.status.code().to_owned(),
            score: h.score,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList {
    pub items: Vec<ItemSummary>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

/// Search or list the items in effect.
#[utoipa::path(get, path = "/api/v1/items", tag = "catalog",
    params(
        ("q" = Option<String>, Query, description = "text: Chinese, pinyin (full or initials) or everyday words; results by relevance"),
        ("audience" = Option<String>, Query, description = "person | legal"),
        ("theme" = Option<String>, Query, description = "theme code, e.g. food, marriage"),
        ("department" = Option<String>, Query, description = "department code"),
        ("level" = Option<String>, Query, description = "行使层级 code 1–7"),
        ("online" = Option<bool>, Query, description = "only items that can be applied for online"),
        ("small_business" = Option<bool>, Query, description = "only the small-business zone"),
        ("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query, description = "1–100, default 20")),
    responses((status = 200, body = ItemList), (status = 422, body = ApiErrorBody)))]
async fn list_items(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ItemsQuery>,
) -> Result<Json<ItemList>, AppError> {
    let params = query.params()?;
    let catalog = state.catalog().clone();
    let page = tokio::task::spawn_blocking(move || catalog.search(&params))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(ItemList {
        total: page.total,
        page: page.page,
        page_size: page.page_size,
        items: page.items.into_iter().map(ItemSummary::from).collect(),
    }))
}

/// Longest search or suggestion text, in characters: far more than any item's name with a few words
/// around it, so the query parser never works on text a client made arbitrarily long.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Refuse (422 `query_too_long`) a search text longer than [`MAX_SEARCH_CHARS`].
fn search_text_within_bounds(q: &str) -> Result<(), AppError> {
    if q.chars().count() > MAX_SEARCH_CHARS {
        return Err(invalid(
            "q",
            "query_too_long",
            &format!("the search text has at most {MAX_SEARCH_CHARS} characters"),
        ));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct SuggestQuery {
    q: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    pub id: i64,
    pub name: String,
    pub department: String,
}

/// Names to suggest while typing (Chinese or pinyin).
#[utoipa::path(get, path = "/api/v1/items/suggest", tag = "catalog",
    params(("q" = String, Query, description = "what has been typed so far")),
    responses((status = 200, body = [Suggestion])))]
async fn suggest(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SuggestQuery>,
) -> Result<Json<Vec<Suggestion>>, AppError> {
    let q = query.q.unwrap_or_default();
    search_text_within_bounds(&q)?;
    let hits = state.catalog().suggest(&q, 8)?;
    Ok(Json(
        hits.into_iter()
            .map(|h| Suggestion {
                id: h.id,
                name: h.name,
                department: h.department,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

fn version_no(raw: Option<&str>) -> Result<Option<u32>, AppError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| invalid("version", "version_invalid", "version is a whole number")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LifeEventRef {
    pub code: String,
    pub name: String,
}

/// An item with one version's full content (GB/T 39046 elements).
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemDetail {
    pub id: i64,
    pub impl_code: String,
    pub department: String,
    pub department_code: String,
    pub version: u32,
    /// draft | in_review | rejected | published.
    pub state: String,
    pub effective_from: Option<String>,
    /// Whether this version is the one in effect today.
    pub in_effect: bool,
    /// The version in effect today.
    pub current_version: Option<u32>,
    #[schema(value_type = Object)]
    pub content: ItemContent,
    pub life_events: Vec<LifeEventRef>,
}

fn detail(
    item: &yiwang_catalog::model::Item,
    version: ItemVersion,
    events: &[LifeEvent],
) -> ItemDetail {
    ItemDetail {
        id: item.id.get(),
        impl_code: item.impl_code.clone(),
        department: item.department_name.clone(),
        department_code: item.department_code.clone(),
        version: version.version_no,
        state: version.state.code().to_owned(),
        effective_from: version.effective_from.map(|d| d.to_string()),
        in_effect: item.current_version == Some(version.version_no),
        current_version: item.current_version,
        content: version.content,
        life_events: events
            .iter()
            .map(|e| LifeEventRef {
                code: e.code.clone(),
                name: e.name.clone(),
            })
            .collect(),
    }
}

/// An item: the version in effect, or a published version by number.
#[utoipa::path(get, path = "/api/v1/items/{id}", tag = "catalog",
    params(("id" = i64, Path), ("version" = Option<u32>, Query, description = "a published version number")),
    responses((status = 200, body = ItemDetail), (status = 404, body = ApiErrorBody)))]
async fn get_item(
    State(state): State<AppState>,
    IdPath(id): IdPath<ItemId>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<ItemDetail>, AppError> {
    let guide = state
        .catalog()
        .guide(id, version_no(query.version.as_deref())?)
        .await?;
    Ok(Json(detail(&guide.item, guide.version, &guide.life_events)))
}

/// A material as the guide lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuideMaterial {
    pub name: String,
    pub source: String,
    pub original: u32,
    pub copies: u32,
    pub mandatory: bool,
    pub note: String,
    /// Download address of the blank template.
    pub template_url: Option<String>,
    /// Download address of a filled-in sample.
    pub sample_url: Option<String>,
}

/// The guide (办事指南) with code lists resolved into words of the caller's language.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuideDto {
    pub id: i64,
    pub impl_code: String,
    pub base_code: String,
    pub name: String,
    pub version: u32,
    pub effective_from: Option<String>,
    pub department: String,
    pub kind: String,
    pub level: String,
    pub audience: Vec<String>,
    pub themes: Vec<String>,
    pub legal_basis: Vec<String>,
    pub conditions: String,
    pub materials: Vec<GuideMaterial>,
    pub legal_limit: Option<String>,
    pub promised_limit: Option<String>,
    pub case_type: String,
    pub fees: Vec<String>,
    pub handling_forms: Vec<String>,
    pub visits: u32,
    pub online_depth: Vec<String>,
    pub appointment: bool,
    pub postal_delivery: bool,
    pub place: String,
    pub hours: String,
    pub phone: String,
    pub faq: Vec<LifeEventRef>,
    pub result: String,
    pub status: String,
    pub life_events: Vec<LifeEventRef>,
}

/// The address a catalog file is downloaded from.
pub fn file_url(file: &yiwang_catalog::model::FileRef) -> String {
    format!("/files/{}/{}", file.digest, encode_component(&file.name))
}

/// A time limit in words ("10 个工作日").
pub fn limit_text(tr: Tr, limit: Option<yiwang_kernel::TimeLimit>) -> Option<String> {
    limit.map(|l| {
        tr.fmt(
            &yiwang_catalog::model::unit_key(l.unit),
            &[("n", &l.amount.to_string())],
        )
    })
}

fn guide_dto(tr: Tr, guide: Guide) -> GuideDto {
    let c = guide.version.content;
    let label = |key: String| tr.t(&key).to_owned();
    GuideDto {
        id: guide.item.id.get(),
        impl_code: guide.item.impl_code,
        base_code: c.base_code,
        name: c.name,
        version: guide.version.version_no,
        effective_from: guide.version.effective_from.map(|d| d.to_string()),
        department: guide.item.department_name,
        kind: label(c.kind.label_key()),
        level: label(c.level.label_key()),
        audience: c.audience.iter().map(|a| label(a.label_key())).collect(),
        themes: c
            .themes
            .iter()
            .map(|t| label(format!("theme.{t}")))
            .collect(),
        legal_basis: c.legal_basis,
        conditions: c.conditions,
        materials: c
            .materials
            .into_iter()
            .map(|m| GuideMaterial {
                template_url: m.template.as_ref().map(file_url),
                sample_url: m.sample.as_ref().map(file_url),
                name: m.name,
                source: m.source,
                original: m.original,
                copies: m.copies,
                mandatory: m.mandatory,
                note: m.note,
            })
            .collect(),
        legal_limit: limit_text(tr, c.legal_limit),
        promised_limit: limit_text(tr, c.promised_limit),
        case_type: label(c.case_type.label_key()),
        fees: c
            .fees
            .iter()
            .map(|f| {
                let amount = match f.amount_yuan {
                    Some(yuan) => tr.fmt("catalog.yuan", &[("n", &yuan.to_string())]),
                    None => tr.t("catalog.by_standard").to_owned(),
                };
                format!("{} {amount} ({})", f.item, f.basis)
            })
            .collect(),
        handling_forms: c
            .handling_forms
            .iter()
            .map(|f| label(f.label_key()))
            .collect(),
        visits: c.visits,
        online_depth: c
            .online_depth
            .iter()
            .map(|d| label(d.label_key()))
            .collect(),
        appointment: c.appointment,
        postal_delivery: c.postal_delivery,
        place: c.place,
        hours: c.hours,
        phone: c.phone,
        faq: c
            .faq
            .into_iter()
            .map(|f| LifeEventRef {
                code: f.q,
                name: f.a,
            })
            .collect(),
        result: c.result,
        status: tr.t(c.status.label_key()).to_owned(),
        life_events: guide
            .life_events
            .into_iter()
            .map(|e| LifeEventRef {
                code: e.code,
                name: e.name,
            })
            .collect(),
    }
}

/// The guide (办事指南) in the caller's language (Accept-Language). `faq` entries carry the question
/// in `code` and the answer in `name`.
#[utoipa::path(get, path = "/api/v1/items/{id}/guide", tag = "catalog",
    params(("id" = i64, Path), ("version" = Option<u32>, Query)),
    responses((status = 200, body = GuideDto), (status = 404, body = ApiErrorBody)))]
async fn get_guide(
    State(state): State<AppState>,
    prefs: Prefs,
    IdPath(id): IdPath<ItemId>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<GuideDto>, AppError> {
    let guide = state
        .catalog()
        .guide(id, version_no(query.version.as_deref())?)
        .await?;
    Ok(Json(guide_dto(prefs.tr(), guide)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub version: u32,
    pub state: String,
    pub name: String,
    pub effective_from: Option<String>,
    pub change_note: String,
    pub author: Option<String>,
    pub reviewer: Option<String>,
    pub review_note: String,
    pub created_at: String,
    pub reviewed_at: Option<String>,
}

impl From<&ItemVersion> for VersionDto {
    fn from(v: &ItemVersion) -> Self {
        Self {
            version: v.version_no,
            state: v.state.code().to_owned(),
            name: v.content.name.clone(),
            effective_from: v.effective_from.map(|d| d.to_string()),
            change_note: v.change_note.clone(),
            author: v.author.as_ref().map(|a| a.name.clone()),
            reviewer: v.reviewer.as_ref().map(|a| a.name.clone()),
            review_note: v.review_note.clone(),
            created_at: v.created_at.to_rfc3339(),
            reviewed_at: v.reviewed_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// The published versions of an item, newest first.
#[utoipa::path(get, path = "/api/v1/items/{id}/versions", tag = "catalog",
    params(("id" = i64, Path)),
    responses((status = 200, body = [VersionDto]), (status = 404, body = ApiErrorBody)))]
async fn list_versions(
    State(state): State<AppState>,
    IdPath(id): IdPath<ItemId>,
) -> Result<Json<Vec<VersionDto>>, AppError> {
    let (_, versions) = state.catalog().history(id).await?;
    Ok(Json(versions.iter().map(VersionDto::from).collect()))
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeDto {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What changed between two published versions.
#[utoipa::path(get, path = "/api/v1/items/{id}/diff", tag = "catalog",
    params(("id" = i64, Path), ("from" = u32, Query), ("to" = u32, Query)),
    responses((status = 200, body = [ChangeDto]), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn diff_versions(
    State(state): State<AppState>,
    IdPath(id): IdPath<ItemId>,
    ApiQuery(query): ApiQuery<DiffQuery>,
) -> Result<Json<Vec<ChangeDto>>, AppError> {
    let need = |v: Option<u32>, f: &str| {
        v.ok_or_else(|| invalid(f, "version_invalid", "give from and to"))
    };
    let from = need(version_no(query.from.as_deref())?, "from")?;
    let to = need(version_no(query.to.as_deref())?, "to")?;
    let changes = state.catalog().compare(id, from, to, false).await?;
    Ok(Json(
        changes
            .into_iter()
            .map(|c| ChangeDto {
                field: c.field.to_owned(),
                before: c.before,
                after: c.after,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LifeEventDto {
    pub code: String,
    pub name: String,
    pub description: String,
    pub audience: Vec<String>,
    pub items: Vec<ItemSummaryRef>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemSummaryRef {
    pub id: i64,
    pub name: String,
    pub department: String,
}

/// 一件事 life events.
#[utoipa::path(get, path = "/api/v1/life-events", tag = "catalog",
    responses((status = 200, body = [LifeEventDto])))]
async fn list_life_events(
    State(state): State<AppState>,
) -> Result<Json<Vec<LifeEventDto>>, AppError> {
    let guides = state.catalog().life_event_guides().await?;
    Ok(Json(guides.into_iter().map(life_event_dto).collect()))
}

fn life_event_dto(guide: LifeEventGuide) -> LifeEventDto {
    LifeEventDto {
        code: guide.event.code,
        name: guide.event.name,
        description: guide.event.description,
        audience: guide
            .event
            .audience
            .iter()
            .map(|a| a.code().to_owned())
            .collect(),
        items: guide
            .items
            .into_iter()
            .map(|c| ItemSummaryRef {
                id: c.item.id.get(),
                name: c.content.name,
                department: c.item.department_name,
            })
            .collect(),
    }
}

/// One life event with its items.
#[utoipa::path(get, path = "/api/v1/life-events/{code}", tag = "catalog",
    params(("code" = String, Path)),
    responses((status = 200, body = LifeEventDto), (status = 404, body = ApiErrorBody)))]
async fn get_life_event(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> Result<Json<LifeEventDto>, AppError> {
    Ok(Json(life_event_dto(
        state.catalog().life_event(&code).await?,
    )))
}

// ----- staff -----

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateItem {
    pub impl_code: String,
    /// Department code; staff create items of their own department.
    pub department: String,
    #[schema(value_type = Object)]
    pub content: ItemContent,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Create an item; its first version is a draft.
#[utoipa::path(post, path = "/api/v1/items", tag = "catalog", request_body = CreateItem,
    responses((status = 201, body = Created), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn create_item(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Json(body): Json<CreateItem>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    let department = yiwang_identity::service::department(state.db(), &body.department).await?;
    let id = state
        .catalog()
        .create_item(
            principal,
            &body.impl_code,
            &department,
            &body.content,
            &Origin { ip: meta.ip },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.get() })).into_response())
}

/// Open a draft of the next version (or return the one already open).
#[utoipa::path(post, path = "/api/v1/items/{id}/draft", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 200, body = VersionDto), (status = 403, body = ApiErrorBody)))]
async fn start_draft(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ItemId>,
) -> Result<Json<VersionDto>, AppError> {
    let principal = &who.principal;
    let draft = state
        .catalog()
        .start_draft(principal, id, &Origin { ip: meta.ip })
        .await?;
    Ok(Json(VersionDto::from(&draft)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SaveDraft {
    #[schema(value_type = Object)]
    pub content: ItemContent,
    /// What changed and why.
    #[serde(default)]
    pub change_note: String,
}

/// Replace the open draft's content.
#[utoipa::path(put, path = "/api/v1/items/{id}/draft", tag = "catalog", params(("id" = i64, Path)), request_body = SaveDraft,
    responses((status = 204), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn save_draft(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ItemId>,
    Json(body): Json<SaveDraft>,
) -> Result<StatusCode, AppError> {
    let principal = &who.principal;
    state
        .catalog()
        .save_draft(
            principal,
            id,
            &body.content,
            &body.change_note,
            &Origin { ip: meta.ip },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send the draft for review by a second staff member.
#[utoipa::path(post, path = "/api/v1/items/{id}/submit", tag = "catalog", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = ApiErrorBody)))]
async fn submit(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ItemId>,
) -> Result<StatusCode, AppError> {
    let principal = &who.principal;
    state
        .catalog()
        .submit(principal, id, &Origin { ip: meta.ip })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Review {
    /// YYYY-MM-DD, today or later (approve only; default today).
    #[serde(default)]
    pub effective_from: Option<String>,
    /// The reason (required when sending back).
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Published {
    pub version: u32,
}

/// Publish the version in review (a second staff member; not its author).
#[utoipa::path(post, path = "/api/v1/items/{id}/approve", tag = "catalog", params(("id" = i64, Path)), request_body = Review,
    responses((status = 200, body = Published), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn approve(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ItemId>,
    Json(body): Json<Review>,
) -> Result<Json<Published>, AppError> {
    let principal = &who.principal;
    let effective = match body
        .effective_from
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(t) => Some(
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| invalid("effective_from", "date_invalid", "a date is YYYY-MM-DD"))?,
        ),
    };
    let version = state
        .catalog()
        .approve(
            principal,
            id,
            effective,
            &body.note,
            &Origin { ip: meta.ip },
        )
        .await?;
    Ok(Json(Published { version }))
}

/// Send the version in review back to its author with the reason.
#[utoipa::path(post, path = "/api/v1/items/{id}/reject", tag = "catalog", params(("id" = i64, Path)), request_body = Review,
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn reject(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ItemId>,
    Json(body): Json<Review>,
) -> Result<StatusCode, AppError> {
    let principal = &who.principal;
    state
        .catalog()
        .reject(principal, id, &body.note, &Origin { ip: meta.ip })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

fn format_of(raw: Option<&str>) -> Result<Format, AppError> {
    Format::parse(raw.unwrap_or("json"))
        .ok_or_else(|| invalid("format", "format_invalid", "format is json or csv"))
}

/// A download of catalog bytes.
pub fn download(bytes: Vec<u8>, content_type: &str, file_name: &str) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        file_name.replace(
            |c: char| !c.is_ascii_alphanumeric() && c != '.' && c != '-',
            "_"
        ),
        encode_component(file_name)
    );
    let mut response = bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    response
}

/// The items in effect as JSON or CSV (platform administrators).
#[utoipa::path(get, path = "/api/v1/catalog/export", tag = "catalog",
    params(("format" = Option<String>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "the catalog file"), (status = 403, body = ApiErrorBody)))]
async fn export(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    yiwang_identity::policy::authorize(principal, &yiwang_identity::policy::Action::ManageCatalog)?;
    let format = format_of(query.format.as_deref())?;
    let bytes = state.catalog().export(format).await?;
    Ok(download(
        bytes,
        format.content_type(),
        &format!("catalog.{}", format.extension()),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RowProblem {
    pub row: usize,
    pub impl_code: String,
    pub field: String,
    /// Stable code of the reason.
    pub code: String,
    /// The reason in the caller's language.
    pub message: String,
    /// The details in English (the value found, the rule).
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRejected {
    pub error: ApiError,
    /// Every bad row with its reason; nothing was imported.
    pub rows: Vec<RowProblem>,
}

/// Import a catalog file (the request body, JSON or CSV). All rows are checked first: if any is bad,
/// 422 lists every bad row and nothing is imported.
#[utoipa::path(post, path = "/api/v1/catalog/import", tag = "catalog",
    params(("format" = Option<String>, Query, description = "json (default) or csv")),
    request_body(content = String, description = "the file"),
    responses((status = 200, body = ImportResult), (status = 403, body = ApiErrorBody), (status = 422, body = ImportRejected)))]
async fn import(
    State(state): State<AppState>,
    who: ApiStaff,
    prefs: Prefs,
    Client(meta): Client,
    ApiQuery(query): ApiQuery<FormatQuery>,
    body: Bytes,
) -> Result<Response, AppError> {
    let principal = &who.principal;
    // Authorize before looking at the request: a caller without the right learns nothing from it.
    yiwang_identity::policy::authorize(principal, &yiwang_identity::policy::Action::ManageCatalog)?;
    let format = format_of(query.format.as_deref())?;
    match state
        .catalog()
        .import(principal, format, &body, &Origin { ip: meta.ip })
        .await
    {
        Ok(report) => Ok(Json(ImportResult {
            created: report.created,
            updated: report.updated,
            unchanged: report.unchanged,
        })
        .into_response()),
        Err(CatalogError::ImportRejected(rows)) => Ok(import_rejected(prefs.tr(), &rows)),
        Err(other) => Err(other.into()),
    }
}

fn import_rejected(tr: Tr, rows: &[RowError]) -> Response {
    let body = ImportRejected {
        error: ApiError {
            code: "import_rejected".to_owned(),
            message: tr.fmt("errors.import_rejected", &[("n", &rows.len().to_string())]),
            request_id: String::new(),
            field: Some("file".to_owned()),
            reason: None,
            locked_until: None,
        },
        rows: rows
            .iter()
            .map(|r| RowProblem {
                row: r.row,
                impl_code: r.impl_code.clone(),
                field: r.field.clone(),
                code: r.code.to_owned(),
                message: tr.t(&format!("errors.{}", r.code)).to_owned(),
                detail: r.message.clone(),
            })
            .collect(),
    };
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}
