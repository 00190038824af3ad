//! Booking, looking bookings up, cancelling (a freed place goes to the first on the waitlist), reminders.

use chrono::{DateTime, NaiveDate, Utc};
use rand::CryptoRng;
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_db::jobs::{self};
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::Principal;

use crate::error::AppointmentError;
use crate::model::{
    BookRequest, Booking, BookingCode, BookingDetails, BookingId, BookingPolicy, BookingStatus,
    Group, GroupId, Slot, SlotId, WaitlistStatus,
};
use crate::repo::{self, NewBooking};

use super::{
    Appointments, MAX_IDEMPOTENCY_KEY, Origin, PROMOTED_JOB, REMIND_JOB, Result, audit_entry,
    booking_job, bump, check_bookable, commit, invalid, live_key, minutes, person_of, request_hash,
    rollback, staff_may_see,
};

impl Appointments {
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

    pub(super) async fn stored_answer(
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
    pub(super) async fn try_book(
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

    pub(super) async fn enqueue_reminder(
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
        // Staff of another department learn nothing of it, as for a missing booking.
        Self::may_see_booking(principal, &details.booking)
            .map_err(|e| crate::service::hidden(e, AppointmentError::BookingNotFound))?;
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

    pub(super) fn may_see_booking(principal: &Principal, booking: &Booking) -> Result<()> {
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
    pub(super) async fn cancel_tx(
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
    pub(super) async fn promote(
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
}
