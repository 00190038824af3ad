//! Shared set-up: the Hefei organisation, an instant item concluded on acceptance, a hall with one
//! window, people and staff, and helpers that count what was written.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_appointments::model::{
    Audience, GroupKind, Lane, NewCategory, NewGroup, NewResource, ResourceId, TicketRequest,
};
use yiwang_appointments::{Appointments, AppointmentsConfig, Origin as ApptOrigin};
use yiwang_cases::files::derive_material_key;
use yiwang_cases::model::{Act, ActInput, CaseStatus};
use yiwang_cases::workflow::StepAction;
use yiwang_cases::{Application, Cases, DeadlinePolicy, Deadlines, FileStore, Origin, WorkflowDef};
use yiwang_catalog::transfer::Format;
use yiwang_catalog::{Catalog, Origin as CatalogOrigin};
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{
    ClientMeta, NewStaff, PersonId, PostInput, RawDepartment, RawNewStaff, RawRegion,
    RawRegistration, Registration,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_identity::{Accounts, OrgData, SessionPolicy};
use yiwang_kernel::{
    ErrorCode, RegionCode, SharedClock, TestClock, WorkCalendar, china_local_to_utc,
};
use yiwang_ratings::model::{EventKind, EventRef, NewRating};
use yiwang_ratings::{Ratings, RatingsConfig};

const REGIONS: &str = include_str!("../../../demo/data/regions.json");
const DEPARTMENTS: &str = include_str!("../../../demo/data/departments.json");
const ITEMS: &str = include_str!("../../../demo/data/catalog/items.json");
/// 补领婚姻登记证 (合肥市民政局; made an instant item here).
const MARRIAGE_CERT: &str = "07010000100334010011340100MB6481191H";
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff";
const LINK_KEY: &[u8] = b"rating-link-key-for-tests-000000";
const PASSWORD: &str = "Ratings#2026ok";

pub fn local(m: u32, d: u32, h: u32) -> DateTime<Utc> {
    china_local_to_utc(
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap(),
    )
}

pub fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

pub fn meta() -> ClientMeta {
    ClientMeta {
        ip: "test".to_owned(),
        user_agent: "test".to_owned(),
    }
}

pub fn resident_id(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = "10X98765432".chars().nth((sum % 11) as usize).unwrap();
    format!("{first17}{check}")
}

pub struct World {
    pub ratings: Ratings,
    pub cases: Cases,
    pub appts: Appointments,
    pub clock: TestClock,
    pub accounts: Accounts,
    pub rng: StdRng,
    pub item: yiwang_catalog::model::ItemId,
    /// 张晓明, 13800138001
    pub applicant: Principal,
    pub other: Principal,
    /// 合肥市民政局: window clerk, department administrator.
    pub clerk: Principal,
    pub admin: Principal,
    /// 合肥市市场监督管理局: a handler of another department.
    pub stranger: Principal,
    /// 合肥市数据资源局 supervisor over 340100.
    pub supervisor: Principal,
    /// 合肥市民政局 staff who is both department administrator and supervisor.
    pub admin_supervisor: Principal,
    pub window: ResourceId,
    pub hall: yiwang_appointments::model::GroupId,
    pub next_person: u32,
    pub _files: tempfile::TempDir,
}

pub async fn staff(
    accounts: &Accounts,
    dept: &str,
    no: &str,
    name: &str,
    roles: &[&str],
    posts: &[&str],
    rng: &mut StdRng,
) -> Principal {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1000);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 9000 + 1000;
    let mobile = format!("1390000{n}");
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: name.to_owned(),
        mobile,
        password: PASSWORD.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        posts: posts.iter().map(|p| (*p).to_owned()).collect(),
    })
    .unwrap();
    let s = accounts
        .create_staff(&Principal::System, "system:test", dept, &new, &meta(), rng)
        .await
        .unwrap();
    Principal::Staff(StaffPrincipal {
        id: s.id,
        public_id: s.public_id,
        department: s.department_id,
        region: RegionCode::parse(&s.region_code).unwrap(),
        roles: s.roles,
    })
}

