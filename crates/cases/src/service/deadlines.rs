//! Deadlines: the one extension of the decision limit, and the supervision sweep (warning
//! levels, 退件 of unanswered supplements).

use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_identity::model::Role;
use yiwang_identity::policy::Principal;

use super::engine::{Run, case_facts};
use super::{Cases, Origin, SweepReport, posts_of_staff, staff_of};
use crate::CaseError;
use crate::machine::{self, Command, Relation};
use crate::model::{Case, CaseId, CaseStatus, TaskStatus, Warning};
use crate::repo::{self, NewEvent};

impl Cases {
    /// Ask for the one extension of the decision limit (a staff member working on the case).
    #[tracing::instrument(skip_all, err)]
    pub async fn request_extension(
        &self,
        principal: &Principal,
        id: CaseId,
        reason: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let staff = staff_of(principal)?;
        let reason = reason.trim();
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut case = repo::case_by_id(&tx, id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        let posts = posts_of_staff(&tx, staff.id).await?;
        let mut facts = case_facts(&case, None, now);
        facts.given.opinion = !reason.is_empty();
        facts.relation.holds_post = repo::tasks_of_case(&tx, id)
            .await?
            .iter()
            .any(|t| t.status == TaskStatus::Open && posts.contains(&t.post_id));
        let transition = machine::decide(&facts, Command::RequestExtension)?;
        let run = Run {
            opinion: reason,
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// The department's administrator approves (the deadline moves by 10 working days) or refuses.
    #[tracing::instrument(skip_all, err)]
    pub async fn decide_extension(
        &self,
        principal: &Principal,
        id: CaseId,
        approve: bool,
        note: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let staff = staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mut case = repo::case_by_id(&tx, id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        let mut facts = case_facts(&case, None, now);
        facts.relation.requested_extension = case.extension_requested_by == Some(staff.id);
        facts.relation.department_admin =
            staff.department == case.department_id && staff.has(Role::DepartmentAdmin);
        let transition = machine::decide(&facts, Command::DecideExtension { approve })?;
        let run = Run {
            opinion: note.trim(),
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// Recompute warning levels of every running case and return cases whose supplement period
    /// ended. Safe on any number of nodes at once: each change is one conditional update.
    #[tracing::instrument(skip_all, err)]
    pub async fn sweep(&self) -> Result<SweepReport, CaseError> {
        let mut report = SweepReport::default();
        let mut after = CaseId::new(0);
        loop {
            let batch = repo::running_cases(self.db.conn(), after, 500).await?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.id;
            for case in batch {
                report.checked += 1;
                let now = self.clock.now();
                if case.status == CaseStatus::Supplement
                    && case.supplement_due_at.is_some_and(|due| now > due)
                {
                    match self
                        .return_unanswered(
                            &Principal::System,
                            case,
                            Relation {
                                system: true,
                                ..Relation::default()
                            },
                            &Origin::default(),
                        )
                        .await
                    {
                        Ok(_) => report.returned += 1,
                        Err(CaseError::Conflict | CaseError::WrongState { .. }) => {}
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                let level = if case.status == CaseStatus::Supplement {
                    // The applicant's clock: no warning to staff.
                    Warning::None
                } else {
                    self.deadlines.warning(now, case.running_deadline())
                };
                if level == case.warning {
                    continue;
                }
                let tx = self.db.begin().await?;
                if repo::set_warning(&tx, case.id, case.warning, level, now).await? {
                    repo::insert_event(
                        &tx,
                        &NewEvent {
                            case_id: case.id,
                            at: now,
                            actor: "system",
                            actor_name: "",
                            action: "warning",
                            from_status: Some(case.status),
                            to_status: case.status,
                            step_name: "",
                            note: "",
                            detail: json!({ "from": case.warning.code(), "to": level.code() }),
                            public: false,
                        },
                    )
                    .await?;
                    audit::append(
                        &tx,
                        now,
                        &AuditEvent::new(
                            "system",
                            "case.warning",
                            format!("case:{}", case.case_no.as_deref().unwrap_or("")),
                            "",
                        )
                        .detail(json!({ "from": case.warning.code(), "to": level.code() })),
                    )
                    .await?;
                    tx.commit().await?;
                    report.warnings_changed += 1;
                }
            }
        }
        report.files_removed = self.remove_unattached_files().await?;
        Ok(report)
    }
}
