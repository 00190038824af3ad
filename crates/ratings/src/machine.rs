//! The rules of a 差评's rectification as one pure function: (facts, action, actor's relation) →
//! effects or a named refusal.
//!
//! ```text
//!   待核实 verifying ──verify (contact the rater)──▶ 整改中 rectifying ──rectify──▶ 已整改 rectified
//!        ──follow up (result: satisfied / not)──▶ 回访 follow_up ──close──▶ 办结 closed
//!
//!   appeal (申诉, the department, once, before 办结): appeal none → pending, state unchanged
//!   decide the appeal (a supervisor, never the one who filed it): pending → upheld (the task ends
//!   办结 and the rating leaves the figures) or rejected (nothing else changes)
//! ```
//!
//! Checked in a fixed order: who may act, then the appeal's state, then the task's state, then the
//! action's own rule (closing needs the recorded 回访 result).

use crate::RatingError;
use crate::model::{AppealState, FollowUpResult, RectStatus};
use yiwang_identity::IdentityError;

/// Everything that moves a rectification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// 核实: the rating is verified and the rater contacted.
    Verify,
    /// 整改: what was done.
    Rectify,
    /// 回访: the rater was asked again; the result is recorded.
    FollowUp(FollowUpResult),
    /// 办结.
    Close,
    /// 申诉: the department says the rating is malicious or unrelated.
    Appeal,
    /// A supervisor decides the pending appeal.
    DecideAppeal { uphold: bool },
}

impl Action {
    pub fn code(self) -> &'static str {
        match self {
            Action::Verify => "verify",
            Action::Rectify => "rectify",
            Action::FollowUp(_) => "follow_up",
            Action::Close => "close",
            Action::Appeal => "appeal",
            Action::DecideAppeal { uphold: true } => "appeal_uphold",
            Action::DecideAppeal { uphold: false } => "appeal_reject",
        }
    }

    fn words(self) -> &'static str {
        match self {
            Action::Verify => "verified",
            Action::Rectify => "rectified",
            Action::FollowUp(_) => "followed up",
            Action::Close => "closed",
            Action::Appeal => "appealed",
            Action::DecideAppeal { .. } => "decided",
        }
    }
}

/// What is true of the task now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub status: RectStatus,
    pub appeal: AppealState,
    /// A 回访 result is recorded.
    pub followed_up: bool,
}

/// How the actor stands to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    /// Staff of the responsible department with a handling role (window staff, approver,
    /// department administrator).
    pub handles: bool,
    /// A supervisor over the department's region (or a platform administrator).
    pub supervises: bool,
    /// This staff member filed the pending appeal.
    pub filed_appeal: bool,
}

/// How a task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedAs {
    Rectified,
    AppealUpheld,
}

impl ClosedAs {
    pub fn code(self) -> &'static str {
        match self {
            ClosedAs::Rectified => "rectified",
            ClosedAs::AppealUpheld => "appeal_upheld",
        }
    }
}

/// What an allowed action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effects {
    pub from: RectStatus,
    pub to: RectStatus,
    pub appeal: AppealState,
    /// The 回访 result to record.
    pub follow_up: Option<FollowUpResult>,
    /// Set when the task ends now.
    pub closed_as: Option<ClosedAs>,
    /// The rating leaves every figure (appeal upheld).
    pub exclude_rating: bool,
}

