//! SQL for password-reset codes and API tokens (tables `password_resets`, `api_tokens`). Rows never leave
//! this module; callers get the plain structs below.

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, count, fetch_all, fetch_one, fetch_required, get_opt_ts, get_ts,
    stmt, ts,
};

use crate::IdentityError;
use crate::model::PersonId;

// ------------------------------------------------------------------ password resets

/// The newest reset code of a person, as stored.
#[derive(Debug, Clone)]
pub struct ResetRow {
    pub id: i64,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub attempts: i64,
}

/// How many reset codes were issued to a person since `since`.
#[tracing::instrument(skip_all, err)]
pub async fn resets_since<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    since: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    let n = count(
        conn,
        "SELECT COUNT(*) FROM password_resets WHERE person_id = $1 AND created_at > $2",
        [person.get().into(), ts(since).into()],
    )
    .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_reset<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    code_hash: &str,
    expires_at: DateTime<Utc>,
    ip: &str,
    now: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    fetch_required(
        conn,
        "INSERT INTO password_resets (person_id, code_hash, created_at, expires_at, attempts, ip)
         VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
        [
            person.get().into(),
            code_hash.into(),
            ts(now).into(),
            ts(expires_at).into(),
            ip.into(),
        ],
        |row| row.try_get("", "id").map_err(IdentityError::from),
    )
    .await
}

/// The person's newest reset code (used or not); older codes are superseded by it.
#[tracing::instrument(skip_all, err)]
pub async fn latest_reset<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
) -> Result<Option<ResetRow>, IdentityError> {
    fetch_one(
        conn,
        "SELECT id, code_hash, expires_at, used_at, attempts FROM password_resets
         WHERE person_id = $1 ORDER BY id DESC LIMIT 1",
        [person.get().into()],
        reset_row,
    )
    .await
}

fn reset_row(row: &QueryResult) -> Result<ResetRow, IdentityError> {
    Ok(ResetRow {
        id: row.try_get("", "id")?,
        code_hash: row.try_get("", "code_hash")?,
        expires_at: get_ts(row, "expires_at")?,
        used_at: get_opt_ts(row, "used_at")?,
        attempts: row.try_get("", "attempts")?,
    })
}

/// Count a wrong code against a live reset. Returns the attempts now recorded (`None` if the code was
/// used meanwhile).
#[tracing::instrument(skip_all, err)]
pub async fn record_reset_attempt<C: ConnectionTrait>(
    conn: &C,
    reset_id: i64,
) -> Result<Option<i64>, IdentityError> {
    // One conditional statement, so concurrent wrong guesses cannot lose a count.
    fetch_one(
        conn,
        "UPDATE password_resets SET attempts = attempts + 1
         WHERE id = $1 AND used_at IS NULL RETURNING attempts",
        [reset_id.into()],
        |row| row.try_get("", "attempts").map_err(IdentityError::from),
    )
    .await
}

/// Mark a reset code used, if it is still live. Returns false when another request used it first, it
/// expired or its attempts ran out.
#[tracing::instrument(skip_all, err)]
pub async fn use_reset<C: ConnectionTrait>(
    conn: &C,
    reset_id: i64,
    max_attempts: i64,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE password_resets SET used_at = $2
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $3",
            [reset_id.into(), ts(now).into(), max_attempts.into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

// ------------------------------------------------------------------ API tokens

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub public_id: String,
    pub name: String,
    /// Space-separated scope names.
    pub scopes: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewTokenRow<'a> {
    pub public_id: &'a str,
    pub token_hash: &'a str,
    pub person: PersonId,
    pub name: &'a str,
    pub scopes: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_token<C: ConnectionTrait>(
    conn: &C,
    row: &NewTokenRow<'_>,
    now: DateTime<Utc>,
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO api_tokens (public_id, token_hash, person_id, name, scopes, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            row.public_id.into(),
            row.token_hash.into(),
            row.person.get().into(),
            row.name.into(),
            row.scopes.into(),
            ts(now).into(),
            yiwang_db::opt_ts(row.expires_at),
        ],
    ))
    .await?;
    Ok(())
}

/// How many of a person's tokens are live (not revoked, not expired).
#[tracing::instrument(skip_all, err)]
pub async fn live_token_count<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    now: DateTime<Utc>,
) -> Result<i64, IdentityError> {
    let n = count(
        conn,
        "SELECT COUNT(*) FROM api_tokens
         WHERE person_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        [person.get().into(), ts(now).into()],
    )
    .await?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

/// A person's tokens, newest first (revoked and expired ones included, so the owner sees what ended).
#[tracing::instrument(skip_all, err)]
pub async fn person_tokens<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
) -> Result<Vec<TokenRow>, IdentityError> {
    fetch_all(
        conn,
        "SELECT public_id, name, scopes, created_at, expires_at, last_used_at, revoked_at
         FROM api_tokens WHERE person_id = $1 ORDER BY created_at DESC, id DESC",
        [person.get().into()],
        token_row,
    )
    .await
}

fn token_row(row: &QueryResult) -> Result<TokenRow, IdentityError> {
    Ok(TokenRow {
        public_id: row.try_get("", "public_id")?,
        name: row.try_get("", "name")?,
        scopes: row.try_get("", "scopes")?,
        created_at: get_ts(row, "created_at")?,
        expires_at: get_opt_ts(row, "expires_at")?,
        last_used_at: get_opt_ts(row, "last_used_at")?,
        revoked_at: get_opt_ts(row, "revoked_at")?,
    })
}

/// Revoke one of the person's own live tokens by its public id. Returns false when the person has no such
/// token (or it was already revoked): another person's token id matches nothing.
#[tracing::instrument(skip_all, err)]
pub async fn revoke_token<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    public_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE api_tokens SET revoked_at = $3
             WHERE person_id = $1 AND public_id = $2 AND revoked_at IS NULL",
            [person.get().into(), public_id.into(), ts(now).into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Revoke every live token of a person (after a password change or reset). Returns how many.
#[tracing::instrument(skip_all, err)]
pub async fn revoke_all_tokens<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    now: DateTime<Utc>,
) -> Result<u64, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL",
            [person.get().into(), ts(now).into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// A live token by the hash of its secret, owned by an active person; records its use.
/// Returns the owner, the token's public id and its scopes.
#[tracing::instrument(skip_all, err)]
pub async fn touch_token<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<(PersonId, String, String)>, IdentityError> {
    fetch_one(
        conn,
        "UPDATE api_tokens SET last_used_at = $2
         WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
             AND person_id IN (SELECT id FROM persons WHERE status = 'active')
         RETURNING person_id, public_id, scopes",
        [token_hash.into(), ts(now).into()],
        |r| -> Result<_, IdentityError> {
            Ok((
                PersonId::new(r.try_get("", "person_id")?),
                r.try_get("", "public_id")?,
                r.try_get("", "scopes")?,
            ))
        },
    )
    .await
}
