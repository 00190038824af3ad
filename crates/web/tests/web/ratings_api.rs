//! Ratings (好差评) over the API on both backends: a person rates a concluded case they applied for
//! once (201, then 409 `already_rated`), someone else's case is 404, bad levels and tags are 422
//! on their field; the 追评 once; the department's handlers work the rectification to 办结; the
//! public disclosure counts it as rectified on time, the rater masked.

use axum::http::StatusCode;
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_web::{AppState, app};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};
use crate::cases::{FOOD_RENEWAL, act, publish, seed, task_of, upload};
use crate::staff::{call, person_token, seed_staff, staff_token};
use crate::support::{get, state};

/// An instant item: accepting the application concludes the case.
const INSTANT: &str = "instant = true\n[[steps]]\nid = \"accept\"\nname = \"受理即办\"\nkind = \"intake\"\npost = \"hf-scjgj/window\"\n";

pub(crate) struct World {
    pub state: AppState,
    pub app: axum::Router,
    /// 张晓明.
    pub applicant: String,
    /// 李娜.
    pub other: String,
    /// 合肥市市场监管局 window staff (handles its rectifications).
    pub window: String,
    /// 合肥市民政局 supervisor (region 340100).
    pub supervisor: String,
    pub item: i64,
}

pub(crate) async fn world(t: &TestDb) -> World {
    let state = state(t).await;
    seed(&state).await;
    seed_staff(&state, "hf-mzj", "MZ0901", "13900002901", &["supervisor"]).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state.clone());
    let admin = staff_token(&app, "SC0001").await;
    let published = publish(&app, &admin, item, INSTANT).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    World {
        applicant: person_token(state.db(), &app, "张晓明", RID_A, MOBILE_A).await,
        other: person_token(state.db(), &app, "李娜", RID_B, MOBILE_B).await,
        window: staff_token(&app, "SC0101").await,
        supervisor: staff_token(&app, "MZ0901").await,
        item,
        state,
        app,
    }
}

/// A case of `token` concluded at the window; its public id.
pub(crate) async fn concluded_case(w: &World, token: &str) -> String {
    let form = get(&w.app, &format!("/api/v1/items/{}/application", w.item)).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let mut materials = Vec::new();
    for m in form.json()["materials"].as_array().unwrap() {
        if m["mandatory"] != true {
            continue;
        }
        let name = m["name"].as_str().unwrap();
        let up = upload(&w.app, token, &format!("{name}.pdf"), b"%PDF-1.7 test").await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
        materials.push(json!({ "material": name, "file": up.json()["id"] }));
    }
    let applied = call(
        &w.app,
        "POST",
        "/api/v1/cases",
        Some(token),
        Some(json!({ "item": w.item, "answers": {}, "materials": materials })),
    )
    .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
    let id = applied.json()["id"].as_str().unwrap().to_owned();
    let case_no = applied.json()["case_no"].as_str().unwrap().to_owned();
    let task = task_of(&w.app, &w.window, &case_no, "accept").await;
    let claimed = call(
        &w.app,
        "POST",
        &format!("/api/v1/tasks/{task}/claim"),
        Some(&w.window),
        None,
    )
    .await;
    assert_eq!(claimed.status, StatusCode::NO_CONTENT, "{}", claimed.body);
    let done = act(&w.app, &w.window, task, json!({ "action": "accept" })).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["status"], "concluded", "{}", done.body);
    id
}

fn rating(case: &str, level: u8, tags: &[&str], text: &str) -> Value {
    json!({ "event": { "kind": "case", "id": case }, "level": level, "tags": tags, "text": text })
}

async fn rate(w: &World, token: &str, body: Value) -> crate::support::Reply {
    call(&w.app, "POST", "/api/v1/ratings", Some(token), Some(body)).await
}

pub(crate) async fn ratings_stored(state: &AppState) -> u64 {
    yiwang_db::count(state.db().conn(), "SELECT COUNT(*) FROM ratings", [])
        .await
        .unwrap()
}

db_test!(
    rating_a_case_once_over_the_api,
    rectification_over_the_api_reaches_the_disclosure,
    staff_enter_a_phone_rating_for_the_person_served
);

