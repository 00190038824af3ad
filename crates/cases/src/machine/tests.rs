//! One test per transition (allowed, and each refusal in the order they are checked), then
//! property tests over random histories of a model case.

use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use yiwang_catalog::model::{ItemId, VersionId};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::PersonId;
use yiwang_kernel::{ErrorCode, WorkCalendar};

use super::*;
use crate::deadline::DeadlinePolicy;
use crate::model::{Applicant, CaseId, Channel, Warning, WorkflowId};

fn facts(status: CaseStatus) -> Facts {
    Facts {
        status,
        mode: Mode::Standard,
        verification: Verification::None,
        extension: ExtensionState::None,
        supplement_overdue: false,
        task: None,
        others_running: false,
        review_disagreed: false,
        relation: Relation {
            holds_post: true,
            ..Relation::default()
        },
        given: Given {
            opinion: true,
            missing_listed: true,
            special_ends_in_past: Some(false),
        },
    }
}

fn step_task(kind: StepKind) -> TaskFacts {
    TaskFacts {
        kind: TaskKind::Step,
        status: TaskStatus::Open,
        step_kind: Some(kind),
        offers: true,
        join: false,
        send_back: SendBackTarget::Step,
    }
}

fn on(status: CaseStatus, task: TaskFacts) -> Facts {
    Facts {
        task: Some(task),
        ..facts(status)
    }
}

fn refused(facts: &Facts, command: Command) -> &'static str {
    match decide(facts, command) {
        Ok(t) => panic!("{command:?} allowed: {t:?}"),
        Err(e) => e.code(),
    }
}

fn intake() -> Facts {
    on(CaseStatus::Submitted, step_task(StepKind::Intake))
}

fn review() -> Facts {
    on(CaseStatus::InReview, step_task(StepKind::Review))
}

fn deciding() -> Facts {
    on(CaseStatus::InReview, step_task(StepKind::Decide))
}

#[test]
fn submit_opens_intake_and_starts_the_pre_review_clock() {
    let t = decide(&facts(CaseStatus::Draft), Command::Submit).unwrap();
    assert_eq!(t.status, CaseStatus::Submitted);
    assert_eq!(t.opens, Opens::Intake);
    assert_eq!(t.clock, Clock::StartAccept);
    assert!(t.notify);
    assert_eq!(
        refused(&facts(CaseStatus::Submitted), Command::Submit),
        "case_wrong_state"
    );
}

#[test]
fn drafts_only_are_edited() {
    assert!(decide(&facts(CaseStatus::Draft), Command::EditDraft).is_ok());
    assert_eq!(
        refused(&facts(CaseStatus::InReview), Command::EditDraft),
        "case_wrong_state"
    );
}

#[test]
fn accept_depends_on_the_workflow_mode() {
    let accept = Command::Step(StepAction::Accept);
    let t = decide(&intake(), accept).unwrap();
    assert_eq!(
        (t.status, t.opens, t.clock, t.task),
        (
            CaseStatus::InReview,
            Opens::NextSteps,
            Clock::StartDecision,
            TaskChange::Close("accept")
        )
    );
    assert_eq!(t.outcome, None);
    let instant = decide(
        &Facts {
            mode: Mode::Instant,
            ..intake()
        },
        accept,
    )
    .unwrap();
    assert_eq!(instant.status, CaseStatus::Concluded);
    assert_eq!(instant.outcome, Some(Outcome::Granted));
    assert!(instant.decided && instant.concluded);
    assert_eq!(instant.opens, Opens::Nothing);
    let promise = decide(
        &Facts {
            mode: Mode::Commitment,
            ..intake()
        },
        accept,
    )
    .unwrap();
    assert_eq!(promise.status, CaseStatus::Concluded);
    assert_eq!(promise.verification, Some(Verification::Pending));
    assert_eq!(promise.opens, Opens::Verification);
}

