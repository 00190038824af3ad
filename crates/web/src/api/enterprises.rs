//! Enterprises over JSON: register (as legal representative), list mine, view (representative or agent),
//! authorise and revoke agents.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_identity::model::{Agent, Enterprise, EnterpriseRelation};

use crate::auth::{ApiUser, Client, MaybeUser, request_rng};
use crate::error::AppError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/enterprises", get(mine).post(register))
        .route("/api/v1/enterprises/{id}", get(view))
        .route("/api/v1/enterprises/{id}/agents", post(add_agent))
        .route(
            "/api/v1/enterprises/{id}/agents/{person}",
            delete(remove_agent),
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentDto {
    pub person_id: String,
    pub name: String,
    pub mobile: String,
    pub granted_at: String,
}

impl From<Agent> for AgentDto {
    fn from(a: Agent) -> Self {
        Self {
            person_id: a.person_public_id,
            name: a.name,
            mobile: a.mobile_masked,
            granted_at: a.granted_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseDto {
    pub id: String,
    pub uscc: String,
    pub name: String,
    pub legal_representative: String,
    /// `legal_representative` or `agent`: how the caller relates to it.
    pub relation: String,
    /// Listed for the legal representative only.
    pub agents: Vec<AgentDto>,
}

fn dto(e: Enterprise, relation: EnterpriseRelation, agents: Vec<Agent>) -> EnterpriseDto {
    EnterpriseDto {
        id: e.public_id,
        uscc: e.uscc.as_str().to_owned(),
        name: e.name,
        legal_representative: e.legal_representative_name,
        relation: match relation {
            EnterpriseRelation::LegalRepresentative => "legal_representative",
            EnterpriseRelation::Agent => "agent",
        }
        .to_owned(),
        agents: agents.into_iter().map(AgentDto::from).collect(),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct RegisterEnterprise {
    /// 统一社会信用代码 (18 characters).
    pub uscc: String,
    pub name: String,
}

/// Register an enterprise; the caller becomes its legal representative.
#[utoipa::path(post, path = "/api/v1/enterprises", tag = "enterprises", request_body = RegisterEnterprise,
    responses((status = 201, body = EnterpriseDto), (status = 401, body = crate::api::ApiErrorBody), (status = 409, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn register(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Json(body): Json<RegisterEnterprise>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    let enterprise = state
        .accounts()
        .register_enterprise(&user.session, &body.uscc, &body.name, &meta, &mut rng)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(dto(
            enterprise,
            EnterpriseRelation::LegalRepresentative,
            Vec::new(),
        )),
    )
        .into_response())
}

/// Enterprises the caller represents or is an agent of.
#[utoipa::path(get, path = "/api/v1/enterprises", tag = "enterprises",
    responses((status = 200, body = Vec<EnterpriseDto>), (status = 401, body = crate::api::ApiErrorBody)))]
async fn mine(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<EnterpriseDto>>, AppError> {
    let list = state.accounts().my_enterprises(&user.session).await?;
    Ok(Json(
        list.into_iter()
            .map(|(e, r)| dto(e, r, Vec::new()))
            .collect(),
    ))
}

/// One enterprise, for its representative or a current agent.
#[utoipa::path(get, path = "/api/v1/enterprises/{id}", tag = "enterprises", params(("id" = String, Path)),
    responses((status = 200, body = EnterpriseDto), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody)))]
async fn view(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<EnterpriseDto>, AppError> {
    let view = state
        .accounts()
        .enterprise(user.as_ref().map(|(s, _)| s), &id)
        .await?;
    Ok(Json(dto(view.enterprise, view.relation, view.agents)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddAgent {
    /// The agent's mobile number or resident ID (they must have registered).
    pub login: String,
}

/// Authorise an agent (legal representative only).
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/agents", tag = "enterprises", params(("id" = String, Path)), request_body = AddAgent,
    responses((status = 201, body = AgentDto), (status = 403, body = crate::api::ApiErrorBody), (status = 409, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn add_agent(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Path(id): Path<String>,
    Json(body): Json<AddAgent>,
) -> Result<Response, AppError> {
    let agent = state
        .accounts()
        .authorize_agent(&user.session, &id, &body.login, &meta)
        .await?;
    Ok((StatusCode::CREATED, Json(AgentDto::from(agent))).into_response())
}

/// Revoke an agent (legal representative only); the agent loses access at once.
#[utoipa::path(delete, path = "/api/v1/enterprises/{id}/agents/{person}", tag = "enterprises", params(("id" = String, Path), ("person" = String, Path)),
    responses((status = 204), (status = 403, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn remove_agent(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Path((id, person)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    state
        .accounts()
        .revoke_agent(&user.session, &id, &person, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
