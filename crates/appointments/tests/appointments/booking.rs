//! Booking rules: release times, booking window and cut-offs, one booking per day, idempotency,
//! waitlist, no-shows and suspension, reminders through the outbox, the calendar file, authorization.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use yiwang_appointments::model::{
    BookRequest, BookingDetails, BookingStatus, GroupId, GroupKind, NewGroup, ResourceId, SlotId,
    WaitlistStatus,
};
use yiwang_appointments::{AppointmentError, NoticeKind, register_handlers};
use yiwang_db::db_test;
use yiwang_db::jobs::{self, JobQueue, JobStatus, Worker};
use yiwang_db::testing::TestDb;
use yiwang_identity::model::Role;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ErrorCode, SharedClock};

use crate::support::{
    Captured, Fixture, china, clinic_hours, day, fixture, hall, hospital, origin, person, staff, t0,
};

/// The slot of a resource starting at `at`.
pub async fn slot_at(
    f: &Fixture,
    group: GroupId,
    resource: ResourceId,
    at: DateTime<Utc>,
) -> SlotId {
    let d = yiwang_kernel::china_date(at);
    f.svc
        .staff_slots(&Principal::System, group, d, d)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.slot.resource_id == resource && s.slot.starts_at == at)
        .unwrap_or_else(|| panic!("no slot at {at}"))
        .slot
        .id
}

pub async fn book(
    f: &mut Fixture,
    who: &Principal,
    slot: SlotId,
) -> Result<BookingDetails, AppointmentError> {
    book_with(f, who, slot, None, None).await
}

pub async fn book_with(
    f: &mut Fixture,
    who: &Principal,
    slot: SlotId,
    item: Option<&str>,
    key: Option<&str>,
) -> Result<BookingDetails, AppointmentError> {
    f.svc
        .book(
            who,
            &BookRequest {
                slot: Some(slot),
                item_code: item.map(str::to_owned),
                idempotency_key: key.map(str::to_owned),
            },
            &origin(),
            &mut f.rng,
        )
        .await
}

async fn cancel(
    f: &mut Fixture,
    who: &Principal,
    b: &BookingDetails,
) -> Result<BookingDetails, AppointmentError> {
    f.svc.cancel(who, b.booking.id, &origin(), &mut f.rng).await
}

