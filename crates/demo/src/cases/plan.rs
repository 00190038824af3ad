//! The plan of the demo cases: which item, which applicant, and what happens on which working day.

use anyhow::anyhow;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use yiwang_cases::model::{SpecialKind, Warning};
use yiwang_cases::workflow::{StepAction, StepKind};
use yiwang_cases::{Cases, WorkflowDef};
use yiwang_catalog::Catalog;
use yiwang_catalog::model::{ItemId, ItemRecord, ItemStatus};
use yiwang_kernel::{TimeLimit, china_date, china_local_to_utc};

use super::people::People;
use super::replay::{
    ACCEPT_NOTE, DECLINE_NOTES, DISAGREE_NOTE, INSTANT_NOTE, REVIEW_AGAIN_NOTE, SEND_BACK_NOTE,
    SPECIAL_NOTE, agree_note, decision, supplement,
};
use super::{FOOD_NEW, ID_CARD, MARRIAGE_REISSUE, SHOWCASES, VENUE_HYGIENE};

/// A demo item with its workflow, as the cases need it.
#[derive(Debug, Clone)]
pub(crate) struct DemoItem {
    pub(crate) id: ItemId,
    pub(crate) impl_code: String,
    pub(crate) department: String,
    pub(crate) hefei: bool,
    pub(crate) def: WorkflowDef,
    pub(crate) promised: Option<TimeLimit>,
    pub(crate) legal: Option<TimeLimit>,
    /// Mandatory materials not replaced by a commitment.
    pub(crate) materials: Vec<String>,
    /// The form asks for an enterprise (an enterprise applies).
    pub(crate) for_firms: bool,
    pub(crate) showcase: bool,
}

impl DemoItem {
    pub(crate) fn reviews(&self) -> Vec<Vec<String>> {
        let layers = self.def.layers();
        if layers.len() < 3 {
            return Vec::new();
        }
        layers[1..layers.len() - 1]
            .iter()
            .map(|l| l.iter().map(|s| s.id.clone()).collect())
            .collect()
    }

    pub(crate) fn intake(&self) -> &str {
        self.def.intake().map_or("accept", |s| s.id.as_str())
    }

    pub(crate) fn decide(&self) -> &str {
        self.def.decide().map_or("decide", |s| s.id.as_str())
    }

    pub(crate) fn offers(&self, step: &str, action: StepAction) -> bool {
        self.def.step(step).is_some_and(|s| s.offers(action))
    }

    pub(crate) fn plain(&self) -> bool {
        !self.def.instant && self.def.commitment.is_none()
    }

    /// A review step on a single path (no parallel branches) where `action` is offered.
    pub(crate) fn single_review_offering(&self, action: StepAction) -> Option<String> {
        if self.def.is_parallel() {
            return None;
        }
        self.reviews()
            .into_iter()
            .flatten()
            .find(|s| self.offers(s, action))
    }

    /// The decision can be sent back to the review before it.
    pub(crate) fn can_send_back(&self) -> bool {
        let Some(decide) = self.def.decide() else {
            return false;
        };
        let prev = self.def.predecessors(&decide.id);
        !decide.join
            && prev.len() == 1
            && prev[0].kind == StepKind::Review
            && prev[0].next.len() == 1
            && decide.offers(StepAction::SendBack)
    }
}

