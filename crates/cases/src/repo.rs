//! All SQL of cases. Rows never leave this module; callers get model types.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_catalog::model::{ItemId, VersionId};
use yiwang_db::{ConnectionTrait, QueryResult, Value, parse_ts, stmt, ts};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId, PostId, StaffId};
use yiwang_kernel::{Page, PageRequest};

use crate::CaseError;
use crate::model::{
    Applicant, Case, CaseEvent, CaseId, CaseMaterial, CaseStatus, Channel, DepartmentWarnings,
    Disclosure, ExtensionState, FileId, InboxCounts, InboxEntry, MaterialFile, Outcome, Task,
    TaskId, TaskKind, TaskStatus, Verification, Warning, Workflow, WorkflowId,
};
use crate::workflow::{PostRef, ResolvedPost, StepKind, WorkflowDef};

fn opt_ts(row: &QueryResult, column: &str) -> Result<Option<DateTime<Utc>>, CaseError> {
    Ok(row
        .try_get::<Option<String>>("", column)?
        .as_deref()
        .map(parse_ts)
        .transpose()?)
}

fn opt_ts_value(at: Option<DateTime<Utc>>) -> Value {
    at.map(ts).into()
}

/// The row an `INSERT … RETURNING` gave back.
fn inserted(row: Option<QueryResult>) -> Result<QueryResult, CaseError> {
    row.ok_or_else(|| CaseError::Corrupt("insert returned no row".to_owned()))
}

/// `SELECT COUNT(*) AS n …` as a number.
async fn count<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    args: Vec<Value>,
) -> Result<u64, CaseError> {
    let n = conn
        .query_one_raw(stmt(conn, sql, args))
        .await?
        .map_or(Ok(0), |r| r.try_get::<i64>("", "n"))?;
    Ok(n.max(0) as u64)
}

/// Append a page's LIMIT and OFFSET values; returns their placeholder numbers.
fn push_page(args: &mut Vec<Value>, page: PageRequest) -> (usize, usize) {
    args.push((page.limit() as i64).into());
    args.push((page.offset() as i64).into());
    (args.len() - 1, args.len())
}

fn code<T>(parsed: Option<T>, what: &str, text: &str) -> Result<T, CaseError> {
    parsed.ok_or_else(|| CaseError::Corrupt(format!("unknown {what} {text:?}")))
}

// ---------------------------------------------------------------------------------------------
// Workflows and posts

/// Resolve `department-code/post-code` names to posts.
#[tracing::instrument(skip_all, err)]
pub async fn resolve_posts<C: ConnectionTrait>(
    conn: &C,
    refs: &[PostRef],
) -> Result<Vec<(PostRef, ResolvedPost)>, CaseError> {
    let mut out = Vec::new();
    for r in refs {
        let row = conn
            .query_one_raw(stmt(
                conn,
                "SELECT p.id, p.department_id FROM posts p JOIN departments d ON d.id = p.department_id
                 WHERE d.code = $1 AND p.code = $2",
                [r.department.as_str().into(), r.post.as_str().into()],
            ))
            .await?;
        if let Some(row) = row {
            out.push((
                r.clone(),
                ResolvedPost {
                    department_id: DepartmentId::new(row.try_get("", "department_id")?),
                    post_id: PostId::new(row.try_get("", "id")?),
                },
            ));
        }
    }
    Ok(out)
}

/// The names of posts (`department-code/post-code`) and of their departments, for showing a
/// definition; posts that do not exist are left out.
pub async fn post_names<C: ConnectionTrait>(
    conn: &C,
    refs: &[PostRef],
) -> Result<Vec<(PostRef, String, String)>, CaseError> {
    let mut out = Vec::new();
    for r in refs {
        let row = conn
            .query_one_raw(stmt(
                conn,
                "SELECT p.name, d.short_name FROM posts p JOIN departments d ON d.id = p.department_id
                 WHERE d.code = $1 AND p.code = $2",
                [r.department.as_str().into(), r.post.as_str().into()],
            ))
            .await?;
        if let Some(row) = row {
            out.push((
                r.clone(),
                row.try_get("", "name")?,
                row.try_get("", "short_name")?,
            ));
        }
    }
    Ok(out)
}

