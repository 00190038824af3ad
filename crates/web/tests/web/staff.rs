//! Staff and enterprises over the API, on both backends: the negatives above all.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{ClientMeta, NewStaff, RawNewStaff};
use yiwang_identity::policy::Principal;
use yiwang_web::{AppState, app};

use crate::accounts::{MOBILE_A, MOBILE_B, PASSWORD, RID_A, RID_B};
use crate::support::{Reply, get, get_with, send, state};

pub(crate) async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    send(app, builder.body(body).unwrap()).await
}

pub(crate) async fn seed_staff(
    state: &AppState,
    department: &str,
    no: &str,
    mobile: &str,
    roles: &[&str],
) {
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: "测试人员".into(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        posts: vec![],
    })
    .unwrap();
    let mut rng = yiwang_web::auth::request_rng();
    state
        .accounts()
        .create_staff(
            &Principal::System,
            "system:test",
            department,
            &new,
            &ClientMeta::default(),
            &mut rng,
        )
        .await
        .unwrap();
}

pub(crate) async fn staff_token(app: &axum::Router, no: &str) -> String {
    let r = call(
        app,
        "POST",
        "/api/v1/staff/login",
        None,
        Some(json!({ "employee_no": no, "password": PASSWORD })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["token"].as_str().unwrap().to_owned()
}

pub(crate) async fn person_token(
    db: &yiwang_db::Db,
    app: &axum::Router,
    name: &str,
    rid: &str,
    mobile: &str,
) -> String {
    let code = crate::support::registration_code(db, app, mobile).await;
    let r = call(
        app,
        "POST",
        "/api/v1/auth/register/person",
        None,
        Some(json!({ "name": name, "resident_id": rid, "mobile": mobile, "password": PASSWORD, "code": code })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = call(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({ "login": mobile, "password": PASSWORD })),
    )
    .await;
    r.json()["token"].as_str().unwrap().to_owned()
}

async fn staff_api_is_scoped(t: &TestDb) {
    let state = state(t).await;
    seed_staff(
        &state,
        "hf-mzj",
        "ADM001",
        "13900000001",
        &["department_admin"],
    )
    .await;
    seed_staff(
        &state,
        "hf-scjgj",
        "WIN001",
        "13900000002",
        &["window_staff"],
    )
    .await;
    let app = app(state);
    let admin = staff_token(&app, "adm001").await;
    let window = staff_token(&app, "WIN001").await;
    let citizen = person_token(&t.db, &app, "张三", RID_A, MOBILE_A).await;

    let me = call(&app, "GET", "/api/v1/staff/me", Some(&admin), None)
        .await
        .json();
    assert_eq!(me["department"], "hf-mzj");
    assert_eq!(me["roles"], json!(["department_admin"]));

    let post = call(&app, "POST", "/api/v1/departments/hf-mzj/posts", Some(&admin), Some(json!({ "code": "marriage-intake", "name": "婚姻登记受理岗", "duties": "受理婚姻登记申请" }))).await;
    assert_eq!(post.status, StatusCode::CREATED, "{}", post.body);
    let created = call(
        &app,
        "POST",
        "/api/v1/departments/hf-mzj/staff",
        Some(&admin),
        Some(json!({
            "employee_no": "MZ0101", "name": "陈静", "mobile": "13900000004", "password": PASSWORD,
            "roles": ["window_staff"], "posts": ["marriage-intake"]
        })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["mobile"], "139****0004");
    let bad = call(&app, "POST", "/api/v1/departments/hf-mzj/staff", Some(&admin), Some(json!({ "employee_no": "x", "name": "陈静", "mobile": "13900000005", "password": PASSWORD }))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["field"], "employee_no");

    // Negatives: other department, wrong role, a citizen, nobody.
    let other = call(&app, "POST", "/api/v1/departments/hf-scjgj/staff", Some(&admin), Some(json!({ "employee_no": "SC0101", "name": "刘洋", "mobile": "13900000006", "password": PASSWORD }))).await;
    assert_eq!(
        other.status,
        StatusCode::FORBIDDEN,
        "staff of X cannot act on Y's records"
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/v1/departments/hf-mzj/staff",
            Some(&window),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/v1/departments/hf-scjgj/staff",
            Some(&window),
            None
        )
        .await
        .status,
        StatusCode::OK
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/api/v1/departments/hf-mzj/staff",
            Some(&citizen),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app, "/api/v1/departments/hf-mzj/staff").await.status,
        StatusCode::UNAUTHORIZED
    );
    let listed = call(
        &app,
        "GET",
        "/api/v1/departments/hf-mzj/staff",
        Some(&admin),
        None,
    )
    .await
    .json();
    assert_eq!(listed["staff"].as_array().unwrap().len(), 2);
    assert_eq!(listed["posts"][0]["name"], "婚姻登记受理岗");

    // Looking at a person's record: staff with a reason, audited; never citizens.
    let person_id = call(&app, "GET", "/api/v1/me", Some(&citizen), None)
        .await
        .json()["public_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let no_reason = call(
        &app,
        "POST",
        &format!("/api/v1/persons/{person_id}/view"),
        Some(&window),
        Some(json!({})),
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.json()["error"]["field"], "reason");
    let reason = "受理食品经营许可";
    let seen = call(
        &app,
        "POST",
        &format!("/api/v1/persons/{person_id}/view"),
        Some(&window),
        Some(json!({ "reason": reason })),
    )
    .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(
        seen.json()["resident_id"],
        "1101**********002X",
        "masked for staff"
    );
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("/api/v1/persons/{person_id}/view"),
            Some(&citizen),
            Some(json!({ "reason": reason }))
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let entries = yiwang_db::audit::for_resource(t.db.conn(), &format!("person:{person_id}"), 10)
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "person.view" && e.detail.contains("受理食品经营许可"))
    );
    assert_eq!(
        call(&app, "GET", "/api/v1/me", Some(&window), None)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "staff have no citizen profile"
    );
}
db_test!(staff_api_is_scoped);

