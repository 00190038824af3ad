//! Demo cases (办件): a workflow for every demo item in service, the posts and staff those workflows
//! name, and about three hundred cases in every state a case can be in.
//!
//! Workflows are TOML files under `demo/workflows/`: defaults by item kind (a licence is accepted at the
//! window, examined by the section and decided by the leader in charge; confirmations and services are
//! accepted and then decided; 即办件 are decided on the spot), with the department filled in, and
//! showcase workflows of their own (parallel approval across two departments, several steps, a single
//! step, 告知承诺, 即办件).
//!
//! The cases are driven through the real engine, on a clock that replays the last seven weeks:
//! applicants apply (online, some at the counter), window staff accept, decline or ask for a
//! supplement, reviewers and deciders act, the window delivers, and the deadline sweep runs every
//! evening. History, audit entries and notification jobs are therefore what real use leaves behind, and
//! today's warning levels (none, yellow, red, overdue) all occur. Loading is idempotent: once the demo
//! citizen has cases, nothing more is added.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use yiwang_cases::model::{Act, ActInput, CaseId, SpecialKind, TaskStatus, Warning};
use yiwang_cases::repo::{CaseFilter, InboxFilter};
use yiwang_cases::workflow::{StepAction, StepKind};
use yiwang_cases::{Application, CaseError, Cases, Origin, WorkflowDef};
use yiwang_catalog::model::{
    AudienceType, CaseType, ItemContent, ItemId, ItemKind, ItemRecord, ItemStatus,
};
use yiwang_catalog::{Catalog, CatalogError};
use yiwang_db::Db;
use yiwang_db::jobs::{JobQueue, Worker};
use yiwang_identity::model::{
    ClientMeta, NewStaff, PersonId, RawNewStaff, RawRegistration, Registration,
};
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_identity::service::recovery::{Email, MessageSender, SendFuture, Sms};
use yiwang_identity::{Accounts, IdentityError};
use yiwang_kernel::{
    PageRequest, RegionCode, ResidentId, SharedClock, TestClock, TimeLimit, Uscc, WorkCalendar,
    china_date, china_local_to_utc,
};

use crate::config::Config;
use crate::demo::{DEMO_ENTERPRISE, DEMO_LOGINS, DEMO_PASSWORD, DEMO_STAFF};

const LICENCE: &str = include_str!("../demo/workflows/licence.toml");
const CONFIRM: &str = include_str!("../demo/workflows/confirm.toml");
const INSTANT: &str = include_str!("../demo/workflows/instant.toml");
const FORM_PERSON: &str = include_str!("../demo/workflows/form-person.toml");
const FORM_ENTERPRISE: &str = include_str!("../demo/workflows/form-enterprise.toml");

/// An item with a workflow of its own, shown off by the demo.
#[derive(Debug, Clone, Copy)]
pub struct Showcase {
    pub impl_code: &'static str,
    pub name: &'static str,
    /// What the workflow shows, for `yiwang demo`'s console.
    pub shows: &'static str,
    toml: &'static str,
}

/// 食品经营许可（新办）, 合肥市市场监督管理局.
pub const FOOD_NEW: &str = "01120000300134010011340100MB8434305B";
/// 医疗机构执业登记, 合肥市卫生健康委员会.
pub const CLINIC: &str = "01100000100034010011340100MB1424876Y";
/// 居民身份证换领, 合肥市公安局.
pub const ID_CARD: &str = "07020000400134010011340100MB20121871";
/// 补领婚姻登记证, 合肥市民政局.
pub const MARRIAGE_REISSUE: &str = "07010000100334010011340100MB6481191H";
/// 公共场所卫生许可, 合肥市卫生健康委员会.
pub const VENUE_HYGIENE: &str = "01100000400034010011340100MB1424876Y";

pub const SHOWCASES: &[Showcase] = &[
    Showcase {
        impl_code: FOOD_NEW,
        name: "食品经营许可（新办）",
        shows: "parallel approval: 市场监管 and 卫生健康 review at once, the decision waits for both",
        toml: include_str!("../demo/workflows/food-business-new.toml"),
    },
    Showcase {
        impl_code: CLINIC,
        name: "医疗机构执业登记",
        shows: "several steps: 材料审查 → 现场核查 → 审批决定",
        toml: include_str!("../demo/workflows/clinic-registration.toml"),
    },
    Showcase {
        impl_code: ID_CARD,
        name: "居民身份证换领",
        shows: "a single step after acceptance: 户籍审核签发",
        toml: include_str!("../demo/workflows/id-card-renewal.toml"),
    },
    Showcase {
        impl_code: VENUE_HYGIENE,
        name: "公共场所卫生许可",
        shows: "告知承诺: granted on acceptance, verified on site within 20 working days",
        toml: include_str!("../demo/workflows/public-venue-hygiene.toml"),
    },
    Showcase {
        impl_code: MARRIAGE_REISSUE,
        name: "补领婚姻登记证",
        shows: "即办件: decided and concluded at the window",
        toml: include_str!("../demo/workflows/marriage-certificate-reissue.toml"),
    },
];

/// The posts every department with demo items has: (code, name, duties).
pub const DEPARTMENT_POSTS: &[(&str, &str, &str)] = &[
    (
        "window",
        "窗口受理岗",
        "在政务服务大厅窗口接收申请材料，当场或者五个工作日内一次性告知需要补正的全部内容，出具受理或者不予受理凭证，送达办理结果",
    ),
    (
        "review",
        "业务审查岗",
        "审查申请材料，组织现场核查，提出审查意见；核查告知承诺的履行情况",
    ),
    (
        "approve",
        "审批决定岗",
        "分管负责人审核审查意见，依法作出准予或者不予的决定",
    ),
];

/// Employee-number prefixes of the departments with demo items (工号 = prefix + post + number).
const STAFF_PREFIXES: &[(&str, &str)] = &[
    ("hf-fgw", "FG"),
    ("hf-gaj", "GA"),
    ("hf-sfj", "SF"),
    ("hf-mzj", "MZ"),
    ("hf-czj", "CZ"),
    ("hf-cxjsj", "CX"),
    ("hf-fgj", "FJ"),
    ("hf-zrzyghj", "ZR"),
    ("hf-cgj", "CG"),
    ("hf-wjw", "WJ"),
    ("hf-swj", "SW"),
    ("hf-scjgj", "SC"),
    ("hf-yjglj", "YJ"),
    ("hf-sjzyj", "SJ"),
    ("hf-rsj", "RS"),
    ("hf-gjj", "GJ"),
    ("kbs-mzj", "KM"),
    ("kbs-gafj", "KG"),
    ("kbs-wjw", "KW"),
    ("kbs-scjgj", "KS"),
    ("kbs-rmyy", "KR"),
    ("kbs-zwsj", "KB"),
    ("eeds-zxyy", "EZ"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "姜", "崔", "钟", "汪", "方", "陶", "储", "江", "葛",
];
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "浩然", "子轩", "志强", "建华", "国栋", "海波",
    "文杰", "宇航", "俊杰", "明辉", "晨阳", "振宇", "立新", "家豪", "德胜", "守仁",
];
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "婷", "雪", "欣怡", "梓涵", "雨萱", "佳怡", "思琪", "晓燕",
    "丽娟", "慧敏", "秀英", "玉兰", "雅琴", "梦瑶", "春梅", "桂芳", "若曦", "文静",
];
/// Mongolian given names (often used without a surname), with whether the name is a man's.
const MONGOLIAN: &[(&str, bool)] = &[
    ("巴特尔", true),
    ("其其格", false),
    ("乌日娜", false),
    ("额尔敦", true),
    ("萨仁高娃", false),
    ("苏和", true),
    ("图雅", false),
    ("那顺", true),
    ("阿拉坦仓", true),
    ("哈斯", false),
    ("朝鲁", true),
    ("娜仁", false),
];
/// 合肥市 districts (region code, name) and roads in them.
const HEFEI_DISTRICTS: &[(&str, &str, &[&str])] = &[
    (
        "340102",
        "瑶海区",
        &["长江东路", "明光路", "铜陵路", "胜利路"],
    ),
    (
        "340103",
        "庐阳区",
        &["阜阳路", "蒙城路", "淮河路", "亳州路"],
    ),
    (
        "340104",
        "蜀山区",
        &["长江西路", "黄山路", "潜山路", "望江西路"],
    ),
    (
        "340111",
        "包河区",
        &["马鞍山路", "徽州大道", "芜湖路", "包河大道"],
    ),
];
const KANGBASHI_ROADS: &[&str] = &[
    "康和路",
    "乌兰木伦大街",
    "文化西路",
    "民族东路",
    "北区二街",
    "青春山路",
];
const KANGBASHI_COMMUNITIES: &[&str] = &["康城", "怡和", "春晖", "湖畔", "阳光", "碧水"];
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "158", "159", "177", "180", "181", "182", "183", "186", "187", "188", "189",
    "199",
];
const FIRM_WORDS_HEFEI: &[&str] = &[
    "徽韵",
    "庐州",
    "滨湖",
    "天鹅湖",
    "翡翠湖",
    "大蜀山",
    "巢湖",
    "逍遥津",
    "科学岛",
    "包公",
];
const FIRM_WORDS_KANGBASHI: &[&str] = &["康巴什", "乌兰木伦", "青春山", "哈巴格希", "草原明珠"];
/// Characters of the organisation code in a USCC (GB 32100: no I, O, Z, S, V).
const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const FIRM_TRADES: &[&str] = &[
    "餐饮管理",
    "食品",
    "商贸",
    "酒店管理",
    "医疗管理",
    "健康管理",
    "物业服务",
    "建设工程",
    "文化传媒",
    "科技",
];

