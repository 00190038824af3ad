//! Cases over JSON: applying (form, material files, submission), following one's cases, the public
//! progress query and disclosure; staff inboxes, claiming and acting on tasks, special procedures,
//! extensions, counter registration, supervision; publishing workflow definitions.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_cases::model::{
    Act, ActInput, Case, CaseEvent, CaseId, CaseMaterial, CaseStatus, InboxCounts, InboxEntry,
    MaterialFile, SpecialKind, Task, TaskId, Warning,
};
use yiwang_cases::repo::{CaseFilter, InboxFilter};
use yiwang_cases::workflow::{StepAction, WorkflowDef};
use yiwang_cases::{Application, CaseError, CaseView, Origin, PublicProgress};
use yiwang_catalog::model::ItemId;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{Page, PageRequest, ResidentId};

use crate::api::ApiErrorBody;
use crate::api::ApiQuery;
use crate::auth::{Client, request_rng};
use crate::error::{AppError, invalid};
use crate::extract::{ApiCaller, ApiStaff, Caller, IdPath};
use crate::prefs::encode_component;
use crate::state::AppState;
use crate::throttle::Scope;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/items/{id}/application", get(application_form))
        .route(
            "/api/v1/items/{id}/workflow",
            get(get_workflow).put(publish_workflow),
        )
        .route("/api/v1/materials", get(my_materials))
        .route("/api/v1/materials/{id}", get(download_material))
        .route("/api/v1/cases", get(my_cases).post(apply))
        .route("/api/v1/cases/{key}", get(get_case))
        .route("/api/v1/cases/{key}/withdraw", post(withdraw))
        .route("/api/v1/cases/{key}/resubmit", post(resubmit))
        .route("/api/v1/cases/{key}/extension", post(request_extension))
        .route(
            "/api/v1/cases/{key}/extension/decision",
            post(decide_extension),
        )
        .route("/api/v1/progress", get(progress))
        .route("/api/v1/disclosures", get(disclosures))
        .route("/api/v1/inbox", get(inbox))
        .route("/api/v1/tasks/{id}/claim", post(claim).delete(release))
        .route("/api/v1/tasks/{id}/act", post(act))
        .route("/api/v1/tasks/{id}/resume", post(resume))
        .route("/api/v1/counter/cases", post(register_at_counter))
        .route("/api/v1/supervision", get(supervision))
}

/// Routes that take a file; mounted with the material body limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/api/v1/materials", post(upload_material))
}

fn origin(meta: &yiwang_identity::model::ClientMeta) -> Origin {
    Origin {
        ip: meta.ip.clone(),
    }
}

async fn case_id(state: &AppState, principal: &Principal, key: &str) -> Result<CaseId, AppError> {
    state
        .cases()
        .find(principal, key)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub status: Option<String>,
    pub warning: Option<String>,
    pub q: Option<String>,
    pub mine: Option<String>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

impl ListQuery {
    fn page(&self) -> Result<PageRequest, AppError> {
        PageRequest::new(self.page, self.page_size)
            .map_err(|e| invalid("page", "page_invalid", &e.to_string()))
    }

    fn filter(&self) -> Result<CaseFilter, AppError> {
        Ok(CaseFilter {
            status: match self.status.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(
                    CaseStatus::parse(s)
                        .ok_or_else(|| invalid("status", "status_invalid", "unknown status"))?,
                ),
            },
            warning: self.warning()?,
            text: self.q.clone(),
            item: None,
        })
    }

    fn warning(&self) -> Result<Option<Warning>, AppError> {
        match self.warning.as_deref().filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => Warning::parse(s)
                .map(Some)
                .ok_or_else(|| invalid("warning", "warning_invalid", "unknown warning level")),
        }
    }
}

// ------------------------------------------------------------------------------------- bodies

/// A case as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOut {
    /// Use in addresses (`/api/v1/cases/{id}`); the case number works too.
    pub id: String,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub case: Case,
}

impl From<Case> for CaseOut {
    fn from(case: Case) -> Self {
        Self {
            id: case.public_id.clone(),
            case,
        }
    }
}

