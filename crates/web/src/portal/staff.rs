//! Staff pages: log in with the employee number, and the department page (posts and staff; forms to add
//! them for those the policy allows).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{NewStaff, Post, PostInput, RawNewStaff, Role, Staff};
use yiwang_identity::service::staff::staff_actor;

use crate::auth::{
    Client, PageUser, anonymous_csrf, constant_time_eq, request_rng, session_cookie,
};
use crate::error::AppError;
use crate::page::PageCtx;
use crate::portal::account::{
    CsrfCookie, FormErrors, check_anonymous_csrf, identity_message, see_other, with_cookie,
};
use crate::portal::render;
use crate::prefs::safe_next;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_form).post(login))
        .route("/staff", get(workspace).post(add))
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
    CsrfCookie(existing): CsrfCookie,
    Client(meta): Client,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    check_anonymous_csrf(existing, &form.csrf)?;
    let mut rng = request_rng();
    match state
        .accounts()
        .staff_login(&form.employee_no, &form.password, &meta, &mut rng)
        .await
    {
        Ok(done) => Ok(with_cookie(
            see_other(&safe_next(Some("/staff"))),
            session_cookie(&done.token, state.config().cookie_secure),
        )),
        Err(
            error @ (IdentityError::BadCredentials
            | IdentityError::LockedOut { .. }
            | IdentityError::Disabled),
        ) => {
            let status = if matches!(error, IdentityError::LockedOut { .. }) {
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

#[derive(Template)]
#[template(path = "staff/workspace.html")]
struct WorkspacePage {
    page: PageCtx,
    me: Staff,
    department_name: String,
    staff: Vec<Staff>,
    posts: Vec<Post>,
    can_manage: bool,
    csrf: String,
    errors: FormErrors,
    notice: Option<&'static str>,
    roles: Vec<Role>,
}

impl WorkspacePage {
    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "templates pass references"
    )]
    fn role_name(&self, role: &Role) -> &'static str {
        self.page.t(&format!("roles.{}", role.code()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WorkspaceQuery {
    added: Option<String>,
}

async fn load(
    state: &AppState,
    user: &PageUser,
) -> Result<(Staff, String, Vec<Staff>, Vec<Post>, bool), AppError> {
    let me = state.accounts().staff(&user.session).await?;
    let principal = state.accounts().principal(Some(&user.session)).await?;
    let department = yiwang_identity::service::department(state.db(), &me.department_code).await?;
    let (staff, posts) = state
        .accounts()
        .department_staff(&principal, &me.department_code)
        .await?;
    let can_manage = me
        .roles
        .iter()
        .any(|r| matches!(r, Role::DepartmentAdmin | Role::PlatformAdmin));
    Ok((me, department.name, staff, posts, can_manage))
}

async fn workspace(
    State(state): State<AppState>,
    page: PageCtx,
    user: PageUser,
    Query(query): Query<WorkspaceQuery>,
) -> Result<Response, AppError> {
    let (me, department_name, staff, posts, can_manage) = load(&state, &user).await?;
    render(&WorkspacePage {
        page,
        me,
        department_name,
        staff,
        posts,
        can_manage,
        csrf: user.session.csrf_token,
        errors: FormErrors::default(),
        notice: query.added.map(|_| "staff_page.added"),
        roles: Role::ALL.to_vec(),
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AddForm {
    csrf: String,
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
    user: PageUser,
    Form(form): Form<AddForm>,
) -> Result<Response, AppError> {
    if !constant_time_eq(&form.csrf, &user.session.csrf_token) {
        return Err(AppError::Forbidden {
            code: "csrf_token_invalid".to_owned(),
        });
    }
    let (me, department_name, staff, posts, can_manage) = load(&state, &user).await?;
    let principal = state.accounts().principal(Some(&user.session)).await?;
    let actor = staff_actor(&me);
    let tr = page.tr;
    let result = if form.kind == "post" {
        state
            .accounts()
            .create_post(
                &principal,
                &actor,
                &me.department_code,
                &PostInput {
                    code: form.code.clone(),
                    name: form.name.clone(),
                    duties: form.duties.clone(),
                },
                &meta,
            )
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
                let errors = FormErrors::from_fields(tr, &errors);
                return show_errors(
                    page,
                    me,
                    department_name,
                    staff,
                    posts,
                    can_manage,
                    user.session.csrf_token,
                    errors,
                );
            }
            Ok(new) => {
                let mut rng = request_rng();
                state
                    .accounts()
                    .create_staff(
                        &principal,
                        &actor,
                        &me.department_code,
                        &new,
                        &meta,
                        &mut rng,
                    )
                    .await
                    .map(|_| ())
            }
        }
    };
    match result {
        Ok(()) => Ok(see_other("/staff?added=1")),
        Err(error @ (IdentityError::Invalid { .. } | IdentityError::Duplicate { .. })) => {
            let field = match &error {
                IdentityError::Invalid { field, .. } | IdentityError::Duplicate { field } => *field,
                _ => "form",
            };
            let errors = FormErrors::one(field, identity_message(tr, &error));
            show_errors(
                page,
                me,
                department_name,
                staff,
                posts,
                can_manage,
                user.session.csrf_token,
                errors,
            )
        }
        Err(other) => Err(other.into()),
    }
}

#[expect(clippy::too_many_arguments, reason = "one page's worth of parts")]
fn show_errors(
    page: PageCtx,
    me: Staff,
    department_name: String,
    staff: Vec<Staff>,
    posts: Vec<Post>,
    can_manage: bool,
    csrf: String,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let mut response = render(&WorkspacePage {
        page,
        me,
        department_name,
        staff,
        posts,
        can_manage,
        csrf,
        errors,
        notice: None,
        roles: Role::ALL.to_vec(),
    })?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}
