//! Task rows and the staff inbox.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, Value, parse_ts, stmt, ts};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{PostId, StaffId};
use yiwang_kernel::{Page, PageRequest};

use super::cases::{CaseFilter, filter_sql};
use super::{code, inserted, push_page};
use crate::CaseError;
use crate::model::{
    CaseId, CaseStatus, InboxCounts, InboxEntry, Task, TaskId, TaskKind, TaskStatus, Warning,
};
use crate::workflow::{ResolvedPost, StepKind};
use yiwang_db::{count, get_opt_ts, opt_ts};

const TASK_COLUMNS: &str = "t.id, t.case_id, t.kind, t.step_id, t.step_name, t.step_kind, t.department_id, \
     t.post_id, p.name AS post_name, t.status, t.prev_task_id, t.claimed_by, cs.name AS claimed_by_name, \
     t.opened_at, t.due_at, t.result, t.opinion, t.acted_by, acs.name AS acted_by_name, t.acted_at";
const TASK_FROM: &str = "case_tasks t JOIN posts p ON p.id = t.post_id \
     LEFT JOIN staff cs ON cs.id = t.claimed_by LEFT JOIN staff acs ON acs.id = t.acted_by";

fn task_from_row(row: &QueryResult) -> Result<Task, CaseError> {
    let kind: String = row.try_get("", "kind")?;
    let status: String = row.try_get("", "status")?;
    let step_kind: Option<String> = row.try_get("", "step_kind")?;
    Ok(Task {
        id: TaskId::new(row.try_get("", "id")?),
        case_id: CaseId::new(row.try_get("", "case_id")?),
        kind: code(TaskKind::parse(&kind), "task kind", &kind)?,
        step_id: row.try_get("", "step_id")?,
        step_name: row.try_get("", "step_name")?,
        step_kind: step_kind.as_deref().and_then(StepKind::parse),
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        post_id: PostId::new(row.try_get("", "post_id")?),
        post_name: row.try_get("", "post_name")?,
        status: code(TaskStatus::parse(&status), "task status", &status)?,
        prev_task_id: row
            .try_get::<Option<i64>>("", "prev_task_id")?
            .map(TaskId::new),
        claimed_by: row
            .try_get::<Option<i64>>("", "claimed_by")?
            .map(StaffId::new),
        claimed_by_name: row.try_get("", "claimed_by_name")?,
        opened_at: parse_ts(&row.try_get::<String>("", "opened_at")?)?,
        due_at: get_opt_ts(row, "due_at")?,
        result: row.try_get("", "result")?,
        opinion: row.try_get("", "opinion")?,
        acted_by: row
            .try_get::<Option<i64>>("", "acted_by")?
            .map(StaffId::new),
        acted_by_name: row.try_get("", "acted_by_name")?,
        acted_at: get_opt_ts(row, "acted_at")?,
    })
}

/// A task to open.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub case_id: CaseId,
    pub kind: TaskKind,
    pub step_id: &'a str,
    pub step_name: &'a str,
    pub step_kind: Option<StepKind>,
    pub post: ResolvedPost,
    pub prev: Option<TaskId>,
    pub due_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

pub async fn insert_task<C: ConnectionTrait>(
    conn: &C,
    new: &NewTask<'_>,
) -> Result<TaskId, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO case_tasks (case_id, kind, step_id, step_name, step_kind, department_id, post_id,
                 status, prev_task_id, opened_at, due_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9, $10) RETURNING id",
            [
                new.case_id.get().into(),
                new.kind.code().into(),
                new.step_id.into(),
                new.step_name.into(),
                new.step_kind.map(|k| k.code().to_owned()).into(),
                new.post.department_id.get().into(),
                new.post.post_id.get().into(),
                new.prev.map(TaskId::get).into(),
                ts(new.now).into(),
                opt_ts(new.due_at),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok(TaskId::new(row.try_get("", "id")?))
}

pub async fn task_by_id<C: ConnectionTrait>(
    conn: &C,
    id: TaskId,
) -> Result<Option<Task>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!("SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.id = $1"),
        [id.get().into()],
    ))
    .await?
    .as_ref()
    .map(task_from_row)
    .transpose()
}

pub async fn tasks_of_case<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
) -> Result<Vec<Task>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!("SELECT {TASK_COLUMNS} FROM {TASK_FROM} WHERE t.case_id = $1 ORDER BY t.id"),
        [case.get().into()],
    ))
    .await?
    .iter()
    .map(task_from_row)
    .collect()
}

