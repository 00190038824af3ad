//! Rating use cases. Every state change runs in one transaction: authorize → load the facts (other
//! domains through their `reads` modules on the same transaction) → the rules
//! ([`crate::machine`]) → rows + audit entry + outbox rows.
//!
//! - `rate.rs`: rating an event (logged in, by SMS link, by staff on the phone), 追评, a person's
//!   ratings, SMS invitations.
//! - `rectify.rs`: the rectification of 差评, appeals, the overdue sweep and lists.
//! - `urge.rs`: 督办 and replies.
//! - `stats.rs`: disclosure figures and the list of 差评.
//! - `indicators.rs`: performance indicators (绩效) and the scoreboard for staff.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, NewJob};
use yiwang_db::{DatabaseTransaction, Db};
use yiwang_identity::IdentityError;
use yiwang_identity::model::{PersonId, Role};
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{SharedClock, WorkCalendar};

use crate::RatingError;

mod indicators;
mod rate;
mod rectify;
mod stats;
mod urge;

pub use indicators::IndicatorScope;
pub use rate::{EventFacts, LinkRating, resolve_event};
pub use stats::{Disclosure, parse_month};

/// The outbox job of department-facing notices (a task opened, overdue, urged, an appeal filed or
/// decided). Its handler ([`crate::register_handlers`]) writes the 电子监察 log line.
pub const NOTIFY_JOB: &str = "ratings.notify";
/// Longest rating text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest note (contact, rectification, follow-up, appeal reason, urging, reply), in characters.
pub const MAX_NOTE_CHARS: usize = 1_000;
/// Most tags on one rating.
pub const MAX_TAGS: usize = 8;
/// Longest reply period of an urging, in working days.
pub const MAX_REPLY_DAYS: u32 = 30;
/// How long after a ticket is served the window's rating tablet offers it, in minutes.
pub const TABLET_MINUTES: i64 = 15;
/// Most tasks the overdue sweep handles per run, and most rows of an overdue list.
pub const OVERDUE_BATCH: u64 = 500;

/// The settings of ratings (`[ratings]` in the server's configuration).
#[derive(Clone)]
pub struct RatingsConfig {
    /// Working days to verify a 差评 and contact the rater.
    pub contact_days: u32,
    /// Working days to rectify a 差评 (5–15 locally; default 5).
    pub rectify_days: u32,
    /// Natural days after rating during which one 追评 may be added.
    pub follow_up_days: u32,
    /// Natural days an SMS rating link stays valid.
    pub link_days: u32,
    /// The HMAC-SM3 key of SMS rating links.
    pub link_key: Vec<u8>,
    /// The address an SMS link points to; the token is appended.
    pub link_base: String,
}

impl std::fmt::Debug for RatingsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RatingsConfig")
            .field("contact_days", &self.contact_days)
            .field("rectify_days", &self.rectify_days)
            .field("follow_up_days", &self.follow_up_days)
            .field("link_days", &self.link_days)
            .field("link_key", &"<redacted>")
            .field("link_base", &self.link_base)
            .finish()
    }
}

impl RatingsConfig {
    /// The defaults with the link key given.
    pub fn new(link_key: Vec<u8>) -> Self {
        Self {
            contact_days: 1,
            rectify_days: 5,
            follow_up_days: 15,
            link_days: 7,
            link_key,
            link_base: "/rate/link?t=".to_owned(),
        }
    }
}

/// The ratings service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ratings {
    db: Db,
    clock: SharedClock,
    calendar: Arc<WorkCalendar>,
    pii: Arc<PiiProtector>,
    config: Arc<RatingsConfig>,
}

impl Ratings {
    pub fn new(
        db: Db,
        clock: SharedClock,
        calendar: Arc<WorkCalendar>,
        pii: Arc<PiiProtector>,
        config: RatingsConfig,
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

    pub fn config(&self) -> &RatingsConfig {
        &self.config
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Surveys (测评) on the same database, clock and PII protection; browser ids are signed with
    /// the link key (a statement of their own), invitations point to `/surveys/invitation?t=`.
    pub fn surveys(&self) -> crate::survey::Surveys {
        crate::survey::Surveys::new(
            self.db.clone(),
            self.clock.clone(),
            self.pii.clone(),
            self.config.link_key.clone(),
            "/surveys/invitation?t=".to_owned(),
        )
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

pub(crate) fn staff_of(principal: &Principal) -> Result<&StaffPrincipal, RatingError> {
    match principal {
        Principal::Staff(s) => Ok(s),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

pub(crate) fn person_of(principal: &Principal) -> Result<PersonId, RatingError> {
    match principal {
        Principal::Person(p) => Ok(*p),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

/// Roles that work a department's rectifications.
pub(crate) const HANDLING_ROLES: [Role; 3] =
    [Role::WindowStaff, Role::Approver, Role::DepartmentAdmin];

/// A supervisor over the region (auditors only read), or a platform administrator.
pub(crate) fn supervises(staff: &StaffPrincipal, region: &yiwang_kernel::RegionCode) -> bool {
    staff.has(Role::PlatformAdmin) || (staff.has(Role::Supervisor) && staff.region.contains(region))
}

/// `rating_text_too_long` for `what` when `text` has more than `max` characters.
pub(crate) fn bounded(what: &'static str, text: &str, max: usize) -> Result<(), RatingError> {
    if text.chars().nth(max).is_some() {
        Err(RatingError::TooLong(what))
    } else {
        Ok(())
    }
}

/// A trimmed, bounded, non-empty note.
pub(crate) fn note<'a>(what: &'static str, text: &'a str) -> Result<&'a str, RatingError> {
    let text = text.trim();
    bounded(what, text, MAX_NOTE_CHARS)?;
    if text.is_empty() {
        return Err(RatingError::NoteRequired(what));
    }
    Ok(text)
}

/// Appends an audit entry and the department-facing outbox row in the transaction.
pub(crate) async fn record_in(
    tx: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    resource: String,
    source: &str,
    detail: serde_json::Value,
) -> Result<(), RatingError> {
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

/// A fresh cryptographic random generator (public ids, message nonces).
pub(crate) fn fresh_rng() -> rand::rngs::StdRng {
    rand::make_rng()
}
