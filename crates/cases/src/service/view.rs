//! Reading cases: authorisation to view, a case's view, lists, inboxes and supervision lists.

use std::collections::HashMap;

use yiwang_db::audit::{self, AuditEvent};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::{PersonId, PostId, Role, StaffId};
use yiwang_identity::policy::{Action, DepartmentRef, Principal, authorize};
use yiwang_identity::{IdentityError, reads as id_reads};
use yiwang_kernel::{Page, PageRequest, sm3_hex};

use super::{
    CaseView, Cases, MAX_FILTER_CHARS, MAX_KEY_CHARS, Origin, PublicProgress, bounded, person_of,
    posts_of_staff, region_of, staff_of, supervised_prefix,
};
use crate::CaseError;
use crate::form::{FormData, masked};
use crate::model::{
    Case, CaseId, DepartmentWarnings, Disclosure, InboxCounts, InboxEntry, TaskStatus,
};
use crate::repo::{self, CaseFilter, InboxFilter};
use crate::workflow::{PostRef, WorkflowDef};

impl Cases {
    pub(super) async fn authorize_view(
        &self,
        principal: &Principal,
        case: &Case,
    ) -> Result<(), CaseError> {
        let conn = self.db.conn();
        let department = self.catalog.item(case.item_id).await?;
        let region = region_of(&department.region_code)?;
        let mut enterprise_facts: Option<(PersonId, Vec<PersonId>)> = None;
        if let (Principal::Person(_), Some(enterprise)) = (principal, case.applicant.enterprise_id)
            && let Some(found) = id_reads::enterprise_in(conn, enterprise).await?
        {
            let agents = id_reads::enterprise_agents_in(conn, enterprise).await?;
            enterprise_facts = Some((found.legal_representative, agents));
        }
        let works_on_it = match principal {
            Principal::Staff(staff) => repo::tasks_of_case(conn, case.id)
                .await?
                .iter()
                .any(|t| t.department_id == staff.department),
            _ => false,
        };
        authorize(
            principal,
            &Action::ViewCase {
                applicant: case.applicant.person_id,
                enterprise: enterprise_facts
                    .as_ref()
                    .map(|(rep, agents)| (*rep, agents.as_slice())),
                department: DepartmentRef {
                    id: case.department_id,
                    region: &region,
                },
                department_works_on_it: works_on_it,
            },
        )?;
        Ok(())
    }

    pub(super) async fn reload(&self, id: CaseId) -> Result<Case, CaseError> {
        repo::case_by_id(self.db.conn(), id)
            .await?
            .ok_or(CaseError::CaseNotFound)
    }

