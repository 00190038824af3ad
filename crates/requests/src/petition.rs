//! The rules of a petition (信访) as one pure function, with every statutory period as a deadline
//! on the working-day calendar (a period whose last day is a holiday ends on the next working day).
//!
//! ```text
//!   待受理 submitted ──accept (within 15 days)──▶ 已受理 accepted ──reply (within 60, +30 once)──▶ 已办结 concluded
//!   submitted ──decline──▶ 不予受理 not_accepted
//!   concluded ──ask for 复查 (within 30 days)──▶ under_review ──decide (within 30)──▶ reviewed
//!   reviewed ──ask for 复核 (within 30 days)──▶ under_rereview ──decide (within 30)──▶ 已终结 final
//! ```

use chrono::{DateTime, Utc};
use yiwang_kernel::{TimeLimit, WorkCalendar};

use crate::RequestError;
use crate::model::PetitionStage;

/// The statutory periods (configurable, defaults from the 信访工作条例).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PetitionLimits {
    pub decide: TimeLimit,
    pub conclude: TimeLimit,
    pub extension: TimeLimit,
    /// For asking a review or re-review after a written reply or review decision.
    pub ask_review: TimeLimit,
    /// For deciding a review or re-review.
    pub review: TimeLimit,
}

impl Default for PetitionLimits {
    fn default() -> Self {
        Self {
            decide: TimeLimit::natural_days(15),
            conclude: TimeLimit::natural_days(60),
            extension: TimeLimit::natural_days(30),
            ask_review: TimeLimit::natural_days(30),
            review: TimeLimit::natural_days(30),
        }
    }
}

/// Everything that moves a petition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PetitionAction {
    Accept,
    Decline,
    /// 延期 with approval, once.
    Extend,
    /// The written reply (处理意见书).
    Reply,
    /// The petitioner asks for 复查.
    AskReview,
    DecideReview,
    /// The petitioner asks for 复核.
    AskReReview,
    DecideReReview,
}

impl PetitionAction {
    pub fn code(self) -> &'static str {
        match self {
            PetitionAction::Accept => "petition_accept",
            PetitionAction::Decline => "petition_decline",
            PetitionAction::Extend => "petition_extend",
            PetitionAction::Reply => "petition_reply",
            PetitionAction::AskReview => "petition_ask_review",
            PetitionAction::DecideReview => "petition_decide_review",
            PetitionAction::AskReReview => "petition_ask_rereview",
            PetitionAction::DecideReReview => "petition_decide_rereview",
        }
    }

    fn words(self) -> &'static str {
        match self {
            PetitionAction::Accept => "accepted",
            PetitionAction::Decline => "declined",
            PetitionAction::Extend => "extended",
            PetitionAction::Reply => "replied to",
            PetitionAction::AskReview | PetitionAction::AskReReview => "reviewed",
            PetitionAction::DecideReview | PetitionAction::DecideReReview => "decided",
        }
    }

    /// Taken by the petitioner (the others by the petition office).
    pub fn by_petitioner(self) -> bool {
        matches!(
            self,
            PetitionAction::AskReview | PetitionAction::AskReReview
        )
    }
}

/// A petition's stage and deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PetitionFacts {
    pub stage: PetitionStage,
    pub decide_due_at: DateTime<Utc>,
    pub conclude_due_at: Option<DateTime<Utc>>,
    pub extended: bool,
    pub request_until: Option<DateTime<Utc>>,
    pub review_due_at: Option<DateTime<Utc>>,
}

impl PetitionFacts {
    /// A petition just submitted at `now`.
    pub fn submitted(now: DateTime<Utc>, calendar: &WorkCalendar, limits: &PetitionLimits) -> Self {
        Self {
            stage: PetitionStage::Submitted,
            decide_due_at: calendar.deadline(now, limits.decide),
            conclude_due_at: None,
            extended: false,
            request_until: None,
            review_due_at: None,
        }
    }
}

