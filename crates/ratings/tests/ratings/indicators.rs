//! Performance indicators (绩效) against a hand-computed fixture: March 2026 at 合肥市民政局 —
//! cases on time and late, one with 补正, online and at the counter, one 即办件; ratings with an
//! upheld appeal; bookings with a no-show; tickets with known waits. Every indicator's exact
//! value, on both backends; the range bound; who may see what.

use chrono::{DateTime, Utc};
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, Value, fetch_required, opt_ts, stmt, ts};
use yiwang_kernel::ErrorCode;
use yiwang_ratings::indicators::{Dimension, Indicators, Period, Trend};

use crate::support::*;

yiwang_db::db_test!(
    indicators_match_the_hand_count,
    indicators_are_for_staff_in_scope
);

async fn run(t: &TestDb, sql: &str, values: Vec<Value>) {
    let conn = t.db.conn();
    conn.execute_raw(stmt(conn, sql, values)).await.unwrap();
}

async fn id_of(t: &TestDb, sql: &str, values: Vec<Value>) -> i64 {
    fetch_required(t.db.conn(), sql, values, |row| {
        Ok::<_, yiwang_db::DbError>(row.try_get::<i64>("", "id")?)
    })
    .await
    .unwrap()
}

struct CaseRow {
    channel: &'static str,
    status: &'static str,
    instant: bool,
    submitted: DateTime<Utc>,
    accepted: Option<DateTime<Utc>>,
    decided: Option<DateTime<Utc>>,
    concluded: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
}

/// A copy of the template case with the given channel, status and times.
async fn case_row(t: &TestDb, template: i64, n: u32, c: &CaseRow) -> i64 {
    id_of(
        t,
        "INSERT INTO cases (public_id, case_no, item_id, item_version_id, workflow_id, department_id,
             item_name, item_code, applicant_person_id, applicant_name, applicant_masked, channel,
             status, outcome, instant, form_sealed, created_at, submitted_at, accepted_at,
             decided_at, concluded_at, decision_due_at, updated_at)
         SELECT $1, $2, item_id, item_version_id, workflow_id, department_id, item_name, item_code,
             applicant_person_id, applicant_name, applicant_masked, $3, $4,
             CASE WHEN $4 = 'concluded' THEN 'granted' ELSE NULL END, $5, form_sealed, $6, $6, $7,
             $8, $9, $10, $6
         FROM cases WHERE id = $11 RETURNING id",
        vec![
            format!("fixture-case-{n}").into(),
            format!("FIXTURE{n:04}").into(),
            c.channel.into(),
            c.status.into(),
            i64::from(c.instant).into(),
            ts(c.submitted).into(),
            opt_ts(c.accepted),
            opt_ts(c.decided),
            opt_ts(c.concluded),
            opt_ts(c.due),
            template.into(),
        ],
    )
    .await
}

/// A rating of `kind`/`event` at `at`; a 差评 gets its rectification, rectified at `rectified`
/// (due 3/20 18:00); `excluded` marks an upheld appeal.
#[expect(clippy::too_many_arguments, reason = "one fixture row")]
async fn rating_row(
    t: &TestDb,
    n: u32,
    kind: &str,
    event: i64,
    level: i64,
    at: DateTime<Utc>,
    rectified: Option<DateTime<Utc>>,
    excluded: bool,
) {
    let id = id_of(
        t,
        "INSERT INTO ratings (public_id, event_kind, event_id, person_id, rater_name_masked,
             rater_mobile_masked, department_id, region_code, level, channel, month, rated_at,
             excluded)
         SELECT $1, $2, $3, c.applicant_person_id, '张*', '138****0000', d.id, d.region_code, $4,
             'web', $5, $6, $7
         FROM departments d, cases c WHERE d.code = 'hf-mzj' AND c.public_id = 'fixture-case-1'
         RETURNING id",
        vec![
            format!("fixture-rating-{n}").into(),
            kind.into(),
            event.into(),
            level.into(),
            at.format("%Y-%m").to_string().into(),
            ts(at).into(),
            i64::from(excluded).into(),
        ],
    )
    .await;
    if level >= 4 {
        run(
            t,
            "INSERT INTO rating_rectifications (rating_id, department_id, region_code, status,
                 contact_due_on, contact_due_at, rectify_due_on, rectify_due_at, rectified_at,
                 closed_as, appeal, created_at, updated_at)
             SELECT r.id, r.department_id, r.region_code, $2, '2026-03-16', $3, '2026-03-20', $4,
                 $5, $6, $7, r.rated_at, r.rated_at
             FROM ratings r WHERE r.id = $1",
            vec![
                id.into(),
                if excluded { "closed" } else { "rectified" }.into(),
                ts(local(3, 16, 18)).into(),
                ts(local(3, 20, 18)).into(),
                opt_ts(rectified),
                if excluded {
                    Some("appeal_upheld".to_owned())
                } else {
                    None
                }
                .into(),
                if excluded { "upheld" } else { "none" }.into(),
            ],
        )
        .await;
    }
}

