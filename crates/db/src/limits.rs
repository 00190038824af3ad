//! Abuse limits shared across nodes: a fixed-window counter per (scope, key), e.g. ("register",
//! "203.0.113.7") or ("upload", "person:42").
//!
//! [`DbLimiter`] keeps the counters in the database, so every node on one database sees the same
//! count: a hit is a single conditional upsert that starts a new window or adds to the current one and
//! returns the count. [`MemoryLimiter`] follows the same rules in one process, for tests and tools.
//! Both sit behind [`Limiter`], which callers hold as `Arc<dyn Limiter>`.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::{ConnectionTrait, Db, DbError, stmt};

/// How many hits a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub limit: u32,
    pub window_secs: u32,
}

impl Rule {
    pub const fn new(limit: u32, window_secs: u32) -> Self {
        Self { limit, window_secs }
    }

    /// A zero window would divide by zero; it means "one second".
    fn window(self) -> i64 {
        i64::from(self.window_secs.max(1))
    }

    /// The window `now` falls in: its start and end, in Unix seconds.
    fn window_at(self, now: DateTime<Utc>) -> (i64, i64) {
        let w = self.window();
        let start = now.timestamp().div_euclid(w) * w;
        (start, start + w)
    }
}

/// What a limiter answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; the window ends in this many seconds (at least 1).
    Limited {
        retry_after_secs: u64,
    },
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        matches!(self, Decision::Allowed)
    }

    fn from_count(hits: i64, rule: Rule, window_end: i64, now: DateTime<Utc>) -> Self {
        if hits <= i64::from(rule.limit) {
            Decision::Allowed
        } else {
            let left = (window_end - now.timestamp()).max(1);
            Decision::Limited {
                retry_after_secs: u64::try_from(left).unwrap_or(1),
            }
        }
    }
}

/// Counts hits per (scope, key) and says whether a key is over its rule.
pub trait Limiter: Send + Sync + fmt::Debug {
    /// Count one hit and decide: the hit that exceeds the limit is the first refused.
    fn hit<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Decision, DbError>>;

    /// Decide without counting (e.g. before a log-in, where only failures count). Limited once the
    /// window's hits have reached the limit.
    fn peek<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Decision, DbError>>;
}

/// Keys longer than this are stored as their SM3 digest, so a caller-chosen key (a typed number, a
/// device name) cannot make rows arbitrarily large.
const MAX_KEY_CHARS: usize = 128;

fn stored_key(key: &str) -> String {
    if key.chars().count() <= MAX_KEY_CHARS {
        key.to_owned()
    } else {
        format!("sm3:{}", yiwang_kernel::crypto::sm3_hex(key.as_bytes()))
    }
}

/// Every this many hits a node deletes the rows whose window has ended.
const SWEEP_EVERY: u64 = 512;

/// Counters in the database, shared by every node on it.
#[derive(Debug)]
pub struct DbLimiter {
    db: Db,
    hits: AtomicU64,
}

impl DbLimiter {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            hits: AtomicU64::new(0),
        }
    }

    /// Delete the rows whose window has ended; returns how many.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        let conn = self.db.conn();
        let done = conn
            .execute_raw(stmt(
                conn,
                "DELETE FROM rate_limits WHERE expires_at <= $1",
                [now.timestamp().into()],
            ))
            .await?;
        Ok(done.rows_affected())
    }

    async fn hit_inner(
        &self,
        scope: &str,
        key: &str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> Result<Decision, DbError> {
        if self.hits.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            // A failed sweep only delays clean-up; the hit itself must still be answered.
            if let Err(error) = self.sweep(now).await {
                tracing::warn!(%error, "rate limit sweep failed");
            }
        }
        let (start, end) = rule.window_at(now);
        let conn = self.db.conn();
        // One statement: a row from an earlier window restarts at 1, otherwise the count goes up.
        let row = conn
            .query_one_raw(stmt(
                conn,
                "INSERT INTO rate_limits (scope, limit_key, window_start, hits, expires_at)
                 VALUES ($1, $2, $3, 1, $4)
                 ON CONFLICT (scope, limit_key) DO UPDATE SET
                     hits = CASE WHEN rate_limits.window_start = excluded.window_start
                                 THEN rate_limits.hits + 1 ELSE 1 END,
                     window_start = excluded.window_start,
                     expires_at = excluded.expires_at
                 RETURNING hits",
                [
                    scope.into(),
                    stored_key(key).into(),
                    start.into(),
                    end.into(),
                ],
            ))
            .await?
            .ok_or_else(|| DbError::Corrupt("the rate limit upsert returned no row".into()))?;
        let hits: i64 = row.try_get("", "hits")?;
        Ok(Decision::from_count(hits, rule, end, now))
    }

    async fn peek_inner(
        &self,
        scope: &str,
        key: &str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> Result<Decision, DbError> {
        let (start, end) = rule.window_at(now);
        let conn = self.db.conn();
        let hits: i64 = match conn
            .query_one_raw(stmt(
                conn,
                "SELECT hits FROM rate_limits WHERE scope = $1 AND limit_key = $2 AND window_start = $3",
                [scope.into(), stored_key(key).into(), start.into()],
            ))
            .await?
        {
            Some(row) => row.try_get("", "hits")?,
            None => 0,
        };
        Ok(Decision::from_count(hits + 1, rule, end, now))
    }
}

