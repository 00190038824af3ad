//! Cases (办件), their tasks (one per step a post works on), their history and materials.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use yiwang_catalog::model::{ItemId, VersionId};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId, PostId, StaffId};

use crate::workflow::{StepAction, StepKind};

yiwang_kernel::define_id!(pub CaseId);
yiwang_kernel::define_id!(pub TaskId);
yiwang_kernel::define_id!(pub WorkflowId);
yiwang_kernel::define_id!(pub FileId);

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }
    };
}

code_enum! {
    /// Where a case is in its life (GLOSSARY §1).
    CaseStatus {
        Draft = "draft",
        /// 申报: waiting for the intake post's pre-review.
        Submitted = "submitted",
        /// 补正: waiting for the applicant to supply what the notice lists.
        Supplement = "supplement",
        /// 受理 and being reviewed.
        InReview = "in_review",
        /// 特别程序: the clock is stopped.
        Suspended = "suspended",
        /// 准予 / 不予 decided; the intake window delivers the result.
        Decided = "decided",
        /// 办结
        Concluded = "concluded",
        /// 不予受理
        Declined = "declined",
        /// 撤回 by the applicant
        Withdrawn = "withdrawn",
        /// 退件: the supplement never came
        Returned = "returned",
    }
}

impl CaseStatus {
    /// No further action is possible.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseStatus::Concluded
                | CaseStatus::Declined
                | CaseStatus::Withdrawn
                | CaseStatus::Returned
        )
    }

    /// The applicant may still withdraw (nothing has been decided).
    pub fn withdrawable(self) -> bool {
        matches!(
            self,
            CaseStatus::Submitted
                | CaseStatus::Supplement
                | CaseStatus::InReview
                | CaseStatus::Suspended
        )
    }
}

code_enum! {
    /// How a case ended (GLOSSARY §2 case outcome).
    Outcome {
        /// 出证办结 (准予)
        Granted = "granted",
        /// 不予许可
        Denied = "denied",
        /// 不予受理
        Declined = "declined",
        /// 退件
        Returned = "returned",
        /// 撤回
        Withdrawn = "withdrawn",
        /// 作废: a grant on commitment revoked after the promise proved false
        Voided = "voided",
    }
}

code_enum! {
    /// 电子监察 warning level of a case's deadline.
    Warning {
        None = "none",
        Yellow = "yellow",
        Red = "red",
        Overdue = "overdue",
    }
}

code_enum! {
    /// Where an application came from; online and counter cases are the same record.
    Channel {
        Online = "online",
        Counter = "counter",
    }
}

code_enum! {
    TaskStatus {
        Open = "open",
        /// Waiting for the applicant's supplement or the end of a special procedure.
        Waiting = "waiting",
        Done = "done",
        /// Closed without action (the case was withdrawn or returned).
        Cancelled = "cancelled",
    }
}

code_enum! {
    /// What a task is for: a workflow step, the window's delivery of the result, or the later
    /// verification of a commitment.
    TaskKind {
        Step = "step",
        Deliver = "deliver",
        Verify = "verify",
    }
}

code_enum! {
    /// The one extension of the decision limit (行政许可法 Art. 42).
    ExtensionState {
        None = "none",
        Requested = "requested",
        Approved = "approved",
        Refused = "refused",
    }
}

code_enum! {
    /// Later verification of a grant on commitment.
    Verification {
        None = "none",
        Pending = "pending",
        Confirmed = "confirmed",
        Failed = "failed",
    }
}

code_enum! {
    /// 特别程序 kinds (行政许可法 Art. 45).
    SpecialKind {
        Hearing = "hearing",
        Testing = "testing",
        Inspection = "inspection",
        Quarantine = "quarantine",
        Appraisal = "appraisal",
        ExpertReview = "expert_review",
    }
}

/// Who applies: a person for themselves, or for an enterprise they represent or act for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applicant {
    #[serde(skip)]
    pub person_id: PersonId,
    #[serde(skip)]
    pub enterprise_id: Option<EnterpriseId>,
    /// The person's or the enterprise's name.
    pub name: String,
    /// Masked resident ID, or the USCC (public for enterprises).
    pub id_masked: String,
}

/// A case as staff and its applicant see it.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    #[serde(skip)]
    pub id: CaseId,
    /// Random identifier for addresses.
    pub public_id: String,
    /// 办件编号; assigned at submission.
    pub case_no: Option<String>,
    /// Lets anyone holding it follow the case without logging in (the applicant has it).
    #[serde(skip)]
    pub query_code: Option<String>,
    #[serde(skip)]
    pub item_id: ItemId,
    #[serde(skip)]
    pub item_version_id: VersionId,
    #[serde(skip)]
    pub workflow_id: WorkflowId,
    pub item_name: String,
    pub item_code: String,
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub department_name: String,
    pub applicant: Applicant,
    pub channel: Channel,
    pub status: CaseStatus,
    pub outcome: Option<Outcome>,
    pub warning: Warning,
    pub instant: bool,
    pub commitment_signed: bool,
    pub verification: Verification,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
    /// Pre-review must be done by then (5 working days).
    pub accept_due_at: Option<DateTime<Utc>>,
    /// The decision limit (promised, else legal), extended and moved by stopped-clock periods.
    pub decision_due_at: Option<DateTime<Utc>>,
    /// The applicant must supply the missing materials by then, else the case is returned.
    pub supplement_due_at: Option<DateTime<Utc>>,
    pub suspended_at: Option<DateTime<Utc>>,
    /// Expected end of the current special procedure.
    pub special_until: Option<NaiveDate>,
    pub extension: ExtensionState,
    pub extension_days: u32,
    pub extension_reason: String,
    #[serde(skip)]
    pub extension_requested_by: Option<StaffId>,
    pub verify_due_at: Option<DateTime<Utc>>,
    /// The decision's wording (reasons for a denial, conditions of a grant).
    pub decision_note: String,
    /// Staff who registered the case at a counter.
    #[serde(skip)]
    pub registered_by: Option<StaffId>,
    #[serde(skip)]
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// The deadline the case is currently measured against, if its clock is running.
    pub fn running_deadline(&self) -> Option<DateTime<Utc>> {
        match self.status {
            CaseStatus::Submitted => self.accept_due_at,
            CaseStatus::InReview => self.decision_due_at,
            CaseStatus::Supplement => self.supplement_due_at,
            _ => None,
        }
    }
}