/// The name of a post, for tasks.
pub async fn post_name<C: ConnectionTrait>(conn: &C, post: PostId) -> Result<String, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT name FROM posts WHERE id = $1",
            [post.get().into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<String>("", "name"))
        .transpose()?
        .unwrap_or_default())
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_workflow<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
    definition: &WorkflowDef,
    now: DateTime<Utc>,
    by: &str,
) -> Result<(WorkflowId, u32), CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT COALESCE(MAX(version_no), 0) AS n FROM case_workflows WHERE item_id = $1",
            [item.get().into()],
        ))
        .await?;
    let next = row.map_or(Ok(0), |r| r.try_get::<i64>("", "n"))? + 1;
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO case_workflows (item_id, version_no, definition, published_at, published_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            [
                item.get().into(),
                next.into(),
                definition.to_json().into(),
                ts(now).into(),
                by.into(),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok((WorkflowId::new(row.try_get("", "id")?), next as u32))
}

fn workflow_from_row(row: &QueryResult) -> Result<Workflow, CaseError> {
    let text: String = row.try_get("", "definition")?;
    Ok(Workflow {
        id: WorkflowId::new(row.try_get("", "id")?),
        item_id: ItemId::new(row.try_get("", "item_id")?),
        version_no: row.try_get::<i64>("", "version_no")? as u32,
        definition: WorkflowDef::from_json(&text)
            .map_err(|p| CaseError::Corrupt(format!("stored workflow: {}", p.message)))?,
        published_at: parse_ts(&row.try_get::<String>("", "published_at")?)?,
        published_by: row.try_get("", "published_by")?,
    })
}

const WORKFLOW_COLUMNS: &str = "id, item_id, version_no, definition, published_at, published_by";

pub async fn latest_workflow<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<Option<Workflow>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!(
            "SELECT {WORKFLOW_COLUMNS} FROM case_workflows WHERE item_id = $1
             ORDER BY version_no DESC LIMIT 1"
        ),
        [item.get().into()],
    ))
    .await?
    .as_ref()
    .map(workflow_from_row)
    .transpose()
}

pub async fn workflow_by_id<C: ConnectionTrait>(
    conn: &C,
    id: WorkflowId,
) -> Result<Option<Workflow>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!("SELECT {WORKFLOW_COLUMNS} FROM case_workflows WHERE id = $1"),
        [id.get().into()],
    ))
    .await?
    .as_ref()
    .map(workflow_from_row)
    .transpose()
}

pub async fn workflows_of_item<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<Vec<Workflow>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT {WORKFLOW_COLUMNS} FROM case_workflows WHERE item_id = $1 ORDER BY version_no DESC"
        ),
        [item.get().into()],
    ))
    .await?
    .iter()
    .map(workflow_from_row)
    .collect()
}

/// Items that have a workflow, with the newest version number (for the admin list).
pub async fn items_with_workflows<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(ItemId, u32)>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        "SELECT item_id, MAX(version_no) AS n FROM case_workflows GROUP BY item_id ORDER BY item_id",
        [],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok((
            ItemId::new(r.try_get("", "item_id")?),
            r.try_get::<i64>("", "n")? as u32,
        ))
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Case numbers

/// The next number of a prefix (one atomic upsert: concurrent submissions never share a number).
pub async fn next_sequence<C: ConnectionTrait>(conn: &C, prefix: &str) -> Result<i64, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO case_sequences (prefix, last_value) VALUES ($1, 1)
             ON CONFLICT (prefix) DO UPDATE SET last_value = case_sequences.last_value + 1
             RETURNING last_value",
            [prefix.into()],
        ))
        .await?
        .ok_or_else(|| CaseError::Corrupt("sequence upsert returned nothing".to_owned()))?;
    Ok(row.try_get("", "last_value")?)
}

// ---------------------------------------------------------------------------------------------
// Cases

const CASE_COLUMNS: &str = "c.id, c.public_id, c.case_no, c.query_code, c.item_id, c.item_version_id, c.workflow_id, \
     c.department_id, d.name AS department_name, c.item_name, c.item_code, c.applicant_person_id, \
     c.enterprise_id, c.applicant_name, c.applicant_masked, c.channel, c.registered_by, c.status, \
     c.outcome, c.warning, c.instant, c.contact_email, c.commitment_signed, c.verification, \
     c.verify_due_at, c.created_at, c.submitted_at, c.accepted_at, c.decided_at, c.concluded_at, \
     c.accept_due_at, c.decision_due_at, c.supplement_due_at, c.suspended_at, c.special_until, \
     c.extension, c.extension_days, c.extension_reason, c.extension_requested_by, c.decision_note, \
     c.revision, c.updated_at";
