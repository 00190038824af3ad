//! The e-licence pages on both backends: the holder's wallet (list, one licence with its QR code
//! and seal, 亮证, usage grants, who read my licences) only for its holder, and the staff licence
//! pages (list and search, issue by hand, revoke / cancel, renew, import, pending, types, redeeming
//! a 亮证 code) only for staff of issuing departments. Forms answer every problem on its field and
//! change nothing.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::NaiveDate;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_licenses::model::{FieldDef, FieldKind, HolderKind, Validity};
use yiwang_licenses::service::{HolderRef, IssueRequest};
use yiwang_licenses::{License, LicenseType};
use yiwang_web::prefs::encode_component;
use yiwang_web::{AppState, app};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};
use crate::appointment_pages::User;
use crate::staff::{person_token, seed_staff, staff_token};
use crate::support::{Reply, get, send, state};

const SOURCE: &str = "test";

fn field(name: &str, label: &str, kind: FieldKind, required: bool, public: bool) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        public,
    }
}

/// 居住证 issued by 合肥市市场监管局 in this fixture (the web fixture's organisation is small).
fn residence_permit() -> LicenseType {
    LicenseType {
        code: "JZZ".to_owned(),
        name: "居住证".to_owned(),
        departments: vec!["hf-scjgj".to_owned()],
        holder: HolderKind::Person,
        fields: vec![
            field("address", "居住地址", FieldKind::Text, true, false),
            field("issuing_office", "签发机关", FieldKind::Text, true, true),
            field("registered_on", "登记日期", FieldKind::Date, false, false),
        ],
        validity: Validity::Years { years: 1 },
        producing_items: Vec::new(),
        replaces: Vec::new(),
        legal_basis: Vec::new(),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

struct World {
    state: AppState,
    app: axum::Router,
    holder: User,
    other: User,
    /// 合肥市市场监管局 window staff: issues 居住证 here.
    clerk: User,
    /// 康巴什区民政局 window staff: issues nothing.
    outsider: User,
    /// Issued to the holder, valid until 2026-02-28 (15 days after the fixture's today).
    licence: License,
}

async fn world(t: &TestDb) -> World {
    let state = state(t).await;
    let app = app(state.clone());
    state
        .licenses()
        .define_type(&Principal::System, &residence_permit(), SOURCE)
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
    seed_staff(
        &state,
        "kbs-mzj",
        "KM0101",
        "13900002201",
        &["window_staff"],
    )
    .await;
    let holder = person_token(&state.db().clone(), &app, "张三", RID_A, MOBILE_A).await;
    let other = person_token(&state.db().clone(), &app, "李四", RID_B, MOBILE_B).await;
    let clerk = staff_token(&app, "SC0101").await;
    let outsider = staff_token(&app, "KM0101").await;
    let licence = issue(&state, RID_A, "2025-03-01").await;
    World {
        holder: User::from_token(&app, &holder).await,
        other: User::from_token(&app, &other).await,
        clerk: User::from_token(&app, &clerk).await,
        outsider: User::from_token(&app, &outsider).await,
        licence,
        state,
        app,
    }
}

async fn issue(state: &AppState, rid: &str, from: &str) -> License {
    state
        .licenses()
        .issue(
            &Principal::System,
            &IssueRequest {
                type_code: "JZZ".to_owned(),
                holder: Some(HolderRef::ResidentId(rid.to_owned())),
                data: map(&[
                    ("address", "安徽省合肥市蜀山区长江西路189号"),
                    ("issuing_office", "合肥市公安局蜀山分局"),
                ]),
                valid_from: Some(NaiveDate::parse_from_str(from, "%Y-%m-%d").unwrap()),
                department: Some("hf-scjgj".to_owned()),
            },
            SOURCE,
        )
        .await
        .unwrap()
}

async fn licence_count(state: &AppState) -> u64 {
    yiwang_db::count(state.db().conn(), "SELECT COUNT(*) FROM licences", [])
        .await
        .unwrap()
}

async fn grant_count(state: &AppState) -> u64 {
    yiwang_db::count(state.db().conn(), "SELECT COUNT(*) FROM licence_grants", [])
        .await
        .unwrap()
}

async fn status_of(state: &AppState, identifier: &str) -> String {
    use yiwang_db::ConnectionTrait as _;
    let conn = state.db().conn();
    let row = conn
        .query_one_raw(yiwang_db::stmt(
            conn,
            "SELECT status FROM licences WHERE identifier = $1",
            [identifier.into()],
        ))
        .await
        .unwrap()
        .expect("the licence");
    row.try_get::<String>("", "status").unwrap()
}

/// The text inside the element with this id (no nested elements).
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker).expect("the element");
    let open = start + html[start..].find('>').unwrap() + 1;
    let close = open + html[open..].find('<').unwrap();
    html[open..close].trim().to_owned()
}

