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
