//! Appointment use cases: setting up halls, hospital departments, their windows and doctors, opening
//! hours and slots; booking, cancelling, the waitlist, no-shows and suspensions; reminders; the
//! maintenance sweep. The queue's use cases are in [`crate::queue`].
//!
//! Every state change writes its audit entry and its outbox jobs (reminders, waitlist notices) in the
//! same transaction.
//!
//! **Flash crowds.** When slots open, thousands book in the same second. A booking is one transaction
//! holding the conditional place update (`booked = booked + 1 WHERE booked < capacity`), the booking
//! row (whose unique `live_key` enforces one booking per person and day), the idempotency answer, the
//! audit entry and the reminder job — so no place is sold twice and no confirmation exists without its
//! row. Sold-out rejections cost no write: a per-process set remembers sold-out slots for a short
//! time (cleared here when a cancellation frees a place; the time limit lets other nodes'
//! cancellations be seen), and otherwise the slot is checked with a plain read before any write
//! transaction is opened.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use tokio::sync::broadcast;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::NewJob;
use yiwang_db::{DatabaseTransaction, Db, DbError};
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_identity::{DepartmentId, IdentityError};
use yiwang_kernel::{SharedClock, WorkCalendar, china_date, sm3_hex};

use crate::error::AppointmentError;
use crate::model::{
    BoardEvent, BookingDetails, BookingId, BookingPolicy, Category, Group, GroupId, GroupKind,
    LimitScope, Problem, Resource, Slot, SlotId, SlotView, WaitlistEntry,
};
use crate::repo::{self};

mod attendance;
mod booking;
mod setup;

type Result<T> = std::result::Result<T, AppointmentError>;

/// The outbox job that reminds a person of a booking (payload `{"booking_id": …}`), run at the
/// configured time before the slot.
pub const REMIND_JOB: &str = "appointments.remind";
/// The outbox job that tells a waitlisted person a freed place was booked for them.
pub const PROMOTED_JOB: &str = "appointments.promoted";
/// The outbox job that runs [`Appointments::run_maintenance`].
pub const SWEEP_JOB: &str = "appointments.sweep";

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 128;
/// Most days a slot listing or generation may span.
pub const MAX_DAYS: u32 = 62;

/// Process-level settings (the booking rules themselves are per group, in [`BookingPolicy`]).
#[derive(Debug, Clone)]
pub struct AppointmentsConfig {
    /// How long this process trusts that a slot is sold out without reading it again.
    pub sold_out_ttl: Duration,
    /// How often a request that met a busy database (lock wait, serialization failure) is retried.
    pub busy_retries: u32,
    /// Events buffered per hall board subscription.
    pub board_channel_capacity: usize,
    /// Bookings examined per no-show sweep.
    pub sweep_batch: i64,
    /// How far back handled tickets count for the average handling time.
    pub handling_window: Duration,
}

impl Default for AppointmentsConfig {
    fn default() -> Self {
        Self {
            sold_out_ttl: Duration::seconds(5),
            busy_retries: 4,
            board_channel_capacity: 64,
            sweep_batch: 500,
            handling_window: Duration::days(7),
        }
    }
}

/// Where a request came from, for audit entries.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
}

impl Origin {
    pub fn new(ip: impl Into<String>) -> Self {
        Self { ip: ip.into() }
    }
}

/// How booking requests met contention in this process (for tests, metrics and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContentionStats {
    /// Write transactions opened to book (successful or not).
    pub booking_transactions: u64,
    /// Rejected as sold out by the in-process set: no database access at all.
    pub sold_out_from_cache: u64,
    /// Rejected as sold out by the plain read before any write transaction.
    pub sold_out_from_read: u64,
    /// Rejected as sold out by the conditional update inside a write transaction (a race at the
    /// last place).
    pub sold_out_in_transaction: u64,
    /// Attempts retried after the database was busy.
    pub busy_retries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    booking_transactions: AtomicU64,
    sold_out_from_cache: AtomicU64,
    sold_out_from_read: AtomicU64,
    sold_out_in_transaction: AtomicU64,
    busy_retries: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Slots this process has seen sold out, and when.
#[derive(Debug, Default)]
struct SoldOut {
    slots: Mutex<HashMap<SlotId, DateTime<Utc>>>,
}

impl SoldOut {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SlotId, DateTime<Utc>>> {
        // The map only caches; a panic while it was held leaves it usable.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn contains(&self, slot: SlotId, now: DateTime<Utc>, ttl: Duration) -> bool {
        self.lock()
            .get(&slot)
            .is_some_and(|seen| now - *seen < ttl && *seen <= now)
    }

