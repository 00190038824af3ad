//! Halls and clinics over JSON: groups with their windows and doctors, opening hours, released slots
//! and queue categories. Reading them is public; changing them is staff set-up (`ManageSchedules`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_appointments::model::{
    Audience, BookingPolicy, Category, Group, GroupKind, NewCategory, NewGroup, NewResource,
    Resource, ResourceId, ResourceKind, Schedule, SlotView,
};
use yiwang_appointments::service::{MAX_DAYS, ResourceUpdate};
use yiwang_identity::Department;
use yiwang_identity::policy::Principal;

use super::{DEFAULT_SLOT_DAYS, group_of, invalid, optional_date, origin, svc};
use crate::api::ApiErrorBody;
use crate::api::ApiQuery;
use crate::auth::Client;
use crate::error::AppError;
use crate::extract::{ApiMaybeCaller, ApiStaff, IdPath};
use crate::state::AppState;

// -------------------------------------------------------------------------------- groups

/// A window or doctor as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub resource: Resource,
}

impl From<Resource> for ResourceOut {
    fn from(resource: Resource) -> Self {
        Self {
            id: resource.id.get(),
            resource,
        }
    }
}

/// A hall or hospital department with its windows or doctors.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    pub id: i64,
    pub code: String,
    /// `hall` or `hospital_department`.
    pub kind: String,
    pub name: String,
    /// The department's code, e.g. `kbs-rmyy`.
    pub department: String,
    pub department_name: String,
    pub address: String,
    /// Release, booking, cancellation, no-show and queue rules.
    #[schema(value_type = Object)]
    pub policy: BookingPolicy,
    pub resources: Vec<ResourceOut>,
}

impl GroupOut {
    pub(super) fn new(
        group: Group,
        department: Option<&Department>,
        resources: Vec<Resource>,
    ) -> Self {
        Self {
            id: group.id.get(),
            code: group.code,
            kind: group.kind.code().to_owned(),
            name: group.name,
            department: department.map(|d| d.code.clone()).unwrap_or_default(),
            department_name: department.map(|d| d.name.clone()).unwrap_or_default(),
            address: group.address,
            policy: group.policy,
            resources: resources.into_iter().map(ResourceOut::from).collect(),
        }
    }
}

/// A group with its queue categories.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: GroupOut,
    pub categories: Vec<CategoryOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<GroupOut>,
    pub total: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupQuery {
    /// A department's code.
    pub department: Option<String>,
    /// `hall` or `hospital_department`.
    pub kind: Option<String>,
}

async fn group_out(state: &AppState, group: Group) -> Result<GroupOut, AppError> {
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let department = departments.iter().find(|d| d.id == group.department_id);
    let resources = svc(state).resources(group.id).await?;
    Ok(GroupOut::new(group, department, resources))
}

/// Service halls and hospital departments with their windows and doctors.
#[utoipa::path(get, path = "/api/v1/appointments/groups", tag = "appointments",
    params(("department" = Option<String>, Query, description = "department code"),
        ("kind" = Option<String>, Query, description = "`hall` or `hospital_department`")),
    responses((status = 200, body = GroupList), (status = 404, body = ApiErrorBody, description = "no such department"),
        (status = 422, body = ApiErrorBody)))]
pub(super) async fn list_groups(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<GroupQuery>,
) -> Result<Json<GroupList>, AppError> {
    let kind = match query
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => Some(GroupKind::parse(k).ok_or_else(|| {
            invalid(
                "kind",
                "appt_kind_invalid",
                "kind is hall or hospital_department",
            )
        })?),
        None => None,
    };
    let departments = yiwang_identity::service::departments(state.db(), "").await?;
    let department = match query
        .department
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(code) => Some(
            departments
                .iter()
                .find(|d| d.code == code)
                .ok_or(AppError::NotFound)?
                .id,
        ),
        None => None,
    };
    let items: Vec<GroupOut> = svc(&state)
        .groups_with_resources(department, kind)
        .await?
        .into_iter()
        .map(|(group, resources)| {
            let dept = departments.iter().find(|d| d.id == group.department_id);
            GroupOut::new(group, dept, resources)
        })
        .collect();
    Ok(Json(GroupList {
        total: items.len(),
        items,
    }))
}

