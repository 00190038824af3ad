//! Accounts that reveal nothing and cannot be used against others: registration proven by SMS code,
//! log-in waits per identifier and address, enterprise claims checked against the register (or held
//! for a clerk), and "not found" for whatever the caller may not see.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, audit, db_test, stmt};
use yiwang_identity::model::{
    AuthSession, ClaimStatus, ClientMeta, Enterprise, NewStaff, RawNewStaff, RawRegistration,
    Registration,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::service::enterprise::{ClaimDecision, EnterpriseRegistration};
use yiwang_identity::service::register::{
    EnterpriseRegister, RegisterEntry, RegisterError, RegisterFuture, RegisterQuery, StaticRegister,
};
use yiwang_identity::service::registration::RegistrationCodeSent;
use yiwang_identity::{Accounts, IdentityError, SessionPolicy};
use yiwang_kernel::{Clock, Mobile, SharedClock, TestClock, Uscc};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};

const PASSWORD: &str = "Yiwang#2026";
const MOBILE_C: &str = "13700000003";
const RID_C: &str = "340104198001010012";

fn meta() -> ClientMeta {
    meta_from("10.1.2.3")
}

fn meta_from(ip: &str) -> ClientMeta {
    ClientMeta {
        ip: ip.into(),
        user_agent: "test-agent".into(),
    }
}

/// A register listing `(uscc, name, representative name, representative resident ID)`.
pub fn register_of(entries: &[(&str, &str, &str, &str)]) -> Arc<StaticRegister> {
    Arc::new(
        StaticRegister::new(
            entries
                .iter()
                .map(|(uscc, name, rep, rid)| RegisterEntry {
                    uscc: (*uscc).to_owned(),
                    name: (*name).to_owned(),
                    representative_name: (*rep).to_owned(),
                    representative_id: (*rid).to_owned(),
                })
                .collect(),
        )
        .unwrap(),
    )
}

/// The enterprise of a registration the register confirmed.
pub fn registered(outcome: EnterpriseRegistration) -> Enterprise {
    match outcome {
        EnterpriseRegistration::Registered(enterprise) => enterprise,
        EnterpriseRegistration::Held(claim) => panic!("held for a clerk: {claim:?}"),
    }
}

/// A register that cannot be reached.
#[derive(Debug)]
struct Unreachable;

impl EnterpriseRegister for Unreachable {
    fn check<'a>(&'a self, _query: RegisterQuery<'a>) -> RegisterFuture<'a> {
        Box::pin(async { Err(RegisterError("connection refused".to_owned())) })
    }
}

struct Fixture {
    accounts: Accounts,
    clock: TestClock,
    rng: StdRng,
}

async fn fixture(t: &TestDb) -> Fixture {
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let parsed = yiwang_identity::service::parse_org(&crate::org::fixture_org()).unwrap();
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
    Fixture {
        accounts,
        clock,
        rng: StdRng::seed_from_u64(11),
    }
}