async fn release_times_and_cut_offs(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 2, &clinic_hours(12, 0, 2)).await;
    let p = person(&mut f).await;

    // Hospital rule: day D opens at 07:00 seven days before. At Monday 10:00 the days up to next
    // Monday are open, today's only from 10:30 (booking closes 30 minutes before a slot).
    let available = f
        .svc
        .available_slots(group.id, day(3, 1), day(3, 12))
        .await
        .unwrap();
    let days: BTreeSet<_> = available.iter().map(|s| s.slot.day).collect();
    assert_eq!(days.first(), Some(&day(3, 2)));
    assert_eq!(days.last(), Some(&day(3, 9)));
    assert_eq!(available[0].slot.starts_at, china(3, 2, 10, 30));
    assert_eq!(available[0].resource_title, "主治医师");

    let next_week = slot_at(&f, group.id, doctors[0].id, china(3, 10, 8, 0)).await;
    // Maintenance leaves days that have slots alone.
    assert_eq!(f.svc.run_maintenance().await.unwrap().slots_created, 0);
    // A new release time moves the days not yet released, and only those.
    let mut policy = group.policy.clone();
    policy.release.at = chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap();
    f.svc
        .set_policy(&Principal::System, group.id, &policy, &origin())
        .await
        .unwrap();
    assert_eq!(
        f.svc.slot(next_week).await.unwrap().release_at,
        china(3, 3, 8, 0)
    );
    assert_eq!(
        f.svc.slot(available[0].slot.id).await.unwrap().release_at,
        china(2, 23, 7, 0)
    );
    f.svc
        .set_policy(&Principal::System, group.id, &group.policy, &origin())
        .await
        .unwrap();
    match book(&mut f, &p, next_week).await {
        Err(e @ AppointmentError::SlotNotReleased(at)) => {
            assert_eq!(at, china(3, 3, 7, 0));
            assert_eq!(e.code(), "slot_not_released");
        }
        other => panic!("{other:?}"),
    }
    f.clock.set(china(3, 3, 6, 59));
    assert!(matches!(
        book(&mut f, &p, next_week).await,
        Err(AppointmentError::SlotNotReleased(_))
    ));
    f.clock.set(china(3, 3, 7, 0));
    let booked = book(&mut f, &p, next_week).await.unwrap();
    assert_eq!(booked.booking.status, BookingStatus::Booked);
    assert_eq!(booked.booking.code.as_str().len(), 8);
    assert_eq!(booked.cancel_until, china(3, 10, 6, 0));
    assert_eq!(f.svc.slot(next_week).await.unwrap().booked, 1);

    // Booking closes 30 minutes before a slot, and never after it started.
    let q = person(&mut f).await;
    f.clock.set(china(3, 3, 10, 1));
    let soon = slot_at(&f, group.id, doctors[1].id, china(3, 3, 10, 30)).await;
    let started = slot_at(&f, group.id, doctors[1].id, china(3, 3, 10, 0)).await;
    assert_eq!(
        book(&mut f, &q, soon).await.unwrap_err().code(),
        "booking_closed"
    );
    assert_eq!(
        book(&mut f, &q, started).await.unwrap_err().code(),
        "booking_closed"
    );

    // Cancelling is allowed until 2 hours before the slot; the place goes back to the pool.
    let thursday = slot_at(&f, group.id, doctors[1].id, china(3, 4, 9, 0)).await;
    let b = book(&mut f, &q, thursday).await.unwrap();
    f.clock.set(china(3, 4, 7, 0));
    let cancelled = cancel(&mut f, &q, &b).await.unwrap();
    assert_eq!(cancelled.booking.status, BookingStatus::Cancelled);
    assert_eq!(f.svc.slot(thursday).await.unwrap().booked, 0);
    let r = person(&mut f).await;
    let b = book(&mut f, &r, thursday).await.unwrap();
    f.clock.set(china(3, 4, 7, 1));
    assert_eq!(
        cancel(&mut f, &r, &b).await.unwrap_err().code(),
        "cancel_too_late"
    );
    // A cancelled booking cannot be cancelled again.
    assert_eq!(
        cancel(&mut f, &q, &cancelled).await.unwrap_err().code(),
        "booking_wrong_state"
    );
}
db_test!(release_times_and_cut_offs);

async fn hall_books_from_tomorrow_to_five_working_days(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, windows) = hall(&f).await;
    let p = person(&mut f).await;
    // Monday 2 March 10:00: bookable from Tuesday up to five working days ahead (Monday 9 March).
    let days: BTreeSet<_> = f
        .svc
        .available_slots(group.id, day(3, 1), day(3, 13))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.slot.day)
        .collect();
    assert_eq!(
        days.into_iter().collect::<Vec<_>>(),
        vec![day(3, 3), day(3, 4), day(3, 5), day(3, 6), day(3, 9)]
    );
    let today = slot_at(&f, group.id, windows[0].id, china(3, 2, 14, 0)).await;
    assert_eq!(
        book(&mut f, &p, today).await.unwrap_err().code(),
        "booking_too_soon"
    );
    let tenth = slot_at(&f, group.id, windows[0].id, china(3, 10, 9, 0)).await;
    match book(&mut f, &p, tenth).await {
        Err(AppointmentError::SlotNotReleased(at)) => assert_eq!(at, china(3, 3, 0, 0)),
        other => panic!("{other:?}"),
    }
    // One booking per person per item per day; windows handle the items they list.
    let item = "11150603MB0000000X000010001";
    let morning = slot_at(&f, group.id, windows[0].id, china(3, 3, 9, 0)).await;
    let afternoon = slot_at(&f, group.id, windows[2].id, china(3, 3, 14, 0)).await;
    assert_eq!(
        book_with(&mut f, &p, morning, Some("other-item"), None)
            .await
            .unwrap_err()
            .code(),
        "item_not_served"
    );
    book_with(&mut f, &p, morning, Some(item), None)
        .await
        .unwrap();
    assert_eq!(
        book_with(&mut f, &p, afternoon, Some(item), None)
            .await
            .unwrap_err()
            .code(),
        "already_booked_that_day"
    );
    // Another item the same day is fine.
    book_with(&mut f, &p, afternoon, None, None).await.unwrap();
}
db_test!(hall_books_from_tomorrow_to_five_working_days);

