//! The demo organisation (合肥市: province → city → districts → streets → communities, and the city's
//! departments; 鄂尔多斯市康巴什区), its posts and staff, the demo citizens and the demo enterprise.

use yiwang_identity::model::{
    ClientMeta, NewStaff, OrgData, PostInput, RawDepartment, RawNewStaff, RawRegion,
    RawRegistration, Registration,
};
use yiwang_identity::policy::Principal;
use yiwang_identity::{Accounts, IdentityError};
use yiwang_kernel::ResidentId;

const REGIONS: &str = include_str!("../data/regions.json");
const DEPARTMENTS: &str = include_str!("../data/departments.json");

/// Load the demo organisation (regions and departments) as `actor`; loading twice changes nothing.
pub async fn load_org(
    db: &yiwang_db::Db,
    clock: &yiwang_kernel::SharedClock,
    actor: &str,
) -> anyhow::Result<yiwang_identity::service::LoadReport> {
    let parsed = yiwang_identity::service::parse_org(&org_data()?)?;
    Ok(yiwang_identity::service::load_org(db, clock, &parsed, actor).await?)
}

/// The embedded demo organisation data.
pub fn org_data() -> anyhow::Result<OrgData> {
    let regions: Vec<RawRegion> = serde_json::from_str(REGIONS)?;
    let departments: Vec<RawDepartment> = serde_json::from_str(DEPARTMENTS)?;
    Ok(OrgData {
        regions,
        departments,
    })
}

/// A demo account, printed by `yiwang demo`.
#[derive(Debug, Clone, Copy)]
pub struct DemoLogin {
    pub role: &'static str,
    pub name: &'static str,
    /// First 17 characters of the resident ID; the check character is computed.
    pub resident_id_17: &'static str,
    pub mobile: &'static str,
}

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "Yiwang#2026";

/// Citizens of 合肥市蜀山区 and 康巴什区 (made-up people with well-formed identifiers).
pub const DEMO_LOGINS: &[DemoLogin] = &[
    DemoLogin {
        role: "citizen",
        name: "张晓明",
        resident_id_17: "34010419850612013",
        mobile: "13800000001",
    },
    DemoLogin {
        role: "citizen",
        name: "王丽华",
        resident_id_17: "15060319920315002",
        mobile: "15047700002",
    },
];

/// A demo staff member, printed by `yiwang demo`.
#[derive(Debug, Clone, Copy)]
pub struct DemoStaff {
    pub role: &'static str,
    pub department: &'static str,
    pub employee_no: &'static str,
    pub name: &'static str,
    pub mobile: &'static str,
    pub roles: &'static [&'static str],
    pub posts: &'static [&'static str],
}

/// Posts created for the demo: (department, code, name, duties).
pub const DEMO_POSTS: &[(&str, &str, &str, &str)] = &[
    (
        "hf-scjgj",
        "food-license-review",
        "食品经营许可审查岗",
        "审查食品经营许可申请材料，组织现场核查，提出审查意见",
    ),
    (
        "hf-wjw",
        "clinic-license-review",
        "医疗机构执业登记审核岗",
        "审核医疗机构执业登记申请，提出准予或不予登记意见",
    ),
    (
        "kbs-zwsj",
        "hall-window",
        "综合受理窗口",
        "在政务服务大厅综合窗口接收申请材料，一次性告知，出具受理凭证",
    ),
];

/// Staff for every role the demo shows.
pub const DEMO_STAFF: &[DemoStaff] = &[
    DemoStaff {
        role: "window staff",
        department: "kbs-zwsj",
        employee_no: "KB0101",
        name: "乌云其其格",
        mobile: "13900000101",
        roles: &["window_staff"],
        posts: &["hall-window", "window"],
    },
    DemoStaff {
        role: "approver",
        department: "hf-scjgj",
        employee_no: "SC0201",
        name: "钱文博",
        mobile: "13900000201",
        roles: &["approver"],
        posts: &["food-license-review", "review"],
    },
    DemoStaff {
        role: "approver",
        department: "hf-wjw",
        employee_no: "WJ0201",
        name: "孙悦",
        mobile: "13900000202",
        roles: &["approver"],
        posts: &["clinic-license-review"],
    },
    DemoStaff {
        role: "window staff",
        department: "hf-scjgj",
        employee_no: "SC0101",
        name: "王芳",
        mobile: "13900000102",
        roles: &["window_staff"],
        posts: &["window"],
    },
    DemoStaff {
        role: "approver",
        department: "hf-scjgj",
        employee_no: "SC0301",
        name: "刘建华",
        mobile: "13900000203",
        roles: &["approver"],
        posts: &["approve"],
    },
    DemoStaff {
        role: "window staff",
        department: "hf-wjw",
        employee_no: "WJ0101",
        name: "周静",
        mobile: "13900000103",
        roles: &["window_staff"],
        posts: &["window"],
    },
    DemoStaff {
        role: "approver",
        department: "hf-wjw",
        employee_no: "WJ0202",
        name: "吴海燕",
        mobile: "13900000204",
        roles: &["approver"],
        posts: &["review"],
    },
    DemoStaff {
        role: "approver",
        department: "hf-wjw",
        employee_no: "WJ0301",
        name: "郑国强",
        mobile: "13900000205",
        roles: &["approver"],
        posts: &["approve"],
    },
    DemoStaff {
        role: "window staff",
        department: "hf-gaj",
        employee_no: "GA0101",
        name: "陈雨桐",
        mobile: "13900000104",
        roles: &["window_staff"],
        posts: &["window"],
    },
    DemoStaff {
        role: "approver",
        department: "hf-gaj",
        employee_no: "GA0301",
        name: "黄志远",
        mobile: "13900000206",
        roles: &["approver"],
        posts: &["approve"],
    },
    DemoStaff {
        role: "window staff",
        department: "hf-mzj",
        employee_no: "MZ0101",
        name: "林晓雯",
        mobile: "13900000105",
        roles: &["window_staff"],
        posts: &["window"],
    },
    DemoStaff {
        role: "dept admin",
        department: "hf-scjgj",
        employee_no: "SC0001",
        name: "赵立新",
        mobile: "13900000301",
        roles: &["department_admin"],
        posts: &[],
    },
    DemoStaff {
        role: "platform admin",
        department: "hf-sjzyj",
        employee_no: "PA0001",
        name: "孙建国",
        mobile: "13900000401",
        roles: &["platform_admin"],
        posts: &[],
    },
    DemoStaff {
        role: "supervisor",
        department: "hf-sjzyj",
        employee_no: "SV0001",
        name: "何雪梅",
        mobile: "13900000501",
        roles: &["supervisor"],
        posts: &[],
    },
];