#[test]
fn task_actions_are_refused_in_order() {
    let accept = Command::Step(StepAction::Accept);
    let mut f = intake();
    f.task = None;
    assert_eq!(refused(&f, accept), "task_not_found");
    let mut f = intake();
    f.relation.holds_post = false;
    f.relation.claimed_by_other = true;
    assert_eq!(refused(&f, accept), "task_not_on_post");
    let mut f = intake();
    f.relation.claimed_by_other = true;
    assert_eq!(refused(&f, accept), "task_claimed_by_other");
    let mut f = intake();
    f.task = Some(TaskFacts {
        status: TaskStatus::Waiting,
        ..step_task(StepKind::Intake)
    });
    assert_eq!(refused(&f, accept), "task_closed");
    let mut f = intake();
    f.task = Some(TaskFacts {
        offers: false,
        ..step_task(StepKind::Intake)
    });
    assert_eq!(refused(&f, accept), "action_not_offered");
    let mut f = intake();
    f.given.opinion = false;
    assert_eq!(
        refused(&f, Command::Step(StepAction::Decline)),
        "opinion_required"
    );
    assert_eq!(
        refused(
            &on(CaseStatus::InReview, step_task(StepKind::Intake)),
            accept
        ),
        "case_wrong_state"
    );
    assert_eq!(refused(&intake(), Command::Conclude), "action_not_offered");
}

#[test]
fn decline_ends_the_case_with_its_reason() {
    let t = decide(&intake(), Command::Step(StepAction::Decline)).unwrap();
    assert_eq!(t.status, CaseStatus::Declined);
    assert_eq!(t.outcome, Some(Outcome::Declined));
    assert!(t.concluded && t.decision_note);
    assert_eq!(t.clock, Clock::Stop);
}

#[test]
fn supplement_holds_the_task_and_stops_the_right_clock() {
    let supplement = Command::Step(StepAction::Supplement);
    let t = decide(&intake(), supplement).unwrap();
    assert_eq!(t.status, CaseStatus::Supplement);
    assert_eq!(t.task, TaskChange::Hold);
    assert_eq!(t.clock, Clock::StopForSupplement { at_intake: true });
    let t = decide(&review(), supplement).unwrap();
    assert_eq!(t.clock, Clock::StopForSupplement { at_intake: false });
    let mut f = review();
    f.given.missing_listed = false;
    assert_eq!(refused(&f, supplement), "missing_list_required");
    let mut f = review();
    f.others_running = true;
    assert_eq!(refused(&f, supplement), "supplement_during_parallel");
}

#[test]
fn review_opinions_open_the_next_steps_internally() {
    for action in [StepAction::Agree, StepAction::Disagree] {
        let t = decide(&review(), Command::Step(action)).unwrap();
        assert_eq!(t.status, CaseStatus::InReview);
        assert_eq!(t.opens, Opens::NextSteps);
        assert!(!t.notify);
    }
    assert_eq!(
        refused(
            &review().clone_with(CaseStatus::Supplement),
            Command::Step(StepAction::Agree)
        ),
        "case_wrong_state"
    );
}

#[test]
fn send_back_goes_to_one_previous_review_step_only() {
    let back = Command::Step(StepAction::SendBack);
    let t = decide(&deciding(), back).unwrap();
    assert_eq!(t.opens, Opens::PreviousStep);
    assert!(!t.notify);
    for target in [
        SendBackTarget::Nowhere,
        SendBackTarget::Intake,
        SendBackTarget::Fork,
    ] {
        let f = on(
            CaseStatus::InReview,
            TaskFacts {
                send_back: target,
                ..step_task(StepKind::Review)
            },
        );
        assert_eq!(refused(&f, back), "cannot_send_back");
    }
    let f = on(
        CaseStatus::InReview,
        TaskFacts {
            join: true,
            ..step_task(StepKind::Review)
        },
    );
    assert_eq!(refused(&f, back), "cannot_send_back");
}

#[test]
fn special_procedure_stops_the_clock_and_resumes() {
    let special = Command::Step(StepAction::Special);
    let t = decide(&review(), special).unwrap();
    assert_eq!(t.status, CaseStatus::Suspended);
    assert_eq!((t.task, t.clock), (TaskChange::Hold, Clock::StopForSpecial));
    let mut f = review();
    f.given.special_ends_in_past = None;
    assert_eq!(refused(&f, special), "special_required");
    f.given.special_ends_in_past = Some(true);
    assert_eq!(refused(&f, special), "special_end_in_past");

    let waiting = on(
        CaseStatus::Suspended,
        TaskFacts {
            status: TaskStatus::Waiting,
            ..step_task(StepKind::Review)
        },
    );
    let t = decide(&waiting, Command::EndSpecial).unwrap();
    assert_eq!(t.status, CaseStatus::InReview);
    assert_eq!((t.task, t.clock), (TaskChange::Reopen, Clock::Resume));
    assert_eq!(refused(&review(), Command::EndSpecial), "case_wrong_state");
    let mut f = waiting;
    f.relation.holds_post = false;
    assert_eq!(refused(&f, Command::EndSpecial), "task_not_on_post");
}

