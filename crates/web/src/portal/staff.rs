//! Staff pages: log in with the employee number; the departments a staff member may look into; a
//! department's posts and staff, with forms to add posts and staff and to change roles for those the
//! policy allows.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use yiwang_identity::model::{NewStaff, Post, PostInput, RawNewStaff, Role, Staff};
use yiwang_identity::service::staff::staff_actor;
use yiwang_identity::{Department, IdentityError};

use crate::auth::{Client, anonymous_csrf, request_rng, session_cookie};
use crate::error::AppError;
use crate::extract::{CsrfForm, GuestForm, IdPath, PageStaff};
use crate::page::PageCtx;
use crate::portal::form::{CsrfCookie, FormErrors, identity_message, see_other, with_cookie};
use crate::portal::render;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_form).post(login))
        .route("/staff", get(own_department))
        .route("/staff/departments", get(departments))
        .route("/staff/departments/{code}", get(workspace).post(add))
        .route(
            "/staff/departments/{code}/staff/{id}/roles",
            post(set_roles),
        )
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    page: PageCtx,
    csrf: String,
    employee_no: String,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LoginForm {
    csrf: String,
    employee_no: String,
    password: String,
}

async fn login_form(
    State(state): State<AppState>,
    page: PageCtx,
    CsrfCookie(existing): CsrfCookie,
) -> Result<Response, AppError> {
    let (csrf, set) = anonymous_csrf(existing, state.config().cookie_secure);
    Ok(with_cookie(
        render(&LoginPage {
            page,
            csrf,
            employee_no: String::new(),
            error: None,
        })?,
        set,
    ))
}

async fn login(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    GuestForm(form): GuestForm<LoginForm>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    crate::auth::guard_login(&state, &meta.ip).await?;
    let result = state
        .accounts()
        .staff_login(&form.employee_no, &form.password, &meta, &mut rng)
        .await;
    crate::auth::note_login(&state, &meta.ip, &result).await?;
    match result {
        Ok(done) => Ok(with_cookie(
            see_other("/staff"),
            session_cookie(&done.token, state.config().cookie_secure),
        )),
        Err(
            error @ (IdentityError::BadCredentials
            | IdentityError::LockedOut { .. }
            | IdentityError::TooManyAttempts { .. }
            | IdentityError::Disabled),
        ) => {
            let status = if matches!(
                error,
                IdentityError::LockedOut { .. } | IdentityError::TooManyAttempts { .. }
            ) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::UNAUTHORIZED
            };
            let message = identity_message(page.tr, &error);
            let mut response = render(&LoginPage {
                page,
                csrf: form.csrf,
                employee_no: form.employee_no,
                error: Some(message),
            })?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

/// Staff land on their own department.
async fn own_department(
    State(state): State<AppState>,
    who: PageStaff,
) -> Result<Response, AppError> {
    let me = state.accounts().staff(who.session()).await?;
    Ok(see_other(&format!(
        "/staff/departments/{}",
        me.department_code
    )))
}

#[derive(Template)]
#[template(path = "staff/departments.html")]
struct DepartmentsPage {
    page: PageCtx,
    departments: Vec<Department>,
}

/// The departments this staff member may look into: their own; their region's for supervisors and
/// auditors; every one for platform administrators.
async fn departments(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
) -> Result<Response, AppError> {
    let departments = state.accounts().visible_departments(&who.principal).await?;
    render(&DepartmentsPage { page, departments })
}

struct Loaded {
    me: Staff,
    department_code: String,
    department_name: String,
    staff: Vec<Staff>,
    posts: Vec<Post>,
    can_manage: bool,
    /// The staff member's department issues licences: the 证照管理 link is shown.
    issues_licences: bool,
}

async fn load(state: &AppState, who: &PageStaff, code: &str) -> Result<Loaded, AppError> {
    let me = state.accounts().staff(who.session()).await?;
    let (staff, posts) = state
        .accounts()
        .department_staff(&who.principal, code)
        .await?;
    let department = yiwang_identity::service::department(state.db(), code).await?;
    let can_manage = state
        .accounts()
        .may_manage_staff(&who.principal, code)
        .await?;
    let issues_licences = state.licenses().issuing_types(&who.principal).await.is_ok();
    Ok(Loaded {
        me,
        department_code: department.code,
        department_name: department.name,
        staff,
        posts,
        can_manage,
        issues_licences,
    })
}

#[derive(Template)]
#[template(path = "staff/workspace.html")]
struct WorkspacePage {
    page: PageCtx,
    me: Staff,
    department_code: String,
    department_name: String,
    staff: Vec<Staff>,
    posts: Vec<Post>,
    can_manage: bool,
    issues_licences: bool,
    csrf: String,
    errors: FormErrors,
    notice: Option<&'static str>,
    roles: Vec<Role>,
}

impl WorkspacePage {
    fn new(
        page: PageCtx,
        loaded: Loaded,
        csrf: String,
        errors: FormErrors,
        notice: Option<&'static str>,
    ) -> Self {
        Self {
            page,
            me: loaded.me,
            department_code: loaded.department_code,
            department_name: loaded.department_name,
            staff: loaded.staff,
            posts: loaded.posts,
            can_manage: loaded.can_manage,
            issues_licences: loaded.issues_licences,
            csrf,
            errors,
            notice,
            roles: Role::ALL.to_vec(),
        }
    }

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "templates pass references"
    )]
    fn role_name(&self, role: &Role) -> &'static str {
        self.page.t(&format!("roles.{}", role.code()))
    }

    /// The signed-in staff member has one of these roles (codes separated by spaces), for the
    /// workbench links.
    fn has_any(&self, codes: &str) -> bool {
        codes
            .split_whitespace()
            .any(|code| self.me.roles.iter().any(|r| r.code() == code))
    }
}

