//! Shared set-up: the demo organisation, people, staff, a hospital department and a service hall.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_appointments::model::{
    Audience, DayRule, Group, GroupKind, NewCategory, NewGroup, NewResource, Period, Resource,
    ResourceKind, Schedule,
};
use yiwang_appointments::{Appointments, AppointmentsConfig, Notice, Notifier, Origin};
use yiwang_db::testing::TestDb;
use yiwang_db::{ConnectionTrait, Db, stmt};
use yiwang_identity::model::{PersonId, RawDepartment, RawRegion, Role, StaffId};
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_identity::repo::NewPersonRow;
use yiwang_identity::{Department, OrgData};
use yiwang_kernel::{SharedClock, TestClock, WorkCalendar, china_local_to_utc};

const REGIONS: &str = include_str!("../../../demo/data/regions.json");
const DEPARTMENTS: &str = include_str!("../../../demo/data/departments.json");

/// 2026-03-02 10:00 China time, a Monday.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).single().unwrap()
}

/// An instant in China time.
pub fn china(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    china_local_to_utc(
        NaiveDate::from_ymd_opt(2026, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap(),
    )
}

pub fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

pub fn origin() -> Origin {
    Origin::new("test")
}

pub struct Fixture {
    pub svc: Appointments,
    pub clock: TestClock,
    pub db: Db,
    pub rng: StdRng,
    /// 鄂尔多斯市康巴什区人民医院
    pub hospital: Department,
    /// 鄂尔多斯市康巴什区政务服务与数据管理局
    pub hall_dept: Department,
    pub next_person: usize,
}

pub fn service(db: &Db, clock: &TestClock) -> Appointments {
    let shared: SharedClock = Arc::new(clock.clone());
    Appointments::new(
        db.clone(),
        shared,
        Arc::new(WorkCalendar::builtin()),
        AppointmentsConfig::default(),
    )
}

pub async fn fixture(t: &TestDb) -> Fixture {
    let clock = TestClock::new(t0());
    let shared: SharedClock = Arc::new(clock.clone());
    let org = OrgData {
        regions: serde_json::from_str::<Vec<RawRegion>>(REGIONS).unwrap(),
        departments: serde_json::from_str::<Vec<RawDepartment>>(DEPARTMENTS).unwrap(),
    };
    let parsed = yiwang_identity::service::parse_org(&org).unwrap();
    yiwang_identity::service::load_org(&t.db, &shared, &parsed, "system:test")
        .await
        .unwrap();
    let hospital = yiwang_identity::service::department(&t.db, "kbs-rmyy")
        .await
        .unwrap();
    let hall_dept = yiwang_identity::service::department(&t.db, "kbs-zwsj")
        .await
        .unwrap();
    Fixture {
        svc: service(&t.db, &clock),
        clock,
        db: t.db.clone(),
        rng: StdRng::seed_from_u64(11),
        hospital,
        hall_dept,
        next_person: 0,
    }
}

/// `n` real-name persons, written straight through the identity repository (identifiers are
/// placeholders: appointments only needs the account).
pub async fn persons(f: &mut Fixture, n: usize) -> Vec<PersonId> {
    let tx = f.db.begin().await.unwrap();
    let mut ids = Vec::with_capacity(n);
    for i in f.next_person..f.next_person + n {
        let public_id = format!("p{i:08}");
        let rid = format!("rid-{i}");
        let mobile = format!("mobile-{i}");
        let id = yiwang_identity::repo::insert_person(
            &tx,
            &NewPersonRow {
                public_id: &public_id,
                name: "测试居民",
                resident_id_enc: "-",
                resident_id_index: &rid,
                resident_id_masked: "1501**********001X",
                mobile_enc: "-",
                mobile_index: &mobile,
                mobile_masked: "138****0000",
                password_hash: "-",
            },
            t0(),
        )
        .await
        .unwrap();
        ids.push(id);
    }
    tx.commit().await.unwrap();
    f.next_person += n;
    ids
}

pub async fn person(f: &mut Fixture) -> Principal {
    Principal::Person(persons(f, 1).await[0])
}

/// A staff member of `dept` with `roles` (the facts the policy decides on).
pub fn staff(dept: &Department, roles: &[Role], id: i64) -> Principal {
    Principal::Staff(StaffPrincipal {
        id: StaffId::new(id),
        public_id: format!("s{id}"),
        department: dept.id,
        region: dept.region_code.clone(),
        roles: roles.to_vec(),
    })
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// Every day 08:00–`until`, slots of 30 minutes with `capacity` places.
pub fn clinic_hours(until_h: u32, until_m: u32, capacity: u32) -> Schedule {
    Schedule {
        days: DayRule::EveryDay,
        periods: vec![Period {
            start: time(8, 0),
            end: time(until_h, until_m),
        }],
        slot_minutes: 30,
        capacity,
        valid_from: None,
        valid_until: None,
    }
}

/// A hospital department (内科, hospital defaults) with `doctors` doctors on `schedule`, slots
/// generated for 10 days.
pub async fn hospital(
    f: &Fixture,
    code: &str,
    doctors: usize,
    schedule: &Schedule,
) -> (Group, Vec<Resource>) {
    let svc = &f.svc;
    let group = svc
        .create_group(
            &Principal::System,
            &f.hospital,
            &NewGroup {
                code: code.to_owned(),
                kind: GroupKind::HospitalDepartment,
                name: "内科".to_owned(),
                address: "康巴什区人民医院门诊楼二层".to_owned(),
                policy: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    let mut resources = Vec::new();
    for i in 0..doctors {
        let doctor = svc
            .add_resource(
                &Principal::System,
                group.id,
                &NewResource {
                    code: format!("dr-{i}"),
                    kind: Some(ResourceKind::Doctor),
                    name: format!("医生{i}"),
                    title: "主治医师".to_owned(),
                    ..NewResource::default()
                },
                &origin(),
            )
            .await
            .unwrap();
        svc.set_schedule(&Principal::System, doctor.id, Some(schedule), &origin())
            .await
            .unwrap();
        resources.push(doctor);
    }
    svc.generate_slots(&Principal::System, group.id, 10, &origin())
        .await
        .unwrap();
    (group, resources)
}

/// A service hall with categories 户籍 (A, personal), 社保 (B, personal), 企业开办 (C, enterprise)
/// and windows w1 (户籍, 社保), w2 (企业开办), w3 (户籍), open on office hours with 2 places per
/// 30 minutes; slots generated for 10 days.
pub async fn hall(f: &Fixture) -> (Group, Vec<Resource>) {
    let svc = &f.svc;
    let sys = Principal::System;
    let group = svc
        .create_group(
            &sys,
            &f.hall_dept,
            &NewGroup {
                code: "kbs-hall".to_owned(),
                kind: GroupKind::Hall,
                name: "康巴什区政务服务大厅".to_owned(),
                address: "康巴什区市民中心一楼".to_owned(),
                policy: None,
            },
            &origin(),
        )
        .await
        .unwrap();
    for (code, name, audience, prefix) in [
        ("hj", "户籍", Audience::Personal, "A"),
        ("sb", "社保", Audience::Personal, "B"),
        ("qy", "企业开办", Audience::Enterprise, "C"),
    ] {
        svc.add_category(
            &sys,
            group.id,
            &NewCategory {
                code: code.to_owned(),
                name: name.to_owned(),
                audience,
                theme: code.to_owned(),
                prefix: prefix.to_owned(),
            },
            &origin(),
        )
        .await
        .unwrap();
    }
    let mut windows = Vec::new();
    for (code, categories) in [
        ("w1", vec!["hj", "sb"]),
        ("w2", vec!["qy"]),
        ("w3", vec!["hj"]),
    ] {
        let window = svc
            .add_resource(
                &sys,
                group.id,
                &NewResource {
                    code: code.to_owned(),
                    name: format!("{}号窗口", &code[1..]),
                    categories: categories.into_iter().map(str::to_owned).collect(),
                    items: vec!["11150603MB0000000X000010001".to_owned()],
                    ..NewResource::default()
                },
                &origin(),
            )
            .await
            .unwrap();
        svc.set_schedule(
            &sys,
            window.id,
            Some(&Schedule::office_hours(30, 2)),
            &origin(),
        )
        .await
        .unwrap();
        windows.push(window);
    }
    svc.generate_slots(&sys, group.id, 10, &origin())
        .await
        .unwrap();
    (group, windows)
}

/// A notifier that keeps what it was given.
#[derive(Debug, Default)]
pub struct Captured {
    pub notices: Mutex<Vec<Notice>>,
}

impl Notifier for Captured {
    fn notify<'a>(&'a self, notice: &'a Notice) -> yiwang_appointments::notify::NotifyFuture<'a> {
        Box::pin(async move {
            self.notices.lock().unwrap().push(notice.clone());
            Ok(())
        })
    }
}

/// One integer from a query (`SELECT … AS n`).
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(stmt(db.conn(), sql, []))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}
