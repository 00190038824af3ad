//! All SQL of the catalog. Rows never leave this module; callers get model types.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    ConnectionTrait, DbError, QueryResult, fetch_all, fetch_one, fetch_required, get_opt_date,
    get_opt_ts, get_ts, opt_date, stmt, ts,
};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::StaffId;

use crate::CatalogError;
use crate::model::{
    AudienceType, Item, ItemContent, ItemId, ItemVersion, LifeEvent, LifeEventId, StaffRef,
    VersionId, VersionState,
};

const ITEM_COLUMNS: &str = "i.id, i.impl_code, i.department_id, d.code AS department_code, \
     d.name AS department_name, d.region_code, cv.version_no AS current_version_no";
const ITEM_FROM: &str = "catalog_items i JOIN departments d ON d.id = i.department_id \
     LEFT JOIN catalog_item_versions cv ON cv.id = i.current_version_id";

fn item_from_row(row: &QueryResult) -> Result<Item, CatalogError> {
    Ok(Item {
        id: ItemId::new(row.try_get("", "id")?),
        impl_code: row.try_get("", "impl_code")?,
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        department_code: row.try_get("", "department_code")?,
        department_name: row.try_get("", "department_name")?,
        region_code: row.try_get("", "region_code")?,
        current_version: row
            .try_get::<Option<i64>>("", "current_version_no")?
            .map(|n| n as u32),
    })
}

const VERSION_COLUMNS: &str = "v.id, v.item_id, v.version_no, v.state, v.content, v.change_note, \
     v.effective_from, v.author_id, a.name AS author_name, v.reviewer_id, r.name AS reviewer_name, \
     v.review_note, v.created_at, v.submitted_at, v.reviewed_at";
const VERSION_FROM: &str = "catalog_item_versions v LEFT JOIN staff a ON a.id = v.author_id \
     LEFT JOIN staff r ON r.id = v.reviewer_id";

fn staff_ref(row: &QueryResult, id: &str, name: &str) -> Result<Option<StaffRef>, CatalogError> {
    Ok(row.try_get::<Option<i64>>("", id)?.map(|raw| StaffRef {
        id: StaffId::new(raw),
        name: row
            .try_get::<Option<String>>("", name)
            .ok()
            .flatten()
            .unwrap_or_default(),
    }))
}

pub(crate) fn parse_content(text: &str) -> Result<ItemContent, CatalogError> {
    serde_json::from_str(text).map_err(|e| CatalogError::Corrupt(format!("item content: {e}")))
}

fn version_from_row(row: &QueryResult) -> Result<ItemVersion, CatalogError> {
    let state: String = row.try_get("", "state")?;
    Ok(ItemVersion {
        id: VersionId::new(row.try_get("", "id")?),
        item_id: ItemId::new(row.try_get("", "item_id")?),
        version_no: row.try_get::<i64>("", "version_no")? as u32,
        state: VersionState::parse(&state)
            .ok_or_else(|| CatalogError::Corrupt(format!("version state {state:?}")))?,
        content: parse_content(&row.try_get::<String>("", "content")?)?,
        effective_from: get_opt_date(row, "effective_from")?,
        author: staff_ref(row, "author_id", "author_name")?,
        reviewer: staff_ref(row, "reviewer_id", "reviewer_name")?,
        review_note: row.try_get("", "review_note")?,
        change_note: row.try_get("", "change_note")?,
        created_at: get_ts(row, "created_at")?,
        submitted_at: get_opt_ts(row, "submitted_at")?,
        reviewed_at: get_opt_ts(row, "reviewed_at")?,
    })
}

/// The version rows matching a condition (`where_sql` uses `$1, $2, …`).
async fn versions_where<C: ConnectionTrait>(
    conn: &C,
    where_sql: &str,
    values: Vec<yiwang_db::Value>,
) -> Result<Vec<ItemVersion>, CatalogError> {
    fetch_all(
        conn,
        &format!("SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE {where_sql}"),
        values,
        version_from_row,
    )
    .await
}

