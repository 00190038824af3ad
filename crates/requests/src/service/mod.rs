//! Request use cases. Every state change runs in one transaction: authorize → load the facts →
//! the rules ([`crate::machine`], [`crate::petition`], [`crate::mediation`]) → rows + history line +
//! audit entry + outbox row.
//!
//! - `submit.rs`: one record from every channel, routing by the category tree.
//! - `handle.rs`: the closed loop (派单, 退单, 改派, 签收, 答复, 办结, 回访, 评价, 延期), joint
//!   handling, the views, duplicates and merging, the deadline sweep.
//! - `mediate.rs`: three-level mediation (三级调处).
//! - `petition.rs`: petitions (信访).
//! - `catalog.rs`: the category tree and routing rules.
//! - `grids.rs`: grids (网格) inside communities, their members, and finding a place's grid.
//! - `knowledge.rs`: the knowledge base (知识库) of answers by category.
//! - `open311.rs`: public reads and Open311 clients.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, NewJob};
use yiwang_db::{DatabaseTransaction, Db};
use yiwang_identity::IdentityError;
use yiwang_identity::model::Role;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{RegionCode, SharedClock, TimeLimit, WorkCalendar};

use crate::RequestError;
use crate::mediation::MediationLimits;
use crate::model::Urgency;
use crate::petition::PetitionLimits;

mod catalog;
mod grids;
mod handle;
mod knowledge;
mod mediate;
mod open311;
mod petition;
mod submit;

pub use handle::{Duplicate, SweepReport};
pub use open311::{ANSWERED, MAX_OPEN311_KEY_CHARS, MAX_PUBLIC_READ, OPEN311_KEY_PREFIX, Posted};
pub use submit::Submitted;

/// The outbox job of request notices (dispatched, returned, near due, overdue, escalated…). Its
/// handler ([`crate::register_handlers`]) writes the 电子监察 log line.
pub const NOTIFY_JOB: &str = "requests.notify";
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest body, reply or agreement, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest note, reason, name or location, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Most requests the sweep handles per kind and run.
pub const SWEEP_BATCH: u64 = 500;

/// The handling limit of each urgency (12345 local rules: configuration, not code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrgencyLimits {
    pub urgent: TimeLimit,
    pub priority: TimeLimit,
    pub normal: TimeLimit,
    pub complex: TimeLimit,
}

impl Default for UrgencyLimits {
    fn default() -> Self {
        Self {
            urgent: TimeLimit::hours(2),
            priority: TimeLimit::hours(24),
            normal: TimeLimit::working_days(7),
            complex: TimeLimit::working_days(15),
        }
    }
}

impl UrgencyLimits {
    pub fn of(&self, urgency: Urgency) -> TimeLimit {
        match urgency {
            Urgency::Urgent => self.urgent,
            Urgency::Priority => self.priority,
            Urgency::Normal => self.normal,
            Urgency::Complex => self.complex,
        }
    }
}

/// The settings of requests (`[requests]` in the server's configuration).
#[derive(Debug, Clone)]
pub struct RequestsConfig {
    pub limits: UrgencyLimits,
    /// How long after dispatch the lead department may return the request (退单).
    pub return_window: TimeLimit,
    /// Longest extension a department may ask for, in working days.
    pub max_extension_days: u32,
    /// How long before the limit the near-due warning is raised.
    pub warn_before: Duration,
    /// How far back duplicates are looked for.
    pub duplicate_window: Duration,
    /// Character-bigram Jaccard similarity from which two texts count as the same matter.
    pub duplicate_threshold: f64,
    pub mediation: MediationLimits,
    pub petition: PetitionLimits,
}

impl Default for RequestsConfig {
    fn default() -> Self {
        Self {
            limits: UrgencyLimits::default(),
            return_window: TimeLimit::hours(24),
            max_extension_days: 15,
            warn_before: Duration::hours(24),
            duplicate_window: Duration::days(30),
            duplicate_threshold: 0.5,
            mediation: MediationLimits::default(),
            petition: PetitionLimits::default(),
        }
    }
}

