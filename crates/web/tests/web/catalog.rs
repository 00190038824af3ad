//! The public catalog over HTTP: the items API (search, filters, errors), an item, its guide and
//! versions, life events, template downloads, and the pages that show them.

use axum::http::StatusCode;
use yiwang_catalog::Origin;
use yiwang_catalog::model::{FileRef, ItemRecord, LifeEventRecord};
use yiwang_catalog::transfer::Format;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_web::{AppState, app};

use crate::support::{get, get_with, state};

const MARRIAGE: &str = "07010000100134010011340100MB6481191H";

/// Attach a template file to a material of an item (a new published version, as an import makes).
pub async fn attach_template(
    state: &AppState,
    impl_code: &str,
    material: usize,
    name: &str,
    text: &str,
) -> FileRef {
    let catalog = state.catalog();
    let file = catalog
        .upload_file(
            &Principal::System,
            name,
            text.as_bytes(),
            &Origin::default(),
        )
        .await
        .expect("upload");
    let exported: Vec<ItemRecord> =
        serde_json::from_slice(&catalog.export(Format::Json).await.expect("export"))
            .expect("records");
    let mut record = exported
        .into_iter()
        .find(|r| r.impl_code == impl_code)
        .expect("item exists");
    record.content.materials[material].template = Some(file.clone());
    let bytes = serde_json::to_vec(&vec![record]).expect("json");
    let report = catalog
        .import(&Principal::System, Format::Json, &bytes, &Origin::default())
        .await
        .expect("import");
    assert_eq!(report.updated, 1);
    file
}

async fn item_id(state: &AppState, impl_code: &str) -> i64 {
    state
        .catalog()
        .item_by_impl_code(impl_code)
        .await
        .expect("item")
        .id
        .get()
}

