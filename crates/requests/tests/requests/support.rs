//! Shared set-up: the Hefei organisation plus a community committee, a street office and a
//! district justice bureau in 瑶海区 (mediators), the category tree with its routing rules, people
//! and staff, and helpers that count what was written.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_db::testing::TestDb;
use yiwang_identity::model::{
    ClientMeta, DepartmentId, NewStaff, RawDepartment, RawNewStaff, RawRegion, RawRegistration,
    Registration, StaffId,
};
use yiwang_identity::password::PasswordCost;
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_identity::{Accounts, OrgData, SessionPolicy};
use yiwang_kernel::{
    ErrorCode, RegionCode, SharedClock, TestClock, Uscc, WorkCalendar, china_local_to_utc,
};
use yiwang_requests::model::{Channel, NewRequest, RequestKind, Urgency};
use yiwang_requests::{Request, RequestError, Requests, RequestsConfig};

const REGIONS: &str = include_str!("../../../demo/data/regions.json");
const DEPARTMENTS: &str = include_str!("../../../demo/data/departments.json");
const MASTER_KEY: &str = "00112233445566778899aabbccddeeff";
const PASSWORD: &str = "Requests#2026ok";

/// 瑶海区城东街道唐桥社区.
pub const COMMUNITY: &str = "340102010001";
/// 瑶海区城东街道.
pub const STREET: &str = "340102010000";
/// 瑶海区.
pub const DISTRICT: &str = "340102";
/// 隆岗村社区 (same street, another community).
pub const OTHER_COMMUNITY: &str = "340102010002";

pub fn local(m: u32, d: u32, h: u32) -> DateTime<Utc> {
    china_local_to_utc(
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap(),
    )
}

/// The last second of a China date: when a period ending that day expires.
pub fn end_of(m: u32, d: u32) -> DateTime<Utc> {
    local(m, d, 0) + Duration::seconds(86_399)
}

pub fn meta() -> ClientMeta {
    ClientMeta {
        ip: "test".to_owned(),
        user_agent: "test".to_owned(),
    }
}

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

pub struct World {
    pub requests: Requests,
    pub clock: TestClock,
    pub accounts: Accounts,
    pub rng: StdRng,
    /// 12345 operator of the city (合肥市数据资源局).
    pub operator: Principal,
    /// Supervisor over 340100.
    pub supervisor: Principal,
    /// 合肥市城市管理局 handler.
    pub cgj: Principal,
    /// 合肥市市场监督管理局 handler.
    pub scjgj: Principal,
    /// 合肥市自然资源和规划局 handler.
    pub zrzy: Principal,
    /// 合肥市司法局 handler (the petition office here).
    pub sfj: Principal,
    /// 唐桥社区 grid worker and mediator, 城东街道 mediator, 瑶海区司法局 mediator.
    pub grid: Principal,
    pub street: Principal,
    pub district: Principal,
    pub citizen: Principal,
    pub other_citizen: Principal,
    pub next_person: u32,
}

/// 唐桥社区 grid 1: a square whose centre is [`IN_GRID`]; grid 2 lies east of it.
pub const GRID_ONE: &str = r#"{"type":"Polygon","coordinates":[[[117.30,31.88],[117.32,31.88],[117.32,31.90],[117.30,31.90],[117.30,31.88]]]}"#;
pub const GRID_TWO: &str = r#"{"type":"Polygon","coordinates":[[[117.32,31.88],[117.34,31.88],[117.34,31.90],[117.32,31.90],[117.32,31.88]]]}"#;
pub const IN_GRID: (f64, f64) = (117.31, 31.89);
pub const IN_GRID_TWO: (f64, f64) = (117.33, 31.89);
pub const NO_GRID: (f64, f64) = (117.40, 31.89);

/// A staff member's id.
pub fn staff_id(who: &Principal) -> StaffId {
    match who {
        Principal::Staff(s) => s.id,
        _ => panic!("not staff"),
    }
}

