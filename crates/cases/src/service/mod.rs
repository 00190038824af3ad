//! Case use cases: applying (drafts, materials, submission, counter registration), the workflow engine
//! (intake, review steps with parallel branches and joins, decision, delivery, commitment verification),
//! deadlines and their supervision, following a case, and notifications.
//!
//! Every state change runs in one transaction that re-reads the case, checks the rule, writes the case
//! under its revision (so two concurrent actions cannot both apply), the task rows, a history event,
//! the audit entry and the notification job; an illegal transition is refused before anything is
//! written.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_catalog::Catalog;
use yiwang_catalog::model::{ItemId, ItemVersion};
use yiwang_db::{ConnectionTrait, Db};
use yiwang_identity::IdentityError;
use yiwang_identity::model::{PersonId, PostId, Role, StaffId};
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Action, Principal, StaffPrincipal, authorize};
use yiwang_kernel::{RegionCode, SharedClock};

use crate::CaseError;
use crate::deadline::Deadlines;
use crate::files::FileStore;
use crate::form::{FieldProblem, FormData};
use crate::model::{
    Applicant, Case, CaseEvent, CaseMaterial, CaseStatus, Outcome, Task, TaskId, Workflow,
};
use crate::repo;
use crate::workflow::{PostRef, ResolvedPost, WorkflowDef};

/// The outbox job that tells the applicant about a change of their case.
pub const NOTIFY_JOB: &str = "cases.notify";
/// The outbox job written when a case is concluded (办结), `{"case": <id>}`: other domains act on
/// it (the ratings module invites the applicant to rate the service).
pub const CONCLUDED_JOB: &str = "cases.concluded";
/// The step id and name of the window's delivery of the result (一窗出件).
pub const DELIVER_STEP: (&str, &str) = ("deliver", "办结送达");
/// The step id and name of the verification of a commitment.
pub const VERIFY_STEP: (&str, &str) = ("verify", "承诺核查");
mod apply;
mod deadlines;
mod engine;
mod files;
mod form;
mod licences;
mod notifications;
mod view;
mod workflows;

pub use form::{
    ApplicationForm, MaterialUpload, Problem, Resubmission, SavedApplication, answer_problems,
    completeness,
};
pub use licences::{
    NOTICE_FORMAT, NOTICE_QR_PREFIX, NOTICES, NoticePayload, NoticeStatement, NoticeVerdict,
    notice_qr_statement, notice_title,
};
pub use notifications::register_handlers;

/// The longest search text (case number prefix, name fragment, step name) a list accepts, in
/// characters; longer is refused as a form problem (422), so no request sends the database an
/// unbounded pattern.
pub const MAX_FILTER_CHARS: usize = 100;
/// The longest case key (public id or case number) and query code looked up; a longer key cannot
/// name a case.
pub const MAX_KEY_CHARS: usize = 64;

/// `field_too_long` for `key` when `text` is longer than `max` characters.
fn bounded(key: &str, text: Option<&str>, max: usize) -> Result<(), CaseError> {
    if text.is_some_and(|t| t.chars().nth(max).is_some()) {
        Err(CaseError::FormInvalid(vec![FieldProblem {
            key: key.to_owned(),
            code: "field_too_long",
        }]))
    } else {
        Ok(())
    }
}

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
    /// Files attached to no case within the kept period, deleted.
    pub files_removed: usize,
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
    /// E-licences: issued on grant, seals of notices, 免提交 (see `licences.rs`).
    licenses: Option<yiwang_licenses::Licenses>,
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

/// What storing an application needs from the catalog and identity, read before its transaction.
struct Prepared {
    guide: yiwang_catalog::service::Guide,
    workflow: Workflow,
    applicant: Applicant,
    contact_email: String,
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
            licenses: None,
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
}

/// The posts a staff member holds. Reads inside a transaction go through it: a transaction that
/// waited for a second pooled connection while holding the (SQLite) write lock would starve the pool
/// once every connection is a transaction waiting for that lock.
async fn posts_of_staff<C: ConnectionTrait>(
    conn: &C,
    staff: StaffId,
) -> Result<Vec<PostId>, CaseError> {
    Ok(yiwang_identity::reads::staff_in(conn, staff)
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
