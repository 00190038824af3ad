//! Citizen requests (诉求, 12345) for 康巴什区: the category tree (派单目录) with its routing to the
//! district's departments, the 12345 centre's operator and the departments' handlers, an Open311
//! client whose key is derived from the installation's PII key (so `yiwang demo` can print it on
//! every load), knowledge-base answers (知识库) to common questions, and hotline requests carried
//! through the closed loop to several states. Loading twice changes nothing.

use std::sync::Arc;

use anyhow::anyhow;
use yiwang_db::Db;
use yiwang_identity::model::{ClientMeta, NewStaff, RawNewStaff};
use yiwang_identity::pii::{PiiField, PiiProtector};
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, IdentityError};
use yiwang_kernel::{SharedClock, WorkCalendar};
use yiwang_requests::model::{Channel, NewRequest, RequestKind, Urgency, VisitResult};
use yiwang_requests::repo::PublicFilter;
use yiwang_requests::{Requests, RequestsConfig};

use crate::cases::principal_of;
use crate::org::DEMO_PASSWORD;

/// The region the demo's requests are in (its communities are in the demo org data).
pub const REQUEST_REGION: &str = "150603";
/// The demo's Open311 client.
pub const OPEN311_CLIENT: &str = "康巴什城市服务App";

/// The 派单目录: (code, name, parent).
pub const CATEGORIES: &[(&str, &str, Option<&str>)] = &[
    ("gov", "政务服务", None),
    ("gov.hall", "办事大厅服务", Some("gov")),
    ("gov.housing_fund", "住房公积金", Some("gov")),
    ("gov.estate", "不动产登记", Some("gov")),
    ("social", "社会保障", None),
    ("social.insurance", "社会保险", Some("social")),
    ("social.assistance", "社会救助", Some("social")),
    ("social.elderly", "养老服务", Some("social")),
    ("market", "市场监管", None),
    ("market.food", "食品安全", Some("market")),
    ("market.price", "价格收费", Some("market")),
    ("market.license", "营业执照", Some("market")),
    ("health", "医疗卫生", None),
    ("health.service", "医疗服务", Some("health")),
    ("health.vaccine", "疫苗接种", Some("health")),
    ("security", "公安户籍", None),
    ("security.hukou", "户籍办理", Some("security")),
    ("security.order", "治安秩序", Some("security")),
];

/// Routing in 康巴什区: a top category → the responsible department.
pub const ROUTES: &[(&str, &str)] = &[
    ("gov", "kbs-zwsj"),
    ("social", "kbs-mzj"),
    ("market", "kbs-scjgj"),
    ("health", "kbs-wjw"),
    ("security", "kbs-gafj"),
];

/// The requests staff: (department, employee number, name, mobile, role).
pub const REQUEST_STAFF: &[(&str, &str, &str, &str, &str)] = &[
    (
        "kbs-zwsj",
        "KB1201",
        "白雪",
        "13900001201",
        "hotline_operator",
    ),
    (
        "kbs-zwsj",
        "KB1202",
        "高志强",
        "13900001202",
        "window_staff",
    ),
    ("kbs-mzj", "KB1203", "其木格", "13900001203", "window_staff"),
    (
        "kbs-scjgj",
        "KB1204",
        "任海涛",
        "13900001204",
        "window_staff",
    ),
    ("kbs-wjw", "KB1205", "杜娟", "13900001205", "window_staff"),
    (
        "kbs-gafj",
        "KB1206",
        "那日苏",
        "13900001206",
        "window_staff",
    ),
    ("kbs-zwsj", "KB1207", "郝建军", "13900001207", "supervisor"),
];

