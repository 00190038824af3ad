//! The transactional outbox and job queue.
//!
//! A side effect that must follow a state change (a notification, a search-index update, a deadline
//! sweep) is written as a job row in the same transaction as the change ([`enqueue`]), so it exists
//! exactly when the change committed. Workers on any number of nodes claim due jobs: on PostgreSQL
//! with `FOR UPDATE SKIP LOCKED`, on SQLite through its single writer. A claim is a lease; a worker
//! that dies lets its lease run out and another worker takes the job over. Failed attempts are
//! retried with exponential backoff; a job out of attempts stays in the table, `failed`, with its error.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use sea_orm::{ConnectionTrait, Value};
use serde::Serialize;
use yiwang_kernel::SharedClock;

use crate::{Backend, Db, DbError, parse_ts, stmt, ts};

/// A job to write in the caller's transaction.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// When it becomes due; `None` means now.
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: u32,
    /// At most one job ever exists per key; a second enqueue with the same key is a no-op.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at: None,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
            dedupe_key: None,
        }
    }

    #[must_use]
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    #[must_use]
    pub fn dedupe_key(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

/// Write a job in the caller's transaction (or connection). Returns its id, or `None` when a job with
/// the same dedupe key already exists.
#[tracing::instrument(skip_all, err, fields(kind = %job.kind))]
pub async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    job: &NewJob,
) -> Result<Option<i64>, DbError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO jobs (kind, payload, status, attempts, max_attempts, run_at, dedupe_key, created_at)
             VALUES ($1, $2, 'pending', 0, $3, $4, $5, $6)
             ON CONFLICT (dedupe_key) DO NOTHING
             RETURNING id",
            [
                job.kind.clone().into(),
                job.payload.to_string().into(),
                i64::from(job.max_attempts).into(),
                ts(job.run_at.unwrap_or(now)).into(),
                job.dedupe_key.clone().into(),
                ts(now).into(),
            ],
        ))
        .await?;
    row.map(|r| r.try_get::<i64>("", "id").map_err(DbError::from))
        .transpose()
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    /// Attempts so far, including the current one.
    pub attempts: u32,
    pub max_attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// The state of a stored job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    fn parse(text: &str) -> Result<Self, DbError> {
        match text {
            "pending" => Ok(Self::Pending),
            "running" => Ok(Self::Running),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            other => Err(DbError::Corrupt(format!("unknown job status {other:?}"))),
        }
    }
}

/// A stored job as an operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// Exponential backoff between attempts: `base · 2^(attempt−1)`, at most `max`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max: Duration::from_hours(1),
        }
    }
}

