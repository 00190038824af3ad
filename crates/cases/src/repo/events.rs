//! History lines of cases.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, parse_ts, stmt, ts};

use super::{code, inserted};
use crate::CaseError;
use crate::model::{CaseEvent, CaseId, CaseStatus};

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