fn content_json(content: &ItemContent) -> Result<String, CatalogError> {
    serde_json::to_string(content).map_err(|e| CatalogError::Corrupt(format!("item content: {e}")))
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_item<C: ConnectionTrait>(
    conn: &C,
    impl_code: &str,
    department: DepartmentId,
    now: DateTime<Utc>,
) -> Result<ItemId, CatalogError> {
    let id: i64 = fetch_required(
        conn,
        "INSERT INTO catalog_items (impl_code, department_id, created_at, updated_at)
         VALUES ($1, $2, $3, $3) RETURNING id",
        [impl_code.into(), department.get().into(), ts(now).into()],
        |row| row.try_get("", "id").map_err(DbError::from),
    )
    .await
    .map_err(|e| {
        if e.is_unique_violation() {
            CatalogError::ImplCodeTaken(impl_code.to_owned())
        } else {
            CatalogError::Db(e)
        }
    })?;
    Ok(ItemId::new(id))
}

#[tracing::instrument(skip_all, err)]
pub async fn item_by_id<C: ConnectionTrait>(
    conn: &C,
    id: ItemId,
) -> Result<Option<Item>, CatalogError> {
    fetch_one(
        conn,
        &format!("SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} WHERE i.id = $1"),
        [id.get().into()],
        item_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn item_by_impl_code<C: ConnectionTrait>(
    conn: &C,
    impl_code: &str,
) -> Result<Option<Item>, CatalogError> {
    fetch_one(
        conn,
        &format!("SELECT {ITEM_COLUMNS} FROM {ITEM_FROM} WHERE i.impl_code = $1"),
        [impl_code.into()],
        item_from_row,
    )
    .await
}

/// A new version row.
#[derive(Debug)]
pub struct NewVersion<'a> {
    pub item: ItemId,
    pub version_no: u32,
    pub state: VersionState,
    pub content: &'a ItemContent,
    pub change_note: &'a str,
    pub author: Option<StaffId>,
    pub effective_from: Option<NaiveDate>,
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_version<C: ConnectionTrait>(
    conn: &C,
    new: &NewVersion<'_>,
    now: DateTime<Utc>,
) -> Result<VersionId, CatalogError> {
    let id: i64 = fetch_required(
        conn,
        "INSERT INTO catalog_item_versions
                 (item_id, version_no, state, name, content, change_note, author_id, effective_from,
                  created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        [
            new.item.get().into(),
            i64::from(new.version_no).into(),
            new.state.code().into(),
            new.content.name.clone().into(),
            content_json(new.content)?.into(),
            new.change_note.into(),
            new.author.map(StaffId::get).into(),
            opt_date(new.effective_from),
            ts(now).into(),
        ],
        |row| row.try_get("", "id").map_err(DbError::from),
    )
    .await
    .map_err(|e| {
        if e.is_unique_violation() {
            CatalogError::DraftExists
        } else {
            CatalogError::Db(e)
        }
    })?;
    Ok(VersionId::new(id))
}

/// Replace an open version's content (and put a sent-back version back into draft).
#[tracing::instrument(skip_all, err)]
pub async fn update_draft<C: ConnectionTrait>(
    conn: &C,
    version: VersionId,
    content: &ItemContent,
    change_note: &str,
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE catalog_item_versions SET content = $1, name = $2, change_note = $3, state = 'draft',
             updated_at = $4
         WHERE id = $5 AND state IN ('draft', 'rejected')",
        [
            content_json(content)?.into(),
            content.name.clone().into(),
            change_note.into(),
            ts(now).into(),
            version.get().into(),
        ],
    ))
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn mark_submitted<C: ConnectionTrait>(
    conn: &C,
    version: VersionId,
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE catalog_item_versions SET state = 'in_review', submitted_at = $1, updated_at = $1,
             review_note = '', reviewer_id = NULL, reviewed_at = NULL
         WHERE id = $2 AND state = 'draft'",
        [ts(now).into(), version.get().into()],
    ))
    .await?;
    Ok(())
}

/// Record a review: published with an effective date, or sent back.
#[tracing::instrument(skip_all, err)]
pub async fn mark_reviewed<C: ConnectionTrait>(
    conn: &C,
    version: VersionId,
    state: VersionState,
    reviewer: Option<StaffId>,
    note: &str,
    effective_from: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE catalog_item_versions SET state = $1, reviewer_id = $2, review_note = $3,
             effective_from = $4, reviewed_at = $5, updated_at = $5
         WHERE id = $6",
        [
            state.code().into(),
            reviewer.map(StaffId::get).into(),
            note.into(),
            opt_date(effective_from),
            ts(now).into(),
            version.get().into(),
        ],
    ))
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn version_by_id<C: ConnectionTrait>(
    conn: &C,
    id: VersionId,
) -> Result<Option<ItemVersion>, CatalogError> {
    Ok(versions_where(conn, "v.id = $1", vec![id.get().into()])
        .await?
        .into_iter()
        .next())
}