fn assert_status(reply: &Reply, status: StatusCode, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
}

// ------------------------------------------------------------------------------- wallet

async fn wallet_pages_are_the_holders_only(t: &TestDb) {
    let w = world(t).await;
    let id = w.licence.identifier.to_string();

    // The list: the licence with its status and the expiring-soon hint.
    let list = w.holder.get(&w.app, "/my/licences").await;
    assert_status(&list, StatusCode::OK, "wallet");
    list.assert_has(".lic-card", "the licence is listed");
    list.assert_has(".lic-status-valid", "status badge");
    list.assert_has(".lic-expiring", "expires within 30 days");
    assert!(list.body.contains("居住证") && list.body.contains(&id));
    // Someone without licences sees the empty state.
    let empty = w.other.get(&w.app, "/my/licences").await;
    assert_status(&empty, StatusCode::OK, "empty wallet");
    empty.assert_has("#wallet-empty", "empty state");
    empty.assert_lacks("#licences", "nothing listed");

    // One licence: data (private ones marked), QR code, seal, PDF and verification links.
    let detail = w.holder.get(&w.app, &format!("/my/licences/{id}")).await;
    assert_status(&detail, StatusCode::OK, "detail");
    detail.assert_has("#licence-qr", "QR code");
    assert!(detail.body.contains("<svg"), "drawn as SVG");
    detail.assert_has(".lic-seal", "the issuer's seal");
    detail.assert_has("#pdf-link", "PDF download");
    detail.assert_has("#verify-link", "verification page");
    detail.assert_has("#show-code", "亮证 button");
    detail.assert_has("#expiring-hint", "renewal hint");
    detail.assert_has(".lic-private", "private fields are marked");
    assert!(detail.body.contains("安徽省合肥市蜀山区长江西路189号"));
    assert!(detail.body.contains(&format!(
        "/licences/verify?p={}",
        encode_component(&w.licence.qr_payload())
    )));
    // In English too.
    let en = crate::support::get_with(
        &w.app,
        &format!("/my/licences/{id}"),
        &[("cookie", &format!("{}; yw_lang=en", w.holder.cookie))],
    )
    .await;
    assert!(en.body.contains("Download PDF"), "{}", en.body);

    // Others: 404 for another person, 403 for staff, the log-in page for nobody.
    let theirs = w.other.get(&w.app, &format!("/my/licences/{id}")).await;
    assert_status(&theirs, StatusCode::NOT_FOUND, "someone else's licence");
    for uri in [
        "/my/licences".to_owned(),
        format!("/my/licences/{id}"),
        "/my/licences/grants".to_owned(),
        "/my/licences/reads".to_owned(),
    ] {
        let staff = w.clerk.get(&w.app, &uri).await;
        assert_status(&staff, StatusCode::FORBIDDEN, &uri);
        let anonymous = get(&w.app, &uri).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "{uri}");
        assert!(anonymous.header("location").starts_with("/login"), "{uri}");
    }
    // Pages are bounded.
    let beyond = w.holder.get(&w.app, "/my/licences?page=1001").await;
    assert_status(
        &beyond,
        StatusCode::UNPROCESSABLE_ENTITY,
        "page beyond the bound",
    );
    let reads = w.holder.get(&w.app, "/my/licences/reads?page=0").await;
    assert_status(&reads, StatusCode::UNPROCESSABLE_ENTITY, "page 0");
}

