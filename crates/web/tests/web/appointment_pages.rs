//! Appointment and queue pages on both backends: booking through the form (a double post books once),
//! the waitlist, cancelling, staff set-up and no-shows, permission refusals, the kiosk, the window
//! console and the board's event stream.

use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{Duration, NaiveTime};
use futures::StreamExt as _;
use yiwang_appointments::Origin;
use yiwang_appointments::model::{
    Audience, DayRule, Group, GroupKind, NewCategory, NewGroup, NewResource, Period, Resource,
    Schedule,
};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_kernel::TestClock;
use yiwang_web::prefs::encode_component;
use yiwang_web::{AppState, WebConfig, app};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};
use crate::staff::{person_token, seed_staff, staff_token};
use crate::support::{Reply, get, get_with, send, state_with_clock, t0};

/// A logged-in visitor: the session cookie and the session's CSRF token.
pub(crate) struct User {
    pub cookie: String,
    pub csrf: String,
}

pub(crate) fn csrf_of(html: &str) -> Option<String> {
    value_of(html, "csrf")
}

/// The value of the first hidden field named `name`.
pub(crate) fn value_of(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

impl User {
    pub async fn from_token(app: &axum::Router, token: &str) -> Self {
        let cookie = format!("yw_session={token}");
        let home = get_with(app, "/", &[("cookie", &cookie)]).await;
        let csrf = csrf_of(&home.body).expect("logged-in pages carry the token");
        Self { cookie, csrf }
    }

    pub async fn get(&self, app: &axum::Router, uri: &str) -> Reply {
        get_with(app, uri, &[("cookie", &self.cookie)]).await
    }

    pub async fn post(&self, app: &axum::Router, uri: &str, fields: &[(&str, &str)]) -> Reply {
        post_form(app, uri, &self.cookie, &self.csrf, fields).await
    }
}

pub(crate) async fn post_form(
    app: &axum::Router,
    uri: &str,
    cookie: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let body = std::iter::once(("csrf", csrf))
        .chain(fields.iter().copied())
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&");
    send(
        app,
        Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// A hall (two windows, two categories) and a clinic (one doctor, one place per half hour) of
/// 康巴什区民政局 in the fixture, with slots from today (Friday 2026-02-13, 09:00 China time).
pub(crate) struct Fixture {
    pub state: AppState,
    pub app: axum::Router,
    pub clock: TestClock,
    pub hall: Group,
    pub clinic: Group,
    pub windows: Vec<Resource>,
    pub doctor: Resource,
}

fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

pub(crate) async fn fixture(test: &TestDb) -> Fixture {
    let clock = TestClock::new(t0());
    let state = state_with_clock(test, WebConfig::default(), &clock).await;
    let service = state.appointments();
    let system = Principal::System;
    let origin = Origin::new("test");
    let department = yiwang_identity::service::department(state.db(), "kbs-mzj")
        .await
        .unwrap();
    let new_group = |code: &str, kind, name: &str| NewGroup {
        code: code.to_owned(),
        kind,
        name: name.to_owned(),
        address: "康巴什区市民中心".to_owned(),
        policy: None,
    };
    let hall = service
        .create_group(
            &system,
            &department,
            &new_group("test-hall", GroupKind::Hall, "康巴什区政务服务大厅"),
            &origin,
        )
        .await
        .unwrap();
    let clinic = service
        .create_group(
            &system,
            &department,
            &new_group("test-clinic", GroupKind::HospitalDepartment, "内科"),
            &origin,
        )
        .await
        .unwrap();
    for (group, code, name, audience, prefix) in [
        (&hall, "zonghe", "综合受理", Audience::Personal, "A"),
        (&hall, "qiye", "企业开办", Audience::Enterprise, "F"),
        (&clinic, "menzhen", "门诊", Audience::Personal, "M"),
    ] {
        service
            .add_category(
                &system,
                group.id,
                &NewCategory {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    audience,
                    theme: "综合".to_owned(),
                    prefix: prefix.to_owned(),
                },
                &origin,
            )
            .await
            .unwrap();
    }
    let mut windows = Vec::new();
    for (code, name, category) in [("w01", "1号窗口", "zonghe"), ("w02", "2号窗口", "qiye")] {
        let window = service
            .add_resource(
                &system,
                hall.id,
                &NewResource {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    categories: vec![category.to_owned()],
                    ..NewResource::default()
                },
                &origin,
            )
            .await
            .unwrap();
        service
            .set_schedule(
                &system,
                window.id,
                Some(&Schedule::office_hours(30, 2)),
                &origin,
            )
            .await
            .unwrap();
        windows.push(window);
    }
    let doctor = service
        .add_resource(
            &system,
            clinic.id,
            &NewResource {
                code: "wangjh".to_owned(),
                name: "王建华".to_owned(),
                title: "主任医师 · 心血管内科".to_owned(),
                categories: vec!["menzhen".to_owned()],
                ..NewResource::default()
            },
            &origin,
        )
        .await
        .unwrap();
    service
        .set_schedule(
            &system,
            doctor.id,
            Some(&Schedule {
                days: DayRule::WorkingDays,
                periods: vec![Period {
                    start: t(9, 0),
                    end: t(12, 0),
                }],
                slot_minutes: 30,
                capacity: 1,
                valid_from: None,
                valid_until: None,
            }),
            &origin,
        )
        .await
        .unwrap();
    for group in [&hall, &clinic] {
        service
            .generate_slots(&system, group.id, 5, &origin)
            .await
            .unwrap();
    }
    let app = app(state.clone());
    Fixture {
        state,
        app,
        clock,
        hall,
        clinic,
        windows,
        doctor,
    }
}

impl Fixture {
    /// The doctor's slot starting at `h:m` China time on today + `days`.
    pub async fn doctor_slot(&self, days: i64, h: u32, m: u32) -> i64 {
        let service = self.state.appointments();
        let day = service.today() + Duration::days(days);
        service
            .staff_slots(&Principal::System, self.clinic.id, day, day)
            .await
            .unwrap_or_else(|_| {
                panic!("slots of {day}");
            })
            .into_iter()
            .find(|s| {
                s.slot.resource_id == self.doctor.id
                    && s.slot
                        .starts_at
                        .with_timezone(&yiwang_kernel::clock::china_offset())
                        .format("%H:%M")
                        .to_string()
                        == format!("{h:02}:{m:02}")
            })
            .unwrap_or_else(|| panic!("no slot at {h}:{m} on {day}"))
            .slot
            .id
            .get()
    }

    pub async fn person(&self, name: &str, rid: &str, mobile: &str) -> User {
        let token = person_token(self.state.db(), &self.app, name, rid, mobile).await;
        User::from_token(&self.app, &token).await
    }

    pub async fn staff(&self, department: &str, no: &str, mobile: &str, roles: &[&str]) -> User {
        seed_staff(&self.state, department, no, mobile, roles).await;
        let token = staff_token(&self.app, no).await;
        User::from_token(&self.app, &token).await
    }
}

/// Book a slot through the confirmation form; returns the redirect and the form's key.
pub(crate) async fn book_through_form(
    app: &axum::Router,
    user: &User,
    group: &str,
    slot: i64,
) -> (Reply, String) {
    let form = user
        .get(app, &format!("/appointments/{group}/book?slot={slot}"))
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let key = value_of(&form.body, "idempotency_key").expect("the form carries a key");
    let reply = user
        .post(
            app,
            &format!("/appointments/{group}/book"),
            &[("slot", &slot.to_string()), ("idempotency_key", &key)],
        )
        .await;
    (reply, key)
}

async fn citizen_books_waits_and_cancels(test: &TestDb) {
    let f = fixture(test).await;
    let app = &f.app;

    let index = get(app, "/appointments").await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(
        index.body.contains("康巴什区政务服务大厅")
            && index.body.contains("鄂尔多斯市康巴什区民政局")
    );
    assert!(index.body.contains(r#"href="/appointments/test-clinic""#));
    let home = get(app, "/").await;
    assert!(
        home.body.contains(r#"href="/appointments#hospitals""#),
        "home links to booking"
    );

    let clinic = get(app, "/appointments/test-clinic").await;
    assert!(clinic.body.contains("王建华") && clinic.body.contains("主任医师 · 心血管内科"));
    let days = get(app, "/appointments/test-clinic?resource=wangjh").await;
    assert!(
        days.body.contains("2026-02-14 周六"),
        "调休 Saturday is open: {}",
        days.body
    );
    let slot = f.doctor_slot(1, 9, 0).await;
    let times = get(
        app,
        "/appointments/test-clinic?resource=wangjh&day=2026-02-14",
    )
    .await;
    assert!(
        times
            .body
            .contains(&format!("/appointments/test-clinic/book?slot={slot}"))
    );
    assert!(times.body.contains("09:00–09:30") && times.body.contains("剩余 1 个"));

    // Booking needs a logged-in person.
    let anonymous = get(app, &format!("/appointments/test-clinic/book?slot={slot}")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(anonymous.header("location").starts_with("/login?next="));

    let a = f.person("张晓明", RID_A, MOBILE_A).await;
    let (first, key) = book_through_form(app, &a, "test-clinic", slot).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let location = first.header("location").to_owned();
    assert!(location.starts_with("/my/appointments/") && location.ends_with("?booked=1"));
    // The same form posted again (a double click): the same booking, not a second one.
    let again = a
        .post(
            app,
            "/appointments/test-clinic/book",
            &[("slot", &slot.to_string()), ("idempotency_key", &key)],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(again.header("location"), location);
    let booked = f.state.appointments().slot(slot.into()).await.unwrap();
    assert_eq!(booked.booked, 1, "booked once");

    let confirmation = a.get(app, &location).await;
    assert!(confirmation.body.contains("预约成功"));
    let code = confirmation.body[confirmation.body.find(r#"id="booking-code">"#).unwrap()
        + r#"id="booking-code">"#.len()..]
        .chars()
        .take(8)
        .collect::<String>();
    assert_eq!(code.len(), 8);
    assert!(confirmation.body.contains("2026-02-14 周六 09:00–09:30"));
    assert!(confirmation.body.contains("内科") && confirmation.body.contains("王建华"));
    let id = location
        .trim_start_matches("/my/appointments/")
        .trim_end_matches("?booked=1")
        .to_owned();
    let ics = a
        .get(app, &format!("/my/appointments/{id}/calendar.ics"))
        .await;
    assert!(ics.header("content-type").starts_with("text/calendar"));
    assert!(ics.body.contains("BEGIN:VCALENDAR") && ics.body.contains(&code));

    // Sold out: another person is offered the waitlist and joins it.
    let b = f.person("王丽华", RID_B, MOBILE_B).await;
    let full = b
        .get(app, &format!("/appointments/test-clinic/book?slot={slot}"))
        .await;
    assert!(
        full.body.contains("加入候补") && !full.body.contains(r#"name="idempotency_key""#),
        "the waitlist is offered, not the booking form"
    );
    let joined = b
        .post(
            app,
            "/appointments/test-clinic/waitlist",
            &[("slot", &slot.to_string())],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    let waiting = b.get(app, "/my/appointments?waitlisted=1").await;
    assert!(waiting.body.contains("候补中") && waiting.body.contains("排第 1 位"));
    // Someone else's booking cannot be seen.
    assert_eq!(
        b.get(app, &format!("/my/appointments/{id}")).await.status,
        StatusCode::NOT_FOUND
    );

    // Cancelling frees the place for the waitlist.
    let mine = a.get(app, "/my/appointments").await;
    assert!(mine.body.contains(&code) && mine.body.contains("前可取消"));
    let cancelled = a
        .post(app, &format!("/my/appointments/{id}/cancel"), &[])
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(cancelled.header("location"), "/my/appointments?cancelled=1");
    let after = a.get(app, "/my/appointments?cancelled=1").await;
    assert!(after.body.contains("预约已取消") && after.body.contains("已取消"));
    let promoted = b.get(app, "/my/appointments").await;
    assert!(promoted.body.contains("已候补成功"), "{}", promoted.body);
    assert!(promoted.body.contains("2026-02-14 周六 09:00–09:30"));

    // A booking inside the cancellation cut-off cannot be cancelled, and the page says so.
    let soon = f.doctor_slot(0, 10, 0).await;
    let (today, _) = book_through_form(app, &a, "test-clinic", soon).await;
    assert_eq!(today.status, StatusCode::SEE_OTHER);
    let today_id = today
        .header("location")
        .trim_start_matches("/my/appointments/")
        .trim_end_matches("?booked=1")
        .to_owned();
    let listed = a.get(app, "/my/appointments").await;
    assert!(listed.body.contains("已过取消截止时间"));
    let late = a
        .post(app, &format!("/my/appointments/{today_id}/cancel"), &[])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.body.contains("已过取消时限"), "{}", late.body);
    // One booking per person per department and day.
    let other = f.doctor_slot(0, 11, 0).await;
    let (refused, _) = book_through_form(app, &a, "test-clinic", other).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains(r#"id="book-error""#));
    // A missing CSRF token is refused.
    let forged = post_form(
        app,
        "/appointments/test-clinic/book",
        &a.cookie,
        "wrong",
        &[("slot", &other.to_string())],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}
db_test!(citizen_books_waits_and_cancels);

async fn staff_set_up_and_permissions(test: &TestDb) {
    let f = fixture(test).await;
    let app = &f.app;
    let admin = f
        .staff("kbs-mzj", "ADM001", "13900000001", &["department_admin"])
        .await;
    let clerk = f
        .staff("kbs-mzj", "WIN001", "13900000002", &["window_staff"])
        .await;
    let stranger = f
        .staff("hf-mzj", "OTH001", "13900000003", &["department_admin"])
        .await;
    let person = f.person("张晓明", RID_A, MOBILE_A).await;

    let list = admin.get(app, "/staff/appointments").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("康巴什区政务服务大厅") && list.body.contains("可设置排班"));
    let workspace = admin.get(app, "/staff/departments/kbs-mzj").await;
    assert!(workspace.body.contains(r#"href="/staff/appointments""#));
    assert!(
        !stranger
            .get(app, "/staff/appointments")
            .await
            .body
            .contains("test-hall"),
        "another department's halls are not listed"
    );
    assert_eq!(
        stranger
            .get(app, "/staff/appointments/test-hall")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        person.get(app, "/staff/appointments").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(app, "/staff/appointments").await.status,
        StatusCode::SEE_OTHER
    );

    let page = admin.get(app, "/staff/appointments/test-hall").await;
    assert!(page.body.contains("预约规则") && page.body.contains("1号窗口"));
    // The policy form: a value that is not a number is named; a broken rule is explained.
    let mut fields = vec![
        ("release_days", "5"),
        ("release_counting", "working_days"),
        ("release_at", "08:30"),
        ("earliest_days", "1"),
        ("booking_cutoff", "0"),
        ("cancel_cutoff", "60"),
        ("one_per_day", "item"),
        ("no_show_limit", "3"),
        ("no_show_within", "90"),
        ("no_show_suspend", "30"),
        ("waitlist_max", "10"),
        ("handling_minutes", "12"),
    ];
    fields[0].1 = "five";
    let bad = admin
        .post(app, "/staff/appointments/test-hall/policy", &fields)
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("请检查“提前放号天数”的填写"),
        "{}",
        bad.body
    );
    fields[0].1 = "5";
    fields[3].1 = "9";
    let broken = admin
        .post(app, "/staff/appointments/test-hall/policy", &fields)
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    fields[3].1 = "1";
    let saved = admin
        .post(app, "/staff/appointments/test-hall/policy", &fields)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let hall = f.state.appointments().group(f.hall.id).await.unwrap();
    assert_eq!(hall.policy.cancel_cutoff_minutes, 60);
    assert_eq!(hall.policy.queue.default_handling_minutes, 12);
    // Window staff may not change the rules.
    assert_eq!(
        clerk
            .post(app, "/staff/appointments/test-hall/policy", &fields)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Opening hours and slot generation.
    let window = f.windows[0].id;
    let schedule = [
        ("days", "working_days"),
        ("periods", "08:30-11:30\n14:00-17:30"),
        ("slot_minutes", "60"),
        ("capacity", "4"),
        ("valid_from", ""),
        ("valid_until", ""),
    ];
    let overlap = admin
        .post(
            app,
            &format!("/staff/appointments/test-hall/resources/{window}/schedule"),
            &[
                ("days", "working_days"),
                ("periods", "08:30-11:30\n11:00-12:00"),
                ("slot_minutes", "60"),
                ("capacity", "4"),
            ],
        )
        .await;
    assert_eq!(overlap.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        overlap.body.contains("时段之间不能重叠"),
        "{}",
        overlap.body
    );
    let set = admin
        .post(
            app,
            &format!("/staff/appointments/test-hall/resources/{window}/schedule"),
            &schedule,
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.body);
    let resources = f.state.appointments().resources(f.hall.id).await.unwrap();
    let changed = resources.iter().find(|r| r.id == window).unwrap();
    assert_eq!(changed.schedule.as_ref().unwrap().slot_minutes, 60);
    let generated = admin
        .post(
            app,
            "/staff/appointments/test-hall/generate",
            &[("days", "10")],
        )
        .await;
    assert_eq!(generated.status, StatusCode::SEE_OTHER);
    assert!(generated.header("location").contains("generated="));
    let shown = admin.get(app, generated.header("location")).await;
    assert!(shown.body.contains("已生成"));

    // The day's bookings, and a no-show once the slot has started.
    let slot = f.doctor_slot(0, 9, 30).await;
    let (booked, _) = book_through_form(app, &person, "test-clinic", slot).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER);
    let day = admin.get(app, "/staff/appointments/test-clinic").await;
    assert!(day.body.contains("已预约") && day.body.contains("记为爽约"));
    let booking = f
        .state
        .appointments()
        .day_bookings(
            &Principal::System,
            f.clinic.id,
            f.state.appointments().today(),
        )
        .await
        .unwrap()
        .remove(0);
    let uri = format!(
        "/staff/appointments/test-clinic/bookings/{}/no-show",
        booking.booking.id
    );
    let early = clerk.post(app, &uri, &[("day", "2026-02-13")]).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.body.contains("时段开始后才能记录爽约"));
    // Past the slot's start (in two steps: an idle session expires after 30 minutes).
    f.clock.advance(Duration::minutes(20));
    clerk.get(app, "/staff/appointments").await;
    admin.get(app, "/staff/appointments").await;
    stranger.get(app, "/staff/appointments").await;
    f.clock.advance(Duration::minutes(15));
    let marked = clerk.post(app, &uri, &[("day", "2026-02-13")]).await;
    assert_eq!(marked.status, StatusCode::SEE_OTHER, "{}", marked.body);
    let after = clerk.get(app, marked.header("location")).await;
    assert!(after.body.contains("已记录爽约"), "{}", after.body);

    // Statistics render for staff, not for others.
    let stats = admin.get(app, "/staff/appointments/test-hall/stats").await;
    assert_eq!(stats.status, StatusCode::OK);
    assert!(stats.body.contains("排队统计") && stats.body.contains("当天没有排队记录"));
    assert_eq!(
        stranger
            .get(app, "/staff/appointments/test-hall/stats")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
db_test!(staff_set_up_and_permissions);

/// The kiosk's CSRF cookie and token.
pub(crate) async fn kiosk_session(app: &axum::Router, hall: &str) -> (String, String, Reply) {
    let page = get(app, &format!("/halls/{hall}/kiosk")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let cookie = page
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_of(&page.body).unwrap();
    (cookie, csrf, page)
}

async fn kiosk_console_and_board(test: &TestDb) {
    let f = fixture(test).await;
    let app = &f.app;
    let (cookie, csrf, kiosk) = kiosk_session(app, "test-hall").await;
    assert!(kiosk.body.contains("个人业务") && kiosk.body.contains("企业业务"));
    assert!(kiosk.body.contains(r#"id="take-zonghe""#));

    let taken = post_form(
        app,
        "/halls/test-hall/kiosk/ticket",
        &cookie,
        &csrf,
        &[("category", "zonghe")],
    )
    .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    let ticket = get(app, taken.header("location")).await;
    assert!(ticket.body.contains(r#"id="ticket-number">A001<"#));
    assert!(ticket.body.contains("综合受理") && ticket.body.contains("0 人"));
    let second = post_form(
        app,
        "/halls/test-hall/kiosk/ticket",
        &cookie,
        &csrf,
        &[("category", "zonghe")],
    )
    .await;
    let second = get(app, second.header("location")).await;
    assert!(second.body.contains("A002") && second.body.contains("1 人"));
    assert!(
        second.body.contains("10 分钟"),
        "default handling time: {}",
        second.body
    );
    let forged = post_form(
        app,
        "/halls/test-hall/kiosk/ticket",
        &cookie,
        "nope",
        &[("category", "zonghe")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    // Check in a booking of today at the clinic's kiosk.
    let person = f.person("张晓明", RID_A, MOBILE_A).await;
    let slot = f.doctor_slot(0, 9, 30).await;
    let (booked, _) = book_through_form(app, &person, "test-clinic", slot).await;
    let confirmation = person.get(app, booked.header("location")).await;
    let at =
        confirmation.body.find(r#"id="booking-code">"#).unwrap() + r#"id="booking-code">"#.len();
    let code: String = confirmation.body[at..].chars().take(8).collect();
    let (clinic_cookie, clinic_token, _) = kiosk_session(app, "test-clinic").await;
    let unknown = post_form(
        app,
        "/halls/test-clinic/kiosk/check-in",
        &clinic_cookie,
        &clinic_token,
        &[("code", "ABCD2345")],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.body.contains("没有找到这个预约码"));
    let checked = post_form(
        app,
        "/halls/test-clinic/kiosk/check-in",
        &clinic_cookie,
        &clinic_token,
        &[("code", &code.to_lowercase())],
    )
    .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER, "{}", checked.body);
    let priority = get(app, checked.header("location")).await;
    assert!(priority.body.contains(r#"id="ticket-number">Y001<"#));
    assert!(priority.body.contains("预约"));
    let wrong_hall = post_form(
        app,
        "/halls/test-hall/kiosk/check-in",
        &cookie,
        &csrf,
        &[("code", &code)],
    )
    .await;
    assert_eq!(wrong_hall.status, StatusCode::CONFLICT);

    // The doctor's console calls the checked-in patient.
    let clerk = f
        .staff("kbs-mzj", "WIN001", "13900000002", &["window_staff"])
        .await;
    let desk = format!("/staff/windows/{}", f.doctor.id);
    let console = clerk.get(app, &desk).await;
    assert_eq!(console.status, StatusCode::OK, "{}", console.body);
    assert!(console.body.contains(r#"data-lane="appointment">1<"#));
    let called = clerk.post(app, &format!("{desk}/call"), &[]).await;
    assert_eq!(called.status, StatusCode::SEE_OTHER);
    let console = clerk.get(app, called.header("location")).await;
    assert!(
        console.body.contains("已呼叫 Y001")
            && console.body.contains(r#"id="current-number">Y001<"#)
    );
    let id = value_of(
        &console.body[console.body.find("/recall").unwrap()..],
        "ticket",
    )
    .unwrap();
    for (action, text) in [
        ("recall", "已重呼 Y001"),
        ("start", "Y001 开始办理"),
        ("finish", "Y001 已办结"),
    ] {
        let done = clerk
            .post(app, &format!("{desk}/{action}"), &[("ticket", &id)])
            .await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            done.body
        );
        assert!(
            clerk
                .get(app, done.header("location"))
                .await
                .body
                .contains(text),
            "{action}"
        );
    }
    let empty = clerk.post(app, &format!("{desk}/call"), &[]).await;
    assert!(
        clerk
            .get(app, empty.header("location"))
            .await
            .body
            .contains("当前没有等候的号码")
    );

    // Hall windows: call, skip, recall, transfer to the other category.
    let w1 = format!("/staff/windows/{}", f.windows[0].id);
    let w2 = format!("/staff/windows/{}", f.windows[1].id);
    clerk.post(app, &format!("{w1}/call"), &[]).await;
    let page = clerk.get(app, &w1).await;
    let a1 = value_of(&page.body[page.body.find("/skip").unwrap()..], "ticket").unwrap();
    let busy = clerk.post(app, &format!("{w1}/call"), &[]).await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert!(busy.body.contains("本窗口还有正在办理的号"));
    clerk
        .post(app, &format!("{w1}/skip"), &[("ticket", &a1)])
        .await;
    let skipped = clerk.get(app, &w1).await;
    assert!(skipped.body.contains("已过号") && skipped.body.contains("A001"));
    clerk
        .post(app, &format!("{w1}/recall"), &[("ticket", &a1)])
        .await;
    let no_target = clerk
        .post(
            app,
            &format!("{w1}/transfer"),
            &[("ticket", &a1), ("target", "")],
        )
        .await;
    assert_eq!(no_target.status, StatusCode::UNPROCESSABLE_ENTITY);
    let moved = clerk
        .post(
            app,
            &format!("{w1}/transfer"),
            &[("ticket", &a1), ("target", "category:qiye")],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let other = clerk.get(app, &w2).await;
    assert!(
        other.body.contains(r#"data-lane="normal">1<"#),
        "{}",
        other.body
    );
    // Staff of another department cannot work these windows.
    let stranger = f
        .staff("hf-mzj", "OTH001", "13900000003", &["window_staff"])
        .await;
    assert_eq!(stranger.get(app, &w2).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        stranger.post(app, &format!("{w2}/call"), &[]).await.status,
        StatusCode::FORBIDDEN
    );

    // The board, and its event stream announcing a call.
    let board = get(app, "/halls/test-hall/board").await;
    assert_eq!(board.status, StatusCode::OK);
    assert!(
        board
            .body
            .contains(r#"<noscript><meta http-equiv="refresh""#)
    );
    assert!(
        board
            .body
            .contains(r#"<script src="/static/board.js" defer></script>"#)
    );
    assert!(board.body.contains("综合受理") && !board.body.contains("<script>"));
    let script = get(app, "/static/board.js").await;
    assert!(script.header("content-type").starts_with("text/javascript"));
    assert!(script.body.contains("EventSource"));

    let response = tower::ServiceExt::oneshot(
        app.clone(),
        Request::get("/halls/test-hall/board/events")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = response.into_body().into_data_stream();
    let first = next_event(&mut stream).await;
    assert!(
        first.contains("event: board") && first.contains("\"announce\":null"),
        "{first}"
    );
    let called = clerk.post(app, &format!("{w2}/call"), &[]).await;
    assert_eq!(called.status, StatusCode::SEE_OTHER);
    let announced = next_event(&mut stream).await;
    assert!(
        announced.contains(r#""announce":{"number":"A001","window":"2号窗口"}"#),
        "{announced}"
    );
    assert!(
        get(app, "/halls/test-hall/board")
            .await
            .body
            .contains("A001")
    );

    // When the server begins to shut down, the live stream ends (graceful shutdown need not wait).
    f.state.begin_shutdown();
    let ended = tokio::time::timeout(StdDuration::from_secs(5), async {
        while let Some(chunk) = stream.next().await {
            chunk.expect("readable");
        }
    })
    .await;
    assert!(ended.is_ok(), "the board stream ends on shutdown");
}
db_test!(kiosk_console_and_board);

/// The next server-sent event (frames up to a blank line), waiting at most five seconds.
async fn next_event(
    stream: &mut (impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
) -> String {
    let mut text = String::new();
    loop {
        let chunk = tokio::time::timeout(StdDuration::from_secs(5), stream.next())
            .await
            .expect("an event within five seconds")
            .expect("the stream stays open")
            .expect("readable");
        text.push_str(&String::from_utf8_lossy(&chunk));
        if text.contains("\n\n") && text.contains("data:") {
            return text;
        }
    }
}