#[test]
fn decisions_keep_separation_of_duties_and_reviews() {
    let t = decide(&deciding(), Command::Step(StepAction::Grant)).unwrap();
    assert_eq!(t.status, CaseStatus::Decided);
    assert_eq!(t.outcome, Some(Outcome::Granted));
    assert_eq!(t.opens, Opens::Delivery);
    assert!(t.decided && !t.concluded);
    let t = decide(&deciding(), Command::Step(StepAction::Deny)).unwrap();
    assert_eq!(t.outcome, Some(Outcome::Denied));
    let mut f = deciding();
    f.relation.accepted_case = true;
    assert_eq!(
        refused(&f, Command::Step(StepAction::Deny)),
        "separation_of_duties"
    );
    let mut f = deciding();
    f.review_disagreed = true;
    assert_eq!(
        refused(&f, Command::Step(StepAction::Grant)),
        "review_disagreed"
    );
    assert!(decide(&f, Command::Step(StepAction::Deny)).is_ok());
}

#[test]
fn delivery_concludes_a_decided_case() {
    let deliver = TaskFacts {
        kind: TaskKind::Deliver,
        step_kind: None,
        ..step_task(StepKind::Intake)
    };
    let t = decide(&on(CaseStatus::Decided, deliver), Command::Conclude).unwrap();
    assert_eq!(t.status, CaseStatus::Concluded);
    assert!(t.concluded);
    assert_eq!(t.task, TaskChange::Close("conclude"));
    assert_eq!(
        refused(&on(CaseStatus::InReview, deliver), Command::Conclude),
        "case_wrong_state"
    );
    assert_eq!(
        refused(
            &on(CaseStatus::Decided, deliver),
            Command::Step(StepAction::Grant)
        ),
        "action_not_offered"
    );
}

#[test]
fn verification_confirms_or_voids_the_grant() {
    let verify = TaskFacts {
        kind: TaskKind::Verify,
        step_kind: None,
        ..step_task(StepKind::Intake)
    };
    let mut f = on(CaseStatus::Concluded, verify);
    f.verification = Verification::Pending;
    let t = decide(&f, Command::Verify { confirmed: true }).unwrap();
    assert_eq!(t.verification, Some(Verification::Confirmed));
    assert_eq!(t.outcome, None);
    let t = decide(&f, Command::Verify { confirmed: false }).unwrap();
    assert_eq!(t.outcome, Some(Outcome::Voided));
    assert_eq!(t.event, "verify_failed");
    let mut silent = f;
    silent.given.opinion = false;
    assert_eq!(
        refused(&silent, Command::Verify { confirmed: false }),
        "opinion_required"
    );
    f.verification = Verification::Confirmed;
    assert_eq!(
        refused(&f, Command::Verify { confirmed: true }),
        "case_wrong_state"
    );
}

#[test]
fn resubmission_restarts_the_clock_it_stopped() {
    let held = |kind| {
        on(
            CaseStatus::Supplement,
            TaskFacts {
                status: TaskStatus::Waiting,
                ..step_task(kind)
            },
        )
    };
    let t = decide(&held(StepKind::Intake), Command::Resubmit).unwrap();
    assert_eq!(
        (t.status, t.clock),
        (CaseStatus::Submitted, Clock::StartAccept)
    );
    let t = decide(&held(StepKind::Review), Command::Resubmit).unwrap();
    assert_eq!((t.status, t.clock), (CaseStatus::InReview, Clock::Resume));
    assert_eq!(t.task, TaskChange::Reopen);
    assert_eq!(
        refused(
            &held(StepKind::Review).clone_with(CaseStatus::InReview),
            Command::Resubmit
        ),
        "case_wrong_state"
    );
    assert_eq!(
        refused(&facts(CaseStatus::Supplement), Command::Resubmit),
        "case_corrupt"
    );
}

impl Facts {
    fn clone_with(&self, status: CaseStatus) -> Facts {
        Facts { status, ..*self }
    }
}

