//! The rating pages on both backends, without JavaScript: the citizen rates a concluded case from
//! its page (非常不满意 with a tag), sees the rating and adds the 追评; the department's inbox shows
//! the task; the handler verifies, rectifies, records the 回访 and closes it; the public disclosure
//! counts it as rectified on time with the rater masked. Refused forms answer on their field and
//! store nothing. The window's rating tablet offers the ticket just served there for a quarter of an
//! hour and records the tap for the person served.

use axum::http::StatusCode;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;

use crate::appointment_pages::User;
use crate::ratings_api::{concluded_case, ratings_stored, world};
use crate::support::{Reply, get};

fn assert_status(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

/// The first `/staff/ratings/{id}` link of a page.
fn task_href(html: &str) -> String {
    let table = html.find("id=\"tasks\"").expect("the task table");
    let start = table
        + html[table..]
            .find("href=\"/staff/ratings/")
            .expect("a task link")
        + "href=\"".len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

/// The internal id of a case (what an SMS invitation names), read as a test may.
async fn case_id(state: &yiwang_web::AppState, public_id: &str) -> i64 {
    assert!(
        public_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    );
    let id = yiwang_db::count(
        state.db().conn(),
        &format!("SELECT id FROM cases WHERE public_id = '{public_id}'"),
        [],
    )
    .await
    .unwrap();
    i64::try_from(id).unwrap()
}

db_test!(
    citizen_rates_and_staff_rectify_to_the_disclosure,
    rating_forms_refuse_on_their_fields,
    the_window_tablet_offers_the_ticket_just_served
);

async fn citizen_rates_and_staff_rectify_to_the_disclosure(t: &TestDb) {
    let w = world(t).await;
    let case = concluded_case(&w, &w.applicant).await;
    let citizen = User::from_token(&w.app, &w.applicant).await;
    let clerk = User::from_token(&w.app, &w.window).await;
    let supervisor = User::from_token(&w.app, &w.supervisor).await;

    // The concluded case offers 评价; the form has a label for every field.
    let case_page = citizen.get(&w.app, &format!("/my/cases/{case}")).await;
    assert_status(&case_page, StatusCode::OK, "case page");
    let rate_href = format!("/my/ratings/rate?kind=case&amp;id={case}");
    assert!(case_page.body.contains(&rate_href), "a 评价 link");
    let form_uri = format!("/my/ratings/rate?kind=case&id={case}");
    let form = citizen.get(&w.app, &form_uri).await;
    assert_status(&form, StatusCode::OK, "rating form");
    for text in [
        "评价服务",
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
        "超时办理",
        "评价内容",
    ] {
        assert!(form.body.contains(text), "{text}");
    }
    for id in ["level-5", "tag-overdue", "text"] {
        assert!(
            form.body.contains(&format!("for=\"{id}\"")),
            "label for {id}"
        );
    }
    // Someone else's case is not found.
    let other = User::from_token(&w.app, &w.other).await;
    assert_status(
        &other.get(&w.app, &form_uri).await,
        StatusCode::NOT_FOUND,
        "another person's case",
    );

    // 非常不满意 with a tag: the page shows the rating and offers the 追评.
    let rated = citizen
        .post(
            &w.app,
            "/my/ratings/rate",
            &[
                ("kind", "case"),
                ("id", &case),
                ("level", "5"),
                ("tags", "overdue"),
                ("tags", "poor_attitude"),
                ("text", "办了一个月"),
            ],
        )
        .await;
    assert_status(&rated, StatusCode::SEE_OTHER, "rating");
    let shown = citizen.get(&w.app, &format!("{form_uri}&done=rated")).await;
    assert!(shown.body.contains("感谢您的评价"));
    assert!(shown.body.contains("id=\"rating-level\">非常不满意"));
    assert!(shown.body.contains("超时办理、态度差"));
    assert!(shown.body.contains("name=\"follow_up\""), "the 追评 form");
    let again = citizen
        .post(
            &w.app,
            "/my/ratings/rate",
            &[("kind", "case"), ("id", &case), ("level", "1")],
        )
        .await;
    assert_status(&again, StatusCode::CONFLICT, "second rating");
    assert_eq!(ratings_stored(&w.state).await, 1);
    let rating_id = crate::appointment_pages::value_of(&shown.body, "rating").unwrap();
    let follow = citizen
        .post(
            &w.app,
            "/my/ratings/follow-up",
            &[
                ("kind", "case"),
                ("id", &case),
                ("rating", &rating_id),
                ("follow_up", "窗口后来主动联系了我"),
            ],
        )
        .await;
    assert_status(&follow, StatusCode::SEE_OTHER, "追评");
    let after = citizen.get(&w.app, &form_uri).await;
    assert!(after.body.contains("窗口后来主动联系了我"));
    assert!(!after.body.contains("name=\"follow_up\""), "one 追评 only");
    let mine = citizen.get(&w.app, "/my/ratings").await;
    assert_status(&mine, StatusCode::OK, "my ratings");
    assert!(mine.body.contains("非常不满意"));

    // The department's inbox shows the task with its deadlines; the person gets 403.
    assert_status(
        &citizen.get(&w.app, "/staff/ratings").await,
        StatusCode::FORBIDDEN,
        "a person on the staff inbox",
    );
    let inbox = clerk.get(&w.app, "/staff/ratings").await;
    assert_status(&inbox, StatusCode::OK, "inbox");
    assert!(inbox.body.contains("待核实"));
    assert!(inbox.body.contains("2026-02-27"), "rectify deadline");
    let task = task_href(&inbox.body);
    let page = clerk.get(&w.app, &task).await;
    assert_status(&page, StatusCode::OK, "task");
    assert!(
        page.body.contains("id=\"rater-name\">张晓明"),
        "handlers see the name"
    );
    assert!(
        page.body.contains(crate::accounts::MOBILE_A),
        "and the mobile"
    );
    // A supervisor sees the task masked, without the mobile.
    let watched = supervisor.get(&w.app, &task).await;
    assert_status(&watched, StatusCode::OK, "supervisor's view");
    assert!(!watched.body.contains(crate::accounts::MOBILE_A));
    assert!(!watched.body.contains("张晓明"));

    // 核实 without a note: 422 on the field, nothing changes; then the whole way to 办结.
    let empty = clerk
        .post(&w.app, &format!("{task}/verify"), &[("note", " ")])
        .await;
    assert_status(&empty, StatusCode::UNPROCESSABLE_ENTITY, "empty note");
    assert!(empty.body.contains("id=\"note-error\""));
    let early = clerk.post(&w.app, &format!("{task}/close"), &[]).await;
    assert_status(&early, StatusCode::CONFLICT, "closing early");
    for (action, fields) in [
        ("verify", vec![("note", "已电话联系评价人")]),
        ("rectify", vec![("note", "窗口已整改，限时办结")]),
        (
            "follow-up",
            vec![("result", "satisfied"), ("note", "回访满意")],
        ),
        ("close", vec![]),
    ] {
        let done = clerk
            .post(&w.app, &format!("{task}/{action}"), &fields)
            .await;
        assert_status(&done, StatusCode::SEE_OTHER, action);
    }
    let closed = clerk.get(&w.app, &task).await;
    assert!(closed.body.contains("id=\"task-status\">办结"));

    // The public disclosure: counted, rectified on time, the rater masked; the home page links it.
    let home = get(&w.app, "/").await;
    assert!(home.body.contains("href=\"/ratings\""));
    let public = get(&w.app, "/ratings?region=340100&month=2026-02").await;
    assert_status(&public, StatusCode::OK, "disclosure");
    assert!(public.body.contains("好差评公开"));
    assert!(public.body.contains("id=\"total-bad\">1<"));
    assert!(public.body.contains("id=\"total-on-time\">1<"));
    assert!(public.body.contains("按期整改"));
    assert!(public.body.contains("张*明"));
    assert!(!public.body.contains("张晓明"));
    assert!(public.body.contains("窗口已整改，限时办结"));
    assert_status(
        &get(&w.app, "/ratings?month=2026-13").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a bad month",
    );

    // Supervisors' pages: appeals and urgings; window staff may not decide appeals.
    assert_status(
        &supervisor.get(&w.app, "/staff/ratings/appeals").await,
        StatusCode::OK,
        "appeals",
    );
    assert_status(
        &clerk.get(&w.app, "/staff/ratings/appeals").await,
        StatusCode::FORBIDDEN,
        "appeals for window staff",
    );
    let urgings = supervisor.get(&w.app, "/staff/ratings/urgings").await;
    assert_status(&urgings, StatusCode::OK, "urgings");
    assert!(urgings.body.contains("for=\"subject_id\""));
}

async fn rating_forms_refuse_on_their_fields(t: &TestDb) {
    let w = world(t).await;
    let case = concluded_case(&w, &w.applicant).await;
    let citizen = User::from_token(&w.app, &w.applicant).await;
    for (fields, error) in [
        (vec![], "请选择评价等级"),
        (
            vec![("level", "1"), ("tags", "overdue")],
            "所选标签与评价等级不符",
        ),
        (vec![("level", "9")], "请选择评价等级"),
    ] {
        let mut all = vec![("kind", "case"), ("id", case.as_str())];
        all.extend(fields);
        let refused = citizen.post(&w.app, "/my/ratings/rate", &all).await;
        assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY, error);
        assert!(refused.body.contains(error), "{error}");
        assert!(refused.body.contains("error-summary"));
    }
    assert_eq!(ratings_stored(&w.state).await, 0);

    // Without a CSRF token nothing is stored.
    let forged = crate::appointment_pages::post_form(
        &w.app,
        "/my/ratings/rate",
        &citizen.cookie,
        "wrong",
        &[("kind", "case"), ("id", &case), ("level", "5")],
    )
    .await;
    assert_status(&forged, StatusCode::FORBIDDEN, "forged form");
    assert_eq!(ratings_stored(&w.state).await, 0);

    // An SMS link that does not verify: no form, a message; a real one rates without a log-in.
    let bad = get(&w.app, "/rate/link?t=r1.case.1.1.9999999999.00").await;
    assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, "bad link");
    assert!(bad.body.contains("评价链接无效"));
    let token = w
        .state
        .ratings()
        .invite_by_sms(
            &yiwang_identity::policy::Principal::System,
            yiwang_ratings::EventRef {
                kind: yiwang_ratings::EventKind::Case,
                id: case_id(&w.state, &case).await,
            },
            "test",
        )
        .await
        .unwrap();
    let link = get(
        &w.app,
        &format!(
            "/rate/link?t={}",
            yiwang_web::prefs::encode_component(&token)
        ),
    )
    .await;
    assert_status(&link, StatusCode::OK, "link page");
    assert!(link.body.contains("无需登录"));
    let cookie = link
        .header("set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = crate::appointment_pages::csrf_of(&link.body).unwrap();
    let sent = crate::appointment_pages::post_form(
        &w.app,
        "/rate/link",
        &cookie,
        &csrf,
        &[("t", &token), ("level", "1"), ("tags", "efficient")],
    )
    .await;
    assert_status(&sent, StatusCode::OK, "rated by link");
    assert!(sent.body.contains("感谢您的评价"));
    assert_eq!(ratings_stored(&w.state).await, 1);
    let reused = get(
        &w.app,
        &format!(
            "/rate/link?t={}",
            yiwang_web::prefs::encode_component(&token)
        ),
    )
    .await;
    assert!(reused.body.contains("该评价链接已使用"));
}

async fn the_window_tablet_offers_the_ticket_just_served(t: &TestDb) {
    use crate::accounts::{MOBILE_A, RID_A};
    use crate::appointment_pages::{fixture, value_of};
    use crate::staff::{call, person_token};
    let f = fixture(t).await;
    let app = &f.app;
    let token = person_token(f.state.db(), app, "张晓明", RID_A, MOBILE_A).await;
    let ticket = call(
        app,
        "POST",
        "/api/v1/queue/groups/test-hall/tickets",
        Some(&token),
        Some(serde_json::json!({ "category": "zonghe" })),
    )
    .await;
    assert_status(&ticket, StatusCode::CREATED, "ticket");
    let clerk = f
        .staff("kbs-mzj", "WIN001", "13900000002", &["window_staff"])
        .await;
    let window = f.windows[0].id;
    let tablet = format!("/staff/tablets/{window}");

    // Nobody served yet: the waiting screen, reloading itself.
    let waiting = clerk.get(app, &tablet).await;
    assert_status(&waiting, StatusCode::OK, "waiting");
    waiting.assert_has("p#tablet-waiting", "the waiting notice");
    waiting.assert_has(r#"meta[http-equiv=refresh][content="10"]"#, "the reload");
    waiting.assert_lacks("input[name=ticket]", "no rating form");

    // The console links the tablet; the clerk serves A001 to the end.
    let desk = format!("/staff/windows/{window}");
    let console = clerk.get(app, &desk).await;
    console.assert_has(&format!(r#"a#tablet-link[href="{tablet}"]"#), "the link");
    let called = clerk.post(app, &format!("{desk}/call"), &[]).await;
    let console = clerk.get(app, called.header("location")).await;
    let id = value_of(
        &console.body[console.body.find("/recall").unwrap()..],
        "ticket",
    )
    .unwrap();
    for action in ["start", "finish"] {
        let done = clerk
            .post(app, &format!("{desk}/{action}"), &[("ticket", &id)])
            .await;
        assert_status(&done, StatusCode::SEE_OTHER, action);
    }

    // Staff of another department may not run this window's tablet.
    let outsider = f
        .staff("hf-mzj", "MZ0801", "13900002801", &["window_staff"])
        .await;
    assert_status(
        &outsider.get(app, &tablet).await,
        StatusCode::FORBIDDEN,
        "outsider",
    );

    // The tablet offers A001 with the rating form, and does not reload under the person's finger.
    let offered = clerk.get(app, &tablet).await;
    assert_status(&offered, StatusCode::OK, "offer");
    assert!(offered.body.contains("A001"), "{}", offered.body);
    offered.assert_has(
        &format!(r#"input[name=ticket][value="{id}"]"#),
        "the ticket",
    );
    offered.assert_has("input#level-5", "the levels");
    offered.assert_lacks("meta[http-equiv=refresh]", "no reload");
    let before = ratings_stored(&f.state).await;
    let no_level = clerk.post(app, &tablet, &[("ticket", &id)]).await;
    assert_status(&no_level, StatusCode::UNPROCESSABLE_ENTITY, "no level");
    assert!(no_level.body.contains("level-error"));
    let stale = clerk
        .post(app, &tablet, &[("ticket", "999999"), ("level", "1")])
        .await;
    assert_status(&stale, StatusCode::NOT_FOUND, "another ticket");
    assert_eq!(
        ratings_stored(&f.state).await,
        before,
        "refusals store nothing"
    );

    let rated = clerk
        .post(
            app,
            &tablet,
            &[("ticket", &id), ("level", "2"), ("tags", "warm_patient")],
        )
        .await;
    assert_status(&rated, StatusCode::SEE_OTHER, "rated");
    assert_eq!(rated.header("location"), format!("{tablet}?done=1"));
    let thanks = clerk.get(app, rated.header("location")).await;
    thanks.assert_has("p#tablet-thanks", "thanks");
    thanks.assert_has(
        r#"meta[http-equiv=refresh][content="5"]"#,
        "back to waiting",
    );
    assert_eq!(ratings_stored(&f.state).await, before + 1);

    // The rating is the person's, given at the tablet; the tablet waits again and a second tap
    // is refused.
    let mine = call(app, "GET", "/api/v1/me/ratings", Some(&token), None).await;
    let mine: serde_json::Value = serde_json::from_str(&mine.body).unwrap();
    assert_eq!(mine["items"][0]["channel"], "tablet", "{mine}");
    assert_eq!(mine["items"][0]["level"], 2);
    clerk
        .get(app, &tablet)
        .await
        .assert_has("p#tablet-waiting", "waiting again");
    let again = clerk
        .post(app, &tablet, &[("ticket", &id), ("level", "1")])
        .await;
    assert_status(&again, StatusCode::NOT_FOUND, "rated once");
    assert_eq!(ratings_stored(&f.state).await, before + 1);
}
