//! The case data other domains read: the cross-domain boundary.
//!
//! Ratings (好差评) ask who was served by a concluded case and which department, region, item and
//! window answer for it; supervision (督办) asks which department a case belongs to. Each function
//! takes any connection, so the caller reads inside its own open transaction, and returns only the
//! facts asked for (no sealed form answers).

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, DbError, QueryResult, fetch_one, get_opt_ts};
use yiwang_identity::model::{DepartmentId, EnterpriseId, PersonId, StaffId};

use crate::model::CaseId;

/// A case as a service event: who applied, who answers for it, and whether it has ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub id: CaseId,
    /// 办件编号 (none for drafts).
    pub case_no: Option<String>,
    /// The person who applied: the applicant, or the agent who applied for an enterprise.
    pub applicant: PersonId,
    pub enterprise: Option<EnterpriseId>,
    /// The lead department and its region code.
    pub department: DepartmentId,
    pub region_code: String,
    pub item_id: i64,
    pub item_name: String,
    /// The window clerk who registered a counter application.
    pub registered_by: Option<StaffId>,
    /// Status code (`concluded`, `in_review`, …).
    pub status: String,
    /// Outcome code when decided (`granted`, `denied`, …).
    pub outcome: Option<String>,
    pub concluded_at: Option<DateTime<Utc>>,
}

impl CaseFacts {
    /// 办结: the case has reached its end with a result the applicant received.
    pub fn is_concluded(&self) -> bool {
        self.status == "concluded"
    }
}

fn facts_from_row(row: &QueryResult) -> Result<CaseFacts, DbError> {
    Ok(CaseFacts {
        id: CaseId::new(row.try_get("", "id")?),
        case_no: row.try_get("", "case_no")?,
        applicant: PersonId::new(row.try_get("", "applicant_person_id")?),
        enterprise: row
            .try_get::<Option<i64>>("", "enterprise_id")?
            .map(EnterpriseId::new),
        department: DepartmentId::new(row.try_get("", "department_id")?),
        region_code: row.try_get("", "region_code")?,
        item_id: row.try_get("", "item_id")?,
        item_name: row.try_get("", "item_name")?,
        registered_by: row
            .try_get::<Option<i64>>("", "registered_by")?
            .map(StaffId::new),
        status: row.try_get("", "status")?,
        outcome: row.try_get("", "outcome")?,
        concluded_at: get_opt_ts(row, "concluded_at")?,
    })
}

/// The facts of one case, or `None` when there is no such case.
pub async fn case_facts_in<C: ConnectionTrait>(
    conn: &C,
    id: CaseId,
) -> Result<Option<CaseFacts>, DbError> {
    fetch_one(
        conn,
        "SELECT c.id, c.case_no, c.applicant_person_id, c.enterprise_id, c.department_id,
                d.region_code, c.item_id, c.item_name, c.registered_by, c.status, c.outcome,
                c.concluded_at
         FROM cases c JOIN departments d ON d.id = c.department_id
         WHERE c.id = $1",
        [id.get().into()],
        facts_from_row,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Aggregates for the performance indicators (绩效)

/// How case aggregates are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateBy {
    /// By the lead department's code.
    Department,
    /// By the lead department's region code.
    Region,
    /// By the item's implementation code.
    Item,
}

/// The cases counted by [`case_aggregates_in`]: instants `[from, until)`, departments whose region
/// code starts with `region_prefix` (a `LIKE` pattern such as `3401%`), optionally one department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateScope {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub region_prefix: String,
    pub department: Option<DepartmentId>,
}

/// Case counts of one group; every figure is an SQL aggregate over the case rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseAggregate {
    pub key: String,
    pub name: String,
    /// Submitted within the range (`submitted_at`).
    pub received: u64,
    /// Of those, applied online (`channel = 'online'`).
    pub online: u64,
    /// Of those, 即办件 (`instant = 1`).
    pub instant: u64,
    /// 办结 within the range (`status = 'concluded'`, `concluded_at`).
    pub concluded: u64,
    /// Of those, decided by the decision deadline (`decided_at ≤ decision_due_at`, or no deadline).
    pub on_time: u64,
    /// Of those, without any 补正 (no history line into `supplement`).
    pub first_time: u64,
    /// Of those, with both `accepted_at` and `decision_due_at` (the ones timed below).
    pub timed: u64,
    /// Σ (`decided_at` − `accepted_at`) over the timed ones, in seconds.
    pub handling_secs: i64,
    /// Σ (`decision_due_at` − `accepted_at`) over the timed ones, in seconds: the time allowed.
    pub allowed_secs: i64,
}

