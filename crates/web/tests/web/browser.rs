//! Browser test in headless Chromium through chromedriver (Debian `chromium` + `chromium-driver`).
//! When the build finds them missing (`build.rs`), these tests are marked ignored with the reason on
//! their own line of `cargo test`; with `CI` set they are never ignored, so a missing browser fails.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use crate::support::state;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver and a browser session; dropped together.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromedriver and a headless Chromium session. A test that runs without them fails: it was
    /// built where they exist, runs under CI, or was asked for with `--ignored`.
    pub async fn start() -> Browser {
        let present =
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        assert!(
            present,
            "{CHROMIUM} / {CHROMEDRIVER} are missing: the browser test cannot run \
             (install Debian's chromium and chromium-driver)"
        );
        let port = free_port().await;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--lang=zh-CN", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": { "intl.accept_languages": "zh-CN,zh" }
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(error) => {
                    last_error = error.to_string();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("cannot start a browser session: {last_error}");
    }

    pub async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Serve the app on a real port for the browser.
pub(crate) async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = yiwang_web::serve(listener, app, std::future::pending()).await;
    });
    addr
}

pub(crate) async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .text()
        .await
        .expect("text")
}

pub(crate) async fn script_string(client: &Client, script: &str) -> String {
    client
        .execute(script, vec![])
        .await
        .expect("script runs")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Open the home page, switch the language and elder mode with the page's own links, check what changed.
#[cfg_attr(
    yiwang_no_browser,
    ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_language_and_elder_mode() {
    let browser = Browser::start().await;
    let test = yiwang_db::testing::sqlite().await;
    let addr = serve(yiwang_web::app(state(&test).await)).await;
    let client = &browser.client;

    client
        .goto(&format!("http://{addr}/"))
        .await
        .expect("home page opens");
    assert_eq!(
        script_string(client, "return document.documentElement.lang").await,
        "zh-CN"
    );
    assert_eq!(text(client, "h1").await, "一网通办 · 办事不求人");
    let normal_size = script_string(
        client,
        "return getComputedStyle(document.documentElement).fontSize",
    )
    .await;

    click_until(
        client,
        r#".langs a[hreflang="en"]"#,
        "document.documentElement.lang === 'en'",
    )
    .await;
    assert_eq!(
        script_string(client, "return document.documentElement.lang").await,
        "en"
    );
    assert_eq!(text(client, "h1").await, "Everything in one place");
    assert_eq!(
        text(client, r#".langs a[aria-current="true"]"#).await,
        "English",
        "the switcher marks the current language"
    );

    click_until(
        client,
        r#".langs a[hreflang="zh-TW"]"#,
        "document.documentElement.lang === 'zh-TW'",
    )
    .await;
    assert_eq!(text(client, "h1").await, "一網通辦 · 辦事不求人");

    click_until(
        client,
        "#elder-toggle",
        "document.documentElement.className === 'elder'",
    )
    .await;
    assert_eq!(
        script_string(client, "return document.documentElement.className").await,
        "elder"
    );
    let elder_size = script_string(
        client,
        "return getComputedStyle(document.documentElement).fontSize",
    )
    .await;
    assert_eq!(normal_size, "16px");
    assert_eq!(elder_size, "22px", "elder mode enlarges the text");
    assert_eq!(
        text(client, "#elder-toggle").await,
        "標準版",
        "language choice kept while toggling"
    );

    // The choice persists across pages.
    client
        .goto(&format!("http://{addr}/departments"))
        .await
        .expect("departments page");
    assert_eq!(
        script_string(client, "return document.documentElement.className").await,
        "elder"
    );
    assert_eq!(
        script_string(client, "return document.documentElement.lang").await,
        "zh-TW"
    );

    browser.close().await;
    test.finish().await;
}

/// Wait for a navigation a click started to land on `path` (a click returns before the next page loads).
pub(crate) async fn wait_path(client: &Client, path: &str) {
    for _ in 0..300 {
        let ready = client
            .execute("return document.readyState", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        if client.current_url().await.is_ok_and(|u| u.path() == path)
            && ready.as_deref() == Some("complete")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = client
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    let body = text(client, "main").await;
    panic!("expected to reach {path}, still at {now}: {body}");
}

/// Click and wait until `condition` (a script expression) holds on the loaded page; for links that come
/// back to the same address.
pub(crate) async fn click_until(client: &Client, css: &str, condition: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
    wait_until(client, condition).await;
}

/// Click and wait until the page at `path` has loaded.
pub(crate) async fn click_to(client: &Client, css: &str, path: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
    wait_path(client, path).await;
}

/// Press Enter in a field (the browser's implicit submission: the form's first submit button) and wait
/// until the page at `path` has loaded.
pub(crate) async fn press_enter_to(client: &Client, id: &str, path: &str) {
    let field = client.find(Locator::Id(id)).await.expect(id);
    // U+E007 is WebDriver's Enter key.
    field.send_keys("\u{E007}").await.expect("enter");
    wait_path(client, path).await;
}

pub(crate) async fn fill(client: &Client, id: &str, value: &str) {
    let field = client.find(Locator::Id(id)).await.expect(id);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// A person registers through the form, lands on their account page, logs out and logs in again.
#[cfg_attr(
    yiwang_no_browser,
    ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_log_in() {
    let browser = Browser::start().await;
    let test = yiwang_db::testing::sqlite().await;
    let addr = serve(yiwang_web::app(state(&test).await)).await;
    let client = &browser.client;

    client.goto(&format!("http://{addr}/")).await.expect("home");
    click_to(client, "#register-link", "/register").await;
    assert_eq!(text(client, "h1").await, "注册个人账户");

    // Step 1. A mistake first: the page says what is wrong and keeps what was typed. Enter in a field
    // submits the step's one button (ask for a code).
    fill(client, "name", "张三").await;
    fill(client, "resident_id", "110105194912310021").await;
    fill(client, "mobile", crate::accounts::MOBILE_A).await;
    press_enter_to(client, "mobile", "/register/code").await;
    assert!(
        text(client, ".error-summary")
            .await
            .contains("校验位不正确")
    );
    assert_eq!(
        client
            .find(Locator::Id("name"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("张三")
    );

    // The mobile number is proven by a code sent to it before anything about accounts is told.
    fill(client, "resident_id", crate::accounts::RID_A).await;
    click_to(client, "form.form button[type=submit]", "/register/code").await;
    assert!(
        client
            .find(Locator::Css("p.notice[role=status]"))
            .await
            .is_ok()
    );
    let sms = crate::support::last_sms_text(&test.db, crate::accounts::MOBILE_A)
        .await
        .expect("a registration code was sent");
    let start = sms.find("验证码为").expect("code in the message") + "验证码为".len();
    let code: String = sms[start..].chars().take(6).collect();
    fill(client, "code", &code).await;
    fill(client, "password", crate::accounts::PASSWORD).await;
    fill(client, "password_confirm", crate::accounts::PASSWORD).await;
    // Step 2: Enter in the last field registers (the form's first button), it does not send a code.
    press_enter_to(client, "password_confirm", "/account").await;
    assert_eq!(text(client, "#profile-name").await, "张三");
    assert_eq!(
        text(client, "#profile-resident-id").await,
        "1101**********002X"
    );
    assert!(text(client, "#account-link").await.contains("张三"));

    click_to(client, ".account-nav button", "/").await;
    assert!(
        client.find(Locator::Id("login-link")).await.is_ok(),
        "logged out"
    );

    client
        .goto(&format!("http://{addr}/account"))
        .await
        .expect("account page");
    wait_path(client, "/login").await;
    fill(client, "login", crate::accounts::MOBILE_A).await;
    fill(client, "password", crate::accounts::PASSWORD).await;
    click_to(client, "form.form button[type=submit]", "/account").await;
    assert_eq!(text(client, "#profile-mobile").await, "138****8000");

    browser.close().await;
    test.finish().await;
}

/// Search from the home page with pinyin initials, open the guide, download a material's template.
#[cfg_attr(
    yiwang_no_browser,
    ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_open_guide_download_template() {
    let browser = Browser::start().await;
    let test = yiwang_db::testing::sqlite().await;
    let state = state(&test).await;
    let template = "申请结婚登记声明书\n\n本人姓名：______________\n";
    // Both marriage items (合肥 and 康巴什) have the form; either may rank first.
    for code in [
        "07010000100134010011340100MB6481191H",
        "07010000100115060311150603MB0372023E",
    ] {
        crate::catalog::attach_template(&state, code, 1, "申请结婚登记声明书.txt", template).await;
    }
    let addr = serve(yiwang_web::app(state)).await;
    let client = &browser.client;

    client
        .goto(&format!("http://{addr}/"))
        .await
        .expect("home page opens");
    client
        .find(Locator::Css("#site-search"))
        .await
        .expect("search box")
        .send_keys("jhdj")
        .await
        .expect("typing");
    client
        .find(Locator::Css(".searchband button[type=submit]"))
        .await
        .expect("search button")
        .click()
        .await
        .expect("search");
    wait_path(client, "/search").await;
    let first = text(client, ".item-card h2 a").await;
    assert_eq!(
        first, "内地居民结婚登记",
        "pinyin initials find the item first"
    );
    client
        .find(Locator::Css(".item-card h2 a"))
        .await
        .expect("first result")
        .click()
        .await
        .expect("open guide");
    for _ in 0..300 {
        if client
            .current_url()
            .await
            .is_ok_and(|u| u.path().starts_with("/items/"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_until(client, "document.querySelector('h1') && document.querySelector('h1').textContent === '内地居民结婚登记'").await;
    assert!(
        text(client, "main").await.contains("男女双方完全自愿"),
        "conditions shown"
    );
    // The print button appears once the script runs; the template link downloads the form.
    wait_until(client, "!document.querySelector('[data-print]').hidden").await;
    let link = client
        .find(Locator::Css("a.download"))
        .await
        .expect("template link");
    assert_eq!(link.text().await.expect("text"), "空白表格");
    let href = link.attr("href").await.expect("href").expect("has href");
    let downloaded = script_string(
        client,
        &format!(
            "return fetch({href:?}).then(r => r.headers.get('content-disposition') + '\\n' + r.status).then(h => h)"
        ),
    )
    .await;
    assert!(downloaded.starts_with("attachment;"), "{downloaded}");
    assert!(downloaded.ends_with("200"), "{downloaded}");
    let body = script_string(
        client,
        &format!("return fetch({href:?}).then(r => r.text())"),
    )
    .await;
    assert_eq!(body, template);

    browser.close().await;
    test.finish().await;
}

/// Wait until a script expression holds.
pub(crate) async fn wait_until(client: &Client, condition: &str) {
    let script = format!("return document.readyState === 'complete' && ({condition})");
    for _ in 0..300 {
        if client
            .execute(&script, vec![])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition never held: {condition}");
}
