//! All SQL of e-licences, portable between SQLite and PostgreSQL, every function generic over the
//! connection so it runs on the pool or inside the caller's transaction. This file: types, departments,
//! seal keys and licences; `wallet.rs`: pending issuances, grants, reads and show codes.

mod wallet;

pub use wallet::*;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, Value, count, date, fetch_all, fetch_one, fetch_required,
    get_date, get_opt_date, get_opt_ts, get_ts, opt_date, stmt, ts,
};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{EnterpriseId, PersonId};
use yiwang_kernel::Uscc;

use crate::LicenseError;
use crate::document::{PublishedKey, RevocationEntry};
use crate::identifier::LicenseIdentifier;
use crate::model::{Holder, License, LicenseEvent, LicenseId, LicenseStatus, LicenseType, Source};

fn corrupt(what: &str) -> impl Fn(String) -> LicenseError + '_ {
    move |e| LicenseError::Corrupt(format!("{what}: {e}"))
}

async fn exec<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, LicenseError> {
    Ok(conn
        .execute_raw(stmt(conn, sql, values))
        .await?
        .rows_affected())
}

// ---------------------------------------------------------------------------------------------
// Types

pub async fn upsert_type<C: ConnectionTrait>(
    conn: &C,
    t: &LicenseType,
    now: DateTime<Utc>,
) -> Result<bool, LicenseError> {
    let definition = serde_json::to_string(t).map_err(|e| LicenseError::Corrupt(e.to_string()))?;
    let existing = type_by_code(conn, &t.code).await?;
    if existing.as_ref() == Some(t) {
        return Ok(false);
    }
    exec(
        conn,
        "INSERT INTO licence_types (code, name, holder_kind, definition, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (code) DO UPDATE SET name = $2, holder_kind = $3, definition = $4, updated_at = $5",
        [
            t.code.clone().into(),
            t.name.clone().into(),
            t.holder.code().into(),
            definition.into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(true)
}

fn type_from_row(row: &QueryResult) -> Result<LicenseType, LicenseError> {
    let text: String = row
        .try_get("", "definition")
        .map_err(yiwang_db::DbError::from)?;
    serde_json::from_str(&text).map_err(|e| LicenseError::Corrupt(format!("licence type: {e}")))
}

pub async fn type_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<LicenseType>, LicenseError> {
    fetch_one(
        conn,
        "SELECT definition FROM licence_types WHERE code = $1",
        [code.into()],
        type_from_row,
    )
    .await
}

pub async fn all_types<C: ConnectionTrait>(conn: &C) -> Result<Vec<LicenseType>, LicenseError> {
    fetch_all(
        conn,
        "SELECT definition FROM licence_types ORDER BY code",
        [],
        type_from_row,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Departments (the organisation's shared table, read for names and USCCs)

/// An issuing department as licences name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dept {
    pub id: DepartmentId,
    pub code: String,
    pub name: String,
    pub uscc: Uscc,
}

fn dept_from_row(row: &QueryResult) -> Result<Dept, LicenseError> {
    let uscc: String = row.try_get("", "uscc").map_err(yiwang_db::DbError::from)?;
    Ok(Dept {
        id: DepartmentId::new(row.try_get("", "id").map_err(yiwang_db::DbError::from)?),
        code: row.try_get("", "code").map_err(yiwang_db::DbError::from)?,
        name: row.try_get("", "name").map_err(yiwang_db::DbError::from)?,
        uscc: Uscc::parse(&uscc)
            .map_err(|e| LicenseError::Corrupt(format!("department USCC: {e}")))?,
    })
}

pub async fn department_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<Dept>, LicenseError> {
    fetch_one(
        conn,
        "SELECT id, code, name, uscc FROM departments WHERE code = $1",
        [code.into()],
        dept_from_row,
    )
    .await
}

pub async fn department_by_id<C: ConnectionTrait>(
    conn: &C,
    id: DepartmentId,
) -> Result<Option<Dept>, LicenseError> {
    fetch_one(
        conn,
        "SELECT id, code, name, uscc FROM departments WHERE id = $1",
        [id.get().into()],
        dept_from_row,
    )
    .await
}

/// The enterprise registered with this USCC (enterprises are public organisation data).
pub async fn enterprise_id_by_uscc<C: ConnectionTrait>(
    conn: &C,
    uscc: &Uscc,
) -> Result<Option<EnterpriseId>, LicenseError> {
    fetch_one(
        conn,
        "SELECT id FROM enterprises WHERE uscc = $1",
        [uscc.as_str().into()],
        |row| {
            Ok(EnterpriseId::new(
                row.try_get("", "id").map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Seal keys

/// A stored key pair.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub key_id: String,
    pub owner: String,
    pub public_key: String,
    pub secret_sealed: String,
    pub not_before: DateTime<Utc>,
    pub not_after: Option<DateTime<Utc>>,
}

fn key_from_row(row: &QueryResult) -> Result<KeyRow, LicenseError> {
    let get = |c: &str| -> Result<String, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    Ok(KeyRow {
        key_id: get("key_id")?,
        owner: get("owner")?,
        public_key: get("public_key")?,
        secret_sealed: get("secret_sealed")?,
        not_before: get_ts(row, "not_before")?,
        not_after: get_opt_ts(row, "not_after")?,
    })
}

const KEY_COLUMNS: &str = "key_id, owner, public_key, secret_sealed, not_before, not_after";

/// The key an owner (department code or `platform`) signs with now.
pub async fn active_key<C: ConnectionTrait>(
    conn: &C,
    owner: &str,
) -> Result<Option<KeyRow>, LicenseError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {KEY_COLUMNS} FROM licence_seal_keys WHERE owner = $1 AND not_after IS NULL
             ORDER BY id DESC LIMIT 1"
        ),
        [owner.into()],
        key_from_row,
    )
    .await
}

pub async fn key_count<C: ConnectionTrait>(conn: &C, owner: &str) -> Result<u64, LicenseError> {
    Ok(count(
        conn,
        "SELECT COUNT(*) FROM licence_seal_keys WHERE owner = $1",
        [owner.into()],
    )
    .await?)
}

pub async fn insert_key<C: ConnectionTrait>(
    conn: &C,
    key: &KeyRow,
    department: Option<DepartmentId>,
    now: DateTime<Utc>,
) -> Result<(), LicenseError> {
    exec(
        conn,
        "INSERT INTO licence_seal_keys (key_id, department_id, owner, public_key, secret_sealed,
             not_before, not_after, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)",
        [
            key.key_id.clone().into(),
            department.map(DepartmentId::get).into(),
            key.owner.clone().into(),
            key.public_key.clone().into(),
            key.secret_sealed.clone().into(),
            ts(key.not_before).into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Ends the signing period of an owner's active keys.
pub async fn retire_keys<C: ConnectionTrait>(
    conn: &C,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<u64, LicenseError> {
    exec(
        conn,
        "UPDATE licence_seal_keys SET not_after = $2 WHERE owner = $1 AND not_after IS NULL",
        [owner.into(), ts(now).into()],
    )
    .await
}

/// Every key, as published.
pub async fn published_keys<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<PublishedKey>, LicenseError> {
    fetch_all(
        conn,
        &format!("SELECT {KEY_COLUMNS} FROM licence_seal_keys ORDER BY owner, id"),
        [],
        |row| {
            let k = key_from_row(row)?;
            Ok(PublishedKey {
                key_id: k.key_id,
                department: k.owner,
                algorithm: crate::document::ALGORITHM.to_owned(),
                public_key: k.public_key,
                not_before: k.not_before,
                not_after: k.not_after,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Licences

/// The next serial number of a type at a department.
pub async fn next_serial<C: ConnectionTrait>(
    conn: &C,
    type_code: &str,
    department: DepartmentId,
) -> Result<i64, LicenseError> {
    fetch_required(
        conn,
        "INSERT INTO licence_serials (type_code, department_id, last_value) VALUES ($1, $2, 1)
         ON CONFLICT (type_code, department_id) DO UPDATE SET last_value = licence_serials.last_value + 1
         RETURNING last_value",
        [type_code.into(), department.get().into()],
        |row| Ok(row.try_get::<i64>("", "last_value").map_err(yiwang_db::DbError::from)?),
    )
    .await
}

/// A licence row to write.
#[derive(Debug, Clone)]
pub struct NewLicense<'a> {
    pub identifier: &'a LicenseIdentifier,
    pub department: DepartmentId,
    pub holder: Holder,
    pub holder_name: &'a str,
    pub holder_id: &'a str,
    pub data: &'a BTreeMap<String, String>,
    pub issued_on: NaiveDate,
    pub valid_from: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub source: Source,
    pub case_no: Option<&'a str>,
    pub previous: Option<LicenseId>,
    pub signed: &'a str,
    pub signature: &'a str,
    pub key_id: &'a str,
    pub qr_signature: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert_licence<C: ConnectionTrait>(
    conn: &C,
    l: &NewLicense<'_>,
) -> Result<LicenseId, LicenseError> {
    let (person, enterprise) = match l.holder {
        Holder::Person(p) => (Some(p.get()), None),
        Holder::Enterprise(e) => (None, Some(e.get())),
    };
    let data = serde_json::to_string(l.data).map_err(|e| LicenseError::Corrupt(e.to_string()))?;
    fetch_required(
        conn,
        "INSERT INTO licences (identifier, type_code, serial, version, department_id, holder_person_id,
             holder_enterprise_id, holder_name, holder_id, data, issued_on, valid_from, expires_on, status,
             status_reason, status_at, source, case_no, previous_id, signed, signature, key_id, qr_signature,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'valid', '', $14, $15, $16, $17,
             $18, $19, $20, $21, $14)
         RETURNING id",
        [
            l.identifier.as_str().into(),
            l.identifier.type_code().into(),
            l.identifier.serial().into(),
            i64::from(l.identifier.version()).into(),
            l.department.get().into(),
            person.into(),
            enterprise.into(),
            l.holder_name.into(),
            l.holder_id.into(),
            data.into(),
            date(l.issued_on).into(),
            date(l.valid_from).into(),
            opt_date(l.expires_on),
            ts(l.now).into(),
            l.source.code().into(),
            l.case_no.map(str::to_owned).into(),
            l.previous.map(LicenseId::get).into(),
            l.signed.into(),
            l.signature.into(),
            l.key_id.into(),
            l.qr_signature.into(),
        ],
        |row| {
            Ok(LicenseId::new(
                row.try_get("", "id").map_err(yiwang_db::DbError::from)?,
            ))
        },
    )
    .await
}

const LICENCE_SELECT: &str = "SELECT l.id, l.identifier, l.type_code, t.name AS type_name, l.version,
    l.department_id, d.code AS department_code, d.name AS department_name, l.holder_person_id,
    l.holder_enterprise_id, l.holder_name, l.holder_id, l.data, l.issued_on, l.valid_from, l.expires_on,
    l.status, l.status_reason, l.status_at, l.source, l.case_no, l.signed, l.signature, l.key_id,
    l.qr_signature, l.created_at
  FROM licences l JOIN licence_types t ON t.code = l.type_code JOIN departments d ON d.id = l.department_id";

fn licence_from_row(row: &QueryResult) -> Result<License, LicenseError> {
    let s = |c: &str| -> Result<String, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let i = |c: &str| -> Result<Option<i64>, LicenseError> {
        Ok(row.try_get("", c).map_err(yiwang_db::DbError::from)?)
    };
    let holder = match (i("holder_person_id")?, i("holder_enterprise_id")?) {
        (Some(p), None) => Holder::Person(PersonId::new(p)),
        (None, Some(e)) => Holder::Enterprise(EnterpriseId::new(e)),
        _ => {
            return Err(LicenseError::Corrupt(
                "licence without one holder".to_owned(),
            ));
        }
    };
    let status = s("status")?;
    let source = s("source")?;
    Ok(License {
        id: LicenseId::new(i("id")?.unwrap_or_default()),
        identifier: LicenseIdentifier::parse(&s("identifier")?)?,
        type_code: s("type_code")?,
        type_name: s("type_name")?,
        version: u16::try_from(i("version")?.unwrap_or_default())
            .map_err(|e| LicenseError::Corrupt(e.to_string()))?,
        department_id: DepartmentId::new(i("department_id")?.unwrap_or_default()),
        department_code: s("department_code")?,
        department_name: s("department_name")?,
        holder,
        holder_name: s("holder_name")?,
        holder_id: s("holder_id")?,
        data: serde_json::from_str(&s("data")?)
            .map_err(|e| corrupt("licence data")(e.to_string()))?,
        issued_on: get_date(row, "issued_on")?,
        valid_from: get_date(row, "valid_from")?,
        expires_on: get_opt_date(row, "expires_on")?,
        status: LicenseStatus::parse(&status)
            .ok_or_else(|| LicenseError::Corrupt(format!("status {status}")))?,
        status_reason: s("status_reason")?,
        status_at: get_ts(row, "status_at")?,
        source: Source::parse(&source)
            .ok_or_else(|| LicenseError::Corrupt(format!("source {source}")))?,
        case_no: row
            .try_get("", "case_no")
            .map_err(yiwang_db::DbError::from)?,
        signed: s("signed")?,
        signature: s("signature")?,
        key_id: s("key_id")?,
        qr_signature: s("qr_signature")?,
        created_at: get_ts(row, "created_at")?,
    })
}

pub async fn licence_by_identifier<C: ConnectionTrait>(
    conn: &C,
    identifier: &str,
) -> Result<Option<License>, LicenseError> {
    fetch_one(
        conn,
        &format!("{LICENCE_SELECT} WHERE l.identifier = $1"),
        [identifier.into()],
        licence_from_row,
    )
    .await
}

pub async fn licence_by_id<C: ConnectionTrait>(
    conn: &C,
    id: LicenseId,
) -> Result<Option<License>, LicenseError> {
    fetch_one(
        conn,
        &format!("{LICENCE_SELECT} WHERE l.id = $1"),
        [id.get().into()],
        licence_from_row,
    )
    .await
}

/// Moves a licence from `from` to `to`; false when it was no longer in `from`.
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    id: LicenseId,
    from: LicenseStatus,
    to: LicenseStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, LicenseError> {
    Ok(exec(
        conn,
        "UPDATE licences SET status = $3, status_reason = $4, status_at = $5 WHERE id = $1 AND status = $2",
        [
            id.get().into(),
            from.code().into(),
            to.code().into(),
            reason.into(),
            ts(now).into(),
        ],
    )
    .await?
        == 1)
}

#[expect(clippy::too_many_arguments, reason = "the columns of a history line")]
pub async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    licence: LicenseId,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    from: Option<LicenseStatus>,
    to: LicenseStatus,
    reason: &str,
) -> Result<(), LicenseError> {
    exec(
        conn,
        "INSERT INTO licence_events (licence_id, at, actor, action, from_status, to_status, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            licence.get().into(),
            ts(at).into(),
            actor.into(),
            action.into(),
            from.map(|s| s.code().to_owned()).into(),
            to.code().into(),
            reason.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The history of every version of a licence (same type, department and serial), oldest first.
pub async fn history<C: ConnectionTrait>(
    conn: &C,
    licence: &License,
) -> Result<Vec<LicenseEvent>, LicenseError> {
    fetch_all(
        conn,
        "SELECT l.identifier, e.at, e.actor, e.action, e.from_status, e.to_status, e.reason
           FROM licence_events e JOIN licences l ON l.id = e.licence_id
          WHERE l.type_code = $1 AND l.department_id = $2 AND l.serial = $3
          ORDER BY e.id",
        [
            licence.type_code.clone().into(),
            licence.department_id.get().into(),
            licence.identifier.serial().into(),
        ],
        |row| {
            let from: Option<String> = row
                .try_get("", "from_status")
                .map_err(yiwang_db::DbError::from)?;
            let to: String = row
                .try_get("", "to_status")
                .map_err(yiwang_db::DbError::from)?;
            Ok(LicenseEvent {
                identifier: row
                    .try_get("", "identifier")
                    .map_err(yiwang_db::DbError::from)?,
                at: get_ts(row, "at")?,
                actor: row.try_get("", "actor").map_err(yiwang_db::DbError::from)?,
                action: row
                    .try_get("", "action")
                    .map_err(yiwang_db::DbError::from)?,
                from_status: from.as_deref().and_then(LicenseStatus::parse),
                to_status: LicenseStatus::parse(&to)
                    .ok_or_else(|| LicenseError::Corrupt(format!("status {to}")))?,
                reason: row
                    .try_get("", "reason")
                    .map_err(yiwang_db::DbError::from)?,
            })
        },
    )
    .await
}

/// `(holder_person_id = $1 OR holder_enterprise_id IN (…))` with its values, starting at `$first`.
fn holder_filter(
    person: PersonId,
    enterprises: &[EnterpriseId],
    first: usize,
    prefix: &str,
) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = vec![person.get().into()];
    let mut sql = format!("({prefix}holder_person_id = ${first}");
    if !enterprises.is_empty() {
        let list: Vec<String> = enterprises
            .iter()
            .enumerate()
            .map(|(i, e)| {
                values.push(e.get().into());
                format!("${}", first + 1 + i)
            })
            .collect();
        sql.push_str(" OR ");
        sql.push_str(prefix);
        sql.push_str("holder_enterprise_id IN (");
        sql.push_str(&list.join(", "));
        sql.push(')');
    }
    sql.push(')');
    (sql, values)
}

/// The licences of a person and of the enterprises given, newest first, one page.
pub async fn licences_of_holders<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    enterprises: &[EnterpriseId],
    limit: u64,
    offset: u64,
) -> Result<(Vec<License>, u64), LicenseError> {
    let (filter, values) = holder_filter(person, enterprises, 1, "l.");
    let total = count(
        conn,
        &format!("SELECT COUNT(*) FROM licences l WHERE {filter}"),
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
            "{LICENCE_SELECT} WHERE {filter} ORDER BY l.created_at DESC, l.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        all,
        licence_from_row,
    )
    .await?;
    Ok((items, total))
}

/// Valid licences of the holders, of one type (for 免提交 and prefill).
pub async fn valid_of_type<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    enterprises: &[EnterpriseId],
    type_code: &str,
    today: NaiveDate,
) -> Result<Vec<License>, LicenseError> {
    let (filter, mut values) = holder_filter(person, enterprises, 3, "l.");
    let mut all: Vec<Value> = vec![type_code.into(), date(today).into()];
    all.append(&mut values);
    fetch_all(
        conn,
        &format!(
            "{LICENCE_SELECT} WHERE l.type_code = $1 AND l.status = 'valid'
               AND (l.expires_on IS NULL OR l.expires_on >= $2) AND {filter}
             ORDER BY l.created_at DESC, l.id DESC LIMIT 20"
        ),
        all,
        licence_from_row,
    )
    .await
}

/// A department's licences, newest first, optionally narrowed by holder name, identifier or type
/// name text.
pub async fn department_licences<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
    text: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<License>, u64), LicenseError> {
    let mut values: Vec<Value> = vec![department.get().into()];
    let mut filter = "l.department_id = $1".to_owned();
    if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
        values.push(yiwang_db::like_contains(text.trim()).into());
        let clause = format!(
            " AND ({} OR {} OR l.type_code IN (SELECT t2.code FROM licence_types t2 WHERE {}))",
            yiwang_db::like_sql("l.holder_name", 2),
            yiwang_db::like_sql("l.identifier", 2),
            yiwang_db::like_sql("t2.name", 2)
        );
        filter.push_str(&clause);
    }
    let total = count(
        conn,
        &format!("SELECT COUNT(*) FROM licences l WHERE {filter}"),
        values.clone(),
    )
    .await?;
    let n = values.len();
    values.push((limit as i64).into());
    values.push((offset as i64).into());
    let items = fetch_all(
        conn,
        &format!(
            "{LICENCE_SELECT} WHERE {filter} ORDER BY l.created_at DESC, l.id DESC LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ),
        values,
        licence_from_row,
    )
    .await?;
    Ok((items, total))
}

/// Valid licences whose last day is before `today`, at most `limit`.
pub async fn past_expiry<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    limit: u64,
) -> Result<Vec<License>, LicenseError> {
    fetch_all(
        conn,
        &format!(
            "{LICENCE_SELECT} WHERE l.status = 'valid' AND l.expires_on IS NOT NULL AND l.expires_on < $1
             ORDER BY l.expires_on, l.id LIMIT $2"
        ),
        [date(today).into(), (limit as i64).into()],
        licence_from_row,
    )
    .await
}

/// Valid licences expiring between `today` and `until` whose version was not reminded yet.
pub async fn due_for_reminder<C: ConnectionTrait>(
    conn: &C,
    today: NaiveDate,
    until: NaiveDate,
    limit: u64,
) -> Result<Vec<License>, LicenseError> {
    fetch_all(
        conn,
        &format!(
            "{LICENCE_SELECT} WHERE l.status = 'valid' AND l.reminded_at IS NULL
               AND l.expires_on IS NOT NULL AND l.expires_on >= $1 AND l.expires_on <= $2
             ORDER BY l.expires_on, l.id LIMIT $3"
        ),
        [
            date(today).into(),
            date(until).into(),
            (limit as i64).into(),
        ],
        licence_from_row,
    )
    .await
}

/// Marks a version reminded; false when another node did first.
pub async fn mark_reminded<C: ConnectionTrait>(
    conn: &C,
    id: LicenseId,
    now: DateTime<Utc>,
) -> Result<bool, LicenseError> {
    Ok(exec(
        conn,
        "UPDATE licences SET reminded_at = $2 WHERE id = $1 AND reminded_at IS NULL",
        [id.get().into(), ts(now).into()],
    )
    .await?
        == 1)
}

/// Every revoked or cancelled licence, for the revocation list.
pub async fn listed<C: ConnectionTrait>(conn: &C) -> Result<Vec<RevocationEntry>, LicenseError> {
    fetch_all(
        conn,
        "SELECT identifier, status, status_at FROM licences
          WHERE status IN ('revoked', 'cancelled') ORDER BY status_at, id",
        [],
        |row| {
            Ok(RevocationEntry {
                identifier: row
                    .try_get("", "identifier")
                    .map_err(yiwang_db::DbError::from)?,
                status: row
                    .try_get("", "status")
                    .map_err(yiwang_db::DbError::from)?,
                at: get_ts(row, "status_at")?,
            })
        },
    )
    .await
}

/// How many licence versions of a type a holder has, whatever their status.
pub async fn count_of_type<C: ConnectionTrait>(
    conn: &C,
    holder: Holder,
    type_code: &str,
) -> Result<u64, LicenseError> {
    let (column, id) = match holder {
        Holder::Person(p) => ("holder_person_id", p.get()),
        Holder::Enterprise(e) => ("holder_enterprise_id", e.get()),
    };
    Ok(count(
        conn,
        &format!("SELECT COUNT(*) FROM licences WHERE {column} = $1 AND type_code = $2"),
        [id.into(), type_code.into()],
    )
    .await?)
}
