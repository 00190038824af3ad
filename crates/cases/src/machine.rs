//! The case engine's rules as one pure function.
//!
//! [`decide`] takes what is true of a case right now (its status, the task acted on, how the actor
//! relates to both) and what someone asks for, and answers with either a named refusal (a
//! [`CaseError`] whose code the web layer translates) or a [`Transition`]: the new status and
//! outcome, what happens to the task acted on, which tasks open, what the clocks do, whether the
//! applicant is told, and the history event. [`Transition::settle`] writes the transition onto a
//! [`Case`] given the time and the deadline calendar.
//!
//! Nothing here reads or writes storage: the service loads the facts, calls [`decide`], and applies
//! the transition's rows, history, audit entry and notification in one transaction. Keeping the
//! rules here means a new rule is one match arm with its unit test, and the property tests at the
//! bottom can run thousands of random histories without a database.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_identity::IdentityError;
use yiwang_identity::model::StaffId;
use yiwang_kernel::TimeLimit;

use crate::CaseError;
use crate::deadline::Deadlines;
use crate::model::{Case, CaseStatus, ExtensionState, Outcome, TaskKind, TaskStatus, Verification};
use crate::workflow::{StepAction, StepKind};

/// How a workflow ends once the case is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Review steps, then a decision, then delivery at the window.
    Standard,
    /// 即办件: granted and concluded on acceptance.
    Instant,
    /// 告知承诺: granted on acceptance, the promise verified later.
    Commitment,
}

/// Where 退回 from a task would go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendBackTarget {
    /// No previous task (or its step is gone from the workflow).
    Nowhere,
    /// The previous step is intake: a supplement request is the way back to the applicant.
    Intake,
    /// The previous step forks: sending back would run the other branches twice.
    Fork,
    /// A single previous review or decision step.
    Step,
}

/// The task an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskFacts {
    pub kind: TaskKind,
    pub status: TaskStatus,
    /// The workflow step's kind (`None` for delivery and verification tasks).
    pub step_kind: Option<StepKind>,
    /// Whether the step offers the action asked for.
    pub offers: bool,
    /// Whether the step joins parallel branches.
    pub join: bool,
    pub send_back: SendBackTarget,
}

/// How the actor relates to the case and the task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts about one actor, each a rule's input"
)]
pub struct Relation {
    /// The platform itself (the supervision sweep).
    pub system: bool,
    /// The applicant (or someone acting for the applicant's enterprise).
    pub applicant: bool,
    /// Staff holding the post of the task concerned (for case-level actions: of an open task, or of
    /// the waiting task for 退件).
    pub holds_post: bool,
    /// Another staff member has claimed the task.
    pub claimed_by_other: bool,
    /// This staff member accepted the case (受理).
    pub accepted_case: bool,
    /// An administrator of the case's lead department.
    pub department_admin: bool,
    /// This staff member asked for the pending extension.
    pub requested_extension: bool,
}

/// What the actor wrote with the action, as far as the rules care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    pub opinion: bool,
    /// A supplement request lists at least one missing thing.
    pub missing_listed: bool,
    /// A special procedure's kind and end: `None` when absent, `Some(true)` when the end is past.
    pub special_ends_in_past: Option<bool>,
}

/// Everything [`decide`] needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: CaseStatus,
    pub mode: Mode,
    pub verification: Verification,
    pub extension: ExtensionState,
    /// The supplement period has ended.
    pub supplement_overdue: bool,
    /// The task acted on (for 补正 resubmission: the task waiting for the applicant).
    pub task: Option<TaskFacts>,
    /// Tasks other than the one acted on are open or waiting (parallel branches).
    pub others_running: bool,
    /// The latest opinion of some review step is 不同意.
    pub review_disagreed: bool,
    pub relation: Relation,
    pub given: Given,
}

/// What someone asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Change a draft's answers and files.
    EditDraft,
    Submit,
    /// A workflow action at a step task.
    Step(StepAction),
    /// 办结: the window hands the result over.
    Conclude,
    /// 承诺核查: the promise was found true or false.
    Verify {
        confirmed: bool,
    },
    /// The special procedure ends and the clock runs again.
    EndSpecial,
    /// The applicant supplies what the supplement notice listed.
    Resubmit,
    Withdraw,
    /// 退件: the supplement period ended unanswered.
    Return,
    RequestExtension,
    DecideExtension {
        approve: bool,
    },
}

