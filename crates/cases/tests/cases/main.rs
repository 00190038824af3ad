//! Case tests on SQLite and (when configured) PostgreSQL: every transition of the lifecycle and every
//! refusal, parallel approval across two departments, deadlines across the 2026 Spring Festival and its
//! weekend working days, special procedures and the extension, instant and commitment items, the
//! supervision sweep, workflow versions, counter registration, following a case and notifications.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod licences;

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_cases::files::{FilePolicy, derive_material_key};
use yiwang_cases::model::{
    Act, ActInput, CaseId, CaseStatus, Channel, ExtensionState, Outcome, SpecialKind, TaskId,
    TaskKind, TaskStatus, Verification, Warning,
};
use yiwang_cases::repo::{CaseFilter, InboxFilter};
use yiwang_cases::workflow::StepAction;
use yiwang_cases::{
    Application, CaseError, Cases, DeadlinePolicy, Deadlines, FileStore, Origin, WorkflowDef,
};
use yiwang_catalog::model::ItemId;
use yiwang_catalog::transfer::Format;
use yiwang_catalog::{Catalog, Origin as CatalogOrigin};
use yiwang_db::db_test;
use yiwang_db::jobs::{self, JobStatus};
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{
    ClientMeta, NewStaff, PostInput, RawDepartment, RawNewStaff, RawRegion, RawRegistration,
    Registration,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, IdentityError, OrgData, SessionPolicy};
use yiwang_kernel::{PageRequest, ResidentId, SharedClock, TestClock, WorkCalendar, china_date};

const REGIONS: &str = include_str!("../../../demo/data/regions.json");
const DEPARTMENTS: &str = include_str!("../../../demo/data/departments.json");
const ITEMS: &str = include_str!("../../../demo/data/catalog/items.json");
const PASSWORD: &str = "Cases#2026ok";
/// 食品经营许可（延续）: two mandatory materials, promised 3 working days, legal 10.
const FOOD_RENEWAL: &str = "01120000300334010011340100MB8434305B";
/// 食品经营许可（新办）: promised 5 working days.
const FOOD_NEW: &str = "01120000300134010011340100MB8434305B";
/// 补领婚姻登记证 (civil affairs; an instant item).
const MARRIAGE_CERT: &str = "07010000100334010011340100MB6481191H";
/// 养老机构备案 (civil affairs; on commitment).
const CARE_HOME: &str = "10010001000034010011340100MB6481191H";

/// China-local time of day on a date.
fn local(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    yiwang_kernel::china_local_to_utc(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap(),
    )
}

fn origin() -> Origin {
    Origin {
        ip: "test".to_owned(),
    }
}

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "test".to_owned(),
        user_agent: "test".to_owned(),
    }
}

/// A valid resident ID from its first 17 digits.
fn resident_id(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = "10X98765432".chars().nth((sum % 11) as usize).unwrap();
    format!("{first17}{check}")
}

struct World {
    cases: Cases,
    catalog: Catalog,
    clock: TestClock,
    accounts: Accounts,
    rng: StdRng,
    applicant: Principal,
    other_person: Principal,
    applicant_id: String,
    window: Principal,
    reviewer: Principal,
    chief: Principal,
    health: Principal,
    admin: Principal,
    supervisor: Principal,
    /// Holds both the window and the chief post: allowed to hold posts, never to decide what they accepted.
    both: Principal,
    files: tempfile::TempDir,
}

const SINGLE: &str = r#"
[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["review"]
[[steps]]
id = "review"
name = "审查"
kind = "review"
post = "hf-scjgj/review"
next = ["decide"]
limit_days = 2
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"

[[form]]
key = "operator"
label = "经营者名称"
kind = "text"
required = true
max_len = 60
[[form]]
key = "area"
label = "经营场所面积（平方米）"
kind = "number"
required = true
min = 1
max = 100000
[[form]]
key = "contact_id"
label = "联系人身份证号"
kind = "resident_id"
required = true
"#;

const PARALLEL: &str = r#"
[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-scjgj/window"
next = ["market", "health"]
[[steps]]
id = "market"
name = "市场监管审查"
kind = "review"
post = "hf-scjgj/review"
next = ["decide"]
[[steps]]
id = "health"
name = "卫生健康会签"
kind = "review"
post = "hf-wjw/review"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-scjgj/chief"
join = true
"#;

async fn person(
    accounts: &Accounts,
    name: &str,
    rid: &str,
    mobile: &str,
    rng: &mut StdRng,
) -> Principal {
    let reg = Registration::parse(&RawRegistration {
        name: name.to_owned(),
        resident_id: rid.to_owned(),
        mobile: mobile.to_owned(),
        password: PASSWORD.to_owned(),
    })
    .unwrap();
    accounts.register_person(&reg, &meta(), rng).await.unwrap();
    let done = accounts
        .login(mobile, PASSWORD, &meta(), rng)
        .await
        .unwrap();
    accounts.principal(Some(&done.session)).await.unwrap()
}

#[expect(clippy::too_many_arguments, reason = "test set-up")]
async fn staff(
    accounts: &Accounts,
    dept: &str,
    no: &str,
    name: &str,
    mobile: &str,
    roles: &[&str],
    posts: &[&str],
    rng: &mut StdRng,
) -> Principal {
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: name.to_owned(),
        mobile: mobile.into(),
        password: PASSWORD.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        posts: posts.iter().map(|p| (*p).to_owned()).collect(),
    })
    .unwrap();
    accounts
        .create_staff(&Principal::System, "system:test", dept, &new, &meta(), rng)
        .await
        .unwrap();
    let done = accounts
        .staff_login(no, PASSWORD, &meta(), rng)
        .await
        .unwrap();
    accounts.principal(Some(&done.session)).await.unwrap()
}

async fn world(t: &TestDb, start: DateTime<Utc>) -> World {
    world_with(t, start, FilePolicy::default()).await
}

/// The material key of the test worlds (derived as the server derives it from the PII key).
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff";

