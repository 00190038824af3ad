//! The engine: every state change of a case is decided by [`machine::decide`] on facts loaded
//! here, and its transition is written by [`Cases::carry_out`] in the same transaction: the case
//! under its revision, task rows, the history line, the audit entry and the notification job.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use yiwang_catalog::CatalogError;
use yiwang_db::DatabaseTransaction;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, NewJob};
use yiwang_identity::model::{DepartmentId, Role};
use yiwang_identity::policy::{Action, Principal, StaffPrincipal, authorize};
use yiwang_identity::reads as id_reads;

use super::{
    CONCLUDED_JOB, Cases, Change, DELIVER_STEP, NOTIFY_JOB, Origin, VERIFY_STEP, actor, person_of,
    posts_of_staff, resolve_post, staff_of,
};
use crate::CaseError;
use crate::deadline::Deadlines;
use crate::machine::{
    self, Clock, Command, Facts, Given, Mode, Moment, Opens, Relation, SendBackTarget, TaskChange,
    TaskFacts, Transition,
};
use crate::model::{
    Act, ActInput, Case, CaseId, CaseStatus, SpecialKind, Task, TaskId, TaskKind, TaskStatus,
};
use crate::repo::{self, NewEvent, NewTask};
use crate::workflow::{StepAction, StepDef, StepKind, WorkflowDef};

/// How a decided command is written: who acts, on which task, with what words.
pub(super) struct Run<'a> {
    pub principal: &'a Principal,
    pub origin: &'a Origin,
    pub now: DateTime<Utc>,
    /// The case's workflow (needed when the transition opens tasks).
    pub def: Option<&'a WorkflowDef>,
    /// The task acted on (or, for a resubmission, the task waiting for the applicant).
    pub task: Option<&'a Task>,
    /// The opinion, reason or note, trimmed.
    pub opinion: &'a str,
    /// A supplement request's list of what is missing.
    pub missing: &'a [String],
    pub special: Option<(SpecialKind, NaiveDate)>,
}

impl<'a> Run<'a> {
    pub fn new(principal: &'a Principal, origin: &'a Origin, now: DateTime<Utc>) -> Self {
        Self {
            principal,
            origin,
            now,
            def: None,
            task: None,
            opinion: "",
            missing: &[],
            special: None,
        }
    }
}

/// The facts about a case that do not depend on the command's task or actor.
pub(super) fn case_facts(case: &Case, def: Option<&WorkflowDef>, now: DateTime<Utc>) -> Facts {
    Facts {
        status: case.status,
        mode: match def {
            Some(def) if def.instant => Mode::Instant,
            Some(def) if def.commitment.is_some() => Mode::Commitment,
            _ => Mode::Standard,
        },
        verification: case.verification,
        extension: case.extension,
        supplement_overdue: case.supplement_due_at.is_some_and(|due| now > due),
        task: None,
        others_running: false,
        review_disagreed: false,
        relation: Relation::default(),
        given: Given::default(),
    }
}

/// A task's facts for the rules; `action` is the step action asked for, if any.
fn task_facts(
    def: &WorkflowDef,
    task: &Task,
    tasks: &[Task],
    action: Option<StepAction>,
) -> Result<TaskFacts, CaseError> {
    let step = match task.kind {
        TaskKind::Step => Some(
            def.step(&task.step_id)
                .ok_or_else(|| CaseError::Corrupt(format!("step {} gone", task.step_id)))?,
        ),
        TaskKind::Deliver | TaskKind::Verify => None,
    };
    let previous = task
        .prev_task_id
        .and_then(|id| tasks.iter().find(|t| t.id == id))
        .and_then(|prev| def.step(&prev.step_id));
    Ok(TaskFacts {
        kind: task.kind,
        status: task.status,
        step_kind: task.step_kind,
        offers: step.is_some_and(|s| action.is_some_and(|a| s.offers(a))),
        join: step.is_some_and(|s| s.join),
        send_back: match previous {
            None => SendBackTarget::Nowhere,
            Some(prev) if prev.kind == StepKind::Intake => SendBackTarget::Intake,
            Some(prev) if prev.next.len() > 1 => SendBackTarget::Fork,
            Some(_) => SendBackTarget::Step,
        },
    })
}

