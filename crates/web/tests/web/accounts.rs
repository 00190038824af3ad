//! Accounts over the API and in pages, on both backends.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_web::app;

use crate::support::{Reply, get, get_with, send, state};

pub const RID_A: &str = "11010519491231002X";
pub const RID_B: &str = "340104199003071235";
pub const MOBILE_A: &str = "13800138000";
pub const MOBILE_B: &str = "13955101234";
pub const PASSWORD: &str = "Yiwang#2026";

async fn post_json(app: &axum::Router, uri: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
    let mut builder = Request::post(uri).header("content-type", "application/json");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(app, builder.body(Body::from(body.to_string())).unwrap()).await
}

async fn post_form(app: &axum::Router, uri: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder =
        Request::post(uri).header("content-type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    send(app, builder.body(Body::from(body.to_owned())).unwrap()).await
}

fn person(name: &str, rid: &str, mobile: &str) -> Value {
    json!({ "name": name, "resident_id": rid, "mobile": mobile, "password": PASSWORD })
}

/// The registration body with a code just sent to its mobile number.
async fn with_code(t: &TestDb, app: &axum::Router, mut body: Value) -> Value {
    let mobile = body["mobile"].as_str().unwrap().to_owned();
    body["code"] = json!(crate::support::registration_code(&t.db, app, &mobile).await);
    body
}

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

async fn api_register_login_and_me(t: &TestDb) {
    let app = app(state(t).await);
    let created = post_json(
        &app,
        "/api/v1/auth/register/person",
        &with_code(t, &app, person("张三", RID_A, MOBILE_A)).await,
        &[],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let body = created.json();
    assert_eq!(body["name"], "张三");
    assert_eq!(
        body["resident_id"], "1101**********002X",
        "masked for everyone but the owner"
    );
    assert_eq!(body["mobile"], "138****8000");

    let bad = post_json(
        &app,
        "/api/v1/auth/register/person",
        &person("李四", "110105194912310021", MOBILE_B),
        &[("accept-language", "en")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = &bad.json()["error"];
    assert_eq!(error["field"], "resident_id");
    assert_eq!(error["code"], "ident_bad_check_char");
    assert!(
        error["reason"].as_str().unwrap().contains("require 'X'"),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("check character")
    );

    let missing = post_json(
        &app,
        "/api/v1/auth/register/person",
        &json!({ "resident_id": RID_B }),
        &[],
    )
    .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.json()["error"]["field"], "name");

    // Without a code nothing is told: a taken mobile number, a taken resident ID and fresh ones all
    // get the same answer.
    let mut answers = Vec::new();
    for body in [
        person("李四", RID_B, MOBILE_A),
        person("张三", RID_A, MOBILE_B),
        person("李四", RID_B, MOBILE_B),
    ] {
        let r = post_json(&app, "/api/v1/auth/register/person", &body, &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.json()["error"]["code"], "registration_code_invalid");
        let mut error = r.json()["error"].clone();
        error["request_id"] = Value::Null;
        answers.push(error);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    // Asking for a code answers the same for a registered and a fresh number.
    let code_for = |mobile: &str| {
        let app = app.clone();
        let mobile = mobile.to_owned();
        async move {
            post_json(
                &app,
                "/api/v1/auth/register/code",
                &json!({ "mobile": mobile }),
                &[],
            )
            .await
        }
    };
    let (registered_number, fresh) = (code_for(MOBILE_A).await, code_for("13700000003").await);
    assert_eq!(registered_number.status, StatusCode::ACCEPTED);
    assert_eq!(
        (registered_number.status, registered_number.body),
        (fresh.status, fresh.body)
    );
    // With the code for the number, a resident ID that has an account is told.
    let same_id = post_json(
        &app,
        "/api/v1/auth/register/person",
        &with_code(t, &app, person("张三", RID_A, MOBILE_B)).await,
        &[],
    )
    .await;
    assert_eq!(same_id.status, StatusCode::CONFLICT);
    assert_eq!(same_id.json()["error"]["field"], "resident_id");
    assert_eq!(
        same_id.json()["error"]["message"],
        "该身份证号码已注册，请直接登录"
    );

    let wrong = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": "Nope#2026" }),
        &[],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.json()["error"]["code"], "bad_credentials");

    let login = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": PASSWORD }),
        &[],
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let token = login.json()["token"].as_str().unwrap().to_owned();
    let cookie = set_cookie(&login, "yw_session").expect("session cookie");
    assert_eq!(cookie, token);
    let set = login.header("set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );

    let me = get_with(
        &app,
        "/api/v1/me",
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .json();
    assert_eq!(me["resident_id"], RID_A, "unmasked for the owner");
    assert_eq!(me["mobile"], MOBILE_A);
    let me_cookie = get_with(
        &app,
        "/api/v1/me",
        &[("cookie", &format!("yw_session={token}"))],
    )
    .await
    .json();
    assert_eq!(me_cookie["name"], "张三");

    let anonymous = get(&app, "/api/v1/me").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.json()["error"]["code"], "unauthenticated");
    let forged = get_with(
        &app,
        "/api/v1/me",
        &[("authorization", &format!("Bearer {}", "f".repeat(64)))],
    )
    .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
}
db_test!(api_register_login_and_me);

/// Person B cannot read or end A's sessions; cookie calls need the CSRF header; bearer calls do not.
async fn api_sessions_are_private_and_csrf_protected(t: &TestDb) {
    let app = app(state(t).await);
    for (name, rid, mobile) in [("张三", RID_A, MOBILE_A), ("李四", RID_B, MOBILE_B)] {
        let r = post_json(
            &app,
            "/api/v1/auth/register/person",
            &with_code(t, &app, person(name, rid, mobile)).await,
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let a = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": PASSWORD }),
        &[],
    )
    .await
    .json();
    let b = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": RID_B, "password": PASSWORD }),
        &[],
    )
    .await
    .json();
    let a_token = a["token"].as_str().unwrap();
    let b_bearer = format!("Bearer {}", b["token"].as_str().unwrap());

    let b_me = get_with(&app, "/api/v1/me", &[("authorization", &b_bearer)])
        .await
        .json();
    assert_eq!(b_me["name"], "李四", "each token reads only its own person");
    let b_sessions = get_with(&app, "/api/v1/me/sessions", &[("authorization", &b_bearer)])
        .await
        .json();
    assert_eq!(b_sessions.as_array().unwrap().len(), 1);
    assert!(b_sessions[0]["current"].as_bool().unwrap());

    let steal = send(
        &app,
        Request::delete(format!(
            "/api/v1/me/sessions/{}",
            a["session_id"].as_str().unwrap()
        ))
        .header("authorization", &b_bearer)
        .body(Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(
        steal.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        steal.body
    );
    assert_eq!(steal.json()["error"]["code"], "session_not_found");
    // The same answer as for a session that does not exist: B learns nothing about A's.
    let made_up = send(
        &app,
        Request::delete("/api/v1/me/sessions/0123456789abcdef0123456789abcdef")
            .header("authorization", &b_bearer)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let answer = |reply: &Reply| {
        let mut error = reply.json()["error"].clone();
        error["request_id"] = Value::Null;
        (reply.status, error)
    };
    assert_eq!(
        answer(&made_up),
        answer(&steal),
        "someone else's session is answered as a missing one"
    );
    let a_cookie = format!("yw_session={a_token}");
    assert_eq!(
        get_with(&app, "/api/v1/me", &[("cookie", &a_cookie)])
            .await
            .status,
        StatusCode::OK,
        "A is still logged in"
    );

    let no_csrf = post_json(
        &app,
        "/api/v1/auth/logout",
        &json!({}),
        &[("cookie", &a_cookie)],
    )
    .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(no_csrf.json()["error"]["code"], "csrf_token_invalid");
    let with_csrf = post_json(
        &app,
        "/api/v1/auth/logout",
        &json!({}),
        &[
            ("cookie", &a_cookie),
            ("x-csrf-token", a["csrf_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(with_csrf.status, StatusCode::NO_CONTENT);
    assert_eq!(
        get_with(&app, "/api/v1/me", &[("cookie", &a_cookie)])
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "logged out at once"
    );

    let password = post_json(
        &app,
        "/api/v1/me/password",
        &json!({ "current_password": PASSWORD, "new_password": "Better#2027" }),
        &[("authorization", &b_bearer)],
    )
    .await;
    assert_eq!(
        password.status,
        StatusCode::NO_CONTENT,
        "bearer calls need no CSRF token"
    );
    let weak = post_json(
        &app,
        "/api/v1/me/password",
        &json!({ "current_password": "Better#2027", "new_password": "short" }),
        &[("authorization", &b_bearer)],
    )
    .await;
    assert_eq!(weak.json()["error"]["field"], "new_password");
}
db_test!(api_sessions_are_private_and_csrf_protected);

async fn api_lockout_is_told(t: &TestDb) {
    let app = app(state(t).await);
    post_json(
        &app,
        "/api/v1/auth/register/person",
        &with_code(t, &app, person("张三", RID_A, MOBILE_A)).await,
        &[],
    )
    .await;
    for _ in 0..4 {
        let r = post_json(
            &app,
            "/api/v1/auth/login",
            &json!({ "login": MOBILE_A, "password": "Nope#2026" }),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let locked = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": "Nope#2026" }),
        &[],
    )
    .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.header("retry-after"), "30");
    let error = &locked.json()["error"];
    assert_eq!(error["code"], "too_many_attempts");
    assert!(
        error["locked_until"]
            .as_str()
            .unwrap()
            .starts_with("2026-02-13T01:00:30")
    );
    assert!(
        error["message"].as_str().unwrap().contains("09:00"),
        "told when, in China time: {error}"
    );
}
db_test!(api_lockout_is_told);

fn csrf_field(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                yiwang_web::prefs::encode_component(v).replace('/', "%2F")
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn pages_register_log_in_and_out(t: &TestDb) {
    let app = app(state(t).await);
    let anonymous_account = get(&app, "/account").await;
    assert_eq!(anonymous_account.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous_account.header("location"), "/login?next=/account");

    // Step 1 asks for the details and the mobile number; its only button asks for a code, so pressing
    // Enter in any field does that.
    let form = get(&app, "/register").await;
    assert_eq!(form.status, StatusCode::OK);
    for label in [
        r#"<label for="name">"#,
        r#"<label for="resident_id">"#,
        r#"<label for="mobile">"#,
    ] {
        assert!(
            form.body.contains(label),
            "every field has a label: {label}"
        );
    }
    form.assert_has(r#"form[action="/register/code"]"#, "step 1 asks for a code");
    form.assert_lacks("input#password", "the password belongs to step 2");
    form.assert_lacks("button[formaction]", "one button in step 1");
    form.assert_has(
        r#"a#enter-code-link[href="/register?step=code"]"#,
        "a way on with a code",
    );
    // Step 2 registers with its first button (the implicit submission); sending again comes after it.
    let step2 = get(&app, "/register?step=code").await;
    assert_eq!(step2.status, StatusCode::OK);
    step2.assert_has(r#"form[action="/register"]"#, "step 2 registers");
    for field in ["input#code", "input#password", "input#password_confirm"] {
        step2.assert_has(field, "step 2 fields");
        let id = &field["input#".len()..];
        assert!(
            step2.body.contains(&format!(r#"<label for="{id}">"#)),
            "label for {id}"
        );
    }
    let register_button = step2
        .body
        .find(r#"<button type="submit" class="button">"#)
        .expect("the register button");
    let resend_button = step2
        .body
        .find(r#"formaction="/register/code""#)
        .expect("the send-again button");
    assert!(
        register_button < resend_button,
        "the first button registers"
    );
    step2.assert_has(r#"button[formaction="/register/code"]"#, "sending again");
    let csrf_cookie = set_cookie(&form, "yw_csrf").expect("csrf cookie");
    let csrf = csrf_field(&form.body);
    assert_eq!(csrf, csrf_cookie);
    let cookie = format!("yw_csrf={csrf}");

    let forged = post_form(
        &app,
        "/register",
        &form_body(&[("csrf", "0".repeat(32).as_str()), ("name", "张三")]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "a form without the right token is refused"
    );

    let bad = post_form(
        &app,
        "/register",
        &form_body(&[
            ("csrf", &csrf),
            ("name", "张"),
            ("resident_id", "110105194912310021"),
            ("mobile", MOBILE_A),
            ("password", PASSWORD),
            ("password_confirm", "Other#2026"),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("请修改以下问题"));
    assert!(bad.body.contains("姓名至少 2 个字"));
    assert!(bad.body.contains("校验位不正确"));
    assert!(bad.body.contains("两次输入的密码不一致"));
    bad.assert_has(
        r#"input#resident_id[value="110105194912310021"]"#,
        "input is kept",
    );
    bad.assert_lacks(
        "input[type=password][value]",
        "password fields are never refilled",
    );
    // Nowhere else either: a secret is checked across the whole page, not only in elements.
    assert!(!bad.body.contains(PASSWORD), "passwords are never echoed");

    // Mistakes in the details show in step 1, before any SMS is sent.
    let early = post_form(
        &app,
        "/register/code",
        &form_body(&[
            ("csrf", &csrf),
            ("name", "张三"),
            ("resident_id", "110105194912310021"),
            ("mobile", MOBILE_A),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(early.body.contains("校验位不正确"), "{}", early.body);
    early.assert_has(r#"form[action="/register/code"]"#, "still step 1");
    assert!(
        crate::support::last_sms_text(&t.db, MOBILE_A)
            .await
            .is_none(),
        "no code was sent for details with a mistake"
    );

    // The code is sent from the same form; the page keeps what was typed and tells the same thing
    // whether or not the number has an account.
    let sent = post_form(
        &app,
        "/register/code",
        &form_body(&[
            ("csrf", &csrf),
            ("name", "张三"),
            ("resident_id", RID_A),
            ("mobile", MOBILE_A),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    sent.assert_has(r#"input#mobile[value="13800138000"]"#, "input is kept");
    sent.assert_has(r#"form[action="/register"]"#, "on to step 2");
    sent.assert_has("input#code", "step 2 asks for the code");
    assert!(sent.body.contains("验证码已发送"), "{}", sent.body);
    let code = crate::support::last_sms_text(&t.db, MOBILE_A)
        .await
        .unwrap();
    let code: String = code[code.find("验证码为").unwrap() + "验证码为".len()..]
        .chars()
        .take(6)
        .collect();
    let ok = post_form(
        &app,
        "/register",
        &form_body(&[
            ("csrf", &csrf),
            ("name", "张三"),
            ("resident_id", RID_A),
            ("mobile", MOBILE_A),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
            ("code", &code),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.header("location"), "/account?welcome=1");
    let session = set_cookie(&ok, "yw_session").expect("logged in after registering");
    let session_cookie = format!("yw_session={session}");

    let account = get_with(&app, "/account?welcome=1", &[("cookie", &session_cookie)]).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("注册成功"));
    assert!(
        account.body.contains("1101**********002X") && account.body.contains("138****8000"),
        "masked in pages"
    );
    assert!(!account.body.contains(RID_A) && !account.body.contains(MOBILE_A));
    assert!(
        account.body.contains("我的账户（张三）"),
        "header shows who is logged in"
    );
    assert!(account.body.contains("当前设备"));

    let again = post_form(
        &app,
        "/register",
        &form_body(&[
            ("csrf", &csrf),
            ("name", "张三"),
            ("resident_id", RID_A),
            ("mobile", MOBILE_B),
            ("password", PASSWORD),
            ("password_confirm", PASSWORD),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        again.body.contains("验证码错误") && !again.body.contains("该身份证号码已注册"),
        "nothing is told before the mobile number is proven"
    );

    let csrf_session = csrf_field(&account.body);
    let wrong = post_form(
        &app,
        "/login",
        &form_body(&[
            ("csrf", &csrf),
            ("login", MOBILE_A),
            ("password", "Nope#2026"),
            ("next", "/account"),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("手机号/身份证号或密码不正确"));
    assert!(
        wrong.body.contains(&format!(r#"value="{MOBILE_A}""#)),
        "the login is kept"
    );

    let logout = post_form(
        &app,
        "/logout",
        &form_body(&[("csrf", &csrf_session)]),
        &[("cookie", &session_cookie)],
    )
    .await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    assert!(logout.header("set-cookie").contains("Max-Age=0"));
    assert_eq!(
        get_with(&app, "/account", &[("cookie", &session_cookie)])
            .await
            .status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer works"
    );

    let login = post_form(
        &app,
        "/login",
        &form_body(&[
            ("csrf", &csrf),
            ("login", RID_A),
            ("password", PASSWORD),
            ("next", "/account"),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(login.header("location"), "/account");
    let offsite = post_form(
        &app,
        "/login",
        &form_body(&[
            ("csrf", &csrf),
            ("login", RID_A),
            ("password", PASSWORD),
            ("next", "//evil.example"),
        ]),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(offsite.header("location"), "/");
}
db_test!(pages_register_log_in_and_out);

/// One address failing against many accounts is slowed down, whichever account it tries next.
async fn addresses_are_throttled(t: &TestDb) {
    let app = app(state(t).await);
    post_json(
        &app,
        "/api/v1/auth/register/person",
        &with_code(t, &app, person("张三", RID_A, MOBILE_A)).await,
        &[],
    )
    .await;
    for i in 0..20 {
        let mobile = format!("136000000{i:02}");
        let r = post_json(
            &app,
            "/api/v1/auth/login",
            &json!({ "login": mobile, "password": "Nope#2026" }),
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let throttled = post_json(
        &app,
        "/api/v1/auth/login",
        &json!({ "login": MOBILE_A, "password": PASSWORD }),
        &[("accept-language", "en")],
    )
    .await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    let error = &throttled.json()["error"];
    assert_eq!(error["code"], "too_many_attempts");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many attempts"),
        "{error}"
    );
    assert!(!throttled.header("retry-after").is_empty());
}
db_test!(addresses_are_throttled);
