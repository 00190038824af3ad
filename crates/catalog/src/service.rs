//! Catalog use cases: reading guides and searching; staff drafting, reviewing and publishing versions;
//! importing and exporting the catalog; keeping the search index fresh.
//!
//! Every state change writes its audit entry and an outbox job (`catalog.reindex`) in the same
//! transaction; the job (and a periodic catch-up on every node) brings each node's index up to date.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, NewJob};
use yiwang_db::{DatabaseTransaction, Db, DbError};
use yiwang_identity::Department;
use yiwang_identity::model::StaffId;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::paging::MAX_PAGE_SIZE;
use yiwang_kernel::{Page, PageRequest, SharedClock, china_date, china_local_to_utc, sm3_hex};

use crate::CatalogError;
use crate::diff::{Change, diff};
use crate::model::{
    FileRef, Item, ItemContent, ItemId, ItemRecord, ItemVersion, ItemWithVersion, LifeEvent,
    LifeEventRecord, StaffRef, VersionId, VersionState, impl_code_problem,
};
use crate::repo::{self, CurrentItem, NewVersion, StaffItemRow, StoredFile};
use crate::search::{ItemHit, SearchIndex, SearchParams};
use crate::transfer::{self, Format, RowError};

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

    // ----- staff: drafting and review -----

    /// Items the staff member may edit or review: their department's, or all for a platform
    /// administrator. `only_open` keeps those with a version being edited or reviewed.
    pub async fn staff_items(
        &self,
        principal: &Principal,
        only_open: bool,
    ) -> Result<Vec<StaffItemRow>, CatalogError> {
        let department = match principal {
            Principal::Staff(s) => {
                if authorize(principal, &Action::ManageCatalog).is_ok() {
                    None
                } else {
                    authorize(
                        principal,
                        &Action::EditCatalog {
                            department: s.department,
                        },
                    )
                    .or_else(|_| {
                        authorize(
                            principal,
                            &Action::ReviewCatalog {
                                department: s.department,
                                author: None,
                            },
                        )
                    })?;
                    Some(s.department)
                }
            }
            other => {
                authorize(other, &Action::ManageCatalog)?;
                None
            }
        };
        repo::department_items(self.db.conn(), department, only_open).await
    }

    /// An item with every version, for staff who may edit or review it.
    pub async fn staff_item(
        &self,
        principal: &Principal,
        id: ItemId,
    ) -> Result<(Item, Vec<ItemVersion>), CatalogError> {
        let item = self.item(id).await?;
        let department = item.department_id;
        authorize(principal, &Action::EditCatalog { department }).or_else(|_| {
            authorize(
                principal,
                &Action::ReviewCatalog {
                    department,
                    author: None,
                },
            )
        })?;
        let versions = repo::versions_of(self.db.conn(), id).await?;
        Ok((item, versions))
    }

    async fn check_files(&self, content: &ItemContent) -> Result<(), CatalogError> {
        let mut problems = Vec::new();
        for (i, m) in content.materials.iter().enumerate() {
            for file in [&m.template, &m.sample].into_iter().flatten() {
                if !repo::file_exists(self.db.conn(), &file.digest).await? {
                    problems.push(crate::model::Problem {
                        field: format!("materials[{}]", i + 1),
                        code: "material_file_missing",
                        message: format!(
                            "file {} ({}) has not been uploaded",
                            file.name, file.digest
                        ),
                    });
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Invalid(problems))
        }
    }

    fn validate(content: &ItemContent) -> Result<(), CatalogError> {
        let problems = content.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CatalogError::Invalid(problems))
        }
    }

    /// Authorize a review before looking at what the request asks (date, note, the version's state):
    /// a caller who may neither review nor edit the item's department (who may not see its versions)
    /// is refused the same way whatever they sent. The review right itself, and whether they wrote
    /// the version, are checked with the version.
    fn may_review_department(principal: &Principal, item: &Item) -> Result<(), CatalogError> {
        let department = item.department_id;
        authorize(
            principal,
            &Action::ReviewCatalog {
                department,
                author: None,
            },
        )
        .or_else(|_| authorize(principal, &Action::EditCatalog { department }))?;
        Ok(())
    }

    /// Create a new item of a department with its first version as a draft.
    pub async fn create_item(
        &self,
        principal: &Principal,
        impl_code: &str,
        department: &Department,
        content: &ItemContent,
        origin: &Origin,
    ) -> Result<ItemId, CatalogError> {
        authorize(
            principal,
            &Action::EditCatalog {
                department: department.id,
            },
        )?;
        let impl_code = impl_code.trim();
        let mut problems: Vec<_> = impl_code_problem(impl_code).into_iter().collect();
        problems.extend(content.problems());
        if !problems.is_empty() {
            return Err(CatalogError::Invalid(problems));
        }
        self.check_files(content).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let item = repo::insert_item(&tx, impl_code, department.id, now).await?;
        repo::insert_version(
            &tx,
            &NewVersion {
                item,
                version_no: 1,
                state: VersionState::Draft,
                content,
                change_note: "",
                author: staff_id(principal),
                effective_from: None,
            },
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.item.create",
            &format!("item:{item}"),
            origin,
            json!({ "impl_code": impl_code, "department": department.code }),
        )
        .await?;
        commit(tx).await?;
        Ok(item)
    }

    /// Open a new draft from the newest version (unless one is already open, which is returned).
    pub async fn start_draft(
        &self,
        principal: &Principal,
        id: ItemId,
        origin: &Origin,
    ) -> Result<ItemVersion, CatalogError> {
        self.editable(principal, id).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if let Some(open) = repo::open_version(&tx, id).await? {
            return Ok(open);
        }
        let newest = repo::max_version_no(&tx, id).await?;
        let base = repo::version_by_no(&tx, id, newest)
            .await?
            .ok_or(CatalogError::VersionNotFound)?;
        let version = repo::insert_version(
            &tx,
            &NewVersion {
                item: id,
                version_no: newest + 1,
                state: VersionState::Draft,
                content: &base.content,
                change_note: "",
                author: staff_id(principal),
                effective_from: None,
            },
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.version.draft",
            &format!("item:{id}"),
            origin,
            json!({ "version_no": newest + 1 }),
        )
        .await?;
        let draft = repo::version_by_id(&tx, version)
            .await?
            .ok_or(CatalogError::VersionNotFound)?;
        commit(tx).await?;
        Ok(draft)
    }

    /// The item, if the principal may edit its department's catalog.
    async fn editable(&self, principal: &Principal, id: ItemId) -> Result<Item, CatalogError> {
        let item = self.item(id).await?;
        authorize(
            principal,
            &Action::EditCatalog {
                department: item.department_id,
            },
        )?;
        Ok(item)
    }

    async fn open_for(
        &self,
        tx: &DatabaseTransaction,
        id: ItemId,
    ) -> Result<ItemVersion, CatalogError> {
        repo::open_version(tx, id)
            .await?
            .ok_or(CatalogError::WrongState {
                state: "published",
                action: "edited",
            })
    }

    /// Save the open draft's content (a version sent back becomes a draft again).
    pub async fn save_draft(
        &self,
        principal: &Principal,
        id: ItemId,
        content: &ItemContent,
        change_note: &str,
        origin: &Origin,
    ) -> Result<(), CatalogError> {
        self.editable(principal, id).await?;
        Self::validate(content)?;
        self.check_files(content).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let open = self.open_for(&tx, id).await?;
        if open.state == VersionState::InReview {
            return Err(CatalogError::WrongState {
                state: "in_review",
                action: "edited",
            });
        }
        repo::update_draft(&tx, open.id, content, change_note.trim(), now).await?;
        let changes = diff(&open.content, content);
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.version.save",
            &format!("item:{id}"),
            origin,
            json!({
                "version_no": open.version_no,
                "fields": changes.iter().map(|c| c.field).collect::<Vec<_>>(),
            }),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Send the open draft for review by a second staff member.
    pub async fn submit(
        &self,
        principal: &Principal,
        id: ItemId,
        origin: &Origin,
    ) -> Result<(), CatalogError> {
        self.editable(principal, id).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let open = self.open_for(&tx, id).await?;
        if open.state != VersionState::Draft {
            return Err(CatalogError::WrongState {
                state: open.state.code(),
                action: "submitted",
            });
        }
        Self::validate(&open.content)?;
        repo::mark_submitted(&tx, open.id, now).await?;
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.version.submit",
            &format!("item:{id}"),
            origin,
            json!({ "version_no": open.version_no }),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Today in China, the date the catalog's effective dates count from.
    pub fn today(&self) -> NaiveDate {
        china_date(self.clock.now())
    }

    /// Publish the version in review, in effect from `effective_from` (today or later; today when not
    /// given).
    pub async fn approve(
        &self,
        principal: &Principal,
        id: ItemId,
        effective_from: Option<NaiveDate>,
        note: &str,
        origin: &Origin,
    ) -> Result<u32, CatalogError> {
        let item = self.item(id).await?;
        Self::may_review_department(principal, &item)?;
        let now = self.clock.now();
        let today = china_date(now);
        let effective_from = effective_from.unwrap_or(today);
        if effective_from < today {
            return Err(CatalogError::EffectiveInPast);
        }
        let tx = self.db.begin().await?;
        let open = self.open_for(&tx, id).await?;
        Self::check_reviewer(principal, &item, &open)?;
        repo::mark_reviewed(
            &tx,
            open.id,
            VersionState::Published,
            staff_id(principal),
            note.trim(),
            Some(effective_from),
            now,
        )
        .await?;
        let run_at = if effective_from <= today {
            let due = repo::due_version(&tx, id, today).await?;
            repo::set_current(&tx, id, due, now).await?;
            None
        } else {
            Some(china_local_to_utc(
                effective_from.and_time(chrono::NaiveTime::MIN),
            ))
        };
        jobs::enqueue(&tx, now, &reindex_job(run_at)).await?;
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.version.publish",
            &format!("item:{id}"),
            origin,
            json!({
                "version_no": open.version_no,
                "effective_from": effective_from.to_string(),
                "note": note.trim(),
            }),
        )
        .await?;
        commit(tx).await?;
        self.refresh_quietly().await;
        Ok(open.version_no)
    }

    /// Send the version in review back to its author with the reason.
    pub async fn reject(
        &self,
        principal: &Principal,
        id: ItemId,
        note: &str,
        origin: &Origin,
    ) -> Result<(), CatalogError> {
        let item = self.item(id).await?;
        Self::may_review_department(principal, &item)?;
        if note.trim().is_empty() {
            return Err(CatalogError::NoteRequired);
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let open = self.open_for(&tx, id).await?;
        Self::check_reviewer(principal, &item, &open)?;
        repo::mark_reviewed(
            &tx,
            open.id,
            VersionState::Rejected,
            staff_id(principal),
            note.trim(),
            None,
            now,
        )
        .await?;
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.version.reject",
            &format!("item:{id}"),
            origin,
            json!({ "version_no": open.version_no, "note": note.trim() }),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    fn check_reviewer(
        principal: &Principal,
        item: &Item,
        open: &ItemVersion,
    ) -> Result<(), CatalogError> {
        if open.state != VersionState::InReview {
            return Err(CatalogError::WrongState {
                state: open.state.code(),
                action: "reviewed",
            });
        }
        let author = open.author.as_ref().map(|a| a.id);
        if author.is_some() && author == staff_id(principal) {
            return Err(CatalogError::SelfReview);
        }
        authorize(
            principal,
            &Action::ReviewCatalog {
                department: item.department_id,
                author,
            },
        )?;
        Ok(())
    }

    /// Keep a template or sample file; returns its reference for a material.
    pub async fn upload_file(
        &self,
        principal: &Principal,
        name: &str,
        bytes: &[u8],
        origin: &Origin,
    ) -> Result<FileRef, CatalogError> {
        match principal {
            Principal::Staff(s) => authorize(
                principal,
                &Action::EditCatalog {
                    department: s.department,
                },
            )?,
            other => authorize(other, &Action::ManageCatalog)?,
        }
        let name = name
            .trim()
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .to_owned();
        let ext = name
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let content_type = FILE_TYPES
            .iter()
            .find(|(e, _)| *e == ext)
            .map(|(_, t)| *t)
            .ok_or_else(|| CatalogError::FileTypeRefused(ext.clone()))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(CatalogError::FileTooLarge {
                max: MAX_FILE_BYTES,
            });
        }
        if bytes.is_empty() || name.is_empty() {
            return Err(CatalogError::Invalid(vec![crate::model::Problem {
                field: "file".to_owned(),
                code: "file_empty",
                message: "choose a file that is not empty".to_owned(),
            }]));
        }
        let digest = sm3_hex(bytes);
        if repo::file_exists(self.db.conn(), &digest).await? {
            // The same bytes are kept once; the first name stays with them.
            return Ok(FileRef { name, digest });
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::insert_file(&tx, &digest, &name, content_type, bytes, now).await?;
        audit_entry(
            &tx,
            now,
            principal,
            "catalog.file.upload",
            &format!("file:{digest}"),
            origin,
            json!({ "name": name, "size": bytes.len() }),
        )
        .await?;
        commit(tx).await?;
        Ok(FileRef { name, digest })
    }

    // ----- import and export -----

    /// Import a catalog file. Every row is checked first; if any is bad, every bad row is reported
    /// and nothing changes. Otherwise new items are created and changed items get a new version, both
    /// published and in effect today; identical items are left alone.
    pub async fn import(
        &self,
        principal: &Principal,
        format: Format,
        bytes: &[u8],
        origin: &Origin,
    ) -> Result<ImportReport, CatalogError> {
        authorize(principal, &Action::ManageCatalog)?;
        let rows = transfer::parse(format, bytes)?;
        if rows.is_empty() {
            return Err(CatalogError::Unreadable("the file has no items".to_owned()));
        }
        let conn = self.db.conn();
        let mut errors: Vec<RowError> = Vec::new();
        let mut records: Vec<(usize, ItemRecord, Department)> = Vec::new();
        let mut departments: HashMap<String, Option<Department>> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        for (i, row) in rows.into_iter().enumerate() {
            let n = i + 1;
            let record = match row {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let mut row_errors = transfer::record_problems(n, &record);
            if !seen.insert(record.impl_code.clone()) {
                row_errors.push(RowError {
                    row: n,
                    impl_code: record.impl_code.clone(),
                    field: "impl_code".to_owned(),
                    code: "impl_code_repeated",
                    message: "this implementation code appears twice in the file".to_owned(),
                });
            }
            if !departments.contains_key(&record.department) {
                let found = yiwang_identity::service::department(&self.db, &record.department)
                    .await
                    .ok();
                departments.insert(record.department.clone(), found);
            }
            let department = departments.get(&record.department).cloned().flatten();
            if department.is_none() {
                row_errors.push(RowError {
                    row: n,
                    impl_code: record.impl_code.clone(),
                    field: "department".to_owned(),
                    code: "department_not_found",
                    message: format!("no department with code {:?}", record.department),
                });
            }
            if let Some(existing) = repo::item_by_impl_code(conn, &record.impl_code).await?
                && existing.department_code != record.department
            {
                row_errors.push(RowError {
                    row: n,
                    impl_code: record.impl_code.clone(),
                    field: "department".to_owned(),
                    code: "item_department_fixed",
                    message: format!(
                        "the item belongs to {}; an import cannot move it",
                        existing.department_code
                    ),
                });
            }
            if let Err(CatalogError::Invalid(problems)) = self.check_files(&record.content).await {
                row_errors.extend(
                    problems
                        .into_iter()
                        .map(|p| RowError::new(n, &record.impl_code, p)),
                );
            }
            match (row_errors.is_empty(), department) {
                (true, Some(d)) => records.push((n, record, d)),
                _ => errors.extend(row_errors),
            }
        }
        if !errors.is_empty() {
            return Err(CatalogError::ImportRejected(errors));
        }
        let now = self.clock.now();
        let today = china_date(now);
        let mut report = ImportReport::default();
        let tx = self.db.begin().await?;
        for (_, record, department) in &records {
            let existing = repo::item_by_impl_code(&tx, &record.impl_code).await?;
            let (item, version_no) = match existing {
                None => {
                    let id = repo::insert_item(&tx, &record.impl_code, department.id, now).await?;
                    report.created += 1;
                    (id, 1)
                }
                Some(item) => {
                    let current = match item.current_version {
                        Some(n) => repo::version_by_no(&tx, item.id, n).await?,
                        None => None,
                    };
                    if current.is_some_and(|c| c.content == record.content) {
                        report.unchanged += 1;
                        continue;
                    }
                    report.updated += 1;
                    (item.id, repo::max_version_no(&tx, item.id).await? + 1)
                }
            };
            let version = repo::insert_version(
                &tx,
                &NewVersion {
                    item,
                    version_no,
                    state: VersionState::Published,
                    content: &record.content,
                    change_note: "import",
                    author: staff_id(principal),
                    effective_from: Some(today),
                },
                now,
            )
            .await?;
            repo::set_current(&tx, item, Some(version), now).await?;
            audit_entry(
                &tx,
                now,
                principal,
                "catalog.item.import",
                &format!("item:{item}"),
                origin,
                json!({ "impl_code": record.impl_code, "version_no": version_no }),
            )
            .await?;
        }
        if report.created + report.updated > 0 {
            jobs::enqueue(&tx, now, &reindex_job(None)).await?;
        }
        commit(tx).await?;
        self.refresh_quietly().await;
        Ok(report)
    }

    /// The items in effect as a catalog file.
    pub async fn export(&self, format: Format) -> Result<Vec<u8>, CatalogError> {
        let items = repo::current_items(self.db.conn(), None).await?;
        let records: Vec<ItemRecord> = items
            .into_iter()
            .map(|c| ItemRecord {
                impl_code: c.item.impl_code,
                department: c.item.department_code,
                content: c.content,
            })
            .collect();
        transfer::write(format, &records)
    }

    /// Create or replace life events; every item they name must exist. Returns how many changed.
    pub async fn import_life_events(
        &self,
        principal: &Principal,
        events: &[LifeEventRecord],
        origin: &Origin,
    ) -> Result<usize, CatalogError> {
        authorize(principal, &Action::ManageCatalog)?;
        let conn = self.db.conn();
        let mut errors = Vec::new();
        let mut resolved = Vec::new();
        for (i, event) in events.iter().enumerate() {
            let mut ids = Vec::new();
            if event.code.trim().is_empty() || event.name.trim().is_empty() {
                errors.push(RowError {
                    row: i + 1,
                    impl_code: String::new(),
                    field: "code".to_owned(),
                    code: "life_event_incomplete",
                    message: "a life event needs a code and a name".to_owned(),
                });
            }
            for code in &event.items {
                match repo::item_by_impl_code(conn, code).await? {
                    Some(item) => ids.push(item.id),
                    None => errors.push(RowError {
                        row: i + 1,
                        impl_code: code.clone(),
                        field: "items".to_owned(),
                        code: "item_not_found",
                        message: format!("no item with implementation code {code}"),
                    }),
                }
            }
            resolved.push(ids);
        }
        if !errors.is_empty() {
            return Err(CatalogError::ImportRejected(errors));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut changed = 0;
        for (event, ids) in events.iter().zip(&resolved) {
            let existing = repo::life_events(&tx, Some(event.code.trim()), None).await?;
            let same = existing.first().is_some_and(|e| {
                e.name == event.name.trim()
                    && e.description == event.description.trim()
                    && e.audience == event.audience
                    && &e.item_ids == ids
            });
            if same {
                continue;
            }
            changed += 1;
            repo::upsert_life_event(
                &tx,
                event.code.trim(),
                event.name.trim(),
                event.description.trim(),
                &event.audience,
                ids,
                now,
            )
            .await?;
            audit_entry(
                &tx,
                now,
                principal,
                "catalog.life_event.upsert",
                &format!("life_event:{}", event.code),
                origin,
                json!({ "items": event.items }),
            )
            .await?;
        }
        commit(tx).await?;
        Ok(changed)
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
