//! SQL for the account-safety tables: log-in throttling per identifier and address
//! (`login_throttle`), registration codes (`registration_codes`) and enterprise claims held for a
//! clerk (`enterprise_claims`).

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, count, fetch_all, fetch_one, fetch_required, get_opt_ts, get_ts,
    stmt, ts,
};
use yiwang_kernel::Uscc;

use crate::IdentityError;
use crate::model::{EnterpriseClaim, PersonId, StaffId};

// ------------------------------------------------------------------ log-in throttle

/// Until when log-ins for `subject` from `ip` wait, if they do.
#[tracing::instrument(skip_all, err)]
pub async fn blocked_until<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
    ip: &str,
) -> Result<Option<DateTime<Utc>>, IdentityError> {
    Ok(fetch_one(
        conn,
        "SELECT blocked_until FROM login_throttle WHERE subject = $1 AND ip = $2",
        [subject.into(), ip.into()],
        |row| get_opt_ts(row, "blocked_until").map_err(IdentityError::from),
    )
    .await?
    .flatten())
}

/// Count one failure for `subject` from `ip`; returns the failures now recorded. One statement, so
/// concurrent failures cannot lose a count.
#[tracing::instrument(skip_all, err)]
pub async fn record_failure<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    fetch_required(
        conn,
        "INSERT INTO login_throttle (subject, ip, failures, updated_at) VALUES ($1, $2, 1, $3)
         ON CONFLICT (subject, ip) DO UPDATE SET failures = login_throttle.failures + 1, updated_at = $3
         RETURNING failures",
        [subject.into(), ip.into(), ts(now).into()],
        |row| row.try_get("", "failures").map_err(IdentityError::from),
    )
    .await
}

/// Make `subject` from `ip` wait until `until` (never shortening a longer wait set concurrently).
#[tracing::instrument(skip_all, err)]
pub async fn block<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
    ip: &str,
    until: DateTime<Utc>,
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE login_throttle SET blocked_until = $3
         WHERE subject = $1 AND ip = $2 AND (blocked_until IS NULL OR blocked_until < $3)",
        [subject.into(), ip.into(), ts(until).into()],
    ))
    .await?;
    Ok(())
}

/// Forget the failures of `subject` from `ip` after a right password, unless a wait is in force
/// (set by wrong guesses racing this one). Returns false when it is.
#[tracing::instrument(skip_all, err)]
pub async fn clear_unless_blocked<C: ConnectionTrait>(
    conn: &C,
    subject: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "DELETE FROM login_throttle
         WHERE subject = $1 AND ip = $2 AND (blocked_until IS NULL OR blocked_until <= $3)",
        [subject.into(), ip.into(), ts(now).into()],
    ))
    .await?;
    Ok(blocked_until(conn, subject, ip)
        .await?
        .is_none_or(|until| until <= now))
}

/// Forget every failure and wait of these subjects, from every address.
#[tracing::instrument(skip_all, err)]
pub async fn clear_subjects<C: ConnectionTrait>(
    conn: &C,
    subjects: &[&str],
) -> Result<(), IdentityError> {
    for subject in subjects {
        conn.execute_raw(stmt(
            conn,
            "DELETE FROM login_throttle WHERE subject = $1",
            [(*subject).into()],
        ))
        .await?;
    }
    Ok(())
}

// ------------------------------------------------------------------ registration codes

/// The newest registration code of a mobile number, as stored.
#[derive(Debug, Clone)]
pub struct RegistrationCodeRow {
    pub id: i64,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub attempts: i64,
}