pub(crate) async fn demo_items(cases: &Cases, catalog: &Catalog) -> anyhow::Result<Vec<DemoItem>> {
    let records: Vec<ItemRecord> = serde_json::from_str(crate::catalog::CATALOG_ITEMS)?;
    let mut items = Vec::new();
    for record in records {
        let Ok(item) = catalog.item_by_impl_code(&record.impl_code).await else {
            continue;
        };
        let Some(workflow) = cases.current_workflow(item.id).await? else {
            continue;
        };
        let guide = catalog.guide(item.id, None).await?;
        if guide.version.content.status != ItemStatus::InUse {
            continue;
        }
        let def = workflow.definition;
        let replaced: Vec<String> = def
            .commitment
            .as_ref()
            .map(|c| c.replaces.clone())
            .unwrap_or_default();
        let content = guide.version.content;
        items.push(DemoItem {
            id: item.id,
            impl_code: record.impl_code.clone(),
            hefei: item.region_code.starts_with("34"),
            department: item.department_code,
            for_firms: def.form.iter().any(|f| f.key == "uscc"),
            materials: content
                .materials
                .iter()
                .filter(|m| m.mandatory && !replaced.contains(&m.name))
                .map(|m| m.name.clone())
                .collect(),
            promised: content.promised_limit,
            legal: content.legal_limit,
            showcase: SHOWCASES.iter().any(|s| s.impl_code == record.impl_code),
            def,
        });
    }
    Ok(items)
}

// ------------------------------------------------------------------------------------------ plans

/// Where a case ends up today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Draft,
    /// Waiting for pre-review; the accept deadline at the given level today.
    Submitted(Warning),
    /// Waiting for the applicant's supplement (asked at intake, or during review).
    Supplement {
        in_review: bool,
    },
    Declined,
    /// Accepted and in review; the decision deadline at the given level today.
    InReview(Warning),
    /// Parallel approval with one branch done.
    ParallelOneDone,
    /// In a special procedure (clock stopped).
    Suspended,
    /// Back in review after a special procedure.
    Resumed,
    /// The decision limit was extended (or the extension is still requested).
    Extended {
        approved: bool,
    },
    /// Decided, waiting for the window to deliver.
    Decided {
        granted: bool,
    },
    /// Decided and delivered; `twist` adds a supplement, a send-back or a counter application.
    Concluded {
        granted: bool,
        twist: u8,
    },
    Withdrawn,
    Returned,
    InstantConcluded,
    Commitment {
        verified: Option<bool>,
    },
}

/// Who applies.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Who {
    Person(usize),
    Firm(usize),
}

/// One thing that happens to a case.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Draft,
    Apply,
    Step {
        step: String,
        action: StepAction,
        opinion: &'static str,
        missing: Vec<String>,
        special: Option<(SpecialKind, NaiveDate)>,
    },
    Resume {
        step: String,
    },
    Resubmit {
        materials: Vec<String>,
    },
    Withdraw,
    RequestExtension {
        step: String,
    },
    ApproveExtension,
    Conclude,
    Verify {
        confirmed: bool,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) item: usize,
    pub(crate) who: Who,
    pub(crate) counter: bool,
    pub(crate) ops: Vec<(DateTime<Utc>, Op)>,
}

/// A moment of the replay: a working day (0 = the last one before today) and minutes after midnight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct At {
    pub(crate) day: usize,
    pub(crate) minute: u32,
}

pub(crate) const OPEN: u32 = 9 * 60;
pub(crate) const CLOSE: u32 = 17 * 60 + 30;

impl At {
    pub(crate) fn on(day: usize, minute: u32) -> Self {
        Self { day, minute }
    }

    /// A moment `days` working days later (0: later the same day, or the next morning), never after
    /// the last working day before today.
    pub(crate) fn later(self, days: usize, rng: &mut StdRng) -> Self {
        if days > 0 && self.day > 0 {
            return Self {
                day: self.day.saturating_sub(days),
                minute: OPEN + rng.random_range(0..420),
            };
        }
        let minute = self.minute + rng.random_range(20..80);
        if minute <= CLOSE || self.day == 0 {
            Self {
                day: self.day,
                minute: minute.min(23 * 60 + 50),
            }
        } else {
            Self {
                day: self.day - 1,
                minute: OPEN + rng.random_range(0..60),
            }
        }
    }
}

pub(crate) struct Planner {
    /// Working days before today, newest first.
    pub(crate) days: Vec<NaiveDate>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) deadlines: yiwang_cases::Deadlines,
}