/// The latest opinion of some review step is 不同意 (a step sent back and redone replaces its
/// earlier opinion).
fn review_disagreed(tasks: &[Task]) -> bool {
    let mut latest: HashMap<&str, &str> = HashMap::new();
    for t in tasks
        .iter()
        .filter(|t| t.step_kind == Some(StepKind::Review) && t.status == TaskStatus::Done)
    {
        if let Some(result) = t.result.as_deref() {
            latest.insert(t.step_id.as_str(), result);
        }
    }
    latest.values().any(|r| *r == "disagree")
}

/// A task, its case, workflow and all the case's tasks, read in the action's transaction.
struct Loaded {
    task: Task,
    case: Case,
    def: WorkflowDef,
    tasks: Vec<Task>,
    holds_post: bool,
}

impl Loaded {
    fn facts(
        &self,
        staff: &StaffPrincipal,
        action: Option<StepAction>,
        now: DateTime<Utc>,
    ) -> Result<Facts, CaseError> {
        let mut facts = case_facts(&self.case, Some(&self.def), now);
        facts.task = Some(task_facts(&self.def, &self.task, &self.tasks, action)?);
        facts.others_running = self.tasks.iter().any(|t| {
            t.id != self.task.id && matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
        });
        facts.review_disagreed = review_disagreed(&self.tasks);
        facts.relation = Relation {
            holds_post: self.holds_post,
            claimed_by_other: self.task.claimed_by.is_some_and(|s| s != staff.id),
            accepted_case: self.tasks.iter().any(|t| {
                t.step_kind == Some(StepKind::Intake)
                    && t.result.as_deref() == Some("accept")
                    && t.acted_by == Some(staff.id)
            }),
            ..Relation::default()
        };
        Ok(facts)
    }
}

impl Cases {
    /// Write the case under its revision, its history line, the audit entry and the notification job.
    pub(super) async fn record(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        case: &mut Case,
        now: DateTime<Utc>,
        origin: &Origin,
        change: Change<'_>,
    ) -> Result<(), CaseError> {
        if !repo::save_case(tx, case, now).await? {
            return Err(CaseError::Conflict);
        }
        case.revision += 1;
        let actor_id = actor(principal);
        let actor_name = match principal {
            Principal::Staff(s) => id_reads::staff_in(tx, s.id)
                .await?
                .map(|s| s.name)
                .unwrap_or_default(),
            Principal::Person(p) => id_reads::person_in(tx, *p)
                .await?
                .map(|person| person.name)
                .unwrap_or_default(),
            _ => String::new(),
        };
        let event = repo::insert_event(
            tx,
            &NewEvent {
                case_id: case.id,
                at: now,
                actor: &actor_id,
                actor_name: &actor_name,
                action: change.action,
                from_status: change.from,
                to_status: case.status,
                step_name: change.step_name,
                note: change.note,
                detail: change.detail.clone(),
                public: change.public,
            },
        )
        .await?;
        audit::append(
            tx,
            now,
            &AuditEvent::new(
                &actor_id,
                format!("case.{}", change.action),
                format!("case:{}", case.case_no.as_deref().unwrap_or("draft")),
                &origin.ip,
            )
            .detail(json!({
                "from": change.from.map(CaseStatus::code),
                "to": case.status.code(),
                "step": change.step_name,
            })),
        )
        .await?;
        if change.public && case.case_no.is_some() {
            jobs::enqueue(tx, now, &NewJob::new(NOTIFY_JOB, json!({ "event": event }))).await?;
        }
        if case.status == CaseStatus::Concluded && change.from != Some(CaseStatus::Concluded) {
            jobs::enqueue(
                tx,
                now,
                &NewJob::new(CONCLUDED_JOB, json!({ "case": case.id.get() })),
            )
            .await?;
        }
        Ok(())
    }

    /// Record a change (see [`record`](Self::record)), commit it, and return the case as stored.
    pub(super) async fn finish(
        &self,
        tx: DatabaseTransaction,
        principal: &Principal,
        case: &mut Case,
        now: DateTime<Utc>,
        origin: &Origin,
        change: Change<'_>,
    ) -> Result<Case, CaseError> {
        self.record(&tx, principal, case, now, origin, change)
            .await?;
        tx.commit().await?;
        self.reload(case.id).await
    }