/// Registration codes (and attempt notices) sent to a mobile number since `since`.
#[tracing::instrument(skip_all, err)]
pub async fn registration_codes_since<C: ConnectionTrait>(
    conn: &C,
    mobile_index: &str,
    since: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    let n = count(
        conn,
        "SELECT COUNT(*) FROM registration_codes WHERE mobile_index = $1 AND created_at > $2",
        [mobile_index.into(), ts(since).into()],
    )
    .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_registration_code<C: ConnectionTrait>(
    conn: &C,
    mobile_index: &str,
    code_hash: &str,
    expires_at: DateTime<Utc>,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    fetch_required(
        conn,
        "INSERT INTO registration_codes (mobile_index, code_hash, created_at, expires_at, attempts, ip)
         VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
        [
            mobile_index.into(),
            code_hash.into(),
            ts(now).into(),
            ts(expires_at).into(),
            ip.into(),
        ],
        |row| row.try_get("", "id").map_err(IdentityError::from),
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn latest_registration_code<C: ConnectionTrait>(
    conn: &C,
    mobile_index: &str,
) -> Result<Option<RegistrationCodeRow>, IdentityError> {
    fetch_one(
        conn,
        "SELECT id, code_hash, expires_at, used_at, attempts FROM registration_codes
         WHERE mobile_index = $1 ORDER BY id DESC LIMIT 1",
        [mobile_index.into()],
        |row| {
            Ok(RegistrationCodeRow {
                id: row.try_get("", "id")?,
                code_hash: row.try_get("", "code_hash")?,
                expires_at: get_ts(row, "expires_at")?,
                used_at: get_opt_ts(row, "used_at")?,
                attempts: row.try_get("", "attempts")?,
            })
        },
    )
    .await
}

/// Count a wrong code; one statement so concurrent guesses cannot lose a count.
#[tracing::instrument(skip_all, err)]
pub async fn record_registration_attempt<C: ConnectionTrait>(
    conn: &C,
    id: i64,
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE registration_codes SET attempts = attempts + 1 WHERE id = $1 AND used_at IS NULL",
        [id.into()],
    ))
    .await?;
    Ok(())
}

/// Use a code if it is still live; false when a racing request used it first or it died meanwhile.
#[tracing::instrument(skip_all, err)]
pub async fn use_registration_code<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    max_attempts: i64,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE registration_codes SET used_at = $2
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3",
            [id.into(), ts(now).into(), max_attempts.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

// ------------------------------------------------------------------ enterprise claims

const CLAIM_COLUMNS: &str = "c.id, c.public_id, c.uscc, c.name, c.person_id, p.name AS person_name, \
     p.mobile_masked, p.resident_id_masked, c.status, c.register_note, c.decision_note, c.created_at, \
     c.decided_at";

fn claim_from_row(row: &QueryResult) -> Result<EnterpriseClaim, IdentityError> {
    let uscc: String = row.try_get("", "uscc")?;
    let status: String = row.try_get("", "status")?;
    Ok(EnterpriseClaim {
        id: row.try_get("", "id")?,
        public_id: row.try_get("", "public_id")?,
        uscc: Uscc::parse(&uscc).map_err(|e| IdentityError::Corrupt(format!("claim USCC: {e}")))?,
        name: row.try_get("", "name")?,
        person: PersonId::new(row.try_get("", "person_id")?),
        person_name: row.try_get("", "person_name")?,
        person_mobile_masked: row.try_get("", "mobile_masked")?,
        person_resident_id_masked: row.try_get("", "resident_id_masked")?,
        status: crate::model::ClaimStatus::parse(&status)
            .ok_or_else(|| IdentityError::Corrupt(format!("claim status {status:?}")))?,
        register_note: row.try_get("", "register_note")?,
        decision_note: row.try_get("", "decision_note")?,
        created_at: get_ts(row, "created_at")?,
        decided_at: get_opt_ts(row, "decided_at")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_claim<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
    uscc: &Uscc,
    name: &str,
    person: PersonId,
    register_note: &str,
    now: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    fetch_required(
        conn,
        "INSERT INTO enterprise_claims (public_id, uscc, name, person_id, status, register_note, created_at)
         VALUES ($1, $2, $3, $4, 'pending', $5, $6) RETURNING id",
        [
            public_id.into(),
            uscc.as_str().into(),
            name.into(),
            person.get().into(),
            register_note.into(),
            ts(now).into(),
        ],
        |row| row.try_get("", "id").map_err(IdentityError::from),
    )
    .await
}

/// Whether the person already has a pending claim for this code.
#[tracing::instrument(skip_all, err)]
pub async fn pending_claim_exists<C: ConnectionTrait>(
    conn: &C,
    uscc: &Uscc,
    person: PersonId,
) -> Result<bool, IdentityError> {
    Ok(count(
        conn,
        "SELECT COUNT(*) FROM enterprise_claims WHERE uscc = $1 AND person_id = $2 AND status = 'pending'",
        [uscc.as_str().into(), person.get().into()],
    )
    .await?
        > 0)
}

#[tracing::instrument(skip_all, err)]
pub async fn claim_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<EnterpriseClaim>, IdentityError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {CLAIM_COLUMNS} FROM enterprise_claims c JOIN persons p ON p.id = c.person_id
             WHERE c.public_id = $1"
        ),
        [public_id.into()],
        claim_from_row,
    )
    .await
}

/// Pending claims, oldest first (at most `limit`).
#[tracing::instrument(skip_all, err)]
pub async fn pending_claims<C: ConnectionTrait>(
    conn: &C,
    limit: i64,
) -> Result<Vec<EnterpriseClaim>, IdentityError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {CLAIM_COLUMNS} FROM enterprise_claims c JOIN persons p ON p.id = c.person_id
             WHERE c.status = 'pending' ORDER BY c.created_at, c.id LIMIT $1"
        ),
        [limit.into()],
        claim_from_row,
    )
    .await
}

/// The person's own claims, newest first (at most `limit`).
#[tracing::instrument(skip_all, err)]
pub async fn claims_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    limit: i64,
) -> Result<Vec<EnterpriseClaim>, IdentityError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {CLAIM_COLUMNS} FROM enterprise_claims c JOIN persons p ON p.id = c.person_id
             WHERE c.person_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2"
        ),
        [person.get().into(), limit.into()],
        claim_from_row,
    )
    .await
}

/// Decide a pending claim; false when it was decided meanwhile.
#[tracing::instrument(skip_all, err)]
pub async fn decide_claim<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    approved: bool,
    clerk: StaffId,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE enterprise_claims SET status = $2, decided_by = $3, decision_note = $4, decided_at = $5
             WHERE id = $1 AND status = 'pending'",
            [
                id.into(),
                if approved { "approved" } else { "rejected" }.into(),
                clerk.get().into(),
                note.into(),
                ts(now).into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}
