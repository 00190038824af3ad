//! The application form as the pages use it: saving what was entered (uploads, files chosen again,
//! the draft) in one call, and listing at once everything that keeps it from being submitted.

use std::collections::BTreeMap;

use bytes::Bytes;
use rand::CryptoRng;
use yiwang_catalog::model::{ItemId, ItemVersion};
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::Principal;

use super::{Application, Cases, Origin, person_of, require_materials};
use crate::CaseError;
use crate::form::{FieldProblem, validate_form};
use crate::model::{CaseId, CaseMaterial, MaterialFile};
use crate::repo;
use crate::workflow::WorkflowDef;

/// One thing that keeps an application from being submitted, or a file that was refused.
#[derive(Debug)]
pub enum Problem {
    /// An answer breaks its field's rule.
    Answer(FieldProblem),
    /// The contact address is malformed; the draft was kept without it.
    ContactEmail,
    CommitmentNotSigned,
    /// A mandatory material (by its index among the item version's materials) has no file.
    MaterialMissing(usize),
    /// A file sent for a material (by index) was refused.
    Upload {
        index: usize,
        file: String,
        error: CaseError,
    },
}

/// A file sent for a material of the form.
#[derive(Debug, Clone)]
pub struct MaterialUpload {
    /// The material's index among the item version's materials.
    pub index: usize,
    pub name: String,
    pub content: Bytes,
}

/// The application form as sent.
#[derive(Debug, Clone, Default)]
pub struct ApplicationForm {
    pub item: Option<ItemId>,
    /// Public id of the enterprise applied for, if any.
    pub enterprise: Option<String>,
    pub answers: BTreeMap<String, String>,
    pub contact_email: String,
    pub commitment_signed: bool,
    /// New files, at most one per material.
    pub uploads: Vec<MaterialUpload>,
    /// Earlier files chosen again: (material index, file public id).
    pub reuse: Vec<(usize, String)>,
    /// The applicant goes on to check the answers (rather than only keeping the draft): everything
    /// missing is listed too.
    pub check: bool,
}

/// What saving the form did.
#[derive(Debug)]
pub struct SavedApplication {
    /// The draft (new or updated).
    pub id: CaseId,
    /// The file attached to each material.
    pub materials: Vec<CaseMaterial>,
    /// The applicant's files, newest first, the ones just uploaded included.
    pub files: Vec<MaterialFile>,
    /// The contact address kept (empty when it was malformed).
    pub contact_email: String,
    /// What is wrong, in no particular order; empty when the draft may be submitted.
    pub problems: Vec<Problem>,
}

/// What answering a supplement notice from the form did.
#[derive(Debug)]
pub struct Resubmission {
    /// The case was resubmitted (nothing was wrong).
    pub done: bool,
    /// The file attached to each material.
    pub materials: Vec<CaseMaterial>,
    /// The applicant's files, newest first, the ones just uploaded included.
    pub files: Vec<MaterialFile>,
    pub problems: Vec<Problem>,
}

/// The problems of the answers alone.
pub fn answer_problems(def: &WorkflowDef, answers: &BTreeMap<String, String>) -> Vec<Problem> {
    validate_form(&def.form, answers)
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(Problem::Answer)
        .collect()
}

/// Every problem that keeps an application from being submitted, at once: the answers, the signed
/// promise and the mandatory materials (the same rules submission applies).
pub fn completeness(
    def: &WorkflowDef,
    version: &ItemVersion,
    answers: &BTreeMap<String, String>,
    commitment_signed: bool,
    attached: &[String],
) -> Vec<Problem> {
    let mut problems = answer_problems(def, answers);
    if def.commitment.is_some() && !commitment_signed {
        problems.push(Problem::CommitmentNotSigned);
    }
    if let Err(CaseError::MaterialsMissing(missing)) = require_materials(def, version, attached) {
        problems.extend(
            version
                .content
                .materials
                .iter()
                .enumerate()
                .filter(|(_, m)| missing.contains(&m.name))
                .map(|(index, _)| Problem::MaterialMissing(index)),
        );
    }
    problems
}

