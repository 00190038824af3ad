//! The flash crowd: when slots open, hundreds of people book the same slots in the same second.
//! Checked from the database afterwards: exactly the capacity is booked, no slot over capacity, no
//! person twice that day, every confirmation has its row (and audit entry and reminder job), and
//! sold-out rejections after the first ones opened no write transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use yiwang_appointments::model::{BookRequest, BookingDetails, BookingStatus, SlotId};
use yiwang_appointments::{AppointmentError, Appointments};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::Principal;

use crate::support::{
    china, clinic_hours, day, fixture, hospital, origin, persons, scalar, service,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Booked,
    AlreadyBooked,
    SoldOut,
}

/// One person's try: walk the slots from `start` until one is booked, the person already has a
/// booking that day, or every slot is sold out. With `keyed`, each request carries an idempotency
/// key naming the person and the slot (a client retrying the same request).
async fn try_slots(
    svc: Appointments,
    person: PersonId,
    slots: Arc<Vec<SlotId>>,
    start: usize,
    keyed: bool,
    seed: u64,
    barrier: Arc<Barrier>,
) -> (PersonId, Outcome, Option<BookingDetails>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let who = Principal::Person(person);
    barrier.wait().await;
    for k in 0..slots.len() {
        let slot = slots[(start + k) % slots.len()];
        let request = BookRequest {
            slot: Some(slot),
            item_code: None,
            idempotency_key: keyed.then(|| format!("flash-{person}-{slot}")),
        };
        loop {
            match svc.book(&who, &request, &origin(), &mut rng).await {
                Ok(details) => return (person, Outcome::Booked, Some(details)),
                Err(AppointmentError::SlotSoldOut) => break,
                Err(AppointmentError::AlreadyBookedThatDay) => {
                    return (person, Outcome::AlreadyBooked, None);
                }
                // Still busy after the service's own retries: the request changed nothing.
                Err(AppointmentError::Busy) => {}
                Err(other) => panic!("unexpected answer: {other:?}"),
            }
        }
    }
    (person, Outcome::SoldOut, None)
}

async fn crowd(
    svc: &Appointments,
    people: &[(PersonId, usize, bool)],
    slots: &Arc<Vec<SlotId>>,
) -> Vec<(PersonId, Outcome, Option<BookingDetails>)> {
    let barrier = Arc::new(Barrier::new(people.len()));
    let mut set = JoinSet::new();
    for (n, (person, start, keyed)) in people.iter().enumerate() {
        set.spawn(try_slots(
            svc.clone(),
            *person,
            Arc::clone(slots),
            *start,
            *keyed,
            n as u64 + 1,
            Arc::clone(&barrier),
        ));
    }
    let mut results = Vec::with_capacity(people.len());
    while let Some(result) = set.join_next().await {
        results.push(result.unwrap());
    }
    results
}

