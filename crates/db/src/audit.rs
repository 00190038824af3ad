//! The audit chain: an append-only log in which every entry carries the SM3 hash of the previous one.
//!
//! Entries are appended inside the caller's transaction, so an action and its audit entry commit or
//! roll back together. [`verify`] walks the whole chain and reports the first entry that does not match;
//! the `audit_head` row also catches entries cut off the end.
//!
//! A hash chain alone cannot reveal a tail rewritten consistently (every hash recomputed): whoever can
//! write the table can do that. **Anchors** close the gap: a serving node periodically records the
//! head with an HMAC-SM3 under the configured audit key ([`anchor`]), which the database does not hold.
//! [`verify_with`] checks every anchor's MAC and that the chain still passes through each anchored hash,
//! so a rewrite of anything older than the newest anchor is detected. Anchors are chained too (each MAC
//! covers the previous anchor's), so dropping one from the middle is detected; the newest anchor is
//! logged when it is written and printed by `yiwang audit verify`, so that dropping anchors off the end
//! can be noticed against the log.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use serde::Serialize;

use crate::{Db, DbError, parse_ts, stmt, ts};

/// The hash before the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to what, from where. Build with [`AuditEvent::new`].
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// Who acted: `system`, `anonymous`, `person:12`, `staff:7`, `cli`…
    pub actor: String,
    /// What they did, dotted: `department.upsert`, `person.view_pii`, `case.accept`.
    pub action: String,
    /// The resource acted on: `department:hf-fgw`, `case:340100-20260214-000001`.
    pub resource: String,
    /// Where the request came from: a client IP, `cli`, `worker`.
    pub source: String,
    /// Structured details (reasons, changed fields). Never raw personal data.
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        resource: impl Into<String>,
        source: impl Into<String>,
    ) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            resource: resource.into(),
            source: source.into(),
            detail: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    #[must_use]
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub resource: String,
    pub source: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SM3 over the previous hash and every field, each length-prefixed so that no two
/// different entries can produce the same input.
pub fn entry_hash(prev_hash: &str, seq: i64, at: &str, fields: [&str; 5]) -> String {
    let mut input = String::with_capacity(256);
    for part in [prev_hash, &seq.to_string(), at].into_iter().chain(fields) {
        input.push_str(&part.len().to_string());
        input.push(':');
        input.push_str(part);
        input.push('\n');
    }
    yiwang_kernel::crypto::sm3_hex(input.as_bytes())
}

/// Append an entry in the caller's transaction. It takes a transaction, not a pool: the head update and
/// the insert must commit together, and the head's lock must be held until the caller's change commits.
#[tracing::instrument(skip_all, err, fields(action = %event.action))]
pub async fn append(
    conn: &DatabaseTransaction,
    at: DateTime<Utc>,
    event: &AuditEvent,
) -> Result<AuditEntry, DbError> {
    // Updating the head first takes the lock that orders appenders.
    let head = conn
        .query_one_raw(stmt(
            conn,
            "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash",
            [],
        ))
        .await?
        .ok_or_else(|| DbError::Corrupt("audit_head row is missing".to_owned()))?;
    let seq: i64 = head.try_get("", "seq")?;
    let prev_hash: String = head.try_get("", "hash")?;
    let at_text = ts(at);
    let detail = event.detail.to_string();
    let hash = entry_hash(
        &prev_hash,
        seq,
        &at_text,
        [
            &event.actor,
            &event.action,
            &event.resource,
            &event.source,
            &detail,
        ],
    );
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO audit_log (seq, at, actor, action, resource, source, detail, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            seq.into(),
            at_text.into(),
            event.actor.clone().into(),
            event.action.clone().into(),
            event.resource.clone().into(),
            event.source.clone().into(),
            detail.clone().into(),
            prev_hash.clone().into(),
            hash.clone().into(),
        ],
    ))
    .await?;
    conn.execute_raw(stmt(
        conn,
        "UPDATE audit_head SET hash = $1 WHERE id = 1",
        [hash.clone().into()],
    ))
    .await?;
    Ok(AuditEntry {
        seq,
        at,
        actor: event.actor.clone(),
        action: event.action.clone(),
        resource: event.resource.clone(),
        source: event.source.clone(),
        detail,
        prev_hash,
        hash,
    })
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries checked and found intact (all of them when `broken` is `None`).
    pub checked: u64,
    pub broken: Option<BrokenEntry>,
    /// Anchors whose MAC was checked and whose hash the chain passes through.
    pub anchors_checked: u64,
    /// The newest anchor, if any: entries after it are protected only by the hash chain.
    pub last_anchor: Option<AnchorInfo>,
}