impl Cases {
    /// Save the application form as a draft (new, or the applicant's `draft`): files sent are kept
    /// (a refused file is a problem, not a failure), each material gets its new file or the earlier
    /// one chosen again, and a malformed contact address is dropped and reported so nothing else
    /// entered is lost.
    #[tracing::instrument(skip_all, err)]
    pub async fn save_application(
        &self,
        principal: &Principal,
        draft: Option<CaseId>,
        form: &ApplicationForm,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<SavedApplication, CaseError> {
        let person = person_of(principal)?;
        let (def, version) = if let Some(id) = draft {
            let case = self.own_case(person, id).await?;
            let workflow = self.workflow(case.workflow_id).await?;
            (workflow.definition, self.item_version(&case).await?)
        } else {
            let item = form.item.ok_or(CaseError::Catalog(
                yiwang_catalog::CatalogError::ItemNotFound,
            ))?;
            let (guide, workflow) = self.application_form(item).await?;
            (workflow.definition, guide.version)
        };
        let (materials, files, mut problems) =
            self.pick_materials(principal, &version, form, rng).await?;
        let mut app = Application {
            item: form.item,
            enterprise: form.enterprise.clone(),
            answers: form.answers.clone(),
            contact_email: form.contact_email.trim().to_owned(),
            commitment_signed: form.commitment_signed,
            materials: materials
                .iter()
                .map(|m| (m.material.clone(), m.file.public_id.clone()))
                .collect(),
        };
        let id = loop {
            let result = match draft {
                None => self.create_draft(principal, &app, rng).await,
                Some(id) => self
                    .update_draft(principal, id, &app, rng)
                    .await
                    .map(|()| id),
            };
            match result {
                Ok(id) => break id,
                Err(CaseError::FormInvalid(found))
                    if !app.contact_email.is_empty()
                        && found.iter().all(|p| p.key == "contact_email") =>
                {
                    problems.push(Problem::ContactEmail);
                    app.contact_email.clear();
                }
                Err(other) => return Err(other),
            }
        };
        if form.check {
            let mut attached: Vec<String> = materials.iter().map(|m| m.material.clone()).collect();
            // 免提交: materials a licence of the applicant replaces count as provided.
            let item_code = self.catalog.item(version.item_id).await?.impl_code;
            let applicant = self.applicant(person, form.enterprise.as_deref()).await?;
            attached.extend(
                self.licensed_materials(
                    self.db.conn(),
                    &item_code,
                    person,
                    applicant.enterprise_id,
                )
                .await?
                .into_iter()
                .filter(|r| r.identifier.is_some())
                .map(|r| r.material),
            );
            problems.extend(completeness(
                &def,
                &version,
                &app.answers,
                app.commitment_signed,
                &attached,
            ));
        }
        Ok(SavedApplication {
            id,
            materials,
            files,
            contact_email: app.contact_email,
            problems,
        })
    }

    /// The applicant answers a supplement notice from the form: files sent are kept, the answers
    /// are checked, and only when nothing is wrong is the case resubmitted with the materials that
    /// changed.
    #[tracing::instrument(skip_all, err)]
    pub async fn resubmit_application(
        &self,
        principal: &Principal,
        id: CaseId,
        form: &ApplicationForm,
        origin: &Origin,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Resubmission, CaseError> {
        let person = person_of(principal)?;
        let case = self.own_case(person, id).await?;
        let workflow = self.workflow(case.workflow_id).await?;
        let version = self.item_version(&case).await?;
        let (materials, files, mut problems) =
            self.pick_materials(principal, &version, form, rng).await?;
        problems.extend(answer_problems(&workflow.definition, &form.answers));
        if problems.is_empty() {
            let attached = repo::materials_of_case(self.db.conn(), id).await?;
            let changed: Vec<(String, String)> = materials
                .iter()
                .filter(|c| {
                    !attached
                        .iter()
                        .any(|m| m.material == c.material && m.file.public_id == c.file.public_id)
                })
                .map(|c| (c.material.clone(), c.file.public_id.clone()))
                .collect();
            self.resubmit(principal, id, Some(&form.answers), &changed, origin, rng)
                .await?;
        }
        Ok(Resubmission {
            done: problems.is_empty(),
            materials,
            files,
            problems,
        })
    }

    /// Keep the files sent and pick, per material, the file to attach: a new upload, else the
    /// earlier file chosen again. A refused file is a problem, not a failure.
    async fn pick_materials(
        &self,
        principal: &Principal,
        version: &ItemVersion,
        form: &ApplicationForm,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<(Vec<CaseMaterial>, Vec<MaterialFile>, Vec<Problem>), CaseError> {
        let mut problems = Vec::new();
        let mut files = self.my_files(principal).await?;
        let mut materials = Vec::new();
        for (index, material) in version.content.materials.iter().enumerate() {
            if let Some(upload) = form.uploads.iter().find(|u| u.index == index) {
                match self
                    .upload_material(principal, None, &upload.name, upload.content.clone(), rng)
                    .await
                {
                    Ok(file) => {
                        files.insert(0, file.clone());
                        materials.push(CaseMaterial {
                            material: material.name.clone(),
                            file,
                        });
                        continue;
                    }
                    Err(
                        error @ (CaseError::FileTooLarge { .. }
                        | CaseError::FileTypeRefused(_)
                        | CaseError::FileContentMismatch(_)),
                    ) => problems.push(Problem::Upload {
                        index,
                        file: upload.name.clone(),
                        error,
                    }),
                    Err(other) => return Err(other),
                }
            }
            let reused = form
                .reuse
                .iter()
                .find(|(i, _)| *i == index)
                .and_then(|(_, id)| files.iter().find(|f| f.public_id == id.trim()));
            if let Some(file) = reused {
                materials.push(CaseMaterial {
                    material: material.name.clone(),
                    file: file.clone(),
                });
            }
        }
        Ok((materials, files, problems))
    }

    /// Keep the files window staff received with a counter application, for the person they serve:
    /// each becomes the file of the item's material at its index (an index past the materials is
    /// ignored). The first refused file comes back as a problem, and nothing after it is kept.
    #[tracing::instrument(skip_all, err)]
    pub async fn counter_files(
        &self,
        principal: &Principal,
        person: PersonId,
        item: ItemId,
        uploads: &[MaterialUpload],
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Result<Vec<(String, String)>, Problem>, CaseError> {
        let (guide, _) = self.application_form(item).await?;
        let mut kept = Vec::new();
        for upload in uploads {
            let Some(material) = guide.version.content.materials.get(upload.index) else {
                continue;
            };
            match self
                .upload_material(
                    principal,
                    Some(person),
                    &upload.name,
                    upload.content.clone(),
                    rng,
                )
                .await
            {
                Ok(file) => kept.push((material.name.clone(), file.public_id)),
                Err(
                    error @ (CaseError::FileTooLarge { .. }
                    | CaseError::FileTypeRefused(_)
                    | CaseError::FileContentMismatch(_)),
                ) => {
                    return Ok(Err(Problem::Upload {
                        index: upload.index,
                        file: upload.name.clone(),
                        error,
                    }));
                }
                Err(other) => return Err(other),
            }
        }
        Ok(Ok(kept))
    }
}