/// Whole seconds from instant column `a` to instant column `b` (both `yiwang_db::ts` text). The
/// one expression that differs between the backends: SQLite's `julianday`, PostgreSQL's epoch.
fn seconds_between<C: ConnectionTrait>(conn: &C, a: &str, b: &str) -> String {
    match yiwang_db::backend_of(conn) {
        yiwang_db::Backend::Sqlite => {
            format!("CAST(ROUND((julianday({b}) - julianday({a})) * 86400) AS BIGINT)")
        }
        yiwang_db::Backend::Postgres => format!(
            "CAST(ROUND(EXTRACT(EPOCH FROM (CAST({b} AS TIMESTAMPTZ) - CAST({a} AS TIMESTAMPTZ)))) AS BIGINT)"
        ),
    }
}

fn key_columns(by: AggregateBy) -> (&'static str, &'static str) {
    match by {
        AggregateBy::Department => ("d.code", "d.name"),
        AggregateBy::Region => ("d.region_code", "COALESCE(g.name, d.region_code)"),
        AggregateBy::Item => ("c.item_code", "c.item_name"),
    }
}

fn n(row: &QueryResult, column: &str) -> Result<u64, DbError> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0).max(0) as u64)
}

/// Case counts per group: received (with online and 即办件) and concluded (on time, without 补正,
/// handling and allowed seconds) within the scope — two grouped queries, one row per group that
/// has any, by key. Reads every case of the range once (O(cases in range)).
pub async fn case_aggregates_in<C: ConnectionTrait>(
    conn: &C,
    by: AggregateBy,
    scope: &AggregateScope,
) -> Result<Vec<CaseAggregate>, DbError> {
    let (key, name) = key_columns(by);
    let dept = scope.department.map_or(0, DepartmentId::get);
    let args = || {
        [
            yiwang_db::ts(scope.from).into(),
            yiwang_db::ts(scope.until).into(),
            scope.region_prefix.clone().into(),
            dept.into(),
        ]
    };
    let from = "FROM cases c JOIN departments d ON d.id = c.department_id
         LEFT JOIN regions g ON g.code = d.region_code";
    let within = "d.region_code LIKE $3 AND ($4 = 0 OR c.department_id = $4)";
    let mut groups: std::collections::BTreeMap<String, CaseAggregate> =
        std::collections::BTreeMap::new();
    let received = yiwang_db::fetch_all(
        conn,
        &format!(
            "SELECT {key} AS key, MAX({name}) AS name, COUNT(*) AS received,
                 SUM(CASE WHEN c.channel = 'online' THEN 1 ELSE 0 END) AS online,
                 SUM(CASE WHEN c.instant = 1 THEN 1 ELSE 0 END) AS instant
             {from}
             WHERE c.submitted_at >= $1 AND c.submitted_at < $2 AND {within}
             GROUP BY {key}"
        ),
        args(),
        |row| {
            Ok::<_, DbError>(CaseAggregate {
                key: row.try_get("", "key")?,
                name: row.try_get("", "name")?,
                received: n(row, "received")?,
                online: n(row, "online")?,
                instant: n(row, "instant")?,
                ..CaseAggregate::default()
            })
        },
    )
    .await?;
    for g in received {
        groups.insert(g.key.clone(), g);
    }
    let handling = seconds_between(conn, "c.accepted_at", "c.decided_at");
    let allowed = seconds_between(conn, "c.accepted_at", "c.decision_due_at");
    let concluded = yiwang_db::fetch_all(
        conn,
        &format!(
            "SELECT {key} AS key, MAX({name}) AS name, COUNT(*) AS concluded,
                 SUM(CASE WHEN c.decision_due_at IS NULL
                     OR COALESCE(c.decided_at, c.concluded_at) <= c.decision_due_at
                     THEN 1 ELSE 0 END) AS on_time,
                 SUM(CASE WHEN NOT EXISTS (SELECT 1 FROM case_events e
                     WHERE e.case_id = c.id AND e.to_status = 'supplement')
                     THEN 1 ELSE 0 END) AS first_time,
                 SUM(CASE WHEN c.accepted_at IS NOT NULL AND c.decided_at IS NOT NULL
                     AND c.decision_due_at IS NOT NULL THEN 1 ELSE 0 END) AS timed,
                 CAST(SUM(CASE WHEN c.accepted_at IS NOT NULL AND c.decided_at IS NOT NULL
                     AND c.decision_due_at IS NOT NULL THEN {handling} ELSE 0 END) AS BIGINT)
                     AS handling_secs,
                 CAST(SUM(CASE WHEN c.accepted_at IS NOT NULL AND c.decided_at IS NOT NULL
                     AND c.decision_due_at IS NOT NULL THEN {allowed} ELSE 0 END) AS BIGINT)
                     AS allowed_secs
             {from}
             WHERE c.status = 'concluded' AND c.concluded_at >= $1 AND c.concluded_at < $2
                 AND {within}
             GROUP BY {key}"
        ),
        args(),
        |row| {
            Ok::<_, DbError>((
                row.try_get::<String>("", "key")?,
                row.try_get::<String>("", "name")?,
                [
                    n(row, "concluded")?,
                    n(row, "on_time")?,
                    n(row, "first_time")?,
                    n(row, "timed")?,
                ],
                row.try_get::<Option<i64>>("", "handling_secs")?
                    .unwrap_or(0),
                row.try_get::<Option<i64>>("", "allowed_secs")?.unwrap_or(0),
            ))
        },
    )
    .await?;
    for (key, name, [concluded, on_time, first_time, timed], handling, allowed) in concluded {
        let g = groups.entry(key.clone()).or_insert_with(|| CaseAggregate {
            key,
            name,
            ..CaseAggregate::default()
        });
        g.concluded = concluded;
        g.on_time = on_time;
        g.first_time = first_time;
        g.timed = timed;
        g.handling_secs = handling;
        g.allowed_secs = allowed;
    }
    Ok(groups.into_values().collect())
}