async fn rating_a_case_once_over_the_api(t: &TestDb) {
    let w = world(t).await;
    let case = concluded_case(&w, &w.applicant).await;

    // Without a session: 401; staff do not rate: 403; someone else's case: 404.
    let anonymous = call(
        &w.app,
        "POST",
        "/api/v1/ratings",
        None,
        Some(rating(&case, 1, &[], "")),
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let staff = rate(&w, &w.window, rating(&case, 1, &[], "")).await;
    assert_eq!(staff.status, StatusCode::FORBIDDEN, "{}", staff.body);
    let not_mine = rate(&w, &w.other, rating(&case, 1, &[], "")).await;
    assert_eq!(not_mine.status, StatusCode::NOT_FOUND, "{}", not_mine.body);
    let nothing = rate(&w, &w.applicant, rating("no-such-case", 1, &[], "")).await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);

    // Bad level, unknown tag, tag of another level, too long: 422 on the field, nothing stored.
    for (body, field, code) in [
        (rating(&case, 6, &[], ""), "level", "rating_bad_level"),
        (rating(&case, 0, &[], ""), "level", "rating_bad_level"),
        (rating(&case, 5, &["好"], ""), "tags", "rating_unknown_tag"),
        (
            rating(&case, 1, &["超时办理"], ""),
            "tags",
            "rating_tag_not_for_level",
        ),
        (
            rating(&case, 3, &[], &"字".repeat(501)),
            "text",
            "rating_text_too_long",
        ),
    ] {
        let refused = rate(&w, &w.applicant, body).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            refused.body
        );
        assert_eq!(refused.json()["error"]["field"], field, "{}", refused.body);
        assert_eq!(refused.json()["error"]["code"], code);
    }
    assert_eq!(ratings_stored(&w.state).await, 0);

    // Rated once: 201 with the rating; again: 409 already_rated, in Chinese.
    let rated = rate(
        &w,
        &w.applicant,
        rating(&case, 5, &["超时办理", "poor_attitude"], "等了一个月"),
    )
    .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    let body = rated.json();
    assert_eq!(body["level"], 5);
    assert_eq!(body["level_name"], "非常不满意");
    assert_eq!(body["tags"], json!(["overdue", "poor_attitude"]));
    assert_eq!(body["event"]["kind"], "case");
    assert_eq!(body["rater"], "张*明");
    let id = body["id"].as_str().unwrap().to_owned();
    let again = rate(&w, &w.applicant, rating(&case, 1, &[], "")).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(again.json()["error"]["code"], "already_rated");
    assert_eq!(
        again.json()["error"]["message"],
        "您已评价过这次服务（一次一评）。"
    );
    assert_eq!(ratings_stored(&w.state).await, 1);

    // The 追评 once; someone else cannot add one.
    let path = format!("/api/v1/ratings/{id}/follow-up");
    let foreign = call(
        &w.app,
        "POST",
        &path,
        Some(&w.other),
        Some(json!({ "text": "补充" })),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let added = call(
        &w.app,
        "POST",
        &path,
        Some(&w.applicant),
        Some(json!({ "text": "补充：窗口态度也不好" })),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert_eq!(added.json()["follow_up"], "补充：窗口态度也不好");
    let twice = call(
        &w.app,
        "POST",
        &path,
        Some(&w.applicant),
        Some(json!({ "text": "再补充" })),
    )
    .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(twice.json()["error"]["code"], "rating_follow_up_given");

    let mine = call(
        &w.app,
        "GET",
        "/api/v1/me/ratings",
        Some(&w.applicant),
        None,
    )
    .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.json()["total"], 1);
    let theirs = call(&w.app, "GET", "/api/v1/me/ratings", Some(&w.other), None).await;
    assert_eq!(theirs.json()["total"], 0);

    // Tags of a level; a level out of range is 422.
    let tags = get(&w.app, "/api/v1/ratings/tags?level=5").await;
    assert_eq!(tags.status, StatusCode::OK);
    let codes: Vec<String> = tags
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap().to_owned())
        .collect();
    assert!(codes.contains(&"overdue".to_owned()) && !codes.contains(&"done_in_one".to_owned()));
    assert_eq!(
        get(&w.app, "/api/v1/ratings/tags?level=6").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn rectification_over_the_api_reaches_the_disclosure(t: &TestDb) {
    let w = world(t).await;
    let case = concluded_case(&w, &w.applicant).await;
    let rated = rate(&w, &w.applicant, rating(&case, 5, &["超时办理"], "")).await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);

    let inbox = call(
        &w.app,
        "GET",
        "/api/v1/rectifications",
        Some(&w.window),
        None,
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert_eq!(inbox.json()["total"], 1);
    let task = &inbox.json()["items"][0];
    assert_eq!(task["status"], "verifying");
    assert_eq!(task["rectify_due_on"], "2026-02-27");
    let id = task["id"].as_i64().unwrap();
    // The person cannot reach staff routes; the handler reads the rater's contact details.
    assert_eq!(
        call(
            &w.app,
            "GET",
            "/api/v1/rectifications",
            Some(&w.applicant),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let detail = call(
        &w.app,
        "GET",
        &format!("/api/v1/rectifications/{id}"),
        Some(&w.window),
        None,
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert_eq!(detail.json()["rater_name"], "张晓明");
    assert_eq!(detail.json()["rater_mobile"], MOBILE_A);

    let step = |action: &'static str, body: Value| {
        let app = w.app.clone();
        let token = w.window.clone();
        async move {
            call(
                &app,
                "POST",
                &format!("/api/v1/rectifications/{id}/{action}"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };
    let empty = step("verify", json!({ "text": " " })).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.json()["error"]["field"], "contact_note");
    let early = step("close", json!({})).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    for (action, body, status) in [
        (
            "verify",
            json!({ "text": "已电话联系张先生" }),
            "rectifying",
        ),
        (
            "rectify",
            json!({ "text": "已督促窗口限时办结" }),
            "rectified",
        ),
        (
            "follow-up",
            json!({ "result": "satisfied", "text": "回访满意" }),
            "follow_up",
        ),
        ("close", json!({}), "closed"),
    ] {
        let done = step(action, body).await;
        assert_eq!(done.status, StatusCode::OK, "{action}: {}", done.body);
        assert_eq!(done.json()["status"], status);
    }

    let disclosed = get(
        &w.app,
        "/api/v1/ratings/disclosure?region=340100&month=2026-02",
    )
    .await;
    assert_eq!(disclosed.status, StatusCode::OK, "{}", disclosed.body);
    let d = disclosed.json();
    assert_eq!(d["total"]["total"], 1);
    assert_eq!(d["total"]["bad"], 1);
    assert_eq!(d["total"]["rectified_on_time"], 1);
    assert_eq!(d["bad"][0]["rater"], "张*明");
    assert_eq!(d["bad"][0]["on_time"], true);
    assert!(!disclosed.body.contains("张晓明"));
    for bad in [
        "/api/v1/ratings/disclosure?month=2026-13",
        "/api/v1/ratings/disclosure?month=2026-02-01",
        "/api/v1/ratings/disclosure?region=9999999",
    ] {
        assert_eq!(
            get(&w.app, bad).await.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}"
        );
    }

    // A supervisor urges; the department replies once.
    let urged = call(
        &w.app,
        "POST",
        "/api/v1/urgings",
        Some(&w.supervisor),
        Some(json!({ "subject_kind": "rectification", "subject_id": id, "note": "请说明整改情况", "reply_days": 3 })),
    )
    .await;
    assert_eq!(urged.status, StatusCode::CREATED, "{}", urged.body);
    let urging = urged.json()["id"].as_i64().unwrap();
    let not_supervisor = call(
        &w.app,
        "POST",
        "/api/v1/urgings",
        Some(&w.window),
        Some(json!({ "subject_kind": "rectification", "subject_id": id, "note": "x", "reply_days": 3 })),
    )
    .await;
    assert_eq!(not_supervisor.status, StatusCode::FORBIDDEN);
    let reply = |text: &'static str| {
        let app = w.app.clone();
        let token = w.window.clone();
        async move {
            call(
                &app,
                "POST",
                &format!("/api/v1/urgings/{urging}/reply"),
                Some(&token),
                Some(json!({ "text": text })),
            )
            .await
        }
    };
    assert_eq!(reply("已整改并回访").await.status, StatusCode::OK);
    assert_eq!(reply("再次回复").await.status, StatusCode::CONFLICT);
}

/// The window staff of the department that concluded the case enter the applicant's phone
/// rating: it is the applicant's (channel `phone`), once; citizens may not, and another
/// department's staff do not find the case.
async fn staff_enter_a_phone_rating_for_the_person_served(t: &TestDb) {
    let w = world(t).await;
    let case = concluded_case(&w, &w.applicant).await;
    let body = json!({
        "event": { "kind": "case", "id": case },
        "level": 2,
        "tags": ["热情耐心"],
        "text": "电话回访时表示满意",
    });
    let before = ratings_stored(&w.state).await;
    let citizen = call(
        &w.app,
        "POST",
        "/api/v1/ratings/phone",
        Some(&w.applicant),
        Some(body.clone()),
    )
    .await;
    assert_eq!(citizen.status, StatusCode::FORBIDDEN, "{}", citizen.body);
    let outsider = call(
        &w.app,
        "POST",
        "/api/v1/ratings/phone",
        Some(&w.supervisor),
        Some(body.clone()),
    )
    .await;
    assert_eq!(outsider.status, StatusCode::NOT_FOUND, "{}", outsider.body);
    let too_many = call(
        &w.app,
        "POST",
        "/api/v1/ratings/phone",
        Some(&w.window),
        Some(json!({
            "event": { "kind": "case", "id": case },
            "level": 2,
            "tags": ["a", "b", "c", "d", "e", "f", "g", "h", "i"],
            "text": "",
        })),
    )
    .await;
    assert_eq!(
        too_many.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_many.body
    );
    assert_eq!(
        ratings_stored(&w.state).await,
        before,
        "refusals store nothing"
    );

    let entered = call(
        &w.app,
        "POST",
        "/api/v1/ratings/phone",
        Some(&w.window),
        Some(body.clone()),
    )
    .await;
    assert_eq!(entered.status, StatusCode::CREATED, "{}", entered.body);
    let rating: Value = serde_json::from_str(&entered.body).unwrap();
    assert_eq!(rating["channel"], "phone");
    assert_eq!(rating["level"], 2);
    assert_eq!(rating["tags"], json!(["warm_patient"]));
    let again = call(
        &w.app,
        "POST",
        "/api/v1/ratings/phone",
        Some(&w.window),
        Some(body),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("already_rated"));

    // It is the applicant's own rating.
    let mine = call(
        &w.app,
        "GET",
        "/api/v1/me/ratings",
        Some(&w.applicant),
        None,
    )
    .await;
    let mine: Value = serde_json::from_str(&mine.body).unwrap();
    assert_eq!(mine["items"][0]["channel"], "phone", "{mine}");
    assert_eq!(ratings_stored(&w.state).await, before + 1);
}
