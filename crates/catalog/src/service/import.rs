//! Import and export of the catalog (JSON / CSV, all-or-nothing) and of life events.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use yiwang_db::jobs::{self};
use yiwang_identity::Department;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::china_date;

use super::{Catalog, ImportReport, Origin, audit_entry, commit, reindex_job, staff_id};
use crate::CatalogError;
use crate::model::{ItemRecord, LifeEventRecord, VersionState};
use crate::repo::{self, NewVersion};
use crate::transfer::{self, Format, RowError};

impl Catalog {
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
}
