//! Demo cases (办件): a workflow for every demo item in service, the posts and staff those workflows
//! name, and about three hundred cases in every state a case can be in.
//!
//! Workflows are TOML files under `data/workflows/`: defaults by item kind (a licence is accepted at the
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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{Duration, NaiveDate};
use rand::SeedableRng;
use rand::rngs::StdRng;
use yiwang_cases::repo::CaseFilter;
use yiwang_cases::{CaseError, Cases, Origin, WorkflowDef};
use yiwang_catalog::model::{
    AudienceType, CaseType, ItemContent, ItemKind, ItemRecord, ItemStatus,
};
use yiwang_catalog::{Catalog, CatalogError};
use yiwang_db::jobs::{JobQueue, Worker};
use yiwang_identity::model::ClientMeta;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{
    PageRequest, ResidentId, TestClock, WorkCalendar, china_date, china_local_to_utc,
};

use crate::DemoSetup;
use crate::org::DEMO_LOGINS;

mod pdf;
mod people;
pub(crate) use people::principal_of;
mod plan;
mod replay;

pub use pdf::demo_pdf;
use people::{load_applicants, load_staff};
use plan::{Planner, demo_items};
use replay::{PastMessages, Runner};

const LICENCE: &str = include_str!("../../data/workflows/licence.toml");
const CONFIRM: &str = include_str!("../../data/workflows/confirm.toml");
const INSTANT: &str = include_str!("../../data/workflows/instant.toml");
const FORM_PERSON: &str = include_str!("../../data/workflows/form-person.toml");
const FORM_ENTERPRISE: &str = include_str!("../../data/workflows/form-enterprise.toml");

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
        toml: include_str!("../../data/workflows/food-business-new.toml"),
    },
    Showcase {
        impl_code: CLINIC,
        name: "医疗机构执业登记",
        shows: "several steps: 材料审查 → 现场核查 → 审批决定",
        toml: include_str!("../../data/workflows/clinic-registration.toml"),
    },
    Showcase {
        impl_code: ID_CARD,
        name: "居民身份证换领",
        shows: "a single step after acceptance: 户籍审核签发",
        toml: include_str!("../../data/workflows/id-card-renewal.toml"),
    },
    Showcase {
        impl_code: VENUE_HYGIENE,
        name: "公共场所卫生许可",
        shows: "告知承诺: granted on acceptance, verified on site within 20 working days",
        toml: include_str!("../../data/workflows/public-venue-hygiene.toml"),
    },
    Showcase {
        impl_code: MARRIAGE_REISSUE,
        name: "补领婚姻登记证",
        shows: "即办件: decided and concluded at the window",
        toml: include_str!("../../data/workflows/marriage-certificate-reissue.toml"),
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
    /// 好差评 on the concluded cases and their rectifications.
    pub ratings: crate::ratings::RatingsReport,
}

/// The departments with demo items, in the order of the catalog file.
fn item_departments() -> anyhow::Result<Vec<String>> {
    let records: Vec<ItemRecord> = serde_json::from_str(crate::catalog::CATALOG_ITEMS)?;
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
    let records: Vec<ItemRecord> = serde_json::from_str(crate::catalog::CATALOG_ITEMS)?;
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
pub async fn load(setup: &DemoSetup) -> anyhow::Result<DemoCasesReport> {
    let db = &setup.db;
    let now = setup.clock.now();
    let calendar = &setup.calendar;
    let days = working_days_before(calendar, china_date(now), HISTORY_WORKING_DAYS);
    let first_day = *days.last().ok_or_else(|| anyhow!("no working days"))?;
    // Set-up (staff, applicants, workflows) happens a week before the first case.
    let replay = TestClock::new(china_local_to_utc(
        (first_day - Duration::days(7))
            .and_hms_opt(9, 0, 0)
            .ok_or_else(|| anyhow!("bad time"))?,
    ));
    let shared = replay.shared();
    let catalog = Catalog::new(db.clone(), shared.clone())?;
    let cases = setup.cases(&shared, &catalog);
    let accounts = setup.accounts.with_clock(shared.clone());
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
    // Every demo firm holds a 营业执照, so the materials it replaces need no upload (免提交).
    if let Some(licenses) = cases.licenses() {
        for firm in &people.firms {
            crate::licenses::business_licence(
                licenses,
                &firm.uscc,
                &firm.name,
                &people.persons[firm.representative].name,
                &firm.address,
                firm.hefei,
            )
            .await?;
        }
    }
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
    report.ratings = crate::ratings::load(setup, &runner.case_ids, &runner.staff.posts).await?;
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