/// Decides `action` at `now`; the result is the petition's next facts.
pub fn decide(
    facts: PetitionFacts,
    action: PetitionAction,
    now: DateTime<Utc>,
    calendar: &WorkCalendar,
    limits: &PetitionLimits,
) -> Result<PetitionFacts, RequestError> {
    use PetitionStage as S;
    let wrong = || RequestError::PetitionWrongStage {
        stage: facts.stage,
        action: action.words(),
    };
    let mut next = facts;
    let window_open = |until: Option<DateTime<Utc>>| until.is_some_and(|u| now <= u);
    match action {
        PetitionAction::Accept => {
            if facts.stage != S::Submitted {
                return Err(wrong());
            }
            next.stage = S::Accepted;
            next.conclude_due_at = Some(calendar.deadline(now, limits.conclude));
        }
        PetitionAction::Decline => {
            if facts.stage != S::Submitted {
                return Err(wrong());
            }
            next.stage = S::NotAccepted;
        }
        PetitionAction::Extend => {
            if facts.stage != S::Accepted {
                return Err(wrong());
            }
            if facts.extended {
                return Err(RequestError::AlreadyExtended);
            }
            let Some(due) = facts.conclude_due_at else {
                return Err(RequestError::Corrupt(
                    "an accepted petition has no deadline".to_owned(),
                ));
            };
            next.extended = true;
            next.conclude_due_at = Some(calendar.deadline(due, limits.extension).max(due));
        }
        PetitionAction::Reply => {
            if facts.stage != S::Accepted {
                return Err(wrong());
            }
            next.stage = S::Concluded;
            next.request_until = Some(calendar.deadline(now, limits.ask_review));
        }
        PetitionAction::AskReview | PetitionAction::AskReReview => {
            let expected = if action == PetitionAction::AskReview {
                S::Concluded
            } else {
                S::Reviewed
            };
            if facts.stage != expected {
                return Err(wrong());
            }
            if !window_open(facts.request_until) {
                return Err(RequestError::ReviewWindowClosed);
            }
            next.stage = if action == PetitionAction::AskReview {
                S::UnderReview
            } else {
                S::UnderReReview
            };
            next.review_due_at = Some(calendar.deadline(now, limits.review));
        }
        PetitionAction::DecideReview => {
            if facts.stage != S::UnderReview {
                return Err(wrong());
            }
            next.stage = S::Reviewed;
            next.request_until = Some(calendar.deadline(now, limits.ask_review));
        }
        PetitionAction::DecideReReview => {
            if facts.stage != S::UnderReReview {
                return Err(wrong());
            }
            next.stage = S::Final;
            next.request_until = None;
        }
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};
    use proptest::prelude::*;
    use yiwang_kernel::{ErrorCode as _, china_local_to_utc};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        china_local_to_utc(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap(),
        )
    }

    fn end_of(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        at(y, m, d, 0) + Duration::seconds(86_399)
    }

    #[test]
    fn periods_ending_on_a_holiday_move_to_the_next_working_day() {
        let cal = WorkCalendar::builtin();
        let limits = PetitionLimits::default();
        // Submitted 9/16: day 15 is 10/1, in the National Day holiday (10/1–10/7).
        let f = PetitionFacts::submitted(at(2026, 9, 16, 10), &cal, &limits);
        assert_eq!(f.decide_due_at, end_of(2026, 10, 8));
        // Accepted 2026-12-18: day 60 is 2027-02-16; the 2027 calendar is not loaded, weekdays
        // count, and 2-16 is a Tuesday.
        let accepted = decide(
            f,
            PetitionAction::Accept,
            at(2026, 12, 18, 9),
            &cal,
            &limits,
        )
        .unwrap();
        assert_eq!(accepted.stage, PetitionStage::Accepted);
        assert_eq!(accepted.conclude_due_at, Some(end_of(2027, 2, 16)));
    }

    #[test]
    #[expect(
        clippy::many_single_char_names,
        reason = "one letter per stage of the chain"
    )]
    fn one_extension_and_the_review_chain() {
        let cal = WorkCalendar::builtin();
        let limits = PetitionLimits::default();
        let f = PetitionFacts::submitted(at(2026, 3, 2, 10), &cal, &limits);
        let f = decide(f, PetitionAction::Accept, at(2026, 3, 5, 10), &cal, &limits).unwrap();
        // 3/5 + 60 = 5/4, in the Labour Day holiday (5/1–5/5): 5/6.
        assert_eq!(f.conclude_due_at, Some(end_of(2026, 5, 6)));
        let e = decide(
            f,
            PetitionAction::Extend,
            at(2026, 4, 20, 10),
            &cal,
            &limits,
        )
        .unwrap();
        // 5/6 23:59:59 + 30 days = 6/5 (a Friday).
        assert_eq!(e.conclude_due_at, Some(end_of(2026, 6, 5)));
        assert_eq!(
            decide(
                e,
                PetitionAction::Extend,
                at(2026, 4, 21, 10),
                &cal,
                &limits
            )
            .unwrap_err()
            .code(),
            "petition_already_extended"
        );
        let r = decide(e, PetitionAction::Reply, at(2026, 5, 20, 10), &cal, &limits).unwrap();
        assert_eq!(r.stage, PetitionStage::Concluded);
        // 5/20 + 30 = 6/19, the Dragon Boat holiday (6/19–6/21): 6/22.
        assert_eq!(r.request_until, Some(end_of(2026, 6, 22)));
        assert_eq!(
            decide(
                r,
                PetitionAction::AskReview,
                at(2026, 6, 23, 9),
                &cal,
                &limits
            )
            .unwrap_err()
            .code(),
            "petition_review_window_closed"
        );
        let u = decide(
            r,
            PetitionAction::AskReview,
            at(2026, 6, 22, 9),
            &cal,
            &limits,
        )
        .unwrap();
        assert_eq!(u.stage, PetitionStage::UnderReview);
        assert_eq!(u.review_due_at, Some(end_of(2026, 7, 22)));
        let d = decide(
            u,
            PetitionAction::DecideReview,
            at(2026, 7, 1, 9),
            &cal,
            &limits,
        )
        .unwrap();
        let u2 = decide(
            d,
            PetitionAction::AskReReview,
            at(2026, 7, 2, 9),
            &cal,
            &limits,
        )
        .unwrap();
        assert_eq!(u2.stage, PetitionStage::UnderReReview);
        let fin = decide(
            u2,
            PetitionAction::DecideReReview,
            at(2026, 7, 3, 9),
            &cal,
            &limits,
        )
        .unwrap();
        assert_eq!(fin.stage, PetitionStage::Final);
        assert_eq!(
            decide(
                fin,
                PetitionAction::AskReview,
                at(2026, 7, 3, 10),
                &cal,
                &limits
            )
            .unwrap_err()
            .code(),
            "petition_wrong_stage"
        );
    }

    #[test]
    fn decline_ends_it() {
        let cal = WorkCalendar::builtin();
        let limits = PetitionLimits::default();
        let f = PetitionFacts::submitted(at(2026, 3, 2, 10), &cal, &limits);
        let d = decide(
            f,
            PetitionAction::Decline,
            at(2026, 3, 3, 10),
            &cal,
            &limits,
        )
        .unwrap();
        assert_eq!(d.stage, PetitionStage::NotAccepted);
        assert_eq!(
            decide(d, PetitionAction::Reply, at(2026, 3, 4, 10), &cal, &limits)
                .unwrap_err()
                .code(),
            "petition_wrong_stage"
        );
    }

    fn any_action() -> impl Strategy<Value = PetitionAction> {
        prop_oneof![
            Just(PetitionAction::Accept),
            Just(PetitionAction::Decline),
            Just(PetitionAction::Extend),
            Just(PetitionAction::Reply),
            Just(PetitionAction::AskReview),
            Just(PetitionAction::DecideReview),
            Just(PetitionAction::AskReReview),
            Just(PetitionAction::DecideReReview),
        ]
    }

    proptest! {
        /// Random sequences: the stage only moves forward along the chain, terminal stages stay,
        /// and the conclusion deadline never moves earlier.
        #[test]
        fn random_sequences_stay_consistent(
            steps in proptest::collection::vec((any_action(), 0_i64..40), 0..30),
        ) {
            let cal = WorkCalendar::builtin();
            let limits = PetitionLimits::default();
            let mut now = at(2026, 9, 10, 9);
            let mut f = PetitionFacts::submitted(now, &cal, &limits);
            let rank = |s: PetitionStage| PetitionStage::ALL.iter().position(|x| *x == s);
            for (action, days) in steps {
                now += Duration::days(days);
                let Ok(next) = decide(f, action, now, &cal, &limits) else { continue };
                prop_assert!(!matches!(f.stage, PetitionStage::NotAccepted | PetitionStage::Final));
                prop_assert!(rank(next.stage) >= rank(f.stage));
                prop_assert_eq!(next.decide_due_at, f.decide_due_at);
                if let Some(before) = f.conclude_due_at {
                    prop_assert!(next.conclude_due_at.is_some_and(|after| after >= before));
                }
                if next.extended { prop_assert!(next.conclude_due_at.is_some()); }
                f = next;
            }
        }
    }
}
