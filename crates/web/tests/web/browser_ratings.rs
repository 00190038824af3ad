//! Browser test of ratings in headless Chromium, on both backends: the citizen rates a concluded
//! case 非常不满意 with a tag from its page; the department's handler finds the task in 差评整改,
//! verifies, rectifies, records the 回访 and closes it; the public disclosure counts it as rectified
//! on time.

use fantoccini::{Client, Locator};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;

use crate::accounts::{MOBILE_A, PASSWORD};
use crate::browser::{Browser, click_to, click_until, fill, serve, text};
use crate::ratings_api::{concluded_case, world};

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

fn status_is(status: &str) -> String {
    format!(
        "document.getElementById('task-status') !== null && document.getElementById('task-status').textContent.trim() === '{status}'"
    )
}

db_test!(
    #[cfg_attr(
        yiwang_no_browser,
        ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
    )]
    rate_a_case_and_rectify_it_in_the_browser
);

async fn rate_a_case_and_rectify_it_in_the_browser(t: &TestDb) {
    let browser = Browser::start().await;
    let w = world(t).await;
    let case = concluded_case(&w, &w.applicant).await;
    let addr = serve(w.app.clone()).await;
    let base = format!("http://{addr}");
    let client = &browser.client;

    // The citizen: the case page's 评价, 非常不满意 with a tag.
    client
        .goto(&format!("{base}/login?next=/my/cases/{case}"))
        .await
        .unwrap();
    fill(client, "login", MOBILE_A).await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        &format!("/my/cases/{case}"),
    )
    .await;
    click_to(client, "#rate-case", "/my/ratings/rate").await;
    click(client, "#level-5").await;
    click(client, "#tag-overdue").await;
    fill(client, "text", "办了一个月才办结").await;
    click_until(
        client,
        "#submit-rating",
        "document.getElementById('done') !== null",
    )
    .await;
    assert_eq!(text(client, "#rating-level").await, "非常不满意");
    click_to(client, ".account-nav button", "/").await;

    // The handler: 差评整改 from the workspace, the task, each step to 办结.
    client.goto(&format!("{base}/staff/login")).await.unwrap();
    fill(client, "employee_no", "SC0101").await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        "/staff/departments/hf-scjgj",
    )
    .await;
    click_to(client, "#ratings-link", "/staff/ratings").await;
    assert!(text(client, "#tasks").await.contains("待核实"));
    click_until(client, "#tasks a", &status_is("待核实")).await;
    fill(client, "note", "已电话联系评价人").await;
    click_until(client, "#act", &status_is("整改中")).await;
    fill(client, "note", "窗口已整改，限时办结").await;
    click_until(client, "#act", &status_is("已整改")).await;
    click(client, "#result-satisfied").await;
    fill(client, "note", "回访满意").await;
    click_until(client, "#act", &status_is("回访")).await;
    click_until(client, "#act", &status_is("办结")).await;

    // The public disclosure counts it as rectified on time.
    client
        .goto(&format!("{base}/ratings?region=340100&month=2026-02"))
        .await
        .unwrap();
    assert_eq!(text(client, "#total-bad").await, "1");
    assert_eq!(text(client, "#total-on-time").await, "1");
    assert!(text(client, "#bad-list").await.contains("张*明"));

    browser.close().await;
}