async fn one_booking_per_day_and_idempotent_requests(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 2, &clinic_hours(12, 0, 2)).await;
    let p = person(&mut f).await;
    let a = slot_at(&f, group.id, doctors[0].id, china(3, 5, 8, 0)).await;
    let b = slot_at(&f, group.id, doctors[1].id, china(3, 5, 9, 0)).await;
    let c = slot_at(&f, group.id, doctors[1].id, china(3, 6, 8, 0)).await;
    let first = book(&mut f, &p, a).await.unwrap();
    match book(&mut f, &p, b).await {
        Err(e @ AppointmentError::AlreadyBookedThatDay) => {
            assert_eq!(e.code(), "already_booked_that_day");
        }
        other => panic!("{other:?}"),
    }
    // Another day is another booking; after cancelling, the day is free again.
    book(&mut f, &p, c).await.unwrap();
    cancel(&mut f, &p, &first).await.unwrap();
    book(&mut f, &p, b).await.unwrap();

    // Idempotency: the same key and request give the same booking without writing again.
    let q = person(&mut f).await;
    let d = slot_at(&f, group.id, doctors[0].id, china(3, 7, 8, 0)).await;
    let e = slot_at(&f, group.id, doctors[0].id, china(3, 7, 8, 30)).await;
    let answer = book_with(&mut f, &q, d, None, Some("order-1"))
        .await
        .unwrap();
    let writes = f.svc.contention().booking_transactions;
    let again = book_with(&mut f, &q, d, None, Some("order-1"))
        .await
        .unwrap();
    assert_eq!(again.booking.id, answer.booking.id);
    assert_eq!(again.booking.code, answer.booking.code);
    assert_eq!(f.svc.contention().booking_transactions, writes);
    assert_eq!(f.svc.slot(d).await.unwrap().booked, 1);
    assert_eq!(
        book_with(&mut f, &q, e, None, Some("order-1"))
            .await
            .unwrap_err()
            .code(),
        "idempotency_key_reused"
    );
    // Keys belong to a person.
    let r = person(&mut f).await;
    let other = book_with(&mut f, &r, e, None, Some("order-1"))
        .await
        .unwrap();
    assert_ne!(other.booking.id, answer.booking.id);
    // The stored answer stays the answer, also after the booking was cancelled.
    cancel(&mut f, &q, &answer).await.unwrap();
    let replay = book_with(&mut f, &q, d, None, Some("order-1"))
        .await
        .unwrap();
    assert_eq!(replay.booking.id, answer.booking.id);
    assert_eq!(replay.booking.status, BookingStatus::Cancelled);
    assert_eq!(
        book_with(&mut f, &q, d, None, Some("bad key"))
            .await
            .unwrap_err()
            .code(),
        "idempotency_key_invalid"
    );
    // The person's list shows every booking, latest slot first.
    let mine = f.svc.my_bookings(&p).await.unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine[0].booking.starts_at >= mine[1].booking.starts_at);
}
db_test!(one_booking_per_day_and_idempotent_requests);