/// What loading the demo cases did.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoCasesReport {
    pub workflows_published: usize,
    pub staff_created: usize,
    pub applicants_registered: usize,
    pub cases_created: usize,
}

/// The departments with demo items, in the order of the catalog file.
fn item_departments() -> anyhow::Result<Vec<String>> {
    let records: Vec<ItemRecord> = serde_json::from_str(crate::demo::CATALOG_ITEMS)?;
    let mut seen = HashSet::new();
    Ok(records
        .into_iter()
        .filter(|r| seen.insert(r.department.clone()))
        .map(|r| r.department)
        .collect())
}

/// The posts the default workflows name, for every department with demo items:
/// (department, code, name, duties).
pub fn department_posts() -> anyhow::Result<Vec<(String, &'static str, &'static str, &'static str)>>
{
    Ok(item_departments()?
        .into_iter()
        .flat_map(|d| {
            DEPARTMENT_POSTS
                .iter()
                .map(move |(code, name, duties)| (d.clone(), *code, *name, *duties))
        })
        .collect())
}

/// The workflow a demo item gets: its showcase workflow, or the default for its kind with the
/// department filled in and the form for its audience.
pub fn workflow_for(
    impl_code: &str,
    department: &str,
    content: &ItemContent,
) -> anyhow::Result<WorkflowDef> {
    if let Some(showcase) = SHOWCASES.iter().find(|s| s.impl_code == impl_code) {
        return WorkflowDef::from_toml(showcase.toml)
            .map_err(|p| anyhow!("demo workflow of {impl_code}: {} ({})", p.message, p.code));
    }
    let shape = if content.case_type == CaseType::Instant {
        DefaultShape::Instant
    } else if content.kind == ItemKind::Licensing {
        DefaultShape::Licence
    } else {
        DefaultShape::Confirm
    };
    default_workflow(
        shape,
        department,
        content.audience.contains(&AudienceType::NaturalPerson),
    )
}

/// The default workflows of demo items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultShape {
    /// 窗口受理 → 科室审查 → 分管领导审批 (`{dept}/window`, `{dept}/review`, `{dept}/approve`).
    Licence,
    /// 窗口受理 → 审核决定.
    Confirm,
    /// 受理即办 (即办件).
    Instant,
}

/// A default workflow on the posts of `department`, with the form for persons or for enterprises.
pub fn default_workflow(
    shape: DefaultShape,
    department: &str,
    for_persons: bool,
) -> anyhow::Result<WorkflowDef> {
    let steps = match shape {
        DefaultShape::Licence => LICENCE,
        DefaultShape::Confirm => CONFIRM,
        DefaultShape::Instant => INSTANT,
    };
    let form = if for_persons {
        FORM_PERSON
    } else {
        FORM_ENTERPRISE
    };
    let text = format!("{}\n{form}", steps.replace("{dept}", department));
    WorkflowDef::from_toml(&text).map_err(|p| {
        anyhow!(
            "default workflow {shape:?} of {department}: {} ({})",
            p.message,
            p.code
        )
    })
}

fn origin() -> Origin {
    Origin {
        ip: "demo".to_owned(),
    }
}

fn meta() -> ClientMeta {
    ClientMeta {
        ip: "demo".to_owned(),
        user_agent: String::new(),
    }
}

/// Publish a workflow for every demo item in service that has none.
async fn publish_workflows(cases: &Cases, catalog: &Catalog) -> anyhow::Result<usize> {
    let records: Vec<ItemRecord> = serde_json::from_str(crate::demo::CATALOG_ITEMS)?;
    let mut published = 0;
    for record in records {
        let item = match catalog.item_by_impl_code(&record.impl_code).await {
            Ok(item) => item,
            Err(CatalogError::ItemNotFound) => continue,
            Err(other) => return Err(other.into()),
        };
        if cases.current_workflow(item.id).await?.is_some() {
            continue;
        }
        let guide = catalog.guide(item.id, None).await?;
        if guide.version.content.status != ItemStatus::InUse {
            continue;
        }
        let def = workflow_for(
            &record.impl_code,
            &item.department_code,
            &guide.version.content,
        )?;
        cases
            .publish_workflow(&Principal::System, item.id, &def, &origin())
            .await
            .map_err(|e| match e {
                CaseError::WorkflowInvalid(problems) => {
                    anyhow!(
                        "demo workflow of {} is invalid: {problems:?}",
                        record.impl_code
                    )
                }
                other => other.into(),
            })?;
        published += 1;
    }
    Ok(published)
}

