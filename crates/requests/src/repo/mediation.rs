//! Mediations (三级调处) and their agreements.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, fetch_all, fetch_one, get_opt_ts, get_ts, ts};
use yiwang_identity::model::{DepartmentId, StaffId};

use super::{exec, parse_code};
use crate::RequestError;
use crate::model::{
    Agreement, Mediation, MediationId, MediationLevel, MediationOutcome, RequestId,
};

const COLUMNS: &str =
    "id, request_id, level, department_id, started_at, due_at, ended_at, outcome, note";

fn mediation_from_row(row: &QueryResult) -> Result<Mediation, RequestError> {
    let outcome: Option<String> = row.try_get("", "outcome")?;
    Ok(Mediation {
        id: MediationId::new(row.try_get("", "id")?),
        request: RequestId::new(row.try_get("", "request_id")?),
        level: parse_code(row, "level", MediationLevel::from_code)?,
        department: DepartmentId::new(row.try_get("", "department_id")?),
        started_at: get_ts(row, "started_at")?,
        due_at: get_ts(row, "due_at")?,
        ended_at: get_opt_ts(row, "ended_at")?,
        outcome: outcome
            .map(|o| {
                MediationOutcome::from_code(&o)
                    .ok_or_else(|| RequestError::Corrupt(format!("mediation outcome: {o}")))
            })
            .transpose()?,
        note: row.try_get("", "note")?,
    })
}

/// Opens one level; `None` when the request already reached that level (unique per level).
pub async fn insert_mediation<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    level: MediationLevel,
    department: DepartmentId,
    now: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> Result<Option<MediationId>, RequestError> {
    fetch_one(
        conn,
        "INSERT INTO request_mediations (request_id, level, department_id, started_at, due_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (request_id, level) DO NOTHING
         RETURNING id",
        [
            request.get().into(),
            level.code().into(),
            department.get().into(),
            ts(now).into(),
            ts(due_at).into(),
        ],
        |row| Ok::<_, RequestError>(MediationId::new(row.try_get("", "id")?)),
    )
    .await
}

pub async fn mediation<C: ConnectionTrait>(
    conn: &C,
    id: MediationId,
) -> Result<Option<Mediation>, RequestError> {
    fetch_one(
        conn,
        &format!("SELECT {COLUMNS} FROM request_mediations WHERE id = $1"),
        [id.get().into()],
        mediation_from_row,
    )
    .await
}

/// Every level a request went through, lowest first.
pub async fn mediations_of<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
) -> Result<Vec<Mediation>, RequestError> {
    fetch_all(
        conn,
        &format!("SELECT {COLUMNS} FROM request_mediations WHERE request_id = $1 ORDER BY id"),
        [request.get().into()],
        mediation_from_row,
    )
    .await
}

/// Ends an open level; false when it had already ended.
pub async fn end_mediation<C: ConnectionTrait>(
    conn: &C,
    id: MediationId,
    outcome: MediationOutcome,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool, RequestError> {
    Ok(exec(
        conn,
        "UPDATE request_mediations SET ended_at = $2, outcome = $3, note = $4
         WHERE id = $1 AND ended_at IS NULL",
        [
            id.get().into(),
            ts(now).into(),
            outcome.code().into(),
            note.into(),
        ],
    )
    .await?
        == 1)
}

/// Open levels whose limit has passed, oldest first.
pub async fn overdue_mediations<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Mediation>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM request_mediations
             WHERE ended_at IS NULL AND due_at < $1 ORDER BY due_at, id LIMIT {limit}"
        ),
        [ts(now).into()],
        mediation_from_row,
    )
    .await
}

pub async fn insert_agreement<C: ConnectionTrait>(
    conn: &C,
    mediation: &Mediation,
    parties: &str,
    terms: &str,
    by: StaffId,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_agreements (mediation_id, request_id, parties, terms, signed_at,
             recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            mediation.id.get().into(),
            mediation.request.get().into(),
            parties.into(),
            terms.into(),
            ts(now).into(),
            by.get().into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn agreement_of<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
) -> Result<Option<Agreement>, RequestError> {
    fetch_one(
        conn,
        "SELECT mediation_id, request_id, parties, terms, signed_at, recorded_by
         FROM request_agreements WHERE request_id = $1",
        [request.get().into()],
        |row| {
            Ok::<_, RequestError>(Agreement {
                mediation: MediationId::new(row.try_get("", "mediation_id")?),
                request: RequestId::new(row.try_get("", "request_id")?),
                parties: row.try_get("", "parties")?,
                terms: row.try_get("", "terms")?,
                signed_at: get_ts(row, "signed_at")?,
                recorded_by: StaffId::new(row.try_get("", "recorded_by")?),
            })
        },
    )
    .await
}