/// Claim an open task for a staff member (or keep their own claim). False when someone else holds
/// it or it is no longer open.
pub async fn claim_task<C: ConnectionTrait>(
    conn: &C,
    id: TaskId,
    staff: StaffId,
    now: DateTime<Utc>,
) -> Result<bool, CaseError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE case_tasks SET claimed_by = $2, claimed_at = $3
             WHERE id = $1 AND status = 'open' AND (claimed_by IS NULL OR claimed_by = $2)",
            [id.get().into(), staff.get().into(), ts(now).into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Give a claimed task back to the post.
pub async fn release_task<C: ConnectionTrait>(
    conn: &C,
    id: TaskId,
    staff: StaffId,
) -> Result<bool, CaseError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE case_tasks SET claimed_by = NULL, claimed_at = NULL
             WHERE id = $1 AND status = 'open' AND claimed_by = $2",
            [id.get().into(), staff.get().into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Close an open task with its result. False when it was not open any more.
pub async fn close_task<C: ConnectionTrait>(
    conn: &C,
    id: TaskId,
    result: &str,
    opinion: &str,
    staff: Option<StaffId>,
    now: DateTime<Utc>,
) -> Result<bool, CaseError> {
    let r = conn
        .execute_raw(stmt(
            conn,
            "UPDATE case_tasks SET status = 'done', result = $2, opinion = $3, acted_by = $4, acted_at = $5
             WHERE id = $1 AND status = 'open'",
            [
                id.get().into(),
                result.into(),
                opinion.into(),
                staff.map(StaffId::get).into(),
                ts(now).into(),
            ],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Move a task between open and waiting (supplement, special procedure).
pub async fn set_task_status<C: ConnectionTrait>(
    conn: &C,
    id: TaskId,
    from: TaskStatus,
    to: TaskStatus,
) -> Result<bool, CaseError> {
    let r = conn
        .execute_raw(stmt(
            conn,
            "UPDATE case_tasks SET status = $3 WHERE id = $1 AND status = $2",
            [id.get().into(), from.code().into(), to.code().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Cancel every open or waiting task of a case (withdrawn, returned).
pub async fn cancel_tasks<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    now: DateTime<Utc>,
) -> Result<u64, CaseError> {
    let r = conn
        .execute_raw(stmt(
            conn,
            "UPDATE case_tasks SET status = 'cancelled', acted_at = $2
             WHERE case_id = $1 AND status IN ('open', 'waiting')",
            [case.get().into(), ts(now).into()],
        ))
        .await?;
    Ok(r.rows_affected())
}

/// Move the due time of every open or waiting step task of a case by the same amount (the case's
/// clock stood still or was extended). `due_at` values are rewritten by the caller's computation.
pub async fn set_task_due<C: ConnectionTrait>(
    conn: &C,
    id: TaskId,
    due: Option<DateTime<Utc>>,
) -> Result<(), CaseError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE case_tasks SET due_at = $2 WHERE id = $1",
        [id.get().into(), opt_ts(due)],
    ))
    .await?;
    Ok(())
}

/// Filters of an inbox.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    pub warning: Option<Warning>,
    pub text: Option<String>,
    /// Only tasks the staff member has claimed.
    pub mine: bool,
    /// Only tasks of one of the staff member's posts (a tab of the workbench).
    pub post: Option<PostId>,
    /// Only tasks of a step with this name (受理, 审查…).
    pub step: Option<String>,
    /// Only tasks whose case is in this state.
    pub status: Option<CaseStatus>,
    /// Only tasks of this kind (e.g. the verifications of commitments).
    pub kind: Option<TaskKind>,
}

fn inbox_condition(
    posts: &[PostId],
    staff: StaffId,
    filter: &InboxFilter,
    args: &mut Vec<Value>,
) -> String {
    let ids = posts
        .iter()
        .map(|p| p.get().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let ids = if ids.is_empty() { "0".to_owned() } else { ids };
    args.push(staff.get().into());
    let me = args.len();
    let mut sql = format!(
        "t.status = 'open' AND t.post_id IN ({ids}) AND (t.claimed_by IS NULL OR t.claimed_by = ${me})"
    );
    if filter.mine {
        let _ = write!(sql, " AND t.claimed_by = ${me}");
    }
    if let Some(post) = filter.post {
        args.push(post.get().into());
        let _ = write!(sql, " AND t.post_id = ${}", args.len());
    }
    if let Some(step) = filter
        .step
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        args.push(step.into());
        let _ = write!(sql, " AND t.step_name = ${}", args.len());
    }
    if let Some(kind) = filter.kind {
        args.push(kind.code().into());
        let _ = write!(sql, " AND t.kind = ${}", args.len());
    }
    let case_filter = CaseFilter {
        status: filter.status,
        warning: filter.warning,
        text: filter.text.clone(),
        ..CaseFilter::default()
    };
    sql.push_str(&filter_sql(&case_filter, args));
    sql
}

/// Open tasks of a staff member's posts (unclaimed or claimed by them), most urgent first.
pub async fn inbox<C: ConnectionTrait>(
    conn: &C,
    posts: &[PostId],
    staff: StaffId,
    filter: &InboxFilter,
    page: PageRequest,
) -> Result<Page<InboxEntry>, CaseError> {
    let mut args = Vec::new();
    let condition = inbox_condition(posts, staff, filter, &mut args);
    let from = format!("{TASK_FROM} JOIN cases c ON c.id = t.case_id");
    let total = count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM {from} WHERE {condition}"),
        args.clone(),
    )
    .await?;
    let (limit, offset) = push_page(&mut args, page);
    // Overdue first, then red, yellow; within a level the earliest deadline first. The level is
    // ordered by an explicit key, never by collation.
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "SELECT {TASK_COLUMNS}, c.case_no, c.item_name, c.applicant_name, c.status AS case_status,
                     c.warning AS case_warning, c.decision_due_at AS case_decision_due_at,
                     CASE c.warning WHEN 'overdue' THEN 0 WHEN 'red' THEN 1 WHEN 'yellow' THEN 2 ELSE 3 END AS urgency
                 FROM {from} WHERE {condition}
                 ORDER BY urgency, t.due_at IS NULL, t.due_at, t.opened_at, t.id
                 LIMIT ${limit} OFFSET ${offset}"
            ),
            args,
        ))
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let status: String = row.try_get("", "case_status")?;
        let warning: String = row.try_get("", "case_warning")?;
        items.push(InboxEntry {
            task: task_from_row(row)?,
            case_no: row
                .try_get::<Option<String>>("", "case_no")?
                .unwrap_or_default(),
            item_name: row.try_get("", "item_name")?,
            applicant_name: row.try_get("", "applicant_name")?,
            case_status: code(CaseStatus::parse(&status), "status", &status)?,
            case_warning: code(Warning::parse(&warning), "warning", &warning)?,
            decision_due_at: get_opt_ts(row, "case_decision_due_at")?,
        });
    }
    Ok(Page::new(items, total, page))
}

