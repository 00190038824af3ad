//! The service-hall queue: priority lanes and window categories, check-in with a booking code, skip
//! and recall, transfer, estimated waits, the board and its change feed, daily statistics and the
//! end of the day.

use chrono::Duration;
use yiwang_appointments::AppointmentError;
use yiwang_appointments::model::{
    BoardEventKind, BookingStatus, GroupId, Lane, TicketRequest, TicketStatus, TicketView,
    TransferTarget,
};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{PersonId, Role};
use yiwang_identity::policy::Principal;
use yiwang_kernel::ErrorCode;

use crate::booking::{book, slot_at};
use crate::support::{Fixture, china, day, fixture, hall, origin, person, staff};

async fn take(
    f: &Fixture,
    who: &Principal,
    group: GroupId,
    category: &str,
    lane: Lane,
) -> Result<TicketView, AppointmentError> {
    f.svc
        .take_ticket(
            who,
            group,
            &TicketRequest {
                category: category.to_owned(),
                lane,
                person: None::<PersonId>,
            },
            &origin(),
        )
        .await
}

async fn priority_lanes_and_window_categories(t: &TestDb) {
    let mut f = fixture(t).await;
    let (hall, w) = hall(&f).await;
    let (w1, w2, w3) = (w[0].id, w[1].id, w[2].id);
    // Booked on Monday for Tuesday 09:30 at window 1.
    let p = person(&mut f).await;
    let slot = slot_at(&f, hall.id, w1, china(3, 3, 9, 30)).await;
    let booking = book(&mut f, &p, slot).await.unwrap();
    let code = booking.booking.code.as_str().to_ascii_lowercase();
    let wednesday = slot_at(&f, hall.id, w1, china(3, 4, 9, 30)).await;
    let other = person(&mut f).await;
    let later = book(&mut f, &other, wednesday).await.unwrap();

    f.clock.set(china(3, 3, 8, 0));
    match f
        .svc
        .check_in(&Principal::Anonymous, hall.id, &code, &origin())
        .await
    {
        Err(AppointmentError::CheckInTooEarly(at)) => assert_eq!(at, china(3, 3, 8, 30)),
        other => panic!("{other:?}"),
    }
    f.clock.set(china(3, 3, 9, 0));
    let anon = Principal::Anonymous;
    let q = person(&mut f).await;
    let guide = staff(&f.hall_dept, &[Role::WindowStaff], 1);
    let a1 = take(&f, &anon, hall.id, "hj", Lane::Normal).await.unwrap();
    let a2 = take(&f, &q, hall.id, "hj", Lane::Normal).await.unwrap();
    assert_eq!(
        (a1.ticket.number.as_str(), a2.ticket.number.as_str()),
        ("A001", "A002")
    );
    assert_eq!(
        a2.ticket.person_id,
        match &q {
            Principal::Person(id) => Some(*id),
            _ => None,
        }
    );
    // The elderly and disabled lanes are given by hall staff; the appointment lane by check-in.
    assert_eq!(
        take(&f, &q, hall.id, "hj", Lane::Elderly)
            .await
            .unwrap_err()
            .code(),
        "lane_not_allowed"
    );
    assert_eq!(
        take(&f, &anon, hall.id, "hj", Lane::Appointment)
            .await
            .unwrap_err()
            .code(),
        "lane_not_allowed"
    );
    assert_eq!(
        take(&f, &anon, hall.id, "nope", Lane::Normal)
            .await
            .unwrap_err()
            .code(),
        "queue_category_not_found"
    );
    let a3 = take(&f, &guide, hall.id, "hj", Lane::Elderly)
        .await
        .unwrap();
    assert_eq!(a3.ticket.number, "A003");
    let c1 = take(&f, &anon, hall.id, "qy", Lane::Normal).await.unwrap();
    assert_eq!(c1.ticket.number, "C001");
    let y1 = f
        .svc
        .check_in(&anon, hall.id, &code, &origin())
        .await
        .unwrap();
    assert_eq!(
        (y1.ticket.number.as_str(), y1.ticket.lane),
        ("Y001", Lane::Appointment)
    );
    assert_eq!(y1.ticket.category_code, "hj");
    // Checking in again gives the same ticket; someone else's code is not theirs to use.
    let again = f.svc.check_in(&p, hall.id, &code, &origin()).await.unwrap();
    assert_eq!(again.ticket.id, y1.ticket.id);
    assert_eq!(
        f.svc
            .check_in(&q, hall.id, &code, &origin())
            .await
            .unwrap_err()
            .code(),
        "booking_not_found"
    );
    assert_eq!(
        f.svc
            .check_in(&anon, hall.id, later.booking.code.as_str(), &origin())
            .await
            .unwrap_err()
            .code(),
        "checkin_wrong_place"
    );
    assert_eq!(
        f.svc
            .booking(&p, booking.booking.id)
            .await
            .unwrap()
            .booking
            .status,
        BookingStatus::CheckedIn
    );
    // A002 waits behind Y001 (appointment), A003 (elderly) and A001; two windows call 户籍.
    let a2_now = f.svc.ticket(a2.ticket.id).await.unwrap();
    assert_eq!((a2_now.ahead, a2_now.estimated_wait_minutes), (3, 15));

    // Calling order: appointment, elderly, then queue order; each window its own categories.
    let call = |window| {
        let svc = f.svc.clone();
        let guide = guide.clone();
        async move { svc.call_next(&guide, window, &origin()).await }
    };
    let first = call(w1).await.unwrap().unwrap();
    assert_eq!(first.ticket.number, "Y001");
    assert_eq!(first.window_name.as_deref(), Some("1号窗口"));
    match call(w1).await {
        Err(e @ AppointmentError::WindowBusy(_)) => assert_eq!(e.code(), "window_busy"),
        other => panic!("{other:?}"),
    }
    f.svc
        .finish(&guide, first.ticket.id, &origin())
        .await
        .unwrap();
    assert_eq!(
        f.svc
            .booking(&p, booking.booking.id)
            .await
            .unwrap()
            .booking
            .status,
        BookingStatus::Served
    );
    let second = call(w1).await.unwrap().unwrap();
    assert_eq!(second.ticket.number, "A003");
    f.svc
        .finish(&guide, second.ticket.id, &origin())
        .await
        .unwrap();
    assert_eq!(call(w3).await.unwrap().unwrap().ticket.number, "A001");
    assert_eq!(call(w1).await.unwrap().unwrap().ticket.number, "A002");
    assert_eq!(call(w2).await.unwrap().unwrap().ticket.number, "C001");
    assert!(call(w3).await.unwrap_err().code() == "window_busy");
    let w2_open = f.svc.board(hall.id).await.unwrap();
    assert_eq!(w2_open.calling.len(), 3);
    // Another department's staff cannot work these windows.
    let outsider = staff(&f.hospital, &[Role::WindowStaff], 2);
    assert_eq!(
        f.svc
            .call_next(&outsider, w1, &origin())
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    // Nobody waits for 企业开办 any more.
    f.svc.finish(&guide, c1.ticket.id, &origin()).await.unwrap();
    assert!(call(w2).await.unwrap().is_none());
}
db_test!(priority_lanes_and_window_categories);

async fn skip_recall_and_transfer(t: &TestDb) {
    let f = fixture(t).await;
    let (hall, w) = hall(&f).await;
    let (w1, w2, w3) = (w[0].id, w[1].id, w[2].id);
    let guide = staff(&f.hall_dept, &[Role::WindowStaff], 1);
    let anon = Principal::Anonymous;
    f.clock.set(china(3, 3, 9, 0));
    let a1 = take(&f, &anon, hall.id, "hj", Lane::Normal).await.unwrap();
    let a2 = take(&f, &anon, hall.id, "hj", Lane::Normal).await.unwrap();
    f.clock.advance(Duration::minutes(1));
    let c1 = take(&f, &anon, hall.id, "qy", Lane::Normal).await.unwrap();
    let svc = &f.svc;
    let o = origin();

    // 过号: A001 does not come; A002 is next.
    let called = svc.call_next(&guide, w1, &o).await.unwrap().unwrap();
    assert_eq!(called.ticket.id, a1.ticket.id);
    let skipped = svc.skip(&guide, a1.ticket.id, &o).await.unwrap();
    assert_eq!(skipped.ticket.status, TicketStatus::Skipped);
    assert_eq!(
        svc.skip(&guide, a1.ticket.id, &o).await.unwrap_err().code(),
        "ticket_wrong_state"
    );
    let next = svc.call_next(&guide, w1, &o).await.unwrap().unwrap();
    assert_eq!(next.ticket.id, a2.ticket.id);
    let recalled = svc.recall(&guide, w1, a2.ticket.id, &o).await.unwrap();
    assert_eq!(recalled.ticket.calls, 2);
    let current = svc.window_ticket(&guide, w1).await.unwrap().unwrap();
    assert_eq!(current.ticket.id, a2.ticket.id);
    assert!(svc.window_ticket(&guide, w3).await.unwrap().is_none());
    svc.start_serving(&guide, a2.ticket.id, &o).await.unwrap();
    // The late comer cannot be brought back while the window serves someone.
    assert_eq!(
        svc.recall(&guide, w1, a1.ticket.id, &o)
            .await
            .unwrap_err()
            .code(),
        "window_busy"
    );

    // A002 needs the enterprise desk: it keeps its number and its place (taken before C001).
    let moved = svc
        .transfer(
            &guide,
            a2.ticket.id,
            &TransferTarget::Category("qy".to_owned()),
            &o,
        )
        .await
        .unwrap();
    assert_eq!(moved.ticket.number, "A002");
    assert_eq!(moved.ticket.category_code, "qy");
    assert_eq!(moved.ticket.status, TicketStatus::Waiting);
    assert_eq!(moved.ticket.transferred_from, Some(a2.ticket.id));
    assert_eq!(
        svc.ticket(a2.ticket.id).await.unwrap().ticket.status,
        TicketStatus::Transferred
    );
    let at_w2 = svc.call_next(&guide, w2, &o).await.unwrap().unwrap();
    assert_eq!(at_w2.ticket.id, moved.ticket.id);

    // Window 1 is free: the late A001 is recalled and sent to window 2 itself.
    let back = svc.recall(&guide, w1, a1.ticket.id, &o).await.unwrap();
    assert_eq!(
        (back.ticket.status, back.ticket.calls),
        (TicketStatus::Called, 2)
    );
    let to_w2 = svc
        .transfer(&guide, a1.ticket.id, &TransferTarget::Window(w2), &o)
        .await
        .unwrap();
    assert_eq!(to_w2.ticket.target_window_id, Some(w2));
    // Window 3 serves 户籍 but A001 now waits for window 2 only.
    assert!(svc.call_next(&guide, w3, &o).await.unwrap().is_none());
    svc.finish(&guide, at_w2.ticket.id, &o).await.unwrap();
    let n = svc.call_next(&guide, w2, &o).await.unwrap().unwrap();
    assert_eq!(n.ticket.id, to_w2.ticket.id, "transferred before C001");
    svc.finish(&guide, n.ticket.id, &o).await.unwrap();
    assert_eq!(
        svc.call_next(&guide, w2, &o)
            .await
            .unwrap()
            .unwrap()
            .ticket
            .id,
        c1.ticket.id
    );
}
db_test!(skip_recall_and_transfer);

async fn estimated_waits_board_and_daily_statistics(t: &TestDb) {
    let f = fixture(t).await;
    let (hall, w) = hall(&f).await;
    let w1 = w[0].id;
    let guide = staff(&f.hall_dept, &[Role::WindowStaff], 1);
    let anon = Principal::Anonymous;
    let svc = &f.svc;
    let o = origin();
    f.clock.set(china(3, 3, 9, 0));
    let mut feed = svc.subscribe_board(hall.id);
    let version0 = svc.board_version(hall.id).await.unwrap();
    let mut b = Vec::new();
    for _ in 0..3 {
        b.push(take(&f, &anon, hall.id, "sb", Lane::Normal).await.unwrap());
    }
    // Only window 1 serves 社保; 10 minutes each until handling times are measured.
    assert_eq!(
        (b[2].ahead, b[2].estimated_wait_minutes),
        (2, 20),
        "{:?}",
        b[2]
    );
    let board = svc.board(hall.id).await.unwrap();
    assert_eq!(board.version, version0 + 3);
    assert_eq!(svc.board_version(hall.id).await.unwrap(), board.version);
    let sb = board.queues.iter().find(|q| q.category == "sb").unwrap();
    assert_eq!((sb.waiting, sb.estimated_wait_minutes), (3, 30));
    assert_eq!(board.queues[0].category, "hj", "personal categories first");
    for _ in 0..3 {
        let event = feed.try_recv().unwrap();
        assert_eq!(event.kind, BoardEventKind::Changed);
    }

    // Serve each in 4 minutes.
    for (i, ticket) in b.iter().enumerate() {
        let called = svc.call_next(&guide, w1, &o).await.unwrap().unwrap();
        assert_eq!(called.ticket.id, ticket.ticket.id);
        // Start and finish of the previous ticket changed the board too.
        let event = loop {
            let event = feed.try_recv().unwrap();
            if event.kind != BoardEventKind::Changed {
                break event;
            }
        };
        assert_eq!(
            event.kind,
            BoardEventKind::Called {
                number: ticket.ticket.number.clone(),
                window_id: w1,
                window_name: "1号窗口".to_owned()
            }
        );
        if i == 0 {
            f.clock.advance(Duration::minutes(1));
        }
        svc.start_serving(&guide, ticket.ticket.id, &o)
            .await
            .unwrap();
        f.clock.advance(Duration::minutes(4));
        svc.finish(&guide, ticket.ticket.id, &o).await.unwrap();
    }
    let b4 = take(&f, &anon, hall.id, "sb", Lane::Normal).await.unwrap();
    let b5 = take(&f, &anon, hall.id, "sb", Lane::Normal).await.unwrap();
    assert_eq!((b5.ahead, b5.estimated_wait_minutes), (1, 4));
    svc.call_next(&guide, w1, &o).await.unwrap().unwrap();
    let board = svc.board(hall.id).await.unwrap();
    assert_eq!(board.calling.len(), 1);
    assert_eq!(board.calling[0].number, b4.ticket.number);
    assert_eq!(board.calling[0].window_name, "1号窗口");
    svc.skip(&guide, b4.ticket.id, &o).await.unwrap();

    let stats = svc.daily_stats(&guide, hall.id, day(3, 3)).await.unwrap();
    let sb = stats.by_category.iter().find(|r| r.code == "sb").unwrap();
    assert_eq!(
        (sb.tickets, sb.served, sb.skipped, sb.abandoned),
        (5, 3, 1, 0)
    );
    assert_eq!(sb.average_handling_seconds, Some(240.0));
    // Waits: B001 0 s, B002 300 s, B003 540 s, B004 0 s.
    assert_eq!(sb.average_wait_seconds, Some(210.0));
    let w1_row = stats.by_window.iter().find(|r| r.code == "w1").unwrap();
    assert_eq!((w1_row.tickets, w1_row.served, w1_row.skipped), (4, 3, 1));
    assert_eq!(
        svc.daily_stats(&anon, hall.id, day(3, 3))
            .await
            .unwrap_err()
            .code(),
        "unauthenticated"
    );

    // At the end of the day the tickets still waiting are abandoned.
    f.clock.set(china(3, 4, 9, 0));
    let report = svc.run_maintenance().await.unwrap();
    assert_eq!(report.tickets_abandoned, 1);
    assert_eq!(
        svc.ticket(b5.ticket.id).await.unwrap().ticket.status,
        TicketStatus::Abandoned
    );
    let stats = svc.daily_stats(&guide, hall.id, day(3, 3)).await.unwrap();
    let sb = stats.by_category.iter().find(|r| r.code == "sb").unwrap();
    assert_eq!(sb.abandoned, 1);
    // A new day starts at number 1; closing the day by hand abandons what is left.
    let fresh = take(&f, &anon, hall.id, "sb", Lane::Normal).await.unwrap();
    assert_eq!(fresh.ticket.number, "B001");
    assert_eq!(svc.close_day(&guide, hall.id, &o).await.unwrap(), 1);
}
db_test!(estimated_waits_board_and_daily_statistics);