async fn world_with(t: &TestDb, start: DateTime<Utc>, file_policy: FilePolicy) -> World {
    let clock = TestClock::new(start);
    let shared: SharedClock = Arc::new(clock.clone());
    let org = OrgData {
        regions: serde_json::from_str::<Vec<RawRegion>>(REGIONS).unwrap(),
        departments: serde_json::from_str::<Vec<RawDepartment>>(DEPARTMENTS).unwrap(),
    };
    let parsed = yiwang_identity::service::parse_org(&org).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    let catalog = Catalog::new(t.db.clone(), shared.clone()).unwrap();
    catalog
        .import(
            &Principal::System,
            Format::Json,
            ITEMS.as_bytes(),
            &CatalogOrigin::default(),
        )
        .await
        .unwrap();
    let pii = Arc::new(PiiProtector::from_hex("00112233445566778899aabbccddeeff").unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared.clone(),
        pii.clone(),
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    for (dept, code, name) in [
        ("hf-scjgj", "window", "综合受理窗口"),
        ("hf-scjgj", "review", "食品经营许可审查岗"),
        ("hf-scjgj", "chief", "许可决定岗"),
        ("hf-wjw", "review", "卫生许可会签岗"),
        ("hf-mzj", "window", "婚姻登记窗口"),
        ("hf-mzj", "check", "养老服务核查岗"),
    ] {
        accounts
            .create_post(
                &Principal::System,
                "system:test",
                dept,
                &PostInput {
                    code: code.to_owned(),
                    name: name.to_owned(),
                    duties: format!("{name}职责"),
                },
                &meta(),
            )
            .await
            .unwrap();
    }
    let mut rng = StdRng::seed_from_u64(11);
    let applicant_id = resident_id("34010419900307123");
    let applicant = person(&accounts, "张晓明", &applicant_id, "13800138001", &mut rng).await;
    let other_person = person(
        &accounts,
        "李娜",
        &resident_id("34010219920611242"),
        "13800138002",
        &mut rng,
    )
    .await;
    let a = &accounts;
    let r = &mut rng;
    let window = staff(
        a,
        "hf-scjgj",
        "SC0101",
        "王芳",
        "13900001101",
        &["window_staff"],
        &["window"],
        r,
    )
    .await;
    let reviewer = staff(
        a,
        "hf-scjgj",
        "SC0201",
        "钱文博",
        "13900001102",
        &["approver"],
        &["review"],
        r,
    )
    .await;
    let chief = staff(
        a,
        "hf-scjgj",
        "SC0301",
        "刘建华",
        "13900001103",
        &["approver"],
        &["chief"],
        r,
    )
    .await;
    let health = staff(
        a,
        "hf-wjw",
        "WJ0201",
        "孙悦",
        "13900001104",
        &["approver"],
        &["review"],
        r,
    )
    .await;
    let admin = staff(
        a,
        "hf-scjgj",
        "SC0001",
        "赵立新",
        "13900001105",
        &["department_admin"],
        &[],
        r,
    )
    .await;
    let supervisor = staff(
        a,
        "hf-sjzyj",
        "SV0001",
        "何雪梅",
        "13900001106",
        &["supervisor"],
        &[],
        r,
    )
    .await;
    let both = staff(
        a,
        "hf-scjgj",
        "SC0401",
        "陈静",
        "13900001107",
        &["window_staff", "approver"],
        &["window", "chief"],
        r,
    )
    .await;
    let files = tempfile::tempdir().unwrap();
    let cases = Cases::new(
        t.db.clone(),
        shared,
        catalog.clone(),
        Deadlines::new(WorkCalendar::builtin(), DeadlinePolicy::default()),
        pii,
        FileStore::local(
            files.path(),
            1024 * 1024,
            derive_material_key(MASTER_KEY).unwrap(),
        )
        .unwrap()
        .with_policy(file_policy),
        "01",
    );
    World {
        cases,
        catalog,
        clock,
        accounts,
        rng,
        applicant,
        other_person,
        applicant_id,
        window,
        reviewer,
        chief,
        health,
        admin,
        supervisor,
        both,
        files,
    }
}

async fn item(w: &World, impl_code: &str) -> ItemId {
    w.catalog.item_by_impl_code(impl_code).await.unwrap().id
}

async fn publish(w: &World, impl_code: &str, toml: &str) -> ItemId {
    let id = item(w, impl_code).await;
    let def = WorkflowDef::from_toml(toml).unwrap();
    w.cases
        .publish_workflow(&Principal::System, id, &def, &origin())
        .await
        .unwrap();
    id
}

fn answers(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An application with a PDF for every mandatory material of the item.
async fn application(w: &mut World, item: ItemId, form: BTreeMap<String, String>) -> Application {
    let (guide, _) = w.cases.application_form(item).await.unwrap();
    let mut materials = Vec::new();
    for m in guide
        .version
        .content
        .materials
        .iter()
        .filter(|m| m.mandatory)
    {
        let file = w
            .cases
            .upload_material(
                &w.applicant,
                None,
                &format!("{}.pdf", m.name),
                Bytes::from(format!("%PDF-1.7 {}", m.name)),
                &mut w.rng,
            )
            .await
            .unwrap();
        materials.push((m.name.clone(), file.public_id));
    }
    Application {
        item: Some(item),
        enterprise: None,
        answers: form,
        contact_email: "zhang@example.cn".to_owned(),
        commitment_signed: false,
        materials,
    }
}

async fn food_application(w: &mut World, item: ItemId) -> Application {
    let form = food_form(w);
    application(w, item, form).await
}

fn food_form(w: &World) -> BTreeMap<String, String> {
    answers(&[
        ("operator", "合肥味道餐饮管理有限公司"),
        ("area", "120"),
        ("contact_id", &w.applicant_id),
    ])
}

/// The open (or waiting) task of a step.
async fn task(w: &World, case: CaseId, step: &str) -> TaskId {
    // The city's supervisor sees every department's cases.
    let view = w.cases.view(&w.supervisor, case, &origin()).await.unwrap();
    view.tasks
        .iter()
        .rev()
        .find(|t| t.step_id == step && matches!(t.status, TaskStatus::Open | TaskStatus::Waiting))
        .unwrap_or_else(|| panic!("no open task for {step}: {:?}", view.tasks))
        .id
}

async fn act(
    w: &World,
    who: &Principal,
    case: CaseId,
    step: &str,
    action: StepAction,
    opinion: &str,
) -> Result<yiwang_cases::model::Case, CaseError> {
    let t = task(w, case, step).await;
    w.cases
        .act(
            who,
            t,
            &Act::Step(action),
            &ActInput {
                opinion: opinion.to_owned(),
                ..ActInput::default()
            },
            &origin(),
        )
        .await
}

async fn count(t: &TestDb, sql: &str) -> i64 {
    use yiwang_db::ConnectionTrait;
    let conn = t.db.conn();
    conn.query_one_raw(yiwang_db::stmt(conn, sql, []))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

db_test!(
    single_post_flow_from_application_to_conclusion,
    refusals_change_nothing,
    supplement_decline_withdraw_and_return,
    parallel_approval_waits_for_both_departments,
    deadlines_across_spring_festival_with_special_procedure_and_extension,
    instant_and_commitment_items,
    sweep_warns_and_supervisors_see_it,
    workflows_are_versioned_and_checked,
    counter_registration_and_send_back,
    concurrent_actions_apply_once,
    more_concurrent_actions_than_pooled_connections,
    an_application_refused_at_submission_leaves_nothing,
    materials_are_sealed_shared_limited_and_swept,
    identity_fields_come_from_the_account,
);

async fn single_post_flow_from_application_to_conclusion(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    let app = food_application(&mut w, item).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    assert_eq!(case.status, CaseStatus::Submitted);
    let case_no = case.case_no.clone().unwrap();
    // Region of the department + China date + platform code + sequence.
    assert_eq!(case_no, "34010020260302010000 1".replace(' ', ""));
    let code = case.query_code.clone().unwrap();
    assert_eq!(code.len(), 8);
    // Pre-review within 5 working days: Tuesday 3 … Monday 9 March.
    assert_eq!(
        china_date(case.accept_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()
    );

    // The window's inbox has the intake task; the reviewer's is empty.
    let inbox = w
        .cases
        .inbox(&w.window, &InboxFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(inbox.total, 1);
    assert_eq!(inbox.items[0].case_no, case_no);
    assert_eq!(
        w.cases
            .inbox(&w.reviewer, &InboxFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    let intake = inbox.items[0].task.id;
    w.cases.claim(&w.window, intake).await.unwrap();
    let accepted = act(
        &w,
        &w.window,
        case.id,
        "accept",
        StepAction::Accept,
        "材料齐全，予以受理",
    )
    .await
    .unwrap();
    assert_eq!(accepted.status, CaseStatus::InReview);
    // Promised limit 3 working days from Monday 2 March → Thursday 5 March.
    assert_eq!(
        china_date(accepted.decision_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 3, 5).unwrap()
    );
    w.clock.advance(Duration::hours(2));
    act(
        &w,
        &w.reviewer,
        case.id,
        "review",
        StepAction::Agree,
        "符合延续条件",
    )
    .await
    .unwrap();
    let decided = act(
        &w,
        &w.chief,
        case.id,
        "decide",
        StepAction::Grant,
        "准予延续食品经营许可",
    )
    .await
    .unwrap();
    assert_eq!(decided.status, CaseStatus::Decided);
    assert_eq!(decided.outcome, Some(Outcome::Granted));
    // One window delivers.
    let deliver = task(&w, case.id, "deliver").await;
    let concluded = w
        .cases
        .act(
            &w.window,
            deliver,
            &Act::Conclude,
            &ActInput::default(),
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(concluded.status, CaseStatus::Concluded);
    assert!(concluded.concluded_at.is_some());

    // The applicant sees the public history (no internal opinions), materials and answers.
    let mine = w
        .cases
        .view(&w.applicant, case.id, &origin())
        .await
        .unwrap();
    let actions: Vec<&str> = mine.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["submit", "accept", "grant", "conclude"]);
    assert!(mine.tasks.is_empty());
    assert_eq!(mine.materials.len(), 2);
    assert!(mine.answers.iter().any(|(_, v)| v == &w.applicant_id));
    // Staff see everything, identifiers masked, and their reading is audited.
    let staff_view = w.cases.view(&w.reviewer, case.id, &origin()).await.unwrap();
    assert!(staff_view.events.iter().any(|e| e.action == "agree"));
    assert!(!staff_view.answers.iter().any(|(_, v)| v == &w.applicant_id));
    assert!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'case.read'"
        )
        .await
            >= 1
    );
    // Someone else sees nothing, not even that it exists.
    assert!(matches!(
        w.cases.view(&w.other_person, case.id, &origin()).await,
        Err(CaseError::CaseNotFound)
    ));
    // Public progress with the query code, none without it.
    let progress = w
        .cases
        .public_progress(&case_no, &code.to_lowercase())
        .await
        .unwrap();
    assert_eq!(progress.status, CaseStatus::Concluded);
    assert!(matches!(
        w.cases.public_progress(&case_no, "WRONG123").await,
        Err(CaseError::QueryMismatch)
    ));
    // Disclosure masks the person's name.
    let disclosed = w.cases.disclosures(PageRequest::default()).await.unwrap();
    assert_eq!(disclosed.items[0].applicant, "张**");
    // My cases.
    let my = w
        .cases
        .my_cases(&w.applicant, &CaseFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(my.total, 1);
    // Every public change queued a notification; running them delivers SMS and email.
    let queued = count(
        t,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'cases.notify'",
    )
    .await;
    assert_eq!(queued, 4);
    let sender = Arc::new(Capture::default());
    let queue = jobs::JobQueue::new(t.db.clone(), Arc::new(w.clock.clone()), "test");
    let mut worker = jobs::Worker::new(queue);
    yiwang_cases::service::register_handlers(&mut worker, w.cases.clone(), sender.clone());
    while worker.run_once().await.unwrap() > 0 {}
    let sent = sender.sent.lock().unwrap().clone();
    assert_eq!(
        sent.iter()
            .filter(|m| m.starts_with("sms:13800138001"))
            .count(),
        4
    );
    assert!(
        sent.iter()
            .any(|m| m.starts_with("email:zhang@example.cn") && m.contains("准予"))
    );
    assert_eq!(
        jobs::counts(&t.db)
            .await
            .unwrap()
            .iter()
            .find(|(s, _)| *s == JobStatus::Failed)
            .map_or(0, |(_, n)| *n),
        0
    );
    // Every change is in the audit chain.
    assert!(count(t, "SELECT COUNT(*) AS n FROM audit_log WHERE action LIKE 'case.%' AND action <> 'case.read'").await >= 6);
}

#[derive(Debug, Default)]
struct Capture {
    sent: std::sync::Mutex<Vec<String>>,
}

impl yiwang_identity::MessageSender for Capture {
    fn send_sms<'a>(
        &'a self,
        sms: &'a yiwang_identity::service::recovery::Sms,
    ) -> yiwang_identity::service::recovery::SendFuture<'a> {
        Box::pin(async move {
            self.sent
                .lock()
                .unwrap()
                .push(format!("sms:{}:{}", sms.to.as_str(), sms.text));
            Ok(())
        })
    }

    fn send_email<'a>(
        &'a self,
        email: &'a yiwang_identity::service::recovery::Email,
    ) -> yiwang_identity::service::recovery::SendFuture<'a> {
        Box::pin(async move {
            self.sent
                .lock()
                .unwrap()
                .push(format!("email:{}:{}", email.to, email.text));
            Ok(())
        })
    }
}

async fn refusals_change_nothing(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;

    // Bad answers, missing materials, unknown material: refused, nothing stored.
    let mut bad = application(
        &mut w,
        item,
        answers(&[("operator", ""), ("area", "0"), ("contact_id", "123")]),
    )
    .await;
    match w
        .cases
        .apply(&w.applicant, &bad, &origin(), &mut w.rng)
        .await
    {
        Err(CaseError::FormInvalid(problems)) => {
            let codes: Vec<&str> = problems.iter().map(|p| p.code).collect();
            // `contact_id` is the applicant's own resident ID, taken from the account whatever was typed.
            assert_eq!(codes, vec!["field_required", "field_out_of_range"]);
        }
        other => panic!("expected form problems, got {other:?}"),
    }
    bad.answers = food_form(&w);
    let all = bad.materials.clone();
    bad.materials.truncate(1);
    assert!(matches!(
        w.cases.apply(&w.applicant, &bad, &origin(), &mut w.rng).await,
        Err(CaseError::MaterialsMissing(m)) if m.len() == 1
    ));
    bad.materials = all.clone();
    bad.materials.push(("户口本".to_owned(), all[0].1.clone()));
    assert!(matches!(
        w.cases
            .apply(&w.applicant, &bad, &origin(), &mut w.rng)
            .await,
        Err(CaseError::UnknownMaterial(_))
    ));
    // Another person's file cannot be attached.
    bad.materials = all.clone();
    let mut theirs = food_application(&mut w, item).await;
    theirs.materials = all.clone();
    assert!(matches!(
        w.cases
            .apply(&w.other_person, &theirs, &origin(), &mut w.rng)
            .await,
        Err(CaseError::FileNotFound)
    ));
    // Bad contact email.
    "not an address".clone_into(&mut bad.contact_email);
    assert!(matches!(
        w.cases
            .apply(&w.applicant, &bad, &origin(), &mut w.rng)
            .await,
        Err(CaseError::FormInvalid(_))
    ));
    assert_eq!(count(t, "SELECT COUNT(*) AS n FROM cases").await, 0);
    // Staff cannot apply; anonymous callers must log in.
    assert!(matches!(
        w.cases
            .apply(&w.window, &theirs, &origin(), &mut w.rng)
            .await,
        Err(CaseError::Identity(IdentityError::Forbidden))
    ));
    assert!(matches!(
        w.cases
            .apply(&Principal::Anonymous, &theirs, &origin(), &mut w.rng)
            .await,
        Err(CaseError::Identity(IdentityError::Unauthenticated))
    ));
    // A file of the wrong type is refused.
    assert!(matches!(
        w.cases
            .upload_material(
                &w.applicant,
                None,
                "营业执照.exe",
                Bytes::from_static(b"MZ"),
                &mut w.rng
            )
            .await,
        Err(CaseError::FileTypeRefused(_))
    ));
    assert!(matches!(
        w.cases
            .upload_material(
                &w.applicant,
                None,
                "营业执照.pdf",
                Bytes::from_static(b"GIF89a"),
                &mut w.rng
            )
            .await,
        Err(CaseError::FileContentMismatch(_))
    ));

    let good = food_application(&mut w, item).await;
    let case = w
        .cases
        .apply(&w.applicant, &good, &origin(), &mut w.rng)
        .await
        .unwrap();
    let before = count(t, "SELECT COUNT(*) AS n FROM case_events").await;
    // Wrong action for the step, wrong post, applicant acting, opinion missing.
    assert!(matches!(
        act(&w, &w.window, case.id, "accept", StepAction::Grant, "x").await,
        Err(CaseError::ActionNotOffered("grant"))
    ));
    assert!(matches!(
        act(&w, &w.reviewer, case.id, "accept", StepAction::Accept, "").await,
        Err(CaseError::NotOnPost)
    ));
    assert!(matches!(
        act(&w, &w.applicant, case.id, "accept", StepAction::Accept, "").await,
        Err(CaseError::Identity(IdentityError::Forbidden))
    ));
    assert!(matches!(
        act(&w, &w.window, case.id, "accept", StepAction::Decline, "  ").await,
        Err(CaseError::OpinionRequired)
    ));
    // A task claimed by a colleague on the same post.
    let intake = task(&w, case.id, "accept").await;
    w.cases.claim(&w.both, intake).await.unwrap();
    assert!(matches!(
        w.cases.claim(&w.window, intake).await,
        Err(CaseError::ClaimedByOther)
    ));
    assert!(matches!(
        act(&w, &w.window, case.id, "accept", StepAction::Accept, "").await,
        Err(CaseError::ClaimedByOther)
    ));
    w.cases.release(&w.both, intake).await.unwrap();
    // Submitting a submitted case, resubmitting without a supplement request.
    assert!(matches!(
        w.cases
            .submit(&w.applicant, case.id, &origin(), &mut w.rng)
            .await,
        Err(CaseError::WrongState {
            status: CaseStatus::Submitted,
            ..
        })
    ));
    assert!(matches!(
        w.cases
            .resubmit(&w.applicant, case.id, None, &[], &origin(), &mut w.rng)
            .await,
        Err(CaseError::WrongState { .. })
    ));
    // 受审分离: who accepted may hold the deciding post, but may not decide this case.
    act(&w, &w.both, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    act(
        &w,
        &w.reviewer,
        case.id,
        "review",
        StepAction::Agree,
        "同意",
    )
    .await
    .unwrap();
    let events = count(t, "SELECT COUNT(*) AS n FROM case_events").await;
    assert!(matches!(
        act(&w, &w.both, case.id, "decide", StepAction::Grant, "准予").await,
        Err(CaseError::SeparationOfDuties)
    ));
    assert!(matches!(
        act(&w, &w.chief, case.id, "decide", StepAction::Deny, "").await,
        Err(CaseError::OpinionRequired)
    ));
    assert_eq!(
        count(t, "SELECT COUNT(*) AS n FROM case_events").await,
        events
    );
    act(
        &w,
        &w.chief,
        case.id,
        "decide",
        StepAction::Deny,
        "经营场所不符合要求",
    )
    .await
    .unwrap();
    // No withdrawal after the decision; the closed task cannot be acted on again.
    assert!(matches!(
        w.cases
            .withdraw(&w.applicant, case.id, "不办了", &origin())
            .await,
        Err(CaseError::WrongState {
            status: CaseStatus::Decided,
            ..
        })
    ));
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    let decide_task = view
        .tasks
        .iter()
        .find(|t| t.step_id == "decide")
        .unwrap()
        .id;
    assert!(matches!(
        w.cases
            .act(
                &w.chief,
                decide_task,
                &Act::Step(StepAction::Grant),
                &ActInput {
                    opinion: "x".into(),
                    ..ActInput::default()
                },
                &origin()
            )
            .await,
        Err(CaseError::TaskClosed)
    ));
    // Someone else cannot withdraw.
    assert!(matches!(
        w.cases
            .withdraw(&w.other_person, case.id, "x", &origin())
            .await,
        Err(CaseError::CaseNotFound)
    ));
    assert!(count(t, "SELECT COUNT(*) AS n FROM case_events").await > before);
}

async fn supplement_decline_withdraw_and_return(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    let app = food_application(&mut w, item).await;

    // 补正: one notice lists everything; the applicant resubmits; pre-review starts again.
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    let intake = task(&w, case.id, "accept").await;
    let empty = w
        .cases
        .act(
            &w.window,
            intake,
            &Act::Step(StepAction::Supplement),
            &ActInput {
                opinion: "材料不全".into(),
                ..ActInput::default()
            },
            &origin(),
        )
        .await;
    assert!(matches!(empty, Err(CaseError::MissingListRequired)));
    let supplement = w
        .cases
        .act(
            &w.window,
            intake,
            &Act::Step(StepAction::Supplement),
            &ActInput {
                opinion: "请补正以下材料".into(),
                missing: vec![
                    "食品经营许可延续申请书（需法定代表人签字）".into(),
                    "营业执照副本复印件".into(),
                ],
                special: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(supplement.status, CaseStatus::Supplement);
    assert!(supplement.accept_due_at.is_none());
    assert_eq!(
        china_date(supplement.supplement_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()
    );
    let view = w
        .cases
        .view(&w.applicant, case.id, &origin())
        .await
        .unwrap();
    let notice = view
        .events
        .iter()
        .find(|e| e.action == "supplement")
        .unwrap();
    assert_eq!(notice.detail["missing"].as_array().unwrap().len(), 2);
    w.clock.advance(Duration::days(2));
    let again = w
        .cases
        .resubmit(
            &w.applicant,
            case.id,
            Some(&food_form(&w)),
            &app.materials[..1],
            &origin(),
            &mut w.rng,
        )
        .await
        .unwrap();
    assert_eq!(again.status, CaseStatus::Submitted);
    assert_eq!(
        china_date(again.accept_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 3, 11).unwrap()
    );
    // 不予受理 with the reason.
    let declined = act(
        &w,
        &w.window,
        case.id,
        "accept",
        StepAction::Decline,
        "申请事项不属于本机关职权范围",
    )
    .await
    .unwrap();
    assert_eq!(declined.status, CaseStatus::Declined);
    assert_eq!(declined.outcome, Some(Outcome::Declined));
    assert_eq!(declined.decision_note, "申请事项不属于本机关职权范围");

    // Withdrawal while in review cancels the open tasks.
    let app2 = food_application(&mut w, item).await;
    let second = w
        .cases
        .apply(&w.applicant, &app2, &origin(), &mut w.rng)
        .await
        .unwrap();
    act(&w, &w.window, second.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    let withdrawn = w
        .cases
        .withdraw(&w.applicant, second.id, "经营计划调整", &origin())
        .await
        .unwrap();
    assert_eq!(withdrawn.outcome, Some(Outcome::Withdrawn));
    let view = w.cases.view(&w.admin, second.id, &origin()).await.unwrap();
    assert!(view.tasks.iter().all(|t| t.status != TaskStatus::Open));

    // 退件: the supplement never comes; not before the period ends, then by the sweep.
    let app3 = food_application(&mut w, item).await;
    let third = w
        .cases
        .apply(&w.applicant, &app3, &origin(), &mut w.rng)
        .await
        .unwrap();
    let intake = task(&w, third.id, "accept").await;
    w.cases
        .act(
            &w.window,
            intake,
            &Act::Step(StepAction::Supplement),
            &ActInput {
                opinion: "缺材料".into(),
                missing: vec!["场所证明".into()],
                special: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    assert!(matches!(
        w.cases.return_case(&w.window, third.id, &origin()).await,
        Err(CaseError::SupplementNotDue)
    ));
    w.clock.advance(Duration::days(40));
    let report = w.cases.sweep().await.unwrap();
    assert_eq!(report.returned, 1);
    let returned = w
        .cases
        .view(&w.applicant, third.id, &origin())
        .await
        .unwrap()
        .case;
    assert_eq!(returned.status, CaseStatus::Returned);
    assert_eq!(returned.outcome, Some(Outcome::Returned));
}

async fn parallel_approval_waits_for_both_departments(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, PARALLEL).await;
    let app = application(&mut w, item, BTreeMap::new()).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    act(&w, &w.window, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    // Both departments have the case at once.
    assert_eq!(
        w.cases
            .inbox(&w.reviewer, &InboxFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        w.cases
            .inbox(&w.health, &InboxFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
    // The health commission's staff may see the case it works on.
    w.cases.view(&w.health, case.id, &origin()).await.unwrap();
    act(
        &w,
        &w.reviewer,
        case.id,
        "market",
        StepAction::Agree,
        "同意",
    )
    .await
    .unwrap();
    // Not decided, not even open for decision, until the second department agrees.
    assert_eq!(
        w.cases
            .inbox(&w.chief, &InboxFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total,
        0
    );
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    assert_eq!(view.case.status, CaseStatus::InReview);
    act(
        &w,
        &w.health,
        case.id,
        "health",
        StepAction::Agree,
        "卫生条件符合",
    )
    .await
    .unwrap();
    assert_eq!(
        w.cases
            .inbox(&w.chief, &InboxFilter::default(), PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
    let granted = act(&w, &w.chief, case.id, "decide", StepAction::Grant, "准予")
        .await
        .unwrap();
    assert_eq!(granted.outcome, Some(Outcome::Granted));
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    assert_eq!(
        view.tasks.iter().filter(|t| t.step_id == "decide").count(),
        1
    );

    // When one department disagrees, the case cannot be granted, only denied.
    let app2 = application(&mut w, item, BTreeMap::new()).await;
    let second = w
        .cases
        .apply(&w.applicant, &app2, &origin(), &mut w.rng)
        .await
        .unwrap();
    act(&w, &w.window, second.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    act(
        &w,
        &w.health,
        second.id,
        "health",
        StepAction::Disagree,
        "卫生条件不符合",
    )
    .await
    .unwrap();
    act(
        &w,
        &w.reviewer,
        second.id,
        "market",
        StepAction::Agree,
        "同意",
    )
    .await
    .unwrap();
    assert!(matches!(
        act(&w, &w.chief, second.id, "decide", StepAction::Grant, "准予").await,
        Err(CaseError::ReviewDisagreed)
    ));
    let denied = act(
        &w,
        &w.chief,
        second.id,
        "decide",
        StepAction::Deny,
        "卫生条件不符合要求",
    )
    .await
    .unwrap();
    assert_eq!(denied.outcome, Some(Outcome::Denied));
    // Supplement requests are refused while two departments work at once.
    let app3 = application(&mut w, item, BTreeMap::new()).await;
    let third = w
        .cases
        .apply(&w.applicant, &app3, &origin(), &mut w.rng)
        .await
        .unwrap();
    act(&w, &w.window, third.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    let market = task(&w, third.id, "market").await;
    assert!(matches!(
        w.cases
            .act(
                &w.reviewer,
                market,
                &Act::Step(StepAction::Supplement),
                &ActInput {
                    opinion: "补".into(),
                    missing: vec!["x".into()],
                    special: None
                },
                &origin()
            )
            .await,
        Err(CaseError::SupplementDuringParallel)
    ));
}

async fn deadlines_across_spring_festival_with_special_procedure_and_extension(t: &TestDb) {
    // Thursday 12 February 2026, two days before the holiday (14 Feb is a working Saturday).
    let mut w = world(t, local(2026, 2, 12, 10)).await;
    let without_form = SINGLE.split("[[form]]").next().unwrap();
    let item = publish(&w, FOOD_NEW, without_form).await;
    let app = application(&mut w, item, BTreeMap::new()).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    // Pre-review: 13, 14 (Sat, working), 24, 25, 26 February.
    assert_eq!(
        china_date(case.accept_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 2, 26).unwrap()
    );
    w.clock.set(local(2026, 2, 13, 9));
    let accepted = act(&w, &w.window, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    // 食品经营许可（新办） promises 5 working days: 14 Feb, 24, 25, 26, 27 Feb.
    assert_eq!(
        china_date(accepted.decision_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 2, 27).unwrap()
    );
    // Special procedure (on-site testing) from 13 Feb to 25 Feb: the clock stands still 3 working days
    // (14, 24, 25), so the deadline moves from 27 Feb to 3 March (28 Feb is a working Saturday).
    let review = task(&w, case.id, "review").await;
    let past = w
        .cases
        .act(
            &w.reviewer,
            review,
            &Act::Step(StepAction::Special),
            &ActInput {
                opinion: "现场检测".into(),
                missing: vec![],
                special: Some((
                    SpecialKind::Testing,
                    NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
                )),
            },
            &origin(),
        )
        .await;
    assert!(matches!(past, Err(CaseError::SpecialEndInPast)));
    let suspended = w
        .cases
        .act(
            &w.reviewer,
            review,
            &Act::Step(StepAction::Special),
            &ActInput {
                opinion: "委托第三方现场检测".into(),
                missing: vec![],
                special: Some((
                    SpecialKind::Testing,
                    NaiveDate::from_ymd_opt(2026, 2, 25).unwrap(),
                )),
            },
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(suspended.status, CaseStatus::Suspended);
    // While suspended nobody can act on the step.
    assert!(matches!(
        w.cases
            .act(
                &w.reviewer,
                review,
                &Act::Step(StepAction::Agree),
                &ActInput::default(),
                &origin()
            )
            .await,
        Err(CaseError::TaskClosed)
    ));
    w.clock.set(local(2026, 2, 25, 15));
    let resumed = w
        .cases
        .end_special(&w.reviewer, review, "检测合格", &origin())
        .await
        .unwrap();
    assert_eq!(resumed.status, CaseStatus::InReview);
    assert_eq!(
        china_date(resumed.decision_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 3, 3).unwrap()
    );
    // One extension: asked by the reviewer, approved by the department's administrator, never by
    // the one who asked; a second request is refused.
    let asked = w
        .cases
        .request_extension(&w.reviewer, case.id, "需组织专家论证", &origin())
        .await
        .unwrap();
    assert_eq!(asked.extension, ExtensionState::Requested);
    assert!(matches!(
        w.cases
            .decide_extension(&w.reviewer, case.id, true, "", &origin())
            .await,
        Err(CaseError::SelfApproval)
    ));
    assert!(matches!(
        w.cases
            .decide_extension(&w.chief, case.id, true, "", &origin())
            .await,
        Err(CaseError::Identity(IdentityError::Forbidden))
    ));
    let approved = w
        .cases
        .decide_extension(&w.admin, case.id, true, "同意延长", &origin())
        .await
        .unwrap();
    assert_eq!(approved.extension, ExtensionState::Approved);
    // 10 working days after 3 March → 17 March.
    assert_eq!(
        china_date(approved.decision_due_at.unwrap()),
        NaiveDate::from_ymd_opt(2026, 3, 17).unwrap()
    );
    assert!(matches!(
        w.cases
            .request_extension(&w.reviewer, case.id, "再次延长", &origin())
            .await,
        Err(CaseError::AlreadyExtended)
    ));
    // The applicant is told about the special procedure and the extension, not about the request.
    let mine = w
        .cases
        .view(&w.applicant, case.id, &origin())
        .await
        .unwrap();
    let actions: Vec<&str> = mine.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        vec![
            "submit",
            "accept",
            "special",
            "special_end",
            "extension_approved"
        ]
    );
}

async fn instant_and_commitment_items(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let mut rng = StdRng::seed_from_u64(5);
    let clerk = staff(
        &w.accounts,
        "hf-mzj",
        "MZ0101",
        "周海燕",
        "13900001201",
        &["window_staff"],
        &["window"],
        &mut rng,
    )
    .await;
    let checker = staff(
        &w.accounts,
        "hf-mzj",
        "MZ0201",
        "吴志强",
        "13900001202",
        &["approver"],
        &["check"],
        &mut rng,
    )
    .await;
    let instant = publish(
        &w,
        MARRIAGE_CERT,
        "instant = true\n[[steps]]\nid = \"accept\"\nname = \"受理即办\"\nkind = \"intake\"\npost = \"hf-mzj/window\"\n",
    )
    .await;
    let app = application(&mut w, instant, BTreeMap::new()).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    assert!(case.instant);
    let done = act(&w, &clerk, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    assert_eq!(done.status, CaseStatus::Concluded);
    assert_eq!(done.outcome, Some(Outcome::Granted));

    let commitment = publish(
        &w,
        CARE_HOME,
        r#"
[commitment]
statement = "本机构承诺已符合养老机构备案条件，所填信息真实有效，如有不实愿承担法律责任。"
replaces = ["营业执照或其他登记证书"]
verify_post = "hf-mzj/check"
verify_within_days = 20

[[steps]]
id = "accept"
name = "受理"
kind = "intake"
post = "hf-mzj/window"
next = ["decide"]
[[steps]]
id = "decide"
name = "决定"
kind = "decide"
post = "hf-mzj/check"
"#,
    )
    .await;
    let mut app = application(&mut w, commitment, BTreeMap::new()).await;
    assert!(matches!(
        w.cases
            .apply(&w.applicant, &app, &origin(), &mut w.rng)
            .await,
        Err(CaseError::CommitmentNotSigned)
    ));
    app.commitment_signed = true;
    // The promise replaces the business licence.
    app.materials.retain(|(m, _)| m != "营业执照或其他登记证书");
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    let granted = act(&w, &clerk, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    assert_eq!(granted.status, CaseStatus::Concluded);
    assert_eq!(granted.outcome, Some(Outcome::Granted));
    assert_eq!(granted.verification, Verification::Pending);
    assert_eq!(
        w.cases
            .pending_verifications(&w.supervisor, PageRequest::default())
            .await
            .unwrap()
            .total,
        1
    );
    let verify = task(&w, case.id, "verify").await;
    assert!(matches!(
        w.cases
            .act(
                &checker,
                verify,
                &Act::Verify { confirmed: false },
                &ActInput::default(),
                &origin()
            )
            .await,
        Err(CaseError::OpinionRequired)
    ));
    let voided = w
        .cases
        .act(
            &checker,
            verify,
            &Act::Verify { confirmed: false },
            &ActInput {
                opinion: "现场核查消防条件不符".into(),
                ..ActInput::default()
            },
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(voided.verification, Verification::Failed);
    assert_eq!(voided.outcome, Some(Outcome::Voided));
}

async fn sweep_warns_and_supervisors_see_it(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    let app = food_application(&mut w, item).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    assert_eq!(w.cases.sweep().await.unwrap().warnings_changed, 0);
    // Accept due Monday 9 March: yellow from Wednesday 4 (3 working days left), red on Friday 6 …
    w.clock.set(local(2026, 3, 4, 9));
    assert_eq!(w.cases.sweep().await.unwrap().warnings_changed, 1);
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    assert_eq!(view.case.warning, Warning::Yellow);
    // A second sweep (another node) changes nothing.
    assert_eq!(w.cases.sweep().await.unwrap().warnings_changed, 0);
    w.clock.set(local(2026, 3, 10, 9));
    w.cases.sweep().await.unwrap();
    let counts = w.cases.inbox_counts(&w.window).await.unwrap();
    assert_eq!((counts.open, counts.overdue), (1, 1));
    let overdue = w
        .cases
        .inbox(
            &w.window,
            &InboxFilter {
                warning: Some(Warning::Overdue),
                ..InboxFilter::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(overdue.total, 1);
    // The supervisor of 合肥 sees it; a window clerk may not look at supervision lists.
    let listed = w
        .cases
        .supervision(
            &w.supervisor,
            &CaseFilter::default(),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].warning, Warning::Overdue);
    assert!(matches!(
        w.cases
            .supervision(&w.window, &CaseFilter::default(), PageRequest::default())
            .await,
        Err(CaseError::Identity(IdentityError::Forbidden))
    ));
    // Accepting starts the decision clock (promised 3 working days: 11, 12, 13 March), so the next
    // sweep replaces the overdue intake warning with the decision's yellow.
    act(&w, &w.window, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    w.cases.sweep().await.unwrap();
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    assert_eq!(view.case.warning, Warning::Yellow);
    assert!(
        view.events
            .iter()
            .any(|e| e.action == "warning" && !e.public)
    );
}

async fn workflows_are_versioned_and_checked(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = item(&w, FOOD_RENEWAL).await;
    // Nothing to apply for without a workflow.
    assert!(matches!(
        w.cases.application_form(item).await,
        Err(CaseError::NoWorkflow)
    ));
    // A definition naming a post that does not exist is refused with the problem named.
    let bad =
        WorkflowDef::from_toml(&SINGLE.replace("hf-scjgj/review", "hf-scjgj/nobody")).unwrap();
    match w
        .cases
        .publish_workflow(&Principal::System, item, &bad, &origin())
        .await
    {
        Err(CaseError::WorkflowInvalid(problems)) => {
            assert_eq!(problems[0].code, "unknown_post");
            assert_eq!(problems[0].at.as_deref(), Some("review"));
        }
        other => panic!("expected an invalid workflow, got {other:?}"),
    }
    // Only the department's editors publish.
    let def = WorkflowDef::from_toml(SINGLE).unwrap();
    assert!(matches!(
        w.cases
            .publish_workflow(&w.health, item, &def, &origin())
            .await,
        Err(CaseError::Identity(IdentityError::Forbidden))
    ));
    let v1 = w
        .cases
        .publish_workflow(&w.admin, item, &def, &origin())
        .await
        .unwrap();
    assert_eq!(v1.version_no, 1);
    let app = food_application(&mut w, item).await;
    let old = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    // Version 2 goes straight from intake to the decision.
    let v2_text = SINGLE
        .replace("next = [\"review\"]", "next = [\"decide\"]")
        .replace(
            "[[steps]]\nid = \"review\"\nname = \"审查\"\nkind = \"review\"\npost = \"hf-scjgj/review\"\nnext = [\"decide\"]\nlimit_days = 2\n",
            "",
        );
    let v2 = w
        .cases
        .publish_workflow(
            &w.admin,
            item,
            &WorkflowDef::from_toml(&v2_text).unwrap(),
            &origin(),
        )
        .await
        .unwrap();
    assert_eq!(v2.version_no, 2);
    // The running case keeps version 1 (a review step), a new case starts on version 2.
    act(&w, &w.window, old.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    task(&w, old.id, "review").await;
    let app = food_application(&mut w, item).await;
    let new = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    act(&w, &w.window, new.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    task(&w, new.id, "decide").await;
    assert_eq!(w.cases.workflow_history(item).await.unwrap().len(), 2);
}

async fn counter_registration_and_send_back(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let two_reviews = SINGLE.replace(
        "next = [\"decide\"]\nlimit_days = 2",
        "next = [\"check\"]\nlimit_days = 2\n[[steps]]\nid = \"check\"\nname = \"复核\"\nkind = \"review\"\npost = \"hf-scjgj/chief\"\nnext = [\"decide\"]",
    );
    let two_reviews = two_reviews.replace(
        "post = \"hf-scjgj/chief\"\n\n[[form]]",
        "post = \"hf-scjgj/review\"\n\n[[form]]",
    );
    let item = publish(&w, FOOD_RENEWAL, &two_reviews).await;
    // The applicant's files, scanned at the counter by the window clerk.
    let (guide, _) = w.cases.application_form(item).await.unwrap();
    let person = w
        .cases
        .person_by_resident_id(&ResidentId::parse(&w.applicant_id).unwrap())
        .await
        .unwrap();
    let mut materials = Vec::new();
    for m in guide
        .version
        .content
        .materials
        .iter()
        .filter(|m| m.mandatory)
    {
        let f = w
            .cases
            .upload_material(
                &w.window,
                Some(person),
                "扫描件.jpg",
                Bytes::from_static(&[0xFF, 0xD8, 0xFF, 0xE0]),
                &mut w.rng,
            )
            .await
            .unwrap();
        materials.push((m.name.clone(), f.public_id));
    }
    let app = Application {
        item: Some(item),
        answers: food_form(&w),
        materials,
        ..Application::default()
    };
    // Only window staff register at the counter.
    assert!(matches!(
        w.cases
            .register_at_counter(
                &w.reviewer,
                &ResidentId::parse(&w.applicant_id).unwrap(),
                &app,
                &origin(),
                &mut w.rng
            )
            .await,
        Err(CaseError::Identity(IdentityError::Forbidden))
    ));
    let case = w
        .cases
        .register_at_counter(
            &w.window,
            &ResidentId::parse(&w.applicant_id).unwrap(),
            &app,
            &origin(),
            &mut w.rng,
        )
        .await
        .unwrap();
    assert_eq!(case.channel, Channel::Counter);
    // The audit chain names the clerk who registered it, not the applicant.
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'case.draft' AND actor LIKE 'staff:%'"
        )
        .await,
        1
    );
    // The same record the applicant follows online.
    let mine = w
        .cases
        .my_cases(&w.applicant, &CaseFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(mine.items[0].case_no, case.case_no);
    act(&w, &w.window, case.id, "accept", StepAction::Accept, "")
        .await
        .unwrap();
    // 退回 to intake is not possible (use a supplement); from the second review to the first it is.
    assert!(matches!(
        act(
            &w,
            &w.reviewer,
            case.id,
            "review",
            StepAction::SendBack,
            "退回"
        )
        .await,
        Err(CaseError::CannotSendBack)
    ));
    act(
        &w,
        &w.reviewer,
        case.id,
        "review",
        StepAction::Agree,
        "同意",
    )
    .await
    .unwrap();
    act(
        &w,
        &w.chief,
        case.id,
        "check",
        StepAction::SendBack,
        "面积计算有误，请重新审查",
    )
    .await
    .unwrap();
    let again = task(&w, case.id, "review").await;
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    assert_eq!(
        view.tasks.iter().filter(|t| t.step_id == "review").count(),
        2
    );
    assert!(
        view.tasks
            .iter()
            .any(|t| t.id == again && t.status == TaskStatus::Open)
    );
    assert_eq!(
        view.tasks
            .iter()
            .find(|t| t.step_id == "check")
            .unwrap()
            .result
            .as_deref(),
        Some("send_back")
    );
    assert_eq!(view.case.status, CaseStatus::InReview);
    assert!(view.tasks.iter().all(|t| t.kind == TaskKind::Step));
}

async fn concurrent_actions_apply_once(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    let app = food_application(&mut w, item).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    let intake = task(&w, case.id, "accept").await;
    let accept = |who: Principal| {
        let cases = w.cases.clone();
        async move {
            cases
                .act(
                    &who,
                    intake,
                    &Act::Step(StepAction::Accept),
                    &ActInput::default(),
                    &origin(),
                )
                .await
        }
    };
    let (a, b) = tokio::join!(accept(w.window.clone()), accept(w.both.clone()));
    let ok = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{a:?} {b:?}");
    let view = w.cases.view(&w.admin, case.id, &origin()).await.unwrap();
    assert_eq!(
        view.tasks.iter().filter(|t| t.step_id == "review").count(),
        1
    );
    assert_eq!(
        view.events.iter().filter(|e| e.action == "accept").count(),
        1
    );
    // Numbers are unique under concurrent submissions.
    let mut handles = Vec::new();
    for n in 0..6 {
        let cases = w.cases.clone();
        let who = w.applicant.clone();
        let mut app = food_application(&mut w, item).await;
        app.contact_email = format!("a{n}@example.cn");
        handles.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(n);
            cases
                .apply(&who, &app, &origin(), &mut rng)
                .await
                .unwrap()
                .case_no
                .unwrap()
        }));
    }
    let mut numbers = Vec::new();
    for h in handles {
        numbers.push(h.await.unwrap());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 6);
}

/// More actions at once than the pool has connections (16). Each transaction reads only through
/// itself, so the one holding SQLite's write lock never waits for a pooled connection that a
/// transaction queued behind the lock is holding; that wait lasted until the busy timeout and failed
/// the queued actions with "database is locked".
async fn more_concurrent_actions_than_pooled_connections(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    let app = food_application(&mut w, item).await;
    let mut intakes = Vec::new();
    for _ in 0..24 {
        let case = w
            .cases
            .apply(&w.applicant, &app, &origin(), &mut w.rng)
            .await
            .unwrap();
        intakes.push((case.id, task(&w, case.id, "accept").await));
    }
    let mut handles = Vec::new();
    for (_, intake) in &intakes {
        let (cases, who, intake) = (w.cases.clone(), w.window.clone(), *intake);
        handles.push(tokio::spawn(async move {
            cases
                .act(
                    &who,
                    intake,
                    &Act::Step(StepAction::Accept),
                    &ActInput::default(),
                    &origin(),
                )
                .await
        }));
    }
    for handle in handles {
        let accepted = handle.await.unwrap().unwrap();
        assert_eq!(accepted.status, CaseStatus::InReview);
    }
    // Each accepted case opened its review for the reviewer.
    let inbox = w
        .cases
        .inbox(&w.reviewer, &InboxFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(inbox.total, 24);
}

/// Applying is one transaction: when submission fails after the draft's rows were written (here the
/// intake post disappeared from the organisation after the workflow was published), no case, draft
/// or attached material remains, as the refusal says.
async fn an_application_refused_at_submission_leaves_nothing(t: &TestDb) {
    use yiwang_db::ConnectionTrait;
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    let app = food_application(&mut w, item).await;
    assert!(!app.materials.is_empty());
    let conn = t.db.conn();
    conn.execute_raw(yiwang_db::stmt(
        conn,
        "UPDATE posts SET code = 'window-closed' WHERE code = 'window'
           AND department_id = (SELECT id FROM departments WHERE code = 'hf-scjgj')",
        [],
    ))
    .await
    .unwrap();
    let refused = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap_err();
    assert!(matches!(refused, CaseError::Corrupt(_)), "{refused:?}");
    assert_eq!(count(t, "SELECT COUNT(*) AS n FROM cases").await, 0);
    assert_eq!(
        count(t, "SELECT COUNT(*) AS n FROM case_materials").await,
        0
    );
    assert_eq!(count(t, "SELECT COUNT(*) AS n FROM case_tasks").await, 0);
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'case.draft'"
        )
        .await,
        0
    );
    let mine = w
        .cases
        .my_cases(&w.applicant, &CaseFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(mine.total, 0);
}

/// Every stored object under the world's file directory, with its bytes.
fn stored_objects(w: &World) -> Vec<Vec<u8>> {
    fn walk(dir: &std::path::Path, out: &mut Vec<Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = Vec::new();
    walk(w.files.path(), &mut out);
    out
}

async fn materials_are_sealed_shared_limited_and_swept(t: &TestDb) {
    let policy = FilePolicy {
        max_files_per_person: 4,
        max_bytes_per_person: 200,
        unattached_days: 30,
    };
    let mut w = world_with(t, local(2026, 3, 2, 10), policy).await;
    let item = publish(&w, FOOD_RENEWAL, SINGLE).await;
    // Two files of the application, attached to the case.
    let good = food_application(&mut w, item).await;
    w.cases
        .apply(&w.applicant, &good, &origin(), &mut w.rng)
        .await
        .unwrap();

    // The same content uploaded twice, and by someone else, is one object; each upload is its own row.
    let secret = Bytes::from_static("%PDF-1.7 户口簿 张三 secret-permit".as_bytes());
    let mut kept = Vec::new();
    for who in [
        w.applicant.clone(),
        w.applicant.clone(),
        w.other_person.clone(),
    ] {
        kept.push(
            w.cases
                .upload_material(&who, None, "户口簿.pdf", secret.clone(), &mut w.rng)
                .await
                .unwrap(),
        );
    }
    assert_ne!(kept[0].public_id, kept[1].public_id);
    assert_eq!(kept[0].storage_key, kept[2].storage_key);
    let objects = stored_objects(&w);
    assert_eq!(
        objects.len(),
        3,
        "two application files and one shared object"
    );
    // Sealed on disk, readable through the platform.
    assert!(
        objects
            .iter()
            .all(|o| !o.windows(13).any(|win| win == b"secret-permit")),
        "no object holds the plaintext"
    );
    for (who, file) in [(&w.applicant, &kept[1]), (&w.other_person, &kept[2])] {
        let (_, content) = w
            .cases
            .file_content(who, None, &file.public_id)
            .await
            .unwrap();
        assert_eq!(content, secret);
    }

    // Quotas: the applicant keeps four files, the other person 200 bytes.
    assert!(matches!(
        w.cases
            .upload_material(
                &w.applicant,
                None,
                "c.pdf",
                Bytes::from_static(b"%PDF-1.7 c"),
                &mut w.rng
            )
            .await,
        Err(CaseError::FileQuotaExceeded {
            max_files: 4,
            max_bytes: 200
        })
    ));
    let big = Bytes::from(format!("%PDF-1.7 {}", "x".repeat(180)));
    assert!(matches!(
        w.cases
            .upload_material(&w.other_person, None, "big.pdf", big, &mut w.rng)
            .await,
        Err(CaseError::FileQuotaExceeded { .. })
    ));

    // Unattached files go after the kept period, attached ones stay; the shared object goes with its
    // last row.
    w.clock.advance(Duration::days(29));
    assert_eq!(w.cases.sweep().await.unwrap().files_removed, 0);
    w.clock.advance(Duration::days(2));
    assert_eq!(w.cases.sweep().await.unwrap().files_removed, 3);
    assert_eq!(
        count(t, "SELECT COUNT(*) AS n FROM material_files").await,
        2
    );
    assert_eq!(
        count(
            t,
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'material.expire'"
        )
        .await,
        3
    );
    assert_eq!(stored_objects(&w).len(), 2);
    assert!(matches!(
        w.cases
            .file_content(&w.applicant, None, &kept[0].public_id)
            .await,
        Err(CaseError::FileNotFound)
    ));
    // The attached files are still readable.
    for (_, public_id) in good.materials {
        w.cases
            .file_content(&w.applicant, None, &public_id)
            .await
            .unwrap();
    }
}

/// The applicant's name, resident ID and mobile number in a form are the account's, whatever was
/// typed: another person's identity cannot be put into an application.
async fn identity_fields_come_from_the_account(t: &TestDb) {
    let mut w = world(t, local(2026, 3, 2, 10)).await;
    let workflow = SINGLE.replace(
        "[[form]]\nkey = \"operator\"",
        "[[form]]\nkey = \"applicant_name\"\nlabel = \"申请人姓名\"\nkind = \"text\"\nrequired = true\n\n\
         [[form]]\nkey = \"resident_id\"\nlabel = \"公民身份号码\"\nkind = \"resident_id\"\nrequired = true\n\n\
         [[form]]\nkey = \"mobile\"\nlabel = \"联系电话\"\nkind = \"mobile\"\nrequired = true\n\n\
         [[form]]\nkey = \"operator\"",
    );
    assert_ne!(workflow, SINGLE, "the identity fields were added");
    let item = publish(&w, FOOD_RENEWAL, &workflow).await;
    let someone_else = resident_id("11010519491231002");
    let mut form = food_form(&w);
    form.insert("applicant_name".to_owned(), "李四".to_owned());
    form.insert("resident_id".to_owned(), someone_else.clone());
    form.insert("mobile".to_owned(), "13900000000".to_owned());
    form.insert("contact_id".to_owned(), someone_else.clone());
    let app = application(&mut w, item, form).await;
    let case = w
        .cases
        .apply(&w.applicant, &app, &origin(), &mut w.rng)
        .await
        .unwrap();
    let mine = w
        .cases
        .view(&w.applicant, case.id, &origin())
        .await
        .unwrap();
    let answer = |label: &str| {
        mine.answers
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(answer("申请人姓名"), "张晓明");
    assert_eq!(answer("公民身份号码"), w.applicant_id);
    assert_eq!(answer("联系电话"), "13800138001");
    assert_eq!(answer("联系人身份证号"), w.applicant_id);
    assert!(
        !mine
            .answers
            .iter()
            .any(|(_, v)| v == &someone_else || v == "李四"),
        "nothing typed for the identity fields was kept"
    );

    // Drafts are bound the same way, and leaving the fields out is no problem.
    let mut sparse = food_form(&w);
    sparse.remove("contact_id");
    let draft_app = application(&mut w, item, sparse).await;
    let draft = w
        .cases
        .create_draft(&w.applicant, &draft_app, &mut w.rng)
        .await
        .unwrap();
    let submitted = w
        .cases
        .submit(&w.applicant, draft, &origin(), &mut w.rng)
        .await
        .unwrap();
    let view = w
        .cases
        .view(&w.applicant, submitted.id, &origin())
        .await
        .unwrap();
    assert!(
        view.answers
            .iter()
            .any(|(l, v)| l == "公民身份号码" && v == &w.applicant_id)
    );
}