impl Command {
    /// The word used in a wrong-state refusal ("a decided case cannot be concluded").
    fn verb(self) -> &'static str {
        match self {
            Command::EditDraft => "edited",
            Command::Submit => "submitted",
            Command::Step(action) => action.code(),
            Command::Conclude => "concluded",
            Command::Verify { .. } => "verified",
            Command::EndSpecial => "resumed",
            Command::Resubmit => "resubmitted",
            Command::Withdraw => "withdrawn",
            Command::Return => "returned",
            Command::RequestExtension | Command::DecideExtension { .. } => "extended",
        }
    }

    /// The history event (and audit action `case.<event>`) of the command.
    pub fn event(self) -> &'static str {
        match self {
            Command::EditDraft => "edit",
            Command::Submit => "submit",
            Command::Step(action) => action.code(),
            Command::Conclude => "conclude",
            Command::Verify { confirmed: true } => "verify_confirmed",
            Command::Verify { confirmed: false } => "verify_failed",
            Command::EndSpecial => "special_end",
            Command::Resubmit => "resubmit",
            Command::Withdraw => "withdraw",
            Command::Return => "return",
            Command::RequestExtension => "extension_request",
            Command::DecideExtension { approve: true } => "extension_approved",
            Command::DecideExtension { approve: false } => "extension_refused",
        }
    }
}

/// What happens to the task acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskChange {
    Keep,
    /// Done, with this result.
    Close(&'static str),
    /// Open → waiting (the applicant or a special procedure has the case).
    Hold,
    /// Waiting → open.
    Reopen,
}

/// Tasks that open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opens {
    Nothing,
    /// The intake post's pre-review.
    Intake,
    /// The steps after the task's step (a join only once no branch is busy).
    NextSteps,
    /// The previous step again (退回).
    PreviousStep,
    /// The window's delivery of the result.
    Delivery,
    /// The later verification of a commitment.
    Verification,
}

/// What the clocks do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Unchanged,
    /// The pre-review period starts (submission, or resubmission at intake).
    StartAccept,
    /// 受理: the pre-review clock stops and the decision clock starts.
    StartDecision,
    /// 补正: the applicant's period starts; at intake the pre-review period will start again, later
    /// the decision clock stands still.
    StopForSupplement {
        at_intake: bool,
    },
    /// 特别程序: the decision clock stands still.
    StopForSpecial,
    /// The decision clock runs again; its deadline moves by the working days it stood still.
    Resume,
    /// The one extension moves the decision deadline.
    Extend,
    /// The case ends: no running deadline is left.
    Stop,
}

/// An allowed command's effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent effects of one transition"
)]
pub struct Transition {
    pub status: CaseStatus,
    /// Set when the command ends (or voids) the case.
    pub outcome: Option<Outcome>,
    pub task: TaskChange,
    pub opens: Opens,
    /// Every open or waiting task is cancelled.
    pub cancel_tasks: bool,
    pub clock: Clock,
    pub verification: Option<Verification>,
    pub extension: Option<ExtensionState>,
    /// The decision is taken now.
    pub decided: bool,
    /// The case is concluded now.
    pub concluded: bool,
    /// The opinion becomes the decision's wording.
    pub decision_note: bool,
    /// The history event.
    pub event: &'static str,
    /// The history line is public and the applicant is notified.
    pub notify: bool,
}

impl Transition {
    fn to(status: CaseStatus, command: Command) -> Self {
        Self {
            status,
            outcome: None,
            task: TaskChange::Keep,
            opens: Opens::Nothing,
            cancel_tasks: false,
            clock: Clock::Unchanged,
            verification: None,
            extension: None,
            decided: false,
            concluded: false,
            decision_note: false,
            event: command.event(),
            notify: true,
        }
    }

    fn ended(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self.concluded = true;
        self.clock = Clock::Stop;
        self
    }
}

fn wrong(status: CaseStatus, command: Command) -> CaseError {
    CaseError::WrongState {
        status,
        action: command.verb(),
    }
}

fn forbidden() -> CaseError {
    CaseError::Identity(IdentityError::Forbidden)
}

