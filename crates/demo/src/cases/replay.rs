//! Replaying the plan through the real case engine, on the replay clock.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context, anyhow};
use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use rand::RngExt;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use yiwang_cases::model::{Act, ActInput, CaseId, TaskStatus};
use yiwang_cases::repo::InboxFilter;
use yiwang_cases::workflow::StepAction;
use yiwang_cases::{Application, Cases};
use yiwang_db::jobs::Worker;
use yiwang_identity::model::PersonId;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{PageRequest, ResidentId, TestClock};
use yiwang_notify::{Email, MessageSender, SendFuture, Sms};

use super::origin;
use super::pdf::demo_pdf;
use super::people::{Firm, People, Person, StaffDirectory, person_name};
use super::plan::{DemoItem, Op, Plan, Planner, Who};

pub(crate) const ACCEPT_NOTE: &str = "申请材料齐全，符合法定形式，予以受理。";
pub(crate) const INSTANT_NOTE: &str = "材料齐全，当场办结。";
pub(crate) const DECLINE_NOTES: &[&str] = &[
    "申请事项依法不需要取得行政许可，不予受理。",
    "申请事项不属于本机关职权范围，不予受理，请向户籍所在地主管部门申请。",
    "申请人不具备申请资格，不予受理。",
];
pub(crate) const DISAGREE_NOTE: &str =
    "经审查，申请人提交的经营场所证明与现场情况不符，不符合法定条件，建议不予许可。";
pub(crate) const SEND_BACK_NOTE: &str = "审查意见未写明现场核查的具体情况，请补充后重新提交。";
pub(crate) const REVIEW_AGAIN_NOTE: &str =
    "已补充现场核查记录：场所布局、设施设备与申请材料一致，符合要求，拟同意。";
pub(crate) const SPECIAL_NOTE: &str =
    "需组织现场检查（专家评审），特别程序期间不计入审批时限，已告知申请人。";
pub(crate) const EXTENSION_REASON: &str =
    "申请事项涉及多个部门意见，二十个工作日内不能作出决定，申请延长十个工作日。";
pub(crate) const EXTENSION_NOTE: &str = "同意延长十个工作日，请书面告知申请人延长理由。";
pub(crate) const GRANT_NOTE: &str = "经审核，申请符合法定条件和标准，准予许可。";
pub(crate) const DENY_NOTE: &str =
    "经审核，申请不符合法定条件，决定不予许可。申请人如不服，可依法申请行政复议或者提起行政诉讼。";
pub(crate) const CONCLUDE_NOTES: &[&str] = &[
    "申请人已到窗口领取办理结果。",
    "办理结果已通过邮政寄递送达。",
    "电子证照已推送至申请人账户，纸质结果已邮寄。",
];
pub(crate) const WITHDRAW_REASON: &str = "经营计划调整，申请撤回。";
pub(crate) const VERIFY_CONFIRMED: &str = "经现场核查，卫生设施与承诺内容一致，承诺属实。";
pub(crate) const VERIFY_FAILED: &str =
    "现场核查发现未配备消毒间和公共用品用具清洗设施，承诺不实，依法撤销许可。";

pub(crate) fn agree_note(step: &str) -> &'static str {
    if step.contains("inspection") {
        "现场核查：场所布局、设施设备与申请材料一致，符合要求。"
    } else if step.contains("health") {
        "经核查，经营场所卫生条件符合要求，同意。"
    } else {
        "经审查，申请材料真实有效，符合法定条件，拟同意。"
    }
}

pub(crate) fn supplement(step: &str, missing: &[String]) -> Op {
    Op::Step {
        step: step.to_owned(),
        action: StepAction::Supplement,
        opinion: "申请材料不齐全，请按一次性告知书补正后重新提交。",
        missing: if missing.is_empty() {
            vec!["申请表签名处未签字，请签字后重新上传".to_owned()]
        } else {
            missing
                .iter()
                .map(|m| format!("{m}：扫描件不清晰，请重新上传清晰完整的扫描件"))
                .collect()
        },
        special: None,
    }
}