/// Load the demo cases (and the workflows, staff and applicants they need). `clock` says what "now" is;
/// the cases are replayed on a clock of their own up to it.
pub async fn load(
    db: &Db,
    clock: &SharedClock,
    accounts: &Accounts,
    config: &Config,
) -> anyhow::Result<DemoCasesReport> {
    let now = clock.now();
    let calendar = crate::config::load_calendar(&config.calendar_dir())?;
    let days = working_days_before(&calendar, china_date(now), HISTORY_WORKING_DAYS);
    let first_day = *days.last().ok_or_else(|| anyhow!("no working days"))?;
    // Set-up (staff, applicants, workflows) happens a week before the first case.
    let replay = TestClock::new(china_local_to_utc(
        (first_day - Duration::days(7))
            .and_hms_opt(9, 0, 0)
            .ok_or_else(|| anyhow!("bad time"))?,
    ));
    let shared = replay.shared();
    let catalog = Catalog::new(db.clone(), shared.clone())?;
    let cases = crate::cases(config, db, &shared, &catalog, &calendar)?;
    let accounts = accounts.with_clock(shared.clone());
    let mut report = DemoCasesReport {
        workflows_published: publish_workflows(&cases, &catalog).await?,
        ..DemoCasesReport::default()
    };
    let zhang = cases
        .person_by_resident_id(&ResidentId::complete(DEMO_LOGINS[0].resident_id_17)?)
        .await?;
    let existing = cases
        .my_cases(
            &Principal::Person(zhang),
            &CaseFilter::default(),
            PageRequest::default(),
        )
        .await?;
    if existing.total > 0 {
        return Ok(report);
    }
    // The set-up's randomness (names, identifiers, choices) is seeded so every installation gets the
    // same demo; the engine's (public ids, query codes, nonces) is not.
    let mut plan_rng = StdRng::seed_from_u64(20_261_123);
    let (staff, created) = load_staff(db, &accounts, &mut plan_rng).await?;
    report.staff_created = created;
    let people = load_applicants(db, &accounts, &cases, &mut plan_rng).await?;
    report.applicants_registered = people.registered;
    let items = demo_items(&cases, &catalog).await?;
    let planner = Planner {
        days,
        now,
        deadlines: cases.deadlines().clone(),
    };
    let plans = planner.plans(&items, &people, &mut plan_rng)?;
    let mut worker = Worker::new(JobQueue::new(db.clone(), shared.clone(), "demo-replay"));
    yiwang_cases::service::register_handlers(&mut worker, cases.clone(), Arc::new(PastMessages));
    let mut runner = Runner {
        worker,
        cases,
        clock: replay,
        staff,
        items,
        people,
        files: HashMap::new(),
        case_ids: vec![None; plans.len()],
        rng: rand::make_rng(),
    };
    report.cases_created = runner.run(&plans, &planner).await?;
    Ok(report)
}

/// Working days of history the demo cases are spread over.
const HISTORY_WORKING_DAYS: usize = 35;

/// The `n` working days before `today`, newest first.
fn working_days_before(calendar: &WorkCalendar, today: NaiveDate, n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n);
    let mut day = today;
    while out.len() < n {
        day -= Duration::days(1);
        if calendar.is_working_day(day) {
            out.push(day);
        }
    }
    out
}

// ------------------------------------------------------------------------------------------ staff

/// Who holds each post (`department/post`), and each department's administrator.
#[derive(Debug, Default)]
struct StaffDirectory {
    posts: HashMap<String, StaffPrincipal>,
    admins: HashMap<String, StaffPrincipal>,
}

impl StaffDirectory {
    fn post(&self, post: &str) -> anyhow::Result<&StaffPrincipal> {
        self.posts
            .get(post)
            .ok_or_else(|| anyhow!("nobody holds the demo post {post}"))
    }
}

async fn principal_of(db: &Db, employee_no: &str) -> anyhow::Result<(StaffPrincipal, Vec<String>)> {
    let found = yiwang_identity::repo::staff::credentials_by_employee_no(db.conn(), employee_no)
        .await?
        .ok_or_else(|| anyhow!("demo staff {employee_no} is missing"))?;
    let staff = found.staff;
    let posts = staff
        .posts
        .iter()
        .map(|p| format!("{}/{}", staff.department_code, p.code))
        .collect();
    Ok((
        StaffPrincipal {
            id: staff.id,
            public_id: staff.public_id,
            department: staff.department_id,
            region: RegionCode::parse(&staff.region_code)?,
            roles: staff.roles,
        },
        posts,
    ))
}

fn person_name(rng: &mut StdRng, mongolian: bool) -> (String, bool) {
    if mongolian && rng.random_bool(0.4) {
        let (name, male) = *MONGOLIAN.choose(rng).unwrap_or(&MONGOLIAN[0]);
        return (name.to_owned(), male);
    }
    let male = rng.random_bool(0.5);
    let given = if male { GIVEN_MALE } else { GIVEN_FEMALE };
    (
        format!(
            "{}{}",
            SURNAMES.choose(rng).unwrap_or(&"王"),
            given.choose(rng).unwrap_or(&"伟")
        ),
        male,
    )
}

/// Staff for every department post no entry of `DEMO_STAFF` holds: a window clerk, a reviewer and a
/// decider per department.
async fn load_staff(
    db: &Db,
    accounts: &Accounts,
    rng: &mut StdRng,
) -> anyhow::Result<(StaffDirectory, usize)> {
    let mut directory = StaffDirectory::default();
    let mut numbers: HashSet<String> = DEMO_STAFF
        .iter()
        .map(|s| s.employee_no.to_owned())
        .collect();
    for staff in DEMO_STAFF {
        let (principal, posts) = principal_of(db, staff.employee_no).await?;
        if staff.roles.contains(&"department_admin") {
            directory
                .admins
                .insert(staff.department.to_owned(), principal.clone());
        }
        for post in posts {
            directory
                .posts
                .entry(post)
                .or_insert_with(|| principal.clone());
        }
    }
    let mut created = 0;
    let mut engine_rng: StdRng = rand::make_rng();
    for (index, department) in item_departments()?.iter().enumerate() {
        let prefix = STAFF_PREFIXES
            .iter()
            .find(|(d, _)| d == department)
            .map(|(_, p)| *p)
            .ok_or_else(|| anyhow!("no employee-number prefix for {department}"))?;
        for (post_no, (post, _, _)) in DEPARTMENT_POSTS.iter().enumerate() {
            let key = format!("{department}/{post}");
            if directory.posts.contains_key(&key) {
                continue;
            }
            let mut k = 1;
            let employee_no = loop {
                let candidate = format!("{prefix}{:02}{k:02}", post_no + 1);
                if numbers.insert(candidate.clone()) {
                    break candidate;
                }
                k += 1;
            };
            let (name, _) = person_name(
                rng,
                department.starts_with("kbs") || department.starts_with("eeds"),
            );
            let raw = RawNewStaff {
                employee_no: employee_no.clone(),
                name,
                mobile: format!("1395510{index:02}{post_no}{k}"),
                password: DEMO_PASSWORD.to_owned(),
                roles: vec![
                    if *post == "window" {
                        "window_staff"
                    } else {
                        "approver"
                    }
                    .to_owned(),
                ],
                posts: vec![(*post).to_owned()],
            };
            let new = NewStaff::parse(&raw)
                .map_err(|errors| anyhow!("demo staff {employee_no} is invalid: {errors:?}"))?;
            match accounts
                .create_staff(
                    &Principal::System,
                    "system:demo",
                    department,
                    &new,
                    &meta(),
                    &mut engine_rng,
                )
                .await
            {
                Ok(_) => created += 1,
                Err(IdentityError::Duplicate { .. }) => {}
                Err(other) => return Err(other.into()),
            }
            let (principal, _) = principal_of(db, &employee_no).await?;
            directory.posts.insert(key, principal);
        }
    }
    Ok((directory, created))
}

// ------------------------------------------------------------------------------------- applicants

/// A person who applies.
#[derive(Debug, Clone)]
struct Person {
    id: PersonId,
    name: String,
    resident_id: String,
    mobile: String,
    address: String,
    hefei: bool,
}

/// An enterprise that applies through its representative (or an agent).
#[derive(Debug, Clone)]
struct Firm {
    public_id: String,
    name: String,
    uscc: String,
    address: String,
    /// The person who applies for it.
    applicant: usize,
    /// Its legal representative.
    representative: usize,
    hefei: bool,
}

#[derive(Debug, Default)]
struct People {
    persons: Vec<Person>,
    firms: Vec<Firm>,
    registered: usize,
}

/// Persons from 合肥 and 康巴什 applying in the demo (beside the two demo citizens).
const GENERATED_PERSONS: (usize, usize) = (44, 14);
/// Enterprises registered by generated persons: (合肥, 康巴什).
const GENERATED_FIRMS: (usize, usize) = (7, 3);

