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
use yiwang_identity::model::{Agent, Enterprise, EnterpriseClaim, EnterpriseRelation};
use yiwang_identity::service::enterprise::{ClaimDecision, EnterpriseRegistration};

use crate::auth::{ApiUser, Client, MaybeUser, request_rng};
use crate::error::AppError;
use crate::extract::ApiStaff;
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
        .route("/api/v1/enterprise-claims", get(my_claims))
        .route("/api/v1/staff/enterprise-claims", get(pending_claims))
        .route(
            "/api/v1/staff/enterprise-claims/{id}/decision",
            post(decide_claim),
        )
}

/// A claim to represent an enterprise that the enterprise register could not confirm.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimDto {
    pub id: String,
    pub uscc: String,
    pub name: String,
    /// The claimant, masked.
    pub person_name: String,
    pub person_mobile: String,
    pub person_resident_id: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// Why the register did not decide: `not_listed` or `register_unavailable`.
    pub register_note: String,
    pub decision_note: String,
    pub created_at: String,
    pub decided_at: Option<String>,
}

impl From<EnterpriseClaim> for ClaimDto {
    fn from(c: EnterpriseClaim) -> Self {
        Self {
            id: c.public_id,
            uscc: c.uscc.as_str().to_owned(),
            name: c.name,
            person_name: c.person_name,
            person_mobile: c.person_mobile_masked,
            person_resident_id: c.person_resident_id_masked,
            status: c.status.code().to_owned(),
            register_note: c.register_note,
            decision_note: c.decision_note,
            created_at: c.created_at.to_rfc3339(),
            decided_at: c.decided_at.map(|t| t.to_rfc3339()),
        }
    }
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

/// Register an enterprise the caller legally represents. The claim is checked against the enterprise
/// register with the account's name and resident ID: confirmed → 201 with the enterprise; not listed or
/// register unavailable → 202 with the claim, held for a clerk; the register names someone else → 422
/// `enterprise_register_mismatch`. Codes of government organs (starting with 1) → 422
/// `uscc_government_organ`.
#[utoipa::path(post, path = "/api/v1/enterprises", tag = "enterprises", request_body = RegisterEnterprise,
    responses((status = 201, body = EnterpriseDto, description = "confirmed by the register"),
        (status = 202, body = ClaimDto, description = "held for a clerk's check"),
        (status = 401, body = crate::api::ApiErrorBody), (status = 409, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn register(
    State(state): State<AppState>,
    Client(meta): Client,
    user: ApiUser,
    Json(body): Json<RegisterEnterprise>,
) -> Result<Response, AppError> {
    let mut rng = request_rng();
    let outcome = state
        .accounts()
        .register_enterprise(&user.session, &body.uscc, &body.name, &meta, &mut rng)
        .await?;
    Ok(match outcome {
        EnterpriseRegistration::Registered(enterprise) => (
            StatusCode::CREATED,
            Json(dto(
                enterprise,
                EnterpriseRelation::LegalRepresentative,
                Vec::new(),
            )),
        )
            .into_response(),
        EnterpriseRegistration::Held(claim) => {
            (StatusCode::ACCEPTED, Json(ClaimDto::from(claim))).into_response()
        }
    })
}

/// The caller's own enterprise claims, newest first.
#[utoipa::path(get, path = "/api/v1/enterprise-claims", tag = "enterprises",
    responses((status = 200, body = Vec<ClaimDto>), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody)))]
async fn my_claims(
    State(state): State<AppState>,
    user: ApiUser,
) -> Result<Json<Vec<ClaimDto>>, AppError> {
    let claims = state.accounts().my_enterprise_claims(&user.session).await?;
    Ok(Json(claims.into_iter().map(ClaimDto::from).collect()))
}

/// Claims waiting for a clerk's check, oldest first (window staff and administrators).
#[utoipa::path(get, path = "/api/v1/staff/enterprise-claims", tag = "enterprises",
    responses((status = 200, body = Vec<ClaimDto>), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody)))]
async fn pending_claims(
    State(state): State<AppState>,
    who: ApiStaff,
) -> Result<Json<Vec<ClaimDto>>, AppError> {
    let claims = state
        .accounts()
        .pending_enterprise_claims(who.session())
        .await?;
    Ok(Json(claims.into_iter().map(ClaimDto::from).collect()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ClaimDecisionBody {
    /// `true` approves (the enterprise is created with the claimant as legal representative).
    pub approve: bool,
    /// What was checked, or why the claim is refused (at most 500 characters).
    pub note: String,
}

/// Decide a held claim after checking the business licence and the person. Callers without the right
/// get 403 before the claim is looked up; an unknown claim is 404 for clerks only.
#[utoipa::path(post, path = "/api/v1/staff/enterprise-claims/{id}/decision", tag = "enterprises", params(("id" = String, Path)), request_body = ClaimDecisionBody,
    responses((status = 200, body = ClaimDto), (status = 401, body = crate::api::ApiErrorBody), (status = 403, body = crate::api::ApiErrorBody),
        (status = 404, body = crate::api::ApiErrorBody), (status = 409, body = crate::api::ApiErrorBody), (status = 422, body = crate::api::ApiErrorBody)))]
async fn decide_claim(
    State(state): State<AppState>,
    Client(meta): Client,
    who: ApiStaff,
    Path(id): Path<String>,
    Json(body): Json<ClaimDecisionBody>,
) -> Result<Json<ClaimDto>, AppError> {
    let mut rng = request_rng();
    let decision = if body.approve {
        ClaimDecision::Approve
    } else {
        ClaimDecision::Reject
    };
    let claim = state
        .accounts()
        .decide_enterprise_claim(who.session(), &id, decision, &body.note, &meta, &mut rng)
        .await?;
    Ok(Json(ClaimDto::from(claim)))
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