/// The rules of the case engine: whether `command` is allowed given `facts`, and what it does.
///
/// # Errors
///
/// The named refusal, checked in a fixed order (who may act, the task's state, what the step
/// offers, what the actor wrote, the case's state, then the rule of the action itself).
pub fn decide(facts: &Facts, command: Command) -> Result<Transition, CaseError> {
    let status = facts.status;
    let rel = facts.relation;
    match command {
        Command::EditDraft => {
            if status == CaseStatus::Draft {
                let mut t = Transition::to(status, command);
                t.notify = false;
                Ok(t)
            } else {
                Err(wrong(status, command))
            }
        }
        Command::Submit => {
            if status != CaseStatus::Draft {
                return Err(wrong(status, command));
            }
            let mut t = Transition::to(CaseStatus::Submitted, command);
            t.opens = Opens::Intake;
            t.clock = Clock::StartAccept;
            Ok(t)
        }
        Command::Step(_) | Command::Conclude | Command::Verify { .. } => {
            task_action(facts, command)
        }
        Command::EndSpecial => {
            let task = staff_on_task(facts)?;
            if status != CaseStatus::Suspended || task.status != TaskStatus::Waiting {
                return Err(wrong(status, command));
            }
            let mut t = Transition::to(CaseStatus::InReview, command);
            t.task = TaskChange::Reopen;
            t.clock = Clock::Resume;
            Ok(t)
        }
        Command::Resubmit => {
            if status != CaseStatus::Supplement {
                return Err(wrong(status, command));
            }
            let task = facts.task.ok_or_else(|| {
                CaseError::Corrupt("supplement without a waiting task".to_owned())
            })?;
            let at_intake = task.step_kind == Some(StepKind::Intake);
            let mut t = Transition::to(
                if at_intake {
                    CaseStatus::Submitted
                } else {
                    CaseStatus::InReview
                },
                command,
            );
            t.task = TaskChange::Reopen;
            t.clock = if at_intake {
                Clock::StartAccept
            } else {
                Clock::Resume
            };
            Ok(t)
        }
        Command::Withdraw => {
            if !status.withdrawable() {
                return Err(wrong(status, command));
            }
            let mut t = Transition::to(CaseStatus::Withdrawn, command).ended(Outcome::Withdrawn);
            t.cancel_tasks = true;
            Ok(t)
        }
        Command::Return => {
            if !(rel.system || rel.holds_post) {
                return Err(forbidden());
            }
            if status != CaseStatus::Supplement {
                return Err(wrong(status, command));
            }
            if !facts.supplement_overdue {
                return Err(CaseError::SupplementNotDue);
            }
            let mut t = Transition::to(CaseStatus::Returned, command).ended(Outcome::Returned);
            t.cancel_tasks = true;
            Ok(t)
        }
        Command::RequestExtension => {
            if !facts.given.opinion {
                return Err(CaseError::OpinionRequired);
            }
            if !rel.holds_post {
                return Err(forbidden());
            }
            if !matches!(status, CaseStatus::InReview | CaseStatus::Suspended) {
                return Err(wrong(status, command));
            }
            if facts.extension != ExtensionState::None {
                return Err(CaseError::AlreadyExtended);
            }
            let mut t = Transition::to(status, command);
            t.extension = Some(ExtensionState::Requested);
            // Internal until approved.
            t.notify = false;
            Ok(t)
        }
        Command::DecideExtension { approve } => {
            if rel.requested_extension {
                return Err(CaseError::SelfApproval);
            }
            if !rel.department_admin {
                return Err(forbidden());
            }
            if facts.extension != ExtensionState::Requested {
                return Err(wrong(status, command));
            }
            let mut t = Transition::to(status, command);
            if approve {
                t.extension = Some(ExtensionState::Approved);
                t.clock = Clock::Extend;
            } else {
                t.extension = Some(ExtensionState::Refused);
            }
            // The applicant is told of an approved extension and its reason (Art. 42).
            t.notify = approve;
            Ok(t)
        }
    }
}

/// Staff acting on a task must hold its post and not find it claimed by a colleague.
fn staff_on_task(facts: &Facts) -> Result<TaskFacts, CaseError> {
    let task = facts.task.ok_or(CaseError::TaskNotFound)?;
    if !facts.relation.holds_post {
        return Err(CaseError::NotOnPost);
    }
    if facts.relation.claimed_by_other {
        return Err(CaseError::ClaimedByOther);
    }
    Ok(task)
}

