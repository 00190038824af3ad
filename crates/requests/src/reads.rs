//! The request data other domains read: the cross-domain boundary.
//!
//! Ratings (好差评) ask who submitted a request, which department answers for it and whether it
//! is concluded; supervision (督办) asks which department a request belongs to. Each function
//! takes any connection, so the caller reads inside its own open transaction, and returns only the
//! facts asked for (never a contact name or mobile).

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, DbError, fetch_one, get_opt_ts};
use yiwang_identity::model::{DepartmentId, PersonId};

use crate::model::{RequestId, Status};

/// A request as a service event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFacts {
    pub id: RequestId,
    pub public_id: String,
    /// The logged-in person who submitted it; none for calls, grid reports and anonymous
    /// submissions.
    pub submitter: Option<PersonId>,
    /// The lead (主办) department, once dispatched.
    pub department: Option<DepartmentId>,
    pub region_code: String,
    pub title: String,
    /// Status code (`concluded`, `handling`, …).
    pub status: String,
    pub concluded_at: Option<DateTime<Utc>>,
}

impl RequestFacts {
    /// 办结 or later: answered and concluded (a merged duplicate counts with its main request's
    /// outcome, not here).
    pub fn is_concluded(&self) -> bool {
        Status::from_code(&self.status).is_some_and(|s| s.is_concluded() && s != Status::Merged)
    }
}

/// The facts of one request, or `None` when there is no such request.
pub async fn request_facts_in<C: ConnectionTrait>(
    conn: &C,
    id: RequestId,
) -> Result<Option<RequestFacts>, DbError> {
    fetch_one(
        conn,
        "SELECT id, public_id, person_id, lead_department_id, region_code, title, status,
             concluded_at
         FROM requests WHERE id = $1",
        [id.get().into()],
        |row| {
            Ok::<_, DbError>(RequestFacts {
                id: RequestId::new(row.try_get("", "id")?),
                public_id: row.try_get("", "public_id")?,
                submitter: row
                    .try_get::<Option<i64>>("", "person_id")?
                    .map(PersonId::new),
                department: row
                    .try_get::<Option<i64>>("", "lead_department_id")?
                    .map(DepartmentId::new),
                region_code: row.try_get("", "region_code")?,
                title: row.try_get("", "title")?,
                status: row.try_get("", "status")?,
                concluded_at: get_opt_ts(row, "concluded_at")?,
            })
        },
    )
    .await
}
