//! Shared test fixtures: a small organisation and in-process request helpers.

use std::sync::Arc;

use yiwang_cases::files::DEFAULT_MAX_FILE_BYTES;
use yiwang_cases::{Cases, DeadlinePolicy, Deadlines, FileStore};
use yiwang_catalog::Catalog;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use chrono::{TimeZone, Utc};
use tower::ServiceExt;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{OrgData, RawDepartment, RawRegion};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::service::recovery::{Recovery, RecoveryPolicy};
use yiwang_identity::service::tokens::ApiTokens;
use yiwang_identity::{Accounts, SessionPolicy};
use yiwang_kernel::{SharedClock, TestClock, Uscc, WorkCalendar};
use yiwang_web::{AppState, Services, WebConfig};

fn region(code: &str, name: &str, level: &str, parent: Option<&str>) -> RawRegion {
    RawRegion {
        code: code.to_owned(),
        name: name.to_owned(),
        level: level.to_owned(),
        parent: parent.map(str::to_owned),
    }
}

fn dept(
    code: &str,
    name: &str,
    short: &str,
    region: &str,
    org: &str,
    former: &[&str],
) -> RawDepartment {
    let uscc = Uscc::complete(&format!("11{region}{org}")).expect("valid USCC prefix");
    RawDepartment {
        code: code.to_owned(),
        name: name.to_owned(),
        short_name: short.to_owned(),
        region: region.to_owned(),
        uscc: uscc.as_str().to_owned(),
        kind: "government".to_owned(),
        former_names: former.iter().map(|s| (*s).to_owned()).collect(),
        phone: "12345".to_owned(),
        address: "安徽省合肥市".to_owned(),
    }
}

/// 合肥市 with two departments and 康巴什区 with one street, community and department.
pub fn org() -> OrgData {
    OrgData {
        regions: vec![
            region("340000", "安徽省", "province", None),
            region("340100", "合肥市", "city", Some("340000")),
            region("340104", "蜀山区", "district", Some("340100")),
            region("340104001000", "三里庵街道", "street", Some("340104")),
            region("150000", "内蒙古自治区", "province", None),
            region("150600", "鄂尔多斯市", "city", Some("150000")),
            region("150603", "康巴什区", "district", Some("150600")),
            region("150603002000", "青春山街道", "street", Some("150603")),
            region(
                "150603002005",
                "恩和社区",
                "community",
                Some("150603002000"),
            ),
        ],
        departments: vec![
            dept(
                "hf-mzj",
                "合肥市民政局",
                "市民政局",
                "340100",
                "MB6481191",
                &[],
            ),
            dept(
                "hf-scjgj",
                "合肥市市场监督管理局",
                "市市场监管局",
                "340100",
                "MB8434305",
                &["合肥市质量技术监督局"],
            ),
            dept(
                "kbs-mzj",
                "鄂尔多斯市康巴什区民政局",
                "区民政局",
                "150603",
                "MB0372023",
                &[],
            ),
        ],
    }
}

pub fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 13, 1, 0, 0)
        .single()
        .expect("valid time")
}

pub async fn state_with(t: &TestDb, config: WebConfig) -> AppState {
    state_with_clock(t, config, &TestClock::new(t0())).await
}

/// The state with a clock the test can move.
pub async fn state_with_clock(t: &TestDb, config: WebConfig, test_clock: &TestClock) -> AppState {
    let clock: SharedClock = Arc::new(test_clock.clone());
    let parsed = yiwang_identity::service::parse_org(&org()).expect("fixture parses");
    yiwang_identity::service::load_org(&t.db, &clock, &parsed, "system:test")
        .await
        .expect("fixture loads");
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").expect("key"));
    let accounts = Accounts::new(
        t.db.clone(),
        clock.clone(),
        pii.clone(),
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .expect("accounts");
    let case_pii = pii.clone();
    let recovery = Recovery::new(
        t.db.clone(),
        clock.clone(),
        pii,
        PasswordCost::TEST,
        RecoveryPolicy::default(),
    );
    let api_tokens = ApiTokens::new(t.db.clone(), clock.clone());
    let catalog = Catalog::new(t.db.clone(), clock.clone()).expect("catalog");
    load_fixture_catalog(&catalog).await;
    catalog.rebuild_index().await.expect("index");
    let cases = Cases::new(
        t.db.clone(),
        clock.clone(),
        catalog.clone(),
        Deadlines::new(WorkCalendar::builtin(), DeadlinePolicy::default()),
        case_pii,
        FileStore::in_memory(DEFAULT_MAX_FILE_BYTES),
        "01",
    );
    let appointments = yiwang_appointments::Appointments::new(
        t.db.clone(),
        clock.clone(),
        Arc::new(WorkCalendar::builtin()),
        yiwang_appointments::AppointmentsConfig::default(),
    );
    AppState::new(
        t.db.clone(),
        clock,
        Arc::new(WorkCalendar::builtin()),
        Services {
            accounts,
            recovery,
            api_tokens,
            catalog,
            cases,
            appointments,
        },
        config,
    )
}

pub async fn state(t: &TestDb) -> AppState {
    state_with(t, WebConfig::default()).await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

pub async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
        .await
        .expect("body");
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).expect("request")).await
}

pub async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut builder = Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    send(app, builder.body(Body::empty()).expect("request")).await
}

/// The demo catalog's items of the fixture's departments, and the life events made only of them.
pub async fn load_fixture_catalog(catalog: &Catalog) {
    let departments: Vec<String> = org().departments.iter().map(|d| d.code.clone()).collect();
    let items: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../../server/demo/catalog/items.json"))
            .expect("demo items");
    let mine: Vec<serde_json::Value> = items
        .into_iter()
        .filter(|i| departments.iter().any(|d| i["department"] == d.as_str()))
        .collect();
    let codes: Vec<&str> = mine
        .iter()
        .filter_map(|i| i["impl_code"].as_str())
        .collect();
    let bytes = serde_json::to_vec(&mine).expect("json");
    catalog
        .import(
            &yiwang_identity::policy::Principal::System,
            yiwang_catalog::transfer::Format::Json,
            &bytes,
            &yiwang_catalog::Origin::default(),
        )
        .await
        .expect("fixture catalog imports");
    let events: Vec<yiwang_catalog::model::LifeEventRecord> = serde_json::from_str(include_str!(
        "../../../server/demo/catalog/life_events.json"
    ))
    .expect("demo life events");
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.items.iter().all(|c| codes.contains(&c.as_str())))
        .collect();
    catalog
        .import_life_events(
            &yiwang_identity::policy::Principal::System,
            &events,
            &yiwang_catalog::Origin::default(),
        )
        .await
        .expect("fixture life events import");
}