/// Where the newest anchor stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorInfo {
    pub seq: i64,
    pub at: String,
    pub mac: String,
}

/// The HMAC-SM3 key of the audit anchors (at least 128 bits, given as hex). Its id, a digest prefix,
/// is stored with each anchor so that a rotated key's anchors are still checked with the old key.
#[derive(Clone)]
pub struct AnchorKey {
    bytes: Vec<u8>,
    id: String,
}

impl std::fmt::Debug for AnchorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnchorKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AnchorKey {
    /// At least 32 hexadecimal digits (16 bytes), an even number of them.
    pub fn from_hex(text: &str) -> Result<Self, DbError> {
        let bytes = hex::decode(text.trim())
            .ok()
            .filter(|b| b.len() >= 16)
            .ok_or_else(|| {
                DbError::Corrupt("the audit key must be at least 32 hexadecimal digits".to_owned())
            })?;
        let mut input = b"yiwang-audit-anchor-key-id\n".to_vec();
        input.extend_from_slice(&bytes);
        let id = yiwang_kernel::crypto::sm3_hex(&input)[..16].to_owned();
        Ok(Self { bytes, id })
    }

    /// The key's public id (not secret: it identifies, it does not reveal).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, seq: i64, hash: &str, at: &str, prev_mac: &str) -> String {
        let mut input = String::from("yiwang-audit-anchor\n");
        for part in [&seq.to_string(), hash, at, &self.id, prev_mac] {
            input.push_str(&part.len().to_string());
            input.push(':');
            input.push_str(part);
            input.push('\n');
        }
        hex::encode(yiwang_kernel::crypto::hmac_sm3(
            &self.bytes,
            input.as_bytes(),
        ))
    }
}

/// Record the current head as an anchor, unless it is already anchored or the chain is empty.
/// Several nodes may call this at once: the head is read and the anchor inserted in one transaction
/// that takes the writer lock first, and the anchor's key is its sequence number.
#[tracing::instrument(skip_all, err)]
pub async fn anchor(
    db: &Db,
    at: DateTime<Utc>,
    key: &AnchorKey,
) -> Result<Option<AnchorInfo>, DbError> {
    let tx = db.begin().await?;
    // Taking the head's row lock (a no-op update) orders this after appenders and other anchorers.
    let head = tx
        .query_one_raw(stmt(
            &tx,
            "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
            [],
        ))
        .await?
        .ok_or_else(|| DbError::Corrupt("audit_head row is missing".to_owned()))?;
    let seq: i64 = head.try_get("", "seq")?;
    let hash: String = head.try_get("", "hash")?;
    let last = tx
        .query_one_raw(stmt(
            &tx,
            "SELECT seq, mac FROM audit_anchors ORDER BY seq DESC LIMIT 1",
            [],
        ))
        .await?;
    let (last_seq, prev_mac) = match last {
        Some(row) => (row.try_get::<i64>("", "seq")?, row.try_get("", "mac")?),
        None => (0, GENESIS_HASH.to_owned()),
    };
    if seq == 0 || seq <= last_seq {
        tx.rollback().await?;
        return Ok(None);
    }
    let at_text = ts(at);
    let mac = key.mac(seq, &hash, &at_text, &prev_mac);
    tx.execute_raw(stmt(
        &tx,
        "INSERT INTO audit_anchors (seq, hash, at, key_id, prev_mac, mac) VALUES ($1, $2, $3, $4, $5, $6)",
        [
            seq.into(),
            hash.into(),
            at_text.clone().into(),
            key.id().to_owned().into(),
            prev_mac.into(),
            mac.clone().into(),
        ],
    ))
    .await?;
    tx.commit().await?;
    Ok(Some(AnchorInfo {
        seq,
        at: at_text,
        mac,
    }))
}

/// One stored anchor.
struct AnchorRow {
    seq: i64,
    hash: String,
    at: String,
    key_id: String,
    prev_mac: String,
    mac: String,
}