const CASE_FROM: &str = "cases c JOIN departments d ON d.id = c.department_id";

fn case_from_row(row: &QueryResult) -> Result<Case, CaseError> {
    let status: String = row.try_get("", "status")?;
    let outcome: Option<String> = row.try_get("", "outcome")?;
    let warning: String = row.try_get("", "warning")?;
    let channel: String = row.try_get("", "channel")?;
    let verification: String = row.try_get("", "verification")?;
    let extension: String = row.try_get("", "extension")?;
    let special_until: Option<String> = row.try_get("", "special_until")?;
    Ok(Case {
        id: CaseId::new(row.try_get("", "id")?),
        public_id: row.try_get("", "public_id")?,
        case_no: row.try_get("", "case_no")?,
        query_code: row.try_get("", "query_code")?,
        item_id: ItemId::new(row.try_get("", "item_id")?),
        item_version_id: VersionId::new(row.try_get("", "item_version_id")?),
        workflow_id: WorkflowId::new(row.try_get("", "workflow_id")?),
        item_name: row.try_get("", "item_name")?,
        item_code: row.try_get("", "item_code")?,
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        department_name: row.try_get("", "department_name")?,
        applicant: Applicant {
            person_id: PersonId::new(row.try_get("", "applicant_person_id")?),
            enterprise_id: row
                .try_get::<Option<i64>>("", "enterprise_id")?
                .map(EnterpriseId::new),
            name: row.try_get("", "applicant_name")?,
            id_masked: row.try_get("", "applicant_masked")?,
        },
        channel: code(Channel::parse(&channel), "channel", &channel)?,
        status: code(CaseStatus::parse(&status), "status", &status)?,
        outcome: outcome
            .as_deref()
            .map(|o| code(Outcome::parse(o), "outcome", o))
            .transpose()?,
        warning: code(Warning::parse(&warning), "warning", &warning)?,
        instant: row.try_get::<i64>("", "instant")? != 0,
        commitment_signed: row.try_get::<i64>("", "commitment_signed")? != 0,
        verification: code(
            Verification::parse(&verification),
            "verification",
            &verification,
        )?,
        contact_email: row.try_get("", "contact_email")?,
        created_at: parse_ts(&row.try_get::<String>("", "created_at")?)?,
        submitted_at: opt_ts(row, "submitted_at")?,
        accepted_at: opt_ts(row, "accepted_at")?,
        decided_at: opt_ts(row, "decided_at")?,
        concluded_at: opt_ts(row, "concluded_at")?,
        accept_due_at: opt_ts(row, "accept_due_at")?,
        decision_due_at: opt_ts(row, "decision_due_at")?,
        supplement_due_at: opt_ts(row, "supplement_due_at")?,
        suspended_at: opt_ts(row, "suspended_at")?,
        special_until: special_until
            .as_deref()
            .map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| CaseError::Corrupt(format!("special_until {d:?}")))
            })
            .transpose()?,
        extension: code(ExtensionState::parse(&extension), "extension", &extension)?,
        extension_days: row.try_get::<i64>("", "extension_days")? as u32,
        extension_reason: row.try_get("", "extension_reason")?,
        extension_requested_by: row
            .try_get::<Option<i64>>("", "extension_requested_by")?
            .map(StaffId::new),
        verify_due_at: opt_ts(row, "verify_due_at")?,
        decision_note: row.try_get("", "decision_note")?,
        registered_by: row
            .try_get::<Option<i64>>("", "registered_by")?
            .map(StaffId::new),
        revision: row.try_get("", "revision")?,
        updated_at: parse_ts(&row.try_get::<String>("", "updated_at")?)?,
    })
}

