//! Petitions (信访) and their written documents.

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, fetch_all, fetch_one, get_opt_ts, get_ts, opt_ts, ts,
};
use yiwang_identity::model::DepartmentId;

use super::{exec, parse_code};
use crate::RequestError;
use crate::model::{Letter, LetterKind, Petition, PetitionStage, RequestId};
use crate::petition::PetitionFacts;

fn petition_from_row(row: &QueryResult) -> Result<Petition, RequestError> {
    let extended: i64 = row.try_get("", "extended")?;
    Ok(Petition {
        request: RequestId::new(row.try_get("", "request_id")?),
        stage: parse_code(row, "stage", PetitionStage::from_code)?,
        department: DepartmentId::new(row.try_get("", "department_id")?),
        decide_due_at: get_ts(row, "decide_due_at")?,
        conclude_due_at: get_opt_ts(row, "conclude_due_at")?,
        extended: extended != 0,
        request_until: get_opt_ts(row, "request_until")?,
        review_due_at: get_opt_ts(row, "review_due_at")?,
        revision: row.try_get("", "revision")?,
    })
}

pub async fn insert_petition<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    department: DepartmentId,
    facts: &PetitionFacts,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_petitions (request_id, stage, department_id, decide_due_at, updated_at)
         VALUES ($1, $2, $3, $4, $5)",
        [
            request.get().into(),
            facts.stage.code().into(),
            department.get().into(),
            ts(facts.decide_due_at).into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn petition<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
) -> Result<Option<Petition>, RequestError> {
    fetch_one(
        conn,
        "SELECT request_id, stage, department_id, decide_due_at, conclude_due_at, extended,
             request_until, review_due_at, revision
         FROM request_petitions WHERE request_id = $1",
        [request.get().into()],
        petition_from_row,
    )
    .await
}

/// Writes the next facts if nobody changed the petition meanwhile.
pub async fn update_petition<C: ConnectionTrait>(
    conn: &C,
    current: &Petition,
    next: &PetitionFacts,
    now: DateTime<Utc>,
) -> Result<bool, RequestError> {
    Ok(exec(
        conn,
        "UPDATE request_petitions SET stage = $3, conclude_due_at = $4, extended = $5,
             request_until = $6, review_due_at = $7, revision = revision + 1, updated_at = $8
         WHERE request_id = $1 AND revision = $2",
        [
            current.request.get().into(),
            current.revision.into(),
            next.stage.code().into(),
            opt_ts(next.conclude_due_at),
            i64::from(next.extended).into(),
            opt_ts(next.request_until),
            opt_ts(next.review_due_at),
            ts(now).into(),
        ],
    )
    .await?
        == 1)
}

pub async fn insert_letter<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    kind: LetterKind,
    body: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_petition_letters (request_id, kind, body, issued_at, actor)
         VALUES ($1, $2, $3, $4, $5)",
        [
            request.get().into(),
            kind.code().into(),
            body.into(),
            ts(now).into(),
            actor.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn letters<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
) -> Result<Vec<Letter>, RequestError> {
    fetch_all(
        conn,
        "SELECT kind, body, issued_at FROM request_petition_letters
         WHERE request_id = $1 ORDER BY id",
        [request.get().into()],
        |row| {
            Ok(Letter {
                kind: parse_code(row, "kind", LetterKind::from_code)?,
                body: row.try_get("", "body")?,
                issued_at: get_ts(row, "issued_at")?,
            })
        },
    )
    .await
}

/// Petitions whose current stage's deadline passed before `now` and that the sweep has not yet
/// marked in this stage: not decided on acceptance, not concluded, a review not decided.
pub async fn overdue_petitions<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Petition>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT request_id, stage, department_id, decide_due_at, conclude_due_at, extended,
                 request_until, review_due_at, revision
             FROM request_petitions
             WHERE (overdue_stage IS NULL OR overdue_stage <> stage)
               AND ((stage = 'submitted' AND decide_due_at < $1)
                 OR (stage = 'accepted' AND conclude_due_at < $1)
                 OR (stage IN ('under_review', 'under_rereview') AND review_due_at < $1))
             ORDER BY request_id LIMIT {limit}"
        ),
        [ts(now).into()],
        petition_from_row,
    )
    .await
}

/// Marks the petition overdue in its current stage; false when already marked.
pub async fn mark_petition_overdue<C: ConnectionTrait>(
    conn: &C,
    petition: &Petition,
) -> Result<bool, RequestError> {
    Ok(exec(
        conn,
        "UPDATE request_petitions SET overdue_stage = stage
         WHERE request_id = $1 AND stage = $2 AND (overdue_stage IS NULL OR overdue_stage <> stage)",
        [petition.request.get().into(), petition.stage.code().into()],
    )
    .await?
        == 1)
}