fn address(rng: &mut StdRng, hefei: bool) -> (String, &'static str) {
    if hefei {
        let (code, district, roads) = HEFEI_DISTRICTS.choose(rng).unwrap_or(&HEFEI_DISTRICTS[0]);
        (
            format!(
                "安徽省合肥市{district}{}{}号{}栋{}室",
                roads.choose(rng).unwrap_or(&"长江西路"),
                rng.random_range(1..400),
                rng.random_range(1..30),
                rng.random_range(1..=33) * 100 + rng.random_range(1..=4)
            ),
            code,
        )
    } else {
        (
            format!(
                "内蒙古自治区鄂尔多斯市康巴什区{}{}号{}小区{}号楼{}室",
                KANGBASHI_ROADS.choose(rng).unwrap_or(&"康和路"),
                rng.random_range(1..200),
                KANGBASHI_COMMUNITIES.choose(rng).unwrap_or(&"康城"),
                rng.random_range(1..20),
                rng.random_range(1..=18) * 100 + rng.random_range(1..=4)
            ),
            "150603",
        )
    }
}

fn mobile(rng: &mut StdRng, taken: &mut HashSet<String>) -> String {
    loop {
        let number = format!(
            "{}{:08}",
            MOBILE_PREFIXES.choose(rng).unwrap_or(&"138"),
            rng.random_range(0..100_000_000_u32)
        );
        if taken.insert(number.clone()) {
            return number;
        }
    }
}

fn resident_id(rng: &mut StdRng, region: &str, male: bool) -> anyhow::Result<String> {
    let year = rng.random_range(1952..=2004);
    let birth = NaiveDate::from_ymd_opt(year, rng.random_range(1..=12), rng.random_range(1..=28))
        .ok_or_else(|| anyhow!("bad birth date"))?;
    let sequence = rng.random_range(0..500_u32) * 2 + u32::from(male);
    Ok(
        ResidentId::complete(&format!("{region}{}{sequence:03}", birth.format("%Y%m%d")))?
            .as_str()
            .to_owned(),
    )
}

async fn load_applicants(
    db: &Db,
    accounts: &Accounts,
    cases: &Cases,
    rng: &mut StdRng,
) -> anyhow::Result<People> {
    let mut people = People::default();
    let mut engine_rng: StdRng = rand::make_rng();
    let mut mobiles: HashSet<String> = DEMO_LOGINS.iter().map(|l| l.mobile.to_owned()).collect();
    let mut ids = HashSet::new();
    for login in DEMO_LOGINS {
        let rid = ResidentId::complete(login.resident_id_17)?;
        let id = cases.person_by_resident_id(&rid).await?;
        let hefei = rid.as_str().starts_with("34");
        let (address, _) = address(rng, hefei);
        ids.insert(rid.as_str().to_owned());
        people.persons.push(Person {
            id,
            name: login.name.to_owned(),
            resident_id: rid.as_str().to_owned(),
            mobile: login.mobile.to_owned(),
            address,
            hefei,
        });
    }
    let (hefei_n, kbs_n) = GENERATED_PERSONS;
    for n in 0..hefei_n + kbs_n {
        let hefei = n < hefei_n;
        let (name, male) = person_name(rng, !hefei);
        let (address, region) = address(rng, hefei);
        let rid = loop {
            let candidate = resident_id(rng, region, male)?;
            if ids.insert(candidate.clone()) {
                break candidate;
            }
        };
        let mobile = mobile(rng, &mut mobiles);
        let registration = Registration::parse(&RawRegistration {
            name: name.clone(),
            resident_id: rid.clone(),
            mobile: mobile.clone(),
            password: DEMO_PASSWORD.to_owned(),
        })
        .map_err(|errors| anyhow!("demo applicant {name} is invalid: {errors:?}"))?;
        let id = match accounts
            .register_person(&registration, &meta(), &mut engine_rng)
            .await
        {
            Ok(person) => {
                people.registered += 1;
                person.id
            }
            Err(IdentityError::Duplicate { .. }) => {
                cases
                    .person_by_resident_id(&ResidentId::parse(&rid)?)
                    .await?
            }
            Err(other) => return Err(other.into()),
        };
        people.persons.push(Person {
            id,
            name,
            resident_id: rid,
            mobile,
            address,
            hefei,
        });
    }
    // The demo enterprise: 张晓明 represents it and applies for it.
    let zhang = people.persons[0].id;
    let (uscc17, firm_name) = DEMO_ENTERPRISE;
    let demo_uscc = Uscc::complete(uscc17)?;
    let firm = yiwang_identity::repo::enterprise::enterprises_of_person(db.conn(), zhang)
        .await?
        .into_iter()
        .find(|(e, _)| e.uscc == demo_uscc)
        .map(|(e, _)| e)
        .ok_or_else(|| anyhow!("the demo enterprise {firm_name} is not registered"))?;
    people.firms.push(Firm {
        public_id: firm.public_id,
        name: firm.name,
        uscc: demo_uscc.as_str().to_owned(),
        address: "安徽省合肥市蜀山区潜山路320号新华国际广场B座12层".to_owned(),
        applicant: 0,
        representative: 0,
        hefei: true,
    });
    let (hefei_f, kbs_f) = GENERATED_FIRMS;
    for n in 0..hefei_f + kbs_f {
        let hefei = n < hefei_f;
        // Representatives are the generated persons of the right city, taken in order.
        let representative = if hefei {
            2 + n
        } else {
            2 + hefei_n + (n - hefei_f)
        };
        let (words, region, suffix, city) = if hefei {
            (FIRM_WORDS_HEFEI, "340100", "有限公司", "合肥")
        } else {
            (FIRM_WORDS_KANGBASHI, "150603", "有限责任公司", "鄂尔多斯市")
        };
        let name = format!(
            "{city}{}{}{suffix}",
            words[n % words.len()],
            FIRM_TRADES[(n * 3 + 1) % FIRM_TRADES.len()]
        );
        let org: String = (0..7)
            .map(|_| char::from(USCC_ALPHABET[rng.random_range(0..USCC_ALPHABET.len())]))
            .collect();
        let uscc = Uscc::complete(&format!("91{region}MA{org}"))?;
        let (address, _) = address(rng, hefei);
        let person = people.persons[representative].clone();
        let login = accounts
            .login(&person.mobile, DEMO_PASSWORD, &meta(), &mut engine_rng)
            .await?;
        let enterprise = match accounts
            .register_enterprise(
                &login.session,
                uscc.as_str(),
                &name,
                &meta(),
                &mut engine_rng,
            )
            .await
        {
            Ok(e) => e,
            Err(IdentityError::Duplicate { .. }) => {
                yiwang_identity::repo::enterprise::enterprises_of_person(db.conn(), person.id)
                    .await?
                    .into_iter()
                    .map(|(e, _)| e)
                    .find(|e| e.uscc == uscc)
                    .ok_or_else(|| anyhow!("demo enterprise {name} belongs to someone else"))?
            }
            Err(other) => return Err(other.into()),
        };
        accounts.logout(&login.session, &meta()).await?;
        people.firms.push(Firm {
            public_id: enterprise.public_id,
            name,
            uscc: uscc.as_str().to_owned(),
            address,
            applicant: representative,
            representative,
            hefei,
        });
    }
    Ok(people)
}

// ------------------------------------------------------------------------------------------ items

/// A demo item with its workflow, as the cases need it.
#[derive(Debug, Clone)]
struct DemoItem {
    id: ItemId,
    impl_code: String,
    department: String,
    hefei: bool,
    def: WorkflowDef,
    promised: Option<TimeLimit>,
    legal: Option<TimeLimit>,
    /// Mandatory materials not replaced by a commitment.
    materials: Vec<String>,
    /// The form asks for an enterprise (an enterprise applies).
    for_firms: bool,
    showcase: bool,
}

