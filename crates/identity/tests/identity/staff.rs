//! Staff administration, staff log-in, audited record views, enterprises and agents — and the negatives:
//! nobody acts outside their department, region, ownership or agency.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::testing::TestDb;
use yiwang_db::{audit, db_test};
use yiwang_identity::model::{
    ClientMeta, NewStaff, PostInput, RawNewStaff, RawRegistration, Registration, Role,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, IdentityError, SessionPolicy};
use yiwang_kernel::{SharedClock, TestClock, Uscc};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};

const PASSWORD: &str = "Yiwang#2026";

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "10.0.0.9".into(),
        user_agent: "test".into(),
    }
}

async fn setup(t: &TestDb) -> (Accounts, StdRng) {
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock);
    let org = crate::org::fixture_org();
    let parsed = yiwang_identity::service::parse_org(&org).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared,
        pii,
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    (accounts, StdRng::seed_from_u64(9))
}

fn post_input(code: &str, name: &str, duties: &str) -> PostInput {
    PostInput {
        code: code.into(),
        name: name.into(),
        duties: duties.into(),
    }
}

fn new_staff(no: &str, name: &str, mobile: &str, roles: &[&str], posts: &[&str]) -> NewStaff {
    NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: name.into(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        posts: posts.iter().map(|p| (*p).to_owned()).collect(),
    })
    .unwrap()
}

async fn principal_of(accounts: &Accounts, no: &str, rng: &mut StdRng) -> (Principal, String) {
    let done = accounts
        .staff_login(no, PASSWORD, &meta(), rng)
        .await
        .unwrap();
    let principal = accounts.principal(Some(&done.session)).await.unwrap();
    (principal, format!("staff:{}", done.staff.public_id))
}

#[test]
fn staff_input_is_checked() {
    let errors = NewStaff::parse(&RawNewStaff {
        employee_no: "a1".into(),
        name: "李".into(),
        mobile: "12345".into(),
        password: "x".into(),
        roles: vec!["king".into()],
        posts: vec![],
    })
    .unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        ["employee_no", "name", "mobile", "password", "roles"]
    );
}

