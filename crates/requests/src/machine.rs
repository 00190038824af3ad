//! The 12345 closed loop as one pure function: (facts, action, actor's relation, time and limits)
//! → effects or a named refusal.
//!
//! ```text
//!   受理 received ──dispatch──▶ 已派单 dispatched ──sign (签收)──▶ 办理中 handling ──reply──▶ 已答复 replied
//!        ──conclude──▶ 已办结 concluded ──visit (回访)──▶ 已回访 visited ──rate (评价)──▶ 已评价 closed
//!
//!   received ──conclude on the call (直接办结, a consultation)──▶ concluded
//!   dispatched ──return (退单, the lead department, within its limit)──▶ received
//!   received | dispatched ──reassign (改派)──▶ dispatched (another lead department)
//!   handling: request an extension (延期) → a supervisor approves (the limit moves later) or not
//!   concluded ──visit, unsatisfied──▶ handling (重办)
//!   received | dispatched ──merge (a duplicate)──▶ 已合并 merged
//! ```
//!
//! The handling limit starts at the first dispatch and never moves earlier: returns and
//! reassignments keep it, an approved extension and a 重办 only move it later.

use chrono::{DateTime, Utc};
use yiwang_identity::IdentityError;
use yiwang_kernel::{TimeLimit, WorkCalendar};

use crate::RequestError;
use crate::model::{RequestKind, Status, VisitResult};

/// Everything that moves a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Dispatch,
    /// 退单.
    Return,
    /// 改派.
    Reassign,
    /// 签收.
    Sign,
    /// 答复.
    Reply,
    /// 办结 (after the reply).
    Conclude,
    /// 直接办结: a consultation answered on the call.
    ConcludeOnCall,
    /// 回访.
    Visit(VisitResult),
    /// 评价 (1–5).
    Rate(u8),
    /// 延期申请 of the given length.
    RequestExtension(TimeLimit),
    /// 延期审批.
    DecideExtension {
        approve: bool,
    },
    /// Merged into another request as a duplicate.
    Merge,
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatch",
            Action::Return => "return",
            Action::Reassign => "reassign",
            Action::Sign => "sign",
            Action::Reply => "reply",
            Action::Conclude => "conclude",
            Action::ConcludeOnCall => "conclude_on_call",
            Action::Visit(_) => "visit",
            Action::Rate(_) => "rate",
            Action::RequestExtension(_) => "request_extension",
            Action::DecideExtension { approve: true } => "approve_extension",
            Action::DecideExtension { approve: false } => "refuse_extension",
            Action::Merge => "merge",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Action::Dispatch => "dispatched",
            Action::Return => "returned",
            Action::Reassign => "reassigned",
            Action::Sign => "signed for",
            Action::Reply => "replied to",
            Action::Conclude | Action::ConcludeOnCall => "concluded",
            Action::Visit(_) => "visited",
            Action::Rate(_) => "rated",
            Action::RequestExtension(_) => "extended",
            Action::DecideExtension { .. } => "decided",
            Action::Merge => "merged",
        }
    }
}

/// What is true of the request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: Status,
    pub kind: RequestKind,
    pub due_at: Option<DateTime<Utc>>,
    pub return_until: Option<DateTime<Utc>>,
    pub extension: Option<TimeLimit>,
}

/// How the actor stands to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts: one staff member may both dispatch and supervise"
)]
pub struct Relation {
    /// The hotline centre over the request's region (hotline operator, platform administrator).
    pub dispatches: bool,
    /// Staff of the current lead (主办) department.
    pub leads: bool,
    /// A supervisor over the request's region.
    pub supervises: bool,
    /// The person who submitted it.
    pub submitted: bool,
}

/// The time and limits an action is decided with.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub now: DateTime<Utc>,
    pub calendar: &'a WorkCalendar,
    /// The handling limit of the request's urgency.
    pub limit: TimeLimit,
    /// How long after dispatch a department may return (退单).
    pub return_window: TimeLimit,
}

