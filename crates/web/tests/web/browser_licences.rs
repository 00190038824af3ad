//! Browser test of e-licences in headless Chromium, on both backends: a clerk of the issuing
//! department issues a licence through the staff form, the citizen finds it in 我的证照, opens it,
//! follows its QR code's verification link, shows it (亮证) and the clerk checks the six digits.

use fantoccini::{Client, Locator};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_licenses::model::{FieldDef, FieldKind, HolderKind, Validity};

use crate::accounts::{MOBILE_A, PASSWORD, RID_A};
use crate::browser::{Browser, click_to, click_until, fill, serve, text};
use crate::staff::{person_token, seed_staff};
use crate::support::state;

fn residence_permit() -> yiwang_licenses::LicenseType {
    let field = |name: &str, label: &str, public: bool| FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: FieldKind::Text,
        required: true,
        public,
    };
    yiwang_licenses::LicenseType {
        code: "JZZ".to_owned(),
        name: "居住证".to_owned(),
        departments: vec!["hf-scjgj".to_owned()],
        holder: HolderKind::Person,
        fields: vec![
            field("address", "居住地址", false),
            field("issuing_office", "签发机关", true),
        ],
        validity: Validity::Years { years: 1 },
        producing_items: Vec::new(),
        replaces: Vec::new(),
        legal_basis: Vec::new(),
    }
}

async fn log_out(client: &Client) {
    click_to(client, ".account-nav button", "/").await;
}

db_test!(
    #[cfg_attr(
        yiwang_no_browser,
        ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
    )]
    issue_find_verify_and_show_a_licence
);

async fn issue_find_verify_and_show_a_licence(t: &TestDb) {
    let browser = Browser::start().await;
    let state = state(t).await;
    state
        .licenses()
        .define_type(&Principal::System, &residence_permit(), "test")
        .await
        .unwrap();
    seed_staff(
        &state,
        "hf-scjgj",
        "SC0101",
        "13900002101",
        &["window_staff"],
    )
    .await;
    let app = yiwang_web::app(state);
    person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let addr = serve(app).await;
    let base = format!("http://{addr}");
    let client = &browser.client;

    // The clerk: the workspace's 证照管理 link, the issue form of 居住证.
    client.goto(&format!("{base}/staff/login")).await.unwrap();
    fill(client, "employee_no", "SC0101").await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        "/staff/departments/hf-scjgj",
    )
    .await;
    click_to(client, "#licences-link", "/staff/licences").await;
    click_to(client, "#nav-issue", "/staff/licences/issue").await;
    click_to(client, "#choose-type", "/staff/licences/issue").await;
    // A missing address is answered on its field.
    fill(client, "holder", RID_A).await;
    fill(client, "d_issuing_office", "合肥市公安局蜀山分局").await;
    click_until(
        client,
        "#issue-submit",
        "document.getElementById('d_address-error') !== null",
    )
    .await;
    fill(client, "d_address", "安徽省合肥市蜀山区长江西路189号").await;
    click_until(
        client,
        "#issue-submit",
        "document.getElementById('done') !== null",
    )
    .await;
    let identifier = text(client, "#licence-facts .lic-identifier").await;
    assert!(
        identifier.starts_with("1.2.156.3005.2.JZZ."),
        "{identifier}"
    );
    log_out(client).await;

    // The citizen: 我的证照 from the account page, the licence, its QR code and verification link.
    client
        .goto(&format!("{base}/login?next=/account"))
        .await
        .unwrap();
    fill(client, "login", MOBILE_A).await;
    fill(client, "password", PASSWORD).await;
    click_to(client, "form.form button[type=submit]", "/account").await;
    click_to(client, "#my-licences-link", "/my/licences").await;
    let card = text(client, "#licences").await;
    assert!(card.contains("居住证") && card.contains("有效"), "{card}");
    click_to(
        client,
        "#licences .lic-card h2 a",
        &format!("/my/licences/{identifier}"),
    )
    .await;
    assert!(
        client
            .find(Locator::Css("#licence-qr svg path"))
            .await
            .is_ok(),
        "the QR code is drawn"
    );
    let verify = client
        .find(Locator::Id("verify-link"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        verify.starts_with("/licences/verify?p=YWL1."),
        "the QR code's verification link: {verify}"
    );
    // 亮证: six digits and the expiry.
    click_until(
        client,
        "#show-code",
        "document.getElementById('show-digits') !== null",
    )
    .await;
    let digits = text(client, "#show-digits").await;
    assert_eq!(digits.len(), 6, "{digits}");
    log_out(client).await;

    // The clerk checks the digits and sees the licence.
    client.goto(&format!("{base}/staff/login")).await.unwrap();
    fill(client, "employee_no", "SC0101").await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        "/staff/departments/hf-scjgj",
    )
    .await;
    client
        .goto(&format!("{base}/staff/licences/redeem"))
        .await
        .unwrap();
    fill(client, "code", &digits).await;
    click_until(
        client,
        "#redeem-submit",
        "document.getElementById('redeemed') !== null",
    )
    .await;
    assert_eq!(
        text(client, "#licence-facts .lic-identifier").await,
        identifier
    );

    browser.close().await;
}