async fn no_shows_suspend_booking_for_a_while(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 1, &clinic_hours(12, 0, 3)).await;
    let p = person(&mut f).await;
    let q = person(&mut f).await;
    let doctor = doctors[0].id;
    let mut bookings = Vec::new();
    for d in 3..=5 {
        let slot = slot_at(&f, group.id, doctor, china(3, d, 8, 0)).await;
        bookings.push(book(&mut f, &p, slot).await.unwrap());
    }
    let q_slot = slot_at(&f, group.id, doctor, china(3, 3, 8, 30)).await;
    book(&mut f, &q, q_slot).await.unwrap();

    // The sweep after the slot ends records the no-show.
    f.clock.set(china(3, 3, 12, 0));
    let report = f.svc.run_maintenance().await.unwrap();
    assert_eq!((report.no_shows, report.suspensions), (2, 0));
    // Staff record one by hand, but not before the slot starts.
    let window_staff = staff(&f.hospital, &[Role::WindowStaff], 1);
    f.clock.set(china(3, 4, 7, 59));
    assert_eq!(
        f.svc
            .mark_no_show(&window_staff, bookings[1].booking.id, &origin())
            .await
            .unwrap_err()
            .code(),
        "no_show_too_early"
    );
    f.clock.set(china(3, 4, 8, 10));
    // Staff of another department learn nothing about the booking: answered as a missing one.
    let outsider = staff(&f.hall_dept, &[Role::WindowStaff], 2);
    assert!(matches!(
        f.svc
            .mark_no_show(&outsider, bookings[1].booking.id, &origin())
            .await,
        Err(AppointmentError::BookingNotFound)
    ));
    assert_eq!(
        f.svc
            .mark_no_show(&window_staff, bookings[1].booking.id, &origin())
            .await
            .unwrap(),
        None
    );
    // The third no-show in 90 days suspends booking at the hospital for 30 days.
    f.clock.set(china(3, 5, 12, 0));
    let report = f.svc.run_maintenance().await.unwrap();
    assert_eq!((report.no_shows, report.suspensions), (1, 1));
    let suspension = f
        .svc
        .suspension(&p, f.hospital.id)
        .await
        .unwrap()
        .expect("suspended");
    assert_eq!(suspension.ends_at, china(4, 4, 12, 0));
    assert_eq!(suspension.no_shows, 3);
    let later = slot_at(&f, group.id, doctor, china(3, 8, 8, 0)).await;
    match book(&mut f, &p, later).await {
        Err(e @ AppointmentError::BookingSuspended(until)) => {
            assert_eq!(until, china(4, 4, 12, 0));
            assert_eq!(e.code(), "booking_suspended");
        }
        other => panic!("{other:?}"),
    }
    // Every department of the hospital, not just this one.
    let surgery = f
        .svc
        .create_group(
            &Principal::System,
            &f.hospital,
            &NewGroup {
                code: "kbs-wk".to_owned(),
                kind: GroupKind::HospitalDepartment,
                name: "外科".to_owned(),
                address: String::new(),
                policy: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    let surgeon = f
        .svc
        .add_resource(
            &Principal::System,
            surgery.id,
            &yiwang_appointments::model::NewResource {
                code: "dr-s".to_owned(),
                name: "外科医生".to_owned(),
                ..Default::default()
            },
            &origin(),
        )
        .await
        .unwrap();
    f.svc
        .set_schedule(
            &Principal::System,
            surgeon.id,
            Some(&clinic_hours(12, 0, 3)),
            &origin(),
        )
        .await
        .unwrap();
    f.svc.run_maintenance().await.unwrap();
    let surgery_slot = slot_at(&f, surgery.id, surgeon.id, china(3, 8, 8, 0)).await;
    assert_eq!(
        book(&mut f, &p, surgery_slot).await.unwrap_err().code(),
        "booking_suspended"
    );
    // Others are not affected.
    book(&mut f, &q, later).await.unwrap();

    // The suspension ends; the no-shows it counted are spent.
    f.clock.set(china(4, 4, 12, 0) + Duration::seconds(1));
    let report = f.svc.run_maintenance().await.unwrap();
    assert!(
        report.slots_created > 0,
        "new days up to the release horizon"
    );
    assert_eq!(f.svc.suspension(&p, f.hospital.id).await.unwrap(), None);
    let april = slot_at(&f, group.id, doctor, china(4, 6, 8, 0)).await;
    book(&mut f, &p, april).await.unwrap();
    f.clock.set(china(4, 6, 12, 0));
    let report = f.svc.run_maintenance().await.unwrap();
    assert_eq!((report.no_shows, report.suspensions), (1, 0));
    assert_eq!(f.svc.suspension(&p, f.hospital.id).await.unwrap(), None);
}
db_test!(no_shows_suspend_booking_for_a_while);

async fn cancellation_goes_to_the_waitlist(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 2, &clinic_hours(12, 0, 1)).await;
    let people: Vec<Principal> = {
        let ids = crate::support::persons(&mut f, 7).await;
        ids.into_iter().map(Principal::Person).collect()
    };
    let s = slot_at(&f, group.id, doctors[0].id, china(3, 5, 8, 0)).await;
    let elsewhere = slot_at(&f, group.id, doctors[1].id, china(3, 5, 9, 0)).await;
    let first = book(&mut f, &people[1], s).await.unwrap();
    assert_eq!(
        book(&mut f, &people[0], s).await.unwrap_err().code(),
        "slot_sold_out"
    );
    let svc = f.svc.clone();
    let join = |i: usize| {
        let svc = svc.clone();
        let who = people[i].clone();
        async move { svc.join_waitlist(&who, s, None, &origin()).await }
    };
    let w2 = join(2).await.unwrap();
    assert_eq!((w2.status, w2.position), (WaitlistStatus::Waiting, Some(1)));
    let w3 = join(3).await.unwrap();
    assert_eq!(w3.position, Some(2));
    assert_eq!(join(2).await.unwrap_err().code(), "already_waitlisted");
    let w5 = join(5).await.unwrap();
    assert_eq!(w5.position, Some(3));
    // Person 5 then books elsewhere that day: they will be passed over.
    book(&mut f, &people[5], elsewhere).await.unwrap();
    // A slot with places is booked, not waitlisted; a person may leave.
    let open = slot_at(&f, group.id, doctors[1].id, china(3, 5, 10, 0)).await;
    assert_eq!(
        f.svc
            .join_waitlist(&people[4], open, None, &origin())
            .await
            .unwrap_err()
            .code(),
        "slot_available"
    );
    let w6 = join(6).await.unwrap();
    f.svc
        .leave_waitlist(&people[6], w6.id, &origin())
        .await
        .unwrap();

    // The first cancellation books person 2, who is told through the outbox.
    cancel(&mut f, &people[1], &first).await.unwrap();
    let promoted = f.svc.my_bookings(&people[2]).await.unwrap();
    assert_eq!(promoted.len(), 1);
    assert!(promoted[0].booking.via_waitlist);
    assert_eq!(promoted[0].booking.slot_id, s);
    assert_eq!(f.svc.slot(s).await.unwrap().booked, 1);
    let pending = jobs::list(&f.db, JobStatus::Pending, 100).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .filter(|j| j.kind == "appointments.promoted")
            .count(),
        1
    );
    let mine = f.svc.my_waitlist(&people[3]).await.unwrap();
    assert_eq!(mine[0].position, Some(1));

    // Person 2 cancels: person 3 gets it. Person 3 cancels: person 5 is passed over, the place
    // goes back to the pool and anyone may book it.
    cancel(&mut f, &people[2], &promoted[0]).await.unwrap();
    let third = f.svc.my_bookings(&people[3]).await.unwrap();
    assert_eq!(third[0].booking.status, BookingStatus::Booked);
    cancel(&mut f, &people[3], &third[0]).await.unwrap();
    assert_eq!(f.svc.slot(s).await.unwrap().booked, 0);
    let passed = f.svc.my_waitlist(&people[5]).await.unwrap();
    assert_eq!(passed[0].status, WaitlistStatus::Passed);
    let left = f.svc.my_waitlist(&people[6]).await.unwrap();
    assert_eq!(left[0].status, WaitlistStatus::Left);
    book(&mut f, &people[4], s).await.unwrap();

    // No place can free up after the cancellation cut-off: the waitlist closes.
    f.clock.set(china(3, 5, 6, 1));
    assert_eq!(join(0).await.unwrap_err().code(), "waitlist_closed");
    // Waiting entries expire once the slot started.
    let other_full = slot_at(&f, group.id, doctors[1].id, china(3, 6, 8, 0)).await;
    f.clock.set(t0());
    book(&mut f, &people[6], other_full).await.unwrap();
    f.svc
        .join_waitlist(&people[0], other_full, None, &origin())
        .await
        .unwrap();
    f.clock.set(china(3, 6, 8, 0));
    let report = f.svc.run_maintenance().await.unwrap();
    assert!(report.waitlist_expired >= 1);
    assert_eq!(
        f.svc.my_waitlist(&people[0]).await.unwrap()[0].status,
        WaitlistStatus::Expired
    );
}
db_test!(cancellation_goes_to_the_waitlist);