impl DemoItem {
    fn reviews(&self) -> Vec<Vec<String>> {
        let layers = self.def.layers();
        if layers.len() < 3 {
            return Vec::new();
        }
        layers[1..layers.len() - 1]
            .iter()
            .map(|l| l.iter().map(|s| s.id.clone()).collect())
            .collect()
    }

    fn intake(&self) -> &str {
        self.def.intake().map_or("accept", |s| s.id.as_str())
    }

    fn decide(&self) -> &str {
        self.def.decide().map_or("decide", |s| s.id.as_str())
    }

    fn offers(&self, step: &str, action: StepAction) -> bool {
        self.def.step(step).is_some_and(|s| s.offers(action))
    }

    fn plain(&self) -> bool {
        !self.def.instant && self.def.commitment.is_none()
    }

    /// A review step on a single path (no parallel branches) where `action` is offered.
    fn single_review_offering(&self, action: StepAction) -> Option<String> {
        if self.def.is_parallel() {
            return None;
        }
        self.reviews()
            .into_iter()
            .flatten()
            .find(|s| self.offers(s, action))
    }

    /// The decision can be sent back to the review before it.
    fn can_send_back(&self) -> bool {
        let Some(decide) = self.def.decide() else {
            return false;
        };
        let prev = self.def.predecessors(&decide.id);
        !decide.join
            && prev.len() == 1
            && prev[0].kind == StepKind::Review
            && prev[0].next.len() == 1
            && decide.offers(StepAction::SendBack)
    }
}

async fn demo_items(cases: &Cases, catalog: &Catalog) -> anyhow::Result<Vec<DemoItem>> {
    let records: Vec<ItemRecord> = serde_json::from_str(crate::demo::CATALOG_ITEMS)?;
    let mut items = Vec::new();
    for record in records {
        let Ok(item) = catalog.item_by_impl_code(&record.impl_code).await else {
            continue;
        };
        let Some(workflow) = cases.current_workflow(item.id).await? else {
            continue;
        };
        let guide = catalog.guide(item.id, None).await?;
        if guide.version.content.status != ItemStatus::InUse {
            continue;
        }
        let def = workflow.definition;
        let replaced: Vec<String> = def
            .commitment
            .as_ref()
            .map(|c| c.replaces.clone())
            .unwrap_or_default();
        let content = guide.version.content;
        items.push(DemoItem {
            id: item.id,
            impl_code: record.impl_code.clone(),
            hefei: item.region_code.starts_with("34"),
            department: item.department_code,
            for_firms: def.form.iter().any(|f| f.key == "uscc"),
            materials: content
                .materials
                .iter()
                .filter(|m| m.mandatory && !replaced.contains(&m.name))
                .map(|m| m.name.clone())
                .collect(),
            promised: content.promised_limit,
            legal: content.legal_limit,
            showcase: SHOWCASES.iter().any(|s| s.impl_code == record.impl_code),
            def,
        });
    }
    Ok(items)
}

// ------------------------------------------------------------------------------------------ plans

/// Where a case ends up today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Draft,
    /// Waiting for pre-review; the accept deadline at the given level today.
    Submitted(Warning),
    /// Waiting for the applicant's supplement (asked at intake, or during review).
    Supplement {
        in_review: bool,
    },
    Declined,
    /// Accepted and in review; the decision deadline at the given level today.
    InReview(Warning),
    /// Parallel approval with one branch done.
    ParallelOneDone,
    /// In a special procedure (clock stopped).
    Suspended,
    /// Back in review after a special procedure.
    Resumed,
    /// The decision limit was extended (or the extension is still requested).
    Extended {
        approved: bool,
    },
    /// Decided, waiting for the window to deliver.
    Decided {
        granted: bool,
    },
    /// Decided and delivered; `twist` adds a supplement, a send-back or a counter application.
    Concluded {
        granted: bool,
        twist: u8,
    },
    Withdrawn,
    Returned,
    InstantConcluded,
    Commitment {
        verified: Option<bool>,
    },
}

/// Who applies.
#[derive(Debug, Clone, Copy)]
enum Who {
    Person(usize),
    Firm(usize),
}

/// One thing that happens to a case.
#[derive(Debug, Clone)]
enum Op {
    Draft,
    Apply,
    Step {
        step: String,
        action: StepAction,
        opinion: &'static str,
        missing: Vec<String>,
        special: Option<(SpecialKind, NaiveDate)>,
    },
    Resume {
        step: String,
    },
    Resubmit {
        materials: Vec<String>,
    },
    Withdraw,
    RequestExtension {
        step: String,
    },
    ApproveExtension,
    Conclude,
    Verify {
        confirmed: bool,
    },
}

#[derive(Debug, Clone)]
struct Plan {
    item: usize,
    who: Who,
    counter: bool,
    ops: Vec<(DateTime<Utc>, Op)>,
}

/// A moment of the replay: a working day (0 = the last one before today) and minutes after midnight.
#[derive(Debug, Clone, Copy)]
struct At {
    day: usize,
    minute: u32,
}

const OPEN: u32 = 9 * 60;
const CLOSE: u32 = 17 * 60 + 30;

impl At {
    fn on(day: usize, minute: u32) -> Self {
        Self { day, minute }
    }

    /// A moment `days` working days later (0: later the same day, or the next morning), never after
    /// the last working day before today.
    fn later(self, days: usize, rng: &mut StdRng) -> Self {
        if days > 0 && self.day > 0 {
            return Self {
                day: self.day.saturating_sub(days),
                minute: OPEN + rng.random_range(0..420),
            };
        }
        let minute = self.minute + rng.random_range(20..80);
        if minute <= CLOSE || self.day == 0 {
            Self {
                day: self.day,
                minute: minute.min(23 * 60 + 50),
            }
        } else {
            Self {
                day: self.day - 1,
                minute: OPEN + rng.random_range(0..60),
            }
        }
    }
}

struct Planner {
    /// Working days before today, newest first.
    days: Vec<NaiveDate>,
    now: DateTime<Utc>,
    deadlines: yiwang_cases::Deadlines,
}

/// How many cases of each fate, in the order they are planned.
const FATES: &[(Fate, usize)] = &[
    (Fate::InstantConcluded, 28),
    (Fate::Draft, 14),
    (Fate::Submitted(Warning::None), 8),
    (Fate::Submitted(Warning::Yellow), 8),
    (Fate::Submitted(Warning::Red), 7),
    (Fate::Submitted(Warning::Overdue), 6),
    (Fate::Supplement { in_review: false }, 10),
    (Fate::Supplement { in_review: true }, 4),
    (Fate::Declined, 12),
    (Fate::InReview(Warning::None), 22),
    (Fate::InReview(Warning::Yellow), 12),
    (Fate::InReview(Warning::Red), 12),
    (Fate::InReview(Warning::Overdue), 10),
    (Fate::ParallelOneDone, 8),
    (Fate::Suspended, 8),
    (Fate::Resumed, 4),
    (Fate::Extended { approved: true }, 5),
    (Fate::Extended { approved: false }, 2),
    (Fate::Decided { granted: true }, 12),
    (Fate::Decided { granted: false }, 4),
    (
        Fate::Concluded {
            granted: true,
            twist: 0,
        },
        40,
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 1,
        },
        6,
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 2,
        },
        6,
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 3,
        },
        8,
    ),
    (
        Fate::Concluded {
            granted: false,
            twist: 0,
        },
        8,
    ),
    (Fate::Withdrawn, 10),
    (Fate::Returned, 6),
    (Fate::Commitment { verified: None }, 10),
    (
        Fate::Commitment {
            verified: Some(true),
        },
        5,
    ),
    (
        Fate::Commitment {
            verified: Some(false),
        },
        2,
    ),
];

