//! Demo e-licences (电子证照): the ten licence types of the demo catalog (`data/licence-types.json`,
//! issued by the 合肥市 and 康巴什区 departments), a seal key for every issuing department and the
//! platform, and the licences the demo citizens and the demo enterprise hold — one expiring within
//! 30 days, one revoked. Granted demo cases get their licences from the case engine itself (the
//! replay's case service carries the licence service); the demo firms hold a 营业执照 each, so their
//! 食品经营许可 applications need no 营业执照 upload (免提交).
//!
//! Order: the types are defined before the case replay ([`define_types`]), the holdings after it
//! ([`load`]), so that seal keys are created when the replayed history first uses them (their
//! `not_before` precedes everything they sign). Idempotent: types are upserted (unchanged ones are
//! not touched), keys are created once, and the holdings are issued only when the demo enterprise
//! has no 公共场所卫生许可证 yet (the revoked one is the marker).

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate};
use yiwang_identity::model::EnterpriseId;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{ResidentId, Uscc, china_date};
use yiwang_licenses::model::Holder;
use yiwang_licenses::service::{HolderRef, IssueRequest};
use yiwang_licenses::{LicenseType, Licenses};

use crate::org::{DEMO_ENTERPRISE, DEMO_LOGINS};

/// The demo's licence types.
const TYPES: &str = include_str!("../data/licence-types.json");
const SOURCE: &str = "demo";

/// What loading the demo licences did.
#[derive(Debug, Clone, Copy, Default)]
pub struct LicensesReport {
    pub types_defined: usize,
    pub licences_issued: usize,
}

