//! Person accounts: registration, log-in, lock-out, sessions, password change, personal data at rest.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, audit, db_test, stmt};
use yiwang_identity::model::{ClientMeta, RawRegistration, Registration};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::{Accounts, IdentityError, SessionPolicy};
use yiwang_kernel::{Clock, SharedClock, TestClock};

pub const RID_A: &str = "11010519491231002X";
pub const RID_B: &str = "340104199003071235";
pub const MOBILE_A: &str = "13800138000";
pub const MOBILE_B: &str = "13955101234";
const PASSWORD: &str = "Yiwang#2026";

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "10.1.2.3".into(),
        user_agent: "test-agent".into(),
    }
}

struct Fixture {
    accounts: Accounts,
    clock: TestClock,
    rng: StdRng,
}

fn fixture(t: &TestDb) -> Fixture {
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
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
        rng: StdRng::seed_from_u64(42),
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

#[test]
fn registration_input_reports_every_problem() {
    let errors = Registration::parse(&RawRegistration {
        name: "王".into(),
        resident_id: "110105194912310021".into(),
        mobile: "1380013800".into(),
        password: "short".into(),
    })
    .unwrap_err();
    let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field, e.code)).collect();
    assert_eq!(
        fields,
        [
            ("name", "name_too_short"),
            ("resident_id", "ident_bad_check_char"),
            ("mobile", "ident_wrong_length"),
            ("password", "password_too_short"),
        ]
    );
    assert!(
        errors[1].message.contains("require 'X'"),
        "{}",
        errors[1].message
    );
    let ok = Registration::parse(&RawRegistration {
        name: " 阿依古丽·买买提 ".into(),
        resident_id: RID_A.to_lowercase(),
        mobile: "+86 138-0013-8000".into(),
        password: PASSWORD.into(),
    })
    .unwrap();
    assert_eq!(ok.name.as_str(), "阿依古丽·买买提");
    assert_eq!(ok.mobile.as_str(), MOBILE_A);
}

async fn register_and_refuse_duplicates(t: &TestDb) {
    let mut f = fixture(t);
    let person = f
        .accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_eq!(person.name, "张三");
    assert_eq!(person.resident_id_masked, "1101**********002X");
    assert_eq!(person.mobile_masked, "138****8000");

    let same_id = f
        .accounts
        .register_person(&registration("张三", RID_A, MOBILE_B), &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(
            same_id,
            Err(IdentityError::Duplicate {
                field: "resident_id"
            })
        ),
        "{same_id:?}"
    );
    let same_mobile = f
        .accounts
        .register_person(&registration("李四", RID_B, MOBILE_A), &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(
            same_mobile,
            Err(IdentityError::Duplicate { field: "mobile" })
        ),
        "{same_mobile:?}"
    );

    let count =
        t.db.conn()
            .query_one_raw(stmt(t.db.conn(), "SELECT COUNT(*) FROM persons", []))
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        count.try_get_by_index::<i64>(0).unwrap(),
        1,
        "refusals change nothing"
    );
}
db_test!(register_and_refuse_duplicates);

/// Personal identifiers never reach the database in plain text: not in the table, not in the audit log.
async fn identifiers_are_encrypted_at_rest(t: &TestDb) {
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    f.accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let dump = t
        .db
        .conn()
        .query_all_raw(stmt(
            t.db.conn(),
            "SELECT name, resident_id_enc, resident_id_index, mobile_enc, mobile_index FROM persons
             UNION ALL SELECT actor, action, resource, detail, source FROM audit_log",
            [],
        ))
        .await
        .unwrap();
    let mut text = String::new();
    for row in &dump {
        for i in 0..5 {
            text.push_str(&row.try_get_by_index::<String>(i).unwrap());
        }
    }
    for secret in [RID_A, MOBILE_A, "19491231", "00138000"] {
        assert!(!text.contains(secret), "{secret} stored in plain text");
    }
    if let Some(dir) = t.dir() {
        // The raw file, WAL included, as an attacker with the disk would read it.
        t.db.close().await.unwrap();
        let mut raw = Vec::new();
        for name in ["yiwang.db", "yiwang.db-wal"] {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                raw.extend(bytes);
            }
        }
        assert!(raw.len() > 4096);
        let raw = String::from_utf8_lossy(&raw);
        assert!(raw.contains("张三"), "sanity: the file holds the row");
        for secret in [RID_A, MOBILE_A] {
            assert!(
                !raw.contains(secret),
                "{secret} found in the raw SQLite file"
            );
        }
    }
}
db_test!(identifiers_are_encrypted_at_rest);