/// A new case row (a draft, or submitted at once).
#[derive(Debug, Clone)]
pub struct NewCase<'a> {
    pub public_id: &'a str,
    pub item_id: ItemId,
    pub item_version_id: VersionId,
    pub workflow_id: WorkflowId,
    pub department_id: DepartmentId,
    pub item_name: &'a str,
    pub item_code: &'a str,
    pub applicant: &'a Applicant,
    pub channel: Channel,
    pub registered_by: Option<StaffId>,
    pub instant: bool,
    pub form_sealed: &'a str,
    pub contact_email: &'a str,
    pub commitment_signed: bool,
    pub now: DateTime<Utc>,
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_case<C: ConnectionTrait>(
    conn: &C,
    new: &NewCase<'_>,
) -> Result<CaseId, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO cases (item_id, item_version_id, workflow_id, department_id, item_name, item_code,
                 applicant_person_id, enterprise_id, applicant_name, applicant_masked, channel, registered_by,
                 status, instant, form_sealed, contact_email, commitment_signed, created_at, updated_at, public_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'draft', $13, $14, $15, $16, $17, $17, $18)
             RETURNING id",
            [
                new.item_id.get().into(),
                new.item_version_id.get().into(),
                new.workflow_id.get().into(),
                new.department_id.get().into(),
                new.item_name.into(),
                new.item_code.into(),
                new.applicant.person_id.get().into(),
                new.applicant.enterprise_id.map(EnterpriseId::get).into(),
                new.applicant.name.as_str().into(),
                new.applicant.id_masked.as_str().into(),
                new.channel.code().into(),
                new.registered_by.map(StaffId::get).into(),
                i64::from(new.instant).into(),
                new.form_sealed.into(),
                new.contact_email.into(),
                i64::from(new.commitment_signed).into(),
                ts(new.now).into(),
                new.public_id.into(),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok(CaseId::new(row.try_get("", "id")?))
}

/// The case matching one column's value.
async fn one_case<C: ConnectionTrait>(
    conn: &C,
    column: &str,
    value: Value,
) -> Result<Option<Case>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!("SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.{column} = $1"),
        [value],
    ))
    .await?
    .as_ref()
    .map(case_from_row)
    .transpose()
}

pub async fn case_by_id<C: ConnectionTrait>(
    conn: &C,
    id: CaseId,
) -> Result<Option<Case>, CaseError> {
    one_case(conn, "id", id.get().into()).await
}

pub async fn case_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<Case>, CaseError> {
    one_case(conn, "public_id", public_id.into()).await
}

pub async fn case_by_no<C: ConnectionTrait>(
    conn: &C,
    case_no: &str,
) -> Result<Option<Case>, CaseError> {
    one_case(conn, "case_no", case_no.into()).await
}

/// The sealed answers of a case.
pub async fn case_form<C: ConnectionTrait>(conn: &C, id: CaseId) -> Result<String, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT form_sealed FROM cases WHERE id = $1",
            [id.get().into()],
        ))
        .await?
        .ok_or(CaseError::CaseNotFound)?;
    Ok(row.try_get("", "form_sealed")?)
}