// ---------------------------------------------------------------------------------------------
// The people served (survey invitations)

/// A service item as cases name it: the name in effect (its implementation code before any
/// publication) and its department, or `None` when there is no such item.
pub async fn item_department_in<C: ConnectionTrait>(
    conn: &C,
    item_id: i64,
) -> Result<Option<(String, DepartmentId)>, DbError> {
    fetch_one(
        conn,
        "SELECT COALESCE(v.name, i.impl_code) AS name, i.department_id
         FROM catalog_items i LEFT JOIN catalog_item_versions v ON v.id = i.current_version_id
         WHERE i.id = $1",
        [item_id.into()],
        |row| {
            Ok::<_, DbError>((
                row.try_get("", "name")?,
                DepartmentId::new(row.try_get("", "department_id")?),
            ))
        },
    )
    .await
}

/// The distinct people whose cases of `item_id` concluded in `[from, until)`, in id order, at most
/// `limit` of them (the caller asks for one more than it accepts to tell "too many").
pub async fn people_served_by_item_in<C: ConnectionTrait>(
    conn: &C,
    item_id: i64,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<PersonId>, DbError> {
    yiwang_db::fetch_all(
        conn,
        "SELECT DISTINCT applicant_person_id AS person_id FROM cases
         WHERE item_id = $1 AND status = 'concluded' AND concluded_at >= $2 AND concluded_at < $3
         ORDER BY applicant_person_id LIMIT $4",
        [
            item_id.into(),
            yiwang_db::ts(from).into(),
            yiwang_db::ts(until).into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
        |row| Ok::<_, DbError>(PersonId::new(row.try_get("", "person_id")?)),
    )
    .await
}
