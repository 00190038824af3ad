//! Browser test of a case in headless Chromium, on both backends: a citizen applies online from the
//! item's guide (logging in on the way, uploading the materials, checking the answers), the window
//! accepts the case from the workbench, the decision post grants it (受审分离: another person), the
//! window delivers, and the citizen finds the result and the sealed 准予行政许可决定书 in 我的办件,
//! whose QR verification says 真实有效; the grant issued a 食品经营许可证 that appears in 我的证照,
//! verifies as 有效, and fulfils the material it replaces on the next application (no upload).

use fantoccini::{Client, Locator};
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;

use crate::accounts::{MOBILE_A, PASSWORD, RID_A};
use crate::browser::{Browser, click_to, click_until, fill, serve, text};
use crate::cases::{FOOD_RENEWAL, publish, seed};
use crate::staff::{person_token, staff_token};
use crate::support::state;

/// Intake at the window, the decision on the chief's post; the engine adds the window's delivery.
const WORKFLOW: &str = r#"
[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"

[[form]]
key = "operator"
label = "经营者名称"
kind = "text"
required = true
"#;

/// A small but well-formed PDF.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// 食品经营许可证 for a person, produced by the item and replacing `material` of it.
fn food_licence(material: &str) -> yiwang_licenses::LicenseType {
    use yiwang_licenses::model::{FieldDef, FieldKind, HolderKind, Replacement, Validity};
    yiwang_licenses::LicenseType {
        code: "SPJY".to_owned(),
        name: "食品经营许可证".to_owned(),
        departments: vec!["hf-scjgj".to_owned()],
        holder: HolderKind::Person,
        fields: vec![FieldDef {
            name: "operator".to_owned(),
            label: "经营者名称".to_owned(),
            kind: FieldKind::Text,
            required: true,
            public: true,
        }],
        validity: Validity::Years { years: 5 },
        producing_items: vec![FOOD_RENEWAL.to_owned()],
        replaces: vec![Replacement {
            item: FOOD_RENEWAL.to_owned(),
            material: material.to_owned(),
        }],
        legal_basis: Vec::new(),
    }
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

async fn type_into(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

/// Log out with the header's button; the home page follows.
async fn log_out(client: &Client) {
    click_to(client, ".account-nav button", "/").await;
    assert!(
        client.find(Locator::Id("login-link")).await.is_ok(),
        "logged out"
    );
}

/// Staff log in on their own page and land on their department's workspace.
async fn staff_log_in(client: &Client, base: &str, employee_no: &str) {
    client
        .goto(&format!("{base}/staff/login"))
        .await
        .expect("staff login");
    fill(client, "employee_no", employee_no).await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        "/staff/departments/hf-scjgj",
    )
    .await;
}

/// From the workspace: the inbox, claim the case's task, open the case.
async fn claim_and_open(client: &Client, case_no: &str) {
    click_to(client, "#wb-inbox-link", "/staff/cases").await;
    let row = text(client, "#inbox tbody tr").await;
    assert!(row.contains(case_no), "{row}");
    click_until(
        client,
        "#inbox tbody tr form[action$='/claim'] button",
        "document.querySelector(\"#inbox tbody tr form[action$='/release']\") !== null",
    )
    .await;
    assert_eq!(text(client, "#count-mine").await, "1", "claimed by me");
    click_to(
        client,
        &format!("#inbox a.wb-open[href='/staff/cases/{case_no}']"),
        &format!("/staff/cases/{case_no}"),
    )
    .await;
}

/// On the case page: choose the action, write the opinion, submit; the page says it is done.
async fn act(client: &Client, action: &str, opinion: &str) {
    click(
        client,
        &format!("section.wb-act input[name=action][value={action}]"),
    )
    .await;
    type_into(client, "section.wb-act textarea[name=opinion]", opinion).await;
    click_until(
        client,
        "section.wb-act button[type=submit]",
        "document.getElementById('case-done') !== null \
         || document.getElementById('act-refused') !== null \
         || document.getElementById('case-refused') !== null",
    )
    .await;
    assert!(
        client.find(Locator::Id("case-done")).await.is_ok(),
        "{action} refused: {}",
        text(client, "main").await
    );
}

db_test!(
    #[cfg_attr(
        yiwang_no_browser,
        ignore = "browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver is missing (Debian packages chromium, chromium-driver)"
    )]
    apply_accept_grant_deliver_and_read_the_decision
);