    /// A case by its public id or number; `None` when it does not exist or the caller may not see it.
    pub async fn find(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Option<CaseId>, CaseError> {
        if key.chars().nth(MAX_KEY_CHARS).is_some() {
            return Ok(None);
        }
        let key = key.trim();
        let found = match repo::case_by_public_id(self.db.conn(), key).await? {
            Some(case) => Some(case),
            None => repo::case_by_no(self.db.conn(), key).await?,
        };
        let Some(case) = found else {
            return Ok(None);
        };
        Ok(self
            .authorize_view(principal, &case)
            .await
            .ok()
            .map(|()| case.id))
    }

    /// A case by number (staff look cases up this way); `None` when it does not exist or the caller
    /// may not see it.
    pub async fn find_by_no(
        &self,
        principal: &Principal,
        case_no: &str,
    ) -> Result<Option<CaseId>, CaseError> {
        if case_no.chars().nth(MAX_KEY_CHARS).is_some() {
            return Ok(None);
        }
        let Some(case) = repo::case_by_no(self.db.conn(), case_no.trim()).await? else {
            return Ok(None);
        };
        Ok(self
            .authorize_view(principal, &case)
            .await
            .ok()
            .map(|()| case.id))
    }

    /// Everything the caller may see of a case. Staff reading the answers is audited (personal data).
    #[tracing::instrument(skip_all, err)]
    pub async fn view(
        &self,
        principal: &Principal,
        id: CaseId,
        origin: &Origin,
    ) -> Result<CaseView, CaseError> {
        let case = self.reload(id).await?;
        // Someone who may not see a case learns nothing about it, not even that it exists.
        self.authorize_view(principal, &case)
            .await
            .map_err(|e| match e {
                CaseError::Identity(IdentityError::Unauthenticated) => e,
                _ => CaseError::CaseNotFound,
            })?;
        let conn = self.db.conn();
        let workflow = self.workflow(case.workflow_id).await?;
        let item_version = self.item_version(&case).await?;
        let form = FormData(self.open_form(&repo::case_form(conn, id).await?)?);
        let is_applicant = matches!(principal, Principal::Person(_));
        let answers = if is_applicant {
            workflow
                .definition
                .form
                .iter()
                .filter_map(|f| Some((f.label.clone(), form.get(&f.key)?.to_owned())))
                .collect()
        } else {
            masked(&workflow.definition.form, &form)
        };
        let tasks = if is_applicant {
            Vec::new()
        } else {
            repo::tasks_of_case(conn, id).await?
        };
        let actionable = match principal {
            Principal::Staff(staff) => {
                let posts = self.posts_of(staff.id).await?;
                tasks
                    .iter()
                    .filter(|t| {
                        matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
                            && posts.contains(&t.post_id)
                            && t.claimed_by.is_none_or(|s| s == staff.id)
                    })
                    .map(|t| t.id)
                    .collect()
            }
            _ => Vec::new(),
        };
        if let Principal::Staff(staff) = principal {
            let tx = self.db.begin().await?;
            audit::append(
                &tx,
                self.clock.now(),
                &AuditEvent::new(
                    staff.actor(),
                    "case.read",
                    format!("case:{}", case.case_no.as_deref().unwrap_or("draft")),
                    &origin.ip,
                ),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(CaseView {
            events: repo::events_of_case(conn, id, is_applicant).await?,
            materials: repo::materials_of_case(conn, id).await?,
            case,
            workflow,
            item_version,
            tasks,
            answers,
            form: if is_applicant {
                form
            } else {
                FormData::default()
            },
            actionable,
            viewer_is_applicant: is_applicant,
        })
    }

    /// The caller's cases (their own and their enterprises'), newest first.
    pub async fn my_cases(
        &self,
        principal: &Principal,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        bounded("q", filter.text.as_deref(), MAX_FILTER_CHARS)?;
        let person = person_of(principal)?;
        repo::cases_of_person(self.db.conn(), person, filter, page).await
    }

    /// Follow a case with its number and query code, without logging in.
    pub async fn public_progress(
        &self,
        case_no: &str,
        query_code: &str,
    ) -> Result<PublicProgress, CaseError> {
        bounded("case_no", Some(case_no), MAX_KEY_CHARS)?;
        bounded("query_code", Some(query_code), MAX_KEY_CHARS)?;
        let case = repo::case_by_no(self.db.conn(), case_no.trim())
            .await?
            .ok_or(CaseError::QueryMismatch)?;
        let expected = case.query_code.as_deref().unwrap_or_default();
        let given = query_code.trim().to_ascii_uppercase();
        // Compare digests so the time taken does not depend on how many characters match.
        if expected.is_empty() || sm3_hex(expected.as_bytes()) != sm3_hex(given.as_bytes()) {
            return Err(CaseError::QueryMismatch);
        }
        let events = repo::events_of_case(self.db.conn(), case.id, true).await?;
        Ok(PublicProgress {
            case_no: case.case_no.unwrap_or_default(),
            item_name: case.item_name,
            department_name: case.department_name,
            status: case.status,
            outcome: case.outcome,
            submitted_at: case.submitted_at,
            accepted_at: case.accepted_at,
            decision_due_at: case.decision_due_at,
            concluded_at: case.concluded_at,
            events,
        })
    }

    /// Granted decisions, published with personal data masked (结果公示).
    pub async fn disclosures(&self, page: PageRequest) -> Result<Page<Disclosure>, CaseError> {
        repo::disclosures(self.db.conn(), page).await
    }

    pub(super) async fn posts_of(&self, staff: StaffId) -> Result<Vec<PostId>, CaseError> {
        posts_of_staff(self.db.conn(), staff).await
    }

    /// A staff member's inbox: open tasks of their posts.
    pub async fn inbox(
        &self,
        principal: &Principal,
        filter: &InboxFilter,
        page: PageRequest,
    ) -> Result<Page<InboxEntry>, CaseError> {
        bounded("q", filter.text.as_deref(), MAX_FILTER_CHARS)?;
        bounded("step", filter.step.as_deref(), MAX_FILTER_CHARS)?;
        let staff = staff_of(principal)?;
        let posts = self.posts_of(staff.id).await?;
        repo::inbox(self.db.conn(), &posts, staff.id, filter, page).await
    }

    pub async fn inbox_counts(&self, principal: &Principal) -> Result<InboxCounts, CaseError> {
        let staff = staff_of(principal)?;
        let posts = self.posts_of(staff.id).await?;
        repo::inbox_counts(self.db.conn(), &posts, staff.id).await
    }

    /// The names of the steps of the staff member's open tasks (to filter the inbox by).
    pub async fn inbox_steps(&self, principal: &Principal) -> Result<Vec<String>, CaseError> {
        let staff = staff_of(principal)?;
        let posts = self.posts_of(staff.id).await?;
        repo::inbox_steps(self.db.conn(), &posts, staff.id).await
    }

    /// The human names of a definition's posts ("审查岗（市市场监管局）"), for showing it.
    pub async fn post_names(
        &self,
        def: &WorkflowDef,
    ) -> Result<HashMap<PostRef, String>, CaseError> {
        Ok(repo::post_names(self.db.conn(), &def.post_refs())
            .await?
            .into_iter()
            .map(|(r, post, department)| (r, format!("{post}（{department}）")))
            .collect())
    }

    /// Cases of the staff member's department (lead or working on them), for its administrators.
    pub async fn department_cases(
        &self,
        principal: &Principal,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        bounded("q", filter.text.as_deref(), MAX_FILTER_CHARS)?;
        let staff = staff_of(principal)?;
        if !(staff.has(Role::DepartmentAdmin) || staff.has(Role::PlatformAdmin)) {
            return Err(IdentityError::Forbidden.into());
        }
        repo::cases_of_departments(self.db.conn(), &[staff.department], filter, page).await
    }

    /// 电子监察: cases near or past their deadline in the supervisor's region.
    pub async fn supervision(
        &self,
        principal: &Principal,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        self.supervision_of(principal, None, filter, page).await
    }

    /// 电子监察 of one department of the supervisor's region (or of all of them with `None`).
    pub async fn supervision_of(
        &self,
        principal: &Principal,
        department: Option<DepartmentId>,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        bounded("q", filter.text.as_deref(), MAX_FILTER_CHARS)?;
        let prefix = supervised_prefix(principal)?;
        repo::warned_cases(self.db.conn(), &prefix, department, filter, page).await
    }

    /// 电子监察 counts per department of the supervisor's region.
    pub async fn supervision_counts(
        &self,
        principal: &Principal,
    ) -> Result<Vec<DepartmentWarnings>, CaseError> {
        let prefix = supervised_prefix(principal)?;
        repo::warned_counts(self.db.conn(), &prefix).await
    }

    /// Grants on commitment awaiting verification in the supervisor's region.
    pub async fn pending_verifications(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<Case>, CaseError> {
        let prefix = supervised_prefix(principal)?;
        repo::pending_verifications(self.db.conn(), &prefix, page).await
    }
}
