//! Database layer tests; each runs on SQLite and (when configured) PostgreSQL.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, Backoff, JobQueue, JobStatus, NewJob, Worker};
use yiwang_db::testing::{self, TestDb};
use yiwang_db::{ConnectionTrait, Db, db_test, migrate, stmt};
use yiwang_kernel::{Clock, SharedClock, SystemClock, TestClock};

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 13, 1, 0, 0).unwrap()
}

fn test_clock() -> (TestClock, SharedClock) {
    let clock = TestClock::new(t0());
    let shared: SharedClock = Arc::new(clock.clone());
    (clock, shared)
}

async fn count(db: &Db, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(stmt(db.conn(), sql, []))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

// ---------------------------------------------------------------- migrations

async fn check_migrate_from_empty(t: &TestDb) {
    let first = migrate::run(&t.db, t0()).await.unwrap();
    assert_eq!(first.applied.len(), migrate::MIGRATIONS.len());
    assert_eq!(first.already, 0);
    let again = migrate::run(&t.db, t0()).await.unwrap();
    assert!(again.applied.is_empty(), "second run applies nothing");
    assert_eq!(again.already, migrate::MIGRATIONS.len());
    let versions = migrate::applied_versions(&t.db).await.unwrap();
    assert_eq!(
        versions,
        migrate::MIGRATIONS
            .iter()
            .map(|m| m.version)
            .collect::<Vec<_>>()
    );
    for table in ["jobs", "audit_log", "audit_head", "regions", "departments"] {
        assert_eq!(
            count(&t.db, &format!("SELECT COUNT(*) FROM {table} WHERE 1 = 0")).await,
            0
        );
    }
    assert_eq!(count(&t.db, "SELECT COUNT(*) FROM audit_head").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_from_empty_sqlite() {
    let t = testing::sqlite_empty().await.unwrap();
    check_migrate_from_empty(&t).await;
    t.finish().await;
}

yiwang_db::postgres_only! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrate_from_empty_postgres() {
        let t = testing::postgres_empty()
            .await
            .unwrap()
            .expect("YIWANG_TEST_POSTGRES_URL is set for the PostgreSQL run");
        check_migrate_from_empty(&t).await;
        t.finish().await;
    }
}

async fn concurrent_migrations_apply_once(t: &TestDb) {
    // The harness already migrated; a second pool migrating concurrently with a third changes nothing.
    let a = Db::connect(&t.url).await.unwrap();
    let b = Db::connect(&t.url).await.unwrap();
    let (ra, rb) = tokio::join!(migrate::run(&a, t0()), migrate::run(&b, t0()));
    assert!(ra.unwrap().applied.is_empty());
    assert!(rb.unwrap().applied.is_empty());
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM schema_migrations").await,
        migrate::MIGRATIONS.len() as i64
    );
}
db_test!(concurrent_migrations_apply_once);

async fn edited_migration_is_refused(t: &TestDb) {
    t.db.conn()
        .execute_unprepared("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        .await
        .unwrap();
    let err = migrate::run(&t.db, t0()).await.unwrap_err();
    assert!(
        err.to_string().contains("changed after it was applied"),
        "{err}"
    );
}
db_test!(edited_migration_is_refused);

async fn newer_database_is_refused(t: &TestDb) {
    t.db.conn()
        .execute_unprepared(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', 'x')",
        )
        .await
        .unwrap();
    let err = migrate::run(&t.db, t0()).await.unwrap_err();
    assert!(err.to_string().contains("newer Yiwang"), "{err}");
}
db_test!(newer_database_is_refused);

// ---------------------------------------------------------------- outbox / jobs

async fn outbox_rows_follow_the_transaction(t: &TestDb) {
    let (_clock, shared) = test_clock();
    let tx = t.db.begin().await.unwrap();
    jobs::enqueue(
        &tx,
        t0(),
        &NewJob::new("notify.sms", json!({"to": "rolled back"})),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    let tx = t.db.begin().await.unwrap();
    let id = jobs::enqueue(
        &tx,
        t0(),
        &NewJob::new("notify.sms", json!({"to": "committed"})),
    )
    .await
    .unwrap()
    .expect("inserted");
    tx.commit().await.unwrap();

    let queue = JobQueue::new(t.db.clone(), shared, "w1");
    let claimed = queue.claim(10).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the committed job exists");
    assert_eq!(claimed[0].id, id);
    assert_eq!(claimed[0].payload, json!({"to": "committed"}));
    assert_eq!(claimed[0].attempts, 1);
    assert!(
        queue.claim(10).await.unwrap().is_empty(),
        "a claimed job is not claimed again"
    );
    assert!(queue.complete(&claimed[0]).await.unwrap());
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM jobs WHERE status = 'done'").await,
        1
    );
}
db_test!(outbox_rows_follow_the_transaction);

async fn future_jobs_wait_and_dedupe_keys_hold(t: &TestDb) {
    let (clock, shared) = test_clock();
    let later = t0() + chrono::Duration::hours(2);
    let first = jobs::enqueue(
        t.db.conn(),
        t0(),
        &NewJob::new("deadline.sweep", json!({}))
            .run_at(later)
            .dedupe_key("sweep:2026-02-13"),
    )
    .await
    .unwrap();
    let second = jobs::enqueue(
        t.db.conn(),
        t0(),
        &NewJob::new("deadline.sweep", json!({}))
            .run_at(later)
            .dedupe_key("sweep:2026-02-13"),
    )
    .await
    .unwrap();
    assert!(first.is_some());
    assert_eq!(second, None, "same dedupe key is a no-op");
    let queue = JobQueue::new(t.db.clone(), shared, "w1");
    assert!(queue.claim(10).await.unwrap().is_empty(), "not due yet");
    clock.advance(chrono::Duration::hours(2));
    assert_eq!(queue.claim(10).await.unwrap().len(), 1);
}
db_test!(future_jobs_wait_and_dedupe_keys_hold);

async fn failures_retry_with_backoff_then_are_kept(t: &TestDb) {
    let (clock, shared) = test_clock();
    jobs::enqueue(
        t.db.conn(),
        t0(),
        &NewJob::new("notify.email", json!({"n": 1})).max_attempts(3),
    )
    .await
    .unwrap();
    let queue = JobQueue::new(t.db.clone(), shared, "w1").with_backoff(Backoff {
        base: Duration::from_secs(10),
        max: Duration::from_hours(1),
    });
    let mut worker = Worker::new(queue);
    worker.register("notify.email", |_job| async {
        Err("SMTP server refused: 550".to_owned())
    });

    assert_eq!(worker.run_once().await.unwrap(), 1);
    let pending = jobs::list(&t.db, JobStatus::Pending, 10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].run_at, t0() + chrono::Duration::seconds(10));
    assert_eq!(
        pending[0].last_error.as_deref(),
        Some("SMTP server refused: 550")
    );

    assert_eq!(worker.run_once().await.unwrap(), 0, "backing off");
    clock.advance(chrono::Duration::seconds(10));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let pending = jobs::list(&t.db, JobStatus::Pending, 10).await.unwrap();
    assert_eq!(
        pending[0].run_at,
        clock.now() + chrono::Duration::seconds(20),
        "delay doubled"
    );

    clock.advance(chrono::Duration::seconds(20));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let failed = jobs::list(&t.db, JobStatus::Failed, 10).await.unwrap();
    assert_eq!(failed.len(), 1, "out of attempts: kept as failed");
    assert_eq!(failed[0].attempts, 3);
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("SMTP server refused: 550")
    );
    clock.advance(chrono::Duration::days(1));
    assert_eq!(
        worker.run_once().await.unwrap(),
        0,
        "a failed job is not retried by itself"
    );

    let counts: HashMap<_, _> = jobs::counts(&t.db).await.unwrap().into_iter().collect();
    assert_eq!(counts.get(&JobStatus::Failed), Some(&1));
}
db_test!(failures_retry_with_backoff_then_are_kept);