async fn show_codes_are_redeemed_once_and_logged(t: &TestDb) {
    let w = world(t).await;
    let id = w.licence.identifier.to_string();
    // Someone else cannot make a code for it.
    let theirs = w
        .other
        .post(&w.app, &format!("/my/licences/{id}/show"), &[])
        .await;
    assert_status(&theirs, StatusCode::NOT_FOUND, "not the holder's");

    let shown = w
        .holder
        .post(&w.app, &format!("/my/licences/{id}/show"), &[])
        .await;
    assert_status(&shown, StatusCode::OK, "show code");
    assert_eq!(shown.header("cache-control"), "no-store");
    shown.assert_has(".lic-show", "QR code of the show code");
    shown.assert_has("#show-expires", "the expiry time");
    let digits = text_of(&shown.body, "show-digits");
    assert_eq!(digits.len(), 6);
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        shown.body.contains("2026-02-13 09:05"),
        "5 minutes from now"
    );

    // A wrong code: the message on the field, nothing read.
    let wrong = if digits == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = w
        .clerk
        .post(&w.app, "/staff/licences/redeem", &[("code", wrong)])
        .await;
    assert_status(&refused, StatusCode::UNPROCESSABLE_ENTITY, "wrong code");
    refused.assert_has("#code-error", "message on the field");
    // Staff of a department that issues nothing do not get the page.
    let outsider = w
        .outsider
        .post(&w.app, "/staff/licences/redeem", &[("code", &digits)])
        .await;
    assert_status(&outsider, StatusCode::FORBIDDEN, "outsider");

    let redeemed = w
        .clerk
        .post(&w.app, "/staff/licences/redeem", &[("code", &digits)])
        .await;
    assert_status(&redeemed, StatusCode::OK, "redeem");
    redeemed.assert_has("#redeemed", "the licence shown");
    assert!(redeemed.body.contains(&id));
    let again = w
        .clerk
        .post(&w.app, "/staff/licences/redeem", &[("code", &digits)])
        .await;
    assert_status(&again, StatusCode::UNPROCESSABLE_ENTITY, "used once");

    // The holder sees who read it.
    let reads = w.holder.get(&w.app, "/my/licences/reads").await;
    assert_status(&reads, StatusCode::OK, "reads");
    reads.assert_has("#reads", "the read is listed");
    assert!(reads.body.contains("亮证"), "{}", reads.body);
    assert!(reads.body.contains("合肥市市场监督管理局") || reads.body.contains("市场监"));
    let none = w.other.get(&w.app, "/my/licences/reads").await;
    none.assert_has("#reads-empty", "nobody read the other's");
}

async fn grants_validate_on_their_fields(t: &TestDb) {
    let w = world(t).await;
    let scope = format!("licence:{}", w.licence.identifier);
    let page = w.holder.get(&w.app, "/my/licences/grants").await;
    assert_status(&page, StatusCode::OK, "grants page");
    page.assert_has("#grants-empty", "no grants yet");
    page.assert_has("option[value=\"hf-mzj\"]", "departments listed");
    page.assert_has(&format!("option[value=\"{scope}\"]"), "licence listed");

    for (fields, error) in [
        (
            vec![
                ("department", "hf-mzj"),
                ("scope", scope.as_str()),
                ("purpose", " "),
                ("days", "30"),
            ],
            "#purpose-error",
        ),
        (
            vec![
                ("department", "hf-mzj"),
                ("scope", scope.as_str()),
                ("purpose", "办理婚姻登记"),
                ("days", "0"),
            ],
            "#days-error",
        ),
        (
            vec![
                ("department", "hf-mzj"),
                ("scope", scope.as_str()),
                ("purpose", "办理婚姻登记"),
                ("days", "366"),
            ],
            "#days-error",
        ),
        (
            vec![
                ("department", ""),
                ("scope", scope.as_str()),
                ("purpose", "办理婚姻登记"),
                ("days", "30"),
            ],
            "#department-error",
        ),
        (
            vec![
                ("department", "no-such"),
                ("scope", scope.as_str()),
                ("purpose", "办理婚姻登记"),
                ("days", "30"),
            ],
            "#department-error",
        ),
        (
            vec![
                ("department", "hf-mzj"),
                ("scope", ""),
                ("purpose", "办理婚姻登记"),
                ("days", "30"),
            ],
            "#scope-error",
        ),
    ] {
        let reply = w.holder.post(&w.app, "/my/licences/grants", &fields).await;
        assert_status(&reply, StatusCode::UNPROCESSABLE_ENTITY, error);
        reply.assert_has(error, "message on the field");
        reply.assert_has(".error-summary", "summary");
        assert_eq!(grant_count(&w.state).await, 0, "{error}: nothing stored");
    }
    // Another person cannot grant someone else's licence.
    let theirs = w
        .other
        .post(
            &w.app,
            "/my/licences/grants",
            &[
                ("department", "hf-mzj"),
                ("scope", &scope),
                ("purpose", "办理婚姻登记"),
                ("days", "30"),
            ],
        )
        .await;
    assert_status(&theirs, StatusCode::UNPROCESSABLE_ENTITY, "not theirs");
    assert_eq!(grant_count(&w.state).await, 0);

    let created = w
        .holder
        .post(
            &w.app,
            "/my/licences/grants",
            &[
                ("department", "hf-mzj"),
                ("scope", &scope),
                ("purpose", "办理婚姻登记"),
                ("days", "30"),
            ],
        )
        .await;
    assert_status(&created, StatusCode::SEE_OTHER, "grant");
    assert_eq!(
        created.header("location"),
        "/my/licences/grants?done=created"
    );
    assert_eq!(grant_count(&w.state).await, 1);
    let listed = w
        .holder
        .get(&w.app, "/my/licences/grants?done=created")
        .await;
    listed.assert_has("#done", "confirmation");
    listed.assert_has("#grants", "listed");
    assert!(listed.body.contains("办理婚姻登记"));
    let public_id = revoke_buttons(&listed)[0].clone();
    // Someone else cannot withdraw it.
    let theirs = w
        .other
        .post(
            &w.app,
            &format!("/my/licences/grants/{public_id}/revoke"),
            &[],
        )
        .await;
    assert_status(&theirs, StatusCode::NOT_FOUND, "not theirs");
    let revoked = w
        .holder
        .post(
            &w.app,
            &format!("/my/licences/grants/{public_id}/revoke"),
            &[],
        )
        .await;
    assert_status(&revoked, StatusCode::SEE_OTHER, "revoke");
    let after = w.holder.get(&w.app, "/my/licences/grants").await;
    assert!(
        revoke_buttons(&after).is_empty(),
        "nothing left to withdraw"
    );
    assert!(after.body.contains("已撤销"));
}