async fn booking_row(t: &TestDb, slot: i64, n: u32, day: u32, status: &str) {
    let m = if day > 31 { 4 } else { 3 };
    let d = if day > 31 { day - 31 } else { day };
    run(
        t,
        "INSERT INTO appt_bookings (code, slot_id, group_id, resource_id, department_id, person_id,
             day, starts_at, ends_at, item_code, status, created_at, updated_at)
         SELECT $1, s.id, s.group_id, s.resource_id, g.department_id, c.applicant_person_id, $2, $3,
             $4, c.item_code, $5, $3, $3
         FROM appt_slots s JOIN appt_groups g ON g.id = s.group_id, cases c
         WHERE s.id = $6 AND c.public_id = 'fixture-case-1'",
        vec![
            format!("FB{n:04}").into(),
            format!("2026-{m:02}-{d:02}").into(),
            ts(local(m, d, 9)).into(),
            ts(local(m, d, 10)).into(),
            status.into(),
            slot.into(),
        ],
    )
    .await;
}

/// A ticket of the template's hall and category taken at `taken`, called `wait` minutes later.
async fn ticket_row(
    t: &TestDb,
    template: i64,
    n: u32,
    taken: DateTime<Utc>,
    wait: Option<i64>,
    from: Option<i64>,
) -> i64 {
    let called = wait.map(|m| taken + chrono::Duration::minutes(m));
    id_of(
        t,
        "INSERT INTO appt_tickets (group_id, day, number, category_id, lane, lane_rank, status,
             transferred_from, taken_at, queued_at, called_at, finished_at)
         SELECT group_id, $1, $2, category_id, 'normal', 2, $3, $4, $5, $5, $6, $6
         FROM appt_tickets WHERE id = $7 RETURNING id",
        vec![
            yiwang_kernel::china_date(taken).to_string().into(),
            format!("F{n:03}").into(),
            if called.is_some() { "done" } else { "waiting" }.into(),
            from.into(),
            ts(taken).into(),
            opt_ts(called),
            template.into(),
        ],
    )
    .await
}