/// Knowledge-base answers: (category, question, answer).
pub const KNOWLEDGE: &[(&str, &str, &str)] = &[
    (
        "social.insurance",
        "灵活就业人员如何参加职工养老保险？",
        "持身份证到区社会保险服务中心或在“蒙速办”App办理灵活就业人员参保登记，缴费基数在全区上年度全口径城镇单位就业人员平均工资的60%至300%之间自选，可按月、按季或按年缴费。",
    ),
    (
        "social.insurance",
        "退休人员养老金资格认证怎么办理？",
        "每年认证一次，可通过“蒙速办”或“掌上12333”刷脸认证；行动不便的老人可申请社区工作人员上门认证。",
    ),
    (
        "social.insurance",
        "医保关系如何跨省转移？",
        "在转入地医保经办机构或国家医保服务平台App提交转移接续申请，转出地审核后办理，一般在45个工作日内完成，无需本人往返两地。",
    ),
    (
        "social.insurance",
        "生育津贴怎么申领？",
        "由用人单位在产假结束后通过医保经办系统申报，需提供出生医学证明和住院病历；灵活就业人员不享受生育津贴。",
    ),
    (
        "social.assistance",
        "低保申请需要什么条件和材料？",
        "家庭人均收入低于当地低保标准且财产符合规定的可申请。向户籍所在地街道（苏木乡镇）提交申请书、身份证、户口簿和家庭收入说明，经入户调查、民主评议、公示后审批。",
    ),
    (
        "social.assistance",
        "临时救助怎么申请？",
        "因火灾、交通事故、突发重大疾病等导致基本生活暂时困难的，可向所在街道或社区提出申请，紧急情况可先行救助后补手续。",
    ),
    (
        "social.elderly",
        "高龄津贴从多少岁开始发放？",
        "本区户籍80周岁以上老年人可享受高龄津贴，由本人或家属持身份证、户口簿到社区申请，审核通过后按月发放到社保卡。",
    ),
    (
        "gov.housing_fund",
        "住房公积金提取需要哪些材料？",
        "购房提取需身份证、购房合同和发票或不动产权证；租房提取需身份证和租赁备案证明，可在“鄂尔多斯公积金”App线上办理，一般3个工作日内到账。",
    ),
    (
        "gov.housing_fund",
        "离职后公积金怎么处理？",
        "在新单位继续缴存的办理转移接续；离职后未再就业满半年且户籍不在本市的可申请销户提取。",
    ),
    (
        "gov.housing_fund",
        "公积金贷款最高能贷多少？",
        "按缴存余额、缴存年限和还款能力计算，单缴存职工最高60万元，双缴存职工最高80万元，以公积金中心当期政策为准。",
    ),
    (
        "gov.estate",
        "不动产登记办理需要多长时间？",
        "一般登记、抵押登记在5个工作日内办结；二手房转移登记在政务服务大厅不动产综合窗口“一窗受理”，税费和登记同步办理。",
    ),
    (
        "gov.estate",
        "房产证丢失如何补办？",
        "权利人持身份证到不动产登记窗口申请补证，登记机构在门户网站公告15个工作日，无异议后补发不动产权证书。",
    ),
    (
        "gov.hall",
        "政务服务大厅的办公时间是什么时候？",
        "工作日上午9:00至12:00、下午13:30至17:30（夏季14:30至18:00），周六上午提供延时服务，可通过“一网通办”预约取号。",
    ),
    (
        "gov.hall",
        "办事材料不全可以先受理吗？",
        "对主要材料齐全、次要材料欠缺的事项实行容缺受理，申请人签署承诺书后先行受理，在约定时间内补齐材料。",
    ),
    (
        "market.license",
        "个体工商户营业执照怎么办理？",
        "登录全程电子化登记平台或到政务服务大厅市场监管窗口提交身份证和经营场所证明，材料齐全的当场或1个工作日内发照。",
    ),
    (
        "market.license",
        "营业执照地址变更需要什么材料？",
        "变更登记申请书、新经营场所使用证明和原营业执照正副本，可全程网办，审核通过后领取新执照。",
    ),
    (
        "market.food",
        "发现餐馆食品卫生问题怎么投诉？",
        "拨打12345或12315，或在“一网通办”提交诉求，写明店名、地址、时间和问题，市场监管部门一般在7个工作日内核查处理并答复。",
    ),
    (
        "security.hukou",
        "新生儿怎么上户口？",
        "出生一个月内由父母持出生医学证明、父母身份证、户口簿和结婚证到户籍派出所或“蒙速办”网上办理。",
    ),
    (
        "security.hukou",
        "身份证丢失怎么补办？",
        "到任一派出所户籍窗口或政务服务大厅公安窗口现场采集照片和指纹补领，可选择邮寄，补办期间可申领临时身份证。",
    ),
    (
        "health.vaccine",
        "儿童疫苗在哪里接种？",
        "到户籍或居住地所在社区卫生服务中心预防接种门诊，携带预防接种证，可在“健康鄂尔多斯”公众号预约。",
    ),
];

