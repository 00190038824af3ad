//! Case use cases: applying (drafts, materials, submission, counter registration), the workflow engine
//! (intake, review steps with parallel branches and joins, decision, delivery, commitment verification),
//! deadlines and their supervision, following a case, and notifications.
//!
//! Every state change runs in one transaction that re-reads the case, checks the rule, writes the case
//! under its revision (so two concurrent actions cannot both apply), the task rows, a history event,
//! the audit entry and the notification job; an illegal transition is refused before anything is
//! written.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use rand::{CryptoRng, RngExt};
use serde_json::json;
use yiwang_catalog::model::{ItemId, ItemStatus, ItemVersion};
use yiwang_catalog::{Catalog, CatalogError};
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, Job, NewJob, Worker};
use yiwang_db::{ConnectionTrait, DatabaseTransaction, Db};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{PersonId, PostId, Role, StaffId};
use yiwang_identity::pii::{PiiField, PiiProtector};
use yiwang_identity::policy::{Action, DepartmentRef, Principal, StaffPrincipal, authorize};
use yiwang_identity::repo::PersonIndex;
use yiwang_identity::service::recovery::{Email, MessageSender, Sms};
use yiwang_identity::{IdentityError, repo as id_repo};
use yiwang_kernel::{Mobile, Page, PageRequest, RegionCode, ResidentId, SharedClock, sm3_hex};

use crate::CaseError;
use crate::deadline::Deadlines;
use crate::files::{FileStore, check_file, clean_name};
use crate::form::{FieldProblem, FormData, masked, validate_form};
use crate::model::{
    Act, ActInput, Applicant, Case, CaseEvent, CaseId, CaseMaterial, CaseStatus, Channel,
    DepartmentWarnings, Disclosure, ExtensionState, InboxCounts, InboxEntry, MaterialFile, Outcome,
    Task, TaskId, TaskKind, TaskStatus, Verification, Warning, Workflow,
};
use crate::repo::{self, CaseFilter, InboxFilter, NewCase, NewEvent, NewTask};
use crate::workflow::{PostRef, ResolvedPost, StepAction, StepDef, StepKind, WorkflowDef};

/// The outbox job that tells the applicant about a change of their case.
pub const NOTIFY_JOB: &str = "cases.notify";
/// The step id and name of the window's delivery of the result (一窗出件).
pub const DELIVER_STEP: (&str, &str) = ("deliver", "办结送达");
/// The step id and name of the verification of a commitment.
pub const VERIFY_STEP: (&str, &str) = ("verify", "承诺核查");
/// Characters of query codes: no 0/O, 1/I/L that are confused on paper.
const QUERY_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Where a request came from, for audit entries.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
}

/// What an applicant submits (or saves as a draft).
#[derive(Debug, Clone, Default)]
pub struct Application {
    pub item: Option<ItemId>,
    /// Public id of the enterprise applied for, if any.
    pub enterprise: Option<String>,
    pub answers: BTreeMap<String, String>,
    /// Where to send email notices besides the SMS to the applicant's mobile (optional).
    pub contact_email: String,
    /// The applicant signs the commitment statement (告知承诺 items).
    pub commitment_signed: bool,
    /// (material name as in the guide, file public id) pairs.
    pub materials: Vec<(String, String)>,
}

/// Everything about a case that the caller may see.
#[derive(Debug, Clone)]
pub struct CaseView {
    pub case: Case,
    pub workflow: Workflow,
    pub item_version: ItemVersion,
    /// Tasks (staff only; empty for the applicant).
    pub tasks: Vec<Task>,
    /// History: everything for staff, the public part for the applicant.
    pub events: Vec<CaseEvent>,
    pub materials: Vec<CaseMaterial>,
    /// (label, answer) in form order; personal identifiers masked for staff.
    pub answers: Vec<(String, String)>,
    /// The raw answers (for the applicant editing a draft or resubmitting).
    pub form: FormData,
    /// The tasks the viewing staff member can act on now.
    pub actionable: Vec<TaskId>,
    pub viewer_is_applicant: bool,
}

/// A case as anyone with its number and query code sees it.
#[derive(Debug, Clone)]
pub struct PublicProgress {
    pub case_no: String,
    pub item_name: String,
    pub department_name: String,
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub decision_due_at: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
    pub events: Vec<CaseEvent>,
}

/// What the sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub checked: usize,
    pub warnings_changed: usize,
    pub returned: usize,
}

#[derive(Debug, Clone)]
pub struct Cases {
    db: Db,
    clock: SharedClock,
    catalog: Catalog,
    deadlines: Arc<Deadlines>,
    pii: Arc<PiiProtector>,
    files: FileStore,
    /// Two characters distinguishing this platform's case numbers within a federation.
    platform_code: String,
}

