//! Browser test of the appointment flow in headless Chromium: a citizen books a doctor's slot, checks
//! in at the clinic's kiosk with the booking code, the doctor's desk calls the ticket from the window
//! console, and the board — open in another tab — shows the ticket and the doctor live.

use fantoccini::Locator;

use crate::accounts::{MOBILE_A, PASSWORD, RID_A};
use crate::appointment_pages::fixture;
use crate::browser::{Browser, click_to, click_until, fill, serve, text, wait_path, wait_until};
use crate::staff::{person_token, seed_staff};

#[cfg_attr(
    yiwang_no_browser,
    ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_check_in_call_and_see_it_on_the_board() {
    let browser = Browser::start().await;
    let test = yiwang_db::testing::sqlite().await;
    let f = fixture(&test).await;
    person_token(&test.db, &f.app, "张晓明", RID_A, MOBILE_A).await;
    seed_staff(
        &f.state,
        "kbs-mzj",
        "WIN001",
        "13900000002",
        &["window_staff"],
    )
    .await;
    let slot = f.doctor_slot(0, 9, 30).await;
    let addr = serve(f.app.clone()).await;
    let client = &browser.client;
    let base = format!("http://{addr}");

    // Book: the home page's entry, the clinic, the doctor, today, 09:30; log in on the way.
    client.goto(&format!("{base}/")).await.expect("home");
    click_to(client, "#home-book-doctor", "/appointments").await;
    click_to(
        client,
        r#"a[href="/appointments/test-clinic"]"#,
        "/appointments/test-clinic",
    )
    .await;
    click_until(
        client,
        "#resource-wangjh",
        "document.getElementById('days') !== null",
    )
    .await;
    click_until(
        client,
        r#"#days a[href*="day=2026-02-13"]"#,
        "document.getElementById('slots') !== null",
    )
    .await;
    click_to(client, &format!("#slot-{slot}"), "/login").await;
    fill(client, "login", MOBILE_A).await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        "/appointments/test-clinic/book",
    )
    .await;
    assert!(text(client, "#confirm-time").await.contains("09:30–10:00"));
    client
        .find(Locator::Css("#confirm-booking"))
        .await
        .expect("confirm button")
        .click()
        .await
        .expect("click");
    wait_until(client, "document.getElementById('booking-code') !== null").await;
    assert!(text(client, "#booked-notice").await.contains("预约成功"));
    let code = text(client, "#booking-code").await;
    assert_eq!(code.len(), 8, "{code}");
    assert!(text(client, "#booking-place").await.contains("内科"));

    // Check in at the clinic's kiosk with the code.
    client
        .goto(&format!("{base}/halls/test-clinic/kiosk"))
        .await
        .expect("kiosk");
    fill(client, "booking-code", &code).await;
    click_until(
        client,
        "#check-in",
        "document.getElementById('ticket-number') !== null",
    )
    .await;
    assert_eq!(text(client, "#ticket-number").await, "Y001");
    assert_eq!(text(client, "#ticket-lane").await, "预约");

    // The board in this tab, listening; the doctor's desk in another.
    client
        .goto(&format!("{base}/halls/test-clinic/board"))
        .await
        .expect("board");
    wait_until(
        client,
        "document.getElementById('board-calls-empty').hidden === false",
    )
    .await;
    // The script has connected once the first event redrew the table (it sets the version).
    wait_until(
        client,
        "document.querySelector('main').getAttribute('data-version') !== null && window.performance.now() > 500",
    )
    .await;
    let board_tab = client.window().await.expect("board tab");
    let desk_tab = client.new_window(true).await.expect("new tab").handle;
    client.switch_to_window(desk_tab).await.expect("switch");
    client
        .goto(&format!("{base}/staff/login"))
        .await
        .expect("staff login");
    fill(client, "employee_no", "WIN001").await;
    fill(client, "password", PASSWORD).await;
    client
        .find(Locator::Css("form.form button[type=submit]"))
        .await
        .expect("log in")
        .click()
        .await
        .expect("click");
    wait_path(client, "/staff/departments/kbs-mzj").await;
    let desk = format!("/staff/windows/{}", f.doctor.id);
    client
        .goto(&format!("{base}{desk}"))
        .await
        .expect("console");
    click_until(
        client,
        "#call-next",
        "document.getElementById('current-number') !== null",
    )
    .await;
    assert_eq!(text(client, "#current-number").await, "Y001");

    client
        .switch_to_window(board_tab)
        .await
        .expect("back to the board");
    wait_until(
        client,
        "document.getElementById('board-calls').textContent.indexOf('Y001') >= 0",
    )
    .await;
    let calls = text(client, "#board-calls").await;
    assert!(
        calls.contains("Y001") && calls.contains("王建华"),
        "{calls}"
    );
    wait_until(client, "!document.getElementById('board-announce').hidden").await;
    assert!(text(client, "#board-announce").await.contains("Y001"));

    browser.close().await;
    test.finish().await;
}
