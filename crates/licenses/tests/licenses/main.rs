//! E-licence tests on SQLite and (when configured) PostgreSQL: types, staff issue and its
//! refusals, signatures checked by an independent SM2 verifier, renewal / revocation / cancellation
//! rules, expiry and renewal reminders, bulk import (all or nothing), offline verification with the
//! signed revocation list and QR payloads, key rotation, automatic issue for granted cases and
//! pending issuances, usage grants, logged reads (refused ones too), 亮证 codes, the wallet and
//! prefill.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod sm2_reference;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::db_test;
use yiwang_db::jobs::{self, JobStatus};
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{
    ClientMeta, EnterpriseId, NewStaff, PersonId, RawDepartment, RawNewStaff, RawRegion,
    RawRegistration, Registration,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::service::register::{RegisterEntry, StaticRegister};
use yiwang_identity::{Accounts, OrgData, SessionPolicy};
use yiwang_kernel::{
    Clock as _, ErrorCode, PageRequest, SharedClock, TestClock, Uscc, WorkCalendar,
};
use yiwang_licenses::document::{OfflineBundle, RevocationStatement, SignedDocument};
use yiwang_licenses::model::{
    FieldDef, FieldKind, HolderKind, LegalBasis, ReadBasis, Replacement, Validity,
};
use yiwang_licenses::service::{CaseFacts, CaseIssue, GrantRequest, HolderRef, IssueRequest};
use yiwang_licenses::verify::open_revocations;
use yiwang_licenses::{
    LicenseError, LicenseStatus, LicenseType, Licenses, OfflineInput, Outcome, SealCipher,
    derive_seal_key, verify_offline,
};

const REGIONS: &str = include_str!("../../../demo/data/regions.json");
const DEPARTMENTS: &str = include_str!("../../../demo/data/departments.json");
const PASSWORD: &str = "Licence#2026ok";
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff";
const FOOD_NEW: &str = "01120000300134010011340100MB8434305B";
const COMPANY_SETUP: &str = "01120000100134010011340100MB8434305B";
const SOURCE: &str = "test";

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "test".to_owned(),
        user_agent: "test".to_owned(),
    }
}

fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    yiwang_kernel::china_local_to_utc(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap(),
    )
}

fn rid(first17: &str) -> String {
    yiwang_kernel::ResidentId::complete(first17)
        .unwrap()
        .as_str()
        .to_owned()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn field(name: &str, label: &str, kind: FieldKind, required: bool, public: bool) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        public,
    }
}

/// 营业执照: enterprise, no expiry, produced by 企业设立登记, replaces the food permit's licence copy.
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
            field("address", "住所", FieldKind::Text, true, true),
            field(
                "registered_capital",
                "注册资本（万元）",
                FieldKind::Number,
                false,
                false,
            ),
            field("established_on", "成立日期", FieldKind::Date, true, true),
        ],
        validity: Validity::None,
        producing_items: vec![COMPANY_SETUP.to_owned()],
        replaces: vec![Replacement {
            item: FOOD_NEW.to_owned(),
            material: "营业执照或者其他主体资格证明文件".to_owned(),
        }],
        legal_basis: vec![LegalBasis {
            department: "hf-swj".to_owned(),
            basis: "《税收征收管理法》第十五条".to_owned(),
        }],
    }
}

/// 食品经营许可证: enterprise, 5 years, produced by 食品经营许可（新办）.
fn food_permit() -> LicenseType {
    LicenseType {
        code: "JYXK".to_owned(),
        name: "食品经营许可证".to_owned(),
        departments: vec!["hf-scjgj".to_owned()],
        holder: HolderKind::Enterprise,
        fields: vec![
            field("operator", "经营者名称", FieldKind::Text, true, true),
            field("premises", "经营场所", FieldKind::Text, true, true),
            field("business_items", "经营项目", FieldKind::Text, true, true),
            field(
                "area",
                "经营场所面积（平方米）",
                FieldKind::Number,
                false,
                false,
            ),
        ],
        validity: Validity::Years { years: 5 },
        producing_items: vec![FOOD_NEW.to_owned()],
        replaces: Vec::new(),
        legal_basis: Vec::new(),
    }
}

/// 居住证: person, 1 year, issued by public security.
fn residence_permit() -> LicenseType {
    LicenseType {
        code: "JZZ".to_owned(),
        name: "居住证".to_owned(),
        departments: vec!["hf-gaj".to_owned()],
        holder: HolderKind::Person,
        fields: vec![
            field("address", "居住地址", FieldKind::Text, true, false),
            field("issuing_office", "签发机关", FieldKind::Text, true, true),
        ],
        validity: Validity::Years { years: 1 },
        producing_items: Vec::new(),
        replaces: Vec::new(),
        legal_basis: Vec::new(),
    }
}

struct World {
    lic: Licenses,
    clock: TestClock,
    holder: Principal,
    holder_id: PersonId,
    other: Principal,
    enterprise: EnterpriseId,
    uscc: Uscc,
    /// 合肥市市场监管局 window staff (issues 营业执照 and 食品经营许可证).
    market: Principal,
    /// 合肥市卫健委 approver (issues nothing here; reads with grants).
    health: Principal,
    /// 合肥市税务局 (a legal basis for 营业执照).
    tax: Principal,
    /// 合肥市公安局 (issues 居住证).
    police: Principal,
    db: yiwang_db::Db,
}

async fn person(
    accounts: &Accounts,
    name: &str,
    rid: &str,
    mobile: &str,
    rng: &mut StdRng,
) -> Principal {
    let reg = Registration::parse(&RawRegistration {
        name: name.to_owned(),
        resident_id: rid.to_owned(),
        mobile: mobile.to_owned(),
        password: PASSWORD.to_owned(),
    })
    .unwrap();
    accounts.register_person(&reg, &meta(), rng).await.unwrap();
    let done = accounts
        .login(mobile, PASSWORD, &meta(), rng)
        .await
        .unwrap();
    accounts.principal(Some(&done.session)).await.unwrap()
}

