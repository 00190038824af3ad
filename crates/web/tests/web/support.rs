//! Shared test fixtures: a small organisation and in-process request helpers.

use std::sync::Arc;
use yiwang_identity::service::register::{RegisterEntry, StaticRegister};

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
    .expect("accounts")
    .with_register(test_register());
    let case_pii = pii.clone();
    let ratings = yiwang_ratings::Ratings::new(
        t.db.clone(),
        clock.clone(),
        Arc::new(WorkCalendar::builtin()),
        pii.clone(),
        yiwang_ratings::RatingsConfig::new(RATING_LINK_KEY.to_vec()),
    );
    let requests = yiwang_requests::Requests::new(
        t.db.clone(),
        clock.clone(),
        Arc::new(WorkCalendar::builtin()),
        pii.clone(),
        yiwang_requests::RequestsConfig::default(),
    );
    let licenses = yiwang_licenses::Licenses::new(
        t.db.clone(),
        clock.clone(),
        yiwang_licenses::SealCipher::new(
            yiwang_licenses::derive_seal_key("00112233445566778899aabbccddeeff").expect("seal key"),
        ),
        WorkCalendar::builtin(),
        pii.clone(),
    );
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
    )
    .with_licenses(licenses.clone());
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
            licenses,
            ratings,
            requests,
        },
        config,
    )
}

/// The HMAC key of SMS rating links in the tests' state.
pub const RATING_LINK_KEY: &[u8] = b"yiwang-test-rating-link-key-0001";

/// Ask for a registration code for `mobile` over the API and read it from the SMS job it wrote.
pub async fn registration_code(db: &yiwang_db::Db, app: &Router, mobile: &str) -> String {
    let request = Request::post("/api/v1/auth/register/code")
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({ "mobile": mobile }).to_string(),
        ))
        .expect("request");
    let sent = send(app, request).await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);
    last_sms_text(db, mobile)
        .await
        .and_then(|text| {
            let start = text.find("验证码为")? + "验证码为".len();
            Some(text[start..].chars().take(6).collect())
        })
        .expect("a registration code was sent")
}

/// The text of the newest SMS job to `mobile`, opened with the test PII key.
pub async fn last_sms_text(db: &yiwang_db::Db, mobile: &str) -> Option<String> {
    use yiwang_db::ConnectionTrait as _;
    let pii = PiiProtector::from_hex("00112233445566778899aabbccddeeff").expect("key");
    let rows = db
        .conn()
        .query_all_raw(yiwang_db::stmt(
            db.conn(),
            "SELECT payload FROM jobs WHERE kind = 'notify.sms' ORDER BY id DESC",
            [],
        ))
        .await
        .expect("jobs");
    rows.iter().find_map(|row| {
        let payload: serde_json::Value =
            serde_json::from_str(&row.try_get::<String>("", "payload").ok()?).ok()?;
        let message = yiwang_identity::service::recovery::open_message(&pii, &payload).ok()?;
        (message["to"] == mobile)
            .then(|| message["params"]["text"].as_str().map(str::to_owned))
            .flatten()
    })
}

