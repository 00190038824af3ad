//! SQL of pending issuances, usage grants, reads and 亮证 show codes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, count, fetch_all, fetch_one, fetch_required, get_opt_ts, get_ts,
    ts,
};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId};

use super::{corrupt, exec, holder_filter};
use crate::LicenseError;
use crate::model::{
    Grant, GrantId, GrantScope, Holder, License, LicenseId, LicenseRead, PendingId,
    PendingIssuance, ReadBasis,
};

// ---------------------------------------------------------------------------------------------
// Pending issuances

#[expect(
    clippy::too_many_arguments,
    reason = "the columns of a pending issuance"
)]
pub async fn insert_pending<C: ConnectionTrait>(
    conn: &C,
    case_no: &str,
    type_code: &str,
    department: DepartmentId,
    holder: Holder,
    holder_name: &str,
    data: &BTreeMap<String, String>,
    missing: &[String],
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<PendingId, LicenseError> {
    let (person, enterprise) = match holder {
        Holder::Person(p) => (Some(p.get()), None),
        Holder::Enterprise(e) => (None, Some(e.get())),
    };
    fetch_required(
        conn,
        "INSERT INTO licence_pending (case_no, type_code, department_id, holder_person_id,
             holder_enterprise_id, holder_name, data, missing, due_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        [
            case_no.into(),
            type_code.into(),
            department.get().into(),
            person.into(),
            enterprise.into(),
            holder_name.into(),
            serde_json::to_string(data).unwrap_or_default().into(),
            serde_json::to_string(missing).unwrap_or_default().into(),
            ts(due_at).into(),
            ts(now).into(),
        ],
        |row| {
            Ok(PendingId::new(
                row.try_get("", "id").map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}

const PENDING_SELECT: &str = "SELECT p.id, p.case_no, p.type_code, t.name AS type_name, p.department_id,
    p.holder_person_id, p.holder_enterprise_id, p.holder_name, p.data, p.missing, p.due_at, p.created_at,
    l.identifier AS licence
  FROM licence_pending p JOIN licence_types t ON t.code = p.type_code
  LEFT JOIN licences l ON l.id = p.licence_id";

/// A pending issuance with its holder.
pub type PendingRow = (PendingIssuance, Holder);

fn pending_from_row(row: &QueryResult) -> Result<PendingRow, LicenseError> {
    let s = |c: &str| -> Result<String, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let i = |c: &str| -> Result<Option<i64>, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let holder = match (i("holder_person_id")?, i("holder_enterprise_id")?) {
        (Some(p), _) => Holder::Person(PersonId::new(p)),
        (None, Some(e)) => Holder::Enterprise(EnterpriseId::new(e)),
        _ => {
            return Err(LicenseError::Corrupt(
                "pending issuance without holder".to_owned(),
            ));
        }
    };
    Ok((
        PendingIssuance {
            id: PendingId::new(i("id")?.unwrap_or_default()),
            case_no: s("case_no")?,
            type_code: s("type_code")?,
            type_name: s("type_name")?,
            department_id: DepartmentId::new(i("department_id")?.unwrap_or_default()),
            holder_name: s("holder_name")?,
            data: serde_json::from_str(&s("data")?)
                .map_err(|e| corrupt("pending data")(e.to_string()))?,
            missing: serde_json::from_str(&s("missing")?)
                .map_err(|e| corrupt("pending missing")(e.to_string()))?,
            due_at: get_ts(row, "due_at")?,
            created_at: get_ts(row, "created_at")?,
            licence: row
                .try_get("", "licence")
                .map_err(yiwang_db::DbError::from)?,
        },
        holder,
    ))
}

pub async fn pending_by_id<C: ConnectionTrait>(
    conn: &C,
    id: PendingId,
) -> Result<Option<PendingRow>, LicenseError> {
    fetch_one(
        conn,
        &format!("{PENDING_SELECT} WHERE p.id = $1"),
        [id.get().into()],
        pending_from_row,
    )
    .await
}

/// A department's open pending issuances, the most urgent first.
pub async fn open_pending<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
) -> Result<Vec<PendingIssuance>, LicenseError> {
    Ok(fetch_all(
        conn,
        &format!(
            "{PENDING_SELECT} WHERE p.department_id = $1 AND p.licence_id IS NULL ORDER BY p.due_at, p.id LIMIT 200"
        ),
        [department.get().into()],
        pending_from_row,
    )
    .await?
    .into_iter()
    .map(|(p, _)| p)
    .collect())
}

pub async fn close_pending<C: ConnectionTrait>(
    conn: &C,
    id: PendingId,
    licence: LicenseId,
) -> Result<bool, LicenseError> {
    Ok(exec(
        conn,
        "UPDATE licence_pending SET licence_id = $2 WHERE id = $1 AND licence_id IS NULL",
        [id.get().into(), licence.get().into()],
    )
    .await?
        == 1)
}

// ---------------------------------------------------------------------------------------------
// Grants

/// A grant to write.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub public_id: &'a str,
    pub grantor: PersonId,
    pub holder: Holder,
    pub department: DepartmentId,
    pub purpose: &'a str,
    pub scope: GrantScope,
    pub licence: Option<LicenseId>,
    pub type_code: Option<&'a str>,
    pub case_no: Option<&'a str>,
    pub expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert_grant<C: ConnectionTrait>(
    conn: &C,
    g: &NewGrant<'_>,
) -> Result<GrantId, LicenseError> {
    let (person, enterprise) = match g.holder {
        Holder::Person(p) => (Some(p.get()), None),
        Holder::Enterprise(e) => (None, Some(e.get())),
    };
    fetch_required(
        conn,
        "INSERT INTO licence_grants (public_id, grantor_person_id, holder_person_id, holder_enterprise_id,
             department_id, purpose, scope, licence_id, type_code, case_no, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        [
            g.public_id.into(),
            g.grantor.get().into(),
            person.into(),
            enterprise.into(),
            g.department.get().into(),
            g.purpose.into(),
            g.scope.code().into(),
            g.licence.map(LicenseId::get).into(),
            g.type_code.map(str::to_owned).into(),
            g.case_no.map(str::to_owned).into(),
            ts(g.expires_at).into(),
            ts(g.now).into(),
        ],
        |row| Ok(GrantId::new(row.try_get("", "id").map_err(yiwang_db::DbError::from)?)),
    )
    .await
}

const GRANT_SELECT: &str = "SELECT g.id, g.public_id, g.holder_person_id, g.holder_enterprise_id,
    g.department_id, d.name AS department_name, g.purpose, g.scope, l.identifier, g.type_code, g.case_no,
    g.expires_at, g.revoked_at, g.created_at, g.grantor_person_id
  FROM licence_grants g JOIN departments d ON d.id = g.department_id
  LEFT JOIN licences l ON l.id = g.licence_id";

fn grant_from_row(row: &QueryResult) -> Result<(Grant, PersonId), LicenseError> {
    let s = |c: &str| -> Result<String, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let o = |c: &str| -> Result<Option<String>, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let i = |c: &str| -> Result<Option<i64>, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let holder = match (i("holder_person_id")?, i("holder_enterprise_id")?) {
        (Some(p), _) => Holder::Person(PersonId::new(p)),
        (None, Some(e)) => Holder::Enterprise(EnterpriseId::new(e)),
        _ => return Err(LicenseError::Corrupt("grant without holder".to_owned())),
    };
    let scope = s("scope")?;
    Ok((
        Grant {
            id: GrantId::new(i("id")?.unwrap_or_default()),
            public_id: s("public_id")?,
            holder,
            department_id: DepartmentId::new(i("department_id")?.unwrap_or_default()),
            department_name: s("department_name")?,
            purpose: s("purpose")?,
            scope: GrantScope::parse(&scope)
                .ok_or_else(|| LicenseError::Corrupt(format!("grant scope {scope}")))?,
            identifier: o("identifier")?,
            type_code: o("type_code")?,
            case_no: o("case_no")?,
            expires_at: get_ts(row, "expires_at")?,
            revoked_at: get_opt_ts(row, "revoked_at")?,
            created_at: get_ts(row, "created_at")?,
        },
        PersonId::new(i("grantor_person_id")?.unwrap_or_default()),
    ))
}

/// A grant and the person who gave it.
pub async fn grant_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<(Grant, PersonId)>, LicenseError> {
    fetch_one(
        conn,
        &format!("{GRANT_SELECT} WHERE g.public_id = $1"),
        [public_id.into()],
        grant_from_row,
    )
    .await
}

pub async fn revoke_grant<C: ConnectionTrait>(
    conn: &C,
    id: GrantId,
    now: DateTime<Utc>,
) -> Result<bool, LicenseError> {
    Ok(exec(
        conn,
        "UPDATE licence_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        [id.get().into(), ts(now).into()],
    )
    .await?
        == 1)
}

/// Grants over the licences of a person and the enterprises given, newest first (at most 200).
pub async fn grants_of_holders<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    enterprises: &[EnterpriseId],
) -> Result<Vec<Grant>, LicenseError> {
    let (filter, values) = holder_filter(person, enterprises, 1, "g.");
    Ok(fetch_all(
        conn,
        &format!("{GRANT_SELECT} WHERE {filter} ORDER BY g.created_at DESC, g.id DESC LIMIT 200"),
        values,
        grant_from_row,
    )
    .await?
    .into_iter()
    .map(|(g, _)| g)
    .collect())
}

/// A live grant letting `department` read `licence` (directly or through its type), preferring
/// one made for `case_no`.
pub async fn usable_grant<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
    licence: &License,
    case_no: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<GrantId>, LicenseError> {
    let (person, enterprise) = match licence.holder {
        Holder::Person(p) => (Some(p.get()), None),
        Holder::Enterprise(e) => (None, Some(e.get())),
    };
    fetch_one(
        conn,
        "SELECT id FROM licence_grants
          WHERE department_id = $1 AND revoked_at IS NULL AND expires_at > $2
            AND ((scope = 'licence' AND licence_id = $3)
                 OR (scope = 'type' AND type_code = $4
                     AND (holder_person_id = $5 OR holder_enterprise_id = $6)))
          ORDER BY CASE WHEN case_no = $7 THEN 0 ELSE 1 END, id DESC LIMIT 1",
        [
            department.get().into(),
            ts(now).into(),
            licence.id.get().into(),
            licence.type_code.clone().into(),
            person.into(),
            enterprise.into(),
            case_no.map(str::to_owned).into(),
        ],
        |row| {
            Ok(GrantId::new(
                row.try_get("", "id").map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Reads

#[expect(clippy::too_many_arguments, reason = "the columns of a read log line")]
pub async fn insert_read<C: ConnectionTrait>(
    conn: &C,
    licence: LicenseId,
    at: DateTime<Utc>,
    department: Option<DepartmentId>,
    reader: &str,
    purpose: &str,
    case_no: Option<&str>,
    basis: ReadBasis,
    grant: Option<GrantId>,
    allowed: bool,
) -> Result<(), LicenseError> {
    exec(
        conn,
        "INSERT INTO licence_reads (licence_id, at, department_id, reader, purpose, case_no, basis,
             grant_id, allowed)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            licence.get().into(),
            ts(at).into(),
            department.map(DepartmentId::get).into(),
            reader.into(),
            purpose.into(),
            case_no.map(str::to_owned).into(),
            basis.code().into(),
            grant.map(GrantId::get).into(),
            i64::from(allowed).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Reads of the licences of a person and the enterprises given, newest first, one page.
pub async fn reads_of_holders<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    enterprises: &[EnterpriseId],
    limit: u64,
    offset: u64,
) -> Result<(Vec<LicenseRead>, u64), LicenseError> {
    let (filter, values) = holder_filter(person, enterprises, 1, "l.");
    let from = "FROM licence_reads r JOIN licences l ON l.id = r.licence_id
        JOIN licence_types t ON t.code = l.type_code LEFT JOIN departments d ON d.id = r.department_id";
    let total = count(
        conn,
        &format!("SELECT COUNT(*) {from} WHERE {filter}"),
        values.clone(),
    )
    .await?;
    let n = values.len();
    let mut all = values;
    all.push((limit as i64).into());
    all.push((offset as i64).into());
    let items = fetch_all(
        conn,
        &format!(
            "SELECT l.identifier, t.name AS type_name, r.at, d.name AS department_name, r.reader,
                    r.purpose, r.case_no, r.basis, r.allowed
             {from} WHERE {filter} ORDER BY r.at DESC, r.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        all,
        |row| -> Result<LicenseRead, LicenseError> {
            let basis: String = row.try_get("", "basis").map_err(yiwang_db::DbError::from)?;
            let allowed: i64 = row
                .try_get("", "allowed")
                .map_err(yiwang_db::DbError::from)?;
            let department: Option<String> = row
                .try_get("", "department_name")
                .map_err(yiwang_db::DbError::from)?;
            Ok(LicenseRead {
                identifier: row
                    .try_get("", "identifier")
                    .map_err(yiwang_db::DbError::from)?,
                type_name: row
                    .try_get("", "type_name")
                    .map_err(yiwang_db::DbError::from)?,
                at: get_ts(row, "at")?,
                department_name: department.unwrap_or_default(),
                reader: row
                    .try_get("", "reader")
                    .map_err(yiwang_db::DbError::from)?,
                purpose: row
                    .try_get("", "purpose")
                    .map_err(yiwang_db::DbError::from)?,
                case_no: row
                    .try_get("", "case_no")
                    .map_err(yiwang_db::DbError::from)?,
                basis: ReadBasis::parse(&basis)
                    .ok_or_else(|| LicenseError::Corrupt(format!("read basis {basis}")))?,
                allowed: allowed != 0,
            })
        },
    )
    .await?;
    Ok((items, total))
}

/// Reads of one licence (tests, staff views), oldest first.
pub async fn reads_of_licence<C: ConnectionTrait>(
    conn: &C,
    licence: LicenseId,
) -> Result<Vec<(ReadBasis, bool, Option<String>)>, LicenseError> {
    fetch_all(
        conn,
        "SELECT basis, allowed, case_no FROM licence_reads WHERE licence_id = $1 ORDER BY id",
        [licence.get().into()],
        |row| {
            let basis: String = row.try_get("", "basis").map_err(yiwang_db::DbError::from)?;
            let allowed: i64 = row
                .try_get("", "allowed")
                .map_err(yiwang_db::DbError::from)?;
            Ok((
                ReadBasis::parse(&basis).unwrap_or(ReadBasis::None),
                allowed != 0,
                row.try_get("", "case_no")
                    .map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Show codes

pub async fn live_digits_taken<C: ConnectionTrait>(
    conn: &C,
    digits_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, LicenseError> {
    Ok(count(
        conn,
        "SELECT COUNT(*) FROM licence_show_codes WHERE digits_hash = $1 AND redeemed_at IS NULL AND expires_at > $2",
        [digits_hash.into(), ts(now).into()],
    )
    .await?
        > 0)
}

pub async fn insert_show_code<C: ConnectionTrait>(
    conn: &C,
    licence: LicenseId,
    digits_hash: &str,
    token_hash: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), LicenseError> {
    exec(
        conn,
        "INSERT INTO licence_show_codes (licence_id, digits_hash, token_hash, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        [
            licence.get().into(),
            digits_hash.into(),
            token_hash.into(),
            ts(expires_at).into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Uses a live show code (by the hash of its digits or of its token) once; the licence it shows.
pub async fn redeem_show_code<C: ConnectionTrait>(
    conn: &C,
    column_is_token: bool,
    hash: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<LicenseId>, LicenseError> {
    let column = if column_is_token {
        "token_hash"
    } else {
        "digits_hash"
    };
    fetch_one(
        conn,
        &format!(
            "UPDATE licence_show_codes SET redeemed_at = $2, redeemed_by = $3
              WHERE id = (SELECT id FROM licence_show_codes WHERE {column} = $1 AND redeemed_at IS NULL
                            AND expires_at > $2 ORDER BY id DESC LIMIT 1)
                AND redeemed_at IS NULL
              RETURNING licence_id"
        ),
        [hash.into(), ts(now).into(), by.into()],
        |row| {
            Ok(LicenseId::new(
                row.try_get("", "licence_id").map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}