    fn mark(&self, slot: SlotId, now: DateTime<Utc>, ttl: Duration) {
        let mut slots = self.lock();
        if slots.len() > 50_000 {
            slots.retain(|_, seen| now - *seen < ttl);
        }
        slots.insert(slot, now);
    }

    fn clear(&self, slot: SlotId) {
        self.lock().remove(&slot);
    }
}

/// One broadcast channel per hall whose board someone watches in this process.
#[derive(Debug, Default)]
pub(crate) struct Boards {
    channels: Mutex<HashMap<GroupId, broadcast::Sender<BoardEvent>>>,
}

impl Boards {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupId, broadcast::Sender<BoardEvent>>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn subscribe(&self, group: GroupId, capacity: usize) -> broadcast::Receiver<BoardEvent> {
        self.lock()
            .entry(group)
            .or_insert_with(|| broadcast::channel(capacity.max(1)).0)
            .subscribe()
    }

    pub(crate) fn publish(&self, event: BoardEvent) {
        let mut channels = self.lock();
        if let Some(sender) = channels.get(&event.group_id) {
            if sender.receiver_count() == 0 {
                channels.remove(&event.group_id);
            } else {
                // Nobody listening is not an error.
                let _ = sender.send(event);
            }
        }
    }
}

/// What a maintenance run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MaintenanceReport {
    pub slots_created: usize,
    pub no_shows: usize,
    pub suspensions: usize,
    pub waitlist_expired: u64,
    pub tickets_abandoned: u64,
}

/// Changes to a window or doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceUpdate {
    pub items: Vec<String>,
    pub categories: Vec<String>,
    pub active: bool,
}

/// A waitlist entry as its person's page lists it.
#[derive(Debug, Clone)]
pub struct WaitlistView {
    pub entry: WaitlistEntry,
    pub slot: Slot,
    pub group_name: String,
    pub resource_name: String,
}

/// A group as a staff member's list shows it.
#[derive(Debug, Clone)]
pub struct StaffGroupView {
    pub group: Group,
    /// The staff member may set the group up (`ManageSchedules`), not only serve at its windows.
    pub can_manage: bool,
    pub resources: Vec<Resource>,
}

/// The appointments service: cheap to clone, one per process.
#[derive(Debug, Clone)]
pub struct Appointments {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) calendar: Arc<WorkCalendar>,
    pub(crate) config: AppointmentsConfig,
    sold_out: Arc<SoldOut>,
    pub(crate) boards: Arc<Boards>,
    counters: Arc<Counters>,
}