#[tracing::instrument(skip_all, err)]
pub async fn version_by_no<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
    version_no: u32,
) -> Result<Option<ItemVersion>, CatalogError> {
    Ok(versions_where(
        conn,
        "v.item_id = $1 AND v.version_no = $2",
        vec![item.get().into(), i64::from(version_no).into()],
    )
    .await?
    .into_iter()
    .next())
}

/// Every version of an item, newest first.
#[tracing::instrument(skip_all, err)]
pub async fn versions_of<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<Vec<ItemVersion>, CatalogError> {
    versions_where(
        conn,
        "v.item_id = $1 ORDER BY v.version_no DESC",
        vec![item.get().into()],
    )
    .await
}

/// The item's open version (draft, in review or sent back), if any.
#[tracing::instrument(skip_all, err)]
pub async fn open_version<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<Option<ItemVersion>, CatalogError> {
    Ok(versions_where(
        conn,
        "v.item_id = $1 AND v.state <> 'published'",
        vec![item.get().into()],
    )
    .await?
    .into_iter()
    .next())
}

#[tracing::instrument(skip_all, err)]
pub async fn max_version_no<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<u32, CatalogError> {
    let n: i64 = fetch_required(
        conn,
        "SELECT COALESCE(MAX(version_no), 0) AS n FROM catalog_item_versions WHERE item_id = $1",
        [item.get().into()],
        |r| r.try_get("", "n").map_err(DbError::from),
    )
    .await?;
    Ok(n as u32)
}

/// The published version that should be in effect on `day`: the newest one whose effective date has come.
#[tracing::instrument(skip_all, err)]
pub async fn due_version<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
    day: NaiveDate,
) -> Result<Option<VersionId>, CatalogError> {
    fetch_one(
        conn,
        "SELECT id FROM catalog_item_versions
         WHERE item_id = $1 AND state = 'published' AND effective_from <= $2
         ORDER BY version_no DESC LIMIT 1",
        [item.get().into(), yiwang_db::date(day).into()],
        |r| -> Result<_, CatalogError> { Ok(VersionId::new(r.try_get("", "id")?)) },
    )
    .await
}