/// How many cases of each fate, in the order they are planned.
pub(crate) const FATES: &[(Fate, usize)] = &[
    (Fate::InstantConcluded, 28),
    (Fate::Draft, 14),
    (Fate::Submitted(Warning::None), 8),
    (Fate::Submitted(Warning::Yellow), 8),
    (Fate::Submitted(Warning::Red), 7),
    (Fate::Submitted(Warning::Overdue), 6),
    (Fate::Supplement { in_review: false }, 10),
    (Fate::Supplement { in_review: true }, 4),
    (Fate::Declined, 12),
    (Fate::InReview(Warning::None), 22),
    (Fate::InReview(Warning::Yellow), 12),
    (Fate::InReview(Warning::Red), 12),
    (Fate::InReview(Warning::Overdue), 10),
    (Fate::ParallelOneDone, 8),
    (Fate::Suspended, 8),
    (Fate::Resumed, 4),
    (Fate::Extended { approved: true }, 5),
    (Fate::Extended { approved: false }, 2),
    (Fate::Decided { granted: true }, 12),
    (Fate::Decided { granted: false }, 4),
    (
        Fate::Concluded {
            granted: true,
            twist: 0,
        },
        40,
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 1,
        },
        6,
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 2,
        },
        6,
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 3,
        },
        8,
    ),
    (
        Fate::Concluded {
            granted: false,
            twist: 0,
        },
        8,
    ),
    (Fate::Withdrawn, 10),
    (Fate::Returned, 6),
    (Fate::Commitment { verified: None }, 10),
    (
        Fate::Commitment {
            verified: Some(true),
        },
        5,
    ),
    (
        Fate::Commitment {
            verified: Some(false),
        },
        2,
    ),
];

/// Cases of the demo citizens and their enterprise, so their pages show something of everything.
pub(crate) const PINNED: &[(Fate, &str, Who)] = &[
    (Fate::InstantConcluded, MARRIAGE_REISSUE, Who::Person(0)),
    (Fate::InReview(Warning::Yellow), ID_CARD, Who::Person(0)),
    (Fate::ParallelOneDone, FOOD_NEW, Who::Firm(0)),
    (
        Fate::Commitment { verified: None },
        VENUE_HYGIENE,
        Who::Firm(0),
    ),
    (
        Fate::Supplement { in_review: false },
        "20160000100234010012340100MB303904XG",
        Who::Person(0),
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 0,
        },
        "20150000300034010011340100MB9799496X",
        Who::Person(0),
    ),
    (Fate::Draft, ID_CARD, Who::Person(0)),
    (
        Fate::Submitted(Warning::None),
        "07020000300115060311150603MB2394023Q",
        Who::Person(1),
    ),
    (
        Fate::Withdrawn,
        "05010000400015060311150603MB0372023E",
        Who::Person(1),
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 0,
        },
        "07020000400115060311150603MB2394023Q",
        Who::Person(1),
    ),
];

impl Planner {
    pub(crate) fn time(&self, at: At) -> anyhow::Result<DateTime<Utc>> {
        let day = self
            .days
            .get(at.day)
            .ok_or_else(|| anyhow!("day {} is outside the demo history", at.day))?;
        let local = day
            .and_hms_opt(at.minute / 60, at.minute % 60, 0)
            .ok_or_else(|| anyhow!("bad minute {}", at.minute))?;
        Ok(china_local_to_utc(local))
    }

    pub(crate) fn fits(item: &DemoItem, fate: Fate) -> bool {
        let intake = item.intake();
        match fate {
            Fate::InstantConcluded => item.def.instant,
            Fate::Commitment { .. } => item.def.commitment.is_some(),
            Fate::Draft | Fate::Submitted(_) | Fate::Withdrawn => true,
            Fate::Declined => item.offers(intake, StepAction::Decline),
            Fate::Supplement { in_review: false } | Fate::Returned => {
                item.offers(intake, StepAction::Supplement)
            }
            Fate::Supplement { in_review: true } => {
                item.plain()
                    && item
                        .single_review_offering(StepAction::Supplement)
                        .is_some()
            }
            Fate::ParallelOneDone => item.plain() && item.def.is_parallel(),
            Fate::Suspended | Fate::Resumed => {
                item.plain() && item.single_review_offering(StepAction::Special).is_some()
            }
            Fate::Extended { .. } => item.plain() && item.department == "hf-scjgj",
            Fate::InReview(_) | Fate::Decided { .. } => item.plain(),
            Fate::Concluded { granted, twist } => {
                item.plain()
                    && match twist {
                        1 => item.offers(intake, StepAction::Supplement),
                        2 => granted && item.can_send_back(),
                        _ => true,
                    }
            }
        }
    }

