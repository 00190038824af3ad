//! Citizen requests (12345) over the API on both backends: the closed loop 受理 → 派单 → 签收 →
//! 答复 → 办结 → 回访 → 评价 over HTTP; what the handling department gets back never names the
//! submitter (searched in the JSON text); bad input is 422 on its field and writes nothing; the
//! public list shows answered requests without the submitter and never a 举报.

use axum::http::StatusCode;
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_web::{AppState, app};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};
use crate::staff::{call, person_token, seed_staff, staff_token};
use crate::support::{Reply, get, state};

/// 恩和社区, 青春山街道, 康巴什区.
pub(crate) const COMMUNITY: &str = "150603002005";

pub(crate) struct World {
    pub state: AppState,
    pub app: axum::Router,
    /// 张晓明.
    pub citizen: String,
    /// 李娜.
    pub other: String,
    /// 12345 operator of 康巴什区 (dispatches, concludes, visits).
    pub operator: String,
    /// Window staff of 康巴什区民政局 (the routed department).
    pub handler: String,
}

/// The category tree and routing the tests use: 城市管理 → 康巴什区民政局 in 康巴什区.
pub(crate) async fn seed_catalog(state: &AppState) {
    let requests = state.requests();
    let sys = &Principal::System;
    for (code, name, parent) in [
        ("city", "城市管理", None),
        ("city.sanitation", "环境卫生", Some("city")),
        ("social", "社会保障", None),
    ] {
        requests
            .define_category(sys, code, name, parent, "test")
            .await
            .unwrap();
    }
    let kbs = yiwang_identity::service::department(state.db(), "kbs-mzj")
        .await
        .unwrap()
        .id;
    for category in ["city", "social"] {
        requests
            .set_route(sys, category, "150603", kbs, "test")
            .await
            .unwrap();
    }
    requests
        .add_answer(
            sys,
            "social",
            "灵活就业人员怎么缴纳养老保险？",
            "携带身份证到区社保中心办理灵活就业人员参保登记，或在“蒙速办”上办理，按月或按年缴费。",
            "test",
        )
        .await
        .unwrap();
}

pub(crate) async fn world(t: &TestDb) -> World {
    world_with(t, state(t).await).await
}

/// The world on a given state (Open311 serves 康巴什区 as its jurisdiction).
pub(crate) async fn world_with(_t: &TestDb, state: AppState) -> World {
    seed_catalog(&state).await;
    seed_staff(
        &state,
        "kbs-mzj",
        "KB0001",
        "13900003001",
        &["hotline_operator"],
    )
    .await;
    seed_staff(
        &state,
        "kbs-mzj",
        "KB0002",
        "13900003002",
        &["window_staff"],
    )
    .await;
    let app = app(state.clone());
    World {
        citizen: person_token(state.db(), &app, "张晓明", RID_A, MOBILE_A).await,
        other: person_token(state.db(), &app, "李娜", RID_B, MOBILE_B).await,
        operator: staff_token(&app, "KB0001").await,
        handler: staff_token(&app, "KB0002").await,
        state,
        app,
    }
}

pub(crate) fn rubbish(kind: &str) -> Value {
    json!({
        "kind": kind,
        "category": "city.sanitation",
        "region": COMMUNITY,
        "title": "小区门口垃圾无人清运",
        "body": "恩和小区北门垃圾堆放三天无人清运，气味很大，请尽快处理",
        "location": "恩和小区北门",
    })
}

async fn post(w: &World, token: &str, uri: &str, body: Value) -> Reply {
    call(&w.app, "POST", uri, Some(token), Some(body)).await
}

async fn stored(state: &AppState) -> (u64, u64) {
    let conn = state.db().conn();
    (
        yiwang_db::count(conn, "SELECT COUNT(*) FROM requests", [])
            .await
            .unwrap(),
        yiwang_db::count(conn, "SELECT COUNT(*) FROM request_events", [])
            .await
            .unwrap(),
    )
}

/// The submitter's name and mobile, in full or masked, appear nowhere in `text`.
fn names_nobody(text: &str, name: &str, mobile: &str) {
    let masked = format!("{}****{}", &mobile[..3], &mobile[7..]);
    for secret in [name, mobile, masked.as_str()] {
        assert!(!text.contains(secret), "{secret:?} leaked in {text}");
    }
}

db_test!(
    the_closed_loop_over_the_api,
    a_report_never_names_its_reporter,
    bad_requests_change_nothing
);

