//! Browser test in headless Chromium through chromedriver (Debian `chromium` + `chromium-driver`).
//! Skipped with a note when they are missing, unless `CI` is set.

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
    /// Start chromedriver and a headless Chromium session, or `None` (skip) when not installed.
    pub async fn start() -> Option<Browser> {
        let present =
            std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !present {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {CHROMIUM} / {CHROMEDRIVER} are missing: the browser test must not be skipped"
            );
            eprintln!("note: browser test skipped (install Debian's chromium and chromium-driver)");
            return None;
        }
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
                    return Some(Browser {
                        client,
                        driver,
                        _profile: profile,
                    });
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
async fn serve(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = yiwang_web::serve(listener, app, std::future::pending()).await;
    });
    addr
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .text()
        .await
        .expect("text")
}

async fn script_string(client: &Client, script: &str) -> String {
    client
        .execute(script, vec![])
        .await
        .expect("script runs")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Open the home page, switch the language and elder mode with the page's own links, check what changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_language_and_elder_mode() {
    let Some(browser) = Browser::start().await else {
        return;
    };
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

    client
        .find(Locator::Css(r#".langs a[hreflang="en"]"#))
        .await
        .expect("English link")
        .click()
        .await
        .expect("click");
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

    client
        .find(Locator::Css(r#".langs a[hreflang="zh-TW"]"#))
        .await
        .expect("zh-TW link")
        .click()
        .await
        .expect("click");
    assert_eq!(text(client, "h1").await, "一網通辦 · 辦事不求人");

    client
        .find(Locator::Id("elder-toggle"))
        .await
        .expect("elder toggle")
        .click()
        .await
        .expect("click");
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
