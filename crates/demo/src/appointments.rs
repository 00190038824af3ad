//! Demo appointments and queue: 康巴什区政务服务大厅 with its windows and queue categories, and the
//! clinics of 康巴什区人民医院 with their doctors, opening hours and slots for the coming two weeks on
//! the working-day calendar; staff to set them up and work them; a few bookings and queue tickets so
//! the pages are not empty. Idempotent: what exists is left alone (slot generation only fills gaps,
//! bookings and tickets are made only where none exist that day).

use std::sync::Arc;

use chrono::NaiveTime;
use yiwang_appointments::model::{
    Audience, BookRequest, DayRule, GroupKind, Lane, NewCategory, NewGroup, NewResource, Period,
    Schedule, TicketRequest,
};
use yiwang_appointments::{AppointmentError, Appointments, AppointmentsConfig, Origin};
use yiwang_db::Db;
use yiwang_identity::model::{ClientMeta, NewStaff, PostInput, RawNewStaff};
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, IdentityError};
use yiwang_kernel::{SharedClock, WorkCalendar};

use crate::org::{DEMO_LOGINS, DEMO_PASSWORD, DemoStaff};

/// The hall's code (its kiosk is `/halls/kbs-zwfw/kiosk`).
pub const HALL_CODE: &str = "kbs-zwfw";
const HALL_DEPARTMENT: &str = "kbs-zwsj";
const HOSPITAL_DEPARTMENT: &str = "kbs-rmyy";
/// Days ahead slots are generated for.
const SLOT_DAYS: u32 = 14;

/// Queue categories of the hall: (code, name, audience, theme, ticket prefix).
const HALL_CATEGORIES: &[(&str, &str, Audience, &str, &str)] = &[
    ("zonghe", "综合受理", Audience::Personal, "综合服务", "A"),
    ("huji", "户籍与证件", Audience::Personal, "公安服务", "B"),
    (
        "budongchan",
        "不动产登记",
        Audience::Personal,
        "住房与不动产",
        "C",
    ),
    (
        "gongjijin",
        "住房公积金",
        Audience::Personal,
        "住房与不动产",
        "D",
    ),
    ("shebao", "社保医保", Audience::Personal, "社会保障", "E"),
    (
        "qiye-kaiban",
        "企业开办",
        Audience::Enterprise,
        "市场准入",
        "F",
    ),
    ("shuiwu", "税务办理", Audience::Enterprise, "涉税服务", "G"),
    (
        "gongcheng",
        "工程建设项目审批",
        Audience::Enterprise,
        "投资建设",
        "H",
    ),
];

/// Service items of the 综合受理 windows (implementation codes of the demo catalog).
const GENERAL_ITEMS: &[&str] = &[
    "20180000100015060311150603MB97657047", // 政务服务帮办代办
    "05010000200015060311150603MB0372023E", // 最低生活保障审核确认
    "05010000400015060311150603MB0372023E", // 临时救助
];
const ID_ITEMS: &[&str] = &[
    "07020000400115060311150603MB2394023Q", // 居民身份证换领
    "07020000300115060311150603MB2394023Q", // 居住证申领
    "07020000200115060311150603MB2394023Q", // 户口迁移（区内迁移）
];
const BUSINESS_ITEMS: &[&str] = &[
    "01120000100115060311150603MB5115640A", // 企业设立登记
    "01120000200015060311150603MB5115640A", // 个体工商户设立登记
    "01120000300115060311150603MB5115640A", // 食品经营许可（新办）
];

/// The hall's windows: (code, name, items, queue categories).
const HALL_WINDOWS: &[(&str, &str, &[&str], &[&str])] = &[
    ("w01", "1号窗口 综合受理", GENERAL_ITEMS, &["zonghe"]),
    ("w02", "2号窗口 综合受理", ID_ITEMS, &["zonghe", "huji"]),
    ("w03", "3号窗口 不动产登记", &[], &["budongchan"]),
    ("w04", "4号窗口 社保医保", &[], &["shebao"]),
    ("w05", "5号窗口 住房公积金", &[], &["gongjijin"]),
    ("w06", "6号窗口 税务办理", &[], &["shuiwu"]),
    ("w07", "7号窗口 企业开办", BUSINESS_ITEMS, &["qiye-kaiban"]),
    ("w08", "8号窗口 工程建设", &[], &["gongcheng"]),
];

/// A clinic of the hospital: (group code, name, doctors as (code, name, title · specialty, mornings
/// only)).
type Clinic = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str, &'static str, bool)],
);

