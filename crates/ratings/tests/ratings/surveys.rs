//! Survey tests on SQLite and (when configured) PostgreSQL: the builder's limits and who may build,
//! publication to the public, one answer per person or browser, answers checked against the
//! questions, results against a hand count, closing; invitations to the people served by an item
//! and at a hall (SMS through the outbox, one-use links); every refusal changes nothing.

use std::collections::BTreeMap;

use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_kernel::{ErrorCode as _, PageRequest};
use yiwang_ratings::survey::model::{
    Answer, Answers, Audience, AudienceKind, MAX_QUESTIONS, NewQuestion, QuestionKind, SurveyStatus,
};
use yiwang_ratings::survey::{AnswerChannel, Respondent, SurveyError, Surveys};

use crate::support::*;

db_test!(
    builder_limits_and_who_may_build,
    public_answers_once_and_results_match_a_hand_count,
    invitations_reach_the_people_served_once,
);

fn sc<T: std::fmt::Debug>(r: Result<T, SurveyError>) -> &'static str {
    r.unwrap_err().code()
}

/// Rows any survey use case writes, summed: a refusal must leave this unchanged.
async fn survey_rows(t: &TestDb) -> i64 {
    count(
        t,
        "SELECT (SELECT COUNT(*) FROM surveys) + (SELECT COUNT(*) FROM survey_responses)
             + (SELECT COUNT(*) FROM survey_invitations) + (SELECT COUNT(*) FROM audit_log)
             + (SELECT COUNT(*) FROM jobs) AS n",
    )
    .await
}

/// The sum of every survey's revision: a refused change leaves it.
async fn revisions(t: &TestDb) -> i64 {
    count(
        t,
        "SELECT CAST(COALESCE(SUM(revision), 0) AS BIGINT) AS n FROM surveys",
    )
    .await
}