/// The person a principal is; anonymous callers must log in, staff and the system cannot book.
pub(crate) fn person_of(principal: &Principal) -> Result<PersonId> {
    match principal {
        Principal::Person(p) => Ok(*p),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

/// Staff who work or set up the department's halls may read its bookings, slots and statistics.
/// A refusal for lack of rights becomes `missing`: whoever may not see a record learns nothing of
/// it, not even that it exists (other refusals — not logged in — stay as they are).
pub(crate) fn hidden(error: AppointmentError, missing: AppointmentError) -> AppointmentError {
    match error {
        AppointmentError::Identity(IdentityError::Forbidden) => missing,
        other => other,
    }
}

pub(crate) fn staff_may_see(principal: &Principal, department: DepartmentId) -> Result<()> {
    authorize(principal, &Action::OperateWindow { department })
        .or_else(|_| authorize(principal, &Action::ManageSchedules { department }))?;
    Ok(())
}

pub(crate) fn actor(principal: &Principal) -> String {
    match principal {
        Principal::Staff(s) => s.actor(),
        Principal::System => "system".to_owned(),
        Principal::Person(p) => format!("person-id:{p}"),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

pub(crate) async fn audit_entry(
    tx: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    resource: &str,
    origin: &Origin,
    detail: serde_json::Value,
) -> Result<()> {
    audit::append(
        tx,
        now,
        &AuditEvent::new(actor, action, resource, &origin.ip).detail(detail),
    )
    .await?;
    Ok(())
}

pub(crate) async fn commit(tx: DatabaseTransaction) -> Result<()> {
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

async fn rollback(tx: DatabaseTransaction) {
    // The transaction is abandoned either way; a failed rollback leaves nothing to undo.
    let _ = tx.rollback().await;
}

/// Whether `slot` may be booked at `now` under `policy` (places aside).
fn check_bookable(policy: &BookingPolicy, slot: &Slot, now: DateTime<Utc>) -> Result<()> {
    if !slot.is_released(now) {
        return Err(AppointmentError::SlotNotReleased(slot.release_at));
    }
    if slot.day < china_date(now) + Duration::days(i64::from(policy.earliest_days_ahead)) {
        return Err(AppointmentError::BookingTooSoon);
    }
    if now > slot.starts_at - minutes(policy.booking_cutoff_minutes) {
        return Err(AppointmentError::BookingClosed);
    }
    Ok(())
}

fn invalid(field: &str, code: &'static str, message: &str) -> AppointmentError {
    AppointmentError::Invalid(vec![Problem::new(field, code, message)])
}

fn check_code(field: &str, code: &str) -> Result<()> {
    let ok = (2..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            "appt_code_invalid",
            "a code is 2 to 40 lowercase letters, digits, - or _",
        ))
    }
}

fn check_name(field: &str, name: &str) -> Result<()> {
    let n = name.trim().chars().count();
    if (1..=100).contains(&n) {
        Ok(())
    } else {
        Err(invalid(
            field,
            "appt_name_invalid",
            "a name has 1 to 100 characters",
        ))
    }
}

fn minutes(m: u32) -> Duration {
    Duration::minutes(i64::from(m))
}

/// The key the one-per-day rule counts bookings together by (see the `live_key` unique index).
pub(crate) fn live_key(
    scope: LimitScope,
    person: PersonId,
    slot: &Slot,
    item: Option<&str>,
) -> String {
    let day = slot.day.format("%Y%m%d");
    match (scope, item) {
        (LimitScope::Group, _) | (LimitScope::Item, None) => {
            format!("p{person}:g{}:{day}", slot.group_id)
        }
        (LimitScope::Resource, _) => format!("p{person}:r{}:{day}", slot.resource_id),
        (LimitScope::Item, Some(item)) => format!("p{person}:g{}:i{item}:{day}", slot.group_id),
        (LimitScope::Slot, _) => format!("p{person}:s{}", slot.id),
    }
}

fn request_hash(slot: SlotId, item: Option<&str>) -> String {
    sm3_hex(format!("book\u{1f}{slot}\u{1f}{}", item.unwrap_or_default()).as_bytes())
}

fn booking_job(kind: &str, booking: BookingId) -> NewJob {
    NewJob::new(kind, json!({ "booking_id": booking.get() }))
        .dedupe_key(format!("{kind}:{booking}"))
}

impl Appointments {
    pub fn new(
        db: Db,
        clock: SharedClock,
        calendar: Arc<WorkCalendar>,
        config: AppointmentsConfig,
    ) -> Self {
        Self {
            db,
            clock,
            calendar,
            config,
            sold_out: Arc::new(SoldOut::default()),
            boards: Arc::new(Boards::default()),
            counters: Arc::new(Counters::default()),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn config(&self) -> &AppointmentsConfig {
        &self.config
    }

    /// Today in China.
    pub fn today(&self) -> NaiveDate {
        china_date(self.clock.now())
    }

    /// How booking requests met contention in this process so far.
    pub fn contention(&self) -> ContentionStats {
        let c = &self.counters;
        ContentionStats {
            booking_transactions: c.booking_transactions.load(Ordering::Relaxed),
            sold_out_from_cache: c.sold_out_from_cache.load(Ordering::Relaxed),
            sold_out_from_read: c.sold_out_from_read.load(Ordering::Relaxed),
            sold_out_in_transaction: c.sold_out_in_transaction.load(Ordering::Relaxed),
            busy_retries: c.busy_retries.load(Ordering::Relaxed),
        }
    }

    /// Run `attempt` again while it meets a busy database, with a short growing pause.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(AppointmentError::Busy) if self.may_retry(&mut tries).await => {}
                other => return other,
            }
        }
    }

    /// Whether a busy attempt may be retried; pauses a little longer each time.
    async fn may_retry(&self, tries: &mut u32) -> bool {
        if *tries >= self.config.busy_retries {
            return false;
        }
        *tries += 1;
        bump(&self.counters.busy_retries);
        tokio::time::sleep(std::time::Duration::from_millis(5 << *tries)).await;
        true
    }

    // ----- public reads -----

    pub async fn groups(&self, department: Option<DepartmentId>) -> Result<Vec<Group>> {
        repo::groups(self.db.conn(), department).await
    }

    pub async fn group(&self, id: GroupId) -> Result<Group> {
        repo::group_by_id(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::GroupNotFound)
    }

    pub async fn group_by_code(&self, code: &str) -> Result<Group> {
        repo::group_by_code(self.db.conn(), code.trim())
            .await?
            .ok_or(AppointmentError::GroupNotFound)
    }

    pub async fn resources(&self, group: GroupId) -> Result<Vec<Resource>> {
        repo::resources_of(self.db.conn(), group).await
    }

    /// The groups (of a department, or all) each with its windows or doctors, for the pages and
    /// the API that list them: one read for the groups and one per group listed.
    pub async fn groups_with_resources(
        &self,
        department: Option<DepartmentId>,
        kind: Option<GroupKind>,
    ) -> Result<Vec<(Group, Vec<Resource>)>> {
        let conn = self.db.conn();
        let mut out = Vec::new();
        for group in repo::groups(conn, department).await? {
            if kind.is_some_and(|k| k != group.kind) {
                continue;
            }
            let resources = repo::resources_of(conn, group.id).await?;
            out.push((group, resources));
        }
        Ok(out)
    }

    /// The groups a staff member works with (setting them up, `ManageSchedules`, or serving at their
    /// windows, `OperateWindow`), each with whether they may set it up and its resources. Resources
    /// are read only for the groups listed.
    pub async fn staff_groups(&self, principal: &Principal) -> Result<Vec<StaffGroupView>> {
        let conn = self.db.conn();
        let mut out = Vec::new();
        for group in repo::groups(conn, None).await? {
            let department = group.department_id;
            let can_manage = authorize(principal, &Action::ManageSchedules { department }).is_ok();
            if !can_manage && authorize(principal, &Action::OperateWindow { department }).is_err() {
                continue;
            }
            let resources = repo::resources_of(conn, group.id).await?;
            out.push(StaffGroupView {
                group,
                can_manage,
                resources,
            });
        }
        Ok(out)
    }

    pub async fn categories(&self, group: GroupId) -> Result<Vec<Category>> {
        repo::categories_of(self.db.conn(), group).await
    }

    pub async fn slot(&self, id: SlotId) -> Result<Slot> {
        repo::slot_by_id(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::SlotNotFound)
    }

    /// Released slots of a group from `from` to `to` that have not started, with places left or not
    /// (a full slot can be waitlisted). Days before the group's first bookable day and slots past
    /// their booking cut-off are left out.
    pub async fn available_slots(
        &self,
        group: GroupId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SlotView>> {
        let group = self.group(group).await?;
        let now = self.clock.now();
        let earliest = self.today() + Duration::days(i64::from(group.policy.earliest_days_ahead));
        let from = from.max(earliest);
        let to = to.min(from + Duration::days(i64::from(MAX_DAYS)));
        if to < from {
            return Ok(Vec::new());
        }
        let cutoff = minutes(group.policy.booking_cutoff_minutes);
        Ok(
            repo::slots_of_group(self.db.conn(), group.id, from, to, Some(now))
                .await?
                .into_iter()
                .filter(|s| now <= s.slot.starts_at - cutoff)
                .collect(),
        )
    }

    /// Every slot of a group in a period, released or not (staff planning view).
    pub async fn staff_slots(
        &self,
        principal: &Principal,
        group: GroupId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SlotView>> {
        let group = self.group(group).await?;
        staff_may_see(principal, group.department_id)?;
        let to = to.min(from + Duration::days(i64::from(MAX_DAYS)));
        repo::slots_of_group(self.db.conn(), group.id, from, to, None).await
    }

    // ----- boards -----

    /// This process's live feed of a hall's board changes. Changes made on other nodes are not sent
    /// here; compare [`Appointments::board_version`] to notice them.
    pub fn subscribe_board(&self, group: GroupId) -> broadcast::Receiver<BoardEvent> {
        self.boards
            .subscribe(group, self.config.board_channel_capacity)
    }

    /// A cheap change counter of a hall's board (moves on every queue change, on any node).
    pub async fn board_version(&self, group: GroupId) -> Result<u64> {
        repo::board_version(self.db.conn(), group).await
    }

    /// Details of a booking for a job handler (no principal: the worker acts for the platform).
    pub(crate) async fn booking_for_job(&self, id: BookingId) -> Result<Option<BookingDetails>> {
        repo::booking_details(self.db.conn(), id).await
    }
}