const CLINICS: &[Clinic] = &[
    (
        "kbs-rmyy-nk",
        "内科",
        &[
            ("wangjh", "王建华", "主任医师 · 心血管内科", false),
            ("liusf", "刘淑芬", "副主任医师 · 消化内科", false),
            ("zhanghl", "张海龙", "主治医师 · 呼吸内科", true),
        ],
    ),
    (
        "kbs-rmyy-wk",
        "外科",
        &[
            ("chenzg", "陈志刚", "主任医师 · 普通外科", true),
            ("zhaoym", "赵永明", "副主任医师 · 骨科", false),
            ("bater", "巴特尔", "主治医师 · 泌尿外科", false),
        ],
    ),
    (
        "kbs-rmyy-ek",
        "儿科",
        &[
            ("lixl", "李秀兰", "主任医师 · 小儿呼吸", false),
            ("sunln", "孙丽娜", "主治医师 · 儿童保健", false),
        ],
    ),
    (
        "kbs-rmyy-fck",
        "妇产科",
        &[
            ("zhouhm", "周红梅", "主任医师 · 产科", true),
            ("guoxy", "郭晓燕", "副主任医师 · 妇科", false),
            ("saren", "萨仁", "主治医师 · 妇科内分泌", false),
        ],
    ),
    (
        "kbs-rmyy-kqk",
        "口腔科",
        &[
            ("wub", "吴斌", "副主任医师 · 口腔修复", false),
            ("mal", "马琳", "主治医师 · 牙体牙髓", false),
        ],
    ),
    (
        "kbs-rmyy-yk",
        "眼科",
        &[
            ("gaozy", "高振宇", "主任医师 · 白内障与青光眼", true),
            ("wulan", "乌兰", "主治医师 · 眼视光", false),
        ],
    ),
];

/// Posts created for the appointment demo: (department, code, name, duties).
const POSTS: &[(&str, &str, &str, &str)] = &[(
    HOSPITAL_DEPARTMENT,
    "outpatient-triage",
    "门诊导诊岗",
    "门诊分诊导诊，签到叫号，维护候诊秩序",
)];

/// Staff who set up and work the demo hall and clinics.
pub const DEMO_APPOINTMENT_STAFF: &[DemoStaff] = &[
    DemoStaff {
        role: "hall admin",
        department: HALL_DEPARTMENT,
        employee_no: "KB0001",
        name: "高志远",
        mobile: "13900000701",
        roles: &["department_admin"],
        posts: &[],
    },
    DemoStaff {
        role: "hospital admin",
        department: HOSPITAL_DEPARTMENT,
        employee_no: "YY0001",
        name: "李海燕",
        mobile: "13900000601",
        roles: &["department_admin"],
        posts: &[],
    },
    DemoStaff {
        role: "clinic desk",
        department: HOSPITAL_DEPARTMENT,
        employee_no: "YY0101",
        name: "白音那木拉",
        mobile: "13900000602",
        roles: &["window_staff"],
        posts: &["outpatient-triage"],
    },
];

/// The employee number of the demo's hall window staff (created by [`crate::org`]).
const HALL_WINDOW_STAFF: &str = "KB0101";

/// What loading the appointment demo did.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppointmentsReport {
    pub groups_created: usize,
    pub resources_created: usize,
    pub slots_created: usize,
    pub staff_created: usize,
    pub bookings_created: usize,
    pub tickets_taken: usize,
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// A doctor's clinic hours: working-day mornings (and afternoons), 20-minute slots of 3 patients.
fn clinic_hours(mornings_only: bool) -> Schedule {
    let mut periods = vec![Period {
        start: time(8, 0),
        end: time(12, 0),
    }];
    if !mornings_only {
        periods.push(Period {
            start: time(14, 30),
            end: time(17, 30),
        });
    }
    Schedule {
        days: DayRule::WorkingDays,
        periods,
        slot_minutes: 20,
        capacity: 3,
        valid_from: None,
        valid_until: None,
    }
}

struct Loader<'a> {
    service: Appointments,
    accounts: &'a Accounts,
    db: &'a Db,
    origin: Origin,
    meta: ClientMeta,
    report: AppointmentsReport,
}

