//! The web layer in-process on both backends, plus the browser tests.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod accounts;
mod appointment_pages;
mod appointments;
mod browser;
mod browser_appointments;
mod browser_cases;
mod browser_licences;
mod browser_ratings;
mod case_pages;
mod cases;
mod catalog;
mod catalog_staff;
mod indicator_pages;
mod licence_pages;
mod licences_api;
mod limits;
mod open311;
mod openapi;
mod rating_pages;
mod ratings_api;
mod recovery;
mod requests_api;
mod staff;
mod support;
mod survey_pages;
mod throttles;
mod workbench;

use std::io::Read as _;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get as get_route;
use support::{get, get_with, send, state, state_with};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_web::{WebConfig, app, app_with};

async fn home_page_in_each_language(t: &TestDb) {
    let app = app(state(t).await);
    let zh = get(&app, "/").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.header("content-type").starts_with("text/html"));
    assert!(
        zh.body.contains(r#"<html lang="zh-CN">"#),
        "zh-CN is the default"
    );
    assert!(zh.body.contains("一网通办政务服务平台"));
    for section in [
        "个人办事",
        "法人办事",
        "一件事",
        "部门",
        r#"id="personal""#,
        r#"id="enterprise""#,
        r#"id="life-events""#,
        r#"id="departments""#,
    ] {
        assert!(zh.body.contains(section), "home page lacks {section}");
    }
    assert!(zh.body.contains("合肥市"), "platform region shown");
    assert!(
        zh.body.contains(r#"href="/departments/hf-mzj""#),
        "departments listed from the database"
    );
    assert!(
        zh.body.contains(r#"role="search""#) && zh.body.contains(r#"<label for="site-search">"#)
    );
    // The platform's own city comes before other regions.
    assert!(zh.body.find("市民政局").unwrap() < zh.body.find("区民政局").unwrap());

    let en = get_with(&app, "/", &[("accept-language", "en-GB,en;q=0.9")]).await;
    assert!(en.body.contains(r#"<html lang="en">"#));
    assert!(en.body.contains("One-Stop Government Services"));
    assert!(en.body.contains("For individuals"));

    let tw = get_with(&app, "/", &[("accept-language", "zh-TW")]).await;
    assert!(tw.body.contains("一網通辦政務服務平台"));

    let chosen = get_with(
        &app,
        "/",
        &[("accept-language", "en"), ("cookie", "yw_lang=zh-TW")],
    )
    .await;
    assert!(
        chosen.body.contains(r#"<html lang="zh-TW">"#),
        "the visitor's choice beats the header"
    );
}
db_test!(home_page_in_each_language);

async fn elder_mode_and_switch_links(t: &TestDb) {
    let app = app(state(t).await);
    let normal = get(&app, "/departments").await;
    assert!(
        normal.body.contains(r#"<html lang="zh-CN">"#),
        "no elder class by default"
    );
    assert!(
        normal
            .body
            .contains(r#"href="/prefs/elder/on?next=/departments""#)
    );
    assert!(
        normal
            .body
            .contains(r#"href="/prefs/lang/en?next=/departments""#)
    );
    let elder = get_with(&app, "/departments", &[("cookie", "yw_elder=1")]).await;
    assert!(elder.body.contains(r#"<html lang="zh-CN" class="elder">"#));
    assert!(
        elder.body.contains("标准版"),
        "the toggle offers the way back"
    );

    let switch = get(
        &app,
        "/prefs/lang/en?next=%2Fdepartments%3Ftheme%3Dmarriage",
    )
    .await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.header("location"), "/departments?theme=marriage");
    assert!(switch.header("set-cookie").starts_with("yw_lang=en;"));
    assert!(switch.header("set-cookie").contains("SameSite=Lax"));
    let elder_on = get(&app, "/prefs/elder/on?next=/").await;
    assert!(elder_on.header("set-cookie").starts_with("yw_elder=1;"));
    let off_site = get(&app, "/prefs/lang/zh-TW?next=//evil.example/").await;
    assert_eq!(
        off_site.header("location"),
        "/",
        "never redirect to another site"
    );
    assert_eq!(
        get(&app, "/prefs/lang/fr").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/prefs/elder/maybe").await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(elder_mode_and_switch_links);

async fn department_pages(t: &TestDb) {
    let app = app(state(t).await);
    let all = get(&app, "/departments").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.body.contains("合肥市民政局") && all.body.contains("鄂尔多斯市康巴什区民政局"));
    assert!(all.body.contains("共 3 个部门提供服务"));

    let theme = get(&app, "/departments?theme=food").await;
    assert!(theme.body.contains("食品经营"));
    assert!(theme.body.contains("合肥市市场监督管理局"));
    theme.assert_has(r#"a[href="/departments/hf-scjgj"]"#, "a food department");
    theme.assert_lacks(r#"a[href="/departments/hf-mzj"]"#, "filtered by theme");

    let one = get(&app, "/departments/hf-scjgj").await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.contains("统一社会信用代码"));
    assert!(
        one.body.contains("合肥市质量技术监督局"),
        "former names shown"
    );
    assert!(one.body.contains("安徽省 › 合肥市"), "region path shown");

    let missing = get(&app, "/departments/no-such-dept").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("页面不存在"));
    assert_eq!(
        get(&app, "/departments?theme=nonsense").await.status,
        StatusCode::NOT_FOUND
    );
}
db_test!(department_pages);

async fn search_page(t: &TestDb) {
    let app = app(state(t).await);
    let browse = get(&app, "/search").await;
    assert!(browse.body.contains("办事服务") && browse.body.contains("共 30 项服务"));
    let found = get(&app, "/search?q=%E6%B0%91%E6%94%BF").await; // 民政
    assert!(found.body.contains("“民政”共找到"), "{}", found.body);
    assert!(
        found
            .body
            .contains(r#"<a href="/departments/hf-mzj">合肥市民政局</a>"#)
            && found
                .body
                .contains(r#"<a href="/departments/kbs-mzj">鄂尔多斯市康巴什区民政局</a>"#),
        "departments whose names match are listed after the services"
    );
    assert!(
        found.body.contains(r#"value="民政""#),
        "the query stays in the box"
    );
    let former = get(
        &app,
        "/search?q=%E8%B4%A8%E9%87%8F%E6%8A%80%E6%9C%AF%E7%9B%91%E7%9D%A3",
    )
    .await; // 质量技术监督
    assert!(
        former.body.contains("合肥市市场监督管理局"),
        "found by former name"
    );
    let place = get(&app, "/search?q=%E6%81%A9%E5%92%8C").await; // 恩和
    assert!(place.body.contains("恩和社区") && place.body.contains("康巴什区"));
    let wildcard = get(&app, "/search?q=%25").await;
    assert!(
        wildcard.body.contains("没有找到相关结果"),
        "LIKE wildcards are escaped"
    );
    let script = get(&app, "/search?q=%3Cscript%3E").await;
    assert!(
        script
            .select("script")
            .iter()
            .all(|e| e.attr("src").is_some()),
        "output is escaped: no inline script element"
    );
    script.assert_has("script[src]", "the page's own scripts are still there");
}
db_test!(search_page);

async fn operational_endpoints(t: &TestDb) {
    let app = app(state_with(
        t,
        WebConfig {
            metrics_token: Some("scraper-token".to_owned()),
            ..WebConfig::default()
        },
    )
    .await);
    let health = get(&app, "/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.json()["status"], "ok");
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(ready.json()["database"], t.db.backend().name());

    get(&app, "/").await;
    get(&app, "/departments/hf-mzj").await;
    let metrics = get_with(
        &app,
        "/metrics",
        &[("authorization", "Bearer scraper-token")],
    )
    .await;
    assert!(metrics.header("content-type").starts_with("text/plain"));
    assert!(
        metrics
            .body
            .contains(r#"yiwang_http_requests_total{method="GET",route="/",status="200"} 1"#),
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains(r#"route="/departments/{code}""#),
        "routes by pattern, not path"
    );
    assert!(metrics.body.contains("yiwang_database_up{backend="));

    let doc = get(&app, "/api/v1/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    for path in [
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/v1/departments",
        "/api/v1/departments/{code}",
        "/api/v1/calendar/{date}",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
}
db_test!(operational_endpoints);

async fn readiness_fails_without_a_database(t: &TestDb) {
    let app = app(state(t).await);
    t.db.close().await.unwrap();
    let ready = get(&app, "/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["status"], "unavailable");
    assert_eq!(
        get(&app, "/healthz").await.status,
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}
db_test!(readiness_fails_without_a_database);

async fn json_api(t: &TestDb) {
    let app = app(state(t).await);
    let all = get(&app, "/api/v1/departments").await.json();
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["code"], "kbs-mzj", "ordered by region code");
    let kbs = get(&app, "/api/v1/departments?region=1506").await.json();
    assert_eq!(kbs["total"], 1);
    let bad = get_with(
        &app,
        "/api/v1/departments?region=abc",
        &[("accept-language", "en")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = bad.json();
    assert_eq!(body["error"]["code"], "region_filter_invalid");
    assert_eq!(body["error"]["field"], "region");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid")
    );
    let one = get(&app, "/api/v1/departments/hf-scjgj").await.json();
    assert_eq!(one["name"], "合肥市市场监督管理局");
    assert_eq!(one["uscc"].as_str().unwrap().len(), 18);
    let missing = get(&app, "/api/v1/departments/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    assert!(
        !missing.json()["error"]["request_id"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    let spring = get(&app, "/api/v1/calendar/2026-02-14").await.json();
    assert_eq!(spring["working_day"], true, "调休 Saturday");
    assert_eq!(spring["calendar_covers_year"], true);
    let added = get(&app, "/api/v1/calendar/2026-02-14/add-working-days?n=1")
        .await
        .json();
    assert_eq!(added["date"], "2026-02-24");
    let bad_date = get(&app, "/api/v1/calendar/2026-02-30").await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_date.json()["error"]["field"], "date");
    let bad_n = get(&app, "/api/v1/calendar/2026-02-14/add-working-days?n=-1").await;
    assert_eq!(bad_n.json()["error"]["field"], "n");
}
db_test!(json_api);

async fn errors_are_localized_pages_or_json(t: &TestDb) {
    async fn boom() -> &'static str {
        panic!("deliberate test panic")
    }
    let extra = Router::new()
        .route("/boom", get_route(boom))
        .route("/api/v1/boom", get_route(boom));
    let app = app_with(state(t).await, extra);
    let not_found = get_with(&app, "/no/such/page", &[("accept-language", "en")]).await;
    assert_eq!(not_found.status, StatusCode::NOT_FOUND);
    assert!(not_found.body.contains("Page not found"));
    assert!(not_found.body.contains(r#"<html lang="en">"#));
    let not_found_tw = get_with(&app, "/no/such/page", &[("cookie", "yw_lang=zh-TW")]).await;
    assert!(not_found_tw.body.contains("頁面不存在"));

    let boom = get(&app, "/boom").await;
    assert_eq!(boom.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(boom.body.contains("系统繁忙"));
    let request_id = boom.header("x-request-id").to_owned();
    assert!(!request_id.is_empty());
    assert!(
        boom.body.contains(&format!("问题编号：{request_id}")),
        "the page quotes the request id"
    );
    assert!(
        !boom.body.contains("deliberate"),
        "internal causes stay in the log"
    );

    let api_boom = get_with(&app, "/api/v1/boom", &[("accept-language", "en")]).await;
    assert_eq!(api_boom.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(api_boom.json()["error"]["code"], "internal_error");

    let wrong_method = send(
        &app,
        Request::delete("/departments").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.body.contains("不支持的操作"));
}
db_test!(errors_are_localized_pages_or_json);

async fn security_headers_ids_compression_and_limits(t: &TestDb) {
    let app = app(state_with(
        t,
        WebConfig {
            max_body_bytes: 4096,
            ..WebConfig::default()
        },
    )
    .await);
    for path in [
        "/",
        "/healthz",
        "/api/v1/departments",
        "/nope",
        "/static/app.css",
    ] {
        let reply = get(&app, path).await;
        let csp = reply.header("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(reply.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(
            reply.header("referrer-policy"),
            "strict-origin-when-cross-origin",
            "{path}"
        );
        assert_eq!(
            reply.header("x-request-id").len(),
            36,
            "{path}: a request id is assigned"
        );
    }
    let kept = get_with(&app, "/healthz", &[("x-request-id", "from-the-proxy-42")]).await;
    assert_eq!(
        kept.header("x-request-id"),
        "from-the-proxy-42",
        "an incoming id is propagated"
    );

    let gz = get_with(&app, "/", &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.header("content-encoding"), "gzip");
    let css = get(&app, "/static/app.css").await;
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.header("cache-control").contains("immutable"));
    let compressed = {
        let request = Request::get("/")
            .header("accept-encoding", "gzip")
            .body(Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap()
    };
    let mut html = String::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_string(&mut html)
        .unwrap();
    assert!(html.contains("一网通办政务服务平台"));

    let big = send(
        &app,
        Request::post("/search")
            .header("content-length", "10000")
            .body(Body::from(vec![b'x'; 10_000]))
            .unwrap(),
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(big.body.contains("提交的内容过大"));
}
db_test!(security_headers_ids_compression_and_limits);