pub async fn register(w: &mut World, name: &str) -> Principal {
    w.next_person += 1;
    let n = w.next_person;
    let reg = Registration::parse(&RawRegistration {
        name: name.to_owned(),
        resident_id: resident_id(&format!("34010419900301{:03}", 100 + n)),
        mobile: format!("1380013{:04}", 8000 + n),
        password: PASSWORD.to_owned(),
    })
    .unwrap();
    let p = w
        .accounts
        .register_person(&reg, &meta(), &mut w.rng)
        .await
        .unwrap();
    Principal::Person(p.id)
}

pub async fn world(t: &TestDb, start: DateTime<Utc>) -> World {
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
    // Only the one item the tests apply for.
    let items: Vec<serde_json::Value> = serde_json::from_str(ITEMS).unwrap();
    let one: Vec<&serde_json::Value> = items
        .iter()
        .filter(|i| i["impl_code"] == MARRIAGE_CERT)
        .collect();
    catalog
        .import(
            &Principal::System,
            Format::Json,
            serde_json::to_string(&one).unwrap().as_bytes(),
            &CatalogOrigin::default(),
        )
        .await
        .unwrap();
    let pii = Arc::new(PiiProtector::from_hex(MASTER_KEY).unwrap());
    let accounts = Accounts::new(
        t.db.clone(),
        shared.clone(),
        pii.clone(),
        PasswordCost::TEST,
        SessionPolicy::default(),
    )
    .unwrap();
    accounts
        .create_post(
            &Principal::System,
            "system:test",
            "hf-mzj",
            &PostInput {
                code: "window".to_owned(),
                name: "婚姻登记窗口".to_owned(),
                duties: "婚姻登记窗口职责".to_owned(),
            },
            &meta(),
        )
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(15);
    let r = &mut rng;
    let a = &accounts;
    let clerk = staff(
        a,
        "hf-mzj",
        "MZ0101",
        "周海燕",
        &["window_staff"],
        &["window"],
        r,
    )
    .await;
    let admin = staff(
        a,
        "hf-mzj",
        "MZ0001",
        "吴志强",
        &["department_admin"],
        &[],
        r,
    )
    .await;
    let stranger = staff(a, "hf-scjgj", "SC0101", "王芳", &["window_staff"], &[], r).await;
    let supervisor = staff(a, "hf-sjzyj", "SV0001", "何雪梅", &["supervisor"], &[], r).await;
    let admin_supervisor = staff(
        a,
        "hf-mzj",
        "MZ0002",
        "陈静",
        &["department_admin", "supervisor"],
        &[],
        r,
    )
    .await;
    let files = tempfile::tempdir().unwrap();
    let cases = Cases::new(
        t.db.clone(),
        shared.clone(),
        catalog.clone(),
        Deadlines::new(WorkCalendar::builtin(), DeadlinePolicy::default()),
        pii.clone(),
        FileStore::local(
            files.path(),
            1024 * 1024,
            derive_material_key(MASTER_KEY).unwrap(),
        )
        .unwrap(),
        "01",
    );
    let item = catalog.item_by_impl_code(MARRIAGE_CERT).await.unwrap().id;
    cases
        .publish_workflow(
            &Principal::System,
            item,
            &WorkflowDef::from_toml(
                "instant = true\n[[steps]]\nid = \"accept\"\nname = \"受理即办\"\nkind = \"intake\"\npost = \"hf-mzj/window\"\n",
            )
            .unwrap(),
            &Origin::default(),
        )
        .await
        .unwrap();
    let calendar = Arc::new(WorkCalendar::builtin());
    let appts = Appointments::new(
        t.db.clone(),
        shared.clone(),
        calendar.clone(),
        AppointmentsConfig::default(),
    );
    let dept = yiwang_identity::service::department(&t.db, "hf-mzj")
        .await
        .unwrap();
    let origin = ApptOrigin::new("test");
    let group = appts
        .create_group(
            &Principal::System,
            &dept,
            &NewGroup {
                code: "hf-mz-hall".to_owned(),
                kind: GroupKind::Hall,
                name: "合肥市民政服务大厅".to_owned(),
                address: "合肥市政务中心".to_owned(),
                policy: None,
            },
            &origin,
        )
        .await
        .unwrap();
    appts
        .add_category(
            &Principal::System,
            group.id,
            &NewCategory {
                code: "hy".to_owned(),
                name: "婚姻登记".to_owned(),
                audience: Audience::Personal,
                theme: "hy".to_owned(),
                prefix: "A".to_owned(),
            },
            &origin,
        )
        .await
        .unwrap();
    let window = appts
        .add_resource(
            &Principal::System,
            group.id,
            &NewResource {
                code: "w1".to_owned(),
                name: "1号窗口".to_owned(),
                categories: vec!["hy".to_owned()],
                ..NewResource::default()
            },
            &origin,
        )
        .await
        .unwrap();
    let ratings = Ratings::new(
        t.db.clone(),
        shared,
        calendar,
        pii,
        RatingsConfig::new(LINK_KEY.to_vec()),
    );
    let mut w = World {
        ratings,
        cases,
        appts,
        clock,
        accounts,
        rng,
        item,
        applicant: Principal::Anonymous,
        other: Principal::Anonymous,
        clerk,
        admin,
        stranger,
        supervisor,
        admin_supervisor,
        window: window.id,
        hall: group.id,
        next_person: 0,
        _files: files,
    };
    w.applicant = register(&mut w, "张晓明").await;
    w.other = register(&mut w, "李娜").await;
    w
}