/// Load (or complete) the appointment demo.
pub async fn load(
    db: &Db,
    clock: &SharedClock,
    accounts: &Accounts,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<AppointmentsReport> {
    let service = Appointments::new(
        db.clone(),
        clock.clone(),
        Arc::new(WorkCalendar::builtin()),
        AppointmentsConfig::default(),
    );
    let mut loader = Loader {
        service,
        accounts,
        db,
        origin: Origin::new("demo"),
        meta: ClientMeta {
            ip: "demo".to_owned(),
            user_agent: String::new(),
        },
        report: AppointmentsReport::default(),
    };
    loader.staff(rng).await?;
    loader.hall().await?;
    for clinic in CLINICS {
        loader.clinic(clinic).await?;
    }
    loader.bookings(rng).await?;
    loader.tickets(rng).await?;
    Ok(loader.report)
}

impl Loader<'_> {
    async fn staff(&mut self, rng: &mut rand::rngs::StdRng) -> anyhow::Result<()> {
        let system = Principal::System;
        for (department, code, name, duties) in POSTS {
            let input = PostInput {
                code: (*code).to_owned(),
                name: (*name).to_owned(),
                duties: (*duties).to_owned(),
            };
            match self
                .accounts
                .create_post(&system, "system:demo", department, &input, &self.meta)
                .await
            {
                Ok(_) | Err(IdentityError::Duplicate { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        for staff in DEMO_APPOINTMENT_STAFF {
            let raw = RawNewStaff {
                employee_no: staff.employee_no.to_owned(),
                name: staff.name.to_owned(),
                mobile: staff.mobile.to_owned(),
                password: DEMO_PASSWORD.to_owned(),
                roles: staff.roles.iter().map(|r| (*r).to_owned()).collect(),
                posts: staff.posts.iter().map(|p| (*p).to_owned()).collect(),
            };
            let new = NewStaff::parse(&raw).map_err(|errors| {
                anyhow::anyhow!("demo staff {} is invalid: {errors:?}", staff.name)
            })?;
            match self
                .accounts
                .create_staff(
                    &system,
                    "system:demo",
                    staff.department,
                    &new,
                    &self.meta,
                    rng,
                )
                .await
            {
                Ok(_) => self.report.staff_created += 1,
                Err(IdentityError::Duplicate { .. }) => {}
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// The group with `code`, created under `department` when missing.
    async fn group(
        &mut self,
        department: &str,
        code: &str,
        kind: GroupKind,
        name: &str,
        address: &str,
    ) -> anyhow::Result<yiwang_appointments::model::Group> {
        match self.service.group_by_code(code).await {
            Ok(group) => return Ok(group),
            Err(AppointmentError::GroupNotFound) => {}
            Err(other) => return Err(other.into()),
        }
        let department = yiwang_identity::service::department(self.db, department).await?;
        let group = self
            .service
            .create_group(
                &Principal::System,
                &department,
                &NewGroup {
                    code: code.to_owned(),
                    kind,
                    name: name.to_owned(),
                    address: address.to_owned(),
                    policy: None,
                },
                &self.origin,
            )
            .await?;
        self.report.groups_created += 1;
        Ok(group)
    }

    /// Add the resource when its code is new, and give it `schedule` when it has none.
    async fn resource(
        &mut self,
        group: &yiwang_appointments::model::Group,
        new: NewResource,
        schedule: &Schedule,
    ) -> anyhow::Result<()> {
        let existing = self
            .service
            .resources(group.id)
            .await?
            .into_iter()
            .find(|r| r.code == new.code);
        let resource = if let Some(resource) = existing {
            resource
        } else {
            self.report.resources_created += 1;
            self.service
                .add_resource(&Principal::System, group.id, &new, &self.origin)
                .await?
        };
        if resource.schedule.is_none() {
            self.service
                .set_schedule(
                    &Principal::System,
                    resource.id,
                    Some(schedule),
                    &self.origin,
                )
                .await?;
        }
        Ok(())
    }

    async fn categories(
        &mut self,
        group: &yiwang_appointments::model::Group,
        categories: &[(&str, &str, Audience, &str, &str)],
    ) -> anyhow::Result<()> {
        let existing = self.service.categories(group.id).await?;
        for (code, name, audience, theme, prefix) in categories {
            if existing.iter().any(|c| c.code == *code) {
                continue;
            }
            self.service
                .add_category(
                    &Principal::System,
                    group.id,
                    &NewCategory {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        audience: *audience,
                        theme: (*theme).to_owned(),
                        prefix: (*prefix).to_owned(),
                    },
                    &self.origin,
                )
                .await?;
        }
        Ok(())
    }

    async fn hall(&mut self) -> anyhow::Result<()> {
        let group = self
            .group(
                HALL_DEPARTMENT,
                HALL_CODE,
                GroupKind::Hall,
                "康巴什区政务服务大厅",
                "内蒙古自治区鄂尔多斯市康巴什区市民中心政务服务大厅一层",
            )
            .await?;
        self.categories(&group, HALL_CATEGORIES).await?;
        let hours = Schedule::office_hours(30, 2);
        for (code, name, items, categories) in HALL_WINDOWS {
            let new = NewResource {
                code: (*code).to_owned(),
                kind: None,
                name: (*name).to_owned(),
                title: String::new(),
                items: items.iter().map(|i| (*i).to_owned()).collect(),
                categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            };
            self.resource(&group, new, &hours).await?;
        }
        self.report.slots_created += self
            .service
            .generate_slots(&Principal::System, group.id, SLOT_DAYS, &self.origin)
            .await?;
        Ok(())
    }

    async fn clinic(&mut self, (code, name, doctors): &Clinic) -> anyhow::Result<()> {
        let group = self
            .group(
                HOSPITAL_DEPARTMENT,
                code,
                GroupKind::HospitalDepartment,
                name,
                "内蒙古自治区鄂尔多斯市康巴什区人民医院门诊楼",
            )
            .await?;
        self.categories(
            &group,
            &[("menzhen", "门诊", Audience::Personal, "门诊", "M")],
        )
        .await?;
        for (doctor, doctor_name, title, mornings_only) in *doctors {
            let new = NewResource {
                code: (*doctor).to_owned(),
                kind: None,
                name: (*doctor_name).to_owned(),
                title: (*title).to_owned(),
                items: Vec::new(),
                categories: vec!["menzhen".to_owned()],
            };
            self.resource(&group, new, &clinic_hours(*mornings_only))
                .await?;
        }
        self.report.slots_created += self
            .service
            .generate_slots(&Principal::System, group.id, SLOT_DAYS, &self.origin)
            .await?;
        Ok(())
    }

    /// A booking for each demo citizen on the first day with places: 王丽华 at the hall's social
    /// security window, 张晓明 with a physician. Skipped when the group already has bookings that day.
    async fn bookings(&mut self, rng: &mut rand::rngs::StdRng) -> anyhow::Result<()> {
        let plans = [
            (DEMO_LOGINS[1].mobile, HALL_CODE, "w04"),
            (DEMO_LOGINS[0].mobile, "kbs-rmyy-nk", "wangjh"),
        ];
        let today = self.service.today();
        for (mobile, group_code, resource_code) in plans {
            let group = self.service.group_by_code(group_code).await?;
            let slots = self
                .service
                .available_slots(group.id, today, today + chrono::Duration::days(14))
                .await?;
            let Some(slot) = slots
                .iter()
                .find(|s| s.resource_code == resource_code && s.slot.remaining() > 0)
            else {
                continue;
            };
            let booked = self
                .service
                .day_bookings(&Principal::System, group.id, slot.slot.day)
                .await?;
            if !booked.is_empty() {
                continue;
            }
            let person = self
                .accounts
                .login(mobile, DEMO_PASSWORD, &self.meta, rng)
                .await?;
            let principal = self.accounts.principal(Some(&person.session)).await?;
            let request = BookRequest {
                slot: Some(slot.slot.id),
                item_code: None,
                idempotency_key: Some(format!("demo-{group_code}-{}", slot.slot.day)),
            };
            match self
                .service
                .book(&principal, &request, &self.origin, rng)
                .await
            {
                Ok(_) => self.report.bookings_created += 1,
                Err(AppointmentError::AlreadyBookedThatDay) => {}
                Err(other) => return Err(other.into()),
            }
            self.accounts.logout(&person.session, &self.meta).await?;
        }
        Ok(())
    }

    /// On a working day with no tickets yet: a few visitors take tickets and two windows call.
    async fn tickets(&mut self, rng: &mut rand::rngs::StdRng) -> anyhow::Result<()> {
        let today = self.service.today();
        if !WorkCalendar::builtin().is_working_day(today) {
            return Ok(());
        }
        let group = self.service.group_by_code(HALL_CODE).await?;
        let stats = self
            .service
            .daily_stats(&Principal::System, group.id, today)
            .await?;
        if !stats.by_category.is_empty() {
            return Ok(());
        }
        for category in [
            "zonghe",
            "shebao",
            "zonghe",
            "qiye-kaiban",
            "budongchan",
            "shebao",
            "zonghe",
        ] {
            self.service
                .take_ticket(
                    &Principal::Anonymous,
                    group.id,
                    &TicketRequest {
                        category: category.to_owned(),
                        lane: Lane::Normal,
                        person: None,
                    },
                    &self.origin,
                )
                .await?;
            self.report.tickets_taken += 1;
        }
        let clerk = self
            .accounts
            .staff_login(HALL_WINDOW_STAFF, DEMO_PASSWORD, &self.meta, rng)
            .await?;
        let principal = self.accounts.principal(Some(&clerk.session)).await?;
        let windows = self.service.resources(group.id).await?;
        for code in ["w01", "w04"] {
            if let Some(window) = windows.iter().find(|w| w.code == code) {
                self.service
                    .call_next(&principal, window.id, &self.origin)
                    .await?;
            }
        }
        self.accounts.logout(&clerk.session, &self.meta).await?;
        Ok(())
    }
}