/// Replace a draft's answers.
pub async fn set_case_form<C: ConnectionTrait>(
    conn: &C,
    id: CaseId,
    sealed: &str,
    contact_email: &str,
    commitment_signed: bool,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE cases SET form_sealed = $2, contact_email = $3, commitment_signed = $4, updated_at = $5,
             revision = revision + 1
         WHERE id = $1",
        [
            id.get().into(),
            sealed.into(),
            contact_email.into(),
            i64::from(commitment_signed).into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Write every mutable field of `case` if nobody changed it since it was read (`case.revision`).
/// False when someone did: the caller's transaction must be abandoned.
#[tracing::instrument(skip_all, err)]
pub async fn save_case<C: ConnectionTrait>(
    conn: &C,
    case: &Case,
    now: DateTime<Utc>,
) -> Result<bool, CaseError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE cases SET case_no = $3, query_code = $4, status = $5, outcome = $6, warning = $7,
                 verification = $8, verify_due_at = $9, submitted_at = $10, accepted_at = $11, decided_at = $12,
                 concluded_at = $13, accept_due_at = $14, decision_due_at = $15, supplement_due_at = $16,
                 suspended_at = $17, special_until = $18, extension = $19, extension_days = $20,
                 extension_reason = $21, extension_requested_by = $22, decision_note = $23, updated_at = $24,
                 revision = revision + 1
             WHERE id = $1 AND revision = $2",
            [
                case.id.get().into(),
                case.revision.into(),
                case.case_no.clone().into(),
                case.query_code.clone().into(),
                case.status.code().into(),
                case.outcome.map(|o| o.code().to_owned()).into(),
                case.warning.code().into(),
                case.verification.code().into(),
                opt_ts_value(case.verify_due_at),
                opt_ts_value(case.submitted_at),
                opt_ts_value(case.accepted_at),
                opt_ts_value(case.decided_at),
                opt_ts_value(case.concluded_at),
                opt_ts_value(case.accept_due_at),
                opt_ts_value(case.decision_due_at),
                opt_ts_value(case.supplement_due_at),
                opt_ts_value(case.suspended_at),
                case.special_until.map(|d| d.to_string()).into(),
                case.extension.code().into(),
                i64::from(case.extension_days).into(),
                case.extension_reason.as_str().into(),
                case.extension_requested_by.map(StaffId::get).into(),
                case.decision_note.as_str().into(),
                ts(now).into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Set the warning level if it changed (one conditional statement, so two sweeping nodes record a
/// change once). True when this call changed it.
pub async fn set_warning<C: ConnectionTrait>(
    conn: &C,
    id: CaseId,
    from: Warning,
    to: Warning,
    now: DateTime<Utc>,
) -> Result<bool, CaseError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE cases SET warning = $3, updated_at = $4, revision = revision + 1
             WHERE id = $1 AND warning = $2",
            [
                id.get().into(),
                from.code().into(),
                to.code().into(),
                ts(now).into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Filters of case lists.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<CaseStatus>,
    pub warning: Option<Warning>,
    /// Case number prefix or applicant / item name fragment.
    pub text: Option<String>,
    pub item: Option<ItemId>,
}

fn filter_sql(filter: &CaseFilter, args: &mut Vec<Value>) -> String {
    let mut sql = String::new();
    if let Some(status) = filter.status {
        args.push(status.code().into());
        let _ = write!(sql, " AND c.status = ${}", args.len());
    }
    if let Some(warning) = filter.warning {
        args.push(warning.code().into());
        let _ = write!(sql, " AND c.warning = ${}", args.len());
    }
    if let Some(item) = filter.item {
        args.push(item.get().into());
        let _ = write!(sql, " AND c.item_id = ${}", args.len());
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let escaped = text
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        args.push(format!("{escaped}%").into());
        let prefix = args.len();
        args.push(format!("%{escaped}%").into());
        let contains = args.len();
        let _ = write!(
            sql,
            " AND (c.case_no LIKE ${prefix} ESCAPE '\\' OR c.applicant_name LIKE ${contains} ESCAPE '\\' \
               OR c.item_name LIKE ${contains} ESCAPE '\\')"
        );
    }
    sql
}

async fn page_of<C: ConnectionTrait>(
    conn: &C,
    condition: &str,
    mut args: Vec<Value>,
    filter: &CaseFilter,
    order: &str,
    page: PageRequest,
) -> Result<Page<Case>, CaseError> {
    let extra = filter_sql(filter, &mut args);
    let total = count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM {CASE_FROM} WHERE {condition}{extra}"),
        args.clone(),
    )
    .await?;
    let (limit, offset) = push_page(&mut args, page);
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE {condition}{extra}
                 ORDER BY {order} LIMIT ${limit} OFFSET ${offset}"
            ),
            args,
        ))
        .await?;
    let items = rows
        .iter()
        .map(case_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(items, total, page))
}

/// A person's cases: their own and those of enterprises they represent or act for.
pub async fn cases_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    filter: &CaseFilter,
    page: PageRequest,
) -> Result<Page<Case>, CaseError> {
    page_of(
        conn,
        "(c.applicant_person_id = $1 OR c.enterprise_id IN (
             SELECT e.id FROM enterprises e WHERE e.legal_representative_id = $1
             UNION SELECT a.enterprise_id FROM enterprise_agents a WHERE a.person_id = $1 AND a.revoked_at IS NULL))",
        vec![person.get().into()],
        filter,
        "c.created_at DESC, c.id DESC",
        page,
    )
    .await
}