/// What an allowed action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    pub from: Status,
    pub to: Status,
    pub due_at: Option<DateTime<Utc>>,
    pub return_until: Option<DateTime<Utc>>,
    pub extension: Option<TimeLimit>,
    pub visit: Option<VisitResult>,
    pub rating: Option<u8>,
}

/// Decides `action` on a request with `facts` for an actor standing in `relation`.
pub fn decide(
    facts: Facts,
    action: Action,
    relation: Relation,
    ctx: &Context<'_>,
) -> Result<Effects, RequestError> {
    let allowed = match action {
        Action::Dispatch
        | Action::Reassign
        | Action::Conclude
        | Action::ConcludeOnCall
        | Action::Visit(_)
        | Action::Merge => relation.dispatches,
        Action::Return | Action::Sign | Action::Reply | Action::RequestExtension(_) => {
            relation.leads
        }
        Action::DecideExtension { .. } => relation.supervises,
        Action::Rate(_) => relation.submitted,
    };
    if !allowed {
        return Err(IdentityError::Forbidden.into());
    }
    let wrong = || RequestError::WrongState {
        status: facts.status,
        action: action.words(),
    };
    let mut effects = Effects {
        from: facts.status,
        to: facts.status,
        due_at: facts.due_at,
        return_until: facts.return_until,
        extension: facts.extension,
        visit: None,
        rating: None,
    };
    let returns_until = || ctx.calendar.deadline(ctx.now, ctx.return_window);
    match action {
        Action::Dispatch => {
            if facts.status != Status::Received {
                return Err(wrong());
            }
            effects.to = Status::Dispatched;
            effects.due_at = Some(
                facts
                    .due_at
                    .unwrap_or_else(|| ctx.calendar.deadline(ctx.now, ctx.limit)),
            );
            effects.return_until = Some(returns_until());
        }
        Action::Return => {
            if facts.status != Status::Dispatched {
                return Err(wrong());
            }
            if facts.return_until.is_none_or(|until| ctx.now > until) {
                return Err(RequestError::ReturnWindowClosed);
            }
            effects.to = Status::Received;
            effects.return_until = None;
        }
        Action::Reassign => {
            if !matches!(facts.status, Status::Received | Status::Dispatched) {
                return Err(wrong());
            }
            effects.to = Status::Dispatched;
            effects.due_at = Some(
                facts
                    .due_at
                    .unwrap_or_else(|| ctx.calendar.deadline(ctx.now, ctx.limit)),
            );
            effects.return_until = Some(returns_until());
        }
        Action::Sign => {
            if facts.status != Status::Dispatched {
                return Err(wrong());
            }
            effects.to = Status::Handling;
            effects.return_until = None;
        }
        Action::Reply => {
            if facts.status != Status::Handling {
                return Err(wrong());
            }
            if facts.extension.is_some() {
                return Err(RequestError::ExtensionPending);
            }
            effects.to = Status::Replied;
        }
        Action::Conclude => {
            if facts.status != Status::Replied {
                return Err(wrong());
            }
            effects.to = Status::Concluded;
        }
        Action::ConcludeOnCall => {
            if facts.status != Status::Received {
                return Err(wrong());
            }
            if facts.kind != RequestKind::Consultation {
                return Err(RequestError::NotConsultation);
            }
            effects.to = Status::Concluded;
        }
        Action::Visit(result) => {
            if facts.status != Status::Concluded {
                return Err(wrong());
            }
            effects.visit = Some(result);
            match result {
                VisitResult::Satisfied => effects.to = Status::Visited,
                VisitResult::Unsatisfied => {
                    // 重办: the lead department handles it again, with at least a fresh limit.
                    effects.to = Status::Handling;
                    let fresh = ctx.calendar.deadline(ctx.now, ctx.limit);
                    effects.due_at = Some(facts.due_at.map_or(fresh, |due| due.max(fresh)));
                }
            }
        }
        Action::Rate(level) => {
            if facts.status != Status::Visited {
                return Err(wrong());
            }
            if !(1..=5).contains(&level) {
                return Err(RequestError::BadRating);
            }
            effects.to = Status::Closed;
            effects.rating = Some(level);
        }
        Action::RequestExtension(limit) => {
            if facts.status != Status::Handling {
                return Err(wrong());
            }
            if facts.extension.is_some() {
                return Err(RequestError::ExtensionPending);
            }
            effects.extension = Some(limit);
        }
        Action::DecideExtension { approve } => {
            let Some(limit) = facts.extension else {
                return Err(RequestError::NoExtensionPending);
            };
            if facts.status != Status::Handling {
                return Err(wrong());
            }
            effects.extension = None;
            if approve {
                let base = facts.due_at.unwrap_or(ctx.now);
                effects.due_at = Some(ctx.calendar.deadline(base, limit).max(base));
            }
        }
        Action::Merge => {
            if !matches!(facts.status, Status::Received | Status::Dispatched) {
                return Err(wrong());
            }
            effects.to = Status::Merged;
            effects.return_until = None;
        }
    }
    Ok(effects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;
    use yiwang_kernel::{ErrorCode as _, china_local_to_utc};

    use crate::model::Status::{
        Closed, Concluded, Dispatched, Handling, Merged, Received, Replied, Visited,
    };

    const DISPATCHER: Relation = Relation {
        dispatches: true,
        leads: false,
        supervises: false,
        submitted: false,
    };
    const LEAD: Relation = Relation {
        dispatches: false,
        leads: true,
        supervises: false,
        submitted: false,
    };
    const SUPERVISOR: Relation = Relation {
        dispatches: false,
        leads: false,
        supervises: true,
        submitted: false,
    };
    const CITIZEN: Relation = Relation {
        dispatches: false,
        leads: false,
        supervises: false,
        submitted: true,
    };

    fn at(m: u32, d: u32, h: u32) -> DateTime<Utc> {
        china_local_to_utc(
            NaiveDate::from_ymd_opt(2026, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap(),
        )
    }

    fn ctx(calendar: &WorkCalendar, now: DateTime<Utc>) -> Context<'_> {
        Context {
            now,
            calendar,
            limit: TimeLimit::working_days(7),
            return_window: TimeLimit::hours(24),
        }
    }

    fn facts(status: Status) -> Facts {
        Facts {
            status,
            kind: RequestKind::Complaint,
            due_at: None,
            return_until: None,
            extension: None,
        }
    }

    fn code(r: Result<Effects, RequestError>) -> &'static str {
        r.unwrap_err().code()
    }

    #[test]
    fn dispatch_starts_the_limit_on_working_days_across_national_day() {
        let cal = WorkCalendar::builtin();
        let now = at(9, 30, 10);
        let e = decide(
            facts(Received),
            Action::Dispatch,
            DISPATCHER,
            &ctx(&cal, now),
        )
        .unwrap();
        assert_eq!((e.from, e.to), (Received, Dispatched));
        // 10/1–10/7 off, 10/10 (Saturday) works: 10/8, 9, 10, 12, 13, 14, 15.
        assert_eq!(e.due_at, Some(at(10, 15, 0) + Duration::seconds(86_399)));
        assert_eq!(e.return_until, Some(now + Duration::hours(24)));
    }

    #[test]
    fn return_within_its_window_keeps_the_limit() {
        let cal = WorkCalendar::builtin();
        let due = at(10, 15, 23);
        let f = Facts {
            due_at: Some(due),
            return_until: Some(at(9, 30, 10)),
            ..facts(Dispatched)
        };
        let e = decide(f, Action::Return, LEAD, &ctx(&cal, at(9, 30, 9))).unwrap();
        assert_eq!(
            (e.to, e.due_at, e.return_until),
            (Received, Some(due), None)
        );
        assert_eq!(
            code(decide(f, Action::Return, LEAD, &ctx(&cal, at(9, 30, 11)))),
            "request_return_window_closed"
        );
    }

    #[test]
    fn reassign_keeps_the_limit_and_reopens_the_return_window() {
        let cal = WorkCalendar::builtin();
        let due = at(10, 15, 23);
        let now = at(10, 8, 9);
        for status in [Received, Dispatched] {
            let f = Facts {
                due_at: Some(due),
                ..facts(status)
            };
            let e = decide(f, Action::Reassign, DISPATCHER, &ctx(&cal, now)).unwrap();
            assert_eq!(e.to, Dispatched);
            assert_eq!(e.due_at, Some(due));
            assert_eq!(e.return_until, Some(now + Duration::hours(24)));
        }
        assert_eq!(
            code(decide(
                facts(Handling),
                Action::Reassign,
                DISPATCHER,
                &ctx(&cal, now)
            )),
            "request_wrong_state"
        );
    }

    #[test]
    fn each_step_of_the_loop() {
        let cal = WorkCalendar::builtin();
        let c = ctx(&cal, at(3, 2, 10));
        assert_eq!(
            decide(facts(Dispatched), Action::Sign, LEAD, &c)
                .unwrap()
                .to,
            Handling
        );
        assert_eq!(
            decide(facts(Handling), Action::Reply, LEAD, &c).unwrap().to,
            Replied
        );
        assert_eq!(
            decide(facts(Replied), Action::Conclude, DISPATCHER, &c)
                .unwrap()
                .to,
            Concluded
        );
        let e = decide(
            facts(Concluded),
            Action::Visit(VisitResult::Satisfied),
            DISPATCHER,
            &c,
        )
        .unwrap();
        assert_eq!((e.to, e.visit), (Visited, Some(VisitResult::Satisfied)));
        let e = decide(facts(Visited), Action::Rate(5), CITIZEN, &c).unwrap();
        assert_eq!((e.to, e.rating), (Closed, Some(5)));
        assert_eq!(
            code(decide(facts(Visited), Action::Rate(0), CITIZEN, &c)),
            "request_bad_rating"
        );
    }

    #[test]
    fn unsatisfied_visit_reopens_with_a_later_limit() {
        let cal = WorkCalendar::builtin();
        let old = at(3, 3, 23);
        let f = Facts {
            due_at: Some(old),
            ..facts(Concluded)
        };
        let e = decide(
            f,
            Action::Visit(VisitResult::Unsatisfied),
            DISPATCHER,
            &ctx(&cal, at(3, 5, 10)),
        )
        .unwrap();
        assert_eq!(e.to, Handling);
        assert!(e.due_at.unwrap() > old);
    }

    #[test]
    fn conclude_on_the_call_only_for_a_consultation() {
        let cal = WorkCalendar::builtin();
        let c = ctx(&cal, at(3, 2, 10));
        let consultation = Facts {
            kind: RequestKind::Consultation,
            ..facts(Received)
        };
        assert_eq!(
            decide(consultation, Action::ConcludeOnCall, DISPATCHER, &c)
                .unwrap()
                .to,
            Concluded
        );
        assert_eq!(
            code(decide(
                facts(Received),
                Action::ConcludeOnCall,
                DISPATCHER,
                &c
            )),
            "request_not_consultation"
        );
    }

    #[test]
    fn extension_needs_approval_and_moves_the_limit_later() {
        let cal = WorkCalendar::builtin();
        let c = ctx(&cal, at(9, 28, 10));
        let due = at(9, 30, 23);
        let f = Facts {
            due_at: Some(due),
            ..facts(Handling)
        };
        let e = decide(
            f,
            Action::RequestExtension(TimeLimit::working_days(3)),
            LEAD,
            &c,
        )
        .unwrap();
        assert_eq!(e.extension, Some(TimeLimit::working_days(3)));
        assert_eq!(e.due_at, Some(due));
        let pending = Facts {
            extension: e.extension,
            ..f
        };
        assert_eq!(
            code(decide(pending, Action::Reply, LEAD, &c)),
            "request_extension_pending"
        );
        assert_eq!(
            code(decide(
                pending,
                Action::DecideExtension { approve: true },
                LEAD,
                &c
            )),
            "forbidden"
        );
        let e = decide(
            pending,
            Action::DecideExtension { approve: true },
            SUPERVISOR,
            &c,
        )
        .unwrap();
        // 9/30 + 3 working days over National Day: 10/8, 10/9, 10/10.
        assert_eq!(e.due_at, Some(at(10, 10, 0) + Duration::seconds(86_399)));
        assert_eq!(e.extension, None);
        let e = decide(
            pending,
            Action::DecideExtension { approve: false },
            SUPERVISOR,
            &c,
        )
        .unwrap();
        assert_eq!((e.due_at, e.extension), (Some(due), None));
        assert_eq!(
            code(decide(
                f,
                Action::DecideExtension { approve: true },
                SUPERVISOR,
                &c
            )),
            "request_no_extension_pending"
        );
    }

    #[test]
    fn merge_only_before_handling_and_roles_are_checked() {
        let cal = WorkCalendar::builtin();
        let c = ctx(&cal, at(3, 2, 10));
        assert_eq!(
            decide(facts(Received), Action::Merge, DISPATCHER, &c)
                .unwrap()
                .to,
            Merged
        );
        assert_eq!(
            code(decide(facts(Handling), Action::Merge, DISPATCHER, &c)),
            "request_wrong_state"
        );
        assert_eq!(
            code(decide(facts(Received), Action::Dispatch, LEAD, &c)),
            "forbidden"
        );
        assert_eq!(
            code(decide(facts(Dispatched), Action::Sign, DISPATCHER, &c)),
            "forbidden"
        );
        assert_eq!(
            code(decide(facts(Visited), Action::Rate(5), DISPATCHER, &c)),
            "forbidden"
        );
    }

    fn any_action() -> impl Strategy<Value = Action> {
        prop_oneof![
            Just(Action::Dispatch),
            Just(Action::Return),
            Just(Action::Reassign),
            Just(Action::Sign),
            Just(Action::Reply),
            Just(Action::Conclude),
            Just(Action::ConcludeOnCall),
            Just(Action::Visit(VisitResult::Satisfied)),
            Just(Action::Visit(VisitResult::Unsatisfied)),
            (0_u8..7).prop_map(Action::Rate),
            (1_u32..10).prop_map(|n| Action::RequestExtension(TimeLimit::working_days(n))),
            any::<bool>().prop_map(|approve| Action::DecideExtension { approve }),
            Just(Action::Merge),
        ]
    }

    fn any_relation() -> impl Strategy<Value = Relation> {
        prop_oneof![
            Just(DISPATCHER),
            Just(LEAD),
            Just(SUPERVISOR),
            Just(CITIZEN)
        ]
    }

    proptest! {
        /// Random sequences never reach an impossible state: terminal states stay terminal, a
        /// limit exists whenever the request was dispatched, a pending extension only while
        /// handling, and the limit never moves earlier.
        #[test]
        fn random_sequences_stay_consistent(
            consultation in any::<bool>(),
            steps in proptest::collection::vec((any_action(), any_relation(), 0_i64..200), 0..40),
        ) {
            let cal = WorkCalendar::builtin();
            let mut now = at(9, 20, 9);
            let mut f = Facts {
                kind: if consultation { RequestKind::Consultation } else { RequestKind::Complaint },
                ..facts(Received)
            };
            let mut was_dispatched = false;
            for (action, relation, hours) in steps {
                now += Duration::hours(hours);
                let Ok(e) = decide(f, action, relation, &ctx(&cal, now)) else { continue };
                prop_assert_eq!(e.from, f.status);
                prop_assert!(!matches!(f.status, Closed | Merged), "a terminal state moved");
                if let (Some(before), after) = (f.due_at, e.due_at) {
                    prop_assert!(after.is_some_and(|a| a >= before), "the limit moved earlier");
                }
                if matches!(e.to, Dispatched) {
                    was_dispatched = true;
                    prop_assert!(e.due_at.is_some() && e.return_until.is_some());
                }
                if was_dispatched {
                    prop_assert!(e.due_at.is_some());
                }
                if e.extension.is_some() {
                    prop_assert_eq!(e.to, Handling);
                }
                if e.to == Closed {
                    prop_assert!(e.rating.is_some_and(|r| (1..=5).contains(&r)));
                }
                f = Facts {
                    status: e.to,
                    due_at: e.due_at,
                    return_until: e.return_until,
                    extension: e.extension,
                    ..f
                };
            }
        }
    }
}
