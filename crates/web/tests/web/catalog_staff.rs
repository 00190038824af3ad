//! The staff pages of the service catalog, on both backends: draft, edit, submit, the second person's
//! review, the department boundary, template uploads and the platform administrator's import.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use yiwang_catalog::model::{ItemContent, ItemId, ItemRecord, VersionState};
use yiwang_catalog::transfer::{self, Format};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{ClientMeta, NewStaff, RawNewStaff, Role, StaffId};
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::RegionCode;
use yiwang_web::portal::catalog_staff::ContentForm;
use yiwang_web::prefs::encode_component;
use yiwang_web::{AppState, app};

use crate::accounts::PASSWORD;
use crate::support::{Reply, get_with, send, state};

const ITEMS: &str = include_str!("../../../demo/data/catalog/items.json");

/// A demo item of 合肥市市场监督管理局, without template files (none are uploaded in the test).
fn demo_record() -> Value {
    let items: Vec<Value> = serde_json::from_str(ITEMS).unwrap();
    let mut record = items
        .into_iter()
        .find(|r| r["department"] == "hf-scjgj")
        .unwrap();
    record["department"] = json!("hf-scjgj");
    for m in record["materials"].as_array_mut().unwrap() {
        m["template"] = Value::Null;
        m["sample"] = Value::Null;
    }
    record
}

