//! Password reset by SMS code, and the message senders that deliver the code.

use std::sync::{Arc, Mutex};

use chrono::{Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::jobs::{JobQueue, NewJob, Worker};
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, audit, db_test, stmt};
use yiwang_identity::model::{ClientMeta, RawRegistration, Registration};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::service::recovery::{
    Email, LogSender, MessageSender, Recovery, RecoveryPolicy, ResetRequested, SendFuture, Sms,
    register_notify_handlers, render_message,
};
use yiwang_identity::{Accounts, IdentityError, SessionPolicy};
use yiwang_kernel::{Clock as _, SharedClock, TestClock};

use crate::accounts::{MOBILE_A, MOBILE_B, RID_A, RID_B};

const PASSWORD: &str = "Yiwang#2026";
const NEW_PASSWORD: &str = "Kangbashi@2026";

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "10.9.8.7".into(),
        user_agent: "test-agent".into(),
    }
}

struct Fixture {
    accounts: Accounts,
    recovery: Recovery,
    clock: TestClock,
    rng: StdRng,
}

async fn fixture(t: &TestDb) -> Fixture {
    let clock = TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap());
    let shared: SharedClock = Arc::new(clock.clone());
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared.clone(),
        pii.clone(),
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    let recovery = Recovery::new(
        t.db.clone(),
        shared,
        pii,
        PasswordCost::TEST,
        RecoveryPolicy::default(),
    );
    let mut f = Fixture {
        accounts,
        recovery,
        clock,
        rng: StdRng::seed_from_u64(7),
    };
    for (name, rid, mobile) in [("张三", RID_A, MOBILE_A), ("李四", RID_B, MOBILE_B)] {
        let reg = Registration::parse(&RawRegistration {
            name: name.into(),
            resident_id: rid.into(),
            mobile: mobile.into(),
            password: PASSWORD.into(),
        })
        .unwrap();
        f.accounts
            .register_person(&reg, &meta(), &mut f.rng)
            .await
            .unwrap();
    }
    f
}

fn test_pii() -> PiiProtector {
    PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap()
}

/// Messages of the SMS jobs written so far (opened: rows hold them sealed), oldest first.
async fn sms_jobs(t: &TestDb) -> Vec<serde_json::Value> {
    let pii = test_pii();
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
            assert!(
                payload.get("to").is_none() && payload.get("params").is_none(),
                "sealed at rest"
            );
            yiwang_identity::service::recovery::open_message(&pii, &payload).unwrap()
        })
        .collect()
}

