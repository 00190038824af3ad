//! Case rows: inserting, reading, saving under the revision, lists and supervision counts.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_catalog::model::{ItemId, VersionId};
use yiwang_db::{ConnectionTrait, QueryResult, Value, parse_ts, stmt, ts};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId, StaffId};
use yiwang_kernel::{Page, PageRequest};

use super::{code, inserted, push_page};
use crate::CaseError;
use crate::model::{
    Applicant, Case, CaseId, CaseStatus, Channel, DepartmentWarnings, Disclosure, ExtensionState,
    Outcome, Verification, Warning, WorkflowId,
};
use yiwang_db::{count, get_opt_ts, like_contains, like_prefix, like_sql, opt_ts};

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
        submitted_at: get_opt_ts(row, "submitted_at")?,
        accepted_at: get_opt_ts(row, "accepted_at")?,
        decided_at: get_opt_ts(row, "decided_at")?,
        concluded_at: get_opt_ts(row, "concluded_at")?,
        accept_due_at: get_opt_ts(row, "accept_due_at")?,
        decision_due_at: get_opt_ts(row, "decision_due_at")?,
        supplement_due_at: get_opt_ts(row, "supplement_due_at")?,
        suspended_at: get_opt_ts(row, "suspended_at")?,
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
        verify_due_at: get_opt_ts(row, "verify_due_at")?,
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
                opt_ts(case.verify_due_at),
                opt_ts(case.submitted_at),
                opt_ts(case.accepted_at),
                opt_ts(case.decided_at),
                opt_ts(case.concluded_at),
                opt_ts(case.accept_due_at),
                opt_ts(case.decision_due_at),
                opt_ts(case.supplement_due_at),
                opt_ts(case.suspended_at),
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

pub(super) fn filter_sql(filter: &CaseFilter, args: &mut Vec<Value>) -> String {
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
        args.push(like_prefix(text).into());
        let prefix = args.len();
        args.push(like_contains(text).into());
        let contains = args.len();
        let _ = write!(
            sql,
            " AND ({} OR {} OR {})",
            like_sql("c.case_no", prefix),
            like_sql("c.applicant_name", contains),
            like_sql("c.item_name", contains)
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
           AND c.department_id IN (SELECT id FROM departments WHERE region_code LIKE $1 ESCAPE '\\')";

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
    let mut args: Vec<Value> = vec![like_prefix(region_prefix).into()];
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
            [like_prefix(region_prefix).into()],
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
           AND c.department_id IN (SELECT id FROM departments WHERE region_code LIKE $1 ESCAPE '\\')",
        vec![like_prefix(region_prefix).into()],
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
