//! Request tests on SQLite and (when configured) PostgreSQL: the closed loop end to end with an
//! audit entry per state change, 直接办结, 退单 within its limit and 改派 keeping the deadline,
//! urgent limits in wall-clock hours and the sweep marking once, extensions approved by a
//! supervisor, three-level mediation with an overdue escalation, petition deadlines around the
//! National Day holiday and its Saturday working day, duplicate merging, reporter confidentiality
//! and refusals that change nothing.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]
#![expect(
    clippy::many_single_char_names,
    reason = "the world, the service and each step's result are named by one letter"
)]

mod support;

use chrono::Duration;
use yiwang_db::db_test;
use yiwang_db::testing::TestDb;
use yiwang_identity::policy::Principal;
use yiwang_requests::model::{
    AssignmentRole, Channel, LetterKind, MediationLevel, MediationOutcome, NewRequest,
    PetitionStage, RequestKind, Status, Urgency, VisitResult,
};
use yiwang_requests::petition::PetitionAction;
use yiwang_requests::reads::request_facts_in;

use crate::support::*;

db_test!(
    closed_loop_end_to_end_with_an_audit_entry_per_change,
    consultation_concluded_on_the_call,
    return_and_reassignment,
    urgent_limits_extensions_and_the_sweep,
    mediation_escalates_across_three_levels,
    petition_limits_on_the_working_day_calendar,
    duplicates_are_detected_and_merged,
    reporter_confidentiality_in_the_department_view,
    bad_input_gives_a_named_error_and_changes_nothing,
    grids_locate_reports,
    knowledge_base_by_category,
);

async fn closed_loop_end_to_end_with_an_audit_entry_per_change(t: &TestDb) {
    // The day before National Day: the 7 working days run 10/8, 9, 10 (Saturday, worked), 12–15.
    let w = world(t, local(9, 30, 10)).await;
    let r = &w.requests;
    let citizen = w.citizen.clone();
    let before = audits(t).await;
    let submitted = r
        .submit(&citizen, Channel::Web, &rubbish_call(), "test")
        .await
        .unwrap();
    let id = submitted.request.id;
    assert_eq!(submitted.request.status, Status::Received);
    assert!(submitted.possible_duplicates.is_empty());
    assert_eq!(audits(t).await, before + 1);
    // Each step: one audit entry, one history line.
    let mut counts = (audits(t).await, events(t).await);
    let d = r
        .dispatch(&w.operator, id, None, &[dept(&w.scjgj)], "", "test")
        .await
        .unwrap();
    step(t, &mut counts, Status::Dispatched, d.status).await;
    assert_eq!(d.lead_department, Some(dept(&w.cgj)), "routed by category");
    assert_eq!(d.due_at, Some(end_of(10, 15)));
    let views = r.inbox(&w.cgj).await.unwrap();
    assert_eq!(views.iter().map(|v| v.id).collect::<Vec<_>>(), vec![id]);
    let v = r.department_view(&w.scjgj, id).await.unwrap();
    assert_eq!(
        v.assignments.iter().map(|a| a.role).collect::<Vec<_>>(),
        vec![AssignmentRole::Lead, AssignmentRole::Assist]
    );
    // The 协办 department cannot sign for it; the lead can.
    assert_eq!(code(r.sign(&w.scjgj, id, "test").await), "forbidden");
    w.clock.set(local(10, 8, 9));
    step(
        t,
        &mut counts,
        Status::Handling,
        r.sign(&w.cgj, id, "test").await.unwrap().status,
    )
    .await;
    r.assist_opinion(&w.scjgj, id, "已联系保洁公司核实", "test")
        .await
        .unwrap();
    counts = (counts.0 + 1, counts.1 + 1);
    let replied = r
        .reply(&w.cgj, id, "已安排环卫清运，并加密巡查频次", "test")
        .await
        .unwrap();
    step(t, &mut counts, Status::Replied, replied.status).await;
    assert_eq!(replied.reply, "已安排环卫清运，并加密巡查频次");
    step(
        t,
        &mut counts,
        Status::Concluded,
        r.conclude(&w.operator, id, "", "test")
            .await
            .unwrap()
            .status,
    )
    .await;
    // Ratings read who submitted it, who answers for it, and that it is concluded.
    let facts = request_facts_in(t.db.conn(), id).await.unwrap().unwrap();
    assert!(facts.is_concluded());
    assert_eq!(facts.department, Some(dept(&w.cgj)));
    let Principal::Person(person) = citizen else {
        panic!("a person")
    };
    assert_eq!(facts.submitter, Some(person));
    step(
        t,
        &mut counts,
        Status::Visited,
        r.visit(&w.operator, id, VisitResult::Satisfied, "满意", "test")
            .await
            .unwrap()
            .status,
    )
    .await;
    // Only the submitter rates.
    assert_eq!(
        code(r.rate(&w.other_citizen, id, 5, "", "test").await),
        "request_not_found"
    );
    let closed = r.rate(&citizen, id, 5, "处理及时", "test").await.unwrap();
    let mine: Vec<_> = r
        .mine(&citizen)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(mine, vec![id]);
    assert!(r.mine(&w.other_citizen).await.unwrap().is_empty());
    step(t, &mut counts, Status::Closed, closed.status).await;
    assert_eq!(closed.rating, Some(5));
    assert_eq!(
        code(r.rate(&citizen, id, 4, "", "test").await),
        "request_wrong_state"
    );
    let actions: Vec<String> = r
        .dispatcher_view(&w.operator, id, "test")
        .await
        .unwrap()
        .history
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "receive",
            "dispatch",
            "sign",
            "assist_opinion",
            "reply",
            "conclude",
            "visit",
            "rate"
        ]
    );
}