/// The demo's licence types, parsed.
pub fn licence_types() -> anyhow::Result<Vec<LicenseType>> {
    serde_json::from_str(TYPES).context("demo licence types")
}

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Defines (or updates) the demo's licence types; returns how many changed.
pub async fn define_types(licenses: &Licenses) -> anyhow::Result<usize> {
    let mut changed = 0;
    for t in &licence_types()? {
        if licenses.define_type(&Principal::System, t, SOURCE).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Seal keys of every issuing department and the platform, and the demo holdings.
pub async fn load(licenses: &Licenses, types_defined: usize) -> anyhow::Result<LicensesReport> {
    let system = Principal::System;
    let mut report = LicensesReport {
        types_defined,
        ..LicensesReport::default()
    };
    let types = licence_types()?;
    let mut owners: Vec<&str> = types
        .iter()
        .flat_map(|t| t.departments.iter().map(String::as_str))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    owners.push(yiwang_licenses::document::PLATFORM_DEPARTMENT);
    for owner in owners {
        licenses.ensure_key(&system, owner, SOURCE).await?;
    }
    let uscc = Uscc::complete(DEMO_ENTERPRISE.0)?;
    let enterprise = enterprise_id(licenses, &uscc).await?;
    if licenses
        .holds_any(Holder::Enterprise(enterprise), "GGWS")
        .await?
    {
        return Ok(report);
    }
    // The case replay may have issued the enterprise's 营业执照 already.
    let has_business_licence = licenses
        .valid_licence_of(Holder::Enterprise(enterprise), "YYZZ")
        .await?
        .is_some();
    let today = china_date(licenses.now());
    let ent = |code: &str, dept: &str, d: BTreeMap<String, String>, from: Option<NaiveDate>| {
        IssueRequest {
            type_code: code.to_owned(),
            holder: Some(HolderRef::Uscc(uscc.as_str().to_owned())),
            data: d,
            valid_from: from,
            department: Some(dept.to_owned()),
        }
    };
    let (name, rep) = (DEMO_ENTERPRISE.1, DEMO_LOGINS[0].name);
    let address = "安徽省合肥市蜀山区潜山路320号新华国际广场B座12层";
    let mut requests = vec![
        ent(
            "YYZZ",
            "hf-scjgj",
            data(&[
                ("org_name", name),
                ("enterprise_type", "有限责任公司（自然人投资或控股）"),
                ("legal_rep", rep),
                ("registered_capital", "200"),
                ("established_on", "2021-04-16"),
                ("address", address),
                (
                    "business_scope",
                    "餐饮管理；餐饮服务；食品销售；外卖递送服务",
                ),
            ]),
            Some(NaiveDate::from_ymd_opt(2021, 4, 16).unwrap_or(today)),
        ),
        // Valid 5 years from a day that makes it expire in 20 days: a renewal reminder is due.
        ent(
            "JYXK",
            "hf-scjgj",
            data(&[
                ("org_name", name),
                ("legal_rep", rep),
                ("premises", address),
                ("business_type", "餐饮服务经营者（中型餐馆）"),
                (
                    "business_items",
                    "热食类食品制售；冷食类食品制售；自制饮品制售",
                ),
                ("area", "380"),
            ]),
            five_years_before(today + Duration::days(21)),
        ),
        ent(
            "GGWS",
            "hf-wjw",
            data(&[
                ("org_name", name),
                ("legal_rep", rep),
                ("address", address),
                ("venue_type", "饭馆（集中空调通风系统）"),
            ]),
            Some(today - Duration::days(400)),
        ),
    ];
    let zhang = ResidentId::complete(DEMO_LOGINS[0].resident_id_17)?;
    let wang = ResidentId::complete(DEMO_LOGINS[1].resident_id_17)?;
    let person =
        |code: &str, dept: &str, who: &ResidentId, d: BTreeMap<String, String>, from: NaiveDate| {
            IssueRequest {
                type_code: code.to_owned(),
                holder: Some(HolderRef::ResidentId(who.as_str().to_owned())),
                data: d,
                valid_from: Some(from),
                department: Some(dept.to_owned()),
            }
        };
    requests.extend([
        person(
            "JZZ",
            "hf-gaj",
            &zhang,
            data(&[
                ("address", "安徽省合肥市蜀山区望江西路860号"),
                ("household_address", "安徽省六安市金安区"),
                ("issuing_office", "合肥市公安局蜀山分局"),
            ]),
            today - Duration::days(90),
        ),
        person(
            "JHZ",
            "hf-mzj",
            &zhang,
            data(&[
                ("spouse_name", "李静"),
                ("marriage_date", "2014-10-02"),
                ("registry", "合肥市蜀山区民政局"),
            ]),
            NaiveDate::from_ymd_opt(2014, 10, 2).unwrap_or(today),
        ),
        person(
            "SBK",
            "hf-rsj",
            &zhang,
            data(&[
                ("card_no", "A06382715"),
                ("bank", "中国工商银行合肥分行"),
                ("issued_region", "安徽省合肥市"),
            ]),
            today - Duration::days(800),
        ),
        person(
            "BDCQ",
            "hf-zrzyghj",
            &zhang,
            data(&[
                ("certificate_no", "皖（2019）合肥市不动产权第0123456号"),
                ("location", "蜀山区望江西路860号某小区3幢1单元1502室"),
                ("right_type", "国有建设用地使用权/房屋所有权"),
                ("usage", "城镇住宅用地/住宅"),
                ("area", "118.6"),
            ]),
            NaiveDate::from_ymd_opt(2019, 7, 8).unwrap_or(today),
        ),
        person(
            "JZZ",
            "kbs-gafj",
            &wang,
            data(&[
                ("address", "内蒙古自治区鄂尔多斯市康巴什区青春山街道"),
                ("household_address", "内蒙古自治区包头市昆都仑区"),
                ("issuing_office", "鄂尔多斯市公安局康巴什区分局"),
            ]),
            today - Duration::days(30),
        ),
        person(
            "HYDJZM",
            "kbs-mzj",
            &wang,
            data(&[
                ("marital_status", "未婚"),
                ("record_summary", "经查询婚姻登记信息系统，无婚姻登记记录"),
                ("purpose", "申请公共租赁住房"),
            ]),
            today - Duration::days(10),
        ),
    ]);
    if has_business_licence {
        requests.retain(|r| r.type_code != "YYZZ");
    }
    let mut revoke = None;
    for request in &requests {
        let licence = licenses
            .issue(&system, request, SOURCE)
            .await
            .with_context(|| format!("demo licence {}", request.type_code))?;
        report.licences_issued += 1;
        if request.type_code == "GGWS" {
            revoke = Some(licence.identifier.to_string());
        }
    }
    if let Some(identifier) = revoke {
        licenses
            .revoke(
                &system,
                &identifier,
                "经营场所集中空调通风系统卫生检测不合格，逾期未整改（合卫监罚〔2026〕17号）",
                SOURCE,
            )
            .await?;
    }
    Ok(report)
}

/// The day five years before `day` (for a licence of five years that ends the day before `day`).
fn five_years_before(day: NaiveDate) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(day.year() - 5, day.month(), day.day())
        .or_else(|| NaiveDate::from_ymd_opt(day.year() - 5, day.month(), 28))
}

async fn enterprise_id(licenses: &Licenses, uscc: &Uscc) -> anyhow::Result<EnterpriseId> {
    yiwang_licenses::repo::enterprise_id_by_uscc(licenses.db().conn(), uscc)
        .await?
        .with_context(|| format!("the demo enterprise {uscc:?} is not registered"))
}

/// A 营业执照 for a demo firm that has none (issued by the market regulator of its region), so that
/// its applications for items the licence replaces need no upload.
pub(crate) async fn business_licence(
    licenses: &Licenses,
    firm_uscc: &str,
    firm_name: &str,
    representative: &str,
    address: &str,
    hefei: bool,
) -> anyhow::Result<bool> {
    let uscc = Uscc::parse(firm_uscc)?;
    let enterprise = enterprise_id(licenses, &uscc).await?;
    if licenses
        .valid_licence_of(Holder::Enterprise(enterprise), "YYZZ")
        .await?
        .is_some()
    {
        return Ok(false);
    }
    let today = china_date(licenses.now());
    licenses
        .issue(
            &Principal::System,
            &IssueRequest {
                type_code: "YYZZ".to_owned(),
                holder: Some(HolderRef::Enterprise(enterprise)),
                data: data(&[
                    ("org_name", firm_name),
                    ("enterprise_type", "有限责任公司（自然人投资或控股）"),
                    ("legal_rep", representative),
                    ("registered_capital", "50"),
                    ("established_on", &(today - Duration::days(200)).to_string()),
                    ("address", address),
                ]),
                valid_from: Some(today - Duration::days(200)),
                department: Some(if hefei { "hf-scjgj" } else { "kbs-scjgj" }.to_owned()),
            },
            SOURCE,
        )
        .await?;
    Ok(true)
}