/// Cases of the demo citizens and their enterprise, so their pages show something of everything.
const PINNED: &[(Fate, &str, Who)] = &[
    (Fate::InstantConcluded, MARRIAGE_REISSUE, Who::Person(0)),
    (Fate::InReview(Warning::Yellow), ID_CARD, Who::Person(0)),
    (Fate::ParallelOneDone, FOOD_NEW, Who::Firm(0)),
    (
        Fate::Commitment { verified: None },
        VENUE_HYGIENE,
        Who::Firm(0),
    ),
    (
        Fate::Supplement { in_review: false },
        "20160000100234010012340100MB303904XG",
        Who::Person(0),
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 0,
        },
        "20150000300034010011340100MB9799496X",
        Who::Person(0),
    ),
    (Fate::Draft, ID_CARD, Who::Person(0)),
    (
        Fate::Submitted(Warning::None),
        "07020000300115060311150603MB2394023Q",
        Who::Person(1),
    ),
    (
        Fate::Withdrawn,
        "05010000400015060311150603MB0372023E",
        Who::Person(1),
    ),
    (
        Fate::Concluded {
            granted: true,
            twist: 0,
        },
        "07020000400115060311150603MB2394023Q",
        Who::Person(1),
    ),
];

impl Planner {
    fn time(&self, at: At) -> anyhow::Result<DateTime<Utc>> {
        let day = self
            .days
            .get(at.day)
            .ok_or_else(|| anyhow!("day {} is outside the demo history", at.day))?;
        let local = day
            .and_hms_opt(at.minute / 60, at.minute % 60, 0)
            .ok_or_else(|| anyhow!("bad minute {}", at.minute))?;
        Ok(china_local_to_utc(local))
    }

    fn fits(item: &DemoItem, fate: Fate) -> bool {
        let intake = item.intake();
        match fate {
            Fate::InstantConcluded => item.def.instant,
            Fate::Commitment { .. } => item.def.commitment.is_some(),
            Fate::Draft | Fate::Submitted(_) | Fate::Withdrawn => true,
            Fate::Declined => item.offers(intake, StepAction::Decline),
            Fate::Supplement { in_review: false } | Fate::Returned => {
                item.offers(intake, StepAction::Supplement)
            }
            Fate::Supplement { in_review: true } => {
                item.plain()
                    && item
                        .single_review_offering(StepAction::Supplement)
                        .is_some()
            }
            Fate::ParallelOneDone => item.plain() && item.def.is_parallel(),
            Fate::Suspended | Fate::Resumed => {
                item.plain() && item.single_review_offering(StepAction::Special).is_some()
            }
            Fate::Extended { .. } => item.plain() && item.department == "hf-scjgj",
            Fate::InReview(_) | Fate::Decided { .. } => item.plain(),
            Fate::Concluded { granted, twist } => {
                item.plain()
                    && match twist {
                        1 => item.offers(intake, StepAction::Supplement),
                        2 => granted && item.can_send_back(),
                        _ => true,
                    }
            }
        }
    }

    fn plans(
        &self,
        items: &[DemoItem],
        people: &People,
        rng: &mut StdRng,
    ) -> anyhow::Result<Vec<Plan>> {
        let mut plans = Vec::new();
        for (fate, code, who) in PINNED {
            let item = items
                .iter()
                .position(|i| i.impl_code == *code)
                .ok_or_else(|| anyhow!("pinned demo item {code} has no workflow"))?;
            anyhow::ensure!(
                Self::fits(&items[item], *fate),
                "pinned demo case {code} cannot be {fate:?}"
            );
            let plan = self
                .plan(*fate, item, &items[item], *who, rng)?
                .ok_or_else(|| anyhow!("pinned demo case {code} cannot be {fate:?} today"))?;
            plans.push(plan);
        }
        for (fate, count) in FATES {
            let pinned = PINNED.iter().filter(|(f, _, _)| f == fate).count();
            let candidates: Vec<usize> = (0..items.len())
                .filter(|&i| Self::fits(&items[i], *fate))
                .collect();
            anyhow::ensure!(!candidates.is_empty(), "no demo item can be {fate:?}");
            let mut made = pinned;
            let mut attempts = 0;
            while made < *count {
                attempts += 1;
                anyhow::ensure!(
                    attempts < 200,
                    "cannot plan demo cases that are {fate:?} today"
                );
                // Showcase items come up five times as often, so their posts have full inboxes.
                let weighted: Vec<(usize, u32)> = candidates
                    .iter()
                    .map(|&i| (i, if items[i].showcase { 5 } else { 1 }))
                    .collect();
                let item = weighted
                    .choose_weighted(rng, |(_, w)| *w)
                    .map(|(i, _)| *i)
                    .map_err(|e| anyhow!("choosing a demo item: {e}"))?;
                let who = Self::applicant(&items[item], people, rng);
                if let Some(plan) = self.plan(*fate, item, &items[item], who, rng)? {
                    plans.push(plan);
                    made += 1;
                }
            }
        }
        Ok(plans)
    }

    /// A person or enterprise of the item's city (never one of the demo citizens: their cases are
    /// pinned).
    fn applicant(item: &DemoItem, people: &People, rng: &mut StdRng) -> Who {
        if item.for_firms {
            let firms: Vec<usize> = (1..people.firms.len())
                .filter(|&f| people.firms[f].hefei == item.hefei)
                .collect();
            return Who::Firm(*firms.choose(rng).unwrap_or(&0));
        }
        let persons: Vec<usize> = (2..people.persons.len())
            .filter(|&p| people.persons[p].hefei == item.hefei)
            .collect();
        Who::Person(*persons.choose(rng).unwrap_or(&0))
    }

    /// The working days (index, at 10:00) on which accepting a case of `item` leaves its decision
    /// deadline at `level` today.
    fn acceptance_days(
        &self,
        item: &DemoItem,
        level: Warning,
        range: std::ops::Range<usize>,
    ) -> anyhow::Result<Vec<usize>> {
        let mut out = Vec::new();
        for day in range.filter(|d| *d < self.days.len()) {
            let due = self.deadlines.decision_due(
                self.time(At::on(day, 10 * 60))?,
                item.promised,
                item.legal,
            );
            if self.deadlines.warning(self.now, Some(due)) == level {
                out.push(day);
            }
        }
        Ok(out)
    }