#[expect(clippy::too_many_lines, reason = "one case from application to notice")]
async fn apply_accept_grant_deliver_and_read_the_decision(t: &TestDb) {
    let browser = Browser::start().await;
    // Set-up: posts and staff, the workflow, the citizen's account.
    let state = state(t).await;
    seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(FOOD_RENEWAL)
        .await
        .unwrap()
        .id;
    let mandatory: Vec<(usize, String)> = state
        .catalog()
        .guide(item, None)
        .await
        .unwrap()
        .version
        .content
        .materials
        .iter()
        .enumerate()
        .filter(|(_, m)| m.mandatory)
        .map(|(i, m)| (i, m.name.clone()))
        .collect();
    assert!(!mandatory.is_empty());
    // The item produces a 食品经营许可证 (its operator from the form) that replaces its first
    // mandatory material on later applications.
    let (replaced_index, replaced) = mandatory[0].clone();
    state
        .licenses()
        .define_type(
            &yiwang_identity::policy::Principal::System,
            &food_licence(&replaced),
            "test",
        )
        .await
        .unwrap();
    let item = item.get();
    let app = yiwang_web::app(state);
    let admin = staff_token(&app, "SC0001").await;
    let published = publish(&app, &admin, item, WORKFLOW).await;
    assert_eq!(
        published.status,
        axum::http::StatusCode::CREATED,
        "{}",
        published.body
    );
    person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let files = tempfile::tempdir().unwrap();
    let pdf = files.path().join("application.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    let addr = serve(app).await;
    let base = format!("http://{addr}");
    let client = &browser.client;

    // The citizen: the guide, 在线办理, log in on the way.
    client
        .goto(&format!("{base}/items/{item}"))
        .await
        .expect("guide");
    assert_eq!(text(client, "#apply-online").await, "在线办理");
    click_to(client, "#apply-online", "/login").await;
    fill(client, "login", MOBILE_A).await;
    fill(client, "password", PASSWORD).await;
    click_to(
        client,
        "form.form button[type=submit]",
        &format!("/apply/{item}"),
    )
    .await;
    assert!(text(client, "h1").await.contains("食品经营许可（延续）"));

    // The form: the answer, a PDF for every mandatory material, then check the answers.
    fill(client, "a_operator", "合肥味道餐饮管理有限公司").await;
    for (index, _) in &mandatory {
        client
            .find(Locator::Id(&format!("file_{index}")))
            .await
            .expect("file input")
            .send_keys(pdf.to_str().unwrap())
            .await
            .expect("choose the file");
    }
    click_until(
        client,
        "button[name=go][value=check]",
        "location.pathname.endsWith('/check') || document.querySelector('.error-summary') !== null",
    )
    .await;
    let check = text(client, "main").await;
    assert!(
        client.find(Locator::Id("submit-application")).await.is_ok(),
        "the answers are not ready: {check}"
    );
    assert!(check.contains("合肥味道餐饮管理有限公司"), "{check}");
    for (_, name) in &mandatory {
        assert!(check.contains(name.as_str()), "{name} missing: {check}");
    }
    assert!(check.contains("application.pdf"), "{check}");
    assert!(
        check.contains(&yiwang_kernel::sm3_hex(PDF)),
        "the upload's digest"
    );

    // Submit: the confirmation gives the case number.
    click_until(
        client,
        "#submit-application",
        "document.getElementById('case-no') !== null",
    )
    .await;
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/submitted")
    );
    let case_no = text(client, "#case-no").await;
    assert!(case_no.starts_with("340100"), "{case_no}");
    assert_eq!(text(client, "#query-code").await.len(), 8);
    log_out(client).await;

    // The window accepts.
    staff_log_in(client, &base, "SC0101").await;
    claim_and_open(client, &case_no).await;
    assert!(
        text(client, "#answers")
            .await
            .contains("合肥味道餐饮管理有限公司")
    );
    assert!(text(client, "#materials").await.contains("application.pdf"));
    act(client, "accept", "材料齐全，予以受理").await;
    assert!(
        text(client, "#history")
            .await
            .contains("材料齐全，予以受理")
    );
    log_out(client).await;

    // The decision post (another person) grants.
    staff_log_in(client, &base, "SC0301").await;
    claim_and_open(client, &case_no).await;
    act(client, "grant", "符合法定条件，准予延续").await;
    log_out(client).await;

    // The window delivers the result.
    staff_log_in(client, &base, "SC0101").await;
    claim_and_open(client, &case_no).await;
    act(client, "conclude", "已通过电子证照送达").await;
    let history = text(client, "#history").await;
    for step in ["受理", "准予", "办结送达"] {
        assert!(history.contains(step), "history lacks {step}: {history}");
    }
    log_out(client).await;

    // The citizen: 我的办件, the case, the result, the decision.
    click_to(client, "#login-link", "/login").await;
    fill(client, "login", MOBILE_A).await;
    fill(client, "password", PASSWORD).await;
    click_to(client, "form.form button[type=submit]", "/").await;
    click_to(client, "#account-link", "/account").await;
    click_to(client, "#my-cases-link", "/my/cases").await;
    let row = text(client, "table.cs-table tbody tr").await;
    assert!(row.contains(&case_no) && row.contains("已办结"), "{row}");
    click_until(
        client,
        "table.cs-table tbody tr td:last-child a",
        "document.getElementById('case-status') !== null",
    )
    .await;
    let key_path = client.current_url().await.unwrap().path().to_owned();
    assert!(key_path.starts_with("/my/cases/"), "{key_path}");
    let key = key_path.trim_start_matches("/my/cases/").to_owned();
    assert_eq!(text(client, "#case-status").await, "已办结");
    assert_eq!(text(client, "#case-outcome").await, "准予许可");
    assert!(text(client, "main").await.contains(&case_no));
    let notice = format!("/cases/{key}/notices/granted");
    assert_eq!(
        text(client, &format!("a[href='{notice}']")).await,
        "准予行政许可决定书"
    );
    click_to(client, &format!("a[href='{notice}']"), &notice).await;
    assert_eq!(text(client, "#notice-title").await, "准予行政许可决定书");
    assert_eq!(text(client, "#notice-no").await, case_no);
    let body = text(client, "#notice").await;
    assert!(body.contains(&case_no), "{body}");
    assert!(
        body.contains("张晓明") && body.contains("食品经营许可（延续）"),
        "{body}"
    );
    assert!(
        body.contains("符合法定条件，准予延续"),
        "the decision's reason: {body}"
    );
    // The notice carries a real seal: the seal, the QR code, and a verification link that says
    // the notice is genuine.
    assert!(!body.contains("（盖章）"), "{body}");
    assert!(
        client
            .find(Locator::Css("#notice-seal .cs-seal-qr svg path"))
            .await
            .is_ok(),
        "the notice's QR code is drawn"
    );
    click_until(
        client,
        "a.cs-notice-verify",
        "document.getElementById('verify-notice') !== null",
    )
    .await;
    assert_eq!(text(client, "#verify-notice .lv-verdict").await, "真实有效");
    assert!(text(client, "#verify-notice").await.contains(&case_no));

    // 我的证照: the licence the grant issued, valid on its QR verification page.
    client
        .goto(&format!("{base}/my/licences"))
        .await
        .expect("wallet");
    let card = text(client, "#licences").await;
    assert!(
        card.contains("食品经营许可证") && card.contains("有效"),
        "{card}"
    );
    click_until(
        client,
        "#licences .lic-card h2 a",
        "document.getElementById('verify-link') !== null",
    )
    .await;
    click_until(
        client,
        "#verify-link",
        "document.getElementById('verify-result') !== null",
    )
    .await;
    assert_eq!(text(client, "#verify-result .lv-verdict").await, "有效");

    // The next application asks for no upload of the material the licence replaces.
    client
        .goto(&format!("{base}/apply/{item}"))
        .await
        .expect("form");
    assert!(
        client
            .find(Locator::Id(&format!("licence_{replaced_index}")))
            .await
            .is_ok(),
        "{replaced} is fulfilled by the licence"
    );
    assert!(
        client
            .find(Locator::Css(&format!("input#file_{replaced_index}")))
            .await
            .is_err(),
        "no file input for {replaced}"
    );
    assert!(text(client, "main").await.contains("无需上传"));

    browser.close().await;
    files.close().expect("temp files removed");
}