/// The applicant's confirmation: the number and the code to follow the case without logging in.
#[derive(Debug, Serialize, ToSchema)]
pub struct Submitted {
    pub id: String,
    pub case_no: String,
    pub query_code: String,
    pub status: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accept_due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseList {
    pub items: Vec<CaseOut>,
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

impl From<Page<Case>> for CaseList {
    fn from(page: Page<Case>) -> Self {
        Self {
            total: page.total,
            page: page.page,
            page_size: page.page_size,
            items: page.items.into_iter().map(CaseOut::from).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    pub id: i64,
    #[schema(value_type = Object)]
    #[serde(flatten)]
    pub task: Task,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseOut,
    pub workflow_version: u32,
    /// Tasks (staff only).
    pub tasks: Vec<TaskOut>,
    /// History (the public part for the applicant).
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<CaseEvent>,
    #[schema(value_type = Vec<Object>)]
    pub materials: Vec<CaseMaterial>,
    /// (label, answer) pairs; personal identifiers masked for staff.
    pub answers: Vec<(String, String)>,
    /// Tasks the calling staff member can act on now.
    pub actionable: Vec<i64>,
}

impl From<CaseView> for CaseDetail {
    fn from(view: CaseView) -> Self {
        Self {
            workflow_version: view.workflow.version_no,
            tasks: view
                .tasks
                .into_iter()
                .map(|t| TaskOut {
                    id: t.id.get(),
                    task: t,
                })
                .collect(),
            events: view.events,
            materials: view.materials,
            answers: view.answers,
            actionable: view.actionable.iter().map(|t| t.get()).collect(),
            case: view.case.into(),
        }
    }
}

// ------------------------------------------------------------------------------- applying

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationForm {
    pub item: i64,
    pub item_name: String,
    pub workflow_version: u32,
    pub instant: bool,
    /// The statement to sign for items on commitment (告知承诺), and the materials it replaces.
    pub commitment: Option<CommitmentOut>,
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<yiwang_cases::form::FieldDef>,
    pub materials: Vec<MaterialOut>,
    pub accepted_file_types: Vec<&'static str>,
    pub max_file_bytes: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommitmentOut {
    pub statement: String,
    pub replaces: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaterialOut {
    pub name: String,
    pub mandatory: bool,
    pub original: u32,
    pub copies: u32,
}

/// What to fill in and upload to apply for an item.
#[utoipa::path(get, path = "/api/v1/items/{id}/application", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = ApplicationForm), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "`item_no_workflow` or `item_not_in_service`")))]
async fn application_form(
    State(state): State<AppState>,
    IdPath(id): IdPath<ItemId>,
) -> Result<Json<ApplicationForm>, AppError> {
    let (guide, workflow) = state.cases().application_form(id).await?;
    let def = workflow.definition;
    Ok(Json(ApplicationForm {
        item: guide.item.id.get(),
        item_name: guide.version.content.name.clone(),
        workflow_version: workflow.version_no,
        instant: def.instant,
        commitment: def.commitment.map(|c| CommitmentOut {
            statement: c.statement,
            replaces: c.replaces,
        }),
        fields: def.form,
        materials: guide
            .version
            .content
            .materials
            .iter()
            .map(|m| MaterialOut {
                name: m.name.clone(),
                mandatory: m.mandatory,
                original: m.original,
                copies: m.copies,
            })
            .collect(),
        accepted_file_types: yiwang_cases::files::accepted_extensions(),
        max_file_bytes: state.cases().max_file_bytes(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileOut {
    /// Use as `file` when applying.
    pub id: String,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// SM3 digest, hex.
    pub sm3: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<MaterialFile> for FileOut {
    fn from(f: MaterialFile) -> Self {
        Self {
            id: f.public_id,
            name: f.name,
            content_type: f.content_type,
            size: f.size,
            sm3: f.digest,
            created_at: f.created_at,
        }
    }
}

/// The multipart form of a material upload.
#[derive(Debug, ToSchema)]
pub struct UploadForm {
    /// The file: PDF, JPEG, PNG or OFD, its content matching its name's extension.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Staff only: the resident ID of the person at the counter the file is for.
    pub resident_id: Option<String>,
}

/// Upload a material file (multipart field `file`; PDF, JPEG, PNG or OFD). Window staff upload for the
/// person they serve with the field `resident_id`.
#[utoipa::path(post, path = "/api/v1/materials", tag = "cases",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = FileOut), (status = 401, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody, description = "`file_too_large`, `file_type_refused`, `file_content_mismatch`")))]
async fn upload_material(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    multipart: Multipart,
) -> Result<(StatusCode, Json<FileOut>), AppError> {
    crate::throttle::guard_upload(&state, &meta.ip, &principal).await?;
    let upload = crate::upload::read_upload(multipart).await?;
    let (name, bytes) = upload
        .file
        .ok_or_else(|| invalid("file", "file_missing", "no file was sent"))?;
    let on_behalf = match upload
        .fields
        .iter()
        .find(|(k, _)| k == "resident_id")
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
    {
        Some(text) => {
            let id = ResidentId::parse(text)
                .map_err(|e| invalid("resident_id", "resident_id_invalid", &e.to_string()))?;
            Some(state.cases().person_by_resident_id(&id).await?)
        }
        None => None,
    };
    let file = state
        .cases()
        .upload_material(
            &principal,
            on_behalf,
            &name,
            Bytes::from(bytes),
            &mut request_rng(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(file.into())))
}

/// The caller's kept files (newest first), to reuse in a new application.
#[utoipa::path(get, path = "/api/v1/materials", tag = "cases",
    responses((status = 200, body = Vec<FileOut>), (status = 401, body = ApiErrorBody)))]
async fn my_materials(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
) -> Result<Json<Vec<FileOut>>, AppError> {
    let files = state.cases().my_files(&principal).await?;
    Ok(Json(files.into_iter().map(FileOut::from).collect()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DownloadQuery {
    /// The case through which staff read the file.
    pub case: Option<String>,
}

/// A material file's content: its owner, or staff through a case (`?case=`) they may see.
#[utoipa::path(get, path = "/api/v1/materials/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = ApiErrorBody)))]
async fn download_material(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    IdPath(id): IdPath<String>,
    ApiQuery(query): ApiQuery<DownloadQuery>,
) -> Result<Response, AppError> {
    let case = match query.case.as_deref() {
        Some(key) => Some(case_id(&state, &principal, key).await?),
        None => None,
    };
    let (file, content) = state.cases().file_content(&principal, case, &id).await?;
    let mut response = content.into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&file.content_type) {
        headers.insert(CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename*=UTF-8''{}",
        encode_component(&file.name)
    )) {
        headers.insert(CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct MaterialRef {
    /// The material's name as in the guide.
    pub material: String,
    /// A file id from `POST /api/v1/materials`.
    pub file: String,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ApplyBody {
    pub item: i64,
    /// Public id of an enterprise the caller represents or acts for.
    pub enterprise: Option<String>,
    pub answers: BTreeMap<String, String>,
    pub contact_email: String,
    pub commitment_signed: bool,
    pub materials: Vec<MaterialRef>,
}

impl ApplyBody {
    fn application(self) -> Application {
        Application {
            item: Some(ItemId::new(self.item)),
            enterprise: self.enterprise.filter(|e| !e.trim().is_empty()),
            answers: self.answers,
            contact_email: self.contact_email,
            commitment_signed: self.commitment_signed,
            materials: self
                .materials
                .into_iter()
                .map(|m| (m.material, m.file))
                .collect(),
        }
    }
}

fn submitted(case: Case) -> Submitted {
    Submitted {
        id: case.public_id,
        case_no: case.case_no.unwrap_or_default(),
        query_code: case.query_code.unwrap_or_default(),
        status: case.status.code().to_owned(),
        accept_due_at: case.accept_due_at,
    }
}

/// Apply: the answers, the files and (for 告知承诺 items) the signed promise are checked and the case is
/// submitted at once. Nothing is stored when anything is wrong.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = ApplyBody,
    responses((status = 201, body = Submitted), (status = 401, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody, description = "the item (or a kept file) does not exist"),
        (status = 422, body = ApiErrorBody, description = "`field` names the first bad answer; `reason` lists every one")))]
async fn apply(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    Json(body): Json<ApplyBody>,
) -> Result<(StatusCode, Json<Submitted>), AppError> {
    let case = state
        .cases()
        .apply(
            &principal,
            &body.application(),
            &origin(&meta),
            &mut request_rng(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(submitted(case))))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CounterBody {
    /// The applicant's resident ID (they must be registered).
    pub resident_id: String,
    #[serde(flatten)]
    pub application: ApplyBody,
}

/// Window staff register an application for a person at the counter.
#[utoipa::path(post, path = "/api/v1/counter/cases", tag = "cases", request_body = CounterBody,
    responses((status = 201, body = Submitted), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn register_at_counter(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    Json(body): Json<CounterBody>,
) -> Result<(StatusCode, Json<Submitted>), AppError> {
    let resident_id = ResidentId::parse(&body.resident_id)
        .map_err(|e| invalid("resident_id", "resident_id_invalid", &e.to_string()))?;
    let case = state
        .cases()
        .register_at_counter(
            &principal,
            &resident_id,
            &body.application.application(),
            &origin(&meta),
            &mut request_rng(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(submitted(case))))
}

/// The caller's cases (their own and their enterprises'), newest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases",
    params(("status" = Option<String>, Query), ("q" = Option<String>, Query), ("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query)),
    responses((status = 200, body = CaseList), (status = 401, body = ApiErrorBody)))]
async fn my_cases(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<CaseList>, AppError> {
    let page = state
        .cases()
        .my_cases(&principal, &query.filter()?, query.page()?)
        .await?;
    Ok(Json(page.into()))
}

/// One case: the applicant sees its public history; staff see tasks and opinions (reading is audited).
#[utoipa::path(get, path = "/api/v1/cases/{key}", tag = "cases", params(("key" = String, Path, description = "id or case number")),
    responses((status = 200, body = CaseDetail), (status = 404, body = ApiErrorBody)))]
async fn get_case(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
) -> Result<Json<CaseDetail>, AppError> {
    let id = case_id(&state, &principal, &key).await?;
    let view = state.cases().view(&principal, id, &origin(&meta)).await?;
    Ok(Json(view.into()))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ReasonBody {
    pub reason: String,
}

/// The applicant withdraws the application before a decision.
#[utoipa::path(post, path = "/api/v1/cases/{key}/withdraw", tag = "cases", params(("key" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseOut), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
async fn withdraw(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<CaseOut>, AppError> {
    let id = case_id(&state, &principal, &key).await?;
    let case = state
        .cases()
        .withdraw(&principal, id, &body.reason, &origin(&meta))
        .await?;
    Ok(Json(case.into()))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ResubmitBody {
    /// New answers (all of them), if the notice asked for corrections.
    pub answers: Option<BTreeMap<String, String>>,
    /// Files added for the missing materials.
    pub materials: Vec<MaterialRef>,
}

/// The applicant supplies what the supplement notice listed.
#[utoipa::path(post, path = "/api/v1/cases/{key}/resubmit", tag = "cases", params(("key" = String, Path)), request_body = ResubmitBody,
    responses((status = 200, body = CaseOut), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn resubmit(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Json(body): Json<ResubmitBody>,
) -> Result<Json<CaseOut>, AppError> {
    let id = case_id(&state, &principal, &key).await?;
    let materials: Vec<(String, String)> = body
        .materials
        .into_iter()
        .map(|m| (m.material, m.file))
        .collect();
    let case = state
        .cases()
        .resubmit(
            &principal,
            id,
            body.answers.as_ref(),
            &materials,
            &origin(&meta),
            &mut request_rng(),
        )
        .await?;
    Ok(Json(case.into()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProgressQuery {
    pub case_no: String,
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProgressOut {
    pub case_no: String,
    pub item_name: String,
    pub department_name: String,
    pub status: String,
    pub outcome: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub submitted_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accepted_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decision_due_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub concluded_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<CaseEvent>,
}

impl From<PublicProgress> for ProgressOut {
    fn from(p: PublicProgress) -> Self {
        Self {
            case_no: p.case_no,
            item_name: p.item_name,
            department_name: p.department_name,
            status: p.status.code().to_owned(),
            outcome: p.outcome.map(|o| o.code().to_owned()),
            submitted_at: p.submitted_at,
            accepted_at: p.accepted_at,
            decision_due_at: p.decision_due_at,
            concluded_at: p.concluded_at,
            events: p.events,
        }
    }
}

/// Follow a case by its number and query code, without logging in.
#[utoipa::path(get, path = "/api/v1/progress", tag = "cases",
    params(("case_no" = String, Query), ("code" = String, Query)),
    responses((status = 200, body = ProgressOut), (status = 422, body = ApiErrorBody, description = "`case_query_mismatch`")))]
async fn progress(
    State(state): State<AppState>,
    Client(meta): Client,
    ApiQuery(query): ApiQuery<ProgressQuery>,
) -> Result<Json<ProgressOut>, AppError> {
    // The same count as the page: guessing pairs is slowed down per address.
    let now = state.clock().now();
    let throttles = state.throttles();
    throttles.check(Scope::Progress, &meta.ip, now).await?;
    let progress = state
        .cases()
        .public_progress(&query.case_no, &query.code)
        .await;
    if matches!(progress, Err(CaseError::QueryMismatch)) {
        throttles
            .record_failure(Scope::Progress, &meta.ip, now)
            .await?;
    }
    Ok(Json(progress?.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisclosureList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<yiwang_cases::model::Disclosure>,
    pub total: u64,
}

/// Granted decisions (结果公示), personal names masked.
#[utoipa::path(get, path = "/api/v1/disclosures", tag = "cases",
    params(("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query)),
    responses((status = 200, body = DisclosureList)))]
async fn disclosures(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<DisclosureList>, AppError> {
    let page = state.cases().disclosures(query.page()?).await?;
    Ok(Json(DisclosureList {
        total: page.total,
        items: page.items,
    }))
}

// ----------------------------------------------------------------------------------- staff

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxOut {
    #[schema(value_type = Object)]
    pub counts: InboxCounts,
    pub items: Vec<InboxItem>,
    pub total: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboxItem {
    pub task: TaskOut,
    pub case_no: String,
    pub item_name: String,
    pub applicant_name: String,
    pub case_status: String,
    pub warning: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decision_due_at: Option<DateTime<Utc>>,
}

impl From<InboxEntry> for InboxItem {
    fn from(e: InboxEntry) -> Self {
        Self {
            task: TaskOut {
                id: e.task.id.get(),
                task: e.task,
            },
            case_no: e.case_no,
            item_name: e.item_name,
            applicant_name: e.applicant_name,
            case_status: e.case_status.code().to_owned(),
            warning: e.case_warning.code().to_owned(),
            decision_due_at: e.decision_due_at,
        }
    }
}

/// The open tasks of the caller's posts, most urgent first.
#[utoipa::path(get, path = "/api/v1/inbox", tag = "cases",
    params(("warning" = Option<String>, Query), ("q" = Option<String>, Query), ("mine" = Option<bool>, Query),
        ("page" = Option<u32>, Query), ("page_size" = Option<u32>, Query)),
    responses((status = 200, body = InboxOut), (status = 403, body = ApiErrorBody)))]
async fn inbox(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<InboxOut>, AppError> {
    let filter = InboxFilter {
        warning: query.warning()?,
        text: query.q.clone(),
        mine: matches!(query.mine.as_deref(), Some("1" | "true" | "on")),
        ..InboxFilter::default()
    };
    let page = state
        .cases()
        .inbox(&principal, &filter, query.page()?)
        .await?;
    let counts = state.cases().inbox_counts(&principal).await?;
    Ok(Json(InboxOut {
        counts,
        total: page.total,
        items: page.items.into_iter().map(InboxItem::from).collect(),
    }))
}

/// Claim a task so colleagues on the post see it is handled.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/claim", tag = "cases", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
async fn claim(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    IdPath(id): IdPath<TaskId>,
) -> Result<StatusCode, AppError> {
    state.cases().claim(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give a claimed task back to the post.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}/claim", tag = "cases", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = ApiErrorBody)))]
async fn release(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    IdPath(id): IdPath<TaskId>,
) -> Result<StatusCode, AppError> {
    state.cases().release(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ActBody {
    /// `accept`, `decline`, `supplement`, `agree`, `disagree`, `send_back`, `special`, `grant`, `deny`
    /// at workflow steps; `conclude` at the delivery; `verify_confirmed` / `verify_failed` at a
    /// commitment's verification.
    pub action: String,
    pub opinion: String,
    /// For `supplement`: everything missing, one entry each.
    pub missing: Vec<String>,
    /// For `special`: hearing, testing, inspection, quarantine, appraisal, expert_review.
    pub special_kind: Option<String>,
    /// For `special`: expected end, YYYY-MM-DD.
    pub special_until: Option<String>,
}

fn parse_act(body: &ActBody) -> Result<(Act, ActInput), AppError> {
    let act = match body.action.as_str() {
        "conclude" => Act::Conclude,
        "verify_confirmed" => Act::Verify { confirmed: true },
        "verify_failed" => Act::Verify { confirmed: false },
        other => Act::Step(
            StepAction::parse(other)
                .ok_or_else(|| invalid("action", "action_invalid", "unknown action"))?,
        ),
    };
    let special = match (&body.special_kind, &body.special_until) {
        (Some(kind), Some(until)) if !kind.is_empty() && !until.is_empty() => Some((
            SpecialKind::parse(kind).ok_or_else(|| {
                invalid(
                    "special_kind",
                    "special_kind_invalid",
                    "unknown special procedure",
                )
            })?,
            NaiveDate::parse_from_str(until.trim(), "%Y-%m-%d")
                .map_err(|_| invalid("special_until", "date_invalid", "a date is YYYY-MM-DD"))?,
        )),
        _ => None,
    };
    Ok((
        act,
        ActInput {
            opinion: body.opinion.clone(),
            missing: body.missing.clone(),
            special,
        },
    ))
}

/// Act on a task with an opinion; the case moves on (or the refusal says why and nothing changes).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/act", tag = "cases", params(("id" = i64, Path)), request_body = ActBody,
    responses((status = 200, body = CaseOut), (status = 403, body = ApiErrorBody, description = "`task_not_on_post`, `separation_of_duties`"),
        (status = 409, body = ApiErrorBody, description = "`case_wrong_state`, `task_closed`, `review_disagreed`…"), (status = 422, body = ApiErrorBody)))]
async fn act(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<TaskId>,
    Json(body): Json<ActBody>,
) -> Result<Json<CaseOut>, AppError> {
    let (act, input) = parse_act(&body)?;
    let case = state
        .cases()
        .act(&principal, id, &act, &input, &origin(&meta))
        .await?;
    Ok(Json(case.into()))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct NoteBody {
    pub note: String,
}

/// End the special procedure of a waiting task; the deadline moves by the working days it stood still.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/resume", tag = "cases", params(("id" = i64, Path)), request_body = NoteBody,
    responses((status = 200, body = CaseOut), (status = 409, body = ApiErrorBody)))]
async fn resume(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<TaskId>,
    Json(body): Json<NoteBody>,
) -> Result<Json<CaseOut>, AppError> {
    let case = state
        .cases()
        .end_special(&principal, id, &body.note, &origin(&meta))
        .await?;
    Ok(Json(case.into()))
}

/// Ask for the one extension of the decision limit (staff working on the case).
#[utoipa::path(post, path = "/api/v1/cases/{key}/extension", tag = "cases", params(("key" = String, Path)), request_body = ReasonBody,
    responses((status = 200, body = CaseOut), (status = 409, body = ApiErrorBody)))]
async fn request_extension(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Json(body): Json<ReasonBody>,
) -> Result<Json<CaseOut>, AppError> {
    let id = case_id(&state, &principal, &key).await?;
    let case = state
        .cases()
        .request_extension(&principal, id, &body.reason, &origin(&meta))
        .await?;
    Ok(Json(case.into()))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ExtensionDecision {
    pub approve: bool,
    pub note: String,
}

/// The department's administrator approves or refuses the requested extension.
#[utoipa::path(post, path = "/api/v1/cases/{key}/extension/decision", tag = "cases", params(("key" = String, Path)), request_body = ExtensionDecision,
    responses((status = 200, body = CaseOut), (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
async fn decide_extension(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(key): IdPath<String>,
    Json(body): Json<ExtensionDecision>,
) -> Result<Json<CaseOut>, AppError> {
    let id = case_id(&state, &principal, &key).await?;
    let case = state
        .cases()
        .decide_extension(&principal, id, body.approve, &body.note, &origin(&meta))
        .await?;
    Ok(Json(case.into()))
}

/// 电子监察: cases near or past their deadline in the supervisor's region.
#[utoipa::path(get, path = "/api/v1/supervision", tag = "cases",
    params(("warning" = Option<String>, Query), ("q" = Option<String>, Query), ("page" = Option<u32>, Query)),
    responses((status = 200, body = CaseList), (status = 403, body = ApiErrorBody)))]
async fn supervision(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<CaseList>, AppError> {
    let page = state
        .cases()
        .supervision(&principal, &query.filter()?, query.page()?)
        .await?;
    Ok(Json(page.into()))
}

// ------------------------------------------------------------------------------- workflows

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowOut {
    pub version: u32,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub definition: WorkflowDef,
}

/// The workflow new applications of an item start under: internal (posts, steps, who decides), so
/// for staff only; an applicant sees the form and materials in `GET /api/v1/items/{id}/application`.
#[utoipa::path(get, path = "/api/v1/items/{id}/workflow", tag = "cases", params(("id" = i64, Path)),
    responses((status = 200, body = WorkflowOut), (status = 403, body = ApiErrorBody, description = "not staff"),
        (status = 404, body = ApiErrorBody)))]
async fn get_workflow(
    State(state): State<AppState>,
    _staff: ApiStaff,
    IdPath(id): IdPath<ItemId>,
) -> Result<Json<WorkflowOut>, AppError> {
    let workflow = state
        .cases()
        .current_workflow(id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(WorkflowOut {
        version: workflow.version_no,
        published_at: workflow.published_at,
        definition: workflow.definition,
    }))
}

/// Publish a new workflow version (TOML with `Content-Type: application/toml`, else JSON). Every
/// problem is named (`unknown_post`, `unreachable_step`, `join_without_fork`…); running cases keep
/// their version.
#[utoipa::path(put, path = "/api/v1/items/{id}/workflow", tag = "cases", params(("id" = i64, Path)),
    request_body(content = Object, description = "the definition as JSON; TOML is accepted too, sent with `Content-Type: application/toml`"),
    responses((status = 201, body = WorkflowOut), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn publish_workflow(
    State(state): State<AppState>,
    Caller { principal, .. }: ApiCaller,
    Client(meta): Client,
    IdPath(id): IdPath<ItemId>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<WorkflowOut>), AppError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| invalid("workflow", "workflow_unreadable", "the body is not UTF-8"))?;
    let is_toml = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"));
    let def = if is_toml {
        WorkflowDef::from_toml(text)
    } else {
        WorkflowDef::from_json(text)
    }
    .map_err(|p| invalid("workflow", p.code, &p.message))?;
    let workflow = state
        .cases()
        .publish_workflow(&principal, id, &def, &origin(&meta))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(WorkflowOut {
            version: workflow.version_no,
            published_at: workflow.published_at,
            definition: workflow.definition,
        }),
    ))
}