#[test]
fn withdrawal_before_a_decision_cancels_every_task() {
    for status in [
        CaseStatus::Submitted,
        CaseStatus::Supplement,
        CaseStatus::InReview,
        CaseStatus::Suspended,
    ] {
        let t = decide(&facts(status), Command::Withdraw).unwrap();
        assert_eq!(t.status, CaseStatus::Withdrawn);
        assert!(t.cancel_tasks && t.concluded);
    }
    for status in [
        CaseStatus::Draft,
        CaseStatus::Decided,
        CaseStatus::Concluded,
    ] {
        assert_eq!(
            refused(&facts(status), Command::Withdraw),
            "case_wrong_state"
        );
    }
}

#[test]
fn return_needs_an_overdue_supplement_and_the_post_or_the_platform() {
    let mut f = facts(CaseStatus::Supplement);
    f.supplement_overdue = true;
    let t = decide(&f, Command::Return).unwrap();
    assert_eq!(t.status, CaseStatus::Returned);
    assert_eq!(t.outcome, Some(Outcome::Returned));
    assert!(t.cancel_tasks);
    f.relation.holds_post = false;
    assert_eq!(refused(&f, Command::Return), "forbidden");
    f.relation.system = true;
    assert!(decide(&f, Command::Return).is_ok());
    f.supplement_overdue = false;
    assert_eq!(refused(&f, Command::Return), "supplement_not_due");
    assert_eq!(
        refused(&f.clone_with(CaseStatus::InReview), Command::Return),
        "case_wrong_state"
    );
}

