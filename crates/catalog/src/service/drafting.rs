//! Staff drafting and review of item versions: lists, creation, drafts, submission, approval (a second person), rejection, template files.

use chrono::NaiveDate;
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_db::jobs::{self};
use yiwang_identity::Department;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::{china_date, china_local_to_utc, sm3_hex};

use super::{
    Catalog, FILE_TYPES, MAX_FILE_BYTES, Origin, audit_entry, commit, reindex_job, staff_id,
};
use crate::CatalogError;
use crate::diff::diff;
use crate::model::{
    FileRef, Item, ItemContent, ItemId, ItemVersion, VersionState, impl_code_problem,
};
use crate::repo::{self, NewVersion, StaffItemRow};

impl Catalog {
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

    pub(super) async fn check_files(&self, content: &ItemContent) -> Result<(), CatalogError> {
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

    pub(super) fn validate(content: &ItemContent) -> Result<(), CatalogError> {
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
    pub(super) fn may_review_department(
        principal: &Principal,
        item: &Item,
    ) -> Result<(), CatalogError> {
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
    pub(super) async fn editable(
        &self,
        principal: &Principal,
        id: ItemId,
    ) -> Result<Item, CatalogError> {
        let item = self.item(id).await?;
        authorize(
            principal,
            &Action::EditCatalog {
                department: item.department_id,
            },
        )?;
        Ok(item)
    }

    pub(super) async fn open_for(
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

    pub(super) fn check_reviewer(
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
}
