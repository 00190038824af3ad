//! Staff over JSON: staff log-in, department administration (staff, posts, roles) and audited looks at
//! a person's record. Every decision is the identity policy's.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::model::{NewStaff, PostInput, RawNewStaff, Role, Staff};
use yiwang_identity::service::account::first_problem;

use crate::api::auth::PersonDto;
use crate::auth::{ApiUser, Client, request_rng, session_cookie};
use crate::error::AppError;
use crate::extract::ApiCaller;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/staff/login", post(staff_login))
        .route("/api/v1/staff/me", get(staff_me))
        .route(
            "/api/v1/departments/{code}/staff",
            get(list_staff).post(create_staff),
        )
        .route("/api/v1/departments/{code}/posts", post(create_post))
        .route("/api/v1/staff/{id}/roles", put(set_roles))
        .route("/api/v1/persons/{id}/view", post(view_person))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostDto {
    pub code: String,
    pub name: String,
    pub duties: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffDto {
    pub id: String,
    pub employee_no: String,
    pub name: String,
    pub department: String,
    pub mobile: String,
    pub roles: Vec<String>,
    pub posts: Vec<PostDto>,
}

impl From<Staff> for StaffDto {
    fn from(s: Staff) -> Self {
        Self {
            id: s.public_id,
            employee_no: s.employee_no,
            name: s.name,
            department: s.department_code,
            mobile: s.mobile_masked,
            roles: s.roles.iter().map(|r| r.code().to_owned()).collect(),
            posts: s
                .posts
                .into_iter()
                .map(|p| PostDto {
                    code: p.code,
                    name: p.name,
                    duties: p.duties,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct StaffLogin {
    /// 工号 (employee number).
    pub employee_no: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffLoginResult {
    pub token: String,
    pub csrf_token: String,
    pub staff: StaffDto,
}

/// Staff log in with their employee number.
#[utoipa::path(post, path = "/api/v1/staff/login", tag = "staff", request_body = StaffLogin,
    responses((status = 200, body = StaffLoginResult), (status = 401, body = crate::api::ApiErrorBody), (status = 429, body = crate::api::ApiErrorBody)))]
async fn staff_login(
    State(state): State<AppState>,
    Client(meta): Client,
    Json(body): Json<StaffLogin>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    crate::auth::guard_login(&state, &meta.ip).await?;
    let result = state
        .accounts()
        .staff_login(&body.employee_no, &body.password, &meta, &mut rng)
        .await;
    crate::auth::note_login(&state, &meta.ip, &result).await?;
    let done = result?;
    let mut response = Json(StaffLoginResult {
        token: done.token.clone(),
        csrf_token: done.session.csrf_token.clone(),
        staff: done.staff.into(),
    })
    .into_response();
    if let Some(cookie) = session_cookie(&done.token, state.config().cookie_secure) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The calling staff member.
#[utoipa::path(get, path = "/api/v1/staff/me", tag = "staff",
    responses((status = 200, body = StaffDto), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody)))]
async fn staff_me(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<StaffDto>, AppError> {
    Ok(Json(state.accounts().staff(&user.session).await?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepartmentStaff {
    pub staff: Vec<StaffDto>,
    pub posts: Vec<PostDto>,
}

/// Staff and posts of a department (its own staff, platform administrators, and supervisors/auditors of
/// its region).
#[utoipa::path(get, path = "/api/v1/departments/{code}/staff", tag = "staff", params(("code" = String, Path)),
    responses((status = 200, body = DepartmentStaff), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody)))]
async fn list_staff(
    State(state): State<AppState>,
    who: ApiCaller,
    Path(code): Path<String>,
) -> Result<Json<DepartmentStaff>, AppError> {
    let (staff, posts) = state
        .accounts()
        .department_staff(&who.principal, &code)
        .await?;
    Ok(Json(DepartmentStaff {
        staff: staff.into_iter().map(StaffDto::from).collect(),
        posts: posts
            .into_iter()
            .map(|p| PostDto {
                code: p.code,
                name: p.name,
                duties: p.duties,
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateStaff {
    pub employee_no: String,
    pub name: String,
    pub mobile: String,
    /// Initial password, given to the staff member in person.
    pub password: String,
    /// Role codes: window_staff, approver, department_admin, platform_admin, supervisor, auditor, grid_worker, hotline_operator.
    pub roles: Vec<String>,
    /// Post codes of the department.
    pub posts: Vec<String>,
}

/// Create a staff member (department administrators for their own department; platform administrators).
#[utoipa::path(post, path = "/api/v1/departments/{code}/staff", tag = "staff", params(("code" = String, Path)), request_body = CreateStaff,
    responses((status = 201, body = StaffDto), (status = 403, body = crate::api::ApiErrorBody), (status = 409, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn create_staff(
    State(state): State<AppState>,
    Client(meta): Client,
    who: ApiCaller,
    Path(code): Path<String>,
    Json(body): Json<CreateStaff>,
) -> Result<Response, AppError> {
    let raw = RawNewStaff {
        employee_no: body.employee_no,
        name: body.name,
        mobile: body.mobile,
        password: body.password,
        roles: body.roles,
        posts: body.posts,
    };
    let new = NewStaff::parse(&raw).map_err(|errors| AppError::from(first_problem(&errors)))?;
    let actor = actor_of(&state, &who).await?;
    let principal = &who.principal;
    let mut rng = request_rng();
    let staff = state
        .accounts()
        .create_staff(principal, &actor, &code, &new, &meta, &mut rng)
        .await?;
    Ok((StatusCode::CREATED, Json(StaffDto::from(staff))).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreatePost {
    pub code: String,
    pub name: String,
    pub duties: String,
}

/// Create a post (岗位) with its duties.
#[utoipa::path(post, path = "/api/v1/departments/{code}/posts", tag = "staff", params(("code" = String, Path)), request_body = CreatePost,
    responses((status = 201, body = PostDto), (status = 403, body = crate::api::ApiErrorBody), (status = 409, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn create_post(
    State(state): State<AppState>,
    Client(meta): Client,
    who: ApiCaller,
    Path(code): Path<String>,
    Json(body): Json<CreatePost>,
) -> Result<Response, AppError> {
    let actor = actor_of(&state, &who).await?;
    let principal = &who.principal;
    let post = state
        .accounts()
        .create_post(
            principal,
            &actor,
            &code,
            &PostInput {
                code: body.code,
                name: body.name,
                duties: body.duties,
            },
            &meta,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PostDto {
            code: post.code,
            name: post.name,
            duties: post.duties,
        }),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct SetRoles {
    pub roles: Vec<String>,
}

/// Replace a staff member's roles.
#[utoipa::path(put, path = "/api/v1/staff/{id}/roles", tag = "staff", params(("id" = String, Path)), request_body = SetRoles,
    responses((status = 200, body = StaffDto), (status = 403, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn set_roles(
    State(state): State<AppState>,
    Client(meta): Client,
    who: ApiCaller,
    Path(id): Path<String>,
    Json(body): Json<SetRoles>,
) -> Result<Json<StaffDto>, AppError> {
    let mut roles = Vec::with_capacity(body.roles.len());
    for text in &body.roles {
        roles.push(Role::parse(text).ok_or_else(|| AppError::Invalid {
            field: "roles".to_owned(),
            code: "role_unknown".to_owned(),
            message: format!("unknown role {text:?}"),
        })?);
    }
    let actor = actor_of(&state, &who).await?;
    let principal = &who.principal;
    Ok(Json(
        state
            .accounts()
            .set_staff_roles(principal, &actor, &id, &roles, &meta)
            .await?
            .into(),
    ))
}

/// Why a staff member needs a person's record; required and audited.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ViewReason {
    /// 4–200 characters, e.g. "受理结婚登记，核验申请人身份".
    pub reason: String,
}

/// A staff member looks at a person's record, giving the reason (audited). A POST, so that a link on
/// another site cannot make a logged-in staff member write an audit entry.
#[utoipa::path(post, path = "/api/v1/persons/{id}/view", tag = "staff", params(("id" = String, Path)), request_body = ViewReason,
    responses((status = 200, body = PersonDto), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn view_person(
    State(state): State<AppState>,
    Client(meta): Client,
    who: ApiCaller,
    Path(id): Path<String>,
    Json(body): Json<ViewReason>,
) -> Result<Json<PersonDto>, AppError> {
    let actor = actor_of(&state, &who).await?;
    let principal = &who.principal;
    Ok(Json(
        state
            .accounts()
            .view_person(principal, &actor, &id, &body.reason, &meta)
            .await?
            .into(),
    ))
}

/// The audit actor of an API caller (persons pass through as persons: the policy refuses them where
/// staff are needed).
async fn actor_of(state: &AppState, who: &ApiCaller) -> Result<String, AppError> {
    let session = who.session();
    Ok(match session.account {
        yiwang_identity::model::Account::Staff(_) => {
            yiwang_identity::service::staff::staff_actor(&state.accounts().staff(session).await?)
        }
        yiwang_identity::model::Account::Person(_) => format!(
            "person:{}",
            state.accounts().person(session).await?.public_id
        ),
    })
}