async fn seed_staff(
    state: &AppState,
    (department, no, name): (&str, &str, &str),
    mobile: &str,
    role: &str,
) {
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: name.into(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
        roles: vec![role.to_owned()],
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

/// A logged-in staff member: the session cookie and the session's CSRF token.
struct Staff {
    cookie: String,
    csrf: String,
}

async fn login(app: &axum::Router, no: &str) -> Staff {
    let r = send(
        app,
        Request::post("/api/v1/staff/login")
            .header("content-type", "application/json")
            .body(Body::from(
                json!({ "employee_no": no, "password": PASSWORD }).to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let cookie = format!("yw_session={}", r.json()["token"].as_str().unwrap());
    // Every page of a logged-in user carries the session's token (the header's log-out form).
    let home = get_with(app, "/", &[("cookie", &cookie)]).await;
    let csrf = csrf_of(&home.body).unwrap();
    Staff { cookie, csrf }
}

fn csrf_of(html: &str) -> Option<String> {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_owned())
}

impl Staff {
    async fn get(&self, app: &axum::Router, uri: &str) -> Reply {
        get_with(app, uri, &[("cookie", &self.cookie)]).await
    }

    /// Post a form; the session's CSRF token is added.
    async fn post(&self, app: &axum::Router, uri: &str, fields: &[(&str, String)]) -> Reply {
        let body = std::iter::once(("csrf", &self.csrf))
            .chain(fields.iter().map(|(k, v)| (*k, v)))
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

    /// Post a multipart form with one file.
    async fn upload(
        &self,
        app: &axum::Router,
        uri: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: &[u8],
    ) -> Reply {
        let boundary = "yiwangBoundary7MA4YWxk";
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
        part(
            format!(
                "Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream"
            ),
            bytes,
        );
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

/// The fields the draft form posts for a content.
fn form_fields(form: &ContentForm, change_note: &str) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("name", form.name.clone()),
        ("short_name", form.short_name.clone()),
        ("base_code", form.base_code.clone()),
        ("kind", form.kind.clone()),
        ("level", form.level.clone()),
        ("legal_basis", form.legal_basis.clone()),
        ("conditions", form.conditions.clone()),
        ("materials", form.materials.clone()),
        ("legal_limit", form.legal_limit.clone()),
        ("legal_unit", form.legal_unit.clone()),
        ("promised_limit", form.promised_limit.clone()),
        ("promised_unit", form.promised_unit.clone()),
        ("case_type", form.case_type.clone()),
        ("fees", form.fees.clone()),
        ("visits", form.visits.clone()),
        ("place", form.place.clone()),
        ("hours", form.hours.clone()),
        ("phone", form.phone.clone()),
        ("faq", form.faq.clone()),
        ("result", form.result.clone()),
        ("status", form.status.clone()),
        ("keywords", form.keywords.clone()),
        ("change_note", change_note.to_owned()),
    ];
    for (key, values) in [
        ("audience", &form.audience),
        ("themes", &form.themes),
        ("handling_forms", &form.handling_forms),
        ("online_depth", &form.online_depth),
    ] {
        fields.extend(values.iter().map(|v| (key, v.clone())));
    }
    for (key, on) in [
        ("appointment", form.appointment),
        ("postal_delivery", form.postal_delivery),
        ("small_business", form.small_business),
    ] {
        if on {
            fields.push((key, "1".to_owned()));
        }
    }
    fields
}

/// Someone who may read every item (authorization looks at roles only).
fn platform_admin() -> Principal {
    Principal::Staff(StaffPrincipal {
        id: StaffId::new(1),
        public_id: "test".into(),
        department: DepartmentId::new(1),
        region: RegionCode::parse("340100").unwrap(),
        roles: vec![Role::PlatformAdmin],
    })
}

async fn open_version(state: &AppState, id: ItemId) -> (VersionState, ItemContent) {
    let (_, versions) = state
        .catalog()
        .staff_item(&platform_admin(), id)
        .await
        .unwrap();
    let v = versions.into_iter().find(|v| v.state.is_open()).unwrap();
    (v.state, v.content)
}

async fn seeded(t: &TestDb) -> (AppState, axum::Router, ItemId, String) {
    let state = state(t).await;
    seed_staff(
        &state,
        ("hf-scjgj", "SC0201", "王审批"),
        "13900000201",
        "approver",
    )
    .await;
    seed_staff(
        &state,
        ("hf-scjgj", "SC0001", "李管理"),
        "13900000001",
        "department_admin",
    )
    .await;
    seed_staff(
        &state,
        ("hf-mzj", "MZ0001", "赵民政"),
        "13900000002",
        "department_admin",
    )
    .await;
    seed_staff(
        &state,
        ("hf-mzj", "PA0001", "钱平台"),
        "13900000003",
        "platform_admin",
    )
    .await;
    // The fixture may already hold the demo items of its departments; import the one used here if not.
    let record = demo_record();
    let impl_code = record["impl_code"].as_str().unwrap().to_owned();
    if state.catalog().item_by_impl_code(&impl_code).await.is_err() {
        let bytes = serde_json::to_vec(&json!([record])).unwrap();
        state
            .catalog()
            .import(
                &Principal::System,
                Format::Json,
                &bytes,
                &yiwang_catalog::Origin::default(),
            )
            .await
            .unwrap();
    }
    let id = state
        .catalog()
        .item_by_impl_code(&impl_code)
        .await
        .unwrap()
        .id;
    let app = app(state.clone());
    (state, app, id, impl_code)
}

async fn draft_review_and_publish(t: &TestDb) {
    let (state, app, id, impl_code) = seeded(t).await;
    let editor = login(&app, "SC0201").await;
    let item_uri = format!("/staff/catalog/{id}");
    let next = state
        .catalog()
        .item(id)
        .await
        .unwrap()
        .current_version
        .unwrap()
        + 1;

    let list = editor.get(&app, "/staff/catalog").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("企业设立登记") && list.body.contains(&impl_code));
    assert!(list.body.contains(r#"href="/staff/catalog/new""#));
    assert!(
        !list.body.contains(r#"id="transfer-link""#),
        "import is for platform admins"
    );

    // Draft a new version; the edit form shows the lists one entry per line.
    let drafted = editor.post(&app, &format!("{item_uri}/draft"), &[]).await;
    assert_eq!(drafted.status, StatusCode::SEE_OTHER, "{}", drafted.body);
    assert_eq!(
        drafted.header("location"),
        format!("{item_uri}/edit?drafted=1")
    );
    let edit = editor.get(&app, &format!("{item_uri}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(
        edit.body.contains("公司章程 | 申请人 | 1 | 0 | 是"),
        "materials as lines"
    );
    assert!(
        edit.body
            .contains(r#"<label for="materials">申请材料</label>"#)
    );
    let (_, before) = open_version(&state, id).await;

    // A bad line is named, nothing is saved and the input stays in the form.
    let mut form = ContentForm::from_content(&before, "是", "否");
    let good_materials = format!(
        "{}\n委托书 | 申请人 | 1 | 0 | 否 | 委托他人办理时提交",
        form.materials
    );
    form.conditions.push_str("另：可全程网办。");
    let mut bad_form = form.clone();
    bad_form.materials = format!("{good_materials}\n营业执照 | 申请人 | 两 | 0");
    bad_form.phone = String::new();
    let bad_line = before.materials.len() + 2;
    let bad = editor
        .post(
            &app,
            &format!("{item_uri}/edit"),
            &form_fields(&bad_form, "补充委托书"),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(&format!("申请材料第 {bad_line} 行：")),
        "{}",
        bad.body
    );
    assert!(
        bad.body.contains("咨询电话：请填写咨询电话"),
        "the content's rules are checked in the same round"
    );
    assert!(bad.body.contains("另：可全程网办。"), "the input is kept");
    assert_eq!(open_version(&state, id).await.1, before, "nothing changed");

    form.materials = good_materials;
    let saved = editor
        .post(
            &app,
            &format!("{item_uri}/edit"),
            &form_fields(&form, "补充委托书"),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let (_, after) = open_version(&state, id).await;
    assert!(after.conditions.ends_with("另：可全程网办。"));
    assert_eq!(after.materials.len(), before.materials.len() + 1);

    // A template for the new material; files of other types are refused in the page.
    let index = after.materials.len();
    let refused = editor
        .upload(
            &app,
            &format!("{item_uri}/materials/{index}/template"),
            &[],
            "x.exe",
            b"MZ",
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("不接受该类型的文件"),
        "{}",
        refused.body
    );
    let uploaded = editor
        .upload(
            &app,
            &format!("{item_uri}/materials/{index}/template"),
            &[],
            "委托书.pdf",
            b"%PDF-1.4 test",
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let (_, with_file) = open_version(&state, id).await;
    assert_eq!(
        with_file.materials[index - 1]
            .template
            .as_ref()
            .map(|f| f.name.as_str()),
        Some("委托书.pdf")
    );

    let submitted = editor.post(&app, &format!("{item_uri}/submit"), &[]).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let page = editor.get(&app, &format!("{item_uri}?submitted=1")).await;
    assert!(page.body.contains("待审核"));
    assert!(
        !page.body.contains(r#"id="review-form""#),
        "no review form for the author"
    );

    // The author cannot approve their own version: told so, and it stays in review.
    let own = editor
        .post(
            &app,
            &format!("{item_uri}/review"),
            &[
                ("decision", "approve".into()),
                ("effective_from", "2026-02-13".into()),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(own.body.contains("不能审核自己起草的版本"), "{}", own.body);
    assert_eq!(open_version(&state, id).await.0, VersionState::InReview);

    // Another department's staff cannot see or act on the item.
    let other = login(&app, "MZ0001").await;
    assert_eq!(
        other.get(&app, &item_uri).await.status,
        StatusCode::FORBIDDEN
    );
    let other_list = other.get(&app, "/staff/catalog").await;
    assert!(!other_list.body.contains("企业设立登记"));
    let forbidden = other
        .post(
            &app,
            &format!("{item_uri}/review"),
            &[("decision", "approve".into())],
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(open_version(&state, id).await.0, VersionState::InReview);

    // The department administrator sees it in the queue, reads the difference and publishes.
    let admin = login(&app, "SC0001").await;
    let queue = admin.get(&app, "/staff/catalog").await;
    let queue_part = &queue.body
        [queue.body.find("queue-title").unwrap()..queue.body.find("items-title").unwrap()];
    assert!(
        queue_part.contains(&format!(r#"href="{item_uri}""#)),
        "{queue_part}"
    );
    let review = admin.get(&app, &item_uri).await;
    assert!(review.body.contains(r#"id="review-form""#));
    assert!(review.body.contains("受理条件") && review.body.contains("另：可全程网办。"));
    assert!(
        review
            .body
            .contains("委托书（1/0，非必要） — 申请人 — 委托他人办理时提交")
    );
    assert!(
        review.body.contains(r#"type="date" value="2026-02-13""#),
        "defaults to today"
    );
    let no_note = admin
        .post(
            &app,
            &format!("{item_uri}/review"),
            &[("decision", "reject".into()), ("note", " ".into())],
        )
        .await;
    assert_eq!(no_note.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_note.body.contains("退回时请写明原因"));
    let past = admin
        .post(
            &app,
            &format!("{item_uri}/review"),
            &[
                ("decision", "approve".into()),
                ("effective_from", "2026-02-12".into()),
            ],
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.body.contains("生效日期不能早于今天"));
    assert_eq!(open_version(&state, id).await.0, VersionState::InReview);
    let published = admin
        .post(
            &app,
            &format!("{item_uri}/review"),
            &[
                ("decision", "approve".into()),
                ("effective_from", "2026-02-13".into()),
                ("note", "同意".into()),
            ],
        )
        .await;
    assert_eq!(
        published.status,
        StatusCode::SEE_OTHER,
        "{}",
        published.body
    );
    assert_eq!(
        published.header("location"),
        format!("{item_uri}?published={next}")
    );
    let item = state.catalog().item(id).await.unwrap();
    assert_eq!(item.current_version, Some(next));
    let page = admin
        .get(&app, &format!("{item_uri}?published={next}"))
        .await;
    assert!(page.body.contains("第 2 版已发布"), "{}", page.body);
    assert!(page.body.contains("同意"));
}
db_test!(draft_review_and_publish);

async fn import_lists_every_bad_row(t: &TestDb) {
    let (state, app, _, _) = seeded(t).await;
    let window = login(&app, "SC0001").await;
    assert_eq!(
        window.get(&app, "/staff/catalog/transfer").await.status,
        StatusCode::FORBIDDEN
    );
    let admin = login(&app, "PA0001").await;
    let page = admin.get(&app, "/staff/catalog/transfer").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(r#"href="/staff/catalog/export?format=csv""#)
    );
    let csv = admin.get(&app, "/staff/catalog/export?format=csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.body.contains("企业设立登记"));

    let good: ItemRecord = serde_json::from_value(demo_record()).unwrap();
    let mut fresh = good.clone();
    fresh.impl_code = "TEST0001".into();
    fresh.content.name = "测试事项".into();
    let mut bad = good.clone();
    bad.impl_code = "TEST0002".into();
    bad.content.base_code = "123".into();
    let file = transfer::write(Format::Csv, &[fresh.clone(), bad]).unwrap();
    let rejected = admin
        .upload(
            &app,
            "/staff/catalog/transfer",
            &[("format", "")],
            "catalog.csv",
            &file,
        )
        .await;
    assert_eq!(rejected.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        rejected.body.contains("本次未导入任何事项"),
        "{}",
        rejected.body
    );
    assert!(rejected.body.contains("TEST0002") && rejected.body.contains("基本编码"));
    assert!(
        !rejected
            .body
            .contains("<td class=\"mono sc-code\" data-label=\"实施编码\">TEST0001")
    );
    assert!(
        state.catalog().item_by_impl_code("TEST0001").await.is_err(),
        "nothing imported"
    );

    let file = transfer::write(Format::Csv, &[fresh, good.clone()]).unwrap();
    let imported = admin
        .upload(
            &app,
            "/staff/catalog/transfer",
            &[("format", "")],
            "catalog.csv",
            &file,
        )
        .await;
    assert_eq!(imported.status, StatusCode::SEE_OTHER, "{}", imported.body);
    let report = admin.get(&app, imported.header("location")).await;
    assert!(report.body.contains("新建 1 项"), "{}", report.body);
    assert!(state.catalog().item_by_impl_code("TEST0001").await.is_ok());

    // A platform administrator creates an item for any department; a taken code is explained.
    let new = admin.get(&app, "/staff/catalog/new").await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(
        new.body
            .contains(r#"<select id="department" name="department">"#)
    );
    let form = ContentForm::from_content(&good.content, "是", "否");
    let mut fields = form_fields(&form, "");
    fields.push(("impl_code", "TEST0100".into()));
    fields.push(("department", "hf-mzj".into()));
    let created = admin.post(&app, "/staff/catalog/new", &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let item = state.catalog().item_by_impl_code("TEST0100").await.unwrap();
    assert_eq!(item.department_code, "hf-mzj");
    assert_eq!(
        created.header("location"),
        format!("/staff/catalog/{}?created=1", item.id)
    );
    let page = admin.get(&app, created.header("location")).await;
    assert!(page.body.contains("事项已创建") && page.body.contains("该事项尚未发布过"));
    let again = admin.post(&app, "/staff/catalog/new", &fields).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("该实施编码已被使用"), "{}", again.body);
}
db_test!(import_lists_every_bad_row);
