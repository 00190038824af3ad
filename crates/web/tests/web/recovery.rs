//! Password reset (API and pages) and API tokens for machine clients, on both backends.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, db_test, stmt};
use yiwang_kernel::TestClock;
use yiwang_web::{WebConfig, app};

use crate::accounts::{MOBILE_A, MOBILE_B, PASSWORD, RID_A, RID_B};
use crate::support::{Reply, get, get_with, send, state, state_with_clock, t0};

const NEW_PASSWORD: &str = "Kangbashi@2026";

async fn post_json(app: &Router, uri: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut builder = Request::post(uri).header("content-type", "application/json");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(app, builder.body(Body::from(body.to_string())).unwrap()).await
}

async fn post_form(app: &Router, uri: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder =
        Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(app, builder.body(Body::from(body.to_owned())).unwrap()).await
}

async fn delete(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder = Request::delete(uri);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(app, builder.body(Body::empty()).unwrap()).await
}

async fn register(t: &TestDb, app: &Router, name: &str, rid: &str, mobile: &str) {
    let code = crate::support::registration_code(&t.db, app, mobile).await;
    let r = post_json(
        app,
        "/api/v1/auth/register/person",
        &json!({ "name": name, "resident_id": rid, "mobile": mobile, "password": PASSWORD, "code": code }),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

/// Log in over the API; the `Authorization` header value of the session.
async fn bearer(app: &Router, login: &str, password: &str) -> String {
    let r = post_json(
        app,
        "/api/v1/auth/login",
        &json!({ "login": login, "password": password }),
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    format!("Bearer {}", r.json()["token"].as_str().unwrap())
}

async fn sms_jobs(t: &TestDb) -> Vec<Value> {
    t.db.conn()
        .query_all_raw(stmt(
            t.db.conn(),
            "SELECT payload FROM jobs WHERE kind = 'notify.sms' ORDER BY id",
            [],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            // Rows hold the message sealed; open it with the test key.
            let payload: Value =
                serde_json::from_str(&r.try_get::<String>("", "payload").unwrap()).unwrap();
            let pii =
                yiwang_identity::pii::PiiProtector::from_hex("00112233445566778899aabbccddeeff")
                    .unwrap();
            yiwang_identity::service::recovery::open_message(&pii, &payload).unwrap()
        })
        // Registration codes travel the same way; only the reset messages count here.
        .filter(|message| message["template"] == "password_reset")
        .collect()
}

async fn last_code(t: &TestDb) -> String {
    sms_jobs(t).await.last().expect("an SMS job")["params"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn request_code(app: &Router, login: &str) -> Reply {
    post_json(
        app,
        "/api/v1/auth/password-reset/request",
        &json!({ "login": login }),
        &[],
    )
    .await
}

async fn reset(app: &Router, login: &str, code: &str, new_password: &str) -> Reply {
    post_json(
        app,
        "/api/v1/auth/password-reset",
        &json!({ "login": login, "code": code, "new_password": new_password }),
        &[],
    )
    .await
}

fn assert_code_refused(reply: &Reply) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    let error = &reply.json()["error"];
    assert_eq!(error["field"], "code");
    assert_eq!(error["code"], "reset_code_invalid");
    assert_eq!(error["message"], "验证码不正确、已过期或已使用，请重新获取");
}

async fn api_password_reset_works_once_and_ends_sessions(t: &TestDb) {
    let app = app(state(t).await);
    register(t, &app, "张三", RID_A, MOBILE_A).await;
    let session = bearer(&app, MOBILE_A, PASSWORD).await;

    let unknown = request_code(&app, "13512345678").await;
    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert!(sms_jobs(t).await.is_empty(), "no SMS for an unknown number");

    let asked = request_code(&app, MOBILE_A).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED);
    assert_eq!(
        (unknown.body.as_str(), unknown.header("content-type")),
        (asked.body.as_str(), asked.header("content-type")),
        "an unknown number is answered exactly like a known one"
    );
    let jobs = sms_jobs(t).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["to"], MOBILE_A);
    assert_eq!(jobs[0]["template"], "password_reset");
    assert_eq!(jobs[0]["params"]["minutes"], 15);
    let code = last_code(t).await;

    let malformed = request_code(&app, "hello").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(malformed.json()["error"]["field"], "login");

    let weak = reset(&app, MOBILE_A, &code, "abc13800138000").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.json()["error"]["field"], "new_password");
    assert_eq!(weak.json()["error"]["code"], "password_contains_identifier");

    let done = reset(&app, MOBILE_A, &code, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    assert_eq!(
        get_with(&app, "/api/v1/me", &[("authorization", &session)])
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "every session ended"
    );
    assert_code_refused(&reset(&app, MOBILE_A, &code, "Another#2026").await);
    let old = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": PASSWORD }),
        &[],
    )
    .await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    bearer(&app, RID_A, NEW_PASSWORD).await;
}
db_test!(api_password_reset_works_once_and_ends_sessions);

async fn api_reset_codes_die_and_expire(t: &TestDb) {
    let clock = TestClock::new(t0());
    let app = app(state_with_clock(t, WebConfig::default(), &clock).await);
    register(t, &app, "张三", RID_A, MOBILE_A).await;
    register(t, &app, "李四", RID_B, MOBILE_B).await;

    request_code(&app, MOBILE_A).await;
    let code = last_code(t).await;
    let wrong = if code == "999999" { "999998" } else { "999999" };
    for _ in 0..5 {
        assert_code_refused(&reset(&app, MOBILE_A, wrong, NEW_PASSWORD).await);
    }
    assert_code_refused(&reset(&app, MOBILE_A, &code, NEW_PASSWORD).await);

    // Three codes an hour: the fourth request is answered the same but sends nothing.
    request_code(&app, RID_A).await;
    request_code(&app, MOBILE_A).await;
    assert_eq!(sms_jobs(t).await.len(), 3);
    let fourth = request_code(&app, MOBILE_A).await;
    assert_eq!(fourth.status, StatusCode::ACCEPTED);
    assert_eq!(sms_jobs(t).await.len(), 3);

    // Expiry: B's code is refused 15 minutes later.
    request_code(&app, MOBILE_B).await;
    let b_code = last_code(t).await;
    clock.advance(Duration::minutes(15));
    assert_code_refused(&reset(&app, MOBILE_B, &b_code, NEW_PASSWORD).await);
    // A fresh code works.
    request_code(&app, MOBILE_B).await;
    let fresh = last_code(t).await;
    assert_eq!(
        reset(&app, RID_B, &fresh, NEW_PASSWORD).await.status,
        StatusCode::NO_CONTENT
    );
    // An unknown number fails like a wrong code.
    assert_code_refused(&reset(&app, "13512345678", "123456", NEW_PASSWORD).await);
}
db_test!(api_reset_codes_die_and_expire);

/// The value of a cookie set by a response.
fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
}