/// A case of the applicant, concluded on acceptance (an instant item); `accept = false` leaves it
/// submitted.
pub async fn case(w: &mut World, who: &Principal, accept: bool) -> EventRef {
    let (guide, _) = w.cases.application_form(w.item).await.unwrap();
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
                who,
                None,
                &format!("{}.pdf", m.name),
                Bytes::from(format!("%PDF-1.7 {}", m.name)),
                &mut w.rng,
            )
            .await
            .unwrap();
        materials.push((m.name.clone(), file.public_id));
    }
    let app = Application {
        item: Some(w.item),
        enterprise: None,
        answers: BTreeMap::new(),
        contact_email: String::new(),
        commitment_signed: false,
        materials,
    };
    let case = w
        .cases
        .apply(who, &app, &Origin::default(), &mut w.rng)
        .await
        .unwrap();
    if accept {
        let view = w
            .cases
            .view(&w.clerk, case.id, &Origin::default())
            .await
            .unwrap();
        let task = view
            .tasks
            .iter()
            .find(|t| t.step_id == "accept")
            .unwrap()
            .id;
        let done = w
            .cases
            .act(
                &w.clerk,
                task,
                &Act::Step(StepAction::Accept),
                &ActInput::default(),
                &Origin::default(),
            )
            .await
            .unwrap();
        assert_eq!(done.status, CaseStatus::Concluded);
    }
    EventRef {
        kind: EventKind::Case,
        id: case.id.get(),
    }
}

/// A ticket taken by `who` and served at the window.
pub async fn ticket(w: &World, who: &Principal) -> EventRef {
    let origin = ApptOrigin::new("test");
    let taken = w
        .appts
        .take_ticket(
            who,
            w.hall,
            &TicketRequest {
                category: "hy".to_owned(),
                lane: Lane::Normal,
                person: None::<PersonId>,
            },
            &origin,
        )
        .await
        .unwrap();
    let called = w
        .appts
        .call_next(&w.clerk, w.window, &origin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(called.ticket.id, taken.ticket.id);
    w.appts
        .finish(&w.clerk, taken.ticket.id, &origin)
        .await
        .unwrap();
    EventRef {
        kind: EventKind::Ticket,
        id: taken.ticket.id.get(),
    }
}

pub fn rating(event: EventRef, level: u8, tags: &[&str], text: &str) -> NewRating {
    NewRating {
        event,
        level,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        text: text.to_owned(),
    }
}

pub async fn count(t: &TestDb, sql: &str) -> i64 {
    use yiwang_db::ConnectionTrait;
    let conn = t.db.conn();
    conn.query_one_raw(yiwang_db::stmt(conn, sql, []))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

/// Rows that any rating use case writes, summed: a refusal must leave this unchanged.
pub async fn written(t: &TestDb) -> i64 {
    count(
        t,
        "SELECT (SELECT COUNT(*) FROM ratings) + (SELECT COUNT(*) FROM rating_rectifications)
             + (SELECT COUNT(*) FROM audit_log) + (SELECT COUNT(*) FROM jobs)
             + (SELECT COUNT(*) FROM rating_used_tokens) + (SELECT COUNT(*) FROM urgings) AS n",
    )
    .await
}

pub fn code<T: std::fmt::Debug>(r: Result<T, yiwang_ratings::RatingError>) -> &'static str {
    r.unwrap_err().code()
}