/// The enterprise register the web tests' enterprises are listed in.
pub fn test_register() -> Arc<StaticRegister> {
    let entry = |uscc17: &str, name: &str, rep: &str, rid: &str| RegisterEntry {
        uscc: Uscc::complete(uscc17).expect("uscc").as_str().to_owned(),
        name: name.to_owned(),
        representative_name: rep.to_owned(),
        representative_id: rid.to_owned(),
    };
    Arc::new(
        StaticRegister::new(vec![
            entry(
                "91340104MA2TX0001",
                "合肥味道餐饮管理有限公司",
                "张三",
                crate::accounts::RID_A,
            ),
            entry(
                "91340100MA2RQ8K5N",
                "合肥味道餐饮管理有限公司",
                "张晓明",
                crate::accounts::RID_A,
            ),
        ])
        .expect("register"),
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
        serde_json::from_str(include_str!("../../../demo/data/catalog/items.json"))
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
    let events: Vec<yiwang_catalog::model::LifeEventRecord> =
        serde_json::from_str(include_str!("../../../demo/data/catalog/life_events.json"))
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

// ------------------------------------------------------------------ selecting elements

/// One element's start tag: its name and attributes (names lower-cased, values with entities decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub tag: String,
    pub attrs: Vec<(String, String)>,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_class(&self, class: &str) -> bool {
        self.attr("class")
            .is_some_and(|c| c.split_ascii_whitespace().any(|c| c == class))
    }
}

/// One compound selector: `tag`, `#id`, `.class`, `[attr]`, `[attr=value]` (value quoted or not),
/// combined without spaces, e.g. `a.button[href="/login"]`. No combinators: page tests name the
/// element itself, and an id or attribute is precise enough.
#[derive(Debug, Default)]
struct Selector {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
    attrs: Vec<(String, Option<String>)>,
}

impl Selector {
    fn parse(text: &str) -> Selector {
        let mut selector = Selector::default();
        let mut rest = text.trim();
        assert!(
            !rest.is_empty() && !rest.contains(char::is_whitespace) && !rest.contains('>'),
            "unsupported selector {text:?}: one compound selector (tag#id.class[attr=value])"
        );
        let name_end = |s: &str| s.find(['#', '.', '[']).unwrap_or(s.len());
        if !rest.starts_with(['#', '.', '[']) {
            let end = name_end(rest);
            selector.tag = Some(rest[..end].to_ascii_lowercase());
            rest = &rest[end..];
        }
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('#') {
                let end = name_end(after);
                selector.id = Some(after[..end].to_owned());
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('.') {
                let end = name_end(after);
                selector.classes.push(after[..end].to_owned());
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after
                    .find(']')
                    .unwrap_or_else(|| panic!("unclosed [ in selector {text:?}"));
                let inner = &after[..end];
                let condition = match inner.split_once('=') {
                    Some((name, value)) => (
                        name.trim().to_ascii_lowercase(),
                        Some(value.trim().trim_matches(['"', '\'']).to_owned()),
                    ),
                    None => (inner.trim().to_ascii_lowercase(), None),
                };
                selector.attrs.push(condition);
                rest = &after[end + 1..];
            } else {
                panic!("unsupported selector {text:?}");
            }
        }
        selector
    }

    fn matches(&self, element: &Element) -> bool {
        self.tag.as_ref().is_none_or(|t| *t == element.tag)
            && self
                .id
                .as_ref()
                .is_none_or(|id| element.attr("id") == Some(id.as_str()))
            && self.classes.iter().all(|c| element.has_class(c))
            && self.attrs.iter().all(|(name, value)| match value {
                Some(value) => element.attr(name) == Some(value.as_str()),
                None => element.attr(name).is_some(),
            })
    }
}

/// Every element of `html` matching `selector`, in document order. Comments are skipped and the
/// contents of `script`, `style` and `textarea` are text, as a browser reads them.
pub fn select(html: &str, selector: &str) -> Vec<Element> {
    let selector = Selector::parse(selector);
    elements(html)
        .into_iter()
        .filter(|e| selector.matches(e))
        .collect()
}

fn elements(html: &str) -> Vec<Element> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some((element, after)) = start_tag(rest) else {
            rest = &rest[1..];
            continue;
        };
        rest = after;
        if matches!(element.tag.as_str(), "script" | "style" | "textarea") {
            let close = format!("</{}", element.tag);
            let lower = rest.to_ascii_lowercase();
            rest = lower.find(&close).map_or("", |end| &rest[end..]);
        }
        found.push(element);
    }
    found
}