/// A demo request: what the caller said and how far it has come.
struct DemoRequest {
    kind: RequestKind,
    category: &'static str,
    community: &'static str,
    title: &'static str,
    body: &'static str,
    location: &'static str,
    caller: &'static str,
    mobile: &'static str,
    reached: Reached,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reached {
    Received,
    Dispatched,
    Handling,
    Replied,
    Concluded,
    Visited,
}

#[expect(
    clippy::too_many_arguments,
    reason = "one line per demo request keeps the table readable"
)]
const fn req(
    kind: RequestKind,
    category: &'static str,
    community: &'static str,
    title: &'static str,
    body: &'static str,
    location: &'static str,
    caller: &'static str,
    mobile: &'static str,
    reached: Reached,
) -> DemoRequest {
    DemoRequest {
        kind,
        category,
        community,
        title,
        body,
        location,
        caller,
        mobile,
        reached,
    }
}

use Reached::{Concluded, Dispatched, Handling, Received, Replied, Visited};
use RequestKind::{Complaint, Consultation, Help, Praise, Report, Suggestion};

const REQUESTS: &[DemoRequest] = &[
    req(
        Complaint,
        "market.food",
        "150603002005",
        "餐馆后厨卫生差",
        "恩和社区附近一家面馆后厨地面油污严重，餐具未消毒，希望执法部门检查。",
        "青春山街道恩和小区底商",
        "刘女士",
        "13847701001",
        Visited,
    ),
    req(
        Consultation,
        "social.insurance",
        "150603001001",
        "灵活就业养老保险缴费档次",
        "本人灵活就业，想了解养老保险缴费基数怎么选、能否补缴。",
        "哈巴格希街道新北社区",
        "张先生",
        "13847701002",
        Concluded,
    ),
    req(
        Help,
        "social.assistance",
        "150603003002",
        "老人突发疾病生活困难",
        "家中老人突发脑梗住院，医疗费用较高，家庭生活暂时困难，想申请临时救助。",
        "滨河街道兴旺社区",
        "王女士",
        "13847701003",
        Replied,
    ),
    req(
        Complaint,
        "market.price",
        "150603002002",
        "停车场收费不明码标价",
        "神华康城小区地下停车场收费未公示标准，临时停车收费随意。",
        "神华康城小区地下停车场",
        "李先生",
        "13847701004",
        Handling,
    ),
    req(
        Suggestion,
        "gov.hall",
        "150603001002",
        "建议大厅增加周末服务",
        "上班族工作日没时间办事，建议政务服务大厅周六全天开放。",
        "康巴什区政务服务中心",
        "赵先生",
        "13847701005",
        Replied,
    ),
    req(
        Report,
        "market.food",
        "150603002001",
        "举报无证销售散装白酒",
        "珠江社区一处门店无证销售散装白酒，来源不明。",
        "珠江社区商业街",
        "匿名",
        "13847701006",
        Handling,
    ),
    req(
        Consultation,
        "gov.housing_fund",
        "150603008008",
        "租房提取公积金",
        "在康巴什租房，想提取公积金付房租，需要什么材料？",
        "康新街道万和社区",
        "孙女士",
        "13847701007",
        Visited,
    ),
    req(
        Complaint,
        "security.order",
        "150603003003",
        "夜间广场舞噪音扰民",
        "宁馨社区广场每晚十点后仍有音响噪音，影响休息。",
        "宁馨社区中心广场",
        "周先生",
        "13847701008",
        Concluded,
    ),
    req(
        Help,
        "social.elderly",
        "150603002004",
        "独居老人需要助餐服务",
        "园丁社区一位独居老人行动不便，希望社区提供助餐服务。",
        "园丁社区3号楼",
        "吴女士",
        "13847701009",
        Dispatched,
    ),
    req(
        Praise,
        "gov.hall",
        "150603001004",
        "表扬不动产窗口工作人员",
        "不动产登记窗口工作人员耐心细致，一次就办完了过户。",
        "康巴什区政务服务中心不动产窗口",
        "郑先生",
        "13847701010",
        Concluded,
    ),
    req(
        Consultation,
        "security.hukou",
        "150603002006",
        "新生儿落户",
        "孩子刚出生，父母户口不在一起，孩子户口落在哪里？",
        "学苑社区",
        "冯女士",
        "13847701011",
        Replied,
    ),
    req(
        Complaint,
        "health.service",
        "150603002007",
        "医院挂号排队时间长",
        "区人民医院儿科上午挂号排队超过一小时，希望增加自助机。",
        "康巴什区人民医院门诊大厅",
        "陈先生",
        "13847701012",
        Handling,
    ),
    req(
        Consultation,
        "gov.estate",
        "150603003001",
        "二手房过户流程",
        "购买二手房需要办理哪些手续，税费怎么缴？",
        "滨河街道康城社区",
        "褚女士",
        "13847701013",
        Visited,
    ),
    req(
        Help,
        "social.assistance",
        "150603008009",
        "申请低保",
        "本人残疾无固定收入，想申请低保，需要去哪里办？",
        "嘉和社区",
        "卫先生",
        "13847701014",
        Received,
    ),
    req(
        Complaint,
        "market.license",
        "150603008010",
        "营业执照变更迟迟未办结",
        "网上提交营业执照地址变更十天了还没有结果。",
        "悦和社区",
        "蒋先生",
        "13847701015",
        Dispatched,
    ),
    req(
        Suggestion,
        "health.vaccine",
        "150603002008",
        "建议疫苗接种增加周末门诊",
        "双职工家庭工作日带孩子接种不便，建议社区卫生服务中心周末开放接种门诊。",
        "富丽社区卫生服务站",
        "沈女士",
        "13847701016",
        Received,
    ),
    req(
        Complaint,
        "market.food",
        "150603002003",
        "超市销售过期食品",
        "康盛社区某超市货架上有过期酸奶。",
        "康盛社区超市",
        "韩先生",
        "13847701017",
        Replied,
    ),
    req(
        Consultation,
        "social.insurance",
        "150603001001",
        "退休养老金资格认证",
        "父亲今年需要做养老金资格认证，在哪里办理？",
        "新北社区",
        "杨女士",
        "13847701018",
        Concluded,
    ),
    req(
        Help,
        "security.hukou",
        "150603003004",
        "身份证丢失急需补办",
        "身份证丢失，下周需要乘飞机出差，怎样尽快补办？",
        "呼和塔拉社区",
        "朱先生",
        "13847701019",
        Visited,
    ),
    req(
        Complaint,
        "gov.hall",
        "150603008011",
        "窗口工作人员态度不好",
        "在政务服务大厅社保窗口咨询时工作人员不耐烦。",
        "康巴什区政务服务中心",
        "秦女士",
        "13847701020",
        Handling,
    ),
    req(
        Consultation,
        "gov.housing_fund",
        "150603002005",
        "公积金贷款额度",
        "夫妻双方都缴存公积金，最高能贷多少？",
        "恩和社区",
        "尤先生",
        "13847701021",
        Replied,
    ),
    req(
        Report,
        "security.order",
        "150603001002",
        "举报小区内非法群租",
        "达尔罕社区某单元一套房内住了十几个人，存在安全隐患。",
        "达尔罕社区5号楼",
        "匿名",
        "13847701022",
        Dispatched,
    ),
    req(
        Help,
        "social.elderly",
        "150603003002",
        "为高龄老人申请高龄津贴",
        "母亲今年满80岁，如何申请高龄津贴？",
        "兴旺社区",
        "许女士",
        "13847701023",
        Concluded,
    ),
    req(
        Complaint,
        "health.service",
        "150603002006",
        "诊所收费不透明",
        "学苑社区一家诊所输液收费没有明细。",
        "学苑社区诊所",
        "何先生",
        "13847701024",
        Received,
    ),
    req(
        Consultation,
        "market.license",
        "150603002001",
        "个体户执照办理",
        "想在珠江社区开一家小吃店，个体营业执照怎么办？",
        "珠江社区",
        "吕女士",
        "13847701025",
        Visited,
    ),
    req(
        Suggestion,
        "security.order",
        "150603008008",
        "建议学校门口增设交通协管",
        "万和社区小学门口上下学时段交通拥堵，建议增设协管员。",
        "万和社区小学门口",
        "施先生",
        "13847701026",
        Dispatched,
    ),
    req(
        Help,
        "social.assistance",
        "150603002004",
        "残疾人两项补贴申请",
        "孩子是二级残疾，想了解残疾人两项补贴怎么申请。",
        "园丁社区",
        "张女士",
        "13847701027",
        Replied,
    ),
    req(
        Consultation,
        "gov.estate",
        "150603001004",
        "房产证丢失补办",
        "房产证丢了，补办需要多长时间？",
        "哈巴格希社区",
        "孔先生",
        "13847701028",
        Received,
    ),
    req(
        Complaint,
        "market.price",
        "150603003001",
        "供暖费收费标准",
        "物业收取的供暖费高于政府定价。",
        "康城社区",
        "曹女士",
        "13847701029",
        Concluded,
    ),
    req(
        Praise,
        "health.service",
        "150603002007",
        "表扬区医院急诊科",
        "深夜带孩子看急诊，医生护士处置及时，特此表扬。",
        "康巴什区人民医院急诊科",
        "严先生",
        "13847701030",
        Concluded,
    ),
];