/// One state change: exactly one more audit entry and one more history line.
async fn step(t: &TestDb, counts: &mut (i64, i64), expected: Status, got: Status) {
    assert_eq!(got, expected);
    let now = (audits(t).await, events(t).await);
    assert_eq!(
        now,
        (counts.0 + 1, counts.1 + 1),
        "after reaching {expected:?}"
    );
    *counts = now;
}

async fn events(t: &TestDb) -> i64 {
    count(t, "SELECT COUNT(*) AS n FROM request_events").await
}

async fn consultation_concluded_on_the_call(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let call = NewRequest {
        contact_mobile: "13912345678".to_owned(),
        ..new_request(
            RequestKind::Consultation,
            "consult",
            "居住证办理需要什么材料",
            "想咨询居住证办理需要的材料和地点",
        )
    };
    let consultation = submit(&w, &w.operator, Channel::Hotline, &call).await;
    let done = r
        .conclude_on_call(
            &w.operator,
            consultation.id,
            "携带身份证和居住证明到社区服务中心办理",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(done.status, Status::Concluded);
    assert_eq!(done.lead_department, None);
    assert!(done.concluded_at.is_some());
    // A complaint is not answered on the call.
    let complaint = submit(&w, &w.operator, Channel::Hotline, &rubbish_call()).await;
    let before = written(t).await;
    assert_eq!(
        code(
            r.conclude_on_call(&w.operator, complaint.id, "已记录", "test")
                .await
        ),
        "request_not_consultation"
    );
    assert_eq!(written(t).await, before);
}

async fn return_and_reassignment(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let req = submit(&w, &w.operator, Channel::Hotline, &rubbish_call()).await;
    let id = req.id;
    let d = r
        .dispatch(&w.operator, id, None, &[], "", "test")
        .await
        .unwrap();
    let due = d.due_at.unwrap();
    // 3/2 (Monday) + 7 working days.
    assert_eq!(due, end_of(3, 11));
    // Another department cannot see it; the lead must say why.
    assert_eq!(
        code(r.return_request(&w.zrzy, id, "不属于本单位", "test").await),
        "request_not_found"
    );
    let before = written(t).await;
    assert_eq!(
        code(r.return_request(&w.cgj, id, "  ", "test").await),
        "request_field_required"
    );
    assert_eq!(written(t).await, before);
    w.clock.advance(Duration::hours(3));
    let back = r
        .return_request(&w.cgj, id, "属于规划审批事项，非本单位职责", "test")
        .await
        .unwrap();
    assert_eq!(
        (back.status, back.lead_department, back.due_at),
        (Status::Received, None, Some(due))
    );
    let v = r.department_view(&w.supervisor, id).await.unwrap();
    assert!(v.assignments[0].ended_at.is_some());
    assert!(v.assignments[0].end_reason.starts_with("退单"));
    // Returned, the former lead no longer sees it.
    assert_eq!(
        code(r.department_view(&w.cgj, id).await),
        "request_not_found"
    );
    let moved = r
        .reassign(&w.operator, id, dept(&w.zrzy), "按退单理由改派", "test")
        .await
        .unwrap();
    assert_eq!(moved.status, Status::Dispatched);
    assert_eq!(moved.lead_department, Some(dept(&w.zrzy)));
    assert_eq!(moved.due_at, Some(due), "the limit keeps running");
    assert_eq!(
        code(
            r.reassign(&w.operator, id, dept(&w.zrzy), "再次改派", "test")
                .await
        ),
        "request_same_department"
    );
    // After the return window (24 h) a return is refused: the department handles it.
    w.clock.advance(Duration::hours(25));
    let before = written(t).await;
    assert_eq!(
        code(r.return_request(&w.zrzy, id, "不属于本单位", "test").await),
        "request_return_window_closed"
    );
    assert_eq!(written(t).await, before);
    // The centre may still reassign a dispatched request, to 城管局 again.
    let again = r
        .reassign(&w.operator, id, dept(&w.cgj), "经核实属于环境卫生", "test")
        .await
        .unwrap();
    assert_eq!(again.lead_department, Some(dept(&w.cgj)));
    assert_eq!(again.due_at, Some(due));
    let ended = count(
        t,
        &format!(
            "SELECT COUNT(*) AS n FROM request_assignments WHERE request_id = {} AND ended_at IS NOT NULL",
            id.get()
        ),
    )
    .await;
    assert_eq!(ended, 2);
}

async fn urgent_limits_extensions_and_the_sweep(t: &TestDb) {
    // 10/1 is a holiday: hours count wall time all the same.
    let w = world(t, local(10, 1, 9)).await;
    let r = &w.requests;
    let urgent = NewRequest {
        urgency: Some(Urgency::Urgent),
        ..rubbish_call()
    };
    let u = submit(&w, &w.operator, Channel::Hotline, &urgent).await;
    let d = r
        .dispatch(&w.operator, u.id, None, &[], "", "test")
        .await
        .unwrap();
    assert_eq!(d.due_at, Some(local(10, 1, 11)));
    let report = r.sweep().await.unwrap();
    assert_eq!((report.near_due, report.overdue), (1, 0));
    assert_eq!(r.sweep().await.unwrap().near_due, 0, "warned once");
    w.clock.set(local(10, 1, 12));
    let before = audits(t).await;
    let report = r.sweep().await.unwrap();
    assert_eq!((report.near_due, report.overdue), (0, 1));
    assert_eq!(audits(t).await, before + 1);
    assert_eq!(r.sweep().await.unwrap().overdue, 0, "marked once");
    let marked = r.dispatcher_view(&w.operator, u.id, "test").await.unwrap();
    assert!(marked.request.warned_at.is_some() && marked.request.overdue_at.is_some());

    // A normal request, signed for, asks 3 more working days; a supervisor approves.
    let n = submit(&w, &w.operator, Channel::Hotline, &rubbish_call()).await;
    r.dispatch(&w.operator, n.id, None, &[], "", "test")
        .await
        .unwrap();
    let s = r.sign(&w.cgj, n.id, "test").await.unwrap();
    assert_eq!(s.due_at, Some(end_of(10, 15)));
    assert_eq!(
        code(
            r.request_extension(&w.cgj, n.id, 0, "需要协调", "test")
                .await
        ),
        "request_bad_extension"
    );
    let asked = r
        .request_extension(&w.cgj, n.id, 3, "需协调物业共同整改", "test")
        .await
        .unwrap();
    assert!(asked.extension.is_some());
    assert_eq!(
        code(r.decide_extension(&w.cgj, n.id, true, "", "test").await),
        "forbidden"
    );
    assert_eq!(
        code(r.reply(&w.cgj, n.id, "已处理", "test").await),
        "request_extension_pending"
    );
    let approved = r
        .decide_extension(&w.supervisor, n.id, true, "同意", "test")
        .await
        .unwrap();
    // 10/15 + 3 working days: 10/16, 19, 20.
    assert_eq!(approved.due_at, Some(end_of(10, 20)));
    assert_eq!(approved.extension, None);
}

async fn mediation_escalates_across_three_levels(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let dispute = new_request(
        RequestKind::Help,
        "dispute.neighbour",
        "楼上漏水纠纷",
        "楼上住户装修导致我家天花板漏水，协商赔偿未果",
    );
    // A grid worker reports it from the community; the centre opens mediation there.
    let req = submit(&w, &w.grid, Channel::Grid, &dispute).await;
    assert_eq!(
        code(r.start_mediation(&w.cgj, req.id, "test").await),
        "request_not_found"
    );
    let community = r
        .start_mediation(&w.operator, req.id, "test")
        .await
        .unwrap();
    assert_eq!(community.level, MediationLevel::Community);
    assert_eq!(community.department, dept(&w.grid));
    // 3/2 + 5 working days.
    assert_eq!(community.due_at, end_of(3, 9));
    assert_eq!(
        code(r.start_mediation(&w.operator, req.id, "test").await),
        "request_wrong_state"
    );
    // The street cannot act on the community's level.
    assert_eq!(
        code(
            r.escalate(&w.street, community.id, "调解不成", "test")
                .await
        ),
        "mediation_not_found"
    );
    w.clock.set(local(3, 5, 10));
    let street = r
        .escalate(&w.grid, community.id, "双方对赔偿金额分歧较大", "test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(street.level, MediationLevel::Street);
    assert_eq!(street.department, dept(&w.street));
    // 3/5 + 10 working days.
    assert_eq!(street.due_at, end_of(3, 19));
    // Overdue at the street: the sweep sends it up to the district.
    w.clock.set(local(3, 20, 9));
    assert_eq!(r.sweep().await.unwrap().escalated, 1);
    assert_eq!(r.sweep().await.unwrap().escalated, 0);
    let (levels, agreement) = r.mediation_record(&w.district, req.id).await.unwrap();
    assert_eq!(levels.len(), 3);
    assert!(agreement.is_none());
    let district = levels[2].clone();
    assert_eq!(
        (district.level, district.department),
        (MediationLevel::District, dept(&w.district))
    );
    let a = r
        .record_agreement(
            &w.district,
            district.id,
            "申请人张某；被申请人王某",
            "被申请人于十日内赔偿维修费用三千元",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(a.mediation, district.id);
    let (levels, agreement) = r.mediation_record(&w.operator, req.id).await.unwrap();
    assert_eq!(
        levels.iter().map(|m| m.outcome).collect::<Vec<_>>(),
        vec![
            Some(MediationOutcome::Escalated),
            Some(MediationOutcome::Escalated),
            Some(MediationOutcome::Agreed)
        ]
    );
    assert_eq!(levels[1].note, "超期自动上报");
    assert_eq!(
        agreement.unwrap().terms,
        "被申请人于十日内赔偿维修费用三千元"
    );
    let concluded = r.request(&w.operator, req.id).await.unwrap();
    assert_eq!(concluded.status, Status::Concluded);
    assert_eq!(
        code(r.escalate(&w.district, district.id, "再议", "test").await),
        "mediation_ended"
    );
    // Unresolved at the district, a second dispute ends 调解不成.
    let other = submit(&w, &w.grid, Channel::Grid, &dispute).await;
    let c = r
        .start_mediation(&w.operator, other.id, "test")
        .await
        .unwrap();
    let s = r
        .escalate(&w.grid, c.id, "分歧大", "test")
        .await
        .unwrap()
        .unwrap();
    let d = r
        .escalate(&w.street, s.id, "分歧大", "test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.escalate(&w.district, d.id, "调解不成，告知诉讼途径", "test")
            .await
            .unwrap(),
        None
    );
    let (levels, _) = r.mediation_record(&w.district, other.id).await.unwrap();
    assert_eq!(levels[2].outcome, Some(MediationOutcome::Failed));
}

async fn petition_limits_on_the_working_day_calendar(t: &TestDb) {
    // Submitted 9/16: day 15 is 10/1, inside the National Day holiday (10/1–10/7) → 10/8.
    let w = world(t, local(9, 16, 10)).await;
    let r = &w.requests;
    let citizen = w.citizen.clone();
    let letter = new_request(
        RequestKind::Complaint,
        "petition.land",
        "征地补偿款未足额发放",
        "本村征地补偿款至今未足额发放，请求依法处理",
    );
    // Petitions are signed: not anonymous.
    assert_eq!(
        code(
            r.submit(&Principal::Anonymous, Channel::Petition, &letter, "test")
                .await
        ),
        "unauthenticated"
    );
    let req = submit(&w, &citizen, Channel::Petition, &letter).await;
    // A second petition nobody decides on: the sweep marks it once its 15 days have passed.
    let other_citizen = w.other_citizen.clone();
    let forgotten = submit(&w, &other_citizen, Channel::Petition, &letter).await;
    let (p, _) = r.petition(&citizen, req.id).await.unwrap();
    assert_eq!(p.stage, PetitionStage::Submitted);
    assert_eq!(p.department, dept(&w.sfj));
    assert_eq!(p.decide_due_at, end_of(10, 8));
    // The petition is not in the 12345 loop.
    assert_eq!(
        code(r.dispatch(&w.operator, req.id, None, &[], "", "test").await),
        "request_wrong_state"
    );
    // Accepted 9/30: 60 days end 11/29, a Sunday → Monday 11/30.
    w.clock.set(local(9, 30, 10));
    assert_eq!(
        code(
            r.petition_step(&citizen, req.id, PetitionAction::Accept, "受理", "test")
                .await
        ),
        "forbidden"
    );
    let p = r
        .petition_step(
            &w.sfj,
            req.id,
            PetitionAction::Accept,
            "经审查，予以受理",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(p.conclude_due_at, Some(end_of(11, 30)));
    assert_eq!(
        r.request(&citizen, req.id).await.unwrap().status,
        Status::Handling
    );
    // The extension needs a supervisor's approval, once: 11/30 + 30 = 12/30.
    assert_eq!(
        code(
            r.petition_step(&w.sfj, req.id, PetitionAction::Extend, "情况复杂", "test")
                .await
        ),
        "forbidden"
    );
    let p = r
        .petition_step(
            &w.supervisor,
            req.id,
            PetitionAction::Extend,
            "同意延长三十日",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(
        (p.extended, p.conclude_due_at),
        (true, Some(end_of(12, 30)))
    );
    let before = written(t).await;
    assert_eq!(
        code(
            r.petition_step(
                &w.supervisor,
                req.id,
                PetitionAction::Extend,
                "再延期",
                "test"
            )
            .await
        ),
        "petition_already_extended"
    );
    assert_eq!(written(t).await, before);
    // Written reply 10/9: the review may be asked until 11/8 (a Sunday) → 11/9.
    w.clock.set(local(10, 8, 23));
    assert_eq!(r.sweep().await.unwrap().petitions_overdue, 0);
    w.clock.set(local(10, 9, 15));
    let before = audits(t).await;
    assert_eq!(r.sweep().await.unwrap().petitions_overdue, 1);
    assert_eq!(audits(t).await, before + 1);
    assert_eq!(r.sweep().await.unwrap().petitions_overdue, 0, "marked once");
    assert_eq!(
        r.petition(&other_citizen, forgotten.id)
            .await
            .unwrap()
            .0
            .stage,
        PetitionStage::Submitted
    );
    let p = r
        .petition_step(
            &w.sfj,
            req.id,
            PetitionAction::Reply,
            "处理意见：责令补发补偿款",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(p.stage, PetitionStage::Concluded);
    assert_eq!(p.request_until, Some(end_of(11, 9)));
    assert!(
        request_facts_in(t.db.conn(), req.id)
            .await
            .unwrap()
            .unwrap()
            .is_concluded()
    );
    w.clock.set(local(11, 10, 9));
    let before = written(t).await;
    assert_eq!(
        code(
            r.petition_step(
                &citizen,
                req.id,
                PetitionAction::AskReview,
                "不服，申请复查",
                "test"
            )
            .await
        ),
        "petition_review_window_closed"
    );
    assert_eq!(written(t).await, before);
    w.clock.set(local(11, 9, 20));
    let p = r
        .petition_step(
            &citizen,
            req.id,
            PetitionAction::AskReview,
            "不服，申请复查",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(p.stage, PetitionStage::UnderReview);
    assert_eq!(p.review_due_at, Some(end_of(12, 9)));
    let (_, letters) = r.petition(&w.sfj, req.id).await.unwrap();
    assert_eq!(
        letters.iter().map(|l| l.kind).collect::<Vec<_>>(),
        vec![
            LetterKind::Acceptance,
            LetterKind::Extension,
            LetterKind::Reply,
            LetterKind::ReviewRequest
        ]
    );
    // Another person sees nothing.
    assert_eq!(
        code(r.petition(&w.other_citizen, req.id).await),
        "petition_not_found"
    );
}

async fn duplicates_are_detected_and_merged(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let first = submit(&w, &w.operator, Channel::Hotline, &rubbish_call()).await;
    w.clock.advance(Duration::hours(5));
    let again = NewRequest {
        contact_mobile: "13700001111".to_owned(),
        ..new_request(
            RequestKind::Complaint,
            "city.sanitation",
            "小区门口的垃圾没人清运",
            "小区门口垃圾堆放了三天无人清运，气味很大",
        )
    };
    let second = r
        .submit(&Principal::Anonymous, Channel::Web, &again, "test")
        .await
        .unwrap();
    assert_eq!(second.possible_duplicates, vec![first.id]);
    // Different matter, or another community: not a duplicate.
    let lamp = submit(
        &w,
        &w.operator,
        Channel::Hotline,
        &NewRequest {
            title: "路灯不亮".to_owned(),
            body: "唐桥路路灯连续一周不亮，晚上出行不便".to_owned(),
            ..rubbish_call()
        },
    )
    .await;
    let elsewhere = submit(
        &w,
        &w.operator,
        Channel::Hotline,
        &NewRequest {
            region: OTHER_COMMUNITY.to_owned(),
            ..rubbish_call()
        },
    )
    .await;
    let found = r.duplicates(&w.operator, second.request.id).await.unwrap();
    assert_eq!(
        found.iter().map(|d| d.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert!(found[0].similarity >= 0.5);
    let before = written(t).await;
    for (dup, into) in [
        (lamp.id, first.id),
        (elsewhere.id, first.id),
        (first.id, first.id),
    ] {
        assert_eq!(
            code(r.merge(&w.operator, dup, into, "test").await),
            "request_not_duplicate"
        );
    }
    assert_eq!(
        code(r.merge(&w.cgj, second.request.id, first.id, "test").await),
        "request_not_found"
    );
    assert_eq!(written(t).await, before);
    let merged = r
        .merge(&w.operator, second.request.id, first.id, "test")
        .await
        .unwrap();
    assert_eq!(merged.status, Status::Merged);
    assert_eq!(merged.merged_into, Some(first.id));
    // Outside the window (30 days) the same text is no longer a duplicate.
    w.clock.advance(Duration::days(31));
    let late = r
        .submit(&w.operator, Channel::Hotline, &rubbish_call(), "test")
        .await
        .unwrap();
    assert!(late.possible_duplicates.is_empty());
    assert_eq!(
        code(
            r.merge(&w.operator, late.request.id, first.id, "test")
                .await
        ),
        "request_not_duplicate"
    );
}

async fn reporter_confidentiality_in_the_department_view(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let report = NewRequest {
        contact_name: "王举报".to_owned(),
        contact_mobile: "13955556666".to_owned(),
        ..new_request(
            RequestKind::Report,
            "market.food",
            "举报某餐馆使用过期食材",
            "唐桥路某餐馆后厨使用过期食材，请依法查处",
        )
    };
    // One logged in, one by phone.
    let citizen = w.citizen.clone();
    let person = submit(&w, &citizen, Channel::Web, &report).await;
    let call = submit(&w, &w.operator, Channel::Hotline, &report).await;
    for id in [person.id, call.id] {
        r.dispatch(&w.operator, id, None, &[], "", "test")
            .await
            .unwrap();
        let view = r.department_view(&w.scjgj, id).await.unwrap();
        assert_eq!(view.kind, RequestKind::Report);
        let json = serde_json::to_string(&view).unwrap();
        assert!(json.contains("过期食材"));
        for secret in [
            "王举报",
            "13955556666",
            "139****6666",
            "张晓明",
            "person-id",
            "13800138001",
        ] {
            assert!(!json.contains(secret), "{secret} leaked in {json}");
        }
        // The centre sees the contact to call back.
        let full = r.dispatcher_view(&w.operator, id, "test").await.unwrap();
        assert_eq!(full.contact_mobile.as_deref(), Some("13955556666"));
        assert_eq!(full.request.contact_name, "王举报");
        // A department is not the centre.
        assert_eq!(
            code(r.dispatcher_view(&w.scjgj, id, "test").await),
            "request_not_found"
        );
    }
    // Reading the contact is audited.
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'request.read_contact'"
        )
        .await,
        2
    );
}

async fn bad_input_gives_a_named_error_and_changes_nothing(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let ok = rubbish_call();
    let citizen = w.citizen.clone();
    let cases: Vec<(&Principal, Channel, NewRequest, &str)> = vec![
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                kind: None,
                ..ok.clone()
            },
            "request_unknown_kind",
        ),
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                category: "nope".to_owned(),
                ..ok.clone()
            },
            "request_unknown_category",
        ),
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                region: "340102999999".to_owned(),
                ..ok.clone()
            },
            "request_unknown_region",
        ),
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                contact_mobile: String::new(),
                ..ok.clone()
            },
            "request_mobile_required",
        ),
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                contact_mobile: "12345".to_owned(),
                ..ok.clone()
            },
            "request_bad_mobile",
        ),
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                title: " ".to_owned(),
                ..ok.clone()
            },
            "request_field_required",
        ),
        (
            &w.operator,
            Channel::Hotline,
            NewRequest {
                body: "长".repeat(2_001),
                ..ok.clone()
            },
            "request_text_too_long",
        ),
        (
            &citizen,
            Channel::Hotline,
            ok.clone(),
            "request_channel_not_allowed",
        ),
        (
            &Principal::Anonymous,
            Channel::Web,
            NewRequest {
                contact_mobile: String::new(),
                ..ok.clone()
            },
            "request_mobile_required",
        ),
        (
            &w.cgj,
            Channel::Grid,
            ok.clone(),
            "request_channel_not_allowed",
        ),
        (
            &w.grid,
            Channel::Grid,
            NewRequest {
                location: String::new(),
                ..ok.clone()
            },
            "request_field_required",
        ),
        (
            &w.operator,
            Channel::Api,
            ok.clone(),
            "request_channel_not_allowed",
        ),
    ];
    let before = written(t).await;
    for (who, channel, new, expected) in cases {
        assert_eq!(
            code(r.submit(who, channel, &new, "test").await),
            expected,
            "{channel:?} {new:?}"
        );
    }
    assert_eq!(written(t).await, before);
    // The API channel is for the system (a partner's client); the small-business channel takes
    // anyone who leaves a mobile.
    let api = submit(&w, &Principal::System, Channel::Api, &ok).await;
    assert_eq!(api.channel, Channel::Api);
    let firm = submit(&w, &Principal::Anonymous, Channel::SmallBusiness, &ok).await;
    assert_eq!((firm.channel, firm.person), (Channel::SmallBusiness, None));
    // Refused steps leave the request untouched.
    let req = submit(&w, &w.operator, Channel::Hotline, &ok).await;
    let before = written(t).await;
    let rev = revision(t, req.id).await;
    assert_eq!(
        code(r.sign(&w.cgj, req.id, "test").await),
        "request_not_found"
    );
    assert_eq!(
        code(r.reply(&w.operator, req.id, "答复", "test").await),
        "forbidden"
    );
    assert_eq!(
        code(r.conclude(&w.operator, req.id, "", "test").await),
        "request_wrong_state"
    );
    assert_eq!(
        code(
            r.dispatch(
                &w.operator,
                req.id,
                Some(dept(&w.cgj)),
                &[dept(&w.cgj)],
                "",
                "test"
            )
            .await
        ),
        "request_same_department"
    );
    assert_eq!(
        code(
            r.dispatch(
                &w.operator,
                req.id,
                Some(yiwang_identity::model::DepartmentId::new(99_999)),
                &[],
                "",
                "test"
            )
            .await
        ),
        "request_unknown_department"
    );
    assert_eq!(
        code(
            r.define_category(&w.operator, "x", "某类", None, "test")
                .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            r.define_category(&Principal::System, "Bad Code", "某类", None, "test")
                .await
        ),
        "request_bad_category_code"
    );
    assert_eq!(written(t).await, before);
    assert_eq!(revision(t, req.id).await, rev);
}