/// The demo enterprise: (USCC without its check character, name); 张晓明 represents it, 王丽华 is its agent.
pub const DEMO_ENTERPRISE: (&str, &str) = ("91340104MA2TX0001", "合肥味道餐饮管理有限公司");

pub(crate) async fn load_staff(
    accounts: &Accounts,
    meta: &ClientMeta,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<usize> {
    let system = Principal::System;
    let department_posts = crate::cases::department_posts()?;
    let all_posts = DEMO_POSTS.iter().copied().chain(
        department_posts
            .iter()
            .map(|(d, code, name, duties)| (d.as_str(), *code, *name, *duties)),
    );
    for (department, code, name, duties) in all_posts {
        match accounts
            .create_post(
                &system,
                "system:demo",
                department,
                &PostInput {
                    code: (*code).to_owned(),
                    name: (*name).to_owned(),
                    duties: (*duties).to_owned(),
                },
                meta,
            )
            .await
        {
            Ok(_) | Err(IdentityError::Duplicate { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let mut created = 0;
    for staff in DEMO_STAFF {
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
        match accounts
            .create_staff(&system, "system:demo", staff.department, &new, meta, rng)
            .await
        {
            Ok(_) => created += 1,
            Err(IdentityError::Duplicate { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(created)
}

pub(crate) async fn load_enterprise(
    accounts: &Accounts,
    meta: &ClientMeta,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<usize> {
    let (uscc17, name) = DEMO_ENTERPRISE;
    let uscc = yiwang_kernel::Uscc::complete(uscc17)?;
    // Registered with its agent in one earlier load: nothing to do (and no log-in to record).
    if accounts.enterprise_registered(&uscc).await? {
        return Ok(0);
    }
    let rep = accounts
        .login(DEMO_LOGINS[0].mobile, DEMO_PASSWORD, meta, rng)
        .await?;
    // Checked against the demo register like any citizen's claim, so it is confirmed at once.
    let register = std::sync::Arc::new(crate::register::enterprise_register()?);
    let created = match accounts
        .with_register(register)
        .register_enterprise(&rep.session, uscc.as_str(), name, meta, rng)
        .await
    {
        Ok(yiwang_identity::service::enterprise::EnterpriseRegistration::Registered(_)) => 1,
        Ok(yiwang_identity::service::enterprise::EnterpriseRegistration::Held(claim)) => {
            anyhow::bail!(
                "the demo register did not confirm the demo enterprise (claim {})",
                claim.public_id
            )
        }
        Err(IdentityError::Duplicate { .. }) => 0,
        Err(other) => return Err(other.into()),
    };
    let mine = accounts.my_enterprises(&rep.session).await?;
    if let Some((enterprise, _)) = mine.iter().find(|(e, _)| e.uscc == uscc) {
        match accounts
            .authorize_agent(
                &rep.session,
                &enterprise.public_id,
                DEMO_LOGINS[1].mobile,
                meta,
            )
            .await
        {
            Ok(_) | Err(IdentityError::Duplicate { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    accounts.logout(&rep.session, meta).await?;
    Ok(created)
}

/// Register the demo citizens; returns how many were new.
pub(crate) async fn register_people(
    accounts: &Accounts,
    meta: &ClientMeta,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<usize> {
    let mut persons_created = 0;
    for login in DEMO_LOGINS {
        let raw = RawRegistration {
            name: login.name.to_owned(),
            resident_id: ResidentId::complete(login.resident_id_17)?
                .as_str()
                .to_owned(),
            mobile: login.mobile.to_owned(),
            password: DEMO_PASSWORD.to_owned(),
        };
        let registration = Registration::parse(&raw).map_err(|errors| {
            anyhow::anyhow!("demo person {} is invalid: {errors:?}", login.name)
        })?;
        match accounts.register_person(&registration, meta, rng).await {
            Ok(_) => persons_created += 1,
            Err(IdentityError::Duplicate { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    Ok(persons_created)
}