async fn enterprise_agents_over_the_api(t: &TestDb) {
    let app = app(state(t).await);
    let rep = person_token(&t.db, &app, "张三", RID_A, MOBILE_A).await;
    let agent = person_token(&t.db, &app, "李四", RID_B, MOBILE_B).await;
    let uscc = yiwang_kernel::Uscc::complete("91340104MA2TX0001").unwrap();
    let created = call(
        &app,
        "POST",
        "/api/v1/enterprises",
        Some(&rep),
        Some(json!({ "uscc": uscc.as_str(), "name": "合肥味道餐饮管理有限公司" })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let dup = call(
        &app,
        "POST",
        "/api/v1/enterprises",
        Some(&agent),
        Some(json!({ "uscc": uscc.as_str(), "name": "别的公司" })),
    )
    .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.json()["error"]["field"], "uscc");

    let uri = format!("/api/v1/enterprises/{id}");
    assert_eq!(
        call(&app, "GET", &uri, Some(&agent), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&app, &uri).await.status, StatusCode::UNAUTHORIZED);
    // An enterprise that does not exist is answered the same way: its existence is not told.
    let unknown = "/api/v1/enterprises/00000000000000000000000000000000";
    assert_eq!(
        call(&app, "GET", unknown, Some(&agent), None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&app, unknown).await.status, StatusCode::UNAUTHORIZED);
    let added = call(
        &app,
        "POST",
        &format!("{uri}/agents"),
        Some(&rep),
        Some(json!({ "login": MOBILE_B })),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let agent_person = added.json()["person_id"].as_str().unwrap().to_owned();
    let as_agent = call(&app, "GET", &uri, Some(&agent), None).await.json();
    assert_eq!(as_agent["relation"], "agent");
    let by_agent = call(
        &app,
        "POST",
        &format!("{uri}/agents"),
        Some(&agent),
        Some(json!({ "login": MOBILE_A })),
    )
    .await;
    assert_eq!(
        by_agent.status,
        StatusCode::FORBIDDEN,
        "agents cannot authorise agents"
    );

    let removed = call(
        &app,
        "DELETE",
        &format!("{uri}/agents/{agent_person}"),
        Some(&rep),
        None,
    )
    .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        call(&app, "GET", &uri, Some(&agent), None).await.status,
        StatusCode::FORBIDDEN,
        "a revoked agent loses access at once"
    );
    let mine = get_with(
        &app,
        "/api/v1/enterprises",
        &[("authorization", &format!("Bearer {agent}"))],
    )
    .await
    .json();
    assert_eq!(mine, json!([]));
}
db_test!(enterprise_agents_over_the_api);

fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The representative manages agents from "my account"; the agent sees the enterprise there too.
async fn agents_in_the_account_page(t: &TestDb) {
    let app = app(state(t).await);
    let rep = person_token(&t.db, &app, "张三", RID_A, MOBILE_A).await;
    let agent = person_token(&t.db, &app, "李四", RID_B, MOBILE_B).await;
    let uscc = yiwang_kernel::Uscc::complete("91340104MA2TX0001").unwrap();
    let created = call(
        &app,
        "POST",
        "/api/v1/enterprises",
        Some(&rep),
        Some(json!({ "uscc": uscc.as_str(), "name": "合肥味道餐饮管理有限公司" })),
    )
    .await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let rep_cookie = format!("yw_session={rep}");
    let page = get_with(&app, "/account", &[("cookie", &rep_cookie)]).await;
    assert!(page.body.contains("合肥味道餐饮管理有限公司") && page.body.contains("法定代表人"));
    assert!(page.body.contains("尚未授权经办人"));
    let csrf = csrf_of(&page.body);

    let form = |body: String| {
        Request::post(format!("/account/enterprises/{id}/agents"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &rep_cookie)
            .body(Body::from(body))
            .unwrap()
    };
    let unknown = send(&app, form(format!("csrf={csrf}&login=13600000000"))).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("此人还没有注册个人账户"));
    let added = send(&app, form(format!("csrf={csrf}&login={MOBILE_B}"))).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let page = get_with(&app, "/account?agent=1", &[("cookie", &rep_cookie)]).await;
    assert!(page.body.contains("经办人授权已更新") && page.body.contains("139****1234"));

    let agent_page = get_with(
        &app,
        "/account",
        &[("cookie", &format!("yw_session={agent}"))],
    )
    .await;
    assert!(
        agent_page.body.contains("合肥味道餐饮管理有限公司") && agent_page.body.contains("经办人")
    );
    assert!(
        !agent_page.body.contains(r#"/agents">"#),
        "agents get no agent form"
    );

    let person = call(
        &app,
        "GET",
        &format!("/api/v1/enterprises/{id}"),
        Some(&rep),
        None,
    )
    .await
    .json()["agents"][0]["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let forged = send(
        &app,
        Request::post(format!("/account/enterprises/{id}/agents/{person}/revoke"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &rep_cookie)
            .body(Body::from("csrf=bad"))
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let revoked = send(
        &app,
        Request::post(format!("/account/enterprises/{id}/agents/{person}/revoke"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &rep_cookie)
            .body(Body::from(format!("csrf={csrf}")))
            .unwrap(),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let agent_page = get_with(
        &app,
        "/account",
        &[("cookie", &format!("yw_session={agent}"))],
    )
    .await;
    assert!(
        !agent_page.body.contains("合肥味道餐饮管理有限公司"),
        "gone from the revoked agent's account"
    );
}
db_test!(agents_in_the_account_page);

/// A person registers their enterprise from "my account"; bad codes are explained.
async fn register_enterprise_in_the_account_page(t: &TestDb) {
    let app = app(state(t).await);
    let rep = person_token(&t.db, &app, "张三", RID_A, MOBILE_A).await;
    let cookie = format!("yw_session={rep}");
    let page = get_with(&app, "/account", &[("cookie", &cookie)]).await;
    assert!(page.body.contains("登记我担任法定代表人的企业"));
    let csrf = csrf_of(&page.body);
    let post = |body: String| {
        Request::post("/account/enterprises")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &cookie)
            .body(Body::from(body))
            .unwrap()
    };
    let bad = send(&app, post(format!("csrf={csrf}&uscc=91340104MA2TX00010&enterprise_name=%E5%90%88%E8%82%A5%E5%91%B3%E9%81%93"))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("校验位不正确"),
        "explained in the visitor's language"
    );
    let uscc = yiwang_kernel::Uscc::complete("91340104MA2TX0001").unwrap();
    let ok = send(&app, post(format!("csrf={csrf}&uscc={uscc}&enterprise_name=%E5%90%88%E8%82%A5%E5%91%B3%E9%81%93%E9%A4%90%E9%A5%AE%E7%AE%A1%E7%90%86%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8"))).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = get_with(&app, "/account?enterprise=1", &[("cookie", &cookie)]).await;
    assert!(page.body.contains("企业已登记") && page.body.contains("合肥味道餐饮管理有限公司"));
    let again = send(
        &app,
        post(format!(
            "csrf={csrf}&uscc={uscc}&enterprise_name=%E5%90%88%E8%82%A5%E5%91%B3%E9%81%93"
        )),
    )
    .await;
    assert!(again.body.contains("该统一社会信用代码已登记"));
}
db_test!(register_enterprise_in_the_account_page);

/// Staff log in through the page and see their department; administrators add posts there.
async fn staff_pages(t: &TestDb) {
    let state = state(t).await;
    seed_staff(
        &state,
        "hf-mzj",
        "ADM001",
        "13900000001",
        &["department_admin"],
    )
    .await;
    let app = app(state);
    let form = get(&app, "/staff/login").await;
    assert!(
        form.body
            .contains(r#"<label for="employee_no">工号</label>"#)
    );
    let csrf = csrf_of(&form.body);
    let cookie = format!("yw_csrf={csrf}");
    let post = |body: String, cookie: String| {
        Request::post("/staff/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(Body::from(body))
            .unwrap()
    };
    let wrong = send(
        &app,
        post(
            format!("csrf={csrf}&employee_no=ADM001&password=Nope%232026"),
            cookie.clone(),
        ),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = send(
        &app,
        post(
            format!("csrf={csrf}&employee_no=adm001&password=Yiwang%232026"),
            cookie,
        ),
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.header("location"), "/staff");
    let token = ok
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("yw_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let session = format!("yw_session={token}");
    let landing = get_with(&app, "/staff", &[("cookie", &session)]).await;
    assert_eq!(
        landing.header("location"),
        "/staff/departments/hf-mzj",
        "staff land on their department"
    );
    let desk = get_with(&app, "/staff/departments/hf-mzj", &[("cookie", &session)]).await;
    assert_eq!(desk.status, StatusCode::OK);
    assert!(desk.body.contains("合肥市民政局") && desk.body.contains("部门管理员"));
    assert!(desk.body.contains("本部门还没有设置岗位"));
    assert!(
        desk.body.contains("工作台（测试人员）"),
        "the header shows the staff member"
    );
    let csrf = csrf_of(&desk.body);
    let form = |uri: &str, body: String| {
        Request::post(uri.to_owned())
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &session)
            .body(Body::from(body))
            .unwrap()
    };
    let add = send(&app, form("/staff/departments/hf-mzj", format!("csrf={csrf}&kind=post&code=marriage-intake&name=%E5%A9%9A%E5%A7%BB%E7%99%BB%E8%AE%B0%E5%8F%97%E7%90%86%E5%B2%97&duties=%E5%8F%97%E7%90%86"))).await;
    assert_eq!(add.status, StatusCode::SEE_OTHER, "{}", add.body);
    let bad = send(
        &app,
        form(
            "/staff/departments/hf-mzj",
            format!("csrf={csrf}&kind=staff&employee_no=x&name=%E9%99%88&mobile=1&password=x"),
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("工号为 4–20 位字母或数字"));
    let staff = send(&app, form("/staff/departments/hf-mzj", format!("csrf={csrf}&kind=staff&employee_no=MZ0101&name=%E9%99%88%E9%9D%99&mobile=13900000004&password=Yiwang%232026&role=window_staff&post=marriage-intake"))).await;
    assert_eq!(staff.status, StatusCode::SEE_OTHER, "{}", staff.body);
    let desk = get_with(&app, "/staff/departments/hf-mzj", &[("cookie", &session)]).await;
    assert!(
        desk.body.contains("婚姻登记受理岗")
            && desk.body.contains("陈静")
            && desk.body.contains("窗口人员")
    );

    // Change 陈静's roles with the checkboxes.
    let id = call(
        &app,
        "GET",
        "/api/v1/departments/hf-mzj/staff",
        Some(&token),
        None,
    )
    .await
    .json()["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["employee_no"] == "MZ0101")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let roles = send(
        &app,
        form(
            &format!("/staff/departments/hf-mzj/staff/{id}/roles"),
            format!("csrf={csrf}&roles=window_staff&roles=approver"),
        ),
    )
    .await;
    assert_eq!(roles.status, StatusCode::SEE_OTHER);
    let after = call(
        &app,
        "GET",
        "/api/v1/departments/hf-mzj/staff",
        Some(&token),
        None,
    )
    .await
    .json();
    let chen = after["staff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["employee_no"] == "MZ0101")
        .unwrap()
        .clone();
    assert_eq!(chen["roles"], json!(["window_staff", "approver"]));

    // Another department: no forms there, and no changes through them.
    assert_eq!(
        get_with(&app, "/staff/departments/hf-scjgj", &[("cookie", &session)])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let foreign = send(
        &app,
        form(
            "/staff/departments/hf-scjgj",
            format!("csrf={csrf}&kind=post&code=x&name=x&duties=x"),
        ),
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let list = get_with(&app, "/staff/departments", &[("cookie", &session)]).await;
    assert!(
        list.body.contains("合肥市民政局") && !list.body.contains("合肥市市场监督管理局"),
        "only what they may see"
    );
    assert_eq!(
        get(&app, "/staff").await.status,
        StatusCode::SEE_OTHER,
        "anonymous visitors are sent to log in"
    );
}
db_test!(staff_pages);