async fn last_code(t: &TestDb) -> String {
    sms_jobs(t).await.last().unwrap()["params"]["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn is_code_invalid(result: &Result<(), IdentityError>) -> bool {
    matches!(
        result,
        Err(IdentityError::Invalid {
            field: "code",
            code: "reset_code_invalid",
            ..
        })
    )
}

async fn request_writes_code_job_and_audit(t: &TestDb) {
    let mut f = fixture(t).await;
    let outcome = f
        .recovery
        .request_reset(MOBILE_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_eq!(outcome, ResetRequested::Sent);
    let jobs = sms_jobs(t).await;
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job["to"], MOBILE_A);
    assert_eq!(job["template"], "password_reset");
    assert_eq!(job["params"]["minutes"], 15);
    let code = job["params"]["code"].as_str().unwrap();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));

    // Only a hash is stored; the code itself is nowhere in the reset table.
    let stored =
        t.db.conn()
            .query_one_raw(stmt(
                t.db.conn(),
                "SELECT code_hash, expires_at, attempts FROM password_resets",
                [],
            ))
            .await
            .unwrap()
            .unwrap();
    let hash: String = stored.try_get("", "code_hash").unwrap();
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains(code));
    assert_eq!(
        stored.try_get::<String>("", "expires_at").unwrap(),
        "2026-03-02T01:15:00.000000Z"
    );

    // A resident ID finds the same person; the SMS still goes to the stored mobile.
    f.recovery
        .request_reset(RID_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_eq!(sms_jobs(t).await[1]["to"], MOBILE_A);

    // The audit entry names the person but holds no mobile number.
    let audit_rows =
        t.db.conn()
            .query_all_raw(stmt(
                t.db.conn(),
                "SELECT detail FROM audit_log WHERE action = 'person.password_reset_requested'",
                [],
            ))
            .await
            .unwrap();
    assert_eq!(audit_rows.len(), 2);
    for row in audit_rows {
        let detail: String = row.try_get("", "detail").unwrap();
        assert!(
            !detail.contains(MOBILE_A) && !detail.contains("8000"),
            "{detail}"
        );
        assert!(!detail.contains(code), "{detail}");
    }
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(request_writes_code_job_and_audit);

async fn unknown_accounts_and_throttling_write_nothing(t: &TestDb) {
    let mut f = fixture(t).await;
    let unknown = f
        .recovery
        .request_reset("13512345678", &meta(), &mut f.rng)
        .await
        .unwrap();
    assert_eq!(unknown, ResetRequested::NoAccount);
    assert!(sms_jobs(t).await.is_empty());
    assert!(matches!(
        f.recovery
            .request_reset("not a number", &meta(), &mut f.rng)
            .await,
        Err(IdentityError::Invalid { field: "login", .. })
    ));

    for _ in 0..3 {
        assert_eq!(
            f.recovery
                .request_reset(MOBILE_A, &meta(), &mut f.rng)
                .await
                .unwrap(),
            ResetRequested::Sent
        );
        f.clock.advance(Duration::minutes(10));
    }
    assert_eq!(
        f.recovery
            .request_reset(MOBILE_A, &meta(), &mut f.rng)
            .await
            .unwrap(),
        ResetRequested::Throttled,
        "a fourth code within the hour"
    );
    assert_eq!(sms_jobs(t).await.len(), 3);
    assert_eq!(
        f.recovery
            .request_reset(MOBILE_B, &meta(), &mut f.rng)
            .await
            .unwrap(),
        ResetRequested::Sent,
        "the limit is per person"
    );
    // An hour after the first code, one more may be sent.
    f.clock.advance(Duration::minutes(31));
    assert_eq!(
        f.recovery
            .request_reset(MOBILE_A, &meta(), &mut f.rng)
            .await
            .unwrap(),
        ResetRequested::Sent
    );
}
db_test!(unknown_accounts_and_throttling_write_nothing);

async fn reset_works_once_and_ends_sessions(t: &TestDb) {
    let mut f = fixture(t).await;
    let session = f
        .accounts
        .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    // Make log-ins wait with wrong passwords: the reset (which proves the phone) lifts the wait.
    for _ in 0..5 {
        let _ = f
            .accounts
            .login(MOBILE_A, "Wrong#2026", &meta(), &mut f.rng)
            .await;
    }
    assert!(matches!(
        f.accounts
            .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
            .await,
        Err(IdentityError::TooManyAttempts { .. })
    ));
    f.recovery
        .request_reset(MOBILE_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    let code = last_code(t).await;

    // A password containing the mobile number is refused, and the code survives for a second try.
    let weak = f
        .recovery
        .reset_password(MOBILE_A, &code, "pw13800138000", &meta(), &mut f.rng)
        .await;
    assert!(
        matches!(
            weak,
            Err(IdentityError::Invalid {
                field: "new_password",
                code: "password_contains_identifier",
                ..
            })
        ),
        "{weak:?}"
    );
    f.recovery
        .reset_password(MOBILE_A, &code, NEW_PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert!(
        matches!(
            f.accounts.authenticate(&session.token).await,
            Err(IdentityError::Unauthenticated)
        ),
        "every session ends"
    );
    let again = f
        .recovery
        .reset_password(MOBILE_A, &code, "Another#2026", &meta(), &mut f.rng)
        .await;
    assert!(is_code_invalid(&again), "single use: {again:?}");
    assert!(matches!(
        f.accounts
            .login(MOBILE_A, PASSWORD, &meta(), &mut f.rng)
            .await,
        Err(IdentityError::BadCredentials)
    ));
    f.accounts
        .login(RID_A, NEW_PASSWORD, &meta(), &mut f.rng)
        .await
        .expect("the new password works and the lock is gone");

    let person = f
        .accounts
        .login(MOBILE_A, NEW_PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap()
        .person;
    let actions: Vec<String> =
        audit::for_resource(t.db.conn(), &format!("person:{}", person.public_id), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
    assert!(actions.contains(&"person.password_reset".to_owned()));
    assert!(actions.contains(&"person.password_reset_requested".to_owned()));
}
db_test!(reset_works_once_and_ends_sessions);

async fn wrong_codes_expiry_and_superseded_codes(t: &TestDb) {
    let mut f = fixture(t).await;
    f.recovery
        .request_reset(MOBILE_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    let code = last_code(t).await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let r = f
            .recovery
            .reset_password(MOBILE_A, wrong, NEW_PASSWORD, &meta(), &mut f.rng)
            .await;
        assert!(is_code_invalid(&r));
    }
    let dead = f
        .recovery
        .reset_password(MOBILE_A, &code, NEW_PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(is_code_invalid(&dead), "five wrong tries kill the code");

    // A new code supersedes the old one.
    f.recovery
        .request_reset(MOBILE_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    let first = last_code(t).await;
    f.recovery
        .request_reset(MOBILE_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    let second = last_code(t).await;
    if first != second {
        let old = f
            .recovery
            .reset_password(MOBILE_A, &first, NEW_PASSWORD, &meta(), &mut f.rng)
            .await;
        assert!(is_code_invalid(&old), "only the newest code counts");
    }
    // Expired after 15 minutes.
    f.clock.advance(Duration::minutes(15));
    let late = f
        .recovery
        .reset_password(MOBILE_A, &second, NEW_PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(is_code_invalid(&late), "expired");

    // An unknown account answers exactly like a wrong code.
    let unknown = f
        .recovery
        .reset_password("13512345678", "123456", NEW_PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(is_code_invalid(&unknown));
    // B's code does not work for A.
    f.recovery
        .request_reset(MOBILE_B, &meta(), &mut f.rng)
        .await
        .unwrap();
    let b_code = last_code(t).await;
    let cross = f
        .recovery
        .reset_password(RID_A, &b_code, NEW_PASSWORD, &meta(), &mut f.rng)
        .await;
    assert!(is_code_invalid(&cross));
    f.recovery
        .reset_password(RID_B, &b_code, NEW_PASSWORD, &meta(), &mut f.rng)
        .await
        .unwrap();
    assert!(audit::verify(&t.db).await.unwrap().broken.is_none());
}
db_test!(wrong_codes_expiry_and_superseded_codes);

/// Keeps what it was asked to send.
#[derive(Debug, Default)]
struct Capture {
    sms: Mutex<Vec<Sms>>,
    email: Mutex<Vec<Email>>,
}

impl MessageSender for Capture {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(async move {
            self.sms.lock().unwrap().push(sms.clone());
            Ok(())
        })
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(async move {
            self.email.lock().unwrap().push(email.clone());
            Ok(())
        })
    }
}

async fn worker_delivers_reset_sms(t: &TestDb) {
    let mut f = fixture(t).await;
    f.recovery
        .request_reset(MOBILE_A, &meta(), &mut f.rng)
        .await
        .unwrap();
    let code = last_code(t).await;
    let now = f.clock.now();
    yiwang_db::jobs::enqueue(
        t.db.conn(),
        now,
        &NewJob::new(
            "notify.email",
            yiwang_identity::service::recovery::seal_message(
                &test_pii(),
                &serde_json::json!({ "to": "zhangsan@example.com", "template": "password_reset",
                    "params": { "code": "654321", "minutes": 15 } }),
                &mut f.rng,
            ),
        ),
    )
    .await
    .unwrap();
    let bad = yiwang_db::jobs::enqueue(
        t.db.conn(),
        now,
        &NewJob::new(
            "notify.sms",
            yiwang_identity::service::recovery::seal_message(
                &test_pii(),
                &serde_json::json!({ "to": MOBILE_B, "template": "no_such_template", "params": {} }),
                &mut f.rng,
            ),
        )
        .max_attempts(1),
    )
    .await
    .unwrap()
    .unwrap();

    let capture = Arc::new(Capture::default());
    let shared: SharedClock = Arc::new(f.clock.clone());
    let mut worker = Worker::new(JobQueue::new(t.db.clone(), shared, "test-worker"));
    register_notify_handlers(&mut worker, capture.clone(), Arc::new(test_pii()));
    assert_eq!(worker.run_once().await.unwrap(), 3);

    let sms = capture.sms.lock().unwrap().clone();
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].to.as_str(), MOBILE_A);
    assert_eq!(
        sms[0].text,
        format!(
            "【一网通办】您的验证码为{code}，15分钟内有效，用于重置密码。如非本人操作，请忽略。"
        )
    );
    assert!(
        !format!("{:?}", sms[0]).contains(&code),
        "the code stays out of Debug output"
    );
    let email = capture.email.lock().unwrap().clone();
    assert_eq!(email.len(), 1);
    assert!(email[0].text.contains("654321"));
    assert!(format!("{:?}", email[0]).contains("z***@example.com"));

    let failed = yiwang_db::jobs::list(&t.db, yiwang_db::jobs::JobStatus::Failed, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, bad);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("unknown template")
    );

    // The default sender only logs, and succeeds.
    let logged = LogSender::default().send_sms(&sms[0]).await;
    assert!(logged.is_ok());
}
db_test!(worker_delivers_reset_sms);

#[test]
fn message_templates_need_their_parameters() {
    let (_, text) = render_message(
        "password_reset",
        &serde_json::json!({ "code": "123456", "minutes": 15 }),
    )
    .unwrap();
    assert_eq!(
        text,
        "【一网通办】您的验证码为123456，15分钟内有效，用于重置密码。如非本人操作，请忽略。"
    );
    assert!(render_message("password_reset", &serde_json::json!({ "code": "1" })).is_err());
    assert!(render_message("other", &serde_json::json!({})).is_err());
}
