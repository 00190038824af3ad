//! The cross-domain reads (`yiwang_identity::reads`) inside a caller's open transaction.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{
    ClientMeta, EnterpriseRelation, NewStaff, RawNewStaff, RawRegistration, Registration,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, SessionPolicy, reads};
use yiwang_kernel::{Mobile, ResidentId, SharedClock, TestClock, Uscc};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};

const PASSWORD: &str = "Yiwang#2026";

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "10.0.0.9".into(),
        user_agent: "test".into(),
    }
}

async fn reads_see_people_staff_and_enterprises_inside_a_transaction(t: &TestDb) {
    let clock: SharedClock = Arc::new(TestClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
    ));
    let parsed = yiwang_identity::service::parse_org(&crate::org::fixture_org()).unwrap();
    yiwang_identity::service::load_org(&t.db, &clock, &parsed, "system:test")
        .await
        .unwrap();
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        clock,
        pii.clone(),
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let mut people = Vec::new();
    for (name, rid, mobile) in [("张三", RID_A, MOBILE_A), ("李四", RID_B, MOBILE_B)] {
        let reg = Registration::parse(&RawRegistration {
            name: name.into(),
            resident_id: rid.into(),
            mobile: mobile.into(),
            password: PASSWORD.into(),
        })
        .unwrap();
        people.push(
            accounts
                .register_person(&reg, &meta(), &mut rng)
                .await
                .unwrap(),
        );
    }
    let staff = accounts
        .create_staff(
            &Principal::System,
            "system:test",
            "hf-mzj",
            &NewStaff::parse(&RawNewStaff {
                employee_no: "MZ0101".into(),
                name: "周敏".into(),
                mobile: "13900000001".into(),
                password: PASSWORD.into(),
                roles: vec!["department_admin".into()],
                posts: vec![],
            })
            .unwrap(),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    let representative = accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut rng)
        .await
        .unwrap()
        .session;
    let uscc = Uscc::complete("91340104MA2TX0001").unwrap();
    let enterprise = crate::safety::registered(
        accounts
            .with_register(crate::safety::register_of(&[(
                uscc.as_str(),
                "合肥味道餐饮管理有限公司",
                "张三",
                RID_A,
            )]))
            .register_enterprise(
                &representative,
                uscc.as_str(),
                "合肥味道餐饮管理有限公司",
                &meta(),
                &mut rng,
            )
            .await
            .unwrap(),
    );
    accounts
        .authorize_agent(&representative, &enterprise.public_id, MOBILE_B, &meta())
        .await
        .unwrap();

    // Everything below reads through the open transaction, as another domain's use case does.
    let tx = t.db.begin().await.unwrap();
    let (a, b) = (&people[0], &people[1]);
    let person = reads::person_in(&tx, a.id).await.unwrap().unwrap();
    assert_eq!(
        (person.name.as_str(), person.public_id.as_str()),
        ("张三", a.public_id.as_str())
    );
    let registered = reads::person_by_resident_id_in(&tx, &pii, &ResidentId::parse(RID_B).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(registered.id, b.id);
    let unknown_rid = ResidentId::complete("34010419800101001").unwrap();
    assert!(
        reads::person_by_resident_id_in(&tx, &pii, &unknown_rid)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        reads::person_mobile_in(&tx, &pii, a.id).await.unwrap(),
        Some(Mobile::parse(MOBILE_A).unwrap())
    );

    let found = reads::staff_in(&tx, staff.id).await.unwrap().unwrap();
    assert_eq!(
        (found.employee_no.as_str(), found.department_code.as_str()),
        ("MZ0101", "hf-mzj")
    );
    let by_no = reads::staff_by_employee_no_in(&tx, "MZ0101")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_no.id, staff.id);
    assert!(
        reads::staff_by_employee_no_in(&tx, "NOBODY")
            .await
            .unwrap()
            .is_none()
    );

    let stored = reads::enterprise_in(&tx, enterprise.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.uscc, uscc);
    assert_eq!(stored.legal_representative, a.id);
    let by_public = reads::enterprise_by_public_id_in(&tx, &enterprise.public_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_public.id, enterprise.id);
    assert_eq!(
        reads::enterprise_agents_in(&tx, enterprise.id)
            .await
            .unwrap(),
        [b.id]
    );
    let of_agent = reads::enterprises_of_person_in(&tx, b.id).await.unwrap();
    assert_eq!(of_agent.len(), 1);
    assert_eq!(of_agent[0].0.id, enterprise.id);
    assert_eq!(of_agent[0].1, EnterpriseRelation::Agent);
    tx.rollback().await.unwrap();
}
db_test!(reads_see_people_staff_and_enterprises_inside_a_transaction);