    /// Claim a task so colleagues on the same post see it is being handled.
    pub async fn claim(&self, principal: &Principal, task: TaskId) -> Result<(), CaseError> {
        let staff = staff_of(principal)?;
        let found = repo::task_by_id(self.db.conn(), task)
            .await?
            .ok_or(CaseError::TaskNotFound)?;
        let posts = self.posts_of(staff.id).await?;
        let holds_post = posts.contains(&found.post_id);
        if outside(staff, holds_post, found.department_id) {
            return Err(CaseError::TaskNotFound);
        }
        authorize(principal, &Action::WorkOnCase { holds_post })?;
        if repo::claim_task(self.db.conn(), task, staff.id, self.clock.now()).await? {
            Ok(())
        } else if found.status == TaskStatus::Open {
            Err(CaseError::ClaimedByOther)
        } else {
            Err(CaseError::TaskClosed)
        }
    }

    /// Give a claimed task back to the post.
    pub async fn release(&self, principal: &Principal, task: TaskId) -> Result<(), CaseError> {
        let staff = staff_of(principal)?;
        if repo::release_task(self.db.conn(), task, staff.id).await? {
            Ok(())
        } else {
            Err(CaseError::TaskClosed)
        }
    }

    /// Staff outside the task's department who do not hold its post learn nothing of it: the task
    /// answers as a missing one would (a wrong post inside the department is still `forbidden`).
    async fn load_task(
        &self,
        tx: &DatabaseTransaction,
        staff: &StaffPrincipal,
        task: TaskId,
    ) -> Result<Loaded, CaseError> {
        let task = repo::task_by_id(tx, task)
            .await?
            .ok_or(CaseError::TaskNotFound)?;
        let posts = posts_of_staff(tx, staff.id).await?;
        if outside(staff, posts.contains(&task.post_id), task.department_id) {
            return Err(CaseError::TaskNotFound);
        }
        let case = repo::case_by_id(tx, task.case_id)
            .await?
            .ok_or(CaseError::CaseNotFound)?;
        let workflow = repo::workflow_by_id(tx, case.workflow_id)
            .await?
            .ok_or(CaseError::NoWorkflow)?;
        let tasks = repo::tasks_of_case(tx, case.id).await?;
        Ok(Loaded {
            holds_post: posts.contains(&task.post_id),
            task,
            case,
            def: workflow.definition,
            tasks,
        })
    }

