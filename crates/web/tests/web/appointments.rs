//! Appointments and the queue over the API, on both backends: a hospital department's administrator
//! sets up a doctor, opening hours and slots; people book with an `Idempotency-Key` (replayed, key_reused,
//! one booking a day), download the calendar file, cancel, wait on a waitlist and are promoted; the
//! hall's machine gives a ticket and checks a booking in; the doctor's desk calls, serves and finishes;
//! the board shows the call; refusals and messages in the caller's language.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{OrgData, RawDepartment};
use yiwang_kernel::TestClock;
use yiwang_web::{AppState, WebConfig, app};

use crate::accounts::PASSWORD;
use crate::staff::{call, person_token, seed_staff, staff_token};
use crate::support::{Reply, get, org, send, state_with_clock, t0};

/// A valid resident ID (GB 11643) of someone born in 蜀山区 in 1985, numbered `seq`.
fn resident_id(seq: u32) -> String {
    let body = format!("340104198505{:02}{:03}", 1 + seq % 28, 100 + seq);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .bytes()
        .zip(weights)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// 鄂尔多斯市康巴什区人民医院 and the district's 政务服务与数据管理局, from the demo organisation.
async fn add_kangbashi(state: &AppState) {
    let demo: Vec<RawDepartment> =
        serde_json::from_str(include_str!("../../../demo/data/departments.json")).unwrap();
    let departments = demo
        .into_iter()
        .filter(|d| d.code == "kbs-rmyy" || d.code == "kbs-zwsj")
        .collect();
    let parsed = yiwang_identity::service::parse_org(&OrgData {
        regions: org().regions,
        departments,
    })
    .unwrap();
    yiwang_identity::service::load_org(state.db(), state.clock(), &parsed, "system:test")
        .await
        .unwrap();
}

/// A POST with a bearer token, a JSON body and extra headers.
async fn post_with(
    app: &axum::Router,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &Value,
) -> Reply {
    let mut builder = Request::post(uri).header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(app, builder.body(Body::from(body.to_string())).unwrap()).await
}

async fn book(app: &axum::Router, token: &str, key: &str, slot: i64, lang: &str) -> Reply {
    post_with(
        app,
        "/api/v1/appointments/bookings",
        Some(token),
        &[("idempotency-key", key), ("accept-language", lang)],
        &json!({ "slot": slot }),
    )
    .await
}

fn ok(reply: &Reply, status: StatusCode) -> Value {
    assert_eq!(reply.status, status, "{}", reply.body);
    reply.json()
}

fn error_code(reply: &Reply) -> String {
    reply.json()["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The slot of the doctor starting at `hh:mm` China time on `day`, from the public listing.
fn slot_at(slots: &Value, day: &str, hhmm: &str) -> i64 {
    // China is UTC+8: 10:00 China is 02:00 UTC.
    let (h, m) = hhmm.split_once(':').unwrap();
    let utc = (h.parse::<i64>().unwrap() + 24 - 8) % 24;
    let at = format!("T{utc:02}:{m}:00");
    slots["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["slot"]["day"] == day
                && s["slot"]["starts_at"]
                    .as_str()
                    .is_some_and(|t| t.contains(&at))
        })
        .unwrap_or_else(|| panic!("no slot {day} {hhmm} in {slots}"))["id"]
        .as_i64()
        .unwrap()
}

db_test!(booking_and_queue_over_the_api);

async fn booking_and_queue_over_the_api(t: &TestDb) {
    // Friday 2026-02-13, 09:00 China time.
    let clock = TestClock::new(t0());
    let state = state_with_clock(t, WebConfig::default(), &clock).await;
    add_kangbashi(&state).await;
    seed_staff(
        &state,
        "kbs-rmyy",
        "YY0001",
        "13900006001",
        &["department_admin"],
    )
    .await;
    seed_staff(
        &state,
        "kbs-rmyy",
        "YY0101",
        "13900006002",
        &["window_staff"],
    )
    .await;
    seed_staff(
        &state,
        "kbs-zwsj",
        "ZW0001",
        "13900006003",
        &["department_admin"],
    )
    .await;
    let app = app(state);
    let admin = staff_token(&app, "YY0001").await;
    let desk = staff_token(&app, "YY0101").await;
    let other_admin = staff_token(&app, "ZW0001").await;
    let zhang = person_token(&t.db, &app, "张晓明", &resident_id(1), "13800006001").await;
    let li = person_token(&t.db, &app, "李娜", &resident_id(2), "13800006002").await;
    let wang = person_token(&t.db, &app, "王芳", &resident_id(3), "13800006003").await;
    let zhao = person_token(&t.db, &app, "赵磊", &resident_id(4), "13800006004").await;

    // ----- set-up by the hospital's administrator
    let create = json!({ "code": "kbs-rmyy-nk", "kind": "hospital_department", "name": "内科",
        "address": "康巴什区人民医院门诊楼二层" });
    let denied = call(
        &app,
        "POST",
        "/api/v1/departments/kbs-rmyy/appointment-groups",
        Some(&desk),
        Some(create.clone()),
    )
    .await;
    assert_eq!(
        denied.status,
        StatusCode::FORBIDDEN,
        "window staff do not set up"
    );
    let denied = call(
        &app,
        "POST",
        "/api/v1/departments/kbs-rmyy/appointment-groups",
        Some(&zhang),
        Some(create.clone()),
    )
    .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "people do not set up");
    let group = ok(
        &call(
            &app,
            "POST",
            "/api/v1/departments/kbs-rmyy/appointment-groups",
            Some(&admin),
            Some(create.clone()),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(group["department"], "kbs-rmyy");
    assert_eq!(
        group["policy"]["release"]["at"], "07:00:00",
        "hospital defaults"
    );
    let again = call(
        &app,
        "POST",
        "/api/v1/departments/kbs-rmyy/appointment-groups",
        Some(&admin),
        Some(create),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let bad_kind = call(
        &app,
        "POST",
        "/api/v1/departments/kbs-rmyy/appointment-groups",
        Some(&admin),
        Some(json!({ "code": "x-y", "kind": "clinic", "name": "门诊" })),
    )
    .await;
    assert_eq!(bad_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_kind.json()["error"]["field"], "kind");

    let base = "/api/v1/appointments/groups/kbs-rmyy-nk";
    ok(
        &call(&app, "POST", &format!("{base}/categories"), Some(&admin), Some(json!({
            "code": "outpatient", "name": "内科门诊", "audience": "personal", "theme": "医疗", "prefix": "A" }))).await,
        StatusCode::CREATED,
    );
    let doctor = ok(
        &call(&app, "POST", &format!("{base}/resources"), Some(&admin), Some(json!({
            "code": "dr-wang", "name": "王建华", "title": "主任医师", "categories": ["outpatient"] }))).await,
        StatusCode::CREATED,
    );
    assert_eq!(doctor["kind"], "doctor", "the group's kind decides");
    let doctor_id = doctor["id"].as_i64().unwrap();
    let schedule = json!({ "schedule": { "days": "every_day",
        "periods": [{ "start": "08:00:00", "end": "12:00:00" }], "slot_minutes": 30, "capacity": 2 } });
    let outsider = call(
        &app,
        "PUT",
        &format!("/api/v1/appointments/resources/{doctor_id}/schedule"),
        Some(&other_admin),
        Some(schedule.clone()),
    )
    .await;
    assert_eq!(
        outsider.status,
        StatusCode::FORBIDDEN,
        "another department's administrator"
    );
    let bad = call(&app, "PUT", &format!("/api/v1/appointments/resources/{doctor_id}/schedule"), Some(&admin),
        Some(json!({ "schedule": { "days": "every_day", "periods": [], "slot_minutes": 1, "capacity": 2 } }))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(error_code(&bad), "schedule_slot_length");
    ok(
        &call(
            &app,
            "PUT",
            &format!("/api/v1/appointments/resources/{doctor_id}/schedule"),
            Some(&admin),
            Some(schedule),
        )
        .await,
        StatusCode::OK,
    );
    let generated = ok(
        &call(
            &app,
            "POST",
            &format!("{base}/slots/generate"),
            Some(&admin),
            Some(json!({ "days": 7 })),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        generated["created"],
        8 * 8,
        "8 slots a day, today and 7 days ahead"
    );
    // Day ranges a caller chooses are bounded (62 days), refused with 422 beyond.
    let too_far = call(
        &app,
        "POST",
        &format!("{base}/slots/generate"),
        Some(&admin),
        Some(json!({ "days": 63 })),
    )
    .await;
    assert_eq!(too_far.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&too_far), "appt_too_many_days");
    let too_wide = call(
        &app,
        "GET",
        &format!("{base}/slots?from=2026-02-13&to=2026-04-17"),
        None,
        None,
    )
    .await;
    assert_eq!(too_wide.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&too_wide), "appt_too_many_days");

    // The public listing: groups with their doctors, and released slots.
    let groups = get(&app, "/api/v1/appointments/groups?kind=hospital_department")
        .await
        .json();
    assert_eq!(groups["total"], 1);
    assert_eq!(groups["items"][0]["resources"][0]["name"], "王建华");
    assert_eq!(
        groups["items"][0]["department_name"],
        "鄂尔多斯市康巴什区人民医院"
    );
    let by_id = get(
        &app,
        &format!("/api/v1/appointments/groups/{}", group["id"]),
    )
    .await
    .json();
    assert_eq!(by_id["code"], "kbs-rmyy-nk");
    assert_eq!(by_id["categories"][0]["prefix"], "A");
    let slots = get(
        &app,
        &format!("{base}/slots?from=2026-02-13&to=2026-02-14&resource=dr-wang"),
    )
    .await
    .json();
    // Today's five from 09:30 (booking closes 30 minutes before a slot), and tomorrow's eight.
    assert_eq!(slots["total"], 5 + 8, "{slots}");
    let today_10 = slot_at(&slots, "2026-02-13", "10:00");
    let today_1030 = slot_at(&slots, "2026-02-13", "10:30");
    let today_11 = slot_at(&slots, "2026-02-13", "11:00");
    let tomorrow_8 = slot_at(&slots, "2026-02-14", "08:00");
    let tomorrow_830 = slot_at(&slots, "2026-02-14", "08:30");
    let unreleased = get(&app, &format!("{base}/slots?from=2026-02-21&to=2026-02-21"))
        .await
        .json();
    assert_eq!(unreleased["total"], 0, "2/21 is released on 2/14 at 07:00");
    let planning = call(
        &app,
        "GET",
        &format!("{base}/slots?from=2026-02-21&to=2026-02-21&all=true"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(
        ok(&planning, StatusCode::OK)["total"],
        0,
        "not generated that far yet"
    );
    let planning = call(
        &app,
        "GET",
        &format!("{base}/slots?from=2026-02-20&to=2026-02-20&all=true"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(
        ok(&planning, StatusCode::OK)["total"],
        8,
        "staff see unreleased slots"
    );
    let nosy = call(
        &app,
        "GET",
        &format!("{base}/slots?all=true"),
        Some(&zhang),
        None,
    )
    .await;
    assert_eq!(nosy.status, StatusCode::FORBIDDEN);
    let long = get(&app, &format!("{base}/slots?from=2026-02-13&to=2026-06-13")).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);

    // ----- booking with an Idempotency-Key
    let anonymous = post_with(
        &app,
        "/api/v1/appointments/bookings",
        None,
        &[("idempotency-key", "k")],
        &json!({ "slot": today_10 }),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let keyless = post_with(
        &app,
        "/api/v1/appointments/bookings",
        Some(&zhang),
        &[("accept-language", "en")],
        &json!({ "slot": today_10 }),
    )
    .await;
    assert_eq!(keyless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(&keyless), "idempotency_key_required");
    assert_eq!(
        keyless.json()["error"]["message"],
        "Send an Idempotency-Key header with each booking."
    );
    let staff_books = book(&app, &desk, "k-staff", today_10, "zh-CN").await;
    assert_eq!(
        staff_books.status,
        StatusCode::FORBIDDEN,
        "staff cannot book for themselves"
    );

    let first = ok(
        &book(&app, &zhang, "a-2026-02-13-1", today_10, "zh-CN").await,
        StatusCode::CREATED,
    );
    let booking_id = first["id"].as_i64().unwrap();
    let code = first["booking"]["code"].as_str().unwrap().to_owned();
    assert_eq!(first["booking"]["status"], "booked");
    assert_eq!(first["resource_name"], "王建华");
    let replay = ok(
        &book(&app, &zhang, "a-2026-02-13-1", today_10, "zh-CN").await,
        StatusCode::CREATED,
    );
    assert_eq!(
        replay["id"], first["id"],
        "the same key gives the same booking"
    );
    assert_eq!(replay["booking"]["code"], first["booking"]["code"]);
    let key_reused = book(&app, &zhang, "a-2026-02-13-1", today_1030, "en").await;
    assert_eq!(key_reused.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&key_reused), "idempotency_key_reused");
    assert_eq!(
        key_reused.json()["error"]["message"],
        "The Idempotency-Key was already used for a different request."
    );
    let second = book(&app, &zhang, "a-2026-02-13-2", today_1030, "zh-CN").await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(error_code(&second), "already_booked_that_day");
    assert_eq!(
        second.json()["error"]["message"],
        "您当天在这里已有预约，每人每天限约一次。"
    );
    let tw = book(&app, &zhang, "a-2026-02-13-3", today_1030, "zh-TW").await;
    assert!(
        tw.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("當天"),
        "{}",
        tw.body
    );
    let mine = ok(
        &call(
            &app,
            "GET",
            "/api/v1/appointments/bookings",
            Some(&zhang),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(mine["total"], 1, "the replay booked nothing more");
    let theirs = call(
        &app,
        "GET",
        &format!("/api/v1/appointments/bookings/{booking_id}"),
        Some(&li),
        None,
    )
    .await;
    assert_eq!(
        theirs.status,
        StatusCode::NOT_FOUND,
        "another person's booking does not exist for B"
    );
    let seen = call(
        &app,
        "GET",
        &format!("/api/v1/appointments/bookings/{booking_id}"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(
        ok(&seen, StatusCode::OK)["booking"]["code"],
        code.as_str(),
        "the department's staff may see it"
    );

    let ics = call(
        &app,
        "GET",
        &format!("/api/v1/appointments/bookings/{booking_id}/ics"),
        Some(&zhang),
        None,
    )
    .await;
    assert_eq!(ics.status, StatusCode::OK);
    assert!(ics.header("content-type").starts_with("text/calendar"));
    assert!(ics.header("content-disposition").contains(".ics"));
    assert!(
        ics.body.starts_with("BEGIN:VCALENDAR") && ics.body.contains(&code),
        "{}",
        ics.body
    );
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/api/v1/appointments/bookings/{booking_id}/ics"),
            Some(&li),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // ----- waitlist: tomorrow 08:00 fills up, A waits, B cancels, A is booked
    ok(
        &book(&app, &li, "b-1", tomorrow_8, "zh-CN").await,
        StatusCode::CREATED,
    );
    let c_booking = ok(
        &book(&app, &wang, "c-1", tomorrow_8, "zh-CN").await,
        StatusCode::CREATED,
    );
    let full = book(&app, &zhao, "d-1", tomorrow_8, "zh-CN").await;
    assert_eq!(error_code(&full), "slot_sold_out");
    let early = call(
        &app,
        "POST",
        "/api/v1/appointments/waitlist",
        Some(&zhang),
        Some(json!({ "slot": tomorrow_830 })),
    )
    .await;
    assert_eq!(
        error_code(&early),
        "slot_available",
        "a slot with places is booked, not waited for"
    );
    let entry = ok(
        &call(
            &app,
            "POST",
            "/api/v1/appointments/waitlist",
            Some(&zhang),
            Some(json!({ "slot": tomorrow_8 })),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(entry["status"], "waiting");
    let d_entry = ok(
        &call(
            &app,
            "POST",
            "/api/v1/appointments/waitlist",
            Some(&zhao),
            Some(json!({ "slot": tomorrow_8 })),
        )
        .await,
        StatusCode::CREATED,
    );
    let twice = call(
        &app,
        "POST",
        "/api/v1/appointments/waitlist",
        Some(&zhao),
        Some(json!({ "slot": tomorrow_8 })),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    let waiting = ok(
        &call(
            &app,
            "GET",
            "/api/v1/appointments/waitlist",
            Some(&zhao),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(waiting[0]["position"], 2, "{waiting}");
    let left = call(
        &app,
        "DELETE",
        &format!("/api/v1/appointments/waitlist/{}", d_entry["id"]),
        Some(&zhao),
        None,
    )
    .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT);
    let waiting = ok(
        &call(
            &app,
            "GET",
            "/api/v1/appointments/waitlist",
            Some(&zhao),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(waiting[0]["status"], "left");
    let not_yours = call(
        &app,
        "DELETE",
        &format!("/api/v1/appointments/waitlist/{}", entry["id"]),
        Some(&zhao),
        None,
    )
    .await;
    assert_eq!(not_yours.status, StatusCode::NOT_FOUND);

    let cancelled = ok(
        &call(
            &app,
            "POST",
            &format!("/api/v1/appointments/bookings/{}/cancel", c_booking["id"]),
            Some(&wang),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(cancelled["booking"]["status"], "cancelled");
    let again = call(
        &app,
        "POST",
        &format!("/api/v1/appointments/bookings/{}/cancel", c_booking["id"]),
        Some(&wang),
        None,
    )
    .await;
    assert_eq!(error_code(&again), "booking_wrong_state");
    let promoted = ok(
        &call(
            &app,
            "GET",
            "/api/v1/appointments/waitlist",
            Some(&zhang),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(promoted[0]["status"], "promoted", "{promoted}");
    let mine = ok(
        &call(
            &app,
            "GET",
            "/api/v1/appointments/bookings?page_size=1",
            Some(&zhang),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(mine["total"], 2, "the freed place was booked for A");
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "paged");
    assert_eq!(
        mine["items"][0]["booking"]["via_waitlist"], true,
        "latest slot first"
    );

    // ----- the day's bookings and a no-show
    let d_today = ok(
        &book(&app, &zhao, "d-2", today_11, "zh-CN").await,
        StatusCode::CREATED,
    );
    let too_early = call(
        &app,
        "POST",
        &format!("/api/v1/appointments/bookings/{}/no-show", d_today["id"]),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(error_code(&too_early), "no_show_too_early");
    // Authorized before anything is told about the booking: a citizen is refused and another
    // department's staff are told "not found", the same for this booking as for one that does not
    // exist.
    for (who, status, code) in [
        (&zhao, StatusCode::FORBIDDEN, "forbidden"),
        (&other_admin, StatusCode::NOT_FOUND, "not_found"),
    ] {
        for id in [d_today["id"].to_string(), "999999".to_owned()] {
            let refused = call(
                &app,
                "POST",
                &format!("/api/v1/appointments/bookings/{id}/no-show"),
                Some(who),
                None,
            )
            .await;
            assert_eq!(refused.status, status, "{id}: {}", refused.body);
            assert_eq!(error_code(&refused), code, "{id}");
        }
    }
    let day = ok(
        &call(
            &app,
            "GET",
            &format!("{base}/bookings?day=2026-02-13"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(day["total"], 2);
    assert_eq!(
        call(&app, "GET", &format!("{base}/bookings"), Some(&li), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // ----- the queue: a ticket from the machine, a check-in, the doctor's desk
    let kiosk = ok(
        &post_with(
            &app,
            "/api/v1/queue/groups/kbs-rmyy-nk/tickets",
            None,
            &[],
            &json!({ "category": "outpatient" }),
        )
        .await,
        StatusCode::CREATED,
    );
    assert_eq!(kiosk["ticket"]["number"], "A001");
    assert_eq!(kiosk["ahead"], 0);
    let lane = post_with(
        &app,
        "/api/v1/queue/groups/kbs-rmyy-nk/tickets",
        None,
        &[("accept-language", "en")],
        &json!({ "category": "outpatient", "lane": "elderly" }),
    )
    .await;
    assert_eq!(lane.status, StatusCode::CONFLICT);
    assert_eq!(
        lane.json()["error"]["message"],
        "This lane cannot be chosen here."
    );
    let typed = format!("{}-{}", code[..4].to_lowercase(), &code[4..]);
    let checked = ok(
        &post_with(
            &app,
            "/api/v1/queue/groups/kbs-rmyy-nk/check-in",
            None,
            &[],
            &json!({ "code": typed }),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(checked["ticket"]["number"], "Y001");
    assert_eq!(checked["ticket"]["lane"], "appointment");
    let unknown = post_with(
        &app,
        "/api/v1/queue/groups/kbs-rmyy-nk/check-in",
        None,
        &[],
        &json!({ "code": "ABCD-EFGH" }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let window = format!("/api/v1/queue/windows/{doctor_id}");
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("{window}/call-next"),
            Some(&zhang),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN,
        "people do not work windows"
    );
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("{window}/call-next"),
            Some(&other_admin),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let called = ok(
        &call(
            &app,
            "POST",
            &format!("{window}/call-next"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        called["ticket"]["number"], "Y001",
        "the appointment lane first"
    );
    assert_eq!(called["window_name"], "王建华");
    let busy = call(
        &app,
        "POST",
        &format!("{window}/call-next"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(error_code(&busy), "window_busy");
    let board = get(&app, "/api/v1/queue/groups/kbs-rmyy-nk/board")
        .await
        .json();
    assert_eq!(board["calling"][0]["number"], "Y001", "{board}");
    assert_eq!(board["calling"][0]["window_name"], "王建华");
    assert_eq!(board["queues"][0]["waiting"], 1);
    let version = board["version"].as_u64().unwrap();
    let ticket = called["id"].as_i64().unwrap();
    let now = ok(
        &call(&app, "GET", &format!("{window}/ticket"), Some(&desk), None).await,
        StatusCode::OK,
    );
    assert_eq!(now["id"], ticket);
    ok(
        &call(
            &app,
            "POST",
            &format!("/api/v1/queue/tickets/{ticket}/start"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    let done = ok(
        &call(
            &app,
            "POST",
            &format!("/api/v1/queue/tickets/{ticket}/finish"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(done["ticket"]["status"], "done");
    let served = ok(
        &call(
            &app,
            "GET",
            &format!("/api/v1/appointments/bookings/{booking_id}"),
            Some(&zhang),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(served["booking"]["status"], "served");

    let next = ok(
        &call(
            &app,
            "POST",
            &format!("{window}/call-next"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(next["ticket"]["number"], "A001");
    let next_id = next["id"].as_i64().unwrap();
    ok(
        &call(
            &app,
            "POST",
            &format!("/api/v1/queue/tickets/{next_id}/skip"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    let public = get(&app, &format!("/api/v1/queue/tickets/{next_id}"))
        .await
        .json();
    assert_eq!(public["ticket"]["status"], "skipped");
    let back = ok(
        &call(
            &app,
            "POST",
            &format!("{window}/recall"),
            Some(&desk),
            Some(json!({ "ticket": next_id })),
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(back["ticket"]["status"], "called");
    ok(
        &call(
            &app,
            "POST",
            &format!("/api/v1/queue/tickets/{next_id}/finish"),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    let finished_twice = call(
        &app,
        "POST",
        &format!("/api/v1/queue/tickets/{next_id}/finish"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(error_code(&finished_twice), "ticket_wrong_state");
    let empty = call(
        &app,
        "POST",
        &format!("{window}/call-next"),
        Some(&desk),
        None,
    )
    .await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT, "nobody waits");
    let board = get(&app, "/api/v1/queue/groups/kbs-rmyy-nk/board")
        .await
        .json();
    assert!(
        board["version"].as_u64().unwrap() > version,
        "the board moved on"
    );
    assert_eq!(board["calling"], json!([]));

    let queue_stats = ok(
        &call(
            &app,
            "GET",
            "/api/v1/queue/groups/kbs-rmyy-nk/stats?day=2026-02-13",
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(queue_stats["by_window"][0]["code"], "dr-wang");
    assert_eq!(queue_stats["by_window"][0]["served"], 2);
    assert_eq!(queue_stats["by_category"][0]["tickets"], 2);
    assert_eq!(
        get(&app, "/api/v1/queue/groups/kbs-rmyy-nk/stats")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/v1/queue/groups/kbs-rmyy-nk/stats",
            Some(&zhang),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // D did not come at 11:00: after the slot started, the desk records it.
    clock.advance(Duration::hours(2) + Duration::minutes(5));
    // Sessions idle for more than 30 minutes have ended: log in again.
    let desk = staff_token(&app, "YY0101").await;
    let login = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({ "login": "13800006001", "password": PASSWORD })),
    )
    .await;
    let zhang = ok(&login, StatusCode::OK)["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let no_show = ok(
        &call(
            &app,
            "POST",
            &format!("/api/v1/appointments/bookings/{}/no-show", d_today["id"]),
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(
        no_show["suspension"],
        Value::Null,
        "one no-show suspends nobody"
    );
    let closed = ok(
        &call(
            &app,
            "POST",
            "/api/v1/queue/groups/kbs-rmyy-nk/close-day",
            Some(&desk),
            None,
        )
        .await,
        StatusCode::OK,
    );
    assert_eq!(closed["abandoned"], 0);
    let too_late = call(
        &app,
        "POST",
        &format!("/api/v1/appointments/bookings/{}/cancel", first["id"]),
        Some(&zhang),
        None,
    )
    .await;
    assert_eq!(
        too_late.status,
        StatusCode::CONFLICT,
        "a served booking is not cancelled"
    );

    let doc = get(&app, "/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/appointments/groups",
        "/api/v1/appointments/bookings",
        "/api/v1/appointments/bookings/{id}/ics",
        "/api/v1/queue/groups/{group}/board",
        "/api/v1/queue/windows/{id}/call-next",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
}