async fn reset_pages(t: &TestDb) {
    let app = app(state(t).await);
    register(t, &app, "张三", RID_A, MOBILE_A).await;
    let session = bearer(&app, MOBILE_A, PASSWORD).await;

    let login_page = get(&app, "/login").await;
    assert!(
        login_page
            .body
            .contains(r#"<a href="/forgot-password">忘记密码？</a>"#)
    );

    let form = get(&app, "/forgot-password").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"<label for="login">"#));
    let csrf = set_cookie(&form, "yw_csrf").expect("csrf cookie");
    assert!(form.body.contains(&format!(r#"value="{csrf}""#)));
    let cookie = format!("yw_csrf={csrf}");

    let forged = post_form(
        &app,
        "/forgot-password",
        &format!("csrf=wrong&login={MOBILE_A}"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(sms_jobs(t).await.is_empty());

    let bad = post_form(
        &app,
        "/forgot-password",
        &format!("csrf={csrf}&login=abc"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("error-summary") && bad.body.contains(r##"href="#login""##));

    let unknown = post_form(
        &app,
        "/forgot-password",
        &format!("csrf={csrf}&login=13512345678"),
        &[("cookie", &cookie)],
    )
    .await;
    let sent = post_form(
        &app,
        "/forgot-password",
        &format!("csrf={csrf}&login={MOBILE_A}"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(sent.body.contains("如果该号码已注册，验证码已发送"));
    assert_eq!(
        unknown.body.replace("13512345678", MOBILE_A),
        sent.body,
        "the same page whether or not the number is registered"
    );
    for field in ["login", "code", "new_password", "new_password_confirm"] {
        assert!(
            sent.body.contains(&format!(r#"<label for="{field}">"#)),
            "{field}"
        );
    }
    assert_eq!(sms_jobs(t).await.len(), 1);
    let code = last_code(t).await;

    let mismatch = post_form(
        &app,
        "/reset-password",
        &format!(
            "csrf={csrf}&login={MOBILE_A}&code={code}&new_password={NEW_PASSWORD}&new_password_confirm=Other%232026"
        ),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("两次输入的密码不一致"));

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let wrong_code = post_form(
        &app,
        "/reset-password",
        &format!(
            "csrf={csrf}&login={MOBILE_A}&code={wrong}&new_password={NEW_PASSWORD}&new_password_confirm={NEW_PASSWORD}"
        ),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(wrong_code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_code.body.contains("验证码不正确、已过期或已使用"));
    assert!(wrong_code.body.contains(r##"href="#code""##));

    let done = post_form(
        &app,
        "/reset-password",
        &format!(
            "csrf={csrf}&login={MOBILE_A}&code={code}&new_password={NEW_PASSWORD}&new_password_confirm={NEW_PASSWORD}"
        ),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.header("location"), "/reset-password?done=1");
    let confirmation = get(&app, "/reset-password?done=1").await;
    assert!(confirmation.body.contains("密码已重置"));
    assert_eq!(
        get_with(&app, "/api/v1/me", &[("authorization", &session)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    bearer(&app, MOBILE_A, NEW_PASSWORD).await;

    let en = get_with(&app, "/reset-password", &[("accept-language", "en")]).await;
    assert!(en.body.contains("Set a new password"));
}
db_test!(reset_pages);

async fn create_token(app: &Router, session: &str, body: &Value) -> Reply {
    post_json(
        app,
        "/api/v1/me/tokens",
        body,
        &[("authorization", session)],
    )
    .await
}

async fn api_tokens_for_machine_clients(t: &TestDb) {
    let app = app(state(t).await);
    register(t, &app, "张三", RID_A, MOBILE_A).await;
    register(t, &app, "李四", RID_B, MOBILE_B).await;
    let a = bearer(&app, MOBILE_A, PASSWORD).await;
    let b = bearer(&app, MOBILE_B, PASSWORD).await;

    let bad = create_token(&app, &a, &json!({ "name": "x", "scopes": ["admin"] })).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["field"], "scopes");
    assert_eq!(bad.json()["error"]["code"], "token_scope_unknown");
    let bad_days = create_token(
        &app,
        &a,
        &json!({ "name": "x", "scopes": ["profile:read"], "expires_in_days": 400 }),
    )
    .await;
    assert_eq!(bad_days.json()["error"]["field"], "expires_in_days");

    let created = create_token(
        &app,
        &a,
        &json!({ "name": "同步脚本", "scopes": ["profile:read"], "expires_in_days": 30 }),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let body = created.json();
    let secret = body["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ywt_") && secret.len() == 68);
    assert_eq!(body["scopes"], json!(["profile:read"]));
    let id = body["id"].as_str().unwrap().to_owned();
    let token = format!("Bearer {secret}");

    let listed = get_with(&app, "/api/v1/me/tokens", &[("authorization", &a)])
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "同步脚本");
    assert!(
        !listed.to_string().contains(&secret[4..]),
        "the secret is never listed"
    );
    let b_list = get_with(&app, "/api/v1/me/tokens", &[("authorization", &b)])
        .await
        .json();
    assert!(b_list.as_array().unwrap().is_empty());

    let me = get_with(&app, "/api/v1/me", &[("authorization", &token)]).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["resident_id"], RID_A);

    for (method, uri) in [
        ("GET", "/api/v1/me/sessions"),
        ("GET", "/api/v1/me/tokens"),
        ("POST", "/api/v1/me/password"),
        ("POST", "/api/v1/me/tokens"),
        ("POST", "/api/v1/auth/logout"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", &token)
            .header("content-type", "application/json")
            .body(Body::from(
                json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }).to_string(),
            ))
            .unwrap();
        let refused = send(&app, request).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {uri}");
        assert_eq!(
            refused.json()["error"]["code"],
            "token_scope_insufficient",
            "{method} {uri}"
        );
    }
    bearer(&app, MOBILE_A, PASSWORD).await;

    let sessions_token = create_token(
        &app,
        &a,
        &json!({ "name": "会话监控", "scopes": ["sessions:read"] }),
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sessions = get_with(
        &app,
        "/api/v1/me/sessions",
        &[("authorization", &format!("Bearer {sessions_token}"))],
    )
    .await;
    assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.body);
    assert_eq!(sessions.json().as_array().unwrap().len(), 2);

    let steal = delete(
        &app,
        &format!("/api/v1/me/tokens/{id}"),
        &[("authorization", &b)],
    )
    .await;
    assert_eq!(steal.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get_with(&app, "/api/v1/me", &[("authorization", &token)])
            .await
            .status,
        StatusCode::OK
    );
    let revoked = delete(
        &app,
        &format!("/api/v1/me/tokens/{id}"),
        &[("authorization", &a)],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = get_with(&app, "/api/v1/me", &[("authorization", &token)]).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.json()["error"]["code"], "unauthenticated");
    let listed = get_with(&app, "/api/v1/me/tokens", &[("authorization", &a)])
        .await
        .json();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str() && t["revoked_at"].is_string())
    );

    let forged = get_with(
        &app,
        "/api/v1/me",
        &[("authorization", &format!("Bearer ywt_{}", "0".repeat(64)))],
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let doc = get(&app, "/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/auth/password-reset/request",
        "/api/v1/auth/password-reset",
        "/api/v1/me/tokens",
        "/api/v1/me/tokens/{id}",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
}
db_test!(api_tokens_for_machine_clients);

async fn cookie_token_management_needs_csrf(t: &TestDb) {
    let app = app(state(t).await);
    register(t, &app, "张三", RID_A, MOBILE_A).await;
    let login = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": PASSWORD }),
        &[],
    )
    .await
    .json();
    let cookie = format!("yw_session={}", login["token"].as_str().unwrap());
    let body = json!({ "name": "cli", "scopes": ["profile:read"] });
    let without = post_json(&app, "/api/v1/me/tokens", &body, &[("cookie", &cookie)]).await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    assert_eq!(without.json()["error"]["code"], "csrf_token_invalid");
    let with = post_json(
        &app,
        "/api/v1/me/tokens",
        &body,
        &[
            ("cookie", &cookie),
            ("x-csrf-token", login["csrf_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(with.status, StatusCode::CREATED);
    // A page refuses an API token instead of treating it as a log-in.
    let page = get_with(
        &app,
        "/account",
        &[(
            "authorization",
            &format!("Bearer {}", with.json()["token"].as_str().unwrap()),
        )],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}
db_test!(cookie_token_management_needs_csrf);
