//! Workflow definitions: checking, publishing and reading them.

use std::collections::HashMap;

use serde_json::json;
use yiwang_catalog::model::{ItemId, ItemStatus};
use yiwang_db::audit::{self, AuditEvent};
use yiwang_identity::policy::{Action, Principal, authorize};

use super::{Cases, Origin, actor};
use crate::CaseError;
use crate::model::Workflow;
use crate::repo;
use crate::workflow::{PostRef, ResolvedPost, WorkflowDef};

impl Cases {
    /// Check a definition against the organisation's posts without storing it.
    pub async fn check_workflow(&self, def: &WorkflowDef) -> Result<(), CaseError> {
        let posts: HashMap<PostRef, ResolvedPost> =
            repo::resolve_posts(self.db.conn(), &def.post_refs())
                .await?
                .into_iter()
                .collect();
        let problems = def.problems(&posts);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CaseError::WorkflowInvalid(problems))
        }
    }

    /// Publish a new version of an item's workflow. Cases already running keep theirs.
    #[tracing::instrument(skip_all, err)]
    pub async fn publish_workflow(
        &self,
        principal: &Principal,
        item: ItemId,
        def: &WorkflowDef,
        origin: &Origin,
    ) -> Result<Workflow, CaseError> {
        let found = self.catalog.item(item).await?;
        authorize(
            principal,
            &Action::EditCatalog {
                department: found.department_id,
            },
        )
        .or_else(|e| match principal {
            // Demo set-up and the command line publish workflows as the platform.
            Principal::System => authorize(principal, &Action::ManageCatalog),
            _ => Err(e),
        })?;
        self.check_workflow(def).await?;
        let now = self.clock.now();
        let by = actor(principal);
        let tx = self.db.begin().await?;
        let (id, version_no) = repo::insert_workflow(&tx, item, def, now, &by).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &by,
                "workflow.publish",
                format!("item:{}", found.impl_code),
                &origin.ip,
            )
            .detail(json!({ "version": version_no, "steps": def.steps.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(Workflow {
            id,
            item_id: item,
            version_no,
            definition: def.clone(),
            published_at: now,
            published_by: by,
        })
    }

    /// The workflow new applications of an item start under.
    pub async fn current_workflow(&self, item: ItemId) -> Result<Option<Workflow>, CaseError> {
        repo::latest_workflow(self.db.conn(), item).await
    }

    pub async fn workflow_history(&self, item: ItemId) -> Result<Vec<Workflow>, CaseError> {
        repo::workflows_of_item(self.db.conn(), item).await
    }

    pub async fn workflow(&self, id: crate::model::WorkflowId) -> Result<Workflow, CaseError> {
        repo::workflow_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::NoWorkflow)
    }

    /// Items with a workflow and their newest version number.
    pub async fn items_with_workflows(&self) -> Result<Vec<(ItemId, u32)>, CaseError> {
        repo::items_with_workflows(self.db.conn()).await
    }

    /// What an applicant needs to apply: the item version in effect and its workflow (form, commitment).
    pub async fn application_form(
        &self,
        item: ItemId,
    ) -> Result<(yiwang_catalog::service::Guide, Workflow), CaseError> {
        let guide = self.catalog.guide(item, None).await?;
        if guide.version.content.status != ItemStatus::InUse {
            return Err(CaseError::ItemNotInService);
        }
        let workflow = self
            .current_workflow(item)
            .await?
            .ok_or(CaseError::NoWorkflow)?;
        Ok((guide, workflow))
    }

    /// Items that can be applied for now (a published workflow, the item in service), read in one
    /// query: the counter offers them.
    pub async fn applicable_items(
        &self,
    ) -> Result<Vec<yiwang_catalog::reads::CurrentItem>, CaseError> {
        let ids: Vec<ItemId> = self
            .items_with_workflows()
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        Ok(self
            .catalog
            .items_in_effect(&ids)
            .await?
            .into_iter()
            .filter(|c| c.content.status == ItemStatus::InUse)
            .collect())
    }
}