/// What the requests demo did.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestsReport {
    pub categories: usize,
    pub answers_added: usize,
    pub requests_created: usize,
}

/// The demo Open311 client's key: derived from the PII key, so each load prints the same one and
/// another installation's key differs.
pub fn open311_key(pii: &PiiProtector) -> String {
    format!(
        "{}{}",
        yiwang_requests::service::OPEN311_KEY_PREFIX,
        pii.blind_index(PiiField::Mobile, "yiwang-demo-open311-client/1")
    )
}

/// The requests service as the demo uses it.
pub fn service(
    db: &Db,
    clock: &SharedClock,
    calendar: &WorkCalendar,
    pii: &Arc<PiiProtector>,
) -> Requests {
    Requests::new(
        db.clone(),
        clock.clone(),
        Arc::new(calendar.clone()),
        Arc::clone(pii),
        RequestsConfig::default(),
    )
}

async fn load_staff(
    accounts: &Accounts,
    meta: &ClientMeta,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<()> {
    for (department, no, name, mobile, role) in REQUEST_STAFF {
        let new = NewStaff::parse(&RawNewStaff {
            employee_no: (*no).to_owned(),
            name: (*name).to_owned(),
            mobile: (*mobile).to_owned(),
            password: DEMO_PASSWORD.to_owned(),
            roles: vec![(*role).to_owned()],
            posts: Vec::new(),
        })
        .map_err(|errors| anyhow!("demo staff {name} is invalid: {errors:?}"))?;
        match accounts
            .create_staff(
                &Principal::System,
                "system:demo",
                department,
                &new,
                meta,
                rng,
            )
            .await
        {
            Ok(_) | Err(IdentityError::Duplicate { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(())
}

/// Loads the requests demo.
pub async fn load(
    requests: &Requests,
    accounts: &Accounts,
    pii: &PiiProtector,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<RequestsReport> {
    let sys = &Principal::System;
    let source = "system:demo";
    let db = requests.db().clone();
    let mut report = RequestsReport::default();
    // Categories and routes are upserts: a second load writes the same rows again only where the
    // tree differs.
    let known = requests.categories().await?;
    for (code, name, parent) in CATEGORIES {
        let same = known
            .iter()
            .any(|c| c.code == *code && c.name == *name && c.parent.as_deref() == *parent);
        if !same {
            requests
                .define_category(sys, code, name, *parent, source)
                .await?;
        }
        report.categories += 1;
    }
    for (category, department) in ROUTES {
        let id = yiwang_identity::service::department(&db, department)
            .await?
            .id;
        if requests.route(category, REQUEST_REGION).await.ok() != Some(id) {
            requests
                .set_route(sys, category, REQUEST_REGION, id, source)
                .await?;
        }
    }
    for (category, question, answer) in KNOWLEDGE {
        let filed = requests.answers(category).await?;
        if !filed.iter().any(|e| e.question == *question) {
            requests
                .add_answer(sys, category, question, answer, source)
                .await?;
            report.answers_added += 1;
        }
    }
    requests
        .ensure_open311_client(sys, OPEN311_CLIENT, &open311_key(pii), source)
        .await?;
    let meta = ClientMeta {
        ip: "demo".to_owned(),
        user_agent: String::new(),
    };
    load_staff(accounts, &meta, rng).await?;
    // The hotline requests are created once: their callers' first request marks them loaded.
    let first_loaded = requests
        .public_requests(&PublicFilter {
            category: Some(REQUESTS[0].category.to_owned()),
            ..PublicFilter::default()
        })
        .await?
        .iter()
        .any(|r| r.title == REQUESTS[0].title);
    if first_loaded {
        return Ok(report);
    }
    let (operator, _) = principal_of(&db, "KB1201").await?;
    let operator = Principal::Staff(operator);
    for r in REQUESTS {
        let submitted = requests
            .submit(
                &operator,
                Channel::Hotline,
                &NewRequest {
                    kind: Some(r.kind),
                    category: r.category.to_owned(),
                    region: r.community.to_owned(),
                    urgency: Some(Urgency::Normal),
                    title: r.title.to_owned(),
                    body: r.body.to_owned(),
                    location: r.location.to_owned(),
                    coordinates: None,
                    contact_name: r.caller.to_owned(),
                    contact_mobile: r.mobile.to_owned(),
                },
                source,
            )
            .await?;
        report.requests_created += 1;
        let id = submitted.request.id;
        if r.reached < Dispatched {
            continue;
        }
        let dispatched = requests
            .dispatch(&operator, id, None, &[], "请按时限办理", source)
            .await?;
        let lead = dispatched
            .lead_department
            .ok_or_else(|| anyhow!("demo request {} was not routed", r.title))?;
        let handler_no = match REQUEST_STAFF.iter().find(|(d, _, _, _, role)| {
            *role == "window_staff"
                && ROUTES
                    .iter()
                    .any(|(c, dep)| dep == d && r.category.starts_with(c))
        }) {
            Some((_, no, _, _, _)) => *no,
            None => return Err(anyhow!("no demo handler for {}", r.category)),
        };
        let (handler, _) = principal_of(&db, handler_no).await?;
        if handler.department != lead {
            return Err(anyhow!(
                "demo handler {handler_no} does not lead {}",
                r.title
            ));
        }
        let handler = Principal::Staff(handler);
        if r.reached < Handling {
            continue;
        }
        requests.sign(&handler, id, source).await?;
        if r.reached < Replied {
            continue;
        }
        let reply = format!(
            "您反映的“{}”已收悉并核实处理，具体情况已电话告知，感谢您的监督。",
            r.title
        );
        requests.reply(&handler, id, &reply, source).await?;
        if r.reached < Concluded {
            continue;
        }
        requests.conclude(&operator, id, "", source).await?;
        if r.reached < Visited {
            continue;
        }
        requests
            .visit(
                &operator,
                id,
                VisitResult::Satisfied,
                "电话回访，群众满意",
                source,
            )
            .await?;
    }
    Ok(report)
}
