//! The cases' side of e-licences: which licence fulfilled which material of an application (免提交)
//! and the seals of decision notices.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, fetch_all, fetch_one, get_ts, stmt, ts};

use crate::CaseError;
use crate::model::CaseId;

/// Records that a licence (through a usage grant) fulfils a material of a case.
pub async fn insert_case_licence<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    material: &str,
    licence_id: i64,
    grant_id: i64,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO case_licences (case_id, material, licence_id, grant_id, attached_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (case_id, material) DO NOTHING",
        [
            case.get().into(),
            material.into(),
            licence_id.into(),
            grant_id.into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// (material, licence identifier) of a case, in material order of attachment.
pub async fn case_licences<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
) -> Result<Vec<(String, String)>, CaseError> {
    fetch_all(
        conn,
        "SELECT c.material, l.identifier FROM case_licences c JOIN licences l ON l.id = c.licence_id
          WHERE c.case_id = $1 ORDER BY c.attached_at, c.material",
        [case.get().into()],
        |row| {
            Ok((
                row.try_get("", "material").map_err(yiwang_db::DbError::from)?,
                row.try_get("", "identifier").map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}

/// A sealed decision notice as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSeal {
    pub notice: String,
    /// The exact UTF-8 bytes signed.
    pub statement: String,
    /// Hex `r ‖ s`.
    pub signature: String,
    pub key_id: String,
    /// Base64url `r ‖ s` over the short QR statement.
    pub qr_signature: String,
    pub sealed_at: DateTime<Utc>,
}

/// Stores a notice's seal once (a notice is sealed when it is decided, never again).
pub async fn insert_seal<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    seal: &NoticeSeal,
) -> Result<(), CaseError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO case_seals (case_id, notice, statement, signature, key_id, qr_signature, sealed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id, notice) DO NOTHING",
        [
            case.get().into(),
            seal.notice.clone().into(),
            seal.statement.clone().into(),
            seal.signature.clone().into(),
            seal.key_id.clone().into(),
            seal.qr_signature.clone().into(),
            ts(seal.sealed_at).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The seal of one notice of a case, if it was sealed.
pub async fn seal_of<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    notice: &str,
) -> Result<Option<NoticeSeal>, CaseError> {
    fetch_one(
        conn,
        "SELECT notice, statement, signature, key_id, qr_signature, sealed_at FROM case_seals
          WHERE case_id = $1 AND notice = $2",
        [case.get().into(), notice.into()],
        |row| {
            let s = |c: &str| -> Result<String, CaseError> {
                Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
            };
            Ok(NoticeSeal {
                notice: s("notice")?,
                statement: s("statement")?,
                signature: s("signature")?,
                key_id: s("key_id")?,
                qr_signature: s("qr_signature")?,
                sealed_at: get_ts(row, "sealed_at")?,
            })
        },
    )
    .await
}