/// Check the anchors against `keys` (their MACs and their chain). Returns them by sequence number
/// for the walk, or the reason the first bad one is bad.
async fn load_anchors(
    db: &Db,
    keys: &[AnchorKey],
) -> Result<Result<Vec<AnchorRow>, BrokenEntry>, DbError> {
    let conn = db.conn();
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT seq, hash, at, key_id, prev_mac, mac FROM audit_anchors ORDER BY seq",
            [],
        ))
        .await?;
    let mut anchors = Vec::with_capacity(rows.len());
    let mut prev_mac = GENESIS_HASH.to_owned();
    for row in rows {
        let anchor = AnchorRow {
            seq: row.try_get("", "seq")?,
            hash: row.try_get("", "hash")?,
            at: row.try_get("", "at")?,
            key_id: row.try_get("", "key_id")?,
            prev_mac: row.try_get("", "prev_mac")?,
            mac: row.try_get("", "mac")?,
        };
        let broken = |reason: String| BrokenEntry {
            seq: anchor.seq,
            reason,
        };
        if anchor.prev_mac != prev_mac {
            return Ok(Err(broken(
                "the anchor before this one is missing or altered".to_owned(),
            )));
        }
        let Some(key) = keys.iter().find(|k| k.id() == anchor.key_id) else {
            return Ok(Err(broken(format!(
                "its anchor was made with key {}, which was not given",
                anchor.key_id
            ))));
        };
        let expected = key.mac(anchor.seq, &anchor.hash, &anchor.at, &anchor.prev_mac);
        if !constant_time_eq(&expected, &anchor.mac) {
            return Ok(Err(broken(
                "its anchor's MAC does not match (the anchor was forged or altered)".to_owned(),
            )));
        }
        prev_mac.clone_from(&anchor.mac);
        anchors.push(anchor);
    }
    Ok(Ok(anchors))
}

/// Compare two MACs without leaking where they differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenEntry {
    pub seq: i64,
    pub reason: String,
}

const VERIFY_BATCH: i64 = 1000;

/// Walk the chain from the first entry and stop at the first one that does not match. Anchors are not
/// checked (no key): see [`verify_with`].
pub async fn verify(db: &Db) -> Result<VerifyReport, DbError> {
    verify_with(db, None).await
}