/// One piece of work for a post: a workflow step of a case, a delivery or a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    #[serde(skip)]
    pub id: TaskId,
    #[serde(skip)]
    pub case_id: CaseId,
    pub kind: TaskKind,
    pub step_id: String,
    pub step_name: String,
    pub step_kind: Option<StepKind>,
    #[serde(skip)]
    pub department_id: DepartmentId,
    #[serde(skip)]
    pub post_id: PostId,
    pub post_name: String,
    pub status: TaskStatus,
    #[serde(skip)]
    pub prev_task_id: Option<TaskId>,
    #[serde(skip)]
    pub claimed_by: Option<StaffId>,
    pub claimed_by_name: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    pub opinion: String,
    #[serde(skip)]
    pub acted_by: Option<StaffId>,
    pub acted_by_name: Option<String>,
    pub acted_at: Option<DateTime<Utc>>,
}

/// A task in a post's inbox, with what the list shows of its case.
#[derive(Debug, Clone, Serialize)]
pub struct InboxEntry {
    pub task: Task,
    pub case_no: String,
    pub item_name: String,
    pub applicant_name: String,
    pub case_status: CaseStatus,
    pub case_warning: Warning,
    pub decision_due_at: Option<DateTime<Utc>>,
}

/// One line of a case's history.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    /// `person:<id>`, `staff:<id>` or `system`.
    #[serde(skip)]
    pub actor: String,
    /// The acting staff member's or applicant's name; empty for the system.
    pub actor_name: String,
    /// `submit`, `accept`, `supplement`, `agree`, `grant`, `conclude`, `withdraw`, `warning`…
    pub action: String,
    pub from_status: Option<CaseStatus>,
    pub to_status: CaseStatus,
    pub step_name: String,
    /// Opinion or reason as written.
    pub note: String,
    /// Extra facts: missing materials, special procedure kind and expected end, new deadline…
    pub detail: serde_json::Value,
    /// Shown to the applicant (internal opinions of reviewers are not).
    pub public: bool,
}

/// A material file kept for a person (reusable in later applications).
#[derive(Debug, Clone, Serialize)]
pub struct MaterialFile {
    #[serde(skip)]
    pub id: FileId,
    pub public_id: String,
    #[serde(skip)]
    pub owner: PersonId,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// SM3 of the content, hex.
    pub digest: String,
    #[serde(skip)]
    pub storage_key: String,
    pub created_at: DateTime<Utc>,
}

/// A file attached to a case as one of the item's materials.
#[derive(Debug, Clone, Serialize)]
pub struct CaseMaterial {
    pub material: String,
    pub file: MaterialFile,
}

/// A workflow definition version.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: WorkflowId,
    pub item_id: ItemId,
    pub version_no: u32,
    pub definition: crate::workflow::WorkflowDef,
    pub published_at: DateTime<Utc>,
    pub published_by: String,
}

/// What a staff member does to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// A workflow action at a step.
    Step(StepAction),
    /// The window hands the result over (办结).
    Conclude,
    /// The commitment was found true or false.
    Verify { confirmed: bool },
}

/// Extra facts an action may need.
#[derive(Debug, Clone, Default)]
pub struct ActInput {
    /// The opinion or reason, as written.
    pub opinion: String,
    /// For a supplement request: every missing or faulty thing, one per line item.
    pub missing: Vec<String>,
    /// For a special procedure.
    pub special: Option<(SpecialKind, NaiveDate)>,
}

/// Counts for a staff member's workbench.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct InboxCounts {
    pub open: u64,
    pub claimed_by_me: u64,
    pub yellow: u64,
    pub red: u64,
    pub overdue: u64,
}

/// 电子监察 counts of one department.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentWarnings {
    #[serde(skip)]
    pub department_id: DepartmentId,
    pub department_name: String,
    pub yellow: u64,
    pub red: u64,
    pub overdue: u64,
}

/// A granted decision as published (结果公示): personal data masked.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosure {
    pub case_no: String,
    pub item_name: String,
    pub department_name: String,
    pub applicant: String,
    pub decided_at: DateTime<Utc>,
}

/// The applicant as published: a person's name masked to its first character (张**), an enterprise's
/// name in full (legal persons' names are public).
pub fn mask_name(case: &Case) -> String {
    if case.applicant.enterprise_id.is_some() {
        return case.applicant.name.clone();
    }
    let mut chars = case.applicant.name.chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}
