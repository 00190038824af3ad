//! SQL for enterprises and their agents.

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, fetch_all, fetch_one, fetch_required, get_ts, stmt, ts,
};
use yiwang_kernel::Uscc;

use crate::IdentityError;
use crate::model::{Agent, Enterprise, EnterpriseId, EnterpriseRelation, PersonId};

const ENTERPRISE_COLUMNS: &str =
    "e.id, e.public_id, e.uscc, e.name, e.legal_representative_id, p.name AS representative_name";

fn enterprise_from_row(row: &QueryResult) -> Result<Enterprise, IdentityError> {
    let uscc: String = row.try_get("", "uscc")?;
    Ok(Enterprise {
        id: EnterpriseId::new(row.try_get("", "id")?),
        public_id: row.try_get("", "public_id")?,
        uscc: Uscc::parse(&uscc)
            .map_err(|e| IdentityError::Corrupt(format!("enterprise USCC: {e}")))?,
        name: row.try_get("", "name")?,
        legal_representative: PersonId::new(row.try_get("", "legal_representative_id")?),
        legal_representative_name: row.try_get("", "representative_name")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn uscc_taken<C: ConnectionTrait>(conn: &C, uscc: &Uscc) -> Result<bool, IdentityError> {
    Ok(conn
        .query_one_raw(stmt(
            conn,
            "SELECT id FROM enterprises WHERE uscc = $1",
            [uscc.as_str().into()],
        ))
        .await?
        .is_some())
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_enterprise<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
    uscc: &Uscc,
    name: &str,
    representative: PersonId,
    now: DateTime<Utc>,
) -> Result<EnterpriseId, IdentityError> {
    let id: i64 = fetch_required(
        conn,
        "INSERT INTO enterprises (public_id, uscc, name, legal_representative_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        [public_id.into(), uscc.as_str().into(), name.into(), representative.get().into(), ts(now).into()],
        |row| row.try_get("", "id").map_err(yiwang_db::DbError::from),
    )
    .await
    .map_err(|e| {
        if e.is_unique_violation() {
            IdentityError::Duplicate { field: "uscc" }
        } else {
            IdentityError::Db(e)
        }
    })?;
    Ok(EnterpriseId::new(id))
}

#[tracing::instrument(skip_all, err)]
pub async fn enterprise_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<Enterprise>, IdentityError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {ENTERPRISE_COLUMNS} FROM enterprises e JOIN persons p ON p.id = e.legal_representative_id
             WHERE e.public_id = $1"
        ),
        [public_id.into()],
        enterprise_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn enterprise_by_id<C: ConnectionTrait>(
    conn: &C,
    id: EnterpriseId,
) -> Result<Option<Enterprise>, IdentityError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {ENTERPRISE_COLUMNS} FROM enterprises e JOIN persons p ON p.id = e.legal_representative_id
             WHERE e.id = $1"
        ),
        [id.get().into()],
        enterprise_from_row,
    )
    .await
}

/// Persons currently authorised as agents of an enterprise.
#[tracing::instrument(skip_all, err)]
pub async fn live_agents<C: ConnectionTrait>(
    conn: &C,
    enterprise: EnterpriseId,
) -> Result<Vec<(PersonId, Agent)>, IdentityError> {
    fetch_all(
        conn,
        "SELECT a.person_id, a.granted_at, p.public_id, p.name, p.mobile_masked
         FROM enterprise_agents a JOIN persons p ON p.id = a.person_id
         WHERE a.enterprise_id = $1 AND a.revoked_at IS NULL ORDER BY a.granted_at, a.id",
        [enterprise.get().into()],
        |r| -> Result<_, IdentityError> {
            Ok((
                PersonId::new(r.try_get("", "person_id")?),
                Agent {
                    person_public_id: r.try_get("", "public_id")?,
                    name: r.try_get("", "name")?,
                    mobile_masked: r.try_get("", "mobile_masked")?,
                    granted_at: get_ts(r, "granted_at")?,
                },
            ))
        },
    )
    .await
}

/// Authorise an agent; false when already authorised.
#[tracing::instrument(skip_all, err)]
pub async fn insert_agent<C: ConnectionTrait>(
    conn: &C,
    enterprise: EnterpriseId,
    person: PersonId,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let exists = conn
        .query_one_raw(stmt(
            conn,
            "SELECT id FROM enterprise_agents WHERE enterprise_id = $1 AND person_id = $2 AND revoked_at IS NULL",
            [enterprise.get().into(), person.get().into()],
        ))
        .await?;
    if exists.is_some() {
        return Ok(false);
    }
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO enterprise_agents (enterprise_id, person_id, granted_at) VALUES ($1, $2, $3)",
        [enterprise.get().into(), person.get().into(), ts(now).into()],
    ))
    .await
    .map_err(yiwang_db::DbError::from)
    .map_err(|e| {
        if e.is_unique_violation() {
            IdentityError::Duplicate { field: "agent" }
        } else {
            IdentityError::Db(e)
        }
    })?;
    Ok(true)
}

/// Revoke an agent; false when there was no live authorisation.
#[tracing::instrument(skip_all, err)]
pub async fn revoke_agent<C: ConnectionTrait>(
    conn: &C,
    enterprise: EnterpriseId,
    person: PersonId,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE enterprise_agents SET revoked_at = $3 WHERE enterprise_id = $1 AND person_id = $2 AND revoked_at IS NULL",
            [enterprise.get().into(), person.get().into(), ts(now).into()],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Enterprises a person represents or is a live agent of.
#[tracing::instrument(skip_all, err)]
pub async fn enterprises_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
) -> Result<Vec<(Enterprise, EnterpriseRelation)>, IdentityError> {
    let mut out = fetch_all(
        conn,
        &format!(
            "SELECT {ENTERPRISE_COLUMNS}, CASE WHEN e.legal_representative_id = $1 THEN 'representative' ELSE 'agent' END AS relation
             FROM enterprises e JOIN persons p ON p.id = e.legal_representative_id
             WHERE e.legal_representative_id = $1
                OR e.id IN (SELECT enterprise_id FROM enterprise_agents WHERE person_id = $1 AND revoked_at IS NULL)"
        ),
        [person.get().into()],
        |r| -> Result<_, IdentityError> {
            let relation: String = r.try_get("", "relation")?;
            Ok((
                enterprise_from_row(r)?,
                if relation == "representative" {
                    EnterpriseRelation::LegalRepresentative
                } else {
                    EnterpriseRelation::Agent
                },
            ))
        },
    )
    .await?;
    out.sort_by(|a, b| a.0.uscc.as_str().cmp(b.0.uscc.as_str()));
    Ok(out)
}