/// Cases a set of departments works on (as the lead department or through any task).
pub async fn cases_of_departments<C: ConnectionTrait>(
    conn: &C,
    departments: &[DepartmentId],
    filter: &CaseFilter,
    page: PageRequest,
) -> Result<Page<Case>, CaseError> {
    let ids = departments
        .iter()
        .map(|d| d.get().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let ids = if ids.is_empty() { "0".to_owned() } else { ids };
    page_of(
        conn,
        &format!(
            "c.status <> 'draft' AND (c.department_id IN ({ids}) OR c.id IN (
                 SELECT t.case_id FROM case_tasks t WHERE t.department_id IN ({ids})))"
        ),
        vec![],
        filter,
        "c.submitted_at DESC, c.id DESC",
        page,
    )
    .await
}

/// The condition of warned cases (电子监察) within departments of a region (code prefix `$1`).
const WARNED: &str = "c.warning <> 'none' AND c.status IN ('submitted', 'in_review', 'supplement')
           AND c.department_id IN (SELECT id FROM departments WHERE region_code LIKE $1)";

/// Cases whose deadline is near or past (电子监察), within departments of a region (code prefix),
/// optionally of one department.
pub async fn warned_cases<C: ConnectionTrait>(
    conn: &C,
    region_prefix: &str,
    department: Option<DepartmentId>,
    filter: &CaseFilter,
    page: PageRequest,
) -> Result<Page<Case>, CaseError> {
    let mut condition = WARNED.to_owned();
    let mut args: Vec<Value> = vec![format!("{region_prefix}%").into()];
    if let Some(department) = department {
        args.push(department.get().into());
        let _ = write!(condition, " AND c.department_id = ${}", args.len());
    }
    page_of(
        conn,
        &condition,
        args,
        filter,
        // Overdue first, then red, then yellow (an explicit key, never collation).
        "CASE c.warning WHEN 'overdue' THEN 0 WHEN 'red' THEN 1 ELSE 2 END, c.decision_due_at, c.id",
        page,
    )
    .await
}

/// Warned cases counted per department of a region, by level.
pub async fn warned_counts<C: ConnectionTrait>(
    conn: &C,
    region_prefix: &str,
) -> Result<Vec<DepartmentWarnings>, CaseError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "SELECT c.department_id, MAX(d.name) AS department_name,
                     COALESCE(SUM(CASE WHEN c.warning = 'yellow' THEN 1 ELSE 0 END), 0) AS yellow,
                     COALESCE(SUM(CASE WHEN c.warning = 'red' THEN 1 ELSE 0 END), 0) AS red,
                     COALESCE(SUM(CASE WHEN c.warning = 'overdue' THEN 1 ELSE 0 END), 0) AS overdue
                 FROM {CASE_FROM} WHERE {WARNED}
                 GROUP BY c.department_id ORDER BY c.department_id"
            ),
            [format!("{region_prefix}%").into()],
        ))
        .await?;
    let n = |row: &QueryResult, c: &str| -> Result<u64, CaseError> {
        Ok(row.try_get::<i64>("", c)?.max(0) as u64)
    };
    rows.iter()
        .map(|row| {
            Ok(DepartmentWarnings {
                department_id: DepartmentId::new(row.try_get("", "department_id")?),
                department_name: row.try_get("", "department_name")?,
                yellow: n(row, "yellow")?,
                red: n(row, "red")?,
                overdue: n(row, "overdue")?,
            })
        })
        .collect()
}

/// Grants on commitment still to be verified.
pub async fn pending_verifications<C: ConnectionTrait>(
    conn: &C,
    region_prefix: &str,
    page: PageRequest,
) -> Result<Page<Case>, CaseError> {
    page_of(
        conn,
        "c.verification = 'pending'
           AND c.department_id IN (SELECT id FROM departments WHERE region_code LIKE $1)",
        vec![format!("{region_prefix}%").into()],
        &CaseFilter::default(),
        "c.verify_due_at, c.id",
        page,
    )
    .await
}

/// Cases whose clock runs: the sweep checks their warning level.
pub async fn running_cases<C: ConnectionTrait>(
    conn: &C,
    after: CaseId,
    limit: u32,
) -> Result<Vec<Case>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT {CASE_COLUMNS} FROM {CASE_FROM}
             WHERE c.status IN ('submitted', 'in_review', 'supplement') AND c.id > $1
             ORDER BY c.id LIMIT $2"
        ),
        [after.get().into(), i64::from(limit).into()],
    ))
    .await?
    .iter()
    .map(case_from_row)
    .collect()
}