fn registration(name: &str, rid: &str, mobile: &str) -> Registration {
    Registration::parse(&RawRegistration {
        name: name.into(),
        resident_id: rid.into(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
    })
    .unwrap()
}

/// The SMS messages written so far (opened), oldest first, as (recipient, text).
async fn sms(t: &TestDb) -> Vec<(String, String)> {
    let pii = PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap();
    t.db.conn()
        .query_all_raw(stmt(
            t.db.conn(),
            "SELECT payload FROM jobs WHERE kind = 'notify.sms' ORDER BY id",
            [],
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let payload: serde_json::Value =
                serde_json::from_str(&r.try_get::<String>("", "payload").unwrap()).unwrap();
            let message = yiwang_identity::service::recovery::open_message(&pii, &payload).unwrap();
            (
                message["to"].as_str().unwrap().to_owned(),
                message["params"]["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn code_in(text: &str) -> String {
    let start = text.find("验证码为").unwrap() + "验证码为".len();
    text[start..].chars().take(6).collect()
}

fn is_code_invalid<T: std::fmt::Debug>(result: &Result<T, IdentityError>) -> bool {
    matches!(
        result,
        Err(IdentityError::Invalid {
            field: "code",
            code: "registration_code_invalid",
            ..
        })
    )
}

async fn login(f: &mut Fixture, mobile: &str) -> AuthSession {
    f.accounts
        .login(mobile, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap()
        .session
}

async fn registration_tells_nothing_before_the_mobile_is_proven(t: &TestDb) {
    let mut f = fixture(t).await;
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    let (taken_mobile, free_mobile) = (
        Mobile::parse(MOBILE_A).unwrap(),
        Mobile::parse(MOBILE_B).unwrap(),
    );

    // The same call succeeds for a registered and an unregistered number; only the phones differ.
    let taken = f
        .accounts
        .request_registration_code(&taken_mobile, &meta(), &mut f.rng)
        .await
        .unwrap();
    let free = f
        .accounts
        .request_registration_code(&free_mobile, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_eq!(taken, RegistrationCodeSent::AlreadyRegistered);
    assert_eq!(free, RegistrationCodeSent::Sent);
    let messages = sms(t).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].0, MOBILE_A);
    assert!(messages[0].1.contains("您已有账号"), "{}", messages[0].1);
    assert!(
        !messages[0].1.contains("验证码"),
        "no code for a taken number"
    );
    assert_eq!(messages[1].0, MOBILE_B);
    let code = code_in(&messages[1].1);

    // Without the code nothing is registered and nothing is told, whatever the identifiers.
    let on_taken_number = f
        .accounts
        .register_person_with_code(
            &registration("某人", RID_C, MOBILE_A),
            &code,
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(is_code_invalid(&on_taken_number), "{on_taken_number:?}");
    let with_taken_id_wrong_code = f
        .accounts
        .register_person_with_code(
            &registration("李四", RID_A, MOBILE_B),
            "000000",
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(is_code_invalid(&with_taken_id_wrong_code));

    // With the code, a resident ID that has an account is told now, and its owner hears of it.
    let with_taken_id = f
        .accounts
        .register_person_with_code(
            &registration("李四", RID_A, MOBILE_B),
            &code,
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(
        matches!(
            with_taken_id,
            Err(IdentityError::Duplicate {
                field: "resident_id"
            })
        ),
        "{with_taken_id:?}"
    );
    let messages = sms(t).await;
    assert_eq!(messages.last().unwrap().0, MOBILE_A);
    assert!(messages.last().unwrap().1.contains("身份证号"));
    // The code was used up by that attempt.
    let reused = f
        .accounts
        .register_person_with_code(
            &registration("李四", RID_B, MOBILE_B),
            &code,
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(is_code_invalid(&reused));

    // A fresh code registers the person.
    f.accounts
        .request_registration_code(&free_mobile, &meta(), &mut f.rng)
        .await
        .unwrap();
    let code = code_in(&sms(t).await.last().unwrap().1);
    let person = f
        .accounts
        .register_person_with_code(
            &registration("李四", RID_B, MOBILE_B),
            &code,
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    assert_eq!(person.mobile_masked, "139****1234");
    login(&mut f, MOBILE_B).await;

    // Codes expire.
    let third_mobile = Mobile::parse(MOBILE_C).unwrap();
    f.accounts
        .request_registration_code(&third_mobile, &meta(), &mut f.rng)
        .await
        .unwrap();
    let code = code_in(&sms(t).await.last().unwrap().1);
    f.clock.advance(Duration::minutes(11));
    let late = f
        .accounts
        .register_person_with_code(
            &registration("王五", RID_C, MOBILE_C),
            &code,
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(is_code_invalid(&late));

    // At most three messages per number per hour, told the same way.
    for _ in 0..2 {
        f.accounts
            .request_registration_code(&third_mobile, &meta(), &mut f.rng)
            .await
            .unwrap();
    }
    let before = sms(t).await.len();
    let throttled = f
        .accounts
        .request_registration_code(&third_mobile, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_eq!(throttled, RegistrationCodeSent::Throttled);
    assert_eq!(sms(t).await.len(), before, "nothing sent when throttled");
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(registration_tells_nothing_before_the_mobile_is_proven);

async fn wrong_logins_slow_one_address_and_never_lock_the_owner_out(t: &TestDb) {
    let mut f = fixture(t).await;
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    let attacker = meta_from("203.0.113.9");
    // An account and an identifier nobody has give the same answers, attempt by attempt.
    for login in [MOBILE_A, MOBILE_C] {
        for attempt in 1..=4 {
            let result = f
                .accounts
                .login(login, "Wrong#2026", &attacker, &mut f.rng)
                .await;
            assert!(
                matches!(result, Err(IdentityError::BadCredentials)),
                "{login} attempt {attempt}: {result:?}"
            );
        }
        let fifth = f
            .accounts
            .login(login, "Wrong#2026", &attacker, &mut f.rng)
            .await;
        let Err(IdentityError::TooManyAttempts { until }) = fifth else {
            panic!("{login}: {fifth:?}")
        };
        assert_eq!(until, f.clock.now() + Duration::seconds(30), "{login}");
    }
    // The attacker's address waits, even with the right password…
    let right_but_waiting = f
        .accounts
        .login(MOBILE_A, PASSWORD, &attacker, &mut f.rng)
        .await;
    assert!(matches!(
        right_but_waiting,
        Err(IdentityError::TooManyAttempts { .. })
    ));
    // …while the owner, from their own address, logs in at once.
    f.accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    // The waits grow: 30 s, then 60 s after the next failure.
    f.clock.advance(Duration::seconds(31));
    let sixth = f
        .accounts
        .login(MOBILE_A, "Wrong#2026", &attacker, &mut f.rng)
        .await;
    let Err(IdentityError::TooManyAttempts { until }) = sixth else {
        panic!("{sixth:?}")
    };
    assert_eq!(until, f.clock.now() + Duration::seconds(60));
    // They are capped.
    let policy = SessionPolicy::default();
    assert_eq!(policy.delay_after(4), None);
    assert_eq!(policy.delay_after(5), Some(Duration::seconds(30)));
    assert_eq!(policy.delay_after(1_000), Some(Duration::minutes(15)));
    // Once the wait is over, the right password works from there too and clears the count.
    f.clock.advance(Duration::seconds(61));
    f.accounts
        .login(MOBILE_A, PASSWORD, &attacker, &mut f.rng)
        .await
        .unwrap();
    let after = f
        .accounts
        .login(MOBILE_A, "Wrong#2026", &attacker, &mut f.rng)
        .await;
    assert!(matches!(after, Err(IdentityError::BadCredentials)));
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(wrong_logins_slow_one_address_and_never_lock_the_owner_out);

/// A disabled account is only told to someone who knows its password.
async fn a_disabled_account_is_not_revealed_by_a_wrong_password(t: &TestDb) {
    let mut f = fixture(t).await;
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    t.db.conn()
        .execute_raw(stmt(
            t.db.conn(),
            "UPDATE persons SET status = 'disabled'",
            [],
        ))
        .await
        .unwrap();
    let wrong = f
        .accounts
        .login(MOBILE_A, "Wrong#2026", &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(wrong, Err(IdentityError::BadCredentials)),
        "{wrong:?}"
    );
    let right = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(matches!(right, Err(IdentityError::Disabled)), "{right:?}");
}
db_test!(a_disabled_account_is_not_revealed_by_a_wrong_password);

async fn enterprise_claims_are_checked_against_the_register(t: &TestDb) {
    let mut f = fixture(t).await;
    for (name, rid, mobile) in [
        ("张三", RID_A, MOBILE_A),
        ("李四", RID_B, MOBILE_B),
        ("王五", RID_C, MOBILE_C),
    ] {
        f.accounts
            .register_person(&registration(name, rid, mobile), &meta(), &mut f.rng)
            .await
            .unwrap();
    }
    let listed = Uscc::complete("91340104MA2TX0001").unwrap();
    let unlisted = Uscc::complete("92340104MA2TY0002").unwrap();
    let organ = Uscc::complete("11340100MB0000009").unwrap();
    let accounts = f.accounts.with_register(register_of(&[(
        listed.as_str(),
        "合肥味道餐饮管理有限公司",
        "张三",
        RID_A,
    )]));
    let zhang = login(&mut f, MOBILE_A).await;
    let li = login(&mut f, MOBILE_B).await;
    let wang = login(&mut f, MOBILE_C).await;

    // Government organs are never claimable by persons, listed or not.
    let refused = accounts
        .register_enterprise(&zhang, organ.as_str(), "合肥市某局", &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(
            refused,
            Err(IdentityError::Invalid {
                code: "uscc_government_organ",
                ..
            })
        ),
        "{refused:?}"
    );
    // Someone the register does not name is refused; nothing is stored.
    let squatter = accounts
        .register_enterprise(
            &li,
            listed.as_str(),
            "合肥味道餐饮管理有限公司",
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(
        matches!(squatter, Err(IdentityError::RegisterMismatch)),
        "{squatter:?}"
    );
    assert!(!accounts.enterprise_registered(&listed).await.unwrap());
    // The representative is confirmed at once, under the register's name.
    let ent = registered(
        accounts
            .register_enterprise(&zhang, listed.as_str(), "合肥味道餐饮", &meta(), &mut f.rng)
            .await
            .unwrap(),
    );
    assert_eq!(ent.name, "合肥味道餐饮管理有限公司");

    // A code the register does not list is held for a clerk; the claim gives no access meanwhile.
    let held = accounts
        .register_enterprise(
            &wang,
            unlisted.as_str(),
            "蜀山区老街坊便利店",
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    let EnterpriseRegistration::Held(claim) = held else {
        panic!("{held:?}")
    };
    assert_eq!(claim.status, ClaimStatus::Pending);
    assert_eq!(claim.register_note, "not_listed");
    assert!(accounts.my_enterprises(&wang).await.unwrap().is_empty());
    let twice = accounts
        .register_enterprise(
            &wang,
            unlisted.as_str(),
            "蜀山区老街坊便利店",
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(matches!(
        twice,
        Err(IdentityError::Invalid {
            code: "enterprise_claim_pending",
            ..
        })
    ));
    // An unreachable register holds the claim too (never trusts it).
    let down = f
        .accounts
        .with_register(Arc::new(Unreachable))
        .register_enterprise(
            &li,
            unlisted.as_str(),
            "蜀山区老街坊便利店",
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    let EnterpriseRegistration::Held(li_claim) = down else {
        panic!("{down:?}")
    };
    assert_eq!(li_claim.register_note, "register_unavailable");

    // Only clerks see and decide claims; others are refused before any claim is looked up.
    for (no, roles) in [
        ("CK0001", &["window_staff"][..]),
        ("AP0001", &["approver"][..]),
    ] {
        accounts
            .create_staff(
                &Principal::System,
                "system:test",
                "hf-scjgj",
                &NewStaff::parse(&RawNewStaff {
                    employee_no: no.into(),
                    name: "赵敏".into(),
                    mobile: if no == "CK0001" {
                        "13900000011"
                    } else {
                        "13900000012"
                    }
                    .into(),
                    password: PASSWORD.into(),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    posts: vec![],
                })
                .unwrap(),
                &meta(),
                &mut f.rng,
            )
            .await
            .unwrap();
    }
    let clerk = accounts
        .staff_login("CK0001", PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap()
        .session;
    let approver = accounts
        .staff_login("AP0001", PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap()
        .session;
    for (caller, id) in [
        (&approver, claim.public_id.as_str()),
        (&approver, "0000000000000000"),
        (&wang, claim.public_id.as_str()),
        (&wang, "0000000000000000"),
    ] {
        let result = accounts
            .decide_enterprise_claim(caller, id, ClaimDecision::Approve, "", &meta(), &mut f.rng)
            .await;
        assert!(
            matches!(result, Err(IdentityError::Forbidden)),
            "{result:?}"
        );
    }
    assert!(matches!(
        accounts.pending_enterprise_claims(&wang).await,
        Err(IdentityError::Forbidden)
    ));
    let pending = accounts.pending_enterprise_claims(&clerk).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].person_name, "王五");
    let missing = accounts
        .decide_enterprise_claim(
            &clerk,
            "0000000000000000",
            ClaimDecision::Approve,
            "",
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(matches!(missing, Err(IdentityError::NotFound)));

    let rejected = accounts
        .decide_enterprise_claim(
            &clerk,
            &li_claim.public_id,
            ClaimDecision::Reject,
            "营业执照不符",
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, ClaimStatus::Rejected);
    let accepted = accounts
        .decide_enterprise_claim(
            &clerk,
            &claim.public_id,
            ClaimDecision::Approve,
            "核验营业执照原件",
            &meta(),
            &mut f.rng,
        )
        .await
        .unwrap();
    assert_eq!(accepted.status, ClaimStatus::Approved);
    let mine = accounts.my_enterprises(&wang).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].0.uscc, unlisted);
    let again = accounts
        .decide_enterprise_claim(
            &clerk,
            &claim.public_id,
            ClaimDecision::Reject,
            "",
            &meta(),
            &mut f.rng,
        )
        .await;
    assert!(matches!(
        again,
        Err(IdentityError::Invalid {
            code: "enterprise_claim_decided",
            ..
        })
    ));
    assert_eq!(accounts.my_enterprise_claims(&li).await.unwrap().len(), 1);
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(enterprise_claims_are_checked_against_the_register);

/// Enterprises and sessions: whoever may not see a thing gets the same answer whether it exists or
/// not; anonymous callers are asked to log in before anything is looked up.
async fn not_found_and_not_yours_answer_the_same(t: &TestDb) {
    let mut f = fixture(t).await;
    for (name, rid, mobile) in [("张三", RID_A, MOBILE_A), ("李四", RID_B, MOBILE_B)] {
        f.accounts
            .register_person(&registration(name, rid, mobile), &meta(), &mut f.rng)
            .await
            .unwrap();
    }
    let uscc = Uscc::complete("91340104MA2TX0001").unwrap();
    let accounts = f.accounts.with_register(register_of(&[(
        uscc.as_str(),
        "合肥味道餐饮管理有限公司",
        "张三",
        RID_A,
    )]));
    let zhang = login(&mut f, MOBILE_A).await;
    let li = login(&mut f, MOBILE_B).await;
    let ent = registered(
        accounts
            .register_enterprise(
                &zhang,
                uscc.as_str(),
                "合肥味道餐饮管理有限公司",
                &meta(),
                &mut f.rng,
            )
            .await
            .unwrap(),
    );
    let nowhere = "ffffffffffffffffffffffffffffffff";
    for id in [ent.public_id.as_str(), nowhere] {
        let seen = accounts.enterprise(Some(&li), id).await;
        assert!(
            matches!(seen, Err(IdentityError::Forbidden)),
            "{id}: {seen:?}"
        );
        let add = accounts.authorize_agent(&li, id, MOBILE_B, &meta()).await;
        assert!(
            matches!(add, Err(IdentityError::Forbidden)),
            "{id}: {add:?}"
        );
        let revoke = accounts.revoke_agent(&li, id, "x", &meta()).await;
        assert!(
            matches!(revoke, Err(IdentityError::Forbidden)),
            "{id}: {revoke:?}"
        );
        assert!(matches!(
            accounts.enterprise(None, id).await,
            Err(IdentityError::Unauthenticated)
        ));
    }
    // Another person's session and no session at all: the same refusal.
    let zhang_sessions = accounts.sessions(&zhang).await.unwrap();
    let theirs = accounts
        .end_session(&li, &zhang_sessions[0].public_id, &meta())
        .await
        .unwrap_err();
    let none = accounts
        .end_session(&li, "0000000000000000", &meta())
        .await
        .unwrap_err();
    assert_eq!(
        yiwang_kernel::ErrorCode::code(&theirs),
        yiwang_kernel::ErrorCode::code(&none)
    );
    assert_eq!(theirs.to_string(), none.to_string());
    assert_eq!(
        accounts.sessions(&zhang).await.unwrap().len(),
        1,
        "untouched"
    );
}
db_test!(not_found_and_not_yours_answer_the_same);