async fn reminders_go_through_the_outbox(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 1, &clinic_hours(12, 0, 2)).await;
    let p = person(&mut f).await;
    let q = person(&mut f).await;
    let thursday = slot_at(&f, group.id, doctors[0].id, china(3, 5, 8, 0)).await;
    let booked = book(&mut f, &p, thursday).await.unwrap();
    // A booking for today is too close for a reminder a day before.
    let today = slot_at(&f, group.id, doctors[0].id, china(3, 2, 11, 0)).await;
    book(&mut f, &q, today).await.unwrap();
    let pending = jobs::list(&f.db, JobStatus::Pending, 100).await.unwrap();
    let reminders: Vec<_> = pending
        .iter()
        .filter(|j| j.kind == "appointments.remind")
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].run_at, china(3, 4, 8, 0));

    let captured = Arc::new(Captured::default());
    let clock: SharedClock = Arc::new(f.clock.clone());
    let mut worker = Worker::new(JobQueue::new(f.db.clone(), clock, "test-worker"));
    register_handlers(&mut worker, f.svc.clone(), captured.clone());
    assert_eq!(worker.run_once().await.unwrap(), 0, "not due yet");
    f.clock.set(china(3, 4, 8, 0));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    {
        let notices = captured.notices.lock().unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, NoticeKind::Reminder);
        assert_eq!(notices[0].booking, booked.booking.id);
        assert!(notices[0].text.contains(booked.booking.code.as_str()));
        assert!(
            notices[0].text.contains("3月5日 08:00"),
            "{}",
            notices[0].text
        );
        assert!(!format!("{:?}", notices[0]).contains(booked.booking.code.as_str()));
    }
    // A cancelled booking is not reminded: its job finishes without a message.
    let r = person(&mut f).await;
    let friday = slot_at(&f, group.id, doctors[0].id, china(3, 6, 8, 0)).await;
    let b = book(&mut f, &r, friday).await.unwrap();
    cancel(&mut f, &r, &b).await.unwrap();
    f.clock.set(china(3, 5, 8, 0));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    assert_eq!(captured.notices.lock().unwrap().len(), 1);
    assert_eq!(
        jobs::list(&f.db, JobStatus::Failed, 10)
            .await
            .unwrap()
            .len(),
        0
    );
}
db_test!(reminders_go_through_the_outbox);