async fn grids_locate_reports(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let sys = &Principal::System;
    let before = written(t).await;
    assert_eq!(
        code(
            r.define_grid(
                sys,
                "TQ-09",
                "坏网格",
                COMMUNITY,
                "{\"type\":\"Polygon\"}",
                None,
                &[],
                "test"
            )
            .await
        ),
        "grid_bad_polygon"
    );
    assert_eq!(
        code(
            r.define_grid(
                sys,
                "TQ-09",
                "街道网格",
                STREET,
                GRID_TWO,
                None,
                &[],
                "test"
            )
            .await
        ),
        "request_unknown_region"
    );
    assert_eq!(
        code(
            r.define_grid(
                &w.operator,
                "TQ-09",
                "网格",
                COMMUNITY,
                GRID_TWO,
                None,
                &[],
                "test"
            )
            .await
        ),
        "forbidden"
    );
    assert_eq!(
        code(
            r.define_grid(sys, "TQ-01", "重复", COMMUNITY, GRID_TWO, None, &[], "test")
                .await
        ),
        "grid_code_taken"
    );
    assert_eq!(written(t).await, before);
    // Grid 2 has another member (the street's clerk), not our grid worker.
    let two = r
        .define_grid(
            sys,
            "TQ-02",
            "唐桥社区第二网格",
            COMMUNITY,
            GRID_TWO,
            None,
            &[staff_id(&w.street)],
            "test",
        )
        .await
        .unwrap();
    assert_eq!(two.members, vec![staff_id(&w.street)]);
    let one = r.grid_at(IN_GRID.0, IN_GRID.1).await.unwrap().unwrap();
    assert_eq!(
        (one.code.as_str(), one.leader),
        ("TQ-01", Some(staff_id(&w.grid)))
    );
    assert_eq!(
        r.grid_at(IN_GRID_TWO.0, IN_GRID_TWO.1)
            .await
            .unwrap()
            .unwrap()
            .id,
        two.id
    );
    assert_eq!(r.grid_at(NO_GRID.0, NO_GRID.1).await.unwrap(), None);
    assert_eq!(code(r.grid_at(200.0, 0.0).await), "request_bad_coordinates");
    // A grid worker reports only from their own grid, with the coordinates.
    let report = new_request(
        RequestKind::Help,
        "city.sanitation",
        "井盖缺失",
        "唐桥路口井盖缺失，存在安全隐患",
    );
    let before = written(t).await;
    for (coordinates, expected) in [
        (Some(IN_GRID_TWO), "request_outside_my_grid"),
        (Some(NO_GRID), "request_outside_my_grid"),
        (None, "request_field_required"),
        (Some((117.31, 95.0)), "request_bad_coordinates"),
    ] {
        let new = NewRequest {
            coordinates,
            ..report.clone()
        };
        assert_eq!(
            code(r.submit(&w.grid, Channel::Grid, &new, "test").await),
            expected
        );
    }
    assert_eq!(written(t).await, before);
    let mine = submit(&w, &w.grid, Channel::Grid, &report).await;
    assert_eq!(mine.grid, Some(one.id));
    assert_eq!(mine.coordinates, Some((117_310_000, 31_890_000)));
    // A citizen's report is placed in whatever grid holds the point.
    let citizen = w.citizen.clone();
    let theirs = submit(
        &w,
        &citizen,
        Channel::Web,
        &NewRequest {
            coordinates: Some(IN_GRID_TWO),
            ..report.clone()
        },
    )
    .await;
    assert_eq!(theirs.grid, Some(two.id));
    r.dispatch(&w.operator, theirs.id, None, &[], "", "test")
        .await
        .unwrap();
    assert_eq!(
        r.department_view(&w.cgj, theirs.id).await.unwrap().grid,
        Some(two.id)
    );
}