/// A staff member's department.
pub fn dept(who: &Principal) -> DepartmentId {
    match who {
        Principal::Staff(s) => s.department,
        _ => panic!("not staff"),
    }
}

async fn staff(
    accounts: &Accounts,
    dept: &str,
    no: &str,
    name: &str,
    roles: &[&str],
    rng: &mut StdRng,
) -> Principal {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1000);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 9000 + 1000;
    let new = NewStaff::parse(&RawNewStaff {
        employee_no: no.into(),
        name: name.to_owned(),
        mobile: format!("1390000{n}"),
        password: PASSWORD.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        posts: Vec::new(),
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

fn local_department(code: &str, name: &str, org: &str) -> RawDepartment {
    RawDepartment {
        code: code.to_owned(),
        name: name.to_owned(),
        short_name: name.to_owned(),
        region: DISTRICT.to_owned(),
        uscc: Uscc::complete(&format!("11{DISTRICT}{org}"))
            .unwrap()
            .as_str()
            .to_owned(),
        kind: "government".to_owned(),
        former_names: Vec::new(),
        phone: String::new(),
        address: String::new(),
    }
}

pub async fn world(t: &TestDb, start: DateTime<Utc>) -> World {
    let clock = TestClock::new(start);
    let shared: SharedClock = Arc::new(clock.clone());
    let mut departments: Vec<RawDepartment> = serde_json::from_str(DEPARTMENTS).unwrap();
    departments.push(local_department(
        "yh-tq-sq",
        "唐桥社区居民委员会",
        "MB0000011",
    ));
    departments.push(local_department(
        "yh-cd-jd",
        "瑶海区城东街道办事处",
        "MB0000012",
    ));
    departments.push(local_department("yh-sfj", "瑶海区司法局", "MB0000013"));
    let org = OrgData {
        regions: serde_json::from_str::<Vec<RawRegion>>(REGIONS).unwrap(),
        departments,
    };
    let parsed = yiwang_identity::service::parse_org(&org).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &parsed, "system:test")
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
    let mut rng = StdRng::seed_from_u64(16);
    let r = &mut rng;
    let a = &accounts;
    let operator = staff(a, "hf-sjzyj", "HL0001", "孙丽", &["hotline_operator"], r).await;
    let supervisor = staff(a, "hf-sjzyj", "SV0001", "何雪梅", &["supervisor"], r).await;
    let cgj = staff(a, "hf-cgj", "CG0001", "刘强", &["window_staff"], r).await;
    let scjgj = staff(a, "hf-scjgj", "SC0001", "王芳", &["window_staff"], r).await;
    let zrzy = staff(a, "hf-zrzyghj", "ZR0001", "赵磊", &["approver"], r).await;
    let sfj = staff(a, "hf-sfj", "SF0001", "钱敏", &["window_staff"], r).await;
    let grid = staff(a, "yh-tq-sq", "TQ0001", "李娜", &["grid_worker"], r).await;
    let street = staff(a, "yh-cd-jd", "CD0001", "周涛", &["window_staff"], r).await;
    let district = staff(a, "yh-sfj", "YS0001", "郑洁", &["approver"], r).await;
    let requests = Requests::new(
        t.db.clone(),
        shared,
        Arc::new(WorkCalendar::builtin()),
        pii,
        RequestsConfig::default(),
    );
    let mut w = World {
        requests,
        clock,
        accounts,
        rng,
        operator,
        supervisor,
        cgj,
        scjgj,
        zrzy,
        sfj,
        grid,
        street,
        district,
        citizen: Principal::Anonymous,
        other_citizen: Principal::Anonymous,
        next_person: 0,
    };
    w.citizen = register(&mut w, "张晓明").await;
    w.other_citizen = register(&mut w, "李红").await;
    catalog(&w).await;
    w.requests
        .define_grid(
            &Principal::System,
            "TQ-01",
            "唐桥社区第一网格",
            COMMUNITY,
            GRID_ONE,
            Some(staff_id(&w.grid)),
            &[],
            "test",
        )
        .await
        .unwrap();
    w
}

/// The category tree and its rules: sanitation → 城管局 city-wide; food safety → 市场监管局;
/// planning → 自然资源和规划局; land petitions → 司法局; neighbour disputes mediated by the
/// community, the street and the district.
async fn catalog(w: &World) {
    let r = &w.requests;
    let sys = &Principal::System;
    for (code, name, parent) in [
        ("city", "城市管理", None),
        ("city.sanitation", "环境卫生", Some("city")),
        ("market", "市场监管", None),
        ("market.food", "食品安全", Some("market")),
        ("planning", "规划建设", None),
        ("petition", "信访事项", None),
        ("petition.land", "土地征收", Some("petition")),
        ("consult", "政策咨询", None),
        ("dispute", "矛盾纠纷", None),
        ("dispute.neighbour", "邻里纠纷", Some("dispute")),
    ] {
        r.define_category(sys, code, name, parent, "test")
            .await
            .unwrap();
    }
    for (category, region, who) in [
        ("city", "340100", &w.cgj),
        ("market", "340100", &w.scjgj),
        ("planning", "340100", &w.zrzy),
        ("consult", "340100", &w.cgj),
        ("petition", "340100", &w.sfj),
        ("dispute", COMMUNITY, &w.grid),
        ("dispute", STREET, &w.street),
        ("dispute", DISTRICT, &w.district),
    ] {
        r.set_route(sys, category, region, dept(who), "test")
            .await
            .unwrap();
    }
}

pub fn new_request(kind: RequestKind, category: &str, title: &str, body: &str) -> NewRequest {
    NewRequest {
        kind: Some(kind),
        category: category.to_owned(),
        region: COMMUNITY.to_owned(),
        urgency: Some(Urgency::Normal),
        title: title.to_owned(),
        body: body.to_owned(),
        location: "唐桥路12号".to_owned(),
        coordinates: Some(IN_GRID),
        contact_name: String::new(),
        contact_mobile: String::new(),
    }
}

/// A hotline call from 13912345678 about the rubbish in 唐桥社区.
pub fn rubbish_call() -> NewRequest {
    NewRequest {
        contact_name: "陈先生".to_owned(),
        contact_mobile: "13912345678".to_owned(),
        ..new_request(
            RequestKind::Complaint,
            "city.sanitation",
            "小区门口垃圾无人清运",
            "小区门口垃圾堆放三天无人清运，气味很大，请尽快处理",
        )
    }
}

pub async fn submit(w: &World, who: &Principal, channel: Channel, new: &NewRequest) -> Request {
    w.requests
        .submit(who, channel, new, "test")
        .await
        .unwrap()
        .request
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

pub async fn audits(t: &TestDb) -> i64 {
    count(t, "SELECT COUNT(*) AS n FROM audit_log").await
}

/// Rows that any request use case writes, summed: a refusal must leave this unchanged.
pub async fn written(t: &TestDb) -> i64 {
    count(
        t,
        "SELECT (SELECT COUNT(*) FROM requests) + (SELECT COUNT(*) FROM request_events)
             + (SELECT COUNT(*) FROM request_assignments) + (SELECT COUNT(*) FROM audit_log)
             + (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM request_mediations)
             + (SELECT COUNT(*) FROM request_petitions)
             + (SELECT COUNT(*) FROM request_petition_letters)
             + (SELECT COUNT(*) FROM request_grids) + (SELECT COUNT(*) FROM request_knowledge)
             + (SELECT COUNT(*) FROM request_agreements) AS n",
    )
    .await
}

/// The request's stored revision, to show a refusal left it untouched.
pub async fn revision(t: &TestDb, id: yiwang_requests::RequestId) -> i64 {
    count(
        t,
        &format!("SELECT revision AS n FROM requests WHERE id = {}", id.get()),
    )
    .await
}

pub fn code<T: std::fmt::Debug>(r: Result<T, RequestError>) -> &'static str {
    r.unwrap_err().code()
}