/// The fixture; returns the department's code and region code.
async fn fixture(t: &TestDb, w: &mut World) {
    let applicant = w.applicant.clone();
    // Templates in January, outside every period below.
    let template = case(w, &applicant, true).await.id;
    let ticket = ticket(w, &applicant).await.id;
    let h = |m, d, h| Some(local(m, d, h));
    let rows = [
        // A: online, on time (2 days of 7).
        CaseRow {
            channel: "online",
            status: "concluded",
            instant: false,
            submitted: local(3, 2, 10),
            accepted: h(3, 2, 11),
            decided: h(3, 4, 11),
            concluded: h(3, 4, 12),
            due: h(3, 9, 11),
        },
        // B: counter, late (9 days of 7).
        CaseRow {
            channel: "counter",
            status: "concluded",
            instant: false,
            submitted: local(3, 3, 9),
            accepted: h(3, 3, 10),
            decided: h(3, 12, 10),
            concluded: h(3, 12, 11),
            due: h(3, 10, 10),
        },
        // C: online, on time (4 days of 11), with a 补正.
        CaseRow {
            channel: "online",
            status: "concluded",
            instant: false,
            submitted: local(3, 5, 9),
            accepted: h(3, 5, 10),
            decided: h(3, 9, 10),
            concluded: h(3, 9, 11),
            due: h(3, 16, 10),
        },
        // D: online 即办件, decided on acceptance.
        CaseRow {
            channel: "online",
            status: "concluded",
            instant: true,
            submitted: local(3, 20, 9),
            accepted: h(3, 20, 9),
            decided: h(3, 20, 9),
            concluded: h(3, 20, 9),
            due: h(3, 27, 9),
        },
        // E: counter, still in review.
        CaseRow {
            channel: "counter",
            status: "in_review",
            instant: false,
            submitted: local(3, 25, 9),
            accepted: h(3, 25, 10),
            decided: None,
            concluded: None,
            due: h(4, 3, 10),
        },
        // F: received in February, concluded in March on time (4 days of 7).
        CaseRow {
            channel: "online",
            status: "concluded",
            instant: false,
            submitted: local(2, 25, 9),
            accepted: h(2, 26, 10),
            decided: h(3, 2, 10),
            concluded: h(3, 2, 11),
            due: h(3, 5, 10),
        },
        // G: counter, submitted on the last evening of March.
        CaseRow {
            channel: "counter",
            status: "submitted",
            instant: false,
            submitted: local(3, 31, 23),
            accepted: None,
            decided: None,
            concluded: None,
            due: None,
        },
        // H: submitted just after March.
        CaseRow {
            channel: "online",
            status: "submitted",
            instant: false,
            submitted: local(4, 1, 0),
            accepted: None,
            decided: None,
            concluded: None,
            due: None,
        },
    ];
    let mut ids = Vec::new();
    for (n, row) in rows.iter().enumerate() {
        ids.push(case_row(t, template, n as u32 + 1, row).await);
    }
    run(
        t,
        "INSERT INTO case_events (case_id, at, actor, action, from_status, to_status)
         VALUES ($1, $2, 'staff:x', 'supplement', 'in_review', 'supplement')",
        vec![ids[2].into(), ts(local(3, 6, 10)).into()],
    )
    .await;
    // Ratings: 1, 2, 3 counted; a 5 rectified on time, a 4 rectified late; a 5 whose appeal was
    // upheld (left out); a 1 in February.
    rating_row(t, 1, "case", ids[0], 1, local(3, 5, 10), None, false).await;
    rating_row(t, 2, "ticket", 900_001, 2, local(3, 6, 10), None, false).await;
    rating_row(t, 3, "case", ids[2], 3, local(3, 10, 10), None, false).await;
    rating_row(
        t,
        4,
        "case",
        ids[3],
        5,
        local(3, 13, 10),
        h(3, 18, 10),
        false,
    )
    .await;
    rating_row(
        t,
        5,
        "ticket",
        900_002,
        4,
        local(3, 13, 11),
        h(3, 23, 10),
        false,
    )
    .await;
    rating_row(t, 6, "ticket", 900_003, 5, local(3, 13, 12), None, true).await;
    rating_row(t, 7, "case", ids[5], 1, local(2, 28, 10), None, false).await;
    // Bookings in March: 3 served, 1 no-show, 1 cancelled, 1 still booked; a no-show in April.
    let slot = id_of(
        t,
        "INSERT INTO appt_slots (resource_id, group_id, day, starts_at, ends_at, release_at,
             capacity, booked, created_at)
         SELECT id, group_id, '2026-03-10', $1, $2, $1, 10, 0, $1 FROM appt_resources
         WHERE id = $3 RETURNING id",
        vec![
            ts(local(3, 10, 9)).into(),
            ts(local(3, 10, 10)).into(),
            w.window.get().into(),
        ],
    )
    .await;
    for (n, (d, status)) in [
        (10, "served"),
        (11, "served"),
        (12, "served"),
        (13, "no_show"),
        (14, "cancelled"),
        (31, "booked"),
        (32, "no_show"),
    ]
    .into_iter()
    .enumerate()
    {
        booking_row(t, slot, n as u32, d, status).await;
    }
    // Tickets: waits 5, 10, 20, 40 minutes; a transfer's copy (100, not counted), one never
    // called, and one in April.
    let first = ticket_row(t, ticket, 1, local(3, 10, 9), Some(5), None).await;
    ticket_row(t, ticket, 2, local(3, 10, 10), Some(10), None).await;
    ticket_row(t, ticket, 3, local(3, 11, 9), Some(20), None).await;
    ticket_row(t, ticket, 4, local(3, 31, 15), Some(40), None).await;
    ticket_row(t, ticket, 5, local(3, 10, 9), Some(100), Some(first)).await;
    ticket_row(t, ticket, 6, local(3, 12, 9), None, None).await;
    ticket_row(t, ticket, 7, local(4, 1, 9), Some(60), None).await;
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

