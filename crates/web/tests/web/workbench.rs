//! The staff workbench pages on both backends: a case through the inbox and the case page's forms
//! (claim, refusals that change nothing, accept, 补正, special procedure and resume, agree, the
//! separation of intake and decision, grant, delivery), 电子监察 after the test clock moved, the
//! workflow page with its diagram and publication, counter registration with its receipt, and who
//! may open which page.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{ClientMeta, NewStaff, PostInput, RawNewStaff};
use yiwang_identity::policy::Principal;
use yiwang_kernel::TestClock;
use yiwang_web::prefs::encode_component;
use yiwang_web::{AppState, WebConfig, app};

use crate::accounts::{MOBILE_A, MOBILE_B, PASSWORD, RID_A, RID_B};
use crate::staff::{call, person_token};
use crate::support::{Reply, get, get_with, send, state_with_clock, t0};

/// 食品经营许可（延续） of 合肥市市场监督管理局 (in the fixture catalog).
const FOOD_RENEWAL: &str = "01120000300334010011340100MB8434305B";

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
limit_days = 5
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

async fn seed(state: &AppState) {
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
    for (no, name, mobile, roles, posts) in [
        (
            "WB0101",
            "王窗口",
            "13900003101",
            &["window_staff"][..],
            &["window"][..],
        ),
        (
            "WB0102",
            "陈双岗",
            "13900003102",
            &["window_staff", "approver"][..],
            &["window", "chief"][..],
        ),
        (
            "WB0201",
            "李审查",
            "13900003103",
            &["approver"][..],
            &["review"][..],
        ),
        (
            "WB0301",
            "赵决定",
            "13900003104",
            &["approver"][..],
            &["chief"][..],
        ),
        (
            "WB0001",
            "周管理",
            "13900003105",
            &["department_admin"][..],
            &[][..],
        ),
        (
            "WB0401",
            "孙监察",
            "13900003106",
            &["supervisor"][..],
            &[][..],
        ),
    ] {
        let new = NewStaff::parse(&RawNewStaff {
            employee_no: no.into(),
            name: name.into(),
            mobile: mobile.into(),
            password: PASSWORD.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            posts: posts.iter().map(|p| (*p).to_owned()).collect(),
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

/// A logged-in visitor of the pages: the session cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

fn csrf_of(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

async fn session(app: &axum::Router, token: String) -> Session {
    let cookie = format!("yw_session={token}");
    let home = get_with(app, "/", &[("cookie", &cookie)]).await;
    Session {
        csrf: csrf_of(&home.body),
        cookie,
    }
}

async fn staff(app: &axum::Router, no: &str) -> Session {
    let r = call(
        app,
        "POST",
        "/api/v1/staff/login",
        None,
        Some(json!({ "employee_no": no, "password": PASSWORD })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    session(app, r.json()["token"].as_str().unwrap().to_owned()).await
}

impl Session {
    async fn get(&self, app: &axum::Router, uri: &str) -> Reply {
        get_with(app, uri, &[("cookie", &self.cookie)]).await
    }

    async fn post(&self, app: &axum::Router, uri: &str, fields: &[(&str, &str)]) -> Reply {
        let body = std::iter::once(("csrf", self.csrf.as_str()))
            .chain(fields.iter().copied())
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&");
        send(
            app,
            Request::post(uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", &self.cookie)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// A multipart form: text fields and files (field name, file name, bytes).
    async fn multipart(
        &self,
        app: &axum::Router,
        uri: &str,
        fields: &[(&str, &str)],
        files: &[(String, String, &[u8])],
    ) -> Reply {
        let boundary = "yiwangWorkbench7MA4";
        let mut body = Vec::new();
        let mut part = |head: String, content: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{head}\r\n\r\n").as_bytes());
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        };
        part(
            "Content-Disposition: form-data; name=\"csrf\"".to_owned(),
            self.csrf.as_bytes(),
        );
        for (k, v) in fields {
            part(
                format!("Content-Disposition: form-data; name=\"{k}\""),
                v.as_bytes(),
            );
        }
        for (name, file, bytes) in files {
            part(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/pdf"
                ),
                bytes,
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        send(
            app,
            Request::post(uri)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .header("cookie", &self.cookie)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// The number after `marker` in a page (e.g. a task id in `id="task-12"`).
fn number_after(html: &str, marker: &str) -> i64 {
    let start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in {html}"))
        + marker.len();
    html[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// The first form in the page posting to an address that starts with `prefix`: its task id.
fn act_task(html: &str) -> i64 {
    number_after(html, "/tasks/")
}

async fn case_status(app: &axum::Router, token: &str, case_no: &str) -> String {
    let r = call(
        app,
        "GET",
        &format!("/api/v1/cases/{case_no}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["status"].as_str().unwrap().to_owned()
}

/// Upload one PDF per mandatory material and apply; returns the case number.
async fn apply(app: &axum::Router, token: &str, item: i64) -> (String, Vec<String>) {
    let form = get(app, &format!("/api/v1/items/{item}/application")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let names: Vec<String> = form.json()["materials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["mandatory"] == true)
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    let mut materials = Vec::new();
    for name in &names {
        let boundary = "yiwangboundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(b"%PDF-1.7 workbench");
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let up = send(
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
        .await;
        assert_eq!(up.status, StatusCode::CREATED, "{}", up.body);
        materials.push(json!({ "material": name, "file": up.json()["id"] }));
    }
    let applied = call(
        app,
        "POST",
        "/api/v1/cases",
        Some(token),
        Some(json!({ "item": item, "answers": { "operator": "合肥味道餐饮管理有限公司" }, "materials": materials })),
    )
    .await;
    assert_eq!(applied.status, StatusCode::CREATED, "{}", applied.body);
    (
        applied.json()["case_no"].as_str().unwrap().to_owned(),
        names,
    )
}

db_test!(
    workbench_case_through_the_pages,
    workbench_lists_refuse_pages_beyond_the_last
);

#[expect(
    clippy::too_many_lines,
    reason = "one case from publication to delivery"
)]
async fn workbench_case_through_the_pages(t: &TestDb) {
    let clock = TestClock::new(t0());
    let state = state_with_clock(t, WebConfig::default(), &clock).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state.clone());
    let applicant_token = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let citizen = session(&app, applicant_token.clone()).await;
    let window = staff(&app, "WB0101").await;
    let both = staff(&app, "WB0102").await;
    let reviewer = staff(&app, "WB0201").await;
    let admin = staff(&app, "WB0001").await;

    // --- Workflow page: none yet, a bad definition lists its problems, a good one is version 1.
    let wf = format!("/staff/workflows/{item}");
    let page = admin.get(&app, &wf).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("该事项还没有办理流程"));
    assert!(
        page.body.contains("hf-scjgj/window"),
        "a definition to start from"
    );
    let bad = admin
        .post(
            &app,
            &wf,
            &[(
                "definition",
                &WORKFLOW
                    .replace("hf-scjgj/review", "hf-scjgj/nobody")
                    .replace("post = \"hf-scjgj/chief\"", "post = \"hf-scjgj/window\""),
            )],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("流程定义有 2 处问题"), "{}", bad.body);
    assert!(bad.body.contains("环节 review：环节指定的岗位不存在"));
    assert!(
        bad.body
            .contains("环节 decide：受审分离：受理岗位与决定岗位不能相同")
    );
    assert!(bad.body.contains("hf-scjgj/nobody"), "the text is kept");
    let unreadable = admin
        .post(&app, &wf, &[("definition", "[[steps]]\nid = 1")])
        .await;
    assert_eq!(unreadable.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unreadable.body.contains("流程定义无法读取"));
    assert!(
        state
            .cases()
            .current_workflow(yiwang_catalog::model::ItemId::new(item))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        window
            .post(&app, &wf, &[("definition", WORKFLOW)])
            .await
            .status,
        StatusCode::FORBIDDEN,
        "window staff do not manage workflows"
    );
    let good = admin.post(&app, &wf, &[("definition", WORKFLOW)]).await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    assert_eq!(
        good.header("location"),
        format!("/staff/workflows/{item}?published=1")
    );
    let page = admin.get(&app, good.header("location")).await;
    assert!(page.body.contains("已发布第 1 版"));
    assert!(
        page.body
            .contains("<svg xmlns=\"http://www.w3.org/2000/svg\"")
    );
    assert!(
        page.body.contains("审查岗（市市场监管局）"),
        "post names resolved"
    );
    assert!(page.body.contains("办结送达"));
    let list = admin.get(&app, "/staff/workflows").await;
    assert!(list.body.contains(&format!("/staff/workflows/{item}")));
    assert!(list.body.contains("第 1 版"));
    assert_eq!(window.get(&app, &wf).await.status, StatusCode::FORBIDDEN);

    // --- The applicant applies; the window's inbox lists the case with its deadline in words.
    let (case_no, materials) = apply(&app, &applicant_token, item).await;
    let inbox = window.get(&app, "/staff/cases").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    assert!(inbox.body.contains(&case_no));
    assert!(inbox.body.contains(r#"id="count-open">1<"#));
    assert!(inbox.body.contains(r#"id="count-mine">0<"#));
    assert!(inbox.body.contains("wb-due-none"));
    assert!(inbox.body.contains("剩 ") && inbox.body.contains(" 个工作日"));
    let intake = number_after(&inbox.body, r#"id="task-"#);
    // Search, filters and the empty state.
    let found = window.get(&app, "/staff/cases?q=%E5%BC%A0").await;
    assert!(
        found.body.contains(&case_no),
        "found by the applicant's name"
    );
    let none = window.get(&app, "/staff/cases?warning=overdue").await;
    assert!(none.body.contains("没有符合条件的待办件"));
    assert!(!none.body.contains(&case_no));
    let by_step = window
        .get(&app, "/staff/cases?step=%E5%8F%97%E7%90%86")
        .await;
    assert!(by_step.body.contains(&case_no));

    // Claim, then release, through the inbox's forms.
    let claimed = window
        .post(
            &app,
            &format!("/staff/tasks/{intake}/claim"),
            &[("next", "/staff/cases")],
        )
        .await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    assert_eq!(claimed.header("location"), "/staff/cases?done=claim");
    let inbox = window.get(&app, "/staff/cases?done=claim").await;
    assert!(inbox.body.contains("已签收。"));
    assert!(inbox.body.contains("已由我签收"));
    assert!(inbox.body.contains(r#"id="count-mine">1<"#));
    // Someone else on the post cannot take it now.
    let taken = both
        .post(
            &app,
            &format!("/staff/tasks/{intake}/claim"),
            &[("next", "/staff/cases")],
        )
        .await;
    assert_eq!(
        taken.header("location"),
        "/staff/cases?refused=task_claimed_by_other"
    );
    let shown = both.get(&app, taken.header("location")).await;
    assert!(shown.body.contains("该任务已由其他工作人员签收"));

    // Refusals shown in the page and nothing changed: no action chosen, an opinion missing, a post
    // not held. Nothing is preselected for the clerk.
    let case_url = format!("/staff/cases/{case_no}");
    let act_url = format!("{case_url}/tasks/{intake}/act");
    let page = window.get(&app, &case_url).await;
    assert!(
        !page
            .body
            .contains(r#"name="action" value="accept" checked"#),
        "no action is preselected"
    );
    let unchosen = window
        .post(&app, &act_url, &[("opinion", "材料齐全")])
        .await;
    assert_eq!(unchosen.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unchosen.body.contains("请选择办理操作"),
        "{}",
        unchosen.body
    );
    let refused = window
        .post(&app, &act_url, &[("action", "decline"), ("opinion", "")])
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("请填写办理意见或理由"));
    assert!(
        refused.body.contains(r#"value="decline" checked"#),
        "the choice is kept"
    );
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "submitted"
    );
    let wrong_post = reviewer
        .post(&app, &act_url, &[("action", "accept"), ("opinion", "")])
        .await;
    assert_eq!(
        wrong_post.status,
        StatusCode::FORBIDDEN,
        "{}",
        wrong_post.body
    );
    assert!(
        wrong_post.body.contains("您不在该环节的岗位上，不能办理"),
        "{}",
        &wrong_post.body[wrong_post.body.find("<main").unwrap()..]
    );
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "submitted"
    );
    let released = window
        .post(
            &app,
            &format!("/staff/tasks/{intake}/release"),
            &[("next", "/staff/cases?done=claim")],
        )
        .await;
    assert_eq!(
        released.header("location"),
        "/staff/cases?done=claim&done=release"
    );

    // The case page: masked identifier, answers, materials with a download link, the act form.
    let page = both.get(&app, &case_url).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("合肥味道餐饮管理有限公司"));
    assert!(!page.body.contains(RID_A), "the resident ID is masked");
    assert!(
        page.body
            .contains(&format!("/staff/cases/{case_no}/tasks/{intake}/act"))
    );
    assert!(page.body.contains(r#"value="accept""#) && page.body.contains(r#"value="supplement""#));
    let file_link = {
        let marker = format!("/staff/cases/{case_no}/materials/");
        let start = page.body.find(&marker).expect("a material link");
        page.body[start..start + page.body[start..].find('"').unwrap()].to_owned()
    };
    let file = both.get(&app, &file_link).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, "%PDF-1.7 workbench");
    assert_eq!(
        citizen.get(&app, &file_link).await.status,
        StatusCode::FORBIDDEN
    );

    // 陈双岗 accepts at the window; the review post's inbox has it.
    let accepted = both
        .post(
            &app,
            &act_url,
            &[("action", "accept"), ("opinion", "材料齐全，予以受理")],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let page = both.get(&app, accepted.header("location")).await;
    assert!(page.body.contains("已提交，办件已更新"));
    assert!(page.body.contains("审查中"));
    assert!(page.body.contains("/notices/accepted"));
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "in_review"
    );
    let inbox = reviewer.get(&app, "/staff/cases").await;
    assert!(inbox.body.contains(&case_no));
    let review = number_after(&inbox.body, r#"id="task-"#);
    let review_url = format!("{case_url}/tasks/{review}/act");

    // 补正: without a list it is refused; with the checklist and a line of its own it is sent.
    let no_list = reviewer
        .post(
            &app,
            &review_url,
            &[("action", "supplement"), ("opinion", "材料需补正")],
        )
        .await;
    assert_eq!(no_list.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        no_list
            .body
            .contains("补正告知须一次性列明全部需补正的内容")
    );
    let supplement = reviewer
        .post(
            &app,
            &review_url,
            &[
                ("action", "supplement"),
                ("opinion", "材料需补正"),
                ("missing", &materials[0]),
                ("missing_other", "营业执照副本（加盖公章）"),
            ],
        )
        .await;
    assert_eq!(
        supplement.status,
        StatusCode::SEE_OTHER,
        "{}",
        supplement.body
    );
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "supplement"
    );
    let page = reviewer.get(&app, &case_url).await;
    assert!(page.body.contains("需补正："));
    assert!(page.body.contains("营业执照副本（加盖公章）"));
    assert!(page.body.contains(&materials[0]));
    assert!(page.body.contains("/notices/supplement"));
    let resubmitted = call(
        &app,
        "POST",
        &format!("/api/v1/cases/{case_no}/resubmit"),
        Some(&applicant_token),
        Some(json!({})),
    )
    .await;
    assert_eq!(resubmitted.status, StatusCode::OK, "{}", resubmitted.body);

    // 特别程序: the kind and date are required; then suspended; then resumed from the page.
    let page = reviewer.get(&app, &case_url).await;
    let review = act_task(&page.body[page.body.find("/staff/cases/").unwrap()..]);
    let review_url = format!("{case_url}/tasks/{review}/act");
    let incomplete = reviewer
        .post(
            &app,
            &review_url,
            &[
                ("action", "special"),
                ("opinion", "需现场勘验"),
                ("special_kind", "inspection"),
            ],
        )
        .await;
    assert_eq!(incomplete.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        incomplete
            .body
            .contains("请选择特别程序类型并填写预计结束日期")
    );
    let special = reviewer
        .post(
            &app,
            &review_url,
            &[
                ("action", "special"),
                ("opinion", "需现场勘验"),
                ("special_kind", "inspection"),
                ("special_until", "2026-03-10"),
            ],
        )
        .await;
    assert_eq!(special.status, StatusCode::SEE_OTHER, "{}", special.body);
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "suspended"
    );
    let page = reviewer.get(&app, &case_url).await;
    assert!(page.body.contains("现场勘验，预计 2026-03-10 结束"));
    assert!(
        page.body
            .contains(&format!("{case_url}/tasks/{review}/resume"))
    );
    let resumed = reviewer
        .post(
            &app,
            &format!("{case_url}/tasks/{review}/resume"),
            &[("note", "勘验完成")],
        )
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER, "{}", resumed.body);
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "in_review"
    );
    let page = reviewer.get(&app, &case_url).await;
    assert!(page.body.contains("特别程序结束"));

    // 电子监察: two months on, the sweep marks the case overdue; the supervisor sees it.
    clock.advance(chrono::Duration::days(60));
    state.cases().sweep().await.unwrap();
    // Sessions ended long ago: everyone logs in again.
    let applicant_token = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({ "login": MOBILE_A, "password": PASSWORD })),
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let citizen = session(&app, applicant_token.clone()).await;
    let window = staff(&app, "WB0101").await;
    let both = staff(&app, "WB0102").await;
    let reviewer = staff(&app, "WB0201").await;
    let chief = staff(&app, "WB0301").await;
    let admin = staff(&app, "WB0001").await;
    let supervisor = staff(&app, "WB0401").await;
    let watch = supervisor.get(&app, "/staff/supervision").await;
    assert_eq!(watch.status, StatusCode::OK, "{}", watch.body);
    assert!(watch.body.contains(&case_no));
    assert!(watch.body.contains("已超期"));
    assert!(
        watch.body.contains("合肥市市场监督管理局"),
        "counted per department"
    );
    let overdue = supervisor
        .get(&app, "/staff/supervision?warning=yellow")
        .await;
    assert!(!overdue.body.contains(&case_no));
    let inbox = reviewer.get(&app, "/staff/cases?warning=overdue").await;
    assert!(inbox.body.contains(&case_no));
    assert!(inbox.body.contains(r#"id="count-overdue">1<"#));
    assert!(inbox.body.contains("已超期 ") && inbox.body.contains("wb-due-overdue"));
    let department = admin.get(&app, "/staff/department-cases").await;
    assert_eq!(department.status, StatusCode::OK);
    assert!(department.body.contains(&case_no));

    // Agree; 陈双岗 accepted the case, so may not decide it (受审分离); 赵决定 grants.
    let agreed = reviewer
        .post(
            &app,
            &review_url,
            &[("action", "agree"), ("opinion", "符合条件")],
        )
        .await;
    assert_eq!(agreed.status, StatusCode::SEE_OTHER, "{}", agreed.body);
    let inbox = chief.get(&app, "/staff/cases").await;
    let decide = number_after(&inbox.body, r#"id="task-"#);
    let decide_url = format!("{case_url}/tasks/{decide}/act");
    let separated = both
        .post(
            &app,
            &decide_url,
            &[("action", "grant"), ("opinion", "准予")],
        )
        .await;
    assert_eq!(
        separated.status,
        StatusCode::FORBIDDEN,
        "{}",
        separated.body
    );
    assert!(
        separated
            .body
            .contains("受审分离：受理该办件的人员不能作出审批决定")
    );
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "in_review"
    );
    let granted = chief
        .post(
            &app,
            &decide_url,
            &[("action", "grant"), ("opinion", "准予延续")],
        )
        .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "decided"
    );
    // The window delivers.
    let page = window.get(&app, &case_url).await;
    assert!(page.body.contains("/notices/granted"));
    assert!(page.body.contains(r#"value="conclude""#));
    let deliver = act_task(&page.body[page.body.find("/staff/cases/").unwrap()..]);
    let concluded = window
        .post(
            &app,
            &format!("{case_url}/tasks/{deliver}/act"),
            &[("action", "conclude")],
        )
        .await;
    assert_eq!(
        concluded.status,
        StatusCode::SEE_OTHER,
        "{}",
        concluded.body
    );
    assert_eq!(
        case_status(&app, &applicant_token, &case_no).await,
        "concluded"
    );
    let page = window.get(&app, &case_url).await;
    for step in [
        "受理",
        "一次性告知补正",
        "进入特别程序",
        "同意",
        "准予",
        "办结送达",
    ] {
        assert!(page.body.contains(step), "history lacks {step}");
    }

    // Who may open what.
    assert_eq!(
        citizen.get(&app, "/staff/cases").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        citizen.get(&app, "/staff/counter").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(citizen.get(&app, &wf).await.status, StatusCode::FORBIDDEN);
    let anonymous = get(&app, "/staff/cases").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert!(anonymous.header("location").starts_with("/login?next="));
    assert_eq!(
        reviewer.get(&app, "/staff/supervision").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        reviewer.get(&app, "/staff/counter").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        window.get(&app, "/staff/department-cases").await.status,
        StatusCode::FORBIDDEN
    );
    let foreign = citizen
        .post(
            &app,
            &format!("{case_url}/tasks/{decide}/act"),
            &[("action", "grant"), ("opinion", "x")],
        )
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::FORBIDDEN,
        "staff pages are not for citizens"
    );
    // The workspace links to the pages each staff member may use.
    let workspace = window.get(&app, "/staff/departments/hf-scjgj").await;
    assert!(workspace.body.contains(r#"id="wb-inbox-link""#));
    assert!(workspace.body.contains(r#"id="wb-counter-link""#));
    assert!(!workspace.body.contains(r#"id="wb-supervision-link""#));
    let workspace = supervisor.get(&app, "/staff/departments/hf-scjgj").await;
    assert!(workspace.body.contains(r#"id="wb-supervision-link""#));
    assert!(!workspace.body.contains(r#"id="wb-counter-link""#));
}

db_test!(counter_registration_with_receipt);

async fn counter_registration_with_receipt(t: &TestDb) {
    let clock = TestClock::new(t0());
    let state = state_with_clock(t, WebConfig::default(), &clock).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id;
    state
        .cases()
        .publish_workflow(
            &Principal::System,
            item,
            &yiwang_cases::WorkflowDef::from_toml(WORKFLOW).unwrap(),
            &yiwang_cases::Origin::default(),
        )
        .await
        .unwrap();
    let app = app(state.clone());
    // The person is registered (online) but comes to the hall.
    person_token(&t.db, &app, "李娜", RID_B, MOBILE_B).await;
    let window = staff(&app, "WB0101").await;

    let start = window.get(&app, "/staff/counter").await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    assert!(
        start
            .body
            .contains(&format!(r#"<option value="{}""#, item.get()))
    );
    // An unregistered person, then a bad identifier: clear messages.
    let unknown = window
        .post(
            &app,
            "/staff/counter",
            &[("resident_id", RID_A), ("item", &item.get().to_string())],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown.body.contains("该身份证号尚未注册"));
    let bad = window
        .post(
            &app,
            "/staff/counter",
            &[
                ("resident_id", "340104199003071234"),
                ("item", &item.get().to_string()),
            ],
        )
        .await;
    assert!(bad.body.contains("身份证号码不正确"));
    let form = window
        .post(
            &app,
            "/staff/counter",
            &[("resident_id", RID_B), ("item", &item.get().to_string())],
        )
        .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("经营者名称"));
    assert!(
        form.body.contains("3401**********1235"),
        "the identifier is shown masked"
    );
    assert!(form.body.contains(r#"name="material.0""#));

    let guide = state.catalog().guide(item, None).await.unwrap();
    let files: Vec<(String, String, &[u8])> = guide
        .version
        .content
        .materials
        .iter()
        .enumerate()
        .filter(|(_, m)| m.mandatory)
        .map(|(i, m)| {
            (
                format!("material.{i}"),
                format!("{}.pdf", m.name),
                &b"%PDF-1.7 counter"[..],
            )
        })
        .collect();
    let rid = RID_B.to_owned();
    let item_text = item.get().to_string();
    // The answer missing: the form again with the message at the field.
    let missing = window
        .multipart(
            &app,
            "/staff/counter/register",
            &[
                ("resident_id", &rid),
                ("item", &item_text),
                ("f.operator", ""),
            ],
            &files,
        )
        .await;
    assert_eq!(
        missing.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        missing.body
    );
    assert!(missing.body.contains("此项必填"));
    // Without the files: the missing materials are named.
    let no_files = window
        .multipart(
            &app,
            "/staff/counter/register",
            &[
                ("resident_id", &rid),
                ("item", &item_text),
                ("f.operator", "庐阳小厨"),
            ],
            &[],
        )
        .await;
    assert_eq!(no_files.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_files.body.contains("还缺少必需的申请材料"));
    let registered = window
        .multipart(
            &app,
            "/staff/counter/register",
            &[
                ("resident_id", &rid),
                ("item", &item_text),
                ("f.operator", "庐阳小厨"),
            ],
            &files,
        )
        .await;
    assert_eq!(
        registered.status,
        StatusCode::SEE_OTHER,
        "{}",
        registered.body
    );
    let receipt = window.get(&app, registered.header("location")).await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
    let case_no = {
        let marker = r#"id="receipt-case-no">"#;
        let start = receipt.body.find(marker).unwrap() + marker.len();
        receipt.body[start..start + receipt.body[start..].find('<').unwrap()].to_owned()
    };
    let code = {
        let marker = r#"id="receipt-query-code">"#;
        let start = receipt.body.find(marker).unwrap() + marker.len();
        receipt.body[start..start + receipt.body[start..].find('<').unwrap()].to_owned()
    };
    assert!(case_no.starts_with("340100"), "{case_no}");
    assert_eq!(code.len(), 8, "{code}");
    // The code works for the public progress query; the case is in the window's inbox.
    let progress = get(
        &app,
        &format!("/api/v1/progress?case_no={case_no}&code={code}"),
    )
    .await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.body);
    let inbox = window.get(&app, "/staff/cases").await;
    assert!(inbox.body.contains(&case_no));
    let page = window.get(&app, &format!("/staff/cases/{case_no}")).await;
    assert!(page.body.contains("窗口收件"));
    // Another clerk does not get the receipt (and its query code).
    let other = staff(&app, "WB0102").await;
    assert_eq!(
        other.get(&app, registered.header("location")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The workbench lists read at most page 1000 (20 rows a page); a page beyond is refused with 422,
/// not silently replaced by the first.
async fn workbench_lists_refuse_pages_beyond_the_last(t: &TestDb) {
    let clock = TestClock::new(t0());
    let state = state_with_clock(t, WebConfig::default(), &clock).await;
    seed(&state).await;
    let app = app(state);
    let window = staff(&app, "WB0101").await;
    let admin = staff(&app, "WB0001").await;
    let citizen = session(
        &app,
        person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await,
    )
    .await;
    for (who, uri) in [
        (&window, "/staff/cases?page=1001"),
        (&admin, "/staff/department-cases?page=1001"),
        (&citizen, "/my/cases?page=1001"),
        (&window, "/staff/cases?page=4294967295"),
    ] {
        let r = who.get(&app, uri).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.body
        );
    }
    for (who, uri) in [
        (&window, "/staff/cases?page=1000"),
        (&admin, "/staff/department-cases?page=1000"),
        (&citizen, "/my/cases?page=1000"),
    ] {
        let r = who.get(&app, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    }
    let long = "案".repeat(101);
    let r = window
        .get(&app, &format!("/staff/cases?q={}", encode_component(&long)))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}