/// Items whose version in effect is not the one due on `day` (a publication whose date has come).
#[tracing::instrument(skip_all, err)]
pub async fn items_due_for_change<C: ConnectionTrait>(
    conn: &C,
    day: NaiveDate,
) -> Result<Vec<ItemId>, CatalogError> {
    fetch_all(
        conn,
        "SELECT i.id FROM catalog_items i
         WHERE COALESCE(i.current_version_id, 0) <> COALESCE((
             SELECT v.id FROM catalog_item_versions v
             WHERE v.item_id = i.id AND v.state = 'published' AND v.effective_from <= $1
             ORDER BY v.version_no DESC LIMIT 1), 0)",
        [yiwang_db::date(day).into()],
        |r| -> Result<_, CatalogError> { Ok(ItemId::new(r.try_get("", "id")?)) },
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn set_current<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
    version: Option<VersionId>,
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE catalog_items SET current_version_id = $1, updated_at = $2 WHERE id = $3",
        [
            version.map(VersionId::get).into(),
            ts(now).into(),
            item.get().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// An item with the content of its version in effect.
#[derive(Debug, Clone)]
pub struct CurrentItem {
    pub item: Item,
    /// The version in effect.
    pub version: VersionId,
    pub content: ItemContent,
    pub updated_at: DateTime<Utc>,
}

/// Items with a version in effect, optionally only those changed since an instant, in id order.
#[tracing::instrument(skip_all, err)]
pub async fn current_items<C: ConnectionTrait>(
    conn: &C,
    changed_since: Option<DateTime<Utc>>,
) -> Result<Vec<CurrentItem>, CatalogError> {
    let since = changed_since.map(ts).unwrap_or_default();
    fetch_all(
        conn,
        &format!(
            "SELECT {ITEM_COLUMNS}, cv.id AS version_id, cv.content, i.updated_at FROM {ITEM_FROM}
             WHERE i.current_version_id IS NOT NULL AND i.updated_at >= $1 ORDER BY i.id"
        ),
        [since.into()],
        current_item_from_row,
    )
    .await
}

/// Items whose version in effect changed at or after an instant, with that version.
#[tracing::instrument(skip_all, err)]
pub async fn changed_since<C: ConnectionTrait>(
    conn: &C,
    since: DateTime<Utc>,
) -> Result<Vec<(ItemId, VersionId)>, CatalogError> {
    fetch_all(
        conn,
        "SELECT id, current_version_id FROM catalog_items
         WHERE current_version_id IS NOT NULL AND updated_at >= $1",
        [ts(since).into()],
        |r| -> Result<_, CatalogError> {
            Ok((
                ItemId::new(r.try_get("", "id")?),
                VersionId::new(r.try_get("", "current_version_id")?),
            ))
        },
    )
    .await
}

/// Items with a version in effect, by id (for pages listing a few).
#[tracing::instrument(skip_all, err)]
pub async fn current_items_by_ids<C: ConnectionTrait>(
    conn: &C,
    ids: &[ItemId],
) -> Result<Vec<CurrentItem>, CatalogError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let mut found = fetch_all(
        conn,
        &format!(
            "SELECT {ITEM_COLUMNS}, cv.id AS version_id, cv.content, i.updated_at FROM {ITEM_FROM}
             WHERE i.current_version_id IS NOT NULL AND i.id IN ({})",
            placeholders.join(", ")
        ),
        ids.iter().map(|id| id.get().into()),
        current_item_from_row,
    )
    .await?;
    found.sort_by_key(|c| ids.iter().position(|id| *id == c.item.id));
    Ok(found)
}

fn current_item_from_row(r: &QueryResult) -> Result<CurrentItem, CatalogError> {
    Ok(CurrentItem {
        item: item_from_row(r)?,
        version: VersionId::new(r.try_get("", "version_id")?),
        content: parse_content(&r.try_get::<String>("", "content")?)?,
        updated_at: get_ts(r, "updated_at")?,
    })
}

/// An item as its department's staff see it: the version in effect and the open one.
#[derive(Debug, Clone)]
pub struct StaffItemRow {
    pub item: Item,
    /// Name of the newest version (open or published).
    pub name: String,
    pub open_state: Option<VersionState>,
    pub open_version_no: Option<u32>,
}

/// Items of a department (or every department), with their open version's state, by name.
#[tracing::instrument(skip_all, err)]
pub async fn department_items<C: ConnectionTrait>(
    conn: &C,
    department: Option<DepartmentId>,
    only_open: bool,
) -> Result<Vec<StaffItemRow>, CatalogError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {ITEM_COLUMNS}, ov.state AS open_state, ov.version_no AS open_version_no,
                     COALESCE(ov.name, cv.name, (SELECT MAX(x.name) FROM catalog_item_versions x
                         WHERE x.item_id = i.id)) AS display_name
                 FROM {ITEM_FROM}
                 LEFT JOIN catalog_item_versions ov ON ov.item_id = i.id AND ov.state <> 'published'
                 WHERE ($1 = 0 OR i.department_id = $1) AND ($2 = 0 OR ov.id IS NOT NULL)
                 ORDER BY d.code, display_name, i.id"
        ),
        [
            department.map_or(0, DepartmentId::get).into(),
            i64::from(only_open).into(),
        ],
        |r| {
            Ok(StaffItemRow {
                item: item_from_row(r)?,
                name: r
                    .try_get::<Option<String>>("", "display_name")?
                    .unwrap_or_default(),
                open_state: r
                    .try_get::<Option<String>>("", "open_state")?
                    .and_then(|s| VersionState::parse(&s)),
                open_version_no: r
                    .try_get::<Option<i64>>("", "open_version_no")?
                    .map(|n| n as u32),
            })
        },
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_file<C: ConnectionTrait>(
    conn: &C,
    digest: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<(), CatalogError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO catalog_files (digest, name, content_type, size, bytes, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING",
        [
            digest.into(),
            name.into(),
            content_type.into(),
            (bytes.len() as i64).into(),
            bytes.to_vec().into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A stored file.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[tracing::instrument(skip_all, err)]
pub async fn file_by_digest<C: ConnectionTrait>(
    conn: &C,
    digest: &str,
) -> Result<Option<StoredFile>, CatalogError> {
    fetch_one(
        conn,
        "SELECT name, content_type, bytes FROM catalog_files WHERE digest = $1",
        [digest.into()],
        |r| -> Result<_, CatalogError> {
            Ok(StoredFile {
                name: r.try_get("", "name")?,
                content_type: r.try_get("", "content_type")?,
                bytes: r.try_get("", "bytes")?,
            })
        },
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn file_exists<C: ConnectionTrait>(conn: &C, digest: &str) -> Result<bool, CatalogError> {
    Ok(conn
        .query_one_raw(stmt(
            conn,
            "SELECT digest FROM catalog_files WHERE digest = $1",
            [digest.into()],
        ))
        .await?
        .is_some())
}

/// Insert or replace a life event and its items.
#[tracing::instrument(skip_all, err)]
pub async fn upsert_life_event<C: ConnectionTrait>(
    conn: &C,
    code: &str,
    name: &str,
    description: &str,
    audience: &[AudienceType],
    items: &[ItemId],
    now: DateTime<Utc>,
) -> Result<LifeEventId, CatalogError> {
    let audience = serde_json::to_string(audience)
        .map_err(|e| CatalogError::Corrupt(format!("audience: {e}")))?;
    let id: i64 = fetch_required(
            conn,
            "INSERT INTO catalog_life_events (code, name, description, audience, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5)
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, description = excluded.description,
                 audience = excluded.audience, updated_at = excluded.updated_at
             RETURNING id",
            [
                code.into(),
                name.into(),
                description.into(),
                audience.into(),
                ts(now).into(),
            ],
            |row| row.try_get("", "id").map_err(DbError::from),
        )
        .await?;
    let id = LifeEventId::new(id);
    conn.execute_raw(stmt(
        conn,
        "DELETE FROM catalog_life_event_items WHERE life_event_id = $1",
        [id.get().into()],
    ))
    .await?;
    for (position, item) in items.iter().enumerate() {
        conn.execute_raw(stmt(
            conn,
            "INSERT INTO catalog_life_event_items (life_event_id, item_id, position) VALUES ($1, $2, $3)",
            [id.get().into(), item.get().into(), (position as i64).into()],
        ))
        .await?;
    }
    Ok(id)
}

/// Life events (all, or those containing an item), by name.
#[tracing::instrument(skip_all, err)]
pub async fn life_events<C: ConnectionTrait>(
    conn: &C,
    code: Option<&str>,
    containing: Option<ItemId>,
) -> Result<Vec<LifeEvent>, CatalogError> {
    let mut events = fetch_all(
        conn,
        "SELECT e.id, e.code, e.name, e.description, e.audience FROM catalog_life_events e
         WHERE ($1 = '' OR e.code = $1)
           AND ($2 = 0 OR EXISTS (SELECT 1 FROM catalog_life_event_items x
                                  WHERE x.life_event_id = e.id AND x.item_id = $2))
         ORDER BY e.id",
        [
            code.unwrap_or_default().into(),
            containing.map_or(0, ItemId::get).into(),
        ],
        |r| -> Result<_, CatalogError> {
            Ok(LifeEvent {
                id: LifeEventId::new(r.try_get("", "id")?),
                code: r.try_get("", "code")?,
                name: r.try_get("", "name")?,
                description: r.try_get("", "description")?,
                audience: serde_json::from_str(&r.try_get::<String>("", "audience")?)
                    .map_err(|e| CatalogError::Corrupt(format!("life event audience: {e}")))?,
                item_ids: Vec::new(),
            })
        },
    )
    .await?;
    if events.is_empty() {
        return Ok(events);
    }
    // The items of every listed event in one query, not one per event.
    let placeholders: Vec<String> = (1..=events.len()).map(|i| format!("${i}")).collect();
    let links = fetch_all(
        conn,
        &format!(
            "SELECT life_event_id, item_id FROM catalog_life_event_items
             WHERE life_event_id IN ({}) ORDER BY life_event_id, position",
            placeholders.join(", ")
        ),
        events.iter().map(|e| e.id.get().into()),
        |r| -> Result<_, CatalogError> {
            Ok((
                LifeEventId::new(r.try_get("", "life_event_id")?),
                ItemId::new(r.try_get("", "item_id")?),
            ))
        },
    )
    .await?;
    for (event, item) in links {
        if let Some(found) = events.iter_mut().find(|e| e.id == event) {
            found.item_ids.push(item);
        }
    }
    Ok(events)
}
