//! Domain types of requests: typed ids, channels, types, urgencies, states, mediation levels,
//! petition stages and the views the service answers with. The department's view of a request
//! ([`DepartmentView`]) has no field for the submitter's name or mobile: whistle-blower
//! confidentiality (举报人保密) is a property of the type, not of a check.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yiwang_identity::model::{DepartmentId, PersonId, StaffId};
use yiwang_kernel::TimeLimit;

yiwang_kernel::define_id!(
    /// A citizen request (诉求).
    pub RequestId
);
yiwang_kernel::define_id!(
    /// A knowledge-base entry (知识库).
    pub KnowledgeId
);
yiwang_kernel::define_id!(
    /// A grid (网格) inside a community.
    pub GridId
);
yiwang_kernel::define_id!(
    /// One level of a mediation (调处).
    pub MediationId
);

/// Defines a closed code list serialised as its code.
macro_rules! code_list {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal / $zh:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised code.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese term shown in pages.
            pub fn zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// Parses a stored or submitted code.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

code_list!(
    /// Where a request came in.
    Channel {
        /// The portal: a logged-in citizen, or anonymous with a mobile.
        Web = "web" / "网站",
        /// 12345 hotline, entered by an operator.
        Hotline = "hotline" / "12345热线",
        /// Reported by a grid worker (网格员上报).
        Grid = "grid" / "网格上报",
        /// Online petition (网上信访).
        Petition = "petition" / "网上信访",
        /// 小微企业专区.
        SmallBusiness = "small_business" / "小微企业专区",
        Api = "api" / "接口",
    }
);

code_list!(
    /// 诉求类型.
    RequestKind {
        Consultation = "consultation" / "咨询",
        Help = "help" / "求助",
        Complaint = "complaint" / "投诉",
        /// 举报: the reporter's identity is never shown to the handling department.
        Report = "report" / "举报",
        Suggestion = "suggestion" / "建议",
        Praise = "praise" / "表扬",
    }
);

code_list!(
    /// How fast the request must be handled; each has a configured limit.
    Urgency {
        Urgent = "urgent" / "特急",
        Priority = "priority" / "紧急",
        Normal = "normal" / "一般",
        Complex = "complex" / "复杂",
    }
);

code_list!(
    /// The closed loop: 受理 → 派单 → 签收/办理 → 答复 → 办结 → 回访 → 评价.
    Status {
        Received = "received" / "已受理",
        Dispatched = "dispatched" / "已派单",
        /// Signed for (签收) by the lead department and being handled.
        Handling = "handling" / "办理中",
        Replied = "replied" / "已答复",
        Concluded = "concluded" / "已办结",
        Visited = "visited" / "已回访",
        /// Rated by the submitter (评价): the loop is closed.
        Closed = "closed" / "已评价",
        /// Merged into another request as a duplicate.
        Merged = "merged" / "已合并",
    }
);

impl Status {
    /// The handling limit runs (warnings and overdue marks apply).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Received | Status::Dispatched | Status::Handling
        )
    }

    /// 办结 or later (or merged into another).
    pub fn is_concluded(self) -> bool {
        matches!(
            self,
            Status::Concluded | Status::Visited | Status::Closed | Status::Merged
        )
    }
}

code_list!(
    /// 回访 result.
    VisitResult {
        Satisfied = "satisfied" / "满意",
        /// Sends the request back to the lead department (重办).
        Unsatisfied = "unsatisfied" / "不满意",
    }
);

code_list!(
    /// 主办 or 协办.
    AssignmentRole {
        Lead = "lead" / "主办",
        Assist = "assist" / "协办",
    }
);

code_list!(
    /// The three levels of 三级调处.
    MediationLevel {
        Community = "community" / "社区",
        Street = "street" / "街道",
        District = "district" / "区",
    }
);

code_list!(
    /// How one level of mediation ended.
    MediationOutcome {
        /// 调解协议 signed.
        Agreed = "agreed" / "达成协议",
        /// Sent up one level (unresolved or overdue).
        Escalated = "escalated" / "上报",
        /// Unresolved at the district: the parties are told of other remedies.
        Failed = "failed" / "调解不成",
    }
);

code_list!(
    /// 信访 stages.
    PetitionStage {
        Submitted = "submitted" / "待受理",
        Accepted = "accepted" / "已受理",
        NotAccepted = "not_accepted" / "不予受理",
        /// The written reply (处理意见书) was issued.
        Concluded = "concluded" / "已办结",
        UnderReview = "under_review" / "复查中",
        Reviewed = "reviewed" / "已复查",
        UnderReReview = "under_rereview" / "复核中",
        /// 复核 decided: the matter is final.
        Final = "final" / "已终结",
    }
);

code_list!(
    /// Written petition documents.
    LetterKind {
        Acceptance = "acceptance" / "受理告知书",
        NonAcceptance = "non_acceptance" / "不予受理告知书",
        Extension = "extension" / "延期告知书",
        Reply = "reply" / "处理意见书",
        ReviewRequest = "review_request" / "复查申请",
        ReviewDecision = "review_decision" / "复查意见书",
        ReReviewRequest = "rereview_request" / "复核申请",
        ReReviewDecision = "rereview_decision" / "复核意见书",
    }
);

/// A node of the category tree (派单目录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub code: String,
    pub name: String,
    pub parent: Option<String>,
}

/// A request as submitted, before any check against the database.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub kind: Option<RequestKind>,
    pub category: String,
    /// The region (usually a community) where it happened.
    pub region: String,
    pub urgency: Option<Urgency>,
    pub title: String,
    pub body: String,
    pub location: String,
    /// Longitude and latitude (WGS-84 degrees) of the place, when known; required from grid
    /// workers, whose report must lie in one of their grids.
    pub coordinates: Option<(f64, f64)>,
    /// A name given on the phone or the web form (anonymous submitters may leave it empty).
    pub contact_name: String,
    /// A mobile, required when the submitter is not logged in.
    pub contact_mobile: String,
}

