//! The `notify.sms` / `notify.email` jobs: written sealed in the caller's transaction, opened and
//! rendered for delivery.

use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::db_test;
use yiwang_db::jobs::{self, JobQueue, JobStatus};
use yiwang_db::testing::TestDb;
use yiwang_kernel::crypto::Sm4Key;
use yiwang_kernel::{Clock as _, Mobile};
use yiwang_notify::SendError;

use crate::{MOBILE_A, TestSeal, test_clock, test_pii};

async fn enqueue_writes_a_sealed_job_in_the_callers_transaction(t: &TestDb) {
    let clock = test_clock();
    let seal = test_pii();
    let mut rng = StdRng::seed_from_u64(12);
    let mobile = Mobile::parse(MOBILE_A).unwrap();
    let message = yiwang_notify::OutboxMessage::new(
        yiwang_notify::Recipient::Sms(&mobile),
        yiwang_notify::RESET_TEMPLATE,
        serde_json::json!({ "code": "123456", "minutes": 15 }),
    )
    .max_attempts(4);

    // Rolled back with the caller's transaction: nothing is sent.
    let tx = t.db.begin().await.unwrap();
    yiwang_notify::enqueue(&tx, clock.now(), &seal, &message, &mut rng)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(
        jobs::list(&t.db, JobStatus::Pending, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let tx = t.db.begin().await.unwrap();
    let id = yiwang_notify::enqueue(&tx, clock.now(), &seal, &message, &mut rng)
        .await
        .unwrap();
    let address = "zhangsan@example.com";
    let email = yiwang_notify::OutboxMessage::new(
        yiwang_notify::Recipient::Email(address),
        yiwang_notify::NOTICE_TEMPLATE,
        serde_json::json!({ "subject": "办件", "text": "已受理" }),
    );
    yiwang_notify::enqueue(&tx, clock.now(), &seal, &email, &mut rng)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let pending = jobs::list(&t.db, JobStatus::Pending, 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    let sms_job = pending.iter().find(|j| j.id == id).unwrap();
    assert_eq!(sms_job.kind, yiwang_notify::SMS_JOB);
    assert_eq!(sms_job.max_attempts, 4);
    let email_job = pending.iter().find(|j| j.id != id).unwrap();
    assert_eq!(email_job.kind, yiwang_notify::EMAIL_JOB);

    let claimed = JobQueue::new(t.db.clone(), clock.shared(), "outbox-test")
        .claim(10)
        .await
        .unwrap();
    let sms_job = claimed.iter().find(|j| j.id == id).unwrap();
    let stored = sms_job.payload.to_string();
    assert!(
        !stored.contains(MOBILE_A) && !stored.contains("123456"),
        "{stored}"
    );
    let sms = yiwang_notify::sms_of(sms_job, &seal).unwrap();
    assert_eq!(sms.to, mobile);
    assert!(
        sms.text.contains("123456") && sms.text.contains("15分钟"),
        "{}",
        sms.text
    );
    let email_job = claimed.iter().find(|j| j.id != id).unwrap();
    assert!(!email_job.payload.to_string().contains(address));
    let sent = yiwang_notify::email_of(email_job, &seal).unwrap();
    assert_eq!(
        (sent.to.as_str(), sent.subject.as_str(), sent.text.as_str()),
        (address, "办件", "已受理")
    );
    // A job sealed under another key does not open.
    let other = TestSeal(Sm4Key::from_bytes(*b"fedcba9876543210"));
    assert!(matches!(
        yiwang_notify::sms_of(sms_job, &other),
        Err(SendError::Malformed(_))
    ));
}
db_test!(enqueue_writes_a_sealed_job_in_the_callers_transaction);