async fn calendar_file_of_a_booking(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 1, &clinic_hours(12, 0, 2)).await;
    let p = person(&mut f).await;
    let slot = slot_at(&f, group.id, doctors[0].id, china(3, 5, 8, 0)).await;
    let b = book(&mut f, &p, slot).await.unwrap();
    let ics = f.svc.booking_ics(&p, b.booking.id).await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF");
    for line in ics.trim_end_matches("\r\n").split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    assert!(ics.contains("\r\n "), "long lines are folded");
    let unfolded = ics.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.split("\r\n").collect();
    for expected in [
        "BEGIN:VEVENT",
        "DTSTART:20260305T000000Z",
        "DTEND:20260305T003000Z",
        "DTSTAMP:20260302T020000Z",
        "STATUS:CONFIRMED",
        "END:VEVENT",
    ] {
        assert!(lines.contains(&expected), "{expected} missing in {ics}");
    }
    assert!(lines.contains(&format!("UID:booking-{}@yiwang", b.booking.code).as_str()));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("SUMMARY:预约：内科 医生0（主治医师）"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("DESCRIPTION:") && l.contains(b.booking.code.as_str()))
    );
    // Another person cannot get it; the hospital's staff can, other departments' cannot.
    let q = person(&mut f).await;
    assert_eq!(
        f.svc
            .booking_ics(&q, b.booking.id)
            .await
            .unwrap_err()
            .code(),
        "booking_not_found"
    );
    let hospital_staff = staff(&f.hospital, &[Role::WindowStaff], 3);
    f.svc
        .booking_ics(&hospital_staff, b.booking.id)
        .await
        .unwrap();
    // Staff of another department learn nothing of it, as for a missing booking.
    let hall_staff = staff(&f.hall_dept, &[Role::WindowStaff], 4);
    assert_eq!(
        f.svc
            .booking_ics(&hall_staff, b.booking.id)
            .await
            .unwrap_err()
            .code(),
        "booking_not_found"
    );
    cancel(&mut f, &p, &b).await.unwrap();
    let ics = f.svc.booking_ics(&p, b.booking.id).await.unwrap();
    assert!(ics.contains("STATUS:CANCELLED\r\n") && ics.contains("METHOD:CANCEL\r\n"));
}
db_test!(calendar_file_of_a_booking);