fn task_action(facts: &Facts, command: Command) -> Result<Transition, CaseError> {
    let task = staff_on_task(facts)?;
    if task.status != TaskStatus::Open {
        return Err(CaseError::TaskClosed);
    }
    let status = facts.status;
    match (task.kind, command) {
        (TaskKind::Step, Command::Step(action)) => step_action(facts, task, action),
        (TaskKind::Deliver, Command::Conclude) => {
            if status != CaseStatus::Decided {
                return Err(wrong(status, command));
            }
            let mut t = Transition::to(CaseStatus::Concluded, command);
            t.concluded = true;
            t.task = TaskChange::Close("conclude");
            Ok(t)
        }
        (TaskKind::Verify, Command::Verify { confirmed }) => {
            if facts.verification != Verification::Pending {
                return Err(wrong(status, command));
            }
            if !confirmed && !facts.given.opinion {
                return Err(CaseError::OpinionRequired);
            }
            let mut t = Transition::to(status, command);
            if confirmed {
                t.verification = Some(Verification::Confirmed);
                t.task = TaskChange::Close("confirmed");
            } else {
                // The promise proved false: the grant is revoked (作废).
                t.verification = Some(Verification::Failed);
                t.outcome = Some(Outcome::Voided);
                t.decision_note = true;
                t.task = TaskChange::Close("failed");
            }
            Ok(t)
        }
        (_, other) => Err(CaseError::ActionNotOffered(other.event())),
    }
}

fn step_action(
    facts: &Facts,
    task: TaskFacts,
    action: StepAction,
) -> Result<Transition, CaseError> {
    let command = Command::Step(action);
    let status = facts.status;
    if !task.offers {
        return Err(CaseError::ActionNotOffered(action.code()));
    }
    if action.needs_opinion() && !facts.given.opinion {
        return Err(CaseError::OpinionRequired);
    }
    let at_intake = task.step_kind == Some(StepKind::Intake);
    let expected = if at_intake {
        CaseStatus::Submitted
    } else {
        CaseStatus::InReview
    };
    if status != expected {
        return Err(wrong(status, command));
    }
    let close = TaskChange::Close(action.code());
    let t = match action {
        StepAction::Accept => {
            let mut t = match facts.mode {
                Mode::Standard => {
                    let mut t = Transition::to(CaseStatus::InReview, command);
                    t.opens = Opens::NextSteps;
                    t
                }
                Mode::Instant => {
                    let mut t = Transition::to(CaseStatus::Concluded, command);
                    t.outcome = Some(Outcome::Granted);
                    t.decided = true;
                    t.concluded = true;
                    t
                }
                Mode::Commitment => {
                    let mut t = Transition::to(CaseStatus::Concluded, command);
                    t.outcome = Some(Outcome::Granted);
                    t.decided = true;
                    t.concluded = true;
                    t.verification = Some(Verification::Pending);
                    t.opens = Opens::Verification;
                    t
                }
            };
            t.clock = Clock::StartDecision;
            t.task = close;
            t
        }
        StepAction::Decline => {
            let mut t = Transition::to(CaseStatus::Declined, command).ended(Outcome::Declined);
            t.decision_note = true;
            t.task = close;
            t
        }
        StepAction::Supplement => {
            if !facts.given.missing_listed {
                return Err(CaseError::MissingListRequired);
            }
            if facts.others_running {
                return Err(CaseError::SupplementDuringParallel);
            }
            let mut t = Transition::to(CaseStatus::Supplement, command);
            t.task = TaskChange::Hold;
            t.clock = Clock::StopForSupplement { at_intake };
            t
        }
        StepAction::Agree | StepAction::Disagree => {
            let mut t = Transition::to(status, command);
            t.opens = Opens::NextSteps;
            t.task = close;
            // Reviewers' opinions are internal until the decision.
            t.notify = false;
            t
        }
        StepAction::SendBack => {
            if task.join || task.send_back != SendBackTarget::Step {
                return Err(CaseError::CannotSendBack);
            }
            let mut t = Transition::to(status, command);
            t.opens = Opens::PreviousStep;
            t.task = close;
            t.notify = false;
            t
        }
        StepAction::Special => {
            match facts.given.special_ends_in_past {
                None => return Err(CaseError::SpecialRequired),
                Some(true) => return Err(CaseError::SpecialEndInPast),
                Some(false) => {}
            }
            let mut t = Transition::to(CaseStatus::Suspended, command);
            t.task = TaskChange::Hold;
            t.clock = Clock::StopForSpecial;
            t
        }
        StepAction::Grant | StepAction::Deny => {
            // 受审分离: whoever accepted the case never decides it.
            if facts.relation.accepted_case {
                return Err(CaseError::SeparationOfDuties);
            }
            let grant = action == StepAction::Grant;
            if grant && facts.review_disagreed {
                return Err(CaseError::ReviewDisagreed);
            }
            let mut t = Transition::to(CaseStatus::Decided, command);
            t.outcome = Some(if grant {
                Outcome::Granted
            } else {
                Outcome::Denied
            });
            t.decided = true;
            t.decision_note = true;
            t.opens = Opens::Delivery;
            t.task = close;
            t
        }
    };
    Ok(t)
}