    pub(crate) fn plans(
        &self,
        items: &[DemoItem],
        people: &People,
        rng: &mut StdRng,
    ) -> anyhow::Result<Vec<Plan>> {
        let mut plans = Vec::new();
        for (fate, code, who) in PINNED {
            let item = items
                .iter()
                .position(|i| i.impl_code == *code)
                .ok_or_else(|| anyhow!("pinned demo item {code} has no workflow"))?;
            anyhow::ensure!(
                Self::fits(&items[item], *fate),
                "pinned demo case {code} cannot be {fate:?}"
            );
            let plan = self
                .plan(*fate, item, &items[item], *who, rng)?
                .ok_or_else(|| anyhow!("pinned demo case {code} cannot be {fate:?} today"))?;
            plans.push(plan);
        }
        for (fate, count) in FATES {
            let pinned = PINNED.iter().filter(|(f, _, _)| f == fate).count();
            let candidates: Vec<usize> = (0..items.len())
                .filter(|&i| Self::fits(&items[i], *fate))
                .collect();
            anyhow::ensure!(!candidates.is_empty(), "no demo item can be {fate:?}");
            let mut made = pinned;
            let mut attempts = 0;
            while made < *count {
                attempts += 1;
                anyhow::ensure!(
                    attempts < 200,
                    "cannot plan demo cases that are {fate:?} today"
                );
                // Showcase items come up five times as often, so their posts have full inboxes.
                let weighted: Vec<(usize, u32)> = candidates
                    .iter()
                    .map(|&i| (i, if items[i].showcase { 5 } else { 1 }))
                    .collect();
                let item = weighted
                    .choose_weighted(rng, |(_, w)| *w)
                    .map(|(i, _)| *i)
                    .map_err(|e| anyhow!("choosing a demo item: {e}"))?;
                let who = Self::applicant(&items[item], people, rng);
                if let Some(plan) = self.plan(*fate, item, &items[item], who, rng)? {
                    plans.push(plan);
                    made += 1;
                }
            }
        }
        Ok(plans)
    }

    /// A person or enterprise of the item's city (never one of the demo citizens: their cases are
    /// pinned).
    pub(crate) fn applicant(item: &DemoItem, people: &People, rng: &mut StdRng) -> Who {
        if item.for_firms {
            let firms: Vec<usize> = (1..people.firms.len())
                .filter(|&f| people.firms[f].hefei == item.hefei)
                .collect();
            return Who::Firm(*firms.choose(rng).unwrap_or(&0));
        }
        let persons: Vec<usize> = (2..people.persons.len())
            .filter(|&p| people.persons[p].hefei == item.hefei)
            .collect();
        Who::Person(*persons.choose(rng).unwrap_or(&0))
    }

    /// The working days (index, at 10:00) on which accepting a case of `item` leaves its decision
    /// deadline at `level` today.
    pub(crate) fn acceptance_days(
        &self,
        item: &DemoItem,
        level: Warning,
        range: std::ops::Range<usize>,
    ) -> anyhow::Result<Vec<usize>> {
        let mut out = Vec::new();
        for day in range.filter(|d| *d < self.days.len()) {
            let due = self.deadlines.decision_due(
                self.time(At::on(day, 10 * 60))?,
                item.promised,
                item.legal,
            );
            if self.deadlines.warning(self.now, Some(due)) == level {
                out.push(day);
            }
        }
        Ok(out)
    }

