//! Cases over the API, on both backends: an applicant uploads a material and applies, the window
//! accepts, the reviewer agrees, the decider grants and the window delivers; the public progress query;
//! workflow publication with named problems; refusals and the boundary between applicants.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{ClientMeta, NewStaff, PostInput, RawNewStaff};
use yiwang_identity::policy::Principal;
use yiwang_web::{AppState, app};

use crate::accounts::{MOBILE_A, MOBILE_B, PASSWORD, RID_A, RID_B};
use crate::staff::{call, person_token, staff_token};
use crate::support::{get, send, state};

/// 食品经营许可（延续） of 合肥市市场监督管理局 (in the fixture catalog).
pub(crate) const FOOD_RENEWAL: &str = "01120000300334010011340100MB8434305B";

const WORKFLOW: &str = r#"
[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["review"]
[[steps]]
id = "review"
name = "审查"
kind = "review"
post = "hf-scjgj/review"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"

[[form]]
key = "operator"
label = "经营者名称"
kind = "text"
required = true
"#;

pub(crate) async fn seed(state: &AppState) {
    let meta = ClientMeta::default();
    for (code, name) in [
        ("window", "综合受理窗口"),
        ("review", "审查岗"),
        ("chief", "决定岗"),
    ] {
        state
            .accounts()
            .create_post(
                &Principal::System,
                "system:test",
                "hf-scjgj",
                &PostInput {
                    code: code.into(),
                    name: name.into(),
                    duties: name.into(),
                },
                &meta,
            )
            .await
            .unwrap();
    }
    for (no, mobile, role, post) in [
        ("SC0101", "13900002101", "window_staff", Some("window")),
        ("SC0201", "13900002102", "approver", Some("review")),
        ("SC0301", "13900002103", "approver", Some("chief")),
        ("SC0001", "13900002104", "department_admin", None),
    ] {
        let new = NewStaff::parse(&RawNewStaff {
            employee_no: no.into(),
            name: "测试人员".into(),
            mobile: mobile.into(),
            password: PASSWORD.into(),
            roles: vec![role.to_owned()],
            posts: post.map(|p| vec![p.to_owned()]).unwrap_or_default(),
        })
        .unwrap();
        state
            .accounts()
            .create_staff(
                &Principal::System,
                "system:test",
                "hf-scjgj",
                &new,
                &meta,
                &mut yiwang_web::auth::request_rng(),
            )
            .await
            .unwrap();
    }
}

pub(crate) async fn upload(
    app: &axum::Router,
    token: &str,
    name: &str,
    content: &[u8],
) -> crate::support::Reply {
    let boundary = "yiwangboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    send(
        app,
        Request::post("/api/v1/materials")
            .header("authorization", format!("Bearer {token}"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

pub(crate) async fn publish(
    app: &axum::Router,
    token: &str,
    item: i64,
    toml: &str,
) -> crate::support::Reply {
    send(
        app,
        Request::put(format!("/api/v1/items/{item}/workflow"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/toml")
            .body(Body::from(toml.to_owned()))
            .unwrap(),
    )
    .await
}

/// The id of the open task of a step, read from the case as staff see it.
pub(crate) async fn task_of(app: &axum::Router, token: &str, case: &str, step: &str) -> i64 {
    let detail = call(
        app,
        "GET",
        &format!("/api/v1/cases/{case}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    detail.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|t| t["step_id"] == step && t["status"] == "open")
        .unwrap_or_else(|| panic!("no open {step} task in {}", detail.body))["id"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn act(
    app: &axum::Router,
    token: &str,
    task: i64,
    body: Value,
) -> crate::support::Reply {
    call(
        app,
        "POST",
        &format!("/api/v1/tasks/{task}/act"),
        Some(token),
        Some(body),
    )
    .await
}

db_test!(
    api_application_to_conclusion,
    case_routes_bound_what_callers_control
);

async fn api_application_to_conclusion(t: &TestDb) {
    let state = state(t).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state);
    let applicant = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let other = person_token(&t.db, &app, "李娜", RID_B, MOBILE_B).await;
    let window = staff_token(&app, "SC0101").await;
    let reviewer = staff_token(&app, "SC0201").await;
    let chief = staff_token(&app, "SC0301").await;
    let admin = staff_token(&app, "SC0001").await;

    // No workflow yet: the item cannot be applied for.
    let none = get(&app, &format!("/api/v1/items/{item}/application")).await;
    assert_eq!(none.status, StatusCode::CONFLICT, "{}", none.body);
    assert_eq!(none.json()["error"]["code"], "item_no_workflow");
    assert_eq!(
        none.json()["error"]["message"],
        "该事项尚未开通网上申请，请到窗口办理"
    );
    // A definition naming a missing post is refused with the problem and the step named.
    let bad = publish(
        &app,
        &admin,
        item,
        &WORKFLOW.replace("hf-scjgj/review", "hf-scjgj/nobody"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.json()["error"]["code"], "unknown_post");
    assert_eq!(bad.json()["error"]["field"], "review");
    assert_eq!(
        publish(&app, &window, item, WORKFLOW).await.status,
        StatusCode::FORBIDDEN
    );
    let published = publish(&app, &admin, item, WORKFLOW).await;
    assert_eq!(published.status, StatusCode::CREATED, "{}", published.body);
    assert_eq!(published.json()["version"], 1);

    let form = get(&app, &format!("/api/v1/items/{item}/application")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let form = form.json();
    assert_eq!(form["fields"][0]["key"], "operator");
    let mandatory: Vec<String> = form["materials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["mandatory"] == true)
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(!mandatory.is_empty());

    // Files: a refused type, then real PDFs.
    let refused = upload(&app, &applicant, "申请书.exe", b"MZ").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json()["error"]["code"], "file_type_refused");
    let mut materials = Vec::new();
    for name in &mandatory {
        let up = upload(&app, &applicant, &format!("{name}.pdf"), b"%PDF-1.7 test").await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
        assert_eq!(up.json()["sm3"].as_str().unwrap().len(), 64);
        materials.push(json!({ "material": name, "file": up.json()["id"] }));
    }
    // A missing answer: 422 naming the field, nothing stored.
    let missing = call(
        &app,
        "POST",
        "/api/v1/cases",
        Some(&applicant),
        Some(json!({ "item": item, "answers": {}, "materials": materials })),
    )
    .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert_eq!(missing.json()["error"]["code"], "field_required");
    assert_eq!(missing.json()["error"]["field"], "operator");
    let applied = call(
        &app,
        "POST",
        "/api/v1/cases",
        Some(&applicant),
        Some(json!({ "item": item, "answers": { "operator": "合肥味道餐饮管理有限公司" }, "materials": materials })),
    )
    .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
    let applied = applied.json();
    let case_no = applied["case_no"].as_str().unwrap().to_owned();
    let code = applied["query_code"].as_str().unwrap().to_owned();
    let id = applied["id"].as_str().unwrap().to_owned();
    assert_eq!(applied["status"], "submitted");

    // Another person cannot see it; the applicant lists it.
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/api/v1/cases/{id}"),
            Some(&other),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let mine = call(&app, "GET", "/api/v1/cases", Some(&applicant), None).await;
    assert_eq!(mine.json()["total"], 1);

    // The window's inbox, a wrong action, then acceptance; review; decision; delivery.
    let inbox = call(&app, "GET", "/api/v1/inbox", Some(&window), None).await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert_eq!(inbox.json()["total"], 1);
    assert_eq!(inbox.json()["items"][0]["case_no"], case_no.as_str());
    let intake = inbox.json()["items"][0]["task"]["id"].as_i64().unwrap();
    let wrong = act(
        &app,
        &window,
        intake,
        json!({ "action": "grant", "opinion": "x" }),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    assert_eq!(wrong.json()["error"]["code"], "action_not_offered");
    assert_eq!(wrong.json()["error"]["message"], "该环节不能进行此操作");
    let not_mine = act(&app, &reviewer, intake, json!({ "action": "accept" })).await;
    assert_eq!(not_mine.status, StatusCode::FORBIDDEN);
    assert_eq!(not_mine.json()["error"]["code"], "task_not_on_post");
    assert_eq!(
        not_mine.json()["error"]["message"],
        "您不在该环节的岗位上，不能办理"
    );
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("/api/v1/tasks/{intake}/claim"),
            Some(&window),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let accepted = act(
        &app,
        &window,
        intake,
        json!({ "action": "accept", "opinion": "材料齐全" }),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.body);
    assert_eq!(accepted.json()["status"], "in_review");
    let review = task_of(&app, &reviewer, &case_no, "review").await;
    assert_eq!(
        act(
            &app,
            &reviewer,
            review,
            json!({ "action": "agree", "opinion": "同意" })
        )
        .await
        .status,
        StatusCode::OK
    );
    let decide = task_of(&app, &chief, &case_no, "decide").await;
    let no_reason = act(&app, &chief, decide, json!({ "action": "deny" })).await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.json()["error"]["field"], "opinion");
    assert_eq!(
        act(
            &app,
            &chief,
            decide,
            json!({ "action": "grant", "opinion": "准予延续" })
        )
        .await
        .status,
        StatusCode::OK
    );
    let deliver = task_of(&app, &window, &case_no, "deliver").await;
    let done = act(&app, &window, deliver, json!({ "action": "conclude" })).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["status"], "concluded");
    assert_eq!(done.json()["outcome"], "granted");

    // The applicant's view: public history only, no tasks; the file downloads for its owner.
    let detail = call(
        &app,
        "GET",
        &format!("/api/v1/cases/{id}"),
        Some(&applicant),
        None,
    )
    .await
    .json();
    let actions: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["submit", "accept", "grant", "conclude"]);
    assert!(detail["tasks"].as_array().unwrap().is_empty());
    let file = detail["materials"][0]["file"]["public_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let download = call(
        &app,
        "GET",
        &format!("/api/v1/materials/{file}"),
        Some(&applicant),
        None,
    )
    .await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(download.body.starts_with("%PDF"));
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/api/v1/materials/{file}"),
            Some(&other),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    // Staff reach the file through the case.
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/api/v1/materials/{file}?case={case_no}"),
            Some(&reviewer),
            None
        )
        .await
        .status,
        StatusCode::OK
    );

    // Anyone with the number and the code follows it; a wrong code learns nothing.
    let progress = get(
        &app,
        &format!("/api/v1/progress?case_no={case_no}&code={code}"),
    )
    .await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.body);
    assert_eq!(progress.json()["status"], "concluded");
    let wrong = get(
        &app,
        &format!("/api/v1/progress?case_no={case_no}&code=AAAAAAAA"),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.json()["error"]["code"], "case_query_mismatch");
    let disclosed = get(&app, "/api/v1/disclosures").await.json();
    assert_eq!(disclosed["total"], 1);
    assert_eq!(disclosed["items"][0]["applicant"], "张**");

    let spec = get(&app, "/api/v1/openapi.json").await.json();
    for path in [
        "/api/v1/cases",
        "/api/v1/tasks/{id}/act",
        "/api/v1/progress",
        "/api/v1/materials",
    ] {
        assert!(
            spec["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

/// Every paging and search parameter of the case routes has a documented maximum (page ≤ 1000,
/// page size ≤ 100, search text ≤ 100 characters, case keys ≤ 64): beyond it the answer is 422
/// naming the parameter, never a read sized by the caller.
async fn case_routes_bound_what_callers_control(t: &TestDb) {
    let state = state(t).await;
    seed(&state).await;
    let app = app(state);
    let applicant = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let window = staff_token(&app, "SC0101").await;
    let long = "x".repeat(101);
    for (uri, token, field) in [
        ("/api/v1/cases?page=1001".to_owned(), &applicant, "page"),
        ("/api/v1/cases?page_size=101".to_owned(), &applicant, "page"),
        (
            "/api/v1/cases?page=4294967295".to_owned(),
            &applicant,
            "page",
        ),
        (format!("/api/v1/cases?q={long}"), &applicant, "q"),
        ("/api/v1/inbox?page=1001".to_owned(), &window, "page"),
        (format!("/api/v1/inbox?q={long}"), &window, "q"),
        (
            "/api/v1/disclosures?page=1001".to_owned(),
            &applicant,
            "page",
        ),
        (
            format!("/api/v1/progress?case_no={}&code=ABCD", "3".repeat(65)),
            &applicant,
            "case_no",
        ),
    ] {
        let r = call(&app, "GET", &uri, Some(token), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.body
        );
        assert_eq!(r.json()["error"]["field"], field, "{uri}");
    }
    // At the maximum everything is still answered.
    for (uri, token) in [
        (
            "/api/v1/cases?page=1000&page_size=100".to_owned(),
            &applicant,
        ),
        (format!("/api/v1/cases?q={}", "x".repeat(100)), &applicant),
        ("/api/v1/inbox?page=1000".to_owned(), &window),
    ] {
        let r = call(&app, "GET", &uri, Some(token), None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert_eq!(r.json()["items"].as_array().map(Vec::len), Some(0), "{uri}");
    }
    // A key longer than any case's is the same answer as an unknown one.
    let r = call(
        &app,
        "GET",
        &format!("/api/v1/cases/{}", "k".repeat(500)),
        Some(&applicant),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
}