impl Backoff {
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1_u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Claims, completes and fails jobs on behalf of one worker.
#[derive(Clone)]
pub struct JobQueue {
    db: Db,
    clock: SharedClock,
    worker_id: String,
    lease: Duration,
    backoff: Backoff,
}

impl fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobQueue")
            .field("worker_id", &self.worker_id)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl JobQueue {
    pub fn new(db: Db, clock: SharedClock, worker_id: impl Into<String>) -> Self {
        Self {
            db,
            clock,
            worker_id: worker_id.into(),
            lease: Duration::from_mins(5),
            backoff: Backoff::default(),
        }
    }

    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    #[must_use]
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::days(1))
    }

    /// Claim up to `limit` due jobs (and jobs whose previous lease ran out) for this worker.
    #[tracing::instrument(skip_all, err, fields(worker = %self.worker_id))]
    pub async fn claim(&self, limit: u32) -> Result<Vec<Job>, DbError> {
        let now = self.clock.now();
        // A job whose lease ran out on its last attempt (its worker died, perhaps because of the job
        // itself) is failed rather than retried forever.
        self.db
            .conn()
            .execute_raw(stmt(
                self.db.conn(),
                "UPDATE jobs SET status = 'failed', finished_at = $1, locked_by = NULL, locked_until = NULL,
                     last_error = 'the worker stopped during the last attempt (its lease expired)'
                 WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
                [ts(now).into()],
            ))
            .await?;
        // PostgreSQL: SKIP LOCKED lets concurrent workers take disjoint rows without waiting.
        // SQLite: one writer at a time, so the statement is already exclusive.
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // The due rows are chosen once, in a CTE (one with FOR UPDATE is materialised, never re-run).
        let sql = format!(
            "WITH due AS (
                 SELECT id FROM jobs
                 WHERE (status = 'pending' AND run_at <= $3)
                    OR (status = 'running' AND locked_until < $3 AND attempts < max_attempts)
                 ORDER BY run_at, id
                 LIMIT $4 {lock}
             )
             UPDATE jobs SET status = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM due)
             RETURNING id, kind, payload, attempts, max_attempts, created_at"
        );
        let rows = self
            .db
            .conn()
            .query_all_raw(stmt(
                self.db.conn(),
                &sql,
                [
                    self.worker_id.clone().into(),
                    ts(self.lease_until(now)).into(),
                    ts(now).into(),
                    i64::from(limit).into(),
                ],
            ))
            .await?;
        let mut jobs = rows
            .iter()
            .map(|row| {
                let payload: String = row.try_get("", "payload")?;
                Ok(Job {
                    id: row.try_get("", "id")?,
                    kind: row.try_get("", "kind")?,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| DbError::Corrupt(format!("job payload is not JSON: {e}")))?,
                    attempts: u32::try_from(row.try_get::<i64>("", "attempts")?)
                        .unwrap_or(u32::MAX),
                    max_attempts: u32::try_from(row.try_get::<i64>("", "max_attempts")?)
                        .unwrap_or(u32::MAX),
                    created_at: parse_ts(&row.try_get::<String>("", "created_at")?)?,
                })
            })
            .collect::<Result<Vec<_>, DbError>>()?;
        jobs.sort_by_key(|job| job.id);
        Ok(jobs)
    }

    /// Extend this worker's lease on a claimed job just before running it. Returns false when the lease
    /// was lost (it ran out, and another worker may have taken the job over): the job must not be run.
    /// The attempt number fences the claim, so a stale holder can never act on a newer claim.
    pub async fn renew(&self, job: &Job) -> Result<bool, DbError> {
        let now = self.clock.now();
        let result = self
            .db
            .conn()
            .execute_raw(stmt(
                self.db.conn(),
                "UPDATE jobs SET locked_until = $1
                 WHERE id = $2 AND status = 'running' AND locked_by = $3 AND attempts = $4 AND locked_until >= $5",
                [
                    ts(self.lease_until(now)).into(),
                    job.id.into(),
                    self.worker_id.clone().into(),
                    i64::from(job.attempts).into(),
                    ts(now).into(),
                ],
            ))
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Mark a claimed job done. Returns false when this worker no longer holds the claim.
    pub async fn complete(&self, job: &Job) -> Result<bool, DbError> {
        let result = self
            .db
            .conn()
            .execute_raw(stmt(
                self.db.conn(),
                "UPDATE jobs SET status = 'done', finished_at = $1, locked_by = NULL, locked_until = NULL, last_error = NULL
                 WHERE id = $2 AND status = 'running' AND locked_by = $3 AND attempts = $4",
                [
                    ts(self.clock.now()).into(),
                    job.id.into(),
                    self.worker_id.clone().into(),
                    i64::from(job.attempts).into(),
                ],
            ))
            .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Record a failed attempt: retried after a backoff, or kept as `failed` with its error when out of
    /// attempts. Returns the job's new status, or `None` when this worker no longer held the claim.
    pub async fn fail(&self, job: &Job, error: &str) -> Result<Option<JobStatus>, DbError> {
        let now = self.clock.now();
        let (status, run_at, finished_at): (JobStatus, DateTime<Utc>, Option<String>) =
            if job.attempts >= job.max_attempts {
                (JobStatus::Failed, now, Some(ts(now)))
            } else {
                let delay = chrono::Duration::from_std(self.backoff.delay(job.attempts))
                    .unwrap_or(chrono::Duration::days(1));
                (JobStatus::Pending, now + delay, None)
            };
        let status_text = match status {
            JobStatus::Failed => "failed",
            _ => "pending",
        };
        let result = self
            .db
            .conn()
            .execute_raw(stmt(
                self.db.conn(),
                "UPDATE jobs SET status = $1, run_at = $2, finished_at = $3, last_error = $4, locked_by = NULL, locked_until = NULL
                 WHERE id = $5 AND status = 'running' AND locked_by = $6 AND attempts = $7",
                [
                    status_text.into(),
                    ts(run_at).into(),
                    finished_at.into(),
                    truncate(error, 4000).into(),
                    job.id.into(),
                    self.worker_id.clone().into(),
                    i64::from(job.attempts).into(),
                ],
            ))
            .await?;
        Ok((result.rows_affected() == 1).then_some(status))
    }

    /// Put a failed job back in the queue (an operator's retry).
    pub async fn retry_failed(&self, id: i64) -> Result<bool, DbError> {
        let result = self
            .db
            .conn()
            .execute_raw(stmt(
                self.db.conn(),
                "UPDATE jobs SET status = 'pending', attempts = 0, run_at = $1, finished_at = NULL WHERE id = $2 AND status = 'failed'",
                [ts(self.clock.now()).into(), id.into()],
            ))
            .await?;
        Ok(result.rows_affected() == 1)
    }
}

/// Jobs in a given status, newest first.
pub async fn list(db: &Db, status: JobStatus, limit: i64) -> Result<Vec<JobRecord>, DbError> {
    let status_text: Value = match status {
        JobStatus::Pending => "pending",
        JobStatus::Running => "running",
        JobStatus::Done => "done",
        JobStatus::Failed => "failed",
    }
    .into();
    let rows = db
        .conn()
        .query_all_raw(stmt(
            db.conn(),
            "SELECT id, kind, status, attempts, max_attempts, run_at, last_error FROM jobs
             WHERE status = $1 ORDER BY id DESC LIMIT $2",
            [status_text, limit.into()],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(JobRecord {
                id: row.try_get("", "id")?,
                kind: row.try_get("", "kind")?,
                status: JobStatus::parse(&row.try_get::<String>("", "status")?)?,
                attempts: u32::try_from(row.try_get::<i64>("", "attempts")?).unwrap_or(u32::MAX),
                max_attempts: u32::try_from(row.try_get::<i64>("", "max_attempts")?)
                    .unwrap_or(u32::MAX),
                run_at: parse_ts(&row.try_get::<String>("", "run_at")?)?,
                last_error: row.try_get("", "last_error")?,
            })
        })
        .collect()
}

/// Count of jobs per status, for `/metrics` and the operations page.
pub async fn counts(db: &Db) -> Result<Vec<(JobStatus, i64)>, DbError> {
    let rows = db
        .conn()
        .query_all_raw(stmt(
            db.conn(),
            "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status ORDER BY status",
            [],
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                JobStatus::parse(&row.try_get::<String>("", "status")?)?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect()
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// What a handler returns; the error text is stored with the job.
pub type JobResult = Result<(), String>;
type BoxFuture = Pin<Box<dyn Future<Output = JobResult> + Send>>;
type Handler = Arc<dyn Fn(Job) -> BoxFuture + Send + Sync>;

/// Runs registered handlers for claimed jobs.
pub struct Worker {
    queue: JobQueue,
    handlers: HashMap<String, Handler>,
    batch: u32,
    poll_interval: Duration,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Worker")
            .field("queue", &self.queue)
            .field("kinds", &self.handlers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Worker {
    pub fn new(queue: JobQueue) -> Self {
        Self {
            queue,
            handlers: HashMap::new(),
            batch: 16,
            poll_interval: Duration::from_millis(500),
        }
    }

    #[must_use]
    pub fn with_batch(mut self, batch: u32) -> Self {
        self.batch = batch.max(1);
        self
    }

    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Register the handler for one job kind.
    pub fn register<F, Fut>(&mut self, kind: &str, handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        self.handlers.insert(
            kind.to_owned(),
            Arc::new(move |job| Box::pin(handler(job)) as BoxFuture),
        );
    }

    /// Claim one batch and run it. Returns how many jobs were claimed.
    pub async fn run_once(&self) -> Result<usize, DbError> {
        let jobs = self.queue.claim(self.batch).await?;
        let claimed = jobs.len();
        for job in jobs {
            if !self.queue.renew(&job).await? {
                tracing::warn!(
                    job = job.id,
                    "lease lost before the job started; another worker has it"
                );
                continue;
            }
            let outcome = match self.handlers.get(&job.kind) {
                // A panicking handler fails its job instead of killing the worker.
                Some(handler) => AssertUnwindSafe(handler(job.clone()))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err("the job handler panicked".to_owned())),
                None => Err(format!(
                    "no handler is registered for job kind {:?}",
                    job.kind
                )),
            };
            match outcome {
                Ok(()) => {
                    if !self.queue.complete(&job).await? {
                        tracing::warn!(job = job.id, "job finished after its lease was taken over");
                    }
                }
                Err(error) => {
                    let status = self.queue.fail(&job, &error).await?;
                    if status.is_none() {
                        tracing::warn!(job = job.id, "job failed after its lease was taken over");
                    }
                    tracing::warn!(job = job.id, kind = %job.kind, attempts = job.attempts, ?status, %error, "job failed");
                }
            }
        }
        Ok(claimed)
    }

    /// Run until `shutdown` resolves, polling when the queue is empty. Shutdown is checked before every
    /// batch, so a busy queue does not hold the process up; the batch in hand is finished first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if (&mut shutdown).now_or_never().is_some() {
                break;
            }
            let claimed = match self.run_once().await {
                Ok(n) => n,
                Err(error) => {
                    tracing::error!(%error, "job worker could not claim jobs");
                    0
                }
            };
            if claimed > 0 {
                continue;
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(self.poll_interval) => {}
            }
        }
        tracing::info!(worker = %self.queue.worker_id(), "job worker stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(5),
            max: Duration::from_mins(1),
        };
        assert_eq!(b.delay(1), Duration::from_secs(5));
        assert_eq!(b.delay(2), Duration::from_secs(10));
        assert_eq!(b.delay(3), Duration::from_secs(20));
        assert_eq!(b.delay(5), Duration::from_mins(1));
        assert_eq!(b.delay(60), Duration::from_mins(1));
    }
}
