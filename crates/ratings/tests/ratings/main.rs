//! Rating tests on SQLite and (when configured) PostgreSQL: one rating per event and only by the
//! person served, SMS links used once and refused when tampered with, tags per level, 差评 → a task
//! with working-day deadlines across the 2026 Spring Festival (and its Saturday working day) →
//! 回访 required before 办结, overdue warnings, appeals (upheld leaves the figures, rejected stays,
//! never decided by the one who filed), urging, disclosure figures against a hand count, masking.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod indicators;
mod support;
mod surveys;

use chrono::Duration;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{PageRequest, RegionCode};
use yiwang_ratings::Ratings;
use yiwang_ratings::model::{
    AppealGround, AppealState, Channel, EventKind, EventRef, FollowUpResult, RectStatus,
    SubjectKind,
};
use yiwang_ratings::service::LinkRating;

use crate::support::*;

db_test!(
    one_rating_per_event_only_by_the_person_served,
    sms_links_are_single_use_and_tamper_proof,
    tags_fit_the_level_and_refusals_change_nothing,
    bad_rating_opens_a_task_on_the_working_day_calendar,
    appeals_and_disclosure_figures,
    urging_and_replies,
    a_concluded_case_brings_an_invitation,
);

async fn one_rating_per_event_only_by_the_person_served(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    let applicant = w.applicant.clone();
    let concluded = case(&mut w, &applicant, true).await;
    let open = case(&mut w, &applicant, false).await;
    let before = written(t).await;
    // Someone else, a case not concluded, an unknown event and a request: all the same answer.
    for (who, event) in [
        (&w.other, concluded),
        (&w.applicant, open),
        (
            &w.applicant,
            EventRef {
                kind: EventKind::Case,
                id: 999_999,
            },
        ),
        (
            &w.applicant,
            EventRef {
                kind: EventKind::Request,
                id: concluded.id,
            },
        ),
    ] {
        assert_eq!(
            code(
                w.ratings
                    .rate(who, &rating(event, 1, &[], ""), Channel::Web, "test")
                    .await
            ),
            "event_not_found"
        );
    }
    // Staff and anonymous callers cannot rate as the person served.
    assert_eq!(
        code(
            w.ratings
                .rate(
                    &w.clerk,
                    &rating(concluded, 1, &[], ""),
                    Channel::Web,
                    "test"
                )
                .await
        ),
        "forbidden"
    );
    assert_eq!(written(t).await, before);

    let first = w
        .ratings
        .rate(
            &w.applicant,
            &rating(concluded, 1, &["一次办好", "热情耐心"], "很快"),
            Channel::Mobile,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(first.tags, vec!["done_in_one", "warm_patient"]);
    assert_eq!(first.channel, Channel::Mobile);
    assert_eq!(first.department_name, "合肥市民政局");
    // Masked everywhere a rating is shown.
    assert_eq!(first.rater_name, "张*明");
    assert_eq!(first.rater_mobile, "138****8001");
    // Not a 差评: no task.
    assert_eq!(
        count(t, "SELECT COUNT(*) AS n FROM rating_rectifications").await,
        0
    );
    let before = written(t).await;
    assert_eq!(
        code(
            w.ratings
                .rate(
                    &w.applicant,
                    &rating(concluded, 2, &[], ""),
                    Channel::Web,
                    "test"
                )
                .await
        ),
        "already_rated"
    );
    assert_eq!(written(t).await, before);

    // A served ticket: its person rates; the window is recorded.
    let other = w.other.clone();
    let served = ticket(&w, &other).await;
    assert_eq!(
        code(
            w.ratings
                .rate(
                    &w.applicant,
                    &rating(served, 2, &[], ""),
                    Channel::Tablet,
                    "test"
                )
                .await
        ),
        "event_not_found"
    );
    let r = w
        .ratings
        .rate(
            &w.other,
            &rating(served, 2, &["高效便捷"], ""),
            Channel::Tablet,
            "test",
        )
        .await
        .unwrap();
    assert!(r.event_label.contains("1号窗口"), "{}", r.event_label);
    let mine = w
        .ratings
        .my_ratings(&w.other, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(mine.total, 1);
    assert!(
        w.ratings
            .my_rating_of(&w.applicant, concluded)
            .await
            .unwrap()
            .is_some()
    );

    // 追评: once, within 15 days, by the rater only.
    assert_eq!(
        code(
            w.ratings
                .add_follow_up(&w.other, &first.public_id, "补充", "test")
                .await
        ),
        "rating_not_found"
    );
    let followed = w
        .ratings
        .add_follow_up(&w.applicant, &first.public_id, "证件当天就拿到了", "test")
        .await
        .unwrap();
    assert_eq!(followed.follow_up.as_deref(), Some("证件当天就拿到了"));
    assert_eq!(
        code(
            w.ratings
                .add_follow_up(&w.applicant, &first.public_id, "再补充", "test")
                .await
        ),
        "rating_follow_up_given"
    );
    w.clock.advance(Duration::days(16));
    assert_eq!(
        code(
            w.ratings
                .add_follow_up(&w.other, &r.public_id, "补充", "test")
                .await
        ),
        "rating_follow_up_closed"
    );
    // Audit entries of each change.
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action IN ('rating.rate', 'rating.follow_up')"
        )
        .await,
        3
    );
}