/// The names of the steps of a staff member's open tasks (the workbench's step filter), sorted.
pub async fn inbox_steps<C: ConnectionTrait>(
    conn: &C,
    posts: &[PostId],
    staff: StaffId,
) -> Result<Vec<String>, CaseError> {
    let mut args = Vec::new();
    let condition = inbox_condition(posts, staff, &InboxFilter::default(), &mut args);
    let mut names = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "SELECT DISTINCT t.step_name FROM {TASK_FROM} JOIN cases c ON c.id = t.case_id WHERE {condition}"
            ),
            args,
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "step_name"))
        .collect::<Result<Vec<_>, _>>()?;
    // Sorted here, never by the database's collation.
    names.sort();
    Ok(names)
}

/// Counts for the workbench header.
pub async fn inbox_counts<C: ConnectionTrait>(
    conn: &C,
    posts: &[PostId],
    staff: StaffId,
) -> Result<InboxCounts, CaseError> {
    let mut args = Vec::new();
    let condition = inbox_condition(posts, staff, &InboxFilter::default(), &mut args);
    let row = conn
        .query_one_raw(stmt(
            conn,
            &format!(
                "SELECT COUNT(*) AS open,
                     COALESCE(SUM(CASE WHEN t.claimed_by = $1 THEN 1 ELSE 0 END), 0) AS mine,
                     COALESCE(SUM(CASE WHEN c.warning = 'yellow' THEN 1 ELSE 0 END), 0) AS yellow,
                     COALESCE(SUM(CASE WHEN c.warning = 'red' THEN 1 ELSE 0 END), 0) AS red,
                     COALESCE(SUM(CASE WHEN c.warning = 'overdue' THEN 1 ELSE 0 END), 0) AS overdue
                 FROM {TASK_FROM} JOIN cases c ON c.id = t.case_id WHERE {condition}"
            ),
            args,
        ))
        .await?;
    let Some(row) = row else {
        return Ok(InboxCounts::default());
    };
    let n = |c: &str| -> Result<u64, CaseError> { Ok(row.try_get::<i64>("", c)?.max(0) as u64) };
    Ok(InboxCounts {
        open: n("open")?,
        claimed_by_me: n("mine")?,
        yellow: n("yellow")?,
        red: n("red")?,
        overdue: n("overdue")?,
    })
}