/// A start tag at the start of `text` (which begins with `<`), and the text after it.
fn start_tag(text: &str) -> Option<(Element, &str)> {
    let body = &text[1..];
    let name_len = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(body.len());
    if name_len == 0 || !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let tag = body[..name_len].to_ascii_lowercase();
    let mut rest = &body[name_len..];
    let mut attrs = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>").or_else(|| rest.strip_prefix('>')) {
            return Some((Element { tag, attrs }, after));
        }
        if rest.is_empty() {
            return None;
        }
        let name_end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'))
            .unwrap_or(rest.len());
        if name_end == 0 {
            // A stray '/' inside the tag.
            rest = &rest[1..];
            continue;
        }
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (raw, remaining) = if let Some(quote @ ('"' | '\'')) = after.chars().next() {
                let end = after[1..].find(quote)? + 1;
                (&after[1..end], &after[end + 1..])
            } else {
                let end = after
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            rest = remaining;
            decode_entities(raw)
        } else {
            String::new()
        };
        attrs.push((name, value));
    }
}

fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';').filter(|s| *s <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        if let Some(c) = decoded {
            out.push(c);
            rest = &rest[semi + 1..];
        } else {
            out.push('&');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out
}

impl Reply {
    /// The elements of the page matching a selector (see [`select`]).
    pub fn select(&self, selector: &str) -> Vec<Element> {
        select(&self.body, selector)
    }

    /// Panics unless the page has an element matching `selector`.
    #[track_caller]
    pub fn assert_has(&self, selector: &str, why: &str) {
        assert!(
            !self.select(selector).is_empty(),
            "expected an element {selector} ({why}) in:\n{}",
            self.body
        );
    }

    /// Panics if the page has an element matching `selector`.
    #[track_caller]
    pub fn assert_lacks(&self, selector: &str, why: &str) {
        let found = self.select(selector);
        assert!(
            found.is_empty(),
            "expected no element {selector} ({why}), found {found:?}"
        );
    }
}

#[test]
fn selectors_find_elements_by_tag_id_class_and_attribute() {
    let html = r#"<!doctype html><html lang="zh-CN" class="elder"><body>
        <!-- <a id="commented" href="/x"> -->
        <nav id=top class="bar  main"><a class="btn primary" href="/login?next=%2F&amp;x=1">登录</a>
        <a href='/departments/hf-mzj' data-kind=dept>合肥市民政局</a></nav>
        <input type="password" name="password" required>
        <script src="/static/app.js"></script>
        <script>let fake = '<a id="in-script">';</script>
        <p>1 &lt; 2 <b/></p></body></html>"#;
    let names = |sel: &str| {
        select(html, sel)
            .iter()
            .map(|e| e.tag.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names("a"), ["a", "a"]);
    assert_eq!(names("#top"), ["nav"]);
    assert_eq!(names("nav.bar.main"), ["nav"]);
    assert_eq!(names(".primary"), ["a"]);
    assert_eq!(
        names(".prim"),
        Vec::<String>::new(),
        "whole class names only"
    );
    assert_eq!(names(r#"a[href="/login?next=%2F&x=1"]"#), ["a"]);
    assert_eq!(
        names("a[href='/departments/hf-mzj'][data-kind=dept]"),
        ["a"]
    );
    assert_eq!(names("input[required]"), ["input"]);
    assert_eq!(names("input[type=password][name=password]"), ["input"]);
    assert_eq!(names("script[src]"), ["script"]);
    assert_eq!(names("script"), ["script", "script"]);
    assert_eq!(names("html.elder[lang=zh-CN]"), ["html"]);
    assert_eq!(names("b"), ["b"]);
    assert!(
        select(html, "#commented").is_empty(),
        "comments are skipped"
    );
    assert!(select(html, "#in-script").is_empty(), "script text is text");
    let link = &select(html, "a.btn")[0];
    assert_eq!(link.attr("href"), Some("/login?next=%2F&x=1"));
    assert_eq!(decode_entities("&#x2f;&#47;&lt;&bogus;&"), "//<&bogus;&");
}
