//! Abuse limits: every limited route answers 429 with `Retry-After` and a message in the caller's
//! language, and two nodes on one database share the count. On both backends.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use yiwang_db::limits::{DbLimiter, Rule};
use yiwang_db::testing::TestDb;
use yiwang_db::{Db, db_test};
use yiwang_web::app;
use yiwang_web::state::AppState;
use yiwang_web::throttle::{LimitRules, Throttles};

use crate::accounts::{MOBILE_A, RID_A};
use crate::staff::{call, person_token};
use crate::support::{Reply, send, state};

/// One attempt per scope per ten minutes, counted in the test database through its own pool.
async fn strict(state: AppState, t: &TestDb) -> AppState {
    let one = Rule::new(1, 600);
    let rules = LimitRules {
        login: one,
        register: one,
        register_code: one,
        ticket: one,
        progress: one,
        upload_address: Rule::new(2, 600),
        upload_account: one,
        verify: one,
        survey: one,
    };
    let db = Db::connect(&t.url).await.unwrap();
    state.with_throttles(Throttles::new(Arc::new(DbLimiter::new(db)), rules))
}

fn assert_limited(reply: &Reply, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{what}: {}",
        reply.body
    );
    let seconds: i64 = reply.header("retry-after").parse().unwrap_or_else(|_| {
        panic!("{what}: Retry-After missing or not seconds");
    });
    assert!((1..=600).contains(&seconds), "{what}: {seconds}");
}

async fn api(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: serde_json::Value,
    lang: &str,
) -> Reply {
    send(
        app,
        Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .header("accept-language", lang)
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

async fn each_limit_answers_429_with_retry_after(t: &TestDb) {
    // The person registers before the strict limits apply.
    let plain = app(state(t).await);
    let token = person_token(&t.db, &plain, "张三", RID_A, MOBILE_A).await;
    let app = app(strict(state(t).await, t).await);

    // Log-in failures.
    let login = json!({ "login": MOBILE_A, "password": "Wrong#2026x" });
    let first = api(&app, "POST", "/api/v1/auth/login", login.clone(), "en").await;
    assert_eq!(first.status, StatusCode::UNAUTHORIZED);
    let second = api(&app, "POST", "/api/v1/auth/login", login, "en").await;
    assert_limited(&second, "login");
    assert_eq!(second.json()["error"]["code"], "too_many_attempts");
    assert!(
        second.json()["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many attempts"),
        "{}",
        second.body
    );

    // Registration codes: each is an SMS, limited per address whatever the number.
    for (mobile, limited) in [("13700000011", false), ("13700000012", true)] {
        let reply = api(
            &app,
            "POST",
            "/api/v1/auth/register/code",
            json!({ "mobile": mobile }),
            "en",
        )
        .await;
        if limited {
            assert_limited(&reply, "register_code");
        } else {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        }
    }

    // Registrations, whatever their outcome.
    let person = json!({ "name": "李四", "resident_id": "x", "mobile": "1", "password": "x" });
    let first = api(
        &app,
        "POST",
        "/api/v1/auth/register/person",
        person.clone(),
        "zh-CN",
    )
    .await;
    assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY);
    let second = api(
        &app,
        "POST",
        "/api/v1/auth/register/person",
        person,
        "zh-CN",
    )
    .await;
    assert_limited(&second, "register");
    assert!(
        second.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("尝试次数过多"),
        "{}",
        second.body
    );

    // Kiosk tickets.
    let ticket = json!({ "category": "none" });
    let first = api(
        &app,
        "POST",
        "/api/v1/queue/groups/none/tickets",
        ticket.clone(),
        "en",
    )
    .await;
    assert_ne!(first.status, StatusCode::TOO_MANY_REQUESTS);
    let second = api(
        &app,
        "POST",
        "/api/v1/queue/groups/none/tickets",
        ticket,
        "en",
    )
    .await;
    assert_limited(&second, "ticket");

    // A wrong progress query through the API counts for the page too (one key space).
    let wrong = "/api/v1/progress?case_no=340100202602130100099&code=AAAAAAAA";
    let first = call(&app, "GET", wrong, None, None).await;
    assert_eq!(
        first.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        first.body
    );
    assert_limited(&call(&app, "GET", wrong, None, None).await, "progress API");
    let form = crate::support::get(&app, "/progress").await;
    let csrf = crate::appointment_pages::csrf_of(&form.body).unwrap();
    let page = send(
        &app,
        Request::post("/progress")
            .header("cookie", format!("yw_csrf={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "zh-CN")
            .body(Body::from(format!(
                "csrf={csrf}&case_no=340100202602130100099&code=AAAAAAAA"
            )))
            .unwrap(),
    )
    .await;
    assert_limited(&page, "progress page");
    assert!(page.body.contains("尝试次数过多"), "{}", page.body);

    // Uploads per account.
    let pdf = b"%PDF-1.7 test";
    let first = crate::cases::upload(&app, &token, "a.pdf", pdf).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_limited(
        &crate::cases::upload(&app, &token, "a.pdf", pdf).await,
        "upload",
    );
}

async fn two_nodes_share_the_count(t: &TestDb) {
    let base = state(t).await;
    // Two states with their own pools on one database stand for two nodes.
    let node_a = app(strict(base.clone(), t).await);
    let node_b = app(strict(base, t).await);
    let person = json!({ "name": "李四", "resident_id": "x", "mobile": "1", "password": "x" });
    let first = api(
        &node_a,
        "POST",
        "/api/v1/auth/register/person",
        person.clone(),
        "en",
    )
    .await;
    assert_eq!(first.status, StatusCode::UNPROCESSABLE_ENTITY);
    let second = api(
        &node_b,
        "POST",
        "/api/v1/auth/register/person",
        person,
        "en",
    )
    .await;
    assert_limited(&second, "register on the second node");
}

db_test!(
    each_limit_answers_429_with_retry_after,
    two_nodes_share_the_count
);