/// Every indicator of 合肥市民政局 in March 2026, by hand.
fn assert_march(l: &Indicators, with_appointments: bool) {
    assert_eq!((l.received, l.online, l.instant), (6, 3, 1), "{l:?}");
    assert_eq!(
        (l.concluded, l.on_time, l.first_time, l.timed),
        (5, 4, 4, 5)
    );
    assert!(close(l.on_time_rate(), 0.8) && close(l.first_time_rate(), 0.8));
    assert!(close(l.online_share(), 0.5) && close(l.instant_share(), 1.0 / 6.0));
    // Handling 2 + 9 + 4 + 0 + 4 = 19 days; allowed 7 + 7 + 11 + 7 + 7 = 39 days.
    assert_eq!(
        (l.handling_secs, l.allowed_secs),
        (19 * 86_400, 39 * 86_400)
    );
    assert!(close(l.avg_handling_days(), 3.8) && close(l.avg_allowed_days(), 7.8));
    assert!(close(l.handling_ratio(), 19.0 / 39.0));
    if with_appointments {
        assert_eq!((l.ratings, l.satisfied, l.bad, l.bad_on_time), (5, 2, 2, 1));
        assert!(close(l.satisfaction_rate(), 0.4) && close(l.bad_on_time_rate(), 0.5));
        assert_eq!((l.bookings_due, l.no_shows), (4, 1));
        assert!(close(l.no_show_rate(), 0.25));
        assert_eq!(l.tickets_called, 4);
        assert!(close(l.wait_avg_secs, 1125.0));
        assert_eq!(l.wait_p90_secs, Some(2400));
        // (80 + 80 + 50 + 40) / 4.
        assert!(close(l.composite(), 62.5));
    }
}