async fn items_api_searches_filters_and_explains_errors(t: &TestDb) {
    let app = app(state(t).await);
    let found = get(&app, "/api/v1/items?q=jhdj&page_size=5").await;
    assert_eq!(found.status, StatusCode::OK);
    let body = found.json();
    assert_eq!(body["items"][0]["name"], "内地居民结婚登记");
    assert!(body["items"][0]["id"].is_i64());
    assert_eq!(
        body["items"][0]["impl_code"].as_str().map(str::len),
        Some(36)
    );
    assert_eq!(body["items"][0]["department"], "合肥市民政局");
    assert!(body["total"].as_u64().unwrap() >= 2);

    let colloquial = get(&app, "/api/v1/items?q=%E5%BC%80%E9%A5%AD%E5%BA%97")
        .await
        .json(); // 开饭店
    let names: Vec<&str> = colloquial["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert!(
        names.iter().take(3).any(|n| n.starts_with("食品经营许可")),
        "{names:?}"
    );

    let all = get(&app, "/api/v1/items?page_size=100").await.json();
    assert_eq!(all["total"], 30);
    let person = get(
        &app,
        "/api/v1/items?audience=person&theme=marriage&page_size=100",
    )
    .await
    .json();
    assert!(person["total"].as_u64().unwrap() >= 2);
    for item in person["items"].as_array().unwrap() {
        assert!(
            item["themes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == "marriage")
        );
        assert!(
            item["audience"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "1")
        );
    }
    let page2 = get(&app, "/api/v1/items?page=2&page_size=20").await.json();
    assert_eq!(page2["items"].as_array().unwrap().len(), 10);
    assert_eq!(page2["page"], 2);

    for (query, field) in [
        ("audience=alien", "audience"),
        ("level=9", "level"),
        ("theme=nonsense", "theme"),
        ("online=maybe", "online"),
        ("page=0", "page"),
        // Once aborted the process: the search collector reserved a buffer for 4 billion pages.
        ("page=4294967295", "page"),
        ("page=1001", "page"),
        ("page_size=1000", "page"),
        ("page=x", "page"),
    ] {
        let bad = get_with(
            &app,
            &format!("/api/v1/items?{query}"),
            &[("accept-language", "en")],
        )
        .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(bad.json()["error"]["field"], field, "{query}");
        assert!(!bad.json()["error"]["message"].as_str().unwrap().is_empty());
    }

    // The same bound on the search page, with or without text; the node keeps serving.
    for path in [
        "/search?page=4294967295",
        "/search?q=%E7%BB%93%E5%A9%9A&page=4294967295",
    ] {
        let bad = get(&app, path).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    assert_eq!(get(&app, "/search?page=1000").await.status, StatusCode::OK);

    let suggestions = get(&app, "/api/v1/items/suggest?q=jh").await.json();
    assert!(
        suggestions
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "内地居民结婚登记")
    );
    assert_eq!(
        get(&app, "/api/v1/items/suggest?q=").await.json(),
        serde_json::json!([])
    );
}
db_test!(items_api_searches_filters_and_explains_errors);

async fn an_item_its_guide_and_its_versions(t: &TestDb) {
    let state = state(t).await;
    let file = attach_template(
        &state,
        MARRIAGE,
        1,
        "申请结婚登记声明书.txt",
        "申请结婚登记声明书\n",
    )
    .await;
    let id = item_id(&state, MARRIAGE).await;
    let app = app(state);

    let item = get(&app, &format!("/api/v1/items/{id}")).await;
    assert_eq!(item.status, StatusCode::OK);
    let item = item.json();
    assert_eq!(item["version"], 2);
    assert_eq!(item["in_effect"], true);
    assert_eq!(item["content"]["name"], "内地居民结婚登记");
    assert_eq!(item["content"]["kind"], "07");
    let first = get(&app, &format!("/api/v1/items/{id}?version=1"))
        .await
        .json();
    assert_eq!(first["version"], 1);
    assert_eq!(first["in_effect"], false);
    assert!(first["content"]["materials"][1]["template"].is_null());
    assert_eq!(
        get(&app, &format!("/api/v1/items/{id}?version=9"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/v1/items/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/api/v1/items/abc").await.status,
        StatusCode::NOT_FOUND
    );

    let guide = get_with(
        &app,
        &format!("/api/v1/items/{id}/guide"),
        &[("accept-language", "en")],
    )
    .await
    .json();
    assert_eq!(guide["kind"], "Administrative confirmation");
    assert_eq!(guide["case_type"], "Decided on the spot");
    let url = guide["materials"][1]["template_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with(&format!("/files/{}/", file.digest)));
    let zh = get(&app, &format!("/api/v1/items/{id}/guide")).await.json();
    assert_eq!(zh["kind"], "行政确认");

    let versions = get(&app, &format!("/api/v1/items/{id}/versions"))
        .await
        .json();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    assert_eq!(versions[0]["version"], 2);
    let diff = get(&app, &format!("/api/v1/items/{id}/diff?from=1&to=2"))
        .await
        .json();
    assert_eq!(diff[0]["field"], "materials");
    assert!(
        diff[0]["after"]
            .as_str()
            .unwrap()
            .contains("申请结婚登记声明书.txt")
    );
    assert_eq!(
        get(&app, &format!("/api/v1/items/{id}/diff?from=1"))
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The template downloads with its name; unknown digests are 404.
    let download = get(&app, &url).await;
    assert_eq!(download.status, StatusCode::OK);
    assert!(
        download
            .header("content-disposition")
            .starts_with("attachment;")
    );
    assert!(
        download
            .header("content-disposition")
            .contains("filename*=UTF-8''")
    );
    assert_eq!(download.body, "申请结婚登记声明书\n");
    assert_eq!(
        get(&app, &format!("/files/{}/x.txt", "0".repeat(64)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/files/nothex/x.txt").await.status,
        StatusCode::NOT_FOUND
    );

    // The guide page: printable, materials with the template link, history with the readable diff.
    let page = get(&app, &format!("/items/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        "办事指南",
        "内地居民结婚登记",
        "男女双方完全自愿",
        "本人有效居民身份证",
        "空白表格",
        "data-print",
        "合肥市民政局",
    ] {
        assert!(page.body.contains(expected), "{expected} missing");
    }
    let old = get(&app, &format!("/items/{id}?version=1")).await;
    assert!(old.body.contains("您正在查看历史版本"));
    let history = get(&app, &format!("/items/{id}/versions")).await;
    assert!(history.body.contains("申请材料") && history.body.contains("申请结婚登记声明书.txt"));
    assert_eq!(
        get(&app, "/items/999999").await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(an_item_its_guide_and_its_versions);

async fn pages_to_find_services(t: &TestDb) {
    let state = state(t).await;
    state
        .catalog()
        .import_life_events(
            &Principal::System,
            &[LifeEventRecord {
                code: "hardship".to_owned(),
                name: "困难救助一件事".to_owned(),
                description: "生活困难的家庭一次申请，同时审核低保和临时救助。".to_owned(),
                items: vec![
                    "05010000200034010011340100MB6481191H".to_owned(),
                    "05010000400034010011340100MB6481191H".to_owned(),
                ],
                audience: vec![yiwang_catalog::model::AudienceType::NaturalPerson],
            }],
            &Origin::default(),
        )
        .await
        .expect("life event");
    let app = app(state);
    let search = get(&app, "/search?q=%E5%BC%80%E9%A5%AD%E5%BA%97").await; // 开饭店
    assert_eq!(search.status, StatusCode::OK);
    assert!(search.body.contains("食品经营许可"));
    assert!(
        search.body.contains("同时为您查找了"),
        "the synonym is shown"
    );
    let none = get(&app, "/search?q=%E7%81%AB%E6%98%9F%E7%AD%BE%E8%AF%81").await; // 火星签证
    assert!(none.body.contains("没有找到相关结果"));
    let filtered = get(&app, "/search?theme=food&audience=legal").await;
    assert!(
        filtered.body.contains(">食品经营许可（新办）<")
            && !filtered.body.contains(">内地居民结婚登记<")
    );
    assert_eq!(
        get(&app, "/search?audience=alien").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let paged = get(&app, "/search?page=2&page_size=10").await;
    assert!(paged.body.contains("aria-current=\"page\">2<"));

    let home = get(&app, "/").await;
    assert!(
        home.body
            .contains("/search?theme=marriage&amp;audience=person")
    );
    assert!(home.body.contains("/life-events/hardship") && home.body.contains("困难救助一件事"));
    let events = get(&app, "/life-events").await;
    assert!(events.body.contains("困难救助一件事"));
    let event = get(&app, "/life-events/hardship").await;
    assert_eq!(event.status, StatusCode::OK);
    assert!(event.body.contains("最低生活保障审核确认") && event.body.contains("临时救助"));
    assert!(event.body.contains("只需提交一次"));
    assert_eq!(
        get(&app, "/life-events/nonsense").await.status,
        StatusCode::NOT_FOUND
    );
    let api = get(&app, "/api/v1/life-events/hardship").await.json();
    assert_eq!(api["items"].as_array().unwrap().len(), 2);

    let zone = get(&app, "/small-business").await;
    assert!(zone.body.contains("小微企业专区") && zone.body.contains("个体工商户设立登记"));
    let department = get(&app, "/departments/hf-mzj").await;
    assert!(department.body.contains("内地居民结婚登记"));
    let english = get_with(&app, "/search?q=jhdj", &[("accept-language", "en")]).await;
    assert!(english.body.contains("Decided within") || english.body.contains("On the spot"));
}
db_test!(pages_to_find_services);

async fn staff_work_on_the_catalog_over_the_api(t: &TestDb) {
    use crate::staff::{call, seed_staff, staff_token};
    use serde_json::json;
    let state = state(t).await;
    seed_staff(&state, "hf-scjgj", "SCA201", "13900005001", &["approver"]).await;
    seed_staff(
        &state,
        "hf-scjgj",
        "SCA001",
        "13900005002",
        &["department_admin"],
    )
    .await;
    seed_staff(
        &state,
        "hf-mzj",
        "PLA001",
        "13900005003",
        &["platform_admin"],
    )
    .await;
    let food = item_id(&state, "01120000300134010011340100MB8434305B").await;
    let app = app(state);
    let editor = staff_token(&app, "SCA201").await;
    let admin = staff_token(&app, "SCA001").await;
    let platform = staff_token(&app, "PLA001").await;

    let anonymous = call(
        &app,
        "POST",
        &format!("/api/v1/items/{food}/draft"),
        None,
        None,
    )
    .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let draft = call(
        &app,
        "POST",
        &format!("/api/v1/items/{food}/draft"),
        Some(&editor),
        None,
    )
    .await;
    assert_eq!(draft.status, StatusCode::OK, "{}", draft.body);
    assert_eq!(draft.json()["version"], 2);
    assert_eq!(draft.json()["state"], "draft");

    let current = get(&app, &format!("/api/v1/items/{food}")).await.json();
    let mut content = current["content"].clone();
    content["promised_limit"] = json!({ "amount": 30, "unit": "working_days" });
    let bad = call(
        &app,
        "PUT",
        &format!("/api/v1/items/{food}/draft"),
        Some(&editor),
        Some(json!({ "content": content })),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["error"]["code"], "item_promise_exceeds_law");
    content["promised_limit"] = json!({ "amount": 3, "unit": "working_days" });
    content["name"] = json!("食品经营许可（新办，承诺3日）");
    let saved = call(
        &app,
        "PUT",
        &format!("/api/v1/items/{food}/draft"),
        Some(&editor),
        Some(json!({ "content": content, "change_note": "压缩时限" })),
    )
    .await;
    assert_eq!(saved.status, StatusCode::NO_CONTENT, "{}", saved.body);
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("/api/v1/items/{food}/submit"),
            Some(&editor),
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    let own = call(
        &app,
        "POST",
        &format!("/api/v1/items/{food}/approve"),
        Some(&editor),
        Some(json!({})),
    )
    .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert_eq!(own.json()["error"]["code"], "self_review");
    let past = call(
        &app,
        "POST",
        &format!("/api/v1/items/{food}/approve"),
        Some(&admin),
        Some(json!({ "effective_from": "2020-01-01" })),
    )
    .await;
    assert_eq!(past.json()["error"]["code"], "effective_in_past");
    let published = call(
        &app,
        "POST",
        &format!("/api/v1/items/{food}/approve"),
        Some(&admin),
        Some(json!({ "note": "同意" })),
    )
    .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert_eq!(published.json()["version"], 2);
    let found = get(&app, "/api/v1/items?q=%E6%89%BF%E8%AF%BA3%E6%97%A5")
        .await
        .json(); // 承诺3日
    assert_eq!(found["items"][0]["name"], "食品经营许可（新办，承诺3日）");
    assert_eq!(found["items"][0]["time_limit"], "3 working_days");

    // A new item of the department; the same code again is a conflict.
    let mut new_item = content.clone();
    new_item["name"] = json!("食品经营许可（仅销售预包装食品备案）");
    let body = json!({ "impl_code": "01120000309934010011340100MB8434305B", "department": "hf-scjgj", "content": new_item });
    let created = call(
        &app,
        "POST",
        "/api/v1/items",
        Some(&editor),
        Some(body.clone()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(
        call(&app, "POST", "/api/v1/items", Some(&editor), Some(body))
            .await
            .status,
        StatusCode::CONFLICT
    );
    let elsewhere = json!({ "impl_code": "01120000309834010011340100MB8434305B", "department": "hf-mzj", "content": new_item });
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/v1/items",
            Some(&editor),
            Some(elsewhere)
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );

    // Import and export are for platform administrators; a bad file lists its rows.
    let csv = "impl_code,department,name\nX1,hf-nowhere,测试事项\n";
    let forbidden = call(
        &app,
        "POST",
        "/api/v1/catalog/import?format=csv",
        Some(&editor),
        None,
    )
    .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let request = axum::http::Request::post("/api/v1/catalog/import?format=csv")
        .header("authorization", format!("Bearer {platform}"))
        .body(axum::body::Body::from(csv))
        .unwrap();
    let rejected = crate::support::send(&app, request).await;
    assert_eq!(
        rejected.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        rejected.body
    );
    let rows = rejected.json()["rows"].clone();
    assert_eq!(rows[0]["row"], 1);
    assert_eq!(rows[0]["code"], "row_unreadable");
    assert!(!rows[0]["message"].as_str().unwrap().is_empty());
    let export = call(
        &app,
        "GET",
        "/api/v1/catalog/export?format=csv",
        Some(&platform),
        None,
    )
    .await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.header("content-type").starts_with("text/csv"));
    assert!(export.body.contains("食品经营许可（新办，承诺3日）"));
    assert_eq!(
        call(&app, "GET", "/api/v1/catalog/export", Some(&editor), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
db_test!(staff_work_on_the_catalog_over_the_api);