async fn knowledge_base_by_category(t: &TestDb) {
    let w = world(t, local(3, 2, 10)).await;
    let r = &w.requests;
    let general = r
        .add_answer(
            &w.operator,
            "city",
            "城市管理问题找谁",
            "拨打12345或通过网站反映，由城管局受理",
            "test",
        )
        .await
        .unwrap();
    let rubbish = r
        .add_answer(
            &w.operator,
            "city.sanitation",
            "生活垃圾多久清运一次",
            "居民区生活垃圾每日清运",
            "test",
        )
        .await
        .unwrap();
    let night = r
        .add_answer(
            &Principal::System,
            "city.sanitation",
            "夜间施工噪音如何投诉",
            "夜间施工需办理许可，无许可可投诉",
            "test",
        )
        .await
        .unwrap();
    r.add_answer(
        &w.operator,
        "market.food",
        "食品过期如何举报",
        "拨打12315或12345举报",
        "test",
    )
    .await
    .unwrap();
    // A sub-category's answers come first, then its parent's; other branches stay out.
    let ids: Vec<_> = r
        .answers("city.sanitation")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec![rubbish.id, night.id, general.id]);
    assert_eq!(r.answers("city").await.unwrap().len(), 1);
    let suggested = r
        .suggest_answers("city.sanitation", "小区垃圾多久清运", 2)
        .await
        .unwrap();
    assert_eq!(suggested[0].id, rubbish.id);
    assert!(suggested.len() <= 2);
    let before = written(t).await;
    let citizen = w.citizen.clone();
    assert_eq!(
        code(r.add_answer(&citizen, "city", "问题", "答案", "test").await),
        "forbidden"
    );
    assert_eq!(
        code(r.add_answer(&w.cgj, "city", "问题", "答案", "test").await),
        "forbidden"
    );
    assert_eq!(
        code(
            r.add_answer(&w.operator, "city", "问题", "  ", "test")
                .await
        ),
        "request_field_required"
    );
    assert_eq!(
        code(
            r.add_answer(&w.operator, "nope", "问题", "答案", "test")
                .await
        ),
        "request_unknown_category"
    );
    assert_eq!(code(r.answers("nope").await), "request_unknown_category");
    assert_eq!(
        code(
            r.update_answer(
                &w.operator,
                rubbish.id,
                rubbish.revision + 1,
                "问",
                "答",
                "test"
            )
            .await
        ),
        "request_conflict"
    );
    assert_eq!(written(t).await, before);
    let before = audits(t).await;
    let updated = r
        .update_answer(
            &w.operator,
            rubbish.id,
            rubbish.revision,
            "生活垃圾多久清运一次",
            "居民区生活垃圾每日清运两次",
            "test",
        )
        .await
        .unwrap();
    assert_eq!(updated.answer, "居民区生活垃圾每日清运两次");
    assert_eq!(updated.revision, rubbish.revision + 1);
    assert_eq!(audits(t).await, before + 1);
}