/// One hall or hospital department (by id or code) with its resources and queue categories.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}", tag = "appointments",
    params(("group" = String, Path, description = "id or code")),
    responses((status = 200, body = GroupDetail), (status = 404, body = ApiErrorBody)))]
pub(super) async fn get_group(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<GroupDetail>, AppError> {
    let group = group_of(&state, &key).await?;
    let categories = svc(&state).categories(group.id).await?;
    Ok(Json(GroupDetail {
        group: group_out(&state, group).await?,
        categories: categories.into_iter().map(CategoryOut::from).collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateGroup {
    /// 2–40 lowercase letters, digits, `-` or `_`; unique.
    pub code: String,
    /// `hall` or `hospital_department`.
    pub kind: String,
    pub name: String,
    pub address: String,
    /// The rules; the defaults of the kind when absent.
    #[schema(value_type = Option<Object>)]
    pub policy: Option<BookingPolicy>,
}

/// Create a hall or hospital department of a department (its administrators, `ManageSchedules`).
#[utoipa::path(post, path = "/api/v1/departments/{code}/appointment-groups", tag = "appointments",
    params(("code" = String, Path, description = "department code")), request_body = CreateGroup,
    responses((status = 201, body = GroupOut), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`appt_code_taken`"), (status = 422, body = ApiErrorBody)))]
pub(super) async fn create_group(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Path(code): Path<String>,
    Json(body): Json<CreateGroup>,
) -> Result<(StatusCode, Json<GroupOut>), AppError> {
    let principal = &who.principal;
    let department = yiwang_identity::service::department(state.db(), &code).await?;
    let kind = GroupKind::parse(body.kind.trim()).ok_or_else(|| {
        invalid(
            "kind",
            "appt_kind_invalid",
            "kind is hall or hospital_department",
        )
    })?;
    let group = svc(&state)
        .create_group(
            principal,
            &department,
            &NewGroup {
                code: body.code,
                kind,
                name: body.name,
                address: body.address,
                policy: body.policy,
            },
            &origin(&meta),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(GroupOut::new(group, Some(&department), Vec::new())),
    ))
}

/// Replace a group's rules (`ManageSchedules`); days not yet released move to the new release time.
#[utoipa::path(put, path = "/api/v1/appointments/groups/{group}/policy", tag = "appointments",
    params(("group" = String, Path, description = "id or code")),
    request_body(content = Object, description = "the booking policy (as `policy` of a group)"),
    responses((status = 200, body = GroupOut), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
pub(super) async fn set_policy(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(policy): Json<BookingPolicy>,
) -> Result<Json<GroupOut>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let group = svc(&state)
        .set_policy(principal, group.id, &policy, &origin(&meta))
        .await?;
    Ok(Json(group_out(&state, group).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddResource {
    pub code: String,
    /// `window` or `doctor`; by default the group's kind decides.
    pub kind: Option<String>,
    pub name: String,
    /// A doctor's title (主任医师).
    pub title: String,
    /// Service items (implementation codes) a window handles; empty: any.
    pub items: Vec<String>,
    /// Queue categories the window calls.
    pub categories: Vec<String>,
}

/// Add a window (hall) or doctor (hospital department) (`ManageSchedules`).
#[utoipa::path(post, path = "/api/v1/appointments/groups/{group}/resources", tag = "appointments",
    params(("group" = String, Path, description = "id or code")), request_body = AddResource,
    responses((status = 201, body = ResourceOut), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`appt_code_taken`"), (status = 422, body = ApiErrorBody)))]
pub(super) async fn add_resource(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<AddResource>,
) -> Result<(StatusCode, Json<ResourceOut>), AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let kind = match body
        .kind
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    {
        Some(k) => Some(
            ResourceKind::parse(k)
                .ok_or_else(|| invalid("kind", "appt_kind_invalid", "kind is window or doctor"))?,
        ),
        None => None,
    };
    let resource = svc(&state)
        .add_resource(
            principal,
            group.id,
            &NewResource {
                code: body.code,
                kind,
                name: body.name,
                title: body.title,
                items: body.items,
                categories: body.categories,
            },
            &origin(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(resource.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateResource {
    #[serde(default)]
    pub items: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    pub active: bool,
}

/// Change the items a window handles, the categories it calls and whether it is in use
/// (`ManageSchedules`).
#[utoipa::path(put, path = "/api/v1/appointments/resources/{id}", tag = "appointments",
    params(("id" = i64, Path)), request_body = UpdateResource,
    responses((status = 200, body = ResourceOut), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
pub(super) async fn update_resource(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ResourceId>,
    Json(body): Json<UpdateResource>,
) -> Result<Json<ResourceOut>, AppError> {
    let principal = &who.principal;
    let resource = svc(&state)
        .update_resource(
            principal,
            id,
            &ResourceUpdate {
                items: body.items,
                categories: body.categories,
                active: body.active,
            },
            &origin(&meta),
        )
        .await?;
    Ok(Json(resource.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetSchedule {
    /// Opening hours: `days` (`working_days` or `every_day`), `periods` (`[{"start": "08:00:00",
    /// "end": "11:30:00"}]`, China time), `slot_minutes`, `capacity`, optional `valid_from` /
    /// `valid_until`; `null` removes the schedule.
    #[schema(value_type = Option<Object>)]
    pub schedule: Option<Schedule>,
}

/// Set a window's or doctor's opening hours (`ManageSchedules`). Slots already generated stay.
#[utoipa::path(put, path = "/api/v1/appointments/resources/{id}/schedule", tag = "appointments",
    params(("id" = i64, Path)), request_body = SetSchedule,
    responses((status = 200, body = ResourceOut), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody, description = "`schedule_slot_length`, `schedule_period_overlap`…")))]
pub(super) async fn set_schedule(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    IdPath(id): IdPath<ResourceId>,
    Json(body): Json<SetSchedule>,
) -> Result<Json<ResourceOut>, AppError> {
    let principal = &who.principal;
    let resource = svc(&state)
        .set_schedule(principal, id, body.schedule.as_ref(), &origin(&meta))
        .await?;
    Ok(Json(resource.into()))
}

// --------------------------------------------------------------------------------- slots

/// A slot with its resource and the places left.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOut {
    pub id: i64,
    pub remaining: u32,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub view: SlotView,
}

impl From<SlotView> for SlotOut {
    fn from(view: SlotView) -> Self {
        Self {
            id: view.slot.id.get(),
            remaining: view.slot.remaining(),
            view,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotList {
    pub items: Vec<SlotOut>,
    pub total: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SlotQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// A window's or doctor's code.
    pub resource: Option<String>,
    /// Staff: every slot, released or not.
    pub all: Option<String>,
}

/// Slots of a group from `from` (default today) to `to` (default a week later), at most 62 days:
/// released slots not yet past their booking cut-off, full ones included (join their waitlist). With
/// `all=true`, staff of the department see every slot, released or not.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}/slots", tag = "appointments",
    params(("group" = String, Path, description = "id or code"), ("from" = Option<String>, Query, description = "YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "YYYY-MM-DD"), ("resource" = Option<String>, Query, description = "window or doctor code"),
        ("all" = Option<bool>, Query, description = "staff: unreleased slots too")),
    responses((status = 200, body = SlotList), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
pub(super) async fn list_slots(
    State(state): State<AppState>,
    who: ApiMaybeCaller,
    Path(key): Path<String>,
    ApiQuery(query): ApiQuery<SlotQuery>,
) -> Result<Json<SlotList>, AppError> {
    let group = group_of(&state, &key).await?;
    let from = optional_date("from", query.from.as_deref())?.unwrap_or_else(|| svc(&state).today());
    let to = optional_date("to", query.to.as_deref())?
        .unwrap_or(from + Duration::days(DEFAULT_SLOT_DAYS));
    if to < from || to > from + Duration::days(i64::from(MAX_DAYS)) {
        return Err(invalid(
            "to",
            "appt_too_many_days",
            "to must not be before from, and at most 62 days after it",
        ));
    }
    let all = matches!(query.all.as_deref(), Some("1" | "true" | "on"));
    let slots = if all {
        if who.principal == Principal::Anonymous {
            return Err(AppError::Unauthenticated {
                code: "unauthenticated".to_owned(),
            });
        }
        svc(&state)
            .staff_slots(&who.principal, group.id, from, to)
            .await?
    } else {
        svc(&state).available_slots(group.id, from, to).await?
    };
    let resource = query
        .resource
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let items: Vec<SlotOut> = slots
        .into_iter()
        .filter(|s| resource.is_none_or(|r| s.resource_code == r))
        .map(SlotOut::from)
        .collect();
    Ok(Json(SlotList {
        total: items.len(),
        items,
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct GenerateSlots {
    /// Today and this many days ahead (at most 62).
    pub days: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Generated {
    /// Slots created now (existing ones are kept).
    pub created: usize,
}

/// Create the slots of the group's resources from their opening hours (`ManageSchedules`); running it
/// again only fills gaps. The maintenance loop also generates up to each group's release horizon.
#[utoipa::path(post, path = "/api/v1/appointments/groups/{group}/slots/generate", tag = "appointments",
    params(("group" = String, Path, description = "id or code")), request_body = GenerateSlots,
    responses((status = 200, body = Generated), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
pub(super) async fn generate_slots(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<GenerateSlots>,
) -> Result<Json<Generated>, AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let created = svc(&state)
        .generate_slots(principal, group.id, body.days, &origin(&meta))
        .await?;
    Ok(Json(Generated { created }))
}

// ---------------------------------------------------------------------------- categories

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub category: Category,
}

impl From<Category> for CategoryOut {
    fn from(category: Category) -> Self {
        Self {
            id: category.id.get(),
            category,
        }
    }
}

/// A group's queue categories, in the order the ticket machine shows them.
#[utoipa::path(get, path = "/api/v1/appointments/groups/{group}/categories", tag = "queue",
    params(("group" = String, Path, description = "id or code")),
    responses((status = 200, body = Vec<CategoryOut>), (status = 404, body = ApiErrorBody)))]
pub(super) async fn list_categories(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Json<Vec<CategoryOut>>, AppError> {
    let group = group_of(&state, &key).await?;
    let categories = svc(&state).categories(group.id).await?;
    Ok(Json(
        categories.into_iter().map(CategoryOut::from).collect(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddCategory {
    pub code: String,
    pub name: String,
    /// `personal` or `enterprise`.
    pub audience: String,
    pub theme: String,
    /// 1–3 capital letters printed before the ticket number (A012).
    pub prefix: String,
}

/// Add a queue category (`ManageSchedules`).
#[utoipa::path(post, path = "/api/v1/appointments/groups/{group}/categories", tag = "queue",
    params(("group" = String, Path, description = "id or code")), request_body = AddCategory,
    responses((status = 201, body = CategoryOut), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
pub(super) async fn add_category(
    State(state): State<AppState>,
    who: ApiStaff,
    Client(meta): Client,
    Path(key): Path<String>,
    Json(body): Json<AddCategory>,
) -> Result<(StatusCode, Json<CategoryOut>), AppError> {
    let principal = &who.principal;
    let group = group_of(&state, &key).await?;
    let audience = Audience::parse(body.audience.trim()).ok_or_else(|| {
        invalid(
            "audience",
            "queue_audience_invalid",
            "audience is personal or enterprise",
        )
    })?;
    let category = svc(&state)
        .add_category(
            principal,
            group.id,
            &NewCategory {
                code: body.code,
                name: body.name,
                audience,
                theme: body.theme,
                prefix: body.prefix,
            },
            &origin(&meta),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(category.into())))
}
