//! Demo ratings (好差评): most concluded demo cases are rated by their applicant a few hours after
//! the result, on the web or the phone page, mostly 非常满意 with the odd 基本满意 and a few 差评;
//! the 差评 are worked by their departments into every state of the rectification — 办结 with a
//! satisfied follow-up, 回访, 已整改, 整改中, one appealed as unrelated (pending for the supervisor)
//! and one left 待核实 past its one-working-day deadline (overdue, for 电子监察).
//!
//! Ratings go through the real service on a clock of their own, set to each rating's time, so
//! the figures spread over the seven weeks of demo history. Loaded once, with the cases.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use yiwang_cases::model::CaseId;
use yiwang_identity::model::DepartmentId;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{PageRequest, TestClock};
use yiwang_ratings::model::{AppealGround, Channel, EventKind, EventRef, FollowUpResult};
use yiwang_ratings::{NewRating, Ratings, RatingsConfig};

use crate::DemoSetup;

/// What the demo ratings are.
#[derive(Debug, Clone, Copy, Default)]
pub struct RatingsReport {
    pub ratings: usize,
    /// 差评 (levels 4–5), each with its rectification task.
    pub bad: usize,
}

const SOURCE: &str = "system:demo";

/// What people write, by level.
const TEXTS: [&[&str]; 5] = [
    &[
        "网上提交后第二天就通过了，全程不用跑腿，非常方便。",
        "窗口工作人员很耐心，一次就把材料讲清楚了。",
        "电子证照直接免提交，省了不少事。",
        "",
        "",
    ],
    &["办理顺利，比预期快。", "整体满意，进度查询很清楚。", ""],
    &[
        "能办成，但等候时间有点长。",
        "材料要求写得不够清楚，问了两次。",
    ],
    &["说好三个工作日，结果拖了一周才有结果。"],
    &["来回跑了三趟，每次都说缺不同的材料。"],
];

/// Tags people pick, by level (codes of `yiwang_ratings::model::TAGS`).
const TAG_CHOICES: [&[&str]; 5] = [
    &["done_in_one", "efficient", "warm_patient", "online_easy"],
    &["clear_guidance", "efficient", "short_wait"],
    &["long_wait", "unclear_guidance"],
    &["overdue", "extra_materials"],
    &["multiple_trips", "poor_attitude", "extra_materials"],
];

/// Rates the concluded demo cases and works the 差评. `posts` are the demo staff by post (each
/// department's window and review posts handle its rectifications).
pub(crate) async fn load(
    setup: &DemoSetup,
    cases: &[Option<(CaseId, String)>],
    posts: &HashMap<String, StaffPrincipal>,
) -> anyhow::Result<RatingsReport> {
    let now = setup.clock.now();
    let clock = TestClock::new(now);
    let ratings = Ratings::new(
        setup.db.clone(),
        clock.shared(),
        Arc::new(setup.calendar.clone()),
        Arc::clone(&setup.pii),
        // The demo sends no rating links; the key only has to exist.
        RatingsConfig::new(b"yiwang-demo-ratings".to_vec()),
    );
    let handlers: HashMap<DepartmentId, Principal> = posts
        .values()
        .map(|s| (s.department, Principal::Staff(s.clone())))
        .collect();
    let mut rng = StdRng::seed_from_u64(20_261_207);
    let mut report = RatingsReport::default();
    // (rating time, department, rating public id) of each 差评.
    let mut bad: Vec<(DateTime<Utc>, DepartmentId, String)> = Vec::new();
    let mut rated = 0_usize;
    for (id, _) in cases.iter().flatten() {
        let Some(facts) = yiwang_cases::reads::case_facts_in(setup.db.conn(), *id).await? else {
            continue;
        };
        let Some(concluded) = facts.concluded_at.filter(|_| facts.is_concluded()) else {
            continue;
        };
        // Most people rate; some never do.
        if rng.random_range(0..100) >= 85 {
            continue;
        }
        let at = concluded + Duration::minutes(rng.random_range(20..1_800));
        if at >= now {
            continue;
        }
        rated += 1;
        // Every ninth rating is a 差评, the rest mostly 非常满意.
        let level: u8 = if rated % 9 == 4 {
            if rated.is_multiple_of(2) { 4 } else { 5 }
        } else {
            match rng.random_range(0..100) {
                0..75 => 1,
                75..93 => 2,
                _ => 3,
            }
        };
        let i = usize::from(level - 1);
        let tags: Vec<String> = TAG_CHOICES[i]
            .iter()
            .filter(|_| rng.random_range(0..100) < 45)
            .take(2)
            .map(|t| (*t).to_owned())
            .collect();
        let text = TEXTS[i][rng.random_range(0..TEXTS[i].len())].to_owned();
        clock.set(at);
        let channel = if rng.random_range(0..100) < 40 {
            Channel::Mobile
        } else {
            Channel::Web
        };
        let view = ratings
            .rate(
                &Principal::Person(facts.applicant),
                &NewRating {
                    event: EventRef {
                        kind: EventKind::Case,
                        id: id.get(),
                    },
                    level,
                    tags,
                    text,
                },
                channel,
                SOURCE,
            )
            .await?;
        report.ratings += 1;
        if level >= 4 {
            report.bad += 1;
            bad.push((at, facts.department, view.public_id));
        }
    }
    work_bad_ratings(&ratings, &clock, &handlers, &bad, now).await?;
    Ok(report)
}