async fn who_may_do_what(t: &TestDb) {
    let mut f = fixture(t).await;
    let (group, doctors) = hospital(&f, "kbs-nk", 1, &clinic_hours(12, 0, 2)).await;
    let slot = slot_at(&f, group.id, doctors[0].id, china(3, 5, 8, 0)).await;
    assert_eq!(
        book(&mut f, &Principal::Anonymous, slot)
            .await
            .unwrap_err()
            .code(),
        "unauthenticated"
    );
    let hospital_admin = staff(&f.hospital, &[Role::DepartmentAdmin], 5);
    assert_eq!(
        book(&mut f, &hospital_admin, slot)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    let new_group = |code: &str| NewGroup {
        code: code.to_owned(),
        kind: GroupKind::HospitalDepartment,
        name: "儿科".to_owned(),
        address: String::new(),
        policy: None,
    };
    let hall_admin = staff(&f.hall_dept, &[Role::DepartmentAdmin], 6);
    let hospital_window = staff(&f.hospital, &[Role::WindowStaff], 7);
    for who in [&hall_admin, &hospital_window] {
        assert_eq!(
            f.svc
                .create_group(who, &f.hospital, &new_group("kbs-ek"), &origin())
                .await
                .unwrap_err()
                .code(),
            "forbidden"
        );
    }
    f.svc
        .create_group(
            &hospital_admin,
            &f.hospital,
            &new_group("kbs-ek"),
            &origin(),
        )
        .await
        .unwrap();
    let platform = staff(&f.hall_dept, &[Role::PlatformAdmin], 8);
    f.svc
        .create_group(&platform, &f.hospital, &new_group("kbs-ek2"), &origin())
        .await
        .unwrap();
    assert_eq!(
        f.svc
            .create_group(&platform, &f.hospital, &new_group("kbs-ek2"), &origin())
            .await
            .unwrap_err()
            .code(),
        "appt_code_taken"
    );
    assert_eq!(
        f.svc
            .generate_slots(&hall_admin, group.id, 5, &origin())
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    // Staff lists of a day need the department.
    assert_eq!(
        f.svc
            .day_bookings(&hall_admin, group.id, day(3, 5))
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    f.svc
        .day_bookings(&hospital_window, group.id, day(3, 5))
        .await
        .unwrap();
}
db_test!(who_may_do_what);