/// Granted decisions for public disclosure, newest first.
pub async fn disclosures<C: ConnectionTrait>(
    conn: &C,
    page: PageRequest,
) -> Result<Page<Disclosure>, CaseError> {
    let total = count(
        conn,
        "SELECT COUNT(*) AS n FROM cases WHERE outcome = 'granted' AND decided_at IS NOT NULL",
        vec![],
    )
    .await?;
    let mut args = Vec::new();
    let (limit, offset) = push_page(&mut args, page);
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "SELECT {CASE_COLUMNS} FROM {CASE_FROM} WHERE c.outcome = 'granted' AND c.decided_at IS NOT NULL
                 ORDER BY c.decided_at DESC, c.id DESC LIMIT ${limit} OFFSET ${offset}"
            ),
            args,
        ))
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let case = case_from_row(row)?;
        out.push(Disclosure {
            case_no: case.case_no.clone().unwrap_or_default(),
            item_name: case.item_name.clone(),
            department_name: case.department_name.clone(),
            applicant: crate::model::mask_name(&case),
            decided_at: case.decided_at.unwrap_or(case.updated_at),
        });
    }
    Ok(Page::new(out, total, page))
}

// ---------------------------------------------------------------------------------------------
// Tasks

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
        due_at: opt_ts(row, "due_at")?,
        result: row.try_get("", "result")?,
        opinion: row.try_get("", "opinion")?,
        acted_by: row
            .try_get::<Option<i64>>("", "acted_by")?
            .map(StaffId::new),
        acted_by_name: row.try_get("", "acted_by_name")?,
        acted_at: opt_ts(row, "acted_at")?,
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
                opt_ts_value(new.due_at),
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
        [id.get().into(), opt_ts_value(due)],
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
            decision_due_at: opt_ts(row, "case_decision_due_at")?,
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

// ---------------------------------------------------------------------------------------------
// Events

/// A line of a case's history to write.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub case_id: CaseId,
    pub at: DateTime<Utc>,
    pub actor: &'a str,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub from_status: Option<CaseStatus>,
    pub to_status: CaseStatus,
    pub step_name: &'a str,
    pub note: &'a str,
    pub detail: serde_json::Value,
    pub public: bool,
}

pub async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    e: &NewEvent<'_>,
) -> Result<i64, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO case_events (case_id, at, actor, actor_name, action, from_status, to_status, step_name,
                 note, detail, public)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            [
                e.case_id.get().into(),
                ts(e.at).into(),
                e.actor.into(),
                e.actor_name.into(),
                e.action.into(),
                e.from_status.map(|s| s.code().to_owned()).into(),
                e.to_status.code().into(),
                e.step_name.into(),
                e.note.into(),
                e.detail.to_string().into(),
                i64::from(e.public).into(),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok(row.try_get("", "id")?)
}

fn event_from_row(row: &QueryResult) -> Result<CaseEvent, CaseError> {
    let from: Option<String> = row.try_get("", "from_status")?;
    let to: String = row.try_get("", "to_status")?;
    let detail: String = row.try_get("", "detail")?;
    Ok(CaseEvent {
        at: parse_ts(&row.try_get::<String>("", "at")?)?,
        actor: row.try_get("", "actor")?,
        actor_name: row.try_get("", "actor_name")?,
        action: row.try_get("", "action")?,
        from_status: from.as_deref().and_then(CaseStatus::parse),
        to_status: code(CaseStatus::parse(&to), "status", &to)?,
        step_name: row.try_get("", "step_name")?,
        note: row.try_get("", "note")?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| CaseError::Corrupt(format!("event detail: {e}")))?,
        public: row.try_get::<i64>("", "public")? != 0,
    })
}

/// A case's history, oldest first; `public_only` for the applicant and the public query.
pub async fn events_of_case<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    public_only: bool,
) -> Result<Vec<CaseEvent>, CaseError> {
    let sql = if public_only {
        "SELECT * FROM case_events WHERE case_id = $1 AND public = 1 ORDER BY id"
    } else {
        "SELECT * FROM case_events WHERE case_id = $1 ORDER BY id"
    };
    conn.query_all_raw(stmt(conn, sql, [case.get().into()]))
        .await?
        .iter()
        .map(event_from_row)
        .collect()
}

