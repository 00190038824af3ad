//! Demo surveys (测评): one open public survey of the 康巴什区 government service centre (办事体验
//! 测评) with about forty answers from visitors' browsers over the last ten days.
//!
//! The survey is built, published and answered through the real service on a clock of its own, so
//! its times spread over those days. Loading twice gives the same data: a survey of that title
//! already there is left as it is.

use std::sync::Arc;

use chrono::Duration;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{PageRequest, RegionCode, TestClock};
use yiwang_ratings::survey::model::{Answer, Answers, Audience, NewQuestion, QuestionKind};
use yiwang_ratings::survey::{AnswerChannel, Respondent, Surveys};

use crate::DemoSetup;

const SOURCE: &str = "system:demo";
/// The department that runs the hall.
const DEPARTMENT: &str = "kbs-zwsj";
/// The platform administrator who sets the survey up for the department.
const ADMIN: &str = "PA0001";
const TITLE: &str = "康巴什区政务服务中心办事体验测评";
/// Answers loaded.
const ANSWERS: usize = 40;

/// What the demo surveys are.
#[derive(Debug, Clone, Copy, Default)]
pub struct SurveysReport {
    pub surveys: usize,
    pub answers: usize,
}

fn question(
    section: &str,
    kind: QuestionKind,
    text: &str,
    required: bool,
    options: &[&str],
) -> NewQuestion {
    NewQuestion {
        section: section.to_owned(),
        kind,
        text: text.to_owned(),
        required,
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn questions() -> Vec<NewQuestion> {
    let visit = "本次办事";
    let ideas = "改进建议";
    vec![
        question(
            visit,
            QuestionKind::Single,
            "您本次办理的是哪类业务？",
            true,
            &["户籍与证件", "不动产登记", "社保医保", "企业开办", "其他"],
        ),
        question(
            visit,
            QuestionKind::Scale,
            "您对窗口工作人员服务态度的评价",
            true,
            &[],
        ),
        question(
            visit,
            QuestionKind::Scale,
            "您对排队等候时间的评价",
            true,
            &[],
        ),
        question(
            visit,
            QuestionKind::Single,
            "您本次办事跑了几次？",
            true,
            &["一次办成", "两次", "三次及以上"],
        ),
        question(
            ideas,
            QuestionKind::Multiple,
            "您希望我们优先改进哪些方面？",
            false,
            &[
                "缩短排队等候",
                "增加网上可办事项",
                "材料清单更清楚",
                "延长服务时间",
                "适老化服务",
            ],
        ),
        question(ideas, QuestionKind::Text, "其他意见和建议", false, &[]),
    ]
}

const SUGGESTIONS: &[&str] = &[
    "希望周六也能办理不动产业务。",
    "自助机旁边最好有工作人员指导老年人。",
    "停车位太少，建议增加。",
    "材料清单能不能在手机上提前看到。",
    "导办员很热情，点赞！",
    "",
    "",
    "",
];

/// A visitor's answers: mostly content, with some waiting complaints.
fn answers(rng: &mut StdRng) -> Answers {
    let mut a = std::collections::BTreeMap::new();
    a.insert("q1".to_owned(), Answer::Choice(rng.random_range(0..5)));
    let attitude = match rng.random_range(0..100) {
        0..60 => 5,
        60..88 => 4,
        88..96 => 3,
        _ => 2,
    };
    a.insert("q2".to_owned(), Answer::Scale(attitude));
    let waiting = match rng.random_range(0..100) {
        0..35 => 5,
        35..65 => 4,
        65..85 => 3,
        85..95 => 2,
        _ => 1,
    };
    a.insert("q3".to_owned(), Answer::Scale(waiting));
    let trips = match rng.random_range(0..100) {
        0..78 => 0,
        78..94 => 1,
        _ => 2,
    };
    a.insert("q4".to_owned(), Answer::Choice(trips));
    let wanted: Vec<usize> = (0..5)
        .filter(|i| rng.random_range(0..100) < [55, 40, 30, 20, 25][*i])
        .collect();
    if !wanted.is_empty() {
        a.insert("q5".to_owned(), Answer::Choices(wanted));
    }
    let text = SUGGESTIONS[rng.random_range(0..SUGGESTIONS.len())];
    if !text.is_empty() {
        a.insert("q6".to_owned(), Answer::Text(text.to_owned()));
    }
    Answers(a)
}

/// Builds, publishes and answers the demo survey (once).
pub(crate) async fn load(setup: &DemoSetup) -> anyhow::Result<SurveysReport> {
    let now = setup.clock.now();
    let clock = TestClock::new(now - Duration::days(10));
    let surveys = Surveys::new(
        setup.db.clone(),
        clock.shared(),
        Arc::clone(&setup.pii),
        // The demo's browsers are made up here; the key only has to exist.
        b"yiwang-demo-surveys".to_vec(),
        "/surveys/invitation?t=".to_owned(),
    );
    let staff = yiwang_identity::reads::staff_by_employee_no_in(setup.db.conn(), ADMIN)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo staff {ADMIN} is missing"))?;
    let admin = Principal::Staff(StaffPrincipal {
        id: staff.id,
        public_id: staff.public_id,
        department: staff.department_id,
        region: RegionCode::parse(&staff.region_code)?,
        roles: staff.roles,
    });
    let existing = surveys
        .list(&admin, PageRequest::new(Some(1), Some(100))?)
        .await?;
    if existing.items.iter().any(|s| s.title == TITLE) {
        return Ok(SurveysReport::default());
    }
    let department = yiwang_ratings::repo::department_by_code(setup.db.conn(), DEPARTMENT)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo department {DEPARTMENT} is missing"))?;
    let survey = surveys
        .create(
            &admin,
            Some(department.id),
            TITLE,
            "为进一步提升政务服务中心的服务质量，诚邀您花两分钟参加本次测评。测评匿名进行，结果仅用于改进服务。",
            SOURCE,
        )
        .await?;
    for q in questions() {
        surveys
            .add_question(&admin, &survey.public_id, &q, SOURCE)
            .await?;
    }
    surveys
        .publish(&admin, &survey.public_id, &Audience::public(), SOURCE)
        .await?;
    let mut rng = StdRng::seed_from_u64(20_261_208);
    let mut at = now - Duration::days(10);
    for _ in 0..ANSWERS {
        at += Duration::minutes(rng.random_range(60..480));
        clock.set(at.min(now));
        let cookie = surveys.new_browser_cookie();
        let browser = surveys
            .browser_id(&cookie)
            .ok_or_else(|| anyhow::anyhow!("a browser id just signed does not verify"))?;
        surveys
            .answer(
                &survey.public_id,
                Respondent::Browser(&browser),
                &answers(&mut rng),
                AnswerChannel::Web,
                SOURCE,
            )
            .await?;
    }
    Ok(SurveysReport {
        surveys: 1,
        answers: ANSWERS,
    })
}