async fn indicators_match_the_hand_count(t: &TestDb) {
    let mut w = world(t, local(1, 5, 10)).await;
    fixture(t, &mut w).await;
    let march = Period::month("2026-03").unwrap();
    let svc = &w.ratings;

    let by_dept = svc
        .indicators(&w.supervisor, Dimension::Department, march, None)
        .await
        .unwrap();
    let mzj = by_dept.rows.iter().find(|l| l.key == "hf-mzj").unwrap();
    assert_march(mzj, true);
    assert_march(&by_dept.total, true);
    // Every other department of the region is listed, with nothing.
    let other = by_dept.rows.iter().find(|l| l.key == "hf-scjgj").unwrap();
    assert_eq!(
        (other.received, other.ratings, other.composite()),
        (0, 0, None)
    );

    // Per region: the department's region holds the same figures.
    let by_region = svc
        .indicators(&w.supervisor, Dimension::Region, march, None)
        .await
        .unwrap();
    assert_eq!(by_region.rows.len(), 1);
    assert_march(&by_region.rows[0], true);

    // Per item: the cases and the ratings of cases (1, 3 and 5 → 1 of 3 satisfied, 1 差评 on
    // time); bookings by their item; tickets name no item.
    let by_item = svc
        .indicators(&w.supervisor, Dimension::Item, march, None)
        .await
        .unwrap();
    assert_eq!(by_item.rows.len(), 1, "{:?}", by_item.rows);
    let item = &by_item.rows[0];
    assert_march(item, false);
    assert_eq!(
        (item.ratings, item.satisfied, item.bad, item.bad_on_time),
        (3, 1, 1, 1)
    );
    assert_eq!(
        (item.bookings_due, item.no_shows, item.tickets_called),
        (4, 1, 0)
    );

    // A range: 2026-02-25 … 2026-03-05 — received A, B, C, F; concluded A, F; ratings 1, 7.
    let range = Period::parse_range("2026-02-25", "2026-03-05").unwrap();
    let part = svc
        .indicators(&w.admin, Dimension::Department, range, None)
        .await
        .unwrap();
    assert_eq!(
        part.rows.len(),
        1,
        "the department's own staff see it alone"
    );
    let l = &part.rows[0];
    assert_eq!((l.received, l.online, l.concluded, l.on_time), (4, 3, 2, 2));
    assert_eq!(
        (l.ratings, l.satisfied, l.bookings_due, l.tickets_called),
        (2, 2, 0, 0)
    );

    // Bounded: at most 366 days, the end not before the start.
    for (from, to) in [
        ("2025-01-01", "2026-01-02"),
        ("2026-03-02", "2026-03-01"),
        ("2026-3-1", "x"),
    ] {
        let e = Period::parse_range(from, to).unwrap_err();
        assert_eq!(e.code(), "rating_bad_range", "{from} {to}");
    }
    assert_eq!(
        Period::parse_range("2025-01-01", "2026-01-02")
            .unwrap_err()
            .to_string(),
        "the date range is not valid: range"
    );

    // Scoreboard: March against February (F received online, a rating of 1: 100) → ↓.
    let board = svc.scoreboard(&w.supervisor, "2026-03").await.unwrap();
    let top = &board.lines[0];
    assert_eq!((top.rank, top.indicators.key.as_str()), (1, "hf-mzj"));
    assert!(close(top.score, 62.5) && close(top.previous_score, 100.0));
    assert_eq!(top.trend, Trend::Down);
    assert!(
        board.lines[1..]
            .iter()
            .all(|l| l.score.is_none() && l.rank == 2)
    );
    let csv = board.to_csv();
    assert!(csv.starts_with("\u{feff}排名,部门编码,部门,综合得分"));
    assert_eq!(csv.lines().count(), board.lines.len() + 1);
    assert!(csv.contains("1,hf-mzj,合肥市民政局,62.5,100.0,↓,6,5,80.0%,80.0%,50.0%,16.7%,3.80,7.80,5,40.0%,2,50.0%,25.0%,18.8,40.0"), "{csv}");
}

async fn indicators_are_for_staff_in_scope(t: &TestDb) {
    let w = world(t, local(1, 5, 10)).await;
    let march = Period::month("2026-03").unwrap();
    let svc = &w.ratings;
    for who in [&w.applicant, &w.other] {
        let e = svc
            .indicators(who, Dimension::Department, march, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "forbidden");
        assert_eq!(code(svc.scoreboard(who, "2026-03").await), "forbidden");
    }
    // Another department's window staff: only their own department, never 民政局's.
    let own = svc
        .indicators(&w.stranger, Dimension::Department, march, None)
        .await
        .unwrap();
    assert_eq!(
        own.rows.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
        ["hf-scjgj"]
    );
    let e = svc
        .indicators(&w.stranger, Dimension::Department, march, Some("hf-mzj"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    // The supervisor of the city may look at one department.
    let one = svc
        .indicators(&w.supervisor, Dimension::Department, march, Some("hf-mzj"))
        .await
        .unwrap();
    assert_eq!(one.rows.len(), 1);
    assert_eq!(
        code(svc.scoreboard(&w.supervisor, "2026-13").await),
        "rating_bad_range"
    );
}
