//! Material files: upload, a person's kept files, reading a file's content.

use bytes::Bytes;
use rand::CryptoRng;
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_identity::IdentityError;
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::sm3_hex;

use super::{Cases, actor, person_of};
use crate::CaseError;
use crate::files::{FileStore, check_file, clean_name};
use crate::model::{CaseId, MaterialFile};
use crate::repo::{self};

impl Cases {
    /// Keep an uploaded material file for its owner (the applicant, or a person window staff serve).
    #[tracing::instrument(skip_all, err)]
    pub async fn upload_material(
        &self,
        principal: &Principal,
        on_behalf_of: Option<PersonId>,
        name: &str,
        content: Bytes,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<MaterialFile, CaseError> {
        let owner = match (principal, on_behalf_of) {
            (Principal::Person(me), None) => *me,
            (Principal::Staff(_), Some(person)) => {
                authorize(principal, &Action::RegisterAtCounter)?;
                person
            }
            (Principal::Anonymous, _) => return Err(IdentityError::Unauthenticated.into()),
            _ => return Err(IdentityError::Forbidden.into()),
        };
        let name = clean_name(name);
        let content_type = check_file(&name, &content, self.files.max_bytes)?;
        let policy = self.files.policy;
        let (kept_files, kept_bytes) = repo::usage_of_person(self.db.conn(), owner).await?;
        if kept_files >= policy.max_files_per_person
            || kept_bytes.saturating_add(content.len() as u64) > policy.max_bytes_per_person
        {
            return Err(CaseError::FileQuotaExceeded {
                max_files: policy.max_files_per_person,
                max_bytes: policy.max_bytes_per_person,
            });
        }
        let digest = sm3_hex(&content);
        let public_id = yiwang_kernel::new_public_id(rng);
        let now = self.clock.now();
        let file = MaterialFile {
            id: crate::model::FileId::new(0),
            public_id: public_id.clone(),
            owner,
            name,
            content_type: content_type.to_owned(),
            size: content.len() as u64,
            storage_key: FileStore::key_for_digest(&digest),
            digest,
            created_at: now,
        };
        // Identical contents share one object. The object is written before its row: a crash in
        // between leaves an unreferenced object (harmless, swept with the next unattached file of the
        // same content or left), never a row without its content.
        if !self.files.exists(&file.storage_key).await? {
            self.files.put(&file.storage_key, &content, rng).await?;
        }
        let tx = self.db.begin().await?;
        let id = repo::insert_file(&tx, &file).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor(principal),
                "material.upload",
                format!("file:{public_id}"),
                "",
            )
            .detail(json!({ "size": file.size, "sm3": file.digest })),
        )
        .await?;
        tx.commit().await?;
        // A sweep on another node may have removed the shared object between the check above and
        // the commit (its last row expired); the row now points at it, so write it again.
        if !self.files.exists(&file.storage_key).await? {
            self.files.put(&file.storage_key, &content, rng).await?;
        }
        Ok(MaterialFile { id, ..file })
    }

    /// A person's kept files, to reuse in a new application.
    pub async fn my_files(&self, principal: &Principal) -> Result<Vec<MaterialFile>, CaseError> {
        let person = person_of(principal)?;
        repo::files_of_person(self.db.conn(), person, 100).await
    }

    /// A file's content: the owner may always read it; staff only through a case they may see.
    pub async fn file_content(
        &self,
        principal: &Principal,
        case: Option<CaseId>,
        public_id: &str,
    ) -> Result<(MaterialFile, Bytes), CaseError> {
        let file = repo::file_by_public_id(self.db.conn(), public_id)
            .await?
            .ok_or(CaseError::FileNotFound)?;
        let allowed = match principal {
            Principal::Person(me) if *me == file.owner => true,
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            _ => match case {
                Some(case_id) => {
                    let case = repo::case_by_id(self.db.conn(), case_id)
                        .await?
                        .ok_or(CaseError::FileNotFound)?;
                    self.authorize_view(principal, &case).await.is_ok()
                        && repo::case_has_file(self.db.conn(), case_id, file.id).await?
                }
                None => false,
            },
        };
        if !allowed {
            return Err(CaseError::FileNotFound);
        }
        let content = self.files.get(&file.storage_key, &file.digest).await?;
        Ok((file, content))
    }

    /// Delete files attached to no case since before the kept period, and their objects once no
    /// row points at them. Each row goes in its own transaction with its audit entry; a file attached
    /// meanwhile is left alone, so two nodes sweeping at once do no harm.
    pub(crate) async fn remove_unattached_files(&self) -> Result<usize, CaseError> {
        let now = self.clock.now();
        let cutoff = now - chrono::Duration::days(i64::from(self.files.policy.unattached_days));
        let mut removed = 0;
        loop {
            let batch = repo::unattached_files_before(self.db.conn(), cutoff, 200).await?;
            if batch.is_empty() {
                break;
            }
            let mut progressed = false;
            for file in batch {
                let tx = self.db.begin().await?;
                if !repo::delete_unattached_file(&tx, file.id).await? {
                    continue;
                }
                audit::append(
                    &tx,
                    now,
                    &AuditEvent::new(
                        "system",
                        "material.expire",
                        format!("file:{}", file.public_id),
                        "",
                    )
                    .detail(json!({ "size": file.size, "sm3": file.digest })),
                )
                .await?;
                let shared = repo::storage_key_in_use(&tx, &file.storage_key).await?;
                tx.commit().await?;
                progressed = true;
                removed += 1;
                if !shared {
                    self.files.delete(&file.storage_key).await?;
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(removed)
    }
}
