//! E-licences over the API and the public verification page, on both backends: the verifier
//! contract (keys, documents, revocation list) checked with an SM2 implementation that is not the
//! platform's, the holder's wallet (licences, grants, 亮证, reads log), staff issue / search / revoke /
//! renew / import, and the refusals (no grant → 403 logged as refused, another holder's licence not
//! visible, malformed identifiers 422, bounds 422).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use yiwang_db::db_test;
use yiwang_db::limits::MemoryLimiter;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_licenses::model::{FieldDef, FieldKind, HolderKind, LegalBasis, LicenseType, Validity};
use yiwang_web::throttle::{LimitRules, Rule, Throttles};
use yiwang_web::{AppState, app};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};
use crate::staff::{call, person_token, seed_staff, staff_token};
use crate::support::{Reply, get, get_with, send, state};

#[path = "../../../licenses/tests/licenses/sm2_reference.rs"]
mod sm2_reference;

const USCC17: &str = "91340100MA2RQ8K5N";
const SM2_USER_ID: &[u8] = b"1234567812345678";

fn field(name: &str, label: &str, kind: FieldKind, required: bool, public: bool) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        public,
    }
}

/// 营业执照 of 合肥市市场监管局 (enterprise, no expiry); 合肥市民政局 has no ground to read it.
fn business_licence() -> LicenseType {
    LicenseType {
        code: "YYZZ".to_owned(),
        name: "营业执照".to_owned(),
        departments: vec!["hf-scjgj".to_owned()],
        holder: HolderKind::Enterprise,
        fields: vec![
            field("enterprise_name", "名称", FieldKind::Text, true, true),
            field(
                "legal_representative",
                "法定代表人",
                FieldKind::Text,
                true,
                true,
            ),
            field("address", "住所", FieldKind::Text, true, false),
        ],
        validity: Validity::None,
        producing_items: Vec::new(),
        replaces: Vec::new(),
        legal_basis: Vec::new(),
    }
}

/// 婚姻登记证明 of 合肥市民政局 (person, 1 year); 康巴什区民政局 reads it on a legal basis.
fn marriage_record() -> LicenseType {
    LicenseType {
        code: "HYDJ".to_owned(),
        name: "婚姻登记证明".to_owned(),
        departments: vec!["hf-mzj".to_owned()],
        holder: HolderKind::Person,
        fields: vec![
            field("status", "婚姻状况", FieldKind::Text, true, true),
            field("registered_on", "登记日期", FieldKind::Date, true, false),
        ],
        validity: Validity::Years { years: 1 },
        producing_items: Vec::new(),
        replaces: Vec::new(),
        legal_basis: vec![LegalBasis {
            department: "kbs-mzj".to_owned(),
            basis: "《婚姻登记条例》第十三条".to_owned(),
        }],
    }
}

struct World {
    app: axum::Router,
    /// 张晓明, representative of 合肥味道餐饮管理有限公司.
    holder: String,
    /// 李娜, holds nothing of the enterprise.
    other: String,
    /// 合肥市市场监管局 window staff (issues 营业执照).
    market: String,
    /// 合肥市民政局 approver (issues 婚姻登记证明; no ground for 营业执照).
    civil: String,
    /// 康巴什区民政局 window staff (legal basis for 婚姻登记证明).
    kbs: String,
    uscc: String,
}