#[test]
fn one_extension_asked_by_the_post_and_approved_by_another_admin() {
    let t = decide(&facts(CaseStatus::InReview), Command::RequestExtension).unwrap();
    assert_eq!(t.extension, Some(ExtensionState::Requested));
    assert!(!t.notify);
    let mut f = facts(CaseStatus::InReview);
    f.given.opinion = false;
    assert_eq!(refused(&f, Command::RequestExtension), "opinion_required");
    let mut f = facts(CaseStatus::InReview);
    f.relation.holds_post = false;
    assert_eq!(refused(&f, Command::RequestExtension), "forbidden");
    assert_eq!(
        refused(&facts(CaseStatus::Decided), Command::RequestExtension),
        "case_wrong_state"
    );
    let mut f = facts(CaseStatus::Suspended);
    f.extension = ExtensionState::Refused;
    assert_eq!(refused(&f, Command::RequestExtension), "already_extended");

    let mut f = facts(CaseStatus::InReview);
    f.extension = ExtensionState::Requested;
    f.relation.department_admin = true;
    let t = decide(&f, Command::DecideExtension { approve: true }).unwrap();
    assert_eq!(
        (t.extension, t.clock, t.notify),
        (Some(ExtensionState::Approved), Clock::Extend, true)
    );
    let t = decide(&f, Command::DecideExtension { approve: false }).unwrap();
    assert_eq!(
        (t.extension, t.clock, t.notify),
        (Some(ExtensionState::Refused), Clock::Unchanged, false)
    );
    f.relation.requested_extension = true;
    assert_eq!(
        refused(&f, Command::DecideExtension { approve: true }),
        "extension_self_approval"
    );
    f.relation.requested_extension = false;
    f.relation.department_admin = false;
    assert_eq!(
        refused(&f, Command::DecideExtension { approve: true }),
        "forbidden"
    );
    f.relation.department_admin = true;
    f.extension = ExtensionState::Approved;
    assert_eq!(
        refused(&f, Command::DecideExtension { approve: true }),
        "case_wrong_state"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests: a model case under a linear workflow (intake → review → decision), driven by
// random commands from random actors.

const INTAKE: u8 = 0;
const REVIEW: u8 = 1;
const DECIDE: u8 = 2;

#[derive(Debug, Clone)]
struct ModelTask {
    kind: TaskKind,
    step: u8,
    status: TaskStatus,
    result: Option<&'static str>,
    acted_by: Option<u8>,
    prev: Option<usize>,
}

fn step_kind(step: u8) -> StepKind {
    match step {
        INTAKE => StepKind::Intake,
        REVIEW => StepKind::Review,
        _ => StepKind::Decide,
    }
}

struct Model {
    case: Case,
    mode: Mode,
    tasks: Vec<ModelTask>,
    now: DateTime<Utc>,
    accepted_by: Option<u8>,
    requested_by: Option<u8>,
}

fn new_case(now: DateTime<Utc>) -> Case {
    Case {
        id: CaseId::new(1),
        public_id: "p".to_owned(),
        case_no: None,
        query_code: None,
        item_id: ItemId::new(1),
        item_version_id: VersionId::new(1),
        workflow_id: WorkflowId::new(1),
        item_name: String::new(),
        item_code: String::new(),
        department_id: DepartmentId::new(1),
        department_name: String::new(),
        applicant: Applicant {
            person_id: PersonId::new(1),
            enterprise_id: None,
            name: String::new(),
            id_masked: String::new(),
        },
        channel: Channel::Online,
        status: CaseStatus::Draft,
        outcome: None,
        warning: Warning::None,
        instant: false,
        commitment_signed: false,
        verification: Verification::None,
        contact_email: String::new(),
        created_at: now,
        submitted_at: None,
        accepted_at: None,
        decided_at: None,
        concluded_at: None,
        accept_due_at: None,
        decision_due_at: None,
        supplement_due_at: None,
        suspended_at: None,
        special_until: None,
        extension: ExtensionState::None,
        extension_days: 0,
        extension_reason: String::new(),
        extension_requested_by: None,
        verify_due_at: None,
        decision_note: String::new(),
        registered_by: None,
        revision: 0,
        updated_at: now,
    }
}

/// Actors: 0 and 1 hold every post, 2 holds none, 3 is the department's administrator,
/// 4 is the applicant, 5 the platform.
const APPLICANT: u8 = 4;
const SYSTEM: u8 = 5;

fn command_of(pick: u8, action: u8, confirmed: bool) -> Command {
    match pick % 9 {
        0 => Command::Submit,
        1 => Command::Step(StepAction::ALL[usize::from(action) % StepAction::ALL.len()]),
        2 => Command::Conclude,
        3 => Command::Verify { confirmed },
        4 => Command::EndSpecial,
        5 => Command::Resubmit,
        6 => Command::Withdraw,
        7 => Command::Return,
        _ => {
            if confirmed {
                Command::RequestExtension
            } else {
                Command::DecideExtension {
                    approve: action.is_multiple_of(2),
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Input {
    pick: u8,
    action: u8,
    actor: u8,
    task: usize,
    confirmed: bool,
    opinion: bool,
    missing: bool,
    special: u8,
    hours: i64,
}

fn input() -> impl Strategy<Value = Input> {
    (
        (any::<u8>(), any::<u8>(), 0u8..6, 0usize..8),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u8..3,
            0i64..120,
        ),
    )
        .prop_map(
            |((pick, action, actor, task), (confirmed, opinion, missing, special, hours))| Input {
                pick,
                action,
                actor,
                task,
                confirmed,
                opinion,
                missing,
                special,
                hours,
            },
        )
}

impl Model {
    fn new(mode: Mode) -> Self {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        Self {
            case: new_case(now),
            mode,
            tasks: Vec::new(),
            now,
            accepted_by: None,
            requested_by: None,
        }
    }

    fn running(&self, except: Option<usize>) -> bool {
        self.tasks.iter().enumerate().any(|(i, t)| {
            Some(i) != except && matches!(t.status, TaskStatus::Open | TaskStatus::Waiting)
        })
    }

    fn task_facts(&self, i: usize, action: Option<StepAction>) -> TaskFacts {
        let t = &self.tasks[i];
        let is_step = t.kind == TaskKind::Step;
        TaskFacts {
            kind: t.kind,
            status: t.status,
            step_kind: is_step.then(|| step_kind(t.step)),
            offers: is_step && action.is_some_and(|a| a.fits(step_kind(t.step))),
            join: false,
            send_back: match t.prev.map(|p| &self.tasks[p]) {
                None => SendBackTarget::Nowhere,
                Some(p) if p.step == INTAKE => SendBackTarget::Intake,
                Some(_) => SendBackTarget::Step,
            },
        }
    }

    /// The facts for `input`, and the task it concerns; `None` when the service would refuse the
    /// caller before asking the rules (a person acting on a task, staff resubmitting…).
    fn facts(&self, input: &Input, command: Command) -> Option<(Facts, Option<usize>)> {
        let staff = input.actor < APPLICANT;
        let mut f = Facts {
            status: self.case.status,
            mode: self.mode,
            verification: self.case.verification,
            extension: self.case.extension,
            supplement_overdue: self
                .case
                .supplement_due_at
                .is_some_and(|due| self.now > due),
            task: None,
            others_running: false,
            review_disagreed: self
                .tasks
                .iter()
                .rev()
                .find(|t| {
                    t.step == REVIEW && t.status == TaskStatus::Done && t.kind == TaskKind::Step
                })
                .is_some_and(|t| t.result == Some("disagree")),
            relation: Relation::default(),
            given: Given {
                opinion: input.opinion,
                missing_listed: input.missing,
                special_ends_in_past: match input.special {
                    0 => None,
                    1 => Some(true),
                    _ => Some(false),
                },
            },
        };
        let holds = input.actor < 2;
        let mut task = None;
        match command {
            Command::Submit | Command::EditDraft | Command::Resubmit | Command::Withdraw => {
                if input.actor != APPLICANT {
                    return None;
                }
                f.relation.applicant = true;
                if command == Command::Resubmit {
                    task = self
                        .tasks
                        .iter()
                        .position(|t| t.status == TaskStatus::Waiting);
                }
            }
            Command::Return => {
                if !(staff || input.actor == SYSTEM) {
                    return None;
                }
                f.relation.system = input.actor == SYSTEM;
                f.relation.holds_post =
                    holds && self.tasks.iter().any(|t| t.status == TaskStatus::Waiting);
            }
            Command::RequestExtension | Command::DecideExtension { .. } => {
                if !staff {
                    return None;
                }
                f.relation.holds_post =
                    holds && self.tasks.iter().any(|t| t.status == TaskStatus::Open);
                f.relation.department_admin = input.actor == 3;
                f.relation.requested_extension = self.requested_by == Some(input.actor);
            }
            Command::Step(_) | Command::Conclude | Command::Verify { .. } | Command::EndSpecial => {
                if !staff || self.tasks.is_empty() {
                    return None;
                }
                task = Some(input.task % self.tasks.len());
                f.relation.holds_post = holds;
                f.relation.accepted_case = self.accepted_by == Some(input.actor);
            }
        }
        if let Some(i) = task {
            let action = match command {
                Command::Step(a) => Some(a),
                _ => None,
            };
            f.task = Some(self.task_facts(i, action));
            f.others_running = self.running(Some(i));
        }
        Some((f, task))
    }

    fn open(&mut self, kind: TaskKind, step: u8, prev: Option<usize>) {
        self.tasks.push(ModelTask {
            kind,
            step,
            status: TaskStatus::Open,
            result: None,
            acted_by: None,
            prev,
        });
    }

    fn apply(&mut self, t: &Transition, task: Option<usize>, actor: u8, special_until: NaiveDate) {
        let deadlines = Deadlines::new(WorkCalendar::builtin(), DeadlinePolicy::default());
        t.settle(
            &mut self.case,
            &Moment {
                now: self.now,
                deadlines: &deadlines,
                opinion: "opinion",
                limits: (None, None),
                verify_within_days: Some(20),
                special_until: Some(special_until),
                staff: None,
            },
        );
        if t.cancel_tasks {
            for task in &mut self.tasks {
                if matches!(task.status, TaskStatus::Open | TaskStatus::Waiting) {
                    task.status = TaskStatus::Cancelled;
                }
            }
        }
        match t.opens {
            Opens::Nothing => {}
            Opens::Intake => self.open(TaskKind::Step, INTAKE, None),
            Opens::NextSteps => {
                let i = task.expect("next steps of a task");
                let next = self.tasks[i].step + 1;
                if next <= DECIDE {
                    self.open(TaskKind::Step, next, Some(i));
                }
            }
            Opens::PreviousStep => {
                let i = task.expect("send back from a task");
                let prev = self.tasks[i].prev.expect("a previous task");
                let (step, before) = (self.tasks[prev].step, self.tasks[prev].prev);
                self.open(TaskKind::Step, step, before);
            }
            Opens::Delivery => self.open(TaskKind::Deliver, INTAKE, task),
            Opens::Verification => self.open(TaskKind::Verify, INTAKE, task),
        }
        if let Some(i) = task {
            let acted = &mut self.tasks[i];
            match t.task {
                TaskChange::Keep => {}
                TaskChange::Close(result) => {
                    acted.status = TaskStatus::Done;
                    acted.result = Some(result);
                    acted.acted_by = Some(actor);
                }
                TaskChange::Hold => acted.status = TaskStatus::Waiting,
                TaskChange::Reopen => acted.status = TaskStatus::Open,
            }
        }
        if t.event == "accept" {
            self.accepted_by = Some(actor);
        }
        if t.extension == Some(ExtensionState::Requested) {
            self.requested_by = Some(actor);
        }
    }

    fn count(&self, kind: TaskKind, status: TaskStatus) -> usize {
        self.tasks
            .iter()
            .filter(|t| t.kind == kind && t.status == status)
            .count()
    }

    /// States that must never be reached.
    fn check(&self) -> Result<(), TestCaseError> {
        let case = &self.case;
        let open_steps = self.count(TaskKind::Step, TaskStatus::Open);
        let waiting = self.count(TaskKind::Step, TaskStatus::Waiting);
        let open_deliveries = self.count(TaskKind::Deliver, TaskStatus::Open);
        if case.status.is_final() {
            prop_assert_eq!(
                open_steps + waiting + open_deliveries,
                0,
                "final with open tasks"
            );
            prop_assert!(case.concluded_at.is_some(), "final without its date");
        }
        if case.outcome == Some(Outcome::Granted) || case.outcome == Some(Outcome::Denied) {
            prop_assert!(
                case.decided_at.is_some(),
                "granted or denied without a decision"
            );
        }
        match case.status {
            CaseStatus::Submitted | CaseStatus::InReview => {
                prop_assert!(open_steps > 0, "running with no open task");
                prop_assert_eq!(waiting, 0);
            }
            CaseStatus::Supplement | CaseStatus::Suspended => {
                prop_assert_eq!(
                    (open_steps, waiting),
                    (0, 1),
                    "held without one waiting task"
                );
            }
            CaseStatus::Decided => {
                prop_assert_eq!(open_deliveries, 1, "decided without its delivery");
                prop_assert!(case.outcome.is_some());
            }
            _ => {}
        }
        if case.verification == Verification::Pending {
            prop_assert_eq!(self.count(TaskKind::Verify, TaskStatus::Open), 1);
        }
        Ok(())
    }
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        6 => Just(Mode::Standard),
        1 => Just(Mode::Instant),
        1 => Just(Mode::Commitment),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn random_histories_never_reach_an_impossible_state(
        mode in mode(),
        inputs in prop::collection::vec(input(), 1..60),
    ) {
        let mut m = Model::new(mode);
        for input in &inputs {
            m.now += Duration::hours(input.hours);
            let command = command_of(input.pick, input.action, input.confirmed);
            let Some((facts, task)) = m.facts(input, command) else {
                continue;
            };
            let before = m.case.clone();
            let Ok(transition) = decide(&facts, command) else {
                prop_assert_eq!(&m.case.status, &before.status);
                continue;
            };
            if matches!(command, Command::Step(StepAction::Grant | StepAction::Deny)) {
                // 受審分離: the rules never let whoever accepted the case decide it.
                prop_assert_ne!(m.accepted_by, Some(input.actor));
            }
            let special_until = Deadlines::date_of(m.now) + Duration::days(10);
            m.apply(&transition, task, input.actor, special_until);
            m.check()?;
            // Deadlines never move backwards once set.
            for (was, is) in [
                (before.decision_due_at, m.case.decision_due_at),
                (before.accept_due_at, m.case.accept_due_at),
                (before.verify_due_at, m.case.verify_due_at),
            ] {
                if let (Some(was), Some(is)) = (was, is) {
                    prop_assert!(is >= was, "a deadline moved backwards: {} → {}", was, is);
                }
            }
            if before.status.is_final() {
                prop_assert_eq!(m.case.status, before.status, "a final case changed status");
            }
        }
    }

    /// Whoever accepted a case is refused every decision on it, whatever else is true.
    #[test]
    fn the_one_who_accepted_never_decides(
        grant in any::<bool>(),
        disagreed in any::<bool>(),
        opinion in any::<bool>(),
    ) {
        let mut f = deciding();
        f.relation.accepted_case = true;
        f.review_disagreed = disagreed;
        f.given.opinion = opinion;
        let action = if grant { StepAction::Grant } else { StepAction::Deny };
        prop_assert!(decide(&f, Command::Step(action)).is_err());
    }
}