async fn staff(
    accounts: &Accounts,
    dept: &str,
    no: &str,
    name: &str,
    mobile: &str,
    role: &str,
    rng: &mut StdRng,
) -> Principal {
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: name.to_owned(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
        roles: vec![role.to_owned()],
        posts: Vec::new(),
    })
    .unwrap();
    accounts
        .create_staff(&Principal::System, "system:test", dept, &new, &meta(), rng)
        .await
        .unwrap();
    let done = accounts
        .staff_login(no, PASSWORD, &meta(), rng)
        .await
        .unwrap();
    accounts.principal(Some(&done.session)).await.unwrap()
}

async fn world(t: &TestDb) -> World {
    let clock = TestClock::new(local(2026, 3, 2, 9));
    let shared: SharedClock = Arc::new(clock.clone());
    let org = OrgData {
        regions: serde_json::from_str::<Vec<RawRegion>>(REGIONS).unwrap(),
        departments: serde_json::from_str::<Vec<RawDepartment>>(DEPARTMENTS).unwrap(),
    };
    let parsed = yiwang_identity::service::parse_org(&org).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    let pii = Arc::new(PiiProtector::from_hex(MASTER_KEY).unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared.clone(),
        pii.clone(),
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let holder_rid = rid("34010419900307123");
    let holder = person(&accounts, "张晓明", &holder_rid, "13800138001", &mut rng).await;
    let other = person(
        &accounts,
        "李娜",
        &rid("34010219920611242"),
        "13800138002",
        &mut rng,
    )
    .await;
    let uscc = Uscc::complete("91340104MA2TX0001").unwrap();
    let register = Arc::new(
        StaticRegister::new(vec![RegisterEntry {
            uscc: uscc.as_str().to_owned(),
            name: "合肥味道餐饮管理有限公司".to_owned(),
            representative_name: "张晓明".to_owned(),
            representative_id: holder_rid.clone(),
        }])
        .unwrap(),
    );
    let session = accounts
        .login("13800138001", PASSWORD, &meta(), &mut rng)
        .await
        .unwrap()
        .session;
    accounts
        .with_register(register)
        .register_enterprise(
            &session,
            uscc.as_str(),
            "合肥味道餐饮管理有限公司",
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    let market = staff(
        &accounts,
        "hf-scjgj",
        "SC0101",
        "王芳",
        "13900001101",
        "window_staff",
        &mut rng,
    )
    .await;
    let health = staff(
        &accounts,
        "hf-wjw",
        "WJ0201",
        "孙悦",
        "13900001104",
        "approver",
        &mut rng,
    )
    .await;
    let tax = staff(
        &accounts,
        "hf-swj",
        "SW0101",
        "周敏",
        "13900001108",
        "window_staff",
        &mut rng,
    )
    .await;
    let police = staff(
        &accounts,
        "hf-gaj",
        "GA0101",
        "吴刚",
        "13900001109",
        "window_staff",
        &mut rng,
    )
    .await;
    let lic = Licenses::new(
        t.db.clone(),
        shared,
        SealCipher::new(derive_seal_key(MASTER_KEY).unwrap()),
        WorkCalendar::builtin(),
        pii,
    );
    for ty in [business_licence(), food_permit(), residence_permit()] {
        assert!(
            lic.define_type(&Principal::System, &ty, SOURCE)
                .await
                .unwrap()
        );
    }
    let enterprise = {
        let tx = t.db.begin().await.unwrap();
        let id = yiwang_licenses::repo::enterprise_id_by_uscc(&tx, &uscc)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let Principal::Person(holder_person) = holder else {
        panic!("a person")
    };
    World {
        lic,
        clock,
        holder,
        holder_id: holder_person,
        other,
        enterprise,
        uscc,
        market,
        health,
        tax,
        police,
        db: t.db.clone(),
    }
}

fn business_data() -> BTreeMap<String, String> {
    map(&[
        ("enterprise_name", "合肥味道餐饮管理有限公司"),
        ("legal_representative", "张晓明"),
        ("address", "安徽省合肥市蜀山区长江西路189号"),
        ("registered_capital", "100"),
        ("established_on", "2024-05-20"),
    ])
}

async fn issue_business(w: &World) -> yiwang_licenses::License {
    w.lic
        .issue(
            &w.market,
            &IssueRequest {
                type_code: "YYZZ".to_owned(),
                holder: Some(HolderRef::Uscc(w.uscc.as_str().to_owned())),
                data: business_data(),
                valid_from: None,
                department: None,
            },
            SOURCE,
        )
        .await
        .unwrap()
}

async fn licence_count(w: &World) -> u64 {
    yiwang_db::count(w.db.conn(), "SELECT COUNT(*) FROM licences", [])
        .await
        .unwrap()
}

async fn audit_count(w: &World, action: &str) -> u64 {
    yiwang_db::count(
        w.db.conn(),
        "SELECT COUNT(*) FROM audit_log WHERE action = $1",
        [action.into()],
    )
    .await
    .unwrap()
}

async fn issuing_types_gate_the_staff_pages(t: &TestDb) {
    let w = world(t).await;
    let market: Vec<String> = w
        .lic
        .issuing_types(&w.market)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.code)
        .collect();
    let expected: Vec<String> = w
        .lic
        .types()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.departments.iter().any(|d| d == "hf-scjgj"))
        .map(|t| t.code)
        .collect();
    assert!(!market.is_empty());
    assert_eq!(market, expected);
    // A department that issues nothing, a person and nobody are refused.
    for who in [&w.tax, &w.holder] {
        assert_eq!(
            w.lic.issuing_types(who).await.unwrap_err().code(),
            "forbidden"
        );
    }
    assert_eq!(
        w.lic
            .issuing_types(&Principal::Anonymous)
            .await
            .unwrap_err()
            .code(),
        "unauthenticated"
    );
    // The department's list is searched by holder name, identifier or type name.
    let licence = issue_business(&w).await;
    let page = PageRequest::new(Some(1), Some(20)).unwrap();
    for text in ["合肥味道", &licence.identifier.as_str()[..20], "营业执照"] {
        let found = w
            .lic
            .department_licences(&w.market, Some(text), page)
            .await
            .unwrap();
        assert_eq!(found.total, 1, "{text}");
    }
    let none = w
        .lic
        .department_licences(&w.market, Some("居住证"), page)
        .await
        .unwrap();
    assert_eq!(none.total, 0);
}

db_test!(
    issuing_types_gate_the_staff_pages,
    types_are_checked_whole,
    staff_issue_signs_a_standard_sm2_document,
    renew_revoke_and_cancel_follow_the_rules,
    offline_verification_uses_the_revocation_list_and_qr_payloads,
    key_rotation_keeps_old_signatures_valid,
    expiry_job_and_renewal_reminders,
    import_is_all_or_nothing,
    reads_need_a_grant_or_basis_and_are_logged,
    show_codes_are_short_lived_and_single_use,
    granted_cases_issue_or_record_pending,
    wallet_replacements_and_prefill,
);

async fn types_are_checked_whole(t: &TestDb) {
    let w = world(t).await;
    let mut bad = residence_permit();
    "jzz-1".clone_into(&mut bad.code);
    bad.fields.push(bad.fields[0].clone());
    bad.departments = vec!["no-such-dept".to_owned()];
    bad.validity = Validity::Years { years: 0 };
    let e = w
        .lic
        .define_type(&Principal::System, &bad, SOURCE)
        .await
        .unwrap_err();
    let LicenseError::TypeInvalid(problems) = &e else {
        panic!("{e:?}")
    };
    let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
    for code in [
        "licence_type_code_invalid",
        "licence_field_duplicate",
        "licence_validity_invalid",
        "licence_department_unknown",
    ] {
        assert!(codes.contains(&code), "{codes:?}");
    }
    assert_eq!(e.code(), "licence_type_invalid");
    // Nobody but the platform defines types; nothing was stored.
    assert_eq!(
        w.lic
            .define_type(&w.holder, &residence_permit(), SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        w.lic
            .define_type(&w.market, &residence_permit(), SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(w.lic.types().await.unwrap().len(), 3);
    assert!(w.lic.licence_type("JZZ-1").await.is_err());
    // Defining the same type again changes nothing.
    assert!(
        !w.lic
            .define_type(&Principal::System, &residence_permit(), SOURCE)
            .await
            .unwrap()
    );
}

async fn staff_issue_signs_a_standard_sm2_document(t: &TestDb) {
    let w = world(t).await;
    let licence = issue_business(&w).await;
    assert_eq!(licence.status, LicenseStatus::Valid);
    assert_eq!(licence.version, 1);
    assert_eq!(licence.holder_name, "合肥味道餐饮管理有限公司");
    assert_eq!(licence.holder_id, w.uscc.as_str());
    assert_eq!(licence.key_id, "hf-scjgj-k1");
    assert_eq!(licence.expires_on, None);
    // The identifier is GB/T 36904 with the issuer's USCC and parses back.
    let id = yiwang_licenses::LicenseIdentifier::parse(licence.identifier.as_str()).unwrap();
    assert_eq!(id.type_code(), "YYZZ");
    assert!(
        licence
            .identifier
            .as_str()
            .starts_with("1.2.156.3005.2.YYZZ.")
    );
    assert_eq!(audit_count(&w, "licence.issue").await, 1);

    // The document as the API serves it: the published key verifies it with an SM2 implementation
    // that is not the platform's.
    let doc = w
        .lic
        .document(&w.holder, licence.identifier.as_str())
        .await
        .unwrap();
    let keys = w.lic.published_keys().await.unwrap();
    let key = keys.iter().find(|k| k.key_id == doc.key_id).unwrap();
    assert_eq!(
        (key.algorithm.as_str(), key.department.as_str()),
        ("SM2", "hf-scjgj")
    );
    assert!(key.public_key.starts_with("04") && key.public_key.len() == 130);
    let signed = base64::engine::general_purpose::STANDARD
        .decode(&doc.signed)
        .unwrap();
    let signature = hex::decode(&doc.signature).unwrap();
    assert_eq!(signature.len(), 64);
    assert!(sm2_reference::verify(
        &key.public_key,
        b"1234567812345678",
        &signed,
        &signature
    ));
    // The signed bytes are the canonical JSON statement, UTF-8 with the Chinese text as is.
    let text = String::from_utf8(signed.clone()).unwrap();
    assert!(text.starts_with("{\"format\":\"yiwang-licence/1\",\"identifier\":\""));
    assert!(text.contains("安徽省合肥市蜀山区长江西路189号"));
    // One changed byte fails both verifiers.
    let mut altered = signed.clone();
    let at = text.find("189").unwrap();
    altered[at] = b'8';
    assert!(!sm2_reference::verify(
        &key.public_key,
        b"1234567812345678",
        &altered,
        &signature
    ));
    assert!(yiwang_kernel::sm2_verify(&key.public_key, &altered, &signature).is_err());
    let forged = SignedDocument {
        signed: base64::engine::general_purpose::STANDARD.encode(&altered),
        ..doc.clone()
    };
    let now = w.clock.now();
    assert_eq!(
        verify_offline(&OfflineInput::Document(forged), &keys, None, now).outcome,
        Outcome::Forged
    );
    let verdict = verify_offline(&OfflineInput::Document(doc.clone()), &keys, None, now);
    assert_eq!(verdict.outcome, Outcome::Valid);
    // Only public fields are shown: the registered capital is not public.
    assert!(verdict.public_fields.iter().any(|(l, _)| l == "住所"));
    assert!(
        !verdict
            .public_fields
            .iter()
            .any(|(l, _)| l.contains("注册资本"))
    );
    // The holder gets it; someone else is told it does not exist.
    assert_eq!(
        w.lic
            .document(&w.other, licence.identifier.as_str())
            .await
            .unwrap_err()
            .code(),
        "licence_not_found"
    );

    // Refusals change nothing: a department that does not issue the type, a citizen, bad data,
    // a holder of the wrong kind, an unknown holder.
    let before = licence_count(&w).await;
    let request = IssueRequest {
        type_code: "YYZZ".to_owned(),
        holder: Some(HolderRef::Uscc(w.uscc.as_str().to_owned())),
        data: business_data(),
        valid_from: None,
        department: None,
    };
    assert_eq!(
        w.lic
            .issue(&w.health, &request, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_not_issuing_department"
    );
    assert_eq!(
        w.lic
            .issue(&w.holder, &request, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    let mut bad = request.clone();
    bad.data
        .insert("established_on".to_owned(), "2024-13-40".to_owned());
    bad.data.remove("address");
    bad.data.insert("colour".to_owned(), "red".to_owned());
    let e = w.lic.issue(&w.market, &bad, SOURCE).await.unwrap_err();
    let LicenseError::DataInvalid(problems) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    let mut wrong_kind = request.clone();
    wrong_kind.holder = Some(HolderRef::Person(w.holder_id));
    assert_eq!(
        w.lic
            .issue(&w.market, &wrong_kind, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_holder_not_found"
    );
    let mut unknown = request.clone();
    unknown.holder = Some(HolderRef::Uscc(
        Uscc::complete("91340104MA2TX0002")
            .unwrap()
            .as_str()
            .to_owned(),
    ));
    assert!(w.lic.issue(&w.market, &unknown, SOURCE).await.is_err());
    assert_eq!(licence_count(&w).await, before);
    assert_eq!(audit_count(&w, "licence.issue").await, 1);
    // A malformed identifier is refused as such.
    assert_eq!(
        w.lic
            .document(&w.holder, "1.2.156.3005.2.YYZZ.x")
            .await
            .unwrap_err()
            .code(),
        "licence_bad_identifier"
    );
}

async fn renew_revoke_and_cancel_follow_the_rules(t: &TestDb) {
    let w = world(t).await;
    let first = issue_business(&w).await;
    let id = first.identifier.to_string();
    // 换发 with a new address: version 2, the old one 已换发.
    w.clock.advance(Duration::days(3));
    let renewed = w
        .lic
        .renew(
            &w.market,
            &id,
            &map(&[("address", "安徽省合肥市包河区徽州大道1号")]),
            "住所变更",
            SOURCE,
        )
        .await
        .unwrap();
    assert_eq!(renewed.version, 2);
    assert_eq!(renewed.identifier.serial(), first.identifier.serial());
    assert_eq!(renewed.data["address"], "安徽省合肥市包河区徽州大道1号");
    assert_eq!(renewed.data["legal_representative"], "张晓明");
    let (old, history) = w.lic.my_licence(&w.holder, &id).await.unwrap();
    assert_eq!(old.status, LicenseStatus::Replaced);
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["staff", "renew", "renewal"]);
    assert_eq!(w.lic.verify(&id).await.unwrap().outcome, Outcome::Replaced);
    // A replaced version accepts nothing.
    assert_eq!(
        w.lic
            .revoke(&w.market, &id, "违法经营", SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_wrong_status"
    );
    let new_id = renewed.identifier.to_string();
    // Another department cannot revoke; a reason is required.
    assert_eq!(
        w.lic
            .revoke(&w.health, &new_id, "违法经营", SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_not_issuing_department"
    );
    assert_eq!(
        w.lic
            .revoke(&w.market, &new_id, "  ", SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_reason_required"
    );
    let revoked = w
        .lic
        .revoke(&w.market, &new_id, "以欺骗手段取得登记", SOURCE)
        .await
        .unwrap();
    assert_eq!(revoked.status, LicenseStatus::Revoked);
    assert_eq!(revoked.status_reason, "以欺骗手段取得登记");
    // Revoke twice, renew or cancel a revoked one: refused, nothing changes.
    let events_before = yiwang_db::count(w.db.conn(), "SELECT COUNT(*) FROM licence_events", [])
        .await
        .unwrap();
    for e in [
        w.lic
            .revoke(&w.market, &new_id, "再次", SOURCE)
            .await
            .unwrap_err(),
        w.lic
            .renew(&w.market, &new_id, &BTreeMap::new(), "", SOURCE)
            .await
            .unwrap_err(),
        w.lic
            .cancel(&w.market, &new_id, "注销", SOURCE)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "licence_wrong_status");
    }
    assert_eq!(
        yiwang_db::count(w.db.conn(), "SELECT COUNT(*) FROM licence_events", [])
            .await
            .unwrap(),
        events_before
    );
    assert_eq!(licence_count(&w).await, 2);
    assert_eq!(
        w.lic.verify(&new_id).await.unwrap().outcome,
        Outcome::Revoked
    );
    // Cancel (注销) another licence.
    let other = issue_business(&w).await;
    let cancelled = w
        .lic
        .cancel(&w.market, other.identifier.as_str(), "企业申请注销", SOURCE)
        .await
        .unwrap();
    assert_eq!(cancelled.status, LicenseStatus::Cancelled);
    assert_eq!(audit_count(&w, "licence.revoke").await, 1);
    assert_eq!(audit_count(&w, "licence.cancel").await, 1);
    assert_eq!(audit_count(&w, "licence.renew").await, 1);
}

async fn offline_verification_uses_the_revocation_list_and_qr_payloads(t: &TestDb) {
    let w = world(t).await;
    let kept = issue_business(&w).await;
    let revoked = issue_business(&w).await;
    // The holder's offline download before the revocation.
    let stale = w
        .lic
        .offline_bundle(&w.holder, revoked.identifier.as_str())
        .await
        .unwrap();
    w.lic
        .revoke(
            &w.market,
            revoked.identifier.as_str(),
            "吊销营业执照",
            SOURCE,
        )
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(1));
    let bundle = w
        .lic
        .offline_bundle(&w.holder, revoked.identifier.as_str())
        .await
        .unwrap();
    // The bundle is a self-contained JSON file (the CLI's input) that round-trips.
    let file = serde_json::to_string_pretty(&bundle).unwrap();
    let read: OfflineBundle = serde_json::from_str(&file).unwrap();
    assert_eq!(read, bundle);
    let list = open_revocations(read.revocations.as_ref().unwrap(), &read.keys).unwrap();
    assert_eq!(list.entries.len(), 1);
    assert_eq!(list.entries[0].identifier, revoked.identifier.as_str());
    let now = w.clock.now();
    let verdict = verify_offline(
        &OfflineInput::Document(read.document.clone()),
        &read.keys,
        Some(&list),
        now,
    );
    assert_eq!(verdict.outcome, Outcome::Revoked);
    assert!(verdict.reason.starts_with("revoked"));
    // The stale download's document is authentic: without the newer list it looks valid.
    let old_list = open_revocations(stale.revocations.as_ref().unwrap(), &stale.keys).unwrap();
    assert!(old_list.entries.is_empty());
    assert_eq!(
        verify_offline(
            &OfflineInput::Document(stale.document.clone()),
            &stale.keys,
            Some(&old_list),
            now
        )
        .outcome,
        Outcome::Valid
    );
    // The revocation list is signed by the platform key, verified independently too; an altered
    // list is refused.
    let signed = bundle.revocations.clone().unwrap();
    let platform = bundle
        .keys
        .iter()
        .find(|k| k.key_id == signed.key_id)
        .unwrap();
    assert_eq!(platform.department, "platform");
    let list_bytes = base64::engine::general_purpose::STANDARD
        .decode(&signed.signed)
        .unwrap();
    assert!(sm2_reference::verify(
        &platform.public_key,
        b"1234567812345678",
        &list_bytes,
        &hex::decode(&signed.signature).unwrap()
    ));
    let mut statement: RevocationStatement = serde_json::from_slice(&list_bytes).unwrap();
    statement.entries.clear();
    let tampered = yiwang_licenses::document::SignedRevocations {
        signed: base64::engine::general_purpose::STANDARD.encode(statement.canonical_bytes()),
        ..signed.clone()
    };
    assert!(open_revocations(&tampered, &bundle.keys).is_err());
    // A department key cannot sign a revocation list.
    let dept_key = bundle
        .keys
        .iter()
        .find(|k| k.department == "hf-scjgj")
        .unwrap();
    let mislabelled = yiwang_licenses::document::SignedRevocations {
        key_id: dept_key.key_id.clone(),
        ..signed
    };
    assert!(open_revocations(&mislabelled, &bundle.keys).is_err());

    // QR payloads verify offline with the published keys; a changed character is forged.
    let qr = w
        .lic
        .qr_payload(&w.holder, kept.identifier.as_str())
        .await
        .unwrap();
    assert!(qr.starts_with("YWL1.1.2.156.3005.2.YYZZ."));
    let keys = w.lic.published_keys().await.unwrap();
    assert_eq!(
        verify_offline(&OfflineInput::Payload(qr.clone()), &keys, Some(&list), now).outcome,
        Outcome::Valid
    );
    // A character inside the signature (not its last, which also carries padding bits).
    let at = qr.len() - 10;
    let mut bad = qr.clone();
    let swapped = if &qr[at..=at] == "A" { "B" } else { "A" };
    bad.replace_range(at..=at, swapped);
    assert_eq!(
        verify_offline(&OfflineInput::Payload(bad), &keys, Some(&list), now).outcome,
        Outcome::Forged
    );
    let revoked_qr = w
        .lic
        .qr_payload(&w.holder, revoked.identifier.as_str())
        .await
        .unwrap();
    assert_eq!(
        verify_offline(
            &OfflineInput::Payload(revoked_qr.clone()),
            &keys,
            Some(&list),
            now
        )
        .outcome,
        Outcome::Revoked
    );
    // Online verification of a payload and an identifier; public fields only.
    let online = w.lic.verify(&qr).await.unwrap();
    assert_eq!(online.outcome, Outcome::Valid);
    assert_eq!(online.holder.as_deref(), Some("合肥味道餐饮管理有限公司"));
    assert_eq!(
        w.lic.verify(&revoked_qr).await.unwrap().outcome,
        Outcome::Revoked
    );
    // Online verification of whole documents: genuine, revoked, one changed byte.
    assert_eq!(
        w.lic
            .verify_document(&kept.document())
            .await
            .unwrap()
            .outcome,
        Outcome::Valid
    );
    assert_eq!(
        w.lic
            .verify_document(&revoked.document())
            .await
            .unwrap()
            .outcome,
        Outcome::Revoked
    );
    let mut altered = kept.document();
    let mut bytes = altered.signed_bytes().unwrap();
    let at = bytes.iter().position(|b| *b == b'Y').unwrap();
    bytes[at] = b'Z';
    altered.signed = base64::engine::general_purpose::STANDARD.encode(&bytes);
    assert_eq!(
        w.lic.verify_document(&altered).await.unwrap().outcome,
        Outcome::Forged
    );
    altered.signed = "A".repeat(yiwang_licenses::service::MAX_DOCUMENT_CHARS + 1);
    assert_eq!(
        w.lic.verify_document(&altered).await.unwrap_err().code(),
        "licence_text_too_long"
    );
    assert_eq!(
        w.lic.verify("YWL1.garbage").await.unwrap_err().code(),
        "licence_bad_identifier"
    );
    assert_eq!(
        w.lic.verify(&"9".repeat(500)).await.unwrap_err().code(),
        "licence_text_too_long"
    );
    // Keys of another platform: forged.
    let other_keys: Vec<_> = keys
        .iter()
        .map(|k| yiwang_licenses::document::PublishedKey {
            public_key: yiwang_kernel::Sm2KeyPair::generate(&mut StdRng::seed_from_u64(9))
                .public_key_hex(),
            ..k.clone()
        })
        .collect();
    assert_eq!(
        verify_offline(
            &OfflineInput::Document(read.document),
            &other_keys,
            None,
            now
        )
        .outcome,
        Outcome::Forged
    );
}

async fn key_rotation_keeps_old_signatures_valid(t: &TestDb) {
    let w = world(t).await;
    let before = issue_business(&w).await;
    w.clock.advance(Duration::days(1));
    // Only the department's administrator, a platform administrator or the platform rotate.
    assert_eq!(
        w.lic
            .rotate_key(&w.market, "hf-scjgj", SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    let new_key = w
        .lic
        .rotate_key(&Principal::System, "hf-scjgj", SOURCE)
        .await
        .unwrap();
    assert_eq!(new_key, "hf-scjgj-k2");
    w.clock.advance(Duration::days(1));
    let after = issue_business(&w).await;
    assert_eq!(after.key_id, "hf-scjgj-k2");
    let keys = w.lic.published_keys().await.unwrap();
    let old = keys.iter().find(|k| k.key_id == "hf-scjgj-k1").unwrap();
    assert!(old.not_after.is_some());
    let now = w.clock.now();
    for l in [&before, &after] {
        let doc = w
            .lic
            .document(&w.holder, l.identifier.as_str())
            .await
            .unwrap();
        assert_eq!(
            verify_offline(&OfflineInput::Document(doc), &keys, None, now).outcome,
            Outcome::Valid
        );
    }
    // A document claiming the old key after its period is forged: re-sign nothing, just relabel.
    let mut doc = w
        .lic
        .document(&w.holder, after.identifier.as_str())
        .await
        .unwrap();
    "hf-scjgj-k1".clone_into(&mut doc.key_id);
    assert_eq!(
        verify_offline(&OfflineInput::Document(doc), &keys, None, now).outcome,
        Outcome::Forged
    );
    assert_eq!(audit_count(&w, "licence.key_rotate").await, 1);
}

async fn expiry_job_and_renewal_reminders(t: &TestDb) {
    let w = world(t).await;
    // Valid for 5 years from a day that makes it expire in 20 days.
    let today = yiwang_kernel::china_date(w.clock.now());
    let valid_from = NaiveDate::from_ymd_opt(2021, 3, 22).unwrap();
    let permit = w
        .lic
        .issue(
            &w.market,
            &IssueRequest {
                type_code: "JYXK".to_owned(),
                holder: Some(HolderRef::Enterprise(w.enterprise)),
                data: map(&[
                    ("operator", "合肥味道餐饮管理有限公司"),
                    ("premises", "安徽省合肥市蜀山区长江西路189号"),
                    ("business_items", "热食类食品制售"),
                ]),
                valid_from: Some(valid_from),
                department: None,
            },
            SOURCE,
        )
        .await
        .unwrap();
    assert_eq!(permit.expires_on, NaiveDate::from_ymd_opt(2026, 3, 21));
    assert!(permit.expires_on.unwrap() > today);
    // One reminder (SMS to the legal representative) per version, however often the job runs.
    let sms = |jobs: &[jobs::JobRecord]| jobs.iter().filter(|j| j.kind == "notify.sms").count();
    let before = sms(&jobs::list(&w.db, JobStatus::Pending, 500).await.unwrap());
    assert_eq!(w.lic.remind_renewals().await.unwrap(), 1);
    assert_eq!(w.lic.remind_renewals().await.unwrap(), 0);
    let after = sms(&jobs::list(&w.db, JobStatus::Pending, 500).await.unwrap());
    assert_eq!(after, before + 1);
    assert_eq!(w.lic.expire_due().await.unwrap(), 0);
    // The day after the last day it is expired.
    w.clock.set(local(2026, 3, 22, 1));
    assert_eq!(w.lic.expire_due().await.unwrap(), 1);
    assert_eq!(w.lic.expire_due().await.unwrap(), 0);
    let verdict = w.lic.verify(permit.identifier.as_str()).await.unwrap();
    assert_eq!(verdict.outcome, Outcome::Expired);
    let (stored, history) = w
        .lic
        .my_licence(&w.holder, permit.identifier.as_str())
        .await
        .unwrap();
    assert_eq!(stored.status, LicenseStatus::Expired);
    assert_eq!(history.last().unwrap().actor, "system");
    // An expired licence can be renewed (换发); the new version is reminded afresh later.
    let renewed = w
        .lic
        .renew(
            &w.market,
            permit.identifier.as_str(),
            &BTreeMap::new(),
            "延续",
            SOURCE,
        )
        .await
        .unwrap();
    assert_eq!(renewed.expires_on, NaiveDate::from_ymd_opt(2031, 3, 21));
    assert_eq!(audit_count(&w, "licence.expire").await, 1);
    assert_eq!(audit_count(&w, "licence.remind").await, 1);
}

async fn import_is_all_or_nothing(t: &TestDb) {
    let w = world(t).await;
    let holder_rid = rid("34010419900307123");
    let good = format!(
        "holder,valid_from,expires_on,address,issuing_office\n{holder_rid},2025-09-01,,合肥市蜀山区长江西路189号,合肥市公安局蜀山分局\n"
    );
    let bad = format!(
        "{good}{},2025-09-01,,合肥市包河区,合肥市公安局包河分局\n{holder_rid},2025-02-30,,合肥市庐阳区,合肥市公安局\n{holder_rid},2025-09-01,2025-01-01,,合肥市公安局\n",
        rid("34010419800101001")
    );
    let e = w
        .lic
        .import_csv(&w.police, "JZZ", &bad, SOURCE)
        .await
        .unwrap_err();
    let LicenseError::ImportInvalid(rows) = &e else {
        panic!("{e:?}")
    };
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5], "{rows:?}");
    assert!(rows[0].reason.contains("not a registered"));
    assert!(rows[1].reason.contains("valid_from"));
    assert!(rows[2].reason.contains("before valid_from") || rows[2].reason.contains("居住地址"));
    assert_eq!(licence_count(&w).await, 0);
    // A header naming an unknown field, another department: refused.
    let e = w
        .lic
        .import_csv(&w.police, "JZZ", "holder,valid_from,colour\n", SOURCE)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "licence_import_invalid");
    assert_eq!(
        w.lic
            .import_csv(&w.market, "JZZ", &good, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_not_issuing_department"
    );
    assert_eq!(
        w.lic
            .import_csv(&w.police, "JZZ", &"x".repeat(3 * 1024 * 1024), SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_import_too_large"
    );
    assert_eq!(licence_count(&w).await, 0);
    let report = w
        .lic
        .import_csv(&w.police, "JZZ", &good, SOURCE)
        .await
        .unwrap();
    assert_eq!(report.issued.len(), 1);
    let mine = w
        .lic
        .my_licences(&w.holder, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    assert_eq!(mine.total, 1);
    assert_eq!(
        mine.items[0].expires_on,
        NaiveDate::from_ymd_opt(2026, 8, 31)
    );
    assert_eq!(audit_count(&w, "licence.import").await, 1);
}

async fn reads_need_a_grant_or_basis_and_are_logged(t: &TestDb) {
    let w = world(t).await;
    let licence = issue_business(&w).await;
    let id = licence.identifier.to_string();
    // Without a grant: forbidden, and logged as refused, not as a success.
    let e = w
        .lic
        .read_licence(&w.health, &id, "公共场所卫生许可审查", None, SOURCE)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert_eq!(
        w.lic.reads_of_licence(&id).await.unwrap(),
        [(ReadBasis::None, false, None)]
    );
    assert_eq!(audit_count(&w, "licence.read_refused").await, 1);
    assert_eq!(audit_count(&w, "licence.read").await, 0);
    // A legal basis recorded for the type (tax office) and the issuer need no grant.
    w.lic
        .read_licence(&w.tax, &id, "税务登记信息确认", None, SOURCE)
        .await
        .unwrap();
    w.lic
        .read_licence(&w.market, &id, "日常监管", None, SOURCE)
        .await
        .unwrap();
    // The holder grants the health commission; only the grantor's own licences can be granted.
    let request = GrantRequest {
        department: "hf-wjw".to_owned(),
        purpose: "公共场所卫生许可".to_owned(),
        identifier: Some(id.clone()),
        type_code: None,
        days: 30,
    };
    assert_eq!(
        w.lic
            .grant(&w.other, &request, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_not_found"
    );
    let too_long = GrantRequest {
        days: 400,
        ..request.clone()
    };
    assert!(w.lic.grant(&w.holder, &too_long, SOURCE).await.is_err());
    let grant = w.lic.grant(&w.holder, &request, SOURCE).await.unwrap();
    let read = w
        .lic
        .read_licence(
            &w.health,
            &id,
            "公共场所卫生许可审查",
            Some("340100-20260302-01-000001"),
            SOURCE,
        )
        .await
        .unwrap();
    assert_eq!(read.identifier, licence.identifier);
    // The holder sees who read, when and why — the refused read too.
    let reads = w
        .lic
        .reads_of_mine(&w.holder, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    assert_eq!(reads.total, 4);
    let newest = &reads.items[0];
    assert_eq!((newest.basis, newest.allowed), (ReadBasis::Grant, true));
    assert_eq!(newest.case_no.as_deref(), Some("340100-20260302-01-000001"));
    assert_eq!(newest.department_name, "合肥市卫生健康委员会");
    assert!(
        reads
            .items
            .iter()
            .any(|r| !r.allowed && r.basis == ReadBasis::None)
    );
    assert!(reads.items.iter().any(|r| r.basis == ReadBasis::LegalBasis));
    // Another person sees none of it, cannot revoke the grant.
    assert_eq!(
        w.lic
            .reads_of_mine(&w.other, PageRequest::new(None, None).unwrap())
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        w.lic
            .revoke_grant(&w.other, &grant.public_id, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_grant_not_found"
    );
    assert_eq!(w.lic.my_grants(&w.holder).await.unwrap().len(), 1);
    // Withdrawn: refused again (and logged).
    w.lic
        .revoke_grant(&w.holder, &grant.public_id, SOURCE)
        .await
        .unwrap();
    assert_eq!(
        w.lic
            .read_licence(&w.health, &id, "复查", None, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    // A grant for a type covers the enterprise's licences of that type, until it expires.
    w.lic
        .grant(
            &w.holder,
            &GrantRequest {
                department: "hf-wjw".to_owned(),
                purpose: "年度复核".to_owned(),
                identifier: None,
                type_code: Some("YYZZ".to_owned()),
                days: 1,
            },
            SOURCE,
        )
        .await
        .unwrap();
    w.lic
        .read_licence(&w.health, &id, "年度复核", None, SOURCE)
        .await
        .unwrap();
    w.clock.advance(Duration::days(2));
    assert!(
        w.lic
            .read_licence(&w.health, &id, "年度复核", None, SOURCE)
            .await
            .is_err()
    );
    // Citizens cannot read as staff; a purpose is required.
    assert_eq!(
        w.lic
            .read_licence(&w.holder, &id, "看看", None, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        w.lic
            .read_licence(&w.health, &id, " ", None, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_reason_required"
    );
}

async fn show_codes_are_short_lived_and_single_use(t: &TestDb) {
    let w = world(t).await;
    let licence = issue_business(&w).await;
    let id = licence.identifier.to_string();
    assert_eq!(
        w.lic
            .create_show_code(&w.other, &id, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_not_found"
    );
    let code = w
        .lic
        .create_show_code(&w.holder, &id, SOURCE)
        .await
        .unwrap();
    assert_eq!(code.digits.len(), 6);
    assert_eq!(code.expires_at, w.clock.now() + Duration::minutes(5));
    let shown = w
        .lic
        .redeem_show_code(&w.health, &code.digits, SOURCE)
        .await
        .unwrap();
    assert_eq!(shown.identifier, licence.identifier);
    // Single use.
    assert_eq!(
        w.lic
            .redeem_show_code(&w.health, &code.digits, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_show_code_invalid"
    );
    // The QR token works the same; after five minutes nothing does.
    let second = w
        .lic
        .create_show_code(&w.holder, &id, SOURCE)
        .await
        .unwrap();
    w.lic
        .redeem_show_code(&w.health, &second.token, SOURCE)
        .await
        .unwrap();
    let third = w
        .lic
        .create_show_code(&w.holder, &id, SOURCE)
        .await
        .unwrap();
    w.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    assert_eq!(
        w.lic
            .redeem_show_code(&w.health, &third.digits, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_show_code_invalid"
    );
    assert_eq!(
        w.lic
            .redeem_show_code(&w.holder, &third.digits, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    let reads = w.lic.reads_of_licence(&id).await.unwrap();
    assert_eq!(
        reads,
        [
            (ReadBasis::ShowCode, true, None),
            (ReadBasis::ShowCode, true, None)
        ]
    );
    // A revoked licence cannot be shown.
    w.lic.revoke(&w.market, &id, "吊销", SOURCE).await.unwrap();
    assert_eq!(
        w.lic
            .create_show_code(&w.holder, &id, SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_wrong_status"
    );
}

async fn granted_cases_issue_or_record_pending(t: &TestDb) {
    let w = world(t).await;
    let decided = w.clock.now();
    let health = yiwang_licenses::repo::department_by_code(w.db.conn(), "hf-scjgj")
        .await
        .unwrap()
        .unwrap();
    // Missing required data: a pending issuance due 10 working days after the decision.
    let answers = map(&[("operator", "合肥味道餐饮管理有限公司"), ("area", "120")]);
    let tx = w.db.begin().await.unwrap();
    let issued = w
        .lic
        .issue_for_case_in(
            &tx,
            &w.market,
            &CaseFacts {
                case_no: "340100-20260302-01-000007",
                item_code: FOOD_NEW,
                department: health.id,
                applicant: w.holder_id,
                enterprise: Some(w.enterprise),
                answers: &answers,
                decided_at: decided,
            },
            SOURCE,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let [
        CaseIssue::Pending {
            type_code,
            missing,
            due_at,
        },
    ] = issued.as_slice()
    else {
        panic!("{issued:?}")
    };
    assert_eq!(type_code, "JYXK");
    assert_eq!(
        missing,
        &["premises".to_owned(), "business_items".to_owned()]
    );
    // 2026-03-02 (Monday) + 10 working days = 2026-03-16, end of day China time.
    assert_eq!(
        *due_at,
        local(2026, 3, 16, 23) + Duration::minutes(59) + Duration::seconds(59)
    );
    let pending = w.lic.pending(&w.market).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert!(w.lic.pending(&w.holder).await.is_err());
    // Another department cannot complete it; missing data still refused.
    assert_eq!(
        w.lic
            .complete_pending(&w.health, pending[0].id, &BTreeMap::new(), SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_pending_not_found"
    );
    assert_eq!(
        w.lic
            .complete_pending(&w.market, pending[0].id, &BTreeMap::new(), SOURCE)
            .await
            .unwrap_err()
            .code(),
        "licence_data_invalid"
    );
    let licence = w
        .lic
        .complete_pending(
            &w.market,
            pending[0].id,
            &map(&[
                ("premises", "合肥市蜀山区长江西路189号"),
                ("business_items", "热食类食品制售"),
            ]),
            SOURCE,
        )
        .await
        .unwrap();
    assert_eq!(
        licence.case_no.as_deref(),
        Some("340100-20260302-01-000007")
    );
    assert_eq!(licence.data["area"], "120");
    assert!(w.lic.pending(&w.market).await.unwrap().is_empty());
    // With every field answered the licence is issued at once; an item producing nothing issues
    // nothing; an enterprise type without an enterprise applicant issues nothing.
    let full = map(&[
        ("operator", "合肥味道餐饮管理有限公司"),
        ("premises", "合肥市蜀山区长江西路189号"),
        ("business_items", "热食类食品制售"),
    ]);
    let tx = w.db.begin().await.unwrap();
    let facts = CaseFacts {
        case_no: "340100-20260302-01-000008",
        item_code: FOOD_NEW,
        department: health.id,
        applicant: w.holder_id,
        enterprise: Some(w.enterprise),
        answers: &full,
        decided_at: decided,
    };
    let issued = w
        .lic
        .issue_for_case_in(&tx, &w.market, &facts, SOURCE)
        .await
        .unwrap();
    assert!(matches!(issued.as_slice(), [CaseIssue::Issued { .. }]));
    let none = w
        .lic
        .issue_for_case_in(
            &tx,
            &w.market,
            &CaseFacts {
                item_code: "nothing",
                ..facts.clone()
            },
            SOURCE,
        )
        .await
        .unwrap();
    assert!(none.is_empty());
    let no_enterprise = w
        .lic
        .issue_for_case_in(
            &tx,
            &w.market,
            &CaseFacts {
                enterprise: None,
                ..facts
            },
            SOURCE,
        )
        .await
        .unwrap();
    assert!(no_enterprise.is_empty());
    tx.commit().await.unwrap();
    assert_eq!(licence_count(&w).await, 2);
}

async fn wallet_replacements_and_prefill(t: &TestDb) {
    let w = world(t).await;
    // No licence yet: the guide names the material a licence replaces, the applicant has none.
    let general = w.lic.materials_without_paper(FOOD_NEW, None).await.unwrap();
    assert_eq!(general.len(), 1);
    assert_eq!(general[0].type_name, "营业执照");
    assert!(
        w.lic
            .materials_without_paper(FOOD_NEW, Some((w.holder_id, Some(w.enterprise))))
            .await
            .unwrap()
            .is_empty()
    );
    let licence = issue_business(&w).await;
    let mine = w
        .lic
        .materials_without_paper(FOOD_NEW, Some((w.holder_id, Some(w.enterprise))))
        .await
        .unwrap();
    assert_eq!(
        mine[0].identifier.as_deref(),
        Some(licence.identifier.as_str())
    );
    // Applying for oneself (no enterprise): an enterprise licence does not count.
    assert!(
        w.lic
            .materials_without_paper(FOOD_NEW, Some((w.holder_id, None)))
            .await
            .unwrap()
            .is_empty()
    );
    // The wallet lists the enterprise's licence for its representative, not for others.
    let page = PageRequest::new(None, None).unwrap();
    assert_eq!(w.lic.my_licences(&w.holder, page).await.unwrap().total, 1);
    assert_eq!(w.lic.my_licences(&w.other, page).await.unwrap().total, 0);
    assert!(w.lic.my_licences(&w.market, page).await.is_err());
    // Prefill: the account's identity, the enterprise's register data and the licence's address.
    let tx = w.db.begin().await.unwrap();
    let fields = w
        .lic
        .prefill_in(&tx, w.holder_id, Some(w.enterprise))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let get = |name: &str| {
        fields
            .iter()
            .find(|f| f.field == name)
            .map(|f| f.value.clone())
    };
    assert_eq!(get("applicant_name").as_deref(), Some("张晓明"));
    assert_eq!(get("resident_id"), Some(rid("34010419900307123")));
    assert_eq!(get("mobile").as_deref(), Some("13800138001"));
    assert_eq!(get("uscc").as_deref(), Some(w.uscc.as_str()));
    assert_eq!(get("legal_representative").as_deref(), Some("张晓明"));
    assert_eq!(
        get("address").as_deref(),
        Some("安徽省合肥市蜀山区长江西路189号")
    );
    assert!(fields.iter().all(|f| f.verified));
    // Someone else's enterprise adds nothing but their own account.
    let tx = w.db.begin().await.unwrap();
    let Principal::Person(other) = w.other else {
        panic!()
    };
    let theirs = w
        .lic
        .prefill_in(&tx, other, Some(w.enterprise))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        theirs
            .iter()
            .all(|f| !["uscc", "address"].contains(&f.field.as_str()))
    );
}