    #[expect(clippy::too_many_lines, reason = "one script per fate, side by side")]
    pub(crate) fn plan(
        &self,
        fate: Fate,
        index: usize,
        item: &DemoItem,
        who: Who,
        rng: &mut StdRng,
    ) -> anyhow::Result<Option<Plan>> {
        let intake = item.intake().to_owned();
        let decide = item.decide().to_owned();
        let mut ops: Vec<(At, Op)> = Vec::new();
        let step = |step: &str, action: StepAction, opinion: &'static str| Op::Step {
            step: step.to_owned(),
            action,
            opinion,
            missing: Vec::new(),
            special: None,
        };
        let last = self.days.len() - 1;
        // Accept on day `day` (submitted 0–2 working days before), then the reviews done by `until`.
        let accepted = |ops: &mut Vec<(At, Op)>, rng: &mut StdRng, day: usize| -> At {
            let lead = rng.random_range(0..=2).min(last - day);
            let submit = At::on(day + lead, 8 * 60 + rng.random_range(0..600));
            ops.push((submit, Op::Apply));
            let at = if lead == 0 {
                submit.later(0, rng)
            } else {
                At::on(day, OPEN + rng.random_range(0..300))
            };
            ops.push((at, step(&intake, StepAction::Accept, ACCEPT_NOTE)));
            at
        };
        let reviews = item.reviews();
        // Every review agrees (parallel branches on their own days); returns the moment the last did.
        let review_all =
            |ops: &mut Vec<(At, Op)>, rng: &mut StdRng, mut at: At, agree: bool| -> At {
                for layer in &reviews {
                    let start = at;
                    let mut latest = at;
                    for (n, s) in layer.iter().enumerate() {
                        let last_layer = std::ptr::eq(layer, reviews.last().unwrap_or(layer));
                        let (action, note) = if !agree && last_layer && n == 0 {
                            (StepAction::Disagree, DISAGREE_NOTE)
                        } else {
                            (StepAction::Agree, agree_note(s))
                        };
                        let done = start.later(rng.random_range(0..=2), rng);
                        ops.push((done, step(s, action, note)));
                        if done.day < latest.day
                            || (done.day == latest.day && done.minute > latest.minute)
                        {
                            latest = done;
                        }
                    }
                    at = latest;
                }
                at
            };
        match fate {
            Fate::Draft => {
                ops.push((
                    At::on(rng.random_range(0..20), 8 * 60 + rng.random_range(0..780)),
                    Op::Draft,
                ));
            }
            Fate::Submitted(level) => {
                let mut days = Vec::new();
                for day in 0..12 {
                    let due = self.deadlines.accept_due(self.time(At::on(day, 12 * 60))?);
                    if self.deadlines.warning(self.now, Some(due)) == level {
                        days.push(day);
                    }
                }
                let Some(day) = days.choose(rng) else {
                    return Ok(None);
                };
                ops.push((At::on(*day, 8 * 60 + rng.random_range(0..720)), Op::Apply));
            }
            Fate::Supplement { in_review } => {
                let day = rng.random_range(2..18);
                let missing = item.materials.iter().take(2).cloned().collect::<Vec<_>>();
                let mut at;
                let step_id;
                if in_review {
                    at = accepted(&mut ops, rng, day + 2);
                    step_id = item
                        .single_review_offering(StepAction::Supplement)
                        .ok_or_else(|| anyhow!("no review step asks for supplements"))?;
                } else {
                    at = At::on(day, 8 * 60 + rng.random_range(0..600));
                    ops.push((at, Op::Apply));
                    step_id = intake.clone();
                }
                at = at.later(1, rng);
                ops.push((at, supplement(&step_id, &missing)));
            }
            Fate::Declined => {
                let at = At::on(rng.random_range(1..30), 8 * 60 + rng.random_range(0..600));
                ops.push((at, Op::Apply));
                ops.push((
                    at.later(rng.random_range(0..=2), rng),
                    step(
                        &intake,
                        StepAction::Decline,
                        DECLINE_NOTES[rng.random_range(0..DECLINE_NOTES.len())],
                    ),
                ));
            }
            Fate::InReview(level) => {
                let days = self.acceptance_days(item, level, 1..28)?;
                let Some(&day) = days.choose(rng) else {
                    return Ok(None);
                };
                let at = accepted(&mut ops, rng, day);
                // Some have their reviews done and wait for the decision.
                if !reviews.is_empty() && rng.random_bool(0.4) {
                    review_all(&mut ops, rng, at, true);
                }
            }
            Fate::ParallelOneDone => {
                let day = rng.random_range(1..6);
                let at = accepted(&mut ops, rng, day);
                let branches = reviews.first().cloned().unwrap_or_default();
                let done = branches
                    .choose(rng)
                    .cloned()
                    .ok_or_else(|| anyhow!("no branch"))?;
                ops.push((
                    at.later(1, rng),
                    step(&done, StepAction::Agree, agree_note(&done)),
                ));
            }
            Fate::Suspended | Fate::Resumed => {
                let review = item
                    .single_review_offering(StepAction::Special)
                    .ok_or_else(|| anyhow!("no special procedure"))?;
                let day = rng.random_range(4..16);
                let mut at = accepted(&mut ops, rng, day);
                // Earlier reviews agree first.
                for layer in &reviews {
                    if layer.contains(&review) {
                        break;
                    }
                    for s in layer {
                        at = at.later(1, rng);
                        ops.push((at, step(s, StepAction::Agree, agree_note(s))));
                    }
                }
                at = at.later(1, rng);
                let today = china_date(self.now);
                let (kind, until) = if fate == Fate::Suspended {
                    (
                        *[
                            SpecialKind::Inspection,
                            SpecialKind::Testing,
                            SpecialKind::ExpertReview,
                        ]
                        .choose(rng)
                        .unwrap_or(&SpecialKind::Inspection),
                        today + Duration::days(rng.random_range(3..20)),
                    )
                } else {
                    (
                        SpecialKind::Inspection,
                        self.days[at.day] + Duration::days(7),
                    )
                };
                ops.push((
                    at,
                    Op::Step {
                        step: review.clone(),
                        action: StepAction::Special,
                        opinion: SPECIAL_NOTE,
                        missing: Vec::new(),
                        special: Some((kind, until)),
                    },
                ));
                if fate == Fate::Resumed {
                    at = at.later(3, rng);
                    ops.push((at, Op::Resume { step: review }));
                }
            }
            Fate::Extended { approved } => {
                let day = rng.random_range(5..20);
                let at = accepted(&mut ops, rng, day);
                let first = reviews
                    .first()
                    .and_then(|l| l.first())
                    .cloned()
                    .unwrap_or(decide.clone());
                let at = at.later(2, rng);
                ops.push((at, Op::RequestExtension { step: first }));
                if approved {
                    ops.push((at.later(1, rng), Op::ApproveExtension));
                }
            }
            Fate::Decided { granted } => {
                let day = rng.random_range(3..12);
                let at = accepted(&mut ops, rng, day);
                let at = review_all(&mut ops, rng, at, granted).later(1, rng);
                ops.push((at, decision(&decide, granted)));
            }
            Fate::Concluded { granted, twist } => {
                let day = rng.random_range(10..30);
                let mut at;
                if twist == 1 {
                    // Asked for a supplement at intake, resubmitted, then accepted.
                    let start = At::on(day + 3, 8 * 60 + rng.random_range(0..600));
                    ops.push((start, Op::Apply));
                    let missing: Vec<String> = item.materials.iter().take(1).cloned().collect();
                    at = start.later(1, rng);
                    ops.push((at, supplement(&intake, &missing)));
                    at = at.later(1, rng);
                    ops.push((at, Op::Resubmit { materials: missing }));
                    at = at.later(1, rng);
                    ops.push((at, step(&intake, StepAction::Accept, ACCEPT_NOTE)));
                } else {
                    at = accepted(&mut ops, rng, day);
                }
                at = review_all(&mut ops, rng, at, granted).later(1, rng);
                if twist == 2 {
                    let review = reviews
                        .last()
                        .and_then(|l| l.first())
                        .cloned()
                        .unwrap_or_default();
                    ops.push((at, step(&decide, StepAction::SendBack, SEND_BACK_NOTE)));
                    at = at.later(1, rng);
                    ops.push((at, step(&review, StepAction::Agree, REVIEW_AGAIN_NOTE)));
                    at = at.later(1, rng);
                }
                ops.push((at, decision(&decide, granted)));
                ops.push((at.later(rng.random_range(0..=2), rng), Op::Conclude));
            }
            Fate::Withdrawn => {
                let day = rng.random_range(2..25);
                if rng.random_bool(0.5) && !item.def.instant && item.def.commitment.is_none() {
                    let at = accepted(&mut ops, rng, day);
                    ops.push((at.later(1, rng), Op::Withdraw));
                } else {
                    let at = At::on(day, 8 * 60 + rng.random_range(0..600));
                    ops.push((at, Op::Apply));
                    ops.push((at.later(0, rng), Op::Withdraw));
                }
            }
            Fate::Returned => {
                // Asked for a supplement more than 30 days ago; the evening sweep returned it.
                let mut days = Vec::new();
                for day in 20..last {
                    let due = self
                        .deadlines
                        .supplement_due(self.time(At::on(day, 15 * 60))?);
                    if due < self.time(At::on(2, 18 * 60))? {
                        days.push(day);
                    }
                }
                let Some(&day) = days.choose(rng) else {
                    return Ok(None);
                };
                let at = At::on(day + 1, 8 * 60 + rng.random_range(0..300));
                ops.push((at, Op::Apply));
                let missing: Vec<String> = item.materials.iter().take(2).cloned().collect();
                ops.push((At::on(day, 15 * 60), supplement(&intake, &missing)));
            }
            Fate::InstantConcluded => {
                let at = At::on(rng.random_range(0..last), 8 * 60 + rng.random_range(0..500));
                ops.push((at, Op::Apply));
                ops.push((
                    at.later(0, rng),
                    step(&intake, StepAction::Accept, INSTANT_NOTE),
                ));
            }
            Fate::Commitment { verified } => {
                let commitment = item
                    .def
                    .commitment
                    .as_ref()
                    .ok_or_else(|| anyhow!("no commitment"))?;
                let window = usize::try_from(commitment.verify_within_days).unwrap_or(20);
                let day = match verified {
                    None => rng.random_range(1..window.min(last)),
                    Some(_) => rng.random_range(12..last - 2),
                };
                let at = accepted(&mut ops, rng, day);
                if let Some(confirmed) = verified {
                    ops.push((
                        at.later(rng.random_range(3..10), rng),
                        Op::Verify { confirmed },
                    ));
                }
            }
        }
        let counter = matches!(fate, Fate::Concluded { twist: 3, .. })
            || (matches!(fate, Fate::InstantConcluded) && rng.random_bool(0.5));
        let mut timed = Vec::with_capacity(ops.len());
        for (at, op) in ops {
            timed.push((self.time(at)?, op));
        }
        // Parallel branches were scheduled independently; everything else is already in order
        // (`At::later` never goes back), so a stable sort only interleaves the branches.
        timed.sort_by_key(|(t, _)| *t);
        if timed.iter().any(|(t, _)| *t >= self.now) {
            return Ok(None);
        }
        Ok(Some(Plan {
            item: index,
            who,
            counter,
            ops: timed,
        }))
    }

    /// Evenings the deadline sweep ran, oldest first.
    pub(crate) fn sweeps(&self) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let mut out = Vec::new();
        for day in (0..self.days.len()).rev() {
            out.push(self.time(At::on(day, 18 * 60 + 30))?);
        }
        Ok(out)
    }
}
