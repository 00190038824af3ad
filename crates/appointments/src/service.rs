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

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::CryptoRng;
use serde_json::json;
use tokio::sync::broadcast;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, NewJob};
use yiwang_db::{DatabaseTransaction, Db, DbError};
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_identity::{Department, DepartmentId, IdentityError};
use yiwang_kernel::{SharedClock, WorkCalendar, china_date, sm3_hex};

use crate::error::AppointmentError;
use crate::model::{
    BoardEvent, BookRequest, Booking, BookingCode, BookingDetails, BookingId, BookingPolicy,
    BookingStatus, Category, Group, GroupId, GroupKind, LimitScope, NewGroup, NewResource, Problem,
    Resource, ResourceId, ResourceKind, Schedule, Slot, SlotId, SlotView, Suspension,
    WaitlistEntry, WaitlistId, WaitlistStatus,
};
use crate::repo::{self, NewBooking};

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

    // ----- set-up (staff with ManageSchedules) -----

    /// Create a hall or hospital department of a department.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_group(
        &self,
        principal: &Principal,
        department: &Department,
        new: &NewGroup,
        origin: &Origin,
    ) -> Result<Group> {
        authorize(
            principal,
            &Action::ManageSchedules {
                department: department.id,
            },
        )?;
        let new = NewGroup {
            code: new.code.trim().to_owned(),
            name: new.name.trim().to_owned(),
            address: new.address.trim().to_owned(),
            ..new.clone()
        };
        check_code("code", &new.code)?;
        check_name("name", &new.name)?;
        let policy = new
            .policy
            .clone()
            .unwrap_or_else(|| BookingPolicy::for_kind(new.kind));
        let problems = policy.problems();
        if !problems.is_empty() {
            return Err(AppointmentError::Invalid(problems));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::insert_group(&tx, &new, department.id, &policy, now).await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.group.create",
            &format!("appt_group:{}", new.code),
            origin,
            json!({ "kind": new.kind.code(), "department": department.code }),
        )
        .await?;
        let group = repo::group_by_id(&tx, id)
            .await?
            .ok_or(AppointmentError::GroupNotFound)?;
        commit(tx).await?;
        Ok(group)
    }

    async fn managed_group(&self, principal: &Principal, id: GroupId) -> Result<Group> {
        let group = self.group(id).await?;
        authorize(
            principal,
            &Action::ManageSchedules {
                department: group.department_id,
            },
        )?;
        Ok(group)
    }

    /// Replace a group's booking and queue rules. Days not yet released move to the new release time.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_policy(
        &self,
        principal: &Principal,
        group: GroupId,
        policy: &BookingPolicy,
        origin: &Origin,
    ) -> Result<Group> {
        let group = self.managed_group(principal, group).await?;
        let problems = policy.problems();
        if !problems.is_empty() {
            return Err(AppointmentError::Invalid(problems));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::update_policy(&tx, group.id, policy, now).await?;
        for day in repo::unreleased_days(&tx, group.id, now).await? {
            let release_at = policy.release.release_at(day, &self.calendar);
            repo::set_release_at(&tx, group.id, day, release_at, now).await?;
        }
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.group.policy",
            &format!("appt_group:{}", group.code),
            origin,
            serde_json::to_value(policy).unwrap_or_default(),
        )
        .await?;
        commit(tx).await?;
        Ok(Group {
            policy: policy.clone(),
            ..group
        })
    }

    /// Add a window (hall) or doctor (hospital department).
    #[tracing::instrument(skip_all, err)]
    pub async fn add_resource(
        &self,
        principal: &Principal,
        group: GroupId,
        new: &NewResource,
        origin: &Origin,
    ) -> Result<Resource> {
        let group = self.managed_group(principal, group).await?;
        let new = NewResource {
            code: new.code.trim().to_owned(),
            name: new.name.trim().to_owned(),
            title: new.title.trim().to_owned(),
            ..new.clone()
        };
        check_code("code", &new.code)?;
        check_name("name", &new.name)?;
        self.check_categories(group.id, &new.categories).await?;
        let kind = new.kind.unwrap_or(match group.kind {
            GroupKind::Hall => ResourceKind::Window,
            GroupKind::HospitalDepartment => ResourceKind::Doctor,
        });
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::insert_resource(&tx, group.id, kind, &new, now).await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.resource.create",
            &format!("appt_resource:{id}"),
            origin,
            json!({ "group": group.code, "code": new.code, "kind": kind.code() }),
        )
        .await?;
        let resource = repo::resource_by_id(&tx, id)
            .await?
            .ok_or(AppointmentError::ResourceNotFound)?;
        commit(tx).await?;
        Ok(resource)
    }

    async fn check_categories(&self, group: GroupId, codes: &[String]) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        let known = repo::categories_of(self.db.conn(), group).await?;
        match codes
            .iter()
            .find(|code| !known.iter().any(|c| &c.code == *code))
        {
            Some(missing) => Err(invalid(
                "categories",
                "queue_category_not_found",
                &format!("no queue category {missing}"),
            )),
            None => Ok(()),
        }
    }

    async fn managed_resource(
        &self,
        principal: &Principal,
        id: ResourceId,
    ) -> Result<(Group, Resource)> {
        let resource = repo::resource_by_id(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::ResourceNotFound)?;
        let group = self.managed_group(principal, resource.group_id).await?;
        Ok((group, resource))
    }

    /// Set (or remove, with `None`) a resource's opening hours. Slots already generated stay.
    #[tracing::instrument(skip_all, err)]
    pub async fn set_schedule(
        &self,
        principal: &Principal,
        resource: ResourceId,
        schedule: Option<&Schedule>,
        origin: &Origin,
    ) -> Result<Resource> {
        let (_, resource) = self.managed_resource(principal, resource).await?;
        if let Some(schedule) = schedule {
            let problems = schedule.problems();
            if !problems.is_empty() {
                return Err(AppointmentError::Invalid(problems));
            }
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::update_resource(
            &tx,
            resource.id,
            schedule,
            &resource.categories,
            &resource.items,
            resource.active,
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.resource.schedule",
            &format!("appt_resource:{}", resource.id),
            origin,
            serde_json::to_value(schedule).unwrap_or_default(),
        )
        .await?;
        commit(tx).await?;
        Ok(Resource {
            schedule: schedule.cloned(),
            ..resource
        })
    }

    /// Change the items a window handles, the queue categories it calls, and whether it is in use.
    #[tracing::instrument(skip_all, err)]
    pub async fn update_resource(
        &self,
        principal: &Principal,
        resource: ResourceId,
        update: &ResourceUpdate,
        origin: &Origin,
    ) -> Result<Resource> {
        let (group, resource) = self.managed_resource(principal, resource).await?;
        self.check_categories(group.id, &update.categories).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::update_resource(
            &tx,
            resource.id,
            resource.schedule.as_ref(),
            &update.categories,
            &update.items,
            update.active,
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.resource.update",
            &format!("appt_resource:{}", resource.id),
            origin,
            json!({ "items": update.items, "categories": update.categories, "active": update.active }),
        )
        .await?;
        commit(tx).await?;
        Ok(Resource {
            items: update.items.clone(),
            categories: update.categories.clone(),
            active: update.active,
            ..resource
        })
    }

    /// Create the slots of the group's resources from their schedules for today and the next `days`
    /// days (working-day calendar), each with its release time. Existing slots are kept, so running
    /// it again only fills gaps. Returns how many slots were created.
    #[tracing::instrument(skip_all, err)]
    pub async fn generate_slots(
        &self,
        principal: &Principal,
        group: GroupId,
        days: u32,
        origin: &Origin,
    ) -> Result<usize> {
        let group = self.managed_group(principal, group).await?;
        if days > MAX_DAYS {
            return Err(invalid(
                "days",
                "appt_too_many_days",
                "slots are generated at most 62 days ahead",
            ));
        }
        let today = self.today();
        let until = today + Duration::days(i64::from(days));
        self.generate(&group, today, until, false, &actor(principal), origin)
            .await
    }

    /// Create missing slots from `from` to `until`. With `missing_days_only`, a resource's day that
    /// has any slot is left alone, so the periodic run reads and writes nothing once a day exists.
    async fn generate(
        &self,
        group: &Group,
        from: NaiveDate,
        until: NaiveDate,
        missing_days_only: bool,
        actor: &str,
        origin: &Origin,
    ) -> Result<usize> {
        let conn = self.db.conn();
        let resources = repo::resources_of(conn, group.id).await?;
        let existing: HashSet<(ResourceId, NaiveDate)> = if missing_days_only {
            repo::slot_days(conn, group.id, from, until)
                .await?
                .into_iter()
                .collect()
        } else {
            HashSet::new()
        };
        let mut planned = Vec::new();
        let mut day = from;
        while day <= until {
            for resource in resources.iter().filter(|r| r.active) {
                let Some(schedule) = &resource.schedule else {
                    continue;
                };
                if existing.contains(&(resource.id, day)) {
                    continue;
                }
                for (starts_at, ends_at) in schedule.slots_on(day, &self.calendar) {
                    planned.push((resource.id, day, starts_at, ends_at, schedule.capacity));
                }
            }
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        if planned.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut created = 0;
        for (resource, day, starts_at, ends_at, capacity) in planned {
            let release_at = group.policy.release.release_at(day, &self.calendar);
            if repo::insert_slot_if_absent(
                &tx, resource, group.id, day, starts_at, ends_at, release_at, capacity, now,
            )
            .await?
            {
                created += 1;
            }
        }
        if created == 0 {
            rollback(tx).await;
            return Ok(0);
        }
        audit_entry(
            &tx,
            now,
            actor,
            "appointment.slots.generate",
            &format!("appt_group:{}", group.code),
            origin,
            json!({ "from": from.to_string(), "until": until.to_string(), "created": created }),
        )
        .await?;
        commit(tx).await?;
        Ok(created)
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

    // ----- booking -----

    /// Book a place in a slot for the person. With an idempotency key, the same key and request
    /// always give the same booking (also when the first answer was lost on the way), and the key with
    /// a different request is refused. Only successful answers are stored: a refused request changed
    /// nothing and may be sent again.
    // Refusals (sold out, not released, already booked) are the normal answer to most requests of a
    // flash crowd: logged at debug, not as errors (database failures reach the log as 500s anyway).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn book(
        &self,
        principal: &Principal,
        request: &BookRequest,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<BookingDetails> {
        let person = person_of(principal)?;
        let slot = request
            .slot
            .ok_or_else(|| invalid("slot", "slot_required", "choose a slot"))?;
        let item = request
            .item_code
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty());
        let key = match request.idempotency_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(k)
                if k.len() <= MAX_IDEMPOTENCY_KEY && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(k)
            }
            Some(_) => {
                return Err(invalid(
                    "idempotency_key",
                    "idempotency_key_invalid",
                    "an idempotency key is 1 to 128 visible ASCII characters",
                ));
            }
        };
        let hash = request_hash(slot, item);
        if let Some(key) = key
            && let Some(answer) = self.stored_answer(person, key, &hash).await?
        {
            return Ok(answer);
        }
        let mut tries = 0;
        let outcome = loop {
            match self
                .try_book(person, slot, item, key, &hash, origin, &mut *rng)
                .await
            {
                Err(AppointmentError::Busy) if self.may_retry(&mut tries).await => {}
                other => break other,
            }
        };
        match (outcome, key) {
            (Ok(details), _) => Ok(details),
            (Err(error), Some(key)) => {
                // A concurrent request with the same key may have succeeded: its answer is this one's.
                match self.stored_answer(person, key, &hash).await? {
                    Some(answer) => Ok(answer),
                    None => Err(error),
                }
            }
            (Err(error), None) => Err(error),
        }
    }

    async fn stored_answer(
        &self,
        person: PersonId,
        key: &str,
        hash: &str,
    ) -> Result<Option<BookingDetails>> {
        let conn = self.db.conn();
        match repo::idempotency_answer(conn, person, key).await? {
            None => Ok(None),
            Some((stored, _)) if stored != hash => Err(AppointmentError::IdempotencyKeyReused),
            Some((_, booking)) => Ok(Some(
                repo::booking_details(conn, booking)
                    .await?
                    .ok_or(AppointmentError::BookingNotFound)?,
            )),
        }
    }

    #[expect(clippy::too_many_arguments, reason = "one booking request, parsed")]
    async fn try_book(
        &self,
        person: PersonId,
        slot_id: SlotId,
        item: Option<&str>,
        key: Option<&str>,
        hash: &str,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<BookingDetails> {
        let now = self.clock.now();
        let ttl = self.config.sold_out_ttl;
        if self.sold_out.contains(slot_id, now, ttl) {
            bump(&self.counters.sold_out_from_cache);
            return Err(AppointmentError::SlotSoldOut);
        }
        // Plain reads first: a request that cannot succeed never opens a write transaction.
        let conn = self.db.conn();
        let slot = repo::slot_by_id(conn, slot_id)
            .await?
            .ok_or(AppointmentError::SlotNotFound)?;
        let group = repo::group_by_id(conn, slot.group_id)
            .await?
            .ok_or(AppointmentError::GroupNotFound)?;
        let resource = repo::resource_by_id(conn, slot.resource_id)
            .await?
            .filter(|r| r.active)
            .ok_or(AppointmentError::SlotNotFound)?;
        check_bookable(&group.policy, &slot, now)?;
        if slot.remaining() == 0 {
            self.sold_out.mark(slot.id, now, ttl);
            bump(&self.counters.sold_out_from_read);
            return Err(AppointmentError::SlotSoldOut);
        }
        if let Some(item) = item
            && !resource.items.is_empty()
            && !resource.items.iter().any(|i| i == item)
        {
            return Err(AppointmentError::ItemNotServed(item.to_owned()));
        }
        if let Some(s) = repo::active_suspension(conn, person, group.department_id, now).await? {
            return Err(AppointmentError::BookingSuspended(s.ends_at));
        }
        let live = live_key(group.policy.one_per_day, person, &slot, item);
        if repo::live_key_taken(conn, &live).await? {
            return Err(AppointmentError::AlreadyBookedThatDay);
        }

        // The reads took a moment: another request may have seen the last place go meanwhile.
        if self.sold_out.contains(slot.id, now, ttl) {
            bump(&self.counters.sold_out_from_cache);
            return Err(AppointmentError::SlotSoldOut);
        }
        bump(&self.counters.booking_transactions);
        let tx = self.db.begin().await?;
        let Some((booked, capacity)) = repo::take_place(&tx, slot.id, now).await? else {
            rollback(tx).await;
            self.sold_out.mark(slot.id, now, ttl);
            bump(&self.counters.sold_out_in_transaction);
            return Err(AppointmentError::SlotSoldOut);
        };
        let code = BookingCode::generate(rng);
        let new = NewBooking {
            code: &code,
            slot: &slot,
            department: group.department_id,
            person,
            item_code: item,
            live_key: &live,
            via_waitlist: false,
        };
        let id = match repo::insert_booking(&tx, &new, now).await {
            Ok(id) => id,
            Err(e) => {
                rollback(tx).await;
                return Err(if repo::violates(&e, "live_key") {
                    AppointmentError::AlreadyBookedThatDay
                } else if repo::violates(&e, "code") {
                    // Two equal random codes: try again with a new one.
                    AppointmentError::Busy
                } else {
                    e
                });
            }
        };
        if let Some(key) = key
            && let Err(e) = repo::store_idempotency(&tx, person, key, hash, id, now).await
        {
            rollback(tx).await;
            // The key was stored by a concurrent request meanwhile; `book` returns its answer.
            return Err(if repo::violates(&e, "appt_idempotency") {
                AppointmentError::IdempotencyKeyReused
            } else {
                e
            });
        }
        audit_entry(
            &tx,
            now,
            &format!("person-id:{person}"),
            "appointment.book",
            &format!("booking:{id}"),
            origin,
            json!({ "slot": slot.id.get(), "group": group.code, "starts_at": slot.starts_at.to_rfc3339() }),
        )
        .await?;
        self.enqueue_reminder(&tx, &group.policy, id, slot.starts_at, now)
            .await?;
        commit(tx).await?;
        if booked >= capacity {
            self.sold_out.mark(slot.id, now, ttl);
        }
        let booking = Booking {
            id,
            code,
            slot_id: slot.id,
            group_id: group.id,
            resource_id: resource.id,
            department_id: group.department_id,
            person_id: person,
            day: slot.day,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
            item_code: item.map(str::to_owned),
            status: BookingStatus::Booked,
            via_waitlist: false,
            created_at: now,
            cancelled_at: None,
            checked_in_at: None,
        };
        Ok(BookingDetails {
            cancel_until: slot.starts_at - minutes(group.policy.cancel_cutoff_minutes),
            booking,
            group_code: group.code,
            group_name: group.name,
            group_kind: group.kind,
            address: group.address,
            resource_name: resource.name,
            resource_title: resource.title,
        })
    }

    async fn enqueue_reminder(
        &self,
        tx: &DatabaseTransaction,
        policy: &BookingPolicy,
        booking: BookingId,
        starts_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(before) = policy.reminder_minutes_before {
            let run_at = starts_at - minutes(before);
            if run_at > now {
                jobs::enqueue(tx, now, &booking_job(REMIND_JOB, booking).run_at(run_at)).await?;
            }
        }
        Ok(())
    }

    /// A booking the principal may see: the person's own, or any of the department's for its staff.
    pub async fn booking(&self, principal: &Principal, id: BookingId) -> Result<BookingDetails> {
        let details = repo::booking_details(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::BookingNotFound)?;
        Self::may_see_booking(principal, &details.booking)?;
        Ok(details)
    }

    /// A booking by its code, for its person or the department's staff.
    pub async fn booking_by_code(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<BookingDetails> {
        let code = BookingCode::parse(code).ok_or(AppointmentError::BookingNotFound)?;
        let booking = repo::booking_by_code(self.db.conn(), &code)
            .await?
            .ok_or(AppointmentError::BookingNotFound)?;
        self.booking(principal, booking.id).await
    }

    fn may_see_booking(principal: &Principal, booking: &Booking) -> Result<()> {
        match principal {
            // Someone else's booking does not exist as far as a person can tell.
            Principal::Person(p) if *p != booking.person_id => {
                Err(AppointmentError::BookingNotFound)
            }
            Principal::Person(_) => Ok(()),
            other => staff_may_see(other, booking.department_id),
        }
    }

    /// The person's bookings, latest slot first.
    pub async fn my_bookings(&self, principal: &Principal) -> Result<Vec<BookingDetails>> {
        let person = person_of(principal)?;
        repo::bookings_of_person(self.db.conn(), person, 200).await
    }

    /// A group's bookings of a day, for its staff.
    pub async fn day_bookings(
        &self,
        principal: &Principal,
        group: GroupId,
        day: NaiveDate,
    ) -> Result<Vec<BookingDetails>> {
        let group = self.group(group).await?;
        staff_may_see(principal, group.department_id)?;
        repo::bookings_of_group_day(self.db.conn(), group.id, day).await
    }

    /// The booking as an iCalendar file (RFC 5545) for the person or the department's staff.
    pub async fn booking_ics(&self, principal: &Principal, id: BookingId) -> Result<String> {
        let details = self.booking(principal, id).await?;
        Ok(crate::ics::calendar(&details, self.clock.now()))
    }

    /// Cancel the person's booking before the cut-off. The place goes to the first person on the
    /// slot's waitlist who may take it (booked for them and told through the outbox), or back to the
    /// pool.
    #[tracing::instrument(skip_all, err)]
    pub async fn cancel(
        &self,
        principal: &Principal,
        id: BookingId,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<BookingDetails> {
        let person = person_of(principal)?;
        let details = repo::booking_details(self.db.conn(), id)
            .await?
            .filter(|d| d.booking.person_id == person)
            .ok_or(AppointmentError::BookingNotFound)?;
        if details.booking.status != BookingStatus::Booked {
            return Err(AppointmentError::BookingWrongState {
                state: details.booking.status.code(),
                action: "cancelled",
            });
        }
        if self.clock.now() > details.cancel_until {
            return Err(AppointmentError::CancelTooLate);
        }
        let group = self.group(details.booking.group_id).await?;
        let actor = format!("person-id:{person}");
        let mut tries = 0;
        let returned = loop {
            match self
                .cancel_tx(&group, &details.booking, &actor, origin, &mut *rng)
                .await
            {
                Err(AppointmentError::Busy) if self.may_retry(&mut tries).await => {}
                other => break other?,
            }
        };
        if returned {
            self.sold_out.clear(details.booking.slot_id);
        }
        repo::booking_details(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::BookingNotFound)
    }

    /// Returns whether the place went back to the pool (rather than to a waitlisted person).
    async fn cancel_tx(
        &self,
        group: &Group,
        booking: &Booking,
        actor: &str,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<bool> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if !repo::set_booking_status(
            &tx,
            booking.id,
            BookingStatus::Booked,
            BookingStatus::Cancelled,
            now,
        )
        .await?
        {
            rollback(tx).await;
            return Err(AppointmentError::BookingWrongState {
                state: "changed",
                action: "cancelled",
            });
        }
        audit_entry(
            &tx,
            now,
            actor,
            "appointment.cancel",
            &format!("booking:{}", booking.id),
            origin,
            json!({ "slot": booking.slot_id.get() }),
        )
        .await?;
        let slot = repo::slot_by_id(&tx, booking.slot_id)
            .await?
            .ok_or(AppointmentError::SlotNotFound)?;
        let promoted = self.promote(&tx, group, &slot, origin, rng, now).await?;
        if promoted.is_none() {
            repo::give_back_place(&tx, slot.id).await?;
        }
        commit(tx).await?;
        Ok(promoted.is_none())
    }

    /// Give a freed place of `slot` to the first waiting person who may take it.
    async fn promote(
        &self,
        tx: &DatabaseTransaction,
        group: &Group,
        slot: &Slot,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
        now: DateTime<Utc>,
    ) -> Result<Option<BookingId>> {
        for entry in repo::waiting_entries(tx, slot.id).await? {
            let suspended = repo::active_suspension(tx, entry.person_id, group.department_id, now)
                .await?
                .is_some();
            let live = live_key(
                group.policy.one_per_day,
                entry.person_id,
                slot,
                entry.item_code.as_deref(),
            );
            let booking = if suspended || repo::live_key_taken(tx, &live).await? {
                None
            } else {
                let code = BookingCode::generate(rng);
                repo::insert_booking_if_free(
                    tx,
                    &NewBooking {
                        code: &code,
                        slot,
                        department: group.department_id,
                        person: entry.person_id,
                        item_code: entry.item_code.as_deref(),
                        live_key: &live,
                        via_waitlist: true,
                    },
                    now,
                )
                .await?
            };
            match booking {
                Some(booking) => {
                    repo::close_waitlist_entry(
                        tx,
                        entry.id,
                        WaitlistStatus::Promoted,
                        Some(booking),
                        now,
                    )
                    .await?;
                    audit_entry(
                        tx,
                        now,
                        "system",
                        "appointment.waitlist.promote",
                        &format!("booking:{booking}"),
                        origin,
                        json!({ "slot": slot.id.get(), "waitlist": entry.id.get(), "person": entry.person_id.get() }),
                    )
                    .await?;
                    jobs::enqueue(tx, now, &booking_job(PROMOTED_JOB, booking)).await?;
                    self.enqueue_reminder(tx, &group.policy, booking, slot.starts_at, now)
                        .await?;
                    return Ok(Some(booking));
                }
                None => {
                    repo::close_waitlist_entry(tx, entry.id, WaitlistStatus::Passed, None, now)
                        .await?;
                }
            }
        }
        Ok(None)
    }

    // ----- waitlist -----

    /// Join the waitlist of a sold-out slot; the person is booked when a place frees up before the
    /// slot's cancellation cut-off.
    #[tracing::instrument(skip_all, err)]
    pub async fn join_waitlist(
        &self,
        principal: &Principal,
        slot: SlotId,
        item_code: Option<&str>,
        origin: &Origin,
    ) -> Result<WaitlistEntry> {
        let person = person_of(principal)?;
        let conn = self.db.conn();
        let now = self.clock.now();
        let slot = self.slot(slot).await?;
        let group = self.group(slot.group_id).await?;
        let item = item_code.map(str::trim).filter(|i| !i.is_empty());
        if group.policy.waitlist_max == 0
            || now > slot.starts_at - minutes(group.policy.cancel_cutoff_minutes)
        {
            return Err(AppointmentError::WaitlistClosed);
        }
        check_bookable(&group.policy, &slot, now)?;
        if slot.remaining() > 0 {
            return Err(AppointmentError::SlotAvailable);
        }
        let resource = repo::resource_by_id(conn, slot.resource_id)
            .await?
            .filter(|r| r.active)
            .ok_or(AppointmentError::SlotNotFound)?;
        if let Some(item) = item
            && !resource.items.is_empty()
            && !resource.items.iter().any(|i| i == item)
        {
            return Err(AppointmentError::ItemNotServed(item.to_owned()));
        }
        if let Some(s) = repo::active_suspension(conn, person, group.department_id, now).await? {
            return Err(AppointmentError::BookingSuspended(s.ends_at));
        }
        if repo::live_key_taken(
            conn,
            &live_key(group.policy.one_per_day, person, &slot, item),
        )
        .await?
        {
            return Err(AppointmentError::AlreadyBookedThatDay);
        }
        if repo::waitlist_length(conn, slot.id).await? >= group.policy.waitlist_max {
            return Err(AppointmentError::WaitlistFull);
        }
        let tx = self.db.begin().await?;
        let id = match repo::insert_waitlist(&tx, slot.id, person, item, now).await {
            Ok(id) => id,
            Err(e) => {
                rollback(tx).await;
                return Err(e);
            }
        };
        audit_entry(
            &tx,
            now,
            &format!("person-id:{person}"),
            "appointment.waitlist.join",
            &format!("waitlist:{id}"),
            origin,
            json!({ "slot": slot.id.get() }),
        )
        .await?;
        commit(tx).await?;
        repo::waitlist_entry(conn, id)
            .await?
            .ok_or(AppointmentError::WaitlistNotFound)
    }

    #[tracing::instrument(skip_all, err)]
    pub async fn leave_waitlist(
        &self,
        principal: &Principal,
        id: WaitlistId,
        origin: &Origin,
    ) -> Result<()> {
        let person = person_of(principal)?;
        let entry = repo::waitlist_entry(self.db.conn(), id)
            .await?
            .filter(|e| e.person_id == person)
            .ok_or(AppointmentError::WaitlistNotFound)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if !repo::close_waitlist_entry(&tx, entry.id, WaitlistStatus::Left, None, now).await? {
            rollback(tx).await;
            return Err(AppointmentError::WaitlistNotFound);
        }
        audit_entry(
            &tx,
            now,
            &format!("person-id:{person}"),
            "appointment.waitlist.leave",
            &format!("waitlist:{id}"),
            origin,
            json!({ "slot": entry.slot_id.get() }),
        )
        .await?;
        commit(tx).await
    }

    pub async fn my_waitlist(&self, principal: &Principal) -> Result<Vec<WaitlistEntry>> {
        let person = person_of(principal)?;
        repo::waitlist_of_person(self.db.conn(), person).await
    }

    /// The person's waitlist entries with the slot, group and resource each is for, as their page
    /// lists them. Each group and its resources are read once, however many entries they have.
    pub async fn my_waitlist_views(&self, principal: &Principal) -> Result<Vec<WaitlistView>> {
        let conn = self.db.conn();
        let mut groups: HashMap<GroupId, (Group, Vec<Resource>)> = HashMap::new();
        let mut views = Vec::new();
        for entry in self.my_waitlist(principal).await? {
            let slot = repo::slot_by_id(conn, entry.slot_id)
                .await?
                .ok_or(AppointmentError::SlotNotFound)?;
            if !groups.contains_key(&slot.group_id) {
                let group = repo::group_by_id(conn, slot.group_id)
                    .await?
                    .ok_or(AppointmentError::GroupNotFound)?;
                let resources = repo::resources_of(conn, group.id).await?;
                groups.insert(group.id, (group, resources));
            }
            let (group_name, resource_name) = groups
                .get(&slot.group_id)
                .map(|(group, resources)| {
                    let resource = resources.iter().find(|r| r.id == slot.resource_id);
                    (
                        group.name.clone(),
                        resource.map(|r| r.name.clone()).unwrap_or_default(),
                    )
                })
                .unwrap_or_default();
            views.push(WaitlistView {
                entry,
                slot,
                group_name,
                resource_name,
            });
        }
        Ok(views)
    }

    // ----- no-shows and suspensions -----

    /// The suspension keeping the person from booking at a department now, if any.
    pub async fn suspension(
        &self,
        principal: &Principal,
        department: DepartmentId,
    ) -> Result<Option<Suspension>> {
        let person = person_of(principal)?;
        repo::active_suspension(self.db.conn(), person, department, self.clock.now()).await
    }

    /// Staff record that a booked person did not come (after the slot started).
    #[tracing::instrument(skip_all, err)]
    pub async fn mark_no_show(
        &self,
        principal: &Principal,
        id: BookingId,
        origin: &Origin,
    ) -> Result<Option<Suspension>> {
        // Authorize before telling anything about the booking: only staff mark no-shows, and a
        // booking outside the departments whose windows they serve is answered as one that does not
        // exist, so its existence is not revealed.
        if !matches!(principal, Principal::Staff(_)) {
            return Err(IdentityError::Forbidden.into());
        }
        let booking = repo::booking_by_id(self.db.conn(), id)
            .await?
            .filter(|b| {
                authorize(
                    principal,
                    &Action::OperateWindow {
                        department: b.department_id,
                    },
                )
                .is_ok()
            })
            .ok_or(AppointmentError::BookingNotFound)?;
        if self.clock.now() < booking.starts_at {
            return Err(AppointmentError::NoShowTooEarly);
        }
        let group = self.group(booking.group_id).await?;
        let who = actor(principal);
        let (_, suspension) = self
            .retrying(|| self.no_show_tx(&group, &booking, &who, origin))
            .await?;
        Ok(suspension)
    }

    /// Returns whether the booking was marked, and the suspension it led to.
    async fn no_show_tx(
        &self,
        group: &Group,
        booking: &Booking,
        actor: &str,
        origin: &Origin,
    ) -> Result<(bool, Option<Suspension>)> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if !repo::set_booking_status(
            &tx,
            booking.id,
            BookingStatus::Booked,
            BookingStatus::NoShow,
            now,
        )
        .await?
        {
            rollback(tx).await;
            return Ok((false, None));
        }
        audit_entry(
            &tx,
            now,
            actor,
            "appointment.no_show",
            &format!("booking:{}", booking.id),
            origin,
            json!({ "starts_at": booking.starts_at.to_rfc3339() }),
        )
        .await?;
        let suspension = self
            .apply_no_show_rule(&tx, &group.policy, booking, origin, now)
            .await?;
        commit(tx).await?;
        Ok((true, suspension))
    }

    /// Suspend the person when the no-shows since their last suspension, within the rule's period,
    /// reach the limit.
    async fn apply_no_show_rule(
        &self,
        tx: &DatabaseTransaction,
        policy: &BookingPolicy,
        booking: &Booking,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<Option<Suspension>> {
        let rule = policy.no_show;
        if rule.limit == 0 {
            return Ok(None);
        }
        let (person, department) = (booking.person_id, booking.department_id);
        repo::lock_no_show_rule(tx, self.db.backend(), person, department).await?;
        if repo::active_suspension(tx, person, department, now)
            .await?
            .is_some()
        {
            return Ok(None);
        }
        let mut since = now - Duration::days(i64::from(rule.within_days));
        if let Some(last) = repo::last_suspension_start(tx, person, department).await? {
            since = since.max(last);
        }
        let no_shows = repo::count_no_shows(tx, person, department, since).await?;
        if no_shows < rule.limit {
            return Ok(None);
        }
        let suspension = Suspension {
            person_id: person,
            department_id: department,
            starts_at: now,
            ends_at: now + Duration::days(i64::from(rule.suspend_days)),
            no_shows,
        };
        repo::insert_suspension(tx, &suspension, now).await?;
        audit_entry(
            tx,
            now,
            "system",
            "appointment.suspend",
            &format!("person-id:{person}"),
            origin,
            json!({ "department": department.get(), "no_shows": no_shows, "until": suspension.ends_at.to_rfc3339() }),
        )
        .await?;
        Ok(Some(suspension))
    }

    /// Mark bookings not checked in by the end of their slot (plus the group's grace) as no-shows and
    /// suspend people who reach the limit. Returns (no-shows, suspensions).
    #[tracing::instrument(skip_all, err)]
    pub async fn sweep_no_shows(&self) -> Result<(usize, usize)> {
        let now = self.clock.now();
        let origin = Origin::new("worker");
        let candidates = repo::ended_bookings(self.db.conn(), now, self.config.sweep_batch).await?;
        let mut groups: HashMap<GroupId, Group> = HashMap::new();
        let (mut marked, mut suspended) = (0, 0);
        for booking in candidates {
            if !groups.contains_key(&booking.group_id) {
                let group = self.group(booking.group_id).await?;
                groups.insert(group.id, group);
            }
            let Some(group) = groups.get(&booking.group_id) else {
                continue;
            };
            if booking.ends_at + minutes(group.policy.no_show_grace_minutes) > now {
                continue;
            }
            let (done, suspension) = self
                .retrying(|| self.no_show_tx(group, &booking, "system", &origin))
                .await?;
            marked += usize::from(done);
            suspended += usize::from(suspension.is_some());
        }
        Ok((marked, suspended))
    }

    /// The periodic work of every node (idempotent; any node may run it, at any interval): slots
    /// generated up to each group's release horizon, no-shows and suspensions, waitlists of started
    /// slots expired, and queue tickets left open on past days abandoned.
    #[tracing::instrument(skip_all, err)]
    pub async fn run_maintenance(&self) -> Result<MaintenanceReport> {
        let mut report = MaintenanceReport::default();
        let origin = Origin::new("worker");
        let today = self.today();
        for group in self.groups(None).await? {
            let horizon = group.policy.release.horizon(today, &self.calendar);
            report.slots_created += self
                .generate(&group, today, horizon, true, "system", &origin)
                .await?;
        }
        let (no_shows, suspensions) = self.sweep_no_shows().await?;
        report.no_shows = no_shows;
        report.suspensions = suspensions;
        report.waitlist_expired = repo::expire_waitlists(self.db.conn(), self.clock.now()).await?;
        report.tickets_abandoned = self.abandon_past_days().await?;
        Ok(report)
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