async fn world_with(t: &TestDb, state: AppState) -> World {
    for ty in [business_licence(), marriage_record()] {
        state
            .licenses()
            .define_type(&Principal::System, &ty, "test")
            .await
            .unwrap();
    }
    seed_staff(
        &state,
        "hf-scjgj",
        "SC0101",
        "13900002101",
        &["window_staff"],
    )
    .await;
    seed_staff(&state, "hf-mzj", "MZ0101", "13900002201", &["approver"]).await;
    seed_staff(
        &state,
        "kbs-mzj",
        "KB0101",
        "13900002301",
        &["window_staff"],
    )
    .await;
    let app = app(state);
    let holder = person_token(&t.db, &app, "张晓明", RID_A, MOBILE_A).await;
    let other = person_token(&t.db, &app, "李娜", RID_B, MOBILE_B).await;
    let uscc = yiwang_kernel::Uscc::complete(USCC17)
        .unwrap()
        .as_str()
        .to_owned();
    let created = call(
        &app,
        "POST",
        "/api/v1/enterprises",
        Some(&holder),
        Some(json!({ "uscc": uscc, "name": "合肥味道餐饮管理有限公司" })),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    World {
        market: staff_token(&app, "SC0101").await,
        civil: staff_token(&app, "MZ0101").await,
        kbs: staff_token(&app, "KB0101").await,
        app,
        holder,
        other,
        uscc,
    }
}

async fn world(t: &TestDb) -> World {
    let state = state(t).await;
    world_with(t, state).await
}

impl World {
    async fn issue_business_licence(&self) -> String {
        let r = call(
            &self.app,
            "POST",
            "/api/v1/licences",
            Some(&self.market),
            Some(json!({
                "type_code": "YYZZ",
                "holder_uscc": self.uscc,
                "data": {
                    "enterprise_name": "合肥味道餐饮管理有限公司",
                    "legal_representative": "张晓明",
                    "address": "合肥市蜀山区长江西路 100 号"
                }
            })),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.json()["identifier"].as_str().unwrap().to_owned()
    }

    async fn reads(&self) -> Vec<Value> {
        let r = call(
            &self.app,
            "GET",
            "/api/v1/me/licences/reads",
            Some(&self.holder),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.json()["items"].as_array().unwrap().clone()
    }
}

fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The QR payload with another expiry (its signature no longer covers it).
fn with_expiry(qr: &str, expiry: &str) -> String {
    let parts: Vec<&str> = qr.rsplitn(4, '.').collect();
    format!("{}.{expiry}.{}.{}", parts[3], parts[1], parts[0])
}

async fn verify_text(app: &axum::Router, text: &str) -> Reply {
    call(
        app,
        "POST",
        "/api/v1/licences/verify",
        None,
        Some(json!({ "text": text })),
    )
    .await
}

/// The published key of `key_id` (hex `04‖x‖y`).
async fn published_key(app: &axum::Router, key_id: &str) -> String {
    let keys = get(app, "/api/v1/licences/keys").await;
    assert_eq!(keys.status, StatusCode::OK, "{}", keys.body);
    let keys = keys.json();
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id)
        .unwrap_or_else(|| panic!("key {key_id} is published: {keys}"))
        .clone();
    assert_eq!(key["algorithm"], "SM2");
    let public = key["public_key"].as_str().unwrap().to_owned();
    assert!(public.starts_with("04") && public.len() == 130, "{public}");
    assert!(key["not_before"].is_string());
    public
}

async fn licence_api_contract_and_independent_verification(t: &TestDb) {
    let w = world(t).await;
    let identifier = w.issue_business_licence().await;

    // The holder's wallet lists it in the contract's shape.
    let mine = call(&w.app, "GET", "/api/v1/me/licences", Some(&w.holder), None).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let mine = mine.json();
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["identifier"], identifier.as_str());
    assert_eq!(mine["items"][0]["type"], "YYZZ");
    assert_eq!(mine["items"][0]["name"], "营业执照");
    assert_eq!(mine["items"][0]["status"], "valid");
    let qr = mine["items"][0]["qr_payload"].as_str().unwrap().to_owned();

    // The document verifies with an SM2 implementation that is not RustCrypto's.
    let doc = call(
        &w.app,
        "GET",
        &format!("/api/v1/licences/{identifier}/document"),
        Some(&w.holder),
        None,
    )
    .await;
    assert_eq!(doc.status, StatusCode::OK, "{}", doc.body);
    let doc = doc.json();
    assert_eq!(doc["identifier"], identifier.as_str());
    assert_eq!(doc["status"], "valid");
    let signed = STANDARD.decode(doc["signed"].as_str().unwrap()).unwrap();
    let signature = hex::decode(doc["signature"].as_str().unwrap()).unwrap();
    assert_eq!(signature.len(), 64, "r ‖ s");
    let public = published_key(&w.app, doc["key_id"].as_str().unwrap()).await;
    assert!(sm2_reference::verify(
        &public,
        SM2_USER_ID,
        &signed,
        &signature
    ));
    let statement: Value = serde_json::from_slice(&signed).unwrap();
    assert_eq!(statement["identifier"], identifier.as_str());
    assert_eq!(statement["holder"]["name"], "合肥味道餐饮管理有限公司");
    // One changed byte fails, in the independent verifier and in the platform's verification.
    let mut altered = signed.clone();
    let at = altered.iter().position(|b| *b == b'1').unwrap();
    altered[at] = b'2';
    assert!(!sm2_reference::verify(
        &public,
        SM2_USER_ID,
        &altered,
        &signature
    ));
    let mut forged_doc = doc.clone();
    forged_doc["signed"] = json!(STANDARD.encode(&altered));
    let forged = call(
        &w.app,
        "POST",
        "/api/v1/licences/verify",
        None,
        Some(json!({ "document": forged_doc })),
    )
    .await;
    assert_eq!(forged.status, StatusCode::OK, "{}", forged.body);
    assert_eq!(forged.json()["outcome"], "forged");
    let genuine = call(
        &w.app,
        "POST",
        "/api/v1/licences/verify",
        None,
        Some(json!({ "document": doc })),
    )
    .await;
    assert_eq!(genuine.json()["outcome"], "valid", "{}", genuine.body);

    // The holder's PDF: a real PDF with a UTF-8 file name; nobody else's.
    let pdf = get_with(
        &w.app,
        &format!("/licences/{identifier}/pdf"),
        &[("authorization", &format!("Bearer {}", w.holder))],
    )
    .await;
    assert_eq!(pdf.status, StatusCode::OK, "{}", pdf.body);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert!(
        pdf.header("content-disposition")
            .starts_with("attachment; filename*=UTF-8''%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7-"),
        "{}",
        pdf.header("content-disposition")
    );
    assert!(pdf.body.starts_with("%PDF-"));
    let not_theirs = get_with(
        &w.app,
        &format!("/licences/{identifier}/pdf"),
        &[("authorization", &format!("Bearer {}", w.other))],
    )
    .await;
    assert_eq!(not_theirs.status, StatusCode::NOT_FOUND);

    // Public verification by identifier and by QR payload: only the public fields.
    for text in [identifier.as_str(), qr.as_str()] {
        let v = verify_text(&w.app, text).await;
        assert_eq!(v.status, StatusCode::OK, "{}", v.body);
        let v = v.json();
        assert_eq!(v["outcome"], "valid", "{v}");
        assert_eq!(v["type_name"], "营业执照");
        let labels: Vec<&str> = v["public_fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["label"].as_str().unwrap())
            .collect();
        assert!(
            labels.contains(&"名称") && !labels.contains(&"住所"),
            "{labels:?}"
        );
    }
    // The QR's own signature (over `YWL1\n<identifier>\n-\n`) verifies independently too.
    let parts: Vec<&str> = qr.rsplitn(4, '.').collect();
    let qr_signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[0])
        .unwrap();
    assert!(sm2_reference::verify(
        &published_key(&w.app, parts[1]).await,
        SM2_USER_ID,
        format!("YWL1\n{identifier}\n-\n").as_bytes(),
        &qr_signature
    ));
    let tampered_qr = with_expiry(&qr, "20991231");
    assert_eq!(
        verify_text(&w.app, &tampered_qr).await.json()["outcome"],
        "forged"
    );

    // Bad input: malformed identifier 422, neither or both inputs 422, text over 400 422.
    let bad = verify_text(&w.app, "1.2.156.3005.2.nonsense").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.json()["error"]["code"], "licence_bad_identifier");
    let neither = call(
        &w.app,
        "POST",
        "/api/v1/licences/verify",
        None,
        Some(json!({})),
    )
    .await;
    assert_eq!(neither.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(neither.json()["error"]["code"], "licence_verify_input");
    let long = verify_text(&w.app, &"1".repeat(401)).await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_path = call(
        &w.app,
        "GET",
        "/api/v1/licences/1.2.156.3005.2.YYZZ.bad/document",
        Some(&w.holder),
        None,
    )
    .await;
    assert_eq!(bad_path.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_path.json()["error"]["field"], "identifier");

    // Revoked: online verification says so, and offline with the signed revocation list.
    let no_reason = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{identifier}/revoke"),
        Some(&w.market),
        Some(json!({ "reason": " " })),
    )
    .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let not_issuer = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{identifier}/revoke"),
        Some(&w.civil),
        Some(json!({ "reason": "违法经营" })),
    )
    .await;
    assert_eq!(not_issuer.status, StatusCode::FORBIDDEN);
    let revoked = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{identifier}/revoke"),
        Some(&w.market),
        Some(json!({ "reason": "以欺骗手段取得登记" })),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.json()["status"], "revoked");
    assert_eq!(
        verify_text(&w.app, &identifier).await.json()["outcome"],
        "revoked"
    );
    let again = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{identifier}/revoke"),
        Some(&w.market),
        Some(json!({ "reason": "重复" })),
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let list = get(&w.app, "/api/v1/licences/revocations").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let list = list.json();
    let list_bytes = STANDARD.decode(list["signed"].as_str().unwrap()).unwrap();
    let platform_key = published_key(&w.app, list["key_id"].as_str().unwrap()).await;
    assert!(sm2_reference::verify(
        &platform_key,
        SM2_USER_ID,
        &list_bytes,
        &hex::decode(list["signature"].as_str().unwrap()).unwrap()
    ));
    let entries: Value = serde_json::from_slice(&list_bytes).unwrap();
    assert!(
        entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["identifier"] == identifier.as_str() && e["status"] == "revoked"),
        "{entries}"
    );
    // Offline: the document fetched before the revocation, the keys and the list — no platform.
    let keys: Vec<yiwang_licenses::document::PublishedKey> =
        serde_json::from_value(get(&w.app, "/api/v1/licences/keys").await.json()["keys"].clone())
            .unwrap();
    let signed_list: yiwang_licenses::document::SignedRevocations =
        serde_json::from_value(list.clone()).unwrap();
    let opened = yiwang_licenses::verify::open_revocations(&signed_list, &keys).unwrap();
    let offline = yiwang_licenses::verify_offline(
        &yiwang_licenses::OfflineInput::Document(serde_json::from_value(doc.clone()).unwrap()),
        &keys,
        Some(&opened),
        crate::support::t0(),
    );
    assert_eq!(offline.outcome, yiwang_licenses::Outcome::Revoked);
    let offline_qr = yiwang_licenses::verify_offline(
        &yiwang_licenses::OfflineInput::Payload(qr.clone()),
        &keys,
        Some(&opened),
        crate::support::t0(),
    );
    assert_eq!(offline_qr.outcome, yiwang_licenses::Outcome::Revoked);
}