fn person_of(principal: &Principal) -> Result<PersonId, CaseError> {
    match principal {
        Principal::Person(id) => Ok(*id),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

fn staff_of(principal: &Principal) -> Result<&StaffPrincipal, CaseError> {
    match principal {
        Principal::Staff(s) => Ok(s),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

fn actor(principal: &Principal) -> String {
    match principal {
        Principal::Staff(s) => s.actor(),
        Principal::Person(p) => format!("person-id:{p}"),
        Principal::System => "system".to_owned(),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

fn wrong(status: CaseStatus, action: &'static str) -> CaseError {
    CaseError::WrongState { status, action }
}

/// The leading digits shared by every region within `region` (for `LIKE 'prefix%'`).
fn region_prefix(region: &RegionCode) -> String {
    let code = region.as_str();
    if region.is_province() {
        code[..2].to_owned()
    } else if region.is_city() {
        code[..4].to_owned()
    } else {
        code.to_owned()
    }
}

/// The region code prefix a supervisor (or auditor) oversees: their region, or everything for a
/// platform administrator.
fn supervised_prefix(principal: &Principal) -> Result<String, CaseError> {
    let staff = staff_of(principal)?;
    authorize(
        principal,
        &Action::SuperviseCases {
            region: &staff.region,
        },
    )?;
    Ok(if staff.has(Role::PlatformAdmin) {
        String::new()
    } else {
        region_prefix(&staff.region)
    })
}

fn region_of(code: &str) -> Result<RegionCode, CaseError> {
    RegionCode::parse(code).map_err(|e| CaseError::Corrupt(format!("region code: {e}")))
}

/// Every mandatory material of the item version has a file, except those a signed commitment replaces.
pub fn require_materials(
    def: &WorkflowDef,
    version: &ItemVersion,
    attached: &[String],
) -> Result<(), CaseError> {
    let replaced: &[String] = def
        .commitment
        .as_ref()
        .map_or(&[], |c| c.replaces.as_slice());
    let missing: Vec<String> = version
        .content
        .materials
        .iter()
        .filter(|m| m.mandatory && !replaced.contains(&m.name) && !attached.contains(&m.name))
        .map(|m| m.name.clone())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CaseError::MaterialsMissing(missing))
    }
}

/// The step action's history verb, shown translated in pages.
fn action_verb(act: &Act) -> &'static str {
    match act {
        Act::Step(a) => a.code(),
        Act::Conclude => "conclude",
        Act::Verify { confirmed: true } => "verify_confirmed",
        Act::Verify { confirmed: false } => "verify_failed",
    }
}

/// Put an open task on hold while the applicant (补正) or a special procedure has the case; refused
/// when someone else closed the task meanwhile.
async fn hold_task(tx: &DatabaseTransaction, task: TaskId) -> Result<(), CaseError> {
    if repo::set_task_status(tx, task, TaskStatus::Open, TaskStatus::Waiting).await? {
        Ok(())
    } else {
        Err(CaseError::TaskClosed)
    }
}

/// A change to write: the history line and whether the applicant is told.
struct Change<'a> {
    action: &'a str,
    from: Option<CaseStatus>,
    step_name: &'a str,
    note: &'a str,
    detail: serde_json::Value,
    public: bool,
}

impl Cases {
    pub fn new(
        db: Db,
        clock: SharedClock,
        catalog: Catalog,
        deadlines: Deadlines,
        pii: Arc<PiiProtector>,
        files: FileStore,
        platform_code: &str,
    ) -> Self {
        Self {
            db,
            clock,
            catalog,
            deadlines: Arc::new(deadlines),
            pii,
            files,
            platform_code: platform_code.to_owned(),
        }
    }

    pub fn deadlines(&self) -> &Deadlines {
        &self.deadlines
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn max_file_bytes(&self) -> usize {
        self.files.max_bytes
    }

    // -----------------------------------------------------------------------------------------
    // Workflows

    /// Check a definition against the organisation's posts without storing it.
    pub async fn check_workflow(&self, def: &WorkflowDef) -> Result<(), CaseError> {
        let posts: HashMap<PostRef, ResolvedPost> =
            repo::resolve_posts(self.db.conn(), &def.post_refs())
                .await?
                .into_iter()
                .collect();
        let problems = def.problems(&posts);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CaseError::WorkflowInvalid(problems))
        }
    }

    /// Publish a new version of an item's workflow. Cases already running keep theirs.
    #[tracing::instrument(skip_all, err)]
    pub async fn publish_workflow(
        &self,
        principal: &Principal,
        item: ItemId,
        def: &WorkflowDef,
        origin: &Origin,
    ) -> Result<Workflow, CaseError> {
        let found = self.catalog.item(item).await?;
        authorize(
            principal,
            &Action::EditCatalog {
                department: found.department_id,
            },
        )
        .or_else(|e| match principal {
            // Demo set-up and the command line publish workflows as the platform.
            Principal::System => authorize(principal, &Action::ManageCatalog),
            _ => Err(e),
        })?;
        self.check_workflow(def).await?;
        let now = self.clock.now();
        let by = actor(principal);
        let tx = self.db.begin().await?;
        let (id, version_no) = repo::insert_workflow(&tx, item, def, now, &by).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &by,
                "workflow.publish",
                format!("item:{}", found.impl_code),
                &origin.ip,
            )
            .detail(json!({ "version": version_no, "steps": def.steps.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(Workflow {
            id,
            item_id: item,
            version_no,
            definition: def.clone(),
            published_at: now,
            published_by: by,
        })
    }

    /// The workflow new applications of an item start under.
    pub async fn current_workflow(&self, item: ItemId) -> Result<Option<Workflow>, CaseError> {
        repo::latest_workflow(self.db.conn(), item).await
    }

    pub async fn workflow_history(&self, item: ItemId) -> Result<Vec<Workflow>, CaseError> {
        repo::workflows_of_item(self.db.conn(), item).await
    }

    pub async fn workflow(&self, id: crate::model::WorkflowId) -> Result<Workflow, CaseError> {
        repo::workflow_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::NoWorkflow)
    }

    /// Items with a workflow and their newest version number.
    pub async fn items_with_workflows(&self) -> Result<Vec<(ItemId, u32)>, CaseError> {
        repo::items_with_workflows(self.db.conn()).await
    }

    /// What an applicant needs to apply: the item version in effect and its workflow (form, commitment).
    pub async fn application_form(
        &self,
        item: ItemId,
    ) -> Result<(yiwang_catalog::service::Guide, Workflow), CaseError> {
        let guide = self.catalog.guide(item, None).await?;
        if guide.version.content.status != ItemStatus::InUse {
            return Err(CaseError::ItemNotInService);
        }
        let workflow = self
            .current_workflow(item)
            .await?
            .ok_or(CaseError::NoWorkflow)?;
        Ok((guide, workflow))
    }

    // -----------------------------------------------------------------------------------------
    // Applying

    async fn applicant(
        &self,
        person: PersonId,
        enterprise: Option<&str>,
    ) -> Result<Applicant, CaseError> {
        let conn = self.db.conn();
        let row = id_repo::person_by_id(conn, person)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        match enterprise {
            None => Ok(Applicant {
                person_id: person,
                enterprise_id: None,
                name: row.person.name,
                id_masked: row.person.resident_id_masked,
            }),
            Some(public_id) => {
                let enterprise = id_repo::enterprise::enterprise_by_public_id(conn, public_id)
                    .await?
                    .ok_or(IdentityError::Forbidden)?;
                let agents: Vec<PersonId> = id_repo::enterprise::live_agents(conn, enterprise.id)
                    .await?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                authorize(
                    &Principal::Person(person),
                    &Action::ActForEnterprise {
                        legal_representative: enterprise.legal_representative,
                        agents: &agents,
                    },
                )?;
                Ok(Applicant {
                    person_id: person,
                    enterprise_id: Some(enterprise.id),
                    name: enterprise.name,
                    id_masked: enterprise.uscc.as_str().to_owned(),
                })
            }
        }
    }

    fn seal_form(&self, answers: &BTreeMap<String, String>, rng: &mut impl CryptoRng) -> String {
        let text = serde_json::to_string(answers).unwrap_or_else(|_| "{}".to_owned());
        self.pii.seal(PiiField::CaseForm, &text, rng)
    }

    fn open_form(&self, sealed: &str) -> Result<BTreeMap<String, String>, CaseError> {
        let text = self.pii.open(PiiField::CaseForm, sealed)?;
        serde_json::from_str(&text).map_err(|e| CaseError::Corrupt(format!("form answers: {e}")))
    }

    fn check_email(email: &str) -> Result<String, CaseError> {
        let email = email.trim();
        let ok = email.is_empty()
            || (email
                .split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.ends_with('.'))
                && !email.chars().any(char::is_whitespace)
                && email.len() <= 200);
        if ok {
            Ok(email.to_owned())
        } else {
            Err(CaseError::FormInvalid(vec![FieldProblem {
                key: "contact_email".to_owned(),
                code: "field_bad_email",
            }]))
        }
    }

    /// Attach the application's files, each checked to belong to `owner` and to name one of the
    /// item's materials.
    async fn attach_materials(
        &self,
        tx: &DatabaseTransaction,
        case: CaseId,
        owner: PersonId,
        version: &ItemVersion,
        materials: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        for (material, file) in materials {
            if !version
                .content
                .materials
                .iter()
                .any(|m| &m.name == material)
            {
                return Err(CaseError::UnknownMaterial(material.clone()));
            }
            let file = repo::file_by_public_id(tx, file)
                .await?
                .filter(|f| f.owner == owner)
                .ok_or(CaseError::FileNotFound)?;
            repo::attach_material(tx, case, material, file.id, now).await?;
        }
        Ok(())
    }

    /// Save an application as a draft; nothing is checked but the item, the enterprise and the files.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_draft(
        &self,
        principal: &Principal,
        app: &Application,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<CaseId, CaseError> {
        let person = person_of(principal)?;
        self.insert_case(principal, person, app, Channel::Online, rng)
            .await
    }

    /// Store a draft for `person`, created by `principal` (the person, or window staff at the counter).
    async fn insert_case(
        &self,
        principal: &Principal,
        person: PersonId,
        app: &Application,
        channel: Channel,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<CaseId, CaseError> {
        let item = app
            .item
            .ok_or(CaseError::Catalog(CatalogError::ItemNotFound))?;
        let (guide, workflow) = self.application_form(item).await?;
        let applicant = self.applicant(person, app.enterprise.as_deref()).await?;
        let contact_email = Self::check_email(&app.contact_email)?;
        let sealed = self.seal_form(&app.answers, rng);
        let public_id = yiwang_kernel::new_public_id(rng);
        let registered_by = match principal {
            Principal::Staff(staff) => Some(staff.id),
            _ => None,
        };
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::insert_case(
            &tx,
            &NewCase {
                public_id: &public_id,
                item_id: item,
                item_version_id: guide.version.id,
                workflow_id: workflow.id,
                department_id: guide.item.department_id,
                item_name: &guide.version.content.name,
                item_code: &guide.item.impl_code,
                applicant: &applicant,
                channel,
                registered_by,
                instant: workflow.definition.instant,
                form_sealed: &sealed,
                contact_email: &contact_email,
                commitment_signed: app.commitment_signed,
                now,
            },
        )
        .await?;
        self.attach_materials(&tx, id, person, &guide.version, &app.materials, now)
            .await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(actor(principal), "case.draft", format!("case-id:{id}"), "")
                .detail(json!({ "item": guide.item.impl_code })),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replace a draft's answers and files.
    #[tracing::instrument(skip_all, err)]
    pub async fn update_draft(
        &self,
        principal: &Principal,
        id: CaseId,
        app: &Application,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<(), CaseError> {
        let person = person_of(principal)?;
        let case = self.own_case(person, id).await?;
        if case.status != CaseStatus::Draft {
            return Err(wrong(case.status, "edited"));
        }
        let contact_email = Self::check_email(&app.contact_email)?;
        let version = self.item_version(&case).await?;
        let sealed = self.seal_form(&app.answers, rng);
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::set_case_form(&tx, id, &sealed, &contact_email, app.commitment_signed, now).await?;
        for existing in repo::materials_of_case(&tx, id).await? {
            repo::detach_material(&tx, id, &existing.material, existing.file.id).await?;
        }
        self.attach_materials(&tx, id, person, &version, &app.materials, now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn own_case(&self, person: PersonId, id: CaseId) -> Result<Case, CaseError> {
        let case = repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.authorize_view(&Principal::Person(person), &case)
            .await
            .map_err(|_| CaseError::CaseNotFound)?;
        Ok(case)
    }

    async fn item_version(&self, case: &Case) -> Result<ItemVersion, CaseError> {
        Ok(self.catalog.version(case.item_version_id).await?)
    }

    /// Check a case's answers, materials and commitment against its item version and workflow.
    async fn check_complete(
        &self,
        case: &Case,
        def: &WorkflowDef,
        version: &ItemVersion,
    ) -> Result<(), CaseError> {
        let answers = self.open_form(&repo::case_form(self.db.conn(), case.id).await?)?;
        validate_form(&def.form, &answers).map_err(CaseError::FormInvalid)?;
        if def.commitment.is_some() && !case.commitment_signed {
            return Err(CaseError::CommitmentNotSigned);
        }
        let attached: Vec<String> = repo::materials_of_case(self.db.conn(), case.id)
            .await?
            .into_iter()
            .map(|a| a.material)
            .collect();
        require_materials(def, version, &attached)
    }

    /// Submit a draft: the answers are checked, the case gets its number and query code, and the
    /// intake post's task opens with the 5-working-day pre-review deadline.
    #[tracing::instrument(skip_all, err)]
    pub async fn submit(
        &self,
        principal: &Principal,
        id: CaseId,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        let case = self.own_case(person, id).await?;
        self.submit_case(principal, case, origin, rng).await
    }

    async fn submit_case(
        &self,
        principal: &Principal,
        mut case: Case,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        if case.status != CaseStatus::Draft {
            return Err(wrong(case.status, "submitted"));
        }
        let workflow = self.workflow(case.workflow_id).await?;
        let version = self.item_version(&case).await?;
        self.check_complete(&case, &workflow.definition, &version)
            .await?;
        let intake = workflow
            .definition
            .intake()
            .ok_or(CaseError::Corrupt("workflow without intake".to_owned()))?
            .clone();
        let intake_post = self.resolve(&intake.post).await?;
        let region = self
            .catalog
            .item(case.item_id)
            .await
            .map(|i| i.region_code)?;
        let query_code: String = (0..8)
            .map(|_| QUERY_ALPHABET[rng.random_range(0..QUERY_ALPHABET.len())] as char)
            .collect();
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let prefix = format!(
            "{region}{}{}",
            Deadlines::date_of(now).format("%Y%m%d"),
            self.platform_code
        );
        let seq = repo::next_sequence(&tx, &prefix).await?;
        case.case_no = Some(format!("{prefix}{seq:05}"));
        case.query_code = Some(query_code);
        case.status = CaseStatus::Submitted;
        case.submitted_at = Some(now);
        case.accept_due_at = Some(self.deadlines.accept_due(now));
        let due = intake.limit_days.map(|d| self.deadlines.step_due(now, d));
        repo::insert_task(
            &tx,
            &NewTask {
                case_id: case.id,
                kind: TaskKind::Step,
                step_id: &intake.id,
                step_name: &intake.name,
                step_kind: Some(StepKind::Intake),
                post: intake_post,
                prev: None,
                due_at: due.or(case.accept_due_at),
                now,
            },
        )
        .await?;
        let channel = case.channel.code();
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: "submit",
                from: Some(CaseStatus::Draft),
                step_name: "",
                note: "",
                detail: json!({ "channel": channel }),
                public: true,
            },
        )
        .await
    }

    /// Create and submit in one go (the API's single call, and the counter).
    pub async fn apply(
        &self,
        principal: &Principal,
        app: &Application,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        // Check everything before a draft row exists, so a bad application leaves nothing behind.
        self.precheck(app).await?;
        let id = self
            .insert_case(principal, person, app, Channel::Online, rng)
            .await?;
        let case = self.own_case(person, id).await?;
        self.submit_case(principal, case, origin, rng).await
    }

    /// The checks of submission on an application not yet stored.
    async fn precheck(&self, app: &Application) -> Result<(), CaseError> {
        let item = app
            .item
            .ok_or(CaseError::Catalog(CatalogError::ItemNotFound))?;
        let (guide, workflow) = self.application_form(item).await?;
        Self::check_email(&app.contact_email)?;
        validate_form(&workflow.definition.form, &app.answers).map_err(CaseError::FormInvalid)?;
        if workflow.definition.commitment.is_some() && !app.commitment_signed {
            return Err(CaseError::CommitmentNotSigned);
        }
        for (material, _) in &app.materials {
            if !guide
                .version
                .content
                .materials
                .iter()
                .any(|m| &m.name == material)
            {
                return Err(CaseError::UnknownMaterial(material.clone()));
            }
        }
        let attached: Vec<String> = app.materials.iter().map(|(name, _)| name.clone()).collect();
        require_materials(&workflow.definition, &guide.version, &attached)
    }

    /// Window staff register an application for a person at the counter (found by resident ID);
    /// the case is the same record as an online one, marked as a counter case.
    #[tracing::instrument(skip_all, err)]
    pub async fn register_at_counter(
        &self,
        principal: &Principal,
        resident_id: &ResidentId,
        app: &Application,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        authorize(principal, &Action::RegisterAtCounter)?;
        let person = self.person_by_resident_id(resident_id).await?;
        self.precheck(app).await?;
        let id = self
            .insert_case(principal, person, app, Channel::Counter, rng)
            .await?;
        let case = repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        self.submit_case(principal, case, origin, rng).await
    }

    /// A registered person by resident ID (window staff look applicants up this way).
    pub async fn person_by_resident_id(&self, id: &ResidentId) -> Result<PersonId, CaseError> {
        let index = self.pii.blind_index(PiiField::ResidentId, id.as_str());
        id_repo::person_by_index(self.db.conn(), PersonIndex::ResidentId, &index)
            .await?
            .map(|row| row.person.id)
            .ok_or_else(|| {
                CaseError::Identity(IdentityError::Invalid {
                    field: "resident_id",
                    code: "person_not_registered",
                    message: "no registered person has this resident ID".to_owned(),
                })
            })
    }

    // -----------------------------------------------------------------------------------------
    // Files

    /// Keep an uploaded material file for its owner (the applicant, or a person window staff serve).
    #[tracing::instrument(skip_all, err)]
    pub async fn upload_material(
        &self,
        principal: &Principal,
        on_behalf_of: Option<PersonId>,
        name: &str,
        content: Bytes,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<MaterialFile, CaseError> {
        let owner = match (principal, on_behalf_of) {
            (Principal::Person(me), None) => *me,
            (Principal::Staff(_), Some(person)) => {
                authorize(principal, &Action::RegisterAtCounter)?;
                person
            }
            (Principal::Anonymous, _) => return Err(IdentityError::Unauthenticated.into()),
            _ => return Err(IdentityError::Forbidden.into()),
        };
        let name = clean_name(name);
        let content_type = check_file(&name, &content, self.files.max_bytes)?;
        let digest = sm3_hex(&content);
        let public_id = yiwang_kernel::new_public_id(rng);
        let now = self.clock.now();
        let file = MaterialFile {
            id: crate::model::FileId::new(0),
            public_id: public_id.clone(),
            owner,
            name,
            content_type: content_type.to_owned(),
            size: content.len() as u64,
            storage_key: format!("materials/{}/{}/{public_id}", &digest[..2], owner),
            digest,
            created_at: now,
        };
        // The object is written before its row: a crash in between leaves an unreferenced object
        // (harmless), never a row without its content.
        self.files.put(&file.storage_key, content).await?;
        let tx = self.db.begin().await?;
        let id = repo::insert_file(&tx, &file).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor(principal),
                "material.upload",
                format!("file:{public_id}"),
                "",
            )
            .detail(json!({ "size": file.size, "sm3": file.digest })),
        )
        .await?;
        tx.commit().await?;
        Ok(MaterialFile { id, ..file })
    }

    /// A person's kept files, to reuse in a new application.
    pub async fn my_files(&self, principal: &Principal) -> Result<Vec<MaterialFile>, CaseError> {
        let person = person_of(principal)?;
        repo::files_of_person(self.db.conn(), person, 100).await
    }

    /// A file's content: the owner may always read it; staff only through a case they may see.
    pub async fn file_content(
        &self,
        principal: &Principal,
        case: Option<CaseId>,
        public_id: &str,
    ) -> Result<(MaterialFile, Bytes), CaseError> {
        let file = repo::file_by_public_id(self.db.conn(), public_id)
            .await?
            .ok_or(CaseError::FileNotFound)?;
        let allowed = match principal {
            Principal::Person(me) if *me == file.owner => true,
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            _ => match case {
                Some(case_id) => {
                    let case = repo::case_by_id(self.db.conn(), case_id)
                        .await?
                        .ok_or(CaseError::FileNotFound)?;
                    self.authorize_view(principal, &case).await.is_ok()
                        && repo::case_has_file(self.db.conn(), case_id, file.id).await?
                }
                None => false,
            },
        };
        if !allowed {
            return Err(CaseError::FileNotFound);
        }
        let content = self.files.get(&file.storage_key).await?;
        Ok((file, content))
    }

    // -----------------------------------------------------------------------------------------
    // Reading

    async fn authorize_view(&self, principal: &Principal, case: &Case) -> Result<(), CaseError> {
        let conn = self.db.conn();
        let department = self.catalog.item(case.item_id).await?;
        let region = region_of(&department.region_code)?;
        let mut enterprise_facts: Option<(PersonId, Vec<PersonId>)> = None;
        if let (Principal::Person(_), Some(enterprise)) = (principal, case.applicant.enterprise_id)
            && let Some(found) = id_repo::enterprise::enterprise_by_id(conn, enterprise).await?
        {
            let agents = id_repo::enterprise::live_agents(conn, enterprise)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
            enterprise_facts = Some((found.legal_representative, agents));
        }
        let works_on_it = match principal {
            Principal::Staff(staff) => repo::tasks_of_case(conn, case.id)
                .await?
                .iter()
                .any(|t| t.department_id == staff.department),
            _ => false,
        };
        authorize(
            principal,
            &Action::ViewCase {
                applicant: case.applicant.person_id,
                enterprise: enterprise_facts
                    .as_ref()
                    .map(|(rep, agents)| (*rep, agents.as_slice())),
                department: DepartmentRef {
                    id: case.department_id,
                    region: &region,
                },
                department_works_on_it: works_on_it,
            },
        )?;
        Ok(())
    }

    async fn reload(&self, id: CaseId) -> Result<Case, CaseError> {
        repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)
    }

    /// A case by its public id or number; `None` when it does not exist or the caller may not see it.
    pub async fn find(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Option<CaseId>, CaseError> {
        let key = key.trim();
        let found = match repo::case_by_public_id(self.db.conn(), key).await? {
            Some(case) => Some(case),
            None => repo::case_by_no(self.db.conn(), key).await?,
        };
        let Some(case) = found else {
            return Ok(None);
        };
        Ok(self
            .authorize_view(principal, &case)
            .await
            .ok()
            .map(|()| case.id))
    }

    /// A case by number (staff look cases up this way); `None` when it does not exist or the caller
    /// may not see it.
    pub async fn find_by_no(
        &self,
        principal: &Principal,
        case_no: &str,
    ) -> Result<Option<CaseId>, CaseError> {
        let Some(case) = repo::case_by_no(self.db.conn(), case_no.trim()).await? else {
            return Ok(None);
        };
        Ok(self
            .authorize_view(principal, &case)
            .await
            .ok()
            .map(|()| case.id))
    }

    /// Everything the caller may see of a case. Staff reading the answers is audited (personal data).
    #[tracing::instrument(skip_all, err)]
    pub async fn view(
        &self,
        principal: &Principal,
        id: CaseId,
        origin: &Origin,
    ) -> Result<CaseView, CaseError> {
        let case = self.reload(id).await?;
        // Someone who may not see a case learns nothing about it, not even that it exists.
        self.authorize_view(principal, &case)
            .await
            .map_err(|e| match e {
                CaseError::Identity(IdentityError::Unauthenticated) => e,
                _ => CaseError::CaseNotFound,
            })?;
        let conn = self.db.conn();
        let workflow = self.workflow(case.workflow_id).await?;
        let item_version = self.item_version(&case).await?;
        let form = FormData(self.open_form(&repo::case_form(conn, id).await?)?);
        let is_applicant = matches!(principal, Principal::Person(_));
        let answers = if is_applicant {
            workflow
                .definition
                .form
                .iter()
                .filter_map(|f| Some((f.label.clone(), form.get(&f.key)?.to_owned())))
                .collect()
        } else {
            masked(&workflow.definition.form, &form)
        };
        let tasks = if is_applicant {
            Vec::new()
        } else {
            repo::tasks_of_case(conn, id).await?
        };
        let actionable = match principal {
            Principal::Staff(staff) => {
                let posts = self.posts_of(staff.id).await?;
                tasks
                    .iter()
                    .filter(|t| {
                        matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
                            && posts.contains(&t.post_id)
                            && t.claimed_by.is_none_or(|s| s == staff.id)
                    })
                    .map(|t| t.id)
                    .collect()
            }
            _ => Vec::new(),
        };
        if let Principal::Staff(staff) = principal {
            let tx = self.db.begin().await?;
            audit::append(
                &tx,
                self.clock.now(),
                &AuditEvent::new(
                    staff.actor(),
                    "case.read",
                    format!("case:{}", case.case_no.as_deref().unwrap_or("draft")),
                    &origin.ip,
                ),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(CaseView {
            events: repo::events_of_case(conn, id, is_applicant).await?,
            materials: repo::materials_of_case(conn, id).await?,
            case,
            workflow,
            item_version,
            tasks,
            answers,
            form: if is_applicant {
                form
            } else {
                FormData::default()
            },
            actionable,
            viewer_is_applicant: is_applicant,
        })
    }

    /// The caller's cases (their own and their enterprises'), newest first.
    pub async fn my_cases(
        &self,
        principal: &Principal,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        let person = person_of(principal)?;
        repo::cases_of_person(self.db.conn(), person, filter, page).await
    }

    /// Follow a case with its number and query code, without logging in.
    pub async fn public_progress(
        &self,
        case_no: &str,
        query_code: &str,
    ) -> Result<PublicProgress, CaseError> {
        let case = repo::case_by_no(self.db.conn(), case_no.trim())
            .await?
            .ok_or(CaseError::QueryMismatch)?;
        let expected = case.query_code.as_deref().unwrap_or_default();
        let given = query_code.trim().to_ascii_uppercase();
        // Compare digests so the time taken does not depend on how many characters match.
        if expected.is_empty() || sm3_hex(expected.as_bytes()) != sm3_hex(given.as_bytes()) {
            return Err(CaseError::QueryMismatch);
        }
        let events = repo::events_of_case(self.db.conn(), case.id, true).await?;
        Ok(PublicProgress {
            case_no: case.case_no.unwrap_or_default(),
            item_name: case.item_name,
            department_name: case.department_name,
            status: case.status,
            outcome: case.outcome,
            submitted_at: case.submitted_at,
            accepted_at: case.accepted_at,
            decision_due_at: case.decision_due_at,
            concluded_at: case.concluded_at,
            events,
        })
    }

    /// Granted decisions, published with personal data masked (结果公示).
    pub async fn disclosures(&self, page: PageRequest) -> Result<Page<Disclosure>, CaseError> {
        repo::disclosures(self.db.conn(), page).await
    }

    async fn posts_of(&self, staff: StaffId) -> Result<Vec<PostId>, CaseError> {
        posts_of_staff(self.db.conn(), staff).await
    }

    /// A staff member's inbox: open tasks of their posts.
    pub async fn inbox(
        &self,
        principal: &Principal,
        filter: &InboxFilter,
        page: PageRequest,
    ) -> Result<Page<InboxEntry>, CaseError> {
        let staff = staff_of(principal)?;
        let posts = self.posts_of(staff.id).await?;
        repo::inbox(self.db.conn(), &posts, staff.id, filter, page).await
    }

    pub async fn inbox_counts(&self, principal: &Principal) -> Result<InboxCounts, CaseError> {
        let staff = staff_of(principal)?;
        let posts = self.posts_of(staff.id).await?;
        repo::inbox_counts(self.db.conn(), &posts, staff.id).await
    }

    /// The names of the steps of the staff member's open tasks (to filter the inbox by).
    pub async fn inbox_steps(&self, principal: &Principal) -> Result<Vec<String>, CaseError> {
        let staff = staff_of(principal)?;
        let posts = self.posts_of(staff.id).await?;
        repo::inbox_steps(self.db.conn(), &posts, staff.id).await
    }

    /// The human names of a definition's posts ("审查岗（市市场监管局）"), for showing it.
    pub async fn post_names(
        &self,
        def: &WorkflowDef,
    ) -> Result<HashMap<PostRef, String>, CaseError> {
        Ok(repo::post_names(self.db.conn(), &def.post_refs())
            .await?
            .into_iter()
            .map(|(r, post, department)| (r, format!("{post}（{department}）")))
            .collect())
    }

    /// Cases of the staff member's department (lead or working on them), for its administrators.
    pub async fn department_cases(
        &self,
        principal: &Principal,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        let staff = staff_of(principal)?;
        if !(staff.has(Role::DepartmentAdmin) || staff.has(Role::PlatformAdmin)) {
            return Err(IdentityError::Forbidden.into());
        }
        repo::cases_of_departments(self.db.conn(), &[staff.department], filter, page).await
    }

    /// 电子监察: cases near or past their deadline in the supervisor's region.
    pub async fn supervision(
        &self,
        principal: &Principal,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        self.supervision_of(principal, None, filter, page).await
    }

    /// 电子监察 of one department of the supervisor's region (or of all of them with `None`).
    pub async fn supervision_of(
        &self,
        principal: &Principal,
        department: Option<DepartmentId>,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        let prefix = supervised_prefix(principal)?;
        repo::warned_cases(self.db.conn(), &prefix, department, filter, page).await
    }

    /// 电子监察 counts per department of the supervisor's region.
    pub async fn supervision_counts(
        &self,
        principal: &Principal,
    ) -> Result<Vec<DepartmentWarnings>, CaseError> {
        let prefix = supervised_prefix(principal)?;
        repo::warned_counts(self.db.conn(), &prefix).await
    }

    /// Grants on commitment awaiting verification in the supervisor's region.
    pub async fn pending_verifications(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        let prefix = supervised_prefix(principal)?;
        repo::pending_verifications(self.db.conn(), &prefix, page).await
    }

    // -----------------------------------------------------------------------------------------
    // The engine

    async fn resolve(&self, post: &PostRef) -> Result<ResolvedPost, CaseError> {
        resolve_post(self.db.conn(), post).await
    }

    /// Write the case under its revision, its history line, the audit entry and the notification job.
    async fn record(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        case: &mut Case,
        now: DateTime<Utc>,
        origin: &Origin,
        change: Change<'_>,
    ) -> Result<(), CaseError> {
        if !repo::save_case(tx, case, now).await? {
            return Err(CaseError::Conflict);
        }
        case.revision += 1;
        let actor_id = actor(principal);
        let actor_name = match principal {
            Principal::Staff(s) => id_repo::staff::staff_by_id(tx, s.id)
                .await?
                .map(|s| s.name)
                .unwrap_or_default(),
            Principal::Person(p) => id_repo::person_by_id(tx, *p)
                .await?
                .map(|r| r.person.name)
                .unwrap_or_default(),
            _ => String::new(),
        };
        let event = repo::insert_event(
            tx,
            &NewEvent {
                case_id: case.id,
                at: now,
                actor: &actor_id,
                actor_name: &actor_name,
                action: change.action,
                from_status: change.from,
                to_status: case.status,
                step_name: change.step_name,
                note: change.note,
                detail: change.detail.clone(),
                public: change.public,
            },
        )
        .await?;
        audit::append(
            tx,
            now,
            &AuditEvent::new(
                &actor_id,
                format!("case.{}", change.action),
                format!("case:{}", case.case_no.as_deref().unwrap_or("draft")),
                &origin.ip,
            )
            .detail(json!({
                "from": change.from.map(CaseStatus::code),
                "to": case.status.code(),
                "step": change.step_name,
            })),
        )
        .await?;
        if change.public && case.case_no.is_some() {
            jobs::enqueue(tx, now, &NewJob::new(NOTIFY_JOB, json!({ "event": event }))).await?;
        }
        Ok(())
    }

    /// Record a change (see [`record`](Self::record)), commit it, and return the case as stored.
    async fn finish(
        &self,
        tx: DatabaseTransaction,
        principal: &Principal,
        case: &mut Case,
        now: DateTime<Utc>,
        origin: &Origin,
        change: Change<'_>,
    ) -> Result<Case, CaseError> {
        self.record(&tx, principal, case, now, origin, change)
            .await?;
        tx.commit().await?;
        self.reload(case.id).await
    }

    /// Claim a task so colleagues on the same post see it is being handled.
    pub async fn claim(&self, principal: &Principal, task: TaskId) -> Result<(), CaseError> {
        let staff = staff_of(principal)?;
        let found = repo::task_by_id(self.db.conn(), task)
            .await?
            .ok_or(CaseError::TaskNotFound)?;
        let posts = self.posts_of(staff.id).await?;
        authorize(
            principal,
            &Action::WorkOnCase {
                holds_post: posts.contains(&found.post_id),
            },
        )?;
        if repo::claim_task(self.db.conn(), task, staff.id, self.clock.now()).await? {
            Ok(())
        } else if found.status == TaskStatus::Open {
            Err(CaseError::ClaimedByOther)
        } else {
            Err(CaseError::TaskClosed)
        }
    }

    /// Give a claimed task back to the post.
    pub async fn release(&self, principal: &Principal, task: TaskId) -> Result<(), CaseError> {
        let staff = staff_of(principal)?;
        if repo::release_task(self.db.conn(), task, staff.id).await? {
            Ok(())
        } else {
            Err(CaseError::TaskClosed)
        }
    }

    /// Load a task and its case for an action by staff holding the task's post.
    async fn task_for_action(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        task: TaskId,
    ) -> Result<(Task, Case, Workflow), CaseError> {
        let staff = staff_of(principal)?;
        let task = repo::task_by_id(tx, task)
            .await?
            .ok_or(CaseError::TaskNotFound)?;
        let posts = posts_of_staff(tx, staff.id).await?;
        authorize(
            principal,
            &Action::WorkOnCase {
                holds_post: posts.contains(&task.post_id),
            },
        )
        .map_err(|_| CaseError::NotOnPost)?;
        if task.claimed_by.is_some_and(|s| s != staff.id) {
            return Err(CaseError::ClaimedByOther);
        }
        let case = repo::case_by_id(tx, task.case_id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        let workflow = repo::workflow_by_id(tx, case.workflow_id)
            .await?
            .ok_or(CaseError::NoWorkflow)?;
        Ok((task, case, workflow))
    }

    /// Act on a task: the workflow moves on, and everything the action changes is written at once.
    #[tracing::instrument(skip_all, err)]
    pub async fn act(
        &self,
        principal: &Principal,
        task: TaskId,
        act: &Act,
        input: &ActInput,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let staff = staff_of(principal)?.clone();
        let opinion = input.opinion.trim();
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (task, mut case, workflow) = self.task_for_action(&tx, principal, task).await?;
        if task.status != TaskStatus::Open {
            return Err(CaseError::TaskClosed);
        }
        let def = &workflow.definition;
        let from = case.status;
        let mut detail = json!({});
        let mut public = true;
        match (task.kind, act) {
            (TaskKind::Step, Act::Step(action)) => {
                let step = def
                    .step(&task.step_id)
                    .ok_or_else(|| CaseError::Corrupt(format!("step {} gone", task.step_id)))?
                    .clone();
                if !step.offers(*action) {
                    return Err(CaseError::ActionNotOffered(action.code()));
                }
                if action.needs_opinion() && opinion.is_empty() {
                    return Err(CaseError::OpinionRequired);
                }
                let expected = match step.kind {
                    StepKind::Intake => CaseStatus::Submitted,
                    _ => CaseStatus::InReview,
                };
                if case.status != expected {
                    return Err(wrong(case.status, action.code()));
                }
                match action {
                    StepAction::Accept => {
                        self.accept(&tx, &mut case, def, &task, now).await?;
                    }
                    StepAction::Decline => {
                        case.status = CaseStatus::Declined;
                        case.outcome = Some(Outcome::Declined);
                        case.decision_note = opinion.to_owned();
                        case.concluded_at = Some(now);
                        case.accept_due_at = None;
                    }
                    StepAction::Supplement => {
                        let missing: Vec<String> = input
                            .missing
                            .iter()
                            .map(|m| m.trim().to_owned())
                            .filter(|m| !m.is_empty())
                            .collect();
                        if missing.is_empty() {
                            return Err(CaseError::MissingListRequired);
                        }
                        let open = repo::tasks_of_case(&tx, case.id)
                            .await?
                            .into_iter()
                            .filter(|t| {
                                t.id != task.id
                                    && matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
                            })
                            .count();
                        if open > 0 {
                            return Err(CaseError::SupplementDuringParallel);
                        }
                        hold_task(&tx, task.id).await?;
                        case.status = CaseStatus::Supplement;
                        case.supplement_due_at = Some(self.deadlines.supplement_due(now));
                        if step.kind == StepKind::Intake {
                            // Art. 32: the pre-review period starts again when the applicant resubmits.
                            case.accept_due_at = None;
                        } else {
                            case.suspended_at = Some(now);
                        }
                        detail = json!({ "missing": missing, "due": case.supplement_due_at.map(yiwang_db::ts) });
                    }
                    StepAction::Agree | StepAction::Disagree => {
                        self.advance(&tx, &case, def, &step, &task, now).await?;
                    }
                    StepAction::SendBack => {
                        self.send_back(&tx, &case, def, &step, &task, now).await?;
                        public = false;
                    }
                    StepAction::Special => {
                        let (kind, until) = input.special.ok_or(CaseError::SpecialRequired)?;
                        if until < Deadlines::date_of(now) {
                            return Err(CaseError::SpecialEndInPast);
                        }
                        hold_task(&tx, task.id).await?;
                        case.status = CaseStatus::Suspended;
                        case.suspended_at = Some(now);
                        case.special_until = Some(until);
                        detail = json!({ "kind": kind.code(), "until": until.to_string() });
                    }
                    StepAction::Grant | StepAction::Deny => {
                        self.decide(&tx, &mut case, def, &task, &staff, *action, opinion, now)
                            .await?;
                    }
                }
                if !matches!(action, StepAction::Supplement | StepAction::Special)
                    && !repo::close_task(&tx, task.id, action.code(), opinion, Some(staff.id), now)
                        .await?
                {
                    return Err(CaseError::TaskClosed);
                }
                if matches!(action, StepAction::Agree | StepAction::Disagree) {
                    // Reviewers' opinions are internal until the decision.
                    public = false;
                }
            }
            (TaskKind::Deliver, Act::Conclude) => {
                if case.status != CaseStatus::Decided {
                    return Err(wrong(case.status, "concluded"));
                }
                case.status = CaseStatus::Concluded;
                case.concluded_at = Some(now);
                if !repo::close_task(&tx, task.id, "conclude", opinion, Some(staff.id), now).await?
                {
                    return Err(CaseError::TaskClosed);
                }
            }
            (TaskKind::Verify, Act::Verify { confirmed }) => {
                if case.verification != Verification::Pending {
                    return Err(wrong(case.status, "verified"));
                }
                if !confirmed && opinion.is_empty() {
                    return Err(CaseError::OpinionRequired);
                }
                case.verification = if *confirmed {
                    Verification::Confirmed
                } else {
                    // The promise proved false: the grant is revoked (作废).
                    case.outcome = Some(Outcome::Voided);
                    case.decision_note = opinion.to_owned();
                    Verification::Failed
                };
                let result = if *confirmed { "confirmed" } else { "failed" };
                if !repo::close_task(&tx, task.id, result, opinion, Some(staff.id), now).await? {
                    return Err(CaseError::TaskClosed);
                }
            }
            (_, other) => return Err(CaseError::ActionNotOffered(action_verb(other))),
        }
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: action_verb(act),
                from: Some(from),
                step_name: &task.step_name,
                note: opinion,
                detail,
                public,
            },
        )
        .await
    }

    /// 受理: the decision clock starts; instant items are decided and concluded on the spot, items on
    /// commitment are granted at once and queued for verification, others move to their next steps.
    async fn accept(
        &self,
        tx: &DatabaseTransaction,
        case: &mut Case,
        def: &WorkflowDef,
        task: &Task,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let version = yiwang_catalog::repo::version_by_id(tx, case.item_version_id)
            .await?
            .ok_or(CatalogError::VersionNotFound)?;
        case.accepted_at = Some(now);
        case.accept_due_at = None;
        case.decision_due_at = Some(self.deadlines.decision_due(
            now,
            version.content.promised_limit,
            version.content.legal_limit,
        ));
        if def.instant {
            case.status = CaseStatus::Concluded;
            case.outcome = Some(Outcome::Granted);
            case.decided_at = Some(now);
            case.concluded_at = Some(now);
            return Ok(());
        }
        if let Some(commitment) = &def.commitment {
            case.status = CaseStatus::Concluded;
            case.outcome = Some(Outcome::Granted);
            case.decided_at = Some(now);
            case.concluded_at = Some(now);
            case.verification = Verification::Pending;
            let due = self.deadlines.step_due(now, commitment.verify_within_days);
            case.verify_due_at = Some(due);
            let post = resolve_post(tx, &commitment.verify_post).await?;
            repo::insert_task(
                tx,
                &NewTask {
                    case_id: case.id,
                    kind: TaskKind::Verify,
                    step_id: VERIFY_STEP.0,
                    step_name: VERIFY_STEP.1,
                    step_kind: None,
                    post,
                    prev: Some(task.id),
                    due_at: Some(due),
                    now,
                },
            )
            .await?;
            return Ok(());
        }
        case.status = CaseStatus::InReview;
        let intake = def
            .step(&task.step_id)
            .ok_or_else(|| CaseError::Corrupt("intake step gone".to_owned()))?;
        for next in &intake.next {
            self.open_step(tx, case, def, next, Some(task.id), now)
                .await?;
        }
        Ok(())
    }

    async fn open_step(
        &self,
        tx: &DatabaseTransaction,
        case: &Case,
        def: &WorkflowDef,
        step_id: &str,
        prev: Option<TaskId>,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let step = def
            .step(step_id)
            .ok_or_else(|| CaseError::Corrupt(format!("step {step_id} gone")))?;
        let post = resolve_post(tx, &step.post).await?;
        let due = step
            .limit_days
            .map(|d| self.deadlines.step_due(now, d))
            .or(case.decision_due_at);
        repo::insert_task(
            tx,
            &NewTask {
                case_id: case.id,
                kind: TaskKind::Step,
                step_id: &step.id,
                step_name: &step.name,
                step_kind: Some(step.kind),
                post,
                prev,
                due_at: due,
                now,
            },
        )
        .await?;
        Ok(())
    }

    /// 同意 / 不同意 at a review step: the next steps open; a join opens once no other branch is
    /// still working.
    async fn advance(
        &self,
        tx: &DatabaseTransaction,
        case: &Case,
        def: &WorkflowDef,
        step: &StepDef,
        task: &Task,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let others: Vec<Task> = repo::tasks_of_case(tx, case.id)
            .await?
            .into_iter()
            .filter(|t| t.id != task.id)
            .collect();
        for next in &step.next {
            let Some(next_step) = def.step(next) else {
                continue;
            };
            if next_step.join {
                let branches_busy = others.iter().any(|t| {
                    t.kind == TaskKind::Step
                        && matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
                });
                let already_open = others
                    .iter()
                    .any(|t| t.step_id == next_step.id && t.status == TaskStatus::Open);
                if branches_busy || already_open {
                    continue;
                }
            }
            self.open_step(tx, case, def, next, Some(task.id), now)
                .await?;
        }
        Ok(())
    }

    /// 退回: the previous step opens again for its post.
    async fn send_back(
        &self,
        tx: &DatabaseTransaction,
        case: &Case,
        def: &WorkflowDef,
        step: &StepDef,
        task: &Task,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        if step.join {
            return Err(CaseError::CannotSendBack);
        }
        let prev = match task.prev_task_id {
            Some(id) => repo::task_by_id(tx, id).await?,
            None => None,
        }
        .ok_or(CaseError::CannotSendBack)?;
        let prev_step = def.step(&prev.step_id).ok_or(CaseError::CannotSendBack)?;
        // Not to intake (use a supplement request), and not across a fork (the other branches would
        // run twice).
        if prev_step.kind == StepKind::Intake || prev_step.next.len() > 1 {
            return Err(CaseError::CannotSendBack);
        }
        self.open_step(tx, case, def, &prev.step_id, prev.prev_task_id, now)
            .await
    }

    /// 准予 / 不予: by someone other than whoever accepted the case, and a grant only when no review
    /// disagreed. The intake post then delivers the result.
    #[expect(
        clippy::too_many_arguments,
        reason = "one step of the engine with its context"
    )]
    async fn decide(
        &self,
        tx: &DatabaseTransaction,
        case: &mut Case,
        def: &WorkflowDef,
        task: &Task,
        staff: &StaffPrincipal,
        action: StepAction,
        opinion: &str,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let tasks = repo::tasks_of_case(tx, case.id).await?;
        if tasks.iter().any(|t| {
            t.step_kind == Some(StepKind::Intake)
                && t.result.as_deref() == Some("accept")
                && t.acted_by == Some(staff.id)
        }) {
            return Err(CaseError::SeparationOfDuties);
        }
        if action == StepAction::Grant {
            // The latest opinion of each review step counts (a step sent back and redone replaces
            // its earlier opinion).
            let mut latest: HashMap<&str, &str> = HashMap::new();
            for t in tasks
                .iter()
                .filter(|t| t.step_kind == Some(StepKind::Review) && t.status == TaskStatus::Done)
            {
                if let Some(result) = t.result.as_deref() {
                    latest.insert(t.step_id.as_str(), result);
                }
            }
            if latest.values().any(|r| *r == "disagree") {
                return Err(CaseError::ReviewDisagreed);
            }
        }
        case.status = CaseStatus::Decided;
        case.outcome = Some(if action == StepAction::Grant {
            Outcome::Granted
        } else {
            Outcome::Denied
        });
        case.decided_at = Some(now);
        opinion.clone_into(&mut case.decision_note);
        let intake = def
            .intake()
            .ok_or_else(|| CaseError::Corrupt("workflow without intake".to_owned()))?;
        let post = resolve_post(tx, &intake.post).await?;
        repo::insert_task(
            tx,
            &NewTask {
                case_id: case.id,
                kind: TaskKind::Deliver,
                step_id: DELIVER_STEP.0,
                step_name: DELIVER_STEP.1,
                step_kind: None,
                post,
                prev: Some(task.id),
                // Art. 44: the licence is issued within 10 working days of the decision.
                due_at: Some(
                    self.deadlines
                        .step_due(now, self.deadlines.policy.delivery_days),
                ),
                now,
            },
        )
        .await?;
        Ok(())
    }

    /// End a special procedure: the clock runs again and the deadline moves by the working days it
    /// stood still.
    #[tracing::instrument(skip_all, err)]
    pub async fn end_special(
        &self,
        principal: &Principal,
        task: TaskId,
        note: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (task, mut case, _) = self.task_for_action(&tx, principal, task).await?;
        if case.status != CaseStatus::Suspended || task.status != TaskStatus::Waiting {
            return Err(wrong(case.status, "resumed"));
        }
        let stopped = case
            .suspended_at
            .map_or(0, |from| self.deadlines.stopped_days(from, now));
        case.decision_due_at = case
            .decision_due_at
            .map(|d| self.deadlines.moved(d, stopped));
        case.status = CaseStatus::InReview;
        case.suspended_at = None;
        case.special_until = None;
        repo::set_task_status(&tx, task.id, TaskStatus::Waiting, TaskStatus::Open).await?;
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: "special_end",
                from: Some(CaseStatus::Suspended),
                step_name: &task.step_name,
                note: note.trim(),
                detail: json!({ "stopped_days": stopped }),
                public: true,
            },
        )
        .await
    }

    /// The applicant supplies what the supplement notice listed (new answers and/or files).
    #[tracing::instrument(skip_all, err)]
    pub async fn resubmit(
        &self,
        principal: &Principal,
        id: CaseId,
        answers: Option<&BTreeMap<String, String>>,
        materials: &[(String, String)],
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        let mut case = self.own_case(person, id).await?;
        if case.status != CaseStatus::Supplement {
            return Err(wrong(case.status, "resubmitted"));
        }
        let workflow = self.workflow(case.workflow_id).await?;
        let version = self.item_version(&case).await?;
        if let Some(answers) = answers {
            validate_form(&workflow.definition.form, answers).map_err(CaseError::FormInvalid)?;
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if let Some(answers) = answers {
            let sealed = self.seal_form(answers, rng);
            repo::set_case_form(
                &tx,
                id,
                &sealed,
                &case.contact_email,
                case.commitment_signed,
                now,
            )
            .await?;
            // set_case_form bumped the revision.
            case.revision += 1;
        }
        self.attach_materials(&tx, id, person, &version, materials, now)
            .await?;
        let waiting = repo::tasks_of_case(&tx, id)
            .await?
            .into_iter()
            .find(|t| t.status == TaskStatus::Waiting)
            .ok_or_else(|| CaseError::Corrupt("supplement without a waiting task".to_owned()))?;
        repo::set_task_status(&tx, waiting.id, TaskStatus::Waiting, TaskStatus::Open).await?;
        let mut detail = json!({});
        if waiting.step_kind == Some(StepKind::Intake) {
            case.status = CaseStatus::Submitted;
            case.accept_due_at = Some(self.deadlines.accept_due(now));
        } else {
            let stopped = case
                .suspended_at
                .map_or(0, |from| self.deadlines.stopped_days(from, now));
            case.decision_due_at = case
                .decision_due_at
                .map(|d| self.deadlines.moved(d, stopped));
            case.status = CaseStatus::InReview;
            case.suspended_at = None;
            detail = json!({ "stopped_days": stopped });
        }
        case.supplement_due_at = None;
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: "resubmit",
                from: Some(CaseStatus::Supplement),
                step_name: &waiting.step_name,
                note: "",
                detail,
                public: true,
            },
        )
        .await
    }

    /// The applicant withdraws before a decision.
    #[tracing::instrument(skip_all, err)]
    pub async fn withdraw(
        &self,
        principal: &Principal,
        id: CaseId,
        reason: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        let mut case = self.own_case(person, id).await?;
        if !case.status.withdrawable() {
            return Err(wrong(case.status, "withdrawn"));
        }
        let from = case.status;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::cancel_tasks(&tx, id, now).await?;
        case.status = CaseStatus::Withdrawn;
        case.outcome = Some(Outcome::Withdrawn);
        case.concluded_at = Some(now);
        case.accept_due_at = None;
        case.supplement_due_at = None;
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: "withdraw",
                from: Some(from),
                step_name: "",
                note: reason.trim(),
                detail: json!({}),
                public: true,
            },
        )
        .await
    }

    /// 退件: the supplement period ended without the applicant's answer.
    #[tracing::instrument(skip_all, err)]
    pub async fn return_case(
        &self,
        principal: &Principal,
        id: CaseId,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let case = self.reload(id).await?;
        if let Principal::Staff(staff) = principal {
            let posts = self.posts_of(staff.id).await?;
            let holds = repo::tasks_of_case(self.db.conn(), id)
                .await?
                .iter()
                .any(|t| t.status == TaskStatus::Waiting && posts.contains(&t.post_id));
            authorize(principal, &Action::WorkOnCase { holds_post: holds })?;
        } else if !matches!(principal, Principal::System) {
            return Err(IdentityError::Forbidden.into());
        }
        self.return_unanswered(principal, case, origin).await
    }

    async fn return_unanswered(
        &self,
        principal: &Principal,
        mut case: Case,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let now = self.clock.now();
        if case.status != CaseStatus::Supplement {
            return Err(wrong(case.status, "returned"));
        }
        if case.supplement_due_at.is_none_or(|due| now <= due) {
            return Err(CaseError::SupplementNotDue);
        }
        let tx = self.db.begin().await?;
        repo::cancel_tasks(&tx, case.id, now).await?;
        case.status = CaseStatus::Returned;
        case.outcome = Some(Outcome::Returned);
        case.concluded_at = Some(now);
        case.supplement_due_at = None;
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: "return",
                from: Some(CaseStatus::Supplement),
                step_name: "",
                note: "",
                detail: json!({}),
                public: true,
            },
        )
        .await
    }

    /// Ask for the one extension of the decision limit (a staff member working on the case).
    #[tracing::instrument(skip_all, err)]
    pub async fn request_extension(
        &self,
        principal: &Principal,
        id: CaseId,
        reason: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let staff = staff_of(principal)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(CaseError::OpinionRequired);
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut case = repo::case_by_id(&tx, id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        let posts = posts_of_staff(&tx, staff.id).await?;
        let holds = repo::tasks_of_case(&tx, id)
            .await?
            .iter()
            .any(|t| t.status == TaskStatus::Open && posts.contains(&t.post_id));
        authorize(principal, &Action::WorkOnCase { holds_post: holds })?;
        if !matches!(case.status, CaseStatus::InReview | CaseStatus::Suspended) {
            return Err(wrong(case.status, "extended"));
        }
        if case.extension != ExtensionState::None {
            return Err(CaseError::AlreadyExtended);
        }
        case.extension = ExtensionState::Requested;
        case.extension_reason = reason.to_owned();
        case.extension_requested_by = Some(staff.id);
        let from = case.status;
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: "extension_request",
                from: Some(from),
                step_name: "",
                note: reason,
                detail: json!({}),
                public: false,
            },
        )
        .await
    }

    /// The department's administrator approves (the deadline moves by 10 working days) or refuses.
    #[tracing::instrument(skip_all, err)]
    pub async fn decide_extension(
        &self,
        principal: &Principal,
        id: CaseId,
        approve: bool,
        note: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut case = repo::case_by_id(&tx, id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        authorize(
            principal,
            &Action::ApproveExtension {
                department: case.department_id,
                requested_by: case.extension_requested_by,
            },
        )
        .map_err(|e| match (principal, case.extension_requested_by) {
            (Principal::Staff(s), Some(by)) if s.id == by => CaseError::SelfApproval,
            _ => e.into(),
        })?;
        if case.extension != ExtensionState::Requested {
            return Err(wrong(case.status, "extended"));
        }
        let mut detail = json!({});
        if approve {
            case.extension = ExtensionState::Approved;
            case.extension_days = self.deadlines.policy.extension_days;
            case.decision_due_at = case
                .decision_due_at
                .map(|d| self.deadlines.moved(d, case.extension_days));
            detail = json!({ "days": case.extension_days, "due": case.decision_due_at.map(yiwang_db::ts) });
        } else {
            case.extension = ExtensionState::Refused;
        }
        let from = case.status;
        self.finish(
            tx,
            principal,
            &mut case,
            now,
            origin,
            Change {
                action: if approve {
                    "extension_approved"
                } else {
                    "extension_refused"
                },
                from: Some(from),
                step_name: "",
                note: note.trim(),
                detail,
                // The applicant is told of an approved extension and its reason (Art. 42).
                public: approve,
            },
        )
        .await
    }

    // -----------------------------------------------------------------------------------------
    // Supervision sweep

    /// Recompute warning levels of every running case and return cases whose supplement period
    /// ended. Safe on any number of nodes at once: each change is one conditional update.
    #[tracing::instrument(skip_all, err)]
    pub async fn sweep(&self) -> Result<SweepReport, CaseError> {
        let mut report = SweepReport::default();
        let mut after = CaseId::new(0);
        loop {
            let batch = repo::running_cases(self.db.conn(), after, 500).await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.id;
            for case in batch {
                report.checked += 1;
                let now = self.clock.now();
                if case.status == CaseStatus::Supplement
                    && case.supplement_due_at.is_some_and(|due| now > due)
                {
                    match self
                        .return_unanswered(&Principal::System, case, &Origin::default())
                        .await
                    {
                        Ok(_) => report.returned += 1,
                        Err(CaseError::Conflict | CaseError::WrongState { .. }) => {}
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                let level = if case.status == CaseStatus::Supplement {
                    // The applicant's clock: no warning to staff.
                    Warning::None
                } else {
                    self.deadlines.warning(now, case.running_deadline())
                };
                if level == case.warning {
                    continue;
                }
                let tx = self.db.begin().await?;
                if repo::set_warning(&tx, case.id, case.warning, level, now).await? {
                    repo::insert_event(
                        &tx,
                        &NewEvent {
                            case_id: case.id,
                            at: now,
                            actor: "system",
                            actor_name: "",
                            action: "warning",
                            from_status: Some(case.status),
                            to_status: case.status,
                            step_name: "",
                            note: "",
                            detail: json!({ "from": case.warning.code(), "to": level.code() }),
                            public: false,
                        },
                    )
                    .await?;
                    audit::append(
                        &tx,
                        now,
                        &AuditEvent::new(
                            "system",
                            "case.warning",
                            format!("case:{}", case.case_no.as_deref().unwrap_or("")),
                            "",
                        )
                        .detail(json!({ "from": case.warning.code(), "to": level.code() })),
                    )
                    .await?;
                    tx.commit().await?;
                    report.warnings_changed += 1;
                }
            }
        }
        Ok(report)
    }

    // -----------------------------------------------------------------------------------------
    // Notifications

    /// The text of a notification about a public history line (Chinese, the language of SMS here).
    pub fn notice_text(case: &Case, event: &CaseEvent) -> (String, String) {
        let no = case.case_no.as_deref().unwrap_or_default();
        let what = match event.action.as_str() {
            "submit" => "已提交，等待受理".to_owned(),
            "accept" => match case.outcome {
                Some(Outcome::Granted) => "已受理并准予办结".to_owned(),
                _ => "已受理，进入审查".to_owned(),
            },
            "decline" => format!("不予受理，理由：{}", event.note),
            "supplement" => {
                let missing = event
                    .detail
                    .get("missing")
                    .and_then(serde_json::Value::as_array)
                    .map(|list| {
                        list.iter()
                            .filter_map(serde_json::Value::as_str)
                            .collect::<Vec<_>>()
                            .join("、")
                    })
                    .unwrap_or_default();
                format!("需要补正：{missing}。请登录一网通办补齐后重新提交")
            }
            "resubmit" => "补正材料已收到".to_owned(),
            "special" => "进入特别程序（期间不计入办理时限）".to_owned(),
            "special_end" => "特别程序结束，恢复办理".to_owned(),
            "grant" => "审批通过（准予），请留意领取结果".to_owned(),
            "deny" => format!("不予许可，理由：{}", event.note),
            "conclude" => "已办结".to_owned(),
            "withdraw" => "已撤回".to_owned(),
            "return" => "补正期限届满未补正，已退件".to_owned(),
            "extension_approved" => format!("办理时限依法延长，理由：{}", event.note),
            "verify_failed" => format!("承诺核查不实，许可已作废：{}", event.note),
            other => format!("状态更新（{other}）"),
        };
        (
            format!("【一网通办】办件 {no} 进度通知"),
            format!(
                "【一网通办】您申请的“{}”（办件编号{no}）{what}。",
                case.item_name
            ),
        )
    }

    /// Deliver the notification of one history line: SMS to the applicant's mobile, and email when
    /// the application gave an address.
    pub async fn deliver_notice(
        &self,
        event_id: i64,
        sender: &dyn MessageSender,
    ) -> Result<(), String> {
        let conn = self.db.conn();
        let Some((case_id, event)) = repo::event_by_id(conn, event_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        let case = repo::case_by_id(conn, case_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("case gone")?;
        let (subject, text) = Self::notice_text(&case, &event);
        let person = id_repo::person_by_id(conn, case.applicant.person_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("applicant gone")?;
        let mobile = self
            .pii
            .open(PiiField::Mobile, &person.mobile_enc)
            .map_err(|e| e.to_string())
            .and_then(|m| Mobile::parse(&m).map_err(|e| e.to_string()))?;
        sender
            .send_sms(&Sms {
                to: mobile,
                text: text.clone(),
            })
            .await
            .map_err(|e| e.to_string())?;
        if !case.contact_email.is_empty() {
            sender
                .send_email(&Email {
                    to: case.contact_email.clone(),
                    subject,
                    text,
                })
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Register the `cases.notify` handler.
pub fn register_handlers(worker: &mut Worker, cases: Cases, sender: Arc<dyn MessageSender>) {
    worker.register(NOTIFY_JOB, move |job: Job| {
        let cases = cases.clone();
        let sender = Arc::clone(&sender);
        async move {
            let event = job
                .payload
                .get("event")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| format!("job {} has no event id", job.id))?;
            cases.deliver_notice(event, sender.as_ref()).await
        }
    });
}

/// The posts a staff member holds. Reads inside a transaction go through it: a transaction that
/// waited for a second pooled connection while holding the (SQLite) write lock would starve the pool
/// once every connection is a transaction waiting for that lock.
async fn posts_of_staff<C: ConnectionTrait>(
    conn: &C,
    staff: StaffId,
) -> Result<Vec<PostId>, CaseError> {
    Ok(yiwang_identity::repo::staff::staff_by_id(conn, staff)
        .await?
        .map(|s| s.posts.into_iter().map(|p| p.id).collect())
        .unwrap_or_default())
}

/// A workflow post in the organisation, read on `conn` (see [`posts_of_staff`]).
async fn resolve_post<C: ConnectionTrait>(
    conn: &C,
    post: &PostRef,
) -> Result<ResolvedPost, CaseError> {
    repo::resolve_posts(conn, std::slice::from_ref(post))
        .await?
        .into_iter()
        .next()
        .map(|(_, p)| p)
        .ok_or_else(|| CaseError::Corrupt(format!("post {post} no longer exists")))
}

/// Helper for tests and the demo: the China-local date a deadline falls on.
pub fn due_date(at: DateTime<Utc>) -> NaiveDate {
    Deadlines::date_of(at)
}