async fn the_closed_loop_over_the_api(t: &TestDb) {
    let w = world(t).await;
    let submitted = post(&w, &w.citizen, "/api/v1/requests", rubbish("complaint")).await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    let request = submitted.json()["request"].clone();
    let id = request["id"].as_str().unwrap().to_owned();
    assert_eq!(request["status"], "received");
    assert_eq!(request["channel"], "web");

    let mine = call(&w.app, "GET", "/api/v1/me/requests", Some(&w.citizen), None).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.json()[0]["id"], id.as_str());
    let theirs = call(
        &w.app,
        "GET",
        &format!("/api/v1/requests/{id}"),
        Some(&w.other),
        None,
    )
    .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "another person");

    // The handler cannot sign before the dispatch; the operator dispatches by the routing rules.
    let early = post(
        &w,
        &w.handler,
        &format!("/api/v1/requests/{id}/sign"),
        json!({}),
    )
    .await;
    assert_ne!(early.status, StatusCode::OK, "{}", early.body);
    let dispatched = post(
        &w,
        &w.operator,
        &format!("/api/v1/requests/{id}/dispatch"),
        json!({ "note": "请及时处理" }),
    )
    .await;
    assert_eq!(dispatched.status, StatusCode::OK, "{}", dispatched.body);
    assert_eq!(dispatched.json()["status"], "dispatched");
    assert!(dispatched.json()["due_at"].is_string());

    let inbox = call(
        &w.app,
        "GET",
        "/api/v1/request-inbox",
        Some(&w.handler),
        None,
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert_eq!(inbox.json()[0]["id"], id.as_str());
    names_nobody(&inbox.body, "张晓明", MOBILE_A);

    let mut answers = vec![inbox.body.clone()];
    for (uri, body, status) in [
        ("sign", json!({}), "handling"),
        (
            "reply",
            json!({ "reply": "已安排环卫所清运，并增加北门清运频次为每日两次。" }),
            "replied",
        ),
    ] {
        let done = post(
            &w,
            &w.handler,
            &format!("/api/v1/requests/{id}/{uri}"),
            body,
        )
        .await;
        assert_eq!(done.status, StatusCode::OK, "{uri}: {}", done.body);
        assert_eq!(done.json()["status"], status, "{uri}");
        answers.push(done.body);
    }
    let view = call(
        &w.app,
        "GET",
        &format!("/api/v1/request-inbox/{id}"),
        Some(&w.handler),
        None,
    )
    .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    assert_eq!(view.json()["status"], "replied");
    assert!(view.json()["history"].as_array().unwrap().len() >= 4);
    answers.push(view.body);
    for text in &answers {
        names_nobody(text, "张晓明", MOBILE_A);
    }

    for (uri, body, status) in [
        ("conclude", json!({ "note": "已办结" }), "concluded"),
        (
            "visit",
            json!({ "result": "satisfied", "note": "电话回访满意" }),
            "visited",
        ),
    ] {
        let done = post(
            &w,
            &w.operator,
            &format!("/api/v1/requests/{id}/{uri}"),
            body,
        )
        .await;
        assert_eq!(done.status, StatusCode::OK, "{uri}: {}", done.body);
        assert_eq!(done.json()["status"], status, "{uri}");
    }
    let rated = post(
        &w,
        &w.citizen,
        &format!("/api/v1/requests/{id}/rate"),
        json!({ "level": 5, "comment": "处理及时" }),
    )
    .await;
    assert_eq!(rated.status, StatusCode::OK, "{}", rated.body);
    assert_eq!(rated.json()["status"], "closed");
    assert_eq!(rated.json()["rating"], 5);
    let again = post(
        &w,
        &w.citizen,
        &format!("/api/v1/requests/{id}/rate"),
        json!({ "level": 4, "comment": "" }),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    let answered = get(&w.app, "/api/v1/requests/answered").await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    assert_eq!(answered.json()["total"], 1);
    assert_eq!(answered.json()["items"][0]["id"], id.as_str());
    assert_eq!(
        answered.json()["items"][0]["department"],
        "鄂尔多斯市康巴什区民政局"
    );
    names_nobody(&answered.body, "张晓明", MOBILE_A);

    let categories = get(&w.app, "/api/v1/request-categories").await;
    assert_eq!(categories.status, StatusCode::OK);
    assert_eq!(categories.json().as_array().unwrap().len(), 3);
    let found = get(
        &w.app,
        "/api/v1/request-knowledge?category=social&q=%E7%81%B5%E6%B4%BB%E5%B0%B1%E4%B8%9A%E5%85%BB%E8%80%81%E4%BF%9D%E9%99%A9",
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.json()[0]["answer"]
            .as_str()
            .unwrap()
            .contains("社保中心")
    );
}

async fn a_report_never_names_its_reporter(t: &TestDb) {
    let w = world(t).await;
    let mut body = rubbish("report");
    body["contact_name"] = json!("王举报");
    body["contact_mobile"] = json!("13912345678");
    body["title"] = json!("举报餐馆占道经营");
    let submitted = call(&w.app, "POST", "/api/v1/requests", None, Some(body)).await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    let id = submitted.json()["request"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(submitted.json()["request"]["contact_mobile"], "139****5678");

    let mut answers = Vec::new();
    let dispatched = post(
        &w,
        &w.operator,
        &format!("/api/v1/requests/{id}/dispatch"),
        json!({ "lead": "kbs-mzj" }),
    )
    .await;
    assert_eq!(dispatched.status, StatusCode::OK, "{}", dispatched.body);
    answers.push(dispatched.body);
    for uri in ["sign", "reply"] {
        let done = post(
            &w,
            &w.handler,
            &format!("/api/v1/requests/{id}/{uri}"),
            json!({ "reply": "经核查属实，已责令整改。" }),
        )
        .await;
        assert_eq!(done.status, StatusCode::OK, "{uri}: {}", done.body);
        answers.push(done.body);
    }
    for uri in [
        "/api/v1/request-inbox".to_owned(),
        format!("/api/v1/request-inbox/{id}"),
    ] {
        let read = call(&w.app, "GET", &uri, Some(&w.handler), None).await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.body);
        answers.push(read.body);
    }
    for text in &answers {
        names_nobody(text, "王举报", "13912345678");
    }
    // Replied, but a 举报 is never in the public list.
    let answered = get(&w.app, "/api/v1/requests/answered").await;
    assert_eq!(answered.json()["total"], 0, "{}", answered.body);
    // A person may not read it: it is not theirs.
    let read = call(
        &w.app,
        "GET",
        &format!("/api/v1/requests/{id}"),
        Some(&w.citizen),
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::NOT_FOUND);
}

async fn bad_requests_change_nothing(t: &TestDb) {
    let w = world(t).await;
    let before = stored(&w.state).await;
    let long = "长".repeat(yiwang_requests::service::MAX_TITLE_CHARS + 1);
    for (token, change, field) in [
        (None, json!({}), "contact_mobile"),
        (None, json!({ "contact_mobile": "1234" }), "contact_mobile"),
        (Some(&w.citizen), json!({ "kind": "gossip" }), "kind"),
        (Some(&w.citizen), json!({ "channel": "hotline" }), "channel"),
        (Some(&w.citizen), json!({ "urgency": "now" }), "urgency"),
        (
            Some(&w.citizen),
            json!({ "category": "nothing" }),
            "category",
        ),
        (Some(&w.citizen), json!({ "region": "999999" }), "region"),
        (Some(&w.citizen), json!({ "title": "  " }), "title"),
        (Some(&w.citizen), json!({ "title": long }), "title"),
        (
            Some(&w.citizen),
            json!({ "longitude": 109.8 }),
            "coordinates",
        ),
        (
            Some(&w.citizen),
            json!({ "longitude": 500.0, "latitude": 39.6 }),
            "coordinates",
        ),
    ] {
        let mut body = rubbish("complaint");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let refused = call(
            &w.app,
            "POST",
            "/api/v1/requests",
            token.map(String::as_str),
            Some(body),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {}",
            refused.body
        );
        assert_eq!(refused.json()["error"]["field"], field, "{change}");
    }
    assert_eq!(stored(&w.state).await, before, "nothing was written");

    let submitted = post(&w, &w.citizen, "/api/v1/requests", rubbish("help")).await;
    assert_eq!(submitted.status, StatusCode::CREATED, "{}", submitted.body);
    let id = submitted.json()["request"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = stored(&w.state).await;
    for (token, uri, body, status) in [
        (
            &w.operator,
            "dispatch",
            json!({ "lead": "no-such" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &w.operator,
            "dispatch",
            json!({ "note": "注".repeat(501) }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // Not dispatched: the handler's department cannot see it yet; its submitter cannot rate it.
        (
            &w.handler,
            "reply",
            json!({ "reply": "太早了" }),
            StatusCode::NOT_FOUND,
        ),
        (
            &w.citizen,
            "rate",
            json!({ "level": 5 }),
            StatusCode::CONFLICT,
        ),
        (
            &w.operator,
            "visit",
            json!({ "result": "maybe" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &w.operator,
            "merge",
            json!({ "into": "nothing" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let refused = post(&w, token, &format!("/api/v1/requests/{id}/{uri}"), body).await;
        assert_eq!(refused.status, status, "{uri}: {}", refused.body);
    }
    let citizen_dispatch = post(
        &w,
        &w.citizen,
        &format!("/api/v1/requests/{id}/dispatch"),
        json!({}),
    )
    .await;
    assert_eq!(citizen_dispatch.status, StatusCode::FORBIDDEN);
    let unknown = post(
        &w,
        &w.operator,
        "/api/v1/requests/nothing/dispatch",
        json!({}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(stored(&w.state).await, before, "nothing was written");
    let knowledge = get(&w.app, "/api/v1/request-knowledge").await;
    assert_eq!(knowledge.status, StatusCode::UNPROCESSABLE_ENTITY);
}