/// Takes the 差评, oldest first, into the states a department's inbox really shows.
async fn work_bad_ratings(
    ratings: &Ratings,
    clock: &TestClock,
    handlers: &HashMap<DepartmentId, Principal>,
    bad: &[(DateTime<Utc>, DepartmentId, String)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let count = bad.len();
    for (n, (at, department, public_id)) in bad.iter().enumerate() {
        let Some(handler) = handlers.get(department) else {
            continue;
        };
        let task = ratings
            .department_tasks(handler, true, PageRequest::new(Some(1), Some(100))?)
            .await?
            .items
            .into_iter()
            .find(|t| t.rating.public_id == *public_id)
            .ok_or_else(|| anyhow::anyhow!("no rectification for rating {public_id}"))?;
        // The newest stays as it came in (in time); the one before it is left untouched past its
        // deadline (overdue); one is appealed; the others move on, the oldest furthest.
        let stage = match count - 1 - n {
            0 => continue,
            1 => {
                clock.set(now);
                ratings.sweep_overdue().await?;
                continue;
            }
            2 => "appeal",
            3 => "verify",
            4 => "rectify",
            5 => "follow_up",
            _ => "close",
        };
        let step = |hours: i64| (*at + Duration::hours(hours)).min(now);
        clock.set(step(3));
        if stage == "appeal" {
            ratings
                .appeal(
                    handler,
                    task.id,
                    AppealGround::Unrelated,
                    "该评价反映的是停车场收费问题，不属于本事项的办理服务。",
                    SOURCE,
                )
                .await?;
            continue;
        }
        ratings
            .verify(
                handler,
                task.id,
                "已电话联系申请人，核实情况属实，并致歉说明原因。",
                SOURCE,
            )
            .await?;
        if stage == "verify" {
            continue;
        }
        clock.set(step(50));
        ratings
            .rectify(
                handler,
                task.id,
                "已在办事指南中补充材料说明，并对窗口人员开展一次性告知培训。",
                SOURCE,
            )
            .await?;
        if stage == "rectify" {
            continue;
        }
        clock.set(step(75));
        ratings
            .follow_up(
                handler,
                task.id,
                FollowUpResult::Satisfied,
                "回访申请人，对整改结果表示满意。",
                SOURCE,
            )
            .await?;
        if stage == "follow_up" {
            continue;
        }
        clock.set(step(80));
        ratings.close(handler, task.id, SOURCE).await?;
    }
    Ok(())
}
