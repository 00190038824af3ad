//! Catalog use cases: reading guides and searching; staff drafting, reviewing and publishing versions;
//! importing and exporting the catalog; keeping the search index fresh.
//!
//! Every state change writes its audit entry and an outbox job (`catalog.reindex`) in the same
//! transaction; the job (and a periodic catch-up on every node) brings each node's index up to date.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, NewJob};
use yiwang_db::{DatabaseTransaction, Db, DbError};
use yiwang_identity::model::StaffId;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::paging::MAX_PAGE_SIZE;
use yiwang_kernel::{Page, PageRequest, SharedClock, china_date};

use crate::CatalogError;
use crate::diff::{Change, diff};
use crate::model::{
    Item, ItemId, ItemVersion, ItemWithVersion, LifeEvent, StaffRef, VersionId, VersionState,
};
use crate::repo::{self, CurrentItem, StaffItemRow, StoredFile};
use crate::search::{ItemHit, SearchIndex, SearchParams};

/// The outbox job that brings the search index up to date.
pub const REINDEX_JOB: &str = "catalog.reindex";
/// Largest template or sample file accepted (blank forms are small; the request body limit is 2 MiB).
pub const MAX_FILE_BYTES: usize = 1536 * 1024;
/// File types accepted for templates and samples, by extension.
pub const FILE_TYPES: &[(&str, &str)] = &[
    ("pdf", "application/pdf"),
    ("ofd", "application/ofd"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("wps", "application/vnd.ms-works"),
    ("txt", "text/plain; charset=utf-8"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
];
/// Changes are re-read this far back on catch-up, so a transaction that committed late is not missed.
mod drafting;
mod import;

const CATCH_UP_OVERLAP: Duration = Duration::minutes(2);

/// Where a request came from, for audit entries.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// An item's guide: its version (the one in effect unless another was asked for) and the life events
/// it belongs to.
#[derive(Debug, Clone)]
pub struct Guide {
    pub item: Item,
    pub version: ItemVersion,
    pub life_events: Vec<LifeEvent>,
    /// Whether this is the version in effect today.
    pub in_effect: bool,
}

/// A life event with the items in it (those in effect, in order).
#[derive(Debug, Clone)]
pub struct LifeEventGuide {
    pub event: LifeEvent,
    pub items: Vec<CurrentItem>,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    db: Db,
    clock: SharedClock,
    index: Arc<SearchIndex>,
    /// Up to when this node's index has caught up with the database.
    synced_to: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// The version of each item this node's index holds, so a catch-up re-indexes only what changed.
    indexed: Arc<Mutex<HashMap<ItemId, VersionId>>>,
}

fn staff_id(principal: &Principal) -> Option<StaffId> {
    match principal {
        Principal::Staff(s) => Some(s.id),
        _ => None,
    }
}

fn actor(principal: &Principal) -> String {
    match principal {
        Principal::Staff(s) => s.actor(),
        Principal::System => "system".to_owned(),
        Principal::Person(p) => format!("person-id:{p}"),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

fn reindex_job(at: Option<DateTime<Utc>>) -> NewJob {
    let job = NewJob::new(REINDEX_JOB, json!({}));
    match at {
        Some(at) => job.run_at(at),
        None => job,
    }
}

/// The audit entry of a staff (or system) action, in the action's transaction.
async fn audit_entry(
    tx: &DatabaseTransaction,
    now: DateTime<Utc>,
    principal: &Principal,
    action: &str,
    resource: &str,
    origin: &Origin,
    detail: serde_json::Value,
) -> Result<(), CatalogError> {
    audit::append(
        tx,
        now,
        &AuditEvent::new(actor(principal), action, resource, &origin.ip).detail(detail),
    )
    .await?;
    Ok(())
}

async fn commit(tx: DatabaseTransaction) -> Result<(), CatalogError> {
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

impl Catalog {
    /// A catalog with an empty index; call [`Catalog::rebuild_index`] before serving.
    pub fn new(db: Db, clock: SharedClock) -> Result<Self, CatalogError> {
        Ok(Self {
            db,
            clock,
            index: Arc::new(SearchIndex::new()?),
            synced_to: Arc::new(Mutex::new(None)),
            indexed: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    // ----- search index -----

    /// Build this node's index from the items in effect (after making due versions take effect).
    pub async fn rebuild_index(&self) -> Result<usize, CatalogError> {
        let started = self.clock.now();
        self.activate_due().await?;
        let items = repo::current_items(self.db.conn(), None).await?;
        let count = items.len();
        let seen: HashMap<ItemId, VersionId> =
            items.iter().map(|i| (i.item.id, i.version)).collect();
        let index = Arc::clone(&self.index);
        tokio::task::spawn_blocking(move || index.rebuild(&items))
            .await
            .map_err(|e| CatalogError::Index(e.to_string()))??;
        if let Ok(mut indexed) = self.indexed.lock() {
            *indexed = seen;
        }
        self.set_synced(started);
        Ok(count)
    }

    fn set_synced(&self, at: DateTime<Utc>) {
        if let Ok(mut synced) = self.synced_to.lock() {
            *synced = Some(at);
        }
    }

    /// Bring this node's index up to date with items changed since the last catch-up. Returns how
    /// many items were re-indexed.
    pub async fn catch_up_index(&self) -> Result<usize, CatalogError> {
        let started = self.clock.now();
        self.activate_due().await?;
        let since = self
            .synced_to
            .lock()
            .ok()
            .and_then(|s| *s)
            .map(|s| s - CATCH_UP_OVERLAP);
        let changed = match since {
            Some(since) => repo::changed_since(self.db.conn(), since).await?,
            None => repo::changed_since(self.db.conn(), DateTime::<Utc>::UNIX_EPOCH).await?,
        };
        // Only what this node's index does not have yet (the overlap re-reads recent changes).
        let stale: Vec<ItemId> = match self.indexed.lock() {
            Ok(indexed) => changed
                .iter()
                .filter(|(id, version)| indexed.get(id) != Some(version))
                .map(|(id, _)| *id)
                .collect(),
            Err(_) => changed.iter().map(|(id, _)| *id).collect(),
        };
        let mut count = 0;
        for chunk in stale.chunks(500) {
            let items = repo::current_items_by_ids(self.db.conn(), chunk).await?;
            count += items.len();
            let seen: Vec<(ItemId, VersionId)> =
                items.iter().map(|i| (i.item.id, i.version)).collect();
            let index = Arc::clone(&self.index);
            tokio::task::spawn_blocking(move || index.update(&items, &[]))
                .await
                .map_err(|e| CatalogError::Index(e.to_string()))??;
            if let Ok(mut indexed) = self.indexed.lock() {
                indexed.extend(seen);
            }
        }
        self.set_synced(started);
        Ok(count)
    }

    /// Make published versions whose effective date has come the versions in effect.
    async fn activate_due(&self) -> Result<usize, CatalogError> {
        let now = self.clock.now();
        let today = china_date(now);
        let due = repo::items_due_for_change(self.db.conn(), today).await?;
        for item in &due {
            let tx = self.db.begin().await?;
            let version = repo::due_version(&tx, *item, today).await?;
            repo::set_current(&tx, *item, version, now).await?;
            audit::append(
                &tx,
                now,
                &AuditEvent::new(
                    "system",
                    "catalog.version.effective",
                    format!("item:{item}"),
                    "worker",
                )
                .detail(json!({ "version_id": version.map(VersionId::get) })),
            )
            .await?;
            commit(tx).await?;
        }
        Ok(due.len())
    }

    /// Search the items in effect.
    pub fn search(&self, params: &SearchParams) -> Result<Page<ItemHit>, CatalogError> {
        self.index.search(params)
    }

    pub fn suggest(&self, prefix: &str, limit: u32) -> Result<Vec<ItemHit>, CatalogError> {
        self.index.suggest(prefix, limit)
    }

    /// Codes of the departments performing at least one item in effect of a theme (read from the
    /// search index, page by page, no database query; as deep as paging goes, `MAX_PAGE` pages).
    pub fn departments_of_theme(&self, theme: &str) -> Result<HashSet<String>, CatalogError> {
        let mut codes = HashSet::new();
        let mut page_no = 1;
        loop {
            let Ok(page) = PageRequest::new(Some(page_no), Some(MAX_PAGE_SIZE)) else {
                return Ok(codes);
            };
            let found = self.index.search(&SearchParams {
                theme: Some(theme.to_owned()),
                page,
                ..SearchParams::default()
            })?;
            let more = found.has_next();
            codes.extend(found.items.into_iter().map(|hit| hit.department_code));
            if !more {
                return Ok(codes);
            }
            page_no += 1;
        }
    }

    // ----- public reads -----

    pub async fn item(&self, id: ItemId) -> Result<Item, CatalogError> {
        repo::item_by_id(self.db.conn(), id)
            .await?
            .ok_or(CatalogError::ItemNotFound)
    }

    pub async fn item_by_impl_code(&self, impl_code: &str) -> Result<Item, CatalogError> {
        repo::item_by_impl_code(self.db.conn(), impl_code)
            .await?
            .ok_or(CatalogError::ItemNotFound)
    }

    /// The guide of an item: the version in effect, or a published version by number. Versions not yet
    /// published are not public.
    pub async fn guide(&self, id: ItemId, version: Option<u32>) -> Result<Guide, CatalogError> {
        let conn = self.db.conn();
        let item = self.item(id).await?;
        let number = version
            .or(item.current_version)
            .ok_or(CatalogError::ItemNotFound)?;
        let version = repo::version_by_no(conn, id, number)
            .await?
            .filter(|v| v.state == VersionState::Published)
            .ok_or(CatalogError::VersionNotFound)?;
        let life_events = repo::life_events(conn, None, Some(id)).await?;
        Ok(Guide {
            in_effect: item.current_version == Some(version.version_no),
            item,
            version,
            life_events,
        })
    }

    /// Published versions of an item, newest first (the public history).
    pub async fn history(&self, id: ItemId) -> Result<(Item, Vec<ItemVersion>), CatalogError> {
        let item = self.item(id).await?;
        let versions = repo::versions_of(self.db.conn(), id)
            .await?
            .into_iter()
            .filter(|v| v.state == VersionState::Published)
            .collect();
        Ok((item, versions))
    }

    /// One version by id, whatever its state (cases keep the version they were applied under).
    pub async fn version(&self, id: VersionId) -> Result<ItemVersion, CatalogError> {
        repo::version_by_id(self.db.conn(), id)
            .await?
            .ok_or(CatalogError::VersionNotFound)
    }

    /// What changed from one version to another.
    pub async fn compare(
        &self,
        id: ItemId,
        from: u32,
        to: u32,
        include_open: bool,
    ) -> Result<Vec<Change>, CatalogError> {
        let conn = self.db.conn();
        let load = |n: u32| async move {
            repo::version_by_no(conn, id, n)
                .await?
                .filter(|v| include_open || v.state == VersionState::Published)
                .ok_or(CatalogError::VersionNotFound)
        };
        let (a, b) = (load(from).await?, load(to).await?);
        Ok(diff(&a.content, &b.content))
    }

    pub async fn life_events(&self) -> Result<Vec<LifeEvent>, CatalogError> {
        repo::life_events(self.db.conn(), None, None).await
    }

    /// Every life event with its items in effect: the events and then all their items in one read,
    /// however many events there are.
    pub async fn life_event_guides(&self) -> Result<Vec<LifeEventGuide>, CatalogError> {
        let conn = self.db.conn();
        let events = repo::life_events(conn, None, None).await?;
        let mut ids: Vec<ItemId> = events.iter().flat_map(|e| e.item_ids.clone()).collect();
        ids.sort_unstable();
        ids.dedup();
        let found: HashMap<ItemId, CurrentItem> = repo::current_items_by_ids(conn, &ids)
            .await?
            .into_iter()
            .map(|current| (current.item.id, current))
            .collect();
        Ok(events
            .into_iter()
            .map(|event| LifeEventGuide {
                items: event
                    .item_ids
                    .iter()
                    .filter_map(|id| found.get(id).cloned())
                    .collect(),
                event,
            })
            .collect())
    }

    /// Names of the items in effect by implementation code, in the order asked; a code without an item
    /// in effect is named by itself. One read per code and one for all names.
    pub async fn names_by_impl_code(
        &self,
        codes: &[String],
    ) -> Result<Vec<(String, String)>, CatalogError> {
        let conn = self.db.conn();
        let mut ids = Vec::with_capacity(codes.len());
        for code in codes {
            if let Some(item) = repo::item_by_impl_code(conn, code).await? {
                ids.push(item.id);
            }
        }
        let names: HashMap<String, String> = repo::current_items_by_ids(conn, &ids)
            .await?
            .into_iter()
            .map(|current| (current.item.impl_code, current.content.name))
            .collect();
        Ok(codes
            .iter()
            .map(|code| {
                let name = names.get(code).cloned().unwrap_or_else(|| code.clone());
                (code.clone(), name)
            })
            .collect())
    }

    /// Of the rows of [`Catalog::staff_items`], the versions in review this person may decide (never
    /// their own), with each version's author. Only items in review are read, one read each.
    pub async fn review_queue(
        &self,
        principal: &Principal,
        rows: &[StaffItemRow],
    ) -> Result<HashMap<ItemId, Option<StaffRef>>, CatalogError> {
        let may_review = |department, author| {
            authorize(principal, &Action::ReviewCatalog { department, author }).is_ok()
        };
        let mut queue = HashMap::new();
        for row in rows {
            let department = row.item.department_id;
            if row.open_state != Some(VersionState::InReview) || !may_review(department, None) {
                continue;
            }
            let author = repo::open_version(self.db.conn(), row.item.id)
                .await?
                .and_then(|v| v.author);
            if may_review(department, author.as_ref().map(|a| a.id)) {
                queue.insert(row.item.id, author);
            }
        }
        Ok(queue)
    }

    /// A life event with its items in effect.
    pub async fn life_event(&self, code: &str) -> Result<LifeEventGuide, CatalogError> {
        let conn = self.db.conn();
        let event = repo::life_events(conn, Some(code), None)
            .await?
            .into_iter()
            .next()
            .ok_or(CatalogError::LifeEventNotFound)?;
        let items = repo::current_items_by_ids(conn, &event.item_ids).await?;
        Ok(LifeEventGuide { event, items })
    }

    pub async fn file(&self, digest: &str) -> Result<StoredFile, CatalogError> {
        repo::file_by_digest(self.db.conn(), digest)
            .await?
            .ok_or(CatalogError::FileNotFound)
    }

    /// Catch the index up now, logging (not failing) when it cannot: the outbox job retries.
    async fn refresh_quietly(&self) {
        if let Err(error) = self.catch_up_index().await {
            tracing::warn!(%error, "search index catch-up failed; the reindex job will retry");
        }
    }

    /// Items of the life event or page that need their content (by id).
    pub async fn items_in_effect(&self, ids: &[ItemId]) -> Result<Vec<CurrentItem>, CatalogError> {
        repo::current_items_by_ids(self.db.conn(), ids).await
    }

    /// Published version of an item as an [`ItemWithVersion`] (for the API).
    pub async fn item_with_version(
        &self,
        id: ItemId,
        version: Option<u32>,
    ) -> Result<ItemWithVersion, CatalogError> {
        let guide = self.guide(id, version).await?;
        Ok(ItemWithVersion {
            item: guide.item,
            version: guide.version,
        })
    }

    /// The database (for the job handler registration).
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// Register the reindex job on a worker: it brings this node's index up to date.
pub fn register_index_handler(worker: &mut jobs::Worker, catalog: Catalog) {
    worker.register(REINDEX_JOB, move |_job| {
        let catalog = catalog.clone();
        async move {
            catalog
                .catch_up_index()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    });
}