// ------------------------------------------------------------------------------- staff

async fn staff_pages_are_for_issuing_departments(t: &TestDb) {
    let w = world(t).await;
    let id = w.licence.identifier.to_string();
    for uri in [
        "/staff/licences".to_owned(),
        "/staff/licences/types".to_owned(),
        "/staff/licences/pending".to_owned(),
        "/staff/licences/issue".to_owned(),
        "/staff/licences/import".to_owned(),
        "/staff/licences/redeem".to_owned(),
        format!("/staff/licences/{id}"),
        format!("/staff/licences/{id}/end"),
        format!("/staff/licences/{id}/renew"),
    ] {
        let ok = w.clerk.get(&w.app, &uri).await;
        assert_status(&ok, StatusCode::OK, &uri);
        let outsider = w.outsider.get(&w.app, &uri).await;
        assert_status(&outsider, StatusCode::FORBIDDEN, &uri);
        let person = w.holder.get(&w.app, &uri).await;
        assert_status(&person, StatusCode::FORBIDDEN, &uri);
    }
    // The workspace links to the pages only for issuing departments.
    let workspace = w.clerk.get(&w.app, "/staff/departments/hf-scjgj").await;
    workspace.assert_has("#licences-link", "证照管理 link");
    let workspace = w.outsider.get(&w.app, "/staff/departments/kbs-mzj").await;
    workspace.assert_lacks("#licences-link", "no link where nothing is issued");
    // The holder's account links to the wallet.
    let account = w.holder.get(&w.app, "/account").await;
    account.assert_has("#my-licences-link", "我的证照 link");

    // The list and its search (holder, identifier, type); bounded.
    issue(&w.state, RID_B, "2026-01-05").await;
    let list = w.clerk.get(&w.app, "/staff/licences").await;
    assert_eq!(licence_links(&list), 2);
    for q in ["张三", &id[..24], "居住"] {
        let found = w
            .clerk
            .get(
                &w.app,
                &format!("/staff/licences?q={}", encode_component(q)),
            )
            .await;
        assert_status(&found, StatusCode::OK, q);
        assert!(licence_links(&found) > 0, "{q}");
    }
    let one = w
        .clerk
        .get(
            &w.app,
            &format!("/staff/licences?q={}", encode_component("张三")),
        )
        .await;
    assert_eq!(licence_links(&one), 1);
    let none = w.clerk.get(&w.app, "/staff/licences?q=nobody").await;
    none.assert_has("#staff-empty", "empty result");
    let long = w
        .clerk
        .get(&w.app, &format!("/staff/licences?q={}", "a".repeat(101)))
        .await;
    assert_status(&long, StatusCode::UNPROCESSABLE_ENTITY, "search bound");

    // The types' catalogue shows the fields.
    let types = w.clerk.get(&w.app, "/staff/licences/types").await;
    types.assert_has("#type-JZZ", "the type");
    assert!(types.body.contains("居住地址") && types.body.contains("issuing_office"));
    let pending = w.clerk.get(&w.app, "/staff/licences/pending").await;
    pending.assert_has("#pending-empty", "nothing pending");
}