pub(crate) fn decision(decide: &str, granted: bool) -> Op {
    Op::Step {
        step: decide.to_owned(),
        action: if granted {
            StepAction::Grant
        } else {
            StepAction::Deny
        },
        opinion: if granted { GRANT_NOTE } else { DENY_NOTE },
        missing: Vec::new(),
        special: None,
    }
}

// ------------------------------------------------------------------------------------------- run

pub(crate) struct Runner {
    /// Runs the notification jobs of the replayed history (see [`PastMessages`]).
    pub(crate) worker: Worker,
    pub(crate) cases: Cases,
    pub(crate) clock: TestClock,
    pub(crate) staff: StaffDirectory,
    pub(crate) items: Vec<DemoItem>,
    pub(crate) people: People,
    /// Files kept per person and material (reused across applications, as people do).
    pub(crate) files: HashMap<(PersonId, String), String>,
    pub(crate) case_ids: Vec<Option<(CaseId, String)>>,
    pub(crate) rng: StdRng,
}

impl Runner {
    /// Run every plan's operations in time order, with the evening sweeps in between, then sweep
    /// at now. Returns the number of cases created.
    pub(crate) async fn run(&mut self, plans: &[Plan], planner: &Planner) -> anyhow::Result<usize> {
        enum Event {
            Op(usize, usize),
            Sweep,
        }
        let mut timeline: Vec<(DateTime<Utc>, Event)> = Vec::new();
        for (p, plan) in plans.iter().enumerate() {
            for (o, (at, _)) in plan.ops.iter().enumerate() {
                timeline.push((*at, Event::Op(p, o)));
            }
        }
        for at in planner.sweeps()? {
            timeline.push((at, Event::Sweep));
        }
        // Stable: a plan's operations keep their order when two fall on the same minute.
        timeline.sort_by_key(|(at, _)| *at);
        for (at, event) in timeline {
            self.clock.set(at);
            match event {
                Event::Sweep => {
                    self.cases.sweep().await?;
                    self.deliver_notices().await?;
                }
                Event::Op(p, o) => {
                    let plan = &plans[p];
                    self.op(p, plan, &plan.ops[o].1).await.with_context(|| {
                        format!(
                            "demo case {p} ({}) at {at}: {:?}",
                            self.items[plan.item].impl_code, plan.ops[o].1
                        )
                    })?;
                }
            }
        }
        // Notices of the last evening's changes; then today's warning levels.
        self.deliver_notices().await?;
        self.clock.set(planner.now);
        self.cases.sweep().await?;
        Ok(self.case_ids.iter().filter(|c| c.is_some()).count())
    }

    /// Run the notification jobs due on the replay clock. Only the replay's own jobs are due then:
    /// everything else was enqueued at the real present.
    pub(crate) async fn deliver_notices(&self) -> anyhow::Result<()> {
        while self.worker.run_once().await? > 0 {}
        Ok(())
    }

    pub(crate) fn applicant(&self, who: Who) -> (&Person, Option<&Firm>) {
        match who {
            Who::Person(p) => (&self.people.persons[p], None),
            Who::Firm(f) => {
                let firm = &self.people.firms[f];
                (&self.people.persons[firm.applicant], Some(firm))
            }
        }
    }

    pub(crate) fn case(&self, p: usize) -> anyhow::Result<(CaseId, String)> {
        self.case_ids[p]
            .clone()
            .ok_or_else(|| anyhow!("the case was not created"))
    }