    /// Act on a task: the workflow moves on, and everything the action changes is written at once.
    #[tracing::instrument(skip_all, err)]
    pub async fn act(
        &self,
        principal: &Principal,
        task: TaskId,
        act: &Act,
        input: &ActInput,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let staff = staff_of(principal)?;
        let opinion = input.opinion.trim();
        let missing: Vec<String> = input
            .missing
            .iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect();
        let (command, action) = match act {
            Act::Step(action) => (Command::Step(*action), Some(*action)),
            Act::Conclude => (Command::Conclude, None),
            Act::Verify { confirmed } => (
                Command::Verify {
                    confirmed: *confirmed,
                },
                None,
            ),
        };
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let loaded = self.load_task(&tx, staff, task).await?;
        let mut facts = loaded.facts(staff, action, now)?;
        facts.given = Given {
            opinion: !opinion.is_empty(),
            missing_listed: !missing.is_empty(),
            special_ends_in_past: input
                .special
                .map(|(_, until)| until < Deadlines::date_of(now)),
        };
        let transition = machine::decide(&facts, command)?;
        let Loaded {
            task,
            mut case,
            def,
            ..
        } = loaded;
        let run = Run {
            def: Some(&def),
            task: Some(&task),
            opinion,
            missing: &missing,
            special: input.special,
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// End a special procedure: the clock runs again and the deadline moves by the working days it
    /// stood still.
    #[tracing::instrument(skip_all, err)]
    pub async fn end_special(
        &self,
        principal: &Principal,
        task: TaskId,
        note: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let staff = staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let loaded = self.load_task(&tx, staff, task).await?;
        let facts = loaded.facts(staff, None, now)?;
        let transition = machine::decide(&facts, Command::EndSpecial)?;
        let Loaded {
            task,
            mut case,
            def,
            ..
        } = loaded;
        let run = Run {
            def: Some(&def),
            task: Some(&task),
            opinion: note.trim(),
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// The applicant supplies what the supplement notice listed (new answers and/or files).
    #[tracing::instrument(skip_all, err)]
    pub async fn resubmit(
        &self,
        principal: &Principal,
        id: CaseId,
        answers: Option<&std::collections::BTreeMap<String, String>>,
        materials: &[(String, String)],
        origin: &Origin,
        rng: &mut (impl rand::CryptoRng + Send),
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        let mut case = self.own_case(person, id).await?;
        let workflow = self.workflow(case.workflow_id).await?;
        let waiting = repo::tasks_of_case(self.db.conn(), id)
            .await?
            .into_iter()
            .find(|t| t.status == TaskStatus::Waiting);
        let now = self.clock.now();
        let mut facts = case_facts(&case, Some(&workflow.definition), now);
        facts.relation.applicant = true;
        facts.task = waiting
            .as_ref()
            .map(|t| task_facts(&workflow.definition, t, &[], None))
            .transpose()?;
        let transition = machine::decide(&facts, Command::Resubmit)?;
        let version = self.item_version(&case).await?;
        if let Some(answers) = answers {
            crate::form::validate_form(&workflow.definition.form, answers)
                .map_err(CaseError::FormInvalid)?;
        }
        let tx = self.db.begin().await?;
        if let Some(answers) = answers {
            let sealed = self.seal_form(answers, rng);
            repo::set_case_form(
                &tx,
                id,
                &sealed,
                &case.contact_email,
                case.commitment_signed,
                now,
            )
            .await?;
            // set_case_form bumped the revision.
            case.revision += 1;
        }
        self.attach_materials(&tx, id, person, &version, materials, now)
            .await?;
        let run = Run {
            def: Some(&workflow.definition),
            task: waiting.as_ref(),
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// The applicant withdraws before a decision.
    #[tracing::instrument(skip_all, err)]
    pub async fn withdraw(
        &self,
        principal: &Principal,
        id: CaseId,
        reason: &str,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let person = person_of(principal)?;
        let mut case = self.own_case(person, id).await?;
        let now = self.clock.now();
        let mut facts = case_facts(&case, None, now);
        facts.relation.applicant = true;
        let transition = machine::decide(&facts, Command::Withdraw)?;
        let tx = self.db.begin().await?;
        let run = Run {
            opinion: reason.trim(),
            ..Run::new(principal, origin, now)
        };
        self.carry_out(tx, &run, &mut case, transition).await
    }

    /// 退件: the supplement period ended without the applicant's answer.
    #[tracing::instrument(skip_all, err)]
    pub async fn return_case(
        &self,
        principal: &Principal,
        id: CaseId,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let case = self.reload(id).await?;
        let relation = match principal {
            Principal::Staff(staff) => {
                let posts = self.posts_of(staff.id).await?;
                let holds_post = repo::tasks_of_case(self.db.conn(), id)
                    .await?
                    .iter()
                    .any(|t| t.status == TaskStatus::Waiting && posts.contains(&t.post_id));
                Relation {
                    holds_post,
                    ..Relation::default()
                }
            }
            Principal::System => Relation {
                system: true,
                ..Relation::default()
            },
            _ => Relation::default(),
        };
        self.return_unanswered(principal, case, relation, origin)
            .await
    }

    pub(super) async fn return_unanswered(
        &self,
        principal: &Principal,
        mut case: Case,
        relation: Relation,
        origin: &Origin,
    ) -> Result<Case, CaseError> {
        let now = self.clock.now();
        let mut facts = case_facts(&case, None, now);
        facts.relation = relation;
        let transition = machine::decide(&facts, Command::Return)?;
        let tx = self.db.begin().await?;
        self.carry_out(tx, &Run::new(principal, origin, now), &mut case, transition)
            .await
    }

    /// Write an allowed transition: the case's fields, the task rows it changes and opens, then
    /// the history line, audit entry and notification (see [`record`](Self::record)); commits and
    /// returns the case as stored.
    pub(super) async fn carry_out(
        &self,
        tx: DatabaseTransaction,
        run: &Run<'_>,
        case: &mut Case,
        transition: Transition,
    ) -> Result<Case, CaseError> {
        let from = case.status;
        let limits = if transition.clock == Clock::StartDecision {
            let version = yiwang_catalog::reads::version_in(&tx, case.item_version_id)
                .await?
                .ok_or(CatalogError::VersionNotFound)?;
            (version.content.promised_limit, version.content.legal_limit)
        } else {
            (None, None)
        };
        let staff = match run.principal {
            Principal::Staff(s) => Some(s.id),
            _ => None,
        };
        let moment = Moment {
            now: run.now,
            deadlines: &self.deadlines,
            opinion: run.opinion,
            limits,
            verify_within_days: run
                .def
                .and_then(|d| d.commitment.as_ref())
                .map(|c| c.verify_within_days),
            special_until: run.special.map(|(_, until)| until),
            staff,
        };
        let stopped = transition.settle(case, &moment);
        self.write_tasks(&tx, run, case, &transition, staff).await?;
        // Seals of the notice this transition decides and, for a grant, the licences (same
        // transaction: a licence exists exactly when the grant committed).
        self.after_transition(
            &tx,
            run.principal,
            case,
            transition.event,
            transition.decided,
            &run.origin.ip,
        )
        .await?;
        let detail = match (transition.event, transition.clock) {
            ("submit", _) => json!({ "channel": case.channel.code() }),
            ("supplement", _) => {
                json!({ "missing": run.missing, "due": case.supplement_due_at.map(yiwang_db::ts) })
            }
            ("special", _) => match run.special {
                Some((kind, until)) => json!({ "kind": kind.code(), "until": until.to_string() }),
                None => json!({}),
            },
            (_, Clock::Resume) => json!({ "stopped_days": stopped }),
            (_, Clock::Extend) => {
                json!({ "days": case.extension_days, "due": case.decision_due_at.map(yiwang_db::ts) })
            }
            _ => json!({}),
        };
        let step_name = run.task.map_or("", |t| t.step_name.as_str());
        self.finish(
            tx,
            run.principal,
            case,
            run.now,
            run.origin,
            Change {
                action: transition.event,
                from: Some(from),
                step_name,
                note: run.opinion,
                detail,
                public: transition.notify,
            },
        )
        .await
    }

    /// The task rows of a transition: cancelled, opened, and the acted-on task closed, held or
    /// reopened.
    async fn write_tasks(
        &self,
        tx: &DatabaseTransaction,
        run: &Run<'_>,
        case: &Case,
        transition: &Transition,
        staff: Option<yiwang_identity::model::StaffId>,
    ) -> Result<(), CaseError> {
        let now = run.now;
        if transition.cancel_tasks {
            repo::cancel_tasks(tx, case.id, now).await?;
        }
        if transition.opens != Opens::Nothing {
            let def = run.def.ok_or_else(|| {
                CaseError::Corrupt("transition opens tasks without a workflow".to_owned())
            })?;
            self.open_tasks(tx, run, case, def, transition.opens)
                .await?;
        }
        let Some(task) = run.task else {
            return Ok(());
        };
        match transition.task {
            TaskChange::Keep => {}
            TaskChange::Close(result) => {
                if !repo::close_task(tx, task.id, result, run.opinion, staff, now).await? {
                    return Err(CaseError::TaskClosed);
                }
            }
            // Refused when someone else closed the task meanwhile.
            TaskChange::Hold => {
                if !repo::set_task_status(tx, task.id, TaskStatus::Open, TaskStatus::Waiting)
                    .await?
                {
                    return Err(CaseError::TaskClosed);
                }
            }
            TaskChange::Reopen => {
                repo::set_task_status(tx, task.id, TaskStatus::Waiting, TaskStatus::Open).await?;
            }
        }
        Ok(())
    }

    async fn open_tasks(
        &self,
        tx: &DatabaseTransaction,
        run: &Run<'_>,
        case: &Case,
        def: &WorkflowDef,
        opens: Opens,
    ) -> Result<(), CaseError> {
        let now = run.now;
        let acted_on = || {
            run.task.ok_or_else(|| {
                CaseError::Corrupt("transition opens tasks without a task".to_owned())
            })
        };
        let (kind, step_id, step_name, post, prev, due_at) = match opens {
            Opens::Nothing => return Ok(()),
            Opens::NextSteps => {
                let task = acted_on()?;
                let step = def
                    .step(&task.step_id)
                    .ok_or_else(|| CaseError::Corrupt(format!("step {} gone", task.step_id)))?;
                return self.advance(tx, case, def, step, task, now).await;
            }
            Opens::PreviousStep => {
                let task = acted_on()?;
                let prev = match task.prev_task_id {
                    Some(id) => repo::task_by_id(tx, id).await?,
                    None => None,
                }
                .ok_or(CaseError::CannotSendBack)?;
                return self
                    .open_step(tx, case, def, &prev.step_id, prev.prev_task_id, now)
                    .await;
            }
            Opens::Intake => {
                let intake = def
                    .intake()
                    .ok_or_else(|| CaseError::Corrupt("workflow without intake".to_owned()))?;
                let post = resolve_post(tx, &intake.post).await?;
                let due = intake.limit_days.map(|d| self.deadlines.step_due(now, d));
                return self
                    .insert_task(
                        tx,
                        case,
                        (
                            TaskKind::Step,
                            &intake.id,
                            &intake.name,
                            Some(StepKind::Intake),
                        ),
                        post,
                        None,
                        due.or(case.accept_due_at),
                        now,
                    )
                    .await;
            }
            Opens::Delivery => {
                let intake = def
                    .intake()
                    .ok_or_else(|| CaseError::Corrupt("workflow without intake".to_owned()))?;
                let post = resolve_post(tx, &intake.post).await?;
                // Art. 44: the licence is issued within 10 working days of the decision.
                let due = self
                    .deadlines
                    .step_due(now, self.deadlines.policy.delivery_days);
                (
                    TaskKind::Deliver,
                    DELIVER_STEP.0,
                    DELIVER_STEP.1,
                    post,
                    acted_on()?.id,
                    due,
                )
            }
            Opens::Verification => {
                let commitment = def.commitment.as_ref().ok_or_else(|| {
                    CaseError::Corrupt("verification without a commitment".to_owned())
                })?;
                let post = resolve_post(tx, &commitment.verify_post).await?;
                let due = case
                    .verify_due_at
                    .unwrap_or_else(|| self.deadlines.step_due(now, commitment.verify_within_days));
                (
                    TaskKind::Verify,
                    VERIFY_STEP.0,
                    VERIFY_STEP.1,
                    post,
                    acted_on()?.id,
                    due,
                )
            }
        };
        self.insert_task(
            tx,
            case,
            (kind, step_id, step_name, None),
            post,
            Some(prev),
            Some(due_at),
            now,
        )
        .await
    }

    #[expect(clippy::too_many_arguments, reason = "the columns of a new task row")]
    async fn insert_task(
        &self,
        tx: &DatabaseTransaction,
        case: &Case,
        (kind, step_id, step_name, step_kind): (TaskKind, &str, &str, Option<StepKind>),
        post: crate::workflow::ResolvedPost,
        prev: Option<TaskId>,
        due_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        repo::insert_task(
            tx,
            &NewTask {
                case_id: case.id,
                kind,
                step_id,
                step_name,
                step_kind,
                post,
                prev,
                due_at,
                now,
            },
        )
        .await?;
        Ok(())
    }

    async fn open_step(
        &self,
        tx: &DatabaseTransaction,
        case: &Case,
        def: &WorkflowDef,
        step_id: &str,
        prev: Option<TaskId>,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let step = def
            .step(step_id)
            .ok_or_else(|| CaseError::Corrupt(format!("step {step_id} gone")))?;
        let post = resolve_post(tx, &step.post).await?;
        let due = step
            .limit_days
            .map(|d| self.deadlines.step_due(now, d))
            .or(case.decision_due_at);
        self.insert_task(
            tx,
            case,
            (TaskKind::Step, &step.id, &step.name, Some(step.kind)),
            post,
            prev,
            due,
            now,
        )
        .await
    }

    /// The steps after `step` open; a join opens once no other branch is still working.
    async fn advance(
        &self,
        tx: &DatabaseTransaction,
        case: &Case,
        def: &WorkflowDef,
        step: &StepDef,
        task: &Task,
        now: DateTime<Utc>,
    ) -> Result<(), CaseError> {
        let others: Vec<Task> = repo::tasks_of_case(tx, case.id)
            .await?
            .into_iter()
            .filter(|t| t.id != task.id)
            .collect();
        for next in &step.next {
            let Some(next_step) = def.step(next) else {
                continue;
            };
            if next_step.join {
                let branches_busy = others.iter().any(|t| {
                    t.kind == TaskKind::Step
                        && matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
                });
                let already_open = others
                    .iter()
                    .any(|t| t.step_id == next_step.id && t.status == TaskStatus::Open);
                if branches_busy || already_open {
                    continue;
                }
            }
            self.open_step(tx, case, def, next, Some(task.id), now)
                .await?;
        }
        Ok(())
    }
}

/// A task of another department whose post the staff member does not hold (platform
/// administrators see every department): to them it does not exist.
fn outside(staff: &StaffPrincipal, holds_post: bool, department: DepartmentId) -> bool {
    !holds_post && department != staff.department && !staff.has(Role::PlatformAdmin)
}