async fn sms_links_are_single_use_and_tamper_proof(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    let applicant = w.applicant.clone();
    let event = case(&mut w, &applicant, true).await;
    let sms_before = count(
        t,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notify.sms'",
    )
    .await;
    // Only the platform or the department's staff send invitations.
    assert_eq!(
        code(w.ratings.invite_by_sms(&w.stranger, event, "test").await),
        "forbidden"
    );
    let link = w
        .ratings
        .invite_by_sms(&Principal::System, event, "test")
        .await
        .unwrap();
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notify.sms'"
        )
        .await,
        sms_before + 1
    );
    let input = LinkRating {
        level: 4,
        tags: vec!["多次跑动".to_owned()],
        text: "跑了两次".to_owned(),
    };
    // A changed character anywhere, or another key: refused, nothing written.
    let before = written(t).await;
    let mut tampered = link.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(
        code(w.ratings.rate_by_link(&tampered, &input, "test").await),
        "rating_token_invalid"
    );
    let mut parts: Vec<&str> = link.split('.').collect();
    parts[3] = "999";
    let other_person = parts.join(".");
    assert_eq!(
        code(w.ratings.rate_by_link(&other_person, &input, "test").await),
        "rating_token_invalid"
    );
    assert_eq!(written(t).await, before);
    assert!(w.ratings.link_event(&link).await.is_ok());

    let r = w.ratings.rate_by_link(&link, &input, "test").await.unwrap();
    assert_eq!((r.channel, r.level.code()), (Channel::Sms, 4));
    // A 差评 through the link opens its task too.
    assert_eq!(
        count(t, "SELECT COUNT(*) AS n FROM rating_rectifications").await,
        1
    );
    let before = written(t).await;
    assert_eq!(
        code(w.ratings.rate_by_link(&link, &input, "test").await),
        "rating_token_used"
    );
    assert_eq!(code(w.ratings.link_event(&link).await), "rating_token_used");
    assert_eq!(written(t).await, before);

    // Expiry: a fresh link for a ticket, used after its 7 days.
    let other = w.other.clone();
    let served = ticket(&w, &other).await;
    let late = w
        .ratings
        .invite_by_sms(&w.clerk, served, "test")
        .await
        .unwrap();
    w.clock.advance(Duration::days(8));
    assert_eq!(
        code(w.ratings.rate_by_link(&late, &input, "test").await),
        "rating_token_expired"
    );

    // Staff phone entry on the person's behalf records the staff member.
    let person = match &w.other {
        Principal::Person(p) => *p,
        _ => unreachable!(),
    };
    assert_eq!(
        code(
            w.ratings
                .rate_by_phone(&w.supervisor, person, &rating(served, 2, &[], ""), "test")
                .await
        ),
        "forbidden"
    );
    let by_phone = w
        .ratings
        .rate_by_phone(
            &w.clerk,
            person,
            &rating(served, 2, &[], "电话回访"),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(by_phone.channel, Channel::Phone);
    let Principal::Staff(clerk) = &w.clerk else {
        unreachable!()
    };
    assert_eq!(by_phone.entered_by, Some(clerk.id));
    // The ticket is rated now: no further invitation.
    assert_eq!(
        code(w.ratings.invite_by_sms(&w.clerk, served, "test").await),
        "already_rated"
    );
}