/// One event by id (the notification job renders it).
pub async fn event_by_id<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<Option<(CaseId, CaseEvent)>, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT * FROM case_events WHERE id = $1",
            [id.into()],
        ))
        .await?;
    row.map(|r| Ok((CaseId::new(r.try_get("", "case_id")?), event_from_row(&r)?)))
        .transpose()
}

// ---------------------------------------------------------------------------------------------
// Files

const FILE_COLUMNS: &str = "f.id, f.public_id, f.owner_person_id, f.name, f.content_type, f.size, f.digest, f.storage_key, f.created_at";

fn file_from_row(row: &QueryResult) -> Result<MaterialFile, CaseError> {
    Ok(MaterialFile {
        id: FileId::new(row.try_get("", "id")?),
        public_id: row.try_get("", "public_id")?,
        owner: PersonId::new(row.try_get("", "owner_person_id")?),
        name: row.try_get("", "name")?,
        content_type: row.try_get("", "content_type")?,
        size: row.try_get::<i64>("", "size")?.max(0) as u64,
        digest: row.try_get("", "digest")?,
        storage_key: row.try_get("", "storage_key")?,
        created_at: parse_ts(&row.try_get::<String>("", "created_at")?)?,
    })
}

pub async fn insert_file<C: ConnectionTrait>(
    conn: &C,
    file: &MaterialFile,
) -> Result<FileId, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO material_files (public_id, owner_person_id, name, content_type, size, digest, storage_key,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            [
                file.public_id.as_str().into(),
                file.owner.get().into(),
                file.name.as_str().into(),
                file.content_type.as_str().into(),
                (file.size as i64).into(),
                file.digest.as_str().into(),
                file.storage_key.as_str().into(),
                ts(file.created_at).into(),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok(FileId::new(row.try_get("", "id")?))
}

pub async fn file_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<MaterialFile>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!("SELECT {FILE_COLUMNS} FROM material_files f WHERE f.public_id = $1"),
        [public_id.into()],
    ))
    .await?
    .as_ref()
    .map(file_from_row)
    .transpose()
}

/// A person's kept files, newest first (to reuse in a new application).
pub async fn files_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    limit: u32,
) -> Result<Vec<MaterialFile>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT {FILE_COLUMNS} FROM material_files f WHERE f.owner_person_id = $1
             ORDER BY f.created_at DESC, f.id DESC LIMIT $2"
        ),
        [person.get().into(), i64::from(limit).into()],
    ))
    .await?
    .iter()
    .map(file_from_row)
    .collect()
}

/// Attach a file to a case as a material; attaching the same file twice is a no-op.
pub async fn attach_material<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    material: &str,
    file: FileId,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO case_materials (case_id, material, file_id, attached_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, material, file_id) DO NOTHING",
        [
            case.get().into(),
            material.into(),
            file.get().into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn detach_material<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    material: &str,
    file: FileId,
) -> Result<bool, CaseError> {
    let r = conn
        .execute_raw(stmt(
            conn,
            "DELETE FROM case_materials WHERE case_id = $1 AND material = $2 AND file_id = $3",
            [case.get().into(), material.into(), file.get().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn materials_of_case<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
) -> Result<Vec<CaseMaterial>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT cm.material, {FILE_COLUMNS} FROM case_materials cm
             JOIN material_files f ON f.id = cm.file_id WHERE cm.case_id = $1
             ORDER BY cm.attached_at, f.id"
        ),
        [case.get().into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(CaseMaterial {
            material: r.try_get("", "material")?,
            file: file_from_row(r)?,
        })
    })
    .collect()
}

/// Whether a case has a file (staff and applicant may download only files of cases they may see).
pub async fn case_has_file<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    file: FileId,
) -> Result<bool, CaseError> {
    Ok(conn
        .query_one_raw(stmt(
            conn,
            "SELECT 1 AS x FROM case_materials WHERE case_id = $1 AND file_id = $2",
            [case.get().into(), file.get().into()],
        ))
        .await?
        .is_some())
}