async fn staff_administration_is_scoped(t: &TestDb) {
    let (accounts, mut rng) = setup(t).await;
    let sys = Principal::System;
    accounts
        .create_staff(
            &sys,
            "system:test",
            "hf-mzj",
            &new_staff("ADM001", "周敏", "13900000001", &["department_admin"], &[]),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    accounts
        .create_staff(
            &sys,
            "system:test",
            "hf-scjgj",
            &new_staff("ADM002", "吴刚", "13900000002", &["department_admin"], &[]),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    accounts
        .create_staff(
            &sys,
            "system:test",
            "hf-mzj",
            &new_staff("SUP001", "郑洁", "13900000003", &["supervisor"], &[]),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();

    let (admin_x, admin_x_actor) = principal_of(&accounts, "adm001", &mut rng).await;
    let post = accounts
        .create_post(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &post_input(
                "marriage-intake",
                "婚姻登记受理岗",
                "受理婚姻登记申请，核验身份和材料",
            ),
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(post.code, "marriage-intake");
    let dup_post = accounts
        .create_post(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &post_input("marriage-intake", "重复", "重复"),
            &meta(),
        )
        .await;
    assert!(matches!(
        dup_post,
        Err(IdentityError::Duplicate { field: "code" })
    ));

    let window = accounts
        .create_staff(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &new_staff(
                "MZ0101",
                "陈静",
                "13900000004",
                &["window_staff"],
                &["marriage-intake"],
            ),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    assert_eq!(window.roles, [Role::WindowStaff]);
    assert_eq!(window.posts[0].name, "婚姻登记受理岗");
    assert_eq!(window.mobile_masked, "139****0004");

    // The negatives.
    let other_dept = accounts
        .create_staff(
            &admin_x,
            &admin_x_actor,
            "hf-scjgj",
            &new_staff("SC0101", "刘洋", "13900000005", &["approver"], &[]),
            &meta(),
            &mut rng,
        )
        .await;
    assert!(
        matches!(other_dept, Err(IdentityError::Forbidden)),
        "staff of X cannot act on Y"
    );
    let escalate = accounts
        .create_staff(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &new_staff("MZ0102", "刘洋", "13900000005", &["platform_admin"], &[]),
            &meta(),
            &mut rng,
        )
        .await;
    assert!(
        matches!(escalate, Err(IdentityError::Forbidden)),
        "no self-made platform admins"
    );
    let regional = accounts
        .create_staff(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &new_staff("MZ0104", "刘洋", "13900000005", &["supervisor"], &[]),
            &meta(),
            &mut rng,
        )
        .await;
    assert!(
        matches!(regional, Err(IdentityError::Forbidden)),
        "a department admin cannot hand out region-wide roles"
    );
    let admin_x_id = accounts
        .department_staff(&admin_x, "hf-mzj")
        .await
        .unwrap()
        .0
        .into_iter()
        .find(|s| s.employee_no == "ADM001")
        .unwrap()
        .public_id;
    let self_grant = accounts
        .set_staff_roles(
            &admin_x,
            &admin_x_actor,
            &admin_x_id,
            &[Role::DepartmentAdmin, Role::Approver],
            &meta(),
        )
        .await;
    assert!(
        matches!(self_grant, Err(IdentityError::Forbidden)),
        "no changing one's own roles"
    );
    let unknown_post = accounts
        .create_staff(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &new_staff("MZ0103", "刘洋", "13900000005", &[], &["no-such-post"]),
            &meta(),
            &mut rng,
        )
        .await;
    assert!(matches!(
        unknown_post,
        Err(IdentityError::Invalid { field: "posts", .. })
    ));
    let duplicate = accounts
        .create_staff(
            &admin_x,
            &admin_x_actor,
            "hf-mzj",
            &new_staff("MZ0101", "刘洋", "13900000006", &[], &[]),
            &meta(),
            &mut rng,
        )
        .await;
    assert!(matches!(
        duplicate,
        Err(IdentityError::Duplicate {
            field: "employee_no"
        })
    ));

    let (window_p, window_actor) = principal_of(&accounts, "MZ0101", &mut rng).await;
    assert!(accounts.department_staff(&window_p, "hf-mzj").await.is_ok());
    assert!(matches!(
        accounts.department_staff(&window_p, "hf-scjgj").await,
        Err(IdentityError::Forbidden)
    ));
    let by_window = accounts
        .create_post(
            &window_p,
            &window_actor,
            "hf-mzj",
            &post_input("x", "x", "x"),
            &meta(),
        )
        .await;
    assert!(
        matches!(by_window, Err(IdentityError::Forbidden)),
        "window staff do not administer"
    );
    let roles = accounts
        .set_staff_roles(
            &window_p,
            &window_actor,
            &window.public_id,
            &[Role::DepartmentAdmin],
            &meta(),
        )
        .await;
    assert!(
        matches!(roles, Err(IdentityError::Forbidden)),
        "no granting oneself roles"
    );

    let (supervisor, _) = principal_of(&accounts, "SUP001", &mut rng).await;
    assert!(
        accounts
            .department_staff(&supervisor, "hf-scjgj")
            .await
            .is_ok(),
        "supervisor sees the city"
    );
    assert!(
        matches!(
            accounts.department_staff(&supervisor, "kbs-mzj").await,
            Err(IdentityError::Forbidden)
        ),
        "not another region"
    );

    let person = accounts.principal(None).await.unwrap();
    assert!(matches!(
        accounts.department_staff(&person, "hf-mzj").await,
        Err(IdentityError::Unauthenticated)
    ));

    let updated = accounts
        .set_staff_roles(
            &admin_x,
            &admin_x_actor,
            &window.public_id,
            &[Role::WindowStaff, Role::Approver],
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(updated.roles, [Role::WindowStaff, Role::Approver]);
    let history: Vec<_> =
        audit::for_resource(t.db.conn(), &format!("staff:{}", window.public_id), 10)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action.starts_with("staff."))
            .collect();
    assert_eq!(
        history
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["staff.set_roles", "staff.create"]
    );
    assert_eq!(history[1].actor, admin_x_actor);
}
db_test!(staff_administration_is_scoped);

async fn staff_views_of_person_records_are_audited(t: &TestDb) {
    let (accounts, mut rng) = setup(t).await;
    let person = accounts
        .register_person(
            &Registration::parse(&RawRegistration {
                name: "张三".into(),
                resident_id: RID_A.into(),
                mobile: MOBILE_A.into(),
                password: PASSWORD.into(),
            })
            .unwrap(),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    accounts
        .create_staff(
            &Principal::System,
            "system:test",
            "hf-mzj",
            &new_staff("MZ0101", "陈静", "13900000004", &["window_staff"], &[]),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    accounts
        .create_staff(
            &Principal::System,
            "system:test",
            "hf-mzj",
            &new_staff("ADM001", "周敏", "13900000001", &["department_admin"], &[]),
            &meta(),
            &mut rng,
        )
        .await
        .unwrap();
    let (window, window_actor) = principal_of(&accounts, "MZ0101", &mut rng).await;

    let no_reason = accounts
        .view_person(&window, &window_actor, &person.public_id, " ", &meta())
        .await;
    assert!(matches!(
        no_reason,
        Err(IdentityError::Invalid {
            field: "reason",
            ..
        })
    ));
    let seen = accounts
        .view_person(
            &window,
            &window_actor,
            &person.public_id,
            "受理结婚登记，核验申请人身份",
            &meta(),
        )
        .await
        .unwrap();
    assert_eq!(
        seen.resident_id_masked, "1101**********002X",
        "staff see identifiers masked"
    );
    let entries = audit::for_resource(t.db.conn(), &format!("person:{}", person.public_id), 10)
        .await
        .unwrap();
    let view = entries
        .iter()
        .find(|e| e.action == "person.view")
        .expect("audited");
    assert_eq!(view.actor, window_actor);
    assert!(
        view.detail.contains("受理结婚登记"),
        "the reason is recorded"
    );

    let (admin, admin_actor) = principal_of(&accounts, "ADM001", &mut rng).await;
    assert!(matches!(
        accounts
            .view_person(
                &admin,
                &admin_actor,
                &person.public_id,
                "随便看看而已",
                &meta()
            )
            .await,
        Err(IdentityError::Forbidden)
    ));
    let citizen = accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut rng)
        .await
        .unwrap();
    let citizen_p = accounts.principal(Some(&citizen.session)).await.unwrap();
    assert!(matches!(
        accounts
            .view_person(
                &citizen_p,
                "person:x",
                &person.public_id,
                "看看自己记录",
                &meta()
            )
            .await,
        Err(IdentityError::Forbidden)
    ));
    let wrong = accounts
        .staff_login("MZ0101", "Wrong#2026", &meta(), &mut rng)
        .await;
    assert!(matches!(wrong, Err(IdentityError::BadCredentials)));
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(staff_views_of_person_records_are_audited);

async fn enterprises_and_agents(t: &TestDb) {
    let (accounts, mut rng) = setup(t).await;
    for (name, rid, mobile) in [
        ("张三", RID_A, MOBILE_A),
        ("李四", RID_B, MOBILE_B),
        ("王五", "340104198001010010", "13700000003"),
    ] {
        let rid = if rid.len() == 18 {
            rid.to_owned()
        } else {
            unreachable!()
        };
        let id = yiwang_kernel::ResidentId::complete(&rid[..17]).unwrap();
        let reg = Registration::parse(&RawRegistration {
            name: name.into(),
            resident_id: id.as_str().into(),
            mobile: mobile.into(),
            password: PASSWORD.into(),
        })
        .unwrap();
        accounts
            .register_person(&reg, &meta(), &mut rng)
            .await
            .unwrap();
    }
    let rep = accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut rng)
        .await
        .unwrap()
        .session;
    let agent = accounts
        .login(MOBILE_B, PASSWORD, &meta(), &mut rng)
        .await
        .unwrap()
        .session;
    let other = accounts
        .login("13700000003", PASSWORD, &meta(), &mut rng)
        .await
        .unwrap()
        .session;
    let uscc = Uscc::complete("91340104MA2TX0001").unwrap();

    let bad = accounts
        .register_enterprise(
            &rep,
            "91340104MA2TX00010",
            "合肥味道餐饮管理有限公司",
            &meta(),
            &mut rng,
        )
        .await;
    assert!(matches!(
        bad,
        Err(IdentityError::Invalid { field: "uscc", .. })
    ));
    let accounts = accounts.with_register(crate::safety::register_of(&[(
        uscc.as_str(),
        "合肥味道餐饮管理有限公司",
        "张三",
        RID_A,
    )]));
    let ent = crate::safety::registered(
        accounts
            .register_enterprise(
                &rep,
                uscc.as_str(),
                "合肥味道餐饮管理有限公司",
                &meta(),
                &mut rng,
            )
            .await
            .unwrap(),
    );
    let again = accounts
        .register_enterprise(&other, uscc.as_str(), "别的公司", &meta(), &mut rng)
        .await;
    assert!(matches!(
        again,
        Err(IdentityError::Duplicate { field: "uscc" })
    ));

    assert!(
        matches!(
            accounts.enterprise(Some(&agent), &ent.public_id).await,
            Err(IdentityError::Forbidden)
        ),
        "not yet an agent"
    );
    assert!(matches!(
        accounts.enterprise(None, &ent.public_id).await,
        Err(IdentityError::Unauthenticated)
    ));
    accounts
        .authorize_agent(&rep, &ent.public_id, MOBILE_B, &meta())
        .await
        .unwrap();
    let dup = accounts
        .authorize_agent(&rep, &ent.public_id, MOBILE_B, &meta())
        .await;
    assert!(matches!(
        dup,
        Err(IdentityError::Duplicate { field: "agent" })
    ));
    let unknown = accounts
        .authorize_agent(&rep, &ent.public_id, "13600000000", &meta())
        .await;
    assert!(matches!(
        unknown,
        Err(IdentityError::Invalid { field: "agent", .. })
    ));

    let as_agent = accounts
        .enterprise(Some(&agent), &ent.public_id)
        .await
        .unwrap();
    assert_eq!(
        as_agent.relation,
        yiwang_identity::model::EnterpriseRelation::Agent
    );
    assert!(
        as_agent.agents.is_empty(),
        "agents do not see the agent list"
    );
    let as_rep = accounts
        .enterprise(Some(&rep), &ent.public_id)
        .await
        .unwrap();
    assert_eq!(as_rep.agents.len(), 1);
    assert_eq!(as_rep.agents[0].mobile_masked, "139****1234");
    assert_eq!(accounts.my_enterprises(&agent).await.unwrap().len(), 1);
    assert!(
        matches!(
            accounts
                .authorize_agent(&agent, &ent.public_id, "13700000003", &meta())
                .await,
            Err(IdentityError::Forbidden)
        ),
        "agents cannot add agents"
    );
    assert!(matches!(
        accounts.enterprise(Some(&other), &ent.public_id).await,
        Err(IdentityError::Forbidden)
    ));

    accounts
        .revoke_agent(
            &rep,
            &ent.public_id,
            &as_rep.agents[0].person_public_id,
            &meta(),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            accounts.enterprise(Some(&agent), &ent.public_id).await,
            Err(IdentityError::Forbidden)
        ),
        "a revoked agent loses access at once"
    );
    assert!(accounts.my_enterprises(&agent).await.unwrap().is_empty());
    let twice = accounts
        .revoke_agent(
            &rep,
            &ent.public_id,
            &as_rep.agents[0].person_public_id,
            &meta(),
        )
        .await;
    assert!(matches!(
        twice,
        Err(IdentityError::Invalid { field: "agent", .. })
    ));
}
db_test!(enterprises_and_agents);