impl Limiter for DbLimiter {
    fn hit<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Decision, DbError>> {
        Box::pin(self.hit_inner(scope, key, rule, now))
    }

    fn peek<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Decision, DbError>> {
        Box::pin(self.peek_inner(scope, key, rule, now))
    }
}

/// Keys kept at most by [`MemoryLimiter`]; beyond it the ended windows are dropped first.
const MAX_MEMORY_KEYS: usize = 100_000;

/// (window start, hits, window end), in Unix seconds.
type WindowCount = (i64, i64, i64);

/// The same rules in one process's memory (tests, single-process tools).
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    counts: Mutex<HashMap<(String, String), WindowCount>>,
}

impl MemoryLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    fn count(&self, scope: &str, key: &str, rule: Rule, now: DateTime<Utc>, add: i64) -> Decision {
        let (start, end) = rule.window_at(now);
        let Ok(mut map) = self.counts.lock() else {
            // A poisoned lock means a panic elsewhere; refusing everyone would be worse than counting nothing.
            return Decision::Allowed;
        };
        let id = (scope.to_owned(), stored_key(key));
        if map.len() >= MAX_MEMORY_KEYS && !map.contains_key(&id) {
            let t = now.timestamp();
            map.retain(|_, (_, _, ends)| *ends > t);
        }
        let entry = map.entry(id).or_insert((start, 0, end));
        if entry.0 != start {
            *entry = (start, 0, end);
        }
        entry.1 += add;
        Decision::from_count(entry.1 + (1 - add), rule, end, now)
    }
}

impl Limiter for MemoryLimiter {
    fn hit<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Decision, DbError>> {
        let decision = self.count(scope, key, rule, now, 1);
        Box::pin(async move { Ok(decision) })
    }

    fn peek<'a>(
        &'a self,
        scope: &'a str,
        key: &'a str,
        rule: Rule,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Decision, DbError>> {
        let decision = self.count(scope, key, rule, now, 0);
        Box::pin(async move { Ok(decision) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn memory_limiter_counts_per_window() {
        let limiter = MemoryLimiter::new();
        let rule = Rule::new(2, 60);
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 10).unwrap();
        assert!(limiter.peek("s", "k", rule, t0).await.unwrap().is_allowed());
        assert!(limiter.hit("s", "k", rule, t0).await.unwrap().is_allowed());
        assert!(limiter.hit("s", "k", rule, t0).await.unwrap().is_allowed());
        assert_eq!(
            limiter.peek("s", "k", rule, t0).await.unwrap(),
            Decision::Limited {
                retry_after_secs: 50
            }
        );
        assert_eq!(
            limiter.hit("s", "k", rule, t0).await.unwrap(),
            Decision::Limited {
                retry_after_secs: 50
            }
        );
        assert!(
            limiter
                .hit("s", "other", rule, t0)
                .await
                .unwrap()
                .is_allowed()
        );
        assert!(limiter.hit("t", "k", rule, t0).await.unwrap().is_allowed());
        let next = t0 + chrono::Duration::seconds(50);
        assert!(
            limiter
                .hit("s", "k", rule, next)
                .await
                .unwrap()
                .is_allowed()
        );
    }

    #[test]
    fn long_keys_are_digested() {
        assert_eq!(stored_key("10.0.0.1"), "10.0.0.1");
        let long = "x".repeat(500);
        assert!(stored_key(&long).starts_with("sm3:"));
        assert_eq!(stored_key(&long).len(), 68);
    }
}