/// [`verify`], and with the audit keys (the current one and any rotated out) also every anchor: its
/// MAC, its place in the chain of anchors, and that the chain passes through its hash.
#[tracing::instrument(skip_all, err)]
pub async fn verify_with(db: &Db, keys: Option<&[AnchorKey]>) -> Result<VerifyReport, DbError> {
    let conn = db.conn();
    // Anchors before the head: the head only grows, so an anchor read first that lies beyond the head
    // read next means entries were cut off and the head wound back, while anchors written meanwhile
    // are simply not read.
    let anchors = match keys {
        None => Ok(Vec::new()),
        Some(keys) => load_anchors(db, keys).await?,
    };
    // Read the head before the entries and check the chain up to it: entries appended while
    // verifying lie beyond this head and are not mistaken for a mismatch.
    let head = conn
        .query_one_raw(stmt(
            conn,
            "SELECT seq, hash FROM audit_head WHERE id = 1",
            [],
        ))
        .await?
        .ok_or_else(|| DbError::Corrupt("audit_head row is missing".to_owned()))?;
    let head_seq: i64 = head.try_get("", "seq")?;
    let head_hash: String = head.try_get("", "hash")?;
    let anchors = match anchors.and_then(|anchors| match anchors.iter().find(|a| a.seq > head_seq) {
        Some(beyond) => Err(BrokenEntry {
            seq: beyond.seq,
            reason: format!(
                "an anchor records entry {} but the head is at entry {head_seq} (entries were removed)",
                beyond.seq
            ),
        }),
        None => Ok(anchors),
    }) {
        Ok(anchors) => anchors,
        Err(broken) => {
            return Ok(VerifyReport {
                checked: 0,
                broken: Some(broken),
                anchors_checked: 0,
                last_anchor: None,
            });
        }
    };
    let last_anchor = anchors.last().map(|a| AnchorInfo {
        seq: a.seq,
        at: a.at.clone(),
        mac: a.mac.clone(),
    });
    let mut pending_anchors = anchors.iter().peekable();
    let mut anchors_checked = 0_u64;
    let mut expected_prev = GENESIS_HASH.to_owned();
    let mut expected_seq = 1_i64;
    let mut checked = 0_u64;
    let broken = |seq: i64, reason: String, checked: u64| VerifyReport {
        checked,
        broken: Some(BrokenEntry { seq, reason }),
        anchors_checked: 0,
        last_anchor: None,
    };
    loop {
        let rows = conn
            .query_all_raw(stmt(
                conn,
                "SELECT seq, at, actor, action, resource, source, detail, prev_hash, hash
                 FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3",
                [expected_seq.into(), head_seq.into(), VERIFY_BATCH.into()],
            ))
            .await?;
        let batch_len = rows.len();
        for row in rows {
            let raw = RawEntry::from_row(&row)?;
            if raw.seq != expected_seq {
                return Ok(broken(
                    expected_seq,
                    format!(
                        "entry {expected_seq} is missing (next found is {})",
                        raw.seq
                    ),
                    checked,
                ));
            }
            if raw.prev_hash != expected_prev {
                return Ok(broken(
                    raw.seq,
                    "its previous-hash does not match the entry before it".to_owned(),
                    checked,
                ));
            }
            // Hash the stored text verbatim: re-formatting a parsed value could hide an edit.
            let recomputed = entry_hash(
                &raw.prev_hash,
                raw.seq,
                &raw.at,
                [
                    &raw.actor,
                    &raw.action,
                    &raw.resource,
                    &raw.source,
                    &raw.detail,
                ],
            );
            if recomputed != raw.hash {
                return Ok(broken(
                    raw.seq,
                    "its content does not match its hash (the entry was altered)".to_owned(),
                    checked,
                ));
            }
            if let Some(anchor) = pending_anchors.next_if(|a| a.seq == raw.seq) {
                if anchor.hash != raw.hash {
                    return Ok(broken(
                        raw.seq,
                        "it differs from the anchored hash (the chain was rewritten from here or before)"
                            .to_owned(),
                        checked,
                    ));
                }
                anchors_checked += 1;
            }
            expected_prev = raw.hash;
            expected_seq += 1;
            checked += 1;
        }
        if (batch_len as i64) < VERIFY_BATCH {
            break;
        }
    }
    if head_seq != expected_seq - 1 || head_hash != expected_prev {
        return Ok(broken(
            expected_seq,
            format!(
                "the chain ends at entry {} but the head records entry {head_seq} (entries were removed)",
                expected_seq - 1
            ),
            checked,
        ));
    }
    Ok(VerifyReport {
        checked,
        broken: None,
        anchors_checked,
        last_anchor,
    })
}

/// The newest entries about one resource, newest first.
pub async fn for_resource<C: ConnectionTrait>(
    conn: &C,
    resource: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT seq, at, actor, action, resource, source, detail, prev_hash, hash
             FROM audit_log WHERE resource = $1 ORDER BY seq DESC LIMIT $2",
            [resource.into(), limit.into()],
        ))
        .await?;
    rows.iter().map(entry_from_row).collect()
}

/// An entry exactly as stored, before any parsing.
struct RawEntry {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    resource: String,
    source: String,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl RawEntry {
    fn from_row(row: &sea_orm::QueryResult) -> Result<Self, DbError> {
        Ok(Self {
            seq: row.try_get("", "seq")?,
            at: row.try_get("", "at")?,
            actor: row.try_get("", "actor")?,
            action: row.try_get("", "action")?,
            resource: row.try_get("", "resource")?,
            source: row.try_get("", "source")?,
            detail: row.try_get("", "detail")?,
            prev_hash: row.try_get("", "prev_hash")?,
            hash: row.try_get("", "hash")?,
        })
    }
}

fn entry_from_row(row: &sea_orm::QueryResult) -> Result<AuditEntry, DbError> {
    let raw = RawEntry::from_row(row)?;
    Ok(AuditEntry {
        seq: raw.seq,
        at: parse_ts(&raw.at)?,
        actor: raw.actor,
        action: raw.action,
        resource: raw.resource,
        source: raw.source,
        detail: raw.detail,
        prev_hash: raw.prev_hash,
        hash: raw.hash,
    })
}