async fn tags_fit_the_level_and_refusals_change_nothing(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    let applicant = w.applicant.clone();
    let event = case(&mut w, &applicant, true).await;
    let before = written(t).await;
    for (input, expected) in [
        (
            rating(event, 5, &["一次办好"], ""),
            "rating_tag_not_for_level",
        ),
        (
            rating(event, 1, &["态度差"], ""),
            "rating_tag_not_for_level",
        ),
        (
            rating(event, 2, &["违规收费"], ""),
            "rating_tag_not_for_level",
        ),
        (rating(event, 4, &["很差"], ""), "rating_unknown_tag"),
        (rating(event, 0, &[], ""), "rating_bad_level"),
        (rating(event, 6, &[], ""), "rating_bad_level"),
        (
            rating(event, 3, &[], &"长".repeat(501)),
            "rating_text_too_long",
        ),
    ] {
        assert_eq!(
            code(
                w.ratings
                    .rate(&w.applicant, &input, Channel::Web, "test")
                    .await
            ),
            expected
        );
    }
    // SMS and phone ratings have their own entry points.
    assert_eq!(
        code(
            w.ratings
                .rate(
                    &w.applicant,
                    &rating(event, 1, &[], ""),
                    Channel::Sms,
                    "test"
                )
                .await
        ),
        "forbidden"
    );
    assert_eq!(written(t).await, before);
    // 基本满意 may carry either kind of tag.
    let r = w
        .ratings
        .rate(
            &w.applicant,
            &rating(event, 3, &["高效便捷", "long_wait"], &"长".repeat(500)),
            Channel::Api,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(r.tags, vec!["efficient", "long_wait"]);
    assert_eq!(Ratings::tags_for(5).unwrap().len(), 9);
}

async fn bad_rating_opens_a_task_on_the_working_day_calendar(t: &TestDb) {
    // Friday 13 February 2026: Saturday the 14th is a working day (调休), 15–23 the Spring Festival.
    let mut w = world(t, local(2, 12, 10)).await;
    let applicant = w.applicant.clone();
    let event = case(&mut w, &applicant, true).await;
    let other = w.other.clone();
    let late_event = case(&mut w, &other, true).await;
    w.clock.set(local(2, 13, 10));
    let r = w
        .ratings
        .rate(
            &w.applicant,
            &rating(event, 5, &["超时办理", "态度差"], "窗口人员态度冷淡"),
            Channel::Web,
            "test",
        )
        .await
        .unwrap();
    let inbox = w
        .ratings
        .department_tasks(&w.clerk, true, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(inbox.total, 1);
    let task = &inbox.items[0];
    assert_eq!(task.rating.public_id, r.public_id);
    assert_eq!(task.status, RectStatus::Verifying);
    // Contact within 1 working day: the Saturday working day; rectify within 5: the 27th
    // (Mon–Fri counting would give the 16th and the 20th).
    assert_eq!(task.contact_due_on, day(2, 14));
    assert_eq!(task.rectify_due_on, day(2, 27));
    assert_eq!(task.rectify_due_at, local(2, 28, 0) - Duration::seconds(1));
    // The rater is told, the department's notice is in the outbox, the audit has both.
    assert!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notify.sms'"
        )
        .await
            >= 1
    );
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'ratings.notify'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'rating.rectification_open'"
        )
        .await,
        1
    );

    // Masking: the handlers see the rater in full, a supervisor masked, others nothing.
    let handler = w.ratings.rectification(&w.clerk, task.id).await.unwrap();
    assert_eq!(
        (handler.rater_name.as_str(), handler.rater_mobile.as_str()),
        ("张晓明", "13800138001")
    );
    let supervised = w
        .ratings
        .rectification(&w.supervisor, task.id)
        .await
        .unwrap();
    assert_eq!(
        (
            supervised.rater_name.as_str(),
            supervised.rater_mobile.as_str()
        ),
        ("张*明", "138****8001")
    );
    assert_eq!(
        code(w.ratings.rectification(&w.stranger, task.id).await),
        "rectification_not_found"
    );
    assert_eq!(
        code(w.ratings.rectification(&w.applicant, task.id).await),
        "forbidden"
    );

    // The states in order; refusals change nothing.
    let before = written(t).await;
    assert_eq!(
        code(w.ratings.close(&w.clerk, task.id, "test").await),
        "rectification_wrong_state"
    );
    assert_eq!(
        code(w.ratings.rectify(&w.clerk, task.id, "已整改", "test").await),
        "rectification_wrong_state"
    );
    assert_eq!(
        code(w.ratings.verify(&w.stranger, task.id, "联系", "test").await),
        "rectification_not_found"
    );
    assert_eq!(
        code(
            w.ratings
                .verify(&w.supervisor, task.id, "联系", "test")
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(w.ratings.verify(&w.clerk, task.id, "  ", "test").await),
        "rating_note_required"
    );
    assert_eq!(written(t).await, before);

    w.clock.set(local(2, 14, 9));
    let v = w
        .ratings
        .verify(&w.clerk, task.id, "已电话联系张先生，核实属实", "test")
        .await
        .unwrap();
    assert_eq!(v.status, RectStatus::Rectifying);
    w.clock.set(local(2, 26, 15));
    let v = w
        .ratings
        .rectify(
            &w.admin,
            task.id,
            "对窗口人员批评教育，优化取证流程",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(v.status, RectStatus::Rectified);
    assert!(v.rectified_on_time());
    // 100 % follow-up: no 办结 without the 回访 result.
    let before = written(t).await;
    assert_eq!(
        code(w.ratings.close(&w.clerk, task.id, "test").await),
        "rectification_follow_up_required"
    );
    assert_eq!(written(t).await, before);
    let v = w
        .ratings
        .follow_up(
            &w.clerk,
            task.id,
            FollowUpResult::Satisfied,
            "回访满意",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(
        (v.status, v.follow_up_result),
        (RectStatus::FollowUp, Some(FollowUpResult::Satisfied))
    );
    let v = w.ratings.close(&w.clerk, task.id, "test").await.unwrap();
    assert_eq!(v.status, RectStatus::Closed);
    let history = w.ratings.rectification(&w.admin, task.id).await.unwrap();
    assert_eq!(
        history
            .history
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        vec!["verify", "rectify", "follow_up", "close"]
    );
    // Staff have no way to change or delete the rating itself; it reads as it was given.
    assert_eq!(history.task.rating.text, "窗口人员态度冷淡");

    // Overdue: a second 差评 never handled; the sweep warns once, 电子监察 lists it.
    w.clock.set(local(3, 2, 10));
    let late = w
        .ratings
        .rate(
            &w.other,
            &rating(late_event, 4, &[], ""),
            Channel::Web,
            "test",
        )
        .await
        .unwrap();
    assert!(w.ratings.overdue(&w.supervisor).await.unwrap().is_empty());
    assert_eq!(code(w.ratings.overdue(&w.clerk).await), "forbidden");
    w.clock.set(local(3, 4, 9));
    let overdue = w.ratings.overdue(&w.supervisor).await.unwrap();
    assert_eq!(overdue.len(), 1);
    assert_eq!(overdue[0].rating.public_id, late.public_id);
    let notices = count(
        t,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'ratings.notify'",
    )
    .await;
    assert_eq!(w.ratings.sweep_overdue().await.unwrap(), 1);
    assert_eq!(w.ratings.sweep_overdue().await.unwrap(), 0);
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'ratings.notify'"
        )
        .await,
        notices + 1
    );
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'rectification.overdue'"
        )
        .await,
        1
    );
}