    #[expect(clippy::too_many_lines, reason = "one script per fate, side by side")]
    fn plan(
        &self,
        fate: Fate,
        index: usize,
        item: &DemoItem,
        who: Who,
        rng: &mut StdRng,
    ) -> anyhow::Result<Option<Plan>> {
        let intake = item.intake().to_owned();
        let decide = item.decide().to_owned();
        let mut ops: Vec<(At, Op)> = Vec::new();
        let step = |step: &str, action: StepAction, opinion: &'static str| Op::Step {
            step: step.to_owned(),
            action,
            opinion,
            missing: Vec::new(),
            special: None,
        };
        let last = self.days.len() - 1;
        // Accept on day `day` (submitted 0–2 working days before), then the reviews done by `until`.
        let accepted = |ops: &mut Vec<(At, Op)>, rng: &mut StdRng, day: usize| -> At {
            let lead = rng.random_range(0..=2).min(last - day);
            let submit = At::on(day + lead, 8 * 60 + rng.random_range(0..600));
            ops.push((submit, Op::Apply));
            let at = if lead == 0 {
                submit.later(0, rng)
            } else {
                At::on(day, OPEN + rng.random_range(0..300))
            };
            ops.push((at, step(&intake, StepAction::Accept, ACCEPT_NOTE)));
            at
        };
        let reviews = item.reviews();
        // Every review agrees (parallel branches on their own days); returns the moment the last did.
        let review_all =
            |ops: &mut Vec<(At, Op)>, rng: &mut StdRng, mut at: At, agree: bool| -> At {
                for layer in &reviews {
                    let start = at;
                    let mut latest = at;
                    for (n, s) in layer.iter().enumerate() {
                        let last_layer = std::ptr::eq(layer, reviews.last().unwrap_or(layer));
                        let (action, note) = if !agree && last_layer && n == 0 {
                            (StepAction::Disagree, DISAGREE_NOTE)
                        } else {
                            (StepAction::Agree, agree_note(s))
                        };
                        let done = start.later(rng.random_range(0..=2), rng);
                        ops.push((done, step(s, action, note)));
                        if done.day < latest.day
                            || (done.day == latest.day && done.minute > latest.minute)
                        {
                            latest = done;
                        }
                    }
                    at = latest;
                }
                at
            };
        match fate {
            Fate::Draft => {
                ops.push((
                    At::on(rng.random_range(0..20), 8 * 60 + rng.random_range(0..780)),
                    Op::Draft,
                ));
            }
            Fate::Submitted(level) => {
                let mut days = Vec::new();
                for day in 0..12 {
                    let due = self.deadlines.accept_due(self.time(At::on(day, 12 * 60))?);
                    if self.deadlines.warning(self.now, Some(due)) == level {
                        days.push(day);
                    }
                }
                let Some(day) = days.choose(rng) else {
                    return Ok(None);
                };
                ops.push((At::on(*day, 8 * 60 + rng.random_range(0..720)), Op::Apply));
            }
            Fate::Supplement { in_review } => {
                let day = rng.random_range(2..18);
                let missing = item.materials.iter().take(2).cloned().collect::<Vec<_>>();
                let mut at;
                let step_id;
                if in_review {
                    at = accepted(&mut ops, rng, day + 2);
                    step_id = item
                        .single_review_offering(StepAction::Supplement)
                        .ok_or_else(|| anyhow!("no review step asks for supplements"))?;
                } else {
                    at = At::on(day, 8 * 60 + rng.random_range(0..600));
                    ops.push((at, Op::Apply));
                    step_id = intake.clone();
                }
                at = at.later(1, rng);
                ops.push((at, supplement(&step_id, &missing)));
            }
            Fate::Declined => {
                let at = At::on(rng.random_range(1..30), 8 * 60 + rng.random_range(0..600));
                ops.push((at, Op::Apply));
                ops.push((
                    at.later(rng.random_range(0..=2), rng),
                    step(
                        &intake,
                        StepAction::Decline,
                        DECLINE_NOTES[rng.random_range(0..DECLINE_NOTES.len())],
                    ),
                ));
            }
            Fate::InReview(level) => {
                let days = self.acceptance_days(item, level, 1..28)?;
                let Some(&day) = days.choose(rng) else {
                    return Ok(None);
                };
                let at = accepted(&mut ops, rng, day);
                // Some have their reviews done and wait for the decision.
                if !reviews.is_empty() && rng.random_bool(0.4) {
                    review_all(&mut ops, rng, at, true);
                }
            }
            Fate::ParallelOneDone => {
                let day = rng.random_range(1..6);
                let at = accepted(&mut ops, rng, day);
                let branches = reviews.first().cloned().unwrap_or_default();
                let done = branches
                    .choose(rng)
                    .cloned()
                    .ok_or_else(|| anyhow!("no branch"))?;
                ops.push((
                    at.later(1, rng),
                    step(&done, StepAction::Agree, agree_note(&done)),
                ));
            }
            Fate::Suspended | Fate::Resumed => {
                let review = item
                    .single_review_offering(StepAction::Special)
                    .ok_or_else(|| anyhow!("no special procedure"))?;
                let day = rng.random_range(4..16);
                let mut at = accepted(&mut ops, rng, day);
                // Earlier reviews agree first.
                for layer in &reviews {
                    if layer.contains(&review) {
                        break;
                    }
                    for s in layer {
                        at = at.later(1, rng);
                        ops.push((at, step(s, StepAction::Agree, agree_note(s))));
                    }
                }
                at = at.later(1, rng);
                let today = china_date(self.now);
                let (kind, until) = if fate == Fate::Suspended {
                    (
                        *[
                            SpecialKind::Inspection,
                            SpecialKind::Testing,
                            SpecialKind::ExpertReview,
                        ]
                        .choose(rng)
                        .unwrap_or(&SpecialKind::Inspection),
                        today + Duration::days(rng.random_range(3..20)),
                    )
                } else {
                    (
                        SpecialKind::Inspection,
                        self.days[at.day] + Duration::days(7),
                    )
                };
                ops.push((
                    at,
                    Op::Step {
                        step: review.clone(),
                        action: StepAction::Special,
                        opinion: SPECIAL_NOTE,
                        missing: Vec::new(),
                        special: Some((kind, until)),
                    },
                ));
                if fate == Fate::Resumed {
                    at = at.later(3, rng);
                    ops.push((at, Op::Resume { step: review }));
                }
            }
            Fate::Extended { approved } => {
                let day = rng.random_range(5..20);
                let at = accepted(&mut ops, rng, day);
                let first = reviews
                    .first()
                    .and_then(|l| l.first())
                    .cloned()
                    .unwrap_or(decide.clone());
                let at = at.later(2, rng);
                ops.push((at, Op::RequestExtension { step: first }));
                if approved {
                    ops.push((at.later(1, rng), Op::ApproveExtension));
                }
            }
            Fate::Decided { granted } => {
                let day = rng.random_range(3..12);
                let at = accepted(&mut ops, rng, day);
                let at = review_all(&mut ops, rng, at, granted).later(1, rng);
                ops.push((at, decision(&decide, granted)));
            }
            Fate::Concluded { granted, twist } => {
                let day = rng.random_range(10..30);
                let mut at;
                if twist == 1 {
                    // Asked for a supplement at intake, resubmitted, then accepted.
                    let start = At::on(day + 3, 8 * 60 + rng.random_range(0..600));
                    ops.push((start, Op::Apply));
                    let missing: Vec<String> = item.materials.iter().take(1).cloned().collect();
                    at = start.later(1, rng);
                    ops.push((at, supplement(&intake, &missing)));
                    at = at.later(1, rng);
                    ops.push((at, Op::Resubmit { materials: missing }));
                    at = at.later(1, rng);
                    ops.push((at, step(&intake, StepAction::Accept, ACCEPT_NOTE)));
                } else {
                    at = accepted(&mut ops, rng, day);
                }
                at = review_all(&mut ops, rng, at, granted).later(1, rng);
                if twist == 2 {
                    let review = reviews
                        .last()
                        .and_then(|l| l.first())
                        .cloned()
                        .unwrap_or_default();
                    ops.push((at, step(&decide, StepAction::SendBack, SEND_BACK_NOTE)));
                    at = at.later(1, rng);
                    ops.push((at, step(&review, StepAction::Agree, REVIEW_AGAIN_NOTE)));
                    at = at.later(1, rng);
                }
                ops.push((at, decision(&decide, granted)));
                ops.push((at.later(rng.random_range(0..=2), rng), Op::Conclude));
            }
            Fate::Withdrawn => {
                let day = rng.random_range(2..25);
                if rng.random_bool(0.5) && !item.def.instant && item.def.commitment.is_none() {
                    let at = accepted(&mut ops, rng, day);
                    ops.push((at.later(1, rng), Op::Withdraw));
                } else {
                    let at = At::on(day, 8 * 60 + rng.random_range(0..600));
                    ops.push((at, Op::Apply));
                    ops.push((at.later(0, rng), Op::Withdraw));
                }
            }
            Fate::Returned => {
                // Asked for a supplement more than 30 days ago; the evening sweep returned it.
                let mut days = Vec::new();
                for day in 20..last {
                    let due = self
                        .deadlines
                        .supplement_due(self.time(At::on(day, 15 * 60))?);
                    if due < self.time(At::on(2, 18 * 60))? {
                        days.push(day);
                    }
                }
                let Some(&day) = days.choose(rng) else {
                    return Ok(None);
                };
                let at = At::on(day + 1, 8 * 60 + rng.random_range(0..300));
                ops.push((at, Op::Apply));
                let missing: Vec<String> = item.materials.iter().take(2).cloned().collect();
                ops.push((At::on(day, 15 * 60), supplement(&intake, &missing)));
            }
            Fate::InstantConcluded => {
                let at = At::on(rng.random_range(0..last), 8 * 60 + rng.random_range(0..500));
                ops.push((at, Op::Apply));
                ops.push((
                    at.later(0, rng),
                    step(&intake, StepAction::Accept, INSTANT_NOTE),
                ));
            }
            Fate::Commitment { verified } => {
                let commitment = item
                    .def
                    .commitment
                    .as_ref()
                    .ok_or_else(|| anyhow!("no commitment"))?;
                let window = usize::try_from(commitment.verify_within_days).unwrap_or(20);
                let day = match verified {
                    None => rng.random_range(1..window.min(last)),
                    Some(_) => rng.random_range(12..last - 2),
                };
                let at = accepted(&mut ops, rng, day);
                if let Some(confirmed) = verified {
                    ops.push((
                        at.later(rng.random_range(3..10), rng),
                        Op::Verify { confirmed },
                    ));
                }
            }
        }
        let counter = matches!(fate, Fate::Concluded { twist: 3, .. })
            || (matches!(fate, Fate::InstantConcluded) && rng.random_bool(0.5));
        let mut timed = Vec::with_capacity(ops.len());
        for (at, op) in ops {
            timed.push((self.time(at)?, op));
        }
        // Parallel branches were scheduled independently; everything else is already in order
        // (`At::later` never goes back), so a stable sort only interleaves the branches.
        timed.sort_by_key(|(t, _)| *t);
        if timed.iter().any(|(t, _)| *t >= self.now) {
            return Ok(None);
        }
        Ok(Some(Plan {
            item: index,
            who,
            counter,
            ops: timed,
        }))
    }

    /// Evenings the deadline sweep ran, oldest first.
    fn sweeps(&self) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let mut out = Vec::new();
        for day in (0..self.days.len()).rev() {
            out.push(self.time(At::on(day, 18 * 60 + 30))?);
        }
        Ok(out)
    }
}