    #[expect(clippy::too_many_lines, reason = "one arm per operation")]
    pub(crate) async fn op(&mut self, p: usize, plan: &Plan, op: &Op) -> anyhow::Result<()> {
        let item = self.items[plan.item].clone();
        let (person, _) = self.applicant(plan.who);
        let person = person.clone();
        let me = Principal::Person(person.id);
        match op {
            Op::Draft | Op::Apply => {
                let window = Principal::Staff(
                    self.staff
                        .post(
                            &item
                                .def
                                .intake()
                                .map(|s| s.post.to_string())
                                .unwrap_or_default(),
                        )?
                        .clone(),
                );
                let uploader = if plan.counter { &window } else { &me };
                let mut app = self.application(&item, plan.who, uploader, &person).await?;
                if matches!(op, Op::Draft) {
                    // Half-filled: the last fields and the files come later.
                    let keep = app.answers.len() / 2;
                    app.answers = app.answers.into_iter().take(keep).collect();
                    app.materials.truncate(1);
                    let id = self.cases.create_draft(&me, &app, &mut self.rng).await?;
                    self.case_ids[p] = Some((id, String::new()));
                } else if plan.counter {
                    let rid = ResidentId::parse(&person.resident_id)?;
                    let case = self
                        .cases
                        .register_at_counter(&window, &rid, &app, &origin(), &mut self.rng)
                        .await?;
                    self.case_ids[p] = Some((case.id, case.case_no.unwrap_or_default()));
                } else {
                    let case = self
                        .cases
                        .apply(&me, &app, &origin(), &mut self.rng)
                        .await?;
                    self.case_ids[p] = Some((case.id, case.case_no.unwrap_or_default()));
                }
            }
            Op::Step {
                step,
                action,
                opinion,
                missing,
                special,
            } => {
                let post = item
                    .def
                    .step(step)
                    .map(|s| s.post.to_string())
                    .ok_or_else(|| anyhow!("no step {step}"))?;
                let staff = Principal::Staff(self.staff.post(&post)?.clone());
                let (_, case_no) = self.case(p)?;
                let task = self.open_task(&staff, &case_no, step).await?;
                self.cases.claim(&staff, task).await?;
                self.cases
                    .act(
                        &staff,
                        task,
                        &Act::Step(*action),
                        &ActInput {
                            opinion: (*opinion).to_owned(),
                            missing: missing.clone(),
                            special: *special,
                        },
                        &origin(),
                    )
                    .await?;
            }
            Op::Resume { step } => {
                let post = item
                    .def
                    .step(step)
                    .map(|s| s.post.to_string())
                    .ok_or_else(|| anyhow!("no step {step}"))?;
                let staff = Principal::Staff(self.staff.post(&post)?.clone());
                let (id, _) = self.case(p)?;
                let view = self.cases.view(&staff, id, &origin()).await?;
                let task = view
                    .tasks
                    .iter()
                    .rev()
                    .find(|t| t.step_id == *step && t.status == TaskStatus::Waiting)
                    .map(|t| t.id)
                    .ok_or_else(|| anyhow!("no waiting task at {step}"))?;
                self.cases
                    .end_special(
                        &staff,
                        task,
                        "现场检查已完成，恢复审批时限计算。",
                        &origin(),
                    )
                    .await?;
            }
            Op::Resubmit { materials } => {
                let (id, _) = self.case(p)?;
                let mut files = Vec::new();
                for material in materials {
                    let file = self
                        .cases
                        .upload_material(
                            &me,
                            None,
                            &format!("{material}（补正）.pdf"),
                            Bytes::from(demo_pdf(material)),
                            &mut self.rng,
                        )
                        .await?;
                    files.push((material.clone(), file.public_id));
                }
                self.cases
                    .resubmit(&me, id, None, &files, &origin(), &mut self.rng)
                    .await?;
            }
            Op::Withdraw => {
                let (id, _) = self.case(p)?;
                self.cases
                    .withdraw(&me, id, WITHDRAW_REASON, &origin())
                    .await?;
            }
            Op::RequestExtension { step } => {
                let post = item
                    .def
                    .step(step)
                    .map(|s| s.post.to_string())
                    .ok_or_else(|| anyhow!("no step {step}"))?;
                let staff = Principal::Staff(self.staff.post(&post)?.clone());
                let (id, _) = self.case(p)?;
                self.cases
                    .request_extension(&staff, id, EXTENSION_REASON, &origin())
                    .await?;
            }
            Op::ApproveExtension => {
                let admin = Principal::Staff(
                    self.staff
                        .admins
                        .get(&item.department)
                        .ok_or_else(|| anyhow!("{} has no demo administrator", item.department))?
                        .clone(),
                );
                let (id, _) = self.case(p)?;
                self.cases
                    .decide_extension(&admin, id, true, EXTENSION_NOTE, &origin())
                    .await?;
            }
            Op::Conclude => {
                let post = item
                    .def
                    .intake()
                    .map(|s| s.post.to_string())
                    .unwrap_or_default();
                let staff = Principal::Staff(self.staff.post(&post)?.clone());
                let (_, case_no) = self.case(p)?;
                let task = self
                    .open_task(&staff, &case_no, yiwang_cases::service::DELIVER_STEP.0)
                    .await?;
                let note = CONCLUDE_NOTES[self.rng.random_range(0..CONCLUDE_NOTES.len())];
                self.cases
                    .act(
                        &staff,
                        task,
                        &Act::Conclude,
                        &ActInput {
                            opinion: note.to_owned(),
                            ..ActInput::default()
                        },
                        &origin(),
                    )
                    .await?;
            }
            Op::Verify { confirmed } => {
                let post = item
                    .def
                    .commitment
                    .as_ref()
                    .map(|c| c.verify_post.to_string())
                    .ok_or_else(|| anyhow!("no commitment"))?;
                let staff = Principal::Staff(self.staff.post(&post)?.clone());
                let (_, case_no) = self.case(p)?;
                let task = self
                    .open_task(&staff, &case_no, yiwang_cases::service::VERIFY_STEP.0)
                    .await?;
                self.cases
                    .act(
                        &staff,
                        task,
                        &Act::Verify {
                            confirmed: *confirmed,
                        },
                        &ActInput {
                            opinion: if *confirmed {
                                VERIFY_CONFIRMED
                            } else {
                                VERIFY_FAILED
                            }
                            .to_owned(),
                            ..ActInput::default()
                        },
                        &origin(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// The open task of a step of a case, as the staff member finds it in their inbox.
    pub(crate) async fn open_task(
        &self,
        staff: &Principal,
        case_no: &str,
        step: &str,
    ) -> anyhow::Result<yiwang_cases::model::TaskId> {
        let inbox = self
            .cases
            .inbox(
                staff,
                &InboxFilter {
                    text: Some(case_no.to_owned()),
                    ..InboxFilter::default()
                },
                PageRequest::default(),
            )
            .await?;
        inbox
            .items
            .iter()
            .find(|e| e.case_no == case_no && e.task.step_id == step)
            .map(|e| e.task.id)
            .ok_or_else(|| anyhow!("no open task at {step} of {case_no} in the inbox"))
    }

    /// The answers and files of an application (files uploaded once per person and material).
    pub(crate) async fn application(
        &mut self,
        item: &DemoItem,
        who: Who,
        uploader: &Principal,
        person: &Person,
    ) -> anyhow::Result<Application> {
        let firm = match who {
            Who::Firm(f) => Some(self.people.firms[f].clone()),
            Who::Person(_) => None,
        };
        let representative = firm
            .as_ref()
            .map(|f| self.people.persons[f.representative].clone());
        let mut answers = BTreeMap::new();
        for field in &item.def.form {
            let value = answer(
                &field.key,
                field,
                person,
                firm.as_ref(),
                representative.as_ref(),
                &mut self.rng,
            );
            match value {
                Some(v) => {
                    answers.insert(field.key.clone(), v);
                }
                None if field.required => {
                    return Err(anyhow!(
                        "the demo has no answer for {} of {}",
                        field.key,
                        item.impl_code
                    ));
                }
                None => {}
            }
        }
        let on_behalf = matches!(uploader, Principal::Staff(_)).then_some(person.id);
        // 免提交: what a licence of the applicant replaces is not uploaded.
        let paperless: Vec<String> = self
            .cases
            .paperless_materials(
                &Principal::Person(person.id),
                item.id,
                firm.as_ref().map(|f| f.public_id.as_str()),
            )
            .await?
            .into_iter()
            .filter(|r| r.identifier.is_some())
            .map(|r| r.material)
            .collect();
        let mut materials = Vec::new();
        for material in item.materials.iter().filter(|m| !paperless.contains(m)) {
            let key = (person.id, material.clone());
            let file = if let Some(file) = self.files.get(&key) {
                file.clone()
            } else {
                let file = self
                    .cases
                    .upload_material(
                        uploader,
                        on_behalf,
                        &format!("{material}.pdf"),
                        Bytes::from(demo_pdf(material)),
                        &mut self.rng,
                    )
                    .await?;
                self.files.insert(key, file.public_id.clone());
                file.public_id
            };
            materials.push((material.clone(), file));
        }
        Ok(Application {
            item: Some(item.id),
            enterprise: firm.map(|f| f.public_id),
            answers,
            contact_email: String::new(),
            commitment_signed: item.def.commitment.is_some(),
            materials,
        })
    }
}

/// The messages of replayed history: their jobs run through the real notification handler (text
/// rendered, the applicant's number decrypted), but nothing is sent — those SMS belong to the past
/// the replay stands for, and the generated applicants' numbers are made up.
#[derive(Debug)]
pub(crate) struct PastMessages;

impl MessageSender for PastMessages {
    fn send_sms<'a>(&'a self, _sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(async { Ok(()) })
    }

    fn send_email<'a>(&'a self, _email: &'a Email) -> SendFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// A realistic answer to a form field, from what is known of the applicant.
pub(crate) fn answer(
    key: &str,
    field: &yiwang_cases::form::FieldDef,
    person: &Person,
    firm: Option<&Firm>,
    representative: Option<&Person>,
    rng: &mut StdRng,
) -> Option<String> {
    use yiwang_cases::form::FieldKind;
    let text = match key {
        "applicant_name" | "contact_name" => person.name.clone(),
        "resident_id" | "contact_id" => person.resident_id.clone(),
        "legal_rep_id" => representative.unwrap_or(person).resident_id.clone(),
        "legal_rep" => representative.unwrap_or(person).name.clone(),
        "mobile" => person.mobile.clone(),
        "address" | "premises" => {
            firm.map_or_else(|| person.address.clone(), |f| f.address.clone())
        }
        "household_address" | "delivery_address" => person.address.clone(),
        "org_name" => firm.map(|f| f.name.clone())?,
        "uscc" => firm.map(|f| f.uscc.clone())?,
        "reason" => [
            "本人办理该事项，材料已按办事指南准备齐全。",
            "因工作调动需要办理，请予审核。",
            "按照办事指南要求提出申请，请予办理。",
        ][rng.random_range(0..3)]
        .to_owned(),
        "summary" => "本单位按照办事指南要求提出申请，所附材料真实、完整、有效。".to_owned(),
        "spouse_name" => person_name(rng, !person.hefei).0,
        "marriage_date" => NaiveDate::from_ymd_opt(
            rng.random_range(2002..=2022),
            rng.random_range(1..=12),
            rng.random_range(1..=28),
        )?
        .to_string(),
        "registry" => if person.hefei {
            "合肥市蜀山区民政局婚姻登记处"
        } else {
            "鄂尔多斯市康巴什区民政局婚姻登记处"
        }
        .to_owned(),
        "departments" => "内科、外科、妇科、儿科、口腔科、医学检验科".to_owned(),
        _ => match field.kind {
            FieldKind::Select => field.options.choose(rng)?.clone(),
            FieldKind::Number => {
                let min = field.min.unwrap_or(0).max(match key {
                    "staff_count" => 3,
                    "area" => 40,
                    _ => 0,
                });
                let max = field.max.unwrap_or(100).min(match key {
                    "staff_count" | "beds" => 60,
                    "area" => 900,
                    _ => 100,
                });
                rng.random_range(min..=max.max(min)).to_string()
            }
            FieldKind::Checkbox if field.required || rng.random_bool(0.5) => "yes".to_owned(),
            _ => return None,
        },
    };
    Some(text)
}