fn show(
    page: PageCtx,
    loaded: Loaded,
    csrf: String,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let mut response = render(&WorkspacePage::new(page, loaded, csrf, errors, None))?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WorkspaceQuery {
    added: Option<String>,
}

async fn workspace(
    State(state): State<AppState>,
    page: PageCtx,
    who: PageStaff,
    IdPath(code): IdPath<String>,
    Query(query): Query<WorkspaceQuery>,
) -> Result<Response, AppError> {
    let loaded = load(&state, &who, &code).await?;
    render(&WorkspacePage::new(
        page,
        loaded,
        who.session().csrf_token.clone(),
        FormErrors::default(),
        query.added.map(|_| "staff_page.added"),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AddForm {
    kind: String,
    code: String,
    name: String,
    duties: String,
    employee_no: String,
    mobile: String,
    password: String,
    role: String,
    post: String,
}

async fn add(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath(code): IdPath<String>,
    CsrfForm(form): CsrfForm<AddForm>,
) -> Result<Response, AppError> {
    let loaded = load(&state, &who, &code).await?;
    let principal = &who.principal;
    let actor = staff_actor(&loaded.me);
    let tr = page.tr;
    let result = if form.kind == "post" {
        let input = PostInput {
            code: form.code.clone(),
            name: form.name.clone(),
            duties: form.duties.clone(),
        };
        state
            .accounts()
            .create_post(principal, &actor, &code, &input, &meta)
            .await
            .map(|_| ())
    } else {
        let raw = RawNewStaff {
            employee_no: form.employee_no.clone(),
            name: form.name.clone(),
            mobile: form.mobile.clone(),
            password: form.password.clone(),
            roles: [form.role.clone()]
                .into_iter()
                .filter(|r| !r.is_empty())
                .collect(),
            posts: [form.post.clone()]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect(),
        };
        match NewStaff::parse(&raw) {
            Err(errors) => {
                return show(
                    page,
                    loaded,
                    who.session().csrf_token.clone(),
                    FormErrors::from_fields(tr, &errors),
                );
            }
            Ok(new) => {
                let mut rng = request_rng();
                state
                    .accounts()
                    .create_staff(principal, &actor, &code, &new, &meta, &mut rng)
                    .await
                    .map(|_| ())
            }
        }
    };
    match result {
        Ok(()) => Ok(see_other(&format!("/staff/departments/{code}?added=1"))),
        Err(error @ (IdentityError::Invalid { .. } | IdentityError::Duplicate { .. })) => {
            let field = match &error {
                IdentityError::Invalid { field, .. } | IdentityError::Duplicate { field } => *field,
                _ => "form",
            };
            show(
                page,
                loaded,
                who.session().csrf_token.clone(),
                FormErrors::one(field, identity_message(tr, &error)),
            )
        }
        Err(other) => Err(other.into()),
    }
}

/// Checkbox forms repeat the `roles` key; read every value.
fn roles_form(pairs: &[(String, String)]) -> Vec<Role> {
    pairs
        .iter()
        .filter(|(key, _)| key == "roles")
        .filter_map(|(_, value)| Role::parse(value))
        .collect()
}

async fn set_roles(
    State(state): State<AppState>,
    page: PageCtx,
    Client(meta): Client,
    who: PageStaff,
    IdPath((code, id)): IdPath<(String, String)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let roles = roles_form(&pairs);
    let me = state.accounts().staff(who.session()).await?;
    match state
        .accounts()
        .set_staff_roles(&who.principal, &staff_actor(&me), &id, &roles, &meta)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/staff/departments/{code}?added=1"))),
        Err(error @ IdentityError::Invalid { .. }) => {
            let loaded = load(&state, &who, &code).await?;
            let errors = FormErrors::one("roles", identity_message(page.tr, &error));
            show(page, loaded, who.session().csrf_token.clone(), errors)
        }
        Err(other) => Err(other.into()),
    }
}