async fn staff_issue_end_and_renew_validate_per_field(t: &TestDb) {
    let w = world(t).await;
    let before = licence_count(&w.state).await;

    // Issue: every problem on its field at once, nothing stored.
    let form = w.clerk.get(&w.app, "/staff/licences/issue?type=JZZ").await;
    form.assert_has("input#d_address", "typed fields");
    form.assert_has("input#d_registered_on[type=date]", "dates as dates");
    let bad = w
        .clerk
        .post(
            &w.app,
            "/staff/licences/issue",
            &[
                ("type", "JZZ"),
                ("holder", ""),
                ("valid_from", "2026-02-30"),
                ("d_address", ""),
                ("d_issuing_office", "合肥市公安局"),
                ("d_registered_on", "yesterday"),
            ],
        )
        .await;
    assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, "bad issue");
    for error in [
        "#holder-error",
        "#valid_from-error",
        "#d_address-error",
        "#d_registered_on-error",
    ] {
        bad.assert_has(error, "message on the field");
    }
    bad.assert_lacks("#d_issuing_office-error", "the good field has no message");
    assert!(bad.body.contains("合肥市公安局"), "values kept");
    let unknown = w
        .clerk
        .post(
            &w.app,
            "/staff/licences/issue",
            &[
                ("type", "JZZ"),
                ("holder", "110101199003070000"),
                ("d_address", "合肥市"),
                ("d_issuing_office", "合肥市公安局"),
            ],
        )
        .await;
    assert_status(&unknown, StatusCode::UNPROCESSABLE_ENTITY, "unknown holder");
    unknown.assert_has("#holder-error", "holder message");
    assert_eq!(licence_count(&w.state).await, before);
    let other_type = w
        .clerk
        .post(&w.app, "/staff/licences/issue", &[("type", "NOPE")])
        .await;
    assert_status(&other_type, StatusCode::NOT_FOUND, "unknown type");
    let outsider = w
        .outsider
        .post(&w.app, "/staff/licences/issue", &[("type", "JZZ")])
        .await;
    assert_status(&outsider, StatusCode::FORBIDDEN, "outsider issue");

    let issued = w
        .clerk
        .post(
            &w.app,
            "/staff/licences/issue",
            &[
                ("type", "JZZ"),
                ("holder", RID_B),
                ("valid_from", ""),
                ("d_address", "合肥市包河区徽州大道1号"),
                ("d_issuing_office", "合肥市公安局包河分局"),
            ],
        )
        .await;
    assert_status(&issued, StatusCode::SEE_OTHER, "issue");
    let href = issued.header("location").to_owned();
    assert!(href.ends_with("?done=issued"), "{href}");
    assert_eq!(licence_count(&w.state).await, before + 1);
    let page = w.clerk.get(&w.app, &href).await;
    page.assert_has("#done", "issued");
    page.assert_has("#end-link", "revoke offered");
    // The new holder sees it in their wallet.
    let theirs = w.other.get(&w.app, "/my/licences").await;
    assert!(
        theirs.body.contains("合肥市包河区徽州大道1号") || theirs.select(".lic-card").len() == 1
    );

    // Revoke / cancel: choice, reason and confirmation, each on its field; nothing changes.
    let id = w.licence.identifier.to_string();
    let end = format!("/staff/licences/{id}/end");
    let unconfirmed = w
        .clerk
        .post(
            &w.app,
            &end,
            &[("action", "revoke"), ("reason", "以欺骗手段取得")],
        )
        .await;
    assert_status(
        &unconfirmed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no confirmation",
    );
    unconfirmed.assert_has("#confirm-error", "confirmation message");
    let no_reason = w
        .clerk
        .post(
            &w.app,
            &end,
            &[("action", "revoke"), ("reason", ""), ("confirm", "yes")],
        )
        .await;
    assert_status(&no_reason, StatusCode::UNPROCESSABLE_ENTITY, "no reason");
    no_reason.assert_has("#reason-error", "reason message");
    assert_eq!(status_of(&w.state, &id).await, "valid");
    let outsider = w
        .outsider
        .post(
            &w.app,
            &end,
            &[("action", "revoke"), ("reason", "x"), ("confirm", "yes")],
        )
        .await;
    assert_status(&outsider, StatusCode::FORBIDDEN, "outsider revoke");
    assert_eq!(status_of(&w.state, &id).await, "valid");

    // Renew: a bad date on its field; then a new version.
    let renew = format!("/staff/licences/{id}/renew");
    let form = w.clerk.get(&w.app, &renew).await;
    assert!(
        form.body.contains("安徽省合肥市蜀山区长江西路189号"),
        "current values"
    );
    let bad = w
        .clerk
        .post(
            &w.app,
            &renew,
            &[
                ("d_registered_on", "2026-13-01"),
                ("reason", "变更居住地址"),
            ],
        )
        .await;
    assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, "bad renewal");
    bad.assert_has("#d_registered_on-error", "message on the field");
    assert_eq!(status_of(&w.state, &id).await, "valid");
    let renewed = w
        .clerk
        .post(
            &w.app,
            &renew,
            &[
                ("d_address", "安徽省合肥市政务区怀宁路1号"),
                ("reason", "变更居住地址"),
            ],
        )
        .await;
    assert_status(&renewed, StatusCode::SEE_OTHER, "renew");
    assert_eq!(status_of(&w.state, &id).await, "replaced");
    let new_href = renewed.header("location").to_owned();
    let new_id = new_href
        .trim_start_matches("/staff/licences/")
        .trim_end_matches("?done=renewed")
        .to_owned();
    assert_ne!(new_id, id);

    let revoked = w
        .clerk
        .post(
            &w.app,
            &format!("/staff/licences/{new_id}/end"),
            &[
                ("action", "revoke"),
                ("reason", "以欺骗手段取得"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_status(&revoked, StatusCode::SEE_OTHER, "revoke");
    assert_eq!(status_of(&w.state, &new_id).await, "revoked");
    // A revoked licence cannot be revoked or cancelled again: the message, 409.
    let again = w
        .clerk
        .post(
            &w.app,
            &format!("/staff/licences/{new_id}/end"),
            &[("action", "cancel"), ("reason", "重复"), ("confirm", "yes")],
        )
        .await;
    assert_status(&again, StatusCode::CONFLICT, "already revoked");
    // The holder's wallet shows the history and the badges.
    let wallet = w.holder.get(&w.app, "/my/licences").await;
    wallet.assert_has(".lic-status-revoked", "吊销 badge");
    wallet.assert_has(".lic-status-replaced", "已换发 badge");
    let detail = w
        .holder
        .get(&w.app, &format!("/my/licences/{new_id}"))
        .await;
    detail.assert_lacks("#show-code", "no 亮证 for a revoked licence");
    detail.assert_has("#licence-history", "history");
    assert!(detail.body.contains("以欺骗手段取得"));
}

const BOUNDARY: &str = "licence-import-boundary";

async fn import(w: &World, user: &User, type_code: &str, csv: &str) -> Reply {
    let mut body = Vec::new();
    for (name, value) in [("csrf", user.csrf.as_str()), ("type", type_code)] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"jzz.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{BOUNDARY}--\r\n"
        )
        .as_bytes(),
    );
    send(
        &w.app,
        Request::post("/staff/licences/import")
            .header("cookie", &user.cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn import_is_all_or_nothing_with_line_numbers(t: &TestDb) {
    let w = world(t).await;
    let before = licence_count(&w.state).await;
    let bad_csv = format!(
        "holder,valid_from,expires_on,address,issuing_office\n\
         {RID_B},2025-06-01,,合肥市庐阳区,合肥市公安局庐阳分局\n\
         {RID_B},2025-13-01,,合肥市瑶海区,合肥市公安局瑶海分局\n\
         110101199003070000,2025-06-01,,合肥市,合肥市公安局\n"
    );
    let bad = import(&w, &w.clerk, "JZZ", &bad_csv).await;
    assert_status(&bad, StatusCode::UNPROCESSABLE_ENTITY, "bad import");
    bad.assert_has("#bad-rows", "the bad rows");
    assert!(
        bad.body.contains("<tr><td>3</td>") && bad.body.contains("<tr><td>4</td>"),
        "lines 3 and 4 named: {}",
        bad.body
    );
    assert!(!bad.body.contains("<tr><td>2</td>"), "line 2 is good");
    assert_eq!(licence_count(&w.state).await, before, "nothing imported");
    let no_type = import(&w, &w.clerk, "", "holder,valid_from\n").await;
    assert_status(&no_type, StatusCode::UNPROCESSABLE_ENTITY, "no type");
    no_type.assert_has("#type-error", "type message");
    let outsider = import(&w, &w.outsider, "JZZ", &bad_csv).await;
    assert_status(&outsider, StatusCode::FORBIDDEN, "outsider import");

    let good = format!(
        "holder,valid_from,expires_on,address,issuing_office\n\
         {RID_B},2025-06-01,,合肥市庐阳区,合肥市公安局庐阳分局\n\
         {RID_A},2025-07-01,2026-06-30,合肥市瑶海区,合肥市公安局瑶海分局\n"
    );
    let done = import(&w, &w.clerk, "JZZ", &good).await;
    assert_status(&done, StatusCode::OK, "import");
    done.assert_has("#import-done", "confirmation");
    assert_eq!(licence_links(&done), 2);
    assert_eq!(licence_count(&w.state).await, before + 2);
}

/// Intake at the window, the decision on the chief's post.
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

async fn the_form_asks_no_upload_for_a_material_a_licence_replaces(t: &TestDb) {
    let state = state(t).await;
    crate::cases::seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(crate::cases::FOOD_RENEWAL)
        .await
        .unwrap()
        .id;
    let (index, material) = state
        .catalog()
        .guide(item, None)
        .await
        .unwrap()
        .version
        .content
        .materials
        .iter()
        .enumerate()
        .find(|(_, m)| m.mandatory)
        .map(|(i, m)| (i, m.name.clone()))
        .unwrap();
    let mut t_def = residence_permit();
    t_def.replaces = vec![yiwang_licenses::model::Replacement {
        item: crate::cases::FOOD_RENEWAL.to_owned(),
        material: material.clone(),
    }];
    state
        .licenses()
        .define_type(&Principal::System, &t_def, SOURCE)
        .await
        .unwrap();
    let app = app(state.clone());
    let admin = staff_token(&app, "SC0001").await;
    let published = crate::cases::publish(&app, &admin, item.get(), WORKFLOW).await;
    assert_status(&published, StatusCode::CREATED, "workflow");
    let holder_token = person_token(&state.db().clone(), &app, "张三", RID_A, MOBILE_A).await;
    let other = person_token(&state.db().clone(), &app, "李四", RID_B, MOBILE_B).await;
    let licence = issue(&state, RID_A, "2026-01-05").await;
    let holder = User::from_token(&app, &holder_token).await;
    let other = User::from_token(&app, &other).await;

    // The guide says the material needs no paper.
    let guide = get(&app, &format!("/items/{}", item.get())).await;
    guide.assert_has(".lic-paperless", "可用电子证照免提交");
    // The holder's form links the licence instead of asking for the file.
    let form = holder.get(&app, &format!("/apply/{}", item.get())).await;
    assert_status(&form, StatusCode::OK, "form");
    form.assert_has(&format!("#licence_{index}"), "the linked licence");
    form.assert_lacks(&format!("input#file_{index}"), "no file input for it");
    assert!(form.body.contains(licence.identifier.as_str()));
    assert!(form.body.contains("无需上传"));
    // Someone without the licence is asked for the file.
    let theirs = other.get(&app, &format!("/apply/{}", item.get())).await;
    theirs.assert_has(&format!("input#file_{index}"), "file input");
    theirs.assert_lacks(&format!("#licence_{index}"), "no licence to link");

    // The holder applies without that paper; the reviewer opens the licence from the case page
    // (through the application's grant) and the read appears in the holder's log.
    let mut materials = Vec::new();
    for m in state
        .catalog()
        .guide(item, None)
        .await
        .unwrap()
        .version
        .content
        .materials
        .iter()
        .filter(|m| m.mandatory && m.name != material)
    {
        let up = crate::cases::upload(
            &app,
            &holder_token,
            &format!("{}.pdf", m.name),
            b"%PDF-1.7 test",
        )
        .await;
        assert_status(&up, StatusCode::CREATED, "upload");
        materials.push(serde_json::json!({ "material": m.name, "file": up.json()["id"] }));
    }
    let applied = crate::staff::call(
        &app,
        "POST",
        "/api/v1/cases",
        Some(&holder_token),
        Some(serde_json::json!({ "item": item.get(), "answers": { "operator": "合肥味道餐饮管理有限公司" }, "materials": materials })),
    )
    .await;
    assert_status(&applied, StatusCode::CREATED, "applied without the paper");
    let case_no = applied.json()["case_no"].as_str().unwrap().to_owned();
    let window = User::from_token(&app, &staff_token(&app, "SC0101").await).await;
    let case_page = window.get(&app, &format!("/staff/cases/{case_no}")).await;
    assert_status(&case_page, StatusCode::OK, "case page");
    case_page.assert_has("#case-licences", "the licence that fulfils the material");
    assert!(case_page.body.contains(licence.identifier.as_str()));
    let link = format!(
        "/staff/cases/{case_no}/licence?material={}",
        encode_component(&material)
    );
    let read = window.get(&app, &link).await;
    assert_status(&read, StatusCode::OK, "the reviewer reads the licence");
    read.assert_has("#case-licence", "read through the application's grant");
    read.assert_has("#back-to-case", "the way back to the case");
    assert!(read.body.contains(licence.identifier.as_str()));
    let reads = holder.get(&app, "/my/licences/reads").await;
    assert!(
        reads.body.contains(&case_no),
        "the read names the case: {}",
        reads.body
    );
    // A material the case has no licence for, or an empty or oversized one, is refused.
    let none = window
        .get(
            &app,
            &format!("/staff/cases/{case_no}/licence?material=%E6%97%A0"),
        )
        .await;
    assert_status(&none, StatusCode::NOT_FOUND, "no licence for that material");
    let empty = window
        .get(&app, &format!("/staff/cases/{case_no}/licence"))
        .await;
    assert_status(
        &empty,
        StatusCode::UNPROCESSABLE_ENTITY,
        "material required",
    );
}

/// The form fields the platform already holds, as the demo workflows name them.
const PREFILL_WORKFLOW: &str = r#"
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
key = "applicant_name"
label = "申请人姓名"
kind = "text"
required = true
[[form]]
key = "resident_id"
label = "公民身份号码"
kind = "resident_id"
required = true
[[form]]
key = "mobile"
label = "联系电话"
kind = "mobile"
required = true
[[form]]
key = "org_name"
label = "经营者名称"
kind = "text"
required = false
[[form]]
key = "legal_rep"
label = "法定代表人"
kind = "text"
required = false
"#;

/// The value attribute of the form's input `a_<key>`.
fn input_value(reply: &Reply, key: &str) -> String {
    reply
        .select(&format!("input#a_{key}"))
        .first()
        .and_then(|e| e.attr("value"))
        .unwrap_or_default()
        .to_owned()
}

async fn the_form_is_prefilled_and_marked_verified(t: &TestDb) {
    let state = state(t).await;
    crate::cases::seed(&state).await;
    let item = state
        .catalog()
        .item_by_impl_code(crate::cases::FOOD_RENEWAL)
        .await
        .unwrap()
        .id
        .get();
    let app = app(state.clone());
    let admin = staff_token(&app, "SC0001").await;
    let published = crate::cases::publish(&app, &admin, item, PREFILL_WORKFLOW).await;
    assert_status(&published, StatusCode::CREATED, "workflow");
    let token = person_token(&state.db().clone(), &app, "张三", RID_A, MOBILE_A).await;
    let holder = User::from_token(&app, &token).await;

    // As themselves: name, resident ID and mobile from the account, marked verified; the
    // enterprise's fields stay empty and a link offers to fill them for the enterprise.
    let form = holder.get(&app, &format!("/apply/{item}")).await;
    assert_status(&form, StatusCode::OK, "form");
    assert_eq!(input_value(&form, "applicant_name"), "张三");
    assert_eq!(input_value(&form, "resident_id"), RID_A);
    assert_eq!(input_value(&form, "mobile"), MOBILE_A);
    form.assert_has("#a_mobile-verified", "the mobile is marked verified");
    assert!(form.body.contains("已核验 · 来自账户实名信息"));
    assert_eq!(input_value(&form, "org_name"), "");
    form.assert_lacks("#a_org_name-verified", "no enterprise chosen");
    form.assert_lacks("#prefill-starts", "no enterprise to act for yet");

    // Once the person's enterprise is registered, the form starts for it from the register.
    let uscc = yiwang_kernel::Uscc::complete("91340104MA2TX0001").unwrap();
    let registered = holder
        .post(
            &app,
            "/account/enterprises",
            &[
                ("uscc", uscc.as_str()),
                ("enterprise_name", "合肥味道餐饮管理有限公司"),
            ],
        )
        .await;
    assert_status(&registered, StatusCode::SEE_OTHER, "enterprise registered");
    let form = holder.get(&app, &format!("/apply/{item}")).await;
    let start = form
        .select("a")
        .into_iter()
        .filter_map(|a| a.attr("href").map(str::to_owned))
        .find(|href| href.starts_with(&format!("/apply/{item}?as=")))
        .expect("a link to fill the form in for the enterprise");
    let form = holder.get(&app, &start).await;
    assert_status(&form, StatusCode::OK, "enterprise form");
    assert_eq!(input_value(&form, "org_name"), "合肥味道餐饮管理有限公司");
    assert_eq!(input_value(&form, "legal_rep"), "张三");
    form.assert_has("#a_org_name-verified", "from the enterprise register");
    assert!(form.body.contains("已核验 · 来自企业登记信息"));
    // An enterprise the person does not act for fills nothing.
    let other = holder
        .get(&app, &format!("/apply/{item}?as=ent-not-mine"))
        .await;
    assert_status(&other, StatusCode::OK, "unknown enterprise");
    assert_eq!(input_value(&other, "org_name"), "");
    other.assert_lacks("#a_org_name-verified", "nothing from a stranger's register");
}

db_test!(
    wallet_pages_are_the_holders_only,
    the_form_is_prefilled_and_marked_verified,
    the_form_asks_no_upload_for_a_material_a_licence_replaces,
    show_codes_are_redeemed_once_and_logged,
    grants_validate_on_their_fields,
    staff_pages_are_for_issuing_departments,
    staff_issue_end_and_renew_validate_per_field,
    import_is_all_or_nothing_with_line_numbers,
);

/// The public ids of the grants that can still be withdrawn (their buttons are `revoke-<id>`).
fn revoke_buttons(reply: &Reply) -> Vec<String> {
    reply
        .select("button")
        .iter()
        .filter_map(|b| {
            b.attr("id")
                .and_then(|id| id.strip_prefix("revoke-"))
                .map(str::to_owned)
        })
        .collect()
}

/// Links to one licence's staff page (one per listed or imported licence).
fn licence_links(reply: &Reply) -> usize {
    reply
        .select("a")
        .iter()
        .filter(|a| {
            a.attr("href")
                .is_some_and(|h| h.starts_with("/staff/licences/1.2.156."))
        })
        .count()
}