/// Decides `action` on a task with `facts` for an actor standing in `relation`.
pub fn decide(facts: Facts, action: Action, relation: Relation) -> Result<Effects, RatingError> {
    let allowed = match action {
        Action::DecideAppeal { .. } => relation.supervises,
        _ => relation.handles,
    };
    if !allowed {
        return Err(IdentityError::Forbidden.into());
    }
    let wrong = || RatingError::WrongState {
        status: facts.status,
        action: action.words(),
    };
    let mut effects = Effects {
        from: facts.status,
        to: facts.status,
        appeal: facts.appeal,
        follow_up: None,
        closed_as: None,
        exclude_rating: false,
    };
    match action {
        Action::Verify => {
            if facts.status != RectStatus::Verifying {
                return Err(wrong());
            }
            effects.to = RectStatus::Rectifying;
        }
        Action::Rectify => {
            if facts.status != RectStatus::Rectifying {
                return Err(wrong());
            }
            effects.to = RectStatus::Rectified;
        }
        Action::FollowUp(result) => {
            if facts.status != RectStatus::Rectified {
                return Err(wrong());
            }
            effects.to = RectStatus::FollowUp;
            effects.follow_up = Some(result);
        }
        Action::Close => match facts.status {
            RectStatus::FollowUp if facts.followed_up => {
                effects.to = RectStatus::Closed;
                effects.closed_as = Some(ClosedAs::Rectified);
            }
            RectStatus::Rectified | RectStatus::FollowUp => {
                return Err(RatingError::FollowUpRequired);
            }
            _ => return Err(wrong()),
        },
        Action::Appeal => {
            if facts.appeal != AppealState::None {
                return Err(RatingError::AppealExists);
            }
            if facts.status == RectStatus::Closed {
                return Err(wrong());
            }
            effects.appeal = AppealState::Pending;
        }
        Action::DecideAppeal { uphold } => {
            if facts.appeal != AppealState::Pending {
                return Err(RatingError::AppealNotPending);
            }
            if relation.filed_appeal {
                return Err(RatingError::AppealSamePerson);
            }
            if uphold {
                effects.appeal = AppealState::Upheld;
                effects.exclude_rating = true;
                if facts.status != RectStatus::Closed {
                    effects.to = RectStatus::Closed;
                    effects.closed_as = Some(ClosedAs::AppealUpheld);
                }
            } else {
                effects.appeal = AppealState::Rejected;
            }
        }
    }
    Ok(effects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use yiwang_kernel::ErrorCode as _;

    use crate::model::RectStatus::{Closed, FollowUp, Rectified, Rectifying, Verifying};

    const DEPT: Relation = Relation {
        handles: true,
        supervises: false,
        filed_appeal: false,
    };
    const SUPERVISOR: Relation = Relation {
        handles: false,
        supervises: true,
        filed_appeal: false,
    };

    fn facts(status: RectStatus) -> Facts {
        Facts {
            status,
            appeal: AppealState::None,
            followed_up: false,
        }
    }

    fn code(r: Result<Effects, RatingError>) -> &'static str {
        r.unwrap_err().code()
    }

    #[test]
    fn each_transition() {
        let e = decide(facts(Verifying), Action::Verify, DEPT).unwrap();
        assert_eq!((e.from, e.to), (Verifying, Rectifying));
        let e = decide(facts(Rectifying), Action::Rectify, DEPT).unwrap();
        assert_eq!(e.to, Rectified);
        let e = decide(
            facts(Rectified),
            Action::FollowUp(FollowUpResult::Unsatisfied),
            DEPT,
        )
        .unwrap();
        assert_eq!(
            (e.to, e.follow_up),
            (FollowUp, Some(FollowUpResult::Unsatisfied))
        );
        let e = decide(
            Facts {
                followed_up: true,
                ..facts(FollowUp)
            },
            Action::Close,
            DEPT,
        )
        .unwrap();
        assert_eq!((e.to, e.closed_as), (Closed, Some(ClosedAs::Rectified)));
        let e = decide(facts(Rectifying), Action::Appeal, DEPT).unwrap();
        assert_eq!((e.to, e.appeal), (Rectifying, AppealState::Pending));
        let pending = Facts {
            appeal: AppealState::Pending,
            ..facts(Rectifying)
        };
        let e = decide(pending, Action::DecideAppeal { uphold: true }, SUPERVISOR).unwrap();
        assert_eq!(
            (e.to, e.appeal, e.exclude_rating, e.closed_as),
            (
                Closed,
                AppealState::Upheld,
                true,
                Some(ClosedAs::AppealUpheld)
            )
        );
        let e = decide(pending, Action::DecideAppeal { uphold: false }, SUPERVISOR).unwrap();
        assert_eq!(
            (e.to, e.appeal, e.exclude_rating),
            (Rectifying, AppealState::Rejected, false)
        );
    }

    #[test]
    fn each_refusal() {
        // Who: the department works the task, a supervisor decides appeals.
        assert_eq!(
            code(decide(facts(Verifying), Action::Verify, SUPERVISOR)),
            "forbidden"
        );
        assert_eq!(
            code(decide(
                Facts {
                    appeal: AppealState::Pending,
                    ..facts(Verifying)
                },
                Action::DecideAppeal { uphold: true },
                DEPT
            )),
            "forbidden"
        );
        assert_eq!(
            code(decide(
                facts(Verifying),
                Action::Verify,
                Relation::default()
            )),
            "forbidden"
        );
        // Order of the states.
        assert_eq!(
            code(decide(facts(Verifying), Action::Rectify, DEPT)),
            "rectification_wrong_state"
        );
        assert_eq!(
            code(decide(facts(Rectifying), Action::Verify, DEPT)),
            "rectification_wrong_state"
        );
        assert_eq!(
            code(decide(
                facts(Verifying),
                Action::FollowUp(FollowUpResult::Satisfied),
                DEPT
            )),
            "rectification_wrong_state"
        );
        // 100 % follow-up.
        assert_eq!(
            code(decide(facts(Rectified), Action::Close, DEPT)),
            "rectification_follow_up_required"
        );
        assert_eq!(
            code(decide(facts(Rectifying), Action::Close, DEPT)),
            "rectification_wrong_state"
        );
        assert_eq!(
            code(decide(facts(Closed), Action::Close, DEPT)),
            "rectification_wrong_state"
        );
        // Appeals: once, not after 办结, decided once, by someone else.
        assert_eq!(
            code(decide(
                Facts {
                    appeal: AppealState::Rejected,
                    ..facts(Rectifying)
                },
                Action::Appeal,
                DEPT
            )),
            "appeal_exists"
        );
        assert_eq!(
            code(decide(facts(Closed), Action::Appeal, DEPT)),
            "rectification_wrong_state"
        );
        assert_eq!(
            code(decide(
                facts(Rectifying),
                Action::DecideAppeal { uphold: true },
                SUPERVISOR
            )),
            "appeal_not_pending"
        );
        let both = Relation {
            handles: true,
            supervises: true,
            filed_appeal: true,
        };
        assert_eq!(
            code(decide(
                Facts {
                    appeal: AppealState::Pending,
                    ..facts(Rectifying)
                },
                Action::DecideAppeal { uphold: false },
                both
            )),
            "appeal_same_person"
        );
    }

    fn action() -> impl Strategy<Value = Action> {
        prop::sample::select(vec![
            Action::Verify,
            Action::Rectify,
            Action::FollowUp(FollowUpResult::Satisfied),
            Action::FollowUp(FollowUpResult::Unsatisfied),
            Action::Close,
            Action::Appeal,
            Action::DecideAppeal { uphold: true },
            Action::DecideAppeal { uphold: false },
        ])
    }

    fn relation() -> impl Strategy<Value = Relation> {
        (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(handles, supervises, filed_appeal)| Relation {
                handles,
                supervises,
                filed_appeal,
            },
        )
    }

    fn rank(s: RectStatus) -> u8 {
        match s {
            Verifying => 0,
            Rectifying => 1,
            Rectified => 2,
            FollowUp => 3,
            Closed => 4,
        }
    }

    proptest! {
        /// States only move forward; 办结 is reached only with a recorded 回访 result or an upheld
        /// appeal; only an upheld appeal excludes the rating; nobody decides their own appeal; an
        /// appeal is decided once.
        #[test]
        fn properties(steps in prop::collection::vec((action(), relation()), 0..30)) {
            let mut f = facts(Verifying);
            let mut decided = 0;
            for (action, relation) in steps {
                let Ok(e) = decide(f, action, relation) else { continue };
                prop_assert!(rank(e.to) >= rank(e.from));
                if e.to == Closed && e.from != Closed {
                    prop_assert!(f.followed_up || e.appeal == AppealState::Upheld);
                }
                prop_assert_eq!(e.exclude_rating, e.appeal == AppealState::Upheld && f.appeal == AppealState::Pending);
                if let Action::DecideAppeal { .. } = action {
                    prop_assert!(!relation.filed_appeal && relation.supervises);
                    decided += 1;
                }
                if f.status == Closed {
                    let deciding = matches!(action, Action::DecideAppeal { .. });
                    prop_assert!(deciding);
                }
                f = Facts {
                    status: e.to,
                    appeal: e.appeal,
                    followed_up: f.followed_up || e.follow_up.is_some(),
                };
            }
            prop_assert!(decided <= 1);
        }
    }
}
