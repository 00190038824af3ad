//! Cases with e-licences: a granted case issues its licence in the same transaction, decision
//! notices are sealed, a licence the applicant holds replaces a material (免提交) with a usage grant
//! for the reviewing department, and the reviewer's read through it is logged with the case.

use std::sync::Arc;

use base64::Engine as _;
use yiwang_cases::CaseError;
use yiwang_cases::workflow::StepAction;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::service::register::{RegisterEntry, StaticRegister};
use yiwang_kernel::{ErrorCode as _, SharedClock, Uscc, WorkCalendar};
use yiwang_licenses::model::{FieldDef, FieldKind, HolderKind, ReadBasis, Replacement, Validity};
use yiwang_licenses::service::{HolderRef, IssueRequest};
use yiwang_licenses::{LicenseStatus, LicenseType, Licenses, SealCipher, derive_seal_key};

use super::{
    FOOD_NEW, MASTER_KEY, PASSWORD, SINGLE, World, act, answers, application, item, meta, origin,
    publish, world,
};

const PERMIT_MATERIAL: &str = "营业执照或者其他主体资格证明文件";

fn field(name: &str, label: &str, required: bool) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: FieldKind::Text,
        required,
        public: true,
    }
}

fn types() -> [LicenseType; 2] {
    [
        LicenseType {
            code: "YYZZ".to_owned(),
            name: "营业执照".to_owned(),
            departments: vec!["hf-scjgj".to_owned()],
            holder: HolderKind::Enterprise,
            fields: vec![
                field("org_name", "名称", true),
                field("address", "住所", true),
            ],
            validity: Validity::None,
            producing_items: Vec::new(),
            replaces: vec![Replacement {
                item: FOOD_NEW.to_owned(),
                material: PERMIT_MATERIAL.to_owned(),
            }],
            legal_basis: Vec::new(),
        },
        LicenseType {
            code: "JYXK".to_owned(),
            name: "食品经营许可证".to_owned(),
            departments: vec!["hf-scjgj".to_owned()],
            holder: HolderKind::Enterprise,
            fields: vec![
                field("operator", "经营者名称", true),
                FieldDef {
                    kind: FieldKind::Number,
                    ..field("area", "经营场所面积（平方米）", false)
                },
            ],
            validity: Validity::Years { years: 5 },
            producing_items: vec![FOOD_NEW.to_owned()],
            replaces: Vec::new(),
            legal_basis: Vec::new(),
        },
    ]
}

/// The world with licences, the applicant's enterprise registered and holding a 营业执照.
async fn licensed_world(t: &TestDb) -> (World, Licenses, String, String) {
    let mut w = world(t, super::local(2026, 3, 2, 10)).await;
    let clock: SharedClock = Arc::new(w.clock.clone());
    let licenses = Licenses::new(
        t.db.clone(),
        clock,
        SealCipher::new(derive_seal_key(MASTER_KEY).unwrap()),
        WorkCalendar::builtin(),
        Arc::new(PiiProtector::from_hex(MASTER_KEY).unwrap()),
    );
    for ty in types() {
        licenses
            .define_type(&Principal::System, &ty, "test")
            .await
            .unwrap();
    }
    let uscc = Uscc::complete("91340104MA2TX0001").unwrap();
    let session = w
        .accounts
        .login("13800138001", PASSWORD, &meta(), &mut w.rng)
        .await
        .unwrap()
        .session;
    let register = Arc::new(
        StaticRegister::new(vec![RegisterEntry {
            uscc: uscc.as_str().to_owned(),
            name: "合肥味道餐饮管理有限公司".to_owned(),
            representative_name: "张晓明".to_owned(),
            representative_id: w.applicant_id.clone(),
        }])
        .unwrap(),
    );
    let enterprise = match w
        .accounts
        .with_register(register)
        .register_enterprise(
            &session,
            uscc.as_str(),
            "合肥味道餐饮管理有限公司",
            &meta(),
            &mut w.rng,
        )
        .await
        .unwrap()
    {
        yiwang_identity::service::enterprise::EnterpriseRegistration::Registered(e) => e,
        other @ yiwang_identity::service::enterprise::EnterpriseRegistration::Held(_) => {
            panic!("{other:?}")
        }
    };
    let licence = licenses
        .issue(
            &Principal::System,
            &IssueRequest {
                type_code: "YYZZ".to_owned(),
                holder: Some(HolderRef::Uscc(uscc.as_str().to_owned())),
                data: answers(&[
                    ("org_name", "合肥味道餐饮管理有限公司"),
                    ("address", "安徽省合肥市蜀山区长江西路189号"),
                ]),
                valid_from: None,
                department: Some("hf-scjgj".to_owned()),
            },
            "test",
        )
        .await
        .unwrap();
    w.cases = w.cases.clone().with_licenses(licenses.clone());
    (
        w,
        licenses,
        enterprise.public_id,
        licence.identifier.to_string(),
    )
}