fn q(
    section: &str,
    kind: QuestionKind,
    text: &str,
    required: bool,
    options: &[&str],
) -> NewQuestion {
    NewQuestion {
        section: section.to_owned(),
        kind,
        text: text.to_owned(),
        required,
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

/// A survey with one question of each kind: q1 single (required), q2 multiple, q3 scale
/// (required), q4 text.
async fn four_questions(s: &Surveys, admin: &yiwang_identity::policy::Principal) -> String {
    let survey = s
        .create(
            admin,
            None,
            "  婚姻登记服务体验测评 ",
            "请如实填写。",
            "test",
        )
        .await
        .unwrap();
    let id = survey.public_id;
    for question in [
        q(
            "办事情况",
            QuestionKind::Single,
            "您办理的业务",
            true,
            &["结婚登记", "离婚登记", "补领证件"],
        ),
        q(
            "办事情况",
            QuestionKind::Multiple,
            "您通过哪些渠道了解办事指南",
            false,
            &["网站", "电话", "窗口", "朋友"],
        ),
        q("评价", QuestionKind::Scale, "您对办理速度的评价", true, &[]),
        q("评价", QuestionKind::Text, "其他建议", false, &[]),
    ] {
        s.add_question(admin, &id, &question, "test").await.unwrap();
    }
    id
}

fn answers(pairs: &[(&str, Answer)]) -> Answers {
    Answers(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

async fn builder_limits_and_who_may_build(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let s = w.ratings.surveys();
    // Only a department (or platform) administrator starts a survey, in their own department.
    for who in [&w.clerk, &w.applicant, &w.supervisor] {
        assert_eq!(
            sc(s.create(who, None, "测评", "", "test").await),
            "forbidden"
        );
    }
    let before = survey_rows(t).await;
    assert_eq!(
        sc(s.create(&w.admin, None, "   ", "", "test").await),
        "survey_required"
    );
    assert_eq!(
        sc(s.create(&w.admin, None, &"长".repeat(101), "", "test")
            .await),
        "survey_too_long"
    );
    let stranger_dept = match &w.stranger {
        yiwang_identity::policy::Principal::Staff(st) => st.department,
        _ => unreachable!(),
    };
    assert_eq!(
        sc(s.create(&w.admin, Some(stranger_dept), "测评", "", "test")
            .await),
        "forbidden"
    );
    assert_eq!(survey_rows(t).await, before);

    let id = four_questions(&s, &w.admin).await;
    let survey = s.for_staff(&w.admin, &id).await.unwrap();
    assert_eq!(survey.title, "婚姻登记服务体验测评");
    assert_eq!(survey.status, SurveyStatus::Draft);
    assert_eq!(survey.definition.sections.len(), 2);
    let keys: Vec<&str> = survey
        .definition
        .questions()
        .map(|(_, q)| q.key.as_str())
        .collect();
    assert_eq!(keys, ["q1", "q2", "q3", "q4"]);
    // Another department's staff do not see it; a draft is not published.
    assert_eq!(sc(s.for_staff(&w.stranger, &id).await), "survey_not_found");
    assert_eq!(sc(s.published(&id).await), "survey_not_found");

    // Bad questions are refused with their reason and change nothing.
    let before = (survey_rows(t).await, revisions(t).await);
    for (question, expected) in [
        (
            q(
                "",
                QuestionKind::Single,
                "只有一个选项",
                false,
                &["是", " "],
            ),
            "survey_too_few_options",
        ),
        (
            q("", QuestionKind::Single, "重复", false, &["是", "是"]),
            "survey_duplicate_option",
        ),
        (
            q(
                "",
                QuestionKind::Single,
                "太多",
                false,
                &[
                    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
                ],
            ),
            "survey_too_many",
        ),
        (
            q("", QuestionKind::Text, "  ", false, &[]),
            "survey_required",
        ),
        (
            q("", QuestionKind::Text, &"问".repeat(201), false, &[]),
            "survey_too_long",
        ),
        (
            q(&"节".repeat(61), QuestionKind::Text, "题", false, &[]),
            "survey_too_long",
        ),
    ] {
        assert_eq!(
            sc(s.add_question(&w.admin, &id, &question, "test").await),
            expected
        );
    }
    assert_eq!(
        sc(s.remove_question(&w.admin, &id, "q9", "test").await),
        "survey_question_not_found"
    );
    assert_eq!(
        sc(s.add_question(
            &w.clerk,
            &id,
            &q("", QuestionKind::Text, "题", false, &[]),
            "test"
        )
        .await),
        "survey_not_found"
    );
    assert_eq!((survey_rows(t).await, revisions(t).await), before);

    // Removing the last question of a section removes the section; a draft's next key follows the
    // highest one left (no answers exist before publication).
    s.remove_question(&w.admin, &id, "q4", "test")
        .await
        .unwrap();
    let added = s
        .add_question(
            &w.admin,
            &id,
            &q("评价", QuestionKind::Text, "其他建议", false, &[]),
            "test",
        )
        .await
        .unwrap();
    assert_eq!(added.definition.sections.len(), 2);
    assert_eq!(added.definition.questions().last().unwrap().1.key, "q4");

    // At most MAX_QUESTIONS questions.
    let full = s.create(&w.admin, None, "满", "", "test").await.unwrap();
    for n in 0..MAX_QUESTIONS {
        s.add_question(
            &w.admin,
            &full.public_id,
            &q("", QuestionKind::Scale, &format!("题{n}"), false, &[]),
            "test",
        )
        .await
        .unwrap();
    }
    assert_eq!(
        sc(s.add_question(
            &w.admin,
            &full.public_id,
            &q("", QuestionKind::Scale, "再一题", false, &[]),
            "test"
        )
        .await),
        "survey_too_many"
    );

    // An empty survey cannot be published; a bad audience is refused.
    let empty = s.create(&w.admin, None, "空", "", "test").await.unwrap();
    assert_eq!(
        sc(
            s.publish(&w.admin, &empty.public_id, &Audience::public(), "test")
                .await
        ),
        "survey_empty"
    );
    let before = (survey_rows(t).await, revisions(t).await);
    for audience in [
        Audience {
            kind: AudienceKind::Item,
            target: None,
            from: Some(day(3, 1)),
            until: Some(day(3, 2)),
        },
        Audience {
            kind: AudienceKind::Item,
            target: Some(w.item.get()),
            from: Some(day(3, 2)),
            until: Some(day(3, 1)),
        },
        // The period may not reach into the future.
        Audience {
            kind: AudienceKind::Item,
            target: Some(w.item.get()),
            from: Some(day(3, 1)),
            until: Some(day(3, 3)),
        },
        Audience {
            kind: AudienceKind::Hall,
            target: Some(999_999),
            from: Some(day(3, 1)),
            until: Some(day(3, 2)),
        },
        // Nobody was served by the item in that period.
        Audience {
            kind: AudienceKind::Item,
            target: Some(w.item.get()),
            from: Some(day(2, 1)),
            until: Some(day(2, 2)),
        },
    ] {
        assert_eq!(
            sc(s.publish(&w.admin, &id, &audience, "test").await),
            "survey_bad_audience"
        );
    }
    assert_eq!((survey_rows(t).await, revisions(t).await), before);

    let published = s
        .publish(&w.admin, &id, &Audience::public(), "test")
        .await
        .unwrap();
    assert_eq!(published.survey.status, SurveyStatus::Open);
    assert!(published.links.is_empty());
    // Frozen once published.
    assert_eq!(
        sc(s.add_question(
            &w.admin,
            &id,
            &q("", QuestionKind::Text, "题", false, &[]),
            "test"
        )
        .await),
        "survey_wrong_state"
    );
    assert_eq!(
        sc(s.publish(&w.admin, &id, &Audience::public(), "test").await),
        "survey_wrong_state"
    );
    let listed = s
        .list(&w.admin, PageRequest::new(Some(1), Some(20)).unwrap())
        .await
        .unwrap();
    assert_eq!(listed.total, 3);
    // Every change was audited.
    assert!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'survey.%'"
        )
        .await
            >= 10
    );
}

async fn public_answers_once_and_results_match_a_hand_count(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let s = w.ratings.surveys();
    let id = four_questions(&s, &w.admin).await;
    s.publish(&w.admin, &id, &Audience::public(), "test")
        .await
        .unwrap();

    // Five browsers and one person answer.
    let browsers: Vec<String> = (0..5)
        .map(|_| s.browser_id(&s.new_browser_cookie()).unwrap())
        .collect();
    let given = [
        answers(&[
            ("q1", Answer::Choice(0)),
            ("q2", Answer::Choices(vec![0, 2])),
            ("q3", Answer::Scale(5)),
            ("q4", Answer::Text("很好".into())),
        ]),
        answers(&[
            ("q1", Answer::Choice(0)),
            ("q2", Answer::Choices(vec![2])),
            ("q3", Answer::Scale(4)),
        ]),
        answers(&[
            ("q1", Answer::Choice(1)),
            ("q3", Answer::Scale(3)),
            ("q4", Answer::Text("   ".into())),
        ]),
        answers(&[
            ("q1", Answer::Choice(0)),
            ("q2", Answer::Choices(vec![0, 1, 2, 2])),
            ("q3", Answer::Scale(5)),
        ]),
        answers(&[
            ("q1", Answer::Choice(2)),
            ("q3", Answer::Scale(1)),
            ("q4", Answer::Text("等候太久".into())),
        ]),
    ];
    for (b, a) in browsers.iter().zip(&given) {
        s.answer(&id, Respondent::Browser(b), a, AnswerChannel::Web, "test")
            .await
            .unwrap();
    }
    let person = match &w.applicant {
        yiwang_identity::policy::Principal::Person(p) => *p,
        _ => unreachable!(),
    };
    s.answer(
        &id,
        Respondent::Person(person),
        &answers(&[
            ("q1", Answer::Choice(1)),
            ("q2", Answer::Choices(vec![3])),
            ("q3", Answer::Scale(4)),
        ]),
        AnswerChannel::Api,
        "test",
    )
    .await
    .unwrap();

    // Once per browser and per person; bad answers refused; nothing written by a refusal.
    let before = survey_rows(t).await;
    let ok = answers(&[("q1", Answer::Choice(0)), ("q3", Answer::Scale(3))]);
    assert_eq!(
        sc(s.answer(
            &id,
            Respondent::Browser(&browsers[0]),
            &ok,
            AnswerChannel::Web,
            "test"
        )
        .await),
        "survey_already_answered"
    );
    assert_eq!(
        sc(s.answer(
            &id,
            Respondent::Person(person),
            &ok,
            AnswerChannel::Web,
            "test"
        )
        .await),
        "survey_already_answered"
    );
    let fresh = s.browser_id(&s.new_browser_cookie()).unwrap();
    for (bad, expected) in [
        (
            answers(&[("q1", Answer::Choice(0))]),
            "survey_answer_required",
        ),
        (
            answers(&[("q1", Answer::Choice(3)), ("q3", Answer::Scale(3))]),
            "survey_bad_answer",
        ),
        (
            answers(&[("q1", Answer::Choice(0)), ("q3", Answer::Scale(6))]),
            "survey_bad_answer",
        ),
        (
            answers(&[("q1", Answer::Choice(0)), ("q3", Answer::Scale(0))]),
            "survey_bad_answer",
        ),
        (
            answers(&[("q1", Answer::Scale(1)), ("q3", Answer::Scale(3))]),
            "survey_bad_answer",
        ),
        (
            answers(&[
                ("q1", Answer::Choice(0)),
                ("q2", Answer::Choices(vec![4])),
                ("q3", Answer::Scale(3)),
            ]),
            "survey_bad_answer",
        ),
        (
            answers(&[
                ("q1", Answer::Choice(0)),
                ("q3", Answer::Scale(3)),
                ("q9", Answer::Scale(3)),
            ]),
            "survey_unknown_question",
        ),
        (
            answers(&[
                ("q1", Answer::Choice(0)),
                ("q3", Answer::Scale(3)),
                ("q4", Answer::Text("字".repeat(1001))),
            ]),
            "survey_answer_too_long",
        ),
    ] {
        assert_eq!(
            sc(s.answer(
                &id,
                Respondent::Browser(&fresh),
                &bad,
                AnswerChannel::Web,
                "test"
            )
            .await),
            expected
        );
    }
    assert_eq!(survey_rows(t).await, before);
    // A forged browser cookie is not a browser id.
    let cookie = s.new_browser_cookie();
    let last = if cookie.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &cookie[..cookie.len() - 1]);
    assert!(s.browser_id(&cookie).is_some());
    assert!(s.browser_id(&forged).is_none());
    assert!(
        s.browser_id("0123456789abcdef0123456789abcdef.00")
            .is_none()
    );

    // Results by hand: 6 responses.
    let r = s.results(&w.admin, &id).await.unwrap();
    assert_eq!(r.responses, 6);
    let q1 = &r.questions[0];
    assert_eq!(q1.answered, 6);
    // 结婚登记 3, 离婚登记 2, 补领证件 1.
    let counts: Vec<u64> = q1.counts.iter().map(|c| c.count).collect();
    assert_eq!(counts, [3, 2, 1]);
    assert!((q1.counts[0].percent.unwrap() - 50.0).abs() < 1e-9);
    assert!((q1.counts[1].percent.unwrap() - 100.0 / 3.0).abs() < 1e-9);
    // q2 answered by 4: 网站 2, 电话 1, 窗口 3 (a repeated index counts once), 朋友 1.
    let q2 = &r.questions[1];
    assert_eq!(q2.answered, 4);
    assert_eq!(
        q2.counts.iter().map(|c| c.count).collect::<Vec<_>>(),
        [2, 1, 3, 1]
    );
    assert!((q2.counts[2].percent.unwrap() - 75.0).abs() < 1e-9);
    // q3: 5, 4, 3, 5, 1, 4 → average 22 / 6; distribution 1:1 2:0 3:1 4:2 5:2.
    let q3 = &r.questions[2];
    assert_eq!(q3.answered, 6);
    assert_eq!(
        q3.counts.iter().map(|c| c.count).collect::<Vec<_>>(),
        [1, 0, 1, 2, 2]
    );
    assert!((q3.average.unwrap() - 22.0 / 6.0).abs() < 1e-9);
    assert!((q3.counts[3].percent.unwrap() - 100.0 / 3.0).abs() < 1e-9);
    // q4: two texts (a blank one is not an answer), newest first.
    let q4 = &r.questions[3];
    assert_eq!(q4.answered, 2);
    assert_eq!(q4.texts, ["等候太久", "很好"]);
    // Supervisors over the region read results; another department does not.
    assert_eq!(s.results(&w.supervisor, &id).await.unwrap().responses, 6);
    assert_eq!(sc(s.results(&w.stranger, &id).await), "survey_not_found");
    assert_eq!(sc(s.results(&w.applicant, &id).await), "forbidden");

    // Closed: no more answers, results stay.
    s.close(&w.admin, &id, "test").await.unwrap();
    assert_eq!(
        sc(s.close(&w.admin, &id, "test").await),
        "survey_wrong_state"
    );
    assert_eq!(
        sc(s.answer(
            &id,
            Respondent::Browser(&fresh),
            &ok,
            AnswerChannel::Web,
            "test"
        )
        .await),
        "survey_not_open"
    );
    assert_eq!(s.published(&id).await.unwrap().status, SurveyStatus::Closed);
    assert_eq!(s.results(&w.admin, &id).await.unwrap().responses, 6);
    assert!(s.open_public(10).await.unwrap().is_empty());
}

async fn invitations_reach_the_people_served_once(t: &TestDb) {
    let mut w = world(t, local(3, 2, 10)).await;
    let applicant = w.applicant.clone();
    let other = w.other.clone();
    case(&mut w, &applicant, true).await;
    // Not concluded: not invited.
    case(&mut w, &other, false).await;
    let s = w.ratings.surveys();
    let id = four_questions(&s, &w.admin).await;
    let sms_before = count(
        t,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notify.sms'",
    )
    .await;
    let published = s
        .publish(
            &w.admin,
            &id,
            &Audience {
                kind: AudienceKind::Item,
                target: Some(w.item.get()),
                from: Some(day(3, 1)),
                until: Some(day(3, 2)),
            },
            "test",
        )
        .await
        .unwrap();
    assert_eq!(published.links.len(), 1);
    assert_eq!(published.survey.invited, 1);
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'notify.sms'"
        )
        .await,
        sms_before + 1
    );
    let link = &published.links[0];
    assert_eq!(s.invitation(link).await.unwrap().public_id, id);
    // Invitation only: the public form refuses it.
    let browser = s.browser_id(&s.new_browser_cookie()).unwrap();
    let ok = answers(&[("q1", Answer::Choice(2)), ("q3", Answer::Scale(4))]);
    assert_eq!(
        sc(s.answer(
            &id,
            Respondent::Browser(&browser),
            &ok,
            AnswerChannel::Web,
            "test"
        )
        .await),
        "survey_invitation_only"
    );
    // A tampered link, then the real one once.
    let before = survey_rows(t).await;
    assert_eq!(
        sc(s.answer_by_invitation(&format!("{link}0"), &ok, "test")
            .await),
        "survey_token_invalid"
    );
    assert_eq!(
        sc(s.answer_by_invitation("sv1.", &ok, "test").await),
        "survey_token_invalid"
    );
    assert_eq!(
        sc(
            s.answer_by_invitation(link, &answers(&[("q1", Answer::Choice(2))]), "test")
                .await
        ),
        "survey_answer_required"
    );
    assert_eq!(survey_rows(t).await, before);
    s.answer_by_invitation(link, &ok, "test").await.unwrap();
    assert_eq!(
        sc(s.answer_by_invitation(link, &ok, "test").await),
        "survey_already_answered"
    );
    assert_eq!(sc(s.invitation(link).await), "survey_already_answered");
    let r = s.results(&w.admin, &id).await.unwrap();
    assert_eq!(r.responses, 1);
    assert_eq!(r.questions[0].counts[2].count, 1);

    // A hall audience: the person whose ticket was served there.
    let served = ticket(&w, &other).await;
    assert!(served.id > 0);
    let hall_survey = four_questions(&s, &w.admin).await;
    let published = s
        .publish(
            &w.admin,
            &hall_survey,
            &Audience {
                kind: AudienceKind::Hall,
                target: Some(w.hall.get()),
                from: Some(day(3, 2)),
                until: Some(day(3, 2)),
            },
            "test",
        )
        .await
        .unwrap();
    assert_eq!(published.links.len(), 1);
    s.answer_by_invitation(&published.links[0], &ok, "test")
        .await
        .unwrap();
    // The closed survey's link is refused.
    s.close(&w.admin, &hall_survey, "test").await.unwrap();
    assert_eq!(
        sc(s.invitation(&published.links[0]).await),
        "survey_already_answered"
    );
    assert_eq!(
        s.results(&w.admin, &hall_survey).await.unwrap().responses,
        1
    );
}