async fn appeals_and_disclosure_figures(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    // Six served tickets rated 1, 1, 2, 3, 4, 5 by six people in March.
    let mut people = Vec::new();
    for name in ["赵一", "钱二", "孙小三", "李四", "周五", "吴六"] {
        people.push(register(&mut w, name).await);
    }
    let mut rated = Vec::new();
    for (who, level) in people.iter().zip([1_u8, 1, 2, 3, 4, 5]) {
        let event = ticket(&w, who).await;
        let tags: &[&str] = if level >= 4 { &["long_wait"] } else { &[] };
        rated.push(
            w.ratings
                .rate(
                    who,
                    &rating(event, level, tags, ""),
                    Channel::Tablet,
                    "test",
                )
                .await
                .unwrap(),
        );
    }
    let inbox = w
        .ratings
        .department_tasks(&w.admin, true, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(inbox.total, 2);
    let task_of = |public_id: &str| {
        inbox
            .items
            .iter()
            .find(|x| x.rating.public_id == public_id)
            .unwrap()
            .id
    };
    let four = task_of(&rated[4].public_id);
    let five = task_of(&rated[5].public_id);
    // The 4 is rectified on time, the 5 is appealed.
    w.ratings
        .verify(&w.clerk, four, "已联系", "test")
        .await
        .unwrap();
    w.ratings
        .rectify(&w.clerk, four, "增开窗口", "test")
        .await
        .unwrap();

    let hefei = RegionCode::parse("340100").unwrap();
    let figures = w.ratings.disclosure(&hefei, "2026-03").await.unwrap();
    let mzj = figures
        .departments
        .iter()
        .find(|d| d.key == "hf-mzj")
        .unwrap();
    assert_eq!(mzj.by_level, [2, 1, 1, 1, 1]);
    assert_eq!((mzj.total, mzj.bad, mzj.rectified_on_time), (6, 2, 1));
    assert_eq!(mzj.satisfaction_rate, Some(0.5));
    assert_eq!(figures.total.total, 6);
    assert_eq!(figures.regions.len(), 1);
    assert_eq!(figures.regions[0].by_level, [2, 1, 1, 1, 1]);
    let list = w
        .ratings
        .disclosed_bad(&hefei, "2026-03", None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.total, 2);
    assert!(
        list.items
            .iter()
            .any(|b| b.rater_name == "周*" && b.on_time)
    );
    assert!(list.items.iter().any(|b| b.rater_name == "吴*"));
    // Another month and bad months.
    assert_eq!(
        w.ratings
            .disclosure(&hefei, "2026-02")
            .await
            .unwrap()
            .total
            .total,
        0
    );
    assert_eq!(
        code(w.ratings.disclosure(&hefei, "2026-3").await),
        "rating_bad_range"
    );

    // Appeal: the department files it; its filer cannot decide it even as a supervisor.
    assert_eq!(
        code(
            w.ratings
                .appeal(&w.stranger, five, AppealGround::Malicious, "恶意", "test")
                .await
        ),
        "rectification_not_found"
    );
    let appeal = w
        .ratings
        .appeal(
            &w.admin_supervisor,
            five,
            AppealGround::Unrelated,
            "评价内容为医保政策，与本窗口服务无关",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(appeal.status, AppealState::Pending);
    assert_eq!(
        code(
            w.ratings
                .appeal(&w.admin, five, AppealGround::Malicious, "再次申诉", "test")
                .await
        ),
        "appeal_exists"
    );
    let before = written(t).await;
    assert_eq!(
        code(
            w.ratings
                .decide_appeal(&w.admin_supervisor, five, true, "成立", "test")
                .await
        ),
        "appeal_same_person"
    );
    assert_eq!(
        code(
            w.ratings
                .decide_appeal(&w.admin, five, true, "成立", "test")
                .await
        ),
        "forbidden"
    );
    assert_eq!(written(t).await, before);
    let pending = w
        .ratings
        .pending_appeals(&w.supervisor, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let decided = w
        .ratings
        .decide_appeal(&w.supervisor, five, true, "经核实与服务无关", "test")
        .await
        .unwrap();
    assert_eq!(decided.status, AppealState::Upheld);
    let task = w.ratings.rectification(&w.admin, five).await.unwrap();
    assert_eq!(task.task.status, RectStatus::Closed);
    assert!(task.task.rating.excluded);
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'rectification.appeal%'"
        )
        .await,
        2
    );
    // Upheld: out of every figure and off the list.
    let figures = w.ratings.disclosure(&hefei, "2026-03").await.unwrap();
    let mzj = figures
        .departments
        .iter()
        .find(|d| d.key == "hf-mzj")
        .unwrap();
    assert_eq!(mzj.by_level, [2, 1, 1, 1, 0]);
    assert_eq!((mzj.total, mzj.bad, mzj.rectified_on_time), (5, 1, 1));
    assert_eq!(mzj.satisfaction_rate, Some(0.6));
    let dept = w
        .ratings
        .department_figures(rated[0].department_id, "2026-03")
        .await
        .unwrap();
    assert_eq!(dept.by_level, mzj.by_level);
    assert_eq!(dept.total, 5);
    let list = w
        .ratings
        .disclosed_bad(&hefei, "2026-03", None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.total, 1);

    // Rejected: the 4 is appealed and the appeal rejected; it stays counted.
    w.ratings
        .appeal(&w.admin, four, AppealGround::Malicious, "恶意差评", "test")
        .await
        .unwrap();
    let rejected = w
        .ratings
        .decide_appeal(&w.supervisor, four, false, "评价属实", "test")
        .await
        .unwrap();
    assert_eq!(rejected.status, AppealState::Rejected);
    assert_eq!(
        code(
            w.ratings
                .decide_appeal(&w.supervisor, four, true, "再议", "test")
                .await
        ),
        "appeal_not_pending"
    );
    let after = w.ratings.disclosure(&hefei, "2026-03").await.unwrap();
    assert_eq!(after.total.by_level, [2, 1, 1, 1, 0]);
    assert_eq!(after.total.satisfaction_rate, Some(0.6));
    // A region outside: nothing.
    let kangbashi = RegionCode::parse("150603").unwrap();
    assert_eq!(
        w.ratings
            .disclosure(&kangbashi, "2026-03")
            .await
            .unwrap()
            .total
            .total,
        0
    );
}

async fn urging_and_replies(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    let applicant = w.applicant.clone();
    let event = case(&mut w, &applicant, true).await;
    w.ratings
        .rate(
            &w.applicant,
            &rating(event, 4, &["多次跑动"], ""),
            Channel::Web,
            "test",
        )
        .await
        .unwrap();
    let task = w
        .ratings
        .department_tasks(&w.clerk, true, PageRequest::default())
        .await
        .unwrap()
        .items[0]
        .id;
    let before = written(t).await;
    assert_eq!(
        code(
            w.ratings
                .urge(
                    &w.clerk,
                    SubjectKind::Rectification,
                    task.get(),
                    "快办",
                    2,
                    "test"
                )
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            w.ratings
                .urge(
                    &w.supervisor,
                    SubjectKind::Rectification,
                    task.get(),
                    "快办",
                    0,
                    "test"
                )
                .await
        ),
        "urging_bad_reply_days"
    );
    assert_eq!(
        code(
            w.ratings
                .urge(&w.supervisor, SubjectKind::Request, 1, "快办", 2, "test")
                .await
        ),
        "event_not_found"
    );
    assert_eq!(written(t).await, before);
    let urging = w
        .ratings
        .urge(
            &w.supervisor,
            SubjectKind::Rectification,
            task.get(),
            "请尽快联系群众核实整改",
            2,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(urging.reply_due_on, day(3, 4));
    // A case can be urged too.
    let case_urging = w
        .ratings
        .urge(
            &w.supervisor,
            SubjectKind::Case,
            event.id,
            "请说明办理情况",
            1,
            "test",
        )
        .await
        .unwrap();
    assert_eq!(case_urging.reply_due_on, day(3, 3));
    assert_eq!(
        code(
            w.ratings
                .reply_urging(&w.stranger, urging.id, "收到", "test")
                .await
        ),
        "urging_not_found"
    );
    let replied = w
        .ratings
        .reply_urging(&w.clerk, urging.id, "已联系群众，正在整改", "test")
        .await
        .unwrap();
    assert!(replied.replied_at.is_some());
    assert_eq!(
        code(
            w.ratings
                .reply_urging(&w.admin, urging.id, "再次回复", "test")
                .await
        ),
        "urging_replied"
    );
    let Principal::Staff(clerk) = &w.clerk else {
        unreachable!()
    };
    let history = w
        .ratings
        .department_urgings(&w.supervisor, clerk.department, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(history.total, 2);
    // Unanswered first.
    assert!(history.items[0].reply.is_none());
    assert_eq!(
        code(
            w.ratings
                .department_urgings(&w.stranger, clerk.department, PageRequest::default())
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        w.ratings
            .subject_urgings(&w.admin, SubjectKind::Rectification, task.get())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Concluding a case writes its `cases.concluded` job; the worker's invitation handler turns it
/// into one SMS with a rating link to the applicant, and does nothing once the case is rated or
/// when invitations are switched off.
async fn a_concluded_case_brings_an_invitation(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    let applicant = w.applicant.clone();
    let sms = "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notify.sms'";
    let concluded_jobs = "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'cases.concluded'";
    case(&mut w, &applicant, false).await;
    assert_eq!(count(t, concluded_jobs).await, 0, "an open case has none");
    let event = case(&mut w, &applicant, true).await;
    assert_eq!(count(t, concluded_jobs).await, 1, "one per concluded case");
    let Principal::Person(person) = applicant else {
        panic!("the applicant is a person")
    };

    let worker = |invite: bool| {
        let queue = yiwang_db::jobs::JobQueue::new(
            t.db.clone(),
            std::sync::Arc::new(w.clock.clone()),
            "test",
        );
        let mut worker = yiwang_db::jobs::Worker::new(queue);
        yiwang_ratings::register_invitations(&mut worker, w.ratings.clone(), invite);
        worker
    };
    let before = count(t, sms).await;
    // The job runs (other kinds in the batch have no handler here and wait for a retry): one SMS
    // with a link that rates the case.
    worker(true).run_once().await.unwrap();
    assert_eq!(count(t, sms).await, before + 1);
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'cases.concluded' AND status = 'done'"
        )
        .await,
        1
    );
    let link = w.ratings.link_token(event, person);
    let rated = w
        .ratings
        .rate_by_link(
            &link,
            &LinkRating {
                level: 1,
                tags: Vec::new(),
                text: String::new(),
            },
            "test",
        )
        .await
        .unwrap();
    assert_eq!(rated.channel, Channel::Sms);

    // Once rated, another conclusion job of the same case is done without a message; so is any job
    // when invitations are off.
    for invite in [true, false] {
        yiwang_db::jobs::enqueue(
            t.db.conn(),
            yiwang_kernel::Clock::now(&w.clock),
            &yiwang_db::jobs::NewJob::new(
                "cases.concluded",
                serde_json::json!({ "case": event.id }),
            ),
        )
        .await
        .unwrap();
        worker(invite).run_once().await.unwrap();
        assert_eq!(count(t, sms).await, before + 1, "no second message");
    }
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'cases.concluded' AND status <> 'done'"
        )
        .await,
        0
    );
}