/// The values a transition is written with.
#[derive(Debug, Clone, Copy)]
pub struct Moment<'a> {
    pub now: DateTime<Utc>,
    pub deadlines: &'a Deadlines,
    /// The opinion or reason, trimmed.
    pub opinion: &'a str,
    /// For acceptance: the item's promised and legal decision limits.
    pub limits: (Option<TimeLimit>, Option<TimeLimit>),
    /// For acceptance on commitment: the working days the verification may take.
    pub verify_within_days: Option<u32>,
    /// For a special procedure: its expected end.
    pub special_until: Option<NaiveDate>,
    /// The staff member acting.
    pub staff: Option<StaffId>,
}

impl Transition {
    /// Write the transition onto `case`: status, outcome, decision wording, the clocks and their
    /// deadlines. Returns the working days a clock stood still (when it resumes).
    pub fn settle(&self, case: &mut Case, m: &Moment<'_>) -> u32 {
        let now = m.now;
        let d = m.deadlines;
        let mut stopped = 0;
        case.status = self.status;
        if self.outcome.is_some() {
            case.outcome = self.outcome;
        }
        if self.decision_note {
            m.opinion.clone_into(&mut case.decision_note);
        }
        if let Some(v) = self.verification {
            case.verification = v;
        }
        match self.clock {
            Clock::Unchanged => {}
            Clock::StartAccept => {
                if case.submitted_at.is_none() {
                    case.submitted_at = Some(now);
                }
                case.accept_due_at = Some(d.accept_due(now));
            }
            Clock::StartDecision => {
                case.accepted_at = Some(now);
                case.accept_due_at = None;
                case.decision_due_at = Some(d.decision_due(now, m.limits.0, m.limits.1));
            }
            Clock::StopForSupplement { at_intake } => {
                case.supplement_due_at = Some(d.supplement_due(now));
                if at_intake {
                    // Art. 32: the pre-review period starts again when the applicant resubmits.
                    case.accept_due_at = None;
                } else {
                    case.suspended_at = Some(now);
                }
            }
            Clock::StopForSpecial => {
                case.suspended_at = Some(now);
                case.special_until = m.special_until;
            }
            Clock::Resume => {
                stopped = case
                    .suspended_at
                    .map_or(0, |from| d.stopped_days(from, now));
                case.decision_due_at = case.decision_due_at.map(|due| d.moved(due, stopped));
                case.suspended_at = None;
                case.special_until = None;
                case.supplement_due_at = None;
            }
            Clock::Extend => {
                case.extension_days = d.policy.extension_days;
                case.decision_due_at = case
                    .decision_due_at
                    .map(|due| d.moved(due, case.extension_days));
            }
            Clock::Stop => {
                case.accept_due_at = None;
                case.supplement_due_at = None;
            }
        }
        if self.clock == Clock::StartAccept {
            case.supplement_due_at = None;
        }
        if self.decided {
            case.decided_at = Some(now);
        }
        if self.concluded {
            case.concluded_at = Some(now);
        }
        if self.verification == Some(Verification::Pending) {
            case.verify_due_at = m.verify_within_days.map(|days| d.step_due(now, days));
        }
        if let Some(extension) = self.extension {
            case.extension = extension;
            if extension == ExtensionState::Requested {
                m.opinion.clone_into(&mut case.extension_reason);
                case.extension_requested_by = m.staff;
            }
        }
        stopped
    }
}

#[cfg(test)]
mod tests;