async fn unknown_kinds_fail_with_a_clear_error(t: &TestDb) {
    let (_clock, shared) = test_clock();
    jobs::enqueue(
        t.db.conn(),
        t0(),
        &NewJob::new("no.such.kind", json!({})).max_attempts(1),
    )
    .await
    .unwrap();
    let worker = Worker::new(JobQueue::new(t.db.clone(), shared, "w1"));
    worker.run_once().await.unwrap();
    let failed = jobs::list(&t.db, JobStatus::Failed, 10).await.unwrap();
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("no handler is registered")
    );
}
db_test!(unknown_kinds_fail_with_a_clear_error);

async fn expired_leases_are_taken_over(t: &TestDb) {
    let (clock, shared) = test_clock();
    jobs::enqueue(t.db.conn(), t0(), &NewJob::new("index.update", json!({})))
        .await
        .unwrap();
    let dead =
        JobQueue::new(t.db.clone(), shared.clone(), "dead-node").with_lease(Duration::from_mins(1));
    let alive =
        JobQueue::new(t.db.clone(), shared, "alive-node").with_lease(Duration::from_mins(1));
    let taken = dead.claim(1).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert!(alive.claim(1).await.unwrap().is_empty(), "lease still held");
    clock.advance(chrono::Duration::seconds(61));
    let again = alive.claim(1).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);
    assert!(
        !dead.complete(&taken[0]).await.unwrap(),
        "the old holder lost its lease"
    );
    assert!(alive.complete(&again[0]).await.unwrap());
}
db_test!(expired_leases_are_taken_over);