db_test!(
    a_held_licence_replaces_the_upload_and_the_grant_issues_a_licence,
    without_the_licence_the_material_is_still_required,
);

async fn a_held_licence_replaces_the_upload_and_the_grant_issues_a_licence(t: &TestDb) {
    let (mut w, licenses, enterprise, business) = licensed_world(t).await;
    let item = publish(&w, FOOD_NEW, SINGLE).await;
    // The guide says the material needs no paper, in general and for this applicant.
    let general = w
        .cases
        .paperless_materials(&Principal::Anonymous, item, None)
        .await
        .unwrap();
    assert_eq!(general[0].material, PERMIT_MATERIAL);
    assert_eq!(general[0].identifier, None);
    let mine = w
        .cases
        .paperless_materials(&w.applicant, item, Some(&enterprise))
        .await
        .unwrap();
    assert_eq!(mine[0].identifier.as_deref(), Some(business.as_str()));
    // Prefill knows the enterprise and the address on its licence.
    let prefill = w
        .cases
        .prefill(&w.applicant, Some(&enterprise))
        .await
        .unwrap();
    assert!(
        prefill
            .iter()
            .any(|f| f.field == "address" && f.value.contains("长江西路189号") && f.verified)
    );

    // Every mandatory material but the licence's is uploaded.
    let form = answers(&[
        ("operator", "合肥味道餐饮管理有限公司"),
        ("area", "120"),
        ("contact_id", &w.applicant_id),
    ]);
    let mut app = application(&mut w, item, form).await;
    app.materials.retain(|(m, _)| m != PERMIT_MATERIAL);
    app.enterprise = Some(enterprise.clone());
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    let case_no = case.case_no.clone().unwrap();
    let used = w.cases.case_licences(&w.applicant, case.id).await.unwrap();
    assert_eq!(used, [(PERMIT_MATERIAL.to_owned(), business.clone())]);
    // The application created a grant for the reviewing department, for this case.
    let grants = licenses.my_grants(&w.applicant).await.unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0].case_no.as_deref(), Some(case_no.as_str()));
    assert_eq!(grants[0].department_name, "合肥市市场监督管理局");

    // Accepting seals the 受理通知书 with the department's key.
    act(
        &w,
        &w.window,
        case.id,
        "accept",
        StepAction::Accept,
        "材料齐全，予以受理",
    )
    .await
    .unwrap();
    let seal = w
        .cases
        .notice_seal(&w.applicant, case.id, "acceptance")
        .await
        .unwrap()
        .unwrap();
    let keys = licenses.published_keys().await.unwrap();
    let key = keys.iter().find(|k| k.key_id == seal.key_id).unwrap();
    yiwang_kernel::sm2_verify(
        &key.public_key,
        seal.statement.as_bytes(),
        &hex::decode(&seal.signature).unwrap(),
    )
    .unwrap();
    assert!(seal.statement.contains("\"notice\":\"acceptance\""));
    assert!(seal.statement.contains(&case_no));
    let qr_statement =
        yiwang_cases::service::notice_qr_statement(&case_no, "acceptance", seal.sealed_at);
    yiwang_kernel::sm2_verify(
        &key.public_key,
        qr_statement.as_bytes(),
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&seal.qr_signature)
            .unwrap(),
    )
    .unwrap();
    // The QR payload carries everything an offline verifier needs to rebuild the statement.
    let payload = seal.qr_payload(&case_no);
    let parsed = yiwang_cases::service::NoticePayload::parse(&payload).unwrap();
    assert_eq!(parsed.sealed_at, seal.sealed_at);
    assert_eq!(parsed.verify_offline(&keys).unwrap().key_id, seal.key_id);
    let verdict = w.cases.verify_notice(&payload).await.unwrap().unwrap();
    assert!(verdict.genuine, "{verdict:?}");
    assert_eq!(verdict.title, "受理通知书");
    assert!(verdict.department_name.is_some());
    // One changed character of the case number, or another notice under the same signature, is
    // forged; text that is no notice payload is not a notice at all.
    let mut altered = case_no.clone();
    altered.pop();
    altered.push(if case_no.ends_with('9') { '8' } else { '9' });
    let forged = payload.replacen(&case_no, &altered, 1);
    assert!(
        !w.cases
            .verify_notice(&forged)
            .await
            .unwrap()
            .unwrap()
            .genuine
    );
    assert!(parsed.verify_offline(&keys).is_ok());
    let other_notice = payload.replacen(".acceptance.", ".grant.", 1);
    let verdict = w.cases.verify_notice(&other_notice).await.unwrap().unwrap();
    assert!(!verdict.genuine);
    assert!(w.cases.verify_notice("YWN1.x").await.unwrap().is_none());
    assert!(w.cases.verify_notice("hello").await.unwrap().is_none());
    // Someone who may not see the case gets nothing.
    assert_eq!(
        w.cases
            .notice_seal(&w.other_person, case.id, "acceptance")
            .await
            .unwrap_err()
            .code(),
        "case_not_found"
    );
    assert!(
        w.cases
            .notice_seal(&w.applicant, case.id, "grant")
            .await
            .unwrap()
            .is_none()
    );

    // The reviewer reads the licence through the grant; the read is logged with the case.
    let read = w
        .cases
        .read_case_licence(&w.reviewer, case.id, PERMIT_MATERIAL, "test")
        .await
        .unwrap();
    assert_eq!(read.identifier.as_str(), business);
    assert_eq!(
        licenses.reads_of_licence(&business).await.unwrap(),
        [(ReadBasis::Grant, true, Some(case_no.clone()))]
    );
    assert!(matches!(
        w.cases
            .read_case_licence(&w.applicant, case.id, PERMIT_MATERIAL, "test")
            .await,
        Err(CaseError::Identity(_))
    ));

    act(
        &w,
        &w.reviewer,
        case.id,
        "review",
        StepAction::Agree,
        "符合条件",
    )
    .await
    .unwrap();
    // Granted: the 食品经营许可证 exists in the same transaction, with the case number.
    act(
        &w,
        &w.chief,
        case.id,
        "decide",
        StepAction::Grant,
        "准予许可",
    )
    .await
    .unwrap();
    let wallet = licenses
        .my_licences(&w.applicant, yiwang_kernel::PageRequest::default())
        .await
        .unwrap();
    let permit = wallet
        .items
        .iter()
        .find(|l| l.type_code == "JYXK")
        .unwrap_or_else(|| panic!("the granted case issued no licence: {:?}", wallet.items));
    assert_eq!(permit.case_no.as_deref(), Some(case_no.as_str()));
    assert_eq!(permit.status, LicenseStatus::Valid);
    assert_eq!(permit.data["operator"], "合肥味道餐饮管理有限公司");
    assert_eq!(
        licenses
            .verify(permit.identifier.as_str())
            .await
            .unwrap()
            .outcome,
        yiwang_licenses::Outcome::Valid
    );
    assert!(
        w.cases
            .notice_seal(&w.applicant, case.id, "grant")
            .await
            .unwrap()
            .is_some()
    );
    let _ = item;
}

async fn without_the_licence_the_material_is_still_required(t: &TestDb) {
    let (mut w, licenses, _enterprise, _business) = licensed_world(t).await;
    let id = publish(&w, FOOD_NEW, SINGLE).await;
    // Applying for oneself: the enterprise's licence does not count, the upload is required and
    // nothing is stored.
    let form = answers(&[
        ("operator", "张晓明"),
        ("area", "20"),
        ("contact_id", &w.applicant_id),
    ]);
    let mut app = application(&mut w, id, form).await;
    app.materials.retain(|(m, _)| m != PERMIT_MATERIAL);
    let e = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap_err();
    assert!(matches!(&e, CaseError::MaterialsMissing(m) if m == &[PERMIT_MATERIAL.to_owned()]));
    assert!(licenses.my_grants(&w.applicant).await.unwrap().is_empty());
    assert_eq!(
        super::count(t, "SELECT COUNT(*) AS n FROM case_licences").await,
        0
    );
    assert_eq!(item(&w, FOOD_NEW).await, id);
}