async fn flash_crowd_books_exactly_the_capacity(t: &TestDb) {
    let mut f = fixture(t).await;
    // 4 doctors × 5 slots (08:00–10:30) × 3 places on Tuesday 10 March: 20 slots, 60 places,
    // released at 07:00 on 3 March.
    let (group, _) = hospital(&f, "kbs-nk", 4, &clinic_hours(10, 30, 3)).await;
    let flash_day = day(3, 10);
    let slots: Vec<SlotId> = f
        .svc
        .staff_slots(&Principal::System, group.id, flash_day, flash_day)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.slot.id)
        .collect();
    assert_eq!(slots.len(), 20);
    let slots = Arc::new(slots);
    let crowd_people = persons(&mut f, 200).await;
    f.clock.set(china(3, 3, 7, 0));

    // 200 people at once; 20 of them send a second request for another slot (a double booking),
    // 20 others send the same keyed requests twice (a client retrying).
    let mut people = Vec::new();
    for (i, p) in crowd_people.iter().enumerate() {
        let keyed = (20..40).contains(&i);
        people.push((*p, i % 20, keyed));
        if i < 20 {
            people.push((*p, (i + 10) % 20, false));
        } else if keyed {
            people.push((*p, i % 20, true));
        }
    }
    let svc = f.svc.clone();
    let results = crowd(&svc, &people, &slots).await;
    let first = svc.contention();
    eprintln!(
        "flash crowd on {}: {} requests, {first:?}",
        t.db.backend().name(),
        people.len()
    );

    // Every confirmation is a stored booking, and there are exactly as many as places.
    let mut by_person: HashMap<PersonId, HashSet<i64>> = HashMap::new();
    for (person, outcome, details) in &results {
        if *outcome == Outcome::Booked {
            let details = details.as_ref().unwrap();
            assert_eq!(details.booking.person_id, *person);
            by_person
                .entry(*person)
                .or_default()
                .insert(details.booking.id.get());
            let stored = yiwang_appointments::repo::booking_by_id(t.db.conn(), details.booking.id)
                .await
                .unwrap()
                .expect("a confirmed booking is stored");
            assert_eq!(stored.person_id, *person);
            assert_eq!(stored.slot_id, details.booking.slot_id);
            assert_eq!(stored.code, details.booking.code);
            assert_eq!(stored.status, BookingStatus::Booked);
        }
    }
    // No person holds two bookings; twins with one key got one and the same booking.
    assert!(
        by_person.values().all(|ids| ids.len() == 1),
        "{by_person:?}"
    );
    assert_eq!(by_person.len(), 60);
    let refused = results
        .iter()
        .filter(|(_, o, _)| *o == Outcome::SoldOut)
        .count();
    assert!(refused >= 200 - 60, "{refused} sold out");

    let day_sql = "'2026-03-10'";
    let db = &t.db;
    assert_eq!(
        scalar(
            db,
            &format!("SELECT COUNT(*) AS n FROM appt_bookings WHERE day = {day_sql} AND status = 'booked'")
        )
        .await,
        60
    );
    assert_eq!(
        scalar(
            db,
            &format!("SELECT CAST(COALESCE(SUM(booked), 0) AS BIGINT) AS n FROM appt_slots WHERE day = {day_sql}")
        )
        .await,
        60
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM appt_slots WHERE booked > capacity"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            db,
            &format!(
                "SELECT COUNT(*) AS n FROM appt_slots WHERE day = {day_sql} AND booked = capacity"
            )
        )
        .await,
        20,
        "every slot is full"
    );
    assert_eq!(
        scalar(
            db,
            &format!(
                "SELECT COUNT(*) AS n FROM appt_slots s WHERE s.day = {day_sql} AND s.booked <>
                 (SELECT COUNT(*) FROM appt_bookings b WHERE b.slot_id = s.id AND b.status = 'booked')"
            )
        )
        .await,
        0,
        "each slot's count matches its bookings"
    );
    assert_eq!(
        scalar(
            db,
            &format!(
                "SELECT COUNT(*) AS n FROM (SELECT person_id FROM appt_bookings
                 WHERE day = {day_sql} AND status = 'booked' GROUP BY person_id HAVING COUNT(*) > 1) x"
            )
        )
        .await,
        0,
        "no person twice"
    );
    // Each booking committed with its audit entry and its reminder job, and nothing more.
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'appointment.book'"
        )
        .await,
        60
    );
    assert_eq!(
        scalar(
            db,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'appointments.remind'"
        )
        .await,
        60
    );
    assert_eq!(
        scalar(db, "SELECT COUNT(*) AS n FROM appt_idempotency").await,
        i64::try_from(
            crowd_people[20..40]
                .iter()
                .filter(|p| by_person.contains_key(p))
                .count()
        )
        .unwrap(),
        "one stored answer per keyed booking"
    );
    let verified = yiwang_db::audit::verify(db).await.unwrap();
    assert!(verified.broken.is_none(), "{verified:?}");
    // Most sold-out rejections never opened a write transaction.
    assert!(
        first.sold_out_in_transaction < first.sold_out_from_cache + first.sold_out_from_read,
        "{first:?}"
    );
    assert!(first.booking_transactions >= 60);

    // Once sold out, more requests cost no write transaction at all …
    let latecomers = persons(&mut f, 100).await;
    let late: Vec<_> = latecomers.iter().map(|p| (*p, 0, false)).collect();
    let results = crowd(&svc, &late, &slots).await;
    assert!(results.iter().all(|(_, o, _)| *o == Outcome::SoldOut));
    let second = svc.contention();
    assert_eq!(second.booking_transactions, first.booking_transactions);
    assert_eq!(
        second.sold_out_in_transaction,
        first.sold_out_in_transaction
    );

    // … and on another node, which has not seen the crowd, a plain read settles each slot first.
    let node2 = service(&f.db, &f.clock);
    let late: Vec<_> = latecomers[..50]
        .iter()
        .enumerate()
        .map(|(i, p)| (*p, i % 20, false))
        .collect();
    let results = crowd(&node2, &late, &slots).await;
    assert!(results.iter().all(|(_, o, _)| *o == Outcome::SoldOut));
    let other = node2.contention();
    assert_eq!(other.booking_transactions, 0, "{other:?}");
    assert!(other.sold_out_from_read >= 20, "{other:?}");
    assert_eq!(
        other.sold_out_from_read + other.sold_out_from_cache,
        50 * 20
    );
    assert_eq!(
        scalar(
            db,
            &format!("SELECT COUNT(*) AS n FROM appt_bookings WHERE day = {day_sql} AND status = 'booked'")
        )
        .await,
        60
    );
}
db_test!(flash_crowd_books_exactly_the_capacity);
