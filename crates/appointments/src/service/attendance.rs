//! The waitlist, no-shows and suspensions, and the maintenance sweep every node runs.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_identity::{DepartmentId, IdentityError};

use crate::error::AppointmentError;
use crate::model::{
    Booking, BookingId, BookingPolicy, BookingStatus, Group, GroupId, Resource, SlotId, Suspension,
    WaitlistEntry, WaitlistId, WaitlistStatus,
};
use crate::repo::{self};

use super::{
    Appointments, MaintenanceReport, Origin, Result, WaitlistView, actor, audit_entry,
    check_bookable, commit, live_key, minutes, person_of, rollback,
};

impl Appointments {
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
    pub(super) async fn no_show_tx(
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
    pub(super) async fn apply_no_show_rule(
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
}