async fn licence_reads_need_a_ground_and_are_logged(t: &TestDb) {
    let w = world(t).await;
    let identifier = w.issue_business_licence().await;
    let doc_uri = |purpose: &str| {
        format!(
            "/api/v1/licences/{identifier}/document?purpose={}&case_no=HF20260213000001",
            enc(purpose)
        )
    };

    // Another holder does not see it; anonymous callers are asked to log in.
    let theirs = call(&w.app, "GET", &doc_uri(""), Some(&w.other), None).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    let other_list = call(&w.app, "GET", "/api/v1/me/licences", Some(&w.other), None).await;
    assert_eq!(other_list.json()["total"], 0);
    assert_eq!(
        get(&w.app, "/api/v1/me/licences").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&w.app, &doc_uri("")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&w.app, "GET", "/api/v1/me/licences", Some(&w.market), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Staff without a grant or legal basis: 403, and the read is logged as refused.
    let refused = call(
        &w.app,
        "GET",
        &doc_uri("核实经营资格"),
        Some(&w.civil),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let reads = w.reads().await;
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(reads[0]["allowed"], false);
    assert_eq!(reads[0]["basis"], "none");
    assert_eq!(reads[0]["purpose"], "核实经营资格");
    // Staff must say why.
    let no_purpose = call(
        &w.app,
        "GET",
        &format!("/api/v1/licences/{identifier}/document"),
        Some(&w.civil),
        None,
    )
    .await;
    assert_eq!(no_purpose.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        w.reads().await.len(),
        1,
        "a read without a purpose is not attempted"
    );

    // The holder grants 合肥市民政局 this licence: the read succeeds and is logged with its case.
    for (body, field) in [
        (
            json!({ "department": "hf-mzj", "purpose": "", "identifier": identifier, "days": 30 }),
            "reason",
        ),
        (
            json!({ "department": "hf-mzj", "purpose": "办理婚姻登记", "identifier": identifier, "days": 366 }),
            "days",
        ),
        (
            json!({ "department": "hf-mzj", "purpose": "办理婚姻登记", "days": 30 }),
            "scope",
        ),
    ] {
        let r = call(
            &w.app,
            "POST",
            "/api/v1/me/licences/grants",
            Some(&w.holder),
            Some(body),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{}", r.body);
    }
    let someone_elses = call(
        &w.app,
        "POST",
        "/api/v1/me/licences/grants",
        Some(&w.other),
        Some(json!({ "department": "hf-mzj", "purpose": "冒用", "identifier": identifier, "days": 30 })),
    )
    .await;
    assert_eq!(someone_elses.status, StatusCode::NOT_FOUND);
    let grant = call(
        &w.app,
        "POST",
        "/api/v1/me/licences/grants",
        Some(&w.holder),
        Some(json!({ "department": "hf-mzj", "purpose": "办理婚姻登记", "identifier": identifier, "days": 30 })),
    )
    .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.body);
    let grant_id = grant.json()["id"].as_str().unwrap().to_owned();
    let grants = call(
        &w.app,
        "GET",
        "/api/v1/me/licences/grants",
        Some(&w.holder),
        None,
    )
    .await;
    assert_eq!(grants.json().as_array().unwrap().len(), 1);
    let allowed = call(
        &w.app,
        "GET",
        &doc_uri("办理婚姻登记"),
        Some(&w.civil),
        None,
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    assert_eq!(allowed.json()["identifier"], identifier.as_str());
    let detail = call(
        &w.app,
        "GET",
        &format!(
            "/api/v1/licences/{identifier}?purpose={}",
            enc("办理婚姻登记")
        ),
        Some(&w.civil),
        None,
    )
    .await;
    assert_eq!(detail.status, StatusCode::OK, "{}", detail.body);
    assert_eq!(
        detail.json()["data"]["address"],
        "合肥市蜀山区长江西路 100 号"
    );
    let reads = w.reads().await;
    assert_eq!(reads.len(), 3, "{reads:?}");
    assert_eq!(reads[0]["allowed"], true);
    assert_eq!(reads[0]["basis"], "grant");
    assert!(
        reads
            .iter()
            .any(|r| r["case_no"] == "HF20260213000001" && r["allowed"] == true),
        "{reads:?}"
    );

    // Withdrawn: refused again (and logged); another person cannot withdraw it.
    assert_eq!(
        call(
            &w.app,
            "DELETE",
            &format!("/api/v1/me/licences/grants/{grant_id}"),
            Some(&w.other),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let withdrawn = call(
        &w.app,
        "DELETE",
        &format!("/api/v1/me/licences/grants/{grant_id}"),
        Some(&w.holder),
        None,
    )
    .await;
    assert_eq!(
        withdrawn.status,
        StatusCode::NO_CONTENT,
        "{}",
        withdrawn.body
    );
    let refused = call(
        &w.app,
        "GET",
        &doc_uri("办理婚姻登记"),
        Some(&w.civil),
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(w.reads().await[0]["allowed"], false);

    // 亮证: the holder's code lets a clerk see the licence once.
    let code = call(
        &w.app,
        "POST",
        &format!("/api/v1/me/licences/{identifier}/show-code"),
        Some(&w.holder),
        None,
    )
    .await;
    assert_eq!(code.status, StatusCode::CREATED, "{}", code.body);
    let digits = code.json()["digits"].as_str().unwrap().to_owned();
    assert_eq!(digits.len(), 6);
    assert_eq!(
        call(
            &w.app,
            "POST",
            &format!("/api/v1/me/licences/{identifier}/show-code"),
            Some(&w.other),
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    let shown = call(
        &w.app,
        "POST",
        "/api/v1/licences/show-codes/redeem",
        Some(&w.kbs),
        Some(json!({ "code": digits })),
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert_eq!(shown.json()["identifier"], identifier.as_str());
    let used = call(
        &w.app,
        "POST",
        "/api/v1/licences/show-codes/redeem",
        Some(&w.kbs),
        Some(json!({ "code": digits })),
    )
    .await;
    assert_eq!(used.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(used.json()["error"]["code"], "licence_show_code_invalid");
    assert_eq!(w.reads().await[0]["basis"], "show_code");
    let by_citizen = call(
        &w.app,
        "POST",
        "/api/v1/licences/show-codes/redeem",
        Some(&w.other),
        Some(json!({ "code": "123456" })),
    )
    .await;
    assert_eq!(by_citizen.status, StatusCode::FORBIDDEN);

    // Paging bounds.
    for uri in [
        "/api/v1/me/licences?page_size=101",
        "/api/v1/me/licences?page=0",
        "/api/v1/me/licences/reads?page_size=0",
    ] {
        let r = call(&w.app, "GET", uri, Some(&w.holder), None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.body
        );
    }
}

async fn licence_staff_issue_search_renew_import(t: &TestDb) {
    let w = world(t).await;
    // Issue refusals: wrong department 403, unknown type 404, holder missing or bad 422, bad data 422.
    let body = |type_code: &str, holder: Value, data: Value| {
        let mut b = json!({ "type_code": type_code, "data": data });
        for (k, v) in holder.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let good = json!({ "enterprise_name": "合肥味道餐饮管理有限公司", "legal_representative": "张晓明", "address": "合肥市" });
    for (who, b, status) in [
        (
            &w.civil,
            body("YYZZ", json!({ "holder_uscc": w.uscc }), good.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            &w.market,
            body("NOPE", json!({ "holder_uscc": w.uscc }), good.clone()),
            StatusCode::NOT_FOUND,
        ),
        (
            &w.market,
            body("YYZZ", json!({}), good.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &w.market,
            body(
                "YYZZ",
                json!({ "holder_uscc": "91340100MA2RQ8K5X" }),
                good.clone(),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &w.market,
            body(
                "YYZZ",
                json!({ "holder_uscc": w.uscc }),
                json!({ "enterprise_name": "x" }),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &w.holder,
            body("YYZZ", json!({ "holder_uscc": w.uscc }), good.clone()),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let r = call(&w.app, "POST", "/api/v1/licences", Some(who), Some(b)).await;
        assert_eq!(r.status, status, "{}", r.body);
    }
    let none = call(&w.app, "GET", "/api/v1/licences", Some(&w.market), None).await;
    assert_eq!(none.json()["total"], 0, "refusals stored nothing");
    let identifier = w.issue_business_licence().await;
    // A person licence of 民政局 for 张晓明.
    let person = call(
        &w.app,
        "POST",
        "/api/v1/licences",
        Some(&w.civil),
        Some(json!({ "type_code": "HYDJ", "holder_resident_id": RID_A,
            "data": { "status": "已婚", "registered_on": "2020-05-20" } })),
    )
    .await;
    assert_eq!(person.status, StatusCode::CREATED, "{}", person.body);
    assert_eq!(person.json()["holder_name"], "张晓明");
    // 康巴什区民政局 reads it on the legal basis, without a grant.
    let person_id = person.json()["identifier"].as_str().unwrap().to_owned();
    let basis = call(
        &w.app,
        "GET",
        &format!(
            "/api/v1/licences/{person_id}/document?purpose={}",
            enc("跨区婚姻登记核验")
        ),
        Some(&w.kbs),
        None,
    )
    .await;
    assert_eq!(basis.status, StatusCode::OK, "{}", basis.body);
    assert_eq!(w.reads().await[0]["basis"], "legal_basis");
    let mine = call(&w.app, "GET", "/api/v1/me/licences", Some(&w.holder), None).await;
    assert_eq!(mine.json()["total"], 2, "the person's and the enterprise's");

    // Search within the department only.
    let found = call(
        &w.app,
        "GET",
        &format!("/api/v1/licences?q={}", enc("味道")),
        Some(&w.market),
        None,
    )
    .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.json()["total"], 1);
    let elsewhere = call(&w.app, "GET", "/api/v1/licences", Some(&w.kbs), None).await;
    assert_eq!(elsewhere.json()["total"], 0);
    let long_q = call(
        &w.app,
        "GET",
        &format!("/api/v1/licences?q={}", "a".repeat(201)),
        Some(&w.market),
        None,
    )
    .await;
    assert_eq!(long_q.status, StatusCode::UNPROCESSABLE_ENTITY);

    // 换发: a new version; the old one verifies as replaced.
    let renewed = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{identifier}/renew"),
        Some(&w.market),
        Some(json!({ "changes": { "address": "合肥市蜀山区黄山路 8 号" }, "reason": "住所变更" })),
    )
    .await;
    assert_eq!(renewed.status, StatusCode::CREATED, "{}", renewed.body);
    assert_eq!(renewed.json()["version"], 2);
    let new_id = renewed.json()["identifier"].as_str().unwrap().to_owned();
    assert_eq!(
        verify_text(&w.app, &identifier).await.json()["outcome"],
        "replaced"
    );
    assert_eq!(
        verify_text(&w.app, &new_id).await.json()["outcome"],
        "valid"
    );
    // 注销 of the new version.
    let cancelled = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{new_id}/cancel"),
        Some(&w.market),
        Some(json!({ "reason": "企业申请注销登记" })),
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");

    // Import: all or nothing, every bad row named.
    let csv = format!(
        "holder,valid_from,expires_on,enterprise_name,legal_representative,address\n\
         {uscc},2019-03-01,,合肥味道餐饮管理有限公司,张晓明,合肥市\n\
         91340100MA2RQ8K5X,2019-03-01,,某公司,某人,合肥市\n\
         {uscc},not-a-date,,合肥味道餐饮管理有限公司,张晓明,合肥市\n",
        uscc = w.uscc
    );
    let import = |csv: String, token: String, type_code: &str| {
        let app = w.app.clone();
        let uri = format!("/api/v1/licences/import?type={type_code}");
        async move {
            send(
                &app,
                Request::post(uri)
                    .header("authorization", format!("Bearer {token}"))
                    .header("content-type", "text/csv")
                    .body(Body::from(csv))
                    .unwrap(),
            )
            .await
        }
    };
    let before = call(&w.app, "GET", "/api/v1/licences", Some(&w.market), None).await;
    let before = before.json()["total"].as_u64().unwrap();
    let refused = import(csv.clone(), w.market.clone(), "YYZZ").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let rows = refused.json()["rows"].as_array().unwrap().clone();
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4], "{rows:?}");
    assert_eq!(refused.json()["error"]["code"], "licence_import_invalid");
    let after = call(&w.app, "GET", "/api/v1/licences", Some(&w.market), None).await;
    assert_eq!(
        after.json()["total"].as_u64().unwrap(),
        before,
        "nothing imported"
    );
    assert_eq!(
        import(csv.clone(), w.civil.clone(), "YYZZ").await.status,
        StatusCode::FORBIDDEN
    );
    let good_csv: String = csv.lines().take(2).flat_map(|l| [l, "\n"]).collect();
    let imported = import(good_csv, w.market.clone(), "YYZZ").await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    assert_eq!(imported.json()["issued"].as_array().unwrap().len(), 1);

    // The catalogue and the pending issuances.
    let types = get(&w.app, "/api/v1/licences/types").await;
    assert_eq!(types.status, StatusCode::OK);
    let types = types.json();
    let yyzz = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "YYZZ")
        .unwrap()
        .clone();
    assert_eq!(yyzz["holder"], "enterprise");
    assert_eq!(yyzz["fields"][0]["name"], "enterprise_name");
    let pending = call(
        &w.app,
        "GET",
        "/api/v1/licences/pending",
        Some(&w.market),
        None,
    )
    .await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    assert!(pending.json().as_array().unwrap().is_empty());
    assert_eq!(
        call(
            &w.app,
            "GET",
            "/api/v1/licences/pending",
            Some(&w.holder),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}

async fn licence_verification_page(t: &TestDb) {
    let rules = LimitRules {
        verify: Rule::new(6, 60),
        ..LimitRules::default()
    };
    let state = state(t)
        .await
        .with_throttles(Throttles::new(Arc::new(MemoryLimiter::new()), rules));
    let w = world_with(t, state).await;
    let identifier = w.issue_business_licence().await;
    let mine = call(&w.app, "GET", "/api/v1/me/licences", Some(&w.holder), None).await;
    let qr = mine.json()["items"][0]["qr_payload"]
        .as_str()
        .unwrap()
        .to_owned();

    // The empty form: a labelled field, no log-in.
    let form = get(&w.app, "/licences/verify").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    form.assert_has("label[for=verify-p]", "the field is labelled");
    form.assert_has("textarea#verify-p[name=p]", "one text field");
    form.assert_lacks("#verify-result", "no verdict without input");

    // The QR's link: 有效 with the public fields only (1 check).
    let valid = get(&w.app, &format!("/licences/verify?p={}", enc(&qr))).await;
    assert_eq!(valid.status, StatusCode::OK, "{}", valid.body);
    valid.assert_has("span.lv-verdict[data-outcome=valid]", "valid");
    assert!(valid.body.contains("有效"));
    assert!(valid.body.contains("合肥味道餐饮管理有限公司"));
    assert!(
        !valid.body.contains("长江西路"),
        "the address is not a public field"
    );
    // In English (2).
    let en = get_with(
        &w.app,
        &format!("/licences/verify?p={}", enc(&identifier)),
        &[("accept-language", "en")],
    )
    .await;
    assert!(en.body.contains(">Valid<"), "{}", en.body);
    // Tampered (3) and malformed (4).
    let forged = get(
        &w.app,
        &format!("/licences/verify?p={}", enc(&with_expiry(&qr, "20991231"))),
    )
    .await;
    forged.assert_has("span.lv-verdict[data-outcome=forged]", "forged");
    assert!(forged.body.contains("伪造或被篡改"));
    let bad = get(&w.app, "/licences/verify?p=hello").await;
    assert_eq!(bad.status, StatusCode::OK);
    bad.assert_has("#verify-error", "the error is named");
    bad.assert_lacks("#verify-result", "no verdict for a malformed input");
    // Revoked (5).
    let revoked = call(
        &w.app,
        "POST",
        &format!("/api/v1/licences/{identifier}/revoke"),
        Some(&w.market),
        Some(json!({ "reason": "以欺骗手段取得登记" })),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let page = get(&w.app, &format!("/licences/verify?p={}", enc(&qr))).await;
    page.assert_has("span.lv-verdict[data-outcome=revoked]", "revoked");
    assert!(page.body.contains("已吊销"));
    // The API shares the address's count (6), then 429 on page and API alike.
    assert_eq!(
        verify_text(&w.app, &identifier).await.status,
        StatusCode::OK
    );
    let limited = get(&w.app, &format!("/licences/verify?p={}", enc(&qr))).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        verify_text(&w.app, &identifier).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn licence_routes_are_in_the_openapi(t: &TestDb) {
    let app = app(state(t).await);
    let doc = get(&app, "/api/v1/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/licences/keys", "get"),
        ("/api/v1/licences/revocations", "get"),
        ("/api/v1/licences/verify", "post"),
        ("/api/v1/licences/types", "get"),
        ("/api/v1/licences/{identifier}/document", "get"),
        ("/api/v1/licences/{identifier}", "get"),
        ("/api/v1/me/licences", "get"),
        ("/api/v1/me/licences/reads", "get"),
        ("/api/v1/me/licences/grants", "post"),
        ("/api/v1/me/licences/grants/{id}", "delete"),
        ("/api/v1/me/licences/{identifier}/show-code", "post"),
        ("/api/v1/licences/show-codes/redeem", "post"),
        ("/api/v1/licences", "post"),
        ("/api/v1/licences/{identifier}/revoke", "post"),
        ("/api/v1/licences/{identifier}/cancel", "post"),
        ("/api/v1/licences/{identifier}/renew", "post"),
        ("/api/v1/licences/import", "post"),
        ("/api/v1/licences/pending", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
    let page_size = doc["paths"]["/api/v1/me/licences"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "page_size")
        .unwrap()
        .clone();
    assert_eq!(
        page_size["schema"]["maximum"].as_f64(),
        Some(100.0),
        "{page_size}"
    );
    assert!(
        doc["paths"]["/api/v1/licences/verify"]["post"]["responses"]["429"].is_object(),
        "the throttle is documented"
    );
}

db_test!(
    licence_api_contract_and_independent_verification,
    licence_reads_need_a_ground_and_are_logged,
    licence_staff_issue_search_renew_import,
    licence_verification_page,
    licence_routes_are_in_the_openapi,
);