/// A job whose worker died during its last attempt is failed, not retried forever; a panicking handler
/// fails its job and the worker goes on.
async fn poison_jobs_end_as_failed(t: &TestDb) {
    let (clock, shared) = test_clock();
    jobs::enqueue(
        t.db.conn(),
        t0(),
        &NewJob::new("crashes.node", json!({})).max_attempts(1),
    )
    .await
    .unwrap();
    let dead =
        JobQueue::new(t.db.clone(), shared.clone(), "dead-node").with_lease(Duration::from_mins(1));
    assert_eq!(dead.claim(1).await.unwrap().len(), 1);
    clock.advance(chrono::Duration::seconds(61));
    let other = JobQueue::new(t.db.clone(), shared.clone(), "other-node");
    assert!(
        other.claim(10).await.unwrap().is_empty(),
        "not handed out again"
    );
    let failed = jobs::list(&t.db, JobStatus::Failed, 10).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("lease expired")
    );

    jobs::enqueue(
        t.db.conn(),
        clock.now(),
        &NewJob::new("panics", json!({})).max_attempts(1),
    )
    .await
    .unwrap();
    jobs::enqueue(t.db.conn(), clock.now(), &NewJob::new("works", json!({})))
        .await
        .unwrap();
    let mut worker = Worker::new(JobQueue::new(t.db.clone(), shared, "w1"));
    worker.register("panics", |_job| async { panic!("handler bug") });
    worker.register("works", |_job| async { Ok(()) });
    assert_eq!(worker.run_once().await.unwrap(), 2);
    let failed = jobs::list(&t.db, JobStatus::Failed, 10).await.unwrap();
    assert_eq!(
        failed[0].last_error.as_deref(),
        Some("the job handler panicked")
    );
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM jobs WHERE status = 'done'").await,
        1
    );
}
db_test!(poison_jobs_end_as_failed);

/// A worker whose lease ran out before it started a job does not run it, and cannot complete or fail the
/// newer claim of another worker.
async fn stale_claims_are_fenced(t: &TestDb) {
    let (clock, shared) = test_clock();
    jobs::enqueue(t.db.conn(), t0(), &NewJob::new("k", json!({})))
        .await
        .unwrap();
    let slow =
        JobQueue::new(t.db.clone(), shared.clone(), "slow").with_lease(Duration::from_secs(30));
    let fast =
        JobQueue::new(t.db.clone(), shared.clone(), "fast").with_lease(Duration::from_secs(30));
    let stale = slow.claim(1).await.unwrap().remove(0);
    clock.advance(chrono::Duration::seconds(31));
    assert!(
        !slow.renew(&stale).await.unwrap(),
        "an expired lease is not renewed"
    );
    let fresh = fast.claim(1).await.unwrap().remove(0);
    assert!(!slow.renew(&stale).await.unwrap());
    assert_eq!(
        slow.fail(&stale, "late").await.unwrap(),
        None,
        "a stale holder cannot fail the new claim"
    );
    assert!(!slow.complete(&stale).await.unwrap());
    assert!(fast.renew(&fresh).await.unwrap());
    assert!(fast.complete(&fresh).await.unwrap());
}
db_test!(stale_claims_are_fenced);