/// One request as stored, without the submitter's sealed mobile. Never leaves the crate towards a
/// department: [`DepartmentView`] is built from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: RequestId,
    pub public_id: String,
    pub channel: Channel,
    pub kind: RequestKind,
    pub category: String,
    pub region_code: String,
    pub urgency: Urgency,
    pub title: String,
    pub body: String,
    pub location: String,
    /// The place in microdegrees (longitude, latitude).
    pub coordinates: Option<(i64, i64)>,
    /// The grid the place lies in.
    pub grid: Option<GridId>,
    pub person: Option<PersonId>,
    pub contact_name: String,
    pub contact_mobile_masked: String,
    pub received_by: Option<StaffId>,
    pub status: Status,
    pub lead_department: Option<DepartmentId>,
    pub due_at: Option<DateTime<Utc>>,
    pub return_until: Option<DateTime<Utc>>,
    /// A requested extension waiting for approval.
    pub extension: Option<TimeLimit>,
    pub reply: String,
    pub replied_at: Option<DateTime<Utc>>,
    pub concluded_at: Option<DateTime<Utc>>,
    pub visit_result: Option<VisitResult>,
    pub rating: Option<u8>,
    pub merged_into: Option<RequestId>,
    pub warned_at: Option<DateTime<Utc>>,
    pub overdue_at: Option<DateTime<Utc>>,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A department's assignment on a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub department: DepartmentId,
    pub department_name: String,
    pub role: AssignmentRole,
    pub assigned_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: String,
    pub opinion: String,
}

/// One history line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub from: Status,
    pub to: Status,
    pub note: String,
}

/// One history line as a department sees it: no actor, because the actor of a citizen's step
/// would name the submitter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentEvent {
    pub at: DateTime<Utc>,
    pub action: String,
    pub from: Status,
    pub to: Status,
    pub note: String,
}

/// What a handling department (主办 or 协办) sees. There is deliberately no field for the
/// submitter's name, mobile or person id: for a 举报 the reporter stays unknown to whoever is
/// reported on; the hotline centre contacts the submitter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepartmentView {
    pub id: RequestId,
    pub public_id: String,
    pub channel: Channel,
    pub kind: RequestKind,
    pub category: String,
    pub region_code: String,
    pub urgency: Urgency,
    pub title: String,
    pub body: String,
    pub location: String,
    pub grid: Option<GridId>,
    pub status: Status,
    pub due_at: Option<DateTime<Utc>>,
    pub return_until: Option<DateTime<Utc>>,
    pub reply: String,
    pub assignments: Vec<Assignment>,
    pub history: Vec<DepartmentEvent>,
}

/// What the hotline centre (dispatchers) sees: the whole record with the contact mobile in full,
/// to call back for the 回访.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatcherView {
    pub request: Request,
    pub contact_mobile: Option<String>,
    pub assignments: Vec<Assignment>,
    pub history: Vec<RequestEvent>,
}

/// One level of a mediation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mediation {
    pub id: MediationId,
    pub request: RequestId,
    pub level: MediationLevel,
    pub department: DepartmentId,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<MediationOutcome>,
    pub note: String,
}

/// A recorded 调解协议.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    pub mediation: MediationId,
    pub request: RequestId,
    pub parties: String,
    pub terms: String,
    pub signed_at: DateTime<Utc>,
    pub recorded_by: StaffId,
}

/// A petition's stage and deadlines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Petition {
    pub request: RequestId,
    pub stage: PetitionStage,
    pub department: DepartmentId,
    pub decide_due_at: DateTime<Utc>,
    pub conclude_due_at: Option<DateTime<Utc>>,
    pub extended: bool,
    pub request_until: Option<DateTime<Utc>>,
    pub review_due_at: Option<DateTime<Utc>>,
    pub revision: i64,
}

/// A written petition document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Letter {
    pub kind: LetterKind,
    pub body: String,
    pub issued_at: DateTime<Utc>,
}

/// A grid (网格): an area inside a community with its leader and members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grid {
    pub id: GridId,
    pub code: String,
    pub name: String,
    pub community_code: String,
    /// The GeoJSON polygon as given.
    pub polygon: String,
    pub leader: Option<StaffId>,
    pub members: Vec<StaffId>,
}

/// A knowledge-base entry: a question and its answer under a category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KnowledgeEntry {
    pub id: KnowledgeId,
    pub category: String,
    pub question: String,
    pub answer: String,
    pub revision: i64,
    pub updated_at: DateTime<Utc>,
}

/// A request as anyone may see it (the public list, Open311): no submitter's name, mobile or
/// person, and never a 举报 or a petition (the reads leave them out).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicRequest {
    pub public_id: String,
    pub channel: Channel,
    pub kind: RequestKind,
    pub category: String,
    pub category_name: String,
    pub region_code: String,
    pub title: String,
    pub body: String,
    pub location: String,
    /// Longitude and latitude in degrees.
    pub coordinates: Option<(f64, f64)>,
    pub status: Status,
    /// The lead department's name.
    pub department: Option<String>,
    pub reply: String,
    pub due_at: Option<DateTime<Utc>>,
    pub replied_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The photo address an Open311 client gave, if any.
    pub media_url: String,
}

/// An Open311 client (a partner system posting requests on the `api` channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Open311Client {
    pub id: i64,
    pub name: String,
    pub created_at: DateTime<Utc>,
}