const ACCEPT_NOTE: &str = "申请材料齐全，符合法定形式，予以受理。";
const INSTANT_NOTE: &str = "材料齐全，当场办结。";
const DECLINE_NOTES: &[&str] = &[
    "申请事项依法不需要取得行政许可，不予受理。",
    "申请事项不属于本机关职权范围，不予受理，请向户籍所在地主管部门申请。",
    "申请人不具备申请资格，不予受理。",
];
const DISAGREE_NOTE: &str =
    "经审查，申请人提交的经营场所证明与现场情况不符，不符合法定条件，建议不予许可。";
const SEND_BACK_NOTE: &str = "审查意见未写明现场核查的具体情况，请补充后重新提交。";
const REVIEW_AGAIN_NOTE: &str =
    "已补充现场核查记录：场所布局、设施设备与申请材料一致，符合要求，拟同意。";
const SPECIAL_NOTE: &str = "需组织现场检查（专家评审），特别程序期间不计入审批时限，已告知申请人。";
const EXTENSION_REASON: &str =
    "申请事项涉及多个部门意见，二十个工作日内不能作出决定，申请延长十个工作日。";
const EXTENSION_NOTE: &str = "同意延长十个工作日，请书面告知申请人延长理由。";
const GRANT_NOTE: &str = "经审核，申请符合法定条件和标准，准予许可。";
const DENY_NOTE: &str =
    "经审核，申请不符合法定条件，决定不予许可。申请人如不服，可依法申请行政复议或者提起行政诉讼。";
const CONCLUDE_NOTES: &[&str] = &[
    "申请人已到窗口领取办理结果。",
    "办理结果已通过邮政寄递送达。",
    "电子证照已推送至申请人账户，纸质结果已邮寄。",
];
const WITHDRAW_REASON: &str = "经营计划调整，申请撤回。";
const VERIFY_CONFIRMED: &str = "经现场核查，卫生设施与承诺内容一致，承诺属实。";
const VERIFY_FAILED: &str =
    "现场核查发现未配备消毒间和公共用品用具清洗设施，承诺不实，依法撤销许可。";

fn agree_note(step: &str) -> &'static str {
    if step.contains("inspection") {
        "现场核查：场所布局、设施设备与申请材料一致，符合要求。"
    } else if step.contains("health") {
        "经核查，经营场所卫生条件符合要求，同意。"
    } else {
        "经审查，申请材料真实有效，符合法定条件，拟同意。"
    }
}

fn supplement(step: &str, missing: &[String]) -> Op {
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

fn decision(decide: &str, granted: bool) -> Op {
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

struct Runner {
    /// Runs the notification jobs of the replayed history (see [`PastMessages`]).
    worker: Worker,
    cases: Cases,
    clock: TestClock,
    staff: StaffDirectory,
    items: Vec<DemoItem>,
    people: People,
    /// Files kept per person and material (reused across applications, as people do).
    files: HashMap<(PersonId, String), String>,
    case_ids: Vec<Option<(CaseId, String)>>,
    rng: StdRng,
}

impl Runner {
    /// Run every plan's operations in time order, with the evening sweeps in between, then sweep
    /// at now. Returns the number of cases created.
    async fn run(&mut self, plans: &[Plan], planner: &Planner) -> anyhow::Result<usize> {
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
    async fn deliver_notices(&self) -> anyhow::Result<()> {
        while self.worker.run_once().await? > 0 {}
        Ok(())
    }

    fn applicant(&self, who: Who) -> (&Person, Option<&Firm>) {
        match who {
            Who::Person(p) => (&self.people.persons[p], None),
            Who::Firm(f) => {
                let firm = &self.people.firms[f];
                (&self.people.persons[firm.applicant], Some(firm))
            }
        }
    }

    fn case(&self, p: usize) -> anyhow::Result<(CaseId, String)> {
        self.case_ids[p]
            .clone()
            .ok_or_else(|| anyhow!("the case was not created"))
    }

    #[expect(clippy::too_many_lines, reason = "one arm per operation")]
    async fn op(&mut self, p: usize, plan: &Plan, op: &Op) -> anyhow::Result<()> {
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
    async fn open_task(
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
    async fn application(
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
        let mut materials = Vec::new();
        for material in &item.materials {
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
struct PastMessages;

impl MessageSender for PastMessages {
    fn send_sms<'a>(&'a self, _sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(async { Ok(()) })
    }

    fn send_email<'a>(&'a self, _email: &'a Email) -> SendFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// A realistic answer to a form field, from what is known of the applicant.
fn answer(
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

/// A small, valid one-page PDF standing for a scanned material; the material's name is its title.
pub fn demo_pdf(title: &str) -> Vec<u8> {
    let title_hex: String = std::iter::once(0xFEFF_u16)
        .chain(title.encode_utf16())
        .fold(String::new(), |mut s, u| {
            let _ = write!(s, "{u:04X}");
            s
        });
    let content = "BT /F1 16 Tf 72 760 Td (Yiwang demo material) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        format!("<< /Title <{title_hex}> /Producer (Yiwang demo) >>"),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(tail, "{offset:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(tail.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_pdf_is_well_formed() {
        let pdf = demo_pdf("营业执照");
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let text = String::from_utf8(pdf).unwrap_or_default();
        let start: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        assert!(text[start..].starts_with("xref"));
        // "营" is U+8425.
        assert!(text.contains("/Title <FEFF8425"));
    }
}