/// Shutdown is honoured between batches even when the queue never runs dry.
async fn worker_stops_while_busy(t: &TestDb) {
    let clock: SharedClock = Arc::new(SystemClock);
    for i in 0..50 {
        jobs::enqueue(
            t.db.conn(),
            clock.now(),
            &NewJob::new("slow", json!({ "i": i })),
        )
        .await
        .unwrap();
    }
    let mut worker = Worker::new(JobQueue::new(t.db.clone(), clock, "w1")).with_batch(1);
    worker.register("slow", |_job| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    // Stop once the worker is busy (however slow the machine), not after a fixed time.
    for _ in 0..500 {
        if count(&t.db, "SELECT COUNT(*) FROM jobs WHERE status = 'done'").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops promptly")
        .unwrap();
    let done = count(&t.db, "SELECT COUNT(*) FROM jobs WHERE status = 'done'").await;
    assert!(done > 0 && done < 50, "stopped mid-queue after {done} jobs");
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM jobs WHERE status = 'running'").await,
        0,
        "no job left half-done"
    );
}
db_test!(worker_stops_while_busy);

/// Two nodes (separate connection pools, as two server processes have) with two workers each drain one
/// queue; every job runs exactly once.
async fn two_nodes_never_run_a_job_twice(t: &TestDb) {
    const JOBS: usize = 400;
    let clock: SharedClock = Arc::new(SystemClock);
    let tx = t.db.begin().await.unwrap();
    for i in 0..JOBS {
        jobs::enqueue(&tx, clock.now(), &NewJob::new("count", json!({ "i": i })))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let runs: Arc<Mutex<Vec<i64>>> = Arc::default();
    let mut tasks = Vec::new();
    for node in 0..2 {
        let pool = Db::connect(&t.url).await.unwrap();
        for w in 0..2 {
            let queue = JobQueue::new(pool.clone(), clock.clone(), format!("node{node}-w{w}"));
            let mut worker = Worker::new(queue).with_batch(7);
            let runs = runs.clone();
            worker.register("count", move |job| {
                let runs = runs.clone();
                async move {
                    runs.lock().unwrap().push(job.id);
                    tokio::task::yield_now().await;
                    Ok(())
                }
            });
            tasks.push(tokio::spawn(async move {
                let mut idle = 0;
                while idle < 3 {
                    if worker.run_once().await.unwrap() == 0 {
                        idle += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    } else {
                        idle = 0;
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let runs = runs.lock().unwrap().clone();
    let mut per_job: HashMap<i64, usize> = HashMap::new();
    for id in &runs {
        *per_job.entry(*id).or_default() += 1;
    }
    assert_eq!(per_job.len(), JOBS, "every job ran");
    let doubles: Vec<_> = per_job.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubles.is_empty(), "jobs run twice: {doubles:?}");
    assert_eq!(
        count(&t.db, "SELECT COUNT(*) FROM jobs WHERE status = 'done'").await,
        JOBS as i64
    );
}
db_test!(two_nodes_never_run_a_job_twice);

// ---------------------------------------------------------------- audit chain

fn event(n: usize) -> AuditEvent {
    AuditEvent::new(
        "staff:7",
        "department.update",
        format!("department:{n}"),
        "10.0.0.8",
    )
    .detail(json!({"field": "phone", "n": n}))
}

async fn audit_chain_verifies_and_rolls_back_with_its_transaction(t: &TestDb) {
    let empty = audit::verify(&t.db).await.unwrap();
    assert_eq!(empty.checked, 0);
    assert!(empty.broken.is_none());

    let tx = t.db.begin().await.unwrap();
    let first = audit::append(&tx, t0(), &event(1)).await.unwrap();
    let second = audit::append(&tx, t0(), &event(2)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, audit::GENESIS_HASH);
    assert_eq!(second.prev_hash, first.hash);

    let tx = t.db.begin().await.unwrap();
    audit::append(&tx, t0(), &event(3)).await.unwrap();
    tx.rollback().await.unwrap();

    let tx = t.db.begin().await.unwrap();
    let third = audit::append(&tx, t0(), &event(4)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(third.seq, 3, "a rolled-back append leaves no gap");

    let report = audit::verify(&t.db).await.unwrap();
    assert_eq!(report.checked, 3);
    assert!(report.broken.is_none());
    let about = audit::for_resource(t.db.conn(), "department:2", 10)
        .await
        .unwrap();
    assert_eq!(about.len(), 1);
    assert_eq!(about[0].actor, "staff:7");
}
db_test!(audit_chain_verifies_and_rolls_back_with_its_transaction);

async fn audit_log_refuses_updates_and_deletes(t: &TestDb) {
    let tx = t.db.begin().await.unwrap();
    audit::append(&tx, t0(), &event(1)).await.unwrap();
    tx.commit().await.unwrap();
    let update =
        t.db.conn()
            .execute_unprepared("UPDATE audit_log SET actor = 'someone else'")
            .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete =
        t.db.conn()
            .execute_unprepared("DELETE FROM audit_log")
            .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if t.db.backend() == yiwang_db::Backend::Postgres {
        let truncate = t.db.conn().execute_unprepared("TRUNCATE audit_log").await;
        assert!(truncate.unwrap_err().to_string().contains("append-only"));
    }
}
db_test!(audit_log_refuses_updates_and_deletes);

/// Someone with direct database access (who can drop the trigger) alters or removes entries.
async fn tampering_is_detected(t: &TestDb) {
    let tx = t.db.begin().await.unwrap();
    for n in 1..=5 {
        audit::append(&tx, t0(), &event(n)).await.unwrap();
    }
    tx.commit().await.unwrap();
    let drop_trigger = match t.db.backend() {
        yiwang_db::Backend::Sqlite => {
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete"
        }
        yiwang_db::Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log",
    };
    t.db.conn().execute_unprepared(drop_trigger).await.unwrap();

    t.db.conn()
        .execute_unprepared(
            "UPDATE audit_log SET detail = '{\"field\":\"address\",\"n\":3}' WHERE seq = 3",
        )
        .await
        .unwrap();
    let report = audit::verify(&t.db).await.unwrap();
    let broken = report.broken.expect("altered entry found");
    assert_eq!(broken.seq, 3);
    assert_eq!(report.checked, 2);
    assert!(broken.reason.contains("altered"));

    // Re-hashing the altered entry does not help: the next entry's link breaks instead.
    let row =
        t.db.conn()
            .query_one_raw(stmt(
                t.db.conn(),
                "SELECT prev_hash, at, detail FROM audit_log WHERE seq = 3",
                [],
            ))
            .await
            .unwrap()
            .unwrap();
    let prev: String = row.try_get("", "prev_hash").unwrap();
    let at: String = row.try_get("", "at").unwrap();
    let detail: String = row.try_get("", "detail").unwrap();
    let forged = audit::entry_hash(
        &prev,
        3,
        &at,
        [
            "staff:7",
            "department.update",
            "department:3",
            "10.0.0.8",
            &detail,
        ],
    );
    t.db.conn()
        .execute_raw(stmt(
            t.db.conn(),
            "UPDATE audit_log SET hash = $1 WHERE seq = 3",
            [forged.into()],
        ))
        .await
        .unwrap();
    let report = audit::verify(&t.db).await.unwrap();
    assert_eq!(report.broken.expect("link broken").seq, 4);

    // Cutting entries off the end is caught by the head.
    t.db.conn()
        .execute_unprepared("DELETE FROM audit_log WHERE seq >= 3")
        .await
        .unwrap();
    let report = audit::verify(&t.db).await.unwrap();
    let broken = report.broken.expect("truncation found");
    assert!(broken.reason.contains("removed"), "{}", broken.reason);
}
db_test!(tampering_is_detected);

/// Rewrite every entry from `from` on, consistently: entry `from` gets another detail and every hash
/// after it is recomputed, the head included, as someone with write access to the database could.
async fn rewrite_tail(db: &Db, from: i64) {
    let rows = db
        .conn()
        .query_all_raw(stmt(
            db.conn(),
            "SELECT seq, at, actor, action, resource, source, detail, prev_hash FROM audit_log
             WHERE seq >= $1 ORDER BY seq",
            [from.into()],
        ))
        .await
        .unwrap();
    let mut prev: Option<String> = None;
    for row in rows {
        let seq: i64 = row.try_get("", "seq").unwrap();
        let at: String = row.try_get("", "at").unwrap();
        let fields: Vec<String> = ["actor", "action", "resource", "source", "detail"]
            .iter()
            .map(|c| row.try_get::<String>("", c).unwrap())
            .collect();
        let detail = if seq == from {
            "{\"field\":\"owner\",\"n\":0}".to_owned()
        } else {
            fields[4].clone()
        };
        let prev_hash = prev.unwrap_or_else(|| row.try_get("", "prev_hash").unwrap());
        let hash = audit::entry_hash(
            &prev_hash,
            seq,
            &at,
            [&fields[0], &fields[1], &fields[2], &fields[3], &detail],
        );
        db.conn()
            .execute_raw(stmt(
                db.conn(),
                "UPDATE audit_log SET detail = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
                [
                    detail.into(),
                    prev_hash.into(),
                    hash.clone().into(),
                    seq.into(),
                ],
            ))
            .await
            .unwrap();
        prev = Some(hash);
    }
    db.conn()
        .execute_raw(stmt(
            db.conn(),
            "UPDATE audit_head SET hash = $1 WHERE id = 1",
            [prev.unwrap().into()],
        ))
        .await
        .unwrap();
}

async fn drop_append_only_triggers(db: &Db) {
    let sql = match db.backend() {
        yiwang_db::Backend::Sqlite => {
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
             DROP TRIGGER audit_anchors_no_update; DROP TRIGGER audit_anchors_no_delete"
        }
        yiwang_db::Backend::Postgres => {
            "DROP TRIGGER audit_log_no_update ON audit_log;
             DROP TRIGGER audit_anchors_no_update ON audit_anchors"
        }
    };
    db.conn().execute_unprepared(sql).await.unwrap();
}

/// The hash chain alone cannot see a consistently rewritten tail; the anchor's MAC can.
async fn anchors_reveal_a_consistently_rewritten_tail(t: &TestDb) {
    let key = audit::AnchorKey::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let other = audit::AnchorKey::from_hex("ffeeddccbbaa99887766554433221100").unwrap();
    assert!(audit::AnchorKey::from_hex("0011").is_err());
    assert!(!format!("{key:?}").contains("00112233"));
    assert!(
        audit::anchor(&t.db, t0(), &key).await.unwrap().is_none(),
        "nothing to anchor yet"
    );
    let append = async |range: std::ops::RangeInclusive<usize>| {
        let tx = t.db.begin().await.unwrap();
        for n in range {
            audit::append(&tx, t0(), &event(n)).await.unwrap();
        }
        tx.commit().await.unwrap();
    };
    append(1..=3).await;
    let first = audit::anchor(&t.db, t0(), &key).await.unwrap().unwrap();
    assert_eq!(first.seq, 3);
    assert!(
        audit::anchor(&t.db, t0(), &key).await.unwrap().is_none(),
        "the head is anchored already"
    );
    append(4..=6).await;
    let second = audit::anchor(&t.db, t0(), &key).await.unwrap().unwrap();
    assert_eq!(second.seq, 6);
    append(7..=8).await;

    let report = audit::verify_with(&t.db, Some(std::slice::from_ref(&key)))
        .await
        .unwrap();
    assert!(report.broken.is_none(), "{report:?}");
    assert_eq!((report.checked, report.anchors_checked), (8, 2));
    assert_eq!(report.last_anchor.map(|a| a.seq), Some(6));
    // A key that made none of the anchors cannot vouch for them.
    let report = audit::verify_with(&t.db, Some(std::slice::from_ref(&other)))
        .await
        .unwrap();
    assert!(
        report.broken.unwrap().reason.contains("not given"),
        "unknown key"
    );
    // A rotated key: the old one is still given for the old anchors.
    let report = audit::verify_with(&t.db, Some(&[other.clone(), key.clone()]))
        .await
        .unwrap();
    assert!(report.broken.is_none(), "{report:?}");

    drop_append_only_triggers(&t.db).await;
    // Entries after the newest anchor are protected by the chain only; rewriting them goes unseen
    // until the next anchor, which is why nodes anchor every few minutes.
    rewrite_tail(&t.db, 5).await;
    let plain = audit::verify(&t.db).await.unwrap();
    assert!(
        plain.broken.is_none(),
        "the rewrite is consistent: the hash chain alone sees nothing"
    );
    let report = audit::verify_with(&t.db, Some(std::slice::from_ref(&key)))
        .await
        .unwrap();
    let broken = report.broken.expect("the anchor reveals the rewrite");
    assert_eq!(broken.seq, 6, "the first anchored entry after the rewrite");
    assert!(broken.reason.contains("anchored"), "{}", broken.reason);

    // Moving the anchor along with the rewrite needs the key: without it the MAC does not match.
    let rewritten: String =
        t.db.conn()
            .query_one_raw(stmt(
                t.db.conn(),
                "SELECT hash FROM audit_log WHERE seq = 6",
                [],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "hash")
            .unwrap();
    t.db.conn()
        .execute_raw(stmt(
            t.db.conn(),
            "UPDATE audit_anchors SET hash = $1 WHERE seq = 6",
            [rewritten.into()],
        ))
        .await
        .unwrap();
    let report = audit::verify_with(&t.db, Some(std::slice::from_ref(&key)))
        .await
        .unwrap();
    assert!(
        report.broken.unwrap().reason.contains("MAC"),
        "a forged anchor"
    );

    // Dropping the first anchor breaks the chain of anchors.
    t.db.conn()
        .execute_unprepared("DELETE FROM audit_anchors WHERE seq = 3")
        .await
        .unwrap();
    let report = audit::verify_with(&t.db, Some(&[key])).await.unwrap();
    assert!(
        report.broken.unwrap().reason.contains("missing"),
        "an anchor removed"
    );
}
db_test!(anchors_reveal_a_consistently_rewritten_tail);

/// Cutting entries off the end and winding the head back to match leaves a consistent, shorter
/// chain; an anchor beyond the new head gives it away.
async fn anchors_reveal_a_cut_off_tail(t: &TestDb) {
    let key = audit::AnchorKey::from_hex("00112233445566778899aabbccddeeff").unwrap();
    let tx = t.db.begin().await.unwrap();
    for n in 1..=4 {
        audit::append(&tx, t0(), &event(n)).await.unwrap();
    }
    tx.commit().await.unwrap();
    audit::anchor(&t.db, t0(), &key).await.unwrap().unwrap();
    drop_append_only_triggers(&t.db).await;
    t.db.conn()
        .execute_unprepared("DELETE FROM audit_log WHERE seq >= 3")
        .await
        .unwrap();
    t.db.conn()
        .execute_unprepared(
            "UPDATE audit_head SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2) WHERE id = 1",
        )
        .await
        .unwrap();
    let plain = audit::verify(&t.db).await.unwrap();
    assert!(plain.broken.is_none(), "the shorter chain is consistent");
    let report = audit::verify_with(&t.db, Some(std::slice::from_ref(&key)))
        .await
        .unwrap();
    let broken = report.broken.expect("the anchor reveals the cut");
    assert!(broken.reason.contains("removed"), "{}", broken.reason);
}
db_test!(anchors_reveal_a_cut_off_tail);

async fn concurrent_appends_keep_one_chain(t: &TestDb) {
    let mut tasks = Vec::new();
    // Verifying while appends land never reports tampering.
    let verifier = {
        let db = t.db.clone();
        tokio::spawn(async move {
            for _ in 0..10 {
                let report = audit::verify(&db).await.unwrap();
                assert!(report.broken.is_none(), "{report:?}");
            }
        })
    };
    for n in 0..40 {
        let db = t.db.clone();
        tasks.push(tokio::spawn(async move {
            let tx = db.begin().await.unwrap();
            audit::append(&tx, t0(), &event(n)).await.unwrap();
            tx.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    verifier.await.unwrap();
    let report = audit::verify(&t.db).await.unwrap();
    assert_eq!(report.checked, 40);
    assert!(report.broken.is_none());
}
db_test!(concurrent_appends_keep_one_chain);

async fn readiness_ping(t: &TestDb) {
    t.db.ping().await.unwrap();
}

async fn harness_gives_a_migrated_database(t: &TestDb) {
    assert_eq!(
        migrate::applied_versions(&t.db).await.unwrap().len(),
        migrate::MIGRATIONS.len()
    );
}

// Several names, a trailing comma and a skip condition that never holds: the forms other crates use.
db_test!(
    #[cfg_attr(any(), ignore = "never")]
    readiness_ping,
    harness_gives_a_migrated_database,
);

// ---------------------------------------------------------------- row toolkit

#[derive(Debug, PartialEq)]
struct KitRow {
    id: i64,
    name: String,
    at: Option<chrono::DateTime<Utc>>,
    day: chrono::NaiveDate,
}

fn kit_row(row: &yiwang_db::QueryResult) -> Result<KitRow, yiwang_db::DbError> {
    Ok(KitRow {
        id: row.try_get("", "id")?,
        name: row.try_get("", "name")?,
        at: yiwang_db::get_opt_ts(row, "at")?,
        day: yiwang_db::get_date(row, "day")?,
    })
}

const KIT_NAMES: [&str; 8] = [
    "Hefei Road Office",
    "ÉCOLE hefei",
    "100% Sure_thing",
    "1000 Sure things",
    r"back\slash",
    "合肥市民政局",
    "合肥_市场监管",
    "蜀山区政务服务中心",
];

/// The names matching `LOWER(name) LIKE LOWER(pattern)`, by id.
async fn kit_like(t: &TestDb, pattern: String) -> Vec<String> {
    yiwang_db::fetch_all(
        t.db.conn(),
        &format!(
            "SELECT name FROM row_kit WHERE {} ORDER BY id",
            yiwang_db::like_sql("name", 1)
        ),
        [pattern.into()],
        |row| {
            row.try_get::<String>("", "name")
                .map_err(yiwang_db::DbError::from)
        },
    )
    .await
    .unwrap()
}

async fn row_toolkit_reads_maps_and_counts(t: &TestDb) {
    let conn = t.db.conn();
    conn.execute_unprepared(
        "CREATE TABLE row_kit (id BIGINT PRIMARY KEY, name TEXT NOT NULL, at TEXT, day TEXT NOT NULL)",
    )
    .await
    .unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 14).unwrap();
    let tx = t.db.begin().await.unwrap();
    for (i, name) in KIT_NAMES.iter().enumerate() {
        let at = (i % 2 == 0).then(|| t0() + chrono::Duration::minutes(i as i64));
        let id: i64 = yiwang_db::fetch_required(
            &tx,
            "INSERT INTO row_kit (id, name, at, day) VALUES ($1, $2, $3, $4) RETURNING id",
            [
                (i as i64 + 1).into(),
                (*name).into(),
                yiwang_db::opt_ts(at),
                yiwang_db::date(day).into(),
            ],
            |row| {
                row.try_get::<i64>("", "id")
                    .map_err(yiwang_db::DbError::from)
            },
        )
        .await
        .unwrap();
        assert_eq!(id, i as i64 + 1);
    }
    // Reads inside the open transaction see its rows: the toolkit takes any connection.
    assert_eq!(
        yiwang_db::count(&tx, "SELECT COUNT(*) FROM row_kit", [])
            .await
            .unwrap(),
        KIT_NAMES.len() as u64
    );
    tx.commit().await.unwrap();

    let first = yiwang_db::fetch_one(
        conn,
        "SELECT id, name, at, day FROM row_kit WHERE id = $1",
        [1_i64.into()],
        kit_row,
    )
    .await
    .unwrap();
    assert_eq!(
        first,
        Some(KitRow {
            id: 1,
            name: KIT_NAMES[0].to_owned(),
            at: Some(t0()),
            day,
        })
    );
    let second = yiwang_db::fetch_one(
        conn,
        "SELECT id, name, at, day FROM row_kit WHERE id = $1",
        [2_i64.into()],
        kit_row,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(second.at, None, "NULL reads as no instant");
    let none = yiwang_db::fetch_one(
        conn,
        "SELECT id, name, at, day FROM row_kit WHERE id = $1",
        [99_i64.into()],
        kit_row,
    )
    .await
    .unwrap();
    assert_eq!(none, None);
    let missing = yiwang_db::fetch_required(
        conn,
        "SELECT id, name, at, day FROM row_kit WHERE id = $1",
        [99_i64.into()],
        kit_row,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&missing, yiwang_db::DbError::Corrupt(text) if text.contains("SELECT id, name")),
        "{missing}"
    );
    let all = yiwang_db::fetch_all(
        conn,
        "SELECT id, name, at, day FROM row_kit WHERE day = $1 ORDER BY id DESC",
        [yiwang_db::date(day).into()],
        kit_row,
    )
    .await
    .unwrap();
    assert_eq!(
        all.iter().map(|r| r.id).collect::<Vec<_>>(),
        (1..=KIT_NAMES.len() as i64).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        yiwang_db::count(
            conn,
            "SELECT COUNT(*) FROM row_kit WHERE at IS NULL AND id > $1",
            [0_i64.into()]
        )
        .await
        .unwrap(),
        4
    );
    assert_eq!(
        yiwang_db::count(conn, "SELECT COUNT(*) FROM row_kit WHERE 1 = 0", [])
            .await
            .unwrap(),
        0
    );
    let bad = yiwang_db::fetch_one(
        conn,
        "SELECT name AS day FROM row_kit WHERE id = 1",
        [],
        |row| yiwang_db::get_date(row, "day"),
    )
    .await
    .unwrap_err();
    assert!(matches!(bad, yiwang_db::DbError::Corrupt(_)), "{bad}");

    // LIKE: wildcards in the text are literal; case folds for ASCII on both backends; CJK matches.
    assert_eq!(
        kit_like(t, yiwang_db::like_contains("HEFEI")).await,
        ["Hefei Road Office", "ÉCOLE hefei"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_contains("ÉCOLE")).await,
        ["ÉCOLE hefei"],
        "a value always matches its own text"
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_contains("100%")).await,
        ["100% Sure_thing"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_contains("_")).await,
        ["100% Sure_thing", "合肥_市场监管"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_contains(r"\")).await,
        [r"back\slash"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_contains("民政")).await,
        ["合肥市民政局"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_prefix("合肥")).await,
        ["合肥市民政局", "合肥_市场监管"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_prefix("合肥_")).await,
        ["合肥_市场监管"]
    );
    assert_eq!(
        kit_like(t, yiwang_db::like_prefix("sure")).await,
        Vec::<String>::new()
    );
}
db_test!(row_toolkit_reads_maps_and_counts);

// ---------------------------------------------------------------- TLS to PostgreSQL

fn with_param(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}

yiwang_db::postgres_only! {
/// `sslmode` in the URL is honoured: `require` encrypts (the server reports the session as SSL), and
/// `verify-full` refuses a server whose certificate no trusted CA issued (the test server's is
/// self-signed) instead of falling back to plain text.
#[tokio::test]
async fn postgres_connections_use_tls_when_the_url_asks() {
    let url = testing::postgres_admin_url()
        .unwrap_or_else(|| panic!("{} is not set", testing::POSTGRES_ENV));
    let db = Db::connect(&with_param(&url, "sslmode=require"))
        .await
        .unwrap_or_else(|e| panic!("TLS connection to the test server: {e}"));
    let row = db
        .conn()
        .query_one_raw(stmt(
            db.conn(),
            "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            [],
        ))
        .await
        .unwrap()
        .unwrap();
    assert!(
        row.try_get::<bool>("", "ssl").unwrap(),
        "the session is encrypted"
    );
    let version: String = row.try_get("", "version").unwrap();
    assert!(version.starts_with("TLSv1."), "{version}");
    db.close().await.unwrap();

    let err = Db::connect(&with_param(&url, "sslmode=verify-full"))
        .await
        .expect_err("an unverifiable certificate is refused");
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("tls"),
        "{text}"
    );
}
}

async fn limiter_counts_per_window_and_nodes_share_it(t: &TestDb) {
    use yiwang_db::limits::{DbLimiter, Decision, Limiter, Rule};
    // Two pools on one database stand for two nodes.
    let node_a = DbLimiter::new(t.db.clone());
    let node_b = DbLimiter::new(Db::connect(&t.url).await.unwrap());
    let rule = Rule::new(3, 60);
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 15).unwrap();
    assert!(
        node_a
            .hit("register", "10.0.0.1", rule, now)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        node_b
            .hit("register", "10.0.0.1", rule, now)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        node_a
            .peek("register", "10.0.0.1", rule, now)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        node_b
            .hit("register", "10.0.0.1", rule, now)
            .await
            .unwrap()
            .is_allowed()
    );
    let limited = Decision::Limited {
        retry_after_secs: 45,
    };
    assert_eq!(
        node_a
            .peek("register", "10.0.0.1", rule, now)
            .await
            .unwrap(),
        limited
    );
    assert_eq!(
        node_a.hit("register", "10.0.0.1", rule, now).await.unwrap(),
        limited
    );
    assert_eq!(
        node_b.hit("register", "10.0.0.1", rule, now).await.unwrap(),
        limited
    );
    // Other keys and scopes have their own counts.
    assert!(
        node_b
            .hit("register", "10.0.0.2", rule, now)
            .await
            .unwrap()
            .is_allowed()
    );
    assert!(
        node_b
            .hit("upload", "10.0.0.1", rule, now)
            .await
            .unwrap()
            .is_allowed()
    );
    // The next window starts afresh; sweeping drops only ended windows.
    let later = now + chrono::Duration::seconds(45);
    assert!(
        node_a
            .hit("register", "10.0.0.1", rule, later)
            .await
            .unwrap()
            .is_allowed()
    );
    assert_eq!(node_a.sweep(later).await.unwrap(), 2);
    assert!(
        node_b
            .hit("register", "10.0.0.1", rule, later)
            .await
            .unwrap()
            .is_allowed()
    );
    assert_eq!(
        yiwang_db::count(t.db.conn(), "SELECT COUNT(*) AS n FROM rate_limits", [])
            .await
            .unwrap(),
        1
    );
}
db_test!(limiter_counts_per_window_and_nodes_share_it);