async fn login_by_mobile_or_resident_id(t: &TestDb) {
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    let by_mobile = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let by_id = f
        .accounts
        .login(&RID_A.to_lowercase(), PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_ne!(by_mobile.token, by_id.token);
    assert_eq!(by_mobile.token.len(), 64);
    let session = f.accounts.authenticate(&by_mobile.token).await.unwrap();
    assert_eq!(session.public_id, by_mobile.session.public_id);
    let profile = f.accounts.own_profile(&session).await.unwrap();
    assert_eq!(
        profile.resident_id.as_str(),
        RID_A,
        "the owner sees the full identifiers"
    );
    assert_eq!(profile.mobile.as_str(), MOBILE_A);

    let wrong = f
        .accounts
        .login(MOBILE_A, "Wrong#2026", &meta(), &mut f.rng)
        .await;
    assert!(matches!(wrong, Err(IdentityError::BadCredentials)));
    let nobody = f
        .accounts
        .login(MOBILE_B, PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(nobody, Err(IdentityError::BadCredentials)),
        "unknown accounts look the same"
    );
    let garbage = f
        .accounts
        .login("zhangsan", PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(matches!(
        garbage,
        Err(IdentityError::Invalid { field: "login", .. })
    ));
    assert!(matches!(
        f.accounts.authenticate("not-a-token").await,
        Err(IdentityError::Unauthenticated)
    ));
    assert!(matches!(
        f.accounts.authenticate(&"0".repeat(64)).await,
        Err(IdentityError::Unauthenticated)
    ));
}
db_test!(login_by_mobile_or_resident_id);

/// Wrong passwords make further attempts from the same address wait (see `safety.rs` for the owner
/// logging in meanwhile from elsewhere).
async fn repeated_failures_make_the_address_wait(t: &TestDb) {
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    for attempt in 1..=4 {
        let result = f
            .accounts
            .login(MOBILE_A, "Wrong#2026", &meta(), &mut f.rng)
            .await;
        assert!(
            matches!(result, Err(IdentityError::BadCredentials)),
            "attempt {attempt}"
        );
    }
    let fifth = f
        .accounts
        .login(MOBILE_A, "Wrong#2026", &meta(), &mut f.rng)
        .await;
    let Err(IdentityError::TooManyAttempts { until }) = fifth else {
        panic!("{fifth:?}")
    };
    assert_eq!(until, f.clock.now() + Duration::seconds(30));
    let right_but_locked = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(right_but_locked, Err(IdentityError::TooManyAttempts { .. })),
        "even the right password waits"
    );
    f.clock.advance(Duration::seconds(31));
    f.accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    // A success resets the count.
    for _ in 0..4 {
        let _ = f
            .accounts
            .login(MOBILE_A, "Wrong#2026", &meta(), &mut f.rng)
            .await;
    }
    f.accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let report = audit::verify(&t.db).await.unwrap();
    assert!(report.broken.is_none());
    let failures = audit::for_resource(
        t.db.conn(),
        &format!(
            "person:{}",
            f.accounts
                .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
                .await
                .unwrap()
                .person
                .public_id
        ),
        100,
    )
    .await
    .unwrap()
    .iter()
    .filter(|e| e.action == "session.login_failed")
    .count();
    assert_eq!(failures, 9, "every failed attempt is audited");
}
db_test!(repeated_failures_make_the_address_wait);

async fn sessions_expire_and_can_be_ended(t: &TestDb) {
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    f.accounts
        .register_person(&registration("李四", RID_B, MOBILE_B), &meta(), &mut f.rng)
        .await
        .unwrap();

    // Idle expiry: 30 minutes without use.
    let idle = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(29));
    f.accounts.authenticate(&idle.token).await.unwrap();
    f.clock.advance(Duration::minutes(29));
    f.accounts
        .authenticate(&idle.token)
        .await
        .expect("use slides the idle expiry");
    f.clock.advance(Duration::minutes(31));
    assert!(matches!(
        f.accounts.authenticate(&idle.token).await,
        Err(IdentityError::Unauthenticated)
    ));

    // Absolute expiry: 12 hours however active.
    let busy = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    for _ in 0..(12 * 3 - 1) {
        f.clock.advance(Duration::minutes(20));
        f.accounts.authenticate(&busy.token).await.unwrap();
    }
    f.clock.advance(Duration::minutes(21));
    assert!(matches!(
        f.accounts.authenticate(&busy.token).await,
        Err(IdentityError::Unauthenticated)
    ));

    // List, end one, log out everywhere.
    let phone = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let laptop = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let tablet = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let other = f
        .accounts
        .login(MOBILE_B, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let current = f.accounts.authenticate(&laptop.token).await.unwrap();
    let list = f.accounts.sessions(&current).await.unwrap();
    assert_eq!(list.len(), 3, "only live sessions of this person");
    assert_eq!(list.iter().filter(|s| s.current).count(), 1, "{list:?}");
    assert!(list.iter().find(|s| s.current).unwrap().public_id == laptop.session.public_id);

    let foreign = f
        .accounts
        .end_session(&current, &other.session.public_id, &meta())
        .await;
    assert!(
        matches!(
            foreign,
            Err(IdentityError::Invalid {
                field: "session",
                ..
            })
        ),
        "cannot end another person's session"
    );
    f.accounts
        .authenticate(&other.token)
        .await
        .expect("still live");

    f.accounts
        .end_session(&current, &phone.session.public_id, &meta())
        .await
        .unwrap();
    assert!(f.accounts.authenticate(&phone.token).await.is_err());
    assert_eq!(
        f.accounts
            .logout_everywhere(&current, true, &meta())
            .await
            .unwrap(),
        1
    );
    assert!(f.accounts.authenticate(&tablet.token).await.is_err());
    let still = f.accounts.authenticate(&laptop.token).await.unwrap();
    f.accounts.logout(&still, &meta()).await.unwrap();
    assert!(
        f.accounts.authenticate(&laptop.token).await.is_err(),
        "logged out"
    );
    f.accounts
        .authenticate(&other.token)
        .await
        .expect("another person's session is untouched");
}
db_test!(sessions_expire_and_can_be_ended);

async fn password_change_checks_and_ends_other_sessions(t: &TestDb) {
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    let here = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let elsewhere = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    let session = f.accounts.authenticate(&here.token).await.unwrap();

    let wrong = f
        .accounts
        .change_password(&session, "Nope#2026", "Better#2027", &meta(), &mut f.rng)
        .await;
    assert!(matches!(
        wrong,
        Err(IdentityError::Invalid {
            field: "current_password",
            ..
        })
    ));
    let weak = f
        .accounts
        .change_password(&session, PASSWORD, "13800138000", &meta(), &mut f.rng)
        .await;
    assert!(matches!(
        weak,
        Err(IdentityError::Invalid {
            field: "new_password",
            ..
        })
    ));
    f.accounts
        .change_password(&session, PASSWORD, "Better#2027", &meta(), &mut f.rng)
        .await
        .unwrap();

    assert!(
        f.accounts.authenticate(&elsewhere.token).await.is_err(),
        "other sessions end"
    );
    f.accounts
        .authenticate(&here.token)
        .await
        .expect("this one stays");
    assert!(matches!(
        f.accounts
            .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
            .await,
        Err(IdentityError::BadCredentials)
    ));
    f.accounts
        .login(MOBILE_A, "Better#2027", &meta(), &mut f.rng)
        .await
        .unwrap();
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(password_change_checks_and_ends_other_sessions);

/// Parallel wrong guesses cannot slip past the wait, and a right password among them does not clear it.
async fn concurrent_guesses_still_wait(t: &TestDb) {
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let accounts = f.accounts.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(100 + i);
            let password = if i == 11 { PASSWORD } else { "Wrong#2026" };
            accounts
                .login(MOBILE_A, password, &meta(), &mut rng)
                .await
                .map(|_| ())
        }));
    }
    let mut locked = 0;
    for task in tasks {
        if matches!(
            task.await.unwrap(),
            Err(IdentityError::TooManyAttempts { .. })
        ) {
            locked += 1;
        }
    }
    assert!(locked >= 1, "the burst ends in a wait");
    let after = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(after, Err(IdentityError::TooManyAttempts { .. })),
        "still waiting: {after:?}"
    );
}
db_test!(concurrent_guesses_still_wait);

/// Sessions of a disabled account stop working at once.
async fn disabled_accounts_lose_their_sessions(t: &TestDb) {
    use yiwang_db::ConnectionTrait as _;
    let mut f = fixture(t);
    f.accounts
        .register_person(&registration("张三", RID_A, MOBILE_A), &meta(), &mut f.rng)
        .await
        .unwrap();
    let done = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    f.accounts.authenticate(&done.token).await.unwrap();
    t.db.conn()
        .execute_unprepared("UPDATE persons SET status = 'disabled'")
        .await
        .unwrap();
    assert!(matches!(
        f.accounts.authenticate(&done.token).await,
        Err(IdentityError::Unauthenticated)
    ));
    assert!(matches!(
        f.accounts
            .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
            .await,
        Err(IdentityError::Disabled)
    ));
}
db_test!(disabled_accounts_lose_their_sessions);