/// The requests service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Requests {
    db: Db,
    clock: SharedClock,
    calendar: Arc<WorkCalendar>,
    pii: Arc<PiiProtector>,
    config: Arc<RequestsConfig>,
}

impl Requests {
    pub fn new(
        db: Db,
        clock: SharedClock,
        calendar: Arc<WorkCalendar>,
        pii: Arc<PiiProtector>,
        config: RequestsConfig,
    ) -> Self {
        Self {
            db,
            clock,
            calendar,
            pii,
            config: Arc::new(config),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &RequestsConfig {
        &self.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// How audit entries and history lines name the actor.
pub(crate) fn actor(principal: &Principal) -> String {
    match principal {
        Principal::Staff(s) => s.actor(),
        Principal::Person(p) => format!("person-id:{p}"),
        Principal::System => "system".to_owned(),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

pub(crate) fn staff_of(principal: &Principal) -> Result<&StaffPrincipal, RequestError> {
    match principal {
        Principal::Staff(s) => Ok(s),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

/// Roles that work a department's requests.
pub(crate) const HANDLING_ROLES: [Role; 4] = [
    Role::WindowStaff,
    Role::Approver,
    Role::DepartmentAdmin,
    Role::GridWorker,
];

pub(crate) fn handles_for(
    staff: &StaffPrincipal,
    department: yiwang_identity::model::DepartmentId,
) -> bool {
    staff.department == department && HANDLING_ROLES.into_iter().any(|r| staff.has(r))
}

/// `region_code` (six or twelve digits) lies within the staff member's region.
pub(crate) fn within(scope: &RegionCode, region_code: &str) -> bool {
    let code = scope.as_str();
    let digits = if scope.is_province() {
        2
    } else if scope.is_city() {
        4
    } else {
        6
    };
    region_code.starts_with(&code[..digits])
}

/// The hotline centre over the region: a hotline operator there, or a platform administrator.
pub(crate) fn dispatches(staff: &StaffPrincipal, region_code: &str) -> bool {
    staff.has(Role::PlatformAdmin)
        || (staff.has(Role::HotlineOperator) && within(&staff.region, region_code))
}

/// A supervisor over the region, or a platform administrator.
pub(crate) fn supervises(staff: &StaffPrincipal, region_code: &str) -> bool {
    staff.has(Role::PlatformAdmin)
        || (staff.has(Role::Supervisor) && within(&staff.region, region_code))
}

/// `request_text_too_long` for `what` when `text` has more than `max` characters.
pub(crate) fn bounded(what: &'static str, text: &str, max: usize) -> Result<(), RequestError> {
    if text.chars().nth(max).is_some() {
        Err(RequestError::TooLong(what))
    } else {
        Ok(())
    }
}

/// A trimmed, bounded, non-empty text.
pub(crate) fn required<'a>(
    what: &'static str,
    text: &'a str,
    max: usize,
) -> Result<&'a str, RequestError> {
    let text = text.trim();
    bounded(what, text, max)?;
    if text.is_empty() {
        return Err(RequestError::Required(what));
    }
    Ok(text)
}

/// Appends an audit entry and the notice outbox row in the transaction.
pub(crate) async fn record_in(
    tx: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    resource: String,
    source: &str,
    detail: serde_json::Value,
) -> Result<(), RequestError> {
    jobs::enqueue(
        tx,
        now,
        &NewJob::new(
            NOTIFY_JOB,
            json!({ "action": action, "resource": resource, "detail": detail }),
        ),
    )
    .await?;
    audit::append(
        tx,
        now,
        &AuditEvent::new(actor, action, resource, source).detail(detail),
    )
    .await?;
    Ok(())
}

/// A fresh cryptographic random generator (public ids, sealing nonces).
pub(crate) fn fresh_rng() -> rand::rngs::StdRng {
    rand::make_rng()
}
